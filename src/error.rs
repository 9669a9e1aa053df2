//! The user-facing error type, its hints and the documented exit codes.
//!
//! Owns: mapping every failure to `error: …` + `hint: …` and an exit code.
//! Layers keep their own error enums (`ConfigError`, `DockerError`); this is
//! where they meet the user. Must not: classify anything by message text.

use crate::config::ConfigError;
use crate::docker::DockerError;

/// Documented exit codes (README "Exit codes").
pub mod exit {
    pub const OK: u8 = 0;
    /// Unexpected failure.
    pub const FAILURE: u8 = 1;
    /// Bad command line or environment file.
    pub const CONFIG: u8 = 2;
    /// Docker engine not reachable.
    pub const DOCKER_UNAVAILABLE: u8 = 3;
    /// Pre-flight check failed (e.g. a host port already in use).
    pub const PREFLIGHT: u8 = 4;
    /// An image could not be pulled or built.
    pub const IMAGE: u8 = 5;
    /// A service failed: exited while starting, never became ready, or a one-shot job failed.
    pub const SERVICE: u8 = 6;
    /// Seeding failed (the entries applied before stay recorded).
    pub const SEED: u8 = 7;
    /// Interrupted (Ctrl-C / SIGTERM); what this run started was stopped.
    pub const INTERRUPTED: u8 = 130;
}

/// Every failure that reaches the user.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error("{message}")]
    Usage { message: String, hint: Option<String> },
    /// A Docker call failed (its `DockerError` keeps bollard's error as source).
    /// Boxed: the other variants stay small.
    #[error(transparent)]
    Docker(Box<DockerError>),
    #[error("{message}")]
    Preflight { message: String, hint: Option<String> },
    /// An external tool `devenv k8s` needs (kind, k3d, kubectl, kustomize) is
    /// not installed: a pre-flight failure (exit 4) documented with `devenv k8s`.
    #[error("{message}")]
    Tool { message: String, hint: Option<String> },
    #[error("{message}")]
    Image { message: String, detail: Vec<String>, hint: Option<String> },
    #[error("{message}")]
    Service { message: String, logs: Vec<String>, hint: Option<String> },
    #[error("{message}")]
    Seed { message: String, hint: Option<String> },
    /// A server refused an in-server snapshot operation (save, restore,
    /// reset); what it did before was undone or never done (exit 1).
    #[error("{message}")]
    Snapshot { message: String, hint: Option<String> },
    /// `down`/`gc`/`run`'s teardown removed all it could; `left` names each
    /// object that remains and why (exit 1).
    #[error("{message}")]
    Incomplete { message: String, left: Vec<String>, hint: Option<String> },
    #[error("interrupted")]
    Interrupted,
    #[error("{0}")]
    Other(String),
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Config(_) | Error::Usage { .. } => exit::CONFIG,
            Error::Docker(d) => docker_exit_code(d),
            Error::Preflight { .. } | Error::Tool { .. } => exit::PREFLIGHT,
            Error::Image { .. } => exit::IMAGE,
            Error::Service { .. } => exit::SERVICE,
            Error::Seed { .. } => exit::SEED,
            Error::Interrupted => exit::INTERRUPTED,
            Error::Incomplete { .. } | Error::Snapshot { .. } | Error::Other(_) => exit::FAILURE,
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Config(c) => c.hint.clone(),
            Error::Usage { hint, .. }
            | Error::Preflight { hint, .. }
            | Error::Tool { hint, .. }
            | Error::Image { hint, .. }
            | Error::Service { hint, .. }
            | Error::Seed { hint, .. }
            | Error::Snapshot { hint, .. }
            | Error::Incomplete { hint, .. } => hint.clone(),
            Error::Docker(d) => docker_hint(d),
            Error::Interrupted => None,
            Error::Other(_) => None,
        }
    }

    /// The README section that explains this kind of failure, printed as
    /// `see: README.md#…` under the hint (the README is devenv's documentation).
    pub fn docs(&self) -> Option<&'static str> {
        match self {
            // Read from a compose file (by name, else by its shape): what devenv runs from one.
            Error::Config(c) if crate::config::load::is_compose_file(&c.file) => Some("README.md#compose-files"),
            Error::Config(_) => Some("README.md#the-environment-file"),
            Error::Usage { .. } => Some("README.md#commands"),
            Error::Preflight { .. } => Some("README.md#devenv-doctor"),
            Error::Tool { .. } => Some("README.md#kubernetes-devenv-k8s"),
            Error::Docker(d) => match (&**d, docker_exit_code(d)) {
                (_, exit::DOCKER_UNAVAILABLE | exit::PREFLIGHT) => Some("README.md#devenv-doctor"),
                // A build that fails is the Dockerfile's (its step is shown), not the image map's.
                (DockerError::Build { .. } | DockerError::Context { .. }, _) => Some("README.md#exit-codes"),
                (_, exit::IMAGE) => Some("README.md#image-map"),
                _ => None,
            },
            Error::Image { .. } => Some("README.md#image-map"),
            Error::Service { .. } => Some("README.md#reference"),
            Error::Seed { .. } => Some("README.md#seed-data"),
            Error::Snapshot { .. } => Some("README.md#snapshots"),
            Error::Interrupted | Error::Incomplete { .. } => Some("README.md#exit-codes"),
            Error::Other(_) => None,
        }
    }

    /// Extra lines shown under the error (build output, container logs).
    pub fn detail(&self) -> &[String] {
        match self {
            Error::Image { detail, .. } => detail,
            Error::Service { logs, .. } => logs,
            Error::Incomplete { left, .. } => left,
            Error::Docker(d) => match &**d {
                DockerError::Build { failure, .. } => &failure.detail,
                _ => &[],
            },
            _ => &[],
        }
    }
}


/// unavailable → 3, a port held by another process → 4, image pull/build → 5, else 1.
fn docker_exit_code(e: &DockerError) -> u8 {
    match e {
        DockerError::Unavailable { .. } => exit::DOCKER_UNAVAILABLE,
        DockerError::PortAllocated { .. } => exit::PREFLIGHT,
        DockerError::Pull { .. } | DockerError::Build { .. } | DockerError::Context { .. } => exit::IMAGE,
        _ => exit::FAILURE,
    }
}

fn docker_hint(e: &DockerError) -> Option<String> {
    Some(match e {
        DockerError::Unavailable { .. } => {
            "is the Docker engine running? Start it (e.g. `sudo systemctl start docker`) or point DOCKER_HOST at it; `devenv doctor` checks".into()
        }
        DockerError::PortAllocated { .. } => "another process or container holds that host port; free it or change the host side of `ports:`".into(),
        DockerError::Pull { reference, .. } => format!(
            "check the image name and tag, that you are logged in to its registry (`docker login`), and that the registry is reachable; or build it locally and tag it `{reference}`"
        ),
        DockerError::Build { failure, .. } if failure.step_failed => {
            format!("fix the Dockerfile step above; `docker build -f {} <context>` builds it alone, faster to iterate on", failure.dockerfile)
        }
        DockerError::Build { .. } => "the builder's output is above: fix the Dockerfile or the `build` settings (context, args, target) it names".into(),
        DockerError::Context { .. } => "check the `build` context path and its permissions".into(),
        _ => return None,
    })
}

impl From<DockerError> for Error {
    fn from(e: DockerError) -> Self {
        Error::Docker(Box::new(e))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::{exit, DockerError, Error};

    /// GitHub's anchor for a heading: lower case, punctuation dropped, spaces → `-`.
    fn anchor(heading: &str) -> String {
        heading
            .trim()
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
            .map(|c| if c == ' ' { '-' } else { c })
            .collect()
    }

    /// The anchors of README.md's headings (outside code blocks).
    fn readme_anchors() -> Vec<String> {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap_or_default();
        let mut in_code = false;
        let mut out = Vec::new();
        for line in text.lines() {
            if line.trim_start().starts_with("```") {
                in_code = !in_code;
            } else if !in_code && line.starts_with('#') {
                out.push(anchor(line.trim_start_matches('#')));
            }
        }
        out
    }

    #[test]
    fn anchors_follow_github() {
        assert_eq!(anchor(" In CI: `devenv run`"), "in-ci-devenv-run");
        assert_eq!(anchor(" First `devenv up`"), "first-devenv-up");
    }

    #[test]
    fn every_error_category_links_to_a_readme_section_that_exists() {
        let anchors = readme_anchors();
        assert!(anchors.contains(&"exit-codes".to_string()), "README.md not read: {anchors:?}");
        let config = crate::config::ConfigError { file: "devenv.yaml".into(), pos: None, yaml_path: String::new(), message: String::new(), hint: None };
        let errors = [
            Error::Config(config),
            Error::Usage { message: String::new(), hint: None },
            Error::from(DockerError::Unavailable { cause: String::new(), source: None }),
            Error::from(DockerError::Pull { service: None, reference: String::new(), message: String::new(), source: None }),
            Error::Preflight { message: String::new(), hint: None },
            Error::Tool { message: String::new(), hint: None },
            Error::Image { message: String::new(), detail: vec![], hint: None },
            Error::Service { message: String::new(), logs: vec![], hint: None },
            Error::Seed { message: String::new(), hint: None },
            Error::Snapshot { message: String::new(), hint: None },
            Error::Interrupted,
            Error::Incomplete { message: String::new(), left: vec![], hint: None },
        ];
        for e in &errors {
            let docs = e.docs().unwrap_or_else(|| panic!("{e:?} has no README reference"));
            let a = docs.strip_prefix("README.md#").unwrap_or_else(|| panic!("{docs} is not a README.md anchor"));
            assert!(anchors.iter().any(|h| h == a), "{e:?} links to README.md#{a}, which is no heading of README.md (headings: {anchors:?})");
        }
    }

    /// A build error of a Dockerfile step (`step_failed`) or of the build itself.
    fn build_failed(step_failed: bool) -> Error {
        let failure = crate::docker::BuildFailure {
            service: None,
            tag: "t".into(),
            dockerfile: "Dockerfile".into(),
            message: String::new(),
            detail: vec![],
            step_failed,
        };
        Error::from(DockerError::Build { failure: Box::new(failure), source: None })
    }

    #[test]
    fn links_point_at_the_section_about_the_failure() {
        let tool = Error::Tool { message: "`kind` is not installed".into(), hint: None };
        assert_eq!((tool.docs(), tool.exit_code()), (Some("README.md#kubernetes-devenv-k8s"), exit::PREFLIGHT));
        let build = build_failed(true);
        assert_eq!(build.docs(), Some("README.md#exit-codes"));
        let pull = Error::from(DockerError::Pull { service: None, reference: String::new(), message: String::new(), source: None });
        assert_eq!(pull.docs(), Some("README.md#image-map"));
        // A compose file's errors link to what devenv runs from one.
        let config = |file: &str| {
            Error::Config(crate::config::ConfigError { file: file.into(), pos: None, yaml_path: String::new(), message: String::new(), hint: None })
        };
        assert_eq!(config("/p/docker-compose.yml").docs(), Some("README.md#compose-files"));
        assert_eq!(config("/p/compose.yaml").docs(), Some("README.md#compose-files"));
        assert_eq!(config("/p/devenv.yaml").docs(), Some("README.md#the-environment-file"));
    }

    /// Every `.rs` file under `dir`, recursively.
    fn sources(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                sources(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }

    /// A hint gives the fix, not "rerun" the command that just failed.
    #[test]
    fn no_hint_sends_the_user_back_to_the_command_that_failed() {
        let mut files = Vec::new();
        sources(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
        assert!(files.len() > 50, "sources not found");
        let banned = ["rerun", "run it again", "and run `devenv k8s up` again", "try again"];
        for f in files.iter().filter(|f| !f.ends_with("error.rs")) {
            let text = std::fs::read_to_string(f).unwrap_or_default();
            for (i, line) in text.lines().enumerate().filter(|(_, l)| l.contains("hint")) {
                assert!(!banned.iter().any(|b| line.to_lowercase().contains(b)), "{}:{}: {line}", f.display(), i + 1);
            }
        }
        for step_failed in [true, false] {
            let hint = build_failed(step_failed).hint().unwrap_or_default();
            assert!(!hint.contains("rerun") && hint.contains("Dockerfile"), "{hint}");
        }
    }

    #[test]
    fn docker_errors_keep_their_exit_codes_hints_and_source() {
        let unavailable = Error::from(DockerError::Unavailable { cause: "no socket".into(), source: None });
        assert_eq!(unavailable.exit_code(), exit::DOCKER_UNAVAILABLE);
        assert_eq!(unavailable.to_string(), "cannot reach the Docker engine: no socket");
        assert!(unavailable.hint().is_some_and(|h| h.contains("DOCKER_HOST")));
        let failure = crate::docker::BuildFailure {
            service: Some("api".into()),
            tag: "app:dev".into(),
            dockerfile: "Dockerfile".into(),
            message: "exit 1".into(),
            detail: vec!["RUN false".into()],
            step_failed: true,
        };
        let build = Error::from(DockerError::Build { failure: Box::new(failure), source: None });
        assert_eq!(build.exit_code(), exit::IMAGE);
        assert_eq!(build.to_string(), "`api`: build of `app:dev` failed: exit 1");
        assert_eq!(build.detail(), ["RUN false".to_string()]);
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied");
        let context = Error::from(DockerError::Context { service: None, path: "/src".into(), source: std::sync::Arc::new(io) });
        assert_eq!(context.to_string(), "cannot read build context /src: denied");
        assert!(std::error::Error::source(&context).is_some(), "the io error stays the source");
    }
}
