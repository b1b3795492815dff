//! Detection: which mentions matter, and when their volume is a surge.
//!
//! Detectors run in *event time*: they are fed each matching mention's
//! `created_at` and told how far time has advanced. They never read a clock,
//! so a replay gives the same decisions every time.

pub mod keyword;
pub mod matcher;
pub mod nab;
pub mod poisson;
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
    /// Back inside the band after a surge. Exactly once per surge.
    Subsided,
    /// Not enough history yet to have a baseline (never fires on volume alone
    /// unless `min_count` is exceeded well beyond it).
    Warmup,
}

/// One trigger evaluation, with everything needed to explain it to a person.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// End of the evaluated window (a bucket boundary).
    pub at: Timestamp,
    /// Matching mentions in the window.
    pub observed: u64,
    /// Expected count in such a window.
    pub baseline: f64,
    /// Count above which the window is a surge.
    pub threshold: f64,
    pub decision: Decision,
}

impl Evaluation {
    /// A sentence a comms person understands.
    pub fn explain(&self) -> String {
        let verdict = match self.decision {
            Decision::Quiet => "within the normal range",
            Decision::Rising => "above the threshold, waiting for it to persist (for:)",
            Decision::Surge => "a surge: above the threshold long enough",
            Decision::Ongoing => "the surge continues",
            Decision::Subsided => "back to normal: the surge has subsided",
            Decision::Warmup => "still learning the normal level",
        };
        format!(
            "{} matching mentions in the window, about {:.1} expected, surge above {:.1}: {}",
            self.observed, self.baseline, self.threshold, verdict
        )
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
