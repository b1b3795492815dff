//! Off-hours honesty (BRIEF lesson 3), rehearsed over a whole week on the
//! real runtime (engine, store, outbox) with simulated platforms: the pinned
//! note comes and goes with the schedule, customers get exactly one
//! auto-reply per closed period, and an incident at 02:00 takes the pin and
//! gives it back.

mod common;

use chrono::{TimeZone, Utc};
use common::{Rehearsal, Ts};
use squall::adapters::sim::SimRecord;
use squall::engine::input::{CommandKind, Input};
use squall::mention::Mention;

/// Monday 23 November 2026 at `h:m` UTC, plus `day` days. Warsaw is UTC+1
/// all week: the desk is open 08:00Z–16:00Z on weekdays.
fn day(day: u32, h: u32, m: u32) -> Ts {
    Utc.with_ymd_and_hms(2026, 11, 23 + day, h, m, 0)
        .single()
        .expect("valid time")
}

const CONFIG: &str = r#"
brand: {name: Acme, status_page: https://status.acme.example, support_email: help@acme.example, support_phone: "+48 22 100 20 30"}
accounts:
  acme-main: {platform: mastodon, handle: "@acme@mastodon.example"}
  acme-help:
    platform: mastodon
    handle: "@acmehelp@mastodon.example"
    off_hours: {schedule: support-hours, template: autoreply/closed, note: autoreply/closed-note}
schedules:
  support-hours:
    timezone: Europe/Warsaw
    weekly: {mon-fri: ["09:00-17:00"]}
staff:
  ana: {name: Ana Nowak, email: ana@acme.example, languages: [pl, en], schedule: support-hours}
  marek: {name: Marek Zieliński, email: marek@acme.example, languages: [pl, en]}
teams:
  care: {members: [ana]}
  on-call: {members: [marek]}
roles:
  commander: [ana, marek]
"#;

/// A crisis at night: the on-call team answers, the auto-reply says so.
const NIGHT_OUTAGE: &str = r#"
name: night-outage
title: Outage at night
triggers:
  - manual: {}
on_open:
  - pin_status: {accounts: [acme-help], template: status/site-down, approval: none}
  - autoresponder: {accounts: [acme-help], schedule: support-hours, template: autoreply/site-down, on_call: on-call}
  - reply_drafts: {template: drafts/site-down, to: {team: care}, sla: 20m}
on_resolve:
  - pin_status: {restore_previous: true, final_template: status/resolved}
"#;

struct Week {
    r: Rehearsal,
    seq: u64,
}

impl Week {
    async fn start() -> Self {
        let r = Rehearsal::with_config(CONFIG, &[NIGHT_OUTAGE], day(0, 0, 0)).await;
        Self { r, seq: 0 }
    }

    fn mention(&mut self, at: Ts, author: &str, direct: bool) -> Mention {
        self.seq += 1;
        let mut m =
            self.r
                .new_mention(at, "acme-help", author, "Is anyone there? The app is down.");
        m.id = format!("w{}", self.seq);
        m.direct = direct;
        m
    }

    async fn send(&mut self, m: Mention) {
        self.r
            .input(m.created_at, Input::Mention(Box::new(m)))
            .await;
    }

    async fn dm(&mut self, at: Ts, author: &str) -> String {
        let m = self.mention(at, author, true);
        let id = m.id.clone();
        self.send(m).await;
        id
    }

    /// (when, author, outcome, reason) of every auto-reply decision.
    fn decisions(&self) -> Vec<(Ts, String, &'static str, String)> {
        self.r
            .events
            .iter()
            .filter_map(|e| {
                let outcome = match e.kind.as_str() {
                    "auto_reply_sent" => "sent",
                    "auto_reply_held" => "held",
                    _ => return None,
                };
                let detail = |k: &str| e.detail[k].as_str().unwrap_or_default().to_string();
                Some((e.at, detail("author"), outcome, detail("reason")))
            })
            .collect()
    }

    /// (when, pinned or unpinned) of the off-hours note on acme-help.
    fn note_pins(&self) -> Vec<(Ts, &'static str)> {
        self.r
            .events
            .iter()
            .filter(|e| e.detail.get("purpose").and_then(|p| p.as_str()) == Some("off_hours"))
            .filter(|e| e.detail["account"] == "acme-help")
            .filter_map(|e| match e.kind.as_str() {
                "pinned" => Some((e.at, "pinned")),
                "unpinned" => Some((e.at, "unpinned")),
                _ => None,
            })
            .collect()
    }

    /// Texts squall sent to customers as direct messages, by author id.
    fn direct_texts(&self, to: &str) -> Vec<String> {
        self.r
            .records()
            .into_iter()
            .filter_map(|rec| match rec {
                SimRecord::Direct { to: t, text, .. } if t == to => Some(text),
                _ => None,
            })
            .collect()
    }
}

#[tokio::test]
async fn a_week_of_mentions_gets_one_auto_reply_per_author_per_closed_period_and_the_note_follows_the_hours(
) {
    let mut w = Week::start().await;
    let welcome = "acme-help-welcome".to_string();

    // Monday before opening: the night's note is pinned next to the brand's own pin.
    w.r.advance(day(0, 1, 0)).await;
    let night_pins = w.r.pins("acme-help");
    assert_eq!(night_pins.len(), 2, "{night_pins:?}");
    assert_eq!(night_pins[0], welcome);

    let alice_first = w.dm(day(0, 7, 0), "alice").await; // answered
    w.dm(day(0, 7, 10), "alice").await; // once per closed period
    let public = w.mention(day(0, 7, 20), "bob", false);
    w.send(public).await; // public mentions are not auto-answered here
    let mut own = w.mention(day(0, 7, 30), "acmehelp", true);
    own.author.handle = "@acmehelp@mastodon.example".into();
    w.send(own).await;
    let mut bot = w.mention(day(0, 7, 40), "statusbot", true);
    bot.author.bot = true;
    w.send(bot).await;
    w.dm(day(0, 10, 0), "carol").await; // open: people answer, no robot

    // Monday evening: closed again, a new period.
    w.dm(day(0, 17, 0), "alice").await;
    let mut in_thread = w.mention(day(0, 17, 5), "dave", true);
    in_thread.in_reply_to = Some(alice_first.clone());
    w.send(in_thread).await; // alice's thread from the morning: another period, answered
    let mut same_thread = w.mention(day(0, 17, 6), "erin", true);
    same_thread.in_reply_to = Some("w7".into()); // alice's evening message
    w.send(same_thread).await;

    // Tuesday evening, then an incident at 02:00 Warsaw time on Wednesday.
    w.dm(day(1, 17, 30), "alice").await;
    w.r.advance(day(2, 1, 0)).await;
    assert_eq!(w.r.pins("acme-help").len(), 2, "the night's note is up");
    w.r.declare(day(2, 1, 0), "night-outage").await;
    let id = w.r.incident();
    let during = w.r.pins("acme-help");
    assert_eq!(during.len(), 2, "{during:?}");
    assert_eq!(
        during[0], welcome,
        "the status replaced the note, not the brand's pin"
    );
    w.dm(day(2, 1, 10), "frank").await; // the on-call wording
    w.dm(day(2, 1, 15), "alice").await; // answered on Tuesday evening: same closed period

    // Staff answer gina's public post; her DM two minutes later gets no robot.
    let public = w.mention(day(2, 1, 16), "gina", false);
    w.send(public).await;
    let draft =
        w.r.rt
            .engine
            .drafts()
            .drafts
            .values()
            .find(|d| d.author_handle == "@gina")
            .map(|d| d.id)
            .expect("a draft for gina");
    w.r.command(
        day(2, 1, 18),
        "marek",
        CommandKind::ApproveDraft { draft, text: None },
    )
    .await;
    w.dm(day(2, 1, 20), "gina").await;

    w.r.command(
        day(2, 1, 30),
        "ana",
        CommandKind::Resolve {
            incident: id.clone(),
            note: None,
        },
    )
    .await;
    let after = w.r.pins("acme-help");
    assert_eq!(after.len(), 2, "{after:?}");
    assert_eq!(after[0], welcome);
    assert!(
        !during.contains(&after[1]),
        "the note is back in place of the status: {after:?} vs {during:?}"
    );

    // Saturday: closed all weekend; back on Monday, in the author's language.
    let mut weekend = w.mention(day(5, 12, 0), "henryk", true);
    weekend.lang = Some("pl".into());
    w.send(weekend).await;
    w.r.advance(day(7, 9, 0)).await;

    let expect = |d: u32, h: u32, m: u32, who: &str, outcome: &'static str, reason: &str| {
        (day(d, h, m), format!("@{who}"), outcome, reason.to_string())
    };
    assert_eq!(
        w.decisions(),
        vec![
            expect(0, 7, 0, "alice", "sent", "closed"),
            expect(0, 7, 10, "alice", "held", "already_answered"),
            expect(0, 7, 20, "bob", "held", "public_mention"),
            (
                day(0, 7, 30),
                "@acmehelp@mastodon.example".into(),
                "held",
                "own_account".into()
            ),
            expect(0, 7, 40, "statusbot", "held", "bot"),
            expect(0, 17, 0, "alice", "sent", "closed"),
            expect(0, 17, 5, "dave", "sent", "closed"),
            expect(0, 17, 6, "erin", "held", "same_thread"),
            expect(1, 17, 30, "alice", "sent", "closed"),
            expect(2, 1, 10, "frank", "sent", "on_call"),
            expect(2, 1, 15, "alice", "held", "already_answered"),
            expect(2, 1, 16, "gina", "held", "public_mention"),
            expect(2, 1, 20, "gina", "held", "staff_replied"),
            expect(5, 12, 0, "henryk", "sent", "closed"),
        ]
    );
    // Each decision to send reached the platform once.
    for (who, n) in [
        ("alice", 3),
        ("dave", 1),
        ("frank", 1),
        ("henryk", 1),
        ("carol", 0),
    ] {
        assert_eq!(w.direct_texts(&format!("u-{who}")).len(), n, "{who}");
    }
    let frank = &w.direct_texts("u-frank")[0];
    assert!(
        !frank.contains("back tomorrow") && !frank.contains("We'll be back"),
        "the on-call reply says a team is on it: {frank}"
    );
    assert!(
        w.direct_texts("u-alice")[0].contains("today at 9:00 CET"),
        "{:?}",
        w.direct_texts("u-alice")
    );
    assert!(
        w.direct_texts("u-alice")[1].contains("tomorrow at 9:00 CET"),
        "{:?}",
        w.direct_texts("u-alice")
    );
    assert!(
        w.direct_texts("u-henryk")[0].contains("w poniedziałek o 9:00 CET"),
        "{:?}",
        w.direct_texts("u-henryk")
    );

    // The note: up at every closing, down at every opening, and out of the
    // way of the incident's status from 01:00 to 01:30 on Wednesday.
    let mut expected = vec![(day(0, 0, 0), "pinned")];
    for d in 0..5 {
        expected.push((day(d, 8, 0), "unpinned"));
        expected.push((day(d, 16, 0), "pinned"));
    }
    expected.push((day(7, 8, 0), "unpinned"));
    expected.sort();
    expected.insert(
        expected
            .iter()
            .position(|e| *e == (day(2, 8, 0), "unpinned"))
            .expect("wednesday opening"),
        (day(2, 1, 0), "unpinned"),
    );
    expected.insert(
        expected
            .iter()
            .position(|e| *e == (day(2, 8, 0), "unpinned"))
            .expect("wednesday opening"),
        (day(2, 1, 30), "pinned"),
    );
    assert_eq!(w.note_pins(), expected);

    // Every switch is on the timeline: five closings plus the start, six openings.
    assert_eq!(w.r.count("off_hours_on"), 6);
    assert_eq!(w.r.count("off_hours_off"), 6);
    let kinds: Vec<&str> =
        w.r.events
            .iter()
            .filter(|e| e.kind.as_str() == "off_hours_note")
            .map(|e| e.detail["action"].as_str().unwrap_or_default())
            .collect();
    assert_eq!(kinds, ["yielded", "restored"]);
    // Monday morning: the brand's own pin stayed, only the note left.
    assert_eq!(w.r.pins("acme-help"), vec![welcome]);
}

#[tokio::test]
async fn the_off_hours_api_view_says_closed_pinned_and_overridden_during_a_night_incident() {
    let mut w = Week::start().await;
    w.r.advance(day(2, 0, 30)).await;
    let view = w.r.rt.engine.off_hours_status(day(2, 0, 30));
    assert_eq!(view.len(), 1);
    let help = &view[0];
    assert_eq!(
        (
            help.account.as_str(),
            help.open,
            help.pinned_note,
            help.on_call_override
        ),
        ("acme-help", false, true, false)
    );
    assert_eq!(help.since, Some(day(1, 16, 0)));
    assert_eq!(help.next_open, Some(day(2, 8, 0)));
    w.r.declare(day(2, 1, 0), "night-outage").await;
    let view = w.r.rt.engine.off_hours_status(day(2, 1, 5));
    assert_eq!(
        (view[0].pinned_note, view[0].on_call_override),
        (false, true),
        "the status holds the pin; a team is on call"
    );
    let json = serde_json::to_value(&view[0]).expect("json");
    for key in [
        "account",
        "platform",
        "schedule",
        "open",
        "since",
        "next_change",
        "next_open",
        "override",
        "pinned_note",
    ] {
        assert!(json.get(key).is_some(), "{key} missing in {json}");
    }
}

#[tokio::test]
async fn auto_replies_and_the_note_say_when_people_are_back_in_all_five_languages() {
    let mut w = Week::start().await;
    // Monday 18:00 CET: back tomorrow at 9:00; the note says Tuesday.
    let cases = [
        ("en", "tomorrow at 9:00 CET"),
        ("pl", "jutro o 9:00 CET"),
        ("ru", "завтра в 9:00 CET"),
        ("ja", "明日9:00 (CET)"),
        ("he", "מחר ב-9:00 CET"),
    ];
    for (i, (lang, _)) in cases.iter().enumerate() {
        let mut m = w.mention(day(0, 17, i as u32), &format!("writer-{lang}"), true);
        m.lang = Some(lang.to_string());
        w.send(m).await;
    }
    for (lang, back) in cases {
        let texts = w.direct_texts(&format!("u-writer-{lang}"));
        assert_eq!(texts.len(), 1, "{lang}");
        assert!(texts[0].contains(back), "{lang}: {}", texts[0]);
        assert!(
            texts[0].contains("help@acme.example"),
            "where to go meanwhile, {lang}"
        );
    }
    let notes: Vec<String> =
        w.r.records()
            .into_iter()
            .filter_map(|rec| match rec {
                SimRecord::Post { account, text, .. } if account == "acme-help" => Some(text),
                _ => None,
            })
            .collect();
    assert_eq!(
        notes.len(),
        2,
        "Monday's early hours and Monday evening: {notes:?}"
    );
    assert!(notes[0].contains("on Monday at 9:00 CET"), "{}", notes[0]);
    assert!(notes[1].contains("on Tuesday at 9:00 CET"), "{}", notes[1]);
}

#[test]
fn every_off_hours_template_renders_the_next_opening_in_its_language() {
    let templates = common::templates();
    let mut data = squall::templates::StepContext::Autoreply.sample_data();
    for lang in ["en", "pl", "ru", "ja", "he"] {
        let back = format!("<{lang}: back at 9:00>");
        data["back_at"] = serde_json::json!(back);
        for template in [
            "autoreply/closed",
            "autoreply/closed-note",
            "autoreply/site-down",
        ] {
            assert!(
                templates.languages(template).iter().any(|l| l == lang),
                "{template} has a {lang} file"
            );
            // Every phrasing: the seed picks one of them.
            for seed in 0..12 {
                let rendered = templates
                    .render(template, lang, &data, seed, squall::templates::Escape::Text)
                    .unwrap_or_else(|e| panic!("{template}.{lang}: {e}"));
                assert_eq!(rendered.lang, lang);
                let text = rendered.text;
                if template != "autoreply/site-down" {
                    assert!(text.contains(&back), "{template}.{lang} #{seed}: {text}");
                }
                assert!(
                    text.contains("https://"),
                    "{template}.{lang} #{seed}: where to go meanwhile"
                );
            }
        }
    }
}

/// One pin on Bluesky: the note, the status and the brand's own post take
/// turns, and a failed unpin of the note never leaves two squall pins.
const BSKY_CONFIG: &str = r#"
brand: {name: Acme, status_page: https://status.acme.example, support_email: help@acme.example}
accounts:
  acme-bsky:
    platform: bluesky
    handle: acme.bsky.social
    off_hours: {schedule: support-hours, template: autoreply/closed, note: autoreply/closed-note}
schedules:
  support-hours:
    timezone: Europe/Warsaw
    weekly: {mon-fri: ["09:00-17:00"]}
staff:
  ana: {name: Ana Nowak, languages: [en]}
teams:
  care: {members: [ana]}
roles:
  commander: [ana]
"#;

const BSKY_OUTAGE: &str = r#"
name: night-outage
title: Outage at night
triggers:
  - manual: {}
on_open:
  - pin_status: {accounts: [acme-bsky], template: status/site-down, approval: none}
on_resolve:
  - pin_status: {restore_previous: true, final_template: status/resolved}
"#;

#[tokio::test]
async fn on_a_one_pin_platform_a_failed_note_unpin_still_lets_the_status_win_and_the_note_return() {
    let mut r = Rehearsal::with_config(BSKY_CONFIG, &[BSKY_OUTAGE], day(0, 0, 0)).await;
    r.advance(day(0, 0, 1)).await;
    let note = r.pins("acme-bsky");
    assert_eq!(note.len(), 1);
    assert_ne!(
        note[0], "acme-bsky-welcome",
        "the note displaced the brand's pin"
    );

    // The note's unpin fails once (the platform is down for a moment).
    r.accounts["acme-bsky"].fail_next(
        squall::adapters::sim::Op::Unpin,
        squall::adapters::AdapterError::Transient("503".into()),
    );
    r.declare(day(0, 1, 0), "night-outage").await;
    let id = r.incident();
    let status = r.pins("acme-bsky");
    assert_eq!(status.len(), 1);
    assert!(
        !note.contains(&status[0]),
        "the status holds the pin: {status:?}"
    );
    assert_eq!(
        r.count("action_retry"),
        1,
        "the note's unpin failed once: {:?}",
        r.kinds()
    );
    r.advance(day(0, 1, 20)).await; // the unpin's retry finds nothing left to do

    r.command(
        day(0, 1, 30),
        "ana",
        CommandKind::Resolve {
            incident: id,
            note: None,
        },
    )
    .await;
    r.advance(day(0, 1, 40)).await;
    let back = r.pins("acme-bsky");
    assert_eq!(back.len(), 1, "{back:?}");
    assert!(
        back[0] != status[0] && back[0] != "acme-bsky-welcome",
        "a fresh note is pinned again: {back:?}"
    );
    assert_eq!(r.count("action_failed"), 0, "{:?}", r.kinds());

    // Monday 09:00 CET: the note goes, the brand's own post comes back.
    r.advance(day(0, 8, 1)).await;
    assert_eq!(r.pins("acme-bsky"), vec!["acme-bsky-welcome".to_string()]);
}
