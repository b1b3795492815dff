//! `pin_status` end to end: the real runtime (engine, SQLite store, outbox
//! executor) driving the real adapters over HTTP against local platform
//! servers. Five accounts on four platforms, each with pins of its own; one
//! platform fails for a while; updates edit in place or re-pin; resolution
//! restores every previous pin in its previous order; and no account ever
//! holds two squall pins.

mod common;
mod fake_platforms;

use common::{at, config, Rehearsal};
use fake_platforms::{FaultKind, Kind, Server};
use squall::adapters::sim::SimWorld;
use squall::engine::input::CommandKind;
use std::collections::BTreeMap;
use std::time::Duration;

const SECRET: &str = "s3cret-credential-value";

const PLAYBOOK: &str = r#"
name: outage
triggers: [{manual: {}}]
on_open:
  - pin_status: {accounts: [acme-main, acme-help, acme-bsky, acme-tg, acme-discord], template: status/site-down, approval: none}
on_resolve:
  - pin_status: {restore_previous: true, final_template: status/resolved}
"#;

/// The brand's accounts, each on its own local server, with what the brand
/// had pinned before the incident (oldest first).
struct Brand {
    servers: BTreeMap<&'static str, (Kind, Server)>,
    before: BTreeMap<&'static str, Vec<String>>,
}

impl Brand {
    async fn start(pinned: &[(&'static str, Kind, usize)]) -> Self {
        let mut servers = BTreeMap::new();
        let mut before = BTreeMap::new();
        for (name, kind, n) in pinned {
            let server = kind.start(SECRET).await;
            let ids = (0..*n)
                .filter_map(|i| kind.seed(&server.fake, &format!("{name} pin {i}"), true))
                .collect::<Vec<_>>();
            // Bluesky holds one pin: the last seeded is the one pinned.
            let ids = if *kind == Kind::Bluesky {
                ids.into_iter().last().into_iter().collect()
            } else {
                ids
            };
            before.insert(*name, ids);
            servers.insert(*name, (*kind, server));
        }
        Self { servers, before }
    }

    fn config_yaml(&self, extra: &str) -> String {
        let mut yaml = String::from(
            "brand: {name: Acme, status_page: https://status.acme.example}\naccounts:\n",
        );
        for (name, (kind, server)) in &self.servers {
            yaml.push_str(&kind.account_yaml(name, server, "ACME_SECRET"));
        }
        yaml.push_str(
            "staff:\n  ana: {name: Ana Nowak, languages: [en]}\nroles:\n  commander: [ana]\n",
        );
        yaml.push_str(extra);
        yaml
    }

    async fn rehearsal(&self, playbook: &str) -> Rehearsal {
        self.rehearsal_with_timeout(playbook, Duration::from_secs(5))
            .await
    }

    /// A rehearsal whose adapters give up on a call after `timeout`.
    async fn rehearsal_with_timeout(&self, playbook: &str, timeout: Duration) -> Rehearsal {
        let cfg = config(&self.config_yaml(""));
        let env = |n: &str| (n == "ACME_SECRET").then(|| SECRET.to_owned());
        let adapters =
            fake_platforms::connect(&cfg, &env, timeout).expect("every credential is set");
        Rehearsal::with_adapters(
            cfg,
            adapters,
            SimWorld::default(),
            BTreeMap::new(),
            &[playbook],
            at(7, 0),
        )
        .await
    }

    fn pins(&self, name: &str) -> Vec<String> {
        self.servers[name].1.fake.world().pins.clone()
    }

    /// Pinned posts squall made (through the API) on `name`.
    fn squall_pins(&self, name: &str) -> Vec<String> {
        let w = self.servers[name].1.fake.world();
        w.pins
            .iter()
            .filter(|id| w.post(id).is_some_and(|p| p.by_api))
            .cloned()
            .collect()
    }

    /// The invariant, checked after every step.
    fn at_most_one_squall_pin_each(&self) {
        for name in self.servers.keys() {
            let ours = self.squall_pins(name);
            assert!(ours.len() <= 1, "{name} holds two squall pins: {ours:?}");
        }
    }

    fn text_of(&self, name: &str, id: &str) -> String {
        self.servers[name]
            .1
            .fake
            .world()
            .post(id)
            .map(|p| p.text.clone())
            .unwrap_or_default()
    }
}

#[tokio::test]
async fn an_incident_pins_on_five_accounts_across_four_platforms_survives_an_outage_of_one_and_restores_every_pin(
) {
    let brand = Brand::start(&[
        ("acme-main", Kind::Mastodon, 5), // at its limit: the oldest makes room
        ("acme-help", Kind::Mastodon, 1),
        ("acme-bsky", Kind::Bluesky, 1),
        ("acme-tg", Kind::Telegram, 1),
        ("acme-discord", Kind::Discord, 2),
    ])
    .await;
    let mut r = brand.rehearsal(PLAYBOOK).await;
    // Discord is down for its next three calls.
    let discord = &brand.servers["acme-discord"].1.fake;
    for _ in 0..3 {
        discord.fail_next("/channels/", Kind::Discord.unavailable());
    }

    r.declare(at(7, 0), "outage").await;
    brand.at_most_one_squall_pin_each();
    assert_eq!(
        r.count("pinned"),
        4,
        "the others do not wait for Discord: {:?}",
        r.kinds()
    );
    assert!(brand.squall_pins("acme-discord").is_empty());
    let retry = r
        .first("action_retry")
        .expect("Discord's failure is on the timeline");
    assert!(
        retry.message.contains("acme-discord") && retry.message.contains("503"),
        "{}",
        retry.message
    );
    assert_eq!(retry.incident.as_deref(), Some(r.incident().as_str()));

    for minute in 1..=3 {
        r.advance(at(7, minute)).await;
        brand.at_most_one_squall_pin_each();
    }
    assert_eq!(r.count("pinned"), 5, "Discord recovered: {:?}", r.kinds());
    for name in brand.servers.keys() {
        assert_eq!(brand.squall_pins(name).len(), 1, "{name}");
    }
    let main = brand.pins("acme-main");
    assert_eq!(
        main[..4],
        brand.before["acme-main"][1..],
        "the oldest pin made room"
    );
    assert_eq!(
        discord.world().posts.iter().filter(|p| p.by_api).count(),
        1,
        "posted once despite retries"
    );

    // An update: edited in place where the platform can; re-pinned on Bluesky.
    let mastodon_post = brand.squall_pins("acme-main")[0].clone();
    let bsky_post = brand.squall_pins("acme-bsky")[0].clone();
    r.command(
        at(7, 10),
        "ana",
        CommandKind::Update {
            incident: r.incident(),
            note: Some("A database failover.".into()),
            eta: None,
        },
    )
    .await;
    brand.at_most_one_squall_pin_each();
    assert_eq!(
        brand.squall_pins("acme-main"),
        vec![mastodon_post.clone()],
        "edited in place"
    );
    assert!(brand
        .text_of("acme-main", &mastodon_post)
        .contains("database failover"));
    let new_bsky = brand.squall_pins("acme-bsky");
    assert_eq!(new_bsky.len(), 1);
    assert_ne!(
        new_bsky[0], bsky_post,
        "Bluesky cannot edit: a new post is pinned instead"
    );
    assert!(brand
        .text_of("acme-bsky", &new_bsky[0])
        .contains("database failover"));

    r.resolve(at(7, 30)).await;
    brand.at_most_one_squall_pin_each();
    for name in brand.servers.keys() {
        assert_eq!(
            brand.pins(name),
            brand.before[name],
            "{name}: every previous pin, in its previous order"
        );
        let w = brand.servers[name].1.fake.world();
        assert!(
            w.posts
                .iter()
                .any(|p| p.by_api && p.text.contains("working normally again")),
            "{name}: resolution posted"
        );
    }
}

#[tokio::test]
async fn an_account_at_its_pin_limit_fails_loudly_when_the_playbook_says_so_and_the_others_go_on() {
    let brand = Brand::start(&[
        ("acme-main", Kind::Mastodon, 5),
        ("acme-help", Kind::Mastodon, 1),
    ])
    .await;
    let playbook = r#"
name: outage
triggers: [{manual: {}}]
on_open:
  - pin_status: {accounts: [acme-main, acme-help], template: status/site-down, approval: none, at_pin_limit: fail}
"#;
    let mut r = brand.rehearsal(playbook).await;
    r.declare(at(7, 0), "outage").await;
    let failed = r.first("action_failed").expect("reported on the timeline");
    assert!(
        failed.message.contains("acme-main") && failed.message.contains("at_pin_limit: fail"),
        "{}",
        failed.message
    );
    assert_eq!(failed.incident.as_deref(), Some(r.incident().as_str()));
    assert_eq!(r.count("action_retry"), 0, "a full account is not retried");
    assert!(
        brand.servers["acme-main"]
            .1
            .fake
            .world()
            .posts
            .iter()
            .all(|p| !p.by_api),
        "nothing posted there"
    );
    assert_eq!(
        brand.pins("acme-main"),
        brand.before["acme-main"],
        "its pins are untouched"
    );
    assert_eq!(
        brand.squall_pins("acme-help").len(),
        1,
        "the other account is pinned"
    );
}

#[tokio::test]
async fn a_restore_cut_short_after_it_unpinned_posts_to_reorder_them_resumes_without_losing_one() {
    let brand = Brand::start(&[("acme-main", Kind::Mastodon, 5)]).await;
    let playbook = PLAYBOOK.replace(
        "acme-main, acme-help, acme-bsky, acme-tg, acme-discord",
        "acme-main",
    );
    let mut r = brand.rehearsal(&playbook).await;
    r.declare(at(7, 0), "outage").await;
    assert_eq!(brand.squall_pins("acme-main").len(), 1);
    // The restore unpins the four kept posts to put the displaced one back
    // first; then the platform fails on the first re-pin.
    brand.servers["acme-main"]
        .1
        .fake
        .fail_next("/pin", Kind::Mastodon.unavailable());
    r.resolve(at(7, 30)).await;
    assert!(
        brand.pins("acme-main").len() < 5,
        "cut short: {:?}",
        brand.pins("acme-main")
    );
    assert_eq!(r.count("action_retry"), 1, "{:?}", r.kinds());
    r.advance(at(7, 31)).await;
    assert_eq!(brand.pins("acme-main"), brand.before["acme-main"]);
}

#[tokio::test]
async fn an_update_edits_the_status_page_entry_it_posted_and_posts_anew_where_nothing_can_be_edited(
) {
    let brand = Brand::start(&[("status", Kind::Statuspage, 0), ("acme-x", Kind::X, 0)]).await;
    let playbook = PLAYBOOK.replace(
        "acme-main, acme-help, acme-bsky, acme-tg, acme-discord",
        "status, acme-x",
    );
    let mut r = brand.rehearsal(&playbook).await;
    r.declare(at(7, 0), "outage").await;
    assert_eq!(
        r.count("pin_skipped"),
        2,
        "neither can pin: {:?}",
        r.kinds()
    );
    r.command(
        at(7, 10),
        "ana",
        CommandKind::Update {
            incident: r.incident(),
            note: Some("A database failover.".into()),
            eta: None,
        },
    )
    .await;
    let page = brand.servers["status"].1.fake.world();
    let events: Vec<(&str, &str)> = page
        .hooks
        .iter()
        .map(|(b, _)| {
            (
                b["event"].as_str().unwrap_or_default(),
                b["id"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0].0, "status.posted");
    assert_eq!(
        events[1],
        ("status.updated", events[0].1),
        "the same entry, updated"
    );
    assert!(
        page.posts
            .iter()
            .all(|p| p.text.contains("database failover"))
            && page.posts.len() == 1
    );
    let x = brand.servers["acme-x"].1.fake.world();
    assert_eq!(x.posts.len(), 2, "X cannot edit: the update is a new post");
}

/// Fault injection during an incident: every account's platform misbehaves
/// in its own way while the status is pinned. A rate limit is waited out
/// as the platform asked, a 503 and a call that times out are retried, a
/// connection cut after the platform posted does not post twice (the
/// idempotency key), and an expired credential fails that account loudly
/// and for good while the others go on. The invariant holds throughout,
/// and resolution restores every pin it can.
#[tokio::test]
async fn an_incident_rides_out_rate_limits_outages_timeouts_cut_connections_and_an_expired_token() {
    let brand = Brand::start(&[
        ("acme-main", Kind::Mastodon, 1),
        ("acme-help", Kind::Mastodon, 1),
        ("acme-bsky", Kind::Bluesky, 1),
        ("acme-tg", Kind::Telegram, 1),
        ("acme-discord", Kind::Discord, 1),
    ])
    .await;
    let mut r = brand
        .rehearsal_with_timeout(PLAYBOOK, Duration::from_millis(800))
        .await;
    let fake = |name: &str| brand.servers[name].1.fake.clone();
    // acme-main: 429 with Mastodon's rate headers, asking for a second
    // (the adapter keeps to the platform's reset on the wall clock).
    fake("acme-main").fail_next(
        "/api/v1/statuses",
        Kind::Mastodon.rate_limited(&fake("acme-main"), 1),
    );
    // acme-help: the token was revoked.
    fake("acme-help").fail_next("/api/v1/statuses", Kind::Mastodon.expired_credentials());
    // acme-bsky: two 503s.
    for _ in 0..2 {
        fake("acme-bsky").fail_next("createRecord", Kind::Bluesky.unavailable());
    }
    // acme-tg: an answer slower than the client waits.
    fake("acme-tg").fail_next("sendMessage", FaultKind::Delay(Duration::from_secs(3)));
    // acme-discord: the message is posted, then the connection is cut.
    fake("acme-discord").fail_next("/messages", FaultKind::DropAfter);

    r.declare(at(7, 0), "outage").await;
    brand.at_most_one_squall_pin_each();
    let failed = r
        .first("action_failed")
        .expect("the revoked token is reported");
    assert!(
        failed.message.contains("acme-help") && failed.message.contains("401"),
        "{}",
        failed.message
    );
    assert!(
        !failed.message.contains(SECRET),
        "never the credential itself"
    );
    let retried: Vec<String> = r
        .events
        .iter()
        .filter(|e| e.kind.as_str() == "action_retry")
        .map(|e| e.message.clone())
        .collect();
    for account in ["acme-main", "acme-bsky", "acme-tg", "acme-discord"] {
        assert!(
            retried.iter().any(|m| m.contains(account)),
            "{account} retried: {retried:#?}"
        );
    }
    assert!(
        brand.squall_pins("acme-main").is_empty(),
        "the rate limit is respected: nothing before its reset"
    );

    tokio::time::sleep(Duration::from_millis(1100)).await; // the platform's reset
    for minute in 1..=4 {
        r.advance(at(7, minute)).await;
        brand.at_most_one_squall_pin_each();
    }
    for name in ["acme-main", "acme-bsky", "acme-tg", "acme-discord"] {
        assert_eq!(brand.squall_pins(name).len(), 1, "{name}: {:?}", r.kinds());
        let posted = fake(name).world().posts.iter().filter(|p| p.by_api).count();
        assert_eq!(posted, 1, "{name}: posted once whatever the faults");
    }
    assert!(brand.squall_pins("acme-help").is_empty());
    assert_eq!(
        brand.pins("acme-help"),
        brand.before["acme-help"],
        "untouched"
    );

    r.resolve(at(7, 30)).await;
    r.advance(at(7, 35)).await;
    brand.at_most_one_squall_pin_each();
    for name in ["acme-main", "acme-bsky", "acme-tg", "acme-discord"] {
        assert_eq!(brand.pins(name), brand.before[name], "{name}: restored");
    }
}
