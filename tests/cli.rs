//! The `squall` binary as a user meets it: exit codes, formats, help.

use assert_cmd::Command;

fn squall() -> Command {
    Command::cargo_bin("squall").expect("binary")
}

/// `squall` run in `dir` with no config named: what a user of an installed
/// binary gets in a directory of their own.
fn squall_in(dir: &std::path::Path) -> Command {
    let mut cmd = squall();
    cmd.current_dir(dir).env_remove("SQUALL_CONFIG");
    cmd
}

#[test]
fn validate_passes_the_shipped_examples_with_only_warnings() {
    let out = squall().args(["validate"]).output().expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("0 errors"));
}

#[test]
fn in_a_directory_without_a_config_validate_checks_the_built_in_example_and_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = squall_in(dir.path())
        .args(["validate"])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("No squall.yaml here: validating the built-in example"),
        "{text}"
    );
    assert!(text.contains("0 errors"), "{text}");
}

#[test]
fn without_a_config_a_missing_templates_or_playbooks_directory_says_where_squall_looked() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A playbook of one's own, but no squall.yaml and no templates/ beside it.
    std::fs::write(dir.path().join("mine.yaml"), "name: mine\n").expect("write");
    for args in [
        &["validate", "mine.yaml"][..],
        &["simulate", "--mentions", "x.ndjson"],
    ] {
        let out = squall_in(dir.path()).args(args).output().expect("run");
        let text = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {text}");
        assert!(
            text.contains("no squall.yaml here and no --config")
                && text.contains("looked for its templates in `templates`"),
            "{args:?}: {text}"
        );
    }
}

#[test]
fn validate_fails_with_file_line_and_column_and_a_json_form_for_ci() {
    let bad = "tests/fixtures/validate/bad/unknown_key.yaml";
    let out = squall()
        .args([
            "validate",
            bad,
            "--config",
            "tests/fixtures/validate/squall.yaml",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("unknown_key.yaml:"), "{text}");
    let out = squall()
        .args([
            "validate",
            bad,
            "--config",
            "tests/fixtures/validate/squall.yaml",
            "--format",
            "json",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let first = &v.as_array().expect("array")[0];
    assert!(
        first["line"].as_u64().is_some()
            && first["column"].as_u64().is_some()
            && first["file"].is_string()
    );
}

#[test]
fn simulate_json_is_byte_identical_across_runs() {
    let a = squall().args(["simulate", "--json"]).output().expect("run");
    let b = squall().args(["simulate", "--json"]).output().expect("run");
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    assert!(!a.stdout.is_empty());
    assert_eq!(a.stdout, b.stdout);
}

/// `squall simulate ARGS --mentions FILE` on a stream file `name` holding
/// `text`, the way a comms team replays a recording of its own.
fn simulate_stream(name: &str, text: &str, args: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write");
    squall()
        .arg("simulate")
        .args(args)
        .arg("--mentions")
        .arg(&path)
        .output()
        .expect("run")
}

#[test]
fn a_bad_line_in_a_stream_names_the_file_line_and_field() {
    let out = simulate_stream("stream.ndjson", "{\"id\":\"1\",\"platform\":\"x\",\"account\":\"acme-x\",\"author\":{\"id\":\"a\",\"handle\":\"@a\"},\"text\":\"down\",\"created_at\":\"yesterday\"}\n", &[]);
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("stream.ndjson:1") && text.contains("created_at"),
        "{text}"
    );
}

/// A mention line of the built-in example, to the account `account`.
fn mention_to(account: &str) -> String {
    format!("{{\"id\":\"1\",\"platform\":\"x\",\"account\":\"{account}\",\"author\":{{\"id\":\"a\",\"handle\":\"@a\"}},\"text\":\"site is down\",\"created_at\":\"2026-11-23T09:00:00Z\"}}\n")
}

#[test]
fn a_mention_to_an_account_the_config_does_not_have_is_refused_with_its_line() {
    let stream = mention_to("acme-x") + &mention_to("acme-typo");
    let out = simulate_stream("stream.ndjson", &stream, &[]);
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("stream.ndjson:2")
            && text.contains("\"acme-typo\" is not a configured account")
            && text.contains("acme-x"),
        "{text}"
    );
}

#[test]
fn a_stream_saved_with_a_byte_order_mark_replays() {
    let stream = format!("\u{feff}{}", mention_to("acme-x"));
    let out = simulate_stream("stream.ndjson", &stream, &["--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("\"mentions\":1"), "{text}");
}

#[test]
fn an_empty_stream_is_refused_instead_of_replaying_1970() {
    let out = simulate_stream("empty.ndjson", "", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "nothing replayed");
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("nothing to replay: no mentions, actions or alerts in")
            && text.contains("empty.ndjson"),
        "{text}"
    );
}

#[test]
fn help_lists_every_command_and_schema_prints_json() {
    let out = squall().arg("--help").output().expect("run");
    let help = String::from_utf8_lossy(&out.stdout);
    for cmd in [
        "validate",
        "simulate",
        "schema",
        "reference",
        "schedule",
        "drafts",
        "report",
    ] {
        assert!(help.contains(cmd), "{cmd} missing from --help");
    }
    let out = squall().args(["schema", "config"]).output().expect("run");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON Schema");
    assert!(v.get("$schema").is_some() || v.get("type").is_some());
}

#[test]
fn every_flag_of_every_command_says_what_it_is_for() {
    use clap::CommandFactory;
    fn undocumented(cmd: &clap::Command, path: &str, out: &mut Vec<String>) {
        for arg in cmd.get_arguments() {
            let Some(long) = arg.get_long() else {
                continue; // positional: its name is the usage line's word
            };
            if arg.get_help().is_none() && !["help", "version"].contains(&long) {
                out.push(format!("{path} --{long}"));
            }
        }
        for sub in cmd.get_subcommands() {
            undocumented(sub, &format!("{path} {}", sub.get_name()), out);
        }
    }
    let mut missing = Vec::new();
    undocumented(&squall::cli::Cli::command(), "squall", &mut missing);
    assert!(missing.is_empty(), "no help text: {missing:?}");
}

#[test]
fn schedule_commands_read_the_configured_hours() {
    let out = squall().args(["schedule", "list"]).output().expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("support-hours"));
    let out = squall()
        .args([
            "schedule",
            "show",
            "support-hours",
            "--from",
            "2026-12-23",
            "--days",
            "3",
        ])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("2026-12-24 09:00") && text.contains("2026-12-24 12:00"),
        "Christmas Eve has short hours: {text}"
    );
    let out = squall()
        .args(["schedule", "show", "nope"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("support-hours"),
        "names the configured ones"
    );
}

#[test]
fn detect_writes_one_alarm_csv_per_input_that_nabs_scorer_reads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = "benches/data/nab/realTweets/Twitter_volume_CVS.csv";
    let out = squall()
        .args([
            "detect",
            input,
            "--sensitivity",
            "low",
            "--window",
            "30m",
            "--for",
            "15m",
            "--out",
        ])
        .arg(dir.path())
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written =
        std::fs::read_to_string(dir.path().join("Twitter_volume_CVS.csv")).expect("output");
    let original = std::fs::read_to_string(input).expect("input");
    assert_eq!(
        written.lines().next(),
        Some("timestamp,alarm,anomaly_score")
    );
    assert_eq!(
        written.lines().count(),
        original.lines().count(),
        "one row per input row"
    );
    let alarms = written
        .lines()
        .skip(1)
        .filter(|l| l.split(',').nth(1) == Some("1"))
        .count();
    assert!(alarms > 0 && alarms < 50, "{alarms} alarms");
}

#[test]
fn detect_counts_mentions_per_bucket_and_finds_the_example_outage() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = squall()
        .args(["detect", "examples/mentions.ndjson", "--out"])
        .arg(dir.path())
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = std::fs::read_to_string(dir.path().join("mentions.csv")).expect("output");
    let alarm_times: Vec<&str> = written
        .lines()
        .filter(|l| l.split(',').nth(1) == Some("1"))
        .map(|l| l.split(',').next().unwrap_or(""))
        .collect();
    assert!(
        alarm_times.iter().any(|t| t.starts_with("2026-11-24T07:1")),
        "the 07:10 outage fires: {alarm_times:?}"
    );
}

/// Alarm rows `squall detect` writes for the CVS series with these flags.
fn cvs_alarms(flags: &[&str]) -> usize {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = squall()
        .args([
            "detect",
            "benches/data/nab/realTweets/Twitter_volume_CVS.csv",
            "--sensitivity",
            "low",
            "--window",
            "30m",
        ])
        .args(flags)
        .arg("--out")
        .arg(dir.path())
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(dir.path().join("Twitter_volume_CVS.csv"))
        .expect("output")
        .lines()
        .filter(|l| l.split(',').nth(1) == Some("1"))
        .count()
}

#[test]
fn detect_takes_explicit_thresholds_debounce_and_recent_peak_like_a_playbook() {
    let defaults = cvs_alarms(&[]);
    let eager = cvs_alarms(&[
        "--sigmas",
        "1",
        "--min-count",
        "1",
        "--min-ratio",
        "1",
        "--recent-peak",
        "0",
        "--debounce",
        "0s",
    ]);
    assert!(
        eager > 10 * defaults.max(1),
        "defaults {defaults} alarms, eager {eager}"
    );
    let no_debounce = cvs_alarms(&["--debounce", "0s"]);
    assert!(no_debounce >= defaults, "{no_debounce} < {defaults}");
}

#[test]
fn detect_refuses_the_settings_a_playbook_refuses_and_says_why() {
    let input = "benches/data/nab/realTweets/Twitter_volume_CVS.csv";
    for (flag, value, reason) in [
        ("--sigmas", "nan", "must be a finite number greater than 0"),
        ("--sigmas", "inf", "must be a finite number greater than 0"),
        ("--sigmas", "0", "must be greater than 0"),
        ("--sigmas", "-2", "must be greater than 0"),
        ("--sigmas", "four", "not a number"),
        ("--min-ratio", "0.5", "must be at least 1.0"),
        (
            "--min-ratio",
            "inf",
            "must be a finite number, at least 1.0",
        ),
        ("--min-count", "0", "must be at least 1"),
        ("--min-count", "2.5", "whole number"),
        ("--recent-peak", "-0.1", "must be 0 or more"),
        ("--burst-sigmas", "NaN", "must be 0 or more"),
        ("--window", "0s", "must be longer than zero"),
        ("--window", "5", "needs a unit: `5s`, `5m` or `5h`"),
        ("--window", "soon", "write a number and a unit, e.g. `5m`"),
        ("--window", "2days", "longer than a day"),
        ("--bucket", "0m", "must be longer than zero"),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = squall()
            .args(["detect", input, flag, value, "--out"])
            .arg(dir.path())
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag} {value}: {stderr}");
        assert!(
            stderr.contains(flag) && stderr.contains(reason),
            "{flag} {value} should say {reason:?}: {stderr}"
        );
        assert_eq!(
            std::fs::read_dir(dir.path()).expect("dir").count(),
            0,
            "{flag} {value}: nothing is written"
        );
    }
}

#[test]
fn in_a_directory_without_a_config_schedule_shows_the_built_in_example_and_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = squall_in(dir.path())
        .args(["schedule", "show", "support-hours", "--days", "2"])
        .output()
        .expect("run");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("No squall.yaml here: showing the schedules of the built-in example"),
        "{stderr}"
    );
    assert!(
        stdout.lines().any(|l| l.starts_with("open"))
            && stdout.lines().any(|l| l.starts_with("closed")),
        "{stdout}"
    );
    let out = squall_in(dir.path())
        .args(["schedule", "show", "support-hours", "--days", "0"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2), "zero days is refused");
}

/// `squall serve` in an empty directory, its stderr lines as they come.
struct TrialServer {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    _dir: tempfile::TempDir,
}

impl TrialServer {
    fn start(args: &[&str]) -> Self {
        use std::io::BufRead;
        let dir = tempfile::tempdir().expect("tempdir");
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_squall"))
            .current_dir(dir.path())
            .env_remove("SQUALL_CONFIG")
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn squall serve");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                let _ = tx.send(line);
            }
        });
        Self {
            child,
            lines,
            _dir: dir,
        }
    }

    /// Everything printed up to the "listening" line, and the address.
    fn until_listening(&self) -> (Vec<String>, String) {
        let mut seen = Vec::new();
        loop {
            let line = self
                .lines
                .recv_timeout(std::time::Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("squall serve did not start: {seen:#?}"));
            if let Some(addr) = line.strip_prefix("squall listening on ") {
                return (seen, addr.to_owned());
            }
            seen.push(line);
        }
    }
}

impl Drop for TrialServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn serve_on_the_built_in_example_shows_a_one_time_commander_token_once() {
    let server = TrialServer::start(&[]);
    let (printed, base) = server.until_listening();
    // stderr is a pipe here, as in a log pipeline: the token is not printed
    // but kept in a file only this user can read, and the message says where.
    let token = trial_token_file(&printed);
    assert!(
        printed
            .iter()
            .any(|l| l.contains("a commander acting as ana")),
        "{printed:#?}"
    );
    assert!(
        !printed.iter().any(|l| l.contains(&token)),
        "the token stays out of stderr: {printed:#?}"
    );
    let http = reqwest::Client::new();
    let me = http
        .get(format!("{base}/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("GET /v1/me");
    assert_eq!(me.status(), 200);
    let me: serde_json::Value = me.json().await.expect("JSON");
    assert_eq!(me["actor"], "ana", "{me}");
    assert_eq!(me["roles"], serde_json::json!(["commander"]), "{me}");
    let anonymous = http
        .get(format!("{base}/v1/me"))
        .send()
        .await
        .expect("GET /v1/me");
    assert_eq!(anonymous.status(), 401);
    // A second server makes up a token of its own.
    let other = TrialServer::start(&[]);
    let (printed, _) = other.until_listening();
    assert_ne!(trial_token_file(&printed), token);
}

/// The token in the file that `serve`'s message names, after checking that
/// only its owner may read that file.
fn trial_token_file(printed: &[String]) -> String {
    let path = printed
        .iter()
        .find_map(|l| l.split("it is in ").nth(1))
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("no token file named: {printed:#?}"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .expect("token file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{path} is readable by others: {mode:o}");
    }
    let token = std::fs::read_to_string(path).expect("read the token file");
    let _ = std::fs::remove_file(path);
    assert!(
        token.len() == 64 && token.chars().all(|c| c.is_ascii_hexdigit()),
        "{token:?}"
    );
    token
}
