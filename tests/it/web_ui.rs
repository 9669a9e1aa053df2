//! `devenv ui` end to end: a real environment, the real `devenv ui --no-open`,
//! and the page in a real headless browser (Debian's chromium driven by
//! playwright-core; test.sh installs both): every service ready, a container
//! killed from outside turns red within a second, the restart button brings it
//! back, logs stream, a wrong or missing token gets 403 and changes nothing.
//! Then the re-seed, reset and rebuild buttons, the seed status and the last
//! sync of a `devenv watch` running alongside (tests/browser/actions.mjs).
//! Screenshots land in `$CARGO_TARGET_TMPDIR/web-ui*/` (test artifacts).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use crate::harness::*;

/// The browser and playwright-core, or why they are missing (a failure under DEVENV_REQUIRE_DOCKER=1).
fn browser_tools() -> Option<(PathBuf, PathBuf)> {
    let chromium = std::env::var_os("DEVENV_CHROMIUM").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    let cache = std::env::var_os("DEVENV_CI_CACHE").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/var/cache/devenv-ci"));
    let playwright = std::env::var_os("DEVENV_PLAYWRIGHT_DIR").map(PathBuf::from).unwrap_or_else(|| cache.join("playwright"));
    let node = Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success());
    let missing: Vec<String> = [
        (!chromium.exists()).then(|| format!("chromium at {}", chromium.display())),
        (!playwright.join("node_modules/playwright-core/package.json").exists()).then(|| format!("playwright-core in {}", playwright.display())),
        (!node).then(|| "node".to_string()),
    ]
    .into_iter()
    .flatten()
    .collect();
    if missing.is_empty() {
        return Some((chromium, playwright));
    }
    let why = format!("browser tools missing: {} (.ci/browser-tools.sh, run by test.sh, installs them)", missing.join(", "));
    if std::env::var("DEVENV_REQUIRE_DOCKER").is_ok_and(|v| v == "1") {
        panic!("{why}");
    }
    eprintln!("SKIPPED: {why}");
    None
}

/// `devenv ui` running; killed when dropped.
struct Served(Child);
impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn raw_get(addr: &str, path: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).expect("connect to devenv ui");
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").expect("write");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[test]
fn ui_in_a_real_browser() {
    if !docker_ready() {
        return;
    }
    let Some((chromium, playwright)) = browser_tools() else { return };
    let (p_db, p_cache, p_api) = (free_port(), free_port(), free_port());
    let yaml = format!(
        r#"name: {{project}}
services:
  db:
    preset: postgres
    ports: ["{p_db}:5432"]
  cache:
    image: {REDIS}
    ports: ["{p_cache}:6379"]
    health: {{tcp: 6379}}
  api:
    image: {APP}
    env: {{PORT: "8080", GREETING: hello}}
    ports: ["{p_api}:8080"]
    health: {{http: /health, port: 8080}}
    depends_on: {{cache: healthy, db: healthy}}
"#
    );
    let p = Project::new("webui", &yaml);
    p.run(&["up", "-d"]).ok();

    let mut child = p.cmd(&["ui", "--no-open"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn devenv ui");
    let stdout = child.stdout.take().expect("stdout");
    let served = Served(child);
    let mut url = String::new();
    BufReader::new(stdout).read_line(&mut url).expect("read the URL");
    let url = url.trim().to_string();
    assert!(url.starts_with("http://127.0.0.1:") && url.contains("/?token="), "devenv ui printed {url:?}");
    let addr = url.trim_start_matches("http://").split('/').next().expect("host:port").to_string();
    let token = url.split("token=").nth(1).expect("token");
    assert_eq!(token.len(), 32, "a 128-bit hex token: {token}");

    // Nothing listens on the machine's other addresses.
    let port: u16 = addr.rsplit(':').next().and_then(|p| p.parse().ok()).expect("port");
    let others = Command::new("hostname").arg("-I").output().map(|o| String::from_utf8_lossy(&o.stdout).to_string()).unwrap_or_default();
    for ip in others.split_whitespace().filter_map(|ip| ip.parse::<std::net::IpAddr>().ok()).filter(|ip| !ip.is_loopback()) {
        let reached = std::net::TcpStream::connect_timeout(&(ip, port).into(), std::time::Duration::from_secs(1)).is_ok();
        assert!(!reached, "devenv ui answers on {ip}:{port}, not only on 127.0.0.1");
    }

    // Without the token: 403, from the server itself (not only the page's view).
    assert!(raw_get(&addr, "/").starts_with("HTTP/1.1 403"), "{}", raw_get(&addr, "/"));
    assert!(raw_get(&addr, "/api/state?token=nope").starts_with("HTTP/1.1 403"));
    let state = raw_get(&addr, &format!("/api/state?token={token}"));
    assert!(state.starts_with("HTTP/1.1 200") && state.contains(&format!("\"project\":\"{}\"", p.name)), "{state}");

    let artifacts = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("web-ui");
    let _ = std::fs::remove_dir_all(&artifacts);
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser/ui.mjs");
    let out = Command::new("node")
        .arg(&script)
        .env("DEVENV_UI_URL", &url)
        .env("DEVENV_CHROMIUM", &chromium)
        .env("DEVENV_PLAYWRIGHT_DIR", &playwright)
        .env("ARTIFACTS", &artifacts)
        .env("KILL_CONTAINER", format!("{}-api", p.name))
        .env("KILL_SERVICE", "api")
        .env("SERVICES", "db,cache,api")
        .env("MASKED_SERVICE", "db")
        .env("LOG_URL", format!("http://127.0.0.1:{p_api}"))
        .output()
        .expect("run node");
    let (so, se) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && so.contains("PASS"), "browser test failed\nstdout:\n{so}\nstderr:\n{se}");
    for check in ["every service ready", "turned red in", "restart button brought api back", "logs stream", "logs follow the restarted container", "403 for", "masked"] {
        assert!(so.contains(check), "no `{check}` in:\n{so}");
    }
    for shot in ["01-ready-1280x800.png", "02-logs-1280x800.png", "03-killed-1280x800.png", "04-narrow-400.png"] {
        let f = artifacts.join(shot);
        assert!(std::fs::metadata(&f).is_ok_and(|m| m.len() > 1000), "screenshot {} missing", f.display());
    }
    eprintln!("{so}screenshots: {}", artifacts.display());

    // The same page survives the environment going down and coming up again (by label).
    let state = || raw_get(&addr, &format!("/api/state?token={token}"));
    let wait_for = |what: &str, n: usize| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let s = state();
            if s.matches(what).count() == n {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "never {n}× `{what}`:\n{s}");
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    };
    p.run(&["down", "-t", "1"]).ok();
    wait_for("\"health\":\"absent\"", 3);
    p.run(&["up", "-d"]).ok();
    wait_for("\"health\":\"ready\"", 3);
    drop(served);
}

/// Read from `addr` `path` (a server-sent events stream) until `done` says so or `secs` pass.
fn read_stream_until(addr: &str, path: &str, secs: u64, done: impl Fn(&str) -> bool) -> String {
    let mut s = std::net::TcpStream::connect(addr).expect("connect to the page");
    s.set_read_timeout(Some(std::time::Duration::from_millis(500))).expect("timeout");
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").expect("write");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    let mut out = String::new();
    let mut buf = [0u8; 8192];
    while std::time::Instant::now() < deadline && !done(&out) {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.push_str(&String::from_utf8_lossy(&buf[..n])),
            Err(_) => {}
        }
    }
    out
}

#[test]
fn up_ui_serves_the_page_with_the_runs_events() {
    if !docker_ready() {
        return;
    }
    let p_api = free_port();
    let yaml = format!(
        r#"name: {{project}}
services:
  cache:
    image: {REDIS}
    health: {{tcp: 6379}}
  api:
    image: {APP}
    env: {{PORT: "8080", API_TOKEN: s3cret-value-9}}
    ports: ["{p_api}:8080"]
    health: {{http: /health, port: 8080}}
    depends_on: {{cache: healthy}}
"#
    );
    let p = Project::new("webup", &yaml);
    let mut child = p.cmd(&["up", "-d", "--ui"]).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("spawn devenv up --ui");
    let stdout = child.stdout.take().expect("stdout");
    let _served = Served(child);
    let mut url = String::new();
    BufReader::new(stdout).read_line(&mut url).expect("read the URL");
    let url = url.trim();
    assert!(url.starts_with("http://127.0.0.1:") && url.contains("/?token="), "up --ui printed {url:?}");
    let addr = url.trim_start_matches("http://").split('/').next().expect("host:port").to_string();
    let token = url.split("token=").nth(1).expect("token");
    assert!(raw_get(&addr, "/api/events").starts_with("HTTP/1.1 403"));

    // The run's own events (the timeline's data): each service created, started, probed, ready — masked.
    let events = read_stream_until(&addr, &format!("/api/events?token={token}"), 60, |s| {
        s.matches("\"status\":\"ready\"").count() >= 2 && s.contains("\"health\":\"ready\"")
    });
    for needle in ["event: up", "\"service\":\"cache\",\"status\":\"creating\"", "\"service\":\"api\",\"status\":\"probing\"", "\"service\":\"api\",\"status\":\"ready\"", "\"t_ms\":", "event: state"] {
        assert!(events.contains(needle), "no `{needle}` in the page's events:\n{events}");
    }
    assert!(!events.contains("s3cret-value-9"), "a secret reached the page's events:\n{events}");
    // After `up -d` returned, the page is still served (until Ctrl-C).
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(raw_get(&addr, &format!("/api/state?token={token}")).contains("\"health\":\"ready\""));

    // The timeline, drawn in the browser: api (which waits for cache) ends the critical path.
    let Some((chromium, playwright)) = browser_tools() else { return };
    let artifacts = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("web-ui-up");
    let out = Command::new("node")
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser/timeline.mjs"))
        .env("DEVENV_UI_URL", url)
        .env("DEVENV_CHROMIUM", &chromium)
        .env("DEVENV_PLAYWRIGHT_DIR", &playwright)
        .env("ARTIFACTS", &artifacts)
        .env("SERVICES", "cache,api")
        .env("LAST", "api")
        .output()
        .expect("run node");
    let (so, se) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && so.contains("PASS"), "timeline browser test failed\nstdout:\n{so}\nstderr:\n{se}");
    assert!(std::fs::metadata(artifacts.join("05-timeline.png")).is_ok_and(|m| m.len() > 1000), "no timeline screenshot");
}

/// `devenv ui --no-open` for `p`, and the URL it printed.
fn serve(p: &Project) -> (Served, String) {
    // Its log is kept beside the project (`ui_log`), for a failure's message.
    let log = std::fs::File::create(p.dir.path().join("ui.log")).expect("ui log");
    let mut child = p.cmd(&["ui", "--no-open"]).stdout(Stdio::piped()).stderr(log).spawn().expect("spawn devenv ui");
    let stdout = child.stdout.take().expect("stdout");
    let served = Served(child);
    let mut url = String::new();
    BufReader::new(stdout).read_line(&mut url).expect("read the URL");
    (served, url.trim().to_string())
}

/// What `devenv ui` (started by `serve`) wrote to standard error so far.
fn ui_log(p: &Project) -> String {
    std::fs::read_to_string(p.dir.path().join("ui.log")).unwrap_or_default()
}

/// `devenv watch` in the background (another terminal, as far as the page knows), once it watches.
fn watching(p: &Project) -> Served {
    let log = p.dir.path().join("watch.log");
    let child = p.cmd(&["watch"]).stdout(Stdio::null()).stderr(std::fs::File::create(&log).expect("log")).spawn().expect("spawn devenv watch");
    let w = Served(child);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !std::fs::read_to_string(&log).unwrap_or_default().contains("watching") {
        assert!(std::time::Instant::now() < deadline, "devenv watch never started:\n{}", std::fs::read_to_string(&log).unwrap_or_default());
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    w
}

/// The page's re-seed, reset and rebuild buttons clicked for real (data
/// checked through psql and the app's HTTP), the seed status and seeded
/// snapshot on the card, and the last sync of a `devenv watch` running in
/// another process.
#[test]
fn ui_reseed_reset_rebuild_and_watch_in_a_real_browser() {
    if !docker_ready() {
        return;
    }
    let Some((chromium, playwright)) = browser_tools() else { return };
    let p_api = free_port();
    let yaml = format!(
        r#"name: {{project}}
services:
  db:
    preset: postgres
    env: {{POSTGRES_DB: shop}}
    seed:
      - sql: schema.sql
      - csv: items.csv
        table: items
  api:
    build: ./api
    env: {{PORT: "8080"}}
    ports: ["{p_api}:8080"]
    health: {{http: /health, port: 8080}}
    depends_on: {{db: healthy}}
    watch:
      - path: ./api/src
        target: /app/src
"#
    );
    let p = Project::new("webact", &yaml);
    let _snapshots = Snapshots::of(&p);
    const ROWS: usize = 500;
    p.write("schema.sql", "CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL);\n");
    p.write("items.csv", &(1..=ROWS).fold(String::from("id,name\n"), |s, i| s + &format!("{i},item-{i}\n")));
    p.write("api/Dockerfile", "FROM devenv-test/app:1\nENV BUILD_MARK=v1\n");
    p.write("api/src/.keep", "");
    p.run(&["up", "-d"]).ok();
    let _watch = watching(&p);
    let (_served, url) = serve(&p);

    let artifacts = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("web-ui-actions");
    let out = Command::new("node")
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser/actions.mjs"))
        .env("DEVENV_UI_URL", &url)
        .env("DEVENV_CHROMIUM", &chromium)
        .env("DEVENV_PLAYWRIGHT_DIR", &playwright)
        .env("ARTIFACTS", &artifacts)
        .env("DEVENV_BIN", bin())
        .env("PROJECT_DIR", p.dir.path())
        .env("APP_URL", format!("http://127.0.0.1:{p_api}"))
        .env("ROWS", ROWS.to_string())
        .env("DEVENV_PROGRESS", "plain")
        .env("NO_COLOR", "1")
        .env("DEVENV_IMAGE_MAP", concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/images/map.yaml"))
        .output()
        .expect("run node");
    let (so, se) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && so.contains("PASS"), "actions browser test failed\nstdout:\n{so}\nstderr:\n{se}\ndevenv ui's log:\n{}", ui_log(&p));
    for check in ["seed status: 2 of 2 applied", "last sync of the watch", "reset: reset db", "re-seed: re-seeded db", "asked for confirmation", "rebuild: rebuilt api", "says why on its card", "contrast", "400 px"] {
        assert!(so.contains(check), "no `{check}` in:\n{so}");
    }
    for shot in ["06-seeds-watch-1280x800.png", "07-actions-1280x800.png", "08-actions-narrow-400.png"] {
        assert!(std::fs::metadata(artifacts.join(shot)).is_ok_and(|m| m.len() > 1000), "screenshot {shot} missing");
    }
    eprintln!("{so}screenshots: {}", artifacts.display());
}
