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
    /// An alarm at this row: the detector fired (once per surge) and, when
    /// incidents are followed ([`Incidents::Follow`]), it opened an incident.
    pub alarm: bool,
    /// How far the row's window stood above the expected count, in [0, 1]:
    /// 0.5 at the threshold, 1 at twice the distance.
    pub anomaly_score: f64,
}

/// What happens to the incident a surge opens, as far as the detector is
/// concerned: the engine re-arms a trigger's detector when the incident is
/// resolved, and holds automatic triggers back for the cooldown after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Incidents {
    /// Nobody resolves anything: every surge the detector fires is an alarm,
    /// and its debounce runs out on its own (a playbook without
    /// `auto_resolve`, with nobody at the keyboard).
    #[default]
    Ignore,
    /// As the engine does for a playbook with `auto_resolve: {quiet}` and
    /// `cooldown`: a surge opens an incident (an alarm) unless one is open
    /// (it attaches: no alarm) or the last one resolved less than
    /// `cooldown` ago (held back: no alarm); the incident resolves once the
    /// surge has subsided and stayed quiet for `quiet`, which re-arms the
    /// detector.
    Follow {
        quiet: std::time::Duration,
        cooldown: std::time::Duration,
    },
}

/// The incident a replay has open, if any (see [`Incidents::Follow`]).
#[derive(Debug, Default)]
struct Lifecycle {
    open: bool,
    subsided_at: Option<Timestamp>,
    resolved_at: Option<Timestamp>,
}

impl Lifecycle {
    /// Follows one evaluation; returns whether it is an alarm (it opens an
    /// incident), and re-arms `detector` when the incident resolves.
    fn follow(
        &mut self,
        e: &crate::detect::Evaluation,
        quiet: chrono::Duration,
        cooldown: chrono::Duration,
        detector: &mut BaselineDetector,
    ) -> bool {
        // The auto-resolve timer came due before this evaluation.
        self.resolve_if_quiet(e.at, quiet, detector);
        let mut alarm = false;
        match e.decision {
            Decision::Surge => {
                self.subsided_at = None;
                let held_back = self.resolved_at.is_some_and(|r| e.at < r + cooldown);
                if !self.open && !held_back {
                    self.open = true;
                    alarm = true;
                }
            }
            Decision::Ongoing => self.subsided_at = None,
            Decision::Subsided if self.open => self.subsided_at = Some(e.at),
            _ => {}
        }
        self.resolve_if_quiet(e.at, quiet, detector);
        alarm
    }

    fn resolve_if_quiet(
        &mut self,
        now: Timestamp,
        quiet: chrono::Duration,
        detector: &mut BaselineDetector,
    ) {
        if let Some(since) = self.subsided_at.filter(|s| self.open && *s + quiet <= now) {
            *self = Self {
                resolved_at: Some(since + quiet),
                ..Self::default()
            };
            detector.rearm();
        }
    }
}

/// Runs a fresh detector over `rows` of `(end of the row's bucket, count)`,
/// every surge an alarm ([`Incidents::Ignore`]).
pub fn run(rows: &[(Timestamp, u64)], params: DetectorParams) -> Vec<RowVerdict> {
    run_with(rows, params, Incidents::Ignore)
}

/// Runs a fresh detector over `rows` of `(end of the row's bucket, count)`,
/// following incidents as `incidents` says.
///
/// Each row's bucket closes when the row is read, so a row's verdict is on
/// that row: the detector's buckets are aligned to the rows (a series whose
/// rows end at :02:53 is judged on a clock shifted by 2 min 53 s, which
/// moves time of day by as much).
pub fn run_with(
    rows: &[(Timestamp, u64)],
    params: DetectorParams,
    incidents: Incidents,
) -> Vec<RowVerdict> {
    let Some(first) = rows.first().map(|r| r.0) else {
        return Vec::new();
    };
    let bucket = i64::try_from(params.bucket.as_secs().max(1)).unwrap_or(i64::MAX);
    let shift = chrono::Duration::seconds(first.timestamp().rem_euclid(bucket));
    let mut detector = BaselineDetector::new(params).start_at(first - shift);
    let mut lifecycle = Lifecycle::default();
    let span = |d: std::time::Duration| chrono::Duration::from_std(d).unwrap_or_default();
    rows.iter()
        .map(|(end, count)| {
            let end = *end - shift;
            // The row counts the bucket that ends at `end`.
            let written = end - chrono::Duration::seconds(1);
            for _ in 0..*count {
                detector.observe(written);
            }
            let evals = detector.advance(end);
            let mut alarm = false;
            for e in &evals {
                alarm |= match incidents {
                    Incidents::Ignore => e.decision == Decision::Surge,
                    Incidents::Follow { quiet, cooldown } => {
                        lifecycle.follow(e, span(quiet), span(cooldown), &mut detector)
                    }
                };
            }
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
