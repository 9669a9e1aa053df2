//! engine: make Docker match the plan.
//!
//! Owns: executing diff steps in dependency order, in parallel where the
//! graph allows (per service: wait for dependencies → image → create/start
//! → ready), pre-flight checks, teardown, and the journal of what this run
//! created (so an interrupted `up` can undo exactly that).
//! Must not: print (it emits `ui` events) or parse configuration.

pub mod binds;
pub mod health;
mod networks;
mod preflight;
pub mod seeding;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{watch, OnceCell};
use tokio::task::JoinSet;

use crate::config::Condition;
use crate::docker::{build_context_tar, Docker};
use crate::error::Error;
use crate::observe::ObservedContainer;
use crate::plan::{diff, Plan, Probe, ResolvedHealth, ResolvedService, Step, StepKind};
use crate::ui::{Status, Ui};

pub use preflight::{check_ports, free_port, port_in_use};

/// Log lines shown when a service fails.
pub const FAILURE_LOG_LINES: usize = 30;
/// Log lines shown per service when several fail in one run.
pub const FAILURE_LOG_LINES_EACH: usize = 20;

/// Why a service's part of `up` ended without it being ready.
#[derive(Debug)]
enum Failure {
    /// It failed: exited, could not become ready, its image, its seeds, Docker.
    Failed(Error),
    /// Its readiness deadline passed.
    TimedOut(Error),
    /// Not started: a dependency failed, or another service failed first.
    NotStarted { reason: String },
}

/// Per service: (container id, seed entries applied), or why it is not ready.
type ServiceOutcome = Result<(Option<String>, usize), Failure>;

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Failed(e)
    }
}

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

/// What this run created or started, for cleanup on interruption.
#[derive(Debug, Default, Clone)]
pub struct Journal {
    inner: Arc<Mutex<JournalData>>,
}

#[derive(Debug, Default)]
struct JournalData {
    created: Vec<String>,
    started: Vec<String>,
}

impl Journal {
    fn created(&self, id: &str) {
        if let Ok(mut j) = self.inner.lock() {
            j.created.push(id.to_string());
        }
    }
    fn started(&self, id: &str) {
        if let Ok(mut j) = self.inner.lock() {
            j.started.push(id.to_string());
        }
    }
    /// (created, started-but-pre-existing) container ids.
    pub fn take(&self) -> (Vec<String>, Vec<String>) {
        match self.inner.lock() {
            Ok(mut j) => {
                let created = std::mem::take(&mut j.created);
                let started = std::mem::take(&mut j.started).into_iter().filter(|s| !created.contains(s)).collect();
                (created, started)
            }
            Err(_) => (vec![], vec![]),
        }
    }
}

/// The state a service reached, watched by its dependents.
#[derive(Debug, Clone, PartialEq)]
enum Reached {
    Pending,
    Started,
    Healthy,
    Completed,
    Failed,
    /// Never started (a dependency failed, or the run was already failing).
    NotStarted,
}

fn satisfies(r: &Reached, c: Condition, once: bool) -> Option<bool> {
    match (r, c) {
        (Reached::Failed | Reached::NotStarted, _) => Some(false),
        (Reached::Pending, _) => None,
        (_, Condition::Started | Condition::Default) => Some(true),
        (Reached::Healthy | Reached::Completed, Condition::Healthy) => Some(true),
        (Reached::Completed, Condition::Completed) => Some(true),
        (Reached::Healthy, Condition::Completed) if !once => Some(false),
        _ => None,
    }
}

/// The outcome of `up`.
#[derive(Debug, Default)]
pub struct UpReport {
    pub steps: Vec<Step>,
    /// Container ids per service after `up`.
    pub containers: BTreeMap<String, String>,
    pub changed: bool,
}

/// Bring the selected services (and their dependencies) to the plan.
pub async fn up(docker: &Docker, plan: &Plan, selected: &[String], opts: &UpOptions, ui: &Ui, journal: &Journal) -> Result<UpReport, Error> {
    let started_at = Instant::now();
    binds::ensure_bind_sources(plan)?;
    let order = plan.graph.start_order().map_err(|c| Error::Other(format!("dependency cycle: {c}")))?;
    let wanted = if selected.is_empty() {
        order.clone()
    } else {
        let closure = plan.graph.closure(selected);
        order.iter().filter(|s| closure.contains(*s)).cloned().collect()
    };

    // `--build`: rebuild first, so the comparison below sees the new image ids and
    // recreates exactly the services whose image changed.
    let rebuilt;
    let opts = if opts.build {
        rebuild_images(docker, plan, &wanted, ui).await?;
        rebuilt = UpOptions { build: false, ..opts.clone() };
        &rebuilt
    } else {
        opts
    };

    let observed = docker.project_containers(&plan.project).await?;
    let mut image_ids = BTreeMap::new();
    for name in &wanted {
        if let Some(svc) = plan.services.get(name)
            && !image_ids.contains_key(&svc.image)
                && let Some(id) = docker.image_id(&svc.image).await? {
                    image_ids.insert(svc.image.clone(), id);
                }
    }
    let steps = diff(plan, &wanted, &observed, &image_ids);

    // Orphans: report, and remove when asked.
    for s in steps.iter().filter(|s| s.kind == StepKind::RemoveOrphan) {
        if opts.remove_orphans
            && let Some(id) = &s.container {
                // The container's own stop timeout (its stop_grace_period), else Docker's 10 s.
                docker.stop(id, None).await?;
                docker.remove_container(id).await?;
            }
        ui.service(&s.service, Status::Orphan { removed: opts.remove_orphans });
    }

    let work: Vec<&Step> = steps.iter().filter(|s| !matches!(s.kind, StepKind::Keep | StepKind::RemoveOrphan)).collect();
    let has_seeds = steps.iter().any(|s| plan.services.get(&s.service).is_some_and(|svc| !svc.seeds.is_empty()));
    if work.is_empty() && !has_seeds {
        for s in steps.iter().filter(|s| s.kind == StepKind::Keep) {
            ui.service(&s.service, Status::Unchanged);
        }
        let containers = steps.iter().filter_map(|s| Some((s.service.clone(), s.container.clone()?))).collect();
        ui.done("nothing to do: everything is up to date", started_at.elapsed());
        return Ok(UpReport { steps, containers, changed: false });
    }

    // Nothing is created before the host ports are known to be free.
    check_ports(plan, &steps, &observed)?;

    // External networks are checked before any network is created.
    networks::prepare(docker, plan, &wanted).await?;
    for (name, docker_name) in &plan.volumes {
        let used = wanted.iter().filter_map(|s| plan.services.get(s)).any(|s| {
            s.volumes.iter().any(|v| matches!(v, crate::config::VolumeSpec::Named { name: n, .. } if n == name))
        });
        if used {
            docker.ensure_volume(docker_name, &plan.project, name).await?;
        }
    }

    // One watch channel per service; dependents wait on them.
    let mut senders: HashMap<String, watch::Sender<Reached>> = HashMap::new();
    let mut receivers: HashMap<String, watch::Receiver<Reached>> = HashMap::new();
    for name in &wanted {
        let (tx, rx) = watch::channel(Reached::Pending);
        senders.insert(name.clone(), tx);
        receivers.insert(name.clone(), rx);
    }
    let images: ImageOnce = Arc::default();
    let first_failure: Arc<std::sync::OnceLock<String>> = Arc::default();
    let mut set: JoinSet<(String, ServiceOutcome)> = JoinSet::new();
    for step in &steps {
        if step.kind == StepKind::RemoveOrphan {
            continue;
        }
        let Some(svc) = plan.services.get(&step.service).cloned() else { continue };
        let deps: Vec<(String, Condition, bool, watch::Receiver<Reached>)> = svc
            .depends_on
            .iter()
            .filter_map(|(d, c)| {
                let once = plan.services.get(d).is_some_and(|s| s.once);
                Some((d.clone(), *c, once, receivers.get(d)?.clone()))
            })
            .collect();
        let needed_by_changed = steps.iter().any(|other| {
            !matches!(other.kind, StepKind::Keep | StepKind::RemoveOrphan)
                && plan.services.get(&other.service).is_some_and(|o| o.depends_on.contains_key(&svc.name))
        });
        let Some(tx) = senders.remove(&step.service) else { continue };
        let ctx = ServiceRun {
            docker: docker.clone(),
            plan_project: plan.project.clone(),
            plan: Arc::new(plan.clone()),
            svc,
            step: step.clone(),
            deps,
            tx,
            first_failure: first_failure.clone(),
            ui: ui.clone(),
            journal: journal.clone(),
            images: images.clone(),
            opts: opts.clone(),
            probe_if_kept: needed_by_changed,
            observed_ports: observed
                .iter()
                .find(|c| c.service.as_deref() == Some(step.service.as_str()))
                .map(|c| c.ports.clone())
                .unwrap_or_default(),
        };
        set.spawn(async move {
            let name = ctx.svc.name.clone();
            let r = ctx.run().await;
            (name, r)
        });
    }

    let mut containers = BTreeMap::new();
    let mut seeded_total = 0usize;
    // Every service runs to its end (ready, failed, timed out, not started):
    // one failure does not hide the others.
    let mut failures: Vec<(String, Error)> = Vec::new();
    let mut timed_out: Vec<String> = Vec::new();
    let mut not_started: Vec<(String, String)> = Vec::new();
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok((name, Ok((id, seeded)))) => {
                seeded_total += seeded;
                if let Some(id) = id {
                    containers.insert(name, id);
                }
            }
            Ok((name, Err(Failure::Failed(e)))) => failures.push((name, e)),
            Ok((name, Err(Failure::TimedOut(e)))) => {
                timed_out.push(name.clone());
                failures.push((name, e));
            }
            Ok((name, Err(Failure::NotStarted { reason }))) => not_started.push((name, reason)),
            Err(e) => failures.push(("devenv".into(), Error::Other(format!("internal task failed: {e}")))),
        }
    }
    if let Some(e) = failure_report(failures, &timed_out, not_started) {
        return Err(e);
    }
    let n = work.len();
    if n == 0 && seeded_total == 0 {
        ui.done("nothing to do: everything is up to date", started_at.elapsed());
        return Ok(UpReport { steps, containers, changed: false });
    }
    let seeds = if seeded_total > 0 { format!(", {seeded_total} seed entr{} applied", if seeded_total == 1 { "y" } else { "ies" }) } else { String::new() };
    ui.done(format!("{n} service{} changed{seeds}; environment `{}` is ready", if n == 1 { "" } else { "s" }, plan.project), started_at.elapsed());
    Ok(UpReport { steps, containers, changed: true })
}

/// The error of a run in which services failed. One failure is returned as
/// it is. Several become one report: each failing service's error and its last
/// log lines, which services the deadline caught, which were not started.
/// Without failures, a service that could not start is the error.
fn failure_report(mut failures: Vec<(String, Error)>, timed_out: &[String], not_started: Vec<(String, String)>) -> Option<Error> {
    if failures.is_empty() {
        let (name, reason) = not_started.into_iter().next()?;
        return Some(Error::Service { message: format!("not started `{name}`: {reason}"), logs: vec![], hint: None });
    }
    if failures.len() == 1 {
        return failures.pop().map(|(_, e)| e);
    }
    let names: Vec<&str> = failures.iter().map(|(n, _)| n.as_str()).collect();
    let mut message = format!("{} services failed: {}", failures.len(), names.join(", "));
    if !timed_out.is_empty() {
        message.push_str(&format!("; timeout reached: {} not ready", timed_out.join(", ")));
    }
    if !not_started.is_empty() {
        let names: Vec<&str> = not_started.iter().map(|(n, _)| n.as_str()).collect();
        message.push_str(&format!("; not started: {}", names.join(", ")));
    }
    let mut detail = Vec::new();
    for (name, e) in &failures {
        let text = e.to_string();
        detail.push(if text.contains(&format!("`{name}`")) { text } else { format!("{name}: {text}") });
        let lines = e.detail();
        let prefix = format!("{name} | ");
        for line in &lines[lines.len().saturating_sub(FAILURE_LOG_LINES_EACH)..] {
            detail.push(if line.starts_with(&prefix) { line.clone() } else { format!("{prefix}{line}") });
        }
    }
    for (name, reason) in &not_started {
        detail.push(format!("{name}: not started: {reason}"));
    }
    let hint = Some(format!("the last {FAILURE_LOG_LINES_EACH} log lines of each failing service are above; `devenv logs SERVICE` shows more"));
    if failures.iter().any(|(_, e)| matches!(e, Error::Service { .. })) {
        Some(Error::Service { message, logs: detail, hint })
    } else if failures.iter().any(|(_, e)| matches!(e, Error::Image { .. })) {
        Some(Error::Image { message, detail, hint })
    } else {
        // Seeding, Docker or internal errors only: the first, as before.
        Some(failures.swap_remove(0).1)
    }
}

/// One pull/build per image reference, shared by the services that use it.
type ImageOnce = Arc<Mutex<HashMap<String, Arc<OnceCell<Result<(), Error>>>>>>;

struct ServiceRun {
    docker: Docker,
    plan_project: String,
    plan: Arc<Plan>,
    svc: ResolvedService,
    step: Step,
    deps: Vec<(String, Condition, bool, watch::Receiver<Reached>)>,
    tx: watch::Sender<Reached>,
    /// The first service of this run that failed: after it, nothing new starts.
    first_failure: Arc<std::sync::OnceLock<String>>,
    ui: Ui,
    journal: Journal,
    images: ImageOnce,
    opts: UpOptions,
    probe_if_kept: bool,
    /// Ports the existing container published (for Recreate).
    observed_ports: Vec<crate::observe::ObservedPort>,
}

impl ServiceRun {
    async fn run(self) -> ServiceOutcome {
        let name = self.svc.name.clone();
        let result = self.run_inner().await;
        match &result {
            Ok(_) => {}
            Err(Failure::NotStarted { reason }) => {
                let _ = self.tx.send(Reached::NotStarted);
                self.ui.service(&name, Status::Skipped { reason: reason.clone() });
            }
            Err(Failure::Failed(e) | Failure::TimedOut(e)) => {
                let _ = self.tx.send(Reached::Failed);
                let _ = self.first_failure.set(name.clone());
                self.ui.service(&name, Status::Failed { error: e.to_string() });
            }
        }
        result
    }

    /// Wait until every dependency reached its condition. Not started when one
    /// cannot, or when another service failed while this one still waited: after
    /// a failure only what is already starting runs on (to its own deadline), so
    /// the run ends without waiting a full timeout again.
    async fn wait_for_dependencies(&self) -> Result<(), Failure> {
        let waited = self.wait_for_each_dependency().await?;
        match self.first_failure.get() {
            Some(first) if waited => Err(Failure::NotStarted { reason: format!("`{first}` failed; nothing new is started after a failure") }),
            _ => Ok(()),
        }
    }

    /// Whether it had to wait (a dependency was not there yet).
    async fn wait_for_each_dependency(&self) -> Result<bool, Failure> {
        if self.deps.is_empty() {
            return Ok(false);
        }
        let mut waited = false;
        let mut pending: Vec<String> = self.deps.iter().map(|d| d.0.clone()).collect();
        self.ui.service(&self.svc.name, Status::Waiting { on: pending.clone() });
        for (dep, cond, once, rx) in &self.deps {
            let mut rx = rx.clone();
            loop {
                let state = rx.borrow_and_update().clone();
                match satisfies(&state, *cond, *once) {
                    Some(true) => break,
                    Some(false) => {
                        let reason = match state {
                            Reached::Failed => format!("dependency `{dep}` failed"),
                            Reached::NotStarted => format!("dependency `{dep}` was not started"),
                            _ => format!("dependency `{dep}` cannot reach `{cond}`"),
                        };
                        return Err(Failure::NotStarted { reason });
                    }
                    None => {}
                }
                waited = true;
                if rx.changed().await.is_err() {
                    // The dependency's task ended without reaching the condition.
                    return Err(Failure::NotStarted { reason: format!("dependency `{dep}` stopped before `{cond}`") });
                }
            }
            pending.retain(|p| p != dep);
            if !pending.is_empty() {
                self.ui.service(&self.svc.name, Status::Waiting { on: pending.clone() });
            }
        }
        Ok(waited)
    }

    async fn run_inner(&self) -> ServiceOutcome {
        let name = &self.svc.name;
        if self.step.kind == StepKind::Keep {
            // Running and unchanged. Probe only if something that changed waits on it.
            if self.probe_if_kept && !self.svc.once
                && let Some(id) = &self.step.container {
                    self.wait_ready(id, Instant::now()).await?;
                }
            // Seed entries added to the file since the last `up` are applied now.
            let mut seeded = 0;
            if let (Some(id), false) = (&self.step.container, self.svc.seeds.is_empty()) {
                seeded = seeding::run(&self.docker, id, &self.svc, seeding::Mode::Pending, &self.ui).await?.applied;
            }
            let _ = self.tx.send(if self.svc.once { Reached::Completed } else { Reached::Healthy });
            if seeded == 0 {
                self.ui.service(name, Status::Unchanged);
            }
            return Ok((self.step.container.clone(), seeded));
        }

        // Image and container are prepared while dependencies are still starting;
        // only the start waits for them.
        let id = match &self.step.kind {
            StepKind::Start => self.step.container.clone().unwrap_or_default(),
            StepKind::Create | StepKind::Recreate { .. } => {
                self.ensure_image().await?;
                if let (StepKind::Recreate { cause }, Some(old)) = (&self.step.kind, &self.step.container) {
                    self.ui.service(name, Status::Recreating { cause: cause.clone() });
                    // The service's stop_grace_period, else the old container's own stop timeout.
                    self.docker.stop(old, self.svc.stop_grace_period).await?;
                    self.docker.remove_container(old).await?;
                } else {
                    self.ui.service(name, Status::Creating);
                }
                let host_ports = self.choose_host_ports()?;
                let id = self.docker.create_container(&self.plan, &self.svc, self.opts.owner, &host_ports).await?;
                self.journal.created(&id);
                id
            }
            StepKind::Keep | StepKind::RemoveOrphan => return Ok((None, 0)),
        };
        if let Err(e) = self.wait_for_dependencies().await {
            // Never started: leave nothing half-made behind.
            if matches!(self.step.kind, StepKind::Create | StepKind::Recreate { .. }) {
                let _ = self.docker.remove_container(&id).await;
            }
            return Err(e);
        }
        let t0 = Instant::now();
        self.ui.service(name, Status::Starting);
        let id = match self.docker.start(&id, name).await {
            Err(Error::Docker { cause, .. }) if cause.contains("error setting rlimit") && !self.svc.ulimits.is_empty() => {
                // The engine's own limits are lower than the preset asks (common in
                // rootless or sandboxed Docker): run with the engine's defaults.
                let asked: Vec<String> = self.svc.ulimits.iter().map(|(n, s, _)| format!("{n}={s}")).collect();
                self.ui.warn(format!(
                    "{name}: this Docker engine does not permit ulimits {}; starting with its defaults (raise dockerd's LimitNOFILE/LimitMEMLOCK to honour them)",
                    asked.join(", ")
                ));
                self.docker.remove_container(&id).await?;
                let mut relaxed = self.svc.clone();
                relaxed.ulimits.clear();
                let host_ports = self.choose_host_ports()?;
                let id = self.docker.create_container(&self.plan, &relaxed, self.opts.owner, &host_ports).await?;
                self.journal.created(&id);
                self.docker.start(&id, name).await?;
                id
            }
            Err(e) => return Err(e.into()),
            Ok(()) => id,
        };
        self.journal.started(&id);
        let _ = self.tx.send(Reached::Started);

        if self.svc.once {
            let code = self.docker.wait_exit(&id).await?;
            if code == 0 {
                let _ = self.tx.send(Reached::Completed);
                self.ui.service(name, Status::Completed { elapsed_ms: t0.elapsed().as_millis() as u64 });
                return Ok((Some(id), 0));
            }
            let logs = self.failure_logs(&id).await;
            return Err(Failure::Failed(Error::Service {
                message: format!("one-shot job `{name}` exited with code {code}"),
                logs,
                hint: Some(format!("see the output above; rerun it alone with `devenv up {name}` after fixing it")),
            }));
        }
        self.wait_ready(&id, t0).await?;
        self.ui.service(name, Status::Ready { elapsed_ms: t0.elapsed().as_millis() as u64 });
        // Seeds run after the service is ready and before its dependents start.
        let seeded = seeding::run(&self.docker, &id, &self.svc, seeding::Mode::Pending, &self.ui).await?.applied;
        let _ = self.tx.send(Reached::Healthy);
        Ok((Some(id), seeded))
    }

    /// Host ports for every TCP port: as written, else the one the existing
    /// container had (so addresses stay stable), else a free one picked now —
    /// before the container exists, so an advertised address can name it.
    fn choose_host_ports(&self) -> Result<Vec<(u16, u16)>, Error> {
        let mut out = Vec::new();
        for p in self.svc.ports.iter().filter(|p| p.protocol == "tcp") {
            let host = match p.host_port {
                Some(h) => h,
                None => match self.observed_ports.iter().find(|o| o.container_port == p.container_port && o.protocol == "tcp") {
                    Some(o) => o.host_port,
                    None => preflight::free_port(p.host_ip.as_deref().unwrap_or("127.0.0.1"))?,
                },
            };
            out.push((p.container_port, host));
        }
        Ok(out)
    }

    /// The container's last log lines, as `<service> | line` (`devenv logs`' format).
    async fn failure_logs(&self, id: &str) -> Vec<String> {
        let name = &self.svc.name;
        self.docker.tail_logs(id, FAILURE_LOG_LINES).await.into_iter().map(|l| format!("{name} | {l}")).collect()
    }

    async fn wait_ready(&self, id: &str, t0: Instant) -> Result<(), Failure> {
        let name = &self.svc.name;
        let health: Option<ResolvedHealth> = match &self.svc.health {
            Some(h) => Some(h.clone()),
            None => {
                let info = self.docker.inspect(id).await?;
                info.has_healthcheck.then(|| ResolvedHealth {
                    probe: Probe::DockerHealthcheck,
                    interval: Duration::from_millis(100),
                    timeout: self.opts.ready_timeout,
                    retries: None,
                    start_period: None,
                })
            }
        };
        self.ui.service(name, Status::Probing { probe: health::describe(health.as_ref()) });
        match health::wait_ready(&self.docker, id, health.as_ref(), self.opts.ready_timeout).await {
            Ok(()) => Ok(()),
            Err(health::NotReady::Docker(e)) => Err(e.into()),
            Err(health::NotReady::Exited { code, oom }) => {
                let logs = self.failure_logs(id).await;
                let how = match (code, oom) {
                    (_, true) => "was killed: out of memory".to_string(),
                    (Some(c), _) => format!("exited with code {c}"),
                    (None, _) => "stopped".to_string(),
                };
                Err(Failure::Failed(Error::Service {
                    message: format!("`{name}` {how} while starting ({:.1}s after start)", t0.elapsed().as_secs_f64()),
                    logs,
                    hint: Some(format!("its last {FAILURE_LOG_LINES} log lines are above; `devenv logs {name}` shows more")),
                }))
            }
            Err(health::NotReady::Fatal { error }) => {
                let logs = self.failure_logs(id).await;
                Err(Failure::Failed(Error::Service {
                    message: format!("`{name}` cannot become ready: {error}"),
                    logs,
                    hint: Some(format!("check the credentials in `services.{name}.env`")),
                }))
            }
            Err(health::NotReady::Timeout { last_error, after }) => {
                let logs = self.failure_logs(id).await;
                Err(Failure::TimedOut(Error::Service {
                    message: format!("`{name}` was not ready after {}: {last_error}", crate::config::format_duration(after)),
                    logs,
                    hint: Some(format!("raise `services.{name}.health.timeout` if it is just slow, or check the probe; `devenv logs {name}` shows its output")),
                }))
            }
        }
    }

    async fn ensure_image(&self) -> Result<(), Error> {
        let image = self.svc.image.clone();
        let cell = {
            let mut map = self.images.lock().map_err(|_| Error::Other("image lock poisoned".into()))?;
            map.entry(image.clone()).or_default().clone()
        };
        cell.get_or_init(|| self.prepare_image()).await.clone()
    }

    async fn prepare_image(&self) -> Result<(), Error> {
        let name = &self.svc.name;
        let present = self.docker.image_id(&self.svc.image).await?.is_some();
        if let Some(build) = &self.svc.build {
            if present && !self.opts.build {
                return Ok(());
            }
            build_image(&self.docker, &self.plan_project, &self.svc, build, &self.ui).await?;
            self.ui.service(name, Status::Built);
            return Ok(());
        }
        if present {
            return Ok(());
        }
        let mut layers: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        let ui = self.ui.clone();
        self.ui.service(name, Status::Pulling { current: 0, total: 0 });
        self.docker
            .pull(&self.svc.image, |p| {
                if p.total > 0 {
                    layers.insert(p.layer.clone(), (p.current, p.total));
                } else if (p.status.starts_with("Pull complete") || p.status.starts_with("Already exists"))
                    && let Some(l) = layers.get_mut(&p.layer) {
                        l.0 = l.1;
                    }
                let (cur, tot) = layers.values().fold((0, 0), |a, l| (a.0 + l.0, a.1 + l.1));
                ui.service(name, Status::Pulling { current: cur, total: tot });
            })
            .await
            .map_err(|e| match e {
                Error::Image { message, detail, hint } => Error::Image { message: format!("`{name}`: {message}"), detail, hint },
                other => other,
            })?;
        self.ui.service(name, Status::Pulled);
        Ok(())
    }
}

/// Build `svc`'s image from its `build` spec through the Docker API, streaming
/// the build output as UI events. Errors name the service.
/// Build every image of `wanted` that has a `build:` (each image once, in parallel).
async fn rebuild_images(docker: &Docker, plan: &Plan, wanted: &[String], ui: &Ui) -> Result<(), Error> {
    let mut seen = std::collections::BTreeSet::new();
    let builds = wanted
        .iter()
        .filter_map(|n| plan.services.get(n))
        .filter_map(|svc| Some((svc, svc.build.as_ref()?)))
        .filter(|(svc, _)| seen.insert(svc.image.clone()))
        .map(|(svc, b)| async move {
            build_image(docker, &plan.project, svc, b, ui).await?;
            ui.service(&svc.name, Status::Built);
            Ok::<(), Error>(())
        });
    futures_util::future::try_join_all(builds).await.map(|_| ())
}

pub async fn build_image(docker: &Docker, project: &str, svc: &ResolvedService, build: &crate::plan::ResolvedBuild, ui: &Ui) -> Result<(), Error> {
    let name = &svc.name;
    ui.service(name, Status::Building { line: format!("context {}", build.context.display()) });
    let ctx = build.context.clone();
    let dockerfile = build.dockerfile.clone();
    let tar = tokio::task::spawn_blocking(move || build_context_tar(&ctx, &dockerfile))
        .await
        .map_err(|e| Error::Other(format!("build context task: {e}")))??;
    let mut labels = HashMap::new();
    labels.insert(crate::plan::labels::PROJECT.to_string(), project.to_string());
    let args: HashMap<String, String> = build.args.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let line_ui = ui.clone();
    let svc_name = name.clone();
    docker
        .build(&svc.image, &build.dockerfile, &args, build.target.as_deref(), &labels, tar, move |line| {
            line_ui.service(&svc_name, Status::Building { line: line.to_string() })
        })
        .await
        .map_err(|e| match e {
            Error::Image { message, detail, hint } => Error::Image { message: format!("`{name}`: {message}"), detail, hint },
            other => other,
        })
}

/// Undo what an interrupted run did: remove what it created, stop what it started.
pub async fn rollback(docker: &Docker, journal: &Journal) {
    let (created, started) = journal.take();
    let mut set = JoinSet::new();
    for id in created {
        let d = docker.clone();
        set.spawn(async move {
            let _ = d.stop(&id, Duration::from_secs(5)).await;
            let _ = d.remove_container(&id).await;
        });
    }
    for id in started {
        let d = docker.clone();
        set.spawn(async move {
            let _ = d.stop(&id, Duration::from_secs(5)).await;
        });
    }
    while set.join_next().await.is_some() {}
}

/// Stop (and optionally remove) containers in reverse dependency order, in parallel.
/// `graph_deps` maps a service to the services it depends on (from the file, when it loads).
/// `timeout`: the grace period before a kill; `None`: each container's own
/// (its service's `stop_grace_period`, else Docker's 10 s).
pub async fn stop_in_order(
    docker: &Docker,
    containers: &[ObservedContainer],
    graph_deps: &HashMap<String, Vec<String>>,
    timeout: impl Into<Option<Duration>>,
    remove: bool,
    ui: &Ui,
) -> Result<(), Error> {
    let timeout: Option<Duration> = timeout.into();
    // A container may stop once everything that depends on it has stopped.
    let mut done: HashMap<String, watch::Sender<bool>> = HashMap::new();
    let mut rx: HashMap<String, watch::Receiver<bool>> = HashMap::new();
    for c in containers {
        let key = c.service.clone().unwrap_or_else(|| c.name.clone());
        let (t, r) = watch::channel(false);
        done.insert(key.clone(), t);
        rx.insert(key, r);
    }
    let mut set: JoinSet<Result<(), Error>> = JoinSet::new();
    for c in containers {
        let key = c.service.clone().unwrap_or_else(|| c.name.clone());
        let dependents: Vec<watch::Receiver<bool>> = graph_deps
            .iter()
            .filter(|(_, ds)| ds.contains(&key))
            .filter_map(|(s, _)| rx.get(s).cloned())
            .collect();
        let Some(tx) = done.remove(&key) else { continue };
        let d = docker.clone();
        let ui = ui.clone();
        let id = c.id.clone();
        let running = c.state == crate::observe::ContainerState::Running;
        set.spawn(async move {
            for mut r in dependents {
                while !*r.borrow_and_update() {
                    if r.changed().await.is_err() {
                        break;
                    }
                }
            }
            if running {
                ui.service(&key, Status::Stopping);
                d.stop(&id, timeout).await?;
            }
            if remove {
                d.remove_container(&id).await?;
                ui.service(&key, Status::Removed);
            } else {
                ui.service(&key, Status::Stopped);
            }
            let _ = tx.send(true);
            Ok(())
        });
    }
    let mut first = None;
    while let Some(r) = set.join_next().await {
        match r {
            Ok(Err(e)) if first.is_none() => first = Some(e),
            Err(e) if first.is_none() => first = Some(Error::Other(format!("internal task failed: {e}"))),
            _ => {}
        }
    }
    first.map_or(Ok(()), Err)
}

/// What `teardown` removed.
#[derive(Debug, Default, Clone, Copy)]
pub struct Removed {
    pub containers: usize,
    pub networks: usize,
    pub volumes: usize,
}

impl Removed {
    pub fn describe(&self, project: &str, volumes_asked: bool) -> String {
        let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
        if self.containers + self.networks + self.volumes == 0 {
            return format!("nothing to remove for project `{project}`");
        }
        let mut parts = vec![plural(self.containers, "container"), plural(self.networks, "network")];
        if volumes_asked {
            parts.push(plural(self.volumes, "volume"));
        }
        format!("removed {}", parts.join(", "))
    }
}

/// Remove a project: containers (reverse dependency order, graceful stop then
/// kill after `timeout`, or each container's own stop grace period when `None`),
/// its networks, and with `volumes` its named volumes.
/// Only objects carrying the project's label are touched (never `external` networks).
pub async fn teardown(
    docker: &Docker,
    project: &str,
    deps: &HashMap<String, Vec<String>>,
    timeout: impl Into<Option<Duration>>,
    volumes: bool,
    ui: &Ui,
) -> Result<Removed, Error> {
    let containers = docker.project_containers(project).await?;
    stop_in_order(docker, &containers, deps, timeout, true, ui).await?;
    let networks = docker.project_networks(project).await?;
    for n in &networks {
        docker.remove_network(n).await?;
    }
    let mut removed = Removed { containers: containers.len(), networks: networks.len(), volumes: 0 };
    if volumes {
        for v in docker.project_volumes(project).await? {
            docker.remove_volume(&v).await?;
            removed.volumes += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod failure_report_tests {
    use super::*;

    fn service_error(name: &str, message: &str, lines: usize) -> Error {
        Error::Service { message: message.into(), logs: (1..=lines).map(|i| format!("{name} | line-{i}")).collect(), hint: Some("one".into()) }
    }

    #[test]
    fn one_failure_is_returned_as_it_is() {
        let e = failure_report(vec![("db".into(), service_error("db", "`db` exited with code 1 while starting", 30))], &[], vec![("api".into(), "dependency `db` failed".into())]);
        assert!(matches!(e, Some(Error::Service { ref message, ref logs, .. }) if message.starts_with("`db` exited") && logs.len() == 30));
    }

    #[test]
    fn several_failures_are_reported_together() {
        let failures = vec![
            ("bad".to_string(), service_error("bad", "`bad` exited with code 3 while starting", 30)),
            ("slow".to_string(), service_error("slow", "`slow` was not ready after 3s: connection refused", 2)),
            ("img".to_string(), Error::Image { message: "cannot pull x".into(), detail: vec!["denied".into()], hint: None }),
        ];
        let not_started = vec![("app".to_string(), "dependency `bad` failed".to_string())];
        let Some(e) = failure_report(failures, &["slow".to_string()], not_started) else { panic!("no error") };
        assert_eq!(e.exit_code(), crate::error::exit::SERVICE);
        assert_eq!(e.to_string(), "3 services failed: bad, slow, img; timeout reached: slow not ready; not started: app");
        let d = e.detail();
        assert_eq!(d[0], "`bad` exited with code 3 while starting");
        assert_eq!(d[1], "bad | line-11", "the last {FAILURE_LOG_LINES_EACH} lines of each");
        assert_eq!(d[20], "bad | line-30");
        assert_eq!(&d[21..24], ["`slow` was not ready after 3s: connection refused", "slow | line-1", "slow | line-2"]);
        assert_eq!(&d[24..], ["img: cannot pull x", "img | denied", "app: not started: dependency `bad` failed"]);
    }

    #[test]
    fn only_not_started_services_still_fail_the_run() {
        let e = failure_report(vec![], &[], vec![("api".into(), "dependency `job` cannot reach `completed`".into())]);
        assert!(matches!(e, Some(Error::Service { ref message, .. }) if message == "not started `api`: dependency `job` cannot reach `completed`"));
        assert!(failure_report(vec![], &[], vec![]).is_none());
    }
}
