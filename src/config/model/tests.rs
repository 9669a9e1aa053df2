use super::*;

fn service(yaml: &str) -> ServiceSpec {
    let spec: EnvSpec = serde_yaml::from_str(&format!("services:\n  s:\n{yaml}")).expect("parses");
    spec.services["s"].clone()
}

fn parse_err(yaml: &str) -> String {
    let de = serde_yaml::Deserializer::from_str(yaml);
    match serde_path_to_error::deserialize::<_, EnvSpec>(de) {
        Ok(_) => panic!("expected an error for:\n{yaml}"),
        Err(e) => format!("{}: {}", e.path(), e.inner()),
    }
}

#[test]
fn scalar_runtime_keys() {
    let s = service(
        "    image: x\n    restart: on-failure:3\n    hostname: h1\n    container_name: c1\n    stop_grace_period: 1m30s\n    stop_signal: SIGINT\n    init: true\n    tty: true\n    stdin_open: false\n    privileged: true\n    shm_size: 256m\n",
    );
    assert_eq!(s.restart, "on-failure:3");
    assert_eq!(s.hostname.as_deref(), Some("h1"));
    assert_eq!(s.container_name.as_deref(), Some("c1"));
    assert_eq!(s.stop_grace_period, Some(DurationSpec(Duration::from_secs(90))));
    assert_eq!(s.stop_signal.as_deref(), Some("SIGINT"));
    assert_eq!((s.init, s.tty, s.stdin_open, s.privileged), (Some(true), Some(true), Some(false), Some(true)));
    assert_eq!(s.shm_size.as_deref(), Some("256m"));
    // `restart: no` is a string in YAML 1.2, and a byte count may be a number.
    let s = service("    image: x\n    restart: no\n    shm_size: 1048576\n");
    assert_eq!(s.restart, "no");
    assert_eq!(s.shm_size.as_deref(), Some("1048576"));
}

#[test]
fn expose_tmpfs_and_capabilities() {
    let s = service("    image: x\n    expose: [3000, \"9000/udp\", \"8000-8002\"]\n    tmpfs: /run\n    cap_add: [NET_ADMIN]\n    cap_drop: [ALL]\n");
    assert_eq!(s.expose, vec!["3000", "9000/udp", "8000-8002"]);
    assert_eq!(s.tmpfs, vec!["/run"], "one tmpfs as a string");
    assert_eq!(s.cap_add, vec!["NET_ADMIN"]);
    assert_eq!(s.cap_drop, vec!["ALL"]);
    let s = service("    image: x\n    tmpfs: [/run, \"/tmp:size=64m\"]\n");
    assert_eq!(s.tmpfs, vec!["/run", "/tmp:size=64m"], "many as a list");
}

#[test]
fn service_networks_list_or_map() {
    let s = service("    image: x\n    networks: [front, back]\n");
    assert_eq!(s.networks.0.keys().collect::<Vec<_>>(), vec!["front", "back"]);
    assert!(s.networks.0.values().all(|n| n.aliases.is_empty()));
    let s = service("    image: x\n    networks:\n      front:\n      back:\n        aliases: [db, primary]\n");
    assert_eq!(s.networks.0["front"], ServiceNetwork::default());
    assert_eq!(s.networks.0["back"].aliases, vec!["db", "primary"]);
    let s = service("    image: x\n    networks: {back: {ipv4_address: 172.16.0.9}}\n");
    assert_eq!(s.networks.0["back"].ipv4_address.as_deref(), Some("172.16.0.9"), "parsed so validation can reject it with a position");
    let e = parse_err("services:\n  s:\n    image: x\n    networks:\n      back: {alias: [x]}\n");
    assert!(e.starts_with("services.s.networks.back.alias") && e.contains("unknown field `alias`"), "{e}");
    let e = parse_err("services:\n  s:\n    image: x\n    networks: front\n");
    assert!(e.contains("a list of network names"), "{e}");
}

#[test]
fn extra_hosts_list_or_map() {
    let s = service("    image: x\n    extra_hosts: [\"a:10.0.0.1\", \"b=10.0.0.2\"]\n");
    assert_eq!(s.extra_hosts, vec!["a:10.0.0.1", "b=10.0.0.2"]);
    let s = service("    image: x\n    extra_hosts:\n      a: 10.0.0.1\n      gw: host-gateway\n");
    assert_eq!(s.extra_hosts, vec!["a:10.0.0.1", "gw:host-gateway"]);
    let e = parse_err("services:\n  s:\n    image: x\n    extra_hosts: {a: [1]}\n");
    assert!(e.contains("must be an IP address"), "{e}");
}

#[test]
fn ulimits_number_or_soft_hard() {
    let s = service("    image: x\n    ulimits:\n      nofile: {soft: 20000, hard: 40000}\n      nproc: 65535\n      core: \"-1\"\n");
    assert_eq!(s.ulimits["nofile"], UlimitSpec { soft: 20000, hard: 40000 });
    assert_eq!(s.ulimits["nproc"], UlimitSpec { soft: 65535, hard: 65535 });
    assert_eq!(s.ulimits["core"], UlimitSpec { soft: -1, hard: -1 });
    let e = parse_err("services:\n  s:\n    image: x\n    ulimits:\n      nofile: {soft: 1}\n");
    assert!(e.contains("missing field `hard`"), "{e}");
    let e = parse_err("services:\n  s:\n    image: x\n    ulimits:\n      nofile: {soft: 1, hard: 2, max: 3}\n");
    assert!(e.contains("unknown field `max`"), "{e}");
    let e = parse_err("services:\n  s:\n    image: x\n    ulimits:\n      nofile: lots\n");
    assert!(e.contains("whole number"), "{e}");
}

#[test]
fn top_level_networks() {
    let spec: EnvSpec = serde_yaml::from_str(
        "services: {}\nnetworks:\n  front:\n  back:\n    name: shared\n    driver: bridge\n    internal: true\n    labels: {team: core}\n  outside: {external: true}\n",
    )
    .expect("parses");
    assert_eq!(spec.networks["front"], NetworkSpec::default(), "an empty entry is a network with defaults");
    let back = &spec.networks["back"];
    assert_eq!((back.name.as_deref(), back.driver.as_deref(), back.internal), (Some("shared"), Some("bridge"), true));
    assert_eq!(back.labels.0["team"].as_deref(), Some("core"));
    assert!(spec.networks["outside"].external);
    let e = parse_err("services: {}\nnetworks:\n  front: {drivr: bridge}\n");
    assert!(e.starts_with("networks.front.drivr") && e.contains("unknown field `drivr`"), "{e}");
}

#[test]
fn health_probe_kinds_and_timing() {
    let s = service("    image: x\n    health: {shell: \"pg_isready || exit 1\", start_period: 30s}\n");
    let h = s.health.expect("health");
    assert_eq!(h.shell.as_deref(), Some("pg_isready || exit 1"));
    assert_eq!(h.start_period, Some(DurationSpec(Duration::from_secs(30))));
    assert_eq!(h.probes(), vec!["shell"]);
    let h = service("    image: x\n    health: {protocol: postgres, port: 5433}\n").health.expect("health");
    assert_eq!((h.protocol.as_deref(), h.port), (Some("postgres"), Some(5433)));
    assert_eq!(h.probes(), vec!["protocol"]);
    let h = service("    image: x\n    health: {disable: true}\n").health.expect("health");
    assert!(h.disabled());
    assert!(h.probes().is_empty());
}

#[test]
fn runtime_keys_round_trip_through_serialization() {
    let yaml = "services:\n  s:\n    image: x\n    restart: always\n    networks: {back: {aliases: [db]}, front: }\n    extra_hosts: {a: 10.0.0.1}\n    ulimits: {nofile: {soft: 1, hard: 2}, nproc: 3}\n    tmpfs: /run\n    health: {shell: \"true\", disable: false}\nnetworks:\n  back: {internal: true}\n  front:\n";
    let spec: EnvSpec = serde_yaml::from_str(yaml).expect("parses");
    let again: EnvSpec = serde_yaml::from_str(&serde_yaml::to_string(&spec).expect("serializes")).expect("re-parses");
    assert_eq!(spec, again);
    let text = serde_yaml::to_string(&spec.services["s"]).expect("serializes");
    assert!(text.contains("nproc: 3") && text.contains("soft: 1"), "{text}");
    assert!(!text.contains("container_name") && !text.contains("cap_add"), "unset keys stay out:\n{text}");
}

#[test]
fn key_lists_name_the_new_keys() {
    for k in ["restart", "expose", "networks", "extra_hosts", "hostname", "container_name", "stop_grace_period", "stop_signal", "ulimits", "init", "tty", "stdin_open", "tmpfs", "privileged", "cap_add", "cap_drop", "shm_size"] {
        assert!(SERVICE_KEYS.contains(&k), "{k}");
    }
    for k in ["protocol", "shell", "start_period", "disable"] {
        assert!(HEALTH_KEYS.contains(&k), "{k}");
    }
    assert!(TOP_KEYS.contains(&"networks"));
}
