//! Detection, specified on deterministic examples: keyword matching in any
//! language and keyword counting. The surge detector is specified in
//! `tests/surge.rs`.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use squall::detect::keyword::KeywordCounter;
use squall::detect::matcher::Matcher;
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
