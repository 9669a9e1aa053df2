//! values: the pure value types devenv and compose files write as strings,
//! and their parsers — published ports, volumes (and path normalizing),
//! durations, restart policies and the other runtime options, image
//! references, project names.
//!
//! Rank 0: imports no other devenv module. Must not: touch the disk, read the
//! process environment (callers pass `$HOME` and the base directory in), or
//! know where in a file a value was written (callers attach positions).

pub mod duration;
pub mod dockerfile;
pub mod image;
pub mod names;
pub mod platform;
pub mod ports;
pub mod runtime;
pub mod volumes;

pub use duration::{format_duration, parse_duration};
pub use image::{reference_problem, split_reference, tag_problem, ImageConfig};
pub use names::normalize_project_name;
pub use ports::{PortSpec, parse_port};
pub use runtime::RestartPolicy;
pub use volumes::VolumeSpec;
