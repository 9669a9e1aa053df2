//! plan: turn a loaded environment file into what should exist.
//!
//! Owns: resolving specs into `Resolved*` services (images, names, env,
//! references), the dependency graph and config hashes.
//! Must not: call Docker, read the disk, the process environment or `/proc` —
//! `config` parsed and expanded everything at load; host facts are passed in.
//! (One exception left: `ImageMap::load` reads the image-map files; its
//! callers — `cli`, `api`, `testcontainers` — run it before planning, and
//! `resolve` takes the map as data.)

pub mod graph;
pub mod hash;
pub mod healthcheck;
pub mod images;
pub mod model;
pub mod render;
pub mod replicas;
pub mod resolve;

pub use graph::{Cycle, Graph};
pub use images::ImageMap;
pub use resolve::{randomize_ports, resolve, Plan, Probe, ResolvedBuild, ResolvedHealth, ResolvedSeed, ResolvedService, SeedKind};

/// Test helper: `yaml` written as a devenv.yaml in a temporary directory,
/// loaded and planned with no image map (one copy for every module's tests).
#[cfg(test)]
pub(crate) fn plan_of(yaml: &str) -> Plan {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("devenv.yaml"), yaml).expect("write");
    let env = crate::config::load(&crate::config::LoadOptions { cwd: dir.path().to_path_buf(), ..Default::default() }).expect("load");
    resolve(&env, &ImageMap::default()).expect("resolve")
}
