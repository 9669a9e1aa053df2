//! Checks of the runtime options: top-level and service `networks`, `restart`,
//! `expose`, `extra_hosts`, `hostname`, `container_name`, `stop_signal`,
//! `ulimits`, `tmpfs`, `cap_add`/`cap_drop`, `shm_size` and `resources`.

use super::ctx::{Ctx, entry_path};
use crate::yaml::{did_you_mean, hint_for};
use std::collections::BTreeMap;

use crate::config::model::{EnvMap, EnvSpec, ServiceSpec};
use crate::labels::RESERVED_PREFIX;
use crate::config::parsed::RuntimeOptions;
use crate::values::runtime::{Resources, RestartPolicy};
use crate::values::runtime;
use crate::values::volumes::valid_name;
use crate::yaml::ConfigError;

/// Top-level `networks`: names, and `external` networks carry no creation settings.
pub(super) fn check_networks(spec: &EnvSpec, ctx: &Ctx) -> Result<(), ConfigError> {
    let mut explicit: Vec<(&str, &str)> = Vec::new();
    for (key, net) in &spec.networks {
        let path = format!("networks.{key}");
        let name_hint = || Some("network names use letters, digits, `_`, `.` and `-`, and start with a letter or digit".to_string());
        if !valid_name(key) {
            return Err(ctx.error(&path, format!("invalid network name {key:?}"), name_hint()));
        }
        if let Some(n) = &net.name {
            if !valid_name(n) {
                return Err(ctx.error(&format!("{path}.name"), format!("invalid Docker network name {n:?}"), name_hint()));
            }
            if let Some((_, other)) = explicit.iter().find(|(e, _)| e == n) {
                return Err(ctx.error(
                    &format!("{path}.name"),
                    format!("networks `{other}` and `{key}` are both named `{n}`"),
                    Some("give each network its own `name:`".into()),
                ));
            }
            explicit.push((n, key));
        }
        if net.external {
            let creation = [("driver", net.driver.is_some()), ("internal", net.internal), ("labels", !net.labels.is_empty())];
            if let Some((k, _)) = creation.iter().find(|(_, set)| *set) {
                return Err(ctx.error(
                    &format!("{path}.{k}"),
                    format!("network `{key}` is `external` (it must already exist; devenv never creates it), so `{k}` cannot apply"),
                    Some(format!("remove `{k}`, or remove `external: true` to let devenv create the network")),
                ));
            }
        }
        check_labels(&net.labels, &format!("{path}.labels"), ctx)?;
        if net.driver.as_deref().is_some_and(|d| d.trim().is_empty()) {
            return Err(ctx.error(&format!("{path}.driver"), "`driver` is empty", Some("write e.g. `driver: bridge`".into())));
        }
    }
    Ok(())
}

/// A service's `networks`: each one declared (or `default`), aliases valid, no fixed addresses.
pub(super) fn check_service_networks(name: &str, svc: &ServiceSpec, spec: &EnvSpec, base: &str, ctx: &Ctx) -> Result<(), ConfigError> {
    let field = format!("{base}.networks");
    for (i, (net, attach)) in svc.networks.0.iter().enumerate() {
        let path = entry_path(&field, net, i, ctx);
        if net != "default" && !spec.networks.contains_key(net) {
            let known: Vec<&str> = std::iter::once("default").chain(spec.networks.keys().map(String::as_str)).collect();
            let hint = match did_you_mean(net, known.iter().copied()) {
                Some(c) => format!("did you mean `{c}`?"),
                None => format!("declare it at the top level:\n  networks:\n    {net}:"),
            };
            return Err(ctx.error(&path, format!("`{name}` joins network `{net}`, which is not declared under the top-level `networks`"), Some(hint)));
        }
        if attach.ipv4_address.is_some() {
            return Err(ctx.error(
                &format!("{path}.ipv4_address"),
                "fixed container addresses (`ipv4_address`) are not supported",
                Some("remove it: Docker assigns the address; other services reach this one by its name or its `aliases`".into()),
            ));
        }
        for (j, alias) in attach.aliases.iter().enumerate() {
            if !runtime::valid_hostname(alias) {
                return Err(ctx.error(
                    &format!("{path}.aliases[{j}]"),
                    format!("invalid network alias {alias:?}"),
                    Some("aliases are DNS names: letters, digits, `-` and `_`, separated by dots".into()),
                ));
            }
        }
    }
    Ok(())
}

/// Every other runtime option of one service, parsed.
pub(super) fn check_options(name: &str, svc: &ServiceSpec, spec: &EnvSpec, base: &str, ctx: &Ctx) -> Result<RuntimeOptions, ConfigError> {
    check_labels(&svc.labels, &format!("{base}.labels"), ctx)?;
    let restart = check_restart(svc, base, ctx)?;
    let expose = check_expose(svc, base, ctx)?;
    let extra_hosts = check_extra_hosts(svc, base, ctx)?;
    check_names(name, svc, spec, base, ctx)?;
    check_stop_signal(svc, base, ctx)?;
    check_ulimits(svc, base, ctx)?;
    let tmpfs = check_tmpfs(svc, base, ctx)?;
    let [cap_add, cap_drop] = check_capabilities(svc, base, ctx)?;
    let shm_size = match &svc.shm_size {
        Some(size) => Some(
            runtime::parse_size(size).map_err(|e| ctx.error(&format!("{base}.shm_size"), e, Some("write bytes or e.g. `256m`, `1g`".into())))?,
        ),
        None => None,
    };
    let resources = check_resources(svc, base, ctx)?;
    Ok(RuntimeOptions { restart, expose, extra_hosts, tmpfs, cap_add, cap_drop, shm_size, resources })
}

/// `resources:`: CPUs, memory sizes and a process count, parsed.
fn check_resources(svc: &ServiceSpec, base: &str, ctx: &Ctx) -> Result<Resources, ConfigError> {
    let Some(r) = &svc.resources else { return Ok(Resources::default()) };
    let size = |v: &Option<String>, key: &str| -> Result<Option<i64>, ConfigError> {
        v.as_deref()
            .map(|s| {
                runtime::parse_size(s)
                    .map_err(|e| ctx.error(&format!("{base}.resources.{key}"), e, Some("write bytes or e.g. `512m`, `1g`".into())))
            })
            .transpose()
    };
    let nano_cpus = r
        .cpus
        .as_deref()
        .map(|c| runtime::parse_cpus(c).map_err(|e| ctx.error(&format!("{base}.resources.cpus"), e, Some("e.g. `cpus: 0.5`".into()))))
        .transpose()?;
    Ok(Resources { nano_cpus, memory: size(&r.memory, "memory")?, memory_reservation: size(&r.memory_reservation, "memory_reservation")?, pids: r.pids })
}

/// `dev.devenv.*` labels are devenv's own (project, owner, config hash): a file may not set them.
fn check_labels(labels: &EnvMap, field: &str, ctx: &Ctx) -> Result<(), ConfigError> {
    for (i, key) in labels.0.keys().enumerate() {
        if key.starts_with(RESERVED_PREFIX) {
            return Err(ctx.error(
                &entry_path(field, key, i, ctx),
                format!("label `{key}` is reserved: `{RESERVED_PREFIX}*` labels are set by devenv itself"),
                Some(format!("remove it, or use a label outside `{RESERVED_PREFIX}`")),
            ));
        }
    }
    Ok(())
}

fn check_restart(svc: &ServiceSpec, base: &str, ctx: &Ctx) -> Result<Option<RestartPolicy>, ConfigError> {
    if svc.restart.is_empty() {
        return Ok(None);
    }
    runtime::parse_restart(&svc.restart).map(Some).map_err(|e| {
        let word = svc.restart.split(':').next().unwrap_or("");
        let hint = hint_for(word, runtime::RESTART_VALUES, "restart policies").map(|h| format!("{h} (`on-failure:N` limits the restarts)"));
        ctx.error(&format!("{base}.restart"), e, hint)
    })
}

/// Exposed ports, deduplicated in written order.
fn check_expose(svc: &ServiceSpec, base: &str, ctx: &Ctx) -> Result<Vec<String>, ConfigError> {
    let mut out: Vec<String> = Vec::new();
    for (i, raw) in svc.expose.iter().enumerate() {
        let keys = runtime::parse_expose(raw).map_err(|e| {
            ctx.error(
                &format!("{base}.expose[{i}]"),
                format!("invalid exposed port {raw:?}: {e}"),
                Some("write a container port (\"3000\"), a range (\"8000-8002\") or \"9000/udp\"".into()),
            )
        })?;
        for key in keys {
            if !out.contains(&key) {
                out.push(key);
            }
        }
    }
    Ok(out)
}

fn check_extra_hosts(svc: &ServiceSpec, base: &str, ctx: &Ctx) -> Result<Vec<String>, ConfigError> {
    let field = format!("{base}.extra_hosts");
    let mut out = Vec::new();
    for (i, raw) in svc.extra_hosts.iter().enumerate() {
        match runtime::parse_extra_host(raw) {
            Ok(h) => out.push(h),
            Err(e) => {
                let host = raw.split([':', '=']).next().unwrap_or("");
                return Err(ctx.error(
                    &entry_path(&field, host, i, ctx),
                    format!("invalid extra host {raw:?}: {e}"),
                    Some("write \"host:ip\" (or a map `host: ip`), e.g. \"db.local:10.0.0.5\" or \"host.docker.internal:host-gateway\"".into()),
                ));
            }
        }
    }
    Ok(out)
}

fn check_names(name: &str, svc: &ServiceSpec, spec: &EnvSpec, base: &str, ctx: &Ctx) -> Result<(), ConfigError> {
    if let Some(h) = &svc.hostname
        && !runtime::valid_hostname(h)
    {
        return Err(ctx.error(
            &format!("{base}.hostname"),
            format!("invalid hostname {h:?}"),
            Some("a hostname is at most 64 characters: letters, digits, `-` and `_`, separated by dots".into()),
        ));
    }
    let Some(c) = &svc.container_name else { return Ok(()) };
    let path = format!("{base}.container_name");
    if !runtime::valid_container_name(c) {
        return Err(ctx.error(
            &path,
            format!("invalid container name {c:?}"),
            Some("Docker container names match [a-zA-Z0-9][a-zA-Z0-9_.-]+ (at least two characters)".into()),
        ));
    }
    let first = spec.services.iter().find(|(_, s)| s.container_name.as_deref() == Some(c.as_str())).map(|(n, _)| n);
    if let Some(other) = first.filter(|o| o.as_str() != name) {
        return Err(ctx.error(
            &path,
            format!("services `{other}` and `{name}` both use the container name `{c}`"),
            Some("container names are unique on a Docker engine: give each service its own".into()),
        ));
    }
    Ok(())
}

fn check_stop_signal(svc: &ServiceSpec, base: &str, ctx: &Ctx) -> Result<(), ConfigError> {
    let Some(sig) = &svc.stop_signal else { return Ok(()) };
    runtime::check_signal(sig).map_err(|e| {
        let upper = sig.trim().to_ascii_uppercase();
        let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
        let hint = did_you_mean(bare, runtime::SIGNALS.iter().copied()).map(|s| format!("did you mean `SIG{s}`?"));
        ctx.error(&format!("{base}.stop_signal"), e, hint.or_else(|| Some("write e.g. `SIGINT`, `SIGQUIT` or a number".into())))
    })
}

fn check_ulimits(svc: &ServiceSpec, base: &str, ctx: &Ctx) -> Result<(), ConfigError> {
    for (limit, u) in &svc.ulimits {
        let path = format!("{base}.ulimits.{limit}");
        if !runtime::ULIMITS.contains(&limit.as_str()) {
            return Err(ctx.error(&path, format!("unknown ulimit `{limit}`"), hint_for(limit, runtime::ULIMITS, "ulimits")));
        }
        if u.soft < -1 || u.hard < -1 {
            return Err(ctx.error(&path, format!("ulimit `{limit}` must be a whole number ≥ 0, or -1 for unlimited"), None));
        }
        let unlimited = |v: i64| v == -1;
        if !unlimited(u.hard) && (unlimited(u.soft) || u.soft > u.hard) {
            let soft = format!("{path}.soft");
            let at = if ctx.locations.contains(&soft) { soft } else { path };
            return Err(ctx.error(
                &at,
                format!("ulimit `{limit}`: the soft limit ({}) is above the hard limit ({})", u.soft, u.hard),
                Some("the soft limit must not exceed the hard limit".into()),
            ));
        }
    }
    Ok(())
}

fn check_tmpfs(svc: &ServiceSpec, base: &str, ctx: &Ctx) -> Result<BTreeMap<String, String>, ConfigError> {
    let mut out = BTreeMap::new();
    for (i, raw) in svc.tmpfs.iter().enumerate() {
        match runtime::parse_tmpfs(raw) {
            Ok((path, opts)) => {
                out.insert(path, opts);
            }
            Err(e) => {
                let item = format!("{base}.tmpfs[{i}]");
                let path = if ctx.locations.contains(&item) { item } else { format!("{base}.tmpfs") };
                let hint = Some("write \"/path\" or \"/path:size=64m,mode=1777\"".into());
                return Err(ctx.error(&path, format!("invalid tmpfs mount {raw:?}: {e}"), hint));
            }
        }
    }
    Ok(out)
}

/// `cap_add` and `cap_drop`, normalized (upper case, without `CAP_`).
fn check_capabilities(svc: &ServiceSpec, base: &str, ctx: &Ctx) -> Result<[Vec<String>; 2], ConfigError> {
    let mut out: [Vec<String>; 2] = Default::default();
    for (n, (key, caps)) in [("cap_add", &svc.cap_add), ("cap_drop", &svc.cap_drop)].into_iter().enumerate() {
        for (i, cap) in caps.iter().enumerate() {
            if let Some(c) = runtime::capability(cap) {
                out[n].push(c);
            } else {
                let upper = cap.trim().to_ascii_uppercase();
                let bare = upper.strip_prefix("CAP_").unwrap_or(&upper);
                return Err(ctx.error(
                    &format!("{base}.{key}[{i}]"),
                    format!("unknown capability {cap:?}"),
                    hint_for(bare, runtime::CAPABILITIES, "capabilities").or_else(|| Some("see `man 7 capabilities`".into())),
                ));
            }
        }
    }
    Ok(out)
}
