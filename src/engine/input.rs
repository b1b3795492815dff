//! What the engine reacts to: mentions, monitoring alerts, people's commands,
//! and the passing of time.

use crate::clock::Timestamp;
use crate::mention::Mention;
use crate::playbook::{AlertSource, IncidentState};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One input to [`super::Engine::handle`].
#[derive(Debug, Clone)]
pub enum Input {
    Mention(Box<Mention>),
    Alert(Alert),
    Command(Command),
}

/// Whether an alert fires or has resolved; the only two values webhooks
/// may send (the OpenAPI description lists them, so API clients and
/// schemathesis know).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    Firing,
    Resolved,
}

/// A monitoring alert, normalised from Alertmanager, Grafana or a generic webhook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub source: AlertSource,
    pub status: AlertStatus,
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// Stable identity of the alert; repeated deliveries are idempotent on
    /// `(fingerprint, status, starts_at)`.
    pub fingerprint: String,
    pub starts_at: Timestamp,
    #[serde(default)]
    pub ends_at: Option<Timestamp>,
}

impl Alert {
    /// The key that makes a repeated delivery of the same alert a no-op.
    pub fn dedup_key(&self) -> String {
        let status = match self.status {
            AlertStatus::Firing => "firing",
            AlertStatus::Resolved => "resolved",
        };
        format!(
            "alert/{}/{}/{}",
            self.fingerprint,
            status,
            self.starts_at.timestamp()
        )
    }
}

/// Refers to an incident: its id, or a playbook name meaning "the latest
/// incident of that playbook" (rehearsal files cannot know generated ids).
pub type IncidentRef = String;

/// Something a person did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Command {
    /// Staff id of who did it; goes on the timeline.
    pub by: String,
    #[serde(flatten)]
    pub kind: CommandKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum CommandKind {
    /// Open an incident by hand through a playbook's manual trigger.
    Declare {
        playbook: String,
        #[serde(default)]
        note: Option<String>,
    },
    Acknowledge {
        incident: IncidentRef,
    },
    SetState {
        incident: IncidentRef,
        state: IncidentState,
    },
    /// Post a commander's update: a note and, when known, the expected time of the fix.
    Update {
        incident: IncidentRef,
        #[serde(default)]
        note: Option<String>,
        #[serde(default)]
        eta: Option<String>,
    },
    /// Replace the text of the status post waiting for approval.
    EditStatus {
        incident: IncidentRef,
        text: String,
    },
    /// Approve the pending status text (optionally edited at the same time).
    ApproveStatus {
        incident: IncidentRef,
        #[serde(default)]
        text: Option<String>,
    },
    /// Approve (and optionally edit) a reply draft; it is then sent.
    ApproveDraft {
        draft: u64,
        #[serde(default)]
        text: Option<String>,
    },
    DiscardDraft {
        draft: u64,
        reason: String,
    },
    /// Take a pending draft into one's own queue (the caller becomes its assignee).
    ClaimDraft {
        draft: u64,
    },
    /// Replace a pending draft's text; it stays pending until approved.
    EditDraft {
        draft: u64,
        text: String,
    },
    Resolve {
        incident: IncidentRef,
        #[serde(default)]
        note: Option<String>,
    },
}
