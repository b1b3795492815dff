//! The API's one error type: a stable machine-readable code, a message meant
//! for the caller, and nothing about squall's internals.
//!
//! Causes that are squall's fault (store, engine) are logged here with their
//! detail and answered as `internal` with no detail (axum's
//! `examples/error-handling`). Clients branch on `code`, never on `message`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// Seconds a client should wait before retrying a request the server could
/// not take (`Retry-After`).
pub const RETRY_AFTER_SECS: u64 = 1;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No token, or one squall does not know.
    #[error("a valid bearer token is required")]
    Unauthorized,
    /// A known token without the role this endpoint needs.
    #[error("this token may not do this")]
    Forbidden,
    /// The body is not what the endpoint reads.
    #[error("{0}")]
    MalformedBody(String),
    /// A query parameter is missing, unknown or not of its type.
    #[error("{0}")]
    InvalidQuery(String),
    #[error("the request body is larger than this server accepts")]
    TooLarge,
    #[error("at most {0} items may be sent in one request")]
    BatchTooLarge(usize),
    /// `what` does not exist; `hint` says what the caller may have meant.
    #[error("{what} not found{}", hint.as_deref().map(|h| format!("; {h}")).unwrap_or_default())]
    NotFound { what: String, hint: Option<String> },
    /// The engine refused a person's command (e.g. approving a status that
    /// is not waiting for approval); the message is the engine's reason.
    #[error("{0}")]
    Rejected(String),
    /// Every slot in front of the engine is taken: retry after a moment.
    #[error("squall is busy; retry shortly")]
    Overloaded,
    /// The server is shutting down and takes no new work.
    #[error("squall is shutting down")]
    ShuttingDown,
    /// A part squall depends on (NATS) does not answer: not ready.
    #[error("{0}")]
    Unavailable(String),
    /// squall's own failure; the detail went to the log, not to the caller.
    #[error("internal error")]
    Internal,
}

/// The JSON body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable code: `unauthorized`, `forbidden`, `malformed_body`, `invalid_query`,
    /// `invalid_request` (e.g. a path that is not UTF-8), `method_not_allowed`,
    /// `request_timeout`, `payload_too_large`, `not_found`, `rejected`,
    /// `overloaded`, `shutting_down`, `unavailable`, `internal`.
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthorized => "unauthorized",
            ApiError::Forbidden => "forbidden",
            ApiError::MalformedBody(_) => "malformed_body",
            ApiError::InvalidQuery(_) => "invalid_query",
            ApiError::TooLarge | ApiError::BatchTooLarge(_) => "payload_too_large",
            ApiError::NotFound { .. } => "not_found",
            ApiError::Rejected(_) => "rejected",
            ApiError::Overloaded => "overloaded",
            ApiError::ShuttingDown => "shutting_down",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal => "internal",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::MalformedBody(_) | ApiError::InvalidQuery(_) => StatusCode::BAD_REQUEST,
            ApiError::TooLarge | ApiError::BatchTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::Rejected(_) => StatusCode::CONFLICT,
            ApiError::Overloaded | ApiError::ShuttingDown | ApiError::Unavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// 404 for `what` (e.g. `incident inc-7`).
    pub fn not_found(what: impl Into<String>) -> Self {
        ApiError::NotFound {
            what: what.into(),
            hint: None,
        }
    }

    /// Logs an internal failure with its cause and returns the opaque error.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "request failed inside squall");
        ApiError::Internal
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code(),
                message: self.to_string(),
            },
        };
        let mut resp = (status, axum::Json(body)).into_response();
        match self {
            ApiError::Overloaded | ApiError::ShuttingDown | ApiError::Unavailable(_) => {
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
            }
            ApiError::Unauthorized => {
                resp.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            _ => {}
        }
        resp
    }
}

/// Most bytes of a plain-text error body kept as the message.
const MAX_PLAIN_MESSAGE: usize = 1024;

/// Gives every error the JSON body the API documents. Squall's own errors
/// are [`ApiError`]s already; what is left comes from axum and tower before
/// a handler runs: a path segment that is not UTF-8 (400, plain text), a
/// method the route does not take (405, empty), a request that outlived the
/// timeout (408, empty). Their status and headers stay; the body becomes
/// `{"error": {"code", "message"}}`.
pub async fn json_errors(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let method = req.method().clone();
    let resp = next.run(req).await;
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, MAX_PLAIN_MESSAGE)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let (code, message) = match status {
        // axum adds `Allow` after this layer has run (the layer wraps each
        // route's fallback), so the message points at the header.
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            format!("this endpoint does not take {method}; the Allow header lists what it takes"),
        ),
        StatusCode::REQUEST_TIMEOUT => (
            "request_timeout",
            "the request took longer than this server waits; send it again".to_string(),
        ),
        s if s.is_client_error() => ("invalid_request", text),
        _ => ("internal", "internal error".to_string()),
    };
    let message = if message.is_empty() {
        status.canonical_reason().unwrap_or("error").to_lowercase()
    } else {
        message
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let body = ErrorBody {
        error: ErrorDetail { code, message },
    };
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    Response::from_parts(parts, axum::body::Body::from(bytes))
}
