//! plan: turn a loaded environment file into what should exist.
//!
//! Owns: resolving specs into `Resolved*` services (images, names, env,
//! references), the dependency graph and config hashes. `plan::diff` and
//! `plan::labels` re-export `crate::diff` and `crate::labels` (their old home).
//! Must not: call Docker.

pub use crate::diff;
pub mod graph;
pub mod hash;
pub mod images;
pub use crate::labels;
pub mod resolve;

pub use diff::{diff, Step, StepKind};
pub use graph::{Cycle, Graph};
pub use images::ImageMap;
pub use resolve::{randomize_ports, resolve, Plan, Probe, ResolvedBuild, ResolvedHealth, ResolvedSeed, ResolvedService, SeedKind};
