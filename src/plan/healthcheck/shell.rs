//! The shell form's variables, expanded the way `sh -c` inside the container
//! would: `$NAME` and `${NAME}` from the service's environment. Only when the
//! result is certain: each variable is set there to one plain word (no
//! space, quote, glob or shell character, not empty), and the script has no
//! other expansion (`$(…)`, `` ` ``, `${X:-y}`, `$1`), no backslash, and no
//! single quote beside a `$` (which would keep it literal). A word from the
//! environment then reads the same quoted or not. Anything else: None, and
//! the command runs as written.
//! Pure: a script and an environment in, a script out.

use indexmap::IndexMap;

/// `script` with its variables replaced by their values, when exact.
pub(super) fn expand(script: &str, env: &IndexMap<String, String>) -> Option<String> {
    if script.contains('`') {
        return None;
    }
    if !script.contains('$') {
        return Some(script.to_string());
    }
    if script.contains(['\'', '\\']) {
        return None;
    }
    let mut out = String::with_capacity(script.len());
    let mut rest = script;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, tail) = match after.strip_prefix('{') {
            Some(braced) => {
                let end = braced.find('}')?;
                (&braced[..end], &braced[end + 1..])
            }
            None => {
                let end = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
                (&after[..end], &after[end..])
            }
        };
        out.push_str(plain_value(env, name)?);
        rest = tail;
    }
    out.push_str(rest);
    Some(out)
}

/// The value of `name` when it is a shell variable name set to one plain word.
fn plain_value<'a>(env: &'a IndexMap<String, String>, name: &str) -> Option<&'a str> {
    let is_name = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_') && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !is_name {
        return None;
    }
    let value = env.get(name)?;
    let plain = !value.is_empty() && value.chars().all(|c| c.is_ascii_alphanumeric() || "-_.,:/@%+=".contains(c));
    plain.then_some(value.as_str())
}

#[cfg(test)]
mod tests {
    use super::expand;
    use indexmap::IndexMap;

    fn env() -> IndexMap<String, String> {
        [("POSTGRES_USER", "app"), ("PORT", "5433"), ("EMPTY", ""), ("SPACED", "a b"), ("STAR", "a*")].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn set_plain_variables_expand_braced_or_not() {
        assert_eq!(expand("pg_isready -U ${POSTGRES_USER} -p $PORT", &env()).as_deref(), Some("pg_isready -U app -p 5433"));
        assert_eq!(expand("pg_isready -U \"$POSTGRES_USER\"", &env()).as_deref(), Some("pg_isready -U \"app\""));
        assert_eq!(expand("redis-cli ping", &env()).as_deref(), Some("redis-cli ping"));
        assert_eq!(expand("echo $PORT/x", &env()).as_deref(), Some("echo 5433/x"));
    }

    #[test]
    fn anything_uncertain_is_not_expanded() {
        for s in [
            "pg_isready -U $UNSET",            // perhaps set by the image: unknown here
            "pg_isready -U $EMPTY",            // the word disappears unquoted
            "pg_isready -U $SPACED",           // split in two unquoted
            "pg_isready -U $STAR",             // a glob
            "pg_isready -U '$POSTGRES_USER'",  // literal in single quotes
            "pg_isready -U \\$POSTGRES_USER",  // escaped
            "pg_isready -U ${POSTGRES_USER:-x}",
            "pg_isready -U $(whoami)",
            "pg_isready -U `whoami`",
            "pg_isready -U $1",
            "pg_isready -U ${POSTGRES_USER",
            "pg_isready -U $",
        ] {
            assert_eq!(expand(s, &env()), None, "{s}");
        }
    }
}
