//! engine::snapshot_share: `devenv snapshot export|import` (one file a team
//! can hand on, see `snapshot_archive` for its layout) and finding the torn
//! pieces of snapshots that `devenv gc` collects.
//!
//! Volume content is streamed through the engine's archive API from (export)
//! or into (import) a helper container that mounts the snapshot volume and
//! is never started; a bounded channel joins the API's byte stream to the tar
//! code on a blocking thread, so no more than a few chunks are ever in memory.
//! Import reads the whole file once to verify it before it creates anything,
//! then again to copy; its manifest volume is created last, as `save` does,
//! so an import that fails or is killed is never listed.
//!
//! Owns: export, import, and which snapshot volumes are torn. Must not: print
//! (ui events), or decide what `gc` removes beyond that.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::mpsc;

use super::snapshot::{self as snap, Part, SnapshotInfo};
use super::snapshot_archive::{self as archive, ArchiveWriter, Counted, Manifest, ServiceEntry, VolumeEntry};
use crate::docker::{Docker, IO_HELPER_MOUNT};
use crate::error::Error;
use crate::labels;
use crate::plan::Plan;
use crate::ui::{Status, Ui};

/// What `import` does with a file.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Store it under this name instead of the one in the file.
    pub name: Option<String>,
    /// Replace a snapshot of that name.
    pub force: bool,
    /// The file's project, when it is not this one (an explicit yes).
    pub from_project: Option<String>,
}

/// Throttled transfer progress as ui events.
struct Progress {
    ui: Ui,
    label: String,
    what: String,
    total: u64,
    base: u64,
    last: Instant,
}

impl Progress {
    fn new(ui: &Ui, label: &str, what: String, total: u64) -> Self {
        ui.service(label, Status::Transferring { what: what.clone(), bytes: 0, total });
        Progress { ui: ui.clone(), label: label.to_string(), what, total, base: 0, last: Instant::now() }
    }
    fn at(&mut self, bytes: u64) {
        if bytes > 0 && self.last.elapsed() >= Duration::from_millis(150) {
            self.last = Instant::now();
            self.ui.service(&self.label, Status::Transferring { what: self.what.clone(), bytes: self.base + bytes, total: self.total });
        }
    }
    fn done(&self, bytes: u64, t0: Instant) {
        self.ui.service(&self.label, Status::Transferred { what: self.what.clone(), bytes, elapsed_ms: t0.elapsed().as_millis() as u64 });
    }
}

/// A `Read` over chunks sent from async code.
struct ChanReader {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    buf: Bytes,
}

impl Read for ChanReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.buf.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(b)) => self.buf = b,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = out.len().min(self.buf.len());
        out[..n].copy_from_slice(&self.buf.split_to(n));
        Ok(n)
    }
}

/// A `Write` whose chunks go to async code (an upload's body).
struct ChanWriter(mpsc::Sender<Bytes>);

impl Write for ChanWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.blocking_send(Bytes::copy_from_slice(buf)).map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the engine stopped reading"))?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn io_error(what: &str) -> impl Fn(io::Error) -> Error + '_ {
    move |e| Error::Other(format!("{what}: {e}"))
}

fn joined<T>(r: Result<T, tokio::task::JoinError>) -> Result<T, Error> {
    r.map_err(|e| Error::Other(format!("snapshot file worker: {e}")))
}

/// The snapshot's data volumes in the order they were saved (`…_<i>`).
fn in_order(mut data: Vec<(String, std::collections::HashMap<String, String>)>) -> Vec<(String, std::collections::HashMap<String, String>)> {
    let index = |v: &str| v.rsplit('_').next().and_then(|i| i.parse::<usize>().ok()).unwrap_or(usize::MAX);
    data.sort_by_key(|(v, _)| (index(v), v.clone()));
    data
}

/// Write snapshot `name` of the plan's project to `out`; returns `out`, the
/// manifest and the checksum.
pub async fn export<W: Write + Send + 'static>(docker: &Docker, plan: &Plan, name: &str, out: W, ui: &Ui) -> Result<(W, Manifest, String), Error> {
    let project = &plan.project;
    let (info, data, _) = snap::find(docker, project, name).await?;
    let data = in_order(data);
    let t0 = Instant::now();
    let mut progress = Progress::new(ui, name, format!("exporting `{name}`"), info.size_kib * 1024);
    let mut writer = ArchiveWriter::new(out);
    let mut volumes = Vec::new();
    for (i, (volume, l)) in data.iter().enumerate() {
        let get = |k: &str| l.get(k).cloned().unwrap_or_default();
        let (w, counted, p) = export_volume(docker, project, i, volume, &get(labels::SNAPSHOT_IMAGE), writer, progress).await?;
        (writer, progress) = (w, p);
        progress.base += counted.bytes;
        volumes.push(VolumeEntry { service: get(labels::SERVICE), target: get(labels::SNAPSHOT_TARGET), source: get(labels::SNAPSHOT_SOURCE), files: counted.files, bytes: counted.bytes });
    }
    let manifest = manifest_of(plan, &info, volumes, &data);
    let m = manifest.clone();
    let (out, sha) = joined(tokio::task::spawn_blocking(move || writer.finish(&m)).await)?.map_err(io_error("write the snapshot file"))?;
    progress.done(progress.base, t0);
    Ok((out, manifest, sha))
}

fn manifest_of(plan: &Plan, info: &SnapshotInfo, volumes: Vec<VolumeEntry>, data: &[(String, std::collections::HashMap<String, String>)]) -> Manifest {
    let services = info
        .services
        .iter()
        .map(|(svc, image)| {
            let planned = plan.services.get(svc);
            // The hash the save recorded, else this file's (the snapshot's service as configured now).
            let saved_hash = data.iter().find(|(_, l)| l.get(labels::SERVICE) == Some(svc)).and_then(|(_, l)| l.get(labels::CONFIG_HASH).cloned());
            let config_hash = saved_hash.or_else(|| planned.map(|s| crate::plan::hash::config_hash(s, &plan.project)));
            let entry = ServiceEntry { image: image.clone(), preset: planned.and_then(|s| s.preset).map(|k| k.name().to_string()), major: snap::tag_major(image), config_hash };
            (svc.clone(), entry)
        })
        .collect();
    Manifest {
        format: archive::FORMAT,
        project: plan.project.clone(),
        snapshot: info.name.clone(),
        created_at: info.created_at.clone(),
        devenv_version: info.devenv_version.clone(),
        exported_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        services,
        volumes,
    }
}

/// Stream one snapshot volume into the writer (through a helper that mounts it read-only).
async fn export_volume<W: Write + Send + 'static>(
    docker: &Docker,
    project: &str,
    i: usize,
    volume: &str,
    image: &str,
    mut writer: ArchiveWriter<W>,
    mut progress: Progress,
) -> Result<(ArchiveWriter<W>, Counted, Progress), Error> {
    let helper = docker.io_helper(project, image, volume, true).await?;
    let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(16);
    let stream = docker.download_dir(&helper, IO_HELPER_MOUNT);
    let pump = async move {
        let mut stream = std::pin::pin!(stream);
        while let Some(chunk) = stream.next().await {
            let item = chunk.map_err(|e| io::Error::other(e.to_string()));
            let failed = item.is_err();
            if tx.send(item).await.is_err() || failed {
                break;
            }
        }
    };
    let job = tokio::task::spawn_blocking(move || {
        let r = writer.append_volume(i, ChanReader { rx, buf: Bytes::new() }, |b| progress.at(b));
        (writer, r, progress)
    });
    let ((), done) = tokio::join!(pump, job);
    docker.remove_container(&helper).await?;
    let (writer, counted, progress) = joined(done)?;
    let counted = counted.map_err(io_error(&format!("export volume `{volume}`")))?;
    Ok((writer, counted, progress))
}

/// Read `path` whole and check it (checksum, layout, manifest); nothing else.
pub async fn verify_file(path: &Path, ui: &Ui) -> Result<Manifest, Error> {
    let shown = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| Error::Usage { message: format!("cannot read {shown}: {e}"), hint: None })?;
    let total = file.metadata().map(|m| m.len()).unwrap_or(0);
    let t0 = Instant::now();
    let mut progress = Progress::new(ui, "import", format!("verifying {shown}"), total);
    let (result, progress) = joined(
        tokio::task::spawn_blocking(move || {
            let counting = Counting { inner: io::BufReader::with_capacity(256 * 1024, file), n: 0, progress: &mut progress };
            (archive::verify(counting), progress)
        })
        .await,
    )?;
    let manifest = result.map_err(|e| {
        let corrupt = e.is_corrupt();
        Error::Usage {
            message: format!("{shown} {}: {e}", if corrupt { "failed its checksum" } else { "cannot be imported" }),
            hint: Some(if corrupt { "the file is damaged or incomplete: copy or export it again; nothing was created".into() } else { "nothing was created".into() }),
        }
    })?;
    progress.done(total, t0);
    Ok(manifest)
}

/// Counts the bytes read (the compressed file's progress).
struct Counting<'a, R> {
    inner: R,
    n: u64,
    progress: &'a mut Progress,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let k = self.inner.read(buf)?;
        self.n += k as u64;
        self.progress.at(self.n);
        Ok(k)
    }
}

/// Import the export at `path` into the plan's project: verified first, then
/// stored as a snapshot like one `save` made. Returns it as `ls` shows it.
/// When `cancel` resolves first (Ctrl-C), what was made is removed and the
/// result is `Interrupted`.
pub async fn import(docker: &Docker, plan: &Plan, path: &Path, opts: &ImportOptions, ui: &Ui, cancel: impl std::future::Future<Output = ()>) -> Result<SnapshotInfo, Error> {
    let mut cancel = std::pin::pin!(cancel);
    let manifest = tokio::select! {
        m = verify_file(path, ui) => m?,
        () = &mut cancel => return Err(Error::Interrupted),
    };
    let project = &plan.project;
    check_project(&manifest, project, opts.from_project.as_deref(), path)?;
    let name = opts.name.clone().unwrap_or_else(|| manifest.snapshot.clone());
    snap::check_name(&name)?;
    if snap::list(docker, project).await?.iter().any(|s| s.name == name) && !opts.force {
        return Err(Error::Usage {
            message: format!("snapshot `{name}` exists in project `{project}`"),
            hint: Some("replace it with `--force`, or import under another name with `--name NEW`; nothing was created".into()),
        });
    }
    let images = helper_images(docker, plan, &manifest).await?;
    // From here on things are created. The old snapshot (--force) or an
    // earlier try's pieces go first.
    snap::remove_volumes(docker, project, &name).await?;
    let result = tokio::select! {
        r = import_volumes(docker, plan, path, &manifest, &name, &images, ui) => r,
        () = &mut cancel => Err(Error::Interrupted),
    };
    if result.is_err() {
        let _ = remove_io_helpers(docker, project, &name).await;
        let _ = snap::remove_volumes(docker, project, &name).await;
    }
    result
}

/// Remove the export/import helpers of `project` that mount a volume of
/// snapshot `name` (left by an export or import that was cut short).
pub async fn remove_io_helpers(docker: &Docker, project: &str, name: &str) -> Result<(), Error> {
    let ours = |v: &String| *v == snap::manifest_volume(project, name) || v.starts_with(&format!("{}_", snap::manifest_volume(project, name)));
    for h in docker.snapshot_helpers().await? {
        if h.project == project && !h.running && h.mounts.iter().any(ours) {
            docker.remove_container(&h.id).await?;
        }
    }
    Ok(())
}

fn check_project(m: &Manifest, project: &str, from: Option<&str>, path: &Path) -> Result<(), Error> {
    if m.project == project || from == Some(m.project.as_str()) {
        return Ok(());
    }
    let message = match from {
        Some(f) => format!("{} holds a snapshot of project `{}`, not `{f}`", path.display(), m.project),
        None => format!("{} holds a snapshot of project `{}`; this is project `{project}`", path.display(), m.project),
    };
    Err(Error::Usage {
        message,
        hint: Some(format!(
            "its data is restored by service name and mount path ({}); if that is what you want, say so: `devenv snapshot import {} --from-project {}`; nothing was created",
            m.volumes.iter().map(|v| format!("{}:{}", v.service, v.target)).collect::<Vec<_>>().join(", "),
            path.display(),
            m.project
        )),
    })
}

/// An image on this machine for each volume's helper (it is never started):
/// the service's image in this file, else the one the snapshot was saved from.
async fn helper_images(docker: &Docker, plan: &Plan, m: &Manifest) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    for v in &m.volumes {
        let saved = m.services.get(&v.service).map(|s| s.image.clone());
        let candidates: Vec<String> = plan.services.get(&v.service).map(|s| s.image.clone()).into_iter().chain(saved).collect();
        let mut found = None;
        for c in &candidates {
            if docker.image_id(c).await?.is_some() {
                found = Some(c.clone());
                break;
            }
        }
        let Some(image) = found else {
            return Err(Error::Usage {
                message: format!("no image to copy `{}` with: {} not on this machine", v.service, candidates.join(" nor ")),
                hint: Some("`devenv up -d` pulls the file's images; then import again. Nothing was created".into()),
            });
        };
        out.push(image);
    }
    Ok(out)
}

async fn import_volumes(docker: &Docker, plan: &Plan, path: &Path, m: &Manifest, name: &str, images: &[String], ui: &Ui) -> Result<SnapshotInfo, Error> {
    let project = &plan.project;
    let mut helpers = Vec::new();
    for (i, v) in m.volumes.iter().enumerate() {
        let image = m.services.get(&v.service).map(|s| s.image.clone()).unwrap_or_default();
        let part = Part { service: v.service.clone(), volume: v.source.clone(), target: v.target.clone(), image };
        let volume = snap::data_volume(project, name, i);
        docker.create_labelled_volume(&volume, snap::data_labels(project, name, &part)).await?;
        helpers.push(docker.io_helper(project, &images[i], &volume, false).await?);
    }
    let copied = copy_in(docker, path, m, name, &helpers, ui).await;
    for h in &helpers {
        docker.remove_container(h).await?;
    }
    copied?;
    let info = SnapshotInfo {
        name: name.to_string(),
        created_at: m.created_at.clone(),
        services: m.services.iter().map(|(s, e)| (s.clone(), e.image.clone())).collect(),
        size_kib: m.volumes.iter().map(|v| v.bytes).sum::<u64>().div_ceil(1024),
        devenv_version: m.devenv_version.clone(),
    };
    docker.create_labelled_volume(&snap::manifest_volume(project, name), snap::manifest_labels(project, &info)).await?;
    Ok(info)
}

/// Read the file again and upload each volume's entries into its helper.
async fn copy_in(docker: &Docker, path: &Path, m: &Manifest, name: &str, helpers: &[String], ui: &Ui) -> Result<(), Error> {
    let file = std::fs::File::open(path).map_err(io_error("read the snapshot file"))?;
    let t0 = Instant::now();
    let total: u64 = m.volumes.iter().map(|v| v.bytes).sum();
    let mut progress = Progress::new(ui, "import", format!("importing `{name}`"), std::fs::metadata(path).map(|x| x.len()).unwrap_or(total));
    let (open_tx, mut open_rx) = mpsc::channel::<(usize, mpsc::Receiver<Bytes>)>(1);
    let reader = tokio::task::spawn_blocking(move || {
        let counting = Counting { inner: io::BufReader::with_capacity(256 * 1024, file), n: 0, progress: &mut progress };
        let r = archive::read_volumes(counting, |i| {
            let (tx, rx) = mpsc::channel::<Bytes>(16);
            open_tx.blocking_send((i, rx)).map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the import stopped"))?;
            Ok(io::BufWriter::with_capacity(64 * 1024, ChanWriter(tx)))
        });
        (r, progress)
    });
    let uploads = async {
        while let Some((i, rx)) = open_rx.recv().await {
            let Some(helper) = helpers.get(i) else { return Err(Error::Other(format!("volume {i} is not in the manifest"))) };
            let body = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|b| (b, rx)) });
            docker.upload_tar(helper, IO_HELPER_MOUNT, body).await?;
        }
        Ok(())
    };
    let (uploaded, read) = tokio::join!(uploads, reader);
    let (read, progress) = joined(read)?;
    uploaded?;
    read.map_err(io_error("import the snapshot file"))?;
    progress.done(total, t0);
    Ok(())
}

/// A snapshot whose manifest volume is missing: a save or import that died
/// (or one running now: the caller checks the project's lock).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Torn {
    pub project: String,
    pub name: String,
    pub volumes: Vec<String>,
}

/// Group snapshot volumes (name, labels) into torn snapshots. Pure.
pub fn torn_of(volumes: &[crate::docker::LabelledVolume]) -> Vec<Torn> {
    let mut by: BTreeMap<(String, String), (bool, Vec<String>)> = BTreeMap::new();
    for v in volumes {
        let get = |k: &str| v.labels.get(k).cloned().unwrap_or_default();
        let e = by.entry((snap::owner_of(&v.labels), get(labels::SNAPSHOT))).or_default();
        e.0 |= get(labels::SNAPSHOT_PART) == "manifest";
        e.1.push(v.name.clone());
    }
    by.into_iter().filter(|(_, (complete, _))| !complete).map(|((project, name), (_, mut volumes))| {
        volumes.sort();
        Torn { project, name, volumes }
    }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::LabelledVolume;

    fn vol(name: &str, project: &str, snapshot: &str, part: &str) -> LabelledVolume {
        let labels = [(labels::SNAPSHOT_OF, project), (labels::SNAPSHOT, snapshot), (labels::SNAPSHOT_PART, part)].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        LabelledVolume { name: name.into(), labels }
    }

    #[test]
    fn a_snapshot_without_its_manifest_is_torn_and_a_complete_one_never() {
        let vols = [
            vol("a_snapshot_ok_0", "a", "ok", "data"),
            vol("a_snapshot_ok", "a", "ok", "manifest"),
            vol("a_snapshot_half_1", "a", "half", "data"),
            vol("a_snapshot_half_0", "a", "half", "data"),
            vol("b_snapshot_ok_0", "b", "ok", "data"),
        ];
        let torn = torn_of(&vols);
        assert_eq!(torn, vec![
            Torn { project: "a".into(), name: "half".into(), volumes: vec!["a_snapshot_half_0".into(), "a_snapshot_half_1".into()] },
            Torn { project: "b".into(), name: "ok".into(), volumes: vec!["b_snapshot_ok_0".into()] },
        ]);
    }

    #[test]
    fn volumes_are_exported_in_the_order_they_were_saved() {
        let d = |n: &str| (n.to_string(), std::collections::HashMap::new());
        let got: Vec<String> = in_order(vec![d("p_snapshot_s_10"), d("p_snapshot_s_2"), d("p_snapshot_s_0")]).into_iter().map(|(n, _)| n).collect();
        assert_eq!(got, ["p_snapshot_s_0", "p_snapshot_s_2", "p_snapshot_s_10"]);
    }

    #[test]
    fn a_file_of_another_project_needs_that_project_named() {
        let m = Manifest {
            format: 1,
            project: "shop".into(),
            snapshot: "s".into(),
            created_at: String::new(),
            devenv_version: String::new(),
            exported_at: String::new(),
            services: BTreeMap::new(),
            volumes: vec![VolumeEntry { service: "db".into(), target: "/var/lib/postgresql/data".into(), source: "shop_db".into(), files: 1, bytes: 1 }],
        };
        let p = Path::new("s.tgz");
        assert!(check_project(&m, "shop", None, p).is_ok());
        let e = check_project(&m, "other", None, p).unwrap_err();
        assert!(e.to_string().contains("snapshot of project `shop`; this is project `other`"), "{e}");
        assert!(check_project(&m, "other", Some("shop"), p).is_ok());
        assert!(check_project(&m, "other", Some("shopp"), p).is_err());
    }
}
