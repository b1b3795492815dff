//! The Numenta Anomaly Benchmark's scoring method, for measuring squall's
//! surge detector on labeled real mention volumes (NAB realTweets).
//!
//! A re-implementation of NAB's published method, cross-checked against the
//! reference scorer shipped in `benches/data/nab/score.py`:
//! - the first 15% of a file (at most 750 rows) is probation: alarms there
//!   count for nothing;
//! - a labeled window is detected by its earliest alarm, rewarded by a
//!   scaled sigmoid of its position (about +1 at the left edge, 0 at the
//!   right edge); a missed window costs `fn_weight`;
//! - every alarm row outside a window costs `fp_weight` times a sigmoid
//!   that grows with the distance from the previous window (−1 when none
//!   precedes it);
//! - normalised score = 100 · (raw − null) / (perfect − null).

/// One of NAB's cost profiles.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Profile {
    pub name: &'static str,
    pub tp_weight: f64,
    pub fn_weight: f64,
    pub fp_weight: f64,
}

pub const STANDARD: Profile = Profile {
    name: "standard",
    tp_weight: 1.0,
    fn_weight: 1.0,
    fp_weight: 0.11,
};
pub const LOW_FP: Profile = Profile {
    name: "reward_low_FP_rate",
    tp_weight: 1.0,
    fn_weight: 1.0,
    fp_weight: 0.22,
};
pub const LOW_FN: Profile = Profile {
    name: "reward_low_FN_rate",
    tp_weight: 1.0,
    fn_weight: 2.0,
    fp_weight: 0.11,
};
pub const PROFILES: [Profile; 3] = [STANDARD, LOW_FP, LOW_FN];

const PROBATION_FRACTION: f64 = 0.15;
const PROBATION_CAP_ROWS: usize = 750;

fn scaled_sigmoid(x: f64) -> f64 {
    if x > 3.0 {
        -1.0
    } else {
        2.0 / (1.0 + (5.0 * x).exp()) - 1.0
    }
}

/// One file's geometry: which rows are in which window, and what an alarm
/// at each row is worth before weighting.
#[derive(Debug, Clone)]
pub struct FileGeometry {
    n: usize,
    probation: usize,
    /// Window index of each row, if inside one.
    window_of: Vec<Option<usize>>,
    /// Unweighted value of an alarm at each row.
    value: Vec<f64>,
    windows: usize,
}

impl FileGeometry {
    /// `windows` are inclusive `(first row, last row)` pairs.
    pub fn new(n: usize, mut windows: Vec<(usize, usize)>) -> Self {
        windows.sort_unstable();
        let probation = ((PROBATION_FRACTION * n as f64).floor() as usize).min(PROBATION_CAP_ROWS);
        let mut window_of = vec![None; n];
        let mut value = vec![-1.0; n];
        let mut prev: Option<(usize, f64)> = None;
        let mut wi = 0;
        let mut i = 0;
        while i < n {
            if let Some(&(left, right)) = windows.get(wi).filter(|w| w.0 == i) {
                let width = (right - left + 1) as f64;
                for j in left..=right.min(n - 1) {
                    window_of[j] = Some(wi);
                    value[j] = scaled_sigmoid(-((right - j + 1) as f64) / width);
                }
                prev = Some((right, width));
                wi += 1;
                i = right + 1;
                continue;
            }
            if let Some((right, width)) = prev {
                value[i] = scaled_sigmoid((i as f64 - right as f64).abs() / (width - 1.0));
            }
            i += 1;
        }
        let scorable: std::collections::BTreeSet<usize> =
            (probation..n).filter_map(|i| window_of[i]).collect();
        Self {
            n,
            probation,
            window_of,
            value,
            windows: scorable.len(),
        }
    }

    pub fn rows(&self) -> usize {
        self.n
    }
}

/// A labeled NAB corpus on disk: the series in `DIR/realTweets/*.csv` and
/// their windows in `DIR/combined_windows_realTweets.json` (the layout of
/// `benches/data/nab/`).
#[derive(Debug, Clone)]
pub struct Corpus {
    dir: std::path::PathBuf,
    windows: serde_json::Value,
}

/// One series of a [`Corpus`], read and matched to its windows.
#[derive(Debug, Clone)]
pub struct LabeledSeries {
    /// The file name, `Twitter_volume_AAPL.csv`.
    pub name: String,
    pub series: super::series::CountSeries,
    pub geometry: FileGeometry,
}

impl Corpus {
    const SET: &'static str = "realTweets";

    /// # Errors
    /// The windows file cannot be read or is not JSON.
    pub fn open(dir: &std::path::Path) -> Result<Self, String> {
        let path = dir.join(format!("combined_windows_{}.json", Self::SET));
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let windows = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not JSON: {e}", path.display()))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            windows,
        })
    }

    /// The series' file names, sorted.
    ///
    /// # Errors
    /// The series directory cannot be read.
    pub fn files(&self) -> Result<Vec<String>, String> {
        let dir = self.dir.join(Self::SET);
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".csv"))
            .collect();
        names.sort();
        Ok(names)
    }

    /// Reads one series and its windows.
    ///
    /// # Errors
    /// The series cannot be read, or its windows do not match its rows.
    pub fn load(&self, file: &str) -> Result<LabeledSeries, String> {
        let series = super::series::read_csv(&self.dir.join(Self::SET).join(file))
            .map_err(|e| e.to_string())?;
        let key = format!("{}/{file}", Self::SET);
        let windows = windows_of(&self.windows, &key, &series.labels)?;
        Ok(LabeledSeries {
            name: file.to_string(),
            geometry: FileGeometry::new(series.rows.len(), windows),
            series,
        })
    }
}

/// The labeled windows of one file, as inclusive `(first row, last row)`
/// pairs, from NAB's `combined_windows_*.json` (`{"realTweets/FILE.csv":
/// [["start", "end"], ...]}`), matched to the file's row timestamps as
/// written (`YYYY-MM-DD HH:MM:SS`; NAB's windows add `.000000`).
///
/// # Errors
/// The file has no entry, or a window edge is not one of its rows.
pub fn windows_of(
    windows: &serde_json::Value,
    key: &str,
    row_labels: &[String],
) -> Result<Vec<(usize, usize)>, String> {
    let row = |edge: &serde_json::Value| {
        let text = edge.as_str().ok_or("a window edge is not a string")?;
        let stamp = text.get(..19).unwrap_or(text);
        row_labels
            .iter()
            .position(|l| l == stamp)
            .ok_or_else(|| format!("{key}: window edge {text} is not a row"))
    };
    windows
        .get(key)
        .and_then(|w| w.as_array())
        .ok_or_else(|| format!("no windows for {key}"))?
        .iter()
        .map(|w| Ok((row(&w[0])?, row(&w[1])?)))
        .collect()
}

/// The score of one file (or a sum of files) under one profile.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Score {
    pub windows: usize,
    pub tp: usize,
    pub fp: usize,
    pub raw: f64,
    pub null: f64,
    pub perfect: f64,
    /// Reward given up by finding windows later than their left edge.
    pub lateness: f64,
    /// What the false alarms cost.
    pub false_alarm_cost: f64,
}

/// Where a score's points went: the points (of 100) lost to each cause.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Losses {
    /// Windows found, but later than their left edge. A detector that fires
    /// exactly at every labeled anomaly (the middle of its window) still
    /// loses about 6.5 points here on the realTweets series.
    pub lateness: f64,
    /// Windows not found at all.
    pub missed: f64,
    /// Alarms outside every window.
    pub false_alarms: f64,
}

impl std::ops::Add for Score {
    type Output = Score;

    fn add(self, o: Score) -> Score {
        Score {
            windows: self.windows + o.windows,
            tp: self.tp + o.tp,
            fp: self.fp + o.fp,
            raw: self.raw + o.raw,
            null: self.null + o.null,
            perfect: self.perfect + o.perfect,
            lateness: self.lateness + o.lateness,
            false_alarm_cost: self.false_alarm_cost + o.false_alarm_cost,
        }
    }
}

impl Score {
    pub fn normalized(&self) -> f64 {
        100.0 * (self.raw - self.null) / (self.perfect - self.null)
    }

    /// The points lost to lateness, misses and false alarms; with the
    /// normalised score they add up to 100.
    pub fn losses(&self) -> Losses {
        let points = |raw: f64| 100.0 * raw / (self.perfect - self.null);
        let missed = self.windows - self.tp;
        let per_window = (self.perfect - self.null) / self.windows.max(1) as f64;
        Losses {
            lateness: points(self.lateness),
            missed: points(missed as f64 * per_window),
            false_alarms: points(self.false_alarm_cost),
        }
    }
}

/// Scores one file's alarm column.
///
/// # Panics
/// If `alarms` is shorter than the file.
pub fn score(geometry: &FileGeometry, alarms: &[bool], p: Profile) -> Score {
    let max_tp = scaled_sigmoid(-1.0);
    let mut best: std::collections::BTreeMap<usize, f64> = Default::default();
    let mut false_alarm_cost = 0.0;
    let mut fp = 0;
    for (i, _) in alarms
        .iter()
        .enumerate()
        .take(geometry.n)
        .skip(geometry.probation)
        .filter(|(_, a)| **a)
    {
        match geometry.window_of[i] {
            Some(w) => {
                best.entry(w)
                    .or_insert(geometry.value[i] * p.tp_weight / max_tp);
            }
            None => {
                fp += 1;
                false_alarm_cost -= geometry.value[i] * p.fp_weight;
            }
        }
    }
    let mut raw = -false_alarm_cost;
    let scorable: std::collections::BTreeSet<usize> = (geometry.probation..geometry.n)
        .filter_map(|i| geometry.window_of[i])
        .collect();
    let mut lateness = 0.0;
    for w in &scorable {
        match best.get(w) {
            Some(&reward) => {
                raw += reward;
                lateness += p.tp_weight - reward;
            }
            None => raw -= p.fn_weight,
        }
    }
    let windows = geometry.windows;
    Score {
        windows,
        tp: best.len(),
        fp,
        raw,
        null: -p.fn_weight * windows as f64,
        perfect: p.tp_weight * windows as f64,
        lateness,
        false_alarm_cost,
    }
}

/// Each profile's score, in [`PROFILES`] order, of one detector run over a
/// corpus: one `(geometry, alarms)` per file, summed as NAB sums a corpus.
pub fn score_corpus<'a>(
    runs: impl IntoIterator<Item = (&'a FileGeometry, &'a [bool])>,
) -> [Score; 3] {
    let mut totals = [Score::default(); 3];
    for (geometry, alarms) in runs {
        for (total, profile) in totals.iter_mut().zip(PROFILES) {
            *total = *total + score(geometry, alarms, profile);
        }
    }
    totals
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_corpus_scores_the_sum_of_its_files_under_each_profile() {
        let one = FileGeometry::new(1000, vec![(400, 499)]);
        let two = FileGeometry::new(1000, vec![(600, 699)]);
        let mut early = vec![false; 1000];
        early[400] = true;
        let mut late_and_false = vec![false; 1000];
        late_and_false[300] = true;
        late_and_false[690] = true;
        let totals = score_corpus([(&one, &early[..]), (&two, &late_and_false[..])]);
        for (total, profile) in totals.iter().zip(PROFILES) {
            let a = score(&one, &early, profile);
            let b = score(&two, &late_and_false, profile);
            assert_eq!((total.windows, total.tp, total.fp), (2, 2, 1));
            assert!(
                (total.raw - (a.raw + b.raw)).abs() < 1e-12,
                "{}",
                profile.name
            );
            assert!((total.normalized() - (a + b).normalized()).abs() < 1e-12);
        }
        assert!(
            totals[1].raw < totals[0].raw,
            "low FP charges the false alarm more"
        );
    }

    #[test]
    fn never_alarming_scores_zero_and_a_perfect_detector_scores_one_hundred() {
        let g = FileGeometry::new(1000, vec![(400, 499), (800, 899)]);
        let none = vec![false; 1000];
        assert!((score(&g, &none, STANDARD).normalized()).abs() < 1e-9);
        let mut perfect = vec![false; 1000];
        perfect[400] = true;
        perfect[800] = true;
        assert!((score(&g, &perfect, STANDARD).normalized() - 100.0).abs() < 1e-6);
    }

    #[test]
    fn later_detection_earns_less_and_false_alarms_cost() {
        let g = FileGeometry::new(1000, vec![(400, 499)]);
        let at = |i: usize| {
            let mut a = vec![false; 1000];
            a[i] = true;
            score(&g, &a, STANDARD).raw
        };
        assert!(at(400) > at(450) && at(450) > at(499));
        assert!(
            at(300) < 0.0 - 1.0 + 1e-9,
            "a false alarm plus the missed window"
        );
    }

    #[test]
    fn the_losses_and_the_score_add_up_to_one_hundred() {
        let g = FileGeometry::new(1000, vec![(400, 499), (800, 899)]);
        let mut a = vec![false; 1000];
        a[450] = true; // the first window, half way in
        a[300] = true; // a false alarm before any window
        for p in PROFILES {
            let s = score(&g, &a, p);
            let l = s.losses();
            assert!(l.lateness > 0.0 && l.missed > 0.0 && l.false_alarms > 0.0);
            let total = s.normalized() + l.lateness + l.missed + l.false_alarms;
            assert!((total - 100.0).abs() < 1e-9, "{}: {total}", p.name);
        }
    }

    #[test]
    fn windows_are_matched_to_rows_by_their_timestamps() {
        let rows: Vec<String> = [
            "2015-03-01 00:02:53",
            "2015-03-01 00:07:53",
            "2015-03-01 00:12:53",
        ]
        .map(String::from)
        .to_vec();
        let json = serde_json::json!({
            "realTweets/X.csv": [["2015-03-01 00:07:53.000000", "2015-03-01 00:12:53.000000"]]
        });
        assert_eq!(
            windows_of(&json, "realTweets/X.csv", &rows),
            Ok(vec![(1, 2)])
        );
        let err = windows_of(&json, "realTweets/Y.csv", &rows).unwrap_err();
        assert!(err.contains("no windows for realTweets/Y.csv"), "{err}");
        let off = serde_json::json!({"realTweets/X.csv": [["2015-03-01 00:05:00", "2015-03-01 00:12:53"]]});
        let err = windows_of(&off, "realTweets/X.csv", &rows).unwrap_err();
        assert!(err.contains("2015-03-01 00:05:00 is not a row"), "{err}");
    }

    #[test]
    fn alarms_during_probation_count_for_nothing() {
        let g = FileGeometry::new(1000, vec![(400, 499)]);
        let mut a = vec![false; 1000];
        a[10] = true;
        assert_eq!(score(&g, &a, STANDARD).fp, 0);
    }
}
