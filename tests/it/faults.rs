//! Runtime faults: a `run` killed outright, a network another container
//! holds, a container name taken, a port held by the project's own container.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{docker_ready, free_port, inspect, Project, APP, REDIS};

fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().expect("docker");
    assert!(out.status.success(), "docker {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Poll `cond` every 50 ms for up to 60 s.
fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_run_killed_before_its_first_container_leaves_nothing_gc_cannot_see() {
    if !docker_ready() {
        return;
    }
    // The image build runs after the network and volume exist and before any container: a wide window.
    let yaml = "name: {project}\nservices:\n  app:\n    build: .\n    volumes: [\"data:/data\"]\nvolumes:\n  data: {}\n";
    let p = Project::new("killedrun", yaml);
    p.write("Dockerfile", &format!("FROM {APP}\nRUN sleep 20\n"));
    let mut child = p.cmd(&["run", "--", "true"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("spawn");
    wait_for("the run's network and volume", || !p.docker_objects("network").is_empty() && !p.docker_objects("volume").is_empty());
    child.kill().expect("SIGKILL");
    child.wait().expect("wait");
    assert!(p.docker_objects("container").is_empty(), "killed before its first container");
    let net = &p.docker_objects("network")[0];
    assert_eq!(inspect(net, "{{index .Labels \"dev.devenv.owner-pid\"}}"), child.id().to_string(), "the network names its owner");

    let r = p.run(&["gc"]);
    r.ok();
    assert!(p.docker_objects("network").is_empty(), "gc removes the network:\n{}", r.stderr);
    assert!(p.docker_objects("volume").is_empty(), "and the volume:\n{}", r.stderr);
}

#[test]
fn gc_leaves_a_project_started_with_up_alone() {
    if !docker_ready() {
        return;
    }
    let p = Project::new("gcup", &format!("name: {{project}}\nservices:\n  cache:\n    image: {REDIS}\n    volumes: [\"data:/data\"]\nvolumes:\n  data: {{}}\n"));
    p.run(&["up", "-d"]).ok();
    p.run(&["gc"]).ok();
    assert_eq!(p.docker_objects("network").len(), 1);
    assert_eq!(p.docker_objects("volume").len(), 1);
    assert_eq!(p.docker_objects("container").len(), 1);
}

#[test]
fn down_removes_everything_else_when_a_foreign_container_holds_the_network() {
    if !docker_ready() {
        return;
    }
    let p = Project::new("foreignep", &format!("name: {{project}}\nservices:\n  cache:\n    image: {REDIS}\n    volumes: [\"data:/data\"]\nvolumes:\n  data: {{}}\n"));
    p.run(&["up", "-d"]).ok();
    let net = format!("{}_default", p.name);
    let foreign = format!("{}-bystander", p.name);
    docker(&["run", "-d", "--name", &foreign, APP, "sleep", "300"]);
    docker(&["network", "connect", &net, &foreign]);

    let r = p.run(&["down", "-v"]);
    let _ = Command::new("docker").args(["rm", "-f", &foreign]).output();
    r.code(1).stderr_has(&format!("network `{net}`")).stderr_has(&format!("`{foreign}`")).stderr_has("could not be removed");
    assert!(p.docker_objects("container").is_empty(), "the containers are removed:\n{}", r.stderr);
    assert!(p.docker_objects("volume").is_empty(), "and the volume:\n{}", r.stderr);
    // Once the foreign container is gone, down finishes the job.
    p.run(&["down", "-v"]).ok();
    assert!(p.docker_objects("network").is_empty());
}

#[test]
fn a_taken_container_name_is_a_preflight_failure_before_anything_is_created() {
    if !docker_ready() {
        return;
    }
    let yaml = format!(
        "name: {{project}}\nservices:\n  first:\n    image: {REDIS}\n  second:\n    image: {REDIS}\n    depends_on: [first]\n    volumes: [\"data:/data\"]\nvolumes:\n  data: {{}}\n"
    );
    let p = Project::new("nameclash", &yaml);
    let taken = format!("{}-second", p.name);
    docker(&["create", "--name", &taken, APP, "true"]);
    let r = p.run(&["up", "-d"]);
    let _ = Command::new("docker").args(["rm", "-f", &taken]).output();
    r.code(4).stderr_has(&format!("a container named `{taken}`")).stderr_has("is not managed by devenv");
    assert!(p.docker_objects("container").is_empty(), "nothing was created:\n{}", r.stderr);
    assert!(p.docker_objects("network").is_empty(), "no network either:\n{}", r.stderr);
    assert!(p.docker_objects("volume").is_empty(), "no volume either:\n{}", r.stderr);
}

#[test]
fn the_first_up_after_a_sigkill_mid_recreate_does_not_blame_another_process_for_its_own_port() {
    if !docker_ready() {
        return;
    }
    let port = free_port();
    let yaml = |v: &str| {
        format!(
            "name: {{project}}\nservices:\n  web:\n    image: {APP}\n    env: {{V: \"{v}\"}}\n    ports: [\"127.0.0.1:{port}:8080\"]\n    stop_grace_period: 1s\n    command: [sh, -c, \"sleep 3; echo web ready; while true; do sleep 0.2; done\"]\n    health: {{log: web ready}}\n"
        )
    };
    let p = Project::new("killrecreate", &yaml("1"));
    p.run(&["up", "-d"]).ok();
    let old = inspect(&format!("{}-web", p.name), "{{.Id}}");
    p.write("devenv.yaml", &yaml("2").replace("{project}", &p.name));
    let mut child = p.cmd(&["up", "-d"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("spawn");
    // Kill it as soon as the new container exists: Docker is starting it
    // (it holds the port while it is still listed as `created`).
    let filter = format!("label=dev.devenv.project={}", p.name);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = Command::new("docker").args(["ps", "-aq", "--no-trunc", "--filter", &filter]).output().expect("docker");
        let ids = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !ids.is_empty() && !ids.contains(&old) {
            break;
        }
        assert!(Instant::now() < deadline, "the new container never appeared");
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("wait");
    let r = p.run(&["up", "-d"]);
    r.ok();
    assert!(!r.stderr.contains("another process"), "{}", r.stderr);
    assert_eq!(inspect(&format!("{}-web", p.name), "{{.State.Running}}"), "true");
}

#[test]
fn a_volume_name_taken_by_someone_else_is_found_before_the_network_is_created() {
    if !docker_ready() {
        return;
    }
    let p = Project::new("foreignvol", &format!("name: {{project}}\nservices:\n  cache:\n    image: {REDIS}\n    volumes: [\"data:/data\"]\nvolumes:\n  data: {{}}\n"));
    let taken = format!("{}_data", p.name);
    docker(&["volume", "create", &taken]);
    let r = p.run(&["up", "-d"]);
    let still_there = Command::new("docker").args(["volume", "inspect", &taken]).output().expect("docker").status.success();
    let _ = Command::new("docker").args(["volume", "rm", "-f", &taken]).output();
    r.code(4).stderr_has(&format!("a volume named `{taken}` exists but does not belong to devenv project"));
    assert!(p.docker_objects("network").is_empty(), "nothing was created, no network either:\n{}", r.stderr);
    assert!(p.docker_objects("container").is_empty());
    assert!(still_there, "the foreign volume is not touched");
}

#[test]
fn a_killed_run_whose_image_declares_a_volume_is_collected_with_that_volume() {
    if !docker_ready() {
        return;
    }
    // The image's `VOLUME /data` becomes an anonymous volume with the project's label (no owner: it goes with its container).
    let p = Project::new("gcanon", &format!("name: {{project}}\nservices:\n  cache:\n    image: {REDIS}\n"));
    let r = p.run(&["run", "--", "sh", "-c", "kill -9 $PPID; sleep 1"]);
    assert_ne!(r.code, 0);
    assert_eq!(p.docker_objects("volume").len(), 1, "the anonymous volume is there:\n{}", r.stderr);
    let r = p.run(&["gc"]);
    r.ok().stderr_has(&format!("project `{}`", p.name));
    assert!(p.docker_objects("container").is_empty(), "{}", r.stderr);
    assert!(p.docker_objects("network").is_empty(), "{}", r.stderr);
    assert!(p.docker_objects("volume").is_empty(), "{}", r.stderr);
}
