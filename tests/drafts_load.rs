//! An outage at scale: 10,000 mentions in ten minutes during one incident,
//! 30 staff (capacity 5 each) approving as they go. Every conversation has
//! exactly one pending draft, nobody ever holds more than their capacity,
//! and each person gets at most one digest e-mail a minute.
//! (`benches/drafts.rs` times the same scenario.)

#[path = "load/mod.rs"]
mod load;

use std::collections::BTreeMap;

#[test]
fn ten_thousand_mentions_thirty_staff_one_pending_draft_per_conversation() {
    let mut s = load::setup();
    let outcome = load::run(&mut s, true);
    let book = s.engine.drafts();

    // One conversation per author: never two pending drafts for one author.
    let mut pending: BTreeMap<&str, u32> = BTreeMap::new();
    for d in book.drafts.values().filter(|d| d.is_pending()) {
        *pending.entry(d.author_id.as_str()).or_default() += 1;
    }
    assert!(
        pending.values().all(|n| *n == 1),
        "an author with two pending drafts"
    );
    // Every author has had a draft; follow-ups folded into the pending one
    // or (once it was answered) opened the conversation's next draft.
    let authors: std::collections::BTreeSet<&str> =
        book.drafts.values().map(|d| d.author_id.as_str()).collect();
    assert_eq!(authors.len() as u32, load::MENTIONS * 7 / 10);
    let folded: u32 = book.drafts.values().map(|d| d.mentions).sum();
    assert_eq!(
        folded,
        load::MENTIONS,
        "every mention is in exactly one draft"
    );

    assert!(
        outcome.max_load <= load::CAPACITY,
        "load {}",
        outcome.max_load
    );
    assert!(
        outcome.replies_sent > 500,
        "staff answered {}",
        outcome.replies_sent
    );

    let bound = (load::MINUTES * 60 / load::DIGEST_EVERY_SECS + 2) as u32;
    assert_eq!(
        outcome.digests.len() as u32,
        load::STAFF,
        "{:?}",
        outcome.digests
    );
    for (who, n) in &outcome.digests {
        assert!(*n <= bound, "{who} got {n} digests (bound {bound})");
    }
    eprintln!(
        "drafts created {}, replies sent {}, digests {} (max {} per person), largest digest {} bytes",
        outcome.drafts_created,
        outcome.replies_sent,
        outcome.digests.values().sum::<u32>(),
        outcome.digests.values().max().unwrap(),
        outcome.largest_digest
    );
}
