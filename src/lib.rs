//! devenv: local development environments on Docker.
//!
//! The pipeline, one module per stage:
//! `config` (read the file, parse every value once) → `plan` (resolve, graph, hash, diff)
//! → `observe` (what Docker has, by label) → `engine` (make it so, in
//! dependency order; readiness and seeding per service) → `watch` (file
//! events → sync/restart/rebuild) → `ui` (the only printer).
//! Beside the pipeline: `preset` (the five backing services: defaults, probe,
//! URL), `seed` (loading seed data over each service's protocol), `docker`
//! (the only module that talks to the Docker API), `cli` (the thin command
//! layer) and `api` (the same pipeline as a library for Rust test suites).

pub mod api;
pub mod cli;
/// docker-compose files read exactly as Compose v2 does (merge, `extends`,
/// `include`, interpolation, profiles) into a normalized model whose JSON
/// matches `docker compose config --format json`.
pub mod compose;
pub mod config;
pub mod diff;
pub mod docker;
pub mod engine;
pub mod error;
/// `devenv init`: detect a repository's apps, write a commented devenv.yaml.
pub mod init;
/// `devenv k8s`: the last stage — the plan rendered as Kubernetes manifests,
/// linted, and run in a local kind/k3d cluster beside the team's own manifests.
pub mod k8s;
pub mod labels;
pub mod observe;
pub mod plan;
pub mod preset;
pub mod seed;
#[cfg(feature = "testcontainers")]
pub mod testcontainers;
pub mod ui;
/// Pure value types parsed from files (ports, volumes, durations, restart, image references).
pub mod values;
pub mod watch;
pub mod web;
/// The YAML text layer: positions, positioned errors, merges, interpolation, hints.
pub mod yaml;
