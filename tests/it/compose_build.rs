//! Issue 16 item 5 (`build.platforms`, `build.secrets`, `build.ssh`,
//! `build.additional_contexts`, `platform` at build time) against the real
//! engine, whose build API here is the classic one (Docker 20.10, no BuildKit
//! session): what it can do is done (the image is built for the engine's
//! platform, keys the Dockerfile does not use change nothing), what it cannot
//! is refused before anything is created, with the way out the hint names
//! (BuildKit once, through `docker compose build`) checked to work.

use std::process::{Command, Output};

use crate::harness::*;

fn docker(args: &[&str]) -> Output {
    Command::new("docker").args(args).output().expect("docker")
}

/// Nothing of the project exists: no container, network or volume.
#[track_caller]
fn nothing_created(p: &Project) {
    for kind in ["container", "network", "volume"] {
        assert_eq!(p.docker_objects(kind), Vec::<String>::new(), "{kind}s created");
    }
}

const UNUSED_KEYS: &str = "services:\n  app:\n    build:\n      context: .\n      platforms: [linux/amd64, linux/arm64]\n      secrets: [npmrc]\n      ssh: [default]\n      additional_contexts:\n        assets: ./assets\n        base: service:base\n    command: [\"sleep\", \"60\"]\n  base:\n    image: devenv-test/app:1\n    command: [\"sleep\", \"60\"]\nsecrets:\n  npmrc:\n    file: ./npmrc\n";

/// BuildKit keys the Dockerfile does not use change nothing: the image is
/// built (for the engine's platform, the one of several listed that runs
/// here) and the service runs, with no warning about them.
#[test]
fn buildkit_keys_the_dockerfile_does_not_use_change_nothing() {
    if !docker_ready() {
        return;
    }
    let p = compose_project("c16bkunused", UNUSED_KEYS);
    p.write("Dockerfile", "FROM devenv-test/app:1\nRUN echo built > /marker\n");
    p.write("npmrc", "registry=x\n");
    p.write("assets/a.txt", "a\n");
    let up = p.run(&["-p", &p.name, "up", "-d"]);
    up.ok();
    for key in ["build.platforms", "build.secrets", "build.ssh", "build.additional_contexts"] {
        assert!(!up.stderr.contains(key), "{key} is not reported:\n{}", up.stderr);
    }
    let image = format!("{}-app:devenv", p.name);
    let engine_arch = docker(&["info", "--format", "{{.Architecture}}"]);
    let engine_arch = String::from_utf8_lossy(&engine_arch.stdout).trim().replace("x86_64", "amd64").replace("aarch64", "arm64");
    assert_eq!(inspect(&image, "{{.Os}}/{{.Architecture}}"), format!("linux/{engine_arch}"));
    let app = format!("{}-app", p.name);
    let out = docker(&["exec", &app, "cat", "/marker"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "built");
}

/// A service `platform` the engine is not: the classic builder would build
/// for the engine's platform, so the build is refused before anything exists
/// (exit 5, the key and the engine's platform named, BuildKit as the way out).
#[test]
fn a_foreign_build_platform_is_refused_before_anything_is_created() {
    if !docker_ready() {
        return;
    }
    let arch = String::from_utf8_lossy(&docker(&["info", "--format", "{{.Architecture}}"]).stdout).trim().to_string();
    let foreign = if arch == "aarch64" { "linux/amd64" } else { "linux/arm64" };
    let yaml = format!("services:\n  app:\n    platform: {foreign}\n    build: .\n    command: [\"sleep\", \"60\"]\n");
    let p = compose_project("c16bkplatform", &yaml);
    p.write("Dockerfile", "FROM devenv-test/app:1\n");
    let r = p.run(&["-p", &p.name, "up", "-d"]);
    r.code(5)
        .stderr_has(&format!("services.app.platform: cannot build for {foreign} on this engine"))
        .stderr_has(&format!("docker buildx build --platform {foreign} --load"));
    nothing_created(&p);
    assert!(p.docker_objects("image").is_empty(), "no image built");
}

const SECRET_BUILD: &str = "services:\n  app:\n    build:\n      context: .\n      secrets: [npmrc]\n    command: [\"sleep\", \"60\"]\nsecrets:\n  npmrc:\n    file: ./npmrc\n";

/// A Dockerfile that mounts a build secret cannot be built by the classic
/// builder: refused at `build.secrets` with the line that mounts it; the
/// hint's way out (compose's BuildKit build, tagged as devenv's image) works,
/// and devenv then runs the image as it is.
#[test]
fn a_dockerfile_that_mounts_a_build_secret_is_refused_and_the_hint_works() {
    if !compose_ready() {
        return;
    }
    let p = compose_project("c16bksecret", SECRET_BUILD);
    // A step of its own first: BuildKit's cache does not key on a secret's content.
    p.write("Dockerfile", &format!("FROM devenv-test/app:1\nRUN echo {} > /id\nRUN --mount=type=secret,id=npmrc cp /run/secrets/npmrc /baked\n", p.name));
    p.write("npmrc", "registry=from-the-secret\n");
    let r = p.run(&["-p", &p.name, "up", "-d"]);
    r.code(5)
        .stderr_has("services.app.build.secrets: build secrets cannot be given to this build")
        .stderr_has("line 3: `RUN --mount=type=secret,id=npmrc cp /run/secrets/npmrc /baked`");
    nothing_created(&p);
    let compose_image = p.name.clone() + "-app";
    let ours = format!("{compose_image}:devenv");
    let _images = OwnImages(vec![ours.clone(), compose_image.clone()]);
    r.stderr_has(&format!("docker compose build app && docker tag {compose_image} {ours}"));

    let build = Command::new("docker").current_dir(p.dir.path()).args(["compose", "-p", &p.name, "build", "app"]).output().expect("compose build");
    assert!(build.status.success(), "docker compose build: {}", String::from_utf8_lossy(&build.stderr));
    assert!(docker(&["tag", &compose_image, &ours]).status.success());
    p.run(&["-p", &p.name, "up", "-d"]).ok();
    let out = docker(&["exec", &format!("{}-app", p.name), "cat", "/baked"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "registry=from-the-secret\n");
    p.run(&["-p", &p.name, "down", "-t", "1"]).ok();
}

/// Images this test tagged outside devenv (compose's build), removed even when it fails.
struct OwnImages(Vec<String>);

impl Drop for OwnImages {
    fn drop(&mut self) {
        for image in &self.0 {
            let _ = docker(&["rmi", "-f", image]);
        }
    }
}

/// `RUN --mount=type=ssh` with `build.ssh`, and a named context the
/// Dockerfile uses (`COPY --from=assets`): refused at their keys, nothing created.
#[test]
fn ssh_mounts_and_used_named_contexts_are_refused_at_their_keys() {
    if !docker_ready() {
        return;
    }
    let ssh = "services:\n  app:\n    build:\n      context: .\n      ssh: [default]\n";
    let p = compose_project("c16bkssh", ssh);
    p.write("Dockerfile", "FROM devenv-test/app:1\nRUN --mount=type=ssh true\n");
    p.run(&["-p", &p.name, "up", "-d"]).code(5).stderr_has("services.app.build.ssh: SSH forwarding cannot be given to this build");
    nothing_created(&p);

    let ctx = "services:\n  app:\n    build:\n      context: .\n      additional_contexts:\n        assets: ./assets\n";
    let p = compose_project("c16bkctx", ctx);
    p.write("Dockerfile", "FROM devenv-test/app:1\nCOPY --from=assets a.txt /a.txt\n");
    p.write("assets/a.txt", "a\n");
    p.run(&["-p", &p.name, "up", "-d"])
        .code(5)
        .stderr_has("services.app.build.additional_contexts.assets: named build contexts cannot be given to this build")
        .stderr_has("line 2: `COPY --from=assets a.txt /a.txt`");
    nothing_created(&p);
}

/// `stat` of each path in the container (`path mode uid gid`) and its content.
fn files_in(container: &str, paths: &[&str]) -> Vec<String> {
    paths
        .iter()
        .map(|path| {
            let stat = docker(&["exec", container, "stat", "-c", "%n %a %u %g", path]);
            let cat = docker(&["exec", container, "cat", path]);
            format!("{} {}", String::from_utf8_lossy(&stat.stdout).trim(), String::from_utf8_lossy(&cat.stdout).trim())
        })
        .collect()
}

const DEVENV_SECRETS: &str = "name: {project}\nservices:\n  app:\n    image: devenv-test/app:1\n    command: [\"sleep\", \"60\"]\n    secrets:\n      - db_password\n      - source: token\n        target: tok\n        uid: 1000\n        gid: 1001\n        mode: 0400\n    configs:\n      - app_conf\n      - source: inline\n        target: /etc/inline.conf\nsecrets:\n  db_password:\n    file: ./db_password.txt\n  token:\n    environment: TOKEN\nconfigs:\n  app_conf:\n    file: ./app.conf\n  inline:\n    content: hello inline\n";

/// devenv.yaml's own `secrets` and `configs`: where compose puts them, with
/// the content, owner and mode written, seen from inside the container; the
/// secret's value is never printed by `config`.
#[test]
fn devenv_yaml_secrets_and_configs_are_mounted_like_compose_mounts_them() {
    if !docker_ready() {
        return;
    }
    let p = Project::new("c16dvsecrets", DEVENV_SECRETS);
    p.write("db_password.txt", "file-password");
    p.write("app.conf", "k=v");
    p.write(".env", "TOKEN=token-from-dotenv\n");
    let config = p.run(&["config"]);
    config.ok();
    assert!(!config.stdout.contains("token-from-dotenv") && !config.stdout.contains("file-password"), "{}", config.stdout);
    let plan = p.run(&["config", "--plan"]);
    assert!(!plan.stdout.contains("token-from-dotenv"), "the plan masks it:\n{}", plan.stdout);
    p.run(&["up", "-d"]).ok();
    let app = format!("{}-app", p.name);
    assert_eq!(
        files_in(&app, &["/run/secrets/db_password", "/run/secrets/tok", "/app_conf", "/etc/inline.conf"]),
        [
            "/run/secrets/db_password 644 0 0 file-password",
            "/run/secrets/tok 400 1000 1001 token-from-dotenv",
            "/app_conf 644 0 0 k=v",
            "/etc/inline.conf 444 0 0 hello inline"
        ]
    );
    assert_eq!(inspect(&app, "{{range .Mounts}}{{if eq .Destination \"/run/secrets/db_password\"}}{{.RW}}{{end}}{{end}}"), "false", "a file secret is read-only");
    // A secret that is not defined, and one whose variable is unset: refused at their keys, nothing created.
    p.run(&["down", "-t", "1"]).ok();
    p.write("devenv.yaml", &DEVENV_SECRETS.replace("{project}", &p.name).replace("      - db_password\n", "      - nope\n"));
    p.run(&["up", "-d"]).code(2).stderr_has("services.app.secrets[0]: `nope` is not defined under the top-level `secrets`");
    p.write(".env", "");
    p.write("devenv.yaml", &DEVENV_SECRETS.replace("{project}", &p.name));
    p.run(&["up", "-d"]).code(2).stderr_has("secrets.token.environment").stderr_has("\"TOKEN\"");
    assert!(p.docker_objects("container").is_empty());
}

const COMPOSE_SECRETS: &str = "services:\n  app:\n    image: devenv-test/app:1\n    command: [\"sleep\", \"60\"]\n    secrets:\n      - db_password\n      - source: token\n        target: tok\n        mode: 0440\n    configs:\n      - source: inline\n        target: /etc/inline.conf\nsecrets:\n  db_password:\n    file: ./db_password.txt\n  token:\n    environment: TOKEN\nconfigs:\n  inline:\n    content: hello inline\n";

/// `devenv import` keeps `secrets` and `configs` (it used to turn file ones
/// into volumes and drop the others): the written devenv.yaml names them, and
/// run by devenv it mounts what `docker compose up` mounts.
#[test]
fn import_keeps_secrets_and_configs_and_runs_like_compose() {
    if !compose_ready() {
        return;
    }
    let p = compose_project("c16impsecrets", COMPOSE_SECRETS);
    p.write("db_password.txt", "file-password");
    p.write(".env", "TOKEN=token-from-dotenv\n");
    let paths = ["/run/secrets/db_password", "/run/secrets/tok", "/etc/inline.conf"];
    let compose_name = format!("{}-compose", p.name);
    let up = Command::new("docker").current_dir(p.dir.path()).args(["compose", "-p", &compose_name, "up", "-d"]).output().expect("compose");
    assert!(up.status.success(), "docker compose up: {}", String::from_utf8_lossy(&up.stderr));
    let by_compose = files_in(&format!("{compose_name}-app-1"), &paths);
    let _ = Command::new("docker").current_dir(p.dir.path()).args(["compose", "-p", &compose_name, "down", "-t", "1"]).output();

    p.run(&["import", "-o", "devenv.yaml"]).ok();
    let written = std::fs::read_to_string(p.dir.path().join("devenv.yaml")).expect("devenv.yaml");
    let spec: serde_yaml::Value = serde_yaml::from_str(&written).expect("yaml");
    assert_eq!(spec["secrets"]["db_password"]["file"].as_str(), Some("./db_password.txt"), "{written}");
    assert_eq!(spec["secrets"]["token"]["environment"].as_str(), Some("TOKEN"), "the variable, not its value:\n{written}");
    assert_eq!(spec["configs"]["inline"]["content"].as_str(), Some("hello inline"));
    assert_eq!(spec["services"]["app"]["secrets"][1]["target"].as_str(), Some("tok"));
    assert!(!written.contains("token-from-dotenv") && spec["services"]["app"].get("volumes").is_none(), "{written}");
    p.run(&["-p", &p.name, "up", "-d"]).ok();
    assert_eq!(files_in(&format!("{}-app", p.name), &paths), by_compose);
    assert_eq!(by_compose[1], "/run/secrets/tok 440 0 0 token-from-dotenv");
}
