//! Runs the Bluesky adapter against a real AT Protocol PDS and checks what
//! it wrote by reading the records back: the manual counterpart of the
//! contract suite's fake PDS, for a PDS started by hand (see the
//! `@atproto/pds` recipe; it is not part of `cargo test`).
//!
//! ```sh
//! # an account on the PDS: com.atproto.server.createAccount (handle, email, password)
//! SQUALL_PDS_PASSWORD=... cargo run --example bluesky_pds_check -- http://127.0.0.1:2583 opsdesk.test
//! ```
//!
//! Exits non-zero on the first thing that is not as the adapter promises.

use squall::adapters::{self, AdapterError};
use std::sync::Arc;
use std::time::Duration;

fn check(what: &str, ok: bool, detail: impl std::fmt::Debug) {
    println!("{} {what}: {detail:?}", if ok { "ok  " } else { "FAIL" });
    if !ok {
        std::process::exit(1);
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(url), Some(handle)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: bluesky_pds_check PDS_URL HANDLE  (password in SQUALL_PDS_PASSWORD)");
        std::process::exit(2);
    };
    let yaml = format!(
        "accounts:\n  b: {{platform: bluesky, handle: {handle}, base_url: \"{url}\", language: en, credentials: {{password: SQUALL_PDS_PASSWORD}}}}\n"
    );
    let (cfg, diags) = squall::config::parse(&yaml, std::path::Path::new("squall.yaml"), &|_| None);
    assert!(!squall::diagnostics::has_errors(&diags), "{diags:#?}");
    let world = adapters::sim::SimWorld::default();
    let connected = adapters::connect(
        &cfg.expect("config"),
        &squall::config::process_env,
        &[],
        Arc::new(adapters::sim::SimNotifier(world.clone())),
        Duration::from_secs(10),
        &world,
    );
    let adapters = match connected {
        Ok(a) => a,
        Err(errors) => {
            for e in errors {
                eprintln!("{e}");
            }
            std::process::exit(2);
        }
    };
    let b = adapters.platforms["b"].clone();
    let key = format!("check-{}", chrono::Utc::now().timestamp_millis());
    let text = "Outage: see https://status.acme.example/1 #incident";
    let post = b.post(text, &key).await;
    check("post", post.is_ok(), &post);
    let post = post.expect("checked");
    let again = b.post(text, &key).await;
    check(
        "same key, same post",
        again.as_ref().ok() == Some(&post),
        &again,
    );
    check("pin", b.pin(&post).await.is_ok(), ());
    check("pin again", b.pin(&post).await.is_ok(), ());
    let pinned = b.pinned().await;
    check(
        "pinned is ours",
        pinned.as_ref().ok() == Some(&vec![post.clone()]),
        &pinned,
    );
    let reply = b
        .reply(&post.id, "We are on it.", &format!("{key}-reply"))
        .await;
    check("reply", reply.is_ok(), &reply);
    check("unpin", b.unpin(&post).await.is_ok(), ());
    check("unpin again", b.unpin(&post).await.is_ok(), ());
    let pinned = b.pinned().await;
    check(
        "nothing pinned",
        pinned.as_ref().is_ok_and(Vec::is_empty),
        &pinned,
    );
    let long = b.post(&"a".repeat(301), &format!("{key}-long")).await;
    check(
        "301 graphemes refused",
        matches!(&long, Err(AdapterError::Rejected(m)) if m.contains("grapheme too big")),
        &long,
    );
}
