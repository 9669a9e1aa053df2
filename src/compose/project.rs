//! From the merged, normalized tree to a [`ComposeProject`]: services decoded,
//! profiles applied, compose's consistency checks, `env_file`s read into
//! `environment`, devenv's review of unsupported keys, and only the networks
//! and volumes enabled services use (as `docker compose config` prints them).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use indexmap::IndexMap;
use serde_yaml::{Mapping, Value};

use super::decode::Decoder;
use super::loader::Loader;
use super::model::{ComposeProject, ComposeService, FileObject, FileRef};
use super::normalize::Env;
use super::source::ComposeLocations;
use super::unsupported::{host_platform, review};
use crate::yaml::ConfigError;
use crate::yaml::interpolate::{dotenv_map, parse_dotenv};

type R<T> = Result<T, ConfigError>;

/// What `assemble` needs besides the tree.
pub struct Assembly {
    pub name: String,
    pub env: Env,
    pub files: Vec<PathBuf>,
    pub dir: PathBuf,
    pub profiles: Vec<String>,
}

pub fn assemble(mut dict: Mapping, loader: Loader, a: Assembly) -> R<ComposeProject> {
    let Loader { locs, mut warnings, unset, .. } = loader;
    let services_raw = match dict.shift_remove("services") {
        Some(Value::Mapping(m)) => m,
        _ => Mapping::new(),
    };
    let mut names: Vec<String> = services_raw.keys().filter_map(|k| k.as_str().map(String::from)).collect();
    names.sort();

    // Decode every service (compose decodes before applying profiles).
    let empty = Mapping::new();
    let mut decoded: Vec<(String, ComposeService, Vec<String>)> = Vec::new();
    for name in &names {
        let raw = services_raw.get(name.as_str()).and_then(Value::as_mapping).unwrap_or(&empty);
        let mut dec = Decoder { locs: &locs, warnings: Vec::new() };
        let svc = dec.service(name, raw)?;
        decoded.push((name.clone(), svc, dec.warnings));
    }

    // Profiles: a service with profiles runs only when one of them is active (`*`: all).
    let active = |svc: &ComposeService| svc.profiles.is_empty() || a.profiles.iter().any(|p| p == "*" || svc.profiles.contains(p));
    let mut services: IndexMap<String, ComposeService> = IndexMap::new();
    let mut disabled: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, svc, w) in decoded {
        if active(&svc) {
            warnings.extend(w);
            services.insert(name, svc);
        } else {
            disabled.insert(name, svc.profiles);
        }
    }

    let networks_raw = dict.get("networks").and_then(Value::as_mapping).cloned().unwrap_or_default();
    let volumes_raw = dict.get("volumes").and_then(Value::as_mapping).cloned().unwrap_or_default();
    check_consistency(&services, &disabled, &networks_raw, &volumes_raw, &locs)?;

    let host = host_platform();
    for (name, svc) in services.iter_mut() {
        resolve_env(name, svc, &a.env, &locs, &mut warnings)?;
        let raw = services_raw.get(name.as_str()).and_then(Value::as_mapping).unwrap_or(&empty);
        let r = review(name, raw, &host);
        if let Some(refusal) = r.refused {
            let path = if refusal.key.starts_with('[') {
                format!("services.{name}{}", refusal.key)
            } else {
                format!("services.{name}.{}", refusal.key)
            };
            return Err(locs.error(&path, refusal.message, Some(refusal.hint)));
        }
        if !r.ignored.is_empty() {
            warnings.push(format!("service `{name}`: devenv ignores {}", r.ignored.join(", ")));
        }
        warnings.extend(r.notes.iter().map(|n| format!("service `{name}`: {n}")));
        svc.ignored_keys = r.ignored;
    }

    // Only what enabled services use, like `docker compose config`.
    let dec = Decoder { locs: &locs, warnings: Vec::new() };
    let used_networks: BTreeSet<&str> = services.values().flat_map(|s| s.networks.keys().map(String::as_str)).collect();
    let mut networks = BTreeMap::new();
    for (k, v) in &networks_raw {
        let Some(n) = k.as_str() else { continue };
        if used_networks.contains(n) {
            networks.insert(n.to_string(), dec.network(n, v)?);
        }
    }
    let used_volumes: BTreeSet<&str> =
        services.values().flat_map(|s| s.volumes.iter().filter(|v| v.kind == "volume").filter_map(|v| v.source.as_deref())).collect();
    let mut volumes = BTreeMap::new();
    for (k, v) in &volumes_raw {
        let Some(n) = k.as_str() else { continue };
        if used_volumes.contains(n) {
            volumes.insert(n.to_string(), dec.volume(n, v)?);
        }
    }
    let secrets = file_objects(&dict, "secrets", &services, secret_uses, &dec, &locs)?;
    let configs = file_objects(&dict, "configs", &services, |s| uses(&s.configs, "configs", ""), &dec, &locs)?;
    check_file_objects("secrets", &secrets, &locs)?;
    check_file_objects("configs", &configs, &locs)?;
    let extensions: BTreeMap<String, Value> =
        dict.iter().filter_map(|(k, v)| k.as_str().filter(|k| k.starts_with("x-")).map(|k| (k.to_string(), v.clone()))).collect();
    warnings.extend(unset.into_messages());

    Ok(ComposeProject {
        name: a.name,
        services,
        networks,
        volumes,
        secrets,
        configs,
        extensions,
        warnings,
        files: a.files,
        dir: a.dir,
        locations: locs,
        environment: a.env,
        disabled_services: disabled.into_keys().collect(),
    })
}

/// One service's references to `secrets` or `configs`: (key path under the
/// service, what compose calls it, the reference).
type Uses<'a> = Vec<(String, &'static str, &'a FileRef)>;

fn uses<'a>(refs: &'a [FileRef], key: &str, kind: &'static str) -> Uses<'a> {
    refs.iter().enumerate().map(|(i, r)| (format!("{key}[{i}]"), kind, r)).collect()
}

/// A service's secrets and its build's (`build.secrets`, compose's "build secret").
fn secret_uses(s: &ComposeService) -> Uses<'_> {
    let mut out = uses(&s.secrets, "secrets", "");
    out.extend(s.build.iter().flat_map(|b| uses(&b.secrets, "build.secrets", "build ")));
    out
}

/// The top-level `secrets` or `configs` the enabled services (and their
/// builds) use (like `docker compose config`); a service naming one that is
/// not defined is compose's "refers to undefined secret" error.
fn file_objects(
    dict: &Mapping,
    top: &str,
    services: &IndexMap<String, ComposeService>,
    refs: impl Fn(&ComposeService) -> Uses<'_>,
    dec: &Decoder,
    locs: &ComposeLocations,
) -> R<BTreeMap<String, FileObject>> {
    let raw = dict.get(top).and_then(Value::as_mapping).cloned().unwrap_or_default();
    let mut out = BTreeMap::new();
    for (name, svc) in services {
        for (key, kind, r) in refs(svc) {
            if out.contains_key(&r.source) {
                continue;
            }
            let Some(v) = raw.get(r.source.as_str()) else {
                let what = top.trim_end_matches('s');
                let message = format!("service \"{name}\" refers to undefined {kind}{what} {}: invalid compose project", r.source);
                let hint = format!("define it under the top-level `{top}:` (e.g. `{top}: {{{}: {{file: ./{}.txt}}}}`)", r.source, r.source);
                return Err(locs.error(&format!("services.{name}.{key}"), message, Some(hint)));
            };
            out.insert(r.source.clone(), dec.file_object(top, &r.source, v)?);
        }
    }
    Ok(out)
}

/// The secrets and configs services use, checked before anything is created:
/// a `file:` must exist (compose would fail creating the container: "bind
/// source path does not exist"); external ones and drivers are swarm's, which
/// compose refuses too.
fn check_file_objects(top: &str, objects: &BTreeMap<String, FileObject>, locs: &ComposeLocations) -> R<()> {
    let see = |hint: &str| Some(hint.to_string());
    let what = &top[..top.len() - 1];
    for (name, obj) in objects {
        let at = format!("{top}.{name}");
        if obj.external {
            let message = format!("unsupported external {what} {}: external {top} belong to swarm", obj.name);
            return Err(locs.error(&format!("{at}.external"), message, see("use `file:` with a local file")));
        }
        if obj.driver.is_some() {
            let message = format!("Docker Compose does not support {top}.*.driver (swarm only), nor does devenv");
            return Err(locs.error(&at, message, see("remove `driver` / `template_driver`")));
        }
        if let Some(file) = &obj.file
            && !std::path::Path::new(file).is_file()
        {
            let message = format!("{what} `{name}`: file {file} does not exist");
            return Err(locs.error(&format!("{at}.file"), message, see(&format!("create it, or fix `{at}.file` (relative to the compose file)"))));
        }
    }
    Ok(())
}

/// compose-go `checkConsistency` (the checks that apply to devenv's subset).
fn check_consistency(
    services: &IndexMap<String, ComposeService>,
    disabled: &BTreeMap<String, Vec<String>>,
    networks: &Mapping,
    volumes: &Mapping,
    locs: &ComposeLocations,
) -> R<()> {
    for (name, svc) in services {
        let at = |key: &str| if key.is_empty() { format!("services.{name}") } else { format!("services.{name}.{key}") };
        if svc.image.is_none() && svc.build.is_none() {
            return Err(locs.error(
                &at(""),
                format!("service {name:?} has neither an image nor a build context specified"),
                Some("add `image: …` or `build: ./dir`".into()),
            ));
        }
        if let (Some(p), Some(b)) = (&svc.platform, &svc.build)
            && !b.platforms.is_empty()
            && !b.platforms.contains(p)
        {
            return Err(locs.error(
                &at("build.platforms"),
                format!("service.build.platforms MUST include service.platform {p:?}: invalid compose project"),
                Some(format!("add {p} to `build.platforms`, or remove `platform`")),
            ));
        }
        for net in svc.networks.keys() {
            if !networks.contains_key(net.as_str()) {
                return Err(locs.error(
                    &at(&format!("networks.{net}")),
                    format!("service {name:?} refers to undefined network {net}"),
                    Some(format!("declare it at the top level:\n  networks:\n    {net}:")),
                ));
            }
        }
        if let Some(h) = &svc.healthcheck
            && let Some(first) = h.test.first()
            && !matches!(first.as_str(), "CMD" | "CMD-SHELL" | "NONE")
        {
            return Err(locs.error(
                &at("healthcheck.test"),
                "healthcheck.test must start either by \"CMD\", \"CMD-SHELL\" or \"NONE\"",
                Some("e.g. [\"CMD\", \"pg_isready\"], or a string for a shell command".into()),
            ));
        }
        check_depends_on(name, svc, services, disabled, locs)?;
        for (i, v) in svc.volumes.iter().enumerate() {
            if v.kind == "volume"
                && let Some(src) = v.source.as_deref().filter(|s| !s.is_empty())
                && !volumes.contains_key(src)
            {
                return Err(locs.error(
                    &at(&format!("volumes[{i}]")),
                    format!("service {name:?} refers to undefined volume {src}"),
                    Some(format!("declare it at the top level:\n  volumes:\n    {src}:")),
                ));
            }
        }
        check_resources(name, svc, locs)?;
        if let Some(d) = &svc.develop {
            for (i, w) in d.watch.iter().enumerate() {
                if w.action != "rebuild" && w.target.is_none() {
                    return Err(locs.error(
                        &at(&format!("develop.watch[{i}]")),
                        format!("services.{name}.develop.watch: target is required for non-rebuild actions"),
                        Some("add `target: /path/in/container`".into()),
                    ));
                }
            }
        }
    }
    check_cycles(services, locs)
}

/// Every `depends_on` target exists (or is disabled by a profile and not required).
fn check_depends_on(
    name: &str,
    svc: &ComposeService,
    services: &IndexMap<String, ComposeService>,
    disabled: &BTreeMap<String, Vec<String>>,
    locs: &ComposeLocations,
) -> R<()> {
    for (dep, cfg) in &svc.depends_on {
        if services.contains_key(dep) {
            continue;
        }
        let hint = match disabled.get(dep) {
            Some(_) if !cfg.required => continue,
            Some(profiles) => format!(
                "`{dep}` only runs with profile {}: enable it (--profile {}) or mark the dependency `required: false`",
                profiles.join(", "),
                profiles.first().map(String::as_str).unwrap_or_default()
            ),
            None => format!("services: {}", services.keys().cloned().collect::<Vec<_>>().join(", ")),
        };
        return Err(locs.error(
            &format!("services.{name}.depends_on.{dep}"),
            format!("service {name:?} depends on undefined service {dep:?}"),
            Some(hint),
        ));
    }
    Ok(())
}

/// compose-go `graph.CheckCycle`: `dependency cycle detected: a -> b -> a`.
/// compose-go's checks on the resource keys: a service-level key and its
/// `deploy.resources` twin may both be written only with the same value; a
/// `restart_policy.condition` must be one the engine knows (compose passes an
/// unknown one to the engine, which refuses it at `up`).
fn check_resources(name: &str, svc: &ComposeService, locs: &ComposeLocations) -> R<()> {
    let res = svc.deploy.as_ref().and_then(|d| d.resources.as_ref());
    let limits = res.and_then(|r| r.limits.as_ref());
    let reservations = res.and_then(|r| r.reservations.as_ref());
    let pairs = [
        ("cpus", "limits.cpus", differ(svc.cpus, limits.and_then(|l| l.cpus))),
        ("mem_limit", "limits.memory", differ(svc.mem_limit.map(|b| b.0), limits.and_then(|l| l.memory.map(|b| b.0)))),
        (
            "mem_reservation",
            "reservations.memory",
            differ(svc.mem_reservation.map(|b| b.0), reservations.and_then(|l| l.memory.map(|b| b.0))),
        ),
        ("pids_limit", "limits.pids", differ(svc.pids_limit, limits.and_then(|l| l.pids))),
    ];
    if let Some((key, twin, _)) = pairs.into_iter().find(|p| p.2) {
        return Err(locs.error(
            &format!("services.{name}.deploy.resources.{twin}"),
            format!("can't set distinct values on '{key}' and 'deploy.resources.{twin}'"),
            Some(format!("keep one of them (`{key}` or `deploy.resources.{twin}`), or give both the same value")),
        ));
    }
    if let Some(c) = svc.deploy.as_ref().and_then(|d| d.restart_policy.as_ref()).and_then(|r| r.condition.as_deref())
        && !RESTART_CONDITIONS.contains(&c)
    {
        return Err(locs.error(
            &format!("services.{name}.deploy.restart_policy.condition"),
            format!("unknown restart condition {c:?}"),
            Some("use none, on-failure or any (compose also maps no, always and unless-stopped)".into()),
        ));
    }
    Ok(())
}

/// What compose maps to the engine's restart policies (`none`/`no` → no, `any`/`always` → always).
const RESTART_CONDITIONS: &[&str] = &["none", "no", "on-failure", "unless-stopped", "any", "always"];

fn differ<T: PartialEq>(a: Option<T>, b: Option<T>) -> bool {
    matches!((a, b), (Some(a), Some(b)) if a != b)
}

fn check_cycles(services: &IndexMap<String, ComposeService>, locs: &ComposeLocations) -> R<()> {
    fn visit<'a>(
        name: &'a str,
        services: &'a IndexMap<String, ComposeService>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| *p == name) {
            let mut cycle: Vec<String> = path[i..].iter().map(|s| s.to_string()).collect();
            cycle.push(name.to_string());
            return Some(cycle);
        }
        if done.contains(name) {
            return None;
        }
        path.push(name);
        if let Some(svc) = services.get(name) {
            for dep in svc.depends_on.keys() {
                if services.contains_key(dep)
                    && let Some(c) = visit(dep, services, path, done)
                {
                    return Some(c);
                }
            }
        }
        path.pop();
        done.insert(name);
        None
    }
    let mut done = BTreeSet::new();
    for name in services.keys() {
        let mut path = Vec::new();
        if let Some(cycle) = visit(name, services, &mut path, &mut done) {
            let first = cycle.first().cloned().unwrap_or_default();
            let second = cycle.get(1).cloned().unwrap_or_default();
            return Err(locs.error(
                &format!("services.{first}.depends_on.{second}"),
                format!("dependency cycle detected: {}", cycle.join(" -> ")),
                Some("remove one of these depends_on entries".into()),
            ));
        }
    }
    Ok(())
}

/// compose-go `WithServicesEnvironmentResolved`: variables without a value are
/// looked up in the project environment; `env_file`s are read in order (each
/// may use the previous ones' variables) and the service's `environment` wins.
fn resolve_env(name: &str, svc: &mut ComposeService, env: &Env, locs: &ComposeLocations, warnings: &mut Vec<String>) -> R<()> {
    for (k, v) in svc.environment.iter_mut() {
        if v.is_none()
            && let Some(found) = env.get(k)
        {
            *v = Some(found.clone());
        }
    }
    let mut from_files: IndexMap<String, String> = IndexMap::new();
    for (i, ef) in svc.env_files.iter().enumerate() {
        let at = format!("services.{name}.env_file[{i}]");
        let (text, bad_lines) = match crate::yaml::envfile::read(&ef.path) {
            Ok(t) => t,
            Err(crate::yaml::envfile::EnvFileError::NotFound) => {
                if !ef.required {
                    continue;
                }
                return Err(locs.error(
                    &at,
                    format!("env file {} not found", ef.path.display()),
                    Some("create it, or make it optional: `env_file: [{path: …, required: false}]`".into()),
                ));
            }
            Err(e) => return Err(locs.error(&at, format!("cannot read env file {}: {e}", ef.path.display()), None)),
        };
        let lookup = |k: &str| from_files.get(k).or_else(|| env.get(k)).cloned();
        let (entries, w) = parse_dotenv(&text, &lookup);
        warnings.extend(bad_lines.into_iter().chain(w).map(|w| format!("{}: {w}", ef.path.display())));
        let values = dotenv_map(&entries, &lookup);
        from_files.extend(values);
    }
    if !from_files.is_empty() {
        let mut merged: BTreeMap<String, Option<String>> = from_files.into_iter().map(|(k, v)| (k, Some(v))).collect();
        merged.extend(std::mem::take(&mut svc.environment));
        svc.environment = merged;
    }
    Ok(())
}
