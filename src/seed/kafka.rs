//! kafka seeding: create a topic (the given partitions, replication factor 1,
//! topic config entries) and produce messages from a JSON-lines file.
//!
//! Message file: one JSON object per line (blank lines skipped):
//! `{"key": …, "value": …, "headers": {"name": "value", …}}`, every field
//! optional. `key`/`value`: a string is sent as its raw UTF-8 bytes; any other
//! JSON (object, array, number, bool) as its JSON text; `null` or absent means
//! no key / a null value. The whole file is parsed before anything is sent, so
//! a malformed line (`file:LINE: malformed JSON: …`) produces nothing.
//!
//! Partitioning: keyed messages go where Kafka's default partitioner would put
//! them (murmur2 of the key bytes, made positive, mod partitions), so
//! consumers see the same key → partition mapping as with a Java producer;
//! keyless messages are spread round-robin. Each partition gets its batches
//! (≤ 5000 records, ≤ ~900 KiB) in file order; partitions are produced in
//! parallel.
//!
//! Topic config entries are sent in the CreateTopics request itself, which
//! rskafka's `create_topic` cannot do, so that one request is a small raw
//! Kafka-protocol exchange (ApiVersions, then CreateTopics v2–v4). A topic
//! that already exists is accepted as is (its config is not compared) unless
//! its partition count differs from the seed's.
//!
//! Every network call is bounded by a timeout (rskafka's own retries have a
//! deadline too): a broker that never answers fails the seed instead of
//! hanging it.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rskafka::client::error::{Error as KafkaError, ProtocolError};
use rskafka::client::partition::{Compression, PartitionClient, UnknownTopicHandling};
use rskafka::client::{Client, ClientBuilder};
use rskafka::record::Record;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{read_file, Applied, Progress, SeedError, Target};

/// One `topics:` entry.
pub struct TopicSeed<'a> {
    pub name: &'a str,
    pub partitions: i32,
    pub config: &'a indexmap::IndexMap<String, String>,
    pub messages: Option<&'a Path>,
}

/// Records per produce request (the byte cap usually binds first).
const BATCH_RECORDS: usize = 5000;
/// Approximate payload bytes per produce request (Kafka's default
/// `message.max.bytes` is ~1 MiB; stay under it).
const BATCH_BYTES: usize = 900 * 1024;
/// Per-record overhead estimate (batch record framing) added to the payload size.
const RECORD_OVERHEAD: usize = 24;
/// Connections used to produce partitions in parallel.
const CONNECTIONS: usize = 4;
/// Bound on any single call to the broker.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Broker-side timeout for CreateTopics / DeleteTopics.
const ADMIN_TIMEOUT_MS: i32 = 15_000;
/// How long a created topic may take to show up (with all partitions) in metadata.
const TOPIC_VISIBLE_WITHIN: Duration = Duration::from_secs(15);

/// Create the topic (if missing) and produce the messages file (if any).
pub async fn apply_topic(t: &Target<'_>, seed: &TopicSeed<'_>, progress: Progress<'_>) -> Result<Applied, SeedError> {
    validate_topic_name(seed.name)?;
    if seed.partitions < 1 {
        return Err(SeedError::new(format!("topic `{}`: partitions must be at least 1 (got {})", seed.name, seed.partitions)));
    }
    // Parse everything first: a bad line must not leave half a topic behind.
    let messages = match seed.messages {
        Some(path) => parse_messages(path, &read_file(path)?)?,
        None => Vec::new(),
    };

    let client = connect(&t.addr).await?;
    ensure_topic(&client, &t.addr, seed).await?;
    if messages.is_empty() {
        return Ok(Applied { count: 0, unit: "messages" });
    }

    let file = seed.messages.map(|p| p.display().to_string()).unwrap_or_default();
    let per_partition = assign_partitions(messages, seed.partitions);
    // One connection per producing partition (up to CONNECTIONS): a broker
    // answers one connection's requests in order, so partitions sharing one
    // would be produced one after the other.
    let busy = per_partition.iter().filter(|m| !m.is_empty()).count();
    let mut pool = vec![client];
    while pool.len() < busy.min(CONNECTIONS) {
        pool.push(connect(&t.addr).await?);
    }
    let mut clients = Vec::new();
    for (p, msgs) in per_partition.into_iter().enumerate() {
        if msgs.is_empty() {
            continue;
        }
        let client = &pool[clients.len() % pool.len()];
        let p = p as i32;
        let pc = bounded(
            || format!("kafka at {}: partition {}/{p} not reachable within {} s", t.addr, seed.name, CALL_TIMEOUT.as_secs()),
            client.partition_client(seed.name, p, UnknownTopicHandling::Retry),
        )
        .await
        .map_err(|e| prefixed(e, &format!("topic `{}` partition {p}", seed.name)))?;
        clients.push((pc, msgs));
    }

    let sent = AtomicU64::new(0);
    let jobs = clients.into_iter().map(|(pc, msgs)| produce_partition(pc, msgs, &file, &sent, progress, &t.addr));
    futures_util::future::try_join_all(jobs).await?;
    Ok(Applied { count: sent.load(Ordering::SeqCst), unit: "messages" })
}

/// Delete each topic; one that does not exist is fine. Returns once the
/// broker no longer lists them (so the topic can be re-created at once).
pub async fn delete_topics(t: &Target<'_>, names: &[String]) -> Result<(), SeedError> {
    if names.is_empty() {
        return Ok(());
    }
    for name in names {
        validate_topic_name(name)?;
    }
    let client = connect(&t.addr).await?;
    let controller = client
        .controller_client()
        .map_err(|e| SeedError::new(format!("kafka at {}: {}", t.addr, describe(&e))))?;
    for name in names {
        match tokio::time::timeout(CALL_TIMEOUT, controller.delete_topic(name.as_str(), ADMIN_TIMEOUT_MS)).await {
            Err(_) => return Err(SeedError::new(format!("deleting topic `{name}`: no answer from {} within {} s", t.addr, CALL_TIMEOUT.as_secs()))),
            Ok(Ok(())) => {}
            Ok(Err(e)) if is_protocol(&e, ProtocolError::UnknownTopicOrPartition) => {}
            Ok(Err(e)) => return Err(SeedError::new(format!("deleting topic `{name}`: {}", describe(&e)))),
        }
    }
    // Wait until metadata no longer lists them.
    let deadline = tokio::time::Instant::now() + TOPIC_VISIBLE_WITHIN;
    loop {
        let topics = list_topics(&client, &t.addr).await?;
        let left: Vec<&str> = names.iter().filter(|n| topics.contains_key(n.as_str())).map(|n| n.as_str()).collect();
        if left.is_empty() {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(SeedError::new(format!(
                "kafka at {}: topic(s) {} still listed {} s after being deleted",
                t.addr,
                left.join(", "),
                TOPIC_VISIBLE_WITHIN.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// ---------------------------------------------------------------- messages

/// One parsed line of the messages file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Message {
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: BTreeMap<String, Vec<u8>>,
    /// 1-based line in the file.
    pub line: usize,
}

/// Parse a JSON-lines messages file (`path` only names it in errors).
pub(crate) fn parse_messages(path: &Path, text: &str) -> Result<Vec<Message>, SeedError> {
    let file = path.display();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let line = i + 1;
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if raw.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(raw).map_err(|e| SeedError::new(format!("{file}:{line}: malformed JSON: {}", json_error(&e))))?;
        let Value::Object(mut obj) = v else {
            return Err(SeedError::new(format!("{file}:{line}: expected a JSON object like {{\"key\": …, \"value\": …}}, got {}", kind_of(&v))));
        };
        let key = obj.remove("key").and_then(|k| encode(&k));
        let value = obj.remove("value").and_then(|v| encode(&v));
        let mut headers = BTreeMap::new();
        match obj.remove("headers") {
            None | Some(Value::Null) => {}
            Some(Value::Object(h)) => {
                for (name, v) in h {
                    match v {
                        Value::String(s) => {
                            headers.insert(name, s.into_bytes());
                        }
                        other => {
                            return Err(SeedError::new(format!(
                                "{file}:{line}: header `{name}` must be a string, got {}",
                                kind_of(&other)
                            )));
                        }
                    }
                }
            }
            Some(other) => {
                return Err(SeedError::new(format!("{file}:{line}: `headers` must be an object of strings, got {}", kind_of(&other))));
            }
        }
        if let Some(unknown) = obj.keys().next() {
            return Err(SeedError::new(format!("{file}:{line}: unknown field `{unknown}`"))
                .with_hint("a message line may have `key`, `value` and `headers`"));
        }
        out.push(Message { key, value, headers, line });
    }
    Ok(out)
}

/// A key or value's bytes: a string as itself, other JSON as its text, null as none.
pub(crate) fn encode(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.as_bytes().to_vec()),
        other => Some(other.to_string().into_bytes()),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// serde_json's message without its " at line 1 column N" suffix (the line is
/// ours), with the column kept.
pub(crate) fn json_error(e: &serde_json::Error) -> String {
    let s = e.to_string();
    let msg = match s.rfind(" at line ") {
        Some(i) => &s[..i],
        None => s.as_str(),
    };
    format!("{msg} (column {})", e.column())
}

// ------------------------------------------------------------ partitioning

/// Kafka's murmur2 (`org.apache.kafka.common.utils.Utils.murmur2`), as used
/// by its default partitioner.
pub(crate) fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let len = data.len();
    let mut h: u32 = SEED ^ (len as u32);
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let rest = chunks.remainder();
    if rest.len() >= 3 {
        h ^= (rest[2] as u32) << 16;
    }
    if rest.len() >= 2 {
        h ^= (rest[1] as u32) << 8;
    }
    if !rest.is_empty() {
        h ^= rest[0] as u32;
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition Kafka's default partitioner picks for a key.
pub(crate) fn partition_for_key(key: &[u8], partitions: i32) -> i32 {
    let positive = murmur2(key) & 0x7fff_ffff;
    positive % partitions.max(1)
}

/// Split messages per partition (keyed: by hash; keyless: round-robin), keeping file order within each.
pub(crate) fn assign_partitions(messages: Vec<Message>, partitions: i32) -> Vec<Vec<Message>> {
    let n = partitions.max(1);
    let mut out: Vec<Vec<Message>> = (0..n).map(|_| Vec::new()).collect();
    let mut next: i32 = 0;
    for m in messages {
        let p = match &m.key {
            Some(k) => partition_for_key(k, n),
            None => {
                let p = next;
                next = (next + 1) % n;
                p
            }
        };
        out[p as usize].push(m);
    }
    out
}

/// Split one partition's messages into produce batches (≤ `max_records`, ≤ ~`max_bytes`).
pub(crate) fn batches(messages: Vec<Message>, max_records: usize, max_bytes: usize) -> Vec<Vec<Message>> {
    let mut out = Vec::new();
    let mut cur: Vec<Message> = Vec::new();
    let mut bytes = 0usize;
    for m in messages {
        let size = message_size(&m);
        if !cur.is_empty() && (cur.len() >= max_records || bytes + size > max_bytes) {
            out.push(std::mem::take(&mut cur));
            bytes = 0;
        }
        bytes += size;
        cur.push(m);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn message_size(m: &Message) -> usize {
    m.key.as_ref().map_or(0, |k| k.len())
        + m.value.as_ref().map_or(0, |v| v.len())
        + m.headers.iter().map(|(k, v)| k.len() + v.len() + 2).sum::<usize>()
        + RECORD_OVERHEAD
}

async fn produce_partition(
    pc: PartitionClient,
    messages: Vec<Message>,
    file: &str,
    sent: &AtomicU64,
    progress: Progress<'_>,
    addr: &str,
) -> Result<(), SeedError> {
    let partition = pc.partition();
    for batch in batches(messages, BATCH_RECORDS, BATCH_BYTES) {
        let first = batch.first().map_or(0, |m| m.line);
        let last = batch.last().map_or(0, |m| m.line);
        let n = batch.len() as u64;
        let now = rskafka::chrono::Utc::now();
        let records: Vec<Record> = batch
            .into_iter()
            .map(|m| Record { key: m.key, value: m.value, headers: m.headers, timestamp: now })
            .collect();
        let what = || format!("producing {file} lines {first}–{last} to `{}` partition {partition}", pc.topic());
        match tokio::time::timeout(CALL_TIMEOUT, pc.produce(records, Compression::NoCompression)).await {
            Err(_) => {
                return Err(SeedError::new(format!("{}: no answer from {addr} within {} s", what(), CALL_TIMEOUT.as_secs())));
            }
            Ok(Err(e)) => {
                let mut err = SeedError::new(format!("{}: {}", what(), describe(&e)));
                if is_protocol(&e, ProtocolError::MessageTooLarge) || is_protocol(&e, ProtocolError::RecordListTooLarge) {
                    err = err.with_hint("a message is larger than the broker's message.max.bytes; raise it or shrink the message").because(super::Cause::MessageTooLarge);
                }
                return Err(err);
            }
            Ok(Ok(_)) => {}
        }
        let total = sent.fetch_add(n, Ordering::SeqCst) + n;
        progress(total);
    }
    Ok(())
}

// ------------------------------------------------------------------- topic

/// Kafka's topic-name rules: 1–249 of `[a-zA-Z0-9._-]`, not `.` or `..`.
pub(crate) fn validate_topic_name(name: &str) -> Result<(), SeedError> {
    let bad = |why: &str| {
        Err(SeedError::new(format!("invalid topic name `{name}`: {why}"))
            .with_hint("topic names are 1–249 characters of letters, digits, `.`, `_` and `-`"))
    };
    if name.is_empty() {
        return bad("empty");
    }
    if name == "." || name == ".." {
        return bad("`.` and `..` are not allowed");
    }
    if name.len() > 249 {
        return bad("longer than 249 characters");
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))) {
        return bad(&format!("character {c:?} is not allowed"));
    }
    Ok(())
}

fn backoff() -> rskafka::BackoffConfig {
    rskafka::BackoffConfig {
        init_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(500),
        base: 2.0,
        deadline: Some(Duration::from_secs(20)),
    }
}

async fn connect(addr: &str) -> Result<Client, SeedError> {
    let build = ClientBuilder::new(vec![addr.to_string()]).client_id("devenv-seed").backoff_config(backoff()).build();
    match tokio::time::timeout(CALL_TIMEOUT, build).await {
        Err(_) => Err(SeedError::new(format!("kafka at {addr}: no answer within {} s", CALL_TIMEOUT.as_secs()))),
        Ok(Err(e)) => Err(SeedError::new(format!("kafka at {addr}: {}", describe(&e)))),
        Ok(Ok(c)) => Ok(c),
    }
}

/// Topic name → partition count.
async fn list_topics(client: &Client, addr: &str) -> Result<BTreeMap<String, usize>, SeedError> {
    let topics = bounded(|| format!("kafka at {addr}: metadata request got no answer within {} s", CALL_TIMEOUT.as_secs()), client.list_topics())
        .await
        .map_err(|e| prefixed(e, &format!("kafka at {addr}: listing topics")))?;
    Ok(topics.into_iter().map(|t| (t.name, t.partitions.len())).collect())
}

async fn ensure_topic(client: &Client, addr: &str, seed: &TopicSeed<'_>) -> Result<(), SeedError> {
    let existing = list_topics(client, addr).await?;
    if let Some(&n) = existing.get(seed.name) {
        return check_partitions(seed, n);
    }
    let created = if seed.config.is_empty() {
        let controller = client.controller_client().map_err(|e| SeedError::new(format!("kafka at {addr}: {}", describe(&e))))?;
        match tokio::time::timeout(CALL_TIMEOUT, controller.create_topic(seed.name, seed.partitions, 1, ADMIN_TIMEOUT_MS)).await {
            Err(_) => Err(SeedError::new(format!("creating topic `{}`: no answer from {addr} within {} s", seed.name, CALL_TIMEOUT.as_secs()))),
            Ok(Ok(())) => Ok(true),
            Ok(Err(e)) if is_protocol(&e, ProtocolError::TopicAlreadyExists) => Ok(false),
            Ok(Err(e)) => Err(SeedError::new(format!("creating topic `{}`: {}", seed.name, describe(&e)))),
        }
    } else {
        match tokio::time::timeout(CALL_TIMEOUT, raw::create_topic(addr, seed.name, seed.partitions, seed.config)).await {
            Err(_) => Err(SeedError::new(format!("creating topic `{}`: no answer from {addr} within {} s", seed.name, CALL_TIMEOUT.as_secs()))),
            Ok(r) => r.map_err(|e| prefixed(e, &format!("creating topic `{}`", seed.name))),
        }
    }?;

    // Wait until the topic (all its partitions) is in the metadata: producing
    // to a topic the broker does not know yet can hang or fail.
    let deadline = tokio::time::Instant::now() + TOPIC_VISIBLE_WITHIN;
    loop {
        let topics = list_topics(client, addr).await?;
        match topics.get(seed.name) {
            Some(&n) if !created => return check_partitions(seed, n),
            Some(&n) if n >= seed.partitions as usize => return Ok(()),
            _ => {}
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(SeedError::new(format!(
                "topic `{}` was created but did not appear in {addr}'s metadata within {} s",
                seed.name,
                TOPIC_VISIBLE_WITHIN.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn check_partitions(seed: &TopicSeed<'_>, actual: usize) -> Result<(), SeedError> {
    if actual == seed.partitions as usize {
        return Ok(());
    }
    Err(SeedError::new(format!(
        "topic `{}` already exists with {actual} partition(s), but the seed asks for {}",
        seed.name, seed.partitions
    ))
    .with_hint(format!("reset the seed (which deletes the topic) or set `partitions: {actual}`")))
}

// ----------------------------------------------------------------- helpers

/// `what: <message>`.
fn prefixed(mut e: SeedError, what: &str) -> SeedError {
    e.message = format!("{what}: {}", e.message);
    e
}

/// Run an rskafka call under `CALL_TIMEOUT`.
async fn bounded<T>(on_timeout: impl FnOnce() -> String, fut: impl Future<Output = Result<T, KafkaError>>) -> Result<T, SeedError> {
    match tokio::time::timeout(CALL_TIMEOUT, fut).await {
        Err(_) => Err(SeedError::new(on_timeout())),
        Ok(Err(e)) => Err(SeedError::new(describe(&e))),
        Ok(Ok(v)) => Ok(v),
    }
}

fn is_protocol(e: &KafkaError, want: ProtocolError) -> bool {
    match e {
        KafkaError::ServerError { protocol_error, .. } => *protocol_error == want,
        _ => false,
    }
}

/// A readable one-liner for an rskafka error.
fn describe(e: &KafkaError) -> String {
    match e {
        KafkaError::ServerError { protocol_error, error_message: Some(m), .. } if !m.is_empty() => format!("{protocol_error}: {m}"),
        KafkaError::ServerError { protocol_error, .. } => format!("{protocol_error}"),
        other => super::root_cause(other),
    }
}

/// The one raw Kafka-protocol exchange: CreateTopics with config entries.
mod raw {
    use super::*;

    const API_VERSIONS: i16 = 18;
    const CREATE_TOPICS: i16 = 19;
    /// Largest response we accept (these are tiny).
    const MAX_FRAME: usize = 16 * 1024 * 1024;

    /// Create the topic with `config`. `Ok(true)`: created; `Ok(false)`: it already existed.
    pub(super) async fn create_topic(
        addr: &str,
        name: &str,
        partitions: i32,
        config: &indexmap::IndexMap<String, String>,
    ) -> Result<bool, SeedError> {
        let io = |e: std::io::Error| SeedError::new(format!("kafka at {addr}: {e}"));
        let mut sock = tokio::net::TcpStream::connect(addr).await.map_err(io)?;
        sock.set_nodelay(true).map_err(io)?;

        // ApiVersions v0: which CreateTopics versions does the broker speak?
        let frame = request(API_VERSIONS, 0, 1, &[]);
        sock.write_all(&frame).await.map_err(io)?;
        let resp = read_frame(&mut sock).await.map_err(io)?;
        let (lo, hi) = create_topics_range(&resp).map_err(|e| SeedError::new(format!("kafka at {addr}: ApiVersions: {e}")))?;
        // v2–v4 share one (non-flexible) wire format.
        let version = hi.min(4);
        if version < 2 || version < lo {
            let keys: Vec<&str> = config.keys().map(|k| k.as_str()).collect();
            return Err(SeedError::new(format!(
                "the broker speaks CreateTopics v{lo}–v{hi}, devenv sends config entries with v2–v4; cannot apply topic config {}",
                keys.join(", ")
            ))
            .with_hint("remove `config:` from the topic and set it with kafka-configs.sh instead"));
        }

        let mut body = Vec::new();
        put_i32(&mut body, 1);
        put_str(&mut body, name);
        put_i32(&mut body, partitions);
        put_i16(&mut body, 1); // replication factor
        put_i32(&mut body, 0); // assignments
        put_i32(&mut body, config.len() as i32);
        for (k, v) in config {
            put_str(&mut body, k);
            put_str(&mut body, v);
        }
        put_i32(&mut body, ADMIN_TIMEOUT_MS);
        body.push(0); // validate_only = false
        let frame = request(CREATE_TOPICS, version, 2, &body);
        sock.write_all(&frame).await.map_err(io)?;
        let resp = read_frame(&mut sock).await.map_err(io)?;
        let (code, message) = create_topics_result(&resp, name).map_err(|e| SeedError::new(format!("kafka at {addr}: CreateTopics: {e}")))?;
        match code {
            0 => Ok(true),
            36 => Ok(false), // TOPIC_ALREADY_EXISTS
            _ => {
                let mut text = error_name(code).to_string();
                if let Some(m) = message.filter(|m| !m.is_empty()) {
                    text = format!("{text}: {m}");
                }
                let err = SeedError::new(text);
                Err(if code == 40 {
                    let keys: Vec<&str> = config.keys().map(|k| k.as_str()).collect();
                    err.with_hint(format!("check the topic config entries ({})", keys.join(", ")))
                } else {
                    err
                })
            }
        }
    }

    fn error_name(code: i16) -> String {
        match code {
            7 => "REQUEST_TIMED_OUT".into(),
            17 => "INVALID_TOPIC_EXCEPTION".into(),
            37 => "INVALID_PARTITIONS".into(),
            38 => "INVALID_REPLICATION_FACTOR".into(),
            40 => "INVALID_CONFIG".into(),
            41 => "NOT_CONTROLLER".into(),
            42 => "INVALID_REQUEST".into(),
            44 => "POLICY_VIOLATION".into(),
            c => format!("error code {c}"),
        }
    }

    /// A request frame with header v1 (api key, version, correlation id, client id).
    pub(super) fn request(api_key: i16, version: i16, correlation: i32, body: &[u8]) -> Vec<u8> {
        let mut msg = Vec::with_capacity(body.len() + 32);
        put_i16(&mut msg, api_key);
        put_i16(&mut msg, version);
        put_i32(&mut msg, correlation);
        put_str(&mut msg, "devenv-seed");
        msg.extend_from_slice(body);
        let mut frame = Vec::with_capacity(msg.len() + 4);
        put_i32(&mut frame, msg.len() as i32);
        frame.extend_from_slice(&msg);
        frame
    }

    async fn read_frame(sock: &mut tokio::net::TcpStream) -> std::io::Result<Vec<u8>> {
        let mut len = [0u8; 4];
        sock.read_exact(&mut len).await?;
        let len = i32::from_be_bytes(len);
        if len < 4 || len as usize > MAX_FRAME {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, format!("bad response size {len}")));
        }
        let mut buf = vec![0u8; len as usize];
        sock.read_exact(&mut buf).await?;
        Ok(buf)
    }

    /// (min, max) CreateTopics version from an ApiVersions v0 response (after the size).
    pub(super) fn create_topics_range(resp: &[u8]) -> Result<(i16, i16), String> {
        let mut r = Reader(resp);
        let _correlation = r.i32()?;
        let code = r.i16()?;
        if code != 0 {
            return Err(format!("error code {code}"));
        }
        let n = r.i32()?;
        for _ in 0..n.max(0) {
            let (key, lo, hi) = (r.i16()?, r.i16()?, r.i16()?);
            if key == CREATE_TOPICS {
                return Ok((lo, hi));
            }
        }
        Err("the broker does not support CreateTopics".into())
    }

    /// (error code, message) for `name` from a CreateTopics v2–v4 response.
    pub(super) fn create_topics_result(resp: &[u8], name: &str) -> Result<(i16, Option<String>), String> {
        let mut r = Reader(resp);
        let _correlation = r.i32()?;
        let _throttle = r.i32()?;
        let n = r.i32()?;
        for _ in 0..n.max(0) {
            let topic = r.string()?;
            let code = r.i16()?;
            let message = r.string_opt()?;
            if topic.as_deref() == Some(name) {
                return Ok((code, message));
            }
        }
        Err(format!("no result for topic `{name}`"))
    }

    fn put_i16(b: &mut Vec<u8>, v: i16) {
        b.extend_from_slice(&v.to_be_bytes());
    }
    fn put_i32(b: &mut Vec<u8>, v: i32) {
        b.extend_from_slice(&v.to_be_bytes());
    }
    fn put_str(b: &mut Vec<u8>, s: &str) {
        let bytes = &s.as_bytes()[..s.len().min(i16::MAX as usize)];
        put_i16(b, bytes.len() as i16);
        b.extend_from_slice(bytes);
    }

    struct Reader<'a>(&'a [u8]);
    impl Reader<'_> {
        fn take(&mut self, n: usize) -> Result<&[u8], String> {
            if self.0.len() < n {
                return Err("truncated response".into());
            }
            let (a, b) = self.0.split_at(n);
            self.0 = b;
            Ok(a)
        }
        fn i16(&mut self) -> Result<i16, String> {
            let b = self.take(2)?;
            Ok(i16::from_be_bytes([b[0], b[1]]))
        }
        fn i32(&mut self) -> Result<i32, String> {
            let b = self.take(4)?;
            Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        }
        fn string_opt(&mut self) -> Result<Option<String>, String> {
            let len = self.i16()?;
            if len < 0 {
                return Ok(None);
            }
            let b = self.take(len as usize)?;
            Ok(Some(String::from_utf8_lossy(b).into_owned()))
        }
        fn string(&mut self) -> Result<Option<String>, String> {
            self.string_opt()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("msgs.jsonl")
    }

    #[test]
    fn murmur2_matches_kafka() {
        // Kafka's UtilsTest.testMurmur2 values.
        let cases: &[(&[u8], i32)] = &[
            (b"21", -973932308),
            (b"foobar", -790332482),
            (b"a-little-bit-long-string", -985981536),
            (b"a-little-bit-longer-string", -1486304829),
            (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
            (b"abc", 479470107),
        ];
        for (data, want) in cases {
            assert_eq!(murmur2(data), *want, "murmur2({:?})", String::from_utf8_lossy(data));
        }
        // Values the Akka team checked against Kafka's implementation.
        for (s, want) in [("1", -1993445489), ("12", 126087238), ("123", -267702483), ("1234", -1614185708), ("12345", -1188365604)] {
            assert_eq!(murmur2(s.as_bytes()), want, "murmur2({s:?})");
        }
    }

    #[test]
    fn partition_is_positive_hash_mod_partitions() {
        // toPositive(-973932308) = 1173551340; % 3 = 0, % 7 = 3
        assert_eq!(partition_for_key(b"21", 3), 1173551340 % 3);
        assert_eq!(partition_for_key(b"21", 7), 1173551340 % 7);
        for k in ["a", "b", "user-1", "user-2", ""] {
            let p = partition_for_key(k.as_bytes(), 5);
            assert!((0..5).contains(&p));
            assert_eq!(p, partition_for_key(k.as_bytes(), 5));
        }
    }

    #[test]
    fn parse_key_value_headers() {
        let text = "{\"key\":\"k1\",\"value\":\"hello\",\"headers\":{\"h\":\"v\"}}\n\
                    \n\
                    {\"key\":{\"id\":1},\"value\":{\"a\":[1,2]}}\r\n\
                    {\"value\":42}\n\
                    {\"key\":null,\"value\":null}\n\
                    {\"key\":7,\"value\":true}\n\
                    {}\n";
        let m = parse_messages(p(), text).unwrap();
        assert_eq!(m.len(), 6);
        assert_eq!(m[0].key.as_deref(), Some(&b"k1"[..]));
        assert_eq!(m[0].value.as_deref(), Some(&b"hello"[..]));
        assert_eq!(m[0].headers.get("h").map(|v| v.as_slice()), Some(&b"v"[..]));
        assert_eq!(m[0].line, 1);
        assert_eq!(m[1].key.as_deref(), Some(&b"{\"id\":1}"[..]));
        assert_eq!(m[1].value.as_deref(), Some(&b"{\"a\":[1,2]}"[..]));
        assert_eq!(m[1].line, 3);
        assert_eq!(m[2].key, None);
        assert_eq!(m[2].value.as_deref(), Some(&b"42"[..]));
        assert_eq!((m[3].key.as_ref(), m[3].value.as_ref()), (None, None));
        assert_eq!(m[4].key.as_deref(), Some(&b"7"[..]));
        assert_eq!(m[4].value.as_deref(), Some(&b"true"[..]));
        assert_eq!((m[5].key.as_ref(), m[5].value.as_ref(), m[5].headers.len()), (None, None, 0));
    }

    #[test]
    fn malformed_lines_are_named() {
        let e = parse_messages(p(), "{\"value\":1}\n{\"value\": oops}\n").unwrap_err();
        assert!(e.message.starts_with("msgs.jsonl:2: malformed JSON: "), "{}", e.message);
        assert!(!e.message.contains("at line"), "{}", e.message);
        let e = parse_messages(p(), "[1,2]\n").unwrap_err();
        assert!(e.message.starts_with("msgs.jsonl:1: expected a JSON object"), "{}", e.message);
        let e = parse_messages(p(), "{\"value\":1,\"headers\":{\"n\":1}}\n").unwrap_err();
        assert!(e.message.contains("msgs.jsonl:1: header `n` must be a string"), "{}", e.message);
        let e = parse_messages(p(), "{\"valeu\":1}\n").unwrap_err();
        assert!(e.message.contains("msgs.jsonl:1: unknown field `valeu`"), "{}", e.message);
    }

    #[test]
    fn bom_is_ignored() {
        let m = parse_messages(p(), "\u{feff}{\"value\":\"x\"}\n").unwrap();
        assert_eq!(m.len(), 1);
    }

    fn msg(key: Option<&str>, line: usize) -> Message {
        Message { key: key.map(|k| k.as_bytes().to_vec()), value: Some(b"v".to_vec()), headers: BTreeMap::new(), line }
    }

    #[test]
    fn keyless_round_robin_keyed_by_hash() {
        let msgs: Vec<Message> = (1..=6).map(|i| msg(None, i)).chain([msg(Some("21"), 7), msg(Some("21"), 8)]).collect();
        let parts = assign_partitions(msgs, 3);
        let keyless: Vec<usize> = parts.iter().map(|p| p.iter().filter(|m| m.key.is_none()).count()).collect();
        assert_eq!(keyless, vec![2, 2, 2]);
        let kp = partition_for_key(b"21", 3) as usize;
        assert_eq!(parts[kp].iter().filter(|m| m.key.is_some()).count(), 2);
        // file order kept within a partition
        for p in &parts {
            assert!(p.windows(2).all(|w| w[0].line < w[1].line));
        }
    }

    #[test]
    fn batches_respect_count_and_bytes() {
        let msgs: Vec<Message> = (1..=2500).map(|i| msg(None, i)).collect();
        let b = batches(msgs, 1000, usize::MAX);
        assert_eq!(b.iter().map(|b| b.len()).collect::<Vec<_>>(), vec![1000, 1000, 500]);
        let big = |line| Message { key: None, value: Some(vec![0; 400]), headers: BTreeMap::new(), line };
        let b = batches((1..=5).map(big).collect(), 1000, 1000);
        assert_eq!(b.iter().map(|b| b.len()).collect::<Vec<_>>(), vec![2, 2, 1]);
        // one oversized message still goes (alone)
        let huge = Message { key: None, value: Some(vec![0; 5000]), headers: BTreeMap::new(), line: 1 };
        assert_eq!(batches(vec![huge], 1000, 1000).len(), 1);
    }

    #[test]
    fn topic_names() {
        assert!(validate_topic_name("orders.v1_x-y").is_ok());
        assert!(validate_topic_name("").is_err());
        assert!(validate_topic_name("..").is_err());
        assert!(validate_topic_name("a b").is_err());
        assert!(validate_topic_name(&"x".repeat(250)).is_err());
    }

    #[test]
    fn raw_protocol_frames() {
        let f = raw::request(18, 0, 1, &[]);
        // size, key, version, correlation, client id
        assert_eq!(&f[..4], &((f.len() - 4) as i32).to_be_bytes());
        assert_eq!(&f[4..8], &[0, 18, 0, 0]);
        assert_eq!(&f[12..14], &(11i16).to_be_bytes());
        assert_eq!(&f[14..], b"devenv-seed");

        // ApiVersions v0 response: corr, error, [key, min, max]...
        let mut r = Vec::new();
        r.extend_from_slice(&1i32.to_be_bytes());
        r.extend_from_slice(&0i16.to_be_bytes());
        r.extend_from_slice(&2i32.to_be_bytes());
        for (k, lo, hi) in [(18i16, 0i16, 3i16), (19, 2, 7)] {
            r.extend_from_slice(&k.to_be_bytes());
            r.extend_from_slice(&lo.to_be_bytes());
            r.extend_from_slice(&hi.to_be_bytes());
        }
        assert_eq!(raw::create_topics_range(&r), Ok((2, 7)));
        assert!(raw::create_topics_range(&r[..10]).is_err());

        // CreateTopics v2 response: corr, throttle, [name, code, message]
        let mut r = Vec::new();
        r.extend_from_slice(&2i32.to_be_bytes());
        r.extend_from_slice(&0i32.to_be_bytes());
        r.extend_from_slice(&1i32.to_be_bytes());
        r.extend_from_slice(&(6i16).to_be_bytes());
        r.extend_from_slice(b"orders");
        r.extend_from_slice(&40i16.to_be_bytes());
        r.extend_from_slice(&(3i16).to_be_bytes());
        r.extend_from_slice(b"bad");
        assert_eq!(raw::create_topics_result(&r, "orders"), Ok((40, Some("bad".to_string()))));
        assert!(raw::create_topics_result(&r, "other").is_err());
    }
}
