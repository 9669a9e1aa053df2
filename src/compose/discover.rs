//! Finding compose files the way `docker compose` does without `-f`.

use std::path::{Path, PathBuf};

/// Compose's file names, in its order of preference (compose-go `DefaultFileNames`).
pub const COMPOSE_FILES: &[&str] = &["compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml"];

/// Override files, in compose's order (`DefaultOverrideFileNames`).
pub const OVERRIDE_FILES: &[&str] =
    &["compose.override.yml", "compose.override.yaml", "docker-compose.override.yml", "docker-compose.override.yaml"];

/// The compose files `docker compose` would use in `dir`: the first of
/// [`COMPOSE_FILES`] found, plus the first override file next to it. Like
/// compose, the parent directories are searched when `dir` has none.
pub fn discover(dir: &Path) -> Option<Vec<PathBuf>> {
    let mut current = Some(dir);
    while let Some(d) = current {
        if let Some(main) = first_file(d, COMPOSE_FILES) {
            let mut files = vec![main];
            files.extend(first_file(d, OVERRIDE_FILES));
            return Some(files);
        }
        current = d.parent();
    }
    None
}

fn first_file(dir: &Path, names: &[&str]) -> Option<PathBuf> {
    names.iter().map(|n| dir.join(n)).find(|p| p.is_file())
}

/// Whether `-f PATH` names a compose file (routed to this loader) rather than a
/// devenv environment file: by name — `compose.yaml`, `docker-compose.yml`,
/// `compose.prod.yaml`, `docker-compose.override.yml`, `my-compose.yaml`…
/// `devenv.yaml` / `devenv.yml` never are.
pub fn looks_like_compose(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    let lower = name.to_ascii_lowercase();
    let Some(stem) = lower.strip_suffix(".yaml").or_else(|| lower.strip_suffix(".yml")) else {
        return false;
    };
    if stem == "devenv" || stem.starts_with("devenv.") {
        return false;
    }
    stem.split(['.', '-', '_']).any(|part| part == "compose")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for yes in [
            "compose.yaml",
            "compose.yml",
            "docker-compose.yml",
            "docker-compose.yaml",
            "compose.prod.yaml",
            "docker-compose.override.yml",
            "/x/y/docker-compose.ci.YML",
            "my-compose.yaml",
            "compose_test.yml",
        ] {
            assert!(looks_like_compose(Path::new(yes)), "{yes}");
        }
        for no in ["devenv.yaml", "devenv.yml", "devenv.compose.yaml", "composer.yaml", "compose.json", "stack.yaml", "compose", ""] {
            assert!(!looks_like_compose(Path::new(no)), "{no}");
        }
    }

    #[test]
    fn discovery_order_and_overrides() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("docker-compose.yaml"), "services: {}\n").unwrap();
        std::fs::write(d.join("docker-compose.yml"), "services: {}\n").unwrap();
        assert_eq!(discover(d), Some(vec![d.join("docker-compose.yml")]));
        std::fs::write(d.join("compose.yaml"), "services: {}\n").unwrap();
        std::fs::write(d.join("docker-compose.override.yml"), "services: {}\n").unwrap();
        std::fs::write(d.join("compose.override.yaml"), "services: {}\n").unwrap();
        assert_eq!(discover(d), Some(vec![d.join("compose.yaml"), d.join("compose.override.yaml")]));
        let sub = d.join("sub/dir");
        std::fs::create_dir_all(&sub).unwrap();
        assert_eq!(discover(&sub), Some(vec![d.join("compose.yaml"), d.join("compose.override.yaml")]));
    }
}
