//! "A preset is one file": lists every place outside `src/preset/` that names
//! a specific preset, and fails when there is any beyond `ALLOWED`.
//!
//! Named means: a `Kind::<Variant>` of the registry, an environment key of a
//! preset's defaults (`POSTGRES_USER`, `KAFKA_ADVERTISED_LISTENERS`,
//! `discovery.type`, …), or one of the preset-specific prefixes below.
//! Comments and test code (`tests.rs`, `*_tests.rs`, `#[cfg(test)] mod … { }`)
//! are not counted: tests may name what they test.

use std::path::Path;

use devenv::preset::{self, Context, Kind};

#[path = "common/sources.rs"]
mod sources;
use sources::rust_files;

/// Files outside `src/preset/` allowed to name a preset (target: none).
const ALLOWED: &[&str] = &[];

/// Preset-specific spellings not derivable from the registry's defaults
/// (keys read from the env but not set by default, in-cluster settings).
const PREFIXES: &[&str] = &["POSTGRES_", "PGDATA", "REDIS_", "KAFKA_", "CLICKHOUSE_", "ELASTIC", "discovery.type", "xpack.", "allow_mmap"];

fn patterns() -> Vec<String> {
    let mut out: Vec<String> = PREFIXES.iter().map(|s| s.to_string()).collect();
    for kind in preset::ALL {
        out.push(format!("Kind::{kind:?}"));
        let ctx = Context { project: "p", service: "s", version: None, persist: Some(true), image: None, image_config: None };
        for key in preset::defaults(*kind, &ctx).env.keys() {
            if !out.iter().any(|p| key.contains(p.as_str())) {
                out.push(key.clone());
            }
        }
    }
    out
}


fn is_test_file(rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    name == "tests.rs" || name.ends_with("_tests.rs") || rel.split('/').any(|c| c == "tests")
}

/// (line number, line) of the code lines of a file: no comments, no `#[cfg(test)] mod … { }` blocks.
fn code_lines(text: &str) -> Vec<(usize, &str)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]") {
            let next = lines.get(i + 1).map(|l| l.trim()).unwrap_or("");
            if next.starts_with("mod ") && next.ends_with('{') {
                // Skip to the block's closing brace at the attribute's indentation.
                let indent = &line[..line.len() - trimmed.len()];
                let close = format!("{indent}}}");
                i += 2;
                while i < lines.len() && lines[i] != close {
                    i += 1;
                }
            }
            i += 1;
            continue;
        }
        if !trimmed.starts_with("//") {
            out.push((i + 1, line));
        }
        i += 1;
    }
    out
}

/// Does `line` contain `pattern` not as the tail of a longer identifier (`SeedKind::Redis` is no `Kind::Redis`)?
fn names(line: &str, pattern: &str) -> bool {
    line.match_indices(pattern).any(|(i, _)| !line[..i].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_'))
}

/// Every `file:line: pattern` outside `src/preset/` naming a preset.
fn naming_sites(root: &Path) -> Vec<(String, usize, String)> {
    let patterns = patterns();
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    let mut out = Vec::new();
    for f in files {
        let rel = f.strip_prefix(root).unwrap_or(&f).to_string_lossy().replace('\\', "/");
        if rel.starts_with("src/preset/") || is_test_file(&rel) {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&f) else { continue };
        for (n, line) in code_lines(&text) {
            if let Some(p) = patterns.iter().find(|p| names(line, p)) {
                out.push((rel.clone(), n, p.clone()));
            }
        }
    }
    out
}

#[test]
fn no_file_outside_src_preset_names_a_preset() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let sites = naming_sites(root);
    let mut files: Vec<&str> = sites.iter().map(|(f, _, _)| f.as_str()).collect();
    files.dedup();
    let offending: Vec<String> =
        sites.iter().filter(|(f, _, _)| !ALLOWED.contains(&f.as_str())).map(|(f, n, p)| format!("  {f}:{n}: names `{p}`")).collect();
    assert!(
        offending.is_empty(),
        "{} file(s) outside src/preset/ name a specific preset (allowed: {ALLOWED:?}); dispatch through `Kind::preset()` instead:\n{}",
        files.len(),
        offending.join("\n")
    );
}

#[test]
fn the_scan_sees_what_it_looks_for() {
    // The detector itself: a planted line is found, a comment and a test block are not.
    let text = "fn a() { let k = Kind::Postgres; }\nlet s = SeedKind::Redis;\n// Kind::Redis in a comment\n#[cfg(test)]\nmod tests {\n    fn b() { Kind::Kafka; }\n}\nfn c() {}\n";
    let lines: Vec<usize> = code_lines(text).into_iter().filter(|(_, l)| patterns().iter().any(|p| names(l, p))).map(|(n, _)| n).collect();
    assert_eq!(lines, vec![1]);
    assert!(patterns().iter().any(|p| p == "POSTGRES_USER" || p == "POSTGRES_"));
}

#[test]
fn every_preset_is_one_file_in_the_registry() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    assert_eq!(preset::NAMES.len(), preset::ALL.len());
    for (name, kind) in preset::NAMES.iter().zip(preset::ALL) {
        assert!(root.join("src/preset").join(format!("{name}.rs")).is_file(), "src/preset/{name}.rs");
        assert_eq!(Kind::parse(name), Some(*kind));
        assert_eq!(kind.name(), *name);
        assert!(kind.preset().seed_kinds().contains(&"exec"), "{name}: every service takes `exec` seeds");
    }
}
