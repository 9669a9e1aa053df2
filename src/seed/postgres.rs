//! postgres seeding: SQL files in one transaction, CSV bulk loads with
//! `COPY … FROM STDIN`, `--reset` (drop and re-create the database), and
//! in-server snapshots as template databases (`in_server`).
//!
//! A snapshot `key` of the server is one template database per user database
//! (`<db>__devenv_snap_<key>`, `datistemplate`, no connections allowed), its
//! comment `devenv snapshot <id> <db>` written last — a template without that
//! comment is an incomplete one and is dropped by the next prune. `Prepare`
//! makes a spare copy of each template of one save (`<db>__devenv_spare`,
//! no connections, its comment naming the save). A restore has its copy
//! complete before it touches anything — the spare, else `<db>__devenv_new`
//! made from the template then — and then only renames: the sessions on
//! `<db>` terminated, `<db>` renamed to `<db>__devenv_old`, the copy renamed
//! to `<db>`; databases created after the save are moved aside too, so the
//! server ends up as the save left it. What was moved aside is dropped by the
//! next `Prepare` (or put back by a prune, if devenv died between renames).

use std::path::Path;

use futures_util::SinkExt;
use tokio::io::AsyncReadExt;
use tokio_postgres::error::{DbError, ErrorPosition, SqlState};
use tokio_postgres::{Client, NoTls};

use super::sql::{self, Statement};
use super::{Applied, Progress, SeedError, Target};

/// Bytes per `COPY` data message.
const CHUNK: usize = 256 * 1024;

/// Connect to `database` at `t.addr` with the service's credentials; the
/// connection task ends when the returned client is dropped.
async fn connect(t: &Target<'_>, database: &str) -> Result<Client, tokio_postgres::Error> {
    let (host, port) = match t.addr.rsplit_once(':') {
        Some((h, p)) => (h, p.parse().unwrap_or(5432)),
        None => (t.addr.as_str(), 5432),
    };
    let mut cfg = tokio_postgres::Config::new();
    cfg.host(host.trim_start_matches('[').trim_end_matches(']'))
        .port(port)
        .user(user(t))
        .dbname(database)
        .connect_timeout(std::time::Duration::from_secs(10))
        .application_name("devenv-seed");
    if let Some(p) = &t.password {
        cfg.password(p);
    }
    let (client, connection) = cfg.connect(NoTls).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

fn user<'a>(t: &'a Target<'_>) -> &'a str {
    t.user.as_deref().filter(|u| !u.is_empty()).unwrap_or("postgres")
}

fn database<'a>(t: &'a Target<'_>) -> &'a str {
    t.database.as_deref().filter(|d| !d.is_empty()).unwrap_or_else(|| user(t))
}

async fn connect_target(t: &Target<'_>) -> Result<Client, SeedError> {
    let db = database(t);
    connect(t, db).await.map_err(|e| SeedError::new(format!("cannot connect to postgres at {} (database `{db}`): {}", t.addr, server_words(&e))))
}

/// The server's message (plus DETAIL), or the root cause of a client error.
fn server_words(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => with_detail(db),
        None => super::root_cause(e),
    }
}

fn with_detail(db: &DbError) -> String {
    match db.detail() {
        Some(d) => format!("{} (DETAIL: {d})", db.message()),
        None => db.message().to_string(),
    }
}

/// A `SeedError` carrying the server's HINT, if it gave one.
fn seed_error(message: String, e: &tokio_postgres::Error) -> SeedError {
    let err = SeedError::new(message);
    match e.as_db_error().and_then(|d| d.hint()) {
        Some(h) => err.with_hint(h.to_string()),
        None => err,
    }
}

/// Run every statement of `file` in one transaction (`BEGIN` … `COMMIT`);
/// on the first failure roll back, so nothing of the file stays applied.
pub async fn apply_sql(t: &Target<'_>, file: &Path, progress: Progress<'_>) -> Result<Applied, SeedError> {
    let text = super::read_file(file)?;
    let statements = sql::split(&text);
    let client = connect_target(t).await?;
    client.batch_execute("BEGIN").await.map_err(|e| seed_error(format!("{}: BEGIN failed: {}", file.display(), server_words(&e)), &e))?;
    for (i, st) in statements.iter().enumerate() {
        if let Err(e) = client.batch_execute(&st.text).await {
            let _ = client.batch_execute("ROLLBACK").await;
            let mut err = seed_error(statement_error(file, st, &e), &e);
            if err.hint.is_none() && e.code() == Some(&SqlState::ACTIVE_SQL_TRANSACTION) {
                err = err.with_hint("seed SQL files run in one transaction; run this statement from its own `exec` seed instead");
            }
            return Err(err);
        }
        progress(i as u64 + 1);
    }
    client.batch_execute("COMMIT").await.map_err(|e| seed_error(format!("{}: COMMIT failed: {}", file.display(), server_words(&e)), &e))?;
    Ok(Applied { count: statements.len() as u64, unit: "statements" })
}

/// `file: statement N (line L): message` — L is the line of the error's
/// position when the server reports one, else where the statement starts.
fn statement_error(file: &Path, st: &Statement, e: &tokio_postgres::Error) -> String {
    let line = match e.as_db_error().and_then(|d| d.position()) {
        Some(ErrorPosition::Original(pos)) => sql::line_at_char(st, *pos as usize),
        _ => st.line,
    };
    format!("{}: statement {} (line {line}): {}", file.display(), st.number, server_words(e))
}

/// Quote a (possibly schema-qualified) name: each `.`-separated part becomes
/// a quoted identifier; parts already in double quotes are kept as written.
pub fn quote_qualified(name: &str) -> Result<String, String> {
    super::sql::quote_qualified_with(name, '"', quote_ident)
}

/// `"name"` with embedded quotes doubled.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Bulk-load `file` (CSV whose first line names the columns) into `table`
/// with `COPY … FROM STDIN`, streaming the file in chunks.
pub async fn copy_csv(t: &Target<'_>, file: &Path, table: &str, progress: Progress<'_>) -> Result<Applied, SeedError> {
    let name = file.display();
    let target = quote_qualified(table).map_err(|e| SeedError::new(format!("{name}: {e}")))?;
    let mut f = tokio::fs::File::open(file).await.map_err(|e| SeedError::new(format!("cannot read {name}: {e}")))?;

    // The header: read until its newline (the rest of the buffer is data).
    let mut buf = Vec::with_capacity(CHUNK);
    let header_end = loop {
        if let Some(p) = buf.iter().position(|&c| c == b'\n') {
            break p + 1;
        }
        let before = buf.len();
        buf.resize(before + CHUNK, 0);
        let n = f.read(&mut buf[before..]).await.map_err(|e| SeedError::new(format!("cannot read {name}: {e}")))?;
        buf.truncate(before + n);
        if n == 0 {
            break buf.len();
        }
    };
    let header = std::str::from_utf8(&buf[..header_end]).map_err(|_| SeedError::new(format!("{name}:1: the header line is not UTF-8")))?;
    let columns = sql::csv_header(header);
    if header.trim().trim_start_matches('\u{feff}').is_empty() || columns.iter().any(|c| c.is_empty()) {
        return Err(SeedError::new(format!("{name}:1: expected a header line naming the columns (e.g. `id,name,email`), found {:?}", header.trim_end()))
            .with_hint("the first line of a CSV seed names the table's columns"));
    }
    let cols = columns.iter().map(|c| quote_ident(c)).collect::<Vec<_>>().join(", ");
    let query = format!("COPY {target} ({cols}) FROM STDIN WITH (FORMAT csv, HEADER true)");

    let client = connect_target(t).await?;
    let sink = client.copy_in::<_, bytes::Bytes>(query.as_str()).await.map_err(|e| copy_error(file, &e))?;
    futures_util::pin_mut!(sink);
    let mut records = sql::CsvRecords::new(false);
    let mut data = buf;
    loop {
        if data.is_empty() {
            data.resize(CHUNK, 0);
            let n = f.read(&mut data).await.map_err(|e| SeedError::new(format!("cannot read {name}: {e}")))?;
            data.truncate(n);
            if n == 0 {
                break;
            }
        }
        records.feed(&data);
        let chunk = bytes::Bytes::from(std::mem::take(&mut data));
        if let Err(e) = sink.send(chunk).await {
            return Err(copy_error(file, &e));
        }
        progress(records.count.saturating_sub(1));
    }
    let rows = sink.as_mut().finish().await.map_err(|e| copy_error(file, &e))?;
    progress(rows);
    Ok(Applied { count: rows, unit: "rows" })
}

/// `file:LINE: message (context)` from a failed `COPY` (the line from the
/// server's `COPY t, line N, …` context).
fn copy_error(file: &Path, e: &tokio_postgres::Error) -> SeedError {
    let name = file.display();
    let Some(db) = e.as_db_error() else {
        return SeedError::new(format!("{name}: COPY failed: {}", super::root_cause(e)));
    };
    let context = db.where_().map(str::trim).filter(|w| !w.is_empty());
    // Postgres counts physical lines (the header, and each line of a quoted
    // field spanning several), so its line is the file's.
    let line = context.and_then(copy_line);
    let mut msg = match line {
        Some(n) => format!("{name}:{n}: {}", with_detail(db)),
        None => format!("{name}: {}", with_detail(db)),
    };
    if let Some(c) = context {
        msg.push_str(&format!(" ({c})"));
    }
    seed_error(msg, e)
}

/// `N` from `COPY t, line N, column x: "…"`.
fn copy_line(context: &str) -> Option<usize> {
    let rest = &context[context.find(", line ")? + 7..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Drop and re-create the service's database (owned by the service's user),
/// after terminating the other sessions connected to it.
pub async fn reset(t: &Target<'_>) -> Result<(), SeedError> {
    let db = database(t);
    if matches!(db, "template0" | "template1") {
        return Err(SeedError::new(format!("refusing to reset the template database `{db}`")));
    }
    let maintenance: &[&str] = if db == "postgres" { &["template1"] } else { &["postgres", "template1"] };
    let mut client = None;
    let mut last = None;
    for m in maintenance {
        match connect(t, m).await {
            Ok(c) => {
                client = Some(c);
                break;
            }
            Err(e) => last = Some(format!("database `{m}`: {}", server_words(&e))),
        }
    }
    let Some(client) = client else {
        return Err(SeedError::new(format!("reset: cannot connect to postgres at {} ({})", t.addr, last.unwrap_or_default())));
    };
    let fail = |what: &str, e: tokio_postgres::Error| seed_error(format!("reset of database `{db}`: {what} failed: {}", server_words(&e)), &e);
    let quoted = quote_ident(db);
    let mut attempt = 0;
    loop {
        client
            .execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", &[&db])
            .await
            .map_err(|e| fail("terminating its sessions", e))?;
        match client.batch_execute(&format!("DROP DATABASE IF EXISTS {quoted}")).await {
            Ok(()) => break,
            // A session connected again in between: terminate it and retry.
            Err(e) if e.code() == Some(&SqlState::OBJECT_IN_USE) && attempt < 20 => {
                attempt += 1;
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            Err(e) => return Err(fail("DROP DATABASE", e)),
        }
    }
    client
        .batch_execute(&format!("CREATE DATABASE {quoted} OWNER {}", quote_ident(user(t))))
        .await
        .map_err(|e| fail("CREATE DATABASE", e))?;
    Ok(())
}

/// What marks devenv's template databases (`<db>__devenv_snap_<key>`).
const SNAP_MARK: &str = "__devenv_snap_";
/// A copy being restored, before it is renamed into place.
const NEW_MARK: &str = "__devenv_new";
/// A ready copy of a template, renamed into place by the next restore.
const SPARE_MARK: &str = "__devenv_spare";
/// A database a restore replaced, dropped after the swap.
const OLD_MARK: &str = "__devenv_old";
/// What every database of devenv's has in its name.
const ANY_MARK: &str = "__devenv_";
/// What starts the comment of a complete template / spare.
const COMMENT: &str = "devenv snapshot ";
const SPARE_COMMENT: &str = "devenv spare ";
/// Postgres' identifier limit (NAMEDATALEN - 1), in bytes.
const MAX_NAME: usize = 63;
/// Above this size a template is copied file by file (`STRATEGY = FILE_COPY`,
/// two checkpoints); below it the WAL-logged copy is faster.
const FILE_COPY_ABOVE: i64 = 64 << 20;

/// `<db><mark><key>` within Postgres' 63 bytes: when too long, the database
/// part is cut and a hash of the whole name keeps it unique.
pub fn marked_name(db: &str, mark: &str, key: &str) -> String {
    let name = format!("{db}{mark}{key}");
    if name.len() <= MAX_NAME {
        return name;
    }
    use sha2::{Digest, Sha256};
    let hash: String = Sha256::digest(name.as_bytes()).iter().take(6).map(|b| format!("{b:02x}")).collect();
    let mut keep = (MAX_NAME - mark.len() - hash.len()).min(db.len());
    while !db.is_char_boundary(keep) {
        keep -= 1;
    }
    format!("{}{mark}{hash}", &db[..keep])
}

/// The comment that makes a template complete: `devenv snapshot <id> <db>`.
pub fn template_comment(id: &str, db: &str) -> String {
    format!("{COMMENT}{id} {db}")
}

/// (id, database) from a template's (or, with `SPARE_COMMENT`, a spare's) comment.
pub fn parse_comment<'a>(prefix: &str, comment: &'a str) -> Option<(&'a str, &'a str)> {
    comment.strip_prefix(prefix)?.split_once(' ')
}

/// `'text'` with embedded quotes doubled (standard_conforming_strings).
fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// One of devenv's own databases.
struct Marked {
    name: String,
    owner: String,
    template: bool,
    size: i64,
    comment: String,
}

impl Marked {
    /// (id, database) of a complete template.
    fn template_of(&self) -> Option<(&str, &str)> {
        parse_comment(COMMENT, &self.comment).filter(|_| self.template && self.name.contains(SNAP_MARK))
    }
    /// (id, database) of a complete spare.
    fn spare_of(&self) -> Option<(&str, &str)> {
        parse_comment(SPARE_COMMENT, &self.comment).filter(|_| self.name.contains(SPARE_MARK))
    }
}

/// A connection to `template1` (else `postgres`): never a database a
/// snapshot drops or renames.
async fn maintenance(t: &Target<'_>) -> Result<Client, SeedError> {
    let mut last = String::new();
    for m in ["template1", "postgres"] {
        match connect(t, m).await {
            Ok(c) => return Ok(c),
            Err(e) => last = format!("database `{m}`: {}", server_words(&e)),
        }
    }
    Err(SeedError::new(format!("cannot connect to postgres at {} ({last})", t.addr)))
}

fn sql_error(what: &str, e: tokio_postgres::Error) -> SeedError {
    seed_error(format!("{what} failed: {}", server_words(&e)), &e)
}

async fn exec(c: &Client, statement: &str) -> Result<(), SeedError> {
    c.batch_execute(statement).await.map_err(|e| sql_error(statement, e))
}

/// How to copy a template of `size` bytes: the server's fastest way.
async fn copy_strategy(c: &Client, size: i64) -> Result<&'static str, SeedError> {
    let row = c.query_one("SELECT current_setting('server_version_num')::int", &[]).await.map_err(|e| sql_error("reading the server version", e))?;
    let version: i32 = row.get(0);
    Ok(match version >= 150000 {
        true if size > FILE_COPY_ABOVE => " STRATEGY = FILE_COPY",
        true => " STRATEGY = WAL_LOG",
        false => "",
    })
}

/// The user's databases (not templates, not devenv's own): (name, owner).
async fn user_databases(c: &Client) -> Result<Vec<(String, String)>, SeedError> {
    let rows = c
        .query("SELECT datname, pg_get_userbyid(datdba) FROM pg_database WHERE NOT datistemplate AND datallowconn ORDER BY datname", &[])
        .await
        .map_err(|e| sql_error("listing databases", e))?;
    Ok(rows.iter().map(|r| (r.get::<_, String>(0), r.get::<_, String>(1))).filter(|(n, _)| !n.contains(ANY_MARK)).collect())
}

/// devenv's own databases: templates, spares, copies in flight.
async fn marked(c: &Client) -> Result<Vec<Marked>, SeedError> {
    let rows = c
        .query(
            "SELECT datname, pg_get_userbyid(datdba), datistemplate, pg_database_size(oid), coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database WHERE strpos(datname, $1) > 0",
            &[&ANY_MARK],
        )
        .await
        .map_err(|e| sql_error("listing snapshot templates", e))?;
    Ok(rows.iter().map(|r| Marked { name: r.get(0), owner: r.get(1), template: r.get(2), size: r.get(3), comment: r.get(4) }).collect())
}

/// Run `statement` once no other session is connected to `db` (terminating
/// them; one that connects again in between is terminated on the next try).
async fn without_sessions(c: &Client, db: &str, statement: &str) -> Result<(), SeedError> {
    without_sessions_in(c, &[db.to_string()], statement, statement).await
}

/// `without_sessions` for several databases at once; `what` names the
/// statement in an error.
async fn without_sessions_in(c: &Client, dbs: &[String], statement: &str, what: &str) -> Result<(), SeedError> {
    refuse_prepared(c, dbs, what).await?;
    // The server itself waits up to 5 s for sessions to leave before it
    // says "in use"; a client that keeps reconnecting gets a few of those.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        c.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ANY($1) AND pid <> pg_backend_pid()", &[&dbs])
            .await
            .map_err(|e| sql_error(&format!("terminating the sessions of `{}`", dbs.join("`, `")), e))?;
        match c.batch_execute(statement).await {
            Ok(()) => return Ok(()),
            Err(e) if e.code() == Some(&SqlState::OBJECT_IN_USE) && std::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            Err(e) => return Err(sql_error(what, e)),
        }
    }
}

/// A prepared transaction keeps its database in use until someone commits
/// or rolls it back, and no terminate ends it: say so at once instead of
/// waiting for it.
async fn refuse_prepared(c: &Client, dbs: &[String], what: &str) -> Result<(), SeedError> {
    let rows = c
        .query("SELECT database, gid FROM pg_prepared_xacts WHERE database = ANY($1) ORDER BY database, gid", &[&dbs])
        .await
        .map_err(|e| sql_error("listing prepared transactions", e))?;
    let Some(first) = rows.first() else { return Ok(()) };
    let (db, gid): (String, String) = (first.get(0), first.get(1));
    let gid = quote_literal(&gid);
    Err(SeedError::new(format!("{what} failed: database `{db}` holds a prepared transaction ({gid}{}), which keeps it in use", if rows.len() > 1 { format!(" and {} more", rows.len() - 1) } else { String::new() }))
        .with_hint(format!("end it in database `{db}` with COMMIT PREPARED {gid} or ROLLBACK PREPARED {gid}, then run the command again")))
}

/// Drop one of devenv's databases (a template stops being one first).
async fn drop_marked(c: &Client, m: &Marked) -> Result<(), SeedError> {
    let q = quote_ident(&m.name);
    if m.template {
        exec(c, &format!("ALTER DATABASE {q} WITH IS_TEMPLATE false")).await?;
    }
    without_sessions(c, &m.name, &format!("DROP DATABASE IF EXISTS {q}")).await
}

/// The in-server snapshot operations (see the module docs).
pub async fn in_server(t: &Target<'_>, op: super::InServer<'_>) -> Result<bool, SeedError> {
    let c = maintenance(t).await?;
    match op {
        super::InServer::Save { key, id } => save_templates(&c, key, id).await.map(|()| true),
        super::InServer::Restore { id, keep } => {
            prune_templates(&c, keep).await?;
            restore_templates(&c, id).await
        }
        super::InServer::Prepare { id } => prepare_spares(&c, id).await.map(|()| true),
        super::InServer::Prune { keep } => prune_templates(&c, keep).await.map(|()| true),
        // The stop's shutdown checkpoint already leaves the files complete.
        super::InServer::BeforeCopy => Ok(false),
    }
}

async fn save_templates(c: &Client, key: &str, id: &str) -> Result<(), SeedError> {
    let dbs = user_databases(c).await?;
    let names: Vec<String> = dbs.iter().map(|(db, _)| marked_name(db, SNAP_MARK, key)).collect();
    // An earlier save of this name, and any incomplete template, go first.
    for old in marked(c).await?.iter().filter(|m| m.name.contains(SNAP_MARK) && (m.template_of().is_none() || names.contains(&m.name))) {
        drop_marked(c, old).await?;
    }
    for ((db, owner), name) in dbs.into_iter().zip(names) {
        let q = quote_ident(&name);
        let size: i64 = c.query_one("SELECT pg_database_size($1)", &[&db]).await.map_err(|e| sql_error("reading a database's size", e))?.get(0);
        let strategy = copy_strategy(c, size).await?;
        without_sessions(c, &db, &format!("CREATE DATABASE {q} OWNER {} TEMPLATE {}{strategy}", quote_ident(&owner), quote_ident(&db))).await?;
        exec(c, &format!("ALTER DATABASE {q} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false; COMMENT ON DATABASE {q} IS {}", quote_literal(&template_comment(id, &db)))).await?;
    }
    Ok(())
}

/// Make sure save `id` has a ready copy of each of its templates: the
/// next restore of it is then renames only. Every save keeps its own spare
/// (switching between two snapshots never waits for a copy); `Prune` drops
/// those of saves that are gone, this drops incomplete ones.
async fn prepare_spares(c: &Client, id: &str) -> Result<(), SeedError> {
    let all = marked(c).await?;
    for m in all.iter().filter(|m| m.name.contains(OLD_MARK) || m.name.contains(SPARE_MARK) && m.spare_of().is_none()) {
        drop_marked(c, m).await?;
    }
    for t in all.iter().filter(|m| m.template_of().is_some_and(|(i, _)| i == id)) {
        let Some((_, db)) = t.template_of() else { continue };
        if all.iter().any(|m| m.spare_of() == Some((id, db))) {
            continue;
        }
        let key = id.rsplit_once('@').map_or(id, |(k, _)| k);
        let spare = quote_ident(&marked_name(db, SPARE_MARK, &format!("_{key}")));
        exec(c, &format!("DROP DATABASE IF EXISTS {spare}")).await?;
        let strategy = copy_strategy(c, t.size).await?;
        exec(c, &format!("CREATE DATABASE {spare} OWNER {} TEMPLATE {}{strategy}", quote_ident(&t.owner), quote_ident(&t.name))).await?;
        let comment = quote_literal(&format!("{SPARE_COMMENT}{id} {db}"));
        exec(c, &format!("ALTER DATABASE {spare} WITH ALLOW_CONNECTIONS false; COMMENT ON DATABASE {spare} IS {comment}")).await?;
    }
    Ok(())
}

async fn restore_templates(c: &Client, id: &str) -> Result<bool, SeedError> {
    let all = marked(c).await?;
    let saved: Vec<&Marked> = all.iter().filter(|m| m.template_of().is_some_and(|(i, _)| i == id)).collect();
    if saved.is_empty() {
        return Ok(false);
    }
    let current = user_databases(c).await?;
    // Every copy complete before anything of the current state is touched:
    // the spare when there is one, else a copy of the template now.
    let mut ready = Vec::new();
    for t in &saved {
        let Some((_, db)) = t.template_of() else { continue };
        let name = match all.iter().find(|m| m.spare_of() == Some((id, db))) {
            Some(spare) => spare.name.clone(),
            None => {
                let new = marked_name(db, NEW_MARK, "");
                without_sessions(c, &new, &format!("DROP DATABASE IF EXISTS {}", quote_ident(&new))).await?;
                let strategy = copy_strategy(c, t.size).await?;
                exec(c, &format!("CREATE DATABASE {} OWNER {} TEMPLATE {}{strategy}", quote_ident(&new), quote_ident(&t.owner), quote_ident(&t.name))).await?;
                new
            }
        };
        ready.push((db.to_string(), name));
    }
    swap(c, &current, &ready).await?;
    Ok(true)
}

/// Put the `ready` copies in place of their databases and move every other
/// current database aside (to `<db>__devenv_old`, dropped later): renames
/// only, all in one transaction (a simple query of several statements is
/// one), so a devenv killed at any moment leaves every database old or every
/// one new, never a mix of the two.
async fn swap(c: &Client, current: &[(String, String)], ready: &[(String, String)]) -> Result<(), SeedError> {
    let current: Vec<String> = current.iter().map(|(d, _)| d.clone()).collect();
    let mut statements = Vec::new();
    for db in &current {
        let old = marked_name(db, OLD_MARK, "");
        without_sessions(c, &old, &format!("DROP DATABASE IF EXISTS {}", quote_ident(&old))).await?;
        statements.push(format!("ALTER DATABASE {} RENAME TO {}", quote_ident(db), quote_ident(&old)));
    }
    for (db, name) in ready {
        let q = quote_ident(db);
        statements.push(format!("ALTER DATABASE {} RENAME TO {q}; ALTER DATABASE {q} WITH ALLOW_CONNECTIONS true; COMMENT ON DATABASE {q} IS NULL", quote_ident(name)));
    }
    without_sessions_in(c, &current, &statements.join("; "), "putting the snapshot's databases in place (nothing was changed)").await
}

async fn prune_templates(c: &Client, keep: &[String]) -> Result<(), SeedError> {
    for m in marked(c).await? {
        let kept = m.template_of().or(m.spare_of()).is_some_and(|(id, _)| keep.iter().any(|k| k == id));
        // A swap cut short between two renames (only an earlier devenv did
        // them one by one; `swap` is one transaction): the database moved
        // aside goes back, so it is the old state whole.
        if let Some(db) = m.name.strip_suffix(OLD_MARK) {
            let missing = c.query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&db]).await.map_err(|e| sql_error("listing databases", e))?.is_none();
            if missing {
                exec(c, &format!("ALTER DATABASE {} RENAME TO {}", quote_ident(&m.name), quote_ident(db))).await?;
                continue;
            }
        }
        if !kept {
            drop_marked(c, &m).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_names_fit_postgres_limit_and_stay_unique() {
        assert_eq!(marked_name("app", SNAP_MARK, "seeded"), "app__devenv_snap_seeded");
        assert_eq!(marked_name("app", NEW_MARK, ""), "app__devenv_new");
        let long = "d".repeat(60);
        let a = marked_name(&long, SNAP_MARK, "one");
        let b = marked_name(&long, SNAP_MARK, "two");
        assert!(a.len() <= 63 && b.len() <= 63, "{a} {b}");
        assert_ne!(a, b);
        assert!(a.contains(SNAP_MARK));
        let multibyte = "é".repeat(40);
        assert!(marked_name(&multibyte, SNAP_MARK, "k").len() <= 63);
    }

    #[test]
    fn only_a_complete_comment_names_a_save() {
        let c = template_comment("seeded-1", "my db");
        assert_eq!(parse_comment(COMMENT, &c), Some(("seeded-1", "my db")));
        assert_eq!(parse_comment(SPARE_COMMENT, &c), None);
        assert_eq!(parse_comment(COMMENT, ""), None);
        assert_eq!(parse_comment(COMMENT, "someone else's comment"), None);
        assert_eq!(quote_literal("it's"), "'it''s'");
    }

    #[test]
    fn qualified_names() {
        assert_eq!(quote_qualified("users").unwrap(), "\"users\"");
        assert_eq!(quote_qualified("app.users").unwrap(), "\"app\".\"users\"");
        assert_eq!(quote_qualified("\"My.Schema\".Users").unwrap(), "\"My.Schema\".\"Users\"");
        assert_eq!(quote_qualified("we\"ird").unwrap_err(), "table name `we\"ird` has an unbalanced double quote");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert!(quote_qualified("").unwrap_err().contains("empty"));
        assert!(quote_qualified("a.").unwrap_err().contains("empty part"));
    }

    #[test]
    fn copy_context_lines() {
        assert_eq!(copy_line("COPY users, line 42, column id: \"x\""), Some(42));
        assert_eq!(copy_line("COPY users, line 7"), Some(7));
        assert_eq!(copy_line("COPY users"), None);
    }
}
