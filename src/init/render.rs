//! The commented `devenv.yaml` that `init` writes (each preset's lines come
//! from `Preset::init_text`).

use std::fmt::Write as _;

use super::detect::{App, HealthGuess, WatchGuess};
use crate::config::WatchAction;
use crate::preset::{self, Kind};

/// What goes into the file: the project name, the chosen presets and apps.
#[derive(Debug, Clone, PartialEq)]
pub struct Choices {
    pub project: String,
    pub presets: Vec<Kind>,
    pub apps: Vec<App>,
}

/// The service name, the app variable and a one-line description of each preset.
pub fn preset_service(kind: Kind) -> (&'static str, &'static str, &'static str) {
    let t = kind.preset().init_text();
    (t.service, t.variable, t.about)
}

/// A YAML scalar: plain when safe, else double-quoted (JSON strings are valid YAML).
fn q(s: &str) -> String {
    let safe_chars = !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "._/-".contains(c));
    let safe_start = s == "." || s.starts_with("./") || !s.starts_with(['-', '.']);
    let not_special = !matches!(s, "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "y" | "n") && s.parse::<f64>().is_err();
    let plain = safe_chars && safe_start && not_special;
    if plain { s.to_string() } else { serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\"")) }
}

fn flow_list(items: &[String]) -> String {
    format!("[{}]", items.iter().map(|s| q(s)).collect::<Vec<_>>().join(", "))
}

const HEADER: &str = "\
# devenv.yaml, written by `devenv init`: this project's development environment.
# Edit freely; `devenv config` checks the file and shows what devenv understood.
#
#   devenv up -d      start everything, return once every service is ready
#   devenv ps         state, health and ports of each service
#   devenv env        host-side URLs for your own tools (psql, redis-cli, ...)
#   devenv down -v    stop and remove it all, data included
#
# Every key is described in README.md#the-environment-file.
";

/// App names made unique and distinct from the preset services' names (in `c.apps` order).
pub fn app_names(c: &Choices) -> Vec<String> {
    let mut taken: Vec<String> = c.presets.iter().map(|k| preset_service(*k).0.to_string()).collect();
    c.apps
        .iter()
        .map(|a| {
            let mut name = a.name.clone();
            let mut n = 2;
            while taken.contains(&name) {
                name = format!("{}-{n}", a.name);
                n += 1;
            }
            taken.push(name.clone());
            name
        })
        .collect()
}

/// Host ports for the apps: the container port, moved up past any port already published.
fn host_ports(c: &Choices) -> Vec<u16> {
    let mut used: Vec<u16> = c.presets.iter().flat_map(|k| k.published_ports()).collect();
    c.apps
        .iter()
        .map(|a| {
            let mut p = a.port;
            while used.contains(&p) && p < u16::MAX {
                p += 1;
            }
            used.push(p);
            p
        })
        .collect()
}

/// The whole file.
pub fn render(c: &Choices) -> String {
    let mut out = String::from(HEADER);
    let _ = writeln!(out, "name: {}\n", q(&c.project));
    if c.presets.is_empty() && c.apps.is_empty() {
        let (first, others) = preset::NAMES.split_first().map(|(f, o)| (*f, o.join(", "))).unwrap_or_default();
        let _ = write!(
            out,
            "# No services yet. A backing service is one line, e.g.\n#   db:\n#     preset: {first}     # or {others}\n# and an app is `build: ./dir` (or `image: name:tag`) with `ports:`.\nservices: {{}}\n",
        );
        return out;
    }
    out.push_str("services:\n");
    if !c.presets.is_empty() {
        out.push_str(
            "  # --- Backing services --------------------------------------------------\n  # `preset:` brings the official image, credentials, a data volume, a port on\n  # 127.0.0.1 and a readiness probe over the service's own protocol. Any key\n  # written here (version, env, ports, volumes, seed, ...) overrides the preset.\n",
        );
        for kind in &c.presets {
            let (name, _, about) = preset_service(*kind);
            let _ = writeln!(out, "\n  # {about}.\n  {name}:\n    preset: {}", kind.name());
        }
    }
    if !c.apps.is_empty() {
        if !c.presets.is_empty() {
            out.push('\n');
        }
        out.push_str("  # --- Your services -----------------------------------------------------\n");
        let names = app_names(c);
        let ports = host_ports(c);
        for ((app, name), host_port) in c.apps.iter().zip(&names).zip(&ports) {
            render_app(&mut out, c, app, name, *host_port);
        }
    }
    if !c.presets.is_empty() {
        out.push_str("\n# Host-side values of these names are given to `devenv run -- CMD` and printed\n# by `devenv env` (e.g. for tests running on this machine).\nexport:\n");
        for kind in &c.presets {
            let (name, var, _) = preset_service(*kind);
            let _ = writeln!(out, "  {var}: ${{{name}.url}}");
        }
    }
    out
}

fn render_app(out: &mut String, c: &Choices, app: &App, name: &str, host_port: u16) {
    let dir = if app.dir == "." { ".".to_string() } else { format!("./{}", app.dir) };
    let _ = writeln!(out, "\n  # {} app in {dir} (found: {}).", app.lang.name(), app.evidence.join(", "));
    if let Some(df) = app.generated.iter().find(|g| g.path.ends_with("Dockerfile")) {
        let _ = writeln!(out, "  # {}: written by `devenv init` (there was none); check its CMD.", df.path);
    }
    let _ = writeln!(out, "  {name}:");
    let _ = writeln!(out, "    build: {}                # the image is built from {dir}/Dockerfile", q(&dir));
    let _ = writeln!(out, "    # Port {} ({}); the host side listens on 127.0.0.1 only.", app.port, app.port_from);
    let _ = writeln!(out, "    ports: [{}]", q(&format!("{host_port}:{}", app.port)));
    let _ = writeln!(out, "    env:\n      PORT: \"{}\"", app.port);
    for kind in &c.presets {
        let (svc, var, _) = preset_service(*kind);
        let _ = writeln!(out, "      {var}: ${{{svc}.url}}      # {svc}'s address inside the project network");
    }
    if !c.presets.is_empty() {
        out.push_str("    depends_on:                  # started once these are ready\n");
        for kind in &c.presets {
            let _ = writeln!(out, "      {}: healthy", preset_service(*kind).0);
        }
    }
    match &app.health {
        HealthGuess::Image => {
            let _ = writeln!(out, "    # Ready when {} passes (devenv follows it; add `health:` to probe it yourself).", app.health_from);
        }
        HealthGuess::Http(path) => {
            let _ = writeln!(out, "    # Ready when GET {path} answers ({}).\n    health:\n      http: {}\n      port: {}", app.health_from, q(path), app.port);
        }
        HealthGuess::Tcp => {
            let _ = writeln!(
                out,
                "    # Ready when the port accepts connections ({}); an HTTP probe is\n    # stricter: `http: /health` with `port: {}`.\n    health:\n      tcp: {}",
                app.health_from, app.port, app.port
            );
        }
    }
    render_watch(out, &app.watch);
}

fn render_watch(out: &mut String, rules: &[WatchGuess]) {
    if rules.is_empty() {
        return;
    }
    out.push_str("    # `devenv up --watch` (or `devenv watch`) applies these on every save:\n");
    for r in rules {
        let what = match r.action {
            WatchAction::Sync => format!("edits under {} are copied into the running container", r.path),
            WatchAction::Restart => format!("edits under {} are copied in, then the container restarts", r.path),
            WatchAction::Rebuild => format!("a change to {} rebuilds the image and recreates the service", r.path),
        };
        let _ = writeln!(out, "    #   {what}");
    }
    out.push_str("    watch:\n");
    for r in rules {
        let _ = writeln!(out, "      - path: {}", q(&r.path));
        if let Some(t) = &r.target {
            let _ = writeln!(out, "        target: {}", q(t));
        }
        let _ = writeln!(out, "        action: {}", r.action);
        if !r.ignore.is_empty() {
            let _ = writeln!(out, "        ignore: {}", flow_list(&r.ignore));
        }
    }
}
