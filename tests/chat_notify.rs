//! Chat notifications reach a Slack-compatible incoming webhook and a Matrix
//! room. Both are local servers that answer as the published APIs do
//! (status codes, error bodies, `Retry-After`, `retry_after_ms`); the
//! notify steps run through the real engine, store and outbox executor.

mod common;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{post, put};
use axum::{Json, Router};
use common::{at, Rehearsal, CONFIG};
use serde_json::{json, Value};
use squall::adapters::chat::ChatNotifier;
use squall::adapters::{sim, AdapterError, Notifier};
use squall::config::ChatConfig;
use squall::playbook::Channel;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const NOTIFY_ANA: &str = r#"
name: outage
triggers: [{manual: {}}]
on_open:
  - notify: {to: ["staff:ana"], via: [chat], template: notify/opened}
"#;

const TOKEN: &str = "syt_bot_token_not_for_logs";
const ROOM: &str = "!ops:acme.example";

/// What a sink received, and how many of the next calls it answers 429.
#[derive(Default)]
struct Sink {
    /// Slack: message texts. Matrix: `{room, txn, auth, content}`.
    received: Mutex<Vec<Value>>,
    throttle: Mutex<u32>,
    /// Matrix: event ids by transaction id (the homeserver's idempotency).
    events: Mutex<BTreeMap<String, String>>,
}

impl Sink {
    fn received(&self) -> Vec<Value> {
        self.received.lock().expect("sink").clone()
    }
    /// Whether this call is one of the throttled ones.
    fn throttled(&self) -> bool {
        let mut left = self.throttle.lock().expect("sink");
        let hit = *left > 0;
        *left = left.saturating_sub(1);
        hit
    }
}

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a free local port");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    url
}

/// A Slack-compatible incoming webhook at `/services/T1/B1/secret`: `200 ok`,
/// 400 `invalid_payload` / `no_text`, 404 `no_service` for an unknown hook,
/// 429 with `Retry-After` when throttled.
async fn slack_webhook(sink: Arc<Sink>) -> String {
    async fn hook(
        State(sink): State<Arc<Sink>>,
        Path(hook): Path<String>,
        body: String,
    ) -> Response {
        if hook != "T1/B1/secret" {
            return (StatusCode::NOT_FOUND, "no_service").into_response();
        }
        if sink.throttled() {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", "30")],
                "rate_limited",
            )
                .into_response();
        }
        let Ok(payload) = serde_json::from_str::<Value>(&body) else {
            return (StatusCode::BAD_REQUEST, "invalid_payload").into_response();
        };
        match payload.get("text").and_then(Value::as_str) {
            Some(t) if !t.is_empty() => {
                sink.received.lock().expect("sink").push(json!(t));
                (StatusCode::OK, "ok").into_response()
            }
            _ => (StatusCode::BAD_REQUEST, "no_text").into_response(),
        }
    }
    serve(
        Router::new()
            .route("/services/{*hook}", post(hook))
            .with_state(sink),
    )
    .await
}

/// A homeserver's `PUT /rooms/{room}/send/m.room.message/{txn}`: 401
/// `M_MISSING_TOKEN` / `M_UNKNOWN_TOKEN`, 403 `M_FORBIDDEN` outside the room,
/// 429 `M_LIMIT_EXCEEDED` with `retry_after_ms`, and the same `event_id` for
/// a repeated transaction id.
async fn homeserver(sink: Arc<Sink>) -> String {
    async fn send(
        State(sink): State<Arc<Sink>>,
        Path((room, txn)): Path<(String, String)>,
        headers: HeaderMap,
        Json(content): Json<Value>,
    ) -> Response {
        let error = |status, errcode: &str, error: &str| {
            (status, Json(json!({"errcode": errcode, "error": error}))).into_response()
        };
        let auth = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let Some(token) = auth.strip_prefix("Bearer ") else {
            return error(
                StatusCode::UNAUTHORIZED,
                "M_MISSING_TOKEN",
                "Missing access token",
            );
        };
        if token != TOKEN {
            return error(
                StatusCode::UNAUTHORIZED,
                "M_UNKNOWN_TOKEN",
                "Unrecognised access token",
            );
        }
        if room != ROOM {
            return error(
                StatusCode::FORBIDDEN,
                "M_FORBIDDEN",
                "User is not in the room",
            );
        }
        sink.received.lock().expect("sink").push(json!({
            "room": room, "txn": txn, "auth": auth, "content": content,
        }));
        if sink.throttled() {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                Json(json!({"errcode": "M_LIMIT_EXCEEDED", "error": "Too many requests", "retry_after_ms": 2000})),
            )
                .into_response();
        }
        let mut events = sink.events.lock().expect("sink");
        let next = format!("$event{}", events.len());
        let id = events.entry(txn).or_insert(next).clone();
        Json(json!({"event_id": id})).into_response()
    }
    serve(
        Router::new()
            .route(
                "/_matrix/client/v3/rooms/{room}/send/m.room.message/{txn}",
                put(send),
            )
            .with_state(sink),
    )
    .await
}

/// The notifier `squall serve` builds for `cfg`, with `vars` as the environment.
fn notifier(cfg: &ChatConfig, vars: &[(&str, String)], world: &sim::SimWorld) -> ChatNotifier {
    let vars: BTreeMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    ChatNotifier::new(
        cfg,
        &move |name: &str| vars.get(name).cloned(),
        Arc::new(sim::SimNotifier(world.clone())),
        Duration::from_secs(5),
    )
    .expect("chat notifier")
}

/// The standard rehearsal, with chat going to `cfg`.
async fn rehearsal(cfg: &ChatConfig, vars: &[(&str, String)]) -> Rehearsal {
    let config = common::config(CONFIG);
    let world = sim::SimWorld::default();
    let accounts = sim::sim_platforms(&config, &world, true);
    let mut adapters = sim::adapters(&accounts, &world);
    adapters.notifier = Arc::new(notifier(cfg, vars, &world));
    Rehearsal::with_adapters(config, adapters, world, accounts, &[NOTIFY_ANA], at(7, 0)).await
}

fn matrix(url: &str) -> ChatConfig {
    ChatConfig::Matrix {
        homeserver: url.to_owned(),
        room: ROOM.to_owned(),
        token_env: "MATRIX_TOKEN".into(),
    }
}

fn ana() -> squall::config::Staff {
    common::config(CONFIG).staff["ana"].clone()
}

#[tokio::test]
async fn a_notify_step_posts_to_the_slack_compatible_webhook_addressed_to_the_person() {
    let sink = Arc::new(Sink::default());
    let base = slack_webhook(sink.clone()).await;
    let cfg = ChatConfig::Slack {
        url_env: "CHAT_WEBHOOK".into(),
    };
    let mut r = rehearsal(
        &cfg,
        &[("CHAT_WEBHOOK", format!("{base}/services/T1/B1/secret"))],
    )
    .await;
    r.declare(at(7, 0), "outage").await;
    assert_eq!(r.count("notified"), 1, "{:?}", r.kinds());
    let texts = sink.received();
    assert_eq!(texts.len(), 1);
    let text = texts[0].as_str().expect("text");
    assert!(text.starts_with("@ana (Ana Nowak)\n"), "{text}");
    assert!(
        text.contains("Hi Ana Nowak, a new incident is open"),
        "{text}"
    );
}

#[tokio::test]
async fn a_throttled_webhook_is_retried_when_slack_says_and_delivered_once() {
    let sink = Arc::new(Sink::default());
    *sink.throttle.lock().expect("sink") = 1;
    let base = slack_webhook(sink.clone()).await;
    let cfg = ChatConfig::Slack {
        url_env: "CHAT_WEBHOOK".into(),
    };
    let mut r = rehearsal(
        &cfg,
        &[("CHAT_WEBHOOK", format!("{base}/services/T1/B1/secret"))],
    )
    .await;
    r.declare(at(7, 0), "outage").await;
    let retry = r.first("action_retry").expect("a retry is scheduled");
    assert!(retry.message.contains("07:00:30"), "{}", retry.message);
    assert!(sink.received().is_empty());
    r.advance(at(7, 1)).await;
    assert_eq!(sink.received().len(), 1);
    assert_eq!(r.count("notified"), 1);
}

#[tokio::test]
async fn a_revoked_webhook_is_a_refusal_with_slacks_reason() {
    let sink = Arc::new(Sink::default());
    let base = slack_webhook(sink.clone()).await;
    let cfg = ChatConfig::Slack {
        url_env: "CHAT_WEBHOOK".into(),
    };
    let world = sim::SimWorld::default();
    let n = notifier(
        &cfg,
        &[("CHAT_WEBHOOK", format!("{base}/services/T1/B1/revoked"))],
        &world,
    );
    let err = n
        .send(&ana(), Channel::Chat, "Outage", "Site down", "k1")
        .await
        .expect_err("refused");
    assert!(
        matches!(&err, AdapterError::Rejected(m) if m.contains("404") && m.contains("no_service")),
        "{err:?}"
    );
}

#[tokio::test]
async fn matrix_gets_one_event_whose_transaction_id_survives_a_rate_limited_retry() {
    let sink = Arc::new(Sink::default());
    *sink.throttle.lock().expect("sink") = 1;
    let base = homeserver(sink.clone()).await;
    let mut r = rehearsal(&matrix(&base), &[("MATRIX_TOKEN", TOKEN.to_owned())]).await;
    r.declare(at(7, 0), "outage").await;
    let retry = r
        .first("action_retry")
        .expect("M_LIMIT_EXCEEDED is retried");
    assert!(retry.message.contains("07:00:02"), "{}", retry.message);
    r.advance(at(7, 1)).await;
    assert_eq!(r.count("notified"), 1, "{:?}", r.kinds());
    let calls = sink.received();
    assert_eq!(calls.len(), 2, "the throttled call and its retry");
    assert_eq!(
        calls[0]["txn"], calls[1]["txn"],
        "a retry is the same event"
    );
    assert_eq!(calls[0]["room"], ROOM);
    assert_eq!(calls[0]["auth"], format!("Bearer {TOKEN}"));
    let content = &calls[1]["content"];
    assert_eq!(content["msgtype"], "m.text");
    assert_eq!(content["format"], "org.matrix.custom.html");
    let body = content["body"].as_str().expect("body");
    assert!(body.starts_with("Ana Nowak: "), "{body}");
    assert!(!body.contains(TOKEN));
    assert_eq!(sink.events.lock().expect("sink").len(), 1);
}

#[tokio::test]
async fn an_unknown_matrix_token_is_unauthorized_and_not_retried() {
    let sink = Arc::new(Sink::default());
    let base = homeserver(sink.clone()).await;
    let vars = [("MATRIX_TOKEN", "syt_revoked".to_owned())];
    let world = sim::SimWorld::default();
    let err = notifier(&matrix(&base), &vars, &world)
        .send(&ana(), Channel::Chat, "Outage", "Site down", "k1")
        .await
        .expect_err("refused");
    assert!(
        matches!(&err, AdapterError::Unauthorized(m) if m.contains("M_UNKNOWN_TOKEN") && !m.contains("syt_revoked")),
        "{err:?}"
    );
    let mut r = rehearsal(&matrix(&base), &vars).await;
    r.declare(at(7, 0), "outage").await;
    assert_eq!(r.count("action_retry"), 0);
    let failed = r.first("action_failed").expect("reported");
    assert!(failed.message.contains("401"), "{}", failed.message);
}

#[tokio::test]
async fn customer_markup_is_escaped_in_the_matrix_html_and_kept_as_text_in_the_body() {
    let sink = Arc::new(Sink::default());
    let base = homeserver(sink.clone()).await;
    let world = sim::SimWorld::default();
    let n = notifier(
        &matrix(&base),
        &[("MATRIX_TOKEN", TOKEN.to_owned())],
        &world,
    );
    let text = "Customer wrote: <b>refund now</b> & <script>x</script>";
    n.send(&ana(), Channel::Chat, "New <b>draft</b>", text, "k1")
        .await
        .expect("sent");
    let content = &sink.received()[0]["content"];
    let html = content["formatted_body"].as_str().expect("html");
    assert!(
        html.contains("&lt;b&gt;refund now&lt;/b&gt; &amp; &lt;script&gt;"),
        "{html}"
    );
    assert!(html.contains("New &lt;b&gt;draft&lt;/b&gt;"), "{html}");
    assert!(
        !html.contains("<b>") && !html.contains("<script>"),
        "{html}"
    );
    assert!(content["body"].as_str().expect("body").contains(text));
}

#[tokio::test]
async fn email_still_goes_to_the_wrapped_notifier() {
    let world = sim::SimWorld::default();
    let cfg = ChatConfig::Slack {
        url_env: "CHAT_WEBHOOK".into(),
    };
    // Nothing listens here: an e-mail must not touch the webhook.
    let n = notifier(
        &cfg,
        &[("CHAT_WEBHOOK", "http://127.0.0.1:9/hook".into())],
        &world,
    );
    n.send(&ana(), Channel::Email, "Outage", "Site down", "k1")
        .await
        .expect("recorded");
    assert!(world.records().iter().any(|r| matches!(
        r,
        sim::SimRecord::Notify {
            channel: Channel::Email,
            ..
        }
    )));
}

#[test]
fn the_config_names_every_missing_chat_setting_at_once() {
    let check = |chat: &str, expected: &[&str]| {
        let yaml = format!("{CONFIG}notify:\n  chat: {chat}\n");
        let (_, diags) =
            squall::config::parse(&yaml, std::path::Path::new("squall.yaml"), &|_| None);
        let messages: Vec<String> = diags
            .iter()
            .map(|d| format!("{} {}", d.message, d.hint.clone().unwrap_or_default()))
            .collect();
        for e in expected {
            assert!(
                messages.iter().any(|m| m.contains(e)),
                "{e} in {messages:#?}"
            );
        }
    };
    check(
        "{format: teams}",
        &["unknown chat format `teams`", "format: matrix"],
    );
    check("{format: slack}", &["needs `url_env`"]);
    check(
        "{format: matrix, homeserver: matrix.acme.example}",
        &["needs `room`", "needs `token_env`", "is not an http(s) URL"],
    );
    let ok = format!(
        "{CONFIG}notify:\n  chat: {{format: matrix, homeserver: \"https://m.acme.example/\", room: \"{ROOM}\", token_env: MATRIX_TOKEN}}\n"
    );
    let config = common::config(&ok);
    assert_eq!(
        config.notify.chat,
        Some(ChatConfig::Matrix {
            homeserver: "https://m.acme.example".into(),
            room: ROOM.into(),
            token_env: "MATRIX_TOKEN".into(),
        })
    );
}

#[test]
fn an_unset_secret_variable_is_named_at_start_up() {
    let world = sim::SimWorld::default();
    let err = ChatNotifier::new(
        &matrix("https://m.acme.example"),
        &|_| None,
        Arc::new(sim::SimNotifier(world)),
        Duration::from_secs(1),
    )
    .err()
    .expect("refused");
    assert_eq!(
        err.to_string(),
        "environment variable MATRIX_TOKEN (named by notify.chat) is not set"
    );
}
