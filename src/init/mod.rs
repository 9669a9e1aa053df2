//! init: propose a `devenv.yaml` for an existing repository.
//!
//! Owns: detecting what a repository holds (`detect`: a compose file, app
//! services by their manifests and Dockerfiles, one level of sub-directories),
//! a development Dockerfile for an app without one (`generate`), and the
//! commented file itself (`render`).
//! Must not: print, prompt, or talk to Docker — `cli::init` asks and writes.

pub mod detect;
pub mod dockerfile;
pub mod generate;
pub mod lang;
pub mod render;

pub use detect::{detect, App, Detection, Generated, HealthGuess, Lang, WatchGuess};
pub use render::{app_names, preset_service, render, Choices};

use crate::preset::Kind;

/// Parse an answer to "which backing services?": names, aliases or numbers (1 to the number of presets),
/// separated by commas or spaces; empty keeps `default`; `none` or `-` is none.
pub fn parse_preset_answer(answer: &str, default: &[Kind]) -> Result<Vec<Kind>, String> {
    let answer = answer.trim();
    if answer.is_empty() {
        return Ok(default.to_vec());
    }
    if answer.eq_ignore_ascii_case("none") || answer == "-" {
        return Ok(vec![]);
    }
    let mut out = Vec::new();
    for word in answer.split(|c: char| c == ',' || c.is_whitespace()).filter(|w| !w.is_empty()) {
        let lower = word.to_ascii_lowercase();
        let by_number = lower.parse::<usize>().ok().and_then(|n| n.checked_sub(1)).and_then(|i| crate::preset::NAMES.get(i).copied());
        let kind = by_number.and_then(Kind::parse).or_else(|| Kind::parse_alias(&lower));
        match kind {
            Some(k) if !out.contains(&k) => out.push(k),
            Some(_) => {}
            None => {
                let hint = crate::config::validate::did_you_mean(&lower, crate::preset::NAMES.iter().copied()).map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default();
                return Err(format!("unknown backing service `{word}`{hint}; choose from {}", crate::preset::NAMES.join(", ")));
            }
        }
    }
    Ok(out)
}

/// The project name for a directory: its name, lower-case, `[a-z0-9_-]` only.
pub fn project_name(root: &std::path::Path) -> String {
    let raw = root.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let name = detect::service_name(&raw).replace('.', "-");
    if name == "app" && raw.is_empty() { "devenv".into() } else { name }
}

#[cfg(test)]
mod tests;
