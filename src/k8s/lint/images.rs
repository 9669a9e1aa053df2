//! Images the team's manifests use must be obtainable by the cluster: built
//! locally (then `devenv k8s up` loads them into the cluster) or pullable.
//! "Pullable" can only be judged by its look here (no registry is asked): a
//! registry host, or a pinned tag or digest. An untagged or `:latest` image
//! that is not local is an error; a local one needs `imagePullPolicy:
//! IfNotPresent` or `Never`, or the kubelet pulls it anyway and the loaded copy is ignored.

use std::collections::BTreeMap;

use serde_json::Value;

use super::Finding;
use crate::k8s::manifest::Manifest;
use crate::k8s::runner::{Invocation, RunError, Runner};

/// Every container image of a manifest: (YAML path, image, imagePullPolicy).
pub fn images_of(m: &Manifest) -> Vec<(String, String, Option<String>)> {
    let at = match m.kind() {
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" | "ReplicationController" => "spec.template.spec",
        "CronJob" => "spec.jobTemplate.spec.template.spec",
        "Pod" => "spec",
        _ => return vec![],
    };
    let Some(spec) = m.value.pointer(&format!("/{}", at.replace('.', "/"))) else { return vec![] };
    let mut out = Vec::new();
    for list in ["initContainers", "containers"] {
        for (j, c) in spec.get(list).and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]).iter().enumerate() {
            if let Some(img) = c.get("image").and_then(Value::as_str) {
                let policy = c.get("imagePullPolicy").and_then(Value::as_str).map(str::to_string);
                out.push((format!("{at}.{list}[{j}].image"), img.to_string(), policy));
            }
        }
    }
    out
}

/// (has a registry host, pinned by a non-latest tag or a digest)
fn looks(image: &str) -> (bool, bool) {
    let first = image.split('/').next().unwrap_or("");
    let registry = image.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    let (_, tag) = crate::values::split_reference(image);
    let pinned = image.contains('@') || tag != "latest";
    (registry, pinned)
}

fn valid_reference(image: &str) -> bool {
    let (repo, _) = crate::values::split_reference(image);
    !image.is_empty() && !image.chars().any(char::is_whitespace) && !repo.chars().any(|c| c.is_ascii_uppercase())
}

/// Is `image` present in the local Docker engine? `None` when that cannot be asked.
pub fn present(image: &str, runner: &dyn Runner) -> Option<bool> {
    match runner.output(&Invocation::new("docker", &["image", "inspect", "--format", "{{.Id}}", image])) {
        Ok(o) => Some(o.success()),
        Err(RunError::NotFound { .. }) | Err(RunError::Io { .. }) => None,
    }
}

/// Check the team's manifests' images. `built`: image → the devenv service that builds it.
pub fn check(manifests: &[Manifest], built: &BTreeMap<String, String>, runner: &dyn Runner) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut cache: BTreeMap<String, Option<bool>> = BTreeMap::new();
    let mut warned_no_docker = false;
    for m in manifests.iter().filter(|m| !m.origin.is_rendered()) {
        for (path, image, policy) in images_of(m) {
            if !valid_reference(&image) {
                out.push(Finding::error(m, &path, format!("`{image}` is not a valid image reference (lowercase repository, no spaces)")));
                continue;
            }
            let local = *cache.entry(image.clone()).or_insert_with(|| present(&image, runner));
            let (registry, pinned) = looks(&image);
            match local {
                Some(true) => {
                    if !pinned && !matches!(policy.as_deref(), Some("IfNotPresent") | Some("Never")) {
                        out.push(Finding::warning(m, &path, format!(
                            "`{image}` is built locally and will be loaded into the cluster, but an untagged/`:latest` image defaults to imagePullPolicy Always, so the kubelet would pull it instead; set `imagePullPolicy: IfNotPresent` or tag it"
                        )));
                    }
                }
                Some(false) => {
                    if let Some(svc) = built.get(&image) {
                        out.push(Finding::error(m, &path, format!("`{image}` is built by service `{svc}` but is not built yet; `devenv k8s up` builds it (or run `devenv up --build {svc}`)")));
                    } else if policy.as_deref() == Some("Never") {
                        out.push(Finding::error(m, &path, format!("`{image}` has imagePullPolicy Never but is not present locally, so it cannot be loaded into the cluster; build it first")));
                    } else if !registry && !pinned {
                        out.push(Finding::error(m, &path, format!(
                            "`{image}` is not built locally and does not look pullable (no registry host, no pinned tag); build it (`docker build -t {image} …`) so devenv can load it, or refer to a registry image with a tag"
                        )));
                    }
                }
                None => {
                    if !warned_no_docker {
                        warned_no_docker = true;
                        out.push(Finding::warning(m, &path, "cannot ask Docker which images are built locally (is the docker CLI installed and the engine running?); images are not checked".to_string()));
                    }
                }
            }
        }
    }
    out
}
