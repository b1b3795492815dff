//! `squall report INCIDENT`: what happened and what it was worth, from the
//! store (BRIEF lesson 16). The timeline, mention volume per minute,
//! drafts created, sent and discarded, first-response times (p50, p90,
//! max: from when the customer wrote to when the reply went out), SLA
//! breaches, and the estimated call-centre cost saved: unique customers
//! answered × the playbook's `call_share` × `cost_per_call`.
//!
//! [`Report::build`] is pure (rows in, figures out); rendering is Markdown,
//! JSON or HTML, the HTML escaping every stored text (customer words and
//! staff notes are data).

use crate::clock::Timestamp;
use crate::engine::escape_html;
use crate::playbook::model::ReportPolicy;
use crate::store::{DraftRow, DraftState, IncidentRow, TimelineRow};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Md,
    Json,
    Html,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    pub incident: String,
    pub title: String,
    pub playbook: String,
    pub state: String,
    pub opened_at: Timestamp,
    pub resolved_at: Option<Timestamp>,
    pub mentions: usize,
    /// Mentions per minute, from the first to the last.
    pub volume: Vec<Bucket>,
    pub drafts: DraftCounts,
    /// Seconds from the customer's mention to the reply, over sent drafts.
    pub first_response: Option<Percentiles>,
    /// Drafts escalated for waiting past their SLA.
    pub sla_breaches: usize,
    /// Distinct customers who got a reply.
    pub customers_answered: usize,
    /// `None` when the playbook has no `report:` settings.
    pub cost_saved: Option<CostSaved>,
    pub timeline: Vec<Line>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Bucket {
    pub minute: Timestamp,
    pub mentions: usize,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct DraftCounts {
    pub created: usize,
    pub pending: usize,
    pub approved: usize,
    pub sent: usize,
    pub discarded: usize,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Percentiles {
    pub p50: i64,
    pub p90: i64,
    pub max: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CostSaved {
    pub customers: usize,
    pub call_share: f64,
    pub cost_per_call: f64,
    pub amount: f64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Line {
    pub at: Timestamp,
    pub kind: String,
    pub actor: String,
    pub message: String,
}

impl Report {
    /// The figures for one incident from what the store holds.
    pub fn build(
        inc: &IncidentRow,
        timeline: &[TimelineRow],
        drafts: &[DraftRow],
        mention_times: &[Timestamp],
        policy: Option<ReportPolicy>,
    ) -> Report {
        let mut volume: BTreeMap<i64, usize> = BTreeMap::new();
        for t in mention_times {
            *volume.entry(t.timestamp().div_euclid(60)).or_default() += 1;
        }
        let volume = volume
            .into_iter()
            .filter_map(|(m, n)| {
                chrono::DateTime::from_timestamp(m * 60, 0).map(|minute| Bucket {
                    minute,
                    mentions: n,
                })
            })
            .collect();
        let mut counts = DraftCounts {
            created: drafts.len(),
            ..DraftCounts::default()
        };
        let mut waits = Vec::new();
        let mut answered = BTreeSet::new();
        for d in drafts {
            match d.state {
                DraftState::Pending => counts.pending += 1,
                DraftState::Approved => counts.approved += 1,
                DraftState::Discarded => counts.discarded += 1,
                DraftState::Sent => {
                    counts.sent += 1;
                    answered.insert((d.mention_platform.clone(), d.detail.author.id.clone()));
                    if let Some(sent) = d.sent_at {
                        waits.push((sent - d.mention_at).num_seconds().max(0));
                    }
                }
            }
        }
        let cost_saved = policy.map(|p| CostSaved {
            customers: answered.len(),
            call_share: p.call_share,
            cost_per_call: p.cost_per_call,
            amount: (answered.len() as f64 * p.call_share * p.cost_per_call * 100.0).round()
                / 100.0,
        });
        Report {
            incident: inc.id.clone(),
            title: inc.title.clone(),
            playbook: inc.playbook.clone(),
            state: inc.state.as_str().to_string(),
            opened_at: inc.opened_at,
            resolved_at: inc.resolved_at,
            mentions: mention_times.len(),
            volume,
            drafts: counts,
            first_response: percentiles(waits),
            sla_breaches: timeline
                .iter()
                .filter(|t| t.kind == "draft_escalated")
                .count(),
            customers_answered: answered.len(),
            cost_saved,
            timeline: timeline
                .iter()
                .map(|t| Line {
                    at: t.at,
                    kind: t.kind.clone(),
                    actor: t.actor.clone(),
                    message: t.message.clone(),
                })
                .collect(),
        }
    }

    pub fn render(&self, format: ReportFormat) -> String {
        match format {
            ReportFormat::Json => serde_json::to_string_pretty(self).unwrap_or_default() + "\n",
            ReportFormat::Md => self.lines(&|s| s.to_string(), Markup::MD),
            ReportFormat::Html => {
                let body = self.lines(&escape_html, Markup::HTML);
                format!(
                    "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{}</title></head><body>\n{body}</body></html>\n",
                    escape_html(&self.incident)
                )
            }
        }
    }

    /// The report as headed sections, `esc` applied to every stored text.
    fn lines(&self, esc: &dyn Fn(&str) -> String, m: Markup) -> String {
        let mut out = String::new();
        let h = |level: usize, t: &str| (m.heading)(level, t);
        out.push_str(&h(
            1,
            &format!("{}: {}", esc(&self.incident), esc(&self.title)),
        ));
        let resolved = self
            .resolved_at
            .map_or("not yet".to_string(), |t| t.to_rfc3339());
        let facts = [
            format!("Playbook: {}", esc(&self.playbook)),
            format!("State: {}", self.state),
            format!("Opened: {}", self.opened_at.to_rfc3339()),
            format!("Resolved: {resolved}"),
            format!("Mentions: {}", self.mentions),
            format!(
                "Drafts: {} created, {} sent, {} discarded, {} pending, {} approved (sending)",
                self.drafts.created,
                self.drafts.sent,
                self.drafts.discarded,
                self.drafts.pending,
                self.drafts.approved
            ),
            match &self.first_response {
                Some(p) => format!(
                    "First response: p50 {}s, p90 {}s, max {}s",
                    p.p50, p.p90, p.max
                ),
                None => "First response: no reply sent yet".to_string(),
            },
            format!("SLA breaches: {}", self.sla_breaches),
            format!("Customers answered: {}", self.customers_answered),
            match &self.cost_saved {
                Some(c) => format!(
                    "Estimated call-centre cost saved: {:.2} ({} customers × {} would have called × {:.2} per call)",
                    c.amount, c.customers, c.call_share, c.cost_per_call
                ),
                None => "Estimated call-centre cost saved: set `report:` in the playbook".to_string(),
            },
        ];
        out.push_str(&(m.list)(&facts));
        out.push_str(&h(2, "Mentions per minute"));
        let volume: Vec<String> = self
            .volume
            .iter()
            .map(|b| format!("{} {}", b.minute.format("%H:%M"), b.mentions))
            .collect();
        out.push_str(&(m.list)(&volume));
        out.push_str(&h(2, "Timeline"));
        let lines: Vec<String> = self
            .timeline
            .iter()
            .map(|l| {
                format!(
                    "{} {} ({}): {}",
                    l.at.format("%H:%M:%S"),
                    l.kind,
                    esc(&l.actor),
                    esc(&l.message)
                )
            })
            .collect();
        out.push_str(&(m.list)(&lines));
        out
    }
}

/// How headings and lists are written in one output format.
#[derive(Clone, Copy)]
struct Markup {
    heading: fn(usize, &str) -> String,
    list: fn(&[String]) -> String,
}

impl Markup {
    const MD: Markup = Markup {
        heading: |level, t| format!("\n{} {t}\n\n", "#".repeat(level)),
        list: |items| items.iter().map(|i| format!("- {i}\n")).collect(),
    };
    const HTML: Markup = Markup {
        heading: |level, t| format!("<h{level}>{t}</h{level}>\n"),
        list: |items| {
            let li: String = items.iter().map(|i| format!("<li>{i}</li>\n")).collect();
            format!("<ul>\n{li}</ul>\n")
        },
    };
}

/// Nearest-rank percentiles; `None` for no samples.
fn percentiles(mut v: Vec<i64>) -> Option<Percentiles> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let rank = |p: f64| {
        let i = ((p * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1;
        v[i]
    };
    Some(Percentiles {
        p50: rank(0.5),
        p90: rank(0.9),
        max: v[v.len() - 1],
    })
}

#[cfg(test)]
mod tests {
    use super::percentiles;

    #[test]
    fn percentiles_are_nearest_rank() {
        let p = percentiles((1..=10).collect()).unwrap();
        assert_eq!((p.p50, p.p90, p.max), (5, 9, 10));
        let p = percentiles(vec![42]).unwrap();
        assert_eq!((p.p50, p.p90, p.max), (42, 42, 42));
        assert!(percentiles(Vec::new()).is_none());
    }
}
