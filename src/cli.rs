//! The `squall` command line: parses arguments, then calls the library.

use crate::diagnostics::{self, Diagnostic, Severity};
use crate::playbook::model::Thresholds;
use crate::setup::{self, Loaded};
use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

/// squall: crisis and outage response for brands on social media.
///
/// Playbooks (YAML) say what to watch (mention surges, keywords in any
/// language, monitoring alerts, schedules, people declaring an incident) and
/// what to do (pin a status post on every account, switch on off-hours
/// autoresponders, fan out reply drafts to staff, notify, call webhooks).
/// Nothing reaches a customer without a person, unless a playbook says so.
#[derive(Debug, Parser)]
#[command(name = "squall", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true, env = "SQUALL_LOG_FORMAT")]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check playbooks, templates and config; report every problem at once.
    ///
    /// Exit status 0 when there are no errors (warnings allowed), 1 otherwise.
    Validate {
        /// Playbook files or directories (default: the config's playbooks directory).
        paths: Vec<PathBuf>,
        /// Config file (default: ./squall.yaml, else examples/squall.yaml, else the built-in example).
        #[arg(long, short, env = "SQUALL_CONFIG")]
        config: Option<PathBuf>,
        /// `json` prints one JSON array for CI.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Replay a recorded stream and print what squall would do, deterministically.
    ///
    /// The stream holds mentions (NDJSON) and, optionally, people's actions at
    /// given times (acknowledge, approve a status text, approve a draft,
    /// resolve), so a whole incident can be rehearsed.
    Simulate {
        /// Playbook directory or files (default: the config's playbooks directory).
        #[arg(long)]
        playbooks: Vec<PathBuf>,
        /// Mentions and actions, NDJSON (default: examples/mentions.ndjson, with examples/alerts.ndjson).
        #[arg(long)]
        mentions: Option<PathBuf>,
        /// Monitoring alerts, NDJSON (squall's form or Alertmanager webhook payloads).
        #[arg(long)]
        alerts: Option<PathBuf>,
        /// Config file (default: ./squall.yaml, else examples/squall.yaml, else the built-in example).
        #[arg(long, short, env = "SQUALL_CONFIG")]
        config: Option<PathBuf>,
        /// One JSON object per line (`at`, `kind`, ...), then a summary line.
        #[arg(long)]
        json: bool,
        /// Also print every trigger evaluation: observed, expected, threshold, decision.
        #[arg(long)]
        explain: bool,
        /// Keep the clock running this long after the last input (quiet periods, time-outs).
        #[arg(long, default_value = "2h", value_parser = humantime::parse_duration)]
        tail: std::time::Duration,
        /// Start simulated accounts with nothing pinned (by default each has
        /// one post pinned, so the replay shows it displaced and restored).
        #[arg(long)]
        empty_accounts: bool,
    },
    /// Print the JSON Schema of playbooks or of the config, for editors.
    Schema {
        #[arg(value_enum, default_value_t = SchemaKind::Playbook)]
        kind: SchemaKind,
    },
    /// Print the template variable reference (Markdown) for every step.
    Reference,
    /// Run the surge detector over recorded volumes and write its alarms.
    ///
    /// Each INPUT is a `timestamp,value` CSV (one row per bucket, as in the
    /// Numenta Anomaly Benchmark) or mentions as NDJSON (counted per
    /// `--bucket`). For each, DIR gets a CSV of `timestamp,alarm,anomaly_score`
    /// that NAB's scorer reads. Defaults are a playbook's `surge` defaults,
    /// made for complaint phrases, whose normal level is near zero. For a
    /// whole brand's mention volume, as in NAB, use `--sensitivity low
    /// --window 30m`: the setting docs/detection.md measures.
    Detect {
        /// Series to run the detector over (.csv, or .ndjson mentions).
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Directory for the alarm CSVs (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// How easily it fires, as a surge trigger's `sensitivity`.
        #[arg(long, value_enum, default_value_t = SensitivityArg::Medium)]
        sensitivity: SensitivityArg,
        /// Counting window (at most 24h, as in a playbook).
        #[arg(long, default_value = "5m", value_parser = surge_window)]
        window: std::time::Duration,
        /// The surge must persist this long (flap suppression).
        #[arg(long = "for", default_value = "0s", value_parser = humantime::parse_duration)]
        hold: std::time::Duration,
        /// Bucket for NDJSON mentions (CSV rows are their own buckets).
        #[arg(long, default_value = "1m", value_parser = positive_duration)]
        bucket: std::time::Duration,
        /// No second alarm within this long of the last one (default: the
        /// sensitivity's: low 24h, medium 1h, high 0s).
        #[arg(long, value_parser = humantime::parse_duration)]
        debounce: Option<std::time::Duration>,
        /// Follow incidents as a playbook with `auto_resolve: {quiet: ...}`
        /// does: an alarm is a surge that opens an incident (one that comes
        /// while an incident is open attaches to it), the incident resolves
        /// once the surge has subsided for this long, and that re-arms the
        /// detector. Without it, every surge the detector fires is an alarm.
        #[arg(long, value_parser = humantime::parse_duration)]
        auto_resolve: Option<std::time::Duration>,
        /// With --auto-resolve: after an incident resolves, surges are held
        /// back this long (the playbook's `incident.cooldown`).
        #[arg(long, default_value = "30m", value_parser = humantime::parse_duration, requires = "auto_resolve")]
        cooldown: std::time::Duration,
        #[command(flatten)]
        tuning: DetectTuning,
    },
    /// Run squall as a service: ingest, alerts, the incident API, live events, the dashboard.
    ///
    /// Loads config and playbooks (with no flags: the embedded defaults),
    /// opens the store, replays its input journal to rebuild the engine's
    /// state, and serves the HTTP API and the command-centre dashboard (at
    /// `/`, sign in with an API token; on the example config, which has
    /// none, squall makes one up for the run and shows it at start) until
    /// SIGTERM or SIGINT, then shuts
    /// down gracefully. Platforms are simulated (`--sim-log` keeps their
    /// record across restarts) unless `--live` is given. See README "squall
    /// serve".
    Serve {
        /// Config file (default: ./squall.yaml, else examples/squall.yaml, else built-in defaults).
        #[arg(long, short, env = "SQUALL_CONFIG")]
        config: Option<PathBuf>,
        /// Address to listen on (default: the config's `server.listen`, else 127.0.0.1:8080).
        #[arg(long, env = "SQUALL_LISTEN")]
        listen: Option<std::net::SocketAddr>,
        /// Keep the simulated platforms' record in this NDJSON file and reload it at start.
        #[arg(long)]
        sim_log: Option<PathBuf>,
        /// Each simulated platform call takes this long (e.g. `200ms`), to rehearse slow platforms.
        #[arg(long, default_value = "0s", value_parser = humantime::parse_duration)]
        sim_latency: std::time::Duration,
        /// Use the real platforms: each account's credentials are read from
        /// the environment variables its config names (start-up fails, naming
        /// every missing variable), and mentions are read from Mastodon and
        /// Bluesky accounts. Without it, every platform is simulated.
        #[arg(long, env = "SQUALL_LIVE")]
        live: bool,
        /// How often mentions are read from the platforms with `--live`.
        #[arg(long, default_value = "15s", value_parser = humantime::parse_duration)]
        poll_every: std::time::Duration,
        /// This instance's name in a cluster (a `postgres://` store): its
        /// outbox lease owner, liveness lock and leader name; unique per
        /// live instance. An instance restarting under the same name resumes
        /// its interrupted actions at once. Default: `serve-<pid>-<time>`.
        #[arg(long, env = "SQUALL_INSTANCE")]
        instance: Option<String>,
        #[command(flatten)]
        nats: NatsArgs,
    },
    /// Bring the store's schema up to date (SQLite or Postgres, from the
    /// config's `store` or `SQUALL_STORE`) and exit. `serve` does the same
    /// at start; run this first when several instances share a database.
    Migrate {
        /// Config file (default: ./squall.yaml, else examples/squall.yaml, else built-in defaults).
        #[arg(long, short, env = "SQUALL_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Talk to a running `squall serve`: declare, list, show, acknowledge, edit and approve the status text, change state, resolve.
    Incident {
        #[command(subcommand)]
        command: IncidentCommand,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Work the reply queue of a running `squall serve`: list, show, claim,
    /// edit, approve (and send), discard.
    Drafts {
        #[command(subcommand)]
        command: DraftsCommand,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// After an incident: timeline, mention volume, drafts created, sent
    /// and discarded, first-response times (p50, p90, max), SLA breaches and
    /// the estimated call-centre cost saved (the playbook's `report:`).
    ///
    /// Reads the store `squall serve` wrote (the config's `store`, or
    /// SQUALL_STORE).
    Report {
        incident: String,
        /// Markdown, JSON or HTML (every stored text escaped).
        #[arg(long, value_enum, default_value_t = crate::report::ReportFormat::Md)]
        format: crate::report::ReportFormat,
        /// Config file (default: ./squall.yaml, else examples/squall.yaml, else built-in defaults).
        #[arg(long, short, env = "SQUALL_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Inspect the configured schedules.
    Schedule {
        #[command(subcommand)]
        command: ScheduleCommand,
        /// Config file (default: ./squall.yaml, else examples/squall.yaml, else the built-in example).
        #[arg(long, short, env = "SQUALL_CONFIG", global = true)]
        config: Option<PathBuf>,
    },
}

/// Explicit detector settings for `squall detect`, overriding the
/// sensitivity's (as a playbook's `thresholds:` does).
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct DetectTuning {
    /// Spreads above the expected count (playbook `thresholds.sigmas`).
    #[arg(long, value_parser = sigmas_arg, allow_negative_numbers = true)]
    sigmas: Option<f64>,
    /// Fewest mentions in a window that can be a surge (`thresholds.min_count`).
    #[arg(long, value_parser = min_count_arg)]
    min_count: Option<u32>,
    /// A surge is at least this multiple of the expected count (`thresholds.min_ratio`).
    #[arg(long, value_parser = min_ratio_arg, allow_negative_numbers = true)]
    min_ratio: Option<f64>,
    /// A surge reaches at least this share of the busiest window of the
    /// recent days (0 turns the recent peak off).
    #[arg(long, value_parser = zero_or_more, allow_negative_numbers = true)]
    recent_peak: Option<f64>,
    /// A change of pattern fires when the bursts of the last hours are this
    /// many standard deviations above their usual count (0 turns it off).
    #[arg(long, value_parser = zero_or_more, allow_negative_numbers = true)]
    burst_sigmas: Option<f64>,
}

// `squall detect` takes the values a playbook's surge trigger takes, and
// refuses the same ones `validate` does (the rules are the model's): a NaN
// or negative setting would otherwise run, silently never (or always)
// alarm, and be scored.

/// A duration longer than zero (`5m`, `30s`).
fn positive_duration(text: &str) -> Result<std::time::Duration, String> {
    match humantime::parse_duration(text) {
        Ok(d) if d > std::time::Duration::ZERO => Ok(d),
        Ok(_) => Err("must be longer than zero, e.g. 5m".to_owned()),
        Err(e) => Err(format!(
            "{e}; {}",
            crate::playbook::validate::duration_help(text)
        )),
    }
}

/// A positive duration of at most a day, or why not.
fn surge_window(text: &str) -> Result<std::time::Duration, String> {
    let window = positive_duration(text)?;
    crate::playbook::validate::check_surge_window(window)
        .map(|()| window)
        .map_err(|r| format!("{}; {}", r.message, r.hint))
}

/// A number (NaN and infinities included: the checks refuse them), or why not.
fn number(text: &str) -> Result<f64, String> {
    text.trim()
        .parse::<f64>()
        .map_err(|_| format!("`{text}` is not a number"))
}

fn sigmas_arg(text: &str) -> Result<f64, String> {
    Thresholds::check_sigmas(number(text)?).map_err(|r| r.to_string())
}

fn min_ratio_arg(text: &str) -> Result<f64, String> {
    Thresholds::check_min_ratio(number(text)?).map_err(|r| r.to_string())
}

fn min_count_arg(text: &str) -> Result<u32, String> {
    let n = text
        .trim()
        .parse::<u32>()
        .map_err(|_| "must be a whole number of mentions, at least 1".to_owned())?;
    Thresholds::check_min_count(n).map_err(|r| r.to_string())
}

/// The recent-peak share and the burst sigmas: 0 turns each off.
fn zero_or_more(text: &str) -> Result<f64, String> {
    match number(text)? {
        x if x.is_finite() && x >= 0.0 => Ok(x),
        _ => Err("must be 0 or more (0 turns it off)".to_owned()),
    }
}

#[derive(Debug, Subcommand)]
pub enum IncidentCommand {
    /// Open an incident by hand through a playbook's manual trigger.
    Declare {
        playbook: String,
        /// What is known so far: on the timeline, and `incident.update` in templates.
        #[arg(long)]
        note: Option<String>,
    },
    /// Unresolved incidents (with `--all`, resolved ones too).
    List {
        /// Resolved incidents too.
        #[arg(long)]
        all: bool,
    },
    /// One incident with its timeline and actions.
    Show { id: String },
    /// Acknowledge an incident.
    Ack { id: String },
    /// Move an incident forward: acknowledged, mitigated or resolved.
    Status { id: String, state: StateArg },
    /// Resolve an incident.
    Resolve {
        id: String,
        /// How it ended: on the timeline, and `incident.update` in the final note.
        #[arg(long)]
        note: Option<String>,
    },
    /// Approve the status text waiting for approval: it is then posted and
    /// pinned on every listed account. Only the playbook's approval role may.
    Approve {
        id: String,
        /// Approve this text instead of the one waiting.
        #[arg(long)]
        text: Option<String>,
    },
    /// Replace the status text: the one waiting for approval, or the posted
    /// one on every account (only the approval role may change a posted one).
    EditStatus { id: String, text: String },
}

/// Where the server is, who asks, and how to print its answer.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerArgs {
    /// Base URL of the server.
    #[arg(
        long,
        env = "SQUALL_URL",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    url: String,
    /// API token (`commander` to run incidents, `staff` to answer drafts,
    /// `viewer` to read).
    #[arg(long, env = "SQUALL_TOKEN", hide_env_values = true, global = true)]
    token: Option<String>,
    /// Print the server's JSON instead of a table.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Debug, Subcommand)]
pub enum DraftsCommand {
    /// The queue in the order customers wrote (default: pending drafts).
    List {
        /// pending, approved, sent, discarded or all.
        #[arg(long, default_value = "pending")]
        state: String,
        /// `me`, a staff id, or `none` (unassigned).
        #[arg(long)]
        assignee: Option<String>,
        /// Only this incident's drafts (its id).
        #[arg(long)]
        incident: Option<String>,
        /// Most drafts on a page.
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// The cursor printed after a full page.
        #[arg(long)]
        after: Option<String>,
    },
    /// One draft in full.
    Show { id: i64 },
    /// Take a draft into your queue.
    Claim { id: i64 },
    /// Replace a draft's text.
    Edit { id: i64, text: String },
    /// Approve a draft: it is sent at once through the platform.
    Approve {
        id: i64,
        /// Send this text instead of the draft's (edit and approve in one step).
        #[arg(long)]
        text: Option<String>,
    },
    /// Discard a draft; the reason goes on the timeline and in the report.
    Discard {
        id: i64,
        /// Why it is not sent.
        #[arg(long)]
        reason: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum StateArg {
    Acknowledged,
    Mitigated,
    Resolved,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SensitivityArg {
    Low,
    Medium,
    High,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SchemaKind {
    Playbook,
    Config,
}

#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Name and summarise every schedule.
    List,
    /// Print open and closed intervals.
    Show {
        name: String,
        /// First day (YYYY-MM-DD, in the schedule's time zone); default today.
        #[arg(long)]
        from: Option<chrono::NaiveDate>,
        /// How many days to show (1 to 366).
        #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=366))]
        days: u32,
    },
    /// When it next opens (or "open now").
    Next { name: String },
}

/// Runs the parsed command; returns the process exit code.
///
/// With nothing to go on here (an installed binary in an empty directory:
/// no `squall.yaml` nearby), `validate`, `simulate`, `serve` and `schedule` work on the
/// example built into squall, unpacked to the temporary directory, and say
/// so on stderr (`doing` completes "No squall.yaml here: … the built-in
/// example"). `None` when there is a config to use.
fn builtin_example(doing: &str) -> anyhow::Result<Option<crate::embedded::Example>> {
    if setup::default_config_path().is_some() {
        return Ok(None);
    }
    let ex = crate::embedded::unpack(&std::env::temp_dir())
        .context("cannot unpack the built-in example")?;
    eprintln!(
        "No squall.yaml here: {doing} the built-in example from {}.",
        ex.root.display()
    );
    Ok(Some(ex))
}

/// # Errors
/// Failures that are not the user's input (I/O, store) as `anyhow` errors.
pub async fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Validate {
            paths,
            config,
            format,
        } => {
            let builtin = if config.is_none() && paths.is_empty() {
                builtin_example("validating")?
            } else {
                None
            };
            let config = config.or_else(|| builtin.as_ref().map(|e| e.config()));
            let loaded = setup::load(config.as_deref(), &paths);
            Ok(report(&loaded, format))
        }
        Command::Simulate {
            playbooks,
            mentions,
            alerts,
            config,
            json,
            explain,
            tail,
            empty_accounts,
        } => {
            let builtin = if config.is_none() && mentions.is_none() {
                builtin_example("replaying")?
            } else {
                None
            };
            let config = config.or_else(|| builtin.as_ref().map(|e| e.config()));
            let loaded = setup::load(config.as_deref(), &playbooks);
            if diagnostics::has_errors(&loaded.diagnostics) {
                return Ok(report(&loaded, Format::Human));
            }
            let Some(cfg) = loaded.config else {
                return Ok(report(&loaded, Format::Human));
            };
            // With no stream named, the tour: the example day and its alerts.
            let (default_mentions, default_alerts) = match &builtin {
                Some(e) => (e.mentions(), e.alerts()),
                None => (
                    PathBuf::from("examples/mentions.ndjson"),
                    PathBuf::from("examples/alerts.ndjson"),
                ),
            };
            let alerts = match (&mentions, alerts) {
                (None, None) => Some(default_alerts).filter(|p| p.is_file()),
                (_, a) => a,
            };
            let mentions = mentions.unwrap_or(default_mentions);
            let accounts = cfg.accounts.keys().cloned().collect();
            let inputs = crate::simulate::read_inputs(&mentions, alerts.as_deref(), &accounts)?;
            let opts = crate::simulate::Options {
                json,
                explain,
                tail,
                pre_pinned: !empty_accounts,
                progress: true,
            };
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            crate::simulate::run(
                Arc::new(cfg),
                loaded.playbooks,
                Arc::new(loaded.templates),
                inputs,
                &opts,
                &mut out,
            )
            .await
            .context("simulation failed")?;
            Ok(0)
        }
        Command::Schema { kind } => {
            let schema = match kind {
                SchemaKind::Playbook => crate::schema::playbook_schema(),
                SchemaKind::Config => crate::schema::config_schema(),
            };
            println!("{}", serde_json::to_string_pretty(&schema)?);
            Ok(0)
        }
        Command::Reference => {
            print!("{}", crate::templates::reference_markdown());
            Ok(0)
        }
        Command::Schedule { command, config } => schedule(command, config),
        Command::Migrate { config } => {
            let loaded = setup::load(config.as_deref(), &[]);
            let Some(cfg) = loaded.config else {
                return Ok(report(&loaded, Format::Human));
            };
            let store = crate::store::Store::open(&cfg.store_url)
                .await
                .context("squall migrate failed")?;
            let version = store
                .schema_version()
                .await
                .context("squall migrate failed")?;
            store.close().await;
            println!(
                "store {} is at schema version {version}",
                crate::store::redact_url(&cfg.store_url)
            );
            Ok(0)
        }
        Command::Serve {
            config,
            listen,
            sim_log,
            sim_latency,
            live,
            poll_every,
            instance,
            nats,
        } => {
            // Someone trying squall out: no config of their own, so the
            // example's (built in, or a checkout's examples/squall.yaml).
            let example = config.is_none()
                && setup::default_config_path()
                    .is_none_or(|p| p == std::path::Path::new("examples/squall.yaml"));
            let config = match config {
                Some(c) => Some(c),
                None => builtin_example("serving")?.map(|e| e.config()),
            };
            let loaded = setup::load(config.as_deref(), &[]);
            if diagnostics::has_errors(&loaded.diagnostics) {
                return Ok(report(&loaded, Format::Human));
            }
            let Some(mut cfg) = loaded.config else {
                return Ok(report(&loaded, Format::Human));
            };
            let token_file = if example && !live && cfg.server.tokens.is_empty() {
                trial_token(&mut cfg)?
            } else {
                None
            };
            let opts = crate::server::ServeOptions {
                listen,
                sim_log,
                sim_latency,
                live,
                poll_every,
                instance,
                nats: nats.settings(),
            };
            let served = crate::server::serve(
                Arc::new(cfg),
                loaded.playbooks,
                Arc::new(loaded.templates),
                opts,
            )
            .await;
            // The token dies with the server; so does its file.
            if let Some(path) = token_file {
                let _ = std::fs::remove_file(path);
            }
            served.context("squall serve failed")?;
            Ok(0)
        }
        Command::Incident { command, server } => incident(command, server).await,
        Command::Drafts { command, server } => drafts(command, server).await,
        Command::Report {
            incident,
            format,
            config,
        } => incident_report(&incident, format, config).await,
        Command::Detect {
            inputs,
            out,
            sensitivity,
            window,
            hold,
            bucket,
            debounce,
            auto_resolve,
            cooldown,
            tuning,
        } => detect(
            &inputs,
            &out,
            sensitivity,
            (window, hold, bucket, debounce),
            auto_resolve.map_or(crate::detect::series::Incidents::Ignore, |quiet| {
                crate::detect::series::Incidents::Follow { quiet, cooldown }
            }),
            tuning,
        ),
    }
}

/// The example config has no API tokens, so nobody could sign in to the
/// dashboard of a `squall serve` started to try squall out. Make one up for
/// this run (a commander acting as the example's ana) and show it once, on
/// the terminal, as notebook servers do. Only for the example, never with
/// `--live`: a real config names its own tokens.
///
/// Returns the file the token was written to, when stderr is not a terminal.
fn trial_token(cfg: &mut crate::config::Config) -> anyhow::Result<Option<PathBuf>> {
    let actor = "ana";
    let (token, entry) = crate::server::auth::one_time_token(
        "trial",
        vec![crate::config::ApiRole::Commander],
        actor,
    )
    .map_err(|e| anyhow::anyhow!("cannot make a token for the built-in example: {e}"))?;
    cfg.server.tokens.push(entry);
    let intro = format!(
        "The example config has no API tokens. Until squall stops, sign in to the \
         dashboard (or pass --token to `squall incident` and `squall drafts`) with this \
         one, a commander acting as {actor}"
    );
    if std::io::stderr().is_terminal() {
        eprintln!("{intro}:\n\n    {token}\n");
        return Ok(None);
    }
    // stderr goes to a file or a log pipeline: the token is kept out of it,
    // in a file only this user can read.
    let path = std::env::temp_dir().join(format!("squall-trial-token-{}", std::process::id()));
    write_private(&path, &token)
        .map_err(|e| anyhow::anyhow!("cannot write the trial token to {}: {e}", path.display()))?;
    eprintln!(
        "{intro}. stderr is not a terminal, so the token is not printed: it is in {} \
         (readable only by you).",
        path.display()
    );
    Ok(Some(path))
}

/// Writes `text` to a new file that only its owner may read. A file left
/// by an earlier process of the same id is replaced; `create_new` refuses
/// to follow a link someone put there instead.
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    let _ = std::fs::remove_file(path);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    std::io::Write::write_all(&mut options.open(path)?, text.as_bytes())
}

async fn incident(command: IncidentCommand, server: ServerArgs) -> anyhow::Result<i32> {
    use crate::client::Request;
    let req = match command {
        IncidentCommand::Declare { playbook, note } => Request::Declare { playbook, note },
        IncidentCommand::List { all } => Request::List { all },
        IncidentCommand::Show { id } => Request::Show { id },
        IncidentCommand::Ack { id } => Request::Ack { id },
        IncidentCommand::Status { id, state } => Request::State {
            id,
            state: match state {
                StateArg::Acknowledged => "acknowledged",
                StateArg::Mitigated => "mitigated",
                StateArg::Resolved => "resolved",
            }
            .to_string(),
        },
        IncidentCommand::Resolve { id, note } => Request::Resolve { id, note },
        IncidentCommand::Approve { id, text } => Request::ApproveStatus { id, text },
        IncidentCommand::EditStatus { id, text } => Request::EditStatus { id, text },
    };
    ask(req, server).await
}

async fn incident_report(
    id: &str,
    format: crate::report::ReportFormat,
    config: Option<PathBuf>,
) -> anyhow::Result<i32> {
    let loaded = setup::load(config.as_deref(), &[]);
    let Some(cfg) = loaded
        .config
        .as_ref()
        .filter(|_| !crate::diagnostics::has_errors(&loaded.diagnostics))
    else {
        return Ok(report(&loaded, Format::Human));
    };
    let store = crate::store::Store::open(&cfg.store_url)
        .await
        .with_context(|| "cannot open the store (set `store:` in the config or SQUALL_STORE)")?;
    let Some(inc) = store.incident(id).await? else {
        eprintln!(
            "error: no incident {id} in the store {}; `squall incident list` shows the ids \
             (a report reads the store of the server that handled it: pass --config or set SQUALL_STORE)",
            crate::store::redact_url(&cfg.store_url)
        );
        store.close().await;
        return Ok(1);
    };
    let timeline = store.timeline(id).await?;
    let mut drafts = Vec::new();
    let mut filter = crate::store::DraftFilter {
        incident: Some(id.to_string()),
        limit: 1000,
        ..Default::default()
    };
    loop {
        let (page, _) = store.drafts(&filter).await?;
        let full = page.len() == filter.limit as usize;
        filter.after = page.last().map(|d| (d.mention_at, d.id));
        drafts.extend(page);
        if !full {
            break;
        }
    }
    let times = store.mention_times(id).await?;
    store.close().await;
    let policy = loaded
        .playbooks
        .iter()
        .find(|p| p.name == inc.playbook)
        .and_then(|p| p.incident.report);
    let r = crate::report::Report::build(&inc, &timeline, &drafts, &times, policy);
    print!("{}", r.render(format));
    Ok(0)
}

async fn drafts(command: DraftsCommand, server: ServerArgs) -> anyhow::Result<i32> {
    use crate::client::Request;
    let req = match command {
        DraftsCommand::List {
            state,
            assignee,
            incident,
            limit,
            after,
        } => Request::Drafts {
            state,
            assignee,
            incident,
            limit,
            after,
        },
        DraftsCommand::Show { id } => Request::Draft { id },
        DraftsCommand::Claim { id } => Request::Claim { id },
        DraftsCommand::Edit { id, text } => Request::Edit { id, text },
        DraftsCommand::Approve { id, text } => Request::Approve { id, text },
        DraftsCommand::Discard { id, reason } => Request::Discard { id, reason },
    };
    ask(req, server).await
}

/// Sends one request and prints the answer (a table, or `--json`); an API
/// error is printed with its code and exits 1.
async fn ask(req: crate::client::Request, server: ServerArgs) -> anyhow::Result<i32> {
    use crate::client;
    let ServerArgs { url, token, json } = server;
    let target = client::Target { url, token };
    match client::call(&target, &req).await {
        Ok(answer) if json => {
            println!("{}", serde_json::to_string_pretty(&answer)?);
            Ok(0)
        }
        Ok(answer) => {
            print!("{}", client::render(&req, &answer)?);
            Ok(0)
        }
        Err(e @ client::ClientError::Api { .. }) => {
            eprintln!("error: {e}");
            Ok(1)
        }
        Err(e) => Err(e.into()),
    }
}

fn schedule(command: ScheduleCommand, config: Option<PathBuf>) -> anyhow::Result<i32> {
    let builtin = match config {
        Some(_) => None,
        None => builtin_example("showing the schedules of")?,
    };
    let config = config.or_else(|| builtin.as_ref().map(|e| e.config()));
    let (cfg, diags) = setup::load_config(config.as_deref());
    if diagnostics::has_errors(&diags) || cfg.is_none() {
        eprint!(
            "{}",
            diagnostics::render_human(&diags, &|p| std::fs::read_to_string(p).ok())
        );
        return Ok(1);
    }
    let Some(cfg) = cfg else { return Ok(1) };
    let now = chrono::Utc::now();
    let find = |name: &str| {
        cfg.schedules
            .get(name)
            .ok_or_else(|| match cfg.schedules.len() {
                0 => anyhow::anyhow!(
                    "no schedule named `{name}`: the config has no `schedules:` at all"
                ),
                _ => anyhow::anyhow!(
                    "no schedule named `{name}`; configured: {}",
                    cfg.schedules.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            })
    };
    match command {
        ScheduleCommand::List => {
            if cfg.schedules.is_empty() {
                eprintln!("no schedules: the config has no `schedules:`");
            }
            for (name, s) in &cfg.schedules {
                println!(
                    "{name:<20} {}  [{}]",
                    s.describe(),
                    if s.is_open(now) {
                        "open now"
                    } else {
                        "closed now"
                    }
                );
            }
        }
        ScheduleCommand::Show { name, from, days } => {
            let s = find(&name)?;
            let tz = s.timezone;
            let from_date = from.unwrap_or_else(|| now.with_timezone(&tz).date_naive());
            let start = local_midnight(tz, from_date);
            let end = start + chrono::Duration::days(i64::from(days));
            for iv in s.intervals(start, end) {
                let a = iv.start.with_timezone(&tz);
                let b = iv.end.with_timezone(&tz);
                println!(
                    "{}  {} – {}",
                    if iv.open { "open  " } else { "closed" },
                    a.format("%a %Y-%m-%d %H:%M %Z"),
                    b.format("%a %Y-%m-%d %H:%M %Z")
                );
            }
        }
        ScheduleCommand::Next { name } => {
            let s = find(&name)?;
            match s.next_open(now) {
                Some(t) if t <= now => println!(
                    "open now (closes {})",
                    s.next_close(now)
                        .map(|c| c
                            .with_timezone(&s.timezone)
                            .format("%a %Y-%m-%d %H:%M %Z")
                            .to_string())
                        .unwrap_or_else(|| "never".into())
                ),
                Some(t) => println!(
                    "opens {} ({})",
                    t.with_timezone(&s.timezone).format("%a %Y-%m-%d %H:%M %Z"),
                    s.describe_next_open(now, "en").unwrap_or_default()
                ),
                None => println!("never opens"),
            }
        }
    }
    Ok(0)
}

/// Prints diagnostics; returns the exit code (1 when there are errors).
fn report(loaded: &Loaded, format: Format) -> i32 {
    let diags: &[Diagnostic] = &loaded.diagnostics;
    match format {
        Format::Json => println!("{}", diagnostics::render_json(diags)),
        Format::Human => {
            if diags.is_empty() {
                println!(
                    "ok: {} playbooks, {} templates, config {} — no problems found.",
                    loaded.playbooks.len(),
                    loaded.templates.names().len(),
                    loaded
                        .config_file
                        .as_ref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_else(|| "(defaults)".into())
                );
            } else {
                eprint!(
                    "{}",
                    diagnostics::render_human(diags, &|p| std::fs::read_to_string(p).ok())
                );
            }
        }
    }
    i32::from(diags.iter().any(|d| d.severity == Severity::Error))
}

/// The first instant of `date` in `tz` (midnight, or the first instant after
/// a daylight-saving gap).
fn local_midnight(tz: chrono_tz::Tz, date: chrono::NaiveDate) -> chrono::DateTime<chrono::Utc> {
    use chrono::TimeZone;
    let naive = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    (0..180)
        .find_map(|m| {
            tz.from_local_datetime(&(naive + chrono::Duration::minutes(m)))
                .earliest()
        })
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or_else(|| chrono::Utc.from_utc_datetime(&naive))
}

/// `(window, for, bucket, debounce)` of `squall detect`.
type DetectDurations = (
    std::time::Duration,
    std::time::Duration,
    std::time::Duration,
    Option<std::time::Duration>,
);

fn detect(
    inputs: &[PathBuf],
    out: &std::path::Path,
    sensitivity: SensitivityArg,
    (window, hold, bucket, debounce): DetectDurations,
    incidents: crate::detect::series::Incidents,
    tuning: DetectTuning,
) -> anyhow::Result<i32> {
    use crate::detect::{baseline::DetectorParams, series};
    let sensitivity = match sensitivity {
        SensitivityArg::Low => crate::playbook::Sensitivity::Low,
        SensitivityArg::Medium => crate::playbook::Sensitivity::Medium,
        SensitivityArg::High => crate::playbook::Sensitivity::High,
    };
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    for input in inputs {
        let is_ndjson = input
            .extension()
            .is_some_and(|e| e == "ndjson" || e == "jsonl");
        let s = if is_ndjson {
            series::read_mentions(input, bucket)?
        } else {
            series::read_csv(input)?
        };
        let defaults = Thresholds::for_sensitivity(sensitivity);
        let overrides = Thresholds {
            sigmas: tuning.sigmas.unwrap_or(defaults.sigmas),
            min_count: tuning.min_count.unwrap_or(defaults.min_count),
            min_ratio: tuning.min_ratio.unwrap_or(defaults.min_ratio),
        };
        let mut params = DetectorParams {
            bucket: s.bucket,
            ..DetectorParams::from_sensitivity(
                window.max(s.bucket),
                sensitivity,
                Some(overrides),
                hold,
            )
            .with_debounce(debounce)
        };
        if let Some(share) = tuning.recent_peak {
            params.record_ratio = share;
        }
        if let Some(sigmas) = tuning.burst_sigmas {
            params.burst_sigmas = sigmas;
        }
        let verdicts = series::run_with(&s.rows, params, incidents);
        let name = input
            .file_stem()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "series".into());
        let target = out.join(format!("{name}.csv"));
        std::fs::write(&target, series::to_csv(&s, &verdicts))
            .with_context(|| format!("cannot write {}", target.display()))?;
        println!(
            "{}: {} rows, {} alarms -> {}",
            input.display(),
            s.rows.len(),
            verdicts.iter().filter(|v| v.alarm).count(),
            target.display()
        );
    }
    Ok(0)
}

/// NATS JetStream ingest for `serve` in cluster mode.
#[derive(Debug, clap::Args)]
pub struct NatsArgs {
    /// Consume mentions from NATS JetStream at this URL (cluster mode: the
    /// store must be `postgres://`). Each message is one mention as NDJSON.
    #[arg(long, env = "SQUALL_NATS_URL")]
    nats_url: Option<String>,
    /// The JetStream stream holding mentions (created if missing).
    #[arg(long, env = "SQUALL_NATS_STREAM", default_value = "SQUALL_MENTIONS")]
    nats_stream: String,
    /// The subject mentions are published on.
    #[arg(long, env = "SQUALL_NATS_SUBJECT", default_value = "squall.mentions")]
    nats_subject: String,
    /// The durable consumer the cluster's instances share.
    #[arg(long, env = "SQUALL_NATS_CONSUMER", default_value = "squall")]
    nats_consumer: String,
    /// HTTP ingest publishes mentions to the stream (answering once
    /// JetStream stored them) instead of journaling them directly.
    #[arg(long, env = "SQUALL_NATS_HTTP")]
    nats_http: bool,
}

impl NatsArgs {
    fn settings(self) -> Option<crate::cluster::nats::NatsSettings> {
        Some(crate::cluster::nats::NatsSettings {
            url: self.nats_url?,
            stream: self.nats_stream,
            subject: self.nats_subject,
            consumer: self.nats_consumer,
            publish_http: self.nats_http,
        })
    }
}
