//! Snapshot storage in the engine: a snapshot is a set of labelled volumes —
//! one per data volume copied, plus an empty *manifest* volume created last,
//! so a snapshot whose copies did not all finish is never listed — and copies
//! are made by a short-lived helper container (`cp -a`) of the service's own
//! image, on no network.
//!
//! Owns: creating, listing, sizing and removing labelled volumes; running one
//! copy between two volumes. Must not: decide what to snapshot, when services
//! stop, or what the labels mean (`engine::snapshot` does).

use std::collections::HashMap;

use bollard::query_parameters as qp;

use super::create::{ContainerSpec, MountKind, MountSpec};
use super::error::{classify, op};
use super::{label_filter, short, Docker, DockerError};
use crate::labels;

/// A volume and its labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelledVolume {
    pub name: String,
    pub labels: HashMap<String, String>,
}

/// One copy: everything in volume `from` into volume `to`, by a helper
/// container of `image` labelled with `project` (so `down` removes a leftover).
#[derive(Debug, Clone)]
pub struct VolumeCopy {
    pub project: String,
    pub image: String,
    pub from: String,
    pub to: String,
    /// Empty `to` first (a restore); a save copies into a new, empty volume.
    pub replace: bool,
}

impl VolumeCopy {
    /// The helper's shell script: POSIX sh, busybox or GNU `find`/`cp`.
    pub fn script(&self) -> String {
        let wipe = if self.replace { "find /to -mindepth 1 -maxdepth 1 -exec rm -rf {} + && " } else { "" };
        format!("set -e; {wipe}cp -a /from/. /to/; du -sk /to")
    }
}

impl Docker {
    /// Create a volume with these labels; fails with `Conflict` if one of that name exists.
    pub async fn create_labelled_volume(&self, name: &str, labels: HashMap<String, String>) -> Result<(), DockerError> {
        if self.api.inspect_volume(name).await.is_ok() {
            return Err(DockerError::Other { operation: format!("create volume `{name}`"), message: "a volume of that name exists".into(), source: None });
        }
        let mut req = bollard::models::VolumeCreateRequest { name: Some(name.to_string()), labels: Some(labels), ..Default::default() };
        if let Some(opts) = test_tmpfs() {
            req.driver_opts = Some(opts);
        }
        self.api.create_volume(req).await.map_err(op(format!("create volume `{name}`")))?;
        Ok(())
    }

    /// Volumes carrying every one of these labels.
    pub async fn volumes_labelled(&self, pairs: &[(&str, &str)]) -> Result<Vec<LabelledVolume>, DockerError> {
        let opts = qp::ListVolumesOptionsBuilder::new().filters(&label_filter(pairs)).build();
        let res = self.api.list_volumes(Some(opts)).await.map_err(op("list volumes"))?;
        Ok(res.volumes.unwrap_or_default().into_iter().map(|v| LabelledVolume { name: v.name, labels: v.labels }).collect())
    }

    /// Does a volume of this name exist?
    pub async fn volume_exists(&self, name: &str) -> Result<bool, DockerError> {
        match self.api.inspect_volume(name).await {
            Ok(_) => Ok(true),
            Err(e) => match classify(format!("inspect volume `{name}`"), e) {
                e if e.is_not_found() => Ok(false),
                e => Err(e),
            },
        }
    }

    /// Run one copy to completion; returns the size of what was copied, in
    /// KiB (`du -sk`), when the helper reported it. The helper runs in the
    /// engine, not in this process: once started it finishes even if devenv is
    /// interrupted or killed, so the target holds either its old content or
    /// all of the new.
    pub async fn copy_volume(&self, copy: &VolumeCopy) -> Result<Option<u64>, DockerError> {
        let spec = helper_spec(copy);
        let id = self.create_container(&spec).await?;
        let result = async {
            self.start(&id, &spec.service).await?;
            let code = self.wait_exit(&id).await?;
            let logs = self.tail_logs(&id, 10).await;
            if code == 0 {
                return Ok(logs.last().and_then(|l| l.split_whitespace().next()).and_then(|k| k.parse().ok()));
            }
            Err(DockerError::Other {
                operation: format!("copy volume `{}` to `{}` (helper {})", copy.from, copy.to, short(&id)),
                message: format!("exit {code}: {}", logs.join(" | ")),
                source: None,
            })
        }
        .await;
        self.remove_container(&id).await?;
        result
    }
}

fn helper_spec(copy: &VolumeCopy) -> ContainerSpec {
    let mut l = HashMap::new();
    l.insert(labels::PROJECT.to_string(), copy.project.clone());
    l.insert(labels::ROLE.to_string(), "snapshot-copy".to_string());
    l.insert(labels::VERSION.to_string(), env!("CARGO_PKG_VERSION").to_string());
    let volume = |source: &str, target: &str, read_only: bool| MountSpec {
        kind: MountKind::Volume,
        source: Some(source.to_string()),
        target: target.to_string(),
        read_only: Some(read_only),
    };
    ContainerSpec {
        service: "snapshot".into(),
        name: String::new(),
        image: copy.image.clone(),
        entrypoint: Some(vec!["sh".into(), "-c".into(), copy.script()]),
        command: Some(vec![]),
        user: Some("0:0".into()),
        labels: l,
        network_mode: Some("none".into()),
        mounts: vec![volume(&copy.from, "/from", true), volume(&copy.to, "/to", false)],
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restore_empties_the_target_first_a_save_does_not() {
        let mut c = VolumeCopy { project: "p".into(), image: "i".into(), from: "a".into(), to: "b".into(), replace: false };
        assert_eq!(c.script(), "set -e; cp -a /from/. /to/; du -sk /to");
        c.replace = true;
        assert!(c.script().starts_with("set -e; find /to -mindepth 1 -maxdepth 1 -exec rm -rf {} + && cp -a"), "{}", c.script());
    }

    #[test]
    fn the_helper_is_labelled_on_no_network_as_root_with_the_source_read_only() {
        let c = VolumeCopy { project: "p".into(), image: "postgres:16".into(), from: "a".into(), to: "b".into(), replace: true };
        let s = helper_spec(&c);
        assert_eq!(s.labels.get(labels::PROJECT).map(String::as_str), Some("p"));
        assert_eq!(s.network_mode.as_deref(), Some("none"));
        assert_eq!(s.user.as_deref(), Some("0:0"));
        assert_eq!(s.mounts[0].read_only, Some(true));
        assert_eq!(s.mounts[1].read_only, Some(false));
        assert_eq!(s.name, "", "Docker names it: parallel copies never clash");
    }
}

/// For tests only: `DEVENV_TEST_SNAPSHOT_TMPFS=SIZE` (e.g. `1m`) creates
/// snapshot volumes as tmpfs of that size — a disk that fills up, to test
/// that a save or import that runs out of space leaves nothing behind.
/// (A tmpfs volume forgets its content when no container mounts it: this is
/// no way to keep snapshots.)
fn test_tmpfs() -> Option<HashMap<String, String>> {
    let size = std::env::var("DEVENV_TEST_SNAPSHOT_TMPFS").ok().filter(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric()))?;
    Some([("type", "tmpfs".to_string()), ("device", "tmpfs".to_string()), ("o", format!("size={size}"))].into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

/// What the volume of an I/O helper is mounted at.
pub const IO_HELPER_MOUNT: &str = "/data";

/// A container devenv made to copy snapshot data (see [`Docker::snapshot_helpers`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotHelper {
    pub id: String,
    pub project: String,
    pub running: bool,
    /// The volumes it mounts writable.
    pub writes: Vec<String>,
    /// Every volume it mounts.
    pub mounts: Vec<String>,
}

impl Docker {
    /// A container, created and never started, that mounts `volume` at
    /// [`IO_HELPER_MOUNT`] so its files can be read or written through the
    /// archive API (which works on a container that is not running: no shell
    /// or tar is needed in `image`, only the image itself).
    pub async fn io_helper(&self, project: &str, image: &str, volume: &str, read_only: bool) -> Result<String, DockerError> {
        let mut spec = helper_spec(&VolumeCopy { project: project.to_string(), image: image.to_string(), from: volume.to_string(), to: String::new(), replace: false });
        spec.labels.insert(labels::ROLE.to_string(), "snapshot-io".to_string());
        spec.entrypoint = Some(vec!["true".into()]);
        spec.mounts = vec![MountSpec { kind: MountKind::Volume, source: Some(volume.to_string()), target: IO_HELPER_MOUNT.to_string(), read_only: Some(read_only) }];
        self.create_container(&spec).await
    }

    /// The content of directory `path` of container `id` as a tar stream, entry
    /// names relative to it (`./…`), as the engine sends it.
    pub fn download_dir(&self, id: &str, path: &str) -> impl futures_util::Stream<Item = Result<bytes::Bytes, DockerError>> + Send + 'static {
        use futures_util::StreamExt;
        let opts = qp::DownloadFromContainerOptions { path: format!("{}/.", path.trim_end_matches('/')) };
        let operation = format!("read {path} of container {}", short(id));
        self.api.download_from_container(id, Some(opts)).map(move |r| r.map_err(op(operation.clone())))
    }

    /// Every snapshot copy or I/O helper of every project, running or not.
    pub async fn snapshot_helpers(&self) -> Result<Vec<SnapshotHelper>, DockerError> {
        let mut out = Vec::new();
        for role in ["snapshot-copy", "snapshot-io"] {
            let filters = label_filter(&[(labels::ROLE, role)]);
            let opts = qp::ListContainersOptionsBuilder::new().all(true).filters(&filters).build();
            for c in self.api.list_containers(Some(opts)).await.map_err(op("list containers"))? {
                let all = c.mounts.unwrap_or_default();
                let writes = all.iter().filter(|m| m.rw == Some(true)).filter_map(|m| m.name.clone()).collect();
                let mounts = all.into_iter().filter_map(|m| m.name).collect();
                out.push(SnapshotHelper {
                    id: c.id.unwrap_or_default(),
                    project: c.labels.unwrap_or_default().get(labels::PROJECT).cloned().unwrap_or_default(),
                    running: c.state.map(|s| s.to_string()).as_deref() == Some("running"),
                    writes,
                    mounts,
                });
            }
        }
        Ok(out)
    }
}

impl Docker {
    /// Every volume carrying label `key`, whatever its value.
    pub async fn volumes_with_label(&self, key: &str) -> Result<Vec<LabelledVolume>, DockerError> {
        let mut filters = HashMap::new();
        filters.insert("label".to_string(), vec![key.to_string()]);
        let opts = qp::ListVolumesOptionsBuilder::new().filters(&filters).build();
        let res = self.api.list_volumes(Some(opts)).await.map_err(op("list volumes"))?;
        Ok(res.volumes.unwrap_or_default().into_iter().map(|v| LabelledVolume { name: v.name, labels: v.labels }).collect())
    }
}
