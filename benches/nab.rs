//! Runs squall's production surge detector over the NAB realTweets series
//! (real Twitter mention counts, one row per 5 minutes, labeled surges) and
//! writes one `timestamp,alarm` CSV per series, for NAB's scorer:
//!
//! ```sh
//! cargo bench --bench nab -- --out target/nab [--sensitivity medium] [--window 15m] [--for 0s]
//! python3 benches/data/nab/score.py target/nab --column alarm
//! ```
//!
//! The detector is fed exactly as the engine feeds it
//! (`squall::detect::series`): each mention's event time through `observe`,
//! then `advance` to the end of each row. An alarm is the row at which the
//! detector says `Surge` (once per surge, as in production). `tests/nab.rs`
//! scores the same run in Rust and holds a floor. Data: Numenta Anomaly Benchmark, MIT licence
//! (`benches/data/nab/LICENSE.txt`).

use squall::detect::baseline::DetectorParams;
use squall::detect::series;
use squall::playbook::Sensitivity;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

struct Args {
    data: PathBuf,
    out: PathBuf,
    sensitivity: Sensitivity,
    window: Duration,
    hold: Duration,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        data: PathBuf::from("benches/data/nab/realTweets"),
        out: PathBuf::from("target/nab"),
        sensitivity: Sensitivity::Medium,
        window: Duration::from_secs(15 * 60),
        hold: Duration::ZERO,
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
            "--bench" => {}
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

fn run(args: &Args, path: &Path) -> Result<(usize, u64), String> {
    let series = series::read_csv(path).map_err(|e| e.to_string())?;
    let params = DetectorParams {
        bucket: series.bucket,
        ..DetectorParams::from_sensitivity(args.window, args.sensitivity, None, args.hold)
    };
    let verdicts = series::run(&series.rows, params);
    let name = path.file_name().ok_or("no file name")?;
    std::fs::write(args.out.join(name), series::to_csv(&series, &verdicts))
        .map_err(|e| e.to_string())?;
    let alarms = verdicts.iter().filter(|v| v.alarm).count();
    Ok((alarms, series.rows.iter().map(|r| r.1).sum()))
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = std::fs::create_dir_all(&args.out) {
        eprintln!("error: {}: {e}", args.out.display());
        std::process::exit(2);
    }
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&args.data) {
        Ok(d) => d
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "csv"))
            .collect(),
        Err(e) => {
            eprintln!("error: {}: {e}", args.data.display());
            std::process::exit(2);
        }
    };
    files.sort();
    let started = Instant::now();
    let mut total_events = 0;
    for f in &files {
        match run(&args, f) {
            Ok((alarms, events)) => {
                total_events += events;
                println!(
                    "{:<32} {alarms:>4} alarms",
                    f.file_name()
                        .map(|n| n.to_string_lossy())
                        .unwrap_or_default()
                );
            }
            Err(e) => {
                eprintln!("error: {e}");
                std::process::exit(1);
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!("{total_events} mention events through the detector in {secs:.2} s ({:.1} M events/s, one core)", total_events as f64 / secs / 1e6);
    println!(
        "score with: python3 benches/data/nab/score.py {} --column alarm",
        args.out.display()
    );
}
