//! `devenv run`: the CI harness.

use crate::harness::*;

fn stack(port: u16) -> String {
    format!(
        "name: {{project}}\nservices:\n  cache:\n    preset: redis\n    ports: [\"{port}:6379\"]\nexport:\n  REDIS_URL: ${{cache.url}}\n  CACHE_ADDR: \"${{cache.host}}:${{cache.port}}\"\n"
    )
}

#[test]
fn run_passes_the_exit_code_exports_connection_info_and_tears_down() {
    if !docker_ready() {
        return;
    }
    let port = free_port();
    let p = Project::new("run", &stack(port));
    let ok = p.run(&["run", "--", "sh", "-c", "echo url=$REDIS_URL addr=$CACHE_ADDR port=$DEVENV_CACHE_PORT"]);
    ok.ok().stdout_has(&format!("url=redis://127.0.0.1:{port}/0 addr=127.0.0.1:{port} port={port}"));
    assert!(p.docker_objects("container").is_empty(), "torn down after success");
    assert!(p.docker_objects("network").is_empty());
    assert!(p.docker_objects("volume").is_empty());

    let fail = p.run(&["run", "--", "sh", "-c", "exit 3"]);
    fail.code(3);
    assert!(p.docker_objects("container").is_empty(), "torn down after failure");

    let missing = p.run(&["run", "--", "no-such-command-anywhere"]);
    missing.code(127).stderr_has("cannot run `no-such-command-anywhere`");
    assert!(p.docker_objects("container").is_empty(), "torn down when the command is missing");
}

#[test]
fn run_keep_leaves_the_environment_up() {
    if !docker_ready() {
        return;
    }
    let p = Project::new("runkeep", &stack(free_port()));
    p.run(&["run", "--keep", "--", "true"]).ok().stderr_has("--keep");
    assert!(!p.docker_objects("container").is_empty());
}

#[test]
fn run_fails_and_tears_down_when_a_service_fails() {
    if !docker_ready() {
        return;
    }
    let yaml = format!("name: {{project}}\nservices:\n  bad:\n    image: {APP}\n    command: [sh, -c, 'echo broken; exit 2']\n    health: {{tcp: 1}}\n");
    let p = Project::new("runfail", &yaml);
    p.run(&["run", "--", "true"]).code(6).stderr_has("broken");
    assert!(p.docker_objects("container").is_empty());
}

#[test]
fn two_concurrent_runs_of_one_file_with_random_ports_both_pass() {
    if !docker_ready() {
        return;
    }
    // Both would publish 6379 on the host; random ports keep them apart.
    let yaml = "name: {project}\nservices:\n  cache:\n    preset: redis\n    ports: [\"6379:6379\"]\n";
    let a = Project::new("par", yaml);
    let b = Project::new("par", yaml);
    let script = "exec 3<>/dev/tcp/127.0.0.1/$DEVENV_CACHE_PORT && printf 'PING\\r\\n' >&3 && head -c5 <&3 | grep -q PONG && echo port=$DEVENV_CACHE_PORT";
    let spawn = |p: &Project| {
        p.cmd(&["-p", &p.name, "--ports", "random", "run", "--", "bash", "-c", script])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn")
    };
    let (ca, cb) = (spawn(&a), spawn(&b));
    let (ra, rb) = (Run::from(ca.wait_with_output().expect("a")), Run::from(cb.wait_with_output().expect("b")));
    ra.ok().stdout_has("port=");
    rb.ok().stdout_has("port=");
    assert_ne!(ra.stdout, rb.stdout, "each run got its own host port");
    assert!(a.docker_objects("container").is_empty() && b.docker_objects("container").is_empty());
}

#[test]
fn gc_removes_a_project_whose_run_was_killed_and_nothing_else() {
    if !docker_ready() {
        return;
    }
    let bystander = Project::new("gc-keep", &format!("name: {{project}}\nservices:\n  keep:\n    image: {REDIS}\n"));
    bystander.run(&["up", "-d"]).ok();
    // `devenv run` SIGKILLed mid-run (its command kills it): no teardown happens.
    let victim = Project::new("gc-dead", &format!("name: {{project}}\nservices:\n  cache:\n    image: {REDIS}\n    volumes: [\"data:/data\"]\n"));
    let r = victim.run(&["run", "--", "sh", "-c", "kill -9 $PPID; sleep 1"]);
    assert_ne!(r.code, 0);
    assert!(!victim.docker_objects("container").is_empty(), "left behind by the killed run");

    let dry = victim.run(&["gc", "--dry-run"]);
    dry.ok().stderr_has(&format!("would remove project `{}`", victim.name));
    assert!(!victim.docker_objects("container").is_empty(), "--dry-run removes nothing");

    victim.run(&["gc"]).ok().stderr_has(&format!("project `{}`", victim.name));
    assert!(victim.docker_objects("container").is_empty());
    assert!(victim.docker_objects("network").is_empty());
    assert!(victim.docker_objects("volume").is_empty());
    assert_eq!(inspect(&format!("{}-keep", bystander.name), "{{.State.Running}}"), "true", "an `up -d` environment is never collected");
}

/// `export:` names a service that is not part of what runs: the export is left
/// out with a note — `run --service` still runs the command and tears down,
/// and `devenv env` after `up -d` of one service still prints (README, In CI).
#[test]
fn exports_of_services_that_do_not_run_are_left_out_with_a_note() {
    if !docker_ready() {
        return;
    }
    let port = free_port();
    let yaml = format!(
        "name: {{project}}\nservices:\n  cache:\n    preset: redis\n    ports: [\"{port}:6379\"]\n  other:\n    image: {APP}\n    command: [sleep, \"1000\"]\n    ports: [\"{}:80\"]\nexport:\n  REDIS_URL: ${{cache.url}}\n  OTHER_ADDR: \"${{other.host}}:${{other.port}}\"\n",
        free_port()
    );
    let p = Project::new("run-export", &yaml);
    let r = p.run(&["run", "--service", "cache", "--", "sh", "-c", "echo url=$REDIS_URL other=${OTHER_ADDR:-unset}"]);
    r.ok().stdout_has(&format!("url=redis://127.0.0.1:{port}/0 other=unset")).stderr_has("export `OTHER_ADDR` left out");
    assert!(p.docker_objects("container").is_empty(), "torn down");

    p.run(&["up", "-d", "cache"]).ok();
    let env = p.run(&["env", "--format", "dotenv"]);
    env.ok().stdout_has(&format!("REDIS_URL=redis://127.0.0.1:{port}/0")).stderr_has("export `OTHER_ADDR` left out");
    assert!(!env.stdout.contains("OTHER_ADDR"), "{}", env.stdout);
}

/// `devenv run` in a project that is already up (`devenv up -d`) reuses it and
/// leaves it as it found it: what was running keeps running with its data;
/// only what the run itself created is removed (issue 14, item 1).
#[test]
fn run_in_a_project_that_is_up_leaves_it_as_it_found_it() {
    if !docker_ready() {
        return;
    }
    let port = free_port();
    let yaml = format!(
        "name: {{project}}\nservices:\n  cache:\n    preset: redis\n    ports: [\"{port}:6379\"]\n  extra:\n    image: {APP}\n    command: [sleep, \"1000\"]\n    volumes: [\"scratch:/scratch\"]\nvolumes:\n  scratch: {{}}\n"
    );
    let p = Project::new("run-reuse", &yaml);
    p.run(&["up", "-d", "cache"]).ok();
    let before = p.docker_objects("container");
    assert_eq!(before.len(), 1, "{before:?}");
    let data_volumes = p.docker_objects("volume");
    p.run(&["exec", "-T", "cache", "--", "redis-cli", "SET", "dev-data", "precious"]).ok();

    // The run starts `extra` too (it is in the file): that container and its
    // volume are the run's own and go; `cache` and its data stay.
    let r = p.run(&["run", "--", "sh", "-c", "echo port=$DEVENV_CACHE_PORT"]);
    r.ok().stdout_has(&format!("port={port}")).stderr_has("left as it was");
    assert_eq!(p.docker_objects("container"), before, "only the run's own container is removed");
    assert_eq!(inspect(&before[0], "{{.State.Running}}"), "true", "the dev service keeps running");
    assert_eq!(p.docker_objects("volume"), data_volumes, "the run's volume is removed, the dev data volume kept");
    assert!(!p.docker_objects("network").is_empty(), "the project's network stays");
    p.run(&["exec", "-T", "cache", "--", "redis-cli", "GET", "dev-data"]).ok().stdout_has("precious");
}
