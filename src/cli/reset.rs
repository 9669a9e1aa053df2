//! `devenv reset [SERVICE…]`: services back to their seeded snapshot (kept
//! after the first seeding of their volume), without seeding again; then the
//! `run: once` jobs built on them run again. Holds the project's lock.
//! Ctrl-C: the reset is finished first (never half of it), then exit 130.
//! It returns once the data is back: the spare copies that make the *next*
//! Postgres reset renames only are made by a detached child (`prepare`).

use std::time::Instant;

use clap::Args;

use super::{interrupted, load_plan, to_the_end, Global};
use crate::docker::Docker;
use crate::error::{exit, Error};
use crate::ui::Ui;

#[derive(Debug, Args)]
pub struct ResetArgs {
    /// Services to reset [default: every service with seed entries]
    pub services: Vec<String>,
}

pub async fn run(global: &Global, args: ResetArgs, ui: &Ui) -> Result<u8, Error> {
    let (_env, plan) = load_plan(global, ui)?;
    let lock = crate::engine::lock_project_until(&plan.project, ui, interrupted()).await?;
    let session = super::snapshot_session(Docker::connect().await?, plan, ui);
    let t0 = Instant::now();
    let (done, next) = to_the_end(session.reset_deferred(&args.services), "reset", ui).await?;
    ui.done(format!("reset to the seeded state: {} (data back in {} ms)", done.join(", "), t0.elapsed().as_millis()), t0.elapsed());
    super::prepare::after(&lock, &session.plan().project, next, ui).await?;
    Ok(exit::OK)
}
