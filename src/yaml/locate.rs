//! Positions of YAML nodes, keyed by dotted path.
//!
//! Built from the file text with yaml-rust2's event parser (serde_yaml's
//! `Value` has no positions). Paths look like `services.api.depends_on.db2`
//! and `services.api.ports[1]`; a map entry maps to the position of its KEY,
//! a sequence item to the position of the item. The text of plain
//! (unquoted) scalar values is kept as written too, since serde_yaml's
//! `Value` has already read `16.10` as the number 16.1.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::TScalarStyle;

use super::error::Pos;

/// YAML path -> position of the key (map entries) or the item (sequence items).
#[derive(Debug, Clone, Default)]
pub struct Locations {
    map: HashMap<String, Pos>,
    /// Keys seen twice in the same map: (path, position of the repeat).
    duplicates: Vec<(String, Pos)>,
    /// Where a second YAML document starts, if any.
    second_document: Option<Pos>,
    /// Plain (unquoted) scalar values as written, by path.
    plain: HashMap<String, String>,
}

/// Where the walker is inside a collection.
#[derive(Debug)]
enum Frame {
    Map {
        path: String,
        /// `Some(child path)` once a key was read and its value is expected.
        pending: Option<String>,
        /// A complex (non-scalar) key is being skipped.
        skipping: bool,
        /// The map's own path and start mark, recorded at its first key (block
        /// mappings report their start mark after the first key) or at its end.
        unplaced: Option<(String, Pos)>,
    },
    Seq {
        path: String,
        index: usize,
    },
}

impl Locations {
    /// Parses `text` and records positions. Never fails or panics: on a syntax
    /// error (or any internal parser trouble) it keeps what was recorded so far.
    pub fn from_text(text: &str) -> Locations {
        let mut locs = Locations::default();
        // yaml-rust2 uses `unreachable!`/`assert!` internally; be defensive.
        let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut l = Locations::default();
            l.walk(text);
            l
        }));
        if let Ok(l) = res {
            locs = l;
        }
        locs
    }

    fn walk(&mut self, text: &str) {
        let mut parser = Parser::new_from_str(text);
        let mut stack: Vec<Frame> = Vec::new();
        let mut documents = 0usize;
        // Depth of nodes inside a complex key that we skip entirely.
        let mut skip_depth = 0usize;
        loop {
            let (ev, mark) = match parser.next_token() {
                Ok(x) => x,
                Err(_) => return,
            };
            let pos = Pos { line: mark.line().max(1), col: mark.col() + 1 };
            match ev {
                Event::StreamEnd => return,
                Event::DocumentStart => {
                    documents += 1;
                    if documents > 1 {
                        // Only the first document is used.
                        self.second_document = Some(pos);
                        return;
                    }
                }
                Event::Nothing | Event::StreamStart | Event::DocumentEnd => {}
                Event::Scalar(ref s, style, ..) if skip_depth == 0 => {
                    if let Some(path) = self.node(&mut stack, pos, Some(s.as_str()), None)
                        && style == TScalarStyle::Plain
                    {
                        self.plain.insert(path, s.clone());
                    }
                }
                Event::Alias(_) if skip_depth == 0 => {
                    self.node(&mut stack, pos, None, None);
                }
                Event::Scalar(..) | Event::Alias(_) => {}
                Event::MappingStart(..) | Event::SequenceStart(..) => {
                    if skip_depth > 0 {
                        skip_depth += 1;
                        continue;
                    }
                    let is_map = matches!(ev, Event::MappingStart(..));
                    // A collection used as a map key: skip it entirely.
                    if let Some(Frame::Map { pending: None, skipping, .. }) = stack.last_mut() {
                        *skipping = true;
                        skip_depth = 1;
                        continue;
                    }
                    let child = if is_map {
                        Frame::Map { path: String::new(), pending: None, skipping: false, unplaced: None }
                    } else {
                        Frame::Seq { path: String::new(), index: 0 }
                    };
                    self.node(&mut stack, pos, None, Some(child));
                }
                Event::MappingEnd | Event::SequenceEnd => {
                    if skip_depth > 0 {
                        skip_depth -= 1;
                        if skip_depth == 0 {
                            // The complex key is done; its value comes next, under a placeholder path.
                            if let Some(Frame::Map { path, pending, skipping, .. }) = stack.last_mut() {
                                *skipping = false;
                                *pending = Some(join(path, "?"));
                            }
                        }
                        continue;
                    }
                    if let Some(Frame::Map { unplaced: Some((p, start)), .. }) = stack.pop() {
                        self.map.entry(p).or_insert(start);
                    }
                }
            }
        }
    }

    /// A node starts (a scalar/alias, or a collection when `child` is given).
    /// Returns the path of a value node that is not a collection (None for a key).
    fn node(&mut self, stack: &mut Vec<Frame>, pos: Pos, scalar: Option<&str>, child: Option<Frame>) -> Option<String> {
        let defer = matches!(child, Some(Frame::Map { .. }));
        let my_path = match stack.last_mut() {
            None => {
                if !defer {
                    self.map.entry(String::new()).or_insert(pos);
                }
                Some(String::new())
            }
            Some(Frame::Map { path, pending, unplaced, .. }) => match pending.take() {
                None => {
                    // This node is a key.
                    if let Some((p, _)) = unplaced.take() {
                        self.map.entry(p).or_insert(pos);
                    }
                    let key = scalar.unwrap_or("?");
                    let p = join(path, key);
                    if self.map.contains_key(&p) {
                        self.duplicates.push((p.clone(), pos));
                    } else {
                        self.map.insert(p.clone(), pos);
                    }
                    *pending = Some(p);
                    None
                }
                Some(p) => Some(p),
            },
            Some(Frame::Seq { path, index }) => {
                let p = format!("{path}[{index}]");
                *index += 1;
                if !defer {
                    self.map.entry(p.clone()).or_insert(pos);
                }
                Some(p)
            }
        };
        match (child, my_path) {
            (Some(mut frame), Some(p)) => {
                match &mut frame {
                    Frame::Map { path, unplaced, .. } => {
                        *unplaced = Some((p.clone(), pos));
                        *path = p;
                    }
                    Frame::Seq { path, .. } => *path = p,
                }
                stack.push(frame);
                None
            }
            (None, p) => p,
            (Some(_), None) => None,
        }
    }

    /// The text of the plain (unquoted) scalar value at `path`, as written.
    pub fn plain_text(&self, path: &str) -> Option<&str> {
        self.plain.get(path).map(String::as_str)
    }

    /// The position recorded for `path`, else for its nearest recorded ancestor.
    pub fn get(&self, path: &str) -> Option<Pos> {
        let mut p = path;
        loop {
            if let Some(pos) = self.map.get(p) {
                return Some(*pos);
            }
            if p.is_empty() {
                return None;
            }
            p = parent(p);
        }
    }

    /// The position recorded for exactly `path`.
    pub fn exact(&self, path: &str) -> Option<Pos> {
        self.map.get(path).copied()
    }

    /// The first key that appears twice in one map: (path, position of the repeat).
    pub fn first_duplicate(&self) -> Option<(&str, Pos)> {
        self.duplicates.first().map(|(p, pos)| (p.as_str(), *pos))
    }

    /// Where a second YAML document (`---`) starts, if the file has one.
    pub fn second_document(&self) -> Option<Pos> {
        self.second_document
    }

    /// Whether `path` itself was recorded.
    pub fn contains(&self, path: &str) -> bool {
        self.map.contains_key(path)
    }

    /// Records a position by hand (tests, synthetic files).
    pub fn insert(&mut self, path: impl Into<String>, pos: Pos) {
        self.map.insert(path.into(), pos);
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// `parent.key`, or `key` at the root.
pub fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() { key.to_string() } else { format!("{parent}.{key}") }
}

/// The path without its last segment (`a.b[1]` -> `a.b`, `a.b` -> `a`, `a` -> ``).
pub fn parent(path: &str) -> &str {
    if path.ends_with(']')
        && let Some(i) = path.rfind('[')
    {
        return &path[..i];
    }
    match path.rfind('.') {
        Some(i) => &path[..i],
        None => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(line: usize, col: usize) -> Option<Pos> {
        Some(Pos { line, col })
    }

    const DOC: &str = "\
name: demo
services:
  db:
    preset: postgres
    ports: [\"5432:5432\", \"1:1\"]
  api:
    image: node
    depends_on:
      db: healthy
    ports:
      - \"3000:3000\"
      - 8080
    env:
      A: ${db.url}
";

    #[test]
    fn keys_and_items() {
        let l = Locations::from_text(DOC);
        assert_eq!(l.get(""), p(1, 1));
        assert_eq!(l.get("name"), p(1, 1));
        assert_eq!(l.get("services"), p(2, 1));
        assert_eq!(l.get("services.db"), p(3, 3));
        assert_eq!(l.get("services.db.preset"), p(4, 5));
        assert_eq!(l.get("services.db.ports"), p(5, 5));
        assert_eq!(l.get("services.db.ports[0]"), p(5, 13));
        assert_eq!(l.get("services.db.ports[1]"), p(5, 26));
        assert_eq!(l.get("services.api.depends_on.db"), p(9, 7));
        assert_eq!(l.get("services.api.ports[0]"), p(11, 9));
        assert_eq!(l.get("services.api.ports[1]"), p(12, 9));
        assert_eq!(l.get("services.api.env.A"), p(14, 7));
    }

    #[test]
    fn falls_back_to_ancestor() {
        let l = Locations::from_text(DOC);
        assert_eq!(l.get("services.api.depends_on.db2"), p(8, 5));
        assert_eq!(l.get("services.api.ports[7]"), p(10, 5));
        assert_eq!(l.get("services.nope.image"), p(2, 1));
        assert_eq!(l.exact("services.nope"), None);
        assert!(l.contains("services.api"));
    }

    #[test]
    fn sequences_of_maps_and_nested() {
        let text = "a:\n  - x: 1\n    y: [1, {z: 2}]\n  - - q\n    - r\n";
        let l = Locations::from_text(text);
        assert_eq!(l.get("a[0]"), p(2, 5));
        assert_eq!(l.get("a[0].x"), p(2, 5));
        assert_eq!(l.get("a[0].y"), p(3, 5));
        assert_eq!(l.get("a[0].y[1].z"), p(3, 13));
        assert_eq!(l.get("a[0].y[1]"), p(3, 13));
        assert_eq!(l.get("a[1][1]"), p(5, 7));
    }

    #[test]
    fn complex_keys_and_aliases() {
        let text = "? [a, b]\n: v\nk: &x {m: 1}\nj: *x\nlast: 1\n";
        let l = Locations::from_text(text);
        assert_eq!(l.get("k.m"), p(3, 8));
        assert_eq!(l.get("j"), p(4, 1));
        assert_eq!(l.get("last"), p(5, 1));
    }

    #[test]
    fn partial_on_syntax_error() {
        let l = Locations::from_text("a: 1\nb: [1, 2\nc: 3\n");
        assert_eq!(l.get("a"), p(1, 1));
        let l = Locations::from_text("");
        assert_eq!(l.get("x"), None);
        let l = Locations::from_text("---\na: 1\n---\nb: 2\n");
        assert_eq!(l.exact("b"), None);
        assert_eq!(l.get("a"), p(2, 1));
        assert_eq!(l.second_document(), p(3, 1));
    }

    #[test]
    fn duplicates() {
        let l = Locations::from_text("a:\n  x: 1\n  y: 2\n  x: 3\n");
        assert_eq!(l.first_duplicate(), Some(("a.x", Pos { line: 4, col: 3 })));
        assert_eq!(l.get("a.x"), p(2, 3));
        assert_eq!(Locations::from_text("a: 1\n").first_duplicate(), None);
    }

    #[test]
    fn parent_paths() {
        assert_eq!(parent("a.b[1]"), "a.b");
        assert_eq!(parent("a.b"), "a");
        assert_eq!(parent("a"), "");
        assert_eq!(parent("a[0][1]"), "a[0]");
        assert_eq!(join("", "x"), "x");
        assert_eq!(join("a", "x"), "a.x");
    }

    #[test]
    fn never_panics_on_junk() {
        for s in ["[[[[[[[[", "{{{{", "? ? ? ?", "- - - -", "&a *a", ": : :", "\u{0}\u{1}", "a: !!binary x", "%YAML 1.1\n%YAML 1.1\n"] {
            let _ = Locations::from_text(s);
        }
        let deep = "[".repeat(100_000);
        let _ = Locations::from_text(&deep);
    }
}
