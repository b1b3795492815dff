//! Timeline events: every decision the engine or a worker makes, with its reason.
//!
//! The same events feed the incident timeline in the store, the `simulate`
//! output, and (later) the live event stream, so their `kind` names are a
//! stable, documented interface.

use crate::clock::Timestamp;
use serde::Serialize;

/// What happened. Serialised in snake_case: these are the `kind` values of
/// `squall simulate --json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// One trigger evaluation (only shown with `--explain`).
    SurgeEvaluated,
    SurgeDetected,
    SurgeSubsided,
    KeywordMatched,
    AlertReceived,
    AlertDuplicate,
    ScheduleFired,
    /// A trigger fired for an incident that is already open.
    TriggerAttached,
    /// A trigger fired but no incident was opened (cooldown, rate limit).
    TriggerSuppressed,
    IncidentOpened,
    IncidentStateChanged,
    IncidentUpdated,
    IncidentResolved,
    StatusAwaitingApproval,
    StatusEdited,
    StatusApproved,
    ApprovalReminder,
    StatusPosted,
    StatusUpdated,
    StatusStale,
    Pinned,
    Unpinned,
    PinRestored,
    PinSkipped,
    FinalPosted,
    AutoresponderEnabled,
    AutoresponderDisabled,
    AutoReplySent,
    AutoReplyHeld,
    MentionSkipped,
    DraftCreated,
    DraftUpdated,
    DraftAssigned,
    DraftUnassigned,
    DraftEscalated,
    DraftApproved,
    DraftSent,
    DraftDiscarded,
    Notified,
    WebhookSent,
    ActionFailed,
    ActionRetry,
    CommandRejected,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        KIND_NAMES
            .iter()
            .find(|(k, _)| *k == self)
            .map(|(_, n)| *n)
            .unwrap_or("unknown")
    }
}

macro_rules! kind_names {
    ($($v:ident => $n:literal),* $(,)?) => {
        const KIND_NAMES: &[(EventKind, &str)] = &[$((EventKind::$v, $n)),*];
    };
}
kind_names! {
    SurgeEvaluated => "surge_evaluated", SurgeDetected => "surge_detected", SurgeSubsided => "surge_subsided",
    KeywordMatched => "keyword_matched", AlertReceived => "alert_received", AlertDuplicate => "alert_duplicate",
    ScheduleFired => "schedule_fired", TriggerAttached => "trigger_attached", TriggerSuppressed => "trigger_suppressed",
    IncidentOpened => "incident_opened", IncidentStateChanged => "incident_state_changed",
    IncidentUpdated => "incident_updated", IncidentResolved => "incident_resolved",
    StatusAwaitingApproval => "status_awaiting_approval", StatusEdited => "status_edited",
    StatusApproved => "status_approved", ApprovalReminder => "approval_reminder", StatusPosted => "status_posted",
    StatusUpdated => "status_updated", StatusStale => "status_stale", Pinned => "pinned", Unpinned => "unpinned",
    PinRestored => "pin_restored", PinSkipped => "pin_skipped", FinalPosted => "final_posted",
    AutoresponderEnabled => "autoresponder_enabled", AutoresponderDisabled => "autoresponder_disabled",
    AutoReplySent => "auto_reply_sent", AutoReplyHeld => "auto_reply_held", MentionSkipped => "mention_skipped",
    DraftCreated => "draft_created", DraftUpdated => "draft_updated", DraftAssigned => "draft_assigned",
    DraftUnassigned => "draft_unassigned", DraftEscalated => "draft_escalated", DraftApproved => "draft_approved",
    DraftSent => "draft_sent", DraftDiscarded => "draft_discarded", Notified => "notified",
    WebhookSent => "webhook_sent", ActionFailed => "action_failed", ActionRetry => "action_retry",
    CommandRejected => "command_rejected",
}

/// One timeline entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    pub at: Timestamp,
    pub kind: EventKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incident: Option<String>,
    /// Who decided: `engine`, a staff id, `alertmanager`, `outbox`.
    pub actor: String,
    /// A sentence with the reason, for people.
    pub message: String,
    /// Structured facts (observed counts, account, post id...), for machines.
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    pub detail: serde_json::Map<String, serde_json::Value>,
}

impl Event {
    pub fn new(
        at: Timestamp,
        kind: EventKind,
        actor: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            at,
            kind,
            incident: None,
            actor: actor.into(),
            message: message.into(),
            detail: Default::default(),
        }
    }

    pub fn incident(mut self, id: &str) -> Self {
        self.incident = Some(id.to_string());
        self
    }

    pub fn with(mut self, key: &str, value: impl Serialize) -> Self {
        if let Ok(v) = serde_json::to_value(value) {
            self.detail.insert(key.to_string(), v);
        }
        self
    }
}
