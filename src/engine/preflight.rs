//! Pre-flight checks run before anything is created: host ports, container names.

use std::net::TcpListener;

use crate::docker::Docker;
use crate::error::Error;
use crate::observe::{ContainerState, ObservedContainer};
use crate::diff::{Step, StepKind};
use crate::plan::Plan;

/// The host ports this project's own containers hold: those they publish, and
/// those the ones not (yet) running are configured with — a container whose
/// start was cut short (its `up` killed) may hold them while Docker lists it
/// as `created`. It is kept, started or replaced by this run anyway.
pub async fn our_ports(docker: &Docker, observed: &[ObservedContainer]) -> Result<Vec<u16>, Error> {
    let mut ours: Vec<u16> = observed.iter().flat_map(|c| c.ports.iter().map(|p| p.host_port)).collect();
    for c in observed.iter().filter(|c| matches!(c.state, ContainerState::Created | ContainerState::Restarting)) {
        ours.extend(docker.configured_host_ports(&c.id).await?);
    }
    Ok(ours)
}

/// Every host port a step will publish must be free, unless one of this
/// project's own containers holds it (`ours`: it is kept, or about to be replaced).
pub fn check_ports(plan: &Plan, steps: &[Step], ours: &[u16]) -> Result<(), Error> {
    for step in steps {
        if !matches!(step.kind, StepKind::Create | StepKind::Recreate { .. } | StepKind::Start) {
            continue;
        }
        let Some(svc) = plan.services.get(&step.service).map(|s| s.as_replica(&plan.project, step.replica)) else { continue };
        for p in &svc.ports {
            let Some(host_port) = p.host_port else { continue };
            if p.protocol != "tcp" || ours.contains(&host_port) {
                continue;
            }
            let ip = p.host_ip.clone().unwrap_or_else(|| "127.0.0.1".into());
            if let Some(addr) = port_in_use(&ip, host_port) {
                return Err(Error::Preflight {
                    message: format!("host port {host_port} ({addr}) for `{}` is already in use by another process", step.label()),
                    hint: Some(format!(
                        "stop whatever listens there (`ss -ltnp 'sport = :{host_port}'` shows it) or change the host side of `services.{}.ports`",
                        step.service
                    )),
                });
            }
        }
    }
    Ok(())
}

/// No container that is not this project's holds the name of a container a
/// step will create (found now, not half-way through the services).
/// One list call for all of them (not one per service).
pub async fn check_names(docker: &Docker, plan: &Plan, steps: &[Step]) -> Result<(), Error> {
    let created: Vec<_> = steps
        .iter()
        .filter(|s| matches!(s.kind, StepKind::Create | StepKind::Recreate { .. }))
        .filter_map(|s| Some((s, plan.services.get(&s.service)?.replica_container_name(&plan.project, s.replica))))
        .collect();
    let names: Vec<&str> = created.iter().map(|(_, name)| name.as_str()).collect();
    let mut found = docker.containers_named(&names).await?;
    for (step, name) in &created {
        let Some((id, owner)) = found.remove(name.as_str()) else { continue };
        if owner.as_deref() == Some(plan.project.as_str()) {
            continue;
        }
        let whose = match owner {
            Some(p) => format!("belongs to devenv project `{p}`"),
            None => "is not managed by devenv".into(),
        };
        return Err(Error::Preflight {
            message: format!("a container named `{name}` ({}) already exists and {whose}: `{}` cannot be created", crate::docker::short(&id), step.label()),
            hint: Some("devenv never touches containers without its labels: remove or rename it (`docker rm -f NAME`), or use another project name with -p".into()),
        });
    }
    Ok(())
}

/// `Some(address)` when another process listens on `ip:port` (TCP), as an
/// attempt to bind there shows; `None` when it is free (or cannot be tested).
pub fn port_in_use(ip: &str, port: u16) -> Option<String> {
    let ip = ip.trim_start_matches('[').trim_end_matches(']');
    let addr = if ip.contains(':') { format!("[{ip}]:{port}") } else { format!("{ip}:{port}") };
    match TcpListener::bind(&addr) {
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => Some(addr),
        _ => None,
    }
}

/// A free TCP port on `ip`, chosen by the OS.
pub fn free_port(ip: &str) -> Result<u16, Error> {
    let ip = ip.trim_start_matches('[').trim_end_matches(']');
    TcpListener::bind((ip, 0)).and_then(|l| l.local_addr()).map(|a| a.port()).map_err(|e| Error::Preflight {
        message: format!("cannot find a free port on {ip}: {e}"),
        hint: Some("is that address configured on this machine?".into()),
    })
}
