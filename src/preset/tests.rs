use super::*;
use crate::config::{load, LoadOptions};
use crate::plan::{plan_of, resolve, ImageMap, Plan, Probe};

#[test]
fn postgres_defaults_follow_the_official_contract() {
    let p = plan_of("name: shop-dev\nservices:\n  db:\n    preset: postgres\n");
    let db = &p.services["db"];
    assert_eq!(db.image, "postgres:16-alpine");
    assert_eq!(db.env["POSTGRES_USER"], "devenv");
    assert_eq!(db.env["POSTGRES_DB"], "shop_dev");
    assert_eq!(db.ports[0].container_port, 5432);
    assert_eq!(db.ports[0].host_port, Some(5432));
    assert!(db.volumes.iter().any(|v| v.target() == "/var/lib/postgresql/data"));
    assert!(matches!(db.health.as_ref().map(|h| &h.probe), Some(Probe::Preset(c)) if c.kind == Kind::Postgres));
}

#[test]
fn postgres_18_mounts_the_parent_directory() {
    let p = plan_of("services:\n  db:\n    preset: postgres\n    version: '18'\n");
    assert_eq!(p.services["db"].image, "postgres:18-alpine");
    assert!(p.services["db"].volumes.iter().any(|v| v.target() == "/var/lib/postgresql"));
    assert_eq!(postgres::data_volume(None, "postgres:17.2"), "/var/lib/postgresql/data");
}

fn plan_with(yaml: &str, images: &ImageMap) -> Plan {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("devenv.yaml"), yaml).expect("write");
    let env = load(&LoadOptions { cwd: dir.path().to_path_buf(), ..Default::default() }).expect("load");
    resolve(&env, images).expect("resolve")
}

fn pg_targets(p: &Plan) -> Vec<String> {
    p.services["db"].volumes.iter().map(|v| v.target().to_string()).collect()
}

#[test]
fn postgres_data_path_follows_the_image_tag() {
    for (image, target) in [
        ("postgres:18", "/var/lib/postgresql"),
        ("postgres:latest", "/var/lib/postgresql"),
        ("postgres", "/var/lib/postgresql"),
        ("postgres:alpine", "/var/lib/postgresql"),
        ("postgres:18.1-bookworm", "/var/lib/postgresql"),
        ("postgis/postgis:18-3.5", "/var/lib/postgresql"),
        ("postgres:16", "/var/lib/postgresql/data"),
        ("postgres:17-alpine", "/var/lib/postgresql/data"),
        ("postgis/postgis:17-3.5", "/var/lib/postgresql/data"),
    ] {
        let p = plan_of(&format!("services:\n  db:\n    preset: postgres\n    image: {image}\n"));
        assert_eq!(pg_targets(&p), vec![target.to_string()], "{image}");
        assert_eq!(p.services["db"].data_dir.as_deref(), Some(target), "{image}");
    }
}

#[test]
fn postgres_data_path_comes_from_the_image_when_it_is_present() {
    let yaml = "services:\n  db:\n    preset: postgres\n    image: registry.corp/pg:stable\n";
    let mut images = ImageMap::default();
    images.add_config(
        "registry.corp/pg:stable",
        crate::values::ImageConfig {
            env: vec![("PG_MAJOR".into(), "17".into()), ("PGDATA".into(), "/var/lib/postgresql/data".into())],
            volumes: vec!["/var/lib/postgresql/data".into()],
        },
    );
    assert_eq!(pg_targets(&plan_with(yaml, &ImageMap::default())), vec!["/var/lib/postgresql".to_string()], "no image: the tag names no version");
    assert_eq!(pg_targets(&plan_with(yaml, &images)), vec!["/var/lib/postgresql/data".to_string()]);
    // The image looked at is the one that runs (after the image map).
    let mut mapped = ImageMap::from_entries([("postgres".to_string(), "mirror/pg:18".to_string())]);
    let eighteen = crate::values::ImageConfig {
        env: vec![("PG_MAJOR".into(), "18".into()), ("PGDATA".into(), "/var/lib/postgresql/18/docker".into())],
        volumes: vec!["/var/lib/postgresql".into()],
    };
    mapped.add_config("mirror/pg:18", eighteen);
    let p = plan_with("services:\n  db:\n    preset: postgres\n", &mapped);
    assert_eq!(p.services["db"].image, "mirror/pg:18");
    assert_eq!(pg_targets(&p), vec!["/var/lib/postgresql".to_string()]);
}

#[test]
fn a_user_mount_under_the_data_root_replaces_the_preset_volume() {
    for (image, mount) in [
        ("postgres:18", "pgdata:/var/lib/postgresql"),
        ("postgres:16", "pgdata:/var/lib/postgresql"),
        ("postgres:18", "pgdata:/var/lib/postgresql/data"),
        ("postgres:16", "pgdata:/var/lib/postgresql/data/pgdata"),
    ] {
        let p = plan_of(&format!("services:\n  db:\n    preset: postgres\n    image: {image}\n    volumes: ['{mount}']\n"));
        assert_eq!(pg_targets(&p).len(), 1, "{image} with {mount}: {:?}", pg_targets(&p));
    }
    // A mount elsewhere keeps the data volume.
    let p = plan_of("services:\n  db:\n    preset: postgres\n    image: postgres:18\n    volumes: ['scripts:/docker-entrypoint-initdb.d']\n");
    assert_eq!(pg_targets(&p), vec!["/docker-entrypoint-initdb.d".to_string(), "/var/lib/postgresql".to_string()]);
}

#[test]
fn user_settings_win_over_preset_defaults() {
    let p = plan_of(
        "services:\n  db:\n    preset: postgres\n    image: registry.corp/pg:16\n    env: {POSTGRES_PASSWORD: s3cret, POSTGRES_USER: app}\n    ports: ['15432:5432']\n    volumes: ['mine:/var/lib/postgresql/data']\n    health: {tcp: 5432}\n",
    );
    let db = &p.services["db"];
    assert_eq!(db.image, "registry.corp/pg:16");
    assert_eq!(db.ports.len(), 1);
    assert_eq!(db.ports[0].host_port, Some(15432));
    assert_eq!(db.volumes.len(), 1, "the user's volume replaces the preset's at the same target");
    assert!(matches!(db.health.as_ref().map(|h| &h.probe), Some(Probe::Tcp { port: 5432 })));
    let conn = db.connection.as_ref().expect("connection");
    assert_eq!(conn.user.as_deref(), Some("app"));
    assert_eq!(conn.password.as_deref(), Some("s3cret"));
}

#[test]
fn references_resolve_to_in_network_urls() {
    let p = plan_of(
        "name: p\nservices:\n  db: {preset: postgres}\n  cache: {preset: redis}\n  events: {preset: kafka}\n  olap: {preset: clickhouse}\n  search: {preset: elasticsearch}\n  api:\n    image: app\n    env:\n      DB: ${db.url}\n      CACHE: ${cache.url}\n      KAFKA: ${events.url}\n      CH: ${olap.url}\n      ES: ${search.url}\n      PGPORT: ${db.port}\n    depends_on: [db, cache]\n",
    );
    let env = &p.services["api"].env;
    assert_eq!(env["DB"], "postgres://devenv:devenv@db:5432/p");
    assert_eq!(env["CACHE"], "redis://cache:6379/0");
    assert_eq!(env["KAFKA"], "events:19092");
    assert_eq!(env["CH"], "http://devenv:devenv@olap:8123/?database=p");
    assert_eq!(env["ES"], "http://search:9200");
    assert_eq!(env["PGPORT"], "5432");
    // A list-form dependency on a preset waits until it is healthy.
    assert_eq!(p.services["api"].depends_on["db"], crate::config::Condition::Healthy);
}

#[test]
fn kafka_advertises_host_and_network_listeners() {
    let p = plan_of("services:\n  events: {preset: kafka}\n");
    let k = &p.services["events"];
    assert_eq!(k.image, "apache/kafka:3.9.0");
    let adv = &k.env["KAFKA_ADVERTISED_LISTENERS"];
    assert!(adv.contains("INTERNAL://events:19092"), "{adv}");
    assert_eq!(fill_host_ports(adv, &[(9092, 29092)]), "HOST://127.0.0.1:29092,INTERNAL://events:19092");
    assert_eq!(k.env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"], "1");
    assert_eq!(k.env["KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS"], "0");
}

#[test]
fn clickhouse_and_elasticsearch_defaults() {
    let p = plan_of("services:\n  olap: {preset: clickhouse}\n  search: {preset: elasticsearch}\n");
    let ch = &p.services["olap"];
    assert!(ch.ulimits.contains(&("nofile".to_string(), 262_144, 262_144)));
    assert_eq!(ch.ports.iter().map(|p| p.container_port).collect::<Vec<_>>(), vec![8123, 9000]);
    assert_eq!(ch.env["CLICKHOUSE_DEFAULT_ACCESS_MANAGEMENT"], "1");
    let es = &p.services["search"];
    assert_eq!(es.env["discovery.type"], "single-node");
    assert_eq!(es.env["xpack.security.enabled"], "false");
    assert_eq!(es.env["ES_JAVA_OPTS"], "-Xms512m -Xmx512m");
    assert!(!es.ulimits.iter().any(|(n, _, _)| n == "memlock"), "no memlock ulimit: memory locking is off, and it fails rootless");
}

#[test]
fn redis_persistence_is_opt_in() {
    let p = plan_of("services:\n  a: {preset: redis}\n  b: {preset: redis, persist: true}\n");
    assert!(p.services["a"].volumes.is_empty());
    assert_eq!(p.services["b"].command.as_deref(), Some(&["redis-server".to_string(), "--appendonly".into(), "yes".into()][..]));
    assert!(p.services["b"].volumes.iter().any(|v| v.target() == "/data"));
}

#[test]
fn urls_encode_credentials() {
    let c = Connection { kind: Kind::Postgres, port: 5432, internal_port: None, user: Some("a@b".into()), password: Some("p:w/d".into()), database: Some("x".into()) };
    assert_eq!(c.url("h", 1), "postgres://a%40b:p%3Aw%2Fd@h:1/x");
}

#[test]
fn presets_are_recognised_from_images() {
    assert_eq!(Kind::from_image("postgres:16-alpine"), Some(Kind::Postgres));
    assert_eq!(Kind::from_image("docker.elastic.co/elasticsearch/elasticsearch:8.15.3"), Some(Kind::Elasticsearch));
    assert_eq!(Kind::from_image("clickhouse/clickhouse-server:24.8"), Some(Kind::Clickhouse));
    assert_eq!(Kind::from_image("apache/kafka:3.9.0"), Some(Kind::Kafka));
    assert_eq!(Kind::from_image("nginx"), None);
}

#[test]
fn the_registry_is_consistent() {
    let mut words: Vec<&str> = NAMES.to_vec();
    let mut services = Vec::new();
    for kind in ALL {
        let p = kind.preset();
        words.extend(p.aliases());
        services.push(p.init_text().service);
        assert!(!kind.published_ports().is_empty(), "{}", kind.name());
        assert_eq!(Kind::from_image(&p.defaults(&Context { project: "p", service: "s", version: None, persist: None, image: None, image_config: None }).image), Some(*kind));
        for alias in p.aliases() {
            assert_eq!(Kind::parse_alias(alias), Some(*kind));
        }
    }
    let (n, s) = (words.len(), services.len());
    words.sort();
    words.dedup();
    services.sort();
    services.dedup();
    assert_eq!((words.len(), services.len()), (n, s), "names, aliases and init service names are unique");
    assert_eq!(seed_kinds_for(Some("clickhouse")), &["sql", "csv", "jsonl", "exec"]);
    assert_eq!(seed_kinds_for(None), &["exec"]);
}

#[test]
fn kind_serialises_as_its_name() {
    assert_eq!(serde_json::to_string(&Kind::Elasticsearch).ok().as_deref(), Some("\"elasticsearch\""));
}

#[test]
fn latest_is_each_preset_s_own_latest_form() {
    let p = plan_of("services:\n  db: {preset: postgres, version: latest}\n  cache: {preset: redis, version: latest}\n  events: {preset: kafka, version: latest}\n  olap: {preset: clickhouse, version: latest}\n");
    assert_eq!(p.services["db"].image, "postgres:alpine");
    assert_eq!(pg_targets(&p), vec!["/var/lib/postgresql".to_string()], "latest is 18");
    assert_eq!(p.services["cache"].image, "redis:alpine");
    assert_eq!(p.services["events"].image, "apache/kafka:latest");
    assert_eq!(p.services["olap"].image, "clickhouse/clickhouse-server:latest");
    assert!(Kind::Elasticsearch.preset().image_for("latest").is_err());
    assert!(Kind::Elasticsearch.preset().image_for("8").is_err());
    assert!(Kind::Kafka.preset().image_for("3.9").is_err());
}

#[test]
fn postgres_data_of_another_major_is_refused_with_the_ways_out() {
    let f = |p: &str, c: &str| (p.to_string(), c.to_string());
    assert!(postgres::check_major(18, "db-data", &[f("18/docker/PG_VERSION", "18\n")]).is_ok());
    assert!(postgres::check_major(16, "db-data", &[f("PG_VERSION", "16\n")]).is_ok());
    let (message, hint) = postgres::check_major(18, "db-data", &[f("PG_VERSION", "16\n")]).expect_err("16 data under 18");
    assert!(message.contains("`db-data` holds PostgreSQL 16 data") && message.contains("runs PostgreSQL 18"), "{message}");
    assert!(hint.contains("own volume") && hint.contains("devenv down -v") && hint.contains("pg_dumpall"), "{hint}");
    let (message, _) = postgres::check_major(17, "v", &[f("18/docker/PG_VERSION", "18")]).expect_err("18 data under 17");
    assert!(message.contains("PostgreSQL 18 data"), "{message}");
    let markers = Kind::Postgres.preset().data_markers();
    assert!(markers.contains(&"PG_VERSION".to_string()) && markers.contains(&"18/docker/PG_VERSION".to_string()));
}

#[test]
fn kafka_connection_follows_the_file_s_listeners() {
    let env = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<indexmap::IndexMap<_, _>>();
    let c = connection(Kind::Kafka, &env(&[("KAFKA_LISTENERS", "PLAINTEXT://:29092,CONTROLLER://:9093"), ("KAFKA_ADVERTISED_LISTENERS", "PLAINTEXT://kafka:29092")]), &[]);
    assert_eq!((c.port, c.network_port()), (29092, 29092));
    let two = env(&[
        ("KAFKA_LISTENERS", "PLAINTEXT://:9092,PLAINTEXT_HOST://:29092,CONTROLLER://:9093"),
        ("KAFKA_ADVERTISED_LISTENERS", "PLAINTEXT://kafka:9092,PLAINTEXT_HOST://localhost:29092"),
    ]);
    let c = connection(Kind::Kafka, &two, &[]);
    assert_eq!((c.port, c.network_port()), (29092, 9092));
    // The preset's own listeners, and none at all, give the preset's ports.
    let p = plan_of("services:\n  events: {preset: kafka}\n");
    let c = p.services["events"].connection.clone().expect("connection");
    assert_eq!((c.port, c.network_port()), (9092, 19092));
    let c = connection(Kind::Kafka, &env(&[]), &[]);
    assert_eq!((c.port, c.network_port()), (9092, 19092));
}
