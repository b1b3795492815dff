//! Cron expressions as people write them, and what the `cron` crate makes
//! of them.
//!
//! The crate numbers the days of the week 1 = Sunday to 7 = Saturday. Unix
//! cron (crontab(5)), which is what people know, has 0 = Sunday, 1 = Monday
//! to 6 = Saturday, and 7 = Sunday again. The same text means different days:
//! `0 0 9 * * 1-5` fires Sunday to Thursday here, when whoever wrote it meant
//! Monday to Friday, and `0` (Sunday) is refused outright. Rather than guess
//! which numbering a person had in mind, squall refuses numbers in the
//! day-of-week field and says which names to write: names (`MON-FRI`) read
//! the same everywhere. Playbook schedule triggers and the config's
//! `open_cron`/`close_cron` both check their expressions here.

use std::collections::BTreeSet;

/// Day names in Unix numbering: `NAMES[0]` is Sunday, `NAMES[1]` Monday.
const NAMES: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// A day-of-week field written with numbers, and what those numbers mean.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumericDays {
    /// The field as written (`1-5`).
    pub field: String,
    /// The days in Unix cron's numbering, as names (`MON-FRI`); `None` when
    /// Unix cron would refuse the field too.
    pub unix: Option<String>,
    /// The days the `cron` crate reads, as names (`SUN-THU`); `None` when it
    /// refuses them (`0`).
    pub here: Option<String>,
    /// The whole expression with the field replaced by `unix`.
    pub rewritten: Option<String>,
}

impl NumericDays {
    /// What is wrong, for a diagnostic's message.
    pub fn message(&self) -> String {
        format!(
            "day of the week `{}` is written in numbers, which squall does not read the way Unix cron does",
            self.field
        )
    }

    /// What to write instead, for a diagnostic's hint.
    pub fn hint(&self) -> String {
        let field = &self.field;
        let here = match &self.here {
            Some(here) => format!("{here} here"),
            None => "no day at all here".to_owned(),
        };
        match (&self.unix, &self.rewritten) {
            (Some(unix), Some(rewritten)) => format!(
                "`{field}` means {unix} in Unix cron but {here}: write `{unix}` (`{rewritten}`)"
            ),
            _ => "write the days as names, SUN to SAT: `MON-FRI`, `SAT,SUN`".to_owned(),
        }
    }
}

/// The day-of-week field of `expression` (seconds first: six or seven
/// fields) if it has numbers in it. A number after `/` is a step, not a day,
/// so `*/2` is fine (both numberings start the week on Sunday).
pub fn numeric_day_of_week(expression: &str) -> Option<NumericDays> {
    let fields: Vec<&str> = expression.split_whitespace().collect();
    if !matches!(fields.len(), 6 | 7) {
        return None;
    }
    numeric_days(&fields, 5)
}

/// A five-field (Unix) expression with the seconds field squall's cron
/// wants in front, its numeric days of the week turned into names by the
/// Unix meaning: `0 9 * * 1-5` → `0 0 9 * * MON-FRI`.
pub fn with_seconds(expression: &str) -> String {
    let fields: Vec<&str> = expression.split_whitespace().collect();
    let named = (fields.len() == 5)
        .then(|| numeric_days(&fields, 4))
        .flatten()
        .and_then(|days| days.rewritten);
    format!("0 {}", named.as_deref().unwrap_or(expression.trim()))
}

fn numeric_days(fields: &[&str], index: usize) -> Option<NumericDays> {
    let field = *fields.get(index)?;
    let numeric = field
        .split(',')
        .any(|item| item.split('/').next().is_some_and(has_digit));
    if !numeric {
        return None;
    }
    let unix = days(field, Numbering::Unix).map(|d| names(&d));
    let rewritten = unix.as_ref().map(|unix| {
        let mut fields: Vec<&str> = fields.to_vec();
        fields[index] = unix;
        fields.join(" ")
    });
    Some(NumericDays {
        field: field.to_owned(),
        here: days(field, Numbering::Crate).map(|d| names(&d)),
        unix,
        rewritten,
    })
}

fn has_digit(text: &str) -> bool {
    text.chars().any(|c| c.is_ascii_digit())
}

#[derive(Debug, Clone, Copy)]
enum Numbering {
    /// 0 = Sunday .. 6 = Saturday, 7 = Sunday.
    Unix,
    /// The `cron` crate's: 1 = Sunday .. 7 = Saturday.
    Crate,
}

impl Numbering {
    /// The numbers `*` stands for.
    fn all(self) -> (u32, u32) {
        match self {
            Numbering::Unix => (0, 6),
            Numbering::Crate => (1, 7),
        }
    }

    /// A written number as a day (0 = Sunday), if it is one.
    fn day(self, n: u32) -> Option<u32> {
        match self {
            Numbering::Unix if n <= 7 => Some(n % 7),
            Numbering::Crate if (1..=7).contains(&n) => Some(n - 1),
            _ => None,
        }
    }

    /// A day name as this numbering's number.
    fn named(self, name: &str) -> Option<u32> {
        let day = match name.to_ascii_lowercase().as_str() {
            "sun" | "sunday" => 0,
            "mon" | "monday" => 1,
            "tue" | "tues" | "tuesday" => 2,
            "wed" | "wednesday" => 3,
            "thu" | "thurs" | "thursday" => 4,
            "fri" | "friday" => 5,
            "sat" | "saturday" => 6,
            _ => return None,
        };
        Some(match self {
            Numbering::Unix => day,
            Numbering::Crate => day + 1,
        })
    }

    fn number(self, text: &str) -> Option<u32> {
        let text = text.trim();
        text.parse().ok().or_else(|| self.named(text))
    }
}

/// The days (0 = Sunday) a day-of-week field names under `numbering`, or
/// `None` if that numbering has no such days.
fn days(field: &str, numbering: Numbering) -> Option<BTreeSet<u32>> {
    let mut days = BTreeSet::new();
    for item in field.split(',') {
        let (base, step) = match item.split_once('/') {
            Some((base, step)) => (base, Some(step.trim().parse::<usize>().ok()?)),
            None => (item, None),
        };
        let (first, last) = match base.trim() {
            "*" | "?" => numbering.all(),
            range => match range.split_once('-') {
                Some((a, b)) => (numbering.number(a)?, numbering.number(b)?),
                None => {
                    let n = numbering.number(range)?;
                    (n, if step.is_some() { numbering.all().1 } else { n })
                }
            },
        };
        if first > last || step == Some(0) {
            return None;
        }
        for n in (first..=last).step_by(step.unwrap_or(1)) {
            days.insert(numbering.day(n)?);
        }
    }
    Some(days)
}

/// Days (0 = Sunday) as names in the week's order, runs of three or more
/// as ranges: `MON-FRI`, `SUN,SAT`.
fn names(days: &BTreeSet<u32>) -> String {
    let mut parts = Vec::new();
    let mut run: Vec<u32> = Vec::new();
    let mut flush = |run: &mut Vec<u32>| {
        let name = |d: &u32| NAMES[*d as usize % 7];
        match run.as_slice() {
            [] => {}
            [first, .., last] if run.len() >= 3 => {
                parts.push(format!("{}-{}", name(first), name(last)))
            }
            some => parts.extend(some.iter().map(|d| name(d).to_owned())),
        }
        run.clear();
    };
    for &day in days {
        if run.last().is_some_and(|last| last + 1 != day) {
            flush(&mut run);
        }
        run.push(day);
    }
    flush(&mut run);
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(expression: &str, unix: Option<&str>, here: Option<&str>) {
        let days = numeric_day_of_week(expression)
            .unwrap_or_else(|| panic!("{expression}: numeric days not found"));
        assert_eq!(
            (days.unix.as_deref(), days.here.as_deref()),
            (unix, here),
            "{expression}"
        );
    }

    #[test]
    fn numbers_are_read_both_ways_and_named() {
        check("0 0 9 * * 1-5", Some("MON-FRI"), Some("SUN-THU"));
        check("0 0 12 * * 2", Some("TUE"), Some("MON"));
        check("0 0 12 * * 0", Some("SUN"), None);
        check("0 0 12 * * 7", Some("SUN"), Some("SAT"));
        check("0 0 12 * * 0,6", Some("SUN,SAT"), None);
        check("0 0 12 * * 6,7", Some("SUN,SAT"), Some("FRI,SAT"));
        check(
            "0 0 12 * * 1/2",
            Some("MON,WED,FRI"),
            Some("SUN,TUE,THU,SAT"),
        );
        check("0 0 12 * * MON,3 2027", Some("MON,WED"), Some("MON,TUE"));
        check("0 0 12 * * 8", None, None);
    }

    #[test]
    fn names_and_steps_of_every_day_are_not_numbers() {
        for expression in [
            "0 0 9 * * MON-FRI",
            "0 0 9 * * Sun",
            "0 0 9 * * */2",
            "0 0 9 * * *",
            "0 0 9 1 * ?",
            "@weekly",
            "0 9 * * 1-5",
        ] {
            assert_eq!(numeric_day_of_week(expression), None, "{expression}");
        }
    }

    #[test]
    fn the_hint_gives_the_unix_days_as_names_in_the_whole_expression() {
        let days = numeric_day_of_week("0 0 9 * * 1-5").unwrap_or_else(|| panic!("numeric"));
        assert_eq!(
            days.hint(),
            "`1-5` means MON-FRI in Unix cron but SUN-THU here: write `MON-FRI` (`0 0 9 * * MON-FRI`)"
        );
    }

    #[test]
    fn a_five_field_expression_gets_seconds_and_day_names() {
        assert_eq!(with_seconds("0 9 * * 1-5"), "0 0 9 * * MON-FRI");
        assert_eq!(with_seconds("0 2 * * Sun"), "0 0 2 * * Sun");
        assert_eq!(with_seconds(" 30 8 * * * "), "0 30 8 * * *");
    }
}
