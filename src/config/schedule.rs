//! Opening hours in an IANA time zone: when people are there to answer.
//!
//! Outside support hours customers must learn when people are back ("we're
//! back at 9:00 CET") and where to go meanwhile, and staff rosters must know
//! who is on duty. Comms teams write these schedules in `squall.yaml`, so the
//! raw form ([`RawSchedule`]) reads like a shop's door sign: weekly hours,
//! holidays and dated exceptions, with a cron pair for anything irregular.
//!
//! [`Schedule::build`] validates a raw schedule and reports every problem at
//! once, each with a path inside the schedule's mapping and a hint. The built
//! [`Schedule`] answers questions in UTC ([`Timestamp`]); the time zone only
//! matters inside, where local wall-clock hours are turned into instants day
//! by day, so that "09:00-17:00" stays 09:00–17:00 local on the days the clocks
//! change.
//!
//! Rules a reader of a schedule can rely on:
//! - a span belongs to the day it starts on: "22:00-06:00" listed under `fri`
//!   runs from Friday 22:00 to Saturday 06:00;
//! - a holiday closes the spans that *start* on that date, and an exception
//!   replaces them (an exception wins over a holiday on the same date, so a
//!   shared list of public holidays can stay untouched);
//! - a local time that does not exist (inside a spring-forward gap) means the
//!   first instant after the gap; an ambiguous one (autumn) means the earlier
//!   of the two instants;
//! - with `open_cron`/`close_cron` the schedule is open from each opening
//!   instant until the next closing one; an instant at which both fire closes.
//!   Holidays and exceptions then replace the whole local day. A cron firing
//!   at a local time that does not exist is skipped (the `cron` crate's rule).

mod hours;
mod phrase;
mod summary;
mod timeline;
mod validate;

use crate::clock::Timestamp;
use chrono::NaiveDate;
use hours::{DayHours, Hours};
use std::collections::BTreeMap;
use std::fmt;

/// Raw YAML mirror of one schedule, as a comms team writes it:
///
/// ```yaml
/// support-hours:
///   timezone: Europe/Warsaw
///   weekly:
///     mon-fri: ["09:00-17:00"]
///     sat: ["10:00-13:00", "14:00-16:00"]
///   holidays: [2026-12-25, 2026-12-26]
///   exceptions:
///     - {date: 2026-12-24, hours: ["09:00-12:00"]}
///     - {date: 2026-12-31, closed: true}
/// ```
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSchedule {
    /// IANA time zone the hours are written in, e.g. `Europe/Warsaw`,
    /// `America/New_York`, `Asia/Tokyo`. Daylight-saving changes are handled:
    /// 09:00 stays 09:00 local all year.
    pub timezone: String,
    /// Regular weekly hours. Keys are days (`mon` .. `sun`), ranges (`mon-fri`)
    /// or lists (`"sat,sun"`); values are spans `HH:MM-HH:MM`. A day may have
    /// several spans (split shifts); a span may cross midnight (`22:00-06:00`,
    /// it belongs to the day it starts on); `00:00-24:00` is all day. Days
    /// not listed are closed.
    #[serde(default)]
    pub weekly: Option<BTreeMap<String, Vec<String>>>,
    /// Dates (YYYY-MM-DD) closed all day, e.g. public holidays.
    #[serde(default)]
    pub holidays: Vec<NaiveDate>,
    /// Dates with special hours, or closed, replacing the regular ones.
    #[serde(default)]
    pub exceptions: Vec<RawException>,
    /// Cron expression (seconds first: `0 0 9 * * Mon-Fri`) for the instants
    /// at which the schedule opens, for hours too irregular for `weekly`.
    /// Needs `close_cron`; evaluated in `timezone`; used instead of `weekly`.
    /// Days of the week are names (`Mon-Fri`): numbers are refused, because
    /// this cron numbers them 1 = Sunday, not 0 = Sunday as Unix cron does.
    #[serde(default)]
    pub open_cron: Option<String>,
    /// Cron expression (seconds first: `0 0 17 * * Mon-Fri`) for the instants
    /// at which the schedule closes. Needs `open_cron`.
    #[serde(default)]
    pub close_cron: Option<String>,
}

/// One dated exception to the regular hours.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawException {
    /// The date (YYYY-MM-DD) in the schedule's time zone.
    pub date: NaiveDate,
    /// Special hours that day, as `HH:MM-HH:MM` spans, replacing the weekly ones.
    #[serde(default)]
    pub hours: Option<Vec<String>>,
    /// `true` to close all day. Give either `hours` or `closed: true`.
    #[serde(default)]
    pub closed: Option<bool>,
}

/// A problem in one schedule: `path` is relative to the schedule's mapping
/// (e.g. `["weekly", "mon-fri", "0"]`), for locating it in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleProblem {
    pub path: Vec<String>,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for ScheduleProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.join("."), self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, " (hint: {hint})")?;
        }
        Ok(())
    }
}

/// A validated schedule. Build it with [`Schedule::build`].
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub name: String,
    pub timezone: chrono_tz::Tz,
    hours: Hours,
    /// Holidays and exceptions by local date.
    overrides: BTreeMap<NaiveDate, DayHours>,
}

/// A stretch of time during which a schedule is either open or closed, as
/// returned by [`Schedule::intervals`]: `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    pub start: Timestamp,
    pub end: Timestamp,
    pub open: bool,
}

impl Schedule {
    /// Validates `raw`, returning every problem found rather than the first.
    pub fn build(name: &str, raw: &RawSchedule) -> Result<Schedule, Vec<ScheduleProblem>> {
        let parts = validate::validate(raw)?;
        Ok(Schedule {
            name: name.to_owned(),
            timezone: parts.timezone,
            hours: parts.hours,
            overrides: parts.overrides,
        })
    }

    /// Whether the schedule is open at `at`.
    pub fn is_open(&self, at: Timestamp) -> bool {
        timeline::is_open(self, at)
    }

    /// Next instant strictly after `at` at which the schedule opens or closes;
    /// `None` if nothing changes within about 400 days.
    pub fn next_change(&self, at: Timestamp) -> Option<Timestamp> {
        timeline::next_change(self, at)
    }

    /// When it next opens (`at` itself if open); `None` if it does not open
    /// within about 400 days.
    pub fn next_open(&self, at: Timestamp) -> Option<Timestamp> {
        if self.is_open(at) {
            Some(at)
        } else {
            self.next_change(at)
        }
    }

    /// When it next closes (`at` itself if closed); `None` if it stays open
    /// (or never opens) within about 400 days.
    pub fn next_close(&self, at: Timestamp) -> Option<Timestamp> {
        if self.is_open(at) {
            self.next_change(at)
        } else {
            Some(at)
        }
    }

    /// Open and closed stretches covering `[from, to)` without gaps, merged so
    /// that neighbours always differ in `open`. Empty if `from >= to`.
    pub fn intervals(&self, from: Timestamp, to: Timestamp) -> Vec<Interval> {
        timeline::intervals(self, from, to)
    }

    /// "When are people back?", for a customer, in the schedule's time zone and
    /// in `lang` (ISO 639-1: en, pl, ru, ja, he; others fall back to en):
    /// "now" when open, else e.g. "tomorrow at 9:00 CET". `None` if the
    /// schedule does not open within about 400 days.
    pub fn describe_next_open(&self, at: Timestamp, lang: &str) -> Option<String> {
        let language = phrase::Language::from_tag(lang);
        if self.is_open(at) {
            return Some(language.now().to_owned());
        }
        let next = self.next_change(at)?;
        Some(phrase::when_back(
            language,
            self.timezone,
            at,
            next,
            phrase::Wording::Relative,
        ))
    }

    /// Like [`describe_next_open`](Self::describe_next_open), without "today"
    /// or "tomorrow": "on Tuesday at 9:00 CET", "we wtorek o 9:00 CET". For
    /// a pinned off-hours note, which is read all night long and must stay
    /// true after midnight. `None` when open or never opening again.
    pub fn describe_opening(&self, at: Timestamp, lang: &str) -> Option<String> {
        if self.is_open(at) {
            return None;
        }
        let next = self.next_change(at)?;
        Some(phrase::when_back(
            phrase::Language::from_tag(lang),
            self.timezone,
            at,
            next,
            phrase::Wording::Absolute,
        ))
    }

    /// One-line human summary for `squall schedule list`, e.g.
    /// "Mon–Fri 09:00–17:00, Sat 10:00–13:00 (Europe/Warsaw)".
    pub fn describe(&self) -> String {
        summary::describe(self)
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every property of `schema` and of its definitions, with whether it has
    /// a description.
    fn documented_properties(schema: &serde_json::Value) -> Vec<(String, bool)> {
        let objects = std::iter::once(schema).chain(
            schema["$defs"]
                .as_object()
                .into_iter()
                .flat_map(|d| d.values()),
        );
        objects
            .flat_map(|object| object["properties"].as_object().into_iter().flatten())
            .map(|(name, property)| (name.clone(), property.get("description").is_some()))
            .collect()
    }

    #[test]
    fn every_raw_field_is_documented_in_the_json_schema() {
        let schema = serde_json::to_value(schemars::schema_for!(RawSchedule)).unwrap_or_default();
        let properties = documented_properties(&schema);
        let names: Vec<&str> = properties.iter().map(|(name, _)| name.as_str()).collect();
        for expected in [
            "timezone",
            "weekly",
            "holidays",
            "exceptions",
            "open_cron",
            "close_cron",
            "date",
            "hours",
            "closed",
        ] {
            assert!(
                names.contains(&expected),
                "{expected} missing from {names:?}"
            );
        }
        let undocumented: Vec<&str> = properties
            .iter()
            .filter(|(_, documented)| !documented)
            .map(|(name, _)| name.as_str())
            .collect();
        assert!(undocumented.is_empty(), "undocumented: {undocumented:?}");
    }
}
