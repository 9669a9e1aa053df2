//! Bad input: each case gets a specific message, a documented exit code, and touches nothing.

use crate::harness::*;

fn up(yaml: &str) -> Run {
    let p = Project::new("bad", yaml);
    p.write("web/Dockerfile", "FROM debian:bookworm-slim\n");
    let r = p.run(&["up", "-d"]);
    assert!(p.docker_objects("container").is_empty() || !docker_ready());
    r
}

#[test]
fn malformed_yaml_names_file_line_and_column() {
    let r = up("services:\n  api:\n    image: [unclosed\n");
    r.code(2).stderr_has("devenv.yaml:");
    assert!(r.stderr.contains(":3:") || r.stderr.contains(":4:"), "{}", r.stderr);
}

#[test]
fn unknown_key_gets_a_did_you_mean() {
    let r = up("services:\n  api:\n    imag: redis\n");
    r.code(2).stderr_has("devenv.yaml:3:5").stderr_has("services.api.imag").stderr_has("did you mean `image`");
}

#[test]
fn unknown_dependency() {
    let r = up("services:\n  api:\n    image: x\n    depends_on: [db2]\n  db:\n    image: y\n");
    r.code(2).stderr_has("services.api.depends_on").stderr_has("db2").stderr_has(":4:");
}

#[test]
fn dependency_cycle_prints_the_cycle() {
    let r = up("services:\n  api:\n    image: x\n    depends_on: [db]\n  db:\n    image: y\n    depends_on: [api]\n");
    r.code(2).stderr_has("api -> db -> api");
}

#[test]
fn invalid_port_spec() {
    let r = up("services:\n  api:\n    image: x\n    ports: [\"80:99999\"]\n");
    r.code(2).stderr_has("services.api.ports[0]").stderr_has(":4:");
}

#[test]
fn two_services_publishing_the_same_host_port() {
    let r = up("services:\n  a:\n    image: x\n    ports: [\"8080:80\"]\n  b:\n    image: y\n    ports: [\"8080:81\"]\n");
    r.code(2).stderr_has("8080").stderr_has("`a`").stderr_has("`b`");
}

#[test]
fn missing_env_file() {
    let r = up("services:\n  a:\n    image: x\n    env_file: missing.env\n");
    r.code(2).stderr_has("missing.env").stderr_has("services.a.env_file");
}

#[test]
fn missing_build_context() {
    let r = up("services:\n  a:\n    build: ./nowhere\n");
    r.code(2).stderr_has("nowhere").stderr_has("services.a.build");
}

#[test]
fn docker_unreachable_has_a_hint_and_exit_3() {
    let p = Project::new("nodocker", "services:\n  a:\n    image: x\n");
    let out = p.cmd(&["up", "-d"]).env("DOCKER_HOST", "unix:///nonexistent/docker.sock").output().expect("run");
    let r = Run::from(out);
    r.code(3).stderr_has("cannot reach the Docker engine").stderr_has("DOCKER_HOST");
}

#[test]
fn config_masks_secrets() {
    let p = Project::new("mask", "services:\n  a:\n    image: x\n    env:\n      POSTGRES_PASSWORD: hunter2\n      DATABASE_URL: postgres://u:pw123@db/app\n");
    let r = p.run(&["config", "--format", "json"]);
    r.ok();
    assert!(!r.stdout.contains("hunter2") && !r.stdout.contains("pw123"), "{}", r.stdout);
    r.stdout_has("postgres://u:***@db/app");
}

/// A command-line usage error ends with a `see:` line like every other error (exit 2).
#[test]
fn usage_errors_link_to_the_readme() {
    let p = Project::new("usage", "services:\n  a:\n    image: x\n");
    for args in [&["up", "--no-such-flag"][..], &["frobnicate"], &["logs", "--tail", "many"]] {
        let r = p.run(args);
        r.code(2).stderr_has("error:").stderr_has("see: README.md#commands");
    }
    p.run(&["--help"]).ok();
}

/// `--progress tty` without a terminal falls back to plain lines, and says so once.
#[test]
fn progress_tty_without_a_terminal_falls_back_to_plain() {
    let p = Project::new("tty", "services:\n  a:\n    image: x\n");
    let r = p.run(&["--progress", "tty", "config"]);
    r.ok();
    assert_eq!(r.stderr.matches("falls back to plain").count(), 1, "{}", r.stderr);
    let r = p.run(&["--progress", "plain", "config"]);
    assert!(!r.stderr.contains("falls back"), "{}", r.stderr);
}

/// A pull failure names the variable the file's image came from (the hello
/// example offers `REDIS_IMAGE`), and its exit code stays 5.
#[test]
fn a_pull_failure_names_the_image_variable() {
    if !docker_ready() {
        return;
    }
    let p = Project::new("pull-var", "name: {project}\nservices:\n  cache:\n    image: ${REDIS_IMAGE:-devenv-test/never-built-anywhere:1}\n");
    let r = p.run(&["up", "-d"]);
    r.code(5).stderr_has("devenv-test/never-built-anywhere:1").stderr_has("`REDIS_IMAGE`").stderr_has("REDIS_IMAGE=IMAGE devenv up");
    r.stderr_has("see: README.md#image-map");
    p.run(&["down", "-v"]);
}

/// A file may not set devenv's own `dev.devenv.*` labels (a forged
/// `owner-pid` would let `devenv gc` delete an `up` environment with its
/// volumes): refused at file:line:col, in devenv.yaml and in a compose file,
/// before anything is created (issue 14, item 3).
#[test]
fn reserved_devenv_labels_in_a_file_are_refused_with_their_position() {
    let r = up("name: {project}\nservices:\n  api:\n    image: devenv-test/app:1\n    labels:\n      dev.devenv.owner-pid: \"1\"\n      dev.devenv.owner-host: elsewhere\n");
    r.code(2).stderr_has("devenv.yaml:6:7").stderr_has("label `dev.devenv.owner-pid` is reserved");

    let p = Project::new("bad-compose-label", "");
    let _ = std::fs::remove_file(p.dir.path().join("devenv.yaml"));
    p.write("compose.yaml", &format!("name: {}\nservices:\n  api:\n    image: devenv-test/app:1\n    labels:\n      - dev.devenv.owner-pid=1\n", p.name));
    p.run(&["up", "-d"]).code(2).stderr_has("compose.yaml:").stderr_has("is reserved");
    assert!(p.docker_objects("container").is_empty() && p.docker_objects("network").is_empty());
}

/// Read-only commands never write to the host: a compose bind mount whose
/// source is missing stays missing through `config`, `ps`, `env` and `down`;
/// only `up` creates it, as compose does (issue 14, item 13).
#[test]
fn read_only_commands_do_not_create_bind_sources() {
    if !docker_ready() {
        return;
    }
    let p = Project::new("ro-binds", "");
    let _ = std::fs::remove_file(p.dir.path().join("devenv.yaml"));
    p.write("compose.yaml", &format!("name: {}\nservices:\n  web:\n    image: devenv-test/app:1\n    command: [sleep, \"1000\"]\n    volumes: [\"./data:/data\"]\n", p.name));
    let source = p.dir.path().join("data");
    for cmd in [&["config"][..], &["ps"], &["env"], &["down"]] {
        p.run(cmd).ok();
        assert!(!source.exists(), "`devenv {}` created {}", cmd.join(" "), source.display());
    }
    p.run(&["up", "-d"]).ok();
    assert!(source.is_dir(), "`up` creates the missing bind source");
}

/// Env files are bounded and decoded per line (issue 14, items 7 and 8):
/// `env_file: /dev/zero` is refused at its position at once (it used to be
/// read until memory ran out); a `.env` with one non-UTF-8 byte keeps its
/// other lines and names the bad one; a `.env` that cannot be read is an error.
#[test]
fn env_files_are_bounded_and_decoded_per_line() {
    let p = Project::new("envzero", "name: {project}\nservices:\n  api:\n    image: devenv-test/app:1\n    env_file: /dev/zero\n");
    let t0 = std::time::Instant::now();
    p.run(&["config"]).code(2).stderr_has("devenv.yaml:5:").stderr_has("not a regular file");
    assert!(t0.elapsed() < std::time::Duration::from_secs(10), "refused at once, not read: {:?}", t0.elapsed());

    let q = Project::new("envbyte", "name: {project}\nservices:\n  api:\n    image: devenv-test/app:1\n    env:\n      A: ${A}\n      B: ${B}\n");
    std::fs::write(q.dir.path().join(".env"), b"A=first\nB=bad\xffbyte\n").expect("write .env");
    let r = q.run(&["config", "--format", "json"]);
    r.ok().stdout_has("\"A\": \"first\"").stderr_has(".env: line 2: not valid UTF-8");

    let d = Project::new("envdir", "name: {project}\nservices:\n  api:\n    image: devenv-test/app:1\n");
    std::fs::create_dir(d.dir.path().join(".env")).expect("mkdir .env");
    d.run(&["config"]).code(2).stderr_has("cannot read").stderr_has(".env");
}

/// What Docker would refuse only after objects exist — an over-long service
/// name, an invalid image reference, a preset `version` with spaces or `;`, an
/// env variable with an empty name — is exit 2 at file:line:col, with nothing
/// created (issue 14, item 6).
#[test]
fn docker_refusals_are_found_offline_at_their_position() {
    let long = "s".repeat(64);
    up(&format!("name: {{project}}\nservices:\n  {long}:\n    image: devenv-test/app:1\n")).code(2).stderr_has("devenv.yaml:3:3").stderr_has("hostname");
    up("name: {project}\nservices:\n  api:\n    image: \"Devenv-Test/App:1\"\n").code(2).stderr_has("devenv.yaml:4:5").stderr_has("invalid image reference");
    up("name: {project}\nservices:\n  db:\n    preset: postgres\n    version: \"16; rm -rf /\"\n").code(2).stderr_has("devenv.yaml:5:5").stderr_has("invalid `version`");
    up("name: {project}\nservices:\n  api:\n    image: devenv-test/app:1\n    env:\n      - =oops\n").code(2).stderr_has("devenv.yaml:6:").stderr_has("empty name");
}

/// Explicit project names are used as written or refused, never rewritten
/// (issue 14, item 9): `-p IT-…` and `name: "../it-…"` used to become the same
/// project as `it-…`, so one file's `down -v` removed the other's data. Both
/// are exit 2 now, with nothing created; a YAML tag (`!Ref`) is refused at its
/// position instead of being dropped silently (item 6).
#[test]
fn invalid_explicit_project_names_and_yaml_tags_are_refused() {
    let p = Project::new("pname", "name: {project}\nservices:\n  api:\n    image: devenv-test/app:1\n    command: [sleep, \"30\"]\n");
    let upper = p.name.to_uppercase();
    p.run(&["-p", &upper, "up", "-d"]).code(2).stderr_has("invalid project name").stderr_has("(from -p)");
    let relative = format!("../{}", p.name);
    p.write("devenv.yaml", &format!("name: \"{relative}\"\nservices:\n  api:\n    image: devenv-test/app:1\n"));
    p.run(&["up", "-d"]).code(2).stderr_has("devenv.yaml:1:1").stderr_has("invalid project name");
    p.run(&["down", "-v"]).code(2).stderr_has("invalid project name");
    p.write("devenv.yaml", &format!("name: {}\nservices:\n  api:\n    image: !Ref devenv-test/app:1\n", p.name));
    p.run(&["up", "-d"]).code(2).stderr_has("devenv.yaml:4:5").stderr_has("YAML tag `!Ref`");
    if docker_ready() {
        for kind in ["container", "network", "volume"] {
            assert!(p.docker_objects(kind).is_empty(), "{kind}s created: {:?}", p.docker_objects(kind));
        }
    }
}
