//! The watch's sync channels, one per container: started on a container's
//! first small sync, kept while it answers, dropped (and the batch sent
//! through the archive API instead) on any surprise. See `pipe` for what is
//! said over one.
//!
//! Owns: the open channels and their state. Must not: print (the caller
//! reports), or decide what is synced.

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::Mutex;

use super::pipe::{self, Answer, Check};
use super::sync::{self, EntryKind, SyncPlan, Written};
use crate::docker::{Docker, ExecPipe};

/// How long a channel may take to start or to answer a small batch before
/// it is given up (the batch then goes through the archive API).
const PATIENCE: Duration = Duration::from_secs(5);

enum State {
    Open(ExecPipe),
    /// The container cannot run one (no `dd`/`tar`, no `sh`): never tried again for it.
    Unusable,
}

#[derive(Default)]
pub struct Channels {
    by_container: Mutex<HashMap<String, State>>,
}

/// What a channel made of a batch.
pub enum Outcome {
    /// Extracted: what went in.
    Synced(Written),
    /// Refused, nothing extracted: Docker's words for the same refusal.
    Refused(String),
    /// Not carried (too large, no channel): use the archive API.
    NotCarried,
}

impl Channels {
    /// Send `plan` through the container's channel when it is small enough.
    pub async fn sync(&self, docker: &Docker, id: &str, plan: &SyncPlan) -> Outcome {
        if plan.bytes() > pipe::MAX_BATCH as u64 {
            return Outcome::NotCarried;
        }
        let mut tar = Vec::new();
        let Ok(written) = sync::write_tar(plan, &mut tar) else { return Outcome::NotCarried };
        let Some(request) = pipe::request(&tar, &checks(plan)) else { return Outcome::NotCarried };
        let mut all = self.by_container.lock().await;
        let Some(channel) = open(&mut all, docker, id).await else { return Outcome::NotCarried };
        match tokio::time::timeout(PATIENCE, exchange(channel, &request)).await {
            Ok(Some(Answer::Done)) => Outcome::Synced(written),
            Ok(Some(Answer::Refused(check))) => Outcome::Refused(refusal(&check)),
            _ => {
                // Ended, timed out or confused: the next batch starts a new one.
                all.remove(id);
                Outcome::NotCarried
            }
        }
    }
}

/// The container's open channel, started now if it has none.
async fn open<'a>(all: &'a mut HashMap<String, State>, docker: &Docker, id: &str) -> Option<&'a mut ExecPipe> {
    if !all.contains_key(id) {
        let state = match tokio::time::timeout(PATIENCE, start(docker, id)).await {
            Ok(Some(p)) => State::Open(p),
            // No tools, or too slow to start: every sync pays for it otherwise.
            Ok(None) | Err(_) => State::Unusable,
        };
        all.insert(id.to_string(), state);
    }
    match all.get_mut(id) {
        Some(State::Open(p)) => Some(p),
        _ => None,
    }
}

/// Start the script; `None` when the container cannot run it.
async fn start(docker: &Docker, id: &str) -> Option<ExecPipe> {
    let mut p = docker.exec_pipe(id, &pipe::command(), "0").await.ok()?;
    loop {
        match pipe::answer(&p.line().await?) {
            Answer::Ready => return Some(p),
            Answer::Other(_) => continue,
            _ => return None,
        }
    }
}

async fn exchange(p: &mut ExecPipe, request: &[u8]) -> Option<Answer> {
    p.send(request).await.ok()?;
    loop {
        match pipe::answer(&p.line().await?) {
            Answer::Other(_) => continue,
            a => return Some(a),
        }
    }
}

/// What the container must not hold where the tar puts each entry.
fn checks(plan: &SyncPlan) -> Vec<Check> {
    sync::with_parents(plan)
        .into_iter()
        .map(|e| {
            let path = format!("/{}", e.name);
            if e.kind == EntryKind::Dir { Check::Dir(path) } else { Check::NotDir(path) }
        })
        .collect()
}

/// The refusal in the words Docker's archive API uses for it.
fn refusal(check: &Check) -> String {
    match check {
        Check::Dir(p) => format!("cannot overwrite non-directory \"{p}\" with directory"),
        Check::NotDir(p) => format!("cannot overwrite directory \"{p}\" with non-directory"),
    }
}
