//! yaml: the text layer under every file devenv reads (devenv.yaml, compose
//! files, `.env`): positions of YAML nodes (`Locations`), the positioned
//! `ConfigError`, syntax errors, `<<` merge keys, `${VAR}` interpolation and
//! `.env` parsing, did-you-mean hints.
//!
//! Rank 0: imports no other devenv module. Must not: know what a service is,
//! touch the disk, read the process environment (callers pass lookups in).

pub mod envfile;
pub mod error;
pub mod hints;
pub mod interpolate;
pub mod locate;
pub mod syntax;

pub use error::{ConfigError, Pos};
pub use hints::{did_you_mean, hint_for};
pub use locate::Locations;
pub use syntax::{apply_merges, first_tag, kind_of, syntax_error};
