//! `devenv config`: the resolved environment file, with secrets masked (by
//! key, URL passwords, and every known secret value wherever it occurs) —
//! a devenv.yaml for devenv.yaml (loads again to the same output), compose's
//! normalized model for compose files; `--plan` prints the internal plan.

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
    /// Print devenv's internal plan (every resolved field; for debugging) instead of the file
    #[arg(long)]
    pub plan: bool,
}

pub async fn run(global: &Global, args: ConfigArgs, ui: &Ui) -> Result<u8, Error> {
    // `config` shows the file's warnings every time (other commands once per change).
    let global = &Global { verbose: true, ..global.clone() };
    let opts = load_options(global)?;
    if let Input::Compose(files) = config::load::find_input(&opts, &mut Vec::new())?
        && !args.plan
    {
        return compose(global, &files, &opts, &args, ui);
    }
    let (env, mut plan) = load_plan(global, ui)?;
    if args.services {
        for s in plan.services.keys() {
            println!("{s}");
        }
        return Ok(exit::OK);
    }
    if !args.plan {
        let mut file = crate::plan::render::to_file(&env, &plan);
        for svc in file.services.values_mut() {
            mask_map(&mut svc.env);
            if let Some(b) = &mut svc.build {
                mask_map(&mut b.args);
            }
        }
        // A secret's `content:` is never printed.
        for s in file.secrets.values_mut() {
            if s.content.as_deref().is_some_and(|c| !c.is_empty()) {
                s.content = Some("***".into());
            }
        }
        // A literal secret in `export:` is masked; a `${svc.url}` reference is shown as written.
        for (k, v) in file.export.iter_mut().flatten() {
            if !(v.starts_with("${") && v.ends_with('}')) {
                *v = mask::mask_env_value(k, v);
            }
        }
        return print(&file, args.format, &ui.secrets());
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
    print(&plan, args.format, &ui.secrets())
}

/// Secrets in an env map masked (`***`, URL passwords).
fn mask_map(m: &mut config::EnvMap) {
    for (k, v) in m.0.iter_mut() {
        if let Some(v) = v {
            *v = mask::mask_env_value(k, v);
        }
    }
}

/// Print `value` with every string masked by `secrets` (as a YAML value: the order is kept).
fn print<T: serde::Serialize>(value: &T, format: Format, secrets: &mask::Secrets) -> Result<u8, Error> {
    let mut value = serde_yaml::to_value(value).map_err(|e| Error::Other(e.to_string()))?;
    secrets.mask_yaml(&mut value);
    let out = match format {
        Format::Yaml => serde_yaml::to_string(&value).map_err(|e| Error::Other(e.to_string()))?,
        Format::Json => serde_json::to_string_pretty(&JsonView(&value)).map_err(|e| Error::Other(e.to_string()))? + "\n",
    };
    print!("{out}");
    Ok(exit::OK)
}

/// A YAML value serialized as JSON the way the value it came from serializes:
/// in order, and an enum variant (a YAML tag `!name`) as `{"name": …}`.
struct JsonView<'a>(&'a serde_yaml::Value);

impl serde::Serialize for JsonView<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        use serde_yaml::Value;
        match self.0 {
            Value::Sequence(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for v in items {
                    seq.serialize_element(&JsonView(v))?;
                }
                seq.end()
            }
            Value::Mapping(m) => {
                let mut map = s.serialize_map(Some(m.len()))?;
                for (k, v) in m {
                    map.serialize_entry(&JsonView(k), &JsonView(v))?;
                }
                map.end()
            }
            Value::Tagged(t) => {
                let mut map = s.serialize_map(Some(1))?;
                map.serialize_entry(t.tag.to_string().trim_start_matches('!'), &JsonView(&t.value))?;
                map.end()
            }
            other => other.serialize(s),
        }
    }
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
    print(&v, args.format, &ui.secrets())
}
