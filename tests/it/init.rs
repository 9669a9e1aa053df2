//! `devenv init` in a sample repository, then `devenv up` on exactly what it wrote.

use crate::harness::*;
use crate::lifecycle::http_get;

/// A tiny app: GET /health → ok, / → a greeting, /env/NAME → that variable.
const SERVER: &str = r#"import os, signal, socket, sys
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
PORT = int(os.environ.get("PORT", "8000"))
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("0.0.0.0", PORT))
srv.listen(16)
print(f"listening on {PORT}", flush=True)
while True:
    conn, _ = srv.accept()
    with conn:
        req = b""
        while b"\r\n\r\n" not in req and len(req) < 65536:
            chunk = conn.recv(4096)
            if not chunk:
                break
            req += chunk
        req = req.decode(errors="replace")
        path = req.split(" ")[1] if req.count(" ") >= 2 else "/"
        if path == "/health":
            body = "ok"
        elif path.startswith("/env/"):
            body = os.environ.get(path[5:], "unset")
        else:
            body = "hello from the sample app"
        data = body.encode()
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: " + str(len(data)).encode() + b"\r\n\r\n" + data)
"#;

/// A sample repository: a Dockerfile FROM a local image (nothing can be pulled), the server in src/.
fn sample_repo(test: &str) -> Project {
    let p = Project::new(test, "");
    std::fs::remove_file(p.dir.path().join("devenv.yaml")).expect("no devenv.yaml to start with");
    p.write("Dockerfile", &format!("FROM {APP}\nWORKDIR /srv\nCOPY . .\nEXPOSE 8000\nCMD [\"python3\", \"/srv/src/server.py\"]\n"));
    p.write("src/server.py", SERVER);
    p.write("requirements.txt", "psycopg2-binary\nredis\n");
    p
}

fn body(response: &str) -> &str {
    response.split("\r\n\r\n").nth(1).unwrap_or("")
}

#[test]
fn init_yes_then_up_brings_up_a_working_environment() {
    if !docker_ready() {
        return;
    }
    let p = sample_repo("init");
    let r = p.run(&["-p", &p.name, "init", "--yes", "--preset", "postgres", "--preset", "redis"]);
    r.ok().stderr_has("wrote devenv.yaml (services: db, cache, app)").stderr_has("next: devenv up -d");
    let yaml = std::fs::read_to_string(p.dir.path().join("devenv.yaml")).expect("devenv.yaml written");
    assert!(yaml.contains("DATABASE_URL: ${db.url}") && yaml.contains("http: /health") && yaml.contains("target: /srv/src"), "{yaml}");
    p.run(&["config", "--services"]).ok().stdout_has("db\ncache\napp");

    // The file as written, on random host ports so parallel tests never collide.
    p.run(&["--ports", "random", "up", "-d", "--wait"]).ok();
    let env = env_json(&p);
    let port: u16 = env.get("DEVENV_APP_PORT").and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("no DEVENV_APP_PORT in {env:?}"));
    assert_eq!(body(&http_get(port, "/")), "hello from the sample app");
    let db_url = http_get(port, "/env/DATABASE_URL");
    assert!(body(&db_url).starts_with("postgres://devenv:devenv@db:5432/"), "{db_url}");
    assert_eq!(body(&http_get(port, "/env/REDIS_URL")), "redis://cache:6379/0");
    assert!(env.get("DEVENV_DB_URL").is_some_and(|u| u.starts_with("postgres://devenv:devenv@127.0.0.1:")), "{env:?}");

    let r = p.run(&["down", "-v"]);
    r.ok();
    let (containers, volumes) = (p.docker_objects("container"), p.docker_objects("volume"));
    assert!(containers.is_empty() && volumes.is_empty(), "left after down -v: {containers:?} {volumes:?}\n{}", r.stderr);
}

#[test]
fn init_refuses_to_overwrite_and_dry_run_writes_nothing() {
    let p = Project::new("init-keep", "name: {project}\nservices: {}\n");
    p.write("web/package.json", r#"{"scripts": {"dev": "vite"}, "devDependencies": {"vite": "5"}, "dependencies": {"pg": "8"}}"#);
    let before = std::fs::read_to_string(p.dir.path().join("devenv.yaml")).expect("read");
    let r = p.run(&["init", "--yes"]);
    r.code(2).stderr_has("already exists").stderr_has("--force").stderr_has("see: README.md#commands");
    assert_eq!(std::fs::read_to_string(p.dir.path().join("devenv.yaml")).expect("read"), before, "the file is kept");

    let r = p.run(&["init", "--dry-run", "--preset", "redis"]);
    r.ok().stdout_has("  cache:\n    preset: redis").stdout_has("  web:\n    build: ./web").stderr_has("not written (dry run): web/Dockerfile");
    r.stderr_has("your dependencies suggest postgres (pg in ./web): add `--preset postgres`");
    assert!(!p.dir.path().join("web/Dockerfile").exists(), "a dry run writes nothing");

    p.run(&["init", "--yes", "--force"]).ok().stderr_has("wrote web/Dockerfile");
    assert!(p.dir.path().join("web/Dockerfile").is_file() && p.dir.path().join("web/.dockerignore").is_file());
    p.run(&["config"]).ok();
}

#[test]
fn init_points_at_import_for_a_compose_file() {
    let p = Project::new("init-compose", "");
    std::fs::remove_file(p.dir.path().join("devenv.yaml")).expect("rm");
    p.write("docker-compose.yml", "services:\n  web:\n    image: nginx\n");
    p.run(&["init", "--yes", "-o", "-"]).ok().stderr_has("found docker-compose.yml: `devenv import`").stdout_has("services: {}");
}

#[test]
fn completions_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = std::process::Command::new(bin()).args(["completions", shell]).output().expect("run");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && text.len() > 500, "{shell}: {}", String::from_utf8_lossy(&out.stderr));
        for sub in ["up", "down", "doctor", "init", "completions"] {
            assert!(text.contains(sub), "{shell} completions do not mention `{sub}`");
        }
    }
    let out = std::process::Command::new(bin()).args(["completions", "--help"]).output().expect("run");
    assert!(String::from_utf8_lossy(&out.stdout).contains("~/.config/fish/completions/devenv.fish"));
    let out = std::process::Command::new(bin()).args(["completions", "tcsh"]).output().expect("run");
    assert_eq!(out.status.code(), Some(2), "an unknown shell is a usage error");
}
