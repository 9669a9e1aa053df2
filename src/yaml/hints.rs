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
        None => Some(format!("{what}: {}", candidates.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", "))),
    }
}
