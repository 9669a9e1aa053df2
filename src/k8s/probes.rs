//! Kubernetes probes from devenv's readiness probes.
//!
//! A `health:` probe maps to the same handler (`http` → httpGet, `tcp` →
//! tcpSocket, `exec` → exec); a `log` probe has no Kubernetes equivalent.
//! Presets get the probes their official images support (`Preset::k8s_probes`,
//! plain data rendered here).
//!
//! Timing: a startup probe gives the service devenv's deadline (`timeout`,
//! default 120 s) to come up; readiness then checks every 5 s; liveness is
//! lenient (every 10 s, 6 failures) so a busy service is not killed.

use serde_json::{json, Value};

use crate::plan::{Probe, ResolvedService};
use crate::preset::{Connection, K8sProbe};

/// The probes of one container, and the container ports they use.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Probes {
    pub startup: Option<Value>,
    pub readiness: Option<Value>,
    pub liveness: Option<Value>,
    /// Ports the probes connect to (the container must declare them).
    pub ports: Vec<u16>,
    /// Why a probe could not be rendered.
    pub warning: Option<String>,
}

/// A probe handler: `{httpGet: …}`, `{tcpSocket: …}` or `{exec: …}`.
#[derive(Debug, Clone, PartialEq)]
struct Handler {
    body: Value,
    port: Option<u16>,
}

fn http(path: &str, port: u16) -> Handler {
    Handler { body: json!({"httpGet": {"path": path, "port": port}}), port: Some(port) }
}

fn tcp(port: u16) -> Handler {
    Handler { body: json!({"tcpSocket": {"port": port}}), port: Some(port) }
}

fn exec(command: &[String]) -> Handler {
    Handler { body: json!({"exec": {"command": command}}), port: None }
}

/// A preset's probe as a handler.
fn handler(p: &K8sProbe) -> Handler {
    match p {
        K8sProbe::Http { path, port } => http(path, *port),
        K8sProbe::Tcp { port } => tcp(*port),
        K8sProbe::Exec { command } => exec(command),
    }
}

/// (readiness handler, liveness handler) of a preset.
fn preset_handlers(c: &Connection) -> (Handler, Handler) {
    let (ready, live) = c.kind.preset().k8s_probes(c);
    (handler(&ready), handler(&live))
}

fn timed(h: &Handler, period: u64, failures: u64, timeout: u64) -> Value {
    let mut v = h.body.clone();
    if let Some(o) = v.as_object_mut() {
        o.insert("periodSeconds".into(), json!(period));
        o.insert("failureThreshold".into(), json!(failures));
        o.insert("timeoutSeconds".into(), json!(timeout));
    }
    v
}

/// The probes for `svc` (none for one-shot jobs).
pub fn probes(svc: &ResolvedService) -> Probes {
    let Some(health) = &svc.health else { return Probes::default() };
    if svc.once {
        return Probes::default();
    }
    let (ready, live) = match &health.probe {
        Probe::Http { path, port } => (http(path, *port), http(path, *port)),
        Probe::Tcp { port } => (tcp(*port), tcp(*port)),
        Probe::Exec { command, .. } => (exec(command), exec(command)),
        Probe::Preset(c) => preset_handlers(c),
        Probe::Log { pattern } => {
            return Probes {
                warning: Some(format!("services.{}.health: a `log` probe ({pattern:?}) has no Kubernetes equivalent; the pod has no readiness probe", svc.name)),
                ..Probes::default()
            };
        }
        Probe::DockerHealthcheck => return Probes::default(),
    };
    // Startup: devenv's deadline, checked every 2 s.
    let startup_failures = health.timeout.as_secs().div_ceil(2).max(1);
    let mut ports: Vec<u16> = [ready.port, live.port].into_iter().flatten().collect();
    ports.dedup();
    Probes {
        startup: Some(timed(&ready, 2, startup_failures, 2)),
        readiness: Some(timed(&ready, 5, 3, 2)),
        liveness: Some(timed(&live, 10, 6, 5)),
        ports,
        warning: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preset::Kind;

    fn svc(probe: Probe) -> ResolvedService {
        let yaml = "services:\n  s:\n    image: x\n    health: {tcp: 1, timeout: 60s}\n";
        let opts = crate::config::LoadOptions { cwd: std::env::temp_dir(), ..Default::default() };
        let env = crate::config::load::load_str(yaml, &std::env::temp_dir().join("devenv.yaml"), &std::env::temp_dir(), &opts).expect("load");
        let plan = crate::plan::resolve(&env, &crate::plan::ImageMap::default()).expect("plan");
        let mut s = plan.services["s"].clone();
        if let Some(h) = s.health.as_mut() {
            h.probe = probe;
        }
        s
    }

    fn conn(kind: Kind) -> Connection {
        let env = indexmap::IndexMap::from([("POSTGRES_USER".to_string(), "app".to_string()), ("POSTGRES_DB".to_string(), "shop".to_string())]);
        crate::preset::connection(kind, &env, &[])
    }

    #[test]
    fn user_probes_keep_their_handler() {
        let p = probes(&svc(Probe::Http { path: "/health".into(), port: 8080 }));
        assert_eq!(p.readiness.as_ref().and_then(|r| r.pointer("/httpGet/path")), Some(&json!("/health")));
        assert_eq!(p.startup.as_ref().and_then(|r| r.get("failureThreshold")), Some(&json!(30)));
        assert_eq!(p.ports, [8080]);
        let p = probes(&svc(Probe::Exec { command: vec!["true".into()], native: None }));
        assert_eq!(p.liveness.as_ref().and_then(|r| r.pointer("/exec/command/0")), Some(&json!("true")));
        assert!(p.ports.is_empty());
        let p = probes(&svc(Probe::Log { pattern: "ready".into() }));
        assert!(p.readiness.is_none());
        assert!(p.warning.as_deref().is_some_and(|w| w.contains("no Kubernetes equivalent")));
    }

    #[test]
    fn preset_probes_use_what_the_images_ship() {
        let pg = probes(&svc(Probe::Preset(conn(Kind::Postgres))));
        assert_eq!(pg.readiness.as_ref().and_then(|r| r.pointer("/exec/command")), Some(&json!(["pg_isready", "-h", "127.0.0.1", "-p", "5432", "-U", "app", "-d", "shop"])));
        let kafka = probes(&svc(Probe::Preset(conn(Kind::Kafka))));
        assert_eq!(kafka.readiness.as_ref().and_then(|r| r.pointer("/tcpSocket/port")), Some(&json!(19092)));
        let es = probes(&svc(Probe::Preset(conn(Kind::Elasticsearch))));
        assert_eq!(es.readiness.as_ref().and_then(|r| r.pointer("/httpGet/path")), Some(&json!("/_cluster/health?wait_for_status=yellow&timeout=1s")));
        assert_eq!(es.liveness.as_ref().and_then(|r| r.pointer("/tcpSocket/port")), Some(&json!(9200)));
        let ch = probes(&svc(Probe::Preset(conn(Kind::Clickhouse))));
        assert_eq!(ch.readiness.as_ref().and_then(|r| r.pointer("/httpGet/path")), Some(&json!("/ping")));
        let redis = probes(&svc(Probe::Preset(conn(Kind::Redis))));
        assert_eq!(redis.readiness.as_ref().and_then(|r| r.pointer("/exec/command/2")), Some(&json!("redis-cli -p 6379 ping | grep -q PONG")));
    }
}
