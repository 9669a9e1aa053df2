//! The database clients' healthcheck questions asked on the wire, each the
//! way its client decides its exit status (`plan::healthcheck::Native`):
//! - `pg_isready` (libpq's `PQping`): a startup message; an authentication
//!   request, or an error with any SQLSTATE but 57P03 ("cannot connect
//!   now"), means accepting connections; no login is attempted.
//! - `redis-cli`: `[AUTH] [SELECT] COMMAND`; any complete reply to the
//!   command (an error reply too) is success, as redis-cli 7.0 exits 0 on
//!   one; with `| grep PONG` the reply must contain `PONG`.
//! - `mysqladmin ping`: the server's handshake greeting (protocol 10) read;
//!   an error packet instead is not alive.
//! - `clickhouse-client --query 'SELECT 1'`: a native-protocol Hello on the
//!   command's port, with its credentials: the server's Hello is success,
//!   an Exception (bad password, unknown database) is failure.
//!
//! Each attempt is bounded by [`ATTEMPT`]. Parsing is pure and unit-tested;
//! nothing here knows about containers or retries (`engine::health` does).

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::plan::healthcheck::RedisAuth;

/// The most one native attempt may take (pg_isready's own default `-t` is 3 s).
pub const ATTEMPT: Duration = Duration::from_secs(3);

async fn connect(addr: &str) -> Result<TcpStream, String> {
    TcpStream::connect(addr).await.map_err(|e| format!("connect {addr}: {e}"))
}

/// Read until `complete` says the bytes so far hold an answer (Some), or the peer closes.
async fn read_until<T>(s: &mut TcpStream, addr: &str, complete: impl Fn(&[u8]) -> Option<T>) -> Result<T, String> {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        if let Some(answer) = complete(&got) {
            return Ok(answer);
        }
        let n = s.read(&mut buf).await.map_err(|e| format!("read from {addr}: {e}"))?;
        if n == 0 {
            return Err(format!("{addr}: connection closed without an answer"));
        }
        got.extend_from_slice(&buf[..n]);
    }
}

async fn bounded(addr: &str, io: impl Future<Output = Result<(), String>>) -> Result<(), String> {
    tokio::time::timeout(ATTEMPT, io).await.map_err(|_| format!("{addr}: no answer within {} s", ATTEMPT.as_secs()))?
}

// ---- pg_isready ----

/// A protocol 3.0 StartupMessage.
pub fn pg_startup(user: &str, database: Option<&str>) -> Vec<u8> {
    let mut body = 196_608i32.to_be_bytes().to_vec();
    for (k, v) in [("user", Some(user)), ("database", database), ("application_name", Some("devenv-probe"))] {
        if let Some(v) = v {
            body.extend_from_slice(k.as_bytes());
            body.push(0);
            body.extend_from_slice(v.as_bytes());
            body.push(0);
        }
    }
    body.push(0);
    let mut out = ((body.len() + 4) as i32).to_be_bytes().to_vec();
    out.extend(body);
    out
}

/// What the server's first message means to `PQping`: None until it is complete.
pub fn pg_answer(got: &[u8]) -> Option<Result<(), String>> {
    let (&kind, rest) = got.split_first()?;
    if kind == b'R' {
        return Some(Ok(()));
    }
    if kind != b'E' {
        return Some(Err(format!("no response: unexpected message `{}`", kind.escape_ascii())));
    }
    let len = i32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
    let body = rest.get(4..len.max(4))?;
    let field = |code: u8| {
        body.split(|b| *b == 0).find(|f| f.first() == Some(&code)).map(|f| String::from_utf8_lossy(&f[1..]).to_string())
    };
    Some(match (field(b'C'), field(b'M').unwrap_or_default()) {
        (Some(state), message) if state == "57P03" => Err(format!("rejecting connections: {message}")),
        (Some(state), _) if state.len() == 5 => Ok(()),
        (_, message) => Err(format!("no response: {message}")),
    })
}

pub async fn pg_isready(addr: &str, user: &str, database: Option<&str>) -> Result<(), String> {
    bounded(addr, async {
        let mut s = connect(addr).await?;
        s.write_all(&pg_startup(user, database)).await.map_err(|e| format!("write to {addr}: {e}"))?;
        read_until(&mut s, addr, pg_answer).await?
    })
    .await
}

// ---- redis-cli ----

/// One command as a RESP array of bulk strings.
pub fn resp_command(words: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", words.len()).into_bytes();
    for w in words {
        out.extend_from_slice(format!("${}\r\n", w.len()).as_bytes());
        out.extend_from_slice(w.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// The length of the first complete RESP2 reply in `buf`, and its text (a
/// line's, or a bulk string's); None while incomplete, Err when not RESP.
pub fn resp_reply(buf: &[u8]) -> Option<Result<(usize, String), String>> {
    let end = buf.windows(2).position(|w| w == b"\r\n")?;
    let line = String::from_utf8_lossy(&buf[1..end]).to_string();
    let after = end + 2;
    let number = || line.parse::<i64>().map_err(|_| format!("not a RESP reply: {line:?}"));
    Some(match buf[0] {
        b'+' | b'-' | b':' => Ok((after, line)),
        b'$' => match number() {
            Ok(n) if n < 0 => Ok((after, String::new())),
            Ok(n) => {
                let stop = after.checked_add(usize::try_from(n).ok()?)?;
                let data = buf.get(after..stop + 2)?;
                Ok((stop + 2, String::from_utf8_lossy(&data[..n as usize]).to_string()))
            }
            Err(e) => Err(e),
        },
        b'*' => match number() {
            Ok(n) => {
                let mut at = after;
                let mut text = Vec::new();
                for _ in 0..n.max(0) {
                    match resp_reply(&buf[at..])? {
                        Ok((len, t)) => {
                            at += len;
                            text.push(t);
                        }
                        Err(e) => return Some(Err(e)),
                    }
                }
                Ok((at, text.join("\n")))
            }
            Err(e) => Err(e),
        },
        other => Err(format!("not a RESP reply: starts with `{}`", other.escape_ascii())),
    })
}

/// The text of the `n`th reply in `buf`, once `n` replies are complete.
fn nth_reply(buf: &[u8], n: usize) -> Option<Result<String, String>> {
    let mut at = 0;
    let mut last = String::new();
    for _ in 0..n {
        match resp_reply(&buf[at..])? {
            Ok((len, text)) => (at, last) = (at + len, text),
            Err(e) => return Some(Err(e)),
        }
    }
    Some(Ok(last))
}

pub async fn redis(addr: &str, auth: Option<&RedisAuth>, db: Option<&str>, command: &[String], pong: bool) -> Result<(), String> {
    let mut request = Vec::new();
    let mut replies = 1;
    if let Some(a) = auth {
        let mut words = vec!["AUTH"];
        words.extend(a.user.as_deref());
        words.push(&a.password.0);
        request.extend(resp_command(&words));
        replies += 1;
    }
    if let Some(db) = db {
        request.extend(resp_command(&["SELECT", db]));
        replies += 1;
    }
    request.extend(resp_command(&command.iter().map(String::as_str).collect::<Vec<_>>()));
    bounded(addr, async {
        let mut s = connect(addr).await?;
        s.write_all(&request).await.map_err(|e| format!("write to {addr}: {e}"))?;
        let reply = read_until(&mut s, addr, |got| nth_reply(got, replies)).await??;
        match pong {
            true if !reply.contains("PONG") => Err(format!("redis replied `{reply}`, not PONG")),
            _ => Ok(()),
        }
    })
    .await
}

// ---- mysqladmin ping ----

/// The first packet's payload once complete: a 3-byte little-endian length and a sequence byte first.
fn mysql_packet(got: &[u8]) -> Option<&[u8]> {
    let len = u32::from_le_bytes([*got.first()?, *got.get(1)?, *got.get(2)?, 0]) as usize;
    got.get(4..4 + len)
}

/// What the server's first packet says: Ok(server version) for a HandshakeV10
/// greeting, Err for an ERR packet (code, message) or anything else.
pub fn mysql_greeting(got: &[u8]) -> Option<Result<String, String>> {
    let payload = mysql_packet(got)?;
    Some(match payload.first() {
        Some(10) => {
            let version = payload[1..].split(|b| *b == 0).next().unwrap_or_default();
            Ok(String::from_utf8_lossy(version).to_string())
        }
        Some(0xff) if payload.len() >= 3 => {
            let code = u16::from_le_bytes([payload[1], payload[2]]);
            // A `#` and a 5-character SQLSTATE come before the message after the handshake, not before it.
            let message = match payload.get(3) {
                Some(b'#') => payload.get(9..).unwrap_or_default(),
                _ => &payload[3..],
            };
            Err(format!("error {code}: {}", String::from_utf8_lossy(message)))
        }
        Some(other) => Err(format!("not a MySQL greeting (protocol byte {other})")),
        None => Err("an empty packet".into()),
    })
}

pub async fn mysql_ping(addr: &str) -> Result<(), String> {
    bounded(addr, async {
        let mut s = connect(addr).await?;
        read_until(&mut s, addr, mysql_greeting).await?.map(|_| ()).map_err(|e| format!("mysql at {addr}: {e}"))
    })
    .await
}

// ---- clickhouse-client ----

/// Protocol revision the Hello announces (the server answers in the lower of both).
const HELLO_REVISION: u64 = 54213;

fn varuint(mut v: u64, out: &mut Vec<u8>) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn ch_string(s: &str, out: &mut Vec<u8>) {
    varuint(s.len() as u64, out);
    out.extend_from_slice(s.as_bytes());
}

/// The client's Hello packet.
pub fn clickhouse_hello(user: &str, password: &str, database: &str) -> Vec<u8> {
    let mut out = Vec::new();
    varuint(0, &mut out);
    ch_string("devenv-probe", &mut out);
    for v in [1, 0, HELLO_REVISION] {
        varuint(v, &mut out);
    }
    for s in [database, user, password] {
        ch_string(s, &mut out);
    }
    out
}

/// The server's answer to a Hello: Ok for its Hello (packet 0), Err with the
/// exception's message for an Exception (packet 2: code, name, message).
pub fn clickhouse_answer(got: &[u8]) -> Option<Result<(), String>> {
    match got.first()? {
        0 => Some(Ok(())),
        2 => {
            let code = i32::from_le_bytes(got.get(1..5)?.try_into().ok()?);
            let (name, at) = read_ch_string(got, 5)?;
            let (message, _) = read_ch_string(got, at)?;
            Some(Err(format!("{name} (code {code}): {}", message.lines().next().unwrap_or(""))))
        }
        other => Some(Err(format!("not a ClickHouse answer (packet {other})"))),
    }
}

fn read_ch_string(buf: &[u8], mut at: usize) -> Option<(String, usize)> {
    let (mut len, mut shift) = (0usize, 0);
    loop {
        let b = *buf.get(at)?;
        at += 1;
        if shift > 56 {
            return None;
        }
        len |= ((b & 0x7f) as usize) << shift;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    Some((String::from_utf8_lossy(buf.get(at..at + len)?).to_string(), at + len))
}

pub async fn clickhouse(addr: &str, user: &str, password: &str, database: &str) -> Result<(), String> {
    bounded(addr, async {
        let mut s = connect(addr).await?;
        s.write_all(&clickhouse_hello(user, password, database)).await.map_err(|e| format!("write to {addr}: {e}"))?;
        read_until(&mut s, addr, clickhouse_answer).await?.map_err(|e| format!("clickhouse at {addr}: {e}"))
    })
    .await
}

#[cfg(test)]
mod tests;
