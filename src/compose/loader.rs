//! Loading a set of compose files into one merged YAML tree, file by file, the
//! way compose-go's `loadYamlModel` / `loadYamlFile` do: each document is
//! interpolated, checked, has its `extends` applied and its `include`s pulled
//! in, then is merged over what came before and put in canonical form.

use std::path::{Path, PathBuf};

use serde_yaml::{Mapping, Value};

use super::canonical::canonical;
use super::interp::interpolate_doc;
use super::merge::{enforce_unicity, merge_documents};
use super::normalize::{Env, PathCtx, resolve_environment, resolve_paths, set_defaults, validate};
use super::schema::{TOP, check};
use super::source::{ComposeLocations, Doc, apply_resets, parse_docs, read_text};
use super::tree::YPath;
use crate::yaml::ConfigError;
use crate::yaml::interpolate::Warnings;

/// Which steps a load runs (compose-go `Options`, for the main project, an
/// `include`, or a file read for `extends`).
#[derive(Debug, Clone, Copy)]
pub struct ModelOpts {
    pub extends: bool,
    pub include: bool,
    pub validate: bool,
    pub defaults: bool,
    pub resolve_paths: bool,
}

impl ModelOpts {
    pub const MAIN: ModelOpts = ModelOpts { extends: true, include: true, validate: true, defaults: true, resolve_paths: true };
    /// A file read for `extends: {file: …}`: only interpolated and canonical.
    pub const EXTENDS_BASE: ModelOpts =
        ModelOpts { extends: false, include: false, validate: false, defaults: false, resolve_paths: false };
}

/// State shared by the whole load: file positions, warnings.
pub struct Loader {
    pub home: Option<PathBuf>,
    pub locs: ComposeLocations,
    pub warnings: Vec<String>,
    pub unset: Warnings,
    version_warned: Vec<PathBuf>,
}

/// A `(file, service)` chain of `extends`, to report cycles.
pub type Chain = Vec<(PathBuf, String)>;

impl Loader {
    pub fn new(home: Option<PathBuf>) -> Loader {
        Loader { home, locs: ComposeLocations::default(), warnings: Vec::new(), unset: Warnings::default(), version_warned: Vec::new() }
    }

    /// Reads and parses a file; registers it for error positions.
    pub fn read(&mut self, file: &Path) -> Result<(usize, Vec<Doc>), ConfigError> {
        let text = read_text(file)?;
        let idx = self.locs.add_file(file, &text);
        let docs = parse_docs(&text, file, idx, &self.locs)?;
        self.locs.alias_name_lists(idx, &docs);
        Ok((idx, docs))
    }

    /// compose-go `loadYamlModel`: `files` merged in order; relative paths
    /// resolve against `dir`; `env` is what interpolation reads.
    pub fn load_model(
        &mut self,
        files: &[PathBuf],
        dir: &Path,
        env: &Env,
        mo: ModelOpts,
        included: &[PathBuf],
    ) -> Result<Mapping, ConfigError> {
        let mut dict = Mapping::new();
        for file in files {
            dict = self.load_file(file, dir, env, mo, dict, included, true)?;
        }
        if mo.defaults {
            set_defaults(&mut dict);
        }
        if mo.validate {
            validate(&dict).map_err(|(p, m)| self.locs.error(&p, m, None))?;
        }
        if mo.resolve_paths {
            resolve_paths(&mut dict, PathCtx { dir, home: self.home.as_deref() });
        }
        resolve_environment(&mut dict, env);
        Ok(dict)
    }

    /// compose-go `loadYamlFile`: every document of `file`, merged over `dict`.
    #[allow(clippy::too_many_arguments)]
    pub fn load_file(
        &mut self,
        file: &Path,
        dir: &Path,
        env: &Env,
        mo: ModelOpts,
        mut dict: Mapping,
        included: &[PathBuf],
        push_layer: bool,
    ) -> Result<Mapping, ConfigError> {
        let (idx, docs) = self.read(file)?;
        for doc in docs {
            let mut cfg = doc.map;
            let lookup = |n: &str| env.get(n).cloned();
            interpolate_doc(&mut cfg, &lookup, &mut self.unset, &mut self.warnings)
                .map_err(|e| self.locs.error_in(idx, &e.path, e.message, e.hint))?;
            if mo.validate {
                check(&Value::Mapping(cfg.clone()), &TOP, &YPath::root())
                    .map_err(|e| self.locs.error_in(idx, &e.path, e.message, e.hint))?;
            }
            if mo.extends {
                self.apply_extends(&mut cfg, file, idx, dir, env, &doc.resets)?;
            }
            apply_resets(&mut dict, &doc.resets);
            if mo.include {
                let mut inc = included.to_vec();
                inc.push(file.to_path_buf());
                self.apply_include(&mut cfg, idx, dir, env, &inc)?;
            }
            if push_layer {
                self.locs.push_file_layer(idx);
            }
            dict = merge_documents(dict, cfg).map_err(|(p, m)| self.locs.error(&p, m, None))?;
            self.unicity(&mut dict)?;
            if mo.validate && dict.shift_remove("version").is_some() && !self.version_warned.iter().any(|f| f == file) {
                self.version_warned.push(file.to_path_buf());
                self.warnings.push(format!("{}: `version` is obsolete (compose and devenv ignore it); remove it", file.display()));
            }
            canonical(&mut dict, &mut self.warnings).map_err(|(p, m)| self.locs.error(&p, m, None))?;
            self.unicity(&mut dict)?;
        }
        Ok(dict)
    }

    fn unicity(&self, dict: &mut Mapping) -> Result<(), ConfigError> {
        let mut v = Value::Mapping(std::mem::take(dict));
        let res = enforce_unicity(&mut v, &YPath::root());
        if let Value::Mapping(m) = v {
            *dict = m;
        }
        res.map_err(|(p, m)| self.locs.error(&p, m, None))
    }
}
