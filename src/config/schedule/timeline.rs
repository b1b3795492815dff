//! Turning local opening hours into UTC instants, and answering "open now?",
//! "when does that change?" from them.
//!
//! Everything is computed per window: the local days overlapping the window
//! are walked one by one, each day's spans are placed on that day's own local
//! clock (so a daylight-saving change moves them in UTC, not in local time),
//! and the resulting ranges are merged. Nothing is precomputed or cached, so a
//! schedule stays a small value that is cheap to clone and compare.

use super::hours::{CronPair, DayHours, Hours, Span};
use super::{Interval, Schedule};
use crate::clock::Timestamp;
use chrono::{
    Datelike, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone, Timelike, Utc,
};
use chrono_tz::Tz;

/// How far ahead [`next_change`] looks before concluding nothing changes.
const HORIZON_DAYS: i64 = 400;
/// [`next_change`] looks ahead this many days at a time, so that a change
/// coming soon is found without computing the whole horizon.
const CHUNK_DAYS: i64 = 7;
/// Longest stretch of nonexistent local time to step over (Pacific/Apia
/// skipped a whole day in 2011).
const MAX_GAP_MINUTES: u32 = 48 * 60;
/// Most open/close steps taken through a cron pair for one window; beyond it
/// the rest of the window counts as closed. Only a pathological pair (say,
/// opening every second) gets near it.
const MAX_CRON_STEPS: usize = 20_000;
/// Furthest back (about eleven years) to look for the last cron firing.
const MAX_LOOKBACK_DAYS: i64 = 8 * 8 * 8 * 8;

/// Instants `[start, end)` during which the schedule is open.
type Range = (Timestamp, Timestamp);

pub(super) fn is_open(schedule: &Schedule, at: Timestamp) -> bool {
    match at.checked_add_signed(TimeDelta::nanoseconds(1)) {
        Some(end) => !open_ranges(schedule, at, end).is_empty(),
        None => false,
    }
}

pub(super) fn next_change(schedule: &Schedule, at: Timestamp) -> Option<Timestamp> {
    let horizon = at.checked_add_signed(TimeDelta::days(HORIZON_DAYS))?;
    // Whether the schedule is open just before the current chunk. For the
    // first chunk it is never consulted: a range starting at `at` is not a
    // change after `at`.
    let mut open_before = false;
    let mut chunk_start = at;
    while chunk_start < horizon {
        let chunk_end = chunk_start
            .checked_add_signed(TimeDelta::days(CHUNK_DAYS))
            .map_or(horizon, |end| end.min(horizon));
        let ranges = open_ranges(schedule, chunk_start, chunk_end);
        for &(start, end) in &ranges {
            if start > at && (start > chunk_start || !open_before) {
                return Some(start);
            }
            if end > at && end < chunk_end {
                return Some(end);
            }
        }
        open_before = ranges.last().is_some_and(|&(_, end)| end == chunk_end);
        chunk_start = chunk_end;
    }
    None
}

pub(super) fn intervals(schedule: &Schedule, from: Timestamp, to: Timestamp) -> Vec<Interval> {
    let mut intervals = Vec::new();
    let mut cursor = from;
    for (start, end) in open_ranges(schedule, from, to) {
        if start > cursor {
            intervals.push(Interval {
                start: cursor,
                end: start,
                open: false,
            });
        }
        intervals.push(Interval {
            start,
            end,
            open: true,
        });
        cursor = end;
    }
    if cursor < to {
        intervals.push(Interval {
            start: cursor,
            end: to,
            open: false,
        });
    }
    intervals
}

/// The open ranges within `[from, to)`, clipped to it, sorted and merged
/// (touching ranges are joined, so every boundary is a real change).
fn open_ranges(schedule: &Schedule, from: Timestamp, to: Timestamp) -> Vec<Range> {
    if from >= to {
        return Vec::new();
    }
    let tz = schedule.timezone;
    // A span starting the day before may still be running at `from`.
    let first_day = local_date(tz, from);
    let first_day = first_day.pred_opt().unwrap_or(first_day);
    let last_day = local_date(tz, to);
    let ranges = match &schedule.hours {
        Hours::Weekly(week) => first_day
            .iter_days()
            .take_while(|day| *day <= last_day)
            .flat_map(|day| {
                let spans = schedule
                    .overrides
                    .get(&day)
                    .map_or_else(|| week.spans(day.weekday()), DayHours::spans);
                spans
                    .iter()
                    .filter_map(move |span| span_range(tz, day, *span))
            })
            .collect(),
        Hours::Cron(pair) => {
            let overrides: Vec<(&NaiveDate, &DayHours)> =
                schedule.overrides.range(first_day..=last_day).collect();
            let mut ranges = cron_ranges(pair, tz, from, to);
            for (day, _) in &overrides {
                if let Some(window) = day_window(tz, **day) {
                    ranges = subtract(ranges, window);
                }
            }
            for (day, hours) in overrides {
                ranges.extend(
                    hours
                        .spans()
                        .iter()
                        .filter_map(|span| span_range(tz, *day, *span)),
                );
            }
            ranges
        }
    };
    normalize(ranges, from, to)
}

fn local_date(tz: Tz, at: Timestamp) -> NaiveDate {
    at.with_timezone(&tz).date_naive()
}

/// Clips to `[from, to)`, drops empty ranges, sorts and joins overlapping or
/// touching ones.
fn normalize(mut ranges: Vec<Range>, from: Timestamp, to: Timestamp) -> Vec<Range> {
    ranges.retain_mut(|range| {
        *range = (range.0.max(from), range.1.min(to));
        range.0 < range.1
    });
    ranges.sort();
    let mut merged: Vec<Range> = Vec::with_capacity(ranges.len());
    for (start, end) in ranges {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    merged
}

/// `ranges` with `[cut.0, cut.1)` taken out.
fn subtract(ranges: Vec<Range>, cut: Range) -> Vec<Range> {
    let mut kept = Vec::with_capacity(ranges.len() + 1);
    for (start, end) in ranges {
        if end <= cut.0 || start >= cut.1 {
            kept.push((start, end));
            continue;
        }
        if start < cut.0 {
            kept.push((start, cut.0));
        }
        if end > cut.1 {
            kept.push((cut.1, end));
        }
    }
    kept
}

/// The instants of one whole local day.
fn day_window(tz: Tz, day: NaiveDate) -> Option<Range> {
    let start = resolve_local(tz, day.and_time(NaiveTime::MIN))?;
    let end = resolve_local(tz, day.succ_opt()?.and_time(NaiveTime::MIN))?;
    Some((start, end))
}

/// Where a span written for `day` falls in UTC; `None` when it vanishes (a
/// span lying wholly inside a spring-forward gap) or the date is out of range.
fn span_range(tz: Tz, day: NaiveDate, span: Span) -> Option<Range> {
    let midnight = day.and_time(NaiveTime::MIN);
    let at_minute =
        |minute: u16| midnight.checked_add_signed(TimeDelta::minutes(i64::from(minute)));
    let start = resolve_local(tz, at_minute(span.start_minute())?)?;
    let end = resolve_local(tz, at_minute(span.end_minute())?)?;
    (start < end).then_some((start, end))
}

/// The instant a local wall-clock time stands for: the earlier one when the
/// clocks went back and it happened twice, and the first instant after the
/// gap when the clocks went forward and it never happened.
pub(super) fn resolve_local(tz: Tz, local: NaiveDateTime) -> Option<Timestamp> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(at) => Some(at.with_timezone(&Utc)),
        LocalResult::Ambiguous(first, second) => Some(first.min(second).with_timezone(&Utc)),
        LocalResult::None => first_after_gap(tz, local),
    }
}

/// The first existing instant after a nonexistent local time: stepping
/// through local minutes, the first one that exists is the end of the gap,
/// which is the instant of the transition.
fn first_after_gap(tz: Tz, local: NaiveDateTime) -> Option<Timestamp> {
    let mut probe = local.with_second(0)?.with_nanosecond(0)?;
    for _ in 0..MAX_GAP_MINUTES {
        probe = probe.checked_add_signed(TimeDelta::minutes(1))?;
        if let Some(at) = tz.from_local_datetime(&probe).earliest() {
            return Some(at.with_timezone(&Utc));
        }
    }
    None
}

/// Open ranges of a cron pair within `[from, to)`, jumping from change to
/// change rather than visiting every firing.
fn cron_ranges(pair: &CronPair, tz: Tz, from: Timestamp, to: Timestamp) -> Vec<Range> {
    let mut ranges = Vec::new();
    let mut open_since = cron_is_open(pair, tz, from).then_some(from);
    let mut cursor = from;
    for _ in 0..MAX_CRON_STEPS {
        match open_since {
            Some(since) => match next_fire(&pair.close, tz, cursor).filter(|close| *close < to) {
                Some(close) => {
                    ranges.push((since, close));
                    open_since = None;
                    cursor = close;
                }
                None => {
                    ranges.push((since, to));
                    return ranges;
                }
            },
            None => match next_fire(&pair.open, tz, cursor).filter(|open| *open < to) {
                Some(open) => {
                    // An instant at which both fire closes.
                    if !pair.close.includes(open.with_timezone(&tz)) {
                        open_since = Some(open);
                    }
                    cursor = open;
                }
                None => return ranges,
            },
        }
    }
    tracing::warn!(steps = MAX_CRON_STEPS, from = %from, to = %to, "cron schedule changes too often; rest of window counted as closed");
    if let Some(since) = open_since {
        ranges.push((since, cursor));
    }
    ranges
}

/// Open at `at` when the latest firing at or before it is an opening (and
/// not also a closing).
///
/// Found by walking *forward* from a little before `at`, widening the look
/// back until some firing is in view: the cron crate's backward search
/// mishandles years other than the current one (it reported a 2020-only
/// expression firing on 5 January 2020 when asked in January 2026).
fn cron_is_open(pair: &CronPair, tz: Tz, at: Timestamp) -> bool {
    let mut lookback_days = 1;
    while lookback_days <= MAX_LOOKBACK_DAYS {
        let Some(from) = at.checked_sub_signed(TimeDelta::days(lookback_days)) else {
            return false;
        };
        if let Some(open) = cron_state_walking(pair, tz, from, at) {
            return open;
        }
        lookback_days *= 8;
    }
    false
}

/// The state at `at` as established by the firings in `(from, at]`, jumping
/// from change to change; `None` when nothing fires in that stretch.
fn cron_state_walking(pair: &CronPair, tz: Tz, from: Timestamp, at: Timestamp) -> Option<bool> {
    let first_open = next_fire(&pair.open, tz, from).filter(|fire| *fire <= at);
    let first_close = next_fire(&pair.close, tz, from).filter(|fire| *fire <= at);
    let (mut open, mut cursor) = match (first_open, first_close) {
        (None, None) => return None,
        (Some(open), Some(close)) if open < close => (true, open),
        (Some(open), None) => (true, open),
        (_, Some(close)) => (false, close),
    };
    for _ in 0..MAX_CRON_STEPS {
        let schedule = if open { &pair.close } else { &pair.open };
        match next_fire(schedule, tz, cursor).filter(|fire| *fire <= at) {
            None => return Some(open),
            Some(fire) => {
                // An instant at which both fire closes.
                open = !open && !pair.close.includes(fire.with_timezone(&tz));
                cursor = fire;
            }
        }
    }
    tracing::warn!(steps = MAX_CRON_STEPS, at = %at, "cron schedule changes too often; counted as closed");
    Some(false)
}

/// First firing strictly after `after`. The cron iterator yields both
/// instants of an ambiguous local time, the earlier first, and the earlier
/// one may lie before `after`: skip it then.
fn next_fire(schedule: &cron::Schedule, tz: Tz, after: Timestamp) -> Option<Timestamp> {
    schedule
        .after(&after.with_timezone(&tz))
        .take(3)
        .map(|at| at.with_timezone(&Utc))
        .find(|at| *at > after)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> Timestamp {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn local(text: &str) -> NaiveDateTime {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn local_times_resolve_to_the_earlier_instant_or_the_end_of_the_gap() {
        let warsaw = chrono_tz::Europe::Warsaw;
        let cases = [
            ("2026-06-01T09:00:00", "2026-06-01T07:00:00Z"),
            // Spring forward: 02:00 CET jumps to 03:00 CEST (01:00 UTC).
            ("2026-03-29T02:30:00", "2026-03-29T01:00:00Z"),
            ("2026-03-29T02:00:00", "2026-03-29T01:00:00Z"),
            // Fall back: 02:30 happens at 00:30 UTC (CEST) and 01:30 UTC (CET).
            ("2026-10-25T02:30:00", "2026-10-25T00:30:00Z"),
        ];
        for (wall, expected) in cases {
            assert_eq!(
                resolve_local(warsaw, local(wall)),
                Some(utc(expected)),
                "{wall}"
            );
        }
    }

    #[test]
    fn a_whole_skipped_day_resolves_to_the_next_existing_instant() {
        // Samoa moved across the date line: 2011-12-30 never happened there.
        let apia = chrono_tz::Pacific::Apia;
        let resolved = resolve_local(apia, local("2011-12-30T09:00:00"));
        let expected = apia
            .from_local_datetime(&local("2011-12-31T00:00:00"))
            .earliest();
        assert_eq!(resolved, expected.map(|at| at.with_timezone(&Utc)));
    }

    #[test]
    fn normalizing_clips_sorts_and_joins_touching_ranges() {
        let (a, b, c, d, e) = (
            utc("2026-01-01T00:00:00Z"),
            utc("2026-01-01T01:00:00Z"),
            utc("2026-01-01T02:00:00Z"),
            utc("2026-01-01T03:00:00Z"),
            utc("2026-01-01T04:00:00Z"),
        );
        let merged = normalize(vec![(c, d), (a, c), (d, e)], b, e);
        assert_eq!(merged, vec![(b, e)]);
        assert_eq!(subtract(vec![(a, e)], (b, c)), vec![(a, b), (c, e)]);
    }
}
