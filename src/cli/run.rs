//! `devenv run`: the integration-test harness — up, (with `--snapshot`)
//! restore a snapshot, run a command against the environment, always tear down.

use std::time::Duration;

use clap::Args;
use indexmap::IndexMap;

use super::{load_plan, parse_duration_arg, Global};
use crate::docker::Docker;
use crate::engine::{Session, UpOptions};
use crate::error::{exit, Error};
use crate::ui::Ui;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Leave the environment up afterwards
    #[arg(long)]
    pub keep: bool,
    /// Start only these services (and their dependencies) [default: all]
    #[arg(long = "service", value_name = "SERVICE")]
    pub services: Vec<String>,
    /// Readiness deadline for every service, over the file's `health.timeout` [default: the file's, else 120s]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_arg)]
    pub timeout: Option<Duration>,
    /// Write each service's readiness and seeding as JUnit XML test cases
    #[arg(long, value_name = "FILE")]
    pub junit: Option<std::path::PathBuf>,
    /// After the run, print each service's phases on standard error (waiting, created, started, probing, first answer, ready, seeded, and how long after its last dependency it started), ms since devenv began
    #[arg(long)]
    pub trace: bool,
    /// Restore this snapshot once the environment is up, before CMD runs: NAME (of this project) or PROJECT/NAME (one saved under another project name, e.g. by the job that prepared it: parallel runs with `-p` and `--ports random` each restore their own copy)
    #[arg(long, value_name = "[PROJECT/]NAME")]
    pub snapshot: Option<String>,
    /// The command and its arguments (after `--`)
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<String>,
}

pub async fn run(global: &Global, args: RunArgs, ui: &Ui) -> Result<u8, Error> {
    let (env, mut plan) = load_plan(global, ui)?;
    let ready_timeout = super::apply_timeout(&mut plan, args.timeout);
    // Held until this run has torn down what it made: a second `run` (or an
    // `up`, a `down`) of the project waits for it.
    let _lock = crate::engine::lock_project_until(&plan.project, ui, super::interrupted()).await?;
    let docker = Docker::connect().await?;
    let opts = UpOptions { remove_orphans: false, build: false, ready_timeout, owner: (!args.keep).then(std::process::id) };
    // A project that already exists (e.g. from `devenv up -d`) is reused and
    // left as it was found: only what this run creates is removed afterwards.
    let found = project_exists(&docker, &plan.project).await?;
    let session = Session::new(docker.clone(), plan, ui.clone(), opts);
    let teardown = || async {
        let project = &session.plan().project;
        if args.keep {
            ui.info(format!("--keep: environment `{project}` stays up (`devenv -p {project} down -v` removes it)"));
            return Ok(());
        }
        if found {
            let undo = session.rollback().await;
            ui.info(format!(
                "environment `{project}` was already there: left as it was (removed only what this run made: {} container(s), {} network(s), {} volume(s); stopped {} it started)",
                undo.created.len(),
                undo.networks.len(),
                undo.volumes.len(),
                undo.started.len()
            ));
            return Ok(());
        }
        session.teardown(crate::engine::Ending::Discard, true).await.map(|_| ())
    };

    let mut ready = session.up_until(&args.services, super::interrupted(), "interrupted: tearing down").await.map(|_| ());
    if let (Ok(()), Some(snap)) = (&ready, &args.snapshot) {
        ready = restore_snapshot(&session, snap, ui).await;
    }
    if let Err(e) = ready {
        let code = failed(e, ui);
        let _ = teardown().await;
        return code;
    }

    // From here on, whatever fails, what this run started is torn down.
    let observed = match docker.project_containers(&session.plan().project).await {
        Ok(o) => o,
        Err(e) => {
            let _ = teardown().await;
            return Err(e.into());
        }
    };
    let (vars, notes) = crate::engine::vars::env_vars(&env, session.plan(), &observed);
    for n in notes {
        ui.warn(n);
    }

    let Some((program, rest)) = args.command.split_first() else {
        let _ = teardown().await;
        return Err(Error::Usage { message: "no command given".into(), hint: None });
    };
    ui.clear();
    let code = run_command(program, rest, &vars, &session.plan().project, ui).await;
    teardown().await?;
    Ok(code)
}

/// `--snapshot [PROJECT/]NAME`: that snapshot restored before the command runs.
async fn restore_snapshot(session: &Session, snap: &str, ui: &Ui) -> Result<(), Error> {
    let (from, name) = snap.split_once('/').unwrap_or((session.plan().project.as_str(), snap));
    let t0 = std::time::Instant::now();
    let services = super::to_the_end(session.snapshot_restore_from(from, name, &[]), "restore", ui).await?;
    ui.done(format!("restored snapshot `{snap}`: {}", services.join(", ")), t0.elapsed());
    Ok(())
}

/// A failure before the command ran: printed, and its exit code (an
/// interruption stays one: the caller exits 130).
fn failed(e: Error, ui: &Ui) -> Result<u8, Error> {
    if matches!(e, Error::Interrupted) {
        return Err(Error::Interrupted);
    }
    ui.error(&e);
    Ok(e.exit_code())
}

/// Run the user's command with the environment's variables; its exit code
/// (127/126 when it cannot be started). Ctrl-C/SIGTERM is passed on to it.
async fn run_command(program: &str, rest: &[String], vars: &IndexMap<String, String>, project: &str, ui: &Ui) -> u8 {
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(rest).envs(vars).env(crate::engine::HELD_BY_PARENT, project).kill_on_drop(true);
    match cmd.spawn() {
        Err(e) => {
            let code = if e.kind() == std::io::ErrorKind::NotFound { 127 } else { 126 };
            ui.error(&Error::Usage {
                message: format!("cannot run `{program}`: {e}"),
                hint: Some("is it installed and on PATH? (exit 127 after teardown)".into()),
            });
            code
        }
        Ok(mut child) => {
            let status = tokio::select! {
                s = child.wait() => s,
                _ = super::interrupted() => {
                    // Ctrl-C reaches the child through the terminal; SIGTERM does not: pass it on.
                    #[cfg(unix)]
                    if let Some(pid) = child.id() {
                        // SAFETY: signalling our own child process.
                        unsafe { libc::kill(pid as i32, libc::SIGTERM) };
                    }
                    match tokio::time::timeout(Duration::from_secs(10), child.wait()).await {
                        Ok(s) => s,
                        Err(_) => {
                            let _ = child.kill().await;
                            child.wait().await
                        }
                    }
                }
            };
            match status {
                Ok(s) => exit_code_of(s),
                Err(e) => {
                    ui.error(&Error::Other(format!("waiting for `{program}`: {e}")));
                    exit::FAILURE
                }
            }
        }
    }
}

fn exit_code_of(s: std::process::ExitStatus) -> u8 {
    if let Some(c) = s.code() {
        return c.clamp(0, 255) as u8;
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = s.signal() {
            return (128 + sig).clamp(0, 255) as u8;
        }
    }
    exit::FAILURE
}

/// Whether anything of `project` exists in Docker (containers, networks, volumes).
async fn project_exists(docker: &Docker, project: &str) -> Result<bool, Error> {
    Ok(!docker.project_containers(project).await?.is_empty()
        || !docker.project_networks(project).await?.is_empty()
        || !docker.project_volumes(project).await?.is_empty())
}
