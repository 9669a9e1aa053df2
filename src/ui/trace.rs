//! ui::trace: `--trace` — where one run's time went, per service, read off
//! the event stream every stage already emits (nothing is measured twice).
//!
//! Each service's phases, in milliseconds since the run began: when it began
//! waiting on dependencies, was created, started, began probing, first got
//! an answer, was ready and was seeded; and for a service that waited, the
//! gap between its last dependency's `ready` and its own start (scheduling
//! overhead the critical path does not have).
//! Owns: turning recorded events into that table. Must not: print, or
//! look at anything but the events.

use std::collections::BTreeMap;
use std::time::Instant;

use super::{Event, Status};

/// One service's phase marks, ms since the run began.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Phases {
    pub waiting: Option<u64>,
    pub creating: Option<u64>,
    pub starting: Option<u64>,
    pub probing: Option<u64>,
    /// When the first check answered (whatever it said).
    pub first_answer: Option<u64>,
    pub checks: Option<u32>,
    pub answered_by: Option<String>,
    pub ready: Option<u64>,
    pub seeded: Option<u64>,
    /// Dependencies it waited on (the last `Waiting` event's list grows
    /// smaller as they become ready; the first one names them all).
    pub waited_on: Vec<String>,
    pub unchanged: bool,
    pub failed: bool,
}

/// The phases of every service in `events` (run began at `started`).
pub fn phases(started: Instant, events: &[(Instant, Event)]) -> BTreeMap<String, Phases> {
    let mut out: BTreeMap<String, Phases> = BTreeMap::new();
    for (at, ev) in events {
        let Event::Service { service, status } = ev else { continue };
        let ms = at.saturating_duration_since(started).as_millis() as u64;
        let p = out.entry(service.clone()).or_default();
        let first = |slot: &mut Option<u64>| {
            slot.get_or_insert(ms);
        };
        match status {
            Status::Waiting { on } => {
                if p.waiting.is_none() {
                    p.waited_on = on.clone();
                }
                first(&mut p.waiting);
            }
            Status::Creating | Status::Recreating { .. } => first(&mut p.creating),
            Status::Starting => first(&mut p.starting),
            Status::Probing { .. } => first(&mut p.probing),
            Status::Probed { probes, first_answer_ms, answered_by } => {
                p.checks = Some(*probes);
                p.answered_by = Some(answered_by.clone());
                p.first_answer = p.probing.map(|t| t + first_answer_ms);
            }
            Status::Ready { .. } | Status::Completed { .. } => first(&mut p.ready),
            Status::Seeded { .. } => first(&mut p.seeded),
            Status::Unchanged | Status::CompletedUnchanged => p.unchanged = true,
            Status::Failed { .. } | Status::Skipped { .. } => p.failed = true,
            _ => {}
        }
    }
    out
}

/// For a service that waited: its start minus the latest `ready` of the
/// services it waited on (None when it did not wait or did not start).
pub fn gap_after_dependencies(name: &str, all: &BTreeMap<String, Phases>) -> Option<i64> {
    let p = all.get(name)?;
    let start = p.starting?;
    let last = p.waited_on.iter().filter_map(|d| all.get(d).and_then(|q| q.seeded.or(q.ready))).max()?;
    Some(start as i64 - last as i64)
}

/// The table `--trace` prints (after the run, on standard error).
pub fn table(started: Instant, events: &[(Instant, Event)], total_ms: u64) -> String {
    let all = phases(started, events);
    let cell = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_else(|| "–".into());
    let mut rows: Vec<(&String, &Phases)> = all.iter().collect();
    rows.sort_by_key(|(_, p)| (p.ready.or(p.starting).unwrap_or(u64::MAX), p.creating));
    let mut lines = vec![
        "trace: ms since devenv began (first answer: the first probe reply, whatever it said; after deps: start minus the last dependency's ready/seeded)".to_string(),
        vec!["service", "waiting", "created", "started", "probing", "1st answer", "ready", "seeded", "checks", "said ready", "after deps"].join("\t"),
    ];
    for (name, p) in rows {
        if p.unchanged && p.starting.is_none() {
            lines.push(format!("{name}\t(running, unchanged)"));
            continue;
        }
        let gap = gap_after_dependencies(name, &all).map(|g| g.to_string()).unwrap_or_else(|| "–".into());
        let said = p.answered_by.clone().unwrap_or_else(|| if p.failed { "failed".into() } else { "–".into() });
        let checks = p.checks.map(|c| c.to_string()).unwrap_or_else(|| "–".into());
        lines.push(
            [name.clone(), cell(p.waiting), cell(p.creating), cell(p.starting), cell(p.probing), cell(p.first_answer), cell(p.ready), cell(p.seeded), checks, said, gap]
                .join("\t"),
        );
    }
    lines.push(format!("(whole run)\t\t\t\t\t\t{total_ms}"));
    align(&lines[1..]).into_iter().fold(lines[0].clone(), |acc, l| acc + "\n" + l.trim_end())
}

/// Tab-separated rows as space-aligned columns.
fn align(rows: &[String]) -> Vec<String> {
    let cells: Vec<Vec<&str>> = rows.iter().map(|r| r.split('\t').collect()).collect();
    let mut widths: Vec<usize> = Vec::new();
    for row in &cells {
        for (i, c) in row.iter().enumerate() {
            if widths.len() <= i {
                widths.push(0);
            }
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    cells.iter().map(|row| row.iter().enumerate().map(|(i, c)| format!("{c:<w$}  ", w = widths[i])).collect()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ev(service: &str, status: Status) -> Event {
        Event::Service { service: service.into(), status }
    }

    fn run() -> (Instant, Vec<(Instant, Event)>) {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let events = vec![
            (at(10), ev("db", Status::Creating)),
            (at(12), ev("app", Status::Waiting { on: vec!["db".into(), "cache".into()] })),
            (at(15), ev("cache", Status::Creating)),
            (at(40), ev("db", Status::Starting)),
            (at(60), ev("db", Status::Probing { probe: "postgres".into() })),
            (at(45), ev("cache", Status::Starting)),
            (at(70), ev("cache", Status::Probing { probe: "redis".into() })),
            (at(80), ev("cache", Status::Probed { probes: 1, first_answer_ms: 5, answered_by: "probe".into() })),
            (at(80), ev("cache", Status::Ready { elapsed_ms: 65 })),
            (at(90), ev("app", Status::Waiting { on: vec!["db".into()] })),
            (at(1500), ev("db", Status::Probed { probes: 9, first_answer_ms: 300, answered_by: "native".into() })),
            (at(1500), ev("db", Status::Ready { elapsed_ms: 1490 })),
            (at(1700), ev("db", Status::Seeded { entries: 1, summary: "1 table".into(), elapsed_ms: 200 })),
            (at(1500), ev("app", Status::Creating)),
            (at(1710), ev("app", Status::Starting)),
            (at(1800), ev("app", Status::Ready { elapsed_ms: 90 })),
        ];
        (t0, events)
    }

    #[test]
    fn phases_are_the_first_mark_of_each_status_and_probed_adds_the_first_answer() {
        let (t0, events) = run();
        let all = phases(t0, &events);
        let db = &all["db"];
        assert_eq!((db.creating, db.starting, db.probing, db.ready, db.seeded), (Some(10), Some(40), Some(60), Some(1500), Some(1700)));
        assert_eq!((db.first_answer, db.checks, db.answered_by.as_deref()), (Some(360), Some(9), Some("native")));
        // The first Waiting event names every dependency; later ones shrink.
        assert_eq!(all["app"].waited_on, vec!["db".to_string(), "cache".to_string()]);
        assert_eq!(all["app"].waiting, Some(12));
    }

    #[test]
    fn the_gap_is_counted_from_the_last_dependency_to_finish_seeding() {
        let (t0, events) = run();
        let all = phases(t0, &events);
        assert_eq!(gap_after_dependencies("app", &all), Some(10));
        assert_eq!(gap_after_dependencies("db", &all), None);
    }

    #[test]
    fn the_table_lists_services_in_the_order_they_became_ready() {
        let (t0, events) = run();
        let t = table(t0, &events, 1850);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[1].starts_with("service"), "{t}");
        assert!(lines[2].starts_with("cache"), "{t}");
        assert!(lines[3].starts_with("db") && lines[3].contains("1700") && lines[3].contains("native"), "{t}");
        assert!(lines[4].starts_with("app") && lines[4].trim_end().ends_with("10"), "{t}");
        assert!(lines[5].starts_with("(whole run)") && lines[5].ends_with("1850"), "{t}");
    }
}
