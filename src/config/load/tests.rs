use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::*;
use crate::config::{CommandSpec, Condition, PortSpec, VolumeSpec};

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A temp project dir holding `devenv.yaml`.
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new(yaml: &str) -> Project {
        let dir = tempfile::Builder::new().prefix("proj").tempdir().unwrap();
        std::fs::write(dir.path().join("devenv.yaml"), yaml).unwrap();
        Project { dir }
    }

    fn write(&self, rel: &str, text: &str) -> &Project {
        let p = self.dir.path().join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(p, text).unwrap();
        self
    }

    fn opts(&self) -> LoadOptions {
        LoadOptions { cwd: self.dir.path().to_path_buf(), ..LoadOptions::default() }
    }

    fn load(&self) -> Result<LoadedEnv, ConfigError> {
        load(&self.opts())
    }

    fn load_with(&self, f: impl FnOnce(&mut LoadOptions)) -> Result<LoadedEnv, ConfigError> {
        let mut o = self.opts();
        f(&mut o);
        load(&o)
    }
}

fn environ(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// (yaml path, line, col)
fn at(e: &ConfigError) -> (String, usize, usize) {
    let p = e.pos.unwrap_or(Pos { line: 0, col: 0 });
    (e.yaml_path.clone(), p.line, p.col)
}

fn loc(path: &str, line: usize, col: usize) -> (String, usize, usize) {
    (path.to_string(), line, col)
}

// ---------------------------------------------------------------- finding the file

#[test]
fn missing_file_suggests_init() {
    let dir = tempfile::tempdir().unwrap();
    let e = load(&LoadOptions { cwd: dir.path().into(), ..Default::default() }).unwrap_err();
    assert!(e.message.contains("no devenv.yaml"), "{e}");
    assert!(e.hint.as_deref().unwrap_or("").contains("devenv init"));
    assert!(e.hint.as_deref().unwrap_or("").contains("-f"));
}

#[test]
fn yml_fallback_and_dash_f() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("devenv.yml"), "services: {db: {preset: redis}}\n").unwrap();
    let env = load(&LoadOptions { cwd: dir.path().into(), ..Default::default() }).unwrap();
    assert_eq!(env.file, dir.path().join("devenv.yml"));
    assert_eq!(env.dir, dir.path());

    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("sub/other.yaml"), "services: {db: {preset: redis}}\n").unwrap();
    let env = load(&LoadOptions { cwd: dir.path().into(), file: Some("sub/./other.yaml".into()), ..Default::default() }).unwrap();
    assert_eq!(env.file, dir.path().join("sub/other.yaml"));
    assert_eq!(env.dir, dir.path().join("sub"));
    assert_eq!(env.project, "sub");

    let e = load(&LoadOptions { cwd: dir.path().into(), file: Some("nope.yaml".into()), ..Default::default() }).unwrap_err();
    assert!(e.message.contains("not found"), "{e}");
    let e = load(&LoadOptions { cwd: dir.path().into(), file: Some("sub".into()), ..Default::default() }).unwrap_err();
    assert!(e.message.contains("directory"), "{e}");
}

#[test]
fn invalid_utf8_has_position() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("devenv.yaml"), b"services:\n  db: \xff\xfe\n").unwrap();
    let e = load(&LoadOptions { cwd: dir.path().into(), ..Default::default() }).unwrap_err();
    assert_eq!(e.pos, Some(Pos { line: 2, col: 7 }));
    assert!(e.to_string().contains(":2:7"), "{e}");
}

// ---------------------------------------------------------------- happy path

#[test]
fn minimal_file() {
    let p = Project::new("services:\n  db:\n    preset: postgres\n");
    let env = p.load().unwrap();
    assert_eq!(env.spec.services.len(), 1);
    assert!(env.project.starts_with("proj"));
    assert!(env.spec.services["db"].parsed.ports.is_empty());
    assert!(env.spec.services["db"].parsed.env.is_empty());
    assert!(env.warnings.is_empty());
}

#[test]
fn full_fixture() {
    let dir = manifest_dir().join("fixtures/config/full");
    let opts = LoadOptions {
        cwd: dir.clone(),
        environ: environ(&[("API_KEY", "from-shell"), ("FROM_SHELL", "hi")]),
        profiles: vec!["api".into()],
        ..Default::default()
    };
    let env = load(&opts).unwrap();
    assert_eq!(env.project, "enrichment");
    let names: Vec<&str> = env.spec.services.keys().map(String::as_str).collect();
    assert_eq!(names, ["db", "cache", "migrate", "worker", "api"], "search is disabled by profile");

    let api = &env.spec.services["api"];
    assert_eq!(api.depends_on.0["migrate"], Condition::Completed);
    assert_eq!(api.health.as_ref().and_then(|h| h.port), Some(3000), "numeric string from .env");
    assert_eq!(env.spec.services["db"].version.as_deref(), Some("16"));

    let api_env = &env.spec.services["api"].parsed.env;
    assert_eq!(api_env["DATABASE_URL"], "${db.url}");
    assert_eq!(api_env["REDIS_URL"], "${cache.url}");
    assert_eq!(api_env["API_KEY"], "from-shell", "process env wins over .env");
    assert_eq!(api_env["LOG_LEVEL"], "debug", "env wins over env_file");
    assert_eq!(api_env["FROM_FILE"], "yes");
    assert_eq!(api_env["SECRET_COPY"], "s3cr3t $NOT_EXPANDED");
    assert_eq!(api_env["PRICE"], "$5");
    let order: Vec<&str> = api_env.keys().map(String::as_str).collect();
    assert_eq!(&order[..3], ["LOG_LEVEL", "FROM_FILE", "SECRET_COPY"]);

    let worker = &env.spec.services["worker"];
    assert_eq!(worker.image.as_deref(), Some("node:20"), "merged from x-node");
    assert_eq!(worker.command, Some(CommandSpec::Shell("node worker.js".into())));
    assert_eq!(env.spec.services["worker"].parsed.env["QUEUE"], "jobs");
    assert_eq!(env.spec.services["worker"].parsed.env["FROM_SHELL"], "hi");

    assert_eq!(
        env.spec.services["cache"].parsed.ports,
        vec![PortSpec { host_ip: None, host_port: Some(6380), host_port_end: None, container_port: 6380, protocol: "tcp".into() }]
    );
    assert_eq!(env.spec.services["api"].parsed.ports[1].host_port, None);
    assert_eq!(env.spec.services["api"].parsed.volumes[0], VolumeSpec::Bind { source: dir.join("backend"), target: "/app".into(), read_only: true });
    assert_eq!(env.spec.services["api"].parsed.volumes[1], VolumeSpec::Anonymous { target: "/app/node_modules".into() });
    assert!(env.locations.get("services.api.health.port").is_some());
}

#[test]
fn project_names() {
    // Explicit names (`name:`, `-p`) are used as written or refused, never rewritten
    // (issue 14 item 9: `../rel-x` and `rel-x` must not become one project).
    let p = Project::new("name: My_App.v2\nservices: {}\n");
    let e = p.load().unwrap_err();
    assert_eq!(at(&e), loc("name", 1, 1));
    assert!(e.message.contains("invalid project name \"My_App.v2\""), "{e}");
    assert!(e.hint.as_deref().unwrap_or("").contains("`my_appv2`"), "{e}");
    let e = p.load_with(|o| o.project = Some("Other".into())).unwrap_err();
    assert!(e.message.contains("invalid project name \"Other\"") && e.message.contains("(from -p)"), "{e}");
    assert_eq!(p.load_with(|o| o.project = Some("other_1-x".into())).unwrap().project, "other_1-x");
    let e = p.load_with(|o| o.project = Some("---".into())).unwrap_err();
    assert!(e.message.contains("invalid project name"), "{e}");
    for bad in ["../rel-x", "rel-x/", "a b", ""] {
        let p = Project::new(&format!("name: {bad:?}\nservices: {{}}\n"));
        let e = p.load().unwrap_err();
        assert!(e.message.contains("invalid project name"), "{bad}: {e}");
    }
    assert_eq!(Project::new("name: rel-x\nservices: {}\n").load().unwrap().project, "rel-x");
    let p = Project::new("name: \"__\"\nservices: {}\n");
    let e = p.load().unwrap_err();
    assert_eq!(at(&e), loc("name", 1, 1));
    assert_eq!(normalize_project_name("-Foo Bar!"), "foobar");
    assert_eq!(normalize_project_name("_x-1"), "x-1");
}

// ---------------------------------------------------------------- unknown keys

#[test]
fn unknown_service_key_points_at_key() {
    let p = Project::new("services:\n  api:\n    image: node\n    imag: node:20\n");
    let e = p.load().unwrap_err();
    assert_eq!(at(&e), loc("services.api.imag", 4, 5));
    assert_eq!(e.message, "unknown key `imag`");
    assert_eq!(e.hint.as_deref(), Some("did you mean `image`?"));
    assert!(e.to_string().ends_with("devenv.yaml:4:5: services.api.imag: unknown key `imag`"), "{e}");
}

#[test]
fn unknown_keys_elsewhere() {
    let cases: &[(&str, (&str, usize, usize), &str)] = &[
        ("servics:\n  db: {preset: redis}\n", ("servics", 1, 1), "services"),
        ("services:\n  api:\n    build:\n      contxt: .\n", ("services.api.build.contxt", 4, 7), "context"),
        (
            "services:\n  api:\n    image: x\n    health:\n      http: /h\n      intervall: 1s\n",
            ("services.api.health.intervall", 6, 7),
            "interval",
        ),
        (
            "services:\n  db: {preset: redis}\n  api:\n    image: x\n    depends_on:\n      db: {conditon: healthy}\n",
            ("services.api.depends_on.db.conditon", 6, 12),
            "condition",
        ),
    ];
    for (yaml, (path, line, col), suggestion) in cases {
        let e = Project::new(yaml).load().unwrap_err();
        assert_eq!(at(&e), loc(path, *line, *col), "{yaml}\n{e}");
        assert_eq!(e.hint.as_deref(), Some(format!("did you mean `{suggestion}`?").as_str()), "{e}");
    }
    // Nothing close: list the valid keys.
    let e = Project::new("services:\n  api:\n    image: x\n    zzzzzzzzzzzz: 1\n").load().unwrap_err();
    assert!(e.hint.unwrap().contains("`depends_on`"));
}

#[test]
fn unknown_variants() {
    let e = Project::new("services:\n  job:\n    image: x\n    run: onse\n").load().unwrap_err();
    assert_eq!(at(&e), loc("services.job.run", 4, 5));
    assert_eq!(e.hint.as_deref(), Some("did you mean `once`?"));
    let e = Project::new("services:\n  db: {preset: redis}\n  api:\n    image: x\n    depends_on:\n      db: ready\n").load().unwrap_err();
    assert_eq!(at(&e), loc("services.api.depends_on.db", 6, 7));
    assert_eq!(e.message, "unknown value `ready` for `db`");
    assert!(e.hint.as_deref().unwrap_or("").contains("`healthy`"), "{:?}", e.hint);
    let e = Project::new("services:\n  db: {preset: redis}\n  api:\n    image: x\n    depends_on:\n      db: {condition: helthy}\n")
        .load()
        .unwrap_err();
    assert_eq!(e.yaml_path, "services.api.depends_on.db");
    assert_eq!(e.hint.as_deref(), Some("did you mean `healthy`?"));
}

#[test]
fn type_errors_have_paths() {
    let e = Project::new("services:\n  api:\n    image: x\n    ports: \"80:80\"\n").load().unwrap_err();
    assert_eq!(at(&e), loc("services.api.ports", 4, 5));
    let e = Project::new("services:\n  api:\n    image: x\n    health: {tcp: 70000}\n").load().unwrap_err();
    assert_eq!(e.yaml_path, "services.api.health.tcp");
    assert!(e.message.contains("65535"), "{e}");
    let e = Project::new("services:\n  api:\n    image: x\n    health: {tcp: 80, timeout: 3 weeks}\n").load().unwrap_err();
    assert_eq!(e.yaml_path, "services.api.health.timeout");
    let e = Project::new("services: [a, b]\n").load().unwrap_err();
    assert_eq!(at(&e), loc("services", 1, 1));
}

// ---------------------------------------------------------------- YAML level

#[test]
fn syntax_errors_have_positions() {
    let e = Project::new("services:\n  db:\n    preset: postgres\n   ports: [\"5432\"]\n").load().unwrap_err();
    let pos = e.pos.unwrap();
    assert_eq!(pos.line, 4, "{e}");
    assert!(e.message.starts_with("invalid YAML"), "{e}");
    assert!(!e.message.contains(" at line 4 column 4"), "{e}");
    // (strip_location itself is tested in yaml::syntax.)
    let e = Project::new("services:\n  db:\n    preset: x\n  db:\n    preset: y\n").load().unwrap_err();
    assert!(e.message.contains("duplicate"), "{e}");
    assert_eq!(at(&e), loc("services.db", 4, 3));
    let e = Project::new("services: {}\n---\nservices: {}\n").load().unwrap_err();
    assert_eq!(e.pos, Some(Pos { line: 2, col: 1 }));
}

#[test]
fn empty_and_non_map_files() {
    let e = Project::new("").load().unwrap_err();
    assert!(e.message.contains("empty"));
    assert_eq!(e.pos, Some(Pos { line: 1, col: 1 }));
    let e = Project::new("# just a comment\n").load().unwrap_err();
    assert!(e.message.contains("empty"));
    let e = Project::new("- a\n").load().unwrap_err();
    assert!(e.message.contains("found a list"), "{e}");
}

#[test]
fn merge_keys_and_extensions() {
    let p = Project::new(
        "x-base: &base\n  image: node\n  env: {A: \"1\"}\nx-more: &more\n  <<: *base\n  working_dir: /w\nservices:\n  a:\n    <<: *more\n    env: {B: \"2\"}\n    x-note: ignored\n  b:\n    <<: [*base, {user: root}]\n",
    );
    let env = p.load().unwrap();
    let a = &env.spec.services["a"];
    assert_eq!(a.image.as_deref(), Some("node"));
    assert_eq!(a.working_dir.as_deref(), Some("/w"));
    assert_eq!(env.spec.services["a"].parsed.env.keys().collect::<Vec<_>>(), ["B"], "own keys win over merged ones");
    assert_eq!(env.spec.services["b"].user.as_deref(), Some("root"));

    let e = Project::new("services:\n  a:\n    <<: [1]\n    image: x\n").load().unwrap_err();
    assert_eq!(at(&e), loc("services.a.<<", 3, 5));
}

// ---------------------------------------------------------------- interpolation

#[test]
fn interpolation_errors_have_paths() {
    let p = Project::new("services:\n  api:\n    image: x\n    env:\n      KEY: ${API_KEY:?get one from the wiki}\n");
    let e = p.load().unwrap_err();
    assert_eq!(at(&e), loc("services.api.env.KEY", 5, 7));
    assert!(e.message.contains("API_KEY") && e.message.contains("get one from the wiki"), "{e}");
    let env = p.load_with(|o| o.environ = environ(&[("API_KEY", "k")])).unwrap();
    assert_eq!(env.spec.services["api"].parsed.env["KEY"], "k");

    let e = Project::new("services:\n  api:\n    image: \"x:${}\"\n").load().unwrap_err();
    assert_eq!(at(&e), loc("services.api.image", 3, 5));
}

#[test]
fn dotenv_precedence_and_warnings() {
    let p = Project::new(
        "services:\n  api:\n    image: \"node:${TAG}\"\n    env: {A: $A, B: \"${B}\", C: \"${UNSET_THING}\", R: \"${db.url}\"}\n",
    );
    p.write(".env", "TAG=from-dotenv\nA=dot-a\nB=dot-b\nbroken line\n9=x\n");
    let env = p.load_with(|o| o.environ = environ(&[("A", "shell-a")])).unwrap();
    assert_eq!(env.spec.services["api"].image.as_deref(), Some("node:from-dotenv"));
    let e = &env.spec.services["api"].parsed.env;
    assert_eq!(e["A"], "shell-a");
    assert_eq!(e["B"], "dot-b");
    assert_eq!(e["C"], "");
    assert_eq!(e["R"], "${db.url}");
    assert!(env.warnings.iter().any(|w| w.contains("UNSET_THING")), "{:?}", env.warnings);
    assert!(env.warnings.iter().any(|w| w.contains(".env") && w.contains("line 5")), "{:?}", env.warnings);
}

// ---------------------------------------------------------------- env / env_file

#[test]
fn env_files_in_order_then_env() {
    let p = Project::new(
        "services:\n  api:\n    image: x\n    env_file: [a.env, conf/b.env]\n    env:\n      - SHARED=from-env\n      - FROM_SHELL\n      - NOWHERE\n",
    );
    p.write("a.env", "SHARED=a\nONLY_A=1\nOVERRIDDEN=a\n");
    p.write("conf/b.env", "OVERRIDDEN=b\n# comment\nBARE_IN_FILE\n");
    let env = p.load_with(|o| o.environ = environ(&[("FROM_SHELL", "sh"), ("BARE_IN_FILE", "bf")])).unwrap();
    let e = &env.spec.services["api"].parsed.env;
    assert_eq!(e["SHARED"], "from-env");
    assert_eq!(e["ONLY_A"], "1");
    assert_eq!(e["OVERRIDDEN"], "b");
    assert_eq!(e["FROM_SHELL"], "sh");
    assert_eq!(e["BARE_IN_FILE"], "bf");
    assert!(!e.contains_key("NOWHERE"));
}

#[test]
fn missing_env_file() {
    let p = Project::new("services:\n  api:\n    image: x\n    env_file:\n      - ok.env\n      - missing.env\n");
    p.write("ok.env", "A=1\n");
    let e = p.load().unwrap_err();
    assert_eq!(at(&e), loc("services.api.env_file[1]", 6, 9));
    assert!(e.message.contains("missing.env"), "{e}");
    let e = Project::new("services:\n  api:\n    image: x\n    env_file: missing.env\n").load().unwrap_err();
    assert_eq!(at(&e), loc("services.api.env_file", 4, 5));
}

// ---------------------------------------------------------------- profiles

#[test]
fn profiles() {
    let yaml = "services:\n  search:\n    preset: elasticsearch\n    profiles: [full, search]\n  api:\n    image: x\n    depends_on:\n      search: healthy\n";
    let p = Project::new(yaml);
    let e = p.load().unwrap_err();
    assert_eq!(at(&e), loc("services.api.depends_on.search", 8, 7));
    assert!(e.message.contains("disabled by profile"), "{e}");
    assert!(e.message.contains("full"), "{e}");
    assert!(e.hint.as_deref().unwrap_or("").contains("--profile full"));

    let env = p.load_with(|o| o.profiles = vec!["search".into()]).unwrap();
    assert!(env.spec.services.contains_key("search"));
    let env = p.load_with(|o| o.profiles = vec!["*".into()]).unwrap();
    assert!(env.spec.services.contains_key("search"));

    // A disabled service's own problems do not matter; it is gone.
    let p = Project::new("services:\n  a:\n    image: x\n  b:\n    image: x\n    profiles: [dev]\n    depends_on: [nope]\n");
    let env = p.load().unwrap();
    assert_eq!(env.spec.services.keys().collect::<Vec<_>>(), ["a"]);
    assert!(!env.spec.services.contains_key("b"));
}

// ---------------------------------------------------------------- the bad corpus

/// Expected (yaml path, line, col) for some files of the corpus.
const EXPECTED: &[(&str, &str, usize, usize)] = &[
    ("unknown-key.yaml", "services.api.imag", 3, 5),
    ("unknown-top-key.yaml", "servics", 2, 1),
    ("unknown-dependency.yaml", "services.api.depends_on.db2", 7, 7),
    ("self-dependency.yaml", "services.api.depends_on[0]", 4, 18),
    ("bad-port.yaml", "services.api.ports[1]", 6, 9),
    ("duplicate-host-port.yaml", "services.db2.ports[0]", 7, 13),
    ("missing-env-file.yaml", "services.api.env_file[0]", 5, 9),
    ("missing-build-context.yaml", "services.api.build.context", 4, 7),
    ("missing-image.yaml", "services.worker", 2, 3),
    ("completed-without-run-once.yaml", "services.api.depends_on.migrate", 8, 7),
    ("bad-volume.yaml", "services.db.volumes[0]", 5, 9),
    ("missing-bind-source.yaml", "services.api.volumes[0]", 5, 9),
    ("bad-volume-option.yaml", "services.api.volumes[0]", 4, 15),
    ("health-two-probes.yaml", "services.api.health.tcp", 6, 7),
    ("health-no-probe.yaml", "services.api.health", 4, 5),
    ("health-http-path.yaml", "services.api.health.http", 5, 7),
    ("unknown-preset.yaml", "services.db.preset", 3, 5),
    ("bad-service-name.yaml", "services._api", 2, 3),
    ("unknown-run-mode.yaml", "services.job.run", 4, 5),
    ("unknown-build-key.yaml", "services.api.build.contxt", 4, 7),
    ("unknown-health-key.yaml", "services.api.health.intervall", 6, 7),
    ("required-variable.yaml", "services.api.env.API_KEY", 5, 7),
    ("invalid-interpolation.yaml", "services.api.image", 3, 5),
    ("bad-merge.yaml", "services.api.<<", 3, 5),
    ("wrong-type.yaml", "services.api.ports", 4, 5),
    ("bad-duration.yaml", "services.api.health.timeout", 6, 7),
    ("bad-name.yaml", "name", 1, 1),
    ("disabled-dependency.yaml", "services.api.depends_on.search", 8, 7),
    ("malformed.yaml", "", 4, 4),
    ("duplicate-key.yaml", "services.db", 4, 3),
    ("multi-document.yaml", "", 4, 1),
    ("unknown-condition.yaml", "services.api.depends_on.db", 7, 7),
];

#[test]
fn bad_corpus_yields_located_errors() {
    let dir = manifest_dir().join("fixtures/bad");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_file()).collect();
    files.sort();
    assert!(files.len() >= 20, "corpus missing? {}", dir.display());
    for f in &files {
        let opts = LoadOptions { cwd: dir.clone(), file: Some(f.clone()), ..Default::default() };
        let e = match load(&opts) {
            Ok(_) => panic!("{} loaded without error", f.display()),
            Err(e) => e,
        };
        let shown = e.to_string();
        let pos = e.pos.unwrap_or_else(|| panic!("{}: no position: {shown}", f.display()));
        assert!(shown.contains(&format!(":{}:{}", pos.line, pos.col)), "{shown}");
        assert!(shown.starts_with(&f.display().to_string()), "{shown}");
        let name = f.file_name().unwrap().to_string_lossy();
        if let Some((_, path, line, col)) = EXPECTED.iter().find(|(n, ..)| *n == name) {
            assert_eq!(at(&e), loc(path, *line, *col), "{name}: {shown}");
        }
        eprintln!("{shown}\n    hint: {}", e.hint.as_deref().unwrap_or("-"));
    }
    for (name, ..) in EXPECTED {
        assert!(dir.join(name).is_file(), "{name} missing from the corpus");
    }
}

// ---------------------------------------------------------------- fuzzing

fn seeds() -> Vec<String> {
    let mut out = vec![];
    for d in ["fixtures/bad", "fixtures/config", "fixtures/config/full"] {
        if let Ok(rd) = std::fs::read_dir(manifest_dir().join(d)) {
            for e in rd.flatten() {
                if e.path().extension().is_some_and(|x| x == "yaml")
                    && let Ok(t) = std::fs::read_to_string(e.path())
                {
                    out.push(t);
                }
            }
        }
    }
    out.sort();
    out
}

fn load_bytes(dir: &Path, bytes: &[u8], profiles: &[&str]) {
    std::fs::write(dir.join("devenv.yaml"), bytes).unwrap();
    let opts = LoadOptions {
        cwd: dir.to_path_buf(),
        profiles: profiles.iter().map(|s| s.to_string()).collect(),
        environ: environ(&[("A", "1"), ("HOME", "/root")]),
        ..Default::default()
    };
    if let Err(e) = load(&opts) {
        // Displaying must not panic either.
        let _ = e.to_string();
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Delete(usize, usize),
    Insert(usize, String),
    Replace(usize, u8),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    Indent(usize, usize),
}

fn mutation() -> impl proptest::strategy::Strategy<Value = Mutation> {
    use proptest::prelude::*;
    let token = prop_oneof![
        Just(":".to_string()),
        Just(": ".to_string()),
        Just("- ".to_string()),
        Just("\n".to_string()),
        Just("  ".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just("{".to_string()),
        Just("}".to_string()),
        Just("\"".to_string()),
        Just("'".to_string()),
        Just("&a ".to_string()),
        Just("*a".to_string()),
        Just("<<: ".to_string()),
        Just("${".to_string()),
        Just("$$".to_string()),
        Just("${A:-x}".to_string()),
        Just("${X:?m}".to_string()),
        Just("${db.url}".to_string()),
        Just("!!str ".to_string()),
        Just("? ".to_string()),
        Just("---\n".to_string()),
        Just("#".to_string()),
        Just("\t".to_string()),
        Just("0".to_string()),
        Just("65536".to_string()),
        Just("/".to_string()),
        Just("..".to_string()),
        Just("~".to_string()),
        Just("é".to_string()),
        "\\PC{0,8}",
    ];
    prop_oneof![
        (any::<usize>(), 1usize..12).prop_map(|(a, n)| Mutation::Delete(a, n)),
        (any::<usize>(), token).prop_map(|(a, t)| Mutation::Insert(a, t)),
        (any::<usize>(), any::<u8>()).prop_map(|(a, b)| Mutation::Replace(a, b)),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (any::<usize>(), 0usize..6).prop_map(|(a, n)| Mutation::Indent(a, n)),
    ]
}

fn apply(mut bytes: Vec<u8>, m: &Mutation) -> Vec<u8> {
    let len = bytes.len();
    match m {
        Mutation::Delete(a, n) if len > 0 => {
            let start = a % len;
            let end = (start + n).min(len);
            bytes.drain(start..end);
        }
        Mutation::Insert(a, t) => {
            let at = a % (len + 1);
            bytes.splice(at..at, t.bytes());
        }
        Mutation::Replace(a, b) if len > 0 => bytes[a % len] = *b,
        Mutation::DuplicateLine(a) | Mutation::SwapLines(a, _) | Mutation::Indent(a, _) => {
            let mut lines: Vec<Vec<u8>> = bytes.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
            let n = lines.len();
            let i = a % n;
            match m {
                Mutation::DuplicateLine(_) => {
                    let l = lines[i].clone();
                    lines.insert(i, l);
                }
                Mutation::SwapLines(_, b) => lines.swap(i, b % n),
                Mutation::Indent(_, k) => {
                    let trimmed: Vec<u8> = lines[i].iter().copied().skip_while(|c| *c == b' ').collect();
                    lines[i] = std::iter::repeat_n(b' ', *k).chain(trimmed).collect();
                }
                _ => {}
            }
            bytes = lines.join(&b'\n');
        }
        _ => {}
    }
    bytes
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 512, ..Default::default() })]

    #[test]
    fn load_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
        let dir = tempfile::tempdir().unwrap();
        load_bytes(dir.path(), &bytes, &[]);
    }

    #[test]
    fn load_never_panics_on_yamlish_text(s in "[a-z:{}\\[\\]\\-,'\"&*!?#|>$ \\n]{0,200}") {
        let dir = tempfile::tempdir().unwrap();
        load_bytes(dir.path(), s.as_bytes(), &["full"]);
    }

    #[test]
    fn load_never_panics_on_mutated_files(
        seed in proptest::prelude::any::<proptest::sample::Index>(),
        muts in proptest::collection::vec(mutation(), 1..6),
    ) {
        let seeds = seeds();
        proptest::prop_assume!(!seeds.is_empty());
        let mut bytes = seeds[seed.index(seeds.len())].clone().into_bytes();
        for m in &muts {
            bytes = apply(bytes, m);
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("backend")).unwrap();
        std::fs::write(dir.path().join("backend/Dockerfile"), "FROM scratch\n").unwrap();
        std::fs::write(dir.path().join("api.env"), "A=1\n").unwrap();
        std::fs::write(dir.path().join(".env"), "API_PORT=3000\nB=${A}\n").unwrap();
        load_bytes(dir.path(), &bytes, &["full", "api"]);
    }
}

#[test]
fn pathological_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let deep = "[".repeat(50_000);
    load_bytes(dir.path(), deep.as_bytes(), &[]);
    let deep_map = "a: {".repeat(10_000);
    load_bytes(dir.path(), deep_map.as_bytes(), &[]);
    let laughs = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n";
    load_bytes(dir.path(), laughs.as_bytes(), &[]);
    let merge_loop = "x: &x {a: 1}\nservices:\n  s:\n    <<: [*x, *x, *x]\n    image: i\n";
    load_bytes(dir.path(), merge_loop.as_bytes(), &[]);
    let nested_interp = format!("services:\n  s:\n    image: \"{}{}\"\n", "${A:-".repeat(5000), "}".repeat(5000));
    load_bytes(dir.path(), nested_interp.as_bytes(), &[]);
}

#[test]
fn a_dash_f_file_is_compose_by_name_or_by_content() {
    let dir = tempfile::tempdir().unwrap();
    let opts = |f: &str| LoadOptions { cwd: dir.path().into(), file: Some(f.into()), ..Default::default() };
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    write("ci.yaml", "services:\n  db:\n    image: postgres:16\n    environment: {POSTGRES_PASSWORD: x}\n");
    write("dev.yaml", "services:\n  db:\n    preset: postgres\n");
    write("plain.yaml", "services:\n  web:\n    image: nginx\n");
    write("stack-compose.yml", "services:\n  web:\n    image: nginx\n");
    write("odd.yaml", "services:\n  web:\n    image: nginx\n    mystery: 1\n");
    // Keys neither old list named: compose's (`read_only`, `x-*`), so compose.
    write("stack.yaml", "x-common: &c {restart: always}\nservices:\n  web:\n    <<: *c\n    image: nginx\n    read_only: true\n");
    let input = |f: &str| super::find_input(&opts(f), &mut Vec::new()).unwrap();
    assert!(matches!(input("ci.yaml"), super::Input::Compose(_)), "compose-only keys");
    assert!(matches!(input("dev.yaml"), super::Input::Devenv(_)), "devenv-only keys");
    assert!(matches!(input("plain.yaml"), super::Input::Devenv(_)), "nothing says compose: devenv's");
    // Issue 16: compose's shape (every key a compose key, one only compose has)
    // is compose whatever the name.
    assert!(matches!(input("stack.yaml"), super::Input::Compose(_)), "compose's shape");
    assert!(matches!(input("odd.yaml"), super::Input::Devenv(_)), "a key compose does not know: devenv's");
    assert!(matches!(input("stack-compose.yml"), super::Input::Compose(_)), "the name says compose");
    // The choice is said when the content made it, not when the name did.
    let notes = |f: &str| {
        let mut notes = Vec::new();
        super::find_input(&opts(f), &mut notes).unwrap();
        notes
    };
    assert_eq!(notes("stack.yaml"), ["stack.yaml: read as a compose file (it has keys only compose files have); see README.md#compose-files"]);
    assert_eq!(notes("plain.yaml"), ["plain.yaml: read as a devenv file (its keys are valid in both formats); see README.md#the-environment-file"]);
    assert_eq!(notes("dev.yaml"), ["dev.yaml: read as a devenv file (`services.db.preset` is devenv's); see README.md#the-environment-file"]);
    assert!(notes("odd.yaml")[0].contains("`services.web.mystery` is not a compose key"), "{:?}", notes("odd.yaml"));
    assert!(notes("stack-compose.yml").is_empty());
    assert!(super::is_compose_file(&dir.path().join("stack.yaml")) && !super::is_compose_file(&dir.path().join("plain.yaml")));
}

#[test]
fn loading_a_compose_file_never_creates_a_missing_bind_source() {
    let dir = tempfile::Builder::new().prefix("proj").tempdir().unwrap();
    let yaml = "services:\n  app:\n    image: busybox\n    volumes:\n      - ./data:/data\n      - type: bind\n        source: ./cache\n        target: /cache\n        bind: {create_host_path: true}\n";
    std::fs::write(dir.path().join("compose.yaml"), yaml).unwrap();
    let env = load(&LoadOptions { cwd: dir.path().to_path_buf(), ..LoadOptions::default() }).unwrap();
    let base = normalize(dir.path());
    assert!(!dir.path().join("data").exists(), "loading (and so `devenv config`) writes nothing");
    assert!(!dir.path().join("cache").exists());
    let vols = &env.spec.services["app"].parsed.volumes;
    assert!(matches!(&vols[0], VolumeSpec::Bind { source, .. } if *source == base.join("data")), "{vols:?}");
    assert!(env.warnings.iter().any(|w| w.contains("does not exist; `up` creates it")), "{:?}", env.warnings);
}

#[test]
fn a_missing_bind_source_in_devenv_yaml_is_still_an_error() {
    let p = Project::new("services:\n  app:\n    image: x\n    volumes: [\"./nope:/n\"]\n");
    let e = p.load().unwrap_err();
    assert!(e.message.contains("does not exist"), "{e}");
    assert!(!p.dir.path().join("nope").exists());
}

#[test]
fn loading_parses_runtime_options_and_seeds_once() {
    let p = Project::new(
        "services:\n  db:\n    preset: postgres\n    restart: on-failure:3\n    expose: [\"3000\", \"3000/tcp\"]\n    cap_add: [cap_net_admin]\n    shm_size: 1m\n    seed:\n      - sql: seeds/*.sql\n",
    );
    p.write("seeds/b.sql", "select 2;").write("seeds/a.sql", "select 1;");
    let env = p.load().unwrap();
    let parsed = &env.spec.services["db"].parsed;
    assert_eq!(parsed.preset, Some(crate::preset::Kind::Postgres));
    assert_eq!(parsed.options.restart.map(|r| r.to_string()), Some("on-failure:3".into()));
    assert_eq!(parsed.options.expose, vec!["3000/tcp"]);
    assert_eq!(parsed.options.cap_add, vec!["NET_ADMIN"]);
    assert_eq!(parsed.options.shm_size, Some(1024 * 1024));
    let ids: Vec<&str> = parsed.seeds.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["sql seeds/a.sql", "sql seeds/b.sql"]);
}

/// Loads `compose.yaml` (written into a fresh directory, with `files`) the way `devenv up` does.
fn load_compose_text(yaml: &str, files: &[&str]) -> (tempfile::TempDir, Result<LoadedEnv, ConfigError>) {
    let dir = tempfile::Builder::new().prefix("proj").tempdir().unwrap();
    std::fs::write(dir.path().join("compose.yaml"), yaml).unwrap();
    for f in files {
        std::fs::create_dir_all(dir.path().join(f)).unwrap();
    }
    let env = load(&LoadOptions { cwd: dir.path().to_path_buf(), ..LoadOptions::default() });
    (dir, env)
}

#[test]
fn compose_issue_16_small_bugs() {
    // A Dockerfile (or context) that does not exist yet: compose only fails when it builds.
    let (_d, env) = load_compose_text("services:\n  api:\n    build: {context: ./app, dockerfile: Later.Dockerfile}\n  web:\n    build: ./gen\n", &[]);
    let env = env.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(env.spec.services["api"].build.as_ref().and_then(|b| b.dockerfile.as_deref()), Some("Later.Dockerfile"));
    // `dockerfile: ""` is the default Dockerfile, not the context.
    let (_d, env) = load_compose_text("services:\n  api:\n    build: {context: ., dockerfile: \"\"}\n", &[]);
    assert_eq!(env.unwrap().spec.services["api"].build.as_ref().map(|b| b.dockerfile.clone()), Some(None));
    // A `:` in a long-syntax bind source is part of the path.
    let (d, env) = load_compose_text("services:\n  api:\n    image: x\n    volumes:\n      - {type: bind, source: ./data:v1, target: /data, read_only: true}\n", &["data:v1"]);
    let env = env.unwrap_or_else(|e| panic!("{e}"));
    let want = VolumeSpec::Bind { source: normalize(d.path()).join("data:v1"), target: "/data".into(), read_only: true };
    assert_eq!(env.spec.services["api"].parsed.volumes, [want]);
    // Container-only ports never clash: Docker picks each host port.
    let (_d, env) = load_compose_text("services:\n  a:\n    image: x\n    ports: [\"3100\"]\n  b:\n    image: x\n    ports: [\"3100\", \"3100:3100\"]\n", &[]);
    let env = env.unwrap_or_else(|e| panic!("{e}"));
    let random = PortSpec { host_ip: None, host_port: None, host_port_end: None, container_port: 3100, protocol: "tcp".into() };
    assert_eq!(env.spec.services["a"].parsed.ports, [random.clone()]);
    assert_eq!(env.spec.services["b"].parsed.ports[0], random);
    // An empty host IP: devenv's default address, said once.
    let (_d, env) = load_compose_text("services:\n  a:\n    image: x\n    ports: [\":443:443\", \":8443:8443\"]\n", &[]);
    let env = env.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(env.spec.services["a"].parsed.ports[0].host_ip, None);
    assert_eq!(env.spec.services["a"].parsed.ports[0].host_port, Some(443));
    assert_eq!(env.warnings.iter().filter(|w| w.contains("empty host IP")).count(), 2, "one per entry: {:?}", env.warnings);
}

#[test]
fn devenv_files_take_the_long_volume_form_too() {
    let p = Project::new("services:\n  api:\n    image: x\n    volumes:\n      - {type: volume, source: data, target: /d}\n      - {type: bind, source: \"./a:b\", target: /ab}\n      - {type: volume, target: /anon}\n");
    std::fs::create_dir(p.dir.path().join("a:b")).unwrap();
    let env = p.load().unwrap_or_else(|e| panic!("{e}"));
    let vols = &env.spec.services["api"].parsed.volumes;
    assert!(matches!(&vols[0], VolumeSpec::Named { name, .. } if name == "data"), "{vols:?}");
    assert!(matches!(&vols[1], VolumeSpec::Bind { source, .. } if source.ends_with("a:b")), "{vols:?}");
    assert!(matches!(&vols[2], VolumeSpec::Anonymous { .. }), "{vols:?}");
    let e = Project::new("services:\n  api:\n    image: x\n    volumes:\n      - {type: bind, target: /x}\n").load().unwrap_err();
    assert_eq!(at(&e), loc("services.api.volumes[0]", 5, 10));
    assert!(e.message.contains("needs a `source`"), "{e}");
    let e = Project::new("services:\n  api:\n    image: x\n    volumes:\n      - {type: bind, source: ., target: /x, mode: 1}\n").load().unwrap_err();
    assert!(e.message.contains("mode"), "{e}");
}

#[test]
fn devenv_files_take_a_platform() {
    let env = Project::new("services:\n  api:\n    image: x\n    platform: linux/arm64\n").load().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(env.spec.services["api"].platform.as_deref(), Some("linux/arm64"));
}

#[test]
fn volumes_from_is_parsed_once_and_checked() {
    use crate::config::{VolumesFrom, VolumesFromSource};
    let env = Project::new("services:\n  data:\n    image: x\n  app:\n    image: x\n    volumes_from: [\"data:ro\", \"container:legacy\", \"data:rw\"]\n").load().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        env.spec.services["app"].parsed.volumes_from,
        [
            VolumesFrom { source: VolumesFromSource::Service("data".into()), read_only: Some(true) },
            VolumesFrom { source: VolumesFromSource::Container("legacy".into()), read_only: None },
            VolumesFrom { source: VolumesFromSource::Service("data".into()), read_only: Some(false) },
        ]
    );
    let e = Project::new("services:\n  data:\n    image: x\n  app:\n    image: x\n    volumes_from: [dta]\n").load().unwrap_err();
    assert_eq!(at(&e), loc("services.app.volumes_from[0]", 6, 20));
    assert!(e.hint.unwrap_or_default().contains("did you mean `data`?"));
    let e = Project::new("services:\n  app:\n    image: x\n    volumes_from: [app]\n").load().unwrap_err();
    assert!(e.message.contains("from itself"), "{e}");
}

#[test]
fn ipc_and_pid_modes_are_checked() {
    use crate::config::Namespace;
    let env = Project::new("services:\n  main:\n    image: x\n    ipc: shareable\n  side:\n    image: x\n    ipc: service:main\n    pid: container:other\n").load().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(env.spec.services["main"].parsed.ipc, Some(Namespace::Mode("shareable".into())));
    assert_eq!(env.spec.services["side"].parsed.ipc, Some(Namespace::Service("main".into())));
    assert_eq!(env.spec.services["side"].parsed.pid, Some(Namespace::Container("other".into())));
    let e = Project::new("services:\n  side:\n    image: x\n    ipc: service:nope\n").load().unwrap_err();
    assert_eq!(at(&e), loc("services.side.ipc", 4, 5));
    assert!(e.message.contains("not defined"), "{e}");
    let e = Project::new("services:\n  side:\n    image: x\n    pid: shareable\n").load().unwrap_err();
    assert!(e.message.contains("invalid pid mode") && e.hint.as_deref().unwrap_or_default().contains("`host`"), "{e}");
}

#[test]
fn network_modes_and_their_conflicts_are_checked() {
    use crate::config::Namespace;
    let env = Project::new("services:\n  main:\n    image: x\n    ports: [\"8080:80\"]\n  side:\n    image: x\n    network_mode: service:main\n  h:\n    image: x\n    network_mode: host\n  b:\n    image: x\n    network_mode: bridge\n    ports: [\"8081:80\"]\n").load().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(env.spec.services["side"].parsed.network_mode, Some(Namespace::Service("main".into())));
    assert_eq!(env.spec.services["h"].parsed.network_mode, Some(Namespace::Mode("host".into())));
    let e = Project::new("services:\n  h:\n    image: x\n    network_mode: host\n    ports: [\"8080:80\"]\n").load().unwrap_err();
    assert_eq!(at(&e), loc("services.h.ports", 5, 5));
    assert!(e.message.contains("discarded when using host network mode"), "{e}");
    let e = Project::new("services:\n  a:\n    image: x\n  s:\n    image: x\n    network_mode: service:a\n    ports: [\"8080:80\"]\n").load().unwrap_err();
    assert!(e.message.contains("port publishing and the container type network mode"), "{e}");
    let e = Project::new("services:\n  h:\n    image: x\n    network_mode: host\n    networks: [default]\n").load().unwrap_err();
    assert_eq!(at(&e), loc("services.h.network_mode", 4, 5));
    assert!(e.message.contains("mutually exclusive `network_mode` and `networks`"), "{e}");
    let e = Project::new("services:\n  s:\n    image: x\n    network_mode: service:nope\n").load().unwrap_err();
    assert!(e.message.contains("not defined"), "{e}");
    let e = Project::new("services:\n  s:\n    image: x\n    network_mode: overlay\n").load().unwrap_err();
    assert!(e.message.contains("invalid network_mode mode"), "{e}");
}
