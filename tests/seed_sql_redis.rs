//! Seeding against real servers: the Postgres, ClickHouse and Redis stand-in
//! images (`fixtures/images`), each test in its own container, data read back
//! with a real client. Without Docker the tests print SKIPPED (or fail with
//! `DEVENV_REQUIRE_DOCKER=1`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use devenv::preset::{Connection, Kind};
use devenv::seed::{self, Applied};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/seed-tests").join(path)
}

/// Is Docker usable? With `DEVENV_REQUIRE_DOCKER=1` its absence is a failure.
fn docker_ready() -> bool {
    let ok = Command::new("docker").arg("info").output().map(|o| o.status.success()).unwrap_or(false);
    if !ok {
        if std::env::var("DEVENV_REQUIRE_DOCKER").is_ok_and(|v| v == "1") {
            panic!("Docker is required (DEVENV_REQUIRE_DOCKER=1) but `docker info` failed");
        }
        eprintln!("SKIPPED: Docker not usable; set DEVENV_REQUIRE_DOCKER=1 to make this a failure");
    }
    ok
}

/// A container removed with its anonymous volumes (`docker rm -f -v`) when dropped, even on a failed test.
struct Container {
    id: String,
    port: u16,
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(["rm", "-f", "-v", &self.id]).output();
    }
}

fn start(image: &str, env: &[(&str, &str)], port: u16, args: &[&str]) -> Container {
    let mut cmd = Command::new("docker");
    cmd.args(["run", "-d", "--rm", "--label", "devenv-test=seed", "-p", &format!("127.0.0.1::{port}")]);
    for (k, v) in env {
        cmd.args(["-e", &format!("{k}={v}")]);
    }
    let out = cmd.arg(image).args(args).output().expect("docker run");
    assert!(out.status.success(), "docker run {image}: {}", String::from_utf8_lossy(&out.stderr));
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let mut c = Container { id, port: 0 };
    let out = Command::new("docker").args(["port", &c.id, &format!("{port}/tcp")]).output().expect("docker port");
    let text = String::from_utf8_lossy(&out.stdout);
    c.port = text
        .lines()
        .find_map(|l| l.trim().rsplit_once(':').and_then(|(_, p)| p.parse().ok()))
        .unwrap_or_else(|| panic!("no host port for {image}: {text:?}"));
    c
}

/// Wait until the preset's own readiness probe passes.
async fn wait_ready(conn: &Connection, addr: &str, http: &reqwest::Client) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        match devenv::preset::probe(conn, addr, http).await {
            Ok(()) => return,
            Err(e) if Instant::now() > deadline || e.fatal => panic!("{addr} never became ready: {}", e.message),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(120)).build().expect("http client")
}

fn pg_conn() -> Connection {
    Connection { kind: Kind::Postgres, port: 5432, internal_port: None, user: Some("seeder".into()), password: Some("s3cret pw".into()), database: Some("app_db".into()) }
}

async fn start_postgres(http: &reqwest::Client) -> (Container, Connection, String) {
    let c = start("devenv-test/postgres:15", &[("POSTGRES_USER", "seeder"), ("POSTGRES_PASSWORD", "s3cret pw"), ("POSTGRES_DB", "app_db")], 5432, &[]);
    let conn = pg_conn();
    let addr = format!("127.0.0.1:{}", c.port);
    wait_ready(&conn, &addr, http).await;
    (c, conn, addr)
}

async fn pg_client(addr: &str, db: &str) -> tokio_postgres::Client {
    let (host, port) = addr.rsplit_once(':').unwrap();
    let mut cfg = tokio_postgres::Config::new();
    cfg.host(host).port(port.parse().unwrap()).user("seeder").password("s3cret pw").dbname(db);
    let (client, connection) = cfg.connect(tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(connection);
    client
}

async fn pg_count(client: &tokio_postgres::Client, query: &str) -> i64 {
    client.query_one(query, &[]).await.unwrap_or_else(|e| panic!("{query}: {e}")).get(0)
}

/// Records the last progress value.
struct Last(AtomicU64);
impl Last {
    fn new() -> Self {
        Last(AtomicU64::new(u64::MAX))
    }
    fn get(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

macro_rules! progress {
    ($last:expr) => {
        &|n| $last.0.store(n, Ordering::SeqCst)
    };
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_sql_files() {
    if !docker_ready() {
        return;
    }
    let http = http();
    let (_c, conn, addr) = start_postgres(&http).await;
    let t = conn.target(addr.clone(), &http);

    let last = Last::new();
    let applied = seed::postgres::apply_sql(&t, &fixture("postgres/schema.sql"), progress!(last)).await.expect("schema.sql");
    assert_eq!(applied, Applied { count: 8, unit: "statements" });
    assert_eq!(last.get(), 8);

    let db = pg_client(&addr, "app_db").await;
    assert_eq!(pg_count(&db, "SELECT count(*) FROM users").await, 2);
    // The trigger (a $$ body with semicolons) ran for each row.
    let msgs: Vec<String> = db.query("SELECT msg FROM audit ORDER BY id", &[]).await.unwrap().iter().map(|r| r.get(0)).collect();
    assert_eq!(msgs, vec!["new user; Ada", "new user; Grace"]);
    let note: String = db.query_one("SELECT note FROM users WHERE id = 2", &[]).await.unwrap().get(0);
    assert_eq!(note, "tab\there; 'quoted'");
    let note: String = db.query_one("SELECT note FROM users WHERE id = 1", &[]).await.unwrap().get(0);
    assert_eq!(note, "it's; fine");
    let hello: String = db.query_one("SELECT greet('you')", &[]).await.unwrap().get(0);
    assert_eq!(hello, "hello; you");
    assert_eq!(pg_count(&db, "SELECT x::bigint FROM \"odd;name\"").await, 42);

    // A failing statement: named by number and by the line of the error, and
    // nothing of the file stays (one transaction).
    let err = seed::postgres::apply_sql(&t, &fixture("postgres/broken.sql"), &|_| {}).await.expect_err("broken.sql must fail");
    println!("broken.sql: {}", err.message);
    assert!(err.message.ends_with("broken.sql: statement 3 (line 6): relation \"nosuch_table\" does not exist"), "{}", err.message);
    assert_eq!(pg_count(&db, "SELECT count(*) FROM pg_tables WHERE tablename = 'broken_a'").await, 0);

    // A statement that cannot run in a transaction gets a hint.
    let dir = tempfile::tempdir().unwrap();
    let vac = dir.path().join("vacuum.sql");
    std::fs::write(&vac, "SELECT 1;\nVACUUM users;\n").unwrap();
    let err = seed::postgres::apply_sql(&t, &vac, &|_| {}).await.expect_err("VACUUM in a transaction");
    assert!(err.message.contains("statement 2 (line 2)") && err.message.contains("VACUUM cannot run inside a transaction block"), "{}", err.message);
    assert!(err.hint.is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_csv_copy_and_reset() {
    if !docker_ready() {
        return;
    }
    let http = http();
    let (_c, conn, addr) = start_postgres(&http).await;
    let t = conn.target(addr.clone(), &http);
    seed::postgres::apply_sql(&t, &fixture("postgres/schema.sql"), &|_| {}).await.expect("schema.sql");

    let last = Last::new();
    let applied = seed::postgres::copy_csv(&t, &fixture("postgres/users.csv"), "public.users", progress!(last)).await.expect("users.csv");
    assert_eq!(applied, Applied { count: 1000, unit: "rows" });
    assert_eq!(last.get(), 1000);
    let db = pg_client(&addr, "app_db").await;
    assert_eq!(pg_count(&db, "SELECT count(*) FROM users").await, 1002);
    assert_eq!(pg_count(&db, "SELECT count(*) FROM audit").await, 1002);
    let note: String = db.query_one("SELECT note FROM users WHERE id = 1500", &[]).await.unwrap().get(0);
    assert_eq!(note, "spans\ntwo lines");
    let note: String = db.query_one("SELECT note FROM users WHERE id = 1100", &[]).await.unwrap().get(0);
    assert_eq!(note, "has, a comma and \"quotes\"");

    // A bad row: the file line (a quoted field spans two lines before it).
    let err = seed::postgres::copy_csv(&t, &fixture("postgres/bad_row.csv"), "users", &|_| {}).await.expect_err("bad row");
    println!("bad_row.csv: {}", err.message);
    assert!(err.message.contains("bad_row.csv:6: invalid input syntax for type integer: \"x3004\""), "{}", err.message);
    assert!(err.message.contains("(COPY users, line 6, column id: \"x3004\")"), "{}", err.message);
    assert_eq!(pg_count(&db, "SELECT count(*) FROM users").await, 1002);

    // No header / no table name: clear errors before anything is sent.
    let err = seed::postgres::copy_csv(&t, &fixture("postgres/no_header.csv"), "users", &|_| {}).await.expect_err("no header");
    assert!(err.message.contains("no_header.csv:1: expected a header line"), "{}", err.message);
    let err = seed::postgres::copy_csv(&t, &fixture("postgres/users.csv"), "", &|_| {}).await.expect_err("no table");
    assert!(err.message.contains("the table name is empty"), "{}", err.message);
    let err = seed::postgres::copy_csv(&t, &fixture("postgres/users.csv"), "nosuch", &|_| {}).await.expect_err("no such table");
    assert!(err.message.contains("relation \"nosuch\" does not exist"), "{}", err.message);

    // Reset: other sessions are terminated, the database comes back empty
    // and owned by the service's user.
    seed::postgres::reset(&t).await.expect("reset");
    assert!(db.simple_query("SELECT 1").await.is_err(), "the old session was terminated");
    let db = pg_client(&addr, "app_db").await;
    assert_eq!(pg_count(&db, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").await, 0);
    let owner: String = db.query_one("SELECT pg_get_userbyid(datdba)::text FROM pg_database WHERE datname = 'app_db'", &[]).await.unwrap().get(0);
    assert_eq!(owner, "seeder");
    // And seeding works again after a reset.
    seed::postgres::apply_sql(&t, &fixture("postgres/schema.sql"), &|_| {}).await.expect("schema.sql after reset");
    assert_eq!(pg_count(&db, "SELECT count(*) FROM users").await, 2);
}

/// Not a check: how long `copy_csv` takes for 100 000 rows against `psql -f`
/// of the same rows as INSERT statements (run with `--ignored --nocapture`).
#[tokio::test(flavor = "multi_thread")]
#[ignore]
async fn postgres_copy_benchmark() {
    if !docker_ready() {
        return;
    }
    let http = http();
    let (c, conn, addr) = start_postgres(&http).await;
    let t = conn.target(addr.clone(), &http);
    let dir = tempfile::tempdir().unwrap();
    let schema = dir.path().join("schema.sql");
    std::fs::write(&schema, "CREATE TABLE bench_copy (id int PRIMARY KEY, name text, email text, note text);\nCREATE TABLE bench_insert (LIKE bench_copy INCLUDING ALL);\nCREATE TABLE bench_insert1 (LIKE bench_copy INCLUDING ALL);\nCREATE TABLE bench_apply (LIKE bench_copy INCLUDING ALL);").unwrap();
    seed::postgres::apply_sql(&t, &schema, &|_| {}).await.unwrap();
    let n = 100_000;
    let mut csv = String::from("id,name,email,note\n");
    let ins = |table: &str| {
        let mut s = String::new();
        for i in 1..=n {
            s.push_str(&format!("INSERT INTO {table} VALUES ({i}, 'user {i}', 'user{i}@example.com', 'note, number {i}');\n"));
        }
        s
    };
    for i in 1..=n {
        csv.push_str(&format!("{i},user {i},user{i}@example.com,\"note, number {i}\"\n"));
    }
    let csv_path = dir.path().join("rows.csv");
    std::fs::write(&csv_path, &csv).unwrap();
    for table in ["bench_insert", "bench_insert1", "bench_apply"] {
        std::fs::write(dir.path().join(format!("{table}.sql")), ins(table)).unwrap();
    }

    let t0 = Instant::now();
    let applied = seed::postgres::copy_csv(&t, &csv_path, "bench_copy", &|_| {}).await.unwrap();
    let copy = t0.elapsed();
    assert_eq!(applied.count, n);

    let psql = |file: &str, single: bool| {
        let t0 = Instant::now();
        let mut cmd = Command::new("psql");
        cmd.env("PGPASSWORD", "s3cret pw").args(["-h", "127.0.0.1", "-p", &c.port.to_string(), "-U", "seeder", "-d", "app_db", "-q", "-v", "ON_ERROR_STOP=1"]);
        if single {
            cmd.arg("-1");
        }
        let out = cmd.arg("-f").arg(dir.path().join(file)).output().expect("psql");
        assert!(out.status.success(), "psql: {}", String::from_utf8_lossy(&out.stderr));
        t0.elapsed()
    };
    let psql_auto = psql("bench_insert.sql", false);
    let psql_one = psql("bench_insert1.sql", true);
    let t0 = Instant::now();
    seed::postgres::apply_sql(&t, &dir.path().join("bench_apply.sql"), &|_| {}).await.unwrap();
    let apply = t0.elapsed();
    let db = pg_client(&addr, "app_db").await;
    for table in ["bench_copy", "bench_insert", "bench_insert1", "bench_apply"] {
        assert_eq!(pg_count(&db, &format!("SELECT count(*) FROM {table}")).await, n as i64);
    }
    println!("BENCH 100000 rows: copy_csv {copy:?}; psql -f (autocommit INSERTs) {psql_auto:?}; psql -1 -f {psql_one:?}; apply_sql (same INSERTs, one transaction) {apply:?}");
}

fn ch_conn() -> Connection {
    Connection { kind: Kind::Clickhouse, port: 8123, internal_port: None, user: Some("seeder".into()), password: Some("s3cret".into()), database: Some("analytics".into()) }
}

/// A query over HTTP (as a client would), the body on success.
async fn ch_query(http: &reqwest::Client, addr: &str, q: &str) -> String {
    let r = http
        .post(format!("http://{addr}/?database=analytics"))
        .header("X-ClickHouse-User", "seeder")
        .header("X-ClickHouse-Key", "s3cret")
        .body(q.to_string())
        .send()
        .await
        .unwrap_or_else(|e| panic!("{q}: {e}"));
    let ok = r.status().is_success();
    let body = r.text().await.unwrap();
    assert!(ok, "{q}: {body}");
    body.trim_end().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn clickhouse_sql_csv_jsonl_reset() {
    if !docker_ready() {
        return;
    }
    let http = http();
    let c = start("devenv-test/clickhouse:18", &[("CLICKHOUSE_USER", "seeder"), ("CLICKHOUSE_PASSWORD", "s3cret"), ("CLICKHOUSE_DB", "analytics")], 8123, &[]);
    let conn = ch_conn();
    let addr = format!("127.0.0.1:{}", c.port);
    wait_ready(&conn, &addr, &http).await;
    // The entrypoint creates the database; wait for it too.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = http.post(format!("http://{addr}/?database=analytics")).header("X-ClickHouse-User", "seeder").header("X-ClickHouse-Key", "s3cret").body("SELECT 1").send().await;
        if r.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        assert!(Instant::now() < deadline, "database analytics never appeared");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let t = conn.target(addr.clone(), &http);

    let last = Last::new();
    let applied = seed::clickhouse::apply_sql(&t, &fixture("clickhouse/schema.sql"), progress!(last)).await.expect("schema.sql");
    assert_eq!(applied, Applied { count: 4, unit: "statements" });
    assert_eq!(last.get(), 4);
    assert_eq!(ch_query(&http, &addr, "SELECT k, v FROM kv ORDER BY k FORMAT TSV").await, "semi;colon\tit\\'s; ok\ntick\ta `b`;");

    let err = seed::clickhouse::apply_sql(&t, &fixture("clickhouse/broken.sql"), &|_| {}).await.expect_err("broken.sql");
    println!("clickhouse broken.sql: {}", err.message);
    assert!(err.message.contains("broken.sql: statement 3 (line 6): Code: 62"), "{}", err.message);
    assert!(err.message.contains("Syntax error"), "{}", err.message);
    assert!(err.hint.as_deref().is_some_and(|h| h.contains("no transactions")), "{:?}", err.hint);

    let last = Last::new();
    let applied = seed::clickhouse::insert(&t, &fixture("clickhouse/events.csv"), "events", seed::clickhouse::Format::Csv, progress!(last)).await.expect("events.csv");
    assert_eq!(applied, Applied { count: 500, unit: "rows" });
    assert_eq!(last.get(), 500);
    let applied = seed::clickhouse::insert(&t, &fixture("clickhouse/events.jsonl"), "analytics.events", seed::clickhouse::Format::JsonLines, &|_| {}).await.expect("events.jsonl");
    assert_eq!(applied, Applied { count: 300, unit: "rows" });
    assert_eq!(ch_query(&http, &addr, "SELECT count(), sum(amount) FROM events FORMAT TSV").await, format!("800\t{}", (1..=500).map(|i| i as f64 * 1.5).sum::<f64>() + (1001..=1300).map(|i| i as f64 / 4.0).sum::<f64>()));
    assert_eq!(ch_query(&http, &addr, "SELECT name FROM events WHERE id = 100 FORMAT TSV").await, "event, \"100\"");

    // Malformed JSON: named by line, nothing sent.
    let err = seed::clickhouse::insert(&t, &fixture("clickhouse/bad.jsonl"), "events", seed::clickhouse::Format::JsonLines, &|_| {}).await.expect_err("bad.jsonl");
    assert!(err.message.contains("bad.jsonl:3: malformed JSON: key must be a string"), "{}", err.message);
    assert_eq!(ch_query(&http, &addr, "SELECT count() FROM events FORMAT TSV").await, "800");

    // A row the server rejects: its file line (row N + 1 with the header).
    let err = seed::clickhouse::insert(&t, &fixture("clickhouse/bad_row.csv"), "events", seed::clickhouse::Format::Csv, &|_| {}).await.expect_err("bad_row.csv");
    println!("clickhouse bad_row.csv: {}", err.message);
    assert!(err.message.contains("bad_row.csv:4: Code: "), "{}", err.message);

    let err = seed::clickhouse::insert(&t, &fixture("clickhouse/bad_type.jsonl"), "events", seed::clickhouse::Format::JsonLines, &|_| {}).await.expect_err("bad_type.jsonl");
    println!("clickhouse bad_type.jsonl: {}", err.message);
    assert!(err.message.contains("bad_type.jsonl:3: Code: "), "{}", err.message);

    let err = seed::clickhouse::insert(&t, &fixture("clickhouse/events.csv"), "nosuch", seed::clickhouse::Format::Csv, &|_| {}).await.expect_err("no table");
    assert!(err.message.contains("events.csv: Code: 60"), "{}", err.message);

    // Reset: the database is dropped and created again, empty.
    seed::clickhouse::reset(&t).await.expect("reset");
    assert_eq!(ch_query(&http, &addr, "SELECT count() FROM system.tables WHERE database = 'analytics' FORMAT TSV").await, "0");
    assert_eq!(ch_query(&http, &addr, "SELECT count() FROM system.databases WHERE name = 'analytics' FORMAT TSV").await, "1");

    // With the `default` database, reset drops its tables instead.
    let conn_default = Connection { database: Some("default".into()), ..ch_conn() };
    let td = conn_default.target(addr.clone(), &http);
    seed::clickhouse::apply_sql(&td, &fixture("clickhouse/schema.sql"), &|_| {}).await.expect("schema.sql in default");
    assert_eq!(ch_query(&http, &addr, "SELECT count() FROM system.tables WHERE database = 'default' FORMAT TSV").await, "3");
    seed::clickhouse::reset(&td).await.expect("reset default");
    assert_eq!(ch_query(&http, &addr, "SELECT count() FROM system.tables WHERE database = 'default' FORMAT TSV").await, "0");
}

/// Send one command, read its (single-line or bulk) reply.
async fn redis_cmd(s: &mut tokio::net::TcpStream, args: &[&[u8]]) -> Vec<u8> {
    let mut req = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        req.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        req.extend_from_slice(a);
        req.extend_from_slice(b"\r\n");
    }
    s.write_all(&req).await.unwrap();
    let mut buf = Vec::new();
    loop {
        let mut chunk = [0u8; 4096];
        let n = s.read(&mut chunk).await.unwrap();
        assert!(n > 0, "connection closed");
        buf.extend_from_slice(&chunk[..n]);
        if let Some(r) = complete_reply(&buf) {
            return r;
        }
    }
}

/// The payload of a complete `$`/`+`/`:`/`-` reply (arrays: the raw bytes once complete).
fn complete_reply(buf: &[u8]) -> Option<Vec<u8>> {
    let eol = buf.windows(2).position(|w| w == b"\r\n")?;
    match buf[0] {
        b'$' => {
            let len: i64 = std::str::from_utf8(&buf[1..eol]).ok()?.parse().ok()?;
            if len < 0 {
                return Some(b"(nil)".to_vec());
            }
            let len = len as usize;
            (buf.len() >= eol + 2 + len + 2).then(|| buf[eol + 2..eol + 2 + len].to_vec())
        }
        b'*' => (buf.ends_with(b"\r\n")).then(|| buf.to_vec()),
        _ => Some(buf[1..eol].to_vec()),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_command_files() {
    if !docker_ready() {
        return;
    }
    let http = http();
    let c = start("devenv-test/redis:7", &[], 6379, &[]);
    let conn = Connection { kind: Kind::Redis, port: 6379, internal_port: None, user: None, password: None, database: None };
    let addr = format!("127.0.0.1:{}", c.port);
    wait_ready(&conn, &addr, &http).await;
    let t = conn.target(addr.clone(), &http);

    let last = Last::new();
    let applied = seed::redis::apply_commands(&t, &fixture("redis/seed.redis"), progress!(last)).await.expect("seed.redis");
    assert_eq!(applied, Applied { count: 9, unit: "commands" });
    assert_eq!(last.get(), 9);

    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    assert_eq!(redis_cmd(&mut s, &[b"GET", b"greeting"]).await, b"hello world");
    assert_eq!(redis_cmd(&mut s, &[b"GET", b"multiline"]).await, b"line1\nline2");
    assert_eq!(redis_cmd(&mut s, &[b"GET", b"hex"]).await, b"ABC");
    assert_eq!(redis_cmd(&mut s, &[b"GET", b"single"]).await, br#"it's "quoted" \n literally"#);
    assert_eq!(redis_cmd(&mut s, &[b"HGET", b"user:1", b"name"]).await, b"Ada Lovelace");
    assert_eq!(redis_cmd(&mut s, &[b"LINDEX", b"queue", b"2"]).await, b"c d");
    assert_eq!(redis_cmd(&mut s, &[b"GET", b"counter"]).await, b"2");
    assert_eq!(redis_cmd(&mut s, &[b"SISMEMBER", b"tags", b"with space"]).await, b"1");

    // Failing commands: counted, the first few named by line; the others ran.
    let err = seed::redis::apply_commands(&t, &fixture("redis/bad.redis"), &|_| {}).await.expect_err("bad.redis");
    println!("bad.redis: {}", err.message);
    assert!(err.message.contains("bad.redis: 3 of 7 commands failed"), "{}", err.message);
    assert!(err.message.contains("bad.redis:4: INCR: ERR value is not an integer or out of range"), "{}", err.message);
    assert!(err.message.contains("bad.redis:5: LPUSH: WRONGTYPE"), "{}", err.message);
    assert!(err.message.contains("bad.redis:6: NOSUCHCMD: ERR unknown command"), "{}", err.message);
    assert_eq!(redis_cmd(&mut s, &[b"GET", b"after"]).await, b"1");

    // A quoting error: named by line before anything is sent.
    let err = seed::redis::apply_commands(&t, &fixture("redis/unbalanced.redis"), &|_| {}).await.expect_err("unbalanced");
    assert!(err.message.contains("unbalanced.redis:2: unbalanced double quote"), "{}", err.message);
    assert_eq!(redis_cmd(&mut s, &[b"EXISTS", b"fine"]).await, b"0");

    // Many commands: more than one pipelined chunk.
    let dir = tempfile::tempdir().unwrap();
    let many = dir.path().join("many.redis");
    std::fs::write(&many, (0..2500).map(|i| format!("SET key:{i} \"value {i}\"\n")).collect::<String>()).unwrap();
    let applied = seed::redis::apply_commands(&t, &many, &|_| {}).await.expect("many");
    assert_eq!(applied.count, 2500);
    assert_eq!(redis_cmd(&mut s, &[b"GET", b"key:2499"]).await, b"value 2499");

    seed::redis::reset(&t).await.expect("reset");
    assert_eq!(redis_cmd(&mut s, &[b"DBSIZE"]).await, b"0");
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_with_password() {
    if !docker_ready() {
        return;
    }
    let http = http();
    let c = start("devenv-test/redis:7", &[], 6379, &["redis-server", "--requirepass", "pw here"]);
    let addr = format!("127.0.0.1:{}", c.port);
    let conn = Connection { kind: Kind::Redis, port: 6379, internal_port: None, user: None, password: Some("pw here".into()), database: None };
    wait_ready(&conn, &addr, &http).await;
    let t = conn.target(addr.clone(), &http);
    let applied = seed::redis::apply_commands(&t, &fixture("redis/seed.redis"), &|_| {}).await.expect("seed.redis with AUTH");
    assert_eq!(applied.count, 9);
    let wrong = Connection { password: Some("wrong".into()), ..conn.clone() };
    let tw = wrong.target(addr, &http);
    let err = seed::redis::apply_commands(&tw, &fixture("redis/seed.redis"), &|_| {}).await.expect_err("wrong password");
    assert!(err.message.contains("authentication failed"), "{}", err.message);
}
