//! Volume entries: `name:/path[:ro]` (named), `./dir:/path[:ro]` (bind), `/path` (anonymous).

use std::path::{Component, Path, PathBuf};

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum VolumeSpec {
    /// A named volume (persists across `down`/`up`).
    Named { name: String, target: String, read_only: bool },
    /// A host directory or file; `source` is absolute (resolved against the env file's dir).
    Bind { source: PathBuf, target: String, read_only: bool },
    /// An anonymous volume (`/path`).
    Anonymous { target: String },
}

impl VolumeSpec {
    pub fn target(&self) -> &str {
        match self {
            VolumeSpec::Named { target, .. } | VolumeSpec::Bind { target, .. } | VolumeSpec::Anonymous { target } => target,
        }
    }
}

/// Parses one `volumes:` entry; relative bind sources are resolved against
/// `base_dir`, `~` against `home` (the caller reads `$HOME`).
pub fn parse_volume_with_home(spec: &str, base_dir: &Path, home: Option<&Path>) -> Result<VolumeSpec, String> {
    let (source, target, opts) = split_volume(spec)?;
    check_target(target)?;
    let mut read_only = false;
    if let Some(opts) = opts {
        let mut seen_ro = false;
        let mut seen_rw = false;
        for o in opts.split(',') {
            match o.trim() {
                "ro" | "readonly" => seen_ro = true,
                "rw" => seen_rw = true,
                "z" | "Z" | "cached" | "delegated" | "consistent" => {}
                "" => return Err("empty volume option".into()),
                other => {
                    return Err(format!(
                        "unknown volume option {other:?}: expected ro or rw (z, Z, cached, delegated are accepted and ignored)"
                    ));
                }
            }
        }
        if seen_ro && seen_rw {
            return Err("volume options `ro` and `rw` contradict each other".into());
        }
        read_only = seen_ro;
    }
    let Some(source) = source else {
        return Ok(VolumeSpec::Anonymous { target: target.to_string() });
    };
    if source.is_empty() {
        return Err("empty volume source before `:`".into());
    }
    if source.starts_with('.') || source.starts_with('/') || source.starts_with('~') {
        return Ok(VolumeSpec::Bind { source: host_path(source, base_dir, home)?, target: target.to_string(), read_only });
    }
    if !valid_name(source) {
        return Err(format!(
            "invalid volume name {source:?}: names use letters, digits, `_`, `.` and `-` and start with a letter or digit (start a host path with `./` or `/`)"
        ));
    }
    Ok(VolumeSpec::Named { name: source.to_string(), target: target.to_string(), read_only })
}

/// A bind mount's host path, absolute: `~/…` against `home`, a relative path
/// against `base_dir` (the path is taken whole: a `:` in it is part of the name).
pub fn host_path(source: &str, base_dir: &Path, home: Option<&Path>) -> Result<PathBuf, String> {
    let path = if source == "~" || source.starts_with("~/") {
        let Some(home) = home else {
            return Err(format!("cannot expand {source:?}: HOME is not set"));
        };
        home.join(source.trim_start_matches('~').trim_start_matches('/'))
    } else if source.starts_with('~') {
        return Err(format!("cannot expand {source:?}: only `~/…` (the current user's home) is supported"));
    } else {
        base_dir.join(source)
    };
    Ok(normalize(&path))
}

/// Splits a short-syntax volume entry into `(SOURCE, TARGET, OPTIONS)`: `/path`
/// (anonymous), `SOURCE:TARGET` or `SOURCE:TARGET:OPTIONS`. Nothing is validated
/// beyond the shape (shared with the compose loader, which reads options its own way).
pub fn split_volume(spec: &str) -> Result<(Option<&str>, &str, Option<&str>), String> {
    let s = spec.trim();
    if s.is_empty() {
        return Err("empty volume: expected e.g. \"data:/var/lib/data\" or \"./src:/app/src\"".into());
    }
    let parts: Vec<&str> = s.split(':').collect();
    match parts.as_slice() {
        [target] => Ok((None, *target, None)),
        [source, target] => Ok((Some(*source), *target, None)),
        [source, target, opts] => Ok((Some(*source), *target, Some(*opts))),
        _ => Err("too many `:`: expected SOURCE:TARGET[:OPTIONS] or an absolute container path".into()),
    }
}

/// A container path: present and absolute.
pub fn check_target(target: &str) -> Result<(), String> {
    if target.is_empty() {
        return Err("missing container path".into());
    }
    if !target.starts_with('/') {
        return Err(format!("container path {target:?} must be absolute (start with `/`)"));
    }
    Ok(())
}

/// `[a-zA-Z0-9][a-zA-Z0-9_.-]*`
pub fn valid_name(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphanumeric() => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-')
}

/// Lexical normalization: drops `.`, resolves `..` (never above the root).
pub fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                let popped = matches!(out.components().next_back(), Some(Component::Normal(_))) && out.pop();
                if !popped && !out.has_root() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> &'static Path {
        Path::new("/home/u/proj")
    }

    fn parse(s: &str) -> Result<VolumeSpec, String> {
        parse_volume_with_home(s, base(), Some(Path::new("/home/u")))
    }

    #[test]
    fn named() {
        assert_eq!(
            parse("db-data:/var/lib/postgresql/data").unwrap(),
            VolumeSpec::Named { name: "db-data".into(), target: "/var/lib/postgresql/data".into(), read_only: false }
        );
        assert_eq!(parse("cache_1.x:/c:ro").unwrap(), VolumeSpec::Named { name: "cache_1.x".into(), target: "/c".into(), read_only: true });
    }

    #[test]
    fn binds() {
        assert_eq!(
            parse("./src:/app/src").unwrap(),
            VolumeSpec::Bind { source: "/home/u/proj/src".into(), target: "/app/src".into(), read_only: false }
        );
        assert_eq!(
            parse("../shared/./x:/x:ro,z").unwrap(),
            VolumeSpec::Bind { source: "/home/u/shared/x".into(), target: "/x".into(), read_only: true }
        );
        assert_eq!(
            parse("/etc/hosts:/etc/hosts:rw").unwrap(),
            VolumeSpec::Bind { source: "/etc/hosts".into(), target: "/etc/hosts".into(), read_only: false }
        );
        assert_eq!(
            parse("~/.cache:/root/.cache:cached").unwrap(),
            VolumeSpec::Bind { source: "/home/u/.cache".into(), target: "/root/.cache".into(), read_only: false }
        );
        assert_eq!(parse(".:/app").unwrap(), VolumeSpec::Bind { source: "/home/u/proj".into(), target: "/app".into(), read_only: false });
        assert_eq!(parse("/../..:/x").unwrap(), VolumeSpec::Bind { source: "/".into(), target: "/x".into(), read_only: false });
    }

    #[test]
    fn anonymous() {
        assert_eq!(parse("/var/cache").unwrap(), VolumeSpec::Anonymous { target: "/var/cache".into() });
        assert_eq!(parse("/var/cache").unwrap().target(), "/var/cache");
    }

    #[test]
    fn invalid() {
        let cases = [
            ("", "empty volume"),
            ("data", "must be absolute"),
            ("data:app", "must be absolute"),
            ("data:", "missing container path"),
            (":/x", "empty volume source"),
            ("_data:/x", "invalid volume name"),
            ("da ta:/x", "invalid volume name"),
            ("data:/x:rx", "unknown volume option \"rx\""),
            ("data:/x:ro,rw", "contradict"),
            ("data:/x:", "empty volume option"),
            ("a:/b:ro:d", "too many"),
            ("~bob/x:/x", "only `~/"),
        ];
        for (spec, want) in cases {
            let err = parse(spec).unwrap_err();
            assert!(err.contains(want), "{spec:?}: {err:?} should contain {want:?}");
        }
        assert!(parse_volume_with_home("~/x:/x", base(), None).unwrap_err().contains("HOME"));
    }

    #[test]
    fn names() {
        assert!(valid_name("a"));
        assert!(valid_name("A9_.-"));
        assert!(!valid_name(""));
        assert!(!valid_name("-a"));
        assert!(!valid_name("a/b"));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,30}") {
            let _ = parse_volume_with_home(&s, Path::new("/base"), None);
        }
    }
}
