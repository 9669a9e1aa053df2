//! Kafka: the official `apache/kafka` image in KRaft mode, single node.
//!
//! Two listeners: `HOST` on container port 9092, published and advertised as
//! `127.0.0.1:<host port>` (devenv picks the host port before creating the
//! container), and `INTERNAL` on 19092, advertised as `<service>:19092` for
//! other containers. Replication factors 1, rebalance delay 0.
//! Probe: ApiVersions + Metadata with a real Kafka client. Seeds: topics
//! with messages; reset deletes the seeded topics. In Kubernetes: a TCP check
//! of the in-cluster listener, advertised as the Service's DNS name, the log
//! dir in a subdirectory of the claim; seed Jobs
//! use `kafka-topics.sh` / `kafka-console-producer.sh`.

use std::collections::BTreeMap;
use std::path::Path;

use futures_util::future::BoxFuture;
use indexmap::IndexMap;

use super::{
    env_of, host_port_placeholder, named_volume, q, read, tcp_port, unsupported, ClusterEnv, Connection, Context, Defaults, Ecosystem, InitText, K8sProbe,
    Kind, Preset, ProbeError, Resources, SeedClient, SeedScript, GIB,
};
use crate::seed::entry::SeedKind;
use crate::seed::{self, Applied, Progress, SeedError, Target};

pub struct Kafka;

impl Preset for Kafka {
    fn image_repos(&self) -> &'static [&'static str] {
        &["kafka", "cp-kafka"]
    }
    /// apache/kafka publishes full `x.y.z` versions (and `latest`) only.
    fn image_for(&self, version: &str) -> Result<String, String> {
        if version == "latest" || super::is_full_version(version) {
            return Ok(format!("apache/kafka:{version}"));
        }
        Err(format!("apache/kafka publishes full versions only, e.g. `3.9.0`, `3.9.1`, `4.0.0`, `4.1.0` (or `latest`); `{version}` is not a tag"))
    }
    fn tag_forms(&self) -> &'static str {
        "full versions such as `3.9.0`, `3.9.1`, `4.0.0`, `4.1.0`, and `latest`"
    }
    fn defaults(&self, ctx: &Context) -> Defaults {
        defaults(ctx)
    }
    fn connection(&self, env: &IndexMap<String, String>, _command: &[String]) -> Connection {
        connection(env)
    }
    fn url(&self, _auth: &str, host: &str, port: u16, _database: &str) -> String {
        format!("{host}:{port}")
    }
    fn probe<'a>(&'a self, _conn: &'a Connection, addr: &'a str, _http: &'a reqwest::Client) -> BoxFuture<'a, Result<(), ProbeError>> {
        Box::pin(probe(addr))
    }
    fn probe_description(&self) -> &'static str {
        "kafka metadata"
    }

    fn seed_kinds(&self) -> &'static [&'static str] {
        &["topic", "exec"]
    }
    fn seed<'a>(&'a self, t: &'a Target<'a>, kind: &'a SeedKind, progress: Progress<'a>) -> Option<BoxFuture<'a, Result<Applied, SeedError>>> {
        let SeedKind::Topic { name, partitions, config, messages } = kind else { return None };
        Some(Box::pin(async move {
            let ts = seed::kafka::TopicSeed { name, partitions: i32::try_from(*partitions).unwrap_or(i32::MAX), config, messages: messages.as_deref() };
            seed::kafka::apply_topic(t, &ts, progress).await.map_err(hint)
        }))
    }
    fn reset<'a>(&'a self, t: &'a Target<'a>, seeds: Vec<&'a SeedKind>) -> BoxFuture<'a, Result<(), SeedError>> {
        let topics: Vec<String> = seeds.iter().filter_map(|s| if let SeedKind::Topic { name, .. } = s { Some(name.clone()) } else { None }).collect();
        Box::pin(async move { seed::kafka::delete_topics(t, &topics).await.map_err(hint) })
    }

    fn k8s_probes(&self, c: &Connection) -> (K8sProbe, K8sProbe) {
        (K8sProbe::Tcp { port: c.network_port() }, K8sProbe::Tcp { port: c.network_port() })
    }
    fn k8s_requests(&self) -> Resources {
        Resources { cpu: "200m", memory: "1Gi" }
    }
    /// Other pods reach the in-network listener by the Service's DNS name; the
    /// log dir is a subdirectory of the claim (a volume's root may hold
    /// `lost+found`, which the broker refuses as "not in the form of topic-partition").
    fn k8s_env(&self, cx: &ClusterEnv, env: &mut BTreeMap<String, String>) {
        if let Some(v) = env.get_mut("KAFKA_ADVERTISED_LISTENERS") {
            *v = v.replace(&format!("INTERNAL://{}:", cx.service), &format!("INTERNAL://{}:", cx.fqdn));
        }
        if let (Some(mount), Some(dirs)) = (cx.data_mount, env.get_mut("KAFKA_LOG_DIRS"))
            && dirs.trim_end_matches('/') == mount.trim_end_matches('/')
        {
            *dirs = format!("{}/logs", mount.trim_end_matches('/'));
        }
    }
    /// The official image runs as uid 1000: let it write its volume.
    fn k8s_fs_group(&self) -> Option<i64> {
        Some(1000)
    }
    fn k8s_seed_client(&self, c: &Connection, host: &str) -> SeedClient {
        let b = format!("--bootstrap-server {}", q(&format!("{host}:{}", c.network_port())));
        SeedClient { check: format!("/opt/kafka/bin/kafka-topics.sh {b} --list >/dev/null 2>&1"), command: b, env: vec![] }
    }
    fn k8s_seed(&self, s: &mut dyn SeedScript, kind: &SeedKind, id: &str, cli: &str) -> Result<(), String> {
        let SeedKind::Topic { name, partitions, config, messages } = kind else { return Err(unsupported(kind, "kafka")) };
        let mut cmd = format!("/opt/kafka/bin/kafka-topics.sh {cli} --create --if-not-exists --topic {} --partitions {partitions} --replication-factor 1", q(name));
        for (k, v) in config {
            cmd.push_str(&format!(" --config {}", q(&format!("{k}={v}"))));
        }
        s.run(id, cmd);
        if let Some(m) = messages {
            k8s_messages(s, cli, name, m, id)?;
        }
        Ok(())
    }

    fn memory(&self) -> u64 {
        GIB
    }
    fn first_start_ms(&self) -> u64 {
        1500 // a JVM broker formatting its storage
    }
    fn init_text(&self) -> InitText {
        InitText { service: "kafka", variable: "KAFKA_BROKERS", about: "Kafka 3.9 (KRaft, one node) on 127.0.0.1:9092; in the network, ${kafka.url} is the broker list" }
    }
    fn dependencies(&self, eco: Ecosystem) -> &'static [&'static str] {
        match eco {
            Ecosystem::Node => &["kafkajs", "node-rdkafka", "@confluentinc/kafka-javascript"],
            Ecosystem::Python => &["kafka-python", "confluent-kafka", "aiokafka"],
            Ecosystem::Rust => &["rdkafka", "rskafka"],
            Ecosystem::Go => &[
                "github.com/segmentio/kafka-go",
                "github.com/IBM/sarama",
                "github.com/Shopify/sarama",
                "github.com/twmb/franz-go",
                "github.com/confluentinc/confluent-kafka-go",
            ],
        }
    }
}

/// The loader's hint in this image's terms.
fn hint(e: SeedError) -> SeedError {
    match e.cause {
        Some(seed::Cause::MessageTooLarge) => e.with_hint("a message is larger than the broker's message.max.bytes; raise it (KAFKA_MESSAGE_MAX_BYTES) or shrink the message"),
        _ => e,
    }
}

/// `kafka-console-producer.sh` over a `key<TAB>value` (or value-only) file.
fn k8s_messages(s: &mut dyn SeedScript, bootstrap: &str, topic: &str, file: &Path, id: &str) -> Result<(), String> {
    let text = read(file)?;
    let msgs = seed::kafka::parse_messages(file, &text).map_err(|e| e.message)?;
    let has = |b: &Option<Vec<u8>>| b.is_some();
    let keyed = msgs.iter().filter(|m| has(&m.key)).count();
    let bad = |b: &Option<Vec<u8>>| b.as_ref().is_some_and(|v| v.contains(&b'\t') || v.contains(&b'\n') || v.contains(&b'\r'));
    let reason = if msgs.iter().any(|m| !m.headers.is_empty()) {
        Some("messages with headers")
    } else if keyed != 0 && keyed != msgs.len() {
        Some("a mix of keyed and unkeyed messages")
    } else if msgs.iter().any(|m| m.value.is_none()) {
        Some("messages without a value")
    } else if msgs.iter().any(|m| bad(&m.key) || bad(&m.value)) {
        Some("keys or values containing tabs or newlines")
    } else {
        None
    };
    if let Some(r) = reason {
        s.warn(format!("{id}: {} has {r}, which kafka-console-producer cannot send; the messages are not rendered (the topic is)", file.display()));
        return Ok(());
    }
    let lines: String = msgs
        .iter()
        .map(|m| {
            let v = String::from_utf8_lossy(m.value.as_deref().unwrap_or_default()).to_string();
            match &m.key {
                Some(k) => format!("{}\t{v}\n", String::from_utf8_lossy(k)),
                None => format!("{v}\n"),
            }
        })
        .collect();
    let path = s.add_file(&format!("{topic}.messages"), lines);
    let keys = if keyed > 0 { " --property parse.key=true --property 'key.separator=\t'" } else { "" };
    s.run(&format!("{id} (messages)"), format!("/opt/kafka/bin/kafka-console-producer.sh {bootstrap} --topic {}{keys} < {}", q(topic), q(&path)));
    Ok(())
}

pub const DEFAULT_VERSION: &str = "3.9.0";
/// The host listener's container port.
pub const HOST_PORT: u16 = 9092;
/// The in-network listener's port.
pub const INTERNAL_PORT: u16 = 19092;
const CONTROLLER_PORT: u16 = 9093;
/// A fixed cluster id (base64 UUID) so a persisted volume is reused across recreates.
const CLUSTER_ID: &str = "ZGV2ZW52LWthZmthLTAwMQ";

fn defaults(ctx: &Context) -> Defaults {
    let version = ctx.version.unwrap_or(DEFAULT_VERSION);
    let persist = ctx.persist.unwrap_or(true);
    let svc = ctx.service;
    let host = host_port_placeholder(HOST_PORT);
    Defaults {
        image: Kafka.image_for(version).unwrap_or_else(|_| format!("apache/kafka:{version}")),
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
        data_root: None,
    }
}

/// The listeners the env declares: clients from the host use the one
/// advertised on loopback, other containers the one advertised under another
/// name (a compose file's own `PLAINTEXT://kafka:9092`, or the preset's).
fn connection(env: &IndexMap<String, String>) -> Connection {
    let (port, internal) = listener_ports(env).unwrap_or((HOST_PORT, INTERNAL_PORT));
    Connection { kind: Kind::Kafka, port, internal_port: Some(internal), user: None, password: None, database: None }
}

/// (host listener's container port, in-network listener's port) from
/// `KAFKA_LISTENERS` / `KAFKA_ADVERTISED_LISTENERS`; None when they say nothing usable.
fn listener_ports(env: &IndexMap<String, String>) -> Option<(u16, u16)> {
    let split = |v: &str| -> Vec<(String, String, Option<u16>)> {
        v.split(',')
            .filter_map(|l| {
                let (name, addr) = l.trim().split_once("://")?;
                let (host, port) = addr.rsplit_once(':').unwrap_or((addr, ""));
                Some((name.to_string(), host.to_string(), port.parse().ok()))
            })
            .collect()
    };
    let controllers = env.get("KAFKA_CONTROLLER_LISTENER_NAMES").map(String::as_str).unwrap_or("CONTROLLER");
    let listeners = split(env.get("KAFKA_LISTENERS")?);
    let advertised: Vec<_> = split(env.get("KAFKA_ADVERTISED_LISTENERS")?).into_iter().filter(|(n, _, _)| !controllers.split(',').any(|c| c == n)).collect();
    let container_port = |name: &str, fallback: Option<u16>| listeners.iter().find(|(n, _, _)| n == name).and_then(|l| l.2).or(fallback);
    let loopback = |h: &str| matches!(h, "localhost" | "127.0.0.1" | "[::1]");
    let internal = advertised.iter().find(|(_, h, _)| !loopback(h)).and_then(|(n, _, p)| container_port(n, *p));
    let host = advertised.iter().find(|(_, h, _)| loopback(h)).and_then(|(n, _, p)| container_port(n, *p));
    match (host, internal) {
        (None, None) => None,
        (h, i) => Some((h.or(i)?, i.or(h)?)),
    }
}

/// An ApiVersions + Metadata round trip with a real Kafka client (rskafka).
async fn probe(addr: &str) -> Result<(), ProbeError> {
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
            .map_err(|e| ProbeError::retry(format!("kafka at {addr}: {}", seed::root_cause(&e))))?;
        client.list_topics().await.map_err(|e| ProbeError::retry(format!("metadata request failed: {}", seed::root_cause(&e))))?;
        Ok(())
    };
    tokio::time::timeout(std::time::Duration::from_secs(3), round_trip).await.map_err(|_| ProbeError::retry(format!("kafka at {addr}: no answer within 3 s")))?
}
