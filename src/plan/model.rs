//! The plan's types: the whole desired state of a project (`Plan`), each
//! service as it will be created (`ResolvedService`), its networks, health
//! and seeds. Built by `resolve`, hashed by `hash`, executed by the engine.
//!
//! Must not: compute anything beyond small accessors.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use indexmap::IndexMap;
use serde::Serialize;

use super::graph::Graph;
use crate::config::{Condition, WatchAction};
use crate::preset::{Connection, Kind};
pub use crate::seed::entry::{ResolvedSeed, SeedKind};
use crate::values::runtime::{Resources, RestartPolicy};
use crate::values::{PortSpec, VolumeSpec};

/// Default deadline for a service to become ready.
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(120);
/// Default probe interval (devenv polls fast; backoff grows it up to 1 s).
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(100);
/// The container HEALTHCHECK devenv writes for an `exec`/`shell` probe runs at
/// most this often (Docker runs it for the container's whole life).
pub const DOCKER_HEALTHCHECK_MIN_INTERVAL: Duration = Duration::from_secs(1);
/// ... and gives one check at most this long (Docker's own default).
pub const DOCKER_HEALTHCHECK_MAX_TIMEOUT: Duration = Duration::from_secs(30);
/// The file's name for the project's default network.
pub const DEFAULT_NETWORK: &str = "default";

/// The whole desired state of a project.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub project: String,
    pub file: PathBuf,
    pub dir: PathBuf,
    /// The Docker name of the default network (services without `networks` join it).
    pub network: String,
    /// Every network of the project by its name in the file, `default` included.
    pub networks: IndexMap<String, ResolvedNetwork>,
    pub services: IndexMap<String, ResolvedService>,
    /// Project-scoped named volumes: (name in the file, Docker name).
    pub volumes: Vec<(String, String)>,
    /// What the top-level `volumes:` sets beyond the name, by name in the file
    /// (a volume not listed is created with the engine's defaults).
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub volume_options: IndexMap<String, ResolvedVolume>,
    #[serde(skip)]
    pub graph: Graph,
}

/// One network of the project: created with the project's labels and removed
/// by `down`, unless `external` (it must exist; never created or removed).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResolvedNetwork {
    /// The Docker network's name.
    pub name: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub external: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub internal: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// How one named volume is created: `external` ones must exist and are never
/// created or removed; the others get `driver`, `driver_opts` and `labels`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ResolvedVolume {
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub external: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub driver_opts: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// A network a service joins, with its DNS aliases there.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetworkAttachment {
    /// The network's name in the file (`default` for the project's default network).
    pub name: String,
    /// Its Docker name.
    pub docker_name: String,
    /// DNS names besides the service name (which every network gets).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
}

/// The HEALTHCHECK set on the container, so `docker ps`/`inspect` show health
/// like compose does (devenv decides readiness with its own fast polling).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DockerHealthcheck {
    /// `["CMD", …]`, `["CMD-SHELL", "…"]`, or `["NONE"]` (the image's HEALTHCHECK disabled).
    pub test: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "ser_opt_dur")]
    pub interval: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "ser_opt_dur")]
    pub timeout: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "ser_opt_dur")]
    pub start_period: Option<Duration>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ResolvedBuild {
    pub context: PathBuf,
    pub dockerfile: String,
    /// The Dockerfile's text, written in the file: built as `dockerfile` (a name
    /// no file of the context has), added to the context sent to the engine.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dockerfile_inline: Option<String>,
    pub args: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// `build.platforms` as written (the one the container runs is built: the
    /// service's `platform`, else the engine's).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub platforms: Vec<String>,
    /// Build secret ids, SSH ids and named contexts (path contexts absolute):
    /// BuildKit's, checked against the Dockerfile before building.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ssh: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub additional_contexts: BTreeMap<String, String>,
}

/// How devenv decides a service is ready.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Probe {
    Http { path: String, port: u16 },
    Tcp { port: u16 },
    /// `native`: what the command checks, when devenv can ask it from
    /// outside (`plan::healthcheck`); the command stays the fallback.
    Exec {
        command: Vec<String>,
        #[serde(skip)]
        native: Option<super::healthcheck::Native>,
    },
    Log { pattern: String },
    /// The image's own Docker HEALTHCHECK (used when no `health` is written).
    DockerHealthcheck,
    /// A preset's protocol probe (Postgres `SELECT 1`, Redis `PING`, Kafka metadata, …).
    Preset(Connection),
}

#[derive(Debug, Clone, Serialize)]
pub struct ResolvedHealth {
    pub probe: Probe,
    #[serde(serialize_with = "ser_dur")]
    pub interval: Duration,
    #[serde(serialize_with = "ser_dur")]
    pub timeout: Duration,
    pub retries: Option<u32>,
    /// Failures this soon after the start are not reported as the last error.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "ser_opt_dur")]
    pub start_period: Option<Duration>,
}

fn ser_dur<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::values::format_duration(*d))
}

fn ser_opt_dur<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => ser_dur(d, s),
        None => s.serialize_none(),
    }
}

/// One `watch:` rule, resolved: the host path absolute, the command split.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResolvedWatch {
    pub path: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    pub action: WatchAction,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignore: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exec: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ResolvedService {
    pub name: String,
    pub container_name: String,
    pub image: String,
    /// `os/arch[/variant]` to pull, build and run for; `None`: the engine's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// The variables `image` was interpolated from in the file (`${REDIS_IMAGE:-…}`), for hints.
    #[serde(skip)]
    pub image_vars: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build: Option<ResolvedBuild>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preset: Option<Kind>,
    /// Connection info (presets).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection: Option<Connection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    pub env: IndexMap<String, String>,
    pub ports: Vec<PortSpec>,
    pub volumes: Vec<VolumeSpec>,
    /// IPC / PID mode as Docker takes it (`host`, `shareable`, `container:NAME`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipc_mode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid_mode: Option<String>,
    /// `network_mode` as Docker takes it (`host`, `none`, `bridge`,
    /// `container:NAME`); the service then joins none of the project's networks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_mode: Option<String>,
    /// `volumes_from`, as Docker takes it: `<container>[:ro|:rw]`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes_from: Vec<String>,
    /// Files written into the container before it starts (compose secrets and
    /// configs from a variable or inline); a secret's content prints as `***`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<crate::config::InjectedFile>,
    /// (name, soft, hard)
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ulimits: Vec<(String, i64, i64)>,
    pub depends_on: IndexMap<String, Condition>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<ResolvedHealth>,
    pub once: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub seeds: Vec<ResolvedSeed>,
    /// Presets: where the service keeps its data (and devenv its seed ledger).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<String>,
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Hot-reload rules (not part of the config hash: editing them never recreates).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub watch: Vec<ResolvedWatch>,
    /// The container's hostname (default: the service name; empty, the
    /// engine's, with `network_mode` `host`, `service:` or `container:`).
    pub hostname: String,
    /// Docker's restart policy (never on `run: once` jobs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart: Option<RestartPolicy>,
    /// Exposed, unpublished container ports (`3000/tcp`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub expose: Vec<String>,
    /// The networks the service joins; the first is given at create time.
    pub networks: Vec<NetworkAttachment>,
    /// `/etc/hosts` entries, `host:ip`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra_hosts: Vec<String>,
    /// Grace period between the stop signal and the kill (down, stop, recreate).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "ser_opt_dur")]
    pub stop_grace_period: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tty: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stdin_open: Option<bool>,
    /// tmpfs mounts: path → mount options.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tmpfs: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub privileged: Option<bool>,
    /// Capabilities (upper case, without `CAP_`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cap_add: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cap_drop: Vec<String>,
    /// /dev/shm size in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shm_size: Option<i64>,
    /// CPU, memory and process limits.
    #[serde(skip_serializing_if = "Resources::is_empty")]
    pub resources: Resources,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub docker_healthcheck: Option<DockerHealthcheck>,
    /// How many containers run the service (`plan::replicas`); `None`: one,
    /// named as before replicas existed. Not in the config hash: scaling
    /// never recreates the replicas that stay.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u32>,
    pub config_hash: String,
}

impl ResolvedService {
    /// The host port published for `container_port` (TCP), if any was fixed in the file.
    pub fn host_port(&self, container_port: u16) -> Option<u16> {
        self.ports.iter().find(|p| p.container_port == container_port && p.protocol == "tcp").and_then(|p| p.host_port)
    }
}
