//! `squall serve`: the HTTP layer around the runtime.
//!
//! ```text
//!  HTTP ─► auth ─► handler (ingest, alerts, incidents) ─► driver queue ─► engine task
//!                                                                          │ Runtime:
//!  GET /v1/events ◄── broadcast ◄──────────────────────────────────────────┤ journal → engine
//!  GET /v1/incidents ◄── store (what the engine committed)                 │ → store → outbox
//! ```
//!
//! - [`driver`]: the one task that owns the [`Runtime`]; handlers send it
//!   jobs through a bounded queue and get an answer once the input is durable.
//! - [`auth`]: bearer tokens (stored hashed) and roles.
//! - [`ingest`], [`alerts`], [`incidents`], [`events`], [`rates`], [`me`],
//!   [`metrics`]: the endpoints; [`error`]: the one API error type;
//!   [`shutdown`]: signals.
//! - [`web`]: the dashboard at `/`, its files compiled in from `web/`.
//!
//! **Architecture Invariant:** handlers never call the engine or an adapter.
//! Every change is an input to the engine task, journaled before the engine
//! sees it; every side effect is an outbox intent. The server feeds the
//! engine wall-clock time; the engine still never reads a clock.

pub mod alerts;
pub mod auth;
pub mod cluster;
pub mod drafts;
pub mod driver;
pub mod error;
pub mod events;
pub mod incidents;
pub mod ingest;
pub mod listen;
pub mod me;
pub mod metrics;
pub mod off_hours;
pub mod outbox;
pub mod pollers;
pub mod rates;
pub mod shutdown;
pub mod web;

use crate::actions::executor::Executor;
use crate::adapters::sim::{sim_adapters, SimWorld};
use crate::config::Config;
use crate::engine::events::Event;
use crate::engine::Engine;
use crate::playbook::Playbook;
use crate::runtime::{Resumed, Runtime, RuntimeError};
use crate::store::{Store, StoreError, StoreKind};
use crate::templates::TemplateSet;
use axum::extract::{DefaultBodyLimit, FromRequest, Request, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use error::ApiError;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::{broadcast, watch};
use utoipa::OpenApi;

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error("cannot listen on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("the simulated platform log {path} cannot be used")]
    SimLog {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `--live` and some account cannot be connected: every problem, each
    /// naming the account and the variable (never a value).
    #[error("cannot connect to the platforms:\n  - {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  - "))]
    Connect(Vec<crate::adapters::ConnectError>),
    #[error(transparent)]
    Bus(crate::cluster::nats::BusError),
    #[error("NATS ingest needs cluster mode: set the store to a postgres:// URL")]
    NotClustered,
    /// `notify.smtp` is configured but cannot be used.
    #[error("cannot set up e-mail: {0}")]
    Smtp(#[from] crate::adapters::email::SmtpSetupError),
    /// `notify.chat` cannot be used (and, with it, any SMTP problem).
    #[error("cannot set up notifications:\n  - {}", .0.join("\n  - "))]
    Notify(Vec<String>),
}

/// What the handlers share. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    engine: driver::EngineHandle,
    store: Store,
    /// The NATS connection, when mentions come through JetStream.
    bus: Option<crate::cluster::nats::Bus>,
    auth: Arc<auth::Auth>,
    /// Live events for `GET /v1/events`.
    events: broadcast::Sender<Arc<Event>>,
    metrics: metrics_exporter_prometheus::PrometheusHandle,
    limits: Limits,
    /// Configured account names: a mention must be addressed to one.
    accounts: Arc<BTreeSet<String>>,
    /// The playbooks' field maps for generic webhooks.
    alert_maps: Arc<Vec<crate::playbook::AlertMap>>,
    /// Becomes `true` when shutdown begins (ends live streams).
    shutdown: watch::Receiver<bool>,
    /// Staff, schedules and teams (`GET /v1/staff`).
    config: Arc<Config>,
}

#[derive(Debug, Clone, Copy)]
struct Limits {
    max_batch: usize,
}

/// How `squall serve` runs, beyond the config file.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// Overrides `server.listen`.
    pub listen: Option<SocketAddr>,
    /// Keep the simulated platforms' record in this file (NDJSON) and
    /// reload it at start, so that posts and pins survive a restart the way
    /// they would on a real platform.
    pub sim_log: Option<PathBuf>,
    /// Every simulated platform call takes this long (rehearsing slow
    /// platforms; the crash test kills squall mid-action with it).
    pub sim_latency: std::time::Duration,
    /// Talk to the real platforms with the accounts' credentials (and read
    /// mentions from Mastodon and Bluesky every `poll_every`), instead of
    /// the simulated ones.
    pub live: bool,
    /// How often mentions are read from the platforms in live mode.
    pub poll_every: std::time::Duration,
    /// This instance's name in a cluster (lease owner, leader holder);
    /// default `serve-<pid>-<start time>`.
    pub instance: Option<String>,
    /// Consume mentions from NATS JetStream (cluster mode only).
    pub nats: Option<crate::cluster::nats::NatsSettings>,
}

/// A built service: the router's state, the engine task, and the switch
/// that begins shutdown.
pub struct Service {
    pub state: AppState,
    task: tokio::task::JoinHandle<()>,
    stop: watch::Sender<bool>,
    pub resumed: Resumed,
    config: Arc<Config>,
}

/// Longest a real platform call may take before it counts as failed (and
/// is retried through the outbox).
const LIVE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Opens the store, replays the input journal, and starts the engine task.
///
/// # Errors
/// The store cannot be opened or the journal cannot be replayed.
pub async fn build(
    config: Arc<Config>,
    playbooks: Vec<Playbook>,
    templates: Arc<TemplateSet>,
    opts: &ServeOptions,
) -> Result<Service, ServeError> {
    let metrics = metrics::handle();
    // Platforms first: a missing credential stops start-up before
    // anything is opened or written.
    let world = match &opts.sim_log {
        Some(path) => SimWorld::persistent(path).map_err(|source| ServeError::SimLog {
            path: path.clone(),
            source,
        })?,
        None => SimWorld::default(),
    }
    .with_latency(opts.sim_latency);
    let adapters = if opts.live {
        crate::adapters::connect(
            &config,
            &crate::config::process_env,
            &crate::adapters::webhook_secret_variables(&playbooks),
            Arc::new(crate::adapters::sim::SimNotifier(world.clone())),
            LIVE_TIMEOUT,
            &world,
        )
        .map_err(ServeError::Connect)?
    } else {
        sim_adapters(&config, &world, false)
    };
    // Chat goes to its webhook and e-mail through SMTP whenever they are
    // configured, with simulated platforms as with real ones. Both are set
    // up before either error is returned, so start-up names every problem.
    let mut adapters = adapters;
    let chat = config.notify.chat.as_ref().map(|chat| {
        crate::adapters::chat::ChatNotifier::new(
            chat,
            &crate::config::process_env,
            adapters.notifier.clone(),
            LIVE_TIMEOUT,
        )
    });
    let chat = match chat.transpose() {
        Ok(c) => c.map(|c| Arc::new(c) as Arc<dyn crate::adapters::Notifier>),
        Err(e) => {
            let mut problems = vec![e.to_string()];
            if let Some(smtp) = &config.notify.smtp {
                if let Err(e) = crate::adapters::email::SmtpNotifier::new(
                    smtp,
                    &crate::config::process_env,
                    adapters.notifier.clone(),
                    LIVE_TIMEOUT,
                ) {
                    problems.push(e.to_string());
                }
            }
            return Err(ServeError::Notify(problems));
        }
    };
    if let Some(chat) = chat {
        adapters.notifier = chat;
    }
    if let Some(smtp) = &config.notify.smtp {
        adapters.notifier = Arc::new(crate::adapters::email::SmtpNotifier::new(
            smtp,
            &crate::config::process_env,
            adapters.notifier.clone(),
            LIVE_TIMEOUT,
        )?);
    }
    let sources: Vec<(String, Arc<dyn crate::adapters::ingest::MentionSource>)> = adapters
        .sources
        .iter()
        .map(|(name, s)| (name.clone(), s.clone()))
        .collect();
    let store = Store::open(&config.store_url).await?;
    let clustered = store.kind() == StoreKind::Postgres;
    if !clustered {
        // One `squall serve` owns a SQLite store: whatever the previous
        // process was doing when it died is void and is taken up again now,
        // not in a minute. (On Postgres the other instances' leases are
        // alive; a dead instance's are voided by the others, see `cluster::reap`.)
        let released = store.expire_leases(chrono::Utc::now()).await?;
        if released > 0 {
            tracing::warn!(
                actions = released,
                "actions interrupted by the last stop will be retried"
            );
        }
    }
    let worker = opts.instance.clone().unwrap_or_else(|| {
        format!(
            "serve-{}-{}",
            std::process::id(),
            chrono::Utc::now().timestamp_micros()
        )
    });
    let alert_maps = playbooks
        .iter()
        .flat_map(|p| &p.triggers)
        .filter_map(|t| match t {
            crate::playbook::Trigger::Alert(a) => a.map.clone(),
            _ => None,
        })
        .collect();
    let engine_config = config.clone();
    let playbooks = Arc::new(playbooks);
    let make_engine = move |start| {
        let mut e = Engine::new(
            engine_config.clone(),
            playbooks.as_ref().clone(),
            templates.clone(),
            start,
        );
        e.set_explain(true); // counted as surge evaluations, never stored
        e
    };
    let (events, _) = broadcast::channel(1024);
    let (stop, shutdown) = watch::channel(false);
    let bus = match &opts.nats {
        Some(settings) => Some(
            crate::cluster::nats::Bus::connect(settings.clone())
                .await
                .map_err(ServeError::Bus)?,
        ),
        None => None,
    };
    let (engine, task, resumed) = if clustered {
        let pool = store
            .postgres_pool()
            .cloned()
            .ok_or(ServeError::NotClustered)?;
        let journal = crate::cluster::Journal::new(pool.clone());
        let views = crate::cluster::views::Views::new(pool.clone());
        let candidate = cluster::Candidate {
            instance: worker.clone(),
            store: store.clone(),
            journal: journal.clone(),
            views: views.clone(),
            make_engine: Arc::new(make_engine),
        };
        let executor = Executor::new(store.clone(), adapters, config.clone(), worker.clone())
            .journaling_outcomes();
        tokio::spawn(outbox::work(executor, pool, shutdown.clone()));
        tokio::spawn(events::tail_timeline(
            store.clone(),
            events.clone(),
            shutdown.clone(),
        ));
        let task = tokio::spawn(cluster::lead(candidate, shutdown.clone()));
        if let Some(bus) = &bus {
            tokio::spawn(bus.clone().consume(
                store.clone(),
                config.accounts.keys().cloned().collect(),
                shutdown.clone(),
            ));
        }
        let ingress = cluster::Ingress {
            store: store.clone(),
            journal,
            views,
            bus: bus.clone(),
        };
        tracing::info!(instance = %worker, "cluster mode: following the shared journal");
        (
            driver::EngineHandle::cluster(ingress, shutdown.clone()),
            task,
            Resumed::default(),
        )
    } else {
        if bus.is_some() {
            return Err(ServeError::NotClustered);
        }
        let executor = Executor::new(store.clone(), adapters, config.clone(), worker);
        let (rt, resumed) =
            Runtime::resume(make_engine, store.clone(), executor, chrono::Utc::now()).await?;
        tracing::info!(
            replayed_inputs = resumed.inputs,
            pending_actions = resumed.pending_actions,
            started = ?resumed.started,
            "engine state rebuilt from the input journal"
        );
        let (engine, task) = driver::spawn(rt, config.server.queue, events.clone());
        let task = tokio::spawn(async move {
            if let Err(e) = task.await {
                tracing::error!(error = %e, "engine task ended abnormally");
            }
        });
        (engine, task, resumed)
    };
    let (auth, missing) = auth::Auth::new(&config.server.tokens, &crate::config::process_env);
    if config.server.tokens.is_empty() {
        tracing::warn!(
            "no API tokens configured (server.tokens): every /v1 endpoint answers 401 and nobody can sign in to the dashboard; add a token with its SHA-256 or the environment variable that holds it (README, \"squall serve\")"
        );
    }
    for token in missing {
        tracing::warn!(token = %token, "API token disabled: its environment variable is not set");
    }
    if opts.live {
        for (name, source) in sources {
            let Some(account) = config.accounts.get(&name) else {
                continue;
            };
            let ingest = crate::adapters::ingest::Ingest::new(source, &name, account.platform);
            tokio::spawn(pollers::run(
                ingest,
                store.clone(),
                engine.clone(),
                opts.poll_every,
                shutdown.clone(),
            ));
        }
    }
    let state = AppState {
        engine,
        store,
        bus,
        auth: Arc::new(auth),
        events,
        metrics,
        limits: Limits {
            max_batch: config.server.max_batch,
        },
        accounts: Arc::new(config.accounts.keys().cloned().collect()),
        alert_maps: Arc::new(alert_maps),
        shutdown,
        config: config.clone(),
    };
    Ok(Service {
        state,
        task,
        stop,
        resumed,
        config,
    })
}

impl Service {
    /// The HTTP API over this service.
    pub fn router(&self) -> Router {
        app(self.state.clone(), &self.config)
    }

    /// A switch that begins shutdown when set to `true` (tests; signals do
    /// the same for the binary).
    pub fn stopper(&self) -> watch::Sender<bool> {
        self.stop.clone()
    }

    /// Serves on `listener` until SIGTERM/SIGINT or [`Self::stopper`], then
    /// shuts down gracefully: requests in flight get [`shutdown::GRACE`],
    /// live streams end, the engine task drains its queue, the store closes.
    /// Connections are served by [`listen::serve`] (a deadline for headers,
    /// a cap on open connections).
    pub async fn run(self, listener: tokio::net::TcpListener) {
        let router = self.router();
        let Service {
            state, task, stop, ..
        } = self;
        let store = state.store.clone();
        drop(state);
        let trigger = stop.subscribe();
        let stopping = stop.clone();
        let server = listen::serve(listener, router, async move {
            shutdown::signal(trigger).await;
            let _ = stopping.send(true);
        });
        let mut waiting = stop.subscribe();
        let grace = async move {
            let _ = waiting.wait_for(|s| *s).await;
            tokio::time::sleep(shutdown::GRACE).await;
        };
        tokio::select! {
            () = server => {}
            () = grace => tracing::warn!("grace period over: closing connections still open"),
        }
        finish(task, store).await;
    }

    /// Stops a service that is not serving a socket (tests): ends live
    /// streams, waits for the engine task to drain once every router built
    /// from it is dropped, closes the store.
    pub async fn shutdown(self) {
        let Service {
            state, task, stop, ..
        } = self;
        let _ = stop.send(true);
        let store = state.store.clone();
        drop(state);
        finish(task, store).await;
    }
}

/// Every handle to the engine task is gone with the router: it drains what
/// was queued and ends; then the store closes.
async fn finish(task: tokio::task::JoinHandle<()>, store: Store) {
    if let Err(e) = task.await {
        tracing::error!(error = %e, "engine task ended abnormally");
    }
    store.close().await;
    tracing::info!("squall stopped");
}

/// Builds the service and serves it on `config.server.listen` (or
/// `opts.listen`) until a signal.
///
/// # Errors
/// See [`build`] and [`Service::run`]; the address may be taken.
pub async fn serve(
    config: Arc<Config>,
    playbooks: Vec<Playbook>,
    templates: Arc<TemplateSet>,
    opts: ServeOptions,
) -> Result<(), ServeError> {
    let addr = opts.listen.unwrap_or(config.server.listen);
    let service = build(config, playbooks, templates, &opts).await?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    let local = listener.local_addr().unwrap_or(addr);
    tracing::info!(addr = %local, "squall listening");
    // Tests and scripts wait for this line on stderr.
    eprintln!("squall listening on http://{local}");
    service.run(listener).await;
    Ok(())
}

/// The router: every endpoint with its layers (body limit, timeout,
/// latency metrics).
pub fn app(state: AppState, config: &Config) -> Router {
    let limits = &config.server;
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics::metrics))
        .route("/openapi.json", get(openapi_json))
        .route("/v1/mentions", post(ingest::post_mentions))
        .route("/v1/alerts/alertmanager", post(alerts::alertmanager))
        .route("/v1/alerts/grafana", post(alerts::grafana))
        .route("/v1/alerts/webhook", post(alerts::generic))
        .route(
            "/v1/incidents",
            get(incidents::list).post(incidents::declare),
        )
        .route("/v1/incidents/{id}", get(incidents::show))
        .route("/v1/incidents/{id}/ack", post(incidents::ack))
        .route("/v1/incidents/{id}/state", post(incidents::set_state))
        .route("/v1/incidents/{id}/status", put(incidents::edit_status))
        .route(
            "/v1/incidents/{id}/status/approve",
            post(incidents::approve_status),
        )
        .route("/v1/incidents/{id}/resolve", post(incidents::resolve))
        .route(
            "/v1/incidents/{id}/status/previews",
            get(incidents::previews),
        )
        .route("/v1/drafts", get(drafts::list))
        .route("/v1/drafts/{id}", get(drafts::show).put(drafts::edit))
        .route("/v1/drafts/{id}/claim", post(drafts::claim))
        .route("/v1/drafts/{id}/approve", post(drafts::approve))
        .route("/v1/drafts/{id}/discard", post(drafts::discard))
        .route("/v1/staff", get(drafts::staff))
        .route("/v1/events", get(events::events))
        .route("/v1/me", get(me::me))
        .route("/v1/triggers", get(rates::triggers))
        .route("/", get(web::index))
        .route("/ui/{*path}", get(web::asset))
        .route("/v1/off-hours", get(off_hours::list))
        .fallback(|| async { ApiError::not_found("route") })
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout,
        ))
        .layer(axum::middleware::from_fn(error::json_errors))
        .layer(axum::middleware::from_fn(metrics::track))
        .with_state(state)
}

/// A request body as bytes, with size and read failures as [`ApiError`]s
/// (axum's own rejections are plain text).
pub struct Body(pub axum::body::Bytes);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::body::Bytes::from_request(req, state).await {
            Ok(b) => Ok(Body(b)),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(ApiError::TooLarge),
            Err(_) => Err(ApiError::MalformedBody(
                "the request body could not be read".into(),
            )),
        }
    }
}

/// Reads one JSON document. serde_json skips the strings of fields it
/// ignores without checking their UTF-8, and a deserializer stops after
/// the value, so both are checked here: a body with bad bytes in an unused
/// field or with data after the value is not JSON, and is refused (found
/// by the `alert_webhook` fuzz target). Every JSON request body is read
/// here, so the rule holds for every endpoint.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let text = std::str::from_utf8(body)
        .map_err(|e| ApiError::MalformedBody(format!("the body is not UTF-8 text: {e}")))?;
    let mut de = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            ApiError::MalformedBody(e.inner().to_string())
        } else {
            ApiError::MalformedBody(format!("at `{path}`: {}", e.inner()))
        }
    })?;
    de.end()
        .map_err(|e| ApiError::MalformedBody(format!("more after the JSON document: {e}")))?;
    Ok(value)
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "Alive", body = String)))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the engine takes work, the store answers and, when mentions
/// come through NATS, the bus is connected.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "Ready", body = String), (status = 503, description = "Not ready (shutting down, or the store or NATS does not answer)", body = error::ErrorBody)))]
pub async fn readyz(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    if *state.shutdown.borrow() || state.engine.is_closed() {
        return Err(ApiError::ShuttingDown);
    }
    state
        .store
        .count_mentions()
        .await
        .map_err(|e| ApiError::internal(&e))?;
    if state.bus.as_ref().is_some_and(|bus| !bus.healthy()) {
        return Err(ApiError::Unavailable("NATS is not connected".into()));
    }
    Ok("ready")
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "operations", responses((status = 200, description = "OpenAPI 3.1 description of this API", body = Object)))]
pub async fn openapi_json() -> impl IntoResponse {
    Json(ApiDoc::openapi())
}

/// The OpenAPI description, generated from the handlers' annotations.
#[derive(OpenApi)]
#[openapi(
    info(title = "squall", description = "Crisis and outage response orchestrator: ingest mentions and alerts, run incidents, watch live events."),
    paths(
        healthz, readyz, openapi_json, metrics::metrics,
        ingest::post_mentions,
        alerts::alertmanager, alerts::grafana, alerts::generic,
        incidents::list, incidents::declare, incidents::show, incidents::ack,
        incidents::set_state, incidents::edit_status, incidents::approve_status, incidents::resolve,
        incidents::previews,
        drafts::list, drafts::show, drafts::claim, drafts::edit, drafts::approve, drafts::discard, drafts::staff,
        events::events,
        me::me, rates::triggers,
        off_hours::list,
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "ingest", description = "Mentions from platforms (role `ingest`)"),
        (name = "alerts", description = "Monitoring webhooks (role `monitor`)"),
        (name = "incidents", description = "Commanders' API (read: `viewer`, `staff`, `commander`; change: `commander`)"),
        (name = "drafts", description = "The reply queue (read: `viewer`, `staff`, `commander`; act: `staff`, `commander`)"),
        (name = "events", description = "Live Server-Sent Events"),
        (name = "session", description = "Who the caller is (any valid token)"),
        (name = "triggers", description = "Surge triggers' recent rate (role `viewer`)"),
        (name = "off-hours", description = "Support hours per account: open or closed, the pinned note, crisis overrides (read: `viewer`)"),
        (name = "operations", description = "Health, readiness, metrics, this document (no token)"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}
