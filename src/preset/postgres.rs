//! Postgres: the official `postgres` image's contract (POSTGRES_USER,
//! POSTGRES_PASSWORD, POSTGRES_DB, PGDATA). The data volume goes where the
//! image keeps its data: from its config when present locally (PG_MAJOR,
//! PGDATA, VOLUME), else from the tag (18+: /var/lib/postgresql, before:
//! .../data; `latest` is the newest major); data of another major in that
//! volume is refused before start. Probe: connect with the
//! configured credentials and `SELECT 1`. Seeds: SQL files (one
//! transaction), CSV through `COPY`; reset drops and recreates the database.
//! In Kubernetes: `pg_isready`, `psql` seed Jobs, PGDATA below the volume root.

use std::collections::BTreeMap;

use futures_util::future::BoxFuture;
use indexmap::IndexMap;

use super::{
    env_of, file_name, named_volume, q, read, tcp_port, unsupported, ClusterEnv, Connection, Context, Defaults, Ecosystem, InitText, K8sProbe, Kind,
    Preset, ProbeError, Resources, SeedClient, SeedScript, MIB,
};
use crate::seed::entry::SeedKind;
use crate::seed::{self, Applied, Progress, SeedError, Target};
use crate::values::{split_reference, ImageConfig};

pub struct Postgres;

impl Preset for Postgres {
    fn aliases(&self) -> &'static [&'static str] {
        &["pg", "postgresql", "psql"]
    }
    fn image_repos(&self) -> &'static [&'static str] {
        &["postgres", "postgis", "postgresql"]
    }
    fn image_for(&self, version: &str) -> Result<String, String> {
        Ok(if version == "latest" { "postgres:alpine".into() } else { format!("postgres:{version}-alpine") })
    }
    fn tag_forms(&self) -> &'static str {
        "`16-alpine`, `16`, `16.10-alpine`, `16-bookworm`, `alpine`, `latest`"
    }
    fn defaults(&self, ctx: &Context) -> Defaults {
        defaults(ctx)
    }
    fn connection(&self, env: &IndexMap<String, String>, _command: &[String]) -> Connection {
        connection(env)
    }
    fn url(&self, auth: &str, host: &str, port: u16, database: &str) -> String {
        format!("postgres://{auth}{host}:{port}/{database}")
    }
    fn probe<'a>(&'a self, conn: &'a Connection, addr: &'a str, _http: &'a reqwest::Client) -> BoxFuture<'a, Result<(), ProbeError>> {
        Box::pin(probe(conn, addr))
    }
    fn probe_description(&self) -> &'static str {
        "postgres SELECT 1"
    }

    /// `PG_VERSION` of either layout: at the volume root (before 18), in `data/`
    /// (a pre-18 volume mounted one level up), in `<major>/docker` (18+).
    fn data_markers(&self) -> Vec<String> {
        let mut m = vec!["PG_VERSION".to_string(), "data/PG_VERSION".to_string()];
        m.extend((13..=LATEST_MAJOR + 2).map(|major| format!("{major}/docker/PG_VERSION")));
        m
    }
    fn check_data(&self, image: &str, config: Option<&ImageConfig>, volume: &str, found: &[(String, String)]) -> Result<(), (String, String)> {
        check_major(major(config, image), volume, found)
    }

    fn seed_kinds(&self) -> &'static [&'static str] {
        &["sql", "csv", "exec"]
    }
    fn seed<'a>(&'a self, t: &'a Target<'a>, kind: &'a SeedKind, progress: Progress<'a>) -> Option<BoxFuture<'a, Result<Applied, SeedError>>> {
        match kind {
            SeedKind::Sql { file } => Some(Box::pin(seed::postgres::apply_sql(t, file, progress))),
            SeedKind::Csv { file, table } => Some(Box::pin(seed::postgres::copy_csv(t, file, table, progress))),
            _ => None,
        }
    }
    fn reset<'a>(&'a self, t: &'a Target<'a>, _seeds: Vec<&'a SeedKind>) -> BoxFuture<'a, Result<(), SeedError>> {
        Box::pin(seed::postgres::reset(t))
    }
    fn in_server<'a>(&'a self, t: &'a Target<'a>, op: seed::InServer<'a>) -> Option<BoxFuture<'a, Result<bool, SeedError>>> {
        Some(Box::pin(seed::postgres::in_server(t, op)))
    }

    fn k8s_probes(&self, c: &Connection) -> (K8sProbe, K8sProbe) {
        let user = c.user.clone().unwrap_or_else(|| "postgres".into());
        let db = c.database.clone().unwrap_or_else(|| user.clone());
        let command: Vec<String> = ["pg_isready", "-h", "127.0.0.1", "-p", &c.port.to_string(), "-U", &user, "-d", &db].iter().map(|s| s.to_string()).collect();
        (K8sProbe::Exec { command: command.clone() }, K8sProbe::Exec { command })
    }
    fn k8s_requests(&self) -> Resources {
        Resources { cpu: "100m", memory: "256Mi" }
    }
    /// A volume's root may hold `lost+found`; initdb needs an empty directory.
    fn k8s_env(&self, cx: &ClusterEnv, env: &mut BTreeMap<String, String>) {
        if cx.data_mount == Some("/var/lib/postgresql/data") && !env.contains_key("PGDATA") {
            env.insert("PGDATA".into(), "/var/lib/postgresql/data/pgdata".into());
        }
    }
    fn k8s_seed_client(&self, c: &Connection, host: &str) -> SeedClient {
        let mut env = vec![("PGHOST".to_string(), host.to_string()), ("PGPORT".to_string(), c.port.to_string())];
        if let Some(u) = &c.user {
            env.push(("PGUSER".into(), u.clone()));
        }
        if let Some(d) = &c.database {
            env.push(("PGDATABASE".into(), d.clone()));
        }
        if c.password.is_some() {
            env.push(("PGPASSWORD".into(), "$(POSTGRES_PASSWORD)".into()));
        }
        SeedClient { command: "psql -v ON_ERROR_STOP=1".into(), check: format!("pg_isready -q -h {} -p {}", q(host), c.network_port()), env }
    }
    fn k8s_seed(&self, s: &mut dyn SeedScript, kind: &SeedKind, id: &str, cli: &str) -> Result<(), String> {
        match kind {
            SeedKind::Sql { file } => {
                let path = s.add_file(&file_name(file), read(file)?);
                s.run(id, format!("{cli} --single-transaction -f {}", q(&path)));
            }
            SeedKind::Csv { file, table } => {
                let text = read(file)?;
                let header = text.lines().next().unwrap_or("");
                let cols = seed::sql::csv_header(header).iter().map(|c| seed::postgres::quote_ident(c)).collect::<Vec<_>>().join(", ");
                let target = seed::postgres::quote_qualified(table)?;
                let path = s.add_file(&file_name(file), text);
                let copy = format!("\\copy {target} ({cols}) FROM '{path}' WITH (FORMAT csv, HEADER true)");
                s.run(id, format!("{cli} -c {}", q(&copy)));
            }
            other => return Err(unsupported(other, "postgres")),
        }
        Ok(())
    }

    fn memory(&self) -> u64 {
        256 * MIB
    }
    fn first_start_ms(&self) -> u64 {
        2000 // initdb, then the init scripts, then the server started again
    }
    fn init_text(&self) -> InitText {
        InitText { service: "db", variable: "DATABASE_URL", about: "PostgreSQL 16 on 127.0.0.1:5432 (user and password `devenv`, database = the project name)" }
    }
    fn dependencies(&self, eco: Ecosystem) -> &'static [&'static str] {
        match eco {
            Ecosystem::Node => &["pg", "postgres", "pg-promise"],
            Ecosystem::Python => &["psycopg", "psycopg2", "psycopg2-binary", "asyncpg", "pg8000"],
            Ecosystem::Rust => &["tokio-postgres", "postgres", "deadpool-postgres"],
            Ecosystem::Go => &["github.com/lib/pq", "github.com/jackc/pgx"],
        }
    }
    fn dependency_hint(&self, eco: Ecosystem, text: &str) -> Option<&'static str> {
        (eco == Ecosystem::Rust && text.lines().any(|l| l.trim_start().starts_with("sqlx") && l.contains("postgres"))).then_some("sqlx (postgres)")
    }
}

pub const DEFAULT_VERSION: &str = "16";
pub const PORT: u16 = 5432;
/// The newest major: what `latest`, an untagged reference and a tag naming
/// no version (`alpine`, `bookworm`) run.
pub const LATEST_MAJOR: u32 = 18;
/// The directory every layout keeps its data under (18+: the `VOLUME` itself).
pub const DATA_ROOT: &str = "/var/lib/postgresql";
/// Before 18: the `VOLUME` and `PGDATA`.
const DATA_DIR_BEFORE_18: &str = "/var/lib/postgresql/data";

/// The major version a tag names: its leading number (`16-alpine`,
/// `18.1-bookworm`, postgis `18-3.5`); `latest`, `alpine`, a digest → the newest.
pub fn tag_major(tag: &str) -> u32 {
    let digits: String = tag.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap_or(LATEST_MAJOR)
}

/// The major version `reference` runs: the image's `PG_MAJOR` when it is
/// present locally, else its tag's.
pub fn major(config: Option<&ImageConfig>, reference: &str) -> u32 {
    config.and_then(|c| c.env("PG_MAJOR")).and_then(|m| m.trim().parse().ok()).unwrap_or_else(|| tag_major(&split_reference(reference).1))
}

/// Where the data volume goes: the image's own `VOLUME` holding its `PGDATA`
/// when the image is present locally, else the layout of its major.
pub fn data_volume(config: Option<&ImageConfig>, reference: &str) -> String {
    let declared = config.and_then(|c| {
        let pgdata = c.env("PGDATA")?.trim_end_matches('/');
        let holds = |v: &&String| {
            let v = v.trim_end_matches('/');
            pgdata == v || pgdata.strip_prefix(v).is_some_and(|rest| rest.starts_with('/'))
        };
        c.volumes.iter().filter(holds).max_by_key(|v| v.len()).map(|v| v.trim_end_matches('/').to_string())
    });
    declared.unwrap_or_else(|| if major(config, reference) >= 18 { DATA_ROOT.into() } else { DATA_DIR_BEFORE_18.into() })
}

/// A data volume written by another major cannot be opened (16 → 18 refuses
/// to start, 18 → 17 runs initdb over a non-empty directory): say so first.
pub fn check_major(image_major: u32, volume: &str, found: &[(String, String)]) -> Result<(), (String, String)> {
    // `<major>/docker/PG_VERSION` is the 18+ layout's own claim; elsewhere the file's content says.
    let major_of = |(path, content): &(String, String)| match path.strip_suffix("/docker/PG_VERSION") {
        Some(dir) => dir.parse::<u32>().ok(),
        None => content.trim().split('.').next()?.parse::<u32>().ok(),
    };
    let old = found.iter().filter_map(major_of).find(|m| *m != image_major);
    let Some(old) = old else { return Ok(()) };
    let message = format!("the data volume `{volume}` holds PostgreSQL {old} data, but the image runs PostgreSQL {image_major}: a server opens only its own major's data");
    let hint = format!(
        "keep the old data: give each major its own volume (e.g. `volumes: [\"pg{image_major}-data:{DATA_ROOT}\"]`, or `version: \"{old}\"` back); \
         or start empty: `devenv down -v` (deletes the data); or move it: run {old}, `pg_dumpall` it, then restore the dump into {image_major}"
    );
    Err((message, hint))
}

fn defaults(ctx: &Context) -> Defaults {
    let version = ctx.version.unwrap_or(DEFAULT_VERSION);
    let persist = ctx.persist.unwrap_or(true);
    let image = Postgres.image_for(version).unwrap_or_else(|_| format!("postgres:{version}-alpine"));
    let dir = data_volume(ctx.image_config, ctx.image.unwrap_or(&image));
    Defaults {
        image,
        env: env_of(&[
            ("POSTGRES_USER", "devenv".into()),
            ("POSTGRES_PASSWORD", "devenv".into()),
            ("POSTGRES_DB", ctx.project.replace('-', "_")),
        ]),
        command: None,
        ports: vec![tcp_port(PORT)],
        volumes: if persist { vec![named_volume(ctx, &dir)] } else { vec![] },
        ulimits: vec![],
        data_dir: dir,
        data_root: Some(DATA_ROOT.into()),
    }
}

fn connection(env: &IndexMap<String, String>) -> Connection {
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
async fn probe(conn: &Connection, addr: &str) -> Result<(), ProbeError> {
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
            _ => ProbeError::retry(format!("postgres at {addr}: {}", e.as_db_error().map(|d| d.message().to_string()).unwrap_or_else(|| seed::root_cause(&e)))),
        }
    })?;
    let task = tokio::spawn(connection);
    let result = client.simple_query("SELECT 1").await.map(|_| ()).map_err(|e| ProbeError::retry(format!("SELECT 1 failed: {e}")));
    drop(client);
    task.abort();
    result
}
