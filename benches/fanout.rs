//! Surge to pinned: how long from the moment an incident opens until its
//! status is pinned on every account, with 20 accounts on four platforms
//! whose APIs each take 100 ms to answer.
//!
//! ```sh
//! cargo bench --bench fanout [-- --accounts 20 --latency-ms 100 --runs 5 --concurrency 32]
//! ```
//!
//! `--concurrency 1` serves one account at a time, as the executor did
//! before fan-out was concurrent: the baseline.
//!
//! Each account is its own local server from `tests/fake_platforms/` (the
//! same ones the contract suite checks the adapters against), with budget
//! headers on every answer; the adapters are the real ones, built by
//! `adapters::connect`; the runtime, engine, SQLite store and outbox are the
//! production ones. The clock starts when the `declare` command is handed
//! to the runtime and stops when it returns, by which time every due intent
//! has been carried out. Printed: each run, then the median.

#[path = "../tests/fake_platforms/mod.rs"]
mod fake_platforms;

use fake_platforms::{Kind, Server};
use squall::actions::executor::Executor;
use squall::engine::input::{Command, CommandKind, Input};
use squall::engine::Engine;
use squall::runtime::Runtime;
use squall::store::Store;
use squall::templates::TemplateSet;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const SECRET: &str = "bench-credential";
const PLATFORMS: [Kind; 4] = [Kind::Mastodon, Kind::Bluesky, Kind::Telegram, Kind::Discord];

fn arg(args: &[String], name: &str, default: u64) -> u64 {
    args.windows(2)
        .find(|w| w[0] == name)
        .and_then(|w| w[1].parse().ok())
        .unwrap_or(default)
}

/// One run: fresh servers, store and runtime; returns the time to pinned
/// everywhere and the number of platform calls made.
async fn run(accounts: usize, latency: Duration, concurrency: usize) -> (Duration, usize) {
    let mut servers: Vec<(String, Kind, Server)> = Vec::new();
    for i in 0..accounts {
        let kind = PLATFORMS[i % PLATFORMS.len()];
        let server = kind.start(SECRET).await.with_latency(latency);
        kind.seed(&server.fake, "Welcome! Our FAQ.", true);
        servers.push((format!("acct-{i:02}"), kind, server));
    }
    let mut yaml =
        String::from("brand: {name: Acme, status_page: https://status.acme.example}\naccounts:\n");
    for (name, kind, server) in &servers {
        yaml.push_str(&kind.account_yaml(name, server, "BENCH_SECRET"));
    }
    yaml.push_str("staff:\n  ana: {name: Ana Nowak}\nroles:\n  commander: [ana]\n");
    let names: Vec<&str> = servers.iter().map(|(n, _, _)| n.as_str()).collect();
    let playbook = format!(
        "name: outage\ntriggers: [{{manual: {{}}}}]\non_open:\n  - pin_status: {{accounts: [{}], template: status/site-down, approval: none}}\n",
        names.join(", ")
    );
    let cfg = Arc::new(fake_platforms::config(&yaml));
    let (templates, problems) = TemplateSet::load_dir(Path::new("templates"), "en");
    assert!(problems.is_empty(), "{problems:#?}");
    let (pb, diags) = squall::playbook::parse(
        &playbook,
        Path::new("playbooks/outage.yaml"),
        &cfg,
        &templates,
    );
    assert!(!squall::diagnostics::has_errors(&diags), "{diags:#?}");
    let env = |n: &str| (n == "BENCH_SECRET").then(|| SECRET.to_owned());
    let adapters = fake_platforms::connect(&cfg, &env, Duration::from_secs(10)).expect("connect");
    let store = Store::open("sqlite::memory:").await.expect("store");
    let now = chrono::Utc::now();
    let engine = Engine::new(
        cfg.clone(),
        vec![pb.expect("playbook")],
        Arc::new(templates),
        now,
    );
    let executor =
        Executor::new(store.clone(), adapters, cfg, "bench").with_concurrency(concurrency);
    let mut rt = Runtime::new(engine, store, executor);
    let declare = Input::Command(Command {
        by: "ana".into(),
        kind: CommandKind::Declare {
            playbook: "outage".into(),
            note: None,
        },
    });
    let started = Instant::now();
    let events = rt.submit(now, declare).await.expect("submit");
    let took = started.elapsed();
    let pinned = events
        .iter()
        .filter(|e| e.kind.as_str() == "pinned")
        .count();
    assert_eq!(
        pinned,
        accounts,
        "every account pinned: {:?}",
        events.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>()
    );
    let calls = servers.iter().map(|(_, _, s)| s.fake.calls().len()).sum();
    (took, calls)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let accounts = arg(&args, "--accounts", 20) as usize;
    let latency = Duration::from_millis(arg(&args, "--latency-ms", 100));
    let runs = arg(&args, "--runs", 5).max(1);
    let concurrency = arg(&args, "--concurrency", 32) as usize;
    let mut times = Vec::new();
    for i in 1..=runs {
        let (took, calls) = run(accounts, latency, concurrency).await;
        println!("run {i}: {accounts} accounts pinned in {:.0} ms ({calls} platform calls of {} ms each)", took.as_secs_f64() * 1000.0, latency.as_millis());
        times.push(took);
    }
    times.sort();
    let median = times[times.len() / 2];
    println!("median: {:.0} ms from declare to pinned on all {accounts} accounts (concurrency {concurrency})", median.as_secs_f64() * 1000.0);
}
