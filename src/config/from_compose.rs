//! Compose → devenv: a compose project, in compose's own normalized form (the
//! JSON `docker compose config --format json` prints, which `compose::load`
//! reproduces), translated into devenv's `EnvSpec`.
//!
//! Two modes:
//! - [`Mode::Run`] keeps compose's semantics so a compose file runs unchanged:
//!   images as written, `depends_on` conditions as written, `service_healthy`
//!   on a service without a healthcheck probed over its protocol when the image
//!   is one of the five backing services (`health.protocol`).
//! - [`Mode::Import`] writes what a devenv user would: the five backing services
//!   become presets (image, env and volumes kept), so they get devenv's probes,
//!   connection URLs and seed support.
//!
//! Pure: no filesystem, no Docker. Keys this translation does not know are
//! reported as notes, never dropped silently.

use std::collections::BTreeSet;

use indexmap::IndexMap;
use serde_json::{Map, Value};

use super::model::EnvSpec;
use crate::preset::Kind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Run,
    Import,
}

/// The translated file and what the user should know about it.
#[derive(Debug, Clone)]
pub struct Converted {
    pub spec: EnvSpec,
    pub notes: Vec<String>,
}

/// A compose value devenv cannot express; `path` is the YAML path (`services.api.volumes[1]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvertError {
    pub path: String,
    pub message: String,
}

/// Service keys whose name and shape are the same in both files.
const SAME_KEYS: &[&str] = &[
    "image", "restart", "expose", "extra_hosts", "hostname", "container_name", "stop_grace_period", "stop_signal", "ulimits", "init",
    "tty", "stdin_open", "tmpfs", "privileged", "cap_add", "cap_drop", "shm_size", "labels", "working_dir", "user", "profiles",
];

/// Translate a normalized compose project.
pub fn to_env_spec(compose: &Value, mode: Mode) -> Result<Converted, ConvertError> {
    let mut notes = Vec::new();
    let empty = Map::new();
    let services = compose.get("services").and_then(Value::as_object).unwrap_or(&empty);
    let project = compose.get("name").and_then(Value::as_str).unwrap_or_default();

    // Services something waits on: `healthy` ones need a probe, `completed` ones are jobs.
    let mut wants_healthy = BTreeSet::new();
    let mut wants_completed = BTreeSet::new();
    for svc in services.values() {
        for (dep, d) in svc.get("depends_on").and_then(Value::as_object).unwrap_or(&empty) {
            match d.get("condition").and_then(Value::as_str) {
                Some("service_healthy") => wants_healthy.insert(dep.clone()),
                Some("service_completed_successfully") => wants_completed.insert(dep.clone()),
                _ => false,
            };
        }
    }

    let mut out = Map::new();
    if !project.is_empty() {
        out.insert("name".into(), Value::String(project.into()));
    }
    let mut out_services = Map::new();
    for (name, svc) in services {
        let ctx = Svc { name, wants_healthy: wants_healthy.contains(name), job: wants_completed.contains(name), mode };
        out_services.insert(name.clone(), Value::Object(service(&ctx, svc, services, &mut notes)?));
    }
    out.insert("services".into(), Value::Object(out_services));
    if let Some(v) = volumes(compose, project, &mut notes)? {
        out.insert("volumes".into(), v);
    }
    if let Some(n) = networks(compose, project) {
        out.insert("networks".into(), n);
    }
    for key in compose.as_object().unwrap_or(&empty).keys() {
        if !matches!(key.as_str(), "name" | "services" | "volumes" | "networks") && !key.starts_with("x-") {
            notes.push(format!("top-level `{key}` is not used by devenv"));
        }
    }

    let spec: EnvSpec = serde_json::from_value(Value::Object(out))
        .map_err(|e| ConvertError { path: String::new(), message: format!("cannot express this compose project in devenv's model: {e}") })?;
    Ok(Converted { spec, notes })
}

/// A YAML path in the translated file → the same value's path in the compose file
/// (`services.api.env.X` → `services.api.environment.X`, `watch` → `develop.watch`, …).
pub fn compose_path(devenv_path: &str) -> String {
    let mut parts: Vec<String> = devenv_path.splitn(4, '.').map(str::to_string).collect();
    if parts.len() >= 3 && parts[0] == "services" {
        let (key, index) = match parts[2].find('[') {
            Some(i) => (parts[2][..i].to_string(), parts[2][i..].to_string()),
            None => (parts[2].clone(), String::new()),
        };
        let renamed = match key.as_str() {
            "env" => "environment",
            "health" => "healthcheck",
            "watch" => "develop.watch",
            other => other,
        };
        parts[2] = format!("{renamed}{index}");
    }
    parts.join(".")
}

struct Svc<'a> {
    name: &'a str,
    wants_healthy: bool,
    job: bool,
    mode: Mode,
}

fn err(path: String, message: impl Into<String>) -> ConvertError {
    ConvertError { path, message: message.into() }
}

fn service(ctx: &Svc, svc: &Value, all: &Map<String, Value>, notes: &mut Vec<String>) -> Result<Map<String, Value>, ConvertError> {
    let name = ctx.name;
    let base = format!("services.{name}");
    let empty = Map::new();
    let src = svc.as_object().unwrap_or(&empty);
    let mut out = Map::new();
    let image = src.get("image").and_then(Value::as_str);
    let kind = image.and_then(Kind::from_image);
    if ctx.mode == Mode::Import
        && let Some(k) = kind
        && src.get("build").is_none()
    {
        out.insert("preset".into(), Value::String(k.name().into()));
    }
    let mut ignored = Vec::new();
    for (key, v) in src {
        if v.is_null() {
            continue;
        }
        let path = format!("{base}.{key}");
        match key.as_str() {
            k if SAME_KEYS.contains(&k) => {
                out.insert(key.clone(), v.clone());
            }
            "environment" => {
                out.insert("env".into(), v.clone());
            }
            "build" => {
                out.insert("build".into(), build(v));
            }
            "command" | "entrypoint" => {
                out.insert(key.clone(), v.clone());
            }
            "ports" => {
                out.insert("ports".into(), Value::Array(ports(v, &path)?));
            }
            "volumes" => {
                let (vols, tmpfs) = volumes_of(v, &path)?;
                if !vols.is_empty() {
                    out.insert("volumes".into(), Value::Array(vols));
                }
                if !tmpfs.is_empty() {
                    let entry = out.entry("tmpfs").or_insert_with(|| Value::Array(vec![]));
                    if let Value::Array(a) = entry {
                        a.extend(tmpfs);
                    }
                }
            }
            "depends_on" => {
                out.insert("depends_on".into(), depends_on(v, all, &path, notes));
            }
            "healthcheck" => {
                if let Some(h) = healthcheck(v, &path)? {
                    out.insert("health".into(), h);
                }
            }
            "networks" => {
                if let Some(n) = service_networks(v) {
                    out.insert("networks".into(), n);
                }
            }
            "develop" => {
                let (watch, more) = develop(v, &path)?;
                out.insert("watch".into(), Value::Array(watch));
                ignored.extend(more);
            }
            _ => ignored.push(key.clone()),
        }
    }
    // A volume of a preset's data directory replaces the preset's own (plan::resolve);
    // the file's `container_name` is kept as written (compose's default name differs).
    if ctx.job {
        out.insert("run".into(), Value::String("once".into()));
    }
    // `service_healthy` on a service with no healthcheck: compose would refuse; devenv
    // probes the five backing services over their own protocol.
    if ctx.wants_healthy && !out.contains_key("health") && out.get("preset").is_none() {
        match kind {
            Some(k) => {
                out.insert("health".into(), serde_json::json!({ "protocol": k.name() }));
            }
            None => notes.push(format!(
                "`{name}` is waited on with `service_healthy` but has no healthcheck: devenv uses the image's HEALTHCHECK if it has one"
            )),
        }
    }
    if !ignored.is_empty() {
        notes.push(format!("services.{name}: devenv ignores {}", ignored.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")));
    }
    Ok(out)
}

fn build(v: &Value) -> Value {
    let mut b = Map::new();
    for key in ["context", "dockerfile", "args", "target"] {
        if let Some(x) = v.get(key).filter(|x| !x.is_null()) {
            b.insert(key.into(), x.clone());
        }
    }
    if b.get("dockerfile").and_then(Value::as_str) == Some("Dockerfile") {
        b.remove("dockerfile");
    }
    Value::Object(b)
}

/// Compose's long port form → devenv's `ip:host:container/proto` strings.
fn ports(v: &Value, path: &str) -> Result<Vec<Value>, ConvertError> {
    let mut out = Vec::new();
    for (i, p) in v.as_array().into_iter().flatten().enumerate() {
        let target = p.get("target").and_then(Value::as_u64).ok_or_else(|| err(format!("{path}[{i}]"), "a port without a `target`"))?;
        let proto = p.get("protocol").and_then(Value::as_str).unwrap_or("tcp");
        let published = p.get("published").and_then(|x| x.as_str().map(str::to_string).or_else(|| x.as_u64().map(|n| n.to_string())));
        let ip = p.get("host_ip").and_then(Value::as_str).filter(|s| !s.is_empty());
        let mut s = String::new();
        if let Some(ip) = ip {
            let ip = if ip.contains(':') && !ip.starts_with('[') { format!("[{ip}]") } else { ip.to_string() };
            s.push_str(&ip);
            s.push(':');
            s.push_str(published.as_deref().unwrap_or(""));
            s.push(':');
        } else if let Some(h) = &published {
            s.push_str(h);
            s.push(':');
        }
        s.push_str(&target.to_string());
        if proto != "tcp" {
            s.push('/');
            s.push_str(proto);
        }
        out.push(Value::String(s));
    }
    Ok(out)
}

/// Compose's long volume form → devenv's `source:target[:ro]` strings, plus tmpfs mounts.
fn volumes_of(v: &Value, path: &str) -> Result<(Vec<Value>, Vec<Value>), ConvertError> {
    let (mut vols, mut tmpfs) = (Vec::new(), Vec::new());
    for (i, m) in v.as_array().into_iter().flatten().enumerate() {
        let at = format!("{path}[{i}]");
        let target = m.get("target").and_then(Value::as_str).ok_or_else(|| err(at.clone(), "a volume without a `target`"))?;
        let ro = m.get("read_only").and_then(Value::as_bool).unwrap_or(false);
        let suffix = if ro { ":ro" } else { "" };
        match m.get("type").and_then(Value::as_str).unwrap_or("volume") {
            "volume" => match m.get("source").and_then(Value::as_str).filter(|s| !s.is_empty()) {
                Some(src) => vols.push(Value::String(format!("{src}:{target}{suffix}"))),
                None => vols.push(Value::String(target.to_string())),
            },
            "bind" => {
                let src = m.get("source").and_then(Value::as_str).ok_or_else(|| err(at.clone(), "a bind mount without a `source`"))?;
                vols.push(Value::String(format!("{src}:{target}{suffix}")));
            }
            "tmpfs" => {
                let mut opts = Vec::new();
                if let Some(size) = m.pointer("/tmpfs/size") {
                    opts.push(format!("size={}", size.as_str().map(str::to_string).unwrap_or_else(|| size.to_string())));
                }
                if let Some(mode) = m.pointer("/tmpfs/mode").and_then(Value::as_u64) {
                    opts.push(format!("mode={mode:o}"));
                }
                tmpfs.push(Value::String(if opts.is_empty() { target.to_string() } else { format!("{target}:{}", opts.join(",")) }));
            }
            other => return Err(err(at, format!("volume type `{other}` is not supported by devenv (use volume, bind or tmpfs)"))),
        }
    }
    Ok((vols, tmpfs))
}

fn depends_on(v: &Value, all: &Map<String, Value>, path: &str, notes: &mut Vec<String>) -> Value {
    let mut out = Map::new();
    for (dep, d) in v.as_object().into_iter().flatten() {
        let required = d.get("required").and_then(Value::as_bool).unwrap_or(true);
        if !required && !all.contains_key(dep) {
            continue; // compose: an optional dependency that is not part of the project
        }
        if d.get("restart").and_then(Value::as_bool) == Some(true) {
            notes.push(format!("{path}.{dep}.restart: devenv does not restart a dependent when `{dep}` is restarted"));
        }
        let cond = match d.get("condition").and_then(Value::as_str) {
            Some("service_healthy") => "healthy",
            Some("service_completed_successfully") => "completed",
            _ => "started",
        };
        out.insert(dep.clone(), Value::String(cond.into()));
    }
    Value::Object(out)
}

/// `healthcheck` → `health`. Compose's `interval`/`timeout`/`retries` pace Docker's
/// polling; devenv polls itself every 100 ms, so only `start_period` carries over.
fn healthcheck(v: &Value, path: &str) -> Result<Option<Value>, ConvertError> {
    let mut h = Map::new();
    let disabled = v.get("disable").and_then(Value::as_bool) == Some(true);
    let test: Vec<String> = v.get("test").and_then(Value::as_array).into_iter().flatten().filter_map(|x| x.as_str().map(str::to_string)).collect();
    match test.first().map(String::as_str) {
        _ if disabled => {
            h.insert("disable".into(), Value::Bool(true));
        }
        Some("NONE") => {
            h.insert("disable".into(), Value::Bool(true));
        }
        Some("CMD") => {
            h.insert("exec".into(), Value::Array(test[1..].iter().cloned().map(Value::String).collect()));
        }
        Some("CMD-SHELL") => {
            h.insert("shell".into(), Value::String(test[1..].join(" ")));
        }
        None => return Ok(None), // timing only: the image's HEALTHCHECK stays
        Some(other) => return Err(err(format!("{path}.test"), format!("a healthcheck test starts with CMD, CMD-SHELL or NONE, not {other:?}"))),
    }
    if !disabled && let Some(sp) = v.get("start_period").filter(|x| !x.is_null()) {
        h.insert("start_period".into(), sp.clone());
    }
    Ok(Some(Value::Object(h)))
}

/// Only the default network, without aliases, is devenv's default: say nothing.
fn service_networks(v: &Value) -> Option<Value> {
    let m = v.as_object()?;
    if m.len() == 1 && m.get("default").is_some_and(Value::is_null) {
        return None;
    }
    let mut out = Map::new();
    for (n, cfg) in m {
        let mut c = Map::new();
        if let Some(a) = cfg.get("aliases").filter(|a| a.as_array().is_some_and(|a| !a.is_empty())) {
            c.insert("aliases".into(), a.clone());
        }
        if let Some(ip) = cfg.get("ipv4_address") {
            c.insert("ipv4_address".into(), ip.clone());
        }
        out.insert(n.clone(), if c.is_empty() { Value::Null } else { Value::Object(c) });
    }
    Some(Value::Object(out))
}

/// `develop.watch` → `watch` rules; returns other `develop` keys as ignored.
fn develop(v: &Value, path: &str) -> Result<(Vec<Value>, Vec<String>), ConvertError> {
    let mut rules = Vec::new();
    let mut ignored = Vec::new();
    for (k, _) in v.as_object().into_iter().flatten() {
        if k != "watch" {
            ignored.push(format!("develop.{k}"));
        }
    }
    for (i, w) in v.get("watch").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let at = format!("{path}.watch[{i}]");
        let p = w.get("path").and_then(Value::as_str).ok_or_else(|| err(at.clone(), "a watch rule without a `path`"))?;
        let action = match w.get("action").and_then(Value::as_str).unwrap_or("sync") {
            "sync" | "sync+exec" => "sync",
            "sync+restart" | "restart" => "restart",
            "rebuild" => "rebuild",
            other => return Err(err(format!("{at}.action"), format!("watch action `{other}` is not supported (sync, sync+restart, rebuild)"))),
        };
        let mut r = Map::new();
        r.insert("path".into(), Value::String(p.into()));
        if let Some(t) = w.get("target").and_then(Value::as_str) {
            r.insert("target".into(), Value::String(t.into()));
        }
        r.insert("action".into(), Value::String(action.into()));
        if let Some(ig) = w.get("ignore").filter(|x| x.as_array().is_some_and(|a| !a.is_empty())) {
            r.insert("ignore".into(), ig.clone());
        }
        if let Some(cmd) = w.pointer("/exec/command").filter(|c| !c.is_null()) {
            r.insert("exec".into(), cmd.clone());
        }
        rules.push(Value::Object(r));
    }
    Ok((rules, ignored))
}

/// Top-level volumes: devenv names them `{project}_{key}` like compose; other names,
/// external volumes and drivers cannot be expressed.
fn volumes(compose: &Value, project: &str, notes: &mut Vec<String>) -> Result<Option<Value>, ConvertError> {
    let Some(m) = compose.get("volumes").and_then(Value::as_object) else { return Ok(None) };
    let mut out = Map::new();
    for (k, cfg) in m {
        let path = format!("volumes.{k}");
        if cfg.get("external").and_then(Value::as_bool) == Some(true) {
            return Err(err(path, "external volumes are not supported by devenv: it only manages volumes it creates and labels"));
        }
        if let Some(name) = cfg.get("name").and_then(Value::as_str)
            && name != format!("{project}_{k}")
        {
            return Err(err(format!("{path}.name"), format!("devenv names volumes `{project}_{k}`; a custom name ({name:?}) is not supported")));
        }
        let extra: Vec<&String> = cfg.as_object().into_iter().flatten().map(|(k, _)| k).filter(|k| *k != "name" && *k != "external").collect();
        if !extra.is_empty() {
            notes.push(format!("{path}: devenv ignores {}", extra.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")));
        }
        out.insert(k.clone(), Value::Null);
    }
    Ok((!out.is_empty()).then_some(Value::Object(out)))
}

/// Top-level networks; the default network with its default name is implied.
fn networks(compose: &Value, project: &str) -> Option<Value> {
    let m = compose.get("networks").and_then(Value::as_object)?;
    let mut out = Map::new();
    for (k, cfg) in m {
        let mut n = IndexMap::new();
        let external = cfg.get("external").and_then(Value::as_bool) == Some(true);
        if let Some(name) = cfg.get("name").and_then(Value::as_str)
            && (external || name != format!("{project}_{k}"))
        {
            n.insert("name", Value::String(name.into()));
        }
        if external {
            n.insert("external", Value::Bool(true));
        }
        for key in ["driver", "labels", "internal"] {
            if let Some(x) = cfg.get(key).filter(|x| !x.is_null()) {
                n.insert(key, x.clone());
            }
        }
        if k == "default" && n.is_empty() {
            continue;
        }
        out.insert(k.clone(), if n.is_empty() { Value::Null } else { Value::Object(n.into_iter().map(|(k, v)| (k.to_string(), v)).collect()) });
    }
    (!out.is_empty()).then_some(Value::Object(out))
}

#[cfg(test)]
mod tests;
