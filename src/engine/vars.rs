//! The host-side variables of a running environment: `DEVENV_<SERVICE>_URL/_HOST/_PORT`
//! from the published ports, plus the file's `export:` names. Shared by
//! `devenv env`, `devenv run` and the library API (`api`).
//! Must not: call Docker (it is given the observed containers) or print.

use indexmap::IndexMap;

use crate::error::Error;
use crate::observe::ObservedContainer;
use crate::plan::Plan;

/// `db-main` → `DB_MAIN`
pub fn env_name(service: &str) -> String {
    service.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect()
}

/// `DEVENV_<SERVICE>_URL/_HOST/_PORT` for running services, from their published ports.
pub fn host_side(plan: &Plan, observed: &[ObservedContainer]) -> IndexMap<String, String> {
    let mut out = IndexMap::new();
    for (name, svc) in &plan.services {
        let Some(c) = observed.iter().find(|c| c.service.as_deref() == Some(name.as_str())) else { continue };
        let container_port = svc.connection.as_ref().map(|c| c.port).or_else(|| svc.ports.first().map(|p| p.container_port));
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
        }
        out.insert(format!("DEVENV_{key}_HOST"), host);
        out.insert(format!("DEVENV_{key}_PORT"), published.host_port.to_string());
    }
    out
}

/// The file's top-level `export:` names, with `${svc.url}`, `${svc.host}` and
/// `${svc.port}` resolved to their host-side values.
pub fn exports(env: &crate::config::LoadedEnv, host: &IndexMap<String, String>) -> Result<IndexMap<String, String>, Error> {
    let mut out = IndexMap::new();
    for (name, template) in env.spec.export.iter().flatten() {
        let mut value = String::new();
        let mut rest = template.as_str();
        while let Some(start) = rest.find("${") {
            value.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                value.push_str(&rest[start..]);
                rest = "";
                break;
            };
            let inner = &after[..end];
            let resolved = inner.split_once('.').and_then(|(svc, field)| host.get(&format!("DEVENV_{}_{}", env_name(svc), field.to_ascii_uppercase())));
            match resolved {
                Some(v) => value.push_str(v),
                None => {
                    return Err(Error::Usage {
                        message: format!("export `{name}`: `${{{inner}}}` has no host-side value"),
                        hint: Some("references are `${SERVICE.url}`, `${SERVICE.host}` or `${SERVICE.port}` of a running service that publishes a port".into()),
                    })
                }
            }
            rest = &after[end + 1..];
        }
        value.push_str(rest);
        out.insert(name.clone(), value);
    }
    Ok(out)
}

/// Everything `devenv env` prints and `devenv run` passes: `DEVENV_*` plus `export:`.
pub fn env_vars(env: &crate::config::LoadedEnv, plan: &Plan, observed: &[ObservedContainer]) -> Result<IndexMap<String, String>, Error> {
    let mut vars = host_side(plan, observed);
    let exported = exports(env, &vars)?;
    vars.extend(exported);
    Ok(vars)
}

