//! The live state of each playbook trigger: a surge detector, a keyword
//! counter, or the next cron instant.

use crate::clock::Timestamp;
use crate::detect::baseline::{BaselineDetector, DetectorParams};
use crate::detect::keyword::KeywordCounter;
use crate::detect::matcher::Text;
use crate::detect::{Decision, Evaluation, SurgeDetector};
use crate::mention::Mention;
use crate::playbook::{Playbook, Trigger};
use serde::Serialize;
use std::collections::VecDeque;
use std::sync::Arc;

/// How far back a surge trigger's rate is kept for people to look at (the
/// dashboard's chart): enough to see an outage build against a quiet morning.
pub const RATE_SPAN: std::time::Duration = std::time::Duration::from_secs(6 * 60 * 60);
/// Most points kept per trigger, whatever the bucket: bounds the memory by
/// the settings, never by traffic (2,048 × 40 bytes).
pub const MAX_RATE_POINTS: usize = 2048;

/// One closed bucket of a surge trigger as the detector judged it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
pub struct RatePoint {
    /// End of the evaluated window.
    pub at: Timestamp,
    /// Matching mentions in the window.
    pub observed: u64,
    /// What the detector expected at this time of day.
    pub expected: f64,
    /// The count at or above which the window is a surge.
    pub threshold: f64,
    /// Part of a surge (confirmed or still going on).
    pub surge: bool,
}

impl RatePoint {
    fn of(ev: &Evaluation) -> Self {
        Self {
            at: ev.at,
            observed: ev.observed,
            expected: ev.baseline,
            threshold: ev.threshold,
            surge: matches!(ev.decision, Decision::Surge | Decision::Ongoing),
        }
    }
}

/// The recent rate of one surge trigger: the last [`RATE_SPAN`] of
/// evaluations, oldest first. Memory bounded by [`MAX_RATE_POINTS`].
#[derive(Debug, Clone, Default)]
pub struct RateHistory {
    points: VecDeque<RatePoint>,
}

impl RateHistory {
    /// Records an evaluation and forgets what is older than [`RATE_SPAN`].
    /// An early alarm and the close of its bucket share an instant: the
    /// later word on it replaces the earlier.
    pub fn record(&mut self, ev: &Evaluation) {
        let point = RatePoint::of(ev);
        match self.points.back_mut() {
            Some(last) if last.at == point.at => *last = point,
            _ => self.points.push_back(point),
        }
        let span =
            chrono::Duration::from_std(RATE_SPAN).unwrap_or_else(|_| chrono::Duration::hours(6));
        while self.points.len() > MAX_RATE_POINTS
            || self.points.front().is_some_and(|p| p.at < point.at - span)
        {
            self.points.pop_front();
        }
    }

    pub fn points(&self) -> impl ExactSizeIterator<Item = &RatePoint> {
        self.points.iter()
    }
}

/// The recent rate of one surge trigger, as the dashboard charts it.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct RateSeries {
    pub playbook: String,
    /// `surge` for a playbook's first surge trigger, `surge-2`, ... after.
    pub trigger: String,
    pub bucket_seconds: u64,
    pub window_seconds: u64,
    pub points: Vec<RatePoint>,
}

#[derive(Debug)]
pub enum TriggerState {
    Surge(Box<BaselineDetector>, RateHistory),
    Keyword(KeywordCounter),
    Schedule {
        next: Option<Timestamp>,
    },
    /// Alert and manual triggers keep no state.
    Stateless,
}

/// One trigger of one playbook, with its state.
#[derive(Debug)]
pub struct TriggerRuntime {
    pub playbook: Arc<Playbook>,
    pub index: usize,
    pub state: TriggerState,
}

impl TriggerRuntime {
    pub fn new(playbook: Arc<Playbook>, index: usize, start: Timestamp) -> Self {
        let state = match &playbook.triggers[index] {
            Trigger::Surge(s) => TriggerState::Surge(
                Box::new(
                    BaselineDetector::new(
                        DetectorParams::from_sensitivity(
                            s.window,
                            s.sensitivity,
                            s.thresholds,
                            s.hold,
                        )
                        .with_debounce(s.debounce),
                    )
                    .start_at(start),
                ),
                RateHistory::default(),
            ),
            Trigger::Keyword(k) => {
                TriggerState::Keyword(KeywordCounter::new(k.min_mentions, k.within))
            }
            Trigger::Schedule(s) => TriggerState::Schedule {
                next: next_cron(s, start),
            },
            Trigger::Alert(_) | Trigger::Manual => TriggerState::Stateless,
        };
        Self {
            playbook,
            index,
            state,
        }
    }

    pub fn trigger(&self) -> &Trigger {
        &self.playbook.triggers[self.index]
    }

    /// The trigger's name on the dashboard: its kind, numbered from the
    /// second of that kind in the playbook on.
    pub fn name(&self) -> String {
        let kind = match self.trigger() {
            Trigger::Surge(_) => "surge",
            Trigger::Keyword(_) => "keyword",
            Trigger::Alert(_) => "alert",
            Trigger::Schedule(_) => "schedule",
            Trigger::Manual => "manual",
        };
        let nth = self.playbook.triggers[..self.index]
            .iter()
            .filter(|t| std::mem::discriminant(*t) == std::mem::discriminant(self.trigger()))
            .count();
        if nth == 0 {
            kind.to_string()
        } else {
            format!("{kind}-{}", nth + 1)
        }
    }

    /// The recent rate, for a surge trigger.
    pub fn rate(&self) -> Option<RateSeries> {
        let TriggerState::Surge(det, history) = &self.state else {
            return None;
        };
        Some(RateSeries {
            playbook: self.playbook.name.clone(),
            trigger: self.name(),
            bucket_seconds: det.params().bucket.as_secs().max(1),
            window_seconds: det.params().window.as_secs(),
            points: history.points().copied().collect(),
        })
    }

    /// Whether this trigger counts `m` (matcher and account filter); `text`
    /// is `m`'s text, shared by every matcher that looks at it.
    pub fn counts(&self, m: &Mention, text: &Text<'_>) -> bool {
        match self.trigger() {
            Trigger::Surge(s) => {
                account_ok(&s.accounts, &m.account) && s.matcher.matches_text(text)
            }
            Trigger::Keyword(k) => {
                account_ok(&k.accounts, &m.account) && k.matcher.matches_text(text)
            }
            _ => false,
        }
    }

    /// The earliest instant this trigger needs time to reach.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        match &self.state {
            TriggerState::Surge(d, _) => d.next_boundary(),
            TriggerState::Schedule { next } => *next,
            _ => None,
        }
    }
}

fn account_ok(accounts: &[String], account: &str) -> bool {
    accounts.is_empty() || accounts.iter().any(|a| a == account)
}

/// Next cron instant strictly after `after`, evaluated in the trigger's time zone.
pub fn next_cron(s: &crate::playbook::ScheduleTrigger, after: Timestamp) -> Option<Timestamp> {
    let local = after.with_timezone(&s.timezone);
    s.cron
        .after(&local)
        .next()
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// Whether a mention belongs to incidents of this playbook (drafts, report):
/// it matches one of the playbook's mention triggers, or the playbook has none.
/// `text` is `m`'s text, shared by every matcher that looks at it.
pub fn belongs(playbook: &Playbook, m: &Mention, text: &Text<'_>) -> bool {
    let mut has_mention_trigger = false;
    for t in &playbook.triggers {
        match t {
            Trigger::Surge(s) => {
                has_mention_trigger = true;
                if account_ok(&s.accounts, &m.account) && s.matcher.matches_text(text) {
                    return true;
                }
            }
            Trigger::Keyword(k) => {
                has_mention_trigger = true;
                if account_ok(&k.accounts, &m.account) && k.matcher.matches_text(text) {
                    return true;
                }
            }
            _ => {}
        }
    }
    !has_mention_trigger
}

/// How far before an incident opened its mentions still belong to it: the
/// span a trigger looked at to decide (window and hold, or keyword span).
pub fn lookback(playbook: &Playbook) -> chrono::Duration {
    playbook
        .triggers
        .iter()
        .filter_map(|t| match t {
            Trigger::Surge(s) => Some(s.window + s.hold + std::time::Duration::from_secs(60)),
            Trigger::Keyword(k) => Some(k.within),
            _ => None,
        })
        .max()
        .and_then(|d| chrono::Duration::from_std(d).ok())
        .unwrap_or_else(chrono::Duration::zero)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::Bound;

    fn ev(minute: i64, observed: u64, decision: Decision) -> Evaluation {
        Evaluation {
            at: chrono::DateTime::from_timestamp(1_800_000_000 + minute * 60, 0).unwrap(),
            observed,
            baseline: 2.0,
            band: 5.0,
            threshold: 10.0,
            recent_peak: None,
            bound: Bound::MinCount,
            window: std::time::Duration::from_secs(300),
            decision,
            early: false,
            bursts: None,
        }
    }

    #[test]
    fn the_rate_keeps_the_last_six_hours_and_marks_the_surge() {
        let mut h = RateHistory::default();
        for m in 0..(7 * 60) {
            h.record(&ev(m, 1, Decision::Quiet));
        }
        h.record(&ev(7 * 60, 30, Decision::Surge));
        h.record(&ev(7 * 60 + 1, 25, Decision::Ongoing));
        let points: Vec<&RatePoint> = h.points().collect();
        assert_eq!(points.len(), 6 * 60 + 1, "six hours of minutes, both ends");
        let last = points[points.len() - 1];
        assert_eq!((last.observed, last.surge), (25, true));
        assert!(!points[0].surge);
        assert_eq!(points[0].expected, 2.0);
        assert_eq!(points[0].threshold, 10.0);
    }

    #[test]
    fn a_second_word_on_the_same_instant_replaces_the_first() {
        let mut h = RateHistory::default();
        h.record(&ev(0, 12, Decision::Surge));
        h.record(&ev(0, 14, Decision::Ongoing));
        let points: Vec<&RatePoint> = h.points().collect();
        assert_eq!(points.len(), 1);
        assert_eq!(points[0].observed, 14);
    }
}
