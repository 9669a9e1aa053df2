//! How compose splits a string `command:` / `entrypoint:`: a port of
//! `github.com/mattn/go-shellwords` v1.0.12 `Parse` (no variable or backtick
//! expansion), which compose-go uses.
//!
//! Not a shell: quotes and backslashes group words, and an unquoted `;`, `&`,
//! `|`, `<` or `>` ends the command silently — `echo a && echo b` runs
//! `echo a`. [`Split::stopped_at`] reports that so the loader can warn.

/// A split command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    pub args: Vec<String>,
    /// Byte offset of the unquoted shell operator where splitting stopped (the
    /// rest of the string is dropped, as compose does).
    pub stopped_at: Option<usize>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Got {
    No,
    Single,
    Quoted,
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Splits like go-shellwords; errors with its message for unbalanced quotes,
/// a trailing backslash, or a `(` outside `$(`.
pub fn split(line: &str) -> Result<Split, String> {
    const INVALID: &str = "invalid command line string";
    let mut args = Vec::new();
    let mut buf = String::new();
    let (mut escaped, mut double, mut single, mut back, mut dollar) = (false, false, false, false, false);
    let mut got = Got::No;
    let mut stopped_at = None;
    for (i, r) in line.char_indices() {
        if escaped {
            buf.push(r);
            escaped = false;
            got = Got::Single;
            continue;
        }
        if r == '\\' {
            if single {
                buf.push(r);
            } else {
                escaped = true;
            }
            continue;
        }
        if is_space(r) {
            if single || double || back || dollar {
                buf.push(r);
            } else if got != Got::No {
                args.push(std::mem::take(&mut buf));
                got = Got::No;
            }
            continue;
        }
        match r {
            '`' if !single && !double && !dollar => back = !back,
            ')' if !single && !double && !back => dollar = !dollar,
            '(' if !single && !double && !back => {
                if !dollar && buf.ends_with('$') {
                    dollar = true;
                    buf.push('(');
                    continue;
                }
                return Err(INVALID.into());
            }
            '"' if !single && !dollar => {
                if double {
                    got = Got::Quoted;
                }
                double = !double;
                continue;
            }
            '\'' if !double && !dollar => {
                if single {
                    got = Got::Quoted;
                }
                single = !single;
                continue;
            }
            ';' | '&' | '|' | '<' | '>' if !(single || double || back || dollar) => {
                // `2>file`: the descriptor number is dropped with the redirection.
                if r == '>' && buf.starts_with(|c: char| c.is_ascii_digit()) {
                    got = Got::No;
                }
                stopped_at = Some(i);
                break;
            }
            _ => {}
        }
        got = Got::Single;
        buf.push(r);
    }
    if got != Got::No {
        args.push(buf);
    }
    if escaped || single || double || back || dollar {
        return Err(INVALID.into());
    }
    Ok(Split { args, stopped_at })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        split(s).unwrap().args
    }

    /// Results checked against `docker compose config` (v2.26.1).
    #[test]
    fn matches_compose() {
        assert_eq!(args("npm run dev --x \"a b\""), ["npm", "run", "dev", "--x", "a b"]);
        assert_eq!(args("echo a && echo b"), ["echo", "a"]);
        assert_eq!(args("echo a; echo b"), ["echo", "a"]);
        assert_eq!(args(r#"sh -c "echo \"x y\" ; ls" a\ b 'q r'"#), ["sh", "-c", "echo \"x y\" ; ls", "a b", "q r"]);
        assert_eq!(args(""), Vec::<String>::new());
        assert_eq!(args("echo $HOME > /tmp/x"), ["echo", "$HOME"]);
        assert!(split("echo \"unterminated").is_err());
        assert!(split("echo a\\").is_err());
    }

    #[test]
    fn quoting_details() {
        assert_eq!(args("a '' \"\" b"), ["a", "", "", "b"]);
        assert_eq!(args(r"'a\b' c"), [r"a\b", "c"]);
        assert_eq!(args("x $(date +%s) y"), ["x", "$(date +%s)", "y"]);
        assert_eq!(args("cmd 2>/dev/null"), ["cmd"]);
        assert_eq!(args("a|b"), ["a"]);
        assert_eq!(split("echo a && b").unwrap().stopped_at, Some(7));
        assert_eq!(split("echo a").unwrap().stopped_at, None);
        assert!(split("echo (x)").is_err());
        assert!(split("echo x)").is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,40}") {
            let _ = split(&s);
        }
    }
}
