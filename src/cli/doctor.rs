//! `devenv doctor`: is this machine ready for this environment?
//!
//! The machine (engine reachable, disk) and, when an environment file is found
//! (or given with `-f`), the file: it loads, its images are present or
//! buildable or pullable, its fixed host ports are free, its bind mounts and
//! the project directory are writable, the engine has the memory its presets
//! want, and `vm.max_map_count` suits Elasticsearch; mounts of the host root
//! or the Docker socket are listed as warnings. Each problem comes with a
//! fix. Exit 1 when a check fails, 0 with warnings only. `--k8s` also checks
//! a Kubernetes context and the registry (`doctor/k8s.rs`).

mod checks;
mod k8s;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::time::Duration;

use clap::Args;
use console::style;

pub use checks::{check_plan, EngineFacts, Finding, Host, Level, RealHost, MIN_MAX_MAP_COUNT};

use super::{load_plan, Global};
use crate::docker::{Docker, RegistryAnswer};
use crate::error::{exit, Error};
use crate::plan::Plan;
use crate::ui::Ui;

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print the findings as one JSON object on stdout
    #[arg(long)]
    pub json: bool,
    /// Also check a Kubernetes context (reachable, version, permissions, default StorageClass) and the registry
    #[arg(long)]
    pub k8s: bool,
    /// With --k8s: the context [default: k8s.context]
    #[arg(long, value_name = "NAME", requires = "k8s")]
    pub context: Option<String>,
    /// With --k8s: the namespace [default: k8s.namespace, else <project>-<user>]
    #[arg(long, value_name = "NS", requires = "k8s")]
    pub namespace: Option<String>,
    /// With --k8s: the registry to check for push access [default: k8s.registry]
    #[arg(long, value_name = "REGISTRY", requires = "k8s")]
    pub registry: Option<String>,
}

/// Warn under this much free disk for Docker.
const MIN_FREE_BYTES: u64 = 2 * 1024 * 1024 * 1024;
/// How long a registry may take to answer one lookup.
const REGISTRY_TIMEOUT: Duration = Duration::from_secs(5);

fn free_bytes(path: &str) -> Option<u64> {
    #[cfg(unix)]
    {
        let c = std::ffi::CString::new(path).ok()?;
        // SAFETY: statvfs writes into a zeroed struct of the right type.
        unsafe {
            let mut s: libc::statvfs = std::mem::zeroed();
            if libc::statvfs(c.as_ptr(), &mut s) == 0 {
                return Some(s.f_bavail as u64 * s.f_frsize as u64);
            }
        }
        None
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Linux's `vm.max_map_count`, if readable.
pub fn max_map_count() -> Option<u64> {
    RealHost.max_map_count()
}

/// The warning `up` prints when Elasticsearch would refuse to start.
pub fn max_map_count_warning(plan: &Plan) -> Option<String> {
    let mut out = Vec::new();
    checks::check_max_map_count(plan, max_map_count(), &mut out);
    out.into_iter().find(|f| f.level == Level::Fail).map(|f| format!("vm.max_map_count is {}. Fix: {}", f.message, f.fix.unwrap_or_default()))
}

/// The engine: reachable, its version, disk and memory.
async fn check_engine(out: &mut Vec<Finding>) -> Option<(Docker, Option<u64>)> {
    let docker = match Docker::connect().await {
        Ok(d) => d,
        Err(e) => {
            let e = crate::error::Error::from(e);
            out.push(Finding::new("docker", Level::Fail, e.to_string()).fix(e.hint().unwrap_or_else(|| "start the Docker engine".into())));
            return None;
        }
    };
    let v = match docker.version().await {
        Ok(v) => v,
        Err(e) => {
            out.push(Finding::new("docker", Level::Fail, e.to_string()).fix("check the engine's logs (`journalctl -u docker`)"));
            return None;
        }
    };
    let res = docker.resources().await.unwrap_or_default();
    let mut detail = format!("engine {} (API {}, {})", v.version, v.api_version, v.os);
    if let (Some(cpus), Some(mem)) = (res.cpus, res.mem_total) {
        detail.push_str(&format!(", {cpus} CPUs, {} memory", indicatif::HumanBytes(mem)));
    }
    out.push(Finding::new("docker", Level::Ok, detail));
    let dir = v.root_dir.clone().unwrap_or_else(|| "/var/lib/docker".into());
    out.push(match free_bytes(&dir) {
        Some(b) if b < MIN_FREE_BYTES => Finding::new("disk", Level::Warn, format!("{} free under {dir}", indicatif::HumanBytes(b)))
            .fix("free space: `docker system prune` removes stopped containers, unused networks, dangling images and build cache"),
        Some(b) => Finding::new("disk", Level::Ok, format!("{} free under {dir}", indicatif::HumanBytes(b))),
        None => Finding::new("disk", Level::Info, format!("cannot read free space of {dir} from here (remote engine?)")),
    });
    Some((docker, res.mem_total))
}

/// Ask the engine about every image the plan needs; the registry only for those not present.
async fn engine_facts(docker: &Docker, plan: &Plan, mem_total: Option<u64>) -> EngineFacts {
    let mut facts = EngineFacts { mem_total, ..EngineFacts::default() };
    // Registries that did not answer: one try each, not one wait per image.
    let mut offline: HashMap<String, String> = HashMap::new();
    for reference in checks::references(plan) {
        let present = matches!(docker.image_id(&reference).await, Ok(Some(_)));
        facts.local.insert(reference.clone(), present);
        if present || plan.services.values().any(|s| s.image == reference && s.build.is_some()) {
            continue;
        }
        let registry = checks::registry_host(&reference);
        let answer = match offline.get(&registry) {
            Some(why) => RegistryAnswer::Unreachable(why.clone()),
            None => docker.registry_lookup(&reference, REGISTRY_TIMEOUT).await,
        };
        if let RegistryAnswer::Unreachable(why) = &answer {
            offline.insert(registry, why.clone());
        }
        facts.registry.insert(reference, answer);
    }
    facts.ours = docker.project_containers(&plan.project).await.unwrap_or_default().iter().flat_map(|c| c.ports.iter().map(|p| p.host_port)).collect();
    facts
}

/// The environment file: loads? Then every check of `checks`.
async fn check_file(global: &Global, ui: &Ui, engine: Option<&(Docker, Option<u64>)>, out: &mut Vec<Finding>) {
    let plan = match load_plan(global, ui) {
        Ok((_, plan)) => plan,
        Err(Error::Config(e)) if global.files.is_empty() && e.message.starts_with("no devenv.yaml") => {
            out.push(Finding::new("environment file", Level::Info, format!("{}: only this machine was checked (`devenv init` writes one)", e.message)));
            return;
        }
        Err(e) => {
            let fix = e.hint().unwrap_or_else(|| "fix the file".into());
            out.push(Finding::new("environment file", Level::Fail, e.to_string()).fix(fix));
            out.push(Finding::new("environment file", Level::Info, "the file's images, ports, mounts and memory are checked once it loads"));
            return;
        }
    };
    out.push(Finding::new(
        "environment file",
        Level::Ok,
        format!("{} ({} service{}, project `{}`)", plan.file.display(), plan.services.len(), if plan.services.len() == 1 { "" } else { "s" }, plan.project),
    ));
    let facts = match engine {
        Some((docker, mem)) => Some(engine_facts(docker, &plan, *mem).await),
        None => None,
    };
    out.extend(check_plan(&plan, facts.as_ref(), &RealHost));
    out.extend(risky_mount_findings(&plan));
}

/// A warning per bind mount of the host root or the Docker socket (allowed, as compose allows them).
fn risky_mount_findings(plan: &Plan) -> Vec<Finding> {
    use super::warnings::{docker_sockets, risky_mounts, Risk};
    let sockets = docker_sockets(std::env::var("DOCKER_HOST").ok().as_deref());
    risky_mounts(plan, &sockets)
        .into_iter()
        .map(|m| {
            let fix = match m.risk {
                Risk::HostRoot => "mount only the directories the service needs (`:ro` where it only reads)",
                Risk::DockerSocket => "keep it only for a service that must drive Docker (a CI runner, a proxy); otherwise remove the mount",
            };
            Finding::new("mounts", Level::Warn, m.to_string()).fix(fix)
        })
        .collect()
}

fn print_text(findings: &[Finding]) {
    for f in findings {
        let mark = match f.level {
            Level::Ok => style("✓").green().bold(),
            Level::Info => style("-").dim(),
            Level::Warn => style("!").yellow().bold(),
            Level::Fail => style("✗").red().bold(),
        };
        println!("{mark} {}: {}", f.check, f.message);
        if let Some(fix) = &f.fix {
            println!("  {} {fix}", style("fix:").cyan().bold());
        }
    }
    let count = |l: Level| findings.iter().filter(|f| f.level == l).count();
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    match (count(Level::Fail), count(Level::Warn)) {
        (0, 0) => println!("{} all checks passed", style("✓").green().bold()),
        (0, w) => println!("{} no problems, {}", style("!").yellow().bold(), plural(w, "warning")),
        (p, w) => println!("{} {}, {} (see README.md#devenv-doctor)", style("✗").red().bold(), plural(p, "problem"), plural(w, "warning")),
    }
}

pub async fn run(global: &Global, args: DoctorArgs, ui: &Ui) -> Result<u8, Error> {
    let mut findings = Vec::new();
    let engine = check_engine(&mut findings).await;
    check_file(global, ui, engine.as_ref(), &mut findings).await;
    if args.k8s {
        // The file's `k8s:` settings when it loads (its problems are reported above).
        let loaded = load_plan(global, ui).ok().and_then(|(env, plan)| crate::k8s::spec::parse(&env, &plan).ok().map(|s| (s, plan.project)));
        let t = k8s::target(loaded.as_ref().map(|(s, _)| s), loaded.as_ref().map(|(_, p)| p.as_str()), args.context.as_deref(), args.namespace.as_deref(), args.registry.as_deref());
        findings.extend(k8s::findings(&t, engine.as_ref().map(|(d, _)| d)).await);
    }
    // Without a file that loads, the kernel setting is still worth knowing.
    if let Some(n) = max_map_count()
        && let Some((min, who)) = checks::strictest_max_map_count().filter(|(min, _)| n < *min)
        && !findings.iter().any(|f| f.check == "vm.max_map_count")
    {
        findings.push(Finding::new("vm.max_map_count", Level::Info, format!("{n}; {who} would need {min}")));
    }
    let failed = findings.iter().any(|f| f.level == Level::Fail);
    if args.json {
        let count = |l: Level| findings.iter().filter(|f| f.level == l).count();
        let v = serde_json::json!({
            "ok": !failed,
            "problems": count(Level::Fail),
            "warnings": count(Level::Warn),
            "checks": findings,
        });
        println!("{v}");
    } else {
        print_text(&findings);
    }
    Ok(if failed { exit::FAILURE } else { exit::OK })
}
