//! The network and volume steps of a diff, run before any container is
//! created: `external` networks must exist (a pre-flight failure otherwise,
//! with nothing created yet); the project's own networks and the named volumes
//! the services use are created with the project's labels (`down` removes
//! them). An object of the same name without those labels is never reused.

use super::Journal;
use crate::diff::{Changes, ObjectAction};
use crate::docker::{Docker, Ensured, NetworkSpec};
use crate::error::Error;
use crate::plan::Plan;

/// Check the external networks, then create the project's own networks and volumes.
pub async fn prepare(docker: &Docker, plan: &Plan, changes: &Changes, journal: &Journal) -> Result<(), Error> {
    for step in changes.networks.iter().filter(|s| s.action == ObjectAction::UseExternal) {
        if !docker.network_exists(&step.name).await? {
            let (key, name) = (&step.key, &step.name);
            return Err(Error::Preflight {
                message: format!("network `{key}` is declared `external: true`, but no Docker network named `{name}` exists"),
                hint: Some(format!(
                    "create it first (`docker network create {name}`), or remove `external: true` from `networks.{key}` to let devenv create and remove it"
                )),
            });
        }
    }
    for step in changes.networks.iter().filter(|s| s.action != ObjectAction::UseExternal) {
        let Some(net) = plan.networks.get(&step.key) else { continue };
        let spec = NetworkSpec { name: net.name.clone(), driver: net.driver.clone(), internal: net.internal, labels: net.labels.clone().into_iter().collect() };
        let ensured = docker.ensure_project_network(&spec, &plan.project).await?;
        if ensured == Ensured::Created {
            journal.network_created(&net.name);
        }
        if ensured == Ensured::Foreign {
            let (name, project) = (&net.name, &plan.project);
            return Err(Error::Preflight {
                message: format!("a network named `{name}` exists but was not created by devenv for project `{project}`"),
                hint: Some("devenv never touches objects without its labels: remove or rename that network, pick another project name with -p, or declare it `external: true` to use it as it is".into()),
            });
        }
    }
    for step in &changes.volumes {
        let ensured = docker.ensure_volume(&step.name, &plan.project, &step.key).await?;
        if ensured == Ensured::Created {
            journal.volume_created(&step.name);
        }
        if ensured == Ensured::Foreign {
            let (name, project) = (&step.name, &plan.project);
            return Err(Error::Preflight {
                message: format!("a volume named `{name}` exists but does not belong to devenv project `{project}`"),
                hint: Some("devenv will not reuse data it did not create: remove that volume yourself, or choose another project name with -p".into()),
            });
        }
    }
    Ok(())
}
