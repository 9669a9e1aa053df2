//! `devenv reset`, `up --fresh`, `run --snapshot` and `Running::reset()`
//! against real Postgres and Redis stand-ins (issue 17, items 3–5): the
//! seeded snapshot kept after the first seeding; Postgres put back inside the
//! server (template databases) with exactly the saved rows, no restart,
//! dependents running; the volume path and the in-server path agree; a
//! Ctrl-C leaves the old or the new state, never a mix.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::harness::*;

#[path = "../../envs/reset-between-tests/suite.rs"]
mod example_suite;


fn psql(p: &Project, db: &str, q: &str) -> String {
    let r = dv(p, &["exec", "-T", "db", "--", "psql", "-U", "devenv", "-d", db, "-tAc", q]);
    r.ok();
    r.stdout.trim().to_string()
}

fn sql(p: &Project, q: &str) -> String {
    psql(p, "shop", q)
}

/// Every row of `items`, hashed: equal digests, equal rows.
fn digest(p: &Project) -> String {
    sql(p, "SELECT count(*) || ':' || coalesce(md5(string_agg(id || '/' || name, ',' ORDER BY id)), '-') FROM items")
}

/// The databases a user sees (devenv's own templates and spares left out).
fn user_databases(p: &Project) -> String {
    psql(p, "postgres", "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database WHERE NOT datistemplate AND datname NOT LIKE '%\\_\\_devenv\\_%'")
}

fn container(p: &Project, service: &str) -> String {
    let out = Command::new("docker")
        .args(["ps", "-q", "--filter", &format!("label=dev.devenv.project={}", p.name), "--filter", &format!("label=dev.devenv.service={service}")])
        .output()
        .expect("docker");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

const STACK: &str = "name: {project}\nservices:\n  db:\n    preset: postgres\n    env: {POSTGRES_DB: shop}\n    seed:\n      - sql: schema.sql\n      - csv: items.csv\n        table: items\n  api:\n    image: devenv-test/app:1\n    depends_on: {db: healthy}\n";

fn seed_files(p: &Project) {
    p.write("schema.sql", "CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL);\n");
    let mut csv = String::from("id,name\n");
    for i in 1..=2000 {
        csv.push_str(&format!("{i},item-{i}\n"));
    }
    p.write("items.csv", &csv);
}

#[test]
fn reset_puts_the_seeded_rows_back_inside_the_server_and_dependents_keep_running() {
    if !docker_ready() {
        return;
    }
    let p = Project::new("reset-pg", STACK);
    let _snaps = Snapshots::of(&p);
    seed_files(&p);
    dv(&p, &["up", "-d"]).ok().stderr_has("db: kept its seeded snapshot (inside the server");
    let seeded = digest(&p);
    assert!(seeded.starts_with("2000:"), "{seeded}");
    let (db, api) = (container(&p, "db"), container(&p, "api"));
    let started = inspect(&db, "{{.State.StartedAt}}");

    sql(&p, "DELETE FROM items WHERE id % 2 = 0; UPDATE items SET name = 'changed' WHERE id = 1; CREATE TABLE scratch (x int)");
    psql(&p, "postgres", "CREATE DATABASE extra");
    // It returns once the data is back; a detached devenv, holding the lock, makes the next spare.
    dv(&p, &["reset"]).ok().stderr_has("reset to the seeded state: db").stderr_has("the next restore is prepared in the background");
    assert_eq!(digest(&p), seeded, "exactly the seeded rows");
    assert_eq!(sql(&p, "SELECT count(*) FROM pg_tables WHERE tablename = 'scratch'"), "0");
    assert_eq!(user_databases(&p), "postgres,shop", "a database made after the save is gone, as a volume restore would have it");
    assert_eq!(inspect(&db, "{{.State.StartedAt}}"), started, "no restart: the server stayed up");
    assert_eq!(inspect(&api, "{{.State.Running}} {{.RestartCount}}"), "true 0", "the dependent kept running");
    // The seeded snapshot is not one of the user's.
    dv(&p, &["snapshot", "ls"]).ok().stdout_has("no snapshots");

    // Again (after waiting for the lock of the detached preparation: now from the spare copy).
    sql(&p, "UPDATE items SET name = 'x'");
    dv(&p, &["reset", "db"]).ok();
    assert_eq!(digest(&p), seeded);

    // A snapshot of one's own: the in-server path and the volume path give the same rows.
    sql(&p, "DELETE FROM items WHERE id > 100");
    let saved = digest(&p);
    dv(&p, &["snapshot", "save", "mid"]).ok();
    sql(&p, "DELETE FROM items");
    let started = inspect(&db, "{{.State.StartedAt}}");
    dv(&p, &["snapshot", "restore", "mid"]).ok();
    assert_eq!(digest(&p), saved, "in-server restore");
    assert_eq!(inspect(&db, "{{.State.StartedAt}}"), started, "in the server: no restart");

    sql(&p, "DELETE FROM items");
    assert!(Command::new("docker").args(["stop", "-t", "5", &db]).status().expect("docker").success());
    dv(&p, &["snapshot", "restore", "mid"]).ok();
    dv(&p, &["up", "-d"]).ok();
    assert_eq!(digest(&p), saved, "volume restore: the same rows");
    // The volume held the in-server copies: the fast path works again, and so does reset.
    sql(&p, "DELETE FROM items");
    let started = inspect(&db, "{{.State.StartedAt}}");
    dv(&p, &["snapshot", "restore", "mid"]).ok();
    assert_eq!(digest(&p), saved);
    assert_eq!(inspect(&db, "{{.State.StartedAt}}"), started);
    dv(&p, &["reset"]).ok();
    assert_eq!(digest(&p), seeded);
    assert_eq!(inspect(&api, "{{.State.Running}} {{.RestartCount}}"), "true 0");
}

#[test]
fn reset_without_a_seeded_snapshot_says_so_and_what_to_do() {
    if !docker_ready() {
        return;
    }
    // A Redis with `maxmemory` set keeps no copy inside the server (an
    // evicted key would silently go missing from it), and its seeding is
    // short (no volume copy): no seeded snapshot.
    let yaml = "name: {project}\nservices:\n  cache:\n    preset: redis\n    command: [redis-server, --maxmemory, 64mb]\n    seed:\n      - redis: seed.redis\n  plain:\n    image: devenv-test/app:1\n";
    let p = Project::new("reset-none", yaml);
    let _snaps = Snapshots::of(&p);
    p.write("seed.redis", "SET greeting hello\n");
    dv(&p, &["up", "-d"]).ok();
    let r = dv(&p, &["reset"]);
    r.code(2).stderr_has("no seeded snapshot of `cache`").stderr_has("devenv seed --reset cache --yes").stderr_has("see: README.md#");
    dv(&p, &["reset", "nope"]).code(2).stderr_has("no service `nope`");
    // Nothing was touched.
    let got = dv(&p, &["exec", "-T", "cache", "--", "redis-cli", "GET", "greeting"]);
    got.ok().stdout_has("hello");
}

#[test]
fn up_fresh_starts_from_the_seeded_state_and_ctrl_c_never_leaves_a_mix() {
    if !docker_ready() {
        return;
    }
    let p = Project::new("reset-fresh", STACK);
    let _snaps = Snapshots::of(&p);
    seed_files(&p);
    dv(&p, &["up", "-d"]).ok();
    let seeded = digest(&p);
    sql(&p, "DELETE FROM items WHERE id > 10");
    dv(&p, &["up", "-d", "--fresh"]).ok().stderr_has("--fresh: back to the seeded state: db");
    assert_eq!(digest(&p), seeded);

    // Ctrl-C at different moments of a reset: afterwards the rows are the
    // old ones or the seeded ones, whole.
    for delay_ms in [0u64, 100, 300, 600, 1000] {
        sql(&p, "DELETE FROM items WHERE id > 1500; UPDATE items SET name = 'old' WHERE id < 10");
        let old = digest(&p);
        let child = p.cmd(&["reset"]).env("DEVENV_PORTS", "random").stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("spawn");
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = Command::new("kill").args(["-INT", &child.id().to_string()]).status();
        let out = child.wait_with_output().expect("wait");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(matches!(out.status.code(), Some(0 | 130) | None), "{:?}: {stderr}", out.status);
        let now = digest(&p);
        assert!(now == old || now == seeded, "after a Ctrl-C at {delay_ms} ms: neither the old nor the seeded rows ({now}):\n{stderr}");
        assert_eq!(user_databases(&p), "postgres,shop", "{stderr}");
    }
    dv(&p, &["reset"]).ok();
    assert_eq!(digest(&p), seeded);
}

/// The swap of a Postgres reset is one transaction over every database:
/// when one database cannot be renamed (a prepared transaction holds it,
/// which no `pg_terminate_backend` ends), none is swapped — neither the held
/// one nor the other — and `reset` says why; once it is released, `reset`
/// puts both back. Held once in each database, so whichever the swap takes
/// first, a database swapped before the failure would show.
#[test]
fn a_postgres_reset_that_cannot_swap_one_database_swaps_none() {
    if !docker_ready() {
        return;
    }
    let yaml = STACK.replace("    env: {POSTGRES_DB: shop}\n", "    env: {POSTGRES_DB: shop}\n    command: [postgres, -c, max_prepared_transactions=4]\n");
    let p = Project::new("reset-held", &yaml);
    let _snaps = Snapshots::of(&p);
    seed_files(&p);
    dv(&p, &["up", "-d"]).ok();
    let seeded = digest(&p);
    let marker = || psql(&p, "postgres", "SELECT to_regclass('marker') IS NOT NULL");
    for held in ["postgres", "shop"] {
        sql(&p, "DELETE FROM items WHERE id > 100");
        let old = digest(&p);
        psql(&p, "postgres", "CREATE TABLE IF NOT EXISTS marker (x int)");
        let prepare = ["exec", "-T", "db", "--", "psql", "-U", "devenv", "-d", held, "-c", "BEGIN", "-c", "CREATE TABLE held (x int)", "-c", "PREPARE TRANSACTION 'hold'"];
        dv(&p, &prepare).ok();
        let r = dv(&p, &["reset"]);
        r.code(1).stderr_has("nothing was changed").stderr_has("prepared transaction").stderr_has("ROLLBACK PREPARED 'hold'").stderr_has("see: README.md#snapshots");
        assert_eq!(digest(&p), old, "`shop` kept its rows with `{held}` held");
        assert_eq!(marker(), "t", "`postgres` was not swapped either with `{held}` held");
        assert_eq!(user_databases(&p), "postgres,shop");
        psql(&p, held, "ROLLBACK PREPARED 'hold'");
        dv(&p, &["reset"]).ok();
        assert_eq!(digest(&p), seeded);
        assert_eq!(marker(), "f", "`postgres` is the seeded one again");
    }
}

#[test]
fn run_snapshot_restores_before_the_command_and_two_parallel_runs_do_not_interfere() {
    if !docker_ready() {
        return;
    }
    let p = Project::new("reset-run", STACK);
    let _snaps = Snapshots::of(&p);
    seed_files(&p);
    dv(&p, &["up", "-d"]).ok();
    sql(&p, "DELETE FROM items WHERE id > 10");
    dv(&p, &["snapshot", "save", "ten"]).ok();
    dv(&p, &["down", "-v", "-t", "1"]).ok();

    // Each run: its own project, random ports, the same snapshot; it counts
    // the rows, then deletes them all (the other run must not notice).
    let bin = bin();
    let script = format!(
        "q() {{ '{bin}' -p \"$P\" exec -T db -- psql -U devenv -d shop -tAc \"$1\"; }}; n=$(q 'SELECT count(*) FROM items'); sleep 1; q 'DELETE FROM items' >/dev/null; echo rows=$n",
        bin = bin.display()
    );
    let from = format!("{}/ten", p.name);
    let children: Vec<_> = ["a", "b"]
        .iter()
        .map(|s| {
            let project = format!("{}-{s}", p.name);
            let child = p
                .cmd(&["-p", &project, "--ports", "random", "run", "--snapshot", &from, "--", "sh", "-c", &script])
                .env("P", &project)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn");
            (project, child)
        })
        .collect();
    for (project, child) in children {
        let out = Run::from(child.wait_with_output().expect("wait"));
        out.ok().stdout_has("rows=10").stderr_has(&format!("restored snapshot `{from}`: db"));
        let left = Command::new("docker").args(["ps", "-aq", "--filter", &format!("label=dev.devenv.project={project}")]).output().expect("docker");
        assert!(left.stdout.is_empty(), "run {project} tore down");
    }
    // The snapshot itself is untouched.
    dv(&p, &["up", "-d"]).ok();
    dv(&p, &["snapshot", "restore", "ten"]).ok();
    assert!(digest(&p).starts_with("10:"));
    dv(&p, &["run", "--snapshot", "nope", "--", "true"]).code(2).stderr_has("no snapshot `nope`").stderr_has("snapshots: ten");
}

/// The example envs/reset-between-tests: a Rust suite calling `reset()`
/// between its tests, through the library.
#[test]
fn the_example_suite_resets_between_tests() {
    if !docker_ready() {
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("envs/reset-between-tests");
    let project = format!("it-reset-example-{}", std::process::id());
    let _snaps = Snapshots(project.to_string());
    let map = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/images/map.yaml");
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let resets = rt.block_on(example_suite::suite(&dir.join("devenv.yaml"), &project, &map));
    assert_eq!(resets.len(), 6);
    eprintln!("Running::reset(): {:?}", resets.iter().map(|d| d.as_millis()).collect::<Vec<_>>());
    let left = Command::new("docker").args(["ps", "-aq", "--filter", &format!("label=dev.devenv.project={project}")]).output().expect("docker");
    assert!(left.stdout.is_empty(), "down removed the containers");
}

/// Seeding that takes 10 s or more gets a volume copy in its seeded
/// snapshot; a new volume (after `down -v`) is then filled from it instead of
/// seeding again — the seeded rows back, nothing added since, no seed re-run.
#[test]
fn a_new_volume_is_filled_from_the_seeded_snapshot_instead_of_seeding() {
    if !docker_ready() {
        return;
    }
    let yaml = "name: {project}\nservices:\n  db:\n    preset: postgres\n    env: {POSTGRES_DB: shop}\n    seed:\n      - sql: seed.sql\n      - exec: [sh, -c, \"sleep 10\"]\n";
    let p = Project::new("reset-fill", yaml);
    let _snaps = Snapshots::of(&p);
    // `seeded_at`: when the seeds ran — a seeding run again would change it.
    p.write("seed.sql", "CREATE TABLE items (id int PRIMARY KEY, name text);\nINSERT INTO items VALUES (1, 'a'), (2, 'b');\nCREATE TABLE seeded_at AS SELECT clock_timestamp() AS at;\n");
    dv(&p, &["up", "-d"]).ok().stderr_has(" seeding ").stderr_has("kept its seeded snapshot (inside the server, and a volume copy");
    let seeded = digest(&p);
    let seeded_at = sql(&p, "SELECT at FROM seeded_at");
    sql(&p, "INSERT INTO items VALUES (3, 'after the seeding')");

    dv(&p, &["down", "-v"]).ok();
    let up = dv(&p, &["up", "-d"]);
    up.ok().stderr_has("new volume filled from its seeded snapshot");
    assert!(!up.stderr.contains(" seeding "), "the seeds ran again:\n{}", up.stderr);
    assert_eq!(sql(&p, "SELECT at FROM seeded_at"), seeded_at, "the seeds did not run again");
    assert_eq!(digest(&p), seeded, "the seeded rows, nothing added since");
    dv(&p, &["reset", "db"]).ok();
    assert_eq!(digest(&p), seeded);
}
