//! `devenv reset [SERVICE…]`: services back to their seeded snapshot (kept
//! after the first seeding of their volume), without seeding again; then the
//! `run: once` jobs built on them run again. Holds the project's lock.
//! Ctrl-C: the reset is finished first (never half of it), then exit 130.
//! It returns once the data is back: the spare copies that make the *next*
//! Postgres reset renames only are made by a child devenv it starts
//! detached, handing it the project's lock (the next devenv on the project
//! waits for it; its output goes to `<lock file>.prepare.log`).

use std::future::Future;
use std::time::Instant;

use clap::Args;

use super::{interrupted, load_plan, Global};
use crate::docker::Docker;
use crate::engine::snapshot::{seeded_name, NextReady};
use crate::engine::{ProjectLock, Session, UpOptions};
use crate::error::{exit, Error};
use crate::ui::Ui;

#[derive(Debug, Args)]
pub struct ResetArgs {
    /// Services to reset [default: every service with seed entries]
    pub services: Vec<String>,
}

/// In the detached child's environment: the services (comma-separated)
/// whose next reset it prepares, instead of resetting.
const PREPARE: &str = "DEVENV_RESET_PREPARE";

pub async fn run(global: &Global, args: ResetArgs, ui: &Ui) -> Result<u8, Error> {
    if let Ok(services) = std::env::var(PREPARE) {
        return prepare(global, &services, ui).await;
    }
    let (_env, plan) = load_plan(global, ui)?;
    let lock = crate::engine::lock_project_until(&plan.project, ui, interrupted()).await?;
    let session = session(plan, ui).await?;
    let t0 = Instant::now();
    let (done, next) = to_the_end(session.reset_deferred(&args.services), "reset", ui).await?;
    ui.done(format!("reset to the seeded state: {} (data back in {} ms)", done.join(", "), t0.elapsed().as_millis()), t0.elapsed());
    let fast: Vec<String> = next.iter().flat_map(|n| n.services().iter().cloned()).collect();
    if fast.is_empty() {
        return Ok(exit::OK);
    }
    match detach(&lock, &session.plan().project, &fast) {
        Ok(pid) => {
            ui.info(format!("the next reset is prepared in the background (pid {pid}; the next devenv on this project waits for it)"));
            Ok(exit::OK)
        }
        Err(e) => {
            ui.info(format!("preparing the next reset here ({e})"));
            inline(next, ui).await
        }
    }
}

async fn session(plan: crate::plan::Plan, ui: &Ui) -> Result<Session, Error> {
    let docker = Docker::connect().await?;
    let opts = UpOptions { remove_orphans: false, build: false, ready_timeout: crate::plan::resolve::DEFAULT_READY_TIMEOUT, owner: None };
    Ok(Session::new(docker, plan, ui.clone(), opts))
}
/// The spare copies made here, before exiting (no lock of our own to hand over).
async fn inline(next: Vec<NextReady>, ui: &Ui) -> Result<u8, Error> {
    let t1 = Instant::now();
    let ready = async {
        for n in next {
            n.run().await?;
        }
        Ok::<_, Error>(())
    };
    to_the_end(ready, "preparation of the next reset", ui).await?;
    ui.info(format!("next reset prepared in {} ms", t1.elapsed().as_millis()));
    Ok(exit::OK)
}

/// The detached child: prepare the next reset of `services` under the lock
/// its parent handed over (else the lock taken as usual).
async fn prepare(global: &Global, services: &str, ui: &Ui) -> Result<u8, Error> {
    let (_env, plan) = load_plan(global, ui)?;
    #[cfg(unix)]
    let handed = crate::engine::inherited_lock(&plan.project);
    #[cfg(not(unix))]
    let handed: Option<ProjectLock> = None;
    let _lock = match handed {
        Some(l) => l,
        None => crate::engine::lock_project_until(&plan.project, ui, interrupted()).await?,
    };
    let session = session(plan, ui).await?;
    let mut next = Vec::new();
    for s in services.split(',').filter(|s| !s.is_empty()) {
        next.push(session.next_ready(&seeded_name(s), &[s.to_string()]).await?);
    }
    inline(next, ui).await
}

/// Start this devenv again, detached (its own session, no terminal), to
/// prepare the next reset of `services`, holding `lock` after we exit.
#[cfg(unix)]
fn detach(lock: &ProjectLock, project: &str, services: &[String]) -> std::io::Result<u32> {
    use std::os::unix::process::CommandExt;
    let fd = lock.raw_fd().ok_or_else(|| std::io::Error::other("the lock is held by a parent devenv"))?;
    let log = std::fs::File::create(crate::engine::lock_path(project).with_extension("prepare.log"))?;
    let mut cmd = std::process::Command::new(std::env::current_exe()?);
    cmd.args(std::env::args_os().skip(1))
        .env(PREPARE, services.join(","))
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

/// Run `work` to its end even on Ctrl-C/SIGTERM (a restore is never left
/// half-done), then return `Interrupted`.
pub(super) async fn to_the_end<T>(work: impl Future<Output = Result<T, Error>>, what: &str, ui: &Ui) -> Result<T, Error> {
    tokio::pin!(work);
    tokio::select! {
        r = &mut work => return r,
        _ = interrupted() => {}
    }
    ui.warn(format!("interrupted: finishing the {what} first (never half of it)"));
    (&mut work).await?;
    Err(Error::Interrupted)
}
