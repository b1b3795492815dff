//! Runs squall's production surge detector over the NAB realTweets series
//! (real Twitter mention counts, one row per 5 minutes, labeled surges),
//! writes one `timestamp,alarm` CSV per series for NAB's scorer, and scores
//! the run with the Rust implementation of NAB's method:
//!
//! ```sh
//! cargo bench --bench nab -- --sensitivity low --window 30m [--for 0s] [--out target/nab]
//! python3 benches/data/nab/score.py target/nab --column alarm --no-sweep
//! cargo bench --bench nab -- --sensitivity low --window 30m --neighbourhood
//! ```
//!
//! `--neighbourhood` scores the settings *around* the given ones as well
//! (`sigmas` from 5/6 to 7/6 of the given value, the window from 10 minutes
//! shorter to 15 minutes longer, the recent-peak share ±0.1: 90 settings)
//! and prints the mean and the worst. Six files and 19 windows are few: a
//! change that lifts the given setting but not its neighbourhood is fitted
//! to these files, not better (docs/detection.md).
//!
//! The detector is fed exactly as the engine feeds it
//! (`squall::detect::series`): each mention's event time through `observe`,
//! then `advance` to the end of each row. An alarm is the row at which the
//! detector says `Surge` (once per surge, as in production). `tests/nab.rs`
//! holds a floor on the same scores. Data: Numenta Anomaly Benchmark, MIT
//! licence (`benches/data/nab/LICENSE.txt`).

use squall::detect::baseline::DetectorParams;
use squall::detect::nab::{self, Corpus, LabeledSeries, Score};
use squall::detect::series;
use squall::playbook::Sensitivity;
use std::path::PathBuf;
use std::time::{Duration, Instant};

struct Args {
    data: PathBuf,
    out: PathBuf,
    sensitivity: Sensitivity,
    window: Duration,
    hold: Duration,
    neighbourhood: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        data: PathBuf::from("benches/data/nab"),
        out: PathBuf::from("target/nab"),
        sensitivity: Sensitivity::Medium,
        window: Duration::from_secs(15 * 60),
        hold: Duration::ZERO,
        neighbourhood: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--data" => args.data = PathBuf::from(value()?),
            "--out" => args.out = PathBuf::from(value()?),
            "--sensitivity" => {
                args.sensitivity = match value()?.as_str() {
                    "low" => Sensitivity::Low,
                    "medium" => Sensitivity::Medium,
                    "high" => Sensitivity::High,
                    other => {
                        return Err(format!("unknown sensitivity {other}: low, medium or high"))
                    }
                }
            }
            "--window" => {
                args.window = humantime::parse_duration(&value()?).map_err(|e| e.to_string())?
            }
            "--for" => {
                args.hold = humantime::parse_duration(&value()?).map_err(|e| e.to_string())?
            }
            "--neighbourhood" => args.neighbourhood = true,
            "--bench" => {}
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

/// The detector's settings for one series: the playbook's, at the series' bucket.
fn params(args: &Args, s: &LabeledSeries) -> DetectorParams {
    DetectorParams {
        bucket: s.series.bucket,
        ..DetectorParams::from_sensitivity(args.window, args.sensitivity, None, args.hold)
    }
}

/// The three profiles' scores of one setting over every series.
fn score_all(
    all: &[LabeledSeries],
    params: impl Fn(&LabeledSeries) -> DetectorParams,
) -> [Score; 3] {
    let verdicts: Vec<_> = all
        .iter()
        .map(|s| series::run(&s.series.rows, params(s)))
        .collect();
    score_verdicts(all, &verdicts)
}

/// The three profiles' scores of verdicts already computed, one list per series.
fn score_verdicts(all: &[LabeledSeries], verdicts: &[Vec<series::RowVerdict>]) -> [Score; 3] {
    let alarms: Vec<Vec<bool>> = verdicts
        .iter()
        .map(|v| v.iter().map(|v| v.alarm).collect())
        .collect();
    nab::score_corpus(
        all.iter()
            .map(|s| &s.geometry)
            .zip(alarms.iter().map(Vec::as_slice)),
    )
}

fn report(scores: &[Score; 3]) {
    for (s, p) in scores.iter().zip(nab::PROFILES) {
        let lost = s.losses();
        println!(
            "{:<20} {:>6.2}   lost to lateness {:>5.2}, misses {:>5.2}, false alarms {:>5.2}",
            p.name,
            s.normalized(),
            lost.lateness,
            lost.missed,
            lost.false_alarms
        );
    }
    println!(
        "{} of {} windows found, {} false-alarm rows",
        scores[0].tp, scores[0].windows, scores[0].fp
    );
}

/// Mean and worst of each profile over the settings around the given ones.
fn neighbourhood(args: &Args, all: &[LabeledSeries]) {
    let minutes = |m: i64| Duration::from_secs(u64::try_from(m.max(1) * 60).unwrap_or(60));
    let window = i64::try_from(args.window.as_secs() / 60).unwrap_or(0);
    let (mut sum, mut worst, mut n) = ([0.0; 3], [f64::INFINITY; 3], 0.0);
    for sigma_share in [5.0, 5.5, 6.0, 6.5, 7.0].map(|x| x / 6.0) {
        for window_step in [-10, -5, 0, 5, 10, 15] {
            for peak_step in [-0.1, 0.0, 0.1] {
                let scores = score_all(all, |s| {
                    let mut p = params(args, s);
                    p.thresholds.sigmas *= sigma_share;
                    p.window = minutes(window + window_step).max(s.series.bucket);
                    p.record_ratio = (p.record_ratio + peak_step).max(0.0);
                    p
                });
                for k in 0..3 {
                    let v = scores[k].normalized();
                    sum[k] += v;
                    worst[k] = worst[k].min(v);
                }
                n += 1.0;
            }
        }
    }
    println!("neighbourhood ({n} settings around the given ones):");
    for (k, p) in nab::PROFILES.iter().enumerate() {
        println!(
            "{:<20} mean {:>6.2}   worst {:>6.2}",
            p.name,
            sum[k] / n,
            worst[k]
        );
    }
}

fn run(args: &Args) -> Result<(), String> {
    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    let corpus = Corpus::open(&args.data)?;
    let all = corpus
        .files()?
        .iter()
        .map(|f| corpus.load(f))
        .collect::<Result<Vec<_>, _>>()?;
    let started = Instant::now();
    let verdicts: Vec<_> = all
        .iter()
        .map(|s| series::run(&s.series.rows, params(args, s)))
        .collect();
    let secs = started.elapsed().as_secs_f64();
    let mut events = 0;
    for (s, v) in all.iter().zip(&verdicts) {
        std::fs::write(args.out.join(&s.name), series::to_csv(&s.series, v))
            .map_err(|e| e.to_string())?;
        events += s.series.rows.iter().map(|r| r.1).sum::<u64>();
        let alarms = v.iter().filter(|v| v.alarm).count();
        println!("{:<32} {alarms:>4} alarms", s.name);
    }
    println!(
        "{events} mention events through the detector in {secs:.2} s ({:.1} M events/s, one core)",
        events as f64 / secs / 1e6
    );
    report(&score_verdicts(&all, &verdicts));
    println!(
        "NAB's reference scorer: python3 benches/data/nab/score.py {} --column alarm --no-sweep",
        args.out.display()
    );
    if args.neighbourhood {
        neighbourhood(args, &all);
    }
    Ok(())
}

fn main() {
    let code = match parse_args() {
        Ok(args) => match run(&args) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("error: {e}");
                1
            }
        },
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    };
    std::process::exit(code);
}
