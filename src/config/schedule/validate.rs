//! From [`RawSchedule`] to the validated parts of a [`super::Schedule`],
//! collecting every problem with its path and a hint a comms person can act
//! on, instead of stopping at the first.

use super::hours::{parse_day_key, CronPair, DayHours, Hours, Span, SpanError, Week, WEEK};
use super::{RawException, RawSchedule, ScheduleProblem};
use chrono::{NaiveDate, Weekday};
use chrono_tz::{Tz, TZ_VARIANTS};
use std::collections::BTreeMap;
use std::str::FromStr;

/// The validated pieces a schedule is made of.
pub(super) struct Parts {
    pub(super) timezone: Tz,
    pub(super) hours: Hours,
    pub(super) overrides: BTreeMap<NaiveDate, DayHours>,
}

/// Problems found so far, in the order found.
#[derive(Default)]
struct Problems(Vec<ScheduleProblem>);

impl Problems {
    fn push(&mut self, path: Vec<String>, message: String, hint: Option<String>) {
        self.0.push(ScheduleProblem {
            path,
            message,
            hint,
        });
    }
}

fn path(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|p| (*p).to_owned()).collect()
}

pub(super) fn validate(raw: &RawSchedule) -> Result<Parts, Vec<ScheduleProblem>> {
    let mut problems = Problems::default();
    let timezone = timezone(&raw.timezone, &mut problems);
    let week = raw
        .weekly
        .as_ref()
        .map(|weekly| week(weekly, &mut problems));
    let cron = cron_pair(raw, &mut problems);
    if raw.weekly.is_some() && (raw.open_cron.is_some() || raw.close_cron.is_some()) {
        let field = if raw.open_cron.is_some() {
            "open_cron"
        } else {
            "close_cron"
        };
        problems.push(
            path(&[field]),
            "both `weekly` and `open_cron`/`close_cron` are given".to_owned(),
            Some(
                "use `weekly` for regular hours, or the cron pair for irregular ones, not both"
                    .to_owned(),
            ),
        );
    }
    let overrides = overrides(raw, &mut problems);
    match (problems.0.is_empty(), timezone) {
        (true, Some(timezone)) => {
            let hours = match cron {
                Some(pair) => Hours::Cron(Box::new(pair)),
                None => Hours::Weekly(week.unwrap_or_default()),
            };
            Ok(Parts {
                timezone,
                hours,
                overrides,
            })
        }
        _ => Err(problems.0),
    }
}

fn timezone(name: &str, problems: &mut Problems) -> Option<Tz> {
    match Tz::from_str(name.trim()) {
        Ok(tz) => Some(tz),
        Err(_) => {
            problems.push(
                path(&["timezone"]),
                format!("`{name}` is not a known IANA time zone"),
                Some(timezone_hint(name)),
            );
            None
        }
    }
}

/// Suggests the zones closest to what was written: an exact name in other
/// letter case first, else up to three names similar to the whole name or to
/// its city part ("Warsaw" → Europe/Warsaw).
fn timezone_hint(name: &str) -> String {
    const EXAMPLES: &str =
        "time zones are IANA names like Europe/Warsaw, America/New_York or Asia/Tokyo";
    let wanted = name.trim().replace(' ', "_").to_lowercase();
    if let Some(tz) = TZ_VARIANTS
        .iter()
        .find(|tz| tz.name().to_lowercase() == wanted)
    {
        return format!("did you mean `{}`? (letter case matters)", tz.name());
    }
    let mut scored: Vec<(f64, &str)> = TZ_VARIANTS
        .iter()
        .map(|tz| (timezone_similarity(&wanted, tz.name()), tz.name()))
        .filter(|(score, _)| *score >= 0.85)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    let close: Vec<String> = scored
        .iter()
        .take(3)
        .map(|(_, n)| format!("`{n}`"))
        .collect();
    if close.is_empty() {
        EXAMPLES.to_owned()
    } else {
        format!("did you mean {}? {EXAMPLES}", close.join(", "))
    }
}

fn timezone_similarity(wanted: &str, candidate: &str) -> f64 {
    let candidate = candidate.to_lowercase();
    let city = candidate.rsplit('/').next().unwrap_or(&candidate);
    strsim::jaro_winkler(wanted, &candidate).max(strsim::jaro_winkler(wanted, city))
}

/// A span that passed parsing, with where it was written.
struct Placed {
    span: Span,
    path: Vec<String>,
}

fn week(weekly: &BTreeMap<String, Vec<String>>, problems: &mut Problems) -> Week {
    let mut placed: [Vec<Placed>; 7] = Default::default();
    for (key, texts) in weekly {
        let days = parse_day_key(key);
        if days.is_none() {
            problems.push(
                path(&["weekly", key]),
                format!("`{key}` is not a day, a range of days or a list of them"),
                Some("use mon, tue, wed, thu, fri, sat, sun, ranges like mon-fri, or lists like \"sat,sun\"".to_owned()),
            );
        }
        let spans = spans(texts, &["weekly", key], problems);
        for day in days.unwrap_or_default() {
            for (index, span) in &spans {
                let path = path(&["weekly", key, &index.to_string()]);
                placed[day.num_days_from_monday() as usize].push(Placed { span: *span, path });
            }
        }
    }
    report_weekly_overlaps(&placed, problems);
    Week::new(placed.map(|day| day.into_iter().map(|p| p.span).collect()))
}

/// Parses each span text, reporting the bad ones at `base` + index; returns
/// the good ones with their index.
fn spans(texts: &[String], base: &[&str], problems: &mut Problems) -> Vec<(usize, Span)> {
    let mut good = Vec::new();
    for (index, text) in texts.iter().enumerate() {
        match Span::parse(text) {
            Ok(span) => good.push((index, span)),
            Err(error) => {
                let mut at = path(base);
                at.push(index.to_string());
                problems.push(
                    at,
                    format!("`{text}` {error}"),
                    Some(span_hint(error).to_owned()),
                );
            }
        }
    }
    good
}

fn span_hint(error: SpanError) -> &'static str {
    match error {
        SpanError::Shape => "write spans as HH:MM-HH:MM, e.g. \"09:00-17:00\"; a span may cross midnight: \"22:00-06:00\"",
        SpanError::Hour => "hours run from 00 to 23; write \"00:00-24:00\" for a whole day",
        SpanError::Minute => "minutes run from 00 to 59",
        SpanError::StartsAtMidnightEnd => "start the span at 00:00 of the next day instead",
        SpanError::Empty => "for a whole day write \"00:00-24:00\"; to be closed, leave the day out",
    }
}

const OVERLAP_HINT: &str = "merge them into one span, or make one end before the other starts";

/// Reports each span overlapping an earlier one on the same weekday, once per
/// pair, naming the days where they meet.
fn report_weekly_overlaps(placed: &[Vec<Placed>; 7], problems: &mut Problems) {
    let mut clashes: BTreeMap<(Vec<String>, Span, Span), Vec<Weekday>> = BTreeMap::new();
    for (day, entries) in WEEK.iter().zip(placed) {
        for (later, earlier) in overlapping_pairs(entries) {
            clashes
                .entry((later.path.clone(), later.span, earlier.span))
                .or_default()
                .push(*day);
        }
    }
    for ((at, span, other), days) in clashes {
        let days: Vec<String> = days.iter().map(|d| d.to_string()).collect();
        problems.push(
            at,
            format!("`{span}` overlaps `{other}` on {}", days.join(", ")),
            Some(OVERLAP_HINT.to_owned()),
        );
    }
}

/// Pairs `(later, earlier)` of entries that overlap, `earlier` being the one
/// written first.
fn overlapping_pairs(entries: &[Placed]) -> Vec<(&Placed, &Placed)> {
    let mut pairs = Vec::new();
    for (i, later) in entries.iter().enumerate() {
        for earlier in &entries[..i] {
            if later.span.overlaps(earlier.span) {
                pairs.push((later, earlier));
            }
        }
    }
    pairs
}

fn cron_pair(raw: &RawSchedule, problems: &mut Problems) -> Option<CronPair> {
    match (&raw.open_cron, &raw.close_cron) {
        (Some(open), Some(close)) => {
            let open = cron_expression("open_cron", open, problems);
            let close = cron_expression("close_cron", close, problems);
            Some(CronPair {
                open: open?,
                close: close?,
            })
        }
        (Some(open), None) => {
            cron_expression("open_cron", open, problems);
            problems.push(
                path(&["open_cron"]),
                "`open_cron` needs `close_cron`".to_owned(),
                Some(
                    "add `close_cron` with the instants it closes, e.g. \"0 0 17 * * Mon-Fri\""
                        .to_owned(),
                ),
            );
            None
        }
        (None, Some(close)) => {
            cron_expression("close_cron", close, problems);
            problems.push(
                path(&["close_cron"]),
                "`close_cron` needs `open_cron`".to_owned(),
                Some(
                    "add `open_cron` with the instants it opens, e.g. \"0 0 9 * * Mon-Fri\""
                        .to_owned(),
                ),
            );
            None
        }
        (None, None) => None,
    }
}

fn cron_expression(
    field: &str,
    expression: &str,
    problems: &mut Problems,
) -> Option<cron::Schedule> {
    let expression = expression.trim();
    if expression.split_whitespace().count() == 5 {
        problems.push(
            path(&[field]),
            format!("`{expression}` has 5 fields, but cron here has seconds first (6 or 7 fields)"),
            Some(format!(
                "prepend seconds `0 `: \"{}\"",
                crate::cron_text::with_seconds(expression)
            )),
        );
        return None;
    }
    if let Some(days) = crate::cron_text::numeric_day_of_week(expression) {
        problems.push(path(&[field]), days.message(), Some(days.hint()));
        return None;
    }
    match cron::Schedule::from_str(expression) {
        Ok(schedule) => Some(schedule),
        Err(error) => {
            problems.push(
                path(&[field]),
                format!("`{expression}` is not a valid cron expression: {error}"),
                Some(
                    "six or seven fields: second minute hour day-of-month month day-of-week [year], e.g. \"0 0 9 * * Mon-Fri\""
                        .to_owned(),
                ),
            );
            None
        }
    }
}

/// Holidays and exceptions by date; an exception wins over a holiday.
fn overrides(raw: &RawSchedule, problems: &mut Problems) -> BTreeMap<NaiveDate, DayHours> {
    let mut overrides: BTreeMap<NaiveDate, DayHours> = raw
        .holidays
        .iter()
        .map(|date| (*date, DayHours::Closed))
        .collect();
    let mut seen: BTreeMap<NaiveDate, usize> = BTreeMap::new();
    for (index, exception) in raw.exceptions.iter().enumerate() {
        let base = ["exceptions", &index.to_string()].map(str::to_owned);
        if let Some(first) = seen.insert(exception.date, index) {
            problems.push(
                [&base[..], &["date".to_owned()]].concat(),
                format!(
                    "{} already has an exception (exceptions.{first})",
                    exception.date
                ),
                Some("merge the two into one exception".to_owned()),
            );
            seen.insert(exception.date, first);
            continue;
        }
        if let Some(hours) = exception_hours(exception, &base, problems) {
            overrides.insert(exception.date, hours);
        }
    }
    overrides
}

fn exception_hours(
    exception: &RawException,
    base: &[String; 2],
    problems: &mut Problems,
) -> Option<DayHours> {
    const HINT: &str = "give `hours: [\"09:00-12:00\"]` for special hours that day, or `closed: true` to close all day";
    let date = exception.date;
    match (&exception.hours, exception.closed) {
        (Some(_), Some(true)) => {
            problems.push(
                base.to_vec(),
                format!("the exception for {date} gives both `hours` and `closed: true`"),
                Some(HINT.to_owned()),
            );
            None
        }
        (None, None | Some(false)) => {
            problems.push(
                base.to_vec(),
                format!("the exception for {date} gives neither `hours` nor `closed: true`"),
                Some(HINT.to_owned()),
            );
            None
        }
        (None, Some(true)) => Some(DayHours::Closed),
        (Some(texts), _) => {
            let hours_path = [base[0].as_str(), base[1].as_str(), "hours"];
            let placed: Vec<Placed> = spans(texts, &hours_path, problems)
                .into_iter()
                .map(|(index, span)| Placed {
                    span,
                    path: [&base[..], &["hours".to_owned(), index.to_string()]].concat(),
                })
                .collect();
            for (later, earlier) in overlapping_pairs(&placed) {
                problems.push(
                    later.path.clone(),
                    format!("`{}` overlaps `{}` on {date}", later.span, earlier.span),
                    Some(OVERLAP_HINT.to_owned()),
                );
            }
            let mut spans: Vec<Span> = placed.into_iter().map(|p| p.span).collect();
            spans.sort();
            Some(DayHours::Open(spans))
        }
    }
}
