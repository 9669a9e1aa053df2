//! Short syntax → compose's long syntax (compose-go `transform/`): `build: ./app`
//! becomes `{context: ./app}`, `"8080:80"` a port map, `"./src:/app"` a volume
//! map, `depends_on: [db]` a map of conditions, and so on. Run after every
//! merge, like compose, so a later file can override an earlier one entry by entry.
//!
//! Short port and volume entries are split by `values::ports::split_port` and
//! `values::volumes::split_volume` (devenv's own parsers), then read with
//! compose's rules (a bare `"80"` publishes on a random host port, unknown
//! volume options are ignored…).

use serde_yaml::{Mapping, Value};

use super::tree::{YPath, keys, kind, s};
use super::values::go_scalar_string;
use crate::values::ports::{parse_port_range, split_port};
use crate::values::volumes::{normalize as clean_path, split_volume};

type TResult<T> = Result<T, (String, String)>;

/// Applies every canonical transform to a merged document.
pub fn canonical(dict: &mut Mapping, warnings: &mut Vec<String>) -> TResult<()> {
    if let Some(Value::Mapping(services)) = dict.get_mut("services") {
        for name in keys(services) {
            if let Some(Value::Mapping(svc)) = services.get_mut(name.as_str()) {
                service(svc, &YPath::of("services").key(&name), warnings)?;
            }
        }
    }
    for top in ["volumes", "networks", "secrets", "configs"] {
        if let Some(Value::Mapping(resources)) = dict.get_mut(top) {
            for name in keys(resources) {
                if let Some(Value::Mapping(r)) = resources.get_mut(name.as_str()) {
                    maybe_external(r, &YPath::of(top).key(&name), warnings)?;
                }
            }
        }
    }
    if let Some(Value::Sequence(items)) = dict.get_mut("include") {
        for item in items.iter_mut() {
            if let Value::String(p) = item {
                let mut m = Mapping::new();
                m.insert(s("path"), Value::String(std::mem::take(p)));
                *item = Value::Mapping(m);
            }
        }
    }
    Ok(())
}

fn service(svc: &mut Mapping, p: &YPath, warnings: &mut Vec<String>) -> TResult<()> {
    if let Some(b) = svc.get_mut("build") {
        match b {
            Value::String(ctx) => {
                let mut m = Mapping::new();
                m.insert(s("context"), Value::String(std::mem::take(ctx)));
                *b = Value::Mapping(m);
            }
            Value::Mapping(_) => {}
            other => return Err(err(&p.key("build"), format!("invalid type {} for build", kind(other)))),
        }
    }
    if let Some(d) = svc.get_mut("depends_on") {
        *d = depends_on(std::mem::take(d), &p.key("depends_on"))?;
    }
    if let Some(e) = svc.get_mut("env_file") {
        *e = env_file(std::mem::take(e), &p.key("env_file"))?;
    }
    if let Some(Value::String(f)) = svc.get_mut("label_file") {
        let f = std::mem::take(f);
        svc.insert(s("label_file"), Value::Sequence(vec![Value::String(f)]));
    }
    if let Some(Value::String(base)) = svc.get_mut("extends") {
        let mut m = Mapping::new();
        m.insert(s("service"), Value::String(std::mem::take(base)));
        svc.insert(s("extends"), Value::Mapping(m));
    }
    if let Some(Value::Sequence(nets)) = svc.get_mut("networks") {
        let mut m = Mapping::new();
        for n in std::mem::take(nets) {
            if let Some(name) = go_scalar_string(&n) {
                m.insert(Value::String(name), Value::Null);
            }
        }
        svc.insert(s("networks"), Value::Mapping(m));
    }
    if let Some(Value::Sequence(vols)) = svc.get_mut("volumes") {
        for (i, v) in vols.iter_mut().enumerate() {
            match v {
                Value::String(spec) => {
                    let parsed = parse_short_volume(spec).map_err(|e| err(&p.key("volumes").index(i), e))?;
                    *v = Value::Mapping(parsed.to_mapping());
                }
                Value::Mapping(_) => {}
                other => {
                    return Err(err(&p.key("volumes").index(i), format!("invalid type {} for service volume mount", kind(other))));
                }
            }
        }
    }
    if let Some(ports) = svc.get_mut("ports") {
        *ports = self::ports(std::mem::take(ports), &p.key("ports"), warnings)?;
    }
    if let Some(Value::Mapping(ulimits)) = svc.get("ulimits") {
        for (k, v) in ulimits {
            if !matches!(v, Value::Mapping(_) | Value::Number(_)) {
                let name = k.as_str().unwrap_or_default();
                return Err(err(&p.key("ulimits").key(name), format!("invalid type {} for ulimit", kind(v))));
            }
        }
    }
    if let Some(Value::String(dns)) = svc.get_mut("dns") {
        let d = std::mem::take(dns);
        svc.insert(s("dns"), Value::Sequence(vec![Value::String(d)]));
    }
    if let Some(Value::Sequence(dns)) = svc.get_mut("dns") {
        // compose-go `OmitEmpty`: blank DNS entries are dropped.
        dns.retain(|d| !matches!(d, Value::Null) && d.as_str() != Some(""));
    }
    for key in ["secrets", "configs"] {
        if let Some(Value::Sequence(items)) = svc.get_mut(key) {
            for item in items.iter_mut() {
                if let Value::String(src) = item {
                    let mut m = Mapping::new();
                    m.insert(s("source"), Value::String(std::mem::take(src)));
                    *item = Value::Mapping(m);
                }
            }
        }
    }
    Ok(())
}

fn err(p: &YPath, message: String) -> (String, String) {
    (p.to_string(), message)
}

fn started() -> Mapping {
    let mut d = Mapping::new();
    d.insert(s("condition"), s("service_started"));
    d.insert(s("required"), Value::Bool(true));
    d
}

fn depends_on(v: Value, p: &YPath) -> TResult<Value> {
    match v {
        Value::Mapping(mut m) => {
            for (k, e) in m.iter_mut() {
                let name = k.as_str().unwrap_or_default();
                let Value::Mapping(d) = e else {
                    return Err(err(&p.key(name), format!("unsupported value {}: expected a map with `condition`", kind(e))));
                };
                if !d.contains_key("condition") {
                    d.insert(s("condition"), s("service_started"));
                }
                if !d.contains_key("required") {
                    d.insert(s("required"), Value::Bool(true));
                }
            }
            Ok(Value::Mapping(m))
        }
        Value::Sequence(items) => {
            let mut m = Mapping::new();
            for (i, item) in items.into_iter().enumerate() {
                match item {
                    Value::String(name) => {
                        m.insert(Value::String(name), Value::Mapping(started()));
                    }
                    other => return Err(err(&p.index(i), format!("expected a service name, found {}", kind(&other)))),
                }
            }
            Ok(Value::Mapping(m))
        }
        other => Err(err(p, format!("invalid type {} for depends_on", kind(&other)))),
    }
}

fn env_file(v: Value, p: &YPath) -> TResult<Value> {
    let entry = |e: Value, at: &YPath| -> TResult<Value> {
        match e {
            Value::String(path) => {
                let mut m = Mapping::new();
                m.insert(s("path"), Value::String(path));
                m.insert(s("required"), Value::Bool(true));
                Ok(Value::Mapping(m))
            }
            Value::Mapping(mut m) => {
                if !m.contains_key("required") {
                    m.insert(s("required"), Value::Bool(true));
                }
                Ok(Value::Mapping(m))
            }
            other => Err(err(at, format!("invalid type {} for env_file", kind(&other)))),
        }
    };
    match v {
        Value::String(_) => Ok(Value::Sequence(vec![entry(v, p)?])),
        Value::Sequence(items) => {
            items.into_iter().enumerate().map(|(i, e)| entry(e, &p.index(i))).collect::<TResult<Vec<_>>>().map(Value::Sequence)
        }
        other => Err(err(p, format!("invalid type {} for env_file", kind(&other)))),
    }
}

fn ports(v: Value, p: &YPath, warnings: &mut Vec<String>) -> TResult<Value> {
    let Value::Sequence(entries) = v else {
        return Err(err(p, format!("invalid type {} for port", kind(&v))));
    };
    let mut out = Vec::new();
    for (i, e) in entries.into_iter().enumerate() {
        match e {
            Value::Number(n) => out.extend(parse_short_port(&n.to_string()).map_err(|m| err(&p.index(i), m))?),
            Value::String(spec) => {
                if split_port(&spec).is_ok_and(|parts| parts.blank_ip) {
                    blank_ip_warning(&spec, p, warnings);
                }
                out.extend(parse_short_port(&spec).map_err(|m| err(&p.index(i), m))?)
            }
            Value::Mapping(m) => out.push(Value::Mapping(m)),
            other => return Err(err(&p.index(i), format!("invalid type {} for port", kind(&other)))),
        }
    }
    Ok(Value::Sequence(out))
}

/// `":443:443"` (usually `${BIND:-}:443:443` with BIND unset): compose reads no
/// address and binds every interface; devenv applies its own default, 127.0.0.1.
fn blank_ip_warning(spec: &str, p: &YPath, warnings: &mut Vec<String>) {
    let w = format!(
        "{p}: {spec:?} has an empty host IP: devenv publishes it on 127.0.0.1 (its default), where compose would use every interface; write `0.0.0.0:` for that"
    );
    if !warnings.contains(&w) {
        warnings.push(w);
    }
}

/// compose-go `types.ParsePortConfig` (docker's `nat.ParsePortSpec`): a short port
/// entry as long-syntax maps, sorted like compose (by `"<port>/<protocol>"` as text).
pub fn parse_short_port(spec: &str) -> Result<Vec<Value>, String> {
    let parts = split_port(spec)?;
    if !matches!(parts.protocol.as_str(), "tcp" | "udp" | "sctp") {
        return Err(format!("invalid protocol {:?}: expected tcp, udp or sctp", parts.protocol));
    }
    let (c_lo, c_hi) = parse_port_range(parts.container, "container")?;
    let host = match parts.host {
        None | Some("") => None,
        Some(h) => Some(parse_port_range(h, "host")?),
    };
    if let Some((h_lo, h_hi)) = host
        && c_hi - c_lo != h_hi - h_lo
        && c_hi != c_lo
    {
        return Err(format!(
            "invalid ranges specified for container and host ports: {} and {}",
            parts.container,
            parts.host.unwrap_or_default()
        ));
    }
    let mut out: Vec<(String, Value)> = Vec::new();
    for i in 0..=(c_hi - c_lo) {
        let target = c_lo + i;
        let published =
            host.map(|(h_lo, h_hi)| if c_lo == c_hi && h_lo != h_hi { format!("{h_lo}-{h_hi}") } else { (h_lo + i).to_string() });
        let mut m = Mapping::new();
        m.insert(s("mode"), s("ingress"));
        if let Some(ip) = &parts.host_ip {
            m.insert(s("host_ip"), Value::String(ip.clone()));
        }
        m.insert(s("target"), Value::Number(target.into()));
        if let Some(p) = published {
            m.insert(s("published"), Value::String(p));
        }
        m.insert(s("protocol"), Value::String(parts.protocol.clone()));
        out.push((format!("{target}/{}", parts.protocol), Value::Mapping(m)));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out.into_iter().map(|(_, v)| v).collect())
}

/// A short-syntax volume, read like compose-go `format.ParseVolume`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShortVolume {
    pub kind: &'static str,
    pub source: Option<String>,
    pub target: String,
    pub read_only: bool,
    pub nocopy: bool,
    pub propagation: Option<String>,
    pub selinux: Option<String>,
}

impl ShortVolume {
    /// The long syntax compose turns it into.
    pub fn to_mapping(&self) -> Mapping {
        let mut m = Mapping::new();
        m.insert(s("type"), s(self.kind));
        if let Some(src) = &self.source {
            m.insert(s("source"), Value::String(src.clone()));
        }
        m.insert(s("target"), Value::String(self.target.clone()));
        if self.read_only {
            m.insert(s("read_only"), Value::Bool(true));
        }
        if self.kind == "bind" {
            let mut b = Mapping::new();
            if let Some(sel) = &self.selinux {
                b.insert(s("selinux"), Value::String(sel.clone()));
            }
            if let Some(prop) = &self.propagation {
                b.insert(s("propagation"), Value::String(prop.clone()));
            }
            b.insert(s("create_host_path"), Value::Bool(true));
            m.insert(s("bind"), Value::Mapping(b));
        }
        if self.kind == "volume" || self.nocopy {
            let mut v = Mapping::new();
            if self.nocopy {
                v.insert(s("nocopy"), Value::Bool(true));
            }
            m.insert(s("volume"), Value::Mapping(v));
        }
        m
    }
}

const PROPAGATIONS: &[&str] = &["rprivate", "private", "rshared", "shared", "rslave", "slave"];

/// `SOURCE:TARGET[:OPTIONS]` or `TARGET` with compose's rules: a source starting
/// with `.`, `/` or `~` is a bind mount, anything else a named volume; options
/// `ro`/`rw`, `nocopy`, `z`/`Z`, propagation modes; unknown options are ignored.
pub fn parse_short_volume(spec: &str) -> Result<ShortVolume, String> {
    if spec.is_empty() {
        return Err("invalid empty volume spec".into());
    }
    let invalid = |why: &str| format!("invalid spec: {spec}: {why}");
    let (source, target, opts) = split_volume(spec).map_err(|_| invalid("too many colons"))?;
    if source == Some("") || target.is_empty() || opts == Some("") {
        return Err(invalid("empty section between colons"));
    }
    let mut v = ShortVolume { target: clean_target(target), ..Default::default() };
    v.source = source.map(String::from);
    for o in opts.unwrap_or_default().split(',').filter(|o| !o.is_empty()) {
        match o {
            "ro" => v.read_only = true,
            "rw" => v.read_only = false,
            "nocopy" => v.nocopy = true,
            "z" | "Z" => v.selinux = Some(o.to_string()),
            p if PROPAGATIONS.contains(&p) => v.propagation = Some(p.to_string()),
            _ => {}
        }
    }
    let is_path = matches!(v.source.as_deref().and_then(|s| s.chars().next()), Some('.' | '/' | '~'));
    v.kind = if is_path { "bind" } else { "volume" };
    if !is_path {
        v.selinux = None;
        v.propagation = None;
    }
    Ok(v)
}

/// Go's `path.Clean` on a container path.
fn clean_target(t: &str) -> String {
    clean_path(std::path::Path::new(t)).to_string_lossy().into_owned()
}

/// compose-go `transformMaybeExternal`: `external: {name: x}` (deprecated) becomes
/// `external: true` + `name: x`.
fn maybe_external(r: &mut Mapping, p: &YPath, warnings: &mut Vec<String>) -> TResult<()> {
    let Some(Value::Mapping(ext)) = r.get("external") else {
        return Ok(());
    };
    let ext_name = ext.get("name").cloned();
    r.insert(s("external"), Value::Bool(true));
    if let Some(ext_name) = ext_name {
        warnings.push(format!("{p}: external.name is deprecated; set `name` and `external: true`"));
        match r.get("name") {
            Some(name) if *name != ext_name => {
                return Err(err(p, "name and external.name conflict; only use name".into()));
            }
            Some(_) => {}
            None => {
                r.insert(s("name"), ext_name);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(spec: &str) -> Vec<String> {
        parse_short_port(spec).unwrap().iter().map(|v| serde_json::to_string(v).unwrap()).collect()
    }

    /// Shapes checked against `docker compose config --format json`.
    #[test]
    fn short_ports_like_compose() {
        assert_eq!(port("5432:5432"), [r#"{"mode":"ingress","target":5432,"published":"5432","protocol":"tcp"}"#]);
        assert_eq!(port("9000"), [r#"{"mode":"ingress","target":9000,"protocol":"tcp"}"#]);
        assert_eq!(
            port("127.0.0.1:8080-8081:80-81/udp"),
            [
                r#"{"mode":"ingress","host_ip":"127.0.0.1","target":80,"published":"8080","protocol":"udp"}"#,
                r#"{"mode":"ingress","host_ip":"127.0.0.1","target":81,"published":"8081","protocol":"udp"}"#
            ]
        );
        assert_eq!(port("[::1]:7000:7000"), [r#"{"mode":"ingress","host_ip":"::1","target":7000,"published":"7000","protocol":"tcp"}"#]);
        assert_eq!(port("127.0.0.1::80"), [r#"{"mode":"ingress","host_ip":"127.0.0.1","target":80,"protocol":"tcp"}"#]);
        // A host range for one container port stays a range.
        assert_eq!(port("8000-8010:80"), [r#"{"mode":"ingress","target":80,"published":"8000-8010","protocol":"tcp"}"#]);
        // Sorted as text, like compose: 10000 before 9999.
        let r = port("9999-10000");
        assert!(r[0].contains("10000") && r[1].contains("9999"), "{r:?}");
        assert!(port("53:53/sctp")[0].contains("sctp"));
        // An empty host IP: no address (compose prints no `host_ip`).
        assert_eq!(port(":443:443"), [r#"{"mode":"ingress","target":443,"published":"443","protocol":"tcp"}"#]);
    }

    #[test]
    fn an_empty_host_ip_is_said_once() {
        let mut warnings = Vec::new();
        let v: Value = serde_yaml::from_str(r#"[":443:443", ":443:443", "80:80"]"#).unwrap();
        ports(v, &YPath::of("services").key("web").key("ports"), &mut warnings).unwrap();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("127.0.0.1") && warnings[0].contains("every interface"), "{warnings:?}");
    }

    #[test]
    fn short_port_errors() {
        for (spec, want) in [
            ("9000-9002:9000-9001", "invalid ranges"),
            ("80/xyz", "invalid protocol"),
            ("abc", "invalid container port"),
            ("localhost:80:80", "invalid host IP"),
            ("", "empty port"),
        ] {
            let e = parse_short_port(spec).unwrap_err();
            assert!(e.contains(want), "{spec}: {e}");
        }
    }

    #[test]
    fn short_volumes_like_compose() {
        let v = parse_short_volume("db-data:/var/lib/postgresql/data").unwrap();
        assert_eq!((v.kind, v.source.as_deref(), v.target.as_str()), ("volume", Some("db-data"), "/var/lib/postgresql/data"));
        let v = parse_short_volume("./init:/docker-entrypoint-initdb.d:ro").unwrap();
        assert_eq!((v.kind, v.read_only), ("bind", true));
        let v = parse_short_volume("/anon").unwrap();
        assert_eq!((v.kind, v.source, v.target.as_str()), ("volume", None, "/anon"));
        let v = parse_short_volume("./x:/y/../z/:ro,z,rshared,unknown").unwrap();
        assert_eq!(v.target, "/z");
        assert_eq!((v.selinux.as_deref(), v.propagation.as_deref()), (Some("z"), Some("rshared")));
        let v = parse_short_volume("cache:/c:nocopy").unwrap();
        assert!(v.nocopy);
        let m = serde_json::to_string(&v.to_mapping()).unwrap();
        assert_eq!(m, r#"{"type":"volume","source":"cache","target":"/c","volume":{"nocopy":true}}"#);
        let m = serde_json::to_string(&parse_short_volume("~/x:/x").unwrap().to_mapping()).unwrap();
        assert_eq!(m, r#"{"type":"bind","source":"~/x","target":"/x","bind":{"create_host_path":true}}"#);
        for bad in ["", "a:b:c:d", ":/x", "a:", "a:/b:"] {
            assert!(parse_short_volume(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn canonical_service_forms() {
        let mut d: Mapping = serde_yaml::from_str(
            "services:\n  a:\n    build: ./app\n    depends_on: [db]\n    env_file: a.env\n    networks: [front]\n    extends: base\n    volumes: [\"data:/d\"]\n    ports: [80, \"1:1\"]\n    dns: \"8.8.8.8\"\ninclude: [x.yaml]\nvolumes:\n  v: {external: {name: real}}\n",
        )
        .unwrap();
        let mut w = Vec::new();
        canonical(&mut d, &mut w).unwrap();
        let a = &d["services"]["a"];
        assert_eq!(a["build"]["context"], s("./app"));
        assert_eq!(a["depends_on"]["db"]["condition"], s("service_started"));
        assert_eq!(a["env_file"][0]["path"], s("a.env"));
        assert_eq!(a["env_file"][0]["required"], Value::Bool(true));
        assert!(a["networks"]["front"].is_null());
        assert_eq!(a["extends"]["service"], s("base"));
        assert_eq!(a["volumes"][0]["type"], s("volume"));
        assert_eq!(a["ports"].as_sequence().unwrap().len(), 2);
        assert_eq!(a["dns"][0], s("8.8.8.8"));
        assert_eq!(d["include"][0]["path"], s("x.yaml"));
        assert_eq!(d["volumes"]["v"]["external"], Value::Bool(true));
        assert_eq!(d["volumes"]["v"]["name"], s("real"));
        assert_eq!(w.len(), 1);
    }
}
