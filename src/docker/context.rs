//! The build context: a tar of the context directory, honouring `.dockerignore`.

use std::path::{Path, PathBuf};

use super::DockerError;

/// One `.dockerignore` rule.
#[derive(Debug, Clone)]
struct Rule {
    negate: bool,
    pattern: Vec<String>,
}

fn parse_dockerignore(text: &str) -> Vec<Rule> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (negate, p) = match l.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, l),
            };
            let p = p.trim_start_matches("./").trim_start_matches('/').trim_end_matches('/');
            Rule { negate, pattern: p.split('/').filter(|s| !s.is_empty()).map(str::to_string).collect() }
        })
        .filter(|r| !r.pattern.is_empty())
        .collect()
}

/// Glob match of one path segment (`*`, `?`).
fn seg_match(pat: &str, s: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pat.chars().collect(), s.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(sp) = star {
            pi = sp + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// Does `pattern` (segments, `**` = any number of segments) match `path` or one of its parents?
fn path_match(pattern: &[String], path: &[&str]) -> bool {
    match pattern.first() {
        None => true, // pattern consumed: matches this path and everything under it
        Some(p) if p == "**" => (0..=path.len()).any(|i| path_match(&pattern[1..], &path[i..])),
        Some(p) => !path.is_empty() && seg_match(p, path[0]) && path_match(&pattern[1..], &path[1..]),
    }
}

/// Is `rel` (slash-separated, relative to the context) excluded?
pub fn ignored(rules: &[impl AsRef<str>], rel: &str) -> bool {
    let parsed = parse_dockerignore(&rules.iter().map(|r| r.as_ref()).collect::<Vec<_>>().join("\n"));
    is_ignored(&parsed, rel)
}

fn is_ignored(rules: &[Rule], rel: &str) -> bool {
    let segs: Vec<&str> = rel.split('/').filter(|s| !s.is_empty()).collect();
    let mut out = false;
    for r in rules {
        if path_match(&r.pattern, &segs) {
            out = !r.negate;
        }
    }
    out
}

/// Tar the context directory (uncompressed), skipping `.dockerignore`d paths
/// but always keeping the Dockerfile. Symlinks are stored as links, not followed.
pub fn build_context_tar(context: &Path, dockerfile: &str) -> Result<Vec<u8>, DockerError> {
    build_context_tar_with(context, dockerfile, None)
}

/// [`build_context_tar`], plus an inline Dockerfile's `text` as the entry named
/// `dockerfile` (replacing a context file of that name).
pub fn build_context_tar_with(context: &Path, dockerfile: &str, inline: Option<&str>) -> Result<Vec<u8>, DockerError> {
    let rules = std::fs::read_to_string(context.join(".dockerignore")).map(|t| parse_dockerignore(&t)).unwrap_or_default();
    let mut builder = tar::Builder::new(Vec::new());
    builder.follow_symlinks(false);
    let mut stack: Vec<PathBuf> = vec![context.to_path_buf()];
    let ctx_err = |e: std::io::Error, p: &Path| DockerError::Context { service: None, path: p.display().to_string(), source: std::sync::Arc::new(e) };
    while let Some(dir) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&dir).map_err(|e| ctx_err(e, &dir))?.filter_map(Result::ok).collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let path = entry.path();
            let Ok(rel) = path.strip_prefix(context) else { continue };
            let rel_s = rel.to_string_lossy().replace('\\', "/");
            let is_dockerfile = rel_s == dockerfile.trim_start_matches("./");
            if is_dockerfile && inline.is_some() {
                continue;
            }
            let ft = entry.file_type().map_err(|e| ctx_err(e, &path))?;
            if !is_dockerfile && is_ignored(&rules, &rel_s) {
                // A negated rule may re-include something below an ignored directory.
                if !(ft.is_dir() && rules.iter().any(|r| r.negate)) {
                    continue;
                }
            }
            if ft.is_dir() {
                builder.append_dir(rel, &path).map_err(|e| ctx_err(e, &path))?;
                stack.push(path);
            } else {
                builder.append_path_with_name(&path, rel).map_err(|e| ctx_err(e, &path))?;
            }
        }
    }
    if let Some(text) = inline {
        let mut header = tar::Header::new_gnu();
        header.set_size(text.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append_data(&mut header, dockerfile.trim_start_matches("./"), text.as_bytes()).map_err(|e| ctx_err(e, context))?;
    }
    builder.into_inner().map_err(|e| ctx_err(e, context))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_inline_dockerfile_is_added_under_its_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), "a").unwrap();
        std::fs::write(dir.path().join(".inline.Dockerfile"), "stale").unwrap();
        let tar = build_context_tar_with(dir.path(), ".inline.Dockerfile", Some("FROM x\n")).unwrap();
        let mut archive = tar::Archive::new(&tar[..]);
        let mut files = std::collections::BTreeMap::new();
        for e in archive.entries().unwrap() {
            let mut e = e.unwrap();
            let mut text = String::new();
            std::io::Read::read_to_string(&mut e, &mut text).unwrap();
            files.insert(e.path().unwrap().display().to_string(), text);
        }
        assert_eq!(files.get(".inline.Dockerfile").map(String::as_str), Some("FROM x\n"), "{files:?}");
        assert_eq!(files.len(), 2, "the context file of that name is replaced: {files:?}");
    }

    #[test]
    fn dockerignore_rules() {
        let rules = ["node_modules", "*.log", "!keep.log", "**/tmp", "docs/*.md"];
        assert!(ignored(&rules, "node_modules"));
        assert!(ignored(&rules, "node_modules/x/y.js"));
        assert!(ignored(&rules, "a.log"));
        assert!(!ignored(&rules, "keep.log"));
        assert!(ignored(&rules, "src/deep/tmp/file"));
        assert!(ignored(&rules, "docs/readme.md"));
        assert!(!ignored(&rules, "docs/sub/readme.md"));
        assert!(!ignored(&rules, "src/main.rs"));
    }

    #[test]
    fn context_tar_skips_ignored_but_keeps_dockerfile() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").expect("write");
        std::fs::write(dir.path().join(".dockerignore"), "*\n!app.py\n").expect("write");
        std::fs::write(dir.path().join("app.py"), "print(1)\n").expect("write");
        std::fs::write(dir.path().join("secret.env"), "X=1\n").expect("write");
        let tar_bytes = build_context_tar(dir.path(), "Dockerfile").expect("tar");
        let mut archive = tar::Archive::new(&tar_bytes[..]);
        let mut names: Vec<String> =
            archive.entries().expect("entries").filter_map(Result::ok).map(|e| e.path().expect("path").display().to_string()).collect();
        names.sort();
        assert_eq!(names, vec!["Dockerfile", "app.py"]);
    }
}
