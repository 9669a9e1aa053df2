//! `devenv down`

use std::collections::HashMap;
use std::time::{Duration, Instant};

use clap::Args;

use super::{parse_duration_arg, project_and_plan, Global};
use crate::docker::Docker;
use crate::engine;
use crate::error::{exit, Error};
use crate::ui::Ui;

#[derive(Debug, Args)]
pub struct DownArgs {
    /// Also remove the project's named volumes (its data)
    #[arg(short = 'v', long)]
    pub volumes: bool,
    /// Time to wait for a graceful stop before killing [default: each service's `stop_grace_period`, else 10s; with -v: no graceful stop, killed at once]
    #[arg(short = 't', long, value_name = "DURATION", value_parser = parse_duration_arg)]
    pub timeout: Option<Duration>,
    /// Also remove images: `local` the images devenv built for the project, `all` also every image the services use
    #[arg(long, value_enum, value_name = "local|all")]
    pub rmi: Option<Rmi>,
}

/// `down --rmi`: which images go with the project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Rmi {
    Local,
    All,
}

pub async fn run(global: &Global, args: DownArgs, ui: &Ui) -> Result<u8, Error> {
    let t0 = Instant::now();
    let (project, plan) = project_and_plan(global, ui)?;
    let _lock = engine::lock_project_until(&project, ui, super::interrupted()).await?;
    let docker = Docker::connect().await?;
    let deps: HashMap<String, Vec<String>> = plan
        .as_ref()
        .map(|p| p.services.iter().map(|(n, s)| (n.clone(), s.depends_on.keys().cloned().collect())).collect())
        .unwrap_or_default();
    // With -v the data goes anyway: kill and remove at once (unless a grace
    // period is asked for explicitly).
    let ending = match (args.volumes, args.timeout) {
        (true, None) => engine::Ending::Discard,
        (_, timeout) => engine::Ending::Graceful(timeout),
    };
    let mut removed = engine::teardown(&docker, &project, &deps, ending, args.volumes, ui).await?;
    if let Some(rmi) = args.rmi {
        let mut also: Vec<String> = Vec::new();
        if rmi == Rmi::All {
            for svc in plan.iter().flat_map(|p| p.services.values()).filter(|s| s.build.is_none()) {
                if !also.contains(&svc.image) {
                    also.push(svc.image.clone());
                }
            }
        }
        removed.images = engine::remove_project_images(&docker, &project, &also).await?;
    }
    ui.done(removed.describe(&project, args.volumes, args.rmi.is_some()), t0.elapsed());
    // What could not be removed is reported after everything else was (exit 1).
    removed.into_result(&project)?;
    Ok(exit::OK)
}
