//! The image map: replace image references (registry mirrors, pinned
//! digests, air-gapped networks, test stand-ins).
//!
//! A YAML mapping `reference: replacement`. An exact key (`postgres:16-alpine`)
//! wins; a key without a tag (`apache/kafka`) matches every tag of that
//! repository — a replacement without a tag then keeps the original tag.
//! Read from `DEVENV_IMAGE_MAP=FILE`, then the user-level
//! `<config dir>/devenv/images.yaml`; the first file's entries win.
//!
//! It also carries what the caller found in the local images before planning
//! (their config: env, declared `VOLUME`s), keyed by the reference as run, so
//! presets decide image-dependent facts from the image itself; the plan reads
//! them as data (it inspects nothing).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::values::{split_reference, ImageConfig};
use crate::error::Error;

#[derive(Debug, Clone, Default)]
pub struct ImageMap {
    entries: HashMap<String, String>,
    /// Files read, for messages.
    pub sources: Vec<PathBuf>,
    /// The config of local images, by reference as run (after mapping).
    configs: HashMap<String, ImageConfig>,
}

impl ImageMap {
    /// Parse one map file's text.
    pub fn parse(text: &str, source: &Path) -> Result<HashMap<String, String>, Error> {
        let v: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| Error::Usage {
            message: format!("image map {}: {e}", source.display()),
            hint: Some("it must be a YAML mapping of `image: replacement`, e.g. `postgres:16-alpine: registry.corp/postgres:16`".into()),
        })?;
        let mut out = HashMap::new();
        match v {
            serde_yaml::Value::Null => {}
            serde_yaml::Value::Mapping(m) => {
                for (k, val) in m {
                    match (k.as_str(), val.as_str()) {
                        (Some(k), Some(val)) if !k.trim().is_empty() && !val.trim().is_empty() => {
                            out.insert(k.trim().to_string(), val.trim().to_string());
                        }
                        _ => {
                            return Err(Error::Usage {
                                message: format!("image map {}: every entry must map an image to an image (strings)", source.display()),
                                hint: None,
                            })
                        }
                    }
                }
            }
            _ => {
                return Err(Error::Usage {
                    message: format!("image map {}: expected a mapping of `image: replacement`", source.display()),
                    hint: None,
                })
            }
        }
        Ok(out)
    }

    /// Load from `DEVENV_IMAGE_MAP` and the user-level file.
    pub fn load(env_value: Option<&str>, user_file: Option<PathBuf>) -> Result<ImageMap, Error> {
        let mut map = ImageMap::default();
        if let Some(path) = env_value.filter(|s| !s.is_empty()) {
            let path = PathBuf::from(path);
            let text = std::fs::read_to_string(&path).map_err(|e| Error::Usage {
                message: format!("cannot read DEVENV_IMAGE_MAP file {}: {e}", path.display()),
                hint: Some("point DEVENV_IMAGE_MAP at a YAML file, or unset it".into()),
            })?;
            map.entries = Self::parse(&text, &path)?;
            map.sources.push(path);
        }
        if let Some(path) = user_file.filter(|p| p.is_file()) {
            let text = std::fs::read_to_string(&path).map_err(|e| Error::Usage { message: format!("cannot read {}: {e}", path.display()), hint: None })?;
            for (k, v) in Self::parse(&text, &path)? {
                map.entries.entry(k).or_insert(v);
            }
            map.sources.push(path);
        }
        Ok(map)
    }

    /// The user-level image map file.
    pub fn user_file() -> Option<PathBuf> {
        directories::ProjectDirs::from("dev", "devenv", "devenv").map(|d| d.config_dir().join("images.yaml"))
    }

    pub fn from_entries(entries: impl IntoIterator<Item = (String, String)>) -> ImageMap {
        ImageMap { entries: entries.into_iter().collect(), ..ImageMap::default() }
    }

    /// Record what the local image `reference` (as run) declares.
    pub fn add_config(&mut self, reference: &str, config: ImageConfig) {
        self.configs.insert(reference.to_string(), config);
    }

    /// What the local image `reference` (as run) declares, if the caller looked.
    pub fn config(&self, reference: &str) -> Option<&ImageConfig> {
        self.configs.get(reference)
    }

    /// The reference to use for `image`.
    pub fn apply(&self, image: &str) -> String {
        if let Some(r) = self.entries.get(image) {
            return r.clone();
        }
        let (repo, tag) = split_reference(image);
        // `postgres` also matches `docker.io/library/postgres`.
        let short = repo.trim_start_matches("docker.io/").trim_start_matches("library/");
        for key in [repo.as_str(), short] {
            if let Some(r) = self.entries.get(key) {
                let has_tag = r.contains('@') || r.rsplit('/').next().is_some_and(|last| last.contains(':'));
                return if has_tag { r.clone() } else { format!("{r}{}{tag}", if tag.starts_with("sha256:") { "@" } else { ":" }) };
            }
        }
        image.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_wins_then_repository() {
        let m = ImageMap::from_entries([
            ("postgres:16-alpine".to_string(), "devenv-test/postgres:15".to_string()),
            ("postgres".to_string(), "mirror.corp/postgres".to_string()),
            ("apache/kafka".to_string(), "devenv-test/kafka:1".to_string()),
        ]);
        assert_eq!(m.apply("postgres:16-alpine"), "devenv-test/postgres:15");
        assert_eq!(m.apply("postgres:17-alpine"), "mirror.corp/postgres:17-alpine");
        assert_eq!(m.apply("apache/kafka:3.9.0"), "devenv-test/kafka:1");
        assert_eq!(m.apply("redis:7"), "redis:7");
    }

    #[test]
    fn bad_files_are_errors() {
        assert!(ImageMap::parse("[a, b]", Path::new("m.yaml")).is_err());
        assert!(ImageMap::parse("a: {b: c}", Path::new("m.yaml")).is_err());
        assert!(ImageMap::parse(": :", Path::new("m.yaml")).is_err());
        assert_eq!(ImageMap::parse("", Path::new("m.yaml")).map(|m| m.len()).ok(), Some(0));
    }
}
