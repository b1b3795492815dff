//! Drafts rendered and assigned per second: the outage of
//! `tests/load/mod.rs` (10,000 mentions in ten minutes, 7,000 authors in
//! five languages, 30 staff approving every 20 s), run through the pure
//! engine. Each mention is routed to its incident, rendered from the
//! playbook's template (or folded into the author's pending draft), and
//! assigned to the least loaded speaker on duty; digests are decided on
//! the way.
//!
//! ```sh
//! cargo bench --bench drafts
//! ```
//!
//! Throughput is reported in mentions per second; the setup (config,
//! templates, mentions) is outside the measurement. After the run the
//! largest digest e-mail of the scenario is printed.

#[path = "../tests/load/mod.rs"]
mod load;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::time::Duration;

fn drafts(c: &mut Criterion) {
    let mut group = c.benchmark_group("drafts");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(u64::from(load::MENTIONS)));
    group.bench_function("10k_mentions_30_staff", |b| {
        b.iter_batched(
            load::setup,
            |mut s| load::run(&mut s, false),
            BatchSize::PerIteration,
        )
    });
    group.finish();
    let outcome = load::run(&mut load::setup(), false);
    println!(
        "scenario: {} drafts created, {} replies sent, {} digests (at most {} per person), largest digest {} bytes (text + HTML)",
        outcome.drafts_created,
        outcome.replies_sent,
        outcome.digests.values().sum::<u32>(),
        outcome.digests.values().max().copied().unwrap_or(0),
        outcome.largest_digest
    );
}

criterion_group!(benches, drafts);
criterion_main!(benches);
