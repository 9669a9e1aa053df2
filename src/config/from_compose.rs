//! Compose → devenv: a loaded compose project (the typed [`ComposeProject`]
//! `compose::load` returns) translated, field by field, into devenv's `EnvSpec`.
//!
//! Two modes:
//! - [`Mode::Run`] keeps compose's semantics so a compose file runs unchanged:
//!   images as written, `depends_on` conditions as written, `service_healthy`
//!   on a service without a healthcheck probed over its protocol when the image
//!   is one of the five backing services (`health.protocol`).
//! - [`Mode::Import`] writes what a devenv user would: the five backing services
//!   become presets (image, env and volumes kept) with `preset_defaults: false`,
//!   so they get devenv's probes, connection URLs and seed support and nothing
//!   else: no preset env, ports or volumes the file did not ask for.
//!
//! Owns: the mapping of every compose field onto devenv's. [`service`]
//! destructures the whole `ComposeService`, so a field added to the compose
//! model does not compile until it is translated here or named as left out.
//! Keys a compose file may have but devenv ignores never reach this module: the
//! compose loader reports them (`ComposeService::ignored_keys`, the project's
//! warnings). What the translation itself cannot carry over is a note.
//!
//! Must not: read files, talk to Docker, or go through an untyped form (JSON,
//! YAML values): the input is the typed compose model, the output devenv's.

use std::collections::{BTreeMap, BTreeSet};

use indexmap::IndexMap;

use super::model::{
    BuildSpec, CommandSpec, Condition, DependsOn, DurationSpec, EnvMap, EnvSpec, FileSource, FileUse, HealthSpec, HealthcheckTiming, InjectedFile, LongVolume, LongVolumeKind,
    NamedVolumeSpec, NetworkSpec, RunMode, ServiceNetwork, ServiceNetworks, ServiceSpec, UlimitSpec, VolumeEntry, WatchAction, WatchSpec,
};
use crate::compose::{
    self, ComposeBuild, ComposeNetwork, ComposeProject, ComposeService, ComposeVolume, Dependency, Develop, GoDuration, Healthcheck, Port,
    ServiceVolume, Ulimit,
};
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

/// Translate a loaded compose project.
pub fn to_env_spec(project: &ComposeProject, mode: Mode) -> Result<Converted, ConvertError> {
    let mut notes = Vec::new();
    let (wants_healthy, wants_completed) = waited_on(&project.services);
    let mut services = IndexMap::new();
    for (name, svc) in &project.services {
        let ctx = Svc { name, wants_healthy: wants_healthy.contains(name.as_str()), job: wants_completed.contains(name.as_str()), mode };
        let mut spec = service(&ctx, svc, &project.services, &mut notes)?;
        if mode == Mode::Import {
            // devenv.yaml has `secrets` and `configs` of its own: kept as written.
            spec.secrets = file_uses(&svc.secrets, "/run/secrets/", &format!("services.{name}.secrets"))?;
            spec.configs = file_uses(&svc.configs, "/", &format!("services.{name}.configs"))?;
        } else {
            let (mounts, files) = file_mounts(project, name, svc, &mut notes)?;
            spec.volumes.extend(mounts);
            spec.files = files;
        }
        services.insert(name.clone(), spec);
    }
    let volumes = volumes(&project.volumes, &project.name);
    let networks = networks(&project.networks, &project.name);
    let sources = |objs: &BTreeMap<String, compose::FileObject>| -> IndexMap<String, FileSource> {
        if mode != Mode::Import {
            return IndexMap::new();
        }
        objs.iter()
            .map(|(k, o)| (k.clone(), FileSource { file: o.file.clone(), environment: o.environment.clone(), content: o.content.clone() }))
            .collect()
    };
    let (secrets, configs) = (sources(&project.secrets), sources(&project.configs));
    // The loader keeps only `x-*` extensions; anything else is said, not dropped.
    for key in project.extensions.keys().filter(|k| !k.starts_with("x-")) {
        notes.push(format!("top-level `{key}` is not used by devenv"));
    }
    let name = (!project.name.is_empty()).then(|| project.name.clone());
    let spec = EnvSpec { name, services, volumes, export: None, k8s: None, networks, secrets, configs };
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

/// Services something waits on: `healthy` ones need a probe, `completed` ones are jobs.
fn waited_on(services: &IndexMap<String, ComposeService>) -> (BTreeSet<&str>, BTreeSet<&str>) {
    let (mut healthy, mut completed) = (BTreeSet::new(), BTreeSet::new());
    for (dep, d) in services.values().flat_map(|s| &s.depends_on) {
        match d.condition.as_str() {
            "service_healthy" => healthy.insert(dep.as_str()),
            "service_completed_successfully" => completed.insert(dep.as_str()),
            _ => false,
        };
    }
    (healthy, completed)
}

/// One service. Keys whose name and meaning are the same in both files are copied;
/// the others are translated by the functions below.
fn service(
    ctx: &Svc,
    svc: &ComposeService,
    all: &IndexMap<String, ComposeService>,
    notes: &mut Vec<String>,
) -> Result<ServiceSpec, ConvertError> {
    let ComposeService {
        profiles, build, develop, cap_add, cap_drop, command, container_name, depends_on, entrypoint, environment, expose,
        extra_hosts, hostname, healthcheck, image, platform, init, labels, networks, ports, privileged, restart: _, shm_size, stdin_open,
        stop_grace_period, stop_signal, tmpfs, tty, ulimits, user, volumes, volumes_from, working_dir, ipc, pid, network_mode,
        // Read by `deploy::resources` and `deploy::restart`.
        cpus: _, mem_limit: _, mem_reservation: _, pids_limit: _, deploy: _,
        // Read by `deploy::replicas`.
        scale: _,
        // The loader's: env files are already merged into `environment`; ignored keys are its warnings.
        env_files: _, ignored_keys: _,
        // Mounted by `file_mounts` (run), kept by `file_uses` (import).
        secrets: _, configs: _,
    } = svc;
    let base = format!("services.{}", ctx.name);
    // In the order compose prints the keys, so the first error is the same as ever.
    let watch = develop.as_ref().map(|d| watch_rules(d, &format!("{base}.develop"))).transpose()?.unwrap_or_default();
    let health = healthcheck.as_ref().map(|h| health(h, &format!("{base}.healthcheck"))).transpose()?.flatten();
    let container_healthcheck = healthcheck.as_ref().map(|h| timing(h, &format!("{base}.healthcheck"))).transpose()?.flatten();
    let ports = published(ports, &format!("{base}.ports"))?;
    let stop_grace_period = stop_grace_period.map(|d| duration(d, &format!("{base}.stop_grace_period"))).transpose()?;
    let (volumes, mounted_tmpfs) = mounts(volumes, &format!("{base}.volumes"))?;
    let kind = image.as_deref().and_then(Kind::from_image);
    let mut spec = ServiceSpec {
        preset: kind.filter(|_| ctx.mode == Mode::Import && build.is_none()).map(|k| k.name().to_string()),
        version: None,
        persist: None,
        // A compose file runs as written: the preset adds a probe, a URL and seeds only.
        preset_defaults: kind.filter(|_| ctx.mode == Mode::Import && build.is_none()).map(|_| false),
        parsed: Default::default(),
        container_healthcheck,
        image: image.clone(),
        platform: platform.clone(),
        build: build.as_ref().map(build_spec),
        command: command.clone().map(CommandSpec::Exec),
        entrypoint: entrypoint.clone().map(CommandSpec::Exec),
        env: EnvMap(environment.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
        env_file: Vec::new(),
        ports,
        volumes,
        volumes_from: volumes_from.clone(),
        ipc: ipc.clone(),
        network_mode: network_mode.clone(),
        pid: pid.clone(),
        depends_on: dependencies(depends_on, all, &format!("{base}.depends_on"), notes),
        health,
        run: ctx.job.then_some(RunMode::Once),
        profiles: profiles.clone(),
        labels: string_map(labels),
        working_dir: working_dir.clone(),
        user: user.clone(),
        seed: Vec::new(),
        watch,
        k8s: None,
        restart: deploy::restart(svc, notes, &base),
        expose: expose.clone(),
        networks: service_networks(networks),
        extra_hosts: extra_hosts.clone(),
        hostname: hostname.clone(),
        container_name: container_name.clone(),
        replicas: deploy::replicas(svc, &base)?,
        stop_grace_period,
        stop_signal: stop_signal.clone(),
        ulimits: ulimits.iter().map(|(k, u)| (k.clone(), ulimit(*u))).collect(),
        init: *init,
        tty: tty.then_some(true),
        stdin_open: stdin_open.then_some(true),
        tmpfs: tmpfs.iter().cloned().chain(mounted_tmpfs).collect(),
        secrets: Vec::new(),
        configs: Vec::new(),
        privileged: privileged.then_some(true),
        cap_add: cap_add.clone(),
        cap_drop: cap_drop.clone(),
        shm_size: shm_size.map(|b| b.0.to_string()),
        resources: deploy::resources(svc),
        files: Vec::new(),
    };
    probe_awaited(ctx, kind, &mut spec, notes);
    Ok(spec)
}

/// A service's `secrets` and `configs` where compose puts them (compose
/// v2.26, local engine): a `file:` one is bind-mounted read-only at its target
/// (`uid`/`gid`/`mode` ignored, as compose ignores them); one from
/// `environment:` or `content:` is written into the container before it starts
/// (mode 0444 unless set, owned by `uid`/`gid`). Secrets go to
/// `/run/secrets/<source>` (a relative `target` under `/run/secrets/`),
/// configs to `/<source>` (a relative `target` under `/`).
/// `devenv import`: a service's `secrets` / `configs` as devenv.yaml writes
/// them (the default target left out, `uid`/`gid` numbers).
fn file_uses(refs: &[compose::FileRef], default_dir: &str, at: &str) -> Result<Vec<FileUse>, ConvertError> {
    let mut out = Vec::new();
    for (i, r) in refs.iter().enumerate() {
        let id = |v: &Option<String>, key: &str| {
            v.as_deref().map(|n| n.parse::<u32>().map_err(|_| err(format!("{at}[{i}].{key}"), format!("`{key}` must be a number, found {n:?}")))).transpose()
        };
        let target = r.target.clone().filter(|t| *t != format!("{default_dir}{}", r.source));
        out.push(FileUse { source: r.source.clone(), target, uid: id(&r.uid, "uid")?, gid: id(&r.gid, "gid")?, mode: r.mode });
    }
    Ok(out)
}

fn file_mounts(
    project: &ComposeProject,
    name: &str,
    svc: &ComposeService,
    notes: &mut Vec<String>,
) -> Result<(Vec<VolumeEntry>, Vec<InjectedFile>), ConvertError> {
    let (mut mounts, mut files) = (Vec::new(), Vec::new());
    let uses = [("secrets", "/run/secrets/", &svc.secrets, &project.secrets), ("configs", "/", &svc.configs, &project.configs)];
    for (top, dir, refs, defined) in uses {
        let what = &top[..top.len() - 1];
        for (i, r) in refs.iter().enumerate() {
            let at = format!("services.{name}.{top}[{i}]");
            let Some(obj) = defined.get(&r.source) else {
                return Err(err(at, format!("`{}` is not defined under the top-level `{top}`", r.source)));
            };
            let target = match r.target.as_deref() {
                None | Some("") => format!("{dir}{}", r.source),
                Some(t) if t.starts_with('/') => t.to_string(),
                Some(t) => format!("{dir}{t}"),
            };
            if let Some(file) = &obj.file {
                if r.uid.is_some() || r.gid.is_some() || r.mode.is_some() {
                    notes.push(format!("{at}: `uid`, `gid` and `mode` are ignored for a `file:` {what} (bind-mounted read-only), as compose ignores them"));
                }
                mounts.push(VolumeEntry::Long(LongVolume { kind: LongVolumeKind::Bind, source: Some(file.clone()), target, read_only: true }));
                continue;
            }
            let content = match (&obj.environment, &obj.content) {
                (Some(var), _) => project.environment.get(var).cloned().ok_or_else(|| {
                    err(format!("{top}.{}.environment", r.source), format!("environment variable {var:?} required by {what} {:?} is not set", r.source))
                })?,
                (None, Some(c)) => c.clone(),
                (None, None) => continue, // compose writes nothing either
            };
            let id = |v: &Option<String>, key: &str| {
                v.as_deref().map(|n| n.parse::<u32>().map_err(|_| err(format!("{at}.{key}"), format!("`{key}` must be a number, found {n:?}")))).transpose()
            };
            files.push(InjectedFile { target, content, uid: id(&r.uid, "uid")?, gid: id(&r.gid, "gid")?, mode: r.mode.unwrap_or(0o444), secret: top == "secrets" });
        }
    }
    Ok((mounts, files))
}

/// `service_healthy` on a service with no healthcheck: compose would refuse; devenv
/// probes the five backing services over their own protocol. (A volume of a
/// preset's data directory replaces the preset's own, in `plan::resolve`.)
fn probe_awaited(ctx: &Svc, kind: Option<Kind>, spec: &mut ServiceSpec, notes: &mut Vec<String>) {
    if !ctx.wants_healthy || spec.health.is_some() || spec.preset.is_some() {
        return;
    }
    match kind {
        Some(k) => spec.health = Some(HealthSpec { protocol: Some(k.name().into()), ..HealthSpec::default() }),
        None => notes.push(format!(
            "`{}` is waited on with `service_healthy` but has no healthcheck: devenv uses the image's HEALTHCHECK if it has one",
            ctx.name
        )),
    }
}

/// `build:`; the default `Dockerfile` is implied.
fn build_spec(b: &ComposeBuild) -> BuildSpec {
    let ComposeBuild { context, dockerfile, dockerfile_inline, args, target, additional_contexts, secrets, ssh, platforms } = b;
    BuildSpec {
        context: context.clone(),
        dockerfile: dockerfile.clone().filter(|d| d != "Dockerfile"),
        dockerfile_inline: dockerfile_inline.clone(),
        args: EnvMap(args.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
        target: target.clone(),
        platforms: platforms.clone(),
        // The top-level secrets named (their mount id, `target`, is BuildKit's business).
        secrets: secrets.iter().map(|s| s.source.clone()).collect(),
        ssh: ssh.clone(),
        additional_contexts: additional_contexts.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
    }
}

/// Labels and the like: every value set.
fn string_map(m: &BTreeMap<String, String>) -> EnvMap {
    EnvMap(m.iter().map(|(k, v)| (k.clone(), Some(v.clone()))).collect())
}

fn ulimit(u: Ulimit) -> UlimitSpec {
    match u {
        Ulimit::Single(n) => UlimitSpec { soft: n, hard: n },
        Ulimit::SoftHard { soft, hard } => UlimitSpec { soft, hard },
    }
}

/// A Go duration as devenv's; devenv has no negative durations.
fn duration(d: GoDuration, path: &str) -> Result<DurationSpec, ConvertError> {
    if d.0 < 0 {
        return Err(err(path.to_string(), "a negative duration cannot be expressed in devenv"));
    }
    Ok(DurationSpec(d.to_std()))
}

/// Compose's long port form → devenv's `ip:host:container/proto` strings
/// (`:container` when no host port is written: a random one).
fn published(ports: &[Port], path: &str) -> Result<Vec<String>, ConvertError> {
    let mut out = Vec::new();
    for (i, p) in ports.iter().enumerate() {
        if p.target == 0 {
            return Err(err(format!("{path}[{i}]"), "a port without a `target`"));
        }
        let proto = p.protocol.as_deref().unwrap_or("tcp");
        let mut s = String::new();
        if let Some(ip) = p.host_ip.as_deref().filter(|s| !s.is_empty()) {
            let ip = if ip.contains(':') && !ip.starts_with('[') { format!("[{ip}]") } else { ip.to_string() };
            s.push_str(&ip);
            s.push(':');
            s.push_str(p.published.as_deref().unwrap_or(""));
            s.push(':');
        } else if let Some(h) = &p.published {
            s.push_str(h);
            s.push(':');
        } else {
            // Only the container port: Docker picks the host port (compose's
            // `"3100"`); devenv's bare `"3100"` would publish 3100 itself.
            s.push(':');
        }
        s.push_str(&p.target.to_string());
        if proto != "tcp" {
            s.push('/');
            s.push_str(proto);
        }
        out.push(s);
    }
    Ok(out)
}

/// Compose's long volume form → devenv's `source:target[:ro]` strings (the long
/// form when a path has a `:`, which the short one would split), plus tmpfs mounts.
fn mounts(vols: &[ServiceVolume], path: &str) -> Result<(Vec<VolumeEntry>, Vec<String>), ConvertError> {
    let (mut out, mut tmpfs) = (Vec::new(), Vec::new());
    for (i, m) in vols.iter().enumerate() {
        let at = format!("{path}[{i}]");
        let (target, suffix) = (&m.target, if m.read_only { ":ro" } else { "" });
        let source = m.source.as_deref().filter(|s| !s.is_empty());
        let kind = match m.kind.as_str() {
            "volume" => Some(LongVolumeKind::Volume),
            "bind" => Some(LongVolumeKind::Bind),
            _ => None,
        };
        if let Some(kind) = kind
            && (source.is_some_and(|s| s.contains(':')) || target.contains(':'))
        {
            let long = LongVolume { kind, source: source.map(str::to_string), target: target.clone(), read_only: m.read_only };
            out.push(VolumeEntry::Long(long));
            continue;
        }
        match m.kind.as_str() {
            "volume" => match source {
                Some(src) => out.push(VolumeEntry::Short(format!("{src}:{target}{suffix}"))),
                None => out.push(VolumeEntry::Short(target.clone())),
            },
            "bind" => {
                let src = m.source.as_deref().ok_or_else(|| err(at, "a bind mount without a `source`"))?;
                out.push(VolumeEntry::Short(format!("{src}:{target}{suffix}")));
            }
            "tmpfs" => tmpfs.push(tmpfs_mount(m)),
            other => return Err(err(at, format!("volume type `{other}` is not supported by devenv (use volume, bind or tmpfs)"))),
        }
    }
    Ok((out, tmpfs))
}

/// A `type: tmpfs` mount → devenv's `target[:size=…,mode=…]`.
fn tmpfs_mount(m: &ServiceVolume) -> String {
    let mut opts = Vec::new();
    if let Some(t) = &m.tmpfs {
        if let Some(size) = t.size {
            opts.push(format!("size={}", size.0));
        }
        if t.mode != 0 {
            opts.push(format!("mode={:o}", t.mode));
        }
    }
    if opts.is_empty() { m.target.clone() } else { format!("{}:{}", m.target, opts.join(",")) }
}

fn dependencies(deps: &BTreeMap<String, Dependency>, all: &IndexMap<String, ComposeService>, path: &str, notes: &mut Vec<String>) -> DependsOn {
    let mut out = IndexMap::new();
    for (dep, d) in deps {
        if !d.required && !all.contains_key(dep) {
            continue; // compose: an optional dependency that is not part of the project
        }
        if d.restart {
            notes.push(format!("{path}.{dep}.restart: devenv does not restart a dependent when `{dep}` is restarted"));
        }
        let cond = match d.condition.as_str() {
            "service_healthy" => Condition::Healthy,
            "service_completed_successfully" => Condition::Completed,
            _ => Condition::Started,
        };
        out.insert(dep.clone(), cond);
    }
    DependsOn(out)
}

/// `healthcheck` → `health`. Compose's `interval`/`timeout`/`retries` pace Docker's
/// polling; devenv polls itself every 100 ms, so only `start_period` carries over.
fn health(h: &Healthcheck, path: &str) -> Result<Option<HealthSpec>, ConvertError> {
    let mut spec = HealthSpec::default();
    match h.test.first().map(String::as_str) {
        _ if h.disable => spec.disable = Some(true),
        Some("NONE") => spec.disable = Some(true),
        Some("CMD") => spec.exec = Some(CommandSpec::Exec(h.test[1..].to_vec())),
        Some("CMD-SHELL") => spec.shell = Some(h.test[1..].join(" ")),
        None => return Ok(None), // timing only: the image's HEALTHCHECK stays
        Some(other) => {
            let message = format!("a healthcheck test starts with CMD, CMD-SHELL or NONE, not {other:?}");
            return Err(err(format!("{path}.test"), message));
        }
    }
    if !h.disable && let Some(sp) = h.start_period {
        spec.start_period = Some(duration(sp, &format!("{path}.start_period"))?);
    }
    Ok(Some(spec))
}

/// The healthcheck's timing as written, for the container's HEALTHCHECK (Docker
/// paces it as compose would: `interval: 10s` stays 10 s, `retries` kept);
/// `None` when the check is disabled or only its test is written.
fn timing(h: &Healthcheck, path: &str) -> Result<Option<HealthcheckTiming>, ConvertError> {
    if h.disable || h.test.first().is_some_and(|t| t == "NONE") {
        return Ok(None);
    }
    let dur = |d: Option<GoDuration>, key: &str| d.map(|d| duration(d, &format!("{path}.{key}")).map(|d| d.0)).transpose();
    let t = HealthcheckTiming {
        interval: dur(h.interval, "interval")?,
        timeout: dur(h.timeout, "timeout")?,
        retries: h.retries.map(|r| u32::try_from(r).unwrap_or(u32::MAX)),
        start_period: dur(h.start_period, "start_period")?,
    };
    Ok((t != HealthcheckTiming::default()).then_some(t))
}

/// Only the default network, without aliases, is devenv's default: say nothing.
fn service_networks(nets: &BTreeMap<String, Option<compose::ServiceNetwork>>) -> ServiceNetworks {
    if nets.len() == 1 && matches!(nets.get("default"), Some(None)) {
        return ServiceNetworks::default();
    }
    let join = |cfg: &Option<compose::ServiceNetwork>| ServiceNetwork {
        aliases: cfg.as_ref().map(|c| c.aliases.clone()).unwrap_or_default(),
        ipv4_address: None,
    };
    ServiceNetworks(nets.iter().map(|(n, cfg)| (n.clone(), join(cfg))).collect())
}

/// `develop.watch` → `watch` rules.
fn watch_rules(d: &Develop, path: &str) -> Result<Vec<WatchSpec>, ConvertError> {
    let Develop { watch } = d;
    let mut rules = Vec::new();
    for (i, w) in watch.iter().enumerate() {
        let action = match w.action.as_str() {
            "sync" | "sync+exec" => WatchAction::Sync,
            "sync+restart" | "restart" => WatchAction::Restart,
            "rebuild" => WatchAction::Rebuild,
            other => {
                let message = format!("watch action `{other}` is not supported (sync, sync+restart, rebuild)");
                return Err(err(format!("{path}.watch[{i}].action"), message));
            }
        };
        rules.push(WatchSpec {
            path: w.path.clone(),
            target: w.target.clone(),
            action,
            ignore: w.ignore.clone(),
            exec: w.exec.command.clone().map(CommandSpec::Exec),
        });
    }
    Ok(rules)
}

/// Top-level volumes: `{project}_{key}` like compose unless `name:` or `external`
/// (then written out); `driver`, `driver_opts` and `labels` are carried over.
fn volumes(vols: &BTreeMap<String, ComposeVolume>, project: &str) -> IndexMap<String, Option<NamedVolumeSpec>> {
    let mut out = IndexMap::new();
    for (k, v) in vols {
        let ComposeVolume { name, driver, driver_opts, external, labels } = v;
        let spec = NamedVolumeSpec {
            name: (*external || *name != format!("{project}_{k}")).then(|| name.clone()),
            external: *external,
            driver: driver.clone(),
            driver_opts: string_map(driver_opts),
            labels: string_map(labels),
        };
        out.insert(k.clone(), (spec != NamedVolumeSpec::default()).then_some(spec));
    }
    out
}

/// Top-level networks; the default network with its default name is implied.
fn networks(nets: &BTreeMap<String, ComposeNetwork>, project: &str) -> IndexMap<String, NetworkSpec> {
    let mut out = IndexMap::new();
    for (k, n) in nets {
        // Not carried over: devenv creates networks with the driver's defaults.
        let ComposeNetwork { name, driver, external, internal, labels, driver_opts: _, ipam: _, attachable: _, enable_ipv4: _, enable_ipv6: _ } =
            n;
        let spec = NetworkSpec {
            name: (*external || *name != format!("{project}_{k}")).then(|| name.clone()),
            external: *external,
            driver: driver.clone(),
            labels: string_map(labels),
            internal: *internal,
        };
        if k == "default" && spec == NetworkSpec::default() {
            continue;
        }
        out.insert(k.clone(), spec);
    }
    out
}

#[cfg(test)]
mod tests;

mod deploy;
