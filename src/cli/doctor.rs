//! `devenv doctor`: is this machine ready for this environment?

use std::net::TcpListener;

use clap::Args;
use console::style;

use super::{load_plan, Global};
use crate::docker::Docker;
use crate::error::{exit, Error};
use crate::ui::Ui;

#[derive(Debug, Args)]
pub struct DoctorArgs {}

/// Elasticsearch needs at least this `vm.max_map_count`.
pub const MIN_MAX_MAP_COUNT: u64 = 262_144;
/// Warn under this much free disk for Docker.
const MIN_FREE_BYTES: u64 = 2 * 1024 * 1024 * 1024;

struct Report {
    problems: usize,
}

impl Report {
    fn ok(&self, what: &str, detail: impl AsRef<str>) {
        println!("{} {what}: {}", style("✓").green().bold(), detail.as_ref());
    }
    fn problem(&mut self, what: &str, detail: impl AsRef<str>, fix: impl AsRef<str>) {
        self.problems += 1;
        println!("{} {what}: {}", style("✗").red().bold(), detail.as_ref());
        println!("  {} {}", style("fix:").cyan().bold(), fix.as_ref());
    }
    fn note(&self, what: &str, detail: impl AsRef<str>) {
        println!("{} {what}: {}", style("-").dim(), detail.as_ref());
    }
}

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
    std::fs::read_to_string("/proc/sys/vm/max_map_count").ok().and_then(|s| s.trim().parse().ok())
}

/// The warning `up` prints when Elasticsearch would refuse to start.
pub fn max_map_count_warning(plan: &crate::plan::Plan) -> Option<String> {
    let uses_es = plan.services.values().any(|s| s.preset == Some(crate::preset::Kind::Elasticsearch));
    match max_map_count() {
        Some(n) if uses_es && n < MIN_MAX_MAP_COUNT => Some(format!(
            "vm.max_map_count is {n}; Elasticsearch needs at least {MIN_MAX_MAP_COUNT} and its bootstrap checks may stop it. Fix: sudo sysctl -w vm.max_map_count={MIN_MAX_MAP_COUNT} (persist it in /etc/sysctl.d/99-devenv.conf)"
        )),
        _ => None,
    }
}

pub async fn run(global: &Global, _args: DoctorArgs, ui: &Ui) -> Result<u8, Error> {
    let mut r = Report { problems: 0 };
    match Docker::connect().await {
        Ok(d) => match d.version().await {
            Ok(v) => {
                r.ok("docker", format!("engine {} (API {}, {})", v.version, v.api_version, v.os));
                let dir = v.root_dir.clone().unwrap_or_else(|| "/var/lib/docker".into());
                match free_bytes(&dir) {
                    Some(b) if b < MIN_FREE_BYTES => r.problem(
                        "disk",
                        format!("{} free under {dir}", indicatif::HumanBytes(b)),
                        "free space: `docker system prune` removes unused images and build cache",
                    ),
                    Some(b) => r.ok("disk", format!("{} free under {dir}", indicatif::HumanBytes(b))),
                    None => r.note("disk", format!("cannot read free space of {dir} from here (remote engine?)")),
                }
            }
            Err(e) => r.problem("docker", e.to_string(), "check the engine's logs"),
        },
        Err(e) => r.problem("docker", e.to_string(), e.hint().unwrap_or_default()),
    }

    match max_map_count() {
        Some(n) if n < MIN_MAX_MAP_COUNT => {
            let uses_es = load_plan(global, ui).ok().is_some_and(|(env, _)| {
                env.spec.services.values().any(|s| s.preset.as_deref() == Some("elasticsearch") || s.image.as_deref().is_some_and(|i| i.contains("elasticsearch")))
            });
            let fix = format!("sudo sysctl -w vm.max_map_count={MIN_MAX_MAP_COUNT} (persist it in /etc/sysctl.d/99-devenv.conf)");
            if uses_es {
                r.problem("vm.max_map_count", format!("{n} (< {MIN_MAX_MAP_COUNT}); Elasticsearch will refuse to start"), fix);
            } else {
                r.note("vm.max_map_count", format!("{n}; Elasticsearch would need {MIN_MAX_MAP_COUNT} ({fix})"));
            }
        }
        Some(n) => r.ok("vm.max_map_count", n.to_string()),
        None => {}
    }

    match load_plan(global, ui) {
        Ok((_, plan)) => {
            r.ok("environment file", format!("{} ({} services, project `{}`)", plan.file.display(), plan.services.len(), plan.project));
            let ours: Vec<u16> = match Docker::connect().await {
                Ok(d) => d.project_containers(&plan.project).await.unwrap_or_default().iter().flat_map(|c| c.ports.iter().map(|p| p.host_port)).collect(),
                Err(_) => vec![],
            };
            for svc in plan.services.values() {
                for p in &svc.ports {
                    let Some(hp) = p.host_port else { continue };
                    if p.protocol != "tcp" || ours.contains(&hp) {
                        continue;
                    }
                    let ip = p.host_ip.clone().unwrap_or_else(|| "127.0.0.1".into());
                    match TcpListener::bind((ip.as_str(), hp)) {
                        Ok(_) => r.ok("port", format!("{ip}:{hp} free for `{}`", svc.name)),
                        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => r.problem(
                            "port",
                            format!("{ip}:{hp} (for `{}`) is in use by another process", svc.name),
                            format!("stop it (`ss -ltnp 'sport = :{hp}'` shows it) or change the host side of services.{}.ports", svc.name),
                        ),
                        Err(e) => r.note("port", format!("{ip}:{hp}: {e}")),
                    }
                }
            }
        }
        Err(Error::Config(e)) if e.message.contains("no environment file") || e.message.contains("not found") => {
            r.note("environment file", e.to_string())
        }
        Err(e) => r.problem("environment file", e.to_string(), e.hint().unwrap_or_else(|| "fix the file".into())),
    }

    if r.problems == 0 {
        println!("{} all checks passed", style("✓").green().bold());
        Ok(exit::OK)
    } else {
        println!("{} {} problem{} found", style("✗").red().bold(), r.problems, if r.problems == 1 { "" } else { "s" });
        Ok(exit::PREFLIGHT)
    }
}
