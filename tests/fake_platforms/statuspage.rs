//! A home-grown status page receiving signed webhooks: it checks
//! `X-Squall-Signature` (HMAC-SHA256 of the body with the shared secret,
//! `sha256=<hex>`) and answers 401 when it does not match, like a receiver
//! that checks where calls come from.

use super::{json, Fake, Post};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};

pub fn router() -> Router<Fake> {
    Router::new()
        .route("/", post(hook))
        .route("/hooks/{name}", post(hook))
}

async fn hook(State(f): State<Fake>, h: HeaderMap, body: Bytes) -> Response {
    let signature = h
        .get("x-squall-signature")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let expected = squall::adapters::statuspage::sign(
        &squall::adapters::http::Secret::new(f.token.clone()),
        &body,
    );
    if signature.as_deref() != Some(expected.as_str()) {
        return json(401, json!({"error": "bad signature"}));
    }
    let b: Value = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(_) => return json(400, json!({"error": "body is not JSON"})),
    };
    let mut w = f.world();
    let key = h
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if !key.is_empty() && w.keys.contains_key(&key) {
        return json(200, json!({"ok": true, "duplicate": true}));
    }
    let id = b
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or(&key)
        .to_owned();
    let text = b
        .get("text")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    match w.post_mut(&id) {
        Some(p) => p.text = text,
        None => w.posts.push(Post::made(id.clone(), text, None, b.clone())),
    }
    if !key.is_empty() {
        w.keys.insert(key, id);
    }
    w.hooks.push((b, signature));
    json(200, json!({"ok": true}))
}
