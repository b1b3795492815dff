//! `GET /v1/triggers`: the recent mention rate of every surge trigger
//! against what its detector expected and its threshold, with the surge
//! buckets marked (the dashboard's chart).
//!
//! The detectors live in the engine, so this is a read through the engine
//! task ([`driver::Read::Rates`](super::driver::Read)), answered between
//! inputs; like any request to the engine it meets 503 when the queue is
//! full. The series is rebuilt by the journal replay after a restart.

use super::error::ApiError;
use super::AppState;
use crate::config::ApiRole;
use crate::engine::triggers::RateSeries;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

/// Every surge trigger's recent rate.
#[derive(Debug, Serialize, ToSchema)]
pub struct Triggers {
    #[schema(value_type = Vec<TriggerRate>)]
    pub triggers: Vec<RateSeries>,
}

/// One surge trigger's last hours (documentation of [`RateSeries`]).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TriggerRate {
    playbook: String,
    /// `surge`, then `surge-2`, ... for a playbook's further surge triggers.
    trigger: String,
    bucket_seconds: u64,
    /// The counting window each point covers.
    window_seconds: u64,
    points: Vec<TriggerPoint>,
}

/// One closed bucket (or an early alarm) as the detector judged it.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TriggerPoint {
    /// End of the window.
    #[schema(format = DateTime)]
    at: String,
    /// Matching mentions in the window.
    observed: u64,
    /// Expected at this time of day.
    expected: f64,
    /// At or above this the window is a surge.
    threshold: f64,
    /// Part of a surge.
    surge: bool,
}

/// The recent rate of every surge trigger (the last six hours, oldest first).
#[utoipa::path(get, path = "/v1/triggers", tag = "triggers",
    responses((status = 200, body = Triggers), (status = 401, body = super::error::ErrorBody),
        (status = 403, body = super::error::ErrorBody), (status = 503, body = super::error::ErrorBody)),
    security(("bearer" = ["viewer"])))]
pub async fn triggers(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Triggers>, ApiError> {
    state.auth.require(&headers, ApiRole::Viewer)?;
    let triggers = state
        .engine
        .call(|reply| super::driver::Job::Read(super::driver::Read::Rates(reply)))
        .await?;
    Ok(Json(Triggers { triggers }))
}
