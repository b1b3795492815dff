//! The query text, written once for SQLite and Postgres.
//!
//! Everything here uses `$n` placeholders, `ON CONFLICT`, `RETURNING` and
//! `CASE`, which both databases accept, and compares timestamps as the
//! fixed-width text described in [`super::codec`]. The one place the backends
//! must differ is claiming an outbox row: see [`CLAIM_NEXT`].

/// A mention's row: kept for mentions attached to an incident (and by
/// `insert_mentions`, for every mention a simulation reads). Attaching a
/// stored mention sets its incident; no write takes one away.
pub(crate) const UPSERT_MENTION: &str = "\
INSERT INTO mentions (platform, id, account, author_id, author_handle, created_at, received_at, lang, body, incident_id) \
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
ON CONFLICT (platform, id) DO UPDATE SET incident_id = COALESCE(excluded.incident_id, mentions.incident_id)";

pub(crate) const MENTION: &str =
    "SELECT body, received_at, incident_id FROM mentions WHERE platform = $1 AND id = $2";

/// Whether a mention was ever accepted (journaled or inserted).
pub(crate) const MENTION_KNOWN: &str =
    "SELECT COUNT(*) FROM mention_keys WHERE platform = $1 AND id = $2";

pub(crate) const COUNT_MENTIONS: &str = "SELECT COUNT(*) FROM mention_keys";

pub(crate) const ATTACH_MENTION: &str =
    "UPDATE mentions SET incident_id = $3 WHERE platform = $1 AND id = $2";

const INCIDENT_COLUMNS: &str = "id, playbook, group_key, state, title, trigger_kind, opened_at, \
acknowledged_at, mitigated_at, resolved_at, status_text, status_approved_by, detail";

pub(crate) const UPSERT_INCIDENT: &str = "\
INSERT INTO incidents (id, playbook, group_key, state, title, trigger_kind, opened_at, \
acknowledged_at, mitigated_at, resolved_at, status_text, status_approved_by, detail) \
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
ON CONFLICT (id) DO UPDATE SET \
playbook = excluded.playbook, group_key = excluded.group_key, state = excluded.state, \
title = excluded.title, trigger_kind = excluded.trigger_kind, opened_at = excluded.opened_at, \
acknowledged_at = excluded.acknowledged_at, mitigated_at = excluded.mitigated_at, \
resolved_at = excluded.resolved_at, status_text = excluded.status_text, \
status_approved_by = excluded.status_approved_by, detail = excluded.detail";

pub(crate) fn incident() -> String {
    format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id = $1")
}

/// Unresolved first, then newest first. `$1` true keeps unresolved only.
pub(crate) fn incidents() -> String {
    format!(
        "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE ($1 = FALSE OR state <> 'resolved') \
         ORDER BY CASE WHEN state = 'resolved' THEN 1 ELSE 0 END, opened_at DESC, id DESC"
    )
}

pub(crate) const INSERT_TIMELINE: &str = "\
INSERT INTO timeline (incident_id, at, kind, actor, message, detail) \
VALUES ($1, $2, $3, $4, $5, $6) RETURNING seq";

pub(crate) const TIMELINE: &str = "\
SELECT seq, incident_id, at, kind, actor, message, detail FROM timeline \
WHERE incident_id = $1 ORDER BY seq";

pub(crate) const TIMELINE_ALL: &str = "\
SELECT seq, incident_id, at, kind, actor, message, detail FROM timeline \
WHERE seq > $1 ORDER BY seq LIMIT $2";

pub(crate) const ENQUEUE: &str = "\
INSERT INTO outbox (idem_key, incident_id, kind, account, payload, state, attempts, not_before, created_at, updated_at) \
VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $7, $7) \
ON CONFLICT (idem_key) DO NOTHING RETURNING id";

/// Claims the oldest claimable row in one statement: a pending row that is
/// due, or a running row whose lease expired (its worker crashed or hung).
/// `$1` worker, `$2` now, `$3` lease end.
///
/// One account's rows run in outbox order across workers (a status update
/// must not overtake the post it edits, a restore must not overtake the
/// pin): a row is skipped while an earlier row of its account is due or
/// held by *another* worker. A worker may take several rows of an account
/// (it runs them one after the other); a row waiting for a retry does not
/// hold the account's later rows back (the executor copes with that case).
/// Two workers claiming at once cannot take rows 1 and 2 of one account:
/// the second sees row 1 as due (uncommitted claims are invisible) and
/// skips row 2.
///
/// The Postgres store adds `FOR UPDATE OF o SKIP LOCKED` to the inner
/// `SELECT` ([`claim_next`]); SQLite has a single writer, so the statement
/// alone is atomic there.
pub(crate) const CLAIM_NEXT: &str = "\
UPDATE outbox SET state = 'running', lease_owner = $1, lease_until = $3, \
attempts = attempts + 1, updated_at = $2 \
WHERE id = (SELECT o.id FROM outbox o \
  WHERE ((o.state = 'pending' AND o.not_before <= $2) OR (o.state = 'running' AND o.lease_until <= $2)) \
  AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.account = o.account AND e.id < o.id \
    AND ((e.state = 'pending' AND e.not_before <= $2) OR (e.state = 'running' AND e.lease_owner <> $1))) \
  ORDER BY o.id LIMIT 1) \
RETURNING *";

/// [`CLAIM_NEXT`] for a backend with row locks: `LIMIT 1` then `lock`,
/// e.g. `FOR UPDATE OF o SKIP LOCKED`.
pub(crate) fn claim_next(lock: &str) -> String {
    CLAIM_NEXT.replacen(
        "ORDER BY o.id LIMIT 1)",
        &format!("ORDER BY o.id LIMIT 1 {lock})"),
        1,
    )
}

/// The lease is ours while we are still recorded as its owner; an expired
/// lease nobody reclaimed yet still counts, since no one else ran the action.
pub(crate) const COMPLETE: &str = "\
UPDATE outbox SET state = 'done', result = $3, lease_until = NULL, last_error = NULL, updated_at = $4 \
WHERE id = $1 AND state = 'running' AND lease_owner = $2";

pub(crate) const RETRY_LATER: &str = "\
UPDATE outbox SET state = 'pending', last_error = $3, not_before = $4, lease_owner = NULL, \
lease_until = NULL, updated_at = $5 \
WHERE id = $1 AND state = 'running' AND lease_owner = $2";

pub(crate) const FAIL: &str = "\
UPDATE outbox SET state = 'failed', last_error = $3, lease_until = NULL, updated_at = $4 \
WHERE id = $1 AND state = 'running' AND lease_owner = $2";

/// Only pending rows: a running action may already have had its effect.
pub(crate) const CANCEL: &str =
    "UPDATE outbox SET state = 'cancelled' WHERE id = $1 AND state = 'pending'";

pub(crate) const OUTBOX_DEPTH: &str =
    "SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'running')";

pub(crate) const OUTBOX_BY_INCIDENT: &str =
    "SELECT * FROM outbox WHERE incident_id = $1 ORDER BY id";

pub(crate) const OUTBOX_ROW: &str = "SELECT * FROM outbox WHERE id = $1";

pub(crate) const RECORD_PIN: &str = "\
INSERT INTO pins (account, post_id, post_url, incident_id, purpose, pinned_at, displaced) \
VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id";

pub(crate) const ACTIVE_PIN: &str =
    "SELECT * FROM pins WHERE account = $1 AND purpose = $2 AND unpinned_at IS NULL";

pub(crate) const ACTIVE_PINS: &str = "SELECT * FROM pins WHERE unpinned_at IS NULL ORDER BY id";

pub(crate) const PINS_FOR_INCIDENT: &str = "SELECT * FROM pins WHERE incident_id = $1 ORDER BY id";

pub(crate) const MARK_UNPINNED: &str =
    "UPDATE pins SET unpinned_at = $2 WHERE id = $1 AND unpinned_at IS NULL";

pub(crate) const MARK_RESTORED: &str =
    "UPDATE pins SET restored_at = $2 WHERE id = $1 AND restored_at IS NULL";

/// Get or create in one statement; a later mention moves `last_mention_at`
/// forward (never back: mentions may arrive out of order).
pub(crate) const CONVERSATION_FOR: &str = "\
INSERT INTO conversations (incident_id, platform, author_id, author_handle, opened_at, last_mention_at, mention_count) \
VALUES ($1, $2, $3, $4, $5, $5, 1) \
ON CONFLICT (incident_id, platform, author_id) DO UPDATE SET \
author_handle = excluded.author_handle, \
last_mention_at = CASE WHEN excluded.last_mention_at > conversations.last_mention_at \
  THEN excluded.last_mention_at ELSE conversations.last_mention_at END, \
mention_count = conversations.mention_count + 1 \
RETURNING *";

pub(crate) const DRAFT: &str = "SELECT * FROM drafts WHERE id = $1";

pub(crate) const PENDING_DRAFT_FOR_CONVERSATION: &str =
    "SELECT * FROM drafts WHERE conversation_id = $1 AND state = 'pending'";

pub(crate) const INSERT_DRAFT: &str = "\
INSERT INTO drafts (incident_id, conversation_id, mention_platform, mention_id, mention_at, lang, text, \
private, flags, state, created_at, updated_at) \
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $10, $10) RETURNING id";

/// Folds a follow-up into the pending draft. `$9` is the earlier of the two
/// mention times: the customer keeps the place in the queue their first
/// message earned.
pub(crate) const FOLD_DRAFT: &str = "\
UPDATE drafts SET mention_platform = $2, mention_id = $3, lang = $4, text = $5, private = $6, \
flags = $7, updated_at = $8, mention_at = $9 \
WHERE id = $1 AND state = 'pending'";

pub(crate) const ASSIGN_DRAFT: &str = "\
UPDATE drafts SET assignee = $2, assigned_at = $3, updated_at = $3 WHERE id = $1 AND state = 'pending'";

pub(crate) const APPROVE_DRAFT: &str = "\
UPDATE drafts SET state = 'approved', approved_by = $2, text = $3, approved_at = $4, updated_at = $4 \
WHERE id = $1 AND state = 'pending'";

pub(crate) const MARK_SENT: &str = "\
UPDATE drafts SET state = 'sent', sent_at = $2, updated_at = $2 WHERE id = $1 AND state = 'approved'";

pub(crate) const DISCARD_DRAFT: &str = "\
UPDATE drafts SET state = 'discarded', discarded_reason = $2, updated_at = $3 \
WHERE id = $1 AND state IN ('pending', 'approved')";

/// Customer time, then arrival: never follower count (BRIEF lesson 9).
pub(crate) const DRAFT_QUEUE: &str = "\
SELECT * FROM drafts WHERE state = 'pending' AND ($1 IS NULL OR incident_id = $1) \
ORDER BY mention_at, id";

pub(crate) const DRAFTS_BY_ASSIGNEE_PENDING: &str =
    "SELECT COUNT(*) FROM drafts WHERE assignee = $1 AND state = 'pending'";

pub(crate) const MARK_PROCESSED: &str =
    "INSERT INTO processed (key, at) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING";

pub(crate) const FIND_CONVERSATION: &str =
    "SELECT id FROM conversations WHERE incident_id = $1 AND platform = $2 AND author_id = $3";

/// Upsert of an engine-assigned draft; the CHECK constraints still refuse an
/// approved or sent draft without its approver.
pub(crate) const SAVE_DRAFT: &str = "\
INSERT INTO drafts (id, incident_id, conversation_id, mention_platform, mention_id, mention_at, lang, text, \
private, flags, state, assignee, assigned_at, approved_by, approved_at, sent_at, discarded_reason, created_at, updated_at, \
detail, sla_deadline) \
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21) \
ON CONFLICT (id) DO UPDATE SET mention_at = excluded.mention_at, lang = excluded.lang, text = excluded.text, \
private = excluded.private, flags = excluded.flags, state = excluded.state, assignee = excluded.assignee, \
assigned_at = CASE WHEN excluded.assignee IS NOT DISTINCT FROM drafts.assignee THEN drafts.assigned_at ELSE excluded.assigned_at END, \
approved_by = excluded.approved_by, approved_at = excluded.approved_at, sent_at = excluded.sent_at, \
discarded_reason = excluded.discarded_reason, updated_at = excluded.updated_at, \
detail = excluded.detail, sla_deadline = excluded.sla_deadline";

/// The filters of `GET /v1/drafts`, shared by the page and its total:
/// `$1` state (NULL: any), `$2` assignee (NULL: anyone), `$3` 1 for
/// unassigned only, `$4` incident (NULL: any).
macro_rules! draft_filter {
    () => {
        "(CAST($1 AS TEXT) IS NULL OR state = $1) \
AND (CAST($2 AS TEXT) IS NULL OR assignee = $2) \
AND ($3 = 0 OR assignee IS NULL) \
AND (CAST($4 AS TEXT) IS NULL OR incident_id = $4)"
    };
}

/// One page of drafts in queue order, after the cursor `($5, $6)`, at most `$7`.
pub(crate) const DRAFTS_PAGE: &str = concat!(
    "SELECT * FROM drafts WHERE ",
    draft_filter!(),
    " AND (CAST($5 AS TEXT) IS NULL OR mention_at > $5 OR (mention_at = $5 AND id > $6)) \
ORDER BY mention_at, id LIMIT $7"
);

pub(crate) const DRAFTS_TOTAL: &str =
    concat!("SELECT COUNT(*) FROM drafts WHERE ", draft_filter!());

/// When each mention of an incident was written (the report's volume).
pub(crate) const MENTION_TIMES: &str =
    "SELECT created_at FROM mentions WHERE incident_id = $1 ORDER BY created_at";

/// Pending drafts per assignee, and how many of them are past their SLA at `$1`.
pub(crate) const STAFF_LOAD: &str = "\
SELECT assignee, COUNT(*), SUM(CASE WHEN sla_deadline < $1 THEN 1 ELSE 0 END) \
FROM drafts WHERE state = 'pending' AND assignee IS NOT NULL GROUP BY assignee";

pub(crate) const REPOINT_PIN: &str =
    "UPDATE pins SET post_id = $2, post_url = $3 WHERE id = $1 AND unpinned_at IS NULL";

pub(crate) const APPEND_INPUT: &str =
    "INSERT INTO inputs (at, kind, payload) VALUES ($1, $2, $3) RETURNING seq";

/// A group of mentions (kind `mentions`, migration 0010) carries them in
/// `payload`, as a JSON array. A single mention's entry journaled under
/// migration 0009 takes its body from its row in `mentions`; one journaled
/// before that carries it in `payload`.
pub(crate) const INPUTS_AFTER: &str = "\
SELECT i.seq, i.at, i.kind, COALESCE(m.body, i.payload) FROM inputs i \
LEFT JOIN mentions m ON m.platform = i.mention_platform AND m.id = i.mention_id \
WHERE i.seq > $1 ORDER BY i.seq LIMIT $2";

pub(crate) const LAST_INPUT: &str = "SELECT COALESCE(MAX(seq), 0) FROM inputs";

pub(crate) const OUTBOX_STATES: &str = "SELECT idem_key, state FROM outbox";

pub(crate) const OUTBOX_COUNTS: &str = "SELECT state, COUNT(*) FROM outbox GROUP BY state";

pub(crate) const OUTBOX_WAITING: &str =
    "SELECT not_before FROM outbox WHERE state = 'pending' ORDER BY not_before";

pub(crate) const OUTBOX_BY_STATE: &str = "SELECT * FROM outbox WHERE state = $1 ORDER BY id";

/// Ends every lease now (`$1`): the running rows become claimable at once.
pub(crate) const EXPIRE_LEASES: &str =
    "UPDATE outbox SET lease_until = $1 WHERE state = 'running' AND lease_until > $1";

pub(crate) const PLAN_RESTORE: &str =
    "UPDATE pins SET displaced = $2 WHERE id = $1 AND unpinned_at IS NULL";

pub(crate) const INGEST_CURSOR: &str = "SELECT cursor FROM ingest_cursors WHERE source = $1";

pub(crate) const SAVE_INGEST_CURSOR: &str = "\
INSERT INTO ingest_cursors (source, cursor, updated_at) VALUES ($1, $2, $3) \
ON CONFLICT (source) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at";

/// The post of the latest status post carried out for an incident on an
/// account (the executor records it in the outbox row's result).
pub(crate) const STATUS_POST: &str = "\
SELECT result FROM outbox \
WHERE incident_id = $1 AND account = $2 AND kind = 'post_status' AND state = 'done' \
ORDER BY id DESC LIMIT 1";
