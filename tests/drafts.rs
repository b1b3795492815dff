//! Reply drafts as customers would read them, and the rules that keep the
//! queue fair: golden texts in five languages (public and private), no two
//! authors with the same text, abuse flagged and not answered again and
//! again, and a queue that follows the time people wrote whatever their
//! follower count.

mod common;

use common::{at, Rehearsal};
use squall::engine::input::Input;
use squall::mention::Mention;

const REPLIES: &str = r#"
name: site-down
title: Site outage
triggers:
  - manual: {}
on_open:
  - reply_drafts: {template: drafts/site-down, to: {team: care, match_language: true}, sla: 15m, escalate_to: comms-lead}
"#;

/// A mention from `author` (named `name`) in `lang`, written at 07:`minute`.
fn mention(
    r: &mut Rehearsal,
    minute: u32,
    author: &str,
    name: &str,
    lang: &str,
    text: &str,
) -> Mention {
    let mut m = r.new_mention(at(7, minute), "acme-help", author, text);
    m.author.name = Some(name.to_string());
    m.lang = Some(lang.to_string());
    m
}

async fn send(r: &mut Rehearsal, m: Mention) {
    let t = m.created_at;
    r.input(t, Input::Mention(Box::new(m))).await;
}

#[tokio::test]
async fn drafts_read_as_written_for_each_author_in_their_language() {
    let mut r = Rehearsal::new(&[REPLIES], at(6, 0)).await;
    r.declare(at(7, 0), "site-down").await;
    let cases = [
        ("en", "jane", "Jane Doe", "the app is down for me"),
        (
            "en",
            "jim",
            "Jim Roe",
            "down again, mail me at jim.roe@example.com",
        ),
        ("pl", "ola", "Ola Nowak", "aplikacja nie działa od rana"),
        (
            "pl",
            "jan",
            "Jan Kowalski",
            "nie działa, mój telefon 601 234 567",
        ),
        ("he", "noa", "נועה לוי", "האתר לא עובד"),
        ("he", "dan", "דן כהן", "האתר נפל, כרטיס 4111 1111 1111 1111"),
        ("ru", "ivan", "Иван Петров", "сайт не работает"),
        (
            "ru",
            "olga",
            "Ольга Смирнова",
            "не работает, номер счёта 40817810",
        ),
        ("ja", "hana", "花子", "サイトが落ちています"),
        ("ja", "taro", "太郎", "落ちてる、メールは taro@example.jp"),
    ];
    for (i, (lang, author, name, text)) in cases.iter().enumerate() {
        let m = mention(&mut r, 1 + i as u32, author, name, lang, text);
        send(&mut r, m).await;
    }
    let mut golden = String::new();
    for d in r.rt.engine.drafts().queue() {
        golden.push_str(&format!(
            "[{} {} private={} flags={:?}]\n{}\n\n",
            d.lang, d.author_handle, d.private, d.flags, d.text
        ));
        for secret in ["jim.roe@", "601 234 567", "4111", "40817810", "taro@"] {
            assert!(!d.text.contains(secret), "{secret} in {}", d.text);
        }
    }
    insta::assert_snapshot!("drafts_in_five_languages", golden);
    let private: Vec<&str> =
        r.rt.engine
            .drafts()
            .queue()
            .iter()
            .filter(|d| d.private)
            .map(|d| d.author_handle.as_str())
            .collect();
    assert_eq!(private, ["@jim", "@jan", "@dan", "@olga", "@taro"]);
}

#[tokio::test]
async fn no_two_authors_in_an_incident_get_the_same_text() {
    let mut r = Rehearsal::new(&[REPLIES], at(6, 0)).await;
    r.declare(at(7, 0), "site-down").await;
    // Forty people with the same first name write the same words.
    for i in 0..40 {
        let m = mention(
            &mut r,
            1 + i / 4,
            &format!("anna{i}"),
            "Anna",
            "en",
            "site down",
        );
        send(&mut r, m).await;
    }
    let texts: std::collections::BTreeSet<String> =
        r.rt.engine
            .drafts()
            .drafts
            .values()
            .map(|d| d.text.clone())
            .collect();
    assert_eq!(texts.len(), 40, "{texts:#?}");
}

#[tokio::test]
async fn repeated_abuse_is_flagged_and_not_answered_again_and_again() {
    let mut r = Rehearsal::new(&[REPLIES], at(6, 0)).await;
    r.declare(at(7, 0), "site-down").await;
    for (minute, text) in [
        (1, "site down, you idiots"),
        (2, "useless idiots, fix it"),
        (3, "idiots!!!"),
    ] {
        let m = mention(&mut r, minute, "troll", "Troll", "en", text);
        send(&mut r, m).await;
    }
    let drafts: Vec<_> = r.rt.engine.drafts().drafts.values().collect();
    assert_eq!(drafts.len(), 1, "one conversation, one draft");
    assert!(drafts[0].flags.contains(&"abuse"), "{:?}", drafts[0].flags);
    assert_eq!(r.count("mention_skipped"), 2, "{:?}", r.kinds());
}

#[tokio::test]
async fn with_authors_of_10_and_1_000_000_followers_the_queue_follows_mention_time() {
    let mut r = Rehearsal::new(&[REPLIES], at(6, 0)).await;
    r.declare(at(7, 0), "site-down").await;
    // Interleaved, famous authors' mentions arriving first but written later.
    let mut batch = Vec::new();
    for i in 0..20u32 {
        let (followers, who) = if i % 2 == 0 {
            (1_000_000, format!("star{i}"))
        } else {
            (10, format!("small{i}"))
        };
        let mut m = mention(&mut r, 1 + (19 - i), &who, &who, "en", "site down");
        m.author.followers = Some(followers);
        batch.push(m);
    }
    for m in batch {
        r.input(at(7, 30), Input::Mention(Box::new(m))).await;
    }
    let queue = r.rt.engine.drafts().queue();
    let times: Vec<_> = queue.iter().map(|d| d.mention_at).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    assert_eq!(queue.len(), 20);
    assert_eq!(
        queue[0].author_handle, "@small19",
        "written first, at 07:01"
    );
    let stored = r.rt.store.draft_queue(None).await.unwrap();
    let stored_times: Vec<_> = stored.iter().map(|d| d.mention_at).collect();
    assert_eq!(stored_times, times);
    assert!(queue
        .iter()
        .all(|d| d.flags.contains(&"influential") == d.author_handle.starts_with("@star")));
}
