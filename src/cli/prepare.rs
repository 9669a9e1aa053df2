//! The work after a restore or save that makes the *next* in-server restore
//! renames only (Postgres: a spare copy of each template): done by a child
//! devenv started detached (its own session, no terminal), handed the
//! project's lock, so `reset` and `snapshot save` return as soon as their
//! own work is done and the next devenv on the project waits for it.
//!
//! Owns: starting that child, and what the child does. Must not: decide what
//! to prepare (the engine returns it as `NextReady`).

use std::time::Instant;

use super::{interrupted, load_plan, Global};
use crate::docker::Docker;
use crate::engine::snapshot::NextReady;
use crate::engine::ProjectLock;
use crate::error::{exit, Error};
use crate::ui::Ui;

/// In the child's environment: what it prepares, `SNAPSHOT/SERVICE` pairs
/// separated by spaces (neither a snapshot nor a service name holds `/` or a space).
const PREPARE: &str = "DEVENV_PREPARE_NEXT";

/// The pairs this process was started to prepare, when it is such a child.
pub fn requested() -> Option<String> {
    std::env::var(PREPARE).ok().filter(|s| !s.is_empty())
}

/// Hand `next` to a detached child holding `lock`; when that cannot be
/// done, prepare here (an error doing so is returned). In the child, an
/// error goes to its log, and the next restore copies from the template.
pub async fn after(lock: &ProjectLock, project: &str, next: Vec<NextReady>, ui: &Ui) -> Result<(), Error> {
    let pairs: Vec<String> = next.iter().flat_map(|n| n.services().iter().map(|s| format!("{}/{s}", n.snapshot()))).collect();
    if pairs.is_empty() {
        return Ok(());
    }
    match detach(lock, project, &pairs) {
        Ok(pid) => {
            ui.info(format!("the next restore is prepared in the background (pid {pid}; the next devenv on this project waits for it)"));
            Ok(())
        }
        Err(e) => {
            ui.info(format!("preparing the next restore here ({e})"));
            inline(next, ui).await
        }
    }
}

/// Prepare here, before returning.
pub async fn inline(next: Vec<NextReady>, ui: &Ui) -> Result<(), Error> {
    let t1 = Instant::now();
    let ready = async {
        for n in next {
            n.run().await?;
        }
        Ok::<_, Error>(())
    };
    super::to_the_end(ready, "preparation of the next restore", ui).await?;
    ui.info(format!("next restore prepared in {} ms", t1.elapsed().as_millis()));
    Ok(())
}

/// The child: prepare the `pairs` under the lock its parent handed over
/// (else the lock taken as usual).
pub async fn child(global: &Global, pairs: &str, ui: &Ui) -> Result<u8, Error> {
    let (_env, plan) = load_plan(global, ui)?;
    #[cfg(unix)]
    let handed = crate::engine::inherited_lock(&plan.project);
    #[cfg(not(unix))]
    let handed: Option<ProjectLock> = None;
    let _lock = match handed {
        Some(l) => l,
        None => crate::engine::lock_project_until(&plan.project, ui, interrupted()).await?,
    };
    let session = super::snapshot_session(Docker::connect().await?, plan, ui);
    let mut next = Vec::new();
    for pair in pairs.split(' ') {
        let Some((name, service)) = pair.split_once('/') else { continue };
        next.push(session.next_ready(name, &[service.to_string()]).await?);
    }
    inline(next, ui).await?;
    Ok(exit::OK)
}

/// Start this devenv again, detached, with the same arguments, to prepare
/// `pairs`, inheriting the lock's descriptor (it holds the lock after we exit).
#[cfg(unix)]
fn detach(lock: &ProjectLock, project: &str, pairs: &[String]) -> std::io::Result<u32> {
    use std::os::unix::process::CommandExt;
    let fd = lock.raw_fd().ok_or_else(|| std::io::Error::other("the lock is held by a parent devenv"))?;
    let log = std::fs::File::create(crate::engine::lock_path(project).with_extension("prepare.log"))?;
    let mut cmd = std::process::Command::new(std::env::current_exe()?);
    cmd.args(std::env::args_os().skip(1))
        .env(PREPARE, pairs.join(" "))
        .env(crate::engine::INHERITED_FD, fd.to_string())
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    // SAFETY: setsid and fcntl are async-signal-safe; they touch only the child.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setsid() < 0 || libc::fcntl(fd, libc::F_SETFD, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.spawn()?;
    lock.name_holder(child.id());
    Ok(child.id())
}

#[cfg(not(unix))]
fn detach(_: &ProjectLock, _: &str, _: &[String]) -> std::io::Result<u32> {
    Err(std::io::Error::other("not on this platform"))
}
