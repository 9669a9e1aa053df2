//! The normalized compose project: field names and value shapes exactly as
//! `docker compose config --format json` (Compose 2.26.1) prints them, for the
//! subset devenv supports (see the module docs of `compose`).
//!
//! Maps compose keeps as Go maps are `BTreeMap`s (printed sorted, like compose);
//! durations print as Go durations (`"1m30s"`), byte sizes as strings of bytes
//! (`"67108864"`), `command`/`entrypoint` always (`null` when unset).

use std::collections::BTreeMap;
use std::path::PathBuf;

use indexmap::IndexMap;
use serde::{Serialize, Serializer};

use super::source::ComposeLocations;
use super::values::format_go_duration;

/// A loaded compose project.
#[derive(Debug, Clone, Serialize)]
pub struct ComposeProject {
    pub name: String,
    /// Enabled services (profiles applied), sorted by name like compose prints them.
    pub services: IndexMap<String, ComposeService>,
    /// Networks some enabled service uses (compose's `config` drops the others).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub networks: BTreeMap<String, ComposeNetwork>,
    /// Named volumes some enabled service mounts.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub volumes: BTreeMap<String, ComposeVolume>,
    /// Secrets some enabled service uses.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub secrets: BTreeMap<String, FileObject>,
    /// Configs some enabled service uses.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub configs: BTreeMap<String, FileObject>,
    /// Top-level `x-*` fields, interpolated (compose prints them as written).
    #[serde(flatten)]
    pub extensions: BTreeMap<String, serde_yaml::Value>,
    /// Things worth showing: ignored keys (one line per service), unset variables,
    /// obsolete `version`, commands cut at a shell operator…
    #[serde(skip)]
    pub warnings: Vec<String>,
    /// The files given (`-f`, or discovered), absolute, in merge order.
    #[serde(skip)]
    pub files: Vec<PathBuf>,
    /// The project directory: relative paths resolve against it (the first file's directory).
    #[serde(skip)]
    pub dir: PathBuf,
    /// YAML path of the merged project → the file:line:column that defined it
    /// (also for files pulled in by `include` and `extends`).
    #[serde(skip)]
    pub locations: ComposeLocations,
    /// The variables interpolation used: the process environment, then `.env`,
    /// plus `COMPOSE_PROJECT_NAME`.
    #[serde(skip)]
    pub environment: IndexMap<String, String>,
    /// Services left out because none of their profiles is active.
    #[serde(skip)]
    pub disabled_services: Vec<String>,
}

/// One service.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ComposeService {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub profiles: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build: Option<ComposeBuild>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub develop: Option<Develop>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cap_add: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cap_drop: Vec<String>,
    /// Shell-split like compose when written as a string; `null` when unset.
    pub command: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_name: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub depends_on: BTreeMap<String, Dependency>,
    pub entrypoint: Option<Vec<String>>,
    /// `env_file`s merged in (the service's own `environment` wins); `None` = a key
    /// without a value that is not set in the environment either.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub environment: BTreeMap<String, Option<String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub expose: Vec<String>,
    /// `host=ip`, sorted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra_hosts: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<Healthcheck>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// `os/arch[/variant]` the image and container are for (`linux/arm64`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init: Option<bool>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Network name → its settings (`None`: attached without settings).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub networks: BTreeMap<String, Option<ServiceNetwork>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<Port>,
    #[serde(skip_serializing_if = "is_false")]
    pub privileged: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shm_size: Option<ByteSize>,
    #[serde(skip_serializing_if = "is_false")]
    pub stdin_open: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_grace_period: Option<GoDuration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tmpfs: Vec<String>,
    #[serde(skip_serializing_if = "is_false")]
    pub tty: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub ulimits: BTreeMap<String, Ulimit>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<ServiceVolume>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    /// IPC namespace: `host`, `shareable`, `private`, `none`, `service:NAME`, `container:NAME`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipc: Option<String>,
    /// PID namespace: `host`, `service:NAME`, `container:NAME`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<String>,
    /// Network mode: `host`, `none`, `bridge`, `service:NAME`, `container:NAME`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_mode: Option<String>,
    /// `cpus`: CPUs the container may use (a fraction of one is allowed).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "go_float")]
    pub cpus: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mem_limit: Option<ByteSize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mem_reservation: Option<ByteSize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pids_limit: Option<i64>,
    /// `deploy`: the parts devenv applies (`resources`, `restart_policy`, `replicas`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deploy: Option<Deploy>,
    /// `scale`: how many containers (compose keeps it beside `deploy.replicas`;
    /// the loader refuses the two with different values).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale: Option<i64>,
    /// `service[:ro|:rw]` or `container:NAME[:ro|:rw]`: every volume of that container.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes_from: Vec<String>,
    /// Secrets mounted in the container (`target` defaults to `/run/secrets/<source>`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<FileRef>,
    /// Configs mounted in the container (`target` defaults to `/<source>` at run time).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub configs: Vec<FileRef>,
    /// The env files read into `environment`, in order (compose's `config` does not print them).
    #[serde(skip)]
    pub env_files: Vec<EnvFileRef>,
    /// Keys of this service devenv ignores (`logging`, `build.ssh`, `deploy.resources`…).
    #[serde(skip)]
    pub ignored_keys: Vec<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero_u32(n: &u32) -> bool {
    *n == 0
}

/// An `env_file` entry, path absolute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvFileRef {
    pub path: PathBuf,
    pub required: bool,
}

/// `build:` (a string is `{context: …}`).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ComposeBuild {
    /// Absolute path (or a URL / `service:` reference, kept as written).
    pub context: String,
    /// Relative to the context (default `Dockerfile`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dockerfile: Option<String>,
    /// The Dockerfile itself, written in the compose file (instead of `dockerfile`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dockerfile_inline: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub args: BTreeMap<String, Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Named contexts: an absolute path, or a `service:NAME`, `docker-image://REF` or URL kept as written.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub additional_contexts: BTreeMap<String, String>,
    /// Build secrets (`RUN --mount=type=secret`), defined under the top-level `secrets`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<FileRef>,
    /// SSH agent sockets or keys for `RUN --mount=type=ssh` (`default`, `id=path`).
    /// Not in the oracle's comparison: compose 2.26 cannot print them as JSON.
    #[serde(skip)]
    pub ssh: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub platforms: Vec<String>,
}

/// `depends_on.<service>`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Dependency {
    /// `service_started`, `service_healthy` or `service_completed_successfully`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub condition: String,
    /// Restart this service when the dependency restarts.
    #[serde(skip_serializing_if = "is_false")]
    pub restart: bool,
    /// `false`: a missing or disabled dependency is not an error.
    pub required: bool,
}

/// `healthcheck:`.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Healthcheck {
    /// `["CMD", …]`, `["CMD-SHELL", "…"]` (a string becomes this) or `["NONE"]`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub test: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<GoDuration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<GoDuration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retries: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_period: Option<GoDuration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_interval: Option<GoDuration>,
    #[serde(skip_serializing_if = "is_false")]
    pub disable: bool,
}

/// A published port, long syntax (short entries are expanded one per port).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Port {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_ip: Option<String>,
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub target: u32,
    /// A port or a range (`"8000-8010"`); `None` = a random host port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_protocol: Option<String>,
}

/// A mount, long syntax.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ServiceVolume {
    /// `volume`, `bind` or `tmpfs` (others are refused by the loader).
    #[serde(rename = "type")]
    pub kind: String,
    /// Volume name (key of the top-level `volumes`) or absolute host path; `None`
    /// for anonymous volumes and tmpfs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    pub target: String,
    #[serde(skip_serializing_if = "is_false")]
    pub read_only: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consistency: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<VolumeBind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume: Option<VolumeOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tmpfs: Option<VolumeTmpfs>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct VolumeBind {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selinux: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub propagation: Option<String>,
    /// Create a missing host path (the short syntax always does).
    #[serde(skip_serializing_if = "is_false")]
    pub create_host_path: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recursive: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct VolumeOptions {
    #[serde(skip_serializing_if = "is_false")]
    pub nocopy: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subpath: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct VolumeTmpfs {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<ByteSize>,
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub mode: u32,
}

/// `networks.<name>` of a service.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ServiceNetwork {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
}

/// `ulimits.<name>`: one number (soft = hard) or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ulimit {
    Single(i64),
    SoftHard { soft: i64, hard: i64 },
}

impl Serialize for Ulimit {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match *self {
            Ulimit::Single(n) if n != 0 => s.serialize_i64(n),
            Ulimit::Single(_) => s.serialize_map(Some(0))?.end(),
            Ulimit::SoftHard { soft, hard } => {
                let mut m = s.serialize_map(None)?;
                if soft != 0 {
                    m.serialize_entry("soft", &soft)?;
                }
                if hard != 0 {
                    m.serialize_entry("hard", &hard)?;
                }
                m.end()
            }
        }
    }
}

/// `develop:` (compose watch).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Develop {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub watch: Vec<Watch>,
}

/// `develop.watch[]`.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Watch {
    /// Absolute host path.
    pub path: String,
    /// `sync`, `rebuild`, `restart`, `sync+restart` or `sync+exec`.
    pub action: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Printed by compose even when unset (`{"command": null}`).
    pub exec: WatchExec,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignore: Vec<String>,
}

/// `develop.watch[].exec` (for `sync+exec`).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct WatchExec {
    pub command: Option<Vec<String>>,
}

/// A top-level network some service uses.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ComposeNetwork {
    /// The engine-side name (`<project>_<key>` unless set or external).
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub driver_opts: BTreeMap<String, String>,
    /// Always printed by compose (`{}` when empty).
    pub ipam: Ipam,
    #[serde(skip_serializing_if = "is_false")]
    pub external: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub internal: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub attachable: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_ipv4: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_ipv6: Option<bool>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Ipam {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub config: Vec<serde_yaml::Value>,
}

/// A top-level secret or config (compose-go `FileObjectConfig`): its value
/// comes from a file, a variable of the project's environment, or (configs)
/// is written inline.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct FileObject {
    /// `<project>_<key>` unless set (the key when external).
    pub name: String,
    /// Absolute.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(skip_serializing_if = "is_false")]
    pub external: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// `driver` / `template_driver` were written (swarm only; compose refuses them at `up`).
    #[serde(skip)]
    pub driver: Option<String>,
}

/// A service's use of a secret or config (compose-go `FileReferenceConfig`).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct FileRef {
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
}

/// A top-level named volume some service mounts.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ComposeVolume {
    /// The engine-side name (`<project>_<key>` unless set or external).
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub driver_opts: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "is_false")]
    pub external: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// A Go `time.Duration` in nanoseconds; prints like Go (`"1m30s"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct GoDuration(pub i64);

impl GoDuration {
    /// As a std duration (negative values are zero).
    pub fn to_std(self) -> std::time::Duration {
        std::time::Duration::from_nanos(u64::try_from(self.0).unwrap_or(0))
    }
}

impl Serialize for GoDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_go_duration(self.0))
    }
}

/// A size in bytes; prints as a string of bytes, like compose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub i64);

impl Serialize for ByteSize {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_like_compose() {
        let svc = ComposeService {
            image: Some("x".into()),
            networks: [("default".to_string(), None)].into_iter().collect(),
            ulimits: [("nproc".to_string(), Ulimit::Single(65535)), ("nofile".to_string(), Ulimit::SoftHard { soft: 1, hard: 2 })]
                .into_iter()
                .collect(),
            stop_grace_period: Some(GoDuration(90_000_000_000)),
            shm_size: Some(ByteSize(67_108_864)),
            ..Default::default()
        };
        let v = serde_json::to_value(&svc).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "command": null, "entrypoint": null, "image": "x", "networks": {"default": null},
                "ulimits": {"nproc": 65535, "nofile": {"soft": 1, "hard": 2}},
                "stop_grace_period": "1m30s", "shm_size": "67108864"
            })
        );
        let w = Watch { path: "/p".into(), action: "sync".into(), target: Some("/app".into()), ..Default::default() };
        assert_eq!(
            serde_json::to_value(&w).unwrap(),
            serde_json::json!({"path": "/p", "action": "sync", "target": "/app", "exec": {"command": null}})
        );
        let n = ComposeNetwork { name: "p_default".into(), ..Default::default() };
        assert_eq!(serde_json::to_value(&n).unwrap(), serde_json::json!({"name": "p_default", "ipam": {}}));
    }
}

/// A float as Go's JSON encoder writes it: `2`, not `2.0`.
fn go_float<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => s.serialize_i64(*f as i64),
        Some(f) => s.serialize_f64(*f),
        None => s.serialize_none(),
    }
}

/// The `deploy` keys devenv applies at run time; the others are reported as ignored.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Deploy {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<DeployResources>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<DeployRestartPolicy>,
    /// How many containers run the service.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i64>,
}

/// `deploy.resources`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DeployResources {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limits: Option<ResourceAmounts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reservations: Option<ResourceAmounts>,
}

/// `limits` / `reservations` (`pids` is a limit only).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ResourceAmounts {
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "go_float")]
    pub cpus: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<ByteSize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pids: Option<i64>,
}

/// `deploy.restart_policy`: compose applies `condition` and `max_attempts`;
/// `delay` and `window` are Swarm's (read, not applied).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DeployRestartPolicy {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay: Option<GoDuration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<GoDuration>,
}
