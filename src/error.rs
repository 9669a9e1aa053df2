//! The user-facing error type, its hints and the documented exit codes.
//!
//! Owns: mapping every failure to `error: …` + `hint: …` and an exit code.
//! Layers keep their own error enums; this is where they meet the user.



use crate::config::ConfigError;

/// Documented exit codes (README "Exit codes").
pub mod exit {
    pub const OK: u8 = 0;
    /// Unexpected failure.
    pub const FAILURE: u8 = 1;
    /// Bad command line or environment file.
    pub const CONFIG: u8 = 2;
    /// Docker engine not reachable.
    pub const DOCKER_UNAVAILABLE: u8 = 3;
    /// Pre-flight check failed (e.g. a host port already in use).
    pub const PREFLIGHT: u8 = 4;
    /// An image could not be pulled or built.
    pub const IMAGE: u8 = 5;
    /// A service failed: exited while starting, never became ready, or a one-shot job failed.
    pub const SERVICE: u8 = 6;
    /// Seeding failed (the entries applied before stay recorded).
    pub const SEED: u8 = 7;
    /// Interrupted (Ctrl-C / SIGTERM); what this run started was stopped.
    pub const INTERRUPTED: u8 = 130;
}

/// Every failure that reaches the user.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error("{message}")]
    Usage { message: String, hint: Option<String> },
    #[error("cannot reach the Docker engine: {cause}")]
    DockerUnavailable { cause: String },
    #[error("{message}")]
    Preflight { message: String, hint: Option<String> },
    #[error("{message}")]
    Image { message: String, detail: Vec<String>, hint: Option<String> },
    #[error("{message}")]
    Service { message: String, logs: Vec<String>, hint: Option<String> },
    #[error("{message}")]
    Seed { message: String, hint: Option<String> },
    #[error("interrupted")]
    Interrupted,
    #[error("{operation}: {cause}")]
    Docker { operation: String, cause: String },
    #[error("{0}")]
    Other(String),
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Config(_) | Error::Usage { .. } => exit::CONFIG,
            Error::DockerUnavailable { .. } => exit::DOCKER_UNAVAILABLE,
            Error::Preflight { .. } => exit::PREFLIGHT,
            Error::Image { .. } => exit::IMAGE,
            Error::Service { .. } => exit::SERVICE,
            Error::Seed { .. } => exit::SEED,
            Error::Interrupted => exit::INTERRUPTED,
            Error::Docker { .. } | Error::Other(_) => exit::FAILURE,
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Config(c) => c.hint.clone(),
            Error::Usage { hint, .. }
            | Error::Preflight { hint, .. }
            | Error::Image { hint, .. }
            | Error::Service { hint, .. }
            | Error::Seed { hint, .. } => hint.clone(),
            Error::DockerUnavailable { .. } => Some(
                "is the Docker engine running? Start it (e.g. `sudo systemctl start docker`) or point DOCKER_HOST at it; `devenv doctor` checks".into(),
            ),
            Error::Interrupted => None,
            Error::Docker { .. } | Error::Other(_) => None,
        }
    }

    /// Extra lines shown under the error (build output, container logs).
    pub fn detail(&self) -> &[String] {
        match self {
            Error::Image { detail, .. } => detail,
            Error::Service { logs, .. } => logs,
            _ => &[],
        }
    }
}


pub type Result<T, E = Error> = std::result::Result<T, E>;
