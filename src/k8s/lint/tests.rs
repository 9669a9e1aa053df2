//! Lint checks against the broken manifests in fixtures/k8s/broken (one class of mistake per file).

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::*;
use crate::k8s::manifest::{parse_stream, Source};
use crate::k8s::runner::double::ScriptedRunner;
use crate::k8s::runner::Output;

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/k8s").join(rel)
}

fn load(rel: &str) -> Vec<Manifest> {
    let p = fixture(rel);
    let text = std::fs::read_to_string(&p).expect("fixture");
    let (ms, problems) = parse_stream(&text, &Origin::File { path: p }, true);
    assert!(problems.is_empty(), "{problems:?}");
    ms
}

fn errors(findings: &[Finding]) -> Vec<String> {
    findings.iter().filter(|f| f.severity == Severity::Error).map(|f| format!("{}:{} {}: {}", f.pos.map(|p| p.line).unwrap_or(0), f.doc, f.path, f.message)).collect()
}

#[test]
fn a_service_selecting_no_pod_is_reported_with_the_closest_template() {
    let f = semantic::check(&load("broken/selector.yaml"), "default");
    let e = errors(&f);
    assert_eq!(e.len(), 1, "{e:#?}");
    assert_eq!(f[0].path, "spec.selector");
    assert_eq!(f[0].doc, 1);
    assert_eq!(f[0].pos.map(|p| p.line), Some(7));
    assert!(f[0].message.contains("selects no pod") && f[0].message.contains("app=api-server") && f[0].message.contains("closest: Deployment/api has app=api"), "{}", f[0].message);
}

#[test]
fn target_ports_must_be_declared_by_the_selected_containers() {
    let f = semantic::check(&load("broken/target-port.yaml"), "default");
    let e = errors(&f);
    assert_eq!(e.len(), 2, "{e:#?}");
    assert_eq!(e[0], "11:1 spec.ports[0].targetPort: targetPort `web`: no container of Deployment/api declares a port with that name (declared: http (8080))");
    assert_eq!(e[1], "13:1 spec.ports[1].port: targetPort 9090: no container of Deployment/api declares containerPort 9090 (declared: http (8080))");
}

#[test]
fn probes_must_use_declared_ports() {
    let f = semantic::check(&load("broken/probe-port.yaml"), "default");
    let e = errors(&f);
    assert_eq!(e.len(), 2, "{e:#?}");
    assert!(e.iter().any(|x| x.contains("readinessProbe.httpGet.port: readinessProbe uses port `health`")), "{e:#?}");
    assert!(e.iter().any(|x| x.contains("livenessProbe.tcpSocket.port: livenessProbe uses port 8081, which container `worker` does not declare")), "{e:#?}");
}

#[test]
fn env_references_must_name_applied_configmaps_secrets_and_keys() {
    let f = semantic::check(&load("broken/env-refs.yaml"), "default");
    let e = errors(&f);
    assert_eq!(e.len(), 3, "{e:#?}");
    assert!(e.iter().any(|x| x.contains("env[1].valueFrom.configMapKeyRef: ConfigMap `api-flags` is not among the applied manifests")), "{e:#?}");
    assert!(e.iter().any(|x| x.contains("env[2].valueFrom.secretKeyRef.key: Secret `api-credentials` has no key `TOKEN` (keys: API_TOKEN)")), "{e:#?}");
    assert!(e.iter().any(|x| x.contains("envFrom[0].secretRef: Secret `api-extra` is not among the applied manifests")), "{e:#?}");
    // `optional: true` references are fine; the existing ones too.
    assert!(!e.iter().any(|x| x.contains("maybe-there") || x.contains("api-settings")), "{e:#?}");
}

#[test]
fn references_resolve_across_files_and_namespaces() {
    // A Secret in another namespace does not count.
    let text = "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: other}\nstringData: {K: v}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: x:1\n    env:\n    - name: K\n      valueFrom: {secretKeyRef: {name: s, key: K}}\n";
    let (ms, _) = parse_stream(text, &Origin::File { path: "x.yaml".into() }, true);
    assert_eq!(errors(&semantic::check(&ms, "default")).len(), 1);
    assert_eq!(errors(&semantic::check(&ms, "other")).len(), 0);
}

#[test]
fn images_neither_built_nor_pullable_are_errors() {
    let runner = ScriptedRunner::new();
    runner.on("docker image inspect", Output::failed(1, "Error: No such image"));
    let built = BTreeMap::from([("good-api:devenv".to_string(), "api".to_string())]);
    let f = images::check(&load("broken/images.yaml"), &built, &runner);
    let e = errors(&f);
    assert_eq!(e.len(), 3, "{e:#?}");
    assert!(e[0].contains("initContainers[0].image: `inhouse-tool` is not built locally and does not look pullable"), "{e:#?}");
    assert!(e.iter().any(|x| x.contains("`good-api:devenv` is built by service `api` but is not built yet")), "{e:#?}");
    assert!(e.iter().any(|x| x.contains("`batch:2` has imagePullPolicy Never but is not present locally")), "{e:#?}");
    assert!(!e.iter().any(|x| x.contains("registry.example.com")), "a registry image with a tag looks pullable: {e:#?}");
    // Each image was asked about once.
    assert_eq!(runner.calls().iter().filter(|c| c.starts_with("docker image inspect")).count(), 4);
    assert!(runner.calls().contains(&"docker image inspect --format {{.Id}} inhouse-tool".to_string()), "{:?}", runner.calls());
}

#[test]
fn a_local_latest_image_needs_a_pull_policy_that_uses_the_loaded_copy() {
    let runner = ScriptedRunner::new();
    runner.on("docker image inspect", Output::ok("sha256:abc"));
    let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: a, image: inhouse-tool}\n  - {name: b, image: inhouse-tool, imagePullPolicy: IfNotPresent}\n";
    let (ms, _) = parse_stream(text, &Origin::File { path: "x.yaml".into() }, true);
    let f = images::check(&ms, &BTreeMap::new(), &runner);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].severity, Severity::Warning);
    assert_eq!(f[0].path, "spec.containers[0].image");
}

#[test]
fn lint_reads_kustomize_directories_and_reports_a_missing_kustomize() {
    let runner = ScriptedRunner::new();
    runner.on("kubectl kustomize", Output::ok("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: dev-x}\ndata: {a: b}\n"));
    let src = Source::classify(&fixture("good/overlay")).expect("source");
    let built = BTreeMap::new();
    let input = Input { rendered: None, sources: std::slice::from_ref(&src), namespace: "default", versions: &[], built: &built };
    let report = run(&input, &runner).expect("lint runs");
    assert_eq!(report.documents, 1);
    assert!(report.findings.is_empty(), "{:?}", report.findings);
    assert_eq!(runner.calls(), [format!("kubectl kustomize {}", fixture("good/overlay").display())]);

    let none = ScriptedRunner::new();
    none.missing("kubectl").missing("kustomize");
    let e = run(&input, &none).expect_err("no kustomize");
    assert!(e.missing_tool);
    assert!(e.message.contains("neither `kubectl`") && e.message.contains("nor `kustomize` is installed"), "{}", e.message);
    assert!(e.hint.is_some_and(|h| h.contains("install kubectl")));
    assert_eq!(none.calls().len(), 2, "{:?}", none.calls());
    assert!(none.calls()[1].starts_with("kustomize build "), "{:?}", none.calls());

    let broken = ScriptedRunner::new();
    broken.on("kubectl kustomize", Output::failed(1, "error: accumulating resources: missing.yaml: no such file"));
    let r = run(&input, &broken).expect("lint runs");
    assert_eq!(r.errors(), 1);
    assert!(r.findings[0].message.contains("no such file"), "{:?}", r.findings);
}

#[test]
fn a_missing_kubernetes_validate_is_a_clear_error() {
    // The program is `kubernetes-validate` on PATH, or DEVENV_KUBERNETES_VALIDATE (CI sets it).
    let exe = schema::executable();
    let runner = ScriptedRunner::new();
    runner.missing(&exe);
    let ms = load("broken/selector.yaml");
    let e = schema::validate(&ms, &["1.33.0".to_string()], &runner).expect_err("missing");
    assert_eq!(e, schema::SchemaError::Missing { program: exe.clone() });
    let call = runner.calls().pop().unwrap_or_default();
    assert!(call.starts_with(&format!("{exe} --strict --quiet -k 1.33.0 /")), "{call}");
}

#[test]
fn unparseable_documents_are_findings_with_a_position() {
    let p = fixture("broken/not-yaml.yaml");
    let text = std::fs::read_to_string(&p).expect("fixture");
    let (ms, problems) = parse_stream(&text, &Origin::File { path: p }, true);
    assert_eq!(ms.len(), 1);
    let f = Finding::from_problem(&problems[0]);
    assert_eq!(f.doc, 2);
    assert!(f.to_string().contains("not-yaml.yaml:9:1: document 2: invalid YAML"), "{f}");
}
