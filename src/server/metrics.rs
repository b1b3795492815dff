//! `/metrics` in Prometheus text format, and the HTTP middleware that times
//! every request.
//!
//! squall records with the `metrics` facade (`counter!`, `gauge!`,
//! `histogram!`) wherever the thing happens: the runtime counts actions by
//! result, the engine task counts surge evaluations and sets the incident
//! and outbox gauges, ingest counts mentions. One process-wide Prometheus
//! recorder renders them here.
//!
//! Names: `squall_mentions_ingested_total`, `squall_mentions_rejected_total`,
//! `squall_alerts_received_total`, `squall_surge_evaluations_total`,
//! `squall_incidents{state}`, `squall_actions_total{kind,result}`,
//! `squall_outbox_rows{state}`, `squall_outbox_depth`,
//! `squall_overload_rejections_total`, `squall_ingest_grouped_batches_total`
//! (mention requests that shared a group commit with others),
//! `squall_autoreplies_total{outcome,reason}` (sent: `closed`, `on_call`;
//! held: `own_account`, `bot`, `public_mention`, `same_thread`,
//! `already_answered`, `staff_replied`), `squall_off_hours_open{account}`,
//! `squall_off_hours_note_pinned{account}`, `squall_off_hours_override{account}`,
//! `squall_off_hours_switches_total{account,to,source}`,
//! `squall_http_request_duration_seconds{method,route,status}` (histogram),
//! `squall_ingest_step_seconds{step}` (histogram: how long each step of a
//! group of mentions took on the engine task, `journal`, `decide`,
//! `commit`, `publish`; they run one after the other, so their sums show
//! where ingest's time goes).

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;

/// Latency buckets in seconds: loopback ingest is sub-millisecond, a busy
/// store write can take tens of milliseconds.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The process-wide recorder, installed on first use (tests build many apps
/// in one process; a recorder can be installed only once).
pub fn handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("squall_http_request_duration_seconds".into()),
                    BUCKETS,
                )
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full("squall_ingest_step_seconds".into()),
                        BUCKETS,
                    )
                })
                .map(|b| b.build_recorder())
                .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics may be empty");
            }
            handle
        })
        .clone()
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text exposition format", content_type = "text/plain", body = String)))]
pub async fn metrics(State(state): State<super::AppState>) -> impl IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        state.metrics.render(),
    )
}

/// Times each request, labelled by route template (never the raw path, so
/// ids do not explode the label set) and status.
/// The method as a label: the standard ones by name, anything else as
/// `other`. Clients choose the method, and a label value per made-up method
/// would let anyone without a token grow `/metrics` without bound.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

pub async fn track(req: Request, next: Next) -> Response {
    let start = std::time::Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = method_label(req.method());
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    metrics::histogram!("squall_http_request_duration_seconds",
        "method" => method, "route" => route, "status" => status)
    .record(start.elapsed().as_secs_f64());
    resp
}
