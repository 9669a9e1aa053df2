//! The host-side variables of a running environment: `DEVENV_<SERVICE>_URL/_HOST/_PORT`
//! from the published ports (`_URL` for presets, and `http://HOST:PORT` for
//! services whose readiness is an HTTP probe, or a compose healthcheck that
//! is one: `curl -f`/`wget` of the container itself), plus the file's `export:` names. Shared by
//! `devenv env`, `devenv run` and the library API (`api`).
//! Must not: call Docker (it is given the observed containers) or print.

use indexmap::IndexMap;

use crate::observe::ObservedContainer;
use crate::plan::healthcheck::Native;
use crate::plan::{Plan, Probe};

/// `db-main` → `DB_MAIN`
pub fn env_name(service: &str) -> String {
    service.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect()
}

/// `DEVENV_<SERVICE>_URL/_HOST/_PORT` for running services, from their published ports.
pub fn host_side(plan: &Plan, observed: &[ObservedContainer]) -> IndexMap<String, String> {
    let mut out = IndexMap::new();
    for (name, svc) in &plan.services {
        // Replica 1 of a service with replicas (a container without the label is the service's one).
        let Some(c) = observed.iter().find(|c| c.service.as_deref() == Some(name.as_str()) && c.replica.unwrap_or(1) == 1) else { continue };
        // An app whose readiness is an HTTP probe (written so, or a compose
        // healthcheck `curl -f`/`wget` of the container itself) is reached over HTTP on that port.
        let http_port = match svc.health.as_ref().map(|h| &h.probe) {
            _ if svc.connection.is_some() => None,
            Some(Probe::Http { port, .. }) | Some(Probe::Exec { native: Some(Native::Http { port, .. }), .. }) => Some(*port),
            _ => None,
        };
        let container_port = svc.connection.as_ref().map(|c| c.port).or(http_port).or_else(|| svc.ports.first().map(|p| p.container_port));
        let Some(cp) = container_port else { continue };
        let Some(published) = c.ports.iter().find(|p| p.container_port == cp && p.protocol == "tcp") else { continue };
        let host = if published.host_ip.is_empty() || published.host_ip == "0.0.0.0" || published.host_ip == "::" {
            "127.0.0.1".to_string()
        } else {
            published.host_ip.clone()
        };
        let key = env_name(name);
        if let Some(conn) = &svc.connection {
            out.insert(format!("DEVENV_{key}_URL"), conn.url(&host, published.host_port));
        } else if http_port.is_some() {
            let authority = if host.contains(':') { format!("[{host}]") } else { host.clone() };
            out.insert(format!("DEVENV_{key}_URL"), format!("http://{authority}:{}", published.host_port));
        }
        out.insert(format!("DEVENV_{key}_HOST"), host);
        out.insert(format!("DEVENV_{key}_PORT"), published.host_port.to_string());
    }
    out
}

/// The file's top-level `export:` names, with `${svc.url}`, `${svc.host}` and
/// `${svc.port}` resolved to their host-side values. An export that names a
/// service with no host-side value (not running, or publishing no port) is left
/// out, with a note saying why — never an error: `devenv up -d db` followed by
/// `devenv env` must work whatever else the file exports.
pub fn exports(env: &crate::config::LoadedEnv, host: &IndexMap<String, String>) -> (IndexMap<String, String>, Vec<String>) {
    let mut out = IndexMap::new();
    let mut notes = Vec::new();
    for (name, template) in env.spec.export.iter().flatten() {
        match expand(template, host) {
            Ok(value) => {
                out.insert(name.clone(), value);
            }
            Err(inner) => notes.push(format!(
                "export `{name}` left out: `${{{inner}}}` has no host-side value (is `{}` running and publishing a port?)",
                inner.split_once('.').map_or(inner.as_str(), |(svc, _)| svc)
            )),
        }
    }
    (out, notes)
}

/// `template` with every `${svc.field}` replaced; the first reference without a value is the error.
fn expand(template: &str, host: &IndexMap<String, String>) -> Result<String, String> {
    let mut value = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        value.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            value.push_str(&rest[start..]);
            return Ok(value);
        };
        let inner = &after[..end];
        let resolved = inner.split_once('.').and_then(|(svc, field)| host.get(&format!("DEVENV_{}_{}", env_name(svc), field.to_ascii_uppercase())));
        value.push_str(resolved.ok_or_else(|| inner.to_string())?);
        rest = &after[end + 1..];
    }
    value.push_str(rest);
    Ok(value)
}

/// Everything `devenv env` prints and `devenv run` passes: `DEVENV_*` plus
/// `export:`, and notes on exports left out (for the caller to show).
pub fn env_vars(env: &crate::config::LoadedEnv, plan: &Plan, observed: &[ObservedContainer]) -> (IndexMap<String, String>, Vec<String>) {
    let mut vars = host_side(plan, observed);
    let (exported, notes) = exports(env, &vars);
    vars.extend(exported);
    (vars, notes)
}
