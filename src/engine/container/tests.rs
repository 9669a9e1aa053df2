use std::time::Duration;

use bollard::models::RestartPolicyNameEnum;

use super::*;
use crate::docker::{create_request, CreateRequest};
use crate::plan::plan_of;

fn request(plan: &Plan, service: &str, all_networks_at_create: bool) -> CreateRequest {
    let ctx = CreateContext { owner_pid: None, host_ports: &[], created_at: "2026-01-01T00:00:00Z" };
    create_request(&container_spec(plan, &plan.services[service], &ctx), all_networks_at_create)
}

const RUNTIME: &str = r#"name: shop
networks:
  front:
  back: {name: shop-backend, internal: true}
services:
  api:
    image: app:1
    hostname: api-host
    container_name: shop-api-main
    restart: on-failure:3
    expose: ["3000", "9000-9001/udp"]
    ports: ["8080:3000"]
    networks:
      front:
      back: {aliases: [api-internal]}
    extra_hosts: ["db.local=10.0.0.5", "gw:host-gateway"]
    stop_grace_period: 1500ms
    stop_signal: SIGINT
    ulimits: {nofile: {soft: 20000, hard: 40000}, nproc: 512}
    init: true
    tty: true
    stdin_open: true
    tmpfs: ["/run", "/tmp:size=64m,mode=1777"]
    privileged: false
    cap_add: [net_admin]
    cap_drop: [CAP_MKNOD]
    shm_size: 256m
    health: {shell: "curl -fs localhost:3000/health", interval: 2s, timeout: 90s, retries: 4, start_period: 10s}
  plain:
    image: app:1
"#;

#[test]
fn runtime_options_map_onto_the_create_body() {
    let plan = plan_of(RUNTIME);
    let body = request(&plan, "api", true).body;
    assert_eq!(body.hostname.as_deref(), Some("api-host"));
    assert_eq!(body.tty, Some(true));
    assert_eq!(body.open_stdin, Some(true));
    assert_eq!(body.stop_signal.as_deref(), Some("SIGINT"));
    assert_eq!(body.stop_timeout, Some(2), "1.5 s rounds up to whole seconds");
    let exposed = body.exposed_ports.clone().unwrap_or_default();
    for key in ["3000/tcp", "9000/udp", "9001/udp"] {
        assert!(exposed.contains(&key.to_string()), "{key} not in {exposed:?}");
    }
    assert_eq!(exposed.iter().filter(|k| *k == "3000/tcp").count(), 1, "published and exposed 3000 is listed once");
    let hc = body.host_config.clone().unwrap_or_default();
    let restart = hc.restart_policy.clone().unwrap_or_default();
    assert_eq!(restart.name, Some(RestartPolicyNameEnum::ON_FAILURE));
    assert_eq!(restart.maximum_retry_count, Some(3));
    assert_eq!(hc.extra_hosts, Some(vec!["db.local:10.0.0.5".to_string(), "gw:host-gateway".to_string()]));
    let tmpfs = hc.tmpfs.clone().unwrap_or_default();
    assert_eq!(tmpfs.get("/run").map(String::as_str), Some(""));
    assert_eq!(tmpfs.get("/tmp").map(String::as_str), Some("size=64m,mode=1777"));
    assert_eq!(hc.init, Some(true));
    assert_eq!(hc.privileged, Some(false));
    assert_eq!(hc.cap_add, Some(vec!["NET_ADMIN".to_string()]));
    assert_eq!(hc.cap_drop, Some(vec!["MKNOD".to_string()]));
    assert_eq!(hc.shm_size, Some(256 << 20));
    let ulimits: Vec<(String, i64, i64)> =
        hc.ulimits.clone().unwrap_or_default().into_iter().map(|u| (u.name.unwrap_or_default(), u.soft.unwrap_or(0), u.hard.unwrap_or(0))).collect();
    assert_eq!(ulimits, vec![("nofile".to_string(), 20000, 40000), ("nproc".to_string(), 512, 512)]);
    let health = body.healthcheck.clone().unwrap_or_default();
    assert_eq!(health.test, Some(vec!["CMD-SHELL".to_string(), "curl -fs localhost:3000/health".to_string()]));
    assert_eq!(health.interval, Some(2_000_000_000));
    assert_eq!(health.timeout, Some(30_000_000_000), "Docker's per-check timeout is capped at 30 s");
    assert_eq!(health.retries, Some(4));
    assert_eq!(health.start_period, Some(10_000_000_000));
}

#[test]
fn every_network_gets_the_service_name_and_its_aliases() {
    let plan = plan_of(RUNTIME);
    let all = request(&plan, "api", true);
    let hc = all.body.host_config.clone().unwrap_or_default();
    assert_eq!(hc.network_mode.as_deref(), Some("shop_front"));
    let endpoints = all.body.networking_config.clone().and_then(|n| n.endpoints_config).unwrap_or_default();
    assert_eq!(endpoints.len(), 2);
    assert_eq!(endpoints["shop_front"].aliases, Some(vec!["api".to_string()]));
    assert_eq!(endpoints["shop-backend"].aliases, Some(vec!["api".to_string(), "api-internal".to_string()]));
    assert!(all.connect_later.is_empty());

    // Before API 1.44: one network at create time, the others connected before start.
    let old = request(&plan, "api", false);
    let endpoints = old.body.networking_config.clone().and_then(|n| n.endpoints_config).unwrap_or_default();
    assert_eq!(endpoints.keys().collect::<Vec<_>>(), vec!["shop_front"]);
    assert_eq!(old.connect_later.len(), 1);
    assert_eq!(old.connect_later[0].0, "shop-backend");
    assert_eq!(old.connect_later[0].1.aliases, Some(vec!["api".to_string(), "api-internal".to_string()]));
}

#[test]
fn a_plain_service_keeps_the_old_shape() {
    let plan = plan_of(RUNTIME);
    let r = request(&plan, "plain", false);
    let body = r.body;
    assert_eq!(body.hostname.as_deref(), Some("plain"));
    assert_eq!(body.healthcheck, None);
    assert_eq!(body.stop_timeout, None);
    assert_eq!(body.stop_signal, None);
    let hc = body.host_config.clone().unwrap_or_default();
    assert_eq!(hc.network_mode.as_deref(), Some("shop_default"));
    assert_eq!(hc.restart_policy, None);
    assert_eq!(hc.extra_hosts, None);
    assert_eq!(hc.tmpfs, None);
    assert_eq!(hc.init, None);
    let endpoints = body.networking_config.and_then(|n| n.endpoints_config).unwrap_or_default();
    assert_eq!(endpoints["shop_default"].aliases, Some(vec!["plain".to_string()]));
    assert!(r.connect_later.is_empty());
    let labels = body.labels.unwrap_or_default();
    assert_eq!(labels.get(labels::PROJECT).map(String::as_str), Some("shop"));
    assert_eq!(labels.get(labels::CREATED_AT).map(String::as_str), Some("2026-01-01T00:00:00Z"));
}

#[test]
fn exec_probe_and_disable_become_the_container_healthcheck() {
    let plan = plan_of(
        "services:\n  db:\n    image: pg\n    health: {exec: [pg_isready, -U, app]}\n  quiet:\n    image: pg\n    health: {disable: true}\n  web:\n    image: app\n    health: {http: /h, port: 80}\n",
    );
    let db = request(&plan, "db", true).body.healthcheck.unwrap_or_default();
    assert_eq!(db.test, Some(vec!["CMD".into(), "pg_isready".into(), "-U".into(), "app".into()]));
    assert_eq!(db.interval, Some(1_000_000_000), "devenv's 100 ms polling is not Docker's: at least 1 s");
    let quiet = request(&plan, "quiet", true).body.healthcheck.unwrap_or_default();
    assert_eq!(quiet.test, Some(vec!["NONE".to_string()]));
    assert_eq!(request(&plan, "web", true).body.healthcheck, None, "an http probe is devenv's own");
}

#[test]
fn run_once_jobs_get_no_restart_policy() {
    let plan = plan_of("services:\n  migrate:\n    image: app\n    run: once\n    restart: always\n");
    assert_eq!(plan.services["migrate"].restart, None);
    assert_eq!(request(&plan, "migrate", true).body.host_config.unwrap_or_default().restart_policy, None);
}

#[test]
fn stop_timeouts_round_up_to_whole_seconds() {
    assert_eq!(whole_seconds(Duration::from_secs(3)), 3);
    assert_eq!(whole_seconds(Duration::from_millis(500)), 1);
    assert_eq!(whole_seconds(Duration::ZERO), 0);
}

#[test]
fn chosen_host_ports_fill_bindings_and_env_placeholders_and_labels_name_the_owner() {
    let mut plan = plan_of("name: shop\nservices:\n  api:\n    image: app:1\n    ports: ['3000']\n    env: {ADVERTISED: 'localhost:{{devenv.host_port.3000}}'}\n");
    crate::plan::randomize_ports(&mut plan);
    let svc = &plan.services["api"];
    let ctx = CreateContext { owner_pid: Some(4242), host_ports: &[(3000, 41000)], created_at: "2026-01-01T00:00:00Z" };
    let spec = container_spec(&plan, svc, &ctx);
    assert_eq!(spec.ports, vec![PortSpec { container_port: 3000, protocol: "tcp".into(), host_ip: "127.0.0.1".into(), host_port: Some(41000) }]);
    assert!(spec.env.contains(&"ADVERTISED=localhost:41000".to_string()), "{:?}", spec.env);
    assert_eq!(spec.labels.get(labels::CONFIG_HASH), Some(&svc.config_hash));
    assert_eq!(spec.labels.get(labels::SERVICE).map(String::as_str), Some("api"));
    assert_eq!(spec.labels.get(labels::OWNER_PID).map(String::as_str), Some("4242"));
    assert!(spec.labels.contains_key(labels::OWNER_HOST));
    let body = create_request(&spec, true).body;
    let bindings = body.host_config.and_then(|h| h.port_bindings).unwrap_or_default();
    let b = bindings["3000/tcp"].clone().unwrap_or_default();
    assert_eq!(b[0].host_port.as_deref(), Some("41000"));
    assert_eq!(b[0].host_ip.as_deref(), Some("127.0.0.1"));
}

#[test]
fn anonymous_volumes_and_the_images_volumes_carry_the_project_label() {
    let plan = plan_of("name: shop\nservices:\n  db:\n    image: pg\n    volumes: [data:/var/lib/pg, /scratch]\n    tmpfs: [/run/tmp]\nvolumes:\n  data:\n");
    let ctx = CreateContext { owner_pid: None, host_ports: &[], created_at: "2026-01-01T00:00:00Z" };
    let mut spec = container_spec(&plan, &plan.services["db"], &ctx);
    // The image declares /var/lib/pg (mounted by the file), /run/tmp (a tmpfs) and /cache (nothing).
    add_image_volumes(&mut spec, vec!["/var/lib/pg/".into(), "/run/tmp".into(), "/cache".into()]);
    let targets: Vec<&str> = spec.mounts.iter().map(|m| m.target.as_str()).collect();
    assert_eq!(targets, vec!["/var/lib/pg", "/scratch", "/cache"]);
    let req = create_request(&spec, true);
    let mounts = req.body.host_config.and_then(|h| h.mounts).unwrap_or_default();
    let label = |target: &str| {
        let m = mounts.iter().find(|m| m.target.as_deref() == Some(target)).unwrap_or_else(|| panic!("no mount on {target}"));
        m.volume_options.as_ref().and_then(|o| o.labels.as_ref()).and_then(|l| l.get(labels::PROJECT)).cloned()
    };
    assert_eq!(label("/scratch").as_deref(), Some("shop"));
    assert_eq!(label("/cache").as_deref(), Some("shop"));
    assert_eq!(label("/var/lib/pg"), None, "a named volume is created (and labelled) by devenv itself");
}

#[test]
fn a_network_mode_is_passed_with_no_endpoint_and_no_hostname() {
    let plan = plan_of("name: shop\nservices:\n  web:\n    image: x\n  side:\n    image: x\n    network_mode: service:web\n  h:\n    image: x\n    network_mode: host\n");
    for (svc, mode) in [("side", format!("container:{}", plan.services["web"].container_name)), ("h", "host".to_string())] {
        for all_at_create in [true, false] {
            let req = request(&plan, svc, all_at_create);
            assert_eq!(req.body.host_config.clone().unwrap_or_default().network_mode.as_deref(), Some(mode.as_str()));
            let endpoints = req.body.networking_config.clone().and_then(|n| n.endpoints_config).unwrap_or_default();
            assert!(endpoints.is_empty() && req.connect_later.is_empty(), "{svc}: joins no network");
            assert_eq!(req.body.hostname, None, "{svc}: the engine refuses a hostname with a shared network stack");
        }
    }
}
