//! Hot reload: `devenv watch` as a background process against real containers.

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::harness::*;

/// `devenv watch …` running in the background; killed (and reaped) on drop.
struct Watch {
    child: Child,
    log: std::path::PathBuf,
}

impl Watch {
    fn start(p: &Project, args: &[&str]) -> Watch {
        let mut all = vec!["watch"];
        all.extend_from_slice(args);
        Watch::spawn(p, &all)
    }

    /// Any devenv command that ends up watching (`watch …`, `up --watch …`).
    fn spawn(p: &Project, all: &[&str]) -> Watch {
        let log = p.dir.path().join(format!("watch-{}.log", all.join("_")));
        let file = std::fs::File::create(&log).expect("log file");
        let child = p.cmd(all).stdout(Stdio::null()).stderr(file).spawn().expect("spawn devenv");
        let w = Watch { child, log };
        w.wait_log("watching", Duration::from_secs(30));
        w
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    #[track_caller]
    fn wait_log(&self, needle: &str, timeout: Duration) {
        let t0 = Instant::now();
        while t0.elapsed() < timeout {
            if self.log().contains(needle) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("`devenv watch` never printed {needle:?}:\n{}", self.log());
    }

    /// SIGINT (Ctrl-C); returns the exit code.
    fn interrupt(mut self) -> i32 {
        // SAFETY: signalling our own child process by its id.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code().unwrap_or(-1);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        -1
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn cat(p: &Project, svc: &str, path: &str) -> Option<String> {
    let r = p.run(&["exec", "-T", svc, "--", "cat", path]);
    (r.code == 0).then_some(r.stdout)
}

#[track_caller]
fn eventually(what: &str, w: &Watch, mut cond: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(20) {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out waiting for: {what}\nwatch log:\n{}", w.log());
}

#[test]
fn sync_add_modify_delete_nested_and_ignored() {
    if !docker_ready() {
        return;
    }
    let yaml = format!(
        r#"name: {{project}}
services:
  app:
    image: {APP}
    command: [sleep, "1000"]
    watch:
      - path: ./src
        target: /app/src
        ignore: ["*.tmp", "cache"]
  built:
    build: ./ctx
    command: [sleep, "1000"]
    watch:
      - path: ./ctx/src
        target: /srv
"#
    );
    let p = Project::new("watch-sync", &yaml);
    p.write("src/keep.txt", "kept");
    p.write("ctx/Dockerfile", &format!("FROM {APP}\nRUN mkdir -p /srv\n"));
    p.write("ctx/.dockerignore", "**/*.secret\n");
    p.write("ctx/src/page.html", "v0");
    p.run(&["up", "-d"]).ok();

    // Changed while nobody watched: synced when watching starts.
    std::thread::sleep(Duration::from_millis(1100));
    p.write("src/offline.txt", "while away");
    let w = Watch::start(&p, &[]);
    eventually("initial sync of offline.txt", &w, || cat(&p, "app", "/app/src/offline.txt").as_deref() == Some("while away"));
    assert!(w.log().contains("app: initial sync"), "{}", w.log());

    // Add, modify, nested directories.
    p.write("src/new.txt", "one");
    eventually("new.txt synced", &w, || cat(&p, "app", "/app/src/new.txt").as_deref() == Some("one"));
    p.write("src/new.txt", "two");
    eventually("new.txt modified", &w, || cat(&p, "app", "/app/src/new.txt").as_deref() == Some("two"));
    p.write("src/d1/d2/d3/deep.txt", "deep");
    eventually("nested file synced", &w, || cat(&p, "app", "/app/src/d1/d2/d3/deep.txt").as_deref() == Some("deep"));
    // Permissions are kept.
    {
        use std::os::unix::fs::PermissionsExt;
        p.write("src/run.sh", "#!/bin/sh\necho ran\n");
        std::fs::set_permissions(p.dir.path().join("src/run.sh"), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    eventually("executable synced", &w, || p.run(&["exec", "-T", "app", "--", "/app/src/run.sh"]).stdout.contains("ran"));

    // Delete a file and a directory.
    std::fs::remove_file(p.dir.path().join("src/new.txt")).expect("rm");
    std::fs::remove_dir_all(p.dir.path().join("src/d1")).expect("rm -r");
    eventually("deletions propagated", &w, || {
        p.run(&["exec", "-T", "app", "--", "test", "-e", "/app/src/new.txt"]).code == 1 && p.run(&["exec", "-T", "app", "--", "test", "-e", "/app/src/d1"]).code == 1
    });

    // Ignored files never reach the container: ignore globs, editor temp files, .dockerignore.
    p.write("src/scratch.tmp", "no");
    p.write("src/cache/blob", "no");
    p.write("src/.keep.txt.swp", "no");
    p.write("src/4913", "no");
    p.write("src/notes.txt~", "no");
    p.write("ctx/src/key.secret", "no");
    p.write("ctx/src/page.html", "v1");
    p.write("src/marker.txt", "after the ignored ones");
    eventually("marker synced", &w, || cat(&p, "app", "/app/src/marker.txt").is_some());
    eventually("built: page synced", &w, || cat(&p, "built", "/srv/page.html").as_deref() == Some("v1"));
    std::thread::sleep(Duration::from_millis(300));
    for f in ["scratch.tmp", "cache", ".keep.txt.swp", "4913", "notes.txt~"] {
        let r = p.run(&["exec", "-T", "app", "--", "test", "-e", &format!("/app/src/{f}")]);
        assert_eq!(r.code, 1, "{f} reached the container\n{}", w.log());
    }
    assert_eq!(p.run(&["exec", "-T", "built", "--", "test", "-e", "/srv/key.secret"]).code, 1, "a .dockerignored file reached the container");
    assert!(w.log().contains("app: synced"), "{}", w.log());

    // Ctrl-C ends watching cleanly.
    assert_eq!(w.interrupt(), 0);
}

#[test]
fn restart_rule_restarts_and_a_stopped_service_is_reported() {
    if !docker_ready() {
        return;
    }
    let yaml = format!(
        r#"name: {{project}}
services:
  app:
    image: {APP}
    command: [sleep, "1000"]
    watch:
      - path: ./conf
        target: /etc/app
        action: restart
  other:
    image: {APP}
    command: [sleep, "1000"]
    watch:
      - path: ./other
        target: /other
        exec: [sh, -c, "echo reloaded > /tmp/reloaded"]
"#
    );
    let p = Project::new("watch-restart", &yaml);
    p.write("conf/app.ini", "a=1");
    p.write("other/x", "x");
    p.run(&["up", "-d", "app"]).ok();
    let name = format!("{}-app", p.name);
    let started = inspect(&name, "{{.State.StartedAt}}");
    let w = Watch::start(&p, &[]);
    // `other` has no container: said clearly, and app is still watched.
    w.wait_log("other: no running container", Duration::from_secs(10));
    p.write("conf/app.ini", "a=2");
    eventually("restarted", &w, || inspect(&name, "{{.State.StartedAt}}") != started);
    w.wait_log("app: restarted, ready", Duration::from_secs(20));
    assert_eq!(cat(&p, "app", "/etc/app/app.ini").as_deref(), Some("a=2"));
    assert_eq!(inspect(&name, "{{.State.Running}}"), "true");

    // Start `other`: its rule works once it runs, with its exec.
    p.run(&["up", "-d", "other"]).ok();
    p.write("other/x", "y");
    eventually("other synced", &w, || cat(&p, "other", "/other/x").as_deref() == Some("y"));
    eventually("exec ran", &w, || cat(&p, "other", "/tmp/reloaded").is_some());
}

#[test]
fn rebuild_rule_rebuilds_the_image() {
    if !docker_ready() {
        return;
    }
    let yaml = r#"name: {project}
services:
  app:
    build: ./app
    watch:
      - path: ./app
        action: rebuild
"#;
    let p = Project::new("watch-rebuild", yaml);
    p.write("app/Dockerfile", &format!("FROM {APP}\nCOPY msg.txt /msg.txt\nCMD [\"sleep\", \"1000\"]\n"));
    p.write("app/msg.txt", "first");
    p.run(&["up", "-d"]).ok();
    assert_eq!(cat(&p, "app", "/msg.txt").as_deref(), Some("first"));
    let w = Watch::start(&p, &[]);
    p.write("app/msg.txt", "second");
    eventually("rebuilt with new content", &w, || cat(&p, "app", "/msg.txt").as_deref() == Some("second"));
    w.wait_log("app: rebuilt and recreated", Duration::from_secs(30));
    let _ = p.run(&["down", "-t", "1"]);
    let _ = std::process::Command::new("docker").args(["rmi", "-f", &format!("{}-app:devenv", p.name)]).output();
}

#[test]
fn config_edit_recreates_only_the_edited_service() {
    if !docker_ready() {
        return;
    }
    let yaml = format!(
        r#"name: {{project}}
services:
  a:
    image: {APP}
    command: [sleep, "1000"]
    env: {{GREETING: one}}
    watch:
      - path: ./src
        target: /src
  b:
    image: {APP}
    command: [sleep, "1000"]
"#
    );
    let p = Project::new("watch-config", &yaml);
    p.write("src/x", "x");
    p.run(&["up", "-d"]).ok();
    let (a, b) = (format!("{}-a", p.name), format!("{}-b", p.name));
    let (a_id, b_id) = (inspect(&a, "{{.Id}}"), inspect(&b, "{{.Id}}"));
    let w = Watch::start(&p, &[]);
    p.write("devenv.yaml", &yaml.replace("{project}", &p.name).replace("GREETING: one", "GREETING: two"));
    eventually("a recreated", &w, || {
        let id = inspect(&a, "{{.Id}}");
        !id.is_empty() && id != a_id && inspect(&a, "{{.State.Running}}") == "true"
    });
    assert_eq!(inspect(&b, "{{.Id}}"), b_id, "b was touched\n{}", w.log());
    assert!(p.run(&["exec", "-T", "a", "--", "sh", "-c", "echo $GREETING"]).stdout.contains("two"));
    // Still syncing into the new container.
    p.write("src/x", "after");
    eventually("synced into the recreated container", &w, || cat(&p, "a", "/src/x").as_deref() == Some("after"));
}

#[test]
fn bad_watch_rules_are_config_errors() {
    let p = Project::new("watch-bad", "services:\n  app:\n    image: x\n    watch:\n      - path: ../outside\n        target: /app\n");
    p.run(&["config"]).code(2).stderr_has("outside the project").stderr_has("watch[0].path");
    p.write("devenv.yaml", "services:\n  app:\n    image: x\n    watch:\n      - path: .\n        target: /app\n        action: sink\n");
    p.run(&["config"]).code(2).stderr_has("did you mean `sync`?");
    p.write("devenv.yaml", "services:\n  app:\n    image: x\n    watch:\n      - path: .\n        target: app\n");
    p.run(&["config"]).code(2).stderr_has("absolute path");
    p.write("devenv.yaml", "services:\n  app:\n    image: x\n    watch:\n      - path: .\n        action: rebuild\n");
    p.run(&["config"]).code(2).stderr_has("needs a service with `build`");
}

/// `devenv up --watch`: starts the services, then follows their `watch:` rules;
/// Ctrl-C stops watching only — the services keep running (README, Hot reload).
#[test]
fn up_watch_starts_then_syncs_and_ctrl_c_leaves_services_running() {
    if !docker_ready() {
        return;
    }
    let yaml = format!(
        r#"name: {{project}}
services:
  app:
    image: {APP}
    command: [sleep, "1000"]
    watch:
      - path: ./src
        target: /app/src
"#
    );
    let p = Project::new("up-watch", &yaml);
    p.write("src/index.txt", "v1");
    // Not started before: `up --watch` brings it up, then watches.
    let w = Watch::spawn(&p, &["up", "--watch"]);
    assert!(w.log().contains("ready"), "up first, then watch:\n{}", w.log());
    p.write("src/index.txt", "v2");
    eventually("the edit is synced", &w, || cat(&p, "app", "/app/src/index.txt").as_deref() == Some("v2"));
    let log = w.log.clone();
    assert_eq!(w.interrupt(), 0, "Ctrl-C ends `up --watch` with exit 0");
    let log = std::fs::read_to_string(log).unwrap_or_default();
    let containers = p.docker_objects("container");
    assert_eq!(containers.len(), 1, "{containers:?}");
    assert_eq!(inspect(&containers[0], "{{.State.Running}}"), "true", "the service keeps running after Ctrl-C:\n{log}");
}
