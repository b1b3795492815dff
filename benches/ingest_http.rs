//! Ingest over HTTP: mentions per second and request latency of
//! `POST /v1/mentions`, NDJSON over loopback, against the real service
//! (engine task, SQLite file with `synchronous=FULL`, journal) started
//! in-process on a free port.
//!
//! A bounded load generator: `CONCURRENCY` clients each send batches of
//! `BATCH` mentions until `TOTAL` mentions were sent; every request's
//! latency is recorded. Prints throughput and p50/p90/p99/max latency.
//!
//! ```sh
//! cargo bench --bench ingest_http                       # defaults below
//! BENCH_TOTAL=200000 BENCH_BATCH=1000 BENCH_CONCURRENCY=8 cargo bench --bench ingest_http
//! ```

use squall::server::{build, ServeOptions};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn batch(worker: usize, n: usize, size: usize) -> String {
    let now = chrono::Utc::now().to_rfc3339();
    let mut body = String::with_capacity(size * 260);
    for i in 0..size {
        let id = format!("w{worker}-b{n}-{i}");
        // One in fifty complains: the keyword trigger has work to do.
        let text = if i % 50 == 0 {
            "the site is down"
        } else {
            "love the new release"
        };
        body.push_str(&format!(
            r#"{{"id":"{id}","platform":"mastodon","account":"acme-main","author":{{"id":"u{i}","handle":"@u{i}@example.social"}},"text":"{text}","lang":"en","created_at":"{now}"}}"#
        ));
        body.push('\n');
    }
    body
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() {
    let total = env("BENCH_TOTAL", 50_000);
    let size = env("BENCH_BATCH", 500);
    let concurrency = env("BENCH_CONCURRENCY", 4);
    let dir = tempfile::tempdir().expect("temp dir");
    let loaded = squall::setup::load(Some(Path::new("tests/data/serve/squall.yaml")), &[]);
    let mut config = loaded.config.expect("test config");
    config.store_url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("bench.db").display()
    );
    config.server.max_batch = size.max(1);
    config.server.max_body_bytes = 64 << 20;
    let service = build(
        Arc::new(config),
        loaded.playbooks,
        Arc::new(loaded.templates),
        &ServeOptions::default(),
    )
    .await
    .expect("service");
    let router = service.router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!(
        "http://{}/v1/mentions",
        listener.local_addr().expect("addr")
    );
    tokio::spawn(async move { axum::serve(listener, router).await });

    let batches = total.div_ceil(size);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let http = reqwest::Client::new();
    let started = Instant::now();
    let mut workers = Vec::new();
    for w in 0..concurrency {
        let (http, url, next) = (http.clone(), url.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut refused = 0usize;
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if n >= batches {
                    break;
                }
                let body = batch(w, n, size);
                let t = Instant::now();
                let resp = http
                    .post(&url)
                    .bearer_auth("ingest-token")
                    .header("content-type", "application/x-ndjson")
                    .body(body)
                    .send()
                    .await
                    .expect("request");
                let status = resp.status();
                let _ = resp.bytes().await;
                latencies.push(t.elapsed());
                if status != 200 {
                    refused += 1;
                }
            }
            (latencies, refused)
        }));
    }
    let mut latencies = Vec::new();
    let mut refused = 0;
    for w in workers {
        let (l, r) = w.await.expect("worker");
        latencies.extend(l);
        refused += r;
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let sent = batches * size;
    println!(
        "ingest over HTTP: {sent} mentions in {batches} NDJSON requests of {size}, {concurrency} concurrent clients"
    );
    println!(
        "  throughput {:.0} mentions/s ({:.1} requests/s) in {:.2} s; {refused} requests not answered 200",
        sent as f64 / elapsed.as_secs_f64(),
        batches as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64()
    );
    println!(
        "  latency per request: p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.90).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
    drop(service);
}
