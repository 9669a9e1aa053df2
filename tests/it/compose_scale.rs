//! Issue 16 item 6 (replicas): the same compose file brought up by
//! `docker compose -p <p>-compose` and by `devenv -p <p>` — container names,
//! count, the replica number (compose's `com.docker.compose.container-number`,
//! devenv's `dev.devenv.replica`), a published port range spread across the
//! replicas, the service name resolving to every replica; `up --scale` up and
//! down without recreating the replicas that stay; `exec --index`, `logs`
//! prefixes, `ps`; the refusals (nothing created); `down` removes every replica.

use std::collections::BTreeSet;
use std::process::Command;

use crate::harness::*;


/// Names of the containers with `label` (sorted).
fn containers_with(label: &str) -> Vec<String> {
    let out = Command::new("docker").args(["ps", "-a", "--filter", &format!("label={label}"), "--format", "{{.Names}}"]).output().expect("docker ps");
    let mut names: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect();
    names.sort();
    names
}

/// Three consecutive host ports free on every interface (compose binds
/// 0.0.0.0), below the ephemeral range (where the engine and the other tests'
/// random ports come from).
fn free_range() -> u16 {
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0) ^ std::process::id();
    for i in 0..500u32 {
        let lo = 20000 + ((seed.wrapping_add(i * 7919)) % 9000) as u16;
        if (0..3).all(|k| std::net::TcpListener::bind(("0.0.0.0", lo + k)).is_ok()) {
            return lo;
        }
    }
    panic!("no three consecutive free ports");
}

/// Wait (up to 10 s) until compose's proxies let go of the range again.
fn wait_free(lo: u16) {
    for _ in 0..100 {
        if (0..3).all(|i| std::net::TcpListener::bind(("127.0.0.1", lo + i)).is_ok()) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// The host ports published for container port 8080 by `containers`.
fn host_ports(containers: &[String]) -> BTreeSet<String> {
    containers.iter().map(|c| inspect(c, "{{(index (index .NetworkSettings.Ports \"8080/tcp\") 0).HostPort}}")).collect()
}

/// How many addresses `name` resolves to inside `container`.
fn addresses(container: &str, name: &str) -> String {
    let code = format!("import socket; print(len({{a[4][0] for a in socket.getaddrinfo('{name}', 8080)}}))");
    let out = Command::new("docker").args(["exec", container, "python3", "-c", &code]).output().expect("docker exec");
    assert!(out.status.success(), "resolve {name} in {container}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn replicas_match_docker_compose() {
    if !compose_ready() {
        return;
    }
    let lo = free_range();
    let stack = format!(
        "services:
  web:
    image: devenv-test/app:1
    deploy: {{replicas: 3}}
    ports: [\"{lo}-{}:8080\"]
  worker:
    image: devenv-test/app:1
    scale: 2
  off:
    image: devenv-test/app:1
    scale: 0
  front:
    image: devenv-test/app:1
    depends_on: [web]
",
        lo + 2
    );
    let p = compose_project("c16scale", &stack);
    let compose = Compose::new(&p);
    let up = compose.run(&["up", "-d"]);
    assert!(up.status.success(), "docker compose up: {}", String::from_utf8_lossy(&up.stderr));
    let theirs = containers_with(&format!("com.docker.compose.project={}", compose.name));
    let their_web: Vec<String> = (1..=3).map(|n| format!("{}-web-{n}", compose.name)).collect();
    let their_numbers: Vec<String> = their_web.iter().map(|c| inspect(c, "{{index .Config.Labels \"com.docker.compose.container-number\"}}")).collect();
    let their_ports = host_ports(&their_web);
    let their_dns = addresses(&format!("{}-front-1", compose.name), "web");
    drop(compose);
    wait_free(lo);

    p.run(&["-p", &p.name, "up", "-d"]).ok();
    let ours = p.docker_objects("container");
    let mut ours_sorted = ours.clone();
    ours_sorted.sort();
    // Names: compose's for the services with replicas; `front` (none written) keeps devenv's `<project>-front`.
    let strip = |names: &[String], prefix: &str| -> Vec<String> { names.iter().map(|n| n.trim_start_matches(prefix).to_string()).collect() };
    let compose_prefix = format!("{}-compose-", p.name);
    let devenv_prefix = format!("{}-", p.name);
    assert_eq!(strip(&theirs, &compose_prefix), ["front-1", "web-1", "web-2", "web-3", "worker-1", "worker-2"]);
    assert_eq!(strip(&ours_sorted, &devenv_prefix), ["front", "web-1", "web-2", "web-3", "worker-1", "worker-2"], "`off` (0 replicas) has no container");
    let our_web: Vec<String> = (1..=3).map(|n| format!("{}-web-{n}", p.name)).collect();
    let our_numbers: Vec<String> = our_web.iter().map(|c| inspect(c, "{{index .Config.Labels \"dev.devenv.replica\"}}")).collect();
    assert_eq!(our_numbers, their_numbers, "replica numbers: devenv's label vs compose's container-number");
    assert_eq!(our_numbers, ["1", "2", "3"]);
    assert_eq!(host_ports(&our_web), their_ports, "the port range is spread across the replicas");
    assert_eq!(their_ports, (0..3).map(|i| (lo + i).to_string()).collect::<BTreeSet<_>>());
    assert_eq!(addresses(&format!("{}-front", p.name), "web"), their_dns, "the service name resolves to every replica");
    assert_eq!(their_dns, "3");
    assert_eq!(inspect(&format!("{}-web-2", p.name), "{{.State.Status}}"), "running");

    // `down` removes every replica.
    p.run(&["-p", &p.name, "down"]).ok();
    assert!(p.docker_objects("container").is_empty(), "{:?}", p.docker_objects("container"));
}

/// (name → id) of the project's containers.
fn ids(p: &Project) -> std::collections::BTreeMap<String, String> {
    p.docker_objects("container").into_iter().map(|n| (n.clone(), inspect(&n, "{{.Id}}"))).collect()
}

#[test]
fn scale_up_and_down_keeps_the_replicas_that_stay() {
    if !docker_ready() {
        return;
    }
    let p = Project::new("c16rescale", "services:\n  web:\n    image: devenv-test/app:1\n    replicas: 2\n    ports: [\":8080\"]\n");
    let web = |n: u32| format!("{}-web-{n}", p.name);
    p.run(&["-p", &p.name, "up", "-d"]).ok();
    let first = ids(&p);
    assert_eq!(first.keys().cloned().collect::<Vec<_>>(), [web(1), web(2)]);

    p.run(&["-p", &p.name, "up", "-d", "--scale", "web=4"]).ok();
    let up = ids(&p);
    assert_eq!(up.keys().cloned().collect::<Vec<_>>(), [web(1), web(2), web(3), web(4)]);
    assert_eq!((&up[&web(1)], &up[&web(2)]), (&first[&web(1)], &first[&web(2)]), "scaling up does not recreate the replicas there");
    let ports = host_ports(&up.keys().cloned().collect::<Vec<_>>());
    assert_eq!(ports.len(), 4, "each replica has its own host port: {ports:?}");

    // ps lists each replica, with its number.
    let ps = p.run(&["-p", &p.name, "ps", "--json"]);
    ps.ok();
    let rows: Vec<serde_json::Value> = serde_json::from_str(&ps.stdout).expect("ps --json");
    let numbers: Vec<u64> = rows.iter().filter_map(|r| r["replica"].as_u64()).collect();
    assert_eq!(numbers, [1, 2, 3, 4], "{}", ps.stdout);
    p.run(&["-p", &p.name, "ps"]).ok().stdout_has("INDEX");

    // `devenv env` points at replica 1.
    let env = p.run(&["-p", &p.name, "env", "--format", "json"]);
    let env: std::collections::HashMap<String, String> = serde_json::from_str(&env.ok().stdout).expect("env --format json");
    assert_eq!(env.get("DEVENV_WEB_PORT"), Some(&host_ports(&[web(1)]).into_iter().next().unwrap_or_default()), "{env:?}");

    // exec --index runs in that replica (default: 1).
    p.run(&["-p", &p.name, "exec", "-T", "--index", "3", "web", "--", "touch", "/tmp/mark"]).ok();
    let has_mark = |c: &str| Command::new("docker").args(["exec", c, "test", "-f", "/tmp/mark"]).status().is_ok_and(|s| s.success());
    assert!(has_mark(&web(3)) && !has_mark(&web(1)) && !has_mark(&web(2)));
    p.run(&["-p", &p.name, "exec", "-T", "web", "--", "touch", "/tmp/first"]).ok();
    assert!(Command::new("docker").args(["exec", &web(1), "test", "-f", "/tmp/first"]).status().is_ok_and(|s| s.success()));
    p.run(&["-p", &p.name, "exec", "-T", "--index", "7", "web", "--", "true"]).code(2).stderr_has("replica 7");

    // logs merges the replicas, each line prefixed with `web-n`.
    let logs = p.run(&["-p", &p.name, "logs", "web"]);
    logs.ok();
    for n in 1..=4 {
        assert!(logs.stdout.lines().any(|l| l.starts_with(&format!("web-{n} ")) && l.contains("listening on")), "web-{n}:\n{}", logs.stdout);
    }

    // Scaling down removes the highest numbers; the first stays as it was.
    p.run(&["-p", &p.name, "up", "-d", "--scale", "web=1"]).ok().stderr_has("web-4");
    let down = ids(&p);
    assert_eq!(down.keys().cloned().collect::<Vec<_>>(), [web(1)]);
    assert_eq!(down[&web(1)], first[&web(1)]);
    // Without --scale, the file's count again.
    p.run(&["-p", &p.name, "up", "-d"]).ok();
    let back = ids(&p);
    assert_eq!(back.keys().cloned().collect::<Vec<_>>(), [web(1), web(2)]);
    assert_eq!(back[&web(1)], first[&web(1)]);
    // A fixed host port cannot be scaled: refused before anything changes.
    p.run(&["-p", &p.name, "up", "-d", "--scale", "web=x"]).code(2).stderr_has("SERVICE=N");
    p.run(&["-p", &p.name, "down"]).ok();
    assert!(p.docker_objects("container").is_empty());
}

#[test]
fn replicas_that_would_clash_are_refused_and_nothing_is_created() {
    if !docker_ready() {
        return;
    }
    // A fixed host port: compose starts the first replica, then fails with "port is already allocated".
    let fixed = compose_project("c16fixed", "services:\n  web:\n    image: devenv-test/app:1\n    ports:\n      - \"18080:8080\"\n    deploy:\n      replicas: 2\n");
    fixed.run(&["-p", &fixed.name, "up", "-d"]).code(2).stderr_has("compose.yaml:5:9").stderr_has("the replicas would clash on the port");
    assert!(fixed.docker_objects("container").is_empty() && fixed.docker_objects("network").is_empty());

    // container_name with replicas: compose refuses the file.
    let named = compose_project("c16named", "services:\n  web:\n    image: devenv-test/app:1\n    container_name: {project}-mine\n    scale: 2\n");
    named.run(&["-p", &named.name, "up", "-d"]).code(2).stderr_has("compose.yaml:4:5").stderr_has("a container name must be unique");
    assert!(named.docker_objects("container").is_empty());

    // scale and deploy.replicas that disagree: compose's message.
    let both = compose_project("c16both", "services:\n  web:\n    image: devenv-test/app:1\n    scale: 2\n    deploy: {replicas: 3}\n");
    both.run(&["-p", &both.name, "up", "-d"]).code(2).stderr_has("compose.yaml:4:5").stderr_has("can't set distinct values on 'scale' and 'deploy.replicas'");
    assert!(both.docker_objects("container").is_empty());

    // devenv.yaml: `replicas` with a fixed port, and `--scale` over one.
    let own = Project::new("c16ownfixed", "services:\n  web:\n    image: devenv-test/app:1\n    replicas: 2\n    ports: [\"18081:8080\"]\n");
    own.run(&["-p", &own.name, "up", "-d"]).code(2).stderr_has("devenv.yaml:5:").stderr_has("services.web.ports[0]");
    assert!(own.docker_objects("container").is_empty());
    let scaled = Project::new("c16scalefixed", "services:\n  web:\n    image: devenv-test/app:1\n    ports: [\"18082:8080\"]\n");
    scaled.run(&["-p", &scaled.name, "up", "-d", "--scale", "web=2"]).code(2).stderr_has("host port 18082");
    assert!(scaled.docker_objects("container").is_empty() && scaled.docker_objects("network").is_empty());
}

#[test]
fn a_service_scaled_to_zero_has_no_container_and_is_not_waited_on() {
    if !docker_ready() {
        return;
    }
    // As compose: `up` creates nothing for it, and its dependents start.
    let p = Project::new(
        "c16zero",
        "services:\n  off:\n    image: devenv-test/app:1\n    replicas: 0\n  front:\n    image: devenv-test/app:1\n    depends_on: {off: healthy}\n",
    );
    p.run(&["-p", &p.name, "up", "-d"]).ok();
    assert_eq!(p.docker_objects("container"), [format!("{}-front", p.name)]);
    p.run(&["-p", &p.name, "exec", "-T", "off", "--", "true"]).code(2).stderr_has("has no container");
}
