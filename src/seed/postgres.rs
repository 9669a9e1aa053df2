//! postgres seeding: SQL files in one transaction, CSV bulk loads with
//! `COPY … FROM STDIN`, and `--reset` (drop and re-create the database).

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

#[cfg(test)]
mod tests {
    use super::*;

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
