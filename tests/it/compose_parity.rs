//! Issue 16: compose files whose keys devenv used to refuse or misread, run by
//! `docker compose -p <p1>` and by `devenv -p <p2>` and compared through
//! `docker inspect` and from inside the containers; bad input refused with a
//! compose-like, positioned error and nothing created.

use std::collections::BTreeSet;
use std::process::Command;

use crate::harness::*;




/// `docker inspect` of one container, as JSON.
fn inspect_json(container: &str) -> serde_json::Value {
    let out = Command::new("docker").args(["inspect", container]).output().expect("docker inspect");
    assert!(out.status.success(), "docker inspect {container}: {}", String::from_utf8_lossy(&out.stderr));
    let mut all: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("inspect JSON");
    all.pop().expect("one container")
}

/// (type, source's file name, destination, read-write) of every mount.
fn mounts(c: &serde_json::Value) -> BTreeSet<(String, String, String, bool)> {
    let s = |m: &serde_json::Value, k: &str| m.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_string();
    c.pointer("/Mounts").and_then(|m| m.as_array()).into_iter().flatten().map(|m| {
        let source = s(m, "Source");
        let name = source.rsplit('/').next().unwrap_or_default().to_string();
        (s(m, "Type"), name, s(m, "Destination"), m.get("RW").and_then(|v| v.as_bool()).unwrap_or(true))
    }).collect()
}

/// container port → the host ports published for it ("" = none).
fn bindings(c: &serde_json::Value) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for (cport, binds) in c.pointer("/HostConfig/PortBindings").and_then(|b| b.as_object()).into_iter().flatten() {
        for b in binds.as_array().into_iter().flatten() {
            let s = |k: &str| b.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_string();
            out.push((cport.clone(), s("HostIp"), s("HostPort")));
        }
    }
    out.sort();
    out
}

fn exec(container: &str, cmd: &[&str]) -> String {
    let out = Command::new("docker").args(["exec", container]).args(cmd).output().expect("docker exec");
    assert!(out.status.success(), "docker exec {container} {cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Container-only ports (`"8080"` twice, in two services), an empty host IP
/// (`${BIND:-}:PORT:9090`) and a `:` in a long-syntax bind source.
#[test]
fn ports_and_colon_sources_run_like_docker_compose() {
    if !compose_ready() {
        return;
    }
    let host_port = free_port().to_string();
    let yaml = "services:\n  a:\n    image: devenv-test/app:1\n    ports:\n      - \"8080\"\n      - \"${BIND:-}:HP:9090\"\n    volumes:\n      - type: bind\n        source: ./data:v1\n        target: /data\n        read_only: true\n  b:\n    image: devenv-test/app:1\n    ports: [\"8080\"]\n"
        .replace("HP", &host_port);
    let p = compose_project("c16ports", &yaml);
    p.write("data:v1/greeting.txt", "from a colon dir\n");

    let compose = Compose::new(&p);
    compose.up();
    let (ca, cb) = (inspect_json(&compose.container("a")), inspect_json(&compose.container("b")));
    let compose_read = exec(&compose.container("a"), &["cat", "/data/greeting.txt"]);
    let (compose_a, compose_b, compose_mounts) = (bindings(&ca), bindings(&cb), mounts(&ca));
    drop(compose);

    let r = p.run(&["-p", &p.name, "up", "-d"]);
    r.ok().stderr_has("empty host IP");
    let (da, db) = (inspect_json(&format!("{}-a", p.name)), inspect_json(&format!("{}-b", p.name)));
    assert_eq!(mounts(&da), compose_mounts, "the bind mount with a `:` in its source, read-only");
    assert_eq!(exec(&format!("{}-a", p.name), &["cat", "/data/greeting.txt"]), compose_read);
    // Container-only ports: a random host port each, never 8080 itself (compose
    // leaves it to the engine; devenv picks a free one before creating, to
    // check it and to know it for `ps`/`env`), so `a` and `b` do not clash.
    let eighty = |who: &str, b: &[(String, String, String)]| {
        b.iter().find(|(c, ..)| c == "8080/tcp").map(|(_, _, h)| h.clone()).unwrap_or_else(|| panic!("{who}: 8080 not published: {b:?}"))
    };
    assert_eq!((eighty("compose a", &compose_a), eighty("compose b", &compose_b)), (String::new(), String::new()));
    let (dev_a, dev_b) = (eighty("devenv a", &bindings(&da)), eighty("devenv b", &bindings(&db)));
    assert!(dev_a != "8080" && dev_b != "8080" && dev_a != dev_b, "devenv: {dev_a}, {dev_b}");
    assert_eq!(compose_b.len(), bindings(&db).len());
    // The empty host IP: the same host port; compose binds every interface,
    // devenv its default loopback (said in the warning above).
    let ninety = |b: &[(String, String, String)]| b.iter().find(|(c, ..)| c == "9090/tcp").cloned();
    assert_eq!(ninety(&compose_a), Some(("9090/tcp".into(), "".into(), host_port.clone())));
    assert_eq!(ninety(&bindings(&da)), Some(("9090/tcp".into(), "127.0.0.1".into(), host_port.clone())));
}

/// A Dockerfile that does not exist yet: `config` works, `up` fails when it
/// builds (creating nothing), and runs once the file is there; `dockerfile: ""`
/// builds the context's `Dockerfile`.
#[test]
fn a_missing_dockerfile_is_an_error_when_building_not_when_loading() {
    if !docker_ready() {
        return;
    }
    let yaml = "services:\n  api:\n    build:\n      context: ./app\n      dockerfile: \"\"\n    command: [\"sh\", \"-c\", \"cat /marker; sleep 60\"]\n  later:\n    build:\n      context: ./app\n      dockerfile: gen/Later.Dockerfile\n    command: [\"sleep\", \"60\"]\n";
    let p = compose_project("c16build", yaml);
    p.write("app/Dockerfile", "FROM devenv-test/app:1\nRUN echo default-dockerfile > /marker\n");
    p.run(&["-p", &p.name, "config", "--services"]).ok().stdout_has("later");
    let r = p.run(&["-p", &p.name, "up", "-d"]);
    r.code(5).stderr_has("`later`: Dockerfile").stderr_has("gen/Later.Dockerfile not found");
    assert!(p.docker_objects("container").iter().all(|c| !c.ends_with("-later")), "{:?}", p.docker_objects("container"));
    p.write("app/gen/Later.Dockerfile", "FROM devenv-test/app:1\n");
    p.run(&["-p", &p.name, "up", "-d"]).ok();
    assert_eq!(exec(&format!("{}-api", p.name), &["cat", "/marker"]), "default-dockerfile");
}

/// `-f` a file whose name does not say compose: its content decides, and the
/// choice is said; a compose error links to README.md#compose-files with the
/// nearest keys as the hint.
#[test]
fn dash_f_reads_a_compose_shaped_file_as_compose_and_says_so() {
    let p = Project::new("c16dashf", "");
    p.write("stack.yaml", "x-common: &common\n  image: devenv-test/app:1\nservices:\n  web:\n    <<: *common\n    ports: [\"8080\"]\n");
    let r = p.run(&["-f", "stack.yaml", "config", "--format", "json"]);
    r.ok().stderr_has("stack.yaml: read as a compose file");
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("compose's normalized model");
    assert_eq!(v.pointer("/services/web/ports/0/target").and_then(|t| t.as_u64()), Some(8080));
    assert!(v.pointer("/services/web/ports/0/published").is_none(), "a container-only port: {}", r.stdout);

    p.write("compose.bad.yaml", "services:\n  web:\n    image: devenv-test/app:1\n    zzzzzzzz: 1\n");
    let r = p.run(&["-f", "compose.bad.yaml", "config"]);
    r.code(2).stderr_has("compose.bad.yaml:4:5").stderr_has("see: README.md#compose-files").stderr_has("nearest to `zzzzzzzz`");
    let hint = r.lines_with("hint:").join("\n");
    assert_eq!(hint.matches('`').count(), 8, "three keys, not ~90: {hint}");
}

const SECRETS: &str = "services:\n  web:\n    image: devenv-test/app:1\n    secrets:\n      - db_password\n      - source: db_password\n        target: password.txt\n        uid: \"103\"\n        mode: 0440\n      - source: api_key\n        target: /etc/api/key\n    configs:\n      - app_conf\n      - source: app_conf\n        target: /etc/app/app.conf\nsecrets:\n  db_password:\n    file: ./db_password.txt\n  api_key:\n    file: ./api.key\nconfigs:\n  app_conf:\n    file: ./app.conf\n";

/// `file:` secrets and configs: bind-mounted read-only where compose mounts
/// them (`/run/secrets/<name>`, a relative target under `/run/secrets/`;
/// configs at `/<name>` or their target), the same content inside.
#[test]
fn file_secrets_and_configs_are_mounted_where_compose_mounts_them() {
    if !compose_ready() {
        return;
    }
    let p = compose_project("c16secrets", SECRETS);
    p.write("db_password.txt", "pw-from-file\n");
    p.write("api.key", "key-123\n");
    p.write("app.conf", "listen 8080;\n");
    let paths = ["/run/secrets/db_password", "/run/secrets/password.txt", "/etc/api/key", "/app_conf", "/etc/app/app.conf"];
    let read = |container: &str| paths.map(|f| exec(container, &["cat", f]));

    let compose = Compose::new(&p);
    compose.up();
    let (compose_mounts, compose_read) = (mounts(&inspect_json(&compose.container("web"))), read(&compose.container("web")));
    drop(compose);

    let r = p.run(&["-p", &p.name, "up", "-d"]);
    r.ok();
    let web = format!("{}-web", p.name);
    assert_eq!(mounts(&inspect_json(&web)), compose_mounts);
    assert_eq!(compose_mounts.len(), 5, "{compose_mounts:?}");
    assert!(compose_mounts.iter().all(|(kind, _, _, rw)| kind == "bind" && !rw), "{compose_mounts:?}");
    assert_eq!(read(&web), compose_read);
    assert_eq!(compose_read[1], "pw-from-file");
    // uid/gid/mode do not apply to a bind-mounted file (compose ignores them too): said once.
    assert!(r.stderr.contains("`uid`, `gid` and `mode` are ignored"), "{}", r.stderr);
    // The secret's value is never printed.
    let config = p.run(&["-p", &p.name, "config"]);
    config.ok();
    assert!(!config.stdout.contains("pw-from-file") && !r.stderr.contains("pw-from-file"));
}

/// A secret whose file is missing: a compose-like error at the `file:` line,
/// nothing created.
#[test]
fn a_missing_secret_file_is_refused_at_its_position_and_nothing_is_created() {
    if !docker_ready() {
        return;
    }
    let p = compose_project("c16nosecret", SECRETS);
    p.write("api.key", "k\n");
    p.write("app.conf", "c\n");
    let r = p.run(&["-p", &p.name, "up", "-d"]);
    r.code(2).stderr_has("compose.yaml:18:5").stderr_has("secret `db_password`: file").stderr_has("does not exist").stderr_has("see: README.md#compose-files");
    assert!(p.docker_objects("container").is_empty() && p.docker_objects("network").is_empty(), "nothing is created");
}

const WRITTEN: &str = "services:\n  web:\n    image: devenv-test/app:1\n    secrets:\n      - source: token\n        target: token_t\n        uid: \"1000\"\n        gid: \"1000\"\n        mode: 0400\n      - envsec\n    configs:\n      - source: inline\n        target: /etc/app/inline.conf\n        mode: 0440\n      - inline\nsecrets:\n  token:\n    environment: TOKEN\n  envsec:\n    environment: TOKEN\nconfigs:\n  inline:\n    content: |\n      hello ${WHO:-world}\n";

/// Secrets from a variable and configs written inline: copied into the
/// container before it starts, with compose's paths, modes and owners.
#[test]
fn written_secrets_and_configs_match_compose_inside_the_container() {
    if !compose_ready() {
        return;
    }
    let p = compose_project("c16written", WRITTEN);
    p.write(".env", "TOKEN=tok-s3cret-value\n");
    let paths = ["/run/secrets/token_t", "/run/secrets/envsec", "/etc/app/inline.conf", "/inline"];
    let seen = |container: &str| paths.map(|f| (exec(container, &["stat", "-c", "%a %u %g", f]), exec(container, &["cat", f])));

    let compose = Compose::new(&p);
    compose.up();
    let by_compose = seen(&compose.container("web"));
    drop(compose);

    let r = p.run(&["-p", &p.name, "up", "-d"]);
    r.ok();
    let by_devenv = seen(&format!("{}-web", p.name));
    assert_eq!(by_devenv, by_compose);
    assert_eq!(by_compose[0], ("400 1000 1000".to_string(), "tok-s3cret-value".to_string()));
    assert_eq!(by_compose[2].1, "hello world");
    // Never printed: not by `up`, not by `config --plan`.
    let plan = p.run(&["-p", &p.name, "config", "--plan"]);
    plan.ok().stdout_has("/run/secrets/token_t").stdout_has("***");
    for out in [&r.stdout, &r.stderr, &plan.stdout, &plan.stderr] {
        assert!(!out.contains("tok-s3cret-value"), "a secret was printed:\n{out}");
    }
    // Up again, unchanged: nothing recreated; a changed value recreates it.
    let id = inspect(&format!("{}-web", p.name), "{{.Id}}");
    p.run(&["-p", &p.name, "up", "-d"]).ok();
    assert_eq!(inspect(&format!("{}-web", p.name), "{{.Id}}"), id);
    p.write(".env", "TOKEN=rotated\n");
    p.run(&["-p", &p.name, "up", "-d"]).ok();
    assert_eq!(exec(&format!("{}-web", p.name), &["cat", "/run/secrets/envsec"]), "rotated");
}

/// A secret whose variable is not set: compose's message, at the
/// `environment:` line, nothing created.
#[test]
fn a_secret_from_an_unset_variable_is_refused_and_nothing_is_created() {
    if !docker_ready() {
        return;
    }
    let p = compose_project("c16unset", WRITTEN);
    let r = p.cmd(&["-p", &p.name, "up", "-d"]).env_remove("TOKEN").output().map(Run::from).expect("devenv up");
    r.code(2).stderr_has("compose.yaml:18:5").stderr_has("environment variable \"TOKEN\" required by secret \"token\" is not set");
    assert!(p.docker_objects("container").is_empty() && p.docker_objects("network").is_empty(), "nothing is created");
}

/// `platform`: passed to the engine when creating (and pulling). This
/// machine's platform runs as under compose; one the engine has no image for
/// is a clear error, and that service's container is not left behind.
#[test]
fn platform_is_passed_to_the_engine() {
    if !compose_ready() {
        return;
    }
    let native = "services:\n  web:\n    image: devenv-test/app:1\n    platform: linux/amd64\n";
    let p = compose_project("c16platform", native);
    let compose = Compose::new(&p);
    compose.up();
    let by_compose = inspect_json(&compose.container("web"));
    drop(compose);
    p.run(&["-p", &p.name, "up", "-d"]).ok();
    let by_devenv = inspect_json(&format!("{}-web", p.name));
    for field in ["/Platform", "/Image"] {
        assert_eq!(by_devenv.pointer(field), by_compose.pointer(field), "{field}");
    }
    let plan = p.run(&["-p", &p.name, "config", "--plan", "--format", "json"]);
    plan.ok().stdout_has("\"platform\": \"linux/amd64\"");

    p.write("compose.yaml", "services:\n  arm:\n    image: devenv-test/app:1\n    platform: linux/arm64\n");
    let r = p.run(&["-p", &p.name, "up", "-d"]);
    r.code(5).stderr_has("`arm`: image `devenv-test/app:1` is not available for platform linux/arm64").stderr_has("emulation");
    assert!(p.docker_objects("container").iter().all(|c| !c.ends_with("-arm")), "{:?}", p.docker_objects("container"));
}

/// `build.dockerfile_inline`: the Dockerfile written in the compose file is
/// what both build; the same file comes out of the image.
#[test]
fn an_inline_dockerfile_builds_like_compose_builds_it() {
    if !compose_ready() {
        return;
    }
    let yaml = "services:\n  app:\n    build:\n      context: .\n      dockerfile_inline: |\n        FROM devenv-test/app:1\n        RUN echo built-inline > /marker\n    command: [\"sleep\", \"60\"]\n";
    let p = compose_project("c16inline", yaml);
    p.write("Dockerfile", "FROM scratch\n"); // not the one built
    let compose = Compose::new(&p);
    compose.up();
    let by_compose = exec(&compose.container("app"), &["cat", "/marker"]);
    drop(compose);
    p.run(&["-p", &p.name, "up", "-d"]).ok();
    assert_eq!(exec(&format!("{}-app", p.name), &["cat", "/marker"]), by_compose);
    assert_eq!(by_compose, "built-inline");
}

/// `volumes_from`: the source service starts first, and its volumes appear
/// in the other container, as under compose. One documented difference:
/// compose 2.26 drops the `:ro` of `service:ro` (it passes the container id
/// alone, so the share is writable); devenv keeps it, as the compose
/// specification and Docker's `--volumes-from` define it.
#[test]
fn volumes_from_shares_a_services_volumes_like_compose() {
    if !compose_ready() {
        return;
    }
    let yaml = "services:\n  app:\n    image: devenv-test/app:1\n    command: [\"sleep\", \"60\"]\n    volumes_from: [\"data:ro\"]\n  data:\n    image: devenv-test/app:1\n    command: [\"sh\", \"-c\", \"echo shared-bytes > /shared/f; sleep 60\"]\n    volumes: [\"shared:/shared\", \"/anon\"]\nvolumes:\n  shared:\n";
    let p = compose_project("c16volfrom", yaml);
    let dests = |c: &serde_json::Value| mounts(c).into_iter().map(|(kind, _, dest, _)| (kind, dest)).collect::<BTreeSet<_>>();
    let compose = Compose::new(&p);
    compose.up();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let app = inspect_json(&compose.container("app"));
    let (by_compose, read_compose) = (dests(&app), exec(&compose.container("app"), &["cat", "/shared/f"]));
    let data_id = inspect_json(&compose.container("data")).pointer("/Id").cloned();
    assert_eq!(app.pointer("/HostConfig/VolumesFrom/0").cloned(), data_id, "compose passes the container id, without `:ro`");
    drop(compose);

    p.run(&["-p", &p.name, "up", "-d"]).ok();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let web = format!("{}-app", p.name);
    let app = inspect_json(&web);
    assert_eq!(dests(&app), by_compose, "the same volumes at the same places");
    assert_eq!(by_compose.len(), 2, "{by_compose:?}");
    assert_eq!(exec(&web, &["cat", "/shared/f"]), read_compose);
    assert_eq!(read_compose, "shared-bytes");
    assert_eq!(app.pointer("/HostConfig/VolumesFrom").cloned(), Some(serde_json::json!([format!("{}-data:ro", p.name)])));
    assert!(mounts(&app).iter().all(|(_, _, _, rw)| !rw), "`:ro` is kept: {:?}", mounts(&app));
    let out = Command::new("docker").args(["exec", &web, "sh", "-c", "echo x > /shared/g"]).output().expect("exec");
    assert!(!out.status.success(), "a write through the read-only share fails");
}

/// A `volumes_from` service disabled by a profile: compose-like error at its position, nothing created.
#[test]
fn volumes_from_a_disabled_service_is_refused() {
    if !docker_ready() {
        return;
    }
    let yaml = "services:\n  app:\n    image: devenv-test/app:1\n    volumes_from:\n      - data\n  data:\n    image: devenv-test/app:1\n    profiles: [seed]\n";
    let p = compose_project("c16volfromoff", yaml);
    let r = p.run(&["-p", &p.name, "up", "-d"]);
    // compose's own check (volumes_from implies depends_on), at the service.
    r.code(2).stderr_has("compose.yaml:2:3").stderr_has("depends on undefined service \"data\"").stderr_has("--profile seed");
    assert!(p.docker_objects("container").is_empty() && p.docker_objects("network").is_empty());
}

/// `ipc` / `pid`: `shareable` + `service:NAME` share one namespace (the
/// target created first), `host` is the host's — as under compose, seen from
/// inside the containers.
#[test]
fn ipc_and_pid_namespaces_are_shared_like_compose() {
    if !compose_ready() {
        return;
    }
    let yaml = "services:\n  side:\n    image: devenv-test/app:1\n    command: [\"sleep\", \"60\"]\n    ipc: \"service:main\"\n    pid: \"service:main\"\n  main:\n    image: devenv-test/app:1\n    command: [\"sleep\", \"60\"]\n    ipc: shareable\n  tools:\n    image: devenv-test/app:1\n    command: [\"sleep\", \"60\"]\n    pid: host\n";
    let p = compose_project("c16ns", yaml);
    // Seen from inside: a file in main's /dev/shm, main's processes, and whether PID 1 is the host's init.
    let seen = |main: &str, side: &str, tools: &str| {
        exec(main, &["sh", "-c", "echo ipc-shared > /dev/shm/probe"]);
        let shm = exec(side, &["cat", "/dev/shm/probe"]);
        let sleeps = exec(side, &["sh", "-c", "ls /proc | grep -c '^[0-9]'"]).parse::<u32>().unwrap_or(0) >= 2;
        let host_pid1 = exec(tools, &["cat", "/proc/1/comm"]) != "sleep";
        (shm, sleeps, host_pid1)
    };
    let compose = Compose::new(&p);
    compose.up();
    let by_compose = seen(&compose.container("main"), &compose.container("side"), &compose.container("tools"));
    let modes_compose: Vec<String> = ["main", "side", "tools"].iter().map(|s| {
        let c = inspect_json(&compose.container(s));
        let m = |k: &str| c.pointer(&format!("/HostConfig/{k}")).and_then(|v| v.as_str()).unwrap_or_default().split(':').next().unwrap_or_default().to_string();
        format!("{} {}", m("IpcMode"), m("PidMode"))
    }).collect();
    drop(compose);

    let r = p.run(&["-p", &p.name, "up", "-d"]);
    r.ok();
    let c = |s: &str| format!("{}-{s}", p.name);
    let by_devenv = seen(&c("main"), &c("side"), &c("tools"));
    assert_eq!(by_devenv, by_compose);
    assert_eq!(by_compose, ("ipc-shared".to_string(), true, true));
    let modes_devenv: Vec<String> = ["main", "side", "tools"].iter().map(|s| {
        let m = |k: &str| inspect(&c(s), &format!("{{{{.HostConfig.{k}}}}}")).split(':').next().unwrap_or_default().to_string();
        format!("{} {}", m("IpcMode"), m("PidMode"))
    }).collect();
    assert_eq!(modes_devenv, modes_compose);
    assert_eq!(inspect(&c("side"), "{{.HostConfig.IpcMode}}"), format!("container:{}", inspect(&c("main"), "{{.Id}}")));
}
