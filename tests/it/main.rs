//! Integration tests: the real `devenv` binary against a real Docker engine.
//! Run with `DEVENV_REQUIRE_DOCKER=1 cargo test` (CI does) so a missing engine fails instead of skipping.

mod bad_input;
mod commands;
mod compose;
mod compose_parity;
mod config_file;
mod docs;
mod doctor;
mod examples;
mod harness;
mod init;
mod k8s;
mod lifecycle;
mod presets;
mod readme_commands;
mod run;
mod runtime_opts;
mod seeding;
mod watch;
