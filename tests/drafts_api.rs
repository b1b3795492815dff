//! The reply queue over HTTP: drafts listed in the order customers wrote,
//! claimed, edited, approved (and sent through the simulated platform),
//! discarded with a reason; who is on duty with what load; and what the API
//! answers to bad requests. The real router over the real engine task and a
//! SQLite file, on the test brand in `tests/data/serve` (playbook `replies`,
//! team `support`: sam speaks English, kim English and Polish, two drafts
//! each).

mod serve;

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use serve::{TestApp, COMMANDER, INGEST, STAFF, VIEWER};

const KIM: &str = "kim-token";

/// A mention to the main account by `author`, written `ago` seconds ago.
fn mention(id: &str, author: &str, followers: u64, ago: i64, lang: &str, text: &str) -> Value {
    json!({
        "id": id, "platform": "mastodon", "account": "acme-main",
        "author": {"id": author, "handle": format!("@{author}@example.social"),
                   "name": format!("{} Example", author.to_uppercase()), "followers": followers},
        "text": text, "lang": lang,
        "created_at": chrono::Utc::now() - chrono::Duration::seconds(ago),
    })
}

async fn ingest(app: &TestApp, ms: &[Value]) {
    let body: Vec<String> = ms.iter().map(Value::to_string).collect();
    let (status, report) = app
        .call(
            Method::POST,
            "/v1/mentions",
            Some(INGEST),
            Some(&body.join("\n")),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
}

async fn get(app: &TestApp, path: &str, token: &str) -> Value {
    let (status, v) = app.call(Method::GET, path, Some(token), None).await;
    assert_eq!(status, StatusCode::OK, "{path}: {v}");
    v
}

fn ids(page: &Value) -> Vec<i64> {
    page["drafts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_i64().unwrap())
        .collect()
}

fn by_author<'a>(page: &'a Value, author: &str) -> &'a Value {
    page["drafts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["author"]["id"] == author)
        .unwrap_or_else(|| panic!("no draft for {author} in {page}"))
}

/// Declares the `replies` incident and sends five customers' mentions.
async fn queue_of_five() -> (TestApp, String) {
    five_customers(TestApp::start().await).await
}

/// Declares the `replies` incident on `app` and sends five customers' mentions.
async fn five_customers(app: TestApp) -> (TestApp, String) {
    let (status, inc) = app
        .call(
            Method::POST,
            "/v1/incidents",
            Some(COMMANDER),
            Some(r#"{"playbook": "replies"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{inc}");
    let id = inc["id"].as_str().unwrap().to_string();
    ingest(
        &app,
        &[
            // The famous author wrote last but one; the small one first.
            mention("m1", "star", 1_000_000, 60, "en", "is the app broken?"),
            mention("m2", "small", 10, 300, "en", "app broken for me too"),
            mention(
                "m3",
                "leak",
                50,
                240,
                "en",
                "cannot log in, my email is jan.kowalski@example.com",
            ),
            mention("m4", "pol", 5, 180, "pl", "aplikacja nie działa"),
            mention("m5", "late", 7, 30, "en", "still nothing"),
        ],
    )
    .await;
    (app, id)
}

#[tokio::test]
async fn the_queue_follows_when_customers_wrote_never_their_follower_count() {
    let (app, incident) = queue_of_five().await;
    let page = get(&app, "/v1/drafts", STAFF).await;
    assert_eq!(page["total"], 5, "{page}");
    let authors: Vec<&str> = page["drafts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["author"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(authors, ["small", "leak", "pol", "star", "late"]);
    let star = by_author(&page, "star");
    assert_eq!(star["author"]["followers"], 1_000_000);
    assert!(
        star["flags"]
            .as_array()
            .unwrap()
            .contains(&json!("influential")),
        "{star}"
    );
    assert_eq!(star["incident"], incident.as_str());
    assert_eq!(star["platform"], "mastodon");
    assert_eq!(star["account"], "acme-main");
    assert_eq!(star["state"], "pending");
    assert_eq!(star["mentions"], 1);
    assert!(star["waiting_seconds"].as_i64().unwrap() >= 59, "{star}");
    assert!(star["text"].as_str().unwrap().contains("STAR"), "{star}");
    assert!(star["sla_deadline"].is_string());
    assert!(star["discard_reason"].is_null());
}

#[tokio::test]
async fn personal_data_turns_the_reply_private_and_never_reaches_the_queue() {
    let (app, _) = queue_of_five().await;
    let page = get(&app, "/v1/drafts?state=all", VIEWER).await;
    let leak = by_author(&page, "leak");
    assert_eq!(leak["private"], true, "{leak}");
    assert!(leak["flags"]
        .as_array()
        .unwrap()
        .contains(&json!("private_data")));
    assert!(
        leak["mention_text"].as_str().unwrap().contains("[email]"),
        "{leak}"
    );
    assert!(
        !page.to_string().contains("jan.kowalski"),
        "personal data in the API: {page}"
    );
    assert_eq!(by_author(&page, "small")["private"], false);
}

#[tokio::test]
async fn drafts_go_to_speakers_of_the_language_within_capacity_and_the_rest_wait() {
    let (app, _) = queue_of_five().await;
    let page = get(&app, "/v1/drafts", STAFF).await;
    assert_eq!(by_author(&page, "pol")["assignee"], "kim", "{page}");
    let held = |who: &str| {
        page["drafts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["assignee"] == who)
            .count()
    };
    assert_eq!(
        (held("sam"), held("kim")),
        (2, 2),
        "capacity 2 each: {page}"
    );
    // The last to write waits, unassigned.
    let waiting = get(&app, "/v1/drafts?assignee=none", STAFF).await;
    assert_eq!(waiting["total"], 1, "{waiting}");
    assert_eq!(waiting["drafts"][0]["author"]["id"], "late");
    let mine = get(&app, "/v1/drafts?assignee=me", STAFF).await;
    assert_eq!(mine["total"], 2);
    assert!(mine["drafts"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["assignee"] == "sam"));

    let staff = get(&app, "/v1/staff", VIEWER).await;
    let row = |id: &str| {
        staff["staff"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .cloned()
            .unwrap()
    };
    let kim = row("kim");
    assert_eq!(kim["load"], 2);
    assert_eq!(kim["capacity"], 2);
    assert_eq!(kim["on_duty"], true);
    assert_eq!(kim["languages"], json!(["en", "pl"]));
    assert_eq!(kim["sla_breaches"], 0);
    assert_eq!(row("ana")["load"], 0);
}

#[tokio::test]
async fn a_follow_up_updates_the_pending_draft_instead_of_making_a_second() {
    let (app, _) = queue_of_five().await;
    ingest(
        &app,
        &[mention("m6", "small", 10, 10, "en", "hello? anyone there?")],
    )
    .await;
    let page = get(&app, "/v1/drafts", STAFF).await;
    assert_eq!(page["total"], 5, "{page}");
    let small = by_author(&page, "small");
    assert_eq!(small["mentions"], 2);
    assert_eq!(
        ids(&page)[0],
        small["id"].as_i64().unwrap(),
        "keeps its place"
    );
    assert!(small["mention_text"]
        .as_str()
        .unwrap()
        .contains("anyone there"));
}

#[tokio::test]
async fn staff_claim_edit_approve_and_discard_and_the_timeline_says_who() {
    let (app, incident) = queue_of_five().await;
    let page = get(&app, "/v1/drafts", STAFF).await;
    let late = by_author(&page, "late")["id"].as_i64().unwrap();
    let small = by_author(&page, "small")["id"].as_i64().unwrap();
    let star = by_author(&page, "star")["id"].as_i64().unwrap();
    let path = |id: i64, tail: &str| format!("/v1/drafts/{id}{tail}");

    // Claim the waiting draft; a second claimer is refused with the holder.
    let (status, d) = app
        .call(Method::POST, &path(late, "/claim"), Some(KIM), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{d}");
    assert_eq!(d["assignee"], "kim");
    let (status, err) = app
        .call(Method::POST, &path(late, "/claim"), Some(STAFF), None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{err}");
    assert!(
        err["error"]["message"].as_str().unwrap().contains("kim"),
        "{err}"
    );

    // Edit, then approve: sent through the platform, threaded, by kim.
    let (status, d) = app
        .call(
            Method::PUT,
            &path(late, ""),
            Some(KIM),
            Some(r#"{"text": "Sorry for the wait: we are on it. Updates on our status page."}"#),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{d}");
    assert_eq!(
        d["text"],
        "Sorry for the wait: we are on it. Updates on our status page."
    );
    let (status, d) = app
        .call(Method::POST, &path(late, "/approve"), Some(KIM), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{d}");
    assert_eq!(d["state"], "sent", "{d}");
    assert_eq!(d["approved_by"], "kim");
    let (status, err) = app
        .call(Method::POST, &path(late, "/approve"), Some(KIM), None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{err}");

    // Discard needs a reason.
    let (status, err) = app
        .call(
            Method::POST,
            &path(small, "/discard"),
            Some(STAFF),
            Some(r#"{"reason": "  "}"#),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    let (status, d) = app
        .call(
            Method::POST,
            &path(small, "/discard"),
            Some(STAFF),
            Some(r#"{"reason": "answered by phone"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{d}");
    assert_eq!(d["state"], "discarded");
    assert_eq!(d["discard_reason"], "answered by phone");

    // A commander may answer too.
    let (status, d) = app
        .call(Method::POST, &path(star, "/approve"), Some(COMMANDER), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{d}");
    assert_eq!(d["approved_by"], "ana");

    let inc = app.incident(&incident).await;
    let who: Vec<(String, String)> = inc["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_string(),
                e["actor"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for (kind, actor) in [
        ("draft_assigned", "kim"),
        ("draft_updated", "kim"),
        ("draft_approved", "kim"),
        ("draft_sent", "kim"),
        ("draft_discarded", "sam"),
        ("draft_approved", "ana"),
    ] {
        assert!(
            who.contains(&(kind.to_string(), actor.to_string())),
            "{kind} by {actor} in {who:?}"
        );
    }
    let replies = inc["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "send_reply" && a["state"] == "done")
        .count();
    assert_eq!(replies, 2, "{inc}");
    let sent = get(&app, "/v1/drafts?state=sent", VIEWER).await;
    assert_eq!(sent["total"], 2);
    let discarded = get(&app, "/v1/drafts?state=discarded", VIEWER).await;
    assert_eq!(ids(&discarded), [small]);
}

#[tokio::test]
async fn a_claimed_draft_is_worked_by_its_holder_or_a_commander_only() {
    let (app, _) = queue_of_five().await;
    let page = get(&app, "/v1/drafts", STAFF).await;
    let late = by_author(&page, "late")["id"].as_i64().unwrap();
    let path = |tail: &str| format!("/v1/drafts/{late}{tail}");
    let (status, d) = app
        .call(Method::POST, &path("/claim"), Some(KIM), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{d}");

    // sam cannot rewrite, send or drop what kim is writing.
    for (method, tail, body) in [
        (Method::PUT, "", Some(r#"{"text": "Overwritten."}"#)),
        (Method::POST, "/approve", None),
        (Method::POST, "/discard", Some(r#"{"reason": "mine now"}"#)),
    ] {
        let (status, err) = app
            .call(method.clone(), &path(tail), Some(STAFF), body)
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{method} {tail}: {err}");
        assert!(
            err["error"]["message"]
                .as_str()
                .unwrap()
                .contains("claimed by kim"),
            "{err}"
        );
    }
    let d = get(&app, &path(""), VIEWER).await;
    assert_eq!(
        (d["state"].as_str(), d["assignee"].as_str()),
        (Some("pending"), Some("kim")),
        "{d}"
    );
    assert_ne!(d["text"], "Overwritten.");

    // A commander may still clear it (the holder may have gone home).
    let (status, d) = app
        .call(Method::POST, &path("/approve"), Some(COMMANDER), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{d}");
    assert_eq!(d["approved_by"], "ana");
}

#[tokio::test]
async fn pages_follow_the_cursor_without_gaps_or_repeats() {
    let (app, incident) = queue_of_five().await;
    let all = ids(&get(&app, "/v1/drafts", STAFF).await);
    let mut seen = Vec::new();
    let mut path = format!("/v1/drafts?limit=2&incident={incident}");
    loop {
        let page = get(&app, &path, STAFF).await;
        assert_eq!(page["total"], 5);
        seen.extend(ids(&page));
        match page["next"].as_str() {
            Some(next) => path = format!("/v1/drafts?limit=2&after={next}"),
            None => break,
        }
    }
    assert_eq!(seen, all);
    let other = get(&app, "/v1/drafts?incident=nope", STAFF).await;
    assert_eq!(other["total"], 0);
}

#[tokio::test]
async fn bad_requests_are_refused_with_a_reason() {
    let (app, _) = queue_of_five().await;
    for (path, needle) in [
        ("/v1/drafts?state=open", "state must be"),
        ("/v1/drafts?limit=0", "limit"),
        ("/v1/drafts?limit=many", "limit"),
        ("/v1/drafts?after=yesterday", "cursor"),
        ("/v1/drafts?colour=red", "colour"),
    ] {
        let (status, err) = app.call(Method::GET, path, Some(STAFF), None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {err}");
        assert_eq!(err["error"]["code"], "invalid_query", "{path}");
        assert!(
            err["error"]["message"].as_str().unwrap().contains(needle),
            "{path}: {err}"
        );
    }
    for path in ["/v1/drafts/999", "/v1/drafts/abc", "/v1/drafts/0"] {
        let (status, _) = app.call(Method::GET, path, Some(STAFF), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    let (status, _) = app
        .call(Method::POST, "/v1/drafts/999/claim", Some(STAFF), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, err) = app
        .call(Method::PUT, "/v1/drafts/1", Some(STAFF), Some("{not json"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert_eq!(err["error"]["code"], "malformed_body");
    let (status, _) = app
        .call(Method::POST, "/v1/drafts/1/approve", Some(VIEWER), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "viewers read, never answer");
}

#[tokio::test]
async fn the_drafts_client_lists_claims_edits_and_approves_against_a_server() {
    use squall::client::{call, render, ClientError, Request, Target};
    let (app, _) = queue_of_five().await;
    let url = app.listen().await;
    let kim = Target {
        url,
        token: Some(KIM.into()),
    };
    let list = Request::Drafts {
        state: "pending".into(),
        assignee: Some("none".into()),
        incident: None,
        limit: 10,
        after: None,
    };
    let table = render(&list, &call(&kim, &list).await.unwrap()).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("ID") && lines[0].contains("ASSIGNEE"),
        "{table}"
    );
    assert!(lines[1].contains("@late@example.social"), "{table}");
    assert_eq!(lines[2], "1 of 1", "{table}");
    let id: i64 = lines[1].split_whitespace().next().unwrap().parse().unwrap();

    let claimed = call(&kim, &Request::Claim { id }).await.unwrap();
    assert_eq!(claimed["assignee"], "kim");
    let edited = Request::Edit {
        id,
        text: "We are on it, thank you for waiting.".into(),
    };
    let shown = render(&edited, &call(&kim, &edited).await.unwrap()).unwrap();
    assert!(
        shown.contains("public reply: We are on it, thank you for waiting."),
        "{shown}"
    );
    let sent = call(&kim, &Request::Approve { id, text: None })
        .await
        .unwrap();
    assert_eq!(sent["state"], "sent");
    match call(
        &kim,
        &Request::Discard {
            id,
            reason: "too late".into(),
        },
    )
    .await
    {
        Err(ClientError::Api { status, code, .. }) => {
            assert_eq!((status, code.as_str()), (409, "rejected"));
        }
        other => panic!("a sent draft cannot be discarded: {other:?}"),
    }
}

#[tokio::test]
async fn the_report_counts_drafts_response_times_and_customers_answered() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::start_in(dir.path(), |_| {}, std::time::Duration::ZERO).await;
    let (app, incident) = five_customers(app).await;
    let page = get(&app, "/v1/drafts", STAFF).await;
    let id = |author: &str| by_author(&page, author)["id"].as_i64().unwrap();
    for (author, token) in [("small", STAFF), ("pol", KIM)] {
        let (status, d) = app
            .call(
                Method::POST,
                &format!("/v1/drafts/{}/approve", id(author)),
                Some(token),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{d}");
    }
    let (status, _) = app
        .call(
            Method::POST,
            &format!("/v1/drafts/{}/discard", id("star")),
            Some(STAFF),
            Some(r#"{"reason": "a <b>bot</b> after all"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let db = app.db_path().to_path_buf();
    app.stop().await;

    let run = |format: &str| {
        let out = assert_cmd::Command::cargo_bin("squall")
            .unwrap()
            .args(["report", &incident, "--format", format])
            .args(["--config", "tests/data/serve/squall.yaml"])
            .env("SQUALL_STORE", format!("sqlite://{}", db.display()))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let r: Value = serde_json::from_str(&run("json")).unwrap();
    assert_eq!(r["incident"], incident.as_str());
    assert_eq!(r["mentions"], 5);
    assert_eq!(
        r["drafts"],
        json!({"created": 5, "pending": 2, "approved": 0, "sent": 2, "discarded": 1})
    );
    assert_eq!(r["customers_answered"], 2);
    // small wrote 300 s before, pol 180 s before the test approved them.
    let p = &r["first_response"];
    assert!(p["max"].as_i64().unwrap() >= 300, "{p}");
    assert!(p["p50"].as_i64().unwrap() >= 180, "{p}");
    assert_eq!(r["sla_breaches"], 0);
    assert!(r["cost_saved"].is_null(), "no report: in this playbook");
    let total: u64 = r["volume"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["mentions"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 5);

    let md = run("md");
    assert!(
        md.contains("Drafts: 5 created, 2 sent, 1 discarded"),
        "{md}"
    );
    assert!(md.contains("## Timeline"), "{md}");
    let html = run("html");
    assert!(html.contains("&lt;b&gt;bot&lt;/b&gt;"), "{html}");
    assert!(!html.contains("<b>bot</b>"), "{html}");
}
