//! The adapter contract: every real adapter, built from config by
//! `adapters::connect`, against a local server that answers like its
//! platform's published API (`tests/fake_platforms/`). One helper runs each
//! clause for every platform; what a platform cannot do must answer
//! `Unsupported`, never pretend. Platform-specific failure modes follow:
//! Mastodon's 422 at the sixth pin, Bluesky's `InvalidSwap` and
//! `ExpiredToken`, 429s in each platform's spelling, 5xx, time-outs.

mod fake_platforms;

use fake_platforms::{bluesky, FaultKind, Kind, Server, ALL};
use squall::adapters::sim::{SimNotifier, SimWorld};
use squall::adapters::{self, AdapterError, ConnectError, Platform, PostRef};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

const SECRET: &str = "s3cret-credential-value";

struct Account {
    kind: Kind,
    server: Server,
    platform: Arc<dyn Platform>,
}

impl Account {
    fn caps(&self) -> adapters::Capabilities {
        self.platform.capabilities()
    }
    fn posts_by_api(&self) -> Vec<fake_platforms::Post> {
        self.server
            .fake
            .world()
            .posts
            .iter()
            .filter(|p| p.by_api)
            .cloned()
            .collect()
    }
}

/// Builds the adapters exactly as start-up does: config text, environment.
fn connect(
    yaml: &str,
    env: &dyn Fn(&str) -> Option<String>,
    timeout: Duration,
) -> Result<adapters::Adapters, Vec<ConnectError>> {
    fake_platforms::connect(&fake_platforms::config(yaml), env, timeout)
}

async fn account_with(kind: Kind, secret: &str, timeout: Duration) -> Account {
    let server = kind.start(SECRET).await;
    let yaml = format!(
        "accounts:\n{}",
        kind.account_yaml("acct", &server, "ACCT_SECRET")
    );
    let secret = secret.to_owned();
    let env = move |name: &str| (name == "ACCT_SECRET").then(|| secret.clone());
    let adapters = connect(&yaml, &env, timeout).unwrap_or_else(|e| panic!("{kind:?}: {e:?}"));
    let platform = adapters.platforms["acct"].clone();
    Account {
        kind,
        server,
        platform,
    }
}

async fn account(kind: Kind) -> Account {
    account_with(kind, SECRET, Duration::from_secs(5)).await
}

/// Runs `clause` for every platform, each against its own fresh server.
async fn for_every_platform<F, Fut>(clause: F)
where
    F: Fn(Account) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for kind in ALL {
        clause(account(kind).await).await;
    }
}

fn ids(posts: &[PostRef]) -> Vec<String> {
    posts.iter().map(|p| p.id.clone()).collect()
}

#[tokio::test]
async fn a_post_is_made_once_per_idempotency_key() {
    for_every_platform(|a| async move {
        let first = a
            .platform
            .post("We are looking into it.", "inc-1/status/acct/post")
            .await;
        let first = first.unwrap_or_else(|e| panic!("{:?}: {e}", a.kind));
        let again = a
            .platform
            .post("We are looking into it.", "inc-1/status/acct/post")
            .await;
        assert_eq!(again.as_ref().map(|p| &p.id), Ok(&first.id), "{:?}", a.kind);
        let posts = a.posts_by_api();
        assert_eq!(posts.len(), 1, "{:?}: {posts:?}", a.kind);
        assert_eq!(posts[0].text, "We are looking into it.", "{:?}", a.kind);
    })
    .await;
}

#[tokio::test]
async fn pins_are_listed_oldest_first_and_pin_and_unpin_can_be_repeated() {
    for_every_platform(|a| async move {
        let post = a.platform.post("Status", "k").await.expect("post");
        if !a.caps().can_pin() {
            assert_eq!(
                a.platform.pin(&post).await,
                Err(AdapterError::Unsupported("pinning")),
                "{:?}",
                a.kind
            );
            assert_eq!(a.platform.pinned().await, Ok(Vec::new()), "{:?}", a.kind);
            return;
        }
        let seeded = a
            .kind
            .seed(&a.server.fake, "Welcome! Our FAQ.", true)
            .expect("seed");
        a.platform
            .pin(&post)
            .await
            .unwrap_or_else(|e| panic!("{:?}: {e}", a.kind));
        a.platform
            .pin(&post)
            .await
            .unwrap_or_else(|e| panic!("{:?} second pin: {e}", a.kind));
        let pinned = ids(&a.platform.pinned().await.expect("pinned"));
        let expected = match a.kind {
            // One pinnedPost: pinning replaces.
            Kind::Bluesky => vec![post.id.clone()],
            // getChat shows only the latest pinned message.
            Kind::Telegram => vec![post.id.clone()],
            _ => vec![seeded.clone(), post.id.clone()],
        };
        assert_eq!(pinned, expected, "{:?}", a.kind);
        a.platform
            .unpin(&post)
            .await
            .unwrap_or_else(|e| panic!("{:?}: {e}", a.kind));
        a.platform
            .unpin(&post)
            .await
            .unwrap_or_else(|e| panic!("{:?} second unpin: {e}", a.kind));
        let world_pins = a.server.fake.world().pins.clone();
        let expected = if a.kind == Kind::Bluesky {
            vec![]
        } else {
            vec![seeded]
        };
        assert_eq!(world_pins, expected, "{:?}", a.kind);
    })
    .await;
}

impl Account {
    /// Where the platform can do `what`, the call's success; elsewhere it
    /// must have answered `Unsupported(what)` (and `None` is returned).
    fn capable<T: std::fmt::Debug + PartialEq>(
        &self,
        can: bool,
        what: &'static str,
        got: Result<T, AdapterError>,
    ) -> Option<T> {
        if can {
            Some(got.unwrap_or_else(|e| panic!("{:?}: {e}", self.kind)))
        } else {
            assert_eq!(got, Err(AdapterError::Unsupported(what)), "{:?}", self.kind);
            None
        }
    }

    /// The stored post `id`, which the platform must have.
    fn stored(&self, id: &str) -> fake_platforms::Post {
        let w = self.server.fake.world();
        w.post(id)
            .cloned()
            .unwrap_or_else(|| panic!("{:?}: {id} not stored", self.kind))
    }
}

#[tokio::test]
async fn an_edit_replaces_the_text_where_the_platform_can_edit_and_is_unsupported_elsewhere() {
    for_every_platform(|a| async move {
        let post = a.platform.post("Investigating.", "k").await.expect("post");
        let edited = a
            .platform
            .edit(&post, "Identified: a database failover.")
            .await;
        if a.capable(a.caps().can_edit, "editing posts", edited)
            .is_some()
        {
            assert_eq!(
                a.stored(&post.id).text,
                "Identified: a database failover.",
                "{:?}",
                a.kind
            );
        }
    })
    .await;
}

#[tokio::test]
async fn a_reply_is_threaded_under_the_post_it_answers() {
    for_every_platform(|a| async move {
        let parent = match a.kind {
            Kind::Bluesky => bluesky::seed_foreign(
                &a.server.fake,
                "did:plc:customer",
                "Is the site down?",
                None,
            ),
            _ => a
                .platform
                .post("Parent", "parent")
                .await
                .map_or_else(|_| "1".into(), |p| p.id),
        };
        let reply = a
            .platform
            .reply(&parent, "Yes, we are on it.", "reply-1")
            .await;
        if let Some(reply) = a.capable(a.caps().can_reply, "replies", reply) {
            assert_eq!(
                a.stored(&reply.id).reply_to.as_deref(),
                Some(parent.as_str()),
                "{:?}",
                a.kind
            );
        }
    })
    .await;
}

#[tokio::test]
async fn private_messages_go_only_where_the_platform_has_them() {
    for_every_platform(|a| async move {
        let sent = a
            .platform
            .direct_message("4242", "Please send us your order number.", "dm-1")
            .await;
        let Some(sent) = a.capable(a.caps().can_message_privately, "private messages", sent) else {
            return;
        };
        let made = a.stored(&sent.id);
        assert!(
            made.private_to
                .as_deref()
                .is_some_and(|to| to.contains("4242")),
            "{:?}: {made:?}",
            a.kind
        );
        if a.kind == Kind::Mastodon {
            assert_eq!(made.raw["visibility"], "direct");
            assert!(
                made.text.starts_with("@user4242@elsewhere.example "),
                "{}",
                made.text
            );
        }
    })
    .await;
}

#[tokio::test]
async fn a_429_is_a_rate_limit_with_the_wait_the_platform_asked_for() {
    for_every_platform(|a| async move {
        a.server
            .fake
            .fail_next("", a.kind.rate_limited(&a.server.fake, 42));
        match a.platform.post("Status", "k").await {
            Err(AdapterError::RateLimited { retry_after_secs }) => {
                assert!(
                    (41..=42).contains(&retry_after_secs),
                    "{:?}: {retry_after_secs}",
                    a.kind
                )
            }
            other => panic!("{:?}: {other:?}", a.kind),
        }
    })
    .await;
}

#[tokio::test]
async fn a_spent_budget_holds_calls_back_until_the_reset_where_the_platform_announces_one() {
    for_every_platform(|a| async move {
        a.server
            .fake
            .fail_next("", a.kind.rate_limited(&a.server.fake, 42));
        let _ = a.platform.post("Status", "k").await;
        let before = a.server.fake.calls().len();
        let second = a.platform.post("Status", "k").await;
        let sent = a.server.fake.calls().len() - before;
        match a.kind {
            // Budget headers: the adapter waits without calling.
            Kind::Mastodon | Kind::Bluesky | Kind::Discord | Kind::X => {
                assert!(
                    matches!(second, Err(AdapterError::RateLimited { .. })),
                    "{:?}: {second:?}",
                    a.kind
                );
                assert_eq!(sent, 0, "{:?} called a platform that said to wait", a.kind);
            }
            // Only the 429 itself says to wait: the outbox's retry time does.
            _ => assert!(second.is_ok(), "{:?}: {second:?}", a.kind),
        }
    })
    .await;
}

#[tokio::test]
async fn a_server_error_is_temporary() {
    for_every_platform(|a| async move {
        a.server.fake.fail_next("", a.kind.unavailable());
        let got = a.platform.post("Status", "k").await;
        assert!(
            matches!(&got, Err(AdapterError::Transient(m)) if m.contains("503")),
            "{:?}: {got:?}",
            a.kind
        );
        assert!(
            a.platform.post("Status", "k").await.is_ok(),
            "{:?} recovers",
            a.kind
        );
    })
    .await;
}

#[tokio::test]
async fn a_platform_that_does_not_answer_in_time_is_a_temporary_failure() {
    for kind in ALL {
        let a = account_with(kind, SECRET, Duration::from_millis(300)).await;
        a.server
            .fake
            .fail_next("", FaultKind::Delay(Duration::from_secs(3)));
        let got = a.platform.post("Status", "k").await;
        assert!(
            matches!(&got, Err(AdapterError::Transient(m)) if m.contains("timed out")),
            "{kind:?}: {got:?}"
        );
    }
}

#[tokio::test]
async fn refused_credentials_are_unauthorized_and_never_echoed() {
    for kind in ALL {
        let a = account_with(kind, "wrong-credential-value", Duration::from_secs(5)).await;
        let got = a.platform.post("Status", "k").await;
        assert!(
            matches!(got, Err(AdapterError::Unauthorized(_))),
            "{kind:?}: {got:?}"
        );
        let text = format!(
            "{got:?} {}",
            got.as_ref()
                .err()
                .map(ToString::to_string)
                .unwrap_or_default()
        );
        assert!(
            !text.contains("wrong-credential-value") && !text.contains(SECRET),
            "{kind:?}: {text}"
        );
        assert!(a.posts_by_api().is_empty());
    }
}

#[tokio::test]
async fn a_transport_failure_never_shows_a_token_carried_in_the_url() {
    // Telegram puts the bot token in the URL path; nothing listens here.
    let yaml = "accounts:\n  tg: {platform: telegram, handle: \"@acme_status\", base_url: \"http://127.0.0.1:9\", credentials: {token: TG}}\n";
    let env = |n: &str| (n == "TG").then(|| "123456:SECRET-BOT-TOKEN".to_owned());
    let adapters = connect(yaml, &env, Duration::from_millis(500)).expect("connect");
    let got = adapters.platforms["tg"].post("Status", "k").await;
    let text = format!("{got:?}");
    assert!(matches!(got, Err(AdapterError::Transient(_))), "{text}");
    assert!(!text.contains("SECRET-BOT-TOKEN"), "{text}");
}

#[tokio::test]
async fn mastodon_refuses_a_sixth_pin_with_422() {
    let a = account(Kind::Mastodon).await;
    let seeded: Vec<String> = (0..5)
        .map(|i| fake_platforms::mastodon::seed(&a.server.fake, &format!("pin {i}"), true))
        .collect();
    assert_eq!(
        ids(&a.platform.pinned().await.expect("pinned")),
        seeded,
        "oldest first"
    );
    let post = a.platform.post("Status", "k").await.expect("post");
    let got = a.platform.pin(&post).await;
    assert!(
        matches!(&got, Err(AdapterError::Rejected(m)) if m.contains("422") && m.contains("maximum")),
        "{got:?}"
    );
    assert!(!got.clone().unwrap_err().is_retryable());
}

#[tokio::test]
async fn bluesky_pins_by_rewriting_the_whole_profile_and_starts_again_on_invalid_swap() {
    let a = account(Kind::Bluesky).await;
    let post = a.platform.post("Status", "k").await.expect("post");
    a.server.fake.world().profile_races = 1;
    a.platform
        .pin(&post)
        .await
        .expect("pinned after one InvalidSwap");
    let w = a.server.fake.world();
    let profile = w.profile.clone().expect("profile");
    assert_eq!(profile["pinnedPost"]["uri"], post.id.as_str());
    assert!(profile["pinnedPost"]["cid"]
        .as_str()
        .is_some_and(|c| c.starts_with("bafy")));
    assert_eq!(
        profile["description"], "Edited by a person just now",
        "the person's edit survives"
    );
    assert_eq!(profile["displayName"], "Acme");
    assert_eq!(
        profile["avatar"]["ref"]["$link"], "bafkreiavatar",
        "fields squall does not know survive"
    );
    let puts = a
        .server
        .fake
        .calls()
        .iter()
        .filter(|c| c.ends_with("putRecord"))
        .count();
    assert_eq!(puts, 2);
}

#[tokio::test]
async fn bluesky_gives_up_for_now_when_the_profile_keeps_changing() {
    let a = account(Kind::Bluesky).await;
    let post = a.platform.post("Status", "k").await.expect("post");
    a.server.fake.world().profile_races = 100;
    let got = a.platform.pin(&post).await;
    assert!(
        matches!(&got, Err(AdapterError::Transient(m)) if m.contains("InvalidSwap")),
        "{got:?}"
    );
}

#[tokio::test]
async fn bluesky_refreshes_an_expired_session_and_starts_a_new_one_when_the_refresh_token_is_gone_too(
) {
    let a = account(Kind::Bluesky).await;
    a.platform.post("one", "k1").await.expect("post");
    bluesky::expire_access(&a.server.fake);
    a.platform
        .post("two", "k2")
        .await
        .expect("post after ExpiredToken");
    {
        let w = a.server.fake.world();
        assert_eq!((w.sessions_created, w.refreshes), (1, 1));
    }
    bluesky::expire_access(&a.server.fake);
    bluesky::expire_refresh(&a.server.fake);
    a.platform
        .post("three", "k3")
        .await
        .expect("post after both expired");
    let w = a.server.fake.world();
    assert_eq!((w.sessions_created, w.refreshes), (2, 1));
    assert_eq!(w.posts.iter().filter(|p| p.by_api).count(), 3);
}

#[tokio::test]
async fn bluesky_posts_carry_facets_languages_and_reply_refs_to_the_thread_root() {
    let server = Kind::Bluesky.start(SECRET).await;
    let yaml = format!(
        "accounts:\n  b: {{platform: bluesky, handle: {}, base_url: \"{}\", language: pl, credentials: {{password: PW}}}}\n",
        bluesky::HANDLE,
        server.url
    );
    let env = |n: &str| (n == "PW").then(|| SECRET.to_owned());
    let b = connect(&yaml, &env, Duration::from_secs(5))
        .expect("connect")
        .platforms["b"]
        .clone();
    let text = "Awaria: https://status.acme.example/1. Pytania: @help.acme.example #awaria";
    let post = b.post(text, "k").await.expect("post");
    let root = bluesky::seed_foreign(&server.fake, "did:plc:customer", "Is it down?", None);
    let root_ref = serde_json::json!({"uri": root, "cid": format!("bafyreipost{}", root.rsplit('/').next().unwrap_or_default())});
    let parent = bluesky::seed_foreign(
        &server.fake,
        "did:plc:other",
        "Me too",
        Some(serde_json::json!({"root": root_ref, "parent": root_ref})),
    );
    let reply = b.reply(&parent, "We are on it.", "r").await.expect("reply");
    let w = server.fake.world();
    let record = &w.post(&post.id).expect("stored").raw;
    assert_eq!(record["langs"], serde_json::json!(["pl"]));
    let facets = record["facets"].as_array().expect("facets");
    let spans: Vec<(&str, &str)> = facets
        .iter()
        .map(|f| {
            let (s, e) = (
                f["index"]["byteStart"].as_u64().unwrap_or(0) as usize,
                f["index"]["byteEnd"].as_u64().unwrap_or(0) as usize,
            );
            (
                &text[s..e],
                f["features"][0]["$type"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        spans,
        [
            (
                "https://status.acme.example/1",
                "app.bsky.richtext.facet#link"
            ),
            ("@help.acme.example", "app.bsky.richtext.facet#mention"),
            ("#awaria", "app.bsky.richtext.facet#tag"),
        ]
    );
    assert_eq!(
        facets[1]["features"][0]["did"],
        "did:plc:helpdesk0000000000000000"
    );
    let r = &w.post(&reply.id).expect("reply stored").raw;
    assert_eq!(
        r["reply"]["root"]["uri"],
        root.as_str(),
        "the thread's root, not the parent"
    );
    assert_eq!(r["reply"]["parent"]["uri"], parent.as_str());
    assert!(r["reply"]["parent"]["cid"]
        .as_str()
        .is_some_and(|c| c.starts_with("bafy")));
}

#[tokio::test]
async fn bluesky_refuses_a_post_over_300_graphemes() {
    let a = account(Kind::Bluesky).await;
    let got = a.platform.post(&"ą".repeat(301), "k").await;
    assert!(
        matches!(&got, Err(AdapterError::Rejected(m)) if m.contains("InvalidRequest") && m.contains("grapheme too big")),
        "{got:?}"
    );
}

#[tokio::test]
async fn a_status_page_call_is_signed_and_so_is_a_playbook_webhook() {
    let a = account(Kind::Statuspage).await;
    a.platform
        .post("Investigating.", "inc/status/page/post")
        .await
        .expect("signed post accepted");
    {
        let w = a.server.fake.world();
        assert_eq!(w.hooks[0].0["event"], "status.posted");
        assert!(w.hooks[0]
            .1
            .as_deref()
            .is_some_and(|s| s.starts_with("sha256=")));
    }
    let world = SimWorld::default();
    let (cfg, _) = squall::config::parse("", Path::new("squall.yaml"), &|_| None);
    let cfg = cfg.expect("config");
    let env = |n: &str| (n == "HOOK_SECRET").then(|| SECRET.to_owned());
    let adapters = adapters::connect(
        &cfg,
        &env,
        &["HOOK_SECRET".into()],
        Arc::new(SimNotifier(world.clone())),
        Duration::from_secs(5),
        &world,
    )
    .expect("connect");
    let url = format!("{}/hooks/cachet", a.server.url);
    adapters
        .webhooks
        .post(
            &url,
            r#"{"id": "w1", "text": "Degraded"}"#,
            Some("HOOK_SECRET"),
            "inc/webhook",
        )
        .await
        .expect("accepted");
    let unsigned = adapters
        .webhooks
        .post(&url, r#"{"id": "w2"}"#, None, "inc/webhook2")
        .await;
    assert!(
        matches!(unsigned, Err(AdapterError::Unauthorized(_))),
        "{unsigned:?}"
    );
}

#[tokio::test]
async fn start_up_names_every_missing_variable_and_credential() {
    let yaml = "accounts:\n  a: {platform: mastodon, handle: \"@acme@mastodon.example\", credentials: {token: ACME_MASTODON_TOKEN}}\n  b: {platform: bluesky, handle: acme.bsky.social}\n  c: {platform: telegram, handle: \"@acme\", credentials: {token: TG_TOKEN}}\n";
    let env = |n: &str| (n == "TG_TOKEN").then(|| "123:abc".to_owned());
    let errors = connect(yaml, &env, Duration::from_secs(1))
        .err()
        .expect("errors");
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "environment variable ACME_MASTODON_TOKEN is not set (credential `token` of account `a`)",
            "account `b` (bluesky) has no `password` credential: add `credentials: {password: SOME_VARIABLE}` to it and set SOME_VARIABLE in the environment",
        ]
    );
}

/// The fakes answer with the fields real servers send (captured from a real
/// PDS and a Mastodon API server in `tests/data/`).
#[tokio::test]
async fn the_fakes_answer_with_the_fields_of_captured_real_answers() {
    fn keys(v: &serde_json::Value) -> std::collections::BTreeSet<String> {
        v.as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }
    let atproto: serde_json::Value =
        serde_json::from_str(include_str!("data/atproto_pds_samples.json")).expect("json");
    let mastodon: serde_json::Value =
        serde_json::from_str(include_str!("data/mastodon_mock_samples.json")).expect("json");
    let client = reqwest::Client::new();

    let pds = Kind::Bluesky.start(SECRET).await;
    let session: serde_json::Value = client
        .post(format!("{}/xrpc/com.atproto.server.createSession", pds.url))
        .json(&serde_json::json!({"identifier": bluesky::HANDLE, "password": SECRET}))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    let token = session["accessJwt"].as_str().unwrap_or_default().to_owned();
    let made: serde_json::Value = client
        .post(format!("{}/xrpc/com.atproto.repo.createRecord", pds.url))
        .bearer_auth(&token)
        .json(&serde_json::json!({"repo": bluesky::DID, "collection": "app.bsky.feed.post", "record": {"$type": "app.bsky.feed.post", "text": "x", "createdAt": "2026-11-24T07:00:00.000Z"}}))
        .send().await.expect("send").json().await.expect("json");
    assert_eq!(keys(&made), keys(&atproto["createRecord_post"]));
    let long = client
        .post(format!("{}/xrpc/com.atproto.repo.createRecord", pds.url))
        .bearer_auth(&token)
        .json(&serde_json::json!({"repo": bluesky::DID, "collection": "app.bsky.feed.post", "record": {"$type": "app.bsky.feed.post", "text": "a".repeat(301), "createdAt": "2026-11-24T07:00:00.000Z"}}))
        .send().await.expect("send");
    assert_eq!(
        long.status().as_u16(),
        atproto["createRecord_too_long"]["status"]
    );
    let long: serde_json::Value = long.json().await.expect("json");
    assert_eq!(long, atproto["createRecord_too_long"]["body"]);

    let masto = Kind::Mastodon.start(SECRET).await;
    let status: serde_json::Value = client
        .post(format!("{}/api/v1/statuses", masto.url))
        .bearer_auth(SECRET)
        .json(&serde_json::json!({"status": "x"}))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    let real = keys(&mastodon["post_status"]);
    let ours = keys(&status);
    assert!(
        ours.is_subset(&real),
        "fields a real server never sends: {:?}",
        ours.difference(&real).collect::<Vec<_>>()
    );
}

#[test]
fn start_up_reads_every_webhook_secret_the_playbooks_name() {
    let cfg = fake_platforms::config("accounts:\n  a: {platform: sim, handle: a}\n");
    let (t, _) = squall::templates::TemplateSet::load_dir(Path::new("templates"), "en");
    let yaml = "name: hooks\ntriggers: [{manual: {}}]\non_open:\n  - webhook: {url: \"https://status.example/a\", template: webhook/statuspage, secret_env: STATUS_HMAC}\non_resolve:\n  - webhook: {url: \"https://status.example/b\", template: webhook/statuspage, secret_env: STATUS_HMAC}\n  - webhook: {url: \"https://chat.example/c\", template: webhook/statuspage}\n";
    let (pb, diags) = squall::playbook::parse(yaml, Path::new("playbooks/hooks.yaml"), &cfg, &t);
    assert!(!squall::diagnostics::has_errors(&diags), "{diags:#?}");
    let names = adapters::webhook_secret_variables(&[pb.expect("playbook")]);
    assert_eq!(names, ["STATUS_HMAC"]);
    let world = SimWorld::default();
    let errors = adapters::connect(
        &cfg,
        &|_| None,
        &names,
        Arc::new(SimNotifier(world.clone())),
        Duration::from_secs(1),
        &world,
    )
    .err()
    .expect("the secret is not set");
    assert_eq!(
        errors[0].to_string(),
        "environment variable STATUS_HMAC is not set (webhook secret named in a playbook)"
    );
}
