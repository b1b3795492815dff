//! `spawn_app()` for the server tests: the real service (engine task,
//! SQLite file in a temporary directory, simulated platforms) on the test
//! brand in `tests/data/serve`, called through its router or a socket.
#![allow(dead_code)]

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::Router;
use serde_json::{json, Value};
use squall::config::Config;
use squall::server::{build, ServeOptions, Service};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

pub const COMMANDER: &str = "commander-token";
pub const VIEWER: &str = "viewer-token";
pub const STAFF: &str = "staff-token";
pub const INGEST: &str = "ingest-token";
pub const MONITOR: &str = "monitor-token";

pub struct TestApp {
    router: Router,
    service: Service,
    pub resumed: squall::runtime::Resumed,
    db: PathBuf,
    _dir: Option<tempfile::TempDir>,
}

/// A mention addressed to the test brand's main account, written now.
pub fn mention(id: &str, text: &str) -> Value {
    json!({
        "id": id, "platform": "mastodon", "account": "acme-main",
        "author": {"id": format!("u-{id}"), "handle": format!("@{id}@example.social")},
        "text": text, "lang": "en", "created_at": chrono::Utc::now(),
    })
}

/// How many timeline events of `kind` an incident has.
pub fn count(incident: &Value, kind: &str) -> usize {
    incident["timeline"]
        .as_array()
        .map_or(0, |t| t.iter().filter(|e| e["kind"] == kind).count())
}

impl TestApp {
    pub async fn start() -> Self {
        Self::start_with(|_| {}, Duration::ZERO).await
    }

    pub async fn start_with(tune: impl FnOnce(&mut Config), latency: Duration) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut app = Self::start_in(dir.path(), tune, latency).await;
        app._dir = Some(dir);
        app
    }

    /// A service on the store in `dir` (reused by a restart).
    pub async fn start_in(dir: &Path, tune: impl FnOnce(&mut Config), latency: Duration) -> Self {
        let loaded = squall::setup::load(Some(Path::new("tests/data/serve/squall.yaml")), &[]);
        assert!(
            !squall::diagnostics::has_errors(&loaded.diagnostics),
            "{:#?}",
            loaded.diagnostics
        );
        let mut config = loaded.config.expect("config");
        let db = dir.join("squall.db");
        config.store_url = format!("sqlite://{}?mode=rwc", db.display());
        tune(&mut config);
        let opts = ServeOptions {
            sim_latency: latency,
            ..ServeOptions::default()
        };
        let service = build(
            Arc::new(config),
            loaded.playbooks,
            Arc::new(loaded.templates),
            &opts,
        )
        .await
        .expect("service starts");
        TestApp {
            router: service.router(),
            resumed: service.resumed.clone(),
            service,
            db,
            _dir: None,
        }
    }

    /// Sends one request through the router; the answer as JSON (or a
    /// JSON string holding a non-JSON body).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> (StatusCode, Value) {
        self.call_bytes(method, path, token, body.unwrap_or("").as_bytes())
            .await
    }

    /// [`Self::call`] with a body of any bytes (not necessarily UTF-8).
    pub async fn call_bytes(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: &[u8],
    ) -> (StatusCode, Value) {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let req = req.body(Body::from(body.to_vec())).expect("request");
        let resp = self.router.clone().oneshot(req).await.expect("answer");
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 24)
            .await
            .expect("body");
        let value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        (status, value)
    }

    /// Sends one mention per id, all with `text`, as one NDJSON batch.
    pub async fn ingest(&self, ids: impl IntoIterator<Item = String>, text: &str) -> Value {
        let body: Vec<String> = ids
            .into_iter()
            .map(|id| mention(&id, text).to_string())
            .collect();
        let (status, report) = self
            .call(
                Method::POST,
                "/v1/mentions",
                Some(INGEST),
                Some(&body.join("\n")),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{report}");
        report
    }

    /// One incident with its timeline, as a viewer sees it.
    pub async fn incident(&self, id: &str) -> Value {
        let (status, inc) = self
            .call(
                Method::GET,
                &format!("/v1/incidents/{id}"),
                Some(VIEWER),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{inc}");
        inc
    }

    /// A body as text (for `/metrics`).
    pub async fn text(&self, path: &str) -> String {
        match self.call(Method::GET, path, None, None).await.1 {
            Value::String(s) => s,
            other => other.to_string(),
        }
    }

    /// Serves the same app on a loopback port; returns its base URL.
    pub async fn listen(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let router = self.router.clone();
        tokio::spawn(squall::server::listen::serve(
            listener,
            router,
            std::future::pending(),
        ));
        format!("http://{addr}")
    }

    /// The SQLite file this service writes.
    pub fn db_path(&self) -> &Path {
        &self.db
    }

    /// Mentions in the store, read over a separate connection.
    pub async fn stored_mentions(&self) -> i64 {
        let store = squall::store::Store::open(&format!("sqlite://{}", self.db.display()))
            .await
            .expect("store");
        let n = store.count_mentions().await.expect("count");
        store.close().await;
        n
    }

    /// The store, over a separate connection (close it when done).
    pub async fn open_store(&self) -> squall::store::Store {
        squall::store::Store::open(&format!("sqlite://{}", self.db.display()))
            .await
            .expect("store")
    }

    /// Stops the service and waits until the engine task has drained.
    pub async fn stop(self) {
        let TestApp {
            router, service, ..
        } = self;
        drop(router);
        service.shutdown().await;
    }
}
