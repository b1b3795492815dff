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

/// The score of one file (or a sum of files) under one profile.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Score {
    pub windows: usize,
    pub tp: usize,
    pub fp: usize,
    pub raw: f64,
    pub null: f64,
    pub perfect: f64,
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
        }
    }
}

impl Score {
    pub fn normalized(&self) -> f64 {
        100.0 * (self.raw - self.null) / (self.perfect - self.null)
    }
}

/// Scores one file's alarm column.
///
/// # Panics
/// If `alarms` is shorter than the file.
pub fn score(geometry: &FileGeometry, alarms: &[bool], p: Profile) -> Score {
    let max_tp = scaled_sigmoid(-1.0);
    let mut best: std::collections::BTreeMap<usize, f64> = Default::default();
    let mut raw = 0.0;
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
                raw += geometry.value[i] * p.fp_weight;
            }
        }
    }
    let scorable: std::collections::BTreeSet<usize> = (geometry.probation..geometry.n)
        .filter_map(|i| geometry.window_of[i])
        .collect();
    for w in &scorable {
        raw += best.get(w).copied().unwrap_or(-p.fn_weight);
    }
    let windows = geometry.windows;
    Score {
        windows,
        tp: best.len(),
        fp,
        raw,
        null: -p.fn_weight * windows as f64,
        perfect: p.tp_weight * windows as f64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn alarms_during_probation_count_for_nothing() {
        let g = FileGeometry::new(1000, vec![(400, 499)]);
        let mut a = vec![false; 1000];
        a[10] = true;
        assert_eq!(score(&g, &a, STANDARD).fp, 0);
    }
}
