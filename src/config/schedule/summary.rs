//! One-line summaries of schedules for people scanning a list
//! (`squall schedule list`): "Mon–Fri 09:00–17:00, Sat 10:00–13:00
//! (Europe/Warsaw)".

use super::hours::{DayHours, Hours, Span, Week, WEEK};
use super::Schedule;

pub(super) fn describe(schedule: &Schedule) -> String {
    let hours = match &schedule.hours {
        Hours::Weekly(week) if week.is_empty() && schedule.overrides.is_empty() => {
            "never open".to_owned()
        }
        Hours::Weekly(week) if week.is_empty() => "no regular hours".to_owned(),
        Hours::Weekly(week) => weekly(week),
        Hours::Cron(pair) => format!(
            "opens at cron `{}`, closes at cron `{}`",
            pair.open.source(),
            pair.close.source()
        ),
    };
    let closed = schedule
        .overrides
        .values()
        .filter(|h| matches!(h, DayHours::Closed))
        .count();
    let special = schedule.overrides.len() - closed;
    let mut notes = Vec::new();
    match closed {
        0 => {}
        1 => notes.push("1 closed date".to_owned()),
        n => notes.push(format!("{n} closed dates")),
    }
    match special {
        0 => {}
        1 => notes.push("1 date with special hours".to_owned()),
        n => notes.push(format!("{n} dates with special hours")),
    }
    let notes = if notes.is_empty() {
        String::new()
    } else {
        format!("; {}", notes.join(", "))
    };
    format!("{hours}{notes} ({})", schedule.timezone.name())
}

/// Runs of consecutive weekdays with the same hours, closed days left out.
fn weekly(week: &Week) -> String {
    let mut groups: Vec<(usize, usize)> = Vec::new();
    for (index, day) in WEEK.iter().enumerate() {
        if week.spans(*day).is_empty() {
            continue;
        }
        match groups.last_mut() {
            Some((_, last))
                if *last + 1 == index && week.spans(WEEK[*last]) == week.spans(*day) =>
            {
                *last = index
            }
            _ => groups.push((index, index)),
        }
    }
    let described: Vec<String> = groups
        .into_iter()
        .map(|(first, last)| {
            let days = if first == last {
                WEEK[first].to_string()
            } else {
                format!("{}–{}", WEEK[first], WEEK[last])
            };
            format!("{days} {}", spans(week.spans(WEEK[first])))
        })
        .collect();
    described.join(", ")
}

fn spans(spans: &[Span]) -> String {
    if let [only] = spans {
        if only.start_minute() == 0 && only.end_minute() == super::hours::MINUTES_PER_DAY {
            return "all day".to_owned();
        }
    }
    let texts: Vec<String> = spans.iter().map(Span::to_string).collect();
    texts.join(" and ")
}
