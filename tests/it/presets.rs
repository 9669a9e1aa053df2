//! Presets against their stand-ins (mapped with DEVENV_IMAGE_MAP): each comes up,
//! passes its own protocol probe, is reachable in-network through `${svc.url}`,
//! and from the host through `devenv env`.

use crate::harness::*;


#[test]
fn postgres_redis_clickhouse_elasticsearch_presets() {
    if !docker_ready() {
        return;
    }
    let (p1, p2, p3, p4, p5) = (free_port(), free_port(), free_port(), free_port(), free_port());
    let yaml = format!(
        r#"name: {{project}}
services:
  db:
    preset: postgres
    ports: ["{p1}:5432"]
  cache:
    preset: redis
    ports: ["{p2}:6379"]
  olap:
    preset: clickhouse
    ports: ["{p3}:8123", "{p4}:9000"]
  search:
    preset: elasticsearch
    ports: ["{p5}:9200"]
  pgcheck:
    image: {POSTGRES}
    entrypoint: ["sh", "-c"]
    command: ["psql \"$$DB\" -tAc 'select 40 + 2'"]
    env: {{DB: "${{db.url}}"}}
    run: once
    depends_on: [db]
  redischeck:
    image: {REDIS}
    entrypoint: ["sh", "-c"]
    command: ["redis-cli -u \"$$CACHE\" ping"]
    env: {{CACHE: "${{cache.url}}"}}
    run: once
    depends_on: [cache]
  httpcheck:
    image: {ES_DOUBLE}
    command:
      - python3
      - -c
      - |
        import base64, os, urllib.parse, urllib.request
        ch = urllib.parse.urlsplit(os.environ["CH"])
        req = urllib.request.Request(f"http://{{ch.hostname}}:{{ch.port}}/?query=SELECT%2042")
        req.add_header("Authorization", "Basic " + base64.b64encode(f"{{ch.username}}:{{ch.password}}".encode()).decode())
        print("clickhouse says", urllib.request.urlopen(req).read().decode().strip())
        print("elasticsearch says", urllib.request.urlopen(os.environ["ES"] + "/_cluster/health").read().decode())
    env: {{CH: "${{olap.url}}", ES: "${{search.url}}"}}
    run: once
    depends_on: [olap, search]
"#
    );
    let p = Project::new("presets", &yaml);
    let r = p.run(&["up", "-d"]);
    r.ok();
    let low_map_count = std::fs::read_to_string("/proc/sys/vm/max_map_count").ok().and_then(|s| s.trim().parse::<u64>().ok()).is_some_and(|n| n < 262_144);
    if low_map_count {
        r.stderr_has("vm.max_map_count is").stderr_has("sysctl -w vm.max_map_count=262144");
    }
    for (svc, probe) in [("db", "postgres SELECT 1"), ("cache", "redis PING"), ("olap", "clickhouse /ping + SELECT 1"), ("search", "elasticsearch cluster health")] {
        assert!(r.stderr.contains(&format!("{svc} waiting until ready ({probe})")), "{svc}: {}", r.stderr);
        assert!(r.stderr.contains(&format!("{svc} ready in")), "{}", r.stderr);
    }
    p.run(&["logs", "pgcheck"]).ok().stdout_has("42");
    p.run(&["logs", "redischeck"]).ok().stdout_has("PONG");
    let http = p.run(&["logs", "httpcheck"]);
    http.ok().stdout_has("clickhouse says 42");
    assert!(http.stdout.contains("\"status\": \"green\"") || http.stdout.contains("\"status\":\"green\""), "{}", http.stdout);

    // Host side: real clients through the URLs `devenv env` prints.
    let vars = env_json(&p);
    assert_eq!(vars["DEVENV_DB_PORT"], p1.to_string());
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let (client, conn) = tokio_postgres::connect(&vars["DEVENV_DB_URL"], tokio_postgres::NoTls).await.expect("postgres from the host");
        tokio::spawn(conn);
        let row = client.query_one("select current_user, current_database()", &[]).await.expect("query");
        assert_eq!(row.get::<_, String>(0), "devenv");
        let http = reqwest::Client::new();
        let ch = url_parts(&vars["DEVENV_OLAP_URL"]);
        let one = http
            .post(format!("http://127.0.0.1:{}/", ch.1))
            .basic_auth(&ch.0 .0, Some(&ch.0 .1))
            .body("SELECT 1")
            .send()
            .await
            .expect("clickhouse from the host");
        assert_eq!(one.text().await.expect("body").trim(), "1");
        let health: serde_json::Value =
            http.get(format!("{}/_cluster/health", vars["DEVENV_SEARCH_URL"])).send().await.expect("es").json().await.expect("json");
        assert!(matches!(health["status"].as_str(), Some("green" | "yellow")));
    });
    let mut s = std::net::TcpStream::connect(("127.0.0.1", vars["DEVENV_CACHE_PORT"].parse::<u16>().expect("port"))).expect("redis");
    use std::io::{Read, Write};
    s.write_all(b"PING\r\n").expect("write");
    let mut buf = [0u8; 7];
    s.read_exact(&mut buf).expect("read");
    assert_eq!(&buf, b"+PONG\r\n");

    // Passwords only in `devenv env`, masked elsewhere.
    assert!(vars["DEVENV_DB_URL"].contains(":devenv@"));
    let cfg = p.run(&["config"]);
    cfg.ok();
    assert!(!cfg.stdout.contains(":devenv@"), "{}", cfg.stdout);
}

/// ((user, password), port) of `http://user:pass@host:port/...`
fn url_parts(url: &str) -> ((String, String), u16) {
    let rest = url.split("://").nth(1).expect("scheme");
    let (auth, hostport) = rest.split_once('@').expect("userinfo");
    let (user, pass) = auth.split_once(':').expect("password");
    let port = hostport.split(['/', '?']).next().and_then(|hp| hp.rsplit(':').next()).and_then(|p| p.parse().ok()).expect("port");
    ((user.to_string(), pass.to_string()), port)
}

#[test]
fn wrong_credentials_fail_fast_with_authentication_failed() {
    if !docker_ready() {
        return;
    }
    let port = free_port();
    let yaml = format!("name: {{project}}\nservices:\n  db:\n    preset: postgres\n    ports: [\"{port}:5432\"]\n    env: {{POSTGRES_PASSWORD: first}}\n");
    let p = Project::new("pgauth", &yaml);
    p.run(&["up", "-d"]).ok();
    // The data volume keeps the first password; the file now says another.
    p.run(&["down"]).ok();
    p.write("devenv.yaml", &yaml.replace("{project}", &p.name).replace("first", "second"));
    let r = p.run(&["up", "-d"]);
    r.code(6).stderr_has("authentication failed").stderr_has("down -v");
    assert!(!r.stderr.contains("was not ready after"), "must not wait for the timeout:\n{}", r.stderr);
}

#[test]
fn a_service_that_never_becomes_ready_names_its_probe_and_shows_logs() {
    if !docker_ready() {
        return;
    }
    let port = free_port();
    let yaml = format!(
        "name: {{project}}\nservices:\n  cache:\n    preset: redis\n    ports: [\"{port}:6379\"]\n    command: [sh, -c, 'echo not-redis-at-all; exec sleep 600']\n    health: {{timeout: 2s}}\n"
    );
    let p = Project::new("neverready", &yaml);
    let r = p.run(&["up", "-d"]);
    r.code(6).stderr_has("was not ready after 2s").stderr_has("not-redis-at-all").stderr_has("redis");
}

#[test]
fn unknown_preset_lists_the_five() {
    let p = Project::new("badpreset", "services:\n  db:\n    preset: postgress\n");
    let r = p.run(&["up", "-d"]);
    r.code(2).stderr_has("unknown preset `postgress`").stderr_has("postgres");
}

#[test]
fn kafka_advertises_a_host_port_chosen_before_creation_and_the_network_name() {
    if !docker_ready() {
        return;
    }
    // No host port written: devenv picks one before creating the container.
    let yaml = format!(
        r#"name: {{project}}
services:
  events:
    preset: kafka
    ports: ["127.0.0.1::9092"]
  incheck:
    image: {KAFKA}
    command: ["tansu", "topic", "create", "from-inside", "--partitions", "1", "--broker", "tcp://${{events.url}}"]
    run: once
    depends_on: [events]
"#
    );
    let p = Project::new("kafka", &yaml);
    p.run(&["up", "-d"]).ok().stderr_has("events waiting until ready (kafka metadata)").stderr_has("incheck completed");
    let vars = env_json(&p);
    let url = vars["DEVENV_EVENTS_URL"].clone();
    let port: u16 = vars["DEVENV_EVENTS_PORT"].parse().expect("port");
    assert_eq!(url, format!("127.0.0.1:{port}"));
    let advertised = inspect(&format!("{}-events", p.name), "{{range .Config.Env}}{{println .}}{{end}}");
    assert!(advertised.contains(&format!("HOST://127.0.0.1:{port},INTERNAL://events:19092")), "{advertised}");

    // A real Kafka client from the host: metadata lists the topic created in-network,
    // then a topic is created and written to through the advertised host listener.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let client = rskafka::client::ClientBuilder::new(vec![url.clone()]).build().await.expect("kafka client");
        let topics = client.list_topics().await.expect("metadata");
        assert!(topics.iter().any(|t| t.name == "from-inside"), "{topics:?}");
        client.controller_client().expect("controller").create_topic("from-host", 1, 1, 5_000).await.expect("create topic");
        let partition = client
            .partition_client("from-host", 0, rskafka::client::partition::UnknownTopicHandling::Retry)
            .await
            .expect("partition client");
        let record = rskafka::record::Record {
            key: Some(b"k".to_vec()),
            value: Some(b"hello".to_vec()),
            headers: Default::default(),
            timestamp: rskafka::chrono::Utc::now(),
        };
        partition.produce(vec![record], rskafka::client::partition::Compression::NoCompression).await.expect("produce");
    });

    // Re-up keeps the chosen port (and so the advertised address): nothing to do.
    p.run(&["up", "-d"]).ok().stderr_has("nothing to do");
}

#[test]
fn kafka_host_port_taken_is_a_preflight_error() {
    if !docker_ready() {
        return;
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let p = Project::new("kafkaport", &format!("name: {{project}}\nservices:\n  events:\n    preset: kafka\n    ports: [\"{port}:9092\"]\n"));
    p.run(&["up", "-d"]).code(4).stderr_has(&format!("host port {port}"));
    assert!(p.docker_objects("container").is_empty());
}
