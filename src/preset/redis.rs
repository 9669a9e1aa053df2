//! Redis: the official `redis` image. Persistence (`persist: true`) turns on
//! the append-only file with a data volume. Probe: `PING` → `PONG`
//! (with `AUTH` when `REDIS_PASSWORD` is set).

use indexmap::IndexMap;

use super::{named_volume, tcp_port, Connection, Context, Defaults, Kind};

pub const DEFAULT_VERSION: &str = "7";
pub const PORT: u16 = 6379;

pub fn defaults(ctx: &Context) -> Defaults {
    let version = ctx.version.unwrap_or(DEFAULT_VERSION);
    let persist = ctx.persist.unwrap_or(false);
    Defaults {
        image: format!("redis:{version}-alpine"),
        env: IndexMap::new(),
        command: persist.then(|| vec!["redis-server".into(), "--appendonly".into(), "yes".into()]),
        ports: vec![tcp_port(PORT)],
        volumes: if persist { vec![named_volume(ctx, "/data")] } else { vec![] },
        ulimits: vec![],
        data_dir: "/data".into(),
    }
}

pub fn connection(env: &IndexMap<String, String>) -> Connection {
    Connection {
        kind: Kind::Redis,
        port: PORT,
        internal_port: None,
        user: None,
        password: env.get("REDIS_PASSWORD").cloned().filter(|p| !p.is_empty()),
        database: None,
    }
}

/// `AUTH` (if a password is set), then `PING` → `+PONG`, over raw RESP.
pub async fn probe(conn: &Connection, addr: &str) -> Result<(), super::ProbeError> {
    use super::ProbeError;
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
