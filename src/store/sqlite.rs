//! The SQLite store: opening, migrating, and the operations of [`Store`].
//!
//! Every write transaction starts with `BEGIN IMMEDIATE`, which takes SQLite's
//! single write lock up front: with several pooled connections a deferred
//! transaction that reads first could otherwise fail to upgrade with
//! `SQLITE_BUSY` instead of waiting for the busy timeout.

use super::codec::{
    self, ts, ts_opt, RawBody, RawConversation, RawDraft, RawIncident, RawMention, RawOutbox,
    RawPin, RawTimeline,
};
use super::rows::*;
use super::sql;
use super::{redact_url, Result, StoreError};
use crate::clock::Timestamp;
use crate::mention::Mention;
use serde_json::Value;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, SqlitePool, Transaction};
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::time::Duration;

static MIGRATOR: Migrator = sqlx::migrate!("migrations/sqlite");

/// How long a connection waits for another writer before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections to a file database. SQLite has one writer at a time; a few
/// connections let readers (API, CLI) proceed alongside it under WAL.
const FILE_POOL_SIZE: u32 = 4;
/// Longest outbox lease granted; longer requests are shortened to it, which
/// keeps `lease_until` in the fixed-width timestamp range.
pub const MAX_LEASE: Duration = Duration::from_secs(24 * 60 * 60);

/// The store. Cheap to clone: clones share one connection pool.
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
}

/// A write running on a borrowed connection.
type BoxFuture<'c, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'c>>;

fn query(what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |source| StoreError::Query { what, source }
}

/// `sqlite::memory:` and `mode=memory` databases live only as long as a
/// connection to them does.
fn is_in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

impl Store {
    /// Opens (creating if missing) the database at `url` and brings its schema
    /// up to date. `sqlite://path?mode=rwc` for a file, `sqlite::memory:` for
    /// a private in-memory database (one connection, kept open for the life of
    /// the store, so that every query sees the same data).
    pub async fn open(url: &str) -> Result<Self> {
        let shown = redact_url(url);
        let open_error = |source| StoreError::Open {
            url: shown.clone(),
            source,
        };
        let in_memory = is_in_memory(url);
        let mut options = SqliteConnectOptions::from_str(url)
            .map_err(open_error)?
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            .synchronous(SqliteSynchronous::Full);
        if !in_memory {
            options = options.journal_mode(SqliteJournalMode::Wal);
        }
        let pool_options = if in_memory {
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            SqlitePoolOptions::new().max_connections(FILE_POOL_SIZE)
        };
        let pool = pool_options
            .connect_with(options)
            .await
            .map_err(open_error)?;
        MIGRATOR.run(&pool).await.map_err(StoreError::Migrate)?;
        tracing::info!(url = %shown, in_memory, "store opened");
        Ok(Self { pool })
    }

    /// Closes every connection, waiting for running queries to finish.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn begin_write(&self, what: &'static str) -> Result<Transaction<'static, Sqlite>> {
        self.pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(query(what))
    }

    /// Runs one write in its own transaction.
    async fn write_one<T>(
        &self,
        what: &'static str,
        write: impl for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, T>,
    ) -> Result<T> {
        let mut tx = self.begin_write(what).await?;
        let out = write(&mut tx).await?;
        tx.commit().await.map_err(query(what))?;
        Ok(out)
    }

    // ----- mentions -------------------------------------------------------

    /// Stores mentions in one transaction. `true` for each newly stored one,
    /// `false` for one already known: ingest is idempotent on `(platform, id)`.
    pub async fn insert_mentions(
        &self,
        mentions: &[Mention],
        received_at: Timestamp,
    ) -> Result<Vec<bool>> {
        let what = "insert mentions";
        let mut tx = self.begin_write(what).await?;
        let mut inserted = Vec::with_capacity(mentions.len());
        for m in mentions {
            let body = codec::json("mentions.body", m)?;
            inserted.push(insert_mention_in(&mut tx, m, &body, received_at, what).await?);
        }
        tx.commit().await.map_err(query(what))?;
        Ok(inserted)
    }

    /// The status post squall made for `incident` on `account`, as the
    /// executor recorded it when the post succeeded; found whether or not it
    /// was pinned (status pages and X posts are never pinned).
    pub async fn status_post(
        &self,
        incident: &str,
        account: &str,
    ) -> Result<Option<crate::adapters::PostRef>> {
        let result: Option<Option<String>> = sqlx::query_scalar(sql::STATUS_POST)
            .bind(incident)
            .bind(account)
            .fetch_optional(&self.pool)
            .await
            .map_err(query("read status post"))?;
        Ok(result
            .flatten()
            .and_then(|r| serde_json::from_str::<serde_json::Value>(&r).ok())
            .and_then(|v| serde_json::from_value(v.get("post")?.clone()).ok()))
    }

    /// Where the ingest connector `source` stopped reading, if it ever read.
    pub async fn ingest_cursor(&self, source: &str) -> Result<Option<String>> {
        sqlx::query_scalar(sql::INGEST_CURSOR)
            .bind(source)
            .fetch_optional(&self.pool)
            .await
            .map_err(query("read ingest cursor"))
    }

    /// Records where `source` stopped reading. Call it only once the
    /// mentions read up to there are stored.
    pub async fn save_ingest_cursor(
        &self,
        source: &str,
        cursor: &str,
        now: Timestamp,
    ) -> Result<()> {
        sqlx::query(sql::SAVE_INGEST_CURSOR)
            .bind(source)
            .bind(cursor)
            .bind(ts(now))
            .execute(&self.pool)
            .await
            .map_err(query("save ingest cursor"))?;
        Ok(())
    }

    pub async fn mention(&self, platform: &str, id: &str) -> Result<Option<MentionRow>> {
        sqlx::query_as::<_, RawMention>(sql::MENTION)
            .bind(platform)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(query("read mention"))?
            .map(RawMention::decode)
            .transpose()
    }

    /// The author's mentions written before `before`, newest first: earlier
    /// contacts, for context when drafting a reply.
    pub async fn mentions_by_author(
        &self,
        platform: &str,
        author_id: &str,
        before: Timestamp,
        limit: u32,
    ) -> Result<Vec<Mention>> {
        let rows = sqlx::query_as::<_, RawBody>(sql::MENTIONS_BY_AUTHOR)
            .bind(platform)
            .bind(author_id)
            .bind(ts(before))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(query("read mentions by author"))?;
        codec::decode_all(rows, RawBody::decode)
    }

    pub async fn count_mentions(&self) -> Result<i64> {
        sqlx::query_scalar(sql::COUNT_MENTIONS)
            .fetch_one(&self.pool)
            .await
            .map_err(query("count mentions"))
    }

    /// Links a mention to an incident; `false` if the mention is unknown.
    pub async fn attach_mention(
        &self,
        platform: &str,
        id: &str,
        incident_id: &str,
    ) -> Result<bool> {
        let (platform, id, incident_id) =
            (platform.to_owned(), id.to_owned(), incident_id.to_owned());
        self.write_one("attach mention", move |c| {
            Box::pin(attach_mention_in(c, platform, id, incident_id))
        })
        .await
    }

    // ----- incidents ------------------------------------------------------

    pub async fn upsert_incident(&self, incident: &IncidentRow) -> Result<()> {
        let incident = incident.clone();
        self.write_one("upsert incident", move |c| {
            Box::pin(async move { upsert_incident_in(c, &incident).await })
        })
        .await
    }

    pub async fn incident(&self, id: &str) -> Result<Option<IncidentRow>> {
        sqlx::query_as::<_, RawIncident>(&sql::incident())
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(query("read incident"))?
            .map(RawIncident::decode)
            .transpose()
    }

    /// Unresolved incidents first, then newest first. With `only_open`, the
    /// unresolved ones only (open, acknowledged or mitigated).
    pub async fn incidents(&self, only_open: bool) -> Result<Vec<IncidentRow>> {
        let rows = sqlx::query_as::<_, RawIncident>(&sql::incidents())
            .bind(only_open)
            .fetch_all(&self.pool)
            .await
            .map_err(query("list incidents"))?;
        codec::decode_all(rows, RawIncident::decode)
    }

    // ----- timeline -------------------------------------------------------

    /// Appends an event; returns its `seq`.
    pub async fn append_timeline(&self, event: &NewTimeline) -> Result<i64> {
        let event = event.clone();
        self.write_one("append timeline", move |c| {
            Box::pin(async move { append_timeline_in(c, &event).await })
        })
        .await
    }

    /// One incident's events in order.
    pub async fn timeline(&self, incident_id: &str) -> Result<Vec<TimelineRow>> {
        let rows = sqlx::query_as::<_, RawTimeline>(sql::TIMELINE)
            .bind(incident_id)
            .fetch_all(&self.pool)
            .await
            .map_err(query("read timeline"))?;
        codec::decode_all(rows, RawTimeline::decode)
    }

    /// All events after `after_seq` (0 for the start), at most `limit`: a cursor
    /// for followers of the whole timeline.
    pub async fn timeline_all(&self, after_seq: i64, limit: u32) -> Result<Vec<TimelineRow>> {
        let rows = sqlx::query_as::<_, RawTimeline>(sql::TIMELINE_ALL)
            .bind(after_seq)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(query("read timeline"))?;
        codec::decode_all(rows, RawTimeline::decode)
    }

    // ----- outbox ---------------------------------------------------------

    /// Records an intent; `None` if its idem key was already enqueued.
    pub async fn enqueue(&self, intent: &NewOutbox) -> Result<Option<i64>> {
        let intent = intent.clone();
        self.write_one("enqueue", move |c| {
            Box::pin(async move { enqueue_in(c, &intent).await })
        })
        .await
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
        let lease_until = lease_end(now, lease)?;
        let rows = sqlx::query_as::<_, RawOutbox>(sql::CLAIM_NEXT)
            .bind(worker)
            .bind(ts(now))
            .bind(ts(lease_until))
            .fetch_all(&self.pool)
            .await
            .map_err(query("claim outbox row"))?;
        let claimed = rows.into_iter().next().map(RawOutbox::decode).transpose()?;
        if let Some(row) = &claimed {
            tracing::debug!(
                outbox_id = row.id,
                worker,
                attempts = row.attempts,
                "outbox row claimed"
            );
        }
        Ok(claimed)
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
        let done = sqlx::query(sql::COMPLETE)
            .bind(id)
            .bind(worker)
            .bind(codec::json("outbox.result", result)?)
            .bind(ts(now))
            .execute(&self.pool)
            .await
            .map_err(query("complete outbox row"))?;
        Ok(done.rows_affected() == 1)
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
        let done = sqlx::query(sql::RETRY_LATER)
            .bind(id)
            .bind(worker)
            .bind(error)
            .bind(ts(not_before))
            .bind(ts(now))
            .execute(&self.pool)
            .await
            .map_err(query("reschedule outbox row"))?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives up on the row, if `worker` holds it.
    pub async fn fail(&self, id: i64, worker: &str, error: &str, now: Timestamp) -> Result<bool> {
        let done = sqlx::query(sql::FAIL)
            .bind(id)
            .bind(worker)
            .bind(error)
            .bind(ts(now))
            .execute(&self.pool)
            .await
            .map_err(query("fail outbox row"))?;
        Ok(done.rows_affected() == 1)
    }

    /// Cancels a pending row; `false` if it is no longer pending (a running
    /// action may already have had its effect, so it is left to finish).
    pub async fn cancel(&self, id: i64) -> Result<bool> {
        self.write_one("cancel outbox row", move |c| Box::pin(cancel_in(c, id)))
            .await
    }

    /// Rows still to do: pending plus running.
    pub async fn outbox_depth(&self) -> Result<i64> {
        sqlx::query_scalar(sql::OUTBOX_DEPTH)
            .fetch_one(&self.pool)
            .await
            .map_err(query("count outbox"))
    }

    pub async fn outbox_row(&self, id: i64) -> Result<Option<OutboxRow>> {
        sqlx::query_as::<_, RawOutbox>(sql::OUTBOX_ROW)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(query("read outbox row"))?
            .map(RawOutbox::decode)
            .transpose()
    }

    pub async fn outbox_by_incident(&self, incident_id: &str) -> Result<Vec<OutboxRow>> {
        let rows = sqlx::query_as::<_, RawOutbox>(sql::OUTBOX_BY_INCIDENT)
            .bind(incident_id)
            .fetch_all(&self.pool)
            .await
            .map_err(query("read outbox"))?;
        codec::decode_all(rows, RawOutbox::decode)
    }

    /// Lists outbox rows in one state, oldest first: `failed` is the
    /// dead-letter queue, rows that used up their retry budget.
    pub async fn outbox_in_state(&self, state: OutboxState) -> Result<Vec<OutboxRow>> {
        let rows = sqlx::query_as::<_, RawOutbox>(sql::OUTBOX_BY_STATE)
            .bind(state.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(query("read outbox"))?;
        codec::decode_all(rows, RawOutbox::decode)
    }

    /// How many outbox rows are in each state (for metrics).
    pub async fn outbox_counts(&self) -> Result<Vec<(OutboxState, i64)>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(sql::OUTBOX_COUNTS)
            .fetch_all(&self.pool)
            .await
            .map_err(query("count outbox"))?;
        rows.into_iter()
            .map(|(s, n)| Ok((OutboxState::parse(&s)?, n)))
            .collect()
    }

    /// The state of every intent by idempotency key: a replay of the input
    /// journal tells the engine which of its actions already happened.
    pub async fn outbox_states(&self) -> Result<std::collections::HashMap<String, OutboxState>> {
        let rows: Vec<(String, String)> = sqlx::query_as(sql::OUTBOX_STATES)
            .fetch_all(&self.pool)
            .await
            .map_err(query("read outbox states"))?;
        rows.into_iter()
            .map(|(k, s)| Ok((k, OutboxState::parse(&s)?)))
            .collect()
    }

    /// When each pending intent may next be tried, earliest first.
    pub async fn outbox_waiting(&self) -> Result<Vec<Timestamp>> {
        let rows: Vec<String> = sqlx::query_scalar(sql::OUTBOX_WAITING)
            .fetch_all(&self.pool)
            .await
            .map_err(query("read outbox"))?;
        rows.iter()
            .map(|t| codec::parse_ts("outbox.not_before", t))
            .collect()
    }

    /// Expires every lease at `now`, so rows a dead worker held are claimed
    /// again at once rather than when their lease runs out. Only for a
    /// process that knows it is the store's sole worker (`squall serve` on
    /// SQLite, at start); returns how many rows were released.
    pub async fn expire_leases(&self, now: Timestamp) -> Result<u64> {
        let done = sqlx::query(sql::EXPIRE_LEASES)
            .bind(ts(now))
            .execute(&self.pool)
            .await
            .map_err(query("expire leases"))?;
        Ok(done.rows_affected())
    }

    // ----- input journal --------------------------------------------------

    /// Stores mentions and journals the new ones, in one transaction: once
    /// this returns, every accepted mention is on disk and will be replayed
    /// into the engine after a crash. `true` for each newly stored mention,
    /// `false` for one already known (ingest is idempotent on `(platform, id)`).
    pub async fn journal_mentions(&self, mentions: &[Mention], at: Timestamp) -> Result<Vec<bool>> {
        let what = "journal mentions";
        let mut tx = self.begin_write(what).await?;
        let mut inserted = Vec::with_capacity(mentions.len());
        for m in mentions {
            let body = codec::json("mentions.body", m)?;
            let new = insert_mention_in(&mut tx, m, &body, at, what).await?;
            if new {
                sqlx::query(sql::APPEND_INPUT)
                    .bind(ts(at))
                    .bind("mention")
                    .bind(&body)
                    .execute(&mut *tx)
                    .await
                    .map_err(query(what))?;
            }
            inserted.push(new);
        }
        tx.commit().await.map_err(query(what))?;
        Ok(inserted)
    }

    /// Journals one input (`boot`, `alert`, `command`, `tick`) before the
    /// engine sees it.
    pub async fn journal(&self, at: Timestamp, kind: &'static str, payload: &Value) -> Result<i64> {
        let payload = codec::json("inputs.payload", payload)?;
        self.write_one("journal input", move |c| {
            Box::pin(async move {
                sqlx::query_scalar(sql::APPEND_INPUT)
                    .bind(ts(at))
                    .bind(kind)
                    .bind(payload)
                    .fetch_one(&mut *c)
                    .await
                    .map_err(query("journal input"))
            })
        })
        .await
    }

    /// The whole input journal, in order.
    pub async fn journal_entries(&self) -> Result<Vec<JournalEntry>> {
        let rows: Vec<(i64, String, String, String)> = sqlx::query_as(sql::INPUTS)
            .fetch_all(&self.pool)
            .await
            .map_err(query("read input journal"))?;
        rows.into_iter()
            .map(|(seq, at, kind, payload)| {
                Ok(JournalEntry {
                    seq,
                    at: codec::parse_ts("inputs.at", &at)?,
                    kind,
                    payload: codec::parse_json("inputs.payload", &payload)?,
                })
            })
            .collect()
    }

    // ----- pins -----------------------------------------------------------

    /// Records a pin squall made. [`StoreError::AlreadyPinned`] if the account
    /// already holds an active pin of that purpose.
    pub async fn record_pin(&self, pin: &NewPin) -> Result<i64> {
        let pin = pin.clone();
        self.write_one("record pin", move |c| {
            Box::pin(async move { record_pin_in(c, &pin).await })
        })
        .await
    }

    pub async fn active_pin(&self, account: &str, purpose: PinPurpose) -> Result<Option<PinRow>> {
        sqlx::query_as::<_, RawPin>(sql::ACTIVE_PIN)
            .bind(account)
            .bind(purpose.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(query("read active pin"))?
            .map(RawPin::decode)
            .transpose()
    }

    pub async fn active_pins(&self) -> Result<Vec<PinRow>> {
        let rows = sqlx::query_as::<_, RawPin>(sql::ACTIVE_PINS)
            .fetch_all(&self.pool)
            .await
            .map_err(query("read pins"))?;
        codec::decode_all(rows, RawPin::decode)
    }

    /// `false` if the pin is unknown or already unpinned.
    pub async fn mark_unpinned(&self, id: i64, at: Timestamp) -> Result<bool> {
        self.write_one("mark unpinned", move |c| {
            Box::pin(mark_unpinned_in(c, id, at))
        })
        .await
    }

    /// `false` if the pin is unknown or its displaced posts were already restored.
    pub async fn mark_restored(&self, id: i64, at: Timestamp) -> Result<bool> {
        self.write_one("mark restored", move |c| {
            Box::pin(mark_restored_in(c, id, at))
        })
        .await
    }

    pub async fn pins_for_incident(&self, incident_id: &str) -> Result<Vec<PinRow>> {
        let rows = sqlx::query_as::<_, RawPin>(sql::PINS_FOR_INCIDENT)
            .bind(incident_id)
            .fetch_all(&self.pool)
            .await
            .map_err(query("read pins"))?;
        codec::decode_all(rows, RawPin::decode)
    }

    // ----- conversations --------------------------------------------------

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
        let what = "get or create conversation";
        let rows = sqlx::query_as::<_, RawConversation>(sql::CONVERSATION_FOR)
            .bind(incident_id)
            .bind(platform)
            .bind(author_id)
            .bind(author_handle)
            .bind(ts(at))
            .fetch_all(&self.pool)
            .await
            .map_err(query(what))?;
        rows.into_iter()
            .next()
            .ok_or(StoreError::Corrupt {
                what: "conversations",
                detail: "upsert returned no row".to_owned(),
            })?
            .decode()
    }

    // ----- drafts ---------------------------------------------------------

    /// Creates a pending draft, or folds a follow-up into the conversation's
    /// pending draft (see [`Write::UpsertDraft`]). Returns the draft id.
    pub async fn upsert_draft(&self, draft: &NewDraft) -> Result<i64> {
        let draft = draft.clone();
        self.write_one("upsert draft", move |c| {
            Box::pin(async move { upsert_draft_in(c, &draft).await })
        })
        .await
    }

    pub async fn draft(&self, id: i64) -> Result<Option<DraftRow>> {
        fetch_draft(&self.pool, sql::DRAFT, id, "read draft").await
    }

    pub async fn pending_draft_for_conversation(
        &self,
        conversation_id: i64,
    ) -> Result<Option<DraftRow>> {
        fetch_draft(
            &self.pool,
            sql::PENDING_DRAFT_FOR_CONVERSATION,
            conversation_id,
            "read pending draft",
        )
        .await
    }

    /// Gives a pending draft to `staff`; `false` if it is no longer pending.
    pub async fn assign_draft(&self, id: i64, staff: &str, at: Timestamp) -> Result<bool> {
        let staff = staff.to_owned();
        self.write_one("assign draft", move |c| {
            Box::pin(async move { assign_draft_in(c, id, &staff, at).await })
        })
        .await
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
        let (by, text) = (by.to_owned(), text.to_owned());
        self.write_one("approve draft", move |c| {
            Box::pin(async move { approve_draft_in(c, id, &by, &text, at).await })
        })
        .await
    }

    /// `false` unless the draft was approved and not yet sent.
    pub async fn mark_sent(&self, id: i64, at: Timestamp) -> Result<bool> {
        self.write_one("mark draft sent", move |c| {
            Box::pin(mark_sent_in(c, id, at))
        })
        .await
    }

    /// `false` if the draft was already sent or discarded.
    pub async fn discard_draft(&self, id: i64, reason: &str, at: Timestamp) -> Result<bool> {
        let reason = reason.to_owned();
        self.write_one("discard draft", move |c| {
            Box::pin(async move { discard_draft_in(c, id, &reason, at).await })
        })
        .await
    }

    /// Pending drafts, of one incident or all, by the customer's mention time
    /// then arrival. Never by follower count (BRIEF lesson 9).
    pub async fn draft_queue(&self, incident_id: Option<&str>) -> Result<Vec<DraftRow>> {
        let rows = sqlx::query_as::<_, RawDraft>(sql::DRAFT_QUEUE)
            .bind(incident_id)
            .fetch_all(&self.pool)
            .await
            .map_err(query("read draft queue"))?;
        codec::decode_all(rows, RawDraft::decode)
    }

    /// One page of drafts in queue order (the customer's writing time, then
    /// id), and how many match the filter in all.
    pub async fn drafts(&self, f: &DraftFilter) -> Result<(Vec<DraftRow>, i64)> {
        let state = f.state.map(DraftState::as_str);
        let (assignee, nobody) = match &f.assignee {
            AssigneeFilter::Anyone => (None, 0i64),
            AssigneeFilter::Nobody => (None, 1),
            AssigneeFilter::Staff(s) => (Some(s.as_str()), 0),
        };
        let rows = sqlx::query_as::<_, RawDraft>(sql::DRAFTS_PAGE)
            .bind(state)
            .bind(assignee)
            .bind(nobody)
            .bind(f.incident.as_deref())
            .bind(f.after.map(|(at, _)| ts(at)))
            .bind(f.after.map_or(0, |(_, id)| id))
            .bind(i64::from(f.limit))
            .fetch_all(&self.pool)
            .await
            .map_err(query("read drafts"))?;
        let total: i64 = sqlx::query_scalar(sql::DRAFTS_TOTAL)
            .bind(state)
            .bind(assignee)
            .bind(nobody)
            .bind(f.incident.as_deref())
            .fetch_one(&self.pool)
            .await
            .map_err(query("count drafts"))?;
        Ok((codec::decode_all(rows, RawDraft::decode)?, total))
    }

    /// When each mention attached to `incident_id` was written, oldest first.
    pub async fn mention_times(&self, incident_id: &str) -> Result<Vec<Timestamp>> {
        let rows: Vec<String> = sqlx::query_scalar(sql::MENTION_TIMES)
            .bind(incident_id)
            .fetch_all(&self.pool)
            .await
            .map_err(query("read mention times"))?;
        rows.iter()
            .map(|t| codec::parse_ts("mentions.created_at", t))
            .collect()
    }

    /// Pending drafts held by each staff member, and those past their SLA at `now`.
    pub async fn staff_load(
        &self,
        now: Timestamp,
    ) -> Result<std::collections::BTreeMap<String, StaffLoad>> {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(sql::STAFF_LOAD)
            .bind(ts(now))
            .fetch_all(&self.pool)
            .await
            .map_err(query("read staff load"))?;
        Ok(rows
            .into_iter()
            .map(|(who, load, late)| {
                let load = StaffLoad {
                    load: u32::try_from(load).unwrap_or(u32::MAX),
                    sla_breaches: u32::try_from(late).unwrap_or(u32::MAX),
                };
                (who, load)
            })
            .collect())
    }

    /// How many pending drafts `staff` holds: their load, for routing.
    pub async fn drafts_by_assignee_pending(&self, staff: &str) -> Result<i64> {
        sqlx::query_scalar(sql::DRAFTS_BY_ASSIGNEE_PENDING)
            .bind(staff)
            .fetch_one(&self.pool)
            .await
            .map_err(query("count assigned drafts"))
    }

    // ----- processed ------------------------------------------------------

    /// Remembers an input key; `false` if it was seen before.
    pub async fn mark_processed(&self, key: &str, at: Timestamp) -> Result<bool> {
        let key = key.to_owned();
        self.write_one("mark processed", move |c| {
            Box::pin(async move { mark_processed_in(c, &key, at).await })
        })
        .await
    }

    // ----- batches --------------------------------------------------------

    /// Applies an engine decision's writes in ONE transaction, in order: they
    /// all commit or none does. See [`Write`] for what makes a batch fail and
    /// for the `MarkProcessed` guard.
    pub async fn apply(&self, writes: &[Write]) -> Result<ApplyOutcome> {
        let what = "apply batch";
        let mut tx = self.begin_write(what).await?;
        let mut outcome = ApplyOutcome::default();
        for write in writes {
            if !apply_one(&mut tx, write, &mut outcome).await? {
                tx.rollback().await.map_err(query(what))?;
                tracing::info!(
                    writes = writes.len(),
                    "batch skipped: input already processed"
                );
                return Ok(ApplyOutcome {
                    already_processed: true,
                    ..ApplyOutcome::default()
                });
            }
        }
        tx.commit().await.map_err(query(what))?;
        tracing::debug!(
            writes = writes.len(),
            enqueued = outcome.enqueued.len(),
            duplicates_skipped = outcome.duplicates_skipped,
            "batch applied"
        );
        Ok(outcome)
    }
}

/// Stores one mention unless `(platform, id)` is known; `true` if stored.
async fn insert_mention_in(
    conn: &mut SqliteConnection,
    m: &Mention,
    body: &str,
    received_at: Timestamp,
    what: &'static str,
) -> Result<bool> {
    let done = sqlx::query(sql::INSERT_MENTION)
        .bind(&m.platform)
        .bind(&m.id)
        .bind(&m.account)
        .bind(&m.author.id)
        .bind(&m.author.handle)
        .bind(ts(m.created_at))
        .bind(ts(received_at))
        .bind(&m.lang)
        .bind(body)
        .execute(&mut *conn)
        .await
        .map_err(query(what))?;
    Ok(done.rows_affected() == 1)
}

fn lease_end(now: Timestamp, lease: Duration) -> Result<Timestamp> {
    chrono::Duration::from_std(lease.min(MAX_LEASE))
        .ok()
        .and_then(|lease| now.checked_add_signed(lease))
        .ok_or(StoreError::Corrupt {
            what: "outbox.lease_until",
            detail: "lease end out of range".to_owned(),
        })
}

async fn fetch_draft(
    pool: &SqlitePool,
    sql: &'static str,
    key: i64,
    what: &'static str,
) -> Result<Option<DraftRow>> {
    sqlx::query_as::<_, RawDraft>(sql)
        .bind(key)
        .fetch_optional(pool)
        .await
        .map_err(query(what))?
        .map(RawDraft::decode)
        .transpose()
}

/// Applies one write of a batch. `Ok(false)` means a `MarkProcessed` guard
/// found its key: the caller abandons the batch.
async fn apply_one(
    conn: &mut SqliteConnection,
    write: &Write,
    outcome: &mut ApplyOutcome,
) -> Result<bool> {
    match write {
        Write::UpsertIncident(incident) => upsert_incident_in(conn, incident).await?,
        Write::Timeline(event) => outcome
            .timeline_seqs
            .push(append_timeline_in(conn, event).await?),
        Write::Enqueue(intent) => match enqueue_in(conn, intent).await? {
            Some(id) => outcome.enqueued.push(id),
            None => outcome.duplicates_skipped += 1,
        },
        Write::CancelOutbox { id } => {
            cancel_in(conn, *id).await?;
        }
        Write::AttachMention {
            platform,
            mention_id,
            incident_id,
        } => {
            let attached = attach_mention_in(
                conn,
                platform.clone(),
                mention_id.clone(),
                incident_id.clone(),
            )
            .await?;
            ensure(attached, "mention", || format!("{platform}/{mention_id}"))?;
        }
        Write::UpsertDraft(draft) => outcome.draft_ids.push(upsert_draft_in(conn, draft).await?),
        Write::SaveDraft(draft) => {
            save_draft_in(conn, draft).await?;
            outcome.draft_ids.push(draft.id);
        }
        Write::AssignDraft { id, staff, at } => ensure(
            assign_draft_in(conn, *id, staff, *at).await?,
            "draft",
            || id.to_string(),
        )?,
        Write::ApproveDraft { id, by, text, at } => ensure(
            approve_draft_in(conn, *id, by, text, *at).await?,
            "draft",
            || id.to_string(),
        )?,
        Write::MarkSent { id, at } => ensure(mark_sent_in(conn, *id, *at).await?, "draft", || {
            id.to_string()
        })?,
        Write::DiscardDraft { id, reason, at } => ensure(
            discard_draft_in(conn, *id, reason, *at).await?,
            "draft",
            || id.to_string(),
        )?,
        Write::RecordPin(pin) => outcome.pin_ids.push(record_pin_in(conn, pin).await?),
        Write::MarkUnpinned { pin_id, at } => {
            ensure(mark_unpinned_in(conn, *pin_id, *at).await?, "pin", || {
                pin_id.to_string()
            })?
        }
        Write::MarkRestored { pin_id, at } => {
            ensure(mark_restored_in(conn, *pin_id, *at).await?, "pin", || {
                pin_id.to_string()
            })?
        }
        Write::RepointPin {
            pin_id,
            post_id,
            post_url,
        } => {
            let done = sqlx::query(sql::REPOINT_PIN)
                .bind(pin_id)
                .bind(post_id)
                .bind(post_url)
                .execute(&mut *conn)
                .await
                .map_err(query("repoint pin"))?
                .rows_affected()
                == 1;
            ensure(done, "pin", || pin_id.to_string())?
        }
        Write::PlanRestore { pin_id, order } => {
            let done = sqlx::query(sql::PLAN_RESTORE)
                .bind(pin_id)
                .bind(codec::json("pins.displaced", order)?)
                .execute(&mut *conn)
                .await
                .map_err(query("plan restore"))?
                .rows_affected()
                == 1;
            ensure(done, "pin", || pin_id.to_string())?
        }
        Write::MarkProcessed { key, at } => return mark_processed_in(conn, key, *at).await,
    }
    Ok(true)
}

/// Turns a transition that did not apply into [`StoreError::Stale`].
fn ensure(applied: bool, what: &'static str, id: impl FnOnce() -> String) -> Result<()> {
    if applied {
        Ok(())
    } else {
        Err(StoreError::Stale { what, id: id() })
    }
}

async fn attach_mention_in(
    conn: &mut SqliteConnection,
    platform: String,
    id: String,
    incident_id: String,
) -> Result<bool> {
    let done = sqlx::query(sql::ATTACH_MENTION)
        .bind(platform)
        .bind(id)
        .bind(incident_id)
        .execute(conn)
        .await
        .map_err(query("attach mention"))?;
    Ok(done.rows_affected() == 1)
}

async fn upsert_incident_in(conn: &mut SqliteConnection, i: &IncidentRow) -> Result<()> {
    sqlx::query(sql::UPSERT_INCIDENT)
        .bind(&i.id)
        .bind(&i.playbook)
        .bind(&i.group_key)
        .bind(codec::incident_state_str(i.state))
        .bind(&i.title)
        .bind(&i.trigger_kind)
        .bind(ts(i.opened_at))
        .bind(ts_opt(i.acknowledged_at))
        .bind(ts_opt(i.mitigated_at))
        .bind(ts_opt(i.resolved_at))
        .bind(&i.status_text)
        .bind(&i.status_approved_by)
        .bind(codec::json("incidents.detail", &i.detail)?)
        .execute(conn)
        .await
        .map_err(query("upsert incident"))?;
    Ok(())
}

async fn append_timeline_in(conn: &mut SqliteConnection, e: &NewTimeline) -> Result<i64> {
    sqlx::query_scalar(sql::INSERT_TIMELINE)
        .bind(&e.incident_id)
        .bind(ts(e.at))
        .bind(&e.kind)
        .bind(&e.actor)
        .bind(&e.message)
        .bind(codec::json("timeline.detail", &e.detail)?)
        .fetch_one(conn)
        .await
        .map_err(query("append timeline"))
}

async fn enqueue_in(conn: &mut SqliteConnection, o: &NewOutbox) -> Result<Option<i64>> {
    let id = sqlx::query_scalar(sql::ENQUEUE)
        .bind(&o.idem_key)
        .bind(&o.incident_id)
        .bind(&o.kind)
        .bind(&o.account)
        .bind(codec::json("outbox.payload", &o.payload)?)
        .bind(ts(o.not_before))
        .bind(ts(o.created_at))
        .fetch_optional(conn)
        .await
        .map_err(query("enqueue"))?;
    if id.is_none() {
        tracing::debug!(idem_key = %o.idem_key, "duplicate outbox intent skipped");
    }
    Ok(id)
}

async fn cancel_in(conn: &mut SqliteConnection, id: i64) -> Result<bool> {
    let done = sqlx::query(sql::CANCEL)
        .bind(id)
        .execute(conn)
        .await
        .map_err(query("cancel outbox row"))?;
    Ok(done.rows_affected() == 1)
}

async fn record_pin_in(conn: &mut SqliteConnection, p: &NewPin) -> Result<i64> {
    sqlx::query_scalar(sql::RECORD_PIN)
        .bind(&p.account)
        .bind(&p.post_id)
        .bind(&p.post_url)
        .bind(&p.incident_id)
        .bind(p.purpose.as_str())
        .bind(ts(p.pinned_at))
        .bind(codec::json("pins.displaced", &p.displaced)?)
        .fetch_one(conn)
        .await
        .map_err(|source| match &source {
            // The only unique index on pins besides the id is "one active pin".
            sqlx::Error::Database(e) if e.is_unique_violation() => StoreError::AlreadyPinned {
                account: p.account.clone(),
            },
            _ => StoreError::Query {
                what: "record pin",
                source,
            },
        })
}

async fn mark_unpinned_in(conn: &mut SqliteConnection, id: i64, at: Timestamp) -> Result<bool> {
    let done = sqlx::query(sql::MARK_UNPINNED)
        .bind(id)
        .bind(ts(at))
        .execute(conn)
        .await
        .map_err(query("mark unpinned"))?;
    Ok(done.rows_affected() == 1)
}

async fn mark_restored_in(conn: &mut SqliteConnection, id: i64, at: Timestamp) -> Result<bool> {
    let done = sqlx::query(sql::MARK_RESTORED)
        .bind(id)
        .bind(ts(at))
        .execute(conn)
        .await
        .map_err(query("mark restored"))?;
    Ok(done.rows_affected() == 1)
}

/// Inserts a pending draft, or folds the follow-up into the conversation's
/// pending one: the reply now answers the latest mention with the new text,
/// flags accumulate, privacy sticks once asked for, and the queue position
/// stays at the earliest mention time.
async fn save_draft_in(conn: &mut SqliteConnection, d: &DraftSnapshot) -> Result<()> {
    let what = "save draft";
    let existing: Option<i64> = sqlx::query_scalar(sql::FIND_CONVERSATION)
        .bind(&d.incident_id)
        .bind(&d.platform)
        .bind(&d.author_id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(query(what))?;
    let conversation_id = match existing {
        Some(id) => id,
        None => {
            let row = sqlx::query_as::<_, RawConversation>(sql::CONVERSATION_FOR)
                .bind(&d.incident_id)
                .bind(&d.platform)
                .bind(&d.author_id)
                .bind(&d.author_handle)
                .bind(ts(d.mention_at))
                .fetch_one(&mut *conn)
                .await
                .map_err(query(what))?;
            row.decode()?.id
        }
    };
    let assigned_at = d.assignee.as_ref().map(|_| ts(d.created_at));
    sqlx::query(sql::SAVE_DRAFT)
        .bind(d.id)
        .bind(&d.incident_id)
        .bind(conversation_id)
        .bind(&d.platform)
        .bind(&d.mention_id)
        .bind(ts(d.mention_at))
        .bind(&d.lang)
        .bind(&d.text)
        .bind(d.private)
        .bind(codec::json("drafts.flags", &d.flags)?)
        .bind(d.state.as_str())
        .bind(&d.assignee)
        .bind(assigned_at)
        .bind(&d.approved_by)
        .bind(d.approved_at.map(ts))
        .bind(d.sent_at.map(ts))
        .bind(&d.discarded_reason)
        .bind(ts(d.created_at))
        .bind(ts(d.approved_at.or(d.sent_at).unwrap_or(d.created_at)))
        .bind(codec::json("drafts.detail", &d.detail)?)
        .bind(ts(d.sla_deadline))
        .execute(&mut *conn)
        .await
        .map_err(query(what))?;
    Ok(())
}

async fn upsert_draft_in(conn: &mut SqliteConnection, d: &NewDraft) -> Result<i64> {
    let what = "upsert draft";
    let pending = sqlx::query_as::<_, RawDraft>(sql::PENDING_DRAFT_FOR_CONVERSATION)
        .bind(d.conversation_id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(query(what))?
        .map(RawDraft::decode)
        .transpose()?;
    let Some(existing) = pending else {
        return sqlx::query_scalar(sql::INSERT_DRAFT)
            .bind(&d.incident_id)
            .bind(d.conversation_id)
            .bind(&d.mention_platform)
            .bind(&d.mention_id)
            .bind(ts(d.mention_at))
            .bind(&d.lang)
            .bind(&d.text)
            .bind(d.private)
            .bind(codec::json("drafts.flags", &d.flags)?)
            .bind(ts(d.created_at))
            .fetch_one(conn)
            .await
            .map_err(query(what));
    };
    let mut flags = existing.flags;
    for flag in &d.flags {
        if !flags.contains(flag) {
            flags.push(flag.clone());
        }
    }
    sqlx::query(sql::FOLD_DRAFT)
        .bind(existing.id)
        .bind(&d.mention_platform)
        .bind(&d.mention_id)
        .bind(&d.lang)
        .bind(&d.text)
        .bind(existing.private || d.private)
        .bind(codec::json("drafts.flags", &flags)?)
        .bind(ts(d.created_at))
        .bind(ts(existing.mention_at.min(d.mention_at)))
        .execute(conn)
        .await
        .map_err(query(what))?;
    Ok(existing.id)
}

async fn assign_draft_in(
    conn: &mut SqliteConnection,
    id: i64,
    staff: &str,
    at: Timestamp,
) -> Result<bool> {
    let done = sqlx::query(sql::ASSIGN_DRAFT)
        .bind(id)
        .bind(staff)
        .bind(ts(at))
        .execute(conn)
        .await
        .map_err(query("assign draft"))?;
    Ok(done.rows_affected() == 1)
}

async fn approve_draft_in(
    conn: &mut SqliteConnection,
    id: i64,
    by: &str,
    text: &str,
    at: Timestamp,
) -> Result<bool> {
    let done = sqlx::query(sql::APPROVE_DRAFT)
        .bind(id)
        .bind(by)
        .bind(text)
        .bind(ts(at))
        .execute(conn)
        .await
        .map_err(query("approve draft"))?;
    Ok(done.rows_affected() == 1)
}

async fn mark_sent_in(conn: &mut SqliteConnection, id: i64, at: Timestamp) -> Result<bool> {
    let done = sqlx::query(sql::MARK_SENT)
        .bind(id)
        .bind(ts(at))
        .execute(conn)
        .await
        .map_err(query("mark draft sent"))?;
    Ok(done.rows_affected() == 1)
}

async fn discard_draft_in(
    conn: &mut SqliteConnection,
    id: i64,
    reason: &str,
    at: Timestamp,
) -> Result<bool> {
    let done = sqlx::query(sql::DISCARD_DRAFT)
        .bind(id)
        .bind(reason)
        .bind(ts(at))
        .execute(conn)
        .await
        .map_err(query("discard draft"))?;
    Ok(done.rows_affected() == 1)
}

async fn mark_processed_in(conn: &mut SqliteConnection, key: &str, at: Timestamp) -> Result<bool> {
    let done = sqlx::query(sql::MARK_PROCESSED)
        .bind(key)
        .bind(ts(at))
        .execute(conn)
        .await
        .map_err(query("mark processed"))?;
    Ok(done.rows_affected() == 1)
}
