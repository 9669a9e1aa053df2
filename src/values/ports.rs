//! Published ports: `"80"`, `"8080:80"`, `"127.0.0.1:8080:80"`, `"[::1]:8080:80"`,
//! `"53:53/udp"`, `"9000-9001:9000-9001"`, `"127.0.0.1::80"`.

use std::net::IpAddr;

use serde::Serialize;

/// One published port (ranges are expanded to one spec per port).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortSpec {
    /// Explicit host IP; `None` = devenv's default (127.0.0.1).
    pub host_ip: Option<String>,
    /// Host port; `None` = a random free port chosen by Docker (`"127.0.0.1::80"`).
    pub host_port: Option<u16>,
    /// The end of a host port range published for one container port
    /// (`"8080-8082:80"`): the replicas of a service take one port each, from
    /// `host_port` up (compose gives the engine the range, which does the same).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_port_end: Option<u16>,
    pub container_port: u16,
    /// `"tcp"` or `"udp"`.
    pub protocol: String,
}

/// A short-syntax port entry split into its parts, ranges not yet expanded
/// (shared by `parse_port` and the compose loader, which expands them its own way).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortParts<'a> {
    /// Explicit host IP (brackets removed), validated.
    pub host_ip: Option<String>,
    /// `None`: no host part (`"80"`); `Some("")`: an empty one (`"127.0.0.1::80"`).
    pub host: Option<&'a str>,
    /// The container port or range, as written.
    pub container: &'a str,
    /// Lower-case protocol after `/` (`tcp` when absent); not validated here.
    pub protocol: String,
    /// An empty host IP was written (`":443:443"`, usually `${BIND:-}:443:443`):
    /// read as no address written (`host_ip` is `None`).
    pub blank_ip: bool,
}

/// Splits `[HOST_IP:][HOST:]CONTAINER[/PROTOCOL]` (IPv6 in brackets, or unbracketed
/// when the rest is unambiguous).
pub fn split_port(spec: &str) -> Result<PortParts<'_>, String> {
    let s = spec.trim();
    if s.is_empty() {
        return Err("empty port: expected e.g. \"8080:80\" or \"5432\"".into());
    }
    let (body, protocol) = match s.rsplit_once('/') {
        Some((b, p)) => (b, p.to_ascii_lowercase()),
        None => (s, "tcp".to_string()),
    };

    // Split off the host IP: `[v6]:rest`, `ip:host:container`, `host:container`, `container`.
    let (host_ip, rest): (Option<String>, &str) = if let Some(after) = body.strip_prefix('[') {
        let Some((ip, rest)) = after.split_once(']') else {
            return Err("missing `]` after the IPv6 host address".into());
        };
        let Some(rest) = rest.strip_prefix(':') else {
            return Err("expected `:` after the `[IPv6]` host address".into());
        };
        (Some(check_ip(ip)?), rest)
    } else {
        let parts: Vec<&str> = body.split(':').collect();
        match parts.len() {
            0..=2 => (None, body),
            3 if parts[0].trim().is_empty() => (None, &body[parts[0].len() + 1..]),
            3 => (Some(check_ip(parts[0])?), &body[parts[0].len() + 1..]),
            n => {
                // Unbracketed IPv6: everything before the last two parts.
                let ip_len = parts[..n - 2].join(":").len();
                let ip = &body[..ip_len];
                if ip.parse::<std::net::Ipv6Addr>().is_err() {
                    return Err("too many `:`: expected [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL]".into());
                }
                (Some(ip.to_string()), &body[ip_len + 1..])
            }
        }
    };

    let (host, container) = match rest.split_once(':') {
        Some((h, c)) => (Some(h), c),
        None => (None, rest),
    };
    if container.contains(':') {
        return Err("too many `:`: expected [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL]".into());
    }
    let blank_ip = host_ip.is_none() && body.split(':').count() == 3 && !body.starts_with('[');
    Ok(PortParts { host_ip, host, container, protocol, blank_ip })
}

/// Parses one `ports:` entry. A bare `"5432"` publishes the same port on both sides.
pub fn parse_port(spec: &str) -> Result<Vec<PortSpec>, String> {
    let PortParts { host_ip, host, container, protocol, blank_ip: _ } = split_port(spec)?;
    if protocol != "tcp" && protocol != "udp" {
        return Err(format!("unknown protocol {protocol:?}: expected tcp or udp"));
    }
    let (c_lo, c_hi) = parse_port_range(container, "container")?;
    let host_range = match host {
        // `"5432"`: the same port(s) on the host.
        None => Some((c_lo, c_hi)),
        // `"127.0.0.1::80"`: a random host port.
        Some("") => None,
        Some(h) => Some(parse_port_range(h, "host")?),
    };
    let count = usize::from(c_hi - c_lo) + 1;
    if let (1, Some((h_lo, h_hi))) = (count, host_range)
        && h_hi > h_lo
    {
        // One container port, a range of host ports: one of them each (replicas).
        return Ok(vec![PortSpec { host_ip, host_port: Some(h_lo), host_port_end: Some(h_hi), container_port: c_lo, protocol }]);
    }
    if let Some((h_lo, h_hi)) = host_range {
        let hcount = usize::from(h_hi - h_lo) + 1;
        if hcount != count {
            return Err(format!(
                "host port range {h_lo}-{h_hi} has {hcount} port(s) but container range {c_lo}-{c_hi} has {count}: the lengths must match"
            ));
        }
    }
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        // Both ranges have `count` ports, so the offsets stay in range.
        let off = i as u16;
        out.push(PortSpec {
            host_ip: host_ip.clone(),
            host_port: host_range.map(|(lo, _)| lo + off),
            host_port_end: None,
            container_port: c_lo + off,
            protocol: protocol.clone(),
        });
    }
    Ok(out)
}

fn check_ip(ip: &str) -> Result<String, String> {
    let t = ip.trim();
    if t.is_empty() {
        return Err("empty host IP before `:`".into());
    }
    t.parse::<IpAddr>().map_err(|_| format!("invalid host IP {t:?}"))?;
    Ok(t.to_string())
}

/// `"8000"` or `"8000-8010"` (1..=65535, start ≤ end); `side` names it in errors.
pub fn parse_port_range(s: &str, side: &str) -> Result<(u16, u16), String> {
    match s.split_once('-') {
        Some((lo, hi)) => {
            let lo = parse_one(lo, side)?;
            let hi = parse_one(hi, side)?;
            if lo > hi {
                return Err(format!("invalid {side} port range {lo}-{hi}: the start is after the end"));
            }
            Ok((lo, hi))
        }
        None => {
            let p = parse_one(s, side)?;
            Ok((p, p))
        }
    }
}

fn parse_one(s: &str, side: &str) -> Result<u16, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err(format!("missing {side} port"));
    }
    if !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("invalid {side} port {t:?}: expected a number between 1 and 65535"));
    }
    match t.parse::<u64>() {
        Ok(0) => Err(format!("invalid {side} port 0: ports go from 1 to 65535")),
        Ok(n) if n <= 65535 => Ok(n as u16),
        _ => Err(format!("invalid {side} port {t}: ports go from 1 to 65535")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(ip: Option<&str>, host: Option<u16>, c: u16, proto: &str) -> PortSpec {
        PortSpec { host_ip: ip.map(String::from), host_port: host, host_port_end: None, container_port: c, protocol: proto.into() }
    }

    #[test]
    fn valid_forms() {
        assert_eq!(parse_port("5432").unwrap(), vec![one(None, Some(5432), 5432, "tcp")]);
        assert_eq!(parse_port("8080:80").unwrap(), vec![one(None, Some(8080), 80, "tcp")]);
        assert_eq!(parse_port("127.0.0.1:8080:80").unwrap(), vec![one(Some("127.0.0.1"), Some(8080), 80, "tcp")]);
        assert_eq!(parse_port("[::1]:8080:80").unwrap(), vec![one(Some("::1"), Some(8080), 80, "tcp")]);
        assert_eq!(parse_port("::1:8080:80").unwrap(), vec![one(Some("::1"), Some(8080), 80, "tcp")]);
        assert_eq!(parse_port("53:53/udp").unwrap(), vec![one(None, Some(53), 53, "udp")]);
        assert_eq!(parse_port("53/UDP").unwrap(), vec![one(None, Some(53), 53, "udp")]);
        assert_eq!(parse_port("127.0.0.1::80").unwrap(), vec![one(Some("127.0.0.1"), None, 80, "tcp")]);
        assert_eq!(parse_port(":80").unwrap(), vec![one(None, None, 80, "tcp")]);
        assert_eq!(parse_port(" 65535 ").unwrap(), vec![one(None, Some(65535), 65535, "tcp")]);
        // An empty host IP (`${BIND:-}:443:443`) is no address written.
        assert_eq!(parse_port(":443:443").unwrap(), vec![one(None, Some(443), 443, "tcp")]);
        assert!(split_port(":443:443").unwrap().blank_ip);
        assert!(!split_port("443:443").unwrap().blank_ip && !split_port("127.0.0.1::443").unwrap().blank_ip);
        assert!(!split_port("[::1]:443:443").unwrap().blank_ip);
    }

    #[test]
    fn a_host_range_for_one_container_port_is_kept_for_the_replicas() {
        // compose accepts it (the engine picks a free port of the range): replicas take one each.
        let want = PortSpec { host_ip: None, host_port: Some(8000), host_port_end: Some(8010), container_port: 80, protocol: "tcp".into() };
        assert_eq!(parse_port("8000-8010:80").unwrap(), vec![want]);
    }

    #[test]
    fn ranges() {
        assert_eq!(
            parse_port("9000-9001:9000-9001").unwrap(),
            vec![one(None, Some(9000), 9000, "tcp"), one(None, Some(9001), 9001, "tcp")]
        );
        assert_eq!(
            parse_port("0.0.0.0:8000-8001:9000-9001/udp").unwrap(),
            vec![one(Some("0.0.0.0"), Some(8000), 9000, "udp"), one(Some("0.0.0.0"), Some(8001), 9001, "udp")]
        );
        assert_eq!(parse_port("7000-7002").unwrap().len(), 3);
        assert_eq!(
            parse_port("127.0.0.1::7000-7001").unwrap(),
            vec![one(Some("127.0.0.1"), None, 7000, "tcp"), one(Some("127.0.0.1"), None, 7001, "tcp")]
        );
        assert_eq!(parse_port("1-65535").unwrap().len(), 65535);
    }

    #[test]
    fn invalid() {
        let cases = [
            ("0", "port 0"),
            ("8080:0", "container port 0"),
            ("65536", "65535"),
            ("99999999999999999999999", "65535"),
            ("abc", "invalid container port \"abc\""),
            ("80:abc", "invalid container port"),
            ("", "empty port"),
            ("9000-9002:9000-9001", "lengths must match"),
            ("8000-8010:80-81", "lengths must match"),
            ("9001-9000", "start is after the end"),
            ("80/sctp", "unknown protocol"),
            ("localhost:80:80", "invalid host IP"),
            ("[::1:80:80", "missing `]`"),
            ("[::1]8080:80", "expected `:`"),
            ("1:2:3:4:5", "too many"),
            ("-80", "missing container port"),
            ("+80", "invalid container port"),
            ("127.0.0.1:", "missing container port"),
        ];
        for (spec, want) in cases {
            let err = parse_port(spec).unwrap_err();
            assert!(err.contains(want), "{spec:?}: {err:?} should contain {want:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,30}") {
            let _ = parse_port(&s);
        }

        #[test]
        fn never_panics_portish(s in "[0-9:\\[\\]a-f./\\-]{0,24}") {
            if let Ok(v) = parse_port(&s) {
                proptest::prop_assert!(!v.is_empty());
                for p in v {
                    proptest::prop_assert!(p.container_port > 0);
                }
            }
        }
    }
}
