use std::path::Path;

use super::*;
use crate::config::{LoadOptions, WatchAction};
use crate::preset::Kind;

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(p, text).expect("write");
}

/// Write what `init` would write, then load it the way `devenv up` does.
fn write_and_load(root: &Path, choices: &Choices) -> crate::config::LoadedEnv {
    for app in &choices.apps {
        for g in &app.generated {
            write(root, &g.path, &g.content);
        }
    }
    write(root, "devenv.yaml", &render(choices));
    let opts = LoadOptions { file: Some(root.join("devenv.yaml")), cwd: root.to_path_buf(), ..LoadOptions::default() };
    match crate::config::load(&opts) {
        Ok(env) => env,
        Err(e) => panic!("the written file does not load: {e}\n{}", render(choices)),
    }
}

fn app<'a>(d: &'a Detection, name: &str) -> &'a App {
    d.apps.iter().find(|a| a.name == name).unwrap_or_else(|| panic!("no app {name} in {:#?}", d.apps))
}

fn monorepo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    write(root, "frontend/package.json", r#"{"name": "web", "scripts": {"dev": "vite", "build": "vite build"}, "devDependencies": {"vite": "^5"}}"#);
    write(root, "frontend/src/main.ts", "console.log('hi')\n");
    write(root, "backend/requirements.txt", "fastapi==0.110\npsycopg2-binary>=2.9\nredis\n");
    write(root, "backend/app/main.py", "from fastapi import FastAPI\napp = FastAPI()\n@app.get(\"/health\")\ndef health():\n    return 'ok'\n");
    write(root, "backend/Dockerfile", "FROM python:3.12-slim\nWORKDIR /srv\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\nCOPY . .\nEXPOSE 8001\nCMD [\"uvicorn\", \"app.main:app\"]\n");
    write(root, "docs/README.md", "not an app\n");
    write(root, "node_modules/x/package.json", "{}");
    dir
}

#[test]
fn detects_a_monorepo_one_level_deep() {
    let dir = monorepo();
    let d = detect(dir.path());
    assert_eq!(d.compose, None);
    assert_eq!(d.apps.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), vec!["backend", "frontend"]);

    let be = app(&d, "backend");
    assert_eq!((be.lang, be.port), (Lang::Python, 8001));
    assert_eq!(be.port_from, "EXPOSE in the Dockerfile");
    assert_eq!(be.health, HealthGuess::Http("/health".into()));
    assert!(be.generated.is_empty(), "a Dockerfile exists: nothing to write");
    assert_eq!(
        be.watch,
        vec![
            WatchGuess { path: "./backend/app".into(), target: Some("/srv/app".into()), action: WatchAction::Restart, ignore: vec![] },
            WatchGuess { path: "./backend/requirements.txt".into(), target: None, action: WatchAction::Rebuild, ignore: vec![] },
        ]
    );
    assert_eq!(be.suggests, vec![(Kind::Postgres, "psycopg2-binary".to_string()), (Kind::Redis, "redis".to_string())]);

    let fe = app(&d, "frontend");
    assert_eq!((fe.lang, fe.port), (Lang::Node, 5173));
    assert_eq!(fe.health, HealthGuess::Tcp);
    assert_eq!(fe.watch[0], WatchGuess { path: "./frontend/src".into(), target: Some("/app/src".into()), action: WatchAction::Sync, ignore: vec![] });
    let df = fe.generated.iter().find(|g| g.path == "frontend/Dockerfile").expect("a Dockerfile is proposed");
    assert!(df.content.contains("FROM node:22-alpine") && df.content.contains("EXPOSE 5173"), "{}", df.content);
    assert!(df.content.contains(r#"CMD ["npm","run","dev","--","--host","0.0.0.0"]"#), "vite must listen beyond localhost:\n{}", df.content);
    assert!(fe.generated.iter().any(|g| g.path == "frontend/.dockerignore" && g.content.contains("node_modules")));

    let hints: Vec<Kind> = d.suggested_presets().into_iter().map(|(k, _)| k).collect();
    assert_eq!(hints, vec![Kind::Postgres, Kind::Redis]);
}

#[test]
fn written_file_loads_and_wires_every_preset_into_the_apps() {
    let dir = monorepo();
    let d = detect(dir.path());
    let presets = vec![Kind::Postgres, Kind::Redis, Kind::Kafka, Kind::Clickhouse, Kind::Elasticsearch];
    let choices = Choices { project: project_name(dir.path()), presets, apps: d.apps.clone() };
    let env = write_and_load(dir.path(), &choices);
    let names: Vec<&str> = env.spec.services.keys().map(String::as_str).collect();
    assert_eq!(names, vec!["db", "cache", "kafka", "clickhouse", "search", "backend", "frontend"]);
    let backend = &env.spec.services["backend"];
    assert_eq!(backend.build.as_ref().map(|b| b.context.as_str()), Some("./backend"));
    assert_eq!(backend.ports, vec!["8001:8001".to_string()]);
    assert_eq!(backend.watch.len(), 2);
    let plan = crate::plan::resolve(&env, &crate::plan::ImageMap::default()).expect("the written file resolves");
    let be = &plan.services["backend"];
    assert!(be.env["DATABASE_URL"].starts_with("postgres://devenv:"), "{:?}", be.env);
    assert_eq!(be.env["REDIS_URL"], "redis://cache:6379/0");
    assert_eq!(be.env["KAFKA_BROKERS"], "kafka:19092");
    assert!(be.env["CLICKHOUSE_URL"].starts_with("http://devenv:"));
    assert_eq!(be.env["ELASTICSEARCH_URL"], "http://search:9200");
    assert_eq!(be.depends_on.len(), 5);
    let export = env.spec.export.as_ref().expect("export section");
    assert_eq!(export["DATABASE_URL"], "${db.url}");
    let text = std::fs::read_to_string(dir.path().join("devenv.yaml")).expect("read");
    assert!(text.contains("# --- Backing services") && text.contains("README.md#the-environment-file"), "the file explains itself:\n{text}");
}

#[test]
fn ports_and_names_never_collide_with_the_presets() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "db/Dockerfile", "FROM debian:bookworm-slim\nEXPOSE 5432\n");
    write(dir.path(), "other/Dockerfile", "FROM debian:bookworm-slim\nEXPOSE 5432\n");
    let d = detect(dir.path());
    let choices = Choices { project: "x".into(), presets: vec![Kind::Postgres], apps: d.apps };
    let env = write_and_load(dir.path(), &choices);
    assert_eq!(env.spec.services.keys().collect::<Vec<_>>(), vec!["db", "db-2", "other"]);
    assert_eq!(env.spec.services["db-2"].ports, vec!["5433:5432".to_string()]);
    assert_eq!(env.spec.services["other"].ports, vec!["5434:5432".to_string()]);
}

#[test]
fn compose_file_and_workspace_roots() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "docker-compose.yml", "services: {}\n");
    write(dir.path(), "Cargo.toml", "[workspace]\nmembers = [\"api\"]\n");
    write(dir.path(), "api/Cargo.toml", "[package]\nname = \"api\"\n\n[dependencies]\nsqlx = { version = \"0.8\", features = [\"postgres\"] }\nredis = \"0.25\"\n");
    write(dir.path(), "api/src/main.rs", "fn main() { let addr = \"0.0.0.0:3030\"; let db = \"localhost:5432\"; }\n");
    let d = detect(dir.path());
    assert_eq!(d.compose.as_deref(), Some("docker-compose.yml"));
    assert_eq!(d.apps.len(), 1, "the workspace root is not an app: {:#?}", d.apps);
    let api = &d.apps[0];
    assert_eq!((api.name.as_str(), api.lang, api.port), ("api", Lang::Rust, 3030));
    assert_eq!(api.port_from, "found in src/main.rs");
    assert_eq!(api.watch[0], WatchGuess { path: "./api/src".into(), target: None, action: WatchAction::Rebuild, ignore: vec![] });
    assert_eq!(api.watch[1].path, "./api/Cargo.toml");
    let kinds: Vec<Kind> = api.suggests.iter().map(|(k, _)| *k).collect();
    assert!(kinds.contains(&Kind::Postgres) && kinds.contains(&Kind::Redis), "{:?}", api.suggests);
}

#[test]
fn go_service_in_the_root_with_a_healthcheck_dockerfile() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "go.mod", "module example.com/svc\n\ngo 1.22.3\n\nrequire github.com/jackc/pgx/v5 v5.5.0\n");
    write(dir.path(), "main.go", "package main\nfunc main() { http.ListenAndServe(\":9090\", nil) }\n");
    let d = detect(dir.path());
    let a = app(&d, "app");
    assert_eq!((a.lang, a.port), (Lang::Go, 9090));
    assert_eq!(a.suggests, vec![(Kind::Postgres, "github.com/jackc/pgx".to_string())]);
    let df = &a.generated[0].content;
    assert!(df.contains("FROM golang:1.22\n") && df.contains("CMD [\"app\"]"), "{df}");
    assert_eq!(a.watch.len(), 1);
    assert_eq!((a.watch[0].path.as_str(), a.watch[0].action), (".", WatchAction::Rebuild));
    assert!(a.watch[0].ignore.contains(&"devenv.yaml".to_string()));

    write(dir.path(), "Dockerfile", "FROM golang:1.22\nHEALTHCHECK CMD wget -qO- localhost:9090/ready\nEXPOSE 9091\n");
    let d = detect(dir.path());
    let a = app(&d, "app");
    assert_eq!((a.port, &a.health), (9091, &HealthGuess::Image));
    assert!(a.generated.is_empty());
    write_and_load(dir.path(), &Choices { project: "svc".into(), presets: vec![], apps: d.apps.clone() });
}

#[test]
fn an_empty_repository_gets_a_file_that_loads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = detect(dir.path());
    assert!(d.apps.is_empty());
    let env = write_and_load(dir.path(), &Choices { project: "empty".into(), presets: vec![], apps: vec![] });
    assert!(env.spec.services.is_empty());
}

#[test]
fn python_frameworks_and_node_ports() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "flaskapp/requirements.txt", "Flask==3.0\n");
    write(dir.path(), "flaskapp/app.py", "from flask import Flask\n");
    write(dir.path(), "api/package.json", r#"{"scripts": {"start": "PORT=4100 node server.js"}, "dependencies": {"pg": "^8", "ioredis": "^5"}}"#);
    write(dir.path(), "api/server.js", "app.get('/healthz', ok)\n");
    let d = detect(dir.path());
    let f = app(&d, "flaskapp");
    assert_eq!(f.port, 5000);
    assert!(f.generated[0].content.contains(r#"CMD ["flask","--app","app","run","--host","0.0.0.0","--port","5000"]"#), "{}", f.generated[0].content);
    let api = app(&d, "api");
    assert_eq!(api.port, 4100);
    assert_eq!(api.port_from, "the `start` script in package.json");
    assert_eq!(api.health, HealthGuess::Http("/healthz".into()));
    assert!(api.generated[0].content.contains(r#"CMD ["npm","start"]"#));
    assert_eq!(api.suggests.iter().map(|(k, _)| *k).collect::<Vec<_>>(), vec![Kind::Postgres, Kind::Redis]);
    // No source folder: the whole directory is synced, minus dependencies.
    assert_eq!(api.watch[0].path, "./api");
    assert_eq!(api.watch[0].target.as_deref(), Some("/app"));
    write_and_load(dir.path(), &Choices { project: "p".into(), presets: vec![Kind::Redis], apps: d.apps.clone() });
}

#[test]
fn preset_answers() {
    let all = [Kind::Postgres];
    assert_eq!(parse_preset_answer("", &all), Ok(vec![Kind::Postgres]));
    assert_eq!(parse_preset_answer("none", &all), Ok(vec![]));
    assert_eq!(parse_preset_answer("redis, 1 es", &[]), Ok(vec![Kind::Redis, Kind::Postgres, Kind::Elasticsearch]));
    assert_eq!(parse_preset_answer("pg pg", &[]), Ok(vec![Kind::Postgres]));
    let e = parse_preset_answer("postgress", &[]).expect_err("typo");
    assert!(e.contains("did you mean `postgres`?"), "{e}");
    assert!(parse_preset_answer("9", &[]).is_err());
}

#[test]
fn project_names_are_docker_safe() {
    assert_eq!(project_name(Path::new("/home/me/My Shop.v2")), "my-shop-v2");
    assert_eq!(project_name(Path::new("/srv/_x")), "x");
}

#[test]
fn preset_ports_are_backing_ports() {
    let ports = super::detect::backing_ports();
    for p in [5432, 6379, 9092, 19092, 8123, 9000, 9200, 9300, 3306, 27017, 11211] {
        assert!(ports.contains(&p), "{p}");
    }
}
