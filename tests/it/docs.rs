//! The README and help texts stay true to the binary and the schema.

use crate::harness::bin;

#[test]
fn readme_reference_names_every_key_of_the_schema() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README.md");
    let reference = readme.split("### Reference").nth(1).expect("README has a Reference section");
    for key in devenv::config::SERVICE_KEYS.iter().chain(devenv::config::TOP_KEYS).chain(devenv::config::HEALTH_KEYS).chain(devenv::config::BUILD_KEYS).chain(devenv::config::SEED_KEYS).chain(devenv::config::WATCH_KEYS).chain(devenv::config::NETWORK_KEYS).chain(devenv::config::SERVICE_NETWORK_KEYS) {
        assert!(reference.contains(&format!("`{key}`")), "README reference does not document `{key}`");
    }
}

#[test]
fn readme_test_command_is_the_one_ci_runs() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README.md");
    let ci = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/.ci/run")).expect(".ci/run");
    let script = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/test.sh")).expect("test.sh");
    let first_screen: String = readme.lines().take(30).collect::<Vec<_>>().join("\n");
    assert!(first_screen.contains("```sh\n./test.sh\n```"), "the README's first screen lacks the one test command `./test.sh`");
    assert!(ci.lines().any(|l| l.trim_start().starts_with("exec \"$REPO/test.sh\"")), ".ci/run does not run ./test.sh");
    let cmd = "TEST_CMD='DEVENV_REQUIRE_DOCKER=1 cargo test --locked'";
    assert!(script.contains(cmd), "test.sh does not run the whole suite with DEVENV_REQUIRE_DOCKER=1");
}

#[test]
fn every_command_has_help_with_examples() {
    for cmd in ["up", "down", "ps", "logs", "exec", "config", "doctor", "env", "seed", "run", "gc"] {
        let out = std::process::Command::new(bin()).args([cmd, "--help"]).output().expect("run");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{cmd} --help failed");
        assert!(text.contains("Examples:"), "`devenv {cmd} --help` has no examples:\n{text}");
    }
}
