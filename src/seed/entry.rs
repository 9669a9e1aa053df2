//! Seed entries as loading produces them: one entry per file (globs already
//! expanded), paths absolute. `config` makes them, `plan` carries them, the
//! seeders and the ledger consume them.
//!
//! Must not: read files or talk to a service.

use std::path::PathBuf;

use indexmap::IndexMap;
use serde::Serialize;

/// One seed entry, resolved: globs expanded (one entry per file), paths absolute.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResolvedSeed {
    /// Stable identity in the ledger: kind + what it targets (`sql seeds/schema.sql`).
    pub id: String,
    #[serde(flatten)]
    pub kind: SeedKind,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SeedKind {
    Sql { file: PathBuf },
    Csv { file: PathBuf, table: String },
    Jsonl { file: PathBuf, table: String },
    Redis { file: PathBuf },
    Topic { name: String, partitions: u32, config: IndexMap<String, String>, messages: Option<PathBuf> },
    Index { name: String, mappings: Option<PathBuf>, settings: Option<PathBuf>, documents: Option<PathBuf> },
    Exec { command: Vec<String> },
}

impl SeedKind {
    /// Files whose content defines the entry (hashed into the ledger).
    pub fn files(&self) -> Vec<&PathBuf> {
        match self {
            SeedKind::Sql { file } | SeedKind::Csv { file, .. } | SeedKind::Jsonl { file, .. } | SeedKind::Redis { file } => vec![file],
            SeedKind::Topic { messages, .. } => messages.iter().collect(),
            SeedKind::Index { mappings, settings, documents, .. } => mappings.iter().chain(settings).chain(documents).collect(),
            SeedKind::Exec { .. } => vec![],
        }
    }

    /// The entry's kind as written in `seed:` (`sql`, `topic`, …).
    pub fn name(&self) -> &'static str {
        match self {
            SeedKind::Sql { .. } => "sql",
            SeedKind::Csv { .. } => "csv",
            SeedKind::Jsonl { .. } => "jsonl",
            SeedKind::Redis { .. } => "redis",
            SeedKind::Topic { .. } => "topic",
            SeedKind::Index { .. } => "index",
            SeedKind::Exec { .. } => "exec",
        }
    }
}
