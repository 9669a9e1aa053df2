//! preset: the five backing services devenv knows, each a small unit of
//! defaults (official image, env contract, ports, data volume), a readiness
//! probe over the service's own protocol, and its connection URL.
//!
//! Defaults are pure data; `plan::resolve` merges them with what the user
//! wrote (the user always wins). Each preset also knows how to ask its
//! service "are you ready?" over the service's own protocol (`probe`),
//! which `engine::health` calls.

mod clickhouse;
mod elasticsearch;
mod kafka;
mod postgres;
mod redis;

use indexmap::IndexMap;
use serde::Serialize;

use crate::config::{PortSpec, VolumeSpec};

/// The presets, as written in `preset:`.
pub const NAMES: &[&str] = &["postgres", "redis", "kafka", "clickhouse", "elasticsearch"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Postgres,
    Redis,
    Kafka,
    Clickhouse,
    Elasticsearch,
}

impl Kind {
    pub fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "postgres" => Kind::Postgres,
            "redis" => Kind::Redis,
            "kafka" => Kind::Kafka,
            "clickhouse" => Kind::Clickhouse,
            "elasticsearch" => Kind::Elasticsearch,
            _ => return None,
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            Kind::Postgres => "postgres",
            Kind::Redis => "redis",
            Kind::Kafka => "kafka",
            Kind::Clickhouse => "clickhouse",
            Kind::Elasticsearch => "elasticsearch",
        }
    }

    /// Guess the preset from an image reference (`postgres:16`, `bitnami/redis`, …).
    pub fn from_image(image: &str) -> Option<Kind> {
        let repo = crate::docker::split_reference(image).0;
        let last = repo.rsplit('/').next().unwrap_or(&repo);
        match last {
            "postgres" | "postgis" | "postgresql" => Some(Kind::Postgres),
            "redis" | "redis-stack-server" | "valkey" => Some(Kind::Redis),
            "kafka" | "cp-kafka" => Some(Kind::Kafka),
            "clickhouse-server" | "clickhouse" => Some(Kind::Clickhouse),
            "elasticsearch" => Some(Kind::Elasticsearch),
            _ => None,
        }
    }
}

/// What a preset needs to know about the service it configures.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    pub project: &'a str,
    pub service: &'a str,
    /// `version:` (an image tag), if written.
    pub version: Option<&'a str>,
    /// `persist:` if written (default: the preset's).
    pub persist: Option<bool>,
}

/// A preset's defaults for one service.
#[derive(Debug, Clone)]
pub struct Defaults {
    pub image: String,
    pub env: IndexMap<String, String>,
    pub command: Option<Vec<String>>,
    /// Published by default (host port = container port, on 127.0.0.1).
    pub ports: Vec<PortSpec>,
    /// The data volume (when persistence is on).
    pub volumes: Vec<VolumeSpec>,
    /// (name, soft, hard)
    pub ulimits: Vec<(String, i64, i64)>,
    /// Where the service keeps its data (the seed ledger lives there too).
    pub data_dir: String,
}

/// Credentials and addresses a probe and a URL need, read from the final env
/// so user overrides (e.g. `POSTGRES_PASSWORD`) are honoured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Connection {
    pub kind: Kind,
    /// The container port clients use (the host listener's for Kafka).
    pub port: u16,
    /// Kafka: the in-network listener port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub internal_port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing)]
    pub password: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
}

impl Connection {
    /// The connection URL for `host:port`.
    pub fn url(&self, host: &str, port: u16) -> String {
        let auth = match (&self.user, &self.password) {
            (Some(u), Some(p)) if !p.is_empty() => format!("{}:{}@", enc(u), enc(p)),
            (Some(u), _) if !u.is_empty() => format!("{}@", enc(u)),
            (None, Some(p)) if !p.is_empty() => format!(":{}@", enc(p)),
            _ => String::new(),
        };
        let db = self.database.as_deref().unwrap_or("");
        match self.kind {
            Kind::Postgres => format!("postgres://{auth}{host}:{port}/{}", enc(db)),
            Kind::Redis => format!("redis://{auth}{host}:{port}/0"),
            Kind::Kafka => format!("{host}:{port}"),
            Kind::Clickhouse => format!("http://{auth}{host}:{port}/?database={}", enc(db)),
            Kind::Elasticsearch => format!("http://{host}:{port}"),
        }
    }

    /// The port other containers use (Kafka's internal listener; else `port`).
    pub fn network_port(&self) -> u16 {
        self.internal_port.unwrap_or(self.port)
    }
}

/// Percent-encode what would break a URL's userinfo or path.
fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The defaults of `kind` for a service.
pub fn defaults(kind: Kind, ctx: &Context) -> Defaults {
    match kind {
        Kind::Postgres => postgres::defaults(ctx),
        Kind::Redis => redis::defaults(ctx),
        Kind::Kafka => kafka::defaults(ctx),
        Kind::Clickhouse => clickhouse::defaults(ctx),
        Kind::Elasticsearch => elasticsearch::defaults(ctx),
    }
}

/// Connection info from the service's final environment.
pub fn connection(kind: Kind, env: &IndexMap<String, String>) -> Connection {
    match kind {
        Kind::Postgres => postgres::connection(env),
        Kind::Redis => redis::connection(env),
        Kind::Kafka => kafka::connection(env),
        Kind::Clickhouse => clickhouse::connection(env),
        Kind::Elasticsearch => elasticsearch::connection(env),
    }
}

/// Why a probe failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeError {
    pub message: String,
    /// Retrying cannot help (e.g. authentication failed): stop waiting.
    pub fatal: bool,
}

impl ProbeError {
    pub fn retry(message: impl Into<String>) -> Self {
        ProbeError { message: message.into(), fatal: false }
    }
    pub fn fatal(message: impl Into<String>) -> Self {
        ProbeError { message: message.into(), fatal: true }
    }
}

/// One readiness check of the service behind `addr` (`host:port`).
pub async fn probe(conn: &Connection, addr: &str, http: &reqwest::Client) -> Result<(), ProbeError> {
    match conn.kind {
        Kind::Postgres => postgres::probe(conn, addr).await,
        Kind::Redis => redis::probe(conn, addr).await,
        Kind::Kafka => kafka::probe(addr).await,
        Kind::Clickhouse => clickhouse::probe(conn, addr, http).await,
        Kind::Elasticsearch => elasticsearch::probe(addr, http).await,
    }
}

/// Placeholder in env values for a host port devenv picks before creating the
/// container (Kafka's advertised host listener). Stable in the config hash.
pub fn host_port_placeholder(container_port: u16) -> String {
    format!("{{{{devenv.host_port.{container_port}}}}}")
}

/// Replace host-port placeholders with the chosen ports.
pub fn fill_host_ports(value: &str, ports: &[(u16, u16)]) -> String {
    let mut v = value.to_string();
    for (container, host) in ports {
        v = v.replace(&host_port_placeholder(*container), &host.to_string());
    }
    v
}

fn tcp_port(container_port: u16) -> PortSpec {
    PortSpec { host_ip: None, host_port: Some(container_port), container_port, protocol: "tcp".into() }
}

fn named_volume(ctx: &Context, target: &str) -> VolumeSpec {
    VolumeSpec::Named { name: format!("{}-data", ctx.service), target: target.to_string(), read_only: false }
}

fn env_of(pairs: &[(&str, String)]) -> IndexMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

#[cfg(test)]
mod tests;

/// The innermost cause of an error chain (the useful part of a network error).
pub fn root_cause(e: &dyn std::error::Error) -> String {
    let mut cur = e;
    while let Some(s) = cur.source() {
        cur = s;
    }
    cur.to_string()
}
