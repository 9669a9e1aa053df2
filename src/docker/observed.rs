//! What Docker reports about a project's objects, as plain data (filled by
//! `Docker::project_containers` and friends; `observe` re-exports these).
//! Must not: hold bollard types.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ContainerState {
    Created,
    Running,
    Paused,
    Restarting,
    Removing,
    Exited,
    Dead,
    Unknown,
}

impl ContainerState {
    pub fn parse(s: &str) -> Self {
        match s {
            "created" => Self::Created,
            "running" => Self::Running,
            "paused" => Self::Paused,
            "restarting" => Self::Restarting,
            "removing" => Self::Removing,
            "exited" => Self::Exited,
            "dead" => Self::Dead,
            _ => Self::Unknown,
        }
    }
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Restarting => "restarting",
            Self::Removing => "removing",
            Self::Exited => "exited",
            Self::Dead => "dead",
            Self::Unknown => "unknown",
        }
    }
}

/// A published port as Docker reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObservedPort {
    pub host_ip: String,
    pub host_port: u16,
    pub container_port: u16,
    pub protocol: String,
}

/// One container carrying this project's label.
#[derive(Debug, Clone, Serialize)]
pub struct ObservedContainer {
    pub id: String,
    pub name: String,
    /// `None` when the service label is missing (should not happen for our containers).
    pub service: Option<String>,
    /// The replica number label (`None`: a service without replicas).
    pub replica: Option<u32>,
    pub config_hash: Option<String>,
    pub image: String,
    pub image_id: String,
    pub state: ContainerState,
    /// Docker's human status ("Up 3 minutes (healthy)").
    pub status: String,
    /// Docker HEALTHCHECK status, if the image has one.
    pub health: Option<String>,
    pub ports: Vec<ObservedPort>,
    /// Unix seconds.
    pub created: i64,
    pub oneshot: bool,
    /// The process that owns this ephemeral environment (`devenv run`, the library), and its host.
    pub owner: Option<(u32, String)>,
    /// The project label.
    pub project: String,
}

/// A network or volume carrying devenv's project label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObservedObject {
    /// A network's id; a volume's name (which is its id).
    pub id: String,
    pub name: String,
    /// The project label.
    pub project: String,
    /// The process that owns it (`devenv run`, the library), and its host.
    pub owner: Option<(u32, String)>,
    /// Unix seconds, from devenv's `created-at` label (absent on objects made by older versions).
    pub created: Option<i64>,
}
