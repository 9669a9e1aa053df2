//! Image references: `redis`, `redis:7-alpine`, `localhost:5000/app:1`, `a/b@sha256:…`.

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
}
