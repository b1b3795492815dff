//! `GET /v1/events`: the live feed as Server-Sent Events.
//!
//! Every timeline event the engine or the outbox produces (incidents opened
//! and changed, surges, status drafts and pins, reply drafts, actions) is
//! sent as one SSE event named by its `kind`, with the event's JSON as data.
//! A subscriber that falls behind gets a `lagged` event saying how many it
//! missed (the timeline in the store is the complete record). The stream
//! ends when the server shuts down, so it never holds shutdown up.

use super::error::ApiError;
use super::AppState;
use crate::config::ApiRole;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::{Stream, StreamExt};
use std::convert::Infallible;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::BroadcastStream;

/// Live events.
#[utoipa::path(get, path = "/v1/events", tag = "events",
    responses((status = 200, description = "Server-Sent Events; each event is named by its `kind` (`incident_opened`, `surge_detected`, `status_awaiting_approval`, `pinned`, `draft_created`, ...) and carries the timeline event as JSON (`at`, `kind`, `incident`, `actor`, `message`, `detail`)", content_type = "text/event-stream", body = String),
        (status = 401, body = super::error::ErrorBody), (status = 403, body = super::error::ErrorBody)),
    security(("bearer" = ["viewer"])))]
pub async fn events(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    state.auth.require(&headers, ApiRole::Viewer)?;
    let mut stopping = state.shutdown.clone();
    let stream = BroadcastStream::new(state.events.subscribe())
        .map(|item| {
            Ok(match item {
                Ok(e) => SseEvent::default()
                    .event(e.kind.as_str())
                    .json_data(&*e)
                    .unwrap_or_else(|_| SseEvent::default().comment("unencodable event")),
                Err(BroadcastStreamRecvError::Lagged(n)) => {
                    SseEvent::default().event("lagged").data(n.to_string())
                }
            })
        })
        .take_until(async move {
            let _ = stopping.wait_for(|s| *s).await;
        });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
