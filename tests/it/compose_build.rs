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
    r.stderr_has(&format!("docker compose build app && docker tag {compose_image} {ours}"));

    let build = Command::new("docker").current_dir(p.dir.path()).args(["compose", "-p", &p.name, "build", "app"]).output().expect("compose build");
    assert!(build.status.success(), "docker compose build: {}", String::from_utf8_lossy(&build.stderr));
    assert!(docker(&["tag", &compose_image, &ours]).status.success());
    p.run(&["-p", &p.name, "up", "-d"]).ok();
    let out = docker(&["exec", &format!("{}-app", p.name), "cat", "/baked"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "registry=from-the-secret\n");
    p.run(&["-p", &p.name, "down", "-t", "1"]).ok();
    let _ = docker(&["rmi", "-f", &ours, &compose_image]);
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
