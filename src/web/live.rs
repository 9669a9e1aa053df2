//! The live view of one project: its containers found by label (listed again
//! on each of Docker's events about them, and every second anyway — every
//! 250 ms while the event stream is down — so it works for an environment
//! started by another terminal, and survives `down` and `up`), each running
//! container's readiness (devenv's own probe of its service, checked again
//! every few seconds once ready), each seeded service's seed ledger and
//! seeded snapshot, the status file of a watch running on the project, and
//! the page's view of all that (`View`, sent as JSON).
//! Must not: print, or change anything in Docker (actions are in `web/act.rs`).

use std::collections::{BTreeMap, HashMap};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{Stream, StreamExt};
use serde::Serialize;
use tokio::sync::{watch, Notify};

use crate::docker::{Docker, DockerError};
use crate::engine::health::{self, NotReady};
use crate::engine::seeding::{self, LedgerEntry};
use crate::engine::snapshot::{self, SnapshotInfo};
use crate::engine::vars::{env_name, host_side};
use crate::observe::{ContainerState, ObservedContainer};
use crate::plan::Plan;
use crate::ui::mask::{self, Secrets};
use crate::watch::status::{self as watch_status, LastSync, WatchStatus};

/// How often Docker is asked for the project's containers while its event stream is down.
pub const POLL: Duration = Duration::from_millis(250);
/// … and while it is up (events make it list them at once).
pub const POLL_WITH_EVENTS: Duration = Duration::from_secs(1);
/// After an event, Docker's container list can lag it (a `die` is sent
/// before the list says `exited`, measured ~0.8 s on engine 20.10): for this
/// long after one, the list is read every `SETTLE_POLL`.
const SETTLE: Duration = Duration::from_millis(1500);
const SETTLE_POLL: Duration = Duration::from_millis(100);
/// A failed probe is tried again after this long.
const RETRY_FAILED: Duration = Duration::from_secs(5);
/// A ready container is checked again after this long.
pub const RECHECK_READY: Duration = Duration::from_secs(5);
/// Seed ledgers and seeded snapshots are read again after this long (or at once after an action).
const SEEDS_EVERY: Duration = Duration::from_secs(5);

/// The readiness of one running container, by container id.
#[derive(Debug, Clone, PartialEq)]
pub enum Probe {
    Probing { since: Instant },
    /// `ms`: how long the probe took to see it ready; `checked`: when it last passed.
    Ready { ms: u64, checked: Instant },
    Failed { error: String, at: Instant },
}

/// What the live view knows besides the containers.
#[derive(Debug, Default, Clone)]
pub struct Known {
    /// Readiness by container id.
    pub probes: HashMap<String, Probe>,
    /// The seed ledger read from each running seeded container (by id), or why it could not be.
    pub ledgers: HashMap<String, Result<BTreeMap<String, LedgerEntry>, String>>,
    /// The project's seeded snapshots.
    pub seeded: Vec<SnapshotInfo>,
    /// The watch running on the project, if one does.
    pub watch: Option<WatchStatus>,
}

/// What the page shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct View {
    pub project: String,
    /// The environment file, when it loaded (else the view is from labels only).
    pub file: Option<String>,
    /// Why Docker could not be read, if it could not.
    pub error: Option<String>,
    pub services: Vec<ServiceView>,
    /// A `devenv watch` / `up --watch` running on the project (its status file).
    pub watch: Option<WatchView>,
}

/// The watch running on the project.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WatchView {
    pub pid: u32,
    pub started_at: String,
    pub services: Vec<String>,
}

/// A seeded service's seeds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeedView {
    /// Each `seed:` entry, and whether (when, how much) it was applied to this volume.
    pub entries: Vec<SeedEntryView>,
    /// Whether the ledger was read (only from a running container).
    pub known: bool,
    /// Why the ledger could not be read.
    pub error: Option<String>,
    /// When the seeded snapshot `devenv reset` goes back to was kept (None: there is none).
    pub snapshot_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeedEntryView {
    /// `sql seeds/schema.sql`, `topic trades`…
    pub id: String,
    /// RFC 3339; None: not applied to this volume.
    pub applied_at: Option<String>,
    pub count: Option<u64>,
    pub unit: Option<String>,
}

/// One service's card.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceView {
    pub name: String,
    /// Docker's state of its container, or `absent`.
    pub state: String,
    /// Docker's words without their clock ("Up (healthy)", "Exited (137)"), so the view changes only when the state does.
    pub status: String,
    /// `ready`, `probing`, `failed`, `down`, `completed` (a one-shot job that exited 0),
    /// `created` (its container not started yet: `up` waits for its dependencies) or `absent`.
    pub health: String,
    /// Which probe decides readiness.
    pub probe: String,
    /// How long the last probe took to see it ready.
    pub probe_ms: Option<u64>,
    pub probe_error: Option<String>,
    /// `HOST:PORT->PORT/PROTO`.
    pub ports: Vec<String>,
    /// The host-side connection URL, password masked (`GET /api/url` reveals it).
    pub url: Option<String>,
    pub url_masked: bool,
    pub image: String,
    /// Built from a Dockerfile (else pulled).
    pub build: bool,
    pub depends_on: Vec<String>,
    /// Seed entries of the service.
    pub seeds: usize,
    /// Its seeds' status (services with `seed:` entries).
    pub seed: Option<SeedView>,
    /// `action path` of each watch rule.
    pub watch: Vec<String>,
    /// Followed by the watch running on the project.
    pub watched: bool,
    /// What that watch last did to it.
    pub last_sync: Option<LastSync>,
    pub oneshot: bool,
}

/// The service's host-side URL, unmasked (what `devenv env` prints).
pub fn url_of(plan: Option<&Plan>, service: &str, observed: &[ObservedContainer]) -> Option<String> {
    host_side(plan?, observed).get(&format!("DEVENV_{}_URL", env_name(service))).cloned()
}

/// The view of `observed` (+ the plan's services that have no container) with what else is known.
pub fn view(project: &str, plan: Option<&Plan>, observed: &[ObservedContainer], known: &Known) -> View {
    let mut names: Vec<String> = plan.map(|p| p.services.keys().cloned().collect()).unwrap_or_default();
    for c in observed {
        let name = c.service.clone().unwrap_or_else(|| c.name.clone());
        if !names.contains(&name) {
            names.push(name);
        }
    }
    let services = names.into_iter().map(|name| service_view(name, plan, observed, known)).collect();
    let watch = known.watch.as_ref().map(|w| WatchView { pid: w.pid, started_at: w.started_at.clone(), services: w.services.clone() });
    View { project: project.to_string(), file: plan.map(|p| p.file.display().to_string()), error: None, services, watch }
}

fn service_view(name: String, plan: Option<&Plan>, observed: &[ObservedContainer], known: &Known) -> ServiceView {
    let svc = plan.and_then(|p| p.services.get(&name));
    let c = observed.iter().find(|c| c.service.as_deref().unwrap_or(&c.name) == name);
    let (health, probe_ms, probe_error) = match c {
        None => ("absent".to_string(), None, None),
        Some(c) if c.state == ContainerState::Created => ("created".to_string(), None, None),
        Some(c) if c.state != ContainerState::Running => {
            let ok_job = c.oneshot && c.status.starts_with("Exited (0)");
            ((if ok_job { "completed" } else { "down" }).to_string(), None, None)
        }
        Some(c) => match known.probes.get(&c.id) {
            Some(Probe::Ready { ms, .. }) => ("ready".to_string(), Some(*ms), None),
            Some(Probe::Failed { error, .. }) => ("failed".to_string(), None, Some(error.clone())),
            Some(Probe::Probing { .. }) | None => ("probing".to_string(), None, None),
        },
    };
    let url = url_of(plan, &name, observed);
    let masked = url.as_deref().map(mask::mask_url_passwords);
    ServiceView {
        state: c.map_or("absent", |c| c.state.as_str()).to_string(),
        status: c.map(|c| steady_status(&c.status)).unwrap_or_default(),
        health,
        probe: health::describe(svc.and_then(|s| s.health.as_ref())),
        probe_ms,
        probe_error,
        ports: c.map(|c| c.ports.iter().map(|p| format!("{}:{}->{}/{}", if p.host_ip.is_empty() { "0.0.0.0" } else { &p.host_ip }, p.host_port, p.container_port, p.protocol)).collect()).unwrap_or_default(),
        url_masked: masked.is_some() && masked != url,
        url: masked,
        image: c.map(|c| c.image.clone()).or_else(|| svc.map(|s| s.image.clone())).unwrap_or_default(),
        build: svc.is_some_and(|s| s.build.is_some()),
        depends_on: svc.map(|s| s.depends_on.keys().cloned().collect()).unwrap_or_default(),
        seeds: svc.map_or(0, |s| s.seeds.len()),
        seed: svc.filter(|s| !s.seeds.is_empty()).map(|s| seed_view(s, c, known)),
        watch: svc.map(|s| s.watch.iter().map(|w| format!("{} {}", w.action, w.path.display())).collect()).unwrap_or_default(),
        watched: known.watch.as_ref().is_some_and(|w| w.services.contains(&name)),
        last_sync: known.watch.as_ref().and_then(|w| w.last.get(&name).cloned()),
        oneshot: svc.is_some_and(|s| s.once) || c.is_some_and(|c| c.oneshot),
        name,
    }
}

/// The seeds of `svc` as its running container's ledger records them.
fn seed_view(svc: &crate::plan::ResolvedService, c: Option<&ObservedContainer>, known: &Known) -> SeedView {
    let ledger = c.filter(|c| c.state == ContainerState::Running).and_then(|c| known.ledgers.get(&c.id));
    let applied = ledger.and_then(|l| l.as_ref().ok());
    let entries = svc
        .seeds
        .iter()
        .map(|s| {
            let done = applied.and_then(|l| l.get(&s.id));
            SeedEntryView { id: s.id.clone(), applied_at: done.map(|d| d.applied_at.clone()), count: done.map(|d| d.count), unit: done.map(|d| d.unit.clone()) }
        })
        .collect();
    let snapshot_at = known.seeded.iter().find(|i| i.name == snapshot::seeded_name(&svc.name)).map(|i| i.created_at.clone());
    SeedView { entries, known: applied.is_some(), error: ledger.and_then(|l| l.as_ref().err().cloned()), snapshot_at }
}

/// The shared live state: the last containers seen, what else is known, and the view sent to pages.
pub struct Live {
    pub project: String,
    pub plan: Option<Plan>,
    pub docker: Docker,
    secrets: Secrets,
    pub containers: Mutex<Vec<ObservedContainer>>,
    known: Arc<Mutex<Known>>,
    pub view: watch::Sender<Arc<View>>,
    /// Wakes the loop at once (after an action); `seeds_due` makes it read the seeds too.
    wake: Notify,
    seeds_due: AtomicBool,
}

/// Docker's events about the project's containers, while the stream is up.
type Events = Pin<Box<dyn Stream<Item = Result<String, DockerError>> + Send>>;

impl Live {
    pub fn new(project: String, plan: Option<Plan>, docker: Docker, secrets: Secrets) -> Arc<Live> {
        let empty = View { project: project.clone(), file: None, error: None, services: Vec::new(), watch: None };
        let (view, _) = watch::channel(Arc::new(empty));
        Arc::new(Live { project, plan, docker, secrets, containers: Mutex::default(), known: Arc::default(), view, wake: Notify::new(), seeds_due: AtomicBool::new(true) })
    }

    /// The container of `service` seen last.
    pub fn container_of(&self, service: &str) -> Option<ObservedContainer> {
        self.containers.lock().ok()?.iter().find(|c| c.service.as_deref() == Some(service)).cloned()
    }

    /// Forget a container's readiness (it is probed again once running).
    pub fn forget_probe(&self, id: &str) {
        if let Ok(mut k) = self.known.lock() {
            k.probes.remove(id);
        }
    }

    /// Look again now, seeds included (after an action).
    pub fn refresh_soon(&self) {
        self.seeds_due.store(true, Ordering::SeqCst);
        self.wake.notify_one();
    }

    /// Follow Docker forever, updating the view: on each event about the
    /// project's containers (then every `SETTLE_POLL` for a while), on
    /// `refresh_soon`, and every `POLL_WITH_EVENTS` (`POLL` while the event
    /// stream is down; it is opened again each second).
    pub async fn run(self: Arc<Self>) {
        let mut events: Option<Events> = None;
        let mut events_retry = Instant::now();
        let mut seeds_at: Option<Instant> = None;
        let mut settle_until = Instant::now();
        loop {
            if events.is_none() && Instant::now() >= events_retry {
                events = Some(Box::pin(self.docker.container_events(&self.project)));
            }
            let seeds = self.seeds_due.swap(false, Ordering::SeqCst) || seeds_at.is_none_or(|t| t.elapsed() >= SEEDS_EVERY);
            self.poll_once(seeds).await;
            if seeds {
                seeds_at = Some(Instant::now());
            }
            let wait = if Instant::now() < settle_until {
                SETTLE_POLL
            } else if events.is_some() {
                POLL_WITH_EVENTS
            } else {
                POLL
            };
            tokio::select! {
                _ = self.wake.notified() => settle_until = Instant::now() + SETTLE,
                ev = next_event(&mut events) => if matches!(ev, Some(Ok(_))) {
                    settle_until = Instant::now() + SETTLE;
                } else {
                    events = None;
                    events_retry = Instant::now() + Duration::from_secs(1);
                },
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    async fn poll_once(&self, seeds: bool) {
        let observed = match self.docker.project_containers(&self.project).await {
            Ok(c) => c,
            Err(e) => {
                let mut v = (**self.view.borrow()).clone();
                v.error = Some(e.to_string());
                self.publish(v);
                return;
            }
        };
        if seeds {
            self.read_seeds(&observed).await;
        }
        let mut known = self.start_probes(&observed);
        known.watch = watch_status::read(&self.project).map(|mut w| {
            for l in w.last.values_mut() {
                l.what = self.secrets.mask(&l.what);
            }
            w
        });
        let v = view(&self.project, self.plan.as_ref(), &observed, &known);
        if let Ok(mut c) = self.containers.lock() {
            *c = observed;
        }
        self.publish(v);
    }

    /// Each running seeded container's ledger, and the project's seeded snapshots.
    async fn read_seeds(&self, observed: &[ObservedContainer]) {
        let Some(plan) = &self.plan else { return };
        let mut ledgers = HashMap::new();
        for c in observed.iter().filter(|c| c.state == ContainerState::Running) {
            let Some(svc) = c.service.as_ref().and_then(|s| plan.services.get(s)).filter(|s| !s.seeds.is_empty()) else { continue };
            let read = seeding::read_ledger(&self.docker, &c.id, svc).await.map(|l| l.entries).map_err(|e| self.secrets.mask(&e.to_string()));
            ledgers.insert(c.id.clone(), read);
        }
        let seeded = snapshot::seeded(&self.docker, &self.project).await.unwrap_or_default();
        if let Ok(mut k) = self.known.lock() {
            k.ledgers = ledgers;
            k.seeded = seeded;
        }
    }

    fn publish(&self, v: View) {
        self.view.send_if_modified(|cur| {
            let changed = **cur != v;
            if changed {
                *cur = Arc::new(v);
            }
            changed
        });
    }

    /// Drop the results of containers no longer running; start a probe for
    /// each running container without one (or whose failure is old), check
    /// again those ready for a while. Returns what is known.
    fn start_probes(&self, observed: &[ObservedContainer]) -> Known {
        let Ok(mut known) = self.known.lock() else { return Known::default() };
        known.probes.retain(|id, _| observed.iter().any(|c| &c.id == id && c.state == ContainerState::Running));
        for c in observed.iter().filter(|c| c.state == ContainerState::Running) {
            match known.probes.get_mut(&c.id) {
                None => self.spawn_probe(&mut known.probes, c),
                Some(Probe::Failed { at, .. }) if at.elapsed() >= RETRY_FAILED => self.spawn_probe(&mut known.probes, c),
                Some(Probe::Ready { checked, .. }) if checked.elapsed() >= RECHECK_READY => {
                    *checked = Instant::now();
                    self.spawn_recheck(c, *checked);
                }
                Some(_) => {}
            }
        }
        known.clone()
    }

    fn health_of(&self, c: &ObservedContainer) -> Option<crate::plan::ResolvedHealth> {
        c.service.as_ref().and_then(|s| self.plan.as_ref()?.services.get(s)?.health.clone())
    }

    fn spawn_probe(&self, probes: &mut HashMap<String, Probe>, c: &ObservedContainer) {
        let start = Instant::now();
        probes.insert(c.id.clone(), Probe::Probing { since: start });
        let health = self.health_of(c);
        let (docker, known, id) = (self.docker.clone(), self.known.clone(), c.id.clone());
        tokio::spawn(async move {
            let result = health::wait_ready(&docker, &id, health.as_ref(), crate::plan::resolve::DEFAULT_READY_TIMEOUT).await;
            let probe = match result {
                Ok(()) => Probe::Ready { ms: start.elapsed().as_millis() as u64, checked: Instant::now() },
                Err(e) => Probe::Failed { error: not_ready_text(&e), at: Instant::now() },
            };
            if let Ok(mut k) = known.lock() {
                // Only if nobody forgot it meanwhile (a restart starts a new probe).
                if matches!(k.probes.get(&id), Some(Probe::Probing { since }) if *since == start) {
                    k.probes.insert(id, probe);
                }
            }
        });
    }

    /// One check of a container that was ready: failed when it fails.
    fn spawn_recheck(&self, c: &ObservedContainer, checked: Instant) {
        let health = self.health_of(c);
        let (docker, known, id) = (self.docker.clone(), self.known.clone(), c.id.clone());
        tokio::spawn(async move {
            let Err(error) = health::check_once(&docker, &id, health.as_ref()).await else { return };
            if let Ok(mut k) = known.lock() {
                if matches!(k.probes.get(&id), Some(Probe::Ready { checked: c, .. }) if *c == checked) {
                    k.probes.insert(id, Probe::Failed { error: format!("was ready, then: {error}"), at: Instant::now() });
                }
            }
        });
    }
}

/// The next event, or never when the stream is down.
async fn next_event(events: &mut Option<Events>) -> Option<Result<String, DockerError>> {
    match events {
        Some(s) => s.next().await,
        None => std::future::pending().await,
    }
}

/// Docker's status without "3 minutes" / "2 seconds ago": `Up 3 minutes (healthy)` → `Up (healthy)`.
pub fn steady_status(status: &str) -> String {
    const UNITS: &[&str] = &["second", "seconds", "minute", "minutes", "hour", "hours", "day", "days", "week", "weeks", "month", "months", "year", "years"];
    let words: Vec<&str> = status.split(' ').collect();
    let mut out: Vec<&str> = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        let amount = w.chars().all(|c| c.is_ascii_digit()) && !w.is_empty() || matches!(w, "About" | "Less" | "an" | "a" | "than");
        if amount {
            i += 1;
            continue;
        }
        if UNITS.contains(&w) || w == "ago" {
            i += 1;
            continue;
        }
        out.push(w);
        i += 1;
    }
    out.join(" ")
}

fn not_ready_text(e: &NotReady) -> String {
    match e {
        NotReady::Exited { code, oom } => format!("exited{}{}", code.map(|c| format!(" with code {c}")).unwrap_or_default(), if *oom { " (out of memory)" } else { "" }),
        NotReady::Timeout { last_error, after } => format!("not ready after {}s: {last_error}", after.as_secs()),
        NotReady::Fatal { error } => error.clone(),
        NotReady::Docker(e) => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::ObservedPort;

    fn container(service: &str, state: ContainerState, status: &str) -> ObservedContainer {
        ObservedContainer {
            id: format!("id-{service}"),
            name: format!("p-{service}"),
            service: Some(service.into()),
            config_hash: None,
            image: "img:1".into(),
            image_id: "sha256:x".into(),
            state,
            status: status.into(),
            health: None,
            ports: vec![ObservedPort { host_ip: "127.0.0.1".into(), host_port: 15432, container_port: 5432, protocol: "tcp".into() }],
            created: 0,
            oneshot: false,
            owner: None,
            project: "p".into(),
            replica: None,
        }
    }

    #[test]
    fn status_without_its_clock() {
        assert_eq!(steady_status("Up 3 minutes (healthy)"), "Up (healthy)");
        assert_eq!(steady_status("Up Less than a second"), "Up");
        assert_eq!(steady_status("Up About an hour"), "Up");
        assert_eq!(steady_status("Exited (137) 2 seconds ago"), "Exited (137)");
        assert_eq!(steady_status("Created"), "Created");
    }

    #[test]
    fn health_from_state_and_probe() {
        let observed = vec![
            container("db", ContainerState::Running, "Up 2 seconds"),
            container("api", ContainerState::Running, "Up 1 second"),
            container("worker", ContainerState::Exited, "Exited (137) 1 second ago"),
            container("new", ContainerState::Running, "Up 1 second"),
            container("later", ContainerState::Created, "Created"),
        ];
        let mut known = Known::default();
        known.probes.insert("id-db".to_string(), Probe::Ready { ms: 42, checked: Instant::now() });
        known.probes.insert("id-api".to_string(), Probe::Failed { error: "connection refused".into(), at: Instant::now() });
        let v = view("p", None, &observed, &known);
        let by = |n: &str| v.services.iter().find(|s| s.name == n).unwrap().clone();
        assert_eq!((by("db").health.as_str(), by("db").probe_ms), ("ready", Some(42)));
        assert_eq!(by("api").health, "failed");
        assert_eq!(by("api").probe_error.as_deref(), Some("connection refused"));
        assert_eq!((by("worker").health.as_str(), by("worker").status.as_str()), ("down", "Exited (137)"));
        assert_eq!(by("new").health, "probing");
        assert_eq!(by("later").health, "created", "created, not started yet: not `down`");
        assert_eq!(by("db").ports, vec!["127.0.0.1:15432->5432/tcp".to_string()]);
        assert_eq!(v.file, None);
    }

    #[test]
    fn a_job_that_exited_0_is_completed() {
        let mut c = container("migrate", ContainerState::Exited, "Exited (0) 3 seconds ago");
        c.oneshot = true;
        let v = view("p", None, &[c], &Known::default());
        assert_eq!(v.services[0].health, "completed");
        assert!(v.services[0].oneshot);
    }

    #[test]
    fn seed_status_snapshot_and_last_sync_on_the_card() {
        let plan = crate::plan::plan_of(
            "name: p\nservices:\n  db:\n    image: img:1\n    seed:\n      - exec: [\"true\"]\n      - exec: [sh, -c, \"echo b\"]\n  api:\n    image: img:1\n",
        );
        let ids: Vec<String> = plan.services["db"].seeds.iter().map(|s| s.id.clone()).collect();
        let c = container("db", ContainerState::Running, "Up 2 seconds");
        let mut known = Known::default();
        let entry = LedgerEntry { hash: "h".into(), applied_at: "2026-12-03T10:00:00Z".into(), count: 1, unit: "commands".into() };
        known.ledgers.insert(c.id.clone(), Ok([(ids[0].clone(), entry)].into_iter().collect()));
        let v = view("p", Some(&plan), std::slice::from_ref(&c), &known);
        let db = v.services.iter().find(|s| s.name == "db").unwrap();
        let seed = db.seed.as_ref().expect("db has seeds");
        assert!(seed.known && seed.error.is_none());
        assert_eq!((seed.entries[0].applied_at.as_deref(), seed.entries[0].count), (Some("2026-12-03T10:00:00Z"), Some(1)));
        assert_eq!(seed.entries[1].applied_at, None, "the second entry is not applied");
        assert_eq!(seed.snapshot_at, None, "no seeded snapshot: reset is not offered");
        assert!(!db.watched && db.last_sync.is_none());
        assert!(v.services.iter().find(|s| s.name == "api").unwrap().seed.is_none(), "no seeds, no seed status");

        // A seeded snapshot, and a watch that synced db.
        known.seeded.push(SnapshotInfo { name: snapshot::seeded_name("db"), created_at: "2026-12-03T10:00:01Z".into(), services: Default::default(), size_kib: 0, devenv_version: "x".into() });
        let last = LastSync { at: "2026-12-03T10:05:00Z".into(), ok: true, what: "db: synced 1 file in 3 ms".into() };
        known.watch = Some(WatchStatus { pid: 7, started_at: "2026-12-03T10:04:00Z".into(), services: vec!["db".into()], last: [("db".to_string(), last.clone())].into_iter().collect() });
        let v = view("p", Some(&plan), std::slice::from_ref(&c), &known);
        let db = v.services.iter().find(|s| s.name == "db").unwrap();
        assert_eq!(db.seed.as_ref().unwrap().snapshot_at.as_deref(), Some("2026-12-03T10:00:01Z"));
        assert!(db.watched);
        assert_eq!(db.last_sync.as_ref(), Some(&last));
        assert_eq!(v.watch.as_ref().map(|w| w.pid), Some(7));

        // Stopped: the ledger is not known (it is read from the running container only).
        let stopped = container("db", ContainerState::Exited, "Exited (0)");
        let v = view("p", Some(&plan), &[stopped], &known);
        let seed = v.services.iter().find(|s| s.name == "db").unwrap().seed.clone().unwrap();
        assert!(!seed.known && seed.entries.iter().all(|e| e.applied_at.is_none()));
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(json["services"][0]["seed"]["entries"].as_array().map(Vec::len), Some(2), "{json}");
    }

    #[test]
    fn view_serializes_as_the_page_reads_it() {
        let v = view("p", None, &[container("db", ContainerState::Running, "Up 2 seconds")], &Known::default());
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(json["project"], "p");
        assert_eq!(json["services"][0]["name"], "db");
        assert_eq!(json["services"][0]["health"], "probing");
        assert_eq!(json["services"][0]["state"], "running");
        assert_eq!(json["services"][0]["url"], serde_json::Value::Null);
        assert!(json["services"][0]["depends_on"].as_array().unwrap().is_empty());
    }
}
