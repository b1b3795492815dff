//! The X API v2 (docs.x.com): `POST /2/tweets` (with `reply`), and
//! `POST /2/dm_conversations/with/{participant_id}/messages`. Errors are
//! problem documents `{"title", "detail", "type", "status"}`; budgets in
//! `x-rate-limit-*`. There is no pin endpoint.

use super::{bearer, body_value, json, Fake, Post};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};

pub fn router() -> Router<Fake> {
    Router::new()
        .route("/2/tweets", post(tweet))
        .route("/2/dm_conversations/with/{participant}/messages", post(dm))
}

fn problem(status: u16, title: &str, detail: &str) -> Response {
    json(
        status,
        json!({"title": title, "detail": detail, "type": "about:blank", "status": status}),
    )
}

fn auth(f: &Fake, h: &HeaderMap) -> Result<(), Response> {
    match bearer(h) {
        Some(t) if t == f.token => Ok(()),
        _ => Err(problem(401, "Unauthorized", "Unauthorized")),
    }
}

async fn tweet(State(f): State<Fake>, h: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = auth(&f, &h) {
        return r;
    }
    let b = body_value(&body);
    let text = b
        .get("text")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if text.chars().count() > 280 {
        return json(
            400,
            json!({"errors": [{"message": "text: Tweet text is too long"}], "title": "Invalid Request", "detail": "One or more parameters to your request was invalid.", "type": "https://api.twitter.com/2/problems/invalid-request"}),
        );
    }
    let mut w = f.world();
    let id = (1_860_000_000_000_000_000u64 + w.next_id()).to_string();
    let reply_to = b
        .pointer("/reply/in_reply_to_tweet_id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    w.posts
        .push(Post::made(id.clone(), text.clone(), reply_to, b));
    json(
        201,
        json!({"data": {"id": id, "text": text, "edit_history_tweet_ids": [id]}}),
    )
}

async fn dm(
    State(f): State<Fake>,
    h: HeaderMap,
    Path(participant): Path<String>,
    body: Bytes,
) -> Response {
    if let Err(r) = auth(&f, &h) {
        return r;
    }
    let b = body_value(&body);
    let text = b
        .get("text")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let mut w = f.world();
    let id = (1_870_000_000_000_000_000u64 + w.next_id()).to_string();
    w.posts.push(Post {
        id: id.clone(),
        text,
        reply_to: None,
        private_to: Some(participant.clone()),
        raw: b,
        by_api: true,
    });
    json(
        201,
        json!({"data": {"dm_conversation_id": format!("1-{participant}"), "dm_event_id": id}}),
    )
}
