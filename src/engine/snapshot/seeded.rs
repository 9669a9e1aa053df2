//! The seeded snapshot: after the first seeding of a volume, a snapshot
//! `_seeded.<service>` of it (a name `snapshot save` cannot give), which
//! `devenv reset` and `up --fresh` restore without seeding again, and which
//! fills a new volume when the seed entries are unchanged.
//!
//! What it holds, and when: the in-server copy (Postgres: template
//! databases) always — no restart, one more copy of the databases on disk; a
//! copy of the volume only when seeding took at least `SEEDED_COPY_MIN`:
//! below that, stopping the service, copying and starting it again costs
//! about what seeding does (README "Snapshots" has the numbers). One with
//! only the in-server copy carries the project label: its data is in the
//! service's volume, so `down -v` removes it with that volume. Only a
//! volume copy can fill a new volume, and it does so only when its copy took
//! less time than the seeding it replaces and the image and every seed entry
//! (file contents included) are what they were.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::{copy_parts, find, replace_volumes, ids, list_of, manifest_labels, manifest_volume, new_id, parts, remove_volumes, NextReady, Part, SnapshotInfo, LEDGER, SEEDED_OF, SNAPSHOT_ID};
use crate::docker::Docker;
use crate::engine::seeding::{self, Report};
use crate::engine::Session;
use crate::error::Error;
use crate::plan::{Plan, ResolvedService};
use crate::seed::InServer;
use crate::ui::Ui;

/// Seeding shorter than this gets no volume copy in its seeded snapshot.
/// (Measured on the benchmark's data: a stop, copy and start of a volume
/// takes 3–16 s, about what seeding 1M rows/keys takes.)
pub const SEEDED_COPY_MIN: Duration = Duration::from_secs(10);
const PREFIX: &str = "_seeded.";
const SEEDS_HASH: &str = "dev.devenv.seeds-hash";
const SEED_MS: &str = "dev.devenv.seed-ms";
const COPY_MS: &str = "dev.devenv.copy-ms";

/// The seeded snapshot's name for `service`.
pub fn seeded_name(service: &str) -> String {
    format!("{PREFIX}{service}")
}

/// Whether `name` is a seeded snapshot's.
pub fn is_seeded(name: &str) -> bool {
    name.starts_with(PREFIX)
}

/// sha256 of the image and every seed entry (id and content).
pub fn seeds_hash(svc: &ResolvedService) -> Result<String, Error> {
    let mut h = Sha256::new();
    h.update(svc.image.as_bytes());
    for s in &svc.seeds {
        h.update(b"\0");
        h.update(s.id.as_bytes());
        h.update(seeding::entry_hash(s)?.as_bytes());
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Whether this seeding was the first of its volume: every entry applied now.
pub fn first_seeding(svc: &ResolvedService, report: &Report) -> bool {
    report.applied > 0 && report.applied == svc.seeds.len()
}

/// A fill is worth it when the copy took less than the seeding did.
pub fn fill_pays(manifest: &HashMap<String, String>) -> bool {
    let ms = |k: &str| manifest.get(k).and_then(|v| v.parse::<u64>().ok());
    matches!((ms(COPY_MS), ms(SEED_MS)), (Some(copy), Some(seed)) if copy < seed)
}

/// What keeping a seeded snapshot did.
#[derive(Debug, Default, Clone, Copy)]
pub struct Kept {
    /// The container was stopped and started again (probe it again).
    pub restarted: bool,
    /// A copy was kept inside the server; the spare for its first restore is
    /// not made yet (`NextReady` via `Session::next_ready`).
    pub in_server: bool,
}

/// After the first seeding of `svc` (container `id`, ready, dependents not
/// started yet): keep its seeded snapshot. Best effort: a failure is a
/// warning; the service is running either way.
pub async fn keep_seeded(docker: &Docker, plan: &Plan, svc: &ResolvedService, id: &str, took: Duration, ui: &Ui) -> Kept {
    let mut kept = Kept::default();
    let t0 = Instant::now();
    match try_keep(docker, plan, svc, id, took, &mut kept).await {
        Ok(None) => {}
        Ok(Some(what)) => ui.info(format!("{}: kept its seeded snapshot ({what}, {} ms) — `devenv reset {}` goes back to it", svc.name, t0.elapsed().as_millis(), svc.name)),
        Err(e) => {
            if kept.restarted {
                let _ = docker.start(id, &svc.name).await;
            }
            kept.in_server = false;
            ui.warn(format!("{}: no seeded snapshot kept: {e}", svc.name));
        }
    }
    kept
}

/// What was kept (`template databases`, `volume copy`), or None when nothing is worth it.
async fn try_keep(docker: &Docker, plan: &Plan, svc: &ResolvedService, id: &str, took: Duration, kept: &mut Kept) -> Result<Option<String>, Error> {
    let project = &plan.project;
    let name = seeded_name(&svc.name);
    remove_volumes(docker, project, &name).await?;
    let save_id = new_id(&name);
    let keep = ids(docker, project).await?;
    seeding::in_server(docker, id, svc, InServer::Prune { keep: &keep }).await?;
    // Before any volume copy, so the copy holds it too.
    let in_server = seeding::in_server(docker, id, svc, InServer::Save { key: &name, id: &save_id }).await? == Some(true);
    let parts: Vec<Part> = if took >= SEEDED_COPY_MIN { parts(plan, std::slice::from_ref(&svc.name)).unwrap_or_default() } else { Vec::new() };
    if !in_server && parts.is_empty() {
        return Ok(None);
    }
    let ledger = docker.read_file(id, &seeding::ledger_path(svc)).await?;
    let (mut size, t0) = (0, Instant::now());
    if !parts.is_empty() {
        kept.restarted = true;
        // Smaller and faster to load; the copy is as consistent without it.
        let _ = seeding::in_server(docker, id, svc, InServer::BeforeCopy).await;
        docker.stop(id, svc.stop_grace_period).await?;
        let copied = copy_parts(docker, project, &name, &parts).await;
        docker.start(id, &svc.name).await?;
        size = copied.inspect_err(|_| {
            let (d, p, n) = (docker.clone(), project.clone(), name.clone());
            tokio::spawn(async move { remove_volumes(&d, &p, &n).await });
        })?;
    }
    let info = SnapshotInfo {
        name: name.clone(),
        created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        services: [(svc.name.clone(), svc.image.clone())].into_iter().collect(),
        size_kib: size,
        devenv_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    let mut labels = manifest_labels(project, &info);
    labels.insert(SNAPSHOT_ID.to_string(), save_id.clone());
    labels.insert(SEEDS_HASH.to_string(), seeds_hash(svc)?);
    labels.insert(SEED_MS.to_string(), took.as_millis().to_string());
    if !parts.is_empty() {
        labels.insert(COPY_MS.to_string(), t0.elapsed().as_millis().to_string());
    }
    if parts.is_empty() {
        // Its data lives in the service's volume: it goes with it (`down -v`).
        labels.insert(crate::labels::PROJECT.to_string(), project.clone());
    }
    if let Some(l) = ledger {
        labels.insert(format!("{LEDGER}{}", svc.name), String::from_utf8_lossy(&l).into_owned());
    }
    docker.create_labelled_volume(&manifest_volume(project, &name), labels).await?;
    // Its spare (what makes the first restore renames only) is made after `up`.
    kept.in_server = in_server;
    let what = match (in_server, parts.is_empty()) {
        (true, true) => "inside the server".to_string(),
        (true, false) => "inside the server, and a volume copy".to_string(),
        _ => "a volume copy".to_string(),
    };
    Ok(Some(what))
}

/// Before the first seeding of a new volume of `svc` (container `id`,
/// ready): fill it from the seeded snapshot instead, when the seeds are
/// unchanged and the copy is faster. Returns whether it did (the container
/// was stopped and started again: probe it again; the ledger came with the
/// data, so seeding then finds nothing to do).
pub async fn fill_from_seeded(docker: &Docker, plan: &Plan, svc: &ResolvedService, id: &str, ui: &Ui) -> Result<bool, Error> {
    // Without a preset's data directory the ledger is not in the volume: a
    // filled volume would then be seeded again on top.
    if svc.seeds.is_empty() || svc.data_dir.is_none() || !seeding::read_ledger(docker, id, svc).await?.entries.is_empty() {
        return Ok(false);
    }
    let name = seeded_name(&svc.name);
    let Ok((info, saved, manifest)) = find(docker, &plan.project, &name).await else { return Ok(false) };
    let same = info.services.get(&svc.name) == Some(&svc.image) && manifest.get(SEEDS_HASH) == Some(&seeds_hash(svc)?);
    if saved.is_empty() || !same || !fill_pays(&manifest) {
        return Ok(false);
    }
    let current = parts(plan, std::slice::from_ref(&svc.name))?;
    let copies: Vec<(String, &Part)> = saved
        .iter()
        .filter_map(|(vol, l)| current.iter().find(|p| l.get(crate::labels::SNAPSHOT_TARGET) == Some(&p.target)).map(|p| (vol.clone(), p)))
        .collect();
    if copies.len() != current.len() {
        return Ok(false);
    }
    let t0 = Instant::now();
    // A new volume, replaced whole: nothing in it needs flushing.
    docker.stop(id, Duration::ZERO).await?;
    if let Err(e) = replace_volumes(docker, &plan.project, copies.iter().map(|(from, part)| (from.as_str(), *part))).await {
        let _ = docker.start(id, &svc.name).await;
        return Err(e);
    }
    docker.start(id, &svc.name).await?;
    let seed_ms = manifest.get(SEED_MS).cloned().unwrap_or_default();
    ui.info(format!("{}: new volume filled from its seeded snapshot in {} ms (seeding took {seed_ms} ms; the seeds are unchanged)", svc.name, t0.elapsed().as_millis()));
    Ok(true)
}

impl Session {
    /// `devenv reset`: each of `services` (every service with seed entries
    /// when empty) back to its seeded snapshot, then the `run: once` jobs
    /// built on them run again. Returns the services reset.
    pub async fn reset(&self, services: &[String]) -> Result<Vec<String>, Error> {
        let (targets, next) = self.reset_deferred(services).await?;
        for n in next {
            n.run().await?;
        }
        Ok(targets)
    }

    /// `reset`, leaving what gets the next reset ready to the caller (the
    /// library runs it while the tests run).
    pub async fn reset_deferred(&self, services: &[String]) -> Result<(Vec<String>, Vec<NextReady>), Error> {
        let targets = self.reset_targets(services)?;
        let all = list_of(self.docker(), &self.plan().project, SEEDED_OF).await?;
        let missing: Vec<&String> = targets.iter().filter(|s| !all.iter().any(|i| i.name == seeded_name(s))).collect();
        if let Some(first) = missing.first() {
            return Err(Error::Usage {
                message: format!("no seeded snapshot of {}", missing.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")),
                hint: Some(format!(
                    "devenv keeps one after the first seeding of a new volume, when the service can keep it inside its server or seeding took {} s or more: `devenv down -v && devenv up -d` seeds anew and keeps one; or re-seed: `devenv seed --reset {first} --yes`",
                    SEEDED_COPY_MIN.as_secs()
                )),
            });
        }
        let mut next = Vec::new();
        for s in &targets {
            next.extend(self.restore_seeded(s).await?);
        }
        self.rerun_jobs_on(&targets).await?;
        Ok((targets, next))
    }

    /// Restore `service`'s seeded snapshot. One held only inside a server
    /// that no longer has it (a Redis `FLUSHALL`, templates dropped by hand)
    /// is not lost to the user: the service is seeded again — what the
    /// snapshot held — and a new seeded snapshot is kept.
    async fn restore_seeded(&self, service: &str) -> Result<Option<NextReady>, Error> {
        let project = &self.plan().project;
        let name = seeded_name(service);
        match self.restore_deferred(project, &name, &[service.to_string()]).await {
            Ok((_, next)) => Ok(Some(next)),
            Err(Error::Usage { message, .. }) if find(self.docker(), project, &name).await.is_ok_and(|(_, saved, _)| saved.is_empty()) => {
                self.ui.warn(format!("{service}: {message}; seeding it again instead"));
                self.reseed(service).await?;
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Empty what `service`'s seeds made, apply them all again, keep a new
    /// seeded snapshot (the service ready again afterwards).
    async fn reseed(&self, service: &str) -> Result<(), Error> {
        let (Some(svc), Some(id)) = (self.plan().services.get(service), self.running(service).await?) else {
            return Err(Error::Usage { message: format!("service `{service}` is not running"), hint: Some(format!("start it with `devenv up -d {service}`")) });
        };
        seeding::reset(self.docker(), &id, svc).await?;
        let t0 = Instant::now();
        seeding::run(self.docker(), &id, svc, seeding::Mode::All, &self.ui).await?;
        if keep_seeded(self.docker(), self.plan(), svc, &id, t0.elapsed(), &self.ui).await.restarted {
            // Stopped for the volume copy and started again: probed like `up` does.
            self.docker().stop(&id, svc.stop_grace_period).await?;
            self.up(&[service.to_string()]).await?;
        }
        Ok(())
    }

    /// `up --fresh`: like `reset`, for the services of `services` (all when
    /// empty) with seed entries that have a seeded snapshot; returns (reset,
    /// those with seed entries but no seeded snapshot).
    pub async fn reset_where_kept(&self, services: &[String]) -> Result<(Vec<String>, Vec<String>), Error> {
        let all = list_of(self.docker(), &self.plan().project, SEEDED_OF).await?;
        let seeded: Vec<String> = self.plan().services.values().filter(|s| !s.seeds.is_empty() && (services.is_empty() || services.contains(&s.name))).map(|s| s.name.clone()).collect();
        let (kept, missing): (Vec<String>, Vec<String>) = seeded.into_iter().partition(|s| all.iter().any(|i| i.name == seeded_name(s)));
        for s in &kept {
            if let Some(next) = self.restore_seeded(s).await? {
                next.run().await?;
            }
        }
        if !kept.is_empty() {
            self.rerun_jobs_on(&kept).await?;
        }
        Ok((kept, missing))
    }

    fn reset_targets(&self, services: &[String]) -> Result<Vec<String>, Error> {
        if let Some(s) = services.iter().find(|s| !self.plan().services.contains_key(*s)) {
            return Err(Error::Usage { message: format!("no service `{s}` in {}", self.plan().file.display()), hint: None });
        }
        let targets: Vec<String> = if services.is_empty() {
            self.plan().services.values().filter(|s| !s.seeds.is_empty()).map(|s| s.name.clone()).collect()
        } else {
            services.to_vec()
        };
        if targets.is_empty() {
            return Err(Error::Usage {
                message: "no service has seed entries: there is no seeded state to go back to".into(),
                hint: Some("add `seed:` entries to a service, or save and restore your own snapshot (`devenv snapshot save NAME`)".into()),
            });
        }
        Ok(targets)
    }

    /// The `run: once` jobs that depend on `services` and have run lose what
    /// they built on the data (a migration's tables): they run again.
    /// (Also after a re-seed from the page: `devenv seed --reset` does the same.)
    pub async fn rerun_jobs_on(&self, services: &[String]) -> Result<(), Error> {
        let jobs = seeding::dependent_jobs(self.plan(), services);
        if jobs.is_empty() {
            return Ok(());
        }
        let observed = self.docker().project_containers(&self.plan().project).await?;
        let jobs: Vec<String> = jobs
            .into_iter()
            .filter(|j| observed.iter().any(|c| c.service.as_deref() == Some(j.as_str())))
            .collect();
        if jobs.is_empty() {
            return Ok(());
        }
        self.remove_containers_of(&jobs).await?;
        self.up(&jobs).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fill_pays_only_when_the_copy_was_faster_than_seeding() {
        let m = |copy: Option<&str>, seed: &str| {
            let mut m: HashMap<String, String> = [(SEED_MS.to_string(), seed.to_string())].into_iter().collect();
            if let Some(c) = copy {
                m.insert(COPY_MS.to_string(), c.to_string());
            }
            m
        };
        assert!(fill_pays(&m(Some("900"), "11000")));
        assert!(!fill_pays(&m(Some("5000"), "4000")));
        assert!(!fill_pays(&m(None, "11000")), "no volume copy: nothing to fill from");
        assert!(!fill_pays(&m(Some("x"), "11000")));
    }

    #[test]
    fn seeded_names_are_not_names_a_user_can_save() {
        assert_eq!(seeded_name("db"), "_seeded.db");
        assert!(super::super::check_name(&seeded_name("db")).is_err());
    }
}
