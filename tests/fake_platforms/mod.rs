//! Local servers that answer like the platforms' published APIs: the same
//! paths, status codes, error bodies and rate-limit headers, over real HTTP
//! on 127.0.0.1. One shared account model ([`World`]) sits behind a
//! front-end per platform, so tests and benches can look at what is posted
//! and pinned in one vocabulary, and inject failures ([`Fault`]) or latency
//! the same way for every platform.
#![allow(dead_code)]
// Auth checks return the platform's error answer itself as the `Err`, the
// way axum handlers short-circuit; its size does not matter in a test server.
#![allow(clippy::result_large_err)]

pub mod bluesky;
pub mod discord;
pub mod mastodon;
pub mod slack;
pub mod statuspage;
pub mod telegram;
pub mod x;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::Value;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One post as the platform holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Post {
    pub id: String,
    pub text: String,
    pub reply_to: Option<String>,
    /// Recipient of a private message.
    pub private_to: Option<String>,
    /// The record or body as sent, for platform-specific checks.
    pub raw: Value,
    /// Made through the API (squall) rather than seeded by the test.
    pub by_api: bool,
}

/// One account on a fake platform.
#[derive(Debug, Default)]
pub struct World {
    pub posts: Vec<Post>,
    /// Pinned post ids, oldest pin first.
    pub pins: Vec<String>,
    /// Idempotency key (or nonce) → post id.
    pub keys: BTreeMap<String, String>,
    next: u64,
    /// Bluesky: the profile record and its CID.
    pub profile: Option<Value>,
    pub profile_cid: String,
    /// Bluesky: the next N profile writes find that a person edited the
    /// profile since it was read (their description lands first).
    pub profile_races: u32,
    /// Bluesky: tokens of the current session, and expired ones.
    pub access: String,
    pub refresh: String,
    pub expired: Vec<String>,
    /// Bluesky: access tokens of every session created (each client its own).
    pub sessions: Vec<String>,
    pub sessions_created: u32,
    pub refreshes: u32,
    /// Notifications for the account, oldest first, as the platform shows them.
    pub notifications: Vec<Value>,
    /// Status page: bodies received, with their signature header.
    pub hooks: Vec<(Value, Option<String>)>,
}

impl Post {
    /// A post made through the API with the body as sent.
    pub fn made(id: String, text: String, reply_to: Option<String>, raw: Value) -> Self {
        Post {
            id,
            text,
            reply_to,
            private_to: None,
            raw,
            by_api: true,
        }
    }
}

impl World {
    /// Adds a post the brand made by hand (pinned if asked); returns its id.
    pub fn seed(&mut self, id: String, text: &str, raw: Value, pinned: bool) -> String {
        self.posts.push(Post {
            id: id.clone(),
            text: text.into(),
            reply_to: None,
            private_to: None,
            raw,
            by_api: false,
        });
        if pinned {
            self.pins.push(id.clone());
        }
        id
    }

    pub fn next_id(&mut self) -> u64 {
        self.next += 1;
        self.next
    }
    pub fn post(&self, id: &str) -> Option<&Post> {
        self.posts.iter().find(|p| p.id == id)
    }
    pub fn post_mut(&mut self, id: &str) -> Option<&mut Post> {
        self.posts.iter_mut().find(|p| p.id == id)
    }
}

/// What a fault does to the request it catches.
#[derive(Debug, Clone)]
pub enum FaultKind {
    /// Answer this instead of the platform.
    Respond {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: Value,
    },
    /// Wait this long before answering (longer than the client's timeout).
    Delay(Duration),
    /// Carry the request out, then cut the connection in the middle of the
    /// answer: the platform did it, the client never learns (the case an
    /// idempotency key exists for).
    DropAfter,
}

/// A failure for the next request whose path contains `path`.
#[derive(Debug, Clone)]
pub struct Fault {
    pub path: String,
    pub kind: FaultKind,
}

/// How a platform announces its budget on every answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateStyle {
    Mastodon,
    Atproto,
    Discord,
    X,
    None,
}

/// The state shared by a fake server's handlers.
#[derive(Clone)]
pub struct Fake {
    world: Arc<Mutex<World>>,
    faults: Arc<Mutex<VecDeque<Fault>>>,
    /// The credential the platform accepts.
    pub token: String,
    /// Added to every answer (APIs that "answer in 100 ms"), in milliseconds.
    latency_ms: Arc<std::sync::atomic::AtomicU64>,
    style: RateStyle,
    /// Requests seen, as `METHOD path`.
    calls: Arc<Mutex<Vec<String>>>,
    /// Budget per window; the answer after the last allowed one is a 429.
    pub limit: u64,
}

impl Fake {
    pub fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }
    /// The next request to a path containing `path` fails with `kind`.
    pub fn fail_next(&self, path: &str, kind: FaultKind) {
        self.faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back(Fault {
                path: path.to_owned(),
                kind,
            });
    }
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
    /// Budget headers for an answer, in the platform's spelling.
    pub fn rate_headers(&self, remaining: u64, reset_in: Duration) -> Vec<(&'static str, String)> {
        let reset = SystemTime::now() + reset_in;
        let unix = reset
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let limit = self.limit.to_string();
        match self.style {
            RateStyle::Mastodon => vec![
                ("x-ratelimit-limit", limit),
                ("x-ratelimit-remaining", remaining.to_string()),
                (
                    "x-ratelimit-reset",
                    chrono::DateTime::<chrono::Utc>::from(reset)
                        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                ),
            ],
            RateStyle::Atproto => vec![
                ("ratelimit-limit", limit.clone()),
                ("ratelimit-remaining", remaining.to_string()),
                ("ratelimit-reset", unix.to_string()),
                ("ratelimit-policy", format!("{limit};w=300")),
            ],
            RateStyle::Discord => vec![
                ("x-ratelimit-limit", limit),
                ("x-ratelimit-remaining", remaining.to_string()),
                ("x-ratelimit-reset", unix.to_string()),
                (
                    "x-ratelimit-reset-after",
                    format!("{:.3}", reset_in.as_secs_f64()),
                ),
                ("x-ratelimit-bucket", "fake-bucket".into()),
            ],
            RateStyle::X => vec![
                ("x-rate-limit-limit", limit),
                ("x-rate-limit-remaining", remaining.to_string()),
                ("x-rate-limit-reset", unix.to_string()),
            ],
            RateStyle::None => Vec::new(),
        }
    }
}

/// A fake platform listening on 127.0.0.1.
pub struct Server {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    pub fake: Fake,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Binds port 0 and serves `router` with fault injection, latency and the
/// platform's budget headers around every handler.
pub async fn serve(router: Router<Fake>, token: &str, style: RateStyle) -> Server {
    let fake = Fake {
        world: Arc::default(),
        faults: Arc::default(),
        token: token.to_owned(),
        latency_ms: Arc::default(),
        style,
        calls: Arc::default(),
        limit: 300,
    };
    serve_fake(router, fake).await
}

pub async fn serve_fake(router: Router<Fake>, fake: Fake) -> Server {
    let app = router
        .layer(axum::middleware::from_fn_with_state(fake.clone(), around))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a local port");
    let url = format!("http://{}", listener.local_addr().expect("local address"));
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Server { url, fake, task }
}

impl Server {
    /// Every answer takes at least `latency` from now on.
    pub fn with_latency(self, latency: Duration) -> Self {
        let ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
        self.fake
            .latency_ms
            .store(ms, std::sync::atomic::Ordering::Relaxed);
        self
    }
}

async fn around(State(fake): State<Fake>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let call = format!("{} {}", req.method(), path);
    let seen = {
        let mut calls = fake.calls.lock().unwrap_or_else(|e| e.into_inner());
        calls.push(call);
        calls.len() as u64
    };
    let latency = fake.latency_ms.load(std::sync::atomic::Ordering::Relaxed);
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    let fault = {
        let mut faults = fake.faults.lock().unwrap_or_else(|e| e.into_inner());
        let i = faults.iter().position(|f| path.contains(&f.path));
        i.and_then(|i| faults.remove(i))
    };
    let mut response = match fault {
        Some(Fault {
            kind:
                FaultKind::Respond {
                    status,
                    headers,
                    body,
                },
            ..
        }) => {
            let mut r = (
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                axum::Json(body),
            )
                .into_response();
            for (k, v) in headers {
                if let Ok(v) = HeaderValue::from_str(&v) {
                    r.headers_mut().insert(HeaderName::from_static(k), v);
                }
            }
            return r;
        }
        Some(Fault {
            kind: FaultKind::Delay(d),
            ..
        }) => {
            tokio::time::sleep(d).await;
            next.run(req).await
        }
        Some(Fault {
            kind: FaultKind::DropAfter,
            ..
        }) => {
            let done = next.run(req).await;
            let (mut parts, _) = done.into_parts();
            // A length the body never reaches, then an error: the server
            // resets the connection mid-answer.
            parts
                .headers
                .insert("content-length", HeaderValue::from_static("4096"));
            let cut = futures::stream::once(async {
                Err::<axum::body::Bytes, std::io::Error>(std::io::Error::other(
                    "connection dropped by the fault injector",
                ))
            });
            return Response::from_parts(parts, Body::from_stream(cut));
        }
        None => next.run(req).await,
    };
    let remaining = fake.limit.saturating_sub(seen);
    for (k, v) in fake.rate_headers(remaining, Duration::from_secs(300)) {
        if let Ok(v) = HeaderValue::from_str(&v) {
            response.headers_mut().insert(HeaderName::from_static(k), v);
        }
    }
    response
}

/// A JSON answer with a status code.
pub fn json(status: u16, body: Value) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        axum::Json(body),
    )
        .into_response()
}

pub fn empty(status: u16) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        Body::empty(),
    )
        .into_response()
}

/// The bearer token of a request, if any.
pub fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned)
}

/// A JSON request body (`Null` when it is not JSON: the handler refuses it).
pub fn body_value(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap_or(Value::Null)
}

/// A config from YAML that must be valid.
pub fn config(yaml: &str) -> squall::config::Config {
    let (cfg, diags) = squall::config::parse(yaml, std::path::Path::new("squall.yaml"), &|_| None);
    assert!(!squall::diagnostics::has_errors(&diags), "{diags:#?}");
    cfg.expect("config")
}

/// Builds the real adapters for `cfg` as start-up does, reading
/// credentials through `env`.
///
/// # Errors
/// What `adapters::connect` reports.
pub fn connect(
    cfg: &squall::config::Config,
    env: &dyn Fn(&str) -> Option<String>,
    timeout: Duration,
) -> Result<squall::adapters::Adapters, Vec<squall::adapters::ConnectError>> {
    let world = squall::adapters::sim::SimWorld::default();
    let notifier = Arc::new(squall::adapters::sim::SimNotifier(world.clone()));
    squall::adapters::connect(cfg, env, &[], notifier, timeout, &world)
}

/// Every platform squall has an adapter for, with its fake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Mastodon,
    Bluesky,
    Telegram,
    Discord,
    Slack,
    X,
    Statuspage,
}

pub const ALL: [Kind; 7] = [
    Kind::Mastodon,
    Kind::Bluesky,
    Kind::Telegram,
    Kind::Discord,
    Kind::Slack,
    Kind::X,
    Kind::Statuspage,
];

impl Kind {
    pub fn platform(self) -> &'static str {
        match self {
            Kind::Mastodon => "mastodon",
            Kind::Bluesky => "bluesky",
            Kind::Telegram => "telegram",
            Kind::Discord => "discord",
            Kind::Slack => "slack",
            Kind::X => "x",
            Kind::Statuspage => "statuspage",
        }
    }

    /// Starts this platform's fake, accepting `secret`.
    pub async fn start(self, secret: &str) -> Server {
        match self {
            Kind::Mastodon => serve(mastodon::router(), secret, RateStyle::Mastodon).await,
            Kind::Bluesky => bluesky::start(secret).await,
            Kind::Telegram => serve(telegram::router(), secret, RateStyle::None).await,
            Kind::Discord => serve(discord::router(), secret, RateStyle::Discord).await,
            Kind::Slack => serve(slack::router(), secret, RateStyle::None).await,
            Kind::X => serve(x::router(), secret, RateStyle::X).await,
            Kind::Statuspage => serve(statuspage::router(), secret, RateStyle::None).await,
        }
    }

    /// Seeds a post the brand made by hand (pinned if asked), on platforms
    /// that have posts to pin; `None` where nothing can be pinned.
    pub fn seed(self, fake: &Fake, text: &str, pinned: bool) -> Option<String> {
        match self {
            Kind::Mastodon => Some(mastodon::seed(fake, text, pinned)),
            Kind::Bluesky => Some(bluesky::seed(fake, text, pinned)),
            Kind::Telegram => Some(telegram::seed(fake, text, pinned)),
            Kind::Discord => Some(discord::seed(fake, text, pinned)),
            Kind::Slack => Some(slack::seed(fake, text, pinned)),
            Kind::X | Kind::Statuspage => None,
        }
    }

    /// The account lines of `squall.yaml` for an account on this fake.
    pub fn account_yaml(self, name: &str, server: &Server, variable: &str) -> String {
        let (handle, field) = match self {
            Kind::Mastodon => ("\"@acme@mastodon.example\"", "token"),
            Kind::Bluesky => ("acme.bsky.example", "password"),
            Kind::Telegram => ("\"@acme_status\"", "token"),
            Kind::Discord => ("\"1200000000000000001\"", "token"),
            Kind::Slack => ("C0STATUS", "token"),
            Kind::X => ("\"@acme\"", "token"),
            Kind::Statuspage => ("status.acme.example", "secret"),
        };
        format!(
            "  {name}: {{platform: {}, handle: {handle}, base_url: \"{}\", credentials: {{{field}: {variable}}}}}\n",
            self.platform(),
            server.url
        )
    }

    /// A 429 exactly as this platform sends it, asking for `secs` seconds.
    pub fn rate_limited(self, fake: &Fake, secs: u64) -> FaultKind {
        let wait = Duration::from_secs(secs);
        let (headers, body) = match self {
            Kind::Mastodon => (
                fake.rate_headers(0, wait),
                serde_json::json!({"error": "Too many requests"}),
            ),
            Kind::Bluesky => (
                fake.rate_headers(0, wait),
                serde_json::json!({"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}),
            ),
            Kind::Telegram => (
                Vec::new(),
                serde_json::json!({"ok": false, "error_code": 429, "description": format!("Too Many Requests: retry after {secs}"), "parameters": {"retry_after": secs}}),
            ),
            Kind::Discord => (
                fake.rate_headers(0, wait),
                serde_json::json!({"message": "You are being rate limited.", "retry_after": secs as f64, "global": false}),
            ),
            Kind::Slack | Kind::Statuspage => (
                vec![("retry-after", secs.to_string())],
                serde_json::json!({"ok": false, "error": "ratelimited"}),
            ),
            Kind::X => (
                fake.rate_headers(0, wait),
                serde_json::json!({"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429}),
            ),
        };
        FaultKind::Respond {
            status: 429,
            headers,
            body,
        }
    }

    /// A 401 as the platform answers a revoked or expired credential.
    pub fn expired_credentials(self) -> FaultKind {
        let body = match self {
            Kind::Mastodon => serde_json::json!({"error": "The access token is invalid"}),
            Kind::Bluesky => {
                serde_json::json!({"error": "AuthenticationRequired", "message": "Invalid identifier or password"})
            }
            Kind::Telegram => {
                serde_json::json!({"ok": false, "error_code": 401, "description": "Unauthorized"})
            }
            Kind::Discord => serde_json::json!({"message": "401: Unauthorized", "code": 0}),
            Kind::Slack | Kind::Statuspage => {
                serde_json::json!({"ok": false, "error": "invalid_auth"})
            }
            Kind::X => {
                serde_json::json!({"title": "Unauthorized", "status": 401, "type": "about:blank", "detail": "Unauthorized"})
            }
        };
        FaultKind::Respond {
            status: 401,
            headers: Vec::new(),
            body,
        }
    }

    /// A 503 with the platform's error body.
    pub fn unavailable(self) -> FaultKind {
        let body = match self {
            Kind::Mastodon => serde_json::json!({"error": "Service Unavailable"}),
            Kind::Bluesky => {
                serde_json::json!({"error": "InternalServerError", "message": "Internal Server Error"})
            }
            Kind::Telegram => {
                serde_json::json!({"ok": false, "error_code": 503, "description": "Service Unavailable"})
            }
            Kind::Discord => serde_json::json!({"message": "Service Unavailable", "code": 0}),
            Kind::Slack | Kind::Statuspage => {
                serde_json::json!({"ok": false, "error": "service_unavailable"})
            }
            Kind::X => {
                serde_json::json!({"title": "Service Unavailable", "status": 503, "type": "about:blank"})
            }
        };
        FaultKind::Respond {
            status: 503,
            headers: Vec::new(),
            body,
        }
    }
}
