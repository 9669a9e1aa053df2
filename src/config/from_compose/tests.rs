//! The translation on projects read by the real compose loader from YAML text
//! (hand-built typed values only where the loader itself would refuse the input).

use std::path::PathBuf;

use super::*;
use crate::compose::VolumeTmpfs;
use crate::config::LoadOptions;
use crate::config::model::{CommandSpec, Condition, RunMode, WatchAction};

/// Loads `yaml` as `compose.yaml` in a fresh directory, with only `HOME` in the environment.
fn load(yaml: &str) -> ComposeProject {
    let dir = tempfile::tempdir().unwrap();
    let file: PathBuf = dir.path().join("compose.yaml");
    std::fs::write(&file, yaml).unwrap();
    let opts = LoadOptions {
        cwd: dir.path().to_path_buf(),
        environ: [("HOME".to_string(), "/home/dev".to_string())].into_iter().collect(),
        ..Default::default()
    };
    crate::compose::load(&[file], &opts).unwrap()
}

fn run(p: &ComposeProject) -> Converted {
    to_env_spec(p, Mode::Run).unwrap()
}

/// The same project the JSON-shaped sample described (`docker compose config`
/// of Compose 2.26), written as a compose file.
const SAMPLE: &str = r#"
name: demo
x-common:
  restart: unless-stopped
services:
  api:
    build:
      context: /src/app
      dockerfile: Dockerfile
      args: {A: "1"}
    develop:
      watch:
        - {path: /src/app/src, action: sync, target: /app/src, ignore: [node_modules/]}
        - {path: /src/app/package.json, action: rebuild}
        - {path: /src/app/conf, action: sync+restart, target: /app/conf}
    container_name: the-api
    depends_on:
      cache: {condition: service_started, restart: true}
      db: {condition: service_healthy}
      migrate: {condition: service_completed_successfully}
      optional: {condition: service_started, required: false}
    entrypoint: ["/bin/sh", "-c"]
    environment: {K: v, FROM_SHELL: null}
    hostname: apihost
    healthcheck: {disable: true}
    networks: [back, default]
    stdin_open: true
    stop_signal: SIGINT
    tty: true
    user: "1000"
    working_dir: /app
    logging: {driver: json-file}
  cache:
    command: ["redis-server", "--appendonly", "yes"]
    expose: ["6379"]
    extra_hosts: ["somehost=162.242.195.82"]
    image: redis:7
    init: true
    networks:
      back: {aliases: [redis-cache]}
    stop_grace_period: 1m30s
    tmpfs: [/run]
    ulimits:
      nofile: {soft: 1000, hard: 2000}
      nproc: 500
  db:
    environment: {POSTGRES_PASSWORD: secret}
    image: postgres:16
    labels: {team: core}
    ports: ["127.0.0.1:5432:5432", "6000:7000/udp", "8080"]
    restart: unless-stopped
    volumes:
      - pgdata:/var/lib/postgresql/data
      - /src/init:/docker-entrypoint-initdb.d:ro
      - {type: tmpfs, target: /tmp, tmpfs: {size: 1048576}}
      - /anon
  migrate:
    image: busybox
    healthcheck: {test: ["CMD", "true"], interval: 10s, start_period: 2s}
  optional:
    image: busybox
    profiles: [extra]
networks:
  back: {}
volumes:
  pgdata: {}
"#;

fn sample() -> ComposeProject {
    load(SAMPLE)
}

#[test]
fn a_compose_project_keeps_its_semantics_in_run_mode() {
    let p = sample();
    let c = run(&p);
    let s = &c.spec;
    assert_eq!(s.name.as_deref(), Some("demo"));
    assert_eq!(s.services.keys().collect::<Vec<_>>(), ["api", "cache", "db", "migrate"]);

    let db = &s.services["db"];
    assert_eq!(db.preset, None, "run mode never turns images into presets");
    assert_eq!(db.image.as_deref(), Some("postgres:16"));
    // Issue 16: compose's `"8080"` is the container port only, on a random host
    // port (`:8080` in devenv's syntax); `"8080"` would publish host port 8080.
    assert_eq!(db.ports, ["127.0.0.1:5432:5432", "6000:7000/udp", ":8080"]);
    assert_eq!(db.volumes, ["pgdata:/var/lib/postgresql/data", "/src/init:/docker-entrypoint-initdb.d:ro", "/anon"]);
    assert_eq!(db.tmpfs, ["/tmp:size=1048576"]);
    assert_eq!(db.restart, "unless-stopped");
    // waited on with service_healthy, no healthcheck, a postgres image: devenv's protocol probe
    assert_eq!(db.health.as_ref().and_then(|h| h.protocol.as_deref()), Some("postgres"));

    let api = &s.services["api"];
    let deps: Vec<(&str, Condition)> = api.depends_on.0.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(deps, [("cache", Condition::Started), ("db", Condition::Healthy), ("migrate", Condition::Completed)]);
    assert_eq!(api.entrypoint, Some(CommandSpec::Exec(vec!["/bin/sh".into(), "-c".into()])));
    assert_eq!(api.env.0.get("K"), Some(&Some("v".to_string())));
    assert_eq!(api.env.0.get("FROM_SHELL"), Some(&None));
    assert!(api.health.as_ref().is_some_and(|h| h.disabled()));
    assert_eq!(api.build.as_ref().map(|b| b.context.as_str()), Some("/src/app"));
    assert_eq!(api.build.as_ref().and_then(|b| b.dockerfile.clone()), None, "the default Dockerfile is implied");
    assert_eq!(api.networks.0.keys().collect::<Vec<_>>(), ["back", "default"]);
    assert_eq!(api.container_name.as_deref(), Some("the-api"));
    assert_eq!((api.tty, api.stdin_open), (Some(true), Some(true)));
    let actions: Vec<WatchAction> = api.watch.iter().map(|w| w.action).collect();
    assert_eq!(actions, [WatchAction::Sync, WatchAction::Rebuild, WatchAction::Restart]);
    assert_eq!(api.watch[0].ignore, ["node_modules/"]);

    let cache = &s.services["cache"];
    assert_eq!(cache.networks.0["back"].aliases, ["redis-cache"]);
    assert_eq!(cache.ulimits.len(), 2);
    assert_eq!(cache.init, Some(true));
    assert!(cache.health.is_none(), "nobody waits for cache to be healthy");

    let migrate = &s.services["migrate"];
    assert_eq!(migrate.run, Some(RunMode::Once), "a service_completed_successfully target is a job");
    let h = migrate.health.as_ref().unwrap();
    assert_eq!(h.exec, Some(CommandSpec::Exec(vec!["true".into()])));
    assert_eq!(h.interval, None, "compose's interval paces Docker, not devenv");
    assert!(h.start_period.is_some());
    let t = migrate.container_healthcheck.as_ref().expect("the container's HEALTHCHECK keeps compose's timing");
    assert_eq!((t.interval, t.start_period), (Some(std::time::Duration::from_secs(10)), Some(std::time::Duration::from_secs(2))));
    assert_eq!((t.timeout, t.retries), (None, None), "unwritten: Docker's defaults");

    assert!(s.volumes.contains_key("pgdata"));
    assert_eq!(s.networks.keys().collect::<Vec<_>>(), ["back"], "the default network is implied");
    // Keys devenv ignores are reported once, by the compose loader; the translation never sees them.
    assert!(p.warnings.iter().any(|n| n.contains("service `api`: devenv ignores logging")), "{:?}", p.warnings);
    assert!(c.notes.iter().any(|n| n.contains("restart")), "{:?}", c.notes);
}

#[test]
fn runtime_options_carry_over_typed() {
    let c = run(&sample());
    let api = &c.spec.services["api"];
    assert_eq!((api.stop_signal.as_deref(), api.hostname.as_deref()), (Some("SIGINT"), Some("apihost")));
    assert_eq!((api.user.as_deref(), api.working_dir.as_deref()), (Some("1000"), Some("/app")));
    assert_eq!(api.build.as_ref().map(|b| b.args.0.get("A").cloned()), Some(Some(Some("1".to_string()))));
    assert_eq!(api.watch[0].target.as_deref(), Some("/app/src"));
    let cache = &c.spec.services["cache"];
    assert_eq!(cache.command, Some(CommandSpec::Exec(vec!["redis-server".into(), "--appendonly".into(), "yes".into()])));
    assert_eq!(cache.entrypoint, None);
    assert_eq!(cache.expose, ["6379"]);
    assert_eq!(cache.extra_hosts, ["somehost=162.242.195.82"]);
    assert_eq!(cache.stop_grace_period, Some(DurationSpec(std::time::Duration::from_secs(90))));
    assert_eq!(cache.tmpfs, ["/run"]);
    assert_eq!(cache.ulimits["nofile"], UlimitSpec { soft: 1000, hard: 2000 });
    assert_eq!(cache.ulimits["nproc"], UlimitSpec { soft: 500, hard: 500 });
    assert_eq!(c.spec.services["db"].labels.0.get("team"), Some(&Some("core".to_string())));
    assert_eq!(c.spec.services["migrate"].health.as_ref().and_then(|h| h.start_period), Some(DurationSpec(std::time::Duration::from_secs(2))));
}

#[test]
fn import_mode_turns_backing_services_into_presets() {
    let c = to_env_spec(&sample(), Mode::Import).unwrap();
    let db = &c.spec.services["db"];
    assert_eq!(db.preset.as_deref(), Some("postgres"));
    assert_eq!(db.image.as_deref(), Some("postgres:16"), "the version is kept");
    assert!(db.health.is_none(), "a preset brings its own protocol probe");
    assert_eq!(c.spec.services["cache"].preset.as_deref(), Some("redis"));
    assert_eq!(c.spec.services["api"].preset, None);
}

#[test]
fn healthcheck_forms() {
    let test = |t: &[&str]| Healthcheck { test: t.iter().map(|s| s.to_string()).collect(), ..Healthcheck::default() };
    let hc = |t: &[&str]| health(&test(t), "services.x.healthcheck").unwrap().unwrap();
    assert_eq!(hc(&["CMD-SHELL", "pg_isready -U app"]), HealthSpec { shell: Some("pg_isready -U app".into()), ..HealthSpec::default() });
    assert_eq!(
        hc(&["CMD", "curl", "-f", "http://localhost"]),
        HealthSpec { exec: Some(CommandSpec::Exec(vec!["curl".into(), "-f".into(), "http://localhost".into()])), ..HealthSpec::default() }
    );
    assert_eq!(hc(&["NONE"]), HealthSpec { disable: Some(true), ..HealthSpec::default() });
    let e = health(&test(&["BOGUS"]), "services.x.healthcheck").unwrap_err();
    assert_eq!(e.path, "services.x.healthcheck.test");
    let timing = Healthcheck { interval: Some(GoDuration(1_000_000_000)), ..Healthcheck::default() };
    assert_eq!(health(&timing, "p").unwrap(), None, "timing alone keeps the image's HEALTHCHECK");
}

#[test]
fn healthcheck_forms_from_yaml() {
    let p = load(concat!(
        "services:\n",
        "  a: {image: x, healthcheck: {test: pg_isready -U app}}\n",
        "  b: {image: x, healthcheck: {test: [NONE]}}\n",
    ));
    let c = run(&p);
    assert_eq!(c.spec.services["a"].health.as_ref().and_then(|h| h.shell.as_deref()), Some("pg_isready -U app"));
    assert!(c.spec.services["b"].health.as_ref().is_some_and(|h| h.disabled()));
}

#[test]
fn what_devenv_cannot_express_is_an_error_with_its_path() {
    // The loader refuses other volume types itself; the translation still says where.
    let mut p = sample();
    let npipe = ServiceVolume { kind: "npipe".into(), source: Some("x".into()), target: "/y".into(), ..ServiceVolume::default() };
    p.services.get_mut("db").unwrap().volumes = vec![npipe];
    let e = to_env_spec(&p, Mode::Run).unwrap_err();
    assert_eq!(e.path, "services.db.volumes[0]");
    assert!(e.message.contains("npipe"));
}

#[test]
fn a_negative_duration_is_an_error_at_its_key() {
    let mut p = sample();
    p.services.get_mut("cache").unwrap().stop_grace_period = Some(GoDuration(-1));
    let e = to_env_spec(&p, Mode::Run).unwrap_err();
    assert_eq!(e.path, "services.cache.stop_grace_period");
}

#[test]
fn tmpfs_mounts_keep_size_and_mode() {
    let m = ServiceVolume {
        kind: "tmpfs".into(),
        target: "/t".into(),
        tmpfs: Some(VolumeTmpfs { size: Some(compose::ByteSize(64)), mode: 0o1777 }),
        ..ServiceVolume::default()
    };
    assert_eq!(tmpfs_mount(&m), "/t:size=64,mode=1777");
}

#[test]
fn ipv6_host_ips_are_bracketed() {
    let port = Port { host_ip: Some("::1".into()), target: 80, published: Some("8080".into()), protocol: Some("tcp".into()), ..Port::default() };
    assert_eq!(published(&[port], "p").unwrap(), ["[::1]:8080:80"]);
}

#[test]
fn devenv_paths_map_back_to_compose_paths() {
    assert_eq!(compose_path("services.api.env.KEY"), "services.api.environment.KEY");
    assert_eq!(compose_path("services.api.watch[1].path"), "services.api.develop.watch[1].path");
    assert_eq!(compose_path("services.db.health"), "services.db.healthcheck");
    assert_eq!(compose_path("services.db.ports[0]"), "services.db.ports[0]");
    assert_eq!(compose_path("volumes.data"), "volumes.data");
}

#[test]
fn a_zero_ulimit_is_a_limit() {
    // Through JSON, `core: 0` printed as `{}` and failed to translate ("missing field `soft`").
    let p = load("services:\n  a:\n    image: x\n    ulimits: {core: 0, nofile: {soft: 0, hard: 5}}\n");
    let u = &run(&p).spec.services["a"].ulimits;
    assert_eq!(u["core"], UlimitSpec { soft: 0, hard: 0 });
    assert_eq!(u["nofile"], UlimitSpec { soft: 0, hard: 5 });
}

#[test]
fn a_service_waited_on_without_a_probe_is_a_note() {
    let p = load("services:\n  a:\n    image: x\n    depends_on: {b: {condition: service_healthy}}\n  b:\n    image: busybox\n");
    let c = run(&p);
    assert!(c.spec.services["b"].health.is_none());
    assert!(c.notes.iter().any(|n| n.starts_with("`b` is waited on with `service_healthy` but has no healthcheck")), "{:?}", c.notes);
}

#[test]
fn top_level_networks_and_volumes() {
    let p = load(concat!(
        "services:\n  a:\n    image: x\n    networks: [front, back, default]\n    volumes: [v:/v]\n",
        "networks:\n  front: {name: custom, driver: bridge, labels: {k: v}, internal: true}\n  back: {external: true}\n",
        "volumes:\n  v: {driver: local, labels: {x: y}}\n",
    ));
    let c = run(&p);
    let front = &c.spec.networks["front"];
    assert_eq!((front.name.as_deref(), front.driver.as_deref(), front.internal), (Some("custom"), Some("bridge"), true));
    assert_eq!(front.labels.0.get("k"), Some(&Some("v".to_string())));
    let back = &c.spec.networks["back"];
    assert_eq!((back.name.as_deref(), back.external), (Some("back"), true), "an external network keeps its name");
    assert!(!c.spec.networks.contains_key("default"), "the default network with its default name is implied");
    assert!(c.spec.volumes.contains_key("v"));
    // Issue 16: a volume's driver and labels are applied now, not ignored with a note.
    let v = c.spec.volumes["v"].clone().unwrap();
    assert_eq!((v.name, v.driver.as_deref()), (None, Some("local")), "the default name `{{project}}_v` is implied");
    assert_eq!(v.labels.0.get("x"), Some(&Some("y".to_string())));
    assert!(!c.notes.iter().any(|n| n.starts_with("volumes.v")), "{:?}", c.notes);
}

#[test]
fn written_files_mask_a_secret_but_not_an_empty_one_or_a_config() {
    let f = |content: &str, secret: bool| crate::config::InjectedFile { target: "/run/secrets/t".into(), content: content.into(), uid: Some(1000), gid: None, mode: 0o400, secret };
    let json = |f: crate::config::InjectedFile| serde_json::to_value(f).unwrap();
    assert_eq!(json(f("s3cret", true))["content"], "***");
    assert_eq!(json(f("", true))["content"], "", "nothing to hide: no `***` for a value that is not there");
    assert_eq!(json(f("listen 80;", false))["content"], "listen 80;");
    assert_eq!(json(f("x", true))["mode"], "0400");
}

#[test]
fn top_level_volumes_keep_name_external_driver_and_labels() {
    let p = load(&SAMPLE.replace(
        "  pgdata: {}",
        "  pgdata: {name: custom, driver: local, driver_opts: {type: tmpfs, device: tmpfs}, labels: {a.b: c}}\n  ext: {external: true}",
    ));
    let c = to_env_spec(&p, Mode::Run).unwrap();
    let v = c.spec.volumes["pgdata"].clone().unwrap();
    assert_eq!(v.name.as_deref(), Some("custom"));
    assert!(!v.external);
    assert_eq!(v.driver.as_deref(), Some("local"));
    assert_eq!(v.driver_opts.0.get("type").cloned().flatten().as_deref(), Some("tmpfs"));
    assert_eq!(v.labels.0.get("a.b").cloned().flatten().as_deref(), Some("c"));
}

#[test]
fn resource_keys_and_restart_policies_become_resources_and_restart() {
    let p = load(
        "services:\n  a:\n    image: x\n    cpus: 0.5\n    mem_limit: 1g\n    pids_limit: 7\n    restart: always\n    deploy:\n      resources:\n        limits: {memory: 1g}\n        reservations: {memory: 64m}\n      restart_policy: {condition: on-failure, max_attempts: 3}\n  b:\n    image: x\n    restart: always\n    deploy: {restart_policy: {condition: none}}\n  c:\n    image: x\n    deploy: {restart_policy: {condition: any, max_attempts: 2}}\n",
    );
    let c = run(&p);
    let a = &c.spec.services["a"];
    let r = a.resources.clone().unwrap_or_default();
    assert_eq!(
        (r.cpus.as_deref(), r.memory.as_deref(), r.memory_reservation.as_deref(), r.pids),
        (Some("0.5"), Some("1073741824"), Some("67108864"), Some(7))
    );
    assert_eq!(a.restart, "on-failure:3");
    assert_eq!(c.spec.services["b"].restart, "no");
    assert_eq!(c.spec.services["c"].restart, "always");
    assert!(c.notes.iter().any(|n| n.contains("services.c.deploy.restart_policy.max_attempts")), "{:?}", c.notes);
    assert_eq!(c.spec.services["b"].resources, None);
    // `devenv import` writes them in devenv's words.
    let yaml = serde_yaml::to_string(&c.spec).unwrap();
    assert!(yaml.contains("resources:") && yaml.contains("memory_reservation: '67108864'"), "{yaml}");
}

#[test]
fn scale_and_deploy_replicas_become_replicas() {
    let p = load("services:\n  a:\n    image: x\n    scale: 2\n  b:\n    image: x\n    deploy: {replicas: 3}\n  c:\n    image: x\n    scale: 0\n    deploy: {replicas: 0}\n  d:\n    image: x\n");
    let c = run(&p);
    let n = |s: &str| c.spec.services[s].replicas;
    assert_eq!((n("a"), n("b"), n("c"), n("d")), (Some(2), Some(3), Some(0), None));
    // `devenv import` writes them as devenv's `replicas:`; a service without them has none.
    let yaml = serde_yaml::to_string(&to_env_spec(&p, Mode::Import).unwrap().spec).unwrap();
    assert!(yaml.contains("replicas: 2") && yaml.contains("replicas: 3") && yaml.matches("replicas:").count() == 3, "{yaml}");
    let e = to_env_spec(&load("services:\n  a:\n    image: x\n    scale: -1\n"), Mode::Run).unwrap_err();
    assert_eq!(e.path, "services.a.scale");
}

#[test]
fn import_keeps_secrets_configs_and_buildkit_keys_as_devenv_yaml_writes_them() {
    let p = load(
        "services:\n  a:\n    image: x\n    build:\n      context: .\n      platforms: [linux/amd64]\n      secrets: [{source: npm, target: npmrc}]\n      ssh: [default]\n      additional_contexts: {base: service:b}\n    secrets: [tok, {source: tok, target: /t, uid: \"7\", mode: 0400}]\n    configs: [{source: c, target: /etc/c}]\n  b:\n    image: y\nsecrets:\n  tok: {environment: HOME}\n  npm: {environment: NPM}\nconfigs:\n  c: {content: hi}\n",
    );
    let c = to_env_spec(&p, Mode::Import).unwrap();
    let a = &c.spec.services["a"];
    assert_eq!(a.secrets, [FileUse { source: "tok".into(), ..FileUse::default() }, FileUse { source: "tok".into(), target: Some("/t".into()), uid: Some(7), gid: None, mode: Some(0o400) }]);
    assert_eq!(a.configs, [FileUse { source: "c".into(), target: Some("/etc/c".into()), ..FileUse::default() }]);
    assert!(a.volumes.is_empty() && a.files.is_empty(), "not turned into volumes or files: {:?}", a.volumes);
    assert_eq!(c.spec.secrets["npm"].environment.as_deref(), Some("NPM"));
    assert_eq!(c.spec.configs["c"].content.as_deref(), Some("hi"));
    let b = a.build.as_ref().unwrap();
    assert_eq!((b.platforms.as_slice(), b.secrets.as_slice(), b.ssh.as_slice()), (["linux/amd64".to_string()].as_slice(), ["npm".to_string()].as_slice(), ["default".to_string()].as_slice()));
    assert_eq!(b.additional_contexts["base"], "service:b");
    // Run mode mounts them instead, as before.
    let r = run(&p);
    assert!(r.spec.services["a"].secrets.is_empty() && r.spec.secrets.is_empty() && r.spec.services["a"].files.len() == 3);
}
