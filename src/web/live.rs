//! The live view of one project: its containers found by label (polled, so it
//! works for an environment started by another terminal, and survives `down`
//! and `up`), each running container's readiness (devenv's own probe of its
//! service), and the page's view of all that (`View`, sent as JSON).
//! Must not: print, or change anything in Docker (actions are in `web/act.rs`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::watch;

use crate::docker::Docker;
use crate::engine::health::{self, NotReady};
use crate::engine::vars::{env_name, host_side};
use crate::observe::{ContainerState, ObservedContainer};
use crate::plan::Plan;
use crate::ui::mask;

/// How often Docker is asked for the project's containers.
pub const POLL: Duration = Duration::from_millis(250);
/// A failed probe is tried again after this long.
const RETRY_FAILED: Duration = Duration::from_secs(5);

/// The readiness of one running container, by container id.
#[derive(Debug, Clone, PartialEq)]
pub enum Probe {
    Probing { since: Instant },
    Ready { ms: u64 },
    Failed { error: String, at: Instant },
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
}

/// One service's card.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceView {
    pub name: String,
    /// Docker's state of its container, or `absent`.
    pub state: String,
    /// Docker's words without their clock ("Up (healthy)", "Exited (137)"), so the view changes only when the state does.
    pub status: String,
    /// `ready`, `probing`, `failed`, `down`, `completed` (a one-shot job that exited 0) or `absent`.
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
    /// `action path` of each watch rule.
    pub watch: Vec<String>,
    pub oneshot: bool,
}

/// The service's host-side URL, unmasked (what `devenv env` prints).
pub fn url_of(plan: Option<&Plan>, service: &str, observed: &[ObservedContainer]) -> Option<String> {
    host_side(plan?, observed).get(&format!("DEVENV_{}_URL", env_name(service))).cloned()
}

/// The view of `observed` (+ the plan's services that have no container) with these probe results.
pub fn view(project: &str, plan: Option<&Plan>, observed: &[ObservedContainer], probes: &HashMap<String, Probe>) -> View {
    let mut names: Vec<String> = plan.map(|p| p.services.keys().cloned().collect()).unwrap_or_default();
    for c in observed {
        let name = c.service.clone().unwrap_or_else(|| c.name.clone());
        if !names.contains(&name) {
            names.push(name);
        }
    }
    let services = names.into_iter().map(|name| service_view(name, plan, observed, probes)).collect();
    View { project: project.to_string(), file: plan.map(|p| p.file.display().to_string()), error: None, services }
}

fn service_view(name: String, plan: Option<&Plan>, observed: &[ObservedContainer], probes: &HashMap<String, Probe>) -> ServiceView {
    let svc = plan.and_then(|p| p.services.get(&name));
    let c = observed.iter().find(|c| c.service.as_deref().unwrap_or(&c.name) == name);
    let (health, probe_ms, probe_error) = match c {
        None => ("absent".to_string(), None, None),
        Some(c) if c.state != ContainerState::Running => {
            let ok_job = c.oneshot && c.status.starts_with("Exited (0)");
            ((if ok_job { "completed" } else { "down" }).to_string(), None, None)
        }
        Some(c) => match probes.get(&c.id) {
            Some(Probe::Ready { ms }) => ("ready".to_string(), Some(*ms), None),
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
        watch: svc.map(|s| s.watch.iter().map(|w| format!("{} {}", w.action, w.path.display())).collect()).unwrap_or_default(),
        oneshot: svc.is_some_and(|s| s.once) || c.is_some_and(|c| c.oneshot),
        name,
    }
}

/// The shared live state: the last containers seen, probe results, and the view sent to pages.
pub struct Live {
    pub project: String,
    pub plan: Option<Plan>,
    pub docker: Docker,
    pub containers: Mutex<Vec<ObservedContainer>>,
    pub probes: Arc<Mutex<HashMap<String, Probe>>>,
    pub view: watch::Sender<Arc<View>>,
}

impl Live {
    pub fn new(project: String, plan: Option<Plan>, docker: Docker) -> Arc<Live> {
        let empty = View { project: project.clone(), file: None, error: None, services: Vec::new() };
        let (view, _) = watch::channel(Arc::new(empty));
        Arc::new(Live { project, plan, docker, containers: Mutex::default(), probes: Arc::default(), view })
    }

    /// The container of `service` seen last.
    pub fn container_of(&self, service: &str) -> Option<ObservedContainer> {
        self.containers.lock().ok()?.iter().find(|c| c.service.as_deref() == Some(service)).cloned()
    }

    /// Forget a container's readiness (it is probed again once running).
    pub fn forget_probe(&self, id: &str) {
        if let Ok(mut p) = self.probes.lock() {
            p.remove(id);
        }
    }

    /// Poll Docker forever, updating the view.
    pub async fn run(self: Arc<Self>) {
        loop {
            self.poll_once().await;
            tokio::time::sleep(POLL).await;
        }
    }

    async fn poll_once(&self) {
        let observed = match self.docker.project_containers(&self.project).await {
            Ok(c) => c,
            Err(e) => {
                let mut v = (**self.view.borrow()).clone();
                v.error = Some(e.to_string());
                self.publish(v);
                return;
            }
        };
        let probes = self.start_probes(&observed);
        let v = view(&self.project, self.plan.as_ref(), &observed, &probes);
        if let Ok(mut c) = self.containers.lock() {
            *c = observed;
        }
        self.publish(v);
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
    /// each running container without one (or whose failure is old). Returns the results.
    fn start_probes(&self, observed: &[ObservedContainer]) -> HashMap<String, Probe> {
        let Ok(mut probes) = self.probes.lock() else { return HashMap::new() };
        probes.retain(|id, _| observed.iter().any(|c| &c.id == id && c.state == ContainerState::Running));
        for c in observed.iter().filter(|c| c.state == ContainerState::Running) {
            let stale = match probes.get(&c.id) {
                None => true,
                Some(Probe::Failed { at, .. }) => at.elapsed() >= RETRY_FAILED,
                Some(_) => false,
            };
            if stale {
                probes.insert(c.id.clone(), Probe::Probing { since: Instant::now() });
                self.spawn_probe(c);
            }
        }
        probes.clone()
    }

    fn spawn_probe(&self, c: &ObservedContainer) {
        let health = c.service.as_ref().and_then(|s| self.plan.as_ref()?.services.get(s)?.health.clone());
        let (docker, probes, id) = (self.docker.clone(), self.probes.clone(), c.id.clone());
        tokio::spawn(async move {
            let start = Instant::now();
            let result = health::wait_ready(&docker, &id, health.as_ref(), crate::plan::resolve::DEFAULT_READY_TIMEOUT).await;
            let probe = match result {
                Ok(()) => Probe::Ready { ms: start.elapsed().as_millis() as u64 },
                Err(e) => Probe::Failed { error: not_ready_text(&e), at: Instant::now() },
            };
            if let Ok(mut p) = probes.lock() {
                // Only if nobody forgot it meanwhile (a restart starts a new probe).
                if matches!(p.get(&id), Some(Probe::Probing { since }) if *since <= start) {
                    p.insert(id, probe);
                }
            }
        });
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
        ];
        let mut probes = HashMap::new();
        probes.insert("id-db".to_string(), Probe::Ready { ms: 42 });
        probes.insert("id-api".to_string(), Probe::Failed { error: "connection refused".into(), at: Instant::now() });
        let v = view("p", None, &observed, &probes);
        let by = |n: &str| v.services.iter().find(|s| s.name == n).unwrap().clone();
        assert_eq!((by("db").health.as_str(), by("db").probe_ms), ("ready", Some(42)));
        assert_eq!(by("api").health, "failed");
        assert_eq!(by("api").probe_error.as_deref(), Some("connection refused"));
        assert_eq!((by("worker").health.as_str(), by("worker").status.as_str()), ("down", "Exited (137)"));
        assert_eq!(by("new").health, "probing");
        assert_eq!(by("db").ports, vec!["127.0.0.1:15432->5432/tcp".to_string()]);
        assert_eq!(v.file, None);
    }

    #[test]
    fn a_job_that_exited_0_is_completed() {
        let mut c = container("migrate", ContainerState::Exited, "Exited (0) 3 seconds ago");
        c.oneshot = true;
        let v = view("p", None, &[c], &HashMap::new());
        assert_eq!(v.services[0].health, "completed");
        assert!(v.services[0].oneshot);
    }

    #[test]
    fn view_serializes_as_the_page_reads_it() {
        let v = view("p", None, &[container("db", ContainerState::Running, "Up 2 seconds")], &HashMap::new());
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(json["project"], "p");
        assert_eq!(json["services"][0]["name"], "db");
        assert_eq!(json["services"][0]["health"], "probing");
        assert_eq!(json["services"][0]["state"], "running");
        assert_eq!(json["services"][0]["url"], serde_json::Value::Null);
        assert!(json["services"][0]["depends_on"].as_array().unwrap().is_empty());
    }
}
