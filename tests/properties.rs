//! Properties of the engine that must hold for any sequence of events:
//! mentions, alerts (delivered more than once), people's commands, time.

mod common;

use common::{at, Rehearsal};
use proptest::prelude::*;
use squall::adapters::sim::SimRecord;
use squall::engine::input::{AlertStatus, CommandKind};
use squall::playbook::IncidentState;
use std::collections::BTreeMap;

const OUTAGE: &str = r#"
name: outage
triggers:
  - surge: {match: {any: [down]}, window: 5m, sensitivity: high, for: 1m}
  - alert: {source: alertmanager, labels: {alertname: SiteDown}, resolve: true}
  - manual: {}
incident: {cooldown: 5m, max_per_hour: 4}
on_open:
  - pin_status: {accounts: [acme-main, acme-help, acme-bsky, acme-x], template: status/site-down, approval: {by: commander, timeout: 5m, then: post}}
  - reply_drafts: {template: drafts/site-down, to: {team: care, match_language: true}, sla: 10m, escalate_to: comms-lead}
on_resolve:
  - pin_status: {restore_previous: true, final_template: status/resolved}
"#;

/// A second playbook pinning on the same accounts, with no approval step.
const PAYMENTS: &str = r#"
name: payments
triggers: [{manual: {}}]
incident: {cooldown: 1m}
on_open:
  - pin_status: {accounts: [acme-main, acme-bsky], template: status/payments, approval: none}
  - reply_drafts: {template: drafts/payments, to: {team: care}, sla: 10m}
on_resolve:
  - pin_status: {restore_previous: true, final_template: status/resolved}
"#;

#[derive(Debug, Clone)]
enum Op {
    Mention {
        author: u8,
        text: u8,
        followers: u32,
        late_secs: u8,
    },
    Alert {
        firing: bool,
        fingerprint: u8,
    },
    Declare {
        payments: bool,
    },
    Approve {
        by_commander: bool,
    },
    State {
        to: u8,
    },
    Resolve {
        payments: bool,
    },
    ApproveDraft {
        nth: u8,
    },
    Discard {
        nth: u8,
    },
}

fn op() -> impl Strategy<Value = (u8, Op)> {
    let op = prop_oneof![
        6 => (0u8..12, 0u8..4, 0u32..2_000_000, 0u8..90).prop_map(|(author, text, followers, late_secs)| Op::Mention { author, text, followers, late_secs }),
        1 => (any::<bool>(), 0u8..2).prop_map(|(firing, fingerprint)| Op::Alert { firing, fingerprint }),
        1 => any::<bool>().prop_map(|payments| Op::Declare { payments }),
        1 => any::<bool>().prop_map(|by_commander| Op::Approve { by_commander }),
        1 => (0u8..3).prop_map(|to| Op::State { to }),
        1 => any::<bool>().prop_map(|payments| Op::Resolve { payments }),
        1 => (0u8..8).prop_map(|nth| Op::ApproveDraft { nth }),
        1 => (0u8..8).prop_map(|nth| Op::Discard { nth }),
    ];
    // Minutes to wait before the op (0 = same minute).
    (0u8..4, op)
}

const TEXTS: [&str; 4] = [
    "site is down",
    "nie działa, down",
    "is the app down? mail me at x@example.com",
    "love the app",
];

/// Plays `ops`; `followers` overrides every author's follower count when given.
async fn play(ops: &[(u8, Op)], followers: Option<u32>) -> Rehearsal {
    let mut r = Rehearsal::new(&[OUTAGE, PAYMENTS], at(6, 0)).await;
    let mut now = at(6, 0);
    for (wait, op) in ops {
        now += chrono::Duration::minutes(i64::from(*wait));
        let playbook = |p: bool| {
            if p {
                "payments".to_string()
            } else {
                "outage".to_string()
            }
        };
        match op {
            Op::Mention {
                author,
                text,
                followers: f,
                late_secs,
            } => {
                let written = now - chrono::Duration::seconds(i64::from(*late_secs));
                let mut m = r.new_mention(
                    written,
                    "acme-help",
                    &format!("a{author}"),
                    TEXTS[*text as usize],
                );
                m.author.followers = Some(followers.unwrap_or(*f).into());
                r.input(now, squall::engine::input::Input::Mention(Box::new(m)))
                    .await;
            }
            Op::Alert {
                firing,
                fingerprint,
            } => {
                let status = if *firing {
                    AlertStatus::Firing
                } else {
                    AlertStatus::Resolved
                };
                let alert = squall::engine::input::Alert {
                    source: squall::playbook::AlertSource::Alertmanager,
                    status,
                    labels: [("alertname".to_string(), "SiteDown".to_string())].into(),
                    annotations: Default::default(),
                    fingerprint: format!("fp{fingerprint}"),
                    starts_at: at(6, 0),
                    ends_at: None,
                };
                // Monitoring delivers twice; the second must change nothing.
                r.input(now, squall::engine::input::Input::Alert(alert.clone()))
                    .await;
                r.input(now, squall::engine::input::Input::Alert(alert))
                    .await;
            }
            Op::Declare { payments } => {
                r.command(
                    now,
                    "ana",
                    CommandKind::Declare {
                        playbook: playbook(*payments),
                        note: None,
                    },
                )
                .await
            }
            Op::Approve { by_commander } => {
                let by = if *by_commander { "ana" } else { "kasia" };
                for _ in 0..2 {
                    r.command(
                        now,
                        by,
                        CommandKind::ApproveStatus {
                            incident: "outage".into(),
                            text: None,
                        },
                    )
                    .await;
                }
            }
            Op::State { to } => {
                let state = [
                    IncidentState::Acknowledged,
                    IncidentState::Mitigated,
                    IncidentState::Open,
                ][*to as usize];
                r.command(
                    now,
                    "ana",
                    CommandKind::SetState {
                        incident: "outage".into(),
                        state,
                    },
                )
                .await;
            }
            Op::Resolve { payments } => {
                r.command(
                    now,
                    "ana",
                    CommandKind::Resolve {
                        incident: playbook(*payments),
                        note: None,
                    },
                )
                .await
            }
            Op::ApproveDraft { nth } | Op::Discard { nth } => {
                let queue: Vec<u64> = r.rt.engine.drafts().queue().iter().map(|d| d.id).collect();
                if let Some(id) = queue.get(*nth as usize % queue.len().max(1)).copied() {
                    let kind = match op {
                        Op::ApproveDraft { .. } => CommandKind::ApproveDraft {
                            draft: id,
                            text: None,
                        },
                        _ => CommandKind::DiscardDraft {
                            draft: id,
                            reason: "answered elsewhere".into(),
                        },
                    };
                    // A double click: the second is refused.
                    r.command(now, "kasia", kind.clone()).await;
                    r.command(now, "kasia", kind).await;
                }
            }
        }
        assert_at_most_one_squall_pin_per_account(&r).await;
    }
    r.advance(now + chrono::Duration::minutes(1)).await;
    r
}

async fn assert_at_most_one_squall_pin_per_account(r: &Rehearsal) {
    for (name, account) in &r.accounts {
        let ours = account
            .pins()
            .iter()
            .filter(|p| !p.ends_with("-welcome"))
            .count();
        assert!(
            ours <= 1,
            "{name} holds {ours} squall pins: {:?}",
            account.pins()
        );
    }
    let mut active = BTreeMap::new();
    for p in r.rt.store.active_pins().await.expect("pins") {
        *active.entry(p.account).or_insert(0) += 1;
    }
    assert!(active.values().all(|n| *n <= 1), "store: {active:?}");
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, max_shrink_iters: 64, .. ProptestConfig::default() })]

    #[test]
    fn squall_never_holds_two_pins_on_one_account_and_resolving_restores_what_it_displaced(ops in proptest::collection::vec(op(), 1..40)) {
        runtime().block_on(async {
            let mut r = play(&ops, None).await;
            let before: BTreeMap<String, Vec<String>> = r.accounts.keys().map(|a| (a.clone(), vec![format!("{a}-welcome")])).collect();
            // Resolve whatever is still open; then every account shows what it showed before.
            let open: Vec<String> = r.rt.engine.incidents().filter(|i| !i.is_resolved()).map(|i| i.id.clone()).collect();
            let end = r.now + chrono::Duration::minutes(1);
            for id in open {
                r.command(end, "ana", CommandKind::Resolve { incident: id, note: None }).await;
            }
            for (name, account) in &r.accounts {
                let expected = if name == "acme-x" { Vec::<String>::new() } else { before[name].clone() };
                assert_eq!(account.pins(), expected, "{name} after every incident resolved");
            }
            assert!(r.rt.store.active_pins().await.expect("pins").is_empty());
        });
    }

    #[test]
    fn no_side_effect_happens_twice_however_often_inputs_are_delivered(ops in proptest::collection::vec(op(), 1..40)) {
        runtime().block_on(async {
            let r = play(&ops, None).await;
            let mut per_key: BTreeMap<(String, String, &str), usize> = BTreeMap::new();
            for e in &r.events {
                let kind = e.kind.as_str();
                if ["status_posted", "final_posted", "pinned", "draft_sent", "draft_approved"].contains(&kind) {
                    let account = e.detail.get("account").map(|v| v.to_string()).unwrap_or_default();
                    let subject = e.detail.get("draft").map(|v| v.to_string()).unwrap_or(account);
                    *per_key.entry((e.incident.clone().unwrap_or_default(), subject, kind)).or_insert(0) += 1;
                }
            }
            assert!(per_key.values().all(|n| *n == 1), "{per_key:?}");
            let posts = r.records().iter().filter(|x| matches!(x, SimRecord::Post { .. })).count();
            let decided = r.count("status_posted") + r.count("final_posted") + r.events.iter().filter(|e| e.kind.as_str() == "status_updated" && e.message.contains("posted")).count();
            assert_eq!(posts, decided, "every post on a platform is one decision on the timeline");
        });
    }

    #[test]
    fn the_reply_queue_follows_mention_time_whatever_the_follower_counts(ops in proptest::collection::vec(op(), 1..40), followers in 0u32..5_000_000) {
        runtime().block_on(async {
            let a = play(&ops, None).await;
            let b = play(&ops, Some(followers)).await;
            let order = |r: &Rehearsal| r.rt.engine.drafts().queue().iter().map(|d| d.id).collect::<Vec<_>>();
            assert_eq!(order(&a), order(&b), "follower counts moved someone in the queue");
            let times: Vec<_> = a.rt.engine.drafts().queue().iter().map(|d| d.mention_at).collect();
            assert!(times.windows(2).all(|w| w[0] <= w[1]));
            let stored: Vec<_> = a.rt.store.draft_queue(None).await.expect("queue").iter().map(|d| d.id as u64).collect();
            assert_eq!(stored, order(&a), "the stored queue is the engine's queue");
        });
    }
}
