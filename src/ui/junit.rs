//! A JUnit XML report of one run: each service's readiness and seeding as test
//! cases, so CI systems show which backing service failed and how long each took.

use std::collections::BTreeMap;
use std::time::Instant;

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

/// Render the events of a run (`started` = when it began) as JUnit XML.
pub fn report(suite: &str, started: Instant, events: &[(Instant, Event)]) -> String {
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
            Status::Unchanged if !r.done => r.done = true,
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
            (Some(f), _) => out.push_str(&format!(">\n      <failure message=\"{}\">{}</failure>\n    </testcase>\n", esc(f.lines().next().unwrap_or("")), esc(f))),
            (None, Some(s)) => out.push_str(&format!(">\n      <skipped message=\"{}\"/>\n    </testcase>\n", esc(s))),
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
        let xml = report("shop", t0, &events);
        assert!(xml.contains("<testsuite name=\"shop\" tests=\"4\" failures=\"1\" errors=\"0\" skipped=\"1\""), "{xml}");
        assert!(xml.contains("name=\"db ready\" time=\"2.100\"/>"), "{xml}");
        assert!(xml.contains("name=\"db seeded\" time=\"0.040\"/>"), "{xml}");
        assert!(xml.contains("<failure message=\"`cache` exited with code 1 &lt;boom&gt; &amp; more\">"), "{xml}");
        assert!(xml.contains("<skipped message=\"dependency `cache` failed\"/>"), "{xml}");
    }
}
