//! The network and volume steps of a diff, run before any container is
//! created: `external` networks and volumes must exist and no name the project would
//! create may be taken by someone else's network or volume (pre-flight
//! failures, checked before anything is created); the project's own networks and the named volumes
//! the services use are created with the project's labels (`down` removes
//! them; a volume also with its `driver`, `driver_opts` and `labels`), and with the owner's labels when a process will tear them down
//! (`devenv run`), so `devenv gc` finds them if it dies before any container
//! exists. An object of the same name without those labels is never reused.
//! The project's networks are handed on by id (Docker allows two networks of
//! one name; a name is then ambiguous).

use std::collections::HashMap;

use super::Journal;
use crate::diff::{Changes, ObjectAction};
use crate::docker::{Docker, Ensured, NetworkSpec, VolumeDriver};
use crate::error::Error;
use crate::labels;
use crate::plan::Plan;

/// The labels of an object `owner` will remove (none when no process owns the
/// environment), with its creation time.
pub(super) fn owner_labels(owner: Option<u32>) -> Vec<(String, String)> {
    let mut l = vec![(labels::CREATED_AT.to_string(), chrono::Utc::now().to_rfc3339())];
    if let Some(pid) = owner {
        l.push((labels::OWNER_PID.to_string(), pid.to_string()));
        l.push((labels::OWNER_HOST.to_string(), labels::hostname()));
    }
    l
}

fn foreign_network(name: &str, project: &str) -> Error {
    Error::Preflight {
        message: format!("a network named `{name}` exists but was not created by devenv for project `{project}`"),
        hint: Some("devenv never touches objects without its labels: remove or rename that network, pick another project name with -p, or declare it `external: true` to use it as it is".into()),
    }
}

pub(super) fn foreign_volume(name: &str, project: &str) -> Error {
    Error::Preflight {
        message: format!("a volume named `{name}` exists but does not belong to devenv project `{project}`"),
        hint: Some("devenv will not reuse data it did not create: remove that volume yourself, or choose another project name with -p".into()),
    }
}

/// compose's words for an `external: true` volume that does not exist.
fn missing_external_volume(plan: &Plan, key: &str, name: &str) -> Error {
    Error::Preflight {
        message: format!("external volume \"{name}\" not found (`volumes.{key}` in {} is declared `external: true`)", plan.file.display()),
        hint: Some(format!("create it first (`docker volume create {name}`), or remove `external: true` from `volumes.{key}` to let devenv create it")),
    }
}

/// The labels (the file's, then the owner's) and driver a project volume is
/// created with; `key` is its name in the file.
pub(super) fn volume_create(plan: &Plan, key: &str, owner: Option<u32>) -> (Vec<(String, String)>, VolumeDriver) {
    let opts = plan.volume_options.get(key);
    let mut labels: Vec<(String, String)> = opts.map(|v| v.labels.clone().into_iter().collect()).unwrap_or_default();
    labels.extend(owner_labels(owner));
    let driver = VolumeDriver {
        driver: opts.and_then(|v| v.driver.clone()),
        options: opts.map(|v| v.driver_opts.clone().into_iter().collect()).unwrap_or_default(),
    };
    (labels, driver)
}

/// Before anything is created: the external networks exist, and no network
/// or volume the project would create has its name taken by someone else's.
async fn check(docker: &Docker, plan: &Plan, changes: &Changes) -> Result<(), Error> {
    for step in &changes.networks {
        let (key, name) = (&step.key, &step.name);
        if step.action == ObjectAction::UseExternal {
            if !docker.network_exists(name).await? {
                return Err(Error::Preflight {
                    message: format!("network `{key}` is declared `external: true`, but no Docker network named `{name}` exists"),
                    hint: Some(format!(
                        "create it first (`docker network create {name}`), or remove `external: true` from `networks.{key}` to let devenv create and remove it"
                    )),
                });
            }
        } else if docker.foreign_network_named(name, &plan.project).await? {
            return Err(foreign_network(name, &plan.project));
        }
    }
    for step in &changes.volumes {
        if step.action == ObjectAction::UseExternal {
            if !docker.volume_exists(&step.name).await? {
                return Err(missing_external_volume(plan, &step.key, &step.name));
            }
        } else if docker.foreign_volume_named(&step.name, &plan.project).await? {
            return Err(foreign_volume(&step.name, &plan.project));
        }
    }
    Ok(())
}

/// Check (see `check`), then create the project's own networks and volumes.
/// Returns the id of each of the project's networks, by Docker name.
pub async fn prepare(docker: &Docker, plan: &Plan, changes: &Changes, journal: &Journal, owner: Option<u32>) -> Result<HashMap<String, String>, Error> {
    check(docker, plan, changes).await?;
    let extra = owner_labels(owner);
    let mut ids = HashMap::new();
    for step in changes.networks.iter().filter(|s| s.action != ObjectAction::UseExternal) {
        let Some(net) = plan.networks.get(&step.key) else { continue };
        let mut labels: Vec<(String, String)> = net.labels.clone().into_iter().collect();
        labels.extend(extra.iter().cloned());
        let spec = NetworkSpec { name: net.name.clone(), driver: net.driver.clone(), internal: net.internal, labels };
        let ensured = docker.ensure_project_network(&spec, &plan.project).await?;
        if let Some(id) = &ensured.id {
            if ensured.ensured == Ensured::Created {
                journal.network_created(id);
            }
            ids.insert(net.name.clone(), id.clone());
        }
        if ensured.ensured == Ensured::Foreign {
            return Err(foreign_network(&net.name, &plan.project));
        }
    }
    for step in changes.volumes.iter().filter(|s| s.action != ObjectAction::UseExternal) {
        let (labels, driver) = volume_create(plan, &step.key, owner);
        let ensured = docker.ensure_volume(&step.name, &plan.project, &step.key, &labels, &driver).await?;
        if ensured == Ensured::Created {
            journal.volume_created(&step.name);
        }
        if ensured == Ensured::Foreign {
            return Err(foreign_volume(&step.name, &plan.project));
        }
    }
    Ok(ids)
}
