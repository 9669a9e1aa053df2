//! up → ps → re-up → edit → up → down, ordering, one-shot jobs, failures, Ctrl-C.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::harness::*;

pub(crate) fn http_get(port: u16, path: &str) -> String {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").expect("write");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[test]
fn up_ps_reup_edit_down() {
    if !docker_ready() {
        return;
    }
    let (p1, p2) = (free_port(), free_port());
    let yaml = format!(
        r#"name: {{project}}
services:
  cache:
    image: {REDIS}
    ports: ["{p1}:6379"]
    volumes: ["cache-data:/data"]
    health: {{tcp: 6379}}
  api:
    image: {APP}
    env: {{GREETING: hello-one, PORT: "8080"}}
    ports: ["{p2}:8080"]
    health: {{http: /health, port: 8080}}
    depends_on: {{cache: healthy}}
"#
    );
    let p = Project::new("life", &yaml);
    let r = p.run(&["up", "-d"]);
    r.ok();
    assert_eq!(r.lines_with("cache ready in").len(), 1, "{}", r.stderr);
    assert_eq!(r.lines_with("api ready in").len(), 1, "{}", r.stderr);
    assert!(http_get(p2, "/").contains("hello-one"));

    // Published ports bind to loopback unless an address is written.
    let host_ip = inspect(&format!("{}-api", p.name), "{{(index (index .HostConfig.PortBindings \"8080/tcp\") 0).HostIp}}");
    assert_eq!(host_ip, "127.0.0.1");

    let ps = p.run(&["ps", "--json"]);
    ps.ok();
    let rows: serde_json::Value = serde_json::from_str(&ps.stdout).expect("ps --json is JSON");
    let rows = rows.as_array().expect("array");
    assert_eq!(rows.len(), 2);
    for row in rows {
        assert_eq!(row["state"], "running", "{row}");
        assert_eq!(row["health"], "healthy", "{row}");
    }
    let human = p.run(&["ps"]);
    human.ok().stdout_has("SERVICE").stdout_has(&format!("127.0.0.1:{p2}->8080/tcp"));

    // Unchanged: nothing to do, nothing recreated.
    let id_before = inspect(&format!("{}-cache", p.name), "{{.Id}}");
    let again = p.run(&["up", "-d"]);
    again.ok().stderr_has("nothing to do");
    assert!(again.lines_with("creat").is_empty(), "{}", again.stderr);

    // Edit one service: only it is recreated.
    p.write("devenv.yaml", &yaml.replace("{project}", &p.name).replace("hello-one", "hello-two"));
    let edit = p.run(&["up", "-d"]);
    edit.ok();
    assert_eq!(edit.lines_with("api recreating (configuration changed)").len(), 1, "{}", edit.stderr);
    assert_eq!(edit.lines_with("cache running, unchanged").len(), 1, "{}", edit.stderr);
    assert_eq!(inspect(&format!("{}-cache", p.name), "{{.Id}}"), id_before);
    assert!(http_get(p2, "/").contains("hello-two"));

    // Logs are multiplexed with a service prefix.
    let logs = p.run(&["logs", "api"]);
    logs.ok().stdout_has("api |");

    let down = p.run(&["down", "-v"]);
    down.ok().stderr_has("1 volume");
    assert!(p.docker_objects("container").is_empty());
    assert!(p.docker_objects("network").is_empty());
    assert!(p.docker_objects("volume").is_empty());
}

#[test]
fn slow_dependency_orders_startup_and_one_shot_completes() {
    if !docker_ready() {
        return;
    }
    // `cache` takes 2 s before listening. `check` connects to it and must find it ready;
    // `api` waits until `check` has completed.
    let yaml = format!(
        r#"name: {{project}}
services:
  cache:
    image: {REDIS}
    command: ["sh", "-c", "sleep 2; exec redis-server --bind 0.0.0.0 --protected-mode no"]
    health: {{tcp: 6379, interval: 50ms}}
  check:
    image: {APP}
    command: ["bash", "-c", "exec 3<>/dev/tcp/cache/6379 && printf 'PING\r\n' >&3 && head -c5 <&3 | grep -q PONG && echo check-passed"]
    run: once
    depends_on: {{cache: healthy}}
  api:
    image: {APP}
    depends_on: {{check: completed}}
    health: {{http: /health, port: 8080}}
"#
    );
    let p = Project::new("order", &yaml);
    let r = p.run(&["up", "-d"]);
    r.ok();
    let pos = |needle: &str| r.stderr.find(needle).unwrap_or_else(|| panic!("no {needle:?} in\n{}", r.stderr));
    assert!(pos("cache ready in") < pos("check starting"));
    assert!(pos("check completed in") < pos("api starting"));
    let logs = p.run(&["logs", "check"]);
    logs.ok().stdout_has("check-passed");

    // Re-up: the completed job is not run again.
    let again = p.run(&["up", "-d"]);
    again.ok().stderr_has("nothing to do");
}

#[test]
fn failing_one_shot_stops_dependents() {
    if !docker_ready() {
        return;
    }
    let yaml = format!(
        r#"name: {{project}}
services:
  migrate:
    image: {APP}
    command: ["sh", "-c", "echo migration-broke; exit 3"]
    run: once
  api:
    image: {APP}
    depends_on: {{migrate: completed}}
"#
    );
    let p = Project::new("oneshot", &yaml);
    let r = p.run(&["up", "-d"]);
    r.code(6).stderr_has("exited with code 3").stderr_has("migration-broke").stderr_has("api not started");
    assert!(!p.docker_objects("container").iter().any(|c| c.ends_with("-api")), "api must not be created");
}

#[test]
fn container_exiting_while_starting_shows_its_logs() {
    if !docker_ready() {
        return;
    }
    let yaml = format!(
        r#"name: {{project}}
services:
  crashy:
    image: {APP}
    command: ["sh", "-c", "for i in $$(seq 1 40); do echo line-$$i; done; exit 4"]
    health: {{tcp: 9999}}
"#
    );
    let p = Project::new("crash", &yaml);
    let r = p.run(&["up", "-d"]);
    r.code(6).stderr_has("exited with code 4").stderr_has("line-40").stderr_has("hint:");
    assert!(!r.stderr.contains("line-10\n"), "only the last 30 lines are shown:\n{}", r.stderr);
}

#[test]
fn up_wait_reports_every_failing_service_and_the_dependents_not_started() {
    if !docker_ready() {
        return;
    }
    // Two independent failures: `bad` exits non-zero while starting; `slow`'s image
    // HEALTHCHECK never passes, so `--timeout` is its deadline. `app` needs `bad`.
    let yaml = format!(
        r#"name: {{project}}
services:
  bad:
    image: {APP}
    command: ["sh", "-c", "echo bad-config-missing; exit 3"]
    health: {{tcp: 9999}}
  slow:
    build: ./slow
  app:
    image: {APP}
    depends_on: {{bad: healthy}}
"#
    );
    let p = Project::new("multifail", &yaml);
    p.write("slow/Dockerfile", "FROM debian:bookworm-slim\nHEALTHCHECK --interval=1s --timeout=1s --retries=1 CMD false\nCMD [\"sh\", \"-c\", \"echo slow-still-warming-up; exec sleep 1000\"]\n");
    let junit = p.dir.path().join("report.xml");
    let r = p.run(&["up", "--wait", "--timeout", "4s", "--junit", junit.to_str().expect("utf-8 path")]);
    r.code(6)
        .stderr_has("error: 2 services failed: bad, slow; timeout reached: slow not ready; not started: app")
        // Per failing service: its error (the probe's last one) and its last log lines.
        .stderr_has("`bad` exited with code 3 while starting")
        .stderr_has("bad | bad-config-missing")
        .stderr_has("`slow` was not ready after 4s: image HEALTHCHECK status: unhealthy")
        .stderr_has("slow | slow-still-warming-up")
        .stderr_has("app: not started: dependency `bad` failed")
        .stderr_has("app not started: dependency `bad` failed")
        .stderr_has("hint: the last 20 log lines of each failing service are above");
    assert!(!r.stderr.contains("app failed"), "a dependent is not a failure of its own:\n{}", r.stderr);

    // One failing JUnit test case per failing service; the dependent is skipped.
    let xml = std::fs::read_to_string(&junit).expect("junit report written");
    assert!(xml.contains("tests=\"3\" failures=\"2\" errors=\"0\" skipped=\"1\""), "{xml}");
    assert!(xml.contains("bad | bad-config-missing</failure>"), "{xml}");
    assert!(xml.contains("<failure message=\"`slow` was not ready after 4s: image HEALTHCHECK status: unhealthy\">"), "{xml}");
    assert!(xml.contains("name=\"app ready\" time=\"0.000\">\n      <skipped message=\"dependency `bad` failed\"/>"), "{xml}");

    // Cleanup as before: failed containers stay for `devenv logs`, the dependent was never created.
    let containers = p.docker_objects("container");
    assert!(containers.iter().any(|c| c.ends_with("-bad")) && containers.iter().any(|c| c.ends_with("-slow")), "{containers:?}");
    assert!(!containers.iter().any(|c| c.ends_with("-app")), "app must not be created: {containers:?}");
    p.run(&["logs", "bad"]).ok().stdout_has("bad-config-missing");
    p.run(&["down", "-v", "-t", "1"]).ok();
    assert!(p.docker_objects("container").is_empty());
    assert!(p.docker_objects("network").is_empty());
}

#[test]
fn build_success_and_failure() {
    if !docker_ready() {
        return;
    }
    let yaml = r#"name: {project}
services:
  web:
    build: ./web
    health: {log: "hi-from-build"}
"#;
    let p = Project::new("build", yaml);
    p.write("web/Dockerfile", "FROM debian:bookworm-slim\nCOPY hello.txt /hello.txt\nCMD [\"sh\", \"-c\", \"cat /hello.txt; exec sleep 1000\"]\n");
    p.write("web/hello.txt", "hi-from-build\n");
    p.write("web/.dockerignore", "secret.txt\n");
    p.write("web/secret.txt", "nope\n");
    let r = p.run(&["up", "-d"]);
    r.ok().stderr_has("web built").stderr_has("web ready in");

    // `up --build` rebuilds even though the file did not change, and recreates
    // the service because its image did.
    p.write("web/hello.txt", "hi-from-build, second edition\n");
    p.run(&["up", "-d"]).ok().stderr_has("nothing to do");
    p.run(&["up", "-d", "--build"]).ok().stderr_has("web built");
    let out = std::process::Command::new("docker").args(["exec", &format!("{}-web", p.name), "cat", "/hello.txt"]).output().expect("docker exec");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hi-from-build, second edition\n");

    let bad = Project::new("buildfail", yaml);
    bad.write("web/Dockerfile", "FROM debian:bookworm-slim\nRUN echo step-output-before-failure && false\n");
    let r = bad.run(&["up", "-d"]);
    r.code(5).stderr_has("step-output-before-failure").stderr_has("build of");
    assert!(bad.docker_objects("container").is_empty());
}

#[test]
fn unpullable_image_fails_with_exit_5() {
    if !docker_ready() {
        return;
    }
    let p = Project::new("pull", "name: {project}\nservices:\n  x:\n    image: devenv-test/does-not-exist:1\n");
    let r = p.run(&["up", "-d"]);
    r.code(5).stderr_has("cannot pull `devenv-test/does-not-exist:1`").stderr_has("hint:");
    assert!(p.docker_objects("container").is_empty());
}

#[test]
fn host_port_in_use_is_found_before_anything_is_created() {
    if !docker_ready() {
        return;
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let yaml = format!("name: {{project}}\nservices:\n  cache:\n    image: {REDIS}\n    ports: [\"{port}:6379\"]\n");
    let p = Project::new("portbusy", &yaml);
    let r = p.run(&["up", "-d"]);
    r.code(4).stderr_has(&format!("host port {port}")).stderr_has("already in use");
    assert!(p.docker_objects("container").is_empty());
    assert!(p.docker_objects("network").is_empty());
    drop(listener);
}

#[test]
fn orphans_are_reported_then_removed_on_request() {
    if !docker_ready() {
        return;
    }
    let yaml = format!("name: {{project}}\nservices:\n  a:\n    image: {REDIS}\n  b:\n    image: {REDIS}\n");
    let p = Project::new("orphans", &yaml);
    p.run(&["up", "-d"]).ok();
    p.write("devenv.yaml", &format!("name: {}\nservices:\n  a:\n    image: {REDIS}\n", p.name));
    p.run(&["up", "-d"]).ok().stderr_has("b not in the file any more");
    assert!(p.docker_objects("container").iter().any(|c| c.ends_with("-b")));
    p.run(&["up", "-d", "--remove-orphans"]).ok().stderr_has("b removed");
    assert!(!p.docker_objects("container").iter().any(|c| c.ends_with("-b")));
}

#[test]
fn ctrl_c_during_up_undoes_this_run_only() {
    if !docker_ready() {
        return;
    }
    // Another project that must survive.
    let other = Project::new("bystander", &format!("name: {{project}}\nservices:\n  keep:\n    image: {REDIS}\n"));
    other.run(&["up", "-d"]).ok();

    let yaml = format!(
        r#"name: {{project}}
services:
  fast:
    image: {REDIS}
  never:
    image: {APP}
    health: {{log: "this line never appears", timeout: 5m}}
    volumes: ["data:/data"]
volumes:
  data: {{}}
"#
    );
    let p = Project::new("sigint", &yaml);
    let mut child = p.cmd(&["up", "-d"]).stderr(Stdio::piped()).stdout(Stdio::null()).spawn().expect("spawn");
    let stderr = child.stderr.take().expect("stderr");
    let mut reader = BufReader::new(stderr);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || Instant::now() > deadline {
            panic!("never saw the probe start:\n{seen}");
        }
        seen.push_str(&line);
        if line.contains("never waiting until ready") {
            break;
        }
    }
    assert!(!p.docker_objects("container").is_empty());
    // SAFETY: sending SIGINT to our own child process.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let mut rest = String::new();
    let _ = reader.read_to_string(&mut rest);
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(130), "{seen}{rest}");
    assert!(p.docker_objects("container").is_empty(), "this run's containers are removed:\n{rest}");
    assert!(p.docker_objects("network").is_empty(), "and the network it created (README: what this run created is removed):\n{rest}");
    assert!(p.docker_objects("volume").is_empty(), "and the volumes it created:\n{rest}");
    assert_eq!(inspect(&format!("{}-keep", other.name), "{{.State.Running}}"), "true");
    assert!(!other.docker_objects("network").is_empty(), "the bystander's network stays");
}

#[test]
fn log_probe_of_a_restarted_service_waits_for_this_runs_line() {
    if !docker_ready() {
        return;
    }
    // The second start prints the ready line only after 3 s; the first run's line is still in the log.
    let yaml = format!(
        "name: {{project}}\nservices:\n  w:\n    image: {APP}\n    command: [sh, -c, \"trap 'exit 0' TERM; if [ -f /tmp/ran ]; then sleep 3; fi; touch /tmp/ran; echo worker ready; while true; do sleep 0.2; done\"]\n    health: {{log: worker ready}}\n"
    );
    let p = Project::new("logrestart", &yaml);
    p.run(&["up", "-d"]).ok();
    // Docker's `logs --since` counts whole seconds: stop in a later second than the first line.
    std::thread::sleep(Duration::from_millis(1100));
    let stop = std::process::Command::new("docker").args(["stop", "-t", "2", &format!("{}-w", p.name)]).output().expect("docker stop");
    assert!(stop.status.success(), "{}", String::from_utf8_lossy(&stop.stderr));
    let started = Instant::now();
    p.run(&["up", "-d"]).ok().stderr_has("w ready in");
    assert!(started.elapsed() >= Duration::from_millis(2500), "ready after {:?}: the previous run's log line was taken", started.elapsed());
}

/// A finished one-shot job is not "running" on a second `up`, and `ps` shows
/// health only as healthy/unhealthy/starting or `-` (never "running").
#[test]
fn a_finished_job_is_not_running_and_health_is_never_running() {
    if !docker_ready() {
        return;
    }
    let yaml = "name: {project}\nservices:\n  job:\n    image: debian:bookworm-slim\n    command: [\"true\"]\n    run: once\n  box:\n    image: debian:bookworm-slim\n    command: [\"sleep\", \"300\"]\n    env: {V: \"1\"}\n";
    let p = Project::new("once-again", yaml);
    p.run(&["up", "-d"]).ok();
    let again = p.run(&["up", "-d"]);
    again.ok();
    assert!(again.lines_with("job running").is_empty(), "{}", again.stderr);
    // Something else changes: the job is kept and said to be done.
    p.write("devenv.yaml", &yaml.replace("{project}", &p.name).replace("V: \"1\"", "V: \"2\""));
    let edit = p.run(&["up", "-d"]);
    edit.ok();
    assert!(edit.lines_with("job running").is_empty(), "{}", edit.stderr);
    assert_eq!(edit.lines_with("job completed earlier, unchanged").len(), 1, "{}", edit.stderr);
    let ps = p.run(&["ps", "--json"]);
    ps.ok();
    let rows: serde_json::Value = serde_json::from_str(&ps.stdout).expect("ps --json is JSON");
    let row = rows.as_array().and_then(|a| a.iter().find(|r| r["service"] == "box")).cloned().expect("box listed");
    assert_eq!((row["state"].as_str(), row["health"].as_str()), (Some("running"), Some("-")), "{row}");
    let human = p.run(&["ps"]);
    let line = human.stdout.lines().find(|l| l.starts_with("box")).unwrap_or_else(|| panic!("box listed: {}", human.stdout));
    assert_eq!(line.split_whitespace().nth(2), Some("-"), "the HEALTH column: {}", human.stdout);
    p.run(&["down", "-v"]).ok();
}

/// Volume names mounted in a container (named and anonymous).
fn mounted_volumes(container: &str) -> Vec<String> {
    inspect(container, "{{range .Mounts}}{{if eq .Type \"volume\"}}{{.Name}} {{end}}{{end}}").split_whitespace().map(str::to_string).collect()
}

fn volume_exists(name: &str) -> bool {
    std::process::Command::new("docker").args(["volume", "inspect", name]).output().is_ok_and(|o| o.status.success())
}

/// Anonymous volumes (an image's `VOLUME`, a `/path` entry) carry the
/// project's label and go with the project; images devenv built go with
/// `down --rmi local` and with the test harness's cleanup.
#[test]
fn anonymous_volumes_and_built_images_leave_with_the_project() {
    if !docker_ready() {
        return;
    }
    let yaml = format!(
        r#"name: {{project}}
services:
  cache:
    image: {REDIS}
    volumes: ["/scratch"]
  web:
    build: ./web
    health: {{log: "web-up"}}
"#
    );
    let setup = |p: &Project| {
        p.write("web/Dockerfile", "FROM debian:bookworm-slim\nVOLUME /cache\nCMD [\"sh\", \"-c\", \"echo web-up; exec sleep 1000\"]\n");
        p.run(&["up", "-d"]).ok().stderr_has("web built");
        let mut volumes = mounted_volumes(&format!("{}-cache", p.name));
        volumes.extend(mounted_volumes(&format!("{}-web", p.name)));
        // redis's VOLUME /data, /scratch, and the built image's VOLUME /cache.
        assert_eq!(volumes.len(), 3, "{volumes:?}");
        let mut labelled = p.docker_objects("volume");
        labelled.sort();
        volumes.sort();
        assert_eq!(labelled, volumes, "every anonymous volume carries the project's label");
        assert_eq!(p.docker_objects("image").len(), 1, "the built image carries the project's label");
        volumes
    };

    // `down -v --rmi local`: no volume, no image of the project is left.
    let p = Project::new("leftovers", &yaml);
    let volumes = setup(&p);
    p.run(&["down", "-v", "--rmi", "local", "-t", "1"]).ok().stderr_has("1 image");
    assert!(volumes.iter().all(|v| !volume_exists(v)), "volumes left: {volumes:?}");
    assert!(p.docker_objects("volume").is_empty() && p.docker_objects("image").is_empty());
    assert_eq!(inspect(&format!("{}-web:devenv", p.name), "{{.Id}}"), "", "the built image is gone");

    // Plain `down` removes anonymous volumes with their containers; the
    // harness's cleanup (what every test does when it ends) removes the image.
    let q = Project::new("leftovers-harness", &yaml);
    let volumes = setup(&q);
    q.run(&["down", "-t", "1"]).ok();
    assert!(volumes.iter().all(|v| !volume_exists(v)), "anonymous volumes outlived their containers: {volumes:?}");
    assert_eq!(q.docker_objects("image").len(), 1, "`down` without --rmi keeps the image");
    let name = q.name.clone();
    drop(q);
    let filter = format!("label=dev.devenv.project={name}");
    let left = std::process::Command::new("docker").args(["images", "-q", "--filter", &filter]).output().expect("docker images");
    assert!(left.stdout.is_empty(), "the harness left images of {name}: {}", String::from_utf8_lossy(&left.stdout));
}

/// `up --trace` prints each service's phases after the run, in the order
/// they became ready, with the dependent's start measured from its last
/// dependency's `ready`.
#[test]
fn up_trace_prints_each_services_phases() {
    if !docker_ready() {
        return;
    }
    let yaml = format!("name: {{project}}\nservices:\n  cache:\n    image: {REDIS}\n    health: {{tcp: 6379}}\n  api:\n    image: {APP}\n    env: {{PORT: \"8080\"}}\n    health: {{http: /health, port: 8080}}\n    depends_on: {{cache: healthy}}\n");
    let p = Project::new("trace", &yaml);
    let r = p.run(&["up", "-d", "--trace"]);
    r.ok().stderr_has("trace: ms since devenv began");
    let rows: Vec<Vec<&str>> = r.stderr.lines().skip_while(|l| !l.starts_with("trace:")).skip(1).map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(rows[0][..3], ["service", "waiting", "created"], "{}", r.stderr);
    let (cache, api) = (&rows[1], &rows[2]);
    assert_eq!((cache[0], api[0]), ("cache", "api"), "ready order:\n{}", r.stderr);
    let num = |row: &Vec<&str>, i: usize| row[i].parse::<i64>().unwrap_or_else(|_| panic!("column {i} of {row:?} is not a number:\n{}", r.stderr));
    // cache: created ≤ started ≤ probing ≤ ready.
    assert!(num(cache, 2) <= num(cache, 3) && num(cache, 3) <= num(cache, 4) && num(cache, 4) <= num(cache, 6), "{cache:?}");
    // api waited on cache, and started after cache was ready.
    let after_deps = num(api, api.len() - 1);
    assert!((0..60_000).contains(&after_deps), "{api:?}");
    assert!(num(api, 3) >= num(cache, 6), "api started before cache was ready: {}", r.stderr);
    assert!(rows.last().is_some_and(|l| l[0] == "(whole"), "{}", r.stderr);
}

/// `run --trace` prints the same table once the command ran and the
/// environment is torn down; the command's exit code is still the run's.
#[test]
fn run_trace_prints_the_table_and_keeps_the_commands_exit_code() {
    if !docker_ready() {
        return;
    }
    let yaml = format!("name: {{project}}\nservices:\n  cache:\n    image: {REDIS}\n    health: {{tcp: 6379}}\n");
    let p = Project::new("runtrace", &yaml);
    let r = p.run(&["run", "--trace", "--", "sh", "-c", "exit 3"]);
    r.code(3).stderr_has("trace: ms since devenv began");
    let rows: Vec<Vec<&str>> = r.stderr.lines().skip_while(|l| !l.starts_with("trace:")).skip(1).map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(rows.first().map(|r| r[0]), Some("service"), "{}", r.stderr);
    assert!(rows.iter().any(|row| row[0] == "cache" && row.len() > 6 && row[6].parse::<i64>().is_ok()), "a ready time for cache:\n{}", r.stderr);
    assert!(p.docker_objects("container").is_empty(), "run tore down");
}
