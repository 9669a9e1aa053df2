//! `devenv snapshot export|import` and `devenv gc` of torn snapshots against
//! the real engine (issue 17, items 6–7): a round trip through a file, a
//! truncated or corrupted file refused with nothing created, a name that
//! exists, a snapshot of another project; a `save` killed mid-copy is never
//! listed and `gc` removes its pieces; complete snapshots only go with
//! `gc --snapshots`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::*;


fn sh(p: &Project, service: &str, script: &str) -> String {
    let r = dv(p, &["exec", "-T", service, "--", "sh", "-c", script]);
    r.ok();
    r.stdout.trim().to_string()
}

fn names(p: &Project) -> Vec<String> {
    let r = dv(p, &["snapshot", "ls", "--json"]);
    r.ok();
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("ls --json");
    v.as_array().expect("array").iter().filter_map(|s| s["name"].as_str().map(str::to_string)).collect()
}

const FILES: &str = "name: {project}\nservices:\n  files:\n    image: devenv-test/app:1\n    command: [sleep, infinity]\n    volumes: [\"blob:/blob\"]\nvolumes:\n  blob:\n";

/// What the blob volume holds, ownership and links included.
const LISTING: &str = "cd /blob && find . | sort | while read f; do stat -c '%n %u:%g %a %h %F' \"$f\"; done; cat d/f; readlink l";

#[test]
fn export_import_round_trip_and_a_damaged_file_creates_nothing() {
    if !docker_ready() {
        return;
    }
    let p = Project::new("shexp", FILES);
    let snaps = Snapshots::of(&p);
    dv(&p, &["up", "-d"]).ok();
    sh(&p, "files", "mkdir -p /blob/d && echo hello > /blob/d/f && chown 123:456 /blob/d/f && chmod 600 /blob/d/f && ln -s d/f /blob/l && ln /blob/d/f /blob/hard && head -c 300000 /dev/urandom > /blob/r");
    let saved = sh(&p, "files", LISTING);
    dv(&p, &["snapshot", "save", "base"]).ok();
    let file = p.dir.path().join("base.tgz");
    let f = file.to_str().expect("utf-8 path");
    dv(&p, &["snapshot", "export", "base", "-o", f]).ok().stderr_has("exported snapshot `base`").stderr_has("sha256 ");
    assert!(!Path::new(&format!("{f}.partial")).exists());
    // The manifest says what it is, readable with tar alone.
    let manifest = Command::new("tar").args(["xzOf", f, "devenv-snapshot/manifest.json"]).output().expect("tar");
    let m: serde_json::Value = serde_json::from_slice(&manifest.stdout).expect("manifest json");
    assert_eq!((m["project"].as_str(), m["snapshot"].as_str()), (Some(p.name.as_str()), Some("base")), "{m}");
    assert_eq!(m["services"]["files"]["image"], "devenv-test/app:1", "{m}");
    assert_eq!(m["volumes"][0]["target"], "/blob", "{m}");
    assert!(m["volumes"][0]["bytes"].as_u64().unwrap_or(0) >= 300_006, "{m}");

    // Imported under another name, restored: the volume is as it was saved.
    dv(&p, &["snapshot", "import", f, "--name", "copy"]).ok().stderr_has("imported snapshot `copy`");
    sh(&p, "files", "rm -rf /blob/* && echo other > /blob/x");
    dv(&p, &["snapshot", "restore", "copy"]).ok();
    assert_eq!(sh(&p, "files", LISTING), saved);

    // A name that exists: refused, nothing changes; --force replaces it.
    let before = snaps.volumes();
    dv(&p, &["snapshot", "import", f]).code(2).stderr_has("snapshot `base` exists").stderr_has("--force");
    assert_eq!(snaps.volumes(), before);
    dv(&p, &["snapshot", "import", f, "--force"]).ok();
    assert_eq!(names(&p), ["base", "copy"]);

    // Truncated, or one byte flipped: the checksum fails, nothing is created.
    let bytes = std::fs::read(&file).expect("read export");
    let cut = p.dir.path().join("cut.tgz");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).expect("write");
    let mut flipped = bytes.clone();
    let at = bytes.len() / 2;
    flipped[at] ^= 0x01;
    let flip = p.dir.path().join("flip.tgz");
    std::fs::write(&flip, &flipped).expect("write");
    for bad in [&cut, &flip] {
        let r = dv(&p, &["snapshot", "import", bad.to_str().expect("utf-8"), "--name", "bad"]);
        r.code(2).stderr_has("failed its checksum").stderr_has("nothing was created");
        assert_eq!(snaps.volumes(), before, "{}", r.stderr);
    }
    assert_eq!(names(&p), ["base", "copy"]);

    // Export of a name that does not exist lists those that do; no file is left.
    let none = p.dir.path().join("none.tgz");
    dv(&p, &["snapshot", "export", "nope", "-o", none.to_str().expect("utf-8")]).code(2).stderr_has("no snapshot `nope`").stderr_has("snapshots: base, copy");
    assert!(!none.exists() && !p.dir.path().join("none.tgz.partial").exists());

    // `-o -`: the same kind of file on standard output.
    let out = p.cmd(&["snapshot", "export", "copy", "-o", "-"]).env("DEVENV_PORTS", "random").stderr(Stdio::null()).output().expect("run");
    assert!(out.status.success());
    let piped = p.dir.path().join("piped.tgz");
    std::fs::write(&piped, &out.stdout).expect("write");
    dv(&p, &["snapshot", "import", piped.to_str().expect("utf-8"), "--name", "piped"]).ok();
    assert!(names(&p).contains(&"piped".to_string()));
}

#[test]
fn a_snapshot_of_another_project_is_imported_only_when_named() {
    if !docker_ready() {
        return;
    }
    let a = Project::new("shfrom", FILES);
    let _sa = Snapshots::of(&a);
    let b = Project::new("shto", FILES);
    let sb = Snapshots::of(&b);
    dv(&a, &["up", "-d"]).ok();
    sh(&a, "files", "echo from-a > /blob/a");
    dv(&a, &["snapshot", "save", "seeded"]).ok();
    let file = a.dir.path().join("seeded.tgz");
    let f = file.to_str().expect("utf-8");
    dv(&a, &["snapshot", "export", "seeded", "-o", f]).ok();

    let r = dv(&b, &["snapshot", "import", f]);
    r.code(2).stderr_has(&format!("snapshot of project `{}`; this is project `{}`", a.name, b.name)).stderr_has(&format!("--from-project {}", a.name));
    assert!(sb.volumes().is_empty(), "refused import created {:?}", sb.volumes());
    dv(&b, &["snapshot", "import", f, "--from-project", "someone-else"]).code(2);
    assert!(sb.volumes().is_empty());
    dv(&b, &["snapshot", "import", f, "--from-project", &a.name]).ok();
    assert_eq!(names(&b), ["seeded"]);
    dv(&b, &["up", "-d"]).ok();
    dv(&b, &["snapshot", "restore", "seeded"]).ok();
    assert_eq!(sh(&b, "files", "cat /blob/a"), "from-a");
}

/// `docker ps` ids of the project's snapshot copy helpers (`-a`: any state).
fn helpers(p: &Project, all: bool) -> Vec<String> {
    let project = format!("label=dev.devenv.project={}", p.name);
    let mut args = vec!["ps", "-q", "--filter", &project, "--filter", "label=dev.devenv.role=snapshot-copy"];
    if all {
        args.push("-a");
    }
    let out = Command::new("docker").args(&args).output().expect("docker");
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect()
}

#[test]
fn a_save_killed_mid_copy_is_never_listed_and_gc_removes_its_pieces() {
    if !docker_ready() {
        return;
    }
    let p = Project::new("shtorn", FILES);
    let snaps = Snapshots::of(&p);
    dv(&p, &["up", "-d"]).ok();
    dv(&p, &["snapshot", "save", "keep"]).ok();
    // ~120 MB in 2400 files: the copy takes long enough to kill devenv during it.
    sh(&p, "files", "mkdir -p /blob/a && head -c 120000000 /dev/urandom | split -b 50000 -a 4 - /blob/a/x");
    let mut child = p.cmd(&["snapshot", "save", "torn"]).env("DEVENV_PORTS", "random").stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("spawn");
    let t0 = Instant::now();
    while helpers(&p, false).is_empty() {
        assert!(t0.elapsed() < Duration::from_secs(60), "no copy helper seen");
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().expect("kill -9");
    let _ = child.wait();
    assert!(!snaps.of_snapshot("torn").is_empty(), "the killed save left its data volume");
    assert_eq!(names(&p), ["keep"], "a torn snapshot is never listed");

    // The copy runs on in the engine; gc leaves it alone until it is done.
    let t0 = Instant::now();
    while !helpers(&p, false).is_empty() {
        assert!(t0.elapsed() < Duration::from_secs(120), "the copy helper never finished");
        std::thread::sleep(Duration::from_millis(100));
    }
    dv(&p, &["-p", &p.name, "gc", "--dry-run"]).ok().stderr_has("would remove snapshot `torn`");
    assert!(!snaps.of_snapshot("torn").is_empty(), "--dry-run removed something");
    dv(&p, &["-p", &p.name, "gc"]).ok().stderr_has("removed snapshot `torn`").stderr_has("did not finish");
    assert!(snaps.of_snapshot("torn").is_empty(), "left: {:?}", snaps.volumes());
    assert!(helpers(&p, true).is_empty(), "the dead save's helper is left");

    // A complete snapshot stays, even once its project is gone; --snapshots takes it then.
    dv(&p, &["down", "-v"]).ok();
    dv(&p, &["-p", &p.name, "gc"]).ok();
    assert_eq!(snaps.of_snapshot("keep").len(), 2, "{:?}", snaps.volumes());
    dv(&p, &["-p", &p.name, "gc", "--snapshots"]).ok().stderr_has("removed snapshot `keep`");
    assert!(snaps.volumes().is_empty(), "left: {:?}", snaps.volumes());
}

/// A client connected to Postgres (an open `psql` session) does not hold a
/// restore up: the fast shutdown ends its session, the restore completes, and
/// a new connection sees the snapshot's data.
#[test]
fn restore_while_a_client_holds_a_connection() {
    if !docker_ready() {
        return;
    }
    let p = Project::new("shconn", "name: {project}\nservices:\n  db:\n    preset: postgres\n");
    let _snaps = Snapshots::of(&p);
    let db = p.name.replace('-', "_");
    let psql = |q: &str| {
        let r = dv(&p, &["exec", "-T", "db", "--", "psql", "-U", "devenv", "-d", &db, "-tAc", q]);
        r.ok();
        r.stdout.trim().to_string()
    };
    dv(&p, &["up", "-d"]).ok();
    psql("CREATE TABLE t (x int); INSERT INTO t VALUES (1)");
    dv(&p, &["snapshot", "save", "base"]).ok();
    psql("INSERT INTO t VALUES (2)");

    // A session that stays open (its stdin is ours) and holds a transaction.
    let mut client = p.cmd(&["exec", "-T", "db", "--", "psql", "-U", "devenv", "-d", &db]).env("DEVENV_PORTS", "random").stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("psql");
    let mut stdin = client.stdin.take().expect("stdin");
    std::io::Write::write_all(&mut stdin, b"BEGIN; SELECT 'connected', count(*) FROM t;\n").expect("write");
    let t0 = Instant::now();
    loop {
        let held = psql("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle in transaction'");
        if held == "1" {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(30), "the client never connected");
        std::thread::sleep(Duration::from_millis(100));
    }

    let t0 = Instant::now();
    dv(&p, &["snapshot", "restore", "base"]).ok().stderr_has("restored snapshot `base`");
    assert!(t0.elapsed() < Duration::from_secs(60), "the restore waited on the client: {:?}", t0.elapsed());
    assert_eq!(psql("SELECT string_agg(x::text, ',') FROM t"), "1");
    // The held session was ended (inside the server its backend is
    // terminated; on the volume path the server shuts down), not left
    // dangling: its next statement finds the connection gone, and a psql
    // reading a pipe exits then instead of reconnecting.
    let _ = std::io::Write::write_all(&mut stdin, b"SELECT 'still here';\n");
    let t0 = Instant::now();
    while client.try_wait().expect("wait").is_none() {
        assert!(t0.elapsed() < Duration::from_secs(20), "the old session is still open");
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(stdin);
    assert_eq!(psql("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle in transaction'"), "0");
}

/// The disk fills up during a save (snapshot volumes on a 1 MiB tmpfs, a test
/// hook) and during an import: each fails, says why, and leaves no snapshot
/// listed and no volume behind; the service is running again after the save.
#[test]
fn disk_full_during_save_or_import_leaves_no_half_snapshot() {
    if !docker_ready() {
        return;
    }
    let p = Project::new("shfull", FILES);
    let snaps = Snapshots::of(&p);
    dv(&p, &["up", "-d"]).ok();
    sh(&p, "files", "head -c 4000000 /dev/urandom > /blob/big");
    let full = |args: &[&str]| Run::from(p.cmd(args).env("DEVENV_PORTS", "random").env("DEVENV_TEST_SNAPSHOT_TMPFS", "1m").output().expect("run"));
    let r = full(&["snapshot", "save", "big"]);
    assert_ne!(r.code, 0, "{}", r.stderr);
    r.stderr_has("No space left on device");
    assert!(snaps.volumes().is_empty(), "left: {:?}", snaps.volumes());
    assert!(names(&p).is_empty());
    assert_eq!(sh(&p, "files", "wc -c < /blob/big"), "4000000", "the service runs again, its data untouched");

    dv(&p, &["snapshot", "save", "big"]).ok();
    let file = p.dir.path().join("big.tgz");
    let f = file.to_str().expect("utf-8");
    dv(&p, &["snapshot", "export", "big", "-o", f]).ok();
    let r = full(&["snapshot", "import", f, "--name", "again"]);
    assert_ne!(r.code, 0, "{}", r.stderr);
    r.stderr_has("no space left on device");
    assert_eq!(snaps.volumes(), snaps.of_snapshot("big"), "the failed import left volumes");
    assert_eq!(names(&p), ["big"]);
}

/// Ctrl-C while an import copies: exit 130, and what it had made (volumes,
/// helper containers) is removed — nothing listed, nothing left.
#[test]
fn ctrl_c_during_import_leaves_nothing() {
    if !docker_ready() {
        return;
    }
    let p = Project::new("shint", FILES);
    let snaps = Snapshots::of(&p);
    dv(&p, &["up", "-d"]).ok();
    sh(&p, "files", "mkdir -p /blob/a && head -c 60000000 /dev/urandom | split -b 50000 -a 4 - /blob/a/x");
    dv(&p, &["snapshot", "save", "s"]).ok();
    let file = p.dir.path().join("s.tgz");
    let f = file.to_str().expect("utf-8");
    dv(&p, &["snapshot", "export", "s", "-o", f]).ok();
    let before = snaps.volumes();

    let child = p.cmd(&["snapshot", "import", f, "--name", "t"]).env("DEVENV_PORTS", "random").stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("spawn");
    let io = |all: bool| {
        let project = format!("label=dev.devenv.project={}", p.name);
        let mut args = vec!["ps", "-q", "--filter", &project, "--filter", "label=dev.devenv.role=snapshot-io"];
        if all {
            args.push("-a");
        }
        let out = Command::new("docker").args(&args).output().expect("docker");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let t0 = Instant::now();
    while io(true).is_empty() {
        assert!(t0.elapsed() < Duration::from_secs(60), "the import never started copying");
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(300));
    let _ = Command::new("kill").args(["-INT", &child.id().to_string()]).status();
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert_eq!(snaps.volumes(), before, "{stderr}");
    assert!(io(true).is_empty(), "helpers left");
    assert_eq!(names(&p), ["s"]);
}
