//! config: read the environment file (devenv.yaml, or compose files through
//! `compose`) into one typed, validated model.
//!
//! Owns: finding the file, deserializing, validation — which parses every
//! value once onto `ServiceSpec::parsed` (ports, volumes, env, preset kind,
//! restart and other runtime options, seed entries with globs expanded) — and
//! the position map (`LoadedEnv::locations`) later errors point through.
//! The text layer (positions, interpolation, merges, hints) is `yaml`; value
//! parsers are `values`. Must not: talk to Docker or the network, write to
//! disk (loading is read-only: `devenv config` writes nothing). Resolution
//! (presets, hashes, graph) belongs to `plan`.

pub mod files;
pub mod from_compose;
pub mod load;
pub mod model;
pub mod parsed;
pub mod validate;

pub use load::{LoadedEnv, load};
pub use model::*;
pub use parsed::{Namespace, Parsed, RuntimeOptions, VolumesFrom, VolumesFromSource};
// Moved to the rank-0 modules `yaml` and `values`; the old paths stay valid.
pub use crate::values::{ports, runtime, volumes};
pub use crate::values::{parse_port, PortSpec, VolumeSpec};
pub use crate::yaml::{interpolate, locate};
pub use crate::yaml::{ConfigError, Locations, Pos};
// What loading needs from outside; defined by `compose` (its loader takes it too).
pub use crate::compose::LoadOptions;
