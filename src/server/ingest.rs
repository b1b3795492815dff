//! `POST /v1/mentions`: a batch of mentions, as NDJSON or a JSON array.
//!
//! Every item is validated on its own; the valid ones are stored and
//! journaled in one transaction *before* the reply, and the reply lists each
//! rejected item with its index and reason. Ingest is idempotent on
//! `(platform, id)`: a mention sent twice is counted as a duplicate, not
//! processed twice, so a client may safely retry after a timeout or a 503.

use super::error::ApiError;
use super::{AppState, Body};
use crate::config::ApiRole;
use crate::mention::Mention;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

/// What became of a batch.
#[derive(Debug, Serialize, ToSchema, PartialEq, Eq)]
pub struct IngestReport {
    /// Mentions newly stored (durable before this reply).
    pub accepted: usize,
    /// Valid mentions squall already had (same platform and id).
    pub duplicates: usize,
    /// Items that are not valid mentions, with why.
    pub rejected: Vec<Rejection>,
}

/// One item that was not accepted.
#[derive(Debug, Serialize, ToSchema, PartialEq, Eq)]
pub struct Rejection {
    /// 0-based position in the batch (NDJSON: among non-blank lines).
    pub index: usize,
    pub reason: String,
}

/// Ingest mentions.
#[utoipa::path(
    post,
    path = "/v1/mentions",
    tag = "ingest",
    request_body(description = "Mentions as a JSON array, or one mention object per line (NDJSON)",
        content(
            (Vec<Mention> = "application/json"),
            (Mention = "application/x-ndjson"),
        )),
    responses(
        (status = 200, description = "Some or all accepted (see `rejected`)", body = IngestReport),
        (status = 422, description = "No item was a valid mention", body = IngestReport),
        (status = 400, description = "Not JSON or NDJSON", body = super::error::ErrorBody),
        (status = 401, body = super::error::ErrorBody), (status = 403, body = super::error::ErrorBody),
        (status = 413, description = "Body or batch too large", body = super::error::ErrorBody),
        (status = 503, description = "Overloaded or shutting down; retry after `Retry-After` seconds. Nothing was accepted.", body = super::error::ErrorBody),
    ),
    security(("bearer" = ["ingest"]))
)]
pub async fn post_mentions(
    State(state): State<AppState>,
    headers: HeaderMap,
    Body(body): Body,
) -> Result<(StatusCode, Json<IngestReport>), ApiError> {
    state.auth.require(&headers, ApiRole::Ingest)?;
    let items = parse_batch(&body, state.limits.max_batch)?;
    let mut valid = Vec::new();
    let mut rejected = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        match item.and_then(|m| known_account(&state, m)) {
            Ok(m) => valid.push(m),
            Err(reason) => rejected.push(Rejection { index, reason }),
        }
    }
    metrics::counter!("squall_mentions_rejected_total").increment(rejected.len() as u64);
    let new = if valid.is_empty() {
        Vec::new()
    } else {
        state
            .engine
            .call(|reply| super::driver::Job::Mentions(valid, reply))
            .await?
    };
    let accepted = new.iter().filter(|n| **n).count();
    let report = IngestReport {
        accepted,
        duplicates: new.len() - accepted,
        rejected,
    };
    let status = if new.is_empty() && !report.rejected.is_empty() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((status, Json(report)))
}

/// One item of the batch: a JSON value, or the text of an NDJSON line.
enum Item<'a> {
    Value(serde_json::Value),
    Line(&'a str),
}

/// A JSON array is recognised by its `[`; anything else is NDJSON.
fn split(body: &[u8]) -> Result<Vec<Item<'_>>, ApiError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::MalformedBody("the body is not UTF-8 text".into()))?;
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('[') {
        let values: Vec<serde_json::Value> = serde_json::from_str(trimmed)
            .map_err(|e| ApiError::MalformedBody(format!("not a JSON array of mentions: {e}")))?;
        Ok(values.into_iter().map(Item::Value).collect())
    } else {
        let lines: Vec<Item<'_>> = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(Item::Line)
            .collect();
        if lines.is_empty() {
            return Err(ApiError::MalformedBody(
                "the body holds no mentions (send a JSON array or NDJSON)".into(),
            ));
        }
        Ok(lines)
    }
}

/// Parses a request body into its items, each a mention or the reason it is
/// not one (indexed as [`Rejection::index`] counts). Pure: the handler and
/// the fuzz target (`fuzz/fuzz_targets/ndjson_ingest.rs`) call it the same
/// way; which accounts are configured is checked afterwards.
///
/// # Errors
/// The body is not UTF-8, not a JSON array, holds no item at all
/// ([`ApiError::MalformedBody`]), or more than `max_batch` items
/// ([`ApiError::BatchTooLarge`]).
pub fn parse_batch(
    body: &[u8],
    max_batch: usize,
) -> Result<Vec<Result<Mention, String>>, ApiError> {
    let items = split(body)?;
    if items.len() > max_batch {
        return Err(ApiError::BatchTooLarge(max_batch));
    }
    Ok(items.into_iter().map(parse_item).collect())
}

fn parse_item(item: Item<'_>) -> Result<Mention, String> {
    match item {
        Item::Line(line) => crate::mention::parse_ndjson_line(line),
        Item::Value(v) => crate::mention::parse_ndjson_line(&v.to_string()),
    }
    .map_err(|e| e.to_string())
}

fn known_account(state: &AppState, m: Mention) -> Result<Mention, String> {
    crate::mention::check_account(&m.account, &state.accounts)?;
    Ok(m)
}
