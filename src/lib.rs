//! devenv: local development environments on Docker.
//!
//! The pipeline, one module per stage:
//! `config` (read + validate the file) → `plan` (resolve, graph, hash, diff)
//! → `observe` (what Docker has, by label) → `engine` (make it so, in
//! dependency order) → `ui` (the only printer). `docker` is the only module
//! that talks to the Docker API; `cli` is the thin command layer.

pub mod api;
pub mod cli;
pub mod config;
pub mod docker;
pub mod engine;
pub mod error;
pub mod observe;
pub mod plan;
pub mod preset;
pub mod seed;
pub mod ui;
pub mod watch;
