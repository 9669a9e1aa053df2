//! Redis: the official `redis` image, which reads no environment: a password
//! is `redis-server --requirepass PASSWORD` in `command` (`REDIS_PASSWORD` is
//! not read by the image, so not by devenv). Persistence (`persist: true`)
//! turns on the append-only file with a data volume. Probe: `PING` → `PONG`
//! (with `AUTH` when the command sets a password). Seeds: redis-cli command
//! files; reset is `FLUSHALL`. In Kubernetes: `redis-cli ping`.

use futures_util::future::BoxFuture;
use indexmap::IndexMap;

use super::{
    file_name, named_volume, q, read, tcp_port, unsupported, Connection, Context, Defaults, Ecosystem, InitText, K8sProbe, Kind, Preset, ProbeError,
    Resources, SeedClient, SeedScript, MIB,
};
use crate::seed::entry::SeedKind;
use crate::seed::{self, Applied, Progress, SeedError, Target};

pub struct Redis;

/// redis-cli's password, given as `REDISCLI_AUTH` (redis-cli reads it; the image does not).
fn cli_auth(c: &Connection) -> String {
    c.password.as_deref().map(|p| format!("REDISCLI_AUTH={} ", q(p))).unwrap_or_default()
}

impl Preset for Redis {
    fn image_repos(&self) -> &'static [&'static str] {
        &["redis", "redis-stack-server", "valkey"]
    }
    fn image_for(&self, version: &str) -> Result<String, String> {
        Ok(if version == "latest" { "redis:alpine".into() } else { format!("redis:{version}-alpine") })
    }
    fn tag_forms(&self) -> &'static str {
        "`7-alpine`, `7`, `7.4-alpine`, `7.4.2`, `alpine`, `latest`"
    }
    fn defaults(&self, ctx: &Context) -> Defaults {
        defaults(ctx)
    }
    fn connection(&self, _env: &IndexMap<String, String>, command: &[String]) -> Connection {
        connection(command)
    }
    fn url(&self, auth: &str, host: &str, port: u16, _database: &str) -> String {
        format!("redis://{auth}{host}:{port}/0")
    }
    fn probe<'a>(&'a self, conn: &'a Connection, addr: &'a str, _http: &'a reqwest::Client) -> BoxFuture<'a, Result<(), ProbeError>> {
        Box::pin(probe(conn, addr))
    }
    fn probe_description(&self) -> &'static str {
        "redis PING"
    }

    fn seed_kinds(&self) -> &'static [&'static str] {
        &["redis", "exec"]
    }
    fn seed<'a>(&'a self, t: &'a Target<'a>, kind: &'a SeedKind, progress: Progress<'a>) -> Option<BoxFuture<'a, Result<Applied, SeedError>>> {
        match kind {
            SeedKind::Redis { file } => Some(Box::pin(seed::redis::apply_commands(t, file, progress))),
            _ => None,
        }
    }
    fn reset<'a>(&'a self, t: &'a Target<'a>, _seeds: Vec<&'a SeedKind>) -> BoxFuture<'a, Result<(), SeedError>> {
        Box::pin(seed::redis::reset(t))
    }
    /// Snapshots inside the server: logical databases swapped in by
    /// `SWAPDB`; before a volume copy the append-only file is rewritten (it
    /// then loads as one RDB image).
    fn in_server<'a>(&'a self, t: &'a Target<'a>, op: seed::InServer<'a>) -> Option<BoxFuture<'a, Result<bool, SeedError>>> {
        Some(Box::pin(seed::redis::snapshot::in_server(t, op)))
    }

    fn k8s_probes(&self, c: &Connection) -> (K8sProbe, K8sProbe) {
        (K8sProbe::shell(format!("{}redis-cli -p {} ping | grep -q PONG", cli_auth(c), c.port)), K8sProbe::Tcp { port: c.port })
    }
    fn k8s_requests(&self) -> Resources {
        Resources { cpu: "50m", memory: "64Mi" }
    }
    fn k8s_seed_client(&self, c: &Connection, host: &str) -> SeedClient {
        let command = format!("redis-cli -h {} -p {}", q(host), c.network_port());
        let check = format!("{command} ping 2>/dev/null | grep -q PONG");
        let env = c.password.iter().map(|p| ("REDISCLI_AUTH".to_string(), p.clone())).collect();
        SeedClient { command, check, env }
    }
    fn k8s_seed(&self, s: &mut dyn SeedScript, kind: &SeedKind, id: &str, cli: &str) -> Result<(), String> {
        match kind {
            SeedKind::Redis { file } => {
                let path = s.add_file(&file_name(file), read(file)?);
                s.run(id, format!("{cli} < {}", q(&path)));
                Ok(())
            }
            other => Err(unsupported(other, "redis")),
        }
    }

    fn memory(&self) -> u64 {
        64 * MIB
    }
    fn first_start_ms(&self) -> u64 {
        100 // an empty data set
    }
    fn init_text(&self) -> InitText {
        InitText { service: "cache", variable: "REDIS_URL", about: "Redis 7 on 127.0.0.1:6379" }
    }
    fn dependencies(&self, eco: Ecosystem) -> &'static [&'static str] {
        match eco {
            Ecosystem::Node => &["redis", "ioredis", "bullmq"],
            Ecosystem::Python => &["redis", "aioredis"],
            Ecosystem::Rust => &["redis", "deadpool-redis", "fred"],
            Ecosystem::Go => &["github.com/redis/go-redis", "github.com/go-redis/redis", "github.com/gomodule/redigo"],
        }
    }
}

pub const DEFAULT_VERSION: &str = "7";
pub const PORT: u16 = 6379;

fn defaults(ctx: &Context) -> Defaults {
    let version = ctx.version.unwrap_or(DEFAULT_VERSION);
    let persist = ctx.persist.unwrap_or(false);
    Defaults {
        image: Redis.image_for(version).unwrap_or_else(|_| format!("redis:{version}-alpine")),
        env: IndexMap::new(),
        command: persist.then(|| vec!["redis-server".into(), "--appendonly".into(), "yes".into()]),
        ports: vec![tcp_port(PORT)],
        volumes: if persist { vec![named_volume(ctx, "/data")] } else { vec![] },
        ulimits: vec![],
        data_dir: "/data".into(),
        data_root: None,
    }
}

/// The official image reads no environment: a password is set only by
/// `redis-server --requirepass PASSWORD` (or `--requirepass=PASSWORD`) in the command.
fn connection(command: &[String]) -> Connection {
    Connection { kind: Kind::Redis, port: PORT, internal_port: None, user: None, password: requirepass(command), database: None }
}

/// The `--requirepass` the command gives `redis-server`, if any (the last one wins, as in redis).
pub fn requirepass(command: &[String]) -> Option<String> {
    let mut found = None;
    for (i, arg) in command.iter().enumerate() {
        if let Some(v) = arg.strip_prefix("--requirepass=") {
            found = Some(v.to_string());
        } else if arg == "--requirepass" {
            found = command.get(i + 1).cloned();
        }
    }
    found.filter(|p| !p.is_empty())
}

/// `AUTH` (if a password is set), then `PING` → `+PONG`, over raw RESP.
async fn probe(conn: &Connection, addr: &str) -> Result<(), ProbeError> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let io = async {
        let mut s = tokio::net::TcpStream::connect(addr).await.map_err(|e| ProbeError::retry(format!("connect {addr}: {e}")))?;
        let mut req = Vec::new();
        if let Some(p) = &conn.password {
            req.extend_from_slice(format!("*2\r\n$4\r\nAUTH\r\n${}\r\n{p}\r\n", p.len()).as_bytes());
        }
        req.extend_from_slice(b"*1\r\n$4\r\nPING\r\n");
        s.write_all(&req).await.map_err(|e| ProbeError::retry(format!("write: {e}")))?;
        let mut buf = vec![0u8; 512];
        let mut got = Vec::new();
        let expected_lines = if conn.password.is_some() { 2 } else { 1 };
        while got.iter().filter(|b| **b == b'\n').count() < expected_lines {
            let n = s.read(&mut buf).await.map_err(|e| ProbeError::retry(format!("read: {e}")))?;
            if n == 0 {
                return Err(ProbeError::retry(format!("{addr}: connection closed before a reply")));
            }
            got.extend_from_slice(&buf[..n]);
        }
        let text = String::from_utf8_lossy(&got).to_string();
        for line in text.lines() {
            if line.starts_with("-WRONGPASS") || line.starts_with("-NOAUTH") || line.starts_with("-ERR invalid password") {
                return Err(ProbeError::fatal(format!("authentication failed: {}", line.trim_start_matches('-'))));
            }
            if line.starts_with('-') {
                return Err(ProbeError::retry(format!("redis replied {}", line.trim_start_matches('-'))));
            }
        }
        if text.contains("+PONG") { Ok(()) } else { Err(ProbeError::retry(format!("unexpected reply to PING: {}", text.trim()))) }
    };
    tokio::time::timeout(std::time::Duration::from_secs(2), io).await.map_err(|_| ProbeError::retry(format!("{addr}: no reply within 2 s")))?
}
