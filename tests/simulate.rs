//! `squall simulate` on the shipped example day: golden timeline, byte-for-byte
//! determinism, and the summary a comms team reads.

use squall::simulate::{self, Options, Summary};
use std::path::Path;
use std::sync::Arc;

async fn replay(json: bool) -> (String, Summary) {
    let loaded = squall::setup::load(Some(Path::new("examples/squall.yaml")), &[]);
    assert!(
        !squall::diagnostics::has_errors(&loaded.diagnostics),
        "{:#?}",
        loaded.diagnostics
    );
    let config = loaded.config.expect("config");
    let accounts = config.accounts.keys().cloned().collect();
    let inputs = simulate::read_inputs(
        Path::new("examples/mentions.ndjson"),
        Some(Path::new("examples/alerts.ndjson")),
        &accounts,
    )
    .expect("inputs");
    let opts = Options {
        json,
        explain: false,
        tail: std::time::Duration::from_secs(2 * 3600),
        pre_pinned: true,
        progress: false,
    };
    let mut out = Vec::new();
    let summary = simulate::run(
        Arc::new(config),
        loaded.playbooks,
        Arc::new(loaded.templates),
        inputs,
        &opts,
        &mut out,
    )
    .await
    .expect("replay");
    (String::from_utf8(out).expect("utf-8"), summary)
}

/// Per-customer events (one line per draft, auto-reply, page) are counted
/// rather than listed, so the golden file shows the incidents' story.
fn story(timeline: &str) -> String {
    let per_customer = ["draft_", "auto_reply_", "notified", "mention_skipped"];
    let mut counts = std::collections::BTreeMap::new();
    let mut lines = Vec::new();
    for line in timeline.lines() {
        let kind = line.split_whitespace().nth(2).unwrap_or("");
        if per_customer.iter().any(|p| kind.starts_with(p)) {
            *counts.entry(kind.to_string()).or_insert(0) += 1;
        } else {
            lines.push(line.to_string());
        }
    }
    lines.push(String::new());
    lines.push("Per-customer events:".into());
    lines.extend(counts.iter().map(|(k, n)| format!("  {k}: {n}")));
    lines.join("\n") + "\n"
}

#[tokio::test]
async fn the_example_day_tells_the_expected_story() {
    let (timeline, _) = replay(false).await;
    insta::assert_snapshot!("example_day", story(&timeline));
}

#[tokio::test]
async fn two_replays_print_identical_bytes() {
    let (a, _) = replay(true).await;
    let (b, _) = replay(true).await;
    assert_eq!(a, b);
}

#[tokio::test]
async fn every_json_line_has_a_time_and_a_kind() {
    let (out, _) = replay(true).await;
    let mut kinds = std::collections::BTreeSet::new();
    for line in out.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("a JSON object per line");
        let at = v["at"].as_str().expect("at");
        assert!(chrono::DateTime::parse_from_rfc3339(at).is_ok(), "{at}");
        kinds.insert(v["kind"].as_str().expect("kind").to_string());
    }
    for k in [
        "surge_detected",
        "incident_opened",
        "status_posted",
        "pinned",
        "unpinned",
        "pin_restored",
        "autoresponder_enabled",
        "autoresponder_disabled",
        "draft_created",
        "draft_assigned",
        "incident_resolved",
        "summary",
    ] {
        assert!(kinds.contains(k), "no {k} in {kinds:?}");
    }
}

#[tokio::test]
async fn the_summary_counts_what_happened() {
    let (_, s) = replay(false).await;
    assert_eq!(s.incidents_opened, 5, "{s:?}");
    assert_eq!(s.incidents_resolved, 5);
    assert_eq!(
        s.pins_restored, 2,
        "Bluesky's own pin came back after each incident that displaced it"
    );
    assert!(s.drafts > 100 && s.drafts_sent == 2, "{s:?}");
    assert!(s.longest_wait_secs > 0);
}

#[tokio::test]
async fn a_breach_rumour_of_four_posts_does_not_open_an_incident() {
    let (timeline, _) = replay(false).await;
    assert!(
        !timeline.contains("breach-rumour-"),
        "don't panic: a handful of posts is not a crisis"
    );
}
