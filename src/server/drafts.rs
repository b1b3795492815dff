//! The reply queue for staff: list drafts, claim one, edit it, approve it
//! (it is then sent through the platform adapter by the outbox), discard it
//! with a reason; and who is on duty with how much work (`GET /v1/staff`).
//!
//! Reads come from the store. Changes are people's commands through the
//! engine task, so each lands on the timeline with who made it. The queue
//! is ordered by when the customer wrote, then draft id: never by follower
//! count (BRIEF lesson 9).

use super::error::{ApiError, ErrorBody};
use super::incidents::{command_as, parse};
use super::{AppState, Body};
use crate::clock::Timestamp;
use crate::config::ApiRole;
use crate::engine::input::CommandKind;
use crate::store::{AssigneeFilter, DraftFilter, DraftRow, DraftState};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Most drafts one page holds (and the default page size).
pub const MAX_PAGE: u32 = 500;
const DEFAULT_PAGE: u32 = 100;

/// Who wrote the mention.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuthorView {
    pub id: String,
    pub handle: String,
    pub name: String,
    /// Shown as the `influential` flag; the queue never sorts by it.
    pub followers: u64,
}

/// One reply draft as staff see it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DraftView {
    pub id: i64,
    pub incident: String,
    pub platform: String,
    pub account: String,
    pub mention_id: String,
    /// When the customer wrote: the queue's order.
    #[schema(value_type = String, format = DateTime)]
    pub mention_at: Timestamp,
    pub author: AuthorView,
    /// The customer's words, personal data masked.
    pub mention_text: String,
    pub lang: Option<String>,
    pub text: String,
    /// Answered by private message (personal data, or a private mention).
    pub private: bool,
    /// `private_data`, `influential`, `abuse`, `returning`...
    pub flags: Vec<String>,
    /// `pending`, `approved`, `sent` or `discarded`.
    pub state: String,
    pub assignee: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub sla_deadline: Option<Timestamp>,
    /// Since the customer wrote: until now while pending, else until the
    /// draft left the queue.
    pub waiting_seconds: i64,
    pub previous_contacts: u32,
    /// Mentions this reply answers (follow-ups fold into one draft).
    pub mentions: u32,
    pub approved_by: Option<String>,
    pub discard_reason: Option<String>,
}

/// A page of the queue.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DraftPage {
    pub drafts: Vec<DraftView>,
    /// Drafts matching the filter, on every page.
    pub total: i64,
    /// Pass as `after` for the next page; `null` on the last one.
    pub next: Option<String>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// `pending` (default), `approved`, `sent`, `discarded` or `all`.
    pub state: Option<String>,
    /// `me` (the token's staff id), a staff id, or `none` (unassigned).
    pub assignee: Option<String>,
    pub incident: Option<String>,
    /// Page size, 1 to 500 (default 100).
    pub limit: Option<u32>,
    /// The `next` of the previous page.
    pub after: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditRequest {
    /// The reply as it will be sent; not blank.
    // schemathesis found the schema allowing the empty text the handler
    // refuses. A `\S` pattern would say "not blank" exactly, but crashes
    // schemathesis 4.32's generator, so the schema says "not empty".
    #[schema(min_length = 1)]
    pub text: String,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveDraftRequest {
    /// Send this text instead of the draft's; not blank.
    #[serde(default)]
    #[schema(min_length = 1)]
    pub text: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DiscardRequest {
    /// Why it is not answered (on the timeline and in the report); not blank.
    #[schema(min_length = 1)]
    pub reason: String,
}

/// One staff member's place in the rota.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StaffView {
    pub id: String,
    pub name: String,
    /// Their schedule is open now (no schedule: always on duty).
    pub on_duty: bool,
    /// Pending drafts they hold.
    pub load: u32,
    pub capacity: u32,
    pub languages: Vec<String>,
    pub skills: Vec<String>,
    /// Pending drafts they hold that are past their SLA.
    pub sla_breaches: u32,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StaffList {
    pub staff: Vec<StaffView>,
}

/// The reply queue, in the order customers wrote.
#[utoipa::path(get, path = "/v1/drafts", tag = "drafts", params(ListQuery),
    responses((status = 200, body = DraftPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = ["viewer"])))]
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Json<DraftPage>, ApiError> {
    let who = state.auth.require(&headers, ApiRole::Viewer)?;
    let q: ListQuery = axum::extract::Query::try_from_uri(&uri)
        .map_err(|e| ApiError::InvalidQuery(e.body_text()))?
        .0;
    let filter = filter(&q, &who.actor)?;
    let (rows, total) = state
        .store
        .drafts(&filter)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let now = chrono::Utc::now();
    let next = (rows.len() == filter.limit as usize)
        .then(|| rows.last().map(|d| cursor(d.mention_at, d.id)))
        .flatten();
    Ok(Json(DraftPage {
        drafts: rows.iter().map(|d| view(d, now)).collect(),
        total,
        next,
    }))
}

/// One draft.
#[utoipa::path(get, path = "/v1/drafts/{id}", tag = "drafts", params(("id" = i64, Path, description = "Draft id")),
    responses((status = 200, body = DraftView), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = ["viewer"])))]
pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<DraftView>, ApiError> {
    state.auth.require(&headers, ApiRole::Viewer)?;
    let id = draft_id(&id)?;
    Ok(Json(read(&state, id).await?))
}

/// Take a draft into one's own queue.
#[utoipa::path(post, path = "/v1/drafts/{id}/claim", tag = "drafts", params(("id" = i64, Path)),
    responses((status = 200, body = DraftView), (status = 404, body = ErrorBody), (status = 409, description = "Not pending, or held by someone else", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = ["staff"])))]
pub async fn claim(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<DraftView>, ApiError> {
    act(&state, &headers, &id, |draft| {
        Ok(CommandKind::ClaimDraft { draft })
    })
    .await
}

/// Rewrite a pending draft.
#[utoipa::path(put, path = "/v1/drafts/{id}", tag = "drafts", params(("id" = i64, Path)), request_body = EditRequest,
    responses((status = 200, body = DraftView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = ["staff"])))]
pub async fn edit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Body(body): Body,
) -> Result<Json<DraftView>, ApiError> {
    act(&state, &headers, &id, |draft| {
        let req: EditRequest = parse(&body)?;
        if req.text.trim().is_empty() {
            return Err(ApiError::MalformedBody("text must not be empty".into()));
        }
        Ok(CommandKind::EditDraft {
            draft,
            text: req.text,
        })
    })
    .await
}

/// Approve a draft: it is sent through the platform at once (threaded
/// under the mention, or as a private message). An optional `text` is sent
/// instead of the draft's (edit and approve in one step).
#[utoipa::path(post, path = "/v1/drafts/{id}/approve", tag = "drafts", params(("id" = i64, Path)),
    request_body(content = ApproveDraftRequest, description = "Optional; an empty body sends the draft as it is"),
    responses((status = 200, body = DraftView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = ["staff"])))]
pub async fn approve(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Body(body): Body,
) -> Result<Json<DraftView>, ApiError> {
    act(&state, &headers, &id, |draft| {
        let req: ApproveDraftRequest = if body.iter().all(u8::is_ascii_whitespace) {
            ApproveDraftRequest::default()
        } else {
            parse(&body)?
        };
        if req.text.as_deref().is_some_and(|t| t.trim().is_empty()) {
            return Err(ApiError::MalformedBody("text must not be empty".into()));
        }
        Ok(CommandKind::ApproveDraft {
            draft,
            text: req.text,
        })
    })
    .await
}

/// Discard a draft with a reason: that customer gets no reply from it.
#[utoipa::path(post, path = "/v1/drafts/{id}/discard", tag = "drafts", params(("id" = i64, Path)), request_body = DiscardRequest,
    responses((status = 200, body = DraftView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = ["staff"])))]
pub async fn discard(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Body(body): Body,
) -> Result<Json<DraftView>, ApiError> {
    act(&state, &headers, &id, |draft| {
        let req: DiscardRequest = parse(&body)?;
        if req.reason.trim().is_empty() {
            return Err(ApiError::MalformedBody(
                "reason must say why the customer gets no reply".into(),
            ));
        }
        Ok(CommandKind::DiscardDraft {
            draft,
            reason: req.reason,
        })
    })
    .await
}

/// Who answers drafts: on duty now, load, capacity, languages, skills.
#[utoipa::path(get, path = "/v1/staff", tag = "drafts",
    responses((status = 200, body = StaffList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = ["viewer"])))]
pub async fn staff(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<StaffList>, ApiError> {
    state.auth.require(&headers, ApiRole::Viewer)?;
    let now = chrono::Utc::now();
    let loads = state
        .store
        .staff_load(now)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let config = &state.config;
    let staff = config
        .staff
        .values()
        .map(|s| {
            let load = loads.get(&s.id).cloned().unwrap_or_default();
            StaffView {
                id: s.id.clone(),
                name: s.name.clone(),
                on_duty: s
                    .schedule
                    .as_ref()
                    .and_then(|name| config.schedules.get(name))
                    .is_none_or(|sch| sch.is_open(now)),
                load: load.load,
                capacity: s.capacity,
                languages: s.languages.clone(),
                skills: s.skills.clone(),
                sla_breaches: load.sla_breaches,
            }
        })
        .collect();
    Ok(Json(StaffList { staff }))
}

/// A staff command on draft `id`: the token must hold `staff` (checked
/// before the body is read), `make` builds the command (reading the body),
/// the draft must exist (404), and it is answered as it is after the engine
/// committed the change.
async fn act(
    state: &AppState,
    headers: &HeaderMap,
    id: &str,
    make: impl FnOnce(u64) -> Result<CommandKind, ApiError>,
) -> Result<Json<DraftView>, ApiError> {
    state.auth.require(headers, ApiRole::Staff)?;
    let id = draft_id(id)?;
    let kind = make(id.unsigned_abs())?;
    read(state, id).await?;
    command_as(state, headers, ApiRole::Staff, kind).await?;
    Ok(Json(read(state, id).await?))
}

async fn read(state: &AppState, id: i64) -> Result<DraftView, ApiError> {
    let row = state
        .store
        .draft(id)
        .await
        .map_err(|e| ApiError::internal(&e))?
        .ok_or_else(|| ApiError::not_found(format!("draft {id}")))?;
    Ok(view(&row, chrono::Utc::now()))
}

fn draft_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::not_found(format!("draft {raw}")))
}

/// The store filter a query asks for; `me` is the caller's staff id.
fn filter(q: &ListQuery, me: &str) -> Result<DraftFilter, ApiError> {
    let state = match q.state.as_deref().unwrap_or("pending") {
        "all" => None,
        "pending" => Some(DraftState::Pending),
        "approved" => Some(DraftState::Approved),
        "sent" => Some(DraftState::Sent),
        "discarded" => Some(DraftState::Discarded),
        other => {
            return Err(ApiError::InvalidQuery(format!(
                "state must be pending, approved, sent, discarded or all, not {other:?}"
            )))
        }
    };
    let assignee = match q.assignee.as_deref() {
        None | Some("") => AssigneeFilter::Anyone,
        Some("none") => AssigneeFilter::Nobody,
        Some("me") => AssigneeFilter::Staff(me.to_string()),
        Some(who) => AssigneeFilter::Staff(who.to_string()),
    };
    let limit = q.limit.unwrap_or(DEFAULT_PAGE);
    if limit == 0 || limit > MAX_PAGE {
        return Err(ApiError::InvalidQuery(format!(
            "limit must be between 1 and {MAX_PAGE}, not {limit}"
        )));
    }
    let after = q.after.as_deref().map(parse_cursor).transpose()?;
    Ok(DraftFilter {
        state,
        assignee,
        incident: q.incident.clone(),
        after,
        limit,
    })
}

/// A page cursor: the last draft's place in the queue, `<unix micros>.<id>`.
fn cursor(at: Timestamp, id: i64) -> String {
    format!("{}.{id}", at.timestamp_micros())
}

fn parse_cursor(raw: &str) -> Result<(Timestamp, i64), ApiError> {
    let bad = || ApiError::InvalidQuery(format!("after: {raw:?} is not a cursor from `next`"));
    let (micros, id) = raw.split_once('.').ok_or_else(bad)?;
    let micros: i64 = micros.parse().map_err(|_| bad())?;
    let id: i64 = id.parse().map_err(|_| bad())?;
    let at = chrono::DateTime::from_timestamp_micros(micros).ok_or_else(bad)?;
    Ok((at, id))
}

pub(crate) fn view(d: &DraftRow, now: Timestamp) -> DraftView {
    let left_queue = match d.state {
        DraftState::Pending => now,
        DraftState::Approved => d.approved_at.unwrap_or(d.updated_at),
        DraftState::Sent => d.sent_at.unwrap_or(d.updated_at),
        DraftState::Discarded => d.updated_at,
    };
    let x = &d.detail;
    DraftView {
        id: d.id,
        incident: d.incident_id.clone(),
        platform: d.mention_platform.clone(),
        account: x.account.clone(),
        mention_id: d.mention_id.clone(),
        mention_at: d.mention_at,
        author: AuthorView {
            id: x.author.id.clone(),
            handle: x.author.handle.clone(),
            name: x.author.name.clone(),
            followers: x.author.followers,
        },
        mention_text: x.mention_text.clone(),
        lang: d.lang.clone(),
        text: d.text.clone(),
        private: d.private,
        flags: d.flags.clone(),
        state: d.state.as_str().to_string(),
        assignee: d.assignee.clone(),
        created_at: d.created_at,
        sla_deadline: d.sla_deadline,
        waiting_seconds: (left_queue - d.mention_at).num_seconds().max(0),
        previous_contacts: x.previous_contacts,
        mentions: x.mentions,
        approved_by: d.approved_by.clone(),
        discard_reason: d.discarded_reason.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_as_the_place_it_was_made_from() {
        let at = chrono::DateTime::from_timestamp_micros(1_764_000_000_123_456).unwrap();
        assert_eq!(parse_cursor(&cursor(at, 42)).unwrap(), (at, 42));
        for bad in ["", "12", "x.1", "1.y", "1.2.3"] {
            assert!(parse_cursor(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_list_filter_names_what_is_wrong() {
        let q = |state: &str, limit: u32| ListQuery {
            state: Some(state.into()),
            limit: Some(limit),
            ..ListQuery::default()
        };
        assert!(filter(&q("pending", 10), "kasia").is_ok());
        let e = filter(&q("open", 10), "kasia").unwrap_err().to_string();
        assert!(e.contains("state must be"), "{e}");
        let e = filter(&q("all", 0), "kasia").unwrap_err().to_string();
        assert!(e.contains("limit"), "{e}");
        let me = ListQuery {
            assignee: Some("me".into()),
            ..ListQuery::default()
        };
        assert_eq!(
            filter(&me, "kasia").unwrap().assignee,
            AssigneeFilter::Staff("kasia".into())
        );
    }
}
