//! NATS JetStream ingest with the real binary and the real NATS server at
//! 127.0.0.1:4222 (stream, subject and consumer names of this test's own):
//! two `squall serve` instances on one Postgres database consume the stream
//! with a shared durable consumer and acknowledge only what is stored. One is
//! killed with `kill -9` mid-stream; every mention published ends up
//! journaled exactly once.

mod cluster_peers;

use cluster_peers::{unique_name, PgDatabase};
use serde_json::json;
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

struct Names {
    stream: String,
    subject: String,
    consumer: String,
}

fn start(dir: &Path, store: &str, names: &Names, name: &str, http: bool) -> (Child, String) {
    let nats = cluster_peers::nats_url();
    let mut args = vec!["--listen", "127.0.0.1:0", "--instance", name];
    args.extend([
        "--config",
        "tests/data/serve/squall.yaml",
        "--nats-url",
        &nats,
    ]);
    args.extend([
        "--nats-stream",
        &names.stream,
        "--nats-subject",
        &names.subject,
    ]);
    args.extend(["--nats-consumer", &names.consumer]);
    if http {
        args.push("--nats-http");
    }
    cluster_peers::spawn_serve(
        &args,
        &[("SQUALL_STORE", store), ("SQUALL_LOG", "info")],
        &dir.join(format!("{name}.log")),
    )
}

fn mention(id: &str) -> String {
    json!({
        "id": id, "platform": "mastodon", "account": "acme-main",
        "author": {"id": format!("u-{id}"), "handle": format!("@{id}@example.social")},
        "text": "is the app slow for anyone else?", "lang": "en",
        "created_at": chrono::Utc::now(),
    })
    .to_string()
}

async fn count(pool: &sqlx::PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(pool)
        .await
        .expect("count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mentions_on_jetstream_are_stored_once_even_when_a_consumer_is_killed() {
    let db = PgDatabase::create().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let names = Names {
        stream: unique_name("SQUALL_TEST"),
        subject: unique_name("squall.test"),
        consumer: "squall".to_owned(),
    };
    let nats = cluster_peers::nats().await;
    let js = async_nats::jetstream::new(nats.clone());
    let (mut a, a_url) = start(dir.path(), &db.url, &names, "nats-a", false);
    let (mut b, b_url) = start(dir.path(), &db.url, &names, "nats-b", true);
    let pool = sqlx::PgPool::connect(&db.url).await.expect("pool");

    // Both ready: store and bus answer.
    let http = reqwest::Client::new();
    for url in [&a_url, &b_url] {
        let ready = http
            .get(format!("{url}/readyz"))
            .send()
            .await
            .expect("readyz");
        assert_eq!(ready.status(), 200);
    }

    let publish = |from: usize, to: usize| {
        let js = js.clone();
        let subject = names.subject.clone();
        async move {
            for i in from..to {
                let id = format!("nats-{i}");
                let mut headers = async_nats::HeaderMap::new();
                headers.insert("Nats-Msg-Id", format!("mastodon/{id}").as_str());
                js.publish_with_headers(subject.clone(), headers, mention(&id).into())
                    .await
                    .expect("publish")
                    .await
                    .expect("stored by JetStream");
            }
        }
    };
    publish(0, 300).await;
    // One message that is not a mention: terminated, never stored.
    js.publish(names.subject.clone(), "not a mention".into())
        .await
        .expect("publish")
        .await
        .expect("stored");
    // Kill one consumer while the stream is being worked, then publish more.
    tokio::time::sleep(Duration::from_millis(100)).await;
    a.kill().expect("SIGKILL");
    a.wait().expect("reaped");
    publish(300, 600).await;
    // HTTP ingest on the instance with --nats-http goes through the stream.
    let body: Vec<String> = (600..650).map(|i| mention(&format!("nats-{i}"))).collect();
    let answer = http
        .post(format!("{b_url}/v1/mentions"))
        .bearer_auth("ingest-token")
        .body(body.join("\n"))
        .send()
        .await
        .expect("ingest");
    assert_eq!(answer.status(), 200);

    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let stored = count(&pool, "SELECT COUNT(*) FROM mention_keys").await;
        if stored >= 650 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {stored} of 650 mentions stored"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Redeliveries of what the killed consumer had fetched are stored once.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(count(&pool, "SELECT COUNT(*) FROM mention_keys").await, 650);
    assert_eq!(
        count(
            &pool,
            "SELECT COUNT(*) FROM inputs i, json_array_elements(i.payload::json) m \
             WHERE i.kind = 'mentions'"
        )
        .await,
        650,
        "each mention journaled once"
    );
    let _ = b.kill();
    let _ = b.wait();
    let _ = js.delete_stream(&names.stream).await;
    pool.close().await;
}
