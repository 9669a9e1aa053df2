//! Hot reload: streaming a tar into a container, restarting it.

use std::time::Duration;

use bollard::query_parameters as qp;
use futures_util::Stream;

use super::error::{classify, op};
use super::{short, Docker, DockerError};

impl Docker {
    /// Extract a tar stream (entry names relative to `path`) into the container.
    /// The stream is sent as it is produced: a huge file never sits in memory.
    /// With `noOverwriteDirNonDir`: a directory entry where the container has a
    /// symlink (or a file) fails the upload instead of replacing it, and a
    /// directory is never replaced by a file — so an archive with a directory
    /// entry for every parent never writes through a link the container holds.
    pub async fn upload_tar(&self, id: &str, path: &str, tar: impl Stream<Item = bytes::Bytes> + Send + 'static) -> Result<(), DockerError> {
        let opts = qp::UploadToContainerOptions { path: path.to_string(), no_overwrite_dir_non_dir: Some("true".into()), ..Default::default() };
        self.api.upload_to_container(id, Some(opts), bollard::body_stream(tar)).await.map_err(op(format!("copy files into container {}", short(id))))
    }

    /// Restart (graceful stop with `timeout`, then start).
    pub async fn restart(&self, id: &str, timeout: Duration) -> Result<(), DockerError> {
        let opts = qp::RestartContainerOptionsBuilder::new().t(timeout.as_secs().min(i32::MAX as u64) as i32).build();
        match self.api.restart_container(id, Some(opts)).await {
            Ok(()) => Ok(()),
            Err(e) => Err(match classify(format!("restart container {}", short(id)), e) {
                DockerError::NotFound { source, .. } => DockerError::Gone { id: short(id).to_string(), source: Some(source) },
                e => e,
            }),
        }
    }
}
