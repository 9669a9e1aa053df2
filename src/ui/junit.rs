//! A JUnit XML report of one run: each service's readiness and seeding as test
//! cases, so CI systems show which backing service failed and how long each took.
//! Every failing service is its own failing test case, with the probe's last
//! error and (from the run's final error) the service's last log lines.

use std::collections::BTreeMap;
use std::time::Instant;

use super::mask::Secrets;
use super::{Event, Status};

#[derive(Debug, Default)]
struct Case {
    seconds: f64,
    failure: Option<String>,
    skipped: Option<String>,
    done: bool,
}

fn esc(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
        .collect::<String>()
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// The log lines of `service` in a failure's detail: the engine prefixes each
/// with `<service> | `, as `devenv logs` prints them.
fn logs_of<'a>(service: &str, error: Option<&'a crate::error::Error>) -> Vec<&'a str> {
    let prefix = format!("{service} | ");
    error.map(|e| e.detail()).unwrap_or_default().iter().filter(|l| l.starts_with(&prefix)).map(String::as_str).collect()
}

/// Render the events of a run (`started` = when it began) as JUnit XML;
/// `error` is how the run failed, if it did (its detail holds the log lines);
/// every message and log line is masked with `secrets`.
pub fn report(suite: &str, started: Instant, events: &[(Instant, Event)], error: Option<&crate::error::Error>, secrets: &Secrets) -> String {
    let mut ready: BTreeMap<String, Case> = BTreeMap::new();
    let mut seed: BTreeMap<String, Case> = BTreeMap::new();
    for (at, ev) in events {
        let Event::Service { service, status } = ev else { continue };
        let since = at.saturating_duration_since(started).as_secs_f64();
        let r = ready.entry(service.clone()).or_default();
        match status {
            Status::Ready { elapsed_ms } | Status::Completed { elapsed_ms } => {
                r.seconds = *elapsed_ms as f64 / 1000.0;
                r.done = true;
            }
            Status::Unchanged | Status::CompletedUnchanged if !r.done => r.done = true,
            Status::Seeded { elapsed_ms, .. } => {
                let s = seed.entry(service.clone()).or_default();
                s.seconds = *elapsed_ms as f64 / 1000.0;
                s.done = true;
            }
            Status::Seeding { .. } => {
                seed.entry(service.clone()).or_default();
            }
            Status::Failed { error } => {
                // A failure after readiness is a seeding failure.
                match seed.get_mut(service) {
                    Some(s) if r.done && !s.done => {
                        s.failure = Some(error.clone());
                        s.seconds = since;
                    }
                    _ => {
                        r.failure = Some(error.clone());
                        r.seconds = since;
                    }
                }
            }
            Status::Skipped { reason } => r.skipped = Some(reason.clone()),
            _ => {}
        }
    }
    let cases: Vec<(String, &str, &Case)> = ready
        .iter()
        .map(|(s, c)| (s.clone(), "ready", c))
        .chain(seed.iter().map(|(s, c)| (s.clone(), "seeded", c)))
        .collect();
    let failures = cases.iter().filter(|c| c.2.failure.is_some()).count();
    let skipped = cases.iter().filter(|c| c.2.skipped.is_some()).count();
    let total: f64 = ready.values().map(|c| c.seconds).fold(0.0, f64::max);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites name=\"devenv\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{total:.3}\">\n",
        cases.len()
    ));
    out.push_str(&format!(
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{total:.3}\">\n",
        esc(suite),
        cases.len()
    ));
    for (service, what, c) in cases {
        out.push_str(&format!("    <testcase classname=\"{}.{}\" name=\"{} {}\" time=\"{:.3}\"", esc(suite), esc(&service), esc(&service), what, c.seconds));
        match (&c.failure, &c.skipped) {
            (Some(f), _) => {
                let mut body = f.clone();
                for line in logs_of(&service, error) {
                    body.push('\n');
                    body.push_str(line);
                }
                let (message, body) = (secrets.mask(f.lines().next().unwrap_or("")), secrets.mask(&body));
                out.push_str(&format!(">\n      <failure message=\"{}\">{}</failure>\n    </testcase>\n", esc(&message), esc(&body)))
            }
            (None, Some(s)) => out.push_str(&format!(">\n      <skipped message=\"{}\"/>\n    </testcase>\n", esc(&secrets.mask(s)))),
            (None, None) => out.push_str("/>\n"),
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn readiness_and_seeding_become_test_cases() {
        let t0 = Instant::now();
        let at = t0 + Duration::from_millis(10);
        let ev = |s: &str, status: Status| (at, Event::Service { service: s.into(), status });
        let events = vec![
            ev("db", Status::Ready { elapsed_ms: 2100 }),
            ev("db", Status::Seeding { entry: "sql a.sql".into(), done: 0, unit: "statements".into(), per_second: 0 }),
            ev("db", Status::Seeded { entries: 1, summary: "3 statements".into(), elapsed_ms: 40 }),
            ev("cache", Status::Failed { error: "`cache` exited with code 1 <boom> & more".into() }),
            ev("api", Status::Skipped { reason: "dependency `cache` failed".into() }),
        ];
        let xml = report("shop", t0, &events, None, &Secrets::default());
        assert!(xml.contains("<testsuite name=\"shop\" tests=\"4\" failures=\"1\" errors=\"0\" skipped=\"1\""), "{xml}");
        assert!(xml.contains("name=\"db ready\" time=\"2.100\"/>"), "{xml}");
        assert!(xml.contains("name=\"db seeded\" time=\"0.040\"/>"), "{xml}");
        assert!(xml.contains("<failure message=\"`cache` exited with code 1 &lt;boom&gt; &amp; more\">"), "{xml}");
        assert!(xml.contains("<skipped message=\"dependency `cache` failed\"/>"), "{xml}");
    }

    #[test]
    fn every_failing_service_is_a_failing_case_with_its_own_log_lines() {
        let t0 = Instant::now();
        let at = t0 + Duration::from_millis(3000);
        let ev = |s: &str, status: Status| (at, Event::Service { service: s.into(), status });
        let events = vec![
            ev("bad", Status::Failed { error: "`bad` exited with code 3 while starting".into() }),
            ev("slow", Status::Failed { error: "`slow` was not ready after 3s: image HEALTHCHECK status: unhealthy".into() }),
            ev("app", Status::Skipped { reason: "dependency `bad` failed".into() }),
            ev("db", Status::Ready { elapsed_ms: 900 }),
        ];
        let error = crate::error::Error::Service {
            message: "2 services failed: bad, slow".into(),
            logs: vec![
                "`bad` exited with code 3 while starting".into(),
                "bad | config missing".into(),
                "slow | postgres://u:hunter2@db:5432/x unreachable".into(),
            ],
            hint: None,
        };
        let xml = report("ci", t0, &events, Some(&error), &Secrets::default());
        assert!(xml.contains("tests=\"4\" failures=\"2\" errors=\"0\" skipped=\"1\""), "{xml}");
        assert!(xml.contains("<failure message=\"`bad` exited with code 3 while starting\">`bad` exited with code 3 while starting\nbad | config missing</failure>"), "{xml}");
        assert!(xml.contains("<failure message=\"`slow` was not ready after 3s: image HEALTHCHECK status: unhealthy\">"), "{xml}");
        assert!(xml.contains("slow | postgres://u:***@db:5432/x unreachable</failure>"), "passwords masked, only slow's lines: {xml}");
        assert_eq!(xml.matches("config missing").count(), 1, "{xml}");
        assert!(xml.contains("name=\"db ready\" time=\"0.900\"/>"), "{xml}");
    }

    #[test]
    fn known_secret_values_are_masked_in_messages_and_log_lines() {
        let t0 = Instant::now();
        let events = vec![(t0, Event::Service { service: "api".into(), status: Status::Failed { error: "`api` exited with code 1 (pw=s3cr3t-pw)".into() } })];
        let error = crate::error::Error::Service {
            message: "1 service failed: api".into(),
            logs: vec!["api | DB_PASSWORD=s3cr3t-pw".into(), "api | connecting as s3cr3t-pw".into()],
            hint: None,
        };
        let secrets = Secrets::from_pairs([("DB_PASSWORD", "s3cr3t-pw")]);
        let xml = report("ci", t0, &events, Some(&error), &secrets);
        assert!(!xml.contains("s3cr3t-pw"), "{xml}");
        assert!(xml.contains("<failure message=\"`api` exited with code 1 (pw=***)\">"), "{xml}");
        assert!(xml.contains("api | DB_PASSWORD=***\napi | connecting as ***</failure>"), "{xml}");
    }
}
