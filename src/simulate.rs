//! `squall simulate`: replay a recorded stream through the real engine,
//! store and outbox, against the `sim` platform, with a simulated clock.
//!
//! **Architecture Invariant:** simulation is not a second implementation.
//! It is [`crate::runtime::Runtime`] driven by a simulated clock, an
//! in-memory SQLite store and [`crate::adapters::sim`] adapters. Given the
//! same files it prints byte-identical output.
//!
//! The stream file is NDJSON. A line is a mention (see `docs/mentions.md`),
//! or a person's action, recognised by its `action` key:
//! `{"at": "2026-11-23T09:20:00Z", "by": "ana", "action": "approve_status", "incident": "site-down"}`.
//! The alerts file is NDJSON of alerts, each either squall's normalised form
//! or an Alertmanager webhook payload (`{"at": ..., "alerts": [...]}`).

use crate::actions::executor::Executor;
use crate::adapters::sim::{sim_adapters, SimWorld};
use crate::clock::Timestamp;
use crate::config::Config;
use crate::engine::drafts::DraftState;
use crate::engine::events::{Event, EventKind};
use crate::engine::input::{Alert, AlertStatus, Command, Input};
use crate::engine::Engine;

use crate::playbook::{AlertSource, Playbook};
use crate::runtime::{Runtime, RuntimeError};
use crate::store::Store;
use crate::templates::TemplateSet;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::Arc;

/// A problem in a replayed file, with its line.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error("cannot read {file}")]
    Io {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}:{line}: {message}")]
    Line {
        file: String,
        line: usize,
        message: String,
    },
    /// Nothing to replay: the replay would start at 1970 and show only
    /// what the schedules do there.
    #[error("nothing to replay: no mentions, actions or alerts in {files}")]
    Empty { files: String },
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error(transparent)]
    Stream(#[from] StreamError),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
}

/// One replayed input with the time it happens.
#[derive(Debug, Clone)]
pub struct Timed {
    pub at: Timestamp,
    pub input: Input,
}

#[derive(Deserialize)]
struct TimedCommand {
    at: Timestamp,
    #[serde(flatten)]
    command: Command,
}

/// Reads a stream of mentions and people's actions. A mention must be
/// addressed to one of `accounts` ([`crate::mention::check_account`], as
/// at `POST /v1/mentions`): a misspelt account would otherwise replay as a
/// day nobody is paged for.
///
/// # Errors
/// The first unreadable line, with its number and what is wrong.
pub fn read_stream(path: &Path, accounts: &BTreeSet<String>) -> Result<Vec<Timed>, StreamError> {
    let file = path.display().to_string();
    let f = std::fs::File::open(path).map_err(|source| StreamError::Io {
        file: file.clone(),
        source,
    })?;
    let mut out = Vec::new();
    for (i, line) in std::io::BufReader::new(f).lines().enumerate() {
        let line = line.map_err(|source| StreamError::Io {
            file: file.clone(),
            source,
        })?;
        let n = i + 1;
        let line = without_bom(&line);
        if line.trim().is_empty() {
            continue;
        }
        let err = |message: String| StreamError::Line {
            file: file.clone(),
            line: n,
            message,
        };
        let value: serde_json::Value =
            serde_json::from_str(line).map_err(|e| err(format!("not JSON: {e}")))?;
        if value.get("action").is_some() {
            let c: TimedCommand = serde_json::from_value(value)
                .map_err(|e| err(format!("not a valid action: {e}")))?;
            out.push(Timed {
                at: c.at,
                input: Input::Command(c.command),
            });
        } else {
            let m = crate::mention::parse_ndjson_line(line).map_err(|e| err(e.to_string()))?;
            crate::mention::check_account(&m.account, accounts).map_err(err)?;
            out.push(Timed {
                at: m.created_at,
                input: Input::Mention(Box::new(m)),
            });
        }
    }
    Ok(out)
}

#[derive(Deserialize)]
struct AmAlert {
    status: AlertStatus,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(rename = "startsAt")]
    starts_at: Timestamp,
    #[serde(rename = "endsAt", default)]
    ends_at: Option<Timestamp>,
    #[serde(default)]
    fingerprint: String,
}

#[derive(Deserialize)]
struct AmPayload {
    #[serde(default)]
    at: Option<Timestamp>,
    alerts: Vec<AmAlert>,
}

#[derive(Deserialize)]
struct TimedAlert {
    #[serde(default)]
    at: Option<Timestamp>,
    #[serde(flatten)]
    alert: Alert,
}

/// Reads alerts: squall's normalised form, or Alertmanager webhook payloads.
///
/// # Errors
/// The first unreadable line.
pub fn read_alerts(path: &Path) -> Result<Vec<Timed>, StreamError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| StreamError::Io {
        file: file.clone(),
        source,
    })?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = without_bom(line);
        if line.trim().is_empty() {
            continue;
        }
        let err = |message: String| StreamError::Line {
            file: file.clone(),
            line: i + 1,
            message,
        };
        let value: serde_json::Value =
            serde_json::from_str(line).map_err(|e| err(format!("not JSON: {e}")))?;
        if value.get("alerts").is_some() {
            let p: AmPayload = serde_json::from_value(value)
                .map_err(|e| err(format!("not an Alertmanager webhook payload: {e}")))?;
            for a in p.alerts {
                let at = p.at.unwrap_or(match a.status {
                    AlertStatus::Firing => a.starts_at,
                    AlertStatus::Resolved => a.ends_at.unwrap_or(a.starts_at),
                });
                let alert = Alert {
                    source: AlertSource::Alertmanager,
                    status: a.status,
                    labels: a.labels,
                    annotations: a.annotations,
                    fingerprint: a.fingerprint,
                    starts_at: a.starts_at,
                    ends_at: a.ends_at,
                };
                out.push(Timed {
                    at,
                    input: Input::Alert(alert),
                });
            }
        } else {
            let t: TimedAlert =
                serde_json::from_value(value).map_err(|e| err(format!("not an alert: {e}")))?;
            let at = t.at.unwrap_or(match t.alert.status {
                AlertStatus::Firing => t.alert.starts_at,
                AlertStatus::Resolved => t.alert.ends_at.unwrap_or(t.alert.starts_at),
            });
            out.push(Timed {
                at,
                input: Input::Alert(t.alert),
            });
        }
    }
    Ok(out)
}

/// A line without the byte-order mark some editors put at the start of a
/// file (Windows Notepad, Excel's "UTF-8" export).
fn without_bom(line: &str) -> &str {
    line.strip_prefix('\u{feff}').unwrap_or(line)
}

/// Reads a stream of mentions and actions plus, optionally, an alerts file;
/// mentions must be to one of `accounts` (see [`read_stream`]).
///
/// # Errors
/// The first unreadable line of either file, or both files empty.
pub fn read_inputs(
    mentions: &Path,
    alerts: Option<&Path>,
    accounts: &BTreeSet<String>,
) -> Result<Vec<Timed>, StreamError> {
    let mut inputs = read_stream(mentions, accounts)?;
    if let Some(a) = alerts {
        inputs.extend(read_alerts(a)?);
    }
    if inputs.is_empty() {
        let files = std::iter::once(mentions)
            .chain(alerts)
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(" and ");
        return Err(StreamError::Empty { files });
    }
    Ok(inputs)
}

/// How to replay.
pub struct Options {
    pub json: bool,
    pub explain: bool,
    /// Keep time running this long after the last input (timers, quiet periods).
    pub tail: std::time::Duration,
    /// Accounts start with a post of their own pinned, to show restoring.
    pub pre_pinned: bool,
    pub progress: bool,
}

/// What a replay amounted to.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Summary {
    pub mentions: usize,
    pub incidents_opened: usize,
    pub incidents_resolved: usize,
    pub pins: usize,
    pub pins_restored: usize,
    pub drafts: usize,
    pub drafts_sent: usize,
    /// Longest time from a customer's mention to its reply being sent (or
    /// to the end of the replay, if it was never sent), in seconds.
    pub longest_wait_secs: i64,
    /// One after-incident report per incident (BRIEF lesson 16).
    pub reports: Vec<Report>,
}

/// What one incident amounted to, and what answering people saved.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Report {
    pub incident: String,
    pub playbook: String,
    /// Seconds from opening to resolution (or to the end of the replay).
    pub open_secs: i64,
    pub mentions: u64,
    /// Distinct authors who wrote about it.
    pub authors: usize,
    /// Distinct customers who got an answer (reply sent or auto-reply).
    pub engaged: usize,
    /// engaged × share who would have called × cost per call, when the
    /// playbook sets `report:`.
    pub call_centre_savings: Option<f64>,
}

fn reports(engine: &Engine, end: Timestamp) -> Vec<Report> {
    engine
        .incidents()
        .map(|i| {
            let policy = engine
                .playbooks()
                .iter()
                .find(|p| p.name == i.playbook)
                .and_then(|p| p.incident.report);
            let until = i.resolution.as_ref().map(|r| r.at).unwrap_or(end);
            Report {
                incident: i.id.clone(),
                playbook: i.playbook.clone(),
                open_secs: (until - i.opened_at).num_seconds(),
                mentions: i.mentions,
                authors: i.authors.len(),
                engaged: i.engaged.len(),
                call_centre_savings: policy.map(|p| {
                    ((i.engaged.len() as f64 * p.call_share * p.cost_per_call) * 100.0).round()
                        / 100.0
                }),
            }
        })
        .collect()
}

/// Replays `inputs` and writes the timeline to `out`.
///
/// # Errors
/// Store or output failures; bad input lines are reported before replay.
pub async fn run(
    config: Arc<Config>,
    playbooks: Vec<Playbook>,
    templates: Arc<TemplateSet>,
    mut inputs: Vec<Timed>,
    opts: &Options,
    out: &mut dyn Write,
) -> Result<Summary, SimError> {
    inputs.sort_by_key(|t| t.at); // stable: equal times keep file order
    let start = inputs
        .first()
        .map(|t| t.at)
        .unwrap_or_else(|| chrono::DateTime::UNIX_EPOCH);
    let end = inputs.last().map(|t| t.at).unwrap_or(start)
        + chrono::Duration::from_std(opts.tail).unwrap_or_default();
    let store = Store::open("sqlite::memory:").await?;
    let world = SimWorld::default();
    let adapters = sim_adapters(&config, &world, opts.pre_pinned);
    let mut engine = Engine::new(config.clone(), playbooks, templates, start);
    engine.set_explain(opts.explain);
    let executor = Executor::new(store.clone(), adapters, config.clone(), "sim");
    let mut rt = Runtime::new(engine, store, executor);
    let bar = progress_bar(opts.progress, inputs.len());
    let mut summary = Summary {
        mentions: inputs
            .iter()
            .filter(|t| matches!(t.input, Input::Mention(_)))
            .count(),
        ..Default::default()
    };
    for t in inputs {
        while let Some(d) = rt.next_deadline().filter(|d| *d <= t.at) {
            let evs = rt.tick(d).await?;
            emit(&evs, opts, out, &mut summary)?;
        }
        let evs = rt.submit(t.at, t.input).await?;
        emit(&evs, opts, out, &mut summary)?;
        if let Some(b) = &bar {
            b.inc(1);
        }
    }
    while let Some(d) = rt.next_deadline().filter(|d| *d <= end) {
        let evs = rt.tick(d).await?;
        emit(&evs, opts, out, &mut summary)?;
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    for d in rt.engine.drafts().drafts.values() {
        let until = match &d.state {
            DraftState::Sent { at, .. } => *at,
            DraftState::Discarded { at, .. } => *at,
            _ => end,
        };
        summary.longest_wait_secs = summary
            .longest_wait_secs
            .max((until - d.mention_at).num_seconds());
    }
    summary.drafts = rt.engine.drafts().drafts.len();
    summary.reports = reports(&rt.engine, end);
    write_summary(&summary, end, opts, out)?;
    Ok(summary)
}

fn emit(
    events: &[Event],
    opts: &Options,
    out: &mut dyn Write,
    s: &mut Summary,
) -> Result<(), std::io::Error> {
    for e in events {
        match e.kind {
            EventKind::IncidentOpened => s.incidents_opened += 1,
            EventKind::IncidentResolved => s.incidents_resolved += 1,
            EventKind::Pinned => s.pins += 1,
            EventKind::PinRestored => s.pins_restored += 1,
            EventKind::DraftSent => s.drafts_sent += 1,
            _ => {}
        }
        if opts.json {
            serde_json::to_writer(&mut *out, e)?;
            writeln!(out)?;
        } else {
            writeln!(
                out,
                "{}  {:<26} {:<28} {}",
                e.at.format("%Y-%m-%d %H:%M:%S"),
                e.kind.as_str(),
                e.incident.as_deref().unwrap_or("-"),
                e.message
            )?;
        }
    }
    Ok(())
}

fn write_summary(
    s: &Summary,
    end: Timestamp,
    opts: &Options,
    out: &mut dyn Write,
) -> Result<(), std::io::Error> {
    if opts.json {
        let mut v = serde_json::to_value(s).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.insert("at".into(), serde_json::json!(end));
            o.insert("kind".into(), serde_json::json!("summary"));
        }
        serde_json::to_writer(&mut *out, &v)?;
        writeln!(out)
    } else {
        writeln!(out)?;
        writeln!(out, "Summary: {} mentions replayed; {} incidents opened, {} resolved; {} pins ({} earlier pins restored); {} reply drafts, {} sent; longest wait in the reply queue {}.", s.mentions, s.incidents_opened, s.incidents_resolved, s.pins, s.pins_restored, s.drafts, s.drafts_sent, humantime::format_duration(std::time::Duration::from_secs(s.longest_wait_secs.max(0) as u64)))?;
        for r in &s.reports {
            let savings = match r.call_centre_savings {
                Some(v) => format!("; estimated call-centre cost saved {v:.2}"),
                None => String::new(),
            };
            writeln!(
                out,
                "Report {}: open {}, {} from {}, {} answered{savings}.",
                r.incident,
                humantime::format_duration(std::time::Duration::from_secs(
                    r.open_secs.max(0) as u64
                )),
                crate::engine::plural(r.mentions as u32, "mention"),
                if r.authors == 1 {
                    "1 person".to_string()
                } else {
                    format!("{} people", r.authors)
                },
                r.engaged
            )?;
        }
        Ok(())
    }
}

fn progress_bar(enabled: bool, len: usize) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !enabled || len < 5_000 || !std::io::stderr().is_terminal() {
        return None;
    }
    let b = indicatif::ProgressBar::new(len as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} inputs {eta}")
    {
        b.set_style(style);
    }
    Some(b)
}
