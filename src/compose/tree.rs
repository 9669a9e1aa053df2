//! The YAML tree compose works on (`map[string]any` in compose-go; a
//! `serde_yaml::Value` with string keys here) and paths into it.
//!
//! A [`YPath`] prints as devenv's YAML paths (`services.api.ports[1]`, the keys
//! of `config::Locations`) and matches compose-go's `tree.Path` patterns
//! (`services.*.ports`, `*` = any key or list item, `[]` = any list item).

use serde_yaml::{Mapping, Value};

/// One step into the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// A path from the root of a compose document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct YPath(pub Vec<Seg>);

impl YPath {
    pub fn root() -> YPath {
        YPath(Vec::new())
    }

    /// `a.b.c` (keys only).
    pub fn of(dotted: &str) -> YPath {
        YPath(dotted.split('.').filter(|s| !s.is_empty()).map(|s| Seg::Key(s.to_string())).collect())
    }

    pub fn key(&self, k: &str) -> YPath {
        let mut p = self.clone();
        p.0.push(Seg::Key(k.to_string()));
        p
    }

    pub fn index(&self, i: usize) -> YPath {
        let mut p = self.clone();
        p.0.push(Seg::Index(i));
        p
    }

    /// Matches a compose-go pattern: `*` matches any segment, `[]` any list item.
    pub fn matches(&self, pattern: &str) -> bool {
        let parts: Vec<&str> = pattern.split('.').collect();
        if parts.len() != self.0.len() {
            return false;
        }
        self.0.iter().zip(parts).all(|(seg, pat)| match (seg, pat) {
            (_, "*") => true,
            (Seg::Index(_), "[]") => true,
            (Seg::Key(k), p) => k == p,
            (Seg::Index(_), _) => false,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The key at position `i`, if that segment is a key.
    pub fn key_at(&self, i: usize) -> Option<&str> {
        match self.0.get(i) {
            Some(Seg::Key(k)) => Some(k),
            _ => None,
        }
    }
}

impl std::fmt::Display for YPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            match s {
                Seg::Key(k) if i == 0 => write!(f, "{k}")?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// What a value is, for messages ("a string", "a list"…).
pub fn kind(v: &Value) -> &'static str {
    crate::yaml::kind_of(v)
}

/// Keys of a map as strings (non-string keys were rejected when the file was read).
pub fn keys(m: &Mapping) -> Vec<String> {
    m.keys().filter_map(|k| k.as_str().map(String::from)).collect()
}

pub fn s(v: &str) -> Value {
    Value::String(v.to_string())
}
