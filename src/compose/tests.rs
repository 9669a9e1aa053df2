//! End-to-end tests of `compose::load` on files written to a temporary
//! directory (the behaviour checked against `docker compose config` lives in
//! `tests/compose_oracle.rs`; these pin the rules and the error positions).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{Value as J, json};

use super::*;
use crate::yaml::Pos;

struct Tmp {
    dir: tempfile::TempDir,
}

impl Tmp {
    fn new() -> Tmp {
        Tmp { dir: tempfile::tempdir().unwrap() }
    }

    /// A fixed, sanitized directory name (`proj`) so project names are predictable.
    fn root(&self) -> PathBuf {
        let p = self.dir.path().join("proj");
        std::fs::create_dir_all(&p).unwrap();
        p
    }

    fn write(&self, rel: &str, text: &str) -> &Tmp {
        let p = self.root().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
        self
    }

    fn load_env(&self, files: &[&str], env: &[(&str, &str)], profiles: &[&str]) -> Result<ComposeProject, ConfigError> {
        let mut environ: HashMap<String, String> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        environ.entry("HOME".into()).or_insert_with(|| "/home/dev".into());
        let opts =
            LoadOptions { cwd: self.root(), environ, profiles: profiles.iter().map(|p| p.to_string()).collect(), ..Default::default() };
        let files: Vec<PathBuf> = files.iter().map(PathBuf::from).collect();
        load(&files, &opts)
    }

    fn load(&self, files: &[&str]) -> Result<ComposeProject, ConfigError> {
        self.load_env(files, &[], &[])
    }

    fn json(&self, files: &[&str]) -> J {
        serde_json::to_value(self.load(files).unwrap()).unwrap()
    }

    fn path(&self, rel: &str) -> String {
        self.root().join(rel).to_string_lossy().into_owned()
    }
}

fn at(e: &ConfigError) -> (String, Option<Pos>, String) {
    (e.file.file_name().unwrap_or_default().to_string_lossy().into_owned(), e.pos, e.yaml_path.clone())
}

#[test]
fn minimal_project_shape() {
    let t = Tmp::new();
    t.write("compose.yaml", "services:\n  web:\n    image: nginx\n    ports: [\"8080:80\"]\n");
    let v = t.json(&["compose.yaml"]);
    assert_eq!(
        v,
        json!({
            "name": "proj",
            "networks": {"default": {"name": "proj_default", "ipam": {}}},
            "services": {"web": {
                "command": null, "entrypoint": null, "image": "nginx",
                "networks": {"default": null},
                "ports": [{"mode": "ingress", "target": 80, "published": "8080", "protocol": "tcp"}]
            }}
        })
    );
}

#[test]
fn override_file_merge_rules() {
    let t = Tmp::new();
    t.write(
        "compose.yaml",
        "services:\n  api:\n    build: ./api\n    command: npm start\n    environment: {A: 1, B: 2}\n    ports: [\"3000:3000\"]\n    volumes: [\"./src:/app/src\", \"data:/data\"]\n    labels: [team=core]\n    depends_on: [db]\n  db:\n    image: postgres:16\nvolumes:\n  data:\n",
    );
    t.write(
        "compose.override.yaml",
        "services:\n  api:\n    build: {target: dev}\n    command: [npm, run, dev]\n    environment: [B=3, C=4]\n    ports: [\"9229:9229\", \"3000:3000\"]\n    volumes: [\"./other:/app/src\"]\n    labels: {tier: web}\n    depends_on: {db: {condition: service_healthy}}\n",
    );
    let p = t.load(&["compose.yaml", "compose.override.yaml"]).unwrap();
    let api = &p.services["api"];
    let b = api.build.as_ref().unwrap();
    assert_eq!(
        (b.context.as_str(), b.target.as_deref(), b.dockerfile.as_deref()),
        (t.path("api").as_str(), Some("dev"), Some("Dockerfile"))
    );
    assert_eq!(api.command, Some(vec!["npm".into(), "run".into(), "dev".into()]));
    let env: Vec<(&str, Option<&str>)> = api.environment.iter().map(|(k, v)| (k.as_str(), v.as_deref())).collect();
    assert_eq!(env, [("A", Some("1")), ("B", Some("3")), ("C", Some("4"))]);
    let published: Vec<Option<&str>> = api.ports.iter().map(|p| p.published.as_deref()).collect();
    assert_eq!(published, [Some("3000"), Some("9229")], "appended, duplicates removed");
    assert_eq!(api.volumes.len(), 2, "volumes merged by target");
    assert_eq!(api.volumes[0].source.as_deref(), Some(t.path("other").as_str()), "relative to the first file's directory");
    assert_eq!(api.labels.len(), 2);
    assert_eq!(api.depends_on["db"].condition, "service_healthy");
    assert!(api.depends_on["db"].required);
    assert_eq!(p.files.len(), 2);
}

#[test]
fn override_in_another_directory_resolves_against_the_project_dir() {
    let t = Tmp::new();
    t.write("compose.yaml", "services:\n  web:\n    image: x\n");
    t.write("ci/compose.ci.yaml", "services:\n  web:\n    volumes: [\"./logs:/logs\"]\n    env_file: ci.env\n");
    t.write("ci.env", "FROM_ROOT=1\n");
    let p = t.load(&["compose.yaml", "ci/compose.ci.yaml"]).unwrap();
    let web = &p.services["web"];
    assert_eq!(web.volumes[0].source.as_deref(), Some(t.path("logs").as_str()));
    assert_eq!(web.environment["FROM_ROOT"].as_deref(), Some("1"));
}

#[test]
fn reset_and_override_tags() {
    let t = Tmp::new();
    t.write("compose.yaml", "services:\n  web:\n    image: x\n    ports: [\"80:80\"]\n    environment: {A: 1, B: 2}\n");
    t.write("compose.override.yaml", "services:\n  web:\n    ports: !reset []\n    environment: !override {C: 3}\n");
    let p = t.load(&["compose.yaml", "compose.override.yaml"]).unwrap();
    let web = &p.services["web"];
    assert!(web.ports.is_empty());
    assert_eq!(web.environment.keys().collect::<Vec<_>>(), ["C"]);
}

#[test]
fn extends_same_file_and_other_file() {
    let t = Tmp::new();
    t.write(
        "common/base.yaml",
        "services:\n  app-base:\n    build: ./app\n    environment: {LOG: info, MODE: base}\n    volumes: [\"./shared:/shared\"]\n    healthcheck: {test: [CMD, \"true\"], interval: 5s}\n",
    );
    t.write(
        "compose.yaml",
        "services:\n  web:\n    extends: {file: common/base.yaml, service: app-base}\n    environment: {MODE: web}\n    ports: [\"80:80\"]\n  worker:\n    extends: web\n    command: work\n    ports: !reset []\n",
    );
    let p = t.load(&["compose.yaml"]).unwrap();
    let web = &p.services["web"];
    assert_eq!(web.build.as_ref().unwrap().context, t.path("common/app"), "the base's paths are relative to its own file");
    assert_eq!(web.volumes[0].source.as_deref(), Some(t.path("common/shared").as_str()));
    assert_eq!(web.environment["MODE"].as_deref(), Some("web"));
    assert_eq!(web.environment["LOG"].as_deref(), Some("info"));
    let worker = &p.services["worker"];
    assert_eq!(worker.command, Some(vec!["work".into()]));
    assert!(worker.ports.is_empty(), "`!reset` applies to what is inherited");
    assert_eq!(worker.healthcheck.as_ref().unwrap().interval, Some(GoDuration(5_000_000_000)));
    // Positions of inherited keys point into the file that defines them.
    let (f, pos) = p.locations.locate("services.worker.build").unwrap();
    assert_eq!((f, pos), (Path::new(&t.path("common/base.yaml")), Pos { line: 3, col: 5 }));
    let (f, _) = p.locations.locate("services.worker.command").unwrap();
    assert_eq!(f, Path::new(&t.path("compose.yaml")));
}

#[test]
fn extends_errors() {
    let t = Tmp::new();
    t.write("compose.yaml", "services:\n  a:\n    image: x\n    extends: b\n  b:\n    extends: c\n  c:\n    extends: a\n");
    let e = t.load(&["compose.yaml"]).unwrap_err();
    assert!(e.message.starts_with("circular reference in `extends`:"), "{}", e.message);
    assert!(e.message.contains("extends a in"), "{}", e.message);
    assert_eq!(at(&e).0, "compose.yaml");

    let t = Tmp::new();
    t.write("compose.yaml", "services:\n  a:\n    extends: {file: missing.yaml, service: b}\n");
    let e = t.load(&["compose.yaml"]).unwrap_err();
    assert!(e.message.contains("cannot read") && e.message.contains("missing.yaml"), "{}", e.message);
    assert_eq!(at(&e), ("compose.yaml".into(), Some(Pos { line: 3, col: 15 }), "services.a.extends.file".into()));

    let t = Tmp::new();
    t.write("compose.yaml", "services:\n  a:\n    extends: nope\n");
    let e = t.load(&["compose.yaml"]).unwrap_err();
    assert!(e.message.contains("service \"nope\" not found"), "{}", e.message);
}

#[test]
fn include_loads_other_projects() {
    let t = Tmp::new();
    t.write("db/compose.yaml", "services:\n  db:\n    image: postgres:${PG_VERSION}\n    volumes: [\"./init:/docker-entrypoint-initdb.d\", \"pgdata:/var/lib/postgresql/data\"]\nvolumes:\n  pgdata:\n");
    t.write("db/.env", "PG_VERSION=15\nAPP_PORT=1\n");
    t.write(".env", "APP_PORT=8080\n");
    t.write(
        "compose.yaml",
        "include:\n  - db/compose.yaml\nservices:\n  app:\n    image: app\n    ports: [\"${APP_PORT}:80\"]\n    depends_on: [db]\n",
    );
    let p = t.load(&["compose.yaml"]).unwrap();
    let db = &p.services["db"];
    assert_eq!(db.image.as_deref(), Some("postgres:15"), "the included project's .env");
    assert_eq!(db.volumes[0].source.as_deref(), Some(t.path("db/init").as_str()), "relative to the included file");
    assert_eq!(p.services["app"].ports[0].published.as_deref(), Some("8080"), "the parent's variables win");
    assert_eq!(p.volumes["pgdata"].name, "proj_pgdata");
    let (f, _) = p.locations.locate("services.db.image").unwrap();
    assert_eq!(f, Path::new(&t.path("db/compose.yaml")));
}

#[test]
fn include_long_form_and_errors() {
    let t = Tmp::new();
    t.write("infra/redis.yaml", "services:\n  cache:\n    image: redis:${REDIS_TAG}\n    volumes: [\"./conf:/conf\"]\n");
    t.write("infra/redis.override.yaml", "services:\n  cache:\n    command: redis-server /conf/redis.conf\n");
    t.write("envs/redis.env", "REDIS_TAG=7\n");
    t.write(
        "compose.yaml",
        "include:\n  - path: [infra/redis.yaml, infra/redis.override.yaml]\n    project_directory: infra\n    env_file: envs/redis.env\nservices:\n  app: {image: app}\n",
    );
    let p = t.load(&["compose.yaml"]).unwrap();
    let cache = &p.services["cache"];
    assert_eq!(cache.image.as_deref(), Some("redis:7"));
    assert_eq!(cache.command.as_ref().unwrap()[0], "redis-server");
    assert_eq!(cache.volumes[0].source.as_deref(), Some(t.path("infra/conf").as_str()));

    let t = Tmp::new();
    t.write("compose.yaml", "include:\n  - ./nope/compose.yaml\nservices:\n  a: {image: x}\n");
    let e = t.load(&["compose.yaml"]).unwrap_err();
    assert!(e.message.contains("include: cannot read") && e.message.contains("nope/compose.yaml"), "{}", e.message);
    assert_eq!(at(&e), ("compose.yaml".into(), Some(Pos { line: 2, col: 5 }), "include[0]".into()));

    let t = Tmp::new();
    t.write("a.yaml", "include: [b.yaml]\nservices:\n  a: {image: x}\n");
    t.write("b.yaml", "include: [a.yaml]\nservices:\n  b: {image: x}\n");
    let e = t.load(&["a.yaml"]).unwrap_err();
    assert!(e.message.starts_with("include cycle detected"), "{}", e.message);
    assert_eq!(at(&e).0, "b.yaml", "named in the file that closes the cycle");

    let t = Tmp::new();
    t.write("other.yaml", "services:\n  a: {image: y}\n");
    t.write("compose.yaml", "include: [other.yaml]\nservices:\n  a: {image: x}\n");
    let e = t.load(&["compose.yaml"]).unwrap_err();
    assert!(e.message.contains("services.a conflicts with imported resource"), "{}", e.message);
}

#[test]
fn errors_name_the_file_they_are_in() {
    let t = Tmp::new();
    t.write("compose.yaml", "services:\n  web:\n    image: x\n");
    t.write("compose.prod.yaml", "services:\n  web:\n    ports: 80\n");
    let e = t.load(&["compose.yaml", "compose.prod.yaml"]).unwrap_err();
    assert_eq!(at(&e), ("compose.prod.yaml".into(), Some(Pos { line: 3, col: 5 }), "services.web.ports".into()));
    assert!(e.message.contains("must be a list"), "{}", e.message);

    let t = Tmp::new();
    t.write("compose.yaml", "services:\n  web:\n    image: x\n    imag: y\n");
    let e = t.load(&["compose.yaml"]).unwrap_err();
    assert_eq!(e.hint.as_deref(), Some("did you mean `image`?"));
    assert_eq!(e.pos, Some(Pos { line: 4, col: 5 }));

    let t = Tmp::new();
    t.write("compose.yaml", "services:\n  web:\n    image: x\n   ports: [1]\n");
    let e = t.load(&["compose.yaml"]).unwrap_err();
    assert!(e.message.starts_with("invalid YAML"), "{}", e.message);
    assert_eq!(e.pos.map(|p| p.line), Some(4));
}

#[test]
fn interpolation_sources_and_errors() {
    let t = Tmp::new();
    t.write(".env", "TAG=from-dotenv\nONLY_DOTENV=yes\nREF=${TAG}-ref\n");
    t.write("compose.yaml", "services:\n  web:\n    image: \"app:${TAG}\"\n    environment:\n      A: ${ONLY_DOTENV}\n      B: ${REF}\n      C: $${NOT_INTERPOLATED}\n      D: ${MISSING:-fallback}\n      P: ${COMPOSE_PROJECT_NAME}\n");
    let p = t.load_env(&["compose.yaml"], &[("TAG", "from-shell")], &[]).unwrap();
    let web = &p.services["web"];
    assert_eq!(web.image.as_deref(), Some("app:from-shell"), "the shell wins over .env");
    assert_eq!(web.environment["A"].as_deref(), Some("yes"));
    assert_eq!(web.environment["B"].as_deref(), Some("from-shell-ref"));
    assert_eq!(web.environment["C"].as_deref(), Some("${NOT_INTERPOLATED}"));
    assert_eq!(web.environment["D"].as_deref(), Some("fallback"));
    assert_eq!(web.environment["P"].as_deref(), Some("proj"));

    let t = Tmp::new();
    t.write("compose.yaml", "services:\n  web:\n    image: x\n    environment:\n      PASSWORD: ${DB_PASSWORD:?set DB_PASSWORD in .env}\n");
    let e = t.load(&["compose.yaml"]).unwrap_err();
    assert_eq!(e.message, "required variable DB_PASSWORD is missing a value: set DB_PASSWORD in .env");
    assert_eq!(at(&e), ("compose.yaml".into(), Some(Pos { line: 5, col: 7 }), "services.web.environment.PASSWORD".into()));
}

#[test]
fn env_file_and_environment() {
    let t = Tmp::new();
    t.write("a.env", "A=from-a\nSHARED=a\nREF=${A}-x\n");
    t.write("b.env", "SHARED=b\nFROM_PREV=${SHARED}\n");
    t.write(
        "compose.yaml",
        "services:\n  web:\n    image: x\n    env_file: [a.env, b.env, {path: optional.env, required: false}]\n    environment: [SHARED=service, BARE, FROM_SHELL]\n",
    );
    let p = t.load_env(&["compose.yaml"], &[("FROM_SHELL", "sh")], &[]).unwrap();
    let env = &p.services["web"].environment;
    assert_eq!(env["A"].as_deref(), Some("from-a"));
    assert_eq!(env["REF"].as_deref(), Some("from-a-x"));
    assert_eq!(env["FROM_PREV"].as_deref(), Some("a"), "an env file sees the previous ones");
    assert_eq!(env["SHARED"].as_deref(), Some("service"), "environment wins");
    assert_eq!(env["BARE"], None, "unset everywhere: no value, like compose");
    assert_eq!(env["FROM_SHELL"].as_deref(), Some("sh"));
    assert_eq!(p.services["web"].env_files.len(), 3);

    let t = Tmp::new();
    t.write("compose.yaml", "services:\n  web:\n    image: x\n    env_file: [missing.env]\n");
    let e = t.load(&["compose.yaml"]).unwrap_err();
    assert!(e.message.contains("env file") && e.message.contains("missing.env") && e.message.contains("not found"), "{}", e.message);
    assert_eq!(at(&e).1, Some(Pos { line: 4, col: 16 }));
}

#[test]
fn profiles() {
    let t = Tmp::new();
    t.write(
        "compose.yaml",
        "services:\n  app: {image: app}\n  debug: {image: busybox, profiles: [debug]}\n  tools: {image: tools, profiles: [tools, debug]}\n  needs-debug:\n    image: x\n    profiles: [extra]\n    depends_on: [debug]\n",
    );
    let names = |p: &ComposeProject| p.services.keys().cloned().collect::<Vec<_>>();
    let p = t.load(&["compose.yaml"]).unwrap();
    assert_eq!(names(&p), ["app"]);
    assert_eq!(p.disabled_services, ["debug", "needs-debug", "tools"]);
    let p = t.load_env(&["compose.yaml"], &[], &["debug"]).unwrap();
    assert_eq!(names(&p), ["app", "debug", "tools"]);
    let p = t.load_env(&["compose.yaml"], &[("COMPOSE_PROFILES", "tools")], &[]).unwrap();
    assert_eq!(names(&p), ["app", "tools"]);
    let e = t.load_env(&["compose.yaml"], &[], &["extra"]).unwrap_err();
    assert!(e.message.contains("depends on undefined service \"debug\""), "{}", e.message);
    assert_eq!(e.pos, Some(Pos { line: 8, col: 18 }), "at the list item");
    assert!(e.hint.unwrap().contains("--profile debug"));
    let p = t.load_env(&["compose.yaml"], &[], &["*"]).unwrap();
    assert_eq!(p.services.len(), 4);
}

#[test]
fn project_names() {
    let t = Tmp::new();
    t.write("compose.yaml", "name: My_App.${SUFFIX:-dev}\nservices:\n  a: {image: x}\n");
    assert_eq!(t.load(&["compose.yaml"]).unwrap().name, "my_appdev");
    let mut opts = LoadOptions { cwd: t.root(), project: Some("ci-1".into()), ..Default::default() };
    assert_eq!(load(&[PathBuf::from("compose.yaml")], &opts).unwrap().name, "ci-1");
    opts.project = Some("Bad Name".into());
    let e = load(&[PathBuf::from("compose.yaml")], &opts).unwrap_err();
    assert!(e.message.contains("invalid project name \"Bad Name\""), "{}", e.message);
    assert_eq!(t.load_env(&["compose.yaml"], &[("COMPOSE_PROJECT_NAME", "from-env")], &[]).unwrap().name, "from-env");
    let t = Tmp::new();
    t.write("compose.yaml", "services:\n  a: {image: x}\n");
    assert_eq!(t.load(&["compose.yaml"]).unwrap().name, "proj");
}

#[test]
fn unsupported_keys() {
    let t = Tmp::new();
    t.write("compose.yaml", "services:\n  web:\n    image: x\n    logging: {driver: json-file}\n    mem_limit: 1g\n    build: {context: ., cache_from: [x]}\n  db:\n    image: y\n");
    let p = t.load(&["compose.yaml"]).unwrap();
    assert_eq!(p.services["web"].ignored_keys, ["logging", "build.cache_from"]);
    let w: Vec<&String> = p.warnings.iter().filter(|w| w.contains("devenv ignores")).collect();
    assert_eq!(w, [&"service `web`: devenv ignores logging, build.cache_from".to_string()]);

    let t = Tmp::new();
    // Issue 16: `network_mode` runs now; published ports with `host` are what is refused.
    t.write("compose.yaml", "services:\n  web:\n    image: x\n  proxy:\n    image: y\n    network_mode: host\n    ports: [\"80:80\"]\n");
    let e = t.load(&["compose.yaml"]).unwrap_err();
    assert!(e.message.contains("host network mode"), "{}", e.message);
    assert_eq!(at(&e), ("compose.yaml".into(), Some(Pos { line: 7, col: 5 }), "services.proxy.ports".into()));
    assert!(e.hint.is_some());

    // A disabled service is not reviewed.
    let t = Tmp::new();
    t.write("compose.yaml", "services:\n  web:\n    image: x\n  gpu:\n    image: y\n    profiles: [ml]\n    runtime: nvidia\n");
    assert!(t.load(&["compose.yaml"]).is_ok());
}

#[test]
fn version_is_obsolete_and_x_fields_are_kept() {
    let t = Tmp::new();
    t.write("compose.yaml", "version: '3.8'\nx-common: &common\n  restart: unless-stopped\n  environment: {TZ: UTC}\nservices:\n  web:\n    <<: *common\n    image: x\n    x-note: local\n");
    let p = t.load(&["compose.yaml"]).unwrap();
    assert!(p.warnings.iter().any(|w| w.contains("`version` is obsolete")), "{:?}", p.warnings);
    assert_eq!(p.services["web"].restart.as_deref(), Some("unless-stopped"));
    assert_eq!(p.services["web"].environment["TZ"].as_deref(), Some("UTC"));
    let v = serde_json::to_value(&p).unwrap();
    assert_eq!(v["x-common"]["restart"], json!("unless-stopped"));
    assert!(v.get("version").is_none());
}

#[test]
fn consistency_errors() {
    for (yaml, want, path) in [
        ("services:\n  a:\n    command: x\n", "neither an image nor a build context", "services.a"),
        ("services:\n  a:\n    image: x\n    networks: [nope]\n", "undefined network nope", "services.a.networks.nope"),
        ("services:\n  a:\n    image: x\n    volumes: [\"data:/d\"]\n", "undefined volume data", "services.a.volumes[0]"),
        (
            "services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [a]\n",
            "dependency cycle detected: a -> b -> a",
            "services.a.depends_on.b",
        ),
        (
            "services:\n  a:\n    image: x\n    healthcheck: {test: [curl, x]}\n",
            "healthcheck.test must start",
            "services.a.healthcheck.test",
        ),
        (
            "services:\n  a:\n    image: x\n    develop: {watch: [{path: ., action: sync}]}\n",
            "target is required",
            "services.a.develop.watch[0]",
        ),
    ] {
        let t = Tmp::new();
        t.write("compose.yaml", yaml);
        let e = t.load(&["compose.yaml"]).unwrap_err();
        assert!(e.message.contains(want), "{yaml}: {}", e.message);
        assert_eq!(e.yaml_path, path, "{yaml}");
        assert!(e.pos.is_some(), "{yaml}");
    }
}

#[test]
fn only_used_networks_and_volumes() {
    let t = Tmp::new();
    t.write(
        "compose.yaml",
        "services:\n  a:\n    image: x\n    networks: [front]\n    volumes: [\"data:/d\", \"/anon\"]\nnetworks:\n  front: {driver: bridge}\n  unused: {}\nvolumes:\n  data: {labels: [a=b]}\n  spare:\n",
    );
    let v = t.json(&["compose.yaml"]);
    assert_eq!(v["networks"], json!({"front": {"name": "proj_front", "driver": "bridge", "ipam": {}}}));
    assert_eq!(v["volumes"], json!({"data": {"name": "proj_data", "labels": {"a": "b"}}}));
}

#[test]
fn missing_and_empty_files() {
    let t = Tmp::new();
    let e = t.load(&["nope.yaml"]).unwrap_err();
    assert!(e.message.contains("not found"), "{}", e.message);
    t.write("compose.yaml", "# nothing\n");
    let e = t.load(&["compose.yaml"]).unwrap_err();
    assert_eq!(e.message, "empty compose file");
}

/// Fragments of real compose files, shuffled into documents that are often
/// wrong: loading must fail with an error, never panic.
const FRAGMENTS: &[&str] = &[
    "services:\n",
    "  a:\n",
    "  b:\n",
    "    image: x\n",
    "    build: .\n",
    "    extends: b\n",
    "    extends: {file: x.yaml, service: a}\n",
    "    ports: [\"80:80\", 9000, {target: 1}]\n",
    "    ports: 80\n",
    "    volumes: [\"data:/d\", \"./x:/x:ro\", {type: tmpfs, target: /t}]\n",
    "    environment: {A: 1, B: null}\n",
    "    environment: [A, B=2]\n",
    "    depends_on: [a, b]\n",
    "    depends_on: {a: {condition: service_healthy}}\n",
    "    command: 'echo \"x'\n",
    "    healthcheck: {test: x, interval: 5}\n",
    "    networks: [n]\n",
    "    ulimits: {nofile: {soft: x}}\n",
    "    <<: *anchor\n",
    "x-a: &anchor {restart: always}\n",
    "include: [missing.yaml]\n",
    "volumes:\n  data:\n",
    "networks:\n  n: {external: true, driver: x}\n",
    "    env_file: nope.env\n",
    "name: ${NAME:?}\n",
    "    image: ${X:-${Y}}\n",
    "  - list\n",
    "{\n",
    ": :\n",
];

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
    #[test]
    fn never_panics(picks in proptest::collection::vec(0..FRAGMENTS.len(), 0..14)) {
        let text: String = picks.iter().map(|&i| FRAGMENTS[i]).collect();
        let t = Tmp::new();
        t.write("compose.yaml", &text);
        let _ = t.load(&["compose.yaml"]);
    }
}
