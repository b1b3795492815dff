//! Keyword triggers: "fire when N matching mentions arrive within T".
//!
//! Some phrases matter in small numbers ("data leak", "hacked"), where a
//! baseline would only get in the way. [`KeywordCounter`] counts matching
//! mentions in a sliding window of event time and fires when the count
//! reaches `min_mentions`.
//!
//! # Debounce
//!
//! A burst of 50 mentions must fire once, not 50 − N + 1 times. After firing
//! the counter is *disarmed*; it re-arms when a new mention arrives and finds
//! fewer than half of `min_mentions` (rounded up) in the window. So `min: 1`
//! fires on a mention that follows a full quiet `within`, and `min: 10`
//! fires again only after the window has drained to 4 or fewer.
//!
//! # Memory
//!
//! Only the newest `min_mentions` times are kept, and only those inside the
//! window: that is all it takes to know whether the count has reached
//! `min_mentions` or fallen below half of it.

use crate::clock::Timestamp;
use chrono::TimeDelta;
use std::collections::VecDeque;
use std::time::Duration;

/// Counts matching mentions for one keyword trigger, in event time.
#[derive(Debug, Clone)]
pub struct KeywordCounter {
    /// At least 1.
    min_mentions: usize,
    within: TimeDelta,
    /// Sorted, inside the window that ends at `latest`, at most `min_mentions` long.
    times: VecDeque<Timestamp>,
    /// The newest observation so far: the window's end.
    latest: Option<Timestamp>,
    armed: bool,
}

impl KeywordCounter {
    /// `min_mentions` of 0 is taken as 1: a trigger cannot fire on nothing.
    pub fn new(min_mentions: u32, within: Duration) -> Self {
        let min_mentions = usize::try_from(min_mentions.max(1)).unwrap_or(usize::MAX);
        Self {
            min_mentions,
            within: TimeDelta::from_std(within).unwrap_or(TimeDelta::MAX),
            times: VecDeque::with_capacity(min_mentions.min(1024)),
            latest: None,
            armed: true,
        }
    }

    /// Counts one matching mention written at `at`. Returns `true` exactly
    /// when this mention makes the window reach `min_mentions` while armed.
    ///
    /// A mention older than the window of the newest one seen is ignored: it
    /// cannot be part of any count that is still to be decided.
    pub fn observe(&mut self, at: Timestamp) -> bool {
        let latest = self.latest.map_or(at, |latest| latest.max(at));
        let window_start = latest.checked_sub_signed(self.within);
        if window_start.is_some_and(|start| at <= start) {
            return false;
        }
        self.latest = Some(latest);
        self.trim(window_start);
        self.rearm_if_drained();
        self.insert(at);
        self.fire_if_reached()
    }

    /// Drops times that have left the window `(start, latest]`.
    fn trim(&mut self, window_start: Option<Timestamp>) {
        let Some(start) = window_start else { return };
        while self.times.front().is_some_and(|&t| t <= start) {
            self.times.pop_front();
        }
    }

    fn rearm_if_drained(&mut self) {
        if !self.armed && self.times.len() * 2 < self.min_mentions {
            self.armed = true;
        }
    }

    /// Inserts in time order (late mentions within the window included),
    /// keeping only the newest `min_mentions`.
    fn insert(&mut self, at: Timestamp) {
        let position = self.times.partition_point(|&t| t <= at);
        self.times.insert(position, at);
        if self.times.len() > self.min_mentions {
            self.times.pop_front();
        }
    }

    fn fire_if_reached(&mut self) -> bool {
        let fire = self.armed && self.times.len() >= self.min_mentions;
        if fire {
            self.armed = false;
        }
        fire
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn minute(m: i64) -> Timestamp {
        Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0)
            .single()
            .expect("valid date")
            + TimeDelta::minutes(m)
    }

    #[test]
    fn memory_holds_no_more_than_min_mentions_times() {
        let mut counter = KeywordCounter::new(3, Duration::from_secs(3600));
        for m in 0..100 {
            counter.observe(minute(0) + TimeDelta::seconds(m));
        }
        assert_eq!(counter.times.len(), 3);
    }

    #[test]
    fn zero_min_mentions_behaves_as_one() {
        let mut counter = KeywordCounter::new(0, Duration::from_secs(60));
        assert!(counter.observe(minute(0)));
    }
}
