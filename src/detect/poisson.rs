//! Surge detector v1: counts against a Poisson baseline.
//!
//! Mentions of a brand are counts, and for a quiet brand they behave much
//! like a Poisson process: the spread of a count around its mean is about
//! the square root of the mean. [`PoissonDetector`] asks, once a bucket,
//! "is the number of matching mentions in the last `window` far more than
//! this brand normally gets in a `window`?", and says why through an
//! [`Evaluation`].
//!
//! # Buckets
//!
//! Event time is cut into buckets (default one minute) aligned to the Unix
//! epoch, so every detector with the same bucket agrees on the boundaries.
//! [`observe`](SurgeDetector::observe) adds one to the bucket a mention was
//! written in; [`advance`](SurgeDetector::advance) closes, in order, every
//! bucket that ends at or before "now", and evaluates the sliding window of
//! the last `window / bucket` closed buckets after each one. A mention for a
//! bucket already closed is *late*: it is not counted (the decisions it would
//! have changed are already out) and `observe` returns `false`. Mentions for
//! buckets not yet closed, even far ahead of "now", wait until their bucket
//! closes.
//!
//! # Baseline
//!
//! The expected count per window is an exponentially weighted mean of past
//! window counts, halving the weight of old windows every `half_life`
//! (default one hour). Until it has seen 1/α windows it is a plain running
//! mean, so the first windows are not drowned by a zero start. Windows
//! still filling up (the first `window / bucket` buckets) are scaled up to
//! a full window before they are learned, so a busy brand is not mistaken
//! for a surging one at start-up.
//!
//! Only windows *below* the threshold teach the baseline: a surge must not
//! teach the detector that surges are normal. Learning resumes with the
//! first window back below the threshold, so after a surge the baseline
//! follows whatever level traffic settles at, instead of staying alarmed or
//! going blind. (The single exception is the very first window, which is
//! learned whatever it holds: with nothing learned there is nothing to be
//! above.) A lasting jump to a higher level therefore stays `Ongoing` until
//! traffic dips below the threshold; v1 has no notion of daily seasonality
//! either, and relies on `min_count` and `min_ratio` to keep a low night
//! baseline from alarming on the morning's first mentions.
//!
//! # Threshold
//!
//! A window is *above* when its count is at or above
//!
//! ```text
//! max(baseline + sigmas * sqrt(max(baseline, 1)) + 1,  min_count,  min_ratio * baseline)
//! ```
//!
//! The Poisson term alone would alarm on tiny absolute numbers (3 mentions
//! where 0.2 are normal); `min_count` stops that. For a busy brand the
//! square root grows slowly and the Poisson term alone would alarm on
//! ordinary day-to-day variation, which is not Poisson; `min_ratio` stops
//! that. [`Sensitivity`] picks all three; explicit [`Thresholds`] override.
//!
//! # Warm-up and silence
//!
//! For the first `warmup_buckets` buckets the baseline is too young to trust:
//! the detector reports [`Decision::Warmup`], and a window counts as above
//! only if it also reaches `3 * min_count`, so a massive surge still fires.
//!
//! Before the first mention (unless the detector was started at a given
//! time with [`PoissonDetector::start_at`]), and again after a silence of six
//! half-lives (at most a day, at least a window), the detector is *dormant*:
//! it skips empty buckets in constant time and without evaluations (there is
//! nothing to decide), which bounds the work of catching up after a gap of
//! any length. Silence is information, though: a trigger that matches only
//! complaint phrases ("down", "nie działa") sees nothing for hours, and the
//! first busy window after that *is* the surge. So dormancy keeps what the
//! baseline learned (by then it has decayed to about zero), and the next
//! window is judged against it, not learned as the new normal.
//!
//! # Decisions
//!
//! Above for less than `hold` (the playbook's `for:`) is `Rising`; above for
//! `hold` or longer is `Surge` once, then `Ongoing`; the first window below
//! after that is `Subsided` once, then `Quiet` (or `Warmup`). A rise that
//! falls back before `hold` is simply `Quiet` again. A `hold` of zero fires
//! on the first window above. "Above for" is measured from the end of the
//! first bucket above to the end of the current one.
//!
//! # Memory
//!
//! O(window / bucket) per detector: the counts of the last window's buckets,
//! plus the counts of buckets that have mentions but are not closed yet
//! (normally one; never more than [`MAX_PENDING_BUCKETS`]).

use super::{Decision, Evaluation, SurgeDetector};
use crate::clock::Timestamp;
use crate::playbook::model::{Sensitivity, Thresholds};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

/// Most distinct not-yet-closed buckets a detector holds counts for: a week
/// of minutes. Only a driver that feeds mentions without ever advancing time
/// gets near it; mentions beyond it are not counted.
pub const MAX_PENDING_BUCKETS: usize = 7 * 24 * 60;

/// How many half-lives of silence make the baseline worthless (2^-6 < 2 %).
const FORGET_AFTER_HALF_LIVES: f64 = 6.0;

const SECONDS_PER_DAY: u64 = 24 * 60 * 60;

/// The thresholds a [`Sensitivity`] stands for.
impl Thresholds {
    pub fn for_sensitivity(sensitivity: Sensitivity) -> Self {
        let (sigmas, min_count, min_ratio) = match sensitivity {
            Sensitivity::Low => (6.0, 20, 3.0),
            Sensitivity::Medium => (4.0, 10, 2.0),
            Sensitivity::High => (3.0, 5, 1.5),
        };
        Self {
            sigmas,
            min_count,
            min_ratio,
        }
    }
}

/// Same as [`Thresholds::for_sensitivity`], as a free function.
pub fn thresholds_for(sensitivity: Sensitivity) -> Thresholds {
    Thresholds::for_sensitivity(sensitivity)
}

/// Everything a [`PoissonDetector`] is tuned by.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetectorParams {
    /// Evaluation granularity, in whole seconds (a fraction is dropped, and
    /// less than a second counts as one).
    pub bucket: Duration,
    /// Length of the counting window; rounded up to whole buckets, and cut
    /// to a day (surges are a matter of minutes and hours, and a day bounds
    /// both memory and the work of catching up).
    pub window: Duration,
    pub thresholds: Thresholds,
    /// How long a window must stay above the threshold before it fires (`for:`).
    pub hold: Duration,
    /// After this long a window's weight in the baseline has halved.
    pub half_life: Duration,
    /// Buckets after the first mention during which the baseline is not trusted.
    pub warmup_buckets: u32,
}

impl DetectorParams {
    pub const DEFAULT_BUCKET: Duration = Duration::from_secs(60);
    pub const DEFAULT_HALF_LIFE: Duration = Duration::from_secs(60 * 60);
    pub const DEFAULT_WARMUP_BUCKETS: u32 = 30;

    /// The parameters of a playbook's surge trigger, with default bucket,
    /// half-life and warm-up.
    pub fn from_sensitivity(
        window: Duration,
        sensitivity: Sensitivity,
        overrides: Option<Thresholds>,
        hold: Duration,
    ) -> Self {
        Self {
            bucket: Self::DEFAULT_BUCKET,
            window,
            thresholds: overrides.unwrap_or_else(|| Thresholds::for_sensitivity(sensitivity)),
            hold,
            half_life: Self::DEFAULT_HALF_LIFE,
            warmup_buckets: Self::DEFAULT_WARMUP_BUCKETS,
        }
    }
}

/// [`DetectorParams`] in the units the detector computes with.
#[derive(Debug, Clone, Copy)]
struct Tuning {
    bucket_secs: i64,
    window_buckets: usize,
    hold_secs: i64,
    /// Weight of a new window in the baseline.
    alpha: f64,
    warmup_buckets: u64,
    /// Consecutive empty buckets after which the detector goes dormant.
    forget_after: u64,
    thresholds: Thresholds,
}

impl Tuning {
    fn new(params: &DetectorParams) -> Self {
        let bucket_secs = params.bucket.as_secs().max(1);
        let day_buckets = SECONDS_PER_DAY.div_ceil(bucket_secs);
        let window_buckets = whole_seconds_up(params.window)
            .div_ceil(bucket_secs)
            .clamp(1, day_buckets);
        let half_life_buckets = params.half_life.as_secs_f64() / bucket_secs as f64;
        let alpha = if half_life_buckets > 0.0 {
            1.0 - 0.5_f64.powf(1.0 / half_life_buckets)
        } else {
            1.0
        };
        let forget_after = ((FORGET_AFTER_HALF_LIVES * half_life_buckets).ceil() as u64)
            .min(day_buckets)
            .max(window_buckets);
        Self {
            bucket_secs: to_i64(bucket_secs),
            window_buckets: usize::try_from(window_buckets).unwrap_or(usize::MAX),
            hold_secs: to_i64(whole_seconds_up(params.hold)),
            alpha,
            warmup_buckets: u64::from(params.warmup_buckets),
            forget_after,
            thresholds: params.thresholds,
        }
    }

    /// The Poisson threshold for a baseline (see the module header).
    fn threshold(&self, baseline: f64) -> f64 {
        let t = &self.thresholds;
        let poisson = baseline + t.sigmas * baseline.max(1.0).sqrt() + 1.0;
        poisson
            .max(f64::from(t.min_count))
            .max(t.min_ratio * baseline)
    }

    /// The floor a window must reach during warm-up.
    fn warmup_floor(&self) -> f64 {
        3.0 * f64::from(self.thresholds.min_count)
    }
}

/// A duration in seconds, any fraction counting as a whole second.
fn whole_seconds_up(duration: Duration) -> u64 {
    duration
        .as_secs()
        .saturating_add(u64::from(duration.subsec_nanos() > 0))
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// The expected count per window.
#[derive(Debug, Clone, Copy, Default)]
struct Baseline {
    mean: f64,
    learned: u64,
}

impl Baseline {
    /// Moves the mean towards one more window's count.
    fn learn(&mut self, count: f64, alpha: f64) {
        self.learned = self.learned.saturating_add(1);
        let weight = alpha.max(1.0 / self.learned as f64);
        self.mean += weight * (count - self.mean);
    }
}

/// Where the detector stands between evaluations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Below the threshold.
    Calm,
    /// Above the threshold since the bucket with this index, not fired yet.
    Rising { since: i64 },
    /// Fired; not yet back below.
    Fired,
}

/// Surge detection for one trigger; see the module header for the design.
#[derive(Debug, Clone)]
pub struct PoissonDetector {
    params: DetectorParams,
    tuning: Tuning,
    /// Index of the oldest bucket not closed yet; `None` before time is known.
    cursor: Option<i64>,
    /// Mentions per bucket not closed yet.
    pending: BTreeMap<i64, u32>,
    /// Counts of the last closed buckets, oldest first, at most a window.
    recent: VecDeque<u32>,
    recent_sum: u64,
    baseline: Baseline,
    /// Buckets closed since the detector last woke from dormancy.
    closed: u64,
    /// Consecutive empty buckets closed.
    silent: u64,
    dormant: bool,
    phase: Phase,
}

impl PoissonDetector {
    pub fn new(params: DetectorParams) -> Self {
        let tuning = Tuning::new(&params);
        Self {
            params,
            tuning,
            cursor: None,
            pending: BTreeMap::new(),
            recent: VecDeque::with_capacity(tuning.window_buckets.min(1 << 16)),
            recent_sum: 0,
            baseline: Baseline::default(),
            closed: 0,
            silent: 0,
            dormant: true,
            phase: Phase::Calm,
        }
    }

    pub fn params(&self) -> &DetectorParams {
        &self.params
    }

    /// Starts watching at `start`: the buckets from then on are evaluated
    /// even when empty, so quiet time teaches the baseline that silence is
    /// normal (the engine starts every detector when it starts).
    pub fn start_at(mut self, start: Timestamp) -> Self {
        self.cursor = Some(self.bucket_of(start));
        self.dormant = false;
        self
    }

    fn bucket_of(&self, at: Timestamp) -> i64 {
        at.timestamp().div_euclid(self.tuning.bucket_secs)
    }

    /// When the bucket with this index ends.
    fn end_of(&self, index: i64) -> Timestamp {
        let secs = index
            .saturating_add(1)
            .saturating_mul(self.tuning.bucket_secs);
        DateTime::<Utc>::from_timestamp(secs, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// The next bucket at or after `index` that has mentions, if before `end`.
    fn next_busy_bucket(&self, index: i64, end: i64) -> Option<i64> {
        self.pending.range(index..end).next().map(|(&busy, _)| busy)
    }

    /// Closes one bucket and evaluates the window that ends with it.
    fn close(&mut self, index: i64) -> Evaluation {
        let count = self.pending.remove(&index).unwrap_or(0);
        self.push_recent(count);
        self.closed = self.closed.saturating_add(1);
        self.silent = if count == 0 {
            self.silent.saturating_add(1)
        } else {
            0
        };

        let in_warmup = self.closed <= self.tuning.warmup_buckets;
        let expected = self.baseline.mean;
        let mut threshold = self.tuning.threshold(expected);
        if in_warmup {
            threshold = threshold.max(self.tuning.warmup_floor());
        }
        let observed = self.recent_sum;
        let above = observed as f64 >= threshold;
        let decision = self.decide(index, above, in_warmup);
        if !above || self.baseline.learned == 0 {
            self.baseline
                .learn(self.full_window_equivalent(), self.tuning.alpha);
        }
        if self.silent >= self.tuning.forget_after {
            self.go_dormant();
        }
        tracing::trace!(at = %self.end_of(index), observed, expected, threshold, ?decision, "surge window evaluated");
        Evaluation {
            at: self.end_of(index),
            observed,
            baseline: expected,
            threshold,
            decision,
        }
    }

    fn push_recent(&mut self, count: u32) {
        self.recent.push_back(count);
        self.recent_sum += u64::from(count);
        if self.recent.len() > self.tuning.window_buckets {
            let oldest = self.recent.pop_front().unwrap_or(0);
            self.recent_sum -= u64::from(oldest);
        }
    }

    /// The window's count, scaled up while the window is still filling.
    fn full_window_equivalent(&self) -> f64 {
        let seen = self.recent.len().max(1) as f64;
        self.recent_sum as f64 * self.tuning.window_buckets as f64 / seen
    }

    /// The decision for a window, and the phase it leaves the detector in.
    fn decide(&mut self, index: i64, above: bool, in_warmup: bool) -> Decision {
        let (decision, phase) = match (self.phase, above) {
            (Phase::Fired, true) => (Decision::Ongoing, Phase::Fired),
            (Phase::Fired, false) => (Decision::Subsided, Phase::Calm),
            (Phase::Calm, true) => self.rising(index, index),
            (Phase::Rising { since }, true) => self.rising(since, index),
            (Phase::Calm | Phase::Rising { .. }, false) if in_warmup => {
                (Decision::Warmup, Phase::Calm)
            }
            (Phase::Calm | Phase::Rising { .. }, false) => (Decision::Quiet, Phase::Calm),
        };
        self.phase = phase;
        decision
    }

    /// Above since bucket `since`, now at bucket `index`: fire once `hold` has passed.
    fn rising(&self, since: i64, index: i64) -> (Decision, Phase) {
        let above_for = index
            .saturating_sub(since)
            .saturating_mul(self.tuning.bucket_secs);
        if above_for >= self.tuning.hold_secs {
            (Decision::Surge, Phase::Fired)
        } else {
            (Decision::Rising, Phase::Rising { since })
        }
    }

    /// Stops evaluating empty buckets one by one; the baseline (about zero
    /// after such a silence) is kept, so the next busy window is judged.
    fn go_dormant(&mut self) {
        tracing::debug!(
            silent_buckets = self.silent,
            "surge detector dormant after a long silence"
        );
        self.recent.clear();
        self.recent_sum = 0;
        self.silent = 0;
        self.dormant = true;
        self.phase = Phase::Calm;
    }
}

impl SurgeDetector for PoissonDetector {
    fn observe(&mut self, at: Timestamp) -> bool {
        let index = self.bucket_of(at);
        if self.cursor.is_some_and(|open| index < open) {
            tracing::debug!(%at, reason = "late", "mention not counted for surge detection");
            return false;
        }
        if !self.pending.contains_key(&index) && self.pending.len() >= MAX_PENDING_BUCKETS {
            tracing::warn!(%at, reason = "too far ahead", "mention not counted for surge detection");
            return false;
        }
        let count = self.pending.entry(index).or_insert(0);
        *count = count.saturating_add(1);
        true
    }

    fn advance(&mut self, now: Timestamp) -> Vec<Evaluation> {
        // Buckets with an index below `end` have ended by `now`.
        let end = self.bucket_of(now);
        let first_busy = self.pending.keys().next().copied();
        let mut index = self
            .cursor
            .unwrap_or_else(|| first_busy.unwrap_or(end).min(end));
        let mut evaluations = Vec::new();
        while index < end {
            if self.dormant {
                match self.next_busy_bucket(index, end) {
                    Some(busy) => index = busy,
                    None => {
                        index = end;
                        break;
                    }
                }
                self.dormant = false;
            }
            evaluations.push(self.close(index));
            index += 1;
        }
        self.cursor = Some(index);
        evaluations
    }

    fn next_boundary(&self) -> Option<Timestamp> {
        let open = self
            .cursor
            .or_else(|| self.pending.keys().next().copied())?;
        Some(self.end_of(open))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tuning(window_secs: u64, half_life_secs: u64) -> Tuning {
        let mut params = DetectorParams::from_sensitivity(
            Duration::from_secs(window_secs),
            Sensitivity::Medium,
            None,
            Duration::from_millis(1500),
        );
        params.half_life = Duration::from_secs(half_life_secs);
        Tuning::new(&params)
    }

    #[test]
    fn sensitivities_map_to_the_documented_thresholds() {
        let cases = [
            (Sensitivity::Low, 6.0, 20, 3.0),
            (Sensitivity::Medium, 4.0, 10, 2.0),
            (Sensitivity::High, 3.0, 5, 1.5),
        ];
        for (sensitivity, sigmas, min_count, min_ratio) in cases {
            assert_eq!(
                thresholds_for(sensitivity),
                Thresholds {
                    sigmas,
                    min_count,
                    min_ratio
                }
            );
        }
    }

    #[test]
    fn the_threshold_is_the_largest_of_its_three_terms() {
        let t = tuning(600, 3600);
        // Poisson term: 100 + 4 * 10 + 1 = 141 < 2 * 100.
        assert_eq!(t.threshold(100.0), 200.0);
        // min_count wins on a tiny baseline: 0 + 4 * 1 + 1 = 5 < 10.
        assert_eq!(t.threshold(0.0), 10.0);
        // Poisson term wins in between: 9 + 4 * 3 + 1 = 22 > 18.
        assert_eq!(t.threshold(9.0), 22.0);
    }

    #[test]
    fn durations_become_whole_buckets_and_seconds() {
        let t = tuning(90, 3600);
        assert_eq!(t.window_buckets, 2, "90 s is two one-minute buckets");
        assert_eq!(t.hold_secs, 2, "1.5 s of hold rounds up");
        assert!((t.alpha - (1.0 - 0.5_f64.powf(1.0 / 60.0))).abs() < 1e-12);
        assert_eq!(t.forget_after, 360, "six hours of one-minute buckets");
        assert_eq!(
            tuning(90, 10 * 24 * 3600).forget_after,
            1440,
            "never more than a day"
        );
    }

    #[test]
    fn the_baseline_is_a_running_mean_until_the_decay_takes_over() {
        let mut baseline = Baseline::default();
        for count in [10.0, 20.0, 30.0] {
            baseline.learn(count, 0.01);
        }
        assert!((baseline.mean - 20.0).abs() < 1e-9);
    }

    #[test]
    fn extreme_parameters_neither_panic_nor_stall() {
        // Each case catches up over thousands of years of silence.
        let cases = [
            (
                Duration::ZERO,
                Duration::ZERO,
                Duration::ZERO,
                Duration::ZERO,
            ),
            (Duration::MAX, Duration::MAX, Duration::MAX, Duration::MAX),
            (
                Duration::from_millis(1),
                Duration::MAX,
                Duration::MAX,
                Duration::ZERO,
            ),
        ];
        let at = DateTime::<Utc>::from_timestamp(1_795_000_000, 0).expect("a valid time");
        for (bucket, window, hold, half_life) in cases {
            let mut params =
                DetectorParams::from_sensitivity(window, Sensitivity::High, None, hold);
            params.bucket = bucket;
            params.half_life = half_life;
            let mut detector = PoissonDetector::new(params);
            assert!(detector.observe(at));
            detector.advance(at + chrono::TimeDelta::days(3));
            detector.advance(DateTime::<Utc>::MAX_UTC);
            detector.advance(at);
        }
    }
}
