//! A real Prometheus Alertmanager delivers to squall: a firing alert pushed
//! into Alertmanager opens an incident through the playbook's `alert`
//! trigger, and the resolved alert resolves it.
//!
//! Needs the `prometheus-alertmanager` binary (Debian package of that name;
//! `tests/run` installs it). Without it the test fails and says so.

mod serve;

use serde_json::{json, Value};
use serve::{TestApp, MONITOR, VIEWER};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BINARY: &str = "prometheus-alertmanager";

/// Kills Alertmanager when the test ends, however it ends.
struct Peer(std::process::Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

async fn until<T>(what: &str, secs: u64, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_fired_in_alertmanager_opens_and_its_resolution_resolves_an_incident() {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {BINARY}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        found,
        "`{BINARY}` is not installed: `apt-get install -y --no-install-recommends prometheus-alertmanager` (tests/peers/install.sh does this)"
    );
    let app = TestApp::start().await;
    let squall = app.listen().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("alertmanager.yml");
    std::fs::write(
        &config,
        format!(
            "route: {{receiver: squall, group_by: [alertname, service], group_wait: 1s, group_interval: 1s, repeat_interval: 1h}}\n\
             receivers:\n  - name: squall\n    webhook_configs:\n      - url: {squall}/v1/alerts/alertmanager\n        send_resolved: true\n        http_config: {{authorization: {{type: Bearer, credentials: {MONITOR}}}}}\n"
        ),
    )
    .unwrap();
    let port = free_port();
    let am = format!("http://127.0.0.1:{port}");
    let _peer = Peer(
        Command::new(BINARY)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("alertmanager.log")).unwrap())
            .spawn()
            .expect("alertmanager starts"),
    );
    let http = reqwest::Client::new();
    until("alertmanager to be ready", 20, async || {
        let r = http.get(format!("{am}/-/ready")).send().await.ok()?;
        r.status().is_success().then_some(())
    })
    .await;

    let labels = json!({"alertname": "SiteDown", "service": "web", "severity": "critical"});
    let starts = chrono::Utc::now();
    let fire = http
        .post(format!("{am}/api/v2/alerts"))
        .json(&json!([{"labels": labels, "annotations": {"summary": "web is down"}, "startsAt": starts}]))
        .send()
        .await
        .unwrap();
    assert!(
        fire.status().is_success(),
        "{}",
        fire.text().await.unwrap_or_default()
    );
    let id: String = until("squall to open an incident", 20, async || {
        let (_, list) = app
            .call(axum::http::Method::GET, "/v1/incidents", Some(VIEWER), None)
            .await;
        let first: &Value = list.as_array()?.first()?;
        Some(first["id"].as_str()?.to_string())
    })
    .await;
    let inc = app.incident(&id).await;
    assert_eq!(inc["trigger_kind"], "alert", "{inc}");
    assert_eq!(inc["playbook"], "outage");

    let resolve = http
        .post(format!("{am}/api/v2/alerts"))
        .json(&json!([{"labels": labels, "startsAt": starts, "endsAt": chrono::Utc::now()}]))
        .send()
        .await
        .unwrap();
    assert!(resolve.status().is_success());
    until("squall to resolve the incident", 30, async || {
        let inc = app.incident(&id).await;
        (inc["state"] == "resolved").then_some(())
    })
    .await;
    let (_, all) = app
        .call(
            axum::http::Method::GET,
            "/v1/incidents?all=true",
            Some(VIEWER),
            None,
        )
        .await;
    assert_eq!(
        all.as_array().unwrap().len(),
        1,
        "one alert, one incident: {all}"
    );
}
