//! The engine's behaviour, as rehearsals: what happens, in what order, and why.

mod common;

use common::{at, Rehearsal};
use squall::engine::input::{AlertStatus, CommandKind};
use squall::playbook::IncidentState;

const SITE_DOWN: &str = r#"
name: site-down
title: Site outage
triggers:
  - surge: {match: {any: [down, "nie działa"]}, window: 5m, sensitivity: medium, for: 2m}
  - alert: {source: alertmanager, labels: {alertname: SiteDown}, resolve: true}
  - manual: {}
incident: {cooldown: 30m, max_per_hour: 3}
on_open:
  - pin_status:
      accounts: [acme-main, acme-help, acme-bsky, acme-x]
      template: status/site-down
      approval: {by: commander, timeout: 10m, then: post}
  - reply_drafts: {template: drafts/site-down, to: {team: care, match_language: true}, sla: 15m, escalate_to: comms-lead}
on_resolve:
  - pin_status: {restore_previous: true, final_template: status/resolved}
"#;

/// Quiet chatter for the detector to learn from, 06:00 to 07:00.
async fn quiet_morning(r: &mut Rehearsal) {
    for minute in 0..60 {
        let t = at(6, 0) + chrono::Duration::minutes(minute);
        r.mention(t, "acme-main", "regular", "love the new app")
            .await;
    }
}

fn ref_(s: &str) -> String {
    s.to_string()
}

#[tokio::test]
async fn a_surge_opens_one_incident_whose_status_waits_for_the_commander() {
    let mut r = Rehearsal::new(&[SITE_DOWN], at(6, 0)).await;
    quiet_morning(&mut r).await;
    r.surge(at(7, 0), 10, 20, "is acme down?").await;

    assert_eq!(
        r.count("surge_detected"),
        1,
        "one surge, one alarm: {:?}",
        r.kinds()
    );
    assert_eq!(r.count("incident_opened"), 1);
    let opened = r.first("incident_opened").unwrap();
    assert!(
        opened.message.contains("matching mentions"),
        "{}",
        opened.message
    );
    // Nothing is posted before a person approves.
    assert_eq!(r.count("status_awaiting_approval"), 1);
    assert_eq!(r.count("status_posted"), 0);
    let surge_at = r.first("surge_detected").unwrap().at;
    assert!(
        surge_at >= at(7, 2),
        "`for: 2m` holds the alarm back until {surge_at}"
    );
}

#[tokio::test]
async fn an_approved_status_is_pinned_on_every_account_that_can_pin_and_restored_on_resolve() {
    let mut r = Rehearsal::new(&[SITE_DOWN], at(6, 0)).await;
    let before: Vec<_> = ["acme-main", "acme-help", "acme-bsky"]
        .iter()
        .map(|a| r.pins(a))
        .collect();
    r.command(
        at(7, 0),
        "ana",
        CommandKind::Declare {
            playbook: ref_("site-down"),
            note: Some("site is down".into()),
        },
    )
    .await;
    r.command(
        at(7, 2),
        "ana",
        CommandKind::ApproveStatus {
            incident: ref_("site-down"),
            text: None,
        },
    )
    .await;

    assert_eq!(r.count("status_approved"), 1);
    assert_eq!(r.count("status_posted"), 4);
    assert_eq!(r.count("pinned"), 3, "{:?}", r.kinds());
    let skipped = r.first("pin_skipped").expect("X cannot pin");
    assert!(skipped.message.contains("acme-x"));
    // Bluesky holds one pin: the brand's own pin was displaced, to be restored.
    assert_eq!(r.pins("acme-bsky").len(), 1);
    assert_ne!(r.pins("acme-bsky"), before[2]);

    r.command(
        at(8, 0),
        "ana",
        CommandKind::Resolve {
            incident: ref_("site-down"),
            note: None,
        },
    )
    .await;
    assert_eq!(r.count("incident_resolved"), 1);
    assert_eq!(r.count("final_posted"), 4);
    let after: Vec<_> = ["acme-main", "acme-help", "acme-bsky"]
        .iter()
        .map(|a| r.pins(a))
        .collect();
    assert_eq!(
        after, before,
        "every account shows what it showed before the incident"
    );
    assert!(r.count("pin_restored") >= 1);
}

#[tokio::test]
async fn without_approval_the_status_is_posted_at_the_time_out_when_the_playbook_says_post() {
    let mut r = Rehearsal::new(&[SITE_DOWN], at(6, 0)).await;
    r.declare(at(7, 0), "site-down").await;
    r.advance(at(7, 9)).await;
    assert_eq!(r.count("status_posted"), 0);
    r.advance(at(7, 11)).await;
    assert_eq!(r.count("status_posted"), 4);
    assert!(r
        .first("status_approved")
        .unwrap()
        .message
        .contains("Nobody approved"));
}

#[tokio::test]
async fn only_the_approval_role_may_approve_the_status_text() {
    let mut r = Rehearsal::new(&[SITE_DOWN], at(6, 0)).await;
    r.declare(at(7, 0), "site-down").await;
    r.command(
        at(7, 1),
        "kasia",
        CommandKind::ApproveStatus {
            incident: ref_("site-down"),
            text: None,
        },
    )
    .await;
    assert_eq!(r.count("command_rejected"), 1);
    assert_eq!(r.count("status_posted"), 0);
}

#[tokio::test]
async fn a_status_text_that_does_not_fit_one_post_on_every_account_is_refused_with_where_and_by_how_much(
) {
    let mut r = Rehearsal::new(&[SITE_DOWN], at(6, 0)).await;
    r.declare(at(7, 0), "site-down").await;
    let approve = |text: String| CommandKind::ApproveStatus {
        incident: ref_("site-down"),
        text: Some(text),
    };
    r.command(at(7, 1), "ana", approve("x".repeat(400))).await;
    let refused = r.first("command_rejected").expect("refused");
    assert_eq!(
        refused.message,
        format!(
            "The status text of {} does not fit one post on \
             acme-bsky (bluesky: 400 of 300), acme-x (x: 400 of 280): shorten it by 120 characters.",
            r.incident()
        )
    );
    assert_eq!(r.count("status_posted"), 0);
    // X weighs a Japanese character as two: 150 of them are 300.
    r.command(at(7, 1), "ana", approve("落ちて".repeat(50)))
        .await;
    let refused = r
        .events
        .iter()
        .filter(|e| e.kind.as_str() == "command_rejected")
        .nth(1);
    assert!(
        refused.is_some_and(|e| e
            .message
            .contains("on acme-x (x: 300 of 280): shorten it by 20")),
        "{refused:?}"
    );

    r.command(at(7, 2), "ana", approve("x".repeat(280))).await;
    assert_eq!(r.count("status_posted"), 4);
    let updates = r.count("status_updated");
    r.command(
        at(7, 3),
        "ana",
        CommandKind::EditStatus {
            incident: ref_("site-down"),
            text: "y".repeat(290),
        },
    )
    .await;
    assert_eq!(r.count("command_rejected"), 3);
    assert_eq!(r.count("status_updated"), updates, "nothing was edited");
}

#[tokio::test]
async fn declaring_an_unknown_playbook_is_refused_and_names_those_that_can_be_declared() {
    let mut r = Rehearsal::new(&[SITE_DOWN], at(6, 0)).await;
    r.declare(at(7, 0), "site-dwon").await;
    assert_eq!(r.count("incident_opened"), 0);
    let refused = r.first("command_rejected").expect("refused");
    assert_eq!(
        refused.message,
        "No playbook named site-dwon. Playbooks that can be declared: site-down."
    );
}

#[tokio::test]
async fn the_public_status_follows_the_incident_state() {
    let mut r = Rehearsal::new(&[SITE_DOWN], at(6, 0)).await;
    r.declare(at(7, 0), "site-down").await;
    r.command(
        at(7, 1),
        "ana",
        CommandKind::ApproveStatus {
            incident: ref_("site-down"),
            text: None,
        },
    )
    .await;
    r.command(
        at(7, 5),
        "ana",
        CommandKind::Acknowledge {
            incident: ref_("site-down"),
        },
    )
    .await;
    let id = r.incident();
    assert_eq!(
        r.rt.engine.incident(&id).unwrap().state,
        IncidentState::Acknowledged
    );
    assert!(r.count("status_updated") >= 1, "{:?}", r.kinds());
    // Moving backwards is refused.
    r.command(
        at(7, 6),
        "ana",
        CommandKind::SetState {
            incident: id.clone(),
            state: IncidentState::Open,
        },
    )
    .await;
    assert_eq!(r.count("command_rejected"), 1);
}

#[tokio::test]
async fn a_repeated_alert_delivery_changes_nothing_and_a_resolved_alert_resolves() {
    let mut r = Rehearsal::new(&[SITE_DOWN], at(6, 0)).await;
    r.alert(at(7, 0), AlertStatus::Firing, &[("alertname", "SiteDown")])
        .await;
    r.alert(at(7, 0), AlertStatus::Firing, &[("alertname", "SiteDown")])
        .await;
    assert_eq!(r.count("incident_opened"), 1);
    assert_eq!(r.count("alert_duplicate"), 1);
    r.alert(
        at(7, 30),
        AlertStatus::Resolved,
        &[("alertname", "SiteDown")],
    )
    .await;
    assert_eq!(r.count("incident_resolved"), 1);
}

#[tokio::test]
async fn cooldown_holds_back_a_new_incident_and_says_why_but_a_person_can_still_declare() {
    let mut r = Rehearsal::new(&[SITE_DOWN], at(6, 0)).await;
    r.alert(at(7, 0), AlertStatus::Firing, &[("alertname", "SiteDown")])
        .await;
    r.alert(
        at(7, 10),
        AlertStatus::Resolved,
        &[("alertname", "SiteDown")],
    )
    .await;
    let mut again = squall::engine::input::Alert {
        source: squall::playbook::AlertSource::Alertmanager,
        status: AlertStatus::Firing,
        labels: [("alertname".to_string(), "SiteDown".to_string())].into(),
        annotations: Default::default(),
        fingerprint: "fp-2".into(),
        starts_at: at(7, 20),
        ends_at: None,
    };
    r.input(
        at(7, 20),
        squall::engine::input::Input::Alert(again.clone()),
    )
    .await;
    let held = r.first("trigger_suppressed").expect("held back");
    assert!(held.message.contains("cooldown"), "{}", held.message);
    assert_eq!(r.count("incident_opened"), 1);
    r.declare(at(7, 21), "site-down").await;
    assert_eq!(r.count("incident_opened"), 2);
    again.fingerprint = "fp-3".into();
    let _ = again;
}

#[tokio::test]
async fn one_author_is_one_conversation_and_a_follow_up_updates_the_pending_draft() {
    let mut r = Rehearsal::new(&[SITE_DOWN], at(6, 0)).await;
    r.declare(at(7, 0), "site-down").await;
    r.mention(at(7, 1), "acme-help", "jan", "strona nie działa")
        .await;
    r.mention(at(7, 5), "acme-help", "jan", "dalej nie działa!")
        .await;
    assert_eq!(r.count("draft_created"), 1);
    assert_eq!(r.count("draft_updated"), 1);
    let drafts = &r.rt.engine.drafts().drafts;
    assert_eq!(drafts.len(), 1);
    assert_eq!(drafts.values().next().unwrap().mentions, 2);
}

#[tokio::test]
async fn the_brands_own_accounts_and_bots_get_no_draft() {
    let mut r = Rehearsal::new(&[SITE_DOWN], at(6, 0)).await;
    r.declare(at(7, 0), "site-down").await;
    r.mention(
        at(7, 1),
        "acme-main",
        "acme@mastodon.example",
        "We know the site is down",
    )
    .await;
    let mut bot = r.new_mention(at(7, 2), "acme-main", "statusbot", "site down detected");
    bot.author.bot = true;
    r.input(
        at(7, 2),
        squall::engine::input::Input::Mention(Box::new(bot)),
    )
    .await;
    assert_eq!(r.count("draft_created"), 0);
    assert_eq!(r.count("mention_skipped"), 2);
}

#[tokio::test]
async fn personal_data_moves_the_reply_to_a_private_message() {
    let mut r = Rehearsal::new(&[SITE_DOWN], at(6, 0)).await;
    r.declare(at(7, 0), "site-down").await;
    r.mention(
        at(7, 1),
        "acme-help",
        "sam",
        "site down, write to sam@example.com",
    )
    .await;
    let d = r.rt.engine.drafts().drafts.values().next().unwrap().clone();
    assert!(d.private);
    assert!(d.flags.contains(&"private_data"));
    r.command(
        at(7, 3),
        "kasia",
        CommandKind::ApproveDraft {
            draft: d.id,
            text: None,
        },
    )
    .await;
    assert_eq!(r.count("draft_sent"), 1);
    assert!(r.records().iter().any(
        |x| matches!(x, squall::adapters::sim::SimRecord::Direct { to, .. } if to == "u-sam")
    ));
}

#[tokio::test]
async fn drafts_go_to_someone_who_speaks_the_language_least_loaded_first() {
    let mut r = Rehearsal::new(&[SITE_DOWN], at(6, 0)).await;
    r.declare(at(7, 0), "site-down").await;
    let mut m = r.new_mention(at(7, 1), "acme-help", "hanako", "サイト落ちてる? down");
    m.lang = Some("ja".into());
    r.input(at(7, 1), squall::engine::input::Input::Mention(Box::new(m)))
        .await;
    let d = r.rt.engine.drafts().drafts.values().next().unwrap();
    assert_eq!(d.assignee.as_deref(), Some("yuki"));
    // Two Polish drafts: kasia takes the first, then the load is even and round robin moves on.
    for (i, who) in ["a", "b", "c"].iter().enumerate() {
        let mut m = r.new_mention(at(7, 2 + i as u32), "acme-help", who, "strona nie działa");
        m.lang = Some("pl".into());
        r.input(
            at(7, 2 + i as u32),
            squall::engine::input::Input::Mention(Box::new(m)),
        )
        .await;
    }
    let pl: Vec<_> =
        r.rt.engine
            .drafts()
            .drafts
            .values()
            .filter(|d| d.lang == "pl")
            .map(|d| d.assignee.clone())
            .collect();
    assert_eq!(pl[0].as_deref(), Some("kasia"));
    assert!(
        pl.iter().filter(|a| a.as_deref() == Some("kasia")).count() <= 2,
        "kasia's capacity is 2: {pl:?}"
    );
}

#[tokio::test]
async fn a_draft_waiting_past_its_sla_is_escalated() {
    let mut r = Rehearsal::new(&[SITE_DOWN], at(6, 0)).await;
    r.declare(at(7, 0), "site-down").await;
    r.mention(at(7, 1), "acme-help", "jan", "site down").await;
    r.advance(at(7, 17)).await;
    assert_eq!(r.count("draft_escalated"), 1, "{:?}", r.kinds());
}

const NIGHT: &str = r#"
name: night
triggers: [{manual: {}}]
on_open:
  - autoresponder: {accounts: [acme-help], schedule: support-hours, template: autoreply/site-down, public_mentions: true}
  - reply_drafts: {template: drafts/site-down, to: {team: care}, sla: 1h}
"#;

#[tokio::test]
async fn the_autoresponder_answers_each_author_once_while_closed_and_switches_off_at_opening() {
    // 06:00 UTC is 07:00 in Warsaw: closed until 09:00 (08:00 UTC).
    let mut r = Rehearsal::new(&[NIGHT], at(6, 0)).await;
    r.declare(at(6, 0), "night").await;
    assert_eq!(r.count("autoresponder_enabled"), 1);
    r.mention(at(6, 10), "acme-help", "jan", "hello? anyone?")
        .await;
    r.mention(at(6, 11), "acme-help", "jan", "hello??").await;
    assert_eq!(r.count("auto_reply_sent"), 1);
    assert_eq!(r.count("auto_reply_held"), 1);
    let reply = r.records().into_iter().find_map(|x| match x {
        squall::adapters::sim::SimRecord::Reply { text, .. } => Some(text),
        _ => None,
    });
    assert!(
        reply.unwrap_or_default().contains("9:00"),
        "says when people are back"
    );
    r.advance(at(8, 1)).await;
    assert_eq!(r.count("autoresponder_disabled"), 1);
}

#[tokio::test]
async fn the_reply_queue_is_ordered_by_when_people_wrote_not_by_followers() {
    let mut r = Rehearsal::new(&[SITE_DOWN], at(6, 0)).await;
    r.declare(at(7, 0), "site-down").await;
    let mut famous = r.new_mention(at(7, 3), "acme-help", "famous", "site down");
    famous.author.followers = Some(5_000_000);
    let early = r.new_mention(at(7, 1), "acme-help", "early", "site down");
    // The famous author's mention arrives first but was written later.
    r.input(
        at(7, 3),
        squall::engine::input::Input::Mention(Box::new(famous)),
    )
    .await;
    r.input(
        at(7, 3),
        squall::engine::input::Input::Mention(Box::new(early)),
    )
    .await;
    let queue: Vec<_> =
        r.rt.engine
            .drafts()
            .queue()
            .iter()
            .map(|d| d.author_handle.clone())
            .collect();
    assert_eq!(queue, vec!["@early".to_string(), "@famous".to_string()]);
    let stored: Vec<_> =
        r.rt.store
            .draft_queue(None)
            .await
            .unwrap()
            .iter()
            .map(|d| d.mention_at)
            .collect();
    assert!(stored.windows(2).all(|w| w[0] <= w[1]));
    assert!(r.rt.engine.drafts().queue()[1]
        .flags
        .contains(&"influential"));
}

const QUIET_RESOLVE: &str = r#"
name: blip
triggers:
  - surge: {match: {any: [down]}, window: 5m, sensitivity: medium, for: 1m}
incident: {auto_resolve: {quiet: 20m}}
on_open:
  - pin_status: {accounts: [acme-main], template: status/site-down, approval: none}
on_resolve:
  - pin_status: {restore_previous: true}
"#;

#[tokio::test]
async fn an_incident_resolves_itself_after_the_quiet_period_once_the_surge_has_subsided() {
    let mut r = Rehearsal::new(&[QUIET_RESOLVE], at(6, 0)).await;
    quiet_morning(&mut r).await;
    r.surge(at(7, 0), 6, 20, "down again").await;
    assert_eq!(r.count("incident_opened"), 1);
    r.advance(at(7, 20)).await;
    assert_eq!(r.count("surge_subsided"), 1, "{:?}", r.kinds());
    assert_eq!(
        r.count("incident_resolved"),
        0,
        "not before the quiet period is over"
    );
    r.advance(at(7, 45)).await;
    let resolved = r.first("incident_resolved").expect("resolved by itself");
    assert!(resolved.message.contains("quiet"), "{}", resolved.message);
    assert_eq!(r.pins("acme-main"), vec!["acme-main-welcome".to_string()]);
}

#[tokio::test]
async fn a_new_surge_during_the_quiet_period_keeps_the_incident_open() {
    let mut r = Rehearsal::new(&[QUIET_RESOLVE], at(6, 0)).await;
    quiet_morning(&mut r).await;
    r.surge(at(7, 0), 6, 20, "down again").await;
    r.advance(at(7, 20)).await;
    r.surge(at(7, 25), 6, 40, "still down").await;
    r.advance(at(7, 42)).await;
    assert_eq!(r.count("incident_resolved"), 0, "{:?}", r.kinds());
}

#[tokio::test]
async fn on_a_platform_without_private_messages_personal_data_keeps_the_reply_public_and_generic() {
    let mut r = Rehearsal::new(&[SITE_DOWN], at(6, 0)).await;
    r.declare(at(7, 0), "site-down").await;
    r.mention(
        at(7, 1),
        "acme-bsky",
        "sam",
        "site down, write to sam@example.com",
    )
    .await;
    let d = r.rt.engine.drafts().drafts.values().next().unwrap().clone();
    assert!(!d.private, "Bluesky has no private messages");
    assert!(
        d.flags.contains(&"private_data"),
        "staff still see the flag"
    );
    assert!(
        !d.text.contains("sam@example.com"),
        "the reply never echoes personal data: {}",
        d.text
    );
}

#[tokio::test]
async fn each_account_gets_the_status_in_its_own_language_unless_a_person_wrote_the_text() {
    use squall::adapters::sim::SimRecord;
    let config = common::CONFIG.replace(
        r#"acme-help: {platform: mastodon, handle: "@acmehelp@mastodon.example"}"#,
        r#"acme-help: {platform: mastodon, handle: "@acmehelp@mastodon.example", language: pl}"#,
    );
    let playbook = r#"
name: outage
triggers: [{manual: {}}]
on_open:
  - pin_status: {accounts: [acme-main, acme-help], template: status/site-down, approval: none}
on_resolve:
  - pin_status: {restore_previous: true, final_template: status/resolved}
"#;
    let text_on = |r: &common::Rehearsal, account: &str| -> Vec<String> {
        r.records()
            .iter()
            .filter_map(|x| match x {
                SimRecord::Post {
                    account: a, text, ..
                }
                | SimRecord::Edit {
                    account: a, text, ..
                } if a == account => Some(text.clone()),
                _ => None,
            })
            .collect()
    };
    // Written by a person: posted as written, everywhere.
    let approved = playbook.replace("approval: none", "approval: {by: commander}");
    let mut r = common::Rehearsal::with_config(&config, &[&approved], at(7, 0)).await;
    r.declare(at(7, 0), "outage").await;
    r.command(
        at(7, 1),
        "ana",
        CommandKind::EditStatus {
            incident: r.incident(),
            text: "Acme is down. Updates at status.acme.example".into(),
        },
    )
    .await;
    r.command(
        at(7, 2),
        "ana",
        CommandKind::ApproveStatus {
            incident: r.incident(),
            text: None,
        },
    )
    .await;
    assert_eq!(
        text_on(&r, "acme-help"),
        ["Acme is down. Updates at status.acme.example"]
    );
    assert_eq!(text_on(&r, "acme-main"), text_on(&r, "acme-help"));
    // Rendered from the template: each account in its language.
    let mut r = common::Rehearsal::with_config(&config, &[playbook], at(7, 0)).await;
    r.declare(at(7, 0), "outage").await;
    assert!(
        text_on(&r, "acme-main")[0].contains("is down or slow"),
        "{:?}",
        text_on(&r, "acme-main")
    );
    assert!(
        text_on(&r, "acme-help")[0].contains("nie działa"),
        "{:?}",
        text_on(&r, "acme-help")
    );
    r.command(
        at(7, 20),
        "ana",
        CommandKind::Resolve {
            incident: r.incident(),
            note: None,
        },
    )
    .await;
    assert!(
        text_on(&r, "acme-help")
            .last()
            .is_some_and(|t| t.starts_with("Rozwiązane")),
        "{:?}",
        text_on(&r, "acme-help")
    );
    assert!(text_on(&r, "acme-main")
        .last()
        .is_some_and(|t| !t.starts_with("Rozwiązane")));
}

#[tokio::test]
async fn a_new_incident_does_not_answer_again_what_an_earlier_one_took() {
    let mut r = Rehearsal::new(&[SITE_DOWN], at(6, 0)).await;
    r.declare(at(7, 0), "site-down").await;
    r.mention(at(7, 1), "acme-help", "jan", "strona nie działa")
        .await;
    let first = r.incident();
    let d = r.rt.engine.drafts().drafts.values().next().unwrap().clone();
    r.command(
        at(7, 2),
        "kasia",
        CommandKind::ApproveDraft {
            draft: d.id,
            text: None,
        },
    )
    .await;
    r.resolve(at(7, 10)).await;
    // Declared again minutes later: it backfills the mentions nobody took,
    // not jan's, which the first incident answered.
    r.mention(at(7, 12), "acme-help", "ola", "dalej nie działa")
        .await;
    r.declare(at(7, 15), "site-down").await;
    let drafts: Vec<_> = r.rt.engine.drafts().drafts.values().cloned().collect();
    let authors: Vec<&str> = drafts.iter().map(|d| d.author_handle.as_str()).collect();
    assert_eq!(drafts.len(), 2, "jan's and ola's, once each: {authors:?}");
    assert!(drafts
        .iter()
        .any(|d| d.incident == first && d.author_handle.contains("jan")));
    assert!(drafts
        .iter()
        .any(|d| d.incident != first && d.author_handle.contains("ola")));
}

#[tokio::test]
async fn a_reply_the_platform_refuses_comes_back_to_the_queue_and_can_be_sent_again() {
    let mut r = Rehearsal::new(&[SITE_DOWN], at(6, 0)).await;
    r.declare(at(7, 0), "site-down").await;
    r.mention(at(7, 1), "acme-help", "jan", "strona nie działa")
        .await;
    let did = r.rt.engine.drafts().drafts.values().next().unwrap().id;
    r.accounts["acme-help"].fail_next(
        squall::adapters::sim::Op::Reply,
        squall::adapters::AdapterError::Rejected("422 Validation failed".into()),
    );
    let approve = CommandKind::ApproveDraft {
        draft: did,
        text: None,
    };
    r.command(at(7, 2), "kasia", approve.clone()).await;
    assert_eq!(r.count("draft_sent"), 0);
    let d = &r.rt.engine.drafts().drafts[&did];
    assert!(
        d.is_pending(),
        "back in the queue, not stuck as approved: {:?}",
        d.state
    );
    assert!(
        r.events
            .iter()
            .any(|e| e.kind.as_str() == "draft_updated" && e.message.contains("was not sent")),
        "{:?}",
        r.kinds()
    );
    // Approved again, it is a new send, not the failed one deduplicated away.
    r.command(at(7, 3), "kasia", approve).await;
    assert_eq!(r.count("draft_sent"), 1, "{:?}", r.kinds());
}

#[tokio::test]
async fn a_public_reply_longer_than_one_post_is_refused_when_approved_and_says_by_how_much() {
    let mut r = Rehearsal::new(&[SITE_DOWN], at(6, 0)).await;
    r.declare(at(7, 0), "site-down").await;
    r.mention(at(7, 1), "acme-x", "jan", "is acme down?").await;
    let did = r.rt.engine.drafts().drafts.values().next().unwrap().id;
    let long = "We are on it, sorry. ".repeat(15);
    r.command(
        at(7, 2),
        "kasia",
        CommandKind::ApproveDraft {
            draft: did,
            text: Some(long.clone()),
        },
    )
    .await;
    let refused = r.first("command_rejected").expect("refused");
    assert!(
        refused
            .message
            .contains("a reply on x takes at most 280: shorten it by 35"),
        "{}",
        refused.message
    );
    assert!(r.rt.engine.drafts().drafts[&did].is_pending());
    r.command(
        at(7, 3),
        "kasia",
        CommandKind::EditDraft {
            draft: did,
            text: long,
        },
    )
    .await;
    assert_eq!(
        r.count("command_rejected"),
        2,
        "an edit that long is refused too"
    );
    assert_eq!(r.count("draft_sent"), 0);
}

const HELD_BACK: &str = r#"
name: rumour
title: Breach rumour
triggers:
  - manual: {}
on_state_change:
  - pin_status:
      accounts: [acme-main, acme-bsky]
      template: status/site-down
    when: {states: [acknowledged]}
"#;

#[tokio::test]
async fn a_status_held_back_until_acknowledged_then_waits_for_approval_and_is_pinned() {
    let mut r = Rehearsal::new(&[HELD_BACK], at(6, 0)).await;
    r.declare(at(7, 0), "rumour").await;
    assert_eq!(
        r.count("status_awaiting_approval"),
        0,
        "nothing before acknowledgement"
    );
    let id = r.incident();
    r.command(
        at(7, 5),
        "ana",
        CommandKind::Acknowledge {
            incident: id.clone(),
        },
    )
    .await;
    assert_eq!(r.count("status_awaiting_approval"), 1, "{:?}", r.kinds());
    assert_eq!(
        r.count("status_posted"),
        0,
        "a person approves every word first"
    );
    r.command(
        at(7, 6),
        "ana",
        CommandKind::ApproveStatus {
            incident: id,
            text: None,
        },
    )
    .await;
    assert_eq!(r.count("pinned"), 2, "{:?}", r.kinds());
}

#[tokio::test]
async fn pending_drafts_follow_the_incident_phase_unless_someone_edited_them() {
    let mut r = Rehearsal::new(&[SITE_DOWN], at(6, 0)).await;
    r.declare(at(7, 0), "site-down").await;
    r.mention(at(7, 1), "acme-help", "jan", "is the site down?")
        .await;
    r.mention(at(7, 1), "acme-help", "ola", "site down for me too")
        .await;
    let drafts = |r: &Rehearsal| -> Vec<squall::engine::drafts::Draft> {
        let mut v: Vec<_> = r.rt.engine.drafts().drafts.values().cloned().collect();
        v.sort_by_key(|d| d.id);
        v
    };
    let [jan, ola] = <[_; 2]>::try_from(drafts(&r)).expect("two drafts");
    assert!(jan.text.contains("investigating"), "{}", jan.text);
    let words = "Hi Ola, our engineers are on it.".to_string();
    r.command(
        at(7, 2),
        "kasia",
        CommandKind::EditDraft {
            draft: ola.id,
            text: words.clone(),
        },
    )
    .await;
    r.resolve(at(7, 30)).await;
    let [jan, ola] = <[_; 2]>::try_from(drafts(&r)).expect("two drafts");
    assert!(jan.text.contains("working normally again"), "{}", jan.text);
    assert_eq!(ola.text, words, "a person's words are kept");
}

/// Validation keeps every duration within a year. The engine does not rely
/// on it to stay up: a deadline past what a timestamp can hold is one that
/// never comes, not a panic ("DateTime + TimeDelta overflowed").
#[test]
fn durations_past_any_calendar_make_deadlines_that_never_come_not_a_panic() {
    use squall::engine::input::{Command, Input};
    use squall::engine::Engine;
    use squall::playbook::{Action, ApprovalTimeout};
    use std::sync::Arc;

    let cfg = common::config(common::CONFIG);
    let templates = common::templates();
    let mut pb = common::playbook(SITE_DOWN, &cfg, &templates);
    let forever = std::time::Duration::MAX;
    pb.incident.stale_after = forever;
    for step in &mut pb.on_open {
        match &mut step.action {
            Action::PinStatus(p) => {
                if let Some(approval) = p.approval.as_mut() {
                    approval.timeout = forever;
                    approval.then = ApprovalTimeout::Hold;
                }
            }
            Action::ReplyDrafts(r) => r.sla = forever,
            _ => {}
        }
    }
    let mut engine = Engine::new(Arc::new(cfg), vec![pb], Arc::new(templates), at(6, 0));
    let kinds = |d: &squall::engine::Decisions| -> Vec<&'static str> {
        d.events.iter().map(|e| e.kind.as_str()).collect()
    };

    let opened = engine.handle(
        at(7, 0),
        Input::Command(Command {
            by: "ana".into(),
            kind: CommandKind::Declare {
                playbook: ref_("site-down"),
                note: None,
            },
        }),
    );
    assert!(
        kinds(&opened).contains(&"status_awaiting_approval"),
        "{:?}",
        kinds(&opened)
    );
    let mention = squall::mention::parse_ndjson_line(
        r#"{"id": "m1", "platform": "mastodon", "account": "acme-help", "author": {"id": "u-1", "handle": "@cust"}, "text": "is acme down?", "created_at": "2026-11-24T07:01:00Z"}"#,
    )
    .expect("mention");
    let drafted = engine.handle(at(7, 1), Input::Mention(Box::new(mention)));
    assert!(
        kinds(&drafted).contains(&"draft_created"),
        "{:?}",
        kinds(&drafted)
    );
    let day = engine.tick(at(23, 59));
    assert!(
        !kinds(&day)
            .iter()
            .any(|k| ["approval_reminder", "status_stale", "draft_escalated"].contains(k)),
        "{:?}",
        kinds(&day)
    );
}
