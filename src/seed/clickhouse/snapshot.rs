//! seed::clickhouse::snapshot: snapshots kept inside a running ClickHouse
//! (`InServer`), over its HTTP interface — no exec, no restart, no data
//! copied: MergeTree parts are immutable, and `ALTER TABLE … REPLACE
//! PARTITION ID … FROM` shares them by hard links (ClickHouse 18.1 and up).
//!
//! Layout: a save of snapshot `key` is the database `__devenv_snap_<key>`
//! holding `t0`…`tN` (each a copy of one user table: same structure,
//! the same parts) and `_devenv_manifest` (the save's id, the user's
//! databases, which copy is which table), written last: a database without
//! a complete manifest is no save and is dropped at the next prune.
//! A restore builds every table again in `__devenv_stage` (hard links
//! again; nothing of the current state touched) and writes the swap's plan
//! there (the save's manifest plus where each current table goes aside),
//! then swaps with one `RENAME TABLE`: the current tables into
//! `__devenv_old` (`a0`…`aN`), the staged ones into their places, the plan
//! last. A plan still in the stage is a swap cut short (the server refused
//! a rename half-way, or stopped inside the statement): every table goes
//! back where the plan says it was, so the state is the old one whole —
//! at once when the statement fails, else at the next operation.
//! `Prepare` drops what the swap moved aside.
//!
//! Only plain MergeTree-family tables take this path: when the user's
//! databases hold anything else (views, Log/Memory tables, dictionaries,
//! Replicated* tables) or databases of another engine, every operation
//! answers `Ok(false)` and the engine copies the volume instead.
//!
//! Owns: the in-server layout and its SQL. Must not: touch Docker, decide
//! when a snapshot is taken (engine::snapshot).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{post, quote_ident};
use crate::seed::{SeedError, Target};

const MARK: &str = "__devenv_";
const SNAP: &str = "__devenv_snap_";
const STAGE: &str = "__devenv_stage";
const OLD: &str = "__devenv_old";
const MANIFEST: &str = "_devenv_manifest";

/// A filter on `system.databases` for the user's databases: not the
/// server's own, not devenv's (marked with `MARK`).
fn users() -> String {
    format!("name NOT IN ('system', 'INFORMATION_SCHEMA', 'information_schema') AND substring(name, 1, {}) != {}", MARK.len(), literal(MARK))
}

/// A filter on `system.databases` for exactly `db`.
fn only(db: &str) -> String {
    format!("name = {}", literal(db))
}

/// A filter on `system.databases` for the save databases.
fn saves_filter() -> String {
    format!("substring(name, 1, {}) = {}", SNAP.len(), literal(SNAP))
}

/// The in-server snapshot operations (see the module docs).
pub async fn in_server(t: &Target<'_>, op: crate::seed::InServer<'_>) -> Result<bool, SeedError> {
    use crate::seed::InServer;
    let s = Server::connect(t).await?;
    match op {
        InServer::Save { key, id } => s.save(key, id).await,
        InServer::Restore { id, keep } => {
            s.prune(keep).await?;
            s.restore(id).await
        }
        InServer::Prepare { .. } => s.clear_swap().await.map(|()| true),
        InServer::Prune { keep } => s.prune(keep).await.map(|()| true),
        // A graceful stop leaves the parts complete on disk.
        InServer::BeforeCopy => Ok(false),
    }
}

/// One row of a save's manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Row {
    /// `id` (the save's id in `slot`), `db` (a user database) or `table`.
    kind: String,
    db: String,
    name: String,
    slot: String,
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Manifest {
    id: String,
    databases: Vec<String>,
    /// (database, table, slot in the save's database).
    tables: Vec<(String, String, String)>,
    /// A swap's plan only: (database, table, slot in `__devenv_old`).
    aside: Vec<(String, String, String)>,
}

impl Manifest {
    fn rows(&self) -> Vec<Row> {
        let row = |kind: &str, db: &str, name: &str, slot: &str| Row { kind: kind.into(), db: db.into(), name: name.into(), slot: slot.into() };
        let mut out = vec![row("id", "", "", &self.id)];
        out.extend(self.databases.iter().map(|d| row("db", d, "", "")));
        out.extend(self.tables.iter().map(|(d, n, s)| row("table", d, n, s)));
        out.extend(self.aside.iter().map(|(d, n, s)| row("aside", d, n, s)));
        out
    }

    fn from_rows(rows: Vec<Row>) -> Manifest {
        let mut m = Manifest::default();
        for r in rows {
            match r.kind.as_str() {
                "id" => m.id = r.slot,
                "db" => m.databases.push(r.db),
                "table" => m.tables.push((r.db, r.name, r.slot)),
                "aside" => m.aside.push((r.db, r.name, r.slot)),
                _ => {}
            }
        }
        m
    }
}

#[derive(Debug, Deserialize)]
struct Table {
    database: String,
    name: String,
    engine: String,
}

/// Whether a table's parts can be shared by `REPLACE PARTITION … FROM`.
fn shareable(engine: &str) -> bool {
    engine.ends_with("MergeTree") && !engine.starts_with("Replicated")
}

/// The database a save of snapshot `key` lives in: `[a-z0-9]` kept, any
/// other byte as `_xx`, so every key has its own plain name.
fn snap_db(key: &str) -> String {
    let mut out = String::from(SNAP);
    for b in key.bytes() {
        match b {
            b'a'..=b'z' | b'0'..=b'9' => out.push(b as char),
            _ => out.push_str(&format!("_{b:02x}")),
        }
    }
    out
}

/// An earlier devenv's moved-aside table name (`x<hex db>_<hex table>`):
/// its place.
fn from_aside(name: &str) -> Option<(String, String)> {
    let unhex = |s: &str| -> Option<String> {
        if !s.len().is_multiple_of(2) {
            return None;
        }
        let bytes: Option<Vec<u8>> = (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect();
        String::from_utf8(bytes?).ok()
    };
    let (db, table) = name.strip_prefix('x')?.split_once('_')?;
    Some((unhex(db)?, unhex(table)?))
}

fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

fn qualified(db: &str, table: &str) -> String {
    format!("{}.{}", quote_ident(db), quote_ident(table))
}

struct Server<'a, 't> {
    t: &'a Target<'t>,
    /// ` SYNC` where the server knows it (21+: an Atomic database frees a
    /// dropped table's files only after a delay otherwise).
    sync: &'static str,
}

impl<'a, 't> Server<'a, 't> {
    async fn connect(t: &'a Target<'t>) -> Result<Server<'a, 't>, SeedError> {
        let mut s = Server { t, sync: "" };
        let version = s.exec("SELECT version()").await?;
        let major: u32 = version.trim().split('.').next().and_then(|m| m.parse().ok()).unwrap_or(0);
        if major >= 21 {
            s.sync = " SYNC";
        }
        Ok(s)
    }

    async fn exec(&self, statement: &str) -> Result<String, SeedError> {
        post(self.t, None, None, statement.to_string())
            .await
            .map_err(|e| SeedError::new(format!("clickhouse snapshot: `{}` failed: {}", short(statement), e.message())))
    }

    async fn rows<T: serde::de::DeserializeOwned>(&self, query: &str) -> Result<Vec<T>, SeedError> {
        let out = self.exec(&format!("{query} FORMAT JSONEachRow")).await?;
        out.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).map_err(|e| SeedError::new(format!("clickhouse snapshot: unexpected reply {l:?} to `{}`: {e}", short(query)))))
            .collect()
    }

    async fn databases(&self, filter: &str) -> Result<Vec<(String, String)>, SeedError> {
        #[derive(Deserialize)]
        struct Db {
            name: String,
            engine: String,
        }
        let dbs: Vec<Db> = self.rows(&format!("SELECT name, engine FROM system.databases WHERE {filter} ORDER BY name")).await?;
        Ok(dbs.into_iter().map(|d| (d.name, d.engine)).collect())
    }

    async fn tables(&self, db_filter: &str) -> Result<Vec<Table>, SeedError> {
        self.rows(&format!("SELECT database, name, engine FROM system.tables WHERE database IN (SELECT name FROM system.databases WHERE {db_filter}) ORDER BY database, name")).await
    }

    /// (database, table) → its active partitions' ids.
    async fn partitions(&self, db_filter: &str) -> Result<BTreeMap<(String, String), BTreeSet<String>>, SeedError> {
        #[derive(Deserialize)]
        struct Part {
            database: String,
            table: String,
            partition_id: String,
        }
        let parts: Vec<Part> = self.rows(&format!("SELECT database, table, partition_id FROM system.parts WHERE active AND database IN (SELECT name FROM system.databases WHERE {db_filter})")).await?;
        let mut out: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
        for p in parts {
            out.entry((p.database, p.table)).or_default().insert(p.partition_id);
        }
        Ok(out)
    }

    /// Whether the user's databases hold only what this path can copy.
    async fn shareable_state(&self) -> Result<Option<(Vec<String>, Vec<Table>)>, SeedError> {
        let dbs = self.databases(&users()).await?;
        let tables = self.tables(&users()).await?;
        let default_engine = self.databases("name = 'default'").await?.into_iter().next().map(|(_, e)| e);
        let same_engine = dbs.iter().all(|(_, e)| Some(e) == default_engine.as_ref());
        if !same_engine || tables.iter().any(|t| !shareable(&t.engine)) {
            return Ok(None);
        }
        Ok(Some((dbs.into_iter().map(|(n, _)| n).collect(), tables)))
    }

    /// Make `to` (new, empty, the structure of `from`) share every part of `from`.
    async fn copy_table(&self, from: &str, to: &str, partitions: Option<&BTreeSet<String>>) -> Result<(), SeedError> {
        self.exec(&format!("CREATE TABLE {to} AS {from}")).await?;
        for p in partitions.into_iter().flatten() {
            self.exec(&format!("ALTER TABLE {to} REPLACE PARTITION ID {} FROM {from}", literal(p))).await?;
        }
        Ok(())
    }

    async fn drop_database(&self, db: &str) -> Result<(), SeedError> {
        self.exec(&format!("DROP DATABASE IF EXISTS {}{}", quote_ident(db), self.sync)).await.map(drop)
    }

    async fn save(&self, key: &str, id: &str) -> Result<bool, SeedError> {
        let Some((databases, tables)) = self.shareable_state().await? else { return Ok(false) };
        let db = snap_db(key);
        self.drop_database(&db).await?;
        self.exec(&format!("CREATE DATABASE {}", quote_ident(&db))).await?;
        let parts = self.partitions(&users()).await?;
        let mut manifest = Manifest { id: id.to_string(), databases, ..Manifest::default() };
        for (i, table) in tables.into_iter().enumerate() {
            let slot = format!("t{i}");
            let key = (table.database, table.name);
            self.copy_table(&qualified(&key.0, &key.1), &qualified(&db, &slot), parts.get(&key)).await?;
            manifest.tables.push((key.0, key.1, slot));
        }
        self.write_manifest(&db, &manifest).await?;
        Ok(true)
    }

    /// The manifest goes in last, in one insert: it is what makes the save exist.
    async fn write_manifest(&self, db: &str, m: &Manifest) -> Result<(), SeedError> {
        let table = qualified(db, MANIFEST);
        self.exec(&format!("CREATE TABLE {table} (kind String, db String, name String, slot String) ENGINE = TinyLog")).await?;
        let mut body = format!("INSERT INTO {table} FORMAT JSONEachRow\n");
        for row in m.rows() {
            body.push_str(&serde_json::to_string(&row).map_err(|e| SeedError::new(format!("clickhouse snapshot manifest: {e}")))?);
            body.push('\n');
        }
        self.exec(&body).await.map(drop)
    }

    async fn read_manifest(&self, db: &str) -> Result<Manifest, SeedError> {
        Ok(Manifest::from_rows(self.rows(&format!("SELECT kind, db, name, slot FROM {}", qualified(db, MANIFEST))).await?))
    }

    /// Every save database, with its manifest (`None`: incomplete).
    async fn saves(&self) -> Result<Vec<(String, Option<Manifest>)>, SeedError> {
        let dbs = self.databases(&saves_filter()).await?;
        let complete: BTreeSet<String> = self
            .tables(&saves_filter())
            .await?
            .into_iter()
            .filter(|t| t.name == MANIFEST)
            .map(|t| t.database)
            .collect();
        let mut out = Vec::new();
        for (db, _) in dbs {
            let manifest = match complete.contains(&db) {
                true => Some(self.read_manifest(&db).await?),
                false => None,
            };
            out.push((db, manifest.filter(|m| !m.id.is_empty())));
        }
        Ok(out)
    }

    /// Drop every save whose id is not in `keep` (and incomplete ones), and
    /// what an earlier restore left (undoing a swap cut short).
    async fn prune(&self, keep: &[String]) -> Result<(), SeedError> {
        for (db, manifest) in self.saves().await? {
            if !manifest.is_some_and(|m| keep.contains(&m.id)) {
                self.drop_database(&db).await?;
            }
        }
        self.undo_swap().await?;
        self.clear_swap().await
    }

    /// A swap cut short: its plan is still in the stage. Staged tables the
    /// swap had already put in place go back to the stage, then every table
    /// moved aside goes back to its place (one `RENAME`): the old state
    /// whole. Repeatable: it acts on what it finds.
    async fn undo_swap(&self) -> Result<(), SeedError> {
        let staged: BTreeSet<String> = self.tables(&only(STAGE)).await?.into_iter().map(|t| t.name).collect();
        if staged.is_empty() {
            return Ok(());
        }
        if !staged.contains(MANIFEST) {
            return self.undo_unplanned().await;
        }
        let plan = self.read_manifest(STAGE).await?;
        let aside: BTreeSet<String> = self.tables(&only(OLD)).await?.into_iter().map(|t| t.name).collect();
        let moved: Vec<&(String, String, String)> = plan.aside.iter().filter(|(_, _, slot)| aside.contains(slot)).collect();
        for db in moved.iter().map(|(db, _, _)| db).collect::<BTreeSet<_>>() {
            self.exec(&format!("CREATE DATABASE IF NOT EXISTS {}", quote_ident(db))).await?;
        }
        let placed = plan.tables.iter().filter(|(_, _, slot)| !staged.contains(slot)).map(|(db, name, slot)| format!("{} TO {}", qualified(db, name), qualified(STAGE, slot)));
        let back: Vec<String> = placed.chain(moved.iter().map(|(db, name, slot)| format!("{} TO {}", qualified(OLD, slot), qualified(db, name)))).collect();
        if !back.is_empty() {
            self.exec(&format!("RENAME TABLE {}", back.join(", "))).await?;
        }
        Ok(())
    }

    /// What an earlier devenv (before swaps had a plan) left when cut short:
    /// its moved-aside tables named their place (`x<hex db>_<hex table>`);
    /// each whose place is free goes back.
    async fn undo_unplanned(&self) -> Result<(), SeedError> {
        let present: BTreeSet<(String, String)> = self.tables(&users()).await?.into_iter().map(|t| (t.database, t.name)).collect();
        let mut back = Vec::new();
        for aside in self.tables(&only(OLD)).await? {
            let Some((db, table)) = from_aside(&aside.name) else { continue };
            if !present.contains(&(db.clone(), table.clone())) {
                self.exec(&format!("CREATE DATABASE IF NOT EXISTS {}", quote_ident(&db))).await?;
                back.push(format!("{} TO {}", qualified(OLD, &aside.name), qualified(&db, &table)));
            }
        }
        if !back.is_empty() {
            self.exec(&format!("RENAME TABLE {}", back.join(", "))).await?;
        }
        Ok(())
    }

    /// Drop the staging and moved-aside databases.
    async fn clear_swap(&self) -> Result<(), SeedError> {
        self.drop_database(STAGE).await?;
        self.drop_database(OLD).await
    }

    async fn restore(&self, id: &str) -> Result<bool, SeedError> {
        let Some((snap, manifest)) = self.saves().await?.into_iter().find_map(|(db, m)| m.filter(|m| m.id == id).map(|m| (db, m))) else {
            return Ok(false);
        };
        // Stage: every saved table built again (hard links), nothing of the
        // current state touched; whether this path applies is read once, after.
        self.clear_swap().await?;
        self.exec(&format!("CREATE DATABASE {}", quote_ident(STAGE))).await?;
        self.exec(&format!("CREATE DATABASE {}", quote_ident(OLD))).await?;
        let parts = self.partitions(&only(&snap)).await?;
        for (_, _, slot) in &manifest.tables {
            self.copy_table(&qualified(&snap, slot), &qualified(STAGE, slot), parts.get(&(snap.clone(), slot.clone()))).await?;
        }
        // What is there now, read just before the swap, and the plan.
        let Some((current_dbs, current)) = self.shareable_state().await? else {
            self.clear_swap().await?;
            return Ok(false);
        };
        for db in manifest.databases.iter().filter(|d| !current_dbs.contains(d)) {
            self.exec(&format!("CREATE DATABASE IF NOT EXISTS {}", quote_ident(db))).await?;
        }
        let aside = current.into_iter().enumerate().map(|(i, t)| (t.database, t.name, format!("a{i}"))).collect();
        let plan = Manifest { aside, ..manifest };
        self.write_manifest(STAGE, &plan).await?;
        // The swap: one statement, the plan moved out of the stage last.
        let aside = plan.aside.iter().map(|(db, name, slot)| format!("{} TO {}", qualified(db, name), qualified(OLD, slot)));
        let into = plan.tables.iter().map(|(db, name, slot)| format!("{} TO {}", qualified(STAGE, slot), qualified(db, name)));
        let done = format!("{} TO {}", qualified(STAGE, MANIFEST), qualified(OLD, MANIFEST));
        let renames: Vec<String> = aside.chain(into).chain([done]).collect();
        if let Err(e) = self.exec(&format!("RENAME TABLE {}", renames.join(", "))).await {
            return Err(match self.undo_swap().await {
                Ok(()) => SeedError::new(format!("{} — undone: every table is as it was", e.message)),
                Err(u) => SeedError::new(format!("{} — and undoing it failed too ({}); the next reset or restore undoes it", e.message, u.message)),
            });
        }
        for db in current_dbs.iter().filter(|d| !plan.databases.contains(d) && d.as_str() != "default") {
            self.drop_database(db).await?;
        }
        Ok(true)
    }
}

/// A statement's first line, for error messages (an INSERT carries its data).
fn short(statement: &str) -> String {
    let line = statement.lines().next().unwrap_or("");
    match line.char_indices().nth(160) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_databases_have_plain_unique_names() {
        assert_eq!(snap_db("base"), "__devenv_snap_base");
        assert_eq!(snap_db("_seeded.olap"), "__devenv_snap__5fseeded_2eolap");
        assert_ne!(snap_db("a-b"), snap_db("a_b"));
        assert!(snap_db("x").starts_with(MARK));
    }

    fn aside_name(db: &str, table: &str) -> String {
        let hex = |s: &str| s.bytes().map(|b| format!("{b:02x}")).collect::<String>();
        format!("x{}_{}", hex(db), hex(table))
    }

    #[test]
    fn an_earlier_moved_aside_table_names_its_place() {
        let n = aside_name("my db", "ev_ents`");
        assert!(n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "{n}");
        assert_eq!(from_aside(&n), Some(("my db".into(), "ev_ents`".into())));
        assert_eq!(from_aside("users"), None);
        assert_eq!(from_aside("x6_61"), None);
    }

    #[test]
    fn the_manifest_reads_back_what_was_written() {
        let m = Manifest {
            id: "base@1".into(),
            databases: vec!["default".into(), "app".into()],
            tables: vec![("app".into(), "events".into(), "t0".into())],
            aside: vec![("app".into(), "old".into(), "a0".into())],
        };
        assert_eq!(Manifest::from_rows(m.rows()), m);
        assert_eq!(Manifest::from_rows(Vec::new()).id, "", "no id row: incomplete");
    }

    #[test]
    fn only_plain_merge_trees_share_parts() {
        assert!(shareable("MergeTree"));
        assert!(shareable("ReplacingMergeTree"));
        assert!(shareable("AggregatingMergeTree"));
        assert!(!shareable("ReplicatedMergeTree"));
        assert!(!shareable("Log"));
        assert!(!shareable("MaterializedView"));
        assert!(!shareable("View"));
        assert_eq!(literal("it's\\"), "'it\\'s\\\\'");
    }
}
