//! Issue 16 (resources and restart policies): the same compose file brought
//! up by `docker compose -p <p>-compose` and by `devenv -p <p>`, compared
//! through `docker inspect` (HostConfig Memory, MemoryReservation, NanoCpus,
//! PidsLimit, RestartPolicy); devenv's own `resources:` key; a conflict
//! compose reports, refused at its position with nothing created.

use std::process::Command;

use crate::harness::*;



/// The resource settings and restart policy of a container's HostConfig.
/// Docker reads an empty restart policy name as `no`.
fn limits(container: &str) -> serde_json::Value {
    let out = Command::new("docker").args(["inspect", container]).output().expect("docker inspect");
    assert!(out.status.success(), "docker inspect {container}: {}", String::from_utf8_lossy(&out.stderr));
    let all: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("inspect JSON");
    let hc = &all[0]["HostConfig"];
    let name = match hc["RestartPolicy"]["Name"].as_str().unwrap_or_default() {
        "" => "no",
        n => n,
    };
    serde_json::json!({
        "Memory": hc["Memory"], "MemoryReservation": hc["MemoryReservation"], "NanoCpus": hc["NanoCpus"],
        "PidsLimit": hc["PidsLimit"], "RestartPolicy": {"Name": name, "MaximumRetryCount": hc["RestartPolicy"]["MaximumRetryCount"]},
    })
}

const STACK: &str = "services:
  legacy:
    image: devenv-test/app:1
    cpus: 0.5
    mem_limit: 96m
    mem_reservation: 32m
    pids_limit: 100
  deployed:
    image: devenv-test/app:1
    restart: always
    deploy:
      resources:
        limits: {cpus: '0.25', memory: 64M, pids: 50}
        reservations: {cpus: '0.1', memory: 16M}
      restart_policy: {condition: on-failure, max_attempts: 3, delay: 5s, window: 2m}
  twins:
    image: devenv-test/app:1
    cpus: 1
    mem_limit: 80m
    deploy:
      resources:
        limits: {cpus: 1, memory: 80m}
      restart_policy: {condition: any}
  stopped:
    image: devenv-test/app:1
    restart: always
    deploy:
      restart_policy: {condition: none}
";

#[test]
fn resources_and_restart_policies_match_docker_compose() {
    if !compose_ready() {
        return;
    }
    let p = Project::new("c16deploy", "");
    let _ = std::fs::remove_file(p.dir.path().join("devenv.yaml"));
    p.write("compose.yaml", STACK);
    let services = ["legacy", "deployed", "twins", "stopped"];

    let compose = Compose::new(&p);
    let up = compose.run(&["up", "-d"]);
    assert!(up.status.success(), "docker compose up: {}", String::from_utf8_lossy(&up.stderr));
    let theirs: Vec<serde_json::Value> = services.iter().map(|s| limits(&format!("{}-{s}-1", compose.name))).collect();
    drop(compose);

    let r = p.run(&["-p", &p.name, "up", "-d"]);
    r.ok().stderr_has("deploy.restart_policy.delay");
    let ours: Vec<serde_json::Value> = services.iter().map(|s| limits(&format!("{}-{s}", p.name))).collect();
    for ((s, t), o) in services.iter().zip(&theirs).zip(&ours) {
        assert_eq!(o, t, "service `{s}`: devenv vs docker compose");
    }
    // Not vacuous: the values the file asks for.
    assert_eq!(ours[0]["Memory"], 96 << 20);
    assert_eq!(ours[1]["RestartPolicy"], serde_json::json!({"Name": "on-failure", "MaximumRetryCount": 3}));
    assert_eq!(ours[3]["RestartPolicy"]["Name"], "no");
}

#[test]
fn devenv_yaml_resources_reach_the_container() {
    if !docker_ready() {
        return;
    }
    let p = Project::new(
        "c16resources",
        "services:\n  api:\n    image: devenv-test/app:1\n    resources: {cpus: 0.5, memory: 64m, memory_reservation: 16m, pids: 40}\n",
    );
    p.run(&["-p", &p.name, "up", "-d"]).ok();
    let l = limits(&format!("{}-api", p.name));
    assert_eq!(
        (&l["NanoCpus"], &l["Memory"], &l["MemoryReservation"], &l["PidsLimit"]),
        (&serde_json::json!(500_000_000), &serde_json::json!(64 << 20), &serde_json::json!(16 << 20), &serde_json::json!(40))
    );
    let bad = Project::new("c16resbad", "services:\n  api:\n    image: devenv-test/app:1\n    resources: {memory: lots}\n");
    bad.run(&["-p", &bad.name, "up", "-d"]).code(2).stderr_has("devenv.yaml:4:").stderr_has("services.api.resources.memory");
    assert!(bad.docker_objects("container").is_empty());
}

#[test]
fn distinct_twin_limits_are_refused_like_compose_and_nothing_is_created() {
    if !docker_ready() {
        return;
    }
    let p = Project::new("c16twins", "");
    let _ = std::fs::remove_file(p.dir.path().join("devenv.yaml"));
    p.write("compose.yaml", "services:\n  api:\n    image: devenv-test/app:1\n    cpus: 1\n    deploy:\n      resources:\n        limits:\n          cpus: '0.5'\n");
    p.run(&["-p", &p.name, "up", "-d"])
        .code(2)
        .stderr_has("compose.yaml:8:11")
        .stderr_has("can't set distinct values on 'cpus' and 'deploy.resources.limits.cpus'");
    assert!(p.docker_objects("container").is_empty(), "{:?}", p.docker_objects("container"));
}
