//! `devenv doctor` against an environment file: each planted problem is found,
//! with a fix, and a clean environment passes. (A low `vm.max_map_count` and
//! too little engine memory are planted through parameters in the unit tests
//! of src/cli/doctor/, since they cannot be changed from a test.)

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::*;

fn doctor_json(p: &Project) -> (i32, serde_json::Value) {
    let r = p.run(&["doctor", "--json"]);
    let v = serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("doctor --json is not JSON ({e}):\n{}\n{}", r.stdout, r.stderr));
    (r.code, v)
}

/// The findings of one check at a level of at least warn.
fn problems<'a>(v: &'a serde_json::Value, check: &str) -> Vec<&'a serde_json::Value> {
    v["checks"].as_array().map(|a| a.iter().filter(|c| c["check"] == check && (c["level"] == "warn" || c["level"] == "fail")).collect()).unwrap_or_default()
}

#[test]
fn a_clean_environment_passes() {
    if !docker_ready() {
        return;
    }
    let port = free_port();
    let p = Project::new("doc-clean", &format!("name: {{project}}\nservices:\n  a:\n    image: {REDIS}\n    ports: [\"{port}:6379\"]\n    volumes: [\"./data:/data\"]\n"));
    std::fs::create_dir(p.dir.path().join("data")).expect("mkdir");
    let r = p.run(&["doctor"]);
    r.ok().stdout_has("✓ docker: engine").stdout_has(&format!("{REDIS} is present")).stdout_has(&format!("host port {port} free"));
    r.stdout_has("2 directories writable");
    assert!(!r.stdout.contains("✗"), "{}", r.stdout);
    let (code, v) = doctor_json(&p);
    assert_eq!((code, v["ok"].as_bool(), v["problems"].as_u64()), (0, Some(true), Some(0)), "{v:#}");
}

#[test]
fn a_port_in_use() {
    if !docker_ready() {
        return;
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let p = Project::new("doc-port", &format!("name: {{project}}\nservices:\n  a:\n    image: {REDIS}\n    ports: [\"{port}:6379\"]\n"));
    let (code, v) = doctor_json(&p);
    assert_eq!((code, v["ok"].as_bool()), (1, Some(false)), "{v:#}");
    let found = problems(&v, "port");
    assert_eq!(found.len(), 1, "{v:#}");
    assert!(found[0]["message"].as_str().is_some_and(|m| m.contains(&format!("127.0.0.1:{port}"))));
    assert!(found[0]["fix"].as_str().is_some_and(|f| f.contains("--ports random")));
    drop(listener);
    p.run(&["doctor"]).ok();
}

#[test]
fn a_missing_build_context() {
    if !docker_ready() {
        return;
    }
    let p = Project::new("doc-ctx", "name: {project}\nservices:\n  web:\n    build: ./web\n");
    let r = p.run(&["doctor"]);
    r.code(1).stdout_has("✗ environment file").stdout_has("web does not exist").stdout_has("services.web.build").stdout_has("fix:");
    r.stdout_has("✓ docker: engine");
}

#[test]
fn an_image_neither_local_nor_buildable() {
    if !docker_ready() {
        return;
    }
    let image = "devenv-test/never-built-anywhere:1";
    let p = Project::new("doc-img", &format!("name: {{project}}\nservices:\n  ghost:\n    image: {image}\n"));
    let (code, v) = doctor_json(&p);
    let found = problems(&v, "image");
    assert_eq!(found.len(), 1, "{v:#}");
    let message = found[0]["message"].as_str().unwrap_or("");
    assert!(message.contains(image), "{message}");
    // Offline (as on the CI machine) it is a warning; a registry that answers "no such image" makes it a failure.
    match found[0]["level"].as_str() {
        Some("warn") => {
            assert_eq!(code, 0, "warnings only: exit 0");
            assert!(message.contains("neither local nor buildable"), "{message}");
            assert!(found[0]["fix"].as_str().is_some_and(|f| f.contains(&format!("docker pull {image}")) && f.contains("README.md#image-map")));
        }
        other => {
            assert_eq!((other, code), (Some("fail"), 1), "{v:#}");
        }
    }
}

/// Makes a directory unwritable for this user (`chattr +i` for root, who ignores modes) until dropped.
struct Unwritable(PathBuf);

impl Unwritable {
    fn new(dir: &Path) -> Option<Unwritable> {
        let is_root = Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        let ok = if is_root {
            Command::new("chattr").arg("+i").arg(dir).status().is_ok_and(|s| s.success())
        } else {
            Command::new("chmod").arg("555").arg(dir).status().is_ok_and(|s| s.success())
        };
        ok.then(|| Unwritable(dir.to_path_buf()))
    }
}

impl Drop for Unwritable {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(&self.0).status();
        let _ = Command::new("chmod").arg("755").arg(&self.0).status();
    }
}

#[test]
fn a_bind_source_that_cannot_be_written() {
    if !docker_ready() {
        return;
    }
    let p = Project::new("doc-bind", &format!("name: {{project}}\nservices:\n  a:\n    image: {REDIS}\n    volumes: [\"./data:/data\", \"./config:/config:ro\"]\n"));
    let data = p.dir.path().join("data");
    let config = p.dir.path().join("config");
    std::fs::create_dir(&data).expect("mkdir");
    std::fs::create_dir(&config).expect("mkdir");
    let (Some(_guard), Some(_ro)) = (Unwritable::new(&data), Unwritable::new(&config)) else {
        panic!("cannot make a directory unwritable here (neither chattr +i as root nor chmod 555 worked)");
    };
    let (code, v) = doctor_json(&p);
    assert_eq!(code, 1, "{v:#}");
    let found = problems(&v, "volume");
    assert_eq!(found.len(), 1, "the read-only mount is not a problem: {v:#}");
    let message = found[0]["message"].as_str().unwrap_or("");
    assert!(message.contains(&data.display().to_string()) && message.contains("not writable"), "{message}");
    assert!(found[0]["fix"].as_str().is_some_and(|f| f.contains("chown") && f.contains("chattr -i")));
}

#[test]
fn errors_link_to_the_readme() {
    if !docker_ready() {
        return;
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let p = Project::new("doc-see", &format!("name: {{project}}\nservices:\n  a:\n    image: {REDIS}\n    ports: [\"{port}:6379\"]\n"));
    p.run(&["up", "-d"]).code(4).stderr_has("hint:").stderr_has("see: README.md#devenv-doctor");
    p.write("devenv.yaml", "name: x\nservices:\n  a:\n    imag: redis\n");
    p.run(&["config"]).code(2).stderr_has("see: README.md#the-environment-file");
}

/// `FROM ${BASE}`: doctor resolves the ARG default and reports the missing
/// base image (it showed ✓ before); the image map, applied to a base image
/// named through a build arg, makes the build use an image that is here.
#[test]
fn a_base_image_named_through_a_build_arg() {
    if !docker_ready() {
        return;
    }
    let missing = "devenv-test/never-built-base:1";
    let p = Project::new("doc-arg", "name: {project}\nservices:\n  app:\n    build: ./app\n    command: [\"true\"]\n    run: once\n");
    p.write("app/Dockerfile", &format!("ARG BASE={missing}\nFROM ${{BASE}}\nRUN true\n"));
    let (code, v) = doctor_json(&p);
    let found = problems(&v, "image");
    assert_eq!(found.len(), 1, "{v:#}");
    let message = found[0]["message"].as_str().unwrap_or("");
    assert!(message.contains(missing) && message.contains("base image"), "{message}");
    let fix = found[0]["fix"].as_str().unwrap_or("");
    assert!(fix.contains("services.app.build.args.BASE"), "{fix}");
    // Exit code as documented: 1 when a check fails, 0 with warnings only (offline registry).
    match found[0]["level"].as_str() {
        Some("warn") => assert_eq!(code, 0, "{v:#}"),
        other => assert_eq!((other, code), (Some("fail"), 1), "{v:#}"),
    }

    // With the base image mapped to one that is here, doctor is content and the build uses it.
    p.write("map.yaml", &format!("{missing}: debian:bookworm-slim\n"));
    let map = p.dir.path().join("map.yaml");
    let out = p.cmd(&["doctor", "--json"]).env("DEVENV_IMAGE_MAP", &map).output().expect("run");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(problems(&v, "image").is_empty(), "{v:#}");
    let out = p.cmd(&["up", "-d", "--build"]).env("DEVENV_IMAGE_MAP", &map).output().expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    p.run(&["down", "-v"]);
    assert_eq!(out.status.code(), Some(0), "the mapped base image is used: {stderr}");
}
