//! `devenv gc`: remove environments whose owner process is gone.
//!
//! Only projects started by an owner that tears them down (`devenv run`, the
//! library API) carry an owner label — on their containers, networks and
//! volumes, so a `run` killed before its first container exists is collected
//! too; environments started with `up` are meant to stay and are never
//! collected. A project another devenv is working on (its lock is held) is
//! left alone. Nothing without devenv's labels is touched.
//!
//! Snapshots: the pieces of a snapshot whose manifest volume is missing (a
//! `snapshot save` or `import` that died; never listed by `snapshot ls`) are
//! collected, with the exited copy helpers that still mount them — unless the
//! project's lock is held (it may be running now) or a copy is still writing
//! into them. A complete snapshot is kept even when its project is down or
//! gone; `--snapshots` also removes the complete snapshots of projects that
//! have nothing else left in the engine (no container, network or volume).
//! `devenv -p NAME gc` looks at project NAME only.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use clap::Args;

use super::{parse_duration_arg, Global};
use crate::docker::{Docker, ObservedObject, SnapshotHelper};
use crate::engine;
use crate::engine::snapshot;
use crate::engine::snapshot_share::{self, Torn};
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
    /// Also remove complete snapshots of projects with nothing else left in
    /// the engine (saved at least --older-than ago)
    #[arg(long)]
    pub snapshots: bool,
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

pub async fn run(global: &Global, args: GcArgs, ui: &Ui) -> Result<u8, Error> {
    let t0 = Instant::now();
    let docker = Docker::connect().await?;
    let containers = docker.all_devenv_containers().await?;
    let networks = docker.all_devenv_networks().await?;
    let volumes = docker.all_devenv_named_volumes().await?;
    let claims = containers.iter().map(Claim::from).chain(networks.iter().chain(&volumes).map(Claim::from));
    let host = crate::labels::hostname();
    let mut projects = abandoned(claims, &host, args.older_than, chrono::Utc::now().timestamp(), alive);
    // `devenv -p NAME gc`: that project only.
    let only = global.project.as_deref();
    projects.retain(|p| only.is_none_or(|o| o == p));
    let present: BTreeSet<String> = containers.iter().map(|c| c.project.clone()).chain(networks.iter().chain(&volumes).map(|o| o.project.clone())).collect();
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
    let snapshots = collect_snapshots(&docker, &args, &present, only, &mut left, ui).await?;
    let verb = if args.dry_run { "would collect" } else { "collected" };
    let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    if projects.is_empty() && snapshots == 0 && left.is_empty() {
        ui.done("nothing to collect: no abandoned devenv project, no torn snapshot", t0.elapsed());
        return Ok(exit::OK);
    }
    let snaps = if snapshots > 0 { format!(" and {}", plural(snapshots, "snapshot")) } else { String::new() };
    ui.done(format!("{verb} {}{snaps}", plural(projects.len(), "abandoned project")), t0.elapsed());
    if !left.is_empty() {
        return Err(Error::Incomplete {
            message: format!("{} object{} of abandoned projects could not be removed (everything else was)", left.len(), if left.len() == 1 { "" } else { "s" }),
            left,
            hint: Some("remove what holds them (named above), then run `devenv gc` again".into()),
        });
    }
    Ok(exit::OK)
}

/// Remove torn snapshots (of `only` when given; and, with `--snapshots`, complete ones of projects
/// not `present`); returns how many went (or would), adds what could not to `left`.
async fn collect_snapshots(docker: &Docker, args: &GcArgs, present: &BTreeSet<String>, only: Option<&str>, left: &mut Vec<String>, ui: &Ui) -> Result<usize, Error> {
    // A user's snapshots and the seeded ones (`devenv reset`) alike.
    let mut all = docker.volumes_with_label(crate::labels::SNAPSHOT_OF).await?;
    all.extend(docker.volumes_with_label(snapshot::SEEDED_OF).await?);
    let mut targets: Vec<(Torn, &str)> = snapshot_share::torn_of(&all).into_iter().map(|t| (t, "torn: its save or import did not finish")).collect();
    if args.snapshots {
        targets.extend(complete_orphans(&all, present, args.older_than).into_iter().map(|t| (t, "its project has nothing else left")));
    }
    targets.retain(|(t, _)| only.is_none_or(|o| o == t.project));
    let helpers = docker.snapshot_helpers().await?;
    let mut n = 0;
    for (t, why) in targets {
        let what = format!("snapshot `{}` of project `{}` ({why})", t.name, t.project);
        let Some(_lock) = engine::try_lock_project(&t.project)? else {
            ui.info(format!("{what}: skipped, a devenv is working on the project"));
            continue;
        };
        let uses: Vec<&SnapshotHelper> = helpers.iter().filter(|h| h.mounts.iter().any(|m| t.volumes.contains(m))).collect();
        if uses.iter().any(|h| h.running) {
            ui.info(format!("{what}: skipped, a copy is still running with it; run `devenv gc` again when it has finished"));
            continue;
        }
        n += 1;
        if args.dry_run {
            ui.info(format!("would remove {what}: {}", t.volumes.join(", ")));
            continue;
        }
        for h in uses {
            docker.remove_container(&h.id).await?;
        }
        // The manifest (if any) goes first: from then on it is not listed.
        match snapshot::remove_volumes(docker, &t.project, &t.name).await {
            Ok(k) => ui.info(format!("removed {what}: {k} volume{}", if k == 1 { "" } else { "s" })),
            Err(e) => left.push(format!("{what}: {e}")),
        }
    }
    Ok(n)
}

/// Complete snapshots of projects with nothing in the engine, saved at least `older_than` ago.
fn complete_orphans(all: &[crate::docker::LabelledVolume], present: &BTreeSet<String>, older_than: Duration) -> Vec<Torn> {
    let get = |v: &crate::docker::LabelledVolume, k: &str| v.labels.get(k).cloned().unwrap_or_default();
    let now = chrono::Utc::now();
    all.iter()
        .filter(|v| get(v, crate::labels::SNAPSHOT_PART) == "manifest" && !present.contains(&snapshot::owner_of(&v.labels)))
        .filter(|v| {
            chrono::DateTime::parse_from_rfc3339(&get(v, crate::labels::CREATED_AT))
                .map_or(true, |t| (now - t.with_timezone(&chrono::Utc)).num_seconds() >= older_than.as_secs() as i64)
        })
        .map(|m| {
            let (project, name) = (snapshot::owner_of(&m.labels), get(m, crate::labels::SNAPSHOT));
            let volumes = all.iter().filter(|v| snapshot::owner_of(&v.labels) == project && get(v, crate::labels::SNAPSHOT) == name).map(|v| v.name.clone()).collect();
            Torn { project, name, volumes }
        })
        .collect()
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
