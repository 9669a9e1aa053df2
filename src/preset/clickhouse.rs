//! ClickHouse: the official `clickhouse/clickhouse-server` image.
//! CLICKHOUSE_USER/PASSWORD/DB are set (current releases deny network access
//! to a passwordless default user); `nofile` 262144. HTTP 8123, native 9000.
//! Probe: HTTP `/ping`, then `SELECT 1` with the credentials.

use indexmap::IndexMap;

use super::{env_of, named_volume, tcp_port, Connection, Context, Defaults, Kind};

pub const DEFAULT_VERSION: &str = "24.8";
pub const HTTP_PORT: u16 = 8123;
pub const NATIVE_PORT: u16 = 9000;

pub fn defaults(ctx: &Context) -> Defaults {
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
    }
}

pub fn connection(env: &IndexMap<String, String>) -> Connection {
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
pub async fn probe(conn: &Connection, addr: &str, http: &reqwest::Client) -> Result<(), super::ProbeError> {
    use super::ProbeError;
    let ping = http.get(format!("http://{addr}/ping")).send().await.map_err(|e| ProbeError::retry(format!("GET /ping: {}", crate::preset::root_cause(&e))))?;
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
    let r = req.send().await.map_err(|e| ProbeError::retry(format!("SELECT 1: {}", crate::preset::root_cause(&e))))?;
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
