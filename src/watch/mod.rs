//! watch: hot reload. File events → rules → debounced batches per service →
//! sync (one tar stream), restart or rebuild; edits of the environment file
//! re-plan and recreate what changed.
//!
//! Owns: the watch loop and its pure layers (`rules`, `debounce`, `sync`,
//! `pipe`), the per-container sync channels (`channels`), and the status
//! file that tells `devenv ui` what the loop follows and last did (`status`).
//! Must not: print (it emits `ui` events) or import bollard (`docker` does the calls).

mod channels;
pub mod debounce;
pub mod pipe;
pub mod rules;
pub mod status;
pub mod sync;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use notify::Watcher;
use tokio::sync::mpsc;

use crate::config::WatchAction;
use crate::docker::Docker;
use crate::engine::{self, Session, UpOptions};
use crate::error::Error;
use crate::observe::ContainerState;
use crate::plan::Plan;
use crate::ui::{Status, Ui};
use debounce::Debouncer;
use rules::{canonical, Matcher};
use sync::SyncPlan;

/// Batches above this size announce themselves before the upload.
const LARGE_BATCH: u64 = 64 * 1024 * 1024;
/// The debouncer key of environment-file edits (not a valid service name).
const CONFIG_KEY: &str = "\u{0}config";

#[derive(Debug, Clone)]
pub struct Options {
    /// Services to watch (all with `watch:` rules when empty).
    pub services: Vec<String>,
    /// Quiet period before a batch is acted on.
    pub debounce: Duration,
    /// Readiness deadline after a restart / recreate when `health` sets none.
    pub ready_timeout: Duration,
}

/// Loads and plans the environment file again (after it was edited).
pub type Reload = Box<dyn Fn() -> Result<Plan, Error> + Send + Sync>;

struct Watching {
    docker: Docker,
    ui: Ui,
    opts: Options,
    /// Shared with the engine's sessions, replaced on a re-plan.
    plan: Arc<Plan>,
    matcher: Matcher,
    /// Files that trigger a re-plan: the environment file and its `.env`.
    config_files: Vec<PathBuf>,
    containers: HashMap<String, String>,
    /// Services already told they have no running container (told once until it changes).
    missing: HashSet<String>,
    watcher: Option<notify::RecommendedWatcher>,
    roots: Vec<PathBuf>,
    tx: mpsc::UnboundedSender<PathBuf>,
    /// Small batches go through a long-lived exec per container.
    channels: channels::Channels,
    /// The status file `devenv ui` reads: the last action per service.
    status: status::Recorder,
}

/// Watch until `stop` resolves. Errors only when watching cannot start.
pub async fn run(docker: &Docker, plan: Plan, reload: Reload, opts: Options, ui: &Ui, stop: impl Future<Output = ()>) -> Result<(), Error> {
    for s in &opts.services {
        if !plan.services.contains_key(s) {
            let known: Vec<&str> = plan.services.keys().map(String::as_str).collect();
            return Err(Error::Usage { message: format!("no service `{s}` in {}", plan.file.display()), hint: Some(format!("services are: {}", known.join(", "))) });
        }
    }
    let (tx, mut rx) = mpsc::unbounded_channel::<PathBuf>();
    let matcher = Matcher::from_plan(&plan, &opts.services);
    let recorder = status::Recorder::start(&plan.project, followed(&matcher));
    let env_file = canonical(&plan.file);
    let config_files = vec![env_file.clone(), env_file.with_file_name(".env")];
    let mut w = Watching {
        docker: docker.clone(),
        ui: ui.clone(),
        opts,
        plan: Arc::new(plan),
        matcher,
        config_files,
        containers: HashMap::new(),
        missing: HashSet::new(),
        watcher: None,
        roots: vec![],
        tx,
        channels: channels::Channels::default(),
        status: recorder,
    };
    if w.matcher.rules.is_empty() {
        ui.warn("no `watch:` rules for the selected services: only the environment file is watched");
    }
    w.restart_watcher()?;
    w.initial_sync().await;
    let n = w.matcher.rules.len();
    let services: std::collections::BTreeSet<&str> = w.matcher.rules.iter().map(|r| r.service.as_str()).collect();
    ui.info(format!(
        "watching {n} rule{} of {} ({} director{}); press Ctrl-C to stop",
        if n == 1 { "" } else { "s" },
        if services.is_empty() { "no service".to_string() } else { services.into_iter().collect::<Vec<_>>().join(", ") },
        w.roots.len(),
        if w.roots.len() == 1 { "y" } else { "ies" }
    ));

    let mut debouncer: Debouncer<PathBuf> = Debouncer::new(w.opts.debounce);
    tokio::pin!(stop);
    loop {
        let deadline = debouncer.deadline();
        tokio::select! {
            _ = &mut stop => break,
            Some(path) = rx.recv() => {
                let now = Instant::now();
                w.route(&mut debouncer, path, now);
                while let Ok(p) = rx.try_recv() {
                    w.route(&mut debouncer, p, now);
                }
            }
            _ = sleep_until(deadline), if deadline.is_some() => {
                let due = debouncer.take_due(Instant::now());
                // The environment file first: later batches use the new plan.
                let (config, batches): (Vec<_>, Vec<_>) = due.into_iter().partition(|(k, _)| k == CONFIG_KEY);
                if !config.is_empty() {
                    w.replan(&reload).await;
                }
                for (service, paths) in batches {
                    w.handle_batch(&service, &paths).await;
                }
            }
        }
    }
    ui.info("stopped watching");
    Ok(())
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(tokio::time::Instant::from_std(d)).await,
        None => std::future::pending().await,
    }
}

fn ms(d: Duration) -> u128 {
    d.as_millis()
}

/// The warning for a failed sync: a directory under `target` that the container
/// holds as a symlink (or a file) is named, with what to do; else the error.
fn sync_failed(service: &str, error: &str) -> String {
    match sync::not_a_directory_in_container(error) {
        Some(path) => format!(
            "{service}: not synced: {path} is a symlink or a file in the container, not a directory; \
             devenv never writes through it (nothing was written there). Remove it in the container \
             (`devenv exec {service} -- rm {path}`) or recreate the service, then save again"
        ),
        None => format!("{service}: sync failed: {error}"),
    }
}

/// The services `matcher`'s rules are of, each once.
fn followed(matcher: &Matcher) -> Vec<String> {
    let set: std::collections::BTreeSet<String> = matcher.rules.iter().map(|r| r.service.clone()).collect();
    set.into_iter().collect()
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl Watching {
    /// (Re)create the notify watcher: one recursive watch per root directory,
    /// plus the environment file's directory (not recursive).
    fn restart_watcher(&mut self) -> Result<(), Error> {
        let roots = self.matcher.watch_roots();
        let config_dir = self.config_files.first().and_then(|f| f.parent()).map(Path::to_path_buf);
        if self.watcher.is_some() && roots == self.roots {
            return Ok(());
        }
        self.watcher = None;
        let tx = self.tx.clone();
        let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            let Ok(ev) = res else { return };
            // Our own reads (building the tar) show up as access events: never act on them.
            if matches!(ev.kind, notify::EventKind::Access(_)) {
                return;
            }
            for p in ev.paths {
                let _ = tx.send(p);
            }
        })
        .map_err(|e| Error::Other(format!("cannot start the file watcher: {e}")))?;
        for root in &roots {
            watcher.watch(root, notify::RecursiveMode::Recursive).map_err(|e| watch_error(root, e))?;
        }
        if let Some(dir) = config_dir
            && !roots.iter().any(|r| dir.starts_with(r))
        {
            watcher.watch(&dir, notify::RecursiveMode::NonRecursive).map_err(|e| watch_error(&dir, e))?;
        }
        self.watcher = Some(watcher);
        self.roots = roots;
        Ok(())
    }

    fn route(&self, debouncer: &mut Debouncer<PathBuf>, path: PathBuf, now: Instant) {
        if self.config_files.contains(&path) {
            debouncer.push(CONFIG_KEY, path.clone(), now);
        }
        for i in self.matcher.matches(&path) {
            debouncer.push(&self.matcher.rules[i].service, path.clone(), now);
        }
    }

    /// The running container of `service` (cached), or None with a message (once).
    async fn container(&mut self, service: &str) -> Option<String> {
        if let Some(id) = self.containers.get(service) {
            return Some(id.clone());
        }
        let found = match self.docker.project_containers(&self.plan.project).await {
            Ok(cs) => cs.into_iter().find(|c| c.service.as_deref() == Some(service) && c.state == ContainerState::Running).map(|c| c.id),
            Err(e) => {
                self.ui.warn(format!("{service}: cannot list containers: {e}"));
                return None;
            }
        };
        match found {
            Some(id) => {
                self.missing.remove(service);
                self.containers.insert(service.to_string(), id.clone());
                Some(id)
            }
            None => {
                if self.missing.insert(service.to_string()) {
                    self.ui.warn(format!(
                        "{service}: no running container; changes are not synced (start it with `devenv up -d {service}`); still watching the others"
                    ));
                }
                None
            }
        }
    }

    /// On start: files changed while nobody watched (newer than the container's start) are synced once.
    async fn initial_sync(&mut self) {
        let services: Vec<String> = {
            let mut v: Vec<String> = self.matcher.rules.iter().filter(|r| r.action != WatchAction::Rebuild).map(|r| r.service.clone()).collect();
            v.dedup();
            v
        };
        for service in services {
            let Some(id) = self.container(&service).await else { continue };
            let since = match self.docker.inspect(&id).await {
                Ok(info) => info.started_at.as_deref().and_then(parse_time),
                Err(_) => None,
            };
            let Some(since) = since else { continue };
            let t0 = Instant::now();
            let mut plan = SyncPlan::default();
            for r in self.matcher.rules.iter().filter(|r| r.service == service && r.action != WatchAction::Rebuild) {
                let r = r.clone();
                let p = tokio::task::spawn_blocking(move || sync::plan(&r, std::slice::from_ref(&r.root), Some(since))).await.unwrap_or_default();
                plan.merge(p);
            }
            for s in &plan.skipped {
                self.ui.warn(format!("{service}: {s}"));
            }
            if plan.entries.is_empty() {
                continue;
            }
            match self.apply(&service, &id, plan).await {
                Ok((files, _)) => self.outcome(&service, true, format!("{service}: initial sync: {} changed while not watching, copied in {} ms", plural(files, "file", "files"), ms(t0.elapsed()))),
                Err(e) => self.outcome(&service, false, format!("{service}: initial sync failed: {e}")),
            }
        }
    }

    /// Say what a change made the watch do to `service` (or why it failed),
    /// and keep it as the service's last sync in the status file.
    fn outcome(&self, service: &str, ok: bool, message: String) {
        self.status.record(service, ok, &message);
        if ok {
            self.ui.info(message);
        } else {
            self.ui.warn(message);
        }
    }

    /// One debounced batch of changed paths of one service.
    async fn handle_batch(&mut self, service: &str, paths: &[PathBuf]) {
        let t0 = Instant::now();
        let mut by_rule: BTreeMap<usize, Vec<PathBuf>> = BTreeMap::new();
        for p in paths {
            for i in self.matcher.matches(p) {
                if self.matcher.rules[i].service == service {
                    by_rule.entry(i).or_default().push(p.clone());
                }
            }
        }
        if by_rule.is_empty() {
            return;
        }
        let rules: Vec<rules::Rule> = by_rule.keys().map(|i| self.matcher.rules[*i].clone()).collect();
        if rules.iter().any(|r| r.action == WatchAction::Rebuild) {
            self.rebuild(service, paths.len()).await;
            return;
        }
        let Some(id) = self.container(service).await else { return };
        let mut plan = SyncPlan::default();
        for (i, ps) in by_rule {
            let r = self.matcher.rules[i].clone();
            let p = tokio::task::spawn_blocking(move || sync::plan(&r, &ps, None)).await.unwrap_or_default();
            plan.merge(p);
        }
        for s in &plan.skipped {
            self.ui.warn(format!("{service}: {s}"));
        }
        if !plan.is_empty() {
            let deletes = plan.deletes.len();
            match self.apply(service, &id, plan).await {
                Ok((files, vanished)) => {
                    let mut msg = format!("{service}: synced {}", plural(files, "file", "files"));
                    if deletes > 0 {
                        msg.push_str(&format!(", deleted {}", plural(deletes, "path", "paths")));
                    }
                    if vanished > 0 {
                        msg.push_str(&format!(" ({vanished} deleted while syncing, skipped)"));
                    }
                    self.outcome(service, true, format!("{msg} in {} ms", ms(t0.elapsed())));
                }
                Err(e) => {
                    self.containers.remove(service);
                    self.outcome(service, false, sync_failed(service, &e.to_string()));
                    return;
                }
            }
        }
        for r in &rules {
            if let Some(cmd) = &r.exec {
                self.exec(service, &id, cmd).await;
            }
        }
        if rules.iter().any(|r| r.action == WatchAction::Restart) {
            self.restart(service, &id).await;
        }
    }

    /// Deletions (`rm -rf --` in the container) and the copies (one tar stream).
    /// Returns (files copied, files that vanished before they could be read).
    async fn apply(&self, service: &str, id: &str, plan: SyncPlan) -> Result<(usize, usize), Error> {
        // Deletions that do not touch what is copied run alongside the upload;
        // otherwise (a directory replaced by a file, …) they run first.
        let conflict = plan.deletes.iter().any(|d| {
            let d = d.trim_start_matches('/');
            plan.entries.keys().any(|k| k == d || k.starts_with(&format!("{d}/")) || d.starts_with(&format!("{k}/")))
        });
        let deletes = plan.deletes.clone();
        let guards: Vec<String> = plan.delete_guards.iter().cloned().collect();
        if conflict {
            self.delete(service, id, &deletes, &guards).await;
            return self.upload(service, id, plan).await;
        }
        let (_, copied) = tokio::join!(self.delete(service, id, &deletes, &guards), self.upload(service, id, plan));
        copied
    }

    /// Which of `dirs` the container holds as symlinks (all of them when it cannot tell).
    async fn symlinks_in_container(&self, service: &str, id: &str, dirs: &[String]) -> Vec<String> {
        if dirs.is_empty() {
            return Vec::new();
        }
        let mut cmd: Vec<String> = ["sh", "-c", "for p; do if [ -L \"$p\" ]; then echo \"$p\"; fi; done", "sh"].map(String::from).to_vec();
        cmd.extend(dirs.iter().cloned());
        match self.docker.exec_capture(id, &cmd).await {
            Ok((0, out)) => out.lines().map(str::to_string).filter(|l| dirs.contains(l)).collect(),
            Ok((code, out)) => {
                self.ui.warn(format!("{service}: cannot check the container for symlinks (exit {code}): {}", out.trim()));
                dirs.to_vec()
            }
            Err(e) => {
                self.ui.warn(format!("{service}: cannot check the container for symlinks (does it have `sh`?): {e}"));
                dirs.to_vec()
            }
        }
    }

    /// `rm -rf --` the paths in the container, except below a directory of
    /// `guards` that the container holds as a symlink (`rm` would follow it).
    async fn delete(&self, service: &str, id: &str, paths: &[String], guards: &[String]) {
        let links = self.symlinks_in_container(service, id, guards).await;
        let (paths, refused) = sync::split_deletes(paths, &links);
        if !refused.is_empty() {
            self.ui.warn(format!(
                "{service}: not deleted: {} (below {}: a symlink in the container, or not checkable; devenv never deletes through a symlink)",
                refused.join(" "),
                links.join(", ")
            ));
        }
        if paths.is_empty() {
            return;
        }
        let mut cmd = vec!["rm".to_string(), "-rf".into(), "--".into()];
        cmd.extend(paths.iter().cloned());
        match self.docker.exec_capture(id, &cmd).await {
            Ok((0, _)) => {}
            Ok((code, out)) => self.ui.warn(format!("{service}: deleting {} in the container failed (exit {code}): {}", paths.join(" "), out.trim())),
            Err(e) => self.ui.warn(format!("{service}: cannot delete in the container (does it have `rm`?): {e}")),
        }
    }

    /// The copies as one tar stream. Returns (files copied, files that vanished before they could be read).
    async fn upload(&self, service: &str, id: &str, plan: SyncPlan) -> Result<(usize, usize), Error> {
        if plan.entries.is_empty() {
            return Ok((0, 0));
        }
        match self.channels.sync(&self.docker, id, &plan).await {
            channels::Outcome::Synced(w) => return Ok((w.files, w.vanished.len())),
            channels::Outcome::Refused(why) => return Err(Error::Other(why)),
            channels::Outcome::NotCarried => {}
        }
        let bytes = plan.bytes();
        if bytes > LARGE_BATCH {
            self.ui.info(format!("{service}: syncing {} ({} MiB)…", plural(plan.files(), "file", "files"), bytes / (1024 * 1024)));
        }
        let (btx, mut brx) = mpsc::channel::<bytes::Bytes>(8);
        let writer = tokio::task::spawn_blocking(move || {
            let mut w = ChannelWriter { tx: btx, buf: Vec::with_capacity(CHUNK) };
            let written = sync::write_tar(&plan, &mut w)?;
            std::io::Write::flush(&mut w)?;
            Ok::<_, std::io::Error>(written)
        });
        let stream = futures_util::stream::poll_fn(move |cx| brx.poll_recv(cx));
        let upload = self.docker.upload_tar(id, "/", stream).await;
        let written = writer.await.map_err(|e| Error::Other(format!("tar task: {e}")))?;
        upload?;
        let written = written.map_err(|e| Error::Other(format!("reading files to sync: {e}")))?;
        Ok((written.files, written.vanished.len()))
    }

    async fn exec(&self, service: &str, id: &str, cmd: &[String]) {
        let t0 = Instant::now();
        match self.docker.exec_capture(id, cmd).await {
            Ok((0, _)) => self.outcome(service, true, format!("{service}: ran `{}` in {} ms", cmd.join(" "), ms(t0.elapsed()))),
            Ok((code, out)) => {
                let tail: Vec<&str> = out.lines().rev().take(10).collect::<Vec<_>>().into_iter().rev().collect();
                self.outcome(service, false, format!("{service}: `{}` exited {code}\n{}", cmd.join(" "), tail.join("\n")));
            }
            Err(e) => self.outcome(service, false, format!("{service}: `{}` failed: {e}", cmd.join(" "))),
        }
    }

    async fn restart(&mut self, service: &str, id: &str) {
        let t0 = Instant::now();
        self.ui.info(format!("{service}: restarting"));
        if let Err(e) = self.docker.restart(id, Duration::from_secs(10)).await {
            self.containers.remove(service);
            self.outcome(service, false, format!("{service}: restart failed: {e}"));
            return;
        }
        let health = self.plan.services.get(service).and_then(|s| s.health.clone());
        match engine::health::wait_ready(&self.docker, id, health.as_ref(), self.opts.ready_timeout).await {
            Ok(()) => self.outcome(service, true, format!("{service}: restarted, ready in {} ms", ms(t0.elapsed()))),
            Err(e) => {
                self.containers.remove(service);
                self.outcome(service, false, format!("{service}: not ready after restart: {}", not_ready(&e)));
            }
        }
    }

    /// Rebuild the image, then let the engine recreate the service (image changed).
    async fn rebuild(&mut self, service: &str, changes: usize) {
        let t0 = Instant::now();
        let Some(svc) = self.plan.services.get(service).cloned() else { return };
        let Some(build) = svc.build.clone() else { return };
        self.ui.info(format!("{service}: {} changed, rebuilding", plural(changes, "file", "files")));
        let built = engine::build_image(&self.docker, &self.plan.project, &svc, &build, &self.ui).await;
        if let Err(e) = built {
            self.ui.error(&e);
            self.status.record(service, false, &format!("{service}: rebuild failed: {e}"));
            self.ui.warn(format!("{service}: rebuild failed; the running container is left as it was"));
            return;
        }
        self.ui.service(service, Status::Built);
        match self.up(&[service.to_string()]).await {
            None => self.outcome(service, true, format!("{service}: rebuilt and recreated in {} ms", ms(t0.elapsed()))),
            Some(e) => self.status.record(service, false, &format!("{service}: rebuilt, but recreating it failed: {e}")),
        }
    }

    /// `Session::up` for `services` (their dependencies are kept as they are unless they changed too).
    /// Returns why it failed (already shown), if it did.
    async fn up(&mut self, services: &[String]) -> Option<String> {
        let opts = UpOptions { remove_orphans: false, build: false, ready_timeout: self.opts.ready_timeout, owner: None };
        let session = Session::new(self.docker.clone(), self.plan.clone(), self.ui.clone(), opts);
        let failed = session.up(services).await.err();
        if let Some(e) = &failed {
            self.ui.error(e);
        }
        for s in services {
            self.containers.remove(s);
            self.missing.remove(s);
        }
        failed.map(|e| e.to_string())
    }

    /// The environment file changed: plan again; recreate the services whose configuration changed.
    async fn replan(&mut self, reload: &Reload) {
        let new = match reload() {
            Ok(p) => p,
            Err(e) => {
                self.ui.error(&e);
                self.ui.warn("the environment file has errors: still watching with the previous configuration");
                return;
            }
        };
        let changed: Vec<String> = new
            .services
            .iter()
            .filter(|(name, svc)| match self.plan.services.get(*name) {
                Some(old) => old.config_hash != svc.config_hash,
                None => self.opts.services.is_empty(),
            })
            .filter(|(name, _)| self.opts.services.is_empty() || self.opts.services.contains(name))
            .map(|(name, _)| name.clone())
            .collect();
        self.plan = Arc::new(new);
        self.matcher = Matcher::from_plan(&self.plan, &self.opts.services);
        self.status.set_services(followed(&self.matcher));
        if let Err(e) = self.restart_watcher() {
            self.ui.warn(format!("{e}"));
        }
        if changed.is_empty() {
            self.ui.info("environment file changed: no service needs to be recreated");
            return;
        }
        self.ui.info(format!("environment file changed: updating {}", changed.join(", ")));
        let _ = self.up(&changed).await;
    }
}

fn watch_error(path: &Path, e: notify::Error) -> Error {
    // The inotify watch limit: notify reports it as MaxFilesWatch, or as the
    // ENOSPC that inotify_add_watch returns.
    let limit = match &e.kind {
        notify::ErrorKind::MaxFilesWatch => true,
        notify::ErrorKind::Io(io) => io.kind() == std::io::ErrorKind::StorageFull,
        _ => false,
    };
    let hint = if limit {
        " (inotify watch limit reached: raise fs.inotify.max_user_watches, or add large directories to `ignore`)"
    } else {
        ""
    };
    Error::Other(format!("cannot watch {}: {e}{hint}", path.display()))
}

fn not_ready(e: &engine::health::NotReady) -> String {
    use engine::health::NotReady;
    match e {
        NotReady::Exited { code, oom } => format!("the container exited (code {}{})", code.map(|c| c.to_string()).unwrap_or_else(|| "?".into()), if *oom { ", out of memory" } else { "" }),
        NotReady::Timeout { last_error, after } => format!("not ready after {} s: {last_error}", after.as_secs()),
        NotReady::Fatal { error } => error.clone(),
        NotReady::Docker(e) => e.to_string(),
    }
}

/// Docker's RFC 3339 timestamps (`2024-05-01T10:00:00.123456789Z`).
fn parse_time(s: &str) -> Option<SystemTime> {
    let t = chrono::DateTime::parse_from_rfc3339(s).ok()?;
    let nanos = t.timestamp_nanos_opt()?;
    if nanos <= 0 {
        return None;
    }
    Some(SystemTime::UNIX_EPOCH + Duration::from_nanos(nanos as u64))
}

const CHUNK: usize = 256 * 1024;

/// A `Write` that hands chunks to the upload stream (back-pressured: at most a few chunks in flight).
struct ChannelWriter {
    tx: mpsc::Sender<bytes::Bytes>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = bytes::Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx.blocking_send(chunk).map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the upload ended early"))
    }
}

impl std::io::Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_timestamps_parse() {
        let t = parse_time("2024-05-01T10:00:00.123456789Z").unwrap();
        assert_eq!(t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_nanos(), 1_714_557_600_123_456_789);
        assert!(parse_time("0001-01-01T00:00:00Z").is_none());
        assert!(parse_time("garbage").is_none());
    }
}
