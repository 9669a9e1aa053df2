//! `devenv config`: what devenv understood, with secrets masked.

use clap::{Args, ValueEnum};

use super::{load_plan, Global};
use crate::error::{exit, Error};
use crate::ui::{mask, Ui};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Yaml,
    Json,
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Output format
    #[arg(long, value_enum, default_value = "yaml")]
    pub format: Format,
    /// Print only the service names
    #[arg(long)]
    pub services: bool,
}

pub async fn run(global: &Global, args: ConfigArgs, ui: &Ui) -> Result<u8, Error> {
    let (_env, mut plan) = load_plan(global, ui)?;
    if args.services {
        for s in plan.services.keys() {
            println!("{s}");
        }
        return Ok(exit::OK);
    }
    for svc in plan.services.values_mut() {
        for (k, v) in svc.env.iter_mut() {
            *v = mask::mask_env_value(k, v);
        }
        if let Some(b) = &mut svc.build {
            for (k, v) in b.args.iter_mut() {
                *v = mask::mask_env_value(k, v);
            }
        }
    }
    let out = match args.format {
        Format::Yaml => serde_yaml::to_string(&plan).map_err(|e| Error::Other(e.to_string()))?,
        Format::Json => serde_json::to_string_pretty(&plan).map_err(|e| Error::Other(e.to_string()))? + "\n",
    };
    print!("{out}");
    Ok(exit::OK)
}
