//! A rehearsal harness: the real runtime (engine, in-memory SQLite store,
//! outbox executor) over simulated platforms, with time under the test's
//! control. Tests read as scripts of what happens and when.
#![allow(dead_code)]

use chrono::{DateTime, TimeZone, Utc};
use squall::actions::executor::Executor;
use squall::adapters::sim::{self, SimPlatform, SimRecord, SimWorld};
use squall::config::Config;
use squall::engine::events::Event;
use squall::engine::input::{Alert, AlertStatus, Command, CommandKind, Input};
use squall::engine::Engine;
use squall::mention::{Author, Mention};
use squall::playbook::{AlertSource, Playbook};
use squall::runtime::Runtime;
use squall::store::Store;
use squall::templates::TemplateSet;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

pub type Ts = DateTime<Utc>;

/// 2026-11-24 (a Tuesday) at `h:m` UTC; Warsaw is UTC+1 that day.
pub fn at(h: u32, m: u32) -> Ts {
    Utc.with_ymd_and_hms(2026, 11, 24, h, m, 0)
        .single()
        .expect("valid time")
}

pub fn config(yaml: &str) -> Config {
    let (cfg, diags) = squall::config::parse(yaml, Path::new("squall.yaml"), &|_| None);
    assert!(
        !squall::diagnostics::has_errors(&diags),
        "config: {diags:#?}"
    );
    cfg.expect("config")
}

pub fn templates() -> TemplateSet {
    let (t, problems) = TemplateSet::load_dir(Path::new("templates"), "en");
    assert!(problems.is_empty(), "{problems:#?}");
    t
}

pub fn playbook(yaml: &str, config: &Config, templates: &TemplateSet) -> Playbook {
    let (pb, diags) =
        squall::playbook::parse(yaml, Path::new("playbooks/test.yaml"), config, templates);
    assert!(
        !squall::diagnostics::has_errors(&diags),
        "playbook: {diags:#?}"
    );
    pb.expect("playbook")
}

/// The standard test brand: five accounts on four platforms, a support
/// desk in Warsaw, staff in three languages.
pub const CONFIG: &str = r#"
brand: {name: Acme, status_page: https://status.acme.example, support_email: help@acme.example}
accounts:
  acme-main: {platform: mastodon, handle: "@acme@mastodon.example"}
  acme-help: {platform: mastodon, handle: "@acmehelp@mastodon.example"}
  acme-bsky: {platform: bluesky, handle: acme.bsky.social}
  acme-x: {platform: x, handle: "@acme"}
schedules:
  support-hours:
    timezone: Europe/Warsaw
    weekly: {mon-fri: ["09:00-17:00"]}
staff:
  ana: {name: Ana Nowak, email: ana@acme.example, languages: [pl, en]}
  bo: {name: Bo Lindqvist, email: bo@acme.example, languages: [en]}
  kasia: {name: Kasia Lis, email: kasia@acme.example, languages: [pl, en], capacity: 2}
  yuki: {name: Yuki Tanaka, email: yuki@acme.example, languages: [ja, en]}
  olga: {name: Olga Ivanova, languages: [ru], schedule: support-hours}
teams:
  care: {members: [kasia, yuki, bo, olga]}
roles:
  commander: [ana]
  comms-lead: [bo]
"#;

pub struct Rehearsal {
    pub rt: Runtime,
    pub world: SimWorld,
    pub accounts: BTreeMap<String, Arc<SimPlatform>>,
    pub events: Vec<Event>,
    pub now: Ts,
    seq: u64,
}

impl Rehearsal {
    /// Starts at `start`, every account with one post of its own pinned.
    pub async fn new(playbooks: &[&str], start: Ts) -> Self {
        Self::with_config(CONFIG, playbooks, start).await
    }

    pub async fn with_config(config_yaml: &str, playbooks: &[&str], start: Ts) -> Self {
        let cfg = config(config_yaml);
        let world = SimWorld::default();
        let accounts = sim::sim_platforms(&cfg, &world, true);
        let adapters = sim::adapters(&accounts, &world);
        Self::with_adapters(cfg, adapters, world, accounts, playbooks, start).await
    }

    /// The runtime over the given adapters (real ones, in `tests/pins_live.rs`).
    pub async fn with_adapters(
        cfg: Config,
        adapters: squall::adapters::Adapters,
        world: SimWorld,
        accounts: BTreeMap<String, Arc<SimPlatform>>,
        playbooks: &[&str],
        start: Ts,
    ) -> Self {
        let cfg = Arc::new(cfg);
        let t = templates();
        let pbs = playbooks.iter().map(|p| playbook(p, &cfg, &t)).collect();
        let store = Store::open("sqlite::memory:").await.expect("store");
        let engine = Engine::new(cfg.clone(), pbs, Arc::new(t), start);
        let executor = Executor::new(store.clone(), adapters, cfg, "test");
        Self {
            rt: Runtime::new(engine, store, executor),
            world,
            accounts,
            events: Vec::new(),
            now: start,
            seq: 0,
        }
    }

    /// Lets time run to `to`, firing every deadline on the way in order.
    pub async fn advance(&mut self, to: Ts) {
        while let Some(d) = self.rt.next_deadline().filter(|d| *d <= to) {
            let evs = self.rt.tick(d).await.expect("tick");
            self.events.extend(evs);
        }
        self.now = self.now.max(to);
    }

    pub async fn input(&mut self, at: Ts, input: Input) {
        self.advance(at).await;
        let evs = self.rt.submit(at, input).await.expect("submit");
        self.events.extend(evs);
    }

    pub fn new_mention(&mut self, at: Ts, account: &str, author: &str, text: &str) -> Mention {
        self.seq += 1;
        Mention {
            id: format!("m{}", self.seq),
            platform: "mastodon".into(),
            account: account.into(),
            author: Author {
                id: format!("u-{author}"),
                handle: format!("@{author}"),
                name: Some(author.to_string()),
                followers: Some(100),
                bot: false,
            },
            text: text.into(),
            lang: None,
            created_at: at,
            in_reply_to: None,
            url: None,
            direct: false,
        }
    }

    pub async fn mention(&mut self, at: Ts, account: &str, author: &str, text: &str) {
        let m = self.new_mention(at, account, author, text);
        self.input(at, Input::Mention(Box::new(m))).await;
    }

    /// `per_minute` mentions by distinct authors each minute from `from` for `minutes`.
    pub async fn surge(&mut self, from: Ts, minutes: i64, per_minute: i64, text: &str) {
        for minute in 0..minutes {
            for i in 0..per_minute {
                let t = from
                    + chrono::Duration::minutes(minute)
                    + chrono::Duration::seconds(i * 60 / per_minute);
                let author = format!("cust{minute}x{i}");
                self.mention(t, "acme-help", &author, text).await;
            }
        }
    }

    pub async fn command(&mut self, at: Ts, by: &str, kind: CommandKind) {
        self.input(
            at,
            Input::Command(Command {
                by: by.into(),
                kind,
            }),
        )
        .await;
    }

    /// The commander declares an incident of `playbook`.
    pub async fn declare(&mut self, at: Ts, playbook: &str) {
        self.command(
            at,
            "ana",
            CommandKind::Declare {
                playbook: playbook.into(),
                note: None,
            },
        )
        .await;
    }

    /// The commander resolves the only incident.
    pub async fn resolve(&mut self, at: Ts) {
        let incident = self.incident();
        self.command(
            at,
            "ana",
            CommandKind::Resolve {
                incident,
                note: None,
            },
        )
        .await;
    }

    pub async fn alert(&mut self, at: Ts, status: AlertStatus, labels: &[(&str, &str)]) {
        let labels: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let alert = Alert {
            source: AlertSource::Alertmanager,
            status,
            labels,
            annotations: BTreeMap::new(),
            fingerprint: "fp-1".into(),
            starts_at: at,
            ends_at: None,
        };
        self.input(at, Input::Alert(alert)).await;
    }

    /// Kinds of the timeline so far, in order.
    pub fn kinds(&self) -> Vec<&'static str> {
        self.events.iter().map(|e| e.kind.as_str()).collect()
    }

    pub fn count(&self, kind: &str) -> usize {
        self.events
            .iter()
            .filter(|e| e.kind.as_str() == kind)
            .count()
    }

    pub fn first(&self, kind: &str) -> Option<&Event> {
        self.events.iter().find(|e| e.kind.as_str() == kind)
    }

    pub fn pins(&self, account: &str) -> Vec<String> {
        self.accounts[account].pins()
    }

    pub fn records(&self) -> Vec<SimRecord> {
        self.world.records()
    }

    /// The only incident's id.
    pub fn incident(&self) -> String {
        let ids: Vec<String> = self.rt.engine.incidents().map(|i| i.id.clone()).collect();
        assert_eq!(ids.len(), 1, "expected one incident, got {ids:?}");
        ids[0].clone()
    }
}
