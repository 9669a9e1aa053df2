//! Networks and volumes found by label and handled by id: Docker allows two
//! networks with one name (two creates racing on an engine before API 1.44),
//! and then every call that names one is refused as "ambiguous". So devenv
//! lists a project's networks by its label, keeps one per name (the one in
//! use, else the oldest), removes the empty duplicates by id, and hands the
//! id on (containers join networks by id).

use std::collections::HashMap;

use bollard::query_parameters as qp;

use super::error::{classify, op};
use super::{Docker, DockerError, Ensured, NetworkSpec, ObservedObject};
use crate::labels;

/// What `ensure_project_network` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnsuredNetwork {
    pub ensured: Ensured,
    /// The network's id (None when `Foreign`).
    pub id: Option<String>,
    /// Ids of empty labelled duplicates of that name that were removed.
    pub removed_duplicates: Vec<String>,
}

/// The owner labels of an object, if any.
fn owner_of(l: &HashMap<String, String>) -> Option<(u32, String)> {
    let pid = l.get(labels::OWNER_PID)?.parse().ok()?;
    Some((pid, l.get(labels::OWNER_HOST).cloned().unwrap_or_default()))
}

/// devenv's `created-at` label as Unix seconds.
fn created_of(l: &HashMap<String, String>) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(l.get(labels::CREATED_AT)?).ok().map(|t| t.timestamp())
}

fn object(id: String, name: String, l: &HashMap<String, String>) -> ObservedObject {
    ObservedObject { id, name, project: l.get(labels::PROJECT).cloned().unwrap_or_default(), owner: owner_of(l), created: created_of(l) }
}

impl Docker {
    /// Networks carrying the label `filter` (`key` or `key=value`), sorted by name then id.
    async fn networks_labelled(&self, filter: &str) -> Result<Vec<ObservedObject>, DockerError> {
        let mut f = HashMap::new();
        f.insert("label".to_string(), vec![filter.to_string()]);
        let opts = qp::ListNetworksOptionsBuilder::new().filters(&f).build();
        let res = self.api.list_networks(Some(opts)).await.map_err(op("list networks"))?;
        let mut out: Vec<ObservedObject> = res
            .into_iter()
            .filter_map(|n| Some(object(n.id?, n.name?, &n.labels.unwrap_or_default())))
            .collect();
        out.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
        Ok(out)
    }

    /// The project's networks (duplicates of one name included), by label.
    pub async fn project_networks(&self, project: &str) -> Result<Vec<ObservedObject>, DockerError> {
        self.networks_labelled(&format!("{}={project}", labels::PROJECT)).await
    }

    /// Every network of every devenv project on this engine.
    pub async fn all_devenv_networks(&self) -> Result<Vec<ObservedObject>, DockerError> {
        self.networks_labelled(labels::PROJECT).await
    }

    /// Every named volume of every devenv project on this engine (a volume's
    /// id is its name). Anonymous ones (an image's `VOLUME`s) are left out:
    /// they go with their container.
    pub async fn all_devenv_named_volumes(&self) -> Result<Vec<ObservedObject>, DockerError> {
        let mut f = HashMap::new();
        // Both labels (Docker ANDs them): the volume label marks named volumes.
        f.insert("label".to_string(), vec![labels::PROJECT.to_string(), labels::VOLUME.to_string()]);
        let opts = qp::ListVolumesOptionsBuilder::new().filters(&f).build();
        let res = self.api.list_volumes(Some(opts)).await.map_err(op("list volumes"))?;
        Ok(res.volumes.unwrap_or_default().into_iter().map(|v| object(v.name.clone(), v.name, &v.labels)).collect())
    }

    /// Names of the containers attached to network `id` (any owner).
    pub async fn network_endpoints(&self, id: &str) -> Result<Vec<String>, DockerError> {
        let n = self.api.inspect_network(id, None::<qp::InspectNetworkOptions>).await.map_err(op(format!("inspect network {}", super::short(id))))?;
        let mut names: Vec<String> = n.containers.unwrap_or_default().into_iter().map(|(cid, e)| e.name.unwrap_or(cid)).collect();
        names.sort();
        Ok(names)
    }

    /// Networks named exactly `name`, each with whether it carries `project`'s label.
    async fn networks_named(&self, name: &str, project: &str) -> Result<Vec<(String, bool)>, DockerError> {
        // The name filter matches substrings: keep the exact matches.
        let mut f = HashMap::new();
        f.insert("name".to_string(), vec![name.to_string()]);
        let opts = qp::ListNetworksOptionsBuilder::new().filters(&f).build();
        let res = self.api.list_networks(Some(opts)).await.map_err(op(format!("list networks named `{name}`")))?;
        let mut out: Vec<(String, bool)> = res
            .into_iter()
            .filter(|n| n.name.as_deref() == Some(name))
            .filter_map(|n| {
                let ours = n.labels.as_ref().and_then(|l| l.get(labels::PROJECT)).is_some_and(|p| p == project);
                Some((n.id?, ours))
            })
            .collect();
        out.sort();
        Ok(out)
    }

    /// Whether a network named exactly `name` exists without `project`'s label.
    pub async fn foreign_network_named(&self, name: &str, project: &str) -> Result<bool, DockerError> {
        Ok(self.networks_named(name, project).await?.iter().any(|(_, ours)| !ours))
    }

    /// Whether a volume named `name` exists without `project`'s label.
    pub async fn foreign_volume_named(&self, name: &str, project: &str) -> Result<bool, DockerError> {
        match self.api.inspect_volume(name).await {
            Ok(v) => Ok(v.labels.get(labels::PROJECT).is_none_or(|p| p != project)),
            Err(e) => match classify(format!("inspect volume `{name}`"), e) {
                e if e.is_not_found() => Ok(false),
                e => Err(e),
            },
        }
    }

    /// Create the project network `net` (driver, `internal`, its labels plus
    /// the project's) unless one of the project's exists; returns its id.
    /// `Foreign`: one of that name exists without the project's label. Of
    /// labelled duplicates, the one with containers (else the first by id) is
    /// used and the empty others are removed.
    pub async fn ensure_project_network(&self, net: &NetworkSpec, project: &str) -> Result<EnsuredNetwork, DockerError> {
        let named = self.networks_named(&net.name, project).await?;
        if named.iter().any(|(_, ours)| !ours) {
            return Ok(EnsuredNetwork { ensured: Ensured::Foreign, id: None, removed_duplicates: vec![] });
        }
        let (created, ids) = if named.is_empty() {
            let created = self.create_network(net, project).await?;
            // Re-read: a devenv without the project lock may have raced us.
            let ids: Vec<String> = self.networks_named(&net.name, project).await?.into_iter().map(|(id, _)| id).collect();
            (created, ids)
        } else {
            (None, named.into_iter().map(|(id, _)| id).collect())
        };
        let (id, removed_duplicates) = self.keep_one(&net.name, ids).await?;
        // Created only if the one kept is the one this call made (an undo removes it).
        let ensured = if created.as_ref() == Some(&id) { Ensured::Created } else { Ensured::Exists };
        Ok(EnsuredNetwork { ensured, id: Some(id), removed_duplicates })
    }

    /// Of several networks of one name, keep the first with containers (else
    /// the first); remove the empty others. Returns (kept id, removed ids).
    async fn keep_one(&self, name: &str, ids: Vec<String>) -> Result<(String, Vec<String>), DockerError> {
        let Some(first) = ids.first().cloned() else {
            return Err(DockerError::Other { operation: format!("create network `{name}`"), message: "the network is gone right after its creation".into(), source: None });
        };
        if ids.len() == 1 {
            return Ok((first, vec![]));
        }
        let mut used = Vec::new();
        for id in &ids {
            used.push(!self.network_endpoints(id).await?.is_empty());
        }
        let keep = ids.iter().zip(&used).find(|(_, u)| **u).map(|(id, _)| id.clone()).unwrap_or(first);
        let mut removed = Vec::new();
        for (id, u) in ids.iter().zip(&used) {
            if *id != keep && !*u && self.remove_network(id).await.is_ok() {
                removed.push(id.clone());
            }
        }
        Ok((keep, removed))
    }

    /// Create the network; its id (None when another one of that name won the race).
    async fn create_network(&self, net: &NetworkSpec, project: &str) -> Result<Option<String>, DockerError> {
        let name = net.name.as_str();
        let mut l: HashMap<String, String> = net.labels.iter().cloned().collect();
        l.insert(labels::PROJECT.to_string(), project.to_string());
        l.insert(labels::VERSION.to_string(), env!("CARGO_PKG_VERSION").to_string());
        let req = bollard::models::NetworkCreateRequest {
            name: name.to_string(),
            driver: Some(net.driver.clone().unwrap_or_else(|| "bridge".into())),
            internal: net.internal.then_some(true),
            labels: Some(l),
            ..Default::default()
        };
        match self.api.create_network(req).await {
            Ok(r) => Ok(Some(r.id)),
            Err(e) => match classify(format!("create network `{name}`"), e) {
                // Lost a race with a parallel devenv on the same project: fine.
                e if e.is_conflict() => Ok(None),
                e => Err(e),
            },
        }
    }
}
