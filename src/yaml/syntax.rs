//! YAML text → errors and merge keys: serde_yaml syntax errors placed at the
//! culprit (duplicate keys, second documents), `<<` merge keys resolved, and
//! the words used to describe a node's kind in messages.
//!
//! Owns: nothing stateful. Must not: know devenv's or compose's keys.

use std::path::Path;

use serde_yaml::{Mapping, Value};

use super::error::{ConfigError, Pos};
use super::interpolate::key_string;
use super::locate::{Locations, join};

pub fn syntax_error(e: &serde_yaml::Error, file: &Path, text: &str) -> ConfigError {
    let message = strip_location(&e.to_string());
    let mut pos = e.location().map(|l| Pos { line: l.line().max(1), col: l.column().max(1) });
    let mut yaml_path = String::new();
    let mut hint = "check indentation, and quote values that contain `: ` or start with `*`, `&`, `!`, `{`, `[`".to_string();
    // serde_yaml places these at the enclosing map / nowhere; point at the culprit.
    if message.contains("duplicate entry") || message.contains("more than one document") {
        let locs = Locations::from_text(text);
        if message.contains("duplicate entry") {
            if let Some((p, at)) = locs.first_duplicate() {
                pos = Some(at);
                yaml_path = p.to_string();
                hint = format!(
                    "`{}` is already set above (line {}); keep only one",
                    p.rsplit('.').next().unwrap_or(p),
                    locs.get(p).map(|x| x.line).unwrap_or(0)
                );
            }
        } else if let Some(at) = locs.second_document() {
            pos = Some(at);
            hint = "an environment file holds one YAML document; remove the second `---`".into();
        }
    }
    ConfigError {
        file: file.to_path_buf(),
        pos: Some(pos.unwrap_or(Pos { line: 1, col: 1 })),
        yaml_path,
        message: format!("invalid YAML: {message}"),
        hint: Some(hint),
    }
}

/// Removes serde_yaml's ` at line N column M` (the position is shown separately).
fn strip_location(msg: &str) -> String {
    let Some(i) = msg.find(" at line ") else { return msg.to_string() };
    let rest = &msg[i + " at line ".len()..];
    let digits = |s: &str| s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let n = digits(rest);
    let after_line = &rest[n..];
    let tail = match after_line.strip_prefix(" column ") {
        Some(r) => &r[digits(r)..],
        None => after_line,
    };
    format!("{}{}", &msg[..i], tail)
}

/// Resolves `<<` merge keys (also chained ones); reports the path of a bad `<<`.
pub fn apply_merges(root: &mut Value) -> Result<(), (String, String)> {
    let mut stack: Vec<(String, &mut Value)> = vec![(String::new(), root)];
    while let Some((path, node)) = stack.pop() {
        match node {
            Value::Mapping(m) => {
                let mut rounds = 0usize;
                while let Some(merge) = m.shift_remove("<<") {
                    rounds += 1;
                    if rounds > 64 {
                        return Err((join(&path, "<<"), "merge keys (`<<`) nested too deeply".into()));
                    }
                    let bad = |what: &str| (join(&path, "<<"), format!("`<<` must be a map or a list of maps, found {what}"));
                    match merge {
                        Value::Mapping(src) => merge_into(m, src),
                        Value::Sequence(items) => {
                            for item in items {
                                match item {
                                    Value::Mapping(src) => merge_into(m, src),
                                    other => return Err(bad(&format!("a list containing {}", kind_of(&other)))),
                                }
                            }
                        }
                        other => return Err(bad(kind_of(&other))),
                    }
                }
                for (k, v) in m.iter_mut() {
                    stack.push((join(&path, &key_string(k)), v));
                }
            }
            Value::Sequence(items) => {
                for (i, v) in items.iter_mut().enumerate() {
                    stack.push((format!("{path}[{i}]"), v));
                }
            }
            Value::Tagged(t) => stack.push((path, &mut t.value)),
            _ => {}
        }
    }
    Ok(())
}

fn merge_into(m: &mut Mapping, src: Mapping) {
    for (k, v) in src {
        if !m.contains_key(&k) {
            m.insert(k, v);
        }
    }
}


/// The first YAML tag (`!Ref X`, `!!binary …`) in document order, with its
/// path: devenv's own format gives tags no meaning, so a caller refuses them
/// rather than drop them silently.
pub fn first_tag(v: &Value) -> Option<(String, String)> {
    let mut stack = vec![(String::new(), v)];
    while let Some((path, v)) = stack.pop() {
        match v {
            Value::Tagged(t) => return Some((path, t.tag.to_string())),
            Value::Mapping(m) => {
                let entries: Vec<_> = m.iter().collect();
                for (k, v) in entries.into_iter().rev() {
                    stack.push((join(&path, &key_string(k)), v));
                }
            }
            Value::Sequence(items) => {
                for (i, v) in items.iter().enumerate().rev() {
                    stack.push((format!("{path}[{i}]"), v));
                }
            }
            _ => {}
        }
    }
    None
}

pub fn kind_of(v: &serde_yaml::Value) -> &'static str {
    match v {
        serde_yaml::Value::Null => "nothing (null)",
        serde_yaml::Value::Bool(_) => "a boolean",
        serde_yaml::Value::Number(_) => "a number",
        serde_yaml::Value::String(_) => "a string",
        serde_yaml::Value::Sequence(_) => "a list",
        serde_yaml::Value::Mapping(_) => "a map",
        serde_yaml::Value::Tagged(_) => "a tagged value",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_tag_is_found_in_document_order() {
        let v: Value = serde_yaml::from_str("a: 1\nb:\n  - x\n  - !Ref Y\nc: !Sub z\n").unwrap();
        assert_eq!(first_tag(&v), Some(("b[1]".to_string(), "!Ref".to_string())));
        let v: Value = serde_yaml::from_str("a: {b: [1, 2]}\n").unwrap();
        assert_eq!(first_tag(&v), None);
    }

    #[test]
    fn strip_location_drops_serde_positions() {
        assert_eq!(strip_location("did not find expected key at line 4 column 4, while parsing"), "did not find expected key, while parsing");
        assert_eq!(strip_location("bad at line 3"), "bad");
    }
}
