//! What every real adapter shares: the HTTP client, secrets that cannot be
//! logged, rate-limit headers, and the mapping of a platform's answer onto
//! [`AdapterError`].
//!
//! Platforms disagree on everything except status codes, so the mapping is
//! by status first (401/403 refused credentials, 429 rate limit, 408 and 5xx
//! temporary, other 4xx a refusal) and the body only supplies the words and
//! the platform's own error code (Mastodon `{"error": "..."}`, XRPC
//! `{"error": "InvalidSwap", "message": "..."}`, Telegram `description`,
//! Discord and Slack `message`/`error`).

use super::AdapterError;
use reqwest::header::HeaderMap;
use reqwest::{RequestBuilder, StatusCode};
use serde_json::Value;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long one platform call may take before it counts as a temporary
/// failure, unless the account says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A credential read from the environment. It has no `Display`, and its
/// `Debug` prints `[redacted]`, so no log line or error message can carry it.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The value, for the one place that puts it on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// How a platform spells its rate-limit headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateHeaders {
    /// Mastodon: `X-RateLimit-Limit/Remaining/Reset`, the reset an ISO 8601 time.
    Mastodon,
    /// AT Protocol PDS: `RateLimit-Limit/Remaining/Reset`, the reset in Unix seconds.
    Atproto,
    /// Discord: `X-RateLimit-Remaining` and `X-RateLimit-Reset-After` (seconds).
    Discord,
    /// X API v2: `x-rate-limit-limit/remaining/reset`, the reset in Unix seconds.
    X,
    /// Only `Retry-After` on a 429 (Slack, Telegram's body, webhooks).
    RetryAfterOnly,
}

/// What the last answer said about the account's budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RateState {
    pub limit: Option<u64>,
    pub remaining: Option<u64>,
    /// When the window resets.
    pub reset_at: Option<SystemTime>,
}

impl RateState {
    /// Reads the platform's headers; `None` when the answer had none.
    pub fn from_headers(kind: RateHeaders, headers: &HeaderMap, now: SystemTime) -> Option<Self> {
        let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let num = |name: &str| get(name).and_then(|v| v.trim().parse::<u64>().ok());
        let unix = |name: &str| {
            get(name)
                .and_then(|v| v.trim().parse::<f64>().ok())
                .map(|s| UNIX_EPOCH + Duration::from_secs_f64(s.max(0.0)))
        };
        let state = match kind {
            RateHeaders::Mastodon => RateState {
                limit: num("x-ratelimit-limit"),
                remaining: num("x-ratelimit-remaining"),
                reset_at: get("x-ratelimit-reset")
                    .and_then(|v| chrono::DateTime::parse_from_rfc3339(v.trim()).ok())
                    .map(SystemTime::from),
            },
            RateHeaders::Atproto => RateState {
                limit: num("ratelimit-limit"),
                remaining: num("ratelimit-remaining"),
                reset_at: unix("ratelimit-reset"),
            },
            RateHeaders::X => RateState {
                limit: num("x-rate-limit-limit"),
                remaining: num("x-rate-limit-remaining"),
                reset_at: unix("x-rate-limit-reset"),
            },
            RateHeaders::Discord => RateState {
                limit: num("x-ratelimit-limit"),
                remaining: num("x-ratelimit-remaining"),
                reset_at: get("x-ratelimit-reset-after")
                    .and_then(|v| v.trim().parse::<f64>().ok())
                    .map(|s| now + Duration::from_secs_f64(s.max(0.0))),
            },
            RateHeaders::RetryAfterOnly => return None,
        };
        (state != RateState::default()).then_some(state)
    }

    /// Seconds to wait before the next call, when the budget is spent.
    pub fn wait(&self, now: SystemTime) -> Option<u64> {
        if self.remaining != Some(0) {
            return None;
        }
        let reset = self.reset_at?;
        let left = reset.duration_since(now).ok()?;
        Some(ceil_secs(left))
    }
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// A platform's answer that was not a success.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: Option<u16>,
    /// The platform's own error name, when it gives one (`InvalidSwap`,
    /// `ExpiredToken`, `channel_not_found`).
    pub code: Option<String>,
    pub error: AdapterError,
}

impl From<ApiError> for AdapterError {
    fn from(e: ApiError) -> Self {
        e.error
    }
}

impl From<AdapterError> for ApiError {
    fn from(error: AdapterError) -> Self {
        ApiError {
            status: None,
            code: None,
            error,
        }
    }
}

/// One account's connection: a client with a timeout, the header family,
/// and the budget the platform last announced. Calls made while the budget
/// is spent are not sent: they fail at once with the time to wait, which is
/// how concurrent fan-out stays inside each account's limit.
#[derive(Debug)]
pub struct Http {
    client: reqwest::Client,
    rate: RateHeaders,
    state: Mutex<Option<RateState>>,
    /// The platform's name, for messages.
    platform: &'static str,
}

impl Http {
    /// # Errors
    /// `Transient` if the TLS stack cannot be set up.
    pub fn new(
        platform: &'static str,
        rate: RateHeaders,
        timeout: Duration,
    ) -> Result<Self, AdapterError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("squall/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| AdapterError::Transient(format!("HTTP client: {e}")))?;
        Ok(Self {
            client,
            rate,
            state: Mutex::new(None),
            platform,
        })
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// The budget the platform last announced.
    pub fn rate_state(&self) -> Option<RateState> {
        self.state.lock().ok().and_then(|s| *s)
    }

    /// Sends the request and returns the JSON body of a 2xx answer
    /// (`Value::Null` when it has none).
    ///
    /// # Errors
    /// [`ApiError`] with the mapped [`AdapterError`] and the platform's code.
    pub async fn send(&self, request: RequestBuilder) -> Result<Value, ApiError> {
        if let Some(wait) = self.rate_state().and_then(|s| s.wait(SystemTime::now())) {
            return Err(AdapterError::RateLimited {
                retry_after_secs: wait.max(1),
            }
            .into());
        }
        let response = request.send().await.map_err(|e| self.transport(e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let now = SystemTime::now();
        if let Some(state) = RateState::from_headers(self.rate, &headers, now) {
            if let Ok(mut s) = self.state.lock() {
                *s = Some(state);
            }
        }
        let bytes = response.bytes().await.map_err(|e| self.transport(e))?;
        let body: Value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                Value::String(String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into())
            })
        };
        if status.is_success() {
            return Ok(body);
        }
        Err(self.failure(status, &headers, &body, now))
    }

    fn transport(&self, e: reqwest::Error) -> ApiError {
        let what = if e.is_timeout() {
            "timed out"
        } else if e.is_connect() {
            "could not connect"
        } else {
            "connection failed"
        };
        // reqwest errors name the URL, never headers: no token can leak here.
        AdapterError::Transient(format!("{} {what}: {}", self.platform, e.without_url())).into()
    }

    fn failure(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        body: &Value,
        now: SystemTime,
    ) -> ApiError {
        let code = error_code(body);
        let words = error_message(body).unwrap_or_else(|| {
            status
                .canonical_reason()
                .unwrap_or("no reason given")
                .to_owned()
        });
        let message = match &code {
            Some(c) if !words.contains(c.as_str()) => format!("{} {c}: {words}", status.as_u16()),
            _ => format!("{} {words}", status.as_u16()),
        };
        let error = match status.as_u16() {
            401 | 403 => AdapterError::Unauthorized(format!("{}: {message}", self.platform)),
            429 => AdapterError::RateLimited {
                retry_after_secs: retry_after(headers, body, self.rate, now).unwrap_or(60),
            },
            408 | 500..=599 => AdapterError::Transient(format!("{}: {message}", self.platform)),
            _ => AdapterError::Rejected(format!("{}: {message}", self.platform)),
        };
        ApiError {
            status: Some(status.as_u16()),
            code,
            error,
        }
    }
}

/// The platform's machine-readable error name: Matrix `errcode`, XRPC and
/// Slack `error` when it is one word, Discord's numeric `code`.
fn error_code(body: &Value) -> Option<String> {
    if let Some(code) = body.get("errcode").and_then(Value::as_str) {
        return Some(code.to_owned());
    }
    match body.get("error") {
        Some(Value::String(s)) if !s.is_empty() && !s.contains(char::is_whitespace) => {
            Some(s.clone())
        }
        _ => body
            .get("code")
            .filter(|c| c.is_number())
            .map(|c| c.to_string()),
    }
}

/// The human words of an error body, whichever field the platform uses.
pub fn error_message(body: &Value) -> Option<String> {
    [
        "message",
        "error_description",
        "description",
        "detail",
        "error",
        "title",
    ]
    .iter()
    .find_map(|k| body.get(k).and_then(Value::as_str))
    .map(|s| s.chars().take(300).collect())
    .or_else(|| body.as_str().map(|s| s.chars().take(300).collect()))
}

/// Seconds to wait after a 429: `Retry-After`, then the body's `retry_after`
/// (Discord, Telegram's `parameters.retry_after`) or `retry_after_ms`
/// (Matrix), then the reset header.
pub fn retry_after(
    headers: &HeaderMap,
    body: &Value,
    rate: RateHeaders,
    now: SystemTime,
) -> Option<u64> {
    let header = headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok());
    let in_body = body
        .get("retry_after")
        .or_else(|| body.pointer("/parameters/retry_after"))
        .and_then(Value::as_f64)
        .or_else(|| {
            body.get("retry_after_ms")
                .and_then(Value::as_f64)
                .map(|ms| ms / 1000.0)
        });
    header
        .or(in_body)
        .map(|s| ceil_secs(Duration::from_secs_f64(s.max(0.0))))
        .or_else(|| {
            let state = RateState::from_headers(rate, headers, now)?;
            let left = state.reset_at?.duration_since(now).ok()?;
            Some(ceil_secs(left))
        })
        .map(|s| s.max(1))
}

/// Posts already made by idempotency key, for platforms whose API takes no
/// key (Telegram, Slack, X): a retry within this process returns the first
/// post. The executor records a pin's post before pinning, so after a crash
/// only a post whose answer was lost can repeat on these platforms.
#[derive(Debug, Default)]
pub struct Posted(Mutex<std::collections::HashMap<String, super::PostRef>>);

impl Posted {
    /// The post made with `key`, or a new one from `make`.
    ///
    /// # Errors
    /// Whatever `make` returns.
    pub async fn once<F>(&self, key: &str, make: F) -> Result<super::PostRef, AdapterError>
    where
        F: std::future::Future<Output = Result<super::PostRef, AdapterError>>,
    {
        if let Some(p) = self.0.lock().ok().and_then(|m| m.get(key).cloned()) {
            return Ok(p);
        }
        let p = make.await?;
        if let Ok(mut m) = self.0.lock() {
            m.insert(key.to_owned(), p.clone());
        }
        Ok(p)
    }
}

/// `base` without a trailing slash, joined with `path`.
pub fn url(base: &str, path: &str) -> String {
    format!("{}{path}", base.trim_end_matches('/'))
}

/// The string field `key` of a JSON answer, or a refusal naming it.
///
/// # Errors
/// `Transient` when the platform answered without it (a proxy's error page,
/// an API change): worth another try, and loud on the timeline if it persists.
pub fn field(body: &Value, pointer: &str, platform: &str) -> Result<String, AdapterError> {
    match body.pointer(pointer) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        _ => Err(AdapterError::Transient(format!(
            "{platform} answered without `{pointer}`"
        ))),
    }
}

/// The string at `pointer`, if there is one.
pub fn opt_str(body: &Value, pointer: &str) -> Option<String> {
    body.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// The RFC 3339 time at `pointer`, in UTC.
///
/// # Errors
/// `Transient` when it is absent or not a time, as for [`field`].
pub fn time(
    body: &Value,
    pointer: &str,
    platform: &str,
) -> Result<crate::clock::Timestamp, AdapterError> {
    let text = field(body, pointer, platform)?;
    chrono::DateTime::parse_from_rfc3339(&text)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| {
            AdapterError::Transient(format!(
                "{platform}: `{pointer}` is not a time ({text}): {e}"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).expect("header"));
        }
        h
    }

    #[test]
    fn each_platform_spells_its_budget_differently() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000);
        let cases = [
            (
                RateHeaders::Mastodon,
                headers(&[
                    ("x-ratelimit-limit", "300"),
                    ("x-ratelimit-remaining", "0"),
                    ("x-ratelimit-reset", "1970-01-01T00:17:00.000Z"),
                ]),
                Some(20),
            ),
            (
                RateHeaders::Atproto,
                headers(&[("ratelimit-remaining", "0"), ("ratelimit-reset", "1030")]),
                Some(30),
            ),
            (
                RateHeaders::Discord,
                headers(&[
                    ("x-ratelimit-remaining", "0"),
                    ("x-ratelimit-reset-after", "1.5"),
                ]),
                Some(2),
            ),
            (
                RateHeaders::X,
                headers(&[
                    ("x-rate-limit-remaining", "3"),
                    ("x-rate-limit-reset", "1030"),
                ]),
                None,
            ),
        ];
        for (kind, h, wait) in cases {
            let state = RateState::from_headers(kind, &h, now).expect("parsed");
            assert_eq!(state.wait(now), wait, "{kind:?}");
        }
    }

    #[test]
    fn a_429_says_how_long_to_wait_wherever_the_platform_put_it() {
        let now = UNIX_EPOCH;
        let none = HeaderMap::new();
        let check = |h: &HeaderMap, body: Value, rate, expected| {
            assert_eq!(retry_after(h, &body, rate, now), expected, "{body}");
        };
        check(
            &headers(&[("retry-after", "30")]),
            Value::Null,
            RateHeaders::RetryAfterOnly,
            Some(30),
        );
        check(
            &none,
            serde_json::json!({"retry_after": 0.2}),
            RateHeaders::Discord,
            Some(1),
        );
        check(
            &none,
            serde_json::json!({"ok": false, "parameters": {"retry_after": 35}}),
            RateHeaders::RetryAfterOnly,
            Some(35),
        );
        check(
            &none,
            serde_json::json!({"errcode": "M_LIMIT_EXCEEDED", "retry_after_ms": 2500}),
            RateHeaders::RetryAfterOnly,
            Some(3),
        );
        check(&none, Value::Null, RateHeaders::RetryAfterOnly, None);
    }

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("sk-live-very-secret");
        assert_eq!(format!("{s:?}"), "[redacted]");
        assert!(!format!("{:?}", Some(s)).contains("secret"));
    }
}
