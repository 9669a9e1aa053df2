//! Pre-flight checks run before anything is created.

use std::net::TcpListener;

use crate::error::Error;
use crate::observe::ObservedContainer;
use crate::diff::{Step, StepKind};
use crate::plan::Plan;

/// Every host port a step will publish must be free, unless one of this
/// project's own containers holds it (it is kept, or about to be replaced).
pub fn check_ports(plan: &Plan, steps: &[Step], observed: &[ObservedContainer]) -> Result<(), Error> {
    let ours: Vec<u16> = observed.iter().flat_map(|c| c.ports.iter().map(|p| p.host_port)).collect();
    for step in steps {
        if !matches!(step.kind, StepKind::Create | StepKind::Recreate { .. } | StepKind::Start) {
            continue;
        }
        let Some(svc) = plan.services.get(&step.service) else { continue };
        for p in &svc.ports {
            let Some(host_port) = p.host_port else { continue };
            if p.protocol != "tcp" || ours.contains(&host_port) {
                continue;
            }
            let ip = p.host_ip.clone().unwrap_or_else(|| "127.0.0.1".into());
            if let Some(addr) = port_in_use(&ip, host_port) {
                return Err(Error::Preflight {
                    message: format!("host port {host_port} ({addr}) for `{}` is already in use by another process", step.service),
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
