//! `devenv gc`: remove environments whose owner process is gone.
//!
//! Only projects started by an owner that tears them down (`devenv run`, the
//! library API) carry an owner label; environments started with `up` are meant
//! to stay and are never collected. Nothing without devenv's labels is touched.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use clap::Args;

use super::{parse_duration_arg, Global};
use crate::docker::Docker;
use crate::engine;
use crate::error::{exit, Error};
use crate::observe::ObservedContainer;
use crate::ui::Ui;

#[derive(Debug, Args)]
pub struct GcArgs {
    /// Only projects created at least this long ago
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = parse_duration_arg)]
    pub older_than: Duration,
    /// Show what would be removed, remove nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// Is process `pid` alive on this machine?
fn alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(pid) = i32::try_from(pid) else { return false };
        // SAFETY: signal 0 only checks that the process exists.
        let r = unsafe { libc::kill(pid, 0) };
        r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

/// Projects to collect: every container has an owner on this host, none alive,
/// and the newest container is older than `older_than`.
pub fn abandoned(containers: &[ObservedContainer], host: &str, older_than: Duration, now: i64, alive: impl Fn(u32) -> bool) -> Vec<String> {
    let mut by_project: BTreeMap<&str, Vec<&ObservedContainer>> = BTreeMap::new();
    for c in containers {
        by_project.entry(c.project.as_str()).or_default().push(c);
    }
    by_project
        .into_iter()
        .filter(|(_, cs)| {
            cs.iter().all(|c| matches!(&c.owner, Some((pid, h)) if h == host && !alive(*pid)))
                && cs.iter().map(|c| c.created).max().is_some_and(|newest| now - newest >= older_than.as_secs() as i64)
        })
        .map(|(p, _)| p.to_string())
        .collect()
}

pub async fn run(_global: &Global, args: GcArgs, ui: &Ui) -> Result<u8, Error> {
    let t0 = Instant::now();
    let docker = Docker::connect().await?;
    let containers = docker.all_devenv_containers().await?;
    let host = crate::labels::hostname();
    let projects = abandoned(&containers, &host, args.older_than, chrono::Utc::now().timestamp(), alive);
    if projects.is_empty() {
        ui.done("nothing to collect: no abandoned devenv project", t0.elapsed());
        return Ok(exit::OK);
    }
    for p in &projects {
        if args.dry_run {
            ui.info(format!("would remove project `{p}` (its owner process is gone)"));
            continue;
        }
        let removed = engine::teardown(&docker, p, &HashMap::new(), Duration::from_secs(5), true, ui).await?;
        ui.info(format!("project `{p}`: {}", removed.describe(p, true, false)));
    }
    let verb = if args.dry_run { "would collect" } else { "collected" };
    ui.done(format!("{verb} {} abandoned project{}", projects.len(), if projects.len() == 1 { "" } else { "s" }), t0.elapsed());
    Ok(exit::OK)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::ContainerState;

    fn c(project: &str, owner: Option<(u32, &str)>, created: i64) -> ObservedContainer {
        ObservedContainer {
            id: format!("{project}-{created}"),
            name: project.into(),
            service: Some("s".into()),
            config_hash: None,
            image: String::new(),
            image_id: String::new(),
            state: ContainerState::Running,
            status: String::new(),
            health: None,
            ports: vec![],
            created,
            oneshot: false,
            owner: owner.map(|(p, h)| (p, h.to_string())),
            project: project.into(),
        }
    }

    #[test]
    fn only_projects_whose_owner_is_gone_here_are_collected() {
        let cs = vec![
            c("dead", Some((10, "me")), 100),
            c("dead", Some((10, "me")), 150),
            c("live", Some((20, "me")), 100),
            c("kept-up", None, 100),
            c("other-host", Some((10, "elsewhere")), 100),
            c("young", Some((10, "me")), 990),
        ];
        let alive = |pid: u32| pid == 20;
        assert_eq!(abandoned(&cs, "me", Duration::from_secs(60), 1000, alive), vec!["dead".to_string()]);
        assert_eq!(abandoned(&cs, "me", Duration::ZERO, 1000, alive), vec!["dead".to_string(), "young".to_string()]);
    }
}
