//! Schema validation by PyPI's `kubernetes-validate` (the official
//! Kubernetes OpenAPI schemas, converted to JSON schema, bundled for
//! 1.25–1.37), run with `--strict` so unknown fields are errors.
//!
//! Each document is written to its own file in a temporary directory, so
//! the tool's per-file messages map back to the exact document.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::{dotted_to_path, Finding, Severity};
use crate::k8s::manifest::{to_yaml, Manifest};
use crate::k8s::runner::{Invocation, RunError, Runner};

/// The oldest and newest Kubernetes versions devenv's rendering is validated against.
pub const OLDEST: &str = "1.25.0";
pub const NEWEST: &str = "1.37.0";
/// Overrides the `kubernetes-validate` executable (a path).
pub const EXE_ENV: &str = "DEVENV_KUBERNETES_VALIDATE";
pub const INSTALL_HINT: &str = "install it with pip, e.g. `python3 -m venv ~/.local/kv && ~/.local/kv/bin/pip install kubernetes-validate`, \
then put ~/.local/kv/bin on PATH or set DEVENV_KUBERNETES_VALIDATE=~/.local/kv/bin/kubernetes-validate";

/// Why schema validation could not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaError {
    Missing { program: String },
    UnsupportedVersion { version: String, detail: Vec<String> },
    Failed { message: String, detail: Vec<String> },
}

/// The executable to run.
pub fn executable() -> String {
    std::env::var(EXE_ENV).ok().filter(|s| !s.is_empty()).unwrap_or_else(|| "kubernetes-validate".into())
}

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> std::io::Result<TempDir> {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let p = std::env::temp_dir().join(format!("devenv-k8s-lint-{}-{n}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&p)?;
        Ok(TempDir(p))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Validate `manifests` against each of `versions` (`1.33.0`).
pub fn validate(manifests: &[Manifest], versions: &[String], runner: &dyn Runner) -> Result<Vec<Finding>, SchemaError> {
    let checkable: Vec<&Manifest> = manifests
        .iter()
        .filter(|m| !m.kind().is_empty() && m.value.get("apiVersion").and_then(|v| v.as_str()).is_some() && !m.name().is_empty())
        .collect();
    if checkable.is_empty() {
        return Ok(vec![]);
    }
    let dir = TempDir::new().map_err(|e| SchemaError::Failed { message: format!("cannot create a temporary directory: {e}"), detail: vec![] })?;
    let mut files = BTreeMap::new();
    let mut args: Vec<String> = vec!["--strict".into(), "--quiet".into()];
    for v in versions {
        args.push("-k".into());
        args.push(v.clone());
    }
    for (i, m) in checkable.iter().enumerate() {
        let p = dir.0.join(format!("doc-{i:04}.yaml"));
        std::fs::write(&p, to_yaml(&m.value)).map_err(|e| SchemaError::Failed { message: format!("cannot write {}: {e}", p.display()), detail: vec![] })?;
        files.insert(p.display().to_string(), i);
        args.push(p.display().to_string());
    }
    let program = executable();
    let out = match runner.output(&Invocation::new(&program, &args)) {
        Ok(o) => o,
        Err(RunError::NotFound { program }) => return Err(SchemaError::Missing { program }),
        Err(e) => return Err(SchemaError::Failed { message: e.to_string(), detail: vec![] }),
    };
    let text = format!("{}{}", out.stdout, out.stderr);
    let (findings, unparsed) = parse_output(&text, &files, &checkable)?;
    if !matches!(out.code, Some(0) | Some(1)) && findings.iter().all(|f| f.severity != Severity::Error) {
        return Err(SchemaError::Failed { message: format!("`{program}` failed ({})", out.describe_exit()), detail: if unparsed.is_empty() { out.lines() } else { unparsed } });
    }
    Ok(findings)
}

/// Turn the tool's lines into findings (identical errors for several versions are merged).
/// Returns the lines it did not understand as well.
pub fn parse_output(text: &str, files: &BTreeMap<String, usize>, manifests: &[&Manifest]) -> Result<(Vec<Finding>, Vec<String>), SchemaError> {
    // (doc index, path, message, severity) → versions
    let mut grouped: BTreeMap<(usize, String, String, bool), Vec<String>> = BTreeMap::new();
    let mut unparsed = Vec::new();
    let file_of = |rest: &str| files.iter().find(|(f, _)| rest.starts_with(f.as_str())).map(|(f, i)| (f.len(), *i));
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("ERROR ") {
            let Some((flen, idx)) = file_of(rest) else {
                unparsed.push(line.to_string());
                continue;
            };
            let rest = rest[flen..].trim_start();
            if let Some(r) = rest.strip_prefix("did not validate for resource ") {
                let Some((_, after)) = r.split_once(" against version ") else { continue };
                let Some((version, detail)) = after.split_once(": ") else { continue };
                let (path, message) = detail.split_once(": ").unwrap_or(("", detail));
                let mut path = dotted_to_path(path);
                // Point at the unexpected key itself.
                if let Some(key) = message.split('\'').nth(1).filter(|_| message.contains("was unexpected")) {
                    path = if path.is_empty() { key.to_string() } else { format!("{path}.{key}") };
                }
                grouped.entry((idx, path, message.to_string(), true)).or_default().push(version.to_string());
            } else if let Some(msg) = rest.strip_prefix("could not be validated: ") {
                if msg.contains("list index out of range") {
                    return Err(SchemaError::UnsupportedVersion { version: String::new(), detail: vec![line.to_string()] });
                }
                grouped.entry((idx, String::new(), format!("could not be validated: {msg}"), true)).or_default();
            } else {
                unparsed.push(line.to_string());
            }
        } else if let Some(rest) = line.strip_prefix("WARN ") {
            match file_of(rest) {
                Some((flen, idx)) => {
                    let msg = rest[flen..].trim();
                    let msg = msg.split(" for kubernetes version").next().unwrap_or(msg);
                    grouped.entry((idx, String::new(), format!("not schema-checked: {msg} (a custom resource?)"), false)).or_default();
                }
                None => unparsed.push(line.to_string()),
            }
        } else if line.starts_with("FATAL ") {
            return Err(SchemaError::UnsupportedVersion { version: String::new(), detail: vec![line.to_string()] });
        } else if !line.trim().is_empty() && !line.starts_with("INFO ") {
            unparsed.push(line.to_string());
        }
    }
    let mut out = Vec::new();
    for ((idx, path, message, is_error), versions) in grouped {
        let Some(m) = manifests.get(idx) else { continue };
        let text = if versions.is_empty() { message } else { format!("{message} (schema for Kubernetes {})", versions.join(", ")) };
        out.push(if is_error { Finding::error(m, &path, text) } else { Finding::warning(m, &path, text) });
    }
    Ok((out, unparsed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::k8s::manifest::{parse_stream, Origin};

    #[test]
    fn tool_output_becomes_findings_at_the_right_document_and_path() {
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  ports:\n  - port: 80\n    bogus: 1\n";
        let (ms, _) = parse_stream(text, &Origin::File { path: "team.yaml".into() }, true);
        let refs: Vec<&Manifest> = ms.iter().collect();
        let files = BTreeMap::from([("/t/doc-0000.yaml".to_string(), 0), ("/t/doc-0001.yaml".to_string(), 1)]);
        let out = "ERROR /t/doc-0001.yaml did not validate for resource service/s against version 1.25: spec.ports.0: Additional properties are not allowed ('bogus' was unexpected)\n\
                   ERROR /t/doc-0001.yaml did not validate for resource service/s against version 1.37: spec.ports.0: Additional properties are not allowed ('bogus' was unexpected)\n\
                   WARN /t/doc-0000.yaml Couldn't find schema for kind Foo with api version x/v1 for kubernetes version 1.37\n";
        let (findings, unparsed) = parse_output(out, &files, &refs).expect("parsed");
        assert!(unparsed.is_empty());
        assert_eq!(findings.len(), 2);
        let f = findings.iter().find(|f| f.severity == Severity::Error).expect("error");
        assert_eq!(f.doc, 2);
        assert_eq!(f.path, "spec.ports[0].bogus");
        assert_eq!(f.pos.map(|p| (p.line, p.col)), Some((12, 5)));
        assert!(f.message.ends_with("(schema for Kubernetes 1.25, 1.37)"), "{}", f.message);
        assert_eq!(f.to_string(), "team.yaml:12:5: document 2 (Service/s): spec.ports[0].bogus: Additional properties are not allowed ('bogus' was unexpected) (schema for Kubernetes 1.25, 1.37)");
        let e = parse_output("ERROR /t/doc-0000.yaml could not be validated: list index out of range\n", &files, &refs).expect_err("unsupported");
        assert!(matches!(e, SchemaError::UnsupportedVersion { .. }));
    }
}
