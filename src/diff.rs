//! diff: desired (plan) vs observed (Docker) → steps.
//!
//! Owns: comparing the plan with one `observe` snapshot. Pure: must not call
//! Docker, print, or read the disk. Each step has a `Display` form that tests
//! and the UI use.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::observe::{ContainerState, ObservedContainer, Snapshot};
use crate::plan::resolve::ResolvedNetwork;
use crate::plan::{Plan, ResolvedService};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum StepKind {
    /// No container yet.
    Create,
    /// The container no longer matches the file.
    Recreate { cause: String },
    /// The container matches but is not running.
    Start,
    /// Running and unchanged (or a `run: once` job that already completed).
    Keep,
    /// A container whose service is gone from the file.
    RemoveOrphan,
    /// A replica beyond the service's count (scaled down): removed.
    Remove,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub service: String,
    #[serde(flatten)]
    pub kind: StepKind,
    /// The replica (services with `replicas`; `None`: the service's one container).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replica: Option<u32>,
    /// Existing container id (for Recreate/Start/Keep/RemoveOrphan).
    #[serde(skip)]
    pub container: Option<String>,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.label();
        match &self.kind {
            StepKind::Create => write!(f, "create {name}"),
            StepKind::Recreate { cause } => write!(f, "recreate {name} ({cause})"),
            StepKind::Start => write!(f, "start {name}"),
            StepKind::Keep => write!(f, "keep {name}"),
            StepKind::RemoveOrphan => write!(f, "orphan {name}"),
            StepKind::Remove => write!(f, "remove {name} (scaled down)"),
        }
    }
}

impl Step {
    /// The service, or `service-n` for replica n (as `ps` and `logs` name it).
    pub fn label(&self) -> String {
        replica_label(&self.service, self.replica)
    }
}

/// `service`, or `service-n` for replica n.
pub fn replica_label(service: &str, replica: Option<u32>) -> String {
    match replica {
        Some(n) => format!("{service}-{n}"),
        None => service.to_string(),
    }
}

/// Compare the plan's `selected` services with what is observed.
/// `image_ids` maps image references to their current local image id, when known;
/// a container built from an older image of the same tag is recreated.
pub fn diff(
    plan: &Plan,
    selected: &[String],
    observed: &[ObservedContainer],
    image_ids: &BTreeMap<String, String>,
) -> Vec<Step> {
    let mut steps = Vec::new();
    for name in selected {
        let Some(svc) = plan.services.get(name) else { continue };
        let mine: Vec<&ObservedContainer> = observed.iter().filter(|c| c.service.as_deref() == Some(name.as_str())).collect();
        let wanted = svc.replica_numbers();
        for &n in &wanted {
            // A container without the replica label is the service's first (it ran without replicas).
            let existing = mine.iter().copied().find(|c| c.replica.unwrap_or(1) == n.unwrap_or(1));
            let kind = step_kind(svc, existing, &svc.replica_container_name(&plan.project, n), image_ids);
            steps.push(Step { service: name.clone(), kind, replica: n, container: existing.map(|c| c.id.clone()) });
        }
        // Scaled down: the highest-numbered replicas go.
        let mut surplus: Vec<&&ObservedContainer> = mine.iter().filter(|c| c.replica.unwrap_or(1) > wanted.len() as u32).collect();
        surplus.sort_by_key(|c| std::cmp::Reverse(c.replica.unwrap_or(1)));
        for c in surplus {
            steps.push(Step { service: name.clone(), kind: StepKind::Remove, replica: c.replica, container: Some(c.id.clone()) });
        }
    }
    for c in observed {
        let svc = c.service.clone().unwrap_or_else(|| c.name.clone());
        if !plan.services.contains_key(&svc) {
            steps.push(Step { service: svc, kind: StepKind::RemoveOrphan, replica: c.replica, container: Some(c.id.clone()) });
        }
    }
    steps
}

/// What to do with one container of `svc` (the one to be named `name`), if it exists.
fn step_kind(svc: &ResolvedService, existing: Option<&ObservedContainer>, name: &str, image_ids: &BTreeMap<String, String>) -> StepKind {
    match existing {
        None => StepKind::Create,
        Some(c) => {
            if c.name != name {
                StepKind::Recreate { cause: format!("renamed to {name}") }
            } else if c.config_hash.as_deref() != Some(svc.config_hash.as_str()) {
                StepKind::Recreate { cause: "configuration changed".into() }
            } else if image_ids.get(&svc.image).is_some_and(|id| !id.is_empty() && *id != c.image_id) {
                StepKind::Recreate { cause: "image changed".into() }
            } else {
                match c.state {
                    ContainerState::Running => StepKind::Keep,
                    ContainerState::Exited if svc.once && exited_ok(c) => StepKind::Keep,
                    ContainerState::Dead | ContainerState::Removing => StepKind::Recreate { cause: format!("container is {}", c.state.as_str()) },
                    _ => StepKind::Start,
                }
            }
        }
    }
}

/// What to do about one network or volume.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectAction {
    /// Not there with the project's label: create it (refused if a foreign one has its name).
    Create,
    /// There with the project's label.
    Keep,
    /// An `external: true` network or volume: it must exist; never created.
    UseExternal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    Network,
    Volume,
}

/// A step for a network or a named volume the wanted services use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectStep {
    pub kind: ObjectKind,
    pub action: ObjectAction,
    /// Its name in the file.
    pub key: String,
    /// Its Docker name.
    pub name: String,
}

impl fmt::Display for ObjectStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            ObjectKind::Network => "network",
            ObjectKind::Volume => "volume",
        };
        match self.action {
            ObjectAction::Create => write!(f, "create {kind} {}", self.name),
            ObjectAction::Keep => write!(f, "keep {kind} {}", self.name),
            ObjectAction::UseExternal => write!(f, "use external {kind} {}", self.name),
        }
    }
}

/// Every step of one `up`: services (and orphans), then the networks and
/// volumes they need.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Changes {
    pub services: Vec<Step>,
    pub networks: Vec<ObjectStep>,
    pub volumes: Vec<ObjectStep>,
}

impl Changes {
    /// Steps that change a container (not `Keep`, not an orphan; a scale-down's removals count).
    pub fn work(&self) -> impl Iterator<Item = &Step> {
        self.services.iter().filter(|s| !matches!(s.kind, StepKind::Keep | StepKind::RemoveOrphan))
    }

    pub fn orphans(&self) -> impl Iterator<Item = &Step> {
        self.services.iter().filter(|s| s.kind == StepKind::RemoveOrphan)
    }

    /// Every step, one per line, as tests and `--dry-run`-like output show them.
    pub fn shown(&self) -> Vec<String> {
        let services = self.services.iter().map(ToString::to_string);
        services.chain(self.networks.iter().chain(&self.volumes).map(ToString::to_string)).collect()
    }
}

/// Compare the plan's `wanted` services, and the networks and volumes they
/// use, with one snapshot.
pub fn changes(plan: &Plan, wanted: &[String], snapshot: &Snapshot) -> Changes {
    let object = |kind, key: &str, name: &str, external: bool, existing: &[String]| ObjectStep {
        kind,
        action: if external {
            ObjectAction::UseExternal
        } else if existing.iter().any(|e| e == name) {
            ObjectAction::Keep
        } else {
            ObjectAction::Create
        },
        key: key.to_string(),
        name: name.to_string(),
    };
    let networks = used_networks(plan, wanted)
        .into_iter()
        .map(|(key, net)| object(ObjectKind::Network, key, &net.name, net.external, &snapshot.networks))
        .collect();
    let volumes = plan
        .volumes
        .iter()
        .filter(|(key, _)| uses_volume(plan, wanted, key))
        .map(|(key, name)| object(ObjectKind::Volume, key, name, plan.volume_options.get(key).is_some_and(|v| v.external), &snapshot.volumes))
        .collect();
    Changes { services: diff(plan, wanted, &snapshot.containers, &snapshot.image_ids), networks, volumes }
}

/// The networks the `wanted` services join, each once, in first-use order.
pub fn used_networks<'p>(plan: &'p Plan, wanted: &[String]) -> Vec<(&'p str, &'p ResolvedNetwork)> {
    let mut out: Vec<(&str, &ResolvedNetwork)> = Vec::new();
    for svc in wanted.iter().filter_map(|s| plan.services.get(s)) {
        for a in &svc.networks {
            if out.iter().any(|(k, _)| *k == a.name) {
                continue;
            }
            if let Some((key, net)) = plan.networks.get_key_value(&a.name) {
                out.push((key.as_str(), net));
            }
        }
    }
    out
}

/// Whether one of the `wanted` services mounts the named volume `key`.
fn uses_volume(plan: &Plan, wanted: &[String], key: &str) -> bool {
    wanted
        .iter()
        .filter_map(|s| plan.services.get(s))
        .any(|s| s.volumes.iter().any(|v| matches!(v, crate::config::VolumeSpec::Named { name, .. } if name == key)))
}

/// Docker's status for an exited container reads "Exited (0) 3 minutes ago".
fn exited_ok(c: &ObservedContainer) -> bool {
    c.status.starts_with("Exited (0)")
}

#[cfg(test)]
mod tests;
