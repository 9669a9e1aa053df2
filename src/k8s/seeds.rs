//! Seed data as a Kubernetes Job per seeded service: a ConfigMap holds the
//! seed files and a `seed.sh` that applies them in order with the service's
//! own client tools (`psql`, `clickhouse-client`, `redis-cli`,
//! `kafka-topics.sh` / `kafka-console-producer.sh`, `curl`), from a
//! container of the service's image. The script first waits (≤ 120 s) until
//! the service answers, so the manifests also work with a plain `kubectl apply`.
//!
//! Runs once: the Job and its ConfigMap are named after a hash of their
//! content, so re-applying unchanged seeds is a no-op and changed seeds are a
//! new Job. `exec` seeds run in a fresh pod of the service's image with its
//! environment, not inside the running container. What cannot be rendered
//! (Kafka messages with headers, or mixing keyed and unkeyed messages; seed
//! files larger than a ConfigMap holds) is reported as a warning and skipped.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::plan::{ResolvedService, SeedKind};
use crate::preset::{Connection, Kind};

/// ConfigMaps hold at most 1 MiB; leave room for metadata.
pub const MAX_SEED_BYTES: usize = 900 * 1024;
/// How long `seed.sh` waits for the service to answer.
const WAIT_SECONDS: u32 = 120;

/// The rendered seed objects of one service.
#[derive(Debug, Clone)]
pub struct SeedJob {
    /// Job (and ConfigMap) name.
    pub name: String,
    /// The ConfigMap, then the Job.
    pub objects: Vec<Value>,
}

/// What `render` hands over: the service's container (env, image, pull policy) and object metadata.
pub struct Base<'a> {
    pub svc: &'a ResolvedService,
    pub namespace: &'a str,
    pub labels: &'a BTreeMap<String, String>,
    /// The service container's `env` list (ConfigMap/Secret references).
    pub env: &'a [Value],
    pub image_pull_policy: Option<&'a str>,
}

/// The files and script lines being collected.
#[derive(Default)]
struct Script {
    files: BTreeMap<String, String>,
    lines: Vec<String>,
    warnings: Vec<String>,
}

impl Script {
    fn add_file(&mut self, name: &str, content: String) -> String {
        let key = format!("{:02}-{}", self.files.len(), config_key(name));
        self.files.insert(key.clone(), content);
        format!("/seed/{key}")
    }
    fn run(&mut self, what: &str, cmd: String) {
        self.lines.push(format!("echo {}", q(&format!("seed: {what}"))));
        self.lines.push(cmd);
    }
}

fn q(s: &str) -> String {
    shell_words::quote(s).into_owned()
}

/// A string usable as a ConfigMap key: `[-._a-zA-Z0-9]`.
pub fn config_key(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_') { c } else { '_' }).collect()
}

fn file_name(p: &Path) -> String {
    p.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_else(|| "file".into())
}

fn read(p: &Path) -> Result<String, String> {
    std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))
}

/// The client command prefix and the readiness check for a preset, reached at `host`.
fn client(c: &Connection, host: &str) -> (String, String) {
    let port = c.network_port();
    match c.kind {
        Kind::Postgres => (
            "psql -v ON_ERROR_STOP=1".into(),
            format!("pg_isready -q -h {} -p {port}", q(host)),
        ),
        Kind::Clickhouse => {
            let mut cmd = format!("clickhouse-client --host {} --port 9000", q(host));
            if let Some(u) = &c.user {
                cmd.push_str(&format!(" --user {}", q(u)));
            }
            if c.password.is_some() {
                cmd.push_str(" --password \"$CLICKHOUSE_PASSWORD\"");
            }
            if let Some(d) = &c.database {
                cmd.push_str(&format!(" --database {}", q(d)));
            }
            let check = format!("{cmd} --query 'SELECT 1' >/dev/null 2>&1");
            (cmd, check)
        }
        Kind::Redis => {
            let auth = if c.password.is_some() { " -a \"$REDIS_PASSWORD\" --no-auth-warning" } else { "" };
            let cmd = format!("redis-cli -h {} -p {port}{auth}", q(host));
            let check = format!("{cmd} ping 2>/dev/null | grep -q PONG");
            (cmd, check)
        }
        Kind::Kafka => {
            let b = format!("--bootstrap-server {}", q(&format!("{host}:{port}")));
            (b.clone(), format!("/opt/kafka/bin/kafka-topics.sh {b} --list >/dev/null 2>&1"))
        }
        Kind::Elasticsearch => {
            let base = format!("http://{host}:{port}");
            (base.clone(), format!("curl -fsS {} >/dev/null 2>&1", q(&format!("{base}/_cluster/health?wait_for_status=yellow&timeout=1s"))))
        }
    }
}

/// Client settings a seed container gets besides the service's own environment.
fn client_env(c: &Connection, host: &str) -> Vec<Value> {
    let mut out = Vec::new();
    if c.kind == Kind::Postgres {
        out.push(json!({"name": "PGHOST", "value": host}));
        out.push(json!({"name": "PGPORT", "value": c.port.to_string()}));
        if let Some(u) = &c.user {
            out.push(json!({"name": "PGUSER", "value": u}));
        }
        if let Some(d) = &c.database {
            out.push(json!({"name": "PGDATABASE", "value": d}));
        }
        if c.password.is_some() {
            out.push(json!({"name": "PGPASSWORD", "value": "$(POSTGRES_PASSWORD)"}));
        }
    }
    out
}

fn entry(s: &mut Script, svc: &ResolvedService, kind: &SeedKind, id: &str) -> Result<(), String> {
    let host = svc.name.as_str();
    let conn = svc.connection.as_ref();
    let (cli, _) = conn.map(|c| client(c, host)).unwrap_or_default();
    let preset = svc.preset;
    match kind {
        SeedKind::Sql { file } => {
            let path = s.add_file(&file_name(file), read(file)?);
            match preset {
                Some(Kind::Postgres) => s.run(id, format!("{cli} --single-transaction -f {}", q(&path))),
                _ => s.run(id, format!("{cli} --multiquery < {}", q(&path))),
            }
        }
        SeedKind::Csv { file, table } | SeedKind::Jsonl { file, table } => {
            let text = read(file)?;
            let is_csv = matches!(kind, SeedKind::Csv { .. });
            if preset == Some(Kind::Postgres) {
                let header = text.lines().next().unwrap_or("");
                let cols = crate::seed::sql::csv_header(header).iter().map(|c| crate::seed::postgres::quote_ident(c)).collect::<Vec<_>>().join(", ");
                let target = crate::seed::postgres::quote_qualified(table)?;
                let path = s.add_file(&file_name(file), text);
                let copy = format!("\\copy {target} ({cols}) FROM '{path}' WITH (FORMAT csv, HEADER true)");
                s.run(id, format!("{cli} -c {}", q(&copy)));
            } else {
                let target = crate::seed::clickhouse::quote_qualified(table)?;
                let format = if is_csv { "CSVWithNames" } else { "JSONEachRow" };
                let path = s.add_file(&file_name(file), text);
                s.run(id, format!("{cli} --query {} < {}", q(&format!("INSERT INTO {target} FORMAT {format}")), q(&path)));
            }
        }
        SeedKind::Redis { file } => {
            let path = s.add_file(&file_name(file), read(file)?);
            s.run(id, format!("{cli} < {}", q(&path)));
        }
        SeedKind::Topic { name, partitions, config, messages } => {
            let mut cmd = format!("/opt/kafka/bin/kafka-topics.sh {cli} --create --if-not-exists --topic {} --partitions {partitions} --replication-factor 1", q(name));
            for (k, v) in config {
                cmd.push_str(&format!(" --config {}", q(&format!("{k}={v}"))));
            }
            s.run(id, cmd);
            if let Some(m) = messages {
                kafka_messages(s, &cli, name, m, id)?;
            }
        }
        SeedKind::Index { name, mappings, settings, documents } => {
            let mut body = serde_json::Map::new();
            if let Some(m) = mappings {
                body.insert("mappings".into(), crate::seed::elasticsearch::read_section(m, "mappings").map_err(|e| e.message)?);
            }
            if let Some(st) = settings {
                body.insert("settings".into(), crate::seed::elasticsearch::read_section(st, "settings").map_err(|e| e.message)?);
            }
            let path = s.add_file(&format!("{name}.index.json"), Value::Object(body).to_string());
            let put = format!(
                "code=$(curl -sS -o /tmp/es.out -w '%{{http_code}}' -X PUT {} -H 'Content-Type: application/json' --data-binary @{})\n\
                 case \"$code\" in 2*) ;; 400) grep -q resource_already_exists_exception /tmp/es.out || {{ cat /tmp/es.out >&2; exit 1; }} ;; *) echo \"HTTP $code\" >&2; cat /tmp/es.out >&2; exit 1 ;; esac",
                q(&format!("{cli}/{name}")),
                q(&path)
            );
            s.run(&format!("{id} (create)"), put);
            if let Some(d) = documents {
                let text = read(d)?;
                let docs = crate::seed::elasticsearch::parse_documents(d, &text).map_err(|e| e.message)?;
                let bulk = String::from_utf8_lossy(&crate::seed::elasticsearch::bulk_body(name, &docs)).to_string();
                let path = s.add_file(&format!("{name}.bulk.ndjson"), bulk);
                let post = format!(
                    "curl -sS -o /tmp/es.out -X POST {} -H 'Content-Type: application/x-ndjson' --data-binary @{}\n\
                     grep -q '\"errors\":false' /tmp/es.out || {{ echo 'bulk load failed:' >&2; head -c 2000 /tmp/es.out >&2; exit 1; }}",
                    q(&format!("{cli}/_bulk?refresh=true")),
                    q(&path)
                );
                s.run(&format!("{id} (documents)"), post);
            }
        }
        SeedKind::Exec { command } => {
            let line = command.iter().map(|a| q(a)).collect::<Vec<_>>().join(" ");
            s.run(id, line);
        }
    }
    Ok(())
}

/// `kafka-console-producer.sh` over a `key<TAB>value` (or value-only) file.
fn kafka_messages(s: &mut Script, bootstrap: &str, topic: &str, file: &Path, id: &str) -> Result<(), String> {
    let text = read(file)?;
    let msgs = crate::seed::kafka::parse_messages(file, &text).map_err(|e| e.message)?;
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
        s.warnings.push(format!("{id}: {} has {r}, which kafka-console-producer cannot send; the messages are not rendered (the topic is)", file.display()));
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

fn short_hash(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    h.finalize().iter().take(4).map(|b| format!("{b:02x}")).collect()
}

/// The seed ConfigMap + Job of `base.svc`, if it has seeds. Warnings describe what was left out.
pub fn seed_job(base: &Base) -> (Option<SeedJob>, Vec<String>) {
    let svc = base.svc;
    if svc.seeds.is_empty() {
        return (None, vec![]);
    }
    let mut s = Script::default();
    for seed in &svc.seeds {
        if let Err(e) = entry(&mut s, svc, &seed.kind, &seed.id) {
            s.warnings.push(format!("services.{}.seed: `{}`: {e}; the seed Job is not rendered", svc.name, seed.id));
            return (None, s.warnings);
        }
    }
    let size: usize = s.files.values().map(String::len).sum();
    if size > MAX_SEED_BYTES {
        s.warnings.push(format!(
            "services.{}.seed: the seed files total {} KiB, more than a ConfigMap holds (~1 MiB); the seed Job is not rendered — load this data from an image or a volume instead",
            svc.name,
            size / 1024
        ));
        return (None, s.warnings);
    }
    let wait = svc.connection.as_ref().map(|c| client(c, &svc.name).1);
    let mut script = String::from("#!/bin/sh\n# Generated by devenv: applies the seeds of service `");
    script.push_str(&svc.name);
    script.push_str("` once.\nset -eu\n");
    if let Some(check) = wait {
        script.push_str(&format!(
            "i=0\nuntil {check}; do\n  i=$((i + 1))\n  if [ \"$i\" -ge {WAIT_SECONDS} ]; then echo '{} did not answer within {WAIT_SECONDS} s' >&2; exit 1; fi\n  sleep 1\ndone\n",
            svc.name
        ));
    }
    for l in &s.lines {
        script.push_str(l);
        script.push('\n');
    }
    script.push_str("echo 'seed: done'\n");
    s.files.insert("seed.sh".into(), script);

    let mut contents: Vec<&str> = vec![svc.image.as_str()];
    for (k, v) in &s.files {
        contents.push(k);
        contents.push(v);
    }
    let name = format!("{}-seed-{}", svc.name, short_hash(&contents));
    let mut env: Vec<Value> = base.env.to_vec();
    if let Some(c) = &svc.connection {
        env.extend(client_env(c, &svc.name));
    }
    // Not the service's own `name` label: its Service must never select a seed pod.
    let mut labels = base.labels.clone();
    labels.insert("app.kubernetes.io/name".into(), format!("{}-seed", svc.name));
    labels.insert("app.kubernetes.io/component".into(), "seed".into());
    let config = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": base.namespace, "labels": labels},
        "data": s.files,
    });
    let mut container = json!({
        "name": "seed",
        "image": svc.image,
        "command": ["sh", "/seed/seed.sh"],
        "env": env,
        "volumeMounts": [{"name": "seed", "mountPath": "/seed", "readOnly": true}],
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}},
    });
    if let (Some(p), Some(o)) = (base.image_pull_policy, container.as_object_mut()) {
        o.insert("imagePullPolicy".into(), json!(p));
    }
    let job = json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": base.namespace, "labels": labels},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "restartPolicy": "Never",
                    "enableServiceLinks": false,
                    "containers": [container],
                    "volumes": [{"name": "seed", "configMap": {"name": name}}],
                },
            },
        },
    });
    (Some(SeedJob { name, objects: vec![config, job] }), s.warnings)
}
