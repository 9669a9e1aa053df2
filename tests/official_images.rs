//! The official-images suite: every preset against the images users pull
//! (postgres 15–18 and `latest`, redis 7/8, apache/kafka 3.9/4.x, clickhouse
//! 24/25, elasticsearch 8/9), through the real `devenv` binary and a real
//! Docker engine that can pull — no image map, no stand-ins.
//!
//! Per case: `up -d` (devenv's own probe must pass), the URL from the host
//! (`devenv env`, used by a client container on the host network) and from the
//! network (`${svc.url}` in another service's env, used inside it), the seeds,
//! a marker written, `down` + `up -d` keeps it, `seed --reset` drops it and
//! re-applies the seeds, `snapshot save` + `restore` (and, for the presets
//! that keep snapshots inside the server, `reset`) drop a marker written
//! after, `down -v` leaves nothing. For Postgres 18+ also the
//! data mount (`/var/lib/postgresql`, never `…/data`).
//!
//! Every case is `#[ignore]`d: it pulls ~5 GB, and devenv's own CI has no
//! registry, so a normal `cargo test` lists them as ignored — never as passed.
//! Where it runs: `.github/workflows/official-images.yml` (README.md#tests):
//!
//!     cargo test --locked --test official_images -- --ignored --test-threads 2
//!
//! `DEVENV_OFFICIAL_SUITE_IMAGE_MAP=FILE` runs the same steps through an image
//! map instead — only to check the suite's own logic against stand-ins; such a
//! run proves nothing about the official images.

use std::path::Path;
use std::process::{Command, Output};

/// One preset at one tag, and how to look at its data from inside a client
/// container of the same image (`$URL` holds the in-network URL there).
struct Case {
    name: &'static str,
    /// The service's lines under `db:` besides `preset:` (`version: "16"` or `image: …`).
    service: &'static str,
    preset: &'static str,
    /// Seed entries (YAML list items under `seed:`) and the files they name.
    seed: &'static str,
    files: &'static [(&'static str, &'static str)],
    /// Shell definitions put before each of the scripts below.
    prelude: &'static str,
    /// Prints the seeded data's size (a number) given `$URL`.
    count: &'static str,
    /// Adds one item (the marker) given `$URL`.
    mark: &'static str,
    /// A client call on the host network given `$URL` = the host-side URL; must exit 0.
    host_check: &'static str,
    /// Expected counts: after seeding, and with the marker.
    seeded: u64,
    /// Postgres 18+: the data volume's mount point.
    data_mount: Option<&'static str>,
}

const PG_SEED: &str = "      - sql: seed/init.sql\n";
const PG_FILES: &[(&str, &str)] = &[("seed/init.sql", "CREATE TABLE items (id int PRIMARY KEY, name text);\nINSERT INTO items VALUES (1, 'a'), (2, 'b');\n")];
const PG_COUNT: &str = r#"psql "$URL" -tAc 'SELECT count(*) FROM items'"#;
const PG_MARK: &str = r#"psql "$URL" -c "INSERT INTO items VALUES (99, 'marker')""#;
const PG_HOST: &str = r#"psql "$URL" -tAc 'SELECT 1'"#;

fn postgres(name: &'static str, service: &'static str, data_mount: &'static str) -> Case {
    Case {
        name,
        service,
        preset: "postgres",
        prelude: "",
        seed: PG_SEED,
        files: PG_FILES,
        count: PG_COUNT,
        mark: PG_MARK,
        host_check: PG_HOST,
        seeded: 2,
        data_mount: Some(data_mount),
    }
}

fn redis(name: &'static str, service: &'static str) -> Case {
    Case {
        name,
        service,
        preset: "redis",
        prelude: "",
        seed: "      - redis: seed/init.redis\n",
        files: &[("seed/init.redis", "SET item:1 a\nSET item:2 b\n")],
        count: r#"redis-cli -u "$URL" --no-raw EVAL "return #redis.call('keys', 'item:*')" 0 | tr -dc 0-9"#,
        mark: r#"redis-cli -u "$URL" SET item:99 marker"#,
        host_check: r#"redis-cli -u "$URL" PING | grep -qx PONG"#,
        seeded: 2,
        data_mount: None,
    }
}

/// POST a query to ClickHouse's HTTP URL with curl or wget (whichever the image has).
const CH_POST: &str = r#"get() { if command -v curl >/dev/null; then curl -fsS --data-binary "$2" "$1"; else wget -qO- --post-data "$2" "$1"; fi; }; "#;

fn clickhouse(name: &'static str, service: &'static str) -> Case {
    Case {
        name,
        service,
        preset: "clickhouse",
        prelude: CH_POST,
        seed: "      - sql: seed/init.sql\n",
        files: &[("seed/init.sql", "CREATE TABLE items (id UInt32, name String) ENGINE = MergeTree ORDER BY id;\nINSERT INTO items VALUES (1, 'a'), (2, 'b');\n")],
        count: r#"get "$URL" 'SELECT count() FROM items'"#,
        mark: r#"get "$URL" "INSERT INTO items VALUES (99, 'marker')""#,
        host_check: r#"get "$URL" 'SELECT 1' | grep -qx 1"#,
        seeded: 2,
        data_mount: None,
    }
}

fn kafka(name: &'static str, service: &'static str) -> Case {
    Case {
        name,
        service,
        preset: "kafka",
        prelude: "",
        seed: "      - topic: items\n        partitions: 3\n        messages: seed/items.jsonl\n",
        files: &[("seed/items.jsonl", "{\"key\": \"1\", \"value\": \"a\"}\n{\"key\": \"2\", \"value\": \"b\"}\n")],
        count: r#"/opt/kafka/bin/kafka-console-consumer.sh --bootstrap-server "$URL" --topic items --from-beginning --timeout-ms 15000 2>/dev/null | wc -l"#,
        mark: r#"echo 99:marker | /opt/kafka/bin/kafka-console-producer.sh --bootstrap-server "$URL" --topic items --property parse.key=true --property key.separator=:"#,
        host_check: r#"/opt/kafka/bin/kafka-topics.sh --bootstrap-server "$URL" --describe --topic items | grep -q 'PartitionCount: 3'"#,
        seeded: 2,
        data_mount: None,
    }
}

fn elasticsearch(name: &'static str, service: &'static str) -> Case {
    Case {
        name,
        service,
        preset: "elasticsearch",
        prelude: "",
        seed: "      - index: items\n        documents: seed/items.ndjson\n",
        files: &[("seed/items.ndjson", "{\"_id\": \"1\", \"name\": \"a\"}\n{\"_id\": \"2\", \"name\": \"b\"}\n")],
        count: r#"curl -fsS "$URL/items/_count" | sed -n 's/.*"count":\([0-9]*\).*/\1/p'"#,
        mark: r#"curl -fsS -XPUT -H 'content-type: application/json' "$URL/items/_doc/99?refresh=true" -d '{"name": "marker"}'"#,
        host_check: r#"curl -fsS "$URL/_cluster/health" | grep -q '"status":"\(green\|yellow\)"'"#,
        seeded: 2,
        data_mount: None,
    }
}

// ---------------------------------------------------------------- the run

struct Env {
    dir: tempfile::TempDir,
    project: String,
}

impl Env {
    fn devenv(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_devenv"))
            .current_dir(self.dir.path())
            .args(["--progress", "plain", "--ports", "random"])
            .args(args)
            .env_remove("DEVENV_IMAGE_MAP")
            .envs(std::env::var("DEVENV_OFFICIAL_SUITE_IMAGE_MAP").map(|m| ("DEVENV_IMAGE_MAP", m)))
            .env_remove("DEVENV_PROJECT")
            .env("NO_COLOR", "1")
            .output()
            .expect("run devenv")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.devenv(args);
        assert!(out.status.success(), "devenv {args:?} failed ({}):\n{}\n{}", out.status, text(&out.stdout), text(&out.stderr));
        text(&out.stdout)
    }

    /// A shell script in the client service (same image as `db`), `$URL` = `${db.url}`.
    fn client(&self, script: &str) -> String {
        self.ok(&["exec", "-T", "client", "--", "sh", "-c", script])
    }

    fn count(&self, case: &Case) -> u64 {
        let out = self.client(&format!("{}{}", case.prelude, case.count));
        out.trim().parse().unwrap_or_else(|_| panic!("{}: count printed {out:?}", case.name))
    }

    /// Labelled objects of a kind still present.
    fn objects(&self, kind: &str) -> String {
        let filter = format!("label=dev.devenv.project={}", self.project);
        let args: Vec<&str> = match kind {
            "container" => vec!["ps", "-aq", "--filter", &filter],
            other => vec![other, "ls", "-q", "--filter", &filter],
        };
        text(&Command::new("docker").args(&args).output().expect("docker").stdout)
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = self.devenv(&["down", "-v", "-t", "1"]);
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn write(dir: &Path, rel: &str, content: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, content).expect("write");
}

/// The environment file: `db` as the case says, seeded, and — once `db`'s image
/// is known — a `client` service of the same image (its CLI tools) holding the
/// in-network URL.
fn yaml(project: &str, case: &Case, client_image: Option<&str>) -> String {
    let persist = if case.preset == "redis" { "    persist: true\n" } else { "" };
    let client = client_image.map(|image| {
        format!("  client:\n    image: {image}\n    entrypoint: [\"sleep\", \"infinity\"]\n    env:\n      URL: ${{db.url}}\n    depends_on: {{db: healthy}}\n")
    });
    format!(
        "name: {project}\nservices:\n  db:\n    preset: {preset}\n{service}{persist}    seed:\n{seed}{client}",
        preset = case.preset,
        service = case.service,
        seed = case.seed,
        client = client.unwrap_or_default(),
    )
}

fn setup(case: &Case) -> (Env, String) {
    let project = format!("official-{}-{}", case.name, std::process::id());
    let dir = tempfile::tempdir().expect("tempdir");
    for (rel, content) in case.files {
        write(dir.path(), rel, content);
    }
    write(dir.path(), "devenv.yaml", &yaml(&project, case, None));
    let env = Env { dir, project };
    let out = env.ok(&["config", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("config json");
    let image = v["services"]["db"]["image"].as_str().unwrap_or_else(|| panic!("no db image in {out}")).to_string();
    write(env.dir.path(), "devenv.yaml", &yaml(&env.project, case, Some(&image)));
    (env, image)
}

fn host_url(env: &Env) -> String {
    let out = env.ok(&["env", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("env json");
    v["DEVENV_DB_URL"].as_str().unwrap_or_else(|| panic!("no DEVENV_DB_URL in {out}")).to_string()
}

fn on_host_network(image: &str, url: &str, script: &str) {
    let out = Command::new("docker")
        .args(["run", "--rm", "--network", "host", "--entrypoint", "sh", "-e", &format!("URL={url}"), image, "-c", script])
        .output()
        .expect("docker run");
    assert!(out.status.success(), "from the host ({url}): {script}\n{}\n{}", text(&out.stdout), text(&out.stderr));
}

fn check_data_mount(env: &Env, want: &str) {
    let filter = format!("label=dev.devenv.project={}", env.project);
    let id = text(&Command::new("docker").args(["ps", "-q", "--filter", &filter, "--filter", "label=dev.devenv.service=db"]).output().expect("docker").stdout);
    let mounts = text(&Command::new("docker").args(["inspect", "-f", "{{range .Mounts}}{{.Destination}} {{end}}", id.trim()]).output().expect("docker").stdout);
    let dests: Vec<&str> = mounts.split_whitespace().collect();
    assert!(dests.contains(&want), "data volume not at {want}: {dests:?}");
    if want == "/var/lib/postgresql" {
        assert!(!dests.contains(&"/var/lib/postgresql/data"), "a mount at /var/lib/postgresql/data makes the 18+ entrypoint refuse: {dests:?}");
    }
}

fn run_case(case: Case) {
    let (env, image) = setup(&case);

    env.ok(&["up", "-d"]);
    if let Some(want) = case.data_mount {
        check_data_mount(&env, want);
    }
    assert_eq!(env.count(&case), case.seeded, "{}: seeded items, from the network", case.name);
    on_host_network(&image, &host_url(&env), &format!("{}{}", case.prelude, case.host_check));

    env.client(&format!("{}{}", case.prelude, case.mark));
    assert_eq!(env.count(&case), case.seeded + 1, "{}: marker written", case.name);
    env.ok(&["down"]);
    env.ok(&["up", "-d"]);
    assert_eq!(env.count(&case), case.seeded + 1, "{}: data survives down/up", case.name);

    env.ok(&["seed", "--reset", "--yes", "db"]);
    assert_eq!(env.count(&case), case.seeded, "{}: seed --reset drops the marker and re-seeds", case.name);

    env.ok(&["snapshot", "save", "base"]);
    env.client(&format!("{}{}", case.prelude, case.mark));
    env.ok(&["snapshot", "restore", "base"]);
    assert_eq!(env.count(&case), case.seeded, "{}: snapshot restore drops the marker", case.name);
    // Postgres, ClickHouse and Redis keep the seeded snapshot inside the server.
    if matches!(case.preset, "postgres" | "clickhouse" | "redis") {
        env.client(&format!("{}{}", case.prelude, case.mark));
        env.ok(&["reset", "db"]);
        assert_eq!(env.count(&case), case.seeded, "{}: reset drops the marker", case.name);
    }
    env.ok(&["snapshot", "rm", "base"]);

    env.ok(&["down", "-v", "-t", "1"]);
    for kind in ["container", "network", "volume"] {
        assert_eq!(env.objects(kind).trim(), "", "{}: {kind}s left after down -v", case.name);
    }
}

macro_rules! cases {
    ($($name:ident => $case:expr;)*) => {
        $(
            #[test]
            #[ignore = "pulls the official images: run with -- --ignored where a registry is reachable"]
            fn $name() { run_case($case) }
        )*
    };
}

cases! {
    postgres_15 => postgres("postgres-15", "    version: \"15\"\n", "/var/lib/postgresql/data");
    postgres_16 => postgres("postgres-16", "    version: \"16\"\n", "/var/lib/postgresql/data");
    postgres_17 => postgres("postgres-17", "    version: \"17\"\n", "/var/lib/postgresql/data");
    postgres_18 => postgres("postgres-18", "    version: \"18\"\n", "/var/lib/postgresql");
    postgres_image_18 => postgres("postgres-image-18", "    image: postgres:18\n", "/var/lib/postgresql");
    postgres_image_latest => postgres("postgres-image-latest", "    image: postgres:latest\n", "/var/lib/postgresql");
    redis_7 => redis("redis-7", "    version: \"7\"\n");
    redis_8 => redis("redis-8", "    version: \"8\"\n");
    kafka_3_9 => kafka("kafka-3-9", "    version: \"3.9.0\"\n");
    kafka_4 => kafka("kafka-4", "    version: \"4.0.0\"\n");
    clickhouse_24 => clickhouse("clickhouse-24", "    version: \"24.8\"\n");
    clickhouse_25 => clickhouse("clickhouse-25", "    version: \"25.3\"\n");
    elasticsearch_8 => elasticsearch("elasticsearch-8", "    version: \"8.15.3\"\n");
    elasticsearch_9 => elasticsearch("elasticsearch-9", "    version: \"9.0.0\"\n");
}
