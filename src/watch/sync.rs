//! The sync plan (what to copy, what to delete, where it goes in the
//! container) and the tar stream that carries it.
//!
//! Safety: every tar entry name is the rule's `target` joined with a path
//! made only of normal components, checked again when the tar is written, so
//! nothing can land outside `target`. Symlinks are stored as links (never
//! followed); a link pointing outside the watched tree is skipped. Every
//! directory between `target` and an entry is written as its own directory
//! entry before it, so extraction never follows a symlink the *container*
//! holds there: uploaded with `noOverwriteDirNonDir`, Docker refuses to put a
//! directory where the container has a symlink or file (see `docker::sync`).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

use super::rules::Rule;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    Symlink(PathBuf),
}

/// One thing to copy: host path → tar entry name (relative to `/` in the container).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub host: PathBuf,
    pub name: String,
    pub kind: EntryKind,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncPlan {
    /// Keyed by entry name (deduplicated, parents before children).
    pub entries: BTreeMap<String, Entry>,
    /// Absolute container paths to remove.
    pub deletes: Vec<String>,
    /// Warnings: paths not synced and why.
    pub skipped: Vec<String>,
    /// The directories strictly between a rule's `target` and its entries
    /// (name → host directory), written as directory entries before them.
    pub parents: BTreeMap<String, PathBuf>,
    /// The directories strictly between a rule's `target` and each deletion
    /// (absolute container paths): a deletion below one that is a symlink in
    /// the container is not made (`rm` would follow it).
    pub delete_guards: BTreeSet<String>,
}

impl SyncPlan {
    pub fn files(&self) -> usize {
        self.entries.values().filter(|e| e.kind != EntryKind::Dir).count()
    }
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.deletes.is_empty()
    }
    /// Size of the files to copy (as they are now).
    pub fn bytes(&self) -> u64 {
        self.entries.values().filter(|e| e.kind == EntryKind::File).filter_map(|e| std::fs::metadata(&e.host).ok()).map(|m| m.len()).sum()
    }
    pub fn merge(&mut self, other: SyncPlan) {
        self.entries.extend(other.entries);
        for d in other.deletes {
            if !self.deletes.contains(&d) {
                self.deletes.push(d);
            }
        }
        self.skipped.extend(other.skipped);
        self.parents.extend(other.parents);
        self.delete_guards.extend(other.delete_guards);
    }
}

/// Is `name` a relative path of normal components only (no `..`, no root, no `.`)?
pub fn safe_name(name: &str) -> bool {
    !name.is_empty() && Path::new(name).components().all(|c| matches!(c, Component::Normal(_))) && !name.split('/').any(|s| s == ".." || s == ".")
}

/// Where `path` (under `root`) goes in the container, below `target`.
pub fn container_path(root: &Path, target: &str, path: &Path) -> Result<String, String> {
    if !target.starts_with('/') || target.split('/').any(|s| s == "..") {
        return Err(format!("target {target:?} is not a clean absolute path"));
    }
    let rel = path.strip_prefix(root).map_err(|_| format!("{} is not under {}", path.display(), root.display()))?;
    let mut out = target.trim_end_matches('/').to_string();
    for c in rel.components() {
        match c {
            Component::Normal(s) => {
                let s = s.to_str().ok_or_else(|| format!("{} is not valid UTF-8", path.display()))?;
                out.push('/');
                out.push_str(s);
            }
            _ => return Err(format!("{} escapes the watched tree", path.display())),
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    Ok(out)
}

/// Lexically normalize (`a/b/../c` → `a/c`) without touching the filesystem.
fn lexical(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

fn modified_after(m: &std::fs::Metadata, since: Option<SystemTime>) -> bool {
    match (since, m.modified()) {
        (Some(s), Ok(t)) => t > s,
        _ => true,
    }
}

/// Plan the sync of `changed` paths (absolute) for a `sync`/`restart` rule.
/// Paths that no longer exist become deletions; directories are walked.
/// With `since`, only files modified after it are copied (the initial sync).
pub fn plan(rule: &Rule, changed: &[PathBuf], since: Option<SystemTime>) -> SyncPlan {
    let mut out = SyncPlan::default();
    let Some(target) = rule.target.as_deref() else { return out };
    for path in changed {
        if !rule.contains(path) || rule.ignored(path) && path != &rule.root {
            continue;
        }
        let dest = match container_path(&rule.root, target, path) {
            Ok(d) => d,
            Err(e) => {
                out.skipped.push(e);
                continue;
            }
        };
        match std::fs::symlink_metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if !out.deletes.contains(&dest) {
                    out.deletes.push(dest);
                }
            }
            Err(e) => out.skipped.push(format!("{}: {e}", path.display())),
            Ok(m) => add(rule, path, &dest, &m, since, &mut out),
        }
    }
    // A deletion inside a deleted directory is implied.
    let all = out.deletes.clone();
    out.deletes.retain(|d| !all.iter().any(|o| o != d && d.starts_with(&format!("{o}/"))));
    out.parents = parents(&out.entries, target);
    out.delete_guards = delete_guards(&out.deletes, target);
    out
}

/// The directories strictly between `target` and each deletion.
fn delete_guards(deletes: &[String], target: &str) -> BTreeSet<String> {
    let base = format!("{}/", target.trim_end_matches('/'));
    let mut out = BTreeSet::new();
    for d in deletes {
        let mut path = d.as_str();
        while let Some((parent, _)) = path.rsplit_once('/') {
            if !parent.starts_with(&base) {
                break;
            }
            out.insert(parent.to_string());
            path = parent;
        }
    }
    out
}

/// `deletes` split into those to make and those below one of `links`
/// (directories the container holds as symlinks): (kept, refused).
pub fn split_deletes(deletes: &[String], links: &[String]) -> (Vec<String>, Vec<String>) {
    deletes.iter().cloned().partition(|d| !links.iter().any(|l| d.starts_with(&format!("{l}/"))))
}

/// Every directory strictly below `target` that holds an entry: name → host directory.
fn parents(entries: &BTreeMap<String, Entry>, target: &str) -> BTreeMap<String, PathBuf> {
    let base = format!("{}/", target.trim_matches('/'));
    let mut out = BTreeMap::new();
    for e in entries.values() {
        let (mut name, mut host) = (e.name.as_str(), e.host.as_path());
        while let (Some((parent, _)), Some(host_parent)) = (name.rsplit_once('/'), host.parent()) {
            if !parent.starts_with(&base) || !safe_name(parent) {
                break;
            }
            out.insert(parent.to_string(), host_parent.to_path_buf());
            (name, host) = (parent, host_parent);
        }
    }
    out
}

fn add(rule: &Rule, path: &Path, dest: &str, m: &std::fs::Metadata, since: Option<SystemTime>, out: &mut SyncPlan) {
    let name = dest.trim_start_matches('/').to_string();
    let ft = m.file_type();
    if ft.is_symlink() {
        let Ok(link) = std::fs::read_link(path) else { return };
        let resolved = lexical(&path.parent().unwrap_or(Path::new("/")).join(&link));
        if link.is_absolute() || !resolved.starts_with(&rule.root) {
            out.skipped.push(format!("{} is a symlink to {} outside the watched tree: not followed", path.display(), link.display()));
            return;
        }
        if modified_after(m, since) && safe_name(&name) {
            out.entries.insert(name.clone(), Entry { host: path.to_path_buf(), name, kind: EntryKind::Symlink(link) });
        }
    } else if ft.is_dir() {
        if safe_name(&name) && since.is_none() {
            out.entries.insert(name.clone(), Entry { host: path.to_path_buf(), name, kind: EntryKind::Dir });
        }
        let Ok(rd) = std::fs::read_dir(path) else {
            out.skipped.push(format!("{}: cannot read directory", path.display()));
            return;
        };
        let mut children: Vec<_> = rd.filter_map(Result::ok).collect();
        children.sort_by_key(|e| e.file_name());
        for child in children {
            let p = child.path();
            if rule.ignored(&p) {
                continue;
            }
            let Ok(cm) = std::fs::symlink_metadata(&p) else { continue };
            let Some(fname) = p.file_name().and_then(|n| n.to_str()) else {
                out.skipped.push(format!("{}: name is not valid UTF-8", p.display()));
                continue;
            };
            let child_dest = format!("{}/{fname}", dest.trim_end_matches('/'));
            add(rule, &p, &child_dest, &cm, since, out);
        }
    } else if ft.is_file() {
        if modified_after(m, since) && safe_name(&name) {
            out.entries.insert(name.clone(), Entry { host: path.to_path_buf(), name, kind: EntryKind::File });
        }
    } else {
        out.skipped.push(format!("{}: not a regular file, directory or symlink", path.display()));
    }
}

/// The container path Docker refused to replace with a directory (a symlink
/// or a file where the tar has a directory), from its upload error
/// (`cannot overwrite non-directory "/srv/site/sub" with directory "/"`).
pub fn not_a_directory_in_container(error: &str) -> Option<&str> {
    let rest = &error[error.find("cannot overwrite non-directory \"")? + "cannot overwrite non-directory \"".len()..];
    rest.split_once('"').map(|(path, _)| path)
}

/// What went into a tar stream.
#[derive(Debug, Clone, Default)]
pub struct Written {
    pub files: usize,
    pub bytes: u64,
    /// Files that disappeared before they could be read (deleted mid-sync).
    pub vanished: Vec<PathBuf>,
}

/// A reader that yields exactly `size` bytes: the file's, then zeros if it
/// shrank while being read (the tar header's size was already written).
struct Exact<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Exact<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let want = buf.len().min(self.left.min(usize::MAX as u64) as usize);
        let n = match self.inner.read(&mut buf[..want]) {
            Ok(0) | Err(_) => {
                buf[..want].fill(0);
                want
            }
            Ok(n) => n,
        };
        self.left -= n as u64;
        Ok(n)
    }
}

/// The plan's entries and their parent directories, parents first (a name sorts before the names it prefixes).
pub fn with_parents(plan: &SyncPlan) -> Vec<Entry> {
    let mut all: BTreeMap<&str, Entry> = plan.parents.iter().map(|(n, h)| (n.as_str(), Entry { host: h.clone(), name: n.clone(), kind: EntryKind::Dir })).collect();
    all.extend(plan.entries.iter().map(|(n, e)| (n.as_str(), e.clone())));
    all.into_values().collect()
}

/// Write the plan's entries as a tar stream (names relative to `/`), keeping
/// modes; every directory between `target` and an entry is a directory entry.
pub fn write_tar<W: Write>(plan: &SyncPlan, w: W) -> std::io::Result<Written> {
    let mut b = tar::Builder::new(w);
    b.follow_symlinks(false);
    let mut out = Written::default();
    for e in with_parents(plan) {
        if !safe_name(&e.name) {
            continue;
        }
        let mut h = tar::Header::new_gnu();
        match &e.kind {
            EntryKind::Dir => {
                match std::fs::metadata(&e.host) {
                    Ok(m) => h.set_metadata_in_mode(&m, tar::HeaderMode::Complete),
                    // Gone from the host meanwhile: still a directory entry, so nothing below follows a link.
                    Err(_) => h.set_mode(0o755),
                }
                h.set_entry_type(tar::EntryType::Directory);
                h.set_size(0);
                h.set_uid(0);
                h.set_gid(0);
                b.append_data(&mut h, &e.name, std::io::empty())?;
            }
            EntryKind::Symlink(link) => {
                let Ok(m) = std::fs::symlink_metadata(&e.host) else { continue };
                h.set_metadata_in_mode(&m, tar::HeaderMode::Complete);
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_size(0);
                h.set_uid(0);
                h.set_gid(0);
                b.append_link(&mut h, &e.name, link)?;
            }
            EntryKind::File => {
                let file = match std::fs::File::open(&e.host) {
                    Ok(f) => f,
                    Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                        out.vanished.push(e.host.clone());
                        continue;
                    }
                    Err(_) => {
                        out.vanished.push(e.host.clone());
                        continue;
                    }
                };
                let Ok(m) = file.metadata() else { continue };
                h.set_metadata_in_mode(&m, tar::HeaderMode::Complete);
                h.set_entry_type(tar::EntryType::Regular);
                h.set_uid(0);
                h.set_gid(0);
                let size = m.len();
                h.set_size(size);
                b.append_data(&mut h, &e.name, Exact { inner: file, left: size })?;
                out.files += 1;
                out.bytes += size;
            }
        }
    }
    b.finish()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::rules::canonical;
    use super::*;
    use crate::config::WatchAction;
    use crate::plan::resolve::ResolvedWatch;

    fn rule(root: &Path, target: &str, ignore: &[&str]) -> Rule {
        let w = ResolvedWatch {
            path: root.to_path_buf(),
            target: Some(target.into()),
            action: WatchAction::Sync,
            ignore: ignore.iter().map(|s| s.to_string()).collect(),
            exec: None,
        };
        Rule::new("api", 0, &w, None)
    }

    fn names(tar_bytes: &[u8]) -> Vec<(String, u32, tar::EntryType)> {
        let mut a = tar::Archive::new(tar_bytes);
        a.entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (e.path().unwrap().display().to_string(), e.header().mode().unwrap() & 0o777, e.header().entry_type())
            })
            .collect()
    }

    #[test]
    fn container_paths_stay_under_target() {
        let root = Path::new("/p/src");
        assert_eq!(container_path(root, "/app/src", Path::new("/p/src/a/b.py")).unwrap(), "/app/src/a/b.py");
        assert_eq!(container_path(root, "/app/src/", Path::new("/p/src")).unwrap(), "/app/src");
        assert!(container_path(root, "/app", Path::new("/p/other")).is_err());
        assert!(container_path(root, "/app/../etc", Path::new("/p/src/x")).is_err());
        assert!(container_path(root, "app", Path::new("/p/src/x")).is_err());
        assert!(container_path(root, "/app", Path::new("/p/src/../../etc/passwd")).is_err());
        assert!(safe_name("app/src/x"));
        for bad in ["", "/etc/passwd", "app/../../etc", "..", "./x", "a/./b"] {
            assert!(!safe_name(bad), "{bad}");
        }
    }

    #[test]
    fn plan_copies_walks_and_deletes() {
        let dir = tempfile::tempdir().unwrap();
        let root = canonical(dir.path());
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::write(root.join("a/b/c.py"), "x").unwrap();
        std::fs::write(root.join("a/b/.c.py.swp"), "x").unwrap();
        std::fs::write(root.join("a/b/debug.log"), "x").unwrap();
        std::fs::write(root.join("top.txt"), "x").unwrap();
        let r = rule(&root, "/app", &["*.log"]);
        let p = plan(&r, &[root.join("a"), root.join("top.txt"), root.join("gone.txt"), root.join("gone.txt"), root.join("x.log")], None);
        let keys: Vec<&str> = p.entries.keys().map(String::as_str).collect();
        assert_eq!(keys, vec!["app/a", "app/a/b", "app/a/b/c.py", "app/top.txt"]);
        assert_eq!(p.deletes, vec!["/app/gone.txt"]);
        assert_eq!(p.files(), 2);
    }

    #[test]
    fn nested_deletions_fold_into_the_parent() {
        let dir = tempfile::tempdir().unwrap();
        let root = canonical(dir.path());
        let r = rule(&root, "/app", &[]);
        let p = plan(&r, &[root.join("d/x"), root.join("d"), root.join("d/y/z")], None);
        assert_eq!(p.deletes, vec!["/app/d"]);
    }

    #[test]
    fn symlinks_outside_the_tree_are_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let root = canonical(&dir.path().join("w"));
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(root.join("real.txt"), "x").unwrap();
        std::os::unix::fs::symlink("real.txt", root.join("inside")).unwrap();
        std::os::unix::fs::symlink("../../../etc/passwd", root.join("outside")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", root.join("absolute")).unwrap();
        let r = rule(&root, "/app", &[]);
        let p = plan(&r, std::slice::from_ref(&root), None);
        assert!(p.entries.contains_key("app/inside"));
        assert_eq!(p.entries["app/inside"].kind, EntryKind::Symlink(PathBuf::from("real.txt")));
        assert!(!p.entries.contains_key("app/outside"));
        assert!(!p.entries.contains_key("app/absolute"));
        assert_eq!(p.skipped.len(), 2, "{:?}", p.skipped);
        let mut buf = Vec::new();
        write_tar(&p, &mut buf).unwrap();
        let n = names(&buf);
        assert!(n.iter().any(|(name, _, t)| name == "app/inside" && *t == tar::EntryType::Symlink));
        assert!(!n.iter().any(|(name, _, _)| name.contains("passwd")));
    }

    #[test]
    fn tar_keeps_modes_and_survives_files_deleted_mid_sync() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let root = canonical(dir.path());
        std::fs::write(root.join("run.sh"), "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(root.join("run.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(root.join("gone.txt"), "soon gone").unwrap();
        let r = rule(&root, "/app", &[]);
        let p = plan(&r, &[root.join("run.sh"), root.join("gone.txt")], None);
        std::fs::remove_file(root.join("gone.txt")).unwrap();
        let mut buf = Vec::new();
        let w = write_tar(&p, &mut buf).unwrap();
        assert_eq!(w.files, 1);
        assert_eq!(w.vanished, vec![root.join("gone.txt")]);
        assert_eq!(names(&buf), vec![("app/run.sh".to_string(), 0o755, tar::EntryType::Regular)]);
    }

    #[test]
    fn a_file_that_shrinks_while_read_still_makes_a_valid_tar() {
        let mut out = Vec::new();
        let mut r = Exact { inner: &b"abc"[..], left: 6 };
        r.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"abc\0\0\0");
    }

    #[test]
    fn initial_sync_copies_only_newer_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = canonical(dir.path());
        std::fs::write(root.join("old.txt"), "x").unwrap();
        let since = SystemTime::now() + std::time::Duration::from_millis(10);
        std::thread::sleep(std::time::Duration::from_millis(30));
        std::fs::create_dir_all(root.join("n")).unwrap();
        std::fs::write(root.join("n/new.txt"), "x").unwrap();
        let r = rule(&root, "/app", &[]);
        let p = plan(&r, std::slice::from_ref(&root), Some(since));
        let keys: Vec<&str> = p.entries.keys().map(String::as_str).collect();
        assert_eq!(keys, vec!["app/n/new.txt"]);
    }

    #[test]
    fn a_single_file_rule_targets_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let root = canonical(dir.path());
        std::fs::write(root.join("conf.ini"), "x").unwrap();
        let r = rule(&root.join("conf.ini"), "/etc/app.ini", &[]);
        let p = plan(&r, &[root.join("conf.ini")], None);
        assert_eq!(p.entries.keys().collect::<Vec<_>>(), vec!["etc/app.ini"]);
    }

    #[test]
    fn every_directory_between_target_and_an_entry_is_a_directory_entry() {
        let dir = tempfile::tempdir().unwrap();
        let root = canonical(dir.path());
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::write(root.join("a/b/c.py"), "x").unwrap();
        std::os::unix::fs::symlink("c.py", root.join("a/b/l")).unwrap();
        let r = rule(&root, "/srv/site", &[]);
        let p = plan(&r, &[root.join("a/b/c.py"), root.join("a/b/l")], None);
        assert_eq!(p.entries.keys().collect::<Vec<_>>(), vec!["srv/site/a/b/c.py", "srv/site/a/b/l"]);
        assert_eq!(p.parents.keys().collect::<Vec<_>>(), vec!["srv/site/a", "srv/site/a/b"], "not target itself, nor above it");
        let mut buf = Vec::new();
        write_tar(&p, &mut buf).unwrap();
        let n: Vec<(String, tar::EntryType)> = names(&buf).into_iter().map(|(name, _, t)| (name, t)).collect();
        assert_eq!(
            n,
            vec![
                ("srv/site/a".into(), tar::EntryType::Directory),
                ("srv/site/a/b".into(), tar::EntryType::Directory),
                ("srv/site/a/b/c.py".into(), tar::EntryType::Regular),
                ("srv/site/a/b/l".into(), tar::EntryType::Symlink),
            ],
            "parents come first, as directories"
        );
        // A parent that vanished from the host is still a directory entry.
        std::fs::remove_dir_all(root.join("a")).unwrap();
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::write(root.join("a/b/c.py"), "x").unwrap();
        let mut p = plan(&r, &[root.join("a/b/c.py")], None);
        p.parents.insert("srv/site/gone".into(), root.join("gone"));
        let mut buf = Vec::new();
        write_tar(&p, &mut buf).unwrap();
        assert!(names(&buf).contains(&("srv/site/gone".into(), 0o755, tar::EntryType::Directory)));
    }

    #[test]
    fn docker_refusing_to_replace_a_symlink_names_the_path() {
        let e = "copy files into container ba11475b4a5e: Error processing tar file(exit status 1): cannot overwrite non-directory \"/srv/site/sub\" with directory \"/\"";
        assert_eq!(not_a_directory_in_container(e), Some("/srv/site/sub"));
        assert_eq!(not_a_directory_in_container("no such container"), None);
    }

    #[test]
    fn deletions_below_a_directory_are_guarded_against_container_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let root = canonical(dir.path());
        let r = rule(&root, "/srv/site", &[]);
        let p = plan(&r, &[root.join("sub/deeper/x.txt"), root.join("top.txt")], None);
        assert_eq!(p.deletes, vec!["/srv/site/sub/deeper/x.txt", "/srv/site/top.txt"]);
        assert_eq!(p.delete_guards.iter().collect::<Vec<_>>(), vec!["/srv/site/sub", "/srv/site/sub/deeper"]);
        let (kept, refused) = split_deletes(&p.deletes, &["/srv/site/sub".to_string()]);
        assert_eq!((kept, refused), (vec!["/srv/site/top.txt".to_string()], vec!["/srv/site/sub/deeper/x.txt".to_string()]));
    }
}
