//! Crash safety of `squall serve`, with the real binary: feed a flood of
//! complaints, then `kill -9` the server at several points while status
//! posts and pins are being carried out on slow (simulated) platforms,
//! restart it on the same store, and check that nothing accepted was lost
//! and no side effect happened twice.
//!
//! The simulated platforms keep their record in a file (`--sim-log`) the
//! way a real platform keeps its posts, and honour idempotency keys as
//! Mastodon does; the test reads that record to count what happened.

mod ingest_client;

use ingest_client::ingest;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const COMMANDER: &str = "commander-token";

struct Server {
    child: Child,
    url: String,
}

// The child is handed back in `Server` and reaped by `kill9`.
#[allow(clippy::zombie_processes)]
fn start(dir: &Path, run: usize) -> Server {
    let log = dir.join(format!("serve-{run}.log"));
    let child = Command::new(env!("CARGO_BIN_EXE_squall"))
        .args([
            "serve",
            "--config",
            "tests/data/serve/squall.yaml",
            "--listen",
            "127.0.0.1:0",
        ])
        .arg("--sim-log")
        .arg(dir.join("platforms.ndjson"))
        .args(["--sim-latency", "300ms"])
        .env(
            "SQUALL_STORE",
            format!("sqlite://{}?mode=rwc", dir.join("squall.db").display()),
        )
        .env("SQUALL_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log file"))
        .spawn()
        .expect("squall serve starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if let Some(rest) = text.split("squall listening on ").nth(1) {
            let url = rest.lines().next().unwrap_or_default().trim().to_string();
            return Server { child, url };
        }
        if Instant::now() >= deadline {
            let mut child = child;
            let _ = child.kill();
            let _ = child.wait();
            panic!("squall serve did not start:\n{text}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Server {
    /// `kill -9`: no signal handler runs, nothing is flushed. Returns how
    /// many actions the dead process was carrying out (outbox rows it left
    /// `running`), so the test can tell it really died mid-action.
    async fn kill9(mut self, dir: &Path) -> usize {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
        let store = reopen(dir).await;
        let running = store
            .outbox_in_state(squall::store::OutboxState::Running)
            .await
            .expect("outbox")
            .len();
        store.close().await;
        running
    }
}

async fn incidents(http: &reqwest::Client, url: &str) -> Vec<Value> {
    let r = http
        .get(format!("{url}/v1/incidents?all=true"))
        .bearer_auth(COMMANDER)
        .send()
        .await
        .expect("list");
    r.json::<Vec<Value>>().await.expect("json")
}

async fn show(http: &reqwest::Client, url: &str, id: &str) -> Value {
    http.get(format!("{url}/v1/incidents/{id}"))
        .bearer_auth(COMMANDER)
        .send()
        .await
        .expect("show")
        .json()
        .await
        .expect("json")
}

/// Sends a command in the background; the server may die under it.
fn command(
    http: &reqwest::Client,
    url: &str,
    path: String,
) -> tokio::task::JoinHandle<Option<u16>> {
    let (http, url) = (http.clone(), url.to_string());
    tokio::spawn(async move {
        http.post(format!("{url}{path}"))
            .bearer_auth(COMMANDER)
            .send()
            .await
            .ok()
            .map(|r| r.status().as_u16())
    })
}

/// Waits until every action of the incident is done (none pending, running
/// or failed), and returns the incident.
async fn settled(http: &reqwest::Client, url: &str, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let inc = show(http, url, id).await;
        let actions = inc["actions"].as_array().cloned().unwrap_or_default();
        if !actions.is_empty() && actions.iter().all(|a| a["state"] == "done") {
            return inc;
        }
        assert!(Instant::now() < deadline, "actions never settled: {inc:#}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The store the killed servers left behind.
/// Waits until the running server is carrying out an action (an outbox row
/// `running`: a platform call in flight), up to `limit`, so that the next
/// kill lands mid-action on a fast machine and a slow one alike. Reads the
/// database file beside the server, read-only.
async fn until_an_action_runs(dir: &Path, limit: Duration) {
    let url = format!("sqlite://{}?mode=ro", dir.join("squall.db").display());
    let pool = sqlx::SqlitePool::connect(&url)
        .await
        .expect("read-only store");
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        let running: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE state = 'running'")
                .fetch_one(&pool)
                .await
                .unwrap_or(0);
        if running > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    pool.close().await;
}

async fn reopen(dir: &Path) -> squall::store::Store {
    squall::store::Store::open(&format!("sqlite://{}", dir.join("squall.db").display()))
        .await
        .expect("store")
}

/// Every mention squall acknowledged is in the store.
/// Every accepted mention is known and in the journal with its body (the
/// journal is the record of every mention; a row in `mentions` is kept
/// only for those attached to an incident).
async fn assert_all_stored(store: &squall::store::Store, accepted: &[String], context: &str) {
    let journaled: std::collections::HashSet<String> = store
        .journal_entries()
        .await
        .expect("journal")
        .into_iter()
        .filter(|e| e.kind == "mention")
        .map(|e| {
            serde_json::from_value::<squall::mention::Mention>(e.payload)
                .expect("a journaled mention reads back whole")
                .id
        })
        .collect();
    for m in accepted {
        assert!(
            store.mention_known("mastodon", m).await.unwrap() && journaled.contains(m),
            "accepted mention {m} lost{context}"
        );
    }
}

#[derive(Debug, serde::Deserialize)]
struct Line {
    key: Option<String>,
    record: Value,
}

fn platform_record(path: &PathBuf) -> Vec<Line> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("record line"))
        .collect()
}

/// How long a kill point waits for an action to be under way.
const ACTION_WAIT: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_action_loses_nothing_and_does_nothing_twice() {
    let dir = tempfile::tempdir().expect("temp dir");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let mut accepted = Vec::new();
    let mut run = 0;
    let next = |n: &mut usize| {
        *n += 1;
        start(dir.path(), *n)
    };

    // A flood: 40 mentions, five of them complaints, open the incident.
    let server = next(&mut run);
    let ids: Vec<String> = (0..35).map(|i| format!("calm-{i}")).collect();
    accepted.extend(ingest(&http, &server.url, &ids, "love the new app").await);
    let ids: Vec<String> = (0..5).map(|i| format!("down-{i}")).collect();
    accepted.extend(ingest(&http, &server.url, &ids, "the site is down").await);
    let list = incidents(&http, &server.url).await;
    assert_eq!(list.len(), 1, "{list:?}");
    let id = list[0]["id"].as_str().unwrap().to_string();
    assert_eq!(list[0]["status"]["state"], "awaiting_approval");

    // Kill points while the status is posted and pinned on two slow
    // platforms: during the first post, then twice during the resumed work
    // after restarts, with mentions arriving all the while.
    let approve = format!("/v1/incidents/{id}/status/approve");
    let pending = command(&http, &server.url, approve.clone());
    let late: Vec<String> = (0..10).map(|i| format!("late-{i}")).collect();
    let batch = {
        let (http, url, late) = (http.clone(), server.url.clone(), late.clone());
        tokio::spawn(async move { ingest(&http, &url, &late, "still down?").await })
    };
    until_an_action_runs(dir.path(), ACTION_WAIT).await;
    let mut interrupted = vec![server.kill9(dir.path()).await];
    let _ = pending.await;
    accepted.extend(batch.await.unwrap());
    // The restarted server takes the interrupted actions up at once (the
    // dead process's leases are void); kill it again while it does.
    for i in 0..2 {
        let server = next(&mut run);
        // A client that got no answer retries; 409 means it went through.
        let inc = show(&http, &server.url, &id).await;
        if inc["status"]["state"] == "awaiting_approval" {
            // Fire and forget: the answer does not matter, the effect does.
            drop(command(&http, &server.url, approve.clone()));
        }
        let ids: Vec<String> = (0..5).map(|j| format!("restart-{i}-{j}")).collect();
        let batch = {
            let (http, url) = (http.clone(), server.url.clone());
            tokio::spawn(async move { ingest(&http, &url, &ids, "is it back?").await })
        };
        until_an_action_runs(dir.path(), ACTION_WAIT).await;
        interrupted.push(server.kill9(dir.path()).await);
        accepted.extend(batch.await.unwrap());
    }
    let server = next(&mut run);
    let inc = show(&http, &server.url, &id).await;
    if inc["status"]["state"] == "awaiting_approval" {
        assert_eq!(
            command(&http, &server.url, approve.clone()).await.unwrap(),
            Some(200)
        );
    }
    let inc = settled(&http, &server.url, &id).await;
    assert_eq!(inc["status"]["state"], "posted", "{inc:#}");

    // Resolve, and kill while the pins are being restored.
    let resolving = command(&http, &server.url, format!("/v1/incidents/{id}/resolve"));
    until_an_action_runs(dir.path(), ACTION_WAIT).await;
    interrupted.push(server.kill9(dir.path()).await);
    let _ = resolving.await;
    let server = next(&mut run);
    if show(&http, &server.url, &id).await["state"] != "resolved" {
        let again = command(&http, &server.url, format!("/v1/incidents/{id}/resolve"))
            .await
            .unwrap();
        assert_eq!(again, Some(200));
    }
    let inc = settled(&http, &server.url, &id).await;
    assert_eq!(inc["state"], "resolved", "{inc:#}");
    server.kill9(dir.path()).await;
    // Every kill landed while an action was running.
    assert!(
        interrupted.iter().all(|n| *n > 0),
        "kills did not hit actions in flight: {interrupted:?}"
    );

    // Nothing accepted was lost...
    let store = reopen(dir.path()).await;
    assert_all_stored(&store, &accepted, "").await;
    let failed = store
        .outbox_in_state(squall::store::OutboxState::Failed)
        .await
        .unwrap();
    assert!(failed.is_empty(), "dead letters: {failed:#?}");
    let timeline = store.timeline(&id).await.unwrap();
    let opened = timeline
        .iter()
        .filter(|e| e.kind == "incident_opened")
        .count();
    assert_eq!(opened, 1);
    store.close().await;

    // ...and nothing happened twice on the platforms.
    let record = platform_record(&dir.path().join("platforms.ndjson"));
    let mut posts_by_key: BTreeMap<String, usize> = BTreeMap::new();
    let mut pins: BTreeMap<(String, String), i32> = BTreeMap::new();
    for l in &record {
        let account = l.record["account"].as_str().unwrap_or_default().to_string();
        let post = l.record["id"].as_str().unwrap_or_default().to_string();
        match l.record["op"].as_str() {
            Some("post") => {
                *posts_by_key
                    .entry(l.key.clone().expect("posts carry keys"))
                    .or_default() += 1
            }
            Some("pin") => *pins.entry((account, post)).or_default() += 1,
            Some("unpin") => *pins.entry((account, post)).or_default() -= 1,
            _ => {}
        }
    }
    assert!(
        posts_by_key.values().all(|n| *n == 1),
        "a post was made twice: {posts_by_key:#?}"
    );
    // At least the status post and the resolution note on each account.
    assert!(posts_by_key.len() >= 4, "{posts_by_key:#?}");
    assert!(
        pins.values().all(|n| *n == 0),
        "pinned once, unpinned once each: {pins:#?}"
    );
    assert!(pins.len() >= 2, "{pins:#?}");

    // ...and each status pin is on the incident's timeline once, though the
    // process died between actions: an attempt's events are written with
    // its row's end, or not at all and the attempt is made again.
    let posted: std::collections::BTreeSet<&str> = record
        .iter()
        .filter(|l| l.record["op"] == "post")
        .filter_map(|l| l.record["id"].as_str())
        .collect();
    let status_pins: Vec<&String> = pins
        .keys()
        .map(|(_, p)| p)
        .filter(|p| posted.contains(p.as_str()))
        .collect();
    assert!(status_pins.len() >= 2, "{pins:#?}");
    for post in status_pins {
        let on_timeline = timeline
            .iter()
            .filter(|e| e.kind == "pinned" && e.detail["post"] == post.as_str())
            .count();
        assert_eq!(
            on_timeline, 1,
            "pin of {post} on the timeline: {timeline:#?}"
        );
    }
}

/// A small deterministic generator (xorshift64*): the torture's kill times
/// and choices are reproducible from the seed it prints.
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n.max(1)
    }
}

/// Kill torture: a long surge replayed while `squall serve` is killed with
/// `kill -9` at random moments, at least 50 times (`SQUALL_TORTURE_KILLS`),
/// with commanders approving and resolving as they would. Incidents open,
/// get their status posted and pinned on two slow platforms, and resolve,
/// over and over, across the kills. Afterwards: no accepted mention lost,
/// no action failed or carried out twice, no account ever held two squall
/// status pins at once, and every resolved incident restored its pins.
/// `SQUALL_TORTURE_SEED` replays a run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_torture_a_long_surge_survives_fifty_random_kill_9s() {
    let kills: usize = std::env::var("SQUALL_TORTURE_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let seed: u64 = std::env::var("SQUALL_TORTURE_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| chrono::Utc::now().timestamp_micros() as u64 | 1);
    println!("kill torture: {kills} kills, SQUALL_TORTURE_SEED={seed}");
    let mut dice = Dice(seed);
    let dir = tempfile::tempdir().expect("temp dir");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let mut accepted: Vec<String> = Vec::new();
    let mut interrupted = 0;
    let mut sent = 0usize;
    for run in 1..=kills {
        let server = start(dir.path(), run);
        // The commanders' part: approve a waiting status, sometimes resolve
        // a posted one, declare again once all is resolved (the cooldown
        // holds the surge trigger back). Their requests may die with the
        // server.
        let list = incidents(&http, &server.url).await;
        if list.iter().all(|i| i["state"] == "resolved") && !list.is_empty() {
            let (http, url) = (http.clone(), server.url.clone());
            drop(tokio::spawn(async move {
                let _ = http
                    .post(format!("{url}/v1/incidents"))
                    .bearer_auth(COMMANDER)
                    .json(&json!({"playbook": "outage", "note": "still down"}))
                    .send()
                    .await;
            }));
        }
        for inc in list {
            let id = inc["id"].as_str().unwrap_or_default().to_owned();
            if inc["state"] == "resolved" {
                continue;
            }
            if inc["status"]["state"] == "awaiting_approval" {
                drop(command(
                    &http,
                    &server.url,
                    format!("/v1/incidents/{id}/status/approve"),
                ));
            } else if inc["status"]["state"] == "posted" && dice.below(3) == 0 {
                drop(command(
                    &http,
                    &server.url,
                    format!("/v1/incidents/{id}/resolve"),
                ));
            }
        }
        // The surge goes on: batches of complaints and chatter until the kill.
        let feeder = {
            let (http, url) = (http.clone(), server.url.clone());
            let first = sent;
            tokio::spawn(async move {
                let mut got = Vec::new();
                for b in 0.. {
                    let ids: Vec<String> = (0..10).map(|j| format!("m-{first}-{b}-{j}")).collect();
                    let text = if b % 2 == 0 {
                        "the site is down"
                    } else {
                        "any news?"
                    };
                    got.extend(ingest(&http, &url, &ids, text).await);
                    if b >= 40 {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(15)).await;
                }
                got
            })
        };
        sent += 1000;
        tokio::time::sleep(Duration::from_millis(50 + dice.below(700))).await;
        if server.kill9(dir.path()).await > 0 {
            interrupted += 1;
        }
        accepted.extend(feeder.await.expect("feeder"));
    }

    // The last run: finish everything and resolve what is still open.
    let server = start(dir.path(), kills + 1);
    let deadline = Instant::now() + Duration::from_secs(120);
    let resolved = loop {
        let list = incidents(&http, &server.url).await;
        let mut open = 0;
        for inc in &list {
            if inc["state"] == "resolved" {
                continue;
            }
            open += 1;
            let id = inc["id"].as_str().unwrap_or_default();
            let path = if inc["status"]["state"] == "awaiting_approval" {
                format!("/v1/incidents/{id}/status/approve")
            } else {
                format!("/v1/incidents/{id}/resolve")
            };
            let _ = command(&http, &server.url, path).await;
        }
        if open == 0 {
            break list;
        }
        assert!(
            Instant::now() < deadline,
            "incidents never resolved: {list:#?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    for inc in &resolved {
        settled(&http, &server.url, inc["id"].as_str().unwrap_or_default()).await;
    }
    server.kill9(dir.path()).await;
    println!(
        "kill torture: {} incidents, {} mentions accepted, {interrupted} of {kills} kills \
         landed while an action was running",
        resolved.len(),
        accepted.len()
    );
    assert!(
        resolved.len() >= 2,
        "the surge opened incidents again and again"
    );
    assert!(
        interrupted >= kills / 10,
        "too few kills hit actions in flight: {interrupted}"
    );

    // No accepted mention lost, none journaled twice; no action failed.
    let store = reopen(dir.path()).await;
    assert_all_stored(&store, &accepted, &format!(" (seed {seed})")).await;
    let journaled = store
        .journal_entries()
        .await
        .expect("journal")
        .iter()
        .filter(|e| e.kind == "mention")
        .count();
    // A batch stored just before a kill may never have been answered: the
    // store may hold more than was acknowledged, never less, and journals
    // each stored mention once.
    let stored = store.count_mentions().await.expect("count") as usize;
    assert!(stored >= accepted.len());
    assert_eq!(
        journaled, stored,
        "each mention journaled once (seed {seed})"
    );
    let failed = store
        .outbox_in_state(squall::store::OutboxState::Failed)
        .await
        .unwrap();
    assert!(failed.is_empty(), "dead letters (seed {seed}): {failed:#?}");
    store.close().await;

    // On the platforms: each keyed post once; never two squall pins on an
    // account at once; every squall pin undone in the end.
    let record = platform_record(&dir.path().join("platforms.ndjson"));
    let mut posts_by_key: BTreeMap<String, usize> = BTreeMap::new();
    let mut ours: std::collections::BTreeSet<String> = Default::default();
    let mut pinned: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    for (i, l) in record.iter().enumerate() {
        let account = l.record["account"].as_str().unwrap_or_default().to_string();
        let post = l.record["id"].as_str().unwrap_or_default().to_string();
        match l.record["op"].as_str() {
            Some("post") => {
                *posts_by_key
                    .entry(l.key.clone().expect("posts carry keys"))
                    .or_default() += 1;
                ours.insert(post);
            }
            Some("pin") if ours.contains(&post) => {
                let now = pinned.entry(account.clone()).or_default();
                now.insert(post);
                assert!(
                    now.len() <= 1,
                    "{account} held two squall pins at record line {i} (seed {seed}): {now:?}"
                );
            }
            Some("unpin") => {
                pinned.entry(account).or_default().remove(&post);
            }
            _ => {}
        }
    }
    assert!(
        posts_by_key.values().all(|n| *n == 1),
        "a post was made twice (seed {seed}): {posts_by_key:#?}"
    );
    assert!(
        pinned.values().all(|p| p.is_empty()),
        "a resolved incident left its pin (seed {seed}): {pinned:?}"
    );
}
