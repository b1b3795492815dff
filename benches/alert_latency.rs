//! Alert to action: how long from a monitoring alert reaching squall until
//! squall's `webhook` step has delivered its call, next to how long
//! Prometheus Alertmanager (the real one, `prometheus-alertmanager`) takes
//! from an alert posted to it until its webhook receiver is called, in the
//! same run, on the same machine, to the same local receiver.
//!
//! Alertmanager is given its fastest routing (`group_wait: 0s`); squall runs
//! in process with its production runtime (SQLite file, journal, outbox,
//! the real webhook adapter). Each alert carries a new `service` label, so
//! each one is a new Alertmanager group and a new squall incident; alerts
//! are sent one at a time.
//!
//! ```sh
//! cargo bench --bench alert_latency [-- --runs 20]
//! ```

mod common;

use squall::server::ServeOptions;
use std::net::TcpListener as StdListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

const MONITOR: &str = "monitor-token";

struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A receiver that reports each call's body as it arrives.
async fn receiver() -> (String, mpsc::UnboundedReceiver<(String, Instant)>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: String| {
            let tx = tx.clone();
            async move {
                let _ = tx.send((body, Instant::now()));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, rx)
}

/// When the first call whose body contains `needle` arrived.
async fn wait_for(rx: &mut mpsc::UnboundedReceiver<(String, Instant)>, needle: &str) -> Instant {
    loop {
        let (body, at) = tokio::time::timeout(Duration::from_secs(30), rx.recv())
            .await
            .expect("the webhook arrives within 30 s")
            .expect("receiver alive");
        if body.contains(needle) {
            return at;
        }
    }
}

fn summary(name: &str, mut d: Vec<Duration>) {
    d.sort();
    let ms = |x: Duration| x.as_secs_f64() * 1e3;
    println!(
        "{name:<40} median {:>8.1} ms   min {:>8.1} ms   max {:>8.1} ms   ({} alerts)",
        ms(d[d.len() / 2]),
        ms(d[0]),
        ms(d[d.len() - 1]),
        d.len()
    );
}

async fn squall(dir: &Path, hook: &str) -> String {
    let root = env!("CARGO_MANIFEST_DIR");
    std::fs::create_dir_all(dir.join("playbooks")).expect("dir");
    std::fs::write(
        dir.join("playbooks/page.yaml"),
        format!(
            "name: page\ntitle: Service down\ntriggers:\n  - alert: {{source: webhook, labels: {{alertname: BenchDown}}}}\n\
             incident: {{group_by: [\"label:service\"], max_per_hour: 100000}}\n\
             on_open:\n  - webhook: {{url: \"{hook}\", template: webhook/statuspage}}\n"
        ),
    )
    .expect("playbook");
    let base = std::fs::read_to_string(format!("{root}/tests/data/serve/squall.yaml"))
        .expect("test config")
        .replace(
            "playbooks: playbooks",
            &format!("playbooks: {}", dir.join("playbooks").display()),
        )
        .replace(
            "templates: ../../../templates",
            &format!("templates: {root}/templates"),
        );
    let config_path = dir.join("squall.yaml");
    std::fs::write(&config_path, base).expect("config");
    let mut loaded = squall::setup::load(Some(&config_path), &[]);
    let mut config = loaded.config.take().expect("bench config");
    config.store_url = format!("sqlite://{}?mode=rwc", dir.join("bench.db").display());
    let options = ServeOptions {
        live: true,
        ..ServeOptions::default()
    };
    let (service, url) = common::serve(config, loaded, &options).await;
    std::mem::forget(service); // lives until the bench ends
    url
}

fn main() {
    // The test brand's platform credentials: set before any thread starts.
    // No platform is called (the playbook only calls the receiver).
    for (k, v) in [
        ("ACME_MASTODON_TOKEN", "unused"),
        ("ACME_BSKY_ID", "unused"),
        ("ACME_BSKY_PASSWORD", "unused"),
    ] {
        // SAFETY: single-threaded here, before the runtime starts.
        unsafe { std::env::set_var(k, v) };
    }
    let args: Vec<String> = std::env::args().collect();
    let runs: usize = args
        .windows(2)
        .find(|w| w[0] == "--runs")
        .and_then(|w| w[1].parse().ok())
        .unwrap_or(20);
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(bench(runs));
}

async fn bench(runs: usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (hook, mut rx) = receiver().await;
    let http = reqwest::Client::new();

    // Alertmanager, routed to the receiver at once.
    let am_port = free_port();
    let am_config = dir.path().join("alertmanager.yml");
    std::fs::write(
        &am_config,
        format!(
            "route: {{receiver: r, group_by: [alertname, service], group_wait: 0s, group_interval: 1s, repeat_interval: 1h}}\n\
             receivers:\n  - name: r\n    webhook_configs:\n      - url: {hook}\n"
        ),
    )
    .expect("alertmanager config");
    let _am = Peer(
        Command::new("prometheus-alertmanager")
            .arg(format!("--config.file={}", am_config.display()))
            .arg(format!(
                "--storage.path={}",
                dir.path().join("am").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{am_port}"))
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus-alertmanager is installed (tests/peers/install.sh installs it)"),
    );
    let am = format!("http://127.0.0.1:{am_port}");
    let ready = Instant::now();
    while !http
        .get(format!("{am}/-/ready"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(
            ready.elapsed() < Duration::from_secs(20),
            "alertmanager ready"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let squall = squall(dir.path(), &hook).await;

    let mut am_times = Vec::new();
    let mut squall_times = Vec::new();
    for i in 0..runs {
        let service = format!("svc-{}", 1000 + i);
        let labels = serde_json::json!({"alertname": "BenchDown", "service": service});
        let t = Instant::now();
        let r = http
            .post(format!("{am}/api/v2/alerts"))
            .json(&serde_json::json!([{"labels": labels, "startsAt": chrono::Utc::now()}]))
            .send()
            .await
            .expect("alert to alertmanager");
        assert!(r.status().is_success());
        am_times.push(wait_for(&mut rx, &service).await - t);

        let service = format!("svc-{}", 5000 + i);
        let t = Instant::now();
        let r = http
            .post(format!("{squall}/v1/alerts/webhook"))
            .bearer_auth(MONITOR)
            .json(&serde_json::json!({"status": "firing", "labels": {"alertname": "BenchDown", "service": service}}))
            .send()
            .await
            .expect("alert to squall");
        assert!(
            r.status().is_success(),
            "{}",
            r.text().await.unwrap_or_default()
        );
        // One alert at a time: the next call in squall's template is its.
        squall_times.push(wait_for(&mut rx, "\"incident\"").await - t);
    }
    println!("alert to webhook call, {runs} alerts each, one at a time:");
    summary("Alertmanager (group_wait: 0s)", am_times);
    summary("squall (alert -> incident -> webhook step)", squall_times);
}
