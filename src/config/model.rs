//! The environment file as the user wrote it (`*Spec` types).
//!
//! Owns: the serde shape of `devenv.yaml`. Must not: touch the filesystem,
//! Docker or the network, or resolve anything (that is `plan`'s job).
//! Every struct denies unknown keys so a typo becomes an error with a hint.

use std::fmt;
use std::time::Duration;

use indexmap::IndexMap;
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

pub use crate::values::duration::{format_duration, parse_duration};
use crate::yaml::kind_of;

/// The whole environment file.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EnvSpec {
    /// Project name; default: the directory holding the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default)]
    pub services: IndexMap<String, ServiceSpec>,
    /// Top-level named volumes (optional: volumes used by services are created anyway).
    /// A value may be empty (`data:`).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub volumes: IndexMap<String, Option<NamedVolumeSpec>>,
    /// Host-side variables for `devenv env` / `devenv run`: NAME → template with `${svc.url|host|port}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export: Option<IndexMap<String, String>>,
    /// Kubernetes settings, read by `devenv k8s` (`k8s::spec`) only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k8s: Option<serde_yaml::Value>,
    /// User networks (compose's top-level `networks`); `default` configures the
    /// project's default network. A value may be empty (`front:`).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty", deserialize_with = "network_specs")]
    pub networks: IndexMap<String, NetworkSpec>,
    /// Secrets services mount (`/run/secrets/<name>`): a `file`, an `environment` variable or `content`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub secrets: IndexMap<String, FileSource>,
    /// Configs services mount (`/<name>`): a `file`, an `environment` variable or `content`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub configs: IndexMap<String, FileSource>,
}

/// A top-level secret or config: exactly one of `file` (relative to the
/// environment file; bind-mounted read-only), `environment` (a variable of the
/// shell or `.env`) or `content` (the text itself); the last two are written
/// into the container before it starts.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FileSource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
}

/// A service's use of a secret or config: its name, or `{source, target, uid, gid, mode}`.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FileUse {
    pub source: String,
    /// Where it is mounted: absolute, or relative to `/run/secrets/` (secrets) or `/` (configs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
    /// Permission bits, written in octal (`0440`, `"0440"`); default 0444.
    #[serde(default, skip_serializing_if = "Option::is_none", serialize_with = "octal")]
    pub mode: Option<u32>,
}

impl FileUse {
    /// Where it is mounted: `target` (absolute, or relative to `dir`), else `dir` + its name.
    /// `dir`: `/run/secrets/` for secrets, `/` for configs.
    pub fn target_in(&self, dir: &str) -> String {
        match self.target.as_deref() {
            None | Some("") => format!("{dir}{}", self.source),
            Some(t) if t.starts_with('/') => t.to_string(),
            Some(t) => format!("{dir}{t}"),
        }
    }
}

fn octal<S: serde::Serializer>(mode: &Option<u32>, s: S) -> Result<S::Ok, S::Error> {
    match mode {
        Some(m) => s.serialize_str(&format!("0{m:o}")),
        None => s.serialize_none(),
    }
}

impl<'de> Deserialize<'de> for FileUse {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Long {
            source: String,
            #[serde(default)]
            target: Option<String>,
            #[serde(default)]
            uid: Option<u32>,
            #[serde(default)]
            gid: Option<u32>,
            #[serde(default)]
            mode: Option<serde_yaml::Value>,
        }
        let v = serde_yaml::Value::deserialize(d)?;
        if let Some(name) = v.as_str() {
            return Ok(FileUse { source: name.to_string(), ..FileUse::default() });
        }
        let l: Long = serde_yaml::from_value(v).map_err(de::Error::custom)?;
        let mode = l.mode.map(|m| octal_mode(&m).map_err(de::Error::custom)).transpose()?;
        Ok(FileUse { source: l.source, target: l.target, uid: l.uid, gid: l.gid, mode })
    }
}

/// `0440`, `440`, `"0440"`, `0o440`: the digits as written, read in octal.
fn octal_mode(v: &serde_yaml::Value) -> Result<u32, String> {
    let text = scalar_to_string(v).unwrap_or_default();
    let digits = text.trim().trim_start_matches("0o");
    u32::from_str_radix(digits, 8).ok().filter(|m| *m <= 0o7777).ok_or_else(|| format!("`mode` must be octal permission bits (e.g. 0440), found {text:?}"))
}

/// One top-level network: created as `{project}_{key}` (or `name:`) with the
/// project's labels and removed by `down`, unless `external: true` (must exist,
/// never created or removed).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    /// The Docker network's name (default: `{project}_{key}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub external: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(default, skip_serializing_if = "EnvMap::is_empty")]
    pub labels: EnvMap,
    /// No route to the outside world.
    #[serde(default, skip_serializing_if = "is_false")]
    pub internal: bool,
}

/// One top-level named volume: created as `{project}_{key}` (or `name:`) with
/// the project's labels and its `driver`, `driver_opts` and `labels`, removed
/// by `down -v`; unless `external: true` (must exist, never created or removed).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NamedVolumeSpec {
    /// The Docker volume's name (default: `{project}_{key}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub external: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(default, skip_serializing_if = "EnvMap::is_empty")]
    pub driver_opts: EnvMap,
    #[serde(default, skip_serializing_if = "EnvMap::is_empty")]
    pub labels: EnvMap,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// `networks: {front: , back: {name: x}}`: an empty value is a network with defaults.
fn network_specs<'de, D: Deserializer<'de>>(d: D) -> Result<IndexMap<String, NetworkSpec>, D::Error> {
    let m: Option<IndexMap<String, Option<NetworkSpec>>> = Deserialize::deserialize(d)?;
    Ok(m.unwrap_or_default().into_iter().map(|(k, v)| (k, v.unwrap_or_default())).collect())
}

/// One service as written.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    /// A backing-service preset (issue 3): postgres | redis | kafka | clickhouse | elasticsearch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    /// Tag of the preset's default image.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "opt_scalar_string")]
    pub version: Option<String>,
    /// Presets: keep data in a named volume (default: on, except redis).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persist: Option<bool>,
    /// Presets: `false` runs the service as written (what `devenv import`
    /// writes): the preset adds its probe, URL and seeds, never env, ports,
    /// volumes, command or ulimits. Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset_defaults: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// `os/arch[/variant]` the image is pulled/built and the container run for
    /// (`linux/arm64`); default: the engine's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<BuildSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<CommandSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<CommandSpec>,
    #[serde(default, skip_serializing_if = "EnvMap::is_empty")]
    pub env: EnvMap,
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "one_or_many")]
    pub env_file: Vec<String>,
    /// `"8080:80"`, `"127.0.0.1:8080:80"`, `"80"`, `80`, `"53:53/udp"`; parsed by `values::ports` (onto `parsed.ports`).
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "scalar_strings")]
    pub ports: Vec<String>,
    /// `"name:/path[:ro]"` (named) or `"./dir:/path[:ro]"` (bind), or the long
    /// form `{type: bind, source: ./data:v1, target: /data}` (a path with `:`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<VolumeEntry>,
    /// Every volume of another service's container (`db`, `db:ro`) or of any
    /// container (`container:NAME[:ro]`); a service named here starts first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes_from: Vec<String>,
    /// Network mode: `host`, `none`, `bridge`, `service:NAME` (that service's
    /// network namespace; it starts first) or `container:NAME`; excludes
    /// `networks` (and `ports`, except with `bridge`/`none`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_mode: Option<String>,
    /// IPC namespace: `host`, `shareable`, `private`, `none`, `service:NAME`
    /// (that service's, which starts first) or `container:NAME`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipc: Option<String>,
    /// PID namespace: `host`, `service:NAME` or `container:NAME`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<String>,
    #[serde(default, skip_serializing_if = "DependsOn::is_empty")]
    pub depends_on: DependsOn,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthSpec>,
    /// `once`: a one-shot job; dependents may wait for `completed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<RunMode>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub profiles: Vec<String>,
    #[serde(default, skip_serializing_if = "EnvMap::is_empty")]
    pub labels: EnvMap,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "opt_scalar_string")]
    pub user: Option<String>,
    /// Seed data, applied once per data volume after the service is ready.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seed: Vec<SeedSpec>,
    /// Hot-reload rules: host paths synced into the running container,
    /// or triggering a restart / rebuild (`devenv watch`, `up --watch`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub watch: Vec<WatchSpec>,
    /// Per-service Kubernetes overrides, read by `devenv k8s` (`k8s::spec`) only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k8s: Option<serde_yaml::Value>,
    /// `no` | `always` | `on-failure` | `on-failure:N` | `unless-stopped` (Docker's restart policy).
    #[serde(default, skip_serializing_if = "String::is_empty", deserialize_with = "scalar_or_empty")]
    pub restart: String,
    /// Container ports exposed to other containers, not published: `"3000"`, `"9000/udp"`, `"8000-8002"`.
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "scalar_strings")]
    pub expose: Vec<String>,
    /// Networks to join (default: the project's default network).
    #[serde(default, skip_serializing_if = "ServiceNetworks::is_empty")]
    pub networks: ServiceNetworks,
    /// `"host:ip"` / `"host=ip"` entries, or a map host → ip; extra `/etc/hosts` lines.
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "extra_hosts")]
    pub extra_hosts: Vec<String>,
    /// The container's hostname (default: the service name).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "opt_scalar_string")]
    pub hostname: Option<String>,
    /// The Docker container name (default: `{project}-{service}`).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "opt_scalar_string")]
    pub container_name: Option<String>,
    /// How many containers run the service (compose's `deploy.replicas` /
    /// `scale`), named `{project}-{service}-{n}`; `0` creates none. Unset: one
    /// container named `{project}-{service}` (or `container_name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u32>,
    /// How long `down`/stop/recreate wait after the stop signal before killing (default 10s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_grace_period: Option<DurationSpec>,
    /// The signal that stops the container (default: the image's, else SIGTERM).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "opt_scalar_string")]
    pub stop_signal: Option<String>,
    /// `nofile: 65535` or `nofile: {soft: 20000, hard: 40000}`; merged over a preset's.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub ulimits: IndexMap<String, UlimitSpec>,
    /// Run an init process (tini) as PID 1 that reaps zombies and forwards signals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tty: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdin_open: Option<bool>,
    /// tmpfs mounts: `"/run"` or `"/tmp:size=64m,mode=1777"` (one or a list).
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "one_or_many_strings")]
    pub tmpfs: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privileged: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "scalar_strings")]
    pub cap_add: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "scalar_strings")]
    pub cap_drop: Vec<String>,
    /// Size of /dev/shm: bytes, or `64m`, `1g`.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "opt_scalar_string")]
    pub shm_size: Option<String>,
    /// CPU, memory and process limits (a compose file's `cpus`, `mem_limit`,
    /// `mem_reservation`, `pids_limit` and `deploy.resources`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourcesSpec>,
    /// Secrets mounted at `/run/secrets/<name>` (or `target`): names of top-level `secrets`, or long form.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<FileUse>,
    /// Configs mounted at `/<name>` (or `target`): names of top-level `configs`, or long form.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub configs: Vec<FileUse>,
    /// Files written into the container before it starts: `secrets` / `configs`
    /// from `environment:` or `content:` (filled at load, never written in the file).
    #[serde(skip)]
    pub files: Vec<InjectedFile>,
    /// Everything above that needs parsing, parsed once at load (never written in the file).
    #[serde(skip)]
    pub parsed: super::parsed::Parsed,
    /// A compose file's `healthcheck` timing as written, for the container's
    /// HEALTHCHECK (so `docker ps` shows health as compose would). devenv's own
    /// readiness polling (`health`) is separate. Never written in devenv.yaml.
    #[serde(skip)]
    pub container_healthcheck: Option<HealthcheckTiming>,
}

/// A service's `networks:`: a list of names, or a map name → null | `{aliases: […]}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct ServiceNetworks(pub IndexMap<String, ServiceNetwork>);

impl ServiceNetworks {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// How a service joins one network.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceNetwork {
    /// Extra DNS names on this network (the service name always is one).
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "scalar_strings")]
    pub aliases: Vec<String>,
    /// Accepted so that compose files parse; rejected by validation (not supported).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "opt_scalar_string")]
    pub ipv4_address: Option<String>,
}

impl<'de> Deserialize<'de> for ServiceNetworks {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // A visitor (not a detour through `Value`) keeps the YAML path of inner errors.
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = ServiceNetworks;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of network names or a map of network name to {aliases: [...]}")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(ServiceNetworks::default())
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = IndexMap::new();
                while let Some(name) = seq.next_element::<String>()? {
                    out.insert(name, ServiceNetwork::default());
                }
                Ok(ServiceNetworks(out))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = IndexMap::new();
                while let Some(name) = map.next_key::<String>()? {
                    let v: Option<ServiceNetwork> = map.next_value()?;
                    out.insert(name, v.unwrap_or_default());
                }
                Ok(ServiceNetworks(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// One resource limit: `65535` (soft = hard) or `{soft: 20000, hard: 40000}`; -1 = unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UlimitSpec {
    pub soft: i64,
    pub hard: i64,
}

impl Serialize for UlimitSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        if self.soft == self.hard {
            return s.serialize_i64(self.soft);
        }
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("soft", &self.soft)?;
        m.serialize_entry("hard", &self.hard)?;
        m.end()
    }
}

impl<'de> Deserialize<'de> for UlimitSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Long {
            #[serde(deserialize_with = "limit")]
            soft: i64,
            #[serde(deserialize_with = "limit")]
            hard: i64,
        }
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = UlimitSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number (soft = hard) or a map {soft: N, hard: N}")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(UlimitSpec { soft: v, hard: v })
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                let v = i64::try_from(v).map_err(|_| E::custom(format!("limit {v} is too large")))?;
                Ok(UlimitSpec { soft: v, hard: v })
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                let n = parse_limit(v).map_err(E::custom)?;
                Ok(UlimitSpec { soft: n, hard: n })
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let l = Long::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(UlimitSpec { soft: l.soft, hard: l.hard })
            }
        }
        d.deserialize_any(V)
    }
}

/// A limit written as a number or a numeric string (after interpolation).
fn limit<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let v = serde_yaml::Value::deserialize(d)?;
    match &v {
        serde_yaml::Value::Number(n) => n.as_i64().ok_or_else(|| de::Error::custom(format!("limit {n} is out of range"))),
        serde_yaml::Value::String(s) => parse_limit(s).map_err(de::Error::custom),
        other => Err(de::Error::custom(format!("expected a number, found {}", kind_of(other)))),
    }
}

fn parse_limit(s: &str) -> Result<i64, String> {
    s.trim().parse::<i64>().map_err(|_| format!("expected a whole number (or -1 for unlimited), found {s:?}"))
}

/// `extra_hosts`: a list of `host:ip` / `host=ip`, or a map host → ip (stored as `host:ip`).
fn extra_hosts<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    struct V;
    impl<'de> de::Visitor<'de> for V {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a list of \"host:ip\" entries or a map of host to ip")
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(vec![])
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(entry) = seq.next_element::<String>()? {
                out.push(entry);
            }
            Ok(out)
        }
        fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(host) = map.next_key::<String>()? {
                let ip: serde_yaml::Value = map.next_value()?;
                let ip = scalar_to_string(&ip)
                    .ok_or_else(|| de::Error::custom(format!("the address of `{host}` must be an IP address, found {}", kind_of(&ip))))?;
                out.push(format!("{host}:{ip}"));
            }
            Ok(out)
        }
    }
    d.deserialize_any(V)
}

fn scalar_or_empty<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    opt_scalar_string(d).map(Option::unwrap_or_default)
}

/// One `seed:` entry: exactly one of `sql`, `csv`, `jsonl`, `redis`, `topic`,
/// `index`, `exec`, with the keys that kind takes. File paths may be globs.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SeedSpec {
    /// postgres, clickhouse: a SQL file (multi-statement).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql: Option<String>,
    /// postgres (COPY), clickhouse: a CSV file with a header line; needs `table`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csv: Option<String>,
    /// clickhouse: a JSON-lines file; needs `table`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jsonl: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    /// redis: a file of commands, one per line, quoted like redis-cli.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redis: Option<String>,
    /// kafka: a topic to create, with `partitions`, `config`, `messages`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "opt_number")]
    pub partitions: Option<u32>,
    #[serde(default, skip_serializing_if = "EnvMap::is_empty")]
    pub config: EnvMap,
    /// kafka: JSON lines with `key`, `value`, `headers`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages: Option<String>,
    /// elasticsearch: an index to create, with `mappings`, `settings`, `documents`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mappings: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<String>,
    /// elasticsearch: NDJSON documents, bulk-loaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documents: Option<String>,
    /// any service: a command run inside the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<CommandSpec>,
}

/// One `watch:` rule: a host `path` (file or directory, relative to the
/// environment file) and what a change to it does.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WatchSpec {
    pub path: String,
    /// Absolute path in the container (needed by `sync` and `restart`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(default)]
    pub action: WatchAction,
    /// Globs (relative to `path`) whose changes are not acted on.
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "one_or_many")]
    pub ignore: Vec<String>,
    /// A command run in the container after each sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<CommandSpec>,
}

/// What a change under a watched path does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WatchAction {
    /// Copy changed files into the running container; propagate deletions.
    #[default]
    Sync,
    /// Sync, then restart the container and wait until it is ready.
    Restart,
    /// Rebuild the image and recreate the service.
    Rebuild,
}

impl fmt::Display for WatchAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WatchAction::Sync => "sync",
            WatchAction::Restart => "restart",
            WatchAction::Rebuild => "rebuild",
        })
    }
}

/// A file written into the container before it starts (compose: a secret or
/// config whose value is a variable, `environment:`, or inline, `content:`).
/// A secret's content is never printed (`***`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InjectedFile {
    /// Absolute path in the container.
    pub target: String,
    pub content: String,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// Permission bits (compose's default: 0o444).
    pub mode: u32,
    pub secret: bool,
}

impl Serialize for InjectedFile {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("InjectedFile", 6)?;
        st.serialize_field("target", &self.target)?;
        let shown = if self.secret && !self.content.is_empty() { "***" } else { self.content.as_str() };
        st.serialize_field("content", shown)?;
        st.serialize_field("uid", &self.uid)?;
        st.serialize_field("gid", &self.gid)?;
        st.serialize_field("mode", &format!("{:04o}", self.mode))?;
        st.serialize_field("secret", &self.secret)?;
        st.end()
    }
}

/// One `volumes:` entry: the short string, or compose's long form, whose
/// `source` and `target` are taken whole (never split at `:`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum VolumeEntry {
    Short(String),
    Long(LongVolume),
}

/// `{type: volume | bind, source, target, read_only}`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LongVolume {
    #[serde(rename = "type")]
    pub kind: LongVolumeKind,
    /// A volume name, or a host path (relative to the file); none: an anonymous volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    pub target: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LongVolumeKind {
    Volume,
    Bind,
}

/// Keys of a long-form `volumes:` entry.
pub const VOLUME_KEYS: &[&str] = &["type", "source", "target", "read_only"];

impl From<&str> for VolumeEntry {
    fn from(s: &str) -> Self {
        VolumeEntry::Short(s.to_string())
    }
}

impl PartialEq<&str> for VolumeEntry {
    fn eq(&self, other: &&str) -> bool {
        matches!(self, VolumeEntry::Short(s) if s == other)
    }
}

impl<'de> Deserialize<'de> for VolumeEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Through Value, like `BuildSpec`: an untagged enum would swallow the inner error.
        let v = serde_yaml::Value::deserialize(d)?;
        match v {
            serde_yaml::Value::String(s) => Ok(VolumeEntry::Short(s)),
            serde_yaml::Value::Mapping(_) => serde_yaml::from_value(v).map(VolumeEntry::Long).map_err(de::Error::custom),
            other => Err(de::Error::custom(format!(
                "expected a volume (\"data:/var/lib/data\", \"./src:/app\") or a map with type/source/target/read_only, found {}",
                kind_of(&other)
            ))),
        }
    }
}

/// `build: ./dir` or `build: {context, dockerfile, args, target, …}`.
/// `platforms`, `secrets`, `ssh` and `additional_contexts` are BuildKit's: the
/// engine's classic builder has none of them, so they are checked against the
/// Dockerfile when the image is built (`engine::images`).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct BuildSpec {
    pub context: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dockerfile: Option<String>,
    /// The Dockerfile's text itself (instead of a file in the context).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dockerfile_inline: Option<String>,
    #[serde(skip_serializing_if = "EnvMap::is_empty")]
    pub args: EnvMap,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Platforms to build for (`linux/amd64`); devenv builds the one the container runs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub platforms: Vec<String>,
    /// Build secrets (`RUN --mount=type=secret,id=NAME`): names of top-level `secrets`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<String>,
    /// SSH agent sockets or keys for `RUN --mount=type=ssh`: `default`, `ID=PATH`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ssh: Vec<String>,
    /// Named build contexts: NAME → a directory, `service:NAME` or `docker-image://REF`.
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub additional_contexts: IndexMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BuildLong {
    #[serde(default = "dot")]
    context: String,
    #[serde(default)]
    dockerfile: Option<String>,
    #[serde(default)]
    dockerfile_inline: Option<String>,
    #[serde(default)]
    args: EnvMap,
    #[serde(default)]
    target: Option<String>,
    #[serde(default, deserialize_with = "scalar_strings")]
    platforms: Vec<String>,
    #[serde(default, deserialize_with = "scalar_strings")]
    secrets: Vec<String>,
    #[serde(default, deserialize_with = "scalar_strings")]
    ssh: Vec<String>,
    #[serde(default)]
    additional_contexts: IndexMap<String, String>,
}

fn dot() -> String {
    ".".into()
}

impl<'de> Deserialize<'de> for BuildSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Untagged enums swallow inner errors; go through Value to keep them.
        let v = serde_yaml::Value::deserialize(d)?;
        match v {
            serde_yaml::Value::String(s) => Ok(BuildSpec { context: s, ..BuildSpec::default() }),
            serde_yaml::Value::Mapping(_) => {
                let l: BuildLong = serde_yaml::from_value(v).map_err(de::Error::custom)?;
                // `dockerfile: ""` is compose's default `Dockerfile`, not the context itself.
                let dockerfile = l.dockerfile.filter(|d| !d.is_empty());
                let BuildLong { context, dockerfile: _, dockerfile_inline, args, target, platforms, secrets, ssh, additional_contexts } = l;
                Ok(BuildSpec { context, dockerfile, dockerfile_inline, args, target, platforms, secrets, ssh, additional_contexts })
            }
            other => {
                Err(de::Error::custom(format!(
                    "expected a build context path or a map with context/dockerfile/args/target, found {}",
                    kind_of(&other)
                )))
            }
        }
    }
}

/// `command: "npm start"` (split like a shell would) or `command: ["npm", "start"]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum CommandSpec {
    Shell(String),
    Exec(Vec<String>),
}

impl CommandSpec {
    /// `"a b 'c d'"` → `["a", "b", "c d"]`; a string that does not split cleanly stays whole.
    pub fn argv(&self) -> Vec<String> {
        match self {
            CommandSpec::Exec(v) => v.clone(),
            CommandSpec::Shell(s) => shell_words::split(s).unwrap_or_else(|_| vec![s.clone()]),
        }
    }
}

impl<'de> Deserialize<'de> for CommandSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_yaml::Value::deserialize(d)?;
        match v {
            serde_yaml::Value::String(s) => Ok(CommandSpec::Shell(s)),
            serde_yaml::Value::Sequence(items) => items
                .into_iter()
                .map(|i| scalar_to_string(&i).ok_or_else(|| de::Error::custom("command items must be strings")))
                .collect::<Result<Vec<_>, _>>()
                .map(CommandSpec::Exec),
            other => Err(de::Error::custom(format!("expected a string or a list of strings, found {}", kind_of(&other)))),
        }
    }
}

/// Environment variables or labels: a map (`KEY: value`) or a list (`KEY=value`).
/// A value of `null` (map) or a bare `KEY` (list) means "take it from the shell".
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct EnvMap(pub IndexMap<String, Option<String>>);

impl EnvMap {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'de> Deserialize<'de> for EnvMap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_yaml::Value::deserialize(d)?;
        let mut out = IndexMap::new();
        match v {
            serde_yaml::Value::Null => {}
            serde_yaml::Value::Mapping(m) => {
                for (k, val) in m {
                    let key = scalar_to_string(&k).ok_or_else(|| de::Error::custom("keys must be strings"))?;
                    let val = match val {
                        serde_yaml::Value::Null => None,
                        other => Some(scalar_to_string(&other).ok_or_else(|| {
                            de::Error::custom(format!("value of `{key}` must be a string, number or boolean, found {}", kind_of(&other)))
                        })?),
                    };
                    out.insert(key, val);
                }
            }
            serde_yaml::Value::Sequence(items) => {
                for item in items {
                    let s = scalar_to_string(&item).ok_or_else(|| de::Error::custom("list entries must be `KEY=value` strings"))?;
                    match s.split_once('=') {
                        Some((k, v)) => out.insert(k.to_string(), Some(v.to_string())),
                        None => out.insert(s, None),
                    };
                }
            }
            other => return Err(de::Error::custom(format!("expected a map or a list of KEY=value, found {}", kind_of(&other)))),
        }
        Ok(EnvMap(out))
    }
}

/// When a dependent may start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// The dependency's container is running.
    Started,
    /// The dependency's readiness probe passed.
    Healthy,
    /// The dependency (a `run: once` job) exited 0.
    Completed,
    /// Written as a list entry (`depends_on: [db]`): `healthy` when the
    /// dependency has a readiness probe (a preset or `health`), else `started`.
    #[serde(skip)]
    Default,
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Condition::Started => "started",
            Condition::Healthy => "healthy",
            Condition::Completed => "completed",
            Condition::Default => "default",
        })
    }
}

/// `depends_on: [a, b]` (condition `started`) or `depends_on: {a: healthy, b: {condition: completed}}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct DependsOn(pub IndexMap<String, Condition>);

impl DependsOn {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'de> Deserialize<'de> for DependsOn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Long {
            condition: Condition,
        }
        let v = serde_yaml::Value::deserialize(d)?;
        let mut out = IndexMap::new();
        match v {
            serde_yaml::Value::Null => {}
            serde_yaml::Value::Sequence(items) => {
                for item in items {
                    let s = scalar_to_string(&item).ok_or_else(|| de::Error::custom("depends_on entries must be service names"))?;
                    out.insert(s, Condition::Default);
                }
            }
            serde_yaml::Value::Mapping(m) => {
                for (k, val) in m {
                    let key = scalar_to_string(&k).ok_or_else(|| de::Error::custom("depends_on keys must be service names"))?;
                    let cond = match &val {
                        serde_yaml::Value::Null => Condition::Default,
                        serde_yaml::Value::String(_) => serde_yaml::from_value::<Condition>(val.clone())
                            .map_err(|e| de::Error::custom(format!("`{key}`: {e}")))?,
                        serde_yaml::Value::Mapping(_) => serde_yaml::from_value::<Long>(val.clone())
                            .map_err(|e| de::Error::custom(format!("`{key}`: {e}")))?
                            .condition,
                        other => return Err(de::Error::custom(format!("condition for `{key}` must be a string, found {}", kind_of(other)))),
                    };
                    out.insert(key, cond);
                }
            }
            other => return Err(de::Error::custom(format!("expected a list or a map of service names, found {}", kind_of(&other)))),
        }
        Ok(DependsOn(out))
    }
}

/// A compose `healthcheck`'s timing, as written (`None`: Docker's default).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HealthcheckTiming {
    pub interval: Option<std::time::Duration>,
    pub timeout: Option<std::time::Duration>,
    pub retries: Option<u32>,
    pub start_period: Option<std::time::Duration>,
}

/// A readiness probe run by devenv: exactly one of `http`, `tcp`, `exec`, `shell`,
/// `log`, `protocol` (or `disable: true`, or only timing on a preset).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HealthSpec {
    /// HTTP path (`/health`); ready on a 2xx/3xx answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<String>,
    /// TCP port in the container; ready when a connection is accepted.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "opt_number")]
    pub tcp: Option<u16>,
    /// A command run inside the container; ready when it exits 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<CommandSpec>,
    /// A regular expression (substring) that appears in the container's log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,
    /// Container port for `http` (default: the first published port).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "opt_number")]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<DurationSpec>,
    /// Overall deadline for the service to become ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<DurationSpec>,
    /// Consecutive failures tolerated after the first success (flapping guard); default unlimited within `timeout`.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "opt_number")]
    pub retries: Option<u32>,
    /// Probe this (non-preset) service over a preset's protocol: postgres | redis | kafka |
    /// clickhouse | elasticsearch, with credentials from its env; port: `port` or the protocol's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// A shell command (`sh -c`) run inside the container; ready when it exits 0 (compose's `CMD-SHELL`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<String>,
    /// Failures during this period after start are not reported as the last error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_period: Option<DurationSpec>,
    /// `true`: no readiness probe (ready once started) and the image's HEALTHCHECK is turned off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable: Option<bool>,
}

impl HealthSpec {
    /// The probe keys that are set, in the order they are documented.
    pub fn probes(&self) -> Vec<&'static str> {
        [
            ("http", self.http.is_some()),
            ("tcp", self.tcp.is_some()),
            ("exec", self.exec.is_some()),
            ("shell", self.shell.is_some()),
            ("log", self.log.is_some()),
            ("protocol", self.protocol.is_some()),
        ]
        .into_iter()
        .filter_map(|(k, on)| on.then_some(k))
        .collect()
    }

    /// `disable: true`.
    pub fn disabled(&self) -> bool {
        self.disable == Some(true)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunMode {
    /// A long-running service (the default).
    Always,
    /// A one-shot job that must exit 0.
    Once,
}

/// A duration written as `200ms`, `2s`, `1m30s`, `1h` or a bare number of seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationSpec(pub Duration);

impl Serialize for DurationSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_duration(self.0))
    }
}

impl<'de> Deserialize<'de> for DurationSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_yaml::Value::deserialize(d)?;
        let s = scalar_to_string(&v).ok_or_else(|| de::Error::custom("expected a duration such as 500ms, 2s or 1m30s"))?;
        parse_duration(&s).map(DurationSpec).map_err(de::Error::custom)
    }
}

/// A YAML scalar (string, number, bool) as a string; `None` for maps, lists, null.
pub fn scalar_to_string(v: &serde_yaml::Value) -> Option<String> {
    match v {
        serde_yaml::Value::String(s) => Some(s.clone()),
        serde_yaml::Value::Number(n) => Some(n.to_string()),
        serde_yaml::Value::Bool(b) => Some(b.to_string()),
        serde_yaml::Value::Tagged(t) => scalar_to_string(&t.value),
        _ => None,
    }
}

fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    one_or_many_of(d, "file path")
}

fn one_or_many_strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    one_or_many_of(d, "string")
}

/// A scalar or a list of scalars; `what` names an item in messages.
fn one_or_many_of<'de, D: Deserializer<'de>>(d: D, what: &str) -> Result<Vec<String>, D::Error> {
    let v = serde_yaml::Value::deserialize(d)?;
    match v {
        serde_yaml::Value::Null => Ok(vec![]),
        serde_yaml::Value::Sequence(items) => items
            .iter()
            .map(|i| scalar_to_string(i).ok_or_else(|| de::Error::custom(format!("expected a list of {what}s"))))
            .collect(),
        other => scalar_to_string(&other).map(|s| vec![s]).ok_or_else(|| de::Error::custom(format!("expected a {what} or a list of them"))),
    }
}

fn scalar_strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let v = serde_yaml::Value::deserialize(d)?;
    match v {
        serde_yaml::Value::Null => Ok(vec![]),
        serde_yaml::Value::Sequence(items) => items
            .iter()
            .map(|i| scalar_to_string(i).ok_or_else(|| de::Error::custom(format!("expected a string or number, found {}", kind_of(i)))))
            .collect(),
        other => Err(de::Error::custom(format!("expected a list, found {}", kind_of(&other)))),
    }
}

/// A number, also when written as a string (`port: "${PORT}"` after interpolation).
fn opt_number<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: std::str::FromStr + TryFrom<u64>,
{
    let v = serde_yaml::Value::deserialize(d)?;
    // Only unsigned types are used here; their maximum follows from their size.
    let max = (1u128 << (8 * std::mem::size_of::<T>()).min(64)) - 1;
    let out_of_range = || de::Error::custom(format!("expected a whole number between 0 and {max}, found {}", scalar_to_string(&v).unwrap_or_default()));
    match &v {
        serde_yaml::Value::Null => Ok(None),
        serde_yaml::Value::Number(n) => match n.as_u64() {
            Some(u) => T::try_from(u).map(Some).map_err(|_| out_of_range()),
            None => Err(out_of_range()),
        },
        serde_yaml::Value::String(s) => s.trim().parse::<T>().map(Some).map_err(|_| {
            if !s.trim().is_empty() && s.trim().bytes().all(|b| b.is_ascii_digit()) {
                out_of_range()
            } else {
                de::Error::custom(format!("expected a number, found {s:?}"))
            }
        }),
        other => Err(de::Error::custom(format!("expected a number, found {}", kind_of(other)))),
    }
}

fn opt_scalar_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = serde_yaml::Value::deserialize(d)?;
    match v {
        serde_yaml::Value::Null => Ok(None),
        other => scalar_to_string(&other)
            .map(Some)
            .ok_or_else(|| de::Error::custom(format!("expected a string, found {}", kind_of(&other)))),
    }
}

/// `resources:` of a service, as written (parsed by `config::validate`).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ResourcesSpec {
    /// CPUs the container may use: `0.5`, `2`.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "opt_scalar_string")]
    pub cpus: Option<String>,
    /// Memory limit: bytes, or `512m`, `1g`.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "opt_scalar_string")]
    pub memory: Option<String>,
    /// Memory the container is guaranteed (a soft limit): bytes, or `256m`.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "opt_scalar_string")]
    pub memory_reservation: Option<String>,
    /// Most processes the container may run (`-1`: unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pids: Option<i64>,
}

/// Keys every struct accepts, for did-you-mean hints.
pub const SERVICE_KEYS: &[&str] = &[
    "preset", "version", "persist", "preset_defaults", "image", "platform", "build", "command", "entrypoint", "env", "env_file", "ports", "volumes", "volumes_from", "network_mode", "ipc", "pid", "depends_on",
    "health", "run", "profiles", "labels", "working_dir", "user", "seed", "watch", "k8s", "restart", "expose", "networks", "extra_hosts",
    "hostname", "container_name", "stop_grace_period", "stop_signal", "ulimits", "init", "tty", "stdin_open", "tmpfs", "privileged",
    "cap_add", "cap_drop", "shm_size", "resources", "replicas", "secrets", "configs",
];
pub const TOP_KEYS: &[&str] = &["name", "services", "volumes", "export", "k8s", "networks", "secrets", "configs"];
pub const HEALTH_KEYS: &[&str] = &[
    "http", "tcp", "exec", "shell", "log", "protocol", "port", "interval", "timeout", "retries", "start_period", "disable",
];
/// Keys of a top-level `networks.<name>` entry.
pub const NETWORK_KEYS: &[&str] = &["name", "external", "driver", "labels", "internal"];
/// Keys of a service's `networks.<name>` entry.
pub const SERVICE_NETWORK_KEYS: &[&str] = &["aliases", "ipv4_address"];
pub const SEED_KEYS: &[&str] = &[
    "sql", "csv", "jsonl", "table", "redis", "topic", "partitions", "config", "messages", "index", "mappings", "settings", "documents", "exec",
];
pub const BUILD_KEYS: &[&str] =
    &["context", "dockerfile", "dockerfile_inline", "args", "target", "platforms", "secrets", "ssh", "additional_contexts"];
pub const WATCH_KEYS: &[&str] = &["path", "target", "action", "ignore", "exec"];

#[cfg(test)]
mod tests;
