//! engine: make Docker match the plan — observe → diff → execute.
//!
//! Owns: the `Session` (one plan, one Docker connection, one journal) that
//! `up`s, rolls back an interrupted `up`, tears down and removes some
//! services' containers (`seed --reset`'s jobs); executing a diff's
//! steps in phases — orphans, replicas scaled down, pre-flight checks (host ports, container,
//! network and volume names, what the engine can build), networks and volumes,
//! then the services in dependency order, in parallel where the graph allows
//! (`schedule`, `service`); teardown (`teardown`); container specs
//! (`container`); images (`images`); the per-project lock that keeps two
//! devenvs from changing one project at once (`lock`).
//! Must not: print (it emits `ui` events), parse configuration, or decide
//! what to change (`diff` does).

pub mod binds;
mod container;
pub mod health;
mod images;
mod lock;
mod networks;
mod preflight;
mod schedule;
pub mod seeding;
mod service;
pub mod snapshot;
pub mod snapshot_archive;
pub mod snapshot_share;
mod teardown;
pub mod vars;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::diff::{self, Changes, Step};
use crate::docker::Docker;
use crate::error::Error;
use crate::observe::{self, Snapshot};
use crate::plan::Plan;
use crate::ui::{Status, Ui};

pub use images::{build_image, remove_project_images};
pub use lock::{file_name_of, lock_path, lock_project, lock_project_until, lock_timeout, runtime_dir, try_lock_project, ProjectLock, DEFAULT_LOCK_TIMEOUT, HELD_BY_PARENT, INHERITED_FD};
#[cfg(unix)]
pub use lock::inherited as inherited_lock;
pub use preflight::{check_ports, free_port, port_in_use};
pub use teardown::{stop_in_order, teardown, Ending, Removed};

/// Log lines shown when a service fails.
pub const FAILURE_LOG_LINES: usize = 30;
/// Log lines shown per service when several fail in one run.
pub const FAILURE_LOG_LINES_EACH: usize = 20;

#[derive(Debug, Clone)]
pub struct UpOptions {
    pub remove_orphans: bool,
    /// Rebuild images of `build` services even when they exist.
    pub build: bool,
    /// Deadline for each service to become ready when its `health` sets none.
    pub ready_timeout: Duration,
    /// The process that will tear this environment down (`devenv run`, the
    /// library). Recorded on containers so `devenv gc` can clean up after it
    /// if it dies; `None` for environments meant to stay up.
    pub owner: Option<u32>,
}


/// What this run created or started, for cleanup on interruption (and for
/// `run`, which leaves a project it found running as it found it).
#[derive(Debug, Default, Clone)]
pub struct Journal {
    inner: Arc<Mutex<Undo>>,
}

/// Everything a session's `up`s made or started, to be undone.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Undo {
    /// Containers created (removed on undo).
    pub created: Vec<String>,
    /// Containers that existed stopped and were started (stopped again).
    pub started: Vec<String>,
    /// Networks created, by id, and volumes created, by name (removed after the containers).
    pub networks: Vec<String>,
    pub volumes: Vec<String>,
}

impl Journal {
    fn record(&self, f: impl FnOnce(&mut Undo)) {
        if let Ok(mut j) = self.inner.lock() {
            f(&mut j);
        }
    }
    pub(super) fn created(&self, id: &str) {
        self.record(|j| j.created.push(id.to_string()));
    }
    pub(super) fn started(&self, id: &str) {
        self.record(|j| j.started.push(id.to_string()));
    }
    pub(super) fn network_created(&self, id: &str) {
        self.record(|j| j.networks.push(id.to_string()));
    }
    pub(super) fn volume_created(&self, name: &str) {
        self.record(|j| j.volumes.push(name.to_string()));
    }
    /// What to undo (started lists only containers this run did not create).
    pub fn take(&self) -> Undo {
        match self.inner.lock() {
            Ok(mut j) => {
                let mut undo = std::mem::take(&mut *j);
                let created = undo.created.clone();
                undo.started.retain(|s| !created.contains(s));
                undo
            }
            Err(_) => Undo::default(),
        }
    }
}

/// The outcome of `up`.
#[derive(Debug, Default)]
pub struct UpReport {
    pub steps: Vec<Step>,
    /// Container ids per service after `up`.
    pub containers: BTreeMap<String, String>,
    pub changed: bool,
    /// Services whose seeded snapshot was just kept inside the server: the
    /// spare that makes their next `reset` renames only is not made yet
    /// (`up` hands that to a detached devenv; else the first reset makes it).
    pub prepare: Vec<String>,
}

/// One environment being brought up: `up`, `up_until` (interrupt → rollback),
/// `teardown`. Cheap to clone; the plan is shared, never copied.
#[derive(Clone)]
pub struct Session {
    docker: Docker,
    plan: Arc<Plan>,
    ui: Ui,
    opts: UpOptions,
    journal: Journal,
}

impl Session {
    pub fn new(docker: Docker, plan: impl Into<Arc<Plan>>, ui: Ui, opts: UpOptions) -> Self {
        Session { docker, plan: plan.into(), ui, opts, journal: Journal::default() }
    }

    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Bring the selected services (and their dependencies; all when empty) to
    /// the plan: [`--build`] → observe → diff → execute.
    pub async fn up(&self, selected: &[String]) -> Result<UpReport, Error> {
        let started_at = Instant::now();
        let wanted = self.wanted(selected)?;
        if self.opts.build {
            // Before the snapshot, so the diff sees the new image ids and
            // recreates exactly the services whose image changed.
            images::rebuild(&self.docker, &self.plan, &wanted, &self.ui).await?;
        }
        let snapshot = observe::snapshot(&self.docker, &self.plan, &wanted).await?;
        let changes = diff::changes(&self.plan, &wanted, &snapshot);
        self.execute(changes, &snapshot, started_at).await
    }

    /// `up`, unless `interrupted` resolves first: then `note` is shown, what
    /// this run created is removed and what it started is stopped, and the
    /// result is `Error::Interrupted`.
    pub async fn up_until(&self, selected: &[String], interrupted: impl Future<Output = ()>, note: &str) -> Result<UpReport, Error> {
        tokio::select! {
            r = self.up(selected) => r,
            _ = interrupted => {
                self.ui.warn(note);
                self.rollback().await;
                Err(Error::Interrupted)
            }
        }
    }

    /// Undo what this session's `up`s did: remove the containers, networks and
    /// volumes they created, stop what they started. Returns what was undone.
    pub async fn rollback(&self) -> Undo {
        let undo = self.journal.take();
        teardown::rollback(&self.docker, &undo).await;
        undo
    }

    /// Remove the project (containers as `ending` says, networks, with
    /// `volumes` its volumes); see `teardown`. `Error::Incomplete` when
    /// something could not be removed (everything else was).
    pub async fn teardown(&self, ending: Ending, volumes: bool) -> Result<Removed, Error> {
        teardown(&self.docker, &self.plan.project, &self.dependencies(), ending, volumes, &self.ui).await?.into_result(&self.plan.project)
    }

    /// Remove the containers of `services` (whatever their state): a finished
    /// `run: once` job removed this way runs again on the next `up`.
    pub async fn remove_containers_of(&self, services: &[String]) -> Result<(), Error> {
        for c in self.docker.project_containers(&self.plan.project).await? {
            if c.service.as_ref().is_some_and(|s| services.contains(s)) {
                self.docker.remove_container(&c.id).await?;
            }
        }
        Ok(())
    }

    /// Stop (not remove) the containers `up` reported (label → id), in
    /// reverse dependency order, each with its own stop timeout.
    pub async fn stop(&self, services: &BTreeMap<String, String>) -> Result<(), Error> {
        let containers = self.docker.project_containers(&self.plan.project).await?;
        let selected: Vec<_> = containers.into_iter().filter(|c| services.values().any(|id| *id == c.id)).collect();
        stop_in_order(&self.docker, &selected, &self.dependencies(), None, false, &self.ui).await
    }

    /// Each service → the services it depends on.
    pub fn dependencies(&self) -> HashMap<String, Vec<String>> {
        self.plan.services.iter().map(|(n, s)| (n.clone(), s.depends_on.keys().cloned().collect())).collect()
    }

    /// The selected services and their dependencies, in start order.
    fn wanted(&self, selected: &[String]) -> Result<Vec<String>, Error> {
        let order = self.plan.graph.start_order().map_err(|c| Error::Other(format!("dependency cycle: {c}")))?;
        if selected.is_empty() {
            return Ok(order);
        }
        let closure = self.plan.graph.closure(selected);
        Ok(order.into_iter().filter(|s| closure.contains(s)).collect())
    }

    /// The phases: orphans, then — when anything is to do — the port check,
    /// networks and volumes, the services; then the summary.
    async fn execute(&self, changes: Changes, snapshot: &Snapshot, started_at: Instant) -> Result<UpReport, Error> {
        self.orphans(&changes).await?;
        self.scale_down(&changes).await?;
        let work = changes.work().count();
        let has_seeds = changes.services.iter().any(|s| self.plan.services.get(&s.service).is_some_and(|svc| !svc.seeds.is_empty()));
        if work == 0 && !has_seeds {
            for s in changes.services.iter().filter(|s| s.kind == diff::StepKind::Keep) {
                let once = self.plan.services.get(&s.service).is_some_and(|svc| svc.once);
                self.ui.service(&s.label(), if once { Status::CompletedUnchanged } else { Status::Unchanged });
            }
            let containers = changes.services.iter().filter(|s| s.kind != diff::StepKind::Remove).filter_map(|s| Some((s.label(), s.container.clone()?))).collect();
            return Ok(self.done(changes.services, containers, 0, 0, started_at));
        }
        // Nothing is created before the host ports are known to be free.
        check_ports(&self.plan, &changes.services, &preflight::our_ports(&self.docker, &snapshot.containers).await?)?;
        preflight::check_names(&self.docker, &self.plan, &changes.services).await?;
        images::check_builds(&self.docker, &self.plan, &changes.services).await?;
        binds::ensure_bind_sources(&self.plan)?;
        let network_ids = networks::prepare(&self.docker, &self.plan, &changes, &self.journal, self.opts.owner).await?;
        let run = Arc::new(service::Run {
            network_ids,
            docker: self.docker.clone(),
            plan: self.plan.clone(),
            ui: self.ui.clone(),
            journal: self.journal.clone(),
            opts: self.opts.clone(),
            images: Default::default(),
            first_failure: Default::default(),
            lead: service::StartGate::new(schedule::lead(&self.plan, &changes.services)),
            kept: Default::default(),
        });
        let outcome = schedule::run_services(run.clone(), &changes.services, &snapshot.containers).await?;
        let mut report = self.done(changes.services, outcome.containers, work, outcome.seeded, started_at);
        report.prepare = run.kept.lock().map(|k| k.clone()).unwrap_or_default();
        Ok(report)
    }

    /// Orphans: reported, and removed when asked.
    async fn orphans(&self, changes: &Changes) -> Result<(), Error> {
        for s in changes.orphans() {
            if self.opts.remove_orphans
                && let Some(id) = &s.container
            {
                // The container's own stop timeout (its stop_grace_period), else Docker's 10 s.
                self.docker.stop(id, None).await?;
                self.docker.remove_container(id).await?;
            }
            self.ui.service(&s.service, Status::Orphan { removed: self.opts.remove_orphans });
        }
        Ok(())
    }

    /// Replicas beyond a service's count (highest numbers first): stopped and removed.
    async fn scale_down(&self, changes: &Changes) -> Result<(), Error> {
        for s in changes.services.iter().filter(|s| s.kind == diff::StepKind::Remove) {
            if let Some(id) = &s.container {
                let grace = self.plan.services.get(&s.service).and_then(|svc| svc.stop_grace_period);
                self.docker.stop(id, grace).await?;
                self.docker.remove_container(id).await?;
                self.ui.service(&s.label(), Status::Removed);
            }
        }
        Ok(())
    }

    /// The summary line and the report.
    fn done(&self, steps: Vec<Step>, containers: BTreeMap<String, String>, n: usize, seeded: usize, started_at: Instant) -> UpReport {
        if n == 0 && seeded == 0 {
            self.ui.done("nothing to do: everything is up to date", started_at.elapsed());
            return UpReport { steps, containers, changed: false, prepare: Vec::new() };
        }
        let seeds = if seeded > 0 { format!(", {seeded} seed entr{} applied", if seeded == 1 { "y" } else { "ies" }) } else { String::new() };
        let plural = if n == 1 { "" } else { "s" };
        self.ui.done(format!("{n} service{plural} changed{seeds}; environment `{}` is ready", self.plan.project), started_at.elapsed());
        UpReport { steps, containers, changed: true, prepare: Vec::new() }
    }
}
