//! squall's surge detector on real labeled mention volumes (NAB realTweets,
//! MIT licence, `benches/data/nab/`), scored with NAB's method. A floor on
//! the score makes a regression fail CI.

use squall::detect::baseline::DetectorParams;
use squall::detect::nab::{self, FileGeometry, Score};
use squall::detect::series;
use squall::playbook::Sensitivity;
use std::time::Duration;

const DATA: &str = "benches/data/nab";
const FILES: [&str; 6] = ["AAPL", "AMZN", "CRM", "CVS", "FB", "GOOG"];

struct Series {
    rows: Vec<(chrono::DateTime<chrono::Utc>, u64)>,
    geometry: FileGeometry,
}

fn load(name: &str) -> Series {
    let file = format!("Twitter_volume_{name}.csv");
    let counts = series::read_csv(std::path::Path::new(&format!("{DATA}/realTweets/{file}")))
        .expect("series");
    let windows: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{DATA}/combined_windows_realTweets.json"))
            .expect("windows"),
    )
    .expect("JSON");
    let index = |t: &str| {
        counts
            .labels
            .iter()
            .position(|s| s == &t[..19])
            .expect("window aligned to a row")
    };
    let wins = windows[format!("realTweets/{file}")]
        .as_array()
        .expect("windows of the file")
        .iter()
        .map(|w| {
            (
                index(w[0].as_str().expect("start")),
                index(w[1].as_str().expect("end")),
            )
        })
        .collect();
    Series {
        geometry: FileGeometry::new(counts.rows.len(), wins),
        rows: counts.rows,
    }
}

/// The settings a playbook would use on a 5-minute series: `sensitivity:
/// low`, `window: 30m`, everything else by default.
fn params() -> DetectorParams {
    DetectorParams {
        bucket: Duration::from_secs(300),
        ..DetectorParams::from_sensitivity(
            Duration::from_secs(30 * 60),
            Sensitivity::Low,
            None,
            Duration::ZERO,
        )
    }
}

fn total(profile: nab::Profile) -> Score {
    FILES
        .iter()
        .map(|f| {
            let s = load(f);
            let alarms: Vec<bool> = series::run(&s.rows, params())
                .iter()
                .map(|v| v.alarm)
                .collect();
            nab::score(&s.geometry, &alarms, profile)
        })
        .fold(Score::default(), |a, b| a + b)
}

#[test]
fn the_detector_scores_at_least_its_measured_floor_on_real_twitter_volumes() {
    let standard = total(nab::STANDARD);
    let low_fp = total(nab::LOW_FP);
    let low_fn = total(nab::LOW_FN);
    println!("NAB realTweets: standard {:.2}, low FP {:.2}, low FN {:.2} ({} of {} windows, {} false alarm rows)", standard.normalized(), low_fp.normalized(), low_fn.normalized(), standard.tp, standard.windows, standard.fp);
    assert_eq!(standard.windows, 19);
    // v4 (bursts once per spike, gaps in the feed, a week of recent peak)
    // measures 83.83 / 78.82 / 87.46 (NAB's reference scorer agrees, see
    // docs/detection.md); v3 measured 81.96 / 75.07 / 86.22, v2 77.48 /
    // 71.70 / 81.48, v1 49.40 / 28.30 / 57.49. ARTime, the best published
    // detector, scores 82.1 / 70.3 / 88.1. Raise these floors with every
    // improvement.
    assert!(
        standard.normalized() >= 83.5,
        "standard {:.2}",
        standard.normalized()
    );
    assert!(
        low_fp.normalized() >= 78.5,
        "low FP {:.2} (ARTime: 70.3)",
        low_fp.normalized()
    );
    assert!(
        low_fn.normalized() >= 87.0,
        "low FN {:.2}",
        low_fn.normalized()
    );
}
