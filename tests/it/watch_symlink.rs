//! Watch sync never writes through a symlink the *container* holds (issue 14
//! item 12): a directory under `target` that is a symlink in the container to
//! somewhere else is not followed — nothing is written or deleted outside
//! `target`, and the user is told.

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::harness::*;

/// `devenv watch` in the background, its stderr in a file; killed on drop.
struct Watch {
    child: Child,
    log: std::path::PathBuf,
}

impl Watch {
    fn start(p: &Project) -> Watch {
        let log = p.dir.path().join("watch.log");
        let file = std::fs::File::create(&log).expect("log file");
        let child = p.cmd(&["watch"]).stdout(Stdio::null()).stderr(file).spawn().expect("spawn devenv watch");
        let w = Watch { child, log };
        w.wait_log("watching");
        w
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    #[track_caller]
    fn wait_log(&self, needle: &str) {
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(30) {
            if self.log().contains(needle) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("`devenv watch` never printed {needle:?}:\n{}", self.log());
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `sh -c script` in the service's container: (exit code, stdout).
fn sh(p: &Project, script: &str) -> (i32, String) {
    let r = p.run(&["exec", "-T", "app", "--", "sh", "-c", script]);
    (r.code, r.stdout)
}

#[test]
fn sync_never_writes_through_a_symlink_in_the_container() {
    if !docker_ready() {
        return;
    }
    let yaml = r#"name: {project}
services:
  app:
    image: devenv-test/app:1
    command: ["sh", "-c", "mkdir -p /tmp/x /srv/site && echo precious > /tmp/x/keep.txt && ln -s /tmp/x /srv/site/sub && sleep 1000"]
    watch:
      - path: ./site
        target: /srv/site
"#;
    let p = Project::new("watch-symlink", yaml);
    p.write("site/sub/keep.txt", "old\n");
    p.write("site/top.txt", "old\n");
    p.run(&["up", "-d"]).ok();
    assert_eq!(sh(&p, "test -L /srv/site/sub && readlink /srv/site/sub"), (0, "/tmp/x\n".into()), "the container holds the symlink");

    let w = Watch::start(&p);
    p.write("site/sub/evil.txt", "through the link\n");
    w.wait_log("app: not synced");
    let log = w.log();
    assert!(log.contains("/srv/site/sub is a symlink or a file in the container"), "the user is told which path and why:\n{log}");

    let (code, listing) = sh(&p, "ls -A /tmp/x");
    assert_eq!((code, listing.as_str()), (0, "keep.txt\n"), "nothing was written under /tmp/x:\n{log}");
    assert_eq!(sh(&p, "readlink /srv/site/sub").1, "/tmp/x\n", "the container's symlink is left as it was");

    // Deleting on the host never deletes through the container's symlink either.
    std::fs::remove_file(p.dir.path().join("site/sub/keep.txt")).expect("rm");
    w.wait_log("app: not deleted: /srv/site/sub/keep.txt");
    assert_eq!(sh(&p, "cat /tmp/x/keep.txt").1, "precious\n", "the file behind the link is untouched:\n{}", w.log());

    // Files elsewhere under target still sync.
    p.write("site/top.txt", "new\n");
    let t0 = Instant::now();
    while sh(&p, "cat /srv/site/top.txt").1 != "new\n" {
        assert!(t0.elapsed() < Duration::from_secs(20), "top.txt never synced:\n{}", w.log());
        std::thread::sleep(Duration::from_millis(100));
    }
}
