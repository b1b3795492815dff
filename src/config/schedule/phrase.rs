//! "When are people back?" in the words a customer expects, in the author's
//! language and its local wording: "tomorrow at 9:00 CET", "jutro o 9:00 CET",
//! "明日9:00 (CET)".
//!
//! Deliberately a small table, not a localisation framework: the sentence is
//! short, each language needs its own word order and grammar (Polish "we
//! wtorek", Russian "во вторник", genitive month names), and templates embed
//! the result as one value.

use crate::clock::Timestamp;
use chrono::{DateTime, Datelike, Offset, Timelike, Weekday};
use chrono_tz::{OffsetName, Tz};

/// Languages with their own wording; anything else reads English.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Language {
    En,
    Pl,
    Ru,
    Ja,
    He,
}

impl Language {
    /// From an ISO 639-1 code or a longer tag (`pl`, `pl-PL`, `ja_JP`).
    pub(super) fn from_tag(tag: &str) -> Language {
        let primary = tag
            .trim()
            .split(['-', '_'])
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        match primary.as_str() {
            "pl" => Language::Pl,
            "ru" => Language::Ru,
            "ja" => Language::Ja,
            // `iw` is the withdrawn code for Hebrew, still sent by some systems.
            "he" | "iw" => Language::He,
            _ => Language::En,
        }
    }

    /// What to say when people are there right now.
    pub(super) fn now(self) -> &'static str {
        match self {
            Language::En => "now",
            Language::Pl => "teraz",
            Language::Ru => "сейчас",
            Language::Ja => "現在対応中",
            Language::He => "עכשיו",
        }
    }
}

/// Which day, as a customer counts it from today in the schedule's zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Day {
    Today,
    Tomorrow,
    /// Within the coming week: the weekday name is unambiguous.
    ThisWeek(Weekday),
    /// Further away: day of month and month (1-based).
    Date {
        day: u32,
        month: u32,
    },
}

/// How the day is named: relative to today ("tomorrow"), for a reply read
/// at once, or without relative words ("on Tuesday"), for a pinned note that
/// stays up all night and must stay true after midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Wording {
    Relative,
    Absolute,
}

/// "When people are back" for an opening at `next`, seen at `at`.
pub(super) fn when_back(
    language: Language,
    tz: Tz,
    at: Timestamp,
    next: Timestamp,
    wording: Wording,
) -> String {
    let today = at.with_timezone(&tz).date_naive();
    let next = next.with_timezone(&tz);
    let day = match ((next.date_naive() - today).num_days(), wording) {
        (..=0, Wording::Relative) => Day::Today,
        (1, Wording::Relative) => Day::Tomorrow,
        (..=6, _) => Day::ThisWeek(next.weekday()),
        _ => Day::Date {
            day: next.day(),
            month: next.month(),
        },
    };
    let time = format!("{}:{:02}", next.hour(), next.minute());
    render(language, day, &time, &zone_label(&next))
}

fn render(language: Language, day: Day, time: &str, zone: &str) -> String {
    match language {
        Language::En => format!("{} at {time} {zone}", english_day(day)),
        Language::Pl => format!("{} o {time} {zone}", polish_day(day)),
        Language::Ru => format!("{} в {time} {zone}", russian_day(day)),
        Language::Ja => format!("{}{time} ({zone})", japanese_day(day)),
        Language::He => format!("{} ב-{time} {zone}", hebrew_day(day)),
    }
}

fn english_day(day: Day) -> String {
    const WEEKDAYS: [&str; 7] = [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ];
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    match day {
        Day::Today => "today".to_owned(),
        Day::Tomorrow => "tomorrow".to_owned(),
        Day::ThisWeek(weekday) => format!("on {}", WEEKDAYS[weekday_index(weekday)]),
        Day::Date { day, month } => format!("on {day} {}", MONTHS[month_index(month)]),
    }
}

fn polish_day(day: Day) -> String {
    // With the preposition, in the accusative ("we" before "wtorek").
    const WEEKDAYS: [&str; 7] = [
        "w poniedziałek",
        "we wtorek",
        "w środę",
        "w czwartek",
        "w piątek",
        "w sobotę",
        "w niedzielę",
    ];
    // Genitive, as in "27 grudnia".
    const MONTHS: [&str; 12] = [
        "stycznia",
        "lutego",
        "marca",
        "kwietnia",
        "maja",
        "czerwca",
        "lipca",
        "sierpnia",
        "września",
        "października",
        "listopada",
        "grudnia",
    ];
    match day {
        Day::Today => "dziś".to_owned(),
        Day::Tomorrow => "jutro".to_owned(),
        Day::ThisWeek(weekday) => WEEKDAYS[weekday_index(weekday)].to_owned(),
        Day::Date { day, month } => format!("{day} {}", MONTHS[month_index(month)]),
    }
}

fn russian_day(day: Day) -> String {
    // With the preposition, in the accusative ("во" before "вторник").
    const WEEKDAYS: [&str; 7] = [
        "в понедельник",
        "во вторник",
        "в среду",
        "в четверг",
        "в пятницу",
        "в субботу",
        "в воскресенье",
    ];
    // Genitive, as in "27 декабря".
    const MONTHS: [&str; 12] = [
        "января",
        "февраля",
        "марта",
        "апреля",
        "мая",
        "июня",
        "июля",
        "августа",
        "сентября",
        "октября",
        "ноября",
        "декабря",
    ];
    match day {
        Day::Today => "сегодня".to_owned(),
        Day::Tomorrow => "завтра".to_owned(),
        Day::ThisWeek(weekday) => WEEKDAYS[weekday_index(weekday)].to_owned(),
        Day::Date { day, month } => format!("{day} {}", MONTHS[month_index(month)]),
    }
}

fn japanese_day(day: Day) -> String {
    const WEEKDAYS: [&str; 7] = [
        "月曜日",
        "火曜日",
        "水曜日",
        "木曜日",
        "金曜日",
        "土曜日",
        "日曜日",
    ];
    match day {
        Day::Today => "本日".to_owned(),
        Day::Tomorrow => "明日".to_owned(),
        Day::ThisWeek(weekday) => WEEKDAYS[weekday_index(weekday)].to_owned(),
        Day::Date { day, month } => format!("{month}月{day}日"),
    }
}

fn hebrew_day(day: Day) -> String {
    const WEEKDAYS: [&str; 7] = [
        "ביום שני",
        "ביום שלישי",
        "ביום רביעי",
        "ביום חמישי",
        "ביום שישי",
        "בשבת",
        "ביום ראשון",
    ];
    const MONTHS: [&str; 12] = [
        "ינואר",
        "פברואר",
        "מרץ",
        "אפריל",
        "מאי",
        "יוני",
        "יולי",
        "אוגוסט",
        "ספטמבר",
        "אוקטובר",
        "נובמבר",
        "דצמבר",
    ];
    match day {
        Day::Today => "היום".to_owned(),
        Day::Tomorrow => "מחר".to_owned(),
        Day::ThisWeek(weekday) => WEEKDAYS[weekday_index(weekday)].to_owned(),
        Day::Date { day, month } => format!("ב-{day} ב{}", MONTHS[month_index(month)]),
    }
}

fn weekday_index(weekday: Weekday) -> usize {
    weekday.num_days_from_monday() as usize
}

/// Index into a month table; chrono months are 1..=12.
fn month_index(month: u32) -> usize {
    (month.clamp(1, 12) - 1) as usize
}

/// The zone's abbreviation at that instant (CET, CEST, JST, EDT). Zones with
/// no letter abbreviation print a bare offset ("+03"); customers read
/// "UTC+3" better.
fn zone_label(at: &DateTime<Tz>) -> String {
    match at.offset().abbreviation() {
        Some(abbreviation) if abbreviation.starts_with(|c: char| c.is_alphabetic()) => {
            abbreviation.to_owned()
        }
        _ => utc_offset_label(at.offset().fix().local_minus_utc()),
    }
}

fn utc_offset_label(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let minutes = seconds.unsigned_abs() / 60;
    match (minutes / 60, minutes % 60) {
        (0, 0) => "UTC".to_owned(),
        (hours, 0) => format!("UTC{sign}{hours}"),
        (hours, minutes) => format!("UTC{sign}{hours}:{minutes:02}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_tags_pick_the_wording_and_unknown_ones_read_english() {
        let cases = [
            ("pl", Language::Pl),
            ("pl-PL", Language::Pl),
            ("RU", Language::Ru),
            ("ja_JP", Language::Ja),
            ("he", Language::He),
            ("iw", Language::He),
            ("de", Language::En),
            ("", Language::En),
        ];
        for (tag, expected) in cases {
            assert_eq!(Language::from_tag(tag), expected, "{tag}");
        }
    }

    #[test]
    fn numeric_offsets_read_as_utc_plus_or_minus() {
        let cases = [
            (3 * 3600, "UTC+3"),
            (-3 * 3600, "UTC-3"),
            (5 * 3600 + 1800, "UTC+5:30"),
            (0, "UTC"),
        ];
        for (seconds, expected) in cases {
            assert_eq!(utc_offset_label(seconds), expected);
        }
    }

    #[test]
    fn zones_without_a_letter_abbreviation_print_an_offset() {
        let at: Timestamp = "2026-06-01T12:00:00Z".parse().unwrap_or_default();
        let istanbul = at.with_timezone(&chrono_tz::Europe::Istanbul);
        let warsaw = at.with_timezone(&chrono_tz::Europe::Warsaw);
        assert_eq!(zone_label(&istanbul), "UTC+3");
        assert_eq!(zone_label(&warsaw), "CEST");
    }
}
