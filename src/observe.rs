//! observe: ONE snapshot of what exists in Docker for a project.
//!
//! Owns: taking the snapshot (`snapshot`): the project's containers (by
//! label), the local image ids of the images the plan needs, the project's
//! networks and volumes. `diff` compares it to the plan. The `Observed*` data
//! types live in `docker` (which fills them) and are re-exported here.
//! Must not: change anything in Docker, or print.

use std::collections::BTreeMap;

pub use crate::docker::{ContainerState, ObservedContainer, ObservedPort};
use crate::docker::{Docker, DockerError};
use crate::plan::Plan;

/// Everything `up` needs to know about what exists, read once before the diff.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// The project's containers (by label), sorted by name.
    pub containers: Vec<ObservedContainer>,
    /// Local image id of each image the `wanted` services use; absent: not present locally.
    pub image_ids: BTreeMap<String, String>,
    /// Docker names of the networks carrying the project's label.
    pub networks: Vec<String>,
    /// Docker names of the volumes carrying the project's label.
    pub volumes: Vec<String>,
}

/// Take the snapshot of `plan.project` for the `wanted` services.
pub async fn snapshot(docker: &Docker, plan: &Plan, wanted: &[String]) -> Result<Snapshot, DockerError> {
    let containers = docker.project_containers(&plan.project).await?;
    let mut image_ids = BTreeMap::new();
    for svc in wanted.iter().filter_map(|n| plan.services.get(n)) {
        if !image_ids.contains_key(&svc.image)
            && let Some(id) = docker.image_id(&svc.image).await?
        {
            image_ids.insert(svc.image.clone(), id);
        }
    }
    let mut networks: Vec<String> = docker.project_networks(&plan.project).await?.into_iter().map(|n| n.name).collect();
    networks.dedup();
    let volumes = docker.project_volumes(&plan.project).await?;
    Ok(Snapshot { containers, image_ids, networks, volumes })
}
