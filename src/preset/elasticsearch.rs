//! Elasticsearch: the official image, single node, security off for local
//! use, 512 MB heap, disk-threshold allocation off.
//! Probe: `/_cluster/health` status yellow or green.

use indexmap::IndexMap;

use super::{env_of, named_volume, tcp_port, Connection, Context, Defaults, Kind};

pub const DEFAULT_VERSION: &str = "8.15.3";
pub const PORT: u16 = 9200;

pub fn defaults(ctx: &Context) -> Defaults {
    let version = ctx.version.unwrap_or(DEFAULT_VERSION);
    let persist = ctx.persist.unwrap_or(true);
    Defaults {
        image: format!("docker.elastic.co/elasticsearch/elasticsearch:{version}"),
        env: env_of(&[
            ("discovery.type", "single-node".into()),
            ("xpack.security.enabled", "false".into()),
            ("xpack.security.http.ssl.enabled", "false".into()),
            ("cluster.routing.allocation.disk.threshold_enabled", "false".into()),
            ("ES_JAVA_OPTS", "-Xms512m -Xmx512m".into()),
        ]),
        command: None,
        ports: vec![tcp_port(PORT)],
        volumes: if persist { vec![named_volume(ctx, "/usr/share/elasticsearch/data")] } else { vec![] },
        ulimits: vec![("memlock".into(), -1, -1), ("nofile".into(), 65_536, 65_536)],
        data_dir: "/usr/share/elasticsearch/data".into(),
    }
}

pub fn connection(_env: &IndexMap<String, String>) -> Connection {
    Connection { kind: Kind::Elasticsearch, port: PORT, internal_port: None, user: None, password: None, database: None }
}

/// `GET /_cluster/health` with status yellow or green.
pub async fn probe(addr: &str, http: &reqwest::Client) -> Result<(), super::ProbeError> {
    use super::ProbeError;
    let r = http
        .get(format!("http://{addr}/_cluster/health"))
        .send()
        .await
        .map_err(|e| ProbeError::retry(format!("GET /_cluster/health: {}", crate::preset::root_cause(&e))))?;
    let status = r.status();
    if status.as_u16() == 401 {
        return Err(ProbeError::fatal("authentication required: security is on; set xpack.security.enabled=false or give credentials".to_string()));
    }
    let v: serde_json::Value = r.json().await.map_err(|e| ProbeError::retry(format!("GET /_cluster/health: HTTP {status}, not JSON: {e}")))?;
    match v.get("status").and_then(|s| s.as_str()) {
        Some("green") | Some("yellow") => Ok(()),
        Some(other) => Err(ProbeError::retry(format!("cluster health is {other}"))),
        None => Err(ProbeError::retry(format!("GET /_cluster/health: HTTP {status}, no status field"))),
    }
}
