//! The per-project lock: one devenv at a time changes a project.
//!
//! Owns: an advisory `flock(2)` on `<runtime dir>/devenv/locks/<project>.lock`
//! (`$XDG_RUNTIME_DIR`, else the user's cache dir, else the temp dir), held by
//! the commands that change a project (`up`, `down`, `run`, `seed`, `gc`). The
//! kernel releases it when the holder exits, however it dies (SIGKILL
//! included), so a crash never leaves a project locked. The holder writes its
//! pid into the file, so a waiting run can say whom it waits for.
//! Must not: print (it emits `ui` events), or touch Docker.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::ui::Ui;

/// How long a command waits for another devenv on the same project, unless
/// `DEVENV_LOCK_TIMEOUT` says otherwise.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(600);

/// Held while it lives; dropping it (or the process ending) releases the lock.
#[derive(Debug)]
pub struct ProjectLock {
    /// `None`: a parent devenv holds it (see `HELD_BY_PARENT`).
    _file: Option<File>,
}

/// Set by `devenv run` in its command's environment to the project it holds
/// locked: a devenv started by that command (`devenv seed --reset` in a test
/// script) works on the project under its parent's lock instead of waiting
/// for a parent that waits for it.
pub const HELD_BY_PARENT: &str = "DEVENV_LOCKED_PROJECT";

fn held_by_parent(project: &str) -> bool {
    std::env::var(HELD_BY_PARENT).is_ok_and(|p| p == project)
}

/// Whether the lock was taken or is held by someone else.
enum Attempt {
    Taken(File),
    Busy(File),
}

/// devenv's per-user runtime directory: `$XDG_RUNTIME_DIR/devenv`, else the
/// user's cache dir, else `devenv-UID` in the temp dir. It holds the lock
/// files (`locks/`) and the status files of running watches (`watch/`).
pub fn runtime_dir() -> PathBuf {
    let dirs = directories::ProjectDirs::from("dev", "devenv", "devenv");
    if let Some(d) = dirs.as_ref().and_then(|d| d.runtime_dir()) {
        return d.to_path_buf();
    }
    if let Some(d) = dirs.as_ref() {
        return d.cache_dir().to_path_buf();
    }
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    std::env::temp_dir().join(format!("devenv-{uid}"))
}

/// The directory holding the lock files.
fn lock_dir() -> PathBuf {
    runtime_dir().join("locks")
}

/// The lock file of `project` (any character outside `[a-zA-Z0-9_.-]` becomes `_`).
pub fn lock_path(project: &str) -> PathBuf {
    lock_dir().join(format!("{}.lock", file_name_of(project)))
}

/// `project` as a file name: any character outside `[a-zA-Z0-9_.-]` becomes `_`.
pub fn file_name_of(project: &str) -> String {
    project.chars().map(|c| if c.is_ascii_alphanumeric() || "_.-".contains(c) { c } else { '_' }).collect()
}

fn lock_error(project: &str, what: &str, e: std::io::Error) -> Error {
    Error::Preflight {
        message: format!("cannot {what} the lock of project `{project}` ({}): {e}", lock_path(project).display()),
        hint: Some("devenv locks each project so that two runs never change it at once; check that directory's permissions".into()),
    }
}

fn attempt(project: &str) -> Result<Attempt, Error> {
    let path = lock_path(project);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| lock_error(project, "create the directory for", e))?;
    }
    let file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(|e| lock_error(project, "open", e))?;
    #[cfg(unix)]
    {
        use std::os::unix::io::AsRawFd;
        // SAFETY: flock on a file descriptor this function owns.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let e = std::io::Error::last_os_error();
            return match e.raw_os_error() {
                Some(libc::EWOULDBLOCK) => Ok(Attempt::Busy(file)),
                _ => Err(lock_error(project, "take", e)),
            };
        }
    }
    Ok(Attempt::Taken(file))
}

/// The pid the current holder wrote into the lock file, if it did.
fn holder(mut file: &File) -> Option<u32> {
    let mut s = String::new();
    file.rewind().ok()?;
    file.read_to_string(&mut s).ok()?;
    s.trim().parse().ok()
}

/// `DEVENV_LOCK_TIMEOUT` (a duration such as `30s`, `0s`), else the default.
pub fn lock_timeout() -> Result<Duration, Error> {
    match std::env::var("DEVENV_LOCK_TIMEOUT") {
        Ok(v) if !v.trim().is_empty() => crate::config::parse_duration(v.trim()).map_err(|e| Error::Usage {
            message: format!("DEVENV_LOCK_TIMEOUT={v}: {e}"),
            hint: Some("a duration such as `30s`, `5m` or `0s` (do not wait)".into()),
        }),
        _ => Ok(DEFAULT_LOCK_TIMEOUT),
    }
}

/// Take the lock of `project`, waiting up to `timeout` for another devenv
/// that holds it (saying so once). After the timeout: a pre-flight error
/// (nothing was done).
pub async fn lock_project(project: &str, timeout: Duration, ui: &Ui) -> Result<ProjectLock, Error> {
    if held_by_parent(project) {
        return Ok(ProjectLock { _file: None });
    }
    let started = Instant::now();
    let mut said = false;
    loop {
        match attempt(project)? {
            Attempt::Taken(file) => {
                let lock = ProjectLock { _file: Some(file) };
                lock.name_holder(std::process::id());
                return Ok(lock);
            }
            Attempt::Busy(file) => {
                let pid = holder(&file).map(|p| format!(" (pid {p})")).unwrap_or_default();
                if started.elapsed() >= timeout {
                    return Err(Error::Preflight {
                        message: format!("another devenv{pid} is still working on project `{project}`; gave up after waiting {}s", timeout.as_secs()),
                        hint: Some("let it finish (or stop it), then run this again; DEVENV_LOCK_TIMEOUT sets how long to wait (e.g. `DEVENV_LOCK_TIMEOUT=30m`)".into()),
                    });
                }
                if !said {
                    ui.info(format!("waiting for another devenv on project `{project}`{pid} to finish"));
                    said = true;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Set, in the environment of a child devenv handed the lock, to the number
/// of the lock file's descriptor it inherited (`reset`'s preparation of the
/// next reset, which outlives the command): the child holds the lock until
/// it exits, so the next devenv on the project waits for it.
pub const INHERITED_FD: &str = "DEVENV_LOCK_FD";

impl ProjectLock {
    /// The lock file's descriptor, to hand to a child that outlives this
    /// process (`None` when a parent devenv holds the lock).
    #[cfg(unix)]
    pub fn raw_fd(&self) -> Option<std::os::unix::io::RawFd> {
        use std::os::unix::io::AsRawFd;
        self._file.as_ref().map(|f| f.as_raw_fd())
    }

    /// Name `pid` as the holder (a waiting run says whom it waits for).
    /// Best effort: only that message depends on it.
    pub fn name_holder(&self, pid: u32) {
        if let Some(mut f) = self._file.as_ref() {
            let _ = f.set_len(0).and_then(|_| f.rewind()).and_then(|_| writeln!(f, "{pid}"));
        }
    }
}

/// In a child handed the lock of `project` (see `INHERITED_FD`): that lock,
/// held until this process exits. `None` when no descriptor was handed over
/// or it is not that project's lock file (then the caller locks as usual).
#[cfg(unix)]
pub fn inherited(project: &str) -> Option<ProjectLock> {
    use std::os::unix::fs::MetadataExt;
    use std::os::unix::io::FromRawFd;
    let fd: i32 = std::env::var(INHERITED_FD).ok()?.parse().ok()?;
    let on_disk = std::fs::metadata(lock_path(project)).ok()?;
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fstat writes into `st` and only reads the descriptor number.
    if fd < 3 || unsafe { libc::fstat(fd, st.as_mut_ptr()) } != 0 {
        return None;
    }
    // SAFETY: fstat succeeded, so it filled `st`.
    let st = unsafe { st.assume_init() };
    if st.st_ino != on_disk.ino() || st.st_dev != on_disk.dev() {
        return None;
    }
    // SAFETY: the descriptor is open (fstat), is the lock file (same inode),
    // and nothing else in this process owns it; close it on exec from now on.
    let file = unsafe { File::from_raw_fd(fd) };
    // SAFETY: sets a flag on a descriptor this function now owns.
    unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    Some(ProjectLock { _file: Some(file) })
}

/// `lock_project` with the timeout of `DEVENV_LOCK_TIMEOUT`, unless
/// `interrupted` resolves first (then `Error::Interrupted`: nothing was done).
pub async fn lock_project_until(project: &str, ui: &Ui, interrupted: impl std::future::Future<Output = ()>) -> Result<ProjectLock, Error> {
    let timeout = lock_timeout()?;
    tokio::select! {
        l = lock_project(project, timeout, ui) => l,
        _ = interrupted => Err(Error::Interrupted),
    }
}

/// Take the lock of `project` only if it is free now (`gc`: a project someone works on is not abandoned).
pub fn try_lock_project(project: &str) -> Result<Option<ProjectLock>, Error> {
    if held_by_parent(project) {
        return Ok(Some(ProjectLock { _file: None }));
    }
    Ok(match attempt(project)? {
        Attempt::Taken(file) => Some(ProjectLock { _file: Some(file) }),
        Attempt::Busy(_) => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_project_is_busy_until_the_first_is_dropped() {
        let project = format!("unit-lock-{}", std::process::id());
        let first = try_lock_project(&project).expect("lock").expect("free");
        assert!(try_lock_project(&project).expect("lock").is_none(), "held: busy");
        let other = try_lock_project(&format!("{project}-other")).expect("lock");
        assert!(other.is_some(), "another project is independent");
        drop(first);
        assert!(try_lock_project(&project).expect("lock").is_some(), "released on drop");
    }

    #[test]
    fn lock_file_names_stay_inside_the_lock_directory() {
        let p = lock_path("../../etc/x");
        assert_eq!(p.parent(), Some(lock_dir().as_path()));
        assert!(p.file_name().is_some_and(|n| n == ".._.._etc_x.lock"));
    }
}
