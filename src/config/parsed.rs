//! What loading parsed out of one service's written form — once, where it was
//! checked. `plan` reads these typed values and never parses the strings again.
//!
//! Must not: read the disk or the environment (loading fills it in).

use std::collections::BTreeMap;

use indexmap::IndexMap;

use crate::preset::Kind;
use crate::seed::entry::ResolvedSeed;
use crate::values::runtime::{Resources, RestartPolicy};
use crate::values::{PortSpec, VolumeSpec};

/// One service's values, parsed and validated (attached to `ServiceSpec::parsed`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Parsed {
    /// `preset:` as a kind.
    pub preset: Option<Kind>,
    /// `health.protocol:` as a kind.
    pub health_protocol: Option<Kind>,
    /// The environment after merging `env_file`s and `env` (env wins), with bare
    /// keys taken from the shell/.env; keys absent everywhere are dropped.
    pub env: IndexMap<String, String>,
    pub ports: Vec<PortSpec>,
    pub volumes: Vec<VolumeSpec>,
    pub volumes_from: Vec<VolumesFrom>,
    pub ipc: Option<Namespace>,
    pub network_mode: Option<Namespace>,
    pub pid: Option<Namespace>,
    /// Seed entries: globs expanded (one entry per file), paths absolute.
    pub seeds: Vec<ResolvedSeed>,
    /// `build.args`, a bare key taken from the process environment or a service's env.
    pub build_args: BTreeMap<String, String>,
    pub options: RuntimeOptions,
}

/// One `volumes_from` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumesFrom {
    pub source: VolumesFromSource,
    /// `Some(true)`: `:ro`, `Some(false)`: `:rw`, `None`: as the source mounts them.
    pub read_only: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VolumesFromSource {
    /// Another service of the file (it starts first).
    Service(String),
    /// Any container, by name (`container:NAME`).
    Container(String),
}

/// An IPC or PID namespace mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Namespace {
    /// `host`, `shareable`, `private`, `none` (as Docker takes them).
    Mode(String),
    /// Another service's container (it starts first).
    Service(String),
    /// Any container, by name.
    Container(String),
}

/// Runtime options parsed from their written form.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuntimeOptions {
    pub restart: Option<RestartPolicy>,
    /// `3000/tcp`, deduplicated, in written order.
    pub expose: Vec<String>,
    /// `host:ip`.
    pub extra_hosts: Vec<String>,
    /// tmpfs mounts: path → mount options.
    pub tmpfs: BTreeMap<String, String>,
    /// Capabilities (upper case, without `CAP_`).
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    /// /dev/shm size in bytes.
    pub shm_size: Option<i64>,
    /// CPU, memory and process limits.
    pub resources: Resources,
}
