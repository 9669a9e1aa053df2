//! Container creation: a `ResolvedService` → Docker's create body.

use std::collections::HashMap;

use bollard::models::{ContainerCreateBody, ResourcesUlimits, EndpointSettings, HostConfig, Mount, MountType, NetworkingConfig, PortBinding};
use bollard::query_parameters as qp;

use super::{op, status_of, Docker};
use crate::config::VolumeSpec;
use crate::error::Error;
use crate::plan::{labels, Plan, ResolvedService};

impl Docker {
    /// Create (not start) the container for `svc`. Returns its id.
    /// `host_ports`: (container port, host port) chosen by the engine for ports
    /// written without a host side; also fills `preset::host_port_placeholder`s in env.
    pub async fn create_container(&self, plan: &Plan, svc: &ResolvedService, owner_pid: Option<u32>, host_ports: &[(u16, u16)]) -> Result<String, Error> {
        let mut lbl: HashMap<String, String> = svc.labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        lbl.insert(labels::PROJECT.into(), plan.project.clone());
        lbl.insert(labels::SERVICE.into(), svc.name.clone());
        lbl.insert(labels::CONFIG_HASH.into(), svc.config_hash.clone());
        lbl.insert(labels::CONFIG_FILE.into(), plan.file.display().to_string());
        lbl.insert(labels::ONESHOT.into(), svc.once.to_string());
        lbl.insert(labels::VERSION.into(), env!("CARGO_PKG_VERSION").into());
        if let Some(pid) = owner_pid {
            lbl.insert(labels::OWNER_PID.into(), pid.to_string());
            lbl.insert(labels::OWNER_HOST.into(), crate::plan::labels::hostname());
        }
        lbl.insert(labels::CREATED_AT.into(), chrono::Utc::now().to_rfc3339());

        let mut exposed: Vec<String> = Vec::new();
        let mut bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
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

        let mut mounts = Vec::new();
        for v in &svc.volumes {
            mounts.push(match v {
                VolumeSpec::Named { name, target, read_only } => Mount {
                    target: Some(target.clone()),
                    source: Some(plan.volumes.iter().find(|(n, _)| n == name).map(|(_, d)| d.clone()).unwrap_or_else(|| format!("{}_{name}", plan.project))),
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
            });
        }

        let mut endpoints = HashMap::new();
        endpoints.insert(
            plan.network.clone(),
            EndpointSettings { aliases: Some(vec![svc.name.clone()]), ..Default::default() },
        );

        let body = ContainerCreateBody {
            image: Some(svc.image.clone()),
            cmd: svc.command.clone(),
            entrypoint: svc.entrypoint.clone(),
            env: Some(svc.env.iter().map(|(k, v)| format!("{k}={}", crate::preset::fill_host_ports(v, host_ports))).collect()),
            labels: Some(lbl),
            working_dir: svc.working_dir.clone(),
            user: svc.user.clone(),
            hostname: Some(svc.name.clone()),
            exposed_ports: Some(exposed),
            host_config: Some(HostConfig {
                port_bindings: Some(bindings),
                mounts: Some(mounts),
                network_mode: Some(plan.network.clone()),
                ulimits: (!svc.ulimits.is_empty()).then(|| {
                    svc.ulimits
                        .iter()
                        .map(|(name, soft, hard)| ResourcesUlimits { name: Some(name.clone()), soft: Some(*soft), hard: Some(*hard) })
                        .collect()
                }),
                init: None,
                ..Default::default()
            }),
            networking_config: Some(NetworkingConfig { endpoints_config: Some(endpoints) }),
            ..Default::default()
        };
        let opts = qp::CreateContainerOptionsBuilder::new().name(&svc.container_name).build();
        match self.api.create_container(Some(opts), body).await {
            Ok(r) => Ok(r.id),
            Err(e) if status_of(&e) == Some(409) => Err(Error::Preflight {
                message: format!("a container named `{}` already exists and is not managed by devenv for this project", svc.container_name),
                hint: Some("devenv never touches containers without its labels: remove or rename it (`docker rm -f NAME`), or use another project name with -p".into()),
            }),
            Err(e) if status_of(&e) == Some(404) => Err(Error::Image {
                message: format!("image `{}` for `{}` is not available locally", svc.image, svc.name),
                detail: vec![],
                hint: Some("the pull may have failed silently; run `docker pull` on it to see why".into()),
            }),
            Err(e) => Err(op(format!("create container for `{}`", svc.name))(e)),
        }
    }
}
