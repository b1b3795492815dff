//! The command-centre dashboard in a real headless Chromium: the real
//! `squall serve` binary on a free port, a SQLite store in a temporary
//! directory and the simulated platforms, driven by
//! `tests/browser/dashboard.mjs` (playwright-core over Debian's `chromium`).
//!
//! The script signs in, replays a surge of complaints in five languages
//! into the running squall, watches the incident appear, approves the
//! status text, sees it pinned on every account (displacing Bluesky's
//! welcome post), approves and sends a reply draft, resolves, and sees the
//! welcome post restored; it saves a screenshot of every screen at 1280×800
//! and at phone size under `target/screenshots/`. This test then checks the
//! platforms' own record: what the dashboard showed really happened.
//!
//! Needs `chromium` (`apt-get install chromium`), Node.js and the script's
//! node_modules (`npm ci --prefix tests/browser`); `tests/run` installs
//! Chromium and the node_modules. Without them the test fails and says so.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn chromium() -> PathBuf {
    PathBuf::from(std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()))
}

/// Fails, saying how to install them, when the browser, node or the
/// script's node_modules are missing (`tests/run` installs the first and
/// the last).
fn require_peers(repo: &Path) {
    let browser = chromium();
    assert!(
        browser.exists(),
        "{} is missing: install Debian's chromium \
         (apt-get install -y --no-install-recommends chromium) or set CHROMIUM; tests/peers/install.sh does this",
        browser.display()
    );
    let driver = repo.join("tests/browser/node_modules/playwright-core/package.json");
    assert!(
        driver.exists(),
        "playwright-core is missing: run `npm ci --prefix tests/browser` (needs node and npm); tests/run does this"
    );
    let node = Command::new("node").arg("--version").output();
    assert!(
        node.is_ok_and(|o| o.status.success()),
        "node is missing: install Node.js 18 or newer"
    );
}

struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The simulated accounts as a brand leaves them: a welcome post pinned on
/// Mastodon and on Bluesky (which allows one pin).
fn seed_platforms(path: &Path) {
    let lines = [
        r#"{"key":null,"record":{"op":"post","account":"acme-main","id":"acme-main-welcome","text":"Welcome! Support hours and FAQ."}}"#,
        r#"{"key":null,"record":{"op":"pin","account":"acme-main","id":"acme-main-welcome"}}"#,
        r#"{"key":null,"record":{"op":"post","account":"acme-bsky","id":"acme-bsky-welcome","text":"Witamy! Godziny pomocy i FAQ."}}"#,
        r#"{"key":null,"record":{"op":"pin","account":"acme-bsky","id":"acme-bsky-welcome"}}"#,
    ];
    std::fs::write(path, lines.join("\n") + "\n").expect("seed the platforms");
}

fn start(dir: &Path) -> Server {
    let log = dir.join("serve.log");
    let child = Command::new(env!("CARGO_BIN_EXE_squall"))
        .args([
            "serve",
            "--config",
            "tests/data/dashboard/squall.yaml",
            "--listen",
            "127.0.0.1:0",
        ])
        .arg("--sim-log")
        .arg(dir.join("platforms.ndjson"))
        .env(
            "SQUALL_STORE",
            format!("sqlite://{}?mode=rwc", dir.join("squall.db").display()),
        )
        .env("SQUALL_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log file"))
        .spawn()
        .expect("squall serve starts");
    let mut server = Server {
        child,
        url: String::new(),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if let Some(rest) = text.split("squall listening on ").nth(1) {
            server.url = rest.lines().next().unwrap_or_default().trim().to_string();
            return server;
        }
        assert!(
            Instant::now() < deadline,
            "squall serve did not start:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The simulated platforms' record: (op, account, id) in order.
fn record(path: &Path) -> Vec<(String, String, String)> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|l| {
            let r = &l["record"];
            let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
            (s("op"), s("account"), s("id"))
        })
        .collect()
}

/// Runs `tests/browser/{script}` against `server` and fails with its
/// output and squall's log unless it succeeds. Returns what it printed.
fn run_script(repo: &Path, script: &str, server: &Server, dir: &Path) -> String {
    let out = Command::new("node")
        .arg(repo.join("tests/browser").join(script))
        .env("SQUALL_URL", &server.url)
        .env("SHOTS", repo.join("target/screenshots"))
        .env("CHROMIUM", chromium())
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let log = std::fs::read_to_string(dir.join("serve.log")).unwrap_or_default();
    assert!(
        out.status.success(),
        "{script} failed ({}):\n{stdout}\n{stderr}\nsquall's log:\n{log}",
        out.status
    );
    stdout
}

#[test]
fn a_commander_runs_an_outage_from_the_dashboard() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    require_peers(&repo);
    let dir = tempfile::tempdir().expect("temp dir");
    let platforms = dir.path().join("platforms.ndjson");
    seed_platforms(&platforms);
    let server = start(dir.path());
    let shots = repo.join("target/screenshots");
    run_script(&repo, "dashboard.mjs", &server, dir.path());
    drop(server);

    // What the dashboard showed happened on the platforms: the status was
    // pinned on all three accounts, Bluesky's welcome post made room and
    // was pinned again after the resolve, and one reply went out.
    let ops = record(&platforms);
    let pos = |op: &str, account: &str, id: &str| {
        ops.iter()
            .rposition(|(o, a, i)| o == op && a == account && (id.is_empty() || i == id))
    };
    for account in ["acme-main", "acme-bsky", "acme-he"] {
        assert!(
            ops.iter()
                .any(|(o, a, i)| o == "pin" && a == account && !i.ends_with("-welcome")),
            "{account} got the status pin: {ops:?}"
        );
    }
    let unpinned = pos("unpin", "acme-bsky", "acme-bsky-welcome").expect("welcome post displaced");
    let repinned = pos("pin", "acme-bsky", "acme-bsky-welcome").expect("welcome post pinned");
    assert!(
        repinned > unpinned,
        "the welcome post is pinned again after the resolve: {ops:?}"
    );
    assert!(
        ops.iter().any(|(o, _, _)| o == "reply" || o == "direct"),
        "the approved draft was sent: {ops:?}"
    );
    for name in [
        "incident-awaiting-1280",
        "incident-pinned-1280",
        "rate-1280",
        "queue-1280",
        "team-1280",
        "offhours-1280",
        "incident-resolved-1280",
        "queue-phone",
    ] {
        assert!(
            shots.join(format!("{name}.png")).exists(),
            "screenshot {name}"
        );
    }
}

/// Ten thousand people wrote during the outage: the queue holds them all in
/// their order, keeps a screenful of rows in the page, and follows a live
/// change without a reload (timings printed by the script, for the record).
#[test]
fn the_reply_queue_stays_usable_with_ten_thousand_drafts() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    require_peers(&repo);
    let dir = tempfile::tempdir().expect("temp dir");
    seed_platforms(&dir.path().join("platforms.ndjson"));
    let server = start(dir.path());
    let printed = run_script(&repo, "queue-10k.mjs", &server, dir.path());
    eprintln!("{printed}");
    assert!(
        printed.contains("queue-10k: all checks passed"),
        "{printed}"
    );
}
