//! `GET /v1/me`: who the bearer token is and what it may do, so the
//! dashboard shows only the controls the person can use (the server still
//! checks every request).

use super::error::ApiError;
use super::AppState;
use crate::config::ApiRole;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

/// The caller.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    /// The token's name in the config.
    pub token: String,
    /// Who acts on the timeline with this token (a staff id for commanders).
    pub actor: String,
    /// The staff member's display name, when the actor is one.
    pub name: Option<String>,
    #[schema(value_type = Vec<String>)]
    pub roles: Vec<ApiRole>,
}

/// The caller's token name, actor and roles.
#[utoipa::path(get, path = "/v1/me", tag = "session",
    responses((status = 200, body = Me), (status = 401, body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn me(State(state): State<AppState>, headers: HeaderMap) -> Result<Json<Me>, ApiError> {
    let (who, roles) = state.auth.identify(&headers)?;
    let name = state.config.staff.get(&who.actor).map(|s| s.name.clone());
    Ok(Json(Me {
        token: who.token,
        actor: who.actor,
        name,
        roles,
    }))
}
