//! The store's promises, each checked against a fresh database on both
//! backends: a temp-file SQLite database and a Postgres database of its own
//! on the server at 127.0.0.1:5432 (created and dropped by the test). Tests
//! about SQLite files and `sqlite::memory:` run on SQLite only.

mod cluster_peers;

use chrono::{Duration as Span, TimeZone, Utc};
use serde_json::json;
use squall::adapters::PostRef;
use squall::clock::Timestamp;
use squall::mention::{Author, Mention};
use squall::playbook::model::IncidentState;
use squall::store::*;
use std::collections::HashSet;
use std::time::Duration;
use tempfile::TempDir;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A file database in its own temp dir (kept alive by the returned guard).
async fn file_store() -> Result<(Store, TempDir, String), StoreError> {
    let dir = tempfile::tempdir().map_err(|e| StoreError::Corrupt {
        what: "tempdir",
        detail: e.to_string(),
    })?;
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("squall.db").display()
    );
    let store = Store::open(&url).await?;
    Ok((store, dir, url))
}

async fn memory_store() -> Result<Store, StoreError> {
    Store::open("sqlite::memory:").await
}

/// The backends every generic test runs on.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Sqlite,
    Postgres,
}

/// Keeps a test's database alive; dropping it removes the database.
#[allow(dead_code)]
enum Db {
    File(TempDir),
    Postgres(cluster_peers::PgDatabase),
}

async fn fresh(kind: Kind) -> Result<(Store, Db), StoreError> {
    match kind {
        Kind::Sqlite => {
            let (store, dir, _) = file_store().await?;
            Ok((store, Db::File(dir)))
        }
        Kind::Postgres => {
            let db = cluster_peers::PgDatabase::create().await;
            let store = Store::open(&db.url).await?;
            Ok((store, Db::Postgres(db)))
        }
    }
}

/// Runs each named test once per backend, as `sqlite::name` and `postgres::name`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() -> super::TestResult {
                    super::$name(super::Kind::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() -> super::TestResult {
                    super::$name(super::Kind::Postgres).await
                }
            )*
        }
    };
}

on_both_backends! {
    ingesting_the_same_mention_twice_stores_it_once,
    the_journal_reads_each_new_mention_back_in_order_one_entry_per_group,
    a_journaled_batch_says_which_mentions_are_new_however_its_duplicates_fall,
    journal_entries_of_earlier_versions_still_read_back,
    a_mention_can_be_attached_to_an_incident,
    a_journaled_mention_gets_a_row_when_it_joins_an_incident,
    incidents_list_unresolved_first_then_newest_first,
    the_timeline_reads_back_in_sequence_and_pages_by_cursor,
    enqueuing_a_duplicate_idem_key_is_skipped,
    claim_next_gives_each_row_to_exactly_one_worker,
    one_accounts_rows_go_to_one_worker_at_a_time_in_outbox_order,
    a_row_waiting_for_its_retry_does_not_hold_back_its_accounts_later_rows,
    concurrent_workers_never_hold_two_rows_of_one_account_and_keep_their_order,
    rows_are_claimed_oldest_first_and_only_once_due,
    an_expired_lease_is_reclaimed_and_the_first_workers_late_complete_is_refused,
    retry_later_respects_not_before,
    what_an_attempt_did_is_written_with_its_rows_end_and_not_by_a_worker_that_lost_it,
    only_a_pending_row_can_be_cancelled,
    the_outbox_of_an_incident_lists_its_intents_in_order,
    an_account_cannot_hold_two_active_pins_of_one_purpose_until_the_first_is_unpinned,
    a_pin_remembers_what_it_displaced_until_restored,
    a_conversation_is_created_once_and_counts_its_mentions,
    the_draft_queue_is_ordered_by_mention_time_even_when_inserted_out_of_order,
    a_follow_up_updates_the_pending_draft_instead_of_adding_one,
    a_draft_moves_from_pending_through_approval_to_sent,
    a_discarded_draft_leaves_the_queue_and_the_next_follow_up_starts_a_new_one,
    apply_commits_a_state_change_and_its_outbox_intent_together,
    apply_is_atomic_a_batch_whose_last_write_fails_leaves_nothing_behind,
    a_processed_key_keeps_a_batch_from_being_applied_twice,
    an_approval_and_its_send_intent_commit_together,
    a_draft_for_an_unknown_conversation_is_refused_by_the_schema,
}

/// A fresh store whose outbox holds one intent (key `k`), and its id.
async fn fresh_with_one_intent(kind: Kind) -> Result<(Store, Db, i64), Box<dyn std::error::Error>> {
    let (store, db) = fresh(kind).await?;
    let id = store
        .enqueue(&intent("k", None, 0))
        .await?
        .ok_or("not enqueued")?;
    Ok((store, db, id))
}

fn t(seconds: i64) -> Timestamp {
    Utc.with_ymd_and_hms(2024, 5, 1, 9, 0, 0)
        .single()
        .unwrap_or_default()
        + Span::seconds(seconds)
}

fn mention(id: &str, author: &str, at: i64) -> Mention {
    Mention {
        id: id.to_owned(),
        platform: "mastodon".to_owned(),
        account: "brand".to_owned(),
        author: Author {
            id: author.to_owned(),
            handle: format!("@{author}"),
            name: None,
            followers: Some(10),
            bot: false,
        },
        text: format!("mention {id}: the app is down"),
        lang: Some("en".to_owned()),
        created_at: t(at),
        in_reply_to: None,
        url: None,
        direct: false,
    }
}

fn incident(id: &str, state: IncidentState, opened: i64) -> IncidentRow {
    IncidentRow {
        id: id.to_owned(),
        playbook: "outage".to_owned(),
        group_key: "app".to_owned(),
        state,
        title: "App down".to_owned(),
        trigger_kind: "surge".to_owned(),
        opened_at: t(opened),
        acknowledged_at: None,
        mitigated_at: None,
        resolved_at: (state == IncidentState::Resolved).then(|| t(opened + 600)),
        status_text: None,
        status_approved_by: None,
        detail: json!({"rate": 12.5}),
    }
}

fn intent(key: &str, incident: Option<&str>, not_before: i64) -> NewOutbox {
    NewOutbox {
        idem_key: key.to_owned(),
        incident_id: incident.map(str::to_owned),
        kind: "pin_status".to_owned(),
        account: Some("brand".to_owned()),
        payload: json!({"text": "We are investigating"}),
        not_before: t(not_before),
        created_at: t(0),
    }
}

/// A due intent for `account`.
fn on_account(key: &str, account: &str) -> NewOutbox {
    NewOutbox {
        account: Some(account.to_owned()),
        ..intent(key, None, 0)
    }
}

fn event(incident: Option<&str>, at: i64, message: &str) -> NewTimeline {
    NewTimeline {
        incident_id: incident.map(str::to_owned),
        at: t(at),
        kind: "note".to_owned(),
        actor: "engine".to_owned(),
        message: message.to_owned(),
        detail: json!({}),
    }
}

fn pin(account: &str, post: &str) -> NewPin {
    NewPin {
        account: account.to_owned(),
        post_id: post.to_owned(),
        post_url: Some(format!("https://example.social/{post}")),
        incident_id: None,
        purpose: PinPurpose::Status,
        pinned_at: t(0),
        displaced: vec![PostRef {
            id: "old-1".to_owned(),
            url: None,
        }],
    }
}

fn draft(conversation_id: i64, mention_id: &str, at: i64, flags: &[&str]) -> NewDraft {
    NewDraft {
        incident_id: "inc-0001".to_owned(),
        conversation_id,
        mention_platform: "mastodon".to_owned(),
        mention_id: mention_id.to_owned(),
        mention_at: t(at),
        lang: Some("en".to_owned()),
        text: format!("Sorry about that ({mention_id})"),
        private: false,
        flags: flags.iter().map(|f| f.to_string()).collect(),
        created_at: t(at + 1),
    }
}

/// An incident plus one conversation per author, for the draft tests.
async fn conversations(store: &Store, authors: &[&str]) -> Result<Vec<i64>, StoreError> {
    store
        .upsert_incident(&incident("inc-0001", IncidentState::Open, 0))
        .await?;
    let mut ids = Vec::new();
    for author in authors {
        ids.push(
            store
                .conversation_for("inc-0001", "mastodon", author, author, t(0))
                .await?
                .id,
        );
    }
    Ok(ids)
}

#[tokio::test]
async fn reopening_a_file_database_keeps_its_data_and_does_not_rerun_migrations() -> TestResult {
    let (store, _dir, url) = file_store().await?;
    store
        .insert_mentions(&[mention("1", "ann", 0)], t(1))
        .await?;
    store
        .upsert_incident(&incident("inc-0001", IncidentState::Open, 0))
        .await?;
    store.close().await;

    let reopened = Store::open(&url).await?;
    assert_eq!(reopened.count_mentions().await?, 1);
    assert_eq!(
        reopened.incident("inc-0001").await?,
        Some(incident("inc-0001", IncidentState::Open, 0))
    );
    let again = Store::open(&url).await?;
    assert_eq!(again.count_mentions().await?, 1);
    Ok(())
}

async fn ingesting_the_same_mention_twice_stores_it_once(kind: Kind) -> TestResult {
    let (store, _db) = fresh(kind).await?;
    for store in [store, memory_store().await?] {
        let first = store
            .insert_mentions(&[mention("1", "ann", 0), mention("2", "bob", 5)], t(10))
            .await?;
        let second = store
            .insert_mentions(&[mention("2", "bob", 5), mention("3", "cy", 6)], t(20))
            .await?;
        assert_eq!(first, vec![true, true]);
        assert_eq!(second, vec![false, true]);
        assert_eq!(store.count_mentions().await?, 3);
        let stored = store
            .mention("mastodon", "2")
            .await?
            .ok_or("mention 2 missing")?;
        assert_eq!(stored.mention, mention("2", "bob", 5));
        assert_eq!(
            stored.received_at,
            t(10),
            "the first receipt is the one kept"
        );
    }
    Ok(())
}

#[tokio::test]
async fn an_in_memory_store_is_one_database_shared_by_its_clones() -> TestResult {
    let store = memory_store().await?;
    let clone = store.clone();
    store
        .insert_mentions(&[mention("1", "ann", 0)], t(1))
        .await?;
    assert_eq!(clone.count_mentions().await?, 1);
    assert_eq!(
        memory_store().await?.count_mentions().await?,
        0,
        "another open is another database"
    );
    Ok(())
}

/// Runs `sql` on the test's database beside the store (what an older
/// squall, or an operator, left there).
async fn raw_execute(db: &Db, sql: &str) -> TestResult {
    match db {
        Db::File(dir) => {
            let url = format!("sqlite://{}", dir.path().join("squall.db").display());
            let pool = sqlx::SqlitePool::connect(&url).await?;
            sqlx::query(sql).execute(&pool).await?;
            pool.close().await;
        }
        Db::Postgres(pg) => {
            let pool = sqlx::PgPool::connect(&pg.url).await?;
            sqlx::query(sql).execute(&pool).await?;
            pool.close().await;
        }
    }
    Ok(())
}

async fn the_journal_reads_each_new_mention_back_in_order_one_entry_per_group(
    kind: Kind,
) -> TestResult {
    let (store, _db) = fresh(kind).await?;
    let first = store
        .journal_mentions(&[mention("1", "ann", 0), mention("2", "bob", 5)], t(10))
        .await?;
    let again = store
        .journal_mentions(&[mention("2", "bob", 5), mention("3", "cy", 6)], t(20))
        .await?;
    assert_eq!((first, again), (vec![true, true], vec![false, true]));

    let entries = store.journal_entries().await?;
    let read: Vec<(&str, Mention)> = entries
        .iter()
        .map(|e| Ok((e.kind.as_str(), serde_json::from_value(e.payload.clone())?)))
        .collect::<Result<_, serde_json::Error>>()?;
    assert_eq!(
        read,
        vec![
            ("mention", mention("1", "ann", 0)),
            ("mention", mention("2", "bob", 5)),
            ("mention", mention("3", "cy", 6)),
        ],
        "one entry per new mention, in the order received, with the whole mention"
    );
    assert_eq!(
        entries.iter().map(|e| (e.seq, e.at)).collect::<Vec<_>>(),
        vec![
            (entries[0].seq, t(10)),
            (entries[0].seq, t(10)),
            (entries[2].seq, t(20))
        ],
        "a group is one journal entry: its mentions share its seq and time"
    );
    assert!(entries[0].seq < entries[2].seq);

    // Every mention is known; none has a row, as none joined an incident.
    assert_eq!(store.count_mentions().await?, 3);
    for id in ["1", "2", "3"] {
        assert!(store.mention_known("mastodon", id).await?);
        assert_eq!(store.mention("mastodon", id).await?, None);
    }
    assert!(!store.mention_known("mastodon", "4").await?);
    assert!(!store.mention_known("bluesky", "1").await?);
    Ok(())
}

async fn a_journaled_batch_says_which_mentions_are_new_however_its_duplicates_fall(
    kind: Kind,
) -> TestResult {
    let (store, _db) = fresh(kind).await?;
    // Larger than one multi-row statement (4 000 keys), all new.
    let batch: Vec<Mention> = (0..9000)
        .map(|i| mention(&format!("a{i}"), "ann", i))
        .collect();
    let first = store.journal_mentions(&batch, t(10)).await?;
    assert!(first.len() == 9000 && first.iter().all(|new| *new));
    // A copy of a stored mention in the second statement only, and two
    // copies of a new one in the third: each statement says which are new.
    let mut next: Vec<Mention> = (0..9000)
        .map(|i| mention(&format!("b{i}"), "bob", i))
        .collect();
    next[5000] = mention("a3", "ann", 3);
    next[8500] = mention("b8000", "bob", 8000);
    let again = store.journal_mentions(&next, t(20)).await?;
    let old: Vec<usize> = (0..9000).filter(|i| !again[*i]).collect();
    assert_eq!(
        old,
        vec![5000, 8500],
        "the first of two copies is the new one"
    );
    let entries = store.journal_entries().await?;
    assert_eq!(entries.len(), 9000 + 8998, "one entry per new mention");
    let read: Vec<Mention> = entries[9000..]
        .iter()
        .map(|e| serde_json::from_value(e.payload.clone()))
        .collect::<Result<_, _>>()?;
    let expected: Vec<Mention> = next
        .iter()
        .zip(&again)
        .filter(|(_, new)| **new)
        .map(|(m, _)| m.clone())
        .collect();
    assert!(
        read == expected,
        "a group with duplicates journals only its new mentions, in order"
    );
    // A group of nothing new journals nothing, nor does an empty one.
    assert_eq!(
        store.journal_mentions(&next[..3], t(30)).await?,
        vec![false; 3]
    );
    assert!(store.journal_mentions(&[], t(40)).await?.is_empty());
    assert_eq!(store.journal_entries().await?.len(), 9000 + 8998);
    assert_eq!(store.count_mentions().await?, 9000 + 8998);
    Ok(())
}

async fn journal_entries_of_earlier_versions_still_read_back(kind: Kind) -> TestResult {
    let (store, db) = fresh(kind).await?;
    // Before migration 0009 an entry carried its mention.
    let old = serde_json::to_string(&mention("old", "ann", 0))?;
    raw_execute(
        &db,
        &format!(
            "INSERT INTO inputs (at, kind, payload) VALUES ('2024-05-01T09:00:01.000000Z', 'mention', '{}')",
            old.replace('\'', "''")
        ),
    )
    .await?;
    // Under 0009 an entry named its row in `mentions`, which held the body.
    let named = serde_json::to_string(&mention("named", "cy", 2))?;
    raw_execute(
        &db,
        &format!(
            "INSERT INTO mentions (platform, id, account, author_id, author_handle, created_at, received_at, lang, body) \
             VALUES ('mastodon', 'named', 'acme', 'cy', '@cy', '2024-05-01T09:00:02.000000Z', '2024-05-01T09:00:03.000000Z', NULL, '{}')",
            named.replace('\'', "''")
        ),
    )
    .await?;
    raw_execute(
        &db,
        "INSERT INTO inputs (at, kind, payload, mention_platform, mention_id) \
         VALUES ('2024-05-01T09:00:03.000000Z', 'mention', '', 'mastodon', 'named')",
    )
    .await?;
    store
        .journal_mentions(&[mention("new", "bob", 5)], t(10))
        .await?;
    let ids: Vec<Mention> = store
        .journal_entries()
        .await?
        .into_iter()
        .map(|e| serde_json::from_value(e.payload))
        .collect::<Result<_, _>>()?;
    assert_eq!(
        ids,
        vec![
            mention("old", "ann", 0),
            mention("named", "cy", 2),
            mention("new", "bob", 5)
        ]
    );
    Ok(())
}

async fn a_mention_can_be_attached_to_an_incident(kind: Kind) -> TestResult {
    let (store, _db) = fresh(kind).await?;
    store
        .upsert_incident(&incident("inc-0001", IncidentState::Open, 0))
        .await?;
    store
        .insert_mentions(&[mention("1", "ann", 0)], t(1))
        .await?;
    assert!(store.attach_mention("mastodon", "1", "inc-0001").await?);
    assert!(!store.attach_mention("mastodon", "nope", "inc-0001").await?);
    let stored = store.mention("mastodon", "1").await?.ok_or("missing")?;
    assert_eq!(stored.incident_id.as_deref(), Some("inc-0001"));
    Ok(())
}

async fn a_journaled_mention_gets_a_row_when_it_joins_an_incident(kind: Kind) -> TestResult {
    let (store, _db) = fresh(kind).await?;
    store
        .upsert_incident(&incident("inc-0001", IncidentState::Open, 0))
        .await?;
    store
        .journal_mentions(&[mention("1", "ann", 0), mention("2", "bob", 1)], t(10))
        .await?;
    let attach = |id: &str, at: i64| Write::AttachMention {
        mention: Box::new(mention(id, "ann", at)),
        received_at: t(10),
        incident_id: "inc-0001".into(),
    };
    store.apply(&[attach("1", 0)]).await?;
    let row = store.mention("mastodon", "1").await?.ok_or("no row")?;
    assert_eq!(
        (row.mention, row.received_at, row.incident_id.as_deref()),
        (mention("1", "ann", 0), t(10), Some("inc-0001"))
    );
    assert_eq!(
        store.mention("mastodon", "2").await?,
        None,
        "it joined nothing"
    );
    // A replay after a crash applies the same attachment again: one row.
    store.apply(&[attach("1", 0)]).await?;
    assert_eq!(store.mention_times("inc-0001").await?, vec![t(0)]);
    Ok(())
}

async fn incidents_list_unresolved_first_then_newest_first(kind: Kind) -> TestResult {
    let (store, _db) = fresh(kind).await?;
    store
        .upsert_incident(&incident("inc-0001", IncidentState::Resolved, 300))
        .await?;
    store
        .upsert_incident(&incident("inc-0002", IncidentState::Open, 100))
        .await?;
    store
        .upsert_incident(&incident("inc-0003", IncidentState::Mitigated, 200))
        .await?;
    let mut acknowledged = incident("inc-0002", IncidentState::Acknowledged, 100);
    acknowledged.acknowledged_at = Some(t(150));
    store.upsert_incident(&acknowledged).await?;

    let all: Vec<String> = store
        .incidents(false)
        .await?
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(all, ["inc-0003", "inc-0002", "inc-0001"]);
    let open: Vec<String> = store
        .incidents(true)
        .await?
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(open, ["inc-0003", "inc-0002"]);
    assert_eq!(store.incident("inc-0002").await?, Some(acknowledged));
    assert_eq!(store.incident("inc-9999").await?, None);
    Ok(())
}

async fn the_timeline_reads_back_in_sequence_and_pages_by_cursor(kind: Kind) -> TestResult {
    let (store, _db) = fresh(kind).await?;
    store
        .upsert_incident(&incident("inc-0001", IncidentState::Open, 0))
        .await?;
    let first = store
        .append_timeline(&event(Some("inc-0001"), 5, "opened"))
        .await?;
    store
        .append_timeline(&event(None, 6, "surge evaluated: below threshold"))
        .await?;
    store
        .append_timeline(&event(Some("inc-0001"), 4, "late note"))
        .await?;

    let messages: Vec<String> = store
        .timeline("inc-0001")
        .await?
        .into_iter()
        .map(|e| e.message)
        .collect();
    assert_eq!(
        messages,
        ["opened", "late note"],
        "sequence order, not event time"
    );
    let page = store.timeline_all(first, 1).await?;
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].incident_id, None);
    assert_eq!(store.timeline_all(0, 100).await?.len(), 3);
    Ok(())
}

async fn enqueuing_a_duplicate_idem_key_is_skipped(kind: Kind) -> TestResult {
    let (store, _db) = fresh(kind).await?;
    assert!(store
        .enqueue(&intent("inc-1/pin/brand", None, 0))
        .await?
        .is_some());
    assert_eq!(
        store.enqueue(&intent("inc-1/pin/brand", None, 0)).await?,
        None
    );

    let outcome = store
        .apply(&[
            Write::Enqueue(intent("inc-1/pin/brand", None, 0)),
            Write::Enqueue(intent("inc-1/pin/other", None, 0)),
        ])
        .await?;
    assert_eq!(outcome.duplicates_skipped, 1);
    assert_eq!(outcome.enqueued.len(), 1);
    assert_eq!(store.outbox_depth().await?, 2);
    Ok(())
}

async fn claim_next_gives_each_row_to_exactly_one_worker(kind: Kind) -> TestResult {
    let (store, _db) = fresh(kind).await?;
    let rows = 120;
    for i in 0..rows {
        // Twelve accounts: one account's rows go to one worker at a time.
        let account = format!("brand-{}", i % 12);
        store
            .enqueue(&on_account(&format!("key-{i}"), &account))
            .await?;
    }
    let mut workers = Vec::new();
    for w in 0..6 {
        let store = store.clone();
        workers.push(tokio::spawn(async move {
            let worker = format!("worker-{w}");
            let mut claimed = Vec::new();
            while let Some(row) = store
                .claim_next(&worker, t(10), Duration::from_secs(60))
                .await?
            {
                assert_eq!(row.lease_owner.as_deref(), Some(worker.as_str()));
                claimed.push(row.id);
                tokio::task::yield_now().await;
            }
            Ok::<_, StoreError>(claimed)
        }));
    }
    let mut all = Vec::new();
    for worker in workers {
        all.extend(worker.await??);
    }
    let distinct: HashSet<i64> = all.iter().copied().collect();
    assert_eq!(all.len(), rows, "every row claimed once: {all:?}");
    assert_eq!(distinct.len(), rows);
    assert_eq!(
        store.outbox_depth().await?,
        rows as i64,
        "running rows still count as depth"
    );
    Ok(())
}

async fn one_accounts_rows_go_to_one_worker_at_a_time_in_outbox_order(kind: Kind) -> TestResult {
    let (store, _db) = fresh(kind).await?;
    let pin = store.enqueue(&on_account("pin", "masto")).await?;
    let update = store.enqueue(&on_account("update", "masto")).await?;
    let other = store.enqueue(&on_account("other", "bsky")).await?;
    let unbound = store
        .enqueue(&NewOutbox {
            account: None,
            ..intent("digest", None, 0)
        })
        .await?;
    let lease = Duration::from_secs(60);
    let claim = |worker: &'static str| {
        let store = store.clone();
        async move {
            store
                .claim_next(worker, t(1), lease)
                .await
                .map(|r| r.map(|r| r.id))
        }
    };
    assert_eq!(claim("b").await?, pin);
    // The update must not overtake the pin that another worker is making.
    assert_eq!(claim("a").await?, other, "a takes another account's row");
    assert_eq!(
        claim("a").await?,
        unbound,
        "rows without an account never wait"
    );
    assert_eq!(
        claim("a").await?,
        None,
        "masto is b's until its pin is done"
    );
    // The worker holding the pin may take the update: it runs them in order.
    assert_eq!(claim("b").await?, update);

    // Once b's lease runs out, the account is free again, oldest row first.
    let rescue = store.claim_next("a", t(61), lease).await?.map(|r| r.id);
    assert_eq!(rescue, pin);
    Ok(())
}

async fn a_row_waiting_for_its_retry_does_not_hold_back_its_accounts_later_rows(
    kind: Kind,
) -> TestResult {
    let (store, _db) = fresh(kind).await?;
    let first = store
        .enqueue(&on_account("first", "masto"))
        .await?
        .ok_or("not enqueued")?;
    let second = store.enqueue(&on_account("second", "masto")).await?;
    let lease = Duration::from_secs(60);
    store.claim_next("a", t(1), lease).await?;
    assert!(
        store
            .retry_later(first, "a", "503 from the platform", t(100), t(2))
            .await?
    );
    assert_eq!(
        store.claim_next("b", t(3), lease).await?.map(|r| r.id),
        second,
        "the executor copes with a retried row being overtaken"
    );
    Ok(())
}

async fn concurrent_workers_never_hold_two_rows_of_one_account_and_keep_their_order(
    kind: Kind,
) -> TestResult {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};
    let (store, _db) = fresh(kind).await?;
    // More workers than accounts: some always have to wait.
    let accounts = 3;
    for i in 0..30 {
        store
            .enqueue(&on_account(
                &format!("k-{i}"),
                &format!("acct-{}", i % accounts),
            ))
            .await?;
    }
    // Who holds a row of each account, and the ids each account ran, in
    // the order they were claimed.
    let holders: Arc<Mutex<HashMap<String, String>>> = Default::default();
    let order: Arc<Mutex<HashMap<String, Vec<i64>>>> = Default::default();
    let mut workers = Vec::new();
    for w in 0..5 {
        let (store, holders, order) = (store.clone(), holders.clone(), order.clone());
        workers.push(tokio::spawn(async move {
            let worker = format!("worker-{w}");
            let mut idle = 0;
            while idle < 20 {
                let Some(row) = store
                    .claim_next(&worker, t(10), Duration::from_secs(60))
                    .await?
                else {
                    idle += 1;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                };
                idle = 0;
                let account = row.account.clone().unwrap_or_default();
                {
                    let mut h = holders.lock().unwrap_or_else(|p| p.into_inner());
                    let other = h.insert(account.clone(), worker.clone());
                    assert_eq!(other, None, "{account} held by two workers at once");
                }
                order
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .entry(account.clone())
                    .or_default()
                    .push(row.id);
                // Work on it for a moment, as a platform call would.
                tokio::time::sleep(Duration::from_millis(2)).await;
                // Let go of the account before the row ends: once it ends,
                // another worker may take the next one.
                holders
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&account);
                assert!(store.complete(row.id, &worker, &json!({}), t(11)).await?);
            }
            Ok::<_, StoreError>(())
        }));
    }
    for worker in workers {
        worker.await??;
    }
    let order = order.lock().unwrap_or_else(|p| p.into_inner()).clone();
    assert_eq!(order.len(), accounts);
    for (account, ids) in &order {
        assert_eq!(ids.len(), 10, "{account} ran all its rows once: {ids:?}");
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "{account} ran in outbox order: {ids:?}"
        );
    }
    assert_eq!(store.outbox_depth().await?, 0);
    Ok(())
}

async fn rows_are_claimed_oldest_first_and_only_once_due(kind: Kind) -> TestResult {
    let (store, _db) = fresh(kind).await?;
    let later = store.enqueue(&intent("later", None, 100)).await?;
    let first = store.enqueue(&intent("first", None, 0)).await?;
    let second = store.enqueue(&intent("second", None, 0)).await?;
    let lease = Duration::from_secs(60);
    assert_eq!(
        store.claim_next("w", t(10), lease).await?.map(|r| r.id),
        first
    );
    assert_eq!(
        store.claim_next("w", t(10), lease).await?.map(|r| r.id),
        second
    );
    assert_eq!(store.claim_next("w", t(10), lease).await?, None);
    assert_eq!(
        store.claim_next("w", t(100), lease).await?.map(|r| r.id),
        later
    );
    Ok(())
}

async fn an_expired_lease_is_reclaimed_and_the_first_workers_late_complete_is_refused(
    kind: Kind,
) -> TestResult {
    let (store, _db, id) = fresh_with_one_intent(kind).await?;
    let lease = Duration::from_secs(30);

    let first = store
        .claim_next("crashed", t(0), lease)
        .await?
        .ok_or("not claimed")?;
    assert_eq!(
        (first.id, first.attempts, first.state),
        (id, 1, OutboxState::Running)
    );
    assert_eq!(first.lease_until, Some(t(30)));
    assert_eq!(
        store.claim_next("rescuer", t(29), lease).await?,
        None,
        "the lease still holds"
    );

    let second = store
        .claim_next("rescuer", t(30), lease)
        .await?
        .ok_or("not reclaimed")?;
    assert_eq!((second.id, second.attempts), (id, 2));
    assert!(
        !store
            .complete(id, "crashed", &json!({"late": true}), t(31))
            .await?
    );
    assert!(
        store
            .complete(id, "rescuer", &json!({"post": "p1"}), t(32))
            .await?
    );

    let done = store.outbox_row(id).await?.ok_or("row vanished")?;
    assert_eq!(done.state, OutboxState::Done);
    assert_eq!(done.result, Some(json!({"post": "p1"})));
    assert_eq!(store.outbox_depth().await?, 0);
    Ok(())
}

/// A crash between an action and its record must not keep one without the
/// other: the attempt's timeline events (and a cluster worker's journaled
/// outcome) commit with the row's end, and not at all for a worker whose
/// lease was taken over.
async fn what_an_attempt_did_is_written_with_its_rows_end_and_not_by_a_worker_that_lost_it(
    kind: Kind,
) -> TestResult {
    let (store, _db, id) = fresh_with_one_intent(kind).await?;
    let lease = Duration::from_secs(30);
    let messages =
        |rows: Vec<TimelineRow>| -> Vec<String> { rows.into_iter().map(|r| r.message).collect() };
    store.claim_next("crashed", t(0), lease).await?;
    store.claim_next("rescuer", t(30), lease).await?;
    let late = [event(
        None,
        31,
        "posted, says the worker that lost its lease",
    )];
    let with = RowEnd {
        outcome: None,
        timeline: &late,
    };
    assert!(
        !store
            .complete_with(id, "crashed", &json!({}), t(31), with)
            .await?
    );
    assert!(messages(store.timeline_all(0, 100).await?).is_empty());

    let retry = [event(None, 32, "rate limited; retrying")];
    let with = RowEnd {
        outcome: None,
        timeline: &retry,
    };
    assert!(
        store
            .retry_later_with(id, "rescuer", "429", t(60), t(32), with)
            .await?
    );
    store.claim_next("rescuer", t(60), lease).await?;
    let journaled_before = store.journal_entries().await?.len();
    let failed = [event(None, 61, "failed for good")];
    let outcome = json!({"key": "k", "ok": false});
    let with = RowEnd {
        outcome: Some(&outcome),
        timeline: &failed,
    };
    assert!(store.fail_with(id, "rescuer", "403", t(61), with).await?);
    assert_eq!(
        messages(store.timeline_all(0, 100).await?),
        ["rate limited; retrying", "failed for good"]
    );
    let journal = store.journal_entries().await?;
    assert_eq!(journal.len(), journaled_before + 1);
    assert_eq!(journal.last().map(|e| e.kind.as_str()), Some("outcome"));
    Ok(())
}

async fn retry_later_respects_not_before(kind: Kind) -> TestResult {
    let (store, _db, id) = fresh_with_one_intent(kind).await?;
    let lease = Duration::from_secs(30);
    store
        .claim_next("w", t(0), lease)
        .await?
        .ok_or("not claimed")?;
    assert!(
        store
            .retry_later(id, "w", "rate limited", t(120), t(1))
            .await?
    );

    assert_eq!(store.claim_next("w", t(119), lease).await?, None);
    let again = store
        .claim_next("w", t(120), lease)
        .await?
        .ok_or("not due again")?;
    assert_eq!(again.attempts, 2);
    assert_eq!(again.last_error.as_deref(), Some("rate limited"));
    assert!(store.fail(id, "w", "gave up", t(121)).await?);
    let failed = store.outbox_row(id).await?.ok_or("row vanished")?;
    assert_eq!(
        (failed.state, failed.last_error.as_deref()),
        (OutboxState::Failed, Some("gave up"))
    );
    Ok(())
}

async fn only_a_pending_row_can_be_cancelled(kind: Kind) -> TestResult {
    let (store, _db) = fresh(kind).await?;
    let pending = store
        .enqueue(&intent("a", None, 0))
        .await?
        .ok_or("not enqueued")?;
    let running = store
        .enqueue(&intent("b", None, 0))
        .await?
        .ok_or("not enqueued")?;
    assert!(store.cancel(pending).await?);
    store
        .claim_next("w", t(0), Duration::from_secs(30))
        .await?
        .ok_or("not claimed")?;
    assert!(
        !store.cancel(running).await?,
        "a running action may already have had its effect"
    );
    assert_eq!(store.outbox_depth().await?, 1);
    Ok(())
}

async fn the_outbox_of_an_incident_lists_its_intents_in_order(kind: Kind) -> TestResult {
    let (store, _db) = fresh(kind).await?;
    store
        .upsert_incident(&incident("inc-0001", IncidentState::Open, 0))
        .await?;
    store.enqueue(&intent("x", Some("inc-0001"), 0)).await?;
    store.enqueue(&intent("unrelated", None, 0)).await?;
    store.enqueue(&intent("y", Some("inc-0001"), 0)).await?;
    let keys: Vec<String> = store
        .outbox_by_incident("inc-0001")
        .await?
        .into_iter()
        .map(|r| r.idem_key)
        .collect();
    assert_eq!(keys, ["x", "y"]);
    Ok(())
}

async fn an_account_cannot_hold_two_active_pins_of_one_purpose_until_the_first_is_unpinned(
    kind: Kind,
) -> TestResult {
    let (store, _db) = fresh(kind).await?;
    let first = store.record_pin(&pin("brand", "p1")).await?;
    let second = store.record_pin(&pin("brand", "p2")).await;
    assert!(
        matches!(&second, Err(StoreError::AlreadyPinned { account }) if account == "brand"),
        "{second:?}"
    );

    let off_hours = NewPin {
        purpose: PinPurpose::OffHours,
        ..pin("brand", "p3")
    };
    store.record_pin(&off_hours).await?;
    store.record_pin(&pin("other", "p4")).await?;

    assert!(store.mark_unpinned(first, t(60)).await?);
    assert!(!store.mark_unpinned(first, t(61)).await?);
    let replacement = store.record_pin(&pin("brand", "p2")).await?;
    let active = store
        .active_pin("brand", PinPurpose::Status)
        .await?
        .ok_or("no active pin")?;
    assert_eq!(active.id, replacement);
    assert_eq!(store.active_pins().await?.len(), 3);
    Ok(())
}

async fn a_pin_remembers_what_it_displaced_until_restored(kind: Kind) -> TestResult {
    let (store, _db) = fresh(kind).await?;
    store
        .upsert_incident(&incident("inc-0001", IncidentState::Open, 0))
        .await?;
    let id = store
        .record_pin(&NewPin {
            incident_id: Some("inc-0001".to_owned()),
            ..pin("brand", "p1")
        })
        .await?;
    let pins = store.pins_for_incident("inc-0001").await?;
    assert_eq!(pins.len(), 1);
    assert_eq!(
        pins[0].displaced,
        vec![PostRef {
            id: "old-1".to_owned(),
            url: None
        }]
    );
    assert_eq!(pins[0].restored_at, None);
    assert!(store.mark_restored(id, t(90)).await?);
    assert!(!store.mark_restored(id, t(91)).await?);
    assert_eq!(
        store.pins_for_incident("inc-0001").await?[0].restored_at,
        Some(t(90))
    );
    Ok(())
}

async fn a_conversation_is_created_once_and_counts_its_mentions(kind: Kind) -> TestResult {
    let (store, _db) = fresh(kind).await?;
    store
        .upsert_incident(&incident("inc-0001", IncidentState::Open, 0))
        .await?;
    let first = store
        .conversation_for("inc-0001", "mastodon", "ann", "@ann", t(10))
        .await?;
    let late = store
        .conversation_for("inc-0001", "mastodon", "ann", "@ann_new", t(30))
        .await?;
    let out_of_order = store
        .conversation_for("inc-0001", "mastodon", "ann", "@ann_new", t(20))
        .await?;
    assert_eq!((first.mention_count, first.opened_at), (1, t(10)));
    assert_eq!(late.id, first.id);
    assert_eq!(
        (out_of_order.mention_count, out_of_order.last_mention_at),
        (3, t(30))
    );
    assert_eq!(out_of_order.author_handle, "@ann_new");
    let other = store
        .conversation_for("inc-0001", "mastodon", "bob", "@bob", t(10))
        .await?;
    assert_ne!(other.id, first.id);
    Ok(())
}

async fn the_draft_queue_is_ordered_by_mention_time_even_when_inserted_out_of_order(
    kind: Kind,
) -> TestResult {
    let (store, _db) = fresh(kind).await?;
    let convs = conversations(&store, &["ann", "bob", "cy", "dee"]).await?;
    store
        .upsert_draft(&draft(convs[0], "m-30", 30, &[]))
        .await?;
    store
        .upsert_draft(&draft(convs[1], "m-10", 10, &[]))
        .await?;
    store
        .upsert_draft(&draft(convs[2], "m-40", 40, &["influential"]))
        .await?;
    store
        .upsert_draft(&draft(convs[3], "m-20", 20, &[]))
        .await?;

    let queue: Vec<String> = store
        .draft_queue(None)
        .await?
        .into_iter()
        .map(|d| d.mention_id)
        .collect();
    assert_eq!(
        queue,
        ["m-10", "m-20", "m-30", "m-40"],
        "an influential author does not jump the queue"
    );
    assert_eq!(store.draft_queue(Some("inc-0001")).await?.len(), 4);
    assert!(store.draft_queue(Some("inc-0002")).await?.is_empty());
    Ok(())
}

async fn a_follow_up_updates_the_pending_draft_instead_of_adding_one(kind: Kind) -> TestResult {
    let (store, _db) = fresh(kind).await?;
    let conv = conversations(&store, &["ann"]).await?[0];
    let first = store
        .upsert_draft(&draft(conv, "m-1", 10, &["abuse"]))
        .await?;
    let follow_up = NewDraft {
        private: true,
        ..draft(conv, "m-2", 50, &["private_data", "abuse"])
    };
    let second = store.upsert_draft(&follow_up).await?;
    assert_eq!(first, second);

    let pending = store
        .pending_draft_for_conversation(conv)
        .await?
        .ok_or("no pending draft")?;
    assert_eq!(
        pending.mention_id, "m-2",
        "the reply answers the latest mention"
    );
    assert_eq!(
        pending.mention_at,
        t(10),
        "the customer keeps their place in the queue"
    );
    assert_eq!(pending.flags, ["abuse", "private_data"]);
    assert!(pending.private);
    assert_eq!(pending.text, follow_up.text);
    assert_eq!(store.draft_queue(None).await?.len(), 1);
    Ok(())
}

async fn a_draft_moves_from_pending_through_approval_to_sent(kind: Kind) -> TestResult {
    let (store, _db) = fresh(kind).await?;
    let conv = conversations(&store, &["ann"]).await?[0];
    let id = store.upsert_draft(&draft(conv, "m-1", 10, &[])).await?;
    assert!(
        !store.mark_sent(id, t(20)).await?,
        "an unapproved draft is never sent"
    );

    assert!(store.assign_draft(id, "alice", t(15)).await?);
    assert_eq!(store.drafts_by_assignee_pending("alice").await?, 1);
    assert!(
        store
            .approve_draft(id, "alice", "Edited reply", t(20))
            .await?
    );
    assert!(
        !store.approve_draft(id, "bob", "Another", t(21)).await?,
        "approved once only"
    );
    assert_eq!(store.drafts_by_assignee_pending("alice").await?, 0);
    assert!(store.mark_sent(id, t(25)).await?);

    let sent = store.draft(id).await?.ok_or("draft vanished")?;
    assert_eq!(sent.state, DraftState::Sent);
    assert_eq!(
        (sent.approved_by.as_deref(), sent.text.as_str()),
        (Some("alice"), "Edited reply")
    );
    assert!(!store.discard_draft(id, "too late", t(30)).await?);
    assert_eq!(store.pending_draft_for_conversation(conv).await?, None);
    Ok(())
}

async fn a_discarded_draft_leaves_the_queue_and_the_next_follow_up_starts_a_new_one(
    kind: Kind,
) -> TestResult {
    let (store, _db) = fresh(kind).await?;
    let conv = conversations(&store, &["ann"]).await?[0];
    let first = store.upsert_draft(&draft(conv, "m-1", 10, &[])).await?;
    assert!(store.discard_draft(first, "spam", t(11)).await?);
    assert!(store.draft_queue(None).await?.is_empty());
    let next = store.upsert_draft(&draft(conv, "m-2", 20, &[])).await?;
    assert_ne!(next, first);
    Ok(())
}

#[tokio::test]
async fn the_schema_rejects_a_sent_or_approved_draft_without_an_approver() -> TestResult {
    let (store, _dir, url) = file_store().await?;
    let conv = conversations(&store, &["ann"]).await?[0];
    let id = store.upsert_draft(&draft(conv, "m-1", 10, &[])).await?;

    let raw = sqlx::SqlitePool::connect(&url).await?;
    for sql in [
        "UPDATE drafts SET state = 'sent', sent_at = '2024-05-01T09:10:00.000000Z' WHERE id = $1",
        "UPDATE drafts SET state = 'approved' WHERE id = $1",
    ] {
        let refused = sqlx::query(sql).bind(id).execute(&raw).await;
        let is_check = matches!(&refused, Err(sqlx::Error::Database(e)) if e.kind() == sqlx::error::ErrorKind::CheckViolation);
        assert!(is_check, "{sql}: {refused:?}");
    }
    raw.close().await;
    assert_eq!(
        store.draft(id).await?.map(|d| d.state),
        Some(DraftState::Pending)
    );
    Ok(())
}

async fn apply_commits_a_state_change_and_its_outbox_intent_together(kind: Kind) -> TestResult {
    let (store, _db) = fresh(kind).await?;
    let outcome = store
        .apply(&[
            Write::UpsertIncident(incident("inc-0001", IncidentState::Open, 0)),
            Write::Timeline(event(
                Some("inc-0001"),
                0,
                "opened: 40 mentions in 5 minutes",
            )),
            Write::Enqueue(intent("inc-0001/pin/brand", Some("inc-0001"), 0)),
            Write::RecordPin(pin("brand", "p1")),
        ])
        .await?;
    assert_eq!(
        (
            outcome.enqueued.len(),
            outcome.timeline_seqs.len(),
            outcome.pin_ids.len()
        ),
        (1, 1, 1)
    );
    assert!(store.incident("inc-0001").await?.is_some());
    assert_eq!(store.outbox_by_incident("inc-0001").await?.len(), 1);
    Ok(())
}

async fn apply_is_atomic_a_batch_whose_last_write_fails_leaves_nothing_behind(
    kind: Kind,
) -> TestResult {
    let (store, _db) = fresh(kind).await?;
    store.record_pin(&pin("brand", "p0")).await?;
    store
        .insert_mentions(&[mention("1", "ann", 0)], t(1))
        .await?;

    let failing_lasts = [
        Write::RecordPin(pin("brand", "p1")),
        Write::ApproveDraft {
            id: 999,
            by: "alice".into(),
            text: "hi".into(),
            at: t(5),
        },
    ];
    for (case, last) in failing_lasts.into_iter().enumerate() {
        let guard = format!("alert:abc:{case}");
        let batch = [
            Write::UpsertIncident(incident("inc-0001", IncidentState::Open, 0)),
            Write::Timeline(event(Some("inc-0001"), 0, "opened")),
            Write::Enqueue(intent("inc-0001/pin/brand", Some("inc-0001"), 0)),
            Write::AttachMention {
                mention: Box::new(mention("1", "ann", 0)),
                received_at: t(1),
                incident_id: "inc-0001".into(),
            },
            Write::MarkProcessed {
                key: guard.clone(),
                at: t(0),
            },
            last,
        ];
        let result = store.apply(&batch).await;
        let refused = matches!(
            result,
            Err(StoreError::AlreadyPinned { .. } | StoreError::Stale { .. })
        );
        assert!(refused, "case {case}: {result:?}");
        assert_eq!(store.incident("inc-0001").await?, None);
        assert!(store.timeline_all(0, 10).await?.is_empty());
        assert_eq!(store.outbox_depth().await?, 0);
        assert_eq!(
            store
                .mention("mastodon", "1")
                .await?
                .and_then(|m| m.incident_id),
            None
        );
        assert!(
            store.mark_processed(&guard, t(0)).await?,
            "case {case}: the guard key was rolled back too"
        );
    }
    Ok(())
}

async fn a_processed_key_keeps_a_batch_from_being_applied_twice(kind: Kind) -> TestResult {
    let (store, _db) = fresh(kind).await?;
    let batch = [
        Write::MarkProcessed {
            key: "human:alice:ack:inc-0001".into(),
            at: t(0),
        },
        Write::UpsertIncident(incident("inc-0001", IncidentState::Acknowledged, 0)),
        Write::Timeline(event(Some("inc-0001"), 0, "alice acknowledged")),
    ];
    let first = store.apply(&batch).await?;
    let second = store.apply(&batch).await?;
    assert!(!first.already_processed);
    assert!(second.already_processed);
    assert_eq!(
        second,
        ApplyOutcome {
            already_processed: true,
            ..ApplyOutcome::default()
        }
    );
    assert_eq!(store.timeline("inc-0001").await?.len(), 1);
    assert!(
        !store
            .mark_processed("human:alice:ack:inc-0001", t(1))
            .await?
    );
    Ok(())
}

async fn an_approval_and_its_send_intent_commit_together(kind: Kind) -> TestResult {
    let (store, _db) = fresh(kind).await?;
    let conv = conversations(&store, &["ann"]).await?[0];
    let id = store.upsert_draft(&draft(conv, "m-1", 10, &[])).await?;
    let approve = |by: &str| {
        [
            Write::ApproveDraft {
                id,
                by: by.into(),
                text: "Fixed now".into(),
                at: t(20),
            },
            Write::Enqueue(intent(
                &format!("draft-{id}/send/{by}"),
                Some("inc-0001"),
                20,
            )),
        ]
    };
    store.apply(&approve("alice")).await?;
    let again = store.apply(&approve("bob")).await;
    assert!(
        matches!(again, Err(StoreError::Stale { what: "draft", .. })),
        "{again:?}"
    );
    assert_eq!(
        store.outbox_depth().await?,
        1,
        "the second approver's send was rolled back"
    );
    Ok(())
}

#[tokio::test]
async fn a_file_database_is_opened_in_wal_mode() -> TestResult {
    let (_store, _dir, url) = file_store().await?;
    let raw = sqlx::SqlitePool::connect(&url).await?;
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&raw)
        .await?;
    assert_eq!(mode, "wal");
    raw.close().await;
    Ok(())
}

/// The writer does not checkpoint in its commits (a backstop of 16,384 WAL
/// pages aside): a task beside it copies the WAL into the database file
/// within a fraction of a second, so a few small commits reach the file.
#[tokio::test]
async fn committed_pages_reach_the_database_file_without_the_writer_checkpointing() -> TestResult {
    let (store, dir, _url) = file_store().await?;
    let file = dir.path().join("squall.db");
    let before = std::fs::metadata(&file)?.len();
    let batch: Vec<Mention> = (0..2_000)
        .map(|i| mention(&i.to_string(), &format!("author-{i}"), i))
        .collect();
    store.insert_mentions(&batch, t(1)).await?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while std::fs::metadata(&file)?.len() <= before {
        assert!(
            std::time::Instant::now() < deadline,
            "the database file did not grow within 5 s: nothing checkpointed the WAL"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    Ok(())
}

#[tokio::test]
async fn a_database_that_cannot_be_opened_is_reported_with_its_url() -> TestResult {
    let dir = tempfile::tempdir()?;
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("missing/dir/squall.db").display()
    );
    let opened = Store::open(&url).await;
    assert!(
        matches!(&opened, Err(StoreError::Open { url: shown, .. }) if *shown == url),
        "{opened:?}"
    );
    Ok(())
}

async fn a_draft_for_an_unknown_conversation_is_refused_by_the_schema(kind: Kind) -> TestResult {
    let (store, _db) = fresh(kind).await?;
    conversations(&store, &["ann"]).await?;
    let refused = store.upsert_draft(&draft(999, "m-1", 10, &[])).await;
    assert!(
        matches!(&refused, Err(e) if e.is_constraint_violation()),
        "{refused:?}"
    );
    Ok(())
}
