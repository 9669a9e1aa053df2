//! ClickHouse snapshots inside the server (issue 17): a save shares the
//! MergeTree parts by hard links, a restore swaps the tables back without a
//! restart — whatever was changed in between (rows, a dropped table, a new
//! table, a new database, a new column); where the server holds something
//! that path cannot copy (a view), the volume is copied instead.

use crate::harness::*;

const STACK: &str = "name: {project}\nservices:\n  olap:\n    preset: clickhouse\n    seed:\n      - sql: seed.sql\n";

const SEED: &str = "CREATE DATABASE app;\n\
CREATE TABLE app.events (d Date, id UInt64, s String) ENGINE = MergeTree PARTITION BY toYYYYMM(d) ORDER BY id;\n\
INSERT INTO app.events SELECT toDate('2024-01-01') + number % 90, number, toString(number) FROM system.numbers LIMIT 30000;\n\
CREATE TABLE default.plain (id UInt64) ENGINE = MergeTree ORDER BY tuple();\n\
INSERT INTO default.plain VALUES (1), (2), (3);\n\
CREATE TABLE app.empty (id UInt64) ENGINE = ReplacingMergeTree ORDER BY id;\n";

fn ch(p: &Project, q: &str) -> String {
    let r = dv(p, &["exec", "-T", "olap", "--", "clickhouse-client", "--user", "devenv", "--password", "devenv", "--query", q]);
    r.ok();
    r.stdout.trim().to_string()
}

/// What the test compares: every user table's rows and columns.
fn state(p: &Project) -> String {
    let tables = ch(p, "SELECT database, name FROM system.tables WHERE database NOT IN ('system') AND substring(database, 1, 9) != '__devenv_' ORDER BY database, name FORMAT TSV");
    let mut out = format!("databases: {}\n", ch(p, "SELECT groupArray(name) FROM (SELECT name FROM system.databases WHERE name != 'system' AND substring(name, 1, 9) != '__devenv_' ORDER BY name)"));
    for line in tables.lines() {
        let Some((db, t)) = line.split_once('\t') else { continue };
        let cols = ch(p, &format!("SELECT groupArray(name) FROM system.columns WHERE database = '{db}' AND table = '{t}'"));
        let sum = ch(p, &format!("SELECT count(), sum(cityHash64(*)) FROM `{db}`.`{t}`"));
        out.push_str(&format!("{db}.{t} {cols} {sum}\n"));
    }
    out
}

#[test]
fn a_clickhouse_restore_swaps_the_tables_back_inside_the_server() {
    if !docker_ready() {
        return;
    }
    let p = Project::new("snap-ch", STACK);
    let _snaps = Snapshots::of(&p);
    p.write("seed.sql", SEED);
    dv(&p, &["up", "-d"]).ok();
    let container = container_id(&p, "olap");
    let started = inspect(&container, "{{.State.StartedAt}}");
    let saved = state(&p);
    assert!(saved.contains("app.events") && saved.contains("30000"), "{saved}");

    dv(&p, &["snapshot", "save", "base"]).ok();
    // The save's volume copy restarts the server once; the restores do not.
    let started = {
        let now = inspect(&container, "{{.State.StartedAt}}");
        assert_ne!(now, started, "a save copies the volume too (for export, and a restore into a new volume)");
        now
    };
    for round in 0..2 {
        ch(&p, "INSERT INTO app.events SELECT toDate('2025-06-01'), number, 'new' FROM system.numbers LIMIT 500");
        ch(&p, "ALTER TABLE app.events ADD COLUMN extra UInt8");
        ch(&p, "DROP TABLE default.plain");
        ch(&p, "CREATE TABLE default.later (x UInt8) ENGINE = MergeTree ORDER BY x");
        ch(&p, "INSERT INTO default.later VALUES (7)");
        ch(&p, "CREATE DATABASE scratch");
        ch(&p, "CREATE TABLE scratch.t (x UInt8) ENGINE = MergeTree ORDER BY x");
        ch(&p, "INSERT INTO app.empty VALUES (9)");
        assert_ne!(state(&p), saved);

        dv(&p, &["snapshot", "restore", "base"]).ok().stderr_has("restored snapshot `base`: olap");
        assert_eq!(state(&p), saved, "round {round}: the saved tables, rows and columns, and nothing else");
        assert_eq!(inspect(&container, "{{.State.StartedAt}} {{.State.Running}}"), format!("{started} true"), "round {round}: restored without a restart");
    }
    // Nothing devenv moved aside or staged is left behind once the next restore is ready.
    let own = ch(&p, "SELECT groupArray(name) FROM system.databases WHERE substring(name, 1, 9) = '__devenv_'");
    assert!(own.contains("'__devenv_snap_base'") && !own.contains("stage") && !own.contains("old"), "{own}");

    // A view is not a MergeTree: that server state is restored by copying the volume.
    ch(&p, "CREATE VIEW default.v AS SELECT 1");
    ch(&p, "INSERT INTO default.plain VALUES (4)");
    dv(&p, &["snapshot", "restore", "base"]).ok();
    assert_eq!(state(&p), saved);
    assert_ne!(inspect(&container, "{{.State.StartedAt}}"), started, "the volume path restarts the server");

    // A new volume does not hold the in-server save: the volume copy brings it back.
    dv(&p, &["down", "-v"]).ok();
    dv(&p, &["up", "-d"]).ok();
    ch(&p, "INSERT INTO default.plain VALUES (5)");
    dv(&p, &["snapshot", "restore", "base"]).ok();
    assert_eq!(state(&p), saved);

    // `snapshot rm` drops the save's database from the running server at once.
    let own = || ch(&p, "SELECT groupArray(name) FROM system.databases WHERE substring(name, 1, 9) = '__devenv_'");
    assert!(own().contains("'__devenv_snap_base'"));
    dv(&p, &["snapshot", "rm", "base"]).ok();
    assert!(!own().contains("'__devenv_snap_base'"), "{}", own());
}

/// The running container of `service`.
fn container_id(p: &Project, service: &str) -> String {
    let out = std::process::Command::new("docker")
        .args(["ps", "-q", "--filter", &format!("label=dev.devenv.project={}", p.name), "--filter", &format!("label=dev.devenv.service={service}")])
        .output()
        .expect("docker");
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(!id.is_empty(), "no running {service}");
    id
}
