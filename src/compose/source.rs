//! Reading compose files: YAML documents, `!reset` / `!override` tags, `<<`
//! merge keys, string keys only — and where every value came from.
//!
//! [`ComposeLocations`] maps a YAML path of the *merged* project
//! (`services.api.ports[0]`) to the file, line and column that defined it: each
//! file read adds a layer (later files win, like the merge), and `extends` adds
//! layers that map the extending service's paths onto its base's.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_yaml::{Mapping, Value};

use super::tree::{YPath, kind};
use crate::yaml::interpolate::key_string;
use crate::yaml::syntax::{apply_merges, syntax_error};
use crate::yaml::locate::{Locations, parent};
use crate::yaml::{ConfigError, Pos};

/// YAML path of the merged project → file:line:column that defined it.
#[derive(Debug, Clone, Default)]
pub struct ComposeLocations {
    files: Vec<PathBuf>,
    locs: Vec<Locations>,
    layers: Vec<Layer>,
}

/// Paths under `from` (in the merged project) are found under `to` in `file`.
#[derive(Debug, Clone)]
struct Layer {
    file: usize,
    from: String,
    to: String,
}

fn translate(path: &str, from: &str, to: &str) -> Option<String> {
    let rest = if from.is_empty() {
        path
    } else if path == from {
        ""
    } else {
        let r = path.strip_prefix(from)?;
        if !(r.starts_with('.') || r.starts_with('[')) {
            return None;
        }
        r
    };
    Some(if to.is_empty() {
        rest.trim_start_matches('.').to_string()
    } else if rest.is_empty() {
        to.to_string()
    } else {
        format!("{to}{rest}")
    })
}

impl ComposeLocations {
    /// Registers a file (once per path); returns its index.
    pub(crate) fn add_file(&mut self, path: &Path, text: &str) -> usize {
        if let Some(i) = self.files.iter().position(|f| f == path) {
            return i;
        }
        self.files.push(path.to_path_buf());
        self.locs.push(Locations::from_text(text));
        self.files.len() - 1
    }

    /// Lists of names that compose turns into maps (`depends_on: [db]`,
    /// `networks: [front]`, `links`): `services.a.depends_on.db` is found at the
    /// list item, so errors about `db` point at it.
    pub(crate) fn alias_name_lists(&mut self, file: usize, docs: &[Doc]) {
        let Some(locs) = self.locs.get_mut(file) else { return };
        for doc in docs {
            let Some(Value::Mapping(services)) = doc.map.get("services") else { continue };
            for (name, svc) in services {
                let Some(name) = name.as_str() else { continue };
                for key in ["depends_on", "networks", "links"] {
                    let Some(Value::Sequence(items)) = svc.get(key) else { continue };
                    for (i, item) in items.iter().enumerate() {
                        let Some(entry) = item.as_str() else { continue };
                        let entry = entry.split(':').next().unwrap_or(entry);
                        if let Some(pos) = locs.exact(&format!("services.{name}.{key}[{i}]")) {
                            let alias = format!("services.{name}.{key}.{entry}");
                            if !locs.contains(&alias) {
                                locs.insert(alias, pos);
                            }
                        }
                    }
                }
            }
        }
    }

    pub(crate) fn index_of(&self, path: &Path) -> Option<usize> {
        self.files.iter().position(|f| f == path)
    }

    /// Paths of the merged project are found as written in `file`.
    pub(crate) fn push_file_layer(&mut self, file: usize) {
        self.layers.push(Layer { file, from: String::new(), to: String::new() });
    }

    /// `services.<name>` took what it did not set itself from `services.<base>` in `file`
    /// (and from whatever that base extended).
    pub(crate) fn push_extends_layer(&mut self, name: &str, file: usize, base: &str) {
        let from = format!("services.{name}");
        let to = format!("services.{base}");
        let inherited: Vec<Layer> = self
            .layers
            .iter()
            .filter(|l| l.from == to && l.from != from)
            .map(|l| Layer { file: l.file, from: from.clone(), to: l.to.clone() })
            .collect();
        self.layers.extend(inherited);
        self.layers.push(Layer { file, from, to });
    }

    /// The position of `path` (like `config::Locations::get`); see [`Self::locate`]
    /// for the file it is in, which is not always the first one.
    pub fn get(&self, path: &str) -> Option<Pos> {
        self.locate(path).map(|(_, pos)| pos)
    }

    /// The file that defined `path` (or its nearest ancestor that was found).
    pub fn file_of(&self, path: &str) -> Option<&Path> {
        self.locate(path).map(|(f, _)| f)
    }

    /// The file and position that defined `path` (or its nearest ancestor that was found).
    pub fn locate(&self, path: &str) -> Option<(&Path, Pos)> {
        let mut p = path;
        loop {
            for l in self.layers.iter().rev() {
                if let Some(rel) = translate(p, &l.from, &l.to)
                    && let Some(pos) = self.locs.get(l.file).and_then(|locs| locs.exact(&rel))
                {
                    return self.files.get(l.file).map(|f| (f.as_path(), pos));
                }
            }
            if p.is_empty() {
                return None;
            }
            p = parent(p);
        }
    }

    /// The files read, in the order they were first read.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// An error at `path` of the merged project.
    pub fn error(&self, path: &str, message: impl Into<String>, hint: Option<String>) -> ConfigError {
        let (file, pos) = match self.locate(path) {
            Some((f, p)) => (f.to_path_buf(), Some(p)),
            None => (self.files.first().cloned().unwrap_or_default(), None),
        };
        ConfigError { file, pos, yaml_path: path.to_string(), message: message.into(), hint }
    }

    /// An error at `path` as written in `file` (before any merge).
    pub(crate) fn error_in(&self, file: usize, path: &str, message: impl Into<String>, hint: Option<String>) -> ConfigError {
        let locs = self.locs.get(file);
        ConfigError {
            file: self.files.get(file).cloned().unwrap_or_default(),
            pos: locs.and_then(|l| l.get(path)).or(Some(Pos { line: 1, col: 1 })),
            yaml_path: path.to_string(),
            message: message.into(),
            hint,
        }
    }
}

/// One YAML document of a compose file, ready for interpolation.
#[derive(Debug, Clone)]
pub(crate) struct Doc {
    pub map: Mapping,
    /// Paths tagged `!reset` or `!override` (compose-go's `ResetProcessor`):
    /// removed from what was loaded before this document is merged in.
    pub resets: Vec<String>,
}

/// Reads a file as UTF-8 text.
pub(crate) fn read_text(file: &Path) -> Result<String, ConfigError> {
    let bytes = std::fs::read(file).map_err(|e| ConfigError {
        file: file.to_path_buf(),
        pos: None,
        yaml_path: String::new(),
        message: format!("cannot read {}: {e}", file.display()),
        hint: None,
    })?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = String::from_utf8_lossy(&e.as_bytes()[..e.utf8_error().valid_up_to()]).into_owned();
        let line = valid.matches('\n').count() + 1;
        let col = valid.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
        ConfigError {
            file: file.to_path_buf(),
            pos: Some(Pos { line, col }),
            yaml_path: String::new(),
            message: "the file is not valid UTF-8".into(),
            hint: Some("save it as UTF-8".into()),
        }
    })
}

/// Parses every YAML document of a compose file (`file_idx` is its index in `locs`).
pub(crate) fn parse_docs(text: &str, file: &Path, file_idx: usize, locs: &ComposeLocations) -> Result<Vec<Doc>, ConfigError> {
    let mut docs = Vec::new();
    for de in serde_yaml::Deserializer::from_str(text) {
        let mut value = Value::deserialize(de).map_err(|e| syntax_error(&e, file, text))?;
        if value.is_null() {
            continue;
        }
        let mut resets = Vec::new();
        value = strip_tags(value, String::new(), &mut resets);
        apply_merges(&mut value).map_err(|(path, msg)| {
            locs.error_in(file_idx, &path, msg, Some("`<<` takes an alias to a map (`<<: *base`) or a list of them".into()))
        })?;
        check_string_keys(&value, &YPath::root()).map_err(|(path, msg)| {
            locs.error_in(file_idx, &path, msg, Some("compose keys are strings: quote it (e.g. `\"80\": …`)".into()))
        })?;
        match value {
            Value::Mapping(map) => docs.push(Doc { map, resets }),
            other => {
                return Err(locs.error_in(
                    file_idx,
                    "",
                    format!("top-level object must be a mapping, found {}", kind(&other)),
                    Some("a compose file starts with e.g.\n  services:\n    web:\n      image: nginx".into()),
                ));
            }
        }
    }
    Ok(docs)
}

/// Removes `!reset` nodes and untags `!override` ones, recording their paths;
/// other tags are dropped (the value is kept), as compose decodes them.
fn strip_tags(v: Value, path: String, resets: &mut Vec<String>) -> Value {
    // compose-go drops a `.<<` step: what a merged map resets applies where it is merged.
    let path = if path.contains(".<<") { path.replacen(".<<", "", 1) } else { path };
    match v {
        Value::Tagged(t) => {
            let tag = t.tag.to_string();
            match tag.trim_start_matches('!') {
                "reset" => {
                    resets.push(path);
                    Value::Tagged(Box::new(serde_yaml::value::TaggedValue { tag: t.tag, value: Value::Null }))
                }
                "override" => {
                    resets.push(path.clone());
                    strip_tags(t.value, path, resets)
                }
                _ => strip_tags(t.value, path, resets),
            }
        }
        Value::Sequence(items) => Value::Sequence(
            items
                .into_iter()
                .enumerate()
                .map(|(i, item)| strip_tags(item, join(&path, &i.to_string()), resets))
                .filter(|item| !is_reset_marker(item))
                .collect(),
        ),
        Value::Mapping(m) => {
            let mut out = Mapping::with_capacity(m.len());
            for (k, val) in m {
                let child = join(&path, &key_string(&k));
                let val = strip_tags(val, child, resets);
                if !is_reset_marker(&val) {
                    out.insert(k, val);
                }
            }
            Value::Mapping(out)
        }
        other => other,
    }
}

fn is_reset_marker(v: &Value) -> bool {
    matches!(v, Value::Tagged(t) if t.tag.to_string().trim_start_matches('!') == "reset")
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

/// compose-go rejects non-string map keys (`Non-string key in services.a: 1`).
fn check_string_keys(v: &Value, path: &YPath) -> Result<(), (String, String)> {
    match v {
        Value::Mapping(m) => {
            for (k, val) in m {
                match k {
                    Value::String(key) => check_string_keys(val, &path.key(key))?,
                    other => {
                        let at = if path.is_empty() { "at the top level".to_string() } else { format!("in {path}") };
                        return Err((path.to_string(), format!("non-string key {} {at}", key_string(other))));
                    }
                }
            }
            Ok(())
        }
        Value::Sequence(items) => {
            for (i, item) in items.iter().enumerate() {
                check_string_keys(item, &path.index(i))?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Removes from `target` every key whose path matches a recorded `!reset` /
/// `!override` path (compose-go's `ResetProcessor.Apply`; list items are never
/// removed, as there).
pub(crate) fn apply_resets(target: &mut Mapping, resets: &[String]) {
    if resets.is_empty() {
        return;
    }
    fn walk(m: &mut Mapping, path: &str, resets: &[String]) {
        let keys: Vec<Value> = m.keys().cloned().collect();
        for k in keys {
            let child = join(path, &key_string(&k));
            if resets.iter().any(|r| pattern_matches(&child, r)) {
                m.shift_remove(&k);
                continue;
            }
            if let Some(v) = m.get_mut(&k) {
                match v {
                    Value::Mapping(inner) => walk(inner, &child, resets),
                    Value::Sequence(items) => {
                        for (i, item) in items.iter_mut().enumerate() {
                            if let Value::Mapping(inner) = item {
                                walk(inner, &format!("{child}.[{i}]"), resets);
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    walk(target, "", resets);
}

/// compose-go's `Path.Matches` on dotted strings.
fn pattern_matches(path: &str, pattern: &str) -> bool {
    let a: Vec<&str> = path.split('.').collect();
    let b: Vec<&str> = pattern.split('.').collect();
    a.len() == b.len() && a.iter().zip(&b).all(|(x, y)| *y == "*" || x == y)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs(text: &str) -> Result<Vec<Doc>, ConfigError> {
        let mut locs = ComposeLocations::default();
        let f = Path::new("/p/compose.yaml");
        let i = locs.add_file(f, text);
        parse_docs(text, f, i, &locs)
    }

    #[test]
    fn tags_merges_and_documents() {
        let d = docs(
            "x-base: &b\n  image: base\n  environment: {A: 1}\nservices:\n  a:\n    <<: *b\n    ports: !reset []\n    environment: !override {B: 2}\n    labels: !custom {l: v}\n---\nservices:\n  b: {image: two}\n",
        )
        .unwrap();
        assert_eq!(d.len(), 2);
        let a = &d[0].map["services"]["a"];
        assert_eq!(a["image"], Value::String("base".into()));
        assert!(a.get("ports").is_none(), "!reset removes the node");
        assert_eq!(a["environment"]["B"], Value::Number(2.into()));
        assert!(a["environment"].get("A").is_none(), "explicit keys win over `<<`");
        assert_eq!(a["labels"]["l"], Value::String("v".into()));
        assert_eq!(d[0].resets, vec!["services.a.ports".to_string(), "services.a.environment".to_string()]);
        assert_eq!(d[1].map["services"]["b"]["image"], Value::String("two".into()));
    }

    #[test]
    fn rejects_non_string_keys_and_non_maps() {
        let e = docs("services:\n  a:\n    environment:\n      1: x\n").unwrap_err();
        assert!(e.message.contains("non-string key 1 in services.a.environment"), "{}", e.message);
        assert_eq!(e.pos, Some(Pos { line: 3, col: 5 }));
        let e = docs("- a\n- b\n").unwrap_err();
        assert!(e.message.contains("top-level object must be a mapping"), "{}", e.message);
        let e = docs("services:\n  a:\n    image: x\n   ports: [1]\n").unwrap_err();
        assert!(e.message.contains("invalid YAML"), "{}", e.message);
        assert!(docs("# only a comment\n").unwrap().is_empty());
    }

    #[test]
    fn resets_apply_to_earlier_files() {
        let mut base: Mapping = serde_yaml::from_str("services:\n  a:\n    ports: [1]\n    image: x\n  b:\n    ports: [2]\n").unwrap();
        apply_resets(&mut base, &["services.a.ports".to_string()]);
        assert!(base["services"]["a"].get("ports").is_none());
        assert!(base["services"]["b"].get("ports").is_some());
    }

    #[test]
    fn locations_follow_layers() {
        let mut locs = ComposeLocations::default();
        let base = "services:\n  base:\n    image: x\n    ports: [\"1:1\"]\n  web:\n    extends: base\n    command: run\n";
        let over = "services:\n  web:\n    command: other\n";
        let f0 = locs.add_file(Path::new("/p/compose.yaml"), base);
        locs.push_extends_layer("web", f0, "base");
        locs.push_file_layer(f0);
        let f1 = locs.add_file(Path::new("/p/override.yaml"), over);
        locs.push_file_layer(f1);
        let (f, p) = locs.locate("services.web.command").unwrap();
        assert_eq!((f, p), (Path::new("/p/override.yaml"), Pos { line: 3, col: 5 }));
        let (f, p) = locs.locate("services.web.image").unwrap();
        assert_eq!((f, p), (Path::new("/p/compose.yaml"), Pos { line: 3, col: 5 }));
        let p = locs.get("services.web.ports[0]").unwrap();
        assert_eq!(p, Pos { line: 4, col: 13 });
        let f = locs.file_of("services.nope.image").unwrap();
        assert_eq!(f, Path::new("/p/override.yaml"));
        assert_eq!(translate("services.web.x", "services.web", "services.base").as_deref(), Some("services.base.x"));
        assert_eq!(translate("services.webx", "services.web", "services.base"), None);
    }
}
