//! Semantic checks on a deserialized environment file, parsing each value
//! once (`Validated` → `ServiceSpec::parsed`). Each failure is a
//! `ConfigError` with the YAML path, its position and a hint.
//! (Dependency cycles are found by the planner.)


use std::net::IpAddr;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use super::model::{Condition, EnvSpec, LongVolume, LongVolumeKind, RunMode, ServiceSpec, VolumeEntry};
use super::parsed::{Namespace, Parsed, VolumesFrom, VolumesFromSource};
use crate::preset::Kind;
use crate::seed::entry::ResolvedSeed;
use crate::values::ports::{PortSpec, parse_port};
use crate::values::volumes::{VolumeSpec, parse_volume_with_home, valid_name};
use crate::yaml::ConfigError;
pub use crate::yaml::hints::{did_you_mean, hint_for};

mod ctx;
mod options;
mod seeds;

pub use ctx::{Ctx, entry_path};
pub use seeds::expand_seed_files;

/// The presets devenv knows (the preset registry's list).
pub const PRESETS: &[&str] = crate::preset::NAMES;

/// The values parsed while validating, per service (`load` moves each onto
/// its service's `parsed`).
#[derive(Debug, Clone, Default)]
pub struct Validated {
    pub services: IndexMap<String, Parsed>,
}

/// Runs every check, in document order; returns the first failure.
pub fn validate(spec: &EnvSpec, ctx: &Ctx) -> Result<Validated, ConfigError> {
    let mut out = Validated::default();
    options::check_networks(spec, ctx)?;
    // (ip, protocol, port) -> (service, yaml path)
    let mut published: Vec<(String, String, u16, String, String)> = Vec::new();
    for (name, svc) in &spec.services {
        let base = format!("services.{name}");
        check_name(name, &base, ctx)?;
        let preset = check_source(name, svc, &base, ctx)?;
        check_references(svc, &base, ctx)?;
        check_depends_on(name, svc, spec, &base, ctx)?;
        let ports = check_ports(name, svc, &base, ctx, &mut published)?;
        check_replicas(name, svc, &ports, &base, ctx)?;
        let volumes = check_volumes(svc, &base, ctx)?;
        let volumes_from = check_volumes_from(name, svc, spec, &base, ctx)?;
        let ipc = check_namespace(name, "ipc", svc.ipc.as_deref(), &["host", "shareable", "private", "none"], spec, &base, ctx)?;
        let pid = check_namespace(name, "pid", svc.pid.as_deref(), &["host"], spec, &base, ctx)?;
        let network_mode = check_network_mode(name, svc, spec, &base, ctx)?;
        check_build(svc, &base, ctx)?;
        let health_protocol = check_health(svc, &base, ctx)?;
        let seeds = check_seeds(svc, &base, ctx)?;
        check_watch(svc, &base, ctx)?;
        options::check_service_networks(name, svc, spec, &base, ctx)?;
        let options = options::check_options(name, svc, spec, &base, ctx)?;
        let parsed = Parsed { preset, health_protocol, ports, volumes, volumes_from, ipc, pid, network_mode, seeds, options, ..Parsed::default() };
        out.services.insert(name.clone(), parsed);
    }
    Ok(out)
}

fn check_name(name: &str, base: &str, ctx: &Ctx) -> Result<(), ConfigError> {
    if !valid_name(name) {
        return Err(ctx.error(
            base,
            format!("invalid service name {name:?}"),
            Some("service names use letters, digits, `_`, `.` and `-`, and start with a letter or digit".into()),
        ));
    }
    if name.len() > MAX_SERVICE_NAME {
        return Err(ctx.error(
            base,
            format!("service name `{name}` is {} characters long; it is also the container's hostname and DNS name, which allow {MAX_SERVICE_NAME}", name.len()),
            Some("use a shorter name".into()),
        ));
    }
    Ok(())
}

/// `version:`: a valid tag, not a YAML number that lost its text (`16.10` is
/// read as 16.1), and one the preset's repository publishes.
fn check_version(svc: &ServiceSpec, version: &str, path: &str, ctx: &Ctx) -> Result<(), ConfigError> {
    if let Some(text) = ctx.locations.plain_text(path).filter(|t| reads_as_float(t)) {
        return Err(ctx.error(
            path,
            format!("`version: {text}` is a number to YAML ({version}), not the tag `{text}`"),
            Some(format!("quote it: version: \"{text}\"")),
        ));
    }
    if let Some(problem) = crate::values::tag_problem(version) {
        return Err(ctx.error(path, format!("invalid `version`: {problem}"), Some("write an image tag, e.g. `version: \"16\"`".into())));
    }
    if let Some(kind) = svc.preset.as_deref().and_then(Kind::parse)
        && let Err(problem) = kind.preset().image_for(version)
    {
        let hint = format!("the {} tags upstream: {}", kind.name(), kind.preset().tag_forms());
        return Err(ctx.error(path, format!("no such {} version `{version}`: {problem}", kind.name()), Some(hint)));
    }
    Ok(())
}

/// A plain scalar YAML reads as a floating-point number (`16.10`, `1e3`), not an integer.
fn reads_as_float(text: &str) -> bool {
    text.chars().any(|c| c.is_ascii_digit())
        && text.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-' | '_'))
        && text.parse::<i64>().is_err()
        && text.replace('_', "").parse::<f64>().is_ok()
}

/// A service name is its hostname and DNS alias: one DNS label.
const MAX_SERVICE_NAME: usize = 63;

/// `image:`, `version:` and env keys that Docker would refuse only after
/// objects were created: checked here, offline, at their position.
fn check_references(svc: &ServiceSpec, base: &str, ctx: &Ctx) -> Result<(), ConfigError> {
    if let Some(image) = svc.image.as_deref().filter(|i| !i.trim().is_empty())
        && let Some(problem) = crate::values::reference_problem(image)
    {
        let hint = Some("write e.g. `redis:7-alpine` or `registry.example.com/team/app:1.2`".into());
        return Err(ctx.error(&format!("{base}.image"), format!("invalid image reference {image:?}: {problem}"), hint));
    }
    if let Some(version) = &svc.version {
        check_version(svc, version, &format!("{base}.version"), ctx)?;
    }
    if svc.preset_defaults.is_some() && svc.preset.is_none() {
        let hint = Some("remove it, or add `preset: NAME`".to_string());
        return Err(ctx.error(&format!("{base}.preset_defaults"), "`preset_defaults` applies to a `preset` service only", hint));
    }
    if let Some((i, _)) = svc.env.0.keys().enumerate().find(|(_, k)| k.trim().is_empty()) {
        return Err(ctx.error(&entry_path(&format!("{base}.env"), "", i, ctx), "an env variable has an empty name", Some("give it a name, or remove the entry".into())));
    }
    Ok(())
}

/// `image`, `build` or `preset` (returned as a kind).
fn check_source(name: &str, svc: &ServiceSpec, base: &str, ctx: &Ctx) -> Result<Option<Kind>, ConfigError> {
    let kind = svc.preset.as_deref().map(Kind::parse);
    if let (Some(preset), Some(None)) = (&svc.preset, kind) {
        return Err(ctx.error(
            &format!("{base}.preset"),
            format!("unknown preset `{preset}` (the presets are {})", PRESETS.join(", ")),
            hint_for(preset, PRESETS, "available presets"),
        ));
    }
    if svc.image.is_none() && svc.build.is_none() && svc.preset.is_none() {
        return Err(ctx.error(
            base,
            format!("service `{name}` has no `image`, `build` or `preset`"),
            Some(format!("add `image: <name>:<tag>`, `build: <dir>`, or `preset: {}`", PRESETS.join("|"))),
        ));
    }
    if let Some(image) = &svc.image
        && image.trim().is_empty()
    {
        return Err(ctx.error(&format!("{base}.image"), "`image` is empty", None));
    }
    Ok(kind.flatten())
}

/// The YAML path of a `depends_on` entry: `depends_on.db` (map form) or `depends_on[i]` (list form).
fn dep_path(base: &str, dep: &str, index: usize, ctx: &Ctx) -> String {
    entry_path(&format!("{base}.depends_on"), dep, index, ctx)
}

fn check_depends_on(name: &str, svc: &ServiceSpec, spec: &EnvSpec, base: &str, ctx: &Ctx) -> Result<(), ConfigError> {
    for (i, (dep, cond)) in svc.depends_on.0.iter().enumerate() {
        let path = dep_path(base, dep, i, ctx);
        if dep == name {
            return Err(ctx.error(
                &path,
                format!("service `{name}` depends on itself"),
                Some(format!("remove `{dep}` from its `depends_on`")),
            ));
        }
        if let Some(profiles) = ctx.disabled.get(dep) {
            let list = profiles.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(" or ");
            let flags = profiles.iter().map(|p| format!("--profile {p}")).next().unwrap_or_default();
            return Err(ctx.error(
                &path,
                format!("`{name}` depends on `{dep}`, which is disabled by profile (it only runs with profile {list})"),
                Some(format!("enable it with `{flags}`, or add `{name}` to the same profile")),
            ));
        }
        let Some(target) = spec.services.get(dep) else {
            let names: Vec<&str> = spec.services.keys().map(String::as_str).filter(|n| *n != name).collect();
            let hint = match did_you_mean(dep, names.iter().copied()) {
                Some(c) => Some(format!("did you mean `{c}`?")),
                None if names.is_empty() => Some("there are no other services in this file".into()),
                None => Some(format!("services in this file: {}", names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "))),
            };
            return Err(ctx.error(&path, format!("`{name}` depends on unknown service `{dep}`"), hint));
        };
        if *cond == Condition::Completed && target.run != Some(RunMode::Once) {
            return Err(ctx.error(
                &path,
                format!("`{name}` waits for `{dep}` to complete, but `{dep}` is a long-running service"),
                Some(format!("add `run: once` to `{dep}` if it is a one-shot job, or use `healthy`/`started`")),
            ));
        }
    }
    Ok(())
}

/// `volumes_from`: `SERVICE[:ro|:rw]` (an enabled service of the file, not
/// itself) or `container:NAME[:ro|:rw]`.
fn check_volumes_from(name: &str, svc: &ServiceSpec, spec: &EnvSpec, base: &str, ctx: &Ctx) -> Result<Vec<VolumesFrom>, ConfigError> {
    let mut out = Vec::new();
    for (i, raw) in svc.volumes_from.iter().enumerate() {
        let path = format!("{base}.volumes_from[{i}]");
        let (rest, read_only) = match raw.rsplit_once(':') {
            Some((r, "ro")) => (r, Some(true)),
            Some((r, "rw")) => (r, Some(false)),
            _ => (raw.as_str(), None),
        };
        let source = match rest.strip_prefix("container:") {
            Some(c) if !c.is_empty() && !c.contains(':') => VolumesFromSource::Container(c.to_string()),
            Some(_) => {
                let hint = Some("write `container:NAME`, `container:NAME:ro` or `SERVICE[:ro]`".into());
                return Err(ctx.error(&path, format!("invalid volumes_from {raw:?}"), hint));
            }
            None if rest == name => return Err(ctx.error(&path, format!("`{name}` cannot take volumes from itself"), None)),
            None if ctx.disabled.contains_key(rest) => {
                let hint = Some(format!("enable `{rest}`'s profile, or add `{name}` to it"));
                return Err(ctx.error(&path, format!("`{name}` takes volumes from `{rest}`, which is disabled by profile"), hint));
            }
            None if !spec.services.contains_key(rest) => {
                let names: Vec<&str> = spec.services.keys().map(String::as_str).filter(|n| *n != name).collect();
                let hint = did_you_mean(rest, names.iter().copied()).map(|c| format!("did you mean `{c}`? (another container: `container:{rest}`)"));
                return Err(ctx.error(&path, format!("service \"{name}\" depends on undefined service \"{rest}\" (volumes_from)"), hint));
            }
            None => VolumesFromSource::Service(rest.to_string()),
        };
        out.push(VolumesFrom { source, read_only });
    }
    Ok(out)
}

/// `network_mode`: `host`, `none`, `bridge`, `service:NAME`, `container:NAME`;
/// with compose's conflicts (`networks`; `ports` with a shared network stack).
fn check_network_mode(name: &str, svc: &ServiceSpec, spec: &EnvSpec, base: &str, ctx: &Ctx) -> Result<Option<Namespace>, ConfigError> {
    let mode = check_namespace(name, "network_mode", svc.network_mode.as_deref(), &["host", "none", "bridge"], spec, base, ctx)?;
    let Some(text) = svc.network_mode.as_deref().filter(|_| mode.is_some()) else { return Ok(mode) };
    if !svc.networks.0.is_empty() {
        let message = format!("service {name} declares mutually exclusive `network_mode` and `networks`");
        return Err(ctx.error(&format!("{base}.network_mode"), message, Some("keep one of them".into())));
    }
    if let Some(message) = crate::compose::network_mode_conflict(text).filter(|_| !svc.ports.is_empty()) {
        let hint = "remove `ports` (or `network_mode`): publish the ports on the service whose network is shared";
        return Err(ctx.error(&format!("{base}.ports"), message, Some(hint.into())));
    }
    Ok(mode)
}

/// `ipc` / `pid`: one of `modes`, `service:NAME` (an enabled service, not
/// itself) or `container:NAME`.
fn check_namespace(
    name: &str,
    key: &str,
    value: Option<&str>,
    modes: &[&str],
    spec: &EnvSpec,
    base: &str,
    ctx: &Ctx,
) -> Result<Option<Namespace>, ConfigError> {
    let Some(v) = value.filter(|v| !v.is_empty()) else { return Ok(None) };
    let path = format!("{base}.{key}");
    if let Some(c) = v.strip_prefix("container:").filter(|c| !c.is_empty()) {
        return Ok(Some(Namespace::Container(c.to_string())));
    }
    if let Some(s) = v.strip_prefix("service:") {
        if s == name {
            return Err(ctx.error(&path, format!("`{name}` cannot share its own {key} namespace"), None));
        }
        if ctx.disabled.contains_key(s) || !spec.services.contains_key(s) {
            let why = if ctx.disabled.contains_key(s) { "disabled by profile" } else { "not defined" };
            return Err(ctx.error(&path, format!("`{key}: {v}`: service `{s}` is {why}"), Some("name an enabled service of this file, or `container:NAME`".into())));
        }
        return Ok(Some(Namespace::Service(s.to_string())));
    }
    if modes.contains(&v) {
        return Ok(Some(Namespace::Mode(v.to_string())));
    }
    let mut valid: Vec<String> = modes.iter().map(|m| format!("`{m}`")).collect();
    valid.extend(["`service:NAME`".to_string(), "`container:NAME`".to_string()]);
    Err(ctx.error(&path, format!("invalid {key} mode {v:?}"), Some(format!("one of {}", valid.join(", ")))))
}

fn is_unspecified(ip: &str) -> bool {
    ip.parse::<IpAddr>().map(|a| a.is_unspecified()).unwrap_or(false)
}

fn same_ip(a: &str, b: &str) -> bool {
    if is_unspecified(a) || is_unspecified(b) {
        return true;
    }
    match (a.parse::<IpAddr>(), b.parse::<IpAddr>()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

fn check_ports(
    name: &str,
    svc: &ServiceSpec,
    base: &str,
    ctx: &Ctx,
    published: &mut Vec<(String, String, u16, String, String)>,
) -> Result<Vec<PortSpec>, ConfigError> {
    let mut out = Vec::new();
    for (i, raw) in svc.ports.iter().enumerate() {
        let path = format!("{base}.ports[{i}]");
        let specs = parse_port(raw).map_err(|e| {
            ctx.error(
                &path,
                format!("invalid port {raw:?}: {e}"),
                Some("write HOST:CONTAINER (\"8080:80\"), a single port (\"5432\"), or IP:HOST:CONTAINER".into()),
            )
        })?;
        for (p, hp) in specs.iter().flat_map(|p| host_ports(p).map(move |h| (p, h))) {
            // Unset host IP = devenv's default, 127.0.0.1.
            let ip = p.host_ip.clone().unwrap_or_else(|| "127.0.0.1".into());
            if let Some((_, _, _, other, other_path)) =
                published.iter().find(|(oip, proto, port, _, _)| *port == hp && *proto == p.protocol && same_ip(oip, &ip))
            {
                let message = if other == name {
                    format!("host port {hp}/{} is published twice by `{name}` (also at {other_path})", p.protocol)
                } else {
                    format!("host port {hp}/{} is published by both `{other}` and `{name}`", p.protocol)
                };
                return Err(ctx.error(&path, message, Some("give one of them a different host port, e.g. \"15432:5432\"".into())));
            }
            published.push((ip, p.protocol.clone(), hp, name.to_string(), path.clone()));
        }
        out.extend(specs);
    }
    Ok(out)
}

/// Every host port `p` publishes (a range: each of its ports).
fn host_ports(p: &PortSpec) -> impl Iterator<Item = u16> {
    p.host_port.into_iter().flat_map(|lo| lo..=p.host_port_end.unwrap_or(lo))
}

/// More than one replica: no `container_name` (compose refuses it: names are
/// unique), no fixed host port (each replica would publish the same one), and
/// a host port range with a port for each replica.
fn check_replicas(name: &str, svc: &ServiceSpec, ports: &[PortSpec], base: &str, ctx: &Ctx) -> Result<(), ConfigError> {
    let n = svc.replicas.unwrap_or(1);
    if n <= 1 {
        return Ok(());
    }
    if let Some(c) = &svc.container_name {
        return Err(ctx.error(
            &format!("{base}.container_name"),
            format!("`{name}` has {n} replicas and `container_name: {c}`: a container name must be unique"),
            Some(format!("remove `container_name` (the replicas are named `<project>-{name}-<n>`), or run one replica")),
        ));
    }
    let index = |spec: &PortSpec| svc.ports.iter().position(|raw| parse_port(raw).is_ok_and(|v| v.contains(spec))).unwrap_or(0);
    for p in ports {
        let Some(lo) = p.host_port else { continue };
        let at = format!("{base}.ports[{}]", index(p));
        let available = usize::from(p.host_port_end.unwrap_or(lo) - lo) + 1;
        if available == 1 {
            return Err(ctx.error(
                &at,
                format!("`{name}` specifies host port {lo} and has {n} replicas: the replicas would clash on the port"),
                Some(format!("publish the container port only (\":{}\"), or a host port range with a port for each replica (\"{lo}-{}:{}\")", p.container_port, u32::from(lo) + n - 1, p.container_port)),
            ));
        }
        if available < n as usize {
            return Err(ctx.error(
                &at,
                format!("`{name}` has {n} replicas but the host port range {lo}-{} has {available} port(s): one is needed for each replica", lo + (available as u16 - 1)),
                Some("widen the range, or publish the container port only".into()),
            ));
        }
    }
    Ok(())
}

fn check_volumes(svc: &ServiceSpec, base: &str, ctx: &Ctx) -> Result<Vec<VolumeSpec>, ConfigError> {
    let mut out = Vec::new();
    for (i, entry) in svc.volumes.iter().enumerate() {
        let path = format!("{base}.volumes[{i}]");
        let v = match entry {
            VolumeEntry::Short(raw) => parse_volume_with_home(raw, ctx.dir, ctx.home).map_err(|e| {
                ctx.error(
                    &path,
                    format!("invalid volume {raw:?}: {e}"),
                    Some(
                        "write NAME:/container/path (named), ./host/path:/container/path (bind) or /container/path; add `:ro` for read-only"
                            .into(),
                    ),
                )
            })?,
            VolumeEntry::Long(long) => long_volume(long, ctx).map_err(|e| ctx.error(&path, format!("invalid volume: {e}"), None))?,
        };
        if let VolumeSpec::Bind { source, .. } = &v
            && !ctx.creatable.contains(source)
            && !source.exists()
        {
            return Err(ctx.error(
                &path,
                format!("bind mount source {} does not exist", source.display()),
                Some(format!(
                    "create it (`mkdir -p {}`) or fix the path (relative paths start from {})",
                    source.display(),
                    ctx.dir.display()
                )),
            ));
        }
        out.push(v);
    }
    Ok(out)
}

/// The long form: `source` and `target` taken whole (a `:` in them is part of the path).
fn long_volume(l: &LongVolume, ctx: &Ctx) -> Result<VolumeSpec, String> {
    crate::values::volumes::check_target(&l.target)?;
    let (target, read_only) = (l.target.clone(), l.read_only);
    match (l.kind, l.source.as_deref().filter(|s| !s.is_empty())) {
        (LongVolumeKind::Bind, None) => Err("a bind mount needs a `source`".into()),
        (LongVolumeKind::Bind, Some(src)) => {
            Ok(VolumeSpec::Bind { source: crate::values::volumes::host_path(src, ctx.dir, ctx.home)?, target, read_only })
        }
        (LongVolumeKind::Volume, None) => Ok(VolumeSpec::Anonymous { target }),
        (LongVolumeKind::Volume, Some(name)) if valid_name(name) => {
            Ok(VolumeSpec::Named { name: name.to_string(), target, read_only })
        }
        (LongVolumeKind::Volume, Some(name)) => Err(format!("invalid volume name {name:?}: names use letters, digits, `_`, `.` and `-`")),
    }
}

fn is_remote_context(ctx: &str) -> bool {
    ctx.contains("://") || ctx.starts_with("git@") || ctx.starts_with("github.com/")
}

fn check_build(svc: &ServiceSpec, base: &str, ctx: &Ctx) -> Result<(), ConfigError> {
    let Some(build) = &svc.build else { return Ok(()) };
    if ctx.compose || is_remote_context(&build.context) {
        return Ok(());
    }
    let long = format!("{base}.build.context");
    let ctx_path = if ctx.locations.contains(&long) { long } else { format!("{base}.build") };
    let dir: PathBuf = crate::values::volumes::normalize(&ctx.dir.join(&build.context));
    if !dir.is_dir() {
        let what = if dir.exists() { "is not a directory" } else { "does not exist" };
        return Err(ctx.error(
            &ctx_path,
            format!("build context {} {what}", dir.display()),
            Some(format!("the context is resolved against {}", ctx.dir.display())),
        ));
    }
    let dockerfile = build.dockerfile.as_deref().unwrap_or("Dockerfile");
    let df = crate::values::volumes::normalize(&dir.join(dockerfile));
    if build.dockerfile_inline.is_none() && !df.is_file() {
        let df_path = format!("{base}.build.dockerfile");
        let path = if ctx.locations.contains(&df_path) { df_path } else { ctx_path };
        return Err(ctx.error(
            &path,
            format!("Dockerfile {} not found", df.display()),
            Some(if build.dockerfile.is_some() {
                "`dockerfile` is relative to the build context".to_string()
            } else {
                "add a Dockerfile to the build context, or set `build: {context: …, dockerfile: …}`".to_string()
            }),
        ));
    }
    Ok(())
}

/// The seed kinds each preset supports (`exec` works everywhere): the preset's own list.
pub use crate::preset::seed_kinds_for;

/// Checks the seed entries, then expands them (globs, absolute paths).
fn check_seeds(svc: &ServiceSpec, base: &str, ctx: &Ctx) -> Result<Vec<ResolvedSeed>, ConfigError> {
    let allowed = seed_kinds_for(svc.preset.as_deref());
    for (i, seed) in svc.seed.iter().enumerate() {
        let path = format!("{base}.seed[{i}]");
        let kinds: Vec<&str> = [
            ("sql", seed.sql.is_some()),
            ("csv", seed.csv.is_some()),
            ("jsonl", seed.jsonl.is_some()),
            ("redis", seed.redis.is_some()),
            ("topic", seed.topic.is_some()),
            ("index", seed.index.is_some()),
            ("exec", seed.exec.is_some()),
        ]
        .into_iter()
        .filter_map(|(k, on)| on.then_some(k))
        .collect();
        let kind = match kinds.as_slice() {
            [k] => *k,
            [] => {
                return Err(ctx.error(&path, "a seed entry needs one of sql, csv, jsonl, redis, topic, index or exec", Some(format!("for this service: {}", allowed.join(", ")))));
            }
            [_, second, ..] => {
                return Err(ctx.error(
                    &format!("{path}.{second}"),
                    format!("a seed entry has one kind, this one has {}", kinds.join(" and ")),
                    Some("split it into two entries".into()),
                ));
            }
        };
        if !allowed.contains(&kind) {
            let what = svc.preset.as_deref().map(|p| format!("the {p} preset")).unwrap_or_else(|| "a service without a preset".into());
            return Err(ctx.error(
                &format!("{path}.{kind}"),
                format!("`{kind}` seeds are not supported by {what}"),
                Some(format!("{what} takes: {}", allowed.join(", "))),
            ));
        }
        let needs_table = matches!(kind, "csv" | "jsonl");
        if needs_table && seed.table.as_deref().is_none_or(str::is_empty) {
            return Err(ctx.error(&format!("{path}.{kind}"), format!("a `{kind}` seed needs `table:`"), Some("add `table: my_table`".into())));
        }
        let misplaced: &[(&str, bool)] = &[
            ("table", seed.table.is_some() && !needs_table),
            ("partitions", seed.partitions.is_some() && kind != "topic"),
            ("config", !seed.config.is_empty() && kind != "topic"),
            ("messages", seed.messages.is_some() && kind != "topic"),
            ("mappings", seed.mappings.is_some() && kind != "index"),
            ("settings", seed.settings.is_some() && kind != "index"),
            ("documents", seed.documents.is_some() && kind != "index"),
        ];
        if let Some((key, _)) = misplaced.iter().find(|(_, bad)| *bad) {
            return Err(ctx.error(&format!("{path}.{key}"), format!("`{key}` does not apply to a `{kind}` seed"), None));
        }
        if seed.partitions == Some(0) {
            return Err(ctx.error(&format!("{path}.partitions"), "a topic needs at least one partition", None));
        }
    }
    seeds::entries(svc, base, ctx)
}

fn check_watch(svc: &ServiceSpec, base: &str, ctx: &Ctx) -> Result<(), ConfigError> {
    use super::model::{CommandSpec, WatchAction};
    let project_dir = crate::values::volumes::normalize(ctx.dir);
    for (i, rule) in svc.watch.iter().enumerate() {
        let path = format!("{base}.watch[{i}]");
        let at = |key: &str| {
            let p = format!("{path}.{key}");
            if ctx.locations.contains(&p) { p } else { path.clone() }
        };
        if rule.path.trim().is_empty() {
            return Err(ctx.error(&at("path"), "watch `path` is empty", Some("write a file or directory relative to the environment file, e.g. `path: ./src`".into())));
        }
        let host = crate::values::volumes::normalize(&ctx.dir.join(&rule.path));
        if !host.starts_with(&project_dir) {
            return Err(ctx.error(
                &at("path"),
                format!("watch path {} is outside the project directory {}", host.display(), project_dir.display()),
                Some("devenv watches files of this project only; move the rule's path under the environment file's directory".into()),
            ));
        }
        if !host.exists() {
            return Err(ctx.error(
                &at("path"),
                format!("watch path {} does not exist", host.display()),
                Some(format!("create it or fix the path (relative paths start from {})", ctx.dir.display())),
            ));
        }
        if let Some(real) = outside_once_resolved(&host, ctx.dir) {
            return Err(ctx.error(
                &at("path"),
                format!("watch path {} is a symlink to {}, outside the project directory", host.display(), real.display()),
                Some("devenv watches files of this project only; watch the directory itself, inside the project".into()),
            ));
        }
        match (&rule.target, rule.action) {
            (None, WatchAction::Sync | WatchAction::Restart) => {
                return Err(ctx.error(
                    &path,
                    format!("a `{}` watch rule needs `target` (where the files go in the container)", rule.action),
                    Some("add e.g. `target: /app/src`".into()),
                ));
            }
            (Some(t), _) if !t.starts_with('/') => {
                return Err(ctx.error(
                    &at("target"),
                    format!("watch target {t:?} must be an absolute path in the container"),
                    Some(format!("write `target: /{}`", t.trim_start_matches("./"))),
                ));
            }
            (Some(t), _) if t.split('/').any(|seg| seg == "..") => {
                return Err(ctx.error(&at("target"), format!("watch target {t:?} must not contain `..`"), None));
            }
            _ => {}
        }
        if rule.action == WatchAction::Rebuild && svc.build.is_none() {
            return Err(ctx.error(
                &at("action"),
                "`rebuild` needs a service with `build` (there is no image to rebuild)",
                Some("use `action: sync` or `restart`, or add `build:` to the service".into()),
            ));
        }
        for (j, g) in rule.ignore.iter().enumerate() {
            if let Err(e) = glob::Pattern::new(g) {
                let p = format!("{path}.ignore[{j}]");
                let p = if ctx.locations.contains(&p) { p } else { at("ignore") };
                return Err(ctx.error(&p, format!("invalid ignore glob {g:?}: {e}"), None));
            }
        }
        let empty = match &rule.exec {
            Some(CommandSpec::Exec(v)) => v.is_empty(),
            Some(CommandSpec::Shell(s)) => s.trim().is_empty(),
            None => false,
        };
        if empty {
            return Err(ctx.error(&at("exec"), "watch exec command is empty", None));
        }
    }
    Ok(())
}

/// Where `path` really is, if that (symlinks resolved) is outside `dir` (symlinks resolved).
fn outside_once_resolved(path: &Path, dir: &Path) -> Option<PathBuf> {
    let real = path.canonicalize().ok()?;
    let root = dir.canonicalize().ok()?;
    (!real.starts_with(&root)).then_some(real)
}

/// Checks `health`; returns its `protocol` as a kind.
fn check_health(svc: &ServiceSpec, base: &str, ctx: &Ctx) -> Result<Option<Kind>, ConfigError> {
    let Some(h) = &svc.health else { return Ok(None) };
    let path = format!("{base}.health");
    let set = h.probes();
    let hint = Some(
        "use exactly one of `http: /health`, `tcp: 5432`, `exec: [cmd, arg]`, `shell: \"cmd && cmd\"`, `log: \"ready\"` or `protocol: postgres` (plus port/interval/timeout/retries/start_period)"
            .into(),
    );
    if h.disabled() {
        return check_health_disabled(svc, &set, &path, ctx).map(|()| None);
    }
    match set.len() {
        // A preset has its own protocol probe: `health` may tune only its timing.
        0 if svc.preset.is_some() => {}
        0 => return Err(ctx.error(&path, "`health` needs a probe", hint)),
        1 => {}
        _ => {
            let second = format!("{path}.{}", set[1]);
            return Err(ctx.error(&second, format!("`health` has more than one probe ({})", set.join(", ")), hint));
        }
    }
    if let Some(http) = &h.http
        && !http.starts_with('/')
    {
        return Err(ctx.error(
            &format!("{path}.http"),
            format!("health http path {http:?} must start with `/`"),
            Some(format!("write `http: /{}` (the port goes in `port:`)", http.trim_start_matches('/'))),
        ));
    }
    if h.tcp == Some(0) {
        return Err(ctx.error(
            &format!("{path}.tcp"),
            "health tcp port 0 is invalid",
            Some("use the container port the service listens on".into()),
        ));
    }
    if h.port == Some(0) {
        return Err(ctx.error(&format!("{path}.port"), "health port 0 is invalid", None));
    }
    let empty_exec = match &h.exec {
        Some(super::model::CommandSpec::Exec(v)) => v.is_empty(),
        Some(super::model::CommandSpec::Shell(s)) => s.trim().is_empty(),
        None => false,
    };
    if empty_exec {
        return Err(ctx.error(&format!("{path}.exec"), "health exec command is empty", None));
    }
    if h.shell.as_deref().is_some_and(|s| s.trim().is_empty()) {
        return Err(ctx.error(&format!("{path}.shell"), "health shell command is empty", None));
    }
    if let Some(Err(e)) = h.log.as_deref().map(regex::Regex::new) {
        return Err(ctx.error(&format!("{path}.log"), format!("invalid regular expression: {e}"), None));
    }
    let Some(p) = &h.protocol else { return Ok(None) };
    match Kind::parse(p) {
        Some(kind) => Ok(Some(kind)),
        None => Err(ctx.error(
            &format!("{path}.protocol"),
            format!("unknown probe protocol `{p}` (the protocols are {})", PRESETS.join(", ")),
            hint_for(p, PRESETS, "protocols"),
        )),
    }
}

/// `disable: true` turns readiness probing off: no probe key may be set with it.
fn check_health_disabled(svc: &ServiceSpec, probes: &[&str], path: &str, ctx: &Ctx) -> Result<(), ConfigError> {
    if let Some(probe) = probes.first() {
        return Err(ctx.error(
            &format!("{path}.{probe}"),
            format!("`health` has `disable: true` and a `{probe}` probe"),
            Some(format!("remove `{probe}` (no readiness probe) or `disable` (probe with `{probe}`)")),
        ));
    }
    if svc.preset.is_some() && !svc.seed.is_empty() {
        return Err(ctx.error(
            &format!("{path}.disable"),
            "seed data needs the preset's readiness probe, but `health` has `disable: true`",
            Some("remove `disable: true`, or the `seed` entries".into()),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::Locations;
    use crate::config::Pos;

    struct Fixture {
        dir: tempfile::TempDir,
    }

    impl Fixture {
        fn new() -> Fixture {
            Fixture { dir: tempfile::tempdir().unwrap() }
        }

        fn check(&self, yaml: &str) -> Result<Validated, ConfigError> {
            self.check_disabled(yaml, &IndexMap::new())
        }

        fn check_disabled(&self, yaml: &str, disabled: &IndexMap<String, Vec<String>>) -> Result<Validated, ConfigError> {
            let spec: EnvSpec = serde_yaml::from_str(yaml).unwrap();
            let locs = Locations::from_text(yaml);
            let file = self.dir.path().join("devenv.yaml");
            let ctx = Ctx { file: &file, dir: self.dir.path(), locations: &locs, disabled, home: None, creatable: &[], compose: false };
            validate(&spec, &ctx)
        }
    }

    fn at(e: &ConfigError) -> (String, usize, usize) {
        let p = e.pos.unwrap_or(Pos { line: 0, col: 0 });
        (e.yaml_path.clone(), p.line, p.col)
    }

    #[test]
    fn did_you_mean_basics() {
        assert_eq!(did_you_mean("imag", ["image", "preset", "build"]), Some("image".into()));
        assert_eq!(did_you_mean("postgress", PRESETS.iter().copied()), Some("postgres".into()));
        assert_eq!(did_you_mean("db2", ["db", "cache"]), Some("db".into()));
        assert_eq!(did_you_mean("zzzzzzzz", ["db", "cache"]), None);
        assert_eq!(did_you_mean("depends", ["depends_on", "env"]), Some("depends_on".into()));
    }

    #[test]
    fn valid_file_passes() {
        let f = Fixture::new();
        std::fs::create_dir(f.dir.path().join("backend")).unwrap();
        std::fs::write(f.dir.path().join("backend/Dockerfile"), "FROM scratch\n").unwrap();
        let v = f
            .check(
                "services:\n  db:\n    preset: postgres\n    ports: [\"5432\"]\n    volumes: [\"db-data:/var/lib/postgresql/data\"]\n  migrate:\n    build: ./backend\n    run: once\n    depends_on: {db: healthy}\n  api:\n    build: {context: backend}\n    ports: [\"3000:3000\", \"127.0.0.2:5432:5432\", \"53:53/udp\", \"127.0.0.1::80\", \"127.0.0.1::80\"]\n    volumes: [\"./backend:/app:ro\", \"/tmp/x\"]\n    depends_on: {db: healthy, migrate: completed}\n    health: {http: /health, port: 3000}\n",
            )
            .unwrap();
        assert_eq!(v.services["api"].ports.len(), 5);
        assert_eq!(v.services["db"].ports[0].host_port, Some(5432));
        assert!(matches!(v.services["api"].volumes[0], VolumeSpec::Bind { read_only: true, .. }));
        assert!(v.services["migrate"].ports.is_empty());
    }

    #[test]
    fn bad_service_name() {
        let f = Fixture::new();
        let e = f.check("services:\n  -bad:\n    image: x\n").unwrap_err();
        assert_eq!(at(&e), ("services.-bad".into(), 2, 3));
    }

    #[test]
    fn missing_image() {
        let f = Fixture::new();
        let e = f.check("services:\n  api:\n    command: [x]\n").unwrap_err();
        assert_eq!(at(&e), ("services.api".into(), 2, 3));
        assert!(e.hint.unwrap().contains("preset"));
    }

    #[test]
    fn unknown_preset() {
        let f = Fixture::new();
        let e = f.check("services:\n  db:\n    preset: postgress\n").unwrap_err();
        assert_eq!(at(&e), ("services.db.preset".into(), 3, 5));
        assert_eq!(e.hint.as_deref(), Some("did you mean `postgres`?"));
    }

    #[test]
    fn unknown_dependency() {
        let f = Fixture::new();
        let e = f.check("services:\n  db:\n    preset: postgres\n  api:\n    image: x\n    depends_on:\n      db2: healthy\n").unwrap_err();
        assert_eq!(at(&e), ("services.api.depends_on.db2".into(), 7, 7));
        assert_eq!(e.hint.as_deref(), Some("did you mean `db`?"));
        assert!(e.message.contains("unknown service `db2`"));
        // List form points at the item.
        let e = f.check("services:\n  db:\n    preset: postgres\n  api:\n    image: x\n    depends_on: [db, cache]\n").unwrap_err();
        assert_eq!(at(&e), ("services.api.depends_on[1]".into(), 6, 22));
    }

    #[test]
    fn self_dependency() {
        let f = Fixture::new();
        let e = f.check("services:\n  api:\n    image: x\n    depends_on: {api: started}\n").unwrap_err();
        assert_eq!(at(&e), ("services.api.depends_on.api".into(), 4, 18));
        assert!(e.message.contains("itself"));
    }

    #[test]
    fn completed_needs_run_once() {
        let f = Fixture::new();
        let e =
            f.check("services:\n  migrate:\n    image: x\n  api:\n    image: x\n    depends_on:\n      migrate: completed\n").unwrap_err();
        assert_eq!(at(&e), ("services.api.depends_on.migrate".into(), 7, 7));
        assert!(e.hint.unwrap().contains("run: once"));
    }

    #[test]
    fn disabled_dependency() {
        let f = Fixture::new();
        let disabled: IndexMap<String, Vec<String>> = [("search".to_string(), vec!["full".to_string()])].into_iter().collect();
        let e = f.check_disabled("services:\n  api:\n    image: x\n    depends_on: {search: healthy}\n", &disabled).unwrap_err();
        assert_eq!(e.yaml_path, "services.api.depends_on.search");
        assert!(e.message.contains("disabled by profile") && e.message.contains("full"), "{}", e.message);
        assert!(e.hint.unwrap().contains("--profile full"));
    }

    #[test]
    fn bad_port() {
        let f = Fixture::new();
        let e = f.check("services:\n  api:\n    image: x\n    ports:\n      - \"3000:3000\"\n      - \"70000:80\"\n").unwrap_err();
        assert_eq!(at(&e), ("services.api.ports[1]".into(), 6, 9));
        assert!(e.message.contains("65535"), "{}", e.message);
    }

    #[test]
    fn duplicate_host_ports() {
        let f = Fixture::new();
        let e = f
            .check(
                "services:\n  db:\n    preset: postgres\n    ports: [\"5432:5432\"]\n  db2:\n    preset: postgres\n    ports: [\"5432\"]\n",
            )
            .unwrap_err();
        assert_eq!(at(&e), ("services.db2.ports[0]".into(), 7, 13));
        assert!(e.message.contains("`db`") && e.message.contains("`db2`") && e.message.contains("5432"), "{}", e.message);
        let e = f.check("services:\n  a:\n    image: x\n    ports: [\"80:80\", \"0.0.0.0:80:81\"]\n").unwrap_err();
        assert_eq!(e.yaml_path, "services.a.ports[1]");
        assert!(e.message.contains("twice"));
        // Different protocol or IP: fine.
        f.check("services:\n  a:\n    image: x\n    ports: [\"53:53\", \"53:53/udp\", \"127.0.0.2:53:53\"]\n").unwrap();
        // Ranges overlap.
        let e = f.check("services:\n  a:\n    image: x\n    ports: [\"9000-9005\", \"9005:1\"]\n").unwrap_err();
        assert_eq!(e.yaml_path, "services.a.ports[1]");
    }

    #[test]
    fn bad_volumes() {
        let f = Fixture::new();
        let e = f.check("services:\n  api:\n    image: x\n    volumes: [\"data:relative\"]\n").unwrap_err();
        assert_eq!(at(&e), ("services.api.volumes[0]".into(), 4, 15));
        let e = f.check("services:\n  api:\n    image: x\n    volumes:\n      - ./missing:/app\n").unwrap_err();
        assert_eq!(at(&e), ("services.api.volumes[0]".into(), 5, 9));
        assert!(e.message.contains("does not exist"));
    }

    #[test]
    fn build_context_and_dockerfile() {
        let f = Fixture::new();
        let e = f.check("services:\n  api:\n    build: ./nope\n").unwrap_err();
        assert_eq!(at(&e), ("services.api.build".into(), 3, 5));
        let e = f.check("services:\n  api:\n    build:\n      context: ./nope\n").unwrap_err();
        assert_eq!(at(&e), ("services.api.build.context".into(), 4, 7));
        std::fs::create_dir(f.dir.path().join("app")).unwrap();
        let e = f.check("services:\n  api:\n    build: app\n").unwrap_err();
        assert!(e.message.contains("Dockerfile"), "{}", e.message);
        let e = f.check("services:\n  api:\n    build: {context: app, dockerfile: Dev.Dockerfile}\n").unwrap_err();
        assert_eq!(at(&e), ("services.api.build.dockerfile".into(), 3, 27));
        std::fs::write(f.dir.path().join("app/Dev.Dockerfile"), "FROM scratch\n").unwrap();
        f.check("services:\n  api:\n    build: {context: app, dockerfile: Dev.Dockerfile}\n").unwrap();
        f.check("services:\n  api:\n    build: https://github.com/x/y.git\n").unwrap();
    }

    #[test]
    fn health_checks() {
        let f = Fixture::new();
        let e = f.check("services:\n  api:\n    image: x\n    health: {interval: 1s}\n").unwrap_err();
        assert_eq!(at(&e), ("services.api.health".into(), 4, 5));
        assert!(e.hint.unwrap().contains("tcp"));
        let e = f.check("services:\n  api:\n    image: x\n    health:\n      http: /h\n      tcp: 80\n").unwrap_err();
        assert_eq!(at(&e), ("services.api.health.tcp".into(), 6, 7));
        let e = f.check("services:\n  api:\n    image: x\n    health:\n      http: health\n").unwrap_err();
        assert_eq!(at(&e), ("services.api.health.http".into(), 5, 7));
        assert!(e.hint.unwrap().contains("/health"));
        f.check("services:\n  api:\n    image: x\n    health: {exec: [pg_isready]}\n").unwrap();
        f.check("services:\n  api:\n    image: x\n    health: {log: ready}\n").unwrap();
    }

    #[test]
    fn watch_rules() {
        let f = Fixture::new();
        std::fs::create_dir_all(f.dir.path().join("src")).unwrap();
        let ok = "services:\n  api:\n    image: x\n    watch:\n      - path: ./src\n        target: /app/src\n        ignore: [\"*.tmp\"]\n";
        f.check(ok).unwrap();
        let missing = "services:\n  api:\n    image: x\n    watch:\n      - path: ./nope\n        target: /app\n";
        let e = f.check(missing).unwrap_err();
        assert!(e.message.contains("does not exist"), "{e}");
        assert_eq!(at(&e), ("services.api.watch[0].path".into(), 5, 9));
        let outside = "services:\n  api:\n    image: x\n    watch:\n      - path: ../..\n        target: /app\n";
        let e = f.check(outside).unwrap_err();
        assert!(e.message.contains("outside the project"), "{e}");
        let relative = "services:\n  api:\n    image: x\n    watch:\n      - path: src\n        target: app/src\n";
        let e = f.check(relative).unwrap_err();
        assert!(e.message.contains("absolute"), "{e}");
        assert_eq!(at(&e).0, "services.api.watch[0].target");
        let no_target = "services:\n  api:\n    image: x\n    watch:\n      - path: src\n";
        let e = f.check(no_target).unwrap_err();
        assert!(e.message.contains("needs `target`"), "{e}");
        let rebuild = "services:\n  api:\n    image: x\n    watch:\n      - path: src\n        action: rebuild\n";
        let e = f.check(rebuild).unwrap_err();
        assert!(e.message.contains("needs a service with `build`"), "{e}");
        assert_eq!(at(&e).0, "services.api.watch[0].action");
    }

    #[test]
    fn a_watch_path_that_is_a_symlink_out_of_the_project_is_refused() {
        let f = Fixture::new();
        let elsewhere = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), f.dir.path().join("src")).unwrap();
        let yaml = "services:\n  api:\n    image: x\n    watch:\n      - path: ./src\n        target: /app/src\n";
        let e = f.check(yaml).unwrap_err();
        assert!(e.message.contains("is a symlink to") && e.message.contains("outside the project"), "{e}");
        assert_eq!(at(&e), ("services.api.watch[0].path".into(), 5, 9));
        std::fs::create_dir_all(f.dir.path().join("real")).unwrap();
        std::os::unix::fs::symlink(f.dir.path().join("real"), f.dir.path().join("inside")).unwrap();
        f.check(&yaml.replace("./src", "./inside")).expect("a symlink within the project is fine");
    }

    #[test]
    fn service_networks_must_be_declared() {
        let f = Fixture::new();
        let top = "networks:\n  front:\n  back:\n";
        let e = f.check(&format!("{top}services:\n  api:\n    image: x\n    networks: [front, bak]\n")).unwrap_err();
        assert_eq!(at(&e), ("services.api.networks[1]".into(), 7, 23));
        assert!(e.message.contains("`bak`") && e.message.contains("not declared"), "{}", e.message);
        assert_eq!(e.hint.as_deref(), Some("did you mean `back`?"));
        let e = f.check(&format!("{top}services:\n  api:\n    image: x\n    networks:\n      default:\n      other:\n")).unwrap_err();
        assert_eq!(at(&e), ("services.api.networks.other".into(), 9, 7));
        assert!(e.hint.unwrap().contains("networks:\n    other:"));
        f.check(&format!("{top}services:\n  api:\n    image: x\n    networks: {{default: , back: {{aliases: [db-main]}}}}\n")).unwrap();
    }

    #[test]
    fn replicas_that_would_clash_are_rejected_at_the_key() {
        let f = Fixture::new();
        let e = f.check("services:\n  web:\n    image: x\n    replicas: 2\n    container_name: mine\n").unwrap_err();
        assert_eq!(at(&e), ("services.web.container_name".into(), 5, 5));
        let e = f.check("services:\n  web:\n    image: x\n    replicas: 2\n    ports: [\":81\", \"8080:80\"]\n").unwrap_err();
        assert_eq!(e.yaml_path, "services.web.ports[1]");
        assert!(e.message.contains("host port 8080") && e.hint.unwrap().contains("8080-8081:80"), "{}", e.message);
        let e = f.check("services:\n  web:\n    image: x\n    replicas: 3\n    ports: [\"8080-8081:80\"]\n").unwrap_err();
        assert!(e.message.contains("has 2 port(s)"), "{}", e.message);
        f.check("services:\n  web:\n    image: x\n    replicas: 3\n    ports: [\":80\", \"8080-8082:80\"]\n").unwrap();
        f.check("services:\n  web:\n    image: x\n    replicas: 1\n    container_name: mine\n    ports: [\"8080:80\"]\n").unwrap();
        // A range's ports are published: another service may not take one of them.
        let e = f.check("services:\n  a:\n    image: x\n    ports: [\"8080-8082:80\"]\n  b:\n    image: x\n    ports: [\"8081:80\"]\n").unwrap_err();
        assert_eq!(e.yaml_path, "services.b.ports[0]");
    }

    #[test]
    fn fixed_addresses_and_bad_aliases_are_rejected() {
        let f = Fixture::new();
        let e = f
            .check("networks:\n  back:\nservices:\n  api:\n    image: x\n    networks:\n      back:\n        ipv4_address: 172.20.0.5\n")
            .unwrap_err();
        assert_eq!(at(&e), ("services.api.networks.back.ipv4_address".into(), 8, 9));
        assert!(e.message.contains("not supported"), "{}", e.message);
        let e = f.check("networks:\n  back:\nservices:\n  api:\n    image: x\n    networks:\n      back: {aliases: [\"bad alias\"]}\n").unwrap_err();
        assert_eq!(e.yaml_path, "services.api.networks.back.aliases[0]");
    }

    #[test]
    fn top_level_network_rules() {
        let f = Fixture::new();
        let e = f.check("networks:\n  ext:\n    external: true\n    driver: bridge\nservices: {}\n").unwrap_err();
        assert_eq!(at(&e), ("networks.ext.driver".into(), 4, 5));
        assert!(e.hint.unwrap().contains("external: true"));
        let e = f.check("networks:\n  a: {name: same}\n  b: {name: same}\nservices: {}\n").unwrap_err();
        assert_eq!(at(&e), ("networks.b.name".into(), 3, 7));
        let e = f.check("networks:\n  -x:\nservices: {}\n").unwrap_err();
        assert_eq!(at(&e), ("networks.-x".into(), 2, 3));
        f.check("networks:\n  ext: {external: true, name: corp-net}\n  own: {driver: bridge, internal: true, labels: {a: b}}\nservices: {}\n").unwrap();
    }

    #[test]
    fn restart_expose_and_hosts() {
        let f = Fixture::new();
        let e = f.check("services:\n  api:\n    image: x\n    restart: allways\n").unwrap_err();
        assert_eq!(at(&e), ("services.api.restart".into(), 4, 5));
        assert!(e.hint.unwrap().starts_with("did you mean `always`?"));
        let e = f.check("services:\n  api:\n    image: x\n    restart: always:3\n").unwrap_err();
        assert!(e.message.contains("only `on-failure`"), "{}", e.message);
        f.check("services:\n  api:\n    image: x\n    restart: on-failure:5\n").unwrap();
        let e = f.check("services:\n  api:\n    image: x\n    expose:\n      - 3000\n      - \"80:80\"\n").unwrap_err();
        assert_eq!(at(&e), ("services.api.expose[1]".into(), 6, 9));
        let e = f.check("services:\n  api:\n    image: x\n    extra_hosts: [\"a:10.0.0.1\", \"b:nowhere\"]\n").unwrap_err();
        assert_eq!(at(&e), ("services.api.extra_hosts[1]".into(), 4, 33));
        let e = f.check("services:\n  api:\n    image: x\n    extra_hosts:\n      good: 10.0.0.1\n      bad: 999.1.1.1\n").unwrap_err();
        assert_eq!(at(&e), ("services.api.extra_hosts.bad".into(), 6, 7));
    }

    #[test]
    fn names_signals_and_sizes() {
        let f = Fixture::new();
        let e = f.check("services:\n  api:\n    image: x\n    container_name: \"my api\"\n").unwrap_err();
        assert_eq!(at(&e), ("services.api.container_name".into(), 4, 5));
        let e = f.check("services:\n  a:\n    image: x\n    container_name: same\n  b:\n    image: x\n    container_name: same\n").unwrap_err();
        assert_eq!(at(&e), ("services.b.container_name".into(), 7, 5));
        assert!(e.message.contains("`a`") && e.message.contains("`b`"), "{}", e.message);
        let e = f.check("services:\n  api:\n    image: x\n    hostname: \"bad host\"\n").unwrap_err();
        assert_eq!(at(&e), ("services.api.hostname".into(), 4, 5));
        let e = f.check("services:\n  api:\n    image: x\n    stop_signal: SIGTREM\n").unwrap_err();
        assert_eq!(at(&e), ("services.api.stop_signal".into(), 4, 5));
        assert_eq!(e.hint.as_deref(), Some("did you mean `SIGTERM`?"));
        let e = f.check("services:\n  api:\n    image: x\n    shm_size: huge\n").unwrap_err();
        assert_eq!(at(&e), ("services.api.shm_size".into(), 4, 5));
        f.check("services:\n  api:\n    image: x\n    container_name: api-1\n    hostname: api.local\n    stop_signal: SIGINT\n    shm_size: 1g\n").unwrap();
    }

    #[test]
    fn versions_are_tags_the_preset_repository_publishes() {
        let f = Fixture::new();
        let e = f.check("services:\n  db:\n    preset: postgres\n    version: 16.10\n").unwrap_err();
        assert_eq!(at(&e), ("services.db.version".into(), 4, 5));
        assert!(e.message.contains("16.10") && e.message.contains("16.1)"), "{}", e.message);
        assert_eq!(e.hint.as_deref(), Some("quote it: version: \"16.10\""));
        let e = f.check("services:\n  olap:\n    preset: clickhouse\n    version: 24.10\n").unwrap_err();
        assert_eq!(e.hint.as_deref(), Some("quote it: version: \"24.10\""));
        f.check("services:\n  db:\n    preset: postgres\n    version: 16\n").unwrap();
        f.check("services:\n  db:\n    preset: postgres\n    version: \"16.10\"\n").unwrap();
        f.check("services:\n  db:\n    preset: postgres\n    version: latest\n").unwrap();
        for (preset, version) in [("elasticsearch", "8"), ("elasticsearch", "latest"), ("kafka", "\"3.9\""), ("kafka", "4")] {
            let e = f.check(&format!("services:\n  s:\n    preset: {preset}\n    version: {version}\n")).unwrap_err();
            assert_eq!(at(&e), ("services.s.version".into(), 4, 5), "{preset} {version}");
            assert!(e.message.contains("full versions only"), "{}", e.message);
            assert!(e.hint.as_deref().is_some_and(|h| h.contains("tags upstream")), "{:?}", e.hint);
        }
        f.check("services:\n  s:\n    preset: kafka\n    version: 3.9.1\n").unwrap();
        f.check("services:\n  s:\n    preset: elasticsearch\n    version: 8.15.3\n").unwrap();
        let e = f.check("services:\n  api:\n    image: x\n    preset_defaults: false\n").unwrap_err();
        assert_eq!(at(&e), ("services.api.preset_defaults".into(), 4, 5));
        f.check("services:\n  db:\n    preset: postgres\n    preset_defaults: false\n").unwrap();
    }

    #[test]
    fn what_docker_would_refuse_late_is_refused_at_load() {
        let f = Fixture::new();
        let long = "s".repeat(64);
        let e = f.check(&format!("services:\n  {long}:\n    image: x\n")).unwrap_err();
        assert_eq!(at(&e), (format!("services.{long}"), 2, 3));
        f.check(&format!("services:\n  {}:\n    image: x\n", "s".repeat(63))).unwrap();
        let e = f.check("services:\n  api:\n    image: \"My/App:1\"\n").unwrap_err();
        assert_eq!(at(&e), ("services.api.image".into(), 3, 5));
        assert!(e.message.contains("invalid image reference"), "{}", e.message);
        let e = f.check("services:\n  db:\n    preset: postgres\n    version: \"16; rm -rf /\"\n").unwrap_err();
        assert_eq!(at(&e), ("services.db.version".into(), 4, 5));
        let e = f.check("services:\n  api:\n    image: x\n    env:\n      - =oops\n").unwrap_err();
        assert_eq!(at(&e), ("services.api.env[0]".into(), 5, 9));
    }

    #[test]
    fn devenv_labels_are_reserved() {
        let f = Fixture::new();
        let e = f.check("services:\n  api:\n    image: x\n    labels:\n      team: a\n      dev.devenv.owner-pid: \"1\"\n").unwrap_err();
        assert_eq!(at(&e), ("services.api.labels.dev.devenv.owner-pid".into(), 6, 7));
        assert!(e.message.contains("reserved"), "{}", e.message);
        let e = f.check("services:\n  api:\n    image: x\n    labels: [\"dev.devenv.project=other\"]\n").unwrap_err();
        assert!(e.yaml_path.starts_with("services.api.labels"), "{}", e.yaml_path);
        let e = f.check("networks:\n  own: {labels: {dev.devenv.project: x}}\nservices: {}\n").unwrap_err();
        assert_eq!(at(&e).0, "networks.own.labels.dev.devenv.project");
        f.check("services:\n  api:\n    image: x\n    labels: {dev.other: a, devenv.x: b}\n").unwrap();
    }

    #[test]
    fn ulimits_tmpfs_and_capabilities() {
        let f = Fixture::new();
        let e = f.check("services:\n  api:\n    image: x\n    ulimits:\n      nofiles: 1024\n").unwrap_err();
        assert_eq!(at(&e), ("services.api.ulimits.nofiles".into(), 5, 7));
        assert_eq!(e.hint.as_deref(), Some("did you mean `nofile`?"));
        let e = f.check("services:\n  api:\n    image: x\n    ulimits:\n      nofile:\n        soft: 4000\n        hard: 2000\n").unwrap_err();
        assert_eq!(at(&e), ("services.api.ulimits.nofile.soft".into(), 6, 9));
        f.check("services:\n  api:\n    image: x\n    ulimits: {nofile: {soft: 1024, hard: -1}, core: -1}\n").unwrap();
        let e = f.check("services:\n  api:\n    image: x\n    tmpfs: run\n").unwrap_err();
        assert_eq!(at(&e), ("services.api.tmpfs".into(), 4, 5));
        let e = f.check("services:\n  api:\n    image: x\n    tmpfs:\n      - /run\n      - \"/tmp:mode=abc\"\n").unwrap_err();
        assert_eq!(at(&e), ("services.api.tmpfs[1]".into(), 6, 9));
        let e = f.check("services:\n  api:\n    image: x\n    cap_drop: [NET_RAW, SYS_ADMN]\n").unwrap_err();
        assert_eq!(at(&e), ("services.api.cap_drop[1]".into(), 4, 25));
        assert_eq!(e.hint.as_deref(), Some("did you mean `SYS_ADMIN`?"));
    }

    #[test]
    fn health_shell_protocol_and_disable() {
        let f = Fixture::new();
        f.check("services:\n  api:\n    image: x\n    health: {shell: \"curl -f localhost || exit 1\", start_period: 5s}\n").unwrap();
        f.check("services:\n  db:\n    image: postgres\n    health: {protocol: postgres}\n").unwrap();
        f.check("services:\n  db:\n    image: postgres\n    health: {disable: true}\n").unwrap();
        let e = f.check("services:\n  api:\n    image: x\n    health:\n      disable: true\n      exec: [true]\n").unwrap_err();
        assert_eq!(at(&e), ("services.api.health.exec".into(), 6, 7));
        assert!(e.message.contains("disable: true"), "{}", e.message);
        let e = f.check("services:\n  api:\n    image: x\n    health:\n      exec: [a]\n      shell: b\n").unwrap_err();
        assert_eq!(at(&e), ("services.api.health.shell".into(), 6, 7));
        let e = f.check("services:\n  db:\n    image: x\n    health:\n      protocol: postgress\n").unwrap_err();
        assert_eq!(at(&e), ("services.db.health.protocol".into(), 5, 7));
        assert_eq!(e.hint.as_deref(), Some("did you mean `postgres`?"));
        let e = f.check("services:\n  api:\n    image: x\n    health:\n      shell: \" \"\n").unwrap_err();
        assert_eq!(at(&e), ("services.api.health.shell".into(), 5, 7));
        let e = f.check("services:\n  api:\n    image: x\n    health: {start_period: 5s}\n").unwrap_err();
        assert!(e.message.contains("needs a probe"), "{}", e.message);
        let e = f
            .check("services:\n  db:\n    preset: postgres\n    health:\n      disable: true\n    seed:\n      - exec: [\"true\"]\n")
            .unwrap_err();
        assert_eq!(at(&e), ("services.db.health.disable".into(), 5, 7));
    }

    #[test]
    fn an_invalid_log_pattern_is_found_at_load() {
        let f = Fixture::new();
        let e = f.check("services:\n  api:\n    image: x\n    health:\n      log: \"a(\"\n").unwrap_err();
        assert_eq!(at(&e), ("services.api.health.log".into(), 5, 7));
        assert!(e.message.contains("invalid regular expression"), "{e}");
    }
}
