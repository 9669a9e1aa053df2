//! The file's load warnings (unsupported compose keys, unset variables, …)
//! once per change: a digest of each file's warnings is remembered in a small
//! state file under the user's cache directory (`warnings-shown`, one
//! `<file digest> <warnings digest>` line per environment file). `devenv
//! config` and `--verbose` always show them. When the state cannot be read or
//! written, the warnings are shown (never lost).

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The state file, unless there is no cache directory.
fn state_file() -> Option<PathBuf> {
    directories::ProjectDirs::from("dev", "devenv", "devenv").map(|d| d.cache_dir().join("warnings-shown"))
}

fn digest(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().take(12).map(|b| format!("{b:02x}")).collect()
}

/// Should `warnings` of `file` be shown now? Records them as shown when so.
pub fn first_time(file: &Path, warnings: &[String]) -> bool {
    match state_file() {
        Some(state) => first_time_in(&state, file, warnings),
        None => true,
    }
}

/// `first_time` against a given state file.
pub fn first_time_in(state: &Path, file: &Path, warnings: &[String]) -> bool {
    if warnings.is_empty() {
        return false;
    }
    let key = digest(&file.display().to_string());
    let value = digest(&warnings.join("\n"));
    let text = std::fs::read_to_string(state).unwrap_or_default();
    if text.lines().any(|l| l.split_once(' ') == Some((key.as_str(), value.as_str()))) {
        return false;
    }
    let mut lines: Vec<String> = text.lines().filter(|l| !l.starts_with(&format!("{key} "))).map(str::to_string).collect();
    lines.push(format!("{key} {value}"));
    // Bounded: the newest 500 files.
    let skip = lines.len().saturating_sub(500);
    if let Some(dir) = state.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ = std::fs::write(state, lines[skip..].join("\n") + "\n");
    true
}

#[cfg(test)]
mod tests {
    use super::first_time_in;

    #[test]
    fn shown_once_per_change_per_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = dir.path().join("cache/warnings-shown");
        let (a, b) = (dir.path().join("a/compose.yaml"), dir.path().join("b/compose.yaml"));
        let w = vec!["services.web: `logging` is not supported".to_string()];
        assert!(first_time_in(&state, &a, &w));
        assert!(!first_time_in(&state, &a, &w), "the same warnings again");
        assert!(first_time_in(&state, &b, &w), "another file");
        let changed = vec!["services.web: `mem_limit` is not supported".to_string()];
        assert!(first_time_in(&state, &a, &changed), "the warnings changed");
        assert!(first_time_in(&state, &a, &w), "and back");
        assert!(!first_time_in(&state, &a, &[]), "no warnings: nothing to show");
        assert!(!first_time_in(&state, &b, &w), "b's entry kept");
    }

    #[test]
    fn an_unwritable_state_still_shows_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = dir.path().join("file-not-dir");
        std::fs::write(&state, "").expect("write");
        let w = vec!["x".to_string()];
        let under_a_file = state.join("warnings-shown");
        assert!(first_time_in(&under_a_file, &dir.path().join("f"), &w));
        assert!(first_time_in(&under_a_file, &dir.path().join("f"), &w), "nothing remembered: shown again");
    }
}
