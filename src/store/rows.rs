//! The records the store keeps, as plain Rust values.
//!
//! These are what the engine, the outbox worker and the CLI read and write;
//! they carry no database types, so a Postgres store can hand out the very
//! same values. `New*` types are what callers supply to create a record; the
//! store assigns ids and the lifecycle fields.

use crate::adapters::PostRef;
use crate::clock::Timestamp;
use crate::mention::Mention;
use crate::playbook::model::IncidentState;
use serde::Serialize;
use serde_json::Value;

/// A stored mention with what the store knows about it beyond the post itself.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MentionRow {
    pub mention: Mention,
    /// When squall accepted it (processing time, as opposed to `created_at`).
    pub received_at: Timestamp,
    pub incident_id: Option<String>,
}

/// One incident, as the engine last decided it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncidentRow {
    /// Engine-assigned, e.g. `inc-0001`.
    pub id: String,
    pub playbook: String,
    pub group_key: String,
    pub state: IncidentState,
    pub title: String,
    /// What opened it (`surge`, `keyword`, `alert`, `manual`, ...).
    pub trigger_kind: String,
    pub opened_at: Timestamp,
    pub acknowledged_at: Option<Timestamp>,
    pub mitigated_at: Option<Timestamp>,
    pub resolved_at: Option<Timestamp>,
    /// The public status text currently published, if any.
    pub status_text: Option<String>,
    pub status_approved_by: Option<String>,
    pub detail: Value,
}

/// A timeline event to append.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewTimeline {
    /// `None` for events outside any incident (e.g. a surge evaluation).
    pub incident_id: Option<String>,
    pub at: Timestamp,
    pub kind: String,
    /// Who: `engine`, a staff name, `alertmanager`, ...
    pub actor: String,
    /// A human sentence that includes the reason.
    pub message: String,
    pub detail: Value,
}

/// What is written with the end of an outbox row's attempt, in the same
/// transaction and only if the row was still the worker's: a crash between
/// an action and its record could otherwise keep the action (never
/// repeated) and lose what it did from the timeline, or journal an outcome
/// twice.
#[derive(Debug, Default, Clone, Copy)]
pub struct RowEnd<'a> {
    /// Journaled as an `outcome` input: a cluster's outbox workers tell the
    /// engine leader what became of each action this way.
    pub outcome: Option<&'a Value>,
    /// What the attempt did, for the incidents' timelines.
    pub timeline: &'a [NewTimeline],
}

/// A timeline event as stored; `seq` orders all events.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimelineRow {
    pub seq: i64,
    pub incident_id: Option<String>,
    pub at: Timestamp,
    pub kind: String,
    pub actor: String,
    pub message: String,
    pub detail: Value,
}

/// Where an outbox intent is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutboxState {
    /// Waiting for a worker (from `not_before` on).
    Pending,
    /// Leased by a worker; reclaimable once the lease expires.
    Running,
    Done,
    /// Gave up; `last_error` says why.
    Failed,
    Cancelled,
}

/// An action intent, written before its side effect.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewOutbox {
    /// One per incident + step + account: enqueuing the same key twice is a no-op.
    pub idem_key: String,
    /// `None` for actions outside any incident (e.g. off-hours pins).
    pub incident_id: Option<String>,
    pub kind: String,
    pub account: Option<String>,
    pub payload: Value,
    /// Earliest time a worker may pick it up.
    pub not_before: Timestamp,
    pub created_at: Timestamp,
}

/// An outbox row as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutboxRow {
    pub id: i64,
    pub idem_key: String,
    pub incident_id: Option<String>,
    pub kind: String,
    pub account: Option<String>,
    pub payload: Value,
    pub state: OutboxState,
    /// Claims so far, including the current one.
    pub attempts: i64,
    pub not_before: Timestamp,
    /// The worker holding (or, once done, that last held) the lease.
    pub lease_owner: Option<String>,
    pub lease_until: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub result: Option<Value>,
    pub last_error: Option<String>,
}

/// Why squall pinned a post.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PinPurpose {
    /// An incident status post.
    Status,
    /// The off-hours notice.
    OffHours,
}

/// A pin squall made, and what it displaced to make room.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewPin {
    pub account: String,
    pub post_id: String,
    pub post_url: Option<String>,
    pub incident_id: Option<String>,
    pub purpose: PinPurpose,
    pub pinned_at: Timestamp,
    /// Posts squall unpinned to make room, to restore afterwards.
    pub displaced: Vec<PostRef>,
}

/// A pin as stored. Active while `unpinned_at` is `None`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PinRow {
    pub id: i64,
    pub account: String,
    pub post_id: String,
    pub post_url: Option<String>,
    pub incident_id: Option<String>,
    pub purpose: PinPurpose,
    pub pinned_at: Timestamp,
    pub unpinned_at: Option<Timestamp>,
    pub displaced: Vec<PostRef>,
    /// When the displaced posts were pinned again.
    pub restored_at: Option<Timestamp>,
}

/// One author talking to the brand about one incident.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConversationRow {
    pub id: i64,
    pub incident_id: String,
    pub platform: String,
    pub author_id: String,
    pub author_handle: String,
    pub opened_at: Timestamp,
    pub last_mention_at: Timestamp,
    pub mention_count: i64,
}

/// Where a reply draft is in its life. Only a named human moves a draft to
/// `Approved`; the schema refuses approved or sent rows without an approver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DraftState {
    Pending,
    Approved,
    Sent,
    Discarded,
}

/// A reply draft to create, or to fold into the conversation's pending draft.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewDraft {
    pub incident_id: String,
    pub conversation_id: i64,
    /// The mention to answer.
    pub mention_platform: String,
    pub mention_id: String,
    /// When the customer wrote: the queue is ordered by this.
    pub mention_at: Timestamp,
    pub lang: Option<String>,
    pub text: String,
    /// Answer privately (direct message) rather than in public.
    pub private: bool,
    /// `influential`, `private_data`, `abuse`, ...: shown to staff, never used to reorder.
    pub flags: Vec<String>,
    pub created_at: Timestamp,
}

/// Who wrote the mention a draft answers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct DraftAuthor {
    pub id: String,
    pub handle: String,
    pub name: String,
    pub followers: u64,
}

/// What staff see of a draft beyond its lifecycle (the `detail` column).
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct DraftDetail {
    pub account: String,
    pub author: DraftAuthor,
    /// The customer's words with personal data masked (never the raw text).
    pub mention_text: String,
    pub previous_contacts: u32,
    /// Mentions this one reply answers (follow-ups fold in).
    pub mentions: u32,
    pub escalations: u32,
    pub discarded_by: Option<String>,
    pub edited_by: Option<String>,
}

/// A reply draft as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DraftRow {
    pub id: i64,
    pub incident_id: String,
    pub conversation_id: i64,
    pub mention_platform: String,
    pub mention_id: String,
    pub mention_at: Timestamp,
    pub lang: Option<String>,
    pub text: String,
    pub private: bool,
    pub flags: Vec<String>,
    pub state: DraftState,
    pub assignee: Option<String>,
    pub assigned_at: Option<Timestamp>,
    pub approved_by: Option<String>,
    pub approved_at: Option<Timestamp>,
    pub sent_at: Option<Timestamp>,
    pub discarded_reason: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// When it breaches its SLA (absent on drafts stored before 0005).
    pub sla_deadline: Option<Timestamp>,
    pub detail: DraftDetail,
}

/// The whole state of a draft as the engine holds it. The engine assigns
/// draft ids (it decides without I/O), so saving is an upsert by id; the
/// conversation is found or created from (incident, platform, author).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DraftSnapshot {
    pub id: i64,
    pub incident_id: String,
    pub platform: String,
    pub author_id: String,
    pub author_handle: String,
    pub mention_id: String,
    pub mention_at: Timestamp,
    pub lang: Option<String>,
    pub text: String,
    pub private: bool,
    pub flags: Vec<String>,
    pub state: DraftState,
    pub assignee: Option<String>,
    pub approved_by: Option<String>,
    pub approved_at: Option<Timestamp>,
    pub sent_at: Option<Timestamp>,
    pub discarded_reason: Option<String>,
    pub created_at: Timestamp,
    pub sla_deadline: Timestamp,
    pub detail: DraftDetail,
}

/// Which drafts `GET /v1/drafts` lists, in queue order (mention time, id).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DraftFilter {
    /// `None`: every state.
    pub state: Option<DraftState>,
    pub assignee: AssigneeFilter,
    pub incident: Option<String>,
    /// Only drafts after this position in the queue (the page cursor).
    pub after: Option<(Timestamp, i64)>,
    pub limit: u32,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub enum AssigneeFilter {
    #[default]
    Anyone,
    Nobody,
    Staff(String),
}

/// Per staff member: pending drafts held and those past their SLA.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StaffLoad {
    pub load: u32,
    pub sla_breaches: u32,
}

/// One mutation an engine decision produces; see [`super::Store::apply`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "write", rename_all = "snake_case")]
pub enum Write {
    UpsertIncident(IncidentRow),
    Timeline(NewTimeline),
    /// A no-op when the idem key exists (counted in `duplicates_skipped`).
    Enqueue(NewOutbox),
    /// Cancels a pending outbox row; a no-op if it is no longer pending.
    CancelOutbox {
        id: i64,
    },
    /// Stores the mention's row attached to the incident (only mentions
    /// attached to an incident have a row in `mentions`; every mention is
    /// in the journal), or attaches the row already there.
    AttachMention {
        mention: Box<Mention>,
        /// When the mention was received (the row's `received_at`).
        received_at: Timestamp,
        incident_id: String,
    },
    UpsertDraft(NewDraft),
    /// Saves an engine draft by id (insert or overwrite its state).
    SaveDraft(Box<DraftSnapshot>),
    /// The following draft transitions fail the batch with
    /// [`super::StoreError::Stale`] when the draft is not in a state that allows them.
    AssignDraft {
        id: i64,
        staff: String,
        at: Timestamp,
    },
    ApproveDraft {
        id: i64,
        by: String,
        text: String,
        at: Timestamp,
    },
    MarkSent {
        id: i64,
        at: Timestamp,
    },
    DiscardDraft {
        id: i64,
        reason: String,
        at: Timestamp,
    },
    /// Fails the batch with [`super::StoreError::AlreadyPinned`] on a second active pin.
    RecordPin(NewPin),
    /// Fail the batch with [`super::StoreError::Stale`] if already done.
    MarkUnpinned {
        pin_id: i64,
        at: Timestamp,
    },
    MarkRestored {
        pin_id: i64,
        at: Timestamp,
    },
    /// The pinned status moved to a new post (platforms that cannot edit:
    /// the update is a new post pinned in place of the old one).
    RepointPin {
        pin_id: i64,
        post_id: String,
        post_url: Option<String>,
    },
    /// The order to restore an account's pins in, written before the first
    /// unpin of a restore so that a restore cut short resumes without
    /// forgetting a post it had unpinned to reorder (kept in `displaced`).
    PlanRestore {
        pin_id: i64,
        order: Vec<crate::adapters::PostRef>,
    },
    /// An idempotency guard: if `key` was processed before, NOTHING in the
    /// batch is applied and [`ApplyOutcome::already_processed`] is set.
    MarkProcessed {
        key: String,
        at: Timestamp,
    },
}

/// What [`super::Store::apply`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ApplyOutcome {
    /// `Enqueue` writes skipped because their idem key existed.
    pub duplicates_skipped: usize,
    /// Ids of the outbox rows created, in write order.
    pub enqueued: Vec<i64>,
    /// Seqs of the timeline events appended, in write order.
    pub timeline_seqs: Vec<i64>,
    /// Ids of the drafts created or updated, in write order.
    pub draft_ids: Vec<i64>,
    /// Ids of the pins recorded, in write order.
    pub pin_ids: Vec<i64>,
    /// A `MarkProcessed` key had been seen: the batch was rolled back whole.
    pub already_processed: bool,
}

/// One input of the journal, as `squall serve` handed it to the engine.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JournalEntry {
    pub seq: i64,
    /// The engine time it was handled at.
    pub at: Timestamp,
    /// `boot`, `mention`, `alert`, `command`, `tick` or `outcome`. A group
    /// of mentions journaled together reads back as one `mention` entry
    /// per mention, in order, all with the group's `seq` and `at`.
    pub kind: String,
    pub payload: Value,
}
