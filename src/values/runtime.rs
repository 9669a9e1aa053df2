//! Runtime options of a service as Docker takes them: restart policy, exposed
//! ports, extra `/etc/hosts` entries, tmpfs mounts, sizes, stop signals,
//! capabilities, ulimit names, container and host names, resource limits.
//!
//! Pure parsing and normalizing of the strings the environment file holds:
//! `config::validate` parses each once (onto `ServiceSpec::parsed`) and turns
//! a failure into a positioned error; `plan` copies the parsed forms, `docker`
//! maps them onto the create body.

use std::fmt;
use std::net::IpAddr;

use serde::Serialize;

use super::ports::parse_port;

/// Docker's restart policy names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartName {
    No,
    Always,
    OnFailure,
    UnlessStopped,
}

/// A parsed `restart:` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestartPolicy {
    pub name: RestartName,
    /// `on-failure:N`: give up after N restarts.
    pub max_retries: Option<u32>,
}

/// CPU, memory and process limits as Docker's HostConfig takes them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Resources {
    /// CPUs × 10⁹ (`NanoCpus`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nano_cpus: Option<i64>,
    /// Bytes (`Memory`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<i64>,
    /// Bytes (`MemoryReservation`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_reservation: Option<i64>,
    /// `PidsLimit`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pids: Option<i64>,
}

impl Resources {
    pub fn is_empty(&self) -> bool {
        *self == Resources::default()
    }
}

/// A CPU count (`0.5`, `2`) as nano-CPUs.
pub fn parse_cpus(s: &str) -> Result<i64, String> {
    match s.trim().parse::<f64>() {
        Ok(n) if n.is_finite() && n >= 0.0 && n < 1e9 => Ok((n * 1e9).round() as i64),
        _ => Err(format!("invalid CPU count {s:?}: expected a number such as 0.5 or 2")),
    }
}

/// The values `restart:` takes (for hints).
pub const RESTART_VALUES: &[&str] = &["no", "always", "on-failure", "unless-stopped"];

impl fmt::Display for RestartPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.name {
            RestartName::No => "no",
            RestartName::Always => "always",
            RestartName::OnFailure => "on-failure",
            RestartName::UnlessStopped => "unless-stopped",
        };
        match self.max_retries {
            Some(n) => write!(f, "{name}:{n}"),
            None => f.write_str(name),
        }
    }
}

impl Serialize for RestartPolicy {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// `no` | `always` | `on-failure` | `on-failure:N` | `unless-stopped`.
pub fn parse_restart(s: &str) -> Result<RestartPolicy, String> {
    let t = s.trim();
    let (name, retries) = match t.split_once(':') {
        Some((n, r)) => (n, Some(r)),
        None => (t, None),
    };
    let name = match name {
        "no" => RestartName::No,
        "always" => RestartName::Always,
        "on-failure" => RestartName::OnFailure,
        "unless-stopped" => RestartName::UnlessStopped,
        other => return Err(format!("unknown restart policy {other:?}")),
    };
    let max_retries = match retries {
        None => None,
        Some(_) if name != RestartName::OnFailure => {
            return Err(format!("only `on-failure` takes a retry count (`on-failure:3`), not {t:?}"));
        }
        Some(r) => Some(r.trim().parse::<u32>().map_err(|_| format!("the retry count in {t:?} must be a whole number"))?),
    };
    Ok(RestartPolicy { name, max_retries })
}

/// One `expose:` entry → Docker's `port/proto` keys (ranges expanded).
pub fn parse_expose(s: &str) -> Result<Vec<String>, String> {
    let t = s.trim();
    if t.contains(':') {
        return Err("`expose` takes container ports only (no host side); publish with `ports:`".into());
    }
    let ports = parse_port(t)?;
    Ok(ports.into_iter().map(|p| format!("{}/{}", p.container_port, p.protocol)).collect())
}

/// `host:ip` or `host=ip` (ip may be `[v6]` or `host-gateway`) → `host:ip`.
pub fn parse_extra_host(s: &str) -> Result<String, String> {
    let t = s.trim();
    let (host, ip) = t
        .split_once('=')
        .or_else(|| t.split_once(':'))
        .ok_or_else(|| "expected `host:ip` (or `host=ip`)".to_string())?;
    let (host, ip) = (host.trim(), ip.trim());
    if host.is_empty() || !valid_hostname(host) {
        return Err(format!("invalid host name {host:?}"));
    }
    let ip = ip.strip_prefix('[').and_then(|i| i.strip_suffix(']')).unwrap_or(ip);
    if ip != "host-gateway" && ip.parse::<IpAddr>().is_err() {
        return Err(format!("{ip:?} is not an IP address (or `host-gateway`)"));
    }
    Ok(format!("{host}:{ip}"))
}

/// `"/run"` or `"/tmp:size=64m,mode=1777"` → (path, mount options).
pub fn parse_tmpfs(s: &str) -> Result<(String, String), String> {
    let t = s.trim();
    let (path, options) = t.split_once(':').unwrap_or((t, ""));
    if !path.starts_with('/') {
        return Err(format!("tmpfs path {path:?} must be absolute (start with `/`)"));
    }
    for opt in options.split(',').filter(|o| !o.is_empty()) {
        match opt.split_once('=') {
            Some(("size", v)) if !v.ends_with('%') => {
                parse_size(v).map_err(|e| format!("tmpfs option `{opt}`: {e}"))?;
            }
            Some(("mode", v)) if v.is_empty() || !v.bytes().all(|b| (b'0'..=b'7').contains(&b)) => {
                return Err(format!("tmpfs option `{opt}`: the mode must be octal, e.g. `mode=1777`"));
            }
            _ => {}
        }
    }
    Ok((path.to_string(), options.to_string()))
}

/// A size as Docker reads it: bytes, or `64m`, `1g`, `512k`, `1.5GiB` (binary multiples).
pub fn parse_size(s: &str) -> Result<i64, String> {
    let t = s.trim();
    let num_end = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let number: f64 = t[..num_end].parse().map_err(|_| format!("invalid size {s:?}: expected e.g. 64m or 1g"))?;
    let unit = t[num_end..].trim_start().to_ascii_lowercase();
    let unit = unit.strip_suffix('b').unwrap_or(&unit);
    let unit = unit.strip_suffix('i').unwrap_or(unit);
    let factor: f64 = match unit {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024.0 * 1024.0,
        "g" => 1024.0 * 1024.0 * 1024.0,
        "t" => 1024f64.powi(4),
        "p" => 1024f64.powi(5),
        _ => return Err(format!("invalid size {s:?}: unknown unit (use b, k, m, g)")),
    };
    let bytes = number * factor;
    if !bytes.is_finite() || bytes >= i64::MAX as f64 {
        return Err(format!("size {s:?} is too large"));
    }
    Ok(bytes as i64)
}

/// Signal names Docker understands (without the `SIG` prefix).
pub const SIGNALS: &[&str] = &[
    "ABRT", "ALRM", "BUS", "CHLD", "CLD", "CONT", "FPE", "HUP", "ILL", "INT", "IO", "IOT", "KILL", "PIPE", "POLL", "PROF", "PWR", "QUIT",
    "SEGV", "STKFLT", "STOP", "SYS", "TERM", "TRAP", "TSTP", "TTIN", "TTOU", "URG", "USR1", "USR2", "VTALRM", "WINCH", "XCPU", "XFSZ",
    "RTMIN", "RTMAX",
];

/// `SIGTERM`, `TERM`, `sigint`, `RTMIN+3` or a number 1–64, as Docker accepts them.
pub fn check_signal(s: &str) -> Result<(), String> {
    let t = s.trim();
    if let Ok(n) = t.parse::<u32>() {
        return if (1..=64).contains(&n) { Ok(()) } else { Err(format!("signal number {n} is out of range (1-64)")) };
    }
    let upper = t.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    let realtime = ["RTMIN+", "RTMAX-"]
        .iter()
        .any(|p| name.strip_prefix(p).and_then(|n| n.parse::<u32>().ok()).is_some_and(|n| (1..=15).contains(&n)));
    if SIGNALS.contains(&name) || realtime {
        Ok(())
    } else {
        Err(format!("unknown signal {t:?}"))
    }
}

/// Linux capabilities (without `CAP_`), and `ALL`.
pub const CAPABILITIES: &[&str] = &[
    "ALL", "AUDIT_CONTROL", "AUDIT_READ", "AUDIT_WRITE", "BLOCK_SUSPEND", "BPF", "CHECKPOINT_RESTORE", "CHOWN", "DAC_OVERRIDE",
    "DAC_READ_SEARCH", "FOWNER", "FSETID", "IPC_LOCK", "IPC_OWNER", "KILL", "LEASE", "LINUX_IMMUTABLE", "MAC_ADMIN", "MAC_OVERRIDE",
    "MKNOD", "NET_ADMIN", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_RAW", "PERFMON", "SETFCAP", "SETGID", "SETPCAP", "SETUID",
    "SYSLOG", "SYS_ADMIN", "SYS_BOOT", "SYS_CHROOT", "SYS_MODULE", "SYS_NICE", "SYS_PACCT", "SYS_PTRACE", "SYS_RAWIO",
    "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "WAKE_ALARM",
];

/// `NET_ADMIN`, `cap_net_admin`, `ALL` → the name without `CAP_`, upper case; `None` if unknown.
pub fn capability(s: &str) -> Option<String> {
    let upper = s.trim().to_ascii_uppercase();
    let name = upper.strip_prefix("CAP_").unwrap_or(&upper);
    CAPABILITIES.contains(&name).then(|| name.to_string())
}

/// Resource limits Docker can set.
pub const ULIMITS: &[&str] = &[
    "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending",
    "stack",
];

/// Docker's rule for container names: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
pub fn valid_container_name(s: &str) -> bool {
    s.len() >= 2 && super::volumes::valid_name(s)
}

/// A host name: dot-separated labels of letters, digits, `-` and `_`, at most 64 characters (the kernel's limit).
pub fn valid_hostname(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.split('.').all(|label| {
            !label.is_empty() && !label.starts_with('-') && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_policies() {
        assert_eq!(parse_restart("always").unwrap(), RestartPolicy { name: RestartName::Always, max_retries: None });
        assert_eq!(parse_restart("on-failure:5").unwrap(), RestartPolicy { name: RestartName::OnFailure, max_retries: Some(5) });
        assert_eq!(parse_restart("on-failure:5").unwrap().to_string(), "on-failure:5");
        assert_eq!(parse_restart("unless-stopped").unwrap().to_string(), "unless-stopped");
        assert_eq!(parse_restart("no").unwrap().name, RestartName::No);
        assert!(parse_restart("sometimes").unwrap_err().contains("unknown restart policy"));
        assert!(parse_restart("always:3").unwrap_err().contains("only `on-failure`"));
        assert!(parse_restart("on-failure:x").unwrap_err().contains("whole number"));
    }

    #[test]
    fn expose_entries() {
        assert_eq!(parse_expose("3000").unwrap(), vec!["3000/tcp"]);
        assert_eq!(parse_expose("9000/udp").unwrap(), vec!["9000/udp"]);
        assert_eq!(parse_expose("8000-8002").unwrap(), vec!["8000/tcp", "8001/tcp", "8002/tcp"]);
        assert!(parse_expose("80:80").unwrap_err().contains("ports:"));
        assert!(parse_expose("http").is_err());
        assert!(parse_expose("70000").is_err());
    }

    #[test]
    fn extra_hosts_normalize_to_host_colon_ip() {
        assert_eq!(parse_extra_host("db.local:10.0.0.5").unwrap(), "db.local:10.0.0.5");
        assert_eq!(parse_extra_host("db=10.0.0.5").unwrap(), "db:10.0.0.5");
        assert_eq!(parse_extra_host("v6=::1").unwrap(), "v6:::1");
        assert_eq!(parse_extra_host("v6:[::1]").unwrap(), "v6:::1");
        assert_eq!(parse_extra_host("host.docker.internal:host-gateway").unwrap(), "host.docker.internal:host-gateway");
        assert!(parse_extra_host("nohost").is_err());
        assert!(parse_extra_host("db:not-an-ip").unwrap_err().contains("not an IP"));
        assert!(parse_extra_host(":10.0.0.1").unwrap_err().contains("host name"));
    }

    #[test]
    fn tmpfs_mounts() {
        assert_eq!(parse_tmpfs("/run").unwrap(), ("/run".into(), String::new()));
        assert_eq!(parse_tmpfs("/tmp:size=64m,mode=1777").unwrap(), ("/tmp".into(), "size=64m,mode=1777".into()));
        assert!(parse_tmpfs("tmp").unwrap_err().contains("absolute"));
        assert!(parse_tmpfs("/tmp:size=lots").unwrap_err().contains("size"));
        assert!(parse_tmpfs("/tmp:mode=rwx").unwrap_err().contains("octal"));
    }

    #[test]
    fn sizes_are_binary_multiples() {
        assert_eq!(parse_size("1024").unwrap(), 1024);
        assert_eq!(parse_size("64m").unwrap(), 64 << 20);
        assert_eq!(parse_size("1g").unwrap(), 1 << 30);
        assert_eq!(parse_size("1GB").unwrap(), 1 << 30);
        assert_eq!(parse_size("512 KiB").unwrap(), 512 << 10);
        assert_eq!(parse_size("1.5g").unwrap(), 3 << 29);
        assert!(parse_size("big").is_err());
        assert!(parse_size("3x").is_err());
    }

    #[test]
    fn signals_like_docker() {
        for ok in ["SIGTERM", "TERM", "sigint", "SIGRTMIN+3", "9", "USR1"] {
            assert!(check_signal(ok).is_ok(), "{ok}");
        }
        for bad in ["SIGFOO", "0", "65", "RTMIN+16", ""] {
            assert!(check_signal(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names() {
        assert!(valid_container_name("my-db_1.x"));
        assert!(!valid_container_name("a"));
        assert!(!valid_container_name("-db"));
        assert!(!valid_container_name("my db"));
        assert!(valid_hostname("db.internal"));
        assert!(!valid_hostname("bad host"));
        assert!(!valid_hostname(&"a".repeat(65)));
        assert_eq!(capability("cap_net_admin").as_deref(), Some("NET_ADMIN"));
        assert_eq!(capability("ALL").as_deref(), Some("ALL"));
        assert_eq!(capability("NET_ADMINS"), None);
    }
}
