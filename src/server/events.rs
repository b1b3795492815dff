//! `GET /v1/events`: the live feed as Server-Sent Events.
//!
//! Every timeline event the engine or the outbox produces (incidents opened
//! and changed, surges, status drafts and pins, reply drafts, actions) is
//! sent as one SSE event named by its `kind`, with the event's JSON as data.
//! A subscriber that falls behind gets a `lagged` event saying how many it
//! missed (the timeline in the store is the complete record). The stream
//! ends when the server shuts down, so it never holds shutdown up.
//!
//! In a cluster the events come from the shared timeline
//! ([`tail_timeline`]), so every instance streams the whole cluster's.

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

/// How often a cluster instance reads the shared timeline for its stream.
const TAIL_POLL: std::time::Duration = std::time::Duration::from_millis(100);

/// How long a `seq` is waited for once a later one was seen: several
/// instances write the timeline, and a transaction that took its `seq`
/// first may commit after one that took a later `seq`.
const TAIL_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// The live stream of a cluster instance (a `postgres://` store): the
/// engine leader and every instance's outbox worker write the shared
/// timeline, so each instance streams the timeline to its own subscribers
/// and `GET /v1/events` shows the same events whichever instance serves
/// it. Events are streamed once each, from the end of the timeline at start.
pub async fn tail_timeline(
    store: crate::store::Store,
    events: tokio::sync::broadcast::Sender<std::sync::Arc<crate::engine::events::Event>>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    use std::collections::BTreeMap;
    use tokio::time::Instant;
    let mut floor = loop {
        match store.timeline_last_seq().await {
            Ok(seq) => break seq,
            Err(e) => {
                tracing::warn!(error = %crate::diagnostics::chain(&e), "live stream waits for the store")
            }
        }
        tokio::select! {
            () = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
            _ = shutdown.changed() => return,
        }
    };
    // Events above `floor` already streamed, with when they were first seen.
    let mut seen: BTreeMap<i64, Instant> = BTreeMap::new();
    while !*shutdown.borrow() {
        match store.timeline_all(floor, 1000).await {
            Ok(rows) => {
                for row in rows {
                    if seen.contains_key(&row.seq) {
                        continue;
                    }
                    seen.insert(row.seq, Instant::now());
                    match timeline_event(row) {
                        Some(e) => {
                            let _ = events.send(std::sync::Arc::new(e));
                        }
                        None => tracing::debug!("timeline event of an unknown kind not streamed"),
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %crate::diagnostics::chain(&e), "live stream could not read the timeline")
            }
        }
        // Stop waiting for gaps below an event seen long enough ago.
        if let Some(settled) = seen
            .iter()
            .rev()
            .find(|(_, at)| at.elapsed() >= TAIL_GRACE)
            .map(|(seq, _)| *seq)
        {
            floor = floor.max(settled);
            seen = seen.split_off(&(settled + 1));
        }
        tokio::select! {
            () = tokio::time::sleep(TAIL_POLL) => {}
            _ = shutdown.changed() => {}
        }
    }
}

fn timeline_event(row: crate::store::TimelineRow) -> Option<crate::engine::events::Event> {
    Some(crate::engine::events::Event {
        at: row.at,
        kind: serde_json::from_value(serde_json::Value::String(row.kind)).ok()?,
        incident: row.incident_id,
        actor: row.actor,
        message: row.message,
        detail: match row.detail {
            serde_json::Value::Object(m) => m,
            _ => Default::default(),
        },
    })
}
