//! Cross-object checks the schemas cannot make, over everything applied
//! together: Services must select some pod template and target ports its
//! containers declare; probes must use declared ports; env references must
//! name ConfigMaps/Secrets (and keys) that are applied. Pure: no cluster, no I/O.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::Finding;
use crate::k8s::manifest::Manifest;

/// A pod template inside a workload (or a bare Pod).
struct Template<'a> {
    m: &'a Manifest,
    /// Path of the template (`spec.template`; empty for a Pod).
    at: String,
    ns: String,
    labels: BTreeMap<String, String>,
    spec: &'a Value,
}

fn join(a: &str, b: &str) -> String {
    if a.is_empty() { b.to_string() } else { format!("{a}.{b}") }
}

fn str_map(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .map(|o| o.iter().map(|(k, v)| (k.clone(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))).collect())
        .unwrap_or_default()
}

fn arr(v: Option<&Value>) -> &[Value] {
    v.and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[])
}

fn templates<'a>(manifests: &'a [Manifest], default_ns: &str) -> Vec<Template<'a>> {
    let mut out = Vec::new();
    for m in manifests {
        let at = match m.kind() {
            "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" | "ReplicationController" => "spec.template",
            "CronJob" => "spec.jobTemplate.spec.template",
            "Pod" => "",
            _ => continue,
        };
        let pointer = if at.is_empty() { String::new() } else { format!("/{}", at.replace('.', "/")) };
        let Some(t) = m.value.pointer(&pointer) else { continue };
        let Some(spec) = t.get("spec") else { continue };
        out.push(Template {
            m,
            at: at.to_string(),
            ns: m.namespace().unwrap_or(default_ns).to_string(),
            labels: str_map(t.pointer("/metadata/labels")),
            spec,
        });
    }
    out
}

/// Keys of each applied ConfigMap and Secret: (kind, namespace, name) → keys.
fn config_objects(manifests: &[Manifest], default_ns: &str) -> BTreeMap<(String, String, String), BTreeSet<String>> {
    let mut out = BTreeMap::new();
    for m in manifests {
        let kind = m.kind();
        if kind != "ConfigMap" && kind != "Secret" {
            continue;
        }
        let mut keys = BTreeSet::new();
        for field in ["data", "binaryData", "stringData"] {
            if let Some(o) = m.value.get(field).and_then(Value::as_object) {
                keys.extend(o.keys().cloned());
            }
        }
        out.insert((kind.to_string(), m.namespace().unwrap_or(default_ns).to_string(), m.name().to_string()), keys);
    }
    out
}

/// The declared ports of a container: (name, number).
fn declared(c: &Value) -> Vec<(Option<String>, i64)> {
    arr(c.get("ports"))
        .iter()
        .map(|p| (p.get("name").and_then(Value::as_str).map(str::to_string), p.get("containerPort").and_then(Value::as_i64).unwrap_or(-1)))
        .collect()
}

fn describe_ports(ports: &[(Option<String>, i64)]) -> String {
    if ports.is_empty() {
        return "none".into();
    }
    ports.iter().map(|(n, p)| match n {
        Some(n) => format!("{n} ({p})"),
        None => p.to_string(),
    }).collect::<Vec<_>>().join(", ")
}

/// Run every check.
pub fn check(manifests: &[Manifest], default_ns: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    for m in manifests {
        out.extend(basics(m));
    }
    let tmpls = templates(manifests, default_ns);
    let configs = config_objects(manifests, default_ns);
    for m in manifests.iter().filter(|m| m.kind() == "Service") {
        out.extend(service(m, &tmpls, default_ns));
    }
    for t in &tmpls {
        out.extend(probes(t));
        out.extend(env_refs(t, &configs));
    }
    out
}

/// apiVersion, kind and metadata.name must be there for anything else to make sense.
fn basics(m: &Manifest) -> Vec<Finding> {
    let mut out = Vec::new();
    for (field, what) in [("apiVersion", "apiVersion (e.g. apps/v1)"), ("kind", "kind (e.g. Deployment)")] {
        if m.value.get(field).and_then(Value::as_str).is_none_or(str::is_empty) {
            out.push(Finding::error(m, "", format!("missing {what}")));
        }
    }
    let named = m.value.pointer("/metadata/name").and_then(Value::as_str).is_some_and(|s| !s.is_empty())
        || m.value.pointer("/metadata/generateName").and_then(Value::as_str).is_some();
    if !named {
        out.push(Finding::error(m, "metadata", "missing metadata.name"));
    }
    out
}

fn service(m: &Manifest, tmpls: &[Template], default_ns: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    if m.value.pointer("/spec/type").and_then(Value::as_str) == Some("ExternalName") {
        return out;
    }
    let selector = str_map(m.value.pointer("/spec/selector"));
    if selector.is_empty() {
        return out; // endpoints managed by hand
    }
    let ns = m.namespace().unwrap_or(default_ns);
    let matches = |t: &&Template| t.ns == ns && selector.iter().all(|(k, v)| t.labels.get(k) == Some(v));
    let selected: Vec<&Template> = tmpls.iter().filter(matches).collect();
    if selected.is_empty() {
        let wanted = selector.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ");
        let mut msg = format!("selects no pod: no pod template in namespace `{ns}` has the labels {wanted}");
        let nearest = tmpls
            .iter()
            .filter(|t| t.ns == ns)
            .max_by_key(|t| (selector.iter().filter(|(k, v)| t.labels.get(*k) == Some(*v)).count(), selector.keys().filter(|k| t.labels.contains_key(*k)).count()));
        if let Some(t) = nearest.filter(|t| selector.keys().any(|k| t.labels.contains_key(k))) {
            let theirs = selector.keys().filter_map(|k| t.labels.get(k).map(|v| format!("{k}={v}"))).collect::<Vec<_>>().join(", ");
            msg.push_str(&format!(" (closest: {} has {theirs})", t.m.id()));
        }
        out.push(Finding::error(m, "spec.selector", msg));
        return out;
    }
    let containers: Vec<(&Template, &Value)> = selected.iter().flat_map(|t| arr(t.spec.get("containers")).iter().map(move |c| (*t, c))).collect();
    let mut all_ports: Vec<(Option<String>, i64)> = containers.iter().flat_map(|(_, c)| declared(c)).collect();
    all_ports.sort();
    all_ports.dedup();
    let owners = selected.iter().map(|t| t.m.id()).collect::<BTreeSet<_>>().into_iter().collect::<Vec<_>>().join(", ");
    for (i, p) in arr(m.value.pointer("/spec/ports")).iter().enumerate() {
        // Without targetPort, the port number itself (a non-number `port` is the schema's to report).
        let target = p.get("targetPort").or_else(|| p.get("port").filter(|v| v.is_number()));
        let path = if p.get("targetPort").is_some() { format!("spec.ports[{i}].targetPort") } else { format!("spec.ports[{i}].port") };
        match target {
            Some(Value::String(name)) if name.parse::<i64>().is_err() => {
                let declared = all_ports.iter().any(|(n, _)| n.as_deref() == Some(name.as_str()));
                if !declared {
                    out.push(Finding::error(m, &path, format!("targetPort `{name}`: no container of {owners} declares a port with that name (declared: {})", describe_ports(&all_ports))));
                }
            }
            Some(v) => {
                let Some(n) = v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok())) else { continue };
                if all_ports.iter().any(|(_, p)| *p == n) {
                    continue;
                }
                if all_ports.is_empty() {
                    out.push(Finding::warning(m, &path, format!("targetPort {n}: the containers of {owners} declare no ports, so it cannot be checked")));
                } else {
                    out.push(Finding::error(m, &path, format!("targetPort {n}: no container of {owners} declares containerPort {n} (declared: {})", describe_ports(&all_ports))));
                }
            }
            None => {}
        }
    }
    out
}

fn probes(t: &Template) -> Vec<Finding> {
    let mut out = Vec::new();
    for (j, c) in arr(t.spec.get("containers")).iter().enumerate() {
        let ports = declared(c);
        let cname = c.get("name").and_then(Value::as_str).unwrap_or("?");
        for probe in ["startupProbe", "readinessProbe", "livenessProbe"] {
            for handler in ["httpGet", "tcpSocket", "grpc"] {
                let Some(port) = c.get(probe).and_then(|p| p.get(handler)).and_then(|h| h.get("port")) else { continue };
                let path = join(&t.at, &format!("spec.containers[{j}].{probe}.{handler}.port"));
                match port {
                    Value::String(name) if name.parse::<i64>().is_err() => {
                        if !ports.iter().any(|(n, _)| n.as_deref() == Some(name.as_str())) {
                            out.push(Finding::error(t.m, &path, format!("{probe} uses port `{name}`, but container `{cname}` declares no port with that name (declared: {})", describe_ports(&ports))));
                        }
                    }
                    v => {
                        let Some(n) = v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok())) else { continue };
                        if ports.iter().any(|(_, p)| *p == n) {
                            continue;
                        }
                        if ports.is_empty() {
                            out.push(Finding::warning(t.m, &path, format!("{probe} uses port {n}, but container `{cname}` declares no ports")));
                        } else {
                            out.push(Finding::error(t.m, &path, format!("{probe} uses port {n}, which container `{cname}` does not declare (declared: {})", describe_ports(&ports))));
                        }
                    }
                }
            }
        }
    }
    out
}

fn env_refs(t: &Template, configs: &BTreeMap<(String, String, String), BTreeSet<String>>) -> Vec<Finding> {
    let mut out = Vec::new();
    let lookup = |kind: &str, name: &str| configs.get(&(kind.to_string(), t.ns.clone(), name.to_string()));
    let optional = |r: &Value| r.get("optional").and_then(Value::as_bool).unwrap_or(false);
    for list in ["initContainers", "containers"] {
        for (j, c) in arr(t.spec.get(list)).iter().enumerate() {
            let cpath = join(&t.at, &format!("spec.{list}[{j}]"));
            for (k, e) in arr(c.get("env")).iter().enumerate() {
                for (field, kind) in [("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")] {
                    let Some(r) = e.get("valueFrom").and_then(|v| v.get(field)) else { continue };
                    if optional(r) {
                        continue;
                    }
                    let name = r.get("name").and_then(Value::as_str).unwrap_or("");
                    let key = r.get("key").and_then(Value::as_str).unwrap_or("");
                    let path = format!("{cpath}.env[{k}].valueFrom.{field}");
                    match lookup(kind, name) {
                        None => out.push(Finding::error(t.m, &path, format!("{kind} `{name}` is not among the applied manifests (namespace `{}`)", t.ns))),
                        Some(keys) if !keys.contains(key) => out.push(Finding::error(
                            t.m,
                            &format!("{path}.key"),
                            format!("{kind} `{name}` has no key `{key}` (keys: {})", if keys.is_empty() { "none".to_string() } else { keys.iter().cloned().collect::<Vec<_>>().join(", ") }),
                        )),
                        Some(_) => {}
                    }
                }
            }
            for (k, e) in arr(c.get("envFrom")).iter().enumerate() {
                for (field, kind) in [("configMapRef", "ConfigMap"), ("secretRef", "Secret")] {
                    let Some(r) = e.get(field) else { continue };
                    let name = r.get("name").and_then(Value::as_str).unwrap_or("");
                    if !optional(r) && lookup(kind, name).is_none() {
                        out.push(Finding::error(t.m, &format!("{cpath}.envFrom[{k}].{field}"), format!("{kind} `{name}` is not among the applied manifests (namespace `{}`)", t.ns)));
                    }
                }
            }
        }
    }
    out
}
