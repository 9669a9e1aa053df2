//! Container creation: a `ContainerSpec` (plain data the engine builds from
//! the plan) → Docker's create body.
//!
//! `create_request` is pure (tested without Docker); `Docker::create_container`
//! sends it and joins the networks an older engine does not take at create time.
//! Must not: know the plan (`engine::container` translates a service into a spec).

use std::collections::HashMap;
use std::time::Duration;

use bollard::models::{
    ContainerCreateBody, EndpointSettings, HealthConfig, HostConfig, Mount, MountType, MountVolumeOptions, NetworkConnectRequest, NetworkingConfig,
    PortBinding, ResourcesUlimits, RestartPolicy, RestartPolicyNameEnum,
};
use bollard::query_parameters as qp;

use super::error::op;
use super::{Docker, DockerError};

/// The first Docker API version that takes every network in the create call.
const MULTI_NETWORK_CREATE_API: (usize, usize) = (1, 44);

/// One container to create, every value final (host ports chosen, env filled, labels set).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContainerSpec {
    /// The service it runs (names the operation in errors).
    pub service: String,
    /// The container's name.
    pub name: String,
    pub image: String,
    /// `os/arch[/variant]` to run the image for (`None`: the engine's own).
    pub platform: Option<String>,
    pub command: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    /// `KEY=value`.
    pub env: Vec<String>,
    pub labels: HashMap<String, String>,
    pub working_dir: Option<String>,
    pub user: Option<String>,
    pub hostname: String,
    /// Published ports.
    pub ports: Vec<PortSpec>,
    /// Exposed, not published: `port/proto`.
    pub expose: Vec<String>,
    pub tty: Option<bool>,
    pub open_stdin: Option<bool>,
    pub stop_signal: Option<String>,
    /// Whole seconds.
    pub stop_timeout: Option<i64>,
    pub healthcheck: Option<HealthSpec>,
    pub mounts: Vec<MountSpec>,
    /// `<container>[:ro|:rw]`: every volume of those containers.
    pub volumes_from: Vec<String>,
    /// `host`, `shareable`, `container:NAME`…
    pub ipc_mode: Option<String>,
    pub pid_mode: Option<String>,
    /// The network the container is created on.
    pub network_mode: Option<String>,
    /// Every network it joins, in order (the first one at create time at least).
    pub networks: Vec<EndpointSpec>,
    /// (name, soft, hard).
    pub ulimits: Vec<(String, i64, i64)>,
    pub restart: Option<RestartSpec>,
    pub extra_hosts: Vec<String>,
    /// (path, options).
    pub tmpfs: Vec<(String, String)>,
    pub init: Option<bool>,
    pub privileged: Option<bool>,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub shm_size: Option<i64>,
    /// `NanoCpus`, `Memory`, `MemoryReservation`, `PidsLimit`.
    pub resources: crate::values::runtime::Resources,
}

/// A published port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortSpec {
    pub container_port: u16,
    pub protocol: String,
    pub host_ip: String,
    /// `None`: Docker picks one.
    pub host_port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthSpec {
    /// `["CMD", …]`, `["CMD-SHELL", "…"]`, or `["NONE"]`.
    pub test: Vec<String>,
    pub interval: Option<Duration>,
    pub timeout: Option<Duration>,
    pub retries: Option<u32>,
    pub start_period: Option<Duration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountKind {
    Volume,
    Bind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountSpec {
    pub kind: MountKind,
    /// Volume name or host path; `None` for an anonymous volume.
    pub source: Option<String>,
    pub target: String,
    pub read_only: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointSpec {
    /// The Docker network name.
    pub network: String,
    /// DNS names on that network.
    pub aliases: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartKind {
    No,
    Always,
    OnFailure,
    UnlessStopped,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestartSpec {
    pub kind: RestartKind,
    pub max_retries: Option<u32>,
}

/// What creating one container takes.
#[derive(Debug, Clone)]
pub struct CreateRequest {
    pub body: ContainerCreateBody,
    /// Networks to connect after create and before start (engines before API
    /// 1.44 accept one network at create time): (Docker name, endpoint).
    pub connect_later: Vec<(String, EndpointSettings)>,
}

impl Docker {
    /// Create (not start) the container of `spec`, joined to all its networks. Returns its id.
    /// A taken name is `DockerError::Conflict`, a missing image `DockerError::NotFound`.
    pub async fn create_container(&self, spec: &ContainerSpec) -> Result<String, DockerError> {
        let v = self.api.client_version();
        let req = create_request(spec, (v.major_version, v.minor_version) >= MULTI_NETWORK_CREATE_API);
        let opts = qp::CreateContainerOptionsBuilder::new().name(&spec.name).platform(spec.platform.as_deref().unwrap_or_default()).build();
        let id = self.api.create_container(Some(opts), req.body).await.map_err(op(format!("create container for `{}`", spec.service)))?.id;
        for (network, endpoint) in req.connect_later {
            let connect = NetworkConnectRequest { container: id.clone(), endpoint_config: Some(endpoint) };
            if let Err(e) = self.api.connect_network(&network, connect).await {
                // Never leave a half-joined container behind.
                let _ = self.remove_container(&id).await;
                return Err(op(format!("connect `{}` to network `{network}`", spec.service))(e));
            }
        }
        Ok(id)
    }
}

/// The create body for `spec` and the networks to join after create.
/// `all_networks_at_create`: the engine takes every network in the create call (API ≥ 1.44).
pub fn create_request(spec: &ContainerSpec, all_networks_at_create: bool) -> CreateRequest {
    let (exposed, bindings) = ports(spec);
    let (endpoints, connect_later) = networks(spec, all_networks_at_create);
    let some_vec = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
    let body = ContainerCreateBody {
        image: Some(spec.image.clone()),
        cmd: spec.command.clone(),
        entrypoint: spec.entrypoint.clone(),
        env: Some(spec.env.clone()),
        labels: Some(spec.labels.clone()),
        working_dir: spec.working_dir.clone(),
        user: spec.user.clone(),
        hostname: (!spec.hostname.is_empty()).then(|| spec.hostname.clone()),
        exposed_ports: Some(exposed),
        tty: spec.tty,
        open_stdin: spec.open_stdin,
        stop_signal: spec.stop_signal.clone(),
        stop_timeout: spec.stop_timeout,
        healthcheck: spec.healthcheck.as_ref().map(health_config),
        host_config: Some(HostConfig {
            port_bindings: Some(bindings),
            mounts: Some(spec.mounts.iter().map(|m| mount(m, spec.labels.get(crate::labels::PROJECT))).collect()),
            network_mode: spec.network_mode.clone(),
            volumes_from: some_vec(&spec.volumes_from),
            ipc_mode: spec.ipc_mode.clone(),
            pid_mode: spec.pid_mode.clone(),
            ulimits: (!spec.ulimits.is_empty()).then(|| {
                spec.ulimits
                    .iter()
                    .map(|(name, soft, hard)| ResourcesUlimits { name: Some(name.clone()), soft: Some(*soft), hard: Some(*hard) })
                    .collect()
            }),
            restart_policy: spec.restart.map(restart_policy),
            extra_hosts: some_vec(&spec.extra_hosts),
            tmpfs: (!spec.tmpfs.is_empty()).then(|| spec.tmpfs.iter().cloned().collect()),
            init: spec.init,
            privileged: spec.privileged,
            cap_add: some_vec(&spec.cap_add),
            cap_drop: some_vec(&spec.cap_drop),
            shm_size: spec.shm_size,
            nano_cpus: spec.resources.nano_cpus,
            memory: spec.resources.memory,
            memory_reservation: spec.resources.memory_reservation,
            pids_limit: spec.resources.pids,
            ..Default::default()
        }),
        networking_config: Some(NetworkingConfig { endpoints_config: Some(endpoints) }),
        ..Default::default()
    };
    CreateRequest { body, connect_later }
}

fn restart_policy(r: RestartSpec) -> RestartPolicy {
    RestartPolicy {
        name: Some(match r.kind {
            RestartKind::No => RestartPolicyNameEnum::NO,
            RestartKind::Always => RestartPolicyNameEnum::ALWAYS,
            RestartKind::OnFailure => RestartPolicyNameEnum::ON_FAILURE,
            RestartKind::UnlessStopped => RestartPolicyNameEnum::UNLESS_STOPPED,
        }),
        maximum_retry_count: r.max_retries.map(i64::from),
    }
}

type Bindings = HashMap<String, Option<Vec<PortBinding>>>;

/// Exposed ports (published and `expose`d) and the host bindings of the published ones.
fn ports(spec: &ContainerSpec) -> (Vec<String>, Bindings) {
    let mut exposed: Vec<String> = Vec::new();
    let mut bindings: Bindings = HashMap::new();
    for p in &spec.ports {
        let key = format!("{}/{}", p.container_port, p.protocol);
        if !exposed.contains(&key) {
            exposed.push(key.clone());
        }
        let b = PortBinding { host_ip: Some(p.host_ip.clone()), host_port: Some(p.host_port.map(|h| h.to_string()).unwrap_or_default()) };
        bindings.entry(key).or_insert_with(|| Some(Vec::new())).get_or_insert_with(Vec::new).push(b);
    }
    for key in &spec.expose {
        if !exposed.contains(key) {
            exposed.push(key.clone());
        }
    }
    (exposed, bindings)
}

/// An anonymous volume is created by Docker with the container; it gets the
/// project's label (`project`) so that it is found — and removed — with the project.
fn mount(m: &MountSpec, project: Option<&String>) -> Mount {
    let anonymous = m.kind == MountKind::Volume && m.source.is_none();
    let volume_options = match project {
        Some(p) if anonymous => Some(MountVolumeOptions { labels: Some(HashMap::from([(crate::labels::PROJECT.to_string(), p.clone())])), ..Default::default() }),
        _ => None,
    };
    Mount {
        volume_options,
        target: Some(m.target.clone()),
        source: m.source.clone(),
        typ: Some(match m.kind {
            MountKind::Volume => MountType::VOLUME,
            MountKind::Bind => MountType::BIND,
        }),
        read_only: m.read_only,
        ..Default::default()
    }
}

/// Endpoints given at create time and those connected afterwards.
fn networks(spec: &ContainerSpec, all_at_create: bool) -> (HashMap<String, EndpointSettings>, Vec<(String, EndpointSettings)>) {
    let mut at_create = HashMap::new();
    let mut later = Vec::new();
    for (i, n) in spec.networks.iter().enumerate() {
        let endpoint = EndpointSettings { aliases: Some(n.aliases.clone()), ..Default::default() };
        if i == 0 || all_at_create {
            at_create.insert(n.network.clone(), endpoint);
        } else {
            later.push((n.network.clone(), endpoint));
        }
    }
    (at_create, later)
}

fn health_config(h: &HealthSpec) -> HealthConfig {
    let nanos = |d: Option<Duration>| d.map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
    HealthConfig {
        test: Some(h.test.clone()),
        interval: nanos(h.interval),
        timeout: nanos(h.timeout),
        retries: h.retries.map(i64::from),
        start_period: nanos(h.start_period),
        start_interval: None,
    }
}

/// Docker's stop timeout is whole seconds; a fraction rounds up so `500ms` is not "kill at once".
pub fn whole_seconds(d: Duration) -> i64 {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    i64::try_from(secs).unwrap_or(i64::MAX)
}
