//! Detection: which mentions matter, and when their volume is a surge.
//!
//! Detectors run in *event time*: they are fed each matching mention's
//! `created_at` and told how far time has advanced. They never read a clock,
//! so a replay gives the same decisions every time.

pub mod baseline;
pub mod keyword;
pub mod matcher;
pub mod nab;
pub mod series;

use crate::clock::Timestamp;
use serde::Serialize;

/// What a detector concluded at the end of one evaluation bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Within the normal band.
    Quiet,
    /// Above threshold, but not yet for the `for:` hold time.
    Rising,
    /// The surge is confirmed: fire. Exactly once per surge.
    Surge,
    /// Still above threshold after having fired.
    Ongoing,
    /// Back inside the band after a surge, or a change of pattern is over.
    /// Exactly once per surge.
    Subsided,
    /// Above for so long that this is the new normal level: the detector
    /// re-learns from it (the incident stays open).
    NewLevel,
    /// Not enough history yet to have a baseline (never fires on volume alone
    /// unless `min_count` is exceeded well beyond it).
    Warmup,
}

/// Which term of the threshold set it (see [`baseline`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Bound {
    /// The brand's usual variability around the expected count.
    Spread,
    /// The fewest mentions that can ever count as a surge.
    MinCount,
    /// A multiple of the expected count.
    Ratio,
    /// A share of the busiest window of the recent days.
    RecentPeak,
    /// Not the volume: bursts far more frequent than usual (a change of
    /// pattern). [`Evaluation::bursts`] has the counts.
    Bursts,
    /// Too little history yet: only a massive window counts.
    Warmup,
}

/// One trigger evaluation, with everything needed to explain it to a person.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// End of the evaluated window (a bucket boundary), or the instant of
    /// an early alarm.
    pub at: Timestamp,
    /// Matching mentions in the window.
    pub observed: u64,
    /// Expected count in such a window at this time of day.
    pub baseline: f64,
    /// Top of the normal band (expected plus `sigmas` spreads).
    pub band: f64,
    /// Count at or above which the window is a surge.
    pub threshold: f64,
    /// The busiest comparable window of the recent days, once known.
    pub recent_peak: Option<f64>,
    /// Which term set the threshold.
    pub bound: Bound,
    /// Length of the window.
    #[serde(with = "as_secs")]
    pub window: std::time::Duration,
    pub decision: Decision,
    /// Fired before its bucket closed, because the surge was already certain.
    pub early: bool,
    /// A change of pattern fired this alarm: how many bursts, and how many
    /// are usual.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bursts: Option<BurstCount>,
}

/// Short bursts counted over a span of hours (see [`baseline`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BurstCount {
    /// Bursts in the last `span`.
    pub recent: u32,
    /// Bursts in such a span on the recent days, on average.
    pub usual: f64,
    #[serde(with = "as_secs")]
    pub span: std::time::Duration,
}

impl Evaluation {
    /// Sentences a comms person understands: what was seen, what is normal,
    /// what the bar was and why, and the verdict.
    pub fn explain(&self) -> String {
        let window = humantime::format_duration(self.window);
        // A change of pattern, starting or over, is told by its bursts.
        let pattern = match (self.bursts, self.decision) {
            (Some(b), Decision::Surge) => Some((
                b,
                "not a surge in volume, but a change of pattern",
                ": fired",
            )),
            (Some(b), Decision::Subsided) => Some((b, "the change of pattern is over", "")),
            _ => None,
        };
        if let Some((b, what, end)) = pattern {
            return format!(
                "{} matching mentions in the last {window}; about {:.1} expected at this time of day \
                 (normal up to {:.1}): {what}: {} short bursts in the last {}, against about {:.1} \
                 usually{end}",
                self.observed,
                self.baseline,
                self.band,
                b.recent,
                humantime::format_duration(b.span),
                b.usual
            );
        }
        let verdict = match self.decision {
            Decision::Quiet => "within the normal range",
            Decision::Rising => "above the threshold, waiting for it to persist (for:)",
            Decision::Surge if self.early => {
                "a surge, certain before the end of the minute: fired early"
            }
            Decision::Surge => "a surge: above the threshold long enough",
            Decision::Ongoing => "the surge continues (no second alarm)",
            Decision::Subsided => "back to normal: the surge has subsided",
            Decision::NewLevel => {
                "high for hours: squall now treats this level as normal for detection"
            }
            Decision::Warmup => "still learning the normal level",
        };
        let why = match self.bound {
            Bound::Spread => "the usual ups and downs".to_string(),
            Bound::MinCount => "the fewest mentions that can be a surge".to_string(),
            Bound::Ratio => "a multiple of the expected count".to_string(),
            Bound::RecentPeak => format!(
                "the busiest {window} of the recent days ({:.0} mentions)",
                self.recent_peak.unwrap_or(0.0)
            ),
            Bound::Warmup => "too little history yet, so only a massive burst counts".to_string(),
            Bound::Bursts => "bursts far more frequent than usual".to_string(),
        };
        format!(
            "{} matching mentions in the last {window}; about {:.1} expected at this time of day \
             (normal up to {:.1}); surge at {:.1}, set by {why}: {verdict}",
            self.observed, self.baseline, self.band, self.threshold
        )
    }
}

/// Durations as whole seconds in JSON.
mod as_secs {
    pub fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }
}

/// A streaming surge detector for one trigger. Bounded memory, one pass.
pub trait SurgeDetector: Send + std::fmt::Debug {
    /// Counts one matching mention written at `at`. Mentions older than the
    /// last closed bucket still count towards nothing already decided; they
    /// are dropped from detection (never from the store) and reported by the
    /// return value `false`.
    fn observe(&mut self, at: Timestamp) -> bool;

    /// Closes every bucket that ends at or before `now` and evaluates it.
    fn advance(&mut self, now: Timestamp) -> Vec<Evaluation>;

    /// The next instant at which [`advance`](Self::advance) would close a
    /// bucket, so drivers know when to wake.
    fn next_boundary(&self) -> Option<Timestamp>;
}
