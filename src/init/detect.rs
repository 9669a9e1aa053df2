//! What a repository holds: a compose file, and app services found by their
//! manifests (`package.json`, `Cargo.toml`, `pyproject.toml` /
//! `requirements.txt`, `go.mod`) and Dockerfiles, in the root and one level of
//! sub-directories (monorepos: `frontend/`, `backend/`).
//!
//! Reads files only; every guess carries the reason it was made, for the
//! comments `render` writes.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;

use super::dockerfile::{self, Dockerfile};
use super::generate;
pub use super::lang::Lang;
use crate::config::WatchAction;
use crate::preset::{self, Kind};

/// Compose file names, as `docker compose` looks for them.
pub const COMPOSE_FILES: &[&str] = &["compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml"];

/// Directories never looked into (dependencies, build output, VCS).
pub const SKIP_DIRS: &[&str] =
    &["node_modules", "target", "vendor", "dist", "build", "venv", ".venv", "__pycache__", ".git", "coverage", "out", "tmp"];

/// Directories whose code does not run in the app (tests, fixtures, docs): not scanned for ports or health paths.
const NOT_APP_CODE: &[&str] = &["tests", "test", "__tests__", "spec", "e2e", "fixtures", "testdata", "examples", "docs", "benches"];

/// Ports of backing services besides the presets' own (`backing_ports`).
const OTHER_BACKING_PORTS: &[u16] = &[9300, 3306, 27017, 11211];

/// Ports of backing services: a source file naming them talks to a database, it does not listen there.
pub(super) fn backing_ports() -> Vec<u16> {
    let mut ports: Vec<u16> = OTHER_BACKING_PORTS.to_vec();
    for kind in preset::ALL {
        ports.extend(kind.published_ports());
        ports.push(kind.preset().connection(&Default::default(), &[]).network_port());
    }
    ports
}

/// How devenv should decide the app is ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthGuess {
    /// The Dockerfile has a HEALTHCHECK: devenv follows it.
    Image,
    /// An HTTP GET on this path answers 2xx/3xx.
    Http(String),
    /// The port accepts connections.
    Tcp,
}

/// A proposed `watch:` rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchGuess {
    /// Relative to the environment file, `./…`.
    pub path: String,
    pub target: Option<String>,
    pub action: WatchAction,
    pub ignore: Vec<String>,
}

/// A file `init` writes next to an app because the app lacks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// Relative to the root.
    pub path: String,
    pub content: String,
}

/// One proposed app service.
#[derive(Debug, Clone, PartialEq)]
pub struct App {
    /// Service name (valid as a devenv service name).
    pub name: String,
    /// Directory relative to the root: `.` or `frontend`.
    pub dir: String,
    pub lang: Lang,
    /// The container port it listens on.
    pub port: u16,
    /// Why that port (for the comment).
    pub port_from: String,
    pub health: HealthGuess,
    /// Why that probe (for the comment).
    pub health_from: String,
    pub watch: Vec<WatchGuess>,
    /// What was found: `package.json`, `Dockerfile (EXPOSE 8080)`, …
    pub evidence: Vec<String>,
    /// Presets its dependencies suggest, with the dependency that suggests it.
    pub suggests: Vec<(Kind, String)>,
    /// Files to write because the directory has none (a Dockerfile, a .dockerignore).
    pub generated: Vec<Generated>,
}

impl App {
    /// `./` for the root, `./web` for a sub-directory.
    pub fn display_dir(&self) -> String {
        if self.dir == "." { "./".into() } else { format!("./{}", self.dir) }
    }
}

/// Everything found in a repository.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    pub root: PathBuf,
    /// A compose file in the root (`devenv import` converts it).
    pub compose: Option<String>,
    pub apps: Vec<App>,
}

impl Detection {
    /// Presets suggested by any app's dependencies, each once, in preset order.
    pub fn suggested_presets(&self) -> Vec<(Kind, String)> {
        let mut out: Vec<(Kind, String)> = Vec::new();
        for &kind in preset::ALL {
            let why: Vec<String> =
                self.apps.iter().flat_map(|a| a.suggests.iter().filter(|(k, _)| *k == kind).map(move |(_, dep)| format!("{dep} in {}", a.display_dir()))).collect();
            if !why.is_empty() {
                out.push((kind, why.join(", ")));
            }
        }
        out
    }
}

/// Look at `root` and its direct sub-directories.
pub fn detect(root: &Path) -> Detection {
    let compose = COMPOSE_FILES.iter().find(|f| root.join(f).is_file()).map(|f| (*f).to_string());
    let mut apps = Vec::new();
    if let Some(app) = analyze(root, ".") {
        apps.push(app);
    }
    for sub in sub_dirs(root) {
        if let Some(app) = analyze(root, &sub) {
            apps.push(app);
        }
    }
    Detection { root: root.to_path_buf(), compose, apps }
}

fn sub_dirs(root: &Path) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(root) else { return vec![] };
    let mut out: Vec<String> = rd
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| !n.starts_with('.') && !SKIP_DIRS.contains(&n.as_str()))
        .collect();
    out.sort();
    out
}

fn read(dir: &Path, name: &str) -> Option<String> {
    let p = dir.join(name);
    if !p.is_file() {
        return None;
    }
    std::fs::read_to_string(p).ok()
}

/// The manifests of one directory.
struct Manifests {
    dockerfile: Option<Dockerfile>,
    package_json: Option<serde_json::Value>,
    cargo: Option<String>,
    pyproject: Option<String>,
    requirements: Option<String>,
    go_mod: Option<String>,
}

impl Manifests {
    fn read(dir: &Path) -> Manifests {
        Manifests {
            dockerfile: read(dir, "Dockerfile").map(|t| dockerfile::parse(&t)),
            package_json: read(dir, "package.json").and_then(|t| serde_json::from_str(&t).ok()),
            cargo: read(dir, "Cargo.toml"),
            pyproject: read(dir, "pyproject.toml"),
            requirements: read(dir, "requirements.txt"),
            go_mod: read(dir, "go.mod"),
        }
    }

    /// The language, unless the directory is only a workspace root (its members are the apps).
    fn lang(&self) -> Option<Lang> {
        let has_df = self.dockerfile.is_some();
        if let Some(pkg) = &self.package_json {
            if pkg.get("workspaces").is_some() && !has_df {
                return None;
            }
            return Some(Lang::Node);
        }
        if let Some(cargo) = &self.cargo {
            let is_package = cargo.lines().any(|l| l.trim() == "[package]");
            if is_package || has_df {
                return Some(Lang::Rust);
            }
            return None;
        }
        if self.go_mod.is_some() {
            return Some(Lang::Go);
        }
        if self.pyproject.is_some() || self.requirements.is_some() {
            return Some(Lang::Python);
        }
        has_df.then_some(Lang::Other)
    }

    /// The file whose change means "reinstall dependencies": rebuild.
    fn manifest_file(&self, lang: Lang) -> Option<&'static str> {
        match lang {
            Lang::Node => Some("package.json"),
            Lang::Rust => Some("Cargo.toml"),
            Lang::Go => Some("go.mod"),
            Lang::Python if self.requirements.is_some() => Some("requirements.txt"),
            Lang::Python => Some("pyproject.toml"),
            Lang::Other => None,
        }
    }
}

/// A service name from a directory name: `Web App` → `web-app`.
pub fn service_name(dir_name: &str) -> String {
    let mut s: String = dir_name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-' { c.to_ascii_lowercase() } else { '-' })
        .collect();
    while s.starts_with(|c: char| !c.is_ascii_alphanumeric()) {
        s.remove(0);
    }
    if s.is_empty() { "app".into() } else { s }
}

fn analyze(root: &Path, rel: &str) -> Option<App> {
    let dir = if rel == "." { root.to_path_buf() } else { root.join(rel) };
    let m = Manifests::read(&dir);
    let lang = m.lang()?;
    let facts = generate::facts(lang, &dir, &m.package_json, &m.pyproject, &m.requirements, &m.go_mod);
    let mut evidence = Vec::new();
    for (present, name) in [
        (m.package_json.is_some(), "package.json"),
        (m.cargo.is_some(), "Cargo.toml"),
        (m.pyproject.is_some(), "pyproject.toml"),
        (m.requirements.is_some(), "requirements.txt"),
        (m.go_mod.is_some(), "go.mod"),
    ] {
        if present {
            evidence.push(name.to_string());
        }
    }
    let (port, port_from) = match m.dockerfile.as_ref().and_then(|d| d.expose.first()) {
        Some(p) => (*p, "EXPOSE in the Dockerfile".to_string()),
        None => port_guess(lang, &dir, &facts),
    };
    let mut generated = Vec::new();
    let copy_target = match &m.dockerfile {
        Some(df) => {
            evidence.push(if df.expose.is_empty() { "Dockerfile".into() } else { format!("Dockerfile (EXPOSE {})", df.expose[0]) });
            df.copy_target.clone()
        }
        None => {
            let prefix = if rel == "." { String::new() } else { format!("{rel}/") };
            generated.push(Generated { path: format!("{prefix}Dockerfile"), content: generate::dockerfile(lang, &dir, &facts, port) });
            if !dir.join(".dockerignore").exists() {
                generated.push(Generated { path: format!("{prefix}.dockerignore"), content: generate::dockerignore(lang) });
            }
            Some(generate::WORKDIR.to_string())
        }
    };
    let (health, health_from) = health_guess(m.dockerfile.as_ref(), lang, &dir);
    let name = if rel == "." { "app".to_string() } else { service_name(rel) };
    let watch = watch_guess(lang, &dir, rel, copy_target.as_deref(), m.manifest_file(lang));
    let suggests = suggestions(lang, &m);
    Some(App { name, dir: rel.to_string(), lang, port, port_from, health, health_from, watch, evidence, suggests, generated })
}

/// The port from the manifests, the source, the framework's default, or the language's.
fn port_guess(lang: Lang, dir: &Path, facts: &generate::Facts) -> (u16, String) {
    if let Some(p) = &facts.port {
        return p.clone();
    }
    if let Some((p, file)) = port_in_sources(lang, dir) {
        return (p, format!("found in {file}"));
    }
    let default = match lang {
        Lang::Node => 3000,
        Lang::Python => 8000,
        Lang::Rust | Lang::Go | Lang::Other => 8080,
    };
    (default, format!("the usual default for {} apps; change it if yours listens elsewhere", lang.name()))
}

static LISTEN_PORT: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r#"(?:\.listen\(\s*|PORT\s*(?:\|\||\?\?|,|or)\s*["']?|\bport\s*[=:]\s*|["'](?:0\.0\.0\.0|127\.0\.0\.1|\[::\]|localhost)?:)(\d{4,5})\b"#).ok()
});

fn port_in_sources(lang: Lang, dir: &Path) -> Option<(u16, String)> {
    let re = LISTEN_PORT.as_ref()?;
    let mut found = None;
    let backing = backing_ports();
    scan_sources(dir, lang.source_extensions(), &mut |rel, text| {
        let port = re.captures_iter(text).filter_map(|c| c.get(1)?.as_str().parse::<u16>().ok()).find(|p| *p >= 1024 && !backing.contains(p));
        if let Some(p) = port {
            found = Some((p, rel.to_string()));
            return true;
        }
        false
    });
    found
}

fn health_guess(df: Option<&Dockerfile>, lang: Lang, dir: &Path) -> (HealthGuess, String) {
    if df.is_some_and(|d| d.healthcheck) {
        return (HealthGuess::Image, "the Dockerfile's HEALTHCHECK".into());
    }
    let mut found: Option<(String, String)> = None;
    scan_sources(dir, lang.source_extensions(), &mut |rel, text| {
        for path in ["/healthz", "/health", "/livez", "/ping"] {
            if text.contains(&format!("\"{path}\"")) || text.contains(&format!("'{path}'")) || text.contains(&format!("`{path}`")) {
                found = Some((path.to_string(), rel.to_string()));
                return true;
            }
        }
        false
    });
    match found {
        Some((path, file)) => (HealthGuess::Http(path.clone()), format!("{path} appears in {file}")),
        None => (HealthGuess::Tcp, "no health endpoint found in the source".into()),
    }
}

/// Call `f(relative path, text)` for source files under `dir` (bounded: depth 4,
/// 400 files, 256 KiB each) until it returns true.
pub fn scan_sources(dir: &Path, exts: &[&str], f: &mut dyn FnMut(&str, &str) -> bool) {
    let mut budget = 400usize;
    let mut stack = vec![(dir.to_path_buf(), 0usize)];
    while let Some((d, depth)) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        let mut entries: Vec<_> = rd.filter_map(Result::ok).collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let name = e.file_name().to_string_lossy().to_string();
            let Ok(t) = e.file_type() else { continue };
            if t.is_dir() {
                if depth < 4 && !name.starts_with('.') && !SKIP_DIRS.contains(&name.as_str()) && !NOT_APP_CODE.contains(&name.as_str()) {
                    stack.push((e.path(), depth + 1));
                }
                continue;
            }
            let ext_ok = Path::new(&name).extension().and_then(|x| x.to_str()).is_some_and(|x| exts.contains(&x));
            if !t.is_file() || !ext_ok || e.metadata().map(|m| m.len()).unwrap_or(u64::MAX) > 256 * 1024 {
                continue;
            }
            if budget == 0 {
                return;
            }
            budget -= 1;
            let Ok(text) = std::fs::read_to_string(e.path()) else { continue };
            let rel = e.path().strip_prefix(dir).map(|p| p.display().to_string()).unwrap_or(name);
            if f(&rel, &text) {
                return;
            }
        }
    }
}

/// Where the code lives: the first of the usual source folders, else the whole directory.
fn source_folder(lang: Lang, dir: &Path) -> Option<&'static str> {
    let candidates: &[&str] = match lang {
        Lang::Node => &["src", "app", "pages", "lib"],
        Lang::Python => &["src", "app"],
        Lang::Rust => &["src"],
        Lang::Go => &["cmd", "internal", "pkg"],
        Lang::Other => &["src"],
    };
    candidates.iter().find(|c| dir.join(c).is_dir()).copied()
}

fn watch_guess(lang: Lang, dir: &Path, rel: &str, copy_target: Option<&str>, manifest: Option<&str>) -> Vec<WatchGuess> {
    let host = |sub: &str| match (rel, sub) {
        (".", "") => ".".to_string(),
        (".", s) => format!("./{s}"),
        (r, "") => format!("./{r}"),
        (r, s) => format!("./{r}/{s}"),
    };
    let folder = if lang == Lang::Go { None } else { source_folder(lang, dir) };
    let path = host(folder.unwrap_or(""));
    let ignore: Vec<String> = if folder.is_some() {
        vec![]
    } else {
        ["node_modules", "target", ".venv", "__pycache__", "*.md", "devenv.yaml"].iter().map(|s| s.to_string()).collect()
    };
    let live = match lang {
        Lang::Node => Some(WatchAction::Sync),
        Lang::Python => Some(WatchAction::Restart),
        _ => None,
    };
    let mut rules = vec![match (live, copy_target) {
        (Some(action), Some(target)) => {
            let target = match folder {
                Some(f) => format!("{}/{f}", target.trim_end_matches('/')),
                None => target.to_string(),
            };
            WatchGuess { path, target: Some(target), action, ignore }
        }
        _ => WatchGuess { path, target: None, action: WatchAction::Rebuild, ignore },
    }];
    if folder.is_some()
        && let Some(manifest) = manifest
        && dir.join(manifest).is_file()
    {
        rules.push(WatchGuess { path: host(manifest), target: None, action: WatchAction::Rebuild, ignore: vec![] });
    }
    rules
}

/// Dependency names that suggest a preset, per language, in preset order (`Preset::dependencies`).
fn dependency_table(lang: Lang) -> Vec<(&'static str, Kind)> {
    let Some(eco) = lang.ecosystem() else { return vec![] };
    preset::ALL.iter().flat_map(|&k| k.preset().dependencies(eco).iter().map(move |d| (*d, k))).collect()
}

/// Is `dep` named as a dependency in a requirements/pyproject/Cargo.toml text?
fn names_dependency(text: &str, dep: &str) -> bool {
    let pattern = format!(r#"(?mi)(^|[\s"'\[,])({})([\s"'=<>~!\[;,.]|$)"#, regex::escape(dep));
    Regex::new(&pattern).is_ok_and(|re| re.is_match(text))
}

fn suggestions(lang: Lang, m: &Manifests) -> Vec<(Kind, String)> {
    let owned = dependency_table(lang);
    let table = owned.as_slice();
    let mut out: Vec<(Kind, String)> = Vec::new();
    let mut add = |kind: Kind, dep: &str| {
        if !out.iter().any(|(k, _)| *k == kind) {
            out.push((kind, dep.to_string()));
        }
    };
    match lang {
        Lang::Node => {
            let pkg = m.package_json.as_ref();
            for section in ["dependencies", "devDependencies"] {
                let Some(deps) = pkg.and_then(|p| p.get(section)).and_then(|d| d.as_object()) else { continue };
                for (dep, kind) in table {
                    if deps.contains_key(*dep) {
                        add(*kind, dep);
                    }
                }
            }
        }
        Lang::Go => {
            let text = m.go_mod.as_deref().unwrap_or("");
            for (dep, kind) in table {
                if text.contains(dep) {
                    add(*kind, dep);
                }
            }
        }
        Lang::Rust | Lang::Python => {
            let text = [m.cargo.as_deref(), m.pyproject.as_deref(), m.requirements.as_deref()].into_iter().flatten().collect::<Vec<_>>().join("\n");
            for (dep, kind) in table {
                if names_dependency(&text, dep) {
                    add(*kind, dep);
                }
            }
            for &kind in preset::ALL {
                if let Some(hint) = lang.ecosystem().and_then(|e| kind.preset().dependency_hint(e, &text)) {
                    add(kind, hint);
                }
            }
        }
        Lang::Other => {}
    }
    out
}
