//! Just enough of a Dockerfile to guess a service from it: the base images,
//! and the final stage's `EXPOSE`, `HEALTHCHECK`, `WORKDIR` and whether it
//! copies the build context in (so a `sync` watch rule has a target); and the
//! base images with the build args resolved (`FROM ${PYTHON_IMAGE}`), for
//! `doctor` and for applying the image map to base images.

use std::collections::BTreeMap;

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

/// One base image of a build: a `FROM` that is not an earlier stage or `scratch`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Base {
    /// The reference with the build args substituted; `None` when a variable
    /// in it has neither a build arg nor an `ARG` default (the build fails too).
    pub reference: Option<String>,
    /// The `FROM` line's image as written (`${PYTHON_IMAGE}`).
    pub written: String,
    /// The build arg that names the whole image (`FROM ${PYTHON_IMAGE}` or
    /// `FROM $PYTHON_IMAGE`): setting it replaces the base image.
    pub arg: Option<String>,
}

/// `$NAME`, `${NAME}`, `${NAME:-default}` and `${NAME-default}` in `text`
/// with `vars`; `None` when one has no value (and no default).
fn substitute(text: &str, vars: &BTreeMap<String, String>) -> Option<String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (expr, tail) = match after.strip_prefix('{') {
            Some(inner) => {
                let end = inner.find('}')?;
                (&inner[..end], &inner[end + 1..])
            }
            None => {
                let end = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
                (&after[..end], &after[end..])
            }
        };
        if expr.is_empty() {
            return None;
        }
        let (name, default) = match expr.split_once(":-").or_else(|| expr.split_once('-')) {
            Some((n, d)) => (n, Some(d)),
            None => (expr, None),
        };
        let value = vars.get(name).filter(|v| !v.is_empty() || default.is_none()).map(String::as_str).or(default)?;
        out.push_str(value);
        rest = tail;
    }
    out.push_str(rest);
    Some(out)
}

/// The build arg that is the whole of `image` (`${NAME}` or `$NAME`, with or without a default).
fn whole_arg(image: &str) -> Option<String> {
    let name = image.strip_prefix("${").and_then(|s| s.strip_suffix('}')).map(|s| s.split([':', '-']).next().unwrap_or(s)).or_else(|| image.strip_prefix('$'))?;
    (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')).then(|| name.to_string())
}

/// The base images of a build, with `build_args` (the service's `build.args`)
/// and then the Dockerfile's `ARG NAME=default` lines before the first `FROM`
/// substituted, as the builder does. Stages named `AS` and `scratch` are left out.
pub fn bases(text: &str, build_args: &BTreeMap<String, String>) -> Vec<Base> {
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    let mut stages: Vec<String> = Vec::new();
    let mut out: Vec<Base> = Vec::new();
    let mut seen_from = false;
    for line in logical_lines(text) {
        let (instr, args) = line.split_once(char::is_whitespace).unwrap_or((line.as_str(), ""));
        let instr = instr.to_ascii_uppercase();
        if instr == "ARG" && !seen_from {
            for decl in args.split_whitespace() {
                let (name, default) = decl.split_once('=').unwrap_or((decl, ""));
                let value = build_args.get(name).cloned().or_else(|| decl.contains('=').then(|| default.trim_matches('"').to_string()));
                if let Some(v) = value {
                    vars.insert(name.to_string(), v);
                }
            }
        } else if instr == "FROM" {
            seen_from = true;
            let words = plain_args(args);
            let Some(written) = words.first() else { continue };
            let reference = substitute(written, &vars);
            let stage = |r: &str| r.eq_ignore_ascii_case("scratch") || stages.contains(&r.to_ascii_lowercase());
            if !reference.as_deref().is_some_and(stage) && !out.iter().any(|b| b.written == *written && b.reference == reference) {
                out.push(Base { arg: whole_arg(written), written: (*written).to_string(), reference });
            }
            if let [_, as_kw, name] = words.as_slice()
                && as_kw.eq_ignore_ascii_case("as")
            {
                stages.push(name.to_ascii_lowercase());
            }
        }
    }
    out
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

    fn args(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn refs(text: &str, build_args: &[(&str, &str)]) -> Vec<Option<String>> {
        bases(text, &args(build_args)).into_iter().map(|b| b.reference).collect()
    }

    #[test]
    fn from_arg_takes_the_build_arg_then_the_arg_default() {
        let text = "# comment\nARG PYTHON_IMAGE=python:3.12-slim\nFROM ${PYTHON_IMAGE}\nRUN true\n";
        assert_eq!(refs(text, &[]), vec![Some("python:3.12-slim".to_string())]);
        assert_eq!(refs(text, &[("PYTHON_IMAGE", "devenv-test/python:3")]), vec![Some("devenv-test/python:3".to_string())]);
        let b = &bases(text, &args(&[]))[0];
        assert_eq!((b.written.as_str(), b.arg.as_deref()), ("${PYTHON_IMAGE}", Some("PYTHON_IMAGE")));
        // `$NAME`, a tag from an arg, a default in the FROM line, a quoted ARG default.
        assert_eq!(refs("ARG V=3.12\nFROM python:$V-slim\n", &[]), vec![Some("python:3.12-slim".to_string())]);
        assert_eq!(refs("ARG TAG\nFROM redis:${TAG:-7}\n", &[]), vec![Some("redis:7".to_string())]);
        assert_eq!(refs("ARG B=\"debian:12\"\nFROM $B\n", &[]), vec![Some("debian:12".to_string())]);
        assert_eq!(bases("FROM $B\n", &args(&[]))[0].arg.as_deref(), Some("B"));
        assert_eq!(bases("FROM python:$V\n", &args(&[]))[0].arg, None, "only a whole-image arg can be replaced");
    }

    #[test]
    fn an_arg_without_a_value_is_unknown_and_args_after_from_do_not_count() {
        assert_eq!(refs("ARG BASE\nFROM ${BASE}\n", &[]), vec![None]);
        assert_eq!(refs("FROM ${BASE}\n", &[("BASE", "alpine:3")]), vec![None], "the Dockerfile must declare it");
        assert_eq!(refs("FROM alpine:3\nARG X=debian:12\nFROM ${X}\n", &[]), vec![Some("alpine:3".to_string()), None]);
    }

    #[test]
    fn multi_stage_names_resolve_to_stages() {
        let text = "ARG BASE=node:22-alpine\nFROM --platform=linux/amd64 ${BASE} AS deps\nFROM deps AS build\nFROM ${BASE}\nFROM scratch\n";
        assert_eq!(refs(text, &[]), vec![Some("node:22-alpine".to_string())], "one base, stages and scratch left out");
        let text = "ARG STAGE=deps\nFROM alpine:3 AS deps\nFROM ${STAGE}\n";
        assert_eq!(refs(text, &[]), vec![Some("alpine:3".to_string())], "an arg naming a stage is the stage");
    }
}
