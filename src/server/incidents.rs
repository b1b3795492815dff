//! The incident API for commanders: declare, list, show (with timeline and
//! actions), acknowledge, change state, edit and approve the pending status
//! text, resolve.
//!
//! Reads come from the store, which holds what the engine last committed.
//! Changes are people's commands: they go through the engine like any other
//! input (journaled first), carry the token's actor as `by`, and so land on
//! the timeline with who made them. A command the engine refuses (approving
//! a status that is not waiting, moving a state backwards) is 409 with the
//! engine's reason.

use super::error::ApiError;
use super::{AppState, Body};
use crate::clock::Timestamp;
use crate::config::ApiRole;
use crate::engine::events::{Event, EventKind};
use crate::engine::input::{Command, CommandKind};
use crate::playbook::IncidentState;
use crate::store::{IncidentRow, OutboxRow, PinRow, TimelineRow};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// An incident as commanders see it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct IncidentView {
    pub id: String,
    pub playbook: String,
    pub title: String,
    pub state: IncidentState,
    /// What opened it: `surge`, `keyword`, `alert`, `schedule`, `manual`.
    pub trigger_kind: String,
    #[schema(value_type = String, format = DateTime)]
    pub opened_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub acknowledged_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub mitigated_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub resolved_at: Option<Timestamp>,
    pub status: StatusView,
    /// The commander's latest note.
    pub note: Option<String>,
}

/// The public status post: `none`, `awaiting_approval` (with the text to
/// approve) or `posted`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StatusView {
    pub state: String,
    pub text: Option<String>,
    pub approved_by: Option<String>,
    /// Until when approval is awaited (then the playbook's `then:` applies).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub deadline: Option<Timestamp>,
}

/// One incident with its timeline and the actions it caused.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct IncidentDetail {
    #[serde(flatten)]
    pub incident: IncidentView,
    pub timeline: Vec<TimelineEntry>,
    pub actions: Vec<ActionView>,
    /// The incident's status pins, per account: what is pinned now, what it
    /// displaced and whether that was restored.
    #[serde(default)]
    pub pins: Vec<PinView>,
}

/// One status pin squall made on an account for this incident.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PinView {
    pub account: String,
    /// `pinned` (up now), `unpinned` (taken down, nothing to restore or
    /// not yet restored) or `restored` (the displaced posts are back).
    pub state: String,
    pub post_id: String,
    pub post_url: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub pinned_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub unpinned_at: Option<Timestamp>,
    /// Posts squall unpinned to make room; they are pinned again on resolve.
    pub displaced: Vec<DisplacedPost>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub restored_at: Option<Timestamp>,
}

/// A post that was pinned before squall's status took its place.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DisplacedPost {
    pub id: String,
    pub url: Option<String>,
}

/// The status text as each account posts it (in its own language).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Previews {
    pub previews: Vec<crate::engine::StatusPreview>,
}

/// One timeline event.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TimelineEntry {
    pub seq: i64,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub kind: String,
    /// Who: `engine`, `outbox`, or the staff id behind an API token.
    pub actor: String,
    pub message: String,
}

/// One outbox intent: `pending`, `running`, `done`, `failed` (dead letter,
/// retry budget spent) or `cancelled`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ActionView {
    pub key: String,
    pub kind: String,
    pub account: Option<String>,
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Include resolved incidents (default: only unresolved ones).
    #[serde(default)]
    pub all: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclareRequest {
    /// A playbook with a `manual` trigger.
    pub playbook: String,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StateRequest {
    /// Forward only: `acknowledged`, `mitigated` or `resolved`.
    pub state: IncidentState,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusTextRequest {
    /// The new text; not blank.
    #[schema(min_length = 1)]
    pub text: String,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveRequest {
    /// Approve this text instead of the pending one; not blank.
    #[serde(default)]
    #[schema(min_length = 1)]
    pub text: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {
    #[serde(default)]
    pub note: Option<String>,
}

/// List incidents, unresolved first, newest first.
#[utoipa::path(get, path = "/v1/incidents", tag = "incidents", params(ListQuery),
    responses((status = 200, body = Vec<IncidentView>), (status = 400, body = super::error::ErrorBody), (status = 401, body = super::error::ErrorBody), (status = 403, body = super::error::ErrorBody)),
    security(("bearer" = ["viewer"])))]
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Json<Vec<IncidentView>>, ApiError> {
    state.auth.require(&headers, ApiRole::Viewer)?;
    // Read after the token, so that a caller without one learns that first.
    let q: ListQuery = Query::try_from_uri(&uri)
        .map_err(|e| ApiError::InvalidQuery(e.body_text()))?
        .0;
    let rows = state
        .store
        .incidents(!q.all)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok(Json(rows.iter().map(view).collect()))
}

/// One incident with its timeline and actions.
#[utoipa::path(get, path = "/v1/incidents/{id}", tag = "incidents", params(("id" = String, Path, description = "Incident id")),
    responses((status = 200, body = IncidentDetail), (status = 404, body = super::error::ErrorBody), (status = 401, body = super::error::ErrorBody), (status = 403, body = super::error::ErrorBody)),
    security(("bearer" = ["viewer"])))]
pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<IncidentDetail>, ApiError> {
    state.auth.require(&headers, ApiRole::Viewer)?;
    Ok(Json(detail(&state, &id).await?))
}

/// Declare an incident through a playbook's manual trigger.
#[utoipa::path(post, path = "/v1/incidents", tag = "incidents", request_body = DeclareRequest,
    responses((status = 201, body = IncidentDetail), (status = 409, description = "The engine refused (no such playbook, no manual trigger)", body = super::error::ErrorBody),
        (status = 400, body = super::error::ErrorBody), (status = 401, body = super::error::ErrorBody), (status = 403, body = super::error::ErrorBody), (status = 503, body = super::error::ErrorBody)),
    security(("bearer" = ["commander"])))]
pub async fn declare(
    State(state): State<AppState>,
    headers: HeaderMap,
    Body(body): Body,
) -> Result<(StatusCode, Json<IncidentDetail>), ApiError> {
    state.auth.require(&headers, ApiRole::Commander)?; // before reading the body
    let req: DeclareRequest = parse(&body)?;
    let events = command(
        &state,
        &headers,
        CommandKind::Declare {
            playbook: req.playbook,
            note: req.note,
        },
    )
    .await?;
    let id = events
        .iter()
        .find(|e| e.kind == EventKind::IncidentOpened)
        .or_else(|| events.iter().find(|e| e.incident.is_some()))
        .and_then(|e| e.incident.clone())
        .ok_or_else(|| ApiError::Rejected("no incident was opened".into()))?;
    Ok((StatusCode::CREATED, Json(detail(&state, &id).await?)))
}

/// Acknowledge an incident (public phase: identified).
#[utoipa::path(post, path = "/v1/incidents/{id}/ack", tag = "incidents", params(("id" = String, Path)),
    responses((status = 200, body = IncidentDetail), (status = 404, body = super::error::ErrorBody), (status = 409, body = super::error::ErrorBody),
        (status = 401, body = super::error::ErrorBody), (status = 403, body = super::error::ErrorBody), (status = 503, body = super::error::ErrorBody)),
    security(("bearer" = ["commander"])))]
pub async fn ack(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<IncidentDetail>, ApiError> {
    on_incident(
        &state,
        &headers,
        &id,
        CommandKind::Acknowledge {
            incident: id.clone(),
        },
    )
    .await
}

/// Move an incident forward: acknowledged, mitigated or resolved.
#[utoipa::path(post, path = "/v1/incidents/{id}/state", tag = "incidents", params(("id" = String, Path)), request_body = StateRequest,
    responses((status = 200, body = IncidentDetail), (status = 404, body = super::error::ErrorBody), (status = 409, body = super::error::ErrorBody),
        (status = 400, body = super::error::ErrorBody), (status = 401, body = super::error::ErrorBody), (status = 403, body = super::error::ErrorBody), (status = 503, body = super::error::ErrorBody)),
    security(("bearer" = ["commander"])))]
pub async fn set_state(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Body(body): Body,
) -> Result<Json<IncidentDetail>, ApiError> {
    with_body(
        &state,
        &headers,
        id,
        &body,
        parse::<StateRequest>,
        |incident, req| CommandKind::SetState {
            incident,
            state: req.state,
        },
    )
    .await
}

/// Replace the text of the status post waiting for approval.
#[utoipa::path(put, path = "/v1/incidents/{id}/status", tag = "incidents", params(("id" = String, Path)), request_body = StatusTextRequest,
    responses((status = 200, body = IncidentDetail), (status = 404, body = super::error::ErrorBody), (status = 409, description = "No status text is waiting for approval", body = super::error::ErrorBody),
        (status = 400, body = super::error::ErrorBody), (status = 401, body = super::error::ErrorBody), (status = 403, body = super::error::ErrorBody), (status = 503, body = super::error::ErrorBody)),
    security(("bearer" = ["commander"])))]
pub async fn edit_status(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Body(body): Body,
) -> Result<Json<IncidentDetail>, ApiError> {
    with_body(
        &state,
        &headers,
        id,
        &body,
        |body| not_blank(parse::<StatusTextRequest>(body)?, |r| Some(&r.text)),
        |incident, req| CommandKind::EditStatus {
            incident,
            text: req.text,
        },
    )
    .await
}

/// Approve the pending status text (optionally replacing it); it is then posted and pinned.
#[utoipa::path(post, path = "/v1/incidents/{id}/status/approve", tag = "incidents", params(("id" = String, Path)), request_body(content = ApproveRequest, description = "Optional; an empty body approves the pending text"),
    responses((status = 200, body = IncidentDetail), (status = 404, body = super::error::ErrorBody), (status = 409, description = "Nothing waiting, or this person may not approve", body = super::error::ErrorBody),
        (status = 400, body = super::error::ErrorBody), (status = 401, body = super::error::ErrorBody), (status = 403, body = super::error::ErrorBody), (status = 503, body = super::error::ErrorBody)),
    security(("bearer" = ["commander"])))]
pub async fn approve_status(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Body(body): Body,
) -> Result<Json<IncidentDetail>, ApiError> {
    with_body(
        &state,
        &headers,
        id,
        &body,
        |body| {
            not_blank(parse_or_default::<ApproveRequest>(body)?, |r| {
                r.text.as_deref()
            })
        },
        |incident, req| CommandKind::ApproveStatus {
            incident,
            text: req.text,
        },
    )
    .await
}

/// Resolve an incident.
#[utoipa::path(post, path = "/v1/incidents/{id}/resolve", tag = "incidents", params(("id" = String, Path)), request_body(content = ResolveRequest, description = "Optional note"),
    responses((status = 200, body = IncidentDetail), (status = 404, body = super::error::ErrorBody), (status = 409, body = super::error::ErrorBody),
        (status = 400, body = super::error::ErrorBody), (status = 401, body = super::error::ErrorBody), (status = 403, body = super::error::ErrorBody), (status = 503, body = super::error::ErrorBody)),
    security(("bearer" = ["commander"])))]
pub async fn resolve(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Body(body): Body,
) -> Result<Json<IncidentDetail>, ApiError> {
    with_body(
        &state,
        &headers,
        id,
        &body,
        parse_or_default::<ResolveRequest>,
        |incident, req| CommandKind::Resolve {
            incident,
            note: req.note,
        },
    )
    .await
}

/// A command whose details come in the body: the caller must be a
/// commander (checked before the body is read), the body is read with
/// `read`, and `make` builds the command for incident `id` from it.
async fn with_body<T>(
    state: &AppState,
    headers: &HeaderMap,
    id: String,
    body: &[u8],
    read: fn(&[u8]) -> Result<T, ApiError>,
    make: impl FnOnce(String, T) -> CommandKind,
) -> Result<Json<IncidentDetail>, ApiError> {
    state.auth.require(headers, ApiRole::Commander)?;
    let req = read(body)?;
    let kind = make(id.clone(), req);
    on_incident(state, headers, &id, kind).await
}

/// Runs a command on an existing incident and returns it afterwards.
async fn on_incident(
    state: &AppState,
    headers: &HeaderMap,
    id: &str,
    kind: CommandKind,
) -> Result<Json<IncidentDetail>, ApiError> {
    state.auth.require(headers, ApiRole::Commander)?;
    let known = state
        .store
        .incident(id)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    if known.is_none() {
        return Err(incident_not_found(state, id).await);
    }
    command(state, headers, kind).await?;
    Ok(Json(detail(state, id).await?))
}

/// 404 for an incident id. Under pressure a commander types the playbook's
/// name (`site-down`) for the incident's id (`site-down-20261207-0334`):
/// then the answer names that playbook's open incidents, so the next try is
/// right, without guessing which one was meant.
async fn incident_not_found(state: &AppState, id: &str) -> ApiError {
    let open: Vec<String> = state
        .store
        .incidents(true)
        .await
        .inspect_err(|e| tracing::warn!(error = %e, "cannot list open incidents for a 404's hint"))
        .unwrap_or_default()
        .into_iter()
        .filter(|i| i.playbook == id)
        .map(|i| i.id)
        .collect();
    ApiError::NotFound {
        what: format!("incident {id}"),
        hint: match open.as_slice() {
            [] => None,
            [one] => Some(format!("{id} is a playbook; its open incident is {one}")),
            many => Some(format!(
                "{id} is a playbook; its open incidents are {}",
                many.join(", ")
            )),
        },
    }
}

/// Hands a commander's command to the engine as the token's actor.
async fn command(
    state: &AppState,
    headers: &HeaderMap,
    kind: CommandKind,
) -> Result<Vec<Event>, ApiError> {
    command_as(state, headers, ApiRole::Commander, kind).await
}

/// Hands a person's command to the engine as the token's actor, if the
/// token holds `role`; the engine's refusal is 409 with its reason.
pub(super) async fn command_as(
    state: &AppState,
    headers: &HeaderMap,
    role: ApiRole,
    kind: CommandKind,
) -> Result<Vec<Event>, ApiError> {
    let who = state.auth.require(headers, role)?;
    let c = Command {
        by: who.actor,
        kind,
    };
    let events = state
        .engine
        .call(|reply| super::driver::Job::Command(c, reply))
        .await?;
    if let Some(e) = events.iter().find(|e| e.kind == EventKind::CommandRejected) {
        return Err(ApiError::Rejected(e.message.clone()));
    }
    Ok(events)
}

async fn detail(state: &AppState, id: &str) -> Result<IncidentDetail, ApiError> {
    let internal = |e: crate::store::StoreError| ApiError::internal(&e);
    let row = state.store.incident(id).await.map_err(internal)?;
    let Some(row) = row else {
        return Err(incident_not_found(state, id).await);
    };
    let timeline = state.store.timeline(id).await.map_err(internal)?;
    let actions = state.store.outbox_by_incident(id).await.map_err(internal)?;
    let pins = state.store.pins_for_incident(id).await.map_err(internal)?;
    Ok(IncidentDetail {
        incident: view(&row),
        timeline: timeline.iter().map(entry).collect(),
        actions: actions.iter().map(action).collect(),
        pins: pins.iter().map(pin).collect(),
    })
}

/// The status text of an incident as each account posts it: what the
/// commander approves, per language (the accounts' languages differ).
#[utoipa::path(get, path = "/v1/incidents/{id}/status/previews", tag = "incidents", params(("id" = String, Path)),
    responses((status = 200, body = Previews), (status = 404, body = super::error::ErrorBody),
        (status = 401, body = super::error::ErrorBody), (status = 403, body = super::error::ErrorBody), (status = 503, body = super::error::ErrorBody)),
    security(("bearer" = ["viewer"])))]
pub async fn previews(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Previews>, ApiError> {
    state.auth.require(&headers, ApiRole::Viewer)?;
    let known = state
        .store
        .incident(&id)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    if known.is_none() {
        return Err(incident_not_found(&state, id.as_str()).await);
    }
    let previews = state
        .engine
        .call(|reply| super::driver::Job::Read(super::driver::Read::StatusPreviews(id, reply)))
        .await?;
    Ok(Json(Previews { previews }))
}

fn pin(p: &PinRow) -> PinView {
    let state = match (p.unpinned_at, p.restored_at) {
        (None, _) => "pinned",
        (Some(_), Some(_)) => "restored",
        (Some(_), None) => "unpinned",
    };
    PinView {
        account: p.account.clone(),
        state: state.into(),
        post_id: p.post_id.clone(),
        post_url: p.post_url.clone(),
        pinned_at: p.pinned_at,
        unpinned_at: p.unpinned_at,
        displaced: p
            .displaced
            .iter()
            .map(|d| DisplacedPost {
                id: d.id.clone(),
                url: d.url.clone(),
            })
            .collect(),
        restored_at: p.restored_at,
    }
}

/// An optional body: empty means the defaults.
/// Refuses a request whose status text is blank: an empty post would
/// replace the pinned status on every account.
fn not_blank<T>(req: T, text: impl Fn(&T) -> Option<&str>) -> Result<T, ApiError> {
    match text(&req) {
        Some(t) if t.trim().is_empty() => Err(ApiError::MalformedBody(
            "text must not be empty: the status post says what is happening".into(),
        )),
        _ => Ok(req),
    }
}

fn parse_or_default<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        Ok(T::default())
    } else {
        parse(body)
    }
}

pub(super) use super::parse_json as parse;

pub(crate) fn view(r: &IncidentRow) -> IncidentView {
    let status = r.detail.get("status");
    let field = |k: &str| status.and_then(|s| s.get(k));
    let text = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).map(str::to_string);
    IncidentView {
        id: r.id.clone(),
        playbook: r.playbook.clone(),
        title: r.title.clone(),
        state: r.state,
        trigger_kind: r.trigger_kind.clone(),
        opened_at: r.opened_at,
        acknowledged_at: r.acknowledged_at,
        mitigated_at: r.mitigated_at,
        resolved_at: r.resolved_at,
        status: StatusView {
            state: text(field("state")).unwrap_or_else(|| "none".into()),
            text: text(field("text")),
            approved_by: text(field("approved_by")),
            deadline: field("deadline").and_then(|v| serde_json::from_value(v.clone()).ok()),
        },
        note: text(r.detail.get("note")),
    }
}

fn entry(t: &TimelineRow) -> TimelineEntry {
    TimelineEntry {
        seq: t.seq,
        at: t.at,
        kind: t.kind.clone(),
        actor: t.actor.clone(),
        message: t.message.clone(),
    }
}

fn action(o: &OutboxRow) -> ActionView {
    ActionView {
        key: o.idem_key.clone(),
        kind: o.kind.clone(),
        account: o.account.clone(),
        state: o.state.as_str().to_string(),
        attempts: o.attempts,
        last_error: o.last_error.clone(),
    }
}
