//! Image references: `redis`, `redis:7-alpine`, `localhost:5000/app:1`, `a/b@sha256:…`;
//! and what a local image's config declares ([`ImageConfig`]).

/// What a locally present image's config declares that presets decide by
/// (Postgres: `PG_MAJOR`, `PGDATA`, its `VOLUME`). Read by `docker`, passed
/// to the plan as data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageConfig {
    /// `Config.Env`, as `NAME=value` pairs split at the first `=`.
    pub env: Vec<(String, String)>,
    /// `Config.Volumes`: the declared `VOLUME` paths.
    pub volumes: Vec<String>,
}

impl ImageConfig {
    /// The value of the image's env variable `name`.
    pub fn env(&self, name: &str) -> Option<&str> {
        self.env.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// `repo[:tag][@digest]` → (repo, tag-or-digest); default tag `latest`.
pub fn split_reference(reference: &str) -> (String, String) {
    if let Some((repo, digest)) = reference.split_once('@') {
        return (repo.to_string(), digest.to_string());
    }
    let slash = reference.rfind('/').map(|i| i + 1).unwrap_or(0);
    match reference[slash..].rfind(':') {
        Some(i) => (reference[..slash + i].to_string(), reference[slash + i + 1..].to_string()),
        None => (reference.to_string(), "latest".to_string()),
    }
}

/// Why `reference` is not an image reference Docker accepts (`None`: it is).
/// Docker's grammar: `[domain[:port]/]path[:tag][@digest]`, path components
/// lowercase `[a-z0-9]` joined by `.`, `_`, `__` or `-`; a tag is
/// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`; a digest is `algorithm:hex`.
pub fn reference_problem(reference: &str) -> Option<String> {
    if reference.is_empty() {
        return Some("it is empty".into());
    }
    if let Some(c) = reference.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Some(format!("it contains {c:?}"));
    }
    let (name, digest) = match reference.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (reference, None),
    };
    if let Some(d) = digest
        && !d.split_once(':').is_some_and(|(alg, hex)| !alg.is_empty() && hex.len() >= 32 && hex.chars().all(|c| c.is_ascii_hexdigit()))
    {
        return Some(format!("the digest {d:?} is not `algorithm:hex`"));
    }
    // No tag reads as `latest`, which is valid; `redis:` reads as an empty tag, which is not.
    let (repo, tag) = split_reference(name);
    if let Some(problem) = tag_problem(&tag) {
        return Some(problem);
    }
    let mut parts: Vec<&str> = repo.split('/').collect();
    if parts.len() > 1 && (parts[0].contains(['.', ':']) || parts[0] == "localhost") {
        parts.remove(0); // a registry host: its own rules, checked by the registry
    }
    match parts.iter().find(|p| !valid_component(p)) {
        Some(p) => Some(format!("{p:?} is not a valid repository name part (lowercase letters, digits, and `.`, `_`, `-` between them)")),
        None => None,
    }
}

/// Why `tag` is not a valid image tag (`None`: it is).
pub fn tag_problem(tag: &str) -> Option<String> {
    let ok = !tag.is_empty()
        && tag.len() <= 128
        && tag.chars().next().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && tag.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    (!ok).then(|| format!("the tag {tag:?} is not valid (letters, digits, `_`, `.`, `-`; at most 128; not starting with `.` or `-`)"))
}

fn valid_component(p: &str) -> bool {
    let bytes = p.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if bytes.is_empty() || !alnum(&bytes[0]) || !alnum(&bytes[bytes.len() - 1]) {
        return false;
    }
    bytes.iter().all(|b| alnum(b) || matches!(b, b'.' | b'_' | b'-')) && !p.contains("..") && !p.contains("___")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_references() {
        assert_eq!(split_reference("redis"), ("redis".into(), "latest".into()));
        assert_eq!(split_reference("redis:7-alpine"), ("redis".into(), "7-alpine".into()));
        assert_eq!(split_reference("localhost:5000/app"), ("localhost:5000/app".into(), "latest".into()));
        assert_eq!(split_reference("localhost:5000/app:1"), ("localhost:5000/app".into(), "1".into()));
        assert_eq!(split_reference("a/b@sha256:abc"), ("a/b".into(), "sha256:abc".into()));
    }

    #[test]
    fn references_are_checked_like_docker_checks_them() {
        for ok in [
            "redis",
            "redis:7-alpine",
            "devenv-test/app:1",
            "localhost:5000/app:1",
            "ghcr.io/org/my_app__x:v1.2",
            "docker.elastic.co/elasticsearch/elasticsearch:8.15.0",
            "postgres@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            assert_eq!(reference_problem(ok), None, "{ok}");
        }
        for bad in ["Redis", "redis:7 alpine", "redis:;rm", "a//b", "redis:", "-x/y", "redis@sha256:zz", "app:.1"] {
            assert!(reference_problem(bad).is_some(), "{bad}");
        }
        assert!(tag_problem("16").is_none() && tag_problem("16 ; x").is_some() && tag_problem("").is_some());
    }
}
