//! The agreement test (issue 18 item 2): every healthcheck form devenv
//! recognises is run both ways against the same real server —
//! the command as written, inside the container (`docker exec`), and
//! devenv's native check of it (`plan::healthcheck::recognise` →
//! `engine::health::native_check`) from outside — in states where the
//! answer is yes (the server accepts) and no (wrong port, wrong password,
//! server rejecting, server not running), and the two must agree.
//! The stand-in images carry the real clients: Debian's pg_isready 15,
//! redis-cli 7.0 and clickhouse-client 18.16; curl, wget and netcat are
//! added to the app image here (Debian's packages). (No MySQL server image can be
//! built here: `mysqladmin ping` is covered by unit tests on protocol bytes.)
//! Waiting for a server to come up is a bounded poll, never a timed assertion.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use indexmap::IndexMap;

use crate::harness::*;

/// A container this test started (`docker run`), removed when dropped.
struct Container {
    name: String,
    env: IndexMap<String, String>,
}

impl Container {
    fn run(tag: &str, env: &[(&str, &str)], args: &[&str]) -> Container {
        let name = format!("devenv-agree-{tag}-{}", std::process::id());
        let mut cmd = Command::new("docker");
        cmd.args(["run", "-d", "--name", &name, "--label", "dev.devenv.test=healthcheck-agreement"]);
        for (k, v) in env {
            cmd.args(["-e", &format!("{k}={v}")]);
        }
        let out = cmd.args(args).output().expect("docker run");
        assert!(out.status.success(), "docker run {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        Container { name, env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() }
    }

    fn ip(&self) -> String {
        inspect(&self.name, "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}")
    }

    fn exec(&self, argv: &[String]) -> bool {
        Command::new("docker").arg("exec").arg(&self.name).args(argv).stdout(Stdio::null()).stderr(Stdio::null()).status().expect("docker exec").success()
    }

    fn exec_str(&self, args: &[&str]) -> bool {
        self.exec(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    /// Poll `check` (a command inside) until it passes; panics after `limit`.
    fn wait_for(&self, check: &[&str], limit: Duration) {
        let start = Instant::now();
        while !self.exec_str(check) {
            assert!(start.elapsed() < limit, "{}: `{}` never passed", self.name, check.join(" "));
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(["rm", "-f", "-v", &self.name]).output();
    }
}

/// A form as compose writes it: `sh -c SCRIPT` for a string, else the words.
fn form(s: &str) -> Vec<String> {
    match s.strip_prefix("sh: ") {
        Some(script) => vec!["sh".into(), "-c".into(), script.into()],
        None => shell_words::split(s).expect("words"),
    }
}

/// devenv's native answer for `command` against container `c`.
fn native(c: &Container, command: &[String]) -> Result<(), String> {
    let check = devenv::plan::healthcheck::recognise(command, &c.env).unwrap_or_else(|| panic!("`{}` is not recognised", command.join(" ")));
    let addr = format!("{}:{}", c.ip(), check.port());
    let client = reqwest::Client::builder().no_proxy().build().expect("client");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(devenv::engine::health::native_check(&check, &addr, &client))
}

/// Both ways, for every form: each must answer `expected`.
fn agree(c: &Container, expected: bool, forms: &[&str]) {
    for f in forms {
        let command = form(f);
        let written = c.exec(&command);
        let native = native(c, &command);
        assert_eq!(
            (written, native.is_ok()),
            (expected, expected),
            "`{f}` in {}: as written {}, natively {native:?} (expected {})",
            c.name,
            if written { "passed" } else { "failed" },
            if expected { "yes" } else { "no" }
        );
    }
}

const LIMIT: Duration = Duration::from_secs(120);

#[test]
fn pg_isready_forms_agree_with_pg_isready() {
    if !images_ready(&[POSTGRES]) {
        return;
    }
    let env = [("POSTGRES_PASSWORD", "pw"), ("POSTGRES_USER", "app"), ("POSTGRES_DB", "shop")];
    let down = Container::run("pg-down", &env, &["--entrypoint", "sleep", POSTGRES, "infinity"]);
    let db = Container::run("pg", &env, &[POSTGRES]);
    db.wait_for(&["pg_isready", "-h", "127.0.0.1"], LIMIT);
    let yes = [
        "pg_isready",
        "pg_isready -h localhost -p 5432 -U app -d shop -q -t 2",
        "sh: pg_isready -U ${POSTGRES_USER} -d ${POSTGRES_DB} || exit 1",
        "pg_isready -U ${POSTGRES_USER}",
        // Not a login: an unknown role and database still mean "accepting connections".
        "pg_isready -h 127.0.0.1 -U nosuchrole -d nosuchdb",
    ];
    agree(&db, true, &yes);
    agree(&db, false, &["pg_isready -h 127.0.0.1 -p 5433", "pg_isready -p 1"]);
    agree(&down, false, &yes);

    // Shutting down while a session is open: the server answers 57P03
    // ("the database system is shutting down"), pg_isready exits 1.
    let as_postgres = |script: &str| {
        let status = Command::new("docker").args(["exec", "-u", "postgres", "-e", "PGPASSWORD=pw", &db.name, "sh", "-c", script]).status().expect("docker exec");
        assert!(status.success(), "{script}");
    };
    let session = Command::new("docker")
        .args(["exec", "-d", "-u", "postgres", "-e", "PGPASSWORD=pw", &db.name, "psql", "-h", "127.0.0.1", "-U", "app", "-d", "shop", "-c", "SELECT pg_sleep(600)"])
        .status()
        .expect("psql");
    assert!(session.success());
    db.wait_for(&["sh", "-c", "PGPASSWORD=pw psql -h 127.0.0.1 -U app -d shop -Atc \"SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(600)'\" | grep -qx 1"], LIMIT);
    as_postgres("pg_ctl -D \"$PGDATA\" -m smart -W stop");
    db.wait_for(&["sh", "-c", "pg_isready -h 127.0.0.1; test $? -eq 1"], LIMIT);
    agree(&db, false, &yes);
    let rejecting = native(&db, &form("pg_isready -h 127.0.0.1")).expect_err("rejecting");
    assert!(rejecting.contains("rejecting connections"), "{rejecting}");
}

#[test]
fn redis_cli_forms_agree_with_redis_cli() {
    if !images_ready(&[REDIS]) {
        return;
    }
    let env = [("REDIS_PASSWORD", "sekret")];
    let server = ["redis-server", "--bind", "0.0.0.0", "--protected-mode", "no", "--requirepass", "sekret"];
    let down = Container::run("redis-down", &env, &["--entrypoint", "sleep", REDIS, "infinity"]);
    let mut args = vec![REDIS];
    args.extend(server);
    let redis = Container::run("redis", &env, &args);
    redis.wait_for(&["sh", "-c", "redis-cli -a sekret --no-auth-warning ping | grep -q PONG"], LIMIT);
    // redis-cli exits 0 on any reply, an error reply (NOAUTH) included.
    let yes = [
        "redis-cli ping",
        "redis-cli --raw incr ping",
        "redis-cli -h 127.0.0.1 -p 6379 -a sekret --no-auth-warning -n 1 PING",
        "redis-cli -a wrong ping",
        "sh: redis-cli -a $REDIS_PASSWORD --no-auth-warning ping | grep PONG",
        "sh: redis-cli -a ${REDIS_PASSWORD} --no-auth-warning --raw incr ping || exit 1",
    ];
    agree(&redis, true, &yes);
    agree(&redis, false, &["sh: redis-cli ping | grep PONG", "sh: redis-cli -a wrong ping | grep -q PONG", "redis-cli -p 6380 ping"]);
    agree(&down, false, &yes);
}

#[test]
fn clickhouse_client_forms_agree_with_clickhouse_client() {
    if !images_ready(&[CLICKHOUSE]) {
        return;
    }
    let down = Container::run("ch-down", &[], &["--entrypoint", "sleep", CLICKHOUSE, "infinity"]);
    let ch = Container::run("ch", &[], &[CLICKHOUSE]);
    ch.wait_for(&["clickhouse-client", "--query", "SELECT 1"], LIMIT);
    let yes = [
        "clickhouse-client --query 'SELECT 1'",
        "clickhouse-client --host 127.0.0.1 --port 9000 --user default -q 'select 1'",
        "sh: clickhouse-client --query='SELECT 1' || exit 1",
    ];
    agree(&ch, true, &yes);
    agree(
        &ch,
        false,
        &[
            "clickhouse-client --port 9001 --query 'SELECT 1'",
            "clickhouse-client --password wrong --query 'SELECT 1'",
            "clickhouse-client --user nobody --query 'SELECT 1'",
            "clickhouse-client --database nosuchdb --query 'SELECT 1'",
        ],
    );
    agree(&down, false, &yes);
}

/// The stand-in app image with curl, wget and netcat added (built here from
/// Debian's packages; kept for the next run, Docker's cache makes it instant).
fn http_tools_image() -> String {
    use std::io::Write;
    let tag = "devenv-agree/http-tools:1";
    let dockerfile = format!("FROM {APP}\nRUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends curl wget netcat-openbsd && rm -rf /var/lib/apt/lists/*\n");
    let mut build = Command::new("docker").args(["build", "-q", "-t", tag, "-"]).stdin(Stdio::piped()).stdout(Stdio::null()).spawn().expect("docker build");
    build.stdin.take().expect("stdin").write_all(dockerfile.as_bytes()).expect("write Dockerfile");
    assert!(build.wait().expect("docker build").success(), "building {tag}");
    tag.to_string()
}

#[test]
fn curl_wget_and_nc_forms_agree_with_the_tools() {
    if !images_ready(&[APP]) {
        return;
    }
    let image = http_tools_image();
    // wget retries a refused connection 20 times with growing waits (145 s):
    // the forms say `--tries=1`, as compose files usually do.
    let down = Container::run("http-down", &[], &["--entrypoint", "sleep", &image, "infinity"]);
    let app = Container::run("http", &[], &[&image]);
    app.wait_for(&["nc", "-z", "127.0.0.1", "8080"], LIMIT);
    let yes = [
        "curl -f http://localhost:8080/health",
        "curl -fsS -o /dev/null --max-time 2 http://127.0.0.1:8080/health",
        "sh: curl -f http://localhost:8080/health || exit 1",
        "wget -q --spider --tries=1 http://localhost:8080/health",
        "wget -qO- -t 1 http://127.0.0.1:8080/health",
        "wget --no-verbose --tries=1 -O /dev/null -T 2 http://localhost:8080/health",
        "nc -z localhost 8080",
        "nc -zv -w 2 127.0.0.1 8080",
    ];
    agree(&app, true, &yes);
    agree(
        &app,
        false,
        &[
            "curl -f http://localhost:8080/missing",
            "wget -q --spider -t 1 http://localhost:8080/missing",
            "curl -f http://localhost:8081/health",
            "wget -qO- -t 1 http://localhost:8081/health",
            "nc -z localhost 8081",
        ],
    );
    agree(&down, false, &yes);
}
