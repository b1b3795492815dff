//! Running a surge detector over a series of counts (one row per time
//! bucket), as `squall`'s evaluation tools do: the detector is fed exactly as
//! the engine feeds it (each mention's event time, then time advancing to the
//! end of the row).

use super::baseline::{BaselineDetector, DetectorParams};
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
    let mut detector = BaselineDetector::new(params).start_at(first);
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

/// A series read from a file: `(end of bucket, count)` rows, and the text of
/// each row's timestamp as it was written (output keeps it).
#[derive(Debug, Clone, Default)]
pub struct CountSeries {
    pub rows: Vec<(Timestamp, u64)>,
    pub labels: Vec<String>,
    /// Bucket length: the smallest step between rows (CSV) or as asked (NDJSON).
    pub bucket: std::time::Duration,
}

/// Why a series could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SeriesError {
    #[error("cannot read {file}")]
    Io {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}:{line}: {reason}")]
    Line {
        file: String,
        line: usize,
        reason: String,
    },
    #[error("{file}: no rows")]
    Empty { file: String },
}

/// Reads `timestamp,value` CSV (NAB's format; timestamps as
/// `YYYY-MM-DD HH:MM:SS` in UTC, or RFC 3339).
///
/// # Errors
/// The first unreadable line, with its number.
pub fn read_csv(path: &std::path::Path) -> Result<CountSeries, SeriesError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| SeriesError::Io {
        file: file.clone(),
        source,
    })?;
    let mut s = CountSeries::default();
    for (i, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |reason: String| SeriesError::Line {
            file: file.clone(),
            line: i + 1,
            reason,
        };
        let (ts, value) = line
            .split_once(',')
            .ok_or_else(|| bad("expected `timestamp,value`".into()))?;
        let at = parse_time(ts).ok_or_else(|| {
            bad(format!(
                "`{ts}` is not a time like 2015-02-26 21:42:53 or 2015-02-26T21:42:53Z"
            ))
        })?;
        let count = value
            .trim()
            .parse::<f64>()
            .map_err(|_| bad(format!("`{}` is not a count", value.trim())))?;
        s.rows.push((at, count.max(0.0).round() as u64));
        s.labels.push(ts.to_string());
    }
    let step = s
        .rows
        .windows(2)
        .filter_map(|w| (w[1].0 - w[0].0).to_std().ok())
        .filter(|d| !d.is_zero())
        .min();
    s.bucket = step.ok_or(SeriesError::Empty { file })?;
    Ok(s)
}

/// Counts mentions (NDJSON) per `bucket`, with empty buckets as zeros.
///
/// # Errors
/// The first unreadable mention, with its line number.
pub fn read_mentions(
    path: &std::path::Path,
    bucket: std::time::Duration,
) -> Result<CountSeries, SeriesError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| SeriesError::Io {
        file: file.clone(),
        source,
    })?;
    let secs = bucket.as_secs().max(1) as i64;
    let mut counts = std::collections::BTreeMap::<i64, u64>::new();
    for (i, line) in text.lines().enumerate() {
        // Rehearsal files mix in people's actions: they are not mentions.
        if line.trim().is_empty()
            || serde_json::from_str::<serde_json::Value>(line)
                .is_ok_and(|v| v.get("action").is_some())
        {
            continue;
        }
        let m = crate::mention::parse_ndjson_line(line).map_err(|e| SeriesError::Line {
            file: file.clone(),
            line: i + 1,
            reason: e.to_string(),
        })?;
        *counts
            .entry(m.created_at.timestamp().div_euclid(secs))
            .or_insert(0) += 1;
    }
    let (Some(&first), Some(&last)) = (counts.keys().next(), counts.keys().next_back()) else {
        return Err(SeriesError::Empty { file });
    };
    let mut s = CountSeries {
        bucket,
        ..Default::default()
    };
    for b in first..=last {
        let end = chrono::DateTime::from_timestamp((b + 1) * secs, 0).unwrap_or_default();
        s.rows.push((end, counts.get(&b).copied().unwrap_or(0)));
        s.labels.push(end.to_rfc3339());
    }
    Ok(s)
}

fn parse_time(text: &str) -> Option<Timestamp> {
    let t = text.trim();
    chrono::DateTime::parse_from_rfc3339(t)
        .map(|d| d.with_timezone(&chrono::Utc))
        .ok()
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S")
                .ok()
                .map(|n| n.and_utc())
        })
}

/// The `timestamp,alarm,anomaly_score` CSV for a series and its verdicts.
pub fn to_csv(series: &CountSeries, verdicts: &[RowVerdict]) -> String {
    let mut out = String::from("timestamp,alarm,anomaly_score\n");
    for (label, v) in series.labels.iter().zip(verdicts) {
        out.push_str(&format!(
            "{label},{},{:.4}\n",
            u8::from(v.alarm),
            v.anomaly_score
        ));
    }
    out
}
