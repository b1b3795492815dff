//! End-to-end ingest throughput of a cluster of 1, 2 and 3 `squall serve`
//! instances (the real binary) on one Postgres database (127.0.0.1:5432, a
//! database of the bench's own): mentions are posted over HTTP, spread
//! round-robin over the instances, and the clock stops when the engine
//! leader has applied the last of them (`cluster_leader.applied_seq`).
//!
//! `cargo bench --bench cluster_ingest` (env `SQUALL_BENCH_MENTIONS`, default
//! 6000; `SQUALL_BENCH_INSTANCES`, default `1,2,3`).

#[path = "../tests/cluster_peers/mod.rs"]
mod cluster_peers;

use serde_json::json;
use std::process::Child;
use std::time::{Duration, Instant};

const BATCH: usize = 100;
/// Requests in flight per instance.
const IN_FLIGHT: usize = 2;

fn start(dir: &std::path::Path, store: &str, name: &str) -> (Child, String) {
    cluster_peers::spawn_serve(
        &["--listen", "127.0.0.1:0", "--instance", name],
        &[
            ("SQUALL_CONFIG", "tests/data/serve/squall.yaml"),
            ("SQUALL_STORE", store),
            ("SQUALL_LOG", "warn,squall::server=info"),
        ],
        &dir.join(format!("{name}.log")),
    )
}

fn body(from: usize) -> String {
    (from..from + BATCH)
        .map(|i| {
            json!({
                "id": format!("m-{i}"), "platform": "mastodon", "account": "acme-main",
                "author": {"id": format!("u-{}", i % 997), "handle": format!("@u{}@example.social", i % 997)},
                "text": "does anyone know when the new app version ships?", "lang": "en",
                "created_at": chrono::Utc::now(),
            })
            .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

async fn run(instances: usize, mentions: usize) -> (f64, f64) {
    let db = cluster_peers::PgDatabase::create().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut nodes: Vec<(Child, String)> = (0..instances)
        .map(|i| start(dir.path(), &db.url, &format!("bench-{i}")))
        .collect();
    let pool = sqlx::PgPool::connect(&db.url).await.expect("pool");
    while sqlx::query_scalar::<_, i64>("SELECT epoch FROM cluster_leader")
        .fetch_one(&pool)
        .await
        .expect("leader")
        == 0
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let http = reqwest::Client::new();
    let urls: Vec<String> = nodes.iter().map(|(_, u)| u.clone()).collect();
    let started = Instant::now();
    let batches: Vec<usize> = (0..mentions / BATCH).map(|b| b * BATCH).collect();
    let lanes = instances * IN_FLIGHT;
    let mut tasks = Vec::new();
    for lane in 0..lanes {
        let mine: Vec<usize> = batches.iter().copied().skip(lane).step_by(lanes).collect();
        let (http, url) = (http.clone(), urls[lane % instances].clone());
        tasks.push(tokio::spawn(async move {
            for from in mine {
                loop {
                    let r = http
                        .post(format!("{url}/v1/mentions"))
                        .bearer_auth("ingest-token")
                        .body(body(from))
                        .send()
                        .await;
                    if matches!(&r, Ok(r) if r.status() == 200) {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("lane");
    }
    let accepted = started.elapsed();
    let last: i64 = sqlx::query_scalar("SELECT MAX(seq) FROM inputs")
        .fetch_one(&pool)
        .await
        .expect("journal");
    loop {
        let applied: i64 = sqlx::query_scalar("SELECT applied_seq FROM cluster_leader")
            .fetch_one(&pool)
            .await
            .expect("leader");
        if applied >= last {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let applied = started.elapsed();
    for (child, _) in &mut nodes {
        let _ = child.kill();
        let _ = child.wait();
    }
    pool.close().await;
    let n = mentions as f64;
    (n / accepted.as_secs_f64(), n / applied.as_secs_f64())
}

#[tokio::main]
async fn main() {
    let mentions: usize = std::env::var("SQUALL_BENCH_MENTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6000);
    let counts: Vec<usize> = std::env::var("SQUALL_BENCH_INSTANCES")
        .unwrap_or_else(|_| "1,2,3".to_owned())
        .split(',')
        .filter_map(|c| c.trim().parse().ok())
        .collect();
    println!("{mentions} mentions over HTTP in batches of {BATCH}, {IN_FLIGHT} requests in flight per instance");
    println!("instances  accepted/s  applied by the leader/s");
    for n in counts {
        let (accepted, applied) = run(n, mentions).await;
        println!("{n:>9}  {accepted:>10.0}  {applied:>23.0}");
    }
}
