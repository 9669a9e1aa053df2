//! `DockerError`: every failure of a Docker call, as the cases the engine acts on.
//!
//! Owns: classifying bollard's errors — by HTTP status and bollard variant,
//! and, only where nothing else tells, by the daemon's message — in ONE place
//! (`classify`). Each variant names the operation ("create container for
//! `api`") and keeps bollard's error as its `source`.
//! Must not: carry user-facing hints or exit codes (`crate::error` adds them).

use std::sync::Arc;

/// bollard's error, shared so `DockerError` stays `Clone` (one pull's result
/// is handed to every service that uses the image).
pub type Source = Arc<bollard::errors::Error>;

#[derive(Debug, Clone, thiserror::Error)]
pub enum DockerError {
    /// The engine is not reachable (no socket, connection refused, no answer).
    #[error("cannot reach the Docker engine: {cause}")]
    Unavailable {
        cause: String,
        #[source]
        source: Option<Source>,
    },
    /// HTTP 404: the object (container, image, network, volume) does not exist.
    #[error("{operation}: {message}")]
    NotFound {
        operation: String,
        message: String,
        #[source]
        source: Source,
    },
    /// HTTP 409: a name is taken, or the object is busy.
    #[error("{operation}: {message}")]
    Conflict {
        operation: String,
        message: String,
        #[source]
        source: Source,
    },
    /// A host port the container publishes is held by another process or container.
    #[error("{operation}: {message}")]
    PortAllocated {
        operation: String,
        message: String,
        #[source]
        source: Source,
    },
    /// The engine may not grant the ulimits the container asks for (rootless or
    /// sandboxed engines whose own limits are lower).
    #[error("{operation}: {message}")]
    RlimitRefused {
        operation: String,
        message: String,
        #[source]
        source: Source,
    },
    /// A pull failed (unknown image, no access, registry unreachable).
    #[error("{}cannot pull `{reference}`: {}", for_service(service), message.trim())]
    Pull {
        /// The service that needed it, when known (`DockerError::for_service`).
        service: Option<String>,
        reference: String,
        message: String,
        #[source]
        source: Option<Source>,
    },
    /// A build failed; `detail` holds the last lines of its output (the failing step).
    #[error("{}build of `{}` failed: {}", for_service(&failure.service), failure.tag, failure.message.trim())]
    Build {
        /// Boxed: the error stays small.
        failure: Box<BuildFailure>,
        #[source]
        source: Option<Source>,
    },
    /// The build context could not be read.
    #[error("{}cannot read build context {path}: {source}", for_service(service))]
    Context {
        service: Option<String>,
        path: String,
        #[source]
        source: Arc<std::io::Error>,
    },
    /// A container vanished while devenv worked on it.
    #[error("container {id} is gone")]
    Gone {
        id: String,
        #[source]
        source: Option<Source>,
    },
    /// Reading or writing a tar archive (files copied in or out of a container).
    #[error("{operation}: {source}")]
    Archive {
        operation: String,
        #[source]
        source: Arc<std::io::Error>,
    },
    /// Any other failure of a Docker call.
    #[error("{operation}: {message}")]
    Other {
        operation: String,
        message: String,
        #[source]
        source: Option<Source>,
    },
}

/// What a failed build reports.
#[derive(Debug, Clone)]
pub struct BuildFailure {
    /// The service that needed it, when known (`DockerError::for_service`).
    pub service: Option<String>,
    pub tag: String,
    pub dockerfile: String,
    pub message: String,
    /// The last lines of the build output.
    pub detail: Vec<String>,
    /// A Dockerfile step failed (the daemon reported it in the build output),
    /// rather than the build call itself.
    pub step_failed: bool,
}

fn for_service(service: &Option<String>) -> String {
    service.as_ref().map(|s| format!("`{s}`: ")).unwrap_or_default()
}

impl DockerError {
    /// Name the service an image failure is for (`` `api`: cannot pull … ``).
    pub fn for_service(self, name: &str) -> Self {
        match self {
            DockerError::Pull { reference, message, source, .. } => DockerError::Pull { service: Some(name.into()), reference, message, source },
            DockerError::Build { mut failure, source } => {
                failure.service = Some(name.into());
                DockerError::Build { failure, source }
            }
            DockerError::Context { path, source, .. } => DockerError::Context { service: Some(name.into()), path, source },
            other => other,
        }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, DockerError::NotFound { .. })
    }

    pub fn is_conflict(&self) -> bool {
        matches!(self, DockerError::Conflict { .. })
    }
}

/// The HTTP status of a Docker API error, if it was one.
fn status_of(e: &bollard::errors::Error) -> Option<u16> {
    match e {
        bollard::errors::Error::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

/// The only place bollard errors are told apart.
pub(crate) fn classify(operation: impl Into<String>, e: bollard::errors::Error) -> DockerError {
    use bollard::errors::Error as E;
    let operation = operation.into();
    if is_connection_error(&e) {
        return DockerError::Unavailable { cause: e.to_string(), source: Some(Arc::new(e)) };
    }
    let message = match &e {
        E::DockerResponseServerError { message, .. } => message.clone(),
        other => other.to_string(),
    };
    let source = Arc::new(e);
    match status_of(&source) {
        Some(404) => return DockerError::NotFound { operation, message, source },
        Some(409) => return DockerError::Conflict { operation, message, source },
        _ => {}
    }
    // The daemon reports these as a plain 500; only its message tells them apart.
    if message.contains("port is already allocated") || message.contains("address already in use") {
        return DockerError::PortAllocated { operation, message, source };
    }
    if message.contains("error setting rlimit") {
        return DockerError::RlimitRefused { operation, message, source };
    }
    DockerError::Other { operation, message, source: Some(source) }
}

/// `classify` as a `map_err` argument.
pub(crate) fn op(operation: impl Into<String>) -> impl FnOnce(bollard::errors::Error) -> DockerError {
    let operation = operation.into();
    move |e| classify(operation, e)
}

/// Transport failures: the engine did not answer at all.
fn is_connection_error(e: &bollard::errors::Error) -> bool {
    use bollard::errors::Error as E;
    match e {
        E::HyperResponseError { .. } | E::IOError { .. } | E::SocketNotFoundError(_) | E::RequestTimeoutError => true,
        E::HyperLegacyError { err } => err.is_connect(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(status_code: u16, message: &str) -> bollard::errors::Error {
        bollard::errors::Error::DockerResponseServerError { status_code, message: message.into() }
    }

    #[test]
    fn errors_are_classified_by_status_then_daemon_message() {
        assert!(classify("inspect image `x`", server(404, "No such image: x")).is_not_found());
        assert!(classify("create container for `api`", server(409, "name in use")).is_conflict());
        let port = classify("start container for `api`", server(500, "driver failed: Bind for 127.0.0.1:5432 failed: port is already allocated"));
        assert!(matches!(port, DockerError::PortAllocated { .. }), "{port:?}");
        let rlimit = classify("start container for `db`", server(500, "OCI runtime create failed: error setting rlimit type 8: operation not permitted"));
        assert!(matches!(rlimit, DockerError::RlimitRefused { .. }), "{rlimit:?}");
        let other = classify("list containers", server(500, "boom"));
        assert_eq!(other.to_string(), "list containers: boom");
        assert!(std::error::Error::source(&other).is_some(), "the bollard error is kept as the source");
        let gone = classify("ping", bollard::errors::Error::SocketNotFoundError("/var/run/docker.sock".into()));
        assert!(matches!(gone, DockerError::Unavailable { .. }), "{gone:?}");
        assert!(gone.to_string().starts_with("cannot reach the Docker engine: "));
    }

    #[test]
    fn image_failures_name_their_service() {
        let e = DockerError::Pull { service: None, reference: "x:1".into(), message: "denied ".into(), source: None };
        assert_eq!(e.to_string(), "cannot pull `x:1`: denied");
        assert_eq!(e.for_service("api").to_string(), "`api`: cannot pull `x:1`: denied");
    }
}
