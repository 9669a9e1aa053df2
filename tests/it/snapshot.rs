//! `devenv snapshot`: save, restore, ls, rm against real Postgres and Redis
//! stand-ins; snapshots survive `down -v`; an interrupted restore leaves the
//! whole snapshot in place, never a mix (issue 17).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::*;


fn sql(p: &Project, q: &str) -> String {
    let db = p.name.replace('-', "_");
    let r = dv(p, &["exec", "-T", "db", "--", "psql", "-U", "devenv", "-d", &db, "-tAc", q]);
    r.ok();
    r.stdout.trim().to_string()
}

fn redis(p: &Project, args: &[&str]) -> String {
    let mut a = vec!["exec", "-T", "cache", "--", "redis-cli"];
    a.extend_from_slice(args);
    let r = p.run(&a);
    r.ok();
    r.stdout.trim().to_string()
}

const STACK: &str = "name: {project}\nservices:\n  db:\n    preset: postgres\n    seed:\n      - sql: seed.sql\n  cache:\n    preset: redis\n    persist: true\n  api:\n    image: devenv-test/app:1\n    depends_on: {db: healthy, cache: healthy}\n";

#[test]
fn save_restore_ls_rm_and_snapshots_outlive_down_v() {
    if !docker_ready() {
        return;
    }
    let p = Project::new("snap", STACK);
    let snaps = Snapshots::of(&p);
    p.write("seed.sql", "CREATE TABLE items (id int PRIMARY KEY);\nINSERT INTO items VALUES (1), (2);\n");
    dv(&p, &["up", "-d"]).ok();
    sql(&p, "INSERT INTO items VALUES (3)");
    redis(&p, &["SET", "k", "saved"]);

    dv(&p, &["snapshot", "save", "base"]).ok().stderr_has("saved snapshot `base`: cache, db");
    let ls = dv(&p, &["snapshot", "ls", "--json"]);
    ls.ok();
    let listed: serde_json::Value = serde_json::from_str(&ls.stdout).expect("ls --json");
    assert_eq!(listed[0]["name"], "base", "{listed}");
    assert!(listed[0]["size_kib"].as_u64().unwrap_or(0) > 1000, "a Postgres data directory is several MB: {listed}");
    // The dependent kept running through the save.
    let api = Command::new("docker")
        .args(["ps", "-q", "--filter", &format!("label=dev.devenv.project={}", p.name), "--filter", "label=dev.devenv.service=api"])
        .output()
        .expect("docker");
    let api = String::from_utf8_lossy(&api.stdout).trim().to_string();
    assert_eq!(inspect(&api, "{{.State.Running}} {{.RestartCount}}"), "true 0");

    sql(&p, "DELETE FROM items");
    redis(&p, &["SET", "k", "changed"]);
    dv(&p, &["snapshot", "restore", "base"]).ok().stderr_has("restored snapshot `base`");
    assert_eq!(sql(&p, "SELECT string_agg(id::text, ',' ORDER BY id) FROM items"), "1,2,3");
    assert_eq!(redis(&p, &["GET", "k"]), "saved");

    // Snapshots are not the project's volumes: `down -v` keeps them, and a
    // fresh environment can be brought back to the saved state.
    dv(&p, &["down", "-v"]).ok();
    assert!(!snaps.volumes().is_empty(), "down -v removed the snapshot");
    dv(&p, &["up", "-d"]).ok();
    assert_eq!(sql(&p, "SELECT count(*) FROM items"), "2", "fresh volume, seeded");
    dv(&p, &["snapshot", "restore", "base", "db"]).ok();
    assert_eq!(sql(&p, "SELECT count(*) FROM items"), "3");

    // Without a name, `save` names the snapshot after the time; `list` is `ls`.
    dv(&p, &["snapshot", "save"]).ok();
    let listed = dv(&p, &["snapshot", "list", "--json"]);
    listed.ok();
    let listed: serde_json::Value = serde_json::from_str(&listed.stdout).expect("list --json");
    let names: Vec<&str> = listed.as_array().expect("array").iter().filter_map(|s| s["name"].as_str()).collect();
    let timed: Vec<&str> = names.iter().copied().filter(|n| n.len() == 15 && n.chars().enumerate().all(|(i, c)| if i == 8 { c == '-' } else { c.is_ascii_digit() })).collect();
    assert_eq!(timed.len(), 1, "one snapshot named YYYYMMDD-HHMMSS besides base: {names:?}");
    dv(&p, &["snapshot", "rm", timed[0]]).ok();

    dv(&p, &["snapshot", "restore", "nope"]).code(2).stderr_has("no snapshot `nope`").stderr_has("snapshots: base");
    dv(&p, &["snapshot", "save", "base"]).code(2).stderr_has("snapshot `base` exists");
    dv(&p, &["snapshot", "save", "Bad Name"]).code(2).stderr_has("invalid snapshot name");
    dv(&p, &["snapshot", "rm", "base"]).ok();
    assert!(snaps.volumes().is_empty(), "rm left {:?}", snaps.volumes());
    dv(&p, &["snapshot", "ls"]).ok().stdout_has("no snapshots");
}

/// A Ctrl-C in the middle of a restore does not leave a mix of old and new
/// files: the copy runs to its end, the service comes back, exit 130.
#[test]
fn ctrl_c_during_restore_leaves_the_snapshot_state_whole() {
    if !docker_ready() {
        return;
    }
    let yaml = "name: {project}\nservices:\n  files:\n    image: devenv-test/app:1\n    command: [sleep, infinity]\n    volumes: [\"blob:/blob\"]\nvolumes:\n  blob:\n";
    let p = Project::new("snapint", yaml);
    let _snaps = Snapshots::of(&p);
    dv(&p, &["up", "-d"]).ok();
    // ~120 MB in 2400 files: the copy takes long enough to be interrupted.
    let fill = "mkdir -p /blob/a && head -c 120000000 /dev/urandom | split -b 50000 -a 4 - /blob/a/x";
    dv(&p, &["exec", "-T", "files", "--", "sh", "-c", fill]).ok();
    let digest = "cd /blob && find . -type f | sort | xargs md5sum | md5sum";
    let saved = dv(&p, &["exec", "-T", "files", "--", "sh", "-c", digest]);
    saved.ok();
    dv(&p, &["snapshot", "save", "full"]).ok();
    dv(&p, &["exec", "-T", "files", "--", "sh", "-c", "rm -rf /blob/a && mkdir /blob/b && echo new > /blob/b/x"]).ok();

    let child = p.cmd(&["snapshot", "restore", "full"]).env("DEVENV_PORTS", "random").stderr(Stdio::piped()).stdout(Stdio::null()).spawn().expect("spawn");
    // Interrupt while the copy helper runs.
    let role = format!("label=dev.devenv.project={}", p.name);
    let t0 = Instant::now();
    loop {
        let helpers = Command::new("docker").args(["ps", "-q", "--filter", &role, "--filter", "label=dev.devenv.role=snapshot-copy"]).output().expect("docker");
        if !helpers.stdout.is_empty() {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(60), "no copy helper seen");
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = Command::new("kill").args(["-INT", &child.id().to_string()]).status();
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("never stopped half-way"), "{stderr}");
    let now = dv(&p, &["exec", "-T", "files", "--", "sh", "-c", digest]);
    now.ok();
    assert_eq!(now.stdout, saved.stdout, "the volume holds exactly the snapshot");
    dv(&p, &["exec", "-T", "files", "--", "test", "!", "-e", "/blob/b"]).ok();
}

/// A Redis with its append-only file on is saved as one compact image: the
/// append-only file is rewritten first (`BGREWRITEAOF`), so the copy holds an
/// RDB base and an empty increment, not every command since the start (what
/// makes a restore load fast), and the restored data is the saved data.
#[test]
fn a_redis_snapshot_holds_a_rewritten_append_only_file() {
    if !docker_ready() {
        return;
    }
    let p = Project::new("snap-aof", "name: {project}\nservices:\n  cache:\n    preset: redis\n    persist: true\n");
    let snaps = Snapshots::of(&p);
    dv(&p, &["up", "-d"]).ok();
    for i in 0..50 {
        redis(&p, &["SET", &format!("k{i}"), "saved"]);
    }
    dv(&p, &["snapshot", "save", "aof"]).ok();
    let data = snaps.of_snapshot("aof").into_iter().find(|v| v.ends_with("_0")).expect("a data volume");
    let listing = Command::new("docker")
        .args(["run", "--rm", "--network", "none", "-v", &format!("{data}:/d:ro"), "--entrypoint", "sh", REDIS, "-c"])
        .arg("cd /d/appendonlydir && for f in *; do printf '%s %s %s\\n' \"$f\" \"$(wc -c < \"$f\")\" \"$(head -c 5 \"$f\")\"; done")
        .output()
        .expect("docker run");
    let listing = String::from_utf8_lossy(&listing.stdout).to_string();
    let base = listing.lines().find(|l| l.contains(".base.rdb")).unwrap_or_else(|| panic!("no RDB base in the saved append-only dir:\n{listing}"));
    assert!(base.ends_with("REDIS"), "the base is an RDB image: {base}");
    for incr in listing.lines().filter(|l| l.contains(".incr.aof")) {
        assert!(incr.contains(".incr.aof 0"), "the increment after the rewrite is empty (the 50 SETs are in the base): {listing}");
    }
    redis(&p, &["FLUSHALL"]);
    dv(&p, &["snapshot", "restore", "aof"]).ok();
    assert_eq!(redis(&p, &["DBSIZE"]), "50");
    assert_eq!(redis(&p, &["GET", "k49"]), "saved");
}

/// When the rewrite cannot be asked for (the command renamed away, as some
/// hardened configs do), the save still copies the data as it is, and says so.
#[test]
fn a_redis_without_bgrewriteaof_is_still_saved_and_restored() {
    if !docker_ready() {
        return;
    }
    let yaml = "name: {project}\nservices:\n  cache:\n    preset: redis\n    persist: true\n    command: [redis-server, --appendonly, \"yes\", --rename-command, BGREWRITEAOF, \"\"]\n";
    let p = Project::new("snap-noaof", yaml);
    let _snaps = Snapshots::of(&p);
    dv(&p, &["up", "-d"]).ok();
    redis(&p, &["SET", "k", "saved"]);
    dv(&p, &["snapshot", "save", "plain"]).ok().stderr_has("copying the data as it is");
    redis(&p, &["SET", "k", "changed"]);
    dv(&p, &["snapshot", "restore", "plain"]).ok();
    assert_eq!(redis(&p, &["GET", "k"]), "saved");
}
