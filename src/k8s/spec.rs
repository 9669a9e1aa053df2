//! The `k8s:` settings of the environment file, typed. The config module
//! keeps them as raw YAML (`EnvSpec::k8s`, `ServiceSpec::k8s`); they are
//! parsed here, with errors that name file:line:column and the YAML path.
//!
//! ```yaml
//! k8s:
//!   provider: kind            # or k3d (default: whichever is installed, kind first)
//!   cluster: devenv           # cluster name (default: devenv)
//!   namespace: shop           # default: the project name
//!   manifests: [k8s/base, k8s/overlays/dev]   # the team's own: files, directories, kustomize directories
//!   kube_version: "1.33"      # `k8s lint` schema version(s); one or a list
//!   context: dev-eks          # an existing cluster (kubeconfig context): no kind/k3d, namespace <project>-<user>
//!   registry: registry.example.com/team   # built images are pushed there (tag = content hash)
//!   production_markers: [prod, production, live]   # contexts/servers refused without --allow-context
//! services:
//!   api:
//!     k8s:
//!       replicas: 2
//!       resources: {requests: {cpu: 100m, memory: 128Mi}, limits: {memory: 256Mi}}
//!       secret_env: [STRIPE_KEY]   # also a Secret (keys that look secret always are)
//!       expose: port-forward       # or nodeport, none
//!       storage: 5Gi               # size of each volume claim
//!       skip: true                 # not rendered (e.g. the team's manifests define it)
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_yaml::Value;

use crate::config::validate::hint_for;
use crate::config::{scalar_to_string, ConfigError, LoadedEnv};
use crate::yaml::kind_of;
use crate::plan::Plan;

/// Which local-cluster tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Provider {
    Kind,
    K3d,
}

impl Provider {
    pub fn name(self) -> &'static str {
        match self {
            Provider::Kind => "kind",
            Provider::K3d => "k3d",
        }
    }
}

/// How `devenv k8s up` makes a service reachable from the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expose {
    /// `kubectl port-forward` to the file's host port (the default for published ports).
    PortForward,
    /// A NodePort Service.
    NodePort,
    /// Not reachable from the host.
    None,
}

/// Requests and limits: resource name → quantity.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resources {
    pub requests: BTreeMap<String, String>,
    pub limits: BTreeMap<String, String>,
}

/// Per-service settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceK8s {
    pub replicas: Option<u32>,
    pub resources: Option<Resources>,
    pub secret_env: Vec<String>,
    pub expose: Option<Expose>,
    pub storage: Option<String>,
    pub skip: bool,
}

/// A `k8s.manifests` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestPath {
    /// As written.
    pub written: String,
    /// Absolute.
    pub path: PathBuf,
    /// `k8s.manifests[1]`, for errors.
    pub yaml_path: String,
}

/// The whole `k8s:` configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct K8sSpec {
    pub provider: Option<Provider>,
    pub cluster: Option<String>,
    pub namespace: Option<String>,
    pub manifests: Vec<ManifestPath>,
    pub kube_versions: Vec<String>,
    /// An existing cluster's kubeconfig context (`k8s.context`).
    pub context: Option<String>,
    /// Where built images are pushed (`k8s.registry`: `host[:port][/path]`).
    pub registry: Option<String>,
    /// Words that mark a production context or server (`k8s.production_markers`); None: the defaults.
    pub production_markers: Option<Vec<String>>,
    pub services: BTreeMap<String, ServiceK8s>,
}

impl K8sSpec {
    pub fn service(&self, name: &str) -> ServiceK8s {
        self.services.get(name).cloned().unwrap_or_default()
    }
}

pub const TOP_KEYS: &[&str] = &["provider", "cluster", "namespace", "manifests", "kube_version", "context", "registry", "production_markers"];

/// The words that mark a production context by default.
pub const DEFAULT_PRODUCTION_MARKERS: &[&str] = &["prod", "production", "live"];
pub const SERVICE_KEYS: &[&str] = &["replicas", "resources", "secret_env", "expose", "storage", "skip"];
const RESOURCE_KEYS: &[&str] = &["requests", "limits"];

/// The default cluster name: one local cluster shared by projects, one namespace each.
pub const DEFAULT_CLUSTER: &str = "devenv";

struct Ctx<'a> {
    env: &'a LoadedEnv,
}

impl Ctx<'_> {
    fn err(&self, path: &str, message: impl Into<String>, hint: Option<String>) -> ConfigError {
        ConfigError { file: self.env.file.clone(), pos: self.env.locations.get(path), yaml_path: path.to_string(), message: message.into(), hint }
    }

    /// The map at `path` with only `known` keys (did-you-mean hint otherwise).
    fn map<'v>(&self, v: &'v Value, path: &str, known: &[&str]) -> Result<Vec<(String, &'v Value)>, ConfigError> {
        let m = match v {
            Value::Mapping(m) => m,
            Value::Null => return Ok(vec![]),
            other => return Err(self.err(path, format!("expected a map, found {}", kind_of(other)), None)),
        };
        let mut out = Vec::new();
        for (k, val) in m {
            let key = scalar_to_string(k).ok_or_else(|| self.err(path, "keys must be strings", None))?;
            let at = join(path, &key);
            if !known.contains(&key.as_str()) {
                return Err(self.err(&at, format!("unknown key `{key}`"), hint_for(&key, known, "known keys")));
            }
            out.push((key, val));
        }
        Ok(out)
    }

    fn string(&self, v: &Value, path: &str) -> Result<String, ConfigError> {
        match v {
            Value::Mapping(_) | Value::Sequence(_) | Value::Null => Err(self.err(path, format!("expected a string, found {}", kind_of(v)), None)),
            other => scalar_to_string(other).ok_or_else(|| self.err(path, format!("expected a string, found {}", kind_of(v)), None)),
        }
    }

    /// A string or a list of strings.
    fn strings(&self, v: &Value, path: &str) -> Result<Vec<(String, String)>, ConfigError> {
        match v {
            Value::Sequence(items) => items.iter().enumerate().map(|(i, item)| {
                let p = format!("{path}[{i}]");
                self.string(item, &p).map(|s| (s, p))
            }).collect(),
            Value::Null => Ok(vec![]),
            other => self.string(other, path).map(|s| vec![(s, path.to_string())]),
        }
    }
}

fn join(parent: &str, key: &str) -> String {
    crate::config::locate::join(parent, key)
}

/// A DNS-1123 label (namespaces, Service names): lowercase letters, digits, `-`; ≤ 63.
pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// A resource quantity (`100m`, `1.5`, `128Mi`, `1G`, `1e3`).
pub fn is_quantity(s: &str) -> bool {
    static RE: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    RE.get_or_init(|| regex::Regex::new(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+|Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$").ok())
        .as_ref()
        .is_some_and(|re| re.is_match(s))
}

/// A namespace for the project: `-n`, else `k8s.namespace`, else the project name made a DNS label.
pub fn default_namespace(project: &str) -> String {
    let mut s: String = project.to_ascii_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    s.truncate(63);
    let s = s.trim_matches('-').to_string();
    if s.is_empty() { "devenv".to_string() } else { s }
}

/// Parse the file's `k8s:` sections. `plan` is used to check `secret_env` keys.
pub fn parse(env: &LoadedEnv, plan: &Plan) -> Result<K8sSpec, ConfigError> {
    let cx = Ctx { env };
    let mut spec = K8sSpec::default();
    if let Some(top) = &env.spec.k8s {
        parse_top(&cx, top, &mut spec)?;
    }
    for (name, svc) in &env.spec.services {
        let Some(v) = &svc.k8s else { continue };
        spec.services.insert(name.clone(), parse_service(&cx, plan, name, v)?);
    }
    Ok(spec)
}

/// The top-level `k8s:` section.
fn parse_top(cx: &Ctx, top: &Value, spec: &mut K8sSpec) -> Result<(), ConfigError> {
    let env = cx.env;
    for (key, v) in cx.map(top, "k8s", TOP_KEYS)? {
        let path = join("k8s", &key);
        match key.as_str() {
            "provider" => {
                let s = cx.string(v, &path)?;
                spec.provider = Some(match s.as_str() {
                    "kind" => Provider::Kind,
                    "k3d" => Provider::K3d,
                    other => return Err(cx.err(&path, format!("unknown provider `{other}`"), hint_for(other, &["kind", "k3d"], "providers"))),
                });
            }
            "cluster" => {
                let s = cx.string(v, &path)?;
                if !is_dns_label(&s) {
                    return Err(cx.err(&path, format!("invalid cluster name {s:?}"), Some("use lowercase letters, digits and `-` (at most 63)".into())));
                }
                spec.cluster = Some(s);
            }
            "namespace" => {
                let s = cx.string(v, &path)?;
                if !is_dns_label(&s) {
                    return Err(cx.err(&path, format!("invalid namespace {s:?}"), Some("a namespace is a DNS label: lowercase letters, digits and `-`, at most 63".into())));
                }
                spec.namespace = Some(s);
            }
            "manifests" => {
                for (written, p) in cx.strings(v, &path)? {
                    let abs = crate::config::volumes::normalize(&env.dir.join(&written));
                    if !abs.exists() {
                        return Err(cx.err(&p, format!("{written}: no such file or directory ({})", abs.display()), Some("paths are relative to the environment file".into())));
                    }
                    spec.manifests.push(ManifestPath { written, path: abs, yaml_path: p });
                }
            }
            "kube_version" => {
                for (s, p) in cx.strings(v, &path)? {
                    spec.kube_versions.push(normalize_version(&s).ok_or_else(|| {
                        cx.err(&p, format!("invalid Kubernetes version {s:?}"), Some("write e.g. \"1.33\" or \"1.33.0\" (quoted, so YAML keeps it a string)".into()))
                    })?);
                }
            }
            "context" => {
                let s = cx.string(v, &path)?;
                if s.trim().is_empty() {
                    return Err(cx.err(&path, "empty context name", Some("a context of your kubeconfig (`kubectl config get-contexts`)".into())));
                }
                spec.context = Some(s);
            }
            "registry" => {
                let s = cx.string(v, &path)?;
                spec.registry = Some(parse_registry(&s).map_err(|m| cx.err(&path, m, Some("e.g. registry.example.com/team or 127.0.0.1:5000/team (no scheme, no tag)".into())))?);
            }
            "production_markers" => {
                let words = cx.strings(v, &path)?;
                spec.production_markers = Some(words.into_iter().map(|(w, _)| w.to_ascii_lowercase()).collect());
            }
            _ => {}
        }
    }
    Ok(())
}

/// A service's `k8s:` section (`plan` checks `secret_env` keys).
fn parse_service(cx: &Ctx, plan: &Plan, name: &str, v: &Value) -> Result<ServiceK8s, ConfigError> {
    let base = format!("services.{name}.k8s");
    let mut s = ServiceK8s::default();
    for (key, val) in cx.map(v, &base, SERVICE_KEYS)? {
        let path = join(&base, &key);
        match key.as_str() {
            "replicas" => {
                let n = cx.string(val, &path)?;
                s.replicas = Some(n.parse::<u32>().map_err(|_| cx.err(&path, format!("expected a whole number, found {n:?}"), None))?);
            }
            "resources" => s.resources = Some(parse_resources(&cx, val, &path)?),
            "secret_env" => {
                let known = plan.services.get(name).map(|p| p.env.keys().map(String::as_str).collect::<Vec<_>>()).unwrap_or_default();
                for (k, p) in cx.strings(val, &path)? {
                    if !known.contains(&k.as_str()) {
                        return Err(cx.err(&p, format!("`{k}` is not in the environment of `{name}`"), hint_for(&k, &known, "its variables")));
                    }
                    s.secret_env.push(k);
                }
            }
            "expose" => {
                let e = cx.string(val, &path)?;
                s.expose = Some(match e.as_str() {
                    "port-forward" => Expose::PortForward,
                    "nodeport" => Expose::NodePort,
                    "none" => Expose::None,
                    other => return Err(cx.err(&path, format!("unknown value `{other}`"), hint_for(other, &["port-forward", "nodeport", "none"], "values"))),
                });
            }
            "storage" => {
                let q = cx.string(val, &path)?;
                if !is_quantity(&q) {
                    return Err(cx.err(&path, format!("invalid storage size {q:?}"), Some("a Kubernetes quantity, e.g. 1Gi or 500Mi".into())));
                }
                s.storage = Some(q);
            }
            "skip" => match val {
                Value::Bool(b) => s.skip = *b,
                other => return Err(cx.err(&path, format!("expected true or false, found {}", kind_of(other)), None)),
            },
            _ => {}
        }
    }
    Ok(s)
}

fn parse_resources(cx: &Ctx, v: &Value, path: &str) -> Result<Resources, ConfigError> {
    let mut r = Resources::default();
    for (key, val) in cx.map(v, path, RESOURCE_KEYS)? {
        let p = join(path, &key);
        let target = if key == "requests" { &mut r.requests } else { &mut r.limits };
        let Value::Mapping(m) = val else {
            return Err(cx.err(&p, format!("expected a map such as {{cpu: 100m, memory: 128Mi}}, found {}", kind_of(val)), None));
        };
        for (rk, rv) in m {
            let name = scalar_to_string(rk).unwrap_or_default();
            let q = cx.string(rv, &join(&p, &name))?;
            if !is_quantity(&q) {
                return Err(cx.err(&join(&p, &name), format!("invalid quantity {q:?}"), Some("e.g. cpu: 250m, memory: 256Mi".into())));
            }
            target.insert(name, q);
        }
    }
    Ok(r)
}

/// A registry as `k8s.registry` / `--registry` take it: `host[:port][/path]`, lowercase,
/// no scheme and no tag; returned without a trailing `/`.
pub fn parse_registry(s: &str) -> Result<String, String> {
    let t = s.trim().trim_end_matches('/');
    if t.contains("://") {
        return Err(format!("registry {s:?} has a scheme: write the host (and path) only"));
    }
    let (host, path) = t.split_once('/').unwrap_or((t, ""));
    let host_ok = !host.is_empty() && host.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
    let path_ok = path.split('/').all(|c| path.is_empty() || (!c.is_empty() && c.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))));
    if !host_ok || !path_ok || path.contains(':') || path.contains('@') {
        return Err(format!("invalid registry {s:?}: expected host[:port][/path] with a lowercase path and no tag"));
    }
    Ok(t.to_string())
}

/// `1.33` / `v1.33` / `1.33.0` → `1.33.0`.
pub fn normalize_version(s: &str) -> Option<String> {
    let t = s.trim().trim_start_matches('v');
    let parts: Vec<&str> = t.split('.').collect();
    if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    Some(if parts.len() == 2 { format!("{t}.0") } else { t.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(yaml: &str) -> Result<K8sSpec, ConfigError> {
        let dir = tempfile::tempdir().map_err(|e| ConfigError { file: "x".into(), pos: None, yaml_path: String::new(), message: e.to_string(), hint: None })?;
        std::fs::create_dir_all(dir.path().join("k8s")).ok();
        let opts = crate::config::LoadOptions { cwd: dir.path().to_path_buf(), ..Default::default() };
        let env = crate::config::load::load_str(yaml, &dir.path().join("devenv.yaml"), dir.path(), &opts)?;
        let plan = crate::plan::resolve(&env, &crate::plan::ImageMap::default())?;
        parse(&env, &plan)
    }

    #[test]
    fn parses_top_level_and_service_settings() {
        let spec = load(
            "k8s:\n  provider: k3d\n  cluster: dev\n  namespace: shop\n  manifests: k8s\n  kube_version: [\"1.27\", v1.33.1]\nservices:\n  api:\n    image: x\n    env: {STRIPE: s}\n    k8s: {replicas: 2, secret_env: [STRIPE], expose: nodeport, storage: 2Gi, resources: {requests: {cpu: 100m}}}\n",
        )
        .expect("valid");
        assert_eq!(spec.provider, Some(Provider::K3d));
        assert_eq!(spec.cluster.as_deref(), Some("dev"));
        assert_eq!(spec.namespace.as_deref(), Some("shop"));
        assert_eq!(spec.manifests.len(), 1);
        assert_eq!(spec.kube_versions, ["1.27.0", "1.33.1"]);
        let api = spec.service("api");
        assert_eq!(api.replicas, Some(2));
        assert_eq!(api.secret_env, ["STRIPE"]);
        assert_eq!(api.expose, Some(Expose::NodePort));
        assert_eq!(api.resources.map(|r| r.requests.get("cpu").cloned()), Some(Some("100m".into())));
    }

    #[test]
    fn errors_name_the_yaml_path_and_position() {
        let e = load("services:\n  api:\n    image: x\n    k8s:\n      replica: 2\n").expect_err("typo");
        assert_eq!(e.yaml_path, "services.api.k8s.replica");
        assert_eq!(e.pos.map(|p| (p.line, p.col)), Some((5, 7)));
        assert_eq!(e.hint.as_deref(), Some("did you mean `replicas`?"));

        let e = load("k8s:\n  provider: minikube\nservices: {}\n").expect_err("provider");
        assert_eq!(e.yaml_path, "k8s.provider");
        assert!(e.message.contains("unknown provider `minikube`"));

        let e = load("services:\n  api:\n    image: x\n    env: {TOKEN: t}\n    k8s: {secret_env: [TOKNE]}\n").expect_err("key");
        assert_eq!(e.yaml_path, "services.api.k8s.secret_env[0]");
        assert_eq!(e.hint.as_deref(), Some("did you mean `TOKEN`?"));

        let e = load("k8s: {manifests: [nope]}\nservices: {}\n").expect_err("missing path");
        assert_eq!(e.yaml_path, "k8s.manifests[0]");

        let e = load("services:\n  api:\n    image: x\n    k8s: {resources: {requests: {memory: lots}}}\n").expect_err("quantity");
        assert_eq!(e.yaml_path, "services.api.k8s.resources.requests.memory");
    }

    #[test]
    fn context_registry_and_markers() {
        let spec = load("k8s:\n  context: dev-eks\n  registry: 127.0.0.1:5000/team/\n  production_markers: [PRD, live]\nservices: {}\n").expect("valid");
        assert_eq!(spec.context.as_deref(), Some("dev-eks"));
        assert_eq!(spec.registry.as_deref(), Some("127.0.0.1:5000/team"));
        assert_eq!(spec.production_markers, Some(vec!["prd".to_string(), "live".to_string()]));
        let e = load("k8s: {registry: \"https://r.example.com/team\"}\nservices: {}\n").expect_err("scheme");
        assert_eq!(e.yaml_path, "k8s.registry");
        assert!(e.message.contains("has a scheme"), "{}", e.message);
        assert!(parse_registry("r.example.com/Team").is_err());
        assert!(parse_registry("r.example.com/team:1").is_err());
        assert_eq!(parse_registry("registry.example.com"), Ok("registry.example.com".into()));
    }

    #[test]
    fn names_and_versions() {
        assert!(is_dns_label("shop-dev"));
        assert!(!is_dns_label("Shop"));
        assert!(!is_dns_label("my_db"));
        assert_eq!(default_namespace("my_shop"), "my-shop");
        assert_eq!(normalize_version("1.33"), Some("1.33.0".into()));
        assert_eq!(normalize_version("1.x"), None);
        assert!(is_quantity("1.5Gi") && is_quantity("250m") && !is_quantity("1GB"));
    }
}
