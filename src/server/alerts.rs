//! Monitoring triggers: Alertmanager (webhook v4), Grafana alerting, and a
//! generic JSON webhook in squall's own alert form.
//!
//! Each delivery is normalised to [`Alert`]s and handed to the engine, whose
//! playbooks' `alert` triggers open, update or (with `resolve: true`)
//! resolve incidents. Monitoring systems deliver the same alert again and
//! again (Alertmanager's `repeat_interval`, retries after a timeout); the
//! engine ignores a delivery it has seen, keyed by fingerprint, status and
//! start time, so repeats are harmless. An alert without a fingerprint gets
//! one derived from its labels.

use super::error::ApiError;
use super::{AppState, Body};
use crate::clock::Timestamp;
use crate::config::ApiRole;
use crate::engine::input::{Alert, AlertStatus};
use crate::playbook::AlertSource;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// An Alertmanager (v4) or Grafana webhook delivery. Fields squall does not
/// use (`receiver`, `groupLabels`, `externalURL`, Grafana's `values`, ...)
/// are accepted and ignored.
#[derive(Debug, Deserialize, ToSchema)]
pub struct WebhookPayload {
    /// Alertmanager sends `"4"`, Grafana `"1"`.
    #[serde(default)]
    pub version: Option<String>,
    pub alerts: Vec<WebhookAlert>,
}

/// One alert of a delivery.
#[derive(Debug, Deserialize, ToSchema)]
pub struct WebhookAlert {
    #[schema(example = "firing")]
    pub status: AlertStatus,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(rename = "startsAt")]
    #[schema(value_type = String, format = DateTime)]
    pub starts_at: Timestamp,
    /// `0001-01-01T00:00:00Z` while firing.
    #[serde(rename = "endsAt", default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ends_at: Option<Timestamp>,
    #[serde(default)]
    pub fingerprint: Option<String>,
}

/// squall's own alert form, for any system that can POST JSON.
#[derive(Debug, Deserialize, ToSchema)]
pub struct GenericAlert {
    #[schema(example = "firing")]
    pub status: AlertStatus,
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// Stable identity of the alert; default: derived from the labels.
    #[serde(default)]
    pub fingerprint: Option<String>,
    /// Default: when squall receives it.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub starts_at: Option<Timestamp>,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ends_at: Option<Timestamp>,
}

/// How many alerts of a delivery the engine took.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertReport {
    pub received: usize,
    /// Incidents opened, updated or resolved by this delivery.
    pub incidents: Vec<String>,
}

/// Alertmanager webhook receiver.
#[utoipa::path(post, path = "/v1/alerts/alertmanager", tag = "alerts",
    request_body(content = WebhookPayload, description = "Alertmanager webhook payload, version 4"),
    responses((status = 200, body = AlertReport), (status = 400, body = super::error::ErrorBody),
        (status = 401, body = super::error::ErrorBody), (status = 403, body = super::error::ErrorBody),
        (status = 413, body = super::error::ErrorBody), (status = 503, body = super::error::ErrorBody)),
    security(("bearer" = ["monitor"])))]
pub async fn alertmanager(
    State(state): State<AppState>,
    headers: HeaderMap,
    Body(body): Body,
) -> Result<Json<AlertReport>, ApiError> {
    webhook(&state, &headers, &body, AlertSource::Alertmanager).await
}

/// Grafana alerting webhook receiver.
#[utoipa::path(post, path = "/v1/alerts/grafana", tag = "alerts",
    request_body(content = WebhookPayload, description = "Grafana alerting webhook payload"),
    responses((status = 200, body = AlertReport), (status = 400, body = super::error::ErrorBody),
        (status = 401, body = super::error::ErrorBody), (status = 403, body = super::error::ErrorBody),
        (status = 413, body = super::error::ErrorBody), (status = 503, body = super::error::ErrorBody)),
    security(("bearer" = ["monitor"])))]
pub async fn grafana(
    State(state): State<AppState>,
    headers: HeaderMap,
    Body(body): Body,
) -> Result<Json<AlertReport>, ApiError> {
    webhook(&state, &headers, &body, AlertSource::Grafana).await
}

/// Generic JSON webhook: one alert or an array, in squall's alert form or
/// in any shape a playbook's `map` reads.
#[utoipa::path(post, path = "/v1/alerts/webhook", tag = "alerts",
    request_body(content = Vec<GenericAlert>, description = "One alert or an array of them: squall's alert form, or any JSON object whose fields a playbook's alert trigger maps (`map:` with JSON Pointers)"),
    responses((status = 200, body = AlertReport), (status = 400, body = super::error::ErrorBody),
        (status = 401, body = super::error::ErrorBody), (status = 403, body = super::error::ErrorBody),
        (status = 413, body = super::error::ErrorBody), (status = 503, body = super::error::ErrorBody)),
    security(("bearer" = ["monitor"])))]
pub async fn generic(
    State(state): State<AppState>,
    headers: HeaderMap,
    Body(body): Body,
) -> Result<Json<AlertReport>, ApiError> {
    state.auth.require(&headers, ApiRole::Monitor)?;
    let alerts = parse_generic(&body, &state.alert_maps, chrono::Utc::now())?;
    submit(&state, alerts).await
}

/// The alerts of a generic webhook body: one JSON value or an array, each
/// in squall's alert form or in a shape one of `maps` (the playbooks' alert
/// `map`s) reads. An alert without a start time starts at `now`. Pure: the
/// handler and the fuzz target (`fuzz/fuzz_targets/alert_webhook.rs`) call
/// it the same way.
///
/// # Errors
/// [`ApiError::MalformedBody`] naming the first item that is neither.
pub fn parse_generic(
    body: &[u8],
    maps: &[crate::playbook::AlertMap],
    now: Timestamp,
) -> Result<Vec<Alert>, ApiError> {
    let value: serde_json::Value = super::parse_json(body)?;
    let items = match value {
        serde_json::Value::Array(items) => items,
        one => vec![one],
    };
    let mut alerts = Vec::new();
    for (i, v) in items.into_iter().enumerate() {
        let is_own_form = v.get("status").is_some() && v.get("labels").is_some();
        if is_own_form || maps.is_empty() {
            let g: GenericAlert = serde_json::from_value(v)
                .map_err(|e| ApiError::MalformedBody(format!("alert {i}: {e}")))?;
            alerts.push(normalise(
                AlertSource::Webhook,
                g.status,
                g.labels,
                g.annotations,
                g.fingerprint,
                g.starts_at.unwrap_or(now),
                g.ends_at,
            ));
            continue;
        }
        let before = alerts.len();
        for m in maps {
            if let Some(found) = m.read(&v) {
                let status = if found.firing {
                    AlertStatus::Firing
                } else {
                    AlertStatus::Resolved
                };
                // No start time: the fingerprint alone names the occurrence.
                let starts_at = found.starts_at.unwrap_or(chrono::DateTime::UNIX_EPOCH);
                alerts.push(normalise(
                    AlertSource::Webhook,
                    status,
                    found.labels,
                    found.annotations,
                    found.fingerprint,
                    starts_at,
                    None,
                ));
            }
        }
        if alerts.len() == before {
            return Err(ApiError::MalformedBody(format!(
                "alert {i}: neither squall's alert form (`status`, `labels`) nor a shape any playbook's `map` reads"
            )));
        }
    }
    alerts.dedup();
    Ok(alerts)
}

async fn webhook(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    source: AlertSource,
) -> Result<Json<AlertReport>, ApiError> {
    state.auth.require(headers, ApiRole::Monitor)?;
    let alerts = parse_webhook(body, source)?;
    submit(state, alerts).await
}

/// The alerts of an Alertmanager (v4) or Grafana webhook delivery,
/// normalised. Pure, like [`parse_generic`].
///
/// # Errors
/// [`ApiError::MalformedBody`] with the JSON path of what is wrong.
pub fn parse_webhook(body: &[u8], source: AlertSource) -> Result<Vec<Alert>, ApiError> {
    let payload: WebhookPayload = super::parse_json(body)?;
    let alerts = payload
        .alerts
        .into_iter()
        .map(|a| {
            normalise(
                source,
                a.status,
                a.labels,
                a.annotations,
                a.fingerprint,
                a.starts_at,
                a.ends_at,
            )
        })
        .collect();
    Ok(alerts)
}

async fn submit(state: &AppState, alerts: Vec<Alert>) -> Result<Json<AlertReport>, ApiError> {
    let received = alerts.len();
    metrics::counter!("squall_alerts_received_total").increment(received as u64);
    let events = state
        .engine
        .call(|reply| super::driver::Job::Alerts(alerts, reply))
        .await?;
    let mut incidents: Vec<String> = events.iter().filter_map(|e| e.incident.clone()).collect();
    incidents.sort();
    incidents.dedup();
    Ok(Json(AlertReport {
        received,
        incidents,
    }))
}

fn normalise(
    source: AlertSource,
    status: AlertStatus,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    fingerprint: Option<String>,
    starts_at: Timestamp,
    ends_at: Option<Timestamp>,
) -> Alert {
    let fingerprint = fingerprint
        .filter(|f| !f.is_empty())
        .unwrap_or_else(|| label_fingerprint(&labels));
    // Alertmanager writes the zero time while an alert fires.
    let ends_at = ends_at.filter(|t| *t > starts_at && status == AlertStatus::Resolved);
    Alert {
        source,
        status,
        labels,
        annotations,
        fingerprint,
        starts_at,
        ends_at,
    }
}

/// A stable identity from the labels (sorted by name), for alerts that come
/// without a fingerprint.
fn label_fingerprint(labels: &BTreeMap<String, String>) -> String {
    let mut text = String::new();
    for (k, v) in labels {
        text.push_str(k);
        text.push('\u{0}');
        text.push_str(v);
        text.push('\u{0}');
    }
    super::auth::sha256_hex(&text)[..16].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIRING: &str = r#"{"version": "4", "status": "firing", "alerts": [{"status": "firing",
        "labels": {"alertname": "AppDown"}, "startsAt": "2026-11-24T22:00:30Z",
        "endsAt": "0001-01-01T00:00:00Z"}]}"#;

    fn malformed(r: Result<Vec<Alert>, ApiError>) -> String {
        match r {
            Err(ApiError::MalformedBody(m)) => m,
            other => panic!("expected malformed_body, got {other:?}"),
        }
    }

    #[test]
    fn a_delivery_is_read_and_normalised() {
        let alerts = parse_webhook(FIRING.as_bytes(), AlertSource::Alertmanager).expect("parses");
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].status, AlertStatus::Firing);
        assert_eq!(
            alerts[0].ends_at, None,
            "the zero end time of a firing alert"
        );
        assert_eq!(alerts[0].fingerprint.len(), 16, "derived from the labels");
    }

    // Regression (fuzz/corpus/alert_webhook/regress-invalid-utf8-ignored-field):
    // bytes that are not UTF-8 in a field squall ignores were accepted.
    #[test]
    fn bad_utf8_in_an_ignored_field_is_refused() {
        let mut body = FIRING.as_bytes().to_vec();
        let at = body
            .windows(6)
            .position(|w| w == b"firing")
            .expect("status");
        body[at] = 0xff;
        body[at + 1] = 0xfe;
        let message = malformed(parse_webhook(&body, AlertSource::Grafana));
        assert!(message.contains("not UTF-8"), "{message}");
        let message = malformed(parse_generic(&body, &[], chrono::Utc::now()));
        assert!(message.contains("not UTF-8"), "{message}");
    }

    // Regression: data after the JSON document was silently dropped.
    #[test]
    fn data_after_the_document_is_refused() {
        let body = format!("{FIRING} {{\"alerts\": []}}");
        let message = malformed(parse_webhook(body.as_bytes(), AlertSource::Alertmanager));
        assert!(
            message.contains("more after the JSON document"),
            "{message}"
        );
        let generic = r#"{"status": "firing", "labels": {"a": "b"}} trailing"#;
        malformed(parse_generic(generic.as_bytes(), &[], chrono::Utc::now()));
        let spaced = format!("{FIRING}\n\n");
        parse_webhook(spaced.as_bytes(), AlertSource::Alertmanager).expect("whitespace is fine");
    }
}
