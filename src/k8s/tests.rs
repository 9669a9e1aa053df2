//! The cluster flows (`up`, `down`, `status`, detection, failures) against
//! the runner test double: the exact kind/k3d/kubectl command lines, and
//! that every failure becomes a devenv error (never a reported success).

use std::path::Path;
use std::time::Duration;

use super::cluster::{self, Cluster, Target};
use super::runner::double::ScriptedRunner;
use super::runner::Output;
use super::spec::Provider;
use super::{render, Rendered};
use crate::error::Error;
use crate::ui::{ProgressMode, Ui};

const ENV: &str = "name: shop
services:
  db:
    preset: postgres
    seed:
      - sql: seed.sql
  migrate:
    image: shop/migrate:1
    command: [./migrate]
    env: {DATABASE_URL: \"${db.url}\"}
    run: once
    depends_on: {db: healthy}
  api:
    build: ./api
    ports: [\"8080:8080\"]
    env: {DB_HOST: \"${db.host}\", DB_PORT: \"${db.port}\"}
    health: {http: /health, port: 8080}
    depends_on: {db: healthy, migrate: completed}
";

fn rendered_in(dir: &Path, yaml: &str) -> Rendered {
    rendered_in_namespace(dir, yaml, "shop")
}

fn rendered_in_namespace(dir: &Path, yaml: &str, namespace: &str) -> Rendered {
    std::fs::create_dir_all(dir.join("api")).expect("mkdir");
    std::fs::write(dir.join("api/Dockerfile"), "FROM scratch\n").expect("write");
    std::fs::write(dir.join("seed.sql"), "CREATE TABLE t (id int);\n").expect("write");
    let opts = crate::config::LoadOptions { cwd: dir.to_path_buf(), ..Default::default() };
    let env = crate::config::load::load_str(yaml, &dir.join("devenv.yaml"), dir, &opts).expect("load");
    let plan = crate::plan::resolve(&env, &crate::plan::ImageMap::default()).expect("plan");
    let spec = super::spec::parse(&env, &plan).expect("k8s spec");
    render(&env, &plan, &spec, namespace).expect("render")
}

fn rendered() -> (tempfile::TempDir, Rendered) {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = rendered_in(dir.path(), ENV);
    (dir, r)
}

fn quiet() -> Ui {
    Ui::new(ProgressMode::Quiet, false)
}

fn target(provider: Provider) -> Target {
    Target { provider, cluster: "devenv".into(), namespace: "shop".into(), project: "shop".into(), existing: None, owner: None }
}

fn cluster<'a>(runner: &'a ScriptedRunner, ui: &'a Ui, provider: Provider) -> Cluster<'a> {
    let mut c = Cluster::new(runner, ui, target(provider));
    c.poll = Duration::ZERO;
    c
}

const NOT_FOUND_NS: &str = "Error from server (NotFound): namespaces \"shop\" not found";
const JOB_DONE: &str = r#"{"status": {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}}"#;
const JOB_FAILED: &str = r#"{"status": {"failed": 1, "conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]}}"#;
/// What trixie's kind 0.27 printed here, where no registry is reachable.
const KIND_PULL_FAILURE: &str = "Creating cluster \"devenv\" ...\n • Ensuring node image (kindest/node:v1.32.2) 🖼  ...\n ✗ Ensuring node image (kindest/node:v1.32.2) 🖼\nERROR: failed to create cluster: failed to pull image \"kindest/node:v1.32.2@sha256:f226345927d7e348497136874b6d207e0b32cc52154ad8323129352923a3142f\": command \"docker pull kindest/node:v1.32.2@sha256:f226345927d7e348497136874b6d207e0b32cc52154ad8323129352923a3142f\" failed with error: exit status 1\n\nCommand Output: Error response from daemon: Get \"https://registry-1.docker.io/v2/\": dial tcp: lookup registry-1.docker.io on 10.255.255.53:53: no such host";

#[test]
fn rendering_waves_follow_depends_on() {
    let (_d, r) = rendered();
    let waves: Vec<Vec<&str>> = r.waves().iter().map(|w| w.iter().map(|s| s.name.as_str()).collect()).collect();
    assert_eq!(waves, [vec!["db"], vec!["migrate"], vec!["api"]]);
}

#[test]
fn up_creates_a_missing_kind_cluster_loads_images_and_applies_wave_by_wave() {
    let (_d, r) = rendered();
    let runner = ScriptedRunner::new();
    runner.on("kind get clusters", Output::ok("other\n"));
    runner.on("kubectl --context kind-devenv get namespace shop", Output::failed(1, NOT_FOUND_NS));
    runner.on("kubectl --context kind-devenv -n shop get job", Output::ok(JOB_DONE));
    let ui = quiet();
    let report = cluster(&runner, &ui, Provider::Kind).up(&r, &[], &[], &["shop-api:devenv".to_string()]).expect("up");
    assert!(report.created_cluster);
    let migrate = &r.service("migrate").expect("migrate").workload;
    let seed = &r.service("db").and_then(|s| s.seed.as_ref()).expect("seed job").name;
    assert!(migrate.starts_with("migrate-") && seed.starts_with("db-seed-"));
    assert_eq!(
        runner.calls(),
        [
            "kind get clusters".to_string(),
            "kind create cluster --name devenv --wait 120s".into(),
            "kind load docker-image shop-api:devenv --name devenv".into(),
            "kubectl --context kind-devenv get namespace shop -o json".into(),
            "kubectl --context kind-devenv apply -f -".into(),
            // wave 1: db, then its seed job
            "kubectl --context kind-devenv -n shop apply -f -".into(),
            "kubectl --context kind-devenv -n shop rollout status statefulset/db --timeout=120s".into(),
            "kubectl --context kind-devenv -n shop apply -f -".into(),
            format!("kubectl --context kind-devenv -n shop get job {seed} -o json"),
            // wave 2: the one-shot job
            "kubectl --context kind-devenv -n shop apply -f -".into(),
            format!("kubectl --context kind-devenv -n shop get job {migrate} -o json"),
            // wave 3: the app
            "kubectl --context kind-devenv -n shop apply -f -".into(),
            "kubectl --context kind-devenv -n shop rollout status deployment/api --timeout=120s".into(),
        ]
    );
    let stdin: Vec<String> = runner.invocations().into_iter().filter_map(|i| i.stdin).collect();
    assert!(stdin[0].contains("kind: Namespace") && stdin[0].contains("name: shop"), "{}", stdin[0]);
    assert!(stdin[1].contains("kind: StatefulSet") && !stdin[1].contains("kind: Deployment") && !stdin[1].contains("kind: Namespace"), "{}", stdin[1]);
    assert!(stdin[2].contains(&format!("name: {seed}")) && stdin[2].contains("psql -v ON_ERROR_STOP=1 --single-transaction"), "{}", stdin[2]);
    assert!(stdin[4].contains("kind: Deployment") && stdin[4].contains("name: api"), "{}", stdin[4]);
}

#[test]
fn up_reuses_an_existing_cluster_and_namespace() {
    let (_d, r) = rendered();
    let runner = ScriptedRunner::new();
    runner.on("kind get clusters", Output::ok("devenv\n"));
    runner.on("kubectl --context kind-devenv -n shop get job", Output::ok(JOB_DONE));
    let ui = quiet();
    let report = cluster(&runner, &ui, Provider::Kind).up(&r, &[], &[], &[]).expect("up");
    assert!(!report.created_cluster);
    let calls = runner.calls();
    assert!(!calls.iter().any(|c| c.contains("create cluster") || c.contains("load docker-image")), "{calls:#?}");
    assert_eq!(calls.iter().filter(|c| c.ends_with("apply -f -")).count(), 4, "no namespace apply: it exists: {calls:#?}");
}

#[test]
fn a_node_image_that_cannot_be_pulled_is_an_image_error_and_nothing_is_applied() {
    let (_d, r) = rendered();
    let runner = ScriptedRunner::new();
    runner.on("kind get clusters", Output::failed(0, "No kind clusters found."));
    runner.on("kind create cluster", Output { code: Some(1), stdout: String::new(), stderr: KIND_PULL_FAILURE.into() });
    let ui = quiet();
    let e = cluster(&runner, &ui, Provider::Kind).up(&r, &[], &[], &["shop-api:devenv".into()]).expect_err("no node image");
    assert_eq!(e.exit_code(), crate::error::exit::IMAGE);
    let text = e.to_string();
    assert!(text.contains("kind could not create cluster `devenv`: it could not pull its node image (kindest/node:v1.32.2@sha256:"), "{text}");
    assert!(text.contains("`kind create cluster --name devenv --wait 120s` failed, exit 1"), "{text}");
    assert!(e.detail().iter().any(|l| l.contains("no such host")), "{:?}", e.detail());
    assert!(e.hint().is_some_and(|h| h.contains("Nothing was created")));
    assert_eq!(runner.calls().last().map(String::as_str), Some("kind create cluster --name devenv --wait 120s"));
}

#[test]
fn any_other_creation_failure_shows_the_tools_output() {
    let (_d, r) = rendered();
    let runner = ScriptedRunner::new();
    runner.on("k3d cluster list", Output::ok("[]"));
    runner.on("k3d cluster create", Output::failed(1, "FATA[0001] Failed to create cluster 'devenv': port 6443 is already allocated"));
    let ui = quiet();
    let e = cluster(&runner, &ui, Provider::K3d).up(&r, &[], &[], &[]).expect_err("fails");
    assert_eq!(e.exit_code(), crate::error::exit::FAILURE);
    let text = e.to_string();
    assert!(text.contains("k3d could not create cluster `devenv`: `k3d cluster create devenv --wait` failed (exit 1)"), "{text}");
    assert!(text.contains("│ FATA[0001] Failed to create cluster 'devenv': port 6443 is already allocated"), "{text}");
    assert_eq!(runner.calls(), ["k3d cluster list -o json", "k3d cluster create devenv --wait"]);
}

#[test]
fn k3d_invocations() {
    let (_d, r) = rendered();
    let runner = ScriptedRunner::new();
    runner.on("k3d cluster list", Output::ok(r#"[{"name": "devenv", "serversRunning": 1}]"#));
    runner.on("kubectl --context k3d-devenv -n shop get job", Output::ok(JOB_DONE));
    let ui = quiet();
    cluster(&runner, &ui, Provider::K3d).up(&r, &[], &[], &["shop-api:devenv".into(), "postgres:16-alpine".into()]).expect("up");
    let calls = runner.calls();
    assert_eq!(calls[0], "k3d cluster list -o json");
    assert_eq!(calls[1], "k3d image import shop-api:devenv postgres:16-alpine -c devenv");
    assert_eq!(calls[2], "kubectl --context k3d-devenv get namespace shop -o json");
    assert!(calls[3..].iter().all(|c| c.starts_with("kubectl --context k3d-devenv -n shop ")), "{calls:#?}");
}

#[test]
fn image_load_failure_is_an_image_error() {
    let (_d, r) = rendered();
    let runner = ScriptedRunner::new();
    runner.on("kind get clusters", Output::ok("devenv\n"));
    runner.on("kind load docker-image", Output::failed(1, "ERROR: image: \"shop-api:devenv\" not present locally"));
    let ui = quiet();
    let e = cluster(&runner, &ui, Provider::Kind).up(&r, &[], &[], &["shop-api:devenv".into()]).expect_err("fails");
    assert_eq!(e.exit_code(), crate::error::exit::IMAGE);
    assert!(e.detail().iter().any(|l| l.contains("not present locally")));
    assert!(!runner.calls().iter().any(|c| c.contains("apply")));
}

const PODS_CRASHING: &str = r#"{"items": [{"metadata": {"name": "api-7d9f-x2k"}, "status": {"phase": "Running",
  "conditions": [{"type": "Ready", "status": "False"}],
  "containerStatuses": [{"name": "api", "ready": false, "restartCount": 3,
    "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s restarting failed container=api"}}}]}}]}"#;
const EVENTS: &str = r#"{"items": [{"reason": "Started", "message": "Started container api"}, {"reason": "BackOff", "message": "Back-off restarting failed container api"}]}"#;

#[test]
fn a_rollout_that_never_becomes_ready_names_the_pod_its_reason_events_and_logs() {
    let (_d, r) = rendered();
    let runner = ScriptedRunner::new();
    runner.on("kind get clusters", Output::ok("devenv\n"));
    runner.on("kubectl --context kind-devenv -n shop get job", Output::ok(JOB_DONE));
    runner.on("kubectl --context kind-devenv -n shop rollout status deployment/api", Output::failed(1, "error: timed out waiting for the condition"));
    runner.on("kubectl --context kind-devenv -n shop get pods", Output::ok(PODS_CRASHING));
    runner.on("kubectl --context kind-devenv -n shop get events", Output::ok(EVENTS));
    runner.on("kubectl --context kind-devenv -n shop logs", Output::ok("listening on :8080\npanic: cannot connect to db\n"));
    let ui = quiet();
    let e = cluster(&runner, &ui, Provider::Kind).up(&r, &[], &[], &[]).expect_err("never ready");
    assert_eq!(e.exit_code(), crate::error::exit::SERVICE);
    assert_eq!(e.to_string(), "api: deployment/api did not become ready within 120s: pod api-7d9f-x2k: CrashLoopBackOff: back-off 40s restarting failed container=api");
    let d = e.detail().join("\n");
    assert!(d.contains("BackOff: Back-off restarting failed container api"), "{d}");
    assert!(d.contains("last log lines of pod api-7d9f-x2k (before its last restart):") && d.contains("panic: cannot connect to db"), "{d}");
    let calls = runner.calls();
    let tail: Vec<&str> = calls.iter().rev().take(3).rev().map(String::as_str).collect();
    assert_eq!(
        tail,
        [
            "kubectl --context kind-devenv -n shop get pods -l app.kubernetes.io/managed-by=devenv,app.kubernetes.io/part-of=shop,app.kubernetes.io/name=api -o json",
            "kubectl --context kind-devenv -n shop get events --field-selector involvedObject.name=api-7d9f-x2k -o json",
            "kubectl --context kind-devenv -n shop logs api-7d9f-x2k --tail=30 --all-containers --previous",
        ]
    );
}

#[test]
fn a_failed_seed_job_is_a_seed_error_with_its_logs() {
    let (_d, r) = rendered();
    let runner = ScriptedRunner::new();
    runner.on("kind get clusters", Output::ok("devenv\n"));
    runner.on("kubectl --context kind-devenv -n shop get job", Output::ok(JOB_FAILED));
    runner.on("kubectl --context kind-devenv -n shop get pods", Output::ok(r#"{"items": [{"metadata": {"name": "db-seed-1"}, "status": {"phase": "Failed", "containerStatuses": [{"state": {"terminated": {"reason": "Error", "exitCode": 3}}}]}}]}"#));
    runner.on("kubectl --context kind-devenv -n shop logs", Output::ok("psql:/seed/00-seed.sql:1: ERROR:  syntax error at or near \"CREAT\"\n"));
    let ui = quiet();
    let e = cluster(&runner, &ui, Provider::Kind).up(&r, &[], &[], &[]).expect_err("seed fails");
    assert_eq!(e.exit_code(), crate::error::exit::SEED);
    let text = e.to_string();
    assert!(text.starts_with("db: job/db-seed-") && text.contains(" failed: pod db-seed-1: Error (exit code 3)"), "{text}");
    assert!(text.contains("syntax error at or near"), "{text}");
    // Nothing after the failed seed: dependents are not applied.
    assert!(!runner.calls().iter().any(|c| c.contains("migrate") || c.contains("deployment/api")), "{:#?}", runner.calls());
}

#[test]
fn provider_detection_and_missing_tools() {
    let none = ScriptedRunner::new();
    none.missing("kind").missing("k3d");
    let e = cluster::detect(&none, None).expect_err("none");
    assert_eq!(e.exit_code(), crate::error::exit::PREFLIGHT);
    assert!(e.to_string().contains("neither `kind` nor `k3d` is installed"));
    assert!(e.hint().is_some_and(|h| h.contains("kind.sigs.k8s.io") && h.contains("k3d.io")));
    assert_eq!(none.calls(), ["kind version", "k3d version"]);

    let only_k3d = ScriptedRunner::new();
    only_k3d.missing("kind");
    assert_eq!(cluster::detect(&only_k3d, None).ok(), Some(Provider::K3d));
    let e = cluster::detect(&only_k3d, Some(Provider::Kind)).expect_err("asked for kind");
    assert!(e.to_string().contains("`kind` is not installed"));

    let no_kubectl = ScriptedRunner::new();
    no_kubectl.missing("kubectl");
    let e = cluster::require_kubectl(&no_kubectl).expect_err("kubectl");
    assert_eq!(e.exit_code(), crate::error::exit::PREFLIGHT);
    assert!(e.hint().is_some_and(|h| h.contains("install kubectl")));
}

#[test]
fn a_cluster_listing_failure_is_not_taken_for_no_cluster() {
    let runner = ScriptedRunner::new();
    runner.on("kind get clusters", Output::failed(1, "ERROR: failed to list clusters: command \"docker ps -a\" failed with error: exit status 1"));
    let ui = quiet();
    let e = cluster(&runner, &ui, Provider::Kind).exists().expect_err("cannot list");
    assert!(e.to_string().contains("cannot list kind clusters") && e.to_string().contains("docker ps -a"), "{e}");
}

#[test]
fn the_teams_workloads_are_waited_for_in_their_own_namespace() {
    let (_d, r) = rendered();
    let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n---\napiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: agent, namespace: ops}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: web}\n";
    let (ms, _) = super::manifest::parse_stream(text, &super::manifest::Origin::File { path: "team.yaml".into() }, true);
    let team = cluster::TeamWorkload::of(&ms);
    let src = super::manifest::Source { path: "/p/team.yaml".into(), kind: super::manifest::SourceKind::File };
    let runner = ScriptedRunner::new();
    runner.on("kind get clusters", Output::ok("devenv\n"));
    runner.on("kubectl --context kind-devenv -n shop get job", Output::ok(JOB_DONE));
    runner.on("kubectl --context kind-devenv -n shop get deployment/web", Output::ok(r#"{"spec": {"selector": {"matchLabels": {"app": "web"}}}}"#));
    let ui = quiet();
    cluster(&runner, &ui, Provider::Kind).up(&r, std::slice::from_ref(&src), &team, &[]).expect("up");
    let calls = runner.calls();
    let tail: Vec<&str> = calls.iter().rev().take(5).rev().map(String::as_str).collect();
    assert_eq!(
        tail,
        [
            "kubectl --context kind-devenv -n shop apply -f /p/team.yaml",
            "kubectl --context kind-devenv -n shop get deployment/web -o json",
            "kubectl --context kind-devenv -n shop rollout status deployment/web --timeout=120s",
            "kubectl --context kind-devenv -n ops get daemonset/agent -o json",
            "kubectl --context kind-devenv -n ops rollout status daemonset/agent --timeout=120s",
        ]
    );
}

#[test]
fn down_keeps_data_unless_asked_and_deletes_the_team_manifests() {
    let src = super::manifest::Source { path: "/p/k8s/app.yaml".into(), kind: super::manifest::SourceKind::File };
    let kz = super::manifest::Source { path: "/p/k8s/overlay".into(), kind: super::manifest::SourceKind::Kustomize };
    let runner = ScriptedRunner::new();
    let ui = quiet();
    let c = cluster(&runner, &ui, Provider::Kind);
    c.down(&[src.clone(), kz], false).expect("down");
    assert_eq!(
        runner.calls(),
        [
            "kubectl --context kind-devenv -n shop delete -f /p/k8s/app.yaml --ignore-not-found",
            "kubectl --context kind-devenv -n shop delete -k /p/k8s/overlay --ignore-not-found",
            "kubectl --context kind-devenv -n shop delete deployments,statefulsets,jobs,services,configmaps,secrets -l 'app.kubernetes.io/managed-by=devenv,app.kubernetes.io/part-of=shop,devenv.dev/data!=true' --ignore-not-found",
        ]
    );
    let runner = ScriptedRunner::new();
    let c = cluster(&runner, &ui, Provider::Kind);
    c.down(&[], true).expect("down -v");
    assert_eq!(
        runner.calls(),
        [
            "kubectl --context kind-devenv -n shop delete deployments,statefulsets,jobs,services,configmaps,secrets,persistentvolumeclaims -l app.kubernetes.io/managed-by=devenv,app.kubernetes.io/part-of=shop --ignore-not-found",
            "kubectl --context kind-devenv delete namespace -l app.kubernetes.io/managed-by=devenv,app.kubernetes.io/part-of=shop,kubernetes.io/metadata.name=shop --ignore-not-found",
        ]
    );
    let runner = ScriptedRunner::new();
    runner.on("kubectl --context kind-devenv -n shop delete -f", Output::failed(1, "error: the server doesn't have a resource type"));
    let e = cluster(&runner, &ui, Provider::Kind).down(&[src], false).expect_err("fails");
    assert!(e.to_string().contains("cannot delete the objects of /p/k8s/app.yaml"), "{e}");
    for (p, expected) in [(Provider::Kind, "kind delete cluster --name devenv"), (Provider::K3d, "k3d cluster delete devenv")] {
        let runner = ScriptedRunner::new();
        cluster(&runner, &ui, p).delete_cluster().expect("delete");
        assert_eq!(runner.calls(), [expected]);
    }
}

#[test]
fn status_rows_summarise_workloads_jobs_and_services() {
    let json = r#"{"items": [
      {"kind": "StatefulSet", "metadata": {"name": "db"}, "spec": {"replicas": 1}, "status": {"readyReplicas": 1}},
      {"kind": "Deployment", "metadata": {"name": "api"}, "spec": {"replicas": 2}, "status": {"readyReplicas": 1}},
      {"kind": "Job", "metadata": {"name": "migrate-1"}, "status": {"succeeded": 1}},
      {"kind": "Job", "metadata": {"name": "db-seed-2"}, "status": {"failed": 1}},
      {"kind": "Service", "metadata": {"name": "api"}, "spec": {"type": "NodePort", "ports": [{"port": 8080, "nodePort": 30080}]}}]}"#;
    let rows = cluster::rows_of(json);
    let text: Vec<String> = rows.iter().map(|r| r.join(" ")).collect();
    assert_eq!(text, ["statefulset/db 1/1 ready", "deployment/api 1/2 not ready", "job/migrate-1 1/1 complete", "job/db-seed-2 0/1 failed", "service/api - NodePort 8080:30080"]);
}

#[test]
fn port_forwards_are_started_per_published_port_and_killed() {
    let (_d, r) = rendered();
    let runner = ScriptedRunner::new();
    let ui = quiet();
    let c = cluster(&runner, &ui, Provider::Kind);
    let mut fwd = c.start_forwards(&r).expect("spawned");
    // The preset publishes 5432 like `devenv up` does; the migrate job has no ports.
    assert_eq!(
        runner.calls(),
        [
            "kubectl --context kind-devenv -n shop port-forward service/api 8080:8080 --address 127.0.0.1",
            "kubectl --context kind-devenv -n shop port-forward service/db 5432:5432 --address 127.0.0.1",
        ]
    );
    assert!(fwd[0].2.try_wait().is_none());
    fwd[0].2.kill();
    assert_eq!(runner.killed().len(), 1);
}

#[test]
fn a_port_forward_that_exits_is_started_again() {
    let (_d, r) = rendered();
    let runner = ScriptedRunner::new();
    runner.on("kubectl --context kind-devenv -n shop port-forward service/api", Output::failed(1, "error: lost connection to pod"));
    let ui = quiet();
    let c = cluster(&runner, &ui, Provider::Kind);
    let mut fwd = c.start_forwards(&r).expect("spawned");
    let notes = c.restart_exited(&mut fwd);
    assert_eq!(notes, ["port-forward of api to 127.0.0.1:8080 stopped (exit 1: error: lost connection to pod); restarted"]);
    let api_spawns = runner.calls().iter().filter(|l| l.contains("service/api")).count();
    assert_eq!(api_spawns, 2);
    // db's forward kept running: not restarted.
    assert_eq!(runner.calls().iter().filter(|l| l.contains("service/db")).count(), 1);
}

#[test]
fn in_cluster_addresses() {
    let dir = tempfile::tempdir().expect("tempdir");
    let yaml = "name: shop\nservices:\n  events:\n    preset: kafka\n  app:\n    image: a:1\n    env: {BROKERS: \"${events.url}\", DB: \"postgres://u:p4ss@db:5432/x\", LOG_DIR: /t, API_KEY: k}\n";
    let r = rendered_in(dir.path(), yaml);
    let text = r.stream();
    assert!(text.contains("KAFKA_ADVERTISED_LISTENERS: \"HOST://127.0.0.1:9092,INTERNAL://events.shop.svc.cluster.local:19092\""), "{text}");
    // `${events.url}` is the Service's short name: the same namespace resolves it.
    assert!(text.contains("BROKERS: \"events:19092\""), "{text}");
    // The log dir is below the claim's root (which may hold `lost+found`).
    assert!(text.contains("KAFKA_LOG_DIRS: /var/lib/kafka/data/logs"), "{text}");
    let svc = r.service("events").expect("events");
    assert!(svc.objects.iter().any(|o| o["kind"] == "Service" && o["metadata"]["name"] == "events" && o["spec"]["ports"].as_array().is_some_and(|p| p.iter().any(|p| p["port"] == 19092))));
    // Secrets: keys that look secret, and URLs with a password.
    let app = r.service("app").expect("app");
    let secret = app.objects.iter().find(|o| o["kind"] == "Secret").expect("secret");
    assert_eq!(secret["stringData"]["DB"], "postgres://u:p4ss@db:5432/x");
    assert_eq!(secret["stringData"]["API_KEY"], "k");
    let config = app.objects.iter().find(|o| o["kind"] == "ConfigMap").expect("config");
    assert_eq!(config["data"]["LOG_DIR"], "/t");
    assert!(config["data"].get("DB").is_none());
}

#[test]
fn rendering_is_deterministic_and_service_names_must_be_dns_labels() {
    let (d, r) = rendered();
    let again = rendered_in(d.path(), ENV);
    assert_eq!(r.stream(), again.stream());
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("api")).expect("mkdir");
    let opts = crate::config::LoadOptions { cwd: dir.path().to_path_buf(), ..Default::default() };
    let env = crate::config::load::load_str("services:\n  my_db:\n    image: x:1\n", &dir.path().join("devenv.yaml"), dir.path(), &opts).expect("load");
    let plan = crate::plan::resolve(&env, &crate::plan::ImageMap::default()).expect("plan");
    let spec = super::spec::parse(&env, &plan).expect("spec");
    let e = render(&env, &plan, &spec, "x").expect_err("bad name");
    assert_eq!(e.yaml_path, "services.my_db");
    assert_eq!(e.pos.map(|p| p.line), Some(2));
    assert!(e.hint.is_some_and(|h| h.contains("skip: true")));
}

#[test]
fn an_error_is_never_reported_as_success() {
    // Every failing step of `up` returns an error (sanity over all scripted failures above).
    let (_d, r) = rendered();
    for prefix in ["kind get clusters", "kubectl --context kind-devenv get namespace", "kubectl --context kind-devenv -n shop apply", "kubectl --context kind-devenv -n shop rollout status"] {
        let runner = ScriptedRunner::new();
        runner.on(prefix, Output::failed(1, "boom"));
        if prefix != "kind get clusters" {
            runner.on("kind get clusters", Output::ok("devenv\n"));
        }
        runner.on("kubectl --context kind-devenv -n shop get job", Output::ok(JOB_DONE));
        let ui = quiet();
        let res: Result<_, Error> = cluster(&runner, &ui, Provider::Kind).up(&r, &[], &[], &[]);
        assert!(res.is_err(), "{prefix} failing must fail up");
    }
}

#[test]
fn exposed_ports_get_a_service_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = rendered_in(dir.path(), "name: shop\nservices:\n  worker:\n    image: w:1\n    expose: [\"3000\", \"9000-9001/udp\"]\n");
    let w = r.service("worker").expect("worker");
    assert!(w.has_service);
    assert!(w.forwards.is_empty(), "exposed ports are not published: nothing to forward");
    let svc = w.objects.iter().find(|o| o["kind"] == "Service").expect("service");
    let ports: Vec<String> = svc["spec"]["ports"].as_array().expect("ports").iter().map(|p| format!("{}/{}", p["port"], p["protocol"].as_str().unwrap_or(""))).collect();
    assert_eq!(ports, ["3000/TCP", "9000/UDP", "9001/UDP"]);
}

#[test]
fn render_to_a_directory_replaces_its_own_stale_files_only() {
    let (_d, r) = rendered();
    let out = tempfile::tempdir().expect("tempdir");
    std::fs::write(out.path().join("gone.yaml"), format!("{}\n---\nkind: Deployment\n", super::render::HEADER)).expect("write");
    std::fs::write(out.path().join("kustomization.yaml"), "resources: [api.yaml]\n").expect("write");
    let files = r.write_dir(out.path()).expect("written");
    let mut names: Vec<String> = std::fs::read_dir(out.path()).expect("dir").filter_map(Result::ok).map(|e| e.file_name().to_string_lossy().to_string()).collect();
    names.sort();
    assert_eq!(names, ["00-namespace.yaml", "api.yaml", "db.yaml", "kustomization.yaml", "migrate.yaml"]);
    assert_eq!(files.len(), 4);
    let db = std::fs::read_to_string(out.path().join("db.yaml")).expect("db.yaml");
    assert!(db.starts_with(super::render::HEADER));
    assert!(db.contains("kind: StatefulSet") && db.contains("kind: Job") && db.contains("name: db-seed-"), "seed objects go with their service");
}

#[test]
fn a_missing_cluster_tool_links_to_the_kubernetes_section() {
    let runner = crate::k8s::runner::double::ScriptedRunner::new();
    runner.missing("kind").missing("k3d");
    let missing = crate::k8s::cluster::detect(&runner, None).expect_err("nothing installed");
    assert_eq!(missing.docs(), Some("README.md#kubernetes-devenv-k8s"), "{missing}");
    assert_eq!(missing.exit_code(), crate::error::exit::PREFLIGHT);
    let missing = crate::k8s::cluster::detect(&runner, Some(crate::k8s::Provider::K3d)).expect_err("not installed");
    assert_eq!(missing.docs(), Some("README.md#kubernetes-devenv-k8s"), "{missing}");
}

fn existing(runner: &ScriptedRunner, ui: &Ui) -> Cluster<'static> {
    // Leaked for the test's lifetime: a Cluster borrows its runner and ui.
    let runner: &'static ScriptedRunner = Box::leak(Box::new(runner.clone()));
    let ui: &'static Ui = Box::leak(Box::new(ui.clone()));
    let t = Target { provider: Provider::Kind, cluster: "devenv".into(), namespace: "shop".into(), project: "shop".into(), existing: Some("dev-eks".into()), owner: Some("alice".into()) };
    let mut c = Cluster::new(runner, ui, t);
    c.poll = Duration::ZERO;
    c
}

#[test]
fn an_existing_context_is_used_as_is_every_kubectl_call_names_it_and_nothing_is_created_or_loaded() {
    let (_d, r) = rendered();
    let runner = ScriptedRunner::new();
    runner.on("kubectl --context dev-eks get namespace shop", Output::failed(1, "Error from server (NotFound): namespaces \"shop\" not found"));
    runner.on("kubectl --context dev-eks -n shop get job", Output::ok(JOB_DONE));
    let ui = quiet();
    let c = existing(&runner, &ui);
    let report = c.up(&r, &[], &[], &["shop-api:devenv".to_string()]).expect("up");
    assert!(!report.created_cluster);
    let calls = runner.calls();
    assert!(calls.iter().all(|c| c.starts_with("kubectl --context dev-eks ")), "no kind/k3d, every call names the context: {calls:#?}");
    // Reachable and ours (before anything is built or pushed), then again just before creating it.
    assert_eq!(calls[0..2], ["kubectl --context dev-eks get namespace shop -o json", "kubectl --context dev-eks get namespace shop -o json"]);
    assert_eq!(calls[2], "kubectl --context dev-eks apply -f -");
    assert!(calls[3..].iter().all(|c| c.starts_with("kubectl --context dev-eks -n shop ")), "{calls:#?}");
    let ns = runner.invocations().into_iter().find_map(|i| i.stdin).expect("namespace applied");
    assert!(ns.contains("name: shop\n") && ns.contains("app.kubernetes.io/managed-by: devenv") && ns.contains("app.kubernetes.io/part-of: shop"), "{ns}");
    assert!(ns.contains("devenv.dev/owner: alice"), "the developer's namespace names them: {ns}");

    // down -v: the namespace is alice's (no other developer's workloads there), then only devenv's labelled
    // objects there, and the namespace only when it carries devenv's labels (devenv created it).
    let runner = ScriptedRunner::new();
    existing(&runner, &ui).down(&[], true).expect("down");
    assert_eq!(
        runner.calls(),
        [
            "kubectl --context dev-eks get namespace shop -o json",
            "kubectl --context dev-eks -n shop get deployments,statefulsets,jobs -l app.kubernetes.io/managed-by=devenv,app.kubernetes.io/part-of=shop -o json",
            "kubectl --context dev-eks -n shop delete deployments,statefulsets,jobs,services,configmaps,secrets,persistentvolumeclaims -l app.kubernetes.io/managed-by=devenv,app.kubernetes.io/part-of=shop --ignore-not-found",
            "kubectl --context dev-eks delete namespace -l app.kubernetes.io/managed-by=devenv,app.kubernetes.io/part-of=shop,kubernetes.io/metadata.name=shop --ignore-not-found",
        ]
    );
    let e = existing(&ScriptedRunner::new(), &ui).delete_cluster().expect_err("never deletes a context's cluster");
    assert!(e.to_string().contains("not context `dev-eks`"), "{e}");
}

#[test]
fn context_info_and_production_markers() {
    let ui = quiet();
    let runner = ScriptedRunner::new();
    runner.on("kubectl config view --minify --context dev-eks -o json", Output::ok(r#"{"clusters": [{"name": "c", "cluster": {"server": "https://ABC.gr7.eu-west-1.eks.amazonaws.com"}}]}"#));
    let info = existing(&runner, &ui).context_info().expect("info");
    assert_eq!(info.server, "https://ABC.gr7.eu-west-1.eks.amazonaws.com");
    let runner = ScriptedRunner::new();
    // kubectl 1.32's text for an unknown context.
    runner.on("kubectl config view", Output::failed(1, "error: context \"dev-eks\" does not exist"));
    let e = existing(&runner, &ui).context_info().expect_err("unknown");
    assert!(e.to_string().contains("context `dev-eks` is not in your kubeconfig"), "{e}");

    let m: Vec<String> = super::spec::DEFAULT_PRODUCTION_MARKERS.iter().map(|s| s.to_string()).collect();
    let ctx = |c: &str, s: &str| cluster::ContextInfo { context: c.into(), server: s.into() };
    assert_eq!(cluster::production_marker(&ctx("gke_team_prod-eu", "https://10.0.0.1"), &m), Some("prod"));
    assert_eq!(cluster::production_marker(&ctx("dev", "https://api.live.example.com"), &m), Some("live"));
    assert_eq!(cluster::production_marker(&ctx("eks-production", "https://x"), &m), Some("production"));
    assert_eq!(cluster::production_marker(&ctx("products-dev", "https://liveness.example.com"), &m), None, "whole words only");
    assert!(cluster::check_not_production(&ctx("prod", "https://x"), &m, Some("prod")).is_ok());
    let e = cluster::check_not_production(&ctx("prod", "https://x"), &m, None).expect_err("refused");
    assert!(e.to_string().contains("refusing context `prod`"), "{e}");
    assert!(cluster::check_not_production(&ctx("shop-stg", "https://x"), &["stg".to_string()], None).is_err(), "configurable");
}

#[test]
fn a_shared_clusters_refusals_name_the_object_and_the_fix() {
    let ui = quiet();
    let (_d, r) = rendered();
    // RBAC: kubectl apply's own text.
    let runner = ScriptedRunner::new();
    runner.on("kubectl --context dev-eks -n shop apply", Output::failed(1, r#"Error from server (Forbidden): error when creating "STDIN": deployments.apps is forbidden: User "alice@example.com" cannot create resource "deployments" in API group "apps" in the namespace "shop""#));
    let e = existing(&runner, &ui).apply_stream("kind: Deployment\n".into(), "the manifests of api").expect_err("forbidden");
    assert!(e.to_string().contains("the cluster rejected the manifests of api: RBAC: user `alice@example.com` may not create deployments (API group apps) in namespace `shop`"), "{e}");
    assert!(e.to_string().contains("hint: ask a cluster admin for a Role + RoleBinding"), "{e}");

    // Quota: the Deployment's pods are refused, so no pod exists; the ReplicaSet's warning event says why.
    let runner = ScriptedRunner::new();
    runner.on("kubectl --context dev-eks -n shop rollout status", Output::failed(1, "error: timed out waiting for the condition"));
    runner.on("kubectl --context dev-eks -n shop get pods", Output::ok(r#"{"items": []}"#));
    let ev = r#"{"items": [{"involvedObject": {"name": "api-5f7c9"}, "reason": "FailedCreate", "message": "Error creating: pods \"api-5f7c9-x2x\" is forbidden: exceeded quota: team-quota, requested: limits.memory=512Mi, used: limits.memory=3840Mi, limited: limits.memory=4Gi"}]}"#;
    runner.on("kubectl --context dev-eks -n shop get events --field-selector type=Warning", Output::ok(ev));
    let api = r.service("api").expect("api");
    let e = existing(&runner, &ui).rollout("api", "deployment", &api.workload, "app=api", Duration::from_secs(5)).expect_err("quota");
    let Error::Service { message, hint, logs } = &e else { panic!("{e:?}") };
    assert!(message.contains("deployment/api did not become ready within 5s: no pod was created\nquota `team-quota` of namespace `shop` is exhausted: pods `api-5f7c9-x2x` asks for limits.memory=512Mi"), "{message}");
    assert!(hint.as_deref().is_some_and(|h| h.contains("lower the service's `k8s.resources`")), "{hint:?}");
    assert!(logs.iter().any(|l| l.contains("api-5f7c9: FailedCreate")), "{logs:?}");

    // An image pull refused for want of a pull secret, as the pod's waiting state says it.
    let runner = ScriptedRunner::new();
    runner.on("kubectl --context dev-eks -n shop rollout status", Output::failed(1, "error: timed out waiting for the condition"));
    let pod = r#"{"items": [{"metadata": {"name": "api-1"}, "status": {"phase": "Pending", "containerStatuses": [{"ready": false, "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image \"registry.example.com/team/shop-api:1a2b3c4d5e6f\": ErrImagePull: failed to resolve reference: 401 Unauthorized"}}}]}}]}"#;
    runner.on("kubectl --context dev-eks -n shop get pods", Output::ok(pod));
    let e = existing(&runner, &ui).rollout("api", "deployment", "api", "app=api", Duration::from_secs(5)).expect_err("pull");
    assert!(e.to_string().contains("the cluster may not pull image `registry.example.com/team/shop-api:1a2b3c4d5e6f`"), "{e}");
    assert!(e.hint().is_some_and(|h| h.contains("--docker-server=registry.example.com")), "{:?}", e.hint());

    // Developers often may not create namespaces: the admin makes it, devenv uses it.
    let runner = ScriptedRunner::new();
    runner.on("kubectl --context dev-eks get namespace shop", Output::failed(1, NOT_FOUND_NS));
    let forbidden = r#"Error from server (Forbidden): error when creating "STDIN": namespaces is forbidden: User "alice@example.com" cannot create resource "namespaces" in API group "" at the cluster scope"#;
    runner.on("kubectl --context dev-eks apply -f -", Output::failed(1, forbidden));
    let e = existing(&runner, &ui).ensure_namespace(&r).expect_err("forbidden");
    assert!(e.to_string().contains("cannot create namespace `shop`: RBAC: user `alice@example.com` may not create namespaces (API group core) at the cluster scope"), "{e}");
    assert!(e.to_string().contains("hint: ask a cluster admin to create namespace `shop` for you"), "{e}");

    // A volume claim that nothing binds (no default StorageClass): the database's pod stays Pending.
    let runner = ScriptedRunner::new();
    runner.on("kubectl --context dev-eks -n shop rollout status", Output::failed(1, "error: timed out waiting for the condition"));
    let pending = r#"{"items": [{"metadata": {"name": "db-0"}, "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/3 nodes are available: 3 pod has unbound immediate PersistentVolumeClaims. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."}]}}]}"#;
    runner.on("kubectl --context dev-eks -n shop get pods", Output::ok(pending));
    let e = existing(&runner, &ui).rollout("db", "statefulset", "db", "app=db", Duration::from_secs(5)).expect_err("unbound");
    assert!(e.to_string().contains("statefulset/db did not become ready within 5s: pod db-0: Pending: 0/3 nodes are available: 3 pod has unbound immediate PersistentVolumeClaims"), "{e}");
    assert!(e.to_string().contains("a volume claim in namespace `shop` stays unbound: the cluster has no default StorageClass"), "{e}");
    assert!(e.hint().is_some_and(|h| h.contains("storageclass.kubernetes.io/is-default-class")), "{:?}", e.hint());
}

/// A developer on the shared context `dev-eks`, in their namespace `shop-<who>`.
fn developer(runner: &ScriptedRunner, ui: &Ui, who: &str, namespace: &str) -> Cluster<'static> {
    let runner: &'static ScriptedRunner = Box::leak(Box::new(runner.clone()));
    let ui: &'static Ui = Box::leak(Box::new(ui.clone()));
    let t = Target { provider: Provider::Kind, cluster: "devenv".into(), namespace: namespace.into(), project: "shop".into(), existing: Some("dev-eks".into()), owner: Some(who.into()) };
    let mut c = Cluster::new(runner, ui, t);
    c.poll = Duration::ZERO;
    c
}

fn rendered_for(dir: &Path, namespace: &str) -> Rendered {
    rendered_in_namespace(dir, ENV, namespace)
}

/// `kubectl get namespace shop-bob -o json` of the namespace devenv created for bob.
const BOBS_NAMESPACE: &str = r#"{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop-bob", "labels": {"app.kubernetes.io/managed-by": "devenv", "app.kubernetes.io/part-of": "shop", "devenv.dev/owner": "bob", "kubernetes.io/metadata.name": "shop-bob"}}, "status": {"phase": "Active"}}"#;

#[test]
fn two_developers_on_one_cluster_never_touch_each_others_objects() {
    let ui = quiet();
    let dir = tempfile::tempdir().expect("tempdir");
    for (who, other) in [("alice", "bob"), ("bob", "alice")] {
        let ns = format!("shop-{who}");
        let r = rendered_for(dir.path(), &ns);
        let runner = ScriptedRunner::new();
        runner.on(&format!("kubectl --context dev-eks get namespace {ns}"), Output::failed(1, &format!("Error from server (NotFound): namespaces \"{ns}\" not found")));
        runner.on(&format!("kubectl --context dev-eks -n {ns} get job"), Output::ok(JOB_DONE));
        let c = developer(&runner, &ui, who, &ns);
        c.up(&r, &[], &[], &[]).expect("up");
        c.down(&[], true).expect("down");
        let calls = runner.calls();
        for call in &calls {
            assert!(!call.contains(other), "{who}'s run names nothing of {other}'s: {call}");
            let in_ns = call.starts_with(&format!("kubectl --context dev-eks -n {ns} "));
            let the_ns = call == &format!("kubectl --context dev-eks get namespace {ns} -o json") || call == "kubectl --context dev-eks apply -f -";
            let delete_ns = call.starts_with("kubectl --context dev-eks delete namespace -l ") && call.contains(&format!(",kubernetes.io/metadata.name={ns} "));
            assert!(in_ns || the_ns || delete_ns, "{who}: a call outside namespace {ns}: {call}");
        }
        for stdin in runner.invocations().into_iter().filter_map(|i| i.stdin) {
            for line in stdin.lines().map(str::trim).filter(|l| l.starts_with("namespace: ")) {
                assert_eq!(line, format!("namespace: {ns}"), "{who} applies into their namespace only");
            }
            assert!(!stdin.contains(other), "{stdin}");
            // Every object applied carries devenv's labels (what `down` selects by).
            for doc in stdin.split("\n---\n").filter(|d| d.contains("kind: ")) {
                assert!(doc.contains("app.kubernetes.io/managed-by: devenv") && doc.contains("app.kubernetes.io/part-of: shop"), "unlabelled:\n{doc}");
                assert!(doc.contains(&format!("devenv.dev/owner: {who}")), "every object names its developer:\n{doc}");
            }
        }
    }

    // Alice pointed at Bob's namespace (devenv created it for bob): refused before anything is applied or deleted.
    let r = rendered_for(dir.path(), "shop-bob");
    let runner = ScriptedRunner::new();
    runner.on("kubectl --context dev-eks get namespace shop-bob", Output::ok(BOBS_NAMESPACE));
    let c = developer(&runner, &ui, "alice", "shop-bob");
    let e = c.up(&r, &[], &[], &[]).expect_err("refused");
    assert!(e.to_string().contains("namespace `shop-bob` holds the `shop` environment of `bob` (label devenv.dev/owner=bob)"), "{e}");
    assert!(e.hint().is_some_and(|h| h.contains("shop-alice")), "{:?}", e.hint());
    c.down(&[], true).expect_err("refused too");
    assert_eq!(runner.calls(), ["kubectl --context dev-eks get namespace shop-bob -o json"; 2]);
    // Bob himself, and a namespace an admin made (no devenv labels), are fine.
    developer(&runner, &ui, "bob", "shop-bob").ensure().expect("bob's own");
    let runner = ScriptedRunner::new();
    runner.on("kubectl --context dev-eks get namespace team", Output::ok(r#"{"kind": "Namespace", "metadata": {"name": "team", "labels": {"kubernetes.io/metadata.name": "team"}}}"#));
    developer(&runner, &ui, "alice", "team").ensure().expect("not devenv's");

    // That admin's namespace once Alice runs there: Bob is refused, by her workloads' owner label.
    let alices = r#"{"kind": "List", "items": [{"kind": "Deployment", "metadata": {"name": "api", "labels": {"app.kubernetes.io/managed-by": "devenv", "app.kubernetes.io/part-of": "shop", "devenv.dev/owner": "alice"}}}]}"#;
    runner.on("kubectl --context dev-eks -n team get deployments,statefulsets,jobs -l app.kubernetes.io/managed-by=devenv,app.kubernetes.io/part-of=shop -o json", Output::ok(alices));
    let e = developer(&runner, &ui, "bob", "team").ensure().expect_err("alice's objects are there");
    assert!(e.to_string().contains("namespace `team` already runs the `shop` environment of another developer (deployment/api of `alice`)"), "{e}");
    developer(&runner, &ui, "bob", "team").down(&[], true).expect_err("bob's down deletes none of them");
    assert!(runner.calls().iter().all(|c| !c.contains(" delete ")), "{:#?}", runner.calls());
    developer(&runner, &ui, "alice", "team").ensure().expect("her own");
}

#[test]
fn a_shared_cluster_keeps_the_teams_manifests_in_the_developers_namespace() {
    let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop-alice}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: metrics, namespace: ops}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: reader}\n";
    let origin = super::manifest::Origin::File { path: "k8s/app.yaml".into() };
    let (ms, problems) = super::manifest::parse_stream(text, &origin, false);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(cluster::outside_namespace(&ms, "shop-alice"), ["k8s/app.yaml: Service/metrics (namespace `ops`)", "k8s/app.yaml: ClusterRole/reader (cluster-scoped)"]);
    assert!(cluster::outside_namespace(&ms[..2], "shop-alice").is_empty());
}
