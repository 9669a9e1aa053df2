//! diff: desired (plan) vs observed (Docker) → steps.
//!
//! Owns: comparing the plan with one `observe` snapshot. Pure: must not call
//! Docker, print, or read the disk. Each step has a `Display` form that tests
//! and the UI use. (`plan::diff` re-exports this module.)

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::plan::Plan;
use crate::observe::{ContainerState, ObservedContainer};

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
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub service: String,
    #[serde(flatten)]
    pub kind: StepKind,
    /// Existing container id (for Recreate/Start/Keep/RemoveOrphan).
    #[serde(skip)]
    pub container: Option<String>,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            StepKind::Create => write!(f, "create {}", self.service),
            StepKind::Recreate { cause } => write!(f, "recreate {} ({cause})", self.service),
            StepKind::Start => write!(f, "start {}", self.service),
            StepKind::Keep => write!(f, "keep {}", self.service),
            StepKind::RemoveOrphan => write!(f, "orphan {}", self.service),
        }
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
        let existing = observed.iter().find(|c| c.service.as_deref() == Some(name.as_str()));
        let kind = match existing {
            None => StepKind::Create,
            Some(c) => {
                if c.config_hash.as_deref() != Some(svc.config_hash.as_str()) {
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
        };
        steps.push(Step { service: name.clone(), kind, container: existing.map(|c| c.id.clone()) });
    }
    for c in observed {
        let svc = c.service.clone().unwrap_or_else(|| c.name.clone());
        if !plan.services.contains_key(&svc) {
            steps.push(Step { service: svc, kind: StepKind::RemoveOrphan, container: Some(c.id.clone()) });
        }
    }
    steps
}

/// Docker's status for an exited container reads "Exited (0) 3 minutes ago".
fn exited_ok(c: &ObservedContainer) -> bool {
    c.status.starts_with("Exited (0)")
}

#[cfg(test)]
mod tests;
