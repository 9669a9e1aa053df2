//! The status file of a running watch (`devenv watch`, `up --watch`): which
//! services it follows and, per service, what its last sync (or exec,
//! restart, rebuild) did and when — so that `devenv ui`, another process,
//! can show it. Docker knows nothing of a watch, and a container label cannot
//! change after creation, hence a file: `<runtime dir>/watch/<project>.json`
//! (`engine::runtime_dir`), written whole (a temporary file, then a rename)
//! when the watch starts and after each action, removed when it stops. A
//! file whose process is gone (killed) is ignored by readers. One watch per
//! project is expected: a second one's file replaces the first's.
//! Must not: print, or fail the watch (writing is best effort).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::engine::{file_name_of, runtime_dir};

/// What a running watch follows and did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WatchStatus {
    pub pid: u32,
    /// RFC 3339.
    pub started_at: String,
    /// The services whose `watch:` rules it follows.
    pub services: Vec<String>,
    /// Per service, the last thing a change made it do.
    pub last: BTreeMap<String, LastSync>,
}

/// One action of the watch on a service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LastSync {
    /// RFC 3339.
    pub at: String,
    pub ok: bool,
    /// What it did (`api: synced 2 files in 14 ms`) or why it failed.
    pub what: String,
}

/// The status file of `project`'s watch.
pub fn path(project: &str) -> PathBuf {
    runtime_dir().join("watch").join(format!("{}.json", file_name_of(project)))
}

/// The status of the watch running on `project`, if one runs.
pub fn read(project: &str) -> Option<WatchStatus> {
    read_from(&path(project))
}

fn read_from(path: &Path) -> Option<WatchStatus> {
    let status: WatchStatus = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    alive(status.pid).then_some(status)
}

/// Whether process `pid` exists (signal 0 checks without sending anything).
fn alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
    // SAFETY: kill with signal 0 only checks that the process exists.
    pid > 0 && (unsafe { libc::kill(pid, 0) } == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM))
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Keeps this process's watch status file up to date; removes it when dropped.
pub struct Recorder {
    path: PathBuf,
    status: Mutex<WatchStatus>,
}

impl Recorder {
    /// Start recording for `project`, following `services`.
    pub fn start(project: &str, services: Vec<String>) -> Recorder {
        Recorder::at(path(project), services)
    }

    fn at(path: PathBuf, services: Vec<String>) -> Recorder {
        let status = WatchStatus { pid: std::process::id(), started_at: now(), services, last: BTreeMap::new() };
        let r = Recorder { path, status: Mutex::new(status) };
        r.write();
        r
    }

    /// The services followed changed (the environment file was edited).
    pub fn set_services(&self, services: Vec<String>) {
        if let Ok(mut s) = self.status.lock() {
            s.services = services;
        }
        self.write();
    }

    /// `service`'s last action: `what` it did, or why it failed.
    pub fn record(&self, service: &str, ok: bool, what: &str) {
        if let Ok(mut s) = self.status.lock() {
            s.last.insert(service.to_string(), LastSync { at: now(), ok, what: what.to_string() });
        }
        self.write();
    }

    fn write(&self) {
        let Ok(bytes) = self.status.lock().map(|s| serde_json::to_vec(&*s).unwrap_or_default()) else { return };
        let Some(dir) = self.path.parent() else { return };
        let tmp = self.path.with_extension(format!("json.{}", std::process::id()));
        let _ = std::fs::create_dir_all(dir).and_then(|()| std::fs::write(&tmp, bytes)).and_then(|()| std::fs::rename(&tmp, &self.path));
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        // Only our own file: another watch may have replaced it.
        if read_from(&self.path).is_some_and(|s| s.pid == std::process::id()) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorder_writes_its_status_and_removes_it_when_dropped() {
        let dir = std::env::temp_dir().join(format!("devenv-watch-status-{}", std::process::id()));
        let file = dir.join("p.json");
        let r = Recorder::at(file.clone(), vec!["api".into()]);
        let s = read_from(&file).expect("written at start");
        assert_eq!((s.pid, s.services.clone(), s.last.len()), (std::process::id(), vec!["api".to_string()], 0));
        r.record("api", true, "api: synced 2 files in 14 ms");
        r.record("api", false, "api: restart failed: boom");
        let s = read_from(&file).expect("rewritten");
        let last = &s.last["api"];
        assert_eq!((last.ok, last.what.as_str()), (false, "api: restart failed: boom"));
        assert!(chrono::DateTime::parse_from_rfc3339(&last.at).is_ok(), "{}", last.at);
        drop(r);
        assert!(!file.exists(), "removed when the watch stops");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_file_left_by_a_dead_process_is_ignored() {
        let dir = std::env::temp_dir().join(format!("devenv-watch-dead-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("p.json");
        // A pid that does not exist: above the kernel's maximum.
        let dead = WatchStatus { pid: 4_194_305, started_at: now(), services: vec![], last: BTreeMap::new() };
        std::fs::write(&file, serde_json::to_vec(&dead).unwrap()).unwrap();
        assert_eq!(read_from(&file), None);
        std::fs::write(&file, b"not json").unwrap();
        assert_eq!(read_from(&file), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
