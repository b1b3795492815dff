//! `squall serve --live`: the real adapters behind the service. Start-up
//! names every missing credential and starts nothing; mentions are read
//! from a Mastodon account past a stored cursor, once each, across a
//! restart. Against the local Mastodon API server in `fake_platforms`.

mod fake_platforms;

use fake_platforms::{mastodon, Kind, Server};
use squall::server::{build, ServeError, ServeOptions, Service};
use squall::store::Store;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

const SECRET: &str = "live-test-credential-value";

async fn service(yaml: &str, db: &Path) -> Result<Service, ServeError> {
    let loaded = squall::setup::load(Some(Path::new("tests/data/serve/squall.yaml")), &[]);
    let mut config = fake_platforms::config(yaml);
    config.store_url = format!("sqlite://{}?mode=rwc", db.display());
    let opts = ServeOptions {
        live: true,
        poll_every: Duration::from_millis(50),
        ..ServeOptions::default()
    };
    build(
        Arc::new(config),
        Vec::new(),
        Arc::new(loaded.templates),
        &opts,
    )
    .await
}

/// Waits until the store holds `n` mentions (at most ten seconds).
async fn wait_for_mentions(db: &Path, n: i64) -> i64 {
    let store = Store::open(&format!("sqlite://{}", db.display()))
        .await
        .expect("store");
    let mut count = 0;
    for _ in 0..200 {
        count = store.count_mentions().await.expect("count");
        if count >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    count
}

fn seed(server: &Server, from: usize, n: usize) {
    for i in from..from + n {
        mastodon::notify(
            &server.fake,
            "mention",
            &format!("cust{i}"),
            &format!("<p>@acme is the site down? {i}</p>"),
        );
    }
}

#[tokio::test]
async fn live_start_up_names_every_missing_credential_and_never_its_value() {
    let dir = tempfile::tempdir().expect("dir");
    let yaml = "accounts:\n  \
        a: {platform: mastodon, handle: \"@a@m.example\", base_url: \"http://127.0.0.1:9\", credentials: {token: SQUALL_LIVE_TEST_UNSET_A}}\n  \
        b: {platform: bluesky, handle: b.example, base_url: \"http://127.0.0.1:9\", credentials: {password: SQUALL_LIVE_TEST_UNSET_B}}\n";
    let Err(e) = service(yaml, &dir.path().join("s.db")).await else {
        panic!("started without credentials");
    };
    let text = e.to_string();
    assert!(
        matches!(e, ServeError::Connect(ref all) if all.len() == 2),
        "{text}"
    );
    assert!(
        text.contains("SQUALL_LIVE_TEST_UNSET_A") && text.contains("account `a`"),
        "{text}"
    );
    assert!(
        text.contains("SQUALL_LIVE_TEST_UNSET_B") && text.contains("account `b`"),
        "{text}"
    );
}

#[tokio::test]
async fn live_mentions_are_read_from_mastodon_once_each_across_a_restart() {
    let server = Kind::Mastodon.start(SECRET).await;
    // The only test in this binary that sets an environment variable.
    std::env::set_var("SQUALL_LIVE_TEST_TOKEN", SECRET);
    let yaml = format!(
        "accounts:\n{}",
        Kind::Mastodon.account_yaml("acme-main", &server, "SQUALL_LIVE_TEST_TOKEN")
    );
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("squall.db");

    seed(&server, 0, 3);
    let first = service(&yaml, &db).await.expect("service starts");
    assert_eq!(wait_for_mentions(&db, 3).await, 3);
    first.shutdown().await;

    // While squall is down, two more arrive; after the restart exactly
    // those two are read, and nothing twice.
    seed(&server, 3, 2);
    let second = service(&yaml, &db).await.expect("service restarts");
    assert_eq!(wait_for_mentions(&db, 5).await, 5);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        wait_for_mentions(&db, 5).await,
        5,
        "no mention stored twice"
    );
    second.shutdown().await;
}
