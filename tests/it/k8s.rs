//! `devenv k8s`: rendering validated by PyPI's kubernetes-validate (strict,
//! oldest and newest supported Kubernetes), lint on broken manifests, and the
//! cluster commands' error handling with the real kind where it is present.
//! No cluster can be created on these machines (kind's node image comes from
//! a registry); the success path of `k8s up` is covered by the invocation
//! tests in src/k8s/tests.rs, not here.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use devenv::k8s::lint::schema::{NEWEST, OLDEST};

use super::harness::{bin, docker_ready, Project, Run};

fn cache() -> PathBuf {
    PathBuf::from(std::env::var("DEVENV_CI_CACHE").unwrap_or_else(|_| "/var/cache/devenv-ci".into()))
}

fn on_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|d| d.join(program)).find(|p| p.is_file())
}

/// A tool the test needs: in CI (DEVENV_REQUIRE_DOCKER=1) its absence fails the test, else it is skipped.
fn required(what: &str, found: Option<PathBuf>) -> Option<PathBuf> {
    if found.is_none() {
        if std::env::var("DEVENV_REQUIRE_DOCKER").is_ok_and(|v| v == "1") {
            panic!("{what} is required in CI (DEVENV_REQUIRE_DOCKER=1) but not found: run .ci/k8s-tools.sh");
        }
        eprintln!("SKIPPED: {what} not found (.ci/k8s-tools.sh installs it)");
    }
    found
}

/// kubernetes-validate: $DEVENV_KUBERNETES_VALIDATE, the CI cache's venv, or PATH.
fn validator() -> Option<PathBuf> {
    let found = std::env::var_os("DEVENV_KUBERNETES_VALIDATE")
        .map(PathBuf::from)
        .filter(|p| p.is_file())
        .or_else(|| Some(cache().join("kubernetes-validate/bin/kubernetes-validate")).filter(|p| p.is_file()))
        .or_else(|| on_path("kubernetes-validate"));
    required("kubernetes-validate", found)
}

/// The directory holding kind and kubectl: $DEVENV_K8S_TOOLS, the CI cache, or PATH.
fn k8s_tools() -> Option<PathBuf> {
    let has = |d: &Path| d.join("kind").is_file() && d.join("kubectl").is_file();
    let found = std::env::var_os("DEVENV_K8S_TOOLS")
        .map(PathBuf::from)
        .filter(|d| has(d))
        .or_else(|| Some(cache().join("k8s-tools/usr/bin")).filter(|d| has(d)))
        .or_else(|| on_path("kind").and_then(|k| k.parent().map(Path::to_path_buf)).filter(|d| has(d)));
    required("kind and kubectl", found)
}

fn path_with(dir: &Path) -> std::ffi::OsString {
    let mut dirs = vec![dir.to_path_buf()];
    dirs.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()));
    std::env::join_paths(dirs).unwrap_or_default()
}

fn devenv(cwd: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(bin());
    c.current_dir(cwd).args(args).env("DEVENV_PROGRESS", "plain").env("NO_COLOR", "1").env_remove("DEVENV_FILE").env_remove("DEVENV_PROJECT").env_remove("DEVENV_IMAGE_MAP");
    c
}

fn run(mut c: Command) -> Run {
    Run::from(c.output().expect("run devenv"))
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// envs/*/devenv.yaml, sorted (new environments are covered automatically).
fn envs() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(repo().join("envs"))
        .expect("envs/")
        .filter_map(Result::ok)
        .map(|e| e.path().join("devenv.yaml"))
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no envs/*/devenv.yaml");
    out
}

#[test]
fn k8s_render_of_every_env_passes_strict_schema_validation_for_the_oldest_and_newest_version() {
    let Some(kv) = validator() else { return };
    for env in envs() {
        let out = tempfile::tempdir().expect("tempdir");
        let r = run(devenv(&repo(), &["-f", &env.display().to_string(), "k8s", "render", "-o", &out.path().display().to_string()]));
        r.ok();
        let mut files: Vec<PathBuf> = std::fs::read_dir(out.path()).expect("out").filter_map(Result::ok).map(|e| e.path()).collect();
        files.sort();
        let docs: usize = files.iter().map(|f| std::fs::read_to_string(f).unwrap_or_default().lines().filter(|l| l.starts_with("kind: ")).count()).sum();
        assert!(docs >= 2, "{}: rendered only {docs} documents", env.display());
        let v = Command::new(&kv).args(["--strict", "-k", OLDEST, "-k", NEWEST]).args(&files).output().expect("kubernetes-validate");
        let stdout = String::from_utf8_lossy(&v.stdout);
        let stderr = String::from_utf8_lossy(&v.stderr);
        assert!(v.status.success(), "{}: kubernetes-validate failed:\n{stdout}\n{stderr}", env.display());
        let bad: Vec<&str> = stdout.lines().filter(|l| !l.starts_with("INFO ")).collect();
        assert!(bad.is_empty(), "{}: unexpected output (every object must have a schema and pass):\n{}", env.display(), bad.join("\n"));
        let passed = stdout.lines().filter(|l| l.contains(" passed for resource ")).count();
        assert_eq!(passed, 2 * docs, "{}: every document, for both versions:\n{stdout}", env.display());
        same_in_yaml_1_1(&kv, &files);
    }
}

/// A YAML 1.1 reader (PyYAML, as in kubectl's lineage: `yes`/`on` are booleans) reads
/// exactly what devenv meant: every rendered document, compared with serde_yaml's reading.
fn same_in_yaml_1_1(kv: &Path, files: &[PathBuf]) {
    let python = kv.parent().map(|d| d.join("python3")).filter(|p| p.exists());
    let Some(python) = python else { return };
    let script = "import json, sys, yaml\nprint(json.dumps([d for f in sys.argv[1:] for d in yaml.safe_load_all(open(f)) if d is not None]))";
    let out = Command::new(python).arg("-c").arg(script).args(files).output().expect("python3");
    assert!(out.status.success(), "PyYAML: {}", String::from_utf8_lossy(&out.stderr));
    let py: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let mut ours = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(f).expect("read");
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let v: serde_json::Value = serde::Deserialize::deserialize(doc).expect("serde_yaml");
            if !v.is_null() {
                ours.push(v);
            }
        }
    }
    assert_eq!(py, serde_json::Value::Array(ours), "PyYAML (YAML 1.1) reads the rendered files differently");
}

#[test]
fn k8s_render_stdout_is_stable_and_the_same_as_the_files() {
    let env = repo().join("envs/hello/devenv.yaml");
    let a = run(devenv(&repo(), &["-f", &env.display().to_string(), "k8s", "render"]));
    let b = run(devenv(&repo(), &["-f", &env.display().to_string(), "k8s", "render", "--namespace", "hello"]));
    a.ok();
    assert_eq!(a.stdout, b.stdout, "namespace default = the project name; output deterministic");
    assert!(a.stdout.contains("kind: Namespace") && a.stdout.contains("kind: StatefulSet") && a.stdout.contains("kind: Job"));
    let other = run(devenv(&repo(), &["-f", &env.display().to_string(), "k8s", "render", "--namespace", "Bad_NS"]));
    other.code(2).stderr_has("invalid namespace \"Bad_NS\"");
}

#[test]
fn k8s_lint_passes_on_every_env_for_both_versions() {
    let Some(kv) = validator() else { return };
    for env in envs() {
        let mut c = devenv(&repo(), &["-f", &env.display().to_string(), "k8s", "lint", "--kube-version", OLDEST, "--kube-version", NEWEST]);
        c.env("DEVENV_KUBERNETES_VALIDATE", &kv);
        let r = run(c);
        r.ok().stderr_has(": 0 errors");
    }
}

#[test]
fn k8s_lint_catches_each_class_of_mistake_with_file_document_and_path() {
    let Some(kv) = validator() else { return };
    let cases: &[(&str, &[&str])] = &[
        ("selector.yaml", &["selector.yaml:7:3: document 1 (Service/api): spec.selector: selects no pod: no pod template in namespace `default` has the labels app=api-server (closest: Deployment/api has app=api)"]),
        ("target-port.yaml", &[
            "target-port.yaml:11:5: document 1 (Service/api): spec.ports[0].targetPort: targetPort `web`: no container of Deployment/api declares a port with that name",
            "target-port.yaml:13:5: document 1 (Service/api): spec.ports[1].port: targetPort 9090",
        ]),
        ("probe-port.yaml", &["probe-port.yaml:20:35: document 1 (Deployment/worker): spec.template.spec.containers[0].readinessProbe.httpGet.port: readinessProbe uses port `health`", "livenessProbe uses port 8081"]),
        ("env-refs.yaml", &["document 3 (Deployment/api)", "ConfigMap `api-flags` is not among the applied manifests", "Secret `api-credentials` has no key `TOKEN` (keys: API_TOKEN)", "Secret `api-extra` is not among the applied manifests"]),
        ("schema.yaml", &[
            "schema.yaml:7:3: document 1 (Deployment/api): spec.replica: Additional properties are not allowed ('replica' was unexpected) (schema for Kubernetes 1.25, 1.37)",
            "document 2 (Service/api): spec.ports[0].port: 'web' is not of type 'integer'",
        ]),
        ("not-yaml.yaml", &["not-yaml.yaml:9:1: document 2: invalid YAML"]),
    ];
    let empty = tempfile::tempdir().expect("tempdir");
    for (file, needles) in cases {
        let path = repo().join("fixtures/k8s/broken").join(file);
        let mut c = devenv(empty.path(), &["k8s", "lint", &path.display().to_string(), "--kube-version", OLDEST, "--kube-version", NEWEST]);
        c.env("DEVENV_KUBERNETES_VALIDATE", &kv);
        let r = run(c);
        r.code(1);
        for n in *needles {
            r.stdout_has(n);
        }
        r.stderr_has("errors");
    }
    if docker_ready() {
        let path = repo().join("fixtures/k8s/broken/images.yaml");
        let r = run(devenv(empty.path(), &["k8s", "lint", "--skip-schema", &path.display().to_string()]));
        r.code(1)
            .stdout_has("images.yaml:17:9: document 1 (Deployment/tools): spec.template.spec.initContainers[0].image: `inhouse-tool` is not built locally and does not look pullable")
            .stdout_has("`batch:2` has imagePullPolicy Never but is not present locally");
        assert!(!r.stdout.contains("registry.example.com"), "{}", r.stdout);
    }
}

#[test]
fn k8s_lint_checks_the_teams_manifests_together_with_the_rendering() {
    let (Some(kv), Some(tools)) = (validator(), k8s_tools()) else { return };
    let good = repo().join("fixtures/k8s/good");
    // app.yaml reads devenv's `db-secret`; overlay/ is a kustomize directory (kubectl kustomize).
    let mut c = devenv(&good, &["k8s", "lint", "--kube-version", OLDEST, "--kube-version", NEWEST]);
    c.env("DEVENV_KUBERNETES_VALIDATE", &kv).env("PATH", path_with(&tools));
    let r = run(c);
    r.ok().stderr_has(": 0 errors");
    // Without the rendering (no devenv.yaml here), the Secret is missing.
    let empty = tempfile::tempdir().expect("tempdir");
    let mut c = devenv(empty.path(), &["k8s", "lint", "--skip-schema", &good.join("app.yaml").display().to_string()]);
    c.env("PATH", path_with(&tools));
    run(c).code(1).stdout_has("Secret `db-secret` is not among the applied manifests");
}

#[test]
fn k8s_lint_without_kubernetes_validate_or_kustomize_says_what_to_install() {
    let empty = tempfile::tempdir().expect("tempdir");
    let file = repo().join("fixtures/k8s/broken/selector.yaml");
    let mut c = devenv(empty.path(), &["k8s", "lint", &file.display().to_string()]);
    c.env("DEVENV_KUBERNETES_VALIDATE", "/nonexistent/kubernetes-validate");
    run(c).code(4).stderr_has("`/nonexistent/kubernetes-validate` is not installed").stderr_has("hint:").stderr_has("pip install kubernetes-validate");

    let overlay = repo().join("fixtures/k8s/good/overlay");
    let mut c = devenv(empty.path(), &["k8s", "lint", "--skip-schema", &overlay.display().to_string()]);
    c.env("PATH", empty.path());
    run(c).code(4).stderr_has("is a kustomize directory, but neither `kubectl` (with `kubectl kustomize`) nor `kustomize` is installed").stderr_has("hint: install kubectl");
}

#[test]
fn k8s_up_without_kind_or_k3d_says_how_to_install_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("devenv.yaml"), "name: k8s-none\nservices:\n  cache:\n    image: devenv-test/redis:7\n").expect("write");
    let mut c = devenv(dir.path(), &["k8s", "up", "-d"]);
    c.env("PATH", dir.path());
    run(c).code(4).stderr_has("neither `kind` nor `k3d` is installed").stderr_has("hint: install kind").stderr_has("see: README.md#kubernetes-devenv-k8s");
    for cmd in ["status", "down"] {
        let mut c = devenv(dir.path(), &["k8s", cmd, "--provider", "k3d"]);
        c.env("PATH", dir.path());
        run(c).code(4).stderr_has("`k3d` is not installed").stderr_has("k3d.io").stderr_has("see: README.md#kubernetes-devenv-k8s");
    }
}

/// Run with a deadline (kind must not hang the suite).
fn run_for(mut c: Command, limit: Duration) -> Run {
    let dir = tempfile::tempdir().expect("tempdir");
    let (out, err) = (dir.path().join("out"), dir.path().join("err"));
    c.stdout(std::fs::File::create(&out).expect("out")).stderr(std::fs::File::create(&err).expect("err"));
    let mut child = c.spawn().expect("spawn devenv");
    let start = Instant::now();
    let code = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s.code().unwrap_or(-1);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("devenv did not finish within {limit:?}:\n{}", std::fs::read_to_string(&err).unwrap_or_default());
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    Run { code, stdout: std::fs::read_to_string(&out).unwrap_or_default(), stderr: std::fs::read_to_string(&err).unwrap_or_default() }
}

fn kind_clusters(tools: &Path) -> String {
    let out = Command::new(tools.join("kind")).args(["get", "clusters"]).env("PATH", path_with(tools)).output().expect("kind get clusters");
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn k8s_up_with_the_real_kind_reports_that_its_node_image_cannot_be_pulled() {
    if !docker_ready() {
        return;
    }
    let Some(tools) = k8s_tools() else { return };
    let p = Project::new("k8s-kind", "name: {project}\nservices:\n  cache:\n    image: devenv-test/redis:7\n    ports: [\"6379\"]\n");
    let cluster = format!("it-k8s-{}", std::process::id());
    let mut c = p.cmd(&["k8s", "status", "--provider", "kind", "--name", &cluster]);
    c.env("PATH", path_with(&tools));
    run(c).ok().stdout_has(&format!("kind cluster `{cluster}` does not exist"));

    let mut c = p.cmd(&["k8s", "up", "-d", "--provider", "kind", "--name", &cluster]);
    c.env("PATH", path_with(&tools));
    let r = run_for(c, Duration::from_secs(600));
    if r.code == 0 {
        // A registry was reachable after all: the cluster is real; remove it.
        let mut d = p.cmd(&["k8s", "down", "--delete-cluster", "--name", &cluster]);
        d.env("PATH", path_with(&tools));
        run(d).ok();
        assert!(!kind_clusters(&tools).lines().any(|l| l == cluster));
        eprintln!("NOTE: kind could create a cluster here (a registry is reachable); the pull-failure path was not exercised");
        return;
    }
    r.code(5)
        .stderr_has(&format!("kind could not create cluster `{cluster}`: it could not pull its node image (kindest/node:"))
        .stderr_has(&format!("`kind create cluster --name {cluster} --wait 120s` failed, exit 1"))
        .stderr_has("hint:")
        .stderr_has("Nothing was created");
    assert!(!r.stdout.contains("ready") && !r.stderr.contains("ready in"), "no success may be claimed:\n{}\n{}", r.stdout, r.stderr);
    assert!(!kind_clusters(&tools).lines().any(|l| l == cluster), "kind left the cluster behind");
    let mut d = p.cmd(&["k8s", "down", "--name", &cluster]);
    d.env("PATH", path_with(&tools));
    run(d).ok().stderr_has("does not exist: nothing to do");
}

/// `k8s lint` counts the rendering's warnings it printed (it said "0 warnings" after them).
#[test]
fn k8s_lint_counts_the_warnings_it_prints() {
    let p = Project::new("lint-warn", "name: {project}\nservices:\n  files:\n    image: debian:bookworm-slim\n    command: [\"sleep\", \"60\"]\n    volumes: [\"./data:/data\"]\n");
    std::fs::create_dir(p.dir.path().join("data")).expect("mkdir");
    let r = p.run(&["k8s", "lint", "--skip-schema"]);
    r.stderr_has("bind mount");
    assert!(!r.stderr.contains(", 0 warnings"), "{}", r.stderr);
    r.stderr_has("1 warning (1 from rendering, above)");
}
