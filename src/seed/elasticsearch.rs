//! elasticsearch seeding: create an index (mappings + settings) and bulk-load
//! an NDJSON documents file, over Elasticsearch's REST API (`http://{addr}`).
//!
//! `PUT /{index}` with `{"mappings": …, "settings": …}` from the files (each
//! may hold the object itself or `{"mappings": {…}}` / `{"settings": {…}}`);
//! an index that already exists is fine (left as is). Documents: one JSON
//! value per line (blank lines skipped), all validated before anything is
//! sent; a top-level `_id` becomes the bulk action's `_id` and is removed
//! from the source. Batches of ≤ 5 000 docs / ~5 MB go to `POST /_bulk`
//! (`index` actions, so re-applying overwrites by `_id`), 3 in flight; every
//! bulk response is checked item by item and failures are reported as
//! `doc at FILE:LINE: <type>: <reason>`. Finally `POST /{index}/_refresh`, so
//! the documents are searchable when the seed returns.

use std::borrow::Cow;
use std::path::Path;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Map, Value};

use super::{read_file, Applied, Progress, SeedError, Target};

/// One `indices:` entry.
pub struct IndexSeed<'a> {
    pub name: &'a str,
    pub mappings: Option<&'a Path>,
    pub settings: Option<&'a Path>,
    pub documents: Option<&'a Path>,
}

const BATCH_DOCS: usize = 5000;
const BATCH_BYTES: usize = 5 * 1024 * 1024;
/// Bulk requests in flight at once.
const IN_FLIGHT: usize = 3;
/// Bound on one bulk request.
const BULK_TIMEOUT: Duration = Duration::from_secs(120);
/// Bound on the other (small) requests.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Errors quoted in a failed load's message.
const QUOTED_ERRORS: usize = 3;

/// Create the index (if missing) and load its documents (if any).
pub async fn apply_index(t: &Target<'_>, seed: &IndexSeed<'_>, progress: Progress<'_>) -> Result<Applied, SeedError> {
    validate_index_name(seed.name)?;
    let mut body = Map::new();
    if let Some(path) = seed.mappings {
        body.insert("mappings".into(), read_section(path, "mappings")?);
    }
    if let Some(path) = seed.settings {
        body.insert("settings".into(), read_section(path, "settings")?);
    }
    let text = match seed.documents {
        Some(path) => Some(read_file(path)?),
        None => None,
    };
    let docs = match (seed.documents, &text) {
        (Some(path), Some(text)) => parse_documents(path, text)?,
        _ => Vec::new(),
    };

    create_index(t, seed.name, &Value::Object(body)).await?;
    if docs.is_empty() {
        return Ok(Applied { count: 0, unit: "documents" });
    }

    let file = seed.documents.map(|p| p.display().to_string()).unwrap_or_default();
    let url = format!("http://{}/_bulk", t.addr);
    let chunks = chunk_bounds(&docs, BATCH_DOCS, BATCH_BYTES);
    let total_docs = docs.len();
    let docs = &docs;
    let mut results = futures_util::stream::iter(chunks)
        .map(|range| {
            let url = url.as_str();
            async move {
                let batch = &docs[range];
                let body = bulk_body(seed.name, batch);
                let lines: Vec<usize> = batch.iter().map(|d| d.line).collect();
                send_bulk(t, url, body, &lines).await
            }
        })
        .buffer_unordered(IN_FLIGHT);

    let mut done: u64 = 0;
    let mut failed: u64 = 0;
    let mut quoted: Vec<ItemError> = Vec::new();
    while let Some(r) = results.next().await {
        let outcome = r?;
        failed += outcome.failed.len() as u64;
        done += (outcome.sent - outcome.failed.len()) as u64;
        quoted.extend(outcome.failed.into_iter().take(QUOTED_ERRORS));
        if failed == 0 {
            progress(done);
        }
    }
    drop(results);
    if failed > 0 {
        quoted.sort_by_key(|e| e.line);
        quoted.truncate(QUOTED_ERRORS);
        return Err(summarise_failures(seed.name, &file, failed, total_docs, &quoted));
    }

    let refresh = t.http.post(format!("http://{}/{}/_refresh", t.addr, seed.name)).timeout(CALL_TIMEOUT).send().await;
    check(refresh, &format!("refreshing index `{}`", seed.name)).await?;
    Ok(Applied { count: done, unit: "documents" })
}

/// Delete each index; one that does not exist is fine.
pub async fn delete_indices(t: &Target<'_>, names: &[String]) -> Result<(), SeedError> {
    for name in names {
        validate_index_name(name)?;
    }
    for name in names {
        let r = t.http.delete(format!("http://{}/{name}", t.addr)).timeout(CALL_TIMEOUT).send().await;
        let what = format!("deleting index `{name}`");
        let r = r.map_err(|e| SeedError::new(format!("{what}: {}", super::root_cause(&e))))?;
        let status = r.status();
        if status.is_success() || status.as_u16() == 404 {
            continue;
        }
        let text = r.text().await.unwrap_or_default();
        return Err(http_error(&what, status.as_u16(), &text));
    }
    Ok(())
}

// ------------------------------------------------------------------- index

/// Elasticsearch's index-name rules, checked before any request (so a name
/// can never address `_all`, a wildcard or another API).
pub(crate) fn validate_index_name(name: &str) -> Result<(), SeedError> {
    let bad = |why: String| {
        Err(SeedError::new(format!("invalid index name `{name}`: {why}")).with_hint(
            "index names are lowercase, at most 255 bytes, without \\ / * ? \" < > | , # : or spaces, and do not start with -, _ or +",
        ))
    };
    if name.is_empty() {
        return bad("empty".into());
    }
    if name == "." || name == ".." {
        return bad("`.` and `..` are not allowed".into());
    }
    if name.len() > 255 {
        return bad("longer than 255 bytes".into());
    }
    if let Some(c) = name.chars().next().filter(|c| matches!(c, '-' | '_' | '+')) {
        return bad(format!("must not start with `{c}`"));
    }
    if name.chars().any(|c| c.is_uppercase()) {
        return bad("must be lowercase".into());
    }
    if let Some(c) = name.chars().find(|c| matches!(c, '\\' | '/' | '*' | '?' | '"' | '<' | '>' | '|' | ' ' | ',' | '#' | ':') || c.is_control()) {
        return bad(format!("character {c:?} is not allowed"));
    }
    Ok(())
}

/// A mappings/settings file: the object itself, or `{"<key>": {…}}`.
pub(crate) fn read_section(path: &Path, key: &str) -> Result<Value, SeedError> {
    let text = read_file(path)?;
    parse_section(path, &text, key)
}

pub(crate) fn parse_section(path: &Path, text: &str, key: &str) -> Result<Value, SeedError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let v: Value = serde_json::from_str(text).map_err(|e| {
        SeedError::new(format!("{}:{}: malformed JSON: {}", path.display(), e.line(), super::kafka::json_error(&e)))
    })?;
    let Value::Object(mut obj) = v else {
        return Err(SeedError::new(format!("{}: {key} must be a JSON object", path.display())));
    };
    match obj.remove(key) {
        Some(Value::Object(inner)) => Ok(Value::Object(inner)),
        Some(_) => Err(SeedError::new(format!("{}: `{key}` must be a JSON object", path.display()))),
        None => Ok(Value::Object(obj)),
    }
}

async fn create_index(t: &Target<'_>, name: &str, body: &Value) -> Result<(), SeedError> {
    let what = format!("creating index `{name}`");
    let r = t
        .http
        .put(format!("http://{}/{name}", t.addr))
        .json(body)
        .timeout(CALL_TIMEOUT)
        .send()
        .await
        .map_err(|e| SeedError::new(format!("{what}: {}", super::root_cause(&e))))?;
    let status = r.status();
    if status.is_success() {
        return Ok(());
    }
    let text = r.text().await.unwrap_or_default();
    if status.as_u16() == 400 && error_type(&text).as_deref() == Some("resource_already_exists_exception") {
        return Ok(());
    }
    Err(http_error(&what, status.as_u16(), &text))
}

// --------------------------------------------------------------- documents

/// One document line: where it came from, its `_id` (if it had one) and its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Doc<'a> {
    pub line: usize,
    pub id: Option<String>,
    pub source: Cow<'a, str>,
}

/// Validate every line as JSON and pull out `_id`s. Non-object documents are
/// passed through (Elasticsearch rejects them per item, which is reported).
pub(crate) fn parse_documents<'a>(path: &Path, text: &'a str) -> Result<Vec<Doc<'a>>, SeedError> {
    let file = path.display();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let line = i + 1;
        let raw = raw.strip_suffix('\r').unwrap_or(raw).trim();
        if raw.is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(raw)
            .map_err(|e| SeedError::new(format!("{file}:{line}: malformed JSON: {}", super::kafka::json_error(&e))))?;
        match v {
            Value::Object(mut obj) if obj.contains_key("_id") => {
                let id = match obj.remove("_id") {
                    Some(Value::String(s)) if !s.is_empty() => s,
                    Some(Value::Number(n)) => n.to_string(),
                    _ => return Err(SeedError::new(format!("{file}:{line}: `_id` must be a non-empty string or a number"))),
                };
                let source = serde_json::to_string(&obj).map_err(|e| SeedError::new(format!("{file}:{line}: {e}")))?;
                out.push(Doc { line, id: Some(id), source: Cow::Owned(source) });
            }
            _ => out.push(Doc { line, id: None, source: Cow::Borrowed(raw) }),
        }
    }
    Ok(out)
}

/// Index ranges of `docs`, each ≤ `max_docs` and (unless a single doc is larger) ≤ ~`max_bytes` of body.
pub(crate) fn chunk_bounds(docs: &[Doc<'_>], max_docs: usize, max_bytes: usize) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (i, d) in docs.iter().enumerate() {
        let size = d.source.len() + d.id.as_ref().map_or(0, |s| s.len()) + 64;
        if i > start && (i - start >= max_docs || bytes + size > max_bytes) {
            out.push(start..i);
            start = i;
            bytes = 0;
        }
        bytes += size;
    }
    if start < docs.len() {
        out.push(start..docs.len());
    }
    out
}

/// The NDJSON body of one `POST /_bulk`: an `index` action line per document, then its source.
pub(crate) fn bulk_body(index: &str, docs: &[Doc<'_>]) -> Vec<u8> {
    let mut body = Vec::with_capacity(docs.iter().map(|d| d.source.len() + 64).sum());
    let index_json = Value::String(index.to_string()).to_string();
    for d in docs {
        body.extend_from_slice(b"{\"index\":{\"_index\":");
        body.extend_from_slice(index_json.as_bytes());
        if let Some(id) = &d.id {
            body.extend_from_slice(b",\"_id\":");
            body.extend_from_slice(Value::String(id.clone()).to_string().as_bytes());
        }
        body.extend_from_slice(b"}}\n");
        body.extend_from_slice(d.source.as_bytes());
        body.push(b'\n');
    }
    body
}

/// A failed bulk item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ItemError {
    pub line: usize,
    /// `<type>: <reason>`
    pub error: String,
}

struct BulkOutcome {
    sent: usize,
    failed: Vec<ItemError>,
}

async fn send_bulk(t: &Target<'_>, url: &str, body: Vec<u8>, lines: &[usize]) -> Result<BulkOutcome, SeedError> {
    let what = || {
        format!(
            "POST /_bulk (documents from lines {}–{})",
            lines.first().copied().unwrap_or(0),
            lines.last().copied().unwrap_or(0)
        )
    };
    let r = t
        .http
        .post(url)
        .header("Content-Type", "application/x-ndjson")
        .body(body)
        .timeout(BULK_TIMEOUT)
        .send()
        .await
        .map_err(|e| SeedError::new(format!("{}: {}", what(), super::root_cause(&e))))?;
    let status = r.status();
    let text = r.text().await.map_err(|e| SeedError::new(format!("{}: reading the response: {}", what(), super::root_cause(&e))))?;
    if !status.is_success() {
        let mut err = http_error(&what(), status.as_u16(), &text);
        if status.as_u16() == 413 {
            err = err.with_hint("the bulk request is larger than http.max_content_length; raise it or split large documents");
        }
        return Err(err);
    }
    let v: Value = serde_json::from_str(&text).map_err(|e| SeedError::new(format!("{}: response is not JSON: {e}", what())))?;
    let failed = bulk_failures(&v, lines).map_err(|e| SeedError::new(format!("{}: {e}", what())))?;
    Ok(BulkOutcome { sent: lines.len(), failed })
}

/// The failed items of a bulk response (`lines[i]` is item i's file line).
pub(crate) fn bulk_failures(resp: &Value, lines: &[usize]) -> Result<Vec<ItemError>, String> {
    if resp.get("errors").and_then(Value::as_bool) != Some(true) {
        return Ok(Vec::new());
    }
    let items = resp.get("items").and_then(Value::as_array).ok_or("response has `errors: true` but no `items`")?;
    if items.len() != lines.len() {
        return Err(format!("response has {} items for {} documents", items.len(), lines.len()));
    }
    let mut out = Vec::new();
    for (item, &line) in items.iter().zip(lines) {
        // {"index": {"status": 400, "error": {"type": …, "reason": …}}}
        let Some(result) = item.as_object().and_then(|o| o.values().next()) else { continue };
        let Some(error) = result.get("error") else { continue };
        out.push(ItemError { line, error: describe_error(error) });
    }
    Ok(out)
}

pub(crate) fn summarise_failures(index: &str, file: &str, failed: u64, total: usize, first: &[ItemError]) -> SeedError {
    let mut msg = format!("{failed} of {total} documents could not be indexed into `{index}`");
    for e in first {
        msg.push_str(&format!("\n  doc at {file}:{}: {}", e.line, e.error));
    }
    if failed as usize > first.len() {
        msg.push_str(&format!("\n  … and {} more", failed as usize - first.len()));
    }
    SeedError::new(msg).with_hint("fix the documents (or the index mappings) and apply the seed again")
}

// ----------------------------------------------------------------- helpers

/// `<type>: <reason>` (plus the cause's, when Elasticsearch gives one) from an `error` object.
fn describe_error(error: &Value) -> String {
    if let Some(s) = error.as_str() {
        return s.to_string();
    }
    let typ = error.get("type").and_then(Value::as_str).unwrap_or("error");
    let reason = error.get("reason").and_then(Value::as_str).unwrap_or("(no reason given)");
    let mut s = format!("{typ}: {reason}");
    if let Some(cause) = error.get("caused_by") {
        let ct = cause.get("type").and_then(Value::as_str);
        let cr = cause.get("reason").and_then(Value::as_str);
        if let (Some(ct), Some(cr)) = (ct, cr) {
            s.push_str(&format!(" (caused by {ct}: {cr})"));
        }
    }
    s
}

fn error_type(body: &str) -> Option<String> {
    let v: Value = serde_json::from_str(body).ok()?;
    v.get("error")?.get("type")?.as_str().map(str::to_string)
}

fn http_error(what: &str, status: u16, body: &str) -> SeedError {
    let detail = match serde_json::from_str::<Value>(body).ok().and_then(|v| v.get("error").cloned()) {
        Some(e) => describe_error(&e),
        None => {
            let b = body.trim();
            if b.len() > 300 {
                let mut end = 300;
                while !b.is_char_boundary(end) {
                    end -= 1;
                }
                format!("{}…", &b[..end])
            } else {
                b.to_string()
            }
        }
    };
    let err = SeedError::new(format!("{what}: HTTP {status}: {detail}"));
    if status == 401 || status == 403 {
        err.with_hint("security is on: turn it off for a dev node, or give credentials").because(super::Cause::Unauthorized)
    } else {
        err
    }
}

async fn check(r: Result<reqwest::Response, reqwest::Error>, what: &str) -> Result<(), SeedError> {
    let r = r.map_err(|e| SeedError::new(format!("{what}: {}", super::root_cause(&e))))?;
    let status = r.status();
    if status.is_success() {
        return Ok(());
    }
    let text = r.text().await.unwrap_or_default();
    Err(http_error(what, status.as_u16(), &text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("docs.ndjson")
    }

    #[test]
    fn index_names() {
        for ok in ["products", "logs-2024.01", "a_b+c", "été"] {
            assert!(validate_index_name(ok).is_ok(), "{ok}");
        }
        for (bad, why) in [
            ("", "empty"),
            ("Products", "lowercase"),
            ("_all", "start with `_`"),
            ("-x", "start with `-`"),
            ("+x", "start with `+`"),
            ("a/b", "'/'"),
            ("a*", "'*'"),
            ("a b", "' '"),
            ("a,b", "','"),
            ("a#b", "'#'"),
            ("a?b", "'?'"),
            ("a\"b", "'\"'"),
            ("a|b", "'|'"),
            ("a<b", "'<'"),
            ("a\\b", "'\\\\'"),
            ("..", "not allowed"),
        ] {
            let e = validate_index_name(bad).unwrap_err();
            assert!(e.message.contains(why), "{bad}: {}", e.message);
            assert!(e.hint.is_some());
        }
        assert!(validate_index_name(&"a".repeat(256)).is_err());
    }

    #[test]
    fn sections_accept_both_shapes() {
        let direct = parse_section(p(), r#"{"properties":{"n":{"type":"integer"}}}"#, "mappings").unwrap();
        let wrapped = parse_section(p(), r#"{"mappings":{"properties":{"n":{"type":"integer"}}}}"#, "mappings").unwrap();
        assert_eq!(direct, wrapped);
        let s = parse_section(p(), r#"{"settings":{"number_of_shards":1}}"#, "settings").unwrap();
        assert_eq!(s, serde_json::json!({"number_of_shards": 1}));
        let e = parse_section(p(), "{\n  \"properties\": oops\n}", "mappings").unwrap_err();
        assert!(e.message.starts_with("docs.ndjson:2: malformed JSON"), "{}", e.message);
        assert!(parse_section(p(), "[1]", "mappings").is_err());
        assert!(parse_section(p(), r#"{"mappings": 3}"#, "mappings").is_err());
    }

    #[test]
    fn documents_parse_and_ids() {
        let text = "{\"_id\":\"a1\",\"n\":1}\n\n{\"n\":2}\r\n{\"_id\":7,\"n\":3}\n42\n";
        let d = parse_documents(p(), text).unwrap();
        assert_eq!(d.len(), 4);
        assert_eq!((d[0].line, d[0].id.as_deref(), d[0].source.as_ref()), (1, Some("a1"), "{\"n\":1}"));
        assert_eq!((d[1].line, d[1].id.as_deref(), d[1].source.as_ref()), (3, None, "{\"n\":2}"));
        assert_eq!((d[2].id.as_deref(), d[2].source.as_ref()), (Some("7"), "{\"n\":3}"));
        assert_eq!((d[3].line, d[3].source.as_ref()), (5, "42"));

        let e = parse_documents(p(), "{\"n\":1}\n{\"n\":}\n").unwrap_err();
        assert!(e.message.starts_with("docs.ndjson:2: malformed JSON: "), "{}", e.message);
        let e = parse_documents(p(), "{\"_id\":[1]}\n").unwrap_err();
        assert!(e.message.contains("docs.ndjson:1: `_id`"), "{}", e.message);
    }

    #[test]
    fn bulk_body_is_ndjson() {
        let d = parse_documents(p(), "{\"_id\":\"x\\\"y\",\"n\":1}\n{\"n\":2}\n").unwrap();
        let body = String::from_utf8(bulk_body("idx", &d)).unwrap();
        assert_eq!(
            body,
            "{\"index\":{\"_index\":\"idx\",\"_id\":\"x\\\"y\"}}\n{\"n\":1}\n{\"index\":{\"_index\":\"idx\"}}\n{\"n\":2}\n"
        );
        for line in body.lines() {
            serde_json::from_str::<Value>(line).unwrap();
        }
    }

    #[test]
    fn chunks_by_count_and_bytes() {
        let text: String = (0..12).map(|i| format!("{{\"n\":{i}}}\n")).collect();
        let d = parse_documents(p(), &text).unwrap();
        assert_eq!(chunk_bounds(&d, 5, usize::MAX), vec![0..5, 5..10, 10..12]);
        // each doc counts ~70 bytes: 2 per 150-byte chunk
        assert_eq!(chunk_bounds(&d[..5], 100, 150), vec![0..2, 2..4, 4..5]);
        assert!(chunk_bounds(&[], 5, 100).is_empty());
    }

    #[test]
    fn bulk_errors_are_summarised() {
        // Shaped like the bulk API docs' example response with a failure.
        let resp = serde_json::json!({
            "took": 486,
            "errors": true,
            "items": [
                {"update": {"_index": "index1", "_id": "5", "status": 404,
                    "error": {"type": "document_missing_exception", "reason": "[5]: document missing", "index_uuid": "aAsFqTI0Tc2W0LCWgPNrOA", "shard": "0", "index": "index1"}}},
                {"index": {"_index": "index1", "_id": "6", "_version": 1, "result": "created", "status": 201}},
                {"create": {"_index": "index1", "_id": "7", "status": 409,
                    "error": {"type": "version_conflict_engine_exception", "reason": "[7]: version conflict, document already exists (current version [1])"}}},
                {"index": {"_index": "index1", "_id": "8", "status": 400,
                    "error": {"type": "document_parsing_exception", "reason": "[1:8] failed to parse field [n] of type [integer]",
                              "caused_by": {"type": "number_format_exception", "reason": "For input string: \"x\""}}}},
                {"index": {"_index": "index1", "_id": "9", "status": 400, "error": {"type": "t", "reason": "r"}}}
            ]
        });
        let failed = bulk_failures(&resp, &[10, 11, 12, 13, 14]).unwrap();
        assert_eq!(failed.len(), 4);
        assert_eq!(failed[0], ItemError { line: 10, error: "document_missing_exception: [5]: document missing".into() });
        assert_eq!(failed[1].line, 12);
        assert!(failed[2].error.contains("(caused by number_format_exception: For input string: \"x\")"), "{}", failed[2].error);
        let e = summarise_failures("index1", "docs.ndjson", 4, 5, &failed[..3]);
        assert!(e.message.starts_with("4 of 5 documents could not be indexed into `index1`"), "{}", e.message);
        assert!(e.message.contains("\n  doc at docs.ndjson:10: document_missing_exception: [5]: document missing"), "{}", e.message);
        assert!(e.message.contains("\n  doc at docs.ndjson:12: version_conflict_engine_exception"), "{}", e.message);
        assert!(e.message.contains("… and 1 more"), "{}", e.message);
        assert!(!e.message.contains(":14:"), "{}", e.message);

        // no errors → nothing; mismatched item count → an error
        assert!(bulk_failures(&serde_json::json!({"errors": false, "items": []}), &[1]).unwrap().is_empty());
        assert!(bulk_failures(&resp, &[1]).is_err());
    }

    #[test]
    fn http_errors_name_type_and_reason() {
        let body = r#"{"error":{"root_cause":[],"type":"mapper_parsing_exception","reason":"Failed to parse mapping","caused_by":{"type":"illegal_argument_exception","reason":"No handler for type [strin]"}},"status":400}"#;
        let e = http_error("creating index `x`", 400, body);
        assert_eq!(
            e.message,
            "creating index `x`: HTTP 400: mapper_parsing_exception: Failed to parse mapping (caused by illegal_argument_exception: No handler for type [strin])"
        );
        assert_eq!(error_type(body).as_deref(), Some("mapper_parsing_exception"));
        assert!(http_error("x", 401, "").hint.is_some());
        assert_eq!(http_error("x", 502, "bad gateway").message, "x: HTTP 502: bad gateway");
    }
}
