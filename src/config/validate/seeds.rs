//! Seed entries expanded at load: globs matched on disk (one entry per file),
//! paths made absolute, ids given — so planning never touches the disk.
//! Every seed file stays inside the project directory: an absolute path is
//! refused, and so is a file that `..` or a symlink puts outside it.

use std::path::{Path, PathBuf};

use super::ctx::Ctx;
use crate::config::model::{SeedSpec, ServiceSpec};
use crate::seed::entry::{ResolvedSeed, SeedKind};
use crate::yaml::ConfigError;

/// Expand a seed file pattern (relative to `dir`) into files, sorted by name.
/// A pattern without glob characters must name an existing file; every file
/// must be inside `dir` once symlinks are resolved.
pub fn expand_seed_files(pattern: &str, dir: &Path) -> Result<Vec<PathBuf>, String> {
    if Path::new(pattern).has_root() {
        return Err(format!("seed path `{pattern}` is absolute; seed files must be inside the project directory {}", dir.display()));
    }
    let full = dir.join(pattern);
    let is_glob = pattern.contains(['*', '?', '[']);
    if !is_glob {
        return if full.is_file() { confined(vec![full], pattern, dir) } else { Err(format!("seed file {} does not exist", full.display())) };
    }
    let text = full.to_string_lossy().to_string();
    let paths = glob::glob(&text).map_err(|e| format!("invalid glob `{pattern}`: {e}"))?;
    let mut files: Vec<PathBuf> = paths.filter_map(Result::ok).filter(|p| p.is_file()).collect();
    files.sort();
    if files.is_empty() {
        return Err(format!("`{pattern}` matches no file under {}", dir.display()));
    }
    confined(files, pattern, dir)
}

/// `files`, if each one (symlinks resolved) is inside `dir` (symlinks resolved).
fn confined(files: Vec<PathBuf>, pattern: &str, dir: &Path) -> Result<Vec<PathBuf>, String> {
    let root = dir.canonicalize().map_err(|e| format!("cannot resolve the project directory {}: {e}", dir.display()))?;
    for f in &files {
        let real = f.canonicalize().map_err(|e| format!("cannot resolve seed file {}: {e}", f.display()))?;
        if !real.starts_with(&root) {
            return Err(format!("seed path `{pattern}` leads outside the project directory {}: {}", root.display(), real.display()));
        }
    }
    Ok(files)
}

/// The entries of a checked `seed:` list.
pub(super) fn entries(svc: &ServiceSpec, base: &str, ctx: &Ctx) -> Result<Vec<ResolvedSeed>, ConfigError> {
    let mut out = Vec::new();
    for (i, s) in svc.seed.iter().enumerate() {
        entry(s, &format!("{base}.seed[{i}]"), ctx, &mut out)?;
    }
    Ok(out)
}

/// Files of one entry's key: every match of the pattern.
fn many(pattern: &str, path: &str, key: &str, ctx: &Ctx) -> Result<Vec<PathBuf>, ConfigError> {
    expand_seed_files(pattern, ctx.dir)
        .map_err(|m| ctx.error(&format!("{path}.{key}"), m, Some("seed paths are relative to the environment file and stay inside its directory; copy the file into the project".into())))
}

/// A key that takes one file (`messages`, `mappings`, …).
fn one(pattern: &Option<String>, path: &str, key: &str, ctx: &Ctx) -> Result<Option<PathBuf>, ConfigError> {
    let Some(p) = pattern else { return Ok(None) };
    let files = many(p, path, key, ctx)?;
    if files.len() > 1 {
        return Err(ctx.error(&format!("{path}.{key}"), format!("`{p}` matches {} files; `{key}` takes one", files.len()), None));
    }
    Ok(files.into_iter().next())
}

fn entry(s: &SeedSpec, path: &str, ctx: &Ctx, out: &mut Vec<ResolvedSeed>) -> Result<(), ConfigError> {
    let rel = |p: &Path| p.strip_prefix(ctx.dir).unwrap_or(p).display().to_string();
    let table = s.table.clone().unwrap_or_default();
    let files: [(&str, &Option<String>); 4] = [("sql", &s.sql), ("csv", &s.csv), ("jsonl", &s.jsonl), ("redis", &s.redis)];
    if let Some((key, Some(p))) = files.into_iter().find(|(_, p)| p.is_some()) {
        for f in many(p, path, key, ctx)? {
            let (id, kind) = match key {
                "sql" => (format!("sql {}", rel(&f)), SeedKind::Sql { file: f }),
                "csv" => (format!("csv {} -> {table}", rel(&f)), SeedKind::Csv { file: f, table: table.clone() }),
                "jsonl" => (format!("jsonl {} -> {table}", rel(&f)), SeedKind::Jsonl { file: f, table: table.clone() }),
                _ => (format!("redis {}", rel(&f)), SeedKind::Redis { file: f }),
            };
            out.push(ResolvedSeed { id, kind });
        }
    } else if let Some(name) = &s.topic {
        let config = s.config.0.iter().map(|(k, v)| (k.clone(), v.clone().unwrap_or_default())).collect();
        let messages = one(&s.messages, path, "messages", ctx)?;
        let kind = SeedKind::Topic { name: name.clone(), partitions: s.partitions.unwrap_or(1), config, messages };
        out.push(ResolvedSeed { id: format!("topic {name}"), kind });
    } else if let Some(name) = &s.index {
        let mappings = one(&s.mappings, path, "mappings", ctx)?;
        let settings = one(&s.settings, path, "settings", ctx)?;
        let documents = one(&s.documents, path, "documents", ctx)?;
        out.push(ResolvedSeed { id: format!("index {name}"), kind: SeedKind::Index { name: name.clone(), mappings, settings, documents } });
    } else if let Some(cmd) = &s.exec {
        let command = cmd.argv();
        out.push(ResolvedSeed { id: format!("exec {}", command.join(" ")), kind: SeedKind::Exec { command } });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::expand_seed_files;

    #[test]
    fn seed_files_stay_inside_the_project_directory() {
        let outer = tempfile::tempdir().expect("tempdir");
        let dir = outer.path().join("project");
        std::fs::create_dir_all(dir.join("seeds")).expect("mkdir");
        std::fs::write(dir.join("seeds/a.sql"), "select 1;").expect("write");
        std::fs::write(outer.path().join("secret.sql"), "select 2;").expect("write");
        assert_eq!(expand_seed_files("seeds/a.sql", &dir).expect("inside"), vec![dir.join("seeds/a.sql")]);
        assert_eq!(expand_seed_files("seeds/../seeds/*.sql", &dir).expect("inside, through `..`").len(), 1);

        let abs = outer.path().join("secret.sql");
        let e = expand_seed_files(&abs.display().to_string(), &dir).expect_err("absolute");
        assert!(e.contains("is absolute"), "{e}");
        let e = expand_seed_files("../secret.sql", &dir).expect_err("`..` escape");
        assert!(e.contains("outside the project directory"), "{e}");
        let e = expand_seed_files("../*.sql", &dir).expect_err("`..` escape in a glob");
        assert!(e.contains("outside the project directory"), "{e}");

        std::os::unix::fs::symlink(outer.path().join("secret.sql"), dir.join("seeds/link.sql")).expect("symlink");
        let e = expand_seed_files("seeds/link.sql", &dir).expect_err("symlink out");
        assert!(e.contains("outside the project directory"), "{e}");
        let e = expand_seed_files("seeds/*.sql", &dir).expect_err("a glob matching a symlink out");
        assert!(e.contains("link.sql") || e.contains("secret.sql"), "{e}");
    }
}
