//! Elasticsearch: the official image, single node, security off for local
//! use, 512 MB heap, disk-threshold allocation off; memory locking off, so
//! no `memlock` ulimit. Tags are full `x.y.z` versions only.
//! Probe: `/_cluster/health` status yellow or green. Seeds: indices with
//! mappings, settings and documents; reset deletes the seeded indices.
//! In Kubernetes: the same health check, mmap off (no node sysctl needed),
//! `curl` seed Jobs. `doctor` checks the host's `vm.max_map_count`.

use std::collections::BTreeMap;

use futures_util::future::BoxFuture;
use indexmap::IndexMap;
use serde_json::Value;

use super::{
    env_of, named_volume, q, read, tcp_port, unsupported, ClusterEnv, Connection, Context, Defaults, Ecosystem, InitText, K8sProbe, Kind, Preset,
    ProbeError, Resources, SeedClient, SeedScript, GIB,
};
use crate::seed::entry::SeedKind;
use crate::seed::{self, Applied, Progress, SeedError, Target};

pub struct Elasticsearch;

/// Elasticsearch's bootstrap check wants at least this `vm.max_map_count`.
pub const MIN_MAX_MAP_COUNT: u64 = 262_144;
const HEALTH_YELLOW: &str = "/_cluster/health?wait_for_status=yellow&timeout=1s";

impl Preset for Elasticsearch {
    fn aliases(&self) -> &'static [&'static str] {
        &["es", "elastic"]
    }
    fn image_repos(&self) -> &'static [&'static str] {
        &["elasticsearch"]
    }
    /// Elastic's registry publishes full `x.y.z` versions only (no `latest`).
    fn image_for(&self, version: &str) -> Result<String, String> {
        if super::is_full_version(version) {
            return Ok(format!("docker.elastic.co/elasticsearch/elasticsearch:{version}"));
        }
        Err(format!("docker.elastic.co publishes full versions only, e.g. `8.15.3`, `8.19.0`, `9.1.0` (no `latest`); `{version}` is not a tag"))
    }
    fn tag_forms(&self) -> &'static str {
        "full versions only, such as `8.15.3` or `9.1.0` (no `latest`, no `8`)"
    }
    fn defaults(&self, ctx: &Context) -> Defaults {
        defaults(ctx)
    }
    fn connection(&self, env: &IndexMap<String, String>, _command: &[String]) -> Connection {
        connection(env)
    }
    fn url(&self, _auth: &str, host: &str, port: u16, _database: &str) -> String {
        format!("http://{host}:{port}")
    }
    fn probe<'a>(&'a self, _conn: &'a Connection, addr: &'a str, http: &'a reqwest::Client) -> BoxFuture<'a, Result<(), ProbeError>> {
        Box::pin(probe(addr, http))
    }
    fn probe_description(&self) -> &'static str {
        "elasticsearch cluster health"
    }

    fn seed_kinds(&self) -> &'static [&'static str] {
        &["index", "exec"]
    }
    fn seed<'a>(&'a self, t: &'a Target<'a>, kind: &'a SeedKind, progress: Progress<'a>) -> Option<BoxFuture<'a, Result<Applied, SeedError>>> {
        let SeedKind::Index { name, mappings, settings, documents } = kind else { return None };
        Some(Box::pin(async move {
            let is = seed::elasticsearch::IndexSeed { name, mappings: mappings.as_deref(), settings: settings.as_deref(), documents: documents.as_deref() };
            seed::elasticsearch::apply_index(t, &is, progress).await.map_err(hint)
        }))
    }
    fn reset<'a>(&'a self, t: &'a Target<'a>, seeds: Vec<&'a SeedKind>) -> BoxFuture<'a, Result<(), SeedError>> {
        let indices: Vec<String> = seeds.iter().filter_map(|s| if let SeedKind::Index { name, .. } = s { Some(name.clone()) } else { None }).collect();
        Box::pin(async move { seed::elasticsearch::delete_indices(t, &indices).await.map_err(hint) })
    }

    fn k8s_probes(&self, c: &Connection) -> (K8sProbe, K8sProbe) {
        (K8sProbe::Http { path: HEALTH_YELLOW.into(), port: c.port }, K8sProbe::Tcp { port: c.port })
    }
    fn k8s_requests(&self) -> Resources {
        Resources { cpu: "200m", memory: "1Gi" }
    }
    /// No node sysctl (vm.max_map_count) needed.
    fn k8s_env(&self, _cx: &ClusterEnv, env: &mut BTreeMap<String, String>) {
        if !env.contains_key("node.store.allow_mmap") {
            env.insert("node.store.allow_mmap".into(), "false".into());
        }
    }
    /// The official image runs as uid 1000: let it write its volume.
    fn k8s_fs_group(&self) -> Option<i64> {
        Some(1000)
    }
    fn k8s_seed_client(&self, c: &Connection, host: &str) -> SeedClient {
        let base = format!("http://{host}:{}", c.network_port());
        SeedClient { check: format!("curl -fsS {} >/dev/null 2>&1", q(&format!("{base}{HEALTH_YELLOW}"))), command: base, env: vec![] }
    }
    fn k8s_seed(&self, s: &mut dyn SeedScript, kind: &SeedKind, id: &str, cli: &str) -> Result<(), String> {
        let SeedKind::Index { name, mappings, settings, documents } = kind else { return Err(unsupported(kind, "elasticsearch")) };
        let mut body = serde_json::Map::new();
        if let Some(m) = mappings {
            body.insert("mappings".into(), seed::elasticsearch::read_section(m, "mappings").map_err(|e| e.message)?);
        }
        if let Some(st) = settings {
            body.insert("settings".into(), seed::elasticsearch::read_section(st, "settings").map_err(|e| e.message)?);
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
            let docs = seed::elasticsearch::parse_documents(d, &text).map_err(|e| e.message)?;
            let bulk = String::from_utf8_lossy(&seed::elasticsearch::bulk_body(name, &docs)).to_string();
            let path = s.add_file(&format!("{name}.bulk.ndjson"), bulk);
            let post = format!(
                "curl -sS -o /tmp/es.out -X POST {} -H 'Content-Type: application/x-ndjson' --data-binary @{}\n\
                 grep -q '\"errors\":false' /tmp/es.out || {{ echo 'bulk load failed:' >&2; head -c 2000 /tmp/es.out >&2; exit 1; }}",
                q(&format!("{cli}/_bulk?refresh=true")),
                q(&path)
            );
            s.run(&format!("{id} (documents)"), post);
        }
        Ok(())
    }

    fn memory(&self) -> u64 {
        2 * GIB
    }
    fn first_start_ms(&self) -> u64 {
        15000 // a JVM, then the cluster state
    }
    fn max_map_count(&self) -> Option<(u64, &'static str)> {
        Some((MIN_MAX_MAP_COUNT, "Elasticsearch"))
    }
    fn init_text(&self) -> InitText {
        InitText {
            service: "search",
            variable: "ELASTICSEARCH_URL",
            about: "Elasticsearch 8 (single node, security off) on 127.0.0.1:9200; needs vm.max_map_count >= 262144 (`devenv doctor` checks)",
        }
    }
    fn dependencies(&self, eco: Ecosystem) -> &'static [&'static str] {
        match eco {
            Ecosystem::Node => &["@elastic/elasticsearch"],
            Ecosystem::Python | Ecosystem::Rust => &["elasticsearch"],
            Ecosystem::Go => &["github.com/elastic/go-elasticsearch"],
        }
    }
}

pub const DEFAULT_VERSION: &str = "8.15.3";
pub const PORT: u16 = 9200;

fn defaults(ctx: &Context) -> Defaults {
    let version = ctx.version.unwrap_or(DEFAULT_VERSION);
    let persist = ctx.persist.unwrap_or(true);
    Defaults {
        image: Elasticsearch.image_for(version).unwrap_or_else(|_| format!("docker.elastic.co/elasticsearch/elasticsearch:{version}")),
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
        // No `memlock` ulimit: memory locking is off (`bootstrap.memory_lock`
        // unset), and an unlimited memlock fails on rootless Docker and Podman.
        ulimits: vec![("nofile".into(), 65_536, 65_536)],
        data_dir: "/usr/share/elasticsearch/data".into(),
        data_root: None,
    }
}

fn connection(_env: &IndexMap<String, String>) -> Connection {
    Connection { kind: Kind::Elasticsearch, port: PORT, internal_port: None, user: None, password: None, database: None }
}

/// The loader's hint in this image's terms.
fn hint(e: SeedError) -> SeedError {
    match e.cause {
        Some(seed::Cause::Unauthorized) => e.with_hint("security is on: set xpack.security.enabled=false for a dev node, or give credentials"),
        _ => e,
    }
}

/// `GET /_cluster/health` with status yellow or green.
async fn probe(addr: &str, http: &reqwest::Client) -> Result<(), ProbeError> {
    let r = http
        .get(format!("http://{addr}/_cluster/health"))
        .send()
        .await
        .map_err(|e| ProbeError::retry(format!("GET /_cluster/health: {}", seed::root_cause(&e))))?;
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
