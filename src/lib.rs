//! squall: a crisis and outage response orchestrator for brands on social media.
//!
//! # Layout
//!
//! The modules follow the data flow of a mention, from the edge inwards and out
//! again:
//!
//! ```text
//!  mention ──► detect ──► engine ──► actions (outbox) ──► adapters (platforms)
//!  alert   ──────────────►  ▲  │
//!  person  ─────────────────┘  └──► timeline, incidents, drafts (store)
//! ```
//!
//! - [`mention`]: the mention record and its NDJSON form, language detection.
//! - [`detect`]: keyword matching and surge detection, in event time.
//! - [`engine`]: the pure incident state machine: inputs in, decisions out. No I/O.
//! - [`actions`]: the action intents the engine decides on, and the outbox worker
//!   that carries them out exactly once.
//! - [`adapters`]: platforms behind one trait with declared capabilities; `sim`
//!   is the built-in simulated platform.
//! - [`store`]: sqlx persistence (SQLite by default): incidents, timeline,
//!   outbox, pins, drafts, conversations, mentions.
//! - [`playbook`], [`config`], [`templates`]: what comms teams write, parsed
//!   from raw YAML into validated types, with [`diagnostics`] that point at
//!   file, line and column; [`cron_text`] says where a cron expression's
//!   days of the week would be misread.
//! - [`simulate`]: replays a recorded stream through the same engine, adapters
//!   and store code that a live server runs, with a simulated clock.
//! - [`server`]: `squall serve`, the HTTP API (ingest, alerts, incidents,
//!   live events, metrics) around the same runtime, fed by the wall clock.
//! - [`cli`]: the `squall` command line; [`client`]: `squall incident ...`,
//!   the commanders' client of a running server.
//!
//! See `ARCHITECTURE.md` for the invariants that hold these together.

pub mod actions;
pub mod adapters;
pub mod cli;
pub mod client;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod cron_text;
pub mod detect;
pub mod diagnostics;
pub mod embedded;
pub mod engine;
pub mod mention;
pub mod playbook;
pub mod report;
pub mod runtime;
pub mod schema;
pub mod server;
pub mod setup;
pub mod simulate;
pub mod store;
pub mod templates;
pub mod yaml_pos;
