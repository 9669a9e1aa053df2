//! The config hash: decides whether a running container still matches the file.
//!
//! Only what shapes the container is hashed. `depends_on`, `health` (devenv
//! probes from outside) and profiles are left out, so editing them never
//! forces a recreate.

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::resolve::ResolvedService;

#[derive(Serialize)]
struct Hashed<'a> {
    project: &'a str,
    image: &'a str,
    build: Option<&'a super::resolve::ResolvedBuild>,
    command: &'a Option<Vec<String>>,
    entrypoint: &'a Option<Vec<String>>,
    env: Vec<(&'a String, &'a String)>,
    ports: &'a [crate::config::PortSpec],
    volumes: &'a [crate::config::VolumeSpec],
    ulimits: &'a [(String, i64, i64)],
    once: bool,
    labels: &'a std::collections::BTreeMap<String, String>,
    working_dir: &'a Option<String>,
    user: &'a Option<String>,
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
    };
    let json = serde_json::to_vec(&h).unwrap_or_default();
    let digest = Sha256::digest(&json);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
