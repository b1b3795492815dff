//! The outbox worker against a misbehaving world: rate limits, refusals,
//! and a worker that dies halfway through pinning.

mod common;

use common::{at, Rehearsal};
use squall::adapters::sim::Op;
use squall::adapters::AdapterError;
use squall::engine::input::CommandKind;

const PIN_NOW: &str = r#"
name: outage
triggers: [{manual: {}}]
on_open:
  - pin_status: {accounts: [acme-main, acme-help, acme-bsky], template: status/site-down, approval: none}
on_resolve:
  - pin_status: {restore_previous: true, final_template: status/resolved}
"#;

#[tokio::test]
async fn a_rate_limited_post_is_retried_when_the_platform_says_and_posted_once() {
    let mut r = Rehearsal::new(&[PIN_NOW], at(7, 0)).await;
    r.accounts["acme-main"].fail_next(
        Op::Post,
        AdapterError::RateLimited {
            retry_after_secs: 90,
        },
    );
    r.declare(at(7, 0), "outage").await;
    let retry = r.first("action_retry").expect("a retry is scheduled");
    assert!(retry.message.contains("07:01:30"), "{}", retry.message);
    assert_eq!(r.count("pinned"), 2, "the other accounts do not wait");
    r.advance(at(7, 2)).await;
    assert_eq!(r.count("pinned"), 3);
    let posts = r.records().iter().filter(|x| matches!(x, squall::adapters::sim::SimRecord::Post { account, .. } if account == "acme-main")).count();
    assert_eq!(posts, 1);
}

#[tokio::test]
async fn a_refused_post_is_reported_for_good_and_the_other_accounts_go_on() {
    let mut r = Rehearsal::new(&[PIN_NOW], at(7, 0)).await;
    r.accounts["acme-help"].fail_next(
        Op::Post,
        AdapterError::Rejected(
            "422 Validation failed: Text character limit of 500 exceeded".into(),
        ),
    );
    r.declare(at(7, 0), "outage").await;
    let failed = r.first("action_failed").expect("reported");
    assert!(
        failed.message.contains("acme-help") && failed.message.contains("422"),
        "{}",
        failed.message
    );
    assert_eq!(r.count("pinned"), 2);
    assert_eq!(r.count("action_retry"), 0, "a refusal is not retried");
}

#[tokio::test]
async fn a_pin_interrupted_after_it_was_recorded_resumes_without_pinning_twice_or_forgetting_what_it_displaced(
) {
    let mut r = Rehearsal::new(&[PIN_NOW], at(7, 0)).await;
    // Bluesky holds one pin. The worker records the plan, unpins the
    // brand's own post, then the pin call fails (as if the worker died).
    r.accounts["acme-bsky"].fail_next(Op::Pin, AdapterError::Transient("connection reset".into()));
    r.declare(at(7, 0), "outage").await;
    assert!(
        r.pins("acme-bsky").is_empty(),
        "nothing pinned while the pin is pending"
    );
    r.advance(at(7, 1)).await;
    assert_eq!(
        r.pins("acme-bsky").len(),
        1,
        "resumed from the recorded plan"
    );
    assert_ne!(r.pins("acme-bsky"), vec!["acme-bsky-welcome".to_string()]);
    let posts = r.records().iter().filter(|x| matches!(x, squall::adapters::sim::SimRecord::Post { account, .. } if account == "acme-bsky")).count();
    assert_eq!(posts, 1, "the post is not repeated on retry");
    r.command(
        at(7, 30),
        "ana",
        CommandKind::Resolve {
            incident: "outage".into(),
            note: None,
        },
    )
    .await;
    assert_eq!(
        r.pins("acme-bsky"),
        vec!["acme-bsky-welcome".to_string()],
        "the displaced post came back"
    );
}

#[tokio::test]
async fn a_lease_held_by_a_dead_worker_expires_and_another_worker_finishes_the_job_once() {
    let mut r = Rehearsal::new(&[PIN_NOW], at(7, 0)).await;
    // A status post for acme-main waits in the outbox, claimed by a worker
    // that then dies without finishing.
    r.accounts["acme-main"].fail_next(Op::Post, AdapterError::Transient("timeout".into()));
    r.declare(at(7, 0), "outage").await;
    let stolen =
        r.rt.store
            .claim_next(
                "dead-worker",
                at(7, 0) + chrono::Duration::seconds(3),
                std::time::Duration::from_secs(60),
            )
            .await
            .expect("claim");
    assert!(
        stolen.is_some(),
        "the retry row is leased by the dead worker"
    );
    r.advance(at(7, 0) + chrono::Duration::seconds(30)).await;
    assert_eq!(
        r.pins("acme-main"),
        vec!["acme-main-welcome".to_string()],
        "leased: nobody else touches it"
    );
    // After the lease runs out, the next tick takes it over.
    r.input(
        at(7, 2),
        squall::engine::input::Input::Command(squall::engine::input::Command {
            by: "ana".into(),
            kind: CommandKind::Update {
                incident: "outage".into(),
                note: Some("still looking".into()),
                eta: None,
            },
        }),
    )
    .await;
    assert_eq!(r.pins("acme-main").len(), 2, "{:?}", r.kinds());
    let posts = r.records().iter().filter(|x| matches!(x, squall::adapters::sim::SimRecord::Post { account, .. } if account == "acme-main")).count();
    assert_eq!(posts, 1);
}
