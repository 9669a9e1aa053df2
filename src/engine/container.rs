//! A service of the plan → the `docker::ContainerSpec` to create: host ports
//! filled in (and their placeholders in env), labels (project, service, hash,
//! owner), mounts, networks with their DNS aliases, the Docker healthcheck.
//!
//! `container_spec` is pure (tested without Docker); `create` adds the
//! image's `VOLUME`s as labelled anonymous volumes, sends it, asks the preset
//! whether the data already in its volume suits the image (before the first
//! start) and turns the cases the engine acts on into user-facing errors.
//! Must not: call bollard or print.

use std::collections::HashMap;

use crate::config::runtime::RestartName;
use crate::config::VolumeSpec;
use crate::docker::{whole_seconds, ContainerSpec, Docker, DockerError, EndpointSpec, HealthSpec, MountKind, MountSpec, PortSpec, RestartKind, RestartSpec};
use crate::error::Error;
use crate::labels;
use crate::plan::resolve::DockerHealthcheck;
use crate::plan::{Plan, ResolvedService};

/// Inputs of a create besides the plan and the service.
#[derive(Debug, Clone, Copy)]
pub struct CreateContext<'a> {
    /// The process that will tear the environment down, if any.
    pub owner_pid: Option<u32>,
    /// (container port, host port) chosen for ports written without a host side.
    pub host_ports: &'a [(u16, u16)],
    /// RFC 3339 creation time (a label).
    pub created_at: &'a str,
}

/// Create (not start) the container for `svc`. Returns its id.
/// `host_ports`: (container port, host port) chosen by the engine for ports
/// written without a host side; also fills `preset::host_port_placeholder`s in env.
/// `network_ids`: the project's networks are joined by id (a name may be ambiguous).
pub async fn create(docker: &Docker, plan: &Plan, svc: &ResolvedService, owner_pid: Option<u32>, host_ports: &[(u16, u16)], network_ids: &HashMap<String, String>) -> Result<String, Error> {
    let created_at = chrono::Utc::now().to_rfc3339();
    let ctx = CreateContext { owner_pid, host_ports, created_at: &created_at };
    let mut spec = container_spec(plan, svc, &ctx);
    let by_id = |n: &mut String| {
        if let Some(id) = network_ids.get(n.as_str()) {
            *n = id.clone();
        }
    };
    if let Some(mode) = spec.network_mode.as_mut() {
        by_id(mode);
    }
    spec.networks.iter_mut().for_each(|e| by_id(&mut e.network));
    add_image_volumes(&mut spec, docker.image_volumes(&svc.image).await?);
    match docker.create_container(&spec).await {
        Ok(id) => match put_files(docker, &id, svc).await {
            Ok(()) => check_data(docker, svc, &id).await.map(|()| id),
            Err(e) => {
                // Not started and not recorded yet: leave nothing half-made behind.
                let _ = docker.remove_container(&id).await;
                Err(e.into())
            }
        },
        Err(DockerError::Conflict { .. }) => Err(Error::Preflight {
            message: format!("a container named `{}` already exists and is not managed by devenv for this project", svc.container_name),
            hint: Some("devenv never touches containers without its labels: remove or rename it (`docker rm -f NAME`), or use another project name with -p".into()),
        }),
        Err(DockerError::NotFound { message, .. }) if svc.platform.is_some() => Err(platform_error(svc, &message)),
        Err(DockerError::NotFound { .. }) => Err(Error::Image {
            message: format!("image `{}` for `{}` is not available locally", svc.image, svc.name),
            detail: vec![],
            hint: Some("the pull may have failed silently; run `docker pull` on it to see why".into()),
        }),
        Err(e) => Err(e.into()),
    }
}

/// Before a preset's container first starts: does its data volume hold data
/// the image can run (Postgres: the same major)? If not, the container is
/// removed and the error says what happened and the ways out.
async fn check_data(docker: &Docker, svc: &ResolvedService, id: &str) -> Result<(), Error> {
    let (Some(kind), Some(dir)) = (svc.preset, svc.data_dir.as_deref()) else { return Ok(()) };
    let Some(volume) = svc.volumes.iter().find_map(|v| match v {
        crate::values::VolumeSpec::Named { name, target, .. } if target.trim_end_matches('/') == dir.trim_end_matches('/') => Some(name),
        _ => None,
    }) else {
        return Ok(());
    };
    let mut found = Vec::new();
    for marker in kind.preset().data_markers() {
        if let Some(bytes) = docker.read_file(id, &format!("{}/{marker}", dir.trim_end_matches('/'))).await? {
            found.push((marker, String::from_utf8_lossy(&bytes).into_owned()));
        }
    }
    if found.is_empty() {
        return Ok(());
    }
    let config = docker.image_config(&svc.image).await?;
    match kind.preset().check_data(&svc.image, config.as_ref(), volume, &found) {
        Ok(()) => Ok(()),
        Err((message, hint)) => {
            let _ = docker.remove_container(id).await;
            Err(Error::Preflight { message: format!("`{}`: {message}", svc.name), hint: Some(hint) })
        }
    }
}

/// The engine has the image, but not for the service's `platform` (or cannot run it).
fn platform_error(svc: &ResolvedService, engine: &str) -> Error {
    let platform = svc.platform.as_deref().unwrap_or_default();
    Error::Image {
        message: format!("`{}`: image `{}` is not available for platform {platform}: {engine}", svc.name, svc.image),
        detail: vec![],
        hint: Some(format!(
            "pull or build `{}` for {platform} (running another architecture needs binfmt/QEMU emulation on the engine), or remove `platform`",
            svc.image
        )),
    }
}

/// The service's written files (compose secrets and configs from a variable
/// or inline), put into the created container before it starts, like compose.
async fn put_files(docker: &Docker, id: &str, svc: &ResolvedService) -> Result<(), DockerError> {
    for f in &svc.files {
        docker.put_file(id, &f.target, f.content.as_bytes(), f.mode, f.uid, f.gid).await?;
    }
    Ok(())
}

/// The container `svc` runs in, every value final.
pub fn container_spec(plan: &Plan, svc: &ResolvedService, ctx: &CreateContext) -> ContainerSpec {
    ContainerSpec {
        service: svc.name.clone(),
        name: svc.container_name.clone(),
        image: svc.image.clone(),
        platform: svc.platform.clone(),
        command: svc.command.clone(),
        entrypoint: svc.entrypoint.clone(),
        env: svc.env.iter().map(|(k, v)| format!("{k}={}", crate::preset::fill_host_ports(v, ctx.host_ports))).collect(),
        labels: container_labels(plan, svc, ctx),
        working_dir: svc.working_dir.clone(),
        user: svc.user.clone(),
        hostname: svc.hostname.clone(),
        ports: published(svc, ctx.host_ports),
        expose: svc.expose.clone(),
        tty: svc.tty,
        open_stdin: svc.stdin_open,
        stop_signal: svc.stop_signal.clone(),
        stop_timeout: svc.stop_grace_period.map(whole_seconds),
        healthcheck: svc.docker_healthcheck.as_ref().map(health),
        mounts: mounts(plan, svc),
        volumes_from: svc.volumes_from.clone(),
        ipc_mode: svc.ipc_mode.clone(),
        pid_mode: svc.pid_mode.clone(),
        network_mode: svc.network_mode.clone().or_else(|| svc.networks.first().map(|n| n.docker_name.clone())).or_else(|| Some(plan.network.clone())),
        networks: endpoints(svc),
        ulimits: svc.ulimits.clone(),
        restart: svc.restart.map(|r| RestartSpec {
            kind: match r.name {
                RestartName::No => RestartKind::No,
                RestartName::Always => RestartKind::Always,
                RestartName::OnFailure => RestartKind::OnFailure,
                RestartName::UnlessStopped => RestartKind::UnlessStopped,
            },
            max_retries: r.max_retries,
        }),
        extra_hosts: svc.extra_hosts.clone(),
        tmpfs: svc.tmpfs.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        init: svc.init,
        privileged: svc.privileged,
        cap_add: svc.cap_add.clone(),
        cap_drop: svc.cap_drop.clone(),
        shm_size: svc.shm_size,
        resources: svc.resources,
    }
}

fn container_labels(plan: &Plan, svc: &ResolvedService, ctx: &CreateContext) -> std::collections::HashMap<String, String> {
    let mut lbl: std::collections::HashMap<String, String> = svc.labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    lbl.insert(labels::PROJECT.into(), plan.project.clone());
    lbl.insert(labels::SERVICE.into(), svc.name.clone());
    lbl.insert(labels::CONFIG_HASH.into(), svc.config_hash.clone());
    lbl.insert(labels::CONFIG_FILE.into(), plan.file.display().to_string());
    lbl.insert(labels::ONESHOT.into(), svc.once.to_string());
    lbl.insert(labels::VERSION.into(), env!("CARGO_PKG_VERSION").into());
    if let Some(pid) = ctx.owner_pid {
        lbl.insert(labels::OWNER_PID.into(), pid.to_string());
        lbl.insert(labels::OWNER_HOST.into(), labels::hostname());
    }
    lbl.insert(labels::CREATED_AT.into(), ctx.created_at.to_string());
    lbl
}

/// Published ports: loopback unless the user wrote an address; the host port
/// as written, else the one chosen for it.
fn published(svc: &ResolvedService, host_ports: &[(u16, u16)]) -> Vec<PortSpec> {
    svc.ports
        .iter()
        .map(|p| PortSpec {
            container_port: p.container_port,
            protocol: p.protocol.clone(),
            host_ip: p.host_ip.clone().unwrap_or_else(|| "127.0.0.1".into()),
            host_port: p.host_port.or_else(|| host_ports.iter().find(|(c, _)| *c == p.container_port).map(|(_, h)| *h)),
        })
        .collect()
}

fn mounts(plan: &Plan, svc: &ResolvedService) -> Vec<MountSpec> {
    svc.volumes
        .iter()
        .map(|v| match v {
            VolumeSpec::Named { name, target, read_only } => MountSpec {
                kind: MountKind::Volume,
                source: Some(plan.volumes.iter().find(|(n, _)| n == name).map(|(_, d)| d.clone()).unwrap_or_else(|| format!("{}_{name}", plan.project))),
                target: target.clone(),
                read_only: Some(*read_only),
            },
            VolumeSpec::Bind { source, target, read_only } => {
                MountSpec { kind: MountKind::Bind, source: Some(source.display().to_string()), target: target.clone(), read_only: Some(*read_only) }
            }
            VolumeSpec::Anonymous { target } => MountSpec { kind: MountKind::Volume, source: None, target: target.clone(), read_only: None },
        })
        .collect()
}

/// The image's `VOLUME`s that nothing is mounted on become explicit anonymous
/// volumes, so that they carry the project's label like the file's own
/// (`docker::create` labels them) instead of being created unlabelled by Docker.
pub fn add_image_volumes(spec: &mut ContainerSpec, image_volumes: Vec<String>) {
    let covered = |path: &str| {
        let path = path.trim_end_matches('/');
        spec.mounts.iter().any(|m| m.target.trim_end_matches('/') == path) || spec.tmpfs.iter().any(|(t, _)| t.trim_end_matches('/') == path)
    };
    let mut extra: Vec<MountSpec> = image_volumes
        .into_iter()
        .filter(|p| !covered(p))
        .map(|target| MountSpec { kind: MountKind::Volume, source: None, target, read_only: None })
        .collect();
    extra.sort_by(|a, b| a.target.cmp(&b.target));
    spec.mounts.extend(extra);
}

/// The service name and its aliases are DNS names on every network it joins.
fn endpoints(svc: &ResolvedService) -> Vec<EndpointSpec> {
    svc.networks
        .iter()
        .map(|n| {
            let mut aliases = vec![svc.name.clone()];
            aliases.extend(n.aliases.iter().filter(|a| **a != svc.name).cloned());
            EndpointSpec { network: n.docker_name.clone(), aliases }
        })
        .collect()
}

fn health(h: &DockerHealthcheck) -> HealthSpec {
    HealthSpec { test: h.test.clone(), interval: h.interval, timeout: h.timeout, retries: h.retries, start_period: h.start_period }
}

#[cfg(test)]
mod tests;
