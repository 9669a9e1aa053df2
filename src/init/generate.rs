//! Per-language facts (port, start command) and the Dockerfile `init` writes
//! for an app that has none: a development image, source copied to `/app`,
//! dependencies installed in their own layer so code edits rebuild fast.

use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

use super::lang::Lang;

/// Where generated Dockerfiles put the source (and the `sync` watch rules' target).
pub const WORKDIR: &str = "/app";

/// What a language's manifests say about running the app.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// A port stated by the manifests or the framework, with why.
    pub port: Option<(u16, String)>,
    /// The command that starts the app in development.
    pub command: Vec<String>,
    /// Node: the package manager (`npm`, `yarn`, `pnpm`).
    pub package_manager: &'static str,
    /// Go: the toolchain version from go.mod.
    pub go_version: Option<String>,
}

fn words(s: &[&str]) -> Vec<String> {
    s.iter().map(|w| (*w).to_string()).collect()
}

pub fn facts(
    lang: Lang,
    dir: &Path,
    package_json: &Option<serde_json::Value>,
    pyproject: &Option<String>,
    requirements: &Option<String>,
    go_mod: &Option<String>,
) -> Facts {
    match lang {
        Lang::Node => node_facts(dir, package_json.as_ref()),
        Lang::Python => python_facts(dir, pyproject.as_deref(), requirements.as_deref()),
        Lang::Go => Facts {
            command: words(&["app"]),
            go_version: go_mod.as_deref().and_then(|t| t.lines().find_map(|l| l.trim().strip_prefix("go ").map(|v| v.trim().to_string()))),
            ..Facts::default()
        },
        Lang::Rust => Facts { command: words(&["cargo", "run"]), ..Facts::default() },
        Lang::Other => Facts::default(),
    }
}

static SCRIPT_PORT: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"(?:\bPORT=|--port[= ]|\s-p\s+)(\d{2,5})\b").ok());

/// `PORT=…` in a `.env` file.
fn dotenv_port(dir: &Path) -> Option<u16> {
    let text = std::fs::read_to_string(dir.join(".env")).ok()?;
    text.lines().find_map(|l| l.trim().strip_prefix("PORT=")).and_then(|v| v.trim().trim_matches(|c| c == '"' || c == '\'').parse().ok())
}

fn node_facts(dir: &Path, pkg: Option<&serde_json::Value>) -> Facts {
    let script = |name: &str| pkg.and_then(|p| p.get("scripts")?.get(name)?.as_str().map(str::to_string));
    let has_dep = |name: &str| {
        ["dependencies", "devDependencies"].iter().any(|s| pkg.and_then(|p| p.get(*s)).and_then(|d| d.as_object()).is_some_and(|d| d.contains_key(name)))
    };
    let package_manager = if dir.join("pnpm-lock.yaml").is_file() {
        "pnpm"
    } else if dir.join("yarn.lock").is_file() {
        "yarn"
    } else {
        "npm"
    };
    let (script_name, script_text) = match (script("dev"), script("start")) {
        (Some(dev), _) => ("dev", Some(dev)),
        (None, Some(start)) => ("start", Some(start)),
        (None, None) => ("", None),
    };
    let frameworks: [(&str, u16, bool); 5] =
        [("next", 3000, false), ("vite", 5173, true), ("@angular/core", 4200, true), ("nuxt", 3000, false), ("react-scripts", 3000, false)];
    let framework = frameworks.iter().find(|(dep, ..)| has_dep(dep));
    let port = script_text
        .as_deref()
        .and_then(|t| SCRIPT_PORT.as_ref()?.captures(t)?.get(1)?.as_str().parse().ok())
        .map(|p| (p, format!("the `{script_name}` script in package.json")))
        .or_else(|| dotenv_port(dir).map(|p| (p, "PORT in .env".to_string())))
        .or_else(|| framework.map(|(dep, p, _)| (*p, format!("the default of {dep}"))));
    let mut command = match (script_name, package_manager) {
        ("", _) => {
            let main = pkg.and_then(|p| p.get("main")?.as_str().map(str::to_string)).unwrap_or_else(|| "index.js".into());
            vec!["node".to_string(), main]
        }
        ("start", "npm") => words(&["npm", "start"]),
        (name, "npm") => vec!["npm".into(), "run".into(), name.to_string()],
        (name, pm) => vec![pm.to_string(), name.to_string()],
    };
    // Dev servers that listen on localhost only would be unreachable from outside the container.
    if framework.is_some_and(|(_, _, localhost_only)| *localhost_only) && !script_name.is_empty() {
        if package_manager == "npm" {
            command.push("--".into());
        }
        command.extend(words(&["--host", "0.0.0.0"]));
    }
    Facts { port, command, package_manager, go_version: None }
}

fn python_facts(dir: &Path, pyproject: Option<&str>, requirements: Option<&str>) -> Facts {
    let deps = format!("{}\n{}", pyproject.unwrap_or(""), requirements.unwrap_or("")).to_ascii_lowercase();
    let module = ["main.py", "app.py", "app/main.py", "server.py"].into_iter().find(|f| dir.join(f).is_file());
    let asgi = module.map(|m| m.trim_end_matches(".py").replace('/', ".")).unwrap_or_else(|| "main".into());
    if dir.join("manage.py").is_file() {
        return Facts {
            port: Some((8000, "the default of Django's runserver".into())),
            command: words(&["python", "manage.py", "runserver", "0.0.0.0:8000"]),
            ..Facts::default()
        };
    }
    if deps.contains("fastapi") || deps.contains("uvicorn") {
        return Facts {
            port: Some((8000, "the default of uvicorn".into())),
            command: vec!["uvicorn".into(), format!("{asgi}:app"), "--host".into(), "0.0.0.0".into(), "--port".into(), "8000".into(), "--reload".into()],
            ..Facts::default()
        };
    }
    if deps.contains("flask") {
        return Facts {
            port: Some((5000, "the default of Flask".into())),
            command: vec!["flask".into(), "--app".into(), asgi, "run".into(), "--host".into(), "0.0.0.0".into(), "--port".into(), "5000".into()],
            ..Facts::default()
        };
    }
    Facts {
        port: dotenv_port(dir).map(|p| (p, "PORT in .env".to_string())),
        command: vec!["python".into(), module.unwrap_or("main.py").to_string()],
        ..Facts::default()
    }
}

fn json_command(cmd: &[String]) -> String {
    serde_json::to_string(cmd).unwrap_or_else(|_| "[]".into())
}

/// A development Dockerfile for an app that has none.
pub fn dockerfile(lang: Lang, dir: &Path, facts: &Facts, port: u16) -> String {
    let head = "# Written by `devenv init` (there was no Dockerfile): a development image.\n# Edit freely; `devenv up --build` rebuilds it.\n";
    let body = match lang {
        Lang::Node => {
            let (lock, install) = match facts.package_manager {
                "pnpm" => ("pnpm-lock.yaml ", "corepack enable && pnpm install"),
                "yarn" => ("yarn.lock ", "corepack enable && yarn install"),
                _ => ("", "npm install"),
            };
            let lock = if dir.join("package-lock.json").is_file() { "package-lock.json " } else { lock };
            format!("FROM node:22-alpine\nWORKDIR {WORKDIR}\nCOPY package.json {lock}./\nRUN {install}\nCOPY . .\n")
        }
        Lang::Python => {
            if dir.join("requirements.txt").is_file() {
                format!("FROM python:3.12-slim\nWORKDIR {WORKDIR}\nCOPY requirements.txt ./\nRUN pip install --no-cache-dir -r requirements.txt\nCOPY . .\nENV PYTHONUNBUFFERED=1\n")
            } else {
                format!("FROM python:3.12-slim\nWORKDIR {WORKDIR}\nCOPY . .\nRUN pip install --no-cache-dir .\nENV PYTHONUNBUFFERED=1\n")
            }
        }
        Lang::Rust => format!("FROM rust:1\nWORKDIR {WORKDIR}\nCOPY . .\nRUN cargo build\n"),
        Lang::Go => {
            let version = facts.go_version.as_deref().map(|v| v.split('.').take(2).collect::<Vec<_>>().join(".")).unwrap_or_else(|| "1".into());
            let sum = if dir.join("go.sum").is_file() { " go.sum" } else { "" };
            format!("FROM golang:{version}\nWORKDIR {WORKDIR}\nCOPY go.mod{sum} ./\nRUN go mod download\nCOPY . .\nRUN go build -o /usr/local/bin/app .\n")
        }
        Lang::Other => format!("FROM debian:bookworm-slim\nWORKDIR {WORKDIR}\nCOPY . .\n"),
    };
    let cmd = if facts.command.is_empty() { "# CMD [\"your\", \"start\", \"command\"]".to_string() } else { format!("CMD {}", json_command(&facts.command)) };
    format!("{head}{body}ENV PORT={port}\nEXPOSE {port}\n{cmd}\n")
}

/// A `.dockerignore` keeping dependencies and build output out of the build context.
pub fn dockerignore(lang: Lang) -> String {
    let specific: &[&str] = match lang {
        Lang::Node => &["node_modules", "dist", ".next"],
        Lang::Python => &[".venv", "venv", "__pycache__", "*.pyc"],
        Lang::Rust => &["target"],
        Lang::Go => &["bin"],
        Lang::Other => &[],
    };
    let mut out = String::from("# Written by `devenv init`: kept out of the image build (and out of `watch` syncs).\n.git\n");
    for line in specific {
        out.push_str(line);
        out.push('\n');
    }
    out
}
