//! The Mastodon client API (docs.joinmastodon.org/methods/statuses):
//! statuses with `Idempotency-Key`, edit, pin (5 at most, 422 beyond) and
//! unpin, pinned statuses newest pin first, accounts, notifications.
//! Errors are `{"error": "..."}`.

use super::{bearer, body_value, json, Fake, Post};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::Router;
use serde_json::{json, Value};
use std::collections::HashMap;

pub const ME: &str = "109000000000000001";
const MAX_PINS: usize = 5;
const MAX_CHARS: usize = 500;

pub fn router() -> Router<Fake> {
    Router::new()
        .route("/api/v1/accounts/verify_credentials", get(me))
        .route("/api/v1/accounts/{id}", get(account))
        .route("/api/v1/accounts/{id}/statuses", get(account_statuses))
        .route("/api/v1/notifications", get(notifications))
        .route("/api/v1/statuses", post(create))
        .route("/api/v1/statuses/{id}", put(edit))
        .route("/api/v1/statuses/{id}/pin", post(pin))
        .route("/api/v1/statuses/{id}/unpin", post(unpin))
}

fn error(status: u16, message: &str) -> Response {
    json(status, json!({"error": message}))
}

fn auth(f: &Fake, headers: &HeaderMap) -> Result<(), Response> {
    match bearer(headers) {
        Some(t) if t == f.token => Ok(()),
        _ => Err(error(401, "The access token is invalid")),
    }
}

/// A status as the API shows it.
pub fn status(p: &Post, pinned: bool) -> Value {
    json!({
        "id": p.id,
        "url": format!("https://mastodon.example/@acme/{}", p.id),
        "content": format!("<p>{}</p>", p.text),
        "visibility": p.raw.get("visibility").cloned().unwrap_or(json!("public")),
        "in_reply_to_id": p.reply_to,
        "language": p.raw.get("language").cloned().unwrap_or(Value::Null),
        "pinned": pinned,
        "account": {"id": ME, "username": "acme", "acct": "acme"},
    })
}

/// Seeds a status the brand posted by hand, pinned or not.
pub fn seed(f: &Fake, text: &str, pinned: bool) -> String {
    let mut w = f.world();
    let id = format!("{}", 110_000_000_000_000_000u64 + w.next_id());
    w.seed(id, text, json!({}), pinned)
}

async fn me(State(f): State<Fake>, h: HeaderMap) -> Response {
    if let Err(r) = auth(&f, &h) {
        return r;
    }
    json(200, json!({"id": ME, "username": "acme", "acct": "acme"}))
}

async fn account(State(f): State<Fake>, h: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(r) = auth(&f, &h) {
        return r;
    }
    if id == ME {
        return json(200, json!({"id": ME, "username": "acme", "acct": "acme"}));
    }
    json(
        200,
        json!({"id": id, "username": format!("user{id}"), "acct": format!("user{id}@elsewhere.example")}),
    )
}

async fn account_statuses(
    State(f): State<Fake>,
    h: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(r) = auth(&f, &h) {
        return r;
    }
    if id != ME {
        return error(404, "Record not found");
    }
    let w = f.world();
    let list: Vec<Value> = if q.get("pinned").map(String::as_str) == Some("true") {
        // Newest pin first, as Mastodon orders `status_pins`.
        w.pins
            .iter()
            .rev()
            .filter_map(|id| w.post(id))
            .map(|p| status(p, true))
            .collect()
    } else {
        w.posts
            .iter()
            .rev()
            .map(|p| status(p, w.pins.contains(&p.id)))
            .collect()
    };
    json(200, Value::Array(list))
}

async fn create(State(f): State<Fake>, h: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = auth(&f, &h) {
        return r;
    }
    let body = body_value(&body);
    let text = body
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if text.trim().is_empty() {
        return error(422, "Validation failed: Text can't be blank");
    }
    if text.chars().count() > MAX_CHARS {
        return error(
            422,
            "Validation failed: Text character limit of 500 exceeded",
        );
    }
    let key = h
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut w = f.world();
    if let Some(id) = key.as_ref().and_then(|k| w.keys.get(k)).cloned() {
        let p = w.post(&id).cloned();
        return p.map_or_else(
            || error(404, "Record not found"),
            |p| json(200, status(&p, w.pins.contains(&id))),
        );
    }
    let reply_to = body
        .get("in_reply_to_id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let private_to =
        (body.get("visibility").and_then(Value::as_str) == Some("direct")).then(|| {
            text.split_whitespace()
                .next()
                .unwrap_or_default()
                .trim_start_matches('@')
                .to_owned()
        });
    let id = format!("{}", 110_000_000_000_000_000u64 + w.next_id());
    let p = Post {
        id: id.clone(),
        text,
        reply_to,
        private_to,
        raw: body,
        by_api: true,
    };
    w.posts.push(p.clone());
    if let Some(k) = key {
        w.keys.insert(k, id);
    }
    json(200, status(&p, false))
}

async fn edit(
    State(f): State<Fake>,
    h: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if let Err(r) = auth(&f, &h) {
        return r;
    }
    let body = body_value(&body);
    let text = body
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if text.chars().count() > MAX_CHARS {
        return error(
            422,
            "Validation failed: Text character limit of 500 exceeded",
        );
    }
    let mut w = f.world();
    let pinned = w.pins.contains(&id);
    match w.post_mut(&id) {
        Some(p) => {
            p.text = text;
            let p = p.clone();
            json(200, status(&p, pinned))
        }
        None => error(404, "Record not found"),
    }
}

async fn pin(State(f): State<Fake>, h: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(r) = auth(&f, &h) {
        return r;
    }
    let mut w = f.world();
    let Some(p) = w.post(&id).cloned() else {
        return error(404, "Record not found");
    };
    if !w.pins.contains(&id) {
        if w.pins.len() >= MAX_PINS {
            return error(
                422,
                "Validation failed: You have already pinned the maximum number of posts",
            );
        }
        w.pins.push(id);
    }
    json(200, status(&p, true))
}

async fn unpin(State(f): State<Fake>, h: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(r) = auth(&f, &h) {
        return r;
    }
    let mut w = f.world();
    let Some(p) = w.post(&id).cloned() else {
        return error(404, "Record not found");
    };
    w.pins.retain(|x| x != &id);
    json(200, status(&p, false))
}

/// Someone mentions the account (`kind` `mention`) or does something else
/// that notifies it (`favourite`, `follow`). Returns the status id.
pub fn notify(f: &Fake, kind: &str, author: &str, html: &str) -> String {
    let mut w = f.world();
    let n = w.next_id();
    let status_id = format!("{}", 111_000_000_000_000_000u64 + n);
    let note = json!({
        "id": format!("{}", 900_000 + n),
        "type": kind,
        "created_at": "2026-11-24T07:00:00.000Z",
        "account": {"id": format!("2{n:05}"), "username": author, "acct": format!("{author}@elsewhere.example"), "display_name": author.to_uppercase(), "followers_count": 12, "bot": false},
        "status": {"id": status_id, "content": html, "created_at": "2026-11-24T07:00:00.000Z", "language": "en", "visibility": "public", "in_reply_to_id": null, "url": format!("https://elsewhere.example/@{author}/{status_id}")},
    });
    w.notifications.push(note);
    status_id
}

/// Newest first; `types[]`, `since_id`, `max_id` and `limit` as documented.
async fn notifications(
    State(f): State<Fake>,
    h: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(r) = auth(&f, &h) {
        return r;
    }
    let num = |k: &str| q.get(k).and_then(|v| v.parse::<u64>().ok());
    let limit = num("limit").unwrap_or(40).min(80) as usize;
    let types = q.get("types[]").cloned();
    let w = f.world();
    let list: Vec<Value> = w
        .notifications
        .iter()
        .rev()
        .filter(|n| {
            let id = n["id"]
                .as_str()
                .and_then(|i| i.parse::<u64>().ok())
                .unwrap_or(0);
            num("since_id").is_none_or(|s| id > s)
                && num("max_id").is_none_or(|m| id < m)
                && types.as_deref().is_none_or(|t| n["type"] == t)
        })
        .take(limit)
        .cloned()
        .collect();
    json(200, Value::Array(list))
}
