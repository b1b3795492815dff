//! What the dashboard reads beyond the incident API: its own files (served
//! from the binary with a strict policy), who the caller is, the surge
//! triggers' rate, the status text per account and the pins per incident.
//! The dashboard in a browser is `tests/dashboard.rs`.

mod serve;

use axum::http::{Method, StatusCode};
use serde_json::Value;
use serve::{TestApp, COMMANDER, STAFF, VIEWER};

#[tokio::test]
async fn the_dashboard_comes_from_the_binary_with_a_strict_policy_and_revalidation() {
    let app = TestApp::start().await;
    let url = app.listen().await;
    let http = reqwest::Client::new();
    for (path, kind) in [
        ("/", "text/html"),
        ("/ui/app.js", "text/javascript"),
        ("/ui/style.css", "text/css"),
    ] {
        let r = http.get(format!("{url}{path}")).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let h = r.headers();
        let header = |k: &str| {
            h.get(k)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        assert!(
            header("content-type").starts_with(kind),
            "{path}: {}",
            header("content-type")
        );
        let csp = header("content-security-policy");
        assert!(
            csp.contains("script-src 'self'") && csp.contains("default-src 'none'"),
            "{csp}"
        );
        assert!(!csp.contains("unsafe"), "{csp}");
        assert_eq!(header("x-content-type-options"), "nosniff");
        assert_eq!(header("cache-control"), "no-cache");
        let etag = header("etag");
        assert!(!etag.is_empty(), "{path} has an ETag");
        let again = http
            .get(format!("{url}{path}"))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{path} unchanged");
    }
    let missing = http.get(format!("{url}/ui/nope.js")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    let page = http
        .get(format!("{url}/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(r#"<script type="module" src="/ui/app.js">"#),
        "{page}"
    );
    assert!(!page.contains("<script>"), "no inline script");
}

#[tokio::test]
async fn me_names_the_caller_and_every_role_its_token_holds() {
    let app = TestApp::start().await;
    let (status, me) = app.call(Method::GET, "/v1/me", Some(COMMANDER), None).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["actor"], "ana");
    assert_eq!(me["name"], "Ana Nowak");
    assert_eq!(me["roles"], serde_json::json!(["commander"]));
    let (_, staff) = app.call(Method::GET, "/v1/me", Some(STAFF), None).await;
    assert_eq!(staff["roles"], serde_json::json!(["staff"]));
    for token in [None, Some("nope")] {
        let (status, body) = app.call(Method::GET, "/v1/me", token, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    }
}

#[tokio::test]
async fn triggers_lists_each_surge_trigger_with_its_bucket_and_window() {
    let app = TestApp::start().await;
    let (status, body) = app
        .call(Method::GET, "/v1/triggers", Some(VIEWER), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let triggers = body["triggers"].as_array().unwrap();
    assert_eq!(triggers.len(), 1, "only surge triggers have a rate: {body}");
    let t = &triggers[0];
    assert_eq!(t["playbook"], "surge-watch");
    assert_eq!(t["trigger"], "surge");
    assert_eq!(t["bucket_seconds"], 60);
    assert_eq!(t["window_seconds"], 300);
    assert!(t["points"].is_array());
}

async fn declared(app: &TestApp) -> String {
    let (status, inc) = app
        .call(
            Method::POST,
            "/v1/incidents",
            Some(COMMANDER),
            Some(r#"{"playbook": "outage"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{inc}");
    inc["id"].as_str().unwrap().to_string()
}

/// A commander's POST with no body, which must succeed.
async fn command(app: &TestApp, path: &str) {
    let (status, body) = app.call(Method::POST, path, Some(COMMANDER), None).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
}

#[tokio::test]
async fn the_status_text_is_previewed_per_account_before_approval() {
    let app = TestApp::start().await;
    let id = declared(&app).await;
    let path = format!("/v1/incidents/{id}/status/previews");
    let (status, body) = app.call(Method::GET, &path, Some(VIEWER), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let inc = app.incident(&id).await;
    let previews = body["previews"].as_array().unwrap();
    let accounts: Vec<&str> = previews
        .iter()
        .map(|p| p["account"].as_str().unwrap())
        .collect();
    assert_eq!(accounts, ["acme-main", "acme-bsky"]);
    for p in previews {
        assert_eq!(p["language"], "en");
        assert_eq!(p["text"], inc["status"]["text"], "{p}");
    }
    let (status, _) = app
        .call(
            Method::GET,
            "/v1/incidents/nope/status/previews",
            Some(VIEWER),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_incident_shows_its_pins_per_account_until_they_are_taken_down() {
    let app = TestApp::start().await;
    let id = declared(&app).await;
    assert_eq!(app.incident(&id).await["pins"], serde_json::json!([]));
    command(&app, &format!("/v1/incidents/{id}/status/approve")).await;
    let pins = |inc: &Value| -> Vec<(String, String)> {
        inc["pins"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["account"].as_str().unwrap().into(),
                    p["state"].as_str().unwrap().into(),
                )
            })
            .collect()
    };
    let inc = app.incident(&id).await;
    let mut now = pins(&inc);
    now.sort();
    assert_eq!(
        now,
        [
            ("acme-bsky".into(), "pinned".into()),
            ("acme-main".into(), "pinned".into())
        ],
        "{inc:#}"
    );
    command(&app, &format!("/v1/incidents/{id}/resolve")).await;
    let inc = app.incident(&id).await;
    assert!(pins(&inc).iter().all(|(_, s)| s != "pinned"), "{inc:#}");
}
