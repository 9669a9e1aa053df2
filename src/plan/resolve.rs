//! Resolve `ServiceSpec`s into `ResolvedService`s: Docker names, image tags,
//! final environment (with `${svc.host}` / `${svc.port}` references), health.
//!
//! Pure: it reads only the loaded model (every value parsed, seed globs
//! expanded by `config`) and the image map it is given — no disk, no process
//! environment, no `/proc`. Must not: parse a written value again.

use std::time::Duration;

use indexmap::IndexMap;

use super::graph::Graph;
use super::hash::config_hash;
use super::healthcheck;
use super::images::ImageMap;
// The plan's types live in `model`; their old paths (`plan::resolve::…`) stay valid.
pub use super::model::*;
use crate::config::{CommandSpec, Condition, HealthSpec, HealthcheckTiming, LoadedEnv, Namespace, RunMode, ServiceSpec, VolumesFromSource};
use crate::values::{PortSpec, VolumeSpec};
use crate::yaml::ConfigError;
use crate::preset::{self, Connection, Kind};

/// The name an inline Dockerfile (`build.dockerfile_inline`) is sent under, in the context.
pub const INLINE_DOCKERFILE: &str = ".devenv.inline.Dockerfile";

/// Resolve a loaded file into a plan. Errors point into the file.
///
/// Pure: every value was parsed (and every seed glob expanded) by `config`;
/// this reads no disk, no process environment and no `/proc`.
pub fn resolve(env: &LoadedEnv, images: &ImageMap) -> Result<Plan, ConfigError> {
    let project = env.project.clone();
    let graph = dependency_graph(env)?;
    let drafts = drafts(env, images);
    let networks = resolve_networks(env, &project);
    let cx = Cx { env, project: &project, drafts: &drafts, networks: &networks, images };
    let mut volumes: Vec<(String, String)> = Vec::new();
    let mut services: IndexMap<String, ResolvedService> = IndexMap::new();
    for (name, spec) in &env.spec.services {
        let Some(draft) = drafts.get(name) else { continue };
        let svc = resolve_service(&cx, name, spec, draft, &services)?;
        for v in &svc.volumes {
            if let VolumeSpec::Named { name: vname, .. } = v
                && !volumes.iter().any(|(n, _)| n == vname)
            {
                volumes.push((vname.clone(), volume_docker_name(env, &project, vname)));
            }
        }
        services.insert(name.clone(), svc);
    }
    for name in env.spec.volumes.keys() {
        if !volumes.iter().any(|(n, _)| n == name) {
            volumes.push((name.clone(), volume_docker_name(env, &project, name)));
        }
    }
    let volume_options = resolve_volume_options(env);
    Ok(Plan {
        network: networks.get(DEFAULT_NETWORK).map(|n| n.name.clone()).unwrap_or_else(|| format!("{project}_{DEFAULT_NETWORK}")),
        networks,
        project,
        file: env.file.clone(),
        dir: env.dir.clone(),
        services,
        volumes,
        volume_options,
        graph,
    })
}

/// What resolving one service needs from the whole file.
struct Cx<'a> {
    env: &'a LoadedEnv,
    project: &'a str,
    drafts: &'a IndexMap<String, Draft>,
    networks: &'a IndexMap<String, ResolvedNetwork>,
    images: &'a ImageMap,
}

impl Cx<'_> {
    /// An error at `path` in the file (position from the load's position map).
    fn error(&self, path: String, message: String, hint: Option<String>) -> ConfigError {
        ConfigError { file: self.env.file.clone(), pos: self.env.locations.get(&path), yaml_path: path, message, hint }
    }
}

/// The `depends_on` graph; a cycle is an error at the first edge of it.
fn dependency_graph(env: &LoadedEnv) -> Result<Graph, ConfigError> {
    let graph = Graph::new(
        env.spec.services.iter().map(|(name, s)| (name.as_str(), s.depends_on.0.keys().map(String::as_str).chain(volumes_from_services(s)).collect())),
    );
    if let Some(cycle) = graph.find_cycle() {
        let first = cycle.0.first().cloned().unwrap_or_default();
        let second = cycle.0.get(1).cloned().unwrap_or_default();
        let path = format!("services.{first}.depends_on.{second}");
        return Err(ConfigError {
            file: env.file.clone(),
            pos: env.locations.get(&path),
            yaml_path: path,
            message: format!("dependency cycle: {cycle}"),
            hint: Some("remove one of these depends_on entries; a service cannot wait for itself".into()),
        });
    }
    Ok(graph)
}

/// Pass 1: presets merged with what the user wrote (the user wins).
fn drafts(env: &LoadedEnv, images: &ImageMap) -> IndexMap<String, Draft> {
    let mut drafts: IndexMap<String, Draft> = IndexMap::new();
    for (name, spec) in &env.spec.services {
        let parsed = &spec.parsed;
        let kind = parsed.preset;
        let defaults = kind.map(|k| preset_defaults(env, images, name, spec, k));
        let mut final_env: IndexMap<String, String> = defaults.as_ref().map(|d| d.env.clone()).unwrap_or_default();
        for (k, v) in &parsed.env {
            final_env.insert(k.clone(), v.clone());
        }
        let ports = match &defaults {
            Some(d) if parsed.ports.is_empty() => d.ports.clone(),
            _ => parsed.ports.clone(),
        };
        let mut vols = parsed.volumes.clone();
        if let Some(d) = &defaults {
            for v in &d.volumes {
                if !vols.iter().any(|u| holds_data(u.target(), v.target(), d.data_root.as_deref())) {
                    vols.push(v.clone());
                }
            }
        }
        let command: Vec<String> =
            spec.command.as_ref().map(CommandSpec::argv).or_else(|| defaults.as_ref().and_then(|d| d.command.clone())).unwrap_or_default();
        let connection = kind.map(|k| preset::connection(k, &final_env, &command));
        drafts.insert(name.clone(), Draft { kind, defaults, env: final_env, ports, volumes: vols, connection });
    }
    drafts
}

/// The preset's defaults, told what the image that will run declares (when
/// the caller found it locally: `ImageMap::config`).
fn preset_defaults(env: &LoadedEnv, images: &ImageMap, name: &str, spec: &ServiceSpec, kind: Kind) -> preset::Defaults {
    let mut ctx = preset::Context {
        project: &env.project,
        service: name,
        version: spec.version.as_deref(),
        persist: spec.persist,
        image: spec.image.as_deref(),
        image_config: None,
    };
    let runs = images.apply(spec.image.clone().unwrap_or_else(|| preset::defaults(kind, &ctx).image).as_str());
    ctx.image_config = images.config(&runs);
    let mut d = preset::defaults(kind, &ctx);
    if spec.preset_defaults == Some(false) {
        // As written: the image and where the data is (the seed ledger) only.
        (d.env, d.ports, d.volumes, d.command, d.ulimits) = (IndexMap::new(), Vec::new(), Vec::new(), None, Vec::new());
    }
    d
}

/// Whether the user's mount at `user` takes the place of the preset's data
/// volume at `target`: it is mounted there or above it, or at or below the
/// preset's data root.
fn holds_data(user: &str, target: &str, data_root: Option<&str>) -> bool {
    let at_or_under = |path: &str, dir: &str| {
        let (path, dir) = (path.trim_end_matches('/'), dir.trim_end_matches('/'));
        path == dir || path.strip_prefix(dir).is_some_and(|rest| rest.starts_with('/'))
    };
    at_or_under(target, user) || data_root.is_some_and(|root| at_or_under(user, root))
}

/// Pass 2, one service: references, image, health, options, hash.
fn resolve_service(
    cx: &Cx,
    name: &str,
    spec: &ServiceSpec,
    draft: &Draft,
    earlier: &IndexMap<String, ResolvedService>,
) -> Result<ResolvedService, ConfigError> {
    let build = spec.build.as_ref().map(|b| ResolvedBuild {
        context: crate::values::volumes::normalize(&cx.env.dir.join(&b.context)),
        dockerfile: match (&b.dockerfile_inline, &b.dockerfile) {
            (Some(_), _) => INLINE_DOCKERFILE.into(),
            (None, d) => d.clone().unwrap_or_else(|| "Dockerfile".into()),
        },
        dockerfile_inline: b.dockerfile_inline.clone(),
        args: spec.parsed.build_args.clone(),
        target: b.target.clone(),
        platforms: b.platforms.clone(),
        secrets: b.secrets.clone(),
        ssh: b.ssh.clone(),
        additional_contexts: b.additional_contexts.iter().map(|(k, v)| (k.clone(), named_context(&cx.env.dir, v))).collect(),
    });
    let image = image_for(cx, name, spec, draft, build.as_ref(), earlier)?;
    let mut env = IndexMap::new();
    for (k, v) in &draft.env {
        let value = resolve_refs(v, cx.drafts).map_err(|m| {
            cx.error(format!("services.{name}.env.{k}"), m, Some("references are `${SERVICE.url}`, `${SERVICE.host}` or `${SERVICE.port}`".into()))
        })?;
        env.insert(k.clone(), value);
    }
    let refs = |field: &str, argv: Option<Vec<String>>| -> Result<Option<Vec<String>>, ConfigError> {
        let one = |arg: &String| resolve_refs(arg, cx.drafts).map_err(|m| cx.error(format!("services.{name}.{field}"), m, None));
        argv.map(|a| a.iter().map(one).collect::<Result<Vec<_>, _>>()).transpose()
    };
    let command = refs("command", spec.command.as_ref().map(CommandSpec::argv).or_else(|| draft.defaults.as_ref().and_then(|d| d.command.clone())))?;
    let entrypoint = refs("entrypoint", spec.entrypoint.as_ref().map(CommandSpec::argv))?;
    let health = health_for(spec, draft, name).map_err(|(p, m)| cx.error(p, m, None))?;
    let networks = attachments(spec, cx.networks).map_err(|(p, m)| cx.error(format!("services.{name}.{p}"), m, None))?;
    let mut svc = assemble(cx, name, spec, draft, Resolved { image, build, command, entrypoint, env, health, networks });
    // The file's own ports and container_name were checked at load; a preset's fixed ports are here.
    super::replicas::check(&svc, cx.project, svc.replica_count())
        .map_err(|m| cx.error(format!("services.{name}.replicas"), m, Some("publish the preset's port on a range or the container port only (`ports: [\":5432\"]`), or run one replica".into())))?;
    svc.config_hash = config_hash(&svc, cx.project);
    Ok(svc)
}

/// The parts of a service `resolve_service` computed; `assemble` adds the rest.
struct Resolved {
    image: String,
    build: Option<ResolvedBuild>,
    command: Option<Vec<String>>,
    entrypoint: Option<Vec<String>>,
    env: IndexMap<String, String>,
    health: Option<ResolvedHealth>,
    networks: Vec<NetworkAttachment>,
}

/// The service's fields copied from its parsed spec (no parsing, no errors).
fn assemble(cx: &Cx, name: &str, spec: &ServiceSpec, draft: &Draft, r: Resolved) -> ResolvedService {
    let opts = &spec.parsed.options;
    let once = spec.run == Some(RunMode::Once);
    ResolvedService {
        name: name.to_string(),
        container_name: spec.container_name.clone().unwrap_or_else(|| format!("{}-{name}", cx.project)),
        image: r.image,
        platform: spec.platform.clone(),
        image_vars: cx.env.interpolated.get(&format!("services.{name}.image")).cloned().unwrap_or_default(),
        build: r.build,
        preset: draft.kind,
        connection: draft.connection.clone(),
        command: r.command,
        entrypoint: r.entrypoint,
        env: r.env,
        ports: draft.ports.clone(),
        volumes: draft.volumes.clone(),
        volumes_from: volumes_from(cx, spec),
        ipc_mode: spec.parsed.ipc.as_ref().map(|n| namespace(cx, n)),
        pid_mode: spec.parsed.pid.as_ref().map(|n| namespace(cx, n)),
        network_mode: spec.parsed.network_mode.as_ref().map(|n| namespace(cx, n)),
        files: spec.files.clone(),
        ulimits: merge_ulimits(draft.defaults.as_ref().map(|d| d.ulimits.as_slice()).unwrap_or_default(), spec),
        depends_on: conditions(cx.env, spec),
        health: r.health,
        once,
        seeds: spec.parsed.seeds.clone(),
        data_dir: draft.defaults.as_ref().map(|d| d.data_dir.clone()),
        labels: spec.labels.0.iter().map(|(k, v)| (k.clone(), v.clone().unwrap_or_default())).collect(),
        working_dir: spec.working_dir.clone(),
        user: spec.user.clone(),
        watch: watch_rules(cx.env, spec),
        hostname: spec.hostname.clone().unwrap_or_else(|| default_hostname(name, spec)),
        restart: if once { None } else { opts.restart },
        expose: opts.expose.clone(),
        networks: if spec.parsed.network_mode.is_some() { Vec::new() } else { r.networks },
        extra_hosts: opts.extra_hosts.clone(),
        stop_grace_period: spec.stop_grace_period.map(|d| d.0),
        stop_signal: spec.stop_signal.clone(),
        init: spec.init,
        tty: spec.tty,
        stdin_open: spec.stdin_open,
        tmpfs: opts.tmpfs.clone(),
        privileged: spec.privileged,
        cap_add: opts.cap_add.clone(),
        cap_drop: opts.cap_drop.clone(),
        shm_size: opts.shm_size,
        resources: opts.resources,
        docker_healthcheck: docker_healthcheck(spec.health.as_ref(), spec.container_healthcheck.as_ref()),
        replicas: spec.replicas,
        config_hash: String::new(),
    }
}

/// The image: written, else built (services with identical builds share one), else the preset's.
/// A named build context: a directory (relative to the file) made absolute;
/// `service:`, `docker-image://` and URLs kept.
fn named_context(dir: &std::path::Path, v: &str) -> String {
    if v.contains("://") || v.starts_with("service:") || v.starts_with("git@") {
        return v.to_string();
    }
    crate::values::volumes::normalize(&dir.join(v)).to_string_lossy().into_owned()
}

fn image_for(
    cx: &Cx,
    name: &str,
    spec: &ServiceSpec,
    draft: &Draft,
    build: Option<&ResolvedBuild>,
    earlier: &IndexMap<String, ResolvedService>,
) -> Result<String, ConfigError> {
    Ok(match (&spec.image, build, &draft.defaults) {
        (Some(i), _, _) => cx.images.apply(i),
        (None, Some(b), _) => earlier
            .values()
            .find(|s| s.build.as_ref() == Some(b))
            .map(|s| s.image.clone())
            .unwrap_or_else(|| format!("{}-{name}:devenv", cx.project)),
        (None, None, Some(d)) => cx.images.apply(&d.image),
        (None, None, None) => {
            return Err(cx.error(
                format!("services.{name}"),
                format!("service `{name}` has neither `image`, `build` nor `preset`"),
                Some("add `image: NAME:TAG`, `build: ./dir` or `preset: postgres`".into()),
            ));
        }
    })
}

/// Readiness: none when disabled, the written probe, else the preset's protocol probe.
fn health_for(spec: &ServiceSpec, draft: &Draft, name: &str) -> Result<Option<ResolvedHealth>, (String, String)> {
    let has_probe = spec.health.as_ref().is_some_and(|h| !h.probes().is_empty());
    Ok(match (&spec.health, &draft.connection) {
        (Some(h), _) if h.disabled() => None,
        (Some(_), _) if has_probe => resolve_health(spec, &draft.ports, &draft.env, name)?,
        // The preset's protocol probe, with the user's timing if written.
        (h, Some(c)) => Some(timed(Probe::Preset(c.clone()), h.as_ref())),
        (_, None) => None,
    })
}

/// `depends_on` with the default condition made explicit: `healthy` when the
/// dependency has a probe, else `started`.
/// The container a service runs in, by name.
fn container_of(cx: &Cx, service: &str) -> String {
    match cx.env.spec.services.get(service).and_then(|t| t.container_name.clone()) {
        Some(n) => n,
        None => format!("{}-{service}", cx.project),
    }
}

/// An IPC / PID mode as Docker takes it: `service:NAME` → `container:<its container>`.
fn namespace(cx: &Cx, n: &Namespace) -> String {
    match n {
        Namespace::Mode(m) => m.clone(),
        Namespace::Service(s) => format!("container:{}", container_of(cx, s)),
        Namespace::Container(c) => format!("container:{c}"),
    }
}

/// `volumes_from` as Docker takes it: a service's container name, or the container's.
fn volumes_from(cx: &Cx, spec: &ServiceSpec) -> Vec<String> {
    let container = |s: &str| container_of(cx, s);
    spec.parsed
        .volumes_from
        .iter()
        .map(|v| {
            let name = match &v.source {
                VolumesFromSource::Service(s) => container(s),
                VolumesFromSource::Container(c) => c.clone(),
            };
            match v.read_only {
                Some(true) => format!("{name}:ro"),
                Some(false) => format!("{name}:rw"),
                None => name,
            }
        })
        .collect()
}

/// `depends_on` with conditions settled; a service `volumes_from` names starts first.
fn conditions(env: &LoadedEnv, spec: &ServiceSpec) -> IndexMap<String, Condition> {
    let probed = |d: &str| {
        env.spec.services.get(d).is_some_and(|s| !s.health.as_ref().is_some_and(HealthSpec::disabled) && (s.preset.is_some() || s.health.is_some()))
    };
    spec.depends_on
        .0
        .iter()
        .map(|(d, c)| {
            let cond = match c {
                Condition::Default if probed(d) => Condition::Healthy,
                Condition::Default => Condition::Started,
                other => *other,
            };
            (d.clone(), cond)
        })
        .chain(volumes_from_services(spec).filter(|s| !spec.depends_on.0.contains_key(*s)).map(|s| (s.to_string(), Condition::Started)))
        .collect()
}

/// The service name, except with a network stack shared with the host or a
/// container (`network_mode: host`, `service:`, `container:`): none, the
/// engine's (it refuses a hostname with a container's network).
fn default_hostname(name: &str, spec: &ServiceSpec) -> String {
    match &spec.parsed.network_mode {
        Some(Namespace::Mode(m)) if m != "host" => name.to_string(),
        Some(_) => String::new(),
        None => name.to_string(),
    }
}

/// The services a service's `volumes_from`, `ipc`, `pid` and `network_mode` name (they must be created first).
fn volumes_from_services(spec: &ServiceSpec) -> impl Iterator<Item = &str> {
    let from = spec.parsed.volumes_from.iter().filter_map(|v| match &v.source {
        VolumesFromSource::Service(s) => Some(s.as_str()),
        VolumesFromSource::Container(_) => None,
    });
    let shared = [&spec.parsed.ipc, &spec.parsed.pid, &spec.parsed.network_mode].into_iter().filter_map(|n| match n {
        Some(Namespace::Service(s)) => Some(s.as_str()),
        _ => None,
    });
    from.chain(shared)
}

/// `watch:` rules with the host path made absolute.
fn watch_rules(env: &LoadedEnv, spec: &ServiceSpec) -> Vec<ResolvedWatch> {
    spec.watch
        .iter()
        .map(|w| ResolvedWatch {
            path: crate::values::volumes::normalize(&env.dir.join(&w.path)),
            target: w.target.clone(),
            action: w.action,
            ignore: w.ignore.clone(),
            exec: w.exec.as_ref().map(CommandSpec::argv),
        })
        .collect()
}

/// A service between the two passes of `resolve`.
struct Draft {
    kind: Option<Kind>,
    defaults: Option<preset::Defaults>,
    env: IndexMap<String, String>,
    ports: Vec<PortSpec>,
    volumes: Vec<VolumeSpec>,
    connection: Option<Connection>,
}

/// `--ports random`: publish every port on a free host port (chosen before each
/// container is created and kept across re-ups), so parallel runs never collide.
pub fn randomize_ports(plan: &mut Plan) {
    for svc in plan.services.values_mut() {
        for p in &mut svc.ports {
            p.host_port = None;
            p.host_port_end = None;
        }
        svc.config_hash = config_hash(svc, &plan.project);
    }
}

/// Replace `${svc.url}`, `${svc.host}` and `${svc.port}` with in-network values.
fn resolve_refs(value: &str, drafts: &IndexMap<String, Draft>) -> Result<String, String> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let inner = &after[..end];
        match inner.split_once('.') {
            Some((svc, field)) if !svc.is_empty() => {
                let Some(d) = drafts.get(svc) else {
                    return Err(format!("`${{{inner}}}` names an unknown service `{svc}`"));
                };
                let port = d.connection.as_ref().map(|c| c.network_port()).or_else(|| d.ports.first().map(|p| p.container_port));
                match field {
                    "host" => out.push_str(svc),
                    "port" => match port {
                        Some(p) => out.push_str(&p.to_string()),
                        None => return Err(format!("`${{{inner}}}`: service `{svc}` declares no port")),
                    },
                    "url" => match &d.connection {
                        Some(c) => out.push_str(&c.url(svc, c.network_port())),
                        None => return Err(format!("`${{{inner}}}`: only presets define a connection URL, and `{svc}` has no `preset`")),
                    },
                    other => return Err(format!("`${{{inner}}}`: unknown field `{other}` (use url, host or port)")),
                }
            }
            _ => out.push_str(&rest[start..start + 2 + end + 1]),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn resolve_health(
    spec: &ServiceSpec,
    ports: &[PortSpec],
    env: &IndexMap<String, String>,
    name: &str,
) -> Result<Option<ResolvedHealth>, (String, String)> {
    let Some(h) = &spec.health else { return Ok(None) };
    let first_port = ports.first().map(|p| p.container_port);
    let probe = if let Some(path) = &h.http {
        let port = h.port.or(first_port).ok_or_else(|| {
            (format!("services.{name}.health"), "an `http` probe needs a `port` (or a published port)".to_string())
        })?;
        Probe::Http { path: path.clone(), port }
    } else if let Some(port) = h.tcp {
        Probe::Tcp { port }
    } else if let Some(cmd) = &h.exec {
        let command = cmd.argv();
        Probe::Exec { native: healthcheck::recognise(&command, env), command }
    } else if let Some(script) = &h.shell {
        let command = vec!["sh".into(), "-c".into(), script.clone()];
        Probe::Exec { native: healthcheck::recognise(&command, env), command }
    } else if let Some(pattern) = &h.log {
        // Checked at load.
        Probe::Log { pattern: pattern.clone() }
    } else if let Some(protocol) = &h.protocol {
        // Parsed (and checked) at load.
        let kind = spec.parsed.health_protocol
            .ok_or_else(|| (format!("services.{name}.health.protocol"), format!("unknown probe protocol `{protocol}`")))?;
        let mut conn = preset::connection(kind, env, &spec.command.as_ref().map(CommandSpec::argv).unwrap_or_default());
        if let Some(port) = h.port {
            conn.port = port;
        }
        Probe::Preset(conn)
    } else {
        return Err((format!("services.{name}.health"), "health needs one of http, tcp, exec, shell, log or protocol".to_string()));
    };
    Ok(Some(timed(probe, Some(h))))
}

/// A probe with the timing written in `health` (defaults where it is silent).
fn timed(probe: Probe, h: Option<&HealthSpec>) -> ResolvedHealth {
    ResolvedHealth {
        probe,
        interval: h.and_then(|h| h.interval).map(|d| d.0).unwrap_or(DEFAULT_INTERVAL),
        timeout: h.and_then(|h| h.timeout).map(|d| d.0).unwrap_or(DEFAULT_READY_TIMEOUT),
        retries: h.and_then(|h| h.retries),
        start_period: h.and_then(|h| h.start_period).map(|d| d.0),
    }
}

/// The container HEALTHCHECK for a written `exec`/`shell` probe, or `NONE` for
/// `disable: true`. A compose file's timing is carried as written (`timing`);
/// without one, Docker checks every second at most. Timing alone (a compose
/// healthcheck without `test`) keeps the image's test with that timing.
fn docker_healthcheck(h: Option<&HealthSpec>, timing: Option<&HealthcheckTiming>) -> Option<DockerHealthcheck> {
    if h.is_some_and(HealthSpec::disabled) {
        return Some(DockerHealthcheck { test: vec!["NONE".into()], interval: None, timeout: None, retries: None, start_period: None });
    }
    let test = match h {
        Some(HealthSpec { shell: Some(script), .. }) => vec!["CMD-SHELL".to_string(), script.clone()],
        Some(HealthSpec { exec: Some(cmd), .. }) => std::iter::once("CMD".to_string()).chain(cmd.argv()).collect(),
        // The image's own test, paced as the compose file says.
        _ if timing.is_some() => vec![],
        _ => return None,
    };
    if let Some(t) = timing {
        return Some(DockerHealthcheck { test, interval: t.interval, timeout: t.timeout, retries: t.retries, start_period: t.start_period });
    }
    let h = h?;
    let interval = h.interval.map(|d| d.0).unwrap_or(DEFAULT_INTERVAL).max(DOCKER_HEALTHCHECK_MIN_INTERVAL);
    let timeout = h.timeout.map(|d| d.0).unwrap_or(DEFAULT_READY_TIMEOUT).min(DOCKER_HEALTHCHECK_MAX_TIMEOUT);
    Some(DockerHealthcheck {
        test,
        interval: Some(interval),
        timeout: Some(timeout.max(Duration::from_secs(1))),
        retries: h.retries,
        start_period: h.start_period.map(|d| d.0),
    })
}

/// The project's networks: `default` first, then the file's, each with its Docker name.
fn resolve_networks(env: &LoadedEnv, project: &str) -> IndexMap<String, ResolvedNetwork> {
    let mut out = IndexMap::new();
    let default_spec = crate::config::NetworkSpec::default();
    let declared = std::iter::once((DEFAULT_NETWORK, env.spec.networks.get(DEFAULT_NETWORK).unwrap_or(&default_spec)))
        .chain(env.spec.networks.iter().filter(|(k, _)| k.as_str() != DEFAULT_NETWORK).map(|(k, v)| (k.as_str(), v)));
    for (key, spec) in declared {
        out.insert(
            key.to_string(),
            ResolvedNetwork {
                // An external network is found by its key (compose's rule); ours get the project prefix.
                name: spec.name.clone().unwrap_or_else(|| if spec.external { key.to_string() } else { format!("{project}_{key}") }),
                external: spec.external,
                driver: spec.driver.clone(),
                internal: spec.internal,
                labels: spec.labels.0.iter().map(|(k, v)| (k.clone(), v.clone().unwrap_or_default())).collect(),
            },
        );
    }
    out
}

/// A named volume's Docker name: its `name:`, else `{project}_{key}` (an
/// external one without `name:` is found by its key, compose's rule).
fn volume_docker_name(env: &LoadedEnv, project: &str, key: &str) -> String {
    match env.spec.volumes.get(key).and_then(Option::as_ref) {
        Some(v) if v.name.is_some() => v.name.clone().unwrap_or_default(),
        Some(v) if v.external => key.to_string(),
        _ => format!("{project}_{key}"),
    }
}

/// The top-level volumes that set more than a name (external, driver, options, labels).
fn resolve_volume_options(env: &LoadedEnv) -> IndexMap<String, ResolvedVolume> {
    let strings = |m: &crate::config::EnvMap| m.0.iter().map(|(k, v)| (k.clone(), v.clone().unwrap_or_default())).collect();
    env.spec
        .volumes
        .iter()
        .filter_map(|(key, spec)| spec.as_ref().map(|s| (key, s)))
        .map(|(key, s)| {
            let v = ResolvedVolume { external: s.external, driver: s.driver.clone(), driver_opts: strings(&s.driver_opts), labels: strings(&s.labels) };
            (key.clone(), v)
        })
        .filter(|(_, v)| *v != ResolvedVolume::default())
        .collect()
}

/// The networks a service joins: those it lists, else the default network.
fn attachments(spec: &ServiceSpec, networks: &IndexMap<String, ResolvedNetwork>) -> Result<Vec<NetworkAttachment>, (String, String)> {
    let default_only = [(DEFAULT_NETWORK.to_string(), crate::config::ServiceNetwork::default())];
    let listed: Vec<(&String, &crate::config::ServiceNetwork)> =
        if spec.networks.is_empty() { default_only.iter().map(|(k, v)| (k, v)).collect() } else { spec.networks.0.iter().collect() };
    listed
        .into_iter()
        .map(|(key, attach)| {
            let net = networks.get(key).ok_or_else(|| (format!("networks.{key}"), format!("network `{key}` is not declared")))?;
            Ok(NetworkAttachment { name: key.clone(), docker_name: net.name.clone(), aliases: attach.aliases.clone() })
        })
        .collect()
}

/// The preset's ulimits with the user's merged over them (the user wins, by name).
fn merge_ulimits(preset: &[(String, i64, i64)], spec: &ServiceSpec) -> Vec<(String, i64, i64)> {
    let mut out = preset.to_vec();
    for (name, u) in &spec.ulimits {
        match out.iter_mut().find(|(n, _, _)| n == name) {
            Some(entry) => *entry = (name.clone(), u.soft, u.hard),
            None => out.push((name.clone(), u.soft, u.hard)),
        }
    }
    out
}

#[cfg(test)]
mod tests;
