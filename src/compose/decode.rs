//! The normalized YAML tree → the typed model (compose-go's `Transform` into
//! its Go structs, with the same conversions: `fmt.Sprint` for values that must
//! be strings, Go durations, `go-units` sizes, shell-split commands).
//!
//! Wrong shapes are errors at the value's file:line:column.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_yaml::{Mapping, Value};

use super::model::*;
use super::shellwords;
use super::source::ComposeLocations;
use super::tree::{YPath, kind};
use super::values::{go_scalar_string, parse_go_duration, ram_in_bytes};
use crate::yaml::ConfigError;

mod deploy;

type R<T> = Result<T, ConfigError>;

/// Decodes with error positions from `locs`; collects warnings.
pub struct Decoder<'a> {
    pub locs: &'a ComposeLocations,
    pub warnings: Vec<String>,
}

const CONDITIONS: &[&str] = &["service_started", "service_healthy", "service_completed_successfully"];
const WATCH_ACTIONS: &[&str] = &["rebuild", "sync", "restart", "sync+restart", "sync+exec"];

impl Decoder<'_> {
    fn err(&self, p: &YPath, message: impl Into<String>, hint: Option<&str>) -> ConfigError {
        self.locs.error(&p.to_string(), message, hint.map(String::from))
    }

    fn type_err(&self, p: &YPath, want: &str, v: &Value) -> ConfigError {
        self.err(p, format!("{p} must be {want}, found {}", kind(v)), None)
    }

    /// A string field; numbers become strings (compose casts ints).
    fn string(&self, v: &Value, p: &YPath) -> R<Option<String>> {
        match v {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s.clone())),
            Value::Number(n) if n.is_i64() || n.is_u64() => Ok(Some(n.to_string())),
            other => Err(self.type_err(p, "a string", other)),
        }
    }

    fn bool(&self, v: &Value, p: &YPath) -> R<Option<bool>> {
        match v {
            Value::Null => Ok(None),
            Value::Bool(b) => Ok(Some(*b)),
            other => Err(self.err(p, format!("{p} must be a boolean, found {}", kind(other)), Some("write true or false"))),
        }
    }

    /// compose `StringList`: a string or a list of strings.
    fn string_list(&self, v: &Value, p: &YPath) -> R<Vec<String>> {
        match v {
            Value::Null => Ok(Vec::new()),
            Value::String(s) => Ok(vec![s.clone()]),
            Value::Sequence(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| match item {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(self.type_err(&p.index(i), "a string", other)),
                })
                .collect(),
            other => Err(self.type_err(p, "a string or a list of strings", other)),
        }
    }

    /// compose `StringOrNumberList` (`expose`).
    fn string_or_number_list(&self, v: &Value, p: &YPath) -> R<Vec<String>> {
        match v {
            Value::Null => Ok(Vec::new()),
            Value::String(s) => Ok(vec![s.clone()]),
            Value::Sequence(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| go_scalar_string(item).ok_or_else(|| self.type_err(&p.index(i), "a string or a number", item)))
                .collect(),
            other => Err(self.type_err(p, "a list", other)),
        }
    }

    fn duration(&self, v: &Value, p: &YPath) -> R<Option<GoDuration>> {
        if v.is_null() {
            return Ok(None);
        }
        let text = go_scalar_string(v).ok_or_else(|| self.type_err(p, "a duration", v))?;
        parse_go_duration(&text)
            .map(|d| Some(GoDuration(d)))
            .map_err(|e| self.err(p, format!("{p}: {e}"), Some("write a duration with a unit, e.g. 30s, 1m30s, 500ms")))
    }

    fn bytes(&self, v: &Value, p: &YPath) -> R<Option<ByteSize>> {
        match v {
            Value::Null => Ok(None),
            Value::Number(n) => match n.as_i64() {
                Some(b) => Ok(Some(ByteSize(b))),
                None => Err(self.type_err(p, "a whole number of bytes or a size like 64m", v)),
            },
            Value::String(s) => ram_in_bytes(s)
                .map(|b| Some(ByteSize(b)))
                .map_err(|e| self.err(p, format!("{p}: {e}"), Some("write a size like 64m, 1g or a number of bytes"))),
            other => Err(self.type_err(p, "a size", other)),
        }
    }

    /// A list of maps (null = empty; null items skipped), each decoded by `f` with its path.
    fn list_of_maps<T>(&self, v: &Value, p: &YPath, mut f: impl FnMut(&Mapping, &YPath) -> R<T>) -> R<Vec<T>> {
        let Value::Sequence(items) = v else {
            return if v.is_null() { Ok(Vec::new()) } else { Err(self.type_err(p, "a list", v)) };
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let ip = p.index(i);
            if let Some(m) = self.map(item, &ip)? {
                out.push(f(m, &ip)?);
            }
        }
        Ok(out)
    }

    fn map<'v>(&self, v: &'v Value, p: &YPath) -> R<Option<&'v Mapping>> {
        match v {
            Value::Null => Ok(None),
            Value::Mapping(m) => Ok(Some(m)),
            other => Err(self.type_err(p, "a map", other)),
        }
    }

    /// `command` / `entrypoint`: a string is split like compose (go-shellwords).
    fn command(&mut self, v: &Value, p: &YPath, service: &str) -> R<Option<Vec<String>>> {
        match v {
            Value::Null => Ok(None),
            Value::String(s) => {
                let split = shellwords::split(s).map_err(|e| {
                    self.err(p, format!("{p}: {e}"), Some("check the quotes, or write the command as a list: [\"sh\", \"-c\", \"…\"]"))
                })?;
                if let Some(at) = split.stopped_at {
                    let op: String = s[at..].chars().take_while(|c| matches!(c, ';' | '&' | '|' | '<' | '>')).collect();
                    self.warnings.push(format!(
                        "service `{service}`: {p} {s:?} is not run by a shell: like compose, devenv runs {:?} and drops everything from `{op}` on; write [\"sh\", \"-c\", …] to run it all",
                        split.args
                    ));
                }
                Ok(Some(split.args))
            }
            Value::Sequence(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| match item {
                    Value::String(s) => Ok(s.clone()),
                    Value::Number(_) | Value::Bool(_) => Ok(go_scalar_string(item).unwrap_or_default()),
                    other => Err(self.type_err(&p.index(i), "a string", other)),
                })
                .collect::<R<Vec<_>>>()
                .map(Some),
            other => Err(self.type_err(p, "a string or a list", other)),
        }
    }

    /// compose `MappingWithEquals` (`environment`, `build.args`).
    fn mapping_with_equals(&self, v: &Value, p: &YPath) -> R<BTreeMap<String, Option<String>>> {
        let mut out = BTreeMap::new();
        match v {
            Value::Null => {}
            Value::Mapping(m) => {
                for (k, val) in m {
                    let k = k.as_str().unwrap_or_default().to_string();
                    let val = match val {
                        Value::Null => None,
                        Value::Sequence(_) | Value::Mapping(_) => {
                            return Err(self.type_err(&p.key(&k), "a string, a number or a boolean", val));
                        }
                        other => go_scalar_string(other),
                    };
                    out.insert(k, val);
                }
            }
            Value::Sequence(items) => {
                for (i, item) in items.iter().enumerate() {
                    let s = go_scalar_string(item).ok_or_else(|| self.type_err(&p.index(i), "a `KEY=value` string", item))?;
                    match s.split_once('=') {
                        Some((k, val)) => out.insert(k.to_string(), Some(val.to_string())),
                        None => out.insert(s, None),
                    };
                }
            }
            other => return Err(self.type_err(p, "a map or a list of KEY=value", other)),
        }
        Ok(out)
    }

    /// compose `Labels` (also `Mapping` for driver options).
    fn labels(&self, v: &Value, p: &YPath) -> R<BTreeMap<String, String>> {
        let mut out = BTreeMap::new();
        match v {
            Value::Null => {}
            Value::Mapping(m) => {
                for (k, val) in m {
                    let k = k.as_str().unwrap_or_default().to_string();
                    let val = match val {
                        Value::Sequence(_) | Value::Mapping(_) => return Err(self.type_err(&p.key(&k), "a string", val)),
                        other => go_scalar_string(other).unwrap_or_default(),
                    };
                    out.insert(k, val);
                }
            }
            Value::Sequence(items) => {
                for (i, item) in items.iter().enumerate() {
                    let s = go_scalar_string(item).ok_or_else(|| self.type_err(&p.index(i), "a `key=value` string", item))?;
                    let (k, val) = s.split_once('=').unwrap_or((s.as_str(), ""));
                    out.insert(k.to_string(), val.to_string());
                }
            }
            other => return Err(self.type_err(p, "a map or a list of key=value", other)),
        }
        Ok(out)
    }

    /// compose `HostsList`: `host=ip` / `host:ip` entries or a map; printed sorted as `host=ip`.
    fn extra_hosts(&self, v: &Value, p: &YPath) -> R<Vec<String>> {
        let mut hosts: Vec<(String, String)> = Vec::new();
        match v {
            Value::Null => {}
            Value::Mapping(m) => {
                for (k, val) in m {
                    let host = k.as_str().unwrap_or_default().to_string();
                    match val {
                        Value::Sequence(ips) => {
                            for ip in ips {
                                hosts.push((host.clone(), go_scalar_string(ip).unwrap_or_default()));
                            }
                        }
                        other => hosts.push((host, go_scalar_string(other).unwrap_or_default())),
                    }
                }
            }
            Value::Sequence(items) => {
                for (i, item) in items.iter().enumerate() {
                    let s = go_scalar_string(item).ok_or_else(|| self.type_err(&p.index(i), "a `host=ip` string", item))?;
                    let Some((host, ips)) = s.split_once('=').or_else(|| s.split_once(':')) else {
                        return Err(self.err(
                            &p.index(i),
                            format!("invalid additional host, missing IP: {s}"),
                            Some("write host=ip (or host:ip)"),
                        ));
                    };
                    for ip in ips.split(',') {
                        hosts.push((host.to_string(), ip.to_string()));
                    }
                }
            }
            other => return Err(self.type_err(p, "a list or a map", other)),
        }
        let mut out = Vec::with_capacity(hosts.len());
        for (host, ip) in hosts {
            if host.is_empty() || host.contains([':', '=']) {
                return Err(self.err(p, format!("bad host name '{host}'"), None));
            }
            let ip = if ip.len() > 2 && ip.starts_with('[') && ip.ends_with(']') { ip[1..ip.len() - 1].to_string() } else { ip };
            out.push(format!("{host}={ip}"));
        }
        out.sort();
        Ok(out)
    }

    pub fn service(&mut self, name: &str, m: &Mapping) -> R<ComposeService> {
        let p = YPath::of("services").key(name);
        let mut svc = ComposeService::default();
        for (k, v) in m {
            let Some(key) = k.as_str() else { continue };
            let kp = p.key(key);
            match key {
                "image" => svc.image = self.string(v, &kp)?,
                "platform" => svc.platform = self.string(v, &kp)?,
                "build" => svc.build = self.build(v, &kp)?,
                "command" => svc.command = self.command(v, &kp, name)?,
                "entrypoint" => svc.entrypoint = self.command(v, &kp, name)?,
                "environment" => svc.environment = self.mapping_with_equals(v, &kp)?,
                "env_file" => svc.env_files = self.env_files(v, &kp)?,
                "ports" => svc.ports = self.ports(v, &kp)?,
                "expose" => svc.expose = self.string_or_number_list(v, &kp)?,
                "volumes" => svc.volumes = self.volumes(v, &kp)?,
                "depends_on" => svc.depends_on = self.depends_on(v, &kp)?,
                "healthcheck" => svc.healthcheck = self.healthcheck(v, &kp)?,
                "restart" => svc.restart = self.string(v, &kp)?,
                "hostname" => svc.hostname = self.string(v, &kp)?,
                "container_name" => svc.container_name = self.string(v, &kp)?,
                "stop_signal" => svc.stop_signal = self.string(v, &kp)?,
                "user" => svc.user = self.string(v, &kp)?,
                "working_dir" => svc.working_dir = self.string(v, &kp)?,
                "profiles" => svc.profiles = self.string_list(v, &kp)?,
                "cap_add" => svc.cap_add = self.string_list(v, &kp)?,
                "cap_drop" => svc.cap_drop = self.string_list(v, &kp)?,
                "tmpfs" => svc.tmpfs = self.string_list(v, &kp)?,
                "labels" => svc.labels = self.labels(v, &kp)?,
                "extra_hosts" => svc.extra_hosts = self.extra_hosts(v, &kp)?,
                "networks" => svc.networks = self.service_networks(v, &kp)?,
                "stop_grace_period" => svc.stop_grace_period = self.duration(v, &kp)?,
                "ulimits" => svc.ulimits = self.ulimits(v, &kp)?,
                "init" => svc.init = self.bool(v, &kp)?,
                "tty" => svc.tty = self.bool(v, &kp)?.unwrap_or(false),
                "stdin_open" => svc.stdin_open = self.bool(v, &kp)?.unwrap_or(false),
                "privileged" => svc.privileged = self.bool(v, &kp)?.unwrap_or(false),
                "shm_size" => svc.shm_size = self.bytes(v, &kp)?,
                "develop" => svc.develop = self.develop(v, &kp)?,
                "volumes_from" => svc.volumes_from = self.string_list(v, &kp)?,
                "cpus" => svc.cpus = self.float(v, &kp)?,
                "mem_limit" => svc.mem_limit = self.bytes(v, &kp)?,
                "mem_reservation" => svc.mem_reservation = self.bytes(v, &kp)?,
                "pids_limit" => svc.pids_limit = self.int(v, &kp)?,
                "deploy" => svc.deploy = self.deploy(v, &kp)?,
                "scale" => svc.scale = self.int(v, &kp)?,
                "ipc" => svc.ipc = self.string(v, &kp)?,
                "pid" => svc.pid = self.string(v, &kp)?,
                "network_mode" => svc.network_mode = self.string(v, &kp)?,
                "secrets" => svc.secrets = self.file_refs(v, &kp, Some("/run/secrets/"))?,
                "configs" => svc.configs = self.file_refs(v, &kp, None)?,
                _ => {}
            }
        }
        Ok(svc)
    }

    fn build(&self, v: &Value, p: &YPath) -> R<Option<ComposeBuild>> {
        let Some(m) = self.map(v, p)? else { return Ok(None) };
        let mut b = ComposeBuild::default();
        for (k, v) in m {
            let Some(key) = k.as_str() else { continue };
            let kp = p.key(key);
            match key {
                "context" => b.context = self.string(v, &kp)?.unwrap_or_default(),
                "dockerfile" => b.dockerfile = self.string(v, &kp)?,
                "dockerfile_inline" => b.dockerfile_inline = self.string(v, &kp)?,
                "args" => b.args = self.mapping_with_equals(v, &kp)?,
                "target" => b.target = self.string(v, &kp)?,
                "additional_contexts" => {
                    b.additional_contexts = self.mapping_with_equals(v, &kp)?.into_iter().map(|(k, v)| (k, v.unwrap_or_default())).collect()
                }
                "secrets" => b.secrets = self.file_refs(v, &kp, None)?,
                "ssh" => b.ssh = self.ssh(v, &kp)?,
                "platforms" => b.platforms = self.string_list(v, &kp)?,
                _ => {}
            }
        }
        Ok(Some(b))
    }

    /// `build.ssh`: a list of `default` / `id=path`, or a map id → path.
    fn ssh(&self, v: &Value, p: &YPath) -> R<Vec<String>> {
        Ok(self.mapping_with_equals(v, p)?.into_iter().map(|(k, v)| v.map_or_else(|| k.clone(), |v| format!("{k}={v}"))).collect())
    }

    fn env_files(&self, v: &Value, p: &YPath) -> R<Vec<EnvFileRef>> {
        self.list_of_maps(v, p, |m, ip| {
            let path = m.get("path").map(|v| self.string(v, &ip.key("path"))).transpose()?.flatten().unwrap_or_default();
            let required = m.get("required").map(|v| self.bool(v, &ip.key("required"))).transpose()?.flatten().unwrap_or(true);
            Ok(EnvFileRef { path: PathBuf::from(path), required })
        })
    }

    fn ports(&self, v: &Value, p: &YPath) -> R<Vec<Port>> {
        self.list_of_maps(v, p, |m, ip| {
            let mut port = Port::default();
            for (k, v) in m {
                let Some(key) = k.as_str() else { continue };
                let kp = ip.key(key);
                match key {
                    "target" => {
                        port.target =
                            v.as_u64().and_then(|n| u32::try_from(n).ok()).ok_or_else(|| self.type_err(&kp, "a port number", v))?
                    }
                    "published" => port.published = self.string(v, &kp)?,
                    "host_ip" => port.host_ip = self.string(v, &kp)?,
                    "protocol" => port.protocol = self.string(v, &kp)?,
                    "mode" => port.mode = self.string(v, &kp)?,
                    "name" => port.name = self.string(v, &kp)?,
                    "app_protocol" => port.app_protocol = self.string(v, &kp)?,
                    _ => {}
                }
            }
            Ok(port)
        })
    }

    fn volumes(&self, v: &Value, p: &YPath) -> R<Vec<ServiceVolume>> {
        self.list_of_maps(v, p, |m, ip| {
            let mut vol = ServiceVolume::default();
            for (k, v) in m {
                let Some(key) = k.as_str() else { continue };
                let kp = ip.key(key);
                match key {
                    "type" => vol.kind = self.string(v, &kp)?.unwrap_or_default(),
                    "source" => vol.source = self.string(v, &kp)?,
                    "target" => vol.target = self.string(v, &kp)?.unwrap_or_default(),
                    "read_only" => vol.read_only = self.bool(v, &kp)?.unwrap_or(false),
                    "consistency" => vol.consistency = self.string(v, &kp)?,
                    "bind" => {
                        if let Some(b) = self.map(v, &kp)? {
                            let mut bind = VolumeBind::default();
                            for (bk, bv) in b {
                                let bkey = bk.as_str().unwrap_or_default();
                                let bp = kp.key(bkey);
                                match bkey {
                                    "selinux" => bind.selinux = self.string(bv, &bp)?,
                                    "propagation" => bind.propagation = self.string(bv, &bp)?,
                                    "create_host_path" => bind.create_host_path = self.bool(bv, &bp)?.unwrap_or(false),
                                    "recursive" => bind.recursive = self.string(bv, &bp)?,
                                    _ => {}
                                }
                            }
                            vol.bind = Some(bind);
                        }
                    }
                    "volume" => {
                        if let Some(o) = self.map(v, &kp)? {
                            let mut opts = VolumeOptions::default();
                            for (ok, ov) in o {
                                let okey = ok.as_str().unwrap_or_default();
                                let op = kp.key(okey);
                                match okey {
                                    "nocopy" => opts.nocopy = self.bool(ov, &op)?.unwrap_or(false),
                                    "subpath" => opts.subpath = self.string(ov, &op)?,
                                    _ => {}
                                }
                            }
                            vol.volume = Some(opts);
                        } else if v.is_null() {
                            vol.volume = Some(VolumeOptions::default());
                        }
                    }
                    "tmpfs" => {
                        if let Some(t) = self.map(v, &kp)? {
                            let mut tmpfs = VolumeTmpfs::default();
                            for (tk, tv) in t {
                                let tkey = tk.as_str().unwrap_or_default();
                                let tp = kp.key(tkey);
                                match tkey {
                                    "size" => tmpfs.size = self.bytes(tv, &tp)?,
                                    "mode" => {
                                        tmpfs.mode = tv
                                            .as_u64()
                                            .and_then(|n| u32::try_from(n).ok())
                                            .ok_or_else(|| self.type_err(&tp, "a file mode number", tv))?
                                    }
                                    _ => {}
                                }
                            }
                            vol.tmpfs = Some(tmpfs);
                        }
                    }
                    _ => {}
                }
            }
            if vol.kind.is_empty() {
                return Err(self.err(
                    ip,
                    format!("{ip}: a volume in long syntax needs `type`"),
                    Some("add `type: volume`, `bind` or `tmpfs`"),
                ));
            }
            Ok(vol)
        })
    }

    fn depends_on(&self, v: &Value, p: &YPath) -> R<BTreeMap<String, Dependency>> {
        let mut out = BTreeMap::new();
        let Some(m) = self.map(v, p)? else { return Ok(out) };
        for (k, d) in m {
            let name = k.as_str().unwrap_or_default().to_string();
            let dp = p.key(&name);
            let Some(d) = self.map(d, &dp)? else { continue };
            let condition = d.get("condition").map(|c| self.string(c, &dp.key("condition"))).transpose()?.flatten().unwrap_or_default();
            if !condition.is_empty() && !CONDITIONS.contains(&condition.as_str()) {
                return Err(self.err(
                    &dp.key("condition"),
                    format!("unknown condition `{condition}`"),
                    Some("use service_started, service_healthy or service_completed_successfully"),
                ));
            }
            let required = d.get("required").map(|r| self.bool(r, &dp.key("required"))).transpose()?.flatten().unwrap_or(true);
            let restart = d.get("restart").map(|r| self.bool(r, &dp.key("restart"))).transpose()?.flatten().unwrap_or(false);
            out.insert(name, Dependency { condition, restart, required });
        }
        Ok(out)
    }

    fn healthcheck(&self, v: &Value, p: &YPath) -> R<Option<Healthcheck>> {
        let Some(m) = self.map(v, p)? else { return Ok(None) };
        let mut h = Healthcheck::default();
        for (k, v) in m {
            let Some(key) = k.as_str() else { continue };
            let kp = p.key(key);
            match key {
                "test" => {
                    h.test = match v {
                        Value::String(s) => vec!["CMD-SHELL".to_string(), s.clone()],
                        Value::Null => Vec::new(),
                        other => self.string_list(other, &kp)?,
                    }
                }
                "interval" => h.interval = self.duration(v, &kp)?,
                "timeout" => h.timeout = self.duration(v, &kp)?,
                "start_period" => h.start_period = self.duration(v, &kp)?,
                "start_interval" => h.start_interval = self.duration(v, &kp)?,
                "retries" => {
                    h.retries = match v {
                        Value::Null => None,
                        other => Some(other.as_u64().ok_or_else(|| self.type_err(&kp, "a whole number", other))?),
                    }
                }
                "disable" => h.disable = self.bool(v, &kp)?.unwrap_or(false),
                _ => {}
            }
        }
        Ok(Some(h))
    }

    fn service_networks(&self, v: &Value, p: &YPath) -> R<BTreeMap<String, Option<ServiceNetwork>>> {
        let mut out = BTreeMap::new();
        let Some(m) = self.map(v, p)? else { return Ok(out) };
        for (k, n) in m {
            let name = k.as_str().unwrap_or_default().to_string();
            let np = p.key(&name);
            let net = match self.map(n, &np)? {
                None => None,
                Some(nm) => {
                    let aliases = match nm.get("aliases") {
                        Some(a) => self.string_list(a, &np.key("aliases"))?,
                        None => Vec::new(),
                    };
                    Some(ServiceNetwork { aliases })
                }
            };
            out.insert(name, net);
        }
        Ok(out)
    }

    fn ulimits(&self, v: &Value, p: &YPath) -> R<BTreeMap<String, Ulimit>> {
        let mut out = BTreeMap::new();
        let Some(m) = self.map(v, p)? else { return Ok(out) };
        for (k, u) in m {
            let name = k.as_str().unwrap_or_default().to_string();
            let up = p.key(&name);
            let int = |v: &Value, at: &YPath| v.as_i64().ok_or_else(|| self.type_err(at, "a whole number", v));
            let limit = match u {
                Value::Number(_) => Ulimit::Single(int(u, &up)?),
                Value::Mapping(sh) => {
                    let soft = sh.get("soft").map(|v| int(v, &up.key("soft"))).transpose()?.unwrap_or(0);
                    let hard = sh.get("hard").map(|v| int(v, &up.key("hard"))).transpose()?.unwrap_or(0);
                    Ulimit::SoftHard { soft, hard }
                }
                other => return Err(self.type_err(&up, "a number or {soft, hard}", other)),
            };
            out.insert(name, limit);
        }
        Ok(out)
    }

    fn develop(&self, v: &Value, p: &YPath) -> R<Option<Develop>> {
        let Some(m) = self.map(v, p)? else { return Ok(None) };
        let mut d = Develop::default();
        if let Some(w) = m.get("watch") {
            let wp = p.key("watch");
            let Value::Sequence(items) = w else {
                return if w.is_null() { Ok(Some(d)) } else { Err(self.type_err(&wp, "a list", w)) };
            };
            for (i, item) in items.iter().enumerate() {
                let ip = wp.index(i);
                let Some(rule) = self.map(item, &ip)? else { continue };
                let mut watch = Watch::default();
                for (k, v) in rule {
                    let Some(key) = k.as_str() else { continue };
                    let kp = ip.key(key);
                    match key {
                        "path" => watch.path = self.string(v, &kp)?.unwrap_or_default(),
                        "action" => watch.action = self.string(v, &kp)?.unwrap_or_default(),
                        "target" => watch.target = self.string(v, &kp)?,
                        "ignore" => watch.ignore = self.string_list(v, &kp)?,
                        "exec" => {
                            if let Some(e) = self.map(v, &kp)?
                                && let Some(c) = e.get("command")
                            {
                                watch.exec.command = match c {
                                    Value::String(s) => Some(vec![s.clone()]),
                                    other => Some(self.string_list(other, &kp.key("command"))?),
                                };
                            }
                        }
                        _ => {}
                    }
                }
                if !WATCH_ACTIONS.contains(&watch.action.as_str()) {
                    return Err(self.err(
                        &ip.key("action"),
                        format!("unknown watch action `{}`", watch.action),
                        Some("use sync, rebuild, restart, sync+restart or sync+exec"),
                    ));
                }
                d.watch.push(watch);
            }
        }
        Ok(Some(d))
    }

    pub fn network(&self, name: &str, v: &Value) -> R<ComposeNetwork> {
        let p = YPath::of("networks").key(name);
        let mut n = ComposeNetwork::default();
        let Some(m) = self.map(v, &p)? else { return Ok(n) };
        for (k, v) in m {
            let Some(key) = k.as_str() else { continue };
            let kp = p.key(key);
            match key {
                "name" => n.name = self.string(v, &kp)?.unwrap_or_default(),
                "driver" => n.driver = self.string(v, &kp)?,
                "driver_opts" => n.driver_opts = self.labels(v, &kp)?,
                "external" => n.external = self.bool(v, &kp)?.unwrap_or(false),
                "internal" => n.internal = self.bool(v, &kp)?.unwrap_or(false),
                "attachable" => n.attachable = self.bool(v, &kp)?.unwrap_or(false),
                "labels" => n.labels = self.labels(v, &kp)?,
                "enable_ipv4" => n.enable_ipv4 = self.bool(v, &kp)?,
                "enable_ipv6" => n.enable_ipv6 = self.bool(v, &kp)?,
                "ipam" => {
                    if let Some(ipam) = self.map(v, &kp)? {
                        if let Some(d) = ipam.get("driver") {
                            n.ipam.driver = self.string(d, &kp.key("driver"))?;
                        }
                        if let Some(Value::Sequence(c)) = ipam.get("config") {
                            n.ipam.config = c.clone();
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(n)
    }

    /// A service's `secrets` / `configs`: `name` or `{source, target, uid, gid, mode}`.
    /// Secrets get compose's default target (`/run/secrets/<source>`).
    fn file_refs(&self, v: &Value, p: &YPath, default_dir: Option<&str>) -> R<Vec<FileRef>> {
        let Value::Sequence(items) = v else { return Err(self.type_err(p, "a list", v)) };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let ip = p.index(i);
            let mut r = FileRef::default();
            match item {
                Value::Mapping(m) => {
                    for (k, v) in m {
                        let Some(key) = k.as_str() else { continue };
                        let kp = ip.key(key);
                        match key {
                            "source" => r.source = self.string(v, &kp)?.unwrap_or_default(),
                            "target" => r.target = self.string(v, &kp)?,
                            "uid" => r.uid = self.string(v, &kp)?,
                            "gid" => r.gid = self.string(v, &kp)?,
                            "mode" => r.mode = Some(self.file_mode(v, &kp)?),
                            _ => {}
                        }
                    }
                }
                other => r.source = self.string(other, &ip)?.unwrap_or_default(),
            }
            if let Some(dir) = default_dir
                && r.target.is_none()
            {
                r.target = Some(format!("{dir}{}", r.source));
            }
            out.push(r);
        }
        Ok(out)
    }

    /// A file mode (interpolation already cast `0440` to its octal value).
    fn file_mode(&self, v: &Value, p: &YPath) -> R<u32> {
        v.as_u64().and_then(|n| u32::try_from(n).ok()).ok_or_else(|| self.type_err(p, "a file mode (e.g. 0440)", v))
    }

    /// A top-level secret or config.
    pub fn file_object(&self, top: &str, name: &str, v: &Value) -> R<FileObject> {
        let p = YPath::of(top).key(name);
        let mut f = FileObject::default();
        let Some(m) = self.map(v, &p)? else { return Ok(f) };
        for (k, v) in m {
            let Some(key) = k.as_str() else { continue };
            let kp = p.key(key);
            match key {
                "name" => f.name = self.string(v, &kp)?.unwrap_or_default(),
                "file" => f.file = self.string(v, &kp)?,
                "environment" => f.environment = self.string(v, &kp)?,
                "content" => f.content = self.string(v, &kp)?,
                "external" => f.external = self.bool(v, &kp)?.unwrap_or(false),
                "labels" => f.labels = self.labels(v, &kp)?,
                "driver" | "template_driver" => f.driver = self.string(v, &kp)?,
                _ => {}
            }
        }
        Ok(f)
    }

    pub fn volume(&self, name: &str, v: &Value) -> R<ComposeVolume> {
        let p = YPath::of("volumes").key(name);
        let mut vol = ComposeVolume::default();
        let Some(m) = self.map(v, &p)? else { return Ok(vol) };
        for (k, v) in m {
            let Some(key) = k.as_str() else { continue };
            let kp = p.key(key);
            match key {
                "name" => vol.name = self.string(v, &kp)?.unwrap_or_default(),
                "driver" => vol.driver = self.string(v, &kp)?,
                "driver_opts" => vol.driver_opts = self.labels(v, &kp)?,
                "external" => vol.external = self.bool(v, &kp)?.unwrap_or(false),
                "labels" => vol.labels = self.labels(v, &kp)?,
                _ => {}
            }
        }
        Ok(vol)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(yaml: &str) -> R<ComposeService> {
        let locs = ComposeLocations::default();
        let mut d = Decoder { locs: &locs, warnings: Vec::new() };
        let m: Mapping = serde_yaml::from_str(yaml).unwrap();
        d.service("a", &m)
    }

    #[test]
    fn values_like_compose() {
        let s = decode(
            "image: 123\ncommand: npm run dev\nenvironment: {A: 1, B: true, C: null, D: 1.0}\nlabels: [\"a=b\", c]\nextra_hosts: [\"h:1.2.3.4\", \"g=[::1]\", \"m=1.1.1.1,2.2.2.2\"]\nexpose: [3000, \"4000-4001\"]\nhealthcheck: {test: pg_isready, interval: 90s, retries: 3}\nshm_size: 64m\nstop_grace_period: 1m30s\n",
        )
        .unwrap();
        assert_eq!(s.image.as_deref(), Some("123"));
        assert_eq!(s.command, Some(vec!["npm".into(), "run".into(), "dev".into()]));
        assert_eq!(s.environment["A"].as_deref(), Some("1"));
        assert_eq!(s.environment["B"].as_deref(), Some("true"));
        assert_eq!(s.environment["C"], None);
        assert_eq!(s.environment["D"].as_deref(), Some("1"));
        assert_eq!(s.labels["c"], "");
        assert_eq!(s.extra_hosts, ["g=::1", "h=1.2.3.4", "m=1.1.1.1", "m=2.2.2.2"]);
        assert_eq!(s.expose, ["3000", "4000-4001"]);
        let h = s.healthcheck.unwrap();
        assert_eq!(h.test, ["CMD-SHELL", "pg_isready"]);
        assert_eq!(h.interval, Some(GoDuration(90_000_000_000)));
        assert_eq!(s.shm_size, Some(ByteSize(67_108_864)));
    }

    #[test]
    fn shape_errors() {
        for (yaml, want) in [
            ("stop_grace_period: 10\n", "missing unit"),
            ("healthcheck: {interval: 5x}\n", "unknown unit"),
            ("image: [a]\n", "must be a string"),
            ("command: 'echo \"x'\n", "invalid command line string"),
            ("depends_on: {db: {condition: service_ready}}\n", "unknown condition"),
            ("extra_hosts: [nohost]\n", "missing IP"),
            ("develop: {watch: [{path: /x, action: copy}]}\n", "unknown watch action"),
            ("volumes: [{source: x, target: /x}]\n", "needs `type`"),
            ("ulimits: {nofile: {soft: x}}\n", "whole number"),
            ("tty: maybe\n", "must be a boolean"),
        ] {
            let e = decode(yaml).unwrap_err();
            assert!(e.message.contains(want), "{yaml}: {}", e.message);
        }
    }

    #[test]
    fn shell_operator_in_a_command_warns() {
        let locs = ComposeLocations::default();
        let mut d = Decoder { locs: &locs, warnings: Vec::new() };
        let m: Mapping = serde_yaml::from_str("command: npm ci && npm start\n").unwrap();
        let s = d.service("web", &m).unwrap();
        assert_eq!(s.command, Some(vec!["npm".into(), "ci".into()]));
        assert!(d.warnings[0].contains("`&&`") && d.warnings[0].contains("service `web`"), "{:?}", d.warnings);
    }
}
