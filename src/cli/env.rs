//! `devenv env`: host-side connection info of every service.

use clap::{Args, ValueEnum};

use super::{load_plan, Global};
use crate::docker::Docker;
use crate::engine::vars::env_vars;
use crate::error::{exit, Error};
use crate::ui::Ui;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// KEY=value lines (for a .env file)
    Dotenv,
    /// export KEY='value' lines (for `eval "$(devenv env --format shell)"`)
    Shell,
    /// one flat JSON object of name → value
    Json,
}

#[derive(Debug, Args)]
pub struct EnvArgs {
    #[arg(long, value_enum, default_value = "dotenv")]
    pub format: Format,
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

pub async fn run(global: &Global, args: EnvArgs, ui: &Ui) -> Result<u8, Error> {
    let (env, plan) = load_plan(global, ui)?;
    let docker = Docker::connect().await?;
    let observed = docker.project_containers(&plan.project).await?;
    let (vars, notes) = env_vars(&env, &plan, &observed);
    for n in notes {
        ui.warn(n);
    }
    if vars.is_empty() {
        ui.warn(format!("no running service of project `{}` publishes a port; start them with `devenv up -d`", plan.project));
    }
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&vars).map_err(|e| Error::Other(e.to_string()))?),
        Format::Dotenv => {
            for (k, v) in &vars {
                println!("{k}={v}");
            }
        }
        Format::Shell => {
            for (k, v) in &vars {
                println!("export {k}={}", shell_quote(v));
            }
        }
    }
    Ok(exit::OK)
}
