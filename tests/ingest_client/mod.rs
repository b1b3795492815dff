//! Feeding mentions to a running `squall serve` over HTTP, as the crash and
//! cluster tests do: every mention is a complaint from its own author on
//! the test brand's Mastodon account, and a batch counts as accepted only
//! if squall answered 200 (a server killed mid-request accepted nothing
//! the client can rely on).

use serde_json::json;

/// The test configs' token with the `ingest` role.
pub const INGEST: &str = "ingest-token";

/// One mention with id `id`, from author `u-{id}`.
pub fn mention(id: &str, text: &str) -> String {
    json!({
        "id": id, "platform": "mastodon", "account": "acme-main",
        "author": {"id": format!("u-{id}"), "handle": format!("@{id}@example.social")},
        "text": text, "lang": "en", "created_at": chrono::Utc::now(),
    })
    .to_string()
}

/// Posts the mentions as one NDJSON batch; the ids squall acknowledged.
pub async fn ingest(http: &reqwest::Client, url: &str, ids: &[String], text: &str) -> Vec<String> {
    let body: Vec<String> = ids.iter().map(|id| mention(id, text)).collect();
    match http
        .post(format!("{url}/v1/mentions"))
        .bearer_auth(INGEST)
        .body(body.join("\n"))
        .send()
        .await
    {
        Ok(r) if r.status() == 200 => ids.to_vec(),
        _ => Vec::new(),
    }
}
