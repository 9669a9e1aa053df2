//! The config hash: decides whether a running container still matches the file.
//!
//! Only what shapes the container is hashed. `depends_on`, the readiness probe
//! (devenv probes from outside) and profiles are left out, so editing them never
//! forces a recreate; the HEALTHCHECK written onto the container (from an
//! `exec`/`shell` probe, or `disable`) is in. Options added later are hashed
//! only when set, so a service that does not use them keeps its hash (and its
//! container) across devenv upgrades.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::model::{DEFAULT_NETWORK, DockerHealthcheck, NetworkAttachment, ResolvedService};
use crate::values::runtime::{Resources, RestartPolicy};

#[derive(Serialize)]
struct Hashed<'a> {
    project: &'a str,
    image: &'a str,
    build: Option<&'a super::model::ResolvedBuild>,
    command: &'a Option<Vec<String>>,
    entrypoint: &'a Option<Vec<String>>,
    env: Vec<(&'a String, &'a String)>,
    ports: &'a [crate::values::PortSpec],
    volumes: &'a [crate::values::VolumeSpec],
    ulimits: &'a [(String, i64, i64)],
    once: bool,
    labels: &'a BTreeMap<String, String>,
    working_dir: &'a Option<String>,
    user: &'a Option<String>,
    #[serde(flatten)]
    runtime: Runtime<'a>,
}

/// The runtime options; each left out of the JSON while unset.
#[derive(Serialize)]
struct Runtime<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    container_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hostname: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    restart: Option<&'a RestartPolicy>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    expose: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    networks: Option<&'a [NetworkAttachment]>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    extra_hosts: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    stop_grace_period_ms: Option<u128>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stop_signal: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    init: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tty: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stdin_open: Option<bool>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    tmpfs: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    privileged: Option<bool>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    cap_add: &'a [String],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    cap_drop: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    shm_size: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    healthcheck: Option<&'a DockerHealthcheck>,
    #[serde(skip_serializing_if = "Option::is_none")]
    platform: Option<&'a str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    volumes_from: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    ipc_mode: Option<&'a str>,
    #[serde(skip_serializing_if = "Resources::is_empty")]
    resources: Resources,
    #[serde(skip_serializing_if = "Option::is_none")]
    pid_mode: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    network_mode: Option<&'a str>,
    /// Written files: (target, mode, uid, gid, sha256 of the content).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    files: Vec<(&'a str, u32, Option<u32>, Option<u32>, String)>,
}

impl<'a> Runtime<'a> {
    fn of(s: &'a ResolvedService, project: &str) -> Self {
        let default_name = format!("{project}-{}", s.name);
        Runtime {
            container_name: (s.container_name != default_name).then_some(s.container_name.as_str()),
            hostname: (s.hostname != s.name).then_some(s.hostname.as_str()),
            restart: s.restart.as_ref(),
            expose: &s.expose,
            networks: (!only_default_network(s, project)).then_some(s.networks.as_slice()),
            extra_hosts: &s.extra_hosts,
            stop_grace_period_ms: s.stop_grace_period.as_ref().map(Duration::as_millis),
            stop_signal: s.stop_signal.as_deref(),
            init: s.init,
            tty: s.tty,
            stdin_open: s.stdin_open,
            tmpfs: &s.tmpfs,
            privileged: s.privileged,
            cap_add: &s.cap_add,
            cap_drop: &s.cap_drop,
            shm_size: s.shm_size,
            healthcheck: s.docker_healthcheck.as_ref(),
            platform: s.platform.as_deref(),
            volumes_from: &s.volumes_from,
            ipc_mode: s.ipc_mode.as_deref(),
            resources: s.resources,
            pid_mode: s.pid_mode.as_deref(),
            network_mode: s.network_mode.as_deref(),
            files: s.files.iter().map(|f| (f.target.as_str(), f.mode, f.uid, f.gid, hex(&Sha256::digest(f.content.as_bytes())))).collect(),
        }
    }
}

/// The service joins just the project's default network, under its own name.
fn only_default_network(s: &ResolvedService, project: &str) -> bool {
    match s.networks.as_slice() {
        [n] => n.name == DEFAULT_NETWORK && n.docker_name == format!("{project}_{DEFAULT_NETWORK}") && n.aliases.is_empty(),
        _ => false,
    }
}

/// sha256 (hex) of the container-affecting fields; env is sorted so order never matters.
pub fn config_hash(s: &ResolvedService, project: &str) -> String {
    let mut env: Vec<_> = s.env.iter().collect();
    env.sort();
    let h = Hashed {
        project,
        image: &s.image,
        build: s.build.as_ref(),
        command: &s.command,
        entrypoint: &s.entrypoint,
        env,
        ports: &s.ports,
        volumes: &s.volumes,
        ulimits: &s.ulimits,
        once: s.once,
        labels: &s.labels,
        working_dir: &s.working_dir,
        user: &s.user,
        runtime: Runtime::of(s, project),
    };
    let json = serde_json::to_vec(&h).unwrap_or_default();
    hex(&Sha256::digest(&json))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use crate::plan::plan_of;

    const BASE: &str = "name: hashfix\nservices:\n  db:\n    preset: postgres\n  web:\n    image: devenv-test/app:1\n    env: {A: \"1\"}\n    ports: [\"8080:8080\"]\n    health: {http: /health, port: 8080}\n    depends_on: [db]\n";

    #[test]
    fn services_without_the_new_options_keep_their_hash() {
        // Hashes computed by devenv before the runtime options existed: upgrading must not recreate.
        let p = plan_of(BASE);
        assert_eq!(p.services["db"].config_hash, "871bf84e2c203e010ba716c538f8d77fe01f127862dbe8731e4230d3b7879672");
        assert_eq!(p.services["web"].config_hash, "e1735c587a2b17cdf201d9880460f53ff70def4c96919d139817725d5affc8ae");
        // Writing the defaults explicitly changes nothing either.
        let explicit = BASE.replace("    depends_on: [db]\n", "    depends_on: [db]\n    hostname: web\n    container_name: hashfix-web\n    networks: [default]\n");
        assert_eq!(plan_of(&explicit).services["web"].config_hash, p.services["web"].config_hash);
    }

    #[test]
    fn each_container_option_changes_the_hash() {
        let base = plan_of(BASE).services["web"].config_hash.clone();
        let top = "networks:\n  back:\n";
        let edits = [
            "    restart: always\n",
            "    expose: [\"9000\"]\n",
            "    networks: [back]\n",
            "    networks: {default: {aliases: [www]}}\n",
            "    extra_hosts: [\"a:10.0.0.1\"]\n",
            "    hostname: other\n",
            "    container_name: other-web\n",
            "    stop_grace_period: 30s\n",
            "    stop_signal: SIGINT\n",
            "    ulimits: {nofile: 1024}\n",
            "    init: true\n",
            "    tty: true\n",
            "    stdin_open: true\n",
            "    tmpfs: /run\n",
            "    privileged: true\n",
            "    cap_add: [NET_ADMIN]\n",
            "    cap_drop: [MKNOD]\n",
            "    shm_size: 1g\n",
        ];
        let mut seen = vec![base.clone()];
        for edit in edits {
            let yaml = format!("{top}{BASE}{edit}");
            let h = plan_of(&yaml).services["web"].config_hash.clone();
            assert!(!seen.contains(&h), "`{}` did not change the hash", edit.trim());
            seen.push(h);
        }
    }

    #[test]
    fn the_container_healthcheck_is_hashed_the_readiness_probe_is_not() {
        let hash = |health: &str| plan_of(&BASE.replace("{http: /health, port: 8080}", health)).services["web"].config_hash.clone();
        let http = hash("{http: /health, port: 8080}");
        assert_eq!(hash("{http: /other, port: 8080, timeout: 5s}"), http, "devenv's own probe is outside the container");
        assert_ne!(hash("{exec: [\"true\"]}"), http, "an exec probe becomes the container's HEALTHCHECK");
        assert_ne!(hash("{exec: [\"true\"]}"), hash("{shell: \"true\"}"));
        assert_ne!(hash("{disable: true}"), http);
    }

    #[test]
    fn renaming_a_joined_network_changes_the_hash() {
        let yaml = |name: &str| format!("networks:\n  back: {{name: {name}}}\n{BASE}    networks: [back]\n");
        assert_ne!(plan_of(&yaml("net-a")).services["web"].config_hash, plan_of(&yaml("net-b")).services["web"].config_hash);
    }
}
