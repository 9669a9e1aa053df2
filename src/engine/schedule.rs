//! Scheduling: one task per service step (one per replica), in parallel; each
//! waits on the states its dependencies reach (one watch channel per
//! container; a dependent waits for every replica of a dependency). Every
//! service runs to its end (ready, failed, timed out, not started): one
//! failure does not hide the others, and all of them become one report.
//! One service may be the *lead* (`lead`): the clearly slowest preset with
//! nothing to wait on gets its Docker start call before the others'.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinSet;

use super::service::{Dependency, Failure, Reached, Run, ServiceOutcome, ServiceRun};
use super::FAILURE_LOG_LINES_EACH;
use crate::diff::{Step, StepKind};
use crate::error::Error;
use crate::observe::ObservedContainer;
use crate::plan::Plan;

/// What the service tasks achieved together.
#[derive(Debug, Default)]
pub(super) struct Outcome {
    /// Container id per service.
    pub containers: BTreeMap<String, String>,
    /// Seed entries applied.
    pub seeded: usize,
}

/// Whether a step is run by a task (not an orphan, not a scaled-down replica).
fn runs(step: &Step) -> bool {
    !matches!(step.kind, StepKind::RemoveOrphan | StepKind::Remove)
}

/// A lead's preset start must be longer than the next slowest's by at least
/// this (about what its start call alone costs the others: they wait for it).
const LEAD_MARGIN_MS: u64 = 300;

/// The service (label) whose Docker start call goes before the others':
/// of the containers this run creates that wait on nothing, the one whose
/// preset is slowest to become ready on a new volume, when it is clearly
/// the slowest (by `LEAD_MARGIN_MS` over every other one; a service
/// without a preset counts as the preset its image is, if any, else 0).
/// Measured: on a 2-core machine, 4 start calls at once took 0.7–1.6 s
/// each; Postgres' alone 0.3 s — the stack was ready 0.7 s sooner. The
/// others start as soon as that call returns (their own start is much
/// shorter). Pure.
pub(super) fn lead(plan: &Plan, steps: &[Step]) -> Option<String> {
    let mut firsts: Vec<(u64, String)> = steps
        .iter()
        .filter(|s| matches!(s.kind, StepKind::Create | StepKind::Recreate { .. }))
        .filter_map(|s| {
            let svc = plan.services.get(&s.service)?;
            if !svc.depends_on.is_empty() || svc.once {
                return None;
            }
            // A preset's, else the one its image is (a compose file's `postgres:16`).
            let kind = svc.connection.as_ref().map(|c| c.kind).or_else(|| crate::preset::Kind::from_image(&svc.image));
            let ms = kind.map(|k| k.preset().first_start_ms()).unwrap_or(0);
            Some((ms, s.label()))
        })
        .collect();
    if firsts.len() < 2 {
        return None;
    }
    firsts.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let (slowest, next) = (firsts[0].0, firsts[1].0);
    (slowest >= next.saturating_add(LEAD_MARGIN_MS)).then(|| firsts.swap_remove(0).1)
}

/// Run every service step (one per replica; not orphans) to its end.
pub(super) async fn run_services(run: Arc<Run>, steps: &[Step], observed: &[ObservedContainer]) -> Result<Outcome, Error> {
    let plan = run.plan.clone();
    let (mut senders, receivers) = channels(steps);
    let needed = needed_by_changed(&plan, steps);
    let mut set: JoinSet<(String, ServiceOutcome)> = JoinSet::new();
    // The observed ports of each container, by service and replica.
    let mut ports: HashMap<(&str, u32), &[crate::observe::ObservedPort]> = HashMap::new();
    for c in observed {
        if let Some(s) = c.service.as_deref() {
            ports.entry((s, c.replica.unwrap_or(1))).or_insert(c.ports.as_slice());
        }
    }
    for step in steps.iter().filter(|s| runs(s)) {
        let label = step.label();
        let (Some(svc), Some(tx)) = (plan.services.get(&step.service), senders.remove(&label)) else { continue };
        let task = ServiceRun {
            run: run.clone(),
            svc: svc.as_replica(&plan.project, step.replica),
            label: label.clone(),
            step: step.clone(),
            deps: dependencies(&plan, &step.service, &receivers),
            tx,
            probe_if_kept: needed.contains(step.service.as_str()),
            observed_ports: ports.get(&(step.service.as_str(), step.replica.unwrap_or(1))).map(|p| p.to_vec()).unwrap_or_default(),
        };
        set.spawn(async move { (label, task.run().await) });
    }
    join(set).await
}

/// Senders by step label (`web`, `web-2`); receivers by service, one per replica.
type Channels = (HashMap<String, watch::Sender<Reached>>, HashMap<String, Vec<(String, watch::Receiver<Reached>)>>);

/// One watch channel per container to start; dependents wait on every replica's.
fn channels(steps: &[Step]) -> Channels {
    let mut senders = HashMap::new();
    let mut receivers: HashMap<String, Vec<_>> = HashMap::new();
    for step in steps.iter().filter(|s| runs(s)) {
        let (tx, rx) = watch::channel(Reached::Pending);
        senders.insert(step.label(), tx);
        receivers.entry(step.service.clone()).or_default().push((step.label(), rx));
    }
    (senders, receivers)
}

/// The dependencies of `service` that are part of this run: every replica of
/// each (compose waits for all of them; a service scaled to 0 is not waited on).
fn dependencies(plan: &Plan, service: &str, receivers: &HashMap<String, Vec<(String, watch::Receiver<Reached>)>>) -> Vec<Dependency> {
    let Some(svc) = plan.services.get(service) else { return vec![] };
    let mut out = Vec::new();
    for (d, c) in &svc.depends_on {
        let once = plan.services.get(d).is_some_and(|s| s.once);
        for (label, rx) in receivers.get(d).into_iter().flatten() {
            out.push(Dependency { service: label.clone(), condition: *c, once, reached: rx.clone() });
        }
    }
    out
}

/// The services a service that changes in this run depends on (one pass over the steps).
fn needed_by_changed<'a>(plan: &'a Plan, steps: &[Step]) -> HashSet<&'a str> {
    steps
        .iter()
        .filter(|s| !matches!(s.kind, StepKind::Keep | StepKind::RemoveOrphan))
        .filter_map(|s| plan.services.get(&s.service))
        .flat_map(|o| o.depends_on.keys().map(String::as_str))
        .collect()
}

/// Wait for every task; the failures become one error.
async fn join(mut set: JoinSet<(String, ServiceOutcome)>) -> Result<Outcome, Error> {
    let mut outcome = Outcome::default();
    let mut failures: Vec<(String, Error)> = Vec::new();
    let mut timed_out: Vec<String> = Vec::new();
    let mut not_started: Vec<(String, String)> = Vec::new();
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok((name, Ok((id, seeded)))) => {
                outcome.seeded += seeded;
                if let Some(id) = id {
                    outcome.containers.insert(name, id);
                }
            }
            Ok((name, Err(Failure::Failed(e)))) => failures.push((name, e)),
            Ok((name, Err(Failure::TimedOut(e)))) => {
                timed_out.push(name.clone());
                failures.push((name, e));
            }
            Ok((name, Err(Failure::NotStarted { reason }))) => not_started.push((name, reason)),
            Err(e) => failures.push(("devenv".into(), Error::Other(format!("internal task failed: {e}")))),
        }
    }
    match failure_report(failures, &timed_out, not_started) {
        Some(e) => Err(e),
        None => Ok(outcome),
    }
}

/// The error of a run in which services failed. One failure is returned as
/// it is. Several become one report: each failing service's error and its last
/// log lines, which services the deadline caught, which were not started.
/// Without failures, a service that could not start is the error.
fn failure_report(mut failures: Vec<(String, Error)>, timed_out: &[String], not_started: Vec<(String, String)>) -> Option<Error> {
    if failures.is_empty() {
        let (name, reason) = not_started.into_iter().next()?;
        return Some(Error::Service { message: format!("not started `{name}`: {reason}"), logs: vec![], hint: None });
    }
    if failures.len() == 1 {
        return failures.pop().map(|(_, e)| e);
    }
    let names: Vec<&str> = failures.iter().map(|(n, _)| n.as_str()).collect();
    let mut message = format!("{} services failed: {}", failures.len(), names.join(", "));
    if !timed_out.is_empty() {
        message.push_str(&format!("; timeout reached: {} not ready", timed_out.join(", ")));
    }
    if !not_started.is_empty() {
        let names: Vec<&str> = not_started.iter().map(|(n, _)| n.as_str()).collect();
        message.push_str(&format!("; not started: {}", names.join(", ")));
    }
    let mut detail = Vec::new();
    for (name, e) in &failures {
        let text = e.to_string();
        detail.push(if text.contains(&format!("`{name}`")) { text } else { format!("{name}: {text}") });
        let lines = e.detail();
        let prefix = format!("{name} | ");
        for line in &lines[lines.len().saturating_sub(FAILURE_LOG_LINES_EACH)..] {
            detail.push(if line.starts_with(&prefix) { line.clone() } else { format!("{prefix}{line}") });
        }
    }
    for (name, reason) in &not_started {
        detail.push(format!("{name}: not started: {reason}"));
    }
    let hint = Some(format!("the last {FAILURE_LOG_LINES_EACH} log lines of each failing service are above; `devenv logs SERVICE` shows more"));
    if failures.iter().any(|(_, e)| matches!(e, Error::Service { .. })) {
        Some(Error::Service { message, logs: detail, hint })
    } else if failures.iter().any(|(_, e)| e.exit_code() == crate::error::exit::IMAGE) {
        Some(Error::Image { message, detail, hint })
    } else {
        // Seeding, Docker or internal errors only: the first, as before.
        Some(failures.swap_remove(0).1)
    }
}

#[cfg(test)]
mod failure_report_tests {
    use super::*;

    fn service_error(name: &str, message: &str, lines: usize) -> Error {
        Error::Service { message: message.into(), logs: (1..=lines).map(|i| format!("{name} | line-{i}")).collect(), hint: Some("one".into()) }
    }

    #[test]
    fn one_failure_is_returned_as_it_is() {
        let e = failure_report(vec![("db".into(), service_error("db", "`db` exited with code 1 while starting", 30))], &[], vec![("api".into(), "dependency `db` failed".into())]);
        assert!(matches!(e, Some(Error::Service { ref message, ref logs, .. }) if message.starts_with("`db` exited") && logs.len() == 30));
    }

    #[test]
    fn several_failures_are_reported_together() {
        let failures = vec![
            ("bad".to_string(), service_error("bad", "`bad` exited with code 3 while starting", 30)),
            ("slow".to_string(), service_error("slow", "`slow` was not ready after 3s: connection refused", 2)),
            ("img".to_string(), Error::Image { message: "cannot pull x".into(), detail: vec!["denied".into()], hint: None }),
        ];
        let not_started = vec![("app".to_string(), "dependency `bad` failed".to_string())];
        let Some(e) = failure_report(failures, &["slow".to_string()], not_started) else { panic!("no error") };
        assert_eq!(e.exit_code(), crate::error::exit::SERVICE);
        assert_eq!(e.to_string(), "3 services failed: bad, slow, img; timeout reached: slow not ready; not started: app");
        let d = e.detail();
        assert_eq!(d[0], "`bad` exited with code 3 while starting");
        assert_eq!(d[1], "bad | line-11", "the last {FAILURE_LOG_LINES_EACH} lines of each");
        assert_eq!(d[20], "bad | line-30");
        assert_eq!(&d[21..24], ["`slow` was not ready after 3s: connection refused", "slow | line-1", "slow | line-2"]);
        assert_eq!(&d[24..], ["img: cannot pull x", "img | denied", "app: not started: dependency `bad` failed"]);
    }

    #[test]
    fn only_not_started_services_still_fail_the_run() {
        let e = failure_report(vec![], &[], vec![("api".into(), "dependency `job` cannot reach `completed`".into())]);
        assert!(matches!(e, Some(Error::Service { ref message, .. }) if message == "not started `api`: dependency `job` cannot reach `completed`"));
        assert!(failure_report(vec![], &[], vec![]).is_none());
    }
}


#[cfg(test)]
mod replica_tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::plan::plan_of;

    #[test]
    fn a_dependent_waits_for_every_replica_and_not_for_a_service_scaled_to_zero() {
        let yaml = |n: u32| format!("name: p\nservices:\n  web:\n    image: x\n    replicas: {n}\n  api:\n    image: x\n    depends_on: {{web: healthy}}\n");
        let plan = plan_of(&yaml(3));
        let steps = crate::diff::diff(&plan, &["web".into(), "api".into()], &[], &BTreeMap::new());
        let (senders, receivers) = channels(&steps);
        assert_eq!(senders.len(), 4, "one channel per container");
        let deps: Vec<String> = dependencies(&plan, "api", &receivers).into_iter().map(|d| d.service).collect();
        assert_eq!(deps, ["web-1", "web-2", "web-3"]);
        let plan = plan_of(&yaml(0));
        let steps = crate::diff::diff(&plan, &["web".into(), "api".into()], &[], &BTreeMap::new());
        assert!(dependencies(&plan, "api", &channels(&steps).1).is_empty());
    }
}

#[cfg(test)]
mod lead_tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::plan::plan_of;

    fn lead_of(yaml: &str) -> Option<String> {
        let plan = plan_of(yaml);
        let all: Vec<String> = plan.services.keys().cloned().collect();
        let steps = crate::diff::diff(&plan, &all, &[], &BTreeMap::new());
        lead(&plan, &steps)
    }

    #[test]
    fn the_clearly_slowest_preset_without_dependencies_starts_first() {
        let stack = "name: p\nservices:\n  db: {preset: postgres}\n  cache: {preset: redis}\n  app:\n    image: x\n    depends_on: {db: healthy, cache: healthy}\n";
        assert_eq!(lead_of(stack).as_deref(), Some("db"));
        // Elasticsearch is slower still.
        assert_eq!(lead_of(&format!("{stack}  search: {{preset: elasticsearch}}\n")).as_deref(), Some("search"));
        // By more than the margin over the next slowest.
        assert_eq!(lead_of("name: p\nservices:\n  db: {preset: postgres}\n  olap: {preset: clickhouse}\n").as_deref(), Some("db"));
        // An image a preset runs counts as that preset.
        assert_eq!(lead_of("name: p\nservices:\n  a: {image: x}\n  pg: {image: 'postgres:16'}\n").as_deref(), Some("pg"));
    }

    #[test]
    fn no_lead_when_none_is_clearly_slowest_or_there_is_nothing_to_order() {
        // ClickHouse and Kafka take about as long; Redis is not worth a wait.
        assert_eq!(lead_of("name: p\nservices:\n  olap: {preset: clickhouse}\n  events: {preset: kafka}\n"), None);
        assert_eq!(lead_of("name: p\nservices:\n  cache: {preset: redis}\n  web: {image: x}\n"), None);
        assert_eq!(lead_of("name: p\nservices:\n  db: {preset: postgres}\n"), None, "alone");
        assert_eq!(lead_of("name: p\nservices:\n  a: {image: x}\n  b: {image: y}\n"), None, "no preset: nothing known");
        // A slow service that waits on another is not started first.
        assert_eq!(lead_of("name: p\nservices:\n  db:\n    preset: postgres\n    depends_on: {cache: started}\n  cache: {preset: redis}\n  web: {image: x}\n"), None);
    }
}
