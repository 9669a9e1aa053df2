//! observe: ONE snapshot of what exists in Docker for a project.
//!
//! Owns: taking the snapshot (`snapshot`): the project's containers (by
//! label), the local image ids of the images the plan needs, the project's
//! networks and volumes. `diff` compares it to the plan. The `Observed*` data
//! types live in `docker` (which fills them) and are re-exported here.
//! Must not: change anything in Docker, or print.

pub use crate::docker::{ContainerState, ObservedContainer, ObservedPort};
