//! Timeline events: every decision the engine or a worker makes, with its reason.
//!
//! The same events feed the incident timeline in the store, the `simulate`
//! output, and (later) the live event stream, so their `kind` names are a
//! stable, documented interface.

use crate::clock::Timestamp;
use serde::Serialize;

/// What happened. Serialised in snake_case: these are the `kind` values of
/// `squall simulate --json`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize, strum::IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum EventKind {
    /// One trigger evaluation (only shown with `--explain`).
    SurgeEvaluated,
    SurgeDetected,
    SurgeSubsided,
    /// A surge lasted so long that its level is now the detector's normal.
    SurgeNewLevel,
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
    /// An account's standing off-hours began (its schedule closed).
    OffHoursOn,
    /// An account's standing off-hours ended (its schedule opened).
    OffHoursOff,
    /// The off-hours note stepped aside for an incident's status, came back
    /// after it, or waits for it (`action`: yielded, restored, held).
    OffHoursNote,
    AutoReplySent,
    /// No auto-reply, with the `reason` code in the detail.
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
    /// The `kind` name, as serialised.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
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

#[cfg(test)]
mod tests {
    use super::EventKind;

    #[test]
    fn the_kind_name_is_the_serialised_name() {
        for k in [
            EventKind::SurgeDetected,
            EventKind::IncidentOpened,
            EventKind::PinRestored,
            EventKind::AutoReplySent,
            EventKind::CommandRejected,
        ] {
            assert_eq!(
                serde_json::to_value(k).ok(),
                Some(serde_json::Value::String(k.as_str().to_string()))
            );
        }
    }
}
