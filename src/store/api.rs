//! The operations of [`Store`], each handed to the backend that opened it.
//!
//! Both backends compile the same operations (`ops.rs`); this is the one
//! place that names them for callers, with what each one promises.

use super::rows::*;
use super::{Backend, Result, Store};
use crate::clock::Timestamp;
use crate::mention::Mention;
use serde_json::Value;
use std::time::Duration;

macro_rules! dispatch {
    ($self:ident, $name:ident($($arg:expr),*)) => {
        match &$self.backend {
            Backend::Sqlite(b) => b.$name($($arg),*).await,
            Backend::Postgres(b) => b.$name($($arg),*).await,
        }
    };
}

impl Store {
    /// Stores mentions in one transaction. `true` for each newly stored one,
    /// `false` for one already known: ingest is idempotent on `(platform, id)`.
    pub async fn insert_mentions(
        &self,
        mentions: &[Mention],
        received_at: Timestamp,
    ) -> Result<Vec<bool>> {
        dispatch!(self, insert_mentions(mentions, received_at))
    }

    /// The status post squall made for `incident` on `account`, as the
    /// executor recorded it when the post succeeded; found whether or not it
    /// was pinned (status pages and X posts are never pinned).
    pub async fn status_post(
        &self,
        incident: &str,
        account: &str,
    ) -> Result<Option<crate::adapters::PostRef>> {
        dispatch!(self, status_post(incident, account))
    }

    /// Where the ingest connector `source` stopped reading, if it ever read.
    pub async fn ingest_cursor(&self, source: &str) -> Result<Option<String>> {
        dispatch!(self, ingest_cursor(source))
    }

    /// Records where `source` stopped reading. Call it only once the
    /// mentions read up to there are stored.
    pub async fn save_ingest_cursor(
        &self,
        source: &str,
        cursor: &str,
        now: Timestamp,
    ) -> Result<()> {
        dispatch!(self, save_ingest_cursor(source, cursor, now))
    }

    /// The stored row of a mention: only mentions attached to an incident
    /// (and those a simulation inserted) have one.
    pub async fn mention(&self, platform: &str, id: &str) -> Result<Option<MentionRow>> {
        dispatch!(self, mention(platform, id))
    }

    /// Whether the mention was ever accepted: a mention seen again is a
    /// duplicate, however long ago the first copy came.
    pub async fn mention_known(&self, platform: &str, id: &str) -> Result<bool> {
        dispatch!(self, mention_known(platform, id))
    }

    /// How many distinct mentions were ever accepted.
    pub async fn count_mentions(&self) -> Result<i64> {
        dispatch!(self, count_mentions())
    }

    /// Links a mention to an incident; `false` if the mention is unknown.
    pub async fn attach_mention(
        &self,
        platform: &str,
        id: &str,
        incident_id: &str,
    ) -> Result<bool> {
        dispatch!(self, attach_mention(platform, id, incident_id))
    }

    pub async fn upsert_incident(&self, incident: &IncidentRow) -> Result<()> {
        dispatch!(self, upsert_incident(incident))
    }

    pub async fn incident(&self, id: &str) -> Result<Option<IncidentRow>> {
        dispatch!(self, incident(id))
    }

    /// Unresolved incidents first, then newest first. With `only_open`, the
    /// unresolved ones only (open, acknowledged or mitigated).
    pub async fn incidents(&self, only_open: bool) -> Result<Vec<IncidentRow>> {
        dispatch!(self, incidents(only_open))
    }

    /// Appends an event; returns its `seq`.
    pub async fn append_timeline(&self, event: &NewTimeline) -> Result<i64> {
        dispatch!(self, append_timeline(event))
    }

    /// One incident's events in order.
    pub async fn timeline(&self, incident_id: &str) -> Result<Vec<TimelineRow>> {
        dispatch!(self, timeline(incident_id))
    }

    /// The newest timeline event's `seq` (0 when there is none).
    pub async fn timeline_last_seq(&self) -> Result<i64> {
        dispatch!(self, timeline_last_seq())
    }

    /// All events after `after_seq` (0 for the start), at most `limit`: a cursor
    /// for followers of the whole timeline.
    pub async fn timeline_all(&self, after_seq: i64, limit: u32) -> Result<Vec<TimelineRow>> {
        dispatch!(self, timeline_all(after_seq, limit))
    }

    /// Records an intent; `None` if its idem key was already enqueued.
    pub async fn enqueue(&self, intent: &NewOutbox) -> Result<Option<i64>> {
        dispatch!(self, enqueue(intent))
    }

    /// Leases the oldest claimable row to `worker` until `now + lease`
    /// (at most `MAX_LEASE`, a day): a pending row due by `now`, or a running row
    /// whose lease expired (its worker crashed). Counts the attempt.
    /// Worker names must be unique per process run: the lease is checked by name.
    pub async fn claim_next(
        &self,
        worker: &str,
        now: Timestamp,
        lease: Duration,
    ) -> Result<Option<OutboxRow>> {
        dispatch!(self, claim_next(worker, now, lease))
    }

    /// Marks the row done with its result, if `worker` still holds it.
    /// `false` means another worker reclaimed it: the caller's result is stale.
    pub async fn complete(
        &self,
        id: i64,
        worker: &str,
        result: &Value,
        now: Timestamp,
    ) -> Result<bool> {
        self.complete_with(id, worker, result, now, RowEnd::default())
            .await
    }

    /// [`Store::complete`], writing `with` in the same transaction when the
    /// row was still `worker`'s (nothing of it otherwise).
    pub async fn complete_with(
        &self,
        id: i64,
        worker: &str,
        result: &Value,
        now: Timestamp,
        with: RowEnd<'_>,
    ) -> Result<bool> {
        dispatch!(self, complete(id, worker, result, now, with))
    }

    /// Puts the row back to pending until `not_before`, if `worker` holds it.
    pub async fn retry_later(
        &self,
        id: i64,
        worker: &str,
        error: &str,
        not_before: Timestamp,
        now: Timestamp,
    ) -> Result<bool> {
        self.retry_later_with(id, worker, error, not_before, now, RowEnd::default())
            .await
    }

    /// [`Store::retry_later`], writing `with` as [`Store::complete_with`] does.
    pub async fn retry_later_with(
        &self,
        id: i64,
        worker: &str,
        error: &str,
        not_before: Timestamp,
        now: Timestamp,
        with: RowEnd<'_>,
    ) -> Result<bool> {
        dispatch!(self, retry_later(id, worker, error, not_before, now, with))
    }

    /// Gives up on the row, if `worker` holds it.
    pub async fn fail(&self, id: i64, worker: &str, error: &str, now: Timestamp) -> Result<bool> {
        self.fail_with(id, worker, error, now, RowEnd::default())
            .await
    }

    /// [`Store::fail`], writing `with` as [`Store::complete_with`] does.
    pub async fn fail_with(
        &self,
        id: i64,
        worker: &str,
        error: &str,
        now: Timestamp,
        with: RowEnd<'_>,
    ) -> Result<bool> {
        dispatch!(self, fail(id, worker, error, now, with))
    }

    /// Cancels a pending row; `false` if it is no longer pending (a running
    /// action may already have had its effect, so it is left to finish).
    pub async fn cancel(&self, id: i64) -> Result<bool> {
        dispatch!(self, cancel(id))
    }

    /// Rows still to do: pending plus running.
    pub async fn outbox_depth(&self) -> Result<i64> {
        dispatch!(self, outbox_depth())
    }

    pub async fn outbox_row(&self, id: i64) -> Result<Option<OutboxRow>> {
        dispatch!(self, outbox_row(id))
    }

    pub async fn outbox_by_incident(&self, incident_id: &str) -> Result<Vec<OutboxRow>> {
        dispatch!(self, outbox_by_incident(incident_id))
    }

    /// Lists outbox rows in one state, oldest first: `failed` is the
    /// dead-letter queue, rows that used up their retry budget.
    pub async fn outbox_in_state(&self, state: OutboxState) -> Result<Vec<OutboxRow>> {
        dispatch!(self, outbox_in_state(state))
    }

    /// How many outbox rows are in each state (for metrics).
    pub async fn outbox_counts(&self) -> Result<Vec<(OutboxState, i64)>> {
        dispatch!(self, outbox_counts())
    }

    /// The state of every intent by idempotency key: a replay of the input
    /// journal tells the engine which of its actions already happened.
    pub async fn outbox_states(&self) -> Result<std::collections::HashMap<String, OutboxState>> {
        dispatch!(self, outbox_states())
    }

    /// When each pending intent may next be tried, earliest first.
    pub async fn outbox_waiting(&self) -> Result<Vec<Timestamp>> {
        dispatch!(self, outbox_waiting())
    }

    /// Expires every lease at `now`, so rows a dead worker held are claimed
    /// again at once rather than when their lease runs out. Only for a
    /// process that knows it is the store's sole worker (`squall serve` on
    /// SQLite, at start); returns how many rows were released.
    pub async fn expire_leases(&self, now: Timestamp) -> Result<u64> {
        dispatch!(self, expire_leases(now))
    }

    /// Journals the new mentions of a group, in one transaction: once this
    /// returns, every accepted mention is on disk and will be replayed into
    /// the engine after a crash. `true` for each new mention, `false` for
    /// one already known (ingest is idempotent on `(platform, id)`).
    ///
    /// The group is one journal entry (kind `mentions`, the new mentions as
    /// a JSON array) and one key per mention in `mention_keys`: no row in
    /// `mentions` (a mention gets one when it joins an incident,
    /// [`Write::AttachMention`]). This is ingest's whole cost in the store,
    /// so it is kept to one index entry per mention.
    pub async fn journal_mentions(&self, mentions: &[Mention], at: Timestamp) -> Result<Vec<bool>> {
        dispatch!(self, journal_mentions(mentions, at))
    }

    /// Journals one input (`boot`, `alert`, `command`, `tick`) before the
    /// engine sees it.
    pub async fn journal(&self, at: Timestamp, kind: &'static str, payload: &Value) -> Result<i64> {
        dispatch!(self, journal(at, kind, payload))
    }

    /// Journal entries after `after_seq`, in order, at most `limit`: how a
    /// cluster leader follows what every instance appended.
    pub async fn journal_after(&self, after_seq: i64, limit: i64) -> Result<Vec<JournalEntry>> {
        dispatch!(self, journal_after(after_seq, limit))
    }

    /// Journals a tick at `at` only if the journal still ends at `seen_seq`
    /// (checked under the journal lock); `None` when other inputs arrived
    /// first, which must then be applied before time moves on. This keeps the
    /// journal's order the order in which the leader's engine saw things.
    pub async fn journal_tick_if_caught_up(
        &self,
        seen_seq: i64,
        at: Timestamp,
    ) -> Result<Option<i64>> {
        dispatch!(self, journal_tick_if_caught_up(seen_seq, at))
    }

    /// [`Store::apply`], refused with [`super::StoreError::Fenced`] unless
    /// `epoch` (when given) is still the cluster's leadership epoch.
    pub async fn apply_fenced(&self, epoch: Option<i64>, writes: &[Write]) -> Result<ApplyOutcome> {
        dispatch!(self, apply_fenced(epoch, writes))
    }

    /// The whole input journal, in order.
    pub async fn journal_entries(&self) -> Result<Vec<JournalEntry>> {
        dispatch!(self, journal_entries())
    }

    /// Records a pin squall made. [`StoreError::AlreadyPinned`] if the account
    /// already holds an active pin of that purpose.
    pub async fn record_pin(&self, pin: &NewPin) -> Result<i64> {
        dispatch!(self, record_pin(pin))
    }

    pub async fn active_pin(&self, account: &str, purpose: PinPurpose) -> Result<Option<PinRow>> {
        dispatch!(self, active_pin(account, purpose))
    }

    pub async fn active_pins(&self) -> Result<Vec<PinRow>> {
        dispatch!(self, active_pins())
    }

    /// `false` if the pin is unknown or already unpinned.
    pub async fn mark_unpinned(&self, id: i64, at: Timestamp) -> Result<bool> {
        dispatch!(self, mark_unpinned(id, at))
    }

    /// `false` if the pin is unknown or its displaced posts were already restored.
    pub async fn mark_restored(&self, id: i64, at: Timestamp) -> Result<bool> {
        dispatch!(self, mark_restored(id, at))
    }

    pub async fn pins_for_incident(&self, incident_id: &str) -> Result<Vec<PinRow>> {
        dispatch!(self, pins_for_incident(incident_id))
    }

    /// The author's conversation about the incident, created on first contact;
    /// every call counts one mention and moves `last_mention_at` forward.
    pub async fn conversation_for(
        &self,
        incident_id: &str,
        platform: &str,
        author_id: &str,
        author_handle: &str,
        at: Timestamp,
    ) -> Result<ConversationRow> {
        dispatch!(
            self,
            conversation_for(incident_id, platform, author_id, author_handle, at)
        )
    }

    /// Creates a pending draft, or folds a follow-up into the conversation's
    /// pending draft (see [`Write::UpsertDraft`]). Returns the draft id.
    pub async fn upsert_draft(&self, draft: &NewDraft) -> Result<i64> {
        dispatch!(self, upsert_draft(draft))
    }

    pub async fn draft(&self, id: i64) -> Result<Option<DraftRow>> {
        dispatch!(self, draft(id))
    }

    pub async fn pending_draft_for_conversation(
        &self,
        conversation_id: i64,
    ) -> Result<Option<DraftRow>> {
        dispatch!(self, pending_draft_for_conversation(conversation_id))
    }

    /// Gives a pending draft to `staff`; `false` if it is no longer pending.
    pub async fn assign_draft(&self, id: i64, staff: &str, at: Timestamp) -> Result<bool> {
        dispatch!(self, assign_draft(id, staff, at))
    }

    /// Approves a pending draft with its final `text`; `false` if it is no
    /// longer pending.
    pub async fn approve_draft(
        &self,
        id: i64,
        by: &str,
        text: &str,
        at: Timestamp,
    ) -> Result<bool> {
        dispatch!(self, approve_draft(id, by, text, at))
    }

    /// `false` unless the draft was approved and not yet sent.
    pub async fn mark_sent(&self, id: i64, at: Timestamp) -> Result<bool> {
        dispatch!(self, mark_sent(id, at))
    }

    /// `false` if the draft was already sent or discarded.
    pub async fn discard_draft(&self, id: i64, reason: &str, at: Timestamp) -> Result<bool> {
        dispatch!(self, discard_draft(id, reason, at))
    }

    /// Pending drafts, of one incident or all, by the customer's mention time
    /// then arrival. Never by follower count (BRIEF lesson 9).
    pub async fn draft_queue(&self, incident_id: Option<&str>) -> Result<Vec<DraftRow>> {
        dispatch!(self, draft_queue(incident_id))
    }

    /// One page of drafts in queue order (the customer's writing time, then
    /// id), and how many match the filter in all.
    pub async fn drafts(&self, f: &DraftFilter) -> Result<(Vec<DraftRow>, i64)> {
        dispatch!(self, drafts(f))
    }

    /// When each mention attached to `incident_id` was written, oldest first.
    pub async fn mention_times(&self, incident_id: &str) -> Result<Vec<Timestamp>> {
        dispatch!(self, mention_times(incident_id))
    }

    /// Pending drafts held by each staff member, and those past their SLA at `now`.
    pub async fn staff_load(
        &self,
        now: Timestamp,
    ) -> Result<std::collections::BTreeMap<String, StaffLoad>> {
        dispatch!(self, staff_load(now))
    }

    /// How many pending drafts `staff` holds: their load, for routing.
    pub async fn drafts_by_assignee_pending(&self, staff: &str) -> Result<i64> {
        dispatch!(self, drafts_by_assignee_pending(staff))
    }

    /// Remembers an input key; `false` if it was seen before.
    pub async fn mark_processed(&self, key: &str, at: Timestamp) -> Result<bool> {
        dispatch!(self, mark_processed(key, at))
    }

    /// Applies an engine decision's writes in ONE transaction, in order: they
    /// all commit or none does. See [`Write`] for what makes a batch fail and
    /// for the `MarkProcessed` guard.
    pub async fn apply(&self, writes: &[Write]) -> Result<ApplyOutcome> {
        dispatch!(self, apply(writes))
    }
}
