//! engine::snapshot_archive: the file `devenv snapshot export` writes and
//! `import` reads — a gzip-compressed tar, streamed both ways (only one tar
//! entry's buffer is ever in memory).
//!
//! Layout, in this order:
//! - `devenv-snapshot/volumes/<i>/…` — the files of the snapshot's i-th
//!   volume, as the engine's archive API gave them (modes, owners, links);
//! - `devenv-snapshot/manifest.json` — what the snapshot is ([`Manifest`]);
//! - `devenv-snapshot/sha256` — the checksum: 64 hex digits, the SHA-256 of
//!   every byte of the (uncompressed) tar stream before this entry, i.e. all
//!   the volume entries and the manifest. It is the last entry, so the
//!   file's tail is always 2 048 bytes: its header, its data block and the
//!   end-of-archive marker.
//!
//! [`verify`] reads a whole file once — checksum, gzip CRC, layout, manifest —
//! and is what import runs before it creates anything; [`read_volumes`] reads
//! it again to hand each volume's entries on. Owns: the layout, the manifest
//! type, the checksum. Must not: talk to Docker or print.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};

pub const FORMAT: u32 = 1;
const ROOT: &str = "devenv-snapshot/";
pub const MANIFEST_ENTRY: &str = "devenv-snapshot/manifest.json";
pub const CHECKSUM_ENTRY: &str = "devenv-snapshot/sha256";
/// The checksum entry's header and data block, then two zero blocks.
const TAIL: usize = 2048;

/// What an export file holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    /// [`FORMAT`] of the writer; a newer format is refused.
    pub format: u32,
    /// The project the snapshot was saved in.
    pub project: String,
    pub snapshot: String,
    /// When the snapshot was saved (RFC 3339), and by which devenv.
    pub created_at: String,
    pub devenv_version: String,
    pub exported_at: String,
    /// Service → what it ran when the snapshot was saved.
    pub services: BTreeMap<String, ServiceEntry>,
    /// One per `volumes/<i>/` directory, in order.
    pub volumes: Vec<VolumeEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ServiceEntry {
    pub image: String,
    /// The preset (`None`: a plain service with a named volume).
    pub preset: Option<String>,
    /// The image tag's major version (`16-alpine` → 16), what restore checks.
    pub major: Option<u64>,
    /// The service's config hash in the exporting project's file.
    pub config_hash: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VolumeEntry {
    pub service: String,
    /// Where the service mounts it.
    pub target: String,
    /// The project volume it was copied from.
    pub source: String,
    pub files: u64,
    /// Bytes of file content.
    pub bytes: u64,
}

/// Why a file is not an intact export.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("it ends before its checksum (truncated?)")]
    Truncated,
    #[error("checksum mismatch: recorded sha256 {recorded}, content is {computed}")]
    Mismatch { recorded: String, computed: String },
    #[error("it cannot be decompressed or read ({0}): corrupt or truncated")]
    Unreadable(#[source] io::Error),
    #[error("not a devenv snapshot export: {0}")]
    Layout(String),
    #[error("it was written by a newer devenv (format {0}; this one reads {FORMAT})")]
    Newer(u32),
}

impl ArchiveError {
    /// A checksum failure (as opposed to a file of another kind or version).
    pub fn is_corrupt(&self) -> bool {
        matches!(self, ArchiveError::Truncated | ArchiveError::Mismatch { .. } | ArchiveError::Unreadable(_))
    }
}

/// A writer that hashes what goes through it.
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// What one volume's entries came to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counted {
    pub files: u64,
    pub bytes: u64,
}

/// Writes an export file: volumes, then [`ArchiveWriter::finish`].
pub struct ArchiveWriter<W: Write> {
    tar: tar::Builder<Hashing<GzEncoder<W>>>,
}

impl<W: Write> ArchiveWriter<W> {
    pub fn new(out: W) -> Self {
        let gz = GzEncoder::new(out, flate2::Compression::fast());
        ArchiveWriter { tar: tar::Builder::new(Hashing { inner: gz, hasher: Sha256::new() }) }
    }

    /// Append volume `index`: every entry of the tar stream `source` (entry
    /// names relative to the volume's root), under `volumes/<index>/`.
    /// `progress` gets the content bytes so far.
    pub fn append_volume(&mut self, index: usize, source: impl Read, mut progress: impl FnMut(u64)) -> io::Result<Counted> {
        let prefix = format!("{ROOT}volumes/{index}/");
        let mut counted = Counted::default();
        let mut archive = tar::Archive::new(source);
        for entry in archive.entries()? {
            let entry = entry?;
            let rel = relative(&entry.path_bytes())?;
            counted.files += u64::from(entry.header().entry_type().is_file());
            counted.bytes += entry.size();
            let path = if rel == "./" { prefix.clone() } else { format!("{prefix}{rel}") };
            // A hard link names another entry of the archive: under the prefix too.
            put(&mut self.tar, entry, &path, |t| Ok(format!("{prefix}{}", relative(t)?)))?;
            progress(counted.bytes);
        }
        Ok(counted)
    }

    /// Write the manifest and the checksum; returns the underlying writer and the checksum.
    pub fn finish(mut self, manifest: &Manifest) -> io::Result<(W, String)> {
        let json = serde_json::to_vec_pretty(manifest).map_err(io::Error::other)?;
        append_file(&mut self.tar, MANIFEST_ENTRY, &json)?;
        let digest = hex(&self.tar.get_ref().hasher.clone().finalize());
        append_file(&mut self.tar, CHECKSUM_ENTRY, digest.as_bytes())?;
        let hashing = self.tar.into_inner()?;
        let out = hashing.inner.finish()?;
        Ok((out, digest))
    }
}

/// A header of our own for `entry` (GNU: long names and links take extension
/// entries): type, mode, owner, times and device numbers kept; the source's
/// name fields and PAX records are not carried over.
fn fresh_header(h: &tar::Header) -> io::Result<tar::Header> {
    let mut out = tar::Header::new_gnu();
    out.set_entry_type(h.entry_type());
    out.set_mode(h.mode()?);
    out.set_uid(h.uid().unwrap_or(0));
    out.set_gid(h.gid().unwrap_or(0));
    out.set_mtime(h.mtime().unwrap_or(0));
    out.set_size(h.entry_size()?);
    if let Some(name) = h.username_bytes() {
        out.set_username(&String::from_utf8_lossy(name))?;
    }
    if let Some(name) = h.groupname_bytes() {
        out.set_groupname(&String::from_utf8_lossy(name))?;
    }
    if let (Ok(Some(major)), Ok(Some(minor))) = (h.device_major(), h.device_minor()) {
        out.set_device_major(major)?;
        out.set_device_minor(minor)?;
    }
    Ok(out)
}

/// Append `entry` as `path` (`./`: the root directory itself, which the tar
/// crate cannot name, so its name bytes are written directly); a hard link's
/// target is renamed by `link`, a symbolic link's kept as it is.
fn put<W: Write, R: Read>(tar: &mut tar::Builder<W>, entry: tar::Entry<R>, path: &str, link: impl Fn(&[u8]) -> io::Result<String>) -> io::Result<()> {
    let mut header = fresh_header(entry.header())?;
    let target = entry.link_name_bytes().map(|l| l.into_owned());
    match (header.entry_type(), target) {
        (tar::EntryType::Link, Some(t)) => tar.append_link(&mut header, path, link(&t)?),
        (tar::EntryType::Symlink, Some(t)) => tar.append_link(&mut header, path, String::from_utf8_lossy(&t).as_ref()),
        _ if path == "./" => {
            header.as_mut_bytes()[..2].copy_from_slice(b"./");
            header.set_cksum();
            tar.append(&header, entry)
        }
        _ => tar.append_data(&mut header, path, entry),
    }
}

fn append_file<W: Write>(tar: &mut tar::Builder<W>, path: &str, data: &[u8]) -> io::Result<()> {
    let mut header = tar::Header::new_ustar();
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(chrono::Utc::now().timestamp().max(0) as u64);
    header.set_entry_type(tar::EntryType::Regular);
    tar.append_data(&mut header, path, data)
}

/// An entry name relative to a volume's root, `./` and `/` removed; never
/// absolute or with `..` (an archive must not write outside the volume).
pub fn relative(raw: &[u8]) -> io::Result<String> {
    let s = std::str::from_utf8(raw).map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "an entry name is not UTF-8"))?;
    let parts: Vec<&str> = s.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    if parts.contains(&"..") {
        return Err(io::Error::new(io::ErrorKind::InvalidData, format!("entry `{s}` leaves its directory")));
    }
    let dir = s.ends_with('/') && !parts.is_empty();
    Ok(if parts.is_empty() { "./".into() } else { format!("{}{}", parts.join("/"), if dir { "/" } else { "" }) })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A reader that hashes all it passes on except the last [`TAIL`] bytes
/// (held back until more comes, or kept as the tail at the end).
struct HashAllButTail<R> {
    inner: R,
    hasher: Sha256,
    tail: Vec<u8>,
}

impl<R: Read> Read for HashAllButTail<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.tail.extend_from_slice(&buf[..n]);
        if self.tail.len() > TAIL {
            let over = self.tail.len() - TAIL;
            self.hasher.update(&self.tail[..over]);
            self.tail.drain(..over);
        }
        Ok(n)
    }
}

/// Read a whole export from `r`: the checksum, the gzip CRC, the layout (every
/// volume entry under `volumes/<i>/` of a volume the manifest lists, no name
/// leaving its directory) and the manifest. Nothing else is done with it.
pub fn verify(r: impl Read) -> Result<Manifest, ArchiveError> {
    let mut reader = HashAllButTail { inner: GzDecoder::new(r), hasher: Sha256::new(), tail: Vec::with_capacity(TAIL + 64 * 1024) };
    let mut manifest = None;
    let mut max_volume = None;
    {
        let mut archive = tar::Archive::new(&mut reader);
        for entry in archive.entries().map_err(ArchiveError::Unreadable)? {
            let mut entry = entry.map_err(ArchiveError::Unreadable)?;
            let path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            if path == MANIFEST_ENTRY {
                let mut json = Vec::new();
                entry.read_to_end(&mut json).map_err(ArchiveError::Unreadable)?;
                manifest = Some(json);
            } else if path != CHECKSUM_ENTRY {
                let i = volume_of(&path).map_err(ArchiveError::Layout)?;
                relative(&entry.path_bytes()).map_err(|e| ArchiveError::Layout(e.to_string()))?;
                max_volume = max_volume.max(Some(i));
                io::copy(&mut entry, &mut io::sink()).map_err(ArchiveError::Unreadable)?;
            }
        }
    }
    // To the end: the rest of the end-of-archive marker, and gzip's CRC check.
    io::copy(&mut reader, &mut io::sink()).map_err(ArchiveError::Unreadable)?;
    check_tail(&reader.tail, &reader.hasher.clone().finalize())?;
    let json = manifest.ok_or_else(|| ArchiveError::Layout(format!("no {MANIFEST_ENTRY}")))?;
    let manifest: Manifest = serde_json::from_slice(&json).map_err(|e| ArchiveError::Layout(format!("{MANIFEST_ENTRY}: {e}")))?;
    if manifest.format > FORMAT {
        return Err(ArchiveError::Newer(manifest.format));
    }
    if max_volume.is_some_and(|i| i >= manifest.volumes.len()) {
        return Err(ArchiveError::Layout("files of a volume the manifest does not list".into()));
    }
    Ok(manifest)
}

/// The tail must be the checksum entry, then the end-of-archive marker; its
/// digest must be the content's.
fn check_tail(tail: &[u8], computed: &[u8]) -> Result<(), ArchiveError> {
    if tail.len() < TAIL {
        return Err(ArchiveError::Truncated);
    }
    let header = tar::Header::from_byte_slice(&tail[..512]);
    let is_checksum = header.path_bytes().as_ref() == CHECKSUM_ENTRY.as_bytes() && header.entry_size().ok() == Some(64);
    if !is_checksum || tail[1024..].iter().any(|b| *b != 0) {
        return Err(ArchiveError::Truncated);
    }
    let recorded = String::from_utf8_lossy(&tail[512..576]).into_owned();
    let computed = hex(computed);
    if recorded != computed {
        return Err(ArchiveError::Mismatch { recorded, computed });
    }
    Ok(())
}

/// `devenv-snapshot/volumes/<i>/…` → i.
fn volume_of(path: &str) -> Result<usize, String> {
    path.strip_prefix(ROOT)
        .and_then(|p| p.strip_prefix("volumes/"))
        .and_then(|p| p.split('/').next())
        .and_then(|i| i.parse().ok())
        .ok_or_else(|| format!("unexpected entry `{path}`"))
}

/// Read an export (verified before) again and hand volume i's entries, as a
/// tar stream with names relative to the volume's root, to the writer
/// `open(i)` returns; each such stream is finished before the next opens.
pub fn read_volumes<W: Write>(r: impl Read, mut open: impl FnMut(usize) -> io::Result<W>) -> io::Result<()> {
    let mut archive = tar::Archive::new(GzDecoder::new(r));
    let mut current: Option<(usize, tar::Builder<W>)> = None;
    for entry in archive.entries()? {
        let entry = entry?;
        let path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let Ok(i) = volume_of(&path) else { continue };
        if current.as_ref().is_none_or(|(c, _)| *c != i) {
            if let Some((_, b)) = current.take() {
                b.into_inner()?.flush()?;
            }
            current = Some((i, tar::Builder::new(open(i)?)));
        }
        let Some((_, builder)) = current.as_mut() else { continue };
        let prefix = format!("{ROOT}volumes/{i}/");
        let rel = relative(path.strip_prefix(&prefix).unwrap_or("").as_bytes())?;
        put(builder, entry, &rel, |t| {
            let t = String::from_utf8_lossy(t);
            relative(t.strip_prefix(&prefix).unwrap_or(&t).as_bytes())
        })?;
    }
    if let Some((_, b)) = current.take() {
        b.into_inner()?.flush()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
