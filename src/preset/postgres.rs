//! Postgres: the official `postgres` image's contract (POSTGRES_USER,
//! POSTGRES_PASSWORD, POSTGRES_DB, PGDATA). Probe: connect with the
//! configured credentials and `SELECT 1`.

use indexmap::IndexMap;

use super::{env_of, named_volume, tcp_port, Connection, Context, Defaults, Kind};

pub const DEFAULT_VERSION: &str = "16";
pub const PORT: u16 = 5432;

/// Postgres 18 images keep data under /var/lib/postgresql/<major>/docker and
/// expect the volume at /var/lib/postgresql; older ones at .../data.
pub fn data_dir(version: &str) -> &'static str {
    let major: u32 = version.split(|c: char| !c.is_ascii_digit()).next().and_then(|m| m.parse().ok()).unwrap_or(16);
    if major >= 18 { "/var/lib/postgresql" } else { "/var/lib/postgresql/data" }
}

pub fn defaults(ctx: &Context) -> Defaults {
    let version = ctx.version.unwrap_or(DEFAULT_VERSION);
    let persist = ctx.persist.unwrap_or(true);
    Defaults {
        image: format!("postgres:{version}-alpine"),
        env: env_of(&[
            ("POSTGRES_USER", "devenv".into()),
            ("POSTGRES_PASSWORD", "devenv".into()),
            ("POSTGRES_DB", ctx.project.replace('-', "_")),
        ]),
        command: None,
        ports: vec![tcp_port(PORT)],
        volumes: if persist { vec![named_volume(ctx, data_dir(version))] } else { vec![] },
        ulimits: vec![],
        data_dir: data_dir(version).into(),
    }
}

pub fn connection(env: &IndexMap<String, String>) -> Connection {
    let user = env.get("POSTGRES_USER").cloned().unwrap_or_else(|| "postgres".into());
    Connection {
        kind: Kind::Postgres,
        port: PORT,
        internal_port: None,
        database: Some(env.get("POSTGRES_DB").cloned().unwrap_or_else(|| user.clone())),
        password: env.get("POSTGRES_PASSWORD").cloned(),
        user: Some(user),
    }
}

/// Connect with the configured credentials and run `SELECT 1`.
pub async fn probe(conn: &Connection, addr: &str) -> Result<(), super::ProbeError> {
    use super::ProbeError;
    use tokio_postgres::error::SqlState;
    let (host, port) = addr.rsplit_once(':').ok_or_else(|| ProbeError::retry(format!("bad address {addr}")))?;
    let mut cfg = tokio_postgres::Config::new();
    cfg.host(host.trim_start_matches('[').trim_end_matches(']'))
        .port(port.parse().unwrap_or(PORT))
        .user(conn.user.as_deref().unwrap_or("postgres"))
        .dbname(conn.database.as_deref().unwrap_or("postgres"))
        .connect_timeout(std::time::Duration::from_secs(2))
        .application_name("devenv-probe");
    if let Some(p) = &conn.password {
        cfg.password(p);
    }
    let (client, connection) = cfg.connect(tokio_postgres::NoTls).await.map_err(|e| {
        match e.code() {
            Some(c) if *c == SqlState::INVALID_PASSWORD || *c == SqlState::INVALID_AUTHORIZATION_SPECIFICATION => ProbeError::fatal(format!(
                "authentication failed for user `{}`: {} (a data volume initialised with other credentials keeps them; `devenv down -v` resets it)",
                conn.user.as_deref().unwrap_or("postgres"),
                e.as_db_error().map(|d| d.message().to_string()).unwrap_or_else(|| e.to_string())
            )),
            Some(c) if *c == SqlState::INVALID_CATALOG_NAME => ProbeError::retry(format!("database does not exist yet: {e}")),
            _ => ProbeError::retry(format!("postgres at {addr}: {}", e.as_db_error().map(|d| d.message().to_string()).unwrap_or_else(|| crate::preset::root_cause(&e)))),
        }
    })?;
    let task = tokio::spawn(connection);
    let result = client.simple_query("SELECT 1").await.map(|_| ()).map_err(|e| ProbeError::retry(format!("SELECT 1 failed: {e}")));
    drop(client);
    task.abort();
    result
}
