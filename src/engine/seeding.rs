//! Seeding: apply a service's `seed:` entries once per data volume.
//!
//! Owns: the ledger (what was applied, by content hash) kept *with the
//! service's data* — a JSON file in the preset's data directory inside the
//! container, so it lives and dies with the data (`down -v` resets both) —
//! and the decision to apply, skip, or refuse a changed entry.
//! Each entry is applied by the service's preset (`Preset::seed`, over the
//! protocol loaders in `crate::seed`); `exec` entries run in the container here.
//! A reset also undoes what `run: once` jobs built on the data (migrations):
//! `dependent_jobs` names the jobs to run again after it.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::docker::Docker;
use crate::error::Error;
use crate::plan::{Plan, ResolvedSeed, ResolvedService, SeedKind};
use crate::seed::{self, Applied, SeedError};
use crate::ui::{Status, Ui};

pub const LEDGER_FILE: &str = ".devenv-seeds.json";

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Ledger {
    pub version: u32,
    pub entries: BTreeMap<String, LedgerEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub hash: String,
    pub applied_at: String,
    pub count: u64,
    pub unit: String,
}

/// Which entries to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `up`: entries not applied yet; a changed entry is reported, not re-applied.
    Pending,
    /// `devenv seed`: every entry.
    All,
}

#[derive(Debug, Default)]
pub struct Report {
    pub applied: usize,
    pub skipped: usize,
    /// Entries changed since they were applied (not re-applied).
    pub changed: Vec<String>,
}

pub fn ledger_path(svc: &ResolvedService) -> String {
    format!("{}/{LEDGER_FILE}", svc.data_dir.as_deref().unwrap_or("/tmp").trim_end_matches('/'))
}

pub async fn read_ledger(docker: &Docker, id: &str, svc: &ResolvedService) -> Result<Ledger, Error> {
    match docker.read_file(id, &ledger_path(svc)).await? {
        None => Ok(Ledger { version: 1, entries: BTreeMap::new() }),
        Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| Error::Seed {
            message: format!("`{}`: the seed ledger {} is unreadable: {e}", svc.name, ledger_path(svc)),
            hint: Some(format!("re-apply everything with `devenv seed --reset {}`", svc.name)),
        }),
    }
}

pub async fn write_ledger(docker: &Docker, id: &str, svc: &ResolvedService, ledger: &Ledger) -> Result<(), Error> {
    let bytes = serde_json::to_vec_pretty(ledger).map_err(|e| Error::Other(e.to_string()))?;
    Ok(docker.write_file(id, &ledger_path(svc), &bytes).await?)
}

/// sha256 of what the entry does: its parameters and the content of its files.
pub fn entry_hash(seed: &ResolvedSeed) -> Result<String, Error> {
    let mut h = Sha256::new();
    h.update(serde_json::to_vec(&seed.kind).unwrap_or_default());
    for f in seed.kind.files() {
        let mut file = std::fs::File::open(f).map_err(|e| Error::Seed { message: format!("cannot read seed file {}: {e}", f.display()), hint: None })?;
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = file.read(&mut buf).map_err(|e| Error::Seed { message: format!("cannot read seed file {}: {e}", f.display()), hint: None })?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Where seeds reach the service from the host.
async fn target_addr(docker: &Docker, id: &str, svc: &ResolvedService) -> Result<String, Error> {
    let conn = svc.connection.as_ref().ok_or_else(|| Error::Other(format!("`{}` has no connection info", svc.name)))?;
    let info = docker.inspect(id).await?;
    super::health::published_first(&info, conn.port).ok_or_else(|| Error::Seed {
        message: format!("`{}`: port {} is neither published nor reachable for seeding", svc.name, conn.port),
        hint: Some("publish the service's port in `ports:`".into()),
    })
}

/// Apply the service's seeds (container `id`, already ready).
pub async fn run(docker: &Docker, id: &str, svc: &ResolvedService, mode: Mode, ui: &Ui) -> Result<Report, Error> {
    let mut report = Report::default();
    if svc.seeds.is_empty() {
        return Ok(report);
    }
    let mut ledger = read_ledger(docker, id, svc).await?;
    let mut todo = Vec::new();
    for seed in &svc.seeds {
        let hash = entry_hash(seed)?;
        match ledger.entries.get(&seed.id) {
            Some(done) if mode == Mode::Pending && done.hash == hash => report.skipped += 1,
            Some(_) if mode == Mode::Pending => {
                ui.warn(format!(
                    "{}: seed `{}` changed since it was applied; not applying it twice — re-apply with `devenv seed --reset {}`",
                    svc.name, seed.id, svc.name
                ));
                report.changed.push(seed.id.clone());
            }
            _ => todo.push((seed, hash)),
        }
    }
    if todo.is_empty() {
        return Ok(report);
    }
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(600))
        .build()
        .map_err(|e| Error::Other(format!("http client: {e}")))?;
    let addr = match &svc.connection {
        Some(_) => target_addr(docker, id, svc).await?,
        None => String::new(),
    };
    let t0 = Instant::now();
    let mut totals: BTreeMap<&'static str, u64> = BTreeMap::new();
    for (seed, hash) in todo {
        let applied = apply_one(docker, id, svc, seed, &addr, &http, ui).await?;
        *totals.entry(applied.unit).or_default() += applied.count;
        ledger.entries.insert(
            seed.id.clone(),
            LedgerEntry { hash, applied_at: chrono::Utc::now().to_rfc3339(), count: applied.count, unit: applied.unit.to_string() },
        );
        // Recorded after each entry: a later failure never causes a re-apply of this one.
        write_ledger(docker, id, svc, &ledger).await?;
        report.applied += 1;
    }
    let what: Vec<String> = totals.iter().map(|(unit, n)| format!("{n} {unit}")).collect();
    ui.service(
        &svc.name,
        Status::Seeded { entries: report.applied, summary: what.join(", "), elapsed_ms: t0.elapsed().as_millis() as u64 },
    );
    Ok(report)
}

/// Apply one entry, reporting progress (sampled every 100 ms) and the result to the UI.
async fn apply_one(
    docker: &Docker,
    id: &str,
    svc: &ResolvedService,
    seed: &ResolvedSeed,
    addr: &str,
    http: &reqwest::Client,
    ui: &Ui,
) -> Result<Applied, Error> {
    let started = Instant::now();
    let done = Arc::new(AtomicU64::new(0));
    let unit = unit_of(&seed.kind);
    let ticker = AbortOnDrop(spawn_ticker(done.clone(), ui, &svc.name, &seed.id, unit, started));
    ui.service(&svc.name, Status::Seeding { entry: seed.id.clone(), done: 0, unit: unit.to_string(), per_second: 0 });
    let progress_fn = {
        let done = done.clone();
        move |n: u64| done.store(n, Ordering::Relaxed)
    };
    let result = apply_entry(docker, id, svc, &seed.kind, addr, http, &progress_fn).await;
    drop(ticker);
    match result {
        Ok(applied) => {
            let secs = started.elapsed().as_secs_f64();
            ui.service(
                &svc.name,
                Status::SeedApplied {
                    entry: seed.id.clone(),
                    count: applied.count,
                    unit: applied.unit.to_string(),
                    elapsed_ms: (secs * 1000.0) as u64,
                    per_second: (applied.count as f64 / secs.max(0.001)) as u64,
                },
            );
            Ok(applied)
        }
        Err(e) => Err(Error::Seed {
            message: format!("seeding `{}` failed at `{}`: {}", svc.name, seed.id, e.message),
            hint: e.hint.or_else(|| Some(format!("fix the file or statement named above; the entries of `services.{}.seed` applied before it stay recorded and are not applied again", svc.name))),
        }),
    }
}

/// Report the running count of an entry every 100 ms (rather than on every row).
fn spawn_ticker(done: Arc<AtomicU64>, ui: &Ui, service: &str, entry: &str, unit: &'static str, started: Instant) -> tokio::task::JoinHandle<()> {
    let (ui, name, entry) = (ui.clone(), service.to_string(), entry.to_string());
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let n = done.load(Ordering::Relaxed);
            let rate = n as f64 / started.elapsed().as_secs_f64().max(0.001);
            ui.service(&name, Status::Seeding { entry: entry.clone(), done: n, unit: unit.to_string(), per_second: rate as u64 });
        }
    })
}

/// Aborts the task when dropped (also when the future applying an entry is cancelled).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Run one entry: `exec` in the container, the rest by the service's preset.
async fn apply_entry(
    docker: &Docker,
    id: &str,
    svc: &ResolvedService,
    kind: &SeedKind,
    addr: &str,
    http: &reqwest::Client,
    progress: seed::Progress<'_>,
) -> Result<Applied, SeedError> {
    match (kind, svc.connection.as_ref()) {
        (SeedKind::Exec { command }, _) => match docker.exec_capture(id, command).await {
            Ok((0, _)) => Ok(Applied { count: 1, unit: "commands" }),
            Ok((code, out)) => Err(SeedError::new(format!(
                "`{}` exited {code}: {}",
                command.join(" "),
                out.trim().lines().rev().take(5).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join(" | ")
            ))),
            Err(e) => Err(SeedError::new(e.to_string())),
        },
        (kind, Some(conn)) => {
            let t = conn.target(addr.to_string(), http);
            match conn.kind.preset().seed(&t, kind, progress) {
                Some(apply) => apply.await,
                None => Err(SeedError::new(format!("a `{}` seed is not supported by the {} preset", kind.name(), conn.kind.name()))),
            }
        }
        (other, None) => Err(SeedError::new(format!("a `{}` seed needs a preset", other.name()))),
    }
}

fn unit_of(k: &SeedKind) -> &'static str {
    match k {
        SeedKind::Sql { .. } => "statements",
        SeedKind::Csv { .. } | SeedKind::Jsonl { .. } => "rows",
        SeedKind::Redis { .. } | SeedKind::Exec { .. } => "commands",
        SeedKind::Topic { .. } => "messages",
        SeedKind::Index { .. } => "documents",
    }
}

/// `devenv seed --reset`: empty what the seeds created (database, topics, indices, keys), then clear the ledger.
pub async fn reset(docker: &Docker, id: &str, svc: &ResolvedService) -> Result<(), Error> {
    let Some(conn) = &svc.connection else {
        return write_ledger(docker, id, svc, &Ledger { version: 1, entries: BTreeMap::new() }).await;
    };
    let http = reqwest::Client::builder().no_proxy().build().map_err(|e| Error::Other(format!("http client: {e}")))?;
    let addr = target_addr(docker, id, svc).await?;
    let t = conn.target(addr, &http);
    let r = conn.kind.preset().reset(&t, svc.seeds.iter().map(|s| &s.kind).collect()).await;
    r.map_err(|e| Error::Seed { message: format!("resetting `{}` failed: {}", svc.name, e.message), hint: e.hint })?;
    write_ledger(docker, id, svc, &Ledger { version: 1, entries: BTreeMap::new() }).await
}

/// Run an in-server snapshot operation in the service's server (container
/// `id`, running); `None` when its preset has no in-server path.
pub async fn in_server(docker: &Docker, id: &str, svc: &ResolvedService, op: seed::InServer<'_>) -> Result<Option<bool>, Error> {
    let Some(conn) = &svc.connection else { return Ok(None) };
    let http = reqwest::Client::builder().no_proxy().build().map_err(|e| Error::Other(format!("http client: {e}")))?;
    let addr = target_addr(docker, id, svc).await?;
    let t = conn.target(addr, &http);
    let Some(work) = conn.kind.preset().in_server(&t, op) else { return Ok(None) };
    work.await.map(Some).map_err(|e| Error::Snapshot { message: format!("`{}`: snapshot inside the server failed: {}", svc.name, e.message), hint: e.hint })
}

/// The `run: once` jobs that depend on `services`, directly or through other
/// services, in start order: a reset drops what they created on top of the
/// seeds (a migration's tables), so they are run again after it.
pub fn dependent_jobs(plan: &Plan, services: &[String]) -> Vec<String> {
    let dependents = plan.graph.dependents_closure(services);
    let order = plan.graph.start_order().unwrap_or_else(|_| dependents.iter().cloned().collect());
    order.into_iter().filter(|s| dependents.contains(s) && plan.services.get(s).is_some_and(|svc| svc.once)).collect()
}
