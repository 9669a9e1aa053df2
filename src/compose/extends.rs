//! `extends` (a service built on another one, in the same file or another) and
//! `include` (other compose projects pulled in), as compose-go does them:
//!
//! - `extends: base` / `extends: {service: base, file: common.yaml}`: the base
//!   is merged under the service with the merge rules (`merge.rs`), recursively;
//!   a cycle is an error naming the chain. `file` is relative to the project
//!   directory, and the base's relative paths to the base's own file.
//! - `include: [path]` / `{path: [main, override…], project_directory, env_file}`:
//!   each entry is loaded as its own project (its directory, its `.env`, the
//!   parent's variables winning) and its services, volumes and networks are
//!   added; a name defined differently on both sides is an error.

use std::path::{Path, PathBuf};

use serde_yaml::{Mapping, Value};

use super::loader::{Chain, Loader, ModelOpts};
use super::merge::extend_service;
use super::normalize::{Env, PathCtx, resolve_service_paths};
use super::source::apply_resets;
use super::tree::{YPath, keys, kind, s};
use crate::yaml::ConfigError;
use crate::yaml::interpolate::{dotenv_map, parse_dotenv};
use crate::values::volumes::normalize as clean;

type R<T> = Result<T, ConfigError>;

/// What every step of one document's `extends` shares.
struct Ctx<'a> {
    /// The project directory (`extends.file` is relative to it).
    dir: &'a Path,
    env: &'a Env,
    resets: &'a [String],
}

impl Loader {
    /// compose-go `ApplyExtends` on one document.
    pub fn apply_extends(&mut self, cfg: &mut Mapping, file: &Path, file_idx: usize, dir: &Path, env: &Env, resets: &[String]) -> R<()> {
        let Some(Value::Mapping(services)) = cfg.get_mut("services") else {
            return Ok(());
        };
        let ctx = Ctx { dir, env, resets };
        for name in keys(services) {
            self.extend_one(&name, services, &ctx, file, file_idx, &Vec::new())?;
        }
        Ok(())
    }

    /// Resolves `extends` of `services[name]` (which lives in `here` / `here_idx`),
    /// stores and returns the merged service.
    fn extend_one(
        &mut self,
        name: &str,
        services: &mut Mapping,
        ctx: &Ctx,
        here: &Path,
        here_idx: usize,
        chain: &Chain,
    ) -> R<Option<Mapping>> {
        let svc_path = YPath::of("services").key(name);
        let svc = match services.get(name) {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Mapping(m)) => m.clone(),
            Some(other) => {
                return Err(self.locs.error_in(
                    here_idx,
                    &svc_path.to_string(),
                    format!("services.{name} must be a map, found {}", kind(other)),
                    None,
                ));
            }
        };
        let Some(ext) = svc.get("extends") else {
            return Ok(Some(svc));
        };
        let ext_path = svc_path.key("extends").to_string();
        let (base_name, base_file) = match ext {
            Value::String(b) => (b.clone(), None),
            Value::Mapping(m) => match (m.get("service").and_then(Value::as_str), m.get("file")) {
                (Some(b), None | Some(Value::Null)) => (b.to_string(), None),
                (Some(b), Some(Value::String(f))) => (b.to_string(), Some(f.clone())),
                (Some(_), Some(other)) => {
                    return Err(self.locs.error_in(
                        here_idx,
                        &format!("{ext_path}.file"),
                        format!("extends.file must be a string, found {}", kind(other)),
                        None,
                    ));
                }
                (None, _) => {
                    return Err(self.locs.error_in(
                        here_idx,
                        &ext_path,
                        "extends needs `service`".to_string(),
                        Some("write `extends: base` or `extends: {service: base, file: common.yaml}`".into()),
                    ));
                }
            },
            other => {
                return Err(self.locs.error_in(
                    here_idx,
                    &ext_path,
                    format!("extends must be a string or a map, found {}", kind(other)),
                    None,
                ));
            }
        };

        let (merged_base, base_idx) = match base_file {
            Some(f) => {
                let path = if Path::new(&f).is_absolute() { clean(Path::new(&f)) } else { clean(&ctx.dir.join(&f)) };
                if !path.is_file() {
                    return Err(self.locs.error_in(
                        here_idx,
                        &format!("{ext_path}.file"),
                        format!("cannot extend service {name:?}: cannot read {}: no such file", path.display()),
                        Some(format!("extends.file is relative to the project directory {}", ctx.dir.display())),
                    ));
                }
                let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
                let mut base_dict = self.load_file(&path, &base_dir, ctx.env, ModelOpts::EXTENDS_BASE, Mapping::new(), &[], false)?;
                let base_idx = self.locs.index_of(&path).unwrap_or(here_idx);
                let Some(Value::Mapping(mut base_services)) = base_dict.shift_remove("services") else {
                    return Err(self.locs.error_in(
                        here_idx,
                        &ext_path,
                        format!("cannot extend service {name:?} in {}: {} has no services section", here.display(), path.display()),
                        None,
                    ));
                };
                if !base_services.contains_key(base_name.as_str()) {
                    return Err(self.locs.error_in(
                        here_idx,
                        &ext_path,
                        format!("cannot extend service {name:?} in {}: service {base_name:?} not found in {f}", here.display()),
                        Some(format!("services in {}: {}", path.display(), keys(&base_services).join(", "))),
                    ));
                }
                let pctx = PathCtx { dir: &base_dir, home: self.home.as_deref() };
                for (_, s) in base_services.iter_mut() {
                    if let Value::Mapping(m) = s {
                        resolve_service_paths(m, pctx);
                    }
                }
                let chain = self.track(chain, &path, name, here_idx, &ext_path)?;
                let base = self.extend_one(&base_name, &mut base_services, ctx, &path, base_idx, &chain)?;
                (base, base_idx)
            }
            None => {
                if !services.contains_key(base_name.as_str()) {
                    return Err(self.locs.error_in(
                        here_idx,
                        &ext_path,
                        format!("cannot extend service {name:?} in {}: service {base_name:?} not found", here.display()),
                        Some(format!("services in this file: {}", keys(services).join(", "))),
                    ));
                }
                let chain = self.track(chain, here, name, here_idx, &ext_path)?;
                let base = self.extend_one(&base_name, services, ctx, here, here_idx, &chain)?;
                (base, here_idx)
            }
        };
        let Some(base) = merged_base else {
            return Ok(Some(svc));
        };
        // `!reset` / `!override` in the extending service apply to what it inherits.
        let mut holder = Mapping::new();
        let mut inner = Mapping::new();
        inner.insert(s(name), Value::Mapping(base));
        holder.insert(s("services"), Value::Mapping(inner));
        apply_resets(&mut holder, ctx.resets);
        let base = holder.get("services").and_then(|v| v.get(name)).and_then(Value::as_mapping).cloned().unwrap_or_default();
        let mut merged = extend_service(base, svc).map_err(|(p, m)| {
            let p = p.replacen("services.x", &svc_path.to_string(), 1);
            self.locs.error_in(here_idx, &p, m, None)
        })?;
        merged.shift_remove("extends");
        self.locs.push_extends_layer(name, base_idx, &base_name);
        services.insert(s(name), Value::Mapping(merged.clone()));
        Ok(Some(merged))
    }

    /// Adds `(file, service)` to the chain; a repeat is compose's "Circular reference".
    fn track(&self, chain: &Chain, file: &Path, service: &str, at_idx: usize, at: &str) -> R<Chain> {
        let entry = (file.to_path_buf(), service.to_string());
        if chain.contains(&entry) {
            let mut lines = vec!["circular reference in `extends`:".to_string()];
            if let Some((f, s)) = chain.first() {
                lines.push(format!("  {s} in {}", f.display()));
            }
            for (f, s) in chain.iter().skip(1).chain(std::iter::once(&entry)) {
                lines.push(format!("  extends {s} in {}", f.display()));
            }
            return Err(self.locs.error_in(
                at_idx,
                at,
                lines.join("\n"),
                Some("break the cycle: a service cannot extend itself, directly or through others".into()),
            ));
        }
        let mut next = chain.clone();
        next.push(entry);
        Ok(next)
    }

    /// compose-go `ApplyInclude` on one document; `included` ends with the including file.
    pub fn apply_include(&mut self, cfg: &mut Mapping, file_idx: usize, dir: &Path, env: &Env, included: &[PathBuf]) -> R<()> {
        let Some(inc) = cfg.shift_remove("include") else {
            return Ok(());
        };
        let items = match inc {
            Value::Sequence(items) => items,
            Value::Null => return Ok(()),
            other => {
                return Err(self.locs.error_in(file_idx, "include", format!("`include` must be a list, found {}", kind(&other)), None));
            }
        };
        for (i, item) in items.into_iter().enumerate() {
            let at = YPath::of("include").index(i);
            let entry = IncludeEntry::parse(item).map_err(|m| self.locs.error_in(file_idx, &at.to_string(), m, None))?;
            let paths: Vec<PathBuf> = entry.paths.iter().map(|p| absolute(dir, p)).collect();
            for (j, p) in paths.iter().enumerate() {
                if !p.is_file() {
                    let where_ = match (entry.short, entry.path_list) {
                        (true, _) => at.to_string(),
                        (false, false) => format!("{at}.path"),
                        (false, true) => format!("{at}.path[{j}]"),
                    };
                    let what = if p.is_dir() { "is a directory" } else { "no such file" };
                    return Err(self.locs.error_in(
                        file_idx,
                        &where_,
                        format!("include: cannot read {}: {what}", p.display()),
                        Some(format!("include paths are relative to {}", dir.display())),
                    ));
                }
            }
            let Some(main) = paths.first() else { continue };
            if included.contains(main) {
                let mut chain: Vec<String> = included.iter().map(|f| f.display().to_string()).collect();
                chain.push(main.display().to_string());
                return Err(self.locs.error_in(
                    file_idx,
                    &at.to_string(),
                    format!("include cycle detected:\n{}", chain.join("\n include ")),
                    Some("a file cannot include itself, directly or through others".into()),
                ));
            }
            let project_dir = match &entry.project_directory {
                None => main.parent().map(Path::to_path_buf).unwrap_or_default(),
                Some(d) => absolute(dir, d),
            };
            let inc_env = self.include_env(env, &entry, dir, &project_dir, file_idx, &at)?;
            let imported = self.load_model(&paths, &project_dir, &inc_env, ModelOpts::MAIN, included)?;
            self.import(imported, cfg, file_idx, &at)?;
        }
        Ok(())
    }

    /// The variables an included project sees: the parent's, then its env files
    /// (by default its own `.env`).
    fn include_env(&mut self, env: &Env, entry: &IncludeEntry, dir: &Path, project_dir: &Path, file_idx: usize, at: &YPath) -> R<Env> {
        let files: Vec<PathBuf> = if entry.env_files.is_empty() {
            let f = project_dir.join(".env");
            if f.is_file() { vec![f] } else { Vec::new() }
        } else {
            let mut out = Vec::new();
            for f in &entry.env_files {
                let p = absolute(dir, f);
                if !p.is_file() {
                    return Err(self.locs.error_in(
                        file_idx,
                        &format!("{at}.env_file"),
                        format!("include: env file {} not found", p.display()),
                        Some(format!("env_file is relative to {}", dir.display())),
                    ));
                }
                out.push(p);
            }
            out
        };
        let mut from_files = Env::new();
        for f in files {
            let text = std::fs::read_to_string(&f)
                .map_err(|e| self.locs.error_in(file_idx, &at.to_string(), format!("cannot read {}: {e}", f.display()), None))?;
            let lookup = |k: &str| env.get(k).or_else(|| from_files.get(k)).cloned();
            let (entries, warnings) = parse_dotenv(&text, &lookup);
            self.warnings.extend(warnings.into_iter().map(|w| format!("{}: {w}", f.display())));
            let values = dotenv_map(&entries, &lookup);
            from_files.extend(values);
        }
        let mut out = env.clone();
        for (k, v) in from_files {
            out.entry(k).or_insert(v);
        }
        Ok(out)
    }

    /// compose-go `importResources`: services, volumes, networks, secrets, configs.
    fn import(&self, imported: Mapping, cfg: &mut Mapping, file_idx: usize, at: &YPath) -> R<()> {
        for key in ["services", "volumes", "networks", "secrets", "configs"] {
            let Some(Value::Mapping(from)) = imported.get(key) else { continue };
            let to = cfg.entry(s(key)).or_insert_with(|| Value::Mapping(Mapping::new()));
            if to.is_null() {
                *to = Value::Mapping(Mapping::new());
            }
            let Value::Mapping(to) = to else { continue };
            for (name, v) in from {
                match to.get(name) {
                    Some(existing) if existing == v => {}
                    Some(_) => {
                        let n = name.as_str().unwrap_or_default();
                        return Err(self.locs.error_in(
                            file_idx,
                            &at.to_string(),
                            format!("{key}.{n} conflicts with imported resource"),
                            Some(format!("`{n}` is defined both here and in the included project; rename one of them")),
                        ));
                    }
                    None => {
                        to.insert(name.clone(), v.clone());
                    }
                }
            }
        }
        Ok(())
    }
}

/// One `include` entry.
struct IncludeEntry {
    paths: Vec<String>,
    project_directory: Option<String>,
    env_files: Vec<String>,
    /// Written as a plain string.
    short: bool,
    /// `path` written as a list.
    path_list: bool,
}

impl IncludeEntry {
    fn parse(v: Value) -> Result<IncludeEntry, String> {
        let list = |v: &Value, what: &str| -> Result<Vec<String>, String> {
            match v {
                Value::String(s) => Ok(vec![s.clone()]),
                Value::Sequence(items) => items
                    .iter()
                    .map(|i| i.as_str().map(String::from).ok_or_else(|| format!("include {what} must be strings, found {}", kind(i))))
                    .collect(),
                other => Err(format!("include {what} must be a string or a list, found {}", kind(other))),
            }
        };
        match v {
            Value::String(p) => {
                Ok(IncludeEntry { paths: vec![p], project_directory: None, env_files: Vec::new(), short: true, path_list: false })
            }
            Value::Mapping(m) => {
                let path_list = matches!(m.get("path"), Some(Value::Sequence(_)));
                let paths = match m.get("path") {
                    Some(p) => list(p, "path")?,
                    None => return Err("an include entry needs `path`".into()),
                };
                if paths.is_empty() {
                    return Err("an include entry needs at least one path".into());
                }
                let env_files = match m.get("env_file") {
                    Some(e) => list(e, "env_file")?,
                    None => Vec::new(),
                };
                let project_directory = m.get("project_directory").and_then(Value::as_str).map(String::from);
                Ok(IncludeEntry { paths, project_directory, env_files, short: false, path_list })
            }
            other => Err(format!("an include entry must be a path or a map, found {}", kind(&other))),
        }
    }
}

fn absolute(dir: &Path, p: &str) -> PathBuf {
    let p = Path::new(p);
    if p.is_absolute() { clean(p) } else { clean(&dir.join(p)) }
}
