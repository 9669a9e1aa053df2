//! Compose-level runtime options against the real engine: user networks with
//! aliases, extra_hosts, hostname, tmpfs, init, stop_signal, restart, ulimits,
//! `health: {shell}` and `health: {protocol}` probes, external networks.

use std::process::Command;

use crate::harness::*;

/// A Docker network made outside devenv (no devenv labels), removed on drop.
struct ExternalNetwork(String);

impl ExternalNetwork {
    fn create(name: &str) -> ExternalNetwork {
        let out = Command::new("docker").args(["network", "create", name]).output().expect("docker network create");
        assert!(out.status.success(), "docker network create {name}: {}", String::from_utf8_lossy(&out.stderr));
        ExternalNetwork(name.to_string())
    }

    fn exists(&self) -> bool {
        Command::new("docker").args(["network", "inspect", &self.0]).output().is_ok_and(|o| o.status.success())
    }
}

impl Drop for ExternalNetwork {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(["network", "rm", &self.0]).output();
    }
}

/// Can `container` open a TCP connection to `host:port`?
fn connects(container: &str, host: &str, port: u16) -> bool {
    let script = "import socket, sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 3)";
    let out = Command::new("docker").args(["exec", container, "python3", "-c", script, host, &port.to_string()]).output().expect("docker exec");
    out.status.success()
}

fn exec_out(container: &str, args: &[&str]) -> String {
    let out = Command::new("docker").arg("exec").arg(container).args(args).output().expect("docker exec");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn line_of(r: &Run, needle: &str) -> usize {
    r.stderr.lines().position(|l| l.contains(needle)).unwrap_or_else(|| panic!("no line with {needle:?}:\n{}", r.stderr))
}

/// The app image has python3-minimal (no `http` module): a socket connect is the check.
const HEALTH_SHELL: &str = r#"python3 -c 'import socket; socket.create_connection(("127.0.0.1", 8080), 1)' && test -d /scratch"#;

#[test]
fn networks_aliases_runtime_options_and_probes() {
    if !docker_ready() {
        return;
    }
    let yaml = format!(
        r#"name: {{project}}
networks:
  front:
  back:
  outside: {{external: true, name: "{{project}}-outside"}}
services:
  api:
    image: {APP}
    env: {{PORT: "8080"}}
    networks:
      front:
      back: {{aliases: [api-internal]}}
    hostname: api-box
    extra_hosts: ["db.example:10.1.2.3", "gw=host-gateway"]
    tmpfs: ["/scratch:size=8m,mode=1777"]
    init: true
    stop_signal: SIGINT
    stop_grace_period: 3s
    restart: on-failure:2
    ulimits: {{nofile: {{soft: 1024, hard: 2048}}}}
    health: {{shell: "{shell}"}}
  client:
    image: {APP}
    env: {{PORT: "8080"}}
    networks: [back]
    depends_on: {{api: healthy}}
  edge:
    image: {APP}
    env: {{PORT: "8080"}}
    networks: [front, outside]
  isolated:
    image: {APP}
    env: {{PORT: "8080"}}
  stubborn:
    image: {APP}
    command: [sleep, "300"]
    stop_grace_period: 1s
  pg:
    image: {POSTGRES}
    env: {{POSTGRES_PASSWORD: pw-9, POSTGRES_USER: app, POSTGRES_DB: appdb}}
    health: {{protocol: postgres}}
"#,
        shell = HEALTH_SHELL.replace('"', "\\\"")
    );
    // Declared before the project so it is removed after the project's containers are gone.
    let outside_name = format!("it-runtime-ext-{}", std::process::id());
    let yaml = yaml.replace("{project}-outside", &outside_name);
    let outside = ExternalNetwork::create(&outside_name);
    let p = Project::new("runtime", &yaml);
    let r = p.run(&["up", "-d"]);
    r.ok();

    // `health: {shell}` gates the dependent; `health: {protocol: postgres}` probes a plain image.
    assert!(line_of(&r, "api ready in") < line_of(&r, "client starting"), "client started before api was ready:\n{}", r.stderr);
    r.stderr_has("pg waiting until ready (postgres SELECT 1)");
    assert_eq!(r.lines_with("pg ready in").len(), 1, "{}", r.stderr);

    let api = format!("{}-api", p.name);
    let (client, edge, isolated) = (format!("{}-client", p.name), format!("{}-edge", p.name), format!("{}-isolated", p.name));

    // The service name resolves on every network it joins; an alias only on its network.
    assert!(connects(&client, "api-internal", 8080), "alias on the shared network");
    assert!(connects(&client, "api", 8080), "service name on the shared network");
    assert!(connects(&edge, "api", 8080), "service name on the other shared network");
    assert!(!connects(&edge, "api-internal", 8080), "the alias belongs to `back` only");
    assert!(!connects(&isolated, "api", 8080), "a service on another network cannot reach api");
    assert!(!connects(&isolated, "api-internal", 8080));

    // What `docker inspect` (and the container itself) shows.
    assert_eq!(exec_out(&api, &["hostname"]), "api-box");
    assert!(exec_out(&api, &["getent", "hosts", "db.example"]).starts_with("10.1.2.3"));
    let hosts = inspect(&api, "{{json .HostConfig.ExtraHosts}}");
    assert!(hosts.contains("db.example:10.1.2.3") && hosts.contains("gw:host-gateway"), "{hosts}");
    assert!(inspect(&api, "{{json .HostConfig.Tmpfs}}").contains(r#""/scratch":"size=8m,mode=1777""#));
    assert!(exec_out(&api, &["sh", "-c", "grep ' /scratch ' /proc/mounts"]).starts_with("tmpfs /scratch"));
    assert_eq!(inspect(&api, "{{.HostConfig.Init}}"), "true");
    assert_eq!(inspect(&api, "{{.Config.StopSignal}}"), "SIGINT");
    assert_eq!(inspect(&api, "{{.Config.StopTimeout}}"), "3");
    assert_eq!(inspect(&api, "{{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}"), "on-failure:2");
    let ulimits = inspect(&api, "{{json .HostConfig.Ulimits}}");
    assert!(ulimits.contains(r#""Name":"nofile","Hard":2048,"Soft":1024"#), "{ulimits}");
    let limits = exec_out(&api, &["cat", "/proc/1/limits"]);
    let open_files: Vec<&str> = limits.lines().find(|l| l.starts_with("Max open files")).unwrap_or("").split_whitespace().collect();
    assert_eq!(open_files.get(3..5), Some(&["1024", "2048"][..]), "the service's process runs with the limits: {limits}");
    let test = inspect(&api, "{{json .Config.Healthcheck.Test}}");
    assert!(test.starts_with(r#"["CMD-SHELL","python3 -c"#), "the shell probe is the container's HEALTHCHECK: {test}");
    let nets = inspect(&api, "{{range $k, $v := .NetworkSettings.Networks}}{{$k}}={{join $v.Aliases \",\"}} {{end}}");
    assert!(nets.contains(&format!("{}_front=", p.name)), "{nets}");
    assert!(nets.contains(&format!("{}_back=", p.name)) && nets.contains("api-internal"), "{nets}");
    assert!(!nets.contains(&format!("{}_default", p.name)), "a service listing networks joins exactly those: {nets}");
    assert!(inspect(&edge, "{{json .NetworkSettings.Networks}}").contains(&outside_name));

    // Unchanged: nothing recreated.
    p.run(&["up", "-d"]).ok().stderr_has("nothing to do");

    // down removes the project's networks, never the external one.
    let mut ours = p.docker_objects("network");
    ours.sort();
    assert_eq!(ours, vec![format!("{}_back", p.name), format!("{}_default", p.name), format!("{}_front", p.name)]);
    // `sleep` as PID 1 ignores SIGTERM: down waits its stop_grace_period (1 s), not Docker's 10 s.
    let t0 = std::time::Instant::now();
    p.run(&["down"]).ok();
    assert!(t0.elapsed() < std::time::Duration::from_secs(8), "down took {:?}", t0.elapsed());
    assert!(p.docker_objects("network").is_empty(), "{:?}", p.docker_objects("network"));
    assert!(p.docker_objects("container").is_empty());
    assert!(outside.exists(), "down removed an external network");
}

#[test]
fn missing_external_network_is_a_preflight_error() {
    if !docker_ready() {
        return;
    }
    let yaml = format!(
        "name: {{project}}\nnetworks:\n  corp: {{external: true, name: \"{{project}}-nowhere\"}}\n  own:\nservices:\n  api:\n    image: {APP}\n    networks: [own, corp]\n"
    );
    let p = Project::new("extmiss", &yaml);
    let r = p.run(&["up", "-d"]);
    r.code(4).stderr_has("declared `external: true`").stderr_has(&format!("{}-nowhere", p.name)).stderr_has("docker network create");
    assert!(p.docker_objects("container").is_empty(), "nothing is created");
    assert!(p.docker_objects("network").is_empty(), "not even the project's own network");
}

#[test]
fn crashing_service_with_restart_always_fails_at_the_deadline() {
    if !docker_ready() {
        return;
    }
    // Exits 3 at once; Docker restarts it with a growing backoff, forever.
    let yaml = format!(
        "name: {{project}}\nservices:\n  flaky:\n    image: {APP}\n    command: [sh, -c, \"exit 3\"]\n    restart: always\n    health: {{tcp: 8080, timeout: 7s}}\n"
    );
    let p = Project::new("restart", &yaml);
    let t0 = std::time::Instant::now();
    let r = p.run(&["up", "-d"]);
    // Caught waiting to be restarted, or (under load) just restarted: either way the crash loop is named.
    r.code(6).stderr_has("was not ready after 7s").stderr_has("by its restart policy");
    assert!(t0.elapsed() < std::time::Duration::from_secs(60), "up must not hang: {:?}", t0.elapsed());
    assert_ne!(inspect(&format!("{}-flaky", p.name), "{{.RestartCount}}"), "0", "Docker restarted it");
}
