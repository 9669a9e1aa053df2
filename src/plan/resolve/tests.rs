use super::*;
use crate::config::{LoadOptions, load};
use crate::plan::{plan_of, ImageMap};

#[test]
fn networks_default_custom_and_external() {
    let p = plan_of(
        "name: shop\nnetworks:\n  front:\n  back: {name: shop-backend, internal: true, labels: {tier: data}}\n  corp: {external: true}\n  ext2: {external: true, name: shared-ci}\nservices:\n  web:\n    image: x\n    networks: [front, corp]\n  db:\n    image: x\n    networks:\n      back: {aliases: [primary]}\n      default:\n  plain:\n    image: x\n",
    );
    assert_eq!(p.network, "shop_default");
    assert_eq!(p.networks.keys().collect::<Vec<_>>(), vec!["default", "front", "back", "corp", "ext2"]);
    assert_eq!(p.networks["front"].name, "shop_front");
    assert_eq!(p.networks["back"].name, "shop-backend");
    assert!(p.networks["back"].internal);
    assert_eq!(p.networks["back"].labels["tier"], "data");
    assert_eq!((p.networks["corp"].name.as_str(), p.networks["corp"].external), ("corp", true));
    assert_eq!(p.networks["ext2"].name, "shared-ci");
    let names = |svc: &str| p.services[svc].networks.iter().map(|n| n.docker_name.clone()).collect::<Vec<_>>();
    assert_eq!(names("web"), vec!["shop_front", "corp"]);
    assert_eq!(names("db"), vec!["shop-backend", "shop_default"]);
    assert_eq!(p.services["db"].networks[0].aliases, vec!["primary"]);
    assert_eq!(names("plain"), vec!["shop_default"], "no `networks`: the default network");
}

#[test]
fn the_default_network_can_be_configured() {
    let p = plan_of("name: shop\nnetworks:\n  default: {name: corp-dev, external: true}\nservices:\n  web:\n    image: x\n");
    assert_eq!(p.network, "corp-dev");
    assert!(p.networks["default"].external);
    assert_eq!(p.services["web"].networks[0].docker_name, "corp-dev");
}

#[test]
fn runtime_options_resolve() {
    let p = plan_of(
        "name: shop\nservices:\n  api:\n    image: x\n    restart: on-failure:2\n    expose: [\"3000\", \"3000\", \"7000-7001/udp\"]\n    extra_hosts: {db.local: 10.0.0.5}\n    hostname: api-box\n    container_name: the-api\n    stop_grace_period: 3s\n    stop_signal: SIGQUIT\n    tmpfs: \"/tmp:size=1m\"\n    cap_add: [cap_sys_ptrace]\n    shm_size: 64m\n  job:\n    image: x\n    run: once\n    restart: always\n",
    );
    let api = &p.services["api"];
    assert_eq!(api.restart.map(|r| r.to_string()).as_deref(), Some("on-failure:2"));
    assert_eq!(api.expose, vec!["3000/tcp", "7000/udp", "7001/udp"]);
    assert_eq!(api.extra_hosts, vec!["db.local:10.0.0.5"]);
    assert_eq!(api.hostname, "api-box");
    assert_eq!(api.container_name, "the-api");
    assert_eq!(api.stop_grace_period, Some(Duration::from_secs(3)));
    assert_eq!(api.stop_signal.as_deref(), Some("SIGQUIT"));
    assert_eq!(api.tmpfs.get("/tmp").map(String::as_str), Some("size=1m"));
    assert_eq!(api.cap_add, vec!["SYS_PTRACE"]);
    assert_eq!(api.shm_size, Some(64 << 20));
    let job = &p.services["job"];
    assert_eq!(job.restart, None, "a one-shot job never gets a restart policy");
    assert_eq!(job.hostname, "job");
    assert_eq!(job.container_name, "shop-job");
}

#[test]
fn user_ulimits_merge_over_the_presets() {
    let p = plan_of("services:\n  olap:\n    preset: clickhouse\n    ulimits:\n      nofile: {soft: 1000, hard: 2000}\n      nproc: 4096\n");
    let u = &p.services["olap"].ulimits;
    assert_eq!(u.iter().filter(|(n, _, _)| n == "nofile").collect::<Vec<_>>(), vec![&("nofile".to_string(), 1000, 2000)], "the user wins");
    assert!(u.contains(&("nproc".to_string(), 4096, 4096)));
    let preset_only = plan_of("services:\n  olap:\n    preset: clickhouse\n");
    assert!(preset_only.services["olap"].ulimits.contains(&("nofile".to_string(), 262144, 262144)));
}

#[test]
fn health_protocol_shell_disable_and_start_period() {
    let p = plan_of(
        "services:\n  pg:\n    image: devenv-test/postgres:15\n    env: {POSTGRES_PASSWORD: pw, POSTGRES_USER: app}\n    health: {protocol: postgres, start_period: 20s}\n  pg2:\n    image: x\n    health: {protocol: redis, port: 6380}\n  sh:\n    image: x\n    health: {shell: \"test -f /ready\"}\n  off:\n    image: x\n    health: {disable: true}\n  user:\n    image: x\n    depends_on: [off, sh]\n",
    );
    let pg = p.services["pg"].health.as_ref().expect("probe");
    match &pg.probe {
        Probe::Preset(c) => {
            assert_eq!((c.kind, c.port), (Kind::Postgres, 5432));
            assert_eq!((c.user.as_deref(), c.password.as_deref(), c.database.as_deref()), (Some("app"), Some("pw"), Some("app")));
        }
        other => panic!("expected a postgres probe, got {other:?}"),
    }
    assert_eq!(pg.start_period, Some(Duration::from_secs(20)));
    assert!(p.services["pg"].connection.is_none(), "a protocol probe does not make the service a preset");
    assert!(matches!(&p.services["pg2"].health.as_ref().expect("probe").probe, Probe::Preset(c) if c.kind == Kind::Redis && c.port == 6380));
    assert_eq!(
        p.services["sh"].health.as_ref().map(|h| h.probe.clone()),
        Some(Probe::Exec { command: vec!["sh".into(), "-c".into(), "test -f /ready".into()], native: None })
    );
    assert!(p.services["off"].health.is_none(), "disabled: no readiness probe");
    assert_eq!(p.services["off"].docker_healthcheck.as_ref().map(|h| h.test.clone()), Some(vec!["NONE".to_string()]));
    let deps = &p.services["user"].depends_on;
    assert_eq!(deps["off"], Condition::Started, "a disabled probe cannot be waited for");
    assert_eq!(deps["sh"], Condition::Healthy);
}

#[test]
fn config_output_shows_the_new_fields() {
    let p = plan_of(
        "name: shop\nnetworks:\n  back:\nservices:\n  api:\n    image: x\n    restart: always\n    networks: {back: {aliases: [a1]}}\n    init: true\n    ulimits: {nofile: 1024}\n    stop_grace_period: 2s\n    health: {exec: [\"true\"], start_period: 1s}\n",
    );
    let json = serde_json::to_value(&p).expect("serializes");
    let api = &json["services"]["api"];
    assert_eq!(api["restart"], "always");
    assert_eq!(api["init"], true);
    assert_eq!(api["hostname"], "api");
    assert_eq!(api["stop_grace_period"], "2s");
    assert_eq!(api["networks"][0]["docker_name"], "shop_back");
    assert_eq!(api["networks"][0]["aliases"][0], "a1");
    assert_eq!(api["docker_healthcheck"]["test"][0], "CMD");
    assert_eq!(api["health"]["start_period"], "1s");
    assert_eq!(json["networks"]["back"]["name"], "shop_back");
    assert!(api.get("cap_add").is_none() && api.get("tmpfs").is_none(), "unset options stay out: {api}");
}

#[test]
fn resolve_is_pure_seed_globs_were_expanded_at_load() {
    let dir = tempfile::tempdir().expect("tempdir");
    let yaml = "services:\n  db:\n    preset: postgres\n    seed:\n      - sql: seeds/*.sql\n";
    std::fs::write(dir.path().join("devenv.yaml"), yaml).expect("write");
    std::fs::create_dir(dir.path().join("seeds")).expect("mkdir");
    std::fs::write(dir.path().join("seeds/1.sql"), "select 1;").expect("write");
    let env = load(&LoadOptions { cwd: dir.path().to_path_buf(), ..Default::default() }).expect("load");
    // Planning reads no disk: the seed files may be gone by now.
    std::fs::remove_dir_all(dir.path().join("seeds")).expect("rm");
    let p = resolve(&env, &ImageMap::default()).expect("resolve without the files");
    assert_eq!(p.services["db"].seeds.len(), 1);
    assert_eq!(p.services["db"].seeds[0].id, "sql seeds/1.sql");
}

#[test]
fn named_volumes_custom_name_external_and_driver() {
    let p = plan_of(
        "name: shop\nvolumes:\n  plain:\n  custom: {name: shop-data, driver: local, driver_opts: {type: tmpfs, device: tmpfs}, labels: {tier: data}}\n  shared: {external: true}\n  ci: {external: true, name: ci-cache}\nservices:\n  web:\n    image: x\n    volumes: [plain:/a, custom:/b, shared:/c, ci:/d]\n",
    );
    let names: Vec<(&str, &str)> = p.volumes.iter().map(|(k, d)| (k.as_str(), d.as_str())).collect();
    assert_eq!(names, [("plain", "shop_plain"), ("custom", "shop-data"), ("shared", "shared"), ("ci", "ci-cache")]);
    assert!(!p.volume_options.contains_key("plain"));
    let custom = &p.volume_options["custom"];
    assert!(!custom.external);
    assert_eq!(custom.driver.as_deref(), Some("local"));
    assert_eq!(custom.driver_opts.get("type").map(String::as_str), Some("tmpfs"));
    assert_eq!(custom.labels.get("tier").map(String::as_str), Some("data"));
    assert!(p.volume_options["shared"].external && p.volume_options["ci"].external);
}

#[test]
fn an_unknown_key_under_a_named_volume_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("devenv.yaml"), "volumes:\n  data: {drivr: local}\nservices:\n  web: {image: x}\n").expect("write");
    let e = load(&LoadOptions { cwd: dir.path().to_path_buf(), ..Default::default() }).unwrap_err();
    assert!(e.to_string().contains("drivr"), "{e}");
}

#[test]
fn network_mode_service_target_starts_first_and_no_network_is_joined() {
    let p = plan_of("name: shop\nservices:\n  web:\n    image: x\n  side:\n    image: x\n    network_mode: service:web\n  h:\n    image: x\n    network_mode: host\n  n:\n    image: x\n    network_mode: none\n");
    let side = &p.services["side"];
    assert_eq!(side.network_mode.as_deref(), Some(format!("container:{}", p.services["web"].container_name).as_str()));
    assert!(side.depends_on.contains_key("web"), "the target is created first");
    assert!(side.networks.is_empty() && p.services["h"].networks.is_empty());
    assert_eq!((side.hostname.as_str(), p.services["h"].hostname.as_str(), p.services["n"].hostname.as_str()), ("", "", "n"));
    assert_eq!(p.services["web"].network_mode, None);
}
