//! Kafka: the official `apache/kafka` image in KRaft mode, single node.
//!
//! Two listeners: `HOST` on container port 9092, published and advertised as
//! `127.0.0.1:<host port>` (devenv picks the host port before creating the
//! container), and `INTERNAL` on 19092, advertised as `<service>:19092` for
//! other containers. Replication factors 1, rebalance delay 0.
//! Probe: ApiVersions + Metadata with a real Kafka client.

use indexmap::IndexMap;

use super::{env_of, host_port_placeholder, named_volume, tcp_port, Connection, Context, Defaults, Kind};

pub const DEFAULT_VERSION: &str = "3.9.0";
/// The host listener's container port.
pub const HOST_PORT: u16 = 9092;
/// The in-network listener's port.
pub const INTERNAL_PORT: u16 = 19092;
const CONTROLLER_PORT: u16 = 9093;
/// A fixed cluster id (base64 UUID) so a persisted volume is reused across recreates.
const CLUSTER_ID: &str = "ZGV2ZW52LWthZmthLTAwMQ";

pub fn defaults(ctx: &Context) -> Defaults {
    let version = ctx.version.unwrap_or(DEFAULT_VERSION);
    let persist = ctx.persist.unwrap_or(true);
    let svc = ctx.service;
    let host = host_port_placeholder(HOST_PORT);
    Defaults {
        image: format!("apache/kafka:{version}"),
        env: env_of(&[
            ("KAFKA_NODE_ID", "1".into()),
            ("KAFKA_PROCESS_ROLES", "broker,controller".into()),
            ("KAFKA_LISTENERS", format!("HOST://:{HOST_PORT},INTERNAL://:{INTERNAL_PORT},CONTROLLER://:{CONTROLLER_PORT}")),
            ("KAFKA_ADVERTISED_LISTENERS", format!("HOST://127.0.0.1:{host},INTERNAL://{svc}:{INTERNAL_PORT}")),
            ("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", "HOST:PLAINTEXT,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT".into()),
            ("KAFKA_CONTROLLER_LISTENER_NAMES", "CONTROLLER".into()),
            ("KAFKA_INTER_BROKER_LISTENER_NAME", "INTERNAL".into()),
            ("KAFKA_CONTROLLER_QUORUM_VOTERS", format!("1@localhost:{CONTROLLER_PORT}")),
            ("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "1".into()),
            ("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1".into()),
            ("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1".into()),
            ("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0".into()),
            ("KAFKA_NUM_PARTITIONS", "1".into()),
            ("KAFKA_LOG_DIRS", "/var/lib/kafka/data".into()),
            ("CLUSTER_ID", CLUSTER_ID.into()),
        ]),
        command: None,
        ports: vec![tcp_port(HOST_PORT)],
        volumes: if persist { vec![named_volume(ctx, "/var/lib/kafka/data")] } else { vec![] },
        ulimits: vec![],
        data_dir: "/var/lib/kafka/data".into(),
    }
}

pub fn connection(_env: &IndexMap<String, String>) -> Connection {
    Connection { kind: Kind::Kafka, port: HOST_PORT, internal_port: Some(INTERNAL_PORT), user: None, password: None, database: None }
}

/// An ApiVersions + Metadata round trip with a real Kafka client (rskafka).
pub async fn probe(addr: &str) -> Result<(), super::ProbeError> {
    use super::ProbeError;
    let round_trip = async {
        let client = rskafka::client::ClientBuilder::new(vec![addr.to_string()])
            .client_id("devenv-probe")
            .backoff_config(rskafka::BackoffConfig {
                init_backoff: std::time::Duration::from_millis(50),
                max_backoff: std::time::Duration::from_millis(200),
                base: 2.0,
                deadline: Some(std::time::Duration::from_secs(2)),
            })
            .build()
            .await
            .map_err(|e| ProbeError::retry(format!("kafka at {addr}: {}", crate::preset::root_cause(&e))))?;
        client.list_topics().await.map_err(|e| ProbeError::retry(format!("metadata request failed: {}", crate::preset::root_cause(&e))))?;
        Ok(())
    };
    tokio::time::timeout(std::time::Duration::from_secs(3), round_trip).await.map_err(|_| ProbeError::retry(format!("kafka at {addr}: no answer within 3 s")))?
}
