//! Detection, specified on deterministic synthetic streams: keyword matching
//! in any language, keyword counting, and the Poisson surge detector.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use squall::detect::keyword::KeywordCounter;
use squall::detect::matcher::Matcher;
use squall::detect::poisson::{DetectorParams, PoissonDetector};
use squall::detect::{Decision, Evaluation, SurgeDetector};
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

// ---------------------------------------------------------------- matcher

fn strings(phrases: &[&str]) -> Vec<String> {
    phrases.iter().map(|p| p.to_string()).collect()
}

/// Whether a matcher with these `any` phrases matches `text`.
fn check(text: &str, any: &[&str], expected: bool) {
    let matcher = Matcher::new(strings(any), vec![], vec![]);
    assert_eq!(matcher.matches(text), expected, "any {any:?} in {text:?}");
}

#[test]
fn english_phrases_match_whole_words_in_any_case() {
    check("site is DOWN again", &["down"], true);
    check("Down! since 9am", &["down"], true);
    check("#down #acme", &["down"], true);
    check("is it down?", &["down"], true);
    check("ＤＯＷＮ again", &["down"], true);
    check("can't download the update", &["down"], false);
    check("full breakdown of fees", &["down"], false);
    check("sundown", &["down"], false);
    check("the app is not\n  working", &["not working"], true);
    check("the app is not-working", &["not working"], false);
    check("nothing works", &["not working"], false);
}

#[test]
fn polish_phrases_match_inflections_with_a_trailing_wildcard() {
    check("Strona NIE DZIAŁA od rana", &["nie działa"], true);
    check("aplikacja nie działają", &["nie działa"], false);
    check("aplikacja nie działają", &["nie działa*"], true);
    check("przelewy nie działać", &["działa*"], true);
    check("wszystko działa", &["awari*"], false);
    check("znowu awaria!", &["awari*"], true);
    check("poważna awarią", &["awari*"], true);
    check("nie dziala", &["nie działa"], false);
}

#[test]
fn hebrew_phrases_match_with_or_without_niqqud() {
    check("האתר לא עובד שוב", &["לא עובד"], true);
    check("הָאֲתָר לֹא עוֹבֵד", &["לא עובד"], true);
    check("האתר לא עובד", &["לֹא עוֹבֵד"], true);
    check("הכל עובד", &["לא עובד"], false);
    check("האתר נפל!", &["נפל"], true);
    check("הנפלא", &["נפל"], false);
}

#[test]
fn russian_phrases_match_case_insensitively_with_inflections() {
    check("Сайт НЕ РАБОТАЕТ", &["не работает"], true);
    check("приложение не работают", &["не работает"], false);
    check("приложение не работают", &["не работа*"], true);
    check("опять всё упало", &["упал*"], true);
    check("выпало окно", &["упал*"], false);
}

#[test]
fn japanese_phrases_match_inside_longer_runs_of_text() {
    check("サイト落ちてる?", &["落ちて"], true);
    check("サーバーが落ちてますか", &["落ちて"], true);
    check("ｻｲﾄ落ちてる", &["サイト"], true);
    check("ログインできない", &["ログイン できない"], true);
    check("ログインできた", &["ログインできない"], false);
    check("サイトdown?", &["down"], true);
}

#[test]
fn other_unspaced_and_agglutinative_scripts_match_as_substrings() {
    check("网站打不开了", &["打不开"], true);
    check("서버가 안 돼요", &["서버"], true);
    check("เว็บล่มอีกแล้ว", &["ล่ม"], true);
}

#[test]
fn all_and_none_constrain_the_match() {
    let matcher = Matcher::new(
        strings(&["down", "nie działa*"]),
        strings(&["app"]),
        strings(&["download", "scheduled maintenance"]),
    );
    let cases = [
        ("the app is down", true),
        ("aplikacja (app) nie działają", true),
        ("the site is down", false),
        ("the app is down, download it later", false),
        ("app down during scheduled   maintenance", false),
    ];
    for (text, expected) in cases {
        assert_eq!(matcher.matches(text), expected, "{text}");
    }
}

#[test]
fn an_empty_matcher_matches_everything() {
    let matcher = Matcher::everything();
    assert!(matcher.is_everything());
    assert!(matcher.matches("anything at all"));
    assert!(!Matcher::new(strings(&["down"]), vec![], vec![]).is_everything());
}

// -------------------------------------------------------- keyword counter

#[test]
fn the_keyword_counter_fires_when_the_window_reaches_min_mentions() {
    let mut counter = KeywordCounter::new(3, Duration::from_secs(600));
    let fired: Vec<bool> = [0, 4, 8].map(|m| counter.observe(minute(m))).to_vec();
    assert_eq!(fired, vec![false, false, true]);
}

#[test]
fn mentions_spread_wider_than_the_window_never_fire() {
    let mut counter = KeywordCounter::new(3, Duration::from_secs(600));
    let fired = [0, 6, 12, 18, 24]
        .into_iter()
        .any(|m| counter.observe(minute(m)));
    assert!(!fired);
}

#[test]
fn a_burst_fires_once() {
    let mut counter = KeywordCounter::new(5, Duration::from_secs(600));
    let fired = (0..50)
        .filter(|&s| counter.observe(minute(0) + TimeDelta::seconds(s)))
        .count();
    assert_eq!(fired, 1);
}

#[test]
fn a_steady_stream_above_half_of_min_does_not_fire_again() {
    let mut counter = KeywordCounter::new(4, Duration::from_secs(600));
    let fired = (0..120).filter(|&m| counter.observe(minute(m))).count();
    assert_eq!(fired, 1);
}

#[test]
fn the_counter_rearms_once_the_window_has_drained_below_half_of_min() {
    let mut counter = KeywordCounter::new(4, Duration::from_secs(600));
    let burst = |counter: &mut KeywordCounter, at: i64| {
        (0..6)
            .filter(|&s| counter.observe(minute(at) + TimeDelta::seconds(s)))
            .count()
    };
    assert_eq!(burst(&mut counter, 0), 1);
    assert_eq!(
        burst(&mut counter, 5),
        0,
        "the window still holds the first burst"
    );
    assert_eq!(
        burst(&mut counter, 30),
        1,
        "the window was empty before the second burst"
    );
}

#[test]
fn a_late_mention_counts_only_if_it_is_inside_the_window() {
    let mut counter = KeywordCounter::new(2, Duration::from_secs(600));
    assert!(!counter.observe(minute(30)));
    assert!(
        !counter.observe(minute(15)),
        "older than the window: ignored"
    );
    assert!(counter.observe(minute(25)), "inside the window: counts");
}

// ------------------------------------------------------- surge detector

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
    detector: &mut PoissonDetector,
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

fn run(detector: &mut PoissonDetector, counts: &[u32]) -> Vec<Evaluation> {
    run_with(detector, counts, 1)
}

/// Medium sensitivity, a 10-minute window, `for: 5m`.
fn medium() -> PoissonDetector {
    PoissonDetector::new(DetectorParams::from_sensitivity(
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
    assert!(
        fired <= jump + TimeDelta::minutes(7),
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
    let mut detector = PoissonDetector::new(DetectorParams::from_sensitivity(
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
    let mut detector = PoissonDetector::new(DetectorParams::from_sensitivity(
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
    assert!(
        last.baseline > 40.0,
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
