//! Presets against stand-ins as strict as the official images (issue 15):
//! each test here failed before its fix with the strict stand-in and passes now.
//! Tests that need another mapping than `fixtures/images/map.yaml` write their
//! own image map into the project directory.

use std::process::Command;

use crate::harness::*;

/// The stand-in with the official postgres 18+ layout (see fixtures/images/README.md).
const POSTGRES_18: &str = "devenv-test/postgres:18";

/// Write `map` (YAML `reference: replacement`) next to the project and run devenv with it.
fn run_mapped(p: &Project, map: &str, args: &[&str]) -> Run {
    p.write("images.yaml", map);
    let out = p.cmd(args).env("DEVENV_IMAGE_MAP", p.dir.path().join("images.yaml")).output().expect("run devenv");
    Run::from(out)
}

/// Is the stand-in `image` built? (Missing: a failure under DEVENV_REQUIRE_DOCKER=1, else a skip.)
fn image_ready(image: &str) -> bool {
    if !docker_ready() {
        return false;
    }
    let ok = Command::new("docker").args(["image", "inspect", image]).output().is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var("DEVENV_REQUIRE_DOCKER").is_ok_and(|v| v == "1") {
            panic!("test image {image} is missing: run fixtures/images/build.sh");
        }
        eprintln!("SKIPPED: {image} missing (fixtures/images/build.sh)");
    }
    ok
}

/// Mount targets of a container, sorted.
fn mount_targets(container: &str) -> Vec<String> {
    let mut t: Vec<String> = inspect(container, "{{range .Mounts}}{{.Destination}} {{end}}").split_whitespace().map(str::to_string).collect();
    t.sort();
    t
}

/// The data volume targets `devenv config --plan` shows for service `db`.
fn planned_targets(r: &Run) -> Vec<String> {
    let plan: serde_json::Value = serde_json::from_str(&r.stdout).expect("config --plan --format json is JSON");
    let vols = plan.pointer("/services/db/volumes").and_then(|v| v.as_array()).cloned().unwrap_or_default();
    vols.iter().filter_map(|v| v.get("target").and_then(|t| t.as_str()).map(str::to_string)).collect()
}

/// Item 1: `image: postgres:18` (and `latest`, untagged) mounts the data volume
/// at the image's `VOLUME /var/lib/postgresql`, as the 18+ entrypoint demands;
/// `postgres:16` and `version: "18"` keep their layouts.
#[test]
fn postgres_18_images_get_their_volume_at_the_layout_root() {
    if !image_ready(POSTGRES_18) {
        return;
    }
    let port = free_port();
    let yaml = format!("name: {{project}}\nservices:\n  db:\n    preset: postgres\n    image: postgres:18\n    ports: ['{port}:5432']\n");
    let p = Project::new("pg18", &yaml);
    let map = format!("postgres:18: {POSTGRES_18}\n");
    let cfg = run_mapped(&p, &map, &["config", "--plan", "--format", "json"]);
    cfg.ok();
    assert_eq!(planned_targets(&cfg), vec!["/var/lib/postgresql".to_string()]);
    // The 18 stand-in refuses a mount at /var/lib/postgresql/data (exit 1), as the official entrypoint does.
    run_mapped(&p, &map, &["up", "-d", "--timeout", "90s"]).ok();
    let container = format!("{}-db", p.name);
    assert_eq!(mount_targets(&container), vec!["/var/lib/postgresql".to_string()]);
    // The data lives in the versioned PGDATA inside that volume.
    let out = Command::new("docker").args(["exec", &container, "ls", "/var/lib/postgresql/18/docker/PG_VERSION"]).output().expect("docker exec");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // Without the image locally the tag decides: `latest`/untagged = 18; 16 and a quoted version keep theirs.
    for (image_line, expected) in [
        ("    image: postgres:latest\n", "/var/lib/postgresql"),
        ("    image: postgres\n", "/var/lib/postgresql"),
        ("    image: postgres:16\n", "/var/lib/postgresql/data"),
        ("    version: \"18\"\n", "/var/lib/postgresql"),
        ("    version: \"16\"\n", "/var/lib/postgresql/data"),
    ] {
        let q = Project::new("pg18cfg", &format!("services:\n  db:\n    preset: postgres\n{image_line}"));
        let r = run_mapped(&q, "{}\n", &["config", "--plan", "--format", "json"]);
        r.ok();
        assert_eq!(planned_targets(&r), vec![expected.to_string()], "{image_line}");
        let shown = run_mapped(&q, "{}\n", &["config"]);
        shown.ok();
        assert!(shown.stdout.contains(&format!("- db-data:{expected}\n")), "`devenv config` shows {expected} for {image_line}:\n{}", shown.stdout);
    }
}

/// Item 1: what the local image declares wins over its tag: a `postgres:18`
/// tag that runs a 15-layout image (PGDATA=/var/lib/postgresql/data) mounts there.
#[test]
fn postgres_data_path_comes_from_the_local_image() {
    if !image_ready(POSTGRES_18) {
        return;
    }
    let p = Project::new("pgfacts", "services:\n  db:\n    preset: postgres\n    image: postgres:18\n");
    let to_15 = format!("postgres:18: {POSTGRES}\n");
    let r = run_mapped(&p, &to_15, &["config", "--plan", "--format", "json"]);
    r.ok();
    assert_eq!(planned_targets(&r), vec!["/var/lib/postgresql/data".to_string()]);
    let q = Project::new("pgfacts", "services:\n  db:\n    preset: postgres\n    version: \"16\"\n");
    let to_18 = format!("postgres: {POSTGRES_18}\n");
    let r = run_mapped(&q, &to_18, &["config", "--plan", "--format", "json"]);
    r.ok();
    assert_eq!(planned_targets(&r), vec!["/var/lib/postgresql".to_string()]);
}

/// Item 1: an imported compose file that already mounts /var/lib/postgresql gets
/// that one mount only (before: the preset's /var/lib/postgresql/data too, which
/// the 18 entrypoint refuses).
#[test]
fn an_imported_postgres_18_volume_is_the_only_data_mount() {
    if !image_ready(POSTGRES_18) {
        return;
    }
    let port = free_port();
    let p = Project::new("pgimport", "");
    let _ = std::fs::remove_file(p.dir.path().join("devenv.yaml"));
    p.write(
        "compose.yaml",
        &format!(
            "name: {}\nservices:\n  db:\n    image: postgres:18\n    environment:\n      POSTGRES_PASSWORD: pw\n    ports: ['{port}:5432']\n    volumes: ['pgdata:/var/lib/postgresql']\nvolumes:\n  pgdata: {{}}\n",
            p.name
        ),
    );
    let map = format!("postgres:18: {POSTGRES_18}\n");
    run_mapped(&p, &map, &["import"]).ok();
    run_mapped(&p, &map, &["up", "-d", "--timeout", "90s"]).ok();
    assert_eq!(mount_targets(&format!("{}-db", p.name)), vec!["/var/lib/postgresql".to_string()]);
}

/// Item 3: `version: 16.10` unquoted is the YAML number 16.1: refused at its
/// position with a quote-it hint (before: `postgres:16.1-alpine` ran silently);
/// short Elasticsearch/Kafka versions name no upstream tag: refused with the forms.
#[test]
fn unquoted_float_and_short_versions_are_refused_where_written() {
    if !docker_ready() {
        return;
    }
    let p = Project::new("pgfloat", "services:\n  db:\n    preset: postgres\n    version: 16.10\n");
    p.run(&["config"]).code(2).stderr_has("devenv.yaml:4:5").stderr_has("quote it: version: \"16.10\"");
    let q = Project::new("esshort", "services:\n  search:\n    preset: elasticsearch\n    version: 8\n");
    q.run(&["config"]).code(2).stderr_has("devenv.yaml:4:5").stderr_has("full versions only");
    let r = Project::new("pglatest", "services:\n  db:\n    preset: postgres\n    version: latest\n");
    let out = r.run(&["config", "--plan", "--format", "json"]);
    out.ok();
    let plan: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(plan.pointer("/services/db/image").and_then(|v| v.as_str()), Some("devenv-test/postgres:15"), "mapped from postgres:alpine");
    let unmapped = run_mapped(&r, "{}\n", &["config", "--plan", "--format", "json"]);
    assert!(unmapped.stdout.contains("\"postgres:alpine\""), "{}", unmapped.stdout);
}

/// A check job's script: AUTH with `$URL`'s password, then PING, over RESP
/// (redis-cli 7.0 sends `AUTH "" pw` for `redis://:pw@`, so it cannot check the URL).
const AUTH_PING: &str = r"
        import os, socket, time, urllib.parse as u
        r = u.urlsplit(os.environ['URL'])
        s = socket.create_connection((r.hostname, r.port))
        s.sendall(b'AUTH ' + u.unquote(r.password).encode() + b'\r\nPING\r\n')
        time.sleep(0.5)
        d = s.recv(100)
        print(d)
        assert d == b'+OK\r\n+PONG\r\n', d
";

/// Item 4: the official redis image reads no env, so `REDIS_PASSWORD` sets no
/// password: devenv must not send AUTH (before: "called without any password
/// configured" until the deadline) nor put it in URLs. `--requirepass` does.
#[test]
fn redis_password_is_the_command_s_requirepass_not_an_env() {
    if !docker_ready() {
        return;
    }
    let port = free_port();
    let yaml = format!("name: {{project}}\nservices:\n  cache:\n    preset: redis\n    env: {{REDIS_PASSWORD: pw}}\n    ports: ['{port}:6379']\n");
    let p = Project::new("redisenv", &yaml);
    p.run(&["up", "-d", "--timeout", "20s"]).ok();
    let env = env_json(&p);
    let url = env.values().find(|v| v.starts_with("redis://")).cloned().unwrap_or_default();
    assert_eq!(url, format!("redis://127.0.0.1:{port}/0"), "{env:?}");

    let port = free_port();
    let yaml = format!(
        "name: {{project}}\nservices:\n  cache:\n    preset: redis\n    command: [redis-server, --requirepass, s3cret]\n    ports: ['{port}:6379']\n  check:\n    image: {APP}\n    command:\n      - python3\n      - -c\n      - |{AUTH_PING}    env: {{URL: '${{cache.url}}'}}\n    run: once\n    depends_on: [cache]\n"
    );
    let q = Project::new("redisreq", &yaml);
    q.run(&["up", "-d", "--timeout", "30s"]).ok();
    let env = env_json(&q);
    assert!(env.values().any(|v| v == &format!("redis://:s3cret@127.0.0.1:{port}/0")), "{env:?}");
    assert_eq!(inspect(&format!("{}-check", q.name), "{{.State.ExitCode}}"), "0", "the in-network URL authenticates");
}

/// Item 2: `devenv import` runs the compose file as written: the imported
/// postgres preset adds its probe and URL, never `POSTGRES_USER=devenv` (apps
/// logging in as `postgres` failed) nor a published 5432.
#[test]
fn an_imported_compose_file_gets_no_preset_env_or_ports() {
    if !docker_ready() {
        return;
    }
    let p = Project::new("asimport", "");
    let _ = std::fs::remove_file(p.dir.path().join("devenv.yaml"));
    p.write(
        "compose.yaml",
        &format!(
            "name: {}\nservices:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: pw\n",
            p.name
        ),
    );
    p.run(&["import"]).ok();
    let _ = std::fs::remove_file(p.dir.path().join("compose.yaml"));
    let written = std::fs::read_to_string(p.dir.path().join("devenv.yaml")).expect("devenv.yaml");
    assert!(written.contains("preset: postgres") && written.contains("preset_defaults: false"), "{written}");
    p.run(&["up", "-d", "--timeout", "60s"]).ok();
    let db = format!("{}-db", p.name);
    let env = inspect(&db, "{{range .Config.Env}}{{println .}}{{end}}");
    assert!(!env.contains("POSTGRES_USER") && !env.contains("POSTGRES_DB"), "{env}");
    assert_eq!(inspect(&db, "{{json .HostConfig.PortBindings}}"), "{}");
    // An app of the compose file logs in as the image's default user.
    let network = format!("{}_default", p.name);
    let label = format!("dev.devenv.project={}", p.name);
    let out = Command::new("docker")
        .args(["run", "--rm", "--label", &label, "--network", &network, "--entrypoint", "psql", POSTGRES, "postgres://postgres:pw@db:5432/postgres", "-tAc", "select 40 + 2"])
        .output()
        .expect("docker run");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "42", "{}", String::from_utf8_lossy(&out.stderr));
    let plan = p.run(&["config", "--plan", "--format", "json"]);
    plan.ok();
    let plan: serde_json::Value = serde_json::from_str(&plan.stdout).expect("JSON");
    assert_eq!(plan.pointer("/services/db/connection/user").and_then(|v| v.as_str()), Some("postgres"));
}

/// A project holding only `compose.yaml` (`{project}` replaced), imported with `map`.
fn imported(test: &str, compose: &str, map: &str) -> Project {
    let p = Project::new(test, "");
    let _ = std::fs::remove_file(p.dir.path().join("devenv.yaml"));
    p.write("compose.yaml", &compose.replace("{project}", &p.name));
    run_mapped(&p, map, &["import"]).ok();
    let _ = std::fs::remove_file(p.dir.path().join("compose.yaml"));
    p
}

/// Item 2 (ClickHouse): with `CLICKHOUSE_SKIP_USER_SETUP=1` the official
/// entrypoint creates no user, so the preset's `devenv` credentials (before)
/// named a user that never existed and the probe failed; as written, the probe
/// logs in as the image's `default` user.
#[test]
fn an_imported_clickhouse_keeps_the_file_s_user_setup() {
    const STRICT: &str = "devenv-test/clickhouse:18-strict";
    if !image_ready(STRICT) {
        return;
    }
    let compose = "name: {project}\nservices:\n  olap:\n    image: clickhouse/clickhouse-server:24.8\n    environment:\n      CLICKHOUSE_SKIP_USER_SETUP: '1'\n";
    let map = format!("clickhouse/clickhouse-server: {STRICT}\n");
    let p = imported("chimport", compose, &map);
    run_mapped(&p, &map, &["up", "-d", "--timeout", "60s"]).ok();
    let env = inspect(&format!("{}-olap", p.name), "{{range .Config.Env}}{{println .}}{{end}}");
    assert!(!env.contains("CLICKHOUSE_USER") && !env.contains("CLICKHOUSE_PASSWORD"), "{env}");
}

/// Item 2 (Kafka): the file's own `PLAINTEXT` listener (on 29092), without the preset's
/// `KAFKA_INTER_BROKER_LISTENER_NAME=INTERNAL` (which a broker refuses when no
/// such listener is advertised: the strict stand-in exits 1 like Kafka).
#[test]
fn an_imported_kafka_keeps_the_file_s_listeners() {
    if !docker_ready() {
        return;
    }
    let compose = "name: {project}\nservices:\n  kafka:\n    image: apache/kafka:3.9.0\n    environment:\n      KAFKA_NODE_ID: '1'\n      KAFKA_PROCESS_ROLES: broker,controller\n      KAFKA_LISTENERS: PLAINTEXT://:29092,CONTROLLER://:9093\n      KAFKA_ADVERTISED_LISTENERS: PLAINTEXT://kafka:29092\n      KAFKA_CONTROLLER_LISTENER_NAMES: CONTROLLER\n      KAFKA_CONTROLLER_QUORUM_VOTERS: 1@localhost:9093\n";
    let map = format!("apache/kafka: {KAFKA}\n");
    let p = imported("kafkaimport", compose, &map);
    run_mapped(&p, &map, &["up", "-d", "--timeout", "60s"]).ok();
    let env = inspect(&format!("{}-kafka", p.name), "{{range .Config.Env}}{{println .}}{{end}}");
    assert!(!env.contains("KAFKA_INTER_BROKER_LISTENER_NAME") && env.contains("KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://kafka:29092"), "{env}");
    // The probe and `${kafka.url}` follow the file's listener, not the preset's 9092/19092.
    let plan = run_mapped(&p, &map, &["config", "--plan", "--format", "json"]);
    plan.ok();
    let plan: serde_json::Value = serde_json::from_str(&plan.stdout).expect("JSON");
    assert_eq!(plan.pointer("/services/kafka/connection/port").and_then(|v| v.as_u64()), Some(29092));
    assert_eq!(plan.pointer("/services/kafka/connection/internal_port").and_then(|v| v.as_u64()), Some(29092));
    assert_eq!(inspect(&format!("{}-kafka", p.name), "{{json .HostConfig.PortBindings}}"), "{}");
}

/// The strict Kafka stand-in refuses an inter-broker listener it does not advertise, as Kafka does.
#[test]
fn the_kafka_stand_in_refuses_an_unadvertised_inter_broker_listener() {
    if !docker_ready() {
        return;
    }
    let out = Command::new("docker")
        .args(["run", "--rm", "-e", "KAFKA_LISTENERS=PLAINTEXT://:9092", "-e", "KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://localhost:9092"])
        .args(["-e", "KAFKA_INTER_BROKER_LISTENER_NAME=INTERNAL", KAFKA])
        .output()
        .expect("docker run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("inter.broker.listener.name must be a listener name defined in advertised.listeners"));
}

/// Item 5: one data volume, the major changed (15-layout data, then an 18
/// image): before, the 18 entrypoint refused with its own message after
/// start; now devenv says what happened and the three ways out, before starting.
#[test]
fn a_major_version_change_on_one_volume_is_explained_before_start() {
    if !image_ready(POSTGRES_18) {
        return;
    }
    let p = Project::new("pgmajor", "name: {project}\nservices:\n  db:\n    preset: postgres\n    image: postgres:16\n");
    let map = format!("postgres:16: {POSTGRES}\npostgres:18: {POSTGRES_18}\n");
    run_mapped(&p, &map, &["up", "-d", "--timeout", "60s"]).ok();
    p.write("devenv.yaml", &format!("name: {}\nservices:\n  db:\n    preset: postgres\n    image: postgres:18\n", p.name));
    let r = run_mapped(&p, &map, &["up", "-d", "--timeout", "60s"]);
    r.code(4).stderr_has("holds PostgreSQL 15 data").stderr_has("runs PostgreSQL 18").stderr_has("devenv down -v").stderr_has("pg_dumpall");
    assert!(!r.stderr.contains("pg_ctlcluster"), "devenv spoke before the image's entrypoint did:\n{}", r.stderr);
}
