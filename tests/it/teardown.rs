//! Teardown: what is discarded (`run`, `down -v`) is killed and removed at
//! once, whatever its processes do with signals; plain `down` stays graceful,
//! in reverse dependency order, each wave in parallel. Checked through the
//! engine's own container events (kill signals, exit codes, their order),
//! never by timing.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::harness::*;

/// One container event: action, service, exit code, signal.
#[derive(Debug, Clone, PartialEq)]
struct Ev {
    action: String,
    service: String,
    exit_code: String,
    signal: String,
}

/// `docker events` for one project's containers, from the moment before the
/// action on (the engine replays what happened since then, so nothing is
/// missed while the subscription starts).
struct Events {
    child: Child,
    rx: Receiver<String>,
}

impl Events {
    fn since_now(p: &Project) -> Events {
        // Exactly now (the engine shares this clock): an earlier look-back
        // would replay the events of the previous action, such as the
        // destroys of a `down` that ended a moment ago.
        let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock");
        let since = format!("{}.{:09}", now.as_secs(), now.subsec_nanos());
        let format = r#"{{.Action}}|{{index .Actor.Attributes "dev.devenv.service"}}|{{index .Actor.Attributes "exitCode"}}|{{index .Actor.Attributes "signal"}}"#;
        let mut child = Command::new("docker")
            .args(["events", "--since", &since, "--filter", "type=container"])
            .args(["--filter", &format!("label=dev.devenv.project={}", p.name), "--format", format])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker events");
        let out = child.stdout.take().expect("piped");
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Events { child, rx }
    }

    /// The events until `destroyed` containers were destroyed (at most a minute).
    fn until_destroyed(mut self, destroyed: usize) -> Vec<Ev> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut evs = Vec::new();
        while evs.iter().filter(|e: &&Ev| e.action == "destroy").count() < destroyed {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = self.rx.recv_timeout(left) else { break };
            let f: Vec<&str> = line.split('|').collect();
            if let [action, service, exit_code, signal] = f[..] {
                evs.push(Ev { action: action.into(), service: service.into(), exit_code: exit_code.into(), signal: signal.into() });
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        evs
    }
}

fn pos(evs: &[Ev], service: &str, action: &str, f: impl Fn(&Ev) -> bool) -> Option<usize> {
    evs.iter().position(|e| e.service == service && e.action == action && f(e))
}

/// Three services whose PID 1 (`sleep`, no handler) ignores SIGTERM, in a
/// dependency chain, each with a long grace period.
fn deaf_chain() -> String {
    let svc = |deps: &str| format!("    image: {APP}\n    command: [sleep, infinity]\n    stop_grace_period: 30s\n{deps}");
    format!(
        "name: {{project}}\nservices:\n  a:\n{}  b:\n{}  c:\n{}",
        svc(""),
        svc("    depends_on: [a]\n"),
        svc("    depends_on: [b]\n")
    )
}

/// Every service was killed outright: SIGKILL, exit 137, never the stop signal first.
#[track_caller]
fn assert_killed_at_once(evs: &[Ev], services: &[&str]) {
    for s in services {
        assert!(pos(evs, s, "die", |e| e.exit_code == "137").is_some(), "`{s}` died of SIGKILL (137): {evs:#?}");
        assert!(pos(evs, s, "kill", |e| e.signal == "9").is_some(), "`{s}` was killed: {evs:#?}");
        assert!(pos(evs, s, "kill", |e| e.signal != "9").is_none(), "`{s}` got no graceful stop signal first: {evs:#?}");
        assert!(pos(evs, s, "destroy", |_| true).is_some(), "`{s}` was removed: {evs:#?}");
    }
    // At once, not along the dependency chain: more than one was being
    // killed before the first was gone.
    let first_destroy = evs.iter().position(|e| e.action == "destroy").unwrap_or(evs.len());
    let mut killed: Vec<&str> = evs[..first_destroy].iter().filter(|e| e.action == "kill").map(|e| e.service.as_str()).collect();
    killed.sort_unstable();
    killed.dedup();
    assert!(killed.len() >= 2, "containers killed in parallel, not one after another: {evs:#?}");
}

#[test]
fn run_kills_and_removes_its_containers_at_once_whatever_they_do_with_sigterm() {
    if !docker_ready() {
        return;
    }
    let p = Project::new("tdrun", &deaf_chain());
    let events = Events::since_now(&p);
    p.run(&["run", "--", "true"]).ok();
    let evs = events.until_destroyed(3);
    assert_killed_at_once(&evs, &["a", "b", "c"]);
    assert!(p.docker_objects("container").is_empty() && p.docker_objects("network").is_empty());
}

#[test]
fn down_v_kills_and_removes_at_once_and_down_v_t_stays_graceful() {
    if !docker_ready() {
        return;
    }
    let p = Project::new("tddownv", &deaf_chain());
    p.run(&["up", "-d"]).ok();
    let events = Events::since_now(&p);
    p.run(&["down", "-v"]).ok();
    let evs = events.until_destroyed(3);
    assert_killed_at_once(&evs, &["a", "b", "c"]);
    assert!(p.docker_objects("container").is_empty() && p.docker_objects("volume").is_empty());

    // An explicit grace period with -v: the stop signal first, as asked.
    p.run(&["up", "-d"]).ok();
    let events = Events::since_now(&p);
    p.run(&["down", "-v", "-t", "1"]).ok();
    let evs = events.until_destroyed(3);
    for s in ["a", "b", "c"] {
        assert!(pos(&evs, s, "kill", |e| e.signal == "15").is_some(), "`{s}` got SIGTERM first with -t: {evs:#?}");
    }
}

#[test]
fn plain_down_is_graceful_in_reverse_dependency_order_and_each_wave_in_parallel() {
    if !docker_ready() {
        return;
    }
    // `web` (the app: exits 0 on SIGTERM) depends on two services that ignore
    // SIGTERM. Ready once it says it listens: its handler is set by then (a
    // SIGTERM before that is ignored by a PID 1 without one, as under load).
    let deaf = format!("    image: {APP}\n    command: [sleep, infinity]\n    stop_grace_period: 2s\n");
    let yaml = format!("name: {{project}}\nservices:\n  web:\n    image: {APP}\n    depends_on: [s1, s2]\n    health: {{log: listening}}\n  s1:\n{deaf}  s2:\n{deaf}");
    let p = Project::new("tddown", &yaml);
    p.run(&["up", "-d"]).ok();
    let events = Events::since_now(&p);
    p.run(&["down"]).ok();
    let evs = events.until_destroyed(3);

    let web_term = pos(&evs, "web", "kill", |e| e.signal == "15").expect("web got SIGTERM");
    let web_die = pos(&evs, "web", "die", |e| e.exit_code == "0").unwrap_or_else(|| panic!("web exited 0 on SIGTERM: {evs:#?}"));
    assert!(web_term < web_die);
    assert!(pos(&evs, "web", "kill", |e| e.signal == "9").is_none(), "web was not killed: {evs:#?}");
    let mut terms = Vec::new();
    for s in ["s1", "s2"] {
        let term = pos(&evs, s, "kill", |e| e.signal == "15").unwrap_or_else(|| panic!("`{s}` got SIGTERM: {evs:#?}"));
        let kill = pos(&evs, s, "kill", |e| e.signal == "9").unwrap_or_else(|| panic!("`{s}` killed after its grace period: {evs:#?}"));
        let die = pos(&evs, s, "die", |e| e.exit_code == "137").unwrap_or_else(|| panic!("`{s}` died of SIGKILL: {evs:#?}"));
        assert!(web_die < term, "`{s}` stopped after its dependent `web`: {evs:#?}");
        assert!(term < kill && kill < die);
        terms.push((term, die));
    }
    // One wave: both got SIGTERM before either was gone.
    assert!(terms.iter().all(|(t, _)| terms.iter().all(|(_, d)| t < d)), "s1 and s2 stopped in parallel: {evs:#?}");
}
