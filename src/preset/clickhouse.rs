//! ClickHouse: the official `clickhouse/clickhouse-server` image.
//! CLICKHOUSE_USER/PASSWORD/DB are set (current releases deny network access
//! to a passwordless default user); `nofile` 262144. HTTP 8123, native 9000.
//! Probe: HTTP `/ping`, then `SELECT 1` with the credentials. Seeds: SQL
//! files, CSV and JSON-lines inserts; reset drops and recreates the database.
//! In Kubernetes: HTTP `/ping`, `clickhouse-client` seed Jobs.

use futures_util::future::BoxFuture;
use indexmap::IndexMap;

use super::{
    env_of, file_name, named_volume, q, read, tcp_port, unsupported, Connection, Context, Defaults, Ecosystem, InitText, K8sProbe, Kind, Preset,
    ProbeError, Resources, SeedClient, SeedScript, GIB,
};
use crate::seed::entry::SeedKind;
use crate::seed::{self, Applied, Progress, SeedError, Target};

pub struct Clickhouse;

impl Preset for Clickhouse {
    fn aliases(&self) -> &'static [&'static str] {
        &["ch"]
    }
    fn image_repos(&self) -> &'static [&'static str] {
        &["clickhouse-server", "clickhouse"]
    }
    fn image_for(&self, version: &str) -> Result<String, String> {
        Ok(format!("clickhouse/clickhouse-server:{version}"))
    }
    fn tag_forms(&self) -> &'static str {
        "`24.8`, `25.3`, `24` (its newest release), full versions, `latest`"
    }
    fn defaults(&self, ctx: &Context) -> Defaults {
        defaults(ctx)
    }
    fn connection(&self, env: &IndexMap<String, String>, _command: &[String]) -> Connection {
        connection(env)
    }
    fn url(&self, auth: &str, host: &str, port: u16, database: &str) -> String {
        format!("http://{auth}{host}:{port}/?database={database}")
    }
    fn probe<'a>(&'a self, conn: &'a Connection, addr: &'a str, http: &'a reqwest::Client) -> BoxFuture<'a, Result<(), ProbeError>> {
        Box::pin(probe(conn, addr, http))
    }
    fn probe_description(&self) -> &'static str {
        "clickhouse /ping + SELECT 1"
    }

    fn seed_kinds(&self) -> &'static [&'static str] {
        &["sql", "csv", "jsonl", "exec"]
    }
    fn seed<'a>(&'a self, t: &'a Target<'a>, kind: &'a SeedKind, progress: Progress<'a>) -> Option<BoxFuture<'a, Result<Applied, SeedError>>> {
        use seed::clickhouse::{apply_sql, insert, Format};
        match kind {
            SeedKind::Sql { file } => Some(Box::pin(apply_sql(t, file, progress))),
            SeedKind::Csv { file, table } => Some(Box::pin(insert(t, file, table, Format::Csv, progress))),
            SeedKind::Jsonl { file, table } => Some(Box::pin(insert(t, file, table, Format::JsonLines, progress))),
            _ => None,
        }
    }
    fn reset<'a>(&'a self, t: &'a Target<'a>, _seeds: Vec<&'a SeedKind>) -> BoxFuture<'a, Result<(), SeedError>> {
        Box::pin(seed::clickhouse::reset(t))
    }
    fn in_server<'a>(&'a self, t: &'a Target<'a>, op: seed::InServer<'a>) -> Option<BoxFuture<'a, Result<bool, SeedError>>> {
        Some(Box::pin(seed::clickhouse::snapshot::in_server(t, op)))
    }

    fn k8s_probes(&self, c: &Connection) -> (K8sProbe, K8sProbe) {
        let ping = K8sProbe::Http { path: "/ping".into(), port: c.port };
        (ping.clone(), ping)
    }
    fn k8s_requests(&self) -> Resources {
        Resources { cpu: "200m", memory: "512Mi" }
    }
    fn k8s_seed_client(&self, c: &Connection, host: &str) -> SeedClient {
        let mut command = format!("clickhouse-client --host {} --port {NATIVE_PORT}", q(host));
        if let Some(u) = &c.user {
            command.push_str(&format!(" --user {}", q(u)));
        }
        if c.password.is_some() {
            command.push_str(" --password \"$CLICKHOUSE_PASSWORD\"");
        }
        if let Some(d) = &c.database {
            command.push_str(&format!(" --database {}", q(d)));
        }
        SeedClient { check: format!("{command} --query 'SELECT 1' >/dev/null 2>&1"), command, env: vec![] }
    }
    fn k8s_seed(&self, s: &mut dyn SeedScript, kind: &SeedKind, id: &str, cli: &str) -> Result<(), String> {
        match kind {
            SeedKind::Sql { file } => {
                let path = s.add_file(&file_name(file), read(file)?);
                s.run(id, format!("{cli} --multiquery < {}", q(&path)));
            }
            SeedKind::Csv { file, table } | SeedKind::Jsonl { file, table } => {
                let text = read(file)?;
                let target = seed::clickhouse::quote_qualified(table)?;
                let format = if matches!(kind, SeedKind::Csv { .. }) { "CSVWithNames" } else { "JSONEachRow" };
                let path = s.add_file(&file_name(file), text);
                s.run(id, format!("{cli} --query {} < {}", q(&format!("INSERT INTO {target} FORMAT {format}")), q(&path)));
            }
            other => return Err(unsupported(other, "clickhouse")),
        }
        Ok(())
    }

    fn memory(&self) -> u64 {
        GIB
    }
    fn first_start_ms(&self) -> u64 {
        1500 // server start, then the user and database created
    }
    fn init_text(&self) -> InitText {
        InitText { service: "clickhouse", variable: "CLICKHOUSE_URL", about: "ClickHouse 24.8 on 127.0.0.1:8123 (HTTP) and :9000 (native), user and password `devenv`" }
    }
    fn dependencies(&self, eco: Ecosystem) -> &'static [&'static str] {
        match eco {
            Ecosystem::Node => &["@clickhouse/client"],
            Ecosystem::Python => &["clickhouse-connect", "clickhouse-driver"],
            Ecosystem::Rust => &["clickhouse"],
            Ecosystem::Go => &["github.com/ClickHouse/clickhouse-go"],
        }
    }
}

pub const DEFAULT_VERSION: &str = "24.8";
pub const HTTP_PORT: u16 = 8123;
pub const NATIVE_PORT: u16 = 9000;

fn defaults(ctx: &Context) -> Defaults {
    let version = ctx.version.unwrap_or(DEFAULT_VERSION);
    let persist = ctx.persist.unwrap_or(true);
    Defaults {
        image: format!("clickhouse/clickhouse-server:{version}"),
        env: env_of(&[
            ("CLICKHOUSE_USER", "devenv".into()),
            ("CLICKHOUSE_PASSWORD", "devenv".into()),
            ("CLICKHOUSE_DB", ctx.project.replace('-', "_")),
            ("CLICKHOUSE_DEFAULT_ACCESS_MANAGEMENT", "1".into()),
        ]),
        command: None,
        ports: vec![tcp_port(HTTP_PORT), tcp_port(NATIVE_PORT)],
        volumes: if persist { vec![named_volume(ctx, "/var/lib/clickhouse")] } else { vec![] },
        ulimits: vec![("nofile".into(), 262_144, 262_144)],
        data_dir: "/var/lib/clickhouse".into(),
        data_root: None,
    }
}

fn connection(env: &IndexMap<String, String>) -> Connection {
    Connection {
        kind: Kind::Clickhouse,
        port: HTTP_PORT,
        internal_port: None,
        user: Some(env.get("CLICKHOUSE_USER").cloned().unwrap_or_else(|| "default".into())),
        password: env.get("CLICKHOUSE_PASSWORD").cloned(),
        database: Some(env.get("CLICKHOUSE_DB").cloned().unwrap_or_else(|| "default".into())),
    }
}

/// HTTP `/ping` → `Ok.`, then `SELECT 1` with the configured credentials.
async fn probe(conn: &Connection, addr: &str, http: &reqwest::Client) -> Result<(), ProbeError> {
    let ping = http.get(format!("http://{addr}/ping")).send().await.map_err(|e| ProbeError::retry(format!("GET /ping: {}", seed::root_cause(&e))))?;
    if !ping.status().is_success() {
        return Err(ProbeError::retry(format!("GET /ping: HTTP {}", ping.status())));
    }
    let mut req = http.post(format!("http://{addr}/")).body("SELECT 1");
    if let Some(u) = &conn.user {
        req = req.header("X-ClickHouse-User", u);
    }
    if let Some(p) = &conn.password {
        req = req.header("X-ClickHouse-Key", p);
    }
    let r = req.send().await.map_err(|e| ProbeError::retry(format!("SELECT 1: {}", seed::root_cause(&e))))?;
    let status = r.status();
    let body = r.text().await.unwrap_or_default();
    if status.is_success() && body.trim() == "1" {
        return Ok(());
    }
    let first = body.lines().next().unwrap_or("").to_string();
    if status.as_u16() == 401 || status.as_u16() == 403 || body.contains("Authentication failed") || body.contains("Code: 516") || body.contains("Code: 193") || body.contains("Code: 192") {
        return Err(ProbeError::fatal(format!("authentication failed for user `{}`: {first}", conn.user.as_deref().unwrap_or("default"))));
    }
    Err(ProbeError::retry(format!("SELECT 1: HTTP {status}: {first}")))
}
