//! Compose files as input: the same real stack run by `docker compose` and by
//! devenv (parity), `devenv import` run back through `devenv up`, and how the
//! loader chooses between devenv.yaml and compose files.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::process::Command;

use crate::harness::*;

const PARITY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/compose/parity");


/// A project directory holding a copy of `src` (and no devenv.yaml).
fn project_from(test: &str, src: &str) -> Project {
    let p = Project::new(test, "");
    let _ = std::fs::remove_file(p.dir.path().join("devenv.yaml"));
    for entry in std::fs::read_dir(src).expect("fixture dir").flatten() {
        if entry.path().is_file() {
            std::fs::copy(entry.path(), p.dir.path().join(entry.file_name())).expect("copy fixture");
        }
    }
    p
}

#[derive(Debug, PartialEq)]
struct Ran {
    image: String,
    /// (container port/proto, host port)
    ports: BTreeSet<(String, String)>,
    env: BTreeMap<String, String>,
    started: String,
    finished: String,
    exit_code: i64,
}

/// Every container carrying `label=value`, by the value of `service_label`.
fn observe(label: &str, value: &str, service_label: &str) -> BTreeMap<String, Ran> {
    let ids = Command::new("docker").args(["ps", "-aq", "--filter", &format!("label={label}={value}")]).output().expect("docker ps");
    let ids: Vec<String> = String::from_utf8_lossy(&ids.stdout).split_whitespace().map(str::to_string).collect();
    assert!(!ids.is_empty(), "no containers labelled {label}={value}");
    let out = Command::new("docker").arg("inspect").args(&ids).output().expect("docker inspect");
    let all: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("inspect JSON");
    let mut by = BTreeMap::new();
    for c in all {
        let s = |p: &str| c.pointer(p).and_then(|v| v.as_str()).unwrap_or_default().to_string();
        let service = s(&format!("/Config/Labels/{}", service_label.replace('/', "~1")));
        let env = c.pointer("/Config/Env").and_then(|e| e.as_array()).into_iter().flatten()
            .filter_map(|e| e.as_str()?.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
            .collect();
        let mut ports = BTreeSet::new();
        for (cport, binds) in c.pointer("/HostConfig/PortBindings").and_then(|b| b.as_object()).into_iter().flatten() {
            for b in binds.as_array().into_iter().flatten() {
                ports.insert((cport.clone(), b.get("HostPort").and_then(|h| h.as_str()).unwrap_or_default().to_string()));
            }
        }
        let ran = Ran {
            image: s("/Config/Image"),
            ports,
            env,
            started: s("/State/StartedAt"),
            finished: s("/State/FinishedAt"),
            exit_code: c.pointer("/State/ExitCode").and_then(|v| v.as_i64()).unwrap_or(-1),
        };
        by.insert(service, ran);
    }
    by
}

fn http_get(port: &str, path: &str) -> String {
    let mut s = std::net::TcpStream::connect(format!("127.0.0.1:{port}")).expect("connect to the app");
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").expect("send");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    out
}

/// Start order as the dependencies demand: api after db (healthy), cache and the
/// migrate job's exit; migrate after db. RFC 3339 timestamps compare as strings.
#[track_caller]
fn assert_order(who: &str, r: &BTreeMap<String, Ran>) {
    let (db, cache, migrate, api) = (&r["db"], &r["cache"], &r["migrate"], &r["api"]);
    assert!(api.started > db.started && api.started > cache.started, "{who}: api started before db/cache: {r:#?}");
    assert!(migrate.started > db.started, "{who}: migrate started before db: {r:#?}");
    assert!(api.started >= migrate.finished, "{who}: api started before migrate finished: {r:#?}");
    assert_eq!(migrate.exit_code, 0, "{who}: migrate failed");
}

#[test]
fn a_compose_file_runs_unchanged_like_docker_compose_runs_it() {
    if !compose_ready() {
        return;
    }
    let p = project_from("parity", PARITY);
    let port = free_port().to_string();
    let compose_project = format!("{}-compose", p.name);
    let compose = |args: &[&str]| {
        Command::new("docker").current_dir(p.dir.path()).args(["compose", "-p", &compose_project]).args(args).env("API_PORT", &port).output().expect("docker compose")
    };
    let up = compose(&["up", "-d", "--wait"]);
    assert!(up.status.success(), "docker compose up failed: {}", String::from_utf8_lossy(&up.stderr));
    let by_compose = observe("com.docker.compose.project", &compose_project, "com.docker.compose.service");
    let compose_answer = http_get(&port, "/");
    let down = compose(&["down", "-v", "-t", "1"]);
    assert!(down.status.success(), "docker compose down failed: {}", String::from_utf8_lossy(&down.stderr));

    p.cmd(&["-p", &p.name, "up", "-d", "--wait"]).env("API_PORT", &port).output().map(Run::from).expect("devenv up").ok();
    let by_devenv = observe("dev.devenv.project", &p.name, "dev.devenv.service");
    let devenv_answer = http_get(&port, "/");

    assert_eq!(by_compose.keys().collect::<Vec<_>>(), by_devenv.keys().collect::<Vec<_>>(), "same services");
    for (name, c) in &by_compose {
        let d = &by_devenv[name];
        assert_eq!(c.image, d.image, "{name}: image");
        assert_eq!(c.ports, d.ports, "{name}: published ports");
        assert_eq!(c.env, d.env, "{name}: environment");
    }
    assert_order("docker compose", &by_compose);
    assert_order("devenv", &by_devenv);
    assert!(compose_answer.contains("hello from compose") && devenv_answer.contains("hello from compose"), "{compose_answer}\n---\n{devenv_answer}");
    // devenv binds published ports to loopback unless the file names an address.
    let ip = inspect(&format!("{}-api", p.name), "{{(index (index .HostConfig.PortBindings \"8080/tcp\") 0).HostIp}}");
    assert_eq!(ip, "127.0.0.1");
}

#[test]
fn devenv_import_writes_a_file_that_brings_up_the_same_services() {
    if !compose_ready() {
        return;
    }
    let p = project_from("import", PARITY);
    let r = p.run(&["import"]);
    r.ok().stderr_has("wrote");
    let text = std::fs::read_to_string(p.dir.path().join("devenv.yaml")).expect("devenv.yaml written");
    assert!(text.contains("preset: postgres") && text.contains("preset: redis"), "backing services become presets:\n{text}");
    assert!(text.contains("image: devenv-test/postgres:15"), "the version is kept:\n{text}");
    assert!(text.contains("migrate: completed"), "depends_on conditions are kept:\n{text}");
    // A second import refuses to overwrite.
    p.run(&["import"]).code(2).stderr_has("already exists");

    let port = free_port().to_string();
    p.cmd(&["-p", &p.name, "--ports", "random", "up", "-d", "--wait"]).env("API_PORT", &port).output().map(Run::from).expect("devenv up").ok();
    let ran = observe("dev.devenv.project", &p.name, "dev.devenv.service");
    assert_eq!(ran.keys().collect::<Vec<_>>(), ["api", "cache", "db", "migrate"]);
    assert_order("devenv (imported)", &ran);
    assert_eq!(ran["api"].env.get("DATABASE_URL").map(String::as_str), Some("postgres://postgres:parity-secret@db:5432/shop"));
    assert_eq!(ran["db"].env.get("POSTGRES_DB").map(String::as_str), Some("shop"));
}

#[test]
fn devenv_yaml_wins_over_a_compose_file_and_says_so() {
    let p = Project::new("both", "services:\n  web:\n    image: devenv-test/app:1\n");
    p.write("compose.yaml", "services:\n  other:\n    image: devenv-test/app:1\n");
    let r = p.run(&["config", "--services"]);
    r.ok().stdout_has("web").stderr_has("devenv reads devenv.yaml");
    assert!(!r.stdout.contains("other"));
}

#[test]
fn config_prints_what_devenv_understood_of_a_compose_file() {
    let p = project_from("config", PARITY);
    let r = p.run(&["config", "--format", "json"]);
    r.ok();
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("JSON");
    assert_eq!(v.pointer("/services/api/depends_on/migrate/condition").and_then(|c| c.as_str()), Some("service_completed_successfully"));
    assert_eq!(v.pointer("/services/api/environment/LOG_LEVEL").and_then(|c| c.as_str()), Some("debug"));
    assert!(!r.stdout.contains("parity-secret"), "passwords are masked: {}", r.stdout);
    p.run(&["config"]).ok().stdout_has("api:");
}

#[test]
fn unsupported_compose_keys_are_listed_not_dropped() {
    let p = Project::new("unsupported", "");
    let _ = std::fs::remove_file(p.dir.path().join("devenv.yaml"));
    p.write("docker-compose.yml", "services:\n  web:\n    image: devenv-test/app:1\n    logging:\n      driver: json-file\n    cpuset: \"0\"\n");
    let r = p.run(&["config", "--services"]);
    r.ok().stdout_has("web");
    let warned = r.stderr.lines().any(|l| l.contains("logging") && l.contains("cpuset"));
    assert!(warned, "one warning lists the ignored keys:\n{}", r.stderr);
}

/// The five-backing-service stack of `fixtures/compose/bench-stack` (Postgres,
/// Redis, ClickHouse, a Kafka-protocol broker, an app gated on all four with
/// compose healthchecks), run by devenv as written.
#[test]
fn the_backing_services_compose_stack_runs_unchanged() {
    if !compose_ready() {
        return;
    }
    let p = project_from("stack", concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/compose/bench-stack"));
    p.run(&["-p", &p.name, "--ports", "random", "up", "-d", "--wait"]).ok();
    let ran = observe("dev.devenv.project", &p.name, "dev.devenv.service");
    assert_eq!(ran.keys().collect::<Vec<_>>(), ["app", "cache", "db", "events", "olap"]);
    for dep in ["cache", "db", "events", "olap"] {
        assert!(ran["app"].started > ran[dep].started, "app started before {dep}: {ran:#?}");
    }
    // Each healthcheck was run by devenv until it passed, and Docker runs it too.
    for svc in ["cache", "db", "events", "olap", "app"] {
        let health = inspect(&format!("{}-{svc}", p.name), "{{if .State.Health}}{{.State.Health.Status}}{{end}}");
        assert!(health == "healthy" || health == "starting", "{svc}: docker health {health:?}");
    }
    let r = p.run(&["-p", &p.name, "env", "--format", "json"]);
    let env: std::collections::HashMap<String, String> = serde_json::from_str(&r.ok().stdout).expect("env JSON");
    let port = env.get("DEVENV_APP_PORT").expect("the app's host port is reported");
    assert!(http_get(port, "/health").contains("200"), "the app answers");
}

/// A compose `healthcheck` reaches the container as written — `docker ps`
/// and `docker inspect` show compose's pacing, while devenv polls readiness
/// itself (fast) on the side.
#[test]
fn compose_healthcheck_timing_is_carried_to_the_container() {
    if !docker_ready() {
        return;
    }
    let p = Project::new("hc-timing", "");
    let _ = std::fs::remove_file(p.dir.path().join("devenv.yaml"));
    p.write(
        "compose.yaml",
        &format!("name: {}\nservices:\n  web:\n    image: devenv-test/app:1\n    command: [sleep, \"1000\"]\n    healthcheck:\n      test: [\"CMD\", \"true\"]\n      interval: 10s\n      timeout: 3s\n      retries: 5\n      start_period: 2s\n", p.name),
    );
    p.run(&["up", "-d"]).ok();
    let containers = p.docker_objects("container");
    assert_eq!(containers.len(), 1, "{containers:?}");
    let hc = inspect(&containers[0], "{{json .Config.Healthcheck}}");
    let v: serde_json::Value = serde_json::from_str(&hc).unwrap_or_else(|e| panic!("{e}: {hc}"));
    assert_eq!(v["Test"], serde_json::json!(["CMD", "true"]), "{hc}");
    assert_eq!(v["Interval"], 10_000_000_000u64, "interval as written: {hc}");
    assert_eq!(v["Timeout"], 3_000_000_000u64, "{hc}");
    assert_eq!(v["Retries"], 5, "{hc}");
    assert_eq!(v["StartPeriod"], 2_000_000_000u64, "{hc}");
}

/// The file's warnings are shown once per change, not on every command;
/// `config` and `--verbose` always show them.
#[test]
fn compose_warnings_are_shown_once_per_change() {
    if !docker_ready() {
        return;
    }
    let p = Project::new("warn-once", "");
    let _ = std::fs::remove_file(p.dir.path().join("devenv.yaml"));
    let compose = "services:\n  web:\n    image: devenv-test/app:1\n    logging:\n      driver: json-file\n";
    p.write("docker-compose.yml", compose);
    let cache = tempfile::tempdir().expect("tempdir");
    let run = |args: &[&str]| {
        let out = p.cmd(args).env("XDG_CACHE_HOME", cache.path()).output().expect("run devenv");
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stderr).lines().filter(|l| l.contains("warning") && l.contains("logging")).count()
    };
    assert_eq!(run(&["ps"]), 1, "shown the first time");
    assert_eq!(run(&["ps"]), 0, "not again while the file's warnings are the same");
    assert_eq!(run(&["config"]), 1, "config always shows them");
    assert_eq!(run(&["--verbose", "ps"]), 1, "--verbose shows them");
    p.write("docker-compose.yml", &compose.replace("logging:", "cpuset: \"0\"\n    logging:"));
    assert_eq!(run(&["ps"]), 1, "shown again after the change");
    assert_eq!(run(&["ps"]), 0);
}
