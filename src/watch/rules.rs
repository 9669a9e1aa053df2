//! Which watch rule a changed host path belongs to, and what is ignored.
//!
//! Pure apart from reading each build context's `.dockerignore` once, when the
//! matcher is built.

use std::path::{Component, Path, PathBuf};

use crate::config::WatchAction;
use crate::plan::resolve::ResolvedWatch;
use crate::plan::Plan;

/// One rule of one service, ready to match.
#[derive(Debug, Clone)]
pub struct Rule {
    pub service: String,
    /// Index in the service's `watch:` list.
    pub index: usize,
    /// The watched host path (absolute; canonical when it exists).
    pub root: PathBuf,
    pub target: Option<String>,
    pub action: WatchAction,
    pub exec: Option<Vec<String>>,
    ignore: Vec<glob::Pattern>,
    /// Build context root and its `.dockerignore` lines.
    dockerignore: Option<(PathBuf, Vec<String>)>,
}

/// Editor temp files and VCS internals, ignored by default: vim swap files
/// and its `4913` probe, `~` backups, emacs lock/auto-save files, JetBrains
/// safe-write files, `.git/`.
pub fn default_ignored(rel: &Path) -> bool {
    for c in rel.components() {
        if let Component::Normal(s) = c {
            let s = s.to_string_lossy();
            if s == ".git" {
                return true;
            }
        }
    }
    let Some(name) = rel.file_name().map(|n| n.to_string_lossy().to_string()) else { return false };
    name.ends_with(".swp")
        || name.ends_with(".swo")
        || name.ends_with(".swx")
        || name == "4913"
        || name.ends_with('~')
        || name.starts_with(".#")
        || (name.starts_with('#') && name.ends_with('#') && name.len() > 1)
        || name.ends_with("___jb_tmp___")
        || name.ends_with("___jb_old___")
        || name == ".DS_Store"
}

/// Canonical form of `p` if it exists, else `p` with its deepest existing ancestor canonicalized.
pub fn canonical(p: &Path) -> PathBuf {
    if let Ok(c) = p.canonicalize() {
        return c;
    }
    let mut tail = Vec::new();
    let mut cur = p.to_path_buf();
    while let Some(parent) = cur.parent().map(Path::to_path_buf) {
        if let Some(name) = cur.file_name() {
            tail.push(name.to_os_string());
        }
        if let Ok(c) = parent.canonicalize() {
            let mut out = c;
            for t in tail.iter().rev() {
                out.push(t);
            }
            return out;
        }
        cur = parent;
    }
    p.to_path_buf()
}

impl Rule {
    pub fn new(service: &str, index: usize, w: &ResolvedWatch, build_context: Option<&Path>) -> Rule {
        let ignore = w.ignore.iter().filter_map(|g| glob::Pattern::new(g.trim_start_matches("./").trim_end_matches('/')).ok()).collect();
        let dockerignore = build_context.map(|ctx| {
            let lines = std::fs::read_to_string(ctx.join(".dockerignore")).map(|t| t.lines().map(str::to_string).collect()).unwrap_or_default();
            (canonical(ctx), lines)
        });
        Rule {
            service: service.to_string(),
            index,
            root: canonical(&w.path),
            target: w.target.clone(),
            action: w.action,
            exec: w.exec.clone(),
            ignore,
            dockerignore,
        }
    }

    /// Is `path` (absolute) under this rule's root?
    pub fn contains(&self, path: &Path) -> bool {
        path.starts_with(&self.root)
    }

    /// Is `path` (under the root) ignored by default, by `ignore` or by the build context's `.dockerignore`?
    pub fn ignored(&self, path: &Path) -> bool {
        let Ok(rel) = path.strip_prefix(&self.root) else { return true };
        if default_ignored(rel) {
            return true;
        }
        let rel_s = rel.to_string_lossy().replace('\\', "/");
        let opts = glob::MatchOptions { case_sensitive: true, require_literal_separator: false, require_literal_leading_dot: false };
        for pat in &self.ignore {
            // A pattern matches the path, one of its parent directories, or (without `/`) any file name.
            let mut prefix = PathBuf::new();
            for c in rel.components() {
                prefix.push(c);
                if pat.matches_path_with(&prefix, opts) {
                    return true;
                }
                if !pat.as_str().contains('/') && pat.matches_with(&c.as_os_str().to_string_lossy(), opts) {
                    return true;
                }
            }
            if pat.matches_with(&rel_s, opts) {
                return true;
            }
        }
        if let Some((ctx, lines)) = &self.dockerignore
            && let Ok(rel_ctx) = path.strip_prefix(ctx)
        {
            let rel_ctx = rel_ctx.to_string_lossy().replace('\\', "/");
            if !rel_ctx.is_empty() && crate::docker::dockerignored(lines, &rel_ctx) {
                return true;
            }
        }
        false
    }
}

/// Every rule of the watched services.
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    pub rules: Vec<Rule>,
}

impl Matcher {
    /// Rules of `services` (all services with rules when empty).
    pub fn from_plan(plan: &Plan, services: &[String]) -> Matcher {
        let mut rules = Vec::new();
        for (name, svc) in &plan.services {
            if !services.is_empty() && !services.contains(name) {
                continue;
            }
            for (i, w) in svc.watch.iter().enumerate() {
                rules.push(Rule::new(name, i, w, svc.build.as_ref().map(|b| b.context.as_path())));
            }
        }
        Matcher { rules }
    }

    /// The rules a changed path belongs to: per service, the one with the
    /// deepest root containing the path, unless that rule ignores it.
    /// Returns indexes into `rules`.
    pub fn matches(&self, path: &Path) -> Vec<usize> {
        let mut best: Vec<(String, usize, usize)> = Vec::new(); // (service, depth, rule)
        for (i, r) in self.rules.iter().enumerate() {
            if !r.contains(path) {
                continue;
            }
            let depth = r.root.components().count();
            match best.iter_mut().find(|(s, _, _)| *s == r.service) {
                Some(b) if b.1 < depth => *b = (r.service.clone(), depth, i),
                Some(_) => {}
                None => best.push((r.service.clone(), depth, i)),
            }
        }
        best.into_iter().filter(|(_, _, i)| !self.rules[*i].ignored(path)).map(|(_, _, i)| i).collect()
    }

    /// Directories to watch: one per root, nested roots folded into their parent.
    /// A file rule watches its parent directory (editors replace files by renaming).
    pub fn watch_roots(&self) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = self
            .rules
            .iter()
            .map(|r| if r.root.is_file() { r.root.parent().map(Path::to_path_buf).unwrap_or_else(|| r.root.clone()) } else { r.root.clone() })
            .collect();
        dirs.sort();
        dirs.dedup();
        let mut out: Vec<PathBuf> = Vec::new();
        for d in dirs {
            if !out.iter().any(|o| d.starts_with(o)) {
                out.push(d);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(root: &Path, ignore: &[&str], ctx: Option<&Path>) -> Rule {
        let w = ResolvedWatch {
            path: root.to_path_buf(),
            target: Some("/app".into()),
            action: WatchAction::Sync,
            ignore: ignore.iter().map(|s| s.to_string()).collect(),
            exec: None,
        };
        Rule::new("api", 0, &w, ctx)
    }

    #[test]
    fn editor_temp_files_are_ignored_by_default() {
        for p in ["a/.main.rs.swp", "x.swo", "4913", "notes.txt~", ".#foo.el", "#foo.el#", "a.py___jb_tmp___", "b.py___jb_old___", ".git/HEAD", "sub/.git/index"] {
            assert!(default_ignored(Path::new(p)), "{p}");
        }
        for p in ["main.rs", "swp.txt", "a/b/c.py", "#notes", "4913.txt", ".gitignore"] {
            assert!(!default_ignored(Path::new(p)), "{p}");
        }
    }

    #[test]
    fn ignore_globs_match_files_and_directories() {
        let dir = tempfile::tempdir().unwrap();
        let root = canonical(dir.path());
        let r = rule(&root, &["*.log", "node_modules", "build/**", "docs/*.md"], None);
        assert!(r.ignored(&root.join("a.log")));
        assert!(r.ignored(&root.join("deep/x/a.log")));
        assert!(r.ignored(&root.join("node_modules/x/index.js")));
        assert!(r.ignored(&root.join("build/out/a.o")));
        assert!(r.ignored(&root.join("docs/readme.md")));
        assert!(!r.ignored(&root.join("docs/sub.txt")));
        assert!(!r.ignored(&root.join("src/main.py")));
        assert!(r.ignored(&root.join("src/.main.py.swp")));
    }

    #[test]
    fn dockerignore_of_the_build_context_applies() {
        let dir = tempfile::tempdir().unwrap();
        let root = canonical(dir.path());
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::write(root.join(".dockerignore"), "**/*.pyc\nsecrets\n").unwrap();
        let r = rule(&root.join("src"), &[], Some(&root));
        assert!(r.ignored(&root.join("src/a.pyc")));
        assert!(!r.ignored(&root.join("src/a.py")));
        let r2 = rule(&root, &[], Some(&root));
        assert!(r2.ignored(&root.join("secrets/key")));
    }

    #[test]
    fn deepest_rule_per_service_wins() {
        let dir = tempfile::tempdir().unwrap();
        let root = canonical(dir.path());
        std::fs::create_dir_all(root.join("src/static")).unwrap();
        let mk = |svc: &str, i: usize, p: &Path, ignore: &[&str]| {
            let w = ResolvedWatch {
                path: p.to_path_buf(),
                target: Some("/x".into()),
                action: WatchAction::Sync,
                ignore: ignore.iter().map(|s| s.to_string()).collect(),
                exec: None,
            };
            Rule::new(svc, i, &w, None)
        };
        let m = Matcher {
            rules: vec![mk("api", 0, &root.join("src"), &[]), mk("api", 1, &root.join("src/static"), &["*.css"]), mk("web", 0, &root, &[])],
        };
        assert_eq!(m.matches(&root.join("src/a.py")), vec![0, 2]);
        assert_eq!(m.matches(&root.join("src/static/a.js")), vec![1, 2]);
        // The deepest rule ignores it: the shallower rule of the same service does not take it.
        assert_eq!(m.matches(&root.join("src/static/a.css")), vec![2]);
        assert_eq!(m.matches(&root.join("README")), vec![2]);
        assert!(m.matches(Path::new("/elsewhere/file")).is_empty());
        assert_eq!(m.watch_roots(), vec![root.clone()]);
    }
}
