//! engine::snapshot: `devenv snapshot save|ls|restore|rm` — copies of a
//! project's data volumes, kept in the engine as labelled volumes.
//!
//! A snapshot of service S holds a copy of every named volume S mounts. The
//! copy is made with S stopped (a graceful stop: each server flushes and
//! closes its files, so the copy is never torn), then S is brought back
//! through `Session::up` (readiness-gated like `up`). Services that depend on
//! S keep running and reconnect. Snapshot volumes carry `snapshot-of`, not the
//! project label, so `down -v` keeps them; the manifest volume, created after
//! every copy finished, is what makes a snapshot exist. A restore into another
//! major version of the image is refused before anything is stopped.
//!
//! Owns: what a snapshot holds, the names and labels of its volumes, the
//! version check. Must not: print (ui events), parse configuration, or wait
//! on signals (the CLI decides what Ctrl-C means while copies run).

use std::collections::{BTreeMap, HashMap};

use super::Session;
use crate::docker::{Docker, LabelledVolume, VolumeCopy};
use crate::error::Error;
use crate::labels;
use crate::observe::ContainerState;
use crate::plan::Plan;
use crate::values::{split_reference, VolumeSpec};

/// One volume of one service, as saved or to be restored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub service: String,
    /// The project volume's Docker name.
    pub volume: String,
    /// Where the service mounts it.
    pub target: String,
    /// The service's image (the copy helper runs it; the restore check compares it).
    pub image: String,
}

/// A complete snapshot, as `ls` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SnapshotInfo {
    pub name: String,
    pub created_at: String,
    /// Service → image at the time of the save.
    pub services: BTreeMap<String, String>,
    /// KiB copied, as the copy helper measured it.
    pub size_kib: u64,
    pub devenv_version: String,
}

/// Snapshot names: what a volume name may hold, short and lowercase.
pub fn check_name(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= 40
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'));
    if ok {
        return Ok(());
    }
    Err(Error::Usage {
        message: format!("invalid snapshot name {name:?}"),
        hint: Some("use up to 40 lowercase letters, digits, `-`, `_` or `.`, starting with a letter or digit (e.g. `seeded`)".into()),
    })
}

/// The named project volumes of `services` (every service with one when
/// `services` is empty). Pure.
pub fn parts(plan: &Plan, services: &[String]) -> Result<Vec<Part>, Error> {
    for s in services {
        if !plan.services.contains_key(s) {
            return Err(Error::Usage { message: format!("no service `{s}` in {}", plan.file.display()), hint: None });
        }
    }
    let docker_name = |name: &str| plan.volumes.iter().find(|(n, _)| n == name).map(|(_, d)| d.clone());
    let mut out = Vec::new();
    for svc in plan.services.values().filter(|s| services.is_empty() || services.contains(&s.name)) {
        for v in &svc.volumes {
            let VolumeSpec::Named { name, target, .. } = v else { continue };
            if let Some(volume) = docker_name(name) {
                out.push(Part { service: svc.name.clone(), volume, target: target.clone(), image: svc.image.clone() });
            }
        }
    }
    if out.is_empty() {
        let which = if services.is_empty() { "no service".to_string() } else { services.join(", ") };
        return Err(Error::Usage {
            message: format!("{which}: nothing to snapshot (no named volume)"),
            hint: Some("a snapshot copies named volumes: a preset with `persist` (the default) or `volumes: [name:/path]`".into()),
        });
    }
    Ok(out)
}

pub fn manifest_volume(project: &str, name: &str) -> String {
    format!("{project}_snapshot_{name}")
}

pub fn data_volume(project: &str, name: &str, i: usize) -> String {
    format!("{project}_snapshot_{name}_{i}")
}

/// The leading number of an image's tag (`16-alpine` → 16, `24.8` → 24);
/// `None` for `latest`, digests and untagged references.
pub fn tag_major(image: &str) -> Option<u64> {
    if image.contains('@') {
        return None;
    }
    let (_, tag) = split_reference(image);
    let digits: String = tag.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Refuse a restore of data saved by another major version (Postgres and
/// others cannot read, or would silently re-initialise, it).
pub fn check_version(service: &str, saved: &str, now: &str) -> Result<(), Error> {
    let (saved_repo, _) = split_reference(saved);
    let (now_repo, _) = split_reference(now);
    match (tag_major(saved), tag_major(now)) {
        (Some(a), Some(b)) if a != b && saved_repo == now_repo => Err(Error::Usage {
            message: format!("`{service}` runs {now}, but the snapshot was saved from {saved}: major version {a} data cannot be restored into {b}"),
            hint: Some(format!("restore it with the version it was saved with (image/version of `{service}` back to {saved}), then dump and reload into {b}; or save a new snapshot with {b}")),
        }),
        _ => Ok(()),
    }
}

impl Session {
    /// Complete snapshots of this project, oldest first.
    pub async fn snapshots(&self) -> Result<Vec<SnapshotInfo>, Error> {
        list(self.docker(), &self.plan().project).await
    }

    /// Save `name` (which must not exist) for `services` (all with data when empty).
    pub async fn snapshot_save(&self, name: &str, services: &[String]) -> Result<SnapshotInfo, Error> {
        check_name(name)?;
        let parts = parts(self.plan(), services)?;
        let project = self.plan().project.clone();
        if list(self.docker(), &project).await?.iter().any(|s| s.name == name) {
            return Err(Error::Usage {
                message: format!("snapshot `{name}` exists"),
                hint: Some(format!("remove it first (`devenv snapshot rm {name}`) or pick another name")),
            });
        }
        remove_volumes(self.docker(), &project, name).await?; // an incomplete earlier try
        let stopped = self.stop_services_of(&parts).await?;
        let copied = self.copy_out(name, &parts).await;
        let back = self.up(&stopped).await;
        let info = copied?;
        back?;
        Ok(info)
    }

    /// Restore `name` into `services` (all it holds when empty).
    pub async fn snapshot_restore(&self, name: &str, services: &[String]) -> Result<Vec<String>, Error> {
        let project = self.plan().project.clone();
        let (info, saved) = find(self.docker(), &project, name).await?;
        let current = parts(self.plan(), services)?;
        let mut copies = Vec::new();
        for (vol, labels) in &saved {
            let service = labels.get(labels::SERVICE).cloned().unwrap_or_default();
            let target = labels.get(labels::SNAPSHOT_TARGET).cloned().unwrap_or_default();
            let Some(part) = current.iter().find(|p| p.service == service && p.target == target) else { continue };
            check_version(&service, info.services.get(&service).map(String::as_str).unwrap_or(""), &part.image)?;
            copies.push((vol.clone(), part.clone()));
        }
        if copies.is_empty() {
            return Err(Error::Usage {
                message: format!("snapshot `{name}` holds nothing for {}", if services.is_empty() { "this file's services".into() } else { services.join(", ") }),
                hint: Some(format!("it holds: {}", info.services.keys().cloned().collect::<Vec<_>>().join(", "))),
            });
        }
        let restored: Vec<Part> = copies.iter().map(|(_, p)| p.clone()).collect();
        let stopped = self.stop_services_of(&restored).await?;
        for (from, part) in &copies {
            self.ensure_project_volume(part).await?;
            let copy = VolumeCopy { project: project.clone(), image: part.image.clone(), from: from.clone(), to: part.volume.clone(), replace: true };
            self.docker().copy_volume(&copy).await?;
        }
        // `stopped` holds only services being restored: bring them back.
        self.up(&stopped).await?;
        let mut names: Vec<String> = restored.iter().map(|p| p.service.clone()).collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// Stop the running containers of the parts' services (gracefully, each
    /// with its own grace period); returns the services that were running.
    async fn stop_services_of(&self, parts: &[Part]) -> Result<Vec<String>, Error> {
        let observed = self.docker().project_containers(&self.plan().project).await?;
        let mut stopped = Vec::new();
        for c in observed.iter().filter(|c| c.state == ContainerState::Running) {
            let Some(service) = c.service.as_deref() else { continue };
            if parts.iter().any(|p| p.service == service) && !stopped.iter().any(|s: &String| s == service) {
                self.ui.info(format!("{service}: stopping for a consistent copy"));
                self.docker().stop(&c.id, None).await?;
                stopped.push(service.to_string());
            }
        }
        Ok(stopped)
    }

    async fn ensure_project_volume(&self, part: &Part) -> Result<(), Error> {
        let file_name = self.plan().volumes.iter().find(|(_, d)| *d == part.volume).map(|(n, _)| n.clone()).unwrap_or_default();
        let (extra, driver) = super::networks::volume_create(self.plan(), &file_name, self.opts.owner);
        match self.docker().ensure_volume(&part.volume, &self.plan().project, &file_name, &extra, &driver).await? {
            // Never empty a volume devenv did not create for this project.
            crate::docker::Ensured::Foreign => Err(super::networks::foreign_volume(&part.volume, &self.plan().project)),
            _ => Ok(()),
        }
    }

    /// Copy each part into a new snapshot volume, then create the manifest.
    /// On failure, removes what it made: no half snapshot stays.
    async fn copy_out(&self, name: &str, parts: &[Part]) -> Result<SnapshotInfo, Error> {
        let project = &self.plan().project;
        let result = async {
            let mut size = 0;
            for (i, part) in parts.iter().enumerate() {
                let to = data_volume(project, name, i);
                self.docker().create_labelled_volume(&to, data_labels(project, name, part)).await?;
                let copy = VolumeCopy { project: project.clone(), image: part.image.clone(), from: part.volume.clone(), to, replace: false };
                size += self.docker().copy_volume(&copy).await?.unwrap_or(0);
            }
            let info = SnapshotInfo {
                name: name.to_string(),
                created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                services: parts.iter().map(|p| (p.service.clone(), p.image.clone())).collect(),
                size_kib: size,
                devenv_version: env!("CARGO_PKG_VERSION").to_string(),
            };
            self.docker().create_labelled_volume(&manifest_volume(project, name), manifest_labels(project, &info)).await?;
            Ok::<_, Error>(info)
        }
        .await;
        if result.is_err() {
            let _ = remove_volumes(self.docker(), project, name).await;
        }
        result
    }
}

fn base_labels(project: &str, name: &str, part: &str) -> HashMap<String, String> {
    let mut l = HashMap::new();
    l.insert(labels::SNAPSHOT_OF.to_string(), project.to_string());
    l.insert(labels::SNAPSHOT.to_string(), name.to_string());
    l.insert(labels::SNAPSHOT_PART.to_string(), part.to_string());
    l.insert(labels::VERSION.to_string(), env!("CARGO_PKG_VERSION").to_string());
    l
}

pub fn data_labels(project: &str, name: &str, part: &Part) -> HashMap<String, String> {
    let mut l = base_labels(project, name, "data");
    l.insert(labels::SERVICE.to_string(), part.service.clone());
    l.insert(labels::SNAPSHOT_SOURCE.to_string(), part.volume.clone());
    l.insert(labels::SNAPSHOT_TARGET.to_string(), part.target.clone());
    l.insert(labels::SNAPSHOT_IMAGE.to_string(), part.image.clone());
    l
}

/// The manifest's labels: the snapshot's facts (`services` as `svc=image` lines).
pub fn manifest_labels(project: &str, info: &SnapshotInfo) -> HashMap<String, String> {
    let mut l = base_labels(project, &info.name, "manifest");
    l.insert(labels::CREATED_AT.to_string(), info.created_at.clone());
    l.insert(labels::SNAPSHOT_IMAGE.to_string(), info.services.iter().map(|(s, i)| format!("{s}={i}")).collect::<Vec<_>>().join("\n"));
    l.insert("dev.devenv.snapshot-size-kib".to_string(), info.size_kib.to_string());
    l
}

fn info_of(v: &LabelledVolume) -> SnapshotInfo {
    let get = |k: &str| v.labels.get(k).cloned().unwrap_or_default();
    SnapshotInfo {
        name: get(labels::SNAPSHOT),
        created_at: get(labels::CREATED_AT),
        services: get(labels::SNAPSHOT_IMAGE).lines().filter_map(|l| l.split_once('=')).map(|(s, i)| (s.to_string(), i.to_string())).collect(),
        size_kib: get("dev.devenv.snapshot-size-kib").parse().unwrap_or(0),
        devenv_version: get(labels::VERSION),
    }
}

/// Complete snapshots of `project`, oldest first.
pub async fn list(docker: &Docker, project: &str) -> Result<Vec<SnapshotInfo>, Error> {
    let manifests = docker.volumes_labelled(&[(labels::SNAPSHOT_OF, project), (labels::SNAPSHOT_PART, "manifest")]).await?;
    let mut out: Vec<SnapshotInfo> = manifests.iter().map(info_of).collect();
    out.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.name.cmp(&b.name)));
    Ok(out)
}

/// A complete snapshot and its data volumes, or an error naming the ones that exist.
pub async fn find(docker: &Docker, project: &str, name: &str) -> Result<(SnapshotInfo, Vec<(String, HashMap<String, String>)>), Error> {
    let all = list(docker, project).await?;
    let Some(info) = all.iter().find(|s| s.name == name).cloned() else {
        let have: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
        return Err(Error::Usage {
            message: format!("no snapshot `{name}` of project `{project}`"),
            hint: Some(if have.is_empty() { "there are none yet: `devenv snapshot save NAME`".into() } else { format!("snapshots: {}", have.join(", ")) }),
        });
    };
    let data = docker.volumes_labelled(&[(labels::SNAPSHOT_OF, project), (labels::SNAPSHOT, name), (labels::SNAPSHOT_PART, "data")]).await?;
    Ok((info, data.into_iter().map(|v| (v.name, v.labels)).collect()))
}

/// Remove snapshot `name` of `project` (complete or not); returns how many volumes went.
pub async fn remove_volumes(docker: &Docker, project: &str, name: &str) -> Result<usize, Error> {
    let vols = docker.volumes_labelled(&[(labels::SNAPSHOT_OF, project), (labels::SNAPSHOT, name)]).await?;
    // The manifest first: from then on the snapshot is not listed, whatever happens next.
    let (manifest, data): (Vec<_>, Vec<_>) = vols.into_iter().partition(|v| v.labels.get(labels::SNAPSHOT_PART).map(String::as_str) == Some("manifest"));
    for v in manifest.iter().chain(data.iter()) {
        docker.remove_volume(&v.name).await?;
    }
    Ok(manifest.len() + data.len())
}

#[cfg(test)]
mod tests;
