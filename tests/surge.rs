//! The surge detector, specified on deterministic synthetic streams: the
//! basic contract (fire once, subside once, `for:`, warm-up, late mentions),
//! and the hard cases of real mention streams (a quiet brand, a day/night
//! rhythm, a new level after a surge, gaps, early alarms, debounce).

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use squall::detect::baseline::{BaselineDetector, DetectorParams};
use squall::detect::{Bound, Decision, Evaluation, SurgeDetector};
use squall::playbook::model::{Sensitivity, Thresholds};
use std::time::Duration;

type Timestamp = DateTime<Utc>;

fn start() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0)
        .single()
        .expect("a valid date")
}

fn minute(m: i64) -> Timestamp {
    start() + TimeDelta::minutes(m)
}

/// A small linear congruential generator (Knuth's MMIX constants): the same
/// seed gives the same stream on every platform.
struct Lcg(u64);

impl Lcg {
    fn uniform(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// A Poisson-distributed count with mean `lambda` (Knuth's method; fine
    /// for the small means used here).
    fn poisson(&mut self, lambda: f64) -> u32 {
        let limit = (-lambda).exp();
        let mut k = 0;
        let mut p = self.uniform();
        while p > limit {
            k += 1;
            p *= self.uniform();
        }
        k
    }
}

/// Mentions per minute, minute 0 starting at `start()`.
fn stream(minutes: i64, seed: u64, rate: impl Fn(i64) -> f64) -> Vec<u32> {
    let mut lcg = Lcg(seed);
    (0..minutes).map(|m| lcg.poisson(rate(m))).collect()
}

/// Feeds per-minute counts (spread evenly inside each minute) and advances
/// time every `advance_every` minutes; returns every evaluation.
fn run_with(
    detector: &mut BaselineDetector,
    counts: &[u32],
    advance_every: usize,
) -> Vec<Evaluation> {
    let mut evaluations = Vec::new();
    for (m, &count) in counts.iter().enumerate() {
        let m = m as i64;
        for j in 0..count {
            let offset = TimeDelta::milliseconds(60_000 * i64::from(j) / i64::from(count));
            assert!(
                detector.observe(minute(m) + offset),
                "a current mention is counted"
            );
        }
        if (m as usize + 1) % advance_every == 0 {
            evaluations.extend(detector.advance(minute(m + 1)));
        }
    }
    evaluations.extend(detector.advance(minute(counts.len() as i64)));
    evaluations
}

fn run(detector: &mut BaselineDetector, counts: &[u32]) -> Vec<Evaluation> {
    run_with(detector, counts, 1)
}

/// Medium sensitivity, a 10-minute window, `for: 5m`.
fn medium() -> BaselineDetector {
    BaselineDetector::new(DetectorParams::from_sensitivity(
        Duration::from_secs(600),
        Sensitivity::Medium,
        None,
        Duration::from_secs(300),
    ))
}

fn with_decision(evaluations: &[Evaluation], decision: Decision) -> Vec<&Evaluation> {
    evaluations
        .iter()
        .filter(|e| e.decision == decision)
        .collect()
}

/// 2/min for two hours, then `surge` per minute for `minutes`, then 2/min again.
fn two_per_minute_then(surge: f64, minutes: i64, tail: i64) -> Vec<u32> {
    stream(120 + minutes + tail, 7, |m| {
        if (120..120 + minutes).contains(&m) {
            surge
        } else {
            2.0
        }
    })
}

#[test]
fn a_flat_stream_of_two_a_minute_for_three_hours_never_fires() {
    let evaluations = run(&mut medium(), &stream(180, 1, |_| 2.0));
    assert_eq!(evaluations.len(), 180);
    assert!(with_decision(&evaluations, Decision::Surge).is_empty());
    let last = evaluations.last().expect("evaluations");
    assert!(
        (15.0..25.0).contains(&last.baseline),
        "baseline learned about 20 a window: {last:?}"
    );
}

#[test]
fn a_jump_to_forty_a_minute_fires_once_after_for_has_elapsed() {
    let evaluations = run(&mut medium(), &two_per_minute_then(40.0, 30, 0));
    let surges = with_decision(&evaluations, Decision::Surge);
    assert_eq!(surges.len(), 1, "{surges:?}");
    let jump = minute(120);
    let fired = surges[0].at;
    assert!(
        fired >= jump + TimeDelta::minutes(5),
        "not before for: has elapsed ({fired})"
    );
    // The window needs a few minutes to climb past the brand's usual ups
    // and downs; then `for:` runs.
    assert!(
        fired <= jump + TimeDelta::minutes(9),
        "promptly after it ({fired})"
    );
    let rising = with_decision(&evaluations, Decision::Rising);
    assert!(!rising.is_empty() && rising.iter().all(|e| e.at < fired && e.at > jump));
    assert!(evaluations
        .iter()
        .filter(|e| e.at > fired)
        .all(|e| e.decision == Decision::Ongoing));
}

#[test]
fn the_surge_subsides_once_when_traffic_drops_back() {
    let evaluations = run(&mut medium(), &two_per_minute_then(40.0, 30, 60));
    let subsided = with_decision(&evaluations, Decision::Subsided);
    assert_eq!(subsided.len(), 1, "{subsided:?}");
    let fired = with_decision(&evaluations, Decision::Surge)[0].at;
    assert!(subsided[0].at > minute(150) && subsided[0].at > fired);
    let after: Vec<Decision> = evaluations
        .iter()
        .filter(|e| e.at > subsided[0].at)
        .map(|e| e.decision)
        .collect();
    assert!(after.iter().all(|&d| d == Decision::Quiet), "{after:?}");
}

#[test]
fn a_second_surge_after_recovery_fires_again() {
    let counts = stream(280, 11, |m| match m {
        120..140 | 200..220 => 40.0,
        _ => 2.0,
    });
    let evaluations = run(&mut medium(), &counts);
    let surges: Vec<Timestamp> = with_decision(&evaluations, Decision::Surge)
        .iter()
        .map(|e| e.at)
        .collect();
    assert_eq!(surges.len(), 2, "{surges:?}");
    assert!(surges[0] > minute(120) && surges[0] < minute(140));
    assert!(surges[1] > minute(200) && surges[1] < minute(220));
    assert_eq!(with_decision(&evaluations, Decision::Subsided).len(), 2);
}

#[test]
fn a_rise_shorter_than_for_does_not_fire() {
    // A 2-minute window stays above for about as long as the burst lasts
    // plus a window: 4 minutes here, less than the 5 of `for:`.
    let mut detector = BaselineDetector::new(DetectorParams::from_sensitivity(
        Duration::from_secs(120),
        Sensitivity::Medium,
        None,
        Duration::from_secs(300),
    ));
    let evaluations = run(&mut detector, &two_per_minute_then(40.0, 2, 60));
    assert!(!with_decision(&evaluations, Decision::Rising).is_empty());
    assert!(with_decision(&evaluations, Decision::Surge).is_empty());
    assert!(with_decision(&evaluations, Decision::Subsided).is_empty());
}

#[test]
fn a_hold_of_zero_fires_on_the_first_window_above_the_threshold() {
    let mut detector = BaselineDetector::new(DetectorParams::from_sensitivity(
        Duration::from_secs(600),
        Sensitivity::Medium,
        None,
        Duration::ZERO,
    ));
    let evaluations = run(&mut detector, &two_per_minute_then(40.0, 10, 0));
    let first_above = evaluations
        .iter()
        .find(|e| e.observed as f64 >= e.threshold)
        .expect("a window above");
    assert_eq!(first_above.decision, Decision::Surge);
    assert!(with_decision(&evaluations, Decision::Rising).is_empty());
}

#[test]
fn warmup_ignores_a_modest_bump_but_not_a_massive_one() {
    let modest = stream(30, 3, |m| if m < 10 { 2.0 } else { 3.5 });
    let evaluations = run(&mut medium(), &modest);
    assert!(
        evaluations.iter().all(|e| e.decision == Decision::Warmup),
        "{evaluations:?}"
    );

    let massive = stream(30, 3, |m| if m < 5 { 2.0 } else { 50.0 });
    let evaluations = run(&mut medium(), &massive);
    let surges = with_decision(&evaluations, Decision::Surge);
    assert_eq!(surges.len(), 1);
    assert!(
        surges[0].at <= minute(12),
        "fired within the warm-up: {:?}",
        surges[0]
    );
}

#[test]
fn a_long_gap_neither_panics_nor_fires_nor_takes_long() {
    for gap in [TimeDelta::hours(10), TimeDelta::days(400)] {
        let mut detector = medium();
        let before = run(&mut detector, &stream(120, 5, |_| 2.0));
        let resume = minute(120) + gap;
        let started = std::time::Instant::now();
        let during = detector.advance(resume);
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "catching up {gap} took {:?}",
            started.elapsed()
        );
        assert!(
            during.len() <= 400,
            "catching up {gap} evaluated {} buckets",
            during.len()
        );
        assert!(before
            .iter()
            .chain(&during)
            .all(|e| e.decision != Decision::Surge));

        // The first few mentions afterwards are judged against the quiet
        // baseline: three mentions are not a surge.
        for s in 0..3 {
            assert!(detector.observe(resume + TimeDelta::seconds(10 * s)));
        }
        let after = detector.advance(resume + TimeDelta::minutes(2));
        assert_eq!(
            after.iter().map(|e| e.decision).collect::<Vec<_>>(),
            vec![Decision::Quiet; 2]
        );
    }
}

#[test]
fn slow_growth_from_two_to_six_a_minute_over_six_hours_does_not_fire_at_medium() {
    let counts = stream(360, 13, |m| 2.0 + 4.0 * m as f64 / 360.0);
    let evaluations = run(&mut medium(), &counts);
    assert!(with_decision(&evaluations, Decision::Surge).is_empty());
    let last = evaluations.last().expect("evaluations");
    // It started at 20 a window; the median of the day so far lags behind
    // the newest minutes by design.
    assert!(
        last.baseline >= 35.0,
        "the baseline followed the growth: {last:?}"
    );
}

#[test]
fn late_mentions_are_rejected_and_not_counted() {
    let mut detector = medium();
    assert!(detector.observe(minute(0) + TimeDelta::seconds(30)));
    let closed = detector.advance(minute(3));
    let observed: Vec<u64> = closed.iter().map(|e| e.observed).collect();
    assert_eq!(observed, vec![1, 1, 1]);
    assert!(
        !detector.observe(minute(2) + TimeDelta::seconds(59)),
        "its bucket is closed"
    );
    assert!(detector.observe(minute(3)), "the open bucket still counts");
    let next = detector.advance(minute(4));
    assert_eq!(next.iter().map(|e| e.observed).collect::<Vec<_>>(), vec![2]);
}

#[test]
fn mentions_ahead_of_time_wait_for_their_bucket() {
    let mut detector = medium();
    assert!(detector.observe(minute(5)));
    assert_eq!(detector.next_boundary(), Some(minute(6)));
    assert!(detector.advance(minute(5)).is_empty());
    assert_eq!(
        detector
            .advance(minute(6))
            .iter()
            .map(|e| e.observed)
            .collect::<Vec<_>>(),
        vec![1]
    );
}

#[test]
fn the_next_boundary_is_the_end_of_the_open_bucket() {
    let mut detector = medium();
    assert_eq!(detector.next_boundary(), None, "no time seen yet");
    detector.advance(minute(5) + TimeDelta::seconds(10));
    assert_eq!(detector.next_boundary(), Some(minute(6)));
    detector.observe(minute(6) + TimeDelta::seconds(1));
    detector.advance(minute(9));
    assert_eq!(detector.next_boundary(), Some(minute(10)));
}

#[test]
fn explicit_thresholds_override_the_sensitivity() {
    let strict = Thresholds {
        sigmas: 1.0,
        min_count: 1,
        min_ratio: 1.0,
    };
    let params = DetectorParams::from_sensitivity(
        Duration::from_secs(600),
        Sensitivity::Low,
        Some(strict),
        Duration::ZERO,
    );
    assert_eq!(params.thresholds, strict);
    assert_eq!(
        DetectorParams::from_sensitivity(
            Duration::from_secs(600),
            Sensitivity::Low,
            None,
            Duration::ZERO
        )
        .thresholds,
        Thresholds::for_sensitivity(Sensitivity::Low)
    );
}

#[test]
fn an_explanation_gives_the_observed_expected_and_threshold_numbers() {
    let evaluations = run(&mut medium(), &two_per_minute_then(40.0, 30, 0));
    let surge = with_decision(&evaluations, Decision::Surge)[0];
    let text = surge.explain();
    for number in [
        surge.observed.to_string(),
        format!("{:.1}", surge.baseline),
        format!("{:.1}", surge.threshold),
    ] {
        assert!(text.contains(&number), "{number} in {text}");
    }
    assert!(text.contains("surge"), "{text}");
}

#[test]
fn the_same_input_gives_the_same_evaluations_however_time_is_advanced() {
    let counts = stream(
        280,
        17,
        |m| if (150..170).contains(&m) { 30.0 } else { 2.5 },
    );
    let once = run(&mut medium(), &counts);
    let again = run(&mut medium(), &counts);
    let in_steps_of_seven = run_with(&mut medium(), &counts, 7);
    assert_eq!(once, again);
    assert_eq!(once, in_steps_of_seven);
}

#[test]
fn after_a_quiet_night_the_first_busy_window_of_complaints_is_a_surge_not_a_new_normal() {
    // A trigger on complaint phrases: a few stray matches, then hours of
    // nothing, then the outage.
    let mut detector = medium();
    let before = run(&mut detector, &stream(120, 5, |_| 0.1));
    assert!(before.iter().all(|e| e.decision != Decision::Surge));
    let morning = minute(120) + TimeDelta::hours(10);
    let mut decisions = Vec::new();
    for m in 0..8 {
        for s in 0..20 {
            assert!(detector.observe(morning + TimeDelta::minutes(m) + TimeDelta::seconds(3 * s)));
        }
        decisions.extend(
            detector
                .advance(morning + TimeDelta::minutes(m + 1))
                .into_iter()
                .map(|e| e.decision),
        );
    }
    assert_eq!(
        decisions.iter().filter(|d| **d == Decision::Surge).count(),
        1,
        "{decisions:?}"
    );
}

// ------------------------------------------- hard cases of real streams

const DAY: i64 = 24 * 60;

/// Medium sensitivity, a 10-minute window, fire at once.
fn medium_now() -> BaselineDetector {
    BaselineDetector::new(DetectorParams::from_sensitivity(
        Duration::from_secs(600),
        Sensitivity::Medium,
        None,
        Duration::ZERO,
    ))
}

fn surges_between(evaluations: &[Evaluation], from: i64, to: i64) -> Vec<&Evaluation> {
    with_decision(evaluations, Decision::Surge)
        .into_iter()
        .filter(|e| e.at > minute(from) && e.at <= minute(to))
        .collect()
}

/// Per-minute rate with a day/night rhythm: `day` from 08:00 to 20:00
/// UTC, `night` otherwise, with hour-long ramps between them.
fn day_and_night(day: f64, night: f64) -> impl Fn(i64) -> f64 {
    move |m| {
        let hour = (m % DAY) as f64 / 60.0;
        let daylight = ((hour - 7.5).clamp(0.0, 1.0)).min((20.5 - hour).clamp(0.0, 1.0));
        night + (day - night) * daylight
    }
}

#[test]
fn a_quiet_brand_stays_quiet_on_stray_mentions_and_fires_once_on_an_outage() {
    // About one matching mention every twenty minutes for three days: some
    // windows hold three or four, none is a crisis.
    let outage = 3 * DAY;
    let counts = stream(3 * DAY + 60, 21, |m| {
        if (outage..outage + 30).contains(&m) {
            3.0
        } else {
            0.05
        }
    });
    let evaluations = run(&mut medium_now(), &counts);
    assert!(surges_between(&evaluations, 0, outage).is_empty());
    let fired = surges_between(&evaluations, outage, outage + 60);
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert!(
        fired[0].at <= minute(outage + 6),
        "within minutes: {:?}",
        fired[0]
    );
    assert_eq!(fired[0].bound, Bound::MinCount, "{}", fired[0].explain());
}

#[test]
fn a_day_and_night_rhythm_fires_on_no_morning_after_the_first_day() {
    // Ten times more mentions by day than by night, for five days. The
    // first morning is judged against a single night (nothing else is
    // known yet); every later morning against earlier mornings.
    let counts = stream(5 * DAY, 23, day_and_night(10.0, 1.0));
    let evaluations = run(&mut medium_now(), &counts);
    let later = surges_between(&evaluations, DAY, 5 * DAY);
    assert!(later.is_empty(), "{later:?}");
    let noon = evaluations
        .iter()
        .find(|e| e.at == minute(4 * DAY + 12 * 60))
        .expect("an evaluation at noon");
    let night = evaluations
        .iter()
        .find(|e| e.at == minute(4 * DAY + 3 * 60))
        .expect("an evaluation at 03:00");
    assert!(
        noon.baseline > 2.0 * night.baseline,
        "expected counts follow the time of day: noon {:.1}, night {:.1}",
        noon.baseline,
        night.baseline
    );
}

#[test]
fn an_outage_on_top_of_the_daily_rhythm_fires_once() {
    let outage = 4 * DAY + 14 * 60;
    let base = day_and_night(10.0, 1.0);
    let counts = stream(4 * DAY + 16 * 60, 29, |m| {
        if (outage..outage + 45).contains(&m) {
            base(m) + 60.0
        } else {
            base(m)
        }
    });
    let evaluations = run(&mut medium_now(), &counts);
    assert!(surges_between(&evaluations, DAY, outage).is_empty());
    let fired = surges_between(&evaluations, outage, outage + 120);
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert!(fired[0].at <= minute(outage + 5), "{:?}", fired[0]);
}

#[test]
fn a_level_that_stays_high_for_hours_becomes_the_new_normal_and_the_next_surge_still_fires() {
    // A campaign lifts the brand from 2 to 20 mentions a minute for good.
    let step = DAY;
    let second = DAY + 8 * 60;
    let counts = stream(DAY + 9 * 60, 31, |m| match m {
        _ if m < step => 2.0,
        _ if (second..second + 30).contains(&m) => 120.0,
        _ => 20.0,
    });
    let evaluations = run(&mut medium_now(), &counts);
    let fired = surges_between(&evaluations, step, step + 60);
    assert_eq!(fired.len(), 1, "the step is a surge: {fired:?}");
    let adopted = with_decision(&evaluations, Decision::NewLevel);
    assert_eq!(adopted.len(), 1, "{adopted:?}");
    assert!(
        adopted[0].at <= minute(step + 2 * 60 + 15),
        "not alarmed for more than about two hours: {:?}",
        adopted[0]
    );
    let between: Vec<Decision> = evaluations
        .iter()
        .filter(|e| e.at > adopted[0].at + TimeDelta::minutes(60) && e.at <= minute(second))
        .map(|e| e.decision)
        .collect();
    assert!(
        between.iter().all(|d| *d == Decision::Quiet),
        "20 a minute is normal now: {between:?}"
    );
    let again = surges_between(&evaluations, second, second + 30);
    assert_eq!(again.len(), 1, "not blind after the new level: {again:?}");
}

#[test]
fn a_gap_in_the_stream_is_silence_and_the_first_outage_after_it_fires() {
    // Two days of 2 a minute, then the feed goes silent for nine hours
    // (a night with nothing matching), then an outage.
    let mut detector = medium_now();
    let before = run(&mut detector, &stream(2 * DAY, 37, |_| 2.0));
    assert!(surges_between(&before, 60, 2 * DAY).is_empty());
    let outage = minute(2 * DAY) + TimeDelta::hours(9);
    assert!(
        detector.advance(outage).len() <= 7 * 60,
        "no evaluation per empty minute after dormancy"
    );
    let mut decisions = Vec::new();
    for m in 0..10 {
        for s in 0..30 {
            assert!(detector.observe(outage + TimeDelta::minutes(m) + TimeDelta::seconds(2 * s)));
        }
        decisions.extend(
            detector
                .advance(outage + TimeDelta::minutes(m + 1))
                .into_iter()
                .map(|e| e.decision),
        );
    }
    assert_eq!(
        decisions.iter().filter(|d| **d == Decision::Surge).count(),
        1,
        "{decisions:?}"
    );
}

#[test]
fn a_busy_feed_that_drops_out_and_comes_back_is_neither_a_surge_nor_a_pattern() {
    // Three days of 30 a minute; then the collector is down for two hours
    // (nothing arrives) and the feed comes back at its usual 30 a minute.
    // Zeros in a stream that never goes near zero are a gap in the feed:
    // the level the feed comes back to is its usual one, not a burst.
    let outage = 3 * DAY;
    let mut counts = stream(outage + 8 * 60, 71, |_| 30.0);
    counts[outage as usize..(outage + 120) as usize].fill(0);
    let evaluations = run(&mut medium_now(), &counts);
    let fired = surges_between(&evaluations, DAY, outage + 8 * 60);
    assert!(fired.is_empty(), "{fired:?}");
}

#[test]
fn a_burst_no_bigger_than_the_recent_ones_is_not_a_surge() {
    // Monday at noon a popular post brings 15 minutes of 25 a minute: new,
    // it fires (and nobody resolves an incident for it). On the next days
    // the same post brings 15 a minute: well above the usual ups and downs,
    // but smaller than what this brand had on Monday without a crisis.
    let counts = stream(4 * DAY, 41, |m| {
        let burst = if m < DAY { 25.0 } else { 15.0 };
        if (12 * 60..12 * 60 + 15).contains(&(m % DAY)) {
            burst
        } else {
            2.0
        }
    });
    let evaluations = run(&mut medium_now(), &counts);
    assert_eq!(surges_between(&evaluations, 0, DAY).len(), 1);
    let later = surges_between(&evaluations, DAY, 4 * DAY);
    assert!(later.is_empty(), "{later:?}");
    let noon = evaluations
        .iter()
        .find(|e| e.at == minute(3 * DAY + 12 * 60 + 10))
        .expect("an evaluation during the third day's burst");
    assert!(noon.observed as f64 > noon.band, "{}", noon.explain());
    assert_eq!(noon.bound, Bound::RecentPeak, "{}", noon.explain());
    assert!(noon.explain().contains("busiest"), "{}", noon.explain());
}

#[test]
fn debounce_holds_back_a_second_alarm_until_the_incident_is_resolved() {
    let params = DetectorParams::from_sensitivity(
        Duration::from_secs(600),
        Sensitivity::Low,
        None,
        Duration::ZERO,
    );
    assert_eq!(params.debounce, Duration::from_secs(24 * 3600));
    // Two outages three hours apart; the second is twice the first.
    let counts = |seed| {
        stream(DAY + 6 * 60, seed, |m| match m - DAY {
            0..30 => 40.0,
            180..210 => 80.0,
            _ => 2.0,
        })
    };
    let held = run(&mut BaselineDetector::new(params), &counts(43));
    assert_eq!(surges_between(&held, DAY, DAY + 6 * 60).len(), 1);

    // Resolving the first incident (the engine re-arms) lets the second fire.
    let mut detector = BaselineDetector::new(params);
    let first = run(&mut detector, &counts(43)[..(DAY + 60) as usize]);
    assert_eq!(surges_between(&first, DAY, DAY + 60).len(), 1);
    detector.rearm();
    let rest: Vec<Evaluation> = counts(43)[(DAY + 60) as usize..]
        .iter()
        .enumerate()
        .flat_map(|(i, &count)| {
            let at = minute(DAY + 60 + i as i64);
            for j in 0..count {
                detector.observe(
                    at + TimeDelta::milliseconds(60_000 * i64::from(j) / i64::from(count)),
                );
            }
            detector.advance(at + TimeDelta::minutes(1))
        })
        .collect();
    assert_eq!(surges_between(&rest, DAY + 180, DAY + 6 * 60).len(), 1);
}

/// Feeds mentions one by one and asks for an early alarm after each, as
/// the engine does live; returns when the surge fired.
fn first_alarm(
    detector: &mut BaselineDetector,
    counts: &[u32],
    bucket: i64,
    early: bool,
) -> Timestamp {
    for (b, &count) in counts.iter().enumerate() {
        let begin = minute(b as i64 * bucket);
        for j in 0..count {
            let at =
                begin + TimeDelta::milliseconds(bucket * 60_000 * i64::from(j) / i64::from(count));
            detector.advance(at);
            detector.observe(at);
            if early {
                if let Some(ev) = detector.early(at) {
                    assert_eq!(ev.decision, Decision::Surge);
                    assert!(ev.early);
                    return at;
                }
            }
        }
        let end = begin + TimeDelta::minutes(bucket);
        if let Some(ev) = detector
            .advance(end)
            .into_iter()
            .find(|e| e.decision == Decision::Surge)
        {
            return ev.at;
        }
    }
    panic!("no alarm");
}

#[test]
fn an_early_alarm_fires_inside_the_bucket_and_saves_minutes_on_an_outage() {
    // Five-minute buckets (as in the NAB series), a 15-minute window: a
    // day of 10 a bucket, then an outage at 200 a bucket.
    let params = DetectorParams {
        bucket: Duration::from_secs(300),
        ..DetectorParams::from_sensitivity(
            Duration::from_secs(900),
            Sensitivity::Medium,
            None,
            Duration::ZERO,
        )
    };
    let day = 288;
    let counts = stream(day + 6, 47, |b| if b >= day { 200.0 } else { 10.0 });
    let outage = minute(day * 5);
    let at_close = first_alarm(&mut BaselineDetector::new(params), &counts, 5, false);
    let early = first_alarm(&mut BaselineDetector::new(params), &counts, 5, true);
    let saved = (at_close - early).num_seconds() as f64 / 60.0;
    println!(
        "outage at {outage}: alarm at the bucket's close {at_close}, early alarm {early}: {saved:.1} minutes saved"
    );
    assert!(early >= outage && early < at_close);
    assert!(saved >= 2.0, "{saved:.1} minutes saved");
}

#[test]
fn an_early_alarm_is_not_repeated_when_its_bucket_closes() {
    let mut detector = medium_now();
    let counts = two_per_minute_then(40.0, 30, 10);
    let mut decisions = Vec::new();
    for (m, &count) in counts.iter().enumerate() {
        let begin = minute(m as i64);
        for j in 0..count {
            let at = begin + TimeDelta::milliseconds(60_000 * i64::from(j) / i64::from(count));
            decisions.extend(detector.advance(at).into_iter().map(|e| e.decision));
            detector.observe(at);
            decisions.extend(detector.early(at).map(|e| e.decision));
        }
    }
    decisions.extend(
        detector
            .advance(minute(counts.len() as i64))
            .into_iter()
            .map(|e| e.decision),
    );
    assert_eq!(
        decisions.iter().filter(|d| **d == Decision::Surge).count(),
        1
    );
    assert_eq!(
        decisions
            .iter()
            .filter(|d| **d == Decision::Subsided)
            .count(),
        1
    );
}

#[test]
fn memory_per_trigger_is_bounded_by_the_history() {
    let mut detector = medium_now();
    run(
        &mut detector,
        &stream(6 * DAY, 53, day_and_night(10.0, 1.0)),
    );
    let bytes = detector.memory_bytes();
    println!("memory of one trigger after six days of one-minute buckets: {bytes} bytes");
    assert!(bytes < 128 * 1024, "{bytes} bytes");
}

/// Five mentions a minute for three days, then, for six hours, a burst of
/// `burst` mentions in one minute every twenty minutes (or bursts all along
/// with `always`). Each burst is five times the level, but a ten-minute
/// window holding one is far below the volume threshold.
fn bursts_every_twenty_minutes(burst: u32, always: bool) -> (Vec<u32>, i64) {
    let change = 3 * DAY;
    let mut counts = stream(change + 6 * 60, 61, |_| 5.0);
    for (m, count) in counts.iter_mut().enumerate() {
        let m = m as i64;
        if (always || m >= change) && m % 20 == 10 {
            *count = burst;
        }
    }
    (counts, change)
}

#[test]
fn a_change_of_pattern_to_frequent_short_bursts_fires_once_and_says_so() {
    let (counts, change) = bursts_every_twenty_minutes(25, false);
    let evaluations = run(&mut medium_now(), &counts);
    assert!(
        surges_between(&evaluations, 0, change).is_empty(),
        "{:?}",
        surges_between(&evaluations, 0, change)
    );
    // Six hours of bursts, hourly debounce: still one alarm for one pattern.
    let fired = surges_between(&evaluations, change, change + 6 * 60);
    assert_eq!(fired.len(), 1, "{fired:?}");
    let alarm = fired[0];
    assert_eq!(alarm.bound, Bound::Bursts, "{}", alarm.explain());
    // The third burst (minute 50 of the change) is the first that can fire.
    assert!(
        alarm.at <= minute(change + 51),
        "after three bursts: {:?}",
        alarm
    );
    assert!(
        (alarm.observed as f64) < alarm.threshold,
        "not a surge in volume"
    );
    let bursts = alarm.bursts.expect("the burst counts");
    assert!(bursts.recent >= 3 && bursts.usual < 0.5, "{bursts:?}");
    assert_eq!(bursts.span, Duration::from_secs(8 * 3600));
    let text = alarm.explain();
    assert!(
        text.contains("change of pattern") && text.contains("short bursts in the last 8h"),
        "{text}"
    );
}

#[test]
fn the_end_of_a_change_of_pattern_is_said_once_so_an_incident_can_resolve_itself() {
    // Six hours of bursts, then twelve ordinary hours: the burst count of
    // the last eight hours falls back, and the detector says the pattern is
    // over, once (an incident with `auto_resolve` waits for this).
    let (mut counts, change) = bursts_every_twenty_minutes(25, false);
    counts.extend(stream(12 * 60, 62, |_| 5.0));
    let evaluations = run(&mut medium_now(), &counts);
    let over = with_decision(&evaluations, Decision::Subsided);
    assert_eq!(over.len(), 1, "{over:?}");
    let end = over[0];
    assert!(
        end.at > minute(change + 6 * 60) && end.at <= minute(change + 6 * 60 + 8 * 60 + 1),
        "once the last bursts leave the eight hours: {}",
        end.at
    );
    assert_eq!(end.bound, Bound::Bursts);
    let text = end.explain();
    assert!(text.contains("the change of pattern is over"), "{text}");
    let fired = with_decision(&evaluations, Decision::Surge);
    assert_eq!(fired.len(), 1, "one alarm for one pattern: {fired:?}");
}

#[test]
fn bursts_the_brand_always_has_are_not_a_change_of_pattern() {
    let (counts, change) = bursts_every_twenty_minutes(25, true);
    let evaluations = run(&mut medium_now(), &counts);
    let fired = surges_between(&evaluations, DAY, change + 6 * 60);
    assert!(fired.is_empty(), "{fired:?}");
}

#[test]
fn burst_sigmas_zero_turns_the_change_of_pattern_off() {
    let (counts, change) = bursts_every_twenty_minutes(25, false);
    let mut detector = BaselineDetector::new(DetectorParams {
        burst_sigmas: 0.0,
        ..*medium_now().params()
    });
    let evaluations = run(&mut detector, &counts);
    let fired = surges_between(&evaluations, 0, change + 6 * 60);
    assert!(fired.is_empty(), "{fired:?}");
}

#[test]
fn a_few_stray_mentions_on_a_quiet_brand_are_no_pattern_even_if_they_come_in_threes() {
    // About one mention every twenty minutes for three days, then three
    // minutes of four mentions within an hour: bursts against a level of
    // zero, never seen before, but twelve mentions are below min_count.
    let change = 3 * DAY;
    let mut counts = stream(change + 120, 23, |_| 0.05);
    for m in [change + 10, change + 30, change + 50] {
        counts[m as usize] = 4;
    }
    let evaluations = run(&mut medium_now(), &counts);
    let fired = surges_between(&evaluations, 0, change + 120);
    assert!(fired.is_empty(), "{fired:?}");
}
