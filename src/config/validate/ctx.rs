//! What every check needs besides the spec: the file, its directory, the
//! position map, and how to make a positioned error.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use crate::yaml::{ConfigError, Locations};

/// What the checks need besides the spec.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    /// The environment file (for error messages).
    pub file: &'a Path,
    /// Relative paths are resolved against this directory.
    pub dir: &'a Path,
    pub locations: &'a Locations,
    /// Services removed because none of their profiles is active: name -> profiles.
    pub disabled: &'a IndexMap<String, Vec<String>>,
    /// For `~/…` bind mounts.
    pub home: Option<&'a Path>,
    /// Bind-mount sources that may be missing (compose: `up` creates them).
    pub creatable: &'a [PathBuf],
    /// Read from compose files: the build context and Dockerfile are checked
    /// when the image is built (at `up`), as compose does, not when loading.
    pub compose: bool,
}

impl Ctx<'_> {
    /// An error at `path` (position: the key, else its nearest ancestor).
    pub fn error(&self, path: &str, message: impl Into<String>, hint: Option<String>) -> ConfigError {
        ConfigError {
            file: self.file.to_path_buf(),
            pos: self.locations.get(path),
            yaml_path: path.to_string(),
            message: message.into(),
            hint,
        }
    }
}

/// The YAML path of entry `index` (named `key`) of a field written as a map or
/// a list: `field.key` (map form) or `field[index]` (list form).
pub fn entry_path(field: &str, key: &str, index: usize, ctx: &Ctx) -> String {
    let map_form = format!("{field}.{key}");
    if ctx.locations.contains(&map_form) {
        return map_form;
    }
    let list_form = format!("{field}[{index}]");
    if ctx.locations.contains(&list_form) {
        return list_form;
    }
    map_form
}
