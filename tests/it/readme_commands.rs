//! The README is the truth (issue 21): every line of every ```sh / ```bash /
//! ```console block in README.md and `envs/*/README.md` is either run here —
//! in a sequence, as a user would type them, in a temp copy of the example it
//! belongs to, with the real `devenv` first on PATH against the real engine —
//! or listed in `SKIPPED` with the reason. A new README command fails
//! `every_readme_command_is_run_or_skipped` until someone runs or skips it.
//!
//! What a sequence changes from the text, and why: `DEVENV_PROJECT` (a unique
//! project, removed by label afterwards), `DEVENV_IMAGE_MAP` and
//! `PYTHON_IMAGE` (the stand-in images: no registry here), `HOME` (a temp
//! dir), and `DEVENV_PORTS=random` so parallel tests cannot collide — `curl`
//! is a shell function that asks Docker which host port the project published
//! for the port written (`127.0.0.1:8080` → the port now mapped to 8080) and
//! runs curl with `--fail`, so an HTTP error fails the command. Commands that
//! follow forever (`logs -f`, `--watch`) run for a few seconds and must still
//! be running then (Ctrl-C's job).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::*;

/// Commands not run, exactly as written (comment stripped), with the reason.
const SKIPPED: &[(&str, &str)] = &[
    ("./install.sh", "builds a release binary and installs it into ~/.cargo/bin: minutes of build; the tests run the same binary from target/"),
    ("./install.sh --root /usr/local", "installs system-wide (root); same script as ./install.sh"),
    ("git clone <this repository> devenv && cd devenv", "a placeholder URL, and no network here"),
    ("cd ~/src/your-project", "a placeholder for the reader's project; the commands after it run in the init sequence"),
    ("devenv init", "interactive (asks on a terminal); `devenv init --yes ...` runs below, and tests/it/init.rs covers the answers"),
    ("devenv snapshot save seeded", "needs a project with data; tests/it/snapshot.rs runs save/restore/ls/rm on Postgres and Redis"),
    ("devenv snapshot restore seeded", "see `devenv snapshot save seeded`"),
    ("devenv snapshot restore seeded db", "see `devenv snapshot save seeded`"),
    ("devenv snapshot ls", "see `devenv snapshot save seeded`"),
    ("devenv snapshot rm seeded", "see `devenv snapshot save seeded`"),
    ("devenv snapshot export seeded -o seeded.devenv.tgz", "needs a saved snapshot; tests/it/snapshot_share.rs runs export/import (round trip, damaged files, other project)"),
    ("devenv snapshot import seeded.devenv.tgz", "see `devenv snapshot export seeded -o seeded.devenv.tgz`"),
    ("devenv snapshot import seeded.devenv.tgz --name base", "see `devenv snapshot export seeded -o seeded.devenv.tgz`"),
    ("./test.sh", "the test suite itself (docs.rs checks that .ci/run runs it and that it runs `cargo test`)"),
    ("./test.sh --test it -- lifecycle", "the test suite itself, filtered; same script"),
    (
        "devenv k8s lint",
        "needs kubernetes-validate (.ci/k8s-tools.sh); tests/it/k8s.rs (k8s_lint_passes_on_every_env_for_both_versions) runs it on every env, envs/hello included",
    ),
    ("devenv k8s up", "follows until Ctrl-C and needs kind + kubectl; tests/it/k8s.rs runs `k8s up -d`, `status` and `down` on a kind cluster"),
    ("devenv k8s up -d", "needs a kind cluster (kind + kubectl from .ci/k8s-tools.sh); run by tests/it/k8s.rs"),
    ("devenv k8s status", "needs a kind cluster; run by tests/it/k8s.rs"),
    ("devenv k8s down", "needs a kind cluster; run by tests/it/k8s.rs"),
    ("devenv doctor --k8s --context dev-eks --registry registry.example.com/team", "needs a real context and registry; tests/it/k8s_cluster.rs runs `doctor --k8s` against a local registry and a recording kubectl"),
    ("devenv k8s up -d --context dev-eks --registry registry.example.com/team", "needs a shared cluster; tests/it/k8s_cluster.rs runs it against a local registry and a recording kubectl"),
    (
        "kubectl --context dev-eks -n shop-alice create secret docker-registry devenv-pull --docker-server=registry.example.com --docker-username=USER --docker-password=TOKEN",
        "needs a shared cluster (and placeholders for a real registry login); the command devenv prints for an image pull refused (src/k8s/explain.rs)",
    ),
    (
        "kubectl --context dev-eks -n shop-alice patch serviceaccount default -p '{\"imagePullSecrets\":[{\"name\":\"devenv-pull\"}]}'",
        "needs a shared cluster; the second command devenv prints for an image pull refused (src/k8s/explain.rs)",
    ),
    ("devenv k8s status --context dev-eks", "needs a shared cluster; status runs the same kubectl command lines as on kind (src/k8s/tests.rs), with the context's --context"),
    ("devenv k8s down --context dev-eks", "needs a shared cluster; src/k8s/tests.rs asserts its command lines, tests/it/k8s_cluster.rs runs k8s commands against a recording kubectl"),
];

/// How a command of a sequence must end.
#[derive(Clone, Copy)]
enum End {
    /// Exit 0.
    Ok,
    /// Still running after this many seconds (it follows until Ctrl-C).
    Follows(u64),
}

/// Commands typed one after another in one shell, in a temp dir holding
/// copies of `copies` (repo-relative), after `setup` (shell, not from a README).
struct Sequence {
    name: &'static str,
    copies: &'static [&'static str],
    setup: &'static str,
    commands: &'static [(&'static str, End)],
}

const SEQUENCES: &[Sequence] = &[
    Sequence {
        name: "quick-start",
        copies: &["envs/hello"],
        setup: "",
        commands: &[("cd envs/hello && devenv up -d", End::Ok), ("devenv down -v", End::Ok)],
    },
    Sequence {
        name: "hello",
        copies: &["envs/hello"],
        setup: "",
        commands: &[
            ("cd envs/hello", End::Ok),
            ("devenv up -d", End::Ok),
            ("devenv ps", End::Ok),
            ("curl -s http://127.0.0.1:8080/", End::Ok),
            ("devenv up -d", End::Ok),
            ("devenv logs -f api", End::Follows(3)),
            ("devenv watch api", End::Follows(3)),
            ("devenv up --watch", End::Follows(5)),
            ("devenv k8s render -o k8s/generated", End::Ok),
            ("devenv down -v", End::Ok),
        ],
    },
    Sequence {
        name: "run",
        copies: &["envs/hello"],
        // A Rust project to test, next to the environment file.
        setup: "cd envs/hello && cargo init --lib --vcs none --name readme_run -q && export CARGO_TARGET_DIR=\"$PWD/target\"",
        commands: &[("devenv run -- cargo test", End::Ok)],
    },
    Sequence {
        name: "doctor",
        copies: &["envs/hello"],
        setup: "",
        commands: &[
            ("devenv doctor", End::Ok),
            ("devenv -f envs/hello/devenv.yaml doctor", End::Ok),
            ("devenv doctor --json", End::Ok),
        ],
    },
    Sequence {
        name: "init",
        copies: &[],
        setup: "",
        commands: &[
            ("devenv init --dry-run", End::Ok),
            ("devenv init --yes --preset postgres --preset redis", End::Ok),
            ("devenv up -d", End::Ok),
            ("devenv ps", End::Ok),
            ("devenv env", End::Ok),
            ("eval \"$(devenv env --format shell)\"", End::Ok),
            ("devenv down", End::Ok),
        ],
    },
    Sequence {
        name: "compose",
        copies: &[],
        setup: "printf 'services:\\n  cache:\\n    image: devenv-test/redis:7\\n' > compose.yaml\n\
                printf 'services:\\n  cache:\\n    image: devenv-test/redis:7\\n' > docker-compose.yml\n\
                printf 'services:\\n  cache:\\n    environment: {MODE: dev}\\n' > docker-compose.dev.yml",
        commands: &[
            ("devenv up -d", End::Ok),
            ("devenv -f docker-compose.yml -f docker-compose.dev.yml up -d", End::Ok),
            ("devenv -f docker-compose.yml config", End::Ok),
            ("devenv import -o devenv.yaml", End::Ok),
        ],
    },
    Sequence {
        name: "completions",
        copies: &[],
        setup: "mkdir -p \"$HOME/.local/share/bash-completion/completions\" \"$HOME/.zfunc\" \"$HOME/.config/fish/completions\"",
        commands: &[
            ("devenv completions bash > ~/.local/share/bash-completion/completions/devenv", End::Ok),
            ("devenv completions zsh > ~/.zfunc/_devenv", End::Ok),
            ("devenv completions fish > ~/.config/fish/completions/devenv.fish", End::Ok),
        ],
    },
    Sequence {
        name: "enrichment",
        copies: &["envs/enrichment"],
        setup: "",
        commands: &[
            ("cd envs/enrichment", End::Ok),
            ("devenv up -d", End::Ok),
            ("devenv --profile ui up -d", End::Ok),
            ("devenv ps", End::Ok),
            ("curl -s 127.0.0.1:3000/stats", End::Ok),
            ("curl -s '127.0.0.1:3000/search?q=acme+invoice'", End::Ok),
            ("curl -s -X POST 127.0.0.1:3000/enrich", End::Ok),
            ("curl -s 127.0.0.1:3000/documents/1", End::Ok),
            ("curl -s 127.0.0.1:3000/documents/1", End::Ok),
            ("curl -s '127.0.0.1:3000/search?q=acme'", End::Ok),
            ("devenv down -v", End::Ok),
        ],
    },
    Sequence {
        name: "market-data",
        copies: &["envs/market-data"],
        setup: "",
        commands: &[
            ("cd envs/market-data", End::Ok),
            ("devenv up -d", End::Ok),
            ("curl -s 127.0.0.1:8083/prices", End::Ok),
            ("devenv --profile monitoring up -d", End::Ok),
            ("devenv logs -f normalizer aggregator", End::Follows(3)),
            ("curl -s 127.0.0.1:8080/stats", End::Ok),
            ("curl -s 127.0.0.1:8082/stats", End::Ok),
            ("curl -s 127.0.0.1:8081/instruments/SAP", End::Ok),
            ("curl -s 127.0.0.1:8084/lag", End::Ok),
            ("devenv down -v", End::Ok),
        ],
    },
    Sequence {
        name: "sanitizer",
        copies: &["envs/sanitizer"],
        setup: "",
        commands: &[
            ("cd envs/sanitizer", End::Ok),
            ("devenv up -d", End::Ok),
            ("curl -s 127.0.0.1:8000/stats", End::Ok),
            ("devenv --profile load up -d", End::Ok),
            ("devenv logs loadgen worker-pass1 worker-pass2", End::Ok),
            ("curl -s 127.0.0.1:8000/datasets/1", End::Ok),
            (
                "printf 'name,email,phone,country,note\\n  jane DOE ,Jane@Example.com,020 7946 0999,U.K.,call 020 7946 0999\\n' | curl -s -X POST --data-binary @- '127.0.0.1:8000/datasets?name=mine'",
                End::Ok,
            ),
            ("curl -s 127.0.0.1:8000/datasets/3", End::Ok),
            ("devenv down -v", End::Ok),
        ],
    },
];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// README.md and every `envs/*/README.md`.
fn readmes() -> Vec<PathBuf> {
    let mut out = vec![repo().join("README.md")];
    let mut envs: Vec<PathBuf> = std::fs::read_dir(repo().join("envs"))
        .expect("envs/")
        .filter_map(|e| e.ok().map(|e| e.path().join("README.md")))
        .filter(|p| p.exists())
        .collect();
    envs.sort();
    out.extend(envs);
    out
}

/// The commands of a file's shell blocks: comments stripped, continuation
/// lines (`|`, `\`) joined; in a block with `$ ` prompts, only those lines.
fn commands(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut block: Option<Vec<&str>> = None;
    for line in text.lines() {
        let fence = line.trim_start().strip_prefix("```");
        match (fence, &mut block) {
            (Some(lang), None) if matches!(lang.trim(), "sh" | "bash" | "console" | "shell") => block = Some(Vec::new()),
            (Some(_), Some(lines)) => {
                out.extend(block_commands(lines));
                block = None;
            }
            (None, Some(lines)) => lines.push(line),
            _ => {}
        }
    }
    out
}

fn block_commands(lines: &[&str]) -> Vec<String> {
    let prompted = lines.iter().any(|l| l.starts_with("$ "));
    let mut out: Vec<String> = Vec::new();
    let mut pending = String::new();
    for line in lines {
        let line = if prompted {
            match line.strip_prefix("$ ") {
                Some(l) => l,
                None => continue,
            }
        } else {
            line
        };
        let cmd = strip_comment(line);
        if cmd.is_empty() {
            continue;
        }
        if !pending.is_empty() {
            pending.push(' ');
        }
        pending.push_str(cmd.trim_end_matches('\\').trim());
        if !(cmd.ends_with('|') || cmd.ends_with('\\')) {
            out.push(std::mem::take(&mut pending));
        }
    }
    out
}

/// The line without its `# comment` (a `#` after whitespace, outside quotes).
fn strip_comment(line: &str) -> &str {
    let (mut single, mut double, mut prev_space) = (false, false, true);
    for (i, c) in line.char_indices() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '#' if !single && !double && prev_space => return line[..i].trim(),
            _ => {}
        }
        prev_space = c.is_whitespace();
    }
    line.trim()
}

#[test]
fn every_readme_command_is_run_or_skipped() {
    let mut documented = Vec::new();
    for file in readmes() {
        let text = std::fs::read_to_string(&file).expect("read README");
        documented.extend(commands(&text).into_iter().map(|c| (file.clone(), c)));
    }
    assert!(documented.len() > 40, "found only {} README commands: is the extraction broken?", documented.len());
    let run: Vec<&str> = SEQUENCES.iter().flat_map(|s| s.commands.iter().map(|(c, _)| *c)).collect();
    let missing: Vec<String> = documented
        .iter()
        .filter(|(_, c)| !run.contains(&c.as_str()) && !SKIPPED.iter().any(|(s, _)| s == c))
        .map(|(f, c)| format!("{}: {c}", f.strip_prefix(repo()).unwrap_or(f).display()))
        .collect();
    assert!(missing.is_empty(), "README commands neither run by a sequence nor in SKIPPED (with a reason):\n{}", missing.join("\n"));
    // No stale entries: everything listed is still in a README.
    for c in run.iter().copied().chain(SKIPPED.iter().map(|(c, _)| *c)) {
        assert!(documented.iter().any(|(_, d)| d == c), "`{c}` is listed in readme_commands.rs but no README has it any more");
    }
    assert!(SKIPPED.iter().all(|(_, why)| !why.is_empty()));
}

#[test]
fn comments_and_prompts_are_read_like_a_user_reads_them() {
    let text = "```sh\n$ devenv env\nA=1\n$ eval \"$(x)\"   # or json\n```\n```yaml\nno: 1\n```\n```sh\na |\n  b   # c\n# only\ncurl 'x#y'\n```\n";
    assert_eq!(commands(text), vec!["devenv env", "eval \"$(x)\"", "a | b", "curl 'x#y'"]);
}

/// Shell functions every sequence starts with: `hp PORT` is the host port the
/// project published for container port PORT; `curl` rewrites `127.0.0.1:PORT`
/// in its arguments to that port and fails on an HTTP error.
const PRELUDE: &str = r#"hp() { docker ps --filter "label=dev.devenv.project=$DEVENV_PROJECT" --format '{{.Ports}}' | tr ',' '\n' | sed -n "s/.*:\([0-9][0-9]*\)->$1\/tcp.*/\1/p" | head -n 1; }
curl() {
  n=$#
  while [ "$n" -gt 0 ]; do
    a=$1; shift; n=$((n - 1))
    p=$(printf '%s' "$a" | sed -n 's/.*127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p')
    if [ -n "$p" ]; then a=$(printf '%s' "$a" | sed "s/127\.0\.0\.1:$p/127.0.0.1:$(hp "$p")/"); fi
    set -- "$@" "$a"
  done
  command curl --fail --show-error "$@"
}"#;

/// `cmd` as the script line that runs it and stops the sequence unless it ends as `end` says.
fn script_line(cmd: &str, end: End) -> String {
    let shown = cmd.replace('\'', "'\\''");
    let text = cmd;
    match end {
        End::Ok => format!("{text}\nrc=$?; [ $rc -eq 0 ] || {{ echo 'README command failed' \"(exit $rc): \"'{shown}' >&2; exit 1; }}\n"),
        End::Follows(secs) => format!(
            "timeout -s INT {secs} {text} > /dev/null\nrc=$?; [ $rc -eq 124 ] || {{ echo 'README command did not keep following' \"(exit $rc): \"'{shown}' >&2; exit 1; }}\n"
        ),
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).expect("copy");
        }
    }
}

/// The images the sequence's `up` built (`{project}-{service}:devenv`).
fn remove_built_images(project: &str) {
    let filter = format!("reference={project}-*");
    let Ok(out) = Command::new("docker").args(["images", "--filter", &filter, "--format", "{{.Repository}}:{{.Tag}}"]).output() else { return };
    for image in String::from_utf8_lossy(&out.stdout).lines().filter(|l| !l.is_empty()) {
        let _ = Command::new("docker").args(["rmi", "-f", image]).output();
    }
}

/// Where cargo and rustup live for the real user (`HOME` is a temp dir in a sequence).
fn toolchain_home(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(default))
}

fn run_sequence(seq: &Sequence) {
    let p = Project::new(&format!("readme-{}", seq.name), "");
    let root = p.dir.path().join("repo");
    let home = p.dir.path().join("home");
    std::fs::create_dir_all(&home).expect("home");
    std::fs::create_dir_all(&root).expect("root");
    for c in seq.copies {
        copy_dir(&repo().join(c), &root.join(c));
    }
    let mut script = format!("{PRELUDE}\n{}\n", seq.setup);
    for (cmd, end) in seq.commands {
        script.push_str(&script_line(cmd, *end));
    }
    let bin_dir = bin().parent().expect("bin dir").to_path_buf();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let out = Command::new("sh")
        .args(["-c", &script])
        .current_dir(&root)
        .env("PATH", path)
        .env("HOME", &home)
        .env("CARGO_HOME", toolchain_home("CARGO_HOME", ".cargo"))
        .env("RUSTUP_HOME", toolchain_home("RUSTUP_HOME", ".rustup"))
        .env("DEVENV_PROJECT", &p.name)
        .env("DEVENV_PROGRESS", "plain")
        .env("NO_COLOR", "1")
        .env("DEVENV_IMAGE_MAP", repo().join("fixtures/images/map.yaml"))
        .env("DEVENV_PORTS", "random")
        .env("PYTHON_IMAGE", "devenv-test/python:3")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("sh");
    let r = Run::from(out);
    remove_built_images(&p.name);
    assert_eq!(r.code, 0, "sequence `{}`:\nstdout:\n{}\nstderr:\n{}", seq.name, r.stdout, r.stderr);
}

#[test]
fn readme_sequences_run_as_written() {
    if !docker_ready() {
        return;
    }
    for seq in SEQUENCES {
        run_sequence(seq);
    }
}
