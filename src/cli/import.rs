//! `devenv import`: a compose project → an equivalent devenv.yaml, with the
//! five backing services turned into presets.

use std::path::{Path, PathBuf};

use clap::Args;

use super::Global;
use crate::config::from_compose::{self, Mode};
use crate::config::{self, EnvSpec, LoadOptions, VolumeEntry};
use crate::error::{exit, Error};
use crate::ui::Ui;

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Compose files, merged in order [default: compose.yaml / docker-compose.yml … here, plus its override file]
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Where to write; `-` prints to stdout [default: devenv.yaml next to the first compose file]
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Overwrite the output file if it exists
    #[arg(long)]
    pub force: bool,
}

pub async fn run(global: &Global, args: ImportArgs, ui: &Ui) -> Result<u8, Error> {
    let cwd = std::env::current_dir().map_err(|e| Error::Other(format!("cannot read the current directory: {e}")))?;
    let files: Vec<PathBuf> = if !args.files.is_empty() { args.files.clone() } else { global.files.clone() };
    let files: Vec<PathBuf> = if files.is_empty() {
        crate::compose::discover(&cwd).ok_or_else(|| Error::Usage {
            message: format!("no compose file (compose.yaml, docker-compose.yml, …) in {}", cwd.display()),
            hint: Some("name one: `devenv import path/to/docker-compose.yml`".into()),
        })?
    } else {
        files.iter().map(|f| cwd.join(f)).collect()
    };
    // Every profile's services: the devenv file keeps their `profiles`.
    let opts = LoadOptions { project: global.project.clone(), profiles: vec!["*".into()], cwd: cwd.clone(), environ: std::env::vars().collect(), ..Default::default() };
    let project = crate::compose::load(&files, &opts)?;
    for w in &project.warnings {
        ui.warn(w.clone());
    }
    let converted = from_compose::to_env_spec(&project, Mode::Import).map_err(|e| Error::Config(project.locations.error(&e.path, e.message, None)))?;
    let out_path = match &args.output {
        Some(p) if p.as_os_str() == "-" => None,
        Some(p) => Some(cwd.join(p)),
        None => Some(project.dir.join("devenv.yaml")),
    };
    let base = out_path.as_ref().and_then(|p| p.parent()).map(Path::to_path_buf).unwrap_or(cwd);
    let mut spec = converted.spec;
    relativize(&mut spec, &base);
    let text = render(&spec, &files, &converted.notes)?;
    let Some(out) = out_path else {
        print!("{text}");
        return Ok(exit::OK);
    };
    if out.exists() && !args.force {
        return Err(Error::Usage {
            message: format!("{} already exists", out.display()),
            hint: Some("pass --force to overwrite it, or -o OTHER.yaml / -o - (stdout)".into()),
        });
    }
    std::fs::write(&out, &text).map_err(|e| Error::Other(format!("cannot write {}: {e}", out.display())))?;
    // What was written must load: a failure here is a devenv bug, reported as such.
    let check = LoadOptions { file: Some(out.clone()), cwd: base.clone(), environ: std::env::vars().collect(), profiles: vec!["*".into()], ..Default::default() };
    if let Err(e) = config::load(&check) {
        return Err(Error::Other(format!("the imported file does not load (please report this): {e}")));
    }
    for n in &converted.notes {
        ui.warn(n.clone());
    }
    ui.info(format!(
        "wrote {} ({} services{}); try: devenv -f {} config",
        out.display(),
        spec.services.len(),
        presets_summary(&spec),
        out.display()
    ));
    Ok(exit::OK)
}

fn presets_summary(spec: &EnvSpec) -> String {
    let presets: Vec<String> =
        spec.services.iter().filter_map(|(n, s)| s.preset.as_ref().map(|p| format!("{n}: {p}"))).collect();
    if presets.is_empty() { String::new() } else { format!(", presets: {}", presets.join(", ")) }
}

/// Absolute paths under `base` (compose makes every path absolute) become `./relative`.
fn relativize(spec: &mut EnvSpec, base: &Path) {
    let rel = |s: &str| -> Option<String> {
        let p = Path::new(s);
        let r = p.strip_prefix(base).ok()?;
        Some(if r.as_os_str().is_empty() { ".".into() } else { format!("./{}", r.display()) })
    };
    for s in spec.secrets.values_mut().chain(spec.configs.values_mut()) {
        if let Some(r) = s.file.as_deref().and_then(rel) {
            s.file = Some(r);
        }
    }
    for svc in spec.services.values_mut() {
        if let Some(b) = &mut svc.build
            && let Some(r) = rel(&b.context)
        {
            b.context = r;
        }
        for v in &mut svc.volumes {
            match v {
                VolumeEntry::Short(v) => {
                    if v.starts_with('/')
                        && let Some((src, rest)) = v.split_once(':')
                        && let Some(r) = rel(src)
                    {
                        *v = format!("{r}:{rest}");
                    }
                }
                VolumeEntry::Long(l) => {
                    if let Some(r) = l.source.as_deref().and_then(rel) {
                        l.source = Some(r);
                    }
                }
            }
        }
        for w in &mut svc.watch {
            if let Some(r) = rel(&w.path) {
                w.path = r;
            }
        }
    }
}

fn render(spec: &EnvSpec, files: &[PathBuf], notes: &[String]) -> Result<String, Error> {
    let body = serde_yaml::to_string(spec).map_err(|e| Error::Other(format!("cannot write YAML: {e}")))?;
    let names: Vec<String> = files.iter().map(|f| f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()).collect();
    let mut head = format!(
        "# devenv environment file, imported from {} by `devenv import`.\n\
         # Backing services recognised by their image are presets: devenv probes them over\n\
         # their own protocol and `devenv env` prints their URLs. Values from .env and the\n\
         # shell were substituted: review secrets before committing this file.\n",
        names.join(" + ")
    );
    for n in notes {
        head.push_str(&format!("# note: {n}\n"));
    }
    Ok(format!("{head}{body}"))
}
