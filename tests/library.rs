//! The library API (`devenv::api`) against real containers.

use std::io::{Read, Write};
use std::process::Command;

fn docker_ready() -> bool {
    let ok = Command::new("docker").args(["image", "inspect", "devenv-test/redis:7"]).output().is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var("DEVENV_REQUIRE_DOCKER").is_ok_and(|v| v == "1") {
            panic!("Docker and the test images are required (DEVENV_REQUIRE_DOCKER=1): run ./test.sh, which provisions them (or fixtures/images/build.sh)");
        }
        eprintln!("SKIPPED: Docker or the test images are not available");
    }
    ok
}

fn containers_of(project: &str) -> Vec<String> {
    let out = Command::new("docker")
        .args(["ps", "-a", "--filter", &format!("label=dev.devenv.project={project}"), "--format", "{{.Names}}"])
        .output()
        .expect("docker ps");
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect()
}

fn ping(port: u16) -> String {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.write_all(b"PING\r\n").expect("write");
    let mut buf = [0u8; 7];
    s.read_exact(&mut buf).expect("read");
    String::from_utf8_lossy(&buf).to_string()
}

const MAP: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/images/map.yaml");

fn write_env(dir: &std::path::Path) -> std::path::PathBuf {
    let file = dir.join("devenv.yaml");
    std::fs::write(&file, "services:\n  cache:\n    preset: redis\n    ports: [\"127.0.0.1::6379\"]\nexport:\n  REDIS_URL: ${cache.url}\n").expect("write");
    file
}

#[tokio::test(flavor = "multi_thread")]
async fn up_url_host_port_and_explicit_down() {
    if !docker_ready() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let project = format!("lib-{}", std::process::id());
    let env = devenv::api::Environment::load(write_env(dir.path()))
        .and_then(|e| e.project(&project))
        .and_then(|e| e.image_map_file(MAP))
        .expect("load");
    let running = env.up().await.expect("up");
    let port = running.host_port("cache", 6379).expect("published port");
    assert_eq!(running.url("cache"), Some(format!("redis://127.0.0.1:{port}/0").as_str()));
    assert_eq!(running.env().get("REDIS_URL").map(String::as_str), Some(format!("redis://127.0.0.1:{port}/0").as_str()));
    assert_eq!(tokio::task::spawn_blocking(move || ping(port)).await.expect("ping"), "+PONG\r\n");
    running.down().await.expect("down");
    assert!(containers_of(&project).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn dropping_the_handle_tears_down() {
    if !docker_ready() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let project = format!("lib-drop-{}", std::process::id());
    let env = devenv::api::Environment::load(write_env(dir.path()))
        .and_then(|e| e.project(&project))
        .and_then(|e| e.image_map_file(MAP))
        .expect("load");
    {
        let running = env.up().await.expect("up");
        assert_eq!(containers_of(running.project()).len(), 1);
    }
    assert!(containers_of(&project).is_empty(), "dropped handle removed its containers");
}

fn redis_cmd(port: u16, cmd: &str) -> String {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.write_all(format!("{cmd}\r\n").as_bytes()).expect("write");
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).expect("read");
    String::from_utf8_lossy(&buf[..n]).to_string()
}

fn snapshot_volumes_of(project: &str) -> Vec<String> {
    let out = Command::new("docker")
        .args(["volume", "ls", "-q", "--filter", &format!("label=dev.devenv.snapshot-of={project}")])
        .output()
        .expect("docker volume ls");
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect()
}

/// `Running::snapshot` / `restore` between tests; the snapshots go with the environment.
#[tokio::test(flavor = "multi_thread")]
async fn snapshot_and_restore_between_tests() {
    if !docker_ready() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("devenv.yaml");
    std::fs::write(&file, "services:\n  cache:\n    preset: redis\n    persist: true\n    ports: [\"127.0.0.1::6379\"]\n").expect("write");
    let project = format!("lib-snap-{}", std::process::id());
    let env = devenv::api::Environment::load(&file).and_then(|e| e.project(&project)).and_then(|e| e.image_map_file(MAP)).expect("load");
    let mut running = env.up().await.expect("up");
    let port = running.host_port("cache", 6379).expect("port");
    assert_eq!(tokio::task::spawn_blocking(move || redis_cmd(port, "SET k clean")).await.expect("set"), "+OK\r\n");
    running.snapshot("clean").await.expect("snapshot");
    let port = running.host_port("cache", 6379).expect("port after the snapshot");
    assert_eq!(tokio::task::spawn_blocking(move || redis_cmd(port, "SET k dirty")).await.expect("set"), "+OK\r\n");
    running.restore("clean").await.expect("restore");
    let port = running.host_port("cache", 6379).expect("port after the restore");
    assert_eq!(tokio::task::spawn_blocking(move || redis_cmd(port, "GET k")).await.expect("get"), "$5\r\nclean\r\n");
    assert!(!snapshot_volumes_of(&project).is_empty());
    running.down().await.expect("down");
    assert!(snapshot_volumes_of(&project).is_empty(), "the environment's snapshots went with it");
    assert!(containers_of(&project).is_empty());
}
