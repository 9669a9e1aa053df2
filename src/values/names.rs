//! Project names as compose normalizes them.

/// Normalizes like compose: lowercase, keep `[a-z0-9_-]`, must start with a letter or digit.
pub fn normalize_project_name(s: &str) -> String {
    let lower: String =
        s.to_lowercase().chars().filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-').collect();
    lower.trim_start_matches(['_', '-']).to_string()
}
