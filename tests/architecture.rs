//! The map of devenv's code, written as a test so it cannot go stale.
//!
//! Read this first. devenv is a pipeline; each top-level module of `src/` is
//! one stage (or a foundation the stages stand on), and a module may use only
//! the modules *below* it in this table — never a later stage, never a module
//! that uses it back:
//!
//! | rank | module | owns |
//! |---|---|---|
//! | 0 | `values` | pure value types read from files: ports, volumes, durations, restart policies, ulimits, image references |
//! | 0 | `yaml` | positions in a file (`Pos`, `Locations`), `ConfigError`, YAML syntax errors, `<<` merges, did-you-mean hints |
//! | 0 | `labels` | the Docker labels devenv puts on its objects (the only way it finds them again) |
//! | 1 | `docker` | the only user of bollard: every Docker API call, typed `DockerError`s |
//! | 1 | `seed` | loading seed data over each service's own protocol; the seed entry types |
//! | 2 | `preset` | the backing services, one file each: image, env, ports, data path, URL, probe, seeders, k8s and doctor advice |
//! | 3 | `compose` | compose files read exactly as Compose v2 does, into its normalized model |
//! | 4 | `config` | the environment file (devenv's own or compose) loaded into one typed, validated model |
//! | 5 | `error` | the user-facing error: exit codes, hints, README links |
//! | 6 | `ui` | the one event stream and its renderers (TTY, plain, JSON, JUnit) — the only printer |
//! | 7 | `plan` | pure: presets merged, references resolved, graph, hashes (no disk, env or Docker) |
//! | 8 | `observe` | one snapshot of what exists in Docker for a project |
//! | 9 | `diff` | plan vs observed → steps, with a `Display` form tests assert on |
//! | 10 | `engine` | executes steps: scheduling, readiness, seeding, teardown |
//! | 11 | `watch`, `k8s`, `init` | hot reload; the plan on Kubernetes; onboarding |
//! | 12 | `api`, `testcontainers` | the library faces of the pipeline |
//! | 12 | `web` | `devenv ui`: the local page, its live view of the project and its actions |
//! | 13 | `cli` | the thin command layer |
//!
//! Also enforced: bollard only in `docker/`; printing only in `ui/`, `cli/`
//! and `main.rs`; no two sibling files of one module import each other.
//! Test code (`tests.rs`, `#[cfg(test)]` modules) is exempt.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

#[path = "common/sources.rs"]
mod sources;
use sources::rust_files;

const RANKS: &[(&str, u8)] = &[
    ("values", 0),
    ("yaml", 0),
    ("labels", 0),
    ("docker", 1),
    ("seed", 1),
    ("preset", 2),
    ("compose", 3),
    ("config", 4),
    ("error", 5),
    ("ui", 6),
    ("plan", 7),
    ("observe", 8),
    ("diff", 9),
    ("engine", 10),
    ("watch", 11),
    ("k8s", 11),
    ("init", 11),
    ("api", 12),
    ("testcontainers", 12),
    ("web", 12),
    ("cli", 13),
];

/// Where printing is allowed.
const PRINTERS: &[&str] = &["ui", "cli", "main"];

/// One non-test source file: its module path (`["engine", "health"]`) and its code.
struct Source {
    path: PathBuf,
    module: Vec<String>,
    code: String,
}

fn rank(top: &str) -> Option<u8> {
    RANKS.iter().find(|(m, _)| *m == top).map(|(_, r)| *r)
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}


/// `src/engine/health.rs` → `["engine", "health"]`; `src/k8s/mod.rs` → `["k8s"]`; `src/lib.rs` → `[]`.
fn module_of(path: &Path) -> Vec<String> {
    let rel = path.strip_prefix(src_dir()).unwrap_or(path);
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if let Some(last) = parts.last_mut() {
        *last = last.trim_end_matches(".rs").to_string();
    }
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// Code without comments, string literals' contents and `#[cfg(test)]` items.
fn strip(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let t = line.trim_start();
        if t.starts_with("#[cfg(test)]") {
            // Skip the next item: `mod x;` or a braced block.
            let mut depth = 0i32;
            let mut opened = false;
            for next in lines.by_ref() {
                for c in next.chars() {
                    match c {
                        '{' => {
                            depth += 1;
                            opened = true;
                        }
                        '}' => depth -= 1,
                        _ => {}
                    }
                }
                if (opened && depth <= 0) || (!opened && next.trim_end().ends_with(';')) {
                    break;
                }
            }
            continue;
        }
        if t.starts_with("//") {
            continue;
        }
        let code = blank_strings(line);
        out.push_str(code.find("//").map_or(code.as_str(), |i| &code[..i]));
        out.push('\n');
    }
    out
}

/// Replace the contents of "…" literals with spaces (so a message that says
/// `crate::x` or `println!` is not mistaken for code).
fn blank_strings(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut in_str = false;
    let mut escaped = false;
    for c in line.chars() {
        if in_str {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_str = false;
                out.push(c);
                continue;
            }
            out.push(' ');
        } else {
            if c == '"' {
                in_str = true;
            }
            out.push(c);
        }
    }
    out
}

/// Test modules declared as `#[cfg(test)] mod name;` (their files are exempt).
fn test_files(files: &[PathBuf]) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    for f in files {
        let Ok(text) = std::fs::read_to_string(f) else { continue };
        let dir = match f.file_name().and_then(|n| n.to_str()) {
            Some("mod.rs" | "lib.rs") => f.parent().map(Path::to_path_buf).unwrap_or_default(),
            _ => f.with_extension(""),
        };
        let mut prev_cfg_test = false;
        for line in text.lines() {
            let t = line.trim();
            if prev_cfg_test && t.starts_with("mod ") && t.ends_with(';') {
                let name = t.trim_start_matches("mod ").trim_end_matches(';').trim();
                out.insert(dir.join(format!("{name}.rs")));
                out.insert(dir.join(name).join("mod.rs"));
            }
            prev_cfg_test = t.starts_with("#[cfg(test)]");
        }
    }
    out
}

fn sources() -> Vec<Source> {
    let mut files = Vec::new();
    rust_files(&src_dir(), &mut files);
    assert!(files.len() > 20, "src/ not found from {}", src_dir().display());
    let tests = test_files(&files);
    files
        .into_iter()
        .filter(|f| !tests.contains(f) && f.file_name().is_some_and(|n| n != "tests.rs") && !f.iter().any(|p| p == "tests"))
        .filter_map(|f| {
            let text = std::fs::read_to_string(&f).ok()?;
            Some(Source { module: module_of(&f), code: strip(&text), path: f })
        })
        .collect()
}

/// Every `crate::a::b…` path in `code`, as segments (`use crate::{a, b::c}` expanded).
fn crate_paths(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let before = rest[..i].chars().last();
        rest = &rest[i + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            continue; // e.g. `$crate::`, `foo_crate::`
        }
        out.extend(expand(rest));
    }
    out
}

/// `a::b::{c, d::e}…` → `[a,b,c]`, `[a,b,d,e]`; stops at the end of the path.
fn expand(s: &str) -> Vec<Vec<String>> {
    let mut prefix = Vec::new();
    let mut cur = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        if c.is_alphanumeric() || c == '_' {
            cur.push(c);
        } else if c == ':' {
            if !cur.is_empty() {
                prefix.push(std::mem::take(&mut cur));
            }
        } else if c == '{' && cur.is_empty() {
            let inner = &s[i + 1..];
            let end = matching_brace(inner);
            let mut out = Vec::new();
            for part in split_top(&inner[..end]) {
                for tail in expand(part.trim()) {
                    let mut p = prefix.clone();
                    p.extend(tail);
                    out.push(p);
                }
            }
            return out;
        } else {
            break;
        }
    }
    if !cur.is_empty() {
        prefix.push(cur);
    }
    if prefix.is_empty() { vec![] } else { vec![prefix] }
}

fn matching_brace(s: &str) -> usize {
    let mut depth = 0;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return i,
            '}' => depth -= 1,
            _ => {}
        }
    }
    s.len()
}

fn split_top(s: &str) -> Vec<&str> {
    let (mut out, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

/// Sibling files a file names through `super::x` (only names that are files of the same parent).
fn super_refs(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("super::") {
        let before = rest[..i].chars().last();
        rest = &rest[i + "super::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        out.extend(expand(rest).into_iter().filter_map(|p| p.into_iter().next()));
    }
    out
}

/// Top-level edges: module → (imported module → first file:line that does it).
fn top_edges(sources: &[Source]) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut edges: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for s in sources {
        let from = s.module.first().cloned().unwrap_or_else(|| "lib".into());
        for (n, line) in s.code.lines().enumerate() {
            for path in crate_paths(line) {
                let Some(to) = path.first() else { continue };
                if *to != from && rank(to).is_some() {
                    let at = format!("{}:{}", rel(&s.path), n + 1);
                    edges.entry(from.clone()).or_default().entry(to.clone()).or_insert(at);
                }
            }
        }
    }
    edges
}

fn rel(p: &Path) -> String {
    p.strip_prefix(Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap_or(p).display().to_string()
}

#[test]
fn every_module_is_on_the_map() {
    let tops: BTreeSet<String> = sources().iter().filter_map(|s| s.module.first().cloned()).collect();
    let missing: Vec<&String> = tops.iter().filter(|m| *m != "main" && rank(m).is_none()).collect();
    assert!(missing.is_empty(), "modules not in tests/architecture.rs RANKS (add each with its rank and a line in the table): {missing:?}");
}

#[test]
fn modules_import_only_lower_layers() {
    let mut bad = Vec::new();
    for (from, tos) in top_edges(&sources()) {
        let Some(rf) = rank(&from) else { continue };
        for (to, at) in tos {
            let rt = rank(&to).unwrap_or(u8::MAX);
            if rt >= rf {
                bad.push(format!("{at}: `{from}` (rank {rf}) uses `{to}` (rank {rt})"));
            }
        }
    }
    assert!(bad.is_empty(), "imports against the layering (see the table at the top of tests/architecture.rs):\n{}", bad.join("\n"));
}

#[test]
fn no_two_modules_import_each_other() {
    let sources = sources();
    let mut bad = Vec::new();
    let edges = top_edges(&sources);
    for (a, tos) in &edges {
        for (b, at) in tos {
            if a < b
                && let Some(back) = edges.get(b).and_then(|m| m.get(a)) {
                    bad.push(format!("`{a}` ↔ `{b}`: {at} and {back}"));
                }
        }
    }
    // Sibling files of one module: `a/x.rs` and `a/y.rs` must not use each other.
    let mut sib: BTreeMap<(Vec<String>, String), BTreeMap<String, String>> = BTreeMap::new();
    for s in &sources {
        // Top-level modules are checked above; here, files below one of them.
        let Some((name, parent)) = s.module.split_last().filter(|(_, parent)| !parent.is_empty()) else { continue };
        for (n, line) in s.code.lines().enumerate() {
            let at = format!("{}:{}", rel(&s.path), n + 1);
            let mut targets = super_refs(line);
            for p in crate_paths(line) {
                if p.len() > parent.len() && p[..parent.len()] == *parent {
                    targets.push(p[parent.len()].clone());
                }
            }
            for t in targets {
                if t != *name && sources.iter().any(|o| o.module.len() == parent.len() + 1 && o.module[..parent.len()] == *parent && o.module[parent.len()] == t) {
                    sib.entry((parent.to_vec(), name.clone())).or_default().entry(t).or_insert(at.clone());
                }
            }
        }
    }
    for ((parent, a), tos) in &sib {
        for (b, at) in tos {
            if a < b
                && let Some(back) = sib.get(&(parent.clone(), b.clone())).and_then(|m| m.get(a)) {
                    bad.push(format!("`{}::{a}` ↔ `{}::{b}`: {at} and {back}", parent.join("::"), parent.join("::")));
                }
        }
    }
    assert!(bad.is_empty(), "import cycles:\n{}", bad.join("\n"));
}

#[test]
fn only_docker_uses_bollard() {
    let bad: Vec<String> = sources()
        .iter()
        // The testcontainers adapter speaks testcontainers' own API, whose
        // host-config types are bollard's (re-exported by that crate).
        .filter(|s| !matches!(s.module.first().map(String::as_str), Some("docker" | "testcontainers")))
        .flat_map(|s| {
            s.code.lines().enumerate().filter(|(_, l)| l.contains("bollard::")).map(|(n, _)| format!("{}:{}", rel(&s.path), n + 1)).collect::<Vec<_>>()
        })
        .collect();
    assert!(bad.is_empty(), "bollard used outside src/docker/:\n{}", bad.join("\n"));
}

#[test]
fn only_ui_and_cli_print() {
    const PRINTING: &[&str] = &["println!", "eprintln!", "print!(", "eprint!(", "io::stdout()", "io::stderr()", "Term::stdout()", "Term::stderr()"];
    let bad: Vec<String> = sources()
        .iter()
        .filter(|s| !PRINTERS.contains(&s.module.first().map(String::as_str).unwrap_or("main")))
        .flat_map(|s| {
            s.code
                .lines()
                .enumerate()
                .filter(|(_, l)| PRINTING.iter().any(|p| l.contains(p)))
                .map(|(n, l)| format!("{}:{}: {}", rel(&s.path), n + 1, l.trim()))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(bad.is_empty(), "printing outside ui/ and cli/ (emit a ui event, or take a writer):\n{}", bad.join("\n"));
}

#[test]
fn the_scanner_reads_paths_as_rust_does() {
    assert_eq!(crate_paths("use crate::{config::{A, b::C}, plan};"), vec![
        vec!["config".to_string(), "A".into()],
        vec!["config".into(), "b".into(), "C".into()],
        vec!["plan".into()]
    ]);
    assert_eq!(crate_paths("x = $crate::a; y = crate::error::Error::Usage"), vec![vec!["error".to_string(), "Error".into(), "Usage".into()]]);
    assert_eq!(super_refs("use super::{graph::Graph, hash};"), vec!["graph".to_string(), "hash".into()]);
    let stripped = strip("fn a() {}\n#[cfg(test)]\nmod tests {\n    use crate::cli;\n}\nfn b() { let s = \"crate::cli\"; } // crate::cli\n");
    assert!(!stripped.contains("crate::cli"), "{stripped}");
    assert!(stripped.contains("fn b()"), "{stripped}");
    assert_eq!(module_of(&src_dir().join("engine/health.rs")), vec!["engine".to_string(), "health".into()]);
    assert_eq!(module_of(&src_dir().join("k8s/mod.rs")), vec!["k8s".to_string()]);
}
