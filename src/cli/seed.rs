//! `devenv seed`: (re-)apply seed data to running services; after `--reset`,
//! run the `run: once` jobs that depend on them again (unless `--no-jobs`).

use std::io::Write;
use std::time::Instant;

use clap::Args;

use super::{interrupted, load_plan, Global};
use crate::docker::Docker;
use crate::engine::seeding::{self, Mode};
use crate::engine::{Session, UpOptions};
use crate::error::{exit, Error};
use crate::observe::{ContainerState, ObservedContainer};
use crate::plan::Plan;
use crate::ui::Ui;

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// Services to seed [default: every service with `seed:`]
    pub services: Vec<String>,
    /// First empty what the seeds created (database, topics, indices, keys)
    #[arg(long)]
    pub reset: bool,
    /// With --reset: do not re-run the `run: once` jobs that depend on the
    /// reset services (their finished containers are removed, so the next
    /// `devenv up` runs them)
    #[arg(long, requires = "reset")]
    pub no_jobs: bool,
    /// Do not ask for confirmation
    #[arg(short = 'y', long)]
    pub yes: bool,
}

pub async fn run(global: &Global, args: SeedArgs, ui: &Ui) -> Result<u8, Error> {
    let t0 = Instant::now();
    let (_env, plan) = load_plan(global, ui)?;
    let names: Vec<String> = if args.services.is_empty() {
        plan.services.values().filter(|s| !s.seeds.is_empty()).map(|s| s.name.clone()).collect()
    } else {
        args.services.clone()
    };
    for n in &names {
        match plan.services.get(n) {
            None => return Err(Error::Usage { message: format!("no service `{n}` in {}", plan.file.display()), hint: None }),
            Some(s) if s.seeds.is_empty() => {
                return Err(Error::Usage { message: format!("service `{n}` has no `seed:` entries"), hint: None });
            }
            Some(_) => {}
        }
    }
    if names.is_empty() {
        ui.info("no service has `seed:` entries");
        return Ok(exit::OK);
    }
    if args.reset && !args.yes {
        if !console::Term::stderr().is_term() {
            return Err(Error::Usage {
                message: "`devenv seed --reset` deletes data and needs confirmation".into(),
                hint: Some("add --yes to confirm when not on a terminal".into()),
            });
        }
        ui.clear();
        eprint!("This empties what the seeds of {} created (databases, topics, indices, keys) and re-applies them. Continue? [y/N] ", names.join(", "));
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        let _ = std::io::stdin().read_line(&mut answer);
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            ui.info("nothing changed");
            return Ok(exit::OK);
        }
    }
    let _lock = crate::engine::lock_project_until(&plan.project, ui, interrupted()).await?;
    let docker = Docker::connect().await?;
    let observed = docker.project_containers(&plan.project).await?;
    let mut applied = 0;
    for n in &names {
        let Some(svc) = plan.services.get(n) else { continue };
        let Some(c) = observed.iter().find(|c| c.service.as_deref() == Some(n.as_str()) && c.state == ContainerState::Running) else {
            return Err(Error::Usage { message: format!("service `{n}` is not running"), hint: Some(format!("start it with `devenv up -d {n}`")) });
        };
        if args.reset {
            ui.info(format!("{n}: resetting seeded data"));
            seeding::reset(&docker, &c.id, svc).await?;
        }
        applied += seeding::run(&docker, &c.id, svc, Mode::All, ui).await?.applied;
    }
    ui.done(format!("applied {applied} seed entr{}", if applied == 1 { "y" } else { "ies" }), t0.elapsed());
    if args.reset {
        rerun_jobs(docker, plan, &names, &observed, args.no_jobs, ui).await?;
    }
    Ok(exit::OK)
}

/// After a reset: the `run: once` jobs that depend on the reset services and
/// have run before lose what they created (a migration's tables). Their
/// finished containers are removed; then they run again, as `devenv up JOB…`
/// runs them, unless `no_jobs` (then the next `devenv up` does).
async fn rerun_jobs(docker: Docker, plan: Plan, reset: &[String], observed: &[ObservedContainer], no_jobs: bool, ui: &Ui) -> Result<(), Error> {
    let jobs: Vec<String> = seeding::dependent_jobs(&plan, reset)
        .into_iter()
        .filter(|j| observed.iter().any(|c| c.service.as_deref() == Some(j.as_str())))
        .collect();
    if jobs.is_empty() {
        return Ok(());
    }
    let ready_timeout = crate::plan::resolve::DEFAULT_READY_TIMEOUT;
    let session = Session::new(docker, plan, ui.clone(), UpOptions { remove_orphans: false, build: false, ready_timeout, owner: None });
    session.remove_containers_of(&jobs).await?;
    if no_jobs {
        ui.warn(format!(
            "not re-running {} (--no-jobs): the reset dropped what {} created; `devenv up -d` runs {} again",
            jobs.join(", "),
            if jobs.len() == 1 { "it" } else { "they" },
            if jobs.len() == 1 { "it" } else { "them" }
        ));
        return Ok(());
    }
    ui.info(format!("re-running the jobs that depend on {}: {}", reset.join(", "), jobs.join(", ")));
    session.up_until(&jobs, interrupted(), "interrupted: stopping what this run started").await?;
    Ok(())
}
