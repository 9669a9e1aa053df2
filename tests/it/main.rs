//! Integration tests: the real `devenv` binary against a real Docker engine.
//! Run with `DEVENV_REQUIRE_DOCKER=1 cargo test` (CI does) so a missing engine fails instead of skipping.

mod bad_input;
mod commands;
mod docs;
mod harness;
mod lifecycle;
mod presets;
mod run;
mod seeding;
mod watch;
