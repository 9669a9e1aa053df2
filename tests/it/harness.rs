//! A small harness: run the real `devenv` binary in a temp dir against the real Docker engine.
//!
//! Every test gets a unique project name; the project's containers, networks,
//! volumes (anonymous ones included) and the images devenv built for it are
//! removed by label when the test ends, pass or fail.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

static COUNTER: AtomicUsize = AtomicUsize::new(0);

pub const REDIS: &str = "devenv-test/redis:7";
pub const APP: &str = "devenv-test/app:1";
pub const POSTGRES: &str = "devenv-test/postgres:15";
pub const CLICKHOUSE: &str = "devenv-test/clickhouse:18";
pub const ES_DOUBLE: &str = "devenv-test/elasticsearch-double:8";
pub const KAFKA: &str = "devenv-test/kafka:1";

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_devenv"))
}

/// Is Docker usable? In CI (`DEVENV_REQUIRE_DOCKER=1`) its absence fails the test instead of skipping it.
pub fn docker_ready() -> bool {
    static READY: OnceLock<Result<(), String>> = OnceLock::new();
    let r = READY.get_or_init(|| {
        let info = Command::new("docker").args(["info", "--format", "{{.ServerVersion}}"]).output();
        match info {
            Ok(o) if o.status.success() => {}
            Ok(o) => return Err(format!("docker info failed: {}", String::from_utf8_lossy(&o.stderr))),
            Err(e) => return Err(format!("docker CLI not runnable: {e}")),
        }
        for image in [REDIS, APP, POSTGRES, CLICKHOUSE, ES_DOUBLE, KAFKA, "debian:bookworm-slim"] {
            let ok = Command::new("docker").args(["image", "inspect", image]).stdout(Stdio::null()).stderr(Stdio::null()).status();
            if !matches!(ok, Ok(s) if s.success()) {
                return Err(format!("test image {image} is missing: run ./test.sh, which provisions them (or fixtures/images/build.sh)"));
            }
        }
        Ok(())
    });
    match r {
        Ok(()) => true,
        Err(e) => {
            if std::env::var("DEVENV_REQUIRE_DOCKER").is_ok_and(|v| v == "1") {
                panic!("Docker is required (DEVENV_REQUIRE_DOCKER=1) but not usable: {e}");
            }
            eprintln!("SKIPPED: Docker not usable ({e}); set DEVENV_REQUIRE_DOCKER=1 to make this a failure");
            false
        }
    }
}

/// Is the Docker engine usable? For tests that need no stand-in image (they build
/// FROM scratch). In CI (`DEVENV_REQUIRE_DOCKER=1`) its absence fails the test.
pub fn engine_ready() -> bool {
    static READY: OnceLock<Result<(), String>> = OnceLock::new();
    let r = READY.get_or_init(|| match Command::new("docker").args(["info", "--format", "{{.ServerVersion}}"]).output() {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(format!("docker info failed: {}", String::from_utf8_lossy(&o.stderr))),
        Err(e) => Err(format!("docker CLI not runnable: {e}")),
    });
    match r {
        Ok(()) => true,
        Err(e) if std::env::var("DEVENV_REQUIRE_DOCKER").is_ok_and(|v| v == "1") => panic!("Docker is required (DEVENV_REQUIRE_DOCKER=1) but not usable: {e}"),
        Err(e) => {
            eprintln!("SKIPPED: Docker not usable ({e}); set DEVENV_REQUIRE_DOCKER=1 to make this a failure");
            false
        }
    }
}

/// Docker answers and `images` are present (a test that needs only these
/// need not wait for every stand-in image); same policy as `docker_ready`.
pub fn images_ready(images: &[&str]) -> bool {
    let present = |image: &str| Command::new("docker").args(["image", "inspect", image]).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
    match images.iter().find(|i| !present(i)) {
        None => true,
        Some(missing) if std::env::var("DEVENV_REQUIRE_DOCKER").is_ok_and(|v| v == "1") => panic!("Docker and {missing} are required (DEVENV_REQUIRE_DOCKER=1): run ./test.sh"),
        Some(missing) => {
            eprintln!("SKIPPED: Docker or {missing} not available");
            false
        }
    }
}

/// A free TCP port on 127.0.0.1, never the same one twice in this test process
/// (the kernel may hand out a just-released port again).
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    loop {
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(0);
        let Ok(mut given) = GIVEN.lock() else { return port };
        if port != 0 && !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

pub struct Project {
    pub dir: tempfile::TempDir,
    pub name: String,
}

impl Project {
    /// A temp dir holding `devenv.yaml` = `yaml` with `{project}` replaced by a unique name.
    pub fn new(test: &str, yaml: &str) -> Project {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let name = format!("it-{test}-{}-{n}", std::process::id());
        let dir = tempfile::tempdir().expect("tempdir");
        let p = Project { dir, name };
        p.write("devenv.yaml", &yaml.replace("{project}", &p.name));
        p
    }

    pub fn write(&self, rel: &str, content: &str) {
        let path = self.dir.path().join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(path, content).expect("write");
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin());
        c.current_dir(self.dir.path())
            .args(args)
            .env("DEVENV_PROGRESS", "plain")
            .env("NO_COLOR", "1")
            .env("DEVENV_IMAGE_MAP", concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/images/map.yaml"))
            .env_remove("DEVENV_PROJECT");
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        let out = self.cmd(args).output().expect("run devenv");
        Run::from(out)
    }

    /// Names of Docker objects of a kind (`ps -a`, `network ls`, `volume ls`;
    /// `image`: ids) carrying this project's label.
    pub fn docker_objects(&self, kind: &str) -> Vec<String> {
        let filter = format!("label=dev.devenv.project={}", self.name);
        let args: Vec<&str> = match kind {
            "container" => vec!["ps", "-a", "--filter", &filter, "--format", "{{.Names}}"],
            "network" => vec!["network", "ls", "--filter", &filter, "--format", "{{.Name}}"],
            "image" => vec!["images", "-q", "--filter", &filter],
            _ => vec!["volume", "ls", "--filter", &filter, "--format", "{{.Name}}"],
        };
        let out = Command::new("docker").args(&args).output().expect("docker");
        String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).filter(|l| !l.is_empty()).collect()
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = self.cmd(&["down", "-v", "--rmi", "local", "-t", "1", "-p", &self.name]).output();
        // Belt and braces: remove anything left with our label (a container with its anonymous volumes).
        for kind in ["container", "network", "volume", "image"] {
            for obj in self.docker_objects(kind) {
                let args: Vec<&str> = match kind {
                    "container" => vec!["rm", "-f", "-v", &obj],
                    "network" => vec!["network", "rm", &obj],
                    "image" => vec!["rmi", "-f", &obj],
                    _ => vec!["volume", "rm", "-f", &obj],
                };
                let _ = Command::new("docker").args(&args).output();
            }
        }
    }
}

#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).to_string(),
            stderr: String::from_utf8_lossy(&o.stderr).to_string(),
        }
    }
}

impl Run {
    #[track_caller]
    pub fn ok(&self) -> &Self {
        assert_eq!(self.code, 0, "expected success\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }
    #[track_caller]
    pub fn code(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "expected exit {code}\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }
    #[track_caller]
    pub fn stderr_has(&self, needle: &str) -> &Self {
        assert!(self.stderr.contains(needle), "stderr lacks {needle:?}:\n{}", self.stderr);
        self
    }
    #[track_caller]
    pub fn stdout_has(&self, needle: &str) -> &Self {
        assert!(self.stdout.contains(needle), "stdout lacks {needle:?}:\n{}", self.stdout);
        self
    }
    pub fn lines_with(&self, needle: &str) -> Vec<&str> {
        self.stderr.lines().filter(|l| l.contains(needle)).collect()
    }
}

/// `docker inspect -f FORMAT NAME`
pub fn inspect(name: &str, format: &str) -> String {
    let out = Command::new("docker").args(["inspect", "-f", format, name]).output().expect("docker inspect");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `devenv env --format json` as a map.
pub fn env_json(p: &Project) -> std::collections::HashMap<String, String> {
    let r = p.run(&["env", "--format", "json"]);
    r.ok();
    serde_json::from_str(&r.stdout).expect("env --format json is a flat JSON object")
}

/// Compose v2 is the oracle of the compose tests; in CI (`DEVENV_REQUIRE_DOCKER=1`) it must be there.
pub fn compose_ready() -> bool {
    if !docker_ready() {
        return false;
    }
    let ok = Command::new("docker").args(["compose", "version"]).output().is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var("DEVENV_REQUIRE_DOCKER").is_ok_and(|v| v == "1") {
            panic!("`docker compose` (v2) is required (DEVENV_REQUIRE_DOCKER=1) but not usable: ./test.sh installs it");
        }
        eprintln!("SKIPPED: docker compose v2 not available");
    }
    ok
}

/// A project directory with `compose.yaml` = `yaml` (`{project}` replaced by
/// the project's name) and no devenv.yaml.
pub fn compose_project(test: &str, yaml: &str) -> Project {
    let p = Project::new(test, "");
    let _ = std::fs::remove_file(p.dir.path().join("devenv.yaml"));
    p.write("compose.yaml", &yaml.replace("{project}", &p.name));
    p
}

/// `devenv ARGS` with every port random (other tests run beside this one).
pub fn dv(p: &Project, args: &[&str]) -> Run {
    Run::from(p.cmd(args).env("DEVENV_PORTS", "random").output().expect("run devenv"))
}

/// `docker compose -p <project>-compose ARGS` in the project's directory
/// (the oracle beside devenv); the compose project, its volumes and the
/// images it built are removed when the guard drops.
pub struct Compose<'a> {
    pub p: &'a Project,
    pub name: String,
}

impl<'a> Compose<'a> {
    pub fn new(p: &'a Project) -> Self {
        Compose { p, name: format!("{}-compose", p.name) }
    }

    pub fn run(&self, args: &[&str]) -> Output {
        Command::new("docker").current_dir(self.p.dir.path()).args(["compose", "-p", &self.name]).args(args).output().expect("docker compose")
    }

    pub fn up(&self) {
        let up = self.run(&["up", "-d"]);
        assert!(up.status.success(), "docker compose up failed: {}", String::from_utf8_lossy(&up.stderr));
    }

    /// Compose's name of a service's first container.
    pub fn container(&self, service: &str) -> String {
        format!("{}-{service}-1", self.name)
    }
}

impl Drop for Compose<'_> {
    fn drop(&mut self) {
        let _ = self.run(&["down", "-v", "-t", "1", "--rmi", "local"]);
    }
}

/// A project's snapshot volumes, its seeded snapshots' too (they do not
/// carry the project label, so `Project` does not see them); all removed
/// when the guard drops.
pub struct Snapshots(pub String);

impl Snapshots {
    pub fn of(p: &Project) -> Snapshots {
        Snapshots(p.name.clone())
    }

    fn labelled(&self, label: &str) -> Vec<String> {
        let filter = format!("label={label}={}", self.0);
        let out = Command::new("docker").args(["volume", "ls", "-q", "--filter", &filter]).output().expect("docker");
        let mut v: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect();
        v.sort();
        v
    }

    /// The volumes of the user's snapshots (`devenv snapshot save`), sorted.
    pub fn volumes(&self) -> Vec<String> {
        self.labelled("dev.devenv.snapshot-of")
    }

    /// The volumes of snapshot `name`.
    pub fn of_snapshot(&self, name: &str) -> Vec<String> {
        self.volumes().into_iter().filter(|v| v == &format!("{}_snapshot_{name}", self.0) || v.starts_with(&format!("{}_snapshot_{name}_", self.0))).collect()
    }
}

impl Drop for Snapshots {
    fn drop(&mut self) {
        for v in self.volumes().into_iter().chain(self.labelled("dev.devenv.seeded-of")) {
            let _ = Command::new("docker").args(["volume", "rm", "-f", &v]).output();
        }
    }
}
