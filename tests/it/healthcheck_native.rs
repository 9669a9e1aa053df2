//! Compose healthchecks devenv recognises (`curl -f`, `wget --spider`,
//! `nc -z` on the container itself) are probed natively from outside: the
//! app's own request log shows devenv's request (GET, or HEAD for
//! `--spider`), and the stand-in app image has none of these tools, so the
//! command as written could never pass. A failing check still fails, and
//! the command as written stays the fallback.

use std::process::Command;

use crate::harness::*;

fn container(p: &Project, service: &str) -> String {
    let name = p.docker_objects("container").into_iter().find(|n| n.ends_with(&format!("-{service}-1")) || n.ends_with(&format!("-{service}")));
    name.unwrap_or_else(|| panic!("no container for `{service}`"))
}

fn logs(p: &Project, service: &str) -> String {
    let name = container(p, service);
    let out = Command::new("docker").args(["logs", &name]).output().expect("docker logs");
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn recognised_compose_healthchecks_are_probed_natively() {
    if !compose_ready() {
        return;
    }
    let yaml = format!(
        r#"name: {{project}}
services:
  curl:
    image: {APP}
    healthcheck: {{test: ["CMD", "curl", "-fsS", "http://localhost:8080/health"], interval: 30s}}
  wget:
    image: {APP}
    healthcheck: {{test: ["CMD-SHELL", "wget -q --spider http://127.0.0.1:8080/health || exit 1"], interval: 30s}}
  nc:
    image: {APP}
    healthcheck: {{test: ["CMD", "nc", "-z", "localhost", "8080"], interval: 30s}}
  app:
    image: {APP}
    depends_on:
      curl: {{condition: service_healthy}}
      wget: {{condition: service_healthy}}
      nc: {{condition: service_healthy}}
"#
    );
    let p = compose_project("hcnative", &yaml);
    p.run(&["up", "-d", "--wait", "--timeout", "30s"]).ok();
    assert!(logs(&p, "curl").contains("GET /health"), "curl -f: devenv's GET: {}", logs(&p, "curl"));
    assert!(logs(&p, "wget").contains("HEAD /health"), "wget --spider: devenv's HEAD: {}", logs(&p, "wget"));
    // The tools are not in the image: what passed was the native check.
    let missing = Command::new("docker").args(["exec", &container(&p, "curl"), "curl", "-f", "http://localhost:8080/health"]).output().expect("exec");
    assert!(!missing.status.success(), "the stand-in app image has no curl");
}

#[test]
fn a_failing_recognised_check_is_not_ready_and_says_why() {
    if !compose_ready() {
        return;
    }
    let yaml = format!(
        "name: {{project}}\nservices:\n  web:\n    image: {APP}\n    healthcheck: {{test: [\"CMD\", \"curl\", \"-f\", \"http://localhost:8080/missing\"]}}\n"
    );
    let p = compose_project("hcnative404", &yaml);
    p.run(&["up", "-d", "--wait", "--timeout", "3s"]).code(6).stderr_has("HTTP 404");
    assert!(logs(&p, "web").contains("GET /missing"));
}

#[test]
fn the_command_as_written_is_the_fallback_when_the_native_check_fails() {
    if !compose_ready() {
        return;
    }
    // Nothing listens on 8080, but the container's own `curl` says ready (it
    // is a stand-in script: what matters is that the command as written ran).
    let yaml = format!(
        r#"name: {{project}}
services:
  web:
    image: {APP}
    command: [sh, -c, "printf '#!/bin/sh\ntouch /tmp/ran\nexit 0\n' > /usr/local/bin/curl && chmod +x /usr/local/bin/curl && exec sleep infinity"]
    init: true
    # Docker's own check of this test would not run within the hour.
    healthcheck: {{test: ["CMD", "curl", "-f", "http://localhost:8080/health"], interval: 1h}}
"#
    );
    let p = compose_project("hcfallback", &yaml);
    p.run(&["up", "-d", "--wait", "--timeout", "20s"]).ok();
    let ran = Command::new("docker").args(["exec", &container(&p, "web"), "test", "-f", "/tmp/ran"]).status().expect("exec");
    assert!(ran.success(), "the command as written ran");
}

/// The database clients' healthchecks as compose files write them
/// (`$${VAR}` included) are answered natively: the clients are deleted from
/// the containers before the servers start, so the commands as written
/// could never pass. A service whose compose healthcheck is `curl -f` of
/// itself gets `DEVENV_<SERVICE>_URL` (issue 18 item 6). The JSON timing
/// events' `probed` says the native check answered.
#[test]
fn database_client_healthchecks_are_answered_natively() {
    if !images_ready(&[POSTGRES, REDIS, CLICKHOUSE, APP]) {
        return;
    }
    let yaml = format!(
        r#"name: {{project}}
services:
  db:
    image: {POSTGRES}
    environment: {{POSTGRES_PASSWORD: pw, POSTGRES_USER: app, POSTGRES_DB: shop}}
    entrypoint: [sh, -c, "rm -f /usr/bin/pg_isready /usr/lib/postgresql/15/bin/pg_isready && exec docker-entrypoint.sh postgres"]
    healthcheck: {{test: ["CMD-SHELL", "pg_isready -U $${{POSTGRES_USER}} -d $${{POSTGRES_DB}}"], interval: 30s}}
  cache:
    image: {REDIS}
    entrypoint: [sh, -c, "rm -f /usr/bin/redis-cli && exec docker-entrypoint.sh redis-server --bind 0.0.0.0 --protected-mode no"]
    healthcheck: {{test: ["CMD", "redis-cli", "ping"], interval: 30s}}
  olap:
    image: {CLICKHOUSE}
    entrypoint: [sh, -c, "rm -f /usr/bin/clickhouse-client && exec /entrypoint.sh"]
    healthcheck: {{test: ["CMD", "clickhouse-client", "--query", "SELECT 1"], interval: 30s}}
  web:
    image: {APP}
    ports: ["8080"]
    healthcheck: {{test: ["CMD-SHELL", "curl -fsS http://localhost:8080/health || exit 1"], interval: 30s}}
  app:
    image: {APP}
    depends_on:
      db: {{condition: service_healthy}}
      cache: {{condition: service_healthy}}
      olap: {{condition: service_healthy}}
      web: {{condition: service_healthy}}
"#
    );
    let p = compose_project("hcclients", &yaml);
    let up = p.run(&["up", "-d", "--wait", "--timeout", "90s", "--progress", "json"]);
    up.ok();
    // The timing events say what answered (issue 18 item 1's trace).
    let events: Vec<serde_json::Value> = up.stdout.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    for service in ["db", "cache", "olap", "web"] {
        let probed = events.iter().find(|e| e["service"] == service && e["status"] == "probed").unwrap_or_else(|| panic!("no `probed` event for {service}: {}", up.stdout));
        assert_eq!(probed["answered_by"], "native", "{probed}");
        assert!(probed["probes"].as_u64().is_some_and(|n| n >= 1) && probed["first_answer_ms"].is_u64(), "{probed}");
    }
    for (service, client) in [("db", "pg_isready"), ("cache", "redis-cli"), ("olap", "clickhouse-client")] {
        let exec = Command::new("docker").args(["exec", &container(&p, service), client, "--version"]).output().expect("exec");
        assert!(!exec.status.success(), "{client} is gone from `{service}`: what passed was the native check");
    }
    let vars = env_json(&p);
    let url = vars.get("DEVENV_WEB_URL").unwrap_or_else(|| panic!("no DEVENV_WEB_URL in {vars:?}"));
    assert_eq!(url, &format!("http://127.0.0.1:{}", vars["DEVENV_WEB_PORT"]));
    assert!(!vars.contains_key("DEVENV_APP_URL"), "app has no HTTP check and publishes nothing: {vars:?}");
}
