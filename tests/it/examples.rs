//! The example environments in `envs/`: every `envs/*/devenv.yaml` (so also
//! any example added later) comes up against the stand-in images — a copy of
//! it, under its own project name, with every profile, on random host ports —
//! and is checked for real effects: each service ready, each HTTP health
//! endpoint answering, a second `up` with nothing to do, and `down -v`
//! leaving nothing behind. The examples below get their own assertions on
//! top: seed data present in each backing service (read with real clients
//! through `devenv env`'s host-side URLs) and each app's proof endpoint
//! answering with what it read from its dependencies. One `up` per example.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::*;

/// Stand-in for `python:3.12-slim`, the examples' app base (their `PYTHON_IMAGE` build argument).
const PYTHON: &str = "devenv-test/python:3";

fn envs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("envs")
}

/// Names of the directories under envs/ holding a devenv.yaml, sorted.
fn examples() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(envs_dir())
        .expect("envs/ exists")
        .filter_map(Result::ok)
        .filter(|e| e.path().join("devenv.yaml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn every_example_resolves_with_all_profiles() {
    for name in examples() {
        let r = std::process::Command::new(bin())
            .current_dir(envs_dir().join(&name))
            .args(["--profile", "*", "config", "--format", "json"])
            .env_remove("DEVENV_PROJECT")
            .output()
            .expect("run devenv");
        let stderr = String::from_utf8_lossy(&r.stderr);
        assert!(r.status.success(), "envs/{name}: `devenv config` failed:\n{stderr}");
        assert!(!stderr.contains("warning"), "envs/{name}: `devenv config` warns:\n{stderr}");
    }
}

/// The protocol clients in the examples' `lib/` directories are copies (each
/// example stands alone): they must not drift apart.
#[test]
fn example_client_libraries_are_identical_copies() {
    let mut by_name: HashMap<String, Vec<(PathBuf, Vec<u8>)>> = HashMap::new();
    let mut stack = vec![envs_dir()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read_dir").filter_map(Result::ok) {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if dir.file_name().is_some_and(|d| d == "lib") && path.extension().is_some_and(|e| e == "py") {
                let name = entry.file_name().to_string_lossy().into_owned();
                by_name.entry(name).or_default().push((path.clone(), std::fs::read(&path).expect("read")));
            }
        }
    }
    assert!(by_name.contains_key("pgwire.py"), "no envs/*/…/lib/pgwire.py found");
    for copies in by_name.values() {
        for (path, content) in &copies[1..] {
            assert!(content == &copies[0].1, "{} differs from {}: edit one, copy it to the others", path.display(), copies[0].0.display());
        }
    }
}

#[test]
fn every_example_comes_up_seeded_with_its_apps_working() {
    if !docker_ready() || !python_image_present() {
        return;
    }
    let names = examples();
    for expected in ["hello", "enrichment", "market-data", "sanitizer"] {
        assert!(names.iter().any(|n| n == expected), "envs/{expected} is missing (found {names:?})");
    }
    let mut failed = Vec::new();
    for name in &names {
        eprintln!("=== envs/{name}");
        let started = Instant::now();
        if std::panic::catch_unwind(|| check_example(name)).is_err() {
            failed.push(name.clone());
        }
        eprintln!("=== envs/{name}: {:.1}s", started.elapsed().as_secs_f64());
    }
    assert!(failed.is_empty(), "examples that failed (their panics are printed above): {failed:?}");
}

fn python_image_present() -> bool {
    let ok = std::process::Command::new("docker").args(["image", "inspect", PYTHON]).output().is_ok_and(|o| o.status.success());
    if !ok {
        let msg = format!("test image {PYTHON} is missing: run ./test.sh, which provisions them (or fixtures/images/build.sh)");
        assert!(!std::env::var("DEVENV_REQUIRE_DOCKER").is_ok_and(|v| v == "1"), "{msg}");
        eprintln!("SKIPPED: {msg}");
    }
    ok
}

fn check_example(name: &str) {
    let ex = Example::up(name);
    ex.every_service_is_ready();
    ex.http_health_endpoints_answer();
    match name {
        "hello" => hello(&ex),
        "enrichment" => enrichment(&ex),
        "market-data" => market_data(&ex),
        "sanitizer" => sanitizer(&ex),
        _ => {}
    }
    ex.run(&["--profile", "*", "up", "-d"]).ok().stderr_has("nothing to do");
    ex.down_leaves_nothing();
}

/// One example, up under a unique project name, from a copy of its directory.
struct Example {
    project: Project,
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
    /// `devenv env --format json`: DEVENV_<SERVICE>_URL/_HOST/_PORT.
    vars: HashMap<String, String>,
    /// `devenv config --format json` (every profile).
    config: Value,
    /// `devenv ps --json`.
    ps: Vec<Value>,
}

impl Example {
    fn up(name: &str) -> Example {
        let dir = tempfile::tempdir().expect("tempdir");
        copy_dir(&envs_dir().join(name), dir.path());
        let project = Project { dir, name: format!("it-ex-{name}-{}", std::process::id()) };
        let mut ex = Example {
            project,
            rt: tokio::runtime::Runtime::new().expect("runtime"),
            http: reqwest::Client::new(),
            vars: HashMap::new(),
            config: Value::Null,
            ps: Vec::new(),
        };
        ex.run(&["--profile", "*", "up", "-d", "--wait"]).ok();
        ex.vars = env_json_of(&ex);
        let cfg = ex.run(&["--profile", "*", "config", "--plan", "--format", "json"]);
        ex.config = serde_json::from_str(&cfg.ok().stdout).expect("config --format json is JSON");
        let ps = ex.run(&["--profile", "*", "ps", "--json"]);
        ex.ps = serde_json::from_str(&ps.ok().stdout).expect("ps --json is JSON");
        ex
    }

    /// devenv with this example's project, random ports and the stand-in Python base image.
    fn run(&self, args: &[&str]) -> Run {
        let out = self
            .project
            .cmd(args)
            .env("DEVENV_PROJECT", &self.project.name)
            .env("DEVENV_PORTS", "random")
            .env("PYTHON_IMAGE", PYTHON)
            .output()
            .expect("run devenv");
        Run::from(out)
    }

    fn services(&self) -> Vec<(String, Value)> {
        self.config["services"].as_object().map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default()
    }

    fn ps_row(&self, service: &str) -> &Value {
        self.ps.iter().find(|r| r["service"] == service).unwrap_or_else(|| panic!("no container for {service} in ps: {:?}", self.ps))
    }

    /// The host port published for a service's container port (from `ps --json`: "127.0.0.1:H->C/tcp").
    fn host_port(&self, service: &str, container_port: u16) -> u16 {
        let row = self.ps_row(service);
        let suffix = format!("->{container_port}/tcp");
        row["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .find_map(|p| p.strip_suffix(&suffix).and_then(|hp| hp.rsplit(':').next()).and_then(|h| h.parse().ok()))
            .unwrap_or_else(|| panic!("{service}: container port {container_port} is not published: {row}"))
    }

    fn get(&self, service: &str, port: u16, path: &str) -> (u16, String) {
        self.call(reqwest::Method::GET, service, port, path)
    }

    fn call(&self, method: reqwest::Method, service: &str, port: u16, path: &str) -> (u16, String) {
        let url = format!("http://127.0.0.1:{}{path}", self.host_port(service, port));
        self.rt.block_on(async {
            let resp = self.http.request(method, &url).timeout(Duration::from_secs(30)).send().await.unwrap_or_else(|e| panic!("{url}: {e}"));
            (resp.status().as_u16(), resp.text().await.unwrap_or_default())
        })
    }

    /// GET path on a service; must answer 200 with JSON.
    fn json(&self, service: &str, port: u16, path: &str) -> Value {
        let (status, body) = self.get(service, port, path);
        assert_eq!(status, 200, "{service} {path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{service} {path}: not JSON ({e}): {body}"))
    }

    fn every_service_is_ready(&self) {
        for (name, svc) in self.services() {
            let row = self.ps_row(&name);
            if svc["once"] == true {
                assert!(row["status"].as_str().is_some_and(|s| s.starts_with("Exited (0)")), "one-shot {name} did not exit 0: {row}");
            } else {
                assert_eq!(row["state"], "running", "{name}: {row}");
                // No probe and no Docker HEALTHCHECK: health is unknown (`-`), never "running".
                let expected = if svc["health"].is_null() { "-" } else { "healthy" };
                assert_eq!(row["health"], expected, "{name}: {row}");
            }
        }
    }

    fn http_health_endpoints_answer(&self) {
        for (name, svc) in self.services() {
            let probe = &svc["health"]["probe"]["http"];
            let (Some(path), Some(port)) = (probe["path"].as_str(), probe["port"].as_u64()) else { continue };
            let port = u16::try_from(port).expect("port");
            let (status, body) = self.get(&name, port, path);
            assert_eq!(status, 200, "{name} {path}: {body}");
        }
    }

    fn down_leaves_nothing(&self) {
        // No profile given: `down` removes every container of the project all the same.
        self.run(&["down", "-v"]).ok();
        for kind in ["container", "network", "volume"] {
            let left = self.project.docker_objects(kind);
            assert!(left.is_empty(), "down -v left {kind}s behind: {left:?}");
        }
    }

    fn pg_count(&self, url_var: &str, sql: &str) -> i64 {
        let url = self.vars.get(url_var).unwrap_or_else(|| panic!("no {url_var} in devenv env: {:?}", self.vars)).clone();
        self.rt.block_on(async {
            let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap_or_else(|e| panic!("{url}: {e}"));
            tokio::spawn(conn);
            client.query_one(sql, &[]).await.unwrap_or_else(|e| panic!("{sql}: {e}")).get(0)
        })
    }

    /// One Redis command through the host-side port; the reply as text (integers and bulk strings).
    fn redis(&self, service: &str, args: &[&str]) -> String {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.host_port(service, 6379))).expect("redis");
        s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
        let mut cmd = format!("*{}\r\n", args.len());
        for a in args {
            cmd.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
        s.write_all(cmd.as_bytes()).expect("write");
        let mut reply = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = s.read(&mut buf).expect("read");
            reply.extend_from_slice(&buf[..n]);
            if n == 0 || resp_complete(&reply) {
                break;
            }
        }
        let text = String::from_utf8_lossy(&reply).to_string();
        match text.as_bytes().first() {
            Some(b':') | Some(b'+') => text[1..].trim_end().to_string(),
            Some(b'$') => text.split_once("\r\n").map(|(_, rest)| rest.trim_end().to_string()).unwrap_or_default(),
            _ => panic!("redis {args:?}: {text}"),
        }
    }

    /// A ClickHouse query through `devenv env`'s URL for `service`; the answer, trimmed.
    fn clickhouse(&self, service: &str, sql: &str) -> String {
        let var = format!("DEVENV_{}_URL", service.to_uppercase().replace('-', "_"));
        let url = reqwest::Url::parse(&self.vars[&var]).expect("clickhouse url");
        let (user, password) = (url.username().to_string(), url.password().unwrap_or_default().to_string());
        let mut plain = url.clone();
        let _ = plain.set_username("");
        let _ = plain.set_password(None);
        self.rt.block_on(async {
            let r = self.http.post(plain).basic_auth(user, Some(password)).body(sql.to_string()).send().await.expect("clickhouse");
            let status = r.status();
            let text = r.text().await.unwrap_or_default();
            assert!(status.is_success(), "{sql}: {status} {text}");
            text.trim().to_string()
        })
    }
}

/// Whether a RESP reply (integer, simple string, or one bulk string) is all there.
fn resp_complete(reply: &[u8]) -> bool {
    let text = String::from_utf8_lossy(reply);
    match text.split_once("\r\n") {
        Some((head, rest)) if head.starts_with('$') => head[1..].parse::<i64>().is_ok_and(|n| n < 0 || rest.len() >= n as usize + 2),
        Some(_) => true,
        None => false,
    }
}

fn env_json_of(ex: &Example) -> HashMap<String, String> {
    let r = ex.run(&["--profile", "*", "env", "--format", "json"]);
    serde_json::from_str(&r.ok().stdout).expect("env --format json is a flat JSON object")
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read example dir").filter_map(Result::ok) {
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if src.is_dir() {
            if entry.file_name() != "__pycache__" {
                std::fs::create_dir_all(&dst).expect("mkdir");
                copy_dir(&src, &dst);
            }
        } else {
            std::fs::copy(&src, &dst).expect("copy");
        }
    }
}

/// Calls `f` until it returns Ok, for at most `limit`; then panics naming `what` and the last Err.
fn eventually<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Result<T, String>) -> T {
    let start = Instant::now();
    loop {
        match f() {
            Ok(v) => return v,
            Err(last) if start.elapsed() >= limit => panic!("{what}: not after {limit:?}; last: {last}"),
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

impl Drop for Example {
    fn drop(&mut self) {
        // After a failed assertion the example is still up: take it down first
        // (the Project's own Drop then removes anything left by label), so its
        // images are no longer in use and can be removed.
        let _ = self.project.cmd(&["down", "-v", "-t", "1"]).env("DEVENV_PROJECT", &self.project.name).output();
        let filter = format!("label=dev.devenv.project={}", self.project.name);
        if let Ok(out) = std::process::Command::new("docker").args(["images", "-q", "--filter", &filter]).output() {
            let ids: Vec<String> = String::from_utf8_lossy(&out.stdout).split_whitespace().map(str::to_string).collect();
            if !ids.is_empty() {
                let _ = std::process::Command::new("docker").arg("rmi").arg("-f").args(&ids).output();
            }
        }
    }
}

// ---- per-example assertions ---------------------------------------------

fn hello(ex: &Example) {
    let body = ex.json("api", 8080, "/");
    assert_eq!(body["cache_warmed"], true, "the warm job's key is read by the api: {body}");
    assert_eq!(ex.redis("cache", &["GET", "warmed:1"]), "yes");
}

fn enrichment(ex: &Example) {
    // Seeds, read straight from each backing service.
    assert_eq!(ex.pg_count("DEVENV_DB_URL", "SELECT count(*) FROM documents"), 12);
    assert_eq!(ex.pg_count("DEVENV_DB_URL", "SELECT count(*) FROM schema_migrations"), 2, "the migrate job applied api/migrations");
    assert_eq!(ex.redis("cache", &["SCARD", "enrich:orgs"]), "6");
    let count = ex.json("search", 9200, "/documents/_count");
    assert_eq!(count["count"], 12, "{count}");

    // The API reaches all three.
    let stats = ex.json("api", 3000, "/stats");
    assert_eq!(stats["postgres"]["documents"], 12, "{stats}");
    assert_eq!(stats["postgres"]["enriched"], 0, "{stats}");
    assert_eq!(stats["redis"]["known_orgs"], 6, "{stats}");
    assert_eq!(stats["elasticsearch"]["documents"], 12, "{stats}");

    // Enrichment writes entities to Postgres and re-indexes in Elasticsearch.
    let (status, body) = ex.call(reqwest::Method::POST, "api", 3000, "/enrich");
    assert_eq!((status, serde_json::from_str::<Value>(&body).ok().map(|v| v["enriched"].clone())), (200, Some(Value::from(12))), "{body}");
    let stats = ex.json("api", 3000, "/stats");
    assert_eq!(stats["postgres"]["enriched"], 12, "{stats}");
    assert!(stats["postgres"]["entities"].as_i64().is_some_and(|n| n >= 12), "{stats}");
    let acme = ex.pg_count("DEVENV_DB_URL", "SELECT count(*) FROM entities WHERE document_id = 1 AND kind = 'org' AND value = 'Acme Corp'");
    assert_eq!(acme, 1);
    let found = ex.json("api", 3000, "/search?q=acme");
    assert_eq!(found["hits"][0]["id"], "1", "{found}");
    assert_eq!(found["hits"][0]["category"], "invoice", "{found}");
    assert!(found["hits"][0]["orgs"].as_array().is_some_and(|o| o.iter().any(|v| v == "Acme Corp")), "{found}");

    // Documents are cached in Redis on first read.
    assert_eq!(ex.json("api", 3000, "/documents/1")["cached"], false);
    assert_eq!(ex.json("api", 3000, "/documents/1")["cached"], true);
    assert_eq!(ex.redis("cache", &["EXISTS", "enrich:doc:1"]), "1");

    // The frontend (profile ui) serves the page and proxies the API.
    let (status, page) = ex.get("frontend", 8080, "/");
    assert!(status == 200 && page.contains("<title>Enrichment</title>"), "{status}: {page}");
    assert_eq!(ex.json("frontend", 8080, "/api/stats")["postgres"]["enriched"], 12);

    // `seed --reset db` drops the migration's `enriched_at` column with the
    // database: it runs `migrate` again, so the API keeps working.
    ex.run(&["seed", "--reset", "--yes", "db"]).ok().stderr_has("re-running the jobs that depend on db: migrate").stderr_has("migrate completed");
    assert_eq!(ex.pg_count("DEVENV_DB_URL", "SELECT count(*) FROM schema_migrations"), 2, "the migrate job ran again");
    let stats = ex.json("api", 3000, "/stats");
    assert_eq!((stats["postgres"]["documents"].clone(), stats["postgres"]["enriched"].clone()), (Value::from(12), Value::from(0)), "{stats}");
}

fn market_data(ex: &Example) {
    // Seeds: the feed on Kafka, the reference data in Postgres, yesterday in ClickHouse.
    let url = ex.vars["DEVENV_EVENTS_URL"].clone();
    let on_topic: i64 = ex.rt.block_on(async {
        let client = rskafka::client::ClientBuilder::new(vec![url]).build().await.expect("kafka client");
        let mut total = 0;
        for partition in 0..3 {
            let pc = client
                .partition_client("market.raw.ticks.v1", partition, rskafka::client::partition::UnknownTopicHandling::Error)
                .await
                .expect("partition client");
            total += pc.get_offset(rskafka::client::partition::OffsetAt::Latest).await.expect("offset");
        }
        total
    });
    assert_eq!(on_topic, 120);
    assert_eq!(ex.pg_count("DEVENV_REFDATA_URL", "SELECT count(*) FROM instruments"), 8);
    assert_eq!(ex.clickhouse("olap", "SELECT count() FROM ticks WHERE source = 'history'"), "200");

    // The normalizer consumed the whole feed into ClickHouse, rejecting the 4 bad records.
    let stats = eventually("normalizer consumed the feed", Duration::from_secs(30), || {
        let s = ex.json("normalizer", 8080, "/stats");
        if s["consumed"] == 120 { Ok(s) } else { Err(s.to_string()) }
    });
    assert_eq!((stats["inserted"].as_i64(), stats["rejected"].as_i64()), (Some(116), Some(4)), "{stats}");
    assert_eq!(ex.clickhouse("olap", "SELECT count() FROM ticks WHERE source = 'live'"), "116");

    // The enricher served instruments from Postgres and cached them in Redis.
    let enricher = ex.json("enricher", 8081, "/stats");
    assert_eq!(enricher["postgres"]["instruments"], 8, "{enricher}");
    assert!(ex.json("enricher", 8081, "/instruments/SAP")["currency"] == "EUR");
    assert_eq!(ex.get("enricher", 8081, "/instruments/ZZZZ").0, 404);

    // The aggregator's bars (ClickHouse -> Redis) reach clients through the projection.
    let prices = eventually("projection lists all 8 instruments", Duration::from_secs(20), || {
        let p = ex.json("projection", 8083, "/prices");
        if p["prices"].as_array().is_some_and(|a| a.len() == 8) { Ok(p) } else { Err(p.to_string()) }
    });
    let apple = prices["prices"].as_array().and_then(|a| a.iter().find(|p| p["symbol"] == "AAPL")).cloned().unwrap_or_default();
    assert_eq!((apple["name"].as_str(), apple["currency"].as_str()), (Some("Apple Inc."), Some("USD")), "{prices}");
    assert!(apple["trades"].as_i64().is_some_and(|n| n > 0) && apple["prev_close"].as_f64().is_some_and(|p| p > 0.0), "{prices}");
    assert_eq!(ex.redis("cache", &["SCARD", "bars"]), "8");

    // The lag monitor (profile monitoring) sees the consumer caught up.
    let lag = ex.json("lag-monitor", 8084, "/lag");
    assert_eq!(lag["total_lag"], 0, "{lag}");
    let (_, metrics) = ex.get("lag-monitor", 8084, "/metrics");
    assert!(metrics.contains("kafka_consumer_lag{topic=\"market.raw.ticks.v1\",partition=\"0\"} 0"), "{metrics}");
}

fn sanitizer(ex: &Example) {
    // The two seeded datasets and the 5 the load test (profile load) uploaded: all through both passes.
    let stats = eventually("every dataset sanitized", Duration::from_secs(30), || {
        let s = ex.json("api", 8000, "/stats");
        if s["postgres"]["datasets"] == serde_json::json!({"done": 7}) { Ok(s) } else { Err(s.to_string()) }
    });
    assert_eq!(stats["redis"]["queued"], serde_json::json!({"pass1": 0, "pass2": 0}), "{stats}");
    assert_eq!(stats["redis"]["datasets_done"], 7, "{stats}");
    assert_eq!(ex.pg_count("DEVENV_DB_URL", "SELECT count(*) FROM raw_records WHERE dataset_id <= 2"), 20, "seeded with COPY");
    assert_eq!(ex.pg_count("DEVENV_DB_URL", "SELECT count(*) FROM clean_records WHERE dataset_id <= 2"), 17, "3 duplicates dropped");
    assert_eq!(ex.pg_count("DEVENV_DB_URL", "SELECT count(*) FROM clean_records WHERE email NOT LIKE '_***@%'"), 0, "every e-mail masked");
    assert_eq!(ex.pg_count("DEVENV_DB_URL", "SELECT count(*) FROM clean_records WHERE note LIKE '%@%'"), 0, "no e-mail left in notes");
    assert_eq!(ex.redis("queue", &["LLEN", "sanitize:pass1:processing"]), "0");
    let first = ex.json("api", 8000, "/datasets/1");
    assert_eq!((first["status"].as_str(), first["records"].as_i64(), first["duplicates"].as_i64()), (Some("done"), Some(12), Some(2)), "{first}");
    assert_eq!(first["sample"][0]["name"], "Ada Lovelace", "{first}");
    assert_eq!(first["sample"][0]["country"], "GB", "{first}");
    ex.run(&["logs", "loadgen"]).ok().stdout_has("5 datasets x 200 records sanitized");
}
