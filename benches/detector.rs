//! Throughput of the production surge detector, in mention events per
//! second on one core, and its memory per tracked trigger.
//!
//! ```sh
//! cargo bench --bench detector
//! ```
//!
//! Each iteration feeds a day of a busy brand's mentions (a day/night rhythm
//! between 2 and 120 a minute, about 90,000 mentions) to one detector the way
//! the engine does: `observe` per mention, `early` after each (the live
//! early-alarm check), and `advance` at each minute's end. The detector has
//! already seen five days, so its history is full and every evaluation pays
//! for the real quantiles, seasonal median and recent peak.

use chrono::{DateTime, TimeDelta, Utc};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use squall::detect::baseline::{BaselineDetector, DetectorParams};
use squall::detect::SurgeDetector;
use squall::playbook::Sensitivity;
use std::hint::black_box;
use std::time::Duration;

const MINUTES_PER_DAY: i64 = 24 * 60;

/// Mentions per minute over a day: a smooth day/night rhythm.
fn day_of_counts() -> Vec<u32> {
    (0..MINUTES_PER_DAY)
        .map(|m| {
            let phase = (m as f64 / MINUTES_PER_DAY as f64 - 0.6) * std::f64::consts::TAU;
            (61.0 + 59.0 * phase.cos()).round() as u32
        })
        .collect()
}

fn feed(detector: &mut BaselineDetector, start: DateTime<Utc>, counts: &[u32]) -> usize {
    let mut evaluations = 0;
    for (m, &count) in counts.iter().enumerate() {
        let begin = start + TimeDelta::minutes(m as i64);
        let step = 60_000 / i64::from(count.max(1));
        for j in 0..i64::from(count) {
            let at = begin + TimeDelta::milliseconds(j * step);
            detector.observe(at);
            if detector.early(at).is_some() {
                evaluations += 1;
            }
        }
        evaluations += detector.advance(begin + TimeDelta::minutes(1)).len();
    }
    evaluations
}

fn detector(c: &mut Criterion) {
    let counts = day_of_counts();
    let mentions: u64 = counts.iter().map(|&c| u64::from(c)).sum();
    let start =
        DateTime::<Utc>::from_timestamp(1_795_000_000 / 86_400 * 86_400, 0).expect("a valid time");
    let params = DetectorParams::from_sensitivity(
        Duration::from_secs(5 * 60),
        Sensitivity::Medium,
        None,
        Duration::from_secs(2 * 60),
    );
    // Five days of history, as a detector has after running a week.
    let mut warmed = BaselineDetector::new(params).start_at(start);
    for day in 0..5 {
        feed(&mut warmed, start + TimeDelta::days(day), &counts);
    }
    let next_day = start + TimeDelta::days(5);
    println!(
        "memory per tracked trigger with a full history (one-minute buckets, five days): {} bytes",
        warmed.memory_bytes()
    );

    let mut group = c.benchmark_group("surge detector");
    group.throughput(Throughput::Elements(mentions));
    group.sample_size(20);
    group.bench_function(
        "a day of mentions through observe, early and advance",
        |b| {
            b.iter_batched(
                || warmed.clone(),
                |mut d| black_box(feed(&mut d, next_day, &counts)),
                BatchSize::LargeInput,
            )
        },
    );
    group.finish();
}

criterion_group!(benches, detector);
criterion_main!(benches);
