//! `devenv logs`

use clap::Args;
use futures_util::StreamExt;

use super::{project_and_plan, Global};
use crate::docker::Docker;
use crate::error::{exit, Error};
use crate::ui::Ui;

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Services to show [default: all]
    pub services: Vec<String>,
    /// Follow new output
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Number of lines from the end of each service's log
    #[arg(short = 'n', long, value_name = "N")]
    pub tail: Option<usize>,
    /// Only output since T: a duration ago (10m, 1h30m) or an RFC 3339 time
    #[arg(long, value_name = "T")]
    pub since: Option<String>,
}

fn parse_since(s: &str) -> Result<i64, Error> {
    if let Ok(d) = crate::config::parse_duration(s) {
        return Ok(chrono::Utc::now().timestamp() - d.as_secs() as i64);
    }
    chrono::DateTime::parse_from_rfc3339(s).map(|t| t.timestamp()).map_err(|_| Error::Usage {
        message: format!("invalid --since value `{s}`"),
        hint: Some("use a duration such as 10m or 1h30m, or a time such as 2026-01-02T15:04:05Z".into()),
    })
}

pub async fn run(global: &Global, args: LogsArgs, ui: &Ui) -> Result<u8, Error> {
    let since = args.since.as_deref().map(parse_since).transpose()?;
    let (project, _) = project_and_plan(global, ui)?;
    let docker = Docker::connect().await?;
    let containers = docker.project_containers(&project).await?;
    let chosen: Vec<_> = containers
        .into_iter()
        .filter(|c| args.services.is_empty() || c.service.as_ref().is_some_and(|s| args.services.contains(s)))
        .collect();
    for s in &args.services {
        if !chosen.iter().any(|c| c.service.as_ref() == Some(s)) {
            return Err(Error::Usage { message: format!("no container for service `{s}` in project `{project}`"), hint: Some("`devenv ps` lists them".into()) });
        }
    }
    // Replicas are told apart by their number: `web-1 | …`, `web-2 | …` (compose's prefixes).
    let label = |c: &crate::observe::ObservedContainer| crate::diff::replica_label(c.service.as_deref().unwrap_or(&c.name), c.replica);
    let width = chosen.iter().map(|c| label(c).len()).max().unwrap_or(0);
    let mut streams = futures_util::stream::SelectAll::new();
    for c in &chosen {
        let svc = label(c);
        streams.push(Box::pin(docker.logs(&c.id, args.follow, args.tail, since).map(move |l| (svc.clone(), l))));
    }
    let stop = super::interrupted();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            item = streams.next() => match item {
                Some((svc, Ok(line))) => ui.log_line(&svc, width, &line.text),
                Some((_, Err(e))) => return Err(e.into()),
                None => break,
            },
            _ = &mut stop => break,
        }
    }
    Ok(exit::OK)
}
