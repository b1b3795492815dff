//! The Discord HTTP API v10 (discord.com/developers/docs): channel messages
//! with `nonce`/`enforce_nonce`, edit, and the message pins endpoints
//! (`GET /channels/{id}/messages/pins` → `{"items": [{"pinned_at",
//! "message"}], "has_more"}`, `PUT`/`DELETE .../pins/{message}` → 204).
//! Errors are `{"message", "code"}`.

use super::{body_value, empty, json, Fake, Post};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, patch, post, put};
use axum::Router;
use serde_json::{json, Value};

pub const CHANNEL: &str = "1200000000000000001";
const MAX_PINS: usize = 50;

pub fn router() -> Router<Fake> {
    Router::new()
        .route("/channels/{channel}/messages", post(create))
        .route("/channels/{channel}/messages/{id}", patch(edit))
        .route("/channels/{channel}/messages/pins", get(pins))
        .route(
            "/channels/{channel}/messages/pins/{id}",
            put(pin).delete(unpin),
        )
}

fn error(status: u16, message: &str, code: u32) -> Response {
    json(status, json!({"message": message, "code": code}))
}

fn auth(f: &Fake, h: &HeaderMap, channel: &str) -> Result<(), Response> {
    let ok =
        h.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bot {}", f.token));
    if !ok {
        return Err(error(401, "401: Unauthorized", 0));
    }
    if channel != CHANNEL {
        return Err(error(404, "Unknown Channel", 10003));
    }
    Ok(())
}

fn message(p: &Post) -> Value {
    json!({"id": p.id, "channel_id": CHANNEL, "content": p.text, "pinned": false, "type": 0})
}

pub fn seed(f: &Fake, text: &str, pinned: bool) -> String {
    let mut w = f.world();
    let id = (1_300_000_000_000_000_000u64 + w.next_id()).to_string();
    w.seed(id, text, json!({}), pinned)
}

async fn create(
    State(f): State<Fake>,
    h: HeaderMap,
    Path(channel): Path<String>,
    body: Bytes,
) -> Response {
    if let Err(r) = auth(&f, &h, &channel) {
        return r;
    }
    let b = body_value(&body);
    let text = b
        .get("content")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if text.is_empty() {
        return error(400, "Cannot send an empty message", 50006);
    }
    if text.chars().count() > 2000 {
        return json(
            400,
            json!({"message": "Invalid Form Body", "code": 50035, "errors": {"content": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 2000 or fewer in length."}]}}}),
        );
    }
    let nonce = b.get("nonce").and_then(Value::as_str).map(str::to_owned);
    let enforce = b.get("enforce_nonce").and_then(Value::as_bool) == Some(true);
    let mut w = f.world();
    if let (Some(n), true) = (&nonce, enforce) {
        if let Some(p) = w.keys.get(n).and_then(|id| w.post(id)) {
            return json(200, message(p));
        }
    }
    let id = (1_300_000_000_000_000_000u64 + w.next_id()).to_string();
    let reply_to = b
        .pointer("/message_reference/message_id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let p = Post::made(id.clone(), text, reply_to, b);
    w.posts.push(p.clone());
    if let (Some(n), true) = (nonce, enforce) {
        w.keys.insert(n, id);
    }
    json(200, message(&p))
}

async fn edit(
    State(f): State<Fake>,
    h: HeaderMap,
    Path((channel, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    if let Err(r) = auth(&f, &h, &channel) {
        return r;
    }
    let b = body_value(&body);
    let mut w = f.world();
    match w.post_mut(&id) {
        Some(p) => {
            p.text = b
                .get("content")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let p = p.clone();
            json(200, message(&p))
        }
        None => error(404, "Unknown Message", 10008),
    }
}

async fn pins(State(f): State<Fake>, h: HeaderMap, Path(channel): Path<String>) -> Response {
    if let Err(r) = auth(&f, &h, &channel) {
        return r;
    }
    let w = f.world();
    let items: Vec<Value> = w
        .pins
        .iter()
        .rev()
        .filter_map(|id| w.post(id))
        .map(|p| json!({"pinned_at": "2026-11-24T07:00:00.000000+00:00", "message": message(p)}))
        .collect();
    json(200, json!({"items": items, "has_more": false}))
}

async fn pin(
    State(f): State<Fake>,
    h: HeaderMap,
    Path((channel, id)): Path<(String, String)>,
) -> Response {
    if let Err(r) = auth(&f, &h, &channel) {
        return r;
    }
    let mut w = f.world();
    if w.post(&id).is_none() {
        return error(404, "Unknown Message", 10008);
    }
    if !w.pins.contains(&id) {
        if w.pins.len() >= MAX_PINS {
            return error(400, "Maximum number of pins reached (50)", 30003);
        }
        w.pins.push(id);
    }
    empty(204)
}

async fn unpin(
    State(f): State<Fake>,
    h: HeaderMap,
    Path((channel, id)): Path<(String, String)>,
) -> Response {
    if let Err(r) = auth(&f, &h, &channel) {
        return r;
    }
    let mut w = f.world();
    if w.post(&id).is_none() {
        return error(404, "Unknown Message", 10008);
    }
    w.pins.retain(|p| p != &id);
    empty(204)
}
