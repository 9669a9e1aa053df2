//! Replicas: a service with `replicas` (compose's `deploy.replicas` / `scale`,
//! or `up --scale`) runs that many containers, named like compose's
//! `<project>-<service>-<n>` (n from 1); a service without them keeps one
//! container named `<project>-<service>` (or its `container_name`), so an
//! environment created before replicas existed is not recreated.
//!
//! Owns: the replica names, the host port each replica publishes (a host port
//! range is spread: replica n takes the range's n-th port), and the checks
//! that make several replicas possible. Pure.

use super::hash::config_hash;
use super::model::{Plan, ResolvedService};
use crate::values::PortSpec;

impl ResolvedService {
    /// How many containers the service runs.
    pub fn replica_count(&self) -> u32 {
        self.replicas.unwrap_or(1)
    }

    /// The replica numbers the service runs: `[None]` for a service without
    /// replicas, `[Some(1)…Some(n)]` with them (none for `replicas: 0`).
    pub fn replica_numbers(&self) -> Vec<Option<u32>> {
        match self.replicas {
            None => vec![None],
            Some(n) => (1..=n).map(Some).collect(),
        }
    }

    /// The container name of replica `n` (`None`: the one container of a service without replicas).
    pub fn replica_container_name(&self, project: &str, n: Option<u32>) -> String {
        match n {
            Some(n) => format!("{project}-{}-{n}", self.name),
            None => self.container_name.clone(),
        }
    }

    /// The service as replica `n` is created: its container name, its host
    /// ports and the replica-number label (`labels::REPLICA`, which `observe` reads back).
    pub fn as_replica(&self, project: &str, n: Option<u32>) -> ResolvedService {
        let mut svc = self.clone();
        svc.container_name = self.replica_container_name(project, n);
        if let Some(n) = n {
            svc.labels.insert(crate::labels::REPLICA.into(), n.to_string());
        }
        for p in &mut svc.ports {
            p.host_port = replica_host_port(p, n.unwrap_or(1));
            p.host_port_end = None;
        }
        svc
    }
}

/// The host port replica `n` publishes for `p`: a range's n-th port, else the one written.
pub fn replica_host_port(p: &PortSpec, n: u32) -> Option<u16> {
    let lo = p.host_port?;
    match p.host_port_end {
        Some(_) => u16::try_from(u32::from(lo) + n.saturating_sub(1)).ok(),
        None => Some(lo),
    }
}

/// Why `svc` cannot run `n` containers, if it cannot: an own container name,
/// or a fixed host port (or a range with fewer ports than replicas).
pub fn check(svc: &ResolvedService, project: &str, n: u32) -> Result<(), String> {
    if n <= 1 {
        return Ok(());
    }
    let name = &svc.name;
    if svc.container_name != format!("{project}-{name}") {
        return Err(format!("`{name}` cannot run {n} replicas: it has `container_name: {}`, and a container name must be unique", svc.container_name));
    }
    for p in &svc.ports {
        let Some(lo) = p.host_port else { continue };
        let available = u32::from(p.host_port_end.unwrap_or(lo) - lo) + 1;
        if available < n {
            let what = if available == 1 { format!("host port {lo}") } else { format!("a range of {available} host ports from {lo}") };
            return Err(format!("`{name}` cannot run {n} replicas: it publishes {what} for container port {}, and the replicas would clash on it", p.container_port));
        }
    }
    Ok(())
}

/// `up --scale SERVICE=N`: run N containers of `service` (over the file's count).
pub fn scale(plan: &mut Plan, service: &str, n: u32) -> Result<(), String> {
    let project = plan.project.clone();
    let Some(svc) = plan.services.get_mut(service) else { return Err(format!("no service `{service}`")) };
    check(svc, &project, n)?;
    svc.replicas = Some(n);
    svc.config_hash = config_hash(svc, &project);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::plan_of;

    #[test]
    fn replicas_are_named_like_compose_and_spread_a_port_range() {
        let p = plan_of("name: shop\nservices:\n  web:\n    image: x\n    replicas: 3\n    ports: [\"8080-8082:80\", \":90\"]\n  one:\n    image: x\n");
        let web = &p.services["web"];
        assert_eq!(web.replica_numbers(), [Some(1), Some(2), Some(3)]);
        assert_eq!(web.replica_container_name("shop", Some(2)), "shop-web-2");
        let third = web.as_replica("shop", Some(3));
        assert_eq!((third.container_name.as_str(), third.ports[0].host_port, third.ports[1].host_port), ("shop-web-3", Some(8082), None));
        assert_eq!(third.labels.get(crate::labels::REPLICA).map(String::as_str), Some("3"));
        let one = &p.services["one"];
        assert_eq!((one.replica_numbers(), one.as_replica("shop", None).container_name), (vec![None], "shop-one".to_string()));
    }

    #[test]
    fn scale_refuses_what_compose_cannot_run_twice() {
        let mut p = plan_of("name: shop\nservices:\n  web:\n    image: x\n    ports: [\"8080:80\"]\n  named:\n    image: x\n    container_name: mine\n  ok:\n    image: x\n    ports: [\":80\", \"9000-9001:90\"]\n");
        assert!(scale(&mut p, "web", 2).unwrap_err().contains("host port 8080"));
        assert!(scale(&mut p, "named", 2).unwrap_err().contains("container_name: mine"));
        assert!(scale(&mut p, "ok", 3).unwrap_err().contains("range of 2 host ports"));
        let before = p.services["ok"].config_hash.clone();
        scale(&mut p, "ok", 2).unwrap();
        assert_eq!((p.services["ok"].replicas, &p.services["ok"].config_hash), (Some(2), &before), "the count is not in the hash");
        scale(&mut p, "web", 1).unwrap();
        assert!(scale(&mut p, "nope", 1).is_err());
    }
}
