//! Integration tests: the real `devenv` binary against a real Docker engine.
//! Run with `DEVENV_REQUIRE_DOCKER=1 cargo test` (CI does) so a missing engine fails instead of skipping.

mod bad_input;
mod commands;
mod compose;
mod compose_deploy;
mod compose_netvol;
mod compose_parity;
mod compose_scale;
mod concurrency;
mod config_file;
mod docs;
mod doctor;
mod examples;
mod faults;
mod harness;
mod healthcheck_native;
mod init;
mod k8s;
mod k8s_cluster;
mod lifecycle;
mod official_contracts;
mod paths;
mod presets;
mod readme_commands;
mod run;
mod runtime_opts;
mod secrets;
mod seeding;
mod snapshot;
mod teardown;
mod snapshot_share;
mod watch;
mod watch_symlink;
mod reset;
mod web_ui;
mod compose_build;
