//! Healthcheck commands devenv recognises: a compose `healthcheck.test` (or
//! an `exec`/`shell` probe) that only asks "does the service in this
//! container answer on port P?" is parsed into that question, so the engine
//! can ask it natively from outside at protocol speed instead of a `docker
//! exec` per poll. Recognised: `curl -f URL`, `wget --spider URL` /
//! `wget -O FILE URL`, `nc -z HOST PORT` for a URL or host naming the
//! container itself (`localhost`, `127.0.0.1`, `::1`, `0.0.0.0`), and the
//! database clients `pg_isready`, `redis-cli … ping`, `mysqladmin ping` and
//! `clickhouse-client --query 'SELECT 1'` (`clients`), alone or followed by
//! `|| exit 1`. In the shell form, `$VAR`/`${VAR}` are expanded from the
//! service's environment when they are set there to one plain word
//! (`shell`). Anything else — an unknown option, a pipe, a variable it
//! cannot expand exactly, another host — is not recognised and runs as
//! written.
//! Pure: an argv and the service's environment in, a [`Native`] check out.

use indexmap::IndexMap;

mod clients;
mod shell;

/// The check a recognised command makes, on a port of the container itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Native {
    /// An HTTP request to `path` (with its query): ready on a status below 400.
    /// `head`: a HEAD request (`wget --spider`), else GET.
    Http { port: u16, path: String, head: bool },
    /// A TCP connection that opens.
    Tcp { port: u16 },
    /// `pg_isready`: the server answers a startup message with an
    /// authentication request or any error but 57P03 ("cannot connect now"),
    /// as libpq's `PQping` counts it — no login.
    PgIsReady { port: u16, user: String, database: Option<String> },
    /// `redis-cli [AUTH] [SELECT] COMMAND`: any complete reply to the command
    /// (an error reply too: redis-cli exits 0 on one); `pong`: the reply must
    /// contain `PONG` (`| grep PONG`).
    Redis { port: u16, auth: Option<RedisAuth>, db: Option<String>, command: Vec<String>, pong: bool },
    /// `mysqladmin ping`: the server's handshake greeting (protocol 10).
    MysqlPing { port: u16 },
    /// `clickhouse-client --query 'SELECT 1'`: a native-protocol Hello the
    /// server accepts for these credentials.
    Clickhouse { port: u16, user: String, password: Secret, database: String },
}

/// `redis-cli -a PASS [--user USER]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisAuth {
    pub user: Option<String>,
    pub password: Secret,
}

/// A password from a command line: never in a `Debug` form.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<hidden>")
    }
}

impl Native {
    /// The container port it asks.
    pub fn port(&self) -> u16 {
        match self {
            Native::Http { port, .. }
            | Native::Tcp { port }
            | Native::PgIsReady { port, .. }
            | Native::Redis { port, .. }
            | Native::MysqlPing { port }
            | Native::Clickhouse { port, .. } => *port,
        }
    }
}

/// The native form of a probe's command (an exec argv; `sh -c SCRIPT` for
/// the shell form), when it is one devenv recognises exactly. `env`: the
/// service's environment as written (what `docker exec` sees, over the
/// image's own): the shell form's variables, and the clients' `PG*`-style
/// defaults.
pub fn recognise(command: &[String], env: &IndexMap<String, String>) -> Option<Native> {
    let words = match command {
        [sh, c, script] if (sh == "sh" || sh == "/bin/sh") && c == "-c" => shell_words::split(&shell::expand(script, env)?).ok()?,
        argv => argv.to_vec(),
    };
    let words = strip_exit_1(&words);
    let (program, args) = words.split_first()?;
    match program.rsplit('/').next().unwrap_or(program) {
        "curl" => curl(args),
        "wget" => wget(args),
        "nc" | "netcat" => nc(args),
        "pg_isready" => clients::pg_isready(args, env),
        "redis-cli" => clients::redis_cli(args, env),
        "mysqladmin" | "mariadb-admin" => clients::mysqladmin(args, env),
        "clickhouse-client" => clients::clickhouse_client(args),
        "clickhouse" => clients::clickhouse_client(args.strip_prefix(&["client".to_string()])?),
        _ => None,
    }
}

/// `CMD || exit 1` (compose's usual spelling) checks the same as `CMD`.
fn strip_exit_1(words: &[String]) -> &[String] {
    match words {
        [cmd @ .., or, exit, one] if or == "||" && exit == "exit" && one == "1" => cmd,
        [cmd @ .., or, f] if or == "||" && f == "false" => cmd,
        all => all,
    }
}

/// Split `--name=value` into its parts; other words are returned whole.
pub(crate) fn long_value(word: &str) -> (&str, Option<&str>) {
    match word.split_once('=') {
        Some((n, v)) if n.starts_with("--") => (n, Some(v)),
        _ => (word, None),
    }
}

/// `curl` with `-f`/`--fail` and one local http URL. Options that change the
/// request or what counts as success (`-X`, `-H`, `-u`, `--retry`, `-w`, …)
/// are not recognised.
fn curl(args: &[String]) -> Option<Native> {
    let (mut fail, mut url) = (false, None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let (name, inline) = long_value(a);
        match name {
            "--fail" | "--fail-with-body" => fail = true,
            "--silent" | "--show-error" | "--location" | "--insecure" => {}
            "--output" | "--max-time" | "--connect-timeout" => {
                if inline.is_none() {
                    it.next()?;
                }
            }
            "-o" | "-m" => {
                it.next()?;
            }
            _ if inline.is_some() => return None,
            s if s.starts_with('-') && !s.starts_with("--") && s.len() > 1 => {
                // Bundled flags: `-fsSL`.
                for f in s[1..].chars() {
                    match f {
                        'f' => fail = true,
                        's' | 'S' | 'L' | 'k' => {}
                        _ => return None,
                    }
                }
            }
            s if s.starts_with('-') => return None,
            u if url.is_none() => url = Some(u),
            _ => return None,
        }
    }
    let (port, path) = local_http(url?)?;
    fail.then_some(Native::Http { port, path, head: false })
}

/// `wget --spider URL` (a HEAD request) or `wget -O FILE URL` (a GET), with
/// `-q`, `--no-verbose`, `--tries`, `--timeout`.
fn wget(args: &[String]) -> Option<Native> {
    let (mut spider, mut output, mut url) = (false, false, None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let (name, inline) = long_value(a);
        match name {
            "--spider" => spider = true,
            "--quiet" | "--no-verbose" => {}
            "--output-document" | "--tries" | "--timeout" => {
                output |= name == "--output-document";
                if inline.is_none() {
                    it.next()?;
                }
            }
            "-nv" => {}
            "-O" => {
                output = true;
                it.next()?;
            }
            "-T" | "-t" => {
                it.next()?;
            }
            _ if inline.is_some() => return None,
            // `-q`, `-qO-`, `-qO /dev/null`.
            s if s.starts_with('-') && !s.starts_with("--") && s.len() > 1 => {
                let flags = &s[1..];
                let (bundle, out) = match flags.find('O') {
                    Some(i) => (&flags[..i], Some(&flags[i + 1..])),
                    None => (flags, None),
                };
                if !bundle.chars().all(|c| c == 'q') {
                    return None;
                }
                if let Some(file) = out {
                    output = true;
                    if file.is_empty() {
                        it.next()?;
                    }
                }
            }
            s if s.starts_with('-') => return None,
            u if url.is_none() => url = Some(u),
            _ => return None,
        }
    }
    let (port, path) = local_http(url?)?;
    (spider || output).then_some(Native::Http { port, path, head: spider })
}

/// `nc -z [-v] [-w SECS] HOST PORT`.
fn nc(args: &[String]) -> Option<Native> {
    let (mut zero, mut rest) = (false, Vec::new());
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-w" => {
                it.next()?;
            }
            s if s.starts_with('-') && s.len() > 1 => {
                for f in s[1..].chars() {
                    match f {
                        'z' => zero = true,
                        'v' => {}
                        _ => return None,
                    }
                }
            }
            s => rest.push(s),
        }
    }
    match rest[..] {
        [host, port] if zero && is_local(host) => Some(Native::Tcp { port: port.parse().ok().filter(|p| *p > 0)? }),
        _ => None,
    }
}

/// `http://HOST[:PORT][/path][?query]` with a local HOST: (port, path).
fn local_http(url: &str) -> Option<(u16, String)> {
    let rest = url.strip_prefix("http://")?;
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.contains('@') {
        return None;
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.is_empty() && !p.contains(']') => (h, p.parse().ok().filter(|p| *p > 0)?),
        _ => (authority, 80),
    };
    let path = if path.starts_with('?') { format!("/{path}") } else { path.to_string() };
    is_local(host.trim_start_matches('[').trim_end_matches(']')).then_some((port, path))
}

/// The container itself, as a command run inside it names it.
pub(crate) fn is_local(host: &str) -> bool {
    matches!(host, "localhost" | "127.0.0.1" | "::1" | "0.0.0.0")
}

#[cfg(test)]
mod tests {
    use super::{recognise as recognise_in, Native};

    fn recognise(command: &[String]) -> Option<Native> {
        recognise_in(command, &Default::default())
    }

    fn argv(s: &str) -> Vec<String> {
        shell_words::split(s).expect("words")
    }
    fn shell(s: &str) -> Vec<String> {
        vec!["sh".into(), "-c".into(), s.into()]
    }
    fn http(port: u16, path: &str) -> Option<Native> {
        Some(Native::Http { port, path: path.into(), head: false })
    }

    #[test]
    fn curl_with_fail_on_a_local_url_is_an_http_get() {
        assert_eq!(recognise(&argv("curl -f http://localhost:8080/health")), http(8080, "/health"));
        assert_eq!(recognise(&argv("curl -fsSL http://127.0.0.1:3000/")), http(3000, "/"));
        assert_eq!(recognise(&argv("/usr/bin/curl --fail --silent http://localhost")), http(80, "/"));
        assert_eq!(recognise(&argv("curl -sf -o /dev/null --max-time 2 http://localhost:9200/_cluster/health?wait_for_status=yellow")), http(9200, "/_cluster/health?wait_for_status=yellow"));
        assert_eq!(recognise(&shell("curl -f http://localhost:8080/health || exit 1")), http(8080, "/health"));
        assert_eq!(recognise(&argv("curl --fail --max-time=3 http://[::1]:8080/ready")), http(8080, "/ready"));
        assert_eq!(recognise(&argv("curl -f http://localhost:8080?x=1")), http(8080, "/?x=1"));
    }

    #[test]
    fn curl_forms_that_check_something_else_run_as_written() {
        for s in [
            "curl http://localhost:8080/health",                  // no -f: any response passes
            "curl -f http://db:8080/health",                      // another host
            "curl -f https://localhost:8443/",                    // TLS
            "curl -f -X POST http://localhost:8080/",             // another request
            "curl -f -H 'Host: x' http://localhost:8080/",
            "curl -f -u a:b http://localhost:8080/",
            "curl -f --retry 3 http://localhost:8080/",
            "curl -fv http://localhost:8080/",
            "curl -f http://u:p@localhost:8080/",
            "curl -f http://localhost:8080/a http://localhost:8080/b",
            "curl -f",
        ] {
            assert_eq!(recognise(&argv(s)), None, "{s}");
        }
        for s in ["curl -f http://localhost:8080/ | grep ok", "curl -f http://localhost:$PORT/", "curl -f http://localhost:8080/ && echo ok"] {
            assert_eq!(recognise(&shell(s)), None, "{s}");
        }
    }

    #[test]
    fn wget_spider_is_a_head_request_and_wget_o_a_get() {
        let head = |port, path: &str| Some(Native::Http { port, path: path.into(), head: true });
        assert_eq!(recognise(&argv("wget -q --spider http://localhost:8080/health")), head(8080, "/health"));
        assert_eq!(recognise(&argv("wget --no-verbose --tries=1 --spider http://localhost:3000/")), head(3000, "/"));
        assert_eq!(recognise(&shell("wget -qO- http://127.0.0.1:8080/ping || exit 1")), http(8080, "/ping"));
        assert_eq!(recognise(&argv("wget -q -O /dev/null -T 2 http://localhost/")), http(80, "/"));
        assert_eq!(recognise(&argv("wget http://localhost:8080/")), None, "downloads into the working directory");
        assert_eq!(recognise(&argv("wget -q --spider --header=X:1 http://localhost:8080/")), None);
        assert_eq!(recognise(&argv("wget -qc --spider http://localhost:8080/")), None);
    }

    #[test]
    fn nc_z_on_the_container_itself_is_a_tcp_connect() {
        assert_eq!(recognise(&argv("nc -z localhost 5432")), Some(Native::Tcp { port: 5432 }));
        assert_eq!(recognise(&argv("nc -zv -w 2 127.0.0.1 6379")), Some(Native::Tcp { port: 6379 }));
        assert_eq!(recognise(&shell("nc -z 0.0.0.0 9092 || exit 1")), Some(Native::Tcp { port: 9092 }));
        assert_eq!(recognise(&argv("nc localhost 5432")), None, "without -z it sends stdin");
        assert_eq!(recognise(&argv("nc -z kafka 9092")), None);
        assert_eq!(recognise(&argv("nc -z localhost http")), None);
        assert_eq!(recognise(&argv("nc -zu localhost 53")), None);
    }

    #[test]
    fn other_commands_run_as_written() {
        for s in ["pg_dump -U postgres", "test -f /ready", "python3 -c 'import socket'", ""] {
            assert_eq!(recognise(&argv(s)), None, "{s}");
        }
        assert_eq!(recognise(&shell("'unterminated")), None);
    }
}
