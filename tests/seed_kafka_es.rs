//! Kafka and Elasticsearch seeding against real servers in Docker:
//! `devenv-test/kafka:1` (the tansu broker behind an apache/kafka-style
//! entrypoint) and `devenv-test/elasticsearch-double:8` — a CONTRACT DOUBLE of
//! Elasticsearch (fixtures/images/elasticsearch-double), not Elasticsearch.
//!
//! Without a usable Docker engine the tests print SKIPPED and pass, unless
//! `DEVENV_REQUIRE_DOCKER=1` (then they fail). Containers are removed even
//! when a test fails (a Drop guard runs `docker rm -f`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use devenv::preset::{Connection, Kind};
use devenv::seed::elasticsearch::{self, IndexSeed};
use devenv::seed::kafka::{self, TopicSeed};
use indexmap::IndexMap;
use rskafka::client::partition::UnknownTopicHandling;
use rskafka::client::{Client, ClientBuilder};
use rskafka::record::RecordAndOffset;

const KAFKA_IMAGE: &str = "devenv-test/kafka:1";
const ES_DOUBLE_IMAGE: &str = "devenv-test/elasticsearch-double:8";

// ------------------------------------------------------------------ harness

fn docker_ready() -> bool {
    let check = || -> Result<(), String> {
        let info = Command::new("docker").args(["info", "--format", "{{.ServerVersion}}"]).output();
        match info {
            Ok(o) if o.status.success() => {}
            Ok(o) => return Err(format!("docker info failed: {}", String::from_utf8_lossy(&o.stderr).trim())),
            Err(e) => return Err(format!("docker CLI not runnable: {e}")),
        }
        for image in [KAFKA_IMAGE, ES_DOUBLE_IMAGE] {
            let ok = Command::new("docker").args(["image", "inspect", image]).stdout(Stdio::null()).stderr(Stdio::null()).status();
            if !matches!(ok, Ok(s) if s.success()) {
                return Err(format!("test image {image} is missing: run ./test.sh, which provisions them (or fixtures/images/build.sh)"));
            }
        }
        Ok(())
    };
    match check() {
        Ok(()) => true,
        Err(e) => {
            if std::env::var("DEVENV_REQUIRE_DOCKER").is_ok_and(|v| v == "1") {
                panic!("Docker is required (DEVENV_REQUIRE_DOCKER=1) but not usable: {e}");
            }
            eprintln!("SKIPPED: Docker not usable ({e}); set DEVENV_REQUIRE_DOCKER=1 to make this a failure");
            false
        }
    }
}

/// Removes the container when dropped (also on panic).
struct Container(String);

impl Drop for Container {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(["rm", "-f", "-v", &self.0]).stdout(Stdio::null()).stderr(Stdio::null()).status();
    }
}

fn docker_run(args: &[&str]) -> Container {
    let out = Command::new("docker").arg("run").args(["-d", "--rm", "--label", "devenv-test=seed-kafka-es"]).args(args).output().unwrap();
    assert!(out.status.success(), "docker run failed: {}", String::from_utf8_lossy(&out.stderr));
    Container(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap()
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/seed-tests/kafka-es").join(name)
}

fn conn(kind: Kind, port: u16) -> Connection {
    Connection { kind, port, internal_port: None, user: None, password: None, database: None }
}

async fn wait_ready(c: &Connection, addr: &str, http: &reqwest::Client, container: &Container) {
    let started = Instant::now();
    loop {
        match devenv::preset::probe(c, addr, http).await {
            Ok(()) => return,
            Err(e) if started.elapsed() > Duration::from_secs(60) => {
                let logs = Command::new("docker").args(["logs", "--tail", "30", &container.0]).output().unwrap();
                panic!(
                    "{addr} not ready after 60 s: {}\n{}{}",
                    e.message,
                    String::from_utf8_lossy(&logs.stdout),
                    String::from_utf8_lossy(&logs.stderr)
                );
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// A ready Kafka stand-in: (guard, `127.0.0.1:port`).
async fn start_kafka(http: &reqwest::Client) -> (Container, String, Connection) {
    let port = free_port();
    let publish = format!("127.0.0.1:{port}:9092");
    let advertised = format!("KAFKA_ADVERTISED_LISTENERS=HOST://127.0.0.1:{port}");
    let c = docker_run(&["-p", &publish, "-e", "KAFKA_LISTENERS=HOST://:9092,CONTROLLER://:9093", "-e", &advertised, KAFKA_IMAGE]);
    let addr = format!("127.0.0.1:{port}");
    let connection = conn(Kind::Kafka, 9092);
    wait_ready(&connection, &addr, http, &c).await;
    (c, addr, connection)
}

/// A ready Elasticsearch double: (guard, `127.0.0.1:port`).
async fn start_es(http: &reqwest::Client) -> (Container, String, Connection) {
    let c = docker_run(&["-e", "discovery.type=single-node", "-e", "xpack.security.enabled=false", "-p", "127.0.0.1::9200", ES_DOUBLE_IMAGE]);
    let out = Command::new("docker").args(["port", &c.0, "9200/tcp"]).output().unwrap();
    let mapping = String::from_utf8_lossy(&out.stdout);
    let addr = mapping.lines().find(|l| l.starts_with("127.0.0.1:")).unwrap_or_else(|| panic!("no port mapping: {mapping}")).trim().to_string();
    let connection = conn(Kind::Elasticsearch, 9200);
    wait_ready(&connection, &addr, http, &c).await;
    (c, addr, connection)
}

fn no_progress(_: u64) {}

async fn kafka_client(addr: &str) -> Client {
    let build = ClientBuilder::new(vec![addr.to_string()]).client_id("devenv-test-reader").build();
    tokio::time::timeout(Duration::from_secs(20), build).await.unwrap().unwrap()
}

/// Every record of one partition.
async fn read_partition(client: &Client, topic: &str, partition: i32) -> Vec<RecordAndOffset> {
    let pc = tokio::time::timeout(Duration::from_secs(20), client.partition_client(topic, partition, UnknownTopicHandling::Retry))
        .await
        .unwrap()
        .unwrap();
    let mut out = Vec::new();
    let mut offset = 0;
    loop {
        let (records, high) = tokio::time::timeout(Duration::from_secs(20), pc.fetch_records(offset, 1..5_000_000, 100))
            .await
            .unwrap()
            .unwrap();
        if let Some(last) = records.last() {
            offset = last.offset + 1;
        }
        let empty = records.is_empty();
        out.extend(records);
        if offset >= high || empty {
            return out;
        }
    }
}

async fn topics(client: &Client) -> BTreeMap<String, usize> {
    let t = tokio::time::timeout(Duration::from_secs(20), client.list_topics()).await.unwrap().unwrap();
    t.into_iter().map(|t| (t.name, t.partitions.len())).collect()
}

async fn es_count(http: &reqwest::Client, addr: &str, index: &str) -> u64 {
    let v: serde_json::Value = http.get(format!("http://{addr}/{index}/_count")).send().await.unwrap().json().await.unwrap();
    v["count"].as_u64().unwrap_or_else(|| panic!("no count in {v}"))
}

// -------------------------------------------------------------------- kafka

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kafka_topic_messages_reapply_malformed_delete() {
    if !docker_ready() {
        return;
    }
    let http = reqwest::Client::new();
    let (_guard, addr, connection) = start_kafka(&http).await;
    let target = connection.target(addr.clone(), &http);
    let no_config = IndexMap::new();
    let orders = fixture("orders.jsonl");

    // 3 partitions + 1000 messages, progress reported per batch up to 1000.
    let seen = AtomicU64::new(0);
    let progress = |n: u64| {
        seen.fetch_max(n, Ordering::SeqCst);
    };
    let seed = TopicSeed { name: "orders", partitions: 3, config: &no_config, messages: Some(&orders) };
    let applied = kafka::apply_topic(&target, &seed, &progress).await.unwrap();
    assert_eq!((applied.count, applied.unit), (1000, "messages"));
    assert_eq!(seen.load(Ordering::SeqCst), 1000);

    let client = kafka_client(&addr).await;
    assert_eq!(topics(&client).await.get("orders"), Some(&3));
    let mut total = 0;
    let mut key_partitions: BTreeMap<Vec<u8>, BTreeSet<i32>> = BTreeMap::new();
    let mut keyless_per_partition = [0usize; 3];
    let mut first = None;
    for p in 0..3 {
        let records = read_partition(&client, "orders", p).await;
        total += records.len();
        for r in records {
            match &r.record.key {
                Some(k) => {
                    key_partitions.entry(k.clone()).or_default().insert(p);
                }
                None => keyless_per_partition[p as usize] += 1,
            }
            if r.record.headers.contains_key("trace") {
                first = Some(r.record);
            }
        }
    }
    assert_eq!(total, 1000);
    // Every key lands in exactly one partition; keyless messages are spread round-robin.
    assert_eq!(key_partitions.len(), 11); // customer-1 and customer-0,2,…,18
    for (k, ps) in &key_partitions {
        assert_eq!(ps.len(), 1, "key {} in partitions {ps:?}", String::from_utf8_lossy(k));
    }
    let used: BTreeSet<i32> = key_partitions.values().flat_map(|s| s.iter().copied()).collect();
    assert!(used.len() > 1, "all keys in one partition: {used:?}");
    assert_eq!(keyless_per_partition.iter().sum::<usize>(), 499);
    assert!(keyless_per_partition.iter().all(|&n| (166..=167).contains(&n)), "{keyless_per_partition:?}");
    // Key, value and headers of the first line.
    let first = first.expect("message with the `trace` header");
    assert_eq!(first.key.as_deref(), Some(&b"customer-1"[..]));
    assert_eq!(first.value.as_deref(), Some(&b"first order"[..]));
    assert_eq!(first.headers.get("source").map(|v| v.as_slice()), Some(&b"seed"[..]));
    assert_eq!(first.headers.get("trace").map(|v| v.as_slice()), Some(&b"abc-123"[..]));
    // An object value arrives as its JSON text.
    let p2 = read_partition(&client, "orders", 0).await;
    assert!(p2.iter().any(|r| r.record.value.as_deref().is_some_and(|v| v.starts_with(b"{\"order\":"))));

    // Re-applying to the existing topic is fine (messages are produced again).
    let applied = kafka::apply_topic(&target, &seed, &no_progress).await.unwrap();
    assert_eq!(applied.count, 1000);
    let mut total = 0;
    for p in 0..3 {
        total += read_partition(&client, "orders", p).await.len();
    }
    assert_eq!(total, 2000);

    // ... but not with another partition count.
    let other = TopicSeed { name: "orders", partitions: 5, config: &no_config, messages: None };
    let e = kafka::apply_topic(&target, &other, &no_progress).await.unwrap_err();
    assert!(e.message.contains("already exists with 3 partition(s), but the seed asks for 5"), "{}", e.message);
    assert!(e.hint.is_some());

    // A malformed line fails before anything is created or produced.
    let bad = fixture("malformed.jsonl");
    let seed_bad = TopicSeed { name: "never-created", partitions: 1, config: &no_config, messages: Some(&bad) };
    let e = kafka::apply_topic(&target, &seed_bad, &no_progress).await.unwrap_err();
    assert!(e.message.contains("malformed.jsonl:3: malformed JSON:"), "{}", e.message);
    assert!(!topics(&client).await.contains_key("never-created"));

    // A topic with config entries (sent in CreateTopics) and no messages.
    let mut config = IndexMap::new();
    config.insert("cleanup.policy".to_string(), "compact".to_string());
    config.insert("retention.ms".to_string(), "3600000".to_string());
    let compacted = TopicSeed { name: "customers", partitions: 2, config: &config, messages: None };
    let applied = kafka::apply_topic(&target, &compacted, &no_progress).await.unwrap();
    assert_eq!(applied.count, 0);
    assert_eq!(topics(&client).await.get("customers"), Some(&2));
    // and again: already exists → fine
    kafka::apply_topic(&target, &compacted, &no_progress).await.unwrap();

    // An invalid topic name is refused before any request.
    let e = kafka::apply_topic(&target, &TopicSeed { name: "a b", partitions: 1, config: &no_config, messages: None }, &no_progress)
        .await
        .unwrap_err();
    assert!(e.message.contains("invalid topic name"), "{}", e.message);

    // delete_topics: both gone; a missing one is fine; then re-creatable.
    kafka::delete_topics(&target, &["orders".to_string(), "customers".to_string(), "no-such-topic".to_string()]).await.unwrap();
    let left = topics(&client).await;
    assert!(!left.contains_key("orders") && !left.contains_key("customers"), "{left:?}");
    let applied = kafka::apply_topic(&target, &seed, &no_progress).await.unwrap();
    assert_eq!(applied.count, 1000);
    let mut total = 0;
    for p in 0..3 {
        total += read_partition(&client, "orders", p).await.len();
    }
    assert_eq!(total, 1000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kafka_unreachable_broker_fails_in_bounded_time() {
    if !docker_ready() {
        return;
    }
    let http = reqwest::Client::new();
    let connection = conn(Kind::Kafka, 9092);
    let port = free_port(); // nothing listens there
    let target = connection.target(format!("127.0.0.1:{port}"), &http);
    let no_config = IndexMap::new();
    let started = Instant::now();
    let e = kafka::apply_topic(&target, &TopicSeed { name: "t", partitions: 1, config: &no_config, messages: None }, &no_progress)
        .await
        .unwrap_err();
    assert!(e.message.contains(&format!("127.0.0.1:{port}")), "{}", e.message);
    assert!(started.elapsed() < Duration::from_secs(40), "took {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kafka_throughput_100k_messages() {
    if !docker_ready() {
        return;
    }
    let http = reqwest::Client::new();
    let (_guard, addr, connection) = start_kafka(&http).await;
    let target = connection.target(addr.clone(), &http);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.jsonl");
    let mut text = String::new();
    for i in 0..100_000 {
        if i % 2 == 0 {
            text.push_str(&format!("{{\"key\":\"user-{}\",\"value\":{{\"event\":\"click\",\"n\":{i}}}}}\n", i % 1000));
        } else {
            text.push_str(&format!("{{\"value\":\"event number {i}\"}}\n"));
        }
    }
    std::fs::write(&file, text).unwrap();
    let no_config = IndexMap::new();
    let seed = TopicSeed { name: "events", partitions: 4, config: &no_config, messages: Some(&file) };
    let started = Instant::now();
    let applied = kafka::apply_topic(&target, &seed, &no_progress).await.unwrap();
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(applied.count, 100_000);
    eprintln!(
        "THROUGHPUT kafka (tansu stand-in): 100000 messages, 4 partitions in {secs:.2} s = {:.0} msg/s (incl. topic creation)",
        100_000.0 / secs
    );
    let client = kafka_client(&addr).await;
    let mut total = 0;
    for p in 0..4 {
        total += read_partition(&client, "events", p).await.len();
    }
    assert_eq!(total, 100_000);
}

// ------------------------------------------------------------ elasticsearch

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn es_index_documents_errors_delete() {
    if !docker_ready() {
        return;
    }
    let http = reqwest::Client::new();
    let (_guard, addr, connection) = start_es(&http).await;
    let target = connection.target(addr.clone(), &http);
    let mappings = fixture("products.mappings.json");
    let settings = fixture("products.settings.json");
    let docs = fixture("products.ndjson");

    // mappings + settings + 1000 documents
    let seen = AtomicU64::new(0);
    let progress = |n: u64| {
        seen.fetch_max(n, Ordering::SeqCst);
    };
    let seed = IndexSeed { name: "products", mappings: Some(&mappings), settings: Some(&settings), documents: Some(&docs) };
    let applied = elasticsearch::apply_index(&target, &seed, &progress).await.unwrap();
    assert_eq!((applied.count, applied.unit), (1000, "documents"));
    assert_eq!(seen.load(Ordering::SeqCst), 1000);
    assert_eq!(es_count(&http, &addr, "products").await, 1000);
    let index: serde_json::Value = http.get(format!("http://{addr}/products")).send().await.unwrap().json().await.unwrap();
    // The wrapped mappings file and the bare settings file both arrive unwrapped.
    assert_eq!(index["products"]["mappings"]["properties"]["sku"]["type"], "keyword", "{index}");
    assert_eq!(index["products"]["settings"]["number_of_shards"], 1, "{index}");

    // Re-applying: the index exists (fine); documents with `_id` overwrite, the
    // 250 without one are added again.
    let applied = elasticsearch::apply_index(&target, &seed, &no_progress).await.unwrap();
    assert_eq!(applied.count, 1000);
    assert_eq!(es_count(&http, &addr, "products").await, 1250);

    // Bulk item errors: two non-object documents are rejected by the server.
    let bad = fixture("bad-items.ndjson");
    let e = elasticsearch::apply_index(&target, &IndexSeed { name: "broken", mappings: None, settings: None, documents: Some(&bad) }, &no_progress)
        .await
        .unwrap_err();
    assert!(e.message.starts_with("2 of 5 documents could not be indexed into `broken`"), "{}", e.message);
    assert!(e.message.contains("bad-items.ndjson:2: document_parsing_exception"), "{}", e.message);
    assert!(e.message.contains("bad-items.ndjson:4: document_parsing_exception"), "{}", e.message);
    assert_eq!(es_count(&http, &addr, "broken").await, 3);

    // A malformed line: nothing is created.
    let malformed = fixture("malformed.ndjson");
    let e = elasticsearch::apply_index(
        &target,
        &IndexSeed { name: "never-created", mappings: None, settings: None, documents: Some(&malformed) },
        &no_progress,
    )
    .await
    .unwrap_err();
    assert!(e.message.contains("malformed.ndjson:3: malformed JSON:"), "{}", e.message);
    let status = http.head(format!("http://{addr}/never-created")).send().await.unwrap().status();
    assert_eq!(status.as_u16(), 404);

    // Invalid names never reach the server.
    let e = elasticsearch::apply_index(&target, &IndexSeed { name: "Products", mappings: None, settings: None, documents: None }, &no_progress)
        .await
        .unwrap_err();
    assert!(e.message.contains("invalid index name `Products`: must be lowercase"), "{}", e.message);
    let e = elasticsearch::delete_indices(&target, &["_all".to_string()]).await.unwrap_err();
    assert!(e.message.contains("invalid index name `_all`"), "{}", e.message);

    // delete_indices: gone; a missing one is fine.
    elasticsearch::delete_indices(&target, &["products".to_string(), "broken".to_string(), "no-such-index".to_string()]).await.unwrap();
    for name in ["products", "broken"] {
        let status = http.head(format!("http://{addr}/{name}")).send().await.unwrap().status();
        assert_eq!(status.as_u16(), 404, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn es_throughput_100k_documents_against_the_double() {
    if !docker_ready() {
        return;
    }
    let http = reqwest::Client::new();
    let (_guard, addr, connection) = start_es(&http).await;
    let target = connection.target(addr.clone(), &http);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("docs.ndjson");
    let mut text = String::new();
    for i in 0..100_000 {
        text.push_str(&format!("{{\"_id\":\"d{i}\",\"title\":\"document {i}\",\"n\":{i},\"tags\":[\"a\",\"b\"]}}\n"));
    }
    std::fs::write(&file, text).unwrap();
    let seed = IndexSeed { name: "bulk-load", mappings: None, settings: None, documents: Some(&file) };
    let started = Instant::now();
    let applied = elasticsearch::apply_index(&target, &seed, &no_progress).await.unwrap();
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(applied.count, 100_000);
    eprintln!(
        "THROUGHPUT elasticsearch CONTRACT DOUBLE (Python, not Elasticsearch): 100000 documents in {secs:.2} s = {:.0} docs/s",
        100_000.0 / secs
    );
    assert_eq!(es_count(&http, &addr, "bulk-load").await, 100_000);
}
