//! How Rust values become column values and back, for every backend.
//!
//! Timestamps are TEXT, RFC 3339 in UTC with exactly six fractional digits
//! (`2024-05-01T09:30:00.000000Z`): fixed width makes lexical order equal time
//! order, so `<=` in SQL compares times on SQLite and Postgres alike, and the
//! database stays readable with a plain SQL shell. Sub-microsecond precision
//! is dropped. JSON is TEXT. Enumerations are lowercase TEXT. Anything that
//! fails to decode is reported as [`StoreError::Corrupt`], never a panic.
//!
//! The `Raw*` structs mirror the tables column for column; their `FromRow`
//! derive is generic over the row type, so a Postgres store reuses them.

use super::rows::*;
use super::StoreError;
use crate::adapters::PostRef;
use crate::clock::Timestamp;
use crate::mention::Mention;
use crate::playbook::model::IncidentState;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// The fixed-width text form of a timestamp.
pub(crate) fn ts(t: Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// [`ts`] for optional columns.
pub(crate) fn ts_opt(t: Option<Timestamp>) -> Option<String> {
    t.map(ts)
}

pub(crate) fn parse_ts(what: &'static str, s: &str) -> Result<Timestamp, StoreError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt {
            what,
            detail: format!("timestamp {s:?}: {e}"),
        })
}

fn parse_ts_opt(what: &'static str, s: Option<&str>) -> Result<Option<Timestamp>, StoreError> {
    s.map(|s| parse_ts(what, s)).transpose()
}

/// The TEXT form of a JSON column.
pub(crate) fn json<T: Serialize + ?Sized>(what: &'static str, v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt {
        what,
        detail: format!("cannot encode: {e}"),
    })
}

pub(crate) fn parse_json<T: DeserializeOwned>(
    what: &'static str,
    s: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt {
        what,
        detail: format!("json: {e}"),
    })
}

fn unknown(what: &'static str, value: &str) -> StoreError {
    StoreError::Corrupt {
        what,
        detail: format!("unknown value {value:?}"),
    }
}

pub(crate) fn incident_state_str(s: IncidentState) -> &'static str {
    s.as_str()
}

fn parse_incident_state(s: &str) -> Result<IncidentState, StoreError> {
    Ok(match s {
        "open" => IncidentState::Open,
        "acknowledged" => IncidentState::Acknowledged,
        "mitigated" => IncidentState::Mitigated,
        "resolved" => IncidentState::Resolved,
        other => return Err(unknown("incidents.state", other)),
    })
}

impl OutboxState {
    /// The column value.
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Pending => "pending",
            OutboxState::Running => "running",
            OutboxState::Done => "done",
            OutboxState::Failed => "failed",
            OutboxState::Cancelled => "cancelled",
        }
    }

    pub(crate) fn parse(s: &str) -> Result<Self, StoreError> {
        Ok(match s {
            "pending" => OutboxState::Pending,
            "running" => OutboxState::Running,
            "done" => OutboxState::Done,
            "failed" => OutboxState::Failed,
            "cancelled" => OutboxState::Cancelled,
            other => return Err(unknown("outbox.state", other)),
        })
    }
}

impl PinPurpose {
    /// The column value.
    pub fn as_str(self) -> &'static str {
        match self {
            PinPurpose::Status => "status",
            PinPurpose::OffHours => "off_hours",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        Ok(match s {
            "status" => PinPurpose::Status,
            "off_hours" => PinPurpose::OffHours,
            other => return Err(unknown("pins.purpose", other)),
        })
    }
}

impl DraftState {
    /// The column value.
    pub fn as_str(self) -> &'static str {
        match self {
            DraftState::Pending => "pending",
            DraftState::Approved => "approved",
            DraftState::Sent => "sent",
            DraftState::Discarded => "discarded",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        Ok(match s {
            "pending" => DraftState::Pending,
            "approved" => DraftState::Approved,
            "sent" => DraftState::Sent,
            "discarded" => DraftState::Discarded,
            other => return Err(unknown("drafts.state", other)),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct RawMention {
    body: String,
    received_at: String,
    incident_id: Option<String>,
}

impl RawMention {
    pub(crate) fn decode(self) -> Result<MentionRow, StoreError> {
        Ok(MentionRow {
            mention: parse_json::<Mention>("mentions.body", &self.body)?,
            received_at: parse_ts("mentions.received_at", &self.received_at)?,
            incident_id: self.incident_id,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct RawIncident {
    id: String,
    playbook: String,
    group_key: String,
    state: String,
    title: String,
    trigger_kind: String,
    opened_at: String,
    acknowledged_at: Option<String>,
    mitigated_at: Option<String>,
    resolved_at: Option<String>,
    status_text: Option<String>,
    status_approved_by: Option<String>,
    detail: String,
}

impl RawIncident {
    pub(crate) fn decode(self) -> Result<IncidentRow, StoreError> {
        Ok(IncidentRow {
            state: parse_incident_state(&self.state)?,
            opened_at: parse_ts("incidents.opened_at", &self.opened_at)?,
            acknowledged_at: parse_ts_opt(
                "incidents.acknowledged_at",
                self.acknowledged_at.as_deref(),
            )?,
            mitigated_at: parse_ts_opt("incidents.mitigated_at", self.mitigated_at.as_deref())?,
            resolved_at: parse_ts_opt("incidents.resolved_at", self.resolved_at.as_deref())?,
            detail: parse_json::<Value>("incidents.detail", &self.detail)?,
            id: self.id,
            playbook: self.playbook,
            group_key: self.group_key,
            title: self.title,
            trigger_kind: self.trigger_kind,
            status_text: self.status_text,
            status_approved_by: self.status_approved_by,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct RawTimeline {
    seq: i64,
    incident_id: Option<String>,
    at: String,
    kind: String,
    actor: String,
    message: String,
    detail: String,
}

impl RawTimeline {
    pub(crate) fn decode(self) -> Result<TimelineRow, StoreError> {
        Ok(TimelineRow {
            at: parse_ts("timeline.at", &self.at)?,
            detail: parse_json::<Value>("timeline.detail", &self.detail)?,
            seq: self.seq,
            incident_id: self.incident_id,
            kind: self.kind,
            actor: self.actor,
            message: self.message,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct RawOutbox {
    id: i64,
    idem_key: String,
    incident_id: Option<String>,
    kind: String,
    account: Option<String>,
    payload: String,
    state: String,
    attempts: i64,
    not_before: String,
    lease_owner: Option<String>,
    lease_until: Option<String>,
    created_at: String,
    updated_at: String,
    result: Option<String>,
    last_error: Option<String>,
}

impl RawOutbox {
    pub(crate) fn decode(self) -> Result<OutboxRow, StoreError> {
        Ok(OutboxRow {
            payload: parse_json::<Value>("outbox.payload", &self.payload)?,
            state: OutboxState::parse(&self.state)?,
            not_before: parse_ts("outbox.not_before", &self.not_before)?,
            lease_until: parse_ts_opt("outbox.lease_until", self.lease_until.as_deref())?,
            created_at: parse_ts("outbox.created_at", &self.created_at)?,
            updated_at: parse_ts("outbox.updated_at", &self.updated_at)?,
            result: self
                .result
                .as_deref()
                .map(|r| parse_json::<Value>("outbox.result", r))
                .transpose()?,
            id: self.id,
            idem_key: self.idem_key,
            incident_id: self.incident_id,
            kind: self.kind,
            account: self.account,
            attempts: self.attempts,
            lease_owner: self.lease_owner,
            last_error: self.last_error,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct RawPin {
    id: i64,
    account: String,
    post_id: String,
    post_url: Option<String>,
    incident_id: Option<String>,
    purpose: String,
    pinned_at: String,
    unpinned_at: Option<String>,
    displaced: String,
    restored_at: Option<String>,
}

impl RawPin {
    pub(crate) fn decode(self) -> Result<PinRow, StoreError> {
        Ok(PinRow {
            purpose: PinPurpose::parse(&self.purpose)?,
            pinned_at: parse_ts("pins.pinned_at", &self.pinned_at)?,
            unpinned_at: parse_ts_opt("pins.unpinned_at", self.unpinned_at.as_deref())?,
            displaced: parse_json::<Vec<PostRef>>("pins.displaced", &self.displaced)?,
            restored_at: parse_ts_opt("pins.restored_at", self.restored_at.as_deref())?,
            id: self.id,
            account: self.account,
            post_id: self.post_id,
            post_url: self.post_url,
            incident_id: self.incident_id,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct RawConversation {
    id: i64,
    incident_id: String,
    platform: String,
    author_id: String,
    author_handle: String,
    opened_at: String,
    last_mention_at: String,
    mention_count: i64,
}

impl RawConversation {
    pub(crate) fn decode(self) -> Result<ConversationRow, StoreError> {
        Ok(ConversationRow {
            opened_at: parse_ts("conversations.opened_at", &self.opened_at)?,
            last_mention_at: parse_ts("conversations.last_mention_at", &self.last_mention_at)?,
            id: self.id,
            incident_id: self.incident_id,
            platform: self.platform,
            author_id: self.author_id,
            author_handle: self.author_handle,
            mention_count: self.mention_count,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct RawDraft {
    id: i64,
    incident_id: String,
    conversation_id: i64,
    mention_platform: String,
    mention_id: String,
    mention_at: String,
    lang: Option<String>,
    text: String,
    private: bool,
    flags: String,
    state: String,
    assignee: Option<String>,
    assigned_at: Option<String>,
    approved_by: Option<String>,
    approved_at: Option<String>,
    sent_at: Option<String>,
    discarded_reason: Option<String>,
    created_at: String,
    updated_at: String,
    detail: String,
    sla_deadline: Option<String>,
}

impl RawDraft {
    pub(crate) fn decode(self) -> Result<DraftRow, StoreError> {
        Ok(DraftRow {
            mention_at: parse_ts("drafts.mention_at", &self.mention_at)?,
            flags: parse_json::<Vec<String>>("drafts.flags", &self.flags)?,
            state: DraftState::parse(&self.state)?,
            assigned_at: parse_ts_opt("drafts.assigned_at", self.assigned_at.as_deref())?,
            approved_at: parse_ts_opt("drafts.approved_at", self.approved_at.as_deref())?,
            sent_at: parse_ts_opt("drafts.sent_at", self.sent_at.as_deref())?,
            created_at: parse_ts("drafts.created_at", &self.created_at)?,
            updated_at: parse_ts("drafts.updated_at", &self.updated_at)?,
            sla_deadline: parse_ts_opt("drafts.sla_deadline", self.sla_deadline.as_deref())?,
            detail: parse_json("drafts.detail", &self.detail)?,
            id: self.id,
            incident_id: self.incident_id,
            conversation_id: self.conversation_id,
            mention_platform: self.mention_platform,
            mention_id: self.mention_id,
            lang: self.lang,
            text: self.text,
            private: self.private,
            assignee: self.assignee,
            approved_by: self.approved_by,
            discarded_reason: self.discarded_reason,
        })
    }
}

/// Decodes every row, stopping at the first corrupt one.
pub(crate) fn decode_all<R, T>(
    rows: Vec<R>,
    decode: fn(R) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    rows.into_iter().map(decode).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn timestamps_have_a_fixed_width_so_text_order_is_time_order() {
        let early = Utc
            .with_ymd_and_hms(2024, 5, 1, 9, 30, 0)
            .single()
            .unwrap_or_default();
        let late = early + chrono::Duration::microseconds(1);
        assert_eq!(ts(early), "2024-05-01T09:30:00.000000Z");
        assert_eq!(ts(late), "2024-05-01T09:30:00.000001Z");
        assert!(ts(early) < ts(late));
    }

    #[test]
    fn a_timestamp_survives_the_round_trip_at_microsecond_precision() {
        let t = Utc
            .with_ymd_and_hms(2031, 12, 31, 23, 59, 59)
            .single()
            .unwrap_or_default()
            + chrono::Duration::microseconds(123_456);
        assert_eq!(parse_ts("t", &ts(t)).ok(), Some(t));
    }

    #[test]
    fn an_undecodable_value_is_reported_as_corrupt_with_its_column() {
        let cases = [
            parse_ts("timeline.at", "yesterday").err(),
            OutboxState::parse("exploded").err(),
            PinPurpose::parse("fun").err(),
            DraftState::parse("maybe").err(),
            parse_incident_state("panicking").err(),
        ];
        for case in cases {
            assert!(matches!(case, Some(StoreError::Corrupt { .. })), "{case:?}");
        }
    }
}
