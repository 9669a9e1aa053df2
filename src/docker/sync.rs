//! Hot reload: streaming a tar into a container, restarting it, and a
//! long-lived exec whose standard input and output carry requests and answers
//! line by line (`ExecPipe`: what the watch's sync channel runs on, so a
//! small sync costs no new exec and no engine-side extraction process).
//! Must not: know what is said over a pipe (that is `watch::pipe`).

use std::pin::Pin;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use bollard::query_parameters as qp;
use futures_util::Stream;

use super::error::{classify, op};
use super::{short, Docker, DockerError};

/// A running exec's standard input, and its standard output split into lines.
pub struct ExecPipe {
    input: Pin<Box<dyn AsyncWrite + Send>>,
    output: Pin<Box<dyn futures_util::Stream<Item = Result<bollard::container::LogOutput, bollard::errors::Error>> + Send>>,
    stdout: Vec<u8>,
}

impl ExecPipe {
    /// Write `bytes` to the exec's standard input.
    pub async fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.input.write_all(bytes).await?;
        self.input.flush().await
    }

    /// The next line of standard output (without its newline); `None` once
    /// the exec ended.
    pub async fn line(&mut self) -> Option<String> {
        loop {
            if let Some(i) = self.stdout.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.stdout.drain(..=i).collect();
                return Some(String::from_utf8_lossy(&line[..i]).into_owned());
            }
            match self.output.next().await? {
                // Standard error is not part of the answers.
                Ok(bollard::container::LogOutput::StdErr { .. }) => {}
                Ok(other) => self.stdout.extend_from_slice(&other.into_bytes()),
                Err(_) => return None,
            }
        }
    }
}

impl Docker {
    /// Start `cmd` in the container as `user`, attached: its standard input
    /// stays open for the caller until the pipe is dropped.
    pub async fn exec_pipe(&self, id: &str, cmd: &[String], user: &str) -> Result<ExecPipe, DockerError> {
        use bollard::exec::{CreateExecOptions, StartExecResults};
        let opts = CreateExecOptions {
            attach_stdin: Some(true),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            cmd: Some(cmd.to_vec()),
            user: Some(user.to_string()),
            ..Default::default()
        };
        let exec = self.api.create_exec(id, opts).await.map_err(op("create exec"))?;
        match self.api.start_exec(&exec.id, None).await.map_err(op("start exec"))? {
            StartExecResults::Attached { output, input } => Ok(ExecPipe { input, output, stdout: Vec::new() }),
            StartExecResults::Detached => Err(DockerError::Other { operation: "start exec".into(), message: "the engine started it detached".into(), source: None }),
        }
    }

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
