// Included by `sqlite.rs` and `postgres.rs` (`include!`): the store's
// operations, written once and compiled against each backend's concrete
// types through the aliases `Conn` and `DbPool` and the module's own
// `begin_write`, `claim_next_sql`.

use super::codec::{
    self, ts, ts_opt, RawConversation, RawDraft, RawIncident, RawMention, RawOutbox,
    RawPin, RawTimeline,
};
use super::rows::*;
use super::sql;
use super::MAX_LEASE;
use crate::clock::Timestamp;
use crate::mention::Mention;
use serde_json::Value;
use sqlx::Transaction;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// A write running on a borrowed connection.
type BoxFuture<'c, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'c>>;

/// Mention keys per multi-row statement: 2 parameters each, under SQLite's
/// 32,766 and Postgres's 65,535 bind parameters.
const KEY_CHUNK: usize = 4_000;

/// No two mentions of `ms` share a `(platform, id)`: if every row of such a
/// chunk was inserted, every mention of it is new.
fn unique_keys(ms: &[Mention]) -> bool {
    let mut seen = std::collections::HashSet::with_capacity(ms.len());
    ms.iter().all(|m| seen.insert((m.platform.as_str(), m.id.as_str())))
}

fn query(what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |source| StoreError::Query { what, source }
}

impl Backend {
    /// Runs one write in its own transaction.
    async fn write_one<T>(
        &self,
        what: &'static str,
        write: impl for<'c> FnOnce(&'c mut Conn) -> BoxFuture<'c, T>,
    ) -> Result<T> {
        let mut tx = self.begin_write(what).await?;
        let out = write(&mut tx).await?;
        tx.commit().await.map_err(query(what))?;
        Ok(out)
    }


    // ----- mentions -------------------------------------------------------

    pub(super) async fn insert_mentions(
        &self, mentions: &[Mention], received_at: Timestamp
    ) -> Result<Vec<bool>> {
        let what = "insert mentions";
        let mut tx = self.begin_write(what).await?;
        let inserted = insert_keys_in(&mut tx, mentions, what).await?;
        for (m, _) in mentions.iter().zip(&inserted).filter(|(_, new)| **new) {
            let body = codec::json("mentions.body", m)?;
            insert_mention_in(&mut tx, m, &body, received_at, None, what).await?;
        }
        tx.commit().await.map_err(query(what))?;
        Ok(inserted)
    }

    pub(super) async fn status_post(
        &self, incident: &str, account: &str
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

    pub(super) async fn ingest_cursor(
        &self, source: &str
    ) -> Result<Option<String>> {
        sqlx::query_scalar(sql::INGEST_CURSOR)
            .bind(source)
            .fetch_optional(&self.pool)
            .await
            .map_err(query("read ingest cursor"))
    }

    pub(super) async fn save_ingest_cursor(
        &self, source: &str, cursor: &str, now: Timestamp
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

    pub(super) async fn mention(
        &self, platform: &str, id: &str
    ) -> Result<Option<MentionRow>> {
        sqlx::query_as::<_, RawMention>(sql::MENTION)
            .bind(platform)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(query("read mention"))?
            .map(RawMention::decode)
            .transpose()
    }

    pub(super) async fn mention_known(
        &self, platform: &str, id: &str
    ) -> Result<bool> {
        sqlx::query_scalar::<_, i64>(sql::MENTION_KNOWN)
            .bind(platform)
            .bind(id)
            .fetch_one(&self.pool)
            .await
            .map(|n| n > 0)
            .map_err(query("look up mention"))
    }

    pub(super) async fn count_mentions(
        &self
    ) -> Result<i64> {
        sqlx::query_scalar(sql::COUNT_MENTIONS)
            .fetch_one(&self.pool)
            .await
            .map_err(query("count mentions"))
    }

    pub(super) async fn attach_mention(
        &self, platform: &str, id: &str, incident_id: &str
    ) -> Result<bool> {
        let (platform, id, incident_id) =
            (platform.to_owned(), id.to_owned(), incident_id.to_owned());
        self.write_one("attach mention", move |c| {
            Box::pin(attach_mention_in(c, platform, id, incident_id))
        })
        .await
    }

    // ----- incidents ------------------------------------------------------

    pub(super) async fn upsert_incident(
        &self, incident: &IncidentRow
    ) -> Result<()> {
        let incident = incident.clone();
        self.write_one("upsert incident", move |c| {
            Box::pin(async move { upsert_incident_in(c, &incident).await })
        })
        .await
    }

    pub(super) async fn incident(
        &self, id: &str
    ) -> Result<Option<IncidentRow>> {
        sqlx::query_as::<_, RawIncident>(&sql::incident())
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(query("read incident"))?
            .map(RawIncident::decode)
            .transpose()
    }

    pub(super) async fn incidents(
        &self, only_open: bool
    ) -> Result<Vec<IncidentRow>> {
        let rows = sqlx::query_as::<_, RawIncident>(&sql::incidents())
            .bind(only_open)
            .fetch_all(&self.pool)
            .await
            .map_err(query("list incidents"))?;
        codec::decode_all(rows, RawIncident::decode)
    }

    // ----- timeline -------------------------------------------------------

    pub(super) async fn append_timeline(
        &self, event: &NewTimeline
    ) -> Result<i64> {
        let event = event.clone();
        self.write_one("append timeline", move |c| {
            Box::pin(async move { append_timeline_in(c, &event).await })
        })
        .await
    }

    pub(super) async fn timeline(
        &self, incident_id: &str
    ) -> Result<Vec<TimelineRow>> {
        let rows = sqlx::query_as::<_, RawTimeline>(sql::TIMELINE)
            .bind(incident_id)
            .fetch_all(&self.pool)
            .await
            .map_err(query("read timeline"))?;
        codec::decode_all(rows, RawTimeline::decode)
    }

    pub(super) async fn timeline_all(
        &self, after_seq: i64, limit: u32
    ) -> Result<Vec<TimelineRow>> {
        let rows = sqlx::query_as::<_, RawTimeline>(sql::TIMELINE_ALL)
            .bind(after_seq)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(query("read timeline"))?;
        codec::decode_all(rows, RawTimeline::decode)
    }

    pub(super) async fn timeline_last_seq(&self) -> Result<i64> {
        sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM timeline")
            .fetch_one(&self.pool)
            .await
            .map_err(query("read timeline end"))
    }

    // ----- outbox ---------------------------------------------------------

    pub(super) async fn enqueue(
        &self, intent: &NewOutbox
    ) -> Result<Option<i64>> {
        let intent = intent.clone();
        self.write_one("enqueue", move |c| {
            Box::pin(async move { enqueue_in(c, &intent).await })
        })
        .await
    }

    pub(super) async fn claim_next(
        &self, worker: &str, now: Timestamp, lease: Duration
    ) -> Result<Option<OutboxRow>> {
        let lease_until = lease_end(now, lease)?;
        let rows = sqlx::query_as::<_, RawOutbox>(claim_next_sql())
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

    pub(super) async fn complete(
        &self, id: i64, worker: &str, result: &Value, now: Timestamp, with: RowEnd<'_>
    ) -> Result<bool> {
        let result = codec::json("outbox.result", result)?;
        let finish = sqlx::query(sql::COMPLETE).bind(id).bind(worker).bind(result).bind(ts(now));
        self.end_row("complete outbox row", finish, now, with).await
    }

    /// Runs a statement that ends a row's attempt (`COMPLETE`, `FAIL`,
    /// `RETRY_LATER`) and, in the same transaction and only if the row was
    /// still this worker's, writes `with`: its timeline events, and its
    /// outcome journaled (kind `outcome`) so that the engine leader learns
    /// each outcome exactly once, whichever instance carried it out.
    async fn end_row<'q>(
        &self,
        what: &'static str,
        end: sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments<'q>>,
        now: Timestamp,
        with: RowEnd<'_>,
    ) -> Result<bool> {
        if with.outcome.is_none() && with.timeline.is_empty() {
            let done = end.execute(&self.pool).await.map_err(query(what))?;
            return Ok(done.rows_affected() == 1);
        }
        let outcome = with
            .outcome
            .map(|o| codec::json("inputs.payload", o))
            .transpose()?;
        let mut tx = self.begin_write(what).await?;
        let done = end.execute(&mut *tx).await.map_err(query(what))?;
        if done.rows_affected() != 1 {
            return Ok(false); // the rollback on drop changes nothing
        }
        for event in with.timeline {
            append_timeline_in(&mut tx, event).await?;
        }
        if let Some(outcome) = outcome {
            lock_journal(&mut tx, what).await?;
            append_input_in(&mut tx, now, "outcome", &outcome, what).await?;
        }
        tx.commit().await.map_err(query(what))?;
        Ok(true)
    }

    pub(super) async fn retry_later(
        &self, id: i64, worker: &str, error: &str, not_before: Timestamp, now: Timestamp,
        with: RowEnd<'_>
    ) -> Result<bool> {
        let end = sqlx::query(sql::RETRY_LATER)
            .bind(id)
            .bind(worker)
            .bind(error.to_owned())
            .bind(ts(not_before))
            .bind(ts(now));
        self.end_row("reschedule outbox row", end, now, with).await
    }

    pub(super) async fn fail(
        &self, id: i64, worker: &str, error: &str, now: Timestamp, with: RowEnd<'_>
    ) -> Result<bool> {
        let finish = sqlx::query(sql::FAIL).bind(id).bind(worker).bind(error.to_owned()).bind(ts(now));
        self.end_row("fail outbox row", finish, now, with).await
    }

    pub(super) async fn cancel(
        &self, id: i64
    ) -> Result<bool> {
        self.write_one("cancel outbox row", move |c| Box::pin(cancel_in(c, id)))
            .await
    }

    pub(super) async fn outbox_depth(
        &self
    ) -> Result<i64> {
        sqlx::query_scalar(sql::OUTBOX_DEPTH)
            .fetch_one(&self.pool)
            .await
            .map_err(query("count outbox"))
    }

    pub(super) async fn outbox_row(
        &self, id: i64
    ) -> Result<Option<OutboxRow>> {
        sqlx::query_as::<_, RawOutbox>(sql::OUTBOX_ROW)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(query("read outbox row"))?
            .map(RawOutbox::decode)
            .transpose()
    }

    pub(super) async fn outbox_by_incident(
        &self, incident_id: &str
    ) -> Result<Vec<OutboxRow>> {
        let rows = sqlx::query_as::<_, RawOutbox>(sql::OUTBOX_BY_INCIDENT)
            .bind(incident_id)
            .fetch_all(&self.pool)
            .await
            .map_err(query("read outbox"))?;
        codec::decode_all(rows, RawOutbox::decode)
    }

    pub(super) async fn outbox_in_state(
        &self, state: OutboxState
    ) -> Result<Vec<OutboxRow>> {
        let rows = sqlx::query_as::<_, RawOutbox>(sql::OUTBOX_BY_STATE)
            .bind(state.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(query("read outbox"))?;
        codec::decode_all(rows, RawOutbox::decode)
    }

    pub(super) async fn outbox_counts(
        &self
    ) -> Result<Vec<(OutboxState, i64)>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(sql::OUTBOX_COUNTS)
            .fetch_all(&self.pool)
            .await
            .map_err(query("count outbox"))?;
        rows.into_iter()
            .map(|(s, n)| Ok((OutboxState::parse(&s)?, n)))
            .collect()
    }

    pub(super) async fn outbox_states(
        &self
    ) -> Result<std::collections::HashMap<String, OutboxState>> {
        let rows: Vec<(String, String)> = sqlx::query_as(sql::OUTBOX_STATES)
            .fetch_all(&self.pool)
            .await
            .map_err(query("read outbox states"))?;
        rows.into_iter()
            .map(|(k, s)| Ok((k, OutboxState::parse(&s)?)))
            .collect()
    }

    pub(super) async fn outbox_waiting(
        &self
    ) -> Result<Vec<Timestamp>> {
        let rows: Vec<String> = sqlx::query_scalar(sql::OUTBOX_WAITING)
            .fetch_all(&self.pool)
            .await
            .map_err(query("read outbox"))?;
        rows.iter()
            .map(|t| codec::parse_ts("outbox.not_before", t))
            .collect()
    }

    pub(super) async fn expire_leases(
        &self, now: Timestamp
    ) -> Result<u64> {
        let done = sqlx::query(sql::EXPIRE_LEASES)
            .bind(ts(now))
            .execute(&self.pool)
            .await
            .map_err(query("expire leases"))?;
        Ok(done.rows_affected())
    }

    // ----- input journal --------------------------------------------------

    pub(super) async fn journal_mentions(
        &self, mentions: &[Mention], at: Timestamp
    ) -> Result<Vec<bool>> {
        let what = "journal mentions";
        // Written before the transaction, which holds the one write lock:
        // almost every group is all new, so this is almost always the
        // payload; a group that met duplicates is written again below.
        let all = codec::json("inputs.payload", &mentions)?;
        let mut tx = self.begin_write(what).await?;
        lock_journal(&mut tx, what).await?;
        let new = insert_keys_in(&mut tx, mentions, what).await?;
        let payload = if !new.iter().any(|n| *n) {
            None // nothing new (or nothing at all): no entry
        } else if new.iter().all(|n| *n) {
            Some(all)
        } else {
            let fresh: Vec<&Mention> = mentions
                .iter()
                .zip(&new)
                .filter_map(|(m, new)| new.then_some(m))
                .collect();
            Some(codec::json("inputs.payload", &fresh)?)
        };
        if let Some(payload) = payload {
            append_input_in(&mut tx, at, "mentions", &payload, what).await?;
        }
        tx.commit().await.map_err(query(what))?;
        Ok(new)
    }

    pub(super) async fn journal(
        &self, at: Timestamp, kind: &'static str, payload: &Value
    ) -> Result<i64> {
        let payload = codec::json("inputs.payload", payload)?;
        self.write_one("journal input", move |c| {
            Box::pin(async move {
                lock_journal(&mut *c, "journal input").await?;
                append_input_in(c, at, kind, &payload, "journal input").await
            })
        })
        .await
    }

    pub(super) async fn journal_entries(&self) -> Result<Vec<JournalEntry>> {
        self.journal_after(0, i64::MAX).await
    }

    pub(super) async fn journal_after(&self, after_seq: i64, limit: i64) -> Result<Vec<JournalEntry>> {
        let rows: Vec<(i64, String, String, String)> = sqlx::query_as(sql::INPUTS_AFTER)
            .bind(after_seq)
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .map_err(query("read input journal"))?;
        let mut entries = Vec::with_capacity(rows.len());
        for (seq, at, kind, payload) in rows {
            let at = codec::parse_ts("inputs.at", &at)?;
            if kind == "mentions" {
                // A group is read back as the engine saw it: one mention
                // after the other, at the group's time, under its `seq`.
                let group: Vec<Value> = codec::parse_json("inputs.payload", &payload)?;
                entries.extend(group.into_iter().map(|payload| JournalEntry {
                    seq,
                    at,
                    kind: "mention".to_owned(),
                    payload,
                }));
            } else {
                entries.push(JournalEntry {
                    seq,
                    at,
                    kind,
                    payload: codec::parse_json("inputs.payload", &payload)?,
                });
            }
        }
        Ok(entries)
    }

    pub(super) async fn journal_tick_if_caught_up(
        &self,
        seen_seq: i64,
        at: Timestamp,
    ) -> Result<Option<i64>> {
        let what = "journal tick";
        let mut tx = self.begin_write(what).await?;
        lock_journal(&mut tx, what).await?;
        let last: i64 = sqlx::query_scalar(sql::LAST_INPUT)
            .fetch_one(&mut *tx)
            .await
            .map_err(query(what))?;
        if last != seen_seq {
            return Ok(None);
        }
        let seq = append_input_in(&mut tx, at, "tick", "null", what).await?;
        tx.commit().await.map_err(query(what))?;
        Ok(Some(seq))
    }

    // ----- pins -----------------------------------------------------------

    pub(super) async fn record_pin(
        &self, pin: &NewPin
    ) -> Result<i64> {
        let pin = pin.clone();
        self.write_one("record pin", move |c| {
            Box::pin(async move { record_pin_in(c, &pin).await })
        })
        .await
    }

    pub(super) async fn active_pin(
        &self, account: &str, purpose: PinPurpose
    ) -> Result<Option<PinRow>> {
        sqlx::query_as::<_, RawPin>(sql::ACTIVE_PIN)
            .bind(account)
            .bind(purpose.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(query("read active pin"))?
            .map(RawPin::decode)
            .transpose()
    }

    pub(super) async fn active_pins(
        &self
    ) -> Result<Vec<PinRow>> {
        let rows = sqlx::query_as::<_, RawPin>(sql::ACTIVE_PINS)
            .fetch_all(&self.pool)
            .await
            .map_err(query("read pins"))?;
        codec::decode_all(rows, RawPin::decode)
    }

    pub(super) async fn mark_unpinned(
        &self, id: i64, at: Timestamp
    ) -> Result<bool> {
        self.write_one("mark unpinned", move |c| {
            Box::pin(mark_unpinned_in(c, id, at))
        })
        .await
    }

    pub(super) async fn mark_restored(
        &self, id: i64, at: Timestamp
    ) -> Result<bool> {
        self.write_one("mark restored", move |c| {
            Box::pin(mark_restored_in(c, id, at))
        })
        .await
    }

    pub(super) async fn pins_for_incident(
        &self, incident_id: &str
    ) -> Result<Vec<PinRow>> {
        let rows = sqlx::query_as::<_, RawPin>(sql::PINS_FOR_INCIDENT)
            .bind(incident_id)
            .fetch_all(&self.pool)
            .await
            .map_err(query("read pins"))?;
        codec::decode_all(rows, RawPin::decode)
    }

    // ----- conversations --------------------------------------------------

    pub(super) async fn conversation_for(
        &self, incident_id: &str, platform: &str, author_id: &str, author_handle: &str, at: Timestamp
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

    pub(super) async fn upsert_draft(
        &self, draft: &NewDraft
    ) -> Result<i64> {
        let draft = draft.clone();
        self.write_one("upsert draft", move |c| {
            Box::pin(async move { upsert_draft_in(c, &draft).await })
        })
        .await
    }

    pub(super) async fn draft(
        &self, id: i64
    ) -> Result<Option<DraftRow>> {
        fetch_draft(&self.pool, sql::DRAFT, id, "read draft").await
    }

    pub(super) async fn pending_draft_for_conversation(
        &self, conversation_id: i64
    ) -> Result<Option<DraftRow>> {
        fetch_draft(
            &self.pool,
            sql::PENDING_DRAFT_FOR_CONVERSATION,
            conversation_id,
            "read pending draft",
        )
        .await
    }

    pub(super) async fn assign_draft(
        &self, id: i64, staff: &str, at: Timestamp
    ) -> Result<bool> {
        let staff = staff.to_owned();
        self.write_one("assign draft", move |c| {
            Box::pin(async move { assign_draft_in(c, id, &staff, at).await })
        })
        .await
    }

    pub(super) async fn approve_draft(
        &self, id: i64, by: &str, text: &str, at: Timestamp
    ) -> Result<bool> {
        let (by, text) = (by.to_owned(), text.to_owned());
        self.write_one("approve draft", move |c| {
            Box::pin(async move { approve_draft_in(c, id, &by, &text, at).await })
        })
        .await
    }

    pub(super) async fn mark_sent(
        &self, id: i64, at: Timestamp
    ) -> Result<bool> {
        self.write_one("mark draft sent", move |c| {
            Box::pin(mark_sent_in(c, id, at))
        })
        .await
    }

    pub(super) async fn discard_draft(
        &self, id: i64, reason: &str, at: Timestamp
    ) -> Result<bool> {
        let reason = reason.to_owned();
        self.write_one("discard draft", move |c| {
            Box::pin(async move { discard_draft_in(c, id, &reason, at).await })
        })
        .await
    }

    pub(super) async fn draft_queue(
        &self, incident_id: Option<&str>
    ) -> Result<Vec<DraftRow>> {
        let rows = sqlx::query_as::<_, RawDraft>(sql::DRAFT_QUEUE)
            .bind(incident_id)
            .fetch_all(&self.pool)
            .await
            .map_err(query("read draft queue"))?;
        codec::decode_all(rows, RawDraft::decode)
    }

    pub(super) async fn drafts(&self, f: &DraftFilter) -> Result<(Vec<DraftRow>, i64)> {
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

    pub(super) async fn mention_times(&self, incident_id: &str) -> Result<Vec<Timestamp>> {
        let rows: Vec<String> = sqlx::query_scalar(sql::MENTION_TIMES)
            .bind(incident_id)
            .fetch_all(&self.pool)
            .await
            .map_err(query("read mention times"))?;
        rows.iter()
            .map(|t| codec::parse_ts("mentions.created_at", t))
            .collect()
    }

    pub(super) async fn staff_load(
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

    pub(super) async fn drafts_by_assignee_pending(
        &self, staff: &str
    ) -> Result<i64> {
        sqlx::query_scalar(sql::DRAFTS_BY_ASSIGNEE_PENDING)
            .bind(staff)
            .fetch_one(&self.pool)
            .await
            .map_err(query("count assigned drafts"))
    }

    // ----- processed ------------------------------------------------------

    pub(super) async fn mark_processed(
        &self, key: &str, at: Timestamp
    ) -> Result<bool> {
        let key = key.to_owned();
        self.write_one("mark processed", move |c| {
            Box::pin(async move { mark_processed_in(c, &key, at).await })
        })
        .await
    }

    // ----- batches --------------------------------------------------------

    pub(super) async fn apply(
        &self, writes: &[Write]
    ) -> Result<ApplyOutcome> {
        self.apply_fenced(None, writes).await
    }

    pub(super) async fn apply_fenced(
        &self,
        epoch: Option<i64>,
        writes: &[Write],
    ) -> Result<ApplyOutcome> {
        let what = "apply batch";
        let mut tx = self.begin_write(what).await?;
        if let Some(epoch) = epoch {
            check_fence(&mut tx, epoch).await?;
        }
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
        if !outcome.enqueued.is_empty() {
            announce_work(&mut tx).await?;
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
/// Stores a mention's row, or (when `incident_id` is given and the row
/// exists) attaches it to the incident.
async fn insert_mention_in(
    conn: &mut Conn,
    m: &Mention,
    body: &str,
    received_at: Timestamp,
    incident_id: Option<&str>,
    what: &'static str,
) -> Result<()> {
    sqlx::query(sql::UPSERT_MENTION)
        .bind(&m.platform)
        .bind(&m.id)
        .bind(&m.account)
        .bind(&m.author.id)
        .bind(&m.author.handle)
        .bind(ts(m.created_at))
        .bind(ts(received_at))
        .bind(&m.lang)
        .bind(body)
        .bind(incident_id)
        .execute(&mut *conn)
        .await
        .map_err(query(what))?;
    Ok(())
}

/// Appends one entry to the input journal and returns its `seq`. The caller
/// holds the journal lock (`lock_journal`) in the same transaction.
async fn append_input_in(
    conn: &mut Conn,
    at: Timestamp,
    kind: &str,
    payload: &str,
    what: &'static str,
) -> Result<i64> {
    sqlx::query_scalar(sql::APPEND_INPUT)
        .bind(ts(at))
        .bind(kind)
        .bind(payload)
        .fetch_one(conn)
        .await
        .map_err(query(what))
}

/// Records the keys of `ms` in `mention_keys` and says, per mention,
/// whether it is new: neither seen before nor a repeat of an earlier
/// mention of `ms` (the first copy is the new one).
async fn insert_keys_in(conn: &mut Conn, ms: &[Mention], what: &'static str) -> Result<Vec<bool>> {
    let mut new = Vec::with_capacity(ms.len());
    // Multi-row statements: a group of 20 000 costs a few round trips, not
    // 20 000 (bind parameters stay under both backends' limits).
    for ms in ms.chunks(KEY_CHUNK) {
        let insert = |returning: bool| {
            let mut insert = sqlx::QueryBuilder::<Db>::new("INSERT INTO mention_keys (platform, id) ");
            insert.push_values(ms, |mut row, m| {
                row.push_bind(&m.platform).push_bind(&m.id);
            });
            insert.push(" ON CONFLICT (platform, id) DO NOTHING");
            if returning {
                insert.push(" RETURNING platform, id");
            }
            insert
        };
        // Almost every chunk is all new: insert it without `RETURNING` (a
        // returned row costs the driver a copy and a hand-over per mention)
        // and check the count. Only a chunk that met a duplicate is undone
        // and inserted again, saying which keys are new.
        let all_new = unique_keys(ms) && {
            sqlx::query("SAVEPOINT mention_keys")
                .execute(&mut *conn)
                .await
                .map_err(query(what))?;
            let n = insert(false)
                .build()
                .execute(&mut *conn)
                .await
                .map_err(query(what))?
                .rows_affected();
            let all_new = usize::try_from(n).is_ok_and(|n| n == ms.len());
            if !all_new {
                sqlx::query("ROLLBACK TO SAVEPOINT mention_keys")
                    .execute(&mut *conn)
                    .await
                    .map_err(query(what))?;
            }
            sqlx::query("RELEASE SAVEPOINT mention_keys")
                .execute(&mut *conn)
                .await
                .map_err(query(what))?;
            all_new
        };
        if all_new {
            new.resize(new.len() + ms.len(), true);
        } else {
            let mut stored: std::collections::HashSet<(String, String)> = insert(true)
                .build_query_as::<(String, String)>()
                .fetch_all(&mut *conn)
                .await
                .map_err(query(what))?
                .into_iter()
                .collect();
            new.extend(ms.iter().map(|m| stored.remove(&(m.platform.clone(), m.id.clone()))));
        }
    }
    Ok(new)
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
    pool: &DbPool,
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
    conn: &mut Conn,
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
            mention,
            received_at,
            incident_id,
        } => {
            let body = codec::json("mentions.body", mention)?;
            let what = "attach mention";
            insert_mention_in(conn, mention, &body, *received_at, Some(incident_id), what).await?;
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
    conn: &mut Conn,
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

async fn upsert_incident_in(conn: &mut Conn, i: &IncidentRow) -> Result<()> {
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

async fn append_timeline_in(conn: &mut Conn, e: &NewTimeline) -> Result<i64> {
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

async fn enqueue_in(conn: &mut Conn, o: &NewOutbox) -> Result<Option<i64>> {
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

async fn cancel_in(conn: &mut Conn, id: i64) -> Result<bool> {
    let done = sqlx::query(sql::CANCEL)
        .bind(id)
        .execute(conn)
        .await
        .map_err(query("cancel outbox row"))?;
    Ok(done.rows_affected() == 1)
}

async fn record_pin_in(conn: &mut Conn, p: &NewPin) -> Result<i64> {
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

async fn mark_unpinned_in(conn: &mut Conn, id: i64, at: Timestamp) -> Result<bool> {
    let done = sqlx::query(sql::MARK_UNPINNED)
        .bind(id)
        .bind(ts(at))
        .execute(conn)
        .await
        .map_err(query("mark unpinned"))?;
    Ok(done.rows_affected() == 1)
}

async fn mark_restored_in(conn: &mut Conn, id: i64, at: Timestamp) -> Result<bool> {
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
async fn save_draft_in(conn: &mut Conn, d: &DraftSnapshot) -> Result<()> {
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

async fn upsert_draft_in(conn: &mut Conn, d: &NewDraft) -> Result<i64> {
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
    conn: &mut Conn,
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
    conn: &mut Conn,
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

async fn mark_sent_in(conn: &mut Conn, id: i64, at: Timestamp) -> Result<bool> {
    let done = sqlx::query(sql::MARK_SENT)
        .bind(id)
        .bind(ts(at))
        .execute(conn)
        .await
        .map_err(query("mark draft sent"))?;
    Ok(done.rows_affected() == 1)
}

async fn discard_draft_in(
    conn: &mut Conn,
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

async fn mark_processed_in(conn: &mut Conn, key: &str, at: Timestamp) -> Result<bool> {
    let done = sqlx::query(sql::MARK_PROCESSED)
        .bind(key)
        .bind(ts(at))
        .execute(conn)
        .await
        .map_err(query("mark processed"))?;
    Ok(done.rows_affected() == 1)
}
