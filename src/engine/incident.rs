//! One incident: its lifecycle, its status post and what it switched on.

use crate::clock::Timestamp;
use crate::playbook::{Approval, IncidentState};
use serde::Serialize;
use std::collections::BTreeMap;

/// How an incident ended. Exists only once it is resolved, so a resolved
/// incident always has a resolution time and a reason.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resolution {
    pub at: Timestamp,
    pub by: String,
    pub reason: String,
}

/// The status post's life: drafted and waiting for a person, or out there.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum StatusPost {
    /// No `pin_status` step (yet).
    None,
    /// Rendered, waiting for approval by `approval.by` until `deadline`.
    AwaitingApproval {
        text: String,
        accounts: Vec<String>,
        #[serde(skip)]
        approval: Approval,
        deadline: Timestamp,
        /// Set once the text was edited by a person: state changes then no
        /// longer re-render it over their words.
        edited_by: Option<String>,
    },
    /// Posted (or being posted) on these accounts.
    Posted {
        text: String,
        accounts: Vec<String>,
        approved_by: String,
        at: Timestamp,
    },
}

/// An autoresponder switched on by a playbook step for this incident.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AutoresponderState {
    pub account: String,
    pub schedule: String,
    pub template: String,
    pub on_call: Option<String>,
    /// Also answer public mentions, not only direct messages.
    pub public_mentions: bool,
    /// Outside the schedule right now: auto-replies go out.
    pub enabled: bool,
}

/// An incident as the engine holds it.
#[derive(Debug, Clone, Serialize)]
pub struct Incident {
    pub id: String,
    pub playbook: String,
    pub group_key: String,
    pub title: String,
    /// Which kind of trigger opened it: surge, keyword, alert, schedule, manual.
    pub trigger_kind: &'static str,
    /// Labels of the alert that opened it, for step conditions.
    pub labels: BTreeMap<String, String>,
    pub state: IncidentState,
    pub opened_at: Timestamp,
    pub acknowledged_at: Option<Timestamp>,
    pub mitigated_at: Option<Timestamp>,
    pub resolution: Option<Resolution>,
    pub status: StatusPost,
    /// When the public status last changed (for stale reminders).
    pub status_changed_at: Timestamp,
    /// The commander's latest note and expected time of the fix.
    pub note: Option<String>,
    pub eta: Option<String>,
    /// When the surge that opened it subsided (for auto-resolve).
    pub subsided_at: Option<Timestamp>,
    pub autoresponders: Vec<AutoresponderState>,
    /// The `reply_drafts` step in force, once it has run.
    #[serde(skip)]
    pub drafting: Option<crate::playbook::ReplyDrafts>,
    /// The on_open `pin_status` step's template, re-rendered as the phase changes.
    pub status_template: Option<String>,
    /// Bumped at every change of the public status text (idempotency keys of edits).
    pub status_version: u32,
    /// When the escalation role was last paged about drafts past their SLA.
    pub escalation_notified_at: Option<Timestamp>,
    /// Mentions attached and distinct authors, for the report.
    pub mentions: u64,
    pub authors: std::collections::BTreeSet<String>,
    /// Customers who got an answer (a sent reply or an auto-reply), for the
    /// after-incident report (BRIEF lesson 16).
    pub engaged: std::collections::BTreeSet<String>,
}

impl Incident {
    pub fn is_resolved(&self) -> bool {
        self.resolution.is_some()
    }

    /// Moves to `to`, stamping the time it was reached. Returns false for a
    /// move that is not forward (states only advance; a resolved incident
    /// stays resolved).
    pub fn advance(&mut self, to: IncidentState, at: Timestamp) -> bool {
        if to <= self.state || self.is_resolved() || to == IncidentState::Resolved {
            return false;
        }
        self.state = to;
        match to {
            IncidentState::Acknowledged => self.acknowledged_at = Some(at),
            IncidentState::Mitigated => {
                self.acknowledged_at.get_or_insert(at);
                self.mitigated_at = Some(at);
            }
            IncidentState::Open | IncidentState::Resolved => {}
        }
        true
    }

    /// Resolves the incident. Returns false if it already was.
    pub fn resolve(&mut self, at: Timestamp, by: &str, reason: String) -> bool {
        if self.is_resolved() {
            return false;
        }
        self.state = IncidentState::Resolved;
        self.resolution = Some(Resolution {
            at,
            by: by.to_string(),
            reason,
        });
        true
    }

    pub fn posted_accounts(&self) -> &[String] {
        match &self.status {
            StatusPost::Posted { accounts, .. } => accounts,
            _ => &[],
        }
    }
}
