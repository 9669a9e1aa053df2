//! Oracle test: devenv's compose front end (`devenv::compose::load`) against
//! `docker compose config --format json` (Compose v2.26.1) on every case in
//! `fixtures/compose/`, field by field on the supported subset, and the
//! bad-input cases in `fixtures/compose/bad/` against their expected errors.
//!
//! A case is a directory with compose files. By default its files are the ones
//! compose finds there (`compose.yaml` + override…); an optional `oracle.args`
//! file changes that, one setting per line:
//!
//! ```text
//! files: compose.yaml deploy/compose.prod.yaml   # -f, in order
//! profiles: debug                                # --profile
//! project: none                                  # do not pass -p (name: / directory name)
//! env: KEY=value                                 # an extra variable in the environment
//! ```
//!
//! Both sides run with the same controlled environment: only `PATH`, `HOME`
//! and `DOCKER_*` from the test's own environment, plus the case's `env:` lines
//! (`.env` files belong to the cases, nothing comes from the runner's shell).
//!
//! Compose is required when `DEVENV_REQUIRE_DOCKER=1` (the comparison fails
//! without it); otherwise the comparison is skipped with a loud SKIPPED line.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use devenv::compose;
use devenv::config::{ConfigError, LoadOptions};
use serde_json::Value;

const PROJECT: &str = "devenv-oracle";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/compose")
}

struct Case {
    name: String,
    dir: PathBuf,
    files: Vec<String>,
    profiles: Vec<String>,
    /// `None`: no `-p` (the project name comes from the files or the directory).
    project: Option<String>,
    env: Vec<(String, String)>,
}

/// Reads `oracle.args`; `None` when the directory is not a case (no compose file).
fn read_case(dir: &Path) -> Option<Case> {
    let name = dir.file_name()?.to_string_lossy().into_owned();
    let mut case =
        Case { name, dir: dir.to_path_buf(), files: Vec::new(), profiles: Vec::new(), project: Some(PROJECT.into()), env: Vec::new() };
    if let Ok(text) = std::fs::read_to_string(dir.join("oracle.args")) {
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            let (key, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.trim();
            match key.trim() {
                "files" => case.files = value.split_whitespace().map(String::from).collect(),
                "profiles" => case.profiles = value.split_whitespace().map(String::from).collect(),
                "project" if value == "none" => case.project = None,
                "project" => case.project = Some(value.to_string()),
                "env" => {
                    let (k, v) = value.split_once('=').unwrap_or((value, ""));
                    case.env.push((k.to_string(), v.to_string()));
                }
                other => panic!("{}: unknown oracle.args setting {other:?}", dir.display()),
            }
        }
    }
    if case.files.is_empty() {
        let found = compose::discover(dir)?;
        if found.first()?.parent() != Some(dir) {
            return None;
        }
        case.files = found.iter().filter_map(|f| f.file_name()).map(|f| f.to_string_lossy().into_owned()).collect();
    }
    Some(case)
}

fn cases() -> Vec<Case> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .expect("fixtures/compose exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir() && p.file_name().is_some_and(|n| n != "bad"))
        .collect();
    dirs.sort();
    dirs.iter().filter_map(|d| read_case(d)).collect()
}

/// `PATH`, `HOME` and `DOCKER_*` of this process, plus `extra`.
fn controlled_env(extra: &[(String, String)]) -> HashMap<String, String> {
    let mut env: HashMap<String, String> =
        std::env::vars().filter(|(k, _)| k == "PATH" || k == "HOME" || k.starts_with("DOCKER_")).collect();
    env.extend(extra.iter().cloned());
    env
}

fn require_docker() -> bool {
    std::env::var("DEVENV_REQUIRE_DOCKER").as_deref() == Ok("1")
}

/// Whether `docker compose` answers; panics when it must and does not.
fn compose_available() -> bool {
    let out = Command::new("docker").args(["compose", "version"]).env_clear().envs(controlled_env(&[])).output();
    let why = match out {
        Ok(o) if o.status.success() => return true,
        Ok(o) => format!("`docker compose version` failed: {}", String::from_utf8_lossy(&o.stderr).trim()),
        Err(e) => format!("cannot run `docker compose version`: {e}"),
    };
    if require_docker() {
        panic!("docker compose is required (DEVENV_REQUIRE_DOCKER=1) but {why}; install Compose v2 (./test.sh does)");
    }
    eprintln!("\n=== SKIPPED: compose oracle comparison — {why} (set DEVENV_REQUIRE_DOCKER=1 to make this a failure) ===\n");
    false
}

fn compose_args(dir: &Path, files: &[String], project: Option<&str>, profiles: &[String]) -> Vec<String> {
    let mut args = vec!["compose".to_string(), "--project-directory".into(), dir.to_string_lossy().into_owned()];
    for f in files {
        args.extend(["-f".to_string(), f.clone()]);
    }
    if let Some(p) = project {
        args.extend(["-p".to_string(), p.to_string()]);
    }
    for p in profiles {
        args.extend(["--profile".to_string(), p.clone()]);
    }
    args.extend(["config", "--format", "json"].map(String::from));
    args
}

/// `docker compose … config --format json`: Ok(json) or Err(stderr).
fn run_compose(
    dir: &Path,
    files: &[String],
    project: Option<&str>,
    profiles: &[String],
    env: &HashMap<String, String>,
) -> Result<Value, String> {
    let out = Command::new("docker")
        .args(compose_args(dir, files, project, profiles))
        .env_clear()
        .envs(env)
        .current_dir(dir)
        .output()
        .map_err(|e| format!("cannot run docker compose: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("compose printed something that is not JSON: {e}"))
}

fn run_ours(
    dir: &Path,
    files: &[String],
    project: Option<&str>,
    profiles: &[String],
    env: &HashMap<String, String>,
) -> Result<compose::ComposeProject, ConfigError> {
    let opts = LoadOptions {
        cwd: dir.to_path_buf(),
        project: project.map(String::from),
        profiles: profiles.to_vec(),
        environ: env.clone(),
        ..Default::default()
    };
    let files: Vec<PathBuf> = files.iter().map(PathBuf::from).collect();
    compose::load(&files, &opts)
}

/// Compose's output restricted to what devenv models. Each normalization is
/// for something genuinely outside the comparison:
fn normalize_compose(mut v: Value) -> Value {
    // 1. `docker compose config` escapes every `$` of its output as `$$`
    //    (`escapeDollarSign`) so the printed file can be fed back to compose;
    //    devenv's model holds the values themselves.
    unescape_dollars(&mut v);
    let Value::Object(top) = &mut v else { return v };
    // 2. Top-level sections outside the subset (none left: `secrets` and `configs` are in).
    top.retain(|k, _| matches!(k.as_str(), "name" | "services" | "networks" | "volumes" | "secrets" | "configs") || k.starts_with("x-"));
    if let Some(Value::Object(services)) = top.get_mut("services") {
        for svc in services.values_mut() {
            let Value::Object(svc) = svc else { continue };
            // 3. Service keys devenv does not model (`logging`, `deploy`, `links`,
            //    `dns`…): devenv reports them as ignored or refused instead.
            svc.retain(|k, _| compose::SUPPORTED_SERVICE_KEYS.contains(&k.as_str()));
            // 4. `build` keys devenv does not model (`cache_from`, `labels`…: ignored, with a warning).
            //    (`ssh` is modelled, but compose 2.26 cannot print it as JSON: a case with it fails there.)
            if let Some(Value::Object(b)) = svc.get_mut("build") {
                b.retain(|k, _| {
                    matches!(k.as_str(), "context" | "dockerfile" | "dockerfile_inline" | "args" | "target" | "additional_contexts" | "secrets" | "platforms")
                });
            }
            // 6. `deploy` keys other than the resource amounts, `restart_policy`
            //    and `replicas` (`placement`…, ignored), and what is empty once they are gone.
            if let Some(Value::Object(d)) = svc.get_mut("deploy") {
                d.retain(|k, _| matches!(k.as_str(), "resources" | "restart_policy" | "replicas"));
                if let Some(Value::Object(r)) = d.get_mut("resources") {
                    r.retain(|k, _| matches!(k.as_str(), "limits" | "reservations"));
                    for amounts in r.values_mut() {
                        if let Value::Object(a) = amounts {
                            a.retain(|k, _| matches!(k.as_str(), "cpus" | "memory" | "pids"));
                        }
                    }
                    r.retain(|_, a| a.as_object().is_none_or(|a| !a.is_empty()));
                }
                d.retain(|_, v| v.as_object().is_none_or(|o| !o.is_empty()));
            }
            if svc.get("deploy").and_then(Value::as_object).is_some_and(|d| d.is_empty()) {
                svc.remove("deploy");
            }
            // 5. Per-network settings other than `aliases` (`ipv4_address`…, ignored).
            if let Some(Value::Object(nets)) = svc.get_mut("networks") {
                for n in nets.values_mut() {
                    if let Value::Object(cfg) = n {
                        cfg.retain(|k, _| k == "aliases");
                    }
                }
            }
        }
    }
    v
}

fn unescape_dollars(v: &mut Value) {
    match v {
        Value::String(s) => *s = s.replace("$$", "$"),
        Value::Array(items) => items.iter_mut().for_each(unescape_dollars),
        Value::Object(m) => m.values_mut().for_each(unescape_dollars),
        _ => {}
    }
}

/// Differences as readable lines: `path: compose <value>, devenv <value>`.
fn diff(path: &str, compose: Option<&Value>, ours: Option<&Value>, out: &mut Vec<String>) {
    match (compose, ours) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                diff(&p, a.get(k), b.get(k), out);
            }
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                diff(&format!("{path}[{i}]"), Some(x), Some(y), out);
            }
        }
        (a, b) if a == b => {}
        (a, b) => {
            let show = |v: Option<&Value>| v.map(|v| v.to_string()).unwrap_or_else(|| "(absent)".into());
            let (service, field) = match path.strip_prefix("services.").and_then(|r| r.split_once('.')) {
                Some((s, f)) => (format!("service `{s}`: "), f.to_string()),
                None => (String::new(), path.to_string()),
            };
            out.push(format!("{service}{field}: compose {}, devenv {}", show(a), show(b)));
        }
    }
}

#[test]
fn there_are_enough_cases() {
    let names: Vec<String> = cases().into_iter().map(|c| c.name).collect();
    assert!(names.len() >= 30, "fixtures/compose should hold at least 30 cases, found {}: {names:?}", names.len());
}

/// Runs without Docker: every case loads, and its JSON has compose's top-level shape.
#[test]
fn every_case_loads() {
    let mut failures = Vec::new();
    for case in cases() {
        let env = controlled_env(&case.env);
        match run_ours(&case.dir, &case.files, case.project.as_deref(), &case.profiles, &env) {
            Ok(p) => {
                let v = serde_json::to_value(&p).expect("the model serializes");
                assert!(v["name"].is_string() && v["services"].is_object(), "{}: {v}", case.name);
            }
            Err(e) => failures.push(format!("{}: {e} (hint: {:?})", case.name, e.hint)),
        }
    }
    assert!(failures.is_empty(), "cases that do not load:\n{}", failures.join("\n"));
}

#[test]
fn matches_docker_compose_config() {
    if !compose_available() {
        return;
    }
    let mut report = Vec::new();
    let mut compared = 0;
    for case in cases() {
        let env = controlled_env(&case.env);
        let theirs = match run_compose(&case.dir, &case.files, case.project.as_deref(), &case.profiles, &env) {
            Ok(v) => normalize_compose(v),
            Err(e) => {
                report.push(format!("== {}: docker compose rejected the case (fix the fixture): {e}", case.name));
                continue;
            }
        };
        let ours = match run_ours(&case.dir, &case.files, case.project.as_deref(), &case.profiles, &env) {
            Ok(p) => serde_json::to_value(&p).expect("the model serializes"),
            Err(e) => {
                report.push(format!("== {}: devenv failed where compose succeeded: {e}", case.name));
                continue;
            }
        };
        let mut lines = Vec::new();
        diff("", Some(&theirs), Some(&ours), &mut lines);
        if !lines.is_empty() {
            report.push(format!("== {} ({} differences)\n  {}", case.name, lines.len(), lines.join("\n  ")));
        }
        compared += 1;
    }
    assert!(report.is_empty(), "devenv and docker compose disagree ({compared} cases compared):\n{}", report.join("\n"));
    eprintln!("compose oracle: {compared} cases identical to `docker compose config` on the supported subset");
}

/// `expected` of a bad case.
struct Expected {
    message: String,
    file: String,
    line: usize,
    col: usize,
    path: Option<String>,
    compose_rejects: bool,
    files: Vec<String>,
}

fn read_expected(dir: &Path) -> Expected {
    let text = std::fs::read_to_string(dir.join("expected")).unwrap_or_else(|e| panic!("{}: cannot read expected: {e}", dir.display()));
    let fields: BTreeMap<&str, &str> = text.lines().filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim(), v.trim())).collect();
    let at = fields.get("at").unwrap_or_else(|| panic!("{}: expected has no `at:`", dir.display()));
    let mut parts = at.rsplitn(3, ':');
    let col = parts.next().and_then(|c| c.parse().ok()).expect("at: FILE:LINE:COL");
    let line = parts.next().and_then(|c| c.parse().ok()).expect("at: FILE:LINE:COL");
    let file = parts.next().expect("at: FILE:LINE:COL").to_string();
    Expected {
        message: fields.get("message").expect("expected has `message:`").to_string(),
        file,
        line,
        col,
        path: fields.get("path").map(|p| p.to_string()),
        compose_rejects: match fields.get("compose").copied() {
            Some("rejects") => true,
            Some("accepts") => false,
            other => panic!("{}: `compose:` must be rejects or accepts, found {other:?}", dir.display()),
        },
        files: fields.get("files").map(|f| f.split_whitespace().map(String::from).collect()).unwrap_or_else(|| vec!["compose.yaml".into()]),
    }
}

#[test]
fn bad_inputs_fail_with_compose_like_errors() {
    let root = fixtures().join("bad");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("fixtures/compose/bad exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 5, "expected the bad-input cases in {}", root.display());
    let with_compose = compose_available();
    let mut failures = Vec::new();
    for dir in &dirs {
        let name = dir.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let want = read_expected(dir);
        let env = controlled_env(&[]);
        match run_ours(dir, &want.files, Some(PROJECT), &[], &env) {
            Ok(_) => failures.push(format!("{name}: devenv accepted it; expected an error containing {:?}", want.message)),
            Err(e) => {
                let file =
                    e.file.strip_prefix(dir).map(|f| f.to_string_lossy().into_owned()).unwrap_or_else(|_| e.file.display().to_string());
                let pos = e.pos.map(|p| (p.line, p.col));
                let mut problems = Vec::new();
                if !e.message.contains(&want.message) {
                    problems.push(format!("message {:?} does not contain {:?}", e.message, want.message));
                }
                if file != want.file || pos != Some((want.line, want.col)) {
                    problems.push(format!("at {file}:{pos:?}, expected {}:{}:{}", want.file, want.line, want.col));
                }
                if let Some(p) = &want.path
                    && &e.yaml_path != p
                {
                    problems.push(format!("YAML path {:?}, expected {p:?}", e.yaml_path));
                }
                if !problems.is_empty() {
                    failures.push(format!("{name}: {}\n    (error was: {e})", problems.join("; ")));
                }
            }
        }
        if with_compose {
            let compose = run_compose(dir, &want.files, Some(PROJECT), &[], &env);
            match (compose.is_err(), want.compose_rejects) {
                (true, true) | (false, false) => {}
                (false, true) => failures.push(format!("{name}: docker compose accepts this file, but `expected` says it rejects it")),
                (true, false) => failures.push(format!("{name}: docker compose rejects this file: {}", compose.err().unwrap_or_default())),
            }
        }
    }
    assert!(failures.is_empty(), "bad-input cases:\n{}", failures.join("\n"));
}

/// What devenv tells the user about keys it does not run, on two fixture cases.
#[test]
fn warnings_on_fixture_cases() {
    let load = |name: &str| {
        let case = read_case(&fixtures().join(name)).expect("a case");
        run_ours(&case.dir, &case.files, case.project.as_deref(), &case.profiles, &controlled_env(&case.env)).expect("loads")
    };
    let p = load("ignored-keys");
    assert_eq!(
        p.warnings.iter().filter(|w| w.contains("devenv ignores")).collect::<Vec<_>>(),
        ["service `api`: devenv ignores logging, pull_policy, dns, sysctls, \
          security_opt, read_only, build.cache_from, build.labels, networks.default.ipv4_address, links"]
    );
    // Resource limits and restart policies run; what compose gives no engine setting is named.
    let p = load("resources");
    assert_eq!(
        p.warnings.iter().filter(|w| w.contains("devenv ignores")).collect::<Vec<_>>(),
        // (`deploy.replicas: 1` of `both` runs since replicas are supported: it is not named.)
        ["service `deployed`: devenv ignores deploy.resources.reservations.cpus, deploy.restart_policy.delay, deploy.restart_policy.window"]
    );
    let p = load("legacy-names");
    assert_eq!(p.warnings.iter().filter(|w| w.contains("`version` is obsolete")).count(), 2, "{:?}", p.warnings);
}
