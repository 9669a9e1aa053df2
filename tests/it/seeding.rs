//! Seed data for every preset: applied once, recorded with the data, re-appliable.

use crate::harness::*;


fn write_seed_files(p: &Project) {
    p.write("seed/pg/01-schema.sql", "-- schema\nCREATE TABLE users (id int PRIMARY KEY, name text NOT NULL, email text);\nCREATE TABLE notes (id serial PRIMARY KEY, body text);\nCREATE FUNCTION shout(t text) RETURNS text AS $$ SELECT upper(t) || '!'; $$ LANGUAGE sql;\n");
    p.write("seed/pg/02-rows.sql", "INSERT INTO notes (body) VALUES ('a; b'), ('it''s');\nINSERT INTO notes (body) VALUES (shout('hi'));\n");
    let mut csv = String::from("id,name,email\n");
    for i in 1..=500 {
        csv.push_str(&format!("{i},user {i},u{i}@example.com\n"));
    }
    p.write("seed/pg/users.csv", &csv);
    p.write("seed/cache.redis", "# warm the cache\nSET greeting \"hello world\"\nHSET user:1 name 'Ada L' lang rust\nRPUSH queue a b c\n");
    p.write("seed/ch.sql", "CREATE TABLE IF NOT EXISTS events (id UInt32, kind String) ENGINE = MergeTree ORDER BY id;\n");
    p.write("seed/ch.csv", "id,kind\n1,click\n2,view\n3,click\n");
    p.write("seed/ch.jsonl", "{\"id\": 4, \"kind\": \"buy\"}\n{\"id\": 5, \"kind\": \"view\"}\n");
    let mut ticks = String::new();
    for i in 0..300 {
        ticks.push_str(&format!("{{\"key\": \"sym-{}\", \"value\": {{\"price\": {i}}}, \"headers\": {{\"source\": \"seed\"}}}}\n", i % 7));
    }
    p.write("seed/ticks.jsonl", &ticks);
    p.write("seed/products.mapping.json", "{\"properties\": {\"name\": {\"type\": \"text\"}, \"price\": {\"type\": \"float\"}}}\n");
    let mut docs = String::new();
    for i in 0..200 {
        docs.push_str(&format!("{{\"_id\": \"p{i}\", \"name\": \"product {i}\", \"price\": {i}.5}}\n"));
    }
    p.write("seed/products.ndjson", &docs);
}

#[test]
fn every_preset_is_seeded_once_and_reset_restores_it() {
    if !docker_ready() {
        return;
    }
    let (p1, p2, p3, p4) = (free_port(), free_port(), free_port(), free_port());
    let yaml = format!(
        r#"name: {{project}}
services:
  db:
    preset: postgres
    ports: ["{p1}:5432"]
    seed:
      - sql: seed/pg/*.sql
      - csv: seed/pg/users.csv
        table: users
  cache:
    preset: redis
    ports: ["{p2}:6379"]
    seed:
      - redis: seed/cache.redis
  olap:
    preset: clickhouse
    ports: ["{p3}:8123"]
    seed:
      - sql: seed/ch.sql
      - csv: seed/ch.csv
        table: events
      - jsonl: seed/ch.jsonl
        table: events
  events:
    preset: kafka
    ports: ["127.0.0.1::9092"]
    seed:
      - topic: ticks
        partitions: 3
        messages: seed/ticks.jsonl
  search:
    preset: elasticsearch
    ports: ["{p4}:9200"]
    seed:
      - index: products
        mappings: seed/products.mapping.json
        documents: seed/products.ndjson
  app:
    image: {REDIS}
    depends_on: [db, cache, olap, events, search]
"#
    );
    let p = Project::new("seedall", &yaml);
    write_seed_files(&p);
    let r = p.run(&["up", "-d"]);
    r.ok();
    for line in ["db seeded sql seed/pg/01-schema.sql: 3 statements", "db seeded csv seed/pg/users.csv -> users: 500 rows", "cache seeded redis seed/cache.redis: 3 commands", "events seeded topic ticks: 300 messages", "search seeded index products: 200 documents"] {
        assert!(r.stderr.contains(line), "missing {line:?} in\n{}", r.stderr);
    }
    let pos = |needle: &str| r.stderr.find(needle).unwrap_or_else(|| panic!("no {needle:?} in\n{}", r.stderr));
    assert!(pos("db seeded 3 entries") < pos("app starting"), "dependents start after seeding");

    let vars = env_json(&p);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let count_users = || {
        rt.block_on(async {
            let (c, conn) = tokio_postgres::connect(&vars["DEVENV_DB_URL"], tokio_postgres::NoTls).await.expect("pg");
            tokio::spawn(conn);
            let users: i64 = c.query_one("select count(*) from users", &[]).await.expect("q").get(0);
            let shout: String = c.query_one("select body from notes where id = 3", &[]).await.expect("q").get(0);
            (users, shout)
        })
    };
    assert_eq!(count_users(), (500, "HI!".to_string()));
    rt.block_on(async {
        let http = reqwest::Client::new();
        let ch = http
            .post(format!("http://127.0.0.1:{p3}/?database={}", p.name.replace('-', "_")))
            .header("X-ClickHouse-User", "devenv")
            .header("X-ClickHouse-Key", "devenv")
            .body("SELECT count() FROM events")
            .send()
            .await
            .expect("ch");
        assert_eq!(ch.text().await.expect("body").trim(), "5");
        let es: serde_json::Value = http.get(format!("http://127.0.0.1:{p4}/products/_count")).send().await.expect("es").json().await.expect("json");
        assert_eq!(es["count"], 200);
        let kafka = rskafka::client::ClientBuilder::new(vec![vars["DEVENV_EVENTS_URL"].clone()]).build().await.expect("kafka");
        let mut total = 0;
        for partition in 0..3 {
            let pc = kafka
                .partition_client("ticks", partition, rskafka::client::partition::UnknownTopicHandling::Error)
                .await
                .expect("partition");
            total += pc.get_offset(rskafka::client::partition::OffsetAt::Latest).await.expect("offset");
        }
        assert_eq!(total, 300);
    });
    let mut s = std::net::TcpStream::connect(("127.0.0.1", p2)).expect("redis");
    use std::io::{Read, Write};
    s.write_all(b"GET greeting\r\n").expect("write");
    let mut buf = [0u8; 18];
    s.read_exact(&mut buf).expect("read");
    assert_eq!(&buf, b"$11\r\nhello world\r\n");

    // Second up: nothing applied twice.
    let again = p.run(&["up", "-d"]);
    again.ok().stderr_has("nothing to do");
    assert!(!again.stderr.contains(" seeded "), "{}", again.stderr);

    // Data changed by hand; `seed --reset` restores the seeded state.
    rt.block_on(async {
        let (c, conn) = tokio_postgres::connect(&vars["DEVENV_DB_URL"], tokio_postgres::NoTls).await.expect("pg");
        tokio::spawn(conn);
        c.batch_execute("DELETE FROM users WHERE id > 10").await.expect("delete");
    });
    assert_eq!(count_users().0, 10);
    p.run(&["seed", "--reset", "--yes", "db"]).ok().stderr_has("db seeded 3 entries");
    assert_eq!(count_users().0, 500);

    // A changed seed that was applied is reported, not applied twice.
    p.write("seed/cache.redis", "SET greeting changed\n");
    let changed = p.run(&["up", "-d"]);
    changed.ok().stderr_has("seed `redis seed/cache.redis` changed since it was applied").stderr_has("devenv seed --reset cache");

    // Removing the data volume removes the ledger with it: the next up seeds again.
    p.run(&["down", "-v"]).ok();
    p.run(&["up", "-d", "db"]).ok().stderr_has("db seeded 3 entries");
}

#[test]
fn failed_sql_names_file_statement_and_line_and_stops_dependents() {
    if !docker_ready() {
        return;
    }
    let port = free_port();
    let yaml = format!(
        r#"name: {{project}}
services:
  db:
    preset: postgres
    ports: ["{port}:5432"]
    seed:
      - sql: seed/01-ok.sql
      - sql: seed/02-bad.sql
  api:
    image: {REDIS}
    depends_on: [db]
"#
    );
    let p = Project::new("seedfail", &yaml);
    p.write("seed/01-ok.sql", "CREATE TABLE t (id int);\nINSERT INTO t VALUES (1);\n");
    p.write("seed/02-bad.sql", "INSERT INTO t VALUES (2);\n\n-- oops\nINSERT INTO missing_table VALUES (3);\n");
    let r = p.run(&["up", "-d"]);
    r.code(7).stderr_has("seed/02-bad.sql").stderr_has("statement 2").stderr_has("line 4").stderr_has("missing_table").stderr_has("api not started");
    assert!(!p.docker_objects("container").iter().any(|c| c.ends_with("-api")));

    // Fixed: only the failed entry is applied; the first one stays recorded (not applied twice).
    p.write("seed/02-bad.sql", "INSERT INTO t VALUES (2);\n");
    let fixed = p.run(&["up", "-d"]);
    fixed.ok().stderr_has("seeded sql seed/02-bad.sql");
    assert!(!fixed.stderr.contains("seeded sql seed/01-ok.sql"), "{}", fixed.stderr);
    let url = env_json(&p)["DEVENV_DB_URL"].clone();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let n: i64 = rt.block_on(async {
        let (c, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("pg");
        tokio::spawn(conn);
        c.query_one("select count(*) from t", &[]).await.expect("q").get(0)
    });
    assert_eq!(n, 2, "the failed file's transaction was rolled back, then applied once");
}

#[test]
fn seed_config_errors() {
    let p = Project::new("seedcfg", "services:\n  cache:\n    preset: redis\n    seed:\n      - sql: x.sql\n");
    p.run(&["config"]).code(2).stderr_has("`sql` seeds are not supported by the redis preset").stderr_has("services.cache.seed[0].sql");
    let q = Project::new("seedmissing", "services:\n  db:\n    preset: postgres\n    seed:\n      - sql: nowhere/*.sql\n");
    q.run(&["config"]).code(2).stderr_has("matches no file");
    let r = Project::new("seedtable", "services:\n  db:\n    preset: postgres\n    seed:\n      - csv: a.csv\n");
    r.write("a.csv", "id\n1\n");
    r.run(&["config"]).code(2).stderr_has("needs `table:`");
}

/// `seed --reset` drops what a `run: once` job created on top of the seeds
/// (a migration): the reset re-runs the jobs that depend on the service, and
/// with `--no-jobs` removes their finished containers so the next `up` runs them.
#[test]
fn seed_reset_reruns_the_jobs_that_depend_on_the_service() {
    if !docker_ready() {
        return;
    }
    let port = free_port();
    let yaml = format!(
        r#"name: {{project}}
services:
  db:
    preset: postgres
    ports: ["{port}:5432"]
    seed:
      - sql: seed/schema.sql
  migrate:
    image: {POSTGRES}
    entrypoint: ["psql"]
    command: ["${{db.url}}", "-v", "ON_ERROR_STOP=1", "-c", "CREATE TABLE IF NOT EXISTS migrated (id int)", "-c", "INSERT INTO migrated VALUES (1)"]
    run: once
    depends_on:
      db: healthy
  api:
    image: {REDIS}
    depends_on:
      migrate: completed
"#
    );
    let p = Project::new("seedjobs", &yaml);
    p.write("seed/schema.sql", "CREATE TABLE users (id int PRIMARY KEY);\n");
    p.run(&["up", "-d"]).ok().stderr_has("migrate completed");
    let url = env_json(&p)["DEVENV_DB_URL"].clone();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    // Rows in `migrated` (each job run adds one), or None when the table is missing.
    let migrated = || -> Option<i64> {
        rt.block_on(async {
            let (c, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("pg");
            tokio::spawn(conn);
            c.query_one("select count(*) from migrated", &[]).await.ok().map(|r| r.get(0))
        })
    };
    assert_eq!(migrated(), Some(1));

    let reset = p.run(&["seed", "--reset", "--yes", "db"]);
    reset.ok().stderr_has("db seeded 1 entry").stderr_has("re-running the jobs that depend on db: migrate").stderr_has("migrate completed");
    assert_eq!(migrated(), Some(1), "the job ran again on the reset database:\n{}", reset.stderr);

    // --no-jobs: the reset says what it did not run; the next `up` runs it.
    let skipped = p.run(&["seed", "--reset", "--yes", "--no-jobs", "db"]);
    skipped.ok().stderr_has("not re-running migrate").stderr_has("devenv up -d");
    assert_eq!(migrated(), None, "the reset dropped the job's table:\n{}", skipped.stderr);
    let up = p.run(&["up", "-d"]);
    up.ok().stderr_has("migrate completed");
    assert!(!up.stderr.contains("nothing to do"), "{}", up.stderr);
    assert_eq!(migrated(), Some(1));
}
