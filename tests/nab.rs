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

fn total_with(profile: nab::Profile, incidents: series::Incidents) -> Score {
    FILES
        .iter()
        .map(|f| {
            let s = load(f);
            let alarms: Vec<bool> = series::run_with(&s.rows, params(), incidents)
                .iter()
                .map(|v| v.alarm)
                .collect();
            nab::score(&s.geometry, &alarms, profile)
        })
        .fold(Score::default(), |a, b| a + b)
}

/// Asserts the three profiles' floors; prints the scores.
fn at_least(incidents: series::Incidents, floors: [f64; 3]) {
    let scores = nab::PROFILES.map(|p| total_with(p, incidents));
    let [standard, low_fp, low_fn] = scores.map(|s| s.normalized());
    println!(
        "NAB realTweets ({incidents:?}): standard {standard:.2}, low FP {low_fp:.2}, low FN {low_fn:.2} ({} of {} windows, {} false alarm rows)",
        scores[0].tp, scores[0].windows, scores[0].fp
    );
    assert_eq!(scores[0].windows, 19);
    assert!(standard >= floors[0], "standard {standard:.2}");
    assert!(low_fp >= floors[1], "low FP {low_fp:.2} (ARTime: 70.3)");
    assert!(low_fn >= floors[2], "low FN {low_fn:.2} (ARTime: 88.1)");
}

#[test]
fn the_detector_scores_at_least_its_measured_floor_on_real_twitter_volumes() {
    // Every surge the detector fires is an alarm (nobody resolves an
    // incident; the 24-hour debounce runs out on its own).
    // v4 with each row's verdict on its own row measures 83.89 / 78.89 /
    // 87.51 (NAB's reference scorer agrees, see docs/detection.md); v4
    // before that 83.83 / 78.82 / 87.46, v3 81.96 / 75.07 / 86.22, v2
    // 77.48 / 71.70 / 81.48, v1 49.40 / 28.30 / 57.49. ARTime, the best
    // published detector, scores 82.1 / 70.3 / 88.1. Raise these floors
    // with every improvement.
    at_least(series::Incidents::Ignore, [83.8, 78.8, 87.4]);
}

#[test]
fn a_playbook_whose_incidents_resolve_themselves_scores_at_least_its_floor() {
    // `auto_resolve: {quiet: 45m}` (the example site-down playbook's) and
    // the default 30-minute cooldown: an alarm is a surge that opens an
    // incident, and a resolved incident re-arms the detector. Measures
    // 84.38 / 78.25 / 87.83.
    let follow = series::Incidents::Follow {
        quiet: Duration::from_secs(45 * 60),
        cooldown: Duration::from_secs(30 * 60),
    };
    at_least(follow, [84.3, 78.2, 87.8]);
}
