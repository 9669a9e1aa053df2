//! `devenv ui` (and `devenv up --ui`): serve the environment's page (see `web`),
//! print its URL and open it in the system's browser.

use std::net::IpAddr;

use clap::Args;

use super::{interrupted, project_and_plan, Global};
use crate::docker::Docker;
use crate::error::{exit, Error};
use crate::plan::Plan;
use crate::ui::Ui;
use crate::web::{Options, Server};

#[derive(Debug, Args)]
pub struct UiArgs {
    /// Do not open a browser; only print the URL
    #[arg(long)]
    pub no_open: bool,
    /// Port to listen on [default: a free one]
    #[arg(long, value_name = "PORT", default_value_t = 0)]
    pub port: u16,
    /// Address to listen on. Anything but loopback lets other machines reach the page (still token-protected)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
    pub host: IpAddr,
}

pub async fn run(global: &Global, args: UiArgs, ui: &Ui) -> Result<u8, Error> {
    let (project, plan) = project_and_plan(global, ui)?;
    let docker = Docker::connect().await?;
    let server = bind(&Options { host: args.host, port: args.port }, project, plan, docker, ui).await?;
    announce(&server, !args.no_open, ui);
    server.run(interrupted()).await;
    Ok(exit::OK)
}

/// For `up --ui`: the page of `plan`'s project, served in the background until
/// Ctrl-C, fed with `up`'s own events (its startup timeline).
pub async fn serve_for_up(plan: &Plan, docker: &Docker, ui: &Ui) -> Result<tokio::task::JoinHandle<()>, Error> {
    let opts = Options { host: IpAddr::from([127, 0, 0, 1]), port: 0 };
    let server = bind(&opts, plan.project.clone(), Some(plan.clone()), docker.clone(), ui).await?;
    ui.tap(server.event_sink());
    announce(&server, true, ui);
    Ok(tokio::spawn(server.run(interrupted())))
}

async fn bind(opts: &Options, project: String, plan: Option<Plan>, docker: Docker, ui: &Ui) -> Result<Server, Error> {
    Server::bind(opts, project, plan, docker, ui.secrets(), ui.mode()).await.map_err(|e| Error::Preflight {
        message: format!("cannot serve the page on {}:{}: {e}", opts.host, opts.port),
        hint: Some("choose another --port, or leave it out for a free one".into()),
    })
}

/// Print the URL (alone on stdout, for scripts), and open it unless told not to or not on a terminal.
fn announce(server: &Server, open: bool, ui: &Ui) {
    let url = server.url();
    println!("{url}");
    ui.info("serving the environment's page (Ctrl-C stops); the token in its URL is required");
    if open && console::Term::stdout().is_term() {
        let opener = if cfg!(target_os = "macos") { "open" } else { "xdg-open" };
        let spawned = std::process::Command::new(opener)
            .arg(&url)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        if let Err(e) = spawned {
            ui.warn(format!("cannot open a browser with `{opener}` ({e}); open the URL above yourself"));
        }
    }
}
