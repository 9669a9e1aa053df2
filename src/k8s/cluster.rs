//! The cluster (a local kind/k3d one, or an existing context): finding `kind`/`k3d` and `kubectl`, creating or
//! reusing the cluster, loading images, applying manifests, waiting for
//! rollouts and Jobs (and explaining why one never became ready), status,
//! teardown and port-forwards. Every command goes through [`Runner`], so the
//! exact invocations are tested; nothing here claims a success a tool did not report.
//!
//! Invocations (NAME = cluster, CTX = `kind-NAME` / `k3d-NAME`, NS = namespace):
//! - detect: `kind version`, `k3d version`, `kubectl version --client`
//! - exists: `kind get clusters` / `k3d cluster list -o json`
//! - create: `kind create cluster --name NAME --wait 120s` / `k3d cluster create NAME --wait`
//! - images: `kind load docker-image IMG… --name NAME` / `k3d image import IMG… -c NAME`
//! - `kubectl --context CTX -n NS apply -f -` (rendered), `apply -f PATH` / `apply -k DIR` (team)
//! - `kubectl --context CTX -n NS rollout status deployment/NAME --timeout=120s`
//! - `kubectl --context CTX -n NS get job NAME -o json` (polled)
//! - on failure: `get pods -l …`, `get events --field-selector involvedObject.name=POD`, `logs POD --tail=30`
//! - delete: `kind delete cluster --name NAME` / `k3d cluster delete NAME`
//! - namespace: `kubectl --context CTX get namespace NS -o json` (then `apply -f -` of it when missing)
//! - an existing context (CTX = `--context`): `kubectl config view --minify --context CTX -o json`
//!   (its server, checked against the production markers); no create, load or delete. The
//!   namespace is looked up before anything is built (reachable? another developer's, by its
//!   `devenv.dev/owner` label, or its workloads' (`get deployments,statefulsets,jobs -l …`)? then
//!   refused), and created with that label, which every object applied there carries too; the
//!   team's manifests must not leave it (`outside_namespace`)

use std::time::{Duration, Instant};

use serde_json::Value;

use super::manifest::Source;
use super::render::{project_selector, Forward, Rendered, RenderedService, WorkloadKind, DATA};
use super::runner::{Background, Invocation, Output, RunError, Runner};
use super::spec::Provider;
use crate::error::Error;
use crate::ui::{Status, Ui};

pub const KIND_HINT: &str = "install kind (https://kind.sigs.k8s.io/docs/user/quick-start/#installation; Debian/Ubuntu: `apt install kind`)";
pub const K3D_HINT: &str = "install k3d (https://k3d.io/#installation)";
pub const KUBECTL_HINT: &str = "install kubectl (https://kubernetes.io/docs/tasks/tools/; Debian/Ubuntu: `apt install kubectl`)";

/// Which cluster, and where in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub provider: Provider,
    pub cluster: String,
    pub namespace: String,
    /// For label selectors.
    pub project: String,
    /// An existing cluster's kubeconfig context (`--context`, `k8s.context`): then
    /// `provider` and `cluster` are not used — nothing is created, loaded or deleted there.
    pub existing: Option<String>,
    /// On a shared cluster, the developer (`$USER`, as a label value): the namespace
    /// devenv creates carries it (`devenv.dev/owner`), and another developer's is refused.
    pub owner: Option<String>,
}

impl Target {
    /// The kubeconfig context: the existing cluster's, else the one the provider writes.
    pub fn context(&self) -> String {
        match &self.existing {
            Some(c) => c.clone(),
            None => format!("{}-{}", self.provider.name(), self.cluster),
        }
    }
}

/// The label naming the developer a shared cluster's namespace and objects were applied for.
pub const OWNER: &str = "devenv.dev/owner";

/// Kinds that live outside any namespace: on a shared cluster, every developer would apply the same object.
const CLUSTER_SCOPED: &[&str] = &[
    "Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "PersistentVolume", "StorageClass", "PriorityClass",
    "IngressClass", "RuntimeClass", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "APIService",
];

/// The team's objects that would not stay in the developer's namespace on a shared
/// cluster (another namespace named, or a cluster-scoped kind): `file: Kind/name (why)`.
pub fn outside_namespace(manifests: &[super::manifest::Manifest], namespace: &str) -> Vec<String> {
    manifests
        .iter()
        .filter_map(|m| {
            let why = if CLUSTER_SCOPED.contains(&m.kind()) {
                "cluster-scoped".to_string()
            } else {
                m.namespace().filter(|ns| *ns != namespace).map(|ns| format!("namespace `{ns}`"))?
            };
            Some(format!("{}: {} ({why})", m.origin.label(), m.id()))
        })
        .collect()
}

/// What the kubeconfig says about a context (`kubectl config view --minify`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextInfo {
    pub context: String,
    /// The API server's URL.
    pub server: String,
}

/// The marker that makes `context` or `server` look like production: a word of
/// either (split at anything not a letter or digit) equal to a marker
/// (`prod-eu-1`, `https://api.live.example.com`; not `products`).
pub fn production_marker<'m>(info: &ContextInfo, markers: &'m [String]) -> Option<&'m str> {
    let words = |s: &str| s.to_ascii_lowercase().split(|c: char| !c.is_ascii_alphanumeric()).map(str::to_string).collect::<Vec<_>>();
    let all: Vec<String> = words(&info.context).into_iter().chain(words(&info.server)).collect();
    markers.iter().find(|m| all.iter().any(|w| w == &m.to_ascii_lowercase())).map(String::as_str)
}

/// Refuse a production-looking context unless `allow` names exactly that context.
pub fn check_not_production(info: &ContextInfo, markers: &[String], allow: Option<&str>) -> Result<(), Error> {
    let Some(m) = production_marker(info, markers) else { return Ok(()) };
    if allow == Some(info.context.as_str()) {
        return Ok(());
    }
    let also = match allow {
        Some(a) => format!(" (--allow-context names `{a}`, not this context)"),
        None => String::new(),
    };
    Err(Error::Usage {
        message: format!("refusing context `{}` (server {}): it looks like production (`{m}`){also}", info.context, info.server),
        hint: Some(format!(
            "devenv applies development environments; if this cluster really is for development, pass --allow-context {} (or change k8s.production_markers)",
            info.context
        )),
    })
}

fn hint_for(p: Provider) -> &'static str {
    match p {
        Provider::Kind => KIND_HINT,
        Provider::K3d => K3D_HINT,
    }
}

fn installed(runner: &dyn Runner, program: &str) -> Result<bool, Error> {
    match runner.output(&Invocation::new(program, &["version"])) {
        Ok(_) => Ok(true),
        Err(RunError::NotFound { .. }) => Ok(false),
        Err(e) => Err(Error::Other(e.to_string())),
    }
}

/// The provider to use: the one asked for (it must be installed), else kind, else k3d.
pub fn detect(runner: &dyn Runner, requested: Option<Provider>) -> Result<Provider, Error> {
    if let Some(p) = requested {
        if installed(runner, p.name())? {
            return Ok(p);
        }
        return Err(Error::Tool { message: format!("`{}` is not installed (not found on PATH)", p.name()), hint: Some(hint_for(p).to_string()) });
    }
    for p in [Provider::Kind, Provider::K3d] {
        if installed(runner, p.name())? {
            return Ok(p);
        }
    }
    Err(Error::Tool {
        message: "neither `kind` nor `k3d` is installed (devenv k8s needs one of them to run a local cluster)".into(),
        hint: Some(format!("{KIND_HINT}, or {K3D_HINT}")),
    })
}

/// `kubectl` must be there for everything after the cluster exists.
pub fn require_kubectl(runner: &dyn Runner) -> Result<(), Error> {
    match runner.output(&Invocation::new("kubectl", &["version", "--client"])) {
        Ok(_) => Ok(()),
        Err(RunError::NotFound { .. }) => Err(Error::Tool { message: "`kubectl` is not installed (not found on PATH)".into(), hint: Some(KUBECTL_HINT.into()) }),
        Err(e) => Err(Error::Other(e.to_string())),
    }
}

/// A tool that could not be run at all.
fn run_error(e: RunError) -> Error {
    match e {
        RunError::NotFound { program } => {
            let hint = match program.as_str() {
                "kubectl" => Some(KUBECTL_HINT.to_string()),
                "kind" => Some(KIND_HINT.to_string()),
                "k3d" => Some(K3D_HINT.to_string()),
                _ => None,
            };
            Error::Tool { message: format!("`{program}` is not installed (not found on PATH)"), hint }
        }
        e => Error::Other(e.to_string()),
    }
}

/// `what` failed: the command, its exit, its output, and what to do.
fn failed(inv: &Invocation, out: &Output, what: &str, hint: &str) -> Error {
    let mut msg = format!("{what}: `{}` failed ({})", inv.display(), out.describe_exit());
    for l in out.lines().iter().rev().take(30).rev() {
        msg.push_str("\n  │ ");
        msg.push_str(l);
    }
    if !hint.is_empty() {
        msg.push_str("\nhint: ");
        msg.push_str(hint);
    }
    Error::Other(msg)
}

/// Operations on one target.
pub struct Cluster<'a> {
    pub runner: &'a dyn Runner,
    pub ui: &'a Ui,
    pub target: Target,
    /// Interval between Job status polls.
    pub poll: Duration,
}

/// A Deployment/StatefulSet/DaemonSet of the team's manifests, waited for after applying them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamWorkload {
    /// `deployment`, `statefulset`, `daemonset`
    pub resource: String,
    pub name: String,
    /// As written in the manifest (None: the namespace applied into).
    pub namespace: Option<String>,
}

impl TeamWorkload {
    /// The workloads among `manifests`.
    pub fn of(manifests: &[super::manifest::Manifest]) -> Vec<TeamWorkload> {
        manifests
            .iter()
            .filter(|m| matches!(m.kind(), "Deployment" | "StatefulSet" | "DaemonSet"))
            .map(|m| TeamWorkload { resource: m.kind().to_ascii_lowercase(), name: m.name().to_string(), namespace: m.namespace().map(str::to_string) })
            .collect()
    }
}

/// A running port-forward: (service, forward, the `kubectl port-forward` process).
pub type Forwarding = (String, Forward, Box<dyn Background>);

/// The result of `up`, for the summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpReport {
    pub created_cluster: bool,
    pub loaded_images: Vec<String>,
}

impl<'a> Cluster<'a> {
    pub fn new(runner: &'a dyn Runner, ui: &'a Ui, target: Target) -> Self {
        Cluster { runner, ui, target, poll: Duration::from_secs(1) }
    }

    fn run(&self, inv: &Invocation) -> Result<Output, Error> {
        self.runner.output(inv).map_err(run_error)
    }

    fn run_streaming(&self, inv: &Invocation, on_line: &mut dyn FnMut(&str)) -> Result<Output, Error> {
        self.runner.run(inv, on_line).map_err(run_error)
    }

    /// A refusal of the cluster's explained (RBAC, quota, StorageClass, pull secret), if it is one.
    pub fn explained(&self, text: &str) -> Option<super::explain::Explanation> {
        let ctx = self.target.context();
        super::explain::explain(text, &super::explain::Place { context: &ctx, namespace: &self.target.namespace })
    }

    /// `failed`, with the explanation and its fix when kubectl's output is a refusal devenv knows.
    fn refused(&self, inv: &Invocation, out: &Output, what: &str, hint: &str) -> Error {
        match self.explained(&out.lines().join("\n")) {
            Some(e) => failed(inv, out, &format!("{what}: {}", e.problem), &e.fix),
            None => failed(inv, out, what, hint),
        }
    }

    /// `kubectl --context CTX -n NS ARGS…`
    pub fn kubectl<S: AsRef<str>>(&self, args: &[S]) -> Invocation {
        let mut all = vec!["--context".to_string(), self.target.context(), "-n".to_string(), self.target.namespace.clone()];
        all.extend(args.iter().map(|a| a.as_ref().to_string()));
        Invocation::new("kubectl", &all)
    }

    /// The existing context's server, from the kubeconfig (`kubectl config view --minify --context CTX -o json`).
    pub fn context_info(&self) -> Result<ContextInfo, Error> {
        let ctx = self.target.context();
        let inv = Invocation::new("kubectl", &["config", "view", "--minify", "--context", &ctx, "-o", "json"]);
        let out = self.run(&inv)?;
        if !out.success() {
            let hint = "list them with `kubectl config get-contexts`; --context takes a NAME from there";
            // kubectl 1.32 says `error: cannot locate context NAME`; others `context "NAME" does not exist`.
            if ["cannot locate context", "does not exist", "not found"].iter().any(|t| out.stderr.contains(t)) {
                return Err(Error::Usage { message: format!("context `{ctx}` is not in your kubeconfig (`{}`: {})", inv.display(), out.lines().join(" ")), hint: Some(hint.into()) });
            }
            return Err(failed(&inv, &out, &format!("cannot read context `{ctx}` from the kubeconfig"), hint));
        }
        let v: Value = serde_json::from_str(&out.stdout).map_err(|e| Error::Other(format!("`{}` printed something that is not JSON: {e}", inv.display())))?;
        let server = v.pointer("/clusters/0/cluster/server").and_then(Value::as_str).unwrap_or("").to_string();
        if server.is_empty() {
            return Err(Error::Usage { message: format!("context `{ctx}` names no cluster server in your kubeconfig"), hint: Some("check `kubectl config view --minify --context NAME`".into()) });
        }
        Ok(ContextInfo { context: ctx, server })
    }

    /// Does the cluster exist?
    pub fn exists(&self) -> Result<bool, Error> {
        let name = &self.target.cluster;
        match self.target.provider {
            Provider::Kind => {
                let inv = Invocation::new("kind", &["get", "clusters"]);
                let out = self.run(&inv)?;
                if !out.success() {
                    return Err(failed(&inv, &out, "cannot list kind clusters", "is Docker running? `docker info` should answer"));
                }
                Ok(out.stdout.lines().any(|l| l.trim() == name))
            }
            Provider::K3d => {
                let inv = Invocation::new("k3d", &["cluster", "list", "-o", "json"]);
                let out = self.run(&inv)?;
                if !out.success() {
                    return Err(failed(&inv, &out, "cannot list k3d clusters", "is Docker running? `docker info` should answer"));
                }
                let v: Value = serde_json::from_str(out.stdout.trim()).map_err(|e| Error::Other(format!("`{}` printed something that is not JSON: {e}", inv.display())))?;
                Ok(v.as_array().is_some_and(|a| a.iter().any(|c| c.get("name").and_then(Value::as_str) == Some(name))))
            }
        }
    }

    /// Create the cluster; a failure shows the tool's output (a node image that cannot be pulled is an image error).
    pub fn create(&self) -> Result<(), Error> {
        let name = self.target.cluster.as_str();
        let inv = match self.target.provider {
            Provider::Kind => Invocation::new("kind", &["create", "cluster", "--name", name, "--wait", "120s"]),
            Provider::K3d => Invocation::new("k3d", &["cluster", "create", name, "--wait"]),
        };
        let tool = self.target.provider.name();
        self.ui.info(format!("creating {tool} cluster `{name}` (`{}`)", inv.display()));
        let ui = self.ui;
        let out = self.run_streaming(&inv, &mut |l| {
            let l = crate::docker::strip_ansi(l);
            if !l.trim().is_empty() {
                ui.info(format!("{tool}: {}", l.trim()));
            }
        })?;
        if out.success() {
            return Ok(());
        }
        let text = out.lines().join("\n");
        let pull = ["failed to pull image", "pull access denied", "ErrImagePull", "manifest unknown", "registry-1.docker.io", "dial tcp", "no such host"];
        if pull.iter().any(|p| text.contains(p)) {
            let image = node_image(&text).map(|s| format!(" ({s})")).unwrap_or_default();
            return Err(Error::Image {
                message: format!("{tool} could not create cluster `{name}`: it could not pull its node image{image} (`{}` failed, {})", inv.display(), out.describe_exit()),
                detail: out.lines().iter().rev().take(20).rev().cloned().collect(),
                hint: Some(format!(
                    "{tool} downloads its node image from a registry; with no registry access, `docker load` the node image from a machine that has it (or point {tool} at a mirror). Nothing was created."
                )),
            });
        }
        Err(failed(&inv, &out, &format!("{tool} could not create cluster `{name}`"), &format!("the output above is {tool}'s; a node that does not start is often short of memory or disk (`devenv doctor` checks both), and a half-created cluster is removed by `devenv k8s down --delete-cluster`")))
    }

    /// Load locally built images into the cluster's nodes.
    pub fn load_images(&self, images: &[String]) -> Result<(), Error> {
        // An existing cluster pulls its images (from `k8s.registry`): nothing is loaded there.
        if images.is_empty() || self.target.existing.is_some() {
            return Ok(());
        }
        let name = self.target.cluster.as_str();
        let mut args: Vec<&str> = match self.target.provider {
            Provider::Kind => vec!["load", "docker-image"],
            Provider::K3d => vec!["image", "import"],
        };
        args.extend(images.iter().map(String::as_str));
        match self.target.provider {
            Provider::Kind => args.extend(["--name", name]),
            Provider::K3d => args.extend(["-c", name]),
        }
        let inv = Invocation::new(self.target.provider.name(), &args);
        self.ui.info(format!("loading {} into cluster `{name}`", images.join(", ")));
        let out = self.run(&inv)?;
        if !out.success() {
            return Err(Error::Image {
                message: format!("could not load {} into cluster `{name}` (`{}` failed, {})", images.join(", "), inv.display(), out.describe_exit()),
                detail: out.lines(),
                hint: Some("the image must exist locally (`docker image ls`); devenv builds services' images first".into()),
            });
        }
        Ok(())
    }

    /// The namespace as the API server has it (`None`: it does not exist); an error when the
    /// server does not answer, or when the namespace is another developer's (devenv created it for them).
    pub fn namespace(&self) -> Result<Option<Value>, Error> {
        let inv = Invocation::new("kubectl", &["--context", &self.target.context(), "get", "namespace", &self.target.namespace, "-o", "json"]);
        let out = self.run(&inv)?;
        if !out.success() {
            if out.stderr.contains("NotFound") || out.stderr.contains("not found") {
                return Ok(None);
            }
            if let Some(e) = self.explained(&out.lines().join("\n")) {
                return Err(failed(&inv, &out, &format!("cannot read namespace `{}`: {}", self.target.namespace, e.problem), &e.fix));
            }
            return Err(failed(&inv, &out, "cannot reach the cluster", &format!("is the cluster running, and are you logged in? `kubectl --context {} cluster-info`", self.target.context())));
        }
        // It exists; labels devenv cannot read are no owner's.
        let v: Value = serde_json::from_str(&out.stdout).unwrap_or(Value::Null);
        self.check_owner(&v)?;
        self.check_objects_owner()?;
        Ok(Some(v))
    }

    /// In a namespace devenv did not create (an admin's, shared through `--namespace`):
    /// refuse when this project's workloads there carry another developer's owner label.
    fn check_objects_owner(&self) -> Result<(), Error> {
        let Some(me) = &self.target.owner else { return Ok(()) };
        let inv = self.kubectl(&["get", "deployments,statefulsets,jobs", "-l", &project_selector(&self.target.project), "-o", "json"]);
        // Unreadable (not allowed to list, say): `apply` then says what is refused.
        let Some(out) = self.run(&inv).ok().filter(Output::success) else { return Ok(()) };
        let v: Value = serde_json::from_str(&out.stdout).unwrap_or(Value::Null);
        let theirs: Vec<String> = v
            .get("items")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|o| {
                let owner = o.pointer("/metadata/labels").and_then(|l| l.get(OWNER)).and_then(Value::as_str).filter(|w| w != me)?;
                let kind = o.get("kind").and_then(Value::as_str).unwrap_or("object").to_ascii_lowercase();
                Some(format!("{kind}/{} of `{owner}`", o.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("?")))
            })
            .collect();
        if theirs.is_empty() {
            return Ok(());
        }
        Err(Error::Usage {
            message: format!("namespace `{}` already runs the `{}` environment of another developer ({}): devenv would replace or delete their objects", self.target.namespace, self.target.project, theirs.join(", ")),
            hint: Some(format!("use a namespace of your own: drop --namespace (and k8s.namespace) for the default `{}-{me}`, or pass --namespace NAME", self.target.project)),
        })
    }

    /// Refuse a namespace devenv created for this project for another developer.
    fn check_owner(&self, ns: &Value) -> Result<(), Error> {
        let Some(me) = &self.target.owner else { return Ok(()) };
        let label = |k: &str| ns.pointer("/metadata/labels").and_then(|l| l.get(k)).and_then(Value::as_str);
        let theirs = (label(super::render::MANAGED_BY) == Some("devenv") && label(super::render::PART_OF) == Some(self.target.project.as_str())).then(|| label(OWNER)).flatten();
        match theirs {
            Some(owner) if owner != me => Err(Error::Usage {
                message: format!(
                    "namespace `{}` holds the `{}` environment of `{owner}` (label {OWNER}={owner}): devenv would replace or delete their objects",
                    self.target.namespace, self.target.project
                ),
                hint: Some(format!("use a namespace of your own: drop --namespace (and k8s.namespace) for the default `{}-{me}`, or pass --namespace NAME", self.target.project)),
            }),
            _ => Ok(()),
        }
    }

    /// Create the namespace when it does not exist (an existing one is left untouched);
    /// on a shared cluster it carries the owner's label.
    pub fn ensure_namespace(&self, rendered: &Rendered) -> Result<(), Error> {
        if self.namespace()?.is_some() {
            return Ok(());
        }
        let mut object = rendered.namespace_object.clone();
        if let (Some(owner), Some(labels)) = (&self.target.owner, object.pointer_mut("/metadata/labels").and_then(Value::as_object_mut)) {
            labels.insert(OWNER.into(), Value::String(owner.clone()));
        }
        let apply = Invocation::new("kubectl", &["--context", &self.target.context(), "apply", "-f", "-"]).with_stdin(format!("---\n{}", super::manifest::to_yaml(&object)));
        let out = self.run(&apply)?;
        if !out.success() {
            return Err(self.refused(&apply, &out, &format!("cannot create namespace `{}`", self.target.namespace), ""));
        }
        Ok(())
    }

    /// `kubectl apply -f -` of a YAML stream.
    pub fn apply_stream(&self, yaml: String, what: &str) -> Result<(), Error> {
        if yaml.trim().is_empty() {
            return Ok(());
        }
        let inv = self.kubectl(&["apply", "-f", "-"]).with_stdin(yaml);
        let out = self.run(&inv)?;
        if !out.success() {
            return Err(self.refused(&inv, &out, &format!("the cluster rejected {what}"), "run `devenv k8s lint` to check the manifests"));
        }
        Ok(())
    }

    /// `kubectl apply -f PATH` / `-k DIR`.
    pub fn apply_source(&self, src: &Source) -> Result<(), Error> {
        let mut args = vec!["apply".to_string()];
        args.extend(src.kubectl_args());
        let inv = self.kubectl(&args);
        let out = self.run(&inv)?;
        if !out.success() {
            return Err(self.refused(&inv, &out, &format!("the cluster rejected {}", src.path.display()), "run `devenv k8s lint` to check the manifests"));
        }
        Ok(())
    }

    /// Wait for a Deployment/StatefulSet/DaemonSet rollout; on failure, say which pod and why.
    pub fn rollout(&self, service: &str, resource: &str, name: &str, selector: &str, timeout: Duration) -> Result<(), Error> {
        let started = Instant::now();
        let inv = self.kubectl(&["rollout".to_string(), "status".to_string(), format!("{resource}/{name}"), format!("--timeout={}s", timeout.as_secs().max(1))]);
        self.ui.service(service, Status::Probing { probe: format!("rollout status {resource}/{name}") });
        let ui = self.ui;
        let out = self.run_streaming(&inv, &mut |l| {
            if !l.trim().is_empty() {
                ui.service(service, Status::Probing { probe: l.trim().to_string() });
            }
        })?;
        if out.success() {
            self.ui.service(service, Status::Ready { elapsed_ms: started.elapsed().as_millis() as u64 });
            return Ok(());
        }
        let (why, detail) = self.diagnose(selector);
        let mut message = format!("{service}: {resource}/{name} did not become ready within {}s{why}", timeout.as_secs());
        let mut hint = format!("`kubectl --context {} -n {} describe {resource}/{name}` shows more", self.target.context(), self.target.namespace);
        if let Some(e) = self.explained(&format!("{why}\n{}", detail.join("\n"))) {
            message = format!("{message}\n{}", e.problem);
            hint = e.fix;
        }
        self.ui.service(service, Status::Failed { error: message.clone() });
        let mut logs = vec![format!("`{}`: {}", inv.display(), out.lines().last().cloned().unwrap_or_else(|| out.describe_exit()))];
        logs.extend(detail);
        Err(Error::Service { message, logs, hint: Some(hint) })
    }

    /// Poll a Job until it succeeded or failed (or `timeout`).
    pub fn wait_job(&self, service: &str, name: &str, timeout: Duration, seed: bool) -> Result<(), Error> {
        let started = Instant::now();
        let inv = self.kubectl(&["get", "job", name, "-o", "json"]);
        loop {
            let out = self.run(&inv)?;
            if !out.success() {
                return Err(failed(&inv, &out, &format!("cannot read job/{name}"), ""));
            }
            let v: Value = serde_json::from_str(&out.stdout).unwrap_or(Value::Null);
            let succeeded = v.pointer("/status/succeeded").and_then(Value::as_i64).unwrap_or(0);
            let failed_cond = v.pointer("/status/conditions").and_then(Value::as_array).is_some_and(|cs| {
                cs.iter().any(|c| c.get("type").and_then(Value::as_str) == Some("Failed") && c.get("status").and_then(Value::as_str) == Some("True"))
            });
            if succeeded > 0 {
                let ms = started.elapsed().as_millis() as u64;
                self.ui.service(service, if seed { Status::Seeded { entries: 1, summary: format!("job/{name}"), elapsed_ms: ms } } else { Status::Completed { elapsed_ms: ms } });
                return Ok(());
            }
            let timed_out = started.elapsed() >= timeout;
            if failed_cond || timed_out {
                let (why, detail) = self.diagnose(&format!("job-name={name}"));
                let how = if failed_cond { "failed".to_string() } else { format!("did not complete within {}s", timeout.as_secs()) };
                let mut message = format!("{service}: job/{name} {how}{why}");
                let mut hint = Some(format!("`kubectl --context {} -n {} logs job/{name}` shows its output", self.target.context(), self.target.namespace));
                if let Some(e) = self.explained(&format!("{why}\n{}", detail.join("\n"))) {
                    message = format!("{message}\n{}", e.problem);
                    hint = Some(e.fix);
                }
                self.ui.service(service, Status::Failed { error: message.clone() });
                return Err(if seed { Error::Seed { message: format!("{message}\n{}", detail.join("\n")), hint } } else { Error::Service { message, logs: detail, hint } });
            }
            std::thread::sleep(self.poll);
        }
    }

    /// Why pods matching `selector` are not ready: `(": pod X: Reason: message", events + last logs)`.
    pub fn diagnose(&self, selector: &str) -> (String, Vec<String>) {
        let mut detail = Vec::new();
        let pods = self.run(&self.kubectl(&["get", "pods", "-l", selector, "-o", "json"])).ok().filter(Output::success);
        let items: Vec<Value> = pods.and_then(|o| serde_json::from_str::<Value>(&o.stdout).ok()).and_then(|v| v.get("items").cloned()).and_then(|i| i.as_array().cloned()).unwrap_or_default();
        let bad = items.iter().find(|p| !pod_ready(p)).or(items.first());
        let Some(pod) = bad else {
            // A pod the API server refused (quota, admission) leaves only a Warning event on its ReplicaSet/StatefulSet/Job.
            let warnings = self.run(&self.kubectl(&["get", "events", "--field-selector", "type=Warning", "-o", "json"])).ok().filter(Output::success);
            let list = warnings.and_then(|o| serde_json::from_str::<Value>(&o.stdout).ok()).and_then(|v| v.get("items").and_then(Value::as_array).cloned()).unwrap_or_default();
            if !list.is_empty() {
                detail.push("warning events of the namespace:".into());
            }
            for e in list.iter().rev().take(8).rev() {
                let obj = e.pointer("/involvedObject/name").and_then(Value::as_str).unwrap_or("?");
                detail.push(format!("  {obj}: {}: {}", e.get("reason").and_then(Value::as_str).unwrap_or(""), e.get("message").and_then(Value::as_str).unwrap_or("")));
            }
            return (": no pod was created".into(), detail);
        };
        let name = pod.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("?").to_string();
        let reason = pod_reason(pod);
        let restarts = pod.pointer("/status/containerStatuses").and_then(Value::as_array).map(|cs| cs.iter().filter_map(|c| c.get("restartCount").and_then(Value::as_i64)).sum::<i64>()).unwrap_or(0);
        let events = self.run(&self.kubectl(&["get", "events", "--field-selector", &format!("involvedObject.name={name}"), "-o", "json"])).ok().filter(Output::success);
        if let Some(ev) = events.and_then(|o| serde_json::from_str::<Value>(&o.stdout).ok()) {
            let list = ev.get("items").and_then(Value::as_array).cloned().unwrap_or_default();
            if !list.is_empty() {
                detail.push(format!("events of pod {name}:"));
            }
            for e in list.iter().rev().take(8).rev() {
                let r = e.get("reason").and_then(Value::as_str).unwrap_or("");
                let m = e.get("message").and_then(Value::as_str).unwrap_or("");
                detail.push(format!("  {r}: {m}"));
            }
        }
        let mut args = vec!["logs".to_string(), name.clone(), "--tail=30".into(), "--all-containers".into()];
        if restarts > 0 {
            args.push("--previous".into());
        }
        if let Ok(o) = self.run(&self.kubectl(&args)) {
            let lines = o.lines();
            if o.success() && !lines.is_empty() {
                detail.push(format!("last log lines of pod {name}{}:", if restarts > 0 { " (before its last restart)" } else { "" }));
                detail.extend(lines.into_iter().map(|l| format!("  {l}")));
            }
        }
        (format!(": pod {name}: {reason}"), detail)
    }

    /// Reuse the cluster, or create it; true when it was created.
    pub fn ensure(&self) -> Result<bool, Error> {
        if self.target.existing.is_some() {
            // Before anything is built or pushed: does the API server answer, and is the namespace ours?
            self.namespace()?;
            return Ok(false);
        }
        if self.exists()? {
            self.ui.info(format!("reusing {} cluster `{}`", self.target.provider.name(), self.target.cluster));
            return Ok(false);
        }
        self.create()?;
        Ok(true)
    }

    /// `ensure` + `deploy`.
    pub fn up(&self, rendered: &Rendered, sources: &[Source], team_workloads: &[TeamWorkload], images: &[String]) -> Result<UpReport, Error> {
        let created = self.ensure()?;
        let mut report = self.deploy(rendered, sources, team_workloads, images)?;
        report.created_cluster = created;
        Ok(report)
    }

    /// Into an existing cluster: load images, apply and wait wave by wave (seeds after
    /// their service), then the team's manifests and their rollouts.
    pub fn deploy(&self, rendered: &Rendered, sources: &[Source], team_workloads: &[TeamWorkload], images: &[String]) -> Result<UpReport, Error> {
        // On a shared cluster every object names its developer (what `check_objects_owner` reads).
        let owned;
        let rendered = match &self.target.owner {
            Some(owner) => {
                owned = rendered.with_label(OWNER, owner);
                &owned
            }
            None => rendered,
        };
        let mut report = UpReport::default();
        self.load_images(images)?;
        report.loaded_images = images.to_vec();
        self.ensure_namespace(rendered)?;
        for wave in rendered.waves() {
            for s in &wave {
                self.ui.service(&s.name, Status::Creating);
            }
            let names = wave.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ");
            self.apply_stream(rendered.stream_of(&wave, false), &format!("the manifests of {names}"))?;
            for s in &wave {
                self.wait_service(s)?;
            }
            let seeded: Vec<&RenderedService> = wave.iter().copied().filter(|s| s.seed.is_some()).collect();
            if !seeded.is_empty() {
                self.apply_stream(rendered.stream_of(&seeded, true), "the seed jobs")?;
                for s in seeded {
                    if let Some(job) = &s.seed {
                        self.ui.service(&s.name, Status::Seeding { entry: format!("job/{}", job.name), done: 0, unit: String::new(), per_second: 0 });
                        self.wait_job(&s.name, &job.name, s.timeout, true)?;
                    }
                }
            }
        }
        for src in sources {
            self.ui.info(format!("applying {}", src.path.display()));
            self.apply_source(src)?;
        }
        for w in team_workloads {
            // In the namespace the manifest names, else the one applied into.
            let there = Cluster { runner: self.runner, ui: self.ui, target: Target { namespace: w.namespace.clone().unwrap_or_else(|| self.target.namespace.clone()), ..self.target.clone() }, poll: self.poll };
            let sel = there.selector_of(&w.resource, &w.name).unwrap_or_default();
            there.rollout(&w.name, &w.resource, &w.name, &sel, crate::plan::resolve::DEFAULT_READY_TIMEOUT)?;
        }
        Ok(report)
    }

    fn wait_service(&self, s: &RenderedService) -> Result<(), Error> {
        let selector = format!("{},{}={}", project_selector(&self.target.project), super::render::NAME, s.name);
        match s.kind {
            WorkloadKind::Job => {
                self.ui.service(&s.name, Status::Starting);
                self.wait_job(&s.name, &s.workload, s.timeout, false)
            }
            k => self.rollout(&s.name, k.resource(), &s.workload, &selector, s.timeout),
        }
    }

    /// A team workload's pod selector (`a=b,c=d`), for diagnosis.
    fn selector_of(&self, resource: &str, name: &str) -> Option<String> {
        let out = self.run(&self.kubectl(&["get".to_string(), format!("{resource}/{name}"), "-o".into(), "json".into()])).ok().filter(Output::success)?;
        let v: Value = serde_json::from_str(&out.stdout).ok()?;
        let labels = v.pointer("/spec/selector/matchLabels")?.as_object()?;
        Some(labels.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or(""))).collect::<Vec<_>>().join(","))
    }

    /// Delete what `up` applied. `volumes`: also claims, seed Jobs and the namespace devenv created.
    pub fn down(&self, sources: &[Source], volumes: bool) -> Result<(), Error> {
        if self.target.existing.is_some() {
            self.namespace()?;
        }
        for src in sources {
            let mut args = vec!["delete".to_string()];
            args.extend(src.kubectl_args());
            args.push("--ignore-not-found".into());
            let inv = self.kubectl(&args);
            let out = self.run(&inv)?;
            if !out.success() {
                return Err(failed(&inv, &out, &format!("cannot delete the objects of {}", src.path.display()), ""));
            }
        }
        let base = project_selector(&self.target.project);
        let (kinds, selector) = if volumes {
            ("deployments,statefulsets,jobs,services,configmaps,secrets,persistentvolumeclaims", base.clone())
        } else {
            ("deployments,statefulsets,jobs,services,configmaps,secrets", format!("{base},{DATA}!=true"))
        };
        let inv = self.kubectl(&["delete", kinds, "-l", &selector, "--ignore-not-found"]);
        let out = self.run(&inv)?;
        if !out.success() {
            return Err(failed(&inv, &out, "cannot delete devenv's objects", ""));
        }
        if volumes {
            let ns_sel = format!("{base},kubernetes.io/metadata.name={}", self.target.namespace);
            let inv = Invocation::new("kubectl", &["--context", &self.target.context(), "delete", "namespace", "-l", &ns_sel, "--ignore-not-found"]);
            let out = self.run(&inv)?;
            if !out.success() {
                return Err(failed(&inv, &out, "cannot delete the namespace", ""));
            }
        }
        Ok(())
    }

    /// Delete the whole cluster.
    pub fn delete_cluster(&self) -> Result<(), Error> {
        if let Some(ctx) = &self.target.existing {
            return Err(Error::Usage { message: format!("--delete-cluster deletes local kind/k3d clusters only, not context `{ctx}`"), hint: Some("`devenv k8s down` removes what devenv applied there".into()) });
        }
        let name = self.target.cluster.as_str();
        let inv = match self.target.provider {
            Provider::Kind => Invocation::new("kind", &["delete", "cluster", "--name", name]),
            Provider::K3d => Invocation::new("k3d", &["cluster", "delete", name]),
        };
        let out = self.run(&inv)?;
        if !out.success() {
            return Err(failed(&inv, &out, &format!("cannot delete cluster `{name}`"), ""));
        }
        Ok(())
    }

    /// Status rows of devenv's objects and the team's: (NAME, READY, STATUS).
    pub fn status_rows(&self, sources: &[Source]) -> Result<Vec<[String; 3]>, Error> {
        let sel = project_selector(&self.target.project);
        let inv = self.kubectl(&["get", "deployments,statefulsets,jobs,services", "-l", &sel, "-o", "json"]);
        let out = self.run(&inv)?;
        if !out.success() {
            return Err(failed(&inv, &out, "cannot read the cluster", &format!("is the cluster running? `kubectl --context {} cluster-info`", self.target.context())));
        }
        let mut rows = rows_of(&out.stdout);
        for src in sources {
            let mut args = vec!["get".to_string()];
            args.extend(src.kubectl_args());
            args.extend(["-o".into(), "json".into()]);
            let out = self.run(&self.kubectl(&args))?;
            if out.success() {
                rows.extend(rows_of(&out.stdout));
            } else {
                rows.push([src.path.display().to_string(), "-".into(), "not applied".into()]);
            }
        }
        Ok(rows)
    }

    /// `kubectl port-forward` for a service's forwards.
    pub fn port_forward(&self, service: &str, f: &Forward) -> Invocation {
        self.kubectl(&["port-forward".to_string(), format!("service/{service}"), format!("{}:{}", f.host_port, f.port), "--address".into(), "127.0.0.1".into()])
    }

    /// Start port-forwards; each entry is (service, forward, running process).
    pub fn start_forwards(&self, rendered: &Rendered) -> Result<Vec<Forwarding>, Error> {
        let mut out = Vec::new();
        for s in &rendered.services {
            for f in &s.forwards {
                let child = self.runner.spawn(&self.port_forward(&s.name, f)).map_err(|e| Error::Other(e.to_string()))?;
                out.push((s.name.clone(), *f, child));
            }
        }
        Ok(out)
    }

    /// Start again the port-forwards that exited (a pod restarted); returns what happened, for the user.
    pub fn restart_exited(&self, running: &mut [Forwarding]) -> Vec<String> {
        let mut notes = Vec::new();
        for (svc, f, child) in running.iter_mut() {
            let Some(out) = child.try_wait() else { continue };
            let why = out.lines().last().cloned().unwrap_or_default();
            match self.runner.spawn(&self.port_forward(svc, f)) {
                Ok(new) => {
                    *child = new;
                    notes.push(format!("port-forward of {svc} to 127.0.0.1:{} stopped ({}: {why}); restarted", f.host_port, out.describe_exit()));
                }
                Err(e) => notes.push(format!("port-forward of {svc} to 127.0.0.1:{} stopped ({}: {why}) and cannot be restarted: {e}", f.host_port, out.describe_exit())),
            }
        }
        notes
    }

    /// NodePort addresses: (service, `IP:nodePort`).
    pub fn node_ports(&self, rendered: &Rendered) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if !rendered.services.iter().any(|s| s.expose == super::spec::Expose::NodePort && s.has_service) {
            return out;
        }
        let nodes = self.run(&Invocation::new("kubectl", &["--context", &self.target.context(), "get", "nodes", "-o", "json"])).ok().filter(Output::success);
        let ip = nodes
            .and_then(|o| serde_json::from_str::<Value>(&o.stdout).ok())
            .and_then(|v| v.pointer("/items/0/status/addresses").and_then(Value::as_array).cloned())
            .and_then(|a| a.iter().find(|x| x.get("type").and_then(Value::as_str) == Some("InternalIP")).and_then(|x| x.get("address")).and_then(Value::as_str).map(str::to_string))
            .unwrap_or_else(|| "<node address>".into());
        for s in rendered.services.iter().filter(|s| s.expose == super::spec::Expose::NodePort && s.has_service) {
            let Ok(o) = self.run(&self.kubectl(&["get", "service", &s.name, "-o", "json"])) else { continue };
            let v: Value = serde_json::from_str(&o.stdout).unwrap_or(Value::Null);
            for p in v.pointer("/spec/ports").and_then(Value::as_array).cloned().unwrap_or_default() {
                if let Some(np) = p.get("nodePort").and_then(Value::as_i64) {
                    out.push((s.name.clone(), format!("{ip}:{np}")));
                }
            }
        }
        out
    }
}

/// The node image named in a provider's output (`kindest/node:v1.32.2@sha256:…`, `rancher/k3s:…`).
fn node_image(text: &str) -> Option<String> {
    text.split(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '(' | ')'))
        .filter(|w| w.starts_with("kindest/node:") || w.starts_with("rancher/k3s:") || w.starts_with("docker.io/rancher/k3s:"))
        .max_by_key(|w| w.len())
        .map(str::to_string)
}

fn pod_ready(p: &Value) -> bool {
    p.pointer("/status/conditions").and_then(Value::as_array).is_some_and(|cs| {
        cs.iter().any(|c| c.get("type").and_then(Value::as_str) == Some("Ready") && c.get("status").and_then(Value::as_str) == Some("True"))
    })
}

/// `CrashLoopBackOff: back-off 10s restarting …`, `ImagePullBackOff: …`, `Pending: 0/1 nodes are available …`.
pub fn pod_reason(p: &Value) -> String {
    for c in p.pointer("/status/containerStatuses").and_then(Value::as_array).cloned().unwrap_or_default() {
        if let Some(w) = c.pointer("/state/waiting") {
            let r = w.get("reason").and_then(Value::as_str).unwrap_or("waiting");
            return match w.get("message").and_then(Value::as_str) {
                Some(m) => format!("{r}: {m}"),
                None => r.to_string(),
            };
        }
        if let Some(t) = c.pointer("/state/terminated").or_else(|| c.pointer("/lastState/terminated")) {
            let r = t.get("reason").and_then(Value::as_str).unwrap_or("terminated");
            let code = t.get("exitCode").and_then(Value::as_i64).unwrap_or(0);
            return format!("{r} (exit code {code})");
        }
        if c.get("ready").and_then(Value::as_bool) == Some(false) && c.pointer("/state/running").is_some() {
            return "running but not ready (its readiness probe fails)".into();
        }
    }
    let phase = p.pointer("/status/phase").and_then(Value::as_str).unwrap_or("unknown");
    let cond = p.pointer("/status/conditions").and_then(Value::as_array).and_then(|cs| {
        cs.iter().find(|c| c.get("status").and_then(Value::as_str) == Some("False") && c.get("message").is_some()).and_then(|c| c.get("message")).and_then(Value::as_str).map(str::to_string)
    });
    match cond {
        Some(m) => format!("{phase}: {m}"),
        None => phase.to_string(),
    }
}

/// Status rows from a `kubectl get … -o json` answer (a List or one object).
pub fn rows_of(json: &str) -> Vec<[String; 3]> {
    let v: Value = serde_json::from_str(json).unwrap_or(Value::Null);
    let items = match v.get("items").and_then(Value::as_array) {
        Some(a) => a.clone(),
        None if v.is_object() => vec![v],
        None => vec![],
    };
    let mut rows = Vec::new();
    for it in items {
        let kind = it.get("kind").and_then(Value::as_str).unwrap_or("");
        let name = format!("{}/{}", kind.to_ascii_lowercase(), it.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("?"));
        let n = |p: &str| it.pointer(p).and_then(Value::as_i64).unwrap_or(0);
        let (ready, status) = match kind {
            "Deployment" | "StatefulSet" => {
                let want = it.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1);
                let have = n("/status/readyReplicas");
                (format!("{have}/{want}"), if have >= want { "ready".to_string() } else { "not ready".to_string() })
            }
            "DaemonSet" => {
                let (have, want) = (n("/status/numberReady"), n("/status/desiredNumberScheduled"));
                (format!("{have}/{want}"), if have >= want { "ready".into() } else { "not ready".into() })
            }
            "Job" => {
                let s = if n("/status/succeeded") > 0 { "complete" } else if n("/status/failed") > 0 { "failed" } else { "running" };
                (format!("{}/1", n("/status/succeeded").min(1)), s.to_string())
            }
            "Service" => {
                let ports = it.pointer("/spec/ports").and_then(Value::as_array).cloned().unwrap_or_default();
                let list = ports.iter().map(|p| match p.get("nodePort").and_then(Value::as_i64) {
                    Some(np) => format!("{}:{np}", p.get("port").and_then(Value::as_i64).unwrap_or(0)),
                    None => p.get("port").and_then(Value::as_i64).unwrap_or(0).to_string(),
                }).collect::<Vec<_>>().join(",");
                ("-".into(), format!("{} {list}", it.pointer("/spec/type").and_then(Value::as_str).unwrap_or("ClusterIP")))
            }
            _ => ("-".into(), "applied".into()),
        };
        rows.push([name, ready, status]);
    }
    rows
}
