//! `devenv k8s up --context NAME --registry HOST/PATH`: an existing cluster,
//! images through a registry.
//!
//! The registry is real: Debian's `docker-registry` (the CNCF distribution
//! registry, installed by test.sh), one instance per test on 127.0.0.1:<free
//! port> with its own config and storage in a temp dir (the Docker engine
//! treats 127.0.0.0/8 registries as insecure-allowed, so plain HTTP works).
//! The image is really built (FROM scratch: no stand-in image needed, only
//! the engine), tagged, pushed, looked up and pulled back.
//!
//! The cluster is not: no cluster can run on these machines. `kubectl` is a
//! recording stand-in on PATH that answers like kubectl for a reachable
//! cluster (kubeconfig server, namespace NotFound, apply, rollout success),
//! so these tests pin the exact kubectl command lines devenv issues for a
//! context and namespace — nothing here claims a real cluster run.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::harness::{engine_ready, free_port, Project, Run};

/// A tool the test needs: in CI (DEVENV_REQUIRE_DOCKER=1) its absence fails the test, else it is skipped.
fn tool(program: &str) -> Option<PathBuf> {
    let found = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()).map(|d| d.join(program)).find(|p| p.is_file());
    if found.is_none() {
        if std::env::var("DEVENV_REQUIRE_DOCKER").is_ok_and(|v| v == "1") {
            panic!("`{program}` is required in CI (DEVENV_REQUIRE_DOCKER=1) but not on PATH: test.sh installs it (docker-registry, apache2-utils)");
        }
        eprintln!("SKIPPED: `{program}` not on PATH (test.sh installs it)");
    }
    found
}

/// One registry process (ours: killed by its own handle on drop) with its storage.
struct Registry {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Registry {
    /// Start `docker-registry serve` on 127.0.0.1:<free port>; with `user`, behind htpasswd (bcrypt) auth.
    fn start(user: Option<(&str, &str)>) -> Option<Registry> {
        let bin = tool("docker-registry")?;
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let mut config = format!(
            "version: 0.1\nlog: {{level: error}}\nstorage:\n  filesystem: {{rootdirectory: {}}}\n  delete: {{enabled: true}}\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.path().join("data").display()
        );
        if let Some((u, pw)) = user {
            let htpasswd = tool("htpasswd")?;
            let out = Command::new(htpasswd).args(["-Bbn", u, pw]).output().expect("htpasswd");
            assert!(out.status.success(), "htpasswd: {}", String::from_utf8_lossy(&out.stderr));
            std::fs::write(dir.path().join("htpasswd"), &out.stdout).expect("write htpasswd");
            config.push_str(&format!("auth:\n  htpasswd: {{realm: devenv-test, path: {}}}\n", dir.path().join("htpasswd").display()));
        }
        std::fs::write(dir.path().join("config.yml"), config).expect("write config");
        let log = std::fs::File::create(dir.path().join("registry.log")).expect("log");
        let child = Command::new(bin).args(["serve"]).arg(dir.path().join("config.yml")).stdout(Stdio::null()).stderr(log).spawn().expect("start docker-registry");
        let r = Registry { child, port, _dir: dir };
        let deadline = Instant::now() + Duration::from_secs(20);
        while http(port, "GET", "/v2/", "").is_none() {
            assert!(Instant::now() < deadline, "docker-registry did not answer on 127.0.0.1:{port}");
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(r)
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The manifest digest the registry holds for `repo:tag` (its own API, not Docker's).
    fn digest(&self, repo_path: &str, tag: &str, basic: Option<&str>) -> Option<String> {
        let mut headers = "Accept: application/vnd.docker.distribution.manifest.v2+json\r\nAccept: application/vnd.oci.image.manifest.v1+json\r\n".to_string();
        if let Some(b) = basic {
            headers.push_str(&format!("Authorization: Basic {b}\r\n"));
        }
        let head = http(self.port, "HEAD", &format!("/v2/{repo_path}/manifests/{tag}"), &headers)?;
        if !head.starts_with("HTTP/1.1 200") && !head.starts_with("HTTP/1.0 200") {
            return None;
        }
        head.lines().find_map(|l| l.strip_prefix("Docker-Content-Digest: ").map(|d| d.trim().to_string()))
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain HTTP/1.0 request; the response head (and body), or None when nothing answers.
fn http(port: u16, method: &str, path: &str, headers: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n{headers}\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    (!out.is_empty()).then_some(out)
}

/// The recording `kubectl`: each command line is appended to `calls.log`, each
/// `apply -f -` stdin is kept as `apply-N.yaml`. It answers as kubectl does for
/// a reachable cluster where the namespace does not exist yet. `config view`
/// (which reads only the kubeconfig) is the real kubectl's when it is installed.
const FAKE_KUBECTL: &str = r#"#!/bin/sh
d="$(dirname "$0")"
echo "$*" >> "$d/calls.log"
case "$*" in
  "version --client"*) echo "Client Version: v1.32.2"; exit 0 ;;
  "config view --minify --context "*)
    if [ -x "$d/real-kubectl" ]; then exec "$d/real-kubectl" "$@"; fi
    if [ "$5" = missing ]; then echo "error: cannot locate context missing" >&2; exit 1; fi
    printf '{"kind":"Config","clusters":[{"name":"c","cluster":{"server":"%s"}}],"contexts":[{"name":"%s","context":{"cluster":"c"}}]}\n' "$(cat "$d/server")" "$5"
    exit 0 ;;
  *" version -o json") echo '{"clientVersion":{"major":"1","minor":"32"},"serverVersion":{"major":"1","minor":"30+","gitVersion":"v1.30.4-eks-a737599"}}'; exit 0 ;;
  *" auth can-i create "*) if [ -f "$d/deny-$6" ]; then echo no; exit 1; fi; echo yes; exit 0 ;;
  *" get storageclass -o json") echo '{"items":[{"metadata":{"name":"gp2","annotations":{"storageclass.kubernetes.io/is-default-class":"true"}}}]}'; exit 0 ;;
  *" get namespace "*) echo "Error from server (NotFound): namespaces \"$5\" not found" >&2; exit 1 ;;
  *" apply -f -"*) n=$(ls "$d" | grep -c '^apply-'); cat > "$d/apply-$n.yaml"; echo "applied"; exit 0 ;;
  *" rollout status "*) echo "deployment \"api\" successfully rolled out"; exit 0 ;;
esac
exit 0
"#;

/// A project whose `api` builds a tiny image (FROM scratch: nothing to pull), plus the stand-in kubectl.
struct Setup {
    p: Project,
    bin: PathBuf,
    docker_config: tempfile::TempDir,
}

impl Setup {
    fn new(test: &str, server: &str) -> Setup {
        let p = Project::new(test, "name: {project}\nservices:\n  api:\n    build: ./api\n");
        p.write("api/Dockerfile", "FROM scratch\nCOPY hello.txt /hello.txt\n");
        p.write("api/hello.txt", &format!("built for {}\n", p.name));
        let bin = p.dir.path().join("fakebin");
        std::fs::create_dir_all(&bin).expect("mkdir");
        std::fs::write(bin.join("kubectl"), FAKE_KUBECTL).expect("write kubectl");
        std::fs::write(bin.join("server"), server).expect("write server");
        std::fs::write(bin.join("kubeconfig"), kubeconfig(server)).expect("write kubeconfig");
        if let Some(real) = tool("kubectl") {
            std::os::unix::fs::symlink(real, bin.join("real-kubectl")).expect("link kubectl");
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(bin.join("kubectl"), std::fs::Permissions::from_mode(0o755)).expect("chmod");
        Setup { p, bin, docker_config: tempfile::tempdir().expect("tempdir") }
    }

    fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, "plain")
    }

    /// `run` with `--progress MODE` (plain, json).
    fn run_with(&self, args: &[&str], progress: &str) -> Run {
        let mut path = vec![self.bin.clone()];
        path.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()));
        let out = self
            .p
            .cmd(args)
            .env("PATH", std::env::join_paths(path).expect("PATH"))
            .env("USER", "alice")
            .env("DOCKER_CONFIG", self.docker_config.path())
            .env("KUBECONFIG", self.bin.join("kubeconfig"))
            .env("DEVENV_PROGRESS", progress)
            .output()
            .expect("run devenv");
        Run::from(out)
    }

    /// The kubectl command lines so far.
    fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.bin.join("calls.log")).unwrap_or_default().lines().map(str::to_string).collect()
    }

    fn applied(&self) -> String {
        let mut all = String::new();
        for n in 0..20 {
            all.push_str(&std::fs::read_to_string(self.bin.join(format!("apply-{n}.yaml"))).unwrap_or_default());
        }
        all
    }

    /// The image from `repo` in the last stream applied that names one.
    fn last_applied_image(&self, repo: &str) -> Option<String> {
        (0..40).filter_map(|n| std::fs::read_to_string(self.bin.join(format!("apply-{n}.yaml"))).ok()).filter_map(|y| image_ref_in(&y, repo)).last()
    }

    fn namespace(&self) -> String {
        format!("{}-alice", self.p.name)
    }

    /// The Docker config with `auths` for `registry`.
    fn login(&self, registry: &str, user: &str, password: &str) {
        let auth = basic(user, password);
        std::fs::write(self.docker_config.path().join("config.json"), format!(r#"{{"auths": {{"{registry}": {{"auth": "{auth}"}}}}}}"#)).expect("write config.json");
    }
}

/// A kubeconfig with the contexts the tests use, all on one cluster at `server`.
fn kubeconfig(server: &str) -> String {
    let mut k = format!("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {{server: \"{server}\"}}\nusers:\n- name: u\n  user: {{token: not-a-real-token}}\ncontexts:\n");
    for ctx in ["dev-cluster", "eks-team"] {
        k.push_str(&format!("- name: {ctx}\n  context: {{cluster: c, user: u}}\n"));
    }
    k
}

/// base64 of `user:password` (coreutils' base64, so the test does not share devenv's decoder).
fn basic(user: &str, password: &str) -> String {
    let out = Command::new("base64").arg("-w0").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().and_then(|mut c| {
        c.stdin.take().map(|mut i| i.write_all(format!("{user}:{password}").as_bytes()));
        c.wait_with_output()
    });
    String::from_utf8_lossy(&out.expect("base64").stdout).trim().to_string()
}

fn image_ref_in(applied: &str, repo: &str) -> Option<String> {
    applied.lines().find_map(|l| l.trim().trim_start_matches("- ").strip_prefix("image: ").filter(|i| i.trim_matches('"').starts_with(repo)).map(|i| i.trim_matches('"').to_string()))
}

#[test]
fn up_with_a_context_pushes_to_the_registry_once_and_issues_the_expected_kubectl_calls() {
    if !engine_ready() {
        return;
    }
    let Some(reg) = Registry::start(None) else { return };
    let s = Setup::new("k8sctx", "https://dev.k8s.example.com:6443");
    let registry = format!("{}/team", reg.addr());
    let r = s.run(&["k8s", "up", "-d", "--context", "dev-cluster", "--registry", &registry]);
    r.ok();
    let ns = s.namespace();
    r.stderr_has(&format!("context `dev-cluster`, server https://dev.k8s.example.com:6443, namespace `{ns}`"));
    let repo = format!("{registry}/{}-api", s.p.name);
    r.stderr_has(&format!("api pushing {repo}:")).stderr_has(&format!("api pushed {repo}:"));
    let expected = vec![
        "version --client".to_string(),
        "config view --minify --context dev-cluster -o json".to_string(),
        format!("--context dev-cluster get namespace {ns} -o json"),
        format!("--context dev-cluster get namespace {ns} -o json"),
        "--context dev-cluster apply -f -".to_string(),
        format!("--context dev-cluster -n {ns} apply -f -"),
        format!("--context dev-cluster -n {ns} rollout status deployment/api --timeout=120s"),
    ];
    assert_eq!(s.calls(), expected, "stderr:\n{}", r.stderr);
    assert!(!r.stderr.contains("kind") && !r.stderr.contains("loading"), "no cluster creation or image loading:\n{}", r.stderr);

    // The namespace and objects carry devenv's labels; the workload runs the pushed image, pinned by digest.
    let applied = s.applied();
    assert!(applied.contains(&format!("name: {ns}")) && applied.contains("app.kubernetes.io/managed-by: devenv"), "{applied}");
    assert!(applied.contains("devenv.dev/owner: alice"), "the namespace and objects name their developer:\n{applied}");
    let image = image_ref_in(&applied, &repo).unwrap_or_else(|| panic!("no image from {repo} in:\n{applied}"));
    let (tagged, digest) = image.split_once('@').expect("pinned by digest");
    let tag = tagged.rsplit_once(':').map(|(_, t)| t.to_string()).expect("tag");
    assert_eq!(tag.len(), 12, "content-hash tag, never latest: {image}");
    assert!(tag.chars().all(|c| c.is_ascii_hexdigit()), "{image}");
    let repo_path = format!("team/{}-api", s.p.name);
    assert_eq!(reg.digest(&repo_path, &tag, None).as_deref(), Some(digest), "the registry holds that digest under that tag");

    // Unchanged: not pushed again, same reference.
    let again = s.run(&["k8s", "up", "-d", "--context", "dev-cluster", "--registry", &registry]);
    again.ok().stderr_has("is already in the registry");
    assert!(!again.stderr.contains("pushing"), "{}", again.stderr);
    assert_eq!(s.last_applied_image(&repo).as_deref(), Some(image.as_str()));

    // Changed code: `--build` builds again, and the new content gets a new tag, pushed; unchanged, `--build` pushes nothing.
    s.p.write("api/hello.txt", "changed\n");
    // (With --progress json, the push is the service's progress events.)
    let changed = s.run_with(&["k8s", "up", "-d", "--build", "--context", "dev-cluster", "--registry", &registry], "json");
    changed.ok();
    let events: Vec<serde_json::Value> = changed.stdout.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let of = |status: &str, what: &str| {
        events.iter().any(|e| e["event"] == "service" && e["service"] == "api" && e["status"] == status && e["what"].as_str().is_some_and(|w| w.starts_with(what)))
    };
    assert!(of("transferring", &format!("pushing {repo}:")) && of("transferred", &format!("pushed {repo}:")), "{}", changed.stdout);
    let new_image = s.last_applied_image(&repo).expect("applied");
    assert_ne!(new_image, image, "a new content tag and digest");
    let same = s.run(&["k8s", "up", "-d", "--build", "--context", "dev-cluster", "--registry", &registry]);
    same.ok().stderr_has("is already in the registry");
    assert!(!same.stderr.contains("pushing"), "{}", same.stderr);
    assert_eq!(s.last_applied_image(&repo).as_deref(), Some(new_image.as_str()));
    let _ = Command::new("docker").args(["rmi", new_image.split_once('@').map(|(t, _)| t).unwrap_or(&new_image)]).output();

    // Pull the first one back by digest once no local tag holds it.
    let pinned = format!("{repo}@{digest}");
    for tag_ref in [format!("{repo}:{tag}"), format!("{}-api:devenv", s.p.name)] {
        let _ = Command::new("docker").args(["rmi", &tag_ref]).output();
    }
    let pull = Command::new("docker").args(["pull", &pinned]).output().expect("docker pull");
    assert!(pull.status.success(), "docker pull {pinned}: {}", String::from_utf8_lossy(&pull.stderr));
    let _ = Command::new("docker").args(["rmi", &pinned]).output();
}

#[test]
fn a_registry_that_is_down_or_refuses_is_a_specific_error_and_nothing_is_applied() {
    if !engine_ready() {
        return;
    }
    let Some(reg) = Registry::start(Some(("alice", "s3cret"))) else { return };
    let s = Setup::new("k8sreg", "https://dev.k8s.example.com:6443");

    let down = format!("127.0.0.1:{}/team", free_port());
    let r = s.run(&["k8s", "up", "-d", "--context", "dev-cluster", "--registry", &down]);
    r.code(5).stderr_has(&format!("registry `{}` is not reachable", down.trim_end_matches("/team")));

    let registry = format!("{}/team", reg.addr());
    let r = s.run(&["k8s", "up", "-d", "--context", "dev-cluster", "--registry", &registry]);
    r.code(5).stderr_has(&format!("registry `{}` refused", reg.addr())).stderr_has(&format!("docker login {}", reg.addr()));

    s.login(&reg.addr(), "alice", "wrong");
    let r = s.run(&["k8s", "up", "-d", "--context", "dev-cluster", "--registry", &registry]);
    r.code(5).stderr_has("(unauthorized)").stderr_has("were refused");
    assert!(!r.stderr.contains("wrong"), "the password is never printed:\n{}", r.stderr);
    assert!(s.calls().iter().all(|c| !c.contains("apply")), "nothing applied: {:?}", s.calls());

    s.login(&reg.addr(), "alice", "s3cret");
    let r = s.run(&["k8s", "up", "-d", "--context", "dev-cluster", "--registry", &registry]);
    r.ok().stderr_has("pushing");
    assert!(!r.stderr.contains("s3cret"), "{}", r.stderr);
    let repo_path = format!("team/{}-api", s.p.name);
    let image = image_ref_in(&s.applied(), &format!("{registry}/{}-api", s.p.name)).expect("pushed image applied");
    let (tagged, digest) = image.split_once('@').expect("pinned");
    let tag = tagged.rsplit_once(':').map(|(_, t)| t.to_string()).expect("tag");
    assert_eq!(reg.digest(&repo_path, &tag, None), None, "anonymous reads are refused by this registry");
    assert_eq!(reg.digest(&repo_path, &tag, Some(&basic("alice", "s3cret"))).as_deref(), Some(digest), "pushed with alice's credentials");
}

#[test]
fn a_production_looking_context_is_refused_unless_allowed_by_name() {
    let s = Setup::new("k8sprod", "https://api.prod.example.com");
    let r = s.run(&["k8s", "up", "-d", "--context", "eks-team"]);
    r.code(2).stderr_has("refusing context `eks-team` (server https://api.prod.example.com): it looks like production (`prod`)").stderr_has("--allow-context eks-team");
    assert!(s.calls().iter().all(|c| !c.contains("apply")), "{:?}", s.calls());
    let r = s.run(&["k8s", "up", "-d", "--context", "eks-team", "--allow-context", "other"]);
    r.code(2).stderr_has("names `other`, not this context");
    // Allowed: it goes on (and stops at the built image that needs a registry).
    let r = s.run(&["k8s", "up", "-d", "--context", "eks-team", "--allow-context", "eks-team"]);
    r.code(2).stderr_has("builds its image").stderr_has("--registry");
    let r = s.run(&["k8s", "up", "-d", "--context", "missing"]);
    r.code(2).stderr_has("context `missing` is not in your kubeconfig");
}

#[test]
fn doctor_k8s_checks_the_context_through_kubectl_and_the_registry_for_real() {
    if !engine_ready() {
        return;
    }
    let Some(reg) = Registry::start(None) else { return };
    let s = Setup::new("k8sdoc", "https://dev.k8s.example.com:6443");
    let registry = format!("{}/team", reg.addr());
    let r = s.run(&["doctor", "--k8s", "--context", "dev-cluster", "--registry", &registry]);
    let ns = s.namespace();
    r.ok().stdout_has("k8s version: context `dev-cluster`: Kubernetes 1.30").stdout_has("k8s permissions: may create deployments.apps").stdout_has("default StorageClass `gp2`");
    r.stdout_has(&format!("k8s namespace: namespace `{ns}` does not exist yet; you may create it"));
    r.stdout_has(&format!("registry: `{registry}` is reachable and writable (pushed {registry}/devenv-doctor-probe:probe)"));
    assert!(s.calls().contains(&format!("--context dev-cluster auth can-i create secrets -n {ns}")), "{:?}", s.calls());
    assert!(reg.digest("team/devenv-doctor-probe", "probe", None).is_some(), "the probe is really in the registry");

    std::fs::write(s.bin.join("deny-secrets"), "").expect("deny");
    std::fs::write(s.bin.join("deny-namespaces"), "").expect("deny");
    let down = format!("127.0.0.1:{}/team", free_port());
    let r = s.run(&["doctor", "--k8s", "--context", "dev-cluster", "--registry", &down]);
    r.code(1).stdout_has(&format!("may not create secrets in namespace `{ns}`")).stdout_has("is not reachable");
    r.stdout_has(&format!("namespace `{ns}` does not exist, and you may not create namespaces"));
}

/// A `docker-credential-NAME` on the stand-ins' PATH, speaking the helper protocol
/// (docker-credential-helpers): `get`, the server on stdin, `{"ServerURL","Username","Secret"}`
/// on stdout, or "credentials not found" and exit 1. It logs each server it was asked for.
fn credential_helper(bin: &std::path::Path, name: &str, host: &str, user: &str, secret: &str) {
    let script = format!(
        r#"#!/bin/sh
[ "$1" = get ] || exit 2
read -r server
echo "$server" >> "$(dirname "$0")/{name}.log"
if [ "$server" = "{host}" ]; then printf '{{"ServerURL":"%s","Username":"{user}","Secret":"{secret}"}}\n' "$server"; exit 0; fi
echo "credentials not found in native keychain"; exit 1
"#
    );
    let path = bin.join(format!("docker-credential-{name}"));
    std::fs::write(&path, script).expect("write helper");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

#[test]
fn pushes_with_the_credentials_a_docker_credential_helper_gives() {
    if !engine_ready() {
        return;
    }
    let Some(reg) = Registry::start(Some(("alice", "h3lper-s3cret"))) else { return };
    let s = Setup::new("k8shelper", "https://dev.k8s.example.com:6443");
    let (addr, registry) = (reg.addr(), format!("{}/team", reg.addr()));
    credential_helper(&s.bin, "test", &addr, "alice", "h3lper-s3cret");
    credential_helper(&s.bin, "wrong", &addr, "alice", "not-the-password");
    let config = |json: &str| std::fs::write(s.docker_config.path().join("config.json"), json).expect("write config.json");
    let up = || s.run(&["k8s", "up", "-d", "--context", "dev-cluster", "--registry", &registry]);

    // A helper that is not installed is an error naming it.
    config(r#"{"credsStore": "devenv-absent"}"#);
    up().code(2).stderr_has("`docker-credential-devenv-absent` (credsStore/credHelpers) is not installed");
    // credHelpers names the helper for this host (over credsStore): its credentials are refused.
    config(&format!(r#"{{"auths": {{"{addr}": {{}}}}, "credsStore": "test", "credHelpers": {{"{addr}": "wrong"}}}}"#));
    let r = up();
    r.code(5).stderr_has(&format!("registry `{addr}` refused")).stderr_has("from credential helper `docker-credential-wrong` were refused");
    assert!(!r.stderr.contains("not-the-password"), "{}", r.stderr);
    assert!(s.calls().iter().all(|c| !c.contains("apply")), "nothing applied: {:?}", s.calls());

    // Docker Desktop's shape: credsStore, and an empty `auths` entry.
    config(&format!(r#"{{"auths": {{"{addr}": {{}}}}, "credsStore": "test"}}"#));
    let r = up();
    r.ok().stderr_has("pushing");
    assert!(!r.stderr.contains("h3lper-s3cret") && !r.stdout.contains("h3lper-s3cret"), "the secret is never printed:\n{}", r.stderr);
    let asked = std::fs::read_to_string(s.bin.join("test.log")).unwrap_or_default();
    assert!(asked.lines().any(|l| l == addr), "the helper was asked for the registry host: {asked:?}");
    let image = image_ref_in(&s.applied(), &format!("{registry}/{}-api", s.p.name)).expect("pushed image applied");
    let (tagged, digest) = image.split_once('@').expect("pinned");
    let tag = tagged.rsplit_once(':').map(|(_, t)| t.to_string()).expect("tag");
    let repo_path = format!("team/{}-api", s.p.name);
    assert_eq!(reg.digest(&repo_path, &tag, None), None, "anonymous reads are refused by this registry");
    assert_eq!(reg.digest(&repo_path, &tag, Some(&basic("alice", "h3lper-s3cret"))).as_deref(), Some(digest), "pushed with the helper's credentials");

    // doctor --k8s uses the same credentials.
    let r = s.run(&["doctor", "--k8s", "--context", "dev-cluster", "--registry", &registry]);
    r.stdout_has(&format!("registry: `{registry}` is reachable and writable"));
}

#[test]
fn render_with_a_registry_references_the_content_tag_and_neither_builds_nor_pushes() {
    if !engine_ready() {
        return;
    }
    let Some(reg) = Registry::start(None) else { return };
    let s = Setup::new("k8srender", "https://dev.k8s.example.com:6443");
    let registry = format!("{}/team", reg.addr());
    let repo = format!("{registry}/{}-api", s.p.name);
    let local = format!("{}-api:devenv", s.p.name);

    let r = s.run(&["k8s", "render", "--registry", &registry]);
    r.code(5).stderr_has("is not built yet").stderr_has("does not build");
    let built = Command::new("docker").args(["image", "inspect", &local]).output().expect("docker");
    assert!(!built.status.success(), "render built {local}");

    s.run(&["k8s", "up", "-d", "--context", "dev-cluster", "--registry", &registry]).ok();
    let applied = image_ref_in(&s.applied(), &repo).expect("applied");
    let r = s.run(&["k8s", "render", "--registry", &registry]);
    r.ok();
    assert_eq!(image_ref_in(&r.stdout, &repo).as_deref(), Some(applied.as_str()), "render prints what up applied:\n{}", r.stdout);

    // Another registry path: the same content tag, not pushed there, so no digest, and a warning.
    let other = format!("{}/other", reg.addr());
    let r = s.run(&["k8s", "render", "--registry", &other]);
    r.ok().stderr_has("is not in the registry yet");
    let image = image_ref_in(&r.stdout, &format!("{other}/{}-api", s.p.name)).expect("rendered");
    let tag = applied.split_once('@').and_then(|(t, _)| t.rsplit_once(':')).map(|(_, t)| t.to_string()).expect("tag");
    assert_eq!(image, format!("{other}/{}-api:{tag}", s.p.name));
    assert_eq!(reg.digest(&format!("other/{}-api", s.p.name), &tag, None), None, "render pushed nothing");
}

#[test]
fn a_context_whose_server_does_not_answer_fails_in_kubectls_own_words() {
    let Some(real) = tool("kubectl") else { return };
    let port = free_port();
    let s = Setup::new("k8sunreach", &format!("https://127.0.0.1:{port}"));
    // The real kubectl, nothing recorded: an API server address where nothing listens.
    std::fs::remove_file(s.bin.join("kubectl")).expect("rm stand-in");
    std::os::unix::fs::symlink(&real, s.bin.join("kubectl")).expect("link kubectl");
    s.p.write("devenv.yaml", &format!("name: {}\nservices:\n  cache:\n    image: devenv-test/redis:7\n", s.p.name));
    let refused = format!("The connection to the server 127.0.0.1:{port} was refused");

    let r = s.run(&["k8s", "up", "-d", "--context", "dev-cluster"]);
    r.code(1).stderr_has(&format!("context `dev-cluster`, server https://127.0.0.1:{port}")).stderr_has("cannot reach the cluster").stderr_has(&refused);
    let r = s.run(&["k8s", "up", "-d", "--context", "missing"]);
    r.code(2).stderr_has("context `missing` is not in your kubeconfig").stderr_has("cannot locate context missing");
    let r = s.run(&["doctor", "--k8s", "--context", "dev-cluster"]);
    r.code(1).stdout_has("context `dev-cluster`: the API server does not answer").stdout_has(&refused);
}
