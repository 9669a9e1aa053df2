//! The testcontainers adapter (`devenv::testcontainers`, feature `testcontainers`,
//! enabled for this crate's own tests by its dev-dependency on itself) against
//! the real Docker engine, with the stand-in images through the test image map.

use std::io::{Read, Write};
use std::process::Command;
use std::time::Duration;

use devenv::testcontainers::{Preset, StartReady};

const MAP: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/images/map.yaml");

fn docker_ready() -> bool {
    let ok = ["devenv-test/redis:7", "devenv-test/postgres:15", "devenv-test/app:1"]
        .iter()
        .all(|i| Command::new("docker").args(["image", "inspect", i]).output().is_ok_and(|o| o.status.success()));
    if !ok {
        if std::env::var("DEVENV_REQUIRE_DOCKER").is_ok_and(|v| v == "1") {
            panic!("Docker and the test images are required (DEVENV_REQUIRE_DOCKER=1): run ./test.sh, which provisions them (or fixtures/images/build.sh)");
        }
        eprintln!("SKIPPED: Docker or the test images are not available");
    }
    ok
}

/// `docker inspect -f FORMAT ID`, or "" when there is no such container.
fn inspect(id: &str, format: &str) -> String {
    let out = Command::new("docker").args(["inspect", "-f", format, id]).output().expect("docker inspect");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Does a container with this id still exist? Testcontainers removes it on drop.
fn exists(id: &str) -> bool {
    let out = Command::new("docker").args(["ps", "-aq", "--no-trunc", "--filter", &format!("id={id}")]).output().expect("docker ps");
    !String::from_utf8_lossy(&out.stdout).trim().is_empty()
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_preset_is_ready_by_the_probe_and_answers_a_query_through_its_url() {
    if !docker_ready() {
        return;
    }
    // postgres:18 is mapped to the stand-in by fixtures/images/map.yaml (`postgres:` matches every tag).
    let pg = Preset::postgres().with_version("18").with_env("POSTGRES_DB", "orders").with_image_map_file(MAP).start_ready().await.expect("start_ready");
    let id = pg.id().to_string();
    assert_eq!(inspect(&id, "{{.Config.Image}}"), "devenv-test/postgres:15");
    assert_eq!(pg.url(), format!("postgres://devenv:devenv@127.0.0.1:{}/orders", pg.host_port()));
    // Published on loopback only, at the port the URL names.
    assert_eq!(inspect(&id, "{{(index (index .HostConfig.PortBindings \"5432/tcp\") 0).HostIp}}"), "127.0.0.1");
    assert_eq!(pg.get_host_port_ipv4(5432).await.expect("mapped port"), pg.host_port());
    // devenv's labels, with this process as owner (`devenv gc` collects it if the test is killed).
    assert_eq!(inspect(&id, "{{index .Config.Labels \"dev.devenv.owner-pid\"}}"), std::process::id().to_string());
    assert!(inspect(&id, "{{index .Config.Labels \"dev.devenv.project\"}}").starts_with("tc-postgres-"));

    // Ready means ready: the first query through the URL succeeds, no retries.
    let (client, conn) = tokio_postgres::connect(pg.url(), tokio_postgres::NoTls).await.expect("connect through the URL");
    let task = tokio::spawn(conn);
    client.batch_execute("CREATE TABLE items (n int); INSERT INTO items VALUES (20), (22);").await.expect("create + insert");
    let row = client.query_one("SELECT sum(n)::int, current_database() FROM items", &[]).await.expect("select");
    assert_eq!((row.get::<_, i32>(0), row.get::<_, String>(1)), (42, "orders".to_string()));
    drop(client);
    task.abort();

    drop(pg);
    assert!(!exists(&id), "the container is removed when the handle is dropped");
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_preset_answers_ping_through_its_url_and_is_removed_on_drop() {
    if !docker_ready() {
        return;
    }
    let redis = Preset::redis().with_image_map_file(MAP).start_ready().await.expect("start_ready");
    let id = redis.id().to_string();
    assert_eq!(inspect(&id, "{{.Config.Image}}"), "devenv-test/redis:7");
    let url = redis.url().to_string();
    let addr = url.strip_prefix("redis://").and_then(|r| r.strip_suffix("/0")).expect("redis://HOST:PORT/0").to_string();
    assert_eq!(addr, format!("127.0.0.1:{}", redis.host_port()));
    let reply = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(&addr).expect("connect");
        s.write_all(b"PING\r\nSET k devenv\r\nGET k\r\n").expect("write");
        let want = "+PONG\r\n+OK\r\n$6\r\ndevenv\r\n".len();
        let mut buf = vec![0u8; want];
        s.read_exact(&mut buf).expect("read");
        String::from_utf8_lossy(&buf).to_string()
    })
    .await
    .expect("redis client");
    assert_eq!(reply, "+PONG\r\n+OK\r\n$6\r\ndevenv\r\n");
    drop(redis);
    assert!(!exists(&id), "the container is removed when the handle is dropped");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_container_the_probe_never_accepts_fails_with_the_probe_error_and_is_removed() {
    if !docker_ready() {
        return;
    }
    // The app stand-in runs an HTTP server, not Redis: testcontainers would call it
    // started; devenv's PING probe never gets an answer on 6379.
    let err = match Preset::redis().with_image("devenv-test/app", "1").with_timeout(Duration::from_secs(2)).start_ready().await {
        Ok(c) => panic!("an HTTP server passed the Redis probe: {}", c.url()),
        Err(e) => e,
    };
    let text = err.to_string();
    assert!(text.contains("the `redis` preset (devenv-test/app:1) was not ready after 2s"), "{text}");
    assert!(text.split_once("after 2s: ").is_some_and(|(_, last)| !last.trim().is_empty()), "the probe's last error is given: {text}");
    assert!(err.detail().iter().any(|l| l.contains("listening on")), "the app's log lines are attached: {:?}", err.detail());
    assert_eq!(err.exit_code(), 6);
    // Only this test starts the app image from this process.
    let filters = ["--filter", "ancestor=devenv-test/app:1", "--filter"];
    let owner = format!("label=dev.devenv.owner-pid={}", std::process::id());
    let left = Command::new("docker").args(["ps", "-aq"]).args(filters).arg(&owner).output().expect("docker ps");
    assert!(left.stdout.is_empty(), "the failed container was removed: {}", String::from_utf8_lossy(&left.stdout));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_image_that_is_neither_here_nor_pullable_is_an_image_error() {
    if !docker_ready() {
        return;
    }
    let err = match Preset::postgres().with_image("devenv-test/no-such-image", "0").start_ready().await {
        Ok(c) => panic!("started a missing image: {}", c.url()),
        Err(e) => e,
    };
    assert_eq!(err.exit_code(), 5, "{err}");
    assert!(err.to_string().contains("the `postgres` preset's image devenv-test/no-such-image:0 is not here and cannot be pulled"), "{err}");
    assert!(err.hint().is_some_and(|h| h.contains("with_image_map_file")), "{:?}", err.hint());
}
