//! Replaying a recorded series (`squall detect`): where each verdict lands,
//! and how the incidents a surge opens change what is an alarm.

use chrono::{DateTime, TimeZone, Utc};
use squall::detect::baseline::DetectorParams;
use squall::detect::series::{self, Incidents};
use squall::playbook::Sensitivity;
use std::time::Duration;

const ROW: i64 = 300;
const DAY_ROWS: usize = 288;

/// Five-minute rows ending at :02:53 like NAB's, three calm days of about
/// ten mentions a row, then `surges` (first row, rows) of 200 a row.
fn rows(surges: &[(usize, usize)], total: usize) -> Vec<(DateTime<Utc>, u64)> {
    let first = Utc
        .with_ymd_and_hms(2015, 3, 1, 0, 2, 53)
        .single()
        .expect("time");
    (0..total)
        .map(|i| {
            let at = first + chrono::Duration::seconds(ROW * i as i64);
            let calm = [9, 10, 11, 10][i % 4];
            let surging = surges.iter().any(|&(s, n)| (s..s + n).contains(&i));
            (at, if surging { 200 } else { calm })
        })
        .collect()
}

/// A playbook's `sensitivity: low` with `window: 30m` on five-minute rows
/// (debounce 24 hours).
fn low() -> DetectorParams {
    DetectorParams {
        bucket: Duration::from_secs(ROW as u64),
        ..DetectorParams::from_sensitivity(
            Duration::from_secs(1800),
            Sensitivity::Low,
            None,
            Duration::ZERO,
        )
    }
}

fn alarm_rows(rows: &[(DateTime<Utc>, u64)], incidents: Incidents) -> Vec<usize> {
    series::run_with(rows, low(), incidents)
        .iter()
        .enumerate()
        .filter(|(_, v)| v.alarm)
        .map(|(i, _)| i)
        .collect()
}

const THREE_DAYS: usize = 3 * DAY_ROWS;
const MINUTES_45: Duration = Duration::from_secs(45 * 60);
const MINUTES_30: Duration = Duration::from_secs(30 * 60);

#[test]
fn a_rows_alarm_is_on_the_row_whose_count_made_the_surge() {
    let rows = rows(&[(THREE_DAYS, 12)], THREE_DAYS + 48);
    assert_eq!(alarm_rows(&rows, Incidents::Ignore), vec![THREE_DAYS]);
}

#[test]
fn without_incidents_a_second_surge_within_the_debounce_is_no_alarm() {
    // Two one-hour surges four hours apart; low sensitivity debounces 24h.
    let rows = rows(&[(THREE_DAYS, 12), (THREE_DAYS + 48, 12)], THREE_DAYS + 96);
    assert_eq!(alarm_rows(&rows, Incidents::Ignore), vec![THREE_DAYS]);
}

#[test]
fn an_incident_that_resolved_itself_re_arms_the_detector_for_the_next_surge() {
    let rows = rows(&[(THREE_DAYS, 12), (THREE_DAYS + 48, 12)], THREE_DAYS + 96);
    let follow = Incidents::Follow {
        quiet: MINUTES_45,
        cooldown: MINUTES_30,
    };
    assert_eq!(
        alarm_rows(&rows, follow),
        vec![THREE_DAYS, THREE_DAYS + 48],
        "the first incident resolved 45 minutes after its surge subsided"
    );
}

#[test]
fn a_surge_while_the_incident_is_open_attaches_to_it_and_is_no_alarm() {
    // The second surge starts 20 minutes after the first subsided: the
    // incident has not been quiet for 45 minutes yet.
    let rows = rows(
        &[(THREE_DAYS, 12), (THREE_DAYS + 12 + 6 + 4, 12)],
        THREE_DAYS + 96,
    );
    let follow = Incidents::Follow {
        quiet: MINUTES_45,
        cooldown: MINUTES_30,
    };
    assert_eq!(alarm_rows(&rows, follow), vec![THREE_DAYS]);
}

#[test]
fn the_cooldown_after_an_incident_holds_the_next_surge_back() {
    let rows = rows(&[(THREE_DAYS, 12), (THREE_DAYS + 48, 12)], THREE_DAYS + 96);
    let follow = Incidents::Follow {
        quiet: MINUTES_45,
        cooldown: Duration::from_secs(12 * 3600),
    };
    assert_eq!(alarm_rows(&rows, follow), vec![THREE_DAYS]);
}
