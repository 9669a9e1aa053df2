//! `devenv doctor --k8s`: the chosen context (`--context`, else `k8s.context`)
//! through kubectl (`k8s::preflight`: reachable, version, `auth can-i`,
//! default StorageClass), and the registry (`--registry`, else
//! `k8s.registry`): reachable and writable, by pushing a tiny probe image
//! through the Docker engine with the user's Docker credentials (a credential
//! helper's, or the config's `auths` entry).

use super::checks::{Finding, Level};
use crate::docker::{Docker, RegistryError};
use crate::k8s::preflight::{self, Outcome};
use crate::k8s::runner::SystemRunner;
use crate::k8s::spec::{self, K8sSpec};

/// What `--k8s` checks, from the flags and the file.
pub struct Target {
    pub context: Option<String>,
    pub namespace: String,
    pub registry: Option<String>,
}

/// The context, namespace and registry: flags first, then the file's `k8s:` (when it loads).
pub fn target(spec: Option<&K8sSpec>, project: Option<&str>, context: Option<&str>, namespace: Option<&str>, registry: Option<&str>) -> Target {
    let context = context.map(str::to_string).or_else(|| spec.and_then(|s| s.context.clone()));
    let default = K8sSpec::default();
    let namespace = super::super::k8s::namespace_of(namespace, spec.unwrap_or(&default), project.unwrap_or("devenv"), true);
    let registry = registry.map(str::to_string).or_else(|| spec.and_then(|s| s.registry.clone()));
    Target { context, namespace, registry }
}

fn level(o: Outcome) -> Level {
    match o {
        Outcome::Ok => Level::Ok,
        Outcome::Warn => Level::Warn,
        Outcome::Fail => Level::Fail,
    }
}

/// Every `--k8s` finding.
pub async fn findings(t: &Target, docker: Option<&Docker>) -> Vec<Finding> {
    let mut out = Vec::new();
    match &t.context {
        Some(ctx) => {
            for c in preflight::run(&SystemRunner, ctx, &t.namespace) {
                let f = Finding::new(c.name, level(c.outcome), c.message);
                out.push(match c.fix {
                    Some(fix) => f.fix(fix),
                    None => f,
                });
            }
        }
        None => out.push(Finding::new("k8s context", Level::Fail, "no context to check").fix("pass --context NAME (a context of `kubectl config get-contexts`) or set k8s.context")),
    }
    match (&t.registry, docker) {
        (Some(r), Some(d)) => out.push(registry_finding(r, d).await),
        (Some(r), None) => out.push(Finding::new("registry", Level::Fail, format!("cannot check registry `{r}` without the Docker engine"))),
        (None, _) => out.push(Finding::new("registry", Level::Info, "no registry (k8s.registry / --registry): services that build an image cannot run on a shared cluster")),
    }
    out
}

async fn registry_finding(registry: &str, docker: &Docker) -> Finding {
    let registry = match spec::parse_registry(registry) {
        Ok(r) => r,
        Err(e) => return Finding::new("registry", Level::Fail, e),
    };
    let host = crate::docker::registry_host(&format!("{registry}/x"));
    let creds = match crate::docker::credentials_for(&host) {
        Ok(c) => c,
        Err(e) => return Finding::new("registry", Level::Fail, format!("cannot read the Docker config: {e}")),
    };
    match docker.registry_writable(&registry, creds.as_ref()).await {
        Ok(reference) => Finding::new("registry", Level::Ok, format!("`{registry}` is reachable and writable (pushed {reference})")),
        Err(RegistryError::Unreachable { message, .. }) => {
            Finding::new("registry", Level::Fail, format!("registry `{host}` is not reachable: {message}")).fix("is the registry running, and is this its address? A plain-HTTP registry outside 127.0.0.0/8 must be in the engine's `insecure-registries`")
        }
        Err(RegistryError::Unauthorized { message, had_credentials, .. }) => {
            let fix = match creds.as_ref().filter(|_| had_credentials) {
                Some(c) => format!("the credentials for `{host}` from {} were refused: `docker login {host}` again", c.from),
                None => format!("`docker login {host}` (devenv reads ~/.docker/config.json as docker does: the credential helper of `credHelpers`/`credsStore`, else the `auths` entry)"),
            };
            Finding::new("registry", Level::Fail, format!("registry `{host}` refused the push (unauthorized): {message}")).fix(fix)
        }
        Err(RegistryError::Docker(e)) => Finding::new("registry", Level::Fail, format!("cannot push to `{registry}`: {e}")),
    }
}
