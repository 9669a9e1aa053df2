//! Stopping and removing: a project's teardown (graceful in reverse
//! dependency order, or — when the data goes anyway — killed and removed at
//! once), and the graceful rollback of an interrupted `up` (exactly what its
//! journal recorded).
//! Must not: print (it emits `ui` events).

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

use super::Undo;
use crate::docker::{short, Docker, DockerError};
use crate::error::Error;
use crate::observe::ObservedContainer;
use crate::ui::{Status, Ui};

/// Undo what a run did: remove the containers it created, stop the ones it
/// started that existed before, then remove the networks and volumes it
/// created (once no container of its own uses them). Best effort: what cannot
/// be removed is left, never something the run did not make.
pub(super) async fn rollback(docker: &Docker, undo: &Undo) {
    let mut set = JoinSet::new();
    // Gracefully: a container it created may hold a volume that stays.
    for id in undo.created.clone() {
        let d = docker.clone();
        set.spawn(async move {
            let _ = d.stop(&id, Duration::from_secs(5)).await;
            let _ = d.remove_container(&id).await;
        });
    }
    for id in undo.started.clone() {
        let d = docker.clone();
        set.spawn(async move {
            let _ = d.stop(&id, Duration::from_secs(5)).await;
        });
    }
    while set.join_next().await.is_some() {}
    for n in &undo.networks {
        let _ = docker.remove_network(n).await;
    }
    for v in &undo.volumes {
        let _ = docker.remove_volume(v).await;
    }
}

/// How a teardown ends a project's containers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Compose's way: the stop signal, then SIGKILL after the grace period
    /// (`None`: each container's own `stop_grace_period`, else Docker's 10 s),
    /// in reverse dependency order; each service stops as soon as its
    /// dependents have, so every wave stops in parallel.
    Graceful(Option<Duration>),
    /// Their data is being discarded (`run`, the library, `down -v`): every
    /// container killed and removed at once, in parallel, whatever it does
    /// with signals.
    Discard,
}

/// Kill and remove `containers` at once, in parallel (a forced removal:
/// SIGKILL, then the container and its anonymous volumes go).
async fn discard(docker: &Docker, containers: &[ObservedContainer], ui: &Ui) -> Result<(), Error> {
    let mut set: JoinSet<Result<(), Error>> = JoinSet::new();
    for c in containers {
        let key = crate::diff::replica_label(c.service.as_deref().unwrap_or(&c.name), c.replica);
        let (d, ui, id) = (docker.clone(), ui.clone(), c.id.clone());
        set.spawn(async move {
            d.remove_container(&id).await?;
            ui.service(&key, Status::Removed);
            Ok(())
        });
    }
    first_error(set).await
}

/// Wait for every task; the first error, if any.
async fn first_error(mut set: JoinSet<Result<(), Error>>) -> Result<(), Error> {
    let mut first = None;
    while let Some(r) = set.join_next().await {
        match r {
            Ok(Err(e)) if first.is_none() => first = Some(e),
            Err(e) if first.is_none() => first = Some(Error::Other(format!("internal task failed: {e}"))),
            _ => {}
        }
    }
    first.map_or(Ok(()), Err)
}

/// Stop (and optionally remove) containers in reverse dependency order, in parallel.
/// `graph_deps` maps a service to the services it depends on (from the file, when it loads).
/// `timeout`: the grace period before a kill; `None`: each container's own
/// (its service's `stop_grace_period`, else Docker's 10 s).
pub async fn stop_in_order(
    docker: &Docker,
    containers: &[ObservedContainer],
    graph_deps: &HashMap<String, Vec<String>>,
    timeout: impl Into<Option<Duration>>,
    remove: bool,
    ui: &Ui,
) -> Result<(), Error> {
    let timeout: Option<Duration> = timeout.into();
    // A container may stop once everything that depends on it has stopped
    // (every replica of a dependent: one channel per container, by service).
    let mut done: Vec<Option<watch::Sender<bool>>> = Vec::new();
    let mut rx: HashMap<String, Vec<watch::Receiver<bool>>> = HashMap::new();
    for c in containers {
        let key = c.service.clone().unwrap_or_else(|| c.name.clone());
        let (t, r) = watch::channel(false);
        done.push(Some(t));
        rx.entry(key).or_default().push(r);
    }
    // Each service → its dependents (one pass over the graph, not one per container).
    let mut dependents_of: HashMap<&str, Vec<&str>> = HashMap::new();
    for (s, ds) in graph_deps {
        for d in ds {
            dependents_of.entry(d.as_str()).or_default().push(s.as_str());
        }
    }
    let mut set: JoinSet<Result<(), Error>> = JoinSet::new();
    for (i, c) in containers.iter().enumerate() {
        let service = c.service.clone().unwrap_or_else(|| c.name.clone());
        let dependents: Vec<watch::Receiver<bool>> =
            dependents_of.get(service.as_str()).into_iter().flatten().filter_map(|s| rx.get(*s)).flatten().cloned().collect();
        let key = crate::diff::replica_label(&service, c.replica);
        let Some(tx) = done.get_mut(i).and_then(Option::take) else { continue };
        let d = docker.clone();
        let ui = ui.clone();
        let id = c.id.clone();
        let running = c.state == crate::observe::ContainerState::Running;
        set.spawn(async move {
            for mut r in dependents {
                while !*r.borrow_and_update() {
                    if r.changed().await.is_err() {
                        break;
                    }
                }
            }
            if running {
                ui.service(&key, Status::Stopping);
                d.stop(&id, timeout).await?;
            }
            if remove {
                d.remove_container(&id).await?;
                ui.service(&key, Status::Removed);
            } else {
                ui.service(&key, Status::Stopped);
            }
            let _ = tx.send(true);
            Ok(())
        });
    }
    first_error(set).await
}

/// What `teardown` removed, and what it could not.
#[derive(Debug, Default, Clone)]
pub struct Removed {
    pub containers: usize,
    pub networks: usize,
    pub volumes: usize,
    /// Set by `down --rmi` (`teardown` removes no image).
    pub images: usize,
    /// Each object that could not be removed, with why (everything else was).
    pub left: Vec<String>,
}

impl Removed {
    pub fn describe(&self, project: &str, volumes_asked: bool, images_asked: bool) -> String {
        let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
        if self.containers + self.networks + self.volumes + self.images == 0 && self.left.is_empty() {
            return format!("nothing to remove for project `{project}`");
        }
        let mut parts = vec![plural(self.containers, "container"), plural(self.networks, "network")];
        if volumes_asked {
            parts.push(plural(self.volumes, "volume"));
        }
        if images_asked {
            parts.push(plural(self.images, "image"));
        }
        let left = if self.left.is_empty() { String::new() } else { format!("; {} could not be removed", plural(self.left.len(), "object")) };
        format!("removed {}{left}", parts.join(", "))
    }

    /// `Err` naming what was left, when something was.
    pub fn into_result(self, project: &str) -> Result<Removed, Error> {
        if self.left.is_empty() {
            return Ok(self);
        }
        let n = self.left.len();
        Err(Error::Incomplete {
            message: format!("{n} object{} of project `{project}` could not be removed (everything else was)", if n == 1 { "" } else { "s" }),
            left: self.left,
            hint: Some(format!("remove what holds them (named above), then run `devenv -p {project} down -v` again")),
        })
    }
}

/// Remove a project: containers (as `ending` says: graceful in reverse
/// dependency order, or killed and removed at once), its networks (every one with its label, by id: duplicates of one name too),
/// and with `volumes` its volumes (named, and the anonymous ones devenv
/// labels; the others go with their container). Only objects carrying the
/// project's label are touched (never `external` networks). An object that
/// cannot be removed does not stop the others: it is listed in `left`.
pub async fn teardown(
    docker: &Docker,
    project: &str,
    deps: &HashMap<String, Vec<String>>,
    ending: Ending,
    volumes: bool,
    ui: &Ui,
) -> Result<Removed, Error> {
    let containers = docker.project_containers(project).await?;
    let mut removed = Removed::default();
    let ended = match ending {
        Ending::Graceful(timeout) => stop_in_order(docker, &containers, deps, timeout, true, ui).await,
        Ending::Discard => discard(docker, &containers, ui).await,
    };
    if let Err(e) = ended {
        // The others were stopped and removed: count what is still there.
        let still = docker.project_containers(project).await?;
        removed.left.extend(still.iter().map(|c| format!("container `{}`: {e}", c.name)));
    }
    removed.containers = containers.len().saturating_sub(removed.left.len());
    for n in docker.project_networks(project).await? {
        match remove_network_settled(docker, &n.id).await {
            Ok(()) => removed.networks += 1,
            Err(e) => removed.left.push(network_left(docker, project, &n.name, &n.id, &e).await),
        }
    }
    if volumes {
        for v in docker.project_volumes(project).await? {
            match docker.remove_volume(&v).await {
                Ok(()) => removed.volumes += 1,
                Err(e) => removed.left.push(format!("volume `{v}`: {e}")),
            }
        }
    }
    Ok(removed)
}

/// Remove a network whose containers were just removed. Docker may still
/// be releasing their endpoints (many containers, a loaded engine): while it
/// reports active endpoints but no container is attached any more, retry
/// for a little while.
async fn remove_network_settled(docker: &Docker, id: &str) -> Result<(), DockerError> {
    let mut tries = 0;
    loop {
        let err = match docker.remove_network(id).await {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        tries += 1;
        let attached = docker.network_endpoints(id).await.map(|u| !u.is_empty()).unwrap_or(true);
        if attached || tries >= 50 {
            return Err(err);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Why network `name` could not be removed: the containers still attached
/// (of another project, or none), else Docker's error.
async fn network_left(docker: &Docker, project: &str, name: &str, id: &str, e: &DockerError) -> String {
    match docker.network_endpoints(id).await {
        Ok(users) if !users.is_empty() => format!(
            "network `{name}` ({}): still used by {} not part of project `{project}` (`docker network disconnect {} CONTAINER` frees it)",
            short(id),
            users.iter().map(|u| format!("`{u}`")).collect::<Vec<_>>().join(", "),
            short(id)
        ),
        _ => format!("network `{name}` ({}): {e}", short(id)),
    }
}

#[cfg(test)]
mod tests {
    use super::Removed;

    #[test]
    fn what_could_not_be_removed_is_named_in_the_summary_and_the_error() {
        let all = Removed { containers: 2, networks: 1, volumes: 1, images: 0, left: vec![] };
        assert_eq!(all.describe("p", true, false), "removed 2 containers, 1 network, 1 volume");
        assert!(all.into_result("p").is_ok());
        let some = Removed { containers: 2, networks: 0, volumes: 1, images: 0, left: vec!["network `p_default` (abc): still used by `x`".into()] };
        assert_eq!(some.describe("p", true, false), "removed 2 containers, 0 networks, 1 volume; 1 object could not be removed");
        let e = some.into_result("p").expect_err("something was left");
        assert_eq!(e.exit_code(), crate::error::exit::FAILURE);
        assert_eq!(e.to_string(), "1 object of project `p` could not be removed (everything else was)");
        assert_eq!(e.detail(), ["network `p_default` (abc): still used by `x`".to_string()]);
        assert_eq!(e.docs(), Some("README.md#exit-codes"));
    }
}
