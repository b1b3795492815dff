//! Ingest over HTTP: mentions per second and request latency of
//! `POST /v1/mentions`, NDJSON over loopback, against the real service
//! (engine task, SQLite file with `synchronous=FULL`, journal) started
//! in-process on a free port.
//!
//! A bounded load generator: `BENCH_CONCURRENCY` clients each send batches
//! of `BENCH_BATCH` mentions, until `BENCH_TOTAL` mentions were sent or, when
//! `BENCH_SECONDS` is set, until that many seconds have passed. Every
//! request's latency is recorded. Prints throughput overall and per
//! ten-second slice (a sustained rate, not a burst), and p50/p90/p99/max
//! latency; how many of the machine's cores the process used, by thread
//! (SQLite's worker threads apart from the async runtime's); then, from the
//! server's `/metrics`, how much of the wall time
//! each step of the engine task took (`squall_ingest_step_seconds`: journal,
//! decide, commit, publish) and how many mentions a group commit held.
//!
//! The load generator shares the machine with the server, so it is kept
//! cheap: each client builds its batch text once and, per request, only
//! writes a new id and timestamp into fixed-width fields of a copy.
//!
//! ```sh
//! cargo bench --bench ingest_http                                   # 50 000 mentions, batches of 500, 4 clients
//! BENCH_SECONDS=60 BENCH_BATCH=1000 cargo bench --bench ingest_http # sustained for a minute
//! ```

mod common;

use squall::server::ServeOptions;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Digits of the per-mention counter in an id.
const ID_DIGITS: usize = 12;
/// `2026-12-01T18:57:01.123Z`: RFC 3339, always this wide.
const TS_WIDTH: usize = 24;

/// One client's batch: the NDJSON text and where, in each line, the id's
/// counter and the timestamp are.
struct Batch {
    text: Vec<u8>,
    ids: Vec<usize>,
    stamps: Vec<usize>,
}

impl Batch {
    fn new(worker: usize, size: usize) -> Self {
        let mut text = Vec::with_capacity(size * 260);
        let (mut ids, mut stamps) = (Vec::new(), Vec::new());
        let counter = "0".repeat(ID_DIGITS);
        let stamp = "X".repeat(TS_WIDTH);
        for i in 0..size {
            // One in fifty complains: the keyword trigger has work to do.
            let said = if i % 50 == 0 {
                "the site is down"
            } else {
                "love the new release"
            };
            let head = format!(r#"{{"id":"w{worker}-"#);
            ids.push(text.len() + head.len());
            text.extend_from_slice(head.as_bytes());
            let middle = format!(
                r#"{counter}","platform":"mastodon","account":"acme-main","author":{{"id":"u{i}","handle":"@u{i}@example.social"}},"text":"{said}","lang":"en","created_at":""#
            );
            stamps.push(text.len() + middle.len());
            text.extend_from_slice(middle.as_bytes());
            text.extend_from_slice(stamp.as_bytes());
            text.extend_from_slice(b"\"}\n");
        }
        Self { text, ids, stamps }
    }

    /// The batch text with ids `first..first + size` and the time now.
    fn fill(&self, first: usize) -> Vec<u8> {
        let mut body = self.text.clone();
        let now = chrono::Utc::now()
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string();
        for (n, (&id, &stamp)) in self.ids.iter().zip(&self.stamps).enumerate() {
            let mut v = first + n;
            for d in body[id..id + ID_DIGITS].iter_mut().rev() {
                *d = b'0' + (v % 10) as u8;
                v /= 10;
            }
            body[stamp..stamp + TS_WIDTH].copy_from_slice(now.as_bytes());
        }
        body
    }
}

/// CPU seconds (user + system) each kind of thread of this process has
/// used so far, by thread name (`sqlx-sqlite-worker` runs SQLite,
/// `tokio-runtime-worker` the HTTP handlers, the engine task and the load
/// generator), read from `/proc/self/task/*/stat`. Linux only; empty
/// elsewhere. Threads that have ended are not counted.
fn cpu_by_thread() -> std::collections::BTreeMap<String, f64> {
    /// `/proc` counts CPU time in USER_HZ ticks, which Linux fixes at 100.
    const TICKS: f64 = 100.0;
    let mut by_name = std::collections::BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return by_name;
    };
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ...`: the name may hold spaces, so split at
        // the last parenthesis; utime and stime are fields 14 and 15.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = stat[open + 1..close].to_string();
        let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        *by_name.entry(name).or_insert(0.0) += (ticks(11) + ticks(12)) / TICKS;
    }
    by_name
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// When to stop sending.
#[derive(Clone, Copy)]
enum Bound {
    Batches(usize),
    Until(Instant),
}

/// What one request did: when it ended, how long it took, and how many
/// mentions the server reported accepted.
struct Sent {
    ended: Instant,
    took: Duration,
    accepted: usize,
    ok: bool,
}

#[tokio::main]
async fn main() {
    let size = env("BENCH_BATCH", 500);
    let concurrency = env("BENCH_CONCURRENCY", 4);
    let seconds = env("BENCH_SECONDS", 0);
    let total = env("BENCH_TOTAL", 50_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let mut loaded = squall::setup::load(Some(Path::new("tests/data/serve/squall.yaml")), &[]);
    let mut config = loaded.config.take().expect("test config");
    config.store_url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("bench.db").display()
    );
    config.server.max_batch = size.max(1);
    config.server.max_body_bytes = 64 << 20;
    let (service, base) = common::serve(config, loaded, &ServeOptions::default()).await;
    let url = format!("{base}/v1/mentions");

    let cpu_before = cpu_by_thread();
    let started = Instant::now();
    let bound = if seconds > 0 {
        Bound::Until(started + Duration::from_secs(seconds as u64))
    } else {
        Bound::Batches(total.div_ceil(size))
    };
    let next = Arc::new(AtomicUsize::new(0));
    let http = reqwest::Client::new();
    let mut workers = Vec::new();
    for w in 0..concurrency {
        let (http, url, next) = (http.clone(), url.clone(), next.clone());
        let batch = Batch::new(w, size);
        workers.push(tokio::spawn(async move {
            let mut sent = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                match bound {
                    Bound::Batches(b) if n >= b => break,
                    Bound::Until(t) if Instant::now() >= t => break,
                    _ => {}
                }
                let body = batch.fill(n * size);
                let t = Instant::now();
                let resp = http
                    .post(&url)
                    .bearer_auth("ingest-token")
                    .header("content-type", "application/x-ndjson")
                    .body(body)
                    .send()
                    .await
                    .expect("request");
                let ok = resp.status() == 200;
                let report: serde_json::Value = resp.json().await.unwrap_or_default();
                sent.push(Sent {
                    ended: Instant::now(),
                    took: t.elapsed(),
                    accepted: report["accepted"].as_u64().unwrap_or(0) as usize,
                    ok,
                });
            }
            sent
        }));
    }
    let mut sent = Vec::new();
    for w in workers {
        sent.extend(w.await.expect("worker"));
    }
    let elapsed = started.elapsed();
    let cpu_after = cpu_by_thread();
    let requests = sent.len();
    let accepted: usize = sent.iter().map(|s| s.accepted).sum();
    let refused = sent.iter().filter(|s| !s.ok).count();
    println!(
        "ingest over HTTP: {requests} NDJSON requests of {size} mentions, {concurrency} concurrent clients"
    );
    println!(
        "  throughput {:.0} mentions/s accepted ({accepted} in {:.2} s, {:.1} requests/s); {refused} requests not answered 200",
        accepted as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64(),
        requests as f64 / elapsed.as_secs_f64(),
    );
    let slice = Duration::from_secs(10);
    if elapsed >= slice * 2 {
        let mut per_slice = vec![0usize; (elapsed.as_secs() / 10 + 1) as usize];
        for s in &sent {
            per_slice[((s.ended - started).as_secs() / 10) as usize] += s.accepted;
        }
        let full = (elapsed.as_secs() / 10) as usize;
        let rates: Vec<String> = per_slice[..full]
            .iter()
            .map(|n| format!("{:.0}", *n as f64 / 10.0))
            .collect();
        println!("  per 10 s: {} mentions/s", rates.join(", "));
    }
    let mut latencies: Vec<Duration> = sent.iter().map(|s| s.took).collect();
    latencies.sort();
    println!(
        "  latency per request: p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.90).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
    // How much of the two cores the run used, and by which threads: the
    // evidence for whether ingest is bound by the machine or by a chain.
    let used: Vec<(String, f64)> = cpu_after
        .iter()
        .map(|(name, after)| (name.clone(), after - cpu_before.get(name).unwrap_or(&0.0)))
        .filter(|(_, secs)| *secs >= 0.01)
        .collect();
    let total: f64 = used.iter().map(|(_, secs)| secs).sum();
    if total > 0.0 {
        let wall = elapsed.as_secs_f64();
        let parts: Vec<String> = used
            .iter()
            .map(|(name, secs)| format!("{name} {:.2}", secs / wall))
            .collect();
        println!(
            "  CPU used: {:.2} cores on average ({})",
            total / wall,
            parts.join(", ")
        );
    }
    // Where the engine task's time went: its steps run one after the
    // other, so a step's sum over the wall time is the share of the run it
    // kept the chain busy.
    let exposition = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    let steps: Vec<String> = ["journal", "decide", "commit", "publish"]
        .iter()
        .filter_map(|step| {
            let key = format!("squall_ingest_step_seconds_sum{{step=\"{step}\"}} ");
            let sum: f64 = exposition
                .lines()
                .find_map(|l| l.strip_prefix(&key))?
                .trim()
                .parse()
                .ok()?;
            Some(format!(
                "{step} {sum:.2} s ({:.0}%)",
                100.0 * sum / elapsed.as_secs_f64()
            ))
        })
        .collect();
    println!(
        "  engine task, per step (of the wall time): {}",
        steps.join(", ")
    );
    let groups: f64 = exposition
        .lines()
        .find_map(|l| l.strip_prefix("squall_ingest_step_seconds_count{step=\"journal\"} "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0);
    if groups > 0.0 {
        println!(
            "  group commits: {groups:.0}, {:.0} mentions each on average",
            accepted as f64 / groups
        );
    }
    drop(service);
}
