//! compose: read `docker-compose.yml` files exactly as Compose v2 does.
//!
//! Owns: finding compose files ([`discover`], [`looks_like_compose`]), reading,
//! merging (`-f a -f b`), `extends`, `include`, interpolation, `.env`, profiles
//! and normalization into a typed [`ComposeProject`] whose JSON
//! (`serde_json::to_value`) is, field by field on the subset below, what
//! `docker compose config --format json` prints (Compose 2.26.1 as packaged by
//! Debian, built with compose-go v2.4; `tests/compose_oracle.rs` compares the
//! two on `fixtures/compose/`). Must not: talk to Docker, or translate to
//! devenv's own model (`config::from_compose` does that).
//!
//! The pipeline, compose-go's, per file: YAML documents (with `<<` merge keys,
//! `!reset` / `!override`) → interpolation (`${VAR:-default}`… from the shell,
//! then `.env` in the project directory; compose's grammar, so `${svc.url}` is
//! invalid here) → shape check (`schema.rs`) → `extends` → `include` → merge
//! over the previous files (`merge.rs`) → canonical long syntax
//! (`canonical.rs`). Then: defaults, relative paths made absolute against the
//! project directory (the first file's; an included project's against its own),
//! variables without a value looked up, the implicit `default` network, names
//! (`normalize.rs`); typed decoding (`decode.rs`), profiles, compose's
//! consistency checks and `env_file`s merged into `environment` (`project.rs`).
//!
//! # The supported subset
//! Service keys: `image`, `platform`, `build` (`context`, `dockerfile`,
//! `dockerfile_inline`, `args`, `target`, `platforms`, `additional_contexts`,
//! `secrets`, `ssh`: the last four are checked when the image is built, see
//! `engine::images`),
//! `command`, `entrypoint` (a string is split like compose: go-shellwords, no
//! shell — `a && b` runs `a`, with a warning), `environment`, `env_file`
//! (merged into `environment`, like `config` prints it), `ports` (expanded to
//! compose's long syntax), `expose`, `volumes` (long syntax, bind sources
//! absolute), `depends_on`, `healthcheck`, `restart`, `profiles`, `labels`,
//! `working_dir`, `user`, `hostname`, `extra_hosts`, `networks` (with
//! `aliases`), `container_name`, `stop_grace_period`, `stop_signal`,
//! `ulimits`, `init`, `tty`, `stdin_open`, `tmpfs`, `privileged`, `cap_add`,
//! `cap_drop`, `shm_size`, `cpus`, `mem_limit`, `mem_reservation`,
//! `pids_limit`, `deploy.resources` (limits: `cpus`, `memory`, `pids`;
//! reservations: `cpus`, `memory`; compose's "can't set distinct values" check
//! on twins), `deploy.restart_policy`, `deploy.replicas` and `scale`
//! (compose's "can't set distinct values" check between them), `develop.watch`, `volumes_from`, `network_mode`
//! (`ports` with a shared network stack and `networks` beside it refused), `ipc` and `pid`
//! (`host`, `shareable`, `service:…`, `container:…`), `secrets` and
//! `configs` (short and long syntax; secrets get compose's default target
//! `/run/secrets/<source>`). Top level: `name`, `services`, `volumes` (with
//! `name`, `external`, `driver`, `driver_opts`, `labels`), `networks`, `secrets` and `configs` (the ones enabled services use; a `file:`
//! must exist; `external` and `driver` are refused, as compose refuses them at
//! `up`), `include`, `x-*` (`x-*` keys anywhere are allowed;
//! top-level ones are kept in [`ComposeProject::extensions`], as compose prints
//! them).
//!
//! # Keys outside the subset
//! Refused — an error at the key's file:line:column, because running the
//! service without them would change its behaviour in a way devenv cannot honour:
//! - `uts`, `cgroup`, `userns_mode` set to `host`, `service:…` or
//!   `container:…` (shared namespaces; other values are only ignored);
//! - `deploy.resources.reservations.devices`, `devices`, `device_cgroup_rules`,
//!   `gpus` (host devices), `runtime` (e.g. nvidia);
//! - `links` with an alias (`db:database`: the alias would not resolve; plain
//!   `links` only add the dependency compose adds, and are ignored otherwise);
//! - `external_links`;
//! - `post_start` hooks; volume types other than `volume`, `bind`, `tmpfs`.
//!
//! Noted: a `platform` other than this machine's (it needs emulation).
//!
//! Ignored — one warning per service listing them (`service `api`: devenv
//! ignores logging, cpuset, build.cache_from`), kept in
//! [`ComposeService::ignored_keys`]: the other resource keys (`cpuset`,
//! `cpu_shares`, `memswap_limit`…, which compose applies and devenv does not),
//! `deploy.resources.reservations.cpus` and `deploy.restart_policy.delay` /
//! `window` (compose gives the engine nothing for them either), `logging`,
//! `pull_policy`, `dns*`, `sysctls`,
//! `security_opt`, `read_only`, `group_add`, `pre_stop`, the other `build`
//! keys (`cache_from`, `labels`, `privileged`…), per-network settings other than
//! `aliases` (`ipv4_address`…), other `deploy` keys, and the rest of the
//! compose specification. Top-level `version` is obsolete (a warning, as
//! compose gives).
//! Keys the compose specification does not have are errors, with a "did you mean".
//!
//! # Where devenv's reading differs from compose's
//! - A secret's or config's `mode: "0440"` (quoted) is octal, as unquoted;
//!   compose reads the quoted form as decimal.
//! - `.env` and `env_file` lines devenv cannot parse are warnings, not errors;
//!   devenv's `.env` parser (`yaml::interpolate`) is used for both.
//! - `-p` and `COMPOSE_PROJECT_NAME` must already be valid names (as in compose);
//!   `name:` and the directory name are normalized (lowercase, `[a-z0-9_-]`).
//! - Not read: `COMPOSE_FILE`, `--env-file`, remote `include` / `extends`
//!   (git, OCI), `label_file` contents, Windows paths.

mod canonical;
mod decode;
mod discover;
mod extends;
mod interp;
mod loader;
mod merge;
mod options;
pub mod model;
mod normalize;
mod project;
mod schema;
mod shellwords;
mod source;
mod tree;
mod unsupported;
pub mod values;

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_yaml::Value;

pub use discover::{COMPOSE_FILES, OVERRIDE_FILES, discover, looks_like_compose};
pub use schema::{is_service_key, is_top_key};
pub use model::*;
pub use source::ComposeLocations;
pub use unsupported::SUPPORTED as SUPPORTED_SERVICE_KEYS;
pub use unsupported::network_mode_conflict;

pub use options::LoadOptions;

use crate::values::normalize_project_name;
use crate::values::volumes::normalize as clean;
use crate::yaml::ConfigError;
use crate::yaml::interpolate::{Dialect, Warnings, dotenv_map, interpolate_str_with, parse_dotenv};
use loader::{Loader, ModelOpts};
use normalize::Env;

/// Loads `files` (merged in order, like `docker compose -f a -f b`) into a
/// normalized project. Relative `files` are relative to `opts.cwd`; the
/// project directory is the first file's directory; `opts.environ` is the
/// process environment (interpolation reads it first, then `.env`);
/// `opts.project` is `-p`, `opts.profiles` `--profile` (else `COMPOSE_PROFILES`).
pub fn load(files: &[PathBuf], opts: &LoadOptions) -> Result<ComposeProject, ConfigError> {
    let cwd = if opts.cwd.is_absolute() {
        opts.cwd.clone()
    } else {
        std::env::current_dir().map(|d| d.join(&opts.cwd)).unwrap_or_else(|_| opts.cwd.clone())
    };
    if files.is_empty() {
        return Err(file_error(&cwd, "no compose file given".into(), Some("pass `-f compose.yaml`".into())));
    }
    let files: Vec<PathBuf> = files.iter().map(|f| clean(&cwd.join(f))).collect();
    for f in &files {
        if f.is_dir() {
            return Err(file_error(f, format!("{} is a directory, not a compose file", f.display()), None));
        }
        if !f.is_file() {
            return Err(file_error(
                f,
                format!("compose file {} not found", f.display()),
                Some("check the `-f` path (relative paths start from the current directory)".into()),
            ));
        }
    }
    let dir = files[0].parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("/"));
    let home = opts.environ.get("HOME").map(PathBuf::from).or_else(|| std::env::var_os("HOME").map(PathBuf::from));

    let mut warnings = Vec::new();
    let mut env = project_env(opts, &dir, &mut warnings)?;
    let name = project_name(opts, &files, &env, &dir)?;
    env.insert("COMPOSE_PROJECT_NAME".into(), name.clone());
    let profiles: Vec<String> = if opts.profiles.is_empty() {
        env.get("COMPOSE_PROFILES")
            .map(|p| p.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
            .unwrap_or_default()
    } else {
        opts.profiles.clone()
    };

    let mut loader = Loader::new(home);
    loader.warnings = warnings;
    let mut dict = loader.load_model(&files, &dir, &env, ModelOpts::MAIN, &[])?;
    if dict.is_empty() {
        return Err(file_error(&files[0], "empty compose file".into(), Some("add e.g.\n  services:\n    web:\n      image: nginx".into())));
    }
    dict.insert(Value::String("name".into()), Value::String(name.clone()));
    normalize::normalize(&mut dict, &env, &name);
    project::assemble(dict, loader, project::Assembly { name, env, files, dir, profiles })
}

fn file_error(file: &Path, message: String, hint: Option<String>) -> ConfigError {
    ConfigError { file: file.to_path_buf(), pos: None, yaml_path: String::new(), message, hint }
}

/// The process environment, then `.env` in the project directory (the process wins).
fn project_env(opts: &LoadOptions, dir: &Path, warnings: &mut Vec<String>) -> Result<Env, ConfigError> {
    let mut env: Env = opts.environ.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    env.sort_keys();
    let disabled = env.get("COMPOSE_DISABLE_ENV_FILE").is_some_and(|v| matches!(v.as_str(), "1" | "t" | "T" | "true" | "TRUE" | "True"));
    let dotenv = dir.join(".env");
    if disabled || !dotenv.exists() {
        return Ok(env);
    }
    // A `.env` that exists but cannot be read is an error, as in compose.
    let (text, bad_lines) = crate::yaml::envfile::read(&dotenv)
        .map_err(|e| file_error(&dotenv, format!("cannot read {}: {e}", dotenv.display()), Some("fix or remove the `.env` file".into())))?;
    let lookup = |k: &str| opts.environ.get(k).cloned();
    let (entries, w) = parse_dotenv(&text, &lookup);
    warnings.extend(bad_lines.into_iter().chain(w).map(|w| format!("{}: {w}", dotenv.display())));
    for (k, v) in dotenv_map(&entries, &lookup) {
        env.entry(k).or_insert(v);
    }
    Ok(env)
}

/// `-p`, else `COMPOSE_PROJECT_NAME`, else the last `name:` of the files
/// (interpolated, normalized), else the project directory's name (normalized).
fn project_name(opts: &LoadOptions, files: &[PathBuf], env: &Env, dir: &Path) -> Result<String, ConfigError> {
    let invalid = |n: &str, from: &str| {
        file_error(
            &files[0],
            format!(
                "invalid project name {n:?} ({from}): must consist only of lowercase alphanumeric characters, hyphens, and underscores as well as start with a letter or number"
            ),
            Some(format!("e.g. {:?}", normalize_project_name(n))),
        )
    };
    if let Some(p) = &opts.project {
        return if normalize_project_name(p) == *p && !p.is_empty() { Ok(p.clone()) } else { Err(invalid(p, "from -p")) };
    }
    if let Some(p) = env.get("COMPOSE_PROJECT_NAME").filter(|p| !p.is_empty()) {
        return if normalize_project_name(p) == *p { Ok(p.clone()) } else { Err(invalid(p, "from COMPOSE_PROJECT_NAME")) };
    }
    let mut from_file: Option<(&PathBuf, String)> = None;
    for f in files {
        let Ok(text) = std::fs::read_to_string(f) else { continue };
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let Ok(v) = Value::deserialize(doc) else { break };
            if let Some(n) = v.get("name").and_then(Value::as_str).filter(|n| !n.is_empty()) {
                from_file = Some((f, n.to_string()));
            }
        }
    }
    if let Some((f, raw)) = from_file {
        let lookup = |k: &str| env.get(k).cloned();
        let mut unset = Warnings::default();
        let n = interpolate_str_with(&raw, &lookup, &mut unset, Dialect::Compose).map_err(|(message, hint)| {
            let locs = crate::yaml::Locations::from_text(&std::fs::read_to_string(f).unwrap_or_default());
            ConfigError { file: f.clone(), pos: locs.get("name"), yaml_path: "name".into(), message, hint }
        })?;
        let n = normalize_project_name(&n);
        if !n.is_empty() {
            return Ok(n);
        }
    }
    let base = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let n = normalize_project_name(&base);
    if n.is_empty() {
        return Err(file_error(
            &files[0],
            format!("cannot derive a project name from the directory name {base:?}"),
            Some("set `name:` in the compose file or pass `-p NAME`".into()),
        ));
    }
    Ok(n)
}

#[cfg(test)]
mod tests;
