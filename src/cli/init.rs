//! `devenv init`: look at the repository, ask (on a terminal) which backing
//! services and which detected apps to include, write a commented devenv.yaml.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::Args;
use console::{style, Term};

use super::Global;
use crate::error::{exit, Error};
use crate::init::{self, App, Choices, Detection};
use crate::preset::Kind;
use crate::ui::Ui;

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Don't ask: include every detected app; backing services only from --preset
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// A backing service to include (repeatable)
    #[arg(long = "preset", value_name = "PRESET", value_parser = clap::builder::PossibleValuesParser::new(crate::preset::NAMES))]
    pub presets: Vec<String>,
    /// Leave the detected app services out (backing services only)
    #[arg(long)]
    pub no_apps: bool,
    /// Overwrite an existing environment file
    #[arg(long)]
    pub force: bool,
    /// Print the file on stdout; write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Where to write [default: devenv.yaml in the current directory, or the global -f FILE]; `-` prints it
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// The file to write (`-o`, else the global `-f`, else ./devenv.yaml) and its directory, the project root.
fn output_path(global: &Global, args: &InitArgs, cwd: &Path, to_stdout: bool) -> Result<(PathBuf, PathBuf), Error> {
    let chosen = args.output.clone().filter(|o| o != Path::new("-")).or_else(|| global.files.first().cloned());
    let path = cwd.join(chosen.unwrap_or_else(|| "devenv.yaml".into()));
    let root = path.parent().map(Path::to_path_buf).unwrap_or_else(|| cwd.to_path_buf());
    if !root.is_dir() {
        return Err(Error::Usage {
            message: format!("{} is not a directory", root.display()),
            hint: Some("create it first, or run `devenv init` inside the project".into()),
        });
    }
    if !to_stdout && path.exists() && !args.force {
        return Err(Error::Usage {
            message: format!("{} already exists", path.display()),
            hint: Some("keep it, or pass --force to overwrite it (--dry-run prints what init would write)".into()),
        });
    }
    Ok((path, root))
}

pub async fn run(global: &Global, args: InitArgs, _ui: &Ui) -> Result<u8, Error> {
    let cwd = std::env::current_dir().map_err(|e| Error::Other(format!("cannot read the current directory: {e}")))?;
    let to_stdout = args.dry_run || args.output.as_deref() == Some(Path::new("-"));
    let (path, root) = output_path(global, &args, &cwd, to_stdout)?;
    let detection = init::detect(&root);
    let flagged: Vec<Kind> = args.presets.iter().filter_map(|p| Kind::parse(p)).collect();
    let interactive = !args.yes && std::io::stdin().is_terminal() && Term::stderr().is_term();
    let choices = if interactive {
        match ask(&detection, project(global, &detection), &flagged, args.no_apps)? {
            Some(c) => c,
            None => return Ok(exit::OK),
        }
    } else {
        decide_without_asking(&detection, project(global, &detection), flagged, args.no_apps)
    };
    if to_stdout {
        print!("{}", init::render(&choices));
        let files: Vec<&str> = choices.apps.iter().flat_map(|a| a.generated.iter().map(|g| g.path.as_str())).collect();
        if !files.is_empty() {
            eprintln!("{} not written (dry run): {}", style("note:").cyan().bold(), files.join(", "));
        }
        return Ok(exit::OK);
    }
    write_all(&root, &path, &choices)?;
    report(&cwd, &path, &choices);
    Ok(exit::OK)
}

/// `-p NAME` if given, else the directory's name.
fn project(global: &Global, detection: &Detection) -> String {
    global.project.clone().unwrap_or_else(|| init::project_name(&detection.root))
}

/// `--yes` or no terminal: the detected apps and the `--preset` flags; suggestions are only mentioned.
fn decide_without_asking(detection: &Detection, project: String, presets: Vec<Kind>, no_apps: bool) -> Choices {
    if let Some(compose) = &detection.compose {
        eprintln!(
            "{} found {compose}: `devenv import` converts it into a devenv.yaml with your services as they are; continuing with what init detects",
            style("note:").cyan().bold()
        );
    }
    for (kind, why) in detection.suggested_presets() {
        if !presets.contains(&kind) {
            eprintln!("{} your dependencies suggest {} ({why}): add `--preset {}`", style("note:").cyan().bold(), kind.name(), kind.name());
        }
    }
    let apps = if no_apps { vec![] } else { detection.apps.clone() };
    Choices { project, presets, apps }
}

fn describe_app(a: &App) -> String {
    let dir = a.display_dir();
    let extra = if a.generated.is_empty() { String::new() } else { "; init writes a Dockerfile".into() };
    format!("{:<12} {:<7} {:<12} port {:<5} ({}{extra})", a.name, a.lang.name(), dir, a.port, a.evidence.join(", "))
}

fn io_err(e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::Interrupted || e.kind() == std::io::ErrorKind::UnexpectedEof {
        Error::Interrupted
    } else {
        Error::Other(format!("cannot read the answer: {e}"))
    }
}

/// A yes/no question; Enter takes `default`.
fn confirm(term: &Term, question: &str, default: bool) -> Result<bool, Error> {
    let choices = if default { "[Y/n]" } else { "[y/N]" };
    loop {
        term.write_str(&format!("{question} {} ", style(choices).dim())).map_err(io_err)?;
        let answer = term.read_line().map_err(io_err)?;
        match answer.trim().to_ascii_lowercase().as_str() {
            "" => return Ok(default),
            "y" | "yes" => return Ok(true),
            "n" | "no" => return Ok(false),
            _ => term.write_line("  please answer y or n").map_err(io_err)?,
        }
    }
}

/// Ask on the terminal. `None`: the user chose to stop (e.g. to run `devenv import`).
fn ask(detection: &Detection, project: String, flagged: &[Kind], no_apps: bool) -> Result<Option<Choices>, Error> {
    let term = Term::stderr();
    let line = |s: String| term.write_line(&s).map_err(io_err);
    if let Some(compose) = &detection.compose {
        line(format!("{} {compose} is here: `devenv import` converts it into a devenv.yaml with your services as they are.", style("note:").cyan().bold()))?;
        if !confirm(&term, "Write a new devenv.yaml with `devenv init` anyway?", false)? {
            line("Run `devenv import` to convert it.".into())?;
            return Ok(None);
        }
    }
    let suggested = detection.suggested_presets();
    let default: Vec<Kind> = if flagged.is_empty() { suggested.iter().map(|(k, _)| *k).collect() } else { flagged.to_vec() };
    if !suggested.is_empty() {
        let list: Vec<String> = suggested.iter().map(|(k, why)| format!("{} ({why})", k.name())).collect();
        line(format!("Your dependencies suggest: {}", list.join(", ")))?;
    }
    let menu: Vec<String> = crate::preset::NAMES.iter().enumerate().map(|(i, n)| format!("{} {n}", i + 1)).collect();
    line(format!("{} {}", style("Backing services:").bold(), menu.join("  ")))?;
    let shown_default = if default.is_empty() { "none".to_string() } else { default.iter().map(|k| k.name()).collect::<Vec<_>>().join(", ") };
    let presets = loop {
        term.write_str(&format!("Which ones? names or numbers, `none` for none {} ", style(format!("[{shown_default}]")).dim())).map_err(io_err)?;
        let answer = term.read_line().map_err(io_err)?;
        match init::parse_preset_answer(&answer, &default) {
            Ok(p) => break p,
            Err(e) => line(format!("  {e}"))?,
        }
    };
    let mut apps = Vec::new();
    if !no_apps && !detection.apps.is_empty() {
        line(style("Apps found:").bold().to_string())?;
        for a in &detection.apps {
            if confirm(&term, &format!("  include {}?", describe_app(a)), true)? {
                apps.push(a.clone());
            }
        }
    } else if detection.apps.is_empty() {
        line("No app found (no package.json, Cargo.toml, pyproject.toml, requirements.txt, go.mod or Dockerfile here or one level down).".into())?;
    }
    Ok(Some(Choices { project, presets, apps }))
}

fn write_file(path: &Path, text: &str) -> Result<(), Error> {
    std::fs::write(path, text).map_err(|e| Error::Usage {
        message: format!("cannot write {}: {e}", path.display()),
        hint: Some("check the directory's permissions (`devenv doctor` checks the project directory too)".into()),
    })
}

/// Write the generated Dockerfiles (never over an existing file), then the environment file.
fn write_all(root: &Path, path: &Path, choices: &Choices) -> Result<(), Error> {
    for g in choices.apps.iter().flat_map(|a| &a.generated) {
        let p = root.join(&g.path);
        if !p.exists() {
            write_file(&p, &g.content)?;
        }
    }
    write_file(path, &init::render(choices))
}

fn report(cwd: &Path, path: &Path, choices: &Choices) {
    let ok = style("✓").green().bold();
    let rel = |p: &Path| p.strip_prefix(cwd).map(|r| r.display().to_string()).unwrap_or_else(|_| p.display().to_string());
    let root = path.parent().unwrap_or(cwd);
    for g in choices.apps.iter().flat_map(|a| &a.generated) {
        let why = if g.path.ends_with("Dockerfile") { "a development image: check its CMD" } else { "keeps dependencies and build output out of the image" };
        eprintln!("{ok} wrote {} ({why})", rel(&root.join(&g.path)));
    }
    let mut names: Vec<String> = choices.presets.iter().map(|k| init::preset_service(*k).0.to_string()).collect();
    names.extend(init::app_names(choices));
    let services = if names.is_empty() { "no services yet".to_string() } else { format!("services: {}", names.join(", ")) };
    eprintln!("{ok} wrote {} ({services})", rel(path));
    let opts = crate::config::LoadOptions { file: Some(path.to_path_buf()), cwd: cwd.to_path_buf(), ..Default::default() };
    if let Err(e) = crate::config::load(&opts) {
        eprintln!("{} the written file does not load ({e}); please report this, and fix the file by hand", style("warning:").yellow().bold());
        return;
    }
    let file_flag = if path == cwd.join("devenv.yaml") { String::new() } else { format!("-f {} ", rel(path)) };
    eprintln!("next: devenv {file_flag}up -d      (`devenv {file_flag}doctor` checks this machine first)");
}
