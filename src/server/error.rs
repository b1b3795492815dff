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
    /// `payload_too_large`, `not_found`, `rejected`, `overloaded`,
    /// `shutting_down`, `unavailable`, `internal`.
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
