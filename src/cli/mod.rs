//! cli: the command line. One file per subcommand, each thin: parse → load →
//! plan → engine → ui. `run` maps every outcome to an exit code.

pub mod completions;
mod config_cmd;
pub mod doctor;
mod down;
mod env;
mod exec;
mod gc;
mod import;
mod init;
mod k8s;
mod logs;
mod prepare;
mod ps;
mod reset;
mod run;
mod secrets;
mod seed;
mod snapshot;
// `devenv ui` (named apart from `crate::ui`, the printer).
#[path = "ui.rs"]
mod ui_cmd;
mod up;
mod warnings;
mod watch;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::config::{self, LoadOptions, LoadedEnv};
use crate::error::{exit, Error};
use crate::plan::{self, Plan};
use crate::ui::{self, ProgressMode, Ui};

const ABOUT: &str = "devenv — local development environments on Docker: backing services and your apps, \
ready the moment they really are.";

#[derive(Debug, Parser)]
#[command(name = "devenv", version, about = ABOUT, propagate_version = true, arg_required_else_help = true,
    after_help = "Examples:\n  devenv up -d              start everything in devenv.yaml, return when ready\n  devenv ps                 what runs, healthy or not, on which ports\n  devenv logs -f api        follow one service's output\n  devenv down -v            stop, remove containers, network and volumes\n\nExit codes: 0 ok, 1 failure, 2 bad config or usage, 3 Docker unreachable,\n4 pre-flight (port in use, name clash), 5 image pull/build, 6 service failed, 7 seeding failed,\n130 interrupted.")]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Args)]
pub struct Global {
    /// Environment file, given before the command like compose's `-f` [default: devenv.yaml in the
    /// current directory, else compose.yaml / docker-compose.yml]; repeat it to merge compose files in order
    #[arg(short = 'f', long = "file", value_name = "FILE", env = "DEVENV_FILE")]
    pub files: Vec<PathBuf>,
    /// Project name [default: `name:` in the file, else the directory name]
    #[arg(short = 'p', long = "project-name", global = true, value_name = "NAME", env = "DEVENV_PROJECT")]
    pub project: Option<String>,
    /// Enable services of this profile (repeatable)
    #[arg(long = "profile", global = true, value_name = "PROFILE")]
    pub profiles: Vec<String>,
    /// How to show progress
    #[arg(long, global = true, value_enum, default_value = "auto", env = "DEVENV_PROGRESS")]
    pub progress: ProgressMode,
    /// Host ports: as written in the file, or `random` (every port on a free host port; `devenv env` reports them)
    #[arg(long, global = true, value_enum, default_value = "fixed", env = "DEVENV_PORTS")]
    pub ports: PortsMode,
    /// Disable colours (NO_COLOR is honoured too)
    #[arg(long, global = true)]
    pub no_color: bool,
    /// Show the file's warnings every time (by default once per change of them; `config` always shows them)
    #[arg(long, global = true)]
    pub verbose: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PortsMode {
    Fixed,
    Random,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create and start services, in dependency order, until they are ready
    #[command(after_help = "Examples:\n  devenv up                 start, wait until ready, then stream logs (Ctrl-C stops)\n  devenv up -d              start and return once every service is ready\n  devenv up -d api          start api and what it depends on\n  devenv up -d --remove-orphans   also remove services no longer in the file\n  devenv up -d --trace      then print where each service's start-up time went")]
    Up(up::UpArgs),
    /// Stop and remove the project's containers and network
    #[command(after_help = "Examples:\n  devenv down               stop and remove containers and the network\n  devenv down -v            ... and the project's named volumes (data is lost)\n  devenv down --rmi local   ... and the images devenv built for the project\n  devenv down --timeout 2   give containers 2 s to stop before killing them")]
    Down(down::DownArgs),
    /// List the project's services: state, health, ports, uptime
    #[command(after_help = "Examples:\n  devenv ps\n  devenv ps --json | jq '.[] | select(.health != \"healthy\")'")]
    Ps(ps::PsArgs),
    /// Show service output, one colour per service
    #[command(after_help = "Examples:\n  devenv logs               everything so far\n  devenv logs -f api worker follow two services\n  devenv logs --tail 50 --since 10m db")]
    Logs(logs::LogsArgs),
    /// Run a command in a running service's container
    #[command(after_help = "Examples:\n  devenv exec db -- psql -U devenv\n  devenv exec api -- sh -c 'env | sort'\n  devenv exec -T api -- cat /etc/os-release   (no TTY, for scripts)")]
    Exec(exec::ExecArgs),
    /// Apply seed data again (`--reset` empties what seeds created first)
    #[command(after_help = "Examples:\n  devenv seed                              re-apply every service's seeds\n  devenv seed db                           re-apply db's seeds\n  devenv seed --reset db --yes             empty db, seed it again, re-run the jobs on it\n  devenv seed --reset db --yes --no-jobs   ... leaving those jobs to the next `devenv up`")]
    Seed(seed::SeedArgs),
    /// Save, list, restore and remove copies of the services' data (named volumes)
    #[command(after_help = "Examples:\n  devenv snapshot save seeded              copy every service's data (each stopped for the copy)\n  devenv snapshot restore seeded           put it back; the services are started and probed again\n  devenv snapshot restore seeded db        only db\n  devenv snapshot ls\n  devenv snapshot rm seeded\n\nSnapshots are Docker volumes labelled for the project; `down -v` keeps them.")]
    Snapshot(snapshot::SnapshotArgs),
    /// Put services back to their seeded state (kept after the first seeding), without seeding again
    #[command(after_help = "Examples:\n  devenv reset              every service with seed entries\n  devenv reset db           only db\n\nPostgres goes back inside the running server (template databases, no restart);\nother services by a volume copy (stopped for it). See README.md#snapshots.")]
    Reset(reset::ResetArgs),
    /// Up, run a command with the connection info in its environment, tear down
    #[command(after_help = "Examples:\n  devenv run -- cargo test                 up, run the tests, always tear down; exit = the tests' exit code\n  devenv run --keep -- ./scripts/smoke.sh  leave the environment up afterwards\n  devenv run --service db -- psql \"$DATABASE_URL\"\n\nThe command gets DEVENV_<SERVICE>_URL, _HOST, _PORT for every service, plus the\nfile's top-level `export:` names (e.g. DATABASE_URL: ${db.url}), host-side.")]
    Run(run::RunArgs),
    /// Remove environments whose owner (`devenv run`, a test using the library) died
    #[command(after_help = "Examples:\n  devenv gc                      remove projects whose owning process is gone\n  devenv gc --older-than 1h      only those created more than an hour ago\n  devenv gc --dry-run\n  devenv -p shop gc --snapshots  only project shop, its snapshots included\n\nEnvironments started with `devenv up` have no owner and are never collected. Torn snapshots\n(a save or import that died) are; complete ones only with --snapshots, when nothing else of\ntheir project is left.")]
    Gc(gc::GcArgs),
    /// Print the resolved environment file (secrets masked)
    #[command(after_help = "Examples:\n  devenv config                            the resolved devenv.yaml (loads again: devenv -f out.yaml config)\n  devenv config --plan --format json       devenv's internal plan, for debugging\n  devenv config --format json | jq '.services | keys'\n  devenv -f docker-compose.yml config      compose's normalized model, as devenv understood it\n  devenv -f compose.yaml -f compose.prod.yaml config --format json")]
    Config(config_cmd::ConfigArgs),
    /// Write a devenv.yaml from compose files (backing services become presets)
    #[command(after_help = "Examples:\n  devenv import                          compose.yaml / docker-compose.yml here → devenv.yaml\n  devenv import docker-compose.yml docker-compose.dev.yml -o devenv.yaml\n  devenv import -o -                     print instead of writing\n\nServices whose image is postgres, redis, kafka, clickhouse or elasticsearch become presets\n(image, env and volumes kept); healthcheck → health, develop.watch → watch.")]
    Import(import::ImportArgs),
    /// Print host-side connection info: DEVENV_<SERVICE>_URL, _HOST, _PORT
    #[command(after_help = "Examples:\n  devenv env                       KEY=value lines (passwords included: this is for your clients)\n  eval \"$(devenv env --format shell)\"\n  devenv env --format json | jq -r .DEVENV_DB_URL")]
    Env(env::EnvArgs),
    /// Is this machine ready for this environment? Docker, disk, images, ports, mounts, memory, kernel
    #[command(after_help = "Examples:\n  devenv doctor                              this machine, and ./devenv.yaml if there is one\n  devenv -f envs/hello/devenv.yaml doctor\n  devenv doctor --json | jq '.checks[] | select(.level == \"fail\")'\n\nEach problem is printed with a fix. Exit 1 when a check fails, 0 with warnings only.")]
    Doctor(doctor::DoctorArgs),
    /// Hot reload: sync edits into running containers, restart or rebuild per `watch:` rules
    #[command(after_help = "Examples:\n  devenv watch              follow every service's `watch:` rules (Ctrl-C stops)\n  devenv watch api          only api's rules\n  devenv watch --debounce 200ms   wait longer for editors that write in bursts\n  devenv up --watch         start everything, then watch")]
    Watch(watch::WatchArgs),
    /// Write a commented devenv.yaml for this repository (asks on a terminal)
    #[command(after_help = "Examples:\n  devenv init                                  detect apps, ask which backing services to add\n  devenv init --yes --preset postgres --preset redis   no questions: detected apps + two presets\n  devenv init --dry-run                        print the proposal, write nothing\n  devenv init --force                          overwrite an existing devenv.yaml\n\nDetects package.json, Cargo.toml, pyproject.toml / requirements.txt, go.mod and\nDockerfiles in the current directory and one level down (frontend/, backend/);\nan app without a Dockerfile gets a development one. A compose file? Try `devenv import`.")]
    Init(init::InitArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish)
    #[command(after_help = completions::AFTER_HELP)]
    Completions(completions::CompletionsArgs),
    /// The environment in a local kind/k3d cluster: render, lint, up, status, down
    #[command(after_help = "Examples:\n  devenv k8s render -o k8s/generated   manifests from devenv.yaml, one file per service\n  devenv k8s lint                      schemas + cross-object checks, rendered and k8s.manifests\n  devenv k8s up                        create/reuse the cluster, apply, wait, seed, port-forward\n  devenv k8s status\n  devenv k8s down -v")]
    K8s(k8s::K8sArgs),
    /// The environment in the browser: services, readiness, URLs, dependencies, logs, actions
    #[command(after_help = "Examples:\n  devenv ui                 serve the page on 127.0.0.1 (a free port), open it in the browser\n  devenv ui --no-open       only print its URL (with the token every request needs)\n  devenv up --ui            start the environment with the page open, its startup timeline included")]
    Ui(ui_cmd::UiArgs),
}

/// Parse the command line; a usage error is printed as clap words it, with a
/// `see:` line like every other error, and its exit code is returned
/// (`--help` and `--version` print and return 0).
pub fn parse_args() -> Result<Cli, u8> {
    Cli::try_parse().map_err(|e| {
        let _ = e.print();
        if e.use_stderr() {
            eprintln!("{} {}", console::style("see:").dim(), USAGE_DOCS);
            exit::CONFIG
        } else {
            exit::OK
        }
    })
}

/// Where usage errors point (the same section as `Error::Usage`).
pub const USAGE_DOCS: &str = "README.md#commands";

/// Parse the command line and run; returns the process exit code.
pub async fn run(cli: Cli) -> u8 {
    let color = ui::color_wanted(cli.global.no_color);
    let (junit, trace) = match &cli.command {
        Command::Up(a) => (a.junit.clone(), a.trace),
        Command::Run(a) => (a.junit.clone(), a.trace),
        _ => (None, false),
    };
    let started = std::time::Instant::now();
    let mut ui = Ui::new(cli.global.progress, color);
    if junit.is_some() || trace {
        ui = ui.recording();
    }
    let suite = cli.global.project.clone().unwrap_or_else(|| "devenv".into());
    // A detached child of `reset` / `snapshot save` (same arguments).
    let child = prepare::requested();
    let result = match cli.command {
        _ if child.is_some() => prepare::child(&cli.global, child.as_deref().unwrap_or_default(), &ui).await,
        Command::Up(a) => up::run(&cli.global, a, &ui).await,
        Command::Down(a) => down::run(&cli.global, a, &ui).await,
        Command::Ps(a) => ps::run(&cli.global, a, &ui).await,
        Command::Logs(a) => logs::run(&cli.global, a, &ui).await,
        Command::Exec(a) => exec::run(&cli.global, a, &ui).await,
        Command::Config(a) => config_cmd::run(&cli.global, a, &ui).await,
        Command::Import(a) => import::run(&cli.global, a, &ui).await,
        Command::Doctor(a) => doctor::run(&cli.global, a, &ui).await,
        Command::Env(a) => env::run(&cli.global, a, &ui).await,
        Command::Seed(a) => seed::run(&cli.global, a, &ui).await,
        Command::Snapshot(a) => snapshot::run(&cli.global, a, &ui).await,
        Command::Watch(a) => watch::run(&cli.global, a, &ui).await,
        Command::Run(a) => run::run(&cli.global, a, &ui).await,
        Command::Reset(a) => reset::run(&cli.global, a, &ui).await,
        Command::Gc(a) => gc::run(&cli.global, a, &ui).await,
        Command::Init(a) => init::run(&cli.global, a, &ui).await,
        Command::Completions(a) => completions::run(a),
        Command::K8s(a) => k8s::run(&cli.global, a, &ui).await,
        Command::Ui(a) => ui_cmd::run(&cli.global, a, &ui).await,
    };
    if let Some(path) = junit {
        let xml = ui::junit::report(&suite, started, &ui.events(), result.as_ref().err(), &ui.secrets());
        if let Err(e) = std::fs::write(&path, xml) {
            ui.warn(format!("cannot write the JUnit report {}: {e}", path.display()));
        }
    }
    if trace {
        ui.report(&ui::trace::table(started, &ui.events(), started.elapsed().as_millis() as u64));
    }
    match result {
        Ok(code) => code,
        Err(e) => {
            ui.error(&e);
            e.exit_code()
        }
    }
}

/// What the loader needs, from the global options and the process.
pub fn load_options(global: &Global) -> Result<LoadOptions, Error> {
    let cwd = std::env::current_dir().map_err(|e| Error::Other(format!("cannot read the current directory: {e}")))?;
    Ok(LoadOptions {
        file: global.files.first().cloned(),
        more_files: global.files.iter().skip(1).cloned().collect(),
        project: global.project.clone(),
        profiles: global.profiles.clone(),
        cwd,
        environ: std::env::vars().collect(),
    })
}

/// Load the environment file named by the global options.
pub fn load(global: &Global) -> Result<LoadedEnv, Error> {
    Ok(config::load(&load_options(global)?)?)
}

/// Load and plan.
pub fn load_plan(global: &Global, ui: &Ui) -> Result<(LoadedEnv, Plan), Error> {
    let env = load(global)?;
    // Known before planning (its errors), refined once the plan says what is shown openly.
    ui.set_secrets(secrets::known(&env, None));
    let planned = plan::ImageMap::load(std::env::var("DEVENV_IMAGE_MAP").ok().as_deref(), plan::ImageMap::user_file())
        .and_then(|images| Ok((plan::resolve(&env, &images)?, images)));
    // The file's warnings, and its mounts of the host root or the Docker socket: once per change.
    let mut shown = env.warnings.clone();
    if let Ok((plan, _)) = &planned {
        let sockets = warnings::docker_sockets(std::env::var("DOCKER_HOST").ok().as_deref());
        shown.extend(warnings::risky_mounts(plan, &sockets).iter().map(ToString::to_string));
    }
    if global.verbose || warnings::first_time(&env.file, &shown) {
        for w in &shown {
            ui.warn(w.clone());
        }
    }
    let (mut plan, mut images) = planned?;
    // Presets decide image-dependent facts (Postgres' data path) from the image
    // itself when it is present locally: plan again, told what it declares.
    if add_local_image_configs(&plan, &mut images) {
        plan = plan::resolve(&env, &images)?;
    }
    map_build_bases(&mut plan, &images);
    if global.ports == PortsMode::Random {
        plan::randomize_ports(&mut plan);
    }
    ui.set_secrets(secrets::known(&env, Some(&plan)));
    Ok((env, plan))
}

/// Record in `images` what the local images of the preset services declare
/// (their config); false when there is none to record. Best effort: without
/// an engine answering within 3 s, presets go by the image's tag.
fn add_local_image_configs(plan: &Plan, images: &mut plan::ImageMap) -> bool {
    let mut refs: Vec<String> = plan.services.values().filter(|s| s.preset.is_some()).map(|s| s.image.clone()).collect();
    refs.sort();
    refs.dedup();
    // Blocking on the runtime needs its multi-threaded flavour (the binary's).
    let Ok(handle) = tokio::runtime::Handle::try_current() else { return false };
    if refs.is_empty() || handle.runtime_flavor() != tokio::runtime::RuntimeFlavor::MultiThread {
        return false;
    }
    let inspect = async {
        let docker = crate::docker::Docker::connect().await.ok()?;
        let mut found = Vec::new();
        for r in refs {
            if let Ok(Some(config)) = docker.image_config(&r).await {
                found.push((r, config));
            }
        }
        Some(found)
    };
    let found = tokio::task::block_in_place(|| handle.block_on(tokio::time::timeout(Duration::from_secs(3), inspect)));
    let found = found.ok().flatten().unwrap_or_default();
    let any = !found.is_empty();
    for (reference, config) in found {
        images.add_config(&reference, config);
    }
    any
}

/// The image map applied to build base images named through a build arg
/// (`ARG PYTHON_IMAGE=python:3.12-slim` + `FROM ${PYTHON_IMAGE}`): the mapped
/// reference is passed as that build arg. A literal `FROM` line is not mapped.
pub fn map_build_bases(plan: &mut Plan, images: &plan::ImageMap) {
    for svc in plan.services.values_mut() {
        let Some(build) = svc.build.as_mut() else { continue };
        let Ok(text) = std::fs::read_to_string(build.context.join(&build.dockerfile)) else { continue };
        for base in crate::init::dockerfile::bases(&text, &build.args) {
            if let (Some(arg), Some(reference)) = (base.arg, base.reference) {
                let mapped = images.apply(&reference);
                if mapped != reference {
                    build.args.insert(arg, mapped);
                }
            }
        }
    }
}

/// The project name for commands that can work from labels alone (`ps`, `logs`, `down`):
/// `-p` wins; else the file's. Returns the plan too when the file loads.
pub fn project_and_plan(global: &Global, ui: &Ui) -> Result<(String, Option<Plan>), Error> {
    match load_plan(global, ui) {
        Ok((_, plan)) => Ok((plan.project.clone(), Some(plan))),
        Err(e) => match &global.project {
            Some(p) => {
                ui.warn(format!("working from Docker labels only: {e}"));
                Ok((p.clone(), None))
            }
            None => Err(e),
        },
    }
}

/// `--timeout` on `up`/`run`: the deadline of every service's readiness probe
/// (the command line wins over the file); returns the deadline for services
/// without a probe.
pub fn apply_timeout(plan: &mut Plan, timeout: Option<Duration>) -> Duration {
    if let Some(t) = timeout {
        for h in plan.services.values_mut().filter_map(|s| s.health.as_mut()) {
            h.timeout = t;
        }
    }
    timeout.unwrap_or(plan::resolve::DEFAULT_READY_TIMEOUT)
}

/// Parse `--timeout` style values.
pub fn parse_duration_arg(s: &str) -> Result<Duration, String> {
    config::parse_duration(s)
}

pub const OK: u8 = exit::OK;

#[cfg(test)]
mod help_tests;

#[cfg(test)]
mod tests {
    #[test]
    fn command_line_definition_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}

/// The session the snapshot commands (`snapshot`, `reset`, the detached
/// preparation) work in: no build, no orphan removal, no owner.
pub(super) fn snapshot_session(docker: crate::docker::Docker, plan: crate::plan::Plan, ui: &Ui) -> crate::engine::Session {
    let opts = crate::engine::UpOptions { remove_orphans: false, build: false, ready_timeout: crate::plan::resolve::DEFAULT_READY_TIMEOUT, owner: None };
    crate::engine::Session::new(docker, plan, ui.clone(), opts)
}

/// Run `work` to its end even on Ctrl-C/SIGTERM (a restore is never left
/// half-done), then return `Interrupted`.
pub async fn to_the_end<T>(work: impl std::future::Future<Output = Result<T, Error>>, what: &str, ui: &Ui) -> Result<T, Error> {
    tokio::pin!(work);
    tokio::select! {
        r = &mut work => return r,
        _ = interrupted() => {}
    }
    ui.warn(format!("interrupted: finishing the {what} first (never half of it)"));
    (&mut work).await?;
    Err(Error::Interrupted)
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn interrupted() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
