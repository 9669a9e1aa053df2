//! `devenv env`: host-side connection info of every service.

use clap::{Args, ValueEnum};
use indexmap::IndexMap;

use super::{load_plan, Global};
use crate::docker::Docker;
use crate::error::{exit, Error};
use crate::observe::ObservedContainer;
use crate::plan::Plan;
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

/// `db-main` → `DB_MAIN`
pub fn env_name(service: &str) -> String {
    service.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect()
}

/// `DEVENV_<SERVICE>_URL/_HOST/_PORT` for running services, from their published ports.
pub fn host_side(plan: &Plan, observed: &[ObservedContainer]) -> IndexMap<String, String> {
    let mut out = IndexMap::new();
    for (name, svc) in &plan.services {
        let Some(c) = observed.iter().find(|c| c.service.as_deref() == Some(name.as_str())) else { continue };
        let container_port = svc.connection.as_ref().map(|c| c.port).or_else(|| svc.ports.first().map(|p| p.container_port));
        let Some(cp) = container_port else { continue };
        let Some(published) = c.ports.iter().find(|p| p.container_port == cp && p.protocol == "tcp") else { continue };
        let host = if published.host_ip.is_empty() || published.host_ip == "0.0.0.0" || published.host_ip == "::" {
            "127.0.0.1".to_string()
        } else {
            published.host_ip.clone()
        };
        let key = env_name(name);
        if let Some(conn) = &svc.connection {
            out.insert(format!("DEVENV_{key}_URL"), conn.url(&host, published.host_port));
        }
        out.insert(format!("DEVENV_{key}_HOST"), host);
        out.insert(format!("DEVENV_{key}_PORT"), published.host_port.to_string());
    }
    out
}

/// The file's top-level `export:` names, with `${svc.url}`, `${svc.host}` and
/// `${svc.port}` resolved to their host-side values.
pub fn exports(env: &crate::config::LoadedEnv, host: &IndexMap<String, String>) -> Result<IndexMap<String, String>, Error> {
    let mut out = IndexMap::new();
    for (name, template) in env.spec.export.iter().flatten() {
        let mut value = String::new();
        let mut rest = template.as_str();
        while let Some(start) = rest.find("${") {
            value.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                value.push_str(&rest[start..]);
                rest = "";
                break;
            };
            let inner = &after[..end];
            let resolved = inner.split_once('.').and_then(|(svc, field)| host.get(&format!("DEVENV_{}_{}", env_name(svc), field.to_ascii_uppercase())));
            match resolved {
                Some(v) => value.push_str(v),
                None => {
                    return Err(Error::Usage {
                        message: format!("export `{name}`: `${{{inner}}}` has no host-side value"),
                        hint: Some("references are `${SERVICE.url}`, `${SERVICE.host}` or `${SERVICE.port}` of a running service that publishes a port".into()),
                    })
                }
            }
            rest = &after[end + 1..];
        }
        value.push_str(rest);
        out.insert(name.clone(), value);
    }
    Ok(out)
}

/// Everything `devenv env` prints and `devenv run` passes: `DEVENV_*` plus `export:`.
pub fn env_vars(env: &crate::config::LoadedEnv, plan: &Plan, observed: &[ObservedContainer]) -> Result<IndexMap<String, String>, Error> {
    let mut vars = host_side(plan, observed);
    let exported = exports(env, &vars)?;
    vars.extend(exported);
    Ok(vars)
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

pub async fn run(global: &Global, args: EnvArgs, ui: &Ui) -> Result<u8, Error> {
    let (env, plan) = load_plan(global, ui)?;
    let docker = Docker::connect().await?;
    let observed = docker.project_containers(&plan.project).await?;
    let vars = env_vars(&env, &plan, &observed)?;
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
