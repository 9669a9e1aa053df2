//! Compose-compatible interpolation of `$VAR` / `${VAR…}` in string scalars,
//! and `.env` parsing.
//!
//! `${svc.url}` (a name with a dot) is a service reference for the planner and
//! is left verbatim.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use indexmap::IndexMap;
use serde_yaml::Value;

use super::locate::join;

/// Looks a variable up (the process environment first, then `.env`).
pub trait Lookup {
    fn lookup(&self, name: &str) -> Option<String>;
}

impl<F: Fn(&str) -> Option<String>> Lookup for F {
    fn lookup(&self, name: &str) -> Option<String> {
        self(name)
    }
}

/// The process environment, then `.env`.
#[derive(Debug, Clone, Copy)]
pub struct Vars<'a> {
    pub environ: &'a HashMap<String, String>,
    pub dotenv: &'a IndexMap<String, String>,
}

impl Lookup for Vars<'_> {
    fn lookup(&self, name: &str) -> Option<String> {
        self.environ.get(name).or_else(|| self.dotenv.get(name)).cloned()
    }
}

/// An interpolation failure inside a YAML document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterpolationError {
    /// Dotted YAML path of the offending value.
    pub path: String,
    pub message: String,
    pub hint: Option<String>,
}

/// Collects "variable is not set" warnings (once per variable), and which
/// variables each interpolated value came from.
#[derive(Debug, Default)]
pub struct Warnings {
    unset: BTreeSet<String>,
    /// Variables referenced by the string being interpolated.
    current: BTreeSet<String>,
    /// YAML path → the variables its value was interpolated from (`interpolate_value` only).
    pub interpolated: BTreeMap<String, Vec<String>>,
}

impl Warnings {
    pub fn into_messages(self) -> Vec<String> {
        self.unset.into_iter().map(|v| format!("the {v:?} variable is not set; defaulting to a blank string")).collect()
    }
}

const MAX_DEPTH: usize = 16;

/// Which `${…}` forms a file may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dialect {
    /// devenv.yaml: `${svc.url}` (a name with a dot) is a service reference,
    /// left verbatim for the planner.
    #[default]
    Devenv,
    /// docker-compose files: exactly compose's grammar, so `${db.url}` is an
    /// invalid interpolation there, as `docker compose` reports it.
    Compose,
}

/// Interpolates every string scalar in map values and sequence items (not keys).
pub fn interpolate_value(v: &mut Value, vars: &dyn Lookup, warnings: &mut Warnings) -> Result<(), InterpolationError> {
    // Iterative walk: the document may be deep.
    let mut stack: Vec<(String, &mut Value)> = vec![(String::new(), v)];
    while let Some((path, node)) = stack.pop() {
        match node {
            Value::String(s) => {
                if s.contains('$') {
                    warnings.current.clear();
                    match interpolate_str_inner(s, vars, warnings, 0, Dialect::Devenv) {
                        Ok(out) => {
                            *s = out;
                            if !warnings.current.is_empty() {
                                let names = std::mem::take(&mut warnings.current).into_iter().collect();
                                warnings.interpolated.insert(path, names);
                            }
                        }
                        Err((message, hint)) => return Err(InterpolationError { path, message, hint }),
                    }
                }
            }
            Value::Sequence(items) => {
                for (i, item) in items.iter_mut().enumerate().rev() {
                    stack.push((format!("{path}[{i}]"), item));
                }
            }
            Value::Mapping(m) => {
                let mut children: Vec<(String, &mut Value)> = m.iter_mut().map(|(k, val)| (join(&path, &key_string(k)), val)).collect();
                children.reverse();
                stack.extend(children);
            }
            Value::Tagged(t) => stack.push((path, &mut t.value)),
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
    Ok(())
}

/// A map key as it appears in YAML paths.
pub fn key_string(k: &Value) -> String {
    match k {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".into(),
        Value::Tagged(t) => key_string(&t.value),
        _ => "?".into(),
    }
}

/// Interpolates one string. Errors are `(message, hint)`.
pub fn interpolate_str(s: &str, vars: &dyn Lookup, warnings: &mut Warnings) -> Result<String, String> {
    interpolate_str_inner(s, vars, warnings, 0, Dialect::Devenv).map_err(|(m, _)| m)
}

/// Interpolates one string with the given grammar. Errors are `(message, hint)`.
pub fn interpolate_str_with(
    s: &str,
    vars: &dyn Lookup,
    warnings: &mut Warnings,
    dialect: Dialect,
) -> Result<String, (String, Option<String>)> {
    interpolate_str_inner(s, vars, warnings, 0, dialect)
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

type IErr = (String, Option<String>);

fn interpolate_str_inner(s: &str, vars: &dyn Lookup, warnings: &mut Warnings, depth: usize, dialect: Dialect) -> Result<String, IErr> {
    if depth > MAX_DEPTH {
        return Err(("interpolation is nested too deeply".into(), None));
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let mut chars = after.chars();
        match chars.next() {
            Some('$') => {
                out.push('$');
                rest = &after[1..];
            }
            Some(c) if is_name_start(c) => {
                let end = after.find(|c: char| !is_name_char(c)).unwrap_or(after.len());
                let name = &after[..end];
                warnings.current.insert(name.to_string());
                match vars.lookup(name) {
                    Some(v) => out.push_str(&v),
                    None => {
                        warnings.unset.insert(name.to_string());
                    }
                }
                rest = &after[end..];
            }
            Some('{') => {
                let body_start = &after[1..];
                let Some(close) = matching_brace(body_start) else {
                    return Err((
                        format!("invalid interpolation {:?}: missing closing `}}`", truncate(&rest[i..])),
                        Some("write `$$` for a literal `$`".into()),
                    ));
                };
                let body = &body_start[..close];
                let whole = &rest[i..i + 2 + close + 1];
                out.push_str(&braced(body, whole, vars, warnings, depth, dialect)?);
                rest = &body_start[close + 1..];
            }
            // A lone `$` (end of string, `$1`, `$ `): kept literally, like compose.
            _ => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn truncate(s: &str) -> String {
    let mut t: String = s.chars().take(40).collect();
    if t.len() < s.len() {
        t.push('…');
    }
    t
}

/// Index of the `}` closing a `${` whose body starts at `s`.
fn matching_brace(s: &str) -> Option<usize> {
    let mut depth = 1usize;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// `svc.url`, `my-db.host`, `db.url:-x`: a name containing a dot (service names may
/// contain `-`). `DOMAIN-example.com` (an upper-case variable name, then `-`) is a
/// variable with a default instead.
pub fn is_service_reference(body: &str) -> bool {
    let name_end = body.find(|c: char| !(is_name_char(c) || c == '.' || c == '-')).unwrap_or(body.len());
    let name = &body[..name_end];
    let Some(dot) = name.find('.') else {
        return false;
    };
    if let Some(dash) = name[..dot].find('-') {
        let var = &name[..dash];
        let upper_var = !var.is_empty()
            && var.starts_with(is_name_start)
            && var.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            && var.chars().any(|c| c.is_ascii_uppercase());
        if upper_var {
            return false;
        }
    }
    true
}

/// Evaluates the body of `${…}`; `whole` is the full `${…}` text.
fn braced(body: &str, whole: &str, vars: &dyn Lookup, warnings: &mut Warnings, depth: usize, dialect: Dialect) -> Result<String, IErr> {
    // `${svc.url}`: a service reference, resolved by the planner.
    if dialect == Dialect::Devenv && is_service_reference(body) {
        return Ok(whole.to_string());
    }
    // Plain names stop at the first `-` (it starts a `-default` modifier).
    let name_end = body.find(|c: char| !is_name_char(c)).unwrap_or(body.len());
    let name = &body[..name_end];
    let invalid = || {
        (
            format!("invalid interpolation format {whole:?}"),
            Some("use ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR:+alt}, or `$$` for a literal `$`".into()),
        )
    };
    if name.is_empty() || !name.starts_with(is_name_start) {
        return Err(invalid());
    }
    let modifier = &body[name_end..];
    warnings.current.insert(name.to_string());
    let value = vars.lookup(name);
    if modifier.is_empty() {
        return Ok(match value {
            Some(v) => v,
            None => {
                warnings.unset.insert(name.to_string());
                String::new()
            }
        });
    }
    let Some((colon, op, arg)) = split_modifier(modifier) else { return Err(invalid()) };
    // `:` variants treat an empty value like an unset one.
    let set = match &value {
        Some(v) => !(colon && v.is_empty()),
        None => false,
    };
    let inner = |warnings: &mut Warnings| interpolate_str_inner(arg, vars, warnings, depth + 1, dialect);
    match (op, set) {
        ('-' | '?', true) => Ok(value.unwrap_or_default()),
        ('-', false) | ('+', true) => inner(warnings),
        ('+', false) => Ok(String::new()),
        _ => {
            let msg = inner(warnings)?;
            // Compose's wording, for `?` and `:?` alike.
            let message = if msg.is_empty() {
                format!("required variable {name} is missing a value")
            } else {
                format!("required variable {name} is missing a value: {msg}")
            };
            Err((message, Some(format!("set {name} in your shell or in the .env file next to the environment file"))))
        }
    }
}

/// `:-x` / `-x` / `:?x` / `?x` / `:+x` / `+x` → (colon, operator, argument).
fn split_modifier(modifier: &str) -> Option<(bool, char, &str)> {
    let (colon, rest) = match modifier.strip_prefix(':') {
        Some(m) => (true, m),
        None => (false, modifier),
    };
    match rest.chars().next() {
        Some(op @ ('-' | '?' | '+')) => Some((colon, op, &rest[1..])),
        _ => None,
    }
}

/// One `KEY=value` (or bare `KEY`) line of a `.env` / `env_file`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DotenvEntry {
    pub key: String,
    /// `None` for a bare `KEY` line.
    pub value: Option<String>,
    /// 1-based line of the key.
    pub line: usize,
}

/// Parses a `.env` file like compose: `KEY=value`, `export KEY=value`, single
/// quotes (literal), double quotes (escapes + interpolation), `#` comments.
/// Values may reference the process environment and earlier keys.
/// Returns the entries and warnings (for lines that could not be parsed).
pub fn parse_dotenv(text: &str, environ: &dyn Lookup) -> (Vec<DotenvEntry>, Vec<String>) {
    let mut entries: Vec<DotenvEntry> = Vec::new();
    let mut known: IndexMap<String, String> = IndexMap::new();
    let mut warnings = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0usize;
    while i < lines.len() {
        let lineno = i + 1;
        let raw = lines[i].trim_start_matches('\u{feff}');
        i += 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").map(str::trim_start).unwrap_or(line);
        // `KEY=value`, or `KEY: value` (compose's parser accepts both).
        let (key, val) = match line.find(['=', ':']) {
            Some(i) => (line[..i].trim(), Some(line[i + 1..].trim_start())),
            None => (line, None),
        };
        if key.is_empty() || !key.starts_with(is_name_start) || !key.chars().all(|c| is_name_char(c) || c == '.' || c == '-') {
            warnings.push(format!("line {lineno}: cannot parse {:?}: expected KEY=value", truncate(line)));
            continue;
        }
        let Some(val) = val else {
            entries.push(DotenvEntry { key: key.to_string(), value: None, line: lineno });
            continue;
        };
        let lookup = |name: &str| environ.lookup(name).or_else(|| known.get(name).cloned());
        let mut w = Warnings::default();
        let value = if let Some(q) = val.strip_prefix('\'') {
            // Single quotes: literal, may span lines.
            let (body, ok) = quoted(q, '\'', &lines, &mut i);
            if !ok {
                warnings.push(format!("line {lineno}: missing closing `'`"));
            }
            body
        } else if let Some(q) = val.strip_prefix('"') {
            let (body, ok) = quoted(q, '"', &lines, &mut i);
            if !ok {
                warnings.push(format!("line {lineno}: missing closing `\"`"));
            }
            let body = unescape(&body);
            match interpolate_str_inner(&body, &lookup, &mut w, 0, Dialect::Devenv) {
                Ok(v) => v,
                Err((m, _)) => {
                    warnings.push(format!("line {lineno}: {m}"));
                    body
                }
            }
        } else {
            // Unquoted: an inline comment starts at ` #`.
            let v = match val.find(" #").or_else(|| val.find("\t#")) {
                Some(j) => &val[..j],
                None => val,
            };
            let v = v.trim();
            match interpolate_str_inner(v, &lookup, &mut w, 0, Dialect::Devenv) {
                Ok(v) => v,
                Err((m, _)) => {
                    warnings.push(format!("line {lineno}: {m}"));
                    v.to_string()
                }
            }
        };
        for m in w.into_messages() {
            warnings.push(format!("line {lineno}: {m}"));
        }
        known.insert(key.to_string(), value.clone());
        entries.push(DotenvEntry { key: key.to_string(), value: Some(value), line: lineno });
    }
    (entries, warnings)
}

/// Reads a quoted value starting after the opening quote; continues over
/// following lines until the closing quote. Returns (body, closed).
fn quoted(first: &str, quote: char, lines: &[&str], next: &mut usize) -> (String, bool) {
    let mut body = String::new();
    let mut cur = first.to_string();
    loop {
        if let Some(end) = find_close(&cur, quote) {
            body.push_str(&cur[..end]);
            return (body, true);
        }
        body.push_str(&cur);
        if *next >= lines.len() {
            return (body, false);
        }
        body.push('\n');
        cur = lines[*next].to_string();
        *next += 1;
    }
}

fn find_close(s: &str, quote: char) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if quote == '"' && escaped {
            escaped = false;
            continue;
        }
        if quote == '"' && c == '\\' {
            escaped = true;
            continue;
        }
        if c == quote {
            return Some(i);
        }
    }
    None
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            Some('$') => out.push_str("$$"),
            Some(o) => {
                out.push('\\');
                out.push(o);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// Final `.env` variables: entries with values, bare keys taken from `environ` (else dropped).
pub fn dotenv_map(entries: &[DotenvEntry], environ: &dyn Lookup) -> IndexMap<String, String> {
    let mut out = IndexMap::new();
    for e in entries {
        match &e.value {
            Some(v) => {
                out.insert(e.key.clone(), v.clone());
            }
            None => {
                if let Some(v) = environ.lookup(&e.key) {
                    out.insert(e.key.clone(), v);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn interp(s: &str, pairs: &[(&str, &str)]) -> Result<String, String> {
        let e = env(pairs);
        let d = IndexMap::new();
        let vars = Vars { environ: &e, dotenv: &d };
        let mut w = Warnings::default();
        interpolate_str(s, &vars, &mut w)
    }

    fn ok(s: &str, pairs: &[(&str, &str)]) -> String {
        interp(s, pairs).unwrap()
    }

    #[test]
    fn simple_forms() {
        let e = [("A", "1"), ("EMPTY", ""), ("B_2", "two")];
        assert_eq!(ok("$A", &e), "1");
        assert_eq!(ok("x${A}y", &e), "x1y");
        assert_eq!(ok("$A$B_2-", &e), "1two-");
        assert_eq!(ok("$A.b", &e), "1.b");
        assert_eq!(ok("no vars", &e), "no vars");
        assert_eq!(ok("", &e), "");
    }

    #[test]
    fn dollar_escapes_and_lone_dollars() {
        assert_eq!(ok("$$", &[]), "$");
        assert_eq!(ok("a$$b", &[]), "a$b");
        assert_eq!(ok("$${A}", &[("A", "1")]), "${A}");
        assert_eq!(ok("$$$A", &[("A", "1")]), "$1");
        assert_eq!(ok("cost: 5$", &[]), "cost: 5$");
        assert_eq!(ok("$1 $ x", &[]), "$1 $ x");
    }

    #[test]
    fn defaults_and_alternatives() {
        let e = [("SET", "v"), ("EMPTY", "")];
        assert_eq!(ok("${UNSET:-d}", &e), "d");
        assert_eq!(ok("${EMPTY:-d}", &e), "d");
        assert_eq!(ok("${SET:-d}", &e), "v");
        assert_eq!(ok("${UNSET-d}", &e), "d");
        assert_eq!(ok("${EMPTY-d}", &e), "");
        assert_eq!(ok("${SET:+alt}", &e), "alt");
        assert_eq!(ok("${EMPTY:+alt}", &e), "");
        assert_eq!(ok("${EMPTY+alt}", &e), "alt");
        assert_eq!(ok("${UNSET+alt}", &e), "");
        assert_eq!(ok("${UNSET:-}", &e), "");
        assert_eq!(ok("${UNSET:-a b:c-d}", &e), "a b:c-d");
    }

    #[test]
    fn nested_defaults() {
        let e = [("INNER", "in")];
        assert_eq!(ok("${A:-${INNER}}", &e), "in");
        assert_eq!(ok("${A:-${B:-deep}}", &e), "deep");
        assert_eq!(ok("${A:-x${INNER}y}-z", &e), "xiny-z");
        assert_eq!(ok("${INNER:+${INNER}!}", &e), "in!");
        // An unused default is not evaluated (its `:?` does not fire).
        assert_eq!(ok("${INNER:-${NOPE:?boom}}", &e), "in");
    }

    #[test]
    fn required() {
        let err = interp("${DB_PASS:?set the password}", &[]).unwrap_err();
        assert!(err.contains("DB_PASS") && err.contains("set the password"), "{err}");
        let err = interp("${DB_PASS:?}", &[("DB_PASS", "")]).unwrap_err();
        assert!(err.contains("DB_PASS"), "{err}");
        assert_eq!(ok("${DB_PASS?msg}", &[("DB_PASS", "")]), "");
        let err = interp("${DB_PASS?msg}", &[]).unwrap_err();
        assert!(err.contains("msg"));
        assert_eq!(ok("${P:?x}", &[("P", "ok")]), "ok");
    }

    #[test]
    fn service_references_are_left_alone() {
        assert_eq!(ok("${db.url}", &[("db", "x")]), "${db.url}");
        assert_eq!(ok("postgres://${db.host}:${db.port}/x", &[]), "postgres://${db.host}:${db.port}/x");
        assert_eq!(ok("${my-db.url}", &[]), "${my-db.url}");
        assert_eq!(ok("${db.url} and ${A}", &[("A", "a")]), "${db.url} and a");
        assert_eq!(ok("${X:-${db.url}}", &[]), "${db.url}");
        assert_eq!(ok("${db.url:-x}", &[]), "${db.url:-x}");
        // An upper-case variable with a `-default` containing dots is interpolated.
        assert_eq!(ok("${DOMAIN-example.com}", &[]), "example.com");
        assert_eq!(ok("${DOMAIN:-example.com}", &[]), "example.com");
    }

    #[test]
    fn invalid_formats() {
        for s in ["${}", "${1A}", "${A", "${A:x}", "${A B}", "${-x}", "${A:}"] {
            let err = interp(s, &[]).unwrap_err();
            assert!(err.contains("invalid interpolation"), "{s}: {err}");
        }
        let deep = format!("{}{}", "${A:-".repeat(40), "}".repeat(40));
        assert!(interp(&deep, &[]).unwrap_err().contains("nested too deeply"));
    }

    #[test]
    fn unset_warns_once() {
        let e = HashMap::new();
        let d = IndexMap::new();
        let vars = Vars { environ: &e, dotenv: &d };
        let mut w = Warnings::default();
        assert_eq!(interpolate_str("$NOPE ${NOPE} ${OTHER}", &vars, &mut w).unwrap(), "  ");
        let msgs = w.into_messages();
        assert_eq!(msgs.len(), 2);
        assert!(msgs[0].contains("NOPE") && msgs[0].contains("not set"));
    }

    #[test]
    fn process_env_wins_over_dotenv() {
        let e = env(&[("A", "shell")]);
        let d: IndexMap<String, String> =
            [("A".to_string(), "dotenv".to_string()), ("B".to_string(), "dot-b".to_string())].into_iter().collect();
        let vars = Vars { environ: &e, dotenv: &d };
        let mut w = Warnings::default();
        assert_eq!(interpolate_str("$A/$B", &vars, &mut w).unwrap(), "shell/dot-b");
    }

    #[test]
    fn values_keys_and_paths() {
        let mut v: Value = serde_yaml::from_str(
            "services:\n  api:\n    image: ${IMG}\n    $KEY: 1\n    ports: [\"${P}:80\", 5]\n    env:\n      A: \"${db.url}\"\n      B: !tag ${IMG}\n",
        )
        .unwrap();
        let e = env(&[("IMG", "node:20"), ("P", "3000"), ("KEY", "k")]);
        let d = IndexMap::new();
        let mut w = Warnings::default();
        interpolate_value(&mut v, &Vars { environ: &e, dotenv: &d }, &mut w).unwrap();
        let api = &v["services"]["api"];
        assert_eq!(api["image"], Value::String("node:20".into()));
        assert!(api.get("$KEY").is_some(), "keys are not interpolated");
        assert_eq!(api["ports"][0], Value::String("3000:80".into()));
        assert_eq!(api["env"]["A"], Value::String("${db.url}".into()));

        let mut v: Value = serde_yaml::from_str("services:\n  api:\n    ports: [\"1\", \"${P:?port needed}\"]\n").unwrap();
        let e2 = HashMap::new();
        let err = interpolate_value(&mut v.clone(), &Vars { environ: &e2, dotenv: &d }, &mut w).unwrap_err();
        assert_eq!(err.path, "services.api.ports[1]");
        assert!(err.message.contains("required variable P") && err.message.contains("port needed"), "{}", err.message);
        interpolate_value(&mut v, &Vars { environ: &e, dotenv: &d }, &mut w).unwrap();
        assert_eq!(v["services"]["api"]["ports"][1], Value::String("3000".into()));
    }

    #[test]
    fn dotenv_parsing() {
        let text = "\
# comment
A=1
export B = two
C='lit $A # not a comment'
D=\"dq ${A} \\n end\" 
E=unquoted ${B} # trailing comment
F=
G=${A}${MISSING:-m}
H=\"multi
line\"
BARE
SHELL=${HOME_X}
9bad=x
I=a#b
";
        let environ = env(&[("HOME_X", "/h"), ("BARE", "from-shell")]);
        let lookup = |n: &str| environ.get(n).cloned();
        let (entries, warnings) = parse_dotenv(text, &lookup);
        let m = dotenv_map(&entries, &lookup);
        assert_eq!(m["A"], "1");
        assert_eq!(m["B"], "two");
        assert_eq!(m["C"], "lit $A # not a comment");
        assert_eq!(m["D"], "dq 1 \n end");
        assert_eq!(m["E"], "unquoted two");
        assert_eq!(m["F"], "");
        assert_eq!(m["G"], "1m");
        assert_eq!(m["H"], "multi\nline");
        assert_eq!(m["BARE"], "from-shell");
        assert_eq!(m["SHELL"], "/h");
        assert_eq!(m["I"], "a#b");
        assert!(!m.contains_key("9bad"));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("line 13"), "{warnings:?}");
        assert_eq!(entries.iter().find(|e| e.key == "E").map(|e| e.line), Some(6));
    }

    #[test]
    fn dotenv_references_prefer_process_env() {
        let environ = env(&[("A", "shell")]);
        let lookup = |n: &str| environ.get(n).cloned();
        let (entries, _) = parse_dotenv("A=file\nB=${A}\n", &lookup);
        let m = dotenv_map(&entries, &lookup);
        assert_eq!(m["B"], "shell");
    }

    #[test]
    fn dotenv_unterminated_quote() {
        let lookup = |_: &str| None;
        let (entries, warnings) = parse_dotenv("A=\"open\nB=1\n", &lookup);
        assert_eq!(entries.len(), 1);
        assert!(warnings.iter().any(|w| w.contains("missing closing")));
    }

    fn compose(s: &str, pairs: &[(&str, &str)]) -> Result<String, String> {
        let e = env(pairs);
        let d = IndexMap::new();
        let vars = Vars { environ: &e, dotenv: &d };
        let mut w = Warnings::default();
        interpolate_str_with(s, &vars, &mut w, Dialect::Compose).map_err(|(m, _)| m)
    }

    /// The same cases were run through `docker compose config` (v2.26.1) with
    /// A=1, EMPTY= and B= set; these are its results.
    #[test]
    fn compose_dialect_matches_compose() {
        let e = [("A", "1"), ("EMPTY", ""), ("B", ""), ("a_lower", "L")];
        let cases = [
            ("${A}-${B:-x}", "1-x"),
            ("${UNSET:-${B:-deep}}", "deep"),
            ("${A:-${UNSET}}", "1"),
            ("$$A $${A}", "$A ${A}"),
            ("${EMPTY-def}", ""),
            ("${EMPTY:-def}", "def"),
            ("${UNSET-def}", "def"),
            ("${A:+alt}", "alt"),
            ("${EMPTY:+alt}", ""),
            ("${EMPTY+alt}", "alt"),
            ("${UNSET+alt}", ""),
            ("$A$A", "11"),
            ("cost 5$ and $1 and $ x", "cost 5$ and $1 and $ x"),
            ("${A}}", "1}"),
            ("${UNSET:-a}b}", "ab}"),
            ("{${A}}", "{1}"),
            ("${UNSET:-{x}}", "{x}"),
            ("${a_lower:-lower}", "L"),
            ("${UNSET:-a:b-c}", "a:b-c"),
            ("$A_B-$A", "-1"),
            ("${A?msg}", "1"),
            ("${UNSET:-$A}", "1"),
            ("${UNSET:-$$}", "$"),
            ("${UNSET}-${B:-x}", "-x"),
        ];
        for (input, want) in cases {
            assert_eq!(compose(input, &e).as_deref(), Ok(want), "{input}");
        }
    }

    #[test]
    fn compose_dialect_has_no_service_references() {
        for s in ["${db.url}", "${db.url:-x}"] {
            let err = compose(s, &[]).unwrap_err();
            assert!(err.contains("invalid interpolation"), "{s}: {err}");
        }
        // As in compose: the name stops at `-`, which starts a default.
        assert_eq!(compose("${my-db.host}", &[]).as_deref(), Ok("db.host"));
        // The devenv dialect keeps them for the planner.
        assert_eq!(ok("${db.url}", &[]), "${db.url}");
        assert_eq!(compose("${DOMAIN-example.com}", &[]).as_deref(), Ok("example.com"));
    }

    #[test]
    fn required_messages_use_compose_wording() {
        assert_eq!(
            compose("${DB_PASS:?set the password}", &[]).unwrap_err(),
            "required variable DB_PASS is missing a value: set the password"
        );
        assert_eq!(compose("${IMG:?}", &[]).unwrap_err(), "required variable IMG is missing a value");
        assert_eq!(compose("${IMG?}", &[]).unwrap_err(), "required variable IMG is missing a value");
        assert_eq!(compose("${IMG?}", &[("IMG", "")]).as_deref(), Ok(""));
    }

    #[test]
    fn dotenv_colon_separator_like_compose() {
        let lookup = |_: &str| None;
        let (entries, warnings) = parse_dotenv("A: one\nB:two=2\nC=x:y\n", &lookup);
        let m = dotenv_map(&entries, &lookup);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(m["A"], "one");
        assert_eq!(m["B"], "two=2");
        assert_eq!(m["C"], "x:y");
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "[$\\{\\}:?+\\-a-zA-Z_.0-9 ]{0,40}") {
            let _ = interp(&s, &[("a", "1"), ("A", "")]);
        }

        #[test]
        fn dotenv_never_panics(s in "\\PC{0,80}") {
            let lookup = |_: &str| None;
            let _ = parse_dotenv(&s, &lookup);
        }
    }
}
