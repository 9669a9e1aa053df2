//! `devenv ps`

use std::time::Duration;

use clap::Args;
use serde::Serialize;

use super::{project_and_plan, Global};
use crate::docker::Docker;
use crate::engine::health;
use crate::error::{exit, Error};
use crate::observe::ContainerState;
use crate::plan::Probe;
use crate::ui::Ui;

/// How long `ps` lets a log probe read the log written so far.
const LOG_PROBE_GRACE: Duration = Duration::from_secs(2);

#[derive(Debug, Args)]
pub struct PsArgs {
    /// Machine-readable output (a JSON array)
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
struct Row {
    service: String,
    /// The replica's number, for a service with `replicas` (compose's container number).
    #[serde(skip_serializing_if = "Option::is_none")]
    replica: Option<u32>,
    container: String,
    state: String,
    health: String,
    ports: Vec<String>,
    status: String,
    image: String,
}

pub async fn run(global: &Global, args: PsArgs, ui: &Ui) -> Result<u8, Error> {
    let (project, plan) = project_and_plan(global, ui)?;
    let docker = Docker::connect().await?;
    let containers = docker.project_containers(&project).await?;
    let mut rows = Vec::new();
    for c in &containers {
        let service = c.service.clone().unwrap_or_else(|| c.name.clone());
        let svc = plan.as_ref().and_then(|p| p.services.get(&service));
        let health = if c.state != ContainerState::Running {
            "-".to_string()
        } else if let Some(h) = svc.and_then(|s| s.health.as_ref()) {
            // devenv's own probe, one quick attempt. A log probe reads this
            // run's log in the background: give it a moment to get through
            // it, or a line already logged is missed at random.
            let mut once = h.clone();
            once.timeout = if matches!(once.probe, Probe::Log { .. }) { LOG_PROBE_GRACE } else { Duration::ZERO };
            match health::wait_ready(&docker, &c.id, Some(&once), Duration::ZERO).await {
                Ok(()) => "healthy".into(),
                Err(_) => "unhealthy".into(),
            }
        } else if let Some(h) = &c.health {
            h.clone()
        } else {
            // No probe of devenv's and no Docker HEALTHCHECK: health is unknown, not "running".
            "-".into()
        };
        let ports = c
            .ports
            .iter()
            .map(|p| format!("{}:{}->{}/{}", if p.host_ip.is_empty() { "0.0.0.0" } else { &p.host_ip }, p.host_port, p.container_port, p.protocol))
            .collect();
        rows.push(Row {
            service,
            replica: c.replica,
            container: c.name.clone(),
            state: c.state.as_str().to_string(),
            health,
            ports,
            status: c.status.clone(),
            image: c.image.clone(),
        });
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows).map_err(|e| Error::Other(e.to_string()))?);
        return Ok(exit::OK);
    }
    if rows.is_empty() {
        println!("no containers for project `{project}`");
        return Ok(exit::OK);
    }
    if rows.iter().any(|r| r.replica.is_some()) {
        // By replica number (names sort `web-10` before `web-2`).
        rows.sort_by(|a, b| a.service.cmp(&b.service).then(a.replica.cmp(&b.replica)));
        return print_with_index(&rows);
    }
    let w = |f: &dyn Fn(&Row) -> usize, min: usize| rows.iter().map(f).max().unwrap_or(0).max(min);
    let (ws, wst, wh) = (w(&|r| r.service.len(), 7), w(&|r| r.state.len(), 5), w(&|r| r.health.len(), 6));
    let wp = w(&|r| r.ports.join(", ").len(), 5);
    println!("{:ws$}  {:wst$}  {:wh$}  {:wp$}  UPTIME", "SERVICE", "STATE", "HEALTH", "PORTS");
    for r in &rows {
        let uptime = r.status.strip_prefix("Up ").map(|s| s.split(" (").next().unwrap_or(s).to_string()).unwrap_or_else(|| "-".into());
        println!("{:ws$}  {:wst$}  {:wh$}  {:wp$}  {uptime}", r.service, r.state, r.health, r.ports.join(", "));
    }
    Ok(exit::OK)
}

/// The table with an INDEX column: some service runs replicas.
fn print_with_index(rows: &[Row]) -> Result<u8, Error> {
    let w = |f: &dyn Fn(&Row) -> usize, min: usize| rows.iter().map(f).max().unwrap_or(0).max(min);
    let (ws, wst, wh) = (w(&|r| r.service.len(), 7), w(&|r| r.state.len(), 5), w(&|r| r.health.len(), 6));
    let wp = w(&|r| r.ports.join(", ").len(), 5);
    println!("{:ws$}  INDEX  {:wst$}  {:wh$}  {:wp$}  UPTIME", "SERVICE", "STATE", "HEALTH", "PORTS");
    for r in rows {
        let uptime = r.status.strip_prefix("Up ").map(|s| s.split(" (").next().unwrap_or(s).to_string()).unwrap_or_else(|| "-".into());
        let index = r.replica.map(|n| n.to_string()).unwrap_or_else(|| "-".into());
        println!("{:ws$}  {index:5}  {:wst$}  {:wh$}  {:wp$}  {uptime}", r.service, r.state, r.health, r.ports.join(", "));
    }
    Ok(exit::OK)
}
