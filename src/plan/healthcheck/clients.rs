//! Database clients used as healthchecks, read into the check they make:
//! `pg_isready`, `redis-cli … ping`, `mysqladmin ping` and
//! `clickhouse-client --query 'SELECT 1'`, each with the options that pick
//! the server and credentials. Only when the command checks the container
//! itself and every option is understood; an option that changes what
//! passes (redis-cli's `-e`, TLS, a socket path, a URI, a prompt for a
//! password) is not recognised.
//! Pure: words and the service's environment in, a [`Native`] check out.

use indexmap::IndexMap;

use super::{is_local, long_value, Native, RedisAuth, Secret};

/// One option of a client's command line: its spellings, and whether it takes a value.
struct Opt {
    names: &'static [&'static str],
    value: bool,
}

const fn flag(names: &'static [&'static str]) -> Opt {
    Opt { names, value: false }
}
const fn valued(names: &'static [&'static str]) -> Opt {
    Opt { names, value: true }
}

/// A command line read against its options: (first spelling, value) pairs
/// and the positional words.
#[derive(Default)]
struct Parsed<'a> {
    options: Vec<(&'static str, Option<&'a str>)>,
    positional: Vec<&'a str>,
}

impl<'a> Parsed<'a> {
    fn get(&self, name: &str) -> Option<&'a str> {
        self.options.iter().rev().find(|(n, _)| *n == name).and_then(|(_, v)| *v)
    }
}

/// How a client spells its options.
#[derive(Clone, Copy)]
struct Style {
    /// `-p5432` (getopt).
    attached_short: bool,
    /// `--port=5432`.
    long_equals: bool,
    /// Options end at the first positional word (redis-cli: the rest is the command).
    stop_at_positional: bool,
}

/// Read `args` against `opts`; None on an option it does not know.
fn parse<'a>(args: &'a [String], opts: &[Opt], style: Style) -> Option<Parsed<'a>> {
    let mut out = Parsed::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if !a.starts_with('-') || a == "-" {
            out.positional.push(a);
            if style.stop_at_positional {
                out.positional.extend(it.map(String::as_str));
                break;
            }
            continue;
        }
        let (name, inline) = if style.long_equals && a.starts_with("--") { long_value(a) } else { (a.as_str(), None) };
        let (opt, inline) = match opts.iter().find(|o| o.names.contains(&name)) {
            Some(o) => (o, inline),
            // `-p5432`
            None if style.attached_short && !a.starts_with("--") && a.len() > 2 => {
                let o = opts.iter().find(|o| o.value && o.names.contains(&&a[..2]))?;
                (o, Some(&a[2..]))
            }
            None => return None,
        };
        let value = match (opt.value, inline) {
            (true, Some(v)) => Some(v),
            (true, None) => Some(it.next()?.as_str()),
            (false, None) => None,
            (false, Some(_)) => return None,
        };
        out.options.push((opt.names[0], value));
    }
    Some(out)
}

fn port(value: &str) -> Option<u16> {
    value.parse().ok().filter(|p| *p > 0)
}

/// `pg_isready [-h HOST] [-p PORT] [-U USER] [-d DB] [-t SECS] [-q]`, with
/// libpq's `PGHOST`/`PGPORT`/`PGUSER` defaults (user and database change
/// nothing in what pg_isready reports: they are sent as it sends them). Without a host
/// (or with a socket directory) it asks the Unix socket; the native check
/// asks the same server's TCP port (the command as written stays the
/// fallback while that fails).
pub(super) fn pg_isready(args: &[String], env: &IndexMap<String, String>) -> Option<Native> {
    const OPTS: &[Opt] = &[
        valued(&["-h", "--host"]),
        valued(&["-p", "--port"]),
        valued(&["-U", "--username"]),
        valued(&["-d", "--dbname"]),
        valued(&["-t", "--timeout"]),
        flag(&["-q", "--quiet"]),
    ];
    let p = parse(args, OPTS, Style { attached_short: true, long_equals: true, stop_at_positional: false })?;
    if !p.positional.is_empty() || ["PGHOSTADDR", "PGSERVICE", "PGSERVICEFILE"].iter().any(|k| env.contains_key(*k)) {
        return None;
    }
    let from_env = |k: &str| env.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let host = p.get("-h").or_else(|| from_env("PGHOST"));
    if host.is_some_and(|h| !is_local(h) && !h.starts_with('/')) {
        return None;
    }
    let database = p.get("-d");
    // A connection string in `-d` can name another server.
    if database.is_some_and(|d| d.contains('=') || d.starts_with("postgres://") || d.starts_with("postgresql://")) {
        return None;
    }
    if p.get("-t").is_some_and(|t| t.parse::<u32>().is_err()) {
        return None;
    }
    let port = port(p.get("-p").or_else(|| from_env("PGPORT")).unwrap_or("5432"))?;
    let user = p.get("-U").or_else(|| from_env("PGUSER")).unwrap_or("postgres").to_string();
    Some(Native::PgIsReady { port, user, database: database.map(str::to_string) })
}

/// `redis-cli [-h HOST] [-p PORT] [-a PASS | --pass PASS] [--user USER]
/// [-n DB] [--raw] [--no-auth-warning] ping` (or `incr KEY`), optionally
/// `| grep [-q] PONG`; `REDISCLI_AUTH` is its default password.
pub(super) fn redis_cli(args: &[String], env: &IndexMap<String, String>) -> Option<Native> {
    const OPTS: &[Opt] = &[
        valued(&["-h"]),
        valued(&["-p"]),
        valued(&["-a", "--pass"]),
        valued(&["--user"]),
        valued(&["-n"]),
        valued(&["-t"]),
        flag(&["--raw"]),
        flag(&["--no-raw"]),
        flag(&["--no-auth-warning"]),
    ];
    let (args, pong) = match args {
        [cmd @ .., bar, grep, pong] if bar == "|" && grep == "grep" && pong == "PONG" => (cmd, true),
        [cmd @ .., bar, grep, q, pong] if bar == "|" && grep == "grep" && q == "-q" && pong == "PONG" => (cmd, true),
        all => (all, false),
    };
    let p = parse(args, OPTS, Style { attached_short: false, long_equals: false, stop_at_positional: true })?;
    if p.get("-h").is_some_and(|h| !is_local(h)) || p.get("-n").is_some_and(|n| n.parse::<u32>().is_err()) {
        return None;
    }
    let command: Vec<String> = p.positional.iter().map(|w| w.to_string()).collect();
    let known = match command.first().map(|c| c.to_ascii_lowercase()).as_deref() {
        Some("ping") => command.len() == 1 || (command.len() == 2 && !pong),
        Some("incr") => command.len() == 2 && !pong,
        _ => false,
    };
    if !known || command.iter().any(|w| w.contains('|')) {
        return None;
    }
    let password = p.get("-a").map(str::to_string).or_else(|| env.get("REDISCLI_AUTH").cloned());
    let auth = password.map(|password| RedisAuth { user: p.get("--user").map(str::to_string), password: Secret(password) });
    let port = port(p.get("-p").unwrap_or("6379"))?;
    Some(Native::Redis { port, auth, db: p.get("-n").map(str::to_string), command, pong })
}

/// `mysqladmin ping [-h HOST] [-P PORT] [-u USER] [-pPASS | --password=PASS]
/// [--protocol=tcp|socket] [-s|--silent] [--connect-timeout=N]`, `ping` the
/// only command (mysqladmin counts "access denied" as alive only then).
/// `localhost` (the default) means the Unix socket to mysqladmin; the native
/// check asks the TCP port, with the command as written as the fallback.
pub(super) fn mysqladmin(args: &[String], env: &IndexMap<String, String>) -> Option<Native> {
    const OPTS: &[Opt] = &[
        valued(&["-h", "--host"]),
        valued(&["-P", "--port"]),
        valued(&["-u", "--user"]),
        valued(&["--password"]),
        valued(&["--protocol"]),
        valued(&["--connect-timeout", "--connect_timeout"]),
        flag(&["-s", "--silent"]),
    ];
    // `-p` alone (or `--password` without `=`) prompts; `-pPASS` is the password.
    let args: Vec<String> = args.iter().filter(|a| !(a.starts_with("-p") && a.len() > 2)).cloned().collect();
    if args.iter().any(|a| a == "-p" || a == "--password") {
        return None;
    }
    let p = parse(&args, OPTS, Style { attached_short: true, long_equals: true, stop_at_positional: false })?;
    if p.positional != ["ping"] {
        return None;
    }
    if !matches!(p.get("--protocol").map(|v| v.to_ascii_lowercase()).as_deref(), None | Some("tcp") | Some("socket")) {
        return None;
    }
    let host = p.get("-h").or_else(|| env.get("MYSQL_HOST").map(String::as_str)).unwrap_or("localhost");
    if !is_local(host) {
        return None;
    }
    let port = port(p.get("-P").or_else(|| env.get("MYSQL_TCP_PORT").map(String::as_str)).unwrap_or("3306"))?;
    Some(Native::MysqlPing { port })
}

/// `clickhouse-client [--host H] [--port P] [--user U] [--password W]
/// [--database D] --query 'SELECT 1'` (also `clickhouse client …`).
pub(super) fn clickhouse_client(args: &[String]) -> Option<Native> {
    const OPTS: &[Opt] = &[
        valued(&["--host", "-h"]),
        valued(&["--port"]),
        valued(&["--user", "-u"]),
        valued(&["--password"]),
        valued(&["--database", "-d"]),
        valued(&["--query", "-q"]),
        valued(&["--format", "-f"]),
    ];
    let p = parse(args, OPTS, Style { attached_short: false, long_equals: true, stop_at_positional: false })?;
    let query = p.get("--query")?.trim().trim_end_matches(';').trim();
    let select_1 = query.split_whitespace().map(str::to_ascii_lowercase).collect::<Vec<_>>() == ["select", "1"];
    if !p.positional.is_empty() || !select_1 || p.get("--host").is_some_and(|h| !is_local(h)) {
        return None;
    }
    Some(Native::Clickhouse {
        port: port(p.get("--port").unwrap_or("9000"))?,
        user: p.get("--user").unwrap_or("default").to_string(),
        password: Secret(p.get("--password").unwrap_or("").to_string()),
        database: p.get("--database").unwrap_or("").to_string(),
    })
}

#[cfg(test)]
mod tests {
    use indexmap::IndexMap;

    use super::super::{recognise, Native, RedisAuth, Secret};

    fn env(pairs: &[(&str, &str)]) -> IndexMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }
    fn argv(s: &str) -> Vec<String> {
        shell_words::split(s).expect("words")
    }
    fn shell(s: &str) -> Vec<String> {
        vec!["sh".into(), "-c".into(), s.into()]
    }
    fn pg(port: u16, user: &str, database: Option<&str>) -> Option<Native> {
        Some(Native::PgIsReady { port, user: user.into(), database: database.map(str::to_string) })
    }

    #[test]
    fn pg_isready_forms() {
        let none = env(&[]);
        assert_eq!(recognise(&argv("pg_isready"), &none), pg(5432, "postgres", None));
        assert_eq!(recognise(&argv("pg_isready -U app -d shop -h localhost -p 5433 -q -t 2"), &none), pg(5433, "app", Some("shop")));
        assert_eq!(recognise(&argv("/usr/bin/pg_isready --username=app --port=6000 --host /var/run/postgresql"), &none), pg(6000, "app", None));
        assert_eq!(recognise(&argv("pg_isready -Uapp -p5434"), &none), pg(5434, "app", None));
        // Compose's `$${POSTGRES_USER}` reaches the shell as `${POSTGRES_USER}`.
        let written = env(&[("POSTGRES_USER", "app"), ("POSTGRES_DB", "shop")]);
        assert_eq!(recognise(&shell("pg_isready -U ${POSTGRES_USER} -d ${POSTGRES_DB} || exit 1"), &written), pg(5432, "app", Some("shop")));
        assert_eq!(recognise(&shell("pg_isready -U ${POSTGRES_USER}"), &none), None, "unset here: perhaps the image's, unknown");
        // In the exec form nothing expands: the user is literally `${POSTGRES_USER}`, which pg_isready does not check either.
        assert_eq!(recognise(&argv("pg_isready -U ${POSTGRES_USER}"), &none), pg(5432, "${POSTGRES_USER}", None));
        assert_eq!(recognise(&argv("pg_isready"), &env(&[("PGPORT", "5440"), ("PGUSER", "u")])), pg(5440, "u", None));
    }

    #[test]
    fn pg_isready_forms_that_ask_elsewhere_run_as_written() {
        for s in [
            "pg_isready -h db",
            "pg_isready -d 'host=db dbname=x'",
            "pg_isready -d postgresql://db/x",
            "pg_isready -p http",
            "pg_isready -t soon",
            "pg_isready extra",
            "pg_isready -x",
            "pg_isready -U",
        ] {
            assert_eq!(recognise(&argv(s), &env(&[])), None, "{s}");
        }
        assert_eq!(recognise(&argv("pg_isready"), &env(&[("PGHOST", "db")])), None);
        assert_eq!(recognise(&argv("pg_isready"), &env(&[("PGSERVICE", "x")])), None);
    }

    #[test]
    fn redis_cli_forms() {
        let redis = |port, auth: Option<(Option<&str>, &str)>, db: Option<&str>, command: &str, pong| {
            let auth = auth.map(|(user, p)| RedisAuth { user: user.map(str::to_string), password: Secret(p.into()) });
            Some(Native::Redis { port, auth, db: db.map(str::to_string), command: argv(command), pong })
        };
        let none = env(&[]);
        assert_eq!(recognise(&argv("redis-cli ping"), &none), redis(6379, None, None, "ping", false));
        assert_eq!(recognise(&argv("redis-cli --raw incr ping"), &none), redis(6379, None, None, "incr ping", false));
        assert_eq!(recognise(&argv("redis-cli -h 127.0.0.1 -p 6380 -a s3cret --user app -n 2 --no-auth-warning PING"), &none), redis(6380, Some((Some("app"), "s3cret")), Some("2"), "PING", false));
        assert_eq!(recognise(&shell("redis-cli -a $REDIS_PASSWORD ping | grep PONG"), &env(&[("REDIS_PASSWORD", "pw")])), redis(6379, Some((None, "pw")), None, "ping", true));
        assert_eq!(recognise(&shell("redis-cli ping | grep -q PONG || exit 1"), &none), redis(6379, None, None, "ping", true));
        assert_eq!(recognise(&argv("redis-cli ping"), &env(&[("REDISCLI_AUTH", "pw")])), redis(6379, Some((None, "pw")), None, "ping", false));
        for s in [
            "redis-cli -e ping",           // error replies then exit 1
            "redis-cli -h cache ping",
            "redis-cli -u redis://localhost ping",
            "redis-cli -s /tmp/redis.sock ping",
            "redis-cli --tls ping",
            "redis-cli -p6380 ping",       // not an option to redis-cli: the command
            "redis-cli get ping",
            "redis-cli ping | grep -v PONG",
            "redis-cli incr ping | grep PONG",
            "redis-cli",
        ] {
            assert_eq!(recognise(&shell(s), &none), None, "{s}");
        }
    }

    #[test]
    fn mysqladmin_ping_forms() {
        let none = env(&[]);
        let mysql = |port| Some(Native::MysqlPing { port });
        assert_eq!(recognise(&argv("mysqladmin ping -h localhost"), &none), mysql(3306));
        assert_eq!(recognise(&argv("mysqladmin ping -h 127.0.0.1 -P 3307 -u root -psecret --silent"), &none), mysql(3307));
        assert_eq!(recognise(&shell("mysqladmin ping -h 127.0.0.1 -uroot --password=$MYSQL_ROOT_PASSWORD"), &env(&[("MYSQL_ROOT_PASSWORD", "pw")])), mysql(3306));
        assert_eq!(recognise(&argv("mariadb-admin --protocol=tcp -P3310 ping"), &none), mysql(3310));
        for s in [
            "mysqladmin ping -p",              // prompts for a password
            "mysqladmin ping --password",
            "mysqladmin ping -h db",
            "mysqladmin status",
            "mysqladmin ping status",          // "access denied" is alive only for a lone ping
            "mysqladmin ping --protocol=pipe",
            "mysqladmin ping --wait",
        ] {
            assert_eq!(recognise(&argv(s), &none), None, "{s}");
        }
        assert_eq!(recognise(&shell("mysqladmin ping -p$MYSQL_ROOT_PASSWORD"), &env(&[("MYSQL_ROOT_PASSWORD", "")])), None, "-p alone: a prompt");
    }

    #[test]
    fn clickhouse_client_select_1_forms() {
        let none = env(&[]);
        let ch = |port, user: &str, password: &str, database: &str| Some(Native::Clickhouse { port, user: user.into(), password: Secret(password.into()), database: database.into() });
        assert_eq!(recognise(&argv("clickhouse-client --query 'SELECT 1'"), &none), ch(9000, "default", "", ""));
        assert_eq!(recognise(&argv("clickhouse client -q 'select 1;'"), &none), ch(9000, "default", "", ""));
        assert_eq!(recognise(&argv("clickhouse-client --host localhost --port=9001 --user app --password pw -d db --query='SELECT 1'"), &none), ch(9001, "app", "pw", "db"));
        for s in [
            "clickhouse-client --query 'SELECT 2'",
            "clickhouse-client --query 'SELECT 1' --secure",
            "clickhouse-client --host ch --query 'SELECT 1'",
            "clickhouse-client",
            "clickhouse server --query 'SELECT 1'",
        ] {
            assert_eq!(recognise(&argv(s), &none), None, "{s}");
        }
    }
}
