//! config: read the environment file into typed specs.
//!
//! Owns: finding the file, YAML parsing, `.env` + shell interpolation,
//! validation, and error locations (file:line:column + YAML path).
//! Must not: talk to Docker or the network. Resolution (presets, hashes,
//! graph) belongs to `plan`.

pub mod from_compose;
pub mod interpolate;
pub mod load;
pub mod locate;
pub mod model;
pub mod ports;
pub mod runtime;
pub mod validate;
pub mod volumes;

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;

pub use load::load;
pub use locate::Locations;
pub use model::*;
pub use ports::{parse_port, PortSpec};
pub use volumes::{parse_volume, VolumeSpec};

/// What the loader needs from the outside world (kept explicit for tests).
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `-f FILE`; default: `devenv.yaml` in `cwd`, else a compose file.
    pub file: Option<PathBuf>,
    /// Further `-f` files (compose files only: merged over `file` in order).
    pub more_files: Vec<PathBuf>,
    /// `-p NAME`; overrides `name:` and the directory name.
    pub project: Option<String>,
    /// `--profile` values (services with no `profiles` always run).
    pub profiles: Vec<String>,
    pub cwd: PathBuf,
    /// The process environment (interpolation reads this first, then `.env`).
    pub environ: HashMap<String, String>,
}

/// A loaded, interpolated and validated environment file.
#[derive(Debug, Clone)]
pub struct LoadedEnv {
    pub spec: EnvSpec,
    /// Absolute path of the file read.
    pub file: PathBuf,
    /// Directory relative paths are resolved against (the file's directory).
    pub dir: PathBuf,
    /// Project name: `-p`, else `name:`, else the directory name (normalized).
    pub project: String,
    /// YAML path -> position, for errors found after loading (e.g. cycles).
    pub locations: Locations,
    /// Per service: the environment after merging `env_file`s and `env` (env wins),
    /// with bare keys taken from the shell/.env; keys absent everywhere are dropped.
    pub service_env: HashMap<String, indexmap::IndexMap<String, String>>,
    /// Per service: parsed ports and volumes.
    pub service_ports: HashMap<String, Vec<PortSpec>>,
    pub service_volumes: HashMap<String, Vec<VolumeSpec>>,
    /// Warnings worth showing (e.g. a `.env` line that could not be parsed).
    pub warnings: Vec<String>,
}

/// A position in the environment file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
}

/// An error in the environment file: where, what, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    pub pos: Option<Pos>,
    /// Dotted YAML path, e.g. `services.api.depends_on.db2`; empty for the whole file.
    pub yaml_path: String,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(p) = self.pos {
            write!(f, ":{}:{}", p.line, p.col)?;
        }
        if !self.yaml_path.is_empty() {
            write!(f, ": {}", self.yaml_path)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}
