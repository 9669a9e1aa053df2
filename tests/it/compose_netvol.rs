//! Issue 16 (top-level volumes): a custom `name:`, `driver`/`driver_opts`/
//! `labels` and `external: true`, run by `docker compose -p <p>-compose` and by
//! `devenv -p <p>` and compared through `docker inspect`; a missing external
//! volume refused before anything is created.

use std::process::{Command, Output};

use crate::harness::*;



fn compose(p: &Project, args: &[&str]) -> Output {
    let name = format!("{}-compose", p.name);
    Command::new("docker").current_dir(p.dir.path()).args(["compose", "-p", &name]).args(args).output().expect("docker compose")
}

fn docker(args: &[&str]) -> Output {
    Command::new("docker").args(args).output().expect("docker")
}

fn volume_exists(name: &str) -> bool {
    docker(&["volume", "inspect", name]).status.success()
}

/// A volume created by this test (for `external: true`), removed when dropped.
struct OwnVolume(String);

impl OwnVolume {
    fn new(name: String) -> Self {
        let out = docker(&["volume", "create", &name]);
        assert!(out.status.success(), "docker volume create {name}: {}", String::from_utf8_lossy(&out.stderr));
        OwnVolume(name)
    }
}

impl Drop for OwnVolume {
    fn drop(&mut self) {
        let _ = docker(&["volume", "rm", "-f", &self.0]);
    }
}

const CUSTOM: &str = "services:\n  web:\n    image: devenv-test/app:1\n    volumes:\n      - data:/data\nvolumes:\n  data:\n    name: {project}-data\n    driver: local\n    driver_opts:\n      type: tmpfs\n      device: tmpfs\n      o: size=1m\n    labels:\n      com.example.tier: data\n";

/// The volume as `docker volume inspect` shows it: driver, options, the file's label.
fn volume_shape(name: &str) -> String {
    inspect(name, "{{.Driver}} {{json .Options}} {{index .Labels \"com.example.tier\"}}")
}

/// `name:` is the Docker volume's exact name; driver, options and labels are
/// those compose creates it with; the container mounts it; `down -v` removes it.
#[test]
fn a_named_volume_with_driver_options_is_created_like_compose() {
    if !compose_ready() {
        return;
    }
    let p = compose_project("c16volname", CUSTOM);
    let vol = format!("{}-data", p.name);
    let up = compose(&p, &["up", "-d"]);
    assert!(up.status.success(), "docker compose up: {}", String::from_utf8_lossy(&up.stderr));
    let by_compose = volume_shape(&vol);
    let compose_mount = inspect(&format!("{}-compose-web-1", p.name), "{{range .Mounts}}{{.Name}} {{.Destination}} {{.RW}}{{end}}");
    let down = compose(&p, &["down", "-v", "-t", "1"]);
    assert!(down.status.success() && !volume_exists(&vol), "compose's down -v removes it");

    p.run(&["-p", &p.name, "up", "-d"]).ok();
    assert_eq!(volume_shape(&vol), by_compose);
    assert_eq!(by_compose, "local {\"device\":\"tmpfs\",\"o\":\"size=1m\",\"type\":\"tmpfs\"} data");
    assert_eq!(inspect(&vol, "{{index .Labels \"dev.devenv.project\"}}"), p.name, "labelled as the project's");
    let web = p.docker_objects("container").into_iter().find(|c| c.contains("web")).expect("the web container");
    assert_eq!(inspect(&web, "{{range .Mounts}}{{.Name}} {{.Destination}} {{.RW}}{{end}}"), compose_mount);
    p.run(&["-p", &p.name, "down", "-v", "-t", "1"]).ok();
    assert!(!volume_exists(&vol), "devenv's down -v removes it");
}

const EXTERNAL: &str = "services:\n  web:\n    image: devenv-test/app:1\n    volumes:\n      - shared:/shared\nvolumes:\n  shared:\n    external: true\n    name: {project}-shared\n";

/// `external: true`: used as it is, never labelled, and kept by `down -v`
/// (compose keeps it too).
#[test]
fn an_external_volume_is_mounted_and_never_removed() {
    if !compose_ready() {
        return;
    }
    let p = compose_project("c16volext", EXTERNAL);
    let ext = OwnVolume::new(format!("{}-shared", p.name));
    let up = compose(&p, &["up", "-d"]);
    assert!(up.status.success(), "docker compose up: {}", String::from_utf8_lossy(&up.stderr));
    let compose_mount = inspect(&format!("{}-compose-web-1", p.name), "{{range .Mounts}}{{.Name}} {{.Destination}}{{end}}");
    assert!(compose(&p, &["down", "-v", "-t", "1"]).status.success());
    assert!(volume_exists(&ext.0), "compose's down -v keeps an external volume");

    p.run(&["-p", &p.name, "up", "-d"]).ok();
    let web = p.docker_objects("container").into_iter().find(|c| c.contains("web")).expect("the web container");
    assert_eq!(inspect(&web, "{{range .Mounts}}{{.Name}} {{.Destination}}{{end}}"), compose_mount);
    assert_eq!(compose_mount, format!("{} /shared", ext.0));
    assert!(p.docker_objects("volume").is_empty(), "an external volume is not labelled as the project's");
    p.run(&["-p", &p.name, "down", "-v", "-t", "1"]).ok();
    assert!(volume_exists(&ext.0), "devenv's down -v keeps an external volume");
}

/// A missing external volume: compose's message, and nothing is created
/// (compose itself creates the network first; devenv checks before).
#[test]
fn a_missing_external_volume_is_refused_and_nothing_is_created() {
    if !docker_ready() {
        return;
    }
    let p = compose_project("c16volmissing", EXTERNAL);
    let vol = format!("{}-shared", p.name);
    let r = p.run(&["-p", &p.name, "up", "-d"]);
    assert_ne!(r.code, 0, "refused:\n{}", r.stderr);
    r.stderr_has(&format!("external volume \"{vol}\" not found")).stderr_has("volumes.shared").stderr_has(&format!("docker volume create {vol}"));
    assert!(p.docker_objects("container").is_empty() && p.docker_objects("network").is_empty(), "nothing is created");
    assert!(!volume_exists(&vol), "never created");
}

const NETWORK_MODES: &str = "services:\n  web:\n    image: devenv-test/app:1\n  side:\n    image: devenv-test/app:1\n    command: [\"sh\", \"-c\", \"sleep 300\"]\n    network_mode: \"service:web\"\n  hosted:\n    image: devenv-test/app:1\n    command: [\"sh\", \"-c\", \"sleep 300\"]\n    network_mode: host\n  isolated:\n    image: devenv-test/app:1\n    command: [\"sh\", \"-c\", \"sleep 300\"]\n    network_mode: none\n";

/// HostConfig.NetworkMode with a `container:` target resolved to its service
/// (compose passes the id, devenv the name), plus the networks joined.
fn network_mode(container: &str) -> String {
    let mode = inspect(container, "{{.HostConfig.NetworkMode}}");
    let mode = match mode.strip_prefix("container:") {
        Some(target) => {
            let name = inspect(target, "{{.Name}}");
            format!("container:{}", if name.ends_with("-web") || name.ends_with("-web-1") { "web" } else { name.as_str() })
        }
        // The project network: compose passes its name, devenv its id.
        None if !["host", "none", "bridge", "default"].contains(&mode.as_str()) => "<project network>".to_string(),
        None => mode,
    };
    let nets = inspect(container, "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}");
    let nets = nets.split_whitespace().map(|n| if n.ends_with("_default") { "<project>_default" } else { n }).collect::<Vec<_>>().join(",");
    format!("{mode} [{nets}]")
}

/// What `side` (sharing `web`'s network namespace) sees on localhost:8080: `web`'s server.
fn localhost_from(container: &str) -> String {
    // The stand-in image has a minimal Python (no `http`): a raw request.
    let code = "import socket; s = socket.create_connection(('localhost', 8080), 5); s.sendall(b'GET /health HTTP/1.0\\r\\n\\r\\n'); print(s.makefile('rb').read().decode().split('\\r\\n\\r\\n')[-1])";
    let mut last = String::new();
    for _ in 0..50 {
        let out = docker(&["exec", container, "python3", "-c", code]);
        last = String::from_utf8_lossy(&out.stdout).trim().to_string() + &String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            return String::from_utf8_lossy(&out.stdout).trim().to_string();
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    last
}

/// `network_mode` host, none and `service:web`: the same NetworkMode and
/// networks as compose gives, and `side` reaches `web` on localhost.
#[test]
fn network_modes_run_like_compose() {
    if !compose_ready() {
        return;
    }
    let p = compose_project("c16netmode", NETWORK_MODES);
    let cname = format!("{}-compose", p.name);
    let up = compose(&p, &["up", "-d"]);
    assert!(up.status.success(), "docker compose up: {}", String::from_utf8_lossy(&up.stderr));
    let services = ["web", "side", "hosted", "isolated"];
    let by_compose: Vec<String> = services.iter().map(|s| network_mode(&format!("{cname}-{s}-1"))).collect();
    let compose_localhost = localhost_from(&format!("{cname}-side-1"));
    let _ = compose(&p, &["down", "-t", "1"]);

    p.run(&["-p", &p.name, "up", "-d"]).ok();
    let ours = p.docker_objects("container");
    let of = |s: &str| ours.iter().find(|c| c.ends_with(&format!("-{s}")) || c.ends_with(&format!("-{s}-1"))).cloned().unwrap_or_else(|| panic!("{s} in {ours:?}"));
    let by_devenv: Vec<String> = services.iter().map(|s| network_mode(&of(s))).collect();
    assert_eq!(by_devenv, by_compose);
    assert_eq!(by_compose[2], "host [host]");
    assert_eq!(by_compose[3], "none [none]");
    assert_eq!(compose_localhost, "ok");
    assert_eq!(localhost_from(&of("side")), "ok", "`service:web` shares web's localhost");
    p.run(&["-p", &p.name, "down", "-t", "1"]).ok();
}

/// `ports` with `network_mode: host`: refused at `ports` with file:line:col, nothing created.
#[test]
fn ports_with_host_network_mode_are_refused_and_nothing_is_created() {
    if !docker_ready() {
        return;
    }
    let p = compose_project("c16nethostports", "services:\n  web:\n    image: devenv-test/app:1\n    network_mode: host\n    ports:\n      - \"8080:8080\"\n");
    let r = p.run(&["-p", &p.name, "up", "-d"]);
    r.code(2).stderr_has("compose.yaml:5:5").stderr_has("published ports are discarded when using host network mode").stderr_has("see: README.md#compose-files");
    assert!(p.docker_objects("container").is_empty() && p.docker_objects("network").is_empty(), "nothing is created");
}
