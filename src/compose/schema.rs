//! The shapes compose's JSON schema (compose-spec, as in compose-go v2.4)
//! allows, for the keys devenv reads — checked on every file (after
//! interpolation), so a wrong shape is reported in the file that has it.
//! Keys the compose specification does not know are errors (with a "did you
//! mean"), `x-*` keys are allowed everywhere, and keys outside devenv's subset
//! are only checked to exist (`unsupported` decides what happens to them).

use serde_yaml::Value;

use super::tree::{YPath, kind};
use crate::yaml::hints::hint_nearest;

/// An expected shape.
#[derive(Debug, Clone, Copy)]
pub enum Shape {
    Any,
    Str,
    Int,
    Num,
    Bool,
    Null,
    List(&'static Shape),
    /// A map with any keys.
    Map(&'static Shape),
    /// A map with these keys only (plus `x-*`).
    Obj(&'static [(&'static str, Shape)]),
    OneOf(&'static [Shape]),
}

use Shape::*;

const BOOL_OR_STR: Shape = OneOf(&[Bool, Str]);
const INT_OR_STR: Shape = OneOf(&[Int, Str]);
const STR_LIST: Shape = List(&Str);
const STR_OR_LIST: Shape = OneOf(&[Str, List(&Str)]);
const LIST_OR_DICT: Shape = OneOf(&[Map(&OneOf(&[Str, Num, Bool, Null])), List(&Str)]);
const COMMAND: Shape = OneOf(&[Null, Str, List(&Str)]);

const BUILD: Shape = OneOf(&[
    Str,
    Obj(&[
        ("context", Str),
        ("dockerfile", Str),
        ("dockerfile_inline", Str),
        ("args", LIST_OR_DICT),
        ("target", Str),
        ("additional_contexts", LIST_OR_DICT),
        ("cache_from", Any),
        ("cache_to", Any),
        ("entitlements", Any),
        ("extra_hosts", Any),
        ("isolation", Any),
        ("labels", Any),
        ("network", Any),
        ("no_cache", Any),
        ("platforms", STR_LIST),
        ("privileged", Any),
        ("pull", Any),
        ("secrets", FILE_REFS),
        ("shm_size", Any),
        ("ssh", LIST_OR_DICT),
        ("tags", Any),
        ("ulimits", Any),
    ]),
]);

const ENV_FILE: Shape = OneOf(&[Str, List(&OneOf(&[Str, Obj(&[("path", Str), ("required", BOOL_OR_STR), ("format", Str)])]))]);

const PORTS: Shape = List(&OneOf(&[
    Num,
    Str,
    Obj(&[
        ("name", Str),
        ("mode", Str),
        ("host_ip", Str),
        ("target", INT_OR_STR),
        ("published", OneOf(&[Str, Int])),
        ("protocol", Str),
        ("app_protocol", Str),
    ]),
]));

const VOLUMES: Shape = List(&OneOf(&[
    Str,
    Obj(&[
        ("type", Str),
        ("source", Str),
        ("target", Str),
        ("read_only", BOOL_OR_STR),
        ("consistency", Str),
        ("bind", Obj(&[("propagation", Str), ("create_host_path", BOOL_OR_STR), ("recursive", Str), ("selinux", Str)])),
        ("volume", OneOf(&[Null, Obj(&[("nocopy", BOOL_OR_STR), ("subpath", Str)])])),
        ("tmpfs", Obj(&[("size", INT_OR_STR), ("mode", OneOf(&[Num, Str]))])),
        ("image", Any),
    ]),
]));

const DEPENDS_ON: Shape = OneOf(&[List(&Str), Map(&Obj(&[("condition", Str), ("required", Bool), ("restart", BOOL_OR_STR)]))]);

const HEALTHCHECK: Shape = Obj(&[
    ("disable", BOOL_OR_STR),
    ("interval", Str),
    ("retries", OneOf(&[Num, Str])),
    ("test", STR_OR_LIST),
    ("timeout", Str),
    ("start_period", Str),
    ("start_interval", Str),
]);

const SERVICE_NETWORKS: Shape = OneOf(&[
    List(&Str),
    Map(&OneOf(&[
        Null,
        Obj(&[
            ("aliases", STR_LIST),
            ("interface_name", Any),
            ("ipv4_address", Any),
            ("ipv6_address", Any),
            ("link_local_ips", Any),
            ("mac_address", Any),
            ("driver_opts", Any),
            ("priority", Any),
            ("gw_priority", Any),
        ]),
    ])),
]);

const ULIMITS: Shape = Map(&OneOf(&[Int, Str, Obj(&[("hard", INT_OR_STR), ("soft", INT_OR_STR)])]));

const DEVELOP: Shape =
    OneOf(&[Null, Obj(&[("watch", List(&Obj(&[("ignore", STR_LIST), ("path", Str), ("action", Str), ("target", Str), ("exec", Any)])))])]);

/// A service's `secrets` / `configs`: names, or `{source, target, uid, gid, mode}`.
const FILE_REFS: Shape = List(&OneOf(&[
    Str,
    Obj(&[("source", Str), ("target", Str), ("uid", Str), ("gid", Str), ("mode", OneOf(&[Num, Str]))]),
]));

const EXTENDS: Shape = OneOf(&[Str, Obj(&[("service", Str), ("file", Str)])]);

/// Every service key of the compose specification; the ones devenv reads have a shape.
pub const SERVICE: Shape = Obj(&[
    ("annotations", Any),
    ("attach", Any),
    ("blkio_config", Any),
    ("build", BUILD),
    ("cap_add", STR_LIST),
    ("cap_drop", STR_LIST),
    ("cgroup", Any),
    ("cgroup_parent", Any),
    ("command", COMMAND),
    ("configs", FILE_REFS),
    ("container_name", Str),
    ("cpu_count", Any),
    ("cpu_percent", Any),
    ("cpu_period", Any),
    ("cpu_quota", Any),
    ("cpu_rt_period", Any),
    ("cpu_rt_runtime", Any),
    ("cpu_shares", Any),
    ("cpus", Any),
    ("cpuset", Any),
    ("credential_spec", Any),
    ("depends_on", DEPENDS_ON),
    ("deploy", OneOf(&[Null, Map(&Any)])),
    ("develop", DEVELOP),
    ("device_cgroup_rules", Any),
    ("devices", Any),
    ("dns", Any),
    ("dns_opt", Any),
    ("dns_search", Any),
    ("domainname", Any),
    ("entrypoint", COMMAND),
    ("env_file", ENV_FILE),
    ("environment", LIST_OR_DICT),
    ("expose", List(&OneOf(&[Str, Num]))),
    ("extends", EXTENDS),
    ("external_links", Any),
    ("extra_hosts", OneOf(&[Map(&STR_OR_LIST), List(&Str)])),
    ("gpus", Any),
    ("group_add", Any),
    ("healthcheck", HEALTHCHECK),
    ("hostname", Str),
    ("image", Str),
    ("init", BOOL_OR_STR),
    ("ipc", Str),
    ("isolation", Any),
    ("label_file", Any),
    ("labels", LIST_OR_DICT),
    ("links", STR_LIST),
    ("logging", Any),
    ("mac_address", Any),
    ("mem_limit", Any),
    ("mem_reservation", Any),
    ("mem_swappiness", Any),
    ("memswap_limit", Any),
    ("network_mode", Str),
    ("networks", SERVICE_NETWORKS),
    ("oom_kill_disable", Any),
    ("oom_score_adj", Any),
    ("pid", OneOf(&[Str, Null])),
    ("pids_limit", Any),
    ("platform", Str),
    ("ports", PORTS),
    ("post_start", Any),
    ("pre_stop", Any),
    ("privileged", BOOL_OR_STR),
    ("profiles", STR_LIST),
    ("pull_policy", Any),
    ("read_only", Any),
    ("restart", Str),
    ("runtime", Any),
    ("scale", Any),
    ("secrets", FILE_REFS),
    ("security_opt", Any),
    ("shm_size", OneOf(&[Num, Str])),
    ("stdin_open", BOOL_OR_STR),
    ("stop_grace_period", Str),
    ("stop_signal", Str),
    ("storage_opt", Any),
    ("sysctls", Any),
    ("tmpfs", STR_OR_LIST),
    ("tty", BOOL_OR_STR),
    ("ulimits", ULIMITS),
    ("user", Str),
    ("userns_mode", Any),
    ("uts", Any),
    ("volumes", VOLUMES),
    ("volumes_from", STR_LIST),
    ("working_dir", Str),
]);

const INCLUDE: Shape = List(&OneOf(&[Str, Obj(&[("path", STR_OR_LIST), ("env_file", STR_OR_LIST), ("project_directory", Str)])]));

const TOP_VOLUME: Shape = OneOf(&[
    Null,
    Obj(&[
        ("name", Str),
        ("driver", Str),
        ("driver_opts", Map(&OneOf(&[Str, Num]))),
        ("external", OneOf(&[Bool, Str, Obj(&[("name", Str)])])),
        ("labels", LIST_OR_DICT),
    ]),
]);

const TOP_NETWORK: Shape = OneOf(&[
    Null,
    Obj(&[
        ("name", Str),
        ("driver", Str),
        ("driver_opts", Map(&OneOf(&[Str, Num]))),
        ("ipam", Any),
        ("external", OneOf(&[Bool, Str, Obj(&[("name", Str)])])),
        ("internal", BOOL_OR_STR),
        ("attachable", BOOL_OR_STR),
        ("labels", LIST_OR_DICT),
        ("enable_ipv4", BOOL_OR_STR),
        ("enable_ipv6", BOOL_OR_STR),
    ]),
]);

const EXTERNAL: Shape = OneOf(&[Bool, Str, Obj(&[("name", Str)])]);

/// A top-level secret (compose 2.26: no `content`).
const TOP_SECRET: Shape = OneOf(&[
    Null,
    Obj(&[
        ("name", Str),
        ("file", Str),
        ("environment", Str),
        ("external", EXTERNAL),
        ("labels", LIST_OR_DICT),
        ("driver", Str),
        ("driver_opts", Map(&OneOf(&[Str, Num]))),
        ("template_driver", Str),
    ]),
]);

/// A top-level config.
const TOP_CONFIG: Shape = OneOf(&[
    Null,
    Obj(&[
        ("name", Str),
        ("file", Str),
        ("environment", Str),
        ("content", Str),
        ("external", EXTERNAL),
        ("labels", LIST_OR_DICT),
        ("template_driver", Str),
    ]),
]);

/// A whole compose file.
pub const TOP: Shape = Obj(&[
    ("version", Any),
    ("name", Str),
    ("include", INCLUDE),
    ("services", Map(&SERVICE)),
    ("volumes", Map(&TOP_VOLUME)),
    ("networks", Map(&TOP_NETWORK)),
    ("secrets", Map(&TOP_SECRET)),
    ("configs", Map(&TOP_CONFIG)),
]);

/// Whether `key` is a key of `shape` (an `Obj`) or an `x-*` extension.
fn has_key(shape: &Shape, key: &str) -> bool {
    key.starts_with("x-") || matches!(shape, Obj(fields) if fields.iter().any(|(k, _)| *k == key))
}

/// Whether `key` is a top-level key of the compose specification (or `x-*`).
pub fn is_top_key(key: &str) -> bool {
    has_key(&TOP, key)
}

/// Whether `key` is a service key of the compose specification (or `x-*`).
pub fn is_service_key(key: &str) -> bool {
    has_key(&SERVICE, key)
}

/// A shape violation: path, message, hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeError {
    pub path: String,
    pub message: String,
    pub hint: Option<String>,
}

fn describe(shape: &Shape) -> String {
    match shape {
        Any => "anything".into(),
        Str => "a string".into(),
        Int => "a whole number".into(),
        Num => "a number".into(),
        Bool => "a boolean".into(),
        Null => "empty".into(),
        List(_) => "a list".into(),
        Map(_) | Obj(_) => "a map".into(),
        OneOf(alts) => {
            let mut names: Vec<String> = Vec::new();
            for a in alts.iter().filter(|a| !matches!(a, Null)) {
                let d = describe(a);
                if !names.contains(&d) {
                    names.push(d);
                }
            }
            match names.len() {
                0 => "empty".into(),
                1 => names.remove(0),
                _ => {
                    let last = names.pop().unwrap_or_default();
                    format!("{} or {last}", names.join(", "))
                }
            }
        }
    }
}

fn matches_kind(v: &Value, shape: &Shape) -> bool {
    match (shape, v) {
        (Any, _) => true,
        (Str, Value::String(_)) => true,
        (Int, Value::Number(n)) => n.is_i64() || n.is_u64(),
        (Num, Value::Number(_)) => true,
        (Bool, Value::Bool(_)) => true,
        (Null, Value::Null) => true,
        (List(_), Value::Sequence(_)) => true,
        (Map(_) | Obj(_), Value::Mapping(_)) => true,
        (OneOf(alts), v) => alts.iter().any(|a| matches_kind(v, a)),
        (_, Value::Tagged(t)) => matches_kind(&t.value, shape),
        _ => false,
    }
}

/// Checks `v` against `shape`; the first violation.
pub fn check(v: &Value, shape: &Shape, p: &YPath) -> Result<(), ShapeError> {
    let v = match v {
        Value::Tagged(t) => &t.value,
        other => other,
    };
    match shape {
        OneOf(alts) => {
            // The first alternative of the right kind decides (a list vs a map…).
            match alts.iter().find(|a| matches_kind(v, a)) {
                Some(a) => check(v, a, p),
                None => Err(mismatch(v, shape, p)),
            }
        }
        _ if !matches_kind(v, shape) => Err(mismatch(v, shape, p)),
        List(item) => {
            if let Value::Sequence(items) = v {
                for (i, x) in items.iter().enumerate() {
                    check(x, item, &p.index(i))?;
                }
            }
            Ok(())
        }
        Map(value) => {
            if let Value::Mapping(m) = v {
                for (k, x) in m {
                    check(x, value, &p.key(k.as_str().unwrap_or_default()))?;
                }
            }
            Ok(())
        }
        Obj(fields) => {
            if let Value::Mapping(m) = v {
                for (k, x) in m {
                    let key = k.as_str().unwrap_or_default();
                    if key.starts_with("x-") {
                        continue;
                    }
                    match fields.iter().find(|(name, _)| *name == key) {
                        Some((_, s)) => check(x, s, &p.key(key))?,
                        None => {
                            let names: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
                            let at = if p.is_empty() { "at the top level".to_string() } else { format!("in {p}") };
                            return Err(ShapeError {
                                path: p.key(key).to_string(),
                                message: format!("unknown key `{key}` {at}: the compose specification has no such key"),
                                hint: hint_nearest(key, &names, "valid keys here"),
                            });
                        }
                    }
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn mismatch(v: &Value, shape: &Shape, p: &YPath) -> ShapeError {
    let hint = match shape {
        OneOf(alts) if alts.iter().any(|a| matches!(a, List(_))) && matches!(v, Value::String(_) | Value::Number(_)) => {
            Some("write a list, e.g. `[\"8080:80\"]`, or one `- item` per line".to_string())
        }
        List(_) if matches!(v, Value::String(_) | Value::Number(_)) => Some("write a list: one `- item` per line".to_string()),
        Str if matches!(v, Value::Number(_))
            && p.key_at(p.len().saturating_sub(1))
                .is_some_and(|k| matches!(k, "interval" | "timeout" | "start_period" | "start_interval" | "stop_grace_period")) =>
        {
            Some("a duration needs a unit, e.g. `10s`, `1m30s`, `500ms`".to_string())
        }
        _ => None,
    };
    ShapeError { path: p.to_string(), message: format!("{p} must be {}, found {}", describe(shape), kind(v)), hint }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(yaml: &str) -> Result<(), ShapeError> {
        let v: Value = serde_yaml::from_str(yaml).unwrap();
        check(&v, &TOP, &YPath::root())
    }

    #[test]
    fn accepts_real_files() {
        run("version: '3.8'\nx-base: {a: 1}\nservices:\n  web:\n    image: nginx\n    x-custom: 1\n    build: {context: ., args: [A=1], ssh: [default]}\n    ports: [80, \"8080:80\", {target: 80, published: 8081}]\n    environment: {A: 1, B: null, C: true}\n    depends_on: {db: {condition: service_healthy}}\n    healthcheck: {test: [CMD, curl], interval: 5s, retries: 3}\n    networks: {front: {aliases: [w]}, back: null}\n    ulimits: {nofile: {soft: 1, hard: 2}, nproc: 10}\n    deploy: {resources: {limits: {memory: 1g}}}\n    logging: {driver: json-file}\nvolumes:\n  data:\nnetworks:\n  front: {driver: bridge}\ninclude: [a.yaml, {path: [b.yaml, c.yaml], env_file: x.env}]\n").unwrap();
    }

    #[test]
    fn unknown_keys_with_hints() {
        let e = run("services:\n  web:\n    imag: nginx\n").unwrap_err();
        assert_eq!(e.path, "services.web.imag");
        assert!(e.message.contains("unknown key `imag` in services.web"), "{}", e.message);
        assert_eq!(e.hint.as_deref(), Some("did you mean `image`?"));
        let e = run("servics: {}\n").unwrap_err();
        assert_eq!(e.hint.as_deref(), Some("did you mean `services`?"));
        let e = run("services:\n  web:\n    healthcheck: {intervall: 5s}\n").unwrap_err();
        assert_eq!(e.path, "services.web.healthcheck.intervall");
        // Nothing close: the three nearest of compose's ~90 service keys, not all of them.
        let e = run("services:\n  web:\n    zzzzzzzzzz_port: 1\n").unwrap_err();
        let hint = e.hint.unwrap_or_default();
        assert!(hint.starts_with("valid keys here nearest to `zzzzzzzzzz_port`: "), "{hint}");
        assert_eq!(hint.matches('`').count(), 8, "{hint}");
    }

    #[test]
    fn wrong_shapes() {
        let cases = [
            ("services:\n  a:\n    ports: 80\n", "services.a.ports", "must be a list, found a number"),
            ("services:\n  a:\n    image: [x]\n", "services.a.image", "must be a string"),
            ("services:\n  a:\n    environment: x\n", "services.a.environment", "must be a map or a list"),
            ("services:\n  a:\n    depends_on: {db: healthy}\n", "services.a.depends_on.db", "must be a map"),
            ("services:\n  a:\n    command: {x: 1}\n", "services.a.command", "must be a string or a list"),
            ("services:\n  a: x\n", "services.a", "must be a map"),
            (
                "services:\n  a:\n    volumes: [{type: bind, source: ., target: /x, bind: {mode: 1}}]\n",
                "services.a.volumes[0].bind.mode",
                "unknown key",
            ),
        ];
        for (yaml, path, want) in cases {
            let e = run(yaml).unwrap_err();
            assert_eq!(e.path, path, "{yaml}");
            assert!(e.message.contains(want), "{yaml}: {}", e.message);
        }
    }
}
