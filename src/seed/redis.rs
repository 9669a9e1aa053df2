//! redis seeding: a file of redis-cli style commands (one per line, with
//! redis-cli's quoting), pipelined over raw RESP; `--reset` is `FLUSHDB`.
//! Snapshots kept inside the server: `snapshot`.

pub mod snapshot;

use std::path::Path;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{Applied, Progress, SeedError, Target};

/// Commands per pipelined write.
const PIPELINE: usize = 1000;
/// Failed commands named in the error.
const SHOW_FAILURES: usize = 5;

/// Split one line the way redis-cli does (`sdssplitargs`): words separated
/// by whitespace; `"…"` with `\" \\ \n \r \t \a \b \xHH` escapes; `'…'`
/// where only `\'` is an escape; a closing quote must end the word.
/// Blank lines and `#` comment lines are `Ok(None)`.
pub fn parse_line(line: &str) -> Result<Option<Vec<Vec<u8>>>, String> {
    let trimmed = line.trim_start();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return Ok(None);
    }
    let b = line.as_bytes();
    let mut args = Vec::new();
    let mut i = 0;
    let is_space = |c: u8| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c);
    loop {
        while i < b.len() && is_space(b[i]) {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let mut cur = Vec::new();
        while let Some(&c) = b.get(i) {
            if is_space(c) {
                break;
            }
            match c {
                b'"' => {
                    let open = i;
                    i += 1;
                    loop {
                        let Some(&c) = b.get(i) else {
                            return Err(format!("unbalanced double quote (opened at column {})", open + 1));
                        };
                        match c {
                            b'\\' if i + 3 < b.len() && b[i + 1] == b'x' && b[i + 2].is_ascii_hexdigit() && b[i + 3].is_ascii_hexdigit() => {
                                cur.push(hex(b[i + 2]) << 4 | hex(b[i + 3]));
                                i += 4;
                            }
                            b'\\' if i + 1 < b.len() => {
                                cur.push(match b[i + 1] {
                                    b'n' => b'\n',
                                    b'r' => b'\r',
                                    b't' => b'\t',
                                    b'b' => 0x08,
                                    b'a' => 0x07,
                                    other => other,
                                });
                                i += 2;
                            }
                            b'"' => {
                                i += 1;
                                if b.get(i).is_some_and(|&n| !is_space(n)) {
                                    return Err(format!("closing double quote must be followed by a space (column {i})"));
                                }
                                break;
                            }
                            c => {
                                cur.push(c);
                                i += 1;
                            }
                        }
                    }
                    if b.get(i).is_none_or(|&n| is_space(n)) {
                        break;
                    }
                }
                b'\'' => {
                    let open = i;
                    i += 1;
                    loop {
                        let Some(&c) = b.get(i) else {
                            return Err(format!("unbalanced single quote (opened at column {})", open + 1));
                        };
                        match c {
                            b'\\' if b.get(i + 1) == Some(&b'\'') => {
                                cur.push(b'\'');
                                i += 2;
                            }
                            b'\'' => {
                                i += 1;
                                if b.get(i).is_some_and(|&n| !is_space(n)) {
                                    return Err(format!("closing single quote must be followed by a space (column {i})"));
                                }
                                break;
                            }
                            c => {
                                cur.push(c);
                                i += 1;
                            }
                        }
                    }
                    if b.get(i).is_none_or(|&n| is_space(n)) {
                        break;
                    }
                }
                c => {
                    cur.push(c);
                    i += 1;
                }
            }
        }
        args.push(cur);
    }
    Ok(if args.is_empty() { None } else { Some(args) })
}

fn hex(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => 0,
    }
}

/// A RESP array of bulk strings.
pub fn encode(args: &[Vec<u8>], out: &mut Vec<u8>) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// A server reply (RESP2, plus the RESP3 scalars in case a file says `HELLO 3`).
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Status(String),
    Error(String),
    Integer(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Reply>>),
    /// RESP3 `_`, `,`, `#`, `(`, `=`: kept as text.
    Other(String),
}

impl Reply {
    /// The error of this reply, or of an element of it (`EXEC`'s replies).
    pub fn error(&self) -> Option<&str> {
        match self {
            Reply::Error(e) => Some(e),
            Reply::Array(Some(items)) => items.iter().find_map(Reply::error),
            _ => None,
        }
    }
}

/// Parse one reply from the front of `buf`: `Ok(None)` if it is not complete
/// yet, else the reply and how many bytes it took.
pub fn parse_reply(buf: &[u8]) -> Result<Option<(Reply, usize)>, String> {
    let Some(eol) = buf.windows(2).position(|w| w == b"\r\n") else {
        return Ok(None);
    };
    let Some((&kind, rest)) = buf[..eol].split_first() else {
        return Err("empty reply line".into());
    };
    let line = String::from_utf8_lossy(rest).into_owned();
    let after = eol + 2;
    let int = |s: &str| s.parse::<i64>().map_err(|_| format!("bad length/integer {s:?} in reply"));
    Ok(Some(match kind {
        b'+' => (Reply::Status(line), after),
        b'-' => (Reply::Error(line), after),
        b':' => (Reply::Integer(int(&line)?), after),
        b'$' | b'=' | b'!' => {
            let len = int(&line)?;
            if len < 0 {
                return Ok(Some((Reply::Bulk(None), after)));
            }
            let len = usize::try_from(len).map_err(|_| format!("bulk length {len} too large"))?;
            if buf.len().saturating_sub(after) < len.saturating_add(2) {
                return Ok(None);
            }
            let data = buf[after..after + len].to_vec();
            match kind {
                b'!' => (Reply::Error(String::from_utf8_lossy(&data).into_owned()), after + len + 2),
                _ => (Reply::Bulk(Some(data)), after + len + 2),
            }
        }
        b'*' | b'~' | b'>' | b'%' => {
            let n = int(&line)?;
            if n < 0 {
                return Ok(Some((Reply::Array(None), after)));
            }
            let n = usize::try_from(n).ok().and_then(|n| if kind == b'%' { n.checked_mul(2) } else { Some(n) }).ok_or_else(|| format!("array length {n} too large"))?;
            let mut items = Vec::with_capacity(n.min(1024));
            let mut pos = after;
            for _ in 0..n {
                match parse_reply(&buf[pos..])? {
                    Some((r, used)) => {
                        items.push(r);
                        pos += used;
                    }
                    None => return Ok(None),
                }
            }
            (Reply::Array(Some(items)), pos)
        }
        b'_' | b',' | b'#' | b'(' => (Reply::Other(line), after),
        other => return Err(format!("unexpected reply type byte {:?}", other as char)),
    }))
}

/// A RESP connection: writes commands, reads replies.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    addr: String,
}

impl Conn {
    async fn open(t: &Target<'_>) -> Result<Conn, SeedError> {
        let stream = tokio::time::timeout(std::time::Duration::from_secs(10), TcpStream::connect(&t.addr))
            .await
            .map_err(|_| SeedError::new(format!("cannot connect to redis at {}: timed out", t.addr)))?
            .map_err(|e| SeedError::new(format!("cannot connect to redis at {}: {e}", t.addr)))?;
        let mut c = Conn { stream, buf: Vec::new(), addr: t.addr.clone() };
        if let Some(p) = t.password.as_deref().filter(|p| !p.is_empty()) {
            let mut args = vec![b"AUTH".to_vec()];
            if let Some(u) = t.user.as_deref().filter(|u| !u.is_empty()) {
                args.push(u.as_bytes().to_vec());
            }
            args.push(p.as_bytes().to_vec());
            let mut req = Vec::new();
            encode(&args, &mut req);
            c.write(&req).await?;
            if let Some(e) = c.read_reply().await?.error() {
                return Err(SeedError::new(format!("redis at {}: authentication failed: {e}", t.addr)));
            }
        }
        Ok(c)
    }

    /// One command, its reply.
    async fn call(&mut self, args: &[Vec<u8>]) -> Result<Reply, SeedError> {
        let mut req = Vec::new();
        encode(args, &mut req);
        self.write(&req).await?;
        self.read_reply().await
    }

    async fn write(&mut self, data: &[u8]) -> Result<(), SeedError> {
        self.stream.write_all(data).await.map_err(|e| SeedError::new(format!("redis at {}: write failed: {e}", self.addr)))
    }

    async fn read_reply(&mut self) -> Result<Reply, SeedError> {
        loop {
            match parse_reply(&self.buf) {
                Ok(Some((r, used))) => {
                    self.buf.drain(..used);
                    return Ok(r);
                }
                Ok(None) => {}
                Err(e) => return Err(SeedError::new(format!("redis at {}: {e}", self.addr))),
            }
            // Read into the buffer itself: no 64 KiB array inside every future that awaits a reply.
            self.buf.reserve(64 * 1024);
            let n = self.stream.read_buf(&mut self.buf).await.map_err(|e| SeedError::new(format!("redis at {}: read failed: {e}", self.addr)))?;
            if n == 0 {
                return Err(SeedError::new(format!("redis at {}: connection closed before all replies arrived", self.addr)));
            }
        }
    }
}

/// Apply a redis-cli command file: parse every line first (a bad line fails
/// before anything is sent), then pipeline the commands and check every reply.
pub async fn apply_commands(t: &Target<'_>, file: &Path, progress: Progress<'_>) -> Result<Applied, SeedError> {
    let name = file.display();
    let text = super::read_file(file)?;
    let mut commands = Vec::new();
    for (i, line) in text.lines().enumerate() {
        match parse_line(line) {
            Ok(Some(args)) => commands.push((i + 1, args)),
            Ok(None) => {}
            Err(e) => return Err(SeedError::new(format!("{name}:{}: {e}", i + 1))),
        }
    }
    let mut conn = Conn::open(t).await?;
    let mut failures = Vec::new();
    let mut failed = 0usize;
    let mut done = 0u64;
    let mut req = Vec::new();
    for chunk in commands.chunks(PIPELINE) {
        req.clear();
        for (_, args) in chunk {
            encode(args, &mut req);
        }
        conn.write(&req).await?;
        for (line, args) in chunk {
            let reply = conn.read_reply().await?;
            if let Some(e) = reply.error() {
                failed += 1;
                if failures.len() < SHOW_FAILURES {
                    let cmd = String::from_utf8_lossy(args.first().map(Vec::as_slice).unwrap_or_default()).to_uppercase();
                    failures.push(format!("{name}:{line}: {cmd}: {e}"));
                }
            }
            done += 1;
        }
        progress(done);
    }
    if failed > 0 {
        let more = if failed > failures.len() { format!("\n  … and {} more", failed - failures.len()) } else { String::new() };
        return Err(SeedError::new(format!(
            "{name}: {failed} of {} command{} failed:\n  {}{more}",
            commands.len(),
            if commands.len() == 1 { "" } else { "s" },
            failures.join("\n  ")
        )));
    }
    Ok(Applied { count: done, unit: "commands" })
}

/// Empty the database (`FLUSHDB`).
pub async fn reset(t: &Target<'_>) -> Result<(), SeedError> {
    let mut conn = Conn::open(t).await?;
    let mut req = Vec::new();
    encode(&[b"FLUSHDB".to_vec()], &mut req);
    conn.write(&req).await?;
    match conn.read_reply().await? {
        Reply::Error(e) => Err(SeedError::new(format!("redis at {}: FLUSHDB failed: {e}", t.addr))),
        _ => Ok(()),
    }
}

/// How long a rewrite of the append-only file may take.
const REWRITE_DEADLINE: std::time::Duration = std::time::Duration::from_secs(300);

/// Before the data directory is copied: when the append-only file is on,
/// rewrite it (`BGREWRITEAOF`, as `redis-cli` would) and wait until the
/// rewrite is done, so the copy holds one compact image (with Redis 7's
/// default `aof-use-rdb-preamble yes`, an RDB image) that loads in a
/// fraction of the time replaying every command since the last rewrite
/// takes. Returns whether it rewrote; an error when it could not (the
/// command renamed away, a failed rewrite — which leaves the old file
/// whole): the caller copies the data as it is then.
pub async fn compact(t: &Target<'_>) -> Result<bool, SeedError> {
    let mut conn = Conn::open(t).await?;
    if info_field(&conn.info_persistence().await?, "aof_enabled") != Some("1") {
        return Ok(false);
    }
    let mut req = Vec::new();
    encode(&[b"BGREWRITEAOF".to_vec()], &mut req);
    conn.write(&req).await?;
    if let Reply::Error(e) = conn.read_reply().await? {
        // One already running is as good: wait for it.
        if !e.contains("already in progress") {
            return Err(SeedError::new(format!("redis at {}: BGREWRITEAOF failed: {e}", t.addr)));
        }
    }
    let deadline = std::time::Instant::now() + REWRITE_DEADLINE;
    loop {
        let info = conn.info_persistence().await?;
        if rewrite_finished(&info) {
            return match info_field(&info, "aof_last_bgrewrite_status") {
                Some("ok") | None => Ok(true),
                Some(other) => Err(SeedError::new(format!("redis at {}: the append-only file rewrite ended with status `{other}`", t.addr))),
            };
        }
        if std::time::Instant::now() > deadline {
            return Err(SeedError::new(format!("redis at {}: the append-only file rewrite did not finish in {} s", t.addr, REWRITE_DEADLINE.as_secs())));
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// `INFO persistence` says no rewrite is running or waiting for a save to end.
fn rewrite_finished(info: &str) -> bool {
    info_field(info, "aof_rewrite_in_progress") == Some("0") && info_field(info, "aof_rewrite_scheduled") != Some("1")
}

/// One `name:value` line of an `INFO` reply.
fn info_field<'a>(info: &'a str, name: &str) -> Option<&'a str> {
    info.lines().find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(':'))).map(str::trim)
}

impl Conn {
    async fn info_persistence(&mut self) -> Result<String, SeedError> {
        let mut req = Vec::new();
        encode(&[b"INFO".to_vec(), b"persistence".to_vec()], &mut req);
        self.write(&req).await?;
        match self.read_reply().await? {
            Reply::Bulk(Some(b)) => Ok(String::from_utf8_lossy(&b).into_owned()),
            Reply::Error(e) => Err(SeedError::new(format!("redis at {}: INFO persistence failed: {e}", self.addr))),
            other => Err(SeedError::new(format!("redis at {}: unexpected reply to INFO: {other:?}", self.addr))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        parse_line(line).unwrap().unwrap().into_iter().map(|w| String::from_utf8(w).unwrap()).collect()
    }

    #[test]
    fn a_rewrite_is_finished_when_none_runs_or_waits() {
        let info = "# Persistence\r\nloading:0\r\naof_enabled:1\r\naof_rewrite_in_progress:1\r\naof_rewrite_scheduled:0\r\naof_last_bgrewrite_status:ok\r\n";
        assert_eq!(info_field(info, "aof_enabled"), Some("1"));
        assert_eq!(info_field(info, "aof_rewrite"), None, "a prefix of another field is not that field");
        assert!(!rewrite_finished(info));
        assert!(!rewrite_finished(&info.replace("aof_rewrite_in_progress:1", "aof_rewrite_in_progress:0").replace("scheduled:0", "scheduled:1")));
        assert!(rewrite_finished(&info.replace("aof_rewrite_in_progress:1", "aof_rewrite_in_progress:0")));
        assert!(!rewrite_finished("loading:0\r\n"), "no field: not known to be finished");
    }

    #[test]
    fn plain_words() {
        assert_eq!(words("SET key value"), vec!["SET", "key", "value"]);
        assert_eq!(words("  HSET\th  f   v  "), vec!["HSET", "h", "f", "v"]);
    }

    #[test]
    fn blank_and_comment_lines() {
        assert_eq!(parse_line(""), Ok(None));
        assert_eq!(parse_line("   \t"), Ok(None));
        assert_eq!(parse_line("# a comment \"unbalanced"), Ok(None));
        assert_eq!(parse_line("   # indented comment"), Ok(None));
        // `#` inside a line is an ordinary character.
        assert_eq!(words("SET k #v"), vec!["SET", "k", "#v"]);
    }

    #[test]
    fn double_quotes() {
        assert_eq!(words(r#"SET "a key" "hello world""#), vec!["SET", "a key", "hello world"]);
        assert_eq!(words(r#"SET k "a\"b\\c\nd\re\tf""#), vec!["SET", "k", "a\"b\\c\nd\re\tf"]);
        assert_eq!(words(r#"SET k "\x41\x62\a\b\q""#), vec!["SET", "k", "Ab\u{7}\u{8}q"]);
        assert_eq!(words(r#"SET k """#), vec!["SET", "k", ""]);
        // `\x` without two hex digits is just `x`.
        assert_eq!(words(r#"SET k "\xZ1""#), vec!["SET", "k", "xZ1"]);
        // Non-UTF-8 bytes.
        assert_eq!(parse_line(r#"SET k "\xff\x00""#).unwrap().unwrap()[2], vec![0xff, 0x00]);
        // A quote may start mid-word.
        assert_eq!(words(r#"SET k ab"c d""#), vec!["SET", "k", "abc d"]);
    }

    #[test]
    fn single_quotes() {
        assert_eq!(words(r"SET k 'it\'s a \n test'"), vec!["SET", "k", r"it's a \n test"]);
        assert_eq!(words(r#"SET k 'say "hi"'"#), vec!["SET", "k", "say \"hi\""]);
    }

    #[test]
    fn quote_errors() {
        assert!(parse_line(r#"SET k "abc"#).unwrap_err().contains("unbalanced double quote"));
        assert!(parse_line("SET k 'abc").unwrap_err().contains("unbalanced single quote"));
        assert!(parse_line(r#"SET k "abc"def"#).unwrap_err().contains("followed by a space"));
        assert!(parse_line("SET k 'a'b").unwrap_err().contains("followed by a space"));
        assert!(parse_line(r#"SET k "ends with backslash\"#).is_err());
    }

    #[test]
    fn non_ascii() {
        assert_eq!(words("SET clé \"naïve café\""), vec!["SET", "clé", "naïve café"]);
    }

    #[test]
    fn encoding() {
        let mut out = Vec::new();
        encode(&[b"SET".to_vec(), b"k".to_vec(), b"a b".to_vec()], &mut out);
        assert_eq!(out, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\na b\r\n");
    }

    #[test]
    fn replies() {
        assert_eq!(parse_reply(b"+OK\r\n").unwrap(), Some((Reply::Status("OK".into()), 5)));
        assert_eq!(parse_reply(b"-ERR wrong\r\n+OK\r\n").unwrap(), Some((Reply::Error("ERR wrong".into()), 12)));
        assert_eq!(parse_reply(b":42\r\n").unwrap(), Some((Reply::Integer(42), 5)));
        assert_eq!(parse_reply(b"$5\r\nhe\r\no\r\n").unwrap(), Some((Reply::Bulk(Some(b"he\r\no".to_vec())), 11)));
        assert_eq!(parse_reply(b"$-1\r\n").unwrap(), Some((Reply::Bulk(None), 5)));
        assert_eq!(parse_reply(b"$0\r\n\r\n").unwrap(), Some((Reply::Bulk(Some(vec![])), 6)));
        assert_eq!(parse_reply(b"*-1\r\n").unwrap(), Some((Reply::Array(None), 5)));
        let nested = b"*3\r\n:1\r\n*2\r\n$1\r\na\r\n-ERR x\r\n$-1\r\n";
        let (r, used) = parse_reply(nested).unwrap().unwrap();
        assert_eq!(used, nested.len());
        assert_eq!(
            r,
            Reply::Array(Some(vec![Reply::Integer(1), Reply::Array(Some(vec![Reply::Bulk(Some(b"a".to_vec())), Reply::Error("ERR x".into())])), Reply::Bulk(None)]))
        );
        assert_eq!(r.error(), Some("ERR x"));
        assert_eq!(Reply::Status("OK".into()).error(), None);
    }

    #[test]
    fn incomplete_replies() {
        for partial in [&b""[..], b"+OK", b"+OK\r", b"$5\r\nhel", b"$5\r\nhello\r", b"*2\r\n:1\r\n", b"*2\r\n:1\r\n$3\r\nab"] {
            assert_eq!(parse_reply(partial).unwrap(), None, "{partial:?}");
        }
    }

    #[test]
    fn bad_replies() {
        assert!(parse_reply(b"?what\r\n").is_err());
        assert!(parse_reply(b"$x\r\n").is_err());
        assert!(parse_reply(b"\r\n").is_err());
    }
}
