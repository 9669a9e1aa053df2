//! clickhouse seeding over the HTTP interface: SQL files statement by
//! statement, CSV/JSONL bulk inserts, and `--reset`.
//!
//! Credentials go in the `X-ClickHouse-User` / `X-ClickHouse-Key` headers and
//! the database in `?database=` (understood by every release, old ones too).
//! Snapshots kept inside the server: `snapshot`.

pub mod snapshot;

use std::path::Path;

use super::sql::{self, Dialect, Statement};
use super::{Applied, Progress, SeedError, Target};

/// The bulk formats `insert` streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// CSV whose first line names the columns (`FORMAT CSVWithNames`).
    Csv,
    /// One JSON object per line (`FORMAT JSONEachRow`).
    JsonLines,
}

fn database<'a>(t: &'a Target<'_>) -> &'a str {
    t.database.as_deref().filter(|d| !d.is_empty()).unwrap_or("default")
}

/// POST `body` with `query` (if any) in the URL; the response body on
/// success, the server's first line of error text otherwise.
async fn post(t: &Target<'_>, database: Option<&str>, query: Option<&str>, body: impl Into<reqwest::Body>) -> Result<String, PostError> {
    let mut url = reqwest::Url::parse(&format!("http://{}/", t.addr)).map_err(|e| PostError::Transport(format!("bad address {}: {e}", t.addr)))?;
    {
        let mut q = url.query_pairs_mut();
        if let Some(db) = database {
            q.append_pair("database", db);
        }
        if let Some(query) = query {
            q.append_pair("query", query);
        }
    }
    let mut req = t.http.post(url).body(body);
    if let Some(u) = t.user.as_deref().filter(|u| !u.is_empty()) {
        req = req.header("X-ClickHouse-User", u);
    }
    if let Some(p) = t.password.as_deref().filter(|p| !p.is_empty()) {
        req = req.header("X-ClickHouse-Key", p);
    }
    let resp = req.send().await.map_err(|e| PostError::Transport(format!("clickhouse at {}: {}", t.addr, super::root_cause(&e))))?;
    let status = resp.status();
    let text = resp.text().await.map_err(|e| PostError::Transport(format!("clickhouse at {}: reading the reply: {}", t.addr, super::root_cause(&e))))?;
    if status.is_success() {
        Ok(text)
    } else {
        Err(PostError::Server { status: status.as_u16(), body: text })
    }
}

enum PostError {
    /// The request did not get a reply.
    Transport(String),
    /// The server answered with an error.
    Server { status: u16, body: String },
}

impl PostError {
    /// The server's first line (`Code: 62. DB::Exception: …`) or the transport error.
    fn message(&self) -> String {
        match self {
            PostError::Transport(m) => m.clone(),
            PostError::Server { status, body } => {
                let first = body.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
                if first.is_empty() { format!("HTTP {status}") } else { first.to_string() }
            }
        }
    }

    fn body(&self) -> &str {
        match self {
            PostError::Transport(_) => "",
            PostError::Server { body, .. } => body,
        }
    }
}

/// Run the statements of `file` one by one, in order.
///
/// ClickHouse has no multi-statement transactions: statements that ran
/// before a failing one stay applied (a `--reset` starts over).
pub async fn apply_sql(t: &Target<'_>, file: &Path, progress: Progress<'_>) -> Result<Applied, SeedError> {
    let text = super::read_file(file)?;
    let statements = sql::split_dialect(&text, Dialect::ClickHouse);
    let db = database(t);
    for (i, st) in statements.iter().enumerate() {
        if let Err(e) = post(t, Some(db), None, st.text.clone()).await {
            let line = error_line(st, e.body());
            let mut err = SeedError::new(format!("{}: statement {} (line {line}): {}", file.display(), st.number, e.message()));
            if i > 0 {
                err = err.with_hint(format!(
                    "ClickHouse has no transactions: the {i} statement{} before this one stayed applied",
                    if i == 1 { "" } else { "s" }
                ));
            }
            return Err(err);
        }
        progress(i as u64 + 1);
    }
    Ok(Applied { count: statements.len() as u64, unit: "statements" })
}

/// The file line of a syntax error's `failed at position N` (1-based bytes),
/// else the statement's first line.
fn error_line(st: &Statement, body: &str) -> usize {
    number_after(body, "failed at position ").filter(|&p| p > 0).map(|p| sql::line_at_byte(st, p - 1)).unwrap_or(st.line)
}

/// The number following the first `marker` in `text`.
fn number_after(text: &str, marker: &str) -> Option<usize> {
    let rest = &text[text.find(marker)? + marker.len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Quote a (possibly `db.`-qualified) table name with backticks; parts
/// already in backticks are kept.
pub fn quote_qualified(name: &str) -> Result<String, String> {
    super::sql::quote_qualified_with(name, '`', quote_ident)
}

/// `` `name` `` with backslashes and backticks escaped.
pub fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('\\', "\\\\").replace('`', "\\`"))
}

/// Bulk-insert `file` into `table` as one `INSERT … FORMAT …` request whose
/// body is the file. JSONL is validated line by line first (nothing is sent
/// if a line is not a JSON object). CSV's header names the columns (also
/// written into the INSERT, so old servers that merely skip the header map
/// the columns right).
pub async fn insert(t: &Target<'_>, file: &Path, table: &str, format: Format, progress: Progress<'_>) -> Result<Applied, SeedError> {
    let name = file.display();
    let target = quote_qualified(table).map_err(|e| SeedError::new(format!("{name}: {e}")))?;
    let mut data = tokio::fs::read(file).await.map_err(|e| SeedError::new(format!("cannot read {name}: {e}")))?;
    if data.starts_with(b"\xEF\xBB\xBF") {
        data.drain(..3);
    }
    // Row N (1-based, as the server counts) → file line.
    let (query, rows, row_lines): (String, u64, Vec<usize>) = match format {
        Format::Csv => {
            let header_end = data.iter().position(|&c| c == b'\n').map(|p| p + 1).unwrap_or(data.len());
            let header = std::str::from_utf8(&data[..header_end]).map_err(|_| SeedError::new(format!("{name}:1: the header line is not UTF-8")))?;
            let columns = sql::csv_header(header);
            if header.trim().is_empty() || columns.iter().any(|c| c.is_empty()) {
                return Err(SeedError::new(format!("{name}:1: expected a header line naming the columns (e.g. `id,name,email`), found {:?}", header.trim_end()))
                    .with_hint("the first line of a CSV seed names the table's columns"));
            }
            let mut records = sql::CsvRecords::new(true);
            records.feed(&data);
            let rows = records.finish().saturating_sub(1);
            let lines = records.starts.iter().skip(1).copied().collect();
            let cols = columns.iter().map(|c| quote_ident(c)).collect::<Vec<_>>().join(", ");
            (format!("INSERT INTO {target} ({cols}) FORMAT CSVWithNames"), rows, lines)
        }
        Format::JsonLines => {
            let text = std::str::from_utf8(&data).map_err(|e| {
                let line = data[..e.valid_up_to()].iter().filter(|&&c| c == b'\n').count() + 1;
                SeedError::new(format!("{name}:{line}: malformed JSON: not UTF-8"))
            })?;
            let mut lines = Vec::new();
            for (i, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                match serde_json::from_str::<serde_json::Value>(line) {
                    Ok(serde_json::Value::Object(_)) => lines.push(i + 1),
                    Ok(other) => {
                        let kind = match other {
                            serde_json::Value::Array(_) => "an array",
                            serde_json::Value::String(_) => "a string",
                            serde_json::Value::Number(_) => "a number",
                            serde_json::Value::Bool(_) => "a boolean",
                            _ => "null",
                        };
                        return Err(SeedError::new(format!("{name}:{}: malformed JSON: expected an object per line, found {kind}", i + 1)));
                    }
                    Err(e) => return Err(SeedError::new(format!("{name}:{}: malformed JSON: {e}", i + 1))),
                }
            }
            (format!("INSERT INTO {target} FORMAT JSONEachRow"), lines.len() as u64, lines)
        }
    };
    if rows == 0 {
        progress(0);
        return Ok(Applied { count: 0, unit: "rows" });
    }
    if let Err(e) = post(t, Some(database(t)), Some(&query), data).await {
        let line = number_after(e.body(), "(at row ").and_then(|n| row_lines.get(n.checked_sub(1)?).copied());
        let message = e.message();
        return Err(SeedError::new(match line {
            Some(l) => format!("{name}:{l}: {message}"),
            None => format!("{name}: {message}"),
        }));
    }
    progress(rows);
    Ok(Applied { count: rows, unit: "rows" })
}

/// Drop and re-create the service's database. The `default` database cannot
/// be dropped: then every table in it is dropped instead.
pub async fn reset(t: &Target<'_>) -> Result<(), SeedError> {
    let db = database(t);
    let fail = |what: String, e: PostError| SeedError::new(format!("reset of clickhouse database `{db}`: {what} failed: {}", e.message()));
    if db == "default" {
        let q = "SELECT name FROM system.tables WHERE database = 'default' FORMAT JSONEachRow";
        let out = post(t, None, None, q).await.map_err(|e| fail("listing its tables".into(), e))?;
        for line in out.lines().filter(|l| !l.trim().is_empty()) {
            let table = serde_json::from_str::<serde_json::Value>(line)
                .ok()
                .and_then(|v| v.get("name").and_then(|n| n.as_str()).map(str::to_string))
                .ok_or_else(|| SeedError::new(format!("reset of clickhouse database `default`: unexpected reply {line:?}")))?;
            let drop = format!("DROP TABLE IF EXISTS `default`.{}", quote_ident(&table));
            post(t, None, None, drop).await.map_err(|e| fail(format!("dropping table `{table}`"), e))?;
        }
        return Ok(());
    }
    let quoted = quote_ident(db);
    post(t, None, None, format!("DROP DATABASE IF EXISTS {quoted}")).await.map_err(|e| fail("DROP DATABASE".into(), e))?;
    post(t, None, None, format!("CREATE DATABASE {quoted}")).await.map_err(|e| fail("CREATE DATABASE".into(), e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(quote_qualified("events").unwrap(), "`events`");
        assert_eq!(quote_qualified("db.events").unwrap(), "`db`.`events`");
        assert_eq!(quote_qualified("`my.db`.t").unwrap(), "`my.db`.`t`");
        assert_eq!(quote_ident("a`b\\c"), "`a\\`b\\\\c`");
        assert!(quote_qualified(" ").unwrap_err().contains("empty"));
        assert!(quote_qualified("`x").unwrap_err().contains("unbalanced"));
    }

    #[test]
    fn positions_and_rows() {
        let st = &sql::split_dialect("\n\nSELECT 1,\n  nope(", Dialect::ClickHouse)[0];
        let body = "Code: 62, e.displayText() = DB::Exception: Syntax error: failed at position 20 (end of query): . Expected one of: ...";
        assert_eq!(error_line(st, body), 4);
        assert_eq!(error_line(st, "Code: 60, e.displayText() = DB::Exception: Table x doesn't exist"), 3);
        assert_eq!(number_after("Cannot parse input: expected , (at row 3)\n", "(at row "), Some(3));
        assert_eq!(number_after("no row", "(at row "), None);
    }
}
