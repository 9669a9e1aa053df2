//! The checks `doctor` runs against an environment file, given what the engine
//! and the host report. Pure: the engine's answers come in as `EngineFacts`,
//! the host's (ports, writability, `vm.max_map_count`) through `Host`, so
//! tests can plant a low `vm.max_map_count` or a small engine.

use std::collections::HashMap;
use std::path::Path;

use serde::Serialize;

use crate::config::VolumeSpec;
use crate::docker::RegistryAnswer;
use crate::init::dockerfile::Base;
use crate::plan::Plan;
use crate::preset::Kind;

/// The strictest `vm.max_map_count` any preset needs (`Preset::max_map_count`; a test keeps them equal).
pub const MIN_MAX_MAP_COUNT: u64 = 262_144;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ok,
    /// Worth knowing; not a problem.
    Info,
    /// May bite; `doctor` still exits 0.
    Warn,
    /// Will fail; `doctor` exits 1.
    Fail,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub check: &'static str,
    pub level: Level,
    pub message: String,
    /// A command or an edit that fixes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Finding {
    pub fn new(check: &'static str, level: Level, message: impl Into<String>) -> Finding {
        Finding { check, level, message: message.into(), fix: None }
    }
    pub fn fix(mut self, fix: impl Into<String>) -> Finding {
        self.fix = Some(fix.into());
        self
    }
}

/// What `doctor` asks the machine it runs on.
pub trait Host {
    /// Linux's `vm.max_map_count`, if readable.
    fn max_map_count(&self) -> Option<u64>;
    /// `Some(address)` when another process listens on `ip:port`.
    fn port_in_use(&self, ip: &str, port: u16) -> Option<String>;
    /// Can this user write into `path` (a directory: create a file in it; a file: open it for writing)?
    fn writable(&self, path: &Path) -> Result<(), String>;
}

/// The machine itself.
pub struct RealHost;

impl Host for RealHost {
    fn max_map_count(&self) -> Option<u64> {
        std::fs::read_to_string("/proc/sys/vm/max_map_count").ok().and_then(|s| s.trim().parse().ok())
    }

    fn port_in_use(&self, ip: &str, port: u16) -> Option<String> {
        crate::engine::port_in_use(ip, port)
    }

    fn writable(&self, path: &Path) -> Result<(), String> {
        if path.is_dir() {
            let probe = path.join(format!(".devenv-doctor-{}", std::process::id()));
            std::fs::OpenOptions::new().write(true).create_new(true).open(&probe).map_err(|e| e.to_string())?;
            let _ = std::fs::remove_file(&probe);
            Ok(())
        } else {
            std::fs::OpenOptions::new().append(true).open(path).map(|_| ()).map_err(|e| e.to_string())
        }
    }
}

/// What the engine told `doctor` (absent when it cannot be reached).
#[derive(Debug, Clone, Default)]
pub struct EngineFacts {
    /// Memory available to containers, bytes.
    pub mem_total: Option<u64>,
    /// Every reference looked at (service images, build base images): present locally?
    pub local: HashMap<String, bool>,
    /// For references not present: what the registry said.
    pub registry: HashMap<String, RegistryAnswer>,
    /// Host ports held by this project's own containers (not a conflict).
    pub ours: Vec<u16>,
}

/// Memory a preset wants for a comfortable development instance.
pub fn recommended_memory(kind: Kind) -> u64 {
    kind.preset().memory()
}

/// The base images of a service's local build (the Dockerfile's `FROM`s, build
/// args resolved: `FROM ${PYTHON_IMAGE}`), if it has one.
pub fn build_bases(svc: &crate::plan::ResolvedService) -> Vec<Base> {
    let Some(build) = &svc.build else { return vec![] };
    let text = std::fs::read_to_string(build.context.join(&build.dockerfile)).unwrap_or_default();
    crate::init::dockerfile::bases(&text, &build.args)
}

/// Every image reference whose presence `check_images` needs to know.
pub fn references(plan: &Plan) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for svc in plan.services.values() {
        for r in std::iter::once(svc.image.clone()).chain(build_bases(svc).into_iter().filter_map(|b| b.reference)) {
            if !out.contains(&r) {
                out.push(r);
            }
        }
    }
    out
}

/// All checks of one environment.
pub fn check_plan(plan: &Plan, engine: Option<&EngineFacts>, host: &dyn Host) -> Vec<Finding> {
    let mut out = Vec::new();
    match engine {
        Some(e) => {
            check_images(plan, e, &mut out);
            check_memory(plan, e.mem_total, &mut out);
        }
        None => out.push(Finding::new("image", Level::Info, "images and memory not checked: the engine cannot be reached")),
    }
    check_ports(plan, engine.map(|e| e.ours.as_slice()).unwrap_or(&[]), host, &mut out);
    check_writable(plan, host, &mut out);
    check_max_map_count(plan, host.max_map_count(), &mut out);
    out
}

const MAP_HINT: &str = "or map it to an image you have in an image map (DEVENV_IMAGE_MAP=FILE or ~/.config/devenv/images.yaml; see README.md#image-map)";

/// The registry an image reference is pulled from: `ghcr.io` for `ghcr.io/x/y:1`, `docker.io` for `postgres:16`.
pub fn registry_host(reference: &str) -> String {
    match reference.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => first.to_string(),
        _ => "docker.io".to_string(),
    }
}

/// How to replace a missing base image: the build arg that names it, else
/// (the image map does not apply to a literal `FROM`) a pull or a tag.
fn base_hint(svc: &str, base: &Base, reference: &str) -> String {
    match &base.arg {
        Some(arg) => format!(
            "or set the build arg to an image you have (`services.{svc}.build.args.{arg}`), or map {reference} in an image map (it applies to base images named through a build arg; see README.md#image-map)"
        ),
        None => format!(
            "or `docker tag` an image you have as {reference}; the image map does not apply to a literal `FROM` line (name the image through a build arg — `ARG BASE={reference}` then `FROM ${{BASE}}` — and the map applies; see README.md#image-map)"
        ),
    }
}

/// An image that is not local (`base`: a build's base image, with its service): will a pull work?
fn missing_image(reference: &str, what: &str, base: Option<(&str, &Base)>, e: &EngineFacts) -> Finding {
    let not_here = if base.is_some() { "is not local" } else { "is neither local nor buildable" };
    let map_hint = base.map(|(svc, b)| base_hint(svc, b, reference)).unwrap_or_else(|| MAP_HINT.to_string());
    match e.registry.get(reference) {
        Some(RegistryAnswer::Found) | None => Finding::new("image", Level::Info, format!("{what}: {reference} is not local; it will be pulled on first `up`")),
        Some(RegistryAnswer::Unreachable(why)) => Finding::new(
            "image",
            Level::Warn,
            format!("{what}: {reference} {not_here}, and its registry does not answer ({why}): `up` will fail unless it can pull"),
        )
        .fix(format!("connect to the registry, or `docker pull {reference}` (or `docker load`) on this machine, {map_hint}")),
        Some(RegistryAnswer::Refused(why)) => Finding::new("image", Level::Fail, format!("{what}: {reference} is not local and the registry refuses it: {why}"))
            .fix(format!("check the name and tag, `docker login` if it is private, {map_hint}")),
    }
}

/// The base images of `svc`'s build that are not local (or cannot be named).
fn check_bases(svc: &crate::plan::ResolvedService, e: &EngineFacts, out: &mut Vec<Finding>) {
    let what = format!("{} (base image of its build)", svc.name);
    for base in build_bases(svc) {
        match &base.reference {
            None => out.push(
                Finding::new("image", Level::Fail, format!("{what}: `FROM {}` names a build arg with no value", base.written))
                    .fix(format!("set it in `services.{}.build.args`, or give the Dockerfile's `ARG` (before the first `FROM`) a default", svc.name)),
            ),
            Some(r) if !e.local.get(r).copied().unwrap_or(false) => out.push(missing_image(r, &what, Some((&svc.name, &base)), e)),
            Some(_) => {}
        }
    }
}

fn check_images(plan: &Plan, e: &EngineFacts, out: &mut Vec<Finding>) {
    for svc in plan.services.values() {
        let present = e.local.get(&svc.image).copied().unwrap_or(false);
        let Some(build) = &svc.build else {
            if present {
                out.push(Finding::new("image", Level::Ok, format!("{}: {} is present", svc.name, svc.image)));
            } else {
                let mut f = missing_image(&svc.image, &svc.name, None, e);
                if let (Some(fix), Some(var)) = (&mut f.fix, svc.image_vars.first()) {
                    *fix = format!("set `{var}` to an image you have (the file's image comes from it: `{var}=IMAGE devenv up`), {fix}");
                }
                out.push(f);
            }
            continue;
        };
        let context = build.context.strip_prefix(&plan.dir).map(|p| format!("./{}", p.display())).unwrap_or_else(|_| build.context.display().to_string());
        if present {
            out.push(Finding::new("image", Level::Ok, format!("{}: built image {} is present", svc.name, svc.image)));
            continue;
        }
        if !build.context.is_dir() {
            // Validation requires local contexts to exist: this is a remote one (git URL).
            out.push(Finding::new("image", Level::Info, format!("{}: will be built from a remote context", svc.name)));
            continue;
        }
        if !build.context.join(&build.dockerfile).is_file() {
            out.push(
                Finding::new("image", Level::Fail, format!("{}: {} has no {}", svc.name, context, build.dockerfile))
                    .fix(format!("add the Dockerfile, or fix `services.{}.build` in {}", svc.name, plan.file.display())),
            );
            continue;
        }
        out.push(Finding::new("image", Level::Ok, format!("{}: will be built from {context}", svc.name)));
        check_bases(svc, e, out);
    }
}

fn check_ports(plan: &Plan, ours: &[u16], host: &dyn Host, out: &mut Vec<Finding>) {
    let mut free = Vec::new();
    for svc in plan.services.values() {
        for p in &svc.ports {
            let Some(hp) = p.host_port else { continue };
            if p.protocol != "tcp" || ours.contains(&hp) {
                continue;
            }
            let ip = p.host_ip.clone().unwrap_or_else(|| "127.0.0.1".into());
            match host.port_in_use(&ip, hp) {
                Some(addr) => out.push(
                    Finding::new("port", Level::Fail, format!("{addr} (for `{}`) is in use by another process", svc.name)).fix(format!(
                        "stop it (`ss -ltnp 'sport = :{hp}'` shows which), change the host side of services.{}.ports, or run with `--ports random`",
                        svc.name
                    )),
                ),
                None => free.push(hp.to_string()),
            }
        }
    }
    if !free.is_empty() {
        out.push(Finding::new("port", Level::Ok, format!("host port{} {} free", if free.len() == 1 { "" } else { "s" }, free.join(", "))));
    }
}

fn check_writable(plan: &Plan, host: &dyn Host, out: &mut Vec<Finding>) {
    let mut targets: Vec<(String, &Path)> = vec![("the project directory".into(), plan.dir.as_path())];
    for svc in plan.services.values() {
        for v in &svc.volumes {
            if let VolumeSpec::Bind { source, read_only: false, target } = v {
                targets.push((format!("bind mount {} → {}:{target}", source.display(), svc.name), source.as_path()));
            }
        }
    }
    let mut ok = 0;
    for (what, path) in targets {
        if !path.exists() {
            out.push(Finding::new("volume", Level::Fail, format!("{what}: {} does not exist", path.display())).fix(format!("mkdir -p {}", path.display())));
            continue;
        }
        match host.writable(path) {
            Ok(()) => ok += 1,
            Err(e) => out.push(Finding::new("volume", Level::Fail, format!("{what}: {} is not writable ({e})", path.display())).fix(format!(
                "sudo chown -R \"$(id -u):$(id -g)\" {p} && chmod -R u+w {p}   (if it is immutable: sudo chattr -i {p}; or mount it `:ro` if the service only reads it)",
                p = path.display()
            ))),
        }
    }
    if ok > 0 {
        out.push(Finding::new("volume", Level::Ok, format!("{ok} director{} writable (project directory and bind mounts)", if ok == 1 { "y" } else { "ies" })));
    }
}

fn human(bytes: u64) -> String {
    indicatif::HumanBytes(bytes).to_string()
}

/// The presets' recommended memory against what the engine has.
pub fn check_memory(plan: &Plan, mem_total: Option<u64>, out: &mut Vec<Finding>) {
    let presets: Vec<Kind> = plan.services.values().filter_map(|s| s.preset).collect();
    let need: u64 = presets.iter().map(|k| recommended_memory(*k)).sum();
    if need == 0 {
        return;
    }
    let Some(total) = mem_total else {
        out.push(Finding::new("memory", Level::Info, format!("the presets want about {}; the engine does not report its memory", human(need))));
        return;
    };
    let names: Vec<&str> = presets.iter().map(|k| k.name()).collect();
    let message = format!("the presets ({}) want about {} of the engine's {} (plus your apps)", names.join(", "), human(need), human(total));
    let fix = "give Docker more memory (Docker Desktop: Settings → Resources → Memory; a Linux engine uses the machine's RAM), or leave out presets this task does not need (`devenv up SERVICE…` starts a subset)";
    if need > total {
        out.push(Finding::new("memory", Level::Fail, message).fix(fix));
    } else if need * 4 > total * 3 {
        out.push(Finding::new("memory", Level::Warn, message).fix(fix));
    } else {
        out.push(Finding::new("memory", Level::Ok, message));
    }
}

/// The strictest `vm.max_map_count` any preset needs, and which one (for advice without a plan).
pub fn strictest_max_map_count() -> Option<(u64, &'static str)> {
    crate::preset::ALL.iter().filter_map(|k| k.preset().max_map_count()).max()
}

/// The strictest `vm.max_map_count` the environment needs (a preset, or an
/// image that looks like one), and which service kind needs it.
pub fn max_map_count_need(plan: &Plan) -> Option<(u64, &'static str)> {
    plan.services.values().flat_map(|s| s.preset.into_iter().chain(Kind::from_image(&s.image))).filter_map(|k| k.preset().max_map_count()).max()
}

pub fn max_map_count_fix(min: u64) -> String {
    format!("sudo sysctl -w vm.max_map_count={min}, and to keep it: echo 'vm.max_map_count={min}' | sudo tee /etc/sysctl.d/99-devenv.conf")
}

/// `vm.max_map_count` against what the services need (Elasticsearch's bootstrap check).
pub fn check_max_map_count(plan: &Plan, value: Option<u64>, out: &mut Vec<Finding>) {
    let check = "vm.max_map_count";
    match (value, max_map_count_need(plan)) {
        (Some(n), Some((min, who))) if n < min => {
            out.push(Finding::new(check, Level::Fail, format!("{n} (< {min}): {who} will refuse to start")).fix(max_map_count_fix(min)))
        }
        (Some(n), Some((min, who))) => out.push(Finding::new(check, Level::Ok, format!("{n} ({who} needs {min})"))),
        (Some(n), None) => {
            if let Some((min, who)) = strictest_max_map_count().filter(|(min, _)| n < *min) {
                out.push(Finding::new(check, Level::Info, format!("{n}; fine here, {who} would need {min}")))
            }
        }
        (None, Some((min, who))) => {
            out.push(Finding::new(check, Level::Info, format!("cannot read it here; {who} needs {min} on the engine's host (Docker Desktop: its VM)")))
        }
        (None, None) => {}
    }
}
