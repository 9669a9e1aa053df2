//! `devenv config`: what devenv understood, with secrets masked.

use clap::{Args, ValueEnum};

use std::path::PathBuf;

use super::{load_options, load_plan, Global};
use crate::config::{self, load::Input, LoadOptions};
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
    // `config` shows the file's warnings every time (other commands once per change).
    let global = &Global { verbose: true, ..global.clone() };
    let opts = load_options(global)?;
    if let Input::Compose(files) = config::load::find_input(&opts, &mut Vec::new())? {
        return compose(global, &files, &opts, &args, ui);
    }
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

/// A compose project: compose's normalized model, service by service, as
/// `docker compose config` prints it (secrets masked). It is first loaded the
/// way `up` loads it, so what devenv cannot run is reported here too.
fn compose(global: &Global, files: &[PathBuf], opts: &LoadOptions, args: &ConfigArgs, ui: &Ui) -> Result<u8, Error> {
    load_plan(global, ui)?;
    let project = crate::compose::load(files, opts)?;
    if args.services {
        for s in project.services.keys() {
            println!("{s}");
        }
        return Ok(exit::OK);
    }
    let mut v = serde_json::to_value(&project).map_err(|e| Error::Other(e.to_string()))?;
    if let Some(services) = v.get_mut("services").and_then(|s| s.as_object_mut()) {
        for svc in services.values_mut() {
            for ptr in ["/environment", "/build/args"] {
                if let Some(map) = svc.pointer_mut(ptr).and_then(|m| m.as_object_mut()) {
                    for (k, val) in map.iter_mut() {
                        if let Some(s) = val.as_str() {
                            *val = serde_json::Value::String(mask::mask_env_value(k, s));
                        }
                    }
                }
            }
        }
    }
    let out = match args.format {
        Format::Yaml => serde_yaml::to_string(&v).map_err(|e| Error::Other(e.to_string()))?,
        Format::Json => serde_json::to_string_pretty(&v).map_err(|e| Error::Other(e.to_string()))? + "\n",
    };
    print!("{out}");
    Ok(exit::OK)
}
