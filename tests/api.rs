//! The HTTP API, endpoint by endpoint: what each answers, who may call it,
//! and what it does with malformed input. Handlers run through the real
//! router (`oneshot`, no socket) over the real engine task and a SQLite
//! file, except where a socket is the point (live events, overload).

mod serve;

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use serve::{mention, TestApp, COMMANDER, INGEST, MONITOR, STAFF, VIEWER};

/// The answer is the error `want` (status and stable code); `what` says
/// which request, for the failure message.
fn assert_error(status: StatusCode, answer: &Value, want: (StatusCode, &str), what: String) {
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (want.0, Some(want.1)),
        "{what}: {answer}"
    );
}

#[tokio::test]
async fn health_readiness_metrics_and_openapi_need_no_token() {
    let app = TestApp::start().await;
    for path in ["/healthz", "/readyz", "/metrics", "/openapi.json"] {
        let (status, _) = app.call(Method::GET, path, None, None).await;
        assert_eq!(status, StatusCode::OK, "{path}");
    }
}

/// Every endpoint that reads or changes something, with the role it needs.
const GUARDED: &[(&str, &str, &str)] = &[
    ("POST", "/v1/mentions", "ingest"),
    ("POST", "/v1/alerts/alertmanager", "monitor"),
    ("POST", "/v1/alerts/grafana", "monitor"),
    ("POST", "/v1/alerts/webhook", "monitor"),
    ("GET", "/v1/incidents", "viewer"),
    ("POST", "/v1/incidents", "commander"),
    ("GET", "/v1/incidents/x", "viewer"),
    ("POST", "/v1/incidents/x/ack", "commander"),
    ("POST", "/v1/incidents/x/state", "commander"),
    ("PUT", "/v1/incidents/x/status", "commander"),
    ("POST", "/v1/incidents/x/status/approve", "commander"),
    ("POST", "/v1/incidents/x/resolve", "commander"),
    ("GET", "/v1/events", "viewer"),
    ("GET", "/v1/drafts", "viewer"),
    ("GET", "/v1/drafts/x", "viewer"),
    ("PUT", "/v1/drafts/x", "staff"),
    ("POST", "/v1/drafts/x/claim", "staff"),
    ("POST", "/v1/drafts/x/approve", "staff"),
    ("POST", "/v1/drafts/x/discard", "staff"),
    ("GET", "/v1/staff", "viewer"),
    ("GET", "/v1/off-hours", "viewer"),
    ("GET", "/v1/triggers", "viewer"),
    ("GET", "/v1/incidents/x/status/previews", "viewer"),
];

#[tokio::test]
async fn every_guarded_endpoint_refuses_a_missing_or_wrong_token_without_detail() {
    let app = TestApp::start().await;
    for (method, path, _) in GUARDED {
        let method: Method = method.parse().unwrap();
        for token in [None, Some("not-a-token"), Some("")] {
            let (status, body) = app.call(method.clone(), path, token, Some("{}")).await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} with {token:?}"
            );
            assert_eq!(body["error"]["code"], "unauthorized");
            assert_eq!(body["error"]["message"], "a valid bearer token is required");
        }
    }
}

#[tokio::test]
async fn every_guarded_endpoint_refuses_a_token_without_its_role() {
    let app = TestApp::start().await;
    let tokens = [
        ("ingest", INGEST),
        ("monitor", MONITOR),
        ("commander", COMMANDER),
        ("staff", STAFF),
        ("viewer", VIEWER),
    ];
    for (method, path, role) in GUARDED {
        let method: Method = method.parse().unwrap();
        for (holder, token) in tokens {
            let allowed = holder == *role
                || (*role == "viewer" && (holder == "commander" || holder == "staff"))
                || (*role == "staff" && holder == "commander");
            if allowed {
                continue;
            }
            let (status, body) = app
                .call(method.clone(), path, Some(token), Some("{}"))
                .await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path} as {holder}");
            assert_eq!(body["error"]["code"], "forbidden");
        }
    }
}

#[tokio::test]
async fn ingest_accepts_ndjson_and_names_each_rejected_line() {
    let app = TestApp::start().await;
    let body = [
        mention("m1", "hello there").to_string(),
        "{not json".to_string(),
        "".to_string(),
        json!({"id": "m3", "platform": "mastodon"}).to_string(),
        mention("m4", "all good").to_string(),
        mention("m5", "x")
            .to_string()
            .replace("acme-main", "someone-else"),
    ]
    .join("\n");
    let (status, report) = app
        .call(Method::POST, "/v1/mentions", Some(INGEST), Some(&body))
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["accepted"], 2);
    assert_eq!(report["duplicates"], 0);
    let rejected = report["rejected"].as_array().unwrap();
    let indices: Vec<u64> = rejected
        .iter()
        .map(|r| r["index"].as_u64().unwrap())
        .collect();
    assert_eq!(indices, [1, 2, 4], "{report}");
    assert!(
        rejected[0]["reason"].as_str().unwrap().contains("JSON"),
        "{report}"
    );
    assert!(
        rejected[1]["reason"]
            .as_str()
            .unwrap()
            .contains("missing field"),
        "{report}"
    );
    assert!(
        rejected[2]["reason"]
            .as_str()
            .unwrap()
            .contains("not a configured account"),
        "{report}"
    );
    // Durable before the answer: another connection to the store sees them.
    assert_eq!(app.stored_mentions().await, 2);
}

#[tokio::test]
async fn ingest_accepts_a_json_array_and_is_idempotent_on_platform_and_id() {
    let app = TestApp::start().await;
    let batch = json!([mention("a1", "one"), mention("a2", "two")]).to_string();
    let (status, report) = app
        .call(Method::POST, "/v1/mentions", Some(INGEST), Some(&batch))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (report["accepted"].as_u64(), report["duplicates"].as_u64()),
        (Some(2), Some(0))
    );
    let (_, again) = app
        .call(Method::POST, "/v1/mentions", Some(INGEST), Some(&batch))
        .await;
    assert_eq!(
        (again["accepted"].as_u64(), again["duplicates"].as_u64()),
        (Some(0), Some(2))
    );
    assert_eq!(app.stored_mentions().await, 2);
}

/// Batches that arrive together are committed together (group commit);
/// each request is still told about its own mentions, and a mention sent
/// in two concurrent requests is accepted once.
#[tokio::test]
async fn concurrent_batches_each_get_their_own_report_and_overlaps_count_once() {
    let app = std::sync::Arc::new(TestApp::start().await);
    // Request r holds 10 + r mentions, ids from r*5: each overlaps the
    // next, and no two requests are the same size.
    let requests = (0..8).map(|r| {
        let app = app.clone();
        tokio::spawn(async move {
            let batch = json!((r * 5..r * 6 + 10)
                .map(|i| mention(&format!("g{i}"), "the site is down"))
                .collect::<Vec<_>>())
            .to_string();
            app.call(Method::POST, "/v1/mentions", Some(INGEST), Some(&batch))
                .await
        })
    });
    let mut accepted = 0;
    for (r, request) in requests.collect::<Vec<_>>().into_iter().enumerate() {
        let (status, report) = request.await.unwrap();
        assert_eq!(status, StatusCode::OK, "{report}");
        let (a, d) = (
            report["accepted"].as_u64().unwrap(),
            report["duplicates"].as_u64().unwrap(),
        );
        assert_eq!(
            a + d,
            10 + r as u64,
            "request {r} is told about its own mentions: {report}"
        );
        accepted += a;
    }
    assert_eq!(
        accepted, 52,
        "ids g0..g51, each accepted by exactly one request"
    );
    assert_eq!(app.stored_mentions().await, 52);
}

#[tokio::test]
async fn ingest_refuses_malformed_and_oversized_bodies_with_stable_codes() {
    let app = TestApp::start().await;
    let cases: Vec<(String, StatusCode, &str)> = vec![
        (
            "[{\"id\": ".into(),
            StatusCode::BAD_REQUEST,
            "malformed_body",
        ),
        ("   \n\n".into(), StatusCode::BAD_REQUEST, "malformed_body"),
        (
            json!([{"id": 1}]).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "",
        ),
        (
            "x".repeat(70_000),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        (
            json!((0..101)
                .map(|i| mention(&format!("b{i}"), "x"))
                .collect::<Vec<_>>())
            .to_string(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
    ];
    for (body, status, code) in cases {
        let (got, answer) = app
            .call(Method::POST, "/v1/mentions", Some(INGEST), Some(&body))
            .await;
        assert_eq!(got, status, "{answer}");
        if !code.is_empty() {
            assert_eq!(answer["error"]["code"], code, "{answer}");
        }
    }
    assert_eq!(app.stored_mentions().await, 0);
}

#[tokio::test]
async fn five_complaints_open_an_incident_that_waits_for_a_commander() {
    let app = TestApp::start().await;
    app.ingest((0..5).map(|i| format!("d{i}")), "the site is down again")
        .await;
    let (status, list) = app
        .call(Method::GET, "/v1/incidents", Some(VIEWER), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["playbook"], "outage");
    assert_eq!(list[0]["trigger_kind"], "keyword");
    assert_eq!(list[0]["status"]["state"], "awaiting_approval");
}

#[tokio::test]
async fn a_commander_runs_an_incident_from_declaration_to_resolution() {
    let app = TestApp::start().await;
    let (status, inc) = app
        .call(
            Method::POST,
            "/v1/incidents",
            Some(COMMANDER),
            Some(r#"{"playbook": "outage", "note": "checkout is failing"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{inc}");
    let id = inc["id"].as_str().unwrap().to_string();
    assert_eq!(inc["state"], "open");
    assert_eq!(inc["trigger_kind"], "manual");
    assert_eq!(inc["status"]["state"], "awaiting_approval");
    assert!(
        inc["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "incident_opened" && e["actor"] == "ana"),
        "{inc}"
    );

    let path = |tail: &str| format!("/v1/incidents/{id}{tail}");
    let (status, inc) = app
        .call(Method::POST, &path("/ack"), Some(COMMANDER), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{inc}");
    assert_eq!(inc["state"], "acknowledged");

    let (status, inc) = app
        .call(
            Method::PUT,
            &path("/status"),
            Some(COMMANDER),
            Some(r#"{"text": "We know checkout fails. Fix under way."}"#),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{inc}");
    assert_eq!(
        inc["status"]["text"],
        "We know checkout fails. Fix under way."
    );

    let (status, inc) = app
        .call(
            Method::POST,
            &path("/status/approve"),
            Some(COMMANDER),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{inc}");
    assert_eq!(inc["status"]["state"], "posted");
    assert_eq!(inc["status"]["approved_by"], "ana");
    let actions = inc["actions"].as_array().unwrap();
    assert!(
        actions
            .iter()
            .filter(|a| a["kind"] == "post_status")
            .all(|a| a["state"] == "done"),
        "{inc}"
    );
    assert_eq!(
        actions
            .iter()
            .filter(|a| a["kind"] == "post_status")
            .count(),
        2
    );

    // Nothing is waiting any more: a second approval is refused with the reason.
    let (status, err) = app
        .call(
            Method::POST,
            &path("/status/approve"),
            Some(COMMANDER),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{err}");
    assert_eq!(err["error"]["code"], "rejected");

    let (status, inc) = app
        .call(
            Method::POST,
            &path("/state"),
            Some(COMMANDER),
            Some(r#"{"state": "mitigated"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{inc}");
    assert_eq!(inc["state"], "mitigated");

    let (status, inc) = app
        .call(
            Method::POST,
            &path("/resolve"),
            Some(COMMANDER),
            Some(r#"{"note": "fixed"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{inc}");
    assert_eq!(inc["state"], "resolved");
    assert!(inc["resolved_at"].is_string());
    let who: Vec<(&str, &str)> = inc["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["kind"].as_str().unwrap(), e["actor"].as_str().unwrap()))
        .collect();
    for kind in [
        "incident_state_changed",
        "status_edited",
        "status_approved",
        "incident_resolved",
    ] {
        assert!(who.contains(&(kind, "ana")), "{kind} by ana in {who:?}");
    }

    // A viewer reads it all, the resolved one only when asked.
    let (_, open) = app
        .call(Method::GET, "/v1/incidents", Some(VIEWER), None)
        .await;
    assert_eq!(open.as_array().unwrap().len(), 0);
    let (_, all) = app
        .call(Method::GET, "/v1/incidents?all=true", Some(VIEWER), None)
        .await;
    assert_eq!(all.as_array().unwrap().len(), 1);
    let (status, _) = app.call(Method::GET, &path(""), Some(STAFF), None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn commands_on_unknown_incidents_and_bad_bodies_are_refused() {
    let app = TestApp::start().await;
    let cases = [
        (
            Method::GET,
            "/v1/incidents/nope",
            None,
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            Method::POST,
            "/v1/incidents/nope/ack",
            None,
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            Method::POST,
            "/v1/incidents",
            Some("{"),
            StatusCode::BAD_REQUEST,
            "malformed_body",
        ),
        (
            Method::POST,
            "/v1/incidents",
            Some(r#"{"playbook": "no-such"}"#),
            StatusCode::CONFLICT,
            "rejected",
        ),
        (
            Method::GET,
            "/v1/nothing-here",
            None,
            StatusCode::NOT_FOUND,
            "not_found",
        ),
    ];
    for (method, path, body, status, code) in cases {
        let (got, answer) = app.call(method.clone(), path, Some(COMMANDER), body).await;
        assert_eq!(
            (got, answer["error"]["code"].as_str()),
            (status, Some(code)),
            "{method} {path}: {answer}"
        );
    }
    let (_, inc) = app
        .call(
            Method::POST,
            "/v1/incidents",
            Some(COMMANDER),
            Some(r#"{"playbook": "outage"}"#),
        )
        .await;
    let id = inc["id"].as_str().unwrap();
    for body in ["{}", r#"{"state": "sideways"}"#, "nope"] {
        let (got, answer) = app
            .call(
                Method::POST,
                &format!("/v1/incidents/{id}/state"),
                Some(COMMANDER),
                Some(body),
            )
            .await;
        assert_eq!(got, StatusCode::BAD_REQUEST, "{body}: {answer}");
    }
    let (got, answer) = app
        .call(
            Method::POST,
            &format!("/v1/incidents/{id}/state"),
            Some(COMMANDER),
            Some(r#"{"state": "open"}"#),
        )
        .await;
    assert_eq!(
        got,
        StatusCode::CONFLICT,
        "states only move forward: {answer}"
    );
    // The playbook's name where the incident's id belongs: still 404, and
    // the answer names the incident that was probably meant.
    let (got, answer) = app
        .call(
            Method::POST,
            "/v1/incidents/outage/resolve",
            Some(COMMANDER),
            None,
        )
        .await;
    assert_eq!(got, StatusCode::NOT_FOUND, "{answer}");
    assert_eq!(
        answer["error"]["message"],
        format!("incident outage not found; outage is a playbook; its open incident is {id}")
    );
}

/// A second commander, `bo`, who is not in the `commander` role of the
/// config (the role that approves the outage playbook's status).
const BO: &str = "bo-token";

fn with_bo(config: &mut squall::config::Config) {
    config.server.tokens.push(squall::config::ApiToken {
        name: "bo".into(),
        roles: vec![squall::config::ApiRole::Commander],
        secret: squall::config::TokenSecret::Sha256(squall::server::auth::sha256(BO.as_bytes())),
        actor: "bo".into(),
    });
}

#[tokio::test]
async fn the_posted_status_is_changed_only_by_its_approvers_and_never_after_resolution() {
    let app = TestApp::start_with(with_bo, std::time::Duration::ZERO).await;
    let (_, inc) = app
        .call(
            Method::POST,
            "/v1/incidents",
            Some(COMMANDER),
            Some(r#"{"playbook": "outage"}"#),
        )
        .await;
    let id = inc["id"].as_str().unwrap().to_string();
    let path = |tail: &str| format!("/v1/incidents/{id}{tail}");
    let put = |token: &'static str, text: &'static str| {
        let (app, path) = (&app, path("/status"));
        async move {
            app.call(
                Method::PUT,
                &path,
                Some(token),
                Some(&json!({ "text": text }).to_string()),
            )
            .await
        }
    };

    // Waiting text is anyone's draft: bo may edit it, but not approve it.
    let (status, answer) = put(BO, "We are looking into it.").await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (status, answer) = app
        .call(Method::POST, &path("/status/approve"), Some(BO), None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    let (status, answer) = app
        .call(
            Method::POST,
            &path("/status/approve"),
            Some(COMMANDER),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["status"]["text"], "We are looking into it.");

    // Out there, it stands for the approver's word.
    let (status, answer) = put(BO, "We were hacked").await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("bo cannot approve: only the commander role may (ana)"),
        "{answer}"
    );
    let (status, answer) = put(COMMANDER, "Checkout is back for most customers.").await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        answer["status"]["text"],
        "Checkout is back for most customers."
    );

    // A blank status would blank every pinned post: refused before the engine.
    for body in [r#"{"text": ""}"#, r#"{"text": "  \n "}"#] {
        let (status, answer) = app
            .call(Method::PUT, &path("/status"), Some(COMMANDER), Some(body))
            .await;
        assert_error(
            status,
            &answer,
            (StatusCode::BAD_REQUEST, "malformed_body"),
            body.to_string(),
        );
    }

    let (status, _) = app
        .call(
            Method::POST,
            &path("/resolve"),
            Some(COMMANDER),
            Some(r#"{"note": "fixed"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, answer) = put(COMMANDER, "Rewritten after the fact").await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("is resolved"),
        "{answer}"
    );

    // A refused second resolve leaves the note as it was.
    let (status, _) = app
        .call(
            Method::POST,
            &path("/resolve"),
            Some(COMMANDER),
            Some(r#"{"note": "rewritten"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let inc = app.incident(&id).await;
    assert_eq!(inc["note"], "fixed", "{inc}");
    let edits: Vec<&Value> = inc["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "edit_status")
        .collect();
    assert_eq!(
        edits.len(),
        2,
        "one edit per account, from ana's one change: {edits:#?}"
    );
}

#[tokio::test]
async fn a_blank_approved_text_unknown_fields_and_bad_bytes_are_refused_with_reasons() {
    let app = TestApp::start().await;
    let (_, inc) = app
        .call(
            Method::POST,
            "/v1/incidents",
            Some(COMMANDER),
            Some(r#"{"playbook": "outage"}"#),
        )
        .await;
    let id = inc["id"].as_str().unwrap().to_string();
    let cases: [(&str, String, &[u8]); 5] = [
        (
            "a blank text to approve",
            format!("/v1/incidents/{id}/status/approve"),
            br#"{"text": "   "}"#,
        ),
        (
            "a misspelt field",
            format!("/v1/incidents/{id}/resolve"),
            br#"{"notes": "root cause"}"#,
        ),
        (
            "a misspelt field",
            "/v1/incidents".into(),
            br#"{"playbook": "outage", "notee": "x"}"#,
        ),
        (
            "bad UTF-8 in an unknown field",
            "/v1/incidents".into(),
            b"{\"playbook\": \"nope\", \"x\": \"\xff\"}",
        ),
        (
            "data after the document",
            format!("/v1/incidents/{id}/resolve"),
            br#"{} {}"#,
        ),
    ];
    for (what, path, body) in cases {
        let (status, answer) = app
            .call_bytes(Method::POST, &path, Some(COMMANDER), body)
            .await;
        assert_error(
            status,
            &answer,
            (StatusCode::BAD_REQUEST, "malformed_body"),
            what.to_string(),
        );
    }
    let inc = app.incident(&id).await;
    assert_eq!(inc["state"], "open", "nothing was resolved: {inc}");
    assert_eq!(inc["status"]["state"], "awaiting_approval", "{inc}");
}

#[tokio::test]
async fn errors_from_before_a_handler_are_json_too_and_a_token_is_checked_before_the_query() {
    let app = TestApp::start().await;
    let (status, answer) = app
        .call(Method::GET, "/v1/incidents?all=yes", None, None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    for query in ["all=yes", "bogus=1"] {
        let (status, answer) = app
            .call(
                Method::GET,
                &format!("/v1/incidents?{query}"),
                Some(VIEWER),
                None,
            )
            .await;
        assert_error(
            status,
            &answer,
            (StatusCode::BAD_REQUEST, "invalid_query"),
            query.to_string(),
        );
    }
    let (status, answer) = app
        .call(Method::POST, "/v1/incidents/%ff/ack", Some(COMMANDER), None)
        .await;
    assert_error(
        status,
        &answer,
        (StatusCode::BAD_REQUEST, "invalid_request"),
        "a path that is not UTF-8".into(),
    );
    let (status, answer) = app
        .call(Method::DELETE, "/v1/incidents", Some(COMMANDER), None)
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{answer}");
    assert_eq!(answer["error"]["code"], "method_not_allowed", "{answer}");
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("DELETE") && message.contains("Allow"),
        "{message}"
    );
}

#[tokio::test]
async fn a_mention_dated_in_the_future_counts_when_it_arrived_and_hides_nobody() {
    let app = TestApp::start().await;
    let mut future = mention("from-2099", "the site is down");
    future["created_at"] = json!("2099-01-01T00:00:00Z");
    let (status, report) = app
        .call(
            Method::POST,
            "/v1/mentions",
            Some(INGEST),
            Some(&future.to_string()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["accepted"], 1, "accepted, not lost: {report}");
    // Four more, written now: five "down" mentions in ten minutes open the
    // outage. Counted at 2099, the first would have put every later one
    // outside the keyword window.
    app.ingest((1..=4).map(|i| format!("now-{i}")), "the site is down")
        .await;
    let (_, open) = app
        .call(Method::GET, "/v1/incidents", Some(VIEWER), None)
        .await;
    assert!(
        open.as_array()
            .unwrap()
            .iter()
            .any(|i| i["playbook"] == "outage"),
        "{open}"
    );
}

#[tokio::test]
async fn an_alertmanager_alert_opens_an_incident_once_and_its_resolution_resolves_it() {
    let app = TestApp::start().await;
    let firing = include_str!("data/alertmanager_firing.json");
    for _ in 0..3 {
        // Alertmanager repeats deliveries: the same alert is one incident.
        let (status, report) = app
            .call(
                Method::POST,
                "/v1/alerts/alertmanager",
                Some(MONITOR),
                Some(firing),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{report}");
    }
    let (_, list) = app
        .call(Method::GET, "/v1/incidents", Some(VIEWER), None)
        .await;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["trigger_kind"], "alert");
    let id = list[0]["id"].as_str().unwrap();
    let inc = app.incident(id).await;
    let opened = serve::count(&inc, "incident_opened");
    assert_eq!(opened, 1, "{inc}");

    let resolved = include_str!("data/alertmanager_resolved.json");
    let (status, report) = app
        .call(
            Method::POST,
            "/v1/alerts/alertmanager",
            Some(MONITOR),
            Some(resolved),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["incidents"], json!([id]));
    let inc = app.incident(id).await;
    assert_eq!(inc["state"], "resolved", "{inc}");
}

#[tokio::test]
async fn grafana_and_generic_webhooks_open_and_resolve_incidents() {
    for (path, firing, resolved) in [
        (
            "/v1/alerts/grafana",
            json!({"receiver": "squall", "status": "firing", "orgId": 1, "version": "1", "state": "alerting",
                   "alerts": [{"status": "firing", "labels": {"alertname": "SiteDown", "grafana_folder": "web"},
                               "annotations": {"summary": "down"}, "startsAt": "2026-11-24T10:00:00Z",
                               "endsAt": "0001-01-01T00:00:00Z", "fingerprint": "abc123", "values": {"B": 1}}]}),
            json!({"status": "resolved", "alerts": [{"status": "resolved", "labels": {"alertname": "SiteDown", "grafana_folder": "web"},
                   "startsAt": "2026-11-24T10:00:00Z", "endsAt": "2026-11-24T10:05:00Z", "fingerprint": "abc123"}]}),
        ),
        (
            "/v1/alerts/webhook",
            json!({"status": "firing", "labels": {"alertname": "SiteDown"}}),
            json!([{"status": "resolved", "labels": {"alertname": "SiteDown"}}]),
        ),
    ] {
        let app = TestApp::start().await;
        let (status, report) = app
            .call(Method::POST, path, Some(MONITOR), Some(&firing.to_string()))
            .await;
        assert_eq!(status, StatusCode::OK, "{path}: {report}");
        let id = report["incidents"][0]
            .as_str()
            .unwrap_or_else(|| panic!("{path}: {report}"))
            .to_string();
        let (status, report) = app
            .call(
                Method::POST,
                path,
                Some(MONITOR),
                Some(&resolved.to_string()),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{path}: {report}");
        let inc = app.incident(&id).await;
        assert_eq!(inc["state"], "resolved", "{path}: {inc}");
        let (status, err) = app
            .call(
                Method::POST,
                path,
                Some(MONITOR),
                Some(r#"{"alerts": [{"status": "burning"}]}"#),
            )
            .await;
        assert_eq!(
            (status, err["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("malformed_body")),
            "{path}"
        );
    }
}

#[tokio::test]
async fn metrics_count_ingest_incidents_and_request_latency() {
    let app = TestApp::start().await;
    let body = format!("{}\n{{bad", mention("q1", "hello"));
    app.call(Method::POST, "/v1/mentions", Some(INGEST), Some(&body))
        .await;
    app.call(
        Method::POST,
        "/v1/incidents",
        Some(COMMANDER),
        Some(r#"{"playbook": "outage"}"#),
    )
    .await;
    let text = app.text("/metrics").await;
    for needle in [
        "squall_mentions_ingested_total",
        "squall_mentions_rejected_total",
        "squall_incidents{state=\"open\"}",
        "squall_outbox_depth",
        "squall_ingest_step_seconds_bucket{step=\"journal\",le=\"0.005\"}",
        "squall_ingest_step_seconds_count{step=\"commit\"}",
        "squall_http_request_duration_seconds_bucket{method=\"POST\",route=\"/v1/mentions\",status=\"200\",le=\"0.005\"}",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
}

#[tokio::test]
async fn made_up_methods_cannot_grow_the_metrics() {
    let app = TestApp::start().await;
    for i in 0..20 {
        let method = Method::from_bytes(format!("XMADEUP{i}").as_bytes()).expect("a method token");
        app.call(method, "/healthz", None, None).await;
    }
    let text = app.text("/metrics").await;
    assert!(
        !text.contains("XMADEUP"),
        "a label per made-up method:\n{text}"
    );
    assert!(
        text.contains("method=\"other\",route=\"/healthz\""),
        "{text}"
    );
}

#[tokio::test]
async fn the_openapi_document_describes_every_route_with_its_security() {
    let app = TestApp::start().await;
    let (status, doc) = app.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            documented.push((method.to_uppercase(), path.clone()));
            let secured = op.get("security").is_some();
            assert_eq!(
                secured,
                path.starts_with("/v1/"),
                "{method} {path} security"
            );
            assert!(!op["responses"].as_object().unwrap().is_empty());
        }
    }
    documented.sort();
    let mut routes: Vec<(String, String)> = GUARDED
        .iter()
        .map(|(m, p, _)| (m.to_string(), p.replace("/x", "/{id}")))
        .chain(
            ["/healthz", "/readyz", "/metrics", "/openapi.json", "/v1/me"]
                .map(|p| ("GET".to_string(), p.to_string())),
        )
        .collect();
    routes.sort();
    routes.dedup();
    assert_eq!(documented, routes);
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert!(doc["components"]["schemas"]["Mention"].is_object());
}

#[tokio::test]
async fn live_events_stream_incidents_as_they_happen() {
    let app = TestApp::start().await;
    let server = app.listen().await;
    let client = reqwest::Client::new();
    let mut stream = client
        .get(format!("{server}/v1/events"))
        .bearer_auth(VIEWER)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    let declared = client
        .post(format!("{server}/v1/incidents"))
        .bearer_auth(COMMANDER)
        .json(&json!({"playbook": "outage"}))
        .send()
        .await
        .unwrap();
    assert_eq!(declared.status(), 201);
    let mut seen = String::new();
    let found = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while let Some(chunk) = stream.chunk().await.unwrap() {
            seen.push_str(&String::from_utf8_lossy(&chunk));
            if seen.contains("event: incident_opened")
                && seen.contains("event: status_awaiting_approval")
            {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(found, Ok(true), "stream so far:\n{seen}");
    let data = seen
        .lines()
        .find(|l| l.starts_with("data: ") && l.contains("incident_opened"))
        .unwrap();
    let event: Value = serde_json::from_str(&data["data: ".len()..]).unwrap();
    assert_eq!(event["actor"], "ana");
}

#[tokio::test]
async fn a_full_queue_answers_503_with_retry_after_and_accepts_nothing() {
    // One slot in front of the engine, and platforms that take 800 ms a call.
    let app = TestApp::start_with(
        |c| c.server.queue = 1,
        std::time::Duration::from_millis(800),
    )
    .await;
    let server = app.listen().await;
    let client = reqwest::Client::new();
    let (_, inc) = app
        .call(
            Method::POST,
            "/v1/incidents",
            Some(COMMANDER),
            Some(r#"{"playbook": "outage"}"#),
        )
        .await;
    let id = inc["id"].as_str().unwrap().to_string();
    // The approval keeps the engine busy posting on two slow platforms...
    let busy = tokio::spawn({
        let (client, server) = (client.clone(), server.clone());
        async move {
            client
                .post(format!("{server}/v1/incidents/{id}/status/approve"))
                .bearer_auth(COMMANDER)
                .send()
                .await
                .unwrap()
                .status()
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    // ...one batch waits in the only slot...
    let queued = tokio::spawn({
        let (client, server) = (client.clone(), server.clone());
        async move {
            client
                .post(format!("{server}/v1/mentions"))
                .bearer_auth(INGEST)
                .body(mention("waited", "hi").to_string())
                .send()
                .await
                .unwrap()
                .status()
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    // ...and the next is turned away at once.
    let refused = client
        .post(format!("{server}/v1/mentions"))
        .bearer_auth(INGEST)
        .body(mention("refused", "hi").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 503);
    assert_eq!(refused.headers()["retry-after"], "1");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "overloaded");
    assert_eq!(busy.await.unwrap(), 200);
    assert_eq!(queued.await.unwrap(), 200);
    assert_eq!(
        app.stored_mentions().await,
        1,
        "only the batch that was answered 200 is stored"
    );
}

#[tokio::test]
async fn a_restarted_server_rebuilds_open_incidents_from_its_journal() {
    let dir = tempfile::tempdir().unwrap();
    let first = TestApp::start_in(dir.path(), |_| {}, std::time::Duration::ZERO).await;
    let (_, inc) = first
        .call(
            Method::POST,
            "/v1/incidents",
            Some(COMMANDER),
            Some(r#"{"playbook": "outage"}"#),
        )
        .await;
    let id = inc["id"].as_str().unwrap().to_string();
    first
        .ingest((0..3).map(|i| format!("r{i}")), "down down")
        .await;
    first.stop().await;

    let second = TestApp::start_in(dir.path(), |_| {}, std::time::Duration::ZERO).await;
    assert_eq!(
        second.resumed.inputs, 4,
        "one command and three mentions replayed"
    );
    // The engine knows the incident again: its pending status can be approved.
    let (status, inc) = second
        .call(
            Method::POST,
            &format!("/v1/incidents/{id}/status/approve"),
            Some(COMMANDER),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{inc}");
    assert_eq!(inc["status"]["state"], "posted");
    // Two more complaints make five within ten minutes: the keyword trigger
    // counted the three from before the restart, and they join the same incident.
    second
        .ingest((3..5).map(|i| format!("r{i}")), "down down")
        .await;
    let (_, list) = second
        .call(Method::GET, "/v1/incidents?all=true", Some(VIEWER), None)
        .await;
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    let inc = second.incident(&id).await;
    let opened = serve::count(&inc, "incident_opened");
    assert_eq!(opened, 1, "the replay wrote no timeline twice: {inc}");
    assert_eq!(serve::count(&inc, "trigger_attached"), 1, "{inc}");
}

#[tokio::test]
async fn the_incident_client_declares_lists_shows_and_resolves_against_a_server() {
    use squall::client::{call, render, ClientError, Request, Target};
    let app = TestApp::start().await;
    let url = app.listen().await;
    let commander = Target {
        url: url.clone(),
        token: Some(COMMANDER.into()),
    };
    let declared = call(
        &commander,
        &Request::Declare {
            playbook: "outage".into(),
            note: Some("checkout failing".into()),
        },
    )
    .await
    .unwrap();
    let id = declared["id"].as_str().unwrap().to_string();
    let shown = render(&Request::Show { id: id.clone() }, &declared).unwrap();
    assert!(shown.contains("note: checkout failing"), "{shown}");
    assert!(
        shown.contains("incident_opened") && shown.contains("ana"),
        "{shown}"
    );

    let list = Request::List { all: false };
    let table = render(&list, &call(&commander, &list).await.unwrap()).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("ID") && lines[0].contains("STATUS POST"),
        "{table}"
    );
    assert!(
        lines[1].starts_with(&id) && lines[1].contains("awaiting_approval"),
        "{table}"
    );

    call(&commander, &Request::Ack { id: id.clone() })
        .await
        .unwrap();
    // The status text, from the terminal: edit it, then approve it.
    let edited = call(
        &commander,
        &Request::EditStatus {
            id: id.clone(),
            text: "Checkout fails for some cards. Fix under way.".into(),
        },
    )
    .await
    .unwrap();
    assert_eq!(edited["status"]["state"], "awaiting_approval");
    let approved = call(
        &commander,
        &Request::ApproveStatus {
            id: id.clone(),
            text: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(
        (
            approved["status"]["state"].as_str(),
            approved["status"]["text"].as_str()
        ),
        (
            Some("posted"),
            Some("Checkout fails for some cards. Fix under way.")
        )
    );
    let moved = call(
        &commander,
        &Request::State {
            id: id.clone(),
            state: "mitigated".into(),
        },
    )
    .await
    .unwrap();
    assert_eq!(moved["state"], "mitigated");

    let viewer = Target {
        url: url.clone(),
        token: Some(VIEWER.into()),
    };
    let resolve = Request::Resolve {
        id: id.clone(),
        note: None,
    };
    match call(&viewer, &resolve).await {
        Err(ClientError::Api { status, code, .. }) => {
            assert_eq!((status, code.as_str()), (403, "forbidden"))
        }
        other => panic!("a viewer resolved an incident: {other:?}"),
    }
    let resolved = call(&commander, &resolve).await.unwrap();
    assert_eq!(resolved["state"], "resolved");
    let table = render(&list, &call(&commander, &list).await.unwrap()).unwrap();
    assert_eq!(table, "No incidents.\n");

    // The binary: environment for URL and token, `--json` for scripts.
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_squall"))
            .args(["incident", "list", "--all", "--json"])
            .env("SQUALL_URL", &url)
            .env("SQUALL_TOKEN", VIEWER)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed[0]["id"], id.as_str());
}

#[tokio::test]
async fn a_timer_that_fired_before_a_restart_is_replayed_at_its_time_not_fired_again() {
    let dir = tempfile::tempdir().unwrap();
    let first = TestApp::start_in(dir.path(), |_| {}, std::time::Duration::ZERO).await;
    let (status, inc) = first
        .call(
            Method::POST,
            "/v1/incidents",
            Some(COMMANDER),
            Some(r#"{"playbook": "quick-status"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{inc}");
    let id = inc["id"].as_str().unwrap().to_string();
    // Nobody approves: after a second the engine task's clock posts it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while first.incident(&id).await["status"]["state"] != "posted" {
        assert!(
            std::time::Instant::now() < deadline,
            "the approval time-out never fired"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    first.stop().await;

    let second = TestApp::start_in(dir.path(), |_| {}, std::time::Duration::ZERO).await;
    assert_eq!(
        second.resumed.inputs, 2,
        "the declaration and the tick that posted"
    );
    assert_eq!(second.resumed.pending_actions, 0);
    // Let the restarted engine task run its first tick, then look again.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let inc = second.incident(&id).await;
    assert_eq!(inc["status"]["state"], "posted");
    assert_eq!(serve::count(&inc, "status_posted"), 1, "{inc}");
    assert_eq!(serve::count(&inc, "status_awaiting_approval"), 1, "{inc}");
}

#[tokio::test]
async fn a_playbook_maps_the_fields_of_any_json_webhook_to_an_alert() {
    let app = TestApp::start().await;
    let firing = json!({"state": "alerting", "rule": "CheckoutDown", "tags": {"service": "checkout"},
                        "message": "checkout 5xx above 20%", "event_id": "evt-42"});
    for _ in 0..2 {
        let (status, report) = app
            .call(
                Method::POST,
                "/v1/alerts/webhook",
                Some(MONITOR),
                Some(&firing.to_string()),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{report}");
    }
    let (_, list) = app
        .call(Method::GET, "/v1/incidents", Some(VIEWER), None)
        .await;
    let list = list.as_array().unwrap();
    assert_eq!(
        list.len(),
        1,
        "a repeated delivery is the same alert: {list:?}"
    );
    assert_eq!(list[0]["playbook"], "checkout-monitor");
    let id = list[0]["id"].as_str().unwrap().to_string();

    let ok = json!({"state": "ok", "rule": "CheckoutDown", "tags": {"service": "checkout"}, "event_id": "evt-42"});
    let (status, _) = app
        .call(
            Method::POST,
            "/v1/alerts/webhook",
            Some(MONITOR),
            Some(&ok.to_string()),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.incident(&id).await["state"], "resolved");

    let unknown = json!({"level": "warn", "what": "disk"});
    let (status, err) = app
        .call(
            Method::POST,
            "/v1/alerts/webhook",
            Some(MONITOR),
            Some(&unknown.to_string()),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert!(
        err["error"]["message"].as_str().unwrap().contains("map"),
        "{err}"
    );
}

/// acme-main with standing off-hours on a schedule that never opens: closed
/// from the first instant, its note pinned at once.
fn closed_desk(config: &mut squall::config::Config) {
    let raw: squall::config::schedule::RawSchedule =
        serde_yaml::from_str("timezone: Europe/Warsaw").unwrap();
    let schedule = squall::config::schedule::Schedule::build("closed", &raw).unwrap();
    config.schedules.insert("closed".into(), schedule);
    if let Some(main) = config.accounts.get_mut("acme-main") {
        main.off_hours = Some(squall::config::OffHours {
            schedule: "closed".into(),
            template: "autoreply/closed".into(),
            note: Some("autoreply/closed-note".into()),
            public_mentions: false,
        });
    }
}

#[tokio::test]
async fn off_hours_shows_each_account_closed_with_its_note_pinned_and_a_restart_pins_nothing_twice()
{
    let dir = tempfile::tempdir().unwrap();
    let first = TestApp::start_in(dir.path(), closed_desk, std::time::Duration::ZERO).await;
    let (status, body) = first
        .call(Method::GET, "/v1/off-hours", Some(VIEWER), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let accounts = body["accounts"].as_array().unwrap();
    assert_eq!(accounts.len(), 1, "{body}");
    let main = &accounts[0];
    assert_eq!(main["account"], "acme-main");
    assert_eq!(main["platform"], "mastodon");
    assert_eq!(main["schedule"], "closed");
    assert_eq!(main["open"], false);
    assert_eq!(main["pinned_note"], true);
    assert_eq!(main["override"], false);
    assert!(main["since"].is_string(), "{main}");
    assert!(main["next_open"].is_null(), "never opens: {main}");
    let (_, doc) = first.call(Method::GET, "/openapi.json", None, None).await;
    assert!(
        doc["paths"]["/v1/off-hours"]["get"].is_object(),
        "documented in the OpenAPI"
    );
    let metrics = first.text("/metrics").await;
    assert!(
        metrics.contains(r#"squall_off_hours_open{account="acme-main"} 0"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"squall_off_hours_note_pinned{account="acme-main"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains("squall_off_hours_switches_total{") && metrics.contains(r#"to="closed""#),
        "{metrics}"
    );
    first.stop().await;

    let second = TestApp::start_in(dir.path(), closed_desk, std::time::Duration::ZERO).await;
    let (_, body) = second
        .call(Method::GET, "/v1/off-hours", Some(VIEWER), None)
        .await;
    assert_eq!(body["accounts"][0]["pinned_note"], true, "{body}");
    assert_eq!(
        body["accounts"][0]["since"], main["since"],
        "the replay restores when it closed"
    );
    let store = second.open_store().await;
    let pins = store.active_pins().await.unwrap();
    let notes: Vec<_> = pins
        .iter()
        .filter(|p| p.purpose == squall::store::PinPurpose::OffHours)
        .collect();
    assert_eq!(notes.len(), 1, "{pins:#?}");
    let done = store
        .outbox_in_state(squall::store::OutboxState::Done)
        .await
        .unwrap();
    assert_eq!(
        done.iter().filter(|r| r.kind == "pin_note").count(),
        1,
        "the replayed closing enqueued its pin once"
    );
    store.close().await;
    second.stop().await;
}
