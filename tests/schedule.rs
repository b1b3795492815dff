//! Schedules as comms teams write them: weekly hours, holidays, exceptions and
//! cron pairs in an IANA time zone, read in UTC and right across
//! daylight-saving changes.

use proptest::prelude::*;
use squall::clock::Timestamp;
use squall::config::schedule::{Interval, RawSchedule, Schedule, ScheduleProblem};
use std::time::{Duration, Instant};

fn raw(yaml: &str) -> RawSchedule {
    serde_yaml::from_str(yaml).unwrap_or_else(|e| panic!("bad test YAML: {e}\n{yaml}"))
}

fn schedule(yaml: &str) -> Schedule {
    Schedule::build("support-hours", &raw(yaml)).unwrap_or_else(|problems| panic!("{problems:#?}"))
}

fn problems(yaml: &str) -> Vec<ScheduleProblem> {
    match Schedule::build("support-hours", &raw(yaml)) {
        Ok(_) => panic!("expected problems in\n{yaml}"),
        Err(problems) => problems,
    }
}

fn utc(text: &str) -> Timestamp {
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// Checks `is_open` at each `(instant, expected)`.
fn assert_openness(schedule: &Schedule, cases: &[(&str, bool)]) {
    for (at, expected) in cases {
        assert_eq!(schedule.is_open(utc(at)), *expected, "is_open at {at}");
    }
}

const WARSAW_OFFICE: &str = r#"
timezone: Europe/Warsaw
weekly:
  mon-fri: ["09:00-17:00"]
  sat: ["10:00-13:00", "14:00-16:00"]
holidays: [2026-12-25, 2026-12-26]
exceptions:
  - {date: 2026-12-24, hours: ["09:00-12:00"]}
  - {date: 2026-12-31, closed: true}
"#;

// January in Warsaw is CET, UTC+1: local 09:00 is 08:00Z.

#[test]
fn weekly_hours_are_open_inside_and_closed_outside_their_spans() {
    assert_openness(
        &schedule(WARSAW_OFFICE),
        &[
            ("2026-01-05T07:59:59Z", false), // Mon 08:59:59
            ("2026-01-05T08:00:00Z", true),  // Mon 09:00, start is inclusive
            ("2026-01-05T15:59:59Z", true),
            ("2026-01-05T16:00:00Z", false), // Mon 17:00, end is exclusive
            ("2026-01-09T12:00:00Z", true),  // Fri
            ("2026-01-11T10:00:00Z", false), // Sun, not listed
        ],
    );
}

#[test]
fn split_shifts_close_between_their_spans() {
    assert_openness(
        &schedule(WARSAW_OFFICE),
        &[
            ("2026-01-10T09:30:00Z", true),  // Sat 10:30
            ("2026-01-10T12:30:00Z", false), // Sat 13:30, lunch
            ("2026-01-10T13:00:00Z", true),  // Sat 14:00
            ("2026-01-10T15:00:00Z", false), // Sat 16:00
        ],
    );
}

#[test]
fn an_overnight_span_runs_from_its_own_day_into_the_next() {
    let night_desk = schedule(
        r#"
timezone: Europe/Warsaw
weekly:
  fri: ["22:00-06:00"]
"#,
    );
    assert_openness(
        &night_desk,
        &[
            ("2026-01-09T20:59:00Z", false), // Fri 21:59
            ("2026-01-09T21:00:00Z", true),  // Fri 22:00
            ("2026-01-10T04:59:00Z", true),  // Sat 05:59
            ("2026-01-10T05:00:00Z", false), // Sat 06:00
            ("2026-01-08T23:00:00Z", false), // Fri 00:00: the span belongs to Friday evening
        ],
    );
    assert_eq!(
        night_desk.next_close(utc("2026-01-09T23:00:00Z")),
        Some(utc("2026-01-10T05:00:00Z"))
    );
}

#[test]
fn a_whole_day_span_runs_midnight_to_midnight_and_consecutive_days_merge() {
    let always = schedule(
        r#"
timezone: Europe/Warsaw
weekly:
  sat,sun: ["00:00-24:00"]
"#,
    );
    // Open from Sat 00:00 to Mon 00:00 local without a break at Sunday midnight.
    assert_eq!(
        always.next_change(utc("2026-01-10T12:00:00Z")),
        Some(utc("2026-01-11T23:00:00Z"))
    );
    assert_eq!(
        always.next_open(utc("2026-01-07T12:00:00Z")),
        Some(utc("2026-01-09T23:00:00Z"))
    );
}

#[test]
fn holidays_and_exceptions_replace_the_weekly_hours_of_their_date() {
    assert_openness(
        &schedule(WARSAW_OFFICE),
        &[
            ("2026-12-25T10:00:00Z", false), // Fri, holiday
            ("2026-12-24T10:00:00Z", true),  // Thu 11:00, special hours 09-12
            ("2026-12-24T11:00:00Z", false), // Thu 12:00, closed early
            ("2026-12-31T10:00:00Z", false), // Thu, closed by exception
            ("2026-12-30T10:00:00Z", true),  // Wed, regular
        ],
    );
}

#[test]
fn next_open_finds_the_first_opening_across_weekends_and_holidays() {
    let office = schedule(WARSAW_OFFICE);
    let cases = [
        // Sat 16:30 → Mon 09:00 CET.
        ("2026-01-10T15:30:00Z", "2026-01-12T08:00:00Z"),
        // Thu 24 Dec 13:00 → skips Fri 25 and Sat 26 (holidays) → Mon 28 Dec.
        ("2026-12-24T12:00:00Z", "2026-12-28T08:00:00Z"),
        // Already open: now.
        ("2026-01-05T10:00:00Z", "2026-01-05T10:00:00Z"),
    ];
    for (at, expected) in cases {
        assert_eq!(
            office.next_open(utc(at)),
            Some(utc(expected)),
            "next_open at {at}"
        );
    }
}

#[test]
fn next_change_is_strictly_after_the_given_instant() {
    let office = schedule(WARSAW_OFFICE);
    let cases = [
        ("2026-01-05T08:00:00Z", "2026-01-05T16:00:00Z"), // at opening → its close
        ("2026-01-05T16:00:00Z", "2026-01-06T08:00:00Z"), // at closing → next opening
        ("2026-01-10T12:00:00Z", "2026-01-10T13:00:00Z"), // Sat lunch → afternoon shift
    ];
    for (at, expected) in cases {
        assert_eq!(
            office.next_change(utc(at)),
            Some(utc(expected)),
            "next_change at {at}"
        );
    }
}

const WARSAW_EVERY_DAY: &str = r#"
timezone: Europe/Warsaw
weekly:
  mon-sun: ["09:00-17:00"]
"#;

fn open_hours(intervals: &[Interval]) -> Vec<(Timestamp, i64)> {
    intervals
        .iter()
        .filter(|i| i.open)
        .map(|i| (i.start, (i.end - i.start).num_minutes()))
        .collect()
}

#[test]
fn on_the_spring_forward_day_nine_to_five_is_still_eight_local_hours() {
    // Sunday 29 March 2026: 02:00 CET becomes 03:00 CEST.
    let every_day = schedule(WARSAW_EVERY_DAY);
    let intervals = every_day.intervals(utc("2026-03-28T00:00:00Z"), utc("2026-03-30T00:00:00Z"));
    assert_eq!(
        open_hours(&intervals),
        vec![
            (utc("2026-03-28T08:00:00Z"), 8 * 60), // Sat, CET (UTC+1)
            (utc("2026-03-29T07:00:00Z"), 8 * 60), // Sun, CEST (UTC+2)
        ]
    );
}

#[test]
fn on_the_fall_back_day_nine_to_five_is_still_eight_local_hours() {
    // Sunday 25 October 2026: 03:00 CEST becomes 02:00 CET.
    let every_day = schedule(WARSAW_EVERY_DAY);
    let intervals = every_day.intervals(utc("2026-10-24T00:00:00Z"), utc("2026-10-26T00:00:00Z"));
    assert_eq!(
        intervals,
        vec![
            Interval {
                start: utc("2026-10-24T00:00:00Z"),
                end: utc("2026-10-24T07:00:00Z"),
                open: false
            },
            Interval {
                start: utc("2026-10-24T07:00:00Z"),
                end: utc("2026-10-24T15:00:00Z"),
                open: true
            },
            Interval {
                start: utc("2026-10-24T15:00:00Z"),
                end: utc("2026-10-25T08:00:00Z"),
                open: false
            },
            Interval {
                start: utc("2026-10-25T08:00:00Z"),
                end: utc("2026-10-25T16:00:00Z"),
                open: true
            },
            Interval {
                start: utc("2026-10-25T16:00:00Z"),
                end: utc("2026-10-26T00:00:00Z"),
                open: false
            },
        ]
    );
}

#[test]
fn a_span_starting_in_the_skipped_hour_starts_when_the_clocks_resume() {
    let early = schedule(
        r#"
timezone: Europe/Warsaw
weekly:
  sun: ["02:30-05:00"]
"#,
    );
    // 02:30 never happens on 29 March; 03:00 CEST (01:00Z) is the first instant after.
    let intervals = early.intervals(utc("2026-03-28T12:00:00Z"), utc("2026-03-29T12:00:00Z"));
    assert_eq!(
        open_hours(&intervals),
        vec![(utc("2026-03-29T01:00:00Z"), 2 * 60)]
    );
    // A week earlier it is the ordinary 02:30 CET.
    assert_eq!(
        early.next_open(utc("2026-03-21T12:00:00Z")),
        Some(utc("2026-03-22T01:30:00Z"))
    );
}

#[test]
fn an_ambiguous_local_time_means_its_earlier_instant() {
    let early = schedule(
        r#"
timezone: Europe/Warsaw
weekly:
  sun: ["02:30-04:00"]
"#,
    );
    // 02:30 happens twice on 25 October; the first is 02:30 CEST = 00:30Z.
    // 04:00 CET = 03:00Z.
    let intervals = early.intervals(utc("2026-10-24T12:00:00Z"), utc("2026-10-25T12:00:00Z"));
    assert_eq!(
        open_hours(&intervals),
        vec![(utc("2026-10-25T00:30:00Z"), 150)]
    );
}

#[test]
fn an_overnight_span_over_the_switch_is_one_hour_shorter_in_spring() {
    let night = schedule(
        r#"
timezone: Europe/Warsaw
weekly:
  sat: ["22:00-06:00"]
"#,
    );
    let intervals = night.intervals(utc("2026-03-28T12:00:00Z"), utc("2026-03-29T12:00:00Z"));
    // Sat 22:00 CET (21:00Z) to Sun 06:00 CEST (04:00Z): 7 hours of real time.
    assert_eq!(
        open_hours(&intervals),
        vec![(utc("2026-03-28T21:00:00Z"), 7 * 60)]
    );
}

#[test]
fn new_york_hours_follow_eastern_daylight_time() {
    let new_york = schedule(
        r#"
timezone: America/New_York
weekly:
  mon-fri: ["09:00-17:00"]
"#,
    );
    // DST starts Sunday 8 March 2026: EST (UTC-5) before, EDT (UTC-4) after.
    assert_eq!(
        new_york.next_close(utc("2026-03-06T15:00:00Z")),
        Some(utc("2026-03-06T22:00:00Z"))
    );
    assert_eq!(
        new_york.next_open(utc("2026-03-06T23:00:00Z")),
        Some(utc("2026-03-09T13:00:00Z"))
    );
    assert_eq!(
        new_york
            .describe_next_open(utc("2026-03-06T23:00:00Z"), "en")
            .as_deref(),
        Some("on Monday at 9:00 EDT")
    );
}

#[test]
fn tokyo_hours_have_no_daylight_saving_at_all() {
    let tokyo = schedule(
        r#"
timezone: Asia/Tokyo
weekly:
  mon-fri: ["09:00-18:00"]
"#,
    );
    // JST is UTC+9 all year: Monday 09:00 is Sunday 00:00Z, in winter and summer.
    assert_openness(
        &tokyo,
        &[
            ("2026-01-04T23:59:59Z", false),
            ("2026-01-05T00:00:00Z", true),
            ("2026-07-06T00:00:00Z", true),
            ("2026-07-06T09:00:00Z", false),
        ],
    );
    assert_eq!(
        tokyo
            .describe_next_open(utc("2026-01-05T10:00:00Z"), "ja")
            .as_deref(),
        Some("明日9:00 (JST)")
    );
}

const WARSAW_CRON: &str = r#"
timezone: Europe/Warsaw
open_cron: "0 0 9 * * Mon-Fri"
close_cron: "0 0 17 * * Mon-Fri"
"#;

#[test]
fn a_cron_pair_is_open_from_each_opening_to_the_next_closing() {
    let cron = schedule(WARSAW_CRON);
    assert_openness(
        &cron,
        &[
            ("2026-01-05T07:59:59Z", false),
            ("2026-01-05T08:00:00Z", true),
            ("2026-01-05T15:59:59Z", true),
            ("2026-01-05T16:00:00Z", false),
            ("2026-01-10T10:00:00Z", false),
        ],
    );
    assert_eq!(
        cron.next_open(utc("2026-01-09T17:00:00Z")),
        Some(utc("2026-01-12T08:00:00Z"))
    );
    assert_eq!(
        cron.next_close(utc("2026-01-12T09:00:00Z")),
        Some(utc("2026-01-12T16:00:00Z"))
    );
}

#[test]
fn a_cron_pair_agrees_with_the_same_weekly_hours_hour_by_hour_across_a_switch() {
    let cron = schedule(WARSAW_CRON);
    let weekly = schedule(
        r#"
timezone: Europe/Warsaw
weekly:
  mon-fri: ["09:00-17:00"]
"#,
    );
    let from = utc("2026-03-20T00:00:00Z");
    let to = utc("2026-04-06T00:00:00Z");
    assert_eq!(cron.intervals(from, to), weekly.intervals(from, to));
}

#[test]
fn holidays_close_a_cron_schedule_for_the_whole_local_day() {
    let cron = schedule(&format!("{WARSAW_CRON}holidays: [2026-12-25]\nexceptions:\n  - {{date: 2026-12-24, hours: [\"09:00-12:00\"]}}\n"));
    assert_openness(
        &cron,
        &[
            ("2026-12-25T10:00:00Z", false),
            ("2026-12-24T10:00:00Z", true),
            ("2026-12-24T12:00:00Z", false),
            ("2026-12-23T12:00:00Z", true),
        ],
    );
    assert_eq!(
        cron.next_open(utc("2026-12-24T12:00:00Z")),
        Some(utc("2026-12-28T08:00:00Z"))
    );
}

#[test]
fn customers_read_when_people_are_back_in_their_own_language() {
    let office = schedule(
        r#"
timezone: Europe/Warsaw
weekly:
  mon-fri: ["09:00-17:00"]
holidays: [2026-12-21, 2026-12-22, 2026-12-23, 2026-12-24, 2026-12-25]
"#,
    );
    let now = "2026-01-05T10:00:00Z"; // Mon 11:00, open
    let early = "2026-01-05T06:00:00Z"; // Mon 07:00
    let evening = "2026-01-05T17:00:00Z"; // Mon 18:00
    let friday = "2026-01-09T17:00:00Z"; // Fri 18:00
    let christmas = "2026-12-18T17:00:00Z"; // Fri 18 Dec 18:00, closed until Mon 28 Dec
    let cases = [
        ("en", now, "now"),
        ("en", early, "today at 9:00 CET"),
        ("en", evening, "tomorrow at 9:00 CET"),
        ("en", friday, "on Monday at 9:00 CET"),
        ("en", christmas, "on 28 December at 9:00 CET"),
        ("pl", now, "teraz"),
        ("pl", early, "dziś o 9:00 CET"),
        ("pl", evening, "jutro o 9:00 CET"),
        ("pl", friday, "w poniedziałek o 9:00 CET"),
        ("pl", christmas, "28 grudnia o 9:00 CET"),
        ("ru", now, "сейчас"),
        ("ru", early, "сегодня в 9:00 CET"),
        ("ru", evening, "завтра в 9:00 CET"),
        ("ru", friday, "в понедельник в 9:00 CET"),
        ("ru", christmas, "28 декабря в 9:00 CET"),
        ("ja", now, "現在対応中"),
        ("ja", early, "本日9:00 (CET)"),
        ("ja", evening, "明日9:00 (CET)"),
        ("ja", friday, "月曜日9:00 (CET)"),
        ("ja", christmas, "12月28日9:00 (CET)"),
        ("he", now, "עכשיו"),
        ("he", early, "היום ב-9:00 CET"),
        ("he", evening, "מחר ב-9:00 CET"),
        ("he", friday, "ביום שני ב-9:00 CET"),
        ("he", christmas, "ב-28 בדצמבר ב-9:00 CET"),
        ("de", friday, "on Monday at 9:00 CET"),
        ("pl-PL", evening, "jutro o 9:00 CET"),
    ];
    for (lang, at, expected) in cases {
        assert_eq!(
            office.describe_next_open(utc(at), lang).as_deref(),
            Some(expected),
            "{lang} at {at}"
        );
    }
}

#[test]
fn weekday_names_take_their_grammatical_forms() {
    let tuesdays = schedule(
        r#"
timezone: Europe/Warsaw
weekly:
  tue: ["09:30-17:00"]
"#,
    );
    let saturday = utc("2026-01-10T12:00:00Z");
    let cases = [
        ("pl", "we wtorek o 9:30 CET"),
        ("ru", "во вторник в 9:30 CET"),
        ("he", "ביום שלישי ב-9:30 CET"),
    ];
    for (lang, expected) in cases {
        assert_eq!(
            tuesdays.describe_next_open(saturday, lang).as_deref(),
            Some(expected),
            "{lang}"
        );
    }
}

#[test]
fn a_zone_with_only_a_numeric_abbreviation_reads_as_a_utc_offset() {
    let istanbul = schedule(
        r#"
timezone: Europe/Istanbul
weekly:
  mon-fri: ["09:00-18:00"]
"#,
    );
    // Istanbul is +03 all year: Monday 05:00 local.
    assert_eq!(
        istanbul
            .describe_next_open(utc("2026-01-05T02:00:00Z"), "en")
            .as_deref(),
        Some("today at 9:00 UTC+3")
    );
}

#[test]
fn a_schedule_without_hours_never_opens_and_says_so_quickly() {
    let never = schedule("timezone: Europe/Warsaw\n");
    let started = Instant::now();
    let at = utc("2026-01-05T10:00:00Z");
    assert!(!never.is_open(at));
    assert_eq!(never.next_open(at), None);
    assert_eq!(never.next_change(at), None);
    assert_eq!(never.describe_next_open(at, "en"), None);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(never.describe(), "never open (Europe/Warsaw)");
}

#[test]
fn a_cron_pair_that_never_fires_again_never_opens() {
    let over = schedule(
        r#"
timezone: Europe/Warsaw
open_cron: "0 0 9 * * * 2020"
close_cron: "0 0 17 * * * 2020"
"#,
    );
    assert_eq!(over.next_open(utc("2026-01-05T10:00:00Z")), None);
}

#[test]
fn an_exception_can_open_a_schedule_that_otherwise_never_opens() {
    let one_day = schedule(
        r#"
timezone: Europe/Warsaw
exceptions:
  - {date: 2026-02-14, hours: ["10:00-14:00"]}
"#,
    );
    assert_eq!(
        one_day.next_open(utc("2026-01-05T10:00:00Z")),
        Some(utc("2026-02-14T09:00:00Z"))
    );
    assert_eq!(
        one_day.describe(),
        "no regular hours; 1 date with special hours (Europe/Warsaw)"
    );
}

#[test]
fn the_summary_groups_consecutive_days_with_equal_hours() {
    assert_eq!(
        schedule(WARSAW_OFFICE).describe(),
        "Mon–Fri 09:00–17:00, Sat 10:00–13:00 and 14:00–16:00; 3 closed dates, 1 date with special hours (Europe/Warsaw)"
    );
    assert_eq!(
        schedule("timezone: Asia/Tokyo\nweekly: {sat: [\"00:00-24:00\"], sun: [\"00:00-24:00\"], wed: [\"22:00-06:00\"]}\n")
            .to_string(),
        "Wed 22:00–06:00, Sat–Sun all day (Asia/Tokyo)"
    );
    assert_eq!(
        schedule(WARSAW_CRON).describe(),
        "opens at cron `0 0 9 * * Mon-Fri`, closes at cron `0 0 17 * * Mon-Fri` (Europe/Warsaw)"
    );
}

/// One validation case: YAML, the path of the expected problem, and words
/// its message and hint must contain.
struct Invalid {
    yaml: &'static str,
    path: &'static [&'static str],
    message: &'static str,
    hint: &'static str,
}

#[test]
fn every_kind_of_mistake_is_reported_at_its_path_with_a_hint() {
    let cases = [
        Invalid {
            yaml: "timezone: Europe/Warsw\n",
            path: &["timezone"],
            message: "not a known IANA time zone",
            hint: "`Europe/Warsaw`",
        },
        Invalid { yaml: "timezone: Warsaw\n", path: &["timezone"], message: "`Warsaw`", hint: "`Europe/Warsaw`" },
        Invalid {
            yaml: "timezone: europe/warsaw\n",
            path: &["timezone"],
            message: "not a known IANA time zone",
            hint: "did you mean `Europe/Warsaw`? (letter case matters)",
        },
        Invalid {
            yaml: "timezone: Nowhere/Atlantis\n",
            path: &["timezone"],
            message: "not a known IANA time zone",
            hint: "IANA names like Europe/Warsaw",
        },
        Invalid {
            yaml: "timezone: UTC\nweekly: {mon-fry: [\"09:00-17:00\"]}\n",
            path: &["weekly", "mon-fry"],
            message: "not a day",
            hint: "ranges like mon-fri",
        },
        Invalid {
            yaml: "timezone: UTC\nweekly: {mon-fri: [\"9-17\"]}\n",
            path: &["weekly", "mon-fri", "0"],
            message: "`9-17` is not a span",
            hint: "HH:MM-HH:MM",
        },
        Invalid {
            yaml: "timezone: UTC\nweekly: {mon-fri: [\"08:00-12:00\", \"09:00-09:00\"]}\n",
            path: &["weekly", "mon-fri", "1"],
            message: "is empty",
            hint: "00:00-24:00",
        },
        Invalid {
            yaml: "timezone: UTC\nweekly: {sat: [\"09:75-17:00\"]}\n",
            path: &["weekly", "sat", "0"],
            message: "minutes above 59",
            hint: "00 to 59",
        },
        Invalid {
            yaml: "timezone: UTC\nweekly: {sat: [\"25:00-26:00\"]}\n",
            path: &["weekly", "sat", "0"],
            message: "hour above 23",
            hint: "00:00-24:00",
        },
        Invalid {
            yaml: "timezone: UTC\nweekly: {mon-fri: [\"09:00-13:00\", \"12:00-17:00\"]}\n",
            path: &["weekly", "mon-fri", "1"],
            message: "`12:00–17:00` overlaps `09:00–13:00` on Mon, Tue, Wed, Thu, Fri",
            hint: "merge them",
        },
        Invalid {
            yaml: "timezone: UTC\nweekly: {mon-fri: [\"09:00-17:00\"], fri: [\"16:00-18:00\"]}\n",
            path: &["weekly", "mon-fri", "0"],
            message: "overlaps `16:00–18:00` on Fri",
            hint: "merge them",
        },
        Invalid {
            yaml: "timezone: UTC\nexceptions: [{date: 2026-12-24, hours: [\"9\"]}]\n",
            path: &["exceptions", "0", "hours", "0"],
            message: "`9` is not a span",
            hint: "HH:MM-HH:MM",
        },
        Invalid {
            yaml: "timezone: UTC\nexceptions: [{date: 2026-12-24, hours: [\"09:00-12:00\", \"11:00-13:00\"]}]\n",
            path: &["exceptions", "0", "hours", "1"],
            message: "overlaps `09:00–12:00` on 2026-12-24",
            hint: "merge them",
        },
        Invalid {
            yaml: "timezone: UTC\nexceptions:\n  - {date: 2026-12-24, closed: true}\n  - {date: 2026-12-31, hours: [\"09:00-12:00\"], closed: true}\n",
            path: &["exceptions", "1"],
            message: "both `hours` and `closed: true`",
            hint: "or `closed: true` to close all day",
        },
        Invalid {
            yaml: "timezone: UTC\nexceptions: [{date: 2026-12-24}]\n",
            path: &["exceptions", "0"],
            message: "neither `hours` nor `closed: true`",
            hint: "special hours",
        },
        Invalid {
            yaml: "timezone: UTC\nexceptions: [{date: 2026-12-24, closed: true}, {date: 2026-12-24, closed: true}]\n",
            path: &["exceptions", "1", "date"],
            message: "2026-12-24 already has an exception (exceptions.0)",
            hint: "merge",
        },
        Invalid {
            yaml: "timezone: UTC\nopen_cron: \"0 0 9 * * Mon-Fri\"\n",
            path: &["open_cron"],
            message: "needs `close_cron`",
            hint: "add `close_cron`",
        },
        Invalid {
            yaml: "timezone: UTC\nclose_cron: \"0 0 17 * * Mon-Fri\"\n",
            path: &["close_cron"],
            message: "needs `open_cron`",
            hint: "add `open_cron`",
        },
        Invalid {
            yaml: "timezone: UTC\nopen_cron: \"0 9 * * 1-5\"\nclose_cron: \"0 0 17 * * Mon-Fri\"\n",
            path: &["open_cron"],
            message: "has 5 fields",
            hint: "prepend seconds `0 `: \"0 0 9 * * MON-FRI\"",
        },
        Invalid {
            yaml: "timezone: UTC\nopen_cron: \"0 0 9 * * Mon-Fri\"\nclose_cron: \"0 0 25 * * Mon-Fri\"\n",
            path: &["close_cron"],
            message: "not a valid cron expression",
            hint: "six or seven fields",
        },
        Invalid {
            yaml: "timezone: UTC\nweekly: {mon: [\"09:00-17:00\"]}\nopen_cron: \"0 0 9 * * Mon-Fri\"\nclose_cron: \"0 0 17 * * Mon-Fri\"\n",
            path: &["open_cron"],
            message: "both `weekly` and `open_cron`/`close_cron`",
            hint: "not both",
        },
    ];
    for case in cases {
        let found = problems(case.yaml);
        assert_eq!(
            found.len(),
            1,
            "one problem expected in\n{}\ngot {found:#?}",
            case.yaml
        );
        let problem = &found[0];
        assert_eq!(problem.path, case.path, "{}", case.yaml);
        assert!(
            problem.message.contains(case.message),
            "message {:?} lacks {:?}",
            problem.message,
            case.message
        );
        let hint = problem.hint.as_deref().unwrap_or_default();
        assert!(
            hint.contains(case.hint),
            "hint {hint:?} lacks {:?}",
            case.hint
        );
    }
}

/// Unix cron counts 0 = Sunday, 1 = Monday; the `cron` crate 1 = Sunday. A
/// number in the day-of-week field would silently shift every day by one.
#[test]
fn a_cron_pair_with_numbered_days_of_the_week_is_refused_and_told_the_names() {
    for (open, close, field, hint) in [
        ("0 0 9 * * 1-5", "0 0 17 * * Mon-Fri", "open_cron", "`1-5` means MON-FRI in Unix cron but SUN-THU here: write `MON-FRI` (`0 0 9 * * MON-FRI`)"),
        ("0 0 9 * * Mon-Fri", "0 0 17 * * 0,6", "close_cron", "`0,6` means SUN,SAT in Unix cron but no day at all here: write `SUN,SAT`"),
        ("0 0 9 * * 2", "0 0 17 * * Mon", "open_cron", "`2` means TUE in Unix cron but MON here: write `TUE`"),
    ] {
        let yaml = format!("timezone: UTC\nopen_cron: \"{open}\"\nclose_cron: \"{close}\"\n");
        let found = problems(&yaml);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].path, [field], "{yaml}");
        assert!(
            found[0].message.contains("written in numbers"),
            "{:?}",
            found[0].message
        );
        let given = found[0].hint.as_deref().unwrap_or_default();
        assert!(given.contains(hint), "hint {given:?} lacks {hint:?}");
    }
}

#[test]
fn all_problems_of_a_schedule_are_reported_together() {
    let found = problems(
        r#"
timezone: Europe/Warsw
weekly:
  mon-fry: ["9-17"]
  sat: ["10:00-13:00", "12:00-14:00"]
exceptions:
  - {date: 2026-12-24}
open_cron: "0 9 * * 1-5"
"#,
    );
    let paths: Vec<String> = found.iter().map(|p| p.path.join(".")).collect();
    assert_eq!(
        paths,
        vec![
            "timezone",
            "weekly.mon-fry",
            "weekly.mon-fry.0",
            "weekly.sat.1",
            "open_cron",
            "open_cron",
            "open_cron",
            "exceptions.0"
        ]
    );
}

#[test]
fn unknown_fields_are_rejected_when_reading_the_yaml() {
    let error = serde_yaml::from_str::<RawSchedule>("timezone: UTC\nweekley: {}\n")
        .err()
        .map(|e| e.to_string());
    assert!(error.is_some_and(|e| e.contains("weekley")));
}

#[test]
fn problems_display_their_path_message_and_hint() {
    let found = problems("timezone: UTC\nweekly: {sat: [\"09:75-17:00\"]}\n");
    assert_eq!(
        found[0].to_string(),
        "weekly.sat.0: `09:75-17:00` has minutes above 59 (hint: minutes run from 00 to 59)"
    );
}

fn consistency_schedules() -> Vec<Schedule> {
    vec![
        schedule(WARSAW_OFFICE),
        schedule(WARSAW_CRON),
        schedule(
            r#"
timezone: America/New_York
weekly:
  mon-thu: ["08:00-12:00", "13:00-18:30"]
  fri: ["22:00-06:00"]
  sat: ["00:00-24:00"]
  sun: ["02:30-03:30"]
holidays: [2026-07-04]
"#,
        ),
    ]
}

proptest! {
    #[test]
    fn intervals_next_change_and_is_open_tell_the_same_story(
        start in 1_767_225_600i64..1_798_761_600i64, // 2026
        hours in 1i64..400,
        probe in 0.0f64..1.0,
    ) {
        let from = Timestamp::from_timestamp(start, 0).unwrap_or_default();
        let to = from + chrono::TimeDelta::hours(hours);
        for schedule in consistency_schedules() {
            let intervals = schedule.intervals(from, to);
            prop_assert_eq!(intervals.first().map(|i| i.start), Some(from));
            prop_assert_eq!(intervals.last().map(|i| i.end), Some(to));
            for pair in intervals.windows(2) {
                prop_assert_eq!(pair[0].end, pair[1].start);
                prop_assert_ne!(pair[0].open, pair[1].open);
            }
            let offset = ((to - from).num_seconds() as f64 * probe) as i64;
            let at = from + chrono::TimeDelta::seconds(offset);
            let containing = intervals.iter().find(|i| i.start <= at && at < i.end);
            prop_assert_eq!(containing.map(|i| i.open), Some(schedule.is_open(at)));
            if let Some(interval) = containing.filter(|i| i.end < to) {
                prop_assert_eq!(schedule.next_change(at), Some(interval.end));
            }
        }
    }
}

#[test]
fn a_cron_pair_remembers_an_opening_from_the_previous_year() {
    let year_end = schedule(
        r#"
timezone: Europe/Warsaw
open_cron: "0 0 9 31 12 *"
close_cron: "0 0 9 2 1 *"
"#,
    );
    assert_openness(
        &year_end,
        &[
            ("2026-12-31T07:59:00Z", false),
            ("2026-12-31T08:00:00Z", true),
            ("2027-01-01T12:00:00Z", true),
            ("2027-01-02T08:00:00Z", false),
        ],
    );
    assert_eq!(
        year_end.next_close(utc("2027-01-01T12:00:00Z")),
        Some(utc("2027-01-02T08:00:00Z"))
    );
}

#[test]
fn when_opening_and_closing_fire_at_the_same_instant_the_schedule_is_closed() {
    let clash = schedule(
        r#"
timezone: UTC
open_cron: "0 0 9,12 * * *"
close_cron: "0 0 12,17 * * *"
"#,
    );
    assert_openness(
        &clash,
        &[
            ("2026-01-05T10:00:00Z", true),
            ("2026-01-05T12:00:00Z", false),
            ("2026-01-05T13:00:00Z", false),
        ],
    );
    assert_eq!(
        clash.next_change(utc("2026-01-05T12:00:00Z")),
        Some(utc("2026-01-06T09:00:00Z"))
    );
}

const TEL_AVIV_DESK: &str = r#"
timezone: Asia/Jerusalem
weekly:
  sun-thu: ["09:00-17:00"]
  fri: ["08:00-13:00"]
"#;

#[test]
fn jerusalem_springs_forward_on_a_friday_and_the_short_friday_keeps_its_local_hours() {
    // Israel moves from IST (UTC+2) to IDT (UTC+3) on Friday 27 March 2026 at 02:00.
    let desk = schedule(TEL_AVIV_DESK);
    let the_friday_before =
        desk.intervals(utc("2026-03-20T00:00:00Z"), utc("2026-03-21T00:00:00Z"));
    let switch_friday = desk.intervals(utc("2026-03-27T00:00:00Z"), utc("2026-03-28T00:00:00Z"));
    assert_eq!(
        open_hours(&the_friday_before),
        vec![(utc("2026-03-20T06:00:00Z"), 5 * 60)]
    );
    assert_eq!(
        open_hours(&switch_friday),
        vec![(utc("2026-03-27T05:00:00Z"), 5 * 60)]
    );
    // Closed on Friday afternoon and Saturday; back on Sunday, already in IDT.
    assert_eq!(
        desk.next_open(utc("2026-03-27T12:00:00Z")),
        Some(utc("2026-03-29T06:00:00Z"))
    );
    assert_eq!(
        desk.describe_next_open(utc("2026-03-27T12:00:00Z"), "he")
            .as_deref(),
        Some("ביום ראשון ב-9:00 IDT")
    );
}

#[test]
fn jerusalem_falls_back_on_a_sunday_and_opening_moves_an_hour_later_in_utc() {
    // IDT (UTC+3) ends on Sunday 25 October 2026 at 02:00; 09:00 IST is 07:00Z.
    let desk = schedule(TEL_AVIV_DESK);
    assert_openness(
        &desk,
        &[
            ("2026-10-22T06:00:00Z", true),  // Thu 09:00 IDT
            ("2026-10-22T13:59:59Z", true),  // Thu 16:59 IDT
            ("2026-10-22T14:00:00Z", false), // Thu 17:00 IDT
            ("2026-10-24T10:00:00Z", false), // Saturday
            ("2026-10-25T06:30:00Z", false), // Sun 08:30 IST
            ("2026-10-25T07:00:00Z", true),  // Sun 09:00 IST
            ("2026-10-25T15:00:00Z", false), // Sun 17:00 IST
        ],
    );
    assert_eq!(
        desk.next_open(utc("2026-10-23T12:00:00Z")),
        Some(utc("2026-10-25T07:00:00Z"))
    );
    assert_eq!(
        desk.describe_next_open(utc("2026-10-23T12:00:00Z"), "he")
            .as_deref(),
        Some("ביום ראשון ב-9:00 IST")
    );
}

#[test]
fn a_japanese_public_holiday_closes_the_tokyo_desk_and_customers_read_the_next_working_day() {
    // Labour Thanksgiving Day (勤労感謝の日), Monday 23 November 2026.
    let tokyo = schedule(
        r#"
timezone: Asia/Tokyo
weekly:
  mon-fri: ["09:00-18:00"]
holidays: [2026-11-23, 2027-01-01]
"#,
    );
    assert_openness(
        &tokyo,
        &[
            ("2026-11-20T01:00:00Z", true),  // Fri 10:00 JST
            ("2026-11-23T01:00:00Z", false), // Mon 10:00 JST, the holiday
            ("2026-11-24T00:00:00Z", true),  // Tue 09:00 JST
        ],
    );
    // Friday evening: back on Tuesday, not on Monday.
    assert_eq!(
        tokyo.next_open(utc("2026-11-20T10:00:00Z")),
        Some(utc("2026-11-24T00:00:00Z"))
    );
    assert_eq!(
        tokyo
            .describe_next_open(utc("2026-11-20T10:00:00Z"), "ja")
            .as_deref(),
        Some("火曜日9:00 (JST)")
    );
    // The pinned note never says "tomorrow": it is read all night.
    assert_eq!(
        tokyo
            .describe_opening(utc("2026-11-23T10:00:00Z"), "ja")
            .as_deref(),
        Some("火曜日9:00 (JST)")
    );
    assert_eq!(
        tokyo
            .describe_next_open(utc("2026-11-23T10:00:00Z"), "ja")
            .as_deref(),
        Some("明日9:00 (JST)")
    );
}

#[test]
fn the_pinned_note_names_the_weekday_where_a_reply_says_today_or_tomorrow() {
    let warsaw = schedule(WARSAW_OFFICE);
    // Tuesday 24 November 2026, 18:00 CET: back on Wednesday at 9:00.
    let evening = utc("2026-11-24T17:00:00Z");
    let cases = [
        ("en", "tomorrow at 9:00 CET", "on Wednesday at 9:00 CET"),
        ("pl", "jutro o 9:00 CET", "w środę o 9:00 CET"),
        ("ru", "завтра в 9:00 CET", "в среду в 9:00 CET"),
        ("ja", "明日9:00 (CET)", "水曜日9:00 (CET)"),
        ("he", "מחר ב-9:00 CET", "ביום רביעי ב-9:00 CET"),
    ];
    for (lang, reply, note) in cases {
        assert_eq!(
            warsaw.describe_next_open(evening, lang).as_deref(),
            Some(reply),
            "{lang}"
        );
        assert_eq!(
            warsaw.describe_opening(evening, lang).as_deref(),
            Some(note),
            "{lang}"
        );
    }
    assert_eq!(
        warsaw.describe_opening(utc("2026-11-24T10:00:00Z"), "en"),
        None,
        "open"
    );
}
