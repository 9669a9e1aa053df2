//! exec, doctor, JSON progress, Docker HEALTHCHECK gating.

use crate::harness::*;

#[test]
fn exec_passes_output_and_exit_code_through() {
    if !docker_ready() {
        return;
    }
    let p = Project::new("exec", &format!("name: {{project}}\nservices:\n  box:\n    image: {REDIS}\n    env: {{MARK: from-env}}\n"));
    p.run(&["up", "-d"]).ok();
    let r = p.run(&["exec", "-T", "box", "--", "sh", "-c", "echo out-$MARK; echo err >&2; exit 7"]);
    r.code(7).stdout_has("out-from-env");
    assert!(r.stderr.contains("err"), "{}", r.stderr);
    p.run(&["exec", "-T", "nope", "--", "true"]).code(2).stderr_has("no container");
}

#[test]
fn json_progress_is_one_event_per_line() {
    if !docker_ready() {
        return;
    }
    let p = Project::new("json", &format!("name: {{project}}\nservices:\n  a:\n    image: {REDIS}\n    health: {{tcp: 6379}}\n"));
    let r = p.run(&["--progress", "json", "up", "-d"]);
    r.ok();
    let events: Vec<serde_json::Value> = r.stdout.lines().map(|l| serde_json::from_str(l).expect("each line is JSON")).collect();
    assert!(events.iter().any(|e| e["event"] == "service" && e["service"] == "a" && e["status"] == "ready" && e["elapsed_ms"].is_u64()));
    assert_eq!(events.last().map(|e| e["event"].clone()), Some(serde_json::json!("done")));
    assert!(events.iter().all(|e| e["ts"].is_string()));
}

#[test]
fn doctor_finds_a_port_in_use_and_prints_a_fix() {
    if !docker_ready() {
        return;
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let p = Project::new("doctor", &format!("name: {{project}}\nservices:\n  a:\n    image: {REDIS}\n    ports: [\"{port}:6379\"]\n"));
    let r = p.run(&["doctor"]);
    r.code(1).stdout_has("docker: engine").stdout_has(&format!("127.0.0.1:{port}")).stdout_has("fix:");
    drop(listener);
    p.run(&["doctor"]).ok().stdout_has("all checks passed");
}

#[test]
fn image_healthcheck_gates_dependents_when_no_health_is_written() {
    if !docker_ready() {
        return;
    }
    let yaml = format!(
        r#"name: {{project}}
services:
  slow:
    build: ./slow
  after:
    image: {REDIS}
    depends_on: {{slow: healthy}}
"#
    );
    let p = Project::new("hc", &yaml);
    p.write(
        "slow/Dockerfile",
        "FROM debian:bookworm-slim\nHEALTHCHECK --interval=1s --timeout=1s CMD test -f /tmp/ready\nCMD [\"sh\", \"-c\", \"sleep 2; touch /tmp/ready; exec sleep 1000\"]\n",
    );
    let r = p.run(&["up", "-d"]);
    r.ok().stderr_has("slow waiting until ready (image HEALTHCHECK)");
    let pos = |needle: &str| r.stderr.find(needle).unwrap_or_else(|| panic!("no {needle:?} in\n{}", r.stderr));
    assert!(pos("slow ready in") < pos("after starting"));
}

#[test]
fn junit_report_is_valid_junit_xml() {
    if !docker_ready() {
        return;
    }
    let yaml = format!(
        "name: {{project}}\nservices:\n  ok:\n    image: {REDIS}\n    health: {{tcp: 6379}}\n  bad:\n    image: {APP}\n    command: [sh, -c, 'exit 5']\n    health: {{tcp: 1}}\n  after:\n    image: {REDIS}\n    depends_on: {{bad: healthy}}\n"
    );
    let p = Project::new("junit", &yaml);
    let report = p.dir.path().join("report.xml");
    let r = p.run(&["up", "-d", "--junit", report.to_str().expect("utf8 path")]);
    r.code(6);
    // Parse it as XML and check the JUnit structure CI servers read.
    let check = std::process::Command::new("python3")
        .arg("-c")
        .arg(
            r#"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "testsuites", root.tag
suite = root.find("testsuite")
cases = {c.get("name"): c for c in suite.findall("testcase")}
assert int(suite.get("tests")) == len(cases) == 3, cases.keys()
assert cases["ok ready"].find("failure") is None
assert cases["bad ready"].find("failure") is not None
assert cases["after ready"].find("skipped") is not None
for c in cases.values():
    float(c.get("time")); assert c.get("classname")
print("valid")
"#,
        )
        .arg(&report)
        .output()
        .expect("python3");
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
}

/// An app whose readiness is an HTTP probe gets `DEVENV_<SERVICE>_URL` too
/// (`http://127.0.0.1:PORT`), in `devenv env` and in `devenv run`'s command
/// (issue 18 item 6; the README promises a URL per service).
#[test]
fn http_apps_get_a_url_in_env_and_run() {
    if !docker_ready() {
        return;
    }
    let p = Project::new("httpurl", "name: {project}\nservices:\n  api:\n    image: devenv-test/app:1\n    ports: [\"8080\"]\n    health: {http: /health, port: 8080}\n");
    p.run(&["--ports", "random", "up", "-d"]).ok();
    let vars = env_json(&p);
    let url = vars.get("DEVENV_API_URL").unwrap_or_else(|| panic!("no DEVENV_API_URL in {vars:?}"));
    assert_eq!(url, &format!("http://127.0.0.1:{}", vars["DEVENV_API_PORT"]));
    let port: u16 = vars["DEVENV_API_PORT"].parse().expect("port");
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    use std::io::{Read, Write};
    s.write_all(b"GET /health HTTP/1.0\r\n\r\n").expect("write");
    let mut body = String::new();
    let _ = s.read_to_string(&mut body);
    assert!(body.starts_with("HTTP/1.") && body.contains(" 200 "), "{body}");
    p.run(&["--ports", "random", "run", "--", "sh", "-c", "test -n \"$DEVENV_API_URL\" && echo \"url=$DEVENV_API_URL\""]).ok().stdout_has(&format!("url={url}"));
}
