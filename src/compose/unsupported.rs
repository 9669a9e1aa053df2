//! What devenv does with compose keys outside its subset (see the module docs
//! of `compose` for the lists and the reasons): a key that would change how the
//! service behaves in a way devenv cannot honour is refused; anything else is
//! collected into one "ignored" warning per service — never dropped silently.

use serde_yaml::{Mapping, Value};

use super::values::go_scalar_string;

/// Service keys the model carries.
pub const SUPPORTED: &[&str] = &[
    "image",
    "build",
    "command",
    "entrypoint",
    "environment",
    "env_file",
    "ports",
    "expose",
    "volumes",
    "depends_on",
    "healthcheck",
    "restart",
    "profiles",
    "labels",
    "working_dir",
    "user",
    "hostname",
    "extra_hosts",
    "networks",
    "container_name",
    "stop_grace_period",
    "stop_signal",
    "ulimits",
    "init",
    "tty",
    "stdin_open",
    "tmpfs",
    "privileged",
    "cap_add",
    "cap_drop",
    "shm_size",
    "develop",
    "extends",
    "secrets",
    "configs",
    "platform",
    "volumes_from",
    "ipc",
    "pid",
    "network_mode",
    "cpus",
    "mem_limit",
    "mem_reservation",
    "pids_limit",
    "deploy",
    "scale",
];

/// `build` keys the model carries. `additional_contexts`, `secrets`, `ssh` and
/// `platforms` are checked when the image is built (`engine::images`): the
/// engine's classic builder has none of them, which matters only when the
/// Dockerfile uses them.
const BUILD_SUPPORTED: &[&str] =
    &["context", "dockerfile", "dockerfile_inline", "args", "target", "additional_contexts", "secrets", "ssh", "platforms"];

/// A key devenv refuses: where (relative to the service), why, how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Path under the service, e.g. `network_mode`, `deploy.replicas`, `volumes[2].type`.
    pub key: String,
    pub message: String,
    pub hint: String,
}

/// The outcome for one service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Review {
    /// Keys devenv ignores, in file order (`logging`, `build.ssh`, `deploy.resources`…).
    pub ignored: Vec<String>,
    pub refused: Option<Refusal>,
    /// What the user should know about keys devenv runs (a foreign `platform`).
    pub notes: Vec<String>,
}

fn refuse(review: &mut Review, key: &str, message: String, hint: &str) {
    if review.refused.is_none() {
        review.refused = Some(Refusal { key: key.to_string(), message, hint: hint.to_string() });
    }
}

/// The engine's platform as compose writes it (`linux/amd64`, `linux/arm64`).
pub fn host_platform() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    };
    format!("linux/{arch}")
}

fn same_platform(wanted: &str, host: &str) -> bool {
    use crate::values::platform::Platform;
    matches!((Platform::parse(wanted), Platform::parse(host)), (Some(w), Some(h)) if w == h)
}

/// Published ports with a `network_mode` that shares another network stack:
/// the engine discards them (`host`) or refuses the container (`service:`,
/// `container:`), so they are refused here, at the `ports` key.
pub fn network_mode_conflict(mode: &str) -> Option<String> {
    if mode == "host" {
        Some("published ports are discarded when using host network mode: the service listens on the host's ports directly".to_string())
    } else if mode.starts_with("service:") || mode.starts_with("container:") {
        Some(format!("conflicting options: port publishing and the container type network mode (`network_mode: {mode}`)"))
    } else {
        None
    }
}

fn check_network_mode(r: &mut Review, name: &str, svc: &Mapping) {
    let mode = svc.get("network_mode").and_then(go_scalar_string).unwrap_or_default();
    if !mode.is_empty() && svc.get("networks").is_some_and(|n| !n.is_null()) {
        let message = format!("service {name} declares mutually exclusive `network_mode` and `networks`: invalid compose project");
        refuse(r, "network_mode", message, "keep one of them");
    }
    let has_ports = svc.get("ports").and_then(Value::as_sequence).is_some_and(|p| !p.is_empty());
    if let Some(message) = network_mode_conflict(&mode).filter(|_| has_ports) {
        refuse(r, "ports", message, "remove `ports` (or `network_mode`): publish the ports on the service whose network is shared");
    }
}

/// Sorts the keys of one enabled service `name` (its merged, normalized map).
pub fn review(name: &str, svc: &Mapping, host: &str) -> Review {
    let mut r = Review::default();
    check_network_mode(&mut r, name, svc);
    for (k, v) in svc {
        let Some(key) = k.as_str() else { continue };
        if key.starts_with("x-") {
            continue;
        }
        if key == "platform"
            && let Some(text) = go_scalar_string(v).filter(|t| !t.is_empty() && !same_platform(t, host))
        {
            r.notes.push(format!(
                "`platform: {text}` differs from this machine ({host}): the engine runs it only with emulation (binfmt/QEMU) and an image for {text}"
            ));
        }
        if SUPPORTED.contains(&key) {
            nested(&mut r, key, v);
            continue;
        }
        let text = go_scalar_string(v).unwrap_or_default();
        match key {
            "uts" | "cgroup" | "userns_mode" => {
                if text == "host" || text.starts_with("service:") || text.starts_with("container:") {
                    refuse(
                        &mut r,
                        key,
                        format!("`{key}: {text}` is not supported: devenv does not share namespaces with the host or other containers"),
                        "remove it, or keep running this file with docker compose",
                    );
                } else {
                    r.ignored.push(key.to_string());
                }
            }
            "links" => {
                let aliased = v.as_sequence().into_iter().flatten().filter_map(Value::as_str).find(|l| l.contains(':'));
                match aliased {
                    Some(l) => refuse(
                        &mut r,
                        key,
                        format!("`links: [{l}]` uses an alias, which devenv does not create"),
                        "use the service name, or a network alias: `networks: {default: {aliases: [alias]}}`",
                    ),
                    None => r.ignored.push(key.to_string()),
                }
            }
            "external_links" => refuse(
                &mut r,
                key,
                "`external_links` is not supported: devenv only connects the project's own services".into(),
                "add the other container to the project, or reach it through a published port",
            ),
            "devices" | "device_cgroup_rules" | "gpus" => refuse(
                &mut r,
                key,
                format!("`{key}` is not supported: devenv does not give containers access to host devices"),
                "remove it, or keep running this file with docker compose",
            ),
            "runtime" => refuse(
                &mut r,
                key,
                format!("`runtime: {text}` is not supported: devenv runs containers with the engine's default runtime"),
                "remove it, or keep running this file with docker compose",
            ),
            "post_start" => refuse(
                &mut r,
                key,
                "`post_start` hooks are not supported: devenv would start the service without running them".into(),
                "run the command in the image's entrypoint, or as a one-shot service the others depend on",
            ),
            _ => r.ignored.push(key.to_string()),
        }
    }
    r
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Sequence(s) => s.is_empty(),
        Value::Mapping(m) => m.is_empty(),
        _ => false,
    }
}

fn deploy(r: &mut Review, v: &Value) {
    let Some(m) = v.as_mapping() else {
        if !v.is_null() {
            r.ignored.push("deploy".into());
        }
        return;
    };
    for (k, dv) in m {
        let key = k.as_str().unwrap_or_default();
        if key.starts_with("x-") {
            continue;
        }
        let path = format!("deploy.{key}");
        match key {
            "replicas" => {}
            "resources" => resources(r, dv),
            "restart_policy" => {
                // Compose gives the engine `condition` and `max_attempts`; `delay` and `window` are Swarm's.
                for (pk, _) in dv.as_mapping().into_iter().flatten() {
                    let pk = pk.as_str().unwrap_or_default();
                    if !pk.starts_with("x-") && !matches!(pk, "condition" | "max_attempts") {
                        r.ignored.push(format!("{path}.{pk}"));
                    }
                }
            }
            _ => r.ignored.push(path),
        }
    }
}

/// `deploy.resources`: limits (`cpus`, `memory`, `pids`) and the memory
/// reservation are applied; compose gives the engine nothing for the rest.
fn resources(r: &mut Review, v: &Value) {
    for (part, amounts) in v.as_mapping().into_iter().flatten() {
        let part = part.as_str().unwrap_or_default();
        if part.starts_with("x-") {
            continue;
        }
        let applied: &[&str] = match part {
            "limits" => &["cpus", "memory", "pids"],
            "reservations" => &["memory"],
            _ => &[],
        };
        let Some(m) = amounts.as_mapping() else {
            if applied.is_empty() && !amounts.is_null() {
                r.ignored.push(format!("deploy.resources.{part}"));
            }
            continue;
        };
        for (k, kv) in m {
            let k = k.as_str().unwrap_or_default();
            if k.starts_with("x-") || applied.contains(&k) {
                continue;
            }
            if part == "reservations" && k == "devices" && !is_empty(kv) {
                refuse(
                    r,
                    "deploy.resources.reservations.devices",
                    "device reservations (GPUs) are not supported: devenv does not give containers access to host devices".into(),
                    "remove them, or keep running this file with docker compose",
                );
            } else if !(part == "reservations" && k == "devices") {
                r.ignored.push(format!("deploy.resources.{part}.{k}"));
            }
        }
    }
}

/// Keys inside supported keys that devenv does not carry.
fn nested(r: &mut Review, key: &str, v: &Value) {
    match key {
        "deploy" => deploy(r, v),
        "build" => {
            let Some(b) = v.as_mapping() else { return };
            for (k, _) in b {
                let bk = k.as_str().unwrap_or_default();
                if bk.starts_with("x-") || BUILD_SUPPORTED.contains(&bk) {
                    continue;
                }
                r.ignored.push(format!("build.{bk}"));
            }
        }
        "networks" => {
            let Some(nets) = v.as_mapping() else { return };
            for (n, cfg) in nets {
                let name = n.as_str().unwrap_or_default();
                for (k, _) in cfg.as_mapping().into_iter().flatten() {
                    let nk = k.as_str().unwrap_or_default();
                    if nk != "aliases" && !nk.starts_with("x-") {
                        r.ignored.push(format!("networks.{name}.{nk}"));
                    }
                }
            }
        }
        "volumes" => {
            for (i, vol) in v.as_sequence().into_iter().flatten().enumerate() {
                let kind = vol.get("type").and_then(Value::as_str).unwrap_or_default();
                if !matches!(kind, "volume" | "bind" | "tmpfs") {
                    refuse(
                        r,
                        &format!("volumes[{i}].type"),
                        format!("volume type `{kind}` is not supported: devenv mounts named volumes, host paths and tmpfs"),
                        "use `type: volume`, `bind` or `tmpfs`",
                    );
                }
                if vol.get("consistency").is_some() {
                    r.ignored.push(format!("volumes[{i}].consistency"));
                }
            }
        }
        "env_file" => {
            for (i, f) in v.as_sequence().into_iter().flatten().enumerate() {
                if f.get("format").is_some() {
                    r.ignored.push(format!("env_file[{i}].format"));
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn review_of(yaml: &str) -> Review {
        let m: Mapping = serde_yaml::from_str(yaml).unwrap();
        review("a", &m, "linux/amd64")
    }

    #[test]
    fn harmless_keys_are_ignored_in_one_list() {
        let r = review_of(
            "image: x\nlogging: {driver: json-file}\nmem_limit: 1g\ndeploy: {resources: {limits: {cpus: '1'}}, replicas: 1}\nbuild: {context: ., cache_from: [x], privileged: true}\nnetworks: {front: {aliases: [a], ipv4_address: 10.0.0.2}}\npull_policy: always\nx-custom: 1\nipc: shareable\nplatform: linux/amd64\nlinks: [db]\n",
        );
        assert_eq!(r.refused, None);
        assert_eq!(
            r.ignored,
            [
                "logging",
                "build.cache_from",
                "build.privileged",
                "networks.front.ipv4_address",
                "pull_policy",
                "links"
            ]
        );
    }

    #[test]
    fn ports_with_a_shared_network_stack_are_refused_at_ports() {
        for mode in ["host", "\"service:db\"", "\"container:x\""] {
            let svc: Mapping = serde_yaml::from_str(&format!("network_mode: {mode}\nports: [\"80:80\"]\n")).unwrap();
            let r = review("a", &svc, "linux/amd64");
            assert_eq!(r.refused.as_ref().map(|f| f.key.as_str()), Some("ports"), "{mode}");
        }
        for mode in ["bridge", "none"] {
            let svc: Mapping = serde_yaml::from_str(&format!("network_mode: {mode}\nports: [\"80:80\"]\n")).unwrap();
            assert!(review("a", &svc, "linux/amd64").refused.is_none(), "{mode}");
        }
        let svc: Mapping = serde_yaml::from_str("network_mode: host\n").unwrap();
        assert_eq!(review("a", &svc, "linux/amd64"), Review::default());
    }

    #[test]
    fn applied_resources_are_not_reported_and_the_rest_is() {
        let r = review_of(
            "image: x\ncpus: 1\nmem_limit: 1g\nmem_reservation: 1m\npids_limit: 3\ndeploy:\n  resources:\n    limits: {cpus: '1', memory: 1g, pids: 3}\n    reservations: {cpus: '1', memory: 1m, devices: []}\n  restart_policy: {condition: any, max_attempts: 2, delay: 1s, window: 1m}\n",
        );
        assert_eq!(r.refused, None);
        assert_eq!(r.ignored, ["deploy.resources.reservations.cpus", "deploy.restart_policy.delay", "deploy.restart_policy.window"]);
        // Checked against the Dockerfile when the image is built, not at load.
        let r = review_of("build: {context: ., additional_contexts: {base: ../base}, secrets: [s], ssh: [default], platforms: [linux/amd64]}\n");
        assert_eq!(r, Review::default());
    }

    #[test]
    fn behaviour_changing_keys_are_refused() {
        let cases = [
            ("uts: host\n", "uts"),
            ("cgroup: host\n", "cgroup"),
            ("deploy: {resources: {reservations: {devices: [{capabilities: [gpu]}]}}}\n", "deploy.resources.reservations.devices"),
            ("links: [\"db:database\"]\n", "links"),
            ("external_links: [redis]\n", "external_links"),
            ("devices: [\"/dev/ttyUSB0:/dev/ttyUSB0\"]\n", "devices"),
            ("gpus: all\n", "gpus"),
            ("runtime: nvidia\n", "runtime"),
            ("post_start: [{command: x}]\n", "post_start"),
            ("volumes: [{type: npipe, source: x, target: /x}]\n", "volumes[0].type"),
        ];
        for (yaml, key) in cases {
            let r = review_of(yaml);
            let refusal = r.refused.unwrap_or_else(|| panic!("{yaml} should be refused"));
            assert_eq!(refusal.key, key, "{yaml}");
            assert!(!refusal.hint.is_empty());
        }
    }

    #[test]
    fn platforms() {
        assert!(same_platform("linux/amd64", "linux/amd64"));
        assert!(same_platform("LINUX/x86_64", "linux/amd64"));
        assert!(same_platform("amd64", "linux/amd64"));
        assert!(!same_platform("linux/arm64/v8", "linux/amd64"));
        assert!(host_platform().starts_with("linux/"));
    }
}
