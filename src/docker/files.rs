//! Reading and writing single files in a container through the archive API
//! (works whatever the container's user, with or without a shell in it).

use futures_util::StreamExt;

use std::sync::Arc;

use super::error::{classify, op};
use super::{short, Docker, DockerError};

fn archive_err(operation: String) -> impl Fn(std::io::Error) -> DockerError {
    move |e| DockerError::Archive { operation: operation.clone(), source: Arc::new(e) }
}

impl Docker {
    /// The content of `path` in the container, or None if it does not exist.
    pub async fn read_file(&self, id: &str, path: &str) -> Result<Option<Vec<u8>>, DockerError> {
        let opts = bollard::query_parameters::DownloadFromContainerOptions { path: path.to_string() };
        let mut stream = self.api.download_from_container(id, Some(opts));
        let mut tar_bytes = Vec::new();
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(b) => tar_bytes.extend_from_slice(&b),
                Err(e) => match classify(format!("read {path} in container {}", short(id)), e) {
                    e if e.is_not_found() => return Ok(None),
                    e => return Err(e),
                },
            }
        }
        let mut archive = tar::Archive::new(&tar_bytes[..]);
        let entries = archive.entries().map_err(archive_err(format!("read {path}: bad archive")))?;
        for entry in entries {
            let mut entry = entry.map_err(archive_err(format!("read {path}: bad archive")))?;
            if entry.header().entry_type().is_file() {
                let mut out = Vec::new();
                std::io::Read::read_to_end(&mut entry, &mut out).map_err(archive_err(format!("read {path}")))?;
                return Ok(Some(out));
            }
        }
        Ok(None)
    }

    /// Write `content` to the absolute `path` in the container with `mode`, owned
    /// by `uid`:`gid` when one is given (else by the container's root); missing
    /// directories are created (what compose does for secrets and configs).
    pub async fn put_file(&self, id: &str, path: &str, content: &[u8], mode: u32, uid: Option<u32>, gid: Option<u32>) -> Result<(), DockerError> {
        let name = path.trim_start_matches('/');
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(mode);
        header.set_uid(u64::from(uid.unwrap_or(0)));
        header.set_gid(u64::from(gid.unwrap_or(0)));
        header.set_mtime(chrono::Utc::now().timestamp().max(0) as u64);
        header.set_cksum();
        let mut builder = tar::Builder::new(Vec::new());
        builder.append_data(&mut header, name, content).map_err(archive_err(format!("write {path}")))?;
        let tar_bytes = builder.into_inner().map_err(archive_err(format!("write {path}")))?;
        let copy_uid_gid = (uid.is_some() || gid.is_some()).then(|| "true".to_string());
        let opts = bollard::query_parameters::UploadToContainerOptions { path: "/".to_string(), copy_uidgid: copy_uid_gid, ..Default::default() };
        self.api
            .upload_to_container(id, Some(opts), bollard::body_full(bytes::Bytes::from(tar_bytes)))
            .await
            .map_err(op(format!("write {path} in container {}", short(id))))
    }

    /// Write `content` to the absolute `path` in the container (mode 0644); its directory must exist.
    pub async fn write_file(&self, id: &str, path: &str, content: &[u8]) -> Result<(), DockerError> {
        let (dir, name) = path.rsplit_once('/').ok_or_else(|| DockerError::Other { operation: "not an absolute path".into(), message: path.to_string(), source: None })?;
        let dir = if dir.is_empty() { "/" } else { dir };
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(chrono::Utc::now().timestamp().max(0) as u64);
        header.set_cksum();
        let mut builder = tar::Builder::new(Vec::new());
        builder.append_data(&mut header, name, content).map_err(archive_err(format!("write {path}")))?;
        let tar_bytes = builder.into_inner().map_err(archive_err(format!("write {path}")))?;
        let opts = bollard::query_parameters::UploadToContainerOptions { path: dir.to_string(), ..Default::default() };
        self.api
            .upload_to_container(id, Some(opts), bollard::body_full(bytes::Bytes::from(tar_bytes)))
            .await
            .map_err(op(format!("write {path} in container {}", short(id))))
    }
}
