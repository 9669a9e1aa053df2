//! Container creation: a `ResolvedService` → Docker's create body.
//!
//! `create_request` is pure (tested without Docker); `Docker::create_container`
//! sends it and joins the networks an older engine does not take at create time.

use std::collections::HashMap;
use std::time::Duration;

use bollard::models::{
    ContainerCreateBody, EndpointSettings, HealthConfig, HostConfig, Mount, MountType, NetworkConnectRequest, NetworkingConfig, PortBinding,
    ResourcesUlimits, RestartPolicy, RestartPolicyNameEnum,
};
use bollard::query_parameters as qp;

use super::{Docker, op, status_of};
use crate::config::VolumeSpec;
use crate::config::runtime::RestartName;
use crate::error::Error;
use crate::plan::resolve::DockerHealthcheck;
use crate::plan::{Plan, ResolvedService, labels};

/// The first Docker API version that takes every network in the create call.
const MULTI_NETWORK_CREATE_API: (usize, usize) = (1, 44);

/// What creating one container takes.
#[derive(Debug, Clone)]
pub struct CreateRequest {
    pub body: ContainerCreateBody,
    /// Networks to connect after create and before start (engines before API
    /// 1.44 accept one network at create time): (Docker name, endpoint).
    pub connect_later: Vec<(String, EndpointSettings)>,
}

/// Inputs of a create besides the plan and the service.
#[derive(Debug, Clone, Copy)]
pub struct CreateContext<'a> {
    /// The process that will tear the environment down, if any.
    pub owner_pid: Option<u32>,
    /// (container port, host port) chosen for ports written without a host side.
    pub host_ports: &'a [(u16, u16)],
    /// RFC 3339 creation time (a label).
    pub created_at: &'a str,
    /// The engine takes every network in the create call (API ≥ 1.44).
    pub all_networks_at_create: bool,
}

impl Docker {
    /// Create (not start) the container for `svc`, joined to all its networks. Returns its id.
    /// `host_ports`: (container port, host port) chosen by the engine for ports
    /// written without a host side; also fills `preset::host_port_placeholder`s in env.
    pub async fn create_container(&self, plan: &Plan, svc: &ResolvedService, owner_pid: Option<u32>, host_ports: &[(u16, u16)]) -> Result<String, Error> {
        let v = self.api.client_version();
        let created_at = chrono::Utc::now().to_rfc3339();
        let ctx = CreateContext {
            owner_pid,
            host_ports,
            created_at: &created_at,
            all_networks_at_create: (v.major_version, v.minor_version) >= MULTI_NETWORK_CREATE_API,
        };
        let req = create_request(plan, svc, &ctx);
        let opts = qp::CreateContainerOptionsBuilder::new().name(&svc.container_name).build();
        let id = match self.api.create_container(Some(opts), req.body).await {
            Ok(r) => r.id,
            Err(e) if status_of(&e) == Some(409) => return Err(Error::Preflight {
                message: format!("a container named `{}` already exists and is not managed by devenv for this project", svc.container_name),
                hint: Some("devenv never touches containers without its labels: remove or rename it (`docker rm -f NAME`), or use another project name with -p".into()),
            }),
            Err(e) if status_of(&e) == Some(404) => return Err(Error::Image {
                message: format!("image `{}` for `{}` is not available locally", svc.image, svc.name),
                detail: vec![],
                hint: Some("the pull may have failed silently; run `docker pull` on it to see why".into()),
            }),
            Err(e) => return Err(op(format!("create container for `{}`", svc.name))(e)),
        };
        for (network, endpoint) in req.connect_later {
            let connect = NetworkConnectRequest { container: id.clone(), endpoint_config: Some(endpoint) };
            if let Err(e) = self.api.connect_network(&network, connect).await {
                // Never leave a half-joined container behind.
                let _ = self.remove_container(&id).await;
                return Err(op(format!("connect `{}` to network `{network}`", svc.name))(e));
            }
        }
        Ok(id)
    }
}

/// The create body for `svc` and the networks to join after create.
pub fn create_request(plan: &Plan, svc: &ResolvedService, ctx: &CreateContext) -> CreateRequest {
    let (exposed, bindings) = ports(svc, ctx.host_ports);
    let (endpoints, connect_later) = networks(svc, ctx.all_networks_at_create);
    let body = ContainerCreateBody {
        image: Some(svc.image.clone()),
        cmd: svc.command.clone(),
        entrypoint: svc.entrypoint.clone(),
        env: Some(svc.env.iter().map(|(k, v)| format!("{k}={}", crate::preset::fill_host_ports(v, ctx.host_ports))).collect()),
        labels: Some(container_labels(plan, svc, ctx)),
        working_dir: svc.working_dir.clone(),
        user: svc.user.clone(),
        hostname: Some(svc.hostname.clone()),
        exposed_ports: Some(exposed),
        tty: svc.tty,
        open_stdin: svc.stdin_open,
        stop_signal: svc.stop_signal.clone(),
        stop_timeout: svc.stop_grace_period.map(whole_seconds),
        healthcheck: svc.docker_healthcheck.as_ref().map(health_config),
        host_config: Some(HostConfig {
            port_bindings: Some(bindings),
            mounts: Some(mounts(plan, svc)),
            network_mode: svc.networks.first().map(|n| n.docker_name.clone()).or_else(|| Some(plan.network.clone())),
            ulimits: (!svc.ulimits.is_empty()).then(|| {
                svc.ulimits
                    .iter()
                    .map(|(name, soft, hard)| ResourcesUlimits { name: Some(name.clone()), soft: Some(*soft), hard: Some(*hard) })
                    .collect()
            }),
            restart_policy: svc.restart.map(|r| RestartPolicy {
                name: Some(match r.name {
                    RestartName::No => RestartPolicyNameEnum::NO,
                    RestartName::Always => RestartPolicyNameEnum::ALWAYS,
                    RestartName::OnFailure => RestartPolicyNameEnum::ON_FAILURE,
                    RestartName::UnlessStopped => RestartPolicyNameEnum::UNLESS_STOPPED,
                }),
                maximum_retry_count: r.max_retries.map(i64::from),
            }),
            extra_hosts: (!svc.extra_hosts.is_empty()).then(|| svc.extra_hosts.clone()),
            tmpfs: (!svc.tmpfs.is_empty()).then(|| svc.tmpfs.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
            init: svc.init,
            privileged: svc.privileged,
            cap_add: (!svc.cap_add.is_empty()).then(|| svc.cap_add.clone()),
            cap_drop: (!svc.cap_drop.is_empty()).then(|| svc.cap_drop.clone()),
            shm_size: svc.shm_size,
            ..Default::default()
        }),
        networking_config: Some(NetworkingConfig { endpoints_config: Some(endpoints) }),
        ..Default::default()
    };
    CreateRequest { body, connect_later }
}

fn container_labels(plan: &Plan, svc: &ResolvedService, ctx: &CreateContext) -> HashMap<String, String> {
    let mut lbl: HashMap<String, String> = svc.labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    lbl.insert(labels::PROJECT.into(), plan.project.clone());
    lbl.insert(labels::SERVICE.into(), svc.name.clone());
    lbl.insert(labels::CONFIG_HASH.into(), svc.config_hash.clone());
    lbl.insert(labels::CONFIG_FILE.into(), plan.file.display().to_string());
    lbl.insert(labels::ONESHOT.into(), svc.once.to_string());
    lbl.insert(labels::VERSION.into(), env!("CARGO_PKG_VERSION").into());
    if let Some(pid) = ctx.owner_pid {
        lbl.insert(labels::OWNER_PID.into(), pid.to_string());
        lbl.insert(labels::OWNER_HOST.into(), crate::plan::labels::hostname());
    }
    lbl.insert(labels::CREATED_AT.into(), ctx.created_at.to_string());
    lbl
}

type Bindings = HashMap<String, Option<Vec<PortBinding>>>;

/// Exposed ports (published and `expose`d) and the host bindings of the published ones.
fn ports(svc: &ResolvedService, host_ports: &[(u16, u16)]) -> (Vec<String>, Bindings) {
    let mut exposed: Vec<String> = Vec::new();
    let mut bindings: Bindings = HashMap::new();
    for p in &svc.ports {
        let key = format!("{}/{}", p.container_port, p.protocol);
        if !exposed.contains(&key) {
            exposed.push(key.clone());
        }
        let b = PortBinding {
            // Loopback unless the user wrote an address.
            host_ip: Some(p.host_ip.clone().unwrap_or_else(|| "127.0.0.1".into())),
            host_port: Some(
                p.host_port
                    .or_else(|| host_ports.iter().find(|(c, _)| *c == p.container_port).map(|(_, h)| *h))
                    .map(|h| h.to_string())
                    .unwrap_or_default(),
            ),
        };
        bindings.entry(key).or_insert_with(|| Some(Vec::new())).get_or_insert_with(Vec::new).push(b);
    }
    for key in &svc.expose {
        if !exposed.contains(key) {
            exposed.push(key.clone());
        }
    }
    (exposed, bindings)
}

fn mounts(plan: &Plan, svc: &ResolvedService) -> Vec<Mount> {
    svc.volumes
        .iter()
        .map(|v| match v {
            VolumeSpec::Named { name, target, read_only } => Mount {
                target: Some(target.clone()),
                source: Some(
                    plan.volumes.iter().find(|(n, _)| n == name).map(|(_, d)| d.clone()).unwrap_or_else(|| format!("{}_{name}", plan.project)),
                ),
                typ: Some(MountType::VOLUME),
                read_only: Some(*read_only),
                ..Default::default()
            },
            VolumeSpec::Bind { source, target, read_only } => Mount {
                target: Some(target.clone()),
                source: Some(source.display().to_string()),
                typ: Some(MountType::BIND),
                read_only: Some(*read_only),
                ..Default::default()
            },
            VolumeSpec::Anonymous { target } => Mount { target: Some(target.clone()), typ: Some(MountType::VOLUME), ..Default::default() },
        })
        .collect()
}

/// Endpoints given at create time and those connected afterwards. The service
/// name and its aliases are DNS names on every network it joins.
fn networks(svc: &ResolvedService, all_at_create: bool) -> (HashMap<String, EndpointSettings>, Vec<(String, EndpointSettings)>) {
    let mut at_create = HashMap::new();
    let mut later = Vec::new();
    for (i, n) in svc.networks.iter().enumerate() {
        let mut aliases = vec![svc.name.clone()];
        aliases.extend(n.aliases.iter().filter(|a| **a != svc.name).cloned());
        let endpoint = EndpointSettings { aliases: Some(aliases), ..Default::default() };
        if i == 0 || all_at_create {
            at_create.insert(n.docker_name.clone(), endpoint);
        } else {
            later.push((n.docker_name.clone(), endpoint));
        }
    }
    (at_create, later)
}

fn health_config(h: &DockerHealthcheck) -> HealthConfig {
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

#[cfg(test)]
mod tests;
