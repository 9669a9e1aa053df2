//! Each planted problem is found (no Docker needed: the engine's answers are data).

use std::path::{Path, PathBuf};

use super::checks::*;
use crate::docker::RegistryAnswer;
use crate::plan::Plan;

/// The real host, except for what a test plants.
struct Planted {
    max_map_count: Option<u64>,
    unwritable: Vec<PathBuf>,
}

impl Host for Planted {
    fn max_map_count(&self) -> Option<u64> {
        self.max_map_count
    }
    fn port_in_use(&self, ip: &str, port: u16) -> Option<String> {
        RealHost.port_in_use(ip, port)
    }
    fn writable(&self, path: &Path) -> Result<(), String> {
        if self.unwritable.iter().any(|p| p == path) { Err("Permission denied (planted)".into()) } else { RealHost.writable(path) }
    }
}

fn healthy_host() -> Planted {
    Planted { max_map_count: Some(MIN_MAX_MAP_COUNT), unwritable: vec![] }
}

fn plan(dir: &Path, yaml: &str) -> Plan {
    std::fs::write(dir.join("devenv.yaml"), yaml).expect("write");
    let opts = crate::config::LoadOptions { file: Some(dir.join("devenv.yaml")), cwd: dir.to_path_buf(), ..Default::default() };
    let env = crate::config::load(&opts).unwrap_or_else(|e| panic!("{e}"));
    crate::plan::resolve(&env, &crate::plan::ImageMap::default()).unwrap_or_else(|e| panic!("{e}"))
}

/// Every image of the plan present locally.
fn all_local(p: &Plan) -> EngineFacts {
    EngineFacts { mem_total: Some(64 << 30), local: references(p).into_iter().map(|r| (r, true)).collect(), ..EngineFacts::default() }
}

fn problems(findings: &[Finding]) -> Vec<&Finding> {
    findings.iter().filter(|f| f.level >= Level::Warn).collect()
}

#[test]
fn a_clean_environment_passes() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("data")).expect("mkdir");
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port");
    let p = plan(dir.path(), &format!("services:\n  db:\n    preset: postgres\n    ports: [\"{port}:5432\"]\n  files:\n    image: busybox:1\n    volumes: [\"./data:/data\"]\n"));
    let findings = check_plan(&p, Some(&all_local(&p)), &healthy_host());
    assert!(problems(&findings).is_empty(), "{findings:#?}");
    assert!(findings.iter().any(|f| f.check == "port" && f.level == Level::Ok && f.message.contains(&port.to_string())));
    assert!(findings.iter().any(|f| f.check == "volume" && f.message.contains("2 directories writable")), "{findings:#?}");
    assert!(findings.iter().any(|f| f.check == "memory" && f.level == Level::Ok));
}

#[test]
fn a_port_in_use_is_found_with_a_fix() {
    let dir = tempfile::tempdir().expect("tempdir");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let p = plan(dir.path(), &format!("services:\n  cache:\n    image: redis:7\n    ports: [\"{port}:6379\"]\n"));
    let findings = check_plan(&p, Some(&all_local(&p)), &healthy_host());
    let f = problems(&findings);
    assert_eq!(f.len(), 1, "{findings:#?}");
    assert_eq!((f[0].check, f[0].level), ("port", Level::Fail));
    assert!(f[0].message.contains(&format!("127.0.0.1:{port}")) && f[0].message.contains("cache"), "{}", f[0].message);
    assert!(f[0].fix.as_deref().is_some_and(|x| x.contains(&format!("sport = :{port}"))));
    // The project's own container holding the port is no conflict.
    let ours = EngineFacts { ours: vec![port], ..all_local(&p) };
    assert!(problems(&check_plan(&p, Some(&ours), &healthy_host())).is_empty());
}

#[test]
fn low_max_map_count_matters_only_with_elasticsearch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let low = Planted { max_map_count: Some(65_530), unwritable: vec![] };
    let es = plan(dir.path(), "services:\n  search:\n    preset: elasticsearch\n    ports: []\n");
    let findings = check_plan(&es, Some(&all_local(&es)), &low);
    let f = findings.iter().find(|f| f.check == "vm.max_map_count").expect("checked");
    assert_eq!(f.level, Level::Fail);
    assert!(f.message.contains("65530"));
    assert!(f.fix.as_deref().is_some_and(|x| x.contains("sysctl -w vm.max_map_count=262144")));
    assert!(check_plan(&es, Some(&all_local(&es)), &healthy_host()).iter().any(|f| f.check == "vm.max_map_count" && f.level == Level::Ok));

    let no_es = plan(dir.path(), "services:\n  cache:\n    preset: redis\n    ports: []\n");
    let f = check_plan(&no_es, Some(&all_local(&no_es)), &low).into_iter().find(|f| f.check == "vm.max_map_count").expect("noted");
    assert_eq!(f.level, Level::Info);
}

#[test]
fn too_little_memory_for_the_presets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = plan(dir.path(), "services:\n  search:\n    preset: elasticsearch\n    ports: []\n  events:\n    preset: kafka\n    ports: []\n");
    let with_mem = |bytes: u64| {
        let facts = EngineFacts { mem_total: Some(bytes), ..all_local(&p) };
        check_plan(&p, Some(&facts), &healthy_host()).into_iter().find(|f| f.check == "memory").expect("memory checked")
    };
    let small = with_mem(1 << 30);
    assert_eq!(small.level, Level::Fail, "{small:?}");
    assert!(small.message.contains("3.00 GiB") && small.message.contains("1.00 GiB"), "{}", small.message);
    assert!(small.fix.as_deref().is_some_and(|x| x.contains("Resources → Memory")));
    assert_eq!(with_mem(3584 << 20).level, Level::Warn, "3 GiB of 3.5 GiB is tight");
    assert_eq!(with_mem(16 << 30).level, Level::Ok);
}

#[test]
fn an_image_neither_local_nor_buildable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = plan(dir.path(), "services:\n  api:\n    image: registry.example.com/team/api:1\n");
    let reference = "registry.example.com/team/api:1".to_string();
    let with = |answer: RegistryAnswer| {
        let mut facts = all_local(&p);
        facts.local.insert(reference.clone(), false);
        facts.registry.insert(reference.clone(), answer);
        check_plan(&p, Some(&facts), &healthy_host()).into_iter().find(|f| f.check == "image").expect("image checked")
    };
    let offline = with(RegistryAnswer::Unreachable("dial tcp: lookup registry.example.com: no such host".into()));
    assert_eq!(offline.level, Level::Warn);
    assert!(offline.message.contains("neither local nor buildable") && offline.message.contains("no such host"), "{}", offline.message);
    assert_eq!(registry_host("registry.example.com/team/api:1"), "registry.example.com");
    assert_eq!(registry_host("library/postgres:16"), "docker.io");
    assert_eq!(registry_host("localhost:5000/x"), "localhost:5000");
    assert!(offline.fix.as_deref().is_some_and(|x| x.contains("docker pull registry.example.com/team/api:1") && x.contains("DEVENV_IMAGE_MAP")));
    let refused = with(RegistryAnswer::Refused("manifest unknown".into()));
    assert_eq!(refused.level, Level::Fail);
    assert!(refused.fix.as_deref().is_some_and(|x| x.contains("docker login")));
    let found = with(RegistryAnswer::Found);
    assert_eq!(found.level, Level::Info);
    assert!(found.message.contains("will be pulled on first `up`"));
}

#[test]
fn builds_need_a_dockerfile_and_their_base_images() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("app")).expect("mkdir");
    std::fs::write(dir.path().join("app/Dockerfile"), "FROM node:22-alpine AS deps\nFROM deps\nCMD [\"node\"]\n").expect("write");
    let p = plan(dir.path(), "services:\n  web:\n    build: ./app\n");
    let mut facts = all_local(&p);
    facts.local.insert(p.services["web"].image.clone(), false);
    facts.local.insert("node:22-alpine".into(), false);
    facts.registry.insert("node:22-alpine".into(), RegistryAnswer::Unreachable("offline".into()));
    let findings = check_plan(&p, Some(&facts), &healthy_host());
    assert!(findings.iter().any(|f| f.level == Level::Ok && f.message == "web: will be built from ./app"), "{findings:#?}");
    let base = findings.iter().find(|f| f.level == Level::Warn).expect("the missing base image is reported");
    assert!(base.message.contains("node:22-alpine") && base.message.contains("base image"), "{}", base.message);

    // The build context loses its Dockerfile after the file was checked.
    std::fs::remove_file(dir.path().join("app/Dockerfile")).expect("rm");
    let findings = check_plan(&p, Some(&facts), &healthy_host());
    let f = findings.iter().find(|f| f.level == Level::Fail).expect("found");
    assert!(f.message.contains("./app has no Dockerfile"), "{}", f.message);
    assert!(f.fix.as_deref().is_some_and(|x| x.contains("services.web.build")));
}

#[test]
fn a_bind_source_that_cannot_be_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    std::fs::create_dir(&data).expect("mkdir");
    let p = plan(dir.path(), "services:\n  files:\n    image: busybox:1\n    volumes: [\"./data:/data\", \"./data:/ro:ro\"]\n");
    let host = Planted { max_map_count: Some(MIN_MAX_MAP_COUNT), unwritable: vec![data.clone()] };
    let findings = check_plan(&p, Some(&all_local(&p)), &host);
    let f = problems(&findings);
    assert_eq!(f.len(), 1, "the read-only mount is not checked: {findings:#?}");
    assert_eq!((f[0].check, f[0].level), ("volume", Level::Fail));
    assert!(f[0].message.contains("not writable") && f[0].message.contains("files:/data"), "{}", f[0].message);
    assert!(f[0].fix.as_deref().is_some_and(|x| x.contains("chown")));
}

#[test]
fn the_real_host_tells_writable_from_not() {
    let dir = tempfile::tempdir().expect("tempdir");
    assert_eq!(RealHost.writable(dir.path()), Ok(()));
    assert!(std::fs::read_dir(dir.path()).expect("read").next().is_none(), "the probe file is removed");
    let file = dir.path().join("f");
    std::fs::write(&file, "keep").expect("write");
    assert_eq!(RealHost.writable(&file), Ok(()));
    assert_eq!(std::fs::read_to_string(&file).expect("read"), "keep", "probing a file does not change it");
    assert!(RealHost.writable(&dir.path().join("missing/x")).is_err());
}

#[test]
fn the_max_map_count_constant_is_the_strictest_presets() {
    assert_eq!(super::checks::strictest_max_map_count().map(|(n, _)| n), Some(MIN_MAX_MAP_COUNT));
}

#[test]
fn a_base_image_named_through_a_build_arg_is_checked() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("app")).expect("mkdir");
    std::fs::write(dir.path().join("app/Dockerfile"), "ARG BASE=python:3.12-slim\nFROM ${BASE}\nCMD [\"python3\"]\n").expect("write");
    let p = plan(dir.path(), "services:\n  web:\n    build: ./app\n");
    assert!(references(&p).contains(&"python:3.12-slim".to_string()), "the ARG default is resolved: {:?}", references(&p));
    let mut facts = all_local(&p);
    facts.local.insert(p.services["web"].image.clone(), false);
    facts.local.insert("python:3.12-slim".into(), false);
    facts.registry.insert("python:3.12-slim".into(), RegistryAnswer::Refused("manifest unknown".into()));
    let findings = check_plan(&p, Some(&facts), &healthy_host());
    let f = findings.iter().find(|f| f.level == Level::Fail).expect("the missing base image is reported");
    assert!(f.message.contains("python:3.12-slim") && f.message.contains("base image"), "{}", f.message);
    assert!(f.fix.as_deref().is_some_and(|x| x.contains("services.web.build.args.BASE")), "{f:?}");

    // The service's build arg wins over the ARG default.
    let p = plan(dir.path(), "services:\n  web:\n    build: {context: ./app, args: {BASE: \"alpine:3\"}}\n");
    assert!(references(&p).contains(&"alpine:3".to_string()) && !references(&p).contains(&"python:3.12-slim".to_string()));

    // A literal FROM: the advice says the image map does not apply to it.
    std::fs::write(dir.path().join("app/Dockerfile"), "FROM python:3.12-slim\n").expect("write");
    let p = plan(dir.path(), "services:\n  web:\n    build: ./app\n");
    let findings = check_plan(&p, Some(&facts), &healthy_host());
    let f = findings.iter().find(|f| f.level == Level::Fail).expect("reported");
    assert!(f.fix.as_deref().is_some_and(|x| x.contains("does not apply to a literal `FROM`")), "{f:?}");

    // An arg with no value anywhere: the build would fail.
    std::fs::write(dir.path().join("app/Dockerfile"), "ARG BASE\nFROM ${BASE}\n").expect("write");
    let findings = check_plan(&p, Some(&facts), &healthy_host());
    assert!(findings.iter().any(|f| f.level == Level::Fail && f.message.contains("no value")), "{findings:#?}");
}

#[test]
fn a_missing_image_from_a_variable_names_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = plan(dir.path(), "services:\n  cache:\n    image: ${CACHE_IMAGE_UNSET_HERE:-registry.example.com/redis:7}\n");
    let mut facts = all_local(&p);
    facts.local.insert("registry.example.com/redis:7".into(), false);
    facts.registry.insert("registry.example.com/redis:7".into(), RegistryAnswer::Unreachable("offline".into()));
    let f = check_plan(&p, Some(&facts), &healthy_host()).into_iter().find(|f| f.check == "image").expect("checked");
    assert!(f.fix.as_deref().is_some_and(|x| x.contains("`CACHE_IMAGE_UNSET_HERE`") && x.contains("docker pull")), "{f:?}");
}
