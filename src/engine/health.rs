//! Readiness: devenv's own probes (http, tcp, exec, log, a preset's protocol,
//! or the image's HEALTHCHECK), polled fast with backoff until a deadline.
//! An exec probe devenv recognises (`curl -f`, `wget --spider`, `nc -z` on
//! the container itself, `pg_isready`, `redis-cli ping`, `mysqladmin ping`,
//! `clickhouse-client --query 'SELECT 1'`: `plan::healthcheck`) is made
//! natively from outside (the clients' questions on the wire: `wire`), with
//! the command as written as the fallback. A container its restart
//! policy is restarting is not ready; failures within `start_period` are not
//! reported as the last error.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::io::AsyncReadExt;

use crate::docker::{ContainerInfo, Docker};
use crate::error::Error;
use crate::plan::healthcheck::Native;
use crate::plan::{Probe, ResolvedHealth};

pub mod wire;

/// How long one `exec` check may run before it counts as failed and the next is tried.
pub const EXEC_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);

/// The slowest a probe polls unless the user wrote a longer `interval`.
pub const MAX_BACKOFF: Duration = Duration::from_millis(200);

/// With the default interval, the first checks come this soon: a service
/// that is ready within a few hundred ms of its start (an app, Redis) is
/// seen ready tens of ms after it is, not up to 100 ms. The backoff then
/// reaches the default within ~0.3 s.
pub const FIRST_INTERVAL: Duration = Duration::from_millis(20);

/// While a recognised command's native check fails, the command as written
/// still runs this often (what the native check cannot see — a server bound
/// to the container's loopback only — is seen by it).
pub const EXEC_FALLBACK_EVERY: Duration = Duration::from_secs(1);

/// Why a service did not become ready.
#[derive(Debug)]
pub enum NotReady {
    /// The container stopped (exit code, OOM).
    Exited { code: Option<i64>, oom: bool },
    /// The deadline passed; the last probe error.
    Timeout { last_error: String, after: Duration },
    /// Waiting cannot help (e.g. authentication failed).
    Fatal { error: String },
    Docker(Error),
}

/// A short description of a probe for the UI.
pub fn describe(h: Option<&ResolvedHealth>) -> String {
    match h.map(|h| &h.probe) {
        Some(Probe::Http { path, port }) => format!("http :{port}{path}"),
        Some(Probe::Tcp { port }) => format!("tcp :{port}"),
        Some(Probe::Exec { command, native: Some(native) }) => describe_native(native, command),
        Some(Probe::Exec { command, native: None }) => format!("exec {}", command.join(" ")),
        Some(Probe::Log { pattern }) => format!("log /{pattern}/"),
        Some(Probe::DockerHealthcheck) => "image HEALTHCHECK".into(),
        Some(Probe::Preset(c)) => c.kind.preset().probe_description().into(),
        None => "running".into(),
    }
}

/// A recognised command's native check, for the UI. The database clients are
/// named by their program only: their command lines may carry a password.
fn describe_native(native: &Native, command: &[String]) -> String {
    let program = || {
        let words = match command {
            [sh, c, script] if sh.ends_with("sh") && c == "-c" => script.split_whitespace().take(1).map(str::to_string).collect(),
            argv => argv.iter().take(1).cloned().collect::<Vec<_>>(),
        };
        words.join(" ")
    };
    match native {
        Native::Http { port, path, head } => format!("{} :{port}{path}, natively for `{}`", if *head { "http HEAD" } else { "http" }, command.join(" ")),
        Native::Tcp { port } => format!("tcp :{port}, natively for `{}`", command.join(" ")),
        Native::PgIsReady { port, .. } => format!("postgres startup :{port}, natively for `{}`", program()),
        Native::Redis { port, pong, .. } => format!("redis {} :{port}, natively for `{}`", if *pong { "PONG" } else { "reply" }, program()),
        Native::MysqlPing { port } => format!("mysql greeting :{port}, natively for `{}`", program()),
        Native::Clickhouse { port, .. } => format!("clickhouse hello :{port}, natively for `{}`", program()),
    }
}

/// One native check of a recognised command against the service at `addr`
/// (`host:port`, the port being `native.port()`): Ok when the command as
/// written would exit 0 against the same server.
pub async fn native_check(native: &Native, addr: &str, client: &reqwest::Client) -> Result<(), String> {
    match native {
        Native::Http { path, head, .. } => http_request(client, addr, path, *head).await,
        Native::Tcp { .. } => tcp_check(addr).await,
        Native::PgIsReady { user, database, .. } => wire::pg_isready(addr, user, database.as_deref()).await,
        Native::Redis { auth, db, command, pong, .. } => wire::redis(addr, auth.as_ref(), db.as_deref(), command, *pong).await,
        Native::MysqlPing { .. } => wire::mysql_ping(addr).await,
        Native::Clickhouse { user, password, database, .. } => wire::clickhouse(addr, user, &password.0, database).await,
    }
}

/// Where a protocol probe reaches a container port: the published port on
/// loopback (what the user's own clients use), else the container's IP.
pub fn published_first(info: &ContainerInfo, port: u16) -> Option<String> {
    info.published
        .iter()
        .find(|p| p.container_port == port && p.protocol == "tcp")
        .map(|p| {
            let host = if p.host_ip.is_empty() || p.host_ip == "0.0.0.0" || p.host_ip == "::" { "127.0.0.1" } else { p.host_ip.as_str() };
            format!("{host}:{}", p.host_port)
        })
        .or_else(|| info.ip.as_ref().map(|ip| format!("{ip}:{port}")))
}

/// Where to reach a container port from the host: the container's IP on
/// Linux (no proxy in the way), else the published port on loopback.
fn address(info: &ContainerInfo, port: u16) -> Option<String> {
    if cfg!(target_os = "linux")
        && let Some(ip) = &info.ip {
            return Some(format!("{ip}:{port}"));
        }
    info.published.iter().find(|p| p.container_port == port && p.protocol == "tcp").map(|p| {
        let host = if p.host_ip.is_empty() || p.host_ip == "0.0.0.0" { "127.0.0.1" } else { p.host_ip.as_str() };
        format!("{host}:{}", p.host_port)
    })
}

async fn tcp_check(addr: &str) -> Result<(), String> {
    let mut s = tokio::net::TcpStream::connect(addr).await.map_err(|e| format!("connect {addr}: {e}"))?;
    if cfg!(target_os = "linux") {
        return Ok(());
    }
    // Through a userland proxy a connect always succeeds; a closed connection means nothing listens behind it.
    let mut buf = [0u8; 1];
    match tokio::time::timeout(Duration::from_millis(50), s.read(&mut buf)).await {
        Ok(Ok(0)) => Err(format!("{addr}: connection closed (nothing listening yet)")),
        _ => Ok(()),
    }
}

async fn http_check(client: &reqwest::Client, addr: &str, path: &str) -> Result<(), String> {
    http_request(client, addr, path, false).await
}

/// A GET (or HEAD) of `path`: Ok on a status below 400.
async fn http_request(client: &reqwest::Client, addr: &str, path: &str, head: bool) -> Result<(), String> {
    let url = format!("http://{addr}{path}");
    let method = if head { "HEAD" } else { "GET" };
    let req = if head { client.head(&url) } else { client.get(&url) };
    let r = req.send().await.map_err(|e| format!("{method} {url}: {}", root_cause(&e)))?;
    if r.status().is_success() || r.status().is_redirection() {
        Ok(())
    } else {
        Err(format!("{method} {url}: HTTP {}", r.status()))
    }
}

/// A recognised exec probe: its native check, and when the command as
/// written last ran.
struct Recognised {
    native: Native,
    last_exec: Option<Instant>,
}

impl Recognised {
    fn of(probe: Option<&Probe>) -> Option<Recognised> {
        match probe {
            Some(Probe::Exec { native: Some(native), .. }) => Some(Recognised { native: native.clone(), last_exec: None }),
            _ => None,
        }
    }

    /// The native check when it can reach the port; while it fails (or
    /// cannot reach), the command as written, at most every EXEC_FALLBACK_EVERY
    /// (every poll when the port cannot be reached). Ok: which of them said ready.
    async fn check(&mut self, docker: &Docker, id: &str, info: &ContainerInfo, command: &[String], client: &reqwest::Client) -> Result<&'static str, String> {
        let native = match address(info, self.native.port()) {
            Some(a) => Some(native_check(&self.native, &a, client).await),
            None => None,
        };
        let fallback_due = self.last_exec.is_none_or(|t| t.elapsed() >= EXEC_FALLBACK_EVERY);
        match native {
            Some(Ok(())) => Ok("native"),
            Some(Err(e)) if !fallback_due => Err(e),
            native => {
                self.last_exec = Some(Instant::now());
                // Both failed: the native check's error says more (a status, a refusal).
                exec_check(docker, id, command).await.map(|()| "command").map_err(|exec| native.and_then(Result::err).unwrap_or(exec))
            }
        }
    }
}

use crate::seed::root_cause;

/// How a wait for readiness went: checks made, when the first one answered
/// (whatever it said), and what said ready (`native`, `command`, `probe`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trace {
    pub probes: u32,
    pub first_answer: Duration,
    pub answered_by: &'static str,
}

/// Wait until the service is ready. `health` None = running is enough.
pub async fn wait_ready(docker: &Docker, id: &str, health: Option<&ResolvedHealth>, default_timeout: Duration) -> Result<(), NotReady> {
    wait_ready_traced(docker, id, health, default_timeout).await.map(|_| ())
}

/// [`wait_ready`], saying how it went.
pub async fn wait_ready_traced(docker: &Docker, id: &str, health: Option<&ResolvedHealth>, default_timeout: Duration) -> Result<Trace, NotReady> {
    let start = Instant::now();
    let timeout = health.map(|h| h.timeout).unwrap_or(default_timeout);
    let base = health.map(|h| h.interval).unwrap_or(crate::plan::model::DEFAULT_INTERVAL).max(Duration::from_millis(10));
    let mut interval = if base == crate::plan::model::DEFAULT_INTERVAL { FIRST_INTERVAL } else { base };
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .no_proxy()
        .build()
        .map_err(|e| NotReady::Docker(Error::Other(format!("http client: {e}"))))?;
    let (log_seen, _guard) = watch_log(docker, id, health).await?;
    let mut recognised = Recognised::of(health.map(|h| &h.probe));

    // Failures within the start period are kept apart: they are not "the last error".
    let start_period = health.and_then(|h| h.start_period).unwrap_or_default();
    let mut last_error: Option<String> = None;
    let mut start_error: Option<String> = None;
    let (mut probes, mut first_answer) = (0, None);
    loop {
        let info = docker.inspect(id).await.map_err(|e| NotReady::Docker(e.into()))?;
        if !info.running {
            return Err(NotReady::Exited { code: info.exit_code, oom: info.oom_killed });
        }
        let probe = health.map(|h| &h.probe);
        let by = if matches!(probe, Some(Probe::Exec { .. })) { "command" } else { "probe" };
        let checked = match (&mut recognised, probe) {
            (Some(r), Some(Probe::Exec { command, .. })) if !info.restarting => r.check(docker, id, &info, command, &client).await,
            _ => check(docker, id, &info, probe, &client, &log_seen).await?.map(|()| by),
        };
        probes += 1;
        let first_answer = *first_answer.get_or_insert(start.elapsed());
        match checked.map_err(|e| with_restarts(e, &info)) {
            Ok(answered_by) => return Ok(Trace { probes, first_answer, answered_by }),
            Err(e) if start.elapsed() < start_period => start_error = Some(e),
            Err(e) => last_error = Some(e),
        }
        if start.elapsed() >= timeout {
            let last_error = last_error
                .or_else(|| start_error.take().map(|e| format!("{e} (still within its start_period)")))
                .unwrap_or_default();
            return Err(NotReady::Timeout { last_error, after: timeout });
        }
        tokio::time::sleep(interval.min(timeout.saturating_sub(start.elapsed()))).await;
        // Back off gently: fast at first, never slower than 200 ms (or the written interval),
        // so a service is seen ready at most 200 ms after it is.
        interval = (interval.mul_f32(1.5)).min(base.max(MAX_BACKOFF));
    }
}

/// One check, now, of a container seen ready before (`devenv ui` re-probes
/// ready services): `Err(why)` when it is not ready any more. A log probe
/// passes once its line was seen: it is not checked again.
pub async fn check_once(docker: &Docker, id: &str, health: Option<&ResolvedHealth>) -> Result<(), String> {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(2)).no_proxy().build().map_err(|e| format!("http client: {e}"))?;
    let info = docker.inspect(id).await.map_err(|e| e.to_string())?;
    if !info.running {
        return Err(format!("exited{}", info.exit_code.map(|c| format!(" with code {c}")).unwrap_or_default()));
    }
    let probe = health.map(|h| &h.probe);
    if matches!(probe, Some(Probe::Log { .. })) {
        return Ok(());
    }
    let checked = match (Recognised::of(probe), probe) {
        (Some(mut r), Some(Probe::Exec { command, .. })) if !info.restarting => r.check(docker, id, &info, command, &client).await.map(|_| ()),
        _ => match check(docker, id, &info, probe, &client, &AtomicBool::new(false)).await {
            Ok(r) => r,
            Err(NotReady::Fatal { error }) => Err(error),
            Err(NotReady::Docker(e)) => Err(e.to_string()),
            Err(NotReady::Exited { code, .. }) => Err(format!("exited{}", code.map(|c| format!(" with code {c}")).unwrap_or_default())),
            Err(NotReady::Timeout { last_error, .. }) => Err(last_error),
        },
    };
    checked.map_err(|e| with_restarts(e, &info))
}

/// A log probe watches the stream in the background: the flag it sets, and
/// the task (aborted when the guard drops). Other probes: an unset flag.
async fn watch_log(docker: &Docker, id: &str, health: Option<&ResolvedHealth>) -> Result<(Arc<AtomicBool>, AbortOnDrop), NotReady> {
    let log_seen = Arc::new(AtomicBool::new(false));
    let Some(Probe::Log { pattern }) = health.map(|h| &h.probe) else { return Ok((log_seen, AbortOnDrop(None))) };
    let re = regex::Regex::new(pattern).map_err(|e| NotReady::Docker(Error::Other(format!("bad log pattern: {e}"))))?;
    let seen = log_seen.clone();
    // Only this run's output: a restarted container's log still holds the
    // previous run's lines, which would match at once. (Docker's `since`
    // is in whole seconds: a line the previous run wrote in the very
    // second this one started still counts.)
    let since = docker.inspect(id).await.ok().and_then(|i| i.started_at).as_deref().and_then(run_started_secs);
    let mut stream = Box::pin(docker.logs(id, true, None, since));
    let task = tokio::spawn(async move {
        while let Some(Ok(line)) = stream.next().await {
            if re.is_match(&line.text) {
                seen.store(true, Ordering::SeqCst);
                break;
            }
        }
    });
    Ok((log_seen, AbortOnDrop(Some(task))))
}

/// One check of a running container: Ok(Err(why)) when not ready yet,
/// Err when waiting cannot help (a fatal probe error, Docker failing).
async fn check(
    docker: &Docker,
    id: &str,
    info: &ContainerInfo,
    probe: Option<&Probe>,
    client: &reqwest::Client,
    log_seen: &AtomicBool,
) -> Result<Result<(), String>, NotReady> {
    let unreachable = |port: u16| format!("port {port} is neither published nor reachable on the container network");
    Ok(match probe {
        // Crashed, and its restart policy brings it back: not ready (the deadline still applies).
        _ if info.restarting => Err(restarting(info)),
        None => Ok(()),
        Some(Probe::DockerHealthcheck) => match info.health.as_deref() {
            Some("healthy") => Ok(()),
            other => Err(format!("image HEALTHCHECK status: {}", other.unwrap_or("none"))),
        },
        Some(Probe::Tcp { port }) => match address(info, *port) {
            Some(a) => tcp_check(&a).await,
            None => Err(unreachable(*port)),
        },
        Some(Probe::Http { path, port }) => match address(info, *port) {
            Some(a) => http_check(client, &a, path).await,
            None => Err(unreachable(*port)),
        },
        Some(Probe::Exec { command, .. }) => exec_check(docker, id, command).await,
        Some(Probe::Preset(conn)) => match published_first(info, conn.port) {
            Some(a) => match crate::preset::probe(conn, &a, client).await {
                Ok(()) => Ok(()),
                Err(e) if e.fatal => return Err(NotReady::Fatal { error: e.message }),
                Err(e) => Err(e.message),
            },
            None => Err(unreachable(conn.port)),
        },
        Some(Probe::Log { pattern }) => {
            if log_seen.load(Ordering::SeqCst) {
                Ok(())
            } else {
                Err(format!("no log line matching /{pattern}/ yet"))
            }
        }
    })
}

/// A check that hangs (a client retrying a connection) must not hold up
/// the next attempt: each one gets EXEC_ATTEMPT_TIMEOUT.
async fn exec_check(docker: &Docker, id: &str, command: &[String]) -> Result<(), String> {
    match tokio::time::timeout(EXEC_ATTEMPT_TIMEOUT, docker.exec_capture(id, command)).await {
        Ok(Ok((0, _))) => Ok(()),
        Ok(Ok((code, out))) => Err(format!("`{}` exited {code}: {}", command.join(" "), out.trim().lines().last().unwrap_or(""))),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("`{}` did not finish within {}s", command.join(" "), EXEC_ATTEMPT_TIMEOUT.as_secs())),
    }
}

/// Unix seconds of a container's `State.StartedAt` (RFC 3339), for `logs --since`; None if unparsable.
fn run_started_secs(started_at: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(started_at).ok().map(|t| t.timestamp()).filter(|&t| t > 0)
}

/// What a container caught restarting by its restart policy says.
fn restarting(info: &ContainerInfo) -> String {
    let code = info.exit_code.map(|c| format!(" with code {c}")).unwrap_or_default();
    format!("the container exited{code} and is being restarted by its restart policy ({} restarts so far)", info.restart_count)
}

/// A probe failure of a container that crashed before: say so (a crash loop is
/// otherwise easy to miss when the probe happens to land between restarts).
fn with_restarts(error: String, info: &ContainerInfo) -> String {
    if info.restarting || info.restart_count == 0 {
        return error;
    }
    let times = if info.restart_count == 1 { "once".to_string() } else { format!("{} times", info.restart_count) };
    format!("{error} (the container crashed and was restarted {times} by its restart policy)")
}

struct AbortOnDrop(Option<tokio::task::JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(t) = &self.0 {
            t.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::run_started_secs;

    #[test]
    fn log_probe_reads_from_the_current_runs_start() {
        assert_eq!(run_started_secs("2024-05-02T13:30:00.123456789Z"), Some(1_714_656_600));
        assert_eq!(run_started_secs("2024-05-02T15:30:00+02:00"), Some(1_714_656_600));
        // Docker's zero time (never started) and garbage: no `since`, the whole log.
        assert_eq!(run_started_secs("0001-01-01T00:00:00Z"), None);
        assert_eq!(run_started_secs(""), None);
    }
}
