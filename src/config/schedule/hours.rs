//! The validated shapes of opening hours: spans of local wall-clock time, a
//! week of them, per-date overrides, and the cron alternative.
//!
//! Parsing of the small textual forms (`09:00-17:00`, `mon-fri`) lives here
//! too, next to the types it produces, so that the types can keep their
//! invariants private.

use chrono::Weekday;
use std::fmt;

/// Minutes in a day; also the largest end of a span (`24:00`).
pub(super) const MINUTES_PER_DAY: u16 = 24 * 60;

/// A span of local time on one day, `[start, end)` in minutes after local
/// midnight. `start` is in `0..1440`, `end` in `1..=1440`, and they differ; a
/// span whose end is not after its start crosses midnight into the next day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Span {
    start: u16,
    end: u16,
}

/// Why a span could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(super) enum SpanError {
    #[error("is not a span of the form HH:MM-HH:MM")]
    Shape,
    #[error("has an hour above 23 (only 24:00 may end a span)")]
    Hour,
    #[error("has minutes above 59")]
    Minute,
    #[error("starts at 24:00; 24:00 can only end a span")]
    StartsAtMidnightEnd,
    #[error("is empty: it ends when it starts")]
    Empty,
}

impl Span {
    /// Reads `HH:MM-HH:MM` (an en dash and spaces around it are accepted, and
    /// one-digit hours like `9:00`). `HH:MM-00:00` means until midnight.
    pub(super) fn parse(text: &str) -> Result<Span, SpanError> {
        let (start, end) = text.split_once(['-', '–']).ok_or(SpanError::Shape)?;
        let start = parse_time(start.trim())?;
        let end = parse_time(end.trim())?;
        if start == MINUTES_PER_DAY {
            return Err(SpanError::StartsAtMidnightEnd);
        }
        let end = if end == 0 { MINUTES_PER_DAY } else { end };
        if start == end {
            return Err(SpanError::Empty);
        }
        Ok(Span { start, end })
    }

    /// Minutes after local midnight of its own day at which it starts.
    pub(super) fn start_minute(self) -> u16 {
        self.start
    }

    /// Minutes after local midnight of its *own* day at which it ends, so
    /// above 1440 when it crosses midnight.
    pub(super) fn end_minute(self) -> u16 {
        if self.crosses_midnight() {
            self.end + MINUTES_PER_DAY
        } else {
            self.end
        }
    }

    pub(super) fn crosses_midnight(self) -> bool {
        self.end <= self.start
    }

    /// Whether the two spans (on the same day) share any minute.
    pub(super) fn overlaps(self, other: Span) -> bool {
        self.start_minute() < other.end_minute() && other.start_minute() < self.end_minute()
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let clock = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
        write!(f, "{}–{}", clock(self.start), clock(self.end))
    }
}

/// Reads `HH:MM` or `H:MM` into minutes after midnight; `24:00` is allowed.
fn parse_time(text: &str) -> Result<u16, SpanError> {
    let (hours, minutes) = text.split_once(':').ok_or(SpanError::Shape)?;
    let digits = |s: &str, max_len: usize| {
        if s.is_empty() || s.len() > max_len || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(SpanError::Shape);
        }
        s.parse::<u16>().map_err(|_| SpanError::Shape)
    };
    let hours = digits(hours, 2)?;
    if minutes.len() != 2 {
        return Err(SpanError::Shape);
    }
    let minutes = digits(minutes, 2)?;
    if minutes > 59 {
        return Err(SpanError::Minute);
    }
    match hours {
        0..=23 => Ok(hours * 60 + minutes),
        24 if minutes == 0 => Ok(MINUTES_PER_DAY),
        _ => Err(SpanError::Hour),
    }
}

/// All seven weekdays, Monday first, as the week is shown to people.
pub(super) const WEEK: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

/// Reads a weekly key: a day (`mon`, `monday`), a range (`mon-fri`, which may
/// wrap: `fri-mon`) or a comma-separated list of those (`"sat,sun"`).
/// Returns `None` when any part is not understood.
pub(super) fn parse_day_key(key: &str) -> Option<Vec<Weekday>> {
    let mut days = Vec::new();
    for part in key.split(',') {
        let part = part.trim();
        match part.split_once(['-', '–']) {
            Some((first, last)) => days.extend(day_range(parse_day(first)?, parse_day(last)?)),
            None => days.push(parse_day(part)?),
        }
    }
    Some(days)
}

fn day_range(first: Weekday, last: Weekday) -> Vec<Weekday> {
    let mut days = vec![first];
    let mut day = first;
    while day != last {
        day = day.succ();
        days.push(day);
    }
    days
}

fn parse_day(text: &str) -> Option<Weekday> {
    let text = text.trim().to_ascii_lowercase();
    let day = match text.as_str() {
        "mon" | "monday" => Weekday::Mon,
        "tue" | "tuesday" => Weekday::Tue,
        "wed" | "wednesday" => Weekday::Wed,
        "thu" | "thursday" => Weekday::Thu,
        "fri" | "friday" => Weekday::Fri,
        "sat" | "saturday" => Weekday::Sat,
        "sun" | "sunday" => Weekday::Sun,
        _ => return None,
    };
    Some(day)
}

/// Regular hours for each weekday, each day's spans sorted and disjoint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Week {
    days: [Vec<Span>; 7],
}

impl Week {
    /// Builds a week from per-day spans that have already been checked not to
    /// overlap.
    pub(super) fn new(mut days: [Vec<Span>; 7]) -> Week {
        for spans in &mut days {
            spans.sort();
        }
        Week { days }
    }

    pub(super) fn spans(&self, day: Weekday) -> &[Span] {
        &self.days[day.num_days_from_monday() as usize]
    }

    pub(super) fn is_empty(&self) -> bool {
        self.days.iter().all(Vec::is_empty)
    }
}

/// Hours on one specific date that replace the regular ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum DayHours {
    Closed,
    Open(Vec<Span>),
}

impl DayHours {
    pub(super) fn spans(&self) -> &[Span] {
        match self {
            DayHours::Closed => &[],
            DayHours::Open(spans) => spans,
        }
    }
}

/// Where the regular hours come from.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Hours {
    /// Weekly hours; an empty week never opens (except on exceptions).
    Weekly(Week),
    /// Irregular hours: open from each `open` instant to the next `close`.
    Cron(Box<CronPair>),
}

/// The two cron expressions of a cron-based schedule, both evaluated in the
/// schedule's time zone.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct CronPair {
    pub(super) open: cron::Schedule,
    pub(super) close: cron::Schedule,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_are_read_from_comms_friendly_forms() {
        let cases = [
            ("09:00-17:00", Some((540, 1020))),
            ("9:00 - 17:00", Some((540, 1020))),
            ("09:00–17:00", Some((540, 1020))),
            ("00:00-24:00", Some((0, 1440))),
            ("22:00-00:00", Some((1320, 1440))),
            ("22:00-06:00", Some((1320, 1800))),
        ];
        for (text, expected) in cases {
            let span = Span::parse(text)
                .ok()
                .map(|s| (s.start_minute(), s.end_minute()));
            assert_eq!(span, expected, "{text}");
        }
    }

    #[test]
    fn malformed_spans_say_what_is_wrong() {
        let cases = [
            ("9-17", SpanError::Shape),
            ("09:00", SpanError::Shape),
            ("09:0-17:00", SpanError::Shape),
            ("25:00-26:00", SpanError::Hour),
            ("09:60-17:00", SpanError::Minute),
            ("24:00-06:00", SpanError::StartsAtMidnightEnd),
            ("09:00-09:00", SpanError::Empty),
        ];
        for (text, expected) in cases {
            assert_eq!(Span::parse(text), Err(expected), "{text}");
        }
    }

    #[test]
    fn day_keys_accept_days_ranges_lists_and_wrapping_ranges() {
        use Weekday::*;
        let cases: [(&str, Option<Vec<Weekday>>); 6] = [
            ("mon", Some(vec![Mon])),
            ("Mon-Fri", Some(vec![Mon, Tue, Wed, Thu, Fri])),
            ("sat,sun", Some(vec![Sat, Sun])),
            ("fri-mon", Some(vec![Fri, Sat, Sun, Mon])),
            ("monday, wed-thu", Some(vec![Mon, Wed, Thu])),
            ("weekdays", None),
        ];
        for (key, expected) in cases {
            assert_eq!(parse_day_key(key), expected, "{key}");
        }
    }

    #[test]
    fn spans_touching_at_an_end_do_not_overlap() {
        let span = |t: &str| Span::parse(t).unwrap_or_else(|e| panic!("{t}: {e}"));
        assert!(!span("09:00-12:00").overlaps(span("12:00-17:00")));
        assert!(span("09:00-12:30").overlaps(span("12:00-17:00")));
        assert!(span("22:00-06:00").overlaps(span("23:00-23:30")));
    }
}
