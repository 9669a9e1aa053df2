//! The file's load warnings (unsupported compose keys, unset variables, …)
//! once per change: a digest of each file's warnings is remembered in a small
//! state file under the user's cache directory (`warnings-shown`, one
//! `<file digest> <warnings digest>` line per environment file). `devenv
//! config` and `--verbose` always show them. When the state cannot be read or
//! written, the warnings are shown (never lost).
//!
//! Also here: the bind mounts worth a warning although compose allows them —
//! the host's root directory and the Docker socket (`risky_mounts`), warned
//! about with the load warnings and listed by `devenv doctor`.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::plan::Plan;
use crate::values::VolumeSpec;

use sha2::{Digest, Sha256};

/// The state file, unless there is no cache directory.
fn state_file() -> Option<PathBuf> {
    directories::ProjectDirs::from("dev", "devenv", "devenv").map(|d| d.cache_dir().join("warnings-shown"))
}

fn digest(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().take(12).map(|b| format!("{b:02x}")).collect()
}

/// Should `warnings` of `file` be shown now? Records them as shown when so.
pub fn first_time(file: &Path, warnings: &[String]) -> bool {
    match state_file() {
        Some(state) => first_time_in(&state, file, warnings),
        None => true,
    }
}

/// `first_time` against a given state file.
pub fn first_time_in(state: &Path, file: &Path, warnings: &[String]) -> bool {
    if warnings.is_empty() {
        return false;
    }
    let key = digest(&file.display().to_string());
    let value = digest(&warnings.join("\n"));
    let text = std::fs::read_to_string(state).unwrap_or_default();
    if text.lines().any(|l| l.split_once(' ') == Some((key.as_str(), value.as_str()))) {
        return false;
    }
    let mut lines: Vec<String> = text.lines().filter(|l| !l.starts_with(&format!("{key} "))).map(str::to_string).collect();
    lines.push(format!("{key} {value}"));
    // Bounded: the newest 500 files.
    let skip = lines.len().saturating_sub(500);
    if let Some(dir) = state.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ = std::fs::write(state, lines[skip..].join("\n") + "\n");
    true
}

/// What a risky bind mount hands the container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Risk {
    /// The host's root directory `/`.
    HostRoot,
    /// The Docker engine's socket.
    DockerSocket,
}

/// A bind mount of the host root or the Docker socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiskyMount {
    pub service: String,
    pub source: PathBuf,
    pub target: String,
    pub read_only: bool,
    pub risk: Risk,
}

impl fmt::Display for RiskyMount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (what, means) = match (self.risk, self.read_only) {
            (Risk::HostRoot, true) => ("the host's root directory", "it can read every file of this machine"),
            (Risk::HostRoot, false) => ("the host's root directory", "it can read and write every file of this machine"),
            (Risk::DockerSocket, _) => ("the Docker socket", "it controls the Docker engine, which is root on this machine"),
        };
        write!(f, "services.{}.volumes: {what} {} is mounted into `{}` at {}: {means}", self.service, self.source.display(), self.service, self.target)
    }
}

/// The Docker sockets of this machine: the usual paths and `DOCKER_HOST`'s (`unix:///…`).
pub fn docker_sockets(docker_host: Option<&str>) -> Vec<PathBuf> {
    let mut out = vec![PathBuf::from("/var/run/docker.sock"), PathBuf::from("/run/docker.sock")];
    if let Some(path) = docker_host.and_then(|h| h.strip_prefix("unix://")).filter(|p| !p.is_empty()) {
        out.push(PathBuf::from(path));
    }
    out
}

/// Are `a` and `b` the same path, as written or once symlinks are resolved?
fn same_path(a: &Path, b: &Path) -> bool {
    let clean = |p: &Path| crate::values::volumes::normalize(p);
    clean(a) == clean(b) || matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
}

/// What mounting `source` hands a container, if it is the host root or one of `sockets`.
pub fn risk_of(source: &Path, sockets: &[PathBuf]) -> Option<Risk> {
    if same_path(source, Path::new("/")) {
        Some(Risk::HostRoot)
    } else if sockets.iter().any(|s| same_path(source, s)) {
        Some(Risk::DockerSocket)
    } else {
        None
    }
}

/// Every bind mount of the plan of the host root or of one of `sockets`.
pub fn risky_mounts(plan: &Plan, sockets: &[PathBuf]) -> Vec<RiskyMount> {
    let mut out = Vec::new();
    for (service, svc) in &plan.services {
        for v in &svc.volumes {
            let VolumeSpec::Bind { source, target, read_only } = v else { continue };
            let Some(risk) = risk_of(source, sockets) else { continue };
            out.push(RiskyMount { service: service.clone(), source: source.clone(), target: target.clone(), read_only: *read_only, risk });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::first_time_in;

    #[test]
    fn shown_once_per_change_per_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = dir.path().join("cache/warnings-shown");
        let (a, b) = (dir.path().join("a/compose.yaml"), dir.path().join("b/compose.yaml"));
        let w = vec!["services.web: `logging` is not supported".to_string()];
        assert!(first_time_in(&state, &a, &w));
        assert!(!first_time_in(&state, &a, &w), "the same warnings again");
        assert!(first_time_in(&state, &b, &w), "another file");
        let changed = vec!["services.web: `mem_limit` is not supported".to_string()];
        assert!(first_time_in(&state, &a, &changed), "the warnings changed");
        assert!(first_time_in(&state, &a, &w), "and back");
        assert!(!first_time_in(&state, &a, &[]), "no warnings: nothing to show");
        assert!(!first_time_in(&state, &b, &w), "b's entry kept");
    }

    #[test]
    fn an_unwritable_state_still_shows_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = dir.path().join("file-not-dir");
        std::fs::write(&state, "").expect("write");
        let w = vec!["x".to_string()];
        let under_a_file = state.join("warnings-shown");
        assert!(first_time_in(&under_a_file, &dir.path().join("f"), &w));
        assert!(first_time_in(&under_a_file, &dir.path().join("f"), &w), "nothing remembered: shown again");
    }

    #[test]
    fn the_host_root_and_docker_sockets_are_risky_mounts() {
        use super::{docker_sockets, risk_of, Risk, RiskyMount};
        use std::path::{Path, PathBuf};
        let sockets = docker_sockets(Some("unix:///home/me/.docker/run/docker.sock"));
        assert_eq!(sockets.len(), 3);
        assert_eq!(risk_of(Path::new("/"), &sockets), Some(Risk::HostRoot));
        assert_eq!(risk_of(Path::new("/./"), &sockets), Some(Risk::HostRoot));
        assert_eq!(risk_of(Path::new("/var/run/docker.sock"), &sockets), Some(Risk::DockerSocket));
        assert_eq!(risk_of(Path::new("/run/docker.sock"), &sockets), Some(Risk::DockerSocket));
        assert_eq!(risk_of(Path::new("/home/me/.docker/run/docker.sock"), &sockets), Some(Risk::DockerSocket));
        assert_eq!(risk_of(Path::new("/var/run"), &sockets), None);
        assert_eq!(risk_of(Path::new("/home/me/project/src"), &sockets), None);
        assert_eq!(docker_sockets(Some("tcp://10.0.0.1:2375")).len(), 2, "a TCP engine has no socket to mount");

        let dir = tempfile::tempdir().expect("tempdir");
        let link = dir.path().join("root");
        std::os::unix::fs::symlink("/", &link).expect("symlink");
        assert_eq!(risk_of(&link, &sockets), Some(Risk::HostRoot), "a symlink to / is /");

        let m = RiskyMount { service: "ci".into(), source: PathBuf::from("/var/run/docker.sock"), target: "/var/run/docker.sock".into(), read_only: false, risk: Risk::DockerSocket };
        assert_eq!(m.to_string(), "services.ci.volumes: the Docker socket /var/run/docker.sock is mounted into `ci` at /var/run/docker.sock: it controls the Docker engine, which is root on this machine");
        let m = RiskyMount { service: "x".into(), source: PathBuf::from("/"), target: "/host".into(), read_only: true, risk: Risk::HostRoot };
        assert!(m.to_string().contains("the host's root directory / is mounted into `x` at /host: it can read every file"), "{m}");
    }
}
