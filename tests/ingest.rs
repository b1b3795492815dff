//! Ingest connectors: platform notifications become mentions, read past a
//! cursor kept in the store, so that a restart at any point leaves no gap
//! and no duplicate. Against the local Mastodon and AT Protocol servers.

mod fake_platforms;

use fake_platforms::{bluesky, mastodon, Kind, Server};
use squall::adapters::ingest::Ingest;
use squall::config::PlatformKind;
use squall::store::Store;
use std::time::Duration;

const SECRET: &str = "s3cret-credential-value";

/// A connector as start-up builds it (a restart builds a new one).
fn connector(kind: Kind, server: &Server) -> Ingest {
    let yaml = format!(
        "accounts:\n{}",
        kind.account_yaml("acct", server, "ACCT_SECRET")
    );
    let env = |n: &str| (n == "ACCT_SECRET").then(|| SECRET.to_owned());
    let adapters =
        fake_platforms::connect(&fake_platforms::config(&yaml), &env, Duration::from_secs(5))
            .expect("connect");
    let platform = if kind == Kind::Mastodon {
        PlatformKind::Mastodon
    } else {
        PlatformKind::Bluesky
    };
    Ingest::new(adapters.sources["acct"].clone(), "acct", platform)
}

/// Polls and stores what is new, as the server loop does; returns the texts.
async fn poll_and_store(ingest: &Ingest, store: &Store) -> Vec<String> {
    let batch = ingest.poll(store).await.expect("poll");
    let now = chrono::Utc::now();
    store
        .insert_mentions(&batch.mentions, now)
        .await
        .expect("stored");
    ingest.commit(store, &batch, now).await.expect("commit");
    batch.mentions.iter().map(|m| m.text.clone()).collect()
}

/// Seeds `n` mentions and something that is not a mention after each.
fn seed(kind: Kind, server: &Server, from: usize, n: usize) {
    for i in from..from + n {
        match kind {
            Kind::Mastodon => {
                mastodon::notify(
                    &server.fake,
                    "mention",
                    &format!("cust{i}"),
                    &format!("<p>@acme down? &amp; {i}</p>"),
                );
                mastodon::notify(&server.fake, "favourite", &format!("fan{i}"), "<p>x</p>");
            }
            _ => {
                bluesky::notify(
                    &server.fake,
                    if i % 2 == 0 { "mention" } else { "reply" },
                    &format!("cust{i}"),
                    &format!("@acme down? & {i}"),
                );
                bluesky::notify(&server.fake, "like", &format!("fan{i}"), "x");
            }
        }
    }
}

fn expected(from: usize, n: usize) -> Vec<String> {
    (from..from + n)
        .map(|i| format!("@acme down? & {i}"))
        .collect()
}

#[tokio::test]
async fn mentions_are_read_oldest_first_across_pages_and_a_restart_leaves_no_gap_and_no_duplicate()
{
    for kind in [Kind::Mastodon, Kind::Bluesky] {
        let server = kind.start(SECRET).await;
        let store = Store::open("sqlite::memory:").await.expect("store");
        // More than one page of mentions (40 on Mastodon, 50 on Bluesky).
        seed(kind, &server, 0, 45);
        let first = connector(kind, &server);
        assert_eq!(
            poll_and_store(&first, &store).await,
            expected(0, 45),
            "{kind:?}"
        );
        assert!(
            poll_and_store(&first, &store).await.is_empty(),
            "{kind:?}: nothing new"
        );

        seed(kind, &server, 45, 3);
        // Read and stored, then the process dies before the cursor moves.
        let batch = first.poll(&store).await.expect("poll");
        store
            .insert_mentions(&batch.mentions[..2], chrono::Utc::now())
            .await
            .expect("stored");
        drop(first);

        let restarted = connector(kind, &server);
        assert_eq!(
            poll_and_store(&restarted, &store).await,
            expected(47, 1),
            "{kind:?}: only what was not stored"
        );
        assert!(
            poll_and_store(&restarted, &store).await.is_empty(),
            "{kind:?}"
        );
        seed(kind, &server, 48, 1);
        assert_eq!(
            poll_and_store(&restarted, &store).await,
            expected(48, 1),
            "{kind:?}"
        );
    }
}

#[tokio::test]
async fn a_mention_carries_its_author_language_and_thread() {
    let server = Kind::Mastodon.start(SECRET).await;
    let store = Store::open("sqlite::memory:").await.expect("store");
    let status = mastodon::notify(&server.fake, "mention", "ola", "<p>Is it down?</p>");
    let batch = connector(Kind::Mastodon, &server)
        .poll(&store)
        .await
        .expect("poll");
    let m = &batch.mentions[0];
    assert_eq!(
        (m.id.as_str(), m.platform.as_str(), m.account.as_str()),
        (status.as_str(), "mastodon", "acct")
    );
    assert_eq!(m.author.handle, "@ola@elsewhere.example");
    assert_eq!(m.author.name.as_deref(), Some("OLA"));
    assert_eq!(m.lang.as_deref(), Some("en"));

    let server = Kind::Bluesky.start(SECRET).await;
    let uri = bluesky::notify(&server.fake, "mention", "ola", "Is it down?");
    let batch = connector(Kind::Bluesky, &server)
        .poll(&store)
        .await
        .expect("poll");
    let m = &batch.mentions[0];
    assert_eq!(
        (m.id.as_str(), m.platform.as_str(), m.author.id.as_str()),
        (uri.as_str(), "bluesky", "did:plc:ola")
    );
    assert_eq!(m.author.handle, "@ola.bsky.example");
}

#[tokio::test]
async fn a_platform_failure_moves_nothing() {
    let server = Kind::Mastodon.start(SECRET).await;
    let store = Store::open("sqlite::memory:").await.expect("store");
    seed(Kind::Mastodon, &server, 0, 2);
    let ingest = connector(Kind::Mastodon, &server);
    server
        .fake
        .fail_next("/notifications", Kind::Mastodon.unavailable());
    assert!(ingest.poll(&store).await.is_err());
    assert_eq!(poll_and_store(&ingest, &store).await, expected(0, 2));
}
