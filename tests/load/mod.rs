//! The outage load scenario shared by `tests/drafts_load.rs` (what must
//! hold) and `benches/drafts.rs` (how fast): 10,000 mentions written over
//! ten minutes during one incident, 30 staff in five languages, each
//! approving the oldest draft they hold every 20 seconds. Pure engine: the
//! inputs go to `Engine::handle`, time to `Engine::tick`.
#![allow(dead_code)]

use chrono::{TimeZone, Utc};
use squall::actions::ActionIntent;
use squall::engine::input::{Command, CommandKind, Input};
use squall::engine::{Decisions, Engine};
use squall::mention::{Author, Mention};
use squall::templates::TemplateSet;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

pub const MENTIONS: u32 = 10_000;
pub const STAFF: u32 = 30;
pub const CAPACITY: u32 = 5;
pub const MINUTES: i64 = 10;
pub const DIGEST_EVERY_SECS: i64 = 60;
const LANGS: [&str; 5] = ["en", "pl", "ru", "ja", "he"];

const PLAYBOOK: &str = r#"
name: site-down
title: Site outage
triggers:
  - manual: {}
on_open:
  - reply_drafts: {template: drafts/site-down, to: {team: care, match_language: true}, sla: 15m, escalate_to: lead}
"#;

fn config_yaml() -> String {
    let mut y = String::from(
        "brand: {name: Acme, status_page: https://status.acme.example}\n\
         accounts:\n  acme-help: {platform: mastodon, handle: \"@acmehelp@mastodon.example\"}\n\
         notify: {digest_every: 60s, link_base: https://squall.acme.example}\nstaff:\n",
    );
    for i in 0..STAFF {
        let lang = LANGS[i as usize % LANGS.len()];
        y.push_str(&format!(
            "  s{i:02}: {{name: Staff {i}, email: s{i:02}@acme.example, languages: [{lang}, en], capacity: {CAPACITY}}}\n"
        ));
    }
    let members: Vec<String> = (0..STAFF).map(|i| format!("s{i:02}")).collect();
    y.push_str(&format!(
        "teams:\n  care: {{members: [{}]}}\nroles:\n  lead: [s00]\n",
        members.join(", ")
    ));
    y
}

/// Everything the scenario needs, built once (not timed by the bench).
pub struct Setup {
    pub engine: Engine,
    pub mentions: Vec<Mention>,
}

pub fn setup() -> Setup {
    let (cfg, diags) = squall::config::parse(&config_yaml(), Path::new("squall.yaml"), &|_| None);
    assert!(!squall::diagnostics::has_errors(&diags), "{diags:#?}");
    let cfg = Arc::new(cfg.expect("config"));
    let (templates, problems) = TemplateSet::load_dir(Path::new("templates"), "en");
    assert!(problems.is_empty(), "{problems:#?}");
    let (pb, diags) =
        squall::playbook::parse(PLAYBOOK, Path::new("playbooks/load.yaml"), &cfg, &templates);
    assert!(!squall::diagnostics::has_errors(&diags), "{diags:#?}");
    let start = Utc.with_ymd_and_hms(2026, 11, 24, 7, 0, 0).unwrap();
    let engine = Engine::new(cfg, vec![pb.expect("playbook")], Arc::new(templates), start);
    // 7,000 authors; three in ten write a second time.
    let authors = MENTIONS * 7 / 10;
    let span_ms = MINUTES * 60_000;
    let mentions = (0..MENTIONS)
        .map(|i| {
            let author = i % authors;
            let lang = LANGS[author as usize % LANGS.len()];
            Mention {
                id: format!("m{i}"),
                platform: "mastodon".into(),
                account: "acme-help".into(),
                author: Author {
                    id: format!("u{author}"),
                    handle: format!("@user{author}@example.social"),
                    name: Some(format!("User {author}")),
                    followers: Some(if author % 97 == 0 { 1_000_000 } else { 10 }),
                    bot: false,
                },
                text: if i % 50 == 0 {
                    format!("down! mail me at user{author}@example.com")
                } else {
                    "the app is down".into()
                },
                lang: Some(lang.into()),
                created_at: start
                    + chrono::Duration::seconds(1)
                    + chrono::Duration::milliseconds(i64::from(i) * span_ms / i64::from(MENTIONS)),
                in_reply_to: None,
                url: None,
                direct: false,
            }
        })
        .collect();
    Setup { engine, mentions }
}

/// What the run decided, for the assertions and the report.
#[derive(Default)]
pub struct Outcome {
    /// Digest e-mails per staff member.
    pub digests: BTreeMap<String, u32>,
    /// Bytes of the largest digest (plain text + HTML).
    pub largest_digest: usize,
    pub drafts_created: usize,
    pub replies_sent: usize,
    /// Highest load any staff member held after any input, and their capacity.
    pub max_load: u32,
}

fn count(out: &Decisions, outcome: &mut Outcome) {
    outcome.drafts_created += out
        .events
        .iter()
        .filter(|e| e.kind.as_str() == "draft_created")
        .count();
    for a in &out.actions {
        match &a.intent {
            ActionIntent::Digest {
                staff, text, html, ..
            } => {
                *outcome.digests.entry(staff.clone()).or_default() += 1;
                outcome.largest_digest = outcome.largest_digest.max(text.len() + html.len());
            }
            ActionIntent::SendReply { .. } => outcome.replies_sent += 1,
            _ => {}
        }
    }
}

/// Runs the outage: declare, the mentions in order, staff approving every
/// 20 s, then two more minutes for the last digests. `check_load` looks at
/// every staff member's load after each input (slower; the test does it).
pub fn run(s: &mut Setup, check_load: bool) -> Outcome {
    let mut outcome = Outcome::default();
    let engine = &mut s.engine;
    let start = s.mentions[0].created_at - chrono::Duration::seconds(1);
    let declare = Input::Command(Command {
        by: "s00".into(),
        kind: CommandKind::Declare {
            playbook: "site-down".into(),
            note: None,
        },
    });
    let out = engine.handle(start, declare);
    count(&out, &mut outcome);
    let mut next_round = start + chrono::Duration::seconds(20);
    let staff: Vec<String> = engine.config().staff.keys().cloned().collect();
    for m in &s.mentions {
        while m.created_at >= next_round {
            approve_round(engine, next_round, &staff, &mut outcome);
            next_round += chrono::Duration::seconds(20);
        }
        let out = engine.handle(m.created_at, Input::Mention(Box::new(m.clone())));
        count(&out, &mut outcome);
        if check_load {
            for id in &staff {
                outcome.max_load = outcome.max_load.max(engine.drafts().load(id));
            }
        }
    }
    let end = start + chrono::Duration::minutes(MINUTES + 2);
    let out = engine.tick(end);
    count(&out, &mut outcome);
    outcome
}

fn approve_round(
    engine: &mut Engine,
    at: chrono::DateTime<Utc>,
    staff: &[String],
    outcome: &mut Outcome,
) {
    for id in staff {
        let oldest = engine
            .drafts()
            .queue()
            .iter()
            .find(|d| d.assignee.as_deref() == Some(id))
            .map(|d| d.id);
        if let Some(draft) = oldest {
            let cmd = Input::Command(Command {
                by: id.clone(),
                kind: CommandKind::ApproveDraft { draft, text: None },
            });
            let out = engine.handle(at, cmd);
            count(&out, outcome);
        }
    }
}
