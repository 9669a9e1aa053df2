//! Seed and watch paths stay inside the project directory (issue 14 item 11):
//! an absolute seed path, a `..` escape, and a symlink leading out of the
//! project — for seeds and for watch paths — are refused at file:line:col
//! with the YAML path, exit 2, before anything is created.

use crate::harness::*;

/// `up -d` of `yaml` fails with exit 2 at `position` naming `yaml_path`, and nothing exists.
#[track_caller]
fn refused(p: &Project, position: &str, yaml_path: &str, message: &str) {
    let r = p.run(&["up", "-d"]);
    r.code(2).stderr_has(position).stderr_has(yaml_path).stderr_has(message);
    assert!(!r.stderr.contains("root:x:0:0"), "the outside file was read:\n{}", r.stderr);
    for kind in ["container", "network", "volume"] {
        assert!(p.docker_objects(kind).is_empty(), "a {kind} was created: {:?}", p.docker_objects(kind));
    }
    p.run(&["config"]).code(2).stderr_has(position);
}

fn seeded(seed: &str) -> String {
    format!("name: {{project}}\nservices:\n  db:\n    preset: postgres\n    seed:\n      - {seed}\n        table: users\n")
}

#[test]
fn seed_paths_leaving_the_project_are_refused() {
    let p = Project::new("paths-dotdot", &seeded("csv: ../../../../../../../../etc/passwd\n"));
    refused(&p, "devenv.yaml:6:9", "services.db.seed[0].csv", "outside the project directory");

    let p = Project::new("paths-abs", &seeded("csv: /etc/passwd\n"));
    refused(&p, "devenv.yaml:6:9", "services.db.seed[0].csv", "is absolute");

    let p = Project::new("paths-link", &seeded("csv: data/users.csv\n"));
    std::fs::create_dir_all(p.dir.path().join("data")).expect("mkdir");
    std::os::unix::fs::symlink("/etc/passwd", p.dir.path().join("data/users.csv")).expect("symlink");
    refused(&p, "devenv.yaml:6:9", "services.db.seed[0].csv", "outside the project directory");

    // A glob reaching into a sibling directory (both projects are temp dirs side by side).
    let outside = tempfile::tempdir().expect("tempdir");
    std::fs::write(outside.path().join("a.sql"), "select 1;").expect("write");
    let name = outside.path().file_name().and_then(|n| n.to_str()).expect("name");
    let yaml = format!("name: {{project}}\nservices:\n  db:\n    preset: postgres\n    seed:\n      - sql: ../{name}/*.sql\n");
    let p = Project::new("paths-glob", &yaml);
    assert_eq!(p.dir.path().parent(), outside.path().parent(), "side by side");
    refused(&p, "devenv.yaml:6:9", "services.db.seed[0].sql", "outside the project directory");
}

#[test]
fn a_watch_path_that_is_a_symlink_out_of_the_project_is_refused() {
    let outside = tempfile::tempdir().expect("tempdir");
    std::fs::write(outside.path().join("id_rsa"), "not for the container").expect("write");
    let yaml = "name: {project}\nservices:\n  api:\n    image: devenv-test/app:1\n    watch:\n      - path: ./src\n        target: /app/src\n";
    let p = Project::new("paths-watch", yaml);
    std::os::unix::fs::symlink(outside.path(), p.dir.path().join("src")).expect("symlink");
    refused(&p, "devenv.yaml:6:9", "services.api.watch[0].path", "outside the project directory");
}

/// Bind mounts of the host root and the Docker socket (issue 14 item 14):
/// allowed, as compose allows them, with a warning shown once per change of
/// the file's warnings, and listed by `devenv doctor`.
#[test]
fn mounting_the_host_root_or_the_docker_socket_warns_once_and_doctor_lists_it() {
    if !docker_ready() {
        return;
    }
    let yaml = "name: {project}\nservices:\n  api:\n    image: devenv-test/app:1\n    volumes:\n      - /var/run/docker.sock:/var/run/docker.sock\n      - /:/host:ro\n";
    let p = Project::new("mounts-risky", yaml);
    let cache = tempfile::tempdir().expect("tempdir");
    let run = |args: &[&str]| Run::from(p.cmd(args).env("XDG_CACHE_HOME", cache.path()).env_remove("DOCKER_HOST").output().expect("run devenv"));
    let socket = "warning: services.api.volumes: the Docker socket /var/run/docker.sock is mounted into `api` at /var/run/docker.sock";
    let root = "warning: services.api.volumes: the host's root directory / is mounted into `api` at /host: it can read every file";

    let up = run(&["up", "-d"]);
    up.ok().stderr_has(socket).stderr_has(root);
    assert_eq!(up.lines_with("the Docker socket").len(), 1, "once:\n{}", up.stderr);
    assert_eq!(inspect(&format!("{}-api", p.name), "{{range .Mounts}}{{.Source}} {{end}}").split_whitespace().count(), 2, "both mounts are made");

    let again = run(&["ps"]);
    again.ok();
    assert!(!again.stderr.contains("is mounted into"), "shown once per change, not again:\n{}", again.stderr);
    run(&["config"]).ok().stderr_has(socket);

    let doctor = run(&["doctor", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&doctor.stdout).unwrap_or_else(|e| panic!("doctor --json: {e}\n{}", doctor.stdout));
    let mounts: Vec<&serde_json::Value> = v["checks"].as_array().expect("checks").iter().filter(|c| c["check"] == "mounts").collect();
    assert_eq!(mounts.len(), 2, "{v}");
    assert!(mounts.iter().all(|m| m["level"] == "warn" && m["fix"].is_string()), "{v}");
    assert!(mounts.iter().any(|m| m["message"].as_str().is_some_and(|s| s.contains("the Docker socket"))), "{v}");
    run(&["doctor"]).stdout_has("! mounts: services.api.volumes: the host's root directory /");
}
