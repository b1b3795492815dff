//! The `squall` binary as a user meets it: exit codes, formats, help.

use assert_cmd::Command;

fn squall() -> Command {
    Command::cargo_bin("squall").expect("binary")
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

#[test]
fn a_bad_line_in_a_stream_names_the_file_line_and_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("stream.ndjson");
    std::fs::write(&path, "{\"id\":\"1\",\"platform\":\"x\",\"account\":\"acme-x\",\"author\":{\"id\":\"a\",\"handle\":\"@a\"},\"text\":\"down\",\"created_at\":\"yesterday\"}\n").expect("write");
    let out = squall()
        .args(["simulate", "--mentions"])
        .arg(&path)
        .output()
        .expect("run");
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("stream.ndjson:1") && text.contains("created_at"),
        "{text}"
    );
}

#[test]
fn help_lists_every_command_and_schema_prints_json() {
    let out = squall().arg("--help").output().expect("run");
    let help = String::from_utf8_lossy(&out.stdout);
    for cmd in ["validate", "simulate", "schema", "reference", "schedule"] {
        assert!(help.contains(cmd), "{cmd} missing from --help");
    }
    let out = squall().args(["schema", "config"]).output().expect("run");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON Schema");
    assert!(v.get("$schema").is_some() || v.get("type").is_some());
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
