//! squall's surge detector on real labeled mention volumes (NAB realTweets,
//! MIT licence, `benches/data/nab/`), scored with NAB's method. A floor on
//! the score makes a regression fail CI.

use squall::detect::baseline::DetectorParams;
use squall::detect::nab::{self, Corpus, LabeledSeries, Score};
use squall::detect::series;
use squall::playbook::Sensitivity;
use std::time::Duration;

const DATA: &str = "benches/data/nab";
const FILES: [&str; 6] = ["AAPL", "AMZN", "CRM", "CVS", "FB", "GOOG"];

fn load(name: &str) -> LabeledSeries {
    Corpus::open(std::path::Path::new(DATA))
        .and_then(|c| c.load(&format!("Twitter_volume_{name}.csv")))
        .expect("NAB series and windows")
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

/// Each file with the alarm column that `alarms_of` gives it.
fn runs(alarms_of: impl Fn(&LabeledSeries) -> Vec<bool>) -> Vec<(LabeledSeries, Vec<bool>)> {
    FILES
        .iter()
        .map(|f| {
            let s = load(f);
            let alarms = alarms_of(&s);
            (s, alarms)
        })
        .collect()
}

/// The three profiles' scores of `runs`, as NAB sums a corpus.
fn scores(runs: &[(LabeledSeries, Vec<bool>)]) -> [Score; 3] {
    nab::score_corpus(runs.iter().map(|(s, a)| (&s.geometry, a.as_slice())))
}

/// Asserts the three profiles' floors; prints the scores.
fn at_least(incidents: series::Incidents, floors: [f64; 3]) {
    let scores = scores(&runs(|s| {
        series::run_with(&s.series.rows, params(), incidents)
            .iter()
            .map(|v| v.alarm)
            .collect()
    }));
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

#[test]
fn firing_exactly_at_every_labeled_anomaly_still_loses_points_to_lateness() {
    // NAB centres each window on its labeled anomaly and rewards an alarm
    // by how early in the window it comes. A detector without foresight
    // fires at the anomaly at best, which is worth about 0.86 of a window:
    // that is the ceiling the lateness term of squall's score is measured
    // against (docs/detection.md, "Where the points go").
    let labels: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{DATA}/combined_labels_realTweets.json"))
            .expect("labels"),
    )
    .expect("JSON");
    let scores = scores(&runs(|s| {
        let at: Vec<&str> = labels[format!("realTweets/{}", s.name)]
            .as_array()
            .expect("labels of the file")
            .iter()
            .filter_map(|l| l.as_str())
            .collect();
        s.series
            .labels
            .iter()
            .map(|l| at.contains(&l.as_str()))
            .collect()
    }));
    for s in &scores {
        let lost = s.losses();
        assert_eq!((s.tp, s.fp), (19, 0));
        assert_eq!((lost.missed, lost.false_alarms), (0.0, 0.0));
        assert!((s.normalized() + lost.lateness - 100.0).abs() < 1e-9);
    }
    let [standard, low_fp, low_fn] = scores.map(|s| s.normalized());
    println!("at the labels: {standard:.2} / {low_fp:.2} / {low_fn:.2}");
    assert!((92.0..95.0).contains(&standard), "{standard:.2}");
}
