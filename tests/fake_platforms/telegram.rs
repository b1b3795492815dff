//! The Telegram Bot API (core.telegram.org/bots/api): `/bot<token>/<method>`,
//! answers `{"ok": true, "result": ...}` or `{"ok": false, "error_code",
//! "description", "parameters": {"retry_after"}}`.

use super::{body_value, json, Fake, Post};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};

pub fn router() -> Router<Fake> {
    Router::new().route("/{bot}/{method}", post(call))
}

fn error(code: u16, description: &str) -> Response {
    json(
        code,
        json!({"ok": false, "error_code": code, "description": description}),
    )
}

fn ok(result: Value) -> Response {
    json(200, json!({"ok": true, "result": result}))
}

fn message(p: &Post) -> Value {
    json!({"message_id": p.id.parse::<i64>().unwrap_or(0), "chat": {"id": -1001234567890i64, "type": "channel", "username": "acme_status"}, "date": 1764572400, "text": p.text})
}

pub fn seed(f: &Fake, text: &str, pinned: bool) -> String {
    let mut w = f.world();
    let id = w.next_id().to_string();
    w.seed(id, text, json!({}), pinned)
}

async fn call(
    State(f): State<Fake>,
    Path((bot, method)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    if bot.strip_prefix("bot") != Some(f.token.as_str()) {
        return error(401, "Unauthorized");
    }
    let b = body_value(&body);
    if b.get("chat_id").and_then(Value::as_str) != Some("@acme_status") {
        return error(400, "Bad Request: chat not found");
    }
    let id = b
        .get("message_id")
        .map(|m| m.to_string())
        .unwrap_or_default();
    let mut w = f.world();
    match method.as_str() {
        "sendMessage" => {
            let text = b
                .get("text")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            if text.is_empty() {
                return error(400, "Bad Request: message text is empty");
            }
            if text.chars().count() > 4096 {
                return error(400, "Bad Request: message is too long");
            }
            let reply_to = b
                .pointer("/reply_parameters/message_id")
                .map(|m| m.to_string());
            let id = w.next_id().to_string();
            let p = Post {
                id,
                text,
                reply_to,
                private_to: None,
                raw: b,
                by_api: true,
            };
            w.posts.push(p.clone());
            ok(message(&p))
        }
        "editMessageText" => {
            let text = b
                .get("text")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            match w.post_mut(&id) {
                Some(p) if p.text == text => error(400, "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message"),
                Some(p) => {
                    p.text = text;
                    let p = p.clone();
                    ok(message(&p))
                }
                None => error(400, "Bad Request: message to edit not found"),
            }
        }
        "getChat" => {
            let latest = w.pins.last().and_then(|id| w.post(id)).map(message);
            let mut chat = json!({"id": -1001234567890i64, "type": "channel", "username": "acme_status", "title": "Acme status"});
            if let Some(m) = latest {
                chat["pinned_message"] = m;
            }
            ok(chat)
        }
        "pinChatMessage" => {
            if w.post(&id).is_none() {
                return error(400, "Bad Request: message to pin not found");
            }
            if !w.pins.contains(&id) {
                w.pins.push(id);
            }
            ok(json!(true))
        }
        "unpinChatMessage" => {
            w.pins.retain(|p| p != &id);
            ok(json!(true))
        }
        _ => error(404, "Not Found"),
    }
}
