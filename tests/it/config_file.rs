//! `devenv config` prints the resolved environment as a devenv.yaml that
//! loads again (issue 21, item 8): round trip, no tags or nulls, and the
//! printed file brings up the same stack on the real engine.

use crate::harness::*;

const STACK: &str = r#"name: {project}
services:
  db:
    preset: postgres
    env:
      POSTGRES_DB: shop
    seed:
      - sql: seed/db.sql
  cache:
    preset: redis
    persist: false
  app:
    image: devenv-test/app:1
    command: ["sh", "-c", "echo ready; sleep 3600"]
    env:
      DATABASE_URL: ${db.url}
      PRICE: "5$$"
    ports: ["127.0.0.1::8080"]
    volumes: ["./src:/src:ro", "cache-dir:/cache"]
    depends_on: [db, cache]
    health:
      log: ready
      interval: 200ms
volumes:
  cache-dir:
export:
  DATABASE_URL: ${db.url}
  REDIS_URL: ${cache.url}
  API_TOKEN: t0ps3cret
"#;

fn stack() -> Project {
    let p = Project::new("cfgfile", STACK);
    p.write("seed/db.sql", "CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2);\n");
    p.write("src/main.txt", "x\n");
    p
}

#[test]
fn config_prints_a_devenv_yaml_that_loads_to_the_same_output() {
    let p = stack();
    let first = p.run(&["config"]);
    first.ok();
    let out = &first.stdout;
    for bad in ["!", "null", "host_ip", "probe", "~", "t0ps3cret"] {
        assert!(!out.contains(bad), "`{bad}` in the printed file:\n{out}");
    }
    for want in [
        "export:\n  DATABASE_URL: ${db.url}\n  REDIS_URL: ${cache.url}\n  API_TOKEN: '***'",
        "- 5432:5432",
        "- 127.0.0.1::8080",
        "- db-data:/var/lib/postgresql/data",
        "- ./src:/src:ro",
        "- cache-dir:/cache",
        "protocol: postgres",
        "log: ready",
        "interval: 200ms",
        "db: healthy",
        "cache: healthy",
        "- sql: seed/db.sql",
        "POSTGRES_DB: shop",
        "DATABASE_URL: postgres://devenv:***@db:5432/shop",
        "PRICE: 5$$",
        "cache-dir: {}",
    ] {
        assert!(out.contains(want), "`{want}` missing from the printed file:\n{out}");
    }
    p.write("out.yaml", out);
    let again = p.run(&["-f", "out.yaml", "config"]);
    again.ok();
    assert_eq!(&again.stdout, out, "the printed file does not print itself");
    // --format json: the same shape as JSON.
    let json: serde_json::Value = serde_json::from_str(&p.run(&["config", "--format", "json"]).ok().stdout).expect("JSON");
    let yaml: serde_json::Value = serde_yaml::from_str(out).expect("YAML");
    assert_eq!(json, yaml);
    // The internal model stays available for debugging.
    p.run(&["config", "--plan"]).ok().stdout_has("probe:").stdout_has("config_hash:");
}

#[test]
fn the_printed_file_brings_up_the_stack_with_its_seeds() {
    if !docker_ready() {
        return;
    }
    let p = stack();
    let printed = p.run(&["config"]).ok().stdout.clone();
    p.write("out.yaml", &printed);
    p.run(&["-f", "out.yaml", "up", "-d"]).ok();
    let r = p.run(&["-f", "out.yaml", "exec", "-T", "db", "--", "psql", "-U", "devenv", "-d", "shop", "-tAc", "SELECT count(*) FROM t"]);
    r.ok().stdout_has("2");
    let env = p.run(&["-f", "out.yaml", "env", "--format", "json"]).ok().stdout.clone();
    assert!(env.contains("REDIS_URL"), "{env}");
}

/// Every example (all profiles) prints a file that prints itself again.
#[test]
fn every_example_round_trips_through_config() {
    let envs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("envs");
    let mut names: Vec<_> = std::fs::read_dir(&envs).expect("envs/").flatten().map(|e| e.file_name()).collect();
    names.sort();
    for name in names {
        let dir = tempfile::tempdir().expect("tempdir");
        let copy = std::process::Command::new("cp").arg("-r").arg(envs.join(&name)).arg(dir.path().join("ex")).status().expect("cp");
        assert!(copy.success());
        let config = |args: &[&str]| {
            let out = std::process::Command::new(bin())
                .current_dir(dir.path().join("ex"))
                .args(["--profile", "*"])
                .args(args)
                .args(["config"])
                .env_remove("DEVENV_PROJECT")
                .output()
                .expect("run devenv");
            assert!(out.status.success(), "{name:?}: {}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8_lossy(&out.stdout).to_string()
        };
        let first = config(&[]);
        assert!(!first.contains("null") && !first.contains(" !"), "{name:?}:\n{first}");
        std::fs::write(dir.path().join("ex/out.yaml"), &first).expect("write");
        assert_eq!(config(&["-f", "out.yaml"]), first, "{name:?}: the printed file does not print itself");
    }
}
