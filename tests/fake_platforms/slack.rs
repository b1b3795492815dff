//! The Slack Web API (api.slack.com/methods): `chat.postMessage`,
//! `chat.update`, `pins.list`, `pins.add`, `pins.remove`. Failures are
//! HTTP 200 with `{"ok": false, "error": "..."}`; rate limits are 429 with
//! `Retry-After`.

use super::{bearer, body_value, json, Fake, Post};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};

pub const CHANNEL: &str = "C0STATUS";

pub fn router() -> Router<Fake> {
    Router::new().route("/{method}", post(call))
}

fn fail(error: &str) -> Response {
    json(200, json!({"ok": false, "error": error}))
}

fn ts(n: u64) -> String {
    format!("1764572400.{n:06}")
}

pub fn seed(f: &Fake, text: &str, pinned: bool) -> String {
    let mut w = f.world();
    let n = w.next_id();
    let id = ts(n);
    w.seed(id, text, json!({}), pinned)
}

async fn call(
    State(f): State<Fake>,
    h: HeaderMap,
    Path(method): Path<String>,
    body: Bytes,
) -> Response {
    if bearer(&h).as_deref() != Some(f.token.as_str()) {
        return fail("invalid_auth");
    }
    let b = body_value(&body);
    if b.get("channel").and_then(Value::as_str) != Some(CHANNEL) {
        return fail("channel_not_found");
    }
    let target = b
        .get("timestamp")
        .or_else(|| b.get("ts"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let mut w = f.world();
    match method.as_str() {
        "chat.postMessage" => {
            let text = b
                .get("text")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            if text.is_empty() {
                return fail("no_text");
            }
            let n = w.next_id();
            let reply_to = b
                .get("thread_ts")
                .and_then(Value::as_str)
                .map(str::to_owned);
            let p = Post::made(ts(n), text.clone(), reply_to, b);
            w.posts.push(p.clone());
            json(
                200,
                json!({"ok": true, "channel": CHANNEL, "ts": p.id, "message": {"type": "message", "text": text, "ts": p.id}}),
            )
        }
        "chat.update" => {
            let text = b
                .get("text")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            match w.post_mut(&target) {
                Some(p) => {
                    p.text = text.clone();
                    json(
                        200,
                        json!({"ok": true, "channel": CHANNEL, "ts": target, "text": text}),
                    )
                }
                None => fail("message_not_found"),
            }
        }
        "pins.list" => {
            let items: Vec<Value> = w
                .pins
                .iter()
                .enumerate()
                .rev()
                .filter_map(|(i, id)| w.post(id).map(|p| (i, p)))
                .map(|(i, p)| json!({"type": "message", "created": 1764572400 + i as i64, "channel": CHANNEL, "message": {"type": "message", "text": p.text, "ts": p.id}}))
                .collect();
            json(200, json!({"ok": true, "items": items}))
        }
        "pins.add" => {
            if w.post(&target).is_none() {
                return fail("message_not_found");
            }
            if w.pins.contains(&target) {
                return fail("already_pinned");
            }
            w.pins.push(target);
            json(200, json!({"ok": true}))
        }
        "pins.remove" => {
            if !w.pins.contains(&target) {
                return fail("no_pin");
            }
            w.pins.retain(|p| p != &target);
            json(200, json!({"ok": true}))
        }
        _ => fail("unknown_method"),
    }
}
