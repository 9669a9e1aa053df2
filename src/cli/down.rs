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
    /// Seconds to wait for a graceful stop before killing
    #[arg(short = 't', long, value_name = "DURATION", default_value = "10", value_parser = parse_duration_arg)]
    pub timeout: Duration,
}

pub async fn run(global: &Global, args: DownArgs, ui: &Ui) -> Result<u8, Error> {
    let t0 = Instant::now();
    let (project, plan) = project_and_plan(global, ui)?;
    let docker = Docker::connect().await?;
    let containers = docker.project_containers(&project).await?;
    let deps: HashMap<String, Vec<String>> = plan
        .as_ref()
        .map(|p| p.services.iter().map(|(n, s)| (n.clone(), s.depends_on.keys().cloned().collect())).collect())
        .unwrap_or_default();
    engine::stop_in_order(&docker, &containers, &deps, args.timeout, true, ui).await?;
    let networks = docker.project_networks(&project).await?;
    for n in &networks {
        docker.remove_network(n).await?;
    }
    let mut removed_volumes = 0;
    if args.volumes {
        for v in docker.project_volumes(&project).await? {
            docker.remove_volume(&v).await?;
            removed_volumes += 1;
        }
    }
    let what = if containers.is_empty() && networks.is_empty() && removed_volumes == 0 {
        format!("nothing to remove for project `{project}`")
    } else {
        format!(
            "removed {} container{}, {} network{}{}",
            containers.len(),
            if containers.len() == 1 { "" } else { "s" },
            networks.len(),
            if networks.len() == 1 { "" } else { "s" },
            if args.volumes { format!(", {removed_volumes} volume{}", if removed_volumes == 1 { "" } else { "s" }) } else { String::new() }
        )
    };
    ui.done(what, t0.elapsed());
    Ok(exit::OK)
}
