//! Batching file events, adaptively: a key (a service) is flushed a short
//! settle after its first event when nothing else arrives; while events keep
//! arriving, the quiet period grows with how long the burst has lasted (up
//! to the configured quiet period), so a `git checkout` is still one batch;
//! at the latest after `max_wait` (a continuous stream of writes still makes
//! progress). Time is passed in, so tests drive it without sleeping.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// Default quiet period: the longest a burst's quiet period grows.
pub const DEFAULT_QUIET: Duration = Duration::from_millis(50);

/// How long a lone event waits for companions (an editor's save is a few
/// events within a millisecond or two).
pub const SETTLE: Duration = Duration::from_millis(10);

#[derive(Debug)]
struct Pending<T> {
    items: BTreeSet<T>,
    first: Instant,
    last: Instant,
}

#[derive(Debug)]
pub struct Debouncer<T: Ord> {
    settle: Duration,
    quiet: Duration,
    max_wait: Duration,
    pending: BTreeMap<String, Pending<T>>,
}

impl<T: Ord> Debouncer<T> {
    /// `quiet`: the longest quiet period (a burst's), see the module doc.
    pub fn new(quiet: Duration) -> Self {
        // A rename storm (`git checkout`) lasts well under a few seconds; cap the wait anyway.
        let max_wait = (quiet * 40).clamp(Duration::from_secs(2), Duration::from_secs(10));
        Debouncer { settle: SETTLE.min(quiet), quiet, max_wait, pending: BTreeMap::new() }
    }

    /// Record an event for `key` at `now`; duplicates are coalesced.
    pub fn push(&mut self, key: &str, item: T, now: Instant) {
        let p = self.pending.entry(key.to_string()).or_insert_with(|| Pending { items: BTreeSet::new(), first: now, last: now });
        p.items.insert(item);
        p.last = now;
    }

    /// When the next batch becomes due, if any is pending.
    pub fn deadline(&self) -> Option<Instant> {
        self.pending.values().map(|p| self.due(p)).min()
    }

    /// A lone event: `settle` after it. A burst: the quiet period grows
    /// with the burst's length so far, up to `quiet`; never past `max_wait`.
    fn due(&self, p: &Pending<T>) -> Instant {
        let quiet = (self.settle + (p.last - p.first)).min(self.quiet);
        (p.last + quiet).min(p.first + self.max_wait)
    }

    /// The batches due at `now`, each key once, in key order.
    pub fn take_due(&mut self, now: Instant) -> Vec<(String, Vec<T>)> {
        let due: Vec<String> = self.pending.iter().filter(|(_, p)| self.due(p) <= now).map(|(k, _)| k.clone()).collect();
        due.into_iter().filter_map(|k| self.pending.remove(&k).map(|p| (k, p.items.into_iter().collect()))).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_lone_event_is_flushed_after_the_settle_not_the_quiet_period() {
        let t0 = Instant::now();
        let mut d = Debouncer::new(50 * MS);
        d.push("api", "a", t0);
        assert_eq!(d.deadline(), Some(t0 + SETTLE));
        assert!(d.take_due(t0 + SETTLE - MS).is_empty());
        assert_eq!(d.take_due(t0 + SETTLE), vec![("api".to_string(), vec!["a"])]);
        assert!(d.is_empty());
        assert_eq!(d.deadline(), None);
    }

    #[test]
    fn an_editor_save_is_one_batch_soon_after_its_last_event() {
        // Write a temp file, rename it over the original: events within 2 ms.
        let t0 = Instant::now();
        let mut d = Debouncer::new(50 * MS);
        d.push("api", "a", t0);
        d.push("api", "b", t0 + MS);
        d.push("api", "a", t0 + 2 * MS);
        assert_eq!(d.deadline(), Some(t0 + 2 * MS + SETTLE + 2 * MS), "settle, extended by the burst's 2 ms");
        assert!(d.take_due(t0 + 13 * MS).is_empty());
        assert_eq!(d.take_due(t0 + 14 * MS), vec![("api".to_string(), vec!["a", "b"])]);
    }

    #[test]
    fn while_events_keep_arriving_the_quiet_period_grows_up_to_the_configured_one() {
        let t0 = Instant::now();
        let mut d = Debouncer::new(50 * MS);
        d.push("api", "a", t0);
        d.push("api", "b", t0 + 10 * MS);
        d.push("api", "a", t0 + 20 * MS);
        assert_eq!(d.deadline(), Some(t0 + 20 * MS + 30 * MS), "settle + the 20 ms the burst lasted");
        for i in 3..20u32 {
            d.push("api", "c", t0 + 10 * MS * i);
        }
        assert_eq!(d.deadline(), Some(t0 + 190 * MS + 50 * MS), "capped at the quiet period");
        assert!(d.take_due(t0 + 239 * MS).is_empty());
        assert_eq!(d.take_due(t0 + 240 * MS), vec![("api".to_string(), vec!["a", "b", "c"])]);
    }

    #[test]
    fn services_are_batched_separately() {
        let t0 = Instant::now();
        let mut d = Debouncer::new(50 * MS);
        d.push("api", 1, t0);
        d.push("web", 2, t0 + 40 * MS);
        assert_eq!(d.take_due(t0 + 10 * MS), vec![("api".to_string(), vec![1])]);
        assert!(d.take_due(t0 + 45 * MS).is_empty());
        assert_eq!(d.take_due(t0 + 50 * MS), vec![("web".to_string(), vec![2])]);
    }

    #[test]
    fn a_short_quiet_period_caps_the_settle_too() {
        let t0 = Instant::now();
        let mut d = Debouncer::new(3 * MS);
        d.push("api", 1, t0);
        assert_eq!(d.deadline(), Some(t0 + 3 * MS));
    }

    #[test]
    fn rename_storm_is_one_batch() {
        // `git checkout`: thousands of events, each a millisecond apart.
        let t0 = Instant::now();
        let mut d = Debouncer::new(50 * MS);
        for i in 0..3000u32 {
            d.push("api", i % 1000, t0 + Duration::from_micros(500) * i);
            assert!(d.take_due(t0 + Duration::from_micros(500) * i).is_empty());
        }
        let batches = d.take_due(t0 + 2 * Duration::from_secs(1));
        assert_eq!(batches.len(), 1);
        assert_eq!(batches[0].1.len(), 1000);
    }

    #[test]
    fn a_never_ending_stream_still_flushes() {
        let t0 = Instant::now();
        let mut d = Debouncer::new(50 * MS);
        let mut flushed = 0;
        for i in 0..10_000u32 {
            let now = t0 + 10 * MS * i;
            d.push("api", i, now);
            flushed += d.take_due(now).len();
        }
        assert!(flushed >= 10, "flushed {flushed} times in 100 s of continuous writes");
    }
}
