//! Scale-out with the real binary: three `squall serve` instances on one
//! Postgres database (the server at 127.0.0.1:5432, a database of this
//! test's own), real Mastodon and Bluesky adapters (`serve --live`) talking
//! to this test's fake platform servers, whose state the test reads.
//!
//! A surge is spread over the three instances (no instance sees enough of
//! it alone); every instance works the outbox, and the one pinning the
//! status on two slow platforms is killed with `kill -9` in the middle,
//! while replies are drafted; if it led the engine, a survivor takes the
//! leadership too. The survivors take over and finish. Each account must
//! end with exactly one squall pin, and no mention, draft or action may be
//! lost or doubled. The fail-over times are measured and printed.

mod cluster_peers;
mod fake_platforms;
mod ingest_client;

use cluster_peers::PgDatabase;
use fake_platforms::Kind;
use ingest_client::ingest;
use serde_json::{json, Value};
use sqlx::Row;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

const COMMANDER: &str = "commander-token";
/// The id of every mention in the journal, once per time it was journaled
/// (a group of mentions is one entry holding them as a JSON array).
const JOURNALED_MENTION_IDS: &str = "SELECT m ->> 'id' FROM inputs i, \
json_array_elements(i.payload::json) m WHERE i.kind = 'mentions'";
const SECRET: &str = "platform-secret";

struct Instance {
    name: String,
    child: Child,
    url: String,
}

fn config(dir: &Path, masto: &fake_platforms::Server, bsky: &fake_platforms::Server) -> String {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut yaml = format!(
        "playbooks: {root}/tests/data/cluster/playbooks\ntemplates: {root}/templates\n\
         default_language: en\nbrand: {{name: Acme, status_page: https://status.acme.example}}\naccounts:\n"
    );
    yaml.push_str(&Kind::Mastodon.account_yaml("acme-main", masto, "ACME_SECRET"));
    yaml.push_str(&Kind::Bluesky.account_yaml("acme-bsky", bsky, "ACME_SECRET"));
    yaml.push_str(
        "staff:\n  ana: {name: Ana Nowak, languages: [en]}\n  sam: {name: Sam Support, languages: [en]}\n\
         teams:\n  care: {members: [ana, sam]}\nroles:\n  commander: [ana]\n\
         server:\n  max_batch: 500\n  tokens:\n\
         \x20   ana: {roles: [commander], sha256: db3d2ebf5635156dceeafc148dc918db637ac9b7340f9a87f36fcf4d006334d0}\n\
         \x20   feed: {roles: [ingest], sha256: d6d21e6d4a9c969670e67b5ea4b746242a23ad9ec2e8eb78c8d36f577f00581e}\n",
    );
    let path = dir.join("squall.yaml");
    std::fs::write(&path, yaml).expect("config written");
    path.display().to_string()
}

fn start(dir: &Path, config: &str, store: &str, name: &str) -> Instance {
    let log_filter = std::env::var("SQUALL_TEST_LOG").unwrap_or_else(|_| "info".into());
    let (child, url) = cluster_peers::spawn_serve(
        &["--live", "--poll-every", "1h", "--listen", "127.0.0.1:0"],
        &[
            ("SQUALL_CONFIG", config),
            ("SQUALL_INSTANCE", name),
            ("SQUALL_STORE", store),
            ("ACME_SECRET", SECRET),
            ("SQUALL_LOG", &log_filter),
        ],
        &dir.join(format!("{name}.log")),
    );
    Instance {
        name: name.to_owned(),
        child,
        url,
    }
}

impl Instance {
    fn kill9(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }
}

/// The instances' warnings and errors, for a failure message.
fn logs(dir: &Path) -> String {
    let mut out = String::new();
    for i in 1..=3 {
        let text = std::fs::read_to_string(dir.join(format!("node-{i}.log"))).unwrap_or_default();
        out.push_str(&format!("--- node-{i}\n"));
        for line in text
            .lines()
            .filter(|l| l.contains("WARN") || l.contains("ERROR"))
            .take(20)
        {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

async fn get(http: &reqwest::Client, url: &str) -> Value {
    http.get(url)
        .bearer_auth(COMMANDER)
        .send()
        .await
        .expect("GET answers")
        .json()
        .await
        .expect("JSON")
}

/// The cluster's leader row: (holder, epoch, applied_seq).
async fn leader(pool: &sqlx::PgPool) -> (String, i64, i64) {
    sqlx::query_as("SELECT holder, epoch, applied_seq FROM cluster_leader WHERE id = 1")
        .fetch_one(pool)
        .await
        .expect("leader row")
}

/// Follows `GET /v1/events` on one instance; what it received so far.
fn watch_events(http: &reqwest::Client, url: &str) -> std::sync::Arc<std::sync::Mutex<String>> {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let (http, url, out) = (http.clone(), format!("{url}/v1/events"), seen.clone());
    tokio::spawn(async move {
        let Ok(mut resp) = http.get(url).bearer_auth(COMMANDER).send().await else {
            return;
        };
        while let Ok(Some(chunk)) = resp.chunk().await {
            let text = String::from_utf8_lossy(&chunk).into_owned();
            out.lock()
                .unwrap_or_else(|p| p.into_inner())
                .push_str(&text);
        }
    });
    seen
}

async fn last_seq(pool: &sqlx::PgPool) -> i64 {
    sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM inputs")
        .fetch_one(pool)
        .await
        .expect("journal")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_instances_share_a_surge_and_finish_it_after_the_one_pinning_is_killed() {
    let db = PgDatabase::create().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let masto = Kind::Mastodon
        .start(SECRET)
        .await
        .with_latency(Duration::from_millis(400));
    let bsky = Kind::Bluesky
        .start(SECRET)
        .await
        .with_latency(Duration::from_millis(400));
    // A post the brand pinned by hand: it must come back after the outage.
    let _brand_pin = Kind::Mastodon.seed(&masto.fake, "Our summer sale", true);
    let config = config(dir.path(), &masto, &bsky);
    let mut nodes: Vec<Instance> = (1..=3)
        .map(|i| start(dir.path(), &config, &db.url, &format!("node-{i}")))
        .collect();
    let pool = sqlx::PgPool::connect(&db.url).await.expect("pool");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(40))
        .build()
        .expect("client");
    let streaming = reqwest::Client::new();

    // Wait for a leader.
    let deadline = Instant::now() + Duration::from_secs(30);
    while leader(&pool).await.1 == 0 {
        assert!(Instant::now() < deadline, "no instance became leader");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Every instance's live stream shows the whole cluster's events.
    let streams: Vec<(String, _)> = nodes
        .iter()
        .map(|n| (n.name.clone(), watch_events(&streaming, &n.url)))
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await; // subscribed

    // Calm traffic, then the surge: four complaints to each instance, so
    // that no instance alone saw the five that open the incident.
    let mut accepted = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let ids: Vec<String> = (0..20).map(|j| format!("calm-{i}-{j}")).collect();
        accepted.extend(ingest(&http, &node.url, &ids, "love the new app").await);
    }
    let mut complaints = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let ids: Vec<String> = (0..4).map(|j| format!("down-{i}-{j}")).collect();
        let got = ingest(&http, &node.url, &ids, "the site is down again").await;
        complaints.extend(got.clone());
        accepted.extend(got);
    }
    assert_eq!(complaints.len(), 12, "every complaint accepted");

    // The incident opens and pinning starts on both slow platforms; kill
    // the instance that is pinning while it works.
    let deadline = Instant::now() + Duration::from_secs(30);
    let id = loop {
        let list = get(&http, &format!("{}/v1/incidents?all=true", nodes[0].url)).await;
        if let Some(id) = list
            .as_array()
            .and_then(|l| l.first())
            .and_then(|i| i["id"].as_str())
        {
            break id.to_owned();
        }
        assert!(Instant::now() < deadline, "the surge opened no incident");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let (interrupted, worker): (i64, String) = loop {
        let running: Option<(i64, String)> = sqlx::query_as(
            "SELECT id, lease_owner FROM outbox WHERE state = 'running' ORDER BY id LIMIT 1",
        )
        .fetch_optional(&pool)
        .await
        .expect("outbox");
        if let Some(running) = running {
            break running;
        }
        assert!(Instant::now() < deadline, "no action started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let (holder, epoch, _) = leader(&pool).await;
    let victim = nodes
        .iter()
        .position(|n| n.name == worker)
        .expect("the worker is one of ours");
    let victim_name = worker.clone();
    let victim_led = holder == worker;
    let killed_at = Instant::now();
    nodes.remove(victim).kill9();

    // More mentions reach the survivors during the fail-over.
    let mut late = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let ids: Vec<String> = (0..3).map(|j| format!("late-{i}-{j}")).collect();
        let got = ingest(&http, &node.url, &ids, "still down for me").await;
        late.extend(got.clone());
        accepted.extend(got.clone());
        complaints.extend(got);
    }
    assert_eq!(
        late.len(),
        6,
        "survivors take mentions during the fail-over"
    );
    let target = last_seq(&pool).await;
    let mut elected = None;
    let mut taken_over = None;
    let in_service = loop {
        let (holder, now_epoch, applied) = leader(&pool).await;
        if now_epoch > epoch {
            assert_ne!(holder, victim_name, "a survivor leads");
            elected.get_or_insert(killed_at.elapsed());
        }
        let owner: Option<String> =
            sqlx::query_scalar("SELECT lease_owner FROM outbox WHERE id = $1")
                .bind(interrupted)
                .fetch_one(&pool)
                .await
                .expect("outbox row");
        if owner.as_deref() != Some(victim_name.as_str()) {
            taken_over.get_or_insert(killed_at.elapsed());
        }
        if (!victim_led || now_epoch > epoch) && applied >= target && taken_over.is_some() {
            break killed_at.elapsed();
        }
        assert!(
            killed_at.elapsed() < Duration::from_secs(60),
            "no fail-over\n{}",
            logs(dir.path())
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    assert_eq!(
        elected.is_some(),
        victim_led,
        "the leadership moves only if its holder died"
    );
    println!(
        "fail-over after kill -9 of the instance pinning ({}): its action taken over in {} ms; \
         {}; the mentions taken meanwhile applied after {} ms",
        if victim_led {
            "the engine leader"
        } else {
            "a follower"
        },
        taken_over.unwrap_or_default().as_millis(),
        match elected {
            Some(t) => format!("new engine leader elected in {} ms", t.as_millis()),
            None => "the engine leader kept leading".to_owned(),
        },
        in_service.as_millis()
    );

    // The survivors finish the work.
    let deadline = Instant::now() + Duration::from_secs(30);
    let incident = loop {
        let inc = get(&http, &format!("{}/v1/incidents/{id}", nodes[1].url)).await;
        let actions = inc["actions"].as_array().cloned().unwrap_or_default();
        let pins_done = actions
            .iter()
            .filter(|a| a["kind"] == "post_status")
            .all(|a| a["state"] == "done");
        if actions.len() >= 2 && pins_done && actions.iter().all(|a| a["state"] == "done") {
            break inc;
        }
        assert!(
            Instant::now() < deadline,
            "actions never settled: {}\n{}",
            inc["actions"],
            logs(dir.path())
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    // Each survivor streamed the incident and the pins, whoever made them.
    for (name, seen) in &streams {
        if *name == victim_name {
            continue;
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = seen.lock().unwrap_or_else(|p| p.into_inner()).clone();
            let pins = text.matches("event: pinned\n").count();
            if text.contains("event: incident_opened\n") && pins >= 2 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{name}'s /v1/events lacks the incident or the two pins:\n{text}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    // Views of the leader's engine answer on every instance, follower or not.
    let (holder, _, _) = leader(&pool).await;
    for node in &nodes {
        let triggers = get(&http, &format!("{}/v1/triggers", node.url)).await;
        assert!(
            triggers["triggers"].is_array(),
            "{} (leader: {holder}) /v1/triggers: {triggers}",
            node.name
        );
        let previews = get(
            &http,
            &format!("{}/v1/incidents/{id}/status/previews", node.url),
        )
        .await;
        let accounts: BTreeSet<&str> = previews["previews"]
            .as_array()
            .map(|p| p.iter().filter_map(|p| p["account"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(
            accounts,
            BTreeSet::from(["acme-bsky", "acme-main"]),
            "{} (leader: {holder}) previews: {previews}",
            node.name
        );
        let off_hours = get(&http, &format!("{}/v1/off-hours", node.url)).await;
        assert!(
            off_hours["accounts"].is_array(),
            "{} /v1/off-hours: {off_hours}",
            node.name
        );
    }

    // Each account holds exactly one squall pin, at the platform.
    for (name, server) in [("mastodon", &masto), ("bluesky", &bsky)] {
        let world = server.fake.world();
        let squall_pins: Vec<&String> = world
            .pins
            .iter()
            .filter(|id| world.post(id).is_some_and(|p| p.by_api))
            .collect();
        assert_eq!(squall_pins.len(), 1, "{name} pins: {:?}", world.pins);
        let made: Vec<_> = world.posts.iter().filter(|p| p.by_api).collect();
        assert_eq!(made.len(), 1, "{name}: one status post, not two: {made:#?}");
    }

    // No mention lost or doubled: every accepted one known and journaled once.
    let stored: Vec<String> = sqlx::query("SELECT id FROM mention_keys")
        .fetch_all(&pool)
        .await
        .expect("mention keys")
        .iter()
        .map(|r| r.get::<String, _>(0))
        .collect();
    let stored: BTreeSet<String> = stored.into_iter().collect();
    let accepted_set: BTreeSet<String> = accepted.iter().cloned().collect();
    assert_eq!(stored, accepted_set, "known mentions are the accepted ones");
    let mut journaled: Vec<String> = sqlx::query_scalar(JOURNALED_MENTION_IDS)
        .fetch_all(&pool)
        .await
        .expect("journal");
    journaled.sort();
    let mut once: Vec<String> = accepted_set.into_iter().collect();
    once.sort();
    assert_eq!(journaled, once, "each mention journaled once");

    // No draft lost or doubled: one pending draft per complaining author.
    let drafted: Vec<(String, i64)> = sqlx::query_as(
        "SELECT c.author_id, COUNT(d.id) FROM conversations c \
         LEFT JOIN drafts d ON d.conversation_id = c.id GROUP BY c.author_id",
    )
    .fetch_all(&pool)
    .await
    .expect("drafts");
    let authors: BTreeSet<String> = complaints.iter().map(|m| format!("u-{m}")).collect();
    let drafted_authors: BTreeSet<String> = drafted.iter().map(|(a, _)| a.clone()).collect();
    assert_eq!(
        drafted_authors, authors,
        "every complaining author has a conversation"
    );
    assert!(
        drafted.iter().all(|(_, n)| *n == 1),
        "one draft per conversation: {drafted:?}"
    );

    // No action lost or doubled: none failed, each key once (the schema's
    // unique key), and the platforms saw one status post per account.
    let failed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE state <> 'done'")
        .fetch_one(&pool)
        .await
        .expect("outbox");
    assert_eq!(failed, 0, "{incident:#}");
    // The engine leader learned each outcome once, from the journal.
    let outcomes: Vec<String> =
        sqlx::query_scalar("SELECT payload FROM inputs WHERE kind = 'outcome' ORDER BY seq")
            .fetch_all(&pool)
            .await
            .expect("journal");
    let keys: BTreeSet<String> = outcomes
        .iter()
        .filter_map(|p| serde_json::from_str::<Value>(p).ok())
        .filter_map(|p| p["key"].as_str().map(str::to_owned))
        .collect();
    let done: Vec<(i64, String, String)> =
        sqlx::query_as("SELECT id, idem_key, lease_owner FROM outbox ORDER BY id")
            .fetch_all(&pool)
            .await
            .expect("outbox");
    assert_eq!(
        outcomes.len(),
        done.len(),
        "one outcome per action: {outcomes:?}"
    );
    assert_eq!(keys, done.iter().map(|(_, k, _)| k.clone()).collect());
    let finisher = done
        .iter()
        .find(|(id, _, _)| *id == interrupted)
        .map(|d| &d.2);
    assert!(
        finisher.is_some_and(|by| *by != victim_name),
        "a survivor finished the interrupted action: {done:?}"
    );
    println!("actions and the instance that carried each out: {done:?}");
    let opened: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM timeline WHERE kind = 'incident_opened'")
            .fetch_one(&pool)
            .await
            .expect("timeline");
    assert_eq!(opened, 1, "the incident opened once across the cluster");

    for node in nodes {
        node.kill9();
    }
    pool.close().await;
}

#[tokio::test]
async fn squall_migrate_brings_a_postgres_database_up_to_date() {
    let db = PgDatabase::create().await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_squall"))
        .args(["migrate", "--config", "tests/data/serve/squall.yaml"])
        .env("SQUALL_STORE", &db.url)
        .output()
        .expect("squall migrate runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("is at schema version 101"), "{text}");
    let pool = sqlx::PgPool::connect(&db.url).await.expect("pool");
    assert_eq!(leader(&pool).await, (String::new(), 0, 0), "no leader yet");
    pool.close().await;
}

#[tokio::test]
async fn a_deposed_leaders_batch_is_refused_whole() {
    use squall::store::{NewTimeline, Store, StoreError, Write};
    let db = PgDatabase::create().await;
    let store = Store::open(&db.url).await.expect("store");
    let event = |message: &str| {
        Write::Timeline(NewTimeline {
            incident_id: None,
            at: chrono::Utc::now(),
            kind: "note".to_owned(),
            actor: "engine".to_owned(),
            message: message.to_owned(),
            detail: json!({}),
        })
    };
    // Epoch 0 is current on a fresh database; a leader of epoch 7 is not.
    store
        .apply_fenced(Some(0), &[event("current leader")])
        .await
        .expect("the current epoch writes");
    let refused = store
        .apply_fenced(Some(7), &[event("deposed leader")])
        .await;
    assert!(
        matches!(
            refused,
            Err(StoreError::Fenced {
                epoch: 7,
                current: 0
            })
        ),
        "{refused:?}"
    );
    let all = store.timeline_all(0, 10).await.expect("timeline");
    let messages: Vec<&str> = all.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(messages, ["current leader"]);
    store.close().await;
}

#[tokio::test]
async fn the_leases_of_an_instance_that_is_gone_are_voided_and_a_live_ones_are_kept() {
    use squall::cluster::{reap, Membership};
    use squall::store::{NewOutbox, Store};
    let db = PgDatabase::create().await;
    let store = Store::open(&db.url).await.expect("store");
    let pool = sqlx::PgPool::connect(&db.url).await.expect("pool");
    let now = chrono::Utc::now();
    for key in ["pin-masto", "pin-bsky"] {
        store
            .enqueue(&NewOutbox {
                idem_key: key.to_owned(),
                incident_id: None,
                kind: "post_status".to_owned(),
                account: Some(key.to_owned()),
                payload: json!({}),
                not_before: now,
                created_at: now,
            })
            .await
            .expect("enqueued");
    }
    let alive = Membership::join(&pool, "node-alive").await.expect("joins");
    let doomed = Membership::join(&pool, "node-doomed").await.expect("joins");
    let lease = Duration::from_secs(600);
    let held_alive = store
        .claim_next("node-alive", now, lease)
        .await
        .expect("claim");
    let held_doomed = store
        .claim_next("node-doomed", now, lease)
        .await
        .expect("claim");
    assert!(held_alive.is_some() && held_doomed.is_some());

    assert_eq!(
        reap(&pool, "node-rescuer").await.expect("reap"),
        0,
        "both instances live: their leases hold"
    );
    // The doomed instance's session ends, as when its process is killed.
    drop(doomed);
    let started = Instant::now();
    let voided = loop {
        let n = reap(&pool, "node-rescuer").await.expect("reap");
        if n > 0 || started.elapsed() > Duration::from_secs(10) {
            break n;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(voided, 1, "only the gone instance's lease is voided");
    let rescued = store
        .claim_next("node-rescuer", chrono::Utc::now(), lease)
        .await
        .expect("claim")
        .expect("the interrupted action is claimable at once");
    assert_eq!(Some(rescued.id), held_doomed.map(|r| r.id));
    assert_eq!(rescued.attempts, 2);
    drop(alive);
    store.close().await;
    pool.close().await;
}
