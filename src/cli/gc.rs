//! `devenv gc`: remove environments whose owner process is gone.
//!
//! Only projects started by an owner that tears them down (`devenv run`, the
//! library API) carry an owner label — on their containers, networks and
//! volumes, so a `run` killed before its first container exists is collected
//! too; environments started with `up` are meant to stay and are never
//! collected. A project another devenv is working on (its lock is held) is
//! left alone. Nothing without devenv's labels is touched.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use clap::Args;

use super::{parse_duration_arg, Global};
use crate::docker::{Docker, ObservedObject};
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

/// One labelled object's say in whether its project is abandoned.
#[derive(Debug, Clone, Copy)]
pub struct Claim<'a> {
    pub project: &'a str,
    pub owner: Option<&'a (u32, String)>,
    /// Unix seconds; unknown (an object of an older devenv) counts as long ago.
    pub created: Option<i64>,
}

impl<'a> From<&'a ObservedContainer> for Claim<'a> {
    fn from(c: &'a ObservedContainer) -> Self {
        Claim { project: &c.project, owner: c.owner.as_ref(), created: Some(c.created) }
    }
}

impl<'a> From<&'a ObservedObject> for Claim<'a> {
    fn from(o: &'a ObservedObject) -> Self {
        Claim { project: &o.project, owner: o.owner.as_ref(), created: o.created }
    }
}

/// Projects to collect: every object (container, network, volume) has an
/// owner on this host, none alive, and the newest is older than `older_than`.
pub fn abandoned<'a>(claims: impl IntoIterator<Item = Claim<'a>>, host: &str, older_than: Duration, now: i64, alive: impl Fn(u32) -> bool) -> Vec<String> {
    let mut by_project: BTreeMap<&str, Vec<Claim>> = BTreeMap::new();
    for c in claims {
        by_project.entry(c.project).or_default().push(c);
    }
    by_project
        .into_iter()
        .filter(|(_, cs)| {
            cs.iter().all(|c| matches!(c.owner, Some((pid, h)) if h == host && !alive(*pid)))
                && cs.iter().map(|c| c.created.unwrap_or(0)).max().is_some_and(|newest| now - newest >= older_than.as_secs() as i64)
        })
        .map(|(p, _)| p.to_string())
        .collect()
}

pub async fn run(_global: &Global, args: GcArgs, ui: &Ui) -> Result<u8, Error> {
    let t0 = Instant::now();
    let docker = Docker::connect().await?;
    let containers = docker.all_devenv_containers().await?;
    let networks = docker.all_devenv_networks().await?;
    let volumes = docker.all_devenv_named_volumes().await?;
    let claims = containers.iter().map(Claim::from).chain(networks.iter().chain(&volumes).map(Claim::from));
    let host = crate::labels::hostname();
    let projects = abandoned(claims, &host, args.older_than, chrono::Utc::now().timestamp(), alive);
    if projects.is_empty() {
        ui.done("nothing to collect: no abandoned devenv project", t0.elapsed());
        return Ok(exit::OK);
    }
    let mut left = Vec::new();
    for p in &projects {
        if args.dry_run {
            ui.info(format!("would remove project `{p}` (its owner process is gone)"));
            continue;
        }
        // A devenv working on it now (e.g. a `down` or a new `run`) has it: not abandoned.
        let Some(_lock) = engine::try_lock_project(p)? else {
            ui.info(format!("project `{p}`: skipped, another devenv is working on it"));
            continue;
        };
        let removed = engine::teardown(&docker, p, &HashMap::new(), engine::Ending::Discard, true, ui).await?;
        ui.info(format!("project `{p}`: {}", removed.describe(p, true, false)));
        left.extend(removed.left.into_iter().map(|l| format!("project `{p}`: {l}")));
    }
    let verb = if args.dry_run { "would collect" } else { "collected" };
    ui.done(format!("{verb} {} abandoned project{}", projects.len(), if projects.len() == 1 { "" } else { "s" }), t0.elapsed());
    if !left.is_empty() {
        return Err(Error::Incomplete {
            message: format!("{} object{} of abandoned projects could not be removed (everything else was)", left.len(), if left.len() == 1 { "" } else { "s" }),
            left,
            hint: Some("remove what holds them (named above), then run `devenv gc` again".into()),
        });
    }
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
            replica: None,
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
        let cs = [
            c("dead", Some((10, "me")), 100),
            c("dead", Some((10, "me")), 150),
            c("live", Some((20, "me")), 100),
            c("kept-up", None, 100),
            c("other-host", Some((10, "elsewhere")), 100),
            c("young", Some((10, "me")), 990),
        ];
        let alive = |pid: u32| pid == 20;
        assert_eq!(abandoned(cs.iter().map(Claim::from), "me", Duration::from_secs(60), 1000, alive), vec!["dead".to_string()]);
        assert_eq!(abandoned(cs.iter().map(Claim::from), "me", Duration::ZERO, 1000, alive), vec!["dead".to_string(), "young".to_string()]);
    }

    fn o(project: &str, owner: Option<(u32, &str)>, created: Option<i64>) -> ObservedObject {
        ObservedObject { id: format!("{project}-id"), name: format!("{project}_default"), project: project.into(), owner: owner.map(|(p, h)| (p, h.to_string())), created }
    }

    #[test]
    fn networks_and_volumes_have_a_say_too() {
        // A `run` killed before its first container: only its network and volume are left.
        let objects = [o("no-container", Some((10, "me")), Some(100)), o("no-container", Some((10, "me")), Some(120))];
        // `up -d` made the network (no owner); a `run` added a container with an owner.
        let cs = [c("shared", Some((10, "me")), 100)];
        let shared = vec![o("shared", None, Some(90))];
        let claims = cs.iter().map(Claim::from).chain(objects.iter().chain(&shared).map(Claim::from));
        assert_eq!(abandoned(claims, "me", Duration::ZERO, 1000, |_| false), vec!["no-container".to_string()]);
        let young = [o("young", Some((10, "me")), Some(990))];
        assert!(abandoned(young.iter().map(Claim::from), "me", Duration::from_secs(60), 1000, |_| false).is_empty());
    }
}
