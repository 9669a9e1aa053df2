//! `devenv exec`

use clap::Args;

use super::{project_and_plan, Global};
use crate::docker::Docker;
use crate::error::Error;
use crate::observe::ContainerState;
use crate::ui::Ui;

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Service whose container runs the command
    pub service: String,
    /// The command and its arguments (after `--`)
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<String>,
    /// Never allocate a TTY (default: a TTY when stdin and stdout are terminals)
    #[arg(short = 'T', long)]
    pub no_tty: bool,
    /// Environment variables for the command (KEY=VALUE, repeatable)
    #[arg(short = 'e', long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Working directory inside the container
    #[arg(short = 'w', long)]
    pub workdir: Option<String>,
    /// User to run as
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// Which replica of the service runs it (a service with `replicas`)
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub index: u32,
}

pub async fn run(global: &Global, args: ExecArgs, ui: &Ui) -> Result<u8, Error> {
    let (project, _) = project_and_plan(global, ui)?;
    let docker = Docker::connect().await?;
    let containers = docker.project_containers(&project).await?;
    let Some(c) = replica(&containers, &args.service, args.index) else {
        let hint = if args.index > 1 && containers.iter().any(|c| c.service.as_deref() == Some(args.service.as_str())) {
            format!("`devenv ps {}` lists its replicas; scale it with `devenv up -d --scale {}={}`", args.service, args.service, args.index)
        } else {
            format!("start it with `devenv up -d {}`", args.service)
        };
        let which = if args.index > 1 { format!("replica {} of service", args.index) } else { "service".into() };
        return Err(Error::Usage { message: format!("{which} `{}` has no container in project `{project}`", args.service), hint: Some(hint) });
    };
    if c.state != ContainerState::Running {
        return Err(Error::Usage {
            message: format!("service `{}` is not running (it is {})", args.service, c.state.as_str()),
            hint: Some(format!("start it with `devenv up -d {}`", args.service)),
        });
    }
    let tty = !args.no_tty && console::Term::stdout().is_term() && console::user_attended_stderr() && stdin_is_tty();
    ui.clear();
    let _raw = if tty { RawMode::enable() } else { None };
    let io = crate::docker::ExecIo {
        stdin: Box::new(tokio::io::stdin()),
        stdout: Box::new(tokio::io::stdout()),
        stderr: Box::new(tokio::io::stderr()),
        size: console::Term::stdout().size_checked(),
    };
    let code = docker.exec_interactive(&c.id, &args.command, tty, args.env.clone(), args.workdir.clone(), args.user.clone(), io).await;
    drop(_raw);
    let code = code?;
    Ok(code.clamp(0, 255) as u8)
}

/// Replica `index` of `service` (a container without the replica label is its first).
fn replica<'c>(containers: &'c [crate::observe::ObservedContainer], service: &str, index: u32) -> Option<&'c crate::observe::ObservedContainer> {
    containers.iter().find(|c| c.service.as_deref() == Some(service) && c.replica.unwrap_or(1) == index)
}

fn stdin_is_tty() -> bool {
    #[cfg(unix)]
    {
        // SAFETY: isatty only inspects the descriptor.
        unsafe { libc::isatty(0) == 1 }
    }
    #[cfg(not(unix))]
    {
        false
    }
}

/// Puts the terminal in raw mode for an interactive exec; restores it on drop.
struct RawMode {
    #[cfg(unix)]
    saved: libc::termios,
}

impl RawMode {
    #[cfg(unix)]
    fn enable() -> Option<Self> {
        // SAFETY: termios calls on fd 0 with a properly sized, zeroed struct.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(0, &mut t) != 0 {
                return None;
            }
            let saved = t;
            libc::cfmakeraw(&mut t);
            if libc::tcsetattr(0, libc::TCSANOW, &t) != 0 {
                return None;
            }
            Some(RawMode { saved })
        }
    }
    #[cfg(not(unix))]
    fn enable() -> Option<Self> {
        None
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        #[cfg(unix)]
        // SAFETY: restores the attributes saved in `enable`.
        unsafe {
            libc::tcsetattr(0, libc::TCSANOW, &self.saved);
        }
    }
}
