//! Surge detector v4: a robust, time-of-day-aware baseline, the recent
//! peak of the last week, and a change of pattern.
//!
//! [`BaselineDetector`] asks, once a bucket, "is the number of matching
//! mentions in the last `window` far more than this brand gets at this time
//! of day, *and* more than it has recently had without anything being
//! wrong?", and says why through an [`Evaluation`].
//!
//! Real mention streams are not Poisson: they have a daily rhythm, bursts
//! that mean nothing (a popular post retweeted, a bot), slow growth and
//! gaps. v1 (an exponentially weighted mean with a Poisson band) alarmed on
//! every busy afternoon and scored 49 on the NAB realTweets benchmark; v2
//! (volume only) 78, v3 (and the change of pattern) 82, v4 (bursts counted
//! once per spike, gaps in the feed, a week of recent peak) 84 (see
//! `docs/detection.md`).
//!
//! # Buckets
//!
//! Event time is cut into buckets (default one minute) aligned to the Unix
//! epoch. [`observe`](SurgeDetector::observe) adds one to the bucket a
//! mention was written in; [`advance`](SurgeDetector::advance) closes, in
//! order, every bucket that ends at or before "now" and evaluates the window
//! of the last `window / bucket` buckets after each one. A mention for a
//! bucket already closed is *late* and not counted (`observe` returns
//! `false`).
//!
//! # Expected count and its band
//!
//! The detector keeps the counts of the last `history` (default five days)
//! of buckets that were *normal* (not part of a surge: a surge must not
//! teach the detector that surges are normal). From them, per bucket:
//!
//! - the **median** and the **interquartile range** (robust: a spike or a
//!   silent hour moves neither much);
//! - the same two at the **same time of day**: over the buckets within 30
//!   minutes of this time on each of the last three days, so that a busy
//!   afternoon is compared with other afternoons and a quiet night with
//!   other nights.
//!
//! Each is the half-and-half blend of the overall and the time-of-day value
//! (just the overall one until a day of history exists). The expected window
//! count is `window_buckets × median`, and the spread of a window is
//! `window_buckets × IQR / 1.349 + √expected`: the first term is the
//! brand's own variability (summed over the window, not √-scaled: real
//! bursts are correlated from minute to minute), the second the Poisson
//! noise of small counts. The top of the normal band is `expected + sigmas ×
//! spread`.
//!
//! # The recent peak
//!
//! Busy brands have many bursts a week that are nobody's crisis. The
//! detector remembers the busiest normal window of the last week (a whole
//! weekly rhythm, at least `history`), and a surge must also reach
//! `record_ratio ×` that peak. Windows of a surge are remembered apart:
//! they count (a burst that comes back every day at noon fires once, not
//! daily) for the `history` at most, and only until the incident the surge
//! opened is resolved, when [`BaselineDetector::rearm`] forgets them, so a
//! resolved outage does not hide the next, smaller one.
//!
//! # Threshold
//!
//! ```text
//! max(expected + sigmas × spread,  min_count,  min_ratio × expected,  record_ratio × recent peak)
//! ```
//!
//! [`Bound`] says which term set it; [`Evaluation::explain`] says it in words.
//!
//! # Decisions, hold and debounce
//!
//! Above for less than `hold` (the playbook's `for:`) is `Rising`; above for
//! `hold` or longer is `Surge` once, then `Ongoing`; the first window below
//! after that is `Subsided` once. A surge is over when the window is back
//! under the threshold *without* the recent-peak term: the recent peak says
//! whether a rise is new, not whether it is over, so a surge does not flap
//! on and off around a bar that its own windows raised. Within `debounce` of the last `Surge`, a
//! new rise is `Ongoing`, not a second alarm: one surge, one alarm. The
//! engine re-arms the detector ([`BaselineDetector::rearm`]) when the
//! incident it opened is resolved, so debounce never hides a new outage
//! after the last one is over.
//!
//! # A change of pattern
//!
//! Some incidents never lift a window over the volume threshold: short
//! bursts every few minutes (a bot, a coordinated campaign, an outage that
//! shows as spikes) on an otherwise ordinary day. A *spike* is a bucket of
//! at least 2.5 × the local level (the median bucket of the last hour) plus
//! three Poisson deviations of it (√level, at least 1); a *burst* is where
//! a spike starts (a spike over three buckets is one burst). An empty
//! bucket against a local level of five or more is a gap in the feed, not
//! silence (Poisson gives it less than 1%): it does not lower the level, so
//! a feed coming back after an outage is no burst. After every bucket the
//! detector records how many bursts the last eight hours held, and
//! keeps the mean and standard deviation of that count over the history.
//! When a bucket is a burst, the last eight hours hold at least three, that
//! is at least `burst_sigmas` standard deviations (at least half a burst)
//! above the usual count, the window holds at least `min_count` mentions,
//! and nothing is debounced, the bucket is `Surge` with [`Bound::Bursts`]
//! and the counts in [`Evaluation::bursts`]. It fires once per pattern: not
//! again until the count is back under that bar (or the incident is
//! resolved, [`BaselineDetector::rearm`]). When the count is back under the
//! bar, the next quiet bucket is `Subsided` (with the counts), once, as the
//! end of a volume surge is: an incident with `auto_resolve` waits for that
//! before it counts quiet time. The volume is not touched: the bucket stays
//! in the baseline and the detector's phase does not change.
//! This needs a day of history first; it is NAB's anomaly likelihood (the
//! tail of a recent score against its own rolling distribution) applied to
//! the frequency of bursts.
//!
//! # A new level
//!
//! A surge that stays above its threshold for two hours is a new level (a
//! campaign, a viral post, growth), not an incident still building. The
//! detector says `NewLevel` once, keeps only the last hours of history, and
//! judges from then on against that level: it neither stays alarmed for days
//! nor goes blind (the next surge is judged against the new level). The
//! incident stays open: only people resolve it.
//!
//! # Early alarm
//!
//! Counts in a bucket only grow, so once the open bucket's mentions already
//! lift the window to its threshold the surge is certain before the bucket
//! closes. [`BaselineDetector::early`] fires then, in live mode and in
//! replays alike; the bucket's close then says `Ongoing`.
//!
//! # Warm-up, gaps and silence
//!
//! With fewer than `warmup_buckets` buckets of history the detector reports
//! `Warmup` and fires only on a window of `3 × min_count`, so a massive
//! surge on the first day still fires. Buckets with no mention are zeros in
//! the history: silence is information (a complaint-phrase trigger that sees
//! nothing all night must judge the morning's outage against zero). After a
//! silence of six hours (at least a window) the detector stops evaluating
//! empty buckets one by one and records the gap in one step when the next
//! mention comes, which bounds the work of catching up after a gap of any
//! length.
//!
//! # Memory
//!
//! Per trigger: the history (`history / bucket` buckets, at most
//! [`MAX_HISTORY_BUCKETS`], 4 bytes each plus 4 for the sorted copy of the
//! normal ones), the last window's counts, the recent-peak queues (at most a
//! window sum per bucket of the last week, and at most twice
//! [`MAX_HISTORY_BUCKETS`]; usually a handful) and the not-yet-closed
//! buckets, and for the change of pattern an hour of counts, a flag per
//! bucket of eight hours and two bytes per bucket of history.
//! [`BaselineDetector::memory_bytes`] reports it; with the defaults
//! (one-minute buckets, five days) it is about 100 KB.

use super::{Bound, BurstCount, Decision, Evaluation, SurgeDetector};
use crate::clock::Timestamp;
use crate::playbook::model::{Sensitivity, Thresholds};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

/// Most distinct not-yet-closed buckets a detector holds counts for: a week
/// of minutes. Only a driver that feeds mentions without ever advancing time
/// gets near it; mentions beyond it are not counted.
pub const MAX_PENDING_BUCKETS: usize = 7 * 24 * 60;

/// Most buckets of history kept: five days of minutes, a little more. Finer
/// buckets keep a shorter history rather than more memory.
pub const MAX_HISTORY_BUCKETS: usize = 8192;

const SECONDS_PER_DAY: u64 = 24 * 60 * 60;
/// Days of the same time of day that the seasonal median looks at.
const SEASONAL_DAYS: usize = 3;
/// Half-width of the same-time-of-day neighbourhood.
const SEASONAL_HALF_WIDTH_SECS: u64 = 30 * 60;
/// Weight of the same-time-of-day median and IQR against the overall ones.
const SEASONAL_WEIGHT: f64 = 0.5;
/// Silence after which empty buckets are no longer evaluated one by one.
const DORMANT_AFTER_SECS: u64 = 6 * 60 * 60;
/// A surge that lasts this long is a new level, not an incident that is
/// still building: the detector starts again from it.
const NEW_LEVEL_AFTER_SECS: u64 = 2 * 60 * 60;
/// IQR of a normal distribution in standard deviations.
const IQR_PER_SIGMA: f64 = 1.349;
/// The local level a burst is measured against: the median bucket of the
/// last hour.
const BURST_LOCAL_SECS: u64 = 60 * 60;
/// A burst is a bucket at least this multiple of the local level...
const BURST_RATIO: f64 = 2.5;
/// ...plus this many Poisson deviations of it (so that 1 after 0 is not one).
const BURST_POISSON_SIGMAS: f64 = 3.0;
/// Bursts are counted over this span: a change of pattern, not a moment.
const BURST_SPAN_SECS: u64 = 8 * 60 * 60;
/// Fewest bursts in the span that can be a change of pattern.
const MIN_BURSTS: u32 = 3;
/// Floor of the usual variation of the burst count: half a burst, so that a
/// brand that never bursts is not alarmed by the first two.
const MIN_BURST_SPREAD: f64 = 0.5;
/// A bucket with no mention where the local level is at least this many is
/// a gap in the feed, not silence: Poisson gives it less than 1% (e^-5).
/// It leaves the local level alone, so the feed coming back is no burst.
const FEED_GAP_LEVEL: u32 = 5;
/// How far back the recent peak of *normal* windows looks: a whole week, so
/// that every day of the week's busiest hour has been seen (five days of
/// history never hold both a working week and a weekend). Surge windows
/// are remembered for the history only, and forgotten on re-arm.
const RECORD_SPAN_SECS: u64 = 7 * SECONDS_PER_DAY;
/// Most buckets the recent peak of normal windows looks back over, so that
/// its queue stays bounded whatever the bucket (a week of minutes fits).
const MAX_RECORD_BUCKETS: usize = 2 * MAX_HISTORY_BUCKETS;

/// What a [`Sensitivity`] stands for, beyond its [`Thresholds`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SensitivityProfile {
    pub thresholds: Thresholds,
    /// A surge must reach this multiple of the recent peak.
    pub record_ratio: f64,
    /// No second alarm within this long of the last one.
    pub debounce: Duration,
    /// Bursts fire when their count over the last hours is this many
    /// standard deviations above its usual value.
    pub burst_sigmas: f64,
}

impl SensitivityProfile {
    /// The documented table (docs/playbooks.md, docs/detection.md).
    pub fn of(sensitivity: Sensitivity) -> Self {
        let (sigmas, min_count, min_ratio, record_ratio, debounce_hours, burst_sigmas) =
            match sensitivity {
                Sensitivity::Low => (6.0, 30, 3.0, 0.9, 24, 5.0),
                Sensitivity::Medium => (4.0, 10, 2.0, 0.75, 1, 4.0),
                Sensitivity::High => (3.0, 5, 1.5, 0.6, 0, 3.0),
            };
        Self {
            thresholds: Thresholds {
                sigmas,
                min_count,
                min_ratio,
            },
            record_ratio,
            debounce: Duration::from_secs(debounce_hours * 3600),
            burst_sigmas,
        }
    }
}

/// The thresholds a [`Sensitivity`] stands for.
impl Thresholds {
    pub fn for_sensitivity(sensitivity: Sensitivity) -> Self {
        SensitivityProfile::of(sensitivity).thresholds
    }
}

/// Same as [`Thresholds::for_sensitivity`], as a free function.
pub fn thresholds_for(sensitivity: Sensitivity) -> Thresholds {
    Thresholds::for_sensitivity(sensitivity)
}

/// Everything a [`BaselineDetector`] is tuned by.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetectorParams {
    /// Evaluation granularity, in whole seconds (a fraction is dropped, and
    /// less than a second counts as one).
    pub bucket: Duration,
    /// Length of the counting window; rounded up to whole buckets, and cut
    /// to a day (playbooks and `squall detect` refuse longer ones:
    /// [`crate::playbook::validate::LONGEST_WINDOW`]).
    pub window: Duration,
    pub thresholds: Thresholds,
    /// A surge must also reach this multiple of the recent peak (0 turns
    /// the recent peak off).
    pub record_ratio: f64,
    /// How long a window must stay above the threshold before it fires (`for:`).
    pub hold: Duration,
    /// No second `Surge` within this long of the last one.
    pub debounce: Duration,
    /// How far back the baseline and the recent peak look.
    pub history: Duration,
    /// Buckets of history before the baseline is trusted.
    pub warmup_buckets: u32,
    /// A change of pattern (bursts far more frequent than usual) fires when
    /// the burst count of the last hours is this many standard deviations
    /// above its usual value (0 turns it off).
    pub burst_sigmas: f64,
}

impl DetectorParams {
    pub const DEFAULT_BUCKET: Duration = Duration::from_secs(60);
    pub const DEFAULT_HISTORY: Duration = Duration::from_secs(5 * SECONDS_PER_DAY);
    pub const DEFAULT_WARMUP_BUCKETS: u32 = 30;

    /// The parameters of a playbook's surge trigger, with default bucket,
    /// history and warm-up. `debounce` `None` takes the sensitivity's.
    pub fn from_sensitivity(
        window: Duration,
        sensitivity: Sensitivity,
        overrides: Option<Thresholds>,
        hold: Duration,
    ) -> Self {
        let profile = SensitivityProfile::of(sensitivity);
        Self {
            bucket: Self::DEFAULT_BUCKET,
            window,
            thresholds: overrides.unwrap_or(profile.thresholds),
            record_ratio: profile.record_ratio,
            hold,
            debounce: profile.debounce,
            history: Self::DEFAULT_HISTORY,
            warmup_buckets: Self::DEFAULT_WARMUP_BUCKETS,
            burst_sigmas: profile.burst_sigmas,
        }
    }

    /// The same, with the playbook's `debounce:` when it has one.
    pub fn with_debounce(mut self, debounce: Option<Duration>) -> Self {
        if let Some(d) = debounce {
            self.debounce = d;
        }
        self
    }
}

/// [`DetectorParams`] in the units the detector computes with.
#[derive(Debug, Clone, Copy)]
struct Tuning {
    bucket_secs: i64,
    window_buckets: usize,
    hold_secs: i64,
    debounce_buckets: i64,
    history_buckets: usize,
    /// Buckets the recent peak of normal windows looks back over: a week,
    /// and at least the history.
    record_buckets: usize,
    day_buckets: usize,
    seasonal_half: usize,
    warmup_buckets: usize,
    dormant_after: u64,
    /// Buckets above the threshold after which the level is the new normal.
    new_level_after: i64,
    thresholds: Thresholds,
    record_ratio: f64,
    /// Buckets the local level of a burst is the median of.
    burst_local: usize,
    /// Buckets bursts are counted over.
    burst_span: usize,
    burst_sigmas: f64,
}

impl Tuning {
    fn new(params: &DetectorParams) -> Self {
        let bucket_secs = params.bucket.as_secs().max(1);
        let buckets = |d: Duration| whole_seconds_up(d).div_ceil(bucket_secs);
        let day_buckets = SECONDS_PER_DAY.div_ceil(bucket_secs);
        let window_buckets = buckets(params.window).clamp(1, day_buckets);
        let history_buckets = buckets(params.history).clamp(1, MAX_HISTORY_BUCKETS as u64);
        Self {
            bucket_secs: to_i64(bucket_secs),
            window_buckets: to_usize(window_buckets),
            hold_secs: to_i64(whole_seconds_up(params.hold)),
            debounce_buckets: to_i64(buckets(params.debounce)),
            history_buckets: to_usize(history_buckets),
            record_buckets: to_usize(
                RECORD_SPAN_SECS
                    .div_ceil(bucket_secs)
                    .clamp(history_buckets, MAX_RECORD_BUCKETS as u64),
            ),
            day_buckets: to_usize(day_buckets),
            seasonal_half: to_usize(SEASONAL_HALF_WIDTH_SECS / bucket_secs),
            warmup_buckets: params.warmup_buckets as usize,
            dormant_after: (DORMANT_AFTER_SECS / bucket_secs)
                .clamp(window_buckets, day_buckets.max(window_buckets)),
            new_level_after: to_i64(NEW_LEVEL_AFTER_SECS.div_ceil(bucket_secs).max(1)),
            thresholds: params.thresholds,
            record_ratio: params.record_ratio.max(0.0),
            burst_local: to_usize((BURST_LOCAL_SECS / bucket_secs).max(1)),
            // At most a history's worth, and a count that fits 16 bits.
            burst_span: to_usize(
                (BURST_SPAN_SECS / bucket_secs).clamp(1, history_buckets.min(u64::from(u16::MAX))),
            ),
            burst_sigmas: params.burst_sigmas.max(0.0),
        }
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

fn to_usize(value: u64) -> usize {
    usize::try_from(value).unwrap_or(usize::MAX)
}

/// One closed bucket in the history, in four bytes: the count (saturating
/// at 2^31 - 1 mentions a bucket) and, in the top bit, whether it was part
/// of a surge (then it does not teach the baseline).
#[derive(Debug, Clone, Copy)]
struct Slot(u32);

impl Slot {
    const SURGE: u32 = 1 << 31;

    fn new(count: u32, normal: bool) -> Self {
        let count = count.min(Self::SURGE - 1);
        Self(if normal { count } else { count | Self::SURGE })
    }

    fn count(self) -> u32 {
        self.0 & !Self::SURGE
    }

    /// Not part of a surge: teaches the baseline.
    fn normal(self) -> bool {
        self.0 & Self::SURGE == 0
    }
}

/// The last `cap` closed buckets, contiguous in time (the newest is the
/// detector's last closed bucket), with a sorted copy of the normal counts
/// for quantiles.
#[derive(Debug, Clone)]
struct History {
    cap: usize,
    slots: VecDeque<Slot>,
    sorted: Vec<u32>,
}

impl History {
    fn new(cap: usize) -> Self {
        Self {
            cap,
            slots: VecDeque::new(),
            sorted: Vec::new(),
        }
    }

    fn push(&mut self, count: u32, normal: bool) {
        if self.slots.len() == self.cap {
            if let Some(old) = self.slots.pop_front() {
                if old.normal() {
                    if let Ok(at) = self.sorted.binary_search(&old.count()) {
                        self.sorted.remove(at);
                    }
                }
            }
        }
        let slot = Slot::new(count, normal);
        self.slots.push_back(slot);
        if normal {
            let count = slot.count();
            let at = self.sorted.partition_point(|&c| c < count);
            self.sorted.insert(at, count);
        }
    }

    /// `n` empty buckets in a row, in one step when they fill the history.
    fn push_zeros(&mut self, n: u64) {
        if n >= self.cap as u64 {
            self.slots.clear();
            self.slots
                .extend(std::iter::repeat_n(Slot::new(0, true), self.cap));
            self.sorted.clear();
            self.sorted.resize(self.cap, 0);
        } else {
            for _ in 0..n {
                self.push(0, true);
            }
        }
    }

    /// Forgets all but the newest `n` buckets, which become normal: the
    /// level they show is the new normal.
    fn keep_newest(&mut self, n: usize) {
        let drop = self.slots.len().saturating_sub(n);
        self.slots.drain(..drop);
        for slot in &mut self.slots {
            *slot = Slot::new(slot.count(), true);
        }
        self.sorted.clear();
        self.sorted.extend(self.slots.iter().map(|s| s.count()));
        self.sorted.sort_unstable();
    }

    fn normal_len(&self) -> usize {
        self.sorted.len()
    }

    /// Nearest-rank quantile of the normal counts.
    fn quantile(&self, q: f64) -> f64 {
        match self.sorted.len() {
            0 => 0.0,
            n => f64::from(self.sorted[((n - 1) as f64 * q).round() as usize]),
        }
    }

    fn mean(&self) -> f64 {
        match self.sorted.len() {
            0 => 0.0,
            n => self.sorted.iter().map(|&c| f64::from(c)).sum::<f64>() / n as f64,
        }
    }

    /// The count of the bucket `age` buckets before the next one (1: the
    /// newest closed bucket).
    fn ago(&self, age: usize) -> Option<u32> {
        let len = self.slots.len();
        (age >= 1 && age <= len).then(|| self.slots[len - age].count())
    }

    fn memory_bytes(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<Slot>()
            + self.sorted.capacity() * std::mem::size_of::<u32>()
    }
}

/// The busiest window of the recent history: a sliding-window maximum
/// (monotonic queue) over window sums, each entering only once its window
/// no longer overlaps the one being judged.
#[derive(Debug, Clone, Default)]
struct RecentPeak {
    /// Sums not yet old enough to count, oldest first: `(bucket, sum)`.
    waiting: VecDeque<(i64, f64)>,
    /// Candidates for the maximum, decreasing sums, oldest first.
    peaks: VecDeque<(i64, f64)>,
}

impl RecentPeak {
    fn push(&mut self, index: i64, sum: f64) {
        self.waiting.push_back((index, sum));
    }

    /// The busiest window among those ending in `(index - span, index - lag]`.
    fn max(&mut self, index: i64, lag: i64, span: i64) -> Option<f64> {
        while let Some(&(i, sum)) = self.waiting.front() {
            if i > index - lag {
                break;
            }
            self.waiting.pop_front();
            while self.peaks.back().is_some_and(|&(_, s)| s <= sum) {
                self.peaks.pop_back();
            }
            self.peaks.push_back((i, sum));
        }
        while self.peaks.front().is_some_and(|&(i, _)| i <= index - span) {
            self.peaks.pop_front();
        }
        self.peaks.front().map(|&(_, s)| s)
    }

    fn memory_bytes(&self) -> usize {
        (self.waiting.capacity() + self.peaks.capacity()) * std::mem::size_of::<(i64, f64)>()
    }
}

/// How often the brand bursts, and how often it usually does.
///
/// A *spike* is a bucket at least [`BURST_RATIO`] times the local level
/// (the median bucket of the last hour) plus [`BURST_POISSON_SIGMAS`]
/// Poisson deviations of it; a *burst* is where a spike starts: a spike
/// that lasts three buckets is one burst, not three, so that one popular
/// post is not counted as a pattern. An empty bucket against a local level
/// of at least [`FEED_GAP_LEVEL`] is a gap in the feed: it does not lower
/// the level, so the feed coming back is not a run of spikes against zero.
/// The number of bursts in the last
/// [`BURST_SPAN_SECS`] is recorded after every bucket; its mean and
/// standard deviation over the history say how bursty the brand usually is.
/// A stream whose texture changes (a bot, a campaign or an outage that shows
/// as short spikes every few minutes, none large enough to lift a window
/// over the volume threshold) has far more bursts than usual: that is the
/// signal, in the spirit of NAB's anomaly likelihood (the tail probability
/// of a recent score against its own rolling distribution).
///
/// Memory: the last hour of counts, a flag per bucket of the span and a
/// 16-bit burst count per bucket of history.
#[derive(Debug, Clone)]
struct Bursts {
    local_cap: usize,
    span_cap: usize,
    history_cap: usize,
    /// Burst counts needed before the usual value is trusted.
    min_history: usize,
    /// Counts of the last `local_cap` buckets (gaps in the feed left out).
    local: VecDeque<u32>,
    /// How many of them are at least [`FEED_GAP_LEVEL`]: whether an empty
    /// bucket is a gap in the feed, without a median per empty bucket.
    busy_in_local: usize,
    /// The last bucket was a spike: a spike now continues the same burst.
    spiking: bool,
    /// Whether each of the last `span_cap` buckets was a burst.
    flags: VecDeque<bool>,
    in_span: u32,
    /// `in_span` after each bucket of the history, with running sums.
    counts: VecDeque<u16>,
    sum: u64,
    sum_sq: u64,
    scratch: Vec<u32>,
}

/// What [`Bursts::push`] saw in one bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
struct BurstReading {
    /// The bucket was a burst.
    burst: bool,
    /// Bursts in the span, this bucket included.
    in_span: u32,
    /// The usual number of bursts in a span, over the history.
    usual: f64,
    /// Standard deviations above the usual (`None` until a day is known).
    sigmas: Option<f64>,
}

impl Bursts {
    fn new(local_cap: usize, span_cap: usize, history_cap: usize, min_history: usize) -> Self {
        Self {
            local_cap,
            span_cap,
            history_cap,
            min_history: min_history.min(history_cap),
            local: VecDeque::new(),
            busy_in_local: 0,
            spiking: false,
            flags: VecDeque::new(),
            in_span: 0,
            counts: VecDeque::new(),
            sum: 0,
            sum_sq: 0,
            scratch: Vec::new(),
        }
    }

    /// Records one closed bucket and judges the span that ends with it
    /// against the history before it.
    fn push(&mut self, count: u32) -> BurstReading {
        let full = self.local.len() == self.local_cap;
        // Zero is never a spike (the bar is at least 3): no median needed.
        let spike = count > 0 && full && {
            let level = self.level();
            f64::from(count) >= BURST_RATIO * level + BURST_POISSON_SIGMAS * level.max(1.0).sqrt()
        };
        let burst = spike && !self.spiking;
        self.spiking = spike;
        let feed_gap = count == 0 && full && self.level_is_busy();
        if !feed_gap {
            self.remember_local(count);
        }
        self.flags.push_back(burst);
        self.in_span += u32::from(burst);
        if self.flags.len() > self.span_cap && self.flags.pop_front() == Some(true) {
            self.in_span -= 1;
        }
        let n = self.counts.len();
        let usual = if n == 0 {
            0.0
        } else {
            self.sum as f64 / n as f64
        };
        let sigmas =
            (n >= self.min_history.max(1) && self.flags.len() == self.span_cap).then(|| {
                let variance = (self.sum_sq as f64 / n as f64 - usual * usual).max(0.0);
                (f64::from(self.in_span) - usual) / variance.sqrt().max(MIN_BURST_SPREAD)
            });
        let recorded = u16::try_from(self.in_span).unwrap_or(u16::MAX);
        self.counts.push_back(recorded);
        self.sum += u64::from(recorded);
        self.sum_sq += u64::from(recorded) * u64::from(recorded);
        if self.counts.len() > self.history_cap {
            if let Some(old) = self.counts.pop_front() {
                self.sum -= u64::from(old);
                self.sum_sq -= u64::from(old) * u64::from(old);
            }
        }
        BurstReading {
            burst,
            in_span: self.in_span,
            usual,
            sigmas,
        }
    }

    /// The local level: the (lower) median of the last buckets.
    fn level(&mut self) -> f64 {
        self.scratch.clear();
        self.scratch.extend(self.local.iter().copied());
        let mid = self.scratch.len().saturating_sub(1) / 2;
        f64::from(*self.scratch.select_nth_unstable(mid).1)
    }

    /// The local level is at least [`FEED_GAP_LEVEL`]: at most `mid` of the
    /// buckets are below it, so the lower median is not.
    fn level_is_busy(&self) -> bool {
        let n = self.local.len();
        n > 0 && self.busy_in_local >= n - (n - 1) / 2
    }

    /// Adds a bucket to the local level's window, keeping the busy count.
    fn remember_local(&mut self, count: u32) {
        self.local.push_back(count);
        self.busy_in_local += usize::from(count >= FEED_GAP_LEVEL);
        if self.local.len() > self.local_cap {
            if let Some(old) = self.local.pop_front() {
                self.busy_in_local -= usize::from(old >= FEED_GAP_LEVEL);
            }
        }
    }

    /// `n` empty buckets in a row; only the last span and history of them
    /// can matter, so the work is bounded whatever the gap.
    fn push_zeros(&mut self, n: u64) {
        let steps = n.min((self.history_cap + self.span_cap + self.local_cap) as u64);
        for _ in 0..steps {
            self.push(0);
        }
    }

    fn memory_bytes(&self) -> usize {
        self.local.capacity() * std::mem::size_of::<u32>()
            + self.flags.capacity()
            + self.counts.capacity() * std::mem::size_of::<u16>()
            + self.scratch.capacity() * std::mem::size_of::<u32>()
    }
}

/// Where the detector stands between evaluations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Below the threshold.
    Calm,
    /// Above the threshold since the bucket with this index, not fired yet.
    Rising { since: i64 },
    /// Fired (or held back by debounce) on a window above since the bucket
    /// with this index; not yet back below.
    Fired { since: i64 },
}

/// The threshold for one bucket's window and what set it.
#[derive(Debug, Clone, Copy)]
struct Bar {
    expected: f64,
    band: f64,
    threshold: f64,
    /// The threshold without the recent peak: a surge goes on until the
    /// window is back under it (the recent peak says whether a rise is
    /// new, not whether it is over).
    ongoing: f64,
    /// Which term set `ongoing`.
    ongoing_bound: Bound,
    record: Option<f64>,
    bound: Bound,
    warmup: bool,
}

/// Surge detection for one trigger; see the module header for the design.
#[derive(Debug, Clone)]
pub struct BaselineDetector {
    params: DetectorParams,
    tuning: Tuning,
    /// Index of the oldest bucket not closed yet; `None` before time is known.
    cursor: Option<i64>,
    /// Index of the newest closed bucket (the history ends there).
    last_closed: Option<i64>,
    /// Mentions per bucket not closed yet.
    pending: BTreeMap<i64, u32>,
    /// Counts of the last closed buckets, oldest first, at most a window.
    recent: VecDeque<u32>,
    recent_sum: u64,
    history: History,
    /// The busiest normal windows of the recent days.
    peak: RecentPeak,
    /// The busiest surge windows since the last re-arm: volume the brand has
    /// seen, but forgotten when the incident it caused is resolved.
    surge_peak: RecentPeak,
    /// Consecutive empty buckets closed.
    silent: u64,
    dormant: bool,
    phase: Phase,
    /// Bucket of the last `Surge`, for debounce.
    last_surge: Option<i64>,
    /// The bar of the open bucket, once computed: `(bucket, bar, count the
    /// open bucket must reach)`; early alarms compare against it.
    open_bar: Option<(i64, Bar, u64)>,
    /// Reused buffer for the seasonal median.
    scratch: Vec<u32>,
    /// How often the brand bursts (a change of pattern).
    bursts: Bursts,
    /// A change of pattern fired and the bursts are still far above their
    /// usual count: no second alarm for the same pattern.
    bursting: bool,
    /// The change of pattern that fired is over, and the next quiet bucket
    /// says so (`Subsided`), as a volume surge does when it ends: an
    /// incident with `auto_resolve` waits for that to start counting quiet.
    pattern_over: bool,
}

impl BaselineDetector {
    pub fn new(params: DetectorParams) -> Self {
        let tuning = Tuning::new(&params);
        Self {
            params,
            tuning,
            cursor: None,
            last_closed: None,
            pending: BTreeMap::new(),
            recent: VecDeque::with_capacity(tuning.window_buckets.min(1 << 12)),
            recent_sum: 0,
            history: History::new(tuning.history_buckets),
            peak: RecentPeak::default(),
            surge_peak: RecentPeak::default(),
            silent: 0,
            dormant: true,
            phase: Phase::Calm,
            last_surge: None,
            open_bar: None,
            scratch: Vec::new(),
            bursts: Bursts::new(
                tuning.burst_local,
                tuning.burst_span,
                tuning.history_buckets,
                tuning.day_buckets,
            ),
            bursting: false,
            pattern_over: false,
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

    /// Forgets the debounce: the next rise may fire. The engine calls this
    /// when the incident a surge opened is resolved.
    pub fn rearm(&mut self) {
        self.last_surge = None;
        self.bursting = false;
        self.pattern_over = false;
        // The surge was an incident, not the brand's usual volume: it must
        // not raise the bar for the next one.
        self.surge_peak = RecentPeak::default();
        if matches!(self.phase, Phase::Fired { .. }) {
            // Still above: a fresh rise must be judged anew.
            self.phase = Phase::Calm;
        }
    }

    /// Bytes of memory this detector holds (heap and inline).
    pub fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.history.memory_bytes()
            + self.peak.memory_bytes()
            + self.surge_peak.memory_bytes()
            + self.recent.capacity() * std::mem::size_of::<u32>()
            + self.scratch.capacity() * std::mem::size_of::<u32>()
            + self.bursts.memory_bytes()
            + self.pending.len() * (std::mem::size_of::<(i64, u32)>() + 16)
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

    /// Records the empty buckets between the last closed one and `index`.
    fn catch_up_to(&mut self, index: i64) {
        let Some(last) = self.last_closed else {
            return;
        };
        let gap = u64::try_from(index - last - 1).unwrap_or(0);
        if gap == 0 {
            return;
        }
        self.history.push_zeros(gap);
        self.bursts.push_zeros(gap);
        if gap >= self.tuning.window_buckets as u64 {
            self.recent.clear();
            self.recent_sum = 0;
        } else {
            for _ in 0..gap {
                self.push_recent(0);
            }
        }
        self.last_closed = Some(index - 1);
        self.open_bar = None;
    }

    /// The threshold for the window that ends with bucket `index`, from the
    /// history before it. Pure apart from the peak queue's housekeeping.
    fn bar(&mut self, index: i64) -> Bar {
        let t = self.tuning;
        let k = t.window_buckets as f64;
        let th = t.thresholds;
        let min_count = f64::from(th.min_count);
        let lag = t.window_buckets as i64;
        let record = if t.record_ratio > 0.0 {
            let normal = self.peak.max(index, lag, t.record_buckets as i64);
            let surge = self.surge_peak.max(index, lag, t.history_buckets as i64);
            normal.into_iter().chain(surge).reduce(f64::max)
        } else {
            None
        };
        if self.history.normal_len() < t.warmup_buckets.max(1) {
            let expected = k * self.history.mean();
            let band = expected + th.sigmas * expected.max(1.0).sqrt();
            let floor = 3.0 * min_count;
            let threshold = band.max(th.min_ratio * expected).max(floor);
            return Bar {
                expected,
                band,
                threshold,
                ongoing: threshold,
                ongoing_bound: Bound::Warmup,
                record: None,
                bound: Bound::Warmup,
                warmup: true,
            };
        }
        let median = self.history.quantile(0.5);
        let iqr = self.history.quantile(0.75) - self.history.quantile(0.25);
        let blend = |seasonal: f64, overall: f64| {
            SEASONAL_WEIGHT * seasonal + (1.0 - SEASONAL_WEIGHT) * overall
        };
        let (per_bucket, iqr) = match self.seasonal() {
            Some((s_median, s_iqr)) => (blend(s_median, median), blend(s_iqr, iqr)),
            None => (median, iqr),
        };
        let expected = k * per_bucket;
        let spread = k * iqr / IQR_PER_SIGMA + expected.max(1.0).sqrt();
        let band = expected + th.sigmas * spread;
        let mut threshold = band;
        let mut bound = Bound::Spread;
        let mut ongoing = band;
        let mut ongoing_bound = Bound::Spread;
        for (value, why) in [
            (min_count, Bound::MinCount),
            (th.min_ratio * expected, Bound::Ratio),
            (
                record.map_or(0.0, |r| t.record_ratio * r),
                Bound::RecentPeak,
            ),
        ] {
            if value > threshold {
                threshold = value;
                bound = why;
            }
            if why != Bound::RecentPeak && value > ongoing {
                ongoing = value;
                ongoing_bound = why;
            }
        }
        Bar {
            expected,
            band,
            threshold,
            ongoing,
            ongoing_bound,
            record,
            bound,
            warmup: false,
        }
    }

    /// Median and interquartile range of the counts at this time of day on
    /// the last days, once a day of history exists.
    fn seasonal(&mut self) -> Option<(f64, f64)> {
        let t = self.tuning;
        if self.history.slots.len() < t.day_buckets + t.seasonal_half {
            return None;
        }
        self.scratch.clear();
        for day in 1..=SEASONAL_DAYS {
            let centre = day * t.day_buckets;
            for age in centre.saturating_sub(t.seasonal_half)..=centre + t.seasonal_half {
                // Age 0 would be the bucket being judged.
                if let Some(c) = self.history.ago(age.max(1)) {
                    self.scratch.push(c);
                }
            }
        }
        self.scratch.sort_unstable();
        let rank = |q: f64| {
            f64::from(self.scratch[((self.scratch.len() - 1) as f64 * q).round() as usize])
        };
        Some((rank(0.5), rank(0.75) - rank(0.25)))
    }

    /// Closes one bucket and evaluates the window that ends with it.
    fn close(&mut self, index: i64) -> Evaluation {
        self.catch_up_to(index);
        let count = self.pending.remove(&index).unwrap_or(0);
        let bar = match self.open_bar.take() {
            Some((i, bar, _)) if i == index => bar,
            _ => self.bar(index),
        };
        self.push_recent(count);
        self.silent = if count == 0 { self.silent + 1 } else { 0 };
        let observed = self.recent_sum;
        // During a surge the bar is the one that says whether it is over.
        let judged = match self.phase {
            Phase::Fired { .. } => Bar {
                threshold: bar.ongoing,
                bound: bar.ongoing_bound,
                ..bar
            },
            _ => bar,
        };
        let above = observed as f64 >= judged.threshold;
        let mut decision = self.decide(index, above, bar.warmup);
        let reading = self.bursts.push(count);
        let mut judged = judged;
        let mut bursts = None;
        if self.bursting && !self.bursts_far_above_usual(&reading) {
            // The pattern is over, or has become the usual one: re-arm.
            self.bursting = false;
            self.pattern_over = true;
        }
        if decision != Decision::Quiet {
            // The volume speaks for itself (its own `Subsided` ends it).
            self.pattern_over = false;
        }
        if decision == Decision::Quiet && self.pattern_changed(&reading, observed, index) {
            self.bursting = true;
            self.pattern_over = false;
            // Not a surge in volume, but a change of pattern: one alarm,
            // debounced like a surge; the bucket's volume stays normal.
            decision = Decision::Surge;
            self.last_surge = Some(index);
            judged.bound = Bound::Bursts;
            bursts = Some(self.burst_count(&reading));
        } else if decision == Decision::Quiet && self.pattern_over {
            self.pattern_over = false;
            decision = Decision::Subsided;
            judged.bound = Bound::Bursts;
            bursts = Some(self.burst_count(&reading));
        }
        let normal = decision == Decision::NewLevel
            || (!above && !matches!(self.phase, Phase::Fired { .. }));
        self.history.push(count, normal);
        if normal {
            self.peak.push(index, observed as f64);
        } else {
            self.surge_peak.push(index, observed as f64);
        }
        self.last_closed = Some(index);
        if self.silent >= self.tuning.dormant_after {
            self.go_dormant();
        }
        tracing::trace!(at = %self.end_of(index), observed, expected = judged.expected, threshold = judged.threshold, ?decision, "surge window evaluated");
        Evaluation {
            bursts,
            ..self.evaluation(self.end_of(index), observed, judged, decision, false)
        }
    }

    /// The bursts of the span and their usual count, for an evaluation.
    fn burst_count(&self, reading: &BurstReading) -> BurstCount {
        BurstCount {
            recent: reading.in_span,
            usual: reading.usual,
            span: Duration::from_secs(
                u64::try_from(self.tuning.bucket_secs).unwrap_or(0) * self.tuning.burst_span as u64,
            ),
        }
    }

    /// Bursts in the span are at least [`MIN_BURSTS`] and `burst_sigmas`
    /// standard deviations above their usual count.
    fn bursts_far_above_usual(&self, reading: &BurstReading) -> bool {
        let t = &self.tuning;
        t.burst_sigmas > 0.0
            && reading.in_span >= MIN_BURSTS
            && reading.sigmas.is_some_and(|z| z >= t.burst_sigmas)
    }

    /// Whether the bucket just closed shows a new change of pattern: it is
    /// a burst, bursts are far above their usual count, the window holds at
    /// least `min_count` mentions, this pattern has not fired yet, and no
    /// alarm is debounced.
    fn pattern_changed(&self, reading: &BurstReading, observed: u64, index: i64) -> bool {
        reading.burst
            && !self.bursting
            && self.bursts_far_above_usual(reading)
            && observed >= u64::from(self.tuning.thresholds.min_count)
            && !self.debounced(index)
    }

    fn evaluation(
        &self,
        at: Timestamp,
        observed: u64,
        bar: Bar,
        decision: Decision,
        early: bool,
    ) -> Evaluation {
        Evaluation {
            at,
            observed,
            baseline: bar.expected,
            band: bar.band,
            threshold: bar.threshold,
            recent_peak: bar.record,
            bound: bar.bound,
            window: Duration::from_secs(
                u64::try_from(self.tuning.bucket_secs).unwrap_or(0)
                    * self.tuning.window_buckets as u64,
            ),
            decision,
            early,
            bursts: None,
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

    fn debounced(&self, index: i64) -> bool {
        self.last_surge
            .is_some_and(|last| index - last < self.tuning.debounce_buckets)
    }

    /// The decision for a window, and the phase it leaves the detector in.
    fn decide(&mut self, index: i64, above: bool, in_warmup: bool) -> Decision {
        let (decision, phase) = match (self.phase, above) {
            (Phase::Fired { since }, true) if index - since >= self.tuning.new_level_after => {
                self.adopt_new_level();
                (Decision::NewLevel, Phase::Calm)
            }
            (Phase::Fired { since }, true) => (Decision::Ongoing, Phase::Fired { since }),
            (Phase::Fired { .. }, false) => (Decision::Subsided, Phase::Calm),
            (Phase::Calm, true) => self.rising(index, index),
            (Phase::Rising { since }, true) => self.rising(since, index),
            (Phase::Calm | Phase::Rising { .. }, false) if in_warmup => {
                (Decision::Warmup, Phase::Calm)
            }
            (Phase::Calm | Phase::Rising { .. }, false) => (Decision::Quiet, Phase::Calm),
        };
        if decision == Decision::Surge {
            self.last_surge = Some(index);
        }
        self.phase = phase;
        decision
    }

    /// Whether a window above since bucket `since` may fire at bucket `index`.
    fn held_long_enough(&self, since: i64, index: i64) -> bool {
        index
            .saturating_sub(since)
            .saturating_mul(self.tuning.bucket_secs)
            >= self.tuning.hold_secs
    }

    /// Above since bucket `since`, now at bucket `index`: fire once `hold`
    /// has passed, unless within debounce of the last alarm.
    fn rising(&self, since: i64, index: i64) -> (Decision, Phase) {
        if !self.held_long_enough(since, index) {
            (Decision::Rising, Phase::Rising { since })
        } else if self.debounced(index) {
            (Decision::Ongoing, Phase::Fired { since })
        } else {
            (Decision::Surge, Phase::Fired { since })
        }
    }

    /// The volume has stayed above the threshold for `NEW_LEVEL_AFTER`:
    /// judge from now on against that level (the buckets of the last hours),
    /// instead of staying alarmed for days or, worse, learning it only once
    /// it fills half the history.
    fn adopt_new_level(&mut self) {
        let keep = usize::try_from(self.tuning.new_level_after)
            .unwrap_or(usize::MAX)
            .max(self.tuning.warmup_buckets);
        tracing::debug!(buckets = keep, "surge detector adopts a new level");
        self.history.keep_newest(keep);
        self.peak = RecentPeak::default();
        self.surge_peak = RecentPeak::default();
        self.open_bar = None;
    }

    /// Stops evaluating empty buckets one by one; the gap is recorded as
    /// zeros when the next mention comes.
    fn go_dormant(&mut self) {
        tracing::debug!(
            silent_buckets = self.silent,
            "surge detector dormant after a long silence"
        );
        self.silent = 0;
        self.dormant = true;
        self.phase = Phase::Calm;
    }

    /// Fires before the open bucket closes when its mentions already make
    /// the surge certain (counts only grow). Call after
    /// [`observe`](SurgeDetector::observe) with the current time; returns
    /// the `Surge` evaluation at most once per surge.
    pub fn early(&mut self, now: Timestamp) -> Option<Evaluation> {
        let open = self.bucket_of(now);
        if self.cursor != Some(open)
            || matches!(self.phase, Phase::Fired { .. })
            || self.debounced(open)
        {
            return None;
        }
        let since = match self.phase {
            Phase::Rising { since } => since,
            _ => open,
        };
        if !self.held_long_enough(since, open) {
            return None;
        }
        let have = u64::from(self.pending.get(&open).copied().unwrap_or(0));
        let need = match self.open_bar {
            Some((i, _, need)) if i == open => need,
            _ => {
                self.last_closed?;
                self.catch_up_to(open);
                let bar = self.bar(open);
                if bar.warmup {
                    return None;
                }
                // The window ending with the open bucket keeps the newest
                // window-1 closed buckets.
                let kept = self.recent_sum
                    - if self.recent.len() >= self.tuning.window_buckets {
                        u64::from(self.recent.front().copied().unwrap_or(0))
                    } else {
                        0
                    };
                let need = (bar.threshold.ceil().max(0.0) as u64).saturating_sub(kept);
                self.open_bar = Some((open, bar, need.max(1)));
                need.max(1)
            }
        };
        if have < need {
            return None;
        }
        let (_, bar, _) = self.open_bar?;
        let observed = self.recent_sum + have
            - if self.recent.len() >= self.tuning.window_buckets {
                u64::from(self.recent.front().copied().unwrap_or(0))
            } else {
                0
            };
        self.phase = Phase::Fired { since };
        self.last_surge = Some(open);
        Some(self.evaluation(now, observed, bar, Decision::Surge, true))
    }
}

impl SurgeDetector for BaselineDetector {
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
                match self.pending.range(index..end).next().map(|(&b, _)| b) {
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

    #[test]
    fn sensitivities_map_to_the_documented_table() {
        let cases = [
            (Sensitivity::Low, 6.0, 30, 3.0, 0.9, 24, 5.0),
            (Sensitivity::Medium, 4.0, 10, 2.0, 0.75, 1, 4.0),
            (Sensitivity::High, 3.0, 5, 1.5, 0.6, 0, 3.0),
        ];
        for (sensitivity, sigmas, min_count, min_ratio, record_ratio, hours, bursts) in cases {
            let p = SensitivityProfile::of(sensitivity);
            assert_eq!(
                p.thresholds,
                Thresholds {
                    sigmas,
                    min_count,
                    min_ratio
                }
            );
            assert_eq!(p.record_ratio, record_ratio);
            assert_eq!(p.debounce, Duration::from_secs(hours * 3600));
            assert_eq!(p.burst_sigmas, bursts);
        }
    }

    #[test]
    fn a_burst_is_two_and_a_half_times_the_local_level_plus_three_poisson_deviations() {
        // Local level: the median of the last 4 buckets; span 3; a day of
        // 5 buckets before the usual count is trusted.
        let mut b = Bursts::new(4, 3, 100, 5);
        for c in [10, 10, 10, 10] {
            assert!(!b.push(c).burst, "no level known yet");
        }
        // 2.5 × 10 + 3 × √10 = 34.5.
        assert!(!b.push(34).burst);
        assert!(b.push(35).burst);
        // Against a level of zero, three mentions are a burst, zero never.
        let mut quiet = Bursts::new(2, 3, 100, 5);
        for c in [0, 0, 2, 0] {
            assert!(!quiet.push(c).burst);
        }
        assert!(quiet.push(3).burst);
    }

    #[test]
    fn a_spike_over_several_buckets_is_one_burst() {
        let mut b = Bursts::new(8, 10, 100, 5);
        for _ in 0..8 {
            b.push(10);
        }
        // The level stays 10 (the median of the last eight buckets): all
        // three are spikes, one burst.
        assert!(b.push(40).burst);
        assert!(!b.push(40).burst);
        assert!(!b.push(40).burst);
        assert_eq!(b.push(10).in_span, 1);
        // A spike after a calm bucket is a new burst.
        let r = b.push(40);
        assert!(r.burst);
        assert_eq!(r.in_span, 2);
    }

    #[test]
    fn a_busy_feed_that_goes_empty_and_comes_back_is_no_burst() {
        // A level of 30 a bucket, an outage of the feed, then 30 again.
        let mut b = Bursts::new(4, 20, 100, 5);
        let feed = [30, 30, 30, 30, 0, 0, 0, 0, 0, 0, 30, 31, 29, 30];
        assert!(feed.iter().all(|&c| !b.push(c).burst));
        // A quiet brand's silence is silence: the level falls to zero and a
        // handful of mentions after it is a burst.
        let mut quiet = Bursts::new(4, 20, 100, 5);
        for c in [2, 2, 2, 2, 0, 0, 0, 0] {
            quiet.push(c);
        }
        assert!(quiet.push(4).burst);
    }

    #[test]
    fn the_burst_count_is_judged_against_its_own_history() {
        let mut b = Bursts::new(2, 2, 10, 4);
        // A burst every other bucket: the count over two buckets is 1.
        for _ in 0..6 {
            b.push(1);
            b.push(100);
        }
        let r = b.push(1);
        assert_eq!(r.in_span, 1);
        assert!(r.sigmas.is_some_and(|z| z.abs() < 1.0), "{r:?}");
        // A gap of any length costs at most a history and a span of steps
        // and leaves no burst behind.
        b.push_zeros(u64::MAX);
        assert_eq!(b.in_span, 0);
        assert_eq!(b.counts.len(), 10);
        assert_eq!(b.sum, 0);
    }

    #[test]
    fn the_history_keeps_quantiles_of_normal_buckets_only() {
        let mut h = History::new(4);
        for c in [5, 1, 9, 3] {
            h.push(c, true);
        }
        h.push(100, false);
        // 5 fell out; 100 is not normal.
        assert_eq!(h.sorted, vec![1, 3, 9]);
        assert_eq!(h.quantile(0.5), 3.0);
        assert_eq!(h.ago(1), Some(100));
        assert_eq!(h.ago(4), Some(1));
        assert_eq!(h.ago(5), None);
        h.push_zeros(10);
        assert_eq!(h.sorted, vec![0; 4]);
    }

    #[test]
    fn the_recent_peak_ignores_windows_that_overlap_and_forgets_old_ones() {
        let mut p = RecentPeak::default();
        for (i, s) in [(0, 10.0), (1, 50.0), (2, 20.0), (3, 90.0)] {
            p.push(i, s);
        }
        // Judging bucket 4 with a window of 2: sums ending at 0..=2 count.
        assert_eq!(p.max(4, 2, 100), Some(50.0));
        // Bucket 5: the 90 at bucket 3 counts now.
        assert_eq!(p.max(5, 2, 100), Some(90.0));
        // A span of 2 at bucket 6 forgets everything before bucket 5.
        assert_eq!(p.max(6, 2, 2), None);
    }

    #[test]
    fn the_recent_peak_looks_back_a_week_and_surges_only_as_far_as_the_history() {
        let tuning = |bucket_secs: u64| {
            Tuning::new(&DetectorParams {
                bucket: Duration::from_secs(bucket_secs),
                ..DetectorParams::from_sensitivity(
                    Duration::from_secs(1800),
                    Sensitivity::Low,
                    None,
                    Duration::ZERO,
                )
            })
        };
        let five_minutes = tuning(300);
        assert_eq!(five_minutes.record_buckets, 7 * 288);
        assert_eq!(five_minutes.history_buckets, 5 * 288);
        let minutes = tuning(60);
        assert_eq!(minutes.record_buckets, 7 * 1440);
        // Finer buckets keep a shorter week, as they keep a shorter history.
        assert_eq!(tuning(1).record_buckets, MAX_RECORD_BUCKETS);
    }

    #[test]
    fn extreme_parameters_neither_panic_nor_stall() {
        let cases = [
            (Duration::ZERO, Duration::ZERO, Duration::ZERO),
            (Duration::MAX, Duration::MAX, Duration::MAX),
            (Duration::from_millis(1), Duration::MAX, Duration::MAX),
        ];
        let at = DateTime::<Utc>::from_timestamp(1_795_000_000, 0).expect("a valid time");
        for (bucket, window, hold) in cases {
            let mut params =
                DetectorParams::from_sensitivity(window, Sensitivity::High, None, hold);
            params.bucket = bucket;
            params.history = window;
            params.debounce = hold;
            let mut detector = BaselineDetector::new(params);
            assert!(detector.observe(at));
            detector.advance(at + chrono::TimeDelta::days(3));
            detector.advance(DateTime::<Utc>::MAX_UTC);
            detector.advance(at);
            detector.early(at);
        }
    }
}
