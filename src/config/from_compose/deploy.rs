//! The resource keys and `deploy.restart_policy` of a compose service, as
//! compose v2 gives them to the engine: `cpus` / `limits.cpus` → NanoCpus,
//! `mem_limit` / `limits.memory` → Memory, `mem_reservation` /
//! `reservations.memory` → MemoryReservation, `pids_limit` / `limits.pids` →
//! PidsLimit (the loader has checked that twins agree); `restart_policy`
//! replaces `restart` (`none` → no, `any` → always, `max_attempts` with
//! `on-failure`). `reservations.cpus`, `delay` and `window` reach no engine
//! setting (Swarm's), in compose as here.

use crate::compose::ComposeService;
use crate::config::model::ResourcesSpec;

/// `resources:` in devenv's words, or `None` when the service sets no limit.
pub(super) fn resources(svc: &ComposeService) -> Option<ResourcesSpec> {
    let res = svc.deploy.as_ref().and_then(|d| d.resources.as_ref());
    let limits = res.and_then(|r| r.limits.as_ref());
    let reservations = res.and_then(|r| r.reservations.as_ref());
    let spec = ResourcesSpec {
        cpus: svc.cpus.or(limits.and_then(|l| l.cpus)).map(|c| c.to_string()),
        memory: svc.mem_limit.or(limits.and_then(|l| l.memory)).map(|b| b.0.to_string()),
        memory_reservation: svc.mem_reservation.or(reservations.and_then(|l| l.memory)).map(|b| b.0.to_string()),
        pids: svc.pids_limit.or(limits.and_then(|l| l.pids)),
    };
    (spec != ResourcesSpec::default()).then_some(spec)
}

/// `restart:` in devenv's words: `deploy.restart_policy` when written, else `restart`.
/// `max_attempts` only counts with `on-failure` (the engine refuses it with
/// another policy); an unwritten condition is compose's empty policy, no restart.
pub(super) fn restart(svc: &ComposeService, notes: &mut Vec<String>, base: &str) -> String {
    let Some(p) = svc.deploy.as_ref().and_then(|d| d.restart_policy.as_ref()) else {
        return svc.restart.clone().unwrap_or_default();
    };
    let name = match p.condition.as_deref() {
        Some("on-failure") => "on-failure",
        Some("any" | "always") => "always",
        Some("unless-stopped") => "unless-stopped",
        _ => "no",
    };
    match p.max_attempts.filter(|n| *n > 0) {
        Some(n) if name == "on-failure" => format!("on-failure:{n}"),
        Some(n) => {
            notes.push(format!(
                "{base}.deploy.restart_policy.max_attempts: {n} is not used: the engine counts attempts only with `condition: on-failure`"
            ));
            name.to_string()
        }
        None => name.to_string(),
    }
}

/// `replicas:` in devenv's words: `scale`, else `deploy.replicas` (the loader
/// has checked that they agree when both are written).
pub(super) fn replicas(svc: &ComposeService, base: &str) -> Result<Option<u32>, super::ConvertError> {
    let (n, key) = match (svc.scale, svc.deploy.as_ref().and_then(|d| d.replicas)) {
        (Some(n), _) => (n, "scale"),
        (None, Some(n)) => (n, "deploy.replicas"),
        (None, None) => return Ok(None),
    };
    u32::try_from(n).map(Some).map_err(|_| super::err(format!("{base}.{key}"), format!("`{key}: {n}`: the number of containers must be 0 or more")))
}
