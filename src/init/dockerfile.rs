//! Just enough of a Dockerfile to guess a service from it: the base images,
//! and the final stage's `EXPOSE`, `HEALTHCHECK`, `WORKDIR` and whether it
//! copies the build context in (so a `sync` watch rule has a target).

/// What `init` and `doctor` read from a Dockerfile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dockerfile {
    /// Every `FROM` image that is not an earlier stage or `scratch`, in order.
    pub base_images: Vec<String>,
    /// The final stage's `EXPOSE`d TCP ports, in order.
    pub expose: Vec<u16>,
    /// The final stage has a `HEALTHCHECK` (not `HEALTHCHECK NONE`).
    pub healthcheck: bool,
    /// The final stage's working directory (absolute), if set.
    pub workdir: Option<String>,
    /// The final stage copies the whole context (`COPY . …`) into `copy_target`.
    pub copy_target: Option<String>,
}

/// Joined logical lines: comments dropped, `\` continuations folded.
fn logical_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for raw in text.lines() {
        let line = raw.trim();
        if line.starts_with('#') || (line.is_empty() && cur.is_empty()) {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(head) => {
                cur.push_str(head);
                cur.push(' ');
            }
            None => {
                cur.push_str(line);
                out.push(std::mem::take(&mut cur).trim().to_string());
            }
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

/// Words of an instruction's arguments, without `--flag=…` options.
fn plain_args(args: &str) -> Vec<&str> {
    args.split_whitespace().filter(|w| !w.starts_with("--")).collect()
}

/// `/app` + `src` → `/app/src`; an absolute `dir` wins.
fn join_container(base: Option<&str>, dir: &str) -> String {
    let joined = if dir.starts_with('/') {
        dir.to_string()
    } else {
        let rel = dir.trim_start_matches("./");
        let rel = if rel == "." { "" } else { rel };
        format!("{}/{rel}", base.unwrap_or("/").trim_end_matches('/'))
    };
    let trimmed = joined.trim_end_matches('/');
    if trimmed.is_empty() { "/".into() } else { trimmed.to_string() }
}

/// The sources and destination of a `COPY`/`ADD` (shell or JSON form), unless it copies `--from` another stage.
fn copy_parts(args: &str) -> Option<(Vec<String>, String)> {
    if args.split_whitespace().any(|w| w.starts_with("--from")) {
        return None;
    }
    let rest: String = args.split_whitespace().filter(|w| !w.starts_with("--")).collect::<Vec<_>>().join(" ");
    let mut words: Vec<String> = if rest.trim_start().starts_with('[') {
        serde_json::from_str::<Vec<String>>(rest.trim()).ok()?
    } else {
        rest.split_whitespace().map(str::to_string).collect()
    };
    let dest = words.pop()?;
    if words.is_empty() {
        return None;
    }
    Some((words, dest))
}

/// Parse a Dockerfile's text. Never fails: what it cannot read it leaves out.
pub fn parse(text: &str) -> Dockerfile {
    let mut df = Dockerfile::default();
    let mut stages: Vec<String> = Vec::new();
    for line in logical_lines(text) {
        let (instr, args) = line.split_once(char::is_whitespace).unwrap_or((line.as_str(), ""));
        let args = args.trim();
        match instr.to_ascii_uppercase().as_str() {
            "FROM" => {
                let words = plain_args(args);
                if let Some(image) = words.first() {
                    let lower = image.to_ascii_lowercase();
                    if lower != "scratch" && !stages.contains(&lower) {
                        df.base_images.push((*image).to_string());
                    }
                }
                if let [_, as_kw, name] = words.as_slice()
                    && as_kw.eq_ignore_ascii_case("as")
                {
                    stages.push(name.to_ascii_lowercase());
                }
                df.expose.clear();
                df.healthcheck = false;
                df.workdir = None;
                df.copy_target = None;
            }
            "EXPOSE" => {
                for w in args.split_whitespace() {
                    let (port, proto) = w.split_once('/').unwrap_or((w, "tcp"));
                    if proto.eq_ignore_ascii_case("tcp")
                        && let Ok(p) = port.parse::<u16>()
                        && !df.expose.contains(&p)
                    {
                        df.expose.push(p);
                    }
                }
            }
            "HEALTHCHECK" => df.healthcheck = !args.eq_ignore_ascii_case("none"),
            "WORKDIR" if !args.is_empty() && !args.contains('$') => df.workdir = Some(join_container(df.workdir.as_deref(), args)),
            "COPY" | "ADD" => {
                if let Some((sources, dest)) = copy_parts(args)
                    && sources.iter().any(|s| s == "." || s == "./")
                    && !dest.contains('$')
                {
                    df.copy_target = Some(join_container(df.workdir.as_deref(), &dest));
                }
            }
            _ => {}
        }
    }
    df
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_stage_facts_and_base_images() {
        let df = parse(
            "# syntax=docker/dockerfile:1\nFROM golang:1.22 AS build\nWORKDIR /src\nCOPY . .\nRUN go build -o /out/app .\nEXPOSE 9999\n\n\
             FROM debian:bookworm-slim\nCOPY --from=build /out/app /usr/local/bin/app\nEXPOSE 8080/tcp 53/udp \\\n  9090\nHEALTHCHECK --interval=5s CMD curl -f http://localhost:8080/health\nCMD [\"app\"]\n",
        );
        assert_eq!(df.base_images, vec!["golang:1.22", "debian:bookworm-slim"]);
        assert_eq!(df.expose, vec![8080, 9090]);
        assert!(df.healthcheck);
        assert_eq!(df.workdir, None);
        assert_eq!(df.copy_target, None, "COPY --from another stage is not the context");
    }

    #[test]
    fn workdir_and_context_copy() {
        let df = parse("FROM node:20-alpine\nWORKDIR /app\nCOPY package*.json ./\nRUN npm ci\nCOPY . .\nHEALTHCHECK NONE\n");
        assert_eq!(df.workdir.as_deref(), Some("/app"));
        assert_eq!(df.copy_target.as_deref(), Some("/app"));
        assert!(!df.healthcheck);
        let df = parse("from python:3.12\nworkdir /srv\nworkdir api\nADD [\".\", \"/srv/api/\"]\n");
        assert_eq!(df.workdir.as_deref(), Some("/srv/api"));
        assert_eq!(df.copy_target.as_deref(), Some("/srv/api"));
    }

    #[test]
    fn stage_names_and_scratch_are_not_images() {
        let df = parse("FROM rust:1 AS builder\nFROM builder AS test\nFROM scratch\nCOPY --from=builder /x /x\n");
        assert_eq!(df.base_images, vec!["rust:1"]);
    }
}
