//! seed: load seed data into a ready backing service over its own protocol.
//!
//! Owns: one applier per kind of seed entry (SQL files, CSV/JSONL bulk loads,
//! redis-cli command files, Kafka topics + messages, Elasticsearch indices +
//! documents), the `--reset` operations, and the parsers they need.
//! Must not: decide *whether* to apply (the ledger in `engine::seeding`
//! does), print (progress goes through the callback), or touch Docker
//! (`exec` seeds are run by the engine).

use std::path::Path;

use crate::preset::Connection;

pub mod clickhouse;
pub mod elasticsearch;
pub mod entry;
pub mod kafka;
pub mod postgres;
pub mod redis;
pub mod sql;

/// Where and how to reach the service (from the host).
pub struct Target<'a> {
    /// `host:port` of the service's client port (`Connection::port`), reachable from devenv.
    pub addr: String,
    pub conn: &'a Connection,
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
}

impl SeedError {
    pub fn new(message: impl Into<String>) -> Self {
        SeedError { message: message.into(), hint: None }
    }
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// Progress callback: called with the running count of units applied.
pub type Progress<'a> = &'a (dyn Fn(u64) + Send + Sync);

/// Read a whole seed file, naming it on failure.
pub fn read_file(path: &Path) -> Result<String, SeedError> {
    std::fs::read_to_string(path).map_err(|e| SeedError::new(format!("cannot read {}: {e}", path.display())))
}
