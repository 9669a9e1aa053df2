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
pub mod images;
pub mod model;
pub mod render;
pub mod resolve;

pub use graph::{Cycle, Graph};
pub use images::ImageMap;
pub use resolve::{randomize_ports, resolve, Plan, Probe, ResolvedBuild, ResolvedHealth, ResolvedSeed, ResolvedService, SeedKind};
