use std::collections::BTreeMap;

use super::*;
use crate::observe::{ContainerState, ObservedContainer, Snapshot};
use crate::plan::plan_of;

fn observed(plan: &Plan, svc: &str, state: ContainerState, status: &str) -> ObservedContainer {
    ObservedContainer {
        id: format!("id-{svc}"),
        name: format!("{}-{svc}", plan.project),
        service: Some(svc.into()),
        replica: None,
        config_hash: plan.services.get(svc).map(|s| s.config_hash.clone()),
        image: String::new(),
        image_id: "sha256:1".into(),
        state,
        status: status.into(),
        health: None,
        ports: vec![],
        created: 0,
        oneshot: false,
        owner: None,
        project: plan.project.clone(),
    }
}

const YAML: &str = "name: p\nservices:\n  db:\n    image: pg\n  api:\n    image: app\n    env: {A: '1'}\n    depends_on: {db: started}\n  job:\n    image: app\n    run: once\n";

fn all(plan: &Plan) -> Vec<String> {
    plan.services.keys().cloned().collect()
}

fn shown(steps: &[Step]) -> Vec<String> {
    steps.iter().map(|s| s.to_string()).collect()
}

#[test]
fn nothing_observed_creates_everything() {
    let plan = plan_of(YAML);
    assert_eq!(shown(&diff(&plan, &all(&plan), &[], &BTreeMap::new())), vec!["create db", "create api", "create job"]);
}

#[test]
fn unchanged_running_is_kept_and_completed_job_is_kept() {
    let plan = plan_of(YAML);
    let obs = vec![
        observed(&plan, "db", ContainerState::Running, "Up 1 minute"),
        observed(&plan, "api", ContainerState::Running, "Up 1 minute"),
        observed(&plan, "job", ContainerState::Exited, "Exited (0) 1 minute ago"),
    ];
    assert_eq!(shown(&diff(&plan, &all(&plan), &obs, &BTreeMap::new())), vec!["keep db", "keep api", "keep job"]);
}

#[test]
fn failed_job_and_stopped_service_are_started_again() {
    let plan = plan_of(YAML);
    let obs = vec![
        observed(&plan, "db", ContainerState::Exited, "Exited (137) 1 minute ago"),
        observed(&plan, "job", ContainerState::Exited, "Exited (1) 1 minute ago"),
    ];
    assert_eq!(shown(&diff(&plan, &all(&plan), &obs, &BTreeMap::new())), vec!["start db", "create api", "start job"]);
}

#[test]
fn a_changed_service_alone_is_recreated() {
    let plan = plan_of(YAML);
    let mut obs = vec![
        observed(&plan, "db", ContainerState::Running, "Up"),
        observed(&plan, "api", ContainerState::Running, "Up"),
    ];
    obs[1].config_hash = Some("old".into());
    let steps = diff(&plan, &["db".into(), "api".into()], &obs, &BTreeMap::new());
    assert_eq!(shown(&steps), vec!["keep db", "recreate api (configuration changed)"]);
}

#[test]
fn a_new_image_under_the_same_tag_recreates() {
    let plan = plan_of(YAML);
    let obs = vec![observed(&plan, "db", ContainerState::Running, "Up")];
    let mut ids = BTreeMap::new();
    ids.insert("pg".to_string(), "sha256:2".to_string());
    assert_eq!(shown(&diff(&plan, &["db".into()], &obs, &ids)), vec!["recreate db (image changed)"]);
}

#[test]
fn services_gone_from_the_file_are_orphans() {
    let plan = plan_of(YAML);
    let mut gone = observed(&plan, "db", ContainerState::Running, "Up");
    gone.service = Some("old-worker".into());
    let steps = diff(&plan, &["db".into()], &[gone], &BTreeMap::new());
    assert_eq!(shown(&steps), vec!["create db", "orphan old-worker"]);
}

#[test]
fn hash_ignores_depends_on_health_and_env_order_but_sees_env_values() {
    let a = plan_of("name: p\nservices:\n  x:\n    image: i\n    env: {A: '1', B: '2'}\n");
    let b = plan_of("name: p\nservices:\n  y:\n    image: i\n  x:\n    image: i\n    env: {B: '2', A: '1'}\n    depends_on: [y]\n    health: {tcp: 80}\n");
    let c = plan_of("name: p\nservices:\n  x:\n    image: i\n    env: {A: '1', B: '3'}\n");
    let h = |p: &Plan| p.services["x"].config_hash.clone();
    assert_eq!(h(&a), h(&b));
    assert_ne!(h(&a), h(&c));
}

#[test]
fn host_and_port_references_resolve_to_in_network_values() {
    let p = plan_of("name: p\nservices:\n  db:\n    image: pg\n    ports: ['15432:5432']\n  api:\n    image: app\n    env: {DB: 'postgres://${db.host}:${db.port}/x'}\n");
    assert_eq!(p.services["api"].env["DB"], "postgres://db:5432/x");
}

#[test]
fn used_networks_in_first_use_order_each_once() {
    let yaml = "name: p\nnetworks:\n  front:\n  back: {name: shared-back}\n  ext: {external: true}\n  unused:\nservices:\n  web:\n    image: x\n    networks: [front, back]\n  db:\n    image: x\n    networks: [back, default]\n  lone:\n    image: x\n    networks: [ext]\n";
    let plan = plan_of(yaml);
    let names = |wanted: &[&str]| -> Vec<String> {
        let w: Vec<String> = wanted.iter().map(|s| s.to_string()).collect();
        used_networks(&plan, &w).into_iter().map(|(_, n)| n.name.clone()).collect()
    };
    assert_eq!(names(&["web", "db"]), vec!["p_front", "shared-back", "p_default"]);
    assert_eq!(names(&["db"]), vec!["shared-back", "p_default"]);
    let ext = used_networks(&plan, &["lone".to_string()]);
    assert_eq!(ext.len(), 1);
    assert!(ext[0].1.external);
    assert_eq!(ext[0].1.name, "ext", "an external network is found by its key");
}

const OBJECTS: &str = "name: p\nnetworks:\n  back:\n  ext: {external: true}\nvolumes:\n  data:\n  cache:\nservices:\n  db:\n    image: pg\n    networks: [back]\n    volumes: ['data:/var/lib/data']\n  web:\n    image: app\n    networks: [ext, default]\n    volumes: ['cache:/cache']\n";

#[test]
fn networks_and_volumes_are_steps_too() {
    let plan = plan_of(OBJECTS);
    let changes = changes(&plan, &all(&plan), &Snapshot::default());
    assert_eq!(
        changes.shown(),
        vec!["create db", "create web", "create network p_back", "use external network ext", "create network p_default", "create volume p_data", "create volume p_cache"]
    );
    assert_eq!(changes.work().count(), 2);
}

#[test]
fn existing_networks_and_volumes_are_kept_and_only_used_ones_listed() {
    let plan = plan_of(OBJECTS);
    let mut gone = observed(&plan, "db", ContainerState::Running, "Up");
    gone.service = Some("old".into());
    let snapshot = Snapshot {
        containers: vec![observed(&plan, "db", ContainerState::Running, "Up"), gone],
        networks: vec!["p_back".into()],
        volumes: vec!["p_data".into(), "p_cache".into()],
        ..Default::default()
    };
    let changes = changes(&plan, &["db".to_string()], &snapshot);
    assert_eq!(changes.shown(), vec!["keep db", "orphan old", "keep network p_back", "keep volume p_data"]);
    assert_eq!(changes.work().count(), 0);
    assert_eq!(changes.orphans().map(|s| s.service.as_str()).collect::<Vec<_>>(), vec!["old"]);
}

/// Replica `n` of `svc`, running, as `observe` reads it back.
fn replica(plan: &Plan, svc: &str, n: u32) -> ObservedContainer {
    ObservedContainer { id: format!("id-{svc}-{n}"), name: format!("{}-{svc}-{n}", plan.project), replica: Some(n), ..observed(plan, svc, ContainerState::Running, "Up 1 minute") }
}

#[test]
fn replicas_are_one_step_each_and_scaling_keeps_the_ones_that_stay() {
    let yaml = |n: u32| format!("name: p\nservices:\n  web:\n    image: app\n    replicas: {n}\n");
    let plan = plan_of(&yaml(3));
    assert_eq!(shown(&diff(&plan, &all(&plan), &[], &BTreeMap::new())), ["create web-1", "create web-2", "create web-3"]);
    let two = vec![replica(&plan, "web", 1), replica(&plan, "web", 2)];
    let steps = diff(&plan, &all(&plan), &two, &BTreeMap::new());
    assert_eq!(shown(&steps), ["keep web-1", "keep web-2", "create web-3"]);
    assert_eq!(steps[1].container.as_deref(), Some("id-web-2"));
    // Down to one: the highest numbers go first.
    let plan = plan_of(&yaml(1));
    let three: Vec<_> = (1..=3).map(|n| replica(&plan, "web", n)).collect();
    assert_eq!(shown(&diff(&plan, &all(&plan), &three, &BTreeMap::new())), ["keep web-1", "remove web-3 (scaled down)", "remove web-2 (scaled down)"]);
    // 0: nothing runs, nothing is left.
    let plan = plan_of(&yaml(0));
    assert_eq!(shown(&diff(&plan, &all(&plan), &three[..1], &BTreeMap::new())), ["remove web-1 (scaled down)"]);
}

#[test]
fn a_service_given_replicas_renames_its_container_and_back() {
    let plain = plan_of("name: p\nservices:\n  web:\n    image: app\n");
    let scaled = plan_of("name: p\nservices:\n  web:\n    image: app\n    replicas: 2\n");
    assert_eq!(plain.services["web"].config_hash, scaled.services["web"].config_hash, "the count is not hashed");
    let old = observed(&plain, "web", ContainerState::Running, "Up 1 minute");
    assert_eq!(shown(&diff(&scaled, &all(&scaled), &[old], &BTreeMap::new())), ["recreate web-1 (renamed to p-web-1)", "create web-2"]);
    let both = vec![replica(&scaled, "web", 1), replica(&scaled, "web", 2)];
    assert_eq!(shown(&diff(&plain, &all(&plain), &both, &BTreeMap::new())), ["recreate web (renamed to p-web)", "remove web-2 (scaled down)"]);
}
