//! preset: the backing services devenv knows, one file each.
//!
//! Owns: the [`Preset`] interface and its registry (`for_each_preset!`); each
//! `<name>.rs` owns everything about its service — image repositories it
//! recognises, default image, env contract, ports, data volume, ulimits,
//! connection URL, readiness probe and its description, seeders per seed kind
//! and reset, Kubernetes probes, resources, in-cluster settings and seed-job
//! commands, `doctor` advice, `init` text and dependency keywords.
//! Everything else dispatches through `Kind::preset()` and names no preset
//! (`tests/presets_named.rs` checks). Adding a preset: one new file with a
//! unit struct implementing `Preset`, one line in `for_each_preset!`.
//!
//! Defaults are pure data; `plan::resolve` merges them with what the user
//! wrote (the user always wins). Image-dependent facts come from what the
//! image declares when the caller found it locally (`Context::image_config`),
//! else from its tag. What other layers render (Kubernetes probes
//! and resources, `init` text) is plain data defined here.
//! Must not: import config (but the value types `PortSpec`/`VolumeSpec`),
//! plan (but `SeedKind`, until it moves to `seed`), engine, k8s, init or cli.

use std::collections::BTreeMap;
use std::path::Path;

use futures_util::future::BoxFuture;
use indexmap::IndexMap;
use serde::Serialize;

use crate::values::{ImageConfig, PortSpec, VolumeSpec};
use crate::seed::entry::SeedKind;
use crate::seed::{Applied, Progress, SeedError, Target};

/// The registry: every preset as `module Variant` (the file `src/preset/<module>.rs`
/// defines `pub struct Variant` implementing [`Preset`]). Calls `$then!` with
/// the list: `Kind`, `ALL` and `NAMES` below and the testcontainers
/// constructors (`Preset::postgres()` …) are generated from it.
macro_rules! for_each_preset {
    ($then:ident) => {
        $then! {
            postgres Postgres,
            redis Redis,
            kafka Kafka,
            clickhouse Clickhouse,
            elasticsearch Elasticsearch,
        }
    };
}
#[cfg_attr(not(feature = "testcontainers"), allow(unused_imports))]
pub(crate) use for_each_preset;

macro_rules! registry {
    ($($module:ident $Variant:ident),* $(,)?) => {
        $(mod $module;)*

        /// A preset, as written in `preset:` (its module's name).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Kind {
            $($Variant),*
        }

        /// Every preset, in registry order.
        pub const ALL: &[Kind] = &[$(Kind::$Variant),*];

        /// The presets, as written in `preset:`.
        pub const NAMES: &[&str] = &[$(stringify!($module)),*];

        impl Kind {
            /// Its implementation.
            pub fn preset(self) -> &'static dyn Preset {
                match self {
                    $(Kind::$Variant => &$module::$Variant),*
                }
            }

            pub fn name(&self) -> &'static str {
                match self {
                    $(Kind::$Variant => stringify!($module)),*
                }
            }
        }
    };
}
for_each_preset!(registry);

impl Kind {
    pub fn parse(s: &str) -> Option<Kind> {
        ALL.iter().copied().find(|k| k.name() == s)
    }

    /// The preset a word people use names: its name or an alias (`pg`, `es`).
    pub fn parse_alias(word: &str) -> Option<Kind> {
        Kind::parse(word).or_else(|| ALL.iter().copied().find(|k| k.preset().aliases().contains(&word)))
    }

    /// Guess the preset from an image reference (`postgres:16`, `bitnami/redis`, …).
    pub fn from_image(image: &str) -> Option<Kind> {
        let repo = crate::values::split_reference(image).0;
        let last = repo.rsplit('/').next().unwrap_or(&repo);
        ALL.iter().copied().find(|k| k.preset().image_repos().contains(&last))
    }

    /// Host ports its defaults publish.
    pub fn published_ports(self) -> Vec<u16> {
        let ctx = Context { project: "", service: "", version: None, persist: None, image: None, image_config: None };
        self.preset().defaults(&ctx).ports.iter().filter_map(|p| p.host_port).collect()
    }
}

impl Serialize for Kind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// One backing service: everything devenv knows about it. Implemented by a
/// unit struct per file; reached through `Kind::preset()`.
pub trait Preset: Send + Sync {
    /// Other words for it (`init`'s question: `pg`, `es`).
    fn aliases(&self) -> &'static [&'static str] {
        &[]
    }
    /// Last path segments of image repositories that run this service.
    fn image_repos(&self) -> &'static [&'static str];
    /// The image `version:` names (`latest` in the preset's own form);
    /// Err: that tag does not exist upstream, and which forms do.
    fn image_for(&self, version: &str) -> Result<String, String>;
    /// The tag forms its repository publishes, for a failed pull (`16-alpine`, `16`, `alpine`).
    fn tag_forms(&self) -> &'static str;
    /// Its defaults for one service.
    fn defaults(&self, ctx: &Context) -> Defaults;
    /// Connection info from the service's final environment and command
    /// (what the image reads: Redis' password is `--requirepass`, not an env).
    fn connection(&self, env: &IndexMap<String, String>, command: &[String]) -> Connection;
    /// The URL for `host:port`; `auth` is `user:password@` (encoded) or empty, `database` encoded.
    fn url(&self, auth: &str, host: &str, port: u16, database: &str) -> String;
    /// One readiness check of the service behind `addr` (`host:port`).
    fn probe<'a>(&'a self, conn: &'a Connection, addr: &'a str, http: &'a reqwest::Client) -> BoxFuture<'a, Result<(), ProbeError>>;
    /// The probe in a few words, for the UI (`postgres SELECT 1`).
    fn probe_description(&self) -> &'static str;

    /// Files that tell what wrote a data volume, relative to where it is
    /// mounted (`data_dir`); read before the container first starts.
    fn data_markers(&self) -> Vec<String> {
        Vec::new()
    }
    /// Whether `image` (what it declares, when present) can run on the data
    /// `found` (marker → content) in `volume`; Err: (what happened, the ways out).
    fn check_data(&self, _image: &str, _config: Option<&ImageConfig>, _volume: &str, _found: &[(String, String)]) -> Result<(), (String, String)> {
        Ok(())
    }

    /// The seed kinds it takes, as written in `seed:` (`exec` included).
    fn seed_kinds(&self) -> &'static [&'static str];
    /// Apply one seed entry; None when it takes no such entry (`exec` is the engine's).
    fn seed<'a>(&'a self, t: &'a Target<'a>, kind: &'a SeedKind, progress: Progress<'a>) -> Option<BoxFuture<'a, Result<Applied, SeedError>>>;
    /// `devenv seed --reset`: empty what the seeds created.
    fn reset<'a>(&'a self, t: &'a Target<'a>, seeds: Vec<&'a SeedKind>) -> BoxFuture<'a, Result<(), SeedError>>;
    /// Snapshots kept inside the running server over its protocol (no exec,
    /// no restart); None when it has no such path (snapshots copy volumes).
    fn in_server<'a>(&'a self, _t: &'a Target<'a>, _op: crate::seed::InServer<'a>) -> Option<BoxFuture<'a, Result<bool, SeedError>>> {
        None
    }

    /// Kubernetes (readiness, liveness) probes the official image supports.
    fn k8s_probes(&self, c: &Connection) -> (K8sProbe, K8sProbe);
    /// Kubernetes requests enough for the official image on a laptop-sized cluster.
    fn k8s_requests(&self) -> Resources;
    /// Adjust the environment for a cluster (in-cluster addresses, data paths).
    fn k8s_env(&self, _cx: &ClusterEnv, _env: &mut BTreeMap<String, String>) {}
    /// The pod's `fsGroup` when it has volume claims (images running as a non-root uid).
    fn k8s_fs_group(&self) -> Option<i64> {
        None
    }
    /// The seed Job's client command prefix, readiness check and extra env, reaching the service at `host`.
    fn k8s_seed_client(&self, c: &Connection, host: &str) -> SeedClient;
    /// The seed Job's steps for one entry (not `exec`); `client` is `k8s_seed_client`'s command.
    fn k8s_seed(&self, script: &mut dyn SeedScript, kind: &SeedKind, id: &str, client: &str) -> Result<(), String>;

    /// Memory a comfortable development instance wants (`doctor`).
    fn memory(&self) -> u64;
    /// About how long the official image takes from its start to ready on a
    /// new volume, on a laptop (ms): the slowest such service's container is
    /// started before the others (`engine::schedule::lead`), so its
    /// initialisation does not wait behind their start calls.
    fn first_start_ms(&self) -> u64;
    /// The host's `vm.max_map_count` it needs, if any (`doctor`), and its display name.
    fn max_map_count(&self) -> Option<(u64, &'static str)> {
        None
    }
    /// What `init` writes for it.
    fn init_text(&self) -> InitText;
    /// Dependency names that suggest it, per ecosystem (`init`).
    fn dependencies(&self, eco: Ecosystem) -> &'static [&'static str];
    /// A suggestion from a manifest's text beyond plain dependency names (`sqlx` with `postgres`).
    fn dependency_hint(&self, _eco: Ecosystem, _text: &str) -> Option<&'static str> {
        None
    }
}

/// A Kubernetes probe handler, rendered by `k8s::probes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum K8sProbe {
    Http { path: String, port: u16 },
    Tcp { port: u16 },
    Exec { command: Vec<String> },
}

impl K8sProbe {
    /// `sh -c SCRIPT`.
    pub fn shell(script: String) -> K8sProbe {
        K8sProbe::Exec { command: vec!["sh".into(), "-c".into(), script] }
    }
}

/// Kubernetes resource requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resources {
    pub cpu: &'static str,
    pub memory: &'static str,
}

/// What `k8s_env` knows about the service in the cluster.
#[derive(Debug, Clone)]
pub struct ClusterEnv<'a> {
    pub service: &'a str,
    /// `<svc>.<ns>.svc.cluster.local`
    pub fqdn: &'a str,
    /// Where the first named volume is mounted.
    pub data_mount: Option<&'a str>,
}

/// A seed Job's client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeedClient {
    /// Command prefix every step uses (`psql -v ON_ERROR_STOP=1`).
    pub command: String,
    /// A shell condition true once the service answers.
    pub check: String,
    /// Client settings besides the service's own environment (name, value).
    pub env: Vec<(String, String)>,
}

/// The seed script being written (`k8s::seeds` implements it).
pub trait SeedScript {
    /// Store a file in the seed ConfigMap; returns its path in the seed container.
    fn add_file(&mut self, name: &str, content: String) -> String;
    /// A step, announced as `seed: <what>`.
    fn run(&mut self, what: &str, command: String);
    /// Something that cannot be rendered (reported as a warning).
    fn warn(&mut self, message: String);
}

/// What `init` writes for a preset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InitText {
    /// The service name it gets (`db`).
    pub service: &'static str,
    /// The app's variable for its URL (`DATABASE_URL`).
    pub variable: &'static str,
    /// One line about it.
    pub about: &'static str,
}

/// Package ecosystems `init` reads dependencies of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ecosystem {
    Node,
    Python,
    Rust,
    Go,
}

/// What a preset needs to know about the service it configures.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    pub project: &'a str,
    pub service: &'a str,
    /// `version:` (an image tag), if written.
    pub version: Option<&'a str>,
    /// `persist:` if written (default: the preset's).
    pub persist: Option<bool>,
    /// `image:` if written (else the preset's default image runs).
    pub image: Option<&'a str>,
    /// What the image that will run declares, when it is present locally:
    /// image-dependent facts come from it first, from the tag otherwise.
    pub image_config: Option<&'a ImageConfig>,
}

/// A preset's defaults for one service.
#[derive(Debug, Clone)]
pub struct Defaults {
    pub image: String,
    pub env: IndexMap<String, String>,
    pub command: Option<Vec<String>>,
    /// Published by default (host port = container port, on 127.0.0.1).
    pub ports: Vec<PortSpec>,
    /// The data volume (when persistence is on).
    pub volumes: Vec<VolumeSpec>,
    /// (name, soft, hard)
    pub ulimits: Vec<(String, i64, i64)>,
    /// Where the service keeps its data (the seed ledger lives there too).
    pub data_dir: String,
    /// A user mount at or below this directory holds the data the user's way:
    /// the preset then adds no data volume (Postgres: `/var/lib/postgresql`,
    /// whatever the layout). A user mount at or above the data volume's
    /// target always replaces it.
    pub data_root: Option<String>,
}

/// Credentials and addresses a probe and a URL need, read from the final env
/// so user overrides (e.g. `POSTGRES_PASSWORD`) are honoured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Connection {
    pub kind: Kind,
    /// The container port clients use (the host listener's for Kafka).
    pub port: u16,
    /// Kafka: the in-network listener port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub internal_port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing)]
    pub password: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
}

impl Connection {
    /// The connection URL for `host:port`.
    pub fn url(&self, host: &str, port: u16) -> String {
        let auth = match (&self.user, &self.password) {
            (Some(u), Some(p)) if !p.is_empty() => format!("{}:{}@", enc(u), enc(p)),
            (Some(u), _) if !u.is_empty() => format!("{}@", enc(u)),
            (None, Some(p)) if !p.is_empty() => format!(":{}@", enc(p)),
            _ => String::new(),
        };
        let db = enc(self.database.as_deref().unwrap_or(""));
        self.kind.preset().url(&auth, host, port, &db)
    }

    /// How the seed loaders reach the service at `addr` (`host:port`).
    pub fn target<'a>(&self, addr: String, http: &'a reqwest::Client) -> Target<'a> {
        Target { addr, user: self.user.clone(), password: self.password.clone(), database: self.database.clone(), http }
    }

    /// The port other containers use (Kafka's internal listener; else `port`).
    pub fn network_port(&self) -> u16 {
        self.internal_port.unwrap_or(self.port)
    }
}

/// Percent-encode what would break a URL's userinfo or path.
fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `x.y.z`: the only version form some repositories publish.
fn is_full_version(v: &str) -> bool {
    let parts: Vec<&str> = v.split('.').collect();
    parts.len() == 3 && parts.iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
}

/// The defaults of `kind` for a service.
pub fn defaults(kind: Kind, ctx: &Context) -> Defaults {
    kind.preset().defaults(ctx)
}

/// Connection info from the service's final environment and command.
pub fn connection(kind: Kind, env: &IndexMap<String, String>, command: &[String]) -> Connection {
    kind.preset().connection(env, command)
}

/// The seed kinds a service with `preset` takes, as written in `seed:` (`exec` only without one).
pub fn seed_kinds_for(preset: Option<&str>) -> &'static [&'static str] {
    match preset.and_then(Kind::parse) {
        Some(k) => k.preset().seed_kinds(),
        None => &["exec"],
    }
}

/// Why a probe failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeError {
    pub message: String,
    /// Retrying cannot help (e.g. authentication failed): stop waiting.
    pub fatal: bool,
}

impl ProbeError {
    pub fn retry(message: impl Into<String>) -> Self {
        ProbeError { message: message.into(), fatal: false }
    }
    pub fn fatal(message: impl Into<String>) -> Self {
        ProbeError { message: message.into(), fatal: true }
    }
}

/// One readiness check of the service behind `addr` (`host:port`).
pub async fn probe(conn: &Connection, addr: &str, http: &reqwest::Client) -> Result<(), ProbeError> {
    conn.kind.preset().probe(conn, addr, http).await
}

/// Placeholder in env values for a host port devenv picks before creating the
/// container (Kafka's advertised host listener). Stable in the config hash.
pub fn host_port_placeholder(container_port: u16) -> String {
    format!("{{{{devenv.host_port.{container_port}}}}}")
}

/// Replace host-port placeholders with the chosen ports.
pub fn fill_host_ports(value: &str, ports: &[(u16, u16)]) -> String {
    let mut v = value.to_string();
    for (container, host) in ports {
        v = v.replace(&host_port_placeholder(*container), &host.to_string());
    }
    v
}

fn tcp_port(container_port: u16) -> PortSpec {
    PortSpec { host_ip: None, host_port: Some(container_port), host_port_end: None, container_port, protocol: "tcp".into() }
}

fn named_volume(ctx: &Context, target: &str) -> VolumeSpec {
    VolumeSpec::Named { name: format!("{}-data", ctx.service), target: target.to_string(), read_only: false }
}

fn env_of(pairs: &[(&str, String)]) -> IndexMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

/// Shell-quote for a seed script.
fn q(s: &str) -> String {
    shell_words::quote(s).into_owned()
}

/// A seed file's text, for a seed Job.
fn read(p: &Path) -> Result<String, String> {
    std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))
}

/// A seed file's name, for its ConfigMap key.
fn file_name(p: &Path) -> String {
    p.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_else(|| "file".into())
}

/// A seed entry a preset does not take, in a seed Job.
fn unsupported(kind: &SeedKind, preset: &str) -> String {
    format!("a `{}` seed is not supported by the {preset} preset", kind.name())
}

const MIB: u64 = 1024 * 1024;
const GIB: u64 = 1024 * MIB;

#[cfg(test)]
mod tests;
