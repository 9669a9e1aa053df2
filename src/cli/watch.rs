//! `devenv watch`

use std::time::Duration;

use clap::Args;

use super::{load_plan, parse_duration_arg, Global};
use crate::docker::Docker;
use crate::error::{exit, Error};
use crate::ui::Ui;
use crate::watch;

#[derive(Debug, Clone, Args)]
pub struct WatchArgs {
    /// Services whose `watch:` rules are followed [default: all with rules]
    pub services: Vec<String>,
    /// Quiet period: a batch is acted on once no change arrived for this long
    #[arg(long, value_name = "DURATION", default_value = "50ms", value_parser = parse_duration_arg)]
    pub debounce: Duration,
    /// Readiness deadline after a restart or recreate when `health` sets none
    #[arg(long, value_name = "DURATION", default_value = "120s", value_parser = parse_duration_arg)]
    pub timeout: Duration,
}

pub async fn run(global: &Global, args: WatchArgs, ui: &Ui) -> Result<u8, Error> {
    let (_env, plan) = load_plan(global, ui)?;
    let docker = Docker::connect().await?;
    watch_plan(global, &docker, plan, args.services, args.debounce, args.timeout, ui).await
}

/// Watch an already loaded plan until Ctrl-C (exit 0). Shared with `up --watch`.
pub async fn watch_plan(global: &Global, docker: &Docker, plan: crate::plan::Plan, services: Vec<String>, debounce: Duration, timeout: Duration, ui: &Ui) -> Result<u8, Error> {
    let g = global.clone();
    let reload_ui = ui.clone();
    let reload: watch::Reload = Box::new(move || load_plan(&g, &reload_ui).map(|(_, p)| p));
    let opts = watch::Options { services, debounce, ready_timeout: timeout };
    watch::run(docker, plan, reload, opts, ui, super::interrupted()).await?;
    Ok(exit::OK)
}
