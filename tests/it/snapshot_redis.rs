//! Redis snapshots inside the server (issue 17): a save copies database 0
//! into a template database, a restore is `SWAPDB` with a ready spare — no
//! restart, the client's connection kept; where the server holds data this
//! path cannot copy (keys in another database), the volume is copied instead.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use crate::harness::*;

const STACK: &str = "name: {project}\nservices:\n  cache:\n    preset: redis\n    persist: true\n    seed:\n      - redis: seed.redis\n";

fn redis(p: &Project, args: &[&str]) -> String {
    let mut a = vec!["exec", "-T", "cache", "--", "redis-cli"];
    a.extend_from_slice(args);
    let r = dv(p, &a);
    r.ok();
    r.stdout.trim().to_string()
}

fn started(p: &Project) -> String {
    let out = Command::new("docker")
        .args(["ps", "-q", "--filter", &format!("label=dev.devenv.project={}", p.name), "--filter", "label=dev.devenv.service=cache"])
        .output()
        .expect("docker");
    inspect(String::from_utf8_lossy(&out.stdout).trim(), "{{.State.StartedAt}}")
}

#[test]
fn a_redis_restore_swaps_database_0_back_without_a_restart() {
    if !docker_ready() {
        return;
    }
    let p = Project::new("snap-redis", STACK);
    let _snaps = Snapshots::of(&p);
    let seed: String = (0..2000).map(|i| format!("SET k{i} v{i}\n")).collect::<String>() + "RPUSH list a b c\nHSET h f 1\n";
    p.write("seed.redis", &seed);
    dv(&p, &["up", "-d"]).ok();
    dv(&p, &["snapshot", "save", "base"]).ok();
    let at = started(&p);

    // A client connected to database 0 through the restores sees the restored data.
    let mut client = p.cmd(&["exec", "-T", "cache", "--", "redis-cli"]).env("DEVENV_PORTS", "random").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("redis-cli");
    let mut input = client.stdin.take().expect("stdin");
    let mut output = BufReader::new(client.stdout.take().expect("stdout"));
    let mut ask = |cmd: &str| {
        writeln!(input, "{cmd}").expect("write");
        let mut line = String::new();
        output.read_line(&mut line).expect("read");
        line.trim().to_string()
    };
    for round in 0..2 {
        assert_eq!(ask("SET k1 changed"), "OK");
        redis(&p, &["DEL", "k2", "list"]);
        redis(&p, &["SET", "new", "x"]);
        redis(&p, &["HSET", "h", "g", "2"]);
        dv(&p, &["snapshot", "restore", "base"]).ok().stderr_has("restored snapshot `base`: cache");
        assert_eq!(ask("GET k1"), "v1", "round {round}: the held connection sees the restored data");
        assert_eq!(redis(&p, &["DBSIZE"]), "2002");
        assert_eq!(redis(&p, &["GET", "k2"]), "v2");
        assert_eq!(redis(&p, &["LRANGE", "list", "0", "-1"]), "a\nb\nc");
        assert_eq!(redis(&p, &["HGETALL", "h"]), "f\n1");
        assert_eq!(redis(&p, &["EXISTS", "new"]), "0");
        assert_eq!(started(&p), at, "round {round}: no restart");
    }
    drop(input);
    let _ = client.wait();

    // A spare lost (its copy cut short): the restore copies the template itself, still in the server.
    let registry = redis(&p, &["-n", "15", "HGETALL", "__devenv:snapshots"]);
    let lines: Vec<&str> = registry.lines().collect();
    let spare = lines.chunks(2).find(|kv| kv.get(1).is_some_and(|v| v.starts_with("spare base@"))).map(|kv| kv[0].to_string());
    let spare = spare.unwrap_or_else(|| panic!("no spare of `base` in the registry: {registry}"));
    redis(&p, &["-n", &spare, "FLUSHDB"]);
    redis(&p, &["SET", "k1", "changed"]);
    dv(&p, &["snapshot", "restore", "base"]).ok();
    assert_eq!(redis(&p, &["GET", "k1"]), "v1");
    assert_eq!(redis(&p, &["DBSIZE"]), "2002");
    assert_eq!(started(&p), at, "no restart");

    // The seeded snapshot is kept inside the server too: `reset` swaps it back.
    redis(&p, &["FLUSHDB"]);
    dv(&p, &["reset", "cache"]).ok();
    assert_eq!(redis(&p, &["DBSIZE"]), "2002");
    assert_eq!(started(&p), at, "reset without a restart");

    // A FLUSHALL empties the copies too: `reset` seeds again (and keeps a new seeded snapshot).
    redis(&p, &["FLUSHALL"]);
    dv(&p, &["reset", "cache"]).ok().stderr_has("seeding it again instead");
    assert_eq!(redis(&p, &["DBSIZE"]), "2002");
    redis(&p, &["SET", "k1", "changed"]);
    let again = dv(&p, &["reset", "cache"]);
    again.ok();
    assert!(!again.stderr.contains("seeding it again"), "the new seeded snapshot is used:\n{}", again.stderr);
    assert_eq!(redis(&p, &["GET", "k1"]), "v1");
    assert_eq!(started(&p), at, "no restart");

    // Keys in another database: not this path's to copy; the volume is (`base`'s
    // volume copy also holds its in-server copies, lost to the FLUSHALL above).
    redis(&p, &["-n", "3", "SET", "other", "1"]);
    redis(&p, &["SET", "k1", "changed"]);
    dv(&p, &["snapshot", "restore", "base"]).ok();
    assert_eq!(redis(&p, &["GET", "k1"]), "v1");
    assert_eq!(redis(&p, &["-n", "3", "EXISTS", "other"]), "0");
    assert_ne!(started(&p), at, "the volume path restarts the server");

    // `snapshot rm` drops its copies from the running server at once.
    redis(&p, &["-n", "3", "DEL", "other"]);
    assert!(redis(&p, &["-n", "15", "HGETALL", "__devenv:snapshots"]).contains("base@"));
    dv(&p, &["snapshot", "rm", "base"]).ok();
    let registry = redis(&p, &["-n", "15", "HGETALL", "__devenv:snapshots"]);
    assert!(!registry.contains("base@"), "{registry}");
}

/// Scripts refused (EVAL renamed away, as hardened configs do): no copy in
/// the server, and the snapshot is still saved and restored — by the volume.
#[test]
fn a_redis_that_refuses_scripts_is_snapshotted_by_its_volume() {
    if !docker_ready() {
        return;
    }
    let yaml = "name: {project}\nservices:\n  cache:\n    preset: redis\n    persist: true\n    command: [redis-server, --appendonly, \"yes\", --rename-command, EVAL, \"\"]\n";
    let p = Project::new("snap-redis-noeval", yaml);
    let _snaps = Snapshots::of(&p);
    dv(&p, &["up", "-d"]).ok();
    redis(&p, &["SET", "k", "saved"]);
    dv(&p, &["snapshot", "save", "plain"]).ok();
    assert_eq!(redis(&p, &["-n", "15", "HGETALL", "__devenv:snapshots"]), "", "no template registered");
    let at = started(&p);
    redis(&p, &["SET", "k", "changed"]);
    dv(&p, &["snapshot", "restore", "plain"]).ok();
    assert_eq!(redis(&p, &["GET", "k"]), "saved");
    assert_ne!(started(&p), at, "restored by the volume copy");
}
