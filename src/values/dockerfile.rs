//! What a Dockerfile asks of its builder beyond the classic one: `RUN
//! --mount=type=secret|ssh` and references to named build contexts (`FROM
//! name`, `COPY --from=name`, `RUN --mount=from=name`). A light reader of
//! Dockerfile syntax (parser directives, comments, line continuations,
//! case-insensitive instructions, stage names), not a full parser.

/// One use, with the line (1-based) of its instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Use {
    pub line: usize,
    /// A secret's or ssh socket's id, or the name referenced.
    pub name: String,
    /// The instruction as written (continuations joined), for messages.
    pub instruction: String,
}

/// What the Dockerfile uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Uses {
    pub secret_mounts: Vec<Use>,
    pub ssh_mounts: Vec<Use>,
    /// Images or contexts named by `FROM`, `COPY --from` or a mount's `from`,
    /// other than the file's own stages and stage numbers.
    pub references: Vec<Use>,
}

/// Reads `text` (a Dockerfile).
pub fn uses(text: &str) -> Uses {
    let mut out = Uses::default();
    let mut stages: Vec<String> = Vec::new();
    for (line, instruction) in instructions(text) {
        let words: Vec<&str> = instruction.split_whitespace().collect();
        let Some(keyword) = words.first().map(|w| w.to_ascii_uppercase()) else { continue };
        let flags = words[1..].iter().take_while(|w| w.starts_with("--"));
        let at = |name: String| Use { line, name, instruction: instruction.clone() };
        match keyword.as_str() {
            "FROM" => {
                let rest: Vec<&str> = words[1..].iter().copied().filter(|w| !w.starts_with("--")).collect();
                if let Some(image) = rest.first()
                    && !stages.iter().any(|s| s.eq_ignore_ascii_case(image))
                    && !image.eq_ignore_ascii_case("scratch")
                {
                    out.references.push(at(image.to_string()));
                }
                if let [_, as_, name, ..] = rest.as_slice()
                    && as_.eq_ignore_ascii_case("as")
                {
                    stages.push(name.to_string());
                }
            }
            "COPY" | "ADD" => {
                for from in flags.filter_map(|f| f.strip_prefix("--from=")) {
                    if !is_stage(from, &stages) {
                        out.references.push(at(from.to_string()));
                    }
                }
            }
            "RUN" => {
                for mount in flags.filter_map(|f| f.strip_prefix("--mount=")) {
                    let opts: Vec<(&str, &str)> = mount.split(',').map(|kv| kv.split_once('=').unwrap_or((kv, ""))).collect();
                    let get = |k: &str| opts.iter().find(|(key, _)| key.eq_ignore_ascii_case(k)).map(|(_, v)| *v);
                    let id = || get("id").map(str::to_string);
                    match get("type").unwrap_or("bind") {
                        "secret" => {
                            let by_target = get("target").or(get("dst")).or(get("destination")).and_then(|t| t.rsplit('/').next()).map(str::to_string);
                            out.secret_mounts.push(at(id().or(by_target).unwrap_or_default()));
                        }
                        "ssh" => out.ssh_mounts.push(at(id().unwrap_or_else(|| "default".into()))),
                        _ => {}
                    }
                    if let Some(from) = get("from").filter(|f| !is_stage(f, &stages)) {
                        out.references.push(at(from.to_string()));
                    }
                }
            }
            _ => {}
        }
    }
    out
}

fn is_stage(name: &str, stages: &[String]) -> bool {
    name.parse::<usize>().is_ok() || stages.iter().any(|s| s.eq_ignore_ascii_case(name))
}

/// The instructions with their first line: parser directives read (`# escape=`),
/// comments dropped, continuation lines joined.
fn instructions(text: &str) -> Vec<(usize, String)> {
    let mut escape = '\\';
    let mut in_directives = true;
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let trimmed = raw.trim();
        if in_directives {
            let directive = trimmed.strip_prefix('#').map(str::trim).and_then(|d| d.split_once('='));
            match directive {
                Some((k, v)) if k.trim().eq_ignore_ascii_case("escape") => {
                    escape = v.trim().chars().next().unwrap_or('\\');
                    continue;
                }
                Some((k, _)) if k.trim().eq_ignore_ascii_case("syntax") || k.trim().eq_ignore_ascii_case("check") => continue,
                _ => in_directives = false,
            }
        }
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_some()) {
            continue; // comments and blank lines inside a continued instruction are dropped too
        }
        let (body, continued) = match trimmed.strip_suffix(escape) {
            Some(b) => (b, true),
            None => (trimmed, false),
        };
        let (line, mut joined) = current.take().unwrap_or((i + 1, String::new()));
        if !joined.is_empty() {
            joined.push(' ');
        }
        joined.push_str(body.trim());
        if continued {
            current = Some((line, joined));
        } else if !joined.trim().is_empty() {
            out.push((line, joined));
        }
    }
    out.extend(current.filter(|(_, j)| !j.trim().is_empty()));
    out
}

#[cfg(test)]
mod tests {
    use super::uses;

    #[test]
    fn mounts_and_references_are_found_with_their_lines() {
        let u = uses(
            "# syntax=docker/dockerfile:1\nFROM base AS build\nRUN --mount=type=secret,id=npmrc,target=/root/.npmrc \\\n    npm ci\n\
             RUN --mount=type=secret,target=/run/secrets/token cat /run/secrets/token\n# a comment\nrun --mount=type=ssh git clone x\n\
             COPY --from=assets /a /a\nCOPY --from=build /b /b\nCOPY --from=0 /c /c\nRUN --mount=type=bind,from=tools,source=/t,target=/t ls\n\
             FROM --platform=$BUILDPLATFORM build\nFROM scratch\n",
        );
        let names = |v: &[super::Use]| v.iter().map(|u| (u.line, u.name.clone())).collect::<Vec<_>>();
        assert_eq!(names(&u.secret_mounts), [(3, "npmrc".to_string()), (5, "token".to_string())]);
        assert_eq!(names(&u.ssh_mounts), [(7, "default".to_string())]);
        assert_eq!(names(&u.references), [(2, "base".to_string()), (8, "assets".to_string()), (11, "tools".to_string())]);
        assert!(u.secret_mounts[0].instruction.ends_with("npm ci"), "{:?}", u.secret_mounts[0]);
    }

    #[test]
    fn a_plain_dockerfile_uses_nothing_and_the_escape_directive_is_honoured() {
        assert_eq!(uses("FROM debian:bookworm-slim\nRUN echo hi\n").secret_mounts, []);
        let u = uses("# escape=`\nFROM x\nRUN --mount=type=ssh `\n  echo\n");
        assert_eq!(u.ssh_mounts.len(), 1);
        assert_eq!(u.ssh_mounts[0].instruction, "RUN --mount=type=ssh echo");
    }
}
