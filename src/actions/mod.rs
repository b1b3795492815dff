//! Actions: the side effects the engine decides on.
//!
//! The engine never performs a side effect. It returns [`ActionIntent`]s,
//! which the runtime writes to the store's outbox *in the same transaction*
//! as the state change that caused them. The [`executor`] then claims each
//! intent and carries it out through the platform adapters. Every intent has
//! an idempotency key (incident, step, account, verb): enqueueing it twice is
//! a no-op, and adapters pass the key on to platforms that honour one.

pub mod executor;

use serde::{Deserialize, Serialize};

/// What to do, with everything needed to do it (texts are rendered already,
/// so a retry after a crash sends exactly what was decided).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ActionIntent {
    /// Post the status text on one account and pin it. At the platform's
    /// pin limit, `at_pin_limit` decides: displace the oldest pin (recorded
    /// for restoring) or fail this account without posting.
    PostStatus {
        incident: String,
        account: String,
        text: String,
        pin: bool,
        /// Absent in intents queued before the setting existed: unpin oldest.
        #[serde(default)]
        at_pin_limit: crate::playbook::AtPinLimit,
    },
    /// Replace the text of this incident's status post on one account.
    EditStatus {
        incident: String,
        account: String,
        text: String,
    },
    /// Unpin this incident's status post and re-pin what it displaced.
    RestorePins { incident: String, account: String },
    /// Post the resolution note (not pinned).
    PostFinal {
        incident: String,
        account: String,
        text: String,
    },
    /// A public reply or a private message to one customer.
    SendReply {
        incident: Option<String>,
        account: String,
        /// Draft id, or `None` for an auto-reply.
        draft: Option<u64>,
        in_reply_to: String,
        author_id: String,
        text: String,
        private: bool,
    },
    /// Post the off-hours note on one account and pin it, with the same pin
    /// bookkeeping as a status post (purpose `off_hours`, what it displaced
    /// recorded for restoring).
    PinNote { account: String, text: String },
    /// Unpin the account's off-hours note and re-pin what it displaced.
    UnpinNote { account: String },
    /// Tell a staff member by email or chat.
    Notify {
        incident: Option<String>,
        staff: String,
        channel: crate::playbook::Channel,
        subject: String,
        text: String,
    },
    /// One e-mail to a staff member listing the drafts assigned to them
    /// since their last digest (plain text and HTML).
    Digest {
        staff: String,
        subject: String,
        text: String,
        html: String,
        drafts: Vec<u64>,
    },
    /// POST a rendered JSON body to a URL.
    Webhook {
        incident: Option<String>,
        url: String,
        body: String,
        secret_env: Option<String>,
    },
}

impl ActionIntent {
    pub fn kind(&self) -> &'static str {
        match self {
            ActionIntent::PostStatus { .. } => "post_status",
            ActionIntent::EditStatus { .. } => "edit_status",
            ActionIntent::RestorePins { .. } => "restore_pins",
            ActionIntent::PostFinal { .. } => "post_final",
            ActionIntent::SendReply { .. } => "send_reply",
            ActionIntent::PinNote { .. } => "pin_note",
            ActionIntent::UnpinNote { .. } => "unpin_note",
            ActionIntent::Notify { .. } => "notify",
            ActionIntent::Digest { .. } => "digest",
            ActionIntent::Webhook { .. } => "webhook",
        }
    }

    pub fn incident(&self) -> Option<&str> {
        match self {
            ActionIntent::PostStatus { incident, .. }
            | ActionIntent::EditStatus { incident, .. }
            | ActionIntent::RestorePins { incident, .. }
            | ActionIntent::PostFinal { incident, .. } => Some(incident),
            ActionIntent::SendReply { incident, .. }
            | ActionIntent::Notify { incident, .. }
            | ActionIntent::Webhook { incident, .. } => incident.as_deref(),
            ActionIntent::PinNote { .. } | ActionIntent::UnpinNote { .. } => None,
            ActionIntent::Digest { .. } => None,
        }
    }

    pub fn account(&self) -> Option<&str> {
        match self {
            ActionIntent::PostStatus { account, .. }
            | ActionIntent::EditStatus { account, .. }
            | ActionIntent::RestorePins { account, .. }
            | ActionIntent::PostFinal { account, .. }
            | ActionIntent::SendReply { account, .. }
            | ActionIntent::PinNote { account, .. }
            | ActionIntent::UnpinNote { account } => Some(account),
            ActionIntent::Notify { .. }
            | ActionIntent::Digest { .. }
            | ActionIntent::Webhook { .. } => None,
        }
    }
}

/// An intent with its idempotency key, as the engine emits it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Keyed {
    /// Unique per incident, step, account and verb.
    pub key: String,
    pub intent: ActionIntent,
}
