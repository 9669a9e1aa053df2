//! One service's part of `up`: wait for its dependencies, image, create or
//! start, readiness, seeds — reporting what it reached to its dependents.
//! Must not: print (it emits `ui` events), or look at other services beyond
//! the states its dependencies reached.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::images::Images;
use super::{container, health, preflight, seeding, snapshot, Journal, UpOptions, FAILURE_LOG_LINES};
use crate::config::Condition;
use crate::diff::{Step, StepKind};
use crate::docker::{Docker, DockerError};
use crate::error::Error;
use crate::observe::ObservedPort;
use crate::plan::{Plan, Probe, ResolvedHealth, ResolvedService};
use crate::ui::{Status, Ui};

/// Why a service's part of `up` ended without it being ready.
#[derive(Debug)]
pub(super) enum Failure {
    /// It failed: exited, could not become ready, its image, its seeds, Docker.
    Failed(Error),
    /// Its readiness deadline passed.
    TimedOut(Error),
    /// Not started: a dependency failed, or another service failed first.
    NotStarted { reason: String },
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Failed(e)
    }
}

impl From<DockerError> for Failure {
    fn from(e: DockerError) -> Self {
        Failure::Failed(e.into())
    }
}

/// Per service: (container id, seed entries applied), or why it is not ready.
pub(super) type ServiceOutcome = Result<(Option<String>, usize), Failure>;

/// The state a service reached, watched by its dependents.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Reached {
    Pending,
    Started,
    Healthy,
    Completed,
    Failed,
    /// Never started (a dependency failed, or the run was already failing).
    NotStarted,
}

/// Whether `r` satisfies `c` (`None`: not yet decided).
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

/// A dependency of a service, and where to watch what it reached.
#[derive(Debug, Clone)]
pub(super) struct Dependency {
    pub service: String,
    pub condition: Condition,
    /// The dependency is a `run: once` job.
    pub once: bool,
    pub reached: watch::Receiver<Reached>,
}

/// What every service of one run shares.
pub(super) struct Run {
    pub docker: Docker,
    pub plan: Arc<Plan>,
    pub ui: Ui,
    pub journal: Journal,
    pub opts: UpOptions,
    /// The id of each of the project's networks, by Docker name (containers join by id).
    pub network_ids: std::collections::HashMap<String, String>,
    pub images: Images,
    /// The first service of this run that failed: after it, nothing new starts.
    pub first_failure: OnceLock<String>,
    /// The service whose Docker start call goes first (others that are
    /// ready to start wait until it returned); `None`: all at once.
    pub lead: StartGate,
    /// Services whose seeded snapshot was kept inside the server in this run
    /// (their next restore is not prepared yet: `UpReport::prepare`).
    pub kept: std::sync::Mutex<Vec<String>>,
}

/// Opens the start gate when the lead's task ends (a no-op for the others).
struct LeadGuard<'a>(&'a ServiceRun);

impl Drop for LeadGuard<'_> {
    fn drop(&mut self) {
        self.0.run.lead.release(&self.0.label);
    }
}

/// Lets one service's start call go before the others'.
#[derive(Default)]
pub(super) struct StartGate {
    pub service: Option<String>,
    done: tokio::sync::Notify,
    passed: std::sync::atomic::AtomicBool,
}

impl StartGate {
    pub fn new(service: Option<String>) -> Self {
        StartGate { service, ..Default::default() }
    }
    /// Wait (a service that is not the lead) until the lead's start returned.
    async fn wait(&self, label: &str) {
        if self.service.as_deref().is_none_or(|l| l == label) {
            return;
        }
        let notified = self.done.notified();
        if self.passed.load(std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        notified.await;
    }
    /// When `label` is the lead: it started (or will not start), let the others go.
    fn release(&self, label: &str) {
        if self.service.as_deref() != Some(label) {
            return;
        }
        self.passed.store(true, std::sync::atomic::Ordering::SeqCst);
        self.done.notify_waiters();
    }
}

pub(super) struct ServiceRun {
    pub run: Arc<Run>,
    /// The service as this container is created (one replica of it: `ResolvedService::as_replica`).
    pub svc: ResolvedService,
    /// How it is shown: the service, or `service-n` for replica n.
    pub label: String,
    pub step: Step,
    pub deps: Vec<Dependency>,
    pub tx: watch::Sender<Reached>,
    /// Kept, but something that changes waits on it: probe it.
    pub probe_if_kept: bool,
    /// Ports the existing container published (kept across a Recreate).
    pub observed_ports: Vec<ObservedPort>,
}

impl ServiceRun {
    pub(super) async fn run(self) -> ServiceOutcome {
        // Whatever happens to the lead (failed, kept, interrupted), the
        // others never wait on it beyond its end.
        let _gate = LeadGuard(&self);
        let name = self.label.clone();
        let result = match self.step.kind {
            StepKind::Keep => self.keep().await,
            StepKind::RemoveOrphan | StepKind::Remove => Ok((None, 0)),
            _ => self.bring_up().await,
        };
        match &result {
            Ok(_) => {}
            Err(Failure::NotStarted { reason }) => {
                let _ = self.tx.send(Reached::NotStarted);
                self.run.ui.service(&name, Status::Skipped { reason: reason.clone() });
            }
            Err(Failure::Failed(e) | Failure::TimedOut(e)) => {
                let _ = self.tx.send(Reached::Failed);
                let _ = self.run.first_failure.set(name.clone());
                self.run.ui.service(&name, Status::Failed { error: e.to_string() });
            }
        }
        result
    }

    /// Running and unchanged. Probed only if something that changed waits on
    /// it; seed entries added to the file since the last `up` are applied now.
    async fn keep(&self) -> ServiceOutcome {
        let (docker, ui) = (&self.run.docker, &self.run.ui);
        if self.probe_if_kept
            && !self.svc.once
            && let Some(id) = &self.step.container
        {
            self.wait_ready(id, Instant::now()).await?;
        }
        let mut seeded = 0;
        if let (Some(id), false) = (&self.step.container, self.svc.seeds.is_empty()) {
            seeded = seeding::run(docker, id, &self.svc, seeding::Mode::Pending, ui).await?.applied;
        }
        let _ = self.tx.send(if self.svc.once { Reached::Completed } else { Reached::Healthy });
        if seeded == 0 {
            ui.service(&self.label, if self.svc.once { Status::CompletedUnchanged } else { Status::Unchanged });
        }
        Ok((self.step.container.clone(), seeded))
    }

    /// Create, Recreate or Start. Image and container are prepared while
    /// dependencies are still starting; only the start waits for them.
    async fn bring_up(&self) -> ServiceOutcome {
        let created = matches!(self.step.kind, StepKind::Create | StepKind::Recreate { .. });
        // `volumes_from` and `container:` namespaces name containers that must
        // exist when this one is created.
        let shares = [&self.svc.ipc_mode, &self.svc.pid_mode].iter().any(|m| m.as_deref().is_some_and(|m| m.starts_with("container:")));
        if created && (shares || !self.svc.volumes_from.is_empty()) {
            self.wait_for_dependencies().await?;
        }
        let id = if created { self.prepare_container().await? } else { self.step.container.clone().unwrap_or_default() };
        if let Err(e) = self.wait_for_dependencies().await {
            // Never started: leave nothing half-made behind.
            if created {
                let _ = self.run.docker.remove_container(&id).await;
            }
            return Err(e);
        }
        self.run.lead.wait(&self.label).await;
        let t0 = Instant::now();
        self.run.ui.service(&self.label, Status::Starting);
        let started = self.start(id).await;
        self.run.lead.release(&self.label);
        let id = started?;
        self.run.journal.started(&id);
        let _ = self.tx.send(Reached::Started);
        self.until_ready(id, t0).await
    }

    /// The image, then the new container (replacing the old one on Recreate).
    async fn prepare_container(&self) -> Result<String, Error> {
        let Run { docker, plan, ui, .. } = &*self.run;
        let name = &self.label;
        self.run.images.ensure(docker, &plan.project, &self.svc, ui).await?;
        if let (StepKind::Recreate { cause }, Some(old)) = (&self.step.kind, &self.step.container) {
            ui.service(name, Status::Recreating { cause: cause.clone() });
            // The service's stop_grace_period, else the old container's own stop timeout.
            docker.stop(old, self.svc.stop_grace_period).await?;
            docker.remove_container(old).await?;
        } else {
            ui.service(name, Status::Creating);
        }
        self.create(&self.svc).await
    }

    async fn create(&self, svc: &ResolvedService) -> Result<String, Error> {
        let host_ports = self.choose_host_ports()?;
        let id = container::create(&self.run.docker, &self.run.plan, svc, self.run.opts.owner, &host_ports, &self.run.network_ids).await?;
        self.run.journal.created(&id);
        Ok(id)
    }

    /// Start the container; returns its id (a new one when it had to be recreated).
    async fn start(&self, id: String) -> Result<String, Error> {
        let Run { docker, ui, .. } = &*self.run;
        let name = &self.label;
        match docker.start(&id, name).await {
            Ok(()) => Ok(id),
            Err(DockerError::RlimitRefused { .. }) if !self.svc.ulimits.is_empty() => {
                // The engine's own limits are lower than the preset asks (common in
                // rootless or sandboxed Docker): run with the engine's defaults.
                let asked: Vec<String> = self.svc.ulimits.iter().map(|(n, s, _)| format!("{n}={s}")).collect();
                ui.warn(format!(
                    "{name}: this Docker engine does not permit ulimits {}; starting with its defaults (raise dockerd's LimitNOFILE/LimitMEMLOCK to honour them)",
                    asked.join(", ")
                ));
                docker.remove_container(&id).await?;
                let mut relaxed = self.svc.clone();
                relaxed.ulimits.clear();
                let id = self.create(&relaxed).await?;
                docker.start(&id, name).await?;
                Ok(id)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Started: a job runs to its exit; a service becomes ready, then is seeded
    /// (after it is ready, before its dependents start).
    async fn until_ready(&self, id: String, t0: Instant) -> ServiceOutcome {
        let Run { docker, ui, .. } = &*self.run;
        let name = &self.label;
        if self.svc.once {
            let code = docker.wait_exit(&id).await?;
            if code == 0 {
                let _ = self.tx.send(Reached::Completed);
                ui.service(name, Status::Completed { elapsed_ms: t0.elapsed().as_millis() as u64 });
                return Ok((Some(id), 0));
            }
            let logs = self.failure_logs(&id).await;
            return Err(Failure::Failed(Error::Service {
                message: format!("one-shot job `{name}` exited with code {code}"),
                logs,
                hint: Some(format!("its last {FAILURE_LOG_LINES} log lines are above (`devenv logs {name}` shows all): fix `services.{}.command` or what it reads; the job did not complete, so the next `up` runs it again", self.svc.name)),
            }));
        }
        self.wait_ready(&id, t0).await?;
        ui.service(name, Status::Ready { elapsed_ms: t0.elapsed().as_millis() as u64 });
        let seeded = self.seed(&id).await?;
        let _ = self.tx.send(Reached::Healthy);
        Ok((Some(id), seeded))
    }

    /// Seed a ready service: a new volume is filled from its seeded snapshot
    /// when that pays, else the pending entries are applied; after the first
    /// seeding of a volume its seeded snapshot is kept (`engine::snapshot`).
    async fn seed(&self, id: &str) -> Result<usize, Failure> {
        let Run { docker, plan, ui, .. } = &*self.run;
        if snapshot::fill_from_seeded(docker, plan, &self.svc, id, ui).await? {
            self.wait_ready(id, Instant::now()).await?;
        }
        let t0 = Instant::now();
        let report = seeding::run(docker, id, &self.svc, seeding::Mode::Pending, ui).await?;
        if snapshot::first_seeding(&self.svc, &report) {
            let kept = snapshot::keep_seeded(docker, plan, &self.svc, id, t0.elapsed(), ui).await;
            if kept.in_server
                && let Ok(mut k) = self.run.kept.lock()
            {
                k.push(self.svc.name.clone());
            }
            if kept.restarted {
                self.wait_ready(id, Instant::now()).await?;
            }
        }
        Ok(report.applied)
    }

    /// Wait until every dependency reached its condition. Not started when one
    /// cannot, or when another service failed while this one still waited: after
    /// a failure only what is already starting runs on (to its own deadline), so
    /// the run ends without waiting a full timeout again.
    async fn wait_for_dependencies(&self) -> Result<(), Failure> {
        let waited = self.wait_for_each_dependency().await?;
        match self.run.first_failure.get() {
            Some(first) if waited => Err(Failure::NotStarted { reason: format!("`{first}` failed; nothing new is started after a failure") }),
            _ => Ok(()),
        }
    }

    /// Whether it had to wait (a dependency was not there yet).
    async fn wait_for_each_dependency(&self) -> Result<bool, Failure> {
        if self.deps.is_empty() {
            return Ok(false);
        }
        let ui = &self.run.ui;
        let mut waited = false;
        let mut pending: Vec<String> = self.deps.iter().map(|d| d.service.clone()).collect();
        ui.service(&self.label, Status::Waiting { on: pending.clone() });
        for Dependency { service: dep, condition: cond, once, reached } in &self.deps {
            let mut rx = reached.clone();
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
                ui.service(&self.label, Status::Waiting { on: pending.clone() });
            }
        }
        Ok(waited)
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
        let name = &self.label;
        self.run.docker.tail_logs(id, FAILURE_LOG_LINES).await.into_iter().map(|l| format!("{name} | {l}")).collect()
    }

    async fn wait_ready(&self, id: &str, t0: Instant) -> Result<(), Failure> {
        let name = &self.label;
        let health: Option<ResolvedHealth> = match &self.svc.health {
            Some(h) => Some(h.clone()),
            None => {
                let info = self.run.docker.inspect(id).await?;
                info.has_healthcheck.then(|| ResolvedHealth {
                    probe: Probe::DockerHealthcheck,
                    interval: Duration::from_millis(100),
                    timeout: self.run.opts.ready_timeout,
                    retries: None,
                    start_period: None,
                })
            }
        };
        self.run.ui.service(name, Status::Probing { probe: health::describe(health.as_ref()) });
        match health::wait_ready_traced(&self.run.docker, id, health.as_ref(), self.run.opts.ready_timeout).await {
            Ok(t) => {
                let (probes, first_answer_ms, answered_by) = (t.probes, t.first_answer.as_millis() as u64, t.answered_by.to_string());
                self.run.ui.service(name, Status::Probed { probes, first_answer_ms, answered_by });
                Ok(())
            }
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
                    hint: Some(format!("check the credentials in `services.{}.env`", self.svc.name)),
                }))
            }
            Err(health::NotReady::Timeout { last_error, after }) => {
                let logs = self.failure_logs(id).await;
                Err(Failure::TimedOut(Error::Service {
                    message: format!("`{name}` was not ready after {}: {last_error}", crate::config::format_duration(after)),
                    logs,
                    hint: Some(format!("raise `services.{}.health.timeout` if it is just slow, or check the probe; `devenv logs {name}` shows its output", self.svc.name)),
                }))
            }
        }
    }

}
