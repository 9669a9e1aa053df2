//! seed: load seed data into a ready backing service over its own protocol.
//!
//! Owns: one applier per kind of seed entry (SQL files, CSV/JSONL bulk loads,
//! redis-cli command files, Kafka topics + messages, Elasticsearch indices +
//! documents), the `--reset` operations, and the parsers they need.
//! Must not: decide *whether* to apply (the ledger in `engine::seeding`
//! does), print (progress goes through the callback), or touch Docker
//! (`exec` seeds are run by the engine), or know presets (a `Target` is
//! plain data: the preset builds it from its connection).

use std::path::Path;

pub mod clickhouse;
pub mod elasticsearch;
pub mod entry;
pub mod kafka;
pub mod postgres;
pub mod redis;
pub mod sql;

/// Where and how to reach the service (from the host).
pub struct Target<'a> {
    /// `host:port` of the service's client port, reachable from devenv.
    pub addr: String,
    pub user: Option<String>,
    pub password: Option<String>,
    pub database: Option<String>,
    pub http: &'a reqwest::Client,
}

/// What an entry did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    pub count: u64,
    /// `statements`, `rows`, `commands`, `messages`, `documents`.
    pub unit: &'static str,
}

/// A seed that failed: the message names the file and, where known, the
/// statement number / line and the server's own words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedError {
    pub message: String,
    pub hint: Option<String>,
    /// What the loader recognised, so the preset can word the hint in its image's terms.
    pub cause: Option<Cause>,
}

/// A failure a loader recognised by the server's own code (not its text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// A message over the broker's size limit.
    MessageTooLarge,
    /// The server wants credentials (HTTP 401/403).
    Unauthorized,
}

impl SeedError {
    pub fn new(message: impl Into<String>) -> Self {
        SeedError { message: message.into(), hint: None, cause: None }
    }
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
    pub fn because(mut self, cause: Cause) -> Self {
        self.cause = Some(cause);
        self
    }
}

/// A snapshot kept inside the running server, over its own protocol (no
/// exec, no restart): Postgres' template databases, ClickHouse's parts
/// shared by hard links, Redis' logical databases swapped by `SWAPDB`. `key` names the snapshot,
/// `id` one save of it (so a copy left from an earlier save of that name is
/// never taken for the current one).
#[derive(Debug, Clone, Copy)]
pub enum InServer<'a> {
    /// Copy the server's databases into snapshot `key`, marked `id`.
    Save { key: &'a str, id: &'a str },
    /// Put save `id` back (after a `Prune` to `keep`); `Ok(false)`: the
    /// server holds no such save.
    Restore { id: &'a str, keep: &'a [String] },
    /// Get the next restore of save `id` ready (Postgres: a spare copy of
    /// each template, so that restore is renames only); clears what the
    /// last restore replaced.
    Prepare { id: &'a str },
    /// Remove every in-server copy whose id is not in `keep`, and undo an
    /// interrupted restore.
    Prune { keep: &'a [String] },
    /// Just before the volume is copied (the server is stopped next): put
    /// what is on disk in the form that copies and loads fastest (Redis:
    /// rewrite the append-only file into one RDB image). `Ok(false)`:
    /// nothing to do.
    BeforeCopy,
}

/// Progress callback: called with the running count of units applied.
pub type Progress<'a> = &'a (dyn Fn(u64) + Send + Sync);

/// Read a whole seed file, naming it on failure.
pub fn read_file(path: &Path) -> Result<String, SeedError> {
    std::fs::read_to_string(path).map_err(|e| SeedError::new(format!("cannot read {}: {e}", path.display())))
}

/// The innermost cause of an error chain (the useful part of a network error).
pub fn root_cause(e: &dyn std::error::Error) -> String {
    let mut cur = e;
    while let Some(s) = cur.source() {
        cur = s;
    }
    cur.to_string()
}
