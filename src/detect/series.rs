//! Running a surge detector over a series of counts (one row per time
//! bucket), as `squall`'s evaluation tools do: the detector is fed exactly as
//! the engine feeds it (each mention's event time, then time advancing to the
//! end of the row).

use super::poisson::{DetectorParams, PoissonDetector};
use super::{Decision, SurgeDetector};
use crate::clock::Timestamp;

/// The detector's verdict on one row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RowVerdict {
    /// The detector fired at this row (once per surge).
    pub alarm: bool,
    /// How far the row's window stood above the expected count, in [0, 1]:
    /// 0.5 at the threshold, 1 at twice the distance.
    pub anomaly_score: f64,
}

/// Runs a fresh detector over `rows` of `(end of the row's bucket, count)`.
pub fn run(rows: &[(Timestamp, u64)], params: DetectorParams) -> Vec<RowVerdict> {
    let Some(first) = rows.first().map(|r| r.0) else {
        return Vec::new();
    };
    let mut detector = PoissonDetector::new(params).start_at(first);
    rows.iter()
        .map(|(end, count)| {
            // The row counts the bucket that ends at `end`.
            let written = *end - chrono::Duration::seconds(1);
            for _ in 0..*count {
                detector.observe(written);
            }
            let evals = detector.advance(*end);
            let alarm = evals.iter().any(|e| e.decision == Decision::Surge);
            let anomaly_score = evals
                .last()
                .map(|e| {
                    let band = (e.threshold - e.baseline).max(1.0);
                    ((e.observed as f64 - e.baseline) / band / 2.0).clamp(0.0, 1.0)
                })
                .unwrap_or(0.0);
            RowVerdict {
                alarm,
                anomaly_score,
            }
        })
        .collect()
}
