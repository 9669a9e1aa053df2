//! "did you mean" hints for misspelled keys and values.

/// The closest candidate to `word`, if any is close enough to be a plausible typo.
pub fn did_you_mean<'c, I>(word: &str, candidates: I) -> Option<String>
where
    I: IntoIterator<Item = &'c str>,
{
    let w = word.to_ascii_lowercase();
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        let cl = c.to_ascii_lowercase();
        let dist = strsim::damerau_levenshtein(&w, &cl);
        let jw = strsim::jaro_winkler(&w, &cl);
        let close = dist <= 2.max(cl.len() / 3) || jw >= 0.85 || (w.len() >= 3 && cl.starts_with(&w));
        if !close || c == word {
            continue;
        }
        if best.is_none_or(|(s, _)| jw > s) {
            best = Some((jw, c));
        }
    }
    best.map(|(_, c)| c.to_string())
}

/// `did you mean `x`?` hint, or a list of the valid values.
pub fn hint_for(word: &str, candidates: &[&str], what: &str) -> Option<String> {
    match did_you_mean(word, candidates.iter().copied()) {
        Some(c) => Some(format!("did you mean `{c}`?")),
        None if candidates.is_empty() => None,
        None => Some(format!("{what}: {}", quote(candidates))),
    }
}

/// Like [`hint_for`], for long lists (compose has ~90 service keys): without a
/// close match, only the three candidates nearest to `word` are named.
pub fn hint_nearest(word: &str, candidates: &[&str], what: &str) -> Option<String> {
    match did_you_mean(word, candidates.iter().copied()) {
        Some(c) => Some(format!("did you mean `{c}`?")),
        None if candidates.is_empty() => None,
        None => Some(format!("{what} nearest to `{word}`: {}", quote(&nearest(word, candidates, 3)))),
    }
}

fn quote(cs: &[&str]) -> String {
    cs.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
}

/// The `n` candidates most like `word` (Jaro-Winkler, case-insensitive), best first.
pub fn nearest<'c>(word: &str, candidates: &[&'c str], n: usize) -> Vec<&'c str> {
    let w = word.to_ascii_lowercase();
    let mut scored: Vec<(f64, &str)> = candidates.iter().map(|c| (strsim::jaro_winkler(&w, &c.to_ascii_lowercase()), *c)).collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.into_iter().take(n).map(|(_, c)| c).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lists_are_cut_to_the_nearest_three() {
        let many = ["image", "build", "command", "entrypoint", "environment", "ports", "volumes", "networks", "labels", "healthcheck", "restart"];
        let h = hint_nearest("zzzzvolumezzzz", &many, "valid keys here").unwrap();
        assert!(h.starts_with("valid keys here nearest to `zzzzvolumezzzz`: "), "{h}");
        assert_eq!(h.matches('`').count(), 8, "the word and three keys: {h}");
        assert_eq!(hint_nearest("imag", &many, "x").as_deref(), Some("did you mean `image`?"));
        assert_eq!(hint_for("qqqq", &["a", "b"], "values").as_deref(), Some("values: `a`, `b`"));
    }
}
