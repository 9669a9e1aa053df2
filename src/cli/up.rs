//! `devenv up`

use std::time::Duration;

use clap::Args;
use futures_util::StreamExt;

use super::{interrupted, load_plan, parse_duration_arg, Global};
use crate::docker::Docker;
use crate::engine::{Session, UpOptions};
use crate::error::{exit, Error};
use crate::ui::Ui;

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Services to start (with their dependencies) [default: all]
    pub services: Vec<String>,
    /// Detached: return once every service is ready instead of streaming logs
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Wait until every service is ready and every one-shot job completed, then exit 0 (as compose's `--wait`; implies -d); else exit 6, reporting every failing service
    #[arg(long)]
    pub wait: bool,
    /// Write each service's readiness and seeding as JUnit XML test cases
    #[arg(long, value_name = "FILE")]
    pub junit: Option<std::path::PathBuf>,
    /// After the run, print each service's phases on standard error (waiting, created, started, probing, first answer, ready, seeded, and how long after its last dependency it started), ms since devenv began
    #[arg(long)]
    pub trace: bool,
    /// Start from the seeded state: services with a seeded snapshot are put back to it (as `devenv reset`)
    #[arg(long)]
    pub fresh: bool,
    /// Remove containers of services no longer in the file
    #[arg(long)]
    pub remove_orphans: bool,
    /// Rebuild images of services with `build`, even if they exist
    #[arg(long)]
    pub build: bool,
    /// Readiness deadline for every service, over the file's `health.timeout` [default: the file's, else 120s]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_arg)]
    pub timeout: Option<Duration>,
    /// After starting, watch files and apply the services' `watch:` rules (like `devenv watch`; Ctrl-C stops watching, services keep running)
    #[arg(long)]
    pub watch: bool,
    /// With --watch: quiet period before a batch of changes is acted on
    #[arg(long, value_name = "DURATION", default_value = "50ms", value_parser = parse_duration_arg, requires = "watch")]
    pub debounce: Duration,
    /// Run N containers of SERVICE, over the file's `replicas`/`scale` (repeatable)
    #[arg(long, value_name = "SERVICE=N")]
    pub scale: Vec<String>,
    /// Also serve the environment's page (like `devenv ui`), with this run's startup timeline; with -d it is served until Ctrl-C
    #[arg(long)]
    pub ui: bool,
}

pub async fn run(global: &Global, args: UpArgs, ui: &Ui) -> Result<u8, Error> {
    let (_env, mut plan) = load_plan(global, ui)?;
    for s in &args.services {
        if !plan.services.contains_key(s) {
            let known: Vec<&str> = plan.services.keys().map(String::as_str).collect();
            return Err(Error::Usage {
                message: format!("no service `{s}` in {}", plan.file.display()),
                hint: Some(format!("services are: {}", known.join(", "))),
            });
        }
    }
    apply_scale(&mut plan, &args.scale)?;
    if let Some(w) = super::doctor::max_map_count_warning(&plan) {
        ui.warn(w);
    }
    // One devenv at a time changes a project (a second `up` waits, then finds it up).
    let lock = crate::engine::lock_project_until(&plan.project, ui, interrupted()).await?;
    let docker = Docker::connect().await?;
    let opts = UpOptions { remove_orphans: args.remove_orphans, build: args.build, ready_timeout: super::apply_timeout(&mut plan, args.timeout), owner: None };
    let web = if args.ui { Some(super::ui_cmd::serve_for_up(&plan, &docker, ui).await?) } else { None };
    let session = Session::new(docker.clone(), plan, ui.clone(), opts);
    // On failure, failed services' containers are left for inspection (`devenv logs`), like compose; nothing else is touched.
    let report = session.up_until(&args.services, interrupted(), "interrupted: stopping what this run started").await?;
    if args.fresh {
        fresh(&session, &args.services, ui).await?;
    }
    // The spares of seeded snapshots just kept inside a server: made by a detached devenv.
    let mut next = Vec::new();
    for s in &report.prepare {
        next.push(session.next_ready(&crate::engine::snapshot::seeded_name(s), std::slice::from_ref(s)).await?);
    }
    super::prepare::after(&lock, &session.plan().project, next, ui).await?;
    drop(lock);
    if args.watch {
        // Up, then watch: Ctrl-C stops watching only; the services keep running.
        let timeout = args.timeout.unwrap_or(crate::plan::resolve::DEFAULT_READY_TIMEOUT);
        let plan = session.plan().clone();
        return super::watch::watch_plan(global, &docker, plan, args.services.clone(), args.debounce, timeout, ui).await;
    }
    if args.detach || args.wait {
        if let Some(web) = web {
            let _ = web.await;
        }
        return Ok(exit::OK);
    }

    // Foreground: stream logs until Ctrl-C, then stop the services.
    ui.info("attached to logs; press Ctrl-C to stop");
    let width = report.containers.keys().map(String::len).max().unwrap_or(0);
    let since = chrono::Utc::now().timestamp() - 1;
    let mut streams = futures_util::stream::SelectAll::new();
    for (svc, id) in &report.containers {
        let svc = svc.clone();
        streams.push(Box::pin(docker.logs(id, true, Some(0), Some(since)).map(move |l| (svc.clone(), l))));
    }
    let interrupted_fut = interrupted();
    tokio::pin!(interrupted_fut);
    loop {
        tokio::select! {
            item = streams.next() => match item {
                Some((svc, Ok(line))) => ui.log_line(&svc, width, &line.text),
                Some((_, Err(_))) => {}
                None => break,
            },
            _ = &mut interrupted_fut => {
                ui.info("stopping…");
                break;
            }
        }
    }
    // Each container's own stop timeout: its service's `stop_grace_period`, else 10 s.
    session.stop(&report.containers).await?;
    Ok(exit::OK)
}

/// `--scale SERVICE=N` (compose's): N containers of SERVICE for this `up`,
/// over the file's count; refused, before anything is created, when the
/// service cannot run N (a fixed host port, a `container_name`).
fn apply_scale(plan: &mut crate::plan::Plan, scales: &[String]) -> Result<(), Error> {
    for s in scales {
        let parsed = s.split_once('=').and_then(|(svc, n)| Some((svc.trim(), n.trim().parse::<u32>().ok()?)));
        let Some((service, n)) = parsed else {
            return Err(Error::Usage { message: format!("invalid --scale `{s}`"), hint: Some("write SERVICE=N, e.g. `--scale web=3`".into()) });
        };
        crate::plan::replicas::scale(plan, service, n).map_err(|message| Error::Usage {
            message,
            hint: Some(format!("publish the container port only or a host port range, and drop `container_name`, to run several `{service}`; see README.md#replicas")),
        })?;
    }
    Ok(())
}

/// `--fresh`: every service with a seeded snapshot back to it.
async fn fresh(session: &Session, services: &[String], ui: &Ui) -> Result<(), Error> {
    let (reset, missing) = session.reset_where_kept(services).await?;
    if !reset.is_empty() {
        ui.info(format!("--fresh: back to the seeded state: {}", reset.join(", ")));
    }
    if !missing.is_empty() {
        ui.warn(format!("--fresh: no seeded snapshot of {} (kept after the first seeding of a new volume; see README.md#snapshots): left as it was", missing.join(", ")));
    }
    Ok(())
}
