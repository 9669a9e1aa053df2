use serde_json::json;

use super::*;
use crate::config::model::{CommandSpec, Condition, RunMode, WatchAction};

fn run(v: Value) -> Converted {
    to_env_spec(&v, Mode::Run).unwrap()
}

/// Shaped like `docker compose config --format json` output (Compose 2.26).
fn sample() -> Value {
    json!({
        "name": "demo",
        "networks": {"back": {"name": "demo_back", "ipam": {}}, "default": {"name": "demo_default", "ipam": {}}},
        "services": {
            "api": {
                "build": {"context": "/src/app", "dockerfile": "Dockerfile", "args": {"A": "1"}},
                "develop": {"watch": [
                    {"path": "/src/app/src", "action": "sync", "target": "/app/src", "exec": {"command": null}, "ignore": ["node_modules/"]},
                    {"path": "/src/app/package.json", "action": "rebuild", "exec": {"command": null}},
                    {"path": "/src/app/conf", "action": "sync+restart", "target": "/app/conf"}
                ]},
                "command": null,
                "container_name": "the-api",
                "depends_on": {
                    "cache": {"condition": "service_started", "restart": true, "required": true},
                    "db": {"condition": "service_healthy", "required": true},
                    "migrate": {"condition": "service_completed_successfully", "required": true},
                    "optional": {"condition": "service_started", "required": false}
                },
                "entrypoint": ["/bin/sh", "-c"],
                "environment": {"K": "v", "FROM_SHELL": null},
                "hostname": "apihost",
                "healthcheck": {"disable": true},
                "networks": {"back": null, "default": null},
                "stdin_open": true, "stop_signal": "SIGINT", "tty": true, "user": "1000", "working_dir": "/app",
                "logging": {"driver": "json-file"}
            },
            "cache": {
                "command": ["redis-server", "--appendonly", "yes"],
                "entrypoint": null,
                "expose": ["6379"],
                "extra_hosts": ["somehost=162.242.195.82"],
                "image": "redis:7",
                "init": true,
                "networks": {"back": {"aliases": ["redis-cache"]}},
                "stop_grace_period": "1m30s",
                "tmpfs": ["/run"],
                "ulimits": {"nofile": {"soft": 1000, "hard": 2000}, "nproc": 500}
            },
            "db": {
                "environment": {"POSTGRES_PASSWORD": "secret"},
                "image": "postgres:16",
                "labels": {"team": "core"},
                "networks": {"default": null},
                "ports": [
                    {"mode": "ingress", "host_ip": "127.0.0.1", "target": 5432, "published": "5432", "protocol": "tcp"},
                    {"mode": "ingress", "target": 7000, "published": "6000", "protocol": "udp"},
                    {"mode": "ingress", "target": 8080, "protocol": "tcp"}
                ],
                "restart": "unless-stopped",
                "volumes": [
                    {"type": "volume", "source": "pgdata", "target": "/var/lib/postgresql/data", "volume": {}},
                    {"type": "bind", "source": "/src/init", "target": "/docker-entrypoint-initdb.d", "read_only": true, "bind": {"create_host_path": true}},
                    {"type": "tmpfs", "target": "/tmp", "tmpfs": {"size": 1048576}},
                    {"type": "volume", "target": "/anon"}
                ]
            },
            "migrate": {"image": "busybox", "healthcheck": {"test": ["CMD", "true"], "interval": "10s", "start_period": "2s"}}
        },
        "volumes": {"pgdata": {"name": "demo_pgdata"}},
        "x-common": {"restart": "unless-stopped"}
    })
}

#[test]
fn a_compose_project_keeps_its_semantics_in_run_mode() {
    let c = run(sample());
    let s = &c.spec;
    assert_eq!(s.name.as_deref(), Some("demo"));
    assert_eq!(s.services.keys().collect::<Vec<_>>(), ["api", "cache", "db", "migrate"]);

    let db = &s.services["db"];
    assert_eq!(db.preset, None, "run mode never turns images into presets");
    assert_eq!(db.image.as_deref(), Some("postgres:16"));
    assert_eq!(db.ports, ["127.0.0.1:5432:5432", "6000:7000/udp", "8080"]);
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

    assert!(s.volumes.contains_key("pgdata"));
    assert_eq!(s.networks.keys().collect::<Vec<_>>(), ["back"], "the default network is implied");
    assert!(c.notes.iter().any(|n| n.contains("services.api: devenv ignores `logging`")), "{:?}", c.notes);
    assert!(c.notes.iter().any(|n| n.contains("restart")), "{:?}", c.notes);
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
    let hc = |t: Value| healthcheck(&json!({ "test": t }), "services.x.healthcheck").unwrap().unwrap();
    assert_eq!(hc(json!(["CMD-SHELL", "pg_isready -U app"])), json!({"shell": "pg_isready -U app"}));
    assert_eq!(hc(json!(["CMD", "curl", "-f", "http://localhost"])), json!({"exec": ["curl", "-f", "http://localhost"]}));
    assert_eq!(hc(json!(["NONE"])), json!({"disable": true}));
    let e = healthcheck(&json!({"test": ["BOGUS"]}), "services.x.healthcheck").unwrap_err();
    assert_eq!(e.path, "services.x.healthcheck.test");
    assert_eq!(healthcheck(&json!({"interval": "1s"}), "p").unwrap(), None, "timing alone keeps the image's HEALTHCHECK");
}

#[test]
fn what_devenv_cannot_express_is_an_error_with_its_path() {
    let mut v = sample();
    v["volumes"]["pgdata"]["external"] = json!(true);
    let e = to_env_spec(&v, Mode::Run).unwrap_err();
    assert_eq!(e.path, "volumes.pgdata");

    let mut v = sample();
    v["services"]["db"]["volumes"] = json!([{"type": "npipe", "source": "x", "target": "/y"}]);
    let e = to_env_spec(&v, Mode::Run).unwrap_err();
    assert_eq!(e.path, "services.db.volumes[0]");
    assert!(e.message.contains("npipe"));
}

#[test]
fn ipv6_host_ips_are_bracketed() {
    let p = ports(&json!([{"host_ip": "::1", "target": 80, "published": "8080", "protocol": "tcp"}]), "p").unwrap();
    assert_eq!(p, [json!("[::1]:8080:80")]);
}

#[test]
fn devenv_paths_map_back_to_compose_paths() {
    assert_eq!(compose_path("services.api.env.KEY"), "services.api.environment.KEY");
    assert_eq!(compose_path("services.api.watch[1].path"), "services.api.develop.watch[1].path");
    assert_eq!(compose_path("services.db.health"), "services.db.healthcheck");
    assert_eq!(compose_path("services.db.ports[0]"), "services.db.ports[0]");
    assert_eq!(compose_path("volumes.data"), "volumes.data");
}
