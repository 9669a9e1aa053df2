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
//! Fast path: a service whose preset keeps snapshots inside the running
//! server (Postgres: template databases, see `seed::postgres`) gets one at
//! save, made *before* the volume copy — so the copy holds it too and a
//! volume-level restore brings back a server that can take the fast path
//! again. Each save has an id (a manifest label, and the template's
//! comment): a restore takes the fast path only when the server holds that
//! very save, else it copies the volume; in-server copies of snapshots that
//! no longer exist are dropped at the next save or restore of the service.
//! The seed ledger (a file next to the data, which a template does not hold)
//! is kept in the manifest and written back after a fast restore.
//! The seeded snapshot (`_seeded.<service>`, `seeded`) is one like the
//! others, under its own label.
//!
//! Owns: what a snapshot holds, the names and labels of its volumes, the
//! version check, which path a restore takes. Must not: print (ui events), parse configuration, or wait
//! on signals (the CLI decides what Ctrl-C means while copies run).

mod seeded;

use std::collections::{BTreeMap, HashMap};

use super::Session;
use crate::docker::{Docker, LabelledVolume, VolumeCopy};
use crate::error::Error;
use crate::labels;
use crate::observe::ContainerState;
use crate::plan::Plan;
use crate::seed::InServer;
use crate::values::{split_reference, VolumeSpec};

pub use seeded::{is_seeded, fill_from_seeded, first_seeding, keep_seeded, seeded_name, SEEDED_COPY_MIN};

/// The manifest label naming one save (also in the in-server copy).
const SNAPSHOT_ID: &str = "dev.devenv.snapshot-id";
/// Manifest label prefix: a service's seed ledger at the time of the save.
const LEDGER: &str = "dev.devenv.ledger.";

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

/// How a service is stopped for a copy.
#[derive(Debug, Clone, Copy)]
enum Stop {
    /// Its stop signal and grace period: the server flushes and closes its files (a save).
    Graceful,
    /// Killed at once: its data is about to be replaced whole (a restore), so
    /// nothing it would write on the way down is kept anyway.
    Discarding,
}

impl Session {
    /// Complete snapshots of this project, oldest first.
    pub async fn snapshots(&self) -> Result<Vec<SnapshotInfo>, Error> {
        list(self.docker(), &self.plan().project).await
    }

    /// Remove snapshot `name` (complete or not; how many volumes went), then
    /// drop the in-server copies of saves that no longer exist from the
    /// running servers (best effort: else the next save or restore does).
    pub async fn snapshot_rm(&self, name: &str) -> Result<usize, Error> {
        let project = &self.plan().project;
        let removed = remove_volumes(self.docker(), project, name).await?;
        if removed > 0 {
            let keep = ids(self.docker(), project).await?;
            let services: Vec<String> = self.plan().services.keys().cloned().collect();
            if let Err(e) = self.in_server_each(&services, InServer::Prune { keep: &keep }).await {
                self.ui.warn(format!("{e}; it is dropped at the next save or restore"));
            }
        }
        Ok(removed)
    }

    /// Save `name` (which must not exist) for `services` (all with data when empty).
    pub async fn snapshot_save(&self, name: &str, services: &[String]) -> Result<SnapshotInfo, Error> {
        let (info, next) = self.save_deferred(name, services).await?;
        next.run().await?;
        Ok(info)
    }

    /// The save itself, and what makes its first in-server restore renames
    /// only (run it now, or later: the snapshot is complete either way).
    pub async fn save_deferred(&self, name: &str, services: &[String]) -> Result<(SnapshotInfo, NextReady), Error> {
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
        let id = new_id(name);
        let services = services_of(&parts);
        let keep = ids(self.docker(), &project).await?;
        self.in_server_each(&services, InServer::Prune { keep: &keep }).await?;
        // Before the copy: the copy then holds the in-server one too.
        let fast = self.in_server_each(&services, InServer::Save { key: name, id: &id }).await?;
        let ledgers = self.ledgers(&services).await?;
        // Only makes the copy smaller and faster to load: without it the
        // copy is as consistent (the stop flushes), so a failure is a warning.
        if let Err(e) = self.in_server_each(&services, InServer::BeforeCopy).await {
            self.ui.warn(format!("{e}; copying the data as it is"));
        }
        let stopped = self.stop_services_of(&parts, Stop::Graceful).await?;
        let copied = self.copy_out(name, &parts, &id, &ledgers).await;
        let back = self.up(&stopped).await;
        let info = copied?;
        back?;
        Ok((info, NextReady { session: self.clone(), name: name.to_string(), services: fast, id, manifest: None }))
    }

    /// Restore `name` into `services` (all it holds when empty): in the
    /// server where it holds this save (no restart), else by copying volumes.
    pub async fn snapshot_restore(&self, name: &str, services: &[String]) -> Result<Vec<String>, Error> {
        let project = self.plan().project.clone();
        self.snapshot_restore_from(&project, name, services).await
    }

    /// Restore snapshot `name` of project `from` (this one, or the project
    /// a parallel run's snapshot was saved in: `run --snapshot PROJECT/NAME`).
    pub async fn snapshot_restore_from(&self, from: &str, name: &str, services: &[String]) -> Result<Vec<String>, Error> {
        let (restored, next) = self.restore_deferred(from, name, services).await?;
        next.run().await?;
        Ok(restored)
    }

    /// The restore itself, and what gets the next one ready (run it now, or
    /// later beside other work: the state is restored either way).
    pub async fn restore_deferred(&self, from: &str, name: &str, services: &[String]) -> Result<(Vec<String>, NextReady), Error> {
        // As few engine calls as can be: on a busy machine each one costs.
        let all = manifests(self.docker()).await?;
        let (info, manifest) = find_in(&all, from, name)?;
        let wanted = self.restorable(name, &info, services)?;
        let id = manifest.get(SNAPSHOT_ID).cloned().unwrap_or_default();
        let mut keep = ids_in(&all, &self.plan().project);
        if from != self.plan().project {
            keep.extend(ids_in(&all, from));
        }
        let fast = if id.is_empty() { Vec::new() } else { self.in_server_each(&wanted, InServer::Restore { id: &id, keep: &keep }).await? };
        let rest: Vec<String> = wanted.iter().filter(|s| !fast.contains(s)).cloned().collect();
        if !rest.is_empty() {
            let saved = data_volumes(self.docker(), from, name).await?;
            self.restore_volumes(name, &saved, &rest).await?;
        }
        Ok((wanted, NextReady { session: self.clone(), name: name.to_string(), services: fast, id, manifest: Some(manifest) }))
    }

    /// What a fast restore of `name` for `services` returned, made again
    /// (by the process that prepares the next reset after `reset` exited).
    pub async fn next_ready(&self, name: &str, services: &[String]) -> Result<NextReady, Error> {
        let all = manifests(self.docker()).await?;
        let (_, manifest) = find_in(&all, &self.plan().project, name)?;
        let id = manifest.get(SNAPSHOT_ID).cloned().unwrap_or_default();
        Ok(NextReady { session: self.clone(), name: name.to_string(), services: services.to_vec(), id, manifest: Some(manifest) })
    }

    /// The services of `services` (all when empty) that snapshot `name`
    /// holds, sorted, after the version check; an error when there are none.
    fn restorable(&self, name: &str, info: &SnapshotInfo, services: &[String]) -> Result<Vec<String>, Error> {
        for s in services {
            if !self.plan().services.contains_key(s) {
                return Err(Error::Usage { message: format!("no service `{s}` in {}", self.plan().file.display()), hint: None });
            }
        }
        let mut wanted = Vec::new();
        for (service, image) in &info.services {
            let Some(svc) = self.plan().services.get(service) else { continue };
            if services.is_empty() || services.contains(service) {
                check_version(service, image, &svc.image)?;
                wanted.push(service.clone());
            }
        }
        if wanted.is_empty() {
            return Err(Error::Usage {
                message: format!("snapshot `{name}` holds nothing for {}", if services.is_empty() { "this file's services".into() } else { services.join(", ") }),
                hint: Some(format!("it holds: {}", info.services.keys().cloned().collect::<Vec<_>>().join(", "))),
            });
        }
        Ok(wanted)
    }

    /// The volume path: stop the services, empty their volumes and copy the
    /// snapshot's back, start them again.
    async fn restore_volumes(&self, name: &str, saved: &[(String, HashMap<String, String>)], services: &[String]) -> Result<(), Error> {
        let current = parts(self.plan(), services)?;
        let mut copies = Vec::new();
        for (vol, labels) in saved {
            let service = labels.get(labels::SERVICE).cloned().unwrap_or_default();
            let target = labels.get(labels::SNAPSHOT_TARGET).cloned().unwrap_or_default();
            if let Some(part) = current.iter().find(|p| p.service == service && p.target == target) {
                copies.push((vol.clone(), part.clone()));
            }
        }
        if let Some(s) = services.iter().find(|s| !copies.iter().any(|(_, p)| &p.service == *s)) {
            return Err(Error::Usage {
                message: format!("snapshot `{name}` holds `{s}` only inside its server, and the server no longer has it (a new volume, or the service is not running)"),
                hint: Some(format!("the server that held it must be running with the volume it was saved in (`devenv up -d {s}`); or save a new snapshot once the data is what you want")),
            });
        }
        let restored: Vec<Part> = copies.iter().map(|(_, p)| p.clone()).collect();
        // Their data is replaced whole: nothing of it needs to be flushed.
        let stopped = self.stop_services_of(&restored, Stop::Discarding).await?;
        let project = &self.plan().project;
        for (_, part) in &copies {
            self.ensure_project_volume(part).await?;
        }
        replace_volumes(self.docker(), project, copies.iter().map(|(from, part)| (from.as_str(), part))).await?;
        // `stopped` holds only services being restored: bring them back.
        self.up(&stopped).await?;
        Ok(())
    }

    /// The running container of `service`, if any.
    pub(super) async fn running(&self, service: &str) -> Result<Option<String>, Error> {
        Ok(self.running_all().await?.remove(service))
    }

    /// Service → running container.
    async fn running_all(&self) -> Result<HashMap<String, String>, Error> {
        let observed = self.docker().project_containers(&self.plan().project).await?;
        Ok(observed.into_iter().filter(|c| c.state == ContainerState::Running).filter_map(|c| Some((c.service?, c.id))).collect())
    }

    /// Run `op` in the server of each running service whose preset has an
    /// in-server path; returns the services where it was done (for a
    /// restore: where the server held that save).
    async fn in_server_each(&self, services: &[String], op: InServer<'_>) -> Result<Vec<String>, Error> {
        let mut done = Vec::new();
        let running = self.running_all().await?;
        for s in services {
            let (Some(svc), Some(id)) = (self.plan().services.get(s), running.get(s)) else { continue };
            if super::seeding::in_server(self.docker(), id, svc, op).await? == Some(true) {
                done.push(s.clone());
            }
        }
        Ok(done)
    }

    /// Each running service's seed ledger file, as it is now (label → JSON).
    async fn ledgers(&self, services: &[String]) -> Result<HashMap<String, String>, Error> {
        let mut out = HashMap::new();
        for s in services {
            let (Some(svc), Some(id)) = (self.plan().services.get(s), self.running(s).await?) else { continue };
            if let Some(bytes) = self.docker().read_file(&id, &super::seeding::ledger_path(svc)).await? {
                out.insert(format!("{LEDGER}{s}"), String::from_utf8_lossy(&bytes).into_owned());
            }
        }
        Ok(out)
    }

    /// After a fast restore: the ledger as it was at the save (the template
    /// holds the databases, not the file beside them).
    async fn put_ledgers(&self, services: &[String], manifest: &HashMap<String, String>) -> Result<(), Error> {
        for s in services {
            let (Some(svc), Some(id)) = (self.plan().services.get(s), self.running(s).await?) else { continue };
            let ledger = manifest.get(&format!("{LEDGER}{s}")).cloned().unwrap_or_else(|| r#"{"version":1,"entries":{}}"#.into());
            self.docker().write_file(&id, &super::seeding::ledger_path(svc), ledger.as_bytes()).await?;
        }
        Ok(())
    }

    /// Stop the running containers of the parts' services; returns the
    /// services that were running.
    async fn stop_services_of(&self, parts: &[Part], how: Stop) -> Result<Vec<String>, Error> {
        let observed = self.docker().project_containers(&self.plan().project).await?;
        let mut stopped = Vec::new();
        for c in observed.iter().filter(|c| c.state == ContainerState::Running) {
            let Some(service) = c.service.as_deref() else { continue };
            if parts.iter().any(|p| p.service == service) && !stopped.iter().any(|s: &String| s == service) {
                let (said, grace) = match how {
                    Stop::Graceful => ("stopping for a consistent copy", None),
                    Stop::Discarding => ("stopping (its data is replaced)", Some(std::time::Duration::ZERO)),
                };
                self.ui.info(format!("{service}: {said}"));
                self.docker().stop(&c.id, grace).await?;
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
    async fn copy_out(&self, name: &str, parts: &[Part], id: &str, extra: &HashMap<String, String>) -> Result<SnapshotInfo, Error> {
        let project = &self.plan().project;
        let result = async {
            let size = copy_parts(self.docker(), project, name, parts).await?;
            let info = SnapshotInfo {
                name: name.to_string(),
                created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                services: parts.iter().map(|p| (p.service.clone(), p.image.clone())).collect(),
                size_kib: size,
                devenv_version: env!("CARGO_PKG_VERSION").to_string(),
            };
            let mut labels = manifest_labels(project, &info);
            labels.insert(SNAPSHOT_ID.to_string(), id.to_string());
            labels.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
            self.docker().create_labelled_volume(&manifest_volume(project, name), labels).await?;
            Ok::<_, Error>(info)
        }
        .await;
        if result.is_err() {
            let _ = remove_volumes(self.docker(), project, name).await;
        }
        result
    }
}

/// Empty each part's volume and copy the snapshot volume named beside it
/// into it: every copy at once (each is its own helper on its own volumes),
/// all run to their end; the first error, if any.
async fn replace_volumes<'a>(docker: &Docker, project: &str, copies: impl Iterator<Item = (&'a str, &'a Part)>) -> Result<(), Error> {
    let each = copies.map(|(from, part)| {
        let copy = VolumeCopy { project: project.to_string(), image: part.image.clone(), from: from.to_string(), to: part.volume.clone(), replace: true };
        async move { docker.copy_volume(&copy).await }
    });
    match futures_util::future::join_all(each).await.into_iter().find_map(Result::err) {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

/// Copy each part into a new data volume of snapshot `name`; the KiB copied.
async fn copy_parts(docker: &Docker, project: &str, name: &str, parts: &[Part]) -> Result<u64, Error> {
    let mut size = 0;
    for (i, part) in parts.iter().enumerate() {
        let to = data_volume(project, name, i);
        docker.create_labelled_volume(&to, data_labels(project, name, part)).await?;
        let copy = VolumeCopy { project: project.to_string(), image: part.image.clone(), from: part.volume.clone(), to, replace: false };
        size += docker.copy_volume(&copy).await?.unwrap_or(0);
    }
    Ok(size)
}

fn base_labels(project: &str, name: &str, part: &str) -> HashMap<String, String> {
    let mut l = HashMap::new();
    l.insert(of_label(name).to_string(), project.to_string());
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

/// Seeded snapshots carry this label instead of `snapshot-of`: they are not
/// the user's (not listed by `snapshot ls`, not removed with theirs).
pub const SEEDED_OF: &str = "dev.devenv.seeded-of";

/// The project a snapshot volume belongs to (a user's or a seeded snapshot), or "".
pub fn owner_of(labels: &HashMap<String, String>) -> String {
    labels.get(labels::SNAPSHOT_OF).or_else(|| labels.get(SEEDED_OF)).cloned().unwrap_or_default()
}

/// The label that ties snapshot `name` to its project.
fn of_label(name: &str) -> &'static str {
    if seeded::is_seeded(name) {
        SEEDED_OF
    } else {
        labels::SNAPSHOT_OF
    }
}

/// Complete snapshots of `project`, oldest first (the seeded ones are not listed).
pub async fn list(docker: &Docker, project: &str) -> Result<Vec<SnapshotInfo>, Error> {
    list_of(docker, project, labels::SNAPSHOT_OF).await
}

/// The seeded snapshots of `project` (`_seeded.<service>`), oldest first:
/// which services `devenv reset` can take back to their seeded state.
pub async fn seeded(docker: &Docker, project: &str) -> Result<Vec<SnapshotInfo>, Error> {
    list_of(docker, project, SEEDED_OF).await
}

async fn list_of(docker: &Docker, project: &str, of: &str) -> Result<Vec<SnapshotInfo>, Error> {
    let manifests = docker.volumes_labelled(&[(of, project), (labels::SNAPSHOT_PART, "manifest")]).await?;
    Ok(sorted(manifests.iter().map(info_of).collect()))
}

fn sorted(mut out: Vec<SnapshotInfo>) -> Vec<SnapshotInfo> {
    out.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.name.cmp(&b.name)));
    out
}

/// Every snapshot manifest in the engine (all projects, both kinds): one call.
async fn manifests(docker: &Docker) -> Result<Vec<LabelledVolume>, Error> {
    Ok(docker.volumes_labelled(&[(labels::SNAPSHOT_PART, "manifest")]).await?)
}

/// The save ids of `project`'s complete snapshots, seeded ones included.
fn ids_in(all: &[LabelledVolume], project: &str) -> Vec<String> {
    let of_project = |v: &&LabelledVolume| [labels::SNAPSHOT_OF, SEEDED_OF].iter().any(|l| v.labels.get(*l).map(String::as_str) == Some(project));
    all.iter().filter(of_project).filter_map(|v| v.labels.get(SNAPSHOT_ID).cloned()).collect()
}

/// Snapshot `name` of `project` among `all` manifests: its facts and its
/// manifest's labels, or an error naming the ones there are.
fn find_in(all: &[LabelledVolume], project: &str, name: &str) -> Result<(SnapshotInfo, HashMap<String, String>), Error> {
    let of = of_label(name);
    let mine: Vec<&LabelledVolume> = all.iter().filter(|v| v.labels.get(of).map(String::as_str) == Some(project)).collect();
    if let Some(v) = mine.iter().find(|v| v.labels.get(labels::SNAPSHOT).map(String::as_str) == Some(name)) {
        return Ok((info_of(v), v.labels.clone()));
    }
    let have: Vec<String> = sorted(mine.iter().map(|v| info_of(v)).collect()).into_iter().map(|s| s.name).collect();
    Err(Error::Usage {
        message: format!("no snapshot `{name}` of project `{project}`"),
        hint: Some(if have.is_empty() { "there are none yet: `devenv snapshot save NAME`".into() } else { format!("snapshots: {}", have.join(", ")) }),
    })
}

/// The data volumes of snapshot `name` of `project`.
async fn data_volumes(docker: &Docker, project: &str, name: &str) -> Result<Volumes, Error> {
    let vols = docker.volumes_labelled(&[(of_label(name), project), (labels::SNAPSHOT, name), (labels::SNAPSHOT_PART, "data")]).await?;
    Ok(vols.into_iter().map(|v| (v.name, v.labels)).collect())
}

/// After a fast restore: the seed ledger put back as it was at the save,
/// and the next restore of that save made ready (`InServer::Prepare`).
#[must_use = "run it: the ledger is not written back until it runs"]
pub struct NextReady {
    session: Session,
    /// The snapshot it prepares the next restore of.
    name: String,
    services: Vec<String>,
    id: String,
    /// After a restore: the save's manifest, whose seed ledgers are written
    /// back (`None` after a save: the ledgers are as saved already).
    manifest: Option<HashMap<String, String>>,
}

impl NextReady {
    /// The services whose next restore this prepares (none: nothing to do).
    pub fn services(&self) -> &[String] {
        &self.services
    }

    /// The snapshot whose next restore this prepares.
    pub fn snapshot(&self) -> &str {
        &self.name
    }

    pub async fn run(self) -> Result<(), Error> {
        if self.services.is_empty() {
            return Ok(());
        }
        if let Some(manifest) = &self.manifest {
            self.session.put_ledgers(&self.services, manifest).await?;
        }
        self.session.in_server_each(&self.services, InServer::Prepare { id: &self.id }).await?;
        Ok(())
    }
}

/// A snapshot's volumes (name, labels).
type Volumes = Vec<(String, HashMap<String, String>)>;

/// A new save's id: unique per save of a name.
fn new_id(name: &str) -> String {
    format!("{name}@{}", chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default())
}

/// The distinct services of `parts`, in order.
fn services_of(parts: &[Part]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in parts {
        if !out.contains(&p.service) {
            out.push(p.service.clone());
        }
    }
    out
}

/// The save ids of `project`'s complete snapshots (what in-server copies may keep).
async fn ids(docker: &Docker, project: &str) -> Result<Vec<String>, Error> {
    Ok(ids_in(&manifests(docker).await?, project))
}

/// A complete snapshot, its data volumes and its manifest's labels, or an
/// error naming the ones that exist.
pub async fn find(docker: &Docker, project: &str, name: &str) -> Result<(SnapshotInfo, Volumes, HashMap<String, String>), Error> {
    let (info, manifest) = find_in(&manifests(docker).await?, project, name)?;
    Ok((info, data_volumes(docker, project, name).await?, manifest))
}

/// Remove snapshot `name` of `project` (complete or not); returns how many volumes went.
pub async fn remove_volumes(docker: &Docker, project: &str, name: &str) -> Result<usize, Error> {
    let vols = docker.volumes_labelled(&[(of_label(name), project), (labels::SNAPSHOT, name)]).await?;
    // The manifest first: from then on the snapshot is not listed, whatever happens next.
    let (manifest, data): (Vec<_>, Vec<_>) = vols.into_iter().partition(|v| v.labels.get(labels::SNAPSHOT_PART).map(String::as_str) == Some("manifest"));
    for v in manifest.iter().chain(data.iter()) {
        docker.remove_volume(&v.name).await?;
    }
    Ok(manifest.len() + data.len())
}

#[cfg(test)]
mod tests;
