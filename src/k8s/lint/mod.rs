//! `devenv k8s lint`: the rendered manifests and the team's own, checked
//! together (they are applied together).
//!
//! - `schema`: every object against the official Kubernetes JSON schemas of
//!   the chosen version(s), strictly (unknown fields are errors), by running
//!   PyPI's `kubernetes-validate`;
//! - `semantic`: what schemas miss — a Service selecting no pod template,
//!   a `targetPort` no selected container declares, a probe on an undeclared
//!   port, an env reference to a ConfigMap/Secret (or key) that is not applied;
//! - `images`: images the team's manifests use are built locally (and
//!   loadable into the cluster) or look pullable.
//!
//! Each finding names the file, the document index, the object, the YAML
//! path (and line:column when known) and a message.

pub mod images;
pub mod schema;
pub mod semantic;

use std::fmt;

use super::manifest::{Manifest, Origin, ParseProblem};
use crate::config::Pos;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

/// One problem in one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    pub origin: Origin,
    /// 1-based document index in the file or stream (0: the source as a whole, e.g. a kustomization that does not build).
    pub doc: usize,
    /// `Deployment/api` (empty when the document has no kind/name).
    pub object: String,
    /// YAML path inside the document (`spec.ports[0].targetPort`); empty for the whole document.
    pub path: String,
    pub pos: Option<Pos>,
    pub message: String,
}

impl Finding {
    pub fn error(m: &Manifest, path: &str, message: impl Into<String>) -> Self {
        Self::at(Severity::Error, m, path, message)
    }

    pub fn warning(m: &Manifest, path: &str, message: impl Into<String>) -> Self {
        Self::at(Severity::Warning, m, path, message)
    }

    fn at(severity: Severity, m: &Manifest, path: &str, message: impl Into<String>) -> Self {
        Finding {
            severity,
            origin: m.origin.clone(),
            doc: m.doc,
            object: if m.kind().is_empty() { String::new() } else { m.id() },
            path: path.to_string(),
            pos: m.pos(path),
            message: message.into(),
        }
    }

    pub fn from_problem(p: &ParseProblem) -> Self {
        Finding { severity: Severity::Error, origin: p.origin.clone(), doc: p.doc, object: String::new(), path: String::new(), pos: p.pos, message: p.message.clone() }
    }
}

impl fmt::Display for Finding {
    /// `k8s/api.yaml:14:5: document 2 (Service/api): spec.ports[0].targetPort: message`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.origin.label())?;
        if let Some(p) = self.pos {
            write!(f, ":{}:{}", p.line, p.col)?;
        }
        if self.doc > 0 {
            write!(f, ": document {}", self.doc)?;
        }
        if !self.object.is_empty() {
            write!(f, " ({})", self.object)?;
        }
        if !self.path.is_empty() {
            write!(f, ": {}", self.path)?;
        }
        let tag = if self.severity == Severity::Warning { "warning: " } else { "" };
        write!(f, ": {tag}{}", self.message)
    }
}

/// Findings sorted by file, document, position, path (stable output).
pub fn sort(findings: &mut [Finding]) {
    let key = |f: &Finding| (f.origin.label(), f.doc, f.pos.map(|p| (p.line, p.col)), f.path.clone(), f.message.clone());
    findings.sort_by_key(key);
}

/// `a.b.0.c` (jsonschema's path) → `a.b[0].c` (devenv's).
pub fn dotted_to_path(dotted: &str) -> String {
    let mut out = String::new();
    for seg in dotted.split('.').filter(|s| !s.is_empty()) {
        if seg.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{seg}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(seg);
        }
    }
    out
}

/// What to lint.
pub struct Input<'a> {
    /// devenv's rendering (None: only the given paths).
    pub rendered: Option<&'a crate::k8s::Rendered>,
    /// The team's sources.
    pub sources: &'a [crate::k8s::manifest::Source],
    /// Namespace for objects that name none (`kubectl -n`).
    pub namespace: &'a str,
    /// Kubernetes versions for the schemas; empty = skip schema validation.
    pub versions: &'a [String],
    /// image → the devenv service that builds it.
    pub built: &'a std::collections::BTreeMap<String, String>,
}

/// What lint found, and how much it looked at.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub findings: Vec<Finding>,
    pub documents: usize,
}

impl Report {
    pub fn errors(&self) -> usize {
        self.findings.iter().filter(|f| f.severity == Severity::Error).count()
    }
}

/// Why lint could not run at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LintError {
    pub message: String,
    pub detail: Vec<String>,
    pub hint: Option<String>,
    /// A tool is missing (nothing was checked).
    pub missing_tool: bool,
}

/// Load the sources, run every check.
pub fn run(input: &Input, runner: &dyn crate::k8s::runner::Runner) -> Result<Report, LintError> {
    let mut manifests: Vec<Manifest> = input.rendered.map(|r| r.manifests()).unwrap_or_default();
    let mut findings = Vec::new();
    for src in input.sources {
        match crate::k8s::manifest::load_source(src, runner) {
            Ok((ms, problems)) => {
                manifests.extend(ms);
                findings.extend(problems.iter().map(Finding::from_problem));
            }
            Err(e) if e.missing_tool => {
                return Err(LintError { message: e.message, detail: e.detail, hint: e.hint, missing_tool: true });
            }
            Err(e) => {
                let mut message = e.message;
                for d in &e.detail {
                    message.push_str("\n  ");
                    message.push_str(d);
                }
                findings.push(Finding { severity: Severity::Error, origin: Origin::Kustomize { dir: src.path.clone() }, doc: 0, object: String::new(), path: String::new(), pos: None, message });
            }
        }
    }
    findings.extend(semantic::check(&manifests, input.namespace));
    findings.extend(images::check(&manifests, input.built, runner));
    if !input.versions.is_empty() {
        match schema::validate(&manifests, input.versions, runner) {
            Ok(f) => findings.extend(f),
            Err(schema::SchemaError::Missing { program }) => {
                return Err(LintError {
                    message: format!("`{program}` is not installed: the manifests cannot be checked against the Kubernetes schemas"),
                    detail: vec![],
                    hint: Some(format!("{} (or pass --skip-schema to run only devenv's own checks)", schema::INSTALL_HINT)),
                    missing_tool: true,
                });
            }
            Err(schema::SchemaError::UnsupportedVersion { detail, .. }) => {
                return Err(LintError {
                    message: format!("the installed kubernetes-validate has no schemas for Kubernetes {}", input.versions.join(", ")),
                    detail,
                    hint: Some(format!("pass --kube-version with a version it bundles (devenv is validated against {} and {}), or upgrade it: `pip install -U kubernetes-validate`", schema::OLDEST, schema::NEWEST)),
                    missing_tool: false,
                });
            }
            Err(schema::SchemaError::Failed { message, detail }) => return Err(LintError { message, detail, hint: None, missing_tool: false }),
        }
    }
    sort(&mut findings);
    findings.dedup();
    Ok(Report { findings, documents: manifests.len() })
}

#[cfg(test)]
mod tests;
