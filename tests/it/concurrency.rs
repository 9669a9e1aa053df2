//! Two devenvs on one project: the per-project lock, and networks handled by
//! label + id (a duplicate network of one name is recovered, never "ambiguous").

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{docker_ready, Project, Run, APP, REDIS};

/// A service that takes ~2 s to become ready: an `up` holds the project that long.
fn slow_yaml() -> String {
    format!(
        "name: {{project}}\nservices:\n  slow:\n    image: {APP}\n    command: [sh, -c, \"trap 'exit 0' TERM; sleep 2; echo slow ready; while true; do sleep 0.2; done\"]\n    health: {{log: slow ready}}\n"
    )
}

#[test]
fn ups_at_once_all_succeed_with_one_network() {
    if !docker_ready() {
        return;
    }
    let p = Project::new("twoups", &slow_yaml());
    // Started together: without the lock both would find no network and create one each.
    let children: Vec<_> = (0..3).map(|_| p.cmd(&["up", "-d"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn")).collect();
    let runs: Vec<Run> = children.into_iter().map(|c| Run::from(c.wait_with_output().expect("wait"))).collect();
    let all: String = runs.iter().map(|r| r.stderr.as_str()).collect::<Vec<_>>().join("\n----\n");
    for r in &runs {
        r.ok();
    }
    assert_eq!(p.docker_objects("network").len(), 1, "exactly one network:\n{all}");
    assert_eq!(p.docker_objects("container").len(), 1);
    let waited = runs.iter().filter(|r| r.stderr.contains(&format!("waiting for another devenv on project `{}` (pid ", p.name))).count();
    assert!(waited >= 1, "the others say they wait:\n{all}");
    // Then `down -v` works (no "ambiguous" network).
    p.run(&["down", "-v"]).ok();
    assert!(p.docker_objects("network").is_empty());
}

#[test]
fn a_run_that_waits_too_long_for_the_lock_fails_with_exit_4_and_creates_nothing() {
    if !docker_ready() {
        return;
    }
    let p = Project::new("locktimeout", &slow_yaml());
    let mut holder = p.cmd(&["up", "-d"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("spawn");
    // Wait until the holder works on the project (its network exists), then ask for it with a short timeout.
    let deadline = Instant::now() + Duration::from_secs(30);
    while p.docker_objects("network").is_empty() {
        assert!(Instant::now() < deadline, "the first up never created its network");
        std::thread::sleep(Duration::from_millis(50));
    }
    let r = p.cmd(&["down", "-v"]).env("DEVENV_LOCK_TIMEOUT", "200ms").output().expect("run");
    let r = Run::from(r);
    r.code(4).stderr_has(&format!("another devenv (pid {}) is still working on project `{}`", holder.id(), p.name)).stderr_has("DEVENV_LOCK_TIMEOUT");
    assert!(holder.wait().expect("wait").success());
    assert_eq!(p.docker_objects("container").len(), 1, "the waiting `down` removed nothing");
}

/// Create a network named `name` with `labels`, even if one of that name
/// exists (`CheckDuplicate: false`, as engines before API 1.44 allow); false
/// when the engine refuses duplicates (then the fault cannot happen).
fn create_duplicate_network(name: &str, project: &str) -> bool {
    let body = format!(r#"{{"Name":"{name}","CheckDuplicate":false,"Labels":{{"dev.devenv.project":"{project}"}}}}"#);
    let out = Command::new("curl")
        .args(["-sf", "--unix-socket", "/var/run/docker.sock", "-X", "POST", "-H", "Content-Type: application/json"])
        .args(["http://localhost/v1.41/networks/create", "-d", &body])
        .output()
        .expect("curl");
    out.status.success()
}

#[test]
fn a_duplicate_labelled_network_is_recovered_by_down_and_tolerated_by_up() {
    if !docker_ready() {
        return;
    }
    let p = Project::new("dupnet", &format!("name: {{project}}\nservices:\n  cache:\n    image: {REDIS}\n"));
    let net = format!("{}_default", p.name);
    let two = |p: &Project| {
        let ok = Command::new("docker").args(["network", "create", "--label", &format!("dev.devenv.project={}", p.name), &net]).output().expect("docker");
        assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
        create_duplicate_network(&net, &p.name)
    };
    if !two(&p) {
        eprintln!("SKIPPED: this engine refuses two networks of one name");
        return;
    }
    assert_eq!(p.docker_objects("network"), vec![net.clone(), net.clone()], "two labelled networks of one name");
    let ambiguous = Command::new("docker").args(["network", "inspect", &net]).output().expect("docker");
    assert!(!ambiguous.status.success(), "the name is ambiguous for Docker");

    let r = p.run(&["down", "-v"]);
    r.ok().stderr_has("2 networks");
    assert!(p.docker_objects("network").is_empty(), "down removes both, by id");

    assert!(two(&p));
    p.run(&["up", "-d"]).ok();
    assert_eq!(p.docker_objects("network"), vec![net.clone()], "up keeps one and removes the empty duplicate");
    assert_eq!(crate::harness::inspect(&format!("{}-cache", p.name), "{{.State.Running}}"), "true");
    p.run(&["down", "-v"]).ok();
    assert!(p.docker_objects("network").is_empty());
}

#[test]
fn a_devenv_started_by_runs_command_works_under_the_runs_lock() {
    if !docker_ready() {
        return;
    }
    let p = Project::new("nested", &format!("name: {{project}}\nservices:\n  cache:\n    image: {REDIS}\n"));
    let bin = crate::harness::bin();
    let bin = bin.to_str().expect("utf-8 path");
    // Without the run's lock passed on, the inner `up` would wait for its own parent.
    let r = Run::from(p.cmd(&["run", "--", bin, "up", "-d"]).env("DEVENV_LOCK_TIMEOUT", "3s").output().expect("run"));
    r.ok().stderr_has("nothing to do");
    assert!(!r.stderr.contains("waiting for another devenv"), "{}", r.stderr);
    assert!(p.docker_objects("container").is_empty(), "the run tore down afterwards");
}
