//! Merging compose files (`-f a.yaml -f b.yaml`, `extends`) with compose's
//! rules — a port of compose-go `override/merge.go` and `override/uncity.go`
//! (v2.4, the version Compose 2.26.1 is built with in Debian):
//!
//! - maps merge key by key; scalars are replaced; lists are appended;
//! - `command`, `entrypoint` and `healthcheck.test` are replaced whole;
//! - `environment`, `labels`, `env_file`, `dns`, `tmpfs`, `build.args`… become
//!   `KEY=value` lists and are appended, then de-duplicated by key (the later
//!   value wins, at the earlier position);
//! - `depends_on` and `networks` (list or map) merge as maps; `build` as a map
//!   (a string is `{context: …}`); `extra_hosts` appends what is not already there;
//! - `ports` are de-duplicated by `[ip:]published:target/protocol`, `volumes` by
//!   target, `expose`, `cap_add`, `profiles`… by value (`enforce_unicity`).
//!
//! Errors are `(path, message)`; the caller adds the file position.

use serde_yaml::{Mapping, Value};

use super::tree::{YPath, s};
use super::values::go_scalar_string;

type MergeResult = Result<Value, (String, String)>;

#[derive(Clone, Copy)]
enum Rule {
    ToSequence,
    Override,
    Build,
    DependsOn,
    Networks,
    ExtraHosts,
    Ulimit,
    Logging,
    IpamConfig,
}

/// compose-go `mergeSpecials`.
const SPECIALS: &[(&str, Rule)] = &[
    ("networks.*.ipam.config", Rule::IpamConfig),
    ("networks.*.labels", Rule::ToSequence),
    ("volumes.*.labels", Rule::ToSequence),
    ("services.*.annotations", Rule::ToSequence),
    ("services.*.build", Rule::Build),
    ("services.*.build.args", Rule::ToSequence),
    ("services.*.build.additional_contexts", Rule::ToSequence),
    ("services.*.build.extra_hosts", Rule::ExtraHosts),
    ("services.*.build.labels", Rule::ToSequence),
    ("services.*.command", Rule::Override),
    ("services.*.depends_on", Rule::DependsOn),
    ("services.*.deploy.labels", Rule::ToSequence),
    ("services.*.dns", Rule::ToSequence),
    ("services.*.dns_opt", Rule::ToSequence),
    ("services.*.dns_search", Rule::ToSequence),
    ("services.*.entrypoint", Rule::Override),
    ("services.*.env_file", Rule::ToSequence),
    ("services.*.label_file", Rule::ToSequence),
    ("services.*.environment", Rule::ToSequence),
    ("services.*.extra_hosts", Rule::ExtraHosts),
    ("services.*.healthcheck.test", Rule::Override),
    ("services.*.labels", Rule::ToSequence),
    ("services.*.logging", Rule::Logging),
    ("services.*.networks", Rule::Networks),
    ("services.*.sysctls", Rule::ToSequence),
    ("services.*.tmpfs", Rule::ToSequence),
    ("services.*.ulimits.*", Rule::Ulimit),
];

/// Merges `over` into `base` (both whole documents).
pub fn merge_documents(base: Mapping, over: Mapping) -> Result<Mapping, (String, String)> {
    match merge(Value::Mapping(base), Value::Mapping(over), &YPath::root())? {
        Value::Mapping(m) => Ok(m),
        _ => Err((String::new(), "cannot merge: the top level is not a map".into())),
    }
}

/// Merges an extending service over its base (`extends`), with the service rules.
pub fn extend_service(base: Mapping, service: Mapping) -> Result<Mapping, (String, String)> {
    match merge(Value::Mapping(base), Value::Mapping(service), &YPath::of("services.x"))? {
        Value::Mapping(m) => Ok(m),
        _ => Err((String::new(), "cannot merge a service that is not a map".into())),
    }
}

fn merge(e: Value, o: Value, p: &YPath) -> MergeResult {
    if let Some((_, rule)) = SPECIALS.iter().find(|(pat, _)| p.matches(pat)) {
        return special(*rule, e, o, p);
    }
    if o.is_null() {
        return Ok(e);
    }
    match (e, o) {
        (Value::Mapping(m), Value::Mapping(other)) => merge_mappings(m, other, p).map(Value::Mapping),
        (Value::Mapping(_), other) => Err((p.to_string(), format!("cannot override {p} (a map) with {}", super::tree::kind(&other)))),
        (Value::Sequence(mut items), Value::Sequence(other)) => {
            items.extend(other);
            Ok(Value::Sequence(items))
        }
        (Value::Sequence(_), other) => Err((p.to_string(), format!("cannot override {p} (a list) with {}", super::tree::kind(&other)))),
        (_, o) => Ok(o),
    }
}

fn merge_mappings(mut m: Mapping, other: Mapping, p: &YPath) -> Result<Mapping, (String, String)> {
    for (k, v) in other {
        let key = k.as_str().unwrap_or_default().to_string();
        match m.get_mut(&k) {
            Some(slot) if !key.starts_with("x-") => {
                let existing = std::mem::take(slot);
                *slot = merge(existing, v, &p.key(&key))?;
            }
            _ => {
                m.insert(k, v);
            }
        }
    }
    Ok(m)
}

fn special(rule: Rule, e: Value, o: Value, p: &YPath) -> MergeResult {
    match rule {
        Rule::Override => Ok(o),
        Rule::ToSequence => {
            let mut right = into_sequence(&e);
            right.extend(into_sequence(&o));
            Ok(Value::Sequence(right))
        }
        Rule::ExtraHosts => {
            let mut right = into_sequence(&e);
            let left: Vec<Value> = into_sequence(&o).into_iter().filter(|v| !right.contains(v)).collect();
            right.extend(left);
            Ok(Value::Sequence(right))
        }
        Rule::Build => {
            let to_build = |v: Value| match v {
                Value::String(c) => {
                    let mut m = Mapping::new();
                    m.insert(s("context"), Value::String(c));
                    m
                }
                Value::Mapping(m) => m,
                _ => Mapping::new(),
            };
            merge_mappings(to_build(e), to_build(o), p).map(Value::Mapping)
        }
        Rule::DependsOn => {
            let default = || {
                let mut d = Mapping::new();
                d.insert(s("condition"), s("service_started"));
                d.insert(s("required"), Value::Bool(true));
                Value::Mapping(d)
            };
            merge_mappings(into_mapping(e, default), into_mapping(o, default), p).map(Value::Mapping)
        }
        Rule::Networks => merge_mappings(into_mapping(e, || Value::Null), into_mapping(o, || Value::Null), p).map(Value::Mapping),
        // compose-go merges the override with itself: the override replaces the base.
        Rule::Ulimit => Ok(o),
        Rule::Logging => match (e, o) {
            (Value::Mapping(base), Value::Mapping(over)) => {
                let same = match (over.get("driver"), base.get("driver")) {
                    (Some(a), Some(b)) => a == b,
                    _ => true,
                };
                if same { merge_mappings(base, over, p).map(Value::Mapping) } else { Ok(Value::Mapping(over)) }
            }
            (e, Value::Null) => Ok(e),
            (_, o) => Ok(o),
        },
        Rule::IpamConfig => merge_ipam_config(e, o, p),
    }
}

/// compose-go `convertIntoSequence`: a map becomes sorted `KEY=value` / `KEY` strings.
fn into_sequence(v: &Value) -> Vec<Value> {
    match v {
        Value::Mapping(m) => {
            let mut seq: Vec<String> = Vec::new();
            for (k, val) in m {
                let k = k.as_str().unwrap_or_default();
                match val {
                    Value::Null => seq.push(k.to_string()),
                    Value::Sequence(items) => {
                        for item in items {
                            seq.push(format!("{k}={}", go_scalar_string(item).unwrap_or_default()));
                        }
                    }
                    other => seq.push(format!("{k}={}", go_scalar_string(other).unwrap_or_default())),
                }
            }
            seq.sort();
            seq.into_iter().map(Value::String).collect()
        }
        Value::Sequence(items) => items.clone(),
        Value::String(_) => vec![v.clone()],
        _ => Vec::new(),
    }
}

/// compose-go `convertIntoMapping`: a list of names becomes a map of `default()`.
fn into_mapping(v: Value, default: impl Fn() -> Value) -> Mapping {
    match v {
        Value::Mapping(m) => m,
        Value::Sequence(items) => {
            let mut m = Mapping::new();
            for item in items {
                if let Some(name) = go_scalar_string(&item) {
                    m.insert(Value::String(name), default());
                }
            }
            m
        }
        _ => Mapping::new(),
    }
}

fn merge_ipam_config(e: Value, o: Value, p: &YPath) -> MergeResult {
    let (Value::Sequence(originals), Value::Sequence(overrides)) = (e, o.clone()) else {
        return Ok(o);
    };
    let subnet = |m: &Mapping| m.get("subnet").cloned();
    let mut configs: Vec<Mapping> = Vec::new();
    for original in originals {
        let right = into_mapping(original, || Value::Null);
        for over in &overrides {
            let left = into_mapping(over.clone(), || Value::Null);
            if subnet(&left) != subnet(&right) && !configs.iter().any(|c| subnet(c) == subnet(&left)) {
                configs.push(left);
                continue;
            }
            let merged = merge_mappings(right.clone(), left, p)?;
            match configs.iter().position(|c| subnet(c) == subnet(&merged)) {
                Some(i) => configs[i] = merged,
                None => configs.push(merged),
            }
        }
    }
    Ok(Value::Sequence(configs.into_iter().map(Value::Mapping).collect()))
}

#[derive(Clone, Copy)]
enum Indexer {
    KeyValue,
    Volume,
    Expose,
    Port,
    EnvFile,
    Mount(&'static str),
}

/// compose-go `unique` (v2.4): lists de-duplicated by an index.
const UNIQUE: &[(&str, Indexer)] = &[
    ("networks.*.labels", Indexer::KeyValue),
    ("networks.*.ipam.options", Indexer::KeyValue),
    ("services.*.annotations", Indexer::KeyValue),
    ("services.*.build.args", Indexer::KeyValue),
    ("services.*.build.additional_contexts", Indexer::KeyValue),
    ("services.*.build.platform", Indexer::KeyValue),
    ("services.*.build.tags", Indexer::KeyValue),
    ("services.*.build.labels", Indexer::KeyValue),
    ("services.*.cap_add", Indexer::KeyValue),
    ("services.*.cap_drop", Indexer::KeyValue),
    ("services.*.configs", Indexer::Mount("")),
    ("services.*.deploy.labels", Indexer::KeyValue),
    ("services.*.dns", Indexer::KeyValue),
    ("services.*.dns_opt", Indexer::KeyValue),
    ("services.*.dns_search", Indexer::KeyValue),
    ("services.*.environment", Indexer::KeyValue),
    ("services.*.env_file", Indexer::EnvFile),
    ("services.*.expose", Indexer::Expose),
    ("services.*.labels", Indexer::KeyValue),
    ("services.*.links", Indexer::KeyValue),
    ("services.*.networks.*.aliases", Indexer::KeyValue),
    ("services.*.networks.*.link_local_ips", Indexer::KeyValue),
    ("services.*.ports", Indexer::Port),
    ("services.*.profiles", Indexer::KeyValue),
    ("services.*.secrets", Indexer::Mount("/run/secrets")),
    ("services.*.sysctls", Indexer::KeyValue),
    ("services.*.tmpfs", Indexer::KeyValue),
    ("services.*.volumes", Indexer::Volume),
];

/// Removes re-definitions from the lists compose indexes (the later entry
/// replaces the earlier one, at the earlier position).
pub fn enforce_unicity(v: &mut Value, p: &YPath) -> Result<(), (String, String)> {
    match v {
        Value::Mapping(m) => {
            for (k, item) in m.iter_mut() {
                if let Some(k) = k.as_str() {
                    enforce_unicity(item, &p.key(k))?;
                }
            }
            Ok(())
        }
        Value::Sequence(items) => {
            let Some((_, indexer)) = UNIQUE.iter().find(|(pat, _)| p.matches(pat)) else {
                return Ok(());
            };
            let mut out: Vec<Value> = Vec::with_capacity(items.len());
            let mut seen: Vec<(String, usize)> = Vec::new();
            for (i, entry) in std::mem::take(items).into_iter().enumerate() {
                let key = index_of(*indexer, &entry, &p.index(i))?;
                match seen.iter().find(|(k, _)| *k == key) {
                    Some((_, j)) => out[*j] = entry,
                    None => {
                        seen.push((key, out.len()));
                        out.push(entry);
                    }
                }
            }
            *items = out;
            Ok(())
        }
        _ => Ok(()),
    }
}

fn index_of(indexer: Indexer, v: &Value, p: &YPath) -> Result<String, (String, String)> {
    let bad = |what: &str| Err((p.to_string(), format!("{p}: unexpected {what} {}", super::tree::kind(v))));
    match indexer {
        Indexer::KeyValue => match v {
            Value::String(s) => Ok(s.split_once('=').map(|(k, _)| k).unwrap_or(s).to_string()),
            _ => bad("entry:"),
        },
        Indexer::Expose => match v {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) if n.is_i64() || n.is_u64() => Ok(n.to_string()),
            _ => bad("expose value:"),
        },
        Indexer::EnvFile => match v {
            Value::String(s) => Ok(s.clone()),
            Value::Mapping(m) => match m.get("path") {
                Some(path) => Ok(go_scalar_string(path).unwrap_or_default()),
                None => Err((p.to_string(), format!("environment path attribute {p} is missing"))),
            },
            _ => Ok(String::new()),
        },
        Indexer::Mount(default) => match v {
            Value::String(s) => Ok(format!("{default}/{s}")),
            Value::Mapping(m) => Ok(match m.get("target") {
                Some(t) => go_scalar_string(t).unwrap_or_default(),
                None => format!("{default}/{}", m.get("source").and_then(go_scalar_string).unwrap_or_default()),
            }),
            _ => bad("mount:"),
        },
        Indexer::Volume => match v {
            Value::Mapping(m) => match m.get("target").and_then(Value::as_str) {
                Some(t) => Ok(t.to_string()),
                None => Err((p.to_string(), format!("service volume {p} is missing a mount target"))),
            },
            Value::String(spec) => super::canonical::parse_short_volume(spec).map(|v| v.target).map_err(|e| (p.to_string(), e)),
            _ => Ok(String::new()),
        },
        Indexer::Port => match v {
            Value::Number(n) => Ok(n.to_string()),
            Value::String(s) => Ok(s.clone()),
            Value::Mapping(m) => {
                let Some(target) = m.get("target") else {
                    return Err((p.to_string(), format!("service ports {p} is missing a target port")));
                };
                // Go's `%s` / `%d` of whatever the entry holds (compose's own formatting,
                // so `published: 8080` and `"8080:80"` do not collide, as in compose).
                let published = match m.get("published") {
                    None | Some(Value::Null) => "%!s(<nil>)".to_string(),
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Number(n)) => format!("%!s(int={n})"),
                    Some(other) => go_scalar_string(other).unwrap_or_default(),
                };
                let host = m.get("host_ip").and_then(go_scalar_string).unwrap_or_else(|| "0.0.0.0".into());
                let protocol = m.get("protocol").and_then(go_scalar_string).unwrap_or_else(|| "tcp".into());
                let target = match target {
                    Value::Number(n) => n.to_string(),
                    other => format!("%!d(string={})", go_scalar_string(other).unwrap_or_default()),
                };
                Ok(format!("{host}:{published}:{target}/{protocol}"))
            }
            _ => Ok(String::new()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn y(s: &str) -> Mapping {
        serde_yaml::from_str(s).unwrap()
    }

    fn merged(a: &str, b: &str) -> Value {
        let mut v = Value::Mapping(merge_documents(y(a), y(b)).unwrap());
        enforce_unicity(&mut v, &YPath::root()).unwrap();
        v
    }

    fn strs(v: &Value) -> Vec<String> {
        v.as_sequence().unwrap().iter().map(|x| x.as_str().unwrap().to_string()).collect()
    }

    #[test]
    fn scalars_replaced_maps_merged_lists_appended() {
        let m = merged(
            "services:\n  a:\n    image: one\n    ports: [\"80:80\"]\n    healthcheck: {test: [CMD, a], interval: 5s}\n    command: [a, b]\n",
            "services:\n  a:\n    image: two\n    ports: [\"81:81\", \"80:80\"]\n    healthcheck: {test: [CMD, b]}\n    command: c\n",
        );
        let a = &m["services"]["a"];
        assert_eq!(a["image"], s("two"));
        assert_eq!(strs(&a["ports"]), ["80:80", "81:81"]);
        assert_eq!(a["healthcheck"]["interval"], s("5s"));
        assert_eq!(strs(&a["healthcheck"]["test"]), ["CMD", "b"]);
        assert_eq!(a["command"], s("c"));
    }

    #[test]
    fn environment_and_labels_by_key() {
        let m = merged(
            "services:\n  a:\n    environment: {B: 1, A: x, N: null}\n    labels: [\"l=1\"]\n",
            "services:\n  a:\n    environment: [\"A=y\", C]\n    labels: {l: 2, m: true}\n",
        );
        let a = &m["services"]["a"];
        assert_eq!(strs(&a["environment"]), ["A=y", "B=1", "N", "C"]);
        assert_eq!(strs(&a["labels"]), ["l=2", "m=true"]);
    }

    #[test]
    fn depends_on_networks_build_extra_hosts() {
        let m = merged(
            "services:\n  a:\n    depends_on: [db]\n    networks: [front]\n    build: ./app\n    extra_hosts: [\"a:1.1.1.1\"]\n",
            "services:\n  a:\n    depends_on: {db: {condition: service_healthy}, cache: {condition: service_started}}\n    networks: {back: {aliases: [x]}}\n    build: {target: dev}\n    extra_hosts: [\"a:1.1.1.1\", \"b:2.2.2.2\"]\n",
        );
        let a = &m["services"]["a"];
        assert_eq!(a["depends_on"]["db"]["condition"], s("service_healthy"));
        assert_eq!(a["depends_on"]["db"]["required"], Value::Bool(true));
        assert_eq!(a["depends_on"]["cache"]["condition"], s("service_started"));
        assert!(a["networks"]["front"].is_null());
        assert_eq!(a["networks"]["back"]["aliases"][0], s("x"));
        assert_eq!(a["build"]["context"], s("./app"));
        assert_eq!(a["build"]["target"], s("dev"));
        assert_eq!(strs(&a["extra_hosts"]), ["a:1.1.1.1", "b:2.2.2.2"]);
    }

    #[test]
    fn volumes_by_target_and_x_keys_replaced() {
        let m = merged(
            "x-common: {a: 1}\nservices:\n  a:\n    volumes: [\"data:/data\", \"./src:/src\"]\n",
            "x-common: {b: 2}\nservices:\n  a:\n    volumes: [{type: bind, source: ./other, target: /data}]\n",
        );
        let vols = m["services"]["a"]["volumes"].as_sequence().unwrap();
        assert_eq!(vols.len(), 2);
        assert_eq!(vols[0]["source"], s("./other"));
        assert_eq!(vols[1], s("./src:/src"));
        assert!(m["x-common"].get("a").is_none(), "x- keys are replaced, not merged");
    }

    #[test]
    fn port_maps_dedup_like_compose() {
        let mut v: Value = serde_yaml::from_str(
            "services:\n  a:\n    ports:\n      - {target: 80, published: \"8080\", protocol: tcp}\n      - {target: 80, published: \"8080\", protocol: tcp, host_ip: 0.0.0.0}\n      - {target: 80, published: 8080}\n",
        )
        .unwrap();
        enforce_unicity(&mut v, &YPath::root()).unwrap();
        assert_eq!(v["services"]["a"]["ports"].as_sequence().unwrap().len(), 2);
    }

    #[test]
    fn type_mismatch_is_an_error() {
        let e = merge_documents(y("services:\n  a:\n    deploy: {replicas: 1}\n"), y("services:\n  a:\n    deploy: [1]\n")).unwrap_err();
        assert_eq!(e.0, "services.a.deploy");
        assert!(e.1.contains("cannot override"), "{}", e.1);
    }
}
