//! k8s: the same environment in a local Kubernetes cluster (kind or k3d) or an
//! existing one (a kubeconfig context), beside the team's own manifests. The last stage of the pipeline: it
//! consumes the resolved `plan::Plan` and the presets' knowledge.
//!
//! Owns: the typed `k8s:` settings (`spec`), rendering the plan into
//! manifests (`render`, `probes`, `seeds`), parsing and loading manifests
//! (`manifest`), linting them (`lint`: schemas via `kubernetes-validate`,
//! plus cross-object checks), explaining a shared cluster's refusals
//! (`explain`), the names built images are pushed under (`registry`), `doctor --k8s`'s checks
//! (`preflight`), and driving `kind`/`k3d`/`kubectl` (`cluster`)
//! through one `runner::Runner`, so every command line is testable.
//! Must not: talk to the Docker API (the `docker` CLI is run through the
//! runner only to check and load images), or print (it reports through `ui`).

pub mod cluster;
pub mod explain;
pub mod lint;
pub mod manifest;
pub mod preflight;
pub mod probes;
pub mod registry;
pub mod render;
pub mod runner;
pub mod seeds;
pub mod spec;

pub use render::{render, Rendered, RenderedService, WorkloadKind};
pub use spec::{K8sSpec, Provider};

#[cfg(test)]
mod tests;
