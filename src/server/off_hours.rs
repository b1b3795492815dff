//! `GET /v1/off-hours`: each account's support hours as the engine holds
//! them: open or closed and since when, the next change and opening, whether
//! an incident keeps a team on call (the crisis override), and whether the
//! off-hours note is pinned.

use super::driver::Job;
use super::error::ApiError;
use super::AppState;
use crate::config::ApiRole;
use crate::engine::off_hours::DeskStatus;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

/// The answer of `GET /v1/off-hours`.
#[derive(Debug, Serialize, ToSchema)]
pub struct OffHoursList {
    /// Accounts with standing off-hours (`off_hours:` in the config) or an
    /// incident's autoresponder, by account name.
    pub accounts: Vec<DeskStatus>,
}

/// Off-hours of every account that has them.
#[utoipa::path(get, path = "/v1/off-hours", tag = "off-hours",
    responses((status = 200, body = OffHoursList), (status = 401, body = super::error::ErrorBody), (status = 403, body = super::error::ErrorBody), (status = 503, body = super::error::ErrorBody)),
    security(("bearer" = ["viewer"])))]
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<OffHoursList>, ApiError> {
    state.auth.require(&headers, ApiRole::Viewer)?;
    let accounts = state.engine.call(Job::OffHours).await?;
    Ok(Json(OffHoursList { accounts }))
}
