//! seed::redis::snapshot: snapshots kept inside a running Redis
//! (`InServer`), over RESP — a restore is `SWAPDB`, O(1), no restart.
//!
//! Layout, in the server's logical databases (devenv's clients, and the
//! URL it hands out, use database 0):
//! - the last one (`databases - 1`) holds only the registry, a hash
//!   `__devenv:snapshots` (database number → `template <key> <id> <keys>`,
//!   `spare <id> <keys>` or `old`);
//! - below it, per save: its template (database 0 at the save) and its
//!   spare (a copy of the template, ready to be swapped in).
//!
//! A save copies database 0 into a template with one script (atomic: never
//! torn by a client writing meanwhile); a restore swaps the save's spare
//! with database 0 and marks what it swapped out `old`, in one MULTI/EXEC;
//! `Prepare` empties that and copies the template into a new spare, SCAN by
//! SCAN (clients are never blocked by it; nobody writes a template).
//!
//! The price is memory and disk: each save is two copies of database 0,
//! kept by the server (and in its RDB/AOF files, so in a volume copy, and
//! loaded at every start). So this path is taken only where it is safe and
//! bounded: keys in database 0 only, `maxmemory` off (an evicted key would
//! silently go missing from a template), the server under `MAX_MEMORY`,
//! not a cluster node, `CONFIG`, scripts and COPY allowed (Redis 6.2+);
//! anything else answers `Ok(false)`
//! and the engine copies the volume instead.
//!
//! Owns: the in-server layout and its commands. Must not: touch Docker, decide
//! when a snapshot is taken (engine::snapshot).

use std::collections::BTreeMap;

use super::{encode, Conn, Reply};
use crate::seed::{SeedError, Target};

const REGISTRY: &str = "__devenv:snapshots";
/// A server using more memory than this gets no more copies inside it
/// (each save is two copies of database 0: its template and its spare).
const MAX_MEMORY: u64 = 512 << 20;
/// Keys per SCAN step and COPY pipeline.
const BATCH: usize = 1000;

/// Copy every key of database ARGV[1] into database ARGV[2] (emptied
/// first), atomically; the number of keys.
const COPY_ALL: &str = "redis.call('SELECT', ARGV[2]) redis.call('FLUSHDB') redis.call('SELECT', ARGV[1]) \
local keys = redis.call('KEYS', '*') for _, k in ipairs(keys) do redis.call('COPY', k, k, 'DB', ARGV[2]) end return #keys";

/// The in-server snapshot operations (see the module docs).
pub async fn in_server(t: &Target<'_>, op: crate::seed::InServer<'_>) -> Result<bool, SeedError> {
    use crate::seed::InServer;
    if let InServer::BeforeCopy = op {
        return super::compact(t).await;
    }
    let Some(mut s) = Server::open(t).await? else { return Ok(false) };
    match op {
        InServer::Save { key, id } => s.save(key, id).await,
        InServer::Restore { id, keep } => {
            s.prune(keep).await?;
            s.restore(id).await
        }
        InServer::Prepare { id } => s.prepare(id).await.map(|()| true),
        InServer::Prune { keep } => s.prune(keep).await.map(|()| true),
        InServer::BeforeCopy => Ok(false),
    }
}

/// What a database of devenv's holds (a registry entry).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    /// Save `id` of snapshot `key`, `keys` keys.
    Template { key: String, id: String, keys: u64 },
    /// A copy of save `id`, ready to be swapped in.
    Spare { id: String, keys: u64 },
    /// What the last restore swapped out.
    Old,
}

impl Entry {
    fn parse(s: &str) -> Option<Entry> {
        let mut w = s.split(' ');
        let e = match w.next()? {
            "template" => Entry::Template { key: w.next()?.to_string(), id: w.next()?.to_string(), keys: w.next()?.parse().ok()? },
            "spare" => Entry::Spare { id: w.next()?.to_string(), keys: w.next()?.parse().ok()? },
            "old" => Entry::Old,
            _ => return None,
        };
        Some(e)
    }

    fn text(&self) -> String {
        match self {
            Entry::Template { key, id, keys } => format!("template {key} {id} {keys}"),
            Entry::Spare { id, keys } => format!("spare {id} {keys}"),
            Entry::Old => "old".into(),
        }
    }
}

/// How a spare is filled.
#[derive(Debug, Clone, Copy)]
enum Fill {
    /// One script: the fastest, but clients wait until it ends.
    Script,
    /// SCAN + COPY, pipelined: clients go on meanwhile.
    Scan,
}

struct Server {
    conn: Conn,
    /// The registry's database (the last).
    registry: u32,
}

fn bytes(args: &[&str]) -> Vec<Vec<u8>> {
    args.iter().map(|a| a.as_bytes().to_vec()).collect()
}

/// A keyspace line's key count (`db0:keys=3,expires=0,avg_ttl=0`).
fn keyspace(info: &str) -> BTreeMap<u32, u64> {
    info.lines()
        .filter_map(|l| {
            let (db, rest) = l.strip_prefix("db")?.split_once(':')?;
            let keys = rest.split(',').find_map(|f| f.strip_prefix("keys="))?;
            Some((db.parse().ok()?, keys.trim().parse().ok()?))
        })
        .collect()
}

impl Server {
    /// `None` where this path is not available (`CONFIG` refused, fewer than 4 databases).
    async fn open(t: &Target<'_>) -> Result<Option<Server>, SeedError> {
        let mut conn = Conn::open(t).await?;
        let databases = match conn.call(&bytes(&["CONFIG", "GET", "databases"])).await? {
            Reply::Array(Some(items)) => match items.get(1) {
                Some(Reply::Bulk(Some(n))) => String::from_utf8_lossy(n).parse::<u32>().unwrap_or(0),
                _ => 0,
            },
            _ => 0,
        };
        // A cluster node has database 0 only (SELECT is refused).
        let cluster = match conn.call(&bytes(&["INFO", "cluster"])).await? {
            Reply::Bulk(Some(b)) => String::from_utf8_lossy(&b).contains("cluster_enabled:1"),
            _ => false,
        };
        if databases < 4 || cluster {
            return Ok(None);
        }
        Ok(Some(Server { conn, registry: databases - 1 }))
    }

    /// A database devenv may take: below the registry, not database 0,
    /// not in the registry (every other one is empty: `copyable`).
    fn free_db(&self, entries: &BTreeMap<u32, Entry>) -> Option<u32> {
        (1..self.registry).rev().find(|db| !entries.contains_key(db))
    }

    /// A command whose error is a failure of the operation.
    async fn must(&mut self, args: &[&str]) -> Result<Reply, SeedError> {
        let reply = self.conn.call(&bytes(args)).await?;
        if let Some(e) = reply.error() {
            return Err(SeedError::new(format!("redis at {}: {} failed: {e}", self.conn.addr, args.first().copied().unwrap_or(""))));
        }
        Ok(reply)
    }

    async fn info(&mut self, section: &str) -> Result<String, SeedError> {
        match self.must(&["INFO", section]).await? {
            Reply::Bulk(Some(b)) => Ok(String::from_utf8_lossy(&b).into_owned()),
            other => Err(SeedError::new(format!("redis at {}: unexpected reply to INFO: {other:?}", self.conn.addr))),
        }
    }

    /// One command in database `db`; the connection is back on database 0 after.
    async fn in_db(&mut self, db: u32, args: &[&str]) -> Result<Reply, SeedError> {
        let d = db.to_string();
        self.must(&["SELECT", &d]).await?;
        let reply = self.must(args).await;
        self.must(&["SELECT", "0"]).await?;
        reply
    }

    async fn entries(&mut self) -> Result<BTreeMap<u32, Entry>, SeedError> {
        let Reply::Array(Some(items)) = self.in_db(self.registry, &["HGETALL", REGISTRY]).await? else { return Ok(BTreeMap::new()) };
        let text = |r: &Reply| match r {
            Reply::Bulk(Some(b)) => String::from_utf8_lossy(b).into_owned(),
            _ => String::new(),
        };
        Ok(items.chunks(2).filter_map(|kv| Some((text(kv.first()?).parse().ok()?, Entry::parse(&text(kv.get(1)?))?))).collect())
    }

    async fn set_entry(&mut self, db: u32, entry: Option<&Entry>) -> Result<(), SeedError> {
        let d = db.to_string();
        let text = entry.map(Entry::text);
        let args = match &text {
            Some(t) => vec!["HSET", REGISTRY, &d, t],
            None => vec!["HDEL", REGISTRY, &d],
        };
        self.in_db(self.registry, &args).await.map(drop)
    }

    async fn flush(&mut self, db: u32) -> Result<(), SeedError> {
        self.in_db(db, &["FLUSHDB", "ASYNC"]).await.map(drop)
    }

    async fn dbsize(&mut self, db: u32) -> Result<u64, SeedError> {
        match self.in_db(db, &["DBSIZE"]).await? {
            Reply::Integer(n) => Ok(u64::try_from(n).unwrap_or(0)),
            _ => Ok(0),
        }
    }

    /// Whether the server's state is what this path can copy: keys in
    /// database 0 (and devenv's own) only, no eviction, a small dataset.
    async fn copyable(&mut self, entries: &BTreeMap<u32, Entry>) -> Result<bool, SeedError> {
        let registry = self.registry;
        let ours = |db: &u32| *db == registry || entries.contains_key(db);
        if keyspace(&self.info("keyspace").await?).keys().any(|db| *db != 0 && !ours(db)) {
            return Ok(false);
        }
        let memory = self.info("memory").await?;
        let field = |name: &str| memory.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(':')).map(str::trim).and_then(|v| v.parse::<u64>().ok());
        Ok(field("maxmemory") == Some(0) && field("used_memory").is_some_and(|m| m <= MAX_MEMORY))
    }

    async fn save(&mut self, key: &str, id: &str) -> Result<bool, SeedError> {
        let entries = self.entries().await?;
        if !self.copyable(&entries).await? {
            return Ok(false);
        }
        // This key's earlier save is replaced; else the highest free database below the spare.
        let same = entries.iter().find(|(_, e)| matches!(e, Entry::Template { key: k, .. } if k == key)).map(|(db, _)| *db);
        let Some(db) = same.or_else(|| self.free_db(&entries)) else { return Ok(false) };
        // Marked ours before anything is copied: a copy cut short is emptied by the next prune.
        self.set_entry(db, Some(&Entry::Old)).await?;
        let d = db.to_string();
        let keys = match self.conn.call(&bytes(&["EVAL", COPY_ALL, "0", "0", &d])).await? {
            Reply::Integer(n) => u64::try_from(n).unwrap_or(0),
            // COPY unknown (before 6.2), scripting off or not allowed to this
            // user, out of memory: not this path (the volume copy is made).
            Reply::Error(_) => {
                self.flush(db).await?;
                self.set_entry(db, None).await?;
                return Ok(false);
            }
            other => return Err(SeedError::new(format!("redis at {}: copying database 0 failed: {other:?}", self.conn.addr))),
        };
        self.set_entry(db, Some(&Entry::Template { key: key.to_string(), id: id.to_string(), keys })).await?;
        Ok(true)
    }

    /// The template of save `id`: (database, keys), when it is whole.
    async fn template(&mut self, entries: &BTreeMap<u32, Entry>, id: &str) -> Result<Option<(u32, u64)>, SeedError> {
        let Some((db, keys)) = entries.iter().find_map(|(db, e)| match e {
            Entry::Template { id: i, keys, .. } if i == id => Some((*db, *keys)),
            _ => None,
        }) else {
            return Ok(None);
        };
        // Keys with a time to live may have expired since: then it is not the save any more.
        Ok((self.dbsize(db).await? == keys).then_some((db, keys)))
    }

    async fn restore(&mut self, id: &str) -> Result<bool, SeedError> {
        let entries = self.entries().await?;
        let Some((template, keys)) = self.template(&entries, id).await? else { return Ok(false) };
        // Keys in another database since: a swap of database 0 would not bring the whole state back.
        if !self.copyable(&entries).await? {
            return Ok(false);
        }
        let spare = match self.ready_spare(&entries, id, keys).await? {
            Some(db) => db,
            // Not made yet (its `Prepare` cut short): made now, in one script (faster; blocks clients meanwhile).
            None => {
                let Some(db) = self.free_db(&entries) else { return Ok(false) };
                self.fill_spare(template, db, id, keys, Fill::Script).await?;
                db
            }
        };
        // The swap, and what the spare holds now, at once.
        let (r, s) = (self.registry.to_string(), spare.to_string());
        let old = Entry::Old.text();
        for cmd in [vec!["MULTI"], vec!["SWAPDB", "0", &s], vec!["SELECT", &r], vec!["HSET", REGISTRY, &s, &old], vec!["SELECT", "0"]] {
            self.must(&cmd).await?;
        }
        let exec = self.must(&["EXEC"]).await?;
        if let Some(e) = exec.error() {
            return Err(SeedError::new(format!("redis at {}: the swap failed: {e}", self.conn.addr)));
        }
        Ok(true)
    }

    /// The database holding a whole spare of save `id`.
    async fn ready_spare(&mut self, entries: &BTreeMap<u32, Entry>, id: &str, keys: u64) -> Result<Option<u32>, SeedError> {
        let spares: Vec<u32> = entries.iter().filter(|(_, e)| matches!(e, Entry::Spare { id: i, keys: k } if i == id && *k == keys)).map(|(db, _)| *db).collect();
        for db in spares {
            if self.dbsize(db).await? == keys {
                return Ok(Some(db));
            }
        }
        Ok(None)
    }

    /// Copy template `template` (save `id`, `keys` keys) into database `db`.
    async fn fill_spare(&mut self, template: u32, db: u32, id: &str, keys: u64, how: Fill) -> Result<(), SeedError> {
        // Marked ours before anything is copied: a copy cut short is emptied by the next prune.
        self.set_entry(db, Some(&Entry::Old)).await?;
        let (t, d) = (template.to_string(), db.to_string());
        match how {
            Fill::Script => {
                if let Some(e) = self.conn.call(&bytes(&["EVAL", COPY_ALL, "0", &t, &d])).await?.error() {
                    return Err(SeedError::new(format!("redis at {}: copying a snapshot failed: {e}", self.conn.addr)));
                }
            }
            Fill::Scan => {
                self.flush(db).await?;
                self.must(&["SELECT", &t]).await?;
                let copied = self.copy_scanned(&d).await;
                self.must(&["SELECT", "0"]).await?;
                copied?;
            }
        }
        self.set_entry(db, Some(&Entry::Spare { id: id.to_string(), keys })).await
    }

    /// COPY every key of the selected database into database `to`, SCAN by SCAN, pipelined.
    async fn copy_scanned(&mut self, to: &str) -> Result<(), SeedError> {
        let mut cursor = "0".to_string();
        loop {
            let reply = self.must(&["SCAN", &cursor, "COUNT", &BATCH.to_string()]).await?;
            let (next, found) = scan_reply(reply).ok_or_else(|| SeedError::new(format!("redis at {}: unexpected reply to SCAN", self.conn.addr)))?;
            let mut req = Vec::new();
            for k in &found {
                encode(&[b"COPY".to_vec(), k.clone(), k.clone(), b"DB".to_vec(), to.as_bytes().to_vec(), b"REPLACE".to_vec()], &mut req);
            }
            self.conn.write(&req).await?;
            for _ in &found {
                if let Some(e) = self.conn.read_reply().await?.error() {
                    return Err(SeedError::new(format!("redis at {}: COPY into a spare failed: {e}", self.conn.addr)));
                }
            }
            cursor = next;
            if cursor == "0" {
                return Ok(());
            }
        }
    }

    /// Empty what the last restore swapped out; give save `id` a whole spare
    /// (copied SCAN by SCAN: clients go on meanwhile, nobody writes the template).
    async fn prepare(&mut self, id: &str) -> Result<(), SeedError> {
        let mut entries = self.entries().await?;
        for (db, _) in entries.clone().iter().filter(|(_, e)| **e == Entry::Old) {
            self.set_entry(*db, None).await?;
            self.flush(*db).await?;
            entries.remove(db);
        }
        let Some((template, keys)) = self.template(&entries, id).await? else { return Ok(()) };
        if self.ready_spare(&entries, id, keys).await?.is_some() {
            return Ok(());
        }
        match self.free_db(&entries) {
            Some(db) => self.fill_spare(template, db, id, keys, Fill::Scan).await,
            None => Ok(()),
        }
    }

    /// Empty every template and spare whose save is not in `keep`, and what a restore swapped out.
    async fn prune(&mut self, keep: &[String]) -> Result<(), SeedError> {
        for (db, entry) in self.entries().await? {
            let kept = match &entry {
                Entry::Template { id, .. } | Entry::Spare { id, .. } => keep.contains(id),
                Entry::Old => false,
            };
            if !kept {
                self.set_entry(db, None).await?;
                self.flush(db).await?;
            }
        }
        Ok(())
    }
}

/// `SCAN`'s reply: the next cursor and the keys.
fn scan_reply(reply: Reply) -> Option<(String, Vec<Vec<u8>>)> {
    let Reply::Array(Some(mut items)) = reply else { return None };
    let Some(Reply::Array(Some(keys))) = items.pop() else { return None };
    let Some(Reply::Bulk(Some(cursor))) = items.pop() else { return None };
    let keys = keys.into_iter().filter_map(|k| if let Reply::Bulk(Some(k)) = k { Some(k) } else { None }).collect();
    Some((String::from_utf8_lossy(&cursor).into_owned(), keys))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_entries_read_back() {
        for e in [Entry::Template { key: "_seeded.cache".into(), id: "_seeded.cache@17".into(), keys: 3 }, Entry::Spare { id: "a@1".into(), keys: 0 }, Entry::Old] {
            assert_eq!(Entry::parse(&e.text()), Some(e));
        }
        assert_eq!(Entry::parse("template x"), None);
        assert_eq!(Entry::parse("spare a@1 many"), None);
        assert_eq!(Entry::parse(""), None);
    }

    #[test]
    fn keyspace_lines() {
        let info = "# Keyspace\r\ndb0:keys=1000000,expires=0,avg_ttl=0\r\ndb13:keys=5,expires=1,avg_ttl=9\r\n";
        assert_eq!(keyspace(info), BTreeMap::from([(0, 1_000_000), (13, 5)]));
        assert!(keyspace("# Keyspace\r\n").is_empty());
    }

    #[test]
    fn scan_replies() {
        let r = Reply::Array(Some(vec![Reply::Bulk(Some(b"17".to_vec())), Reply::Array(Some(vec![Reply::Bulk(Some(b"k".to_vec()))]))]));
        assert_eq!(scan_reply(r), Some(("17".into(), vec![b"k".to_vec()])));
        assert_eq!(scan_reply(Reply::Integer(1)), None);
    }
}
