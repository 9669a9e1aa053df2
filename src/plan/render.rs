//! A plan written back as an environment file: what `devenv config` prints.
//!
//! Owns: turning a resolved service into the `devenv.yaml` shape it came
//! from — preset defaults merged in, references resolved, ports and volumes
//! as the strings the file takes, readiness in `health:` form, `export:` and
//! seeds as written — so the output loads again and resolves to the same
//! plan. Must not: mask secrets (the caller's job), read disk or Docker.

use std::path::Path;

use indexmap::IndexMap;

use super::model::{Plan, Probe, ResolvedHealth, ResolvedService};
use crate::config::{
    CommandSpec, DependsOn, DurationSpec, EnvMap, EnvSpec, HealthSpec, LoadedEnv, LongVolume, LongVolumeKind, ServiceSpec, UlimitSpec, VolumeEntry,
};
use crate::values::{PortSpec, VolumeSpec};

/// The environment file `plan` resolves from, written out in full. Literal
/// `$` in resolved values is written `$$`, so loading it again interpolates
/// nothing.
pub fn to_file(env: &LoadedEnv, plan: &Plan) -> EnvSpec {
    let mut out = env.spec.clone();
    out.name = Some(plan.project.clone());
    out.services = plan
        .services
        .iter()
        .filter_map(|(name, svc)| env.spec.services.get(name).map(|spec| (name.clone(), service(spec, svc, &plan.dir))))
        .collect();
    // `volumes: {data: }` loads as null; write an empty map instead.
    for v in out.volumes.values_mut() {
        if v.is_none() {
            *v = Some(crate::config::NamedVolumeSpec::default());
        }
    }
    out
}

/// One service: the resolved fields over what was written.
fn service(spec: &ServiceSpec, svc: &ResolvedService, dir: &Path) -> ServiceSpec {
    let mut out = spec.clone();
    if spec.build.is_none() {
        out.image = Some(svc.image.clone());
    }
    out.command = svc.command.clone().map(CommandSpec::Exec);
    out.entrypoint = svc.entrypoint.clone().map(CommandSpec::Exec);
    out.env = EnvMap(svc.env.iter().map(|(k, v)| (k.clone(), Some(escape(v)))).collect());
    // Its variables are in `env` now.
    out.env_file = vec![];
    if let Some(b) = &mut out.build {
        b.args = EnvMap(svc.build.iter().flat_map(|rb| &rb.args).map(|(k, v)| (k.clone(), Some(escape(v)))).collect());
    }
    out.ports = svc.ports.iter().map(port).collect();
    // `secrets` / `configs` from a file are read-only binds at their targets; written once, as the file has them.
    let mounted: Vec<String> = spec.secrets.iter().map(|u| u.target_in("/run/secrets/")).chain(spec.configs.iter().map(|u| u.target_in("/"))).collect();
    out.volumes = svc.volumes.iter().filter(|v| !(matches!(v, VolumeSpec::Bind { .. }) && mounted.iter().any(|t| t == v.target()))).map(|v| volume_entry(v, dir)).collect();
    out.depends_on = DependsOn(svc.depends_on.clone());
    out.health = health(spec.health.as_ref(), svc);
    out.labels = EnvMap(svc.labels.iter().map(|(k, v)| (k.clone(), Some(v.clone()))).collect());
    out.ulimits = svc.ulimits.iter().map(|(n, soft, hard)| (n.clone(), UlimitSpec { soft: *soft, hard: *hard })).collect::<IndexMap<_, _>>();
    out
}

/// `$` → `$$`: the value as the file must spell it to mean itself.
fn escape(v: &str) -> String {
    v.replace('$', "$$")
}

/// `[host_ip:][host_port:]container[/protocol]`, as `ports:` takes it.
pub fn port(p: &PortSpec) -> String {
    let mut s = String::new();
    if let Some(ip) = &p.host_ip {
        s.push_str(&format!("{ip}:"));
        if p.host_port.is_none() {
            s.push(':');
        }
    }
    match (p.host_port, p.host_port_end) {
        (Some(h), Some(end)) => s.push_str(&format!("{h}-{end}:")),
        (Some(h), None) => s.push_str(&format!("{h}:")),
        // A random host port: `:80` (a bare `80` would publish 80 itself).
        (None, _) if p.host_ip.is_none() => s.push(':'),
        (None, _) => {}
    }
    s.push_str(&p.container_port.to_string());
    if p.protocol != "tcp" {
        s.push_str(&format!("/{}", p.protocol));
    }
    s
}

/// `name:/path[:ro]`, `./dir:/path[:ro]` (relative to the file when under its
/// directory), or `/path` (anonymous).
/// A volume as `volumes:` takes it: the short string, or the long form when a
/// path has a `:` the short one would split at.
fn volume_entry(v: &VolumeSpec, dir: &Path) -> VolumeEntry {
    match v {
        VolumeSpec::Bind { source, target, read_only } => {
            let src = host_source(source, dir);
            if src.contains(':') || target.contains(':') {
                return VolumeEntry::Long(LongVolume { kind: LongVolumeKind::Bind, source: Some(src), target: target.clone(), read_only: *read_only });
            }
            VolumeEntry::Short(volume(v, dir))
        }
        _ => VolumeEntry::Short(volume(v, dir)),
    }
}

pub fn volume(v: &VolumeSpec, dir: &Path) -> String {
    let ro = |r: bool| if r { ":ro" } else { "" };
    match v {
        VolumeSpec::Named { name, target, read_only } => format!("{name}:{target}{}", ro(*read_only)),
        VolumeSpec::Bind { source, target, read_only } => format!("{}:{target}{}", host_source(source, dir), ro(*read_only)),
        VolumeSpec::Anonymous { target } => target.clone(),
    }
}

/// A bind source relative to the file's directory (`./x`) when it is under it.
fn host_source(source: &Path, dir: &Path) -> String {
    match source.strip_prefix(dir) {
        Ok(rel) if rel.as_os_str().is_empty() => ".".to_string(),
        Ok(rel) => format!("./{}", rel.display()),
        Err(_) => source.display().to_string(),
    }
}

/// Readiness as `health:` takes it: the written probe (an `http` probe with
/// its port), a preset's protocol probe named, and the timing in force.
fn health(written: Option<&HealthSpec>, svc: &ResolvedService) -> Option<HealthSpec> {
    let Some(r) = &svc.health else {
        // Disabled (or nothing to wait for): keep what was written, if anything.
        return written.cloned();
    };
    let mut h = written.cloned().unwrap_or_default();
    match &r.probe {
        Probe::Http { port, .. } => h.port = Some(*port),
        Probe::Preset(conn) if h.probes().is_empty() => h.protocol = Some(conn.kind.name().to_string()),
        _ => {}
    }
    timing(&mut h, r);
    Some(h)
}

fn timing(h: &mut HealthSpec, r: &ResolvedHealth) {
    h.interval = Some(DurationSpec(r.interval));
    h.timeout = Some(DurationSpec(r.timeout));
    h.retries = r.retries;
    h.start_period = r.start_period.map(DurationSpec);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_and_volumes_are_written_as_the_file_takes_them() {
        let p = |ip: Option<&str>, h: Option<u16>, c: u16, proto: &str| PortSpec {
            host_ip: ip.map(String::from),
            host_port: h,
            host_port_end: None,
            container_port: c,
            protocol: proto.into(),
        };
        assert_eq!(port(&p(Some("127.0.0.1"), Some(5432), 5432, "tcp")), "127.0.0.1:5432:5432");
        let range = PortSpec { host_port_end: Some(8010), ..p(None, Some(8000), 80, "tcp") };
        assert_eq!(port(&range), "8000-8010:80");
        assert_eq!(port(&p(None, Some(8080), 80, "tcp")), "8080:80");
        // A random host port: `:53/udp` (`53/udp` would load back as host port 53).
        assert_eq!(port(&p(None, None, 53, "udp")), ":53/udp");
        assert_eq!(crate::values::parse_port(&port(&p(None, None, 53, "udp"))).unwrap(), [p(None, None, 53, "udp")]);
        assert_eq!(port(&p(Some("127.0.0.1"), None, 80, "tcp")), "127.0.0.1::80");
        let dir = Path::new("/p");
        let named = VolumeSpec::Named { name: "db-data".into(), target: "/data".into(), read_only: false };
        assert_eq!(volume(&named, dir), "db-data:/data");
        let bind = VolumeSpec::Bind { source: "/p/app".into(), target: "/app".into(), read_only: true };
        assert_eq!(volume(&bind, dir), "./app:/app:ro");
        let outside = VolumeSpec::Bind { source: "/etc/x".into(), target: "/x".into(), read_only: false };
        assert_eq!(volume(&outside, dir), "/etc/x:/x");
        assert_eq!(volume(&VolumeSpec::Anonymous { target: "/cache".into() }, dir), "/cache");
        // A `:` in the path: the long form, which is never split.
        let colon = VolumeSpec::Bind { source: "/p/data:v1".into(), target: "/data".into(), read_only: false };
        let long = LongVolume { kind: LongVolumeKind::Bind, source: Some("./data:v1".into()), target: "/data".into(), read_only: false };
        assert_eq!(volume_entry(&colon, dir), VolumeEntry::Long(long));
        assert_eq!(volume_entry(&bind, dir), "./app:/app:ro");
        assert_eq!(escape("a$b"), "a$$b");
    }
}
