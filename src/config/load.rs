//! Finding, reading, interpolating, deserializing and validating the environment file.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde_yaml::{Mapping, Value};

use super::model::{BUILD_KEYS, EnvSpec, HEALTH_KEYS, SEED_KEYS, SERVICE_KEYS, TOP_KEYS, VOLUME_KEYS, WATCH_KEYS};
use super::validate::{self, Ctx};
use super::from_compose;
use crate::compose::LoadOptions;
use crate::values::volumes::normalize;
use crate::yaml::interpolate::{Lookup, Vars, Warnings, dotenv_map, interpolate_value, parse_dotenv};
use crate::yaml::locate::{Locations, join};
use crate::yaml::{ConfigError, Pos, apply_merges, first_tag, kind_of, syntax_error};

/// Moved to `values`; kept here so older paths still resolve.
use crate::values::normalize_project_name;

/// File names tried, in order, when no `-f` is given.
pub const DEFAULT_FILES: &[&str] = &["devenv.yaml", "devenv.yml"];

/// What the loader reads: devenv's own file, or compose files merged in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Devenv(PathBuf),
    Compose(Vec<PathBuf>),
}

/// Loads, interpolates and validates the environment file (or compose files).
pub fn load(opts: &LoadOptions) -> Result<LoadedEnv, ConfigError> {
    let mut notes = Vec::new();
    match find_input(opts, &mut notes)? {
        Input::Devenv(file) => {
            let dir = file.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("/"));
            let text = read_text(&file)?;
            let mut env = load_str(&text, &file, &dir, opts)?;
            env.warnings.splice(0..0, notes);
            Ok(env)
        }
        Input::Compose(files) => load_compose(&files, opts, notes),
    }
}

/// Compose files, read as `docker compose` reads them, then translated with
/// compose's semantics kept (`from_compose::Mode::Run`).
fn load_compose(files: &[PathBuf], opts: &LoadOptions, mut notes: Vec<String>) -> Result<LoadedEnv, ConfigError> {
    let project = crate::compose::load(files, opts)?;
    notes.extend(project.warnings.iter().cloned());
    let first = files.first().cloned().unwrap_or_default();
    let converted = from_compose::to_env_spec(&project, from_compose::Mode::Run).map_err(|e| {
        project.locations.error(&e.path, e.message, Some("see README.md#compose-files for what devenv runs from a compose file".into()))
    })?;
    notes.extend(converted.notes);
    let mut spec = converted.spec;
    let creatable_binds = creatable_binds(&project, &mut notes);
    // `docker compose up` never looks at `develop.watch`: a rule for a missing path
    // must not stop the stack from running.
    for (name, svc) in spec.services.iter_mut() {
        svc.watch.retain(|w| {
            let there = project.dir.join(&w.path).exists();
            if !there {
                notes.push(format!("services.{name}.develop.watch: {} does not exist; the rule is skipped", w.path));
            }
            there
        });
    }
    // The compose loader read this `.env` too and already reported its warnings
    // (they are in `notes` via `project.warnings`): do not report them twice.
    let dotenv = read_dotenv(&project.dir, opts, &mut Vec::new())?;
    let vars = Vars { environ: &opts.environ, dotenv: &dotenv };
    // Later errors (validation, planning) point into the first file; errors found
    // now are placed in whichever file (override, include, extends) defined the value.
    let first_locations = std::fs::read_to_string(&first).map(|t| Locations::from_text(&t)).unwrap_or_default();
    let source = Source { file: first.clone(), dir: project.dir.clone(), locations: first_locations, creatable_binds, interpolated: Default::default(), compose: true };
    finish(spec, source, opts, &vars, notes).map_err(|e| {
        if e.yaml_path.is_empty() {
            return e;
        }
        project.locations.error(&from_compose::compose_path(&e.yaml_path), e.message, e.hint)
    })
}

/// Compose creates a missing bind-mount source (short syntax, or
/// `bind.create_host_path`) as an empty directory when it creates the
/// container; so does `up` (`engine::binds`). Loading only notes it: it never
/// writes to disk (`devenv config` is read-only).
fn creatable_binds(project: &crate::compose::ComposeProject, notes: &mut Vec<String>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for (name, svc) in &project.services {
        for v in &svc.volumes {
            let create = v.kind == "bind" && v.bind.as_ref().is_some_and(|b| b.create_host_path);
            let Some(src) = v.source.as_deref().filter(|_| create) else { continue };
            if !Path::new(src).exists() {
                notes.push(format!("services.{name}.volumes: the bind-mount source {src} does not exist; `up` creates it (as compose does)"));
            }
            out.push(normalize(Path::new(src)));
        }
    }
    out
}

/// A loaded, interpolated and validated environment file.
#[derive(Debug, Clone)]
pub struct LoadedEnv {
    pub spec: EnvSpec,
    /// Absolute path of the file read.
    pub file: PathBuf,
    /// Directory relative paths are resolved against (the file's directory).
    pub dir: PathBuf,
    /// Project name: `-p`, else `name:`, else the directory name (normalized).
    pub project: String,
    /// YAML path -> position, for errors found after loading (e.g. cycles).
    pub locations: Locations,
    /// Warnings worth showing (e.g. a `.env` line that could not be parsed).
    pub warnings: Vec<String>,
    /// YAML path → the variables its value was interpolated from
    /// (`services.cache.image` → `["REDIS_IMAGE"]`), for hints.
    pub interpolated: std::collections::BTreeMap<String, Vec<String>>,
}

/// Which file(s) `load` reads: `-f` files as given (several, a compose file
/// name, or one file with compose's shape mean compose); else devenv.yaml in the directory; else a compose file
/// found the way compose finds it (plus its override file).
pub fn find_input(opts: &LoadOptions, notes: &mut Vec<String>) -> Result<Input, ConfigError> {
    let cwd = if opts.cwd.is_absolute() {
        opts.cwd.clone()
    } else {
        std::env::current_dir().map(|d| d.join(&opts.cwd)).unwrap_or_else(|_| opts.cwd.clone())
    };
    let cwd = normalize(&cwd);
    if let Some(f) = &opts.file {
        let mut files = vec![check_file(&cwd, f)?];
        for more in &opts.more_files {
            files.push(check_file(&cwd, more)?);
        }
        let is_devenv = |p: &PathBuf| p.file_name().is_some_and(|n| DEFAULT_FILES.iter().any(|d| n == *d));
        if files.len() == 1 && !single_file_is_compose(&files[0], notes) {
            return Ok(Input::Devenv(files.remove(0)));
        }
        if let Some(d) = files.iter().find(|p| is_devenv(p)) {
            return Err(file_error(
                d,
                format!("{} cannot be merged with other files: only compose files are merged (several `-f`)", d.display()),
                Some("pass a devenv.yaml alone with one `-f`".into()),
            ));
        }
        return Ok(Input::Compose(files));
    }
    let compose = crate::compose::discover(&cwd);
    for name in DEFAULT_FILES {
        let p = cwd.join(name);
        if p.is_file() {
            if let Some(c) = compose.as_ref().and_then(|c| c.first()).filter(|c| c.parent() == Some(cwd.as_path())) {
                let cname = c.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                notes.push(format!("both {name} and {cname} are here: devenv reads {name} (use `-f {cname}` for the compose file)"));
            }
            return Ok(Input::Devenv(p));
        }
    }
    match compose {
        Some(files) => Ok(Input::Compose(files)),
        None => Err(file_error(
            &cwd.join(DEFAULT_FILES[0]),
            format!("no devenv.yaml (or compose.yaml / docker-compose.yml) in {}", cwd.display()),
            Some("run `devenv init` to create one, or pass `-f FILE`".into()),
        )),
    }
}

/// Keys only devenv files have: top-level, and in a service.
const DEVENV_ONLY_TOP_KEYS: &[&str] = &["export", "k8s"];
const DEVENV_ONLY_SERVICE_KEYS: &[&str] = &["preset", "env", "health", "seed", "watch", "run", "persist", "preset_defaults", "k8s"];

/// Which format a file's content has, and why (said to the user when `-f`
/// names a file whose name does not decide).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContentFormat {
    /// Compose's shape: a top-level `services:` (or `include:`), only keys of
    /// the compose specification, and at least one that devenv's format lacks.
    Compose,
    /// Devenv's: the reason is the first key that is not compose's.
    Devenv(String),
}

/// A file's format by its content; `None` when it cannot be read as a YAML
/// map (the devenv loader then reports what is wrong with it).
pub fn format_by_content(path: &Path) -> Option<ContentFormat> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut doc = serde_yaml::from_str::<Value>(&text).ok()?;
    apply_merges(&mut doc).ok()?;
    let Value::Mapping(top) = doc else { return None };
    let devenv = |why: String| Some(ContentFormat::Devenv(why));
    // The first key that is not compose's, and whether one is compose's only.
    let (mut foreign, mut compose_only): (Option<String>, bool) = (None, false);
    for key in top.keys().filter_map(Value::as_str) {
        if DEVENV_ONLY_TOP_KEYS.contains(&key) {
            return devenv(format!("top-level `{key}` is devenv's"));
        }
        if !crate::compose::is_top_key(key) {
            foreign.get_or_insert_with(|| format!("top-level `{key}` is not a compose key"));
        }
        compose_only |= !TOP_KEYS.contains(&key);
    }
    let services: Vec<(&str, &Mapping)> = match top.get("services") {
        Some(Value::Mapping(s)) => s.iter().filter_map(|(k, v)| Some((k.as_str()?, v.as_mapping()?))).collect(),
        _ => Vec::new(),
    };
    for (name, svc) in &services {
        for key in svc.keys().filter_map(Value::as_str) {
            if DEVENV_ONLY_SERVICE_KEYS.contains(&key) {
                return devenv(format!("`services.{name}.{key}` is devenv's"));
            }
            if !crate::compose::is_service_key(key) {
                foreign.get_or_insert_with(|| format!("`services.{name}.{key}` is not a compose key"));
            }
            compose_only |= !SERVICE_KEYS.contains(&key);
        }
    }
    if let Some(why) = foreign {
        return devenv(why);
    }
    if !(top.get("services").is_some_and(Value::is_mapping) || top.contains_key("include")) {
        return devenv("it has no top-level `services:`".into());
    }
    // Keys both formats have (`image`, `ports`…) read the same either way: devenv's.
    Some(if compose_only { ContentFormat::Compose } else { ContentFormat::Devenv("its keys are valid in both formats".into()) })
}

/// Whether errors in `file` are about a compose file (by name, else by content):
/// they link to README.md#compose-files.
pub fn is_compose_file(file: &Path) -> bool {
    let named_devenv = file.file_name().is_some_and(|n| DEFAULT_FILES.iter().any(|d| n == *d));
    !named_devenv && (crate::compose::looks_like_compose(file) || format_by_content(file) == Some(ContentFormat::Compose))
}

/// One `-f` file: compose's when its name says so, else by its content; a
/// choice made by content is said (`notes`).
fn single_file_is_compose(file: &Path, notes: &mut Vec<String>) -> bool {
    let named_devenv = file.file_name().is_some_and(|n| DEFAULT_FILES.iter().any(|d| n == *d));
    if named_devenv || crate::compose::looks_like_compose(file) {
        return !named_devenv;
    }
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    match format_by_content(file) {
        Some(ContentFormat::Compose) => {
            notes.push(format!("{name}: read as a compose file (it has keys only compose files have); see README.md#compose-files"));
            true
        }
        Some(ContentFormat::Devenv(why)) => {
            notes.push(format!("{name}: read as a devenv file ({why}); see README.md#the-environment-file"));
            false
        }
        None => false,
    }
}

/// An existing file named by `-f`, made absolute.
fn check_file(cwd: &Path, f: &Path) -> Result<PathBuf, ConfigError> {
    let p = normalize(&cwd.join(f));
    if !p.exists() {
        return Err(file_error(
            &p,
            format!("environment file {} not found", p.display()),
            Some("check the `-f` path, or run `devenv init` to create a devenv.yaml".into()),
        ));
    }
    if p.is_dir() {
        return Err(file_error(
            &p,
            format!("{} is a directory, not an environment file", p.display()),
            Some(format!("pass the file itself, e.g. `-f {}`", p.join("devenv.yaml").display())),
        ));
    }
    Ok(p)
}

fn file_error(file: &Path, message: String, hint: Option<String>) -> ConfigError {
    ConfigError { file: file.to_path_buf(), pos: None, yaml_path: String::new(), message, hint }
}

fn read_text(file: &Path) -> Result<String, ConfigError> {
    let bytes = std::fs::read(file).map_err(|e| file_error(file, format!("cannot read {}: {e}", file.display()), None))?;
    match String::from_utf8(bytes) {
        Ok(s) => Ok(s),
        Err(e) => {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let pos = pos_of_byte(valid);
            Err(ConfigError {
                file: file.to_path_buf(),
                pos: Some(pos),
                yaml_path: String::new(),
                message: "the file is not valid UTF-8".into(),
                hint: Some("save it as UTF-8".into()),
            })
        }
    }
}

/// Position just after `prefix` (valid UTF-8 bytes).
fn pos_of_byte(prefix: &[u8]) -> Pos {
    let text = String::from_utf8_lossy(prefix);
    let line = text.matches('\n').count() + 1;
    let col = text.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
    Pos { line, col }
}

/// Loads from text already read (`file` is used for messages, `dir` for relative paths).
pub fn load_str(text: &str, file: &Path, dir: &Path, opts: &LoadOptions) -> Result<LoadedEnv, ConfigError> {
    let mut warnings = Vec::new();
    let mut value: Value = match serde_yaml::from_str(text) {
        Ok(v) => v,
        Err(e) => return Err(syntax_error(&e, file, text)),
    };
    let locations = Locations::from_text(text);
    let err_at = |path: &str, message: String, hint: Option<String>| ConfigError {
        file: file.to_path_buf(),
        pos: locations.get(path).or(Some(Pos { line: 1, col: 1 })),
        yaml_path: path.to_string(),
        message,
        hint,
    };

    match &value {
        Value::Mapping(_) => {}
        Value::Null => {
            return Err(err_at(
                "",
                "the environment file is empty".into(),
                Some("start with:\n  services:\n    db:\n      preset: postgres".into()),
            ));
        }
        other => {
            return Err(err_at(
                "",
                format!("expected a map (with `services:`) at the top level, found {}", kind_of(other)),
                Some("start with:\n  services:\n    db:\n      preset: postgres".into()),
            ));
        }
    }

    apply_merges(&mut value)
        .map_err(|(path, msg)| err_at(&path, msg, Some("`<<` takes an alias to a map (`<<: *base`) or a list of them".into())))?;
    strip_extensions(&mut value);
    if let Some((path, tag)) = first_tag(&value) {
        return Err(err_at(
            &path,
            format!("YAML tag `{tag}` is not supported: devenv.yaml gives tags no meaning (it would be dropped, keeping only the value)"),
            Some(format!("remove `{tag}` and write the value itself; tags such as CloudFormation's `!Ref` are not interpreted")),
        ));
    }

    let dotenv = read_dotenv(dir, opts, &mut warnings)?;
    let vars = Vars { environ: &opts.environ, dotenv: &dotenv };

    let mut unset = Warnings::default();
    interpolate_value(&mut value, &vars, &mut unset).map_err(|e| err_at(&e.path, e.message, e.hint))?;
    let interpolated = std::mem::take(&mut unset.interpolated);
    warnings.extend(unset.into_messages());

    let spec: EnvSpec = serde_path_to_error::deserialize(value).map_err(|e| deserialize_error(&e, file, &locations))?;

    let source = Source { file: file.to_path_buf(), dir: dir.to_path_buf(), locations, creatable_binds: Vec::new(), interpolated, compose: false };
    finish(spec, source, opts, &vars, warnings)
}

/// The `.env` file next to the environment file (compose's rules), as a map.
/// A `.env` that exists but cannot be read is an error (compose fails too).
pub fn read_dotenv(dir: &Path, opts: &LoadOptions, warnings: &mut Vec<String>) -> Result<IndexMap<String, String>, ConfigError> {
    let environ_lookup = |n: &str| opts.environ.get(n).cloned();
    let p = dir.join(".env");
    if !p.exists() {
        return Ok(IndexMap::new());
    }
    let (t, bad_lines) = crate::yaml::envfile::read(&p)
        .map_err(|e| file_error(&p, format!("cannot read {}: {e}", p.display()), Some("fix or remove the `.env` file".into())))?;
    let (entries, w) = parse_dotenv(&t, &environ_lookup);
    warnings.extend(bad_lines.into_iter().chain(w).map(|w| format!("{}: {w}", p.display())));
    Ok(dotenv_map(&entries, &environ_lookup))
}

/// Where a loaded spec came from.
pub struct Source {
    pub file: PathBuf,
    /// Relative paths are resolved against this directory.
    pub dir: PathBuf,
    pub locations: Locations,
    /// Bind-mount sources that may be missing (compose creates them at `up`).
    pub creatable_binds: Vec<PathBuf>,
    /// YAML path → the variables its value was interpolated from.
    pub interpolated: std::collections::BTreeMap<String, Vec<String>>,
    /// Read from compose files (compose's load-time rules: see `Ctx::compose`).
    pub compose: bool,
}

/// The common tail of loading, whatever the input format: profiles, validation
/// (which parses every value once, onto each service's `parsed`), project name.
pub fn finish(mut spec: EnvSpec, src: Source, opts: &LoadOptions, vars: &Vars, mut warnings: Vec<String>) -> Result<LoadedEnv, ConfigError> {
    let disabled = apply_profiles(&mut spec, opts);
    let home_env = opts.environ.get("HOME").map(PathBuf::from).or_else(|| std::env::var_os("HOME").map(PathBuf::from));
    let ctx = Ctx {
        file: &src.file,
        dir: &src.dir,
        locations: &src.locations,
        disabled: &disabled,
        home: home_env.as_deref(),
        creatable: &src.creatable_binds,
        compose: src.compose,
    };
    let mut secret_binds = super::files::mount(&mut spec, &ctx, vars)?;
    let validated = validate::validate(&spec, &ctx)?;
    let project = project_name(opts, &spec, &src.dir, &ctx)?;
    let mut envs = service_envs(&spec, &ctx, vars, &mut warnings)?;
    let build_args = build_args(&spec, &envs, opts);
    for (name, mut parsed) in validated.services {
        parsed.env = envs.shift_remove(&name).unwrap_or_default();
        parsed.build_args = build_args.get(&name).cloned().unwrap_or_default();
        parsed.volumes.extend(secret_binds.shift_remove(&name).unwrap_or_default());
        if let Some(svc) = spec.services.get_mut(&name) {
            svc.parsed = parsed;
        }
    }
    Ok(LoadedEnv { spec, file: src.file, dir: src.dir, project, locations: src.locations, warnings, interpolated: src.interpolated })
}

/// Profiles: drops services none of whose profiles is active; returns them (name -> profiles).
fn apply_profiles(spec: &mut EnvSpec, opts: &LoadOptions) -> IndexMap<String, Vec<String>> {
    let active: HashSet<&str> = opts.profiles.iter().map(String::as_str).collect();
    let all = active.contains("*");
    let mut disabled: IndexMap<String, Vec<String>> = IndexMap::new();
    let names: Vec<String> = spec.services.keys().cloned().collect();
    for name in names {
        let keep = match spec.services.get(&name) {
            Some(svc) => svc.profiles.is_empty() || all || svc.profiles.iter().any(|p| active.contains(p.as_str())),
            None => true,
        };
        if !keep && let Some(svc) = spec.services.shift_remove(&name) {
            disabled.insert(name, svc.profiles);
        }
    }
    disabled
}

/// `build.args`: a bare key takes its value from the process environment, else
/// from any service's environment; keys found nowhere are dropped.
fn build_args(
    spec: &EnvSpec,
    envs: &IndexMap<String, IndexMap<String, String>>,
    opts: &LoadOptions,
) -> HashMap<String, BTreeMap<String, String>> {
    let lookup = |k: &str| opts.environ.get(k).cloned().or_else(|| envs.values().find_map(|m| m.get(k).cloned()));
    let mut out = HashMap::new();
    for (name, svc) in &spec.services {
        let Some(b) = &svc.build else { continue };
        let args = b.args.0.iter().filter_map(|(k, v)| Some((k.clone(), v.clone().or_else(|| lookup(k))?))).collect();
        out.insert(name.clone(), args);
    }
    out
}

/// Drops compose-style extension keys (`x-…`) at the top level and in services.
fn strip_extensions(root: &mut Value) {
    fn strip(m: &mut Mapping) {
        let keys: Vec<Value> = m.keys().filter(|k| matches!(k, Value::String(s) if s.starts_with("x-"))).cloned().collect();
        for k in keys {
            m.shift_remove(&k);
        }
    }
    if let Value::Mapping(top) = root {
        strip(top);
        if let Some(Value::Mapping(services)) = top.get_mut("services") {
            for (_, svc) in services.iter_mut() {
                if let Value::Mapping(s) = svc {
                    strip(s);
                }
            }
        }
    }
}

/// What an "unknown field/variant" message says.
struct Unknown {
    variant: bool,
    name: String,
    expected: Vec<String>,
}

fn parse_unknown(msg: &str) -> Option<Unknown> {
    let (variant, rest) = if let Some(r) = msg.strip_prefix("unknown field `") {
        (false, r)
    } else if let Some(r) = msg.strip_prefix("unknown variant `") {
        (true, r)
    } else {
        return None;
    };
    let (name, rest) = rest.split_once('`')?;
    let expected =
        rest.split_once("expected").map(|(_, e)| e.split('`').skip(1).step_by(2).map(String::from).collect()).unwrap_or_default();
    Some(Unknown { variant, name: name.to_string(), expected })
}

/// Valid keys at `path` from the model's key lists (fallback when the message has none).
fn keys_for(path: &str) -> &'static [&'static str] {
    let segs: Vec<&str> = path.split('.').collect();
    match segs.as_slice() {
        [""] => TOP_KEYS,
        ["services", _] => SERVICE_KEYS,
        ["services", _, "health"] => HEALTH_KEYS,
        ["services", _, "build"] => BUILD_KEYS,
        ["services", _, s] if s.starts_with("seed[") => SEED_KEYS,
        ["services", _, s] if s.starts_with("watch[") => WATCH_KEYS,
        ["services", _, s] if s.starts_with("volumes[") => VOLUME_KEYS,
        _ => &[],
    }
}

fn deserialize_error(e: &serde_path_to_error::Error<serde_yaml::Error>, file: &Path, locations: &Locations) -> ConfigError {
    let mut path = e.path().to_string();
    if path == "." {
        path.clear();
    }
    let mut msg = e.inner().to_string();
    // Custom deserializers (depends_on) prefix errors with the entry's key: `` `db`: … ``.
    if let Some((key, rest)) = msg.strip_prefix('`').and_then(|r| r.split_once("`: "))
        && !key.is_empty()
        && !key.contains('`')
    {
        path = join(&path, key);
        msg = rest.to_string();
    }
    let (path, message, hint) = match parse_unknown(&msg) {
        Some(u) if !u.variant => {
            let p = path;
            let candidates: Vec<&str> =
                if u.expected.is_empty() { keys_for(&p).to_vec() } else { u.expected.iter().map(String::as_str).collect() };
            let hint = validate::hint_for(&u.name, &candidates, "valid keys here");
            // serde_path_to_error already names the key for struct fields;
            // errors re-raised by custom deserializers (build, depends_on) do not.
            let already = p == u.name || p.ends_with(&format!(".{}", u.name));
            let p = if already { p } else { join(&p, &u.name) };
            (p, format!("unknown key `{}`", u.name), hint)
        }
        Some(u) => {
            let candidates: Vec<&str> = u.expected.iter().map(String::as_str).collect();
            let field = path.rsplit('.').next().unwrap_or("").to_string();
            let hint = validate::hint_for(&u.name, &candidates, "valid values");
            (path, format!("unknown value `{}` for `{field}`", u.name), hint)
        }
        None => {
            let hint = type_hint(&path, &msg);
            (path, msg, hint)
        }
    };
    ConfigError { file: file.to_path_buf(), pos: locations.get(&path).or(Some(Pos { line: 1, col: 1 })), yaml_path: path, message, hint }
}

fn type_hint(path: &str, msg: &str) -> Option<String> {
    if (path.ends_with(".ports") || path.ends_with(".volumes") || path.ends_with(".profiles"))
        && (msg.contains("expected a sequence") || msg.contains("expected a list"))
    {
        return Some("write a list, e.g. `[\"8080:80\"]` or one `- item` per line".into());
    }
    if path == "services" && msg.contains("expected a map") {
        return Some("`services` maps service names to their settings".into());
    }
    None
}

fn project_name(opts: &LoadOptions, spec: &EnvSpec, dir: &Path, ctx: &Ctx) -> Result<String, ConfigError> {
    // An explicit name is used as written or refused (as compose refuses `-p`):
    // rewriting it would let `../rel-x` and `rel-x` share one project, and one
    // file's `down -v` remove the other's data. Only a name derived from the
    // directory is normalized.
    let refusal = |p: &str| {
        let n = normalize_project_name(p);
        let example = if n.is_empty() { String::new() } else { format!(", e.g. `{n}`") };
        (
            format!("invalid project name {p:?}: must consist only of lowercase letters, digits, `_` and `-`, and start with a letter or digit"),
            Some(format!("write the name as it should be used{example}; only a name taken from the directory is normalized")),
        )
    };
    if let Some(p) = &opts.project {
        if !is_valid_project_name(p) {
            let (message, hint) = refusal(p);
            return Err(ConfigError { file: ctx.file.to_path_buf(), pos: None, yaml_path: String::new(), message: format!("{message} (from -p)"), hint });
        }
        return Ok(p.clone());
    }
    if let Some(p) = &spec.name {
        if !is_valid_project_name(p) {
            let (message, hint) = refusal(p);
            return Err(ctx.error("name", message, hint));
        }
        return Ok(p.clone());
    }
    let dir_name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let n = normalize_project_name(&dir_name);
    if n.is_empty() {
        return Err(ConfigError {
            file: ctx.file.to_path_buf(),
            pos: None,
            yaml_path: String::new(),
            message: format!("cannot derive a project name from the directory name {dir_name:?}"),
            hint: Some("set `name:` in the environment file or pass `-p NAME`".into()),
        });
    }
    Ok(n)
}

fn is_valid_project_name(p: &str) -> bool {
    !p.is_empty() && normalize_project_name(p) == p
}

/// Per service: the environment after merging `env_file`s and `env` (env wins),
/// with bare keys taken from the shell/.env; keys absent everywhere are dropped.
fn service_envs(
    spec: &EnvSpec,
    ctx: &Ctx,
    vars: &Vars,
    warnings: &mut Vec<String>,
) -> Result<IndexMap<String, IndexMap<String, String>>, ConfigError> {
    let mut out = IndexMap::new();
    for (name, svc) in &spec.services {
        let mut env: IndexMap<String, String> = IndexMap::new();
        for (i, f) in svc.env_file.iter().enumerate() {
            let list_path = format!("services.{name}.env_file[{i}]");
            let path =
                if ctx.locations.contains(&list_path) || svc.env_file.len() > 1 { list_path } else { format!("services.{name}.env_file") };
            let p = normalize(&ctx.dir.join(f));
            let (text, bad_lines) = match crate::yaml::envfile::read(&p) {
                Ok(t) => t,
                Err(e) => {
                    let message = match e {
                        crate::yaml::envfile::EnvFileError::NotFound => format!("env file {f:?} not found (looked for {})", p.display()),
                        e => format!("cannot read env file {f:?} ({}): {e}", p.display()),
                    };
                    return Err(ctx.error(&path, message, Some(format!("env_file paths are relative to {}", ctx.dir.display()))));
                }
            };
            let (entries, w) = parse_dotenv(&text, vars);
            warnings.extend(bad_lines.into_iter().chain(w).map(|w| format!("{}: {w}", p.display())));
            for (k, v) in dotenv_map(&entries, vars) {
                env.insert(k, v);
            }
        }
        for (k, v) in &svc.env.0 {
            match v {
                Some(v) => {
                    env.insert(k.clone(), v.clone());
                }
                None => {
                    if let Some(v) = vars.lookup(k) {
                        env.insert(k.clone(), v);
                    }
                }
            }
        }
        out.insert(name.clone(), env);
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
