//! Validation of playbooks and config, as a comms person meets it: every
//! problem at once, each at its file, line and column, with a useful hint.
//!
//! Fixtures live in `tests/fixtures/validate/`; the template catalog is a
//! fake so that these tests depend on nothing but validation itself.

use squall::config::{self, Config};
use squall::diagnostics::{
    has_errors, render_human, render_human_with, render_json, Diagnostic, RenderOptions, Severity,
};
use squall::playbook::{
    self, Action, ApprovalTimeout, GroupKey, Playbook, Sensitivity, TemplateCatalog, Trigger,
};
use squall::templates::{StepContext, TemplateProblem};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn fixture(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/validate")
        .join(relative)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

fn no_env(_: &str) -> Option<String> {
    None
}

/// The shared test config; it must itself be clean.
fn test_config() -> Config {
    let (config, diags) = config::load(Some(&fixture("squall.yaml")), &no_env);
    assert!(diags.is_empty(), "test config has problems: {diags:#?}");
    config.unwrap_or_else(|| panic!("test config did not load"))
}

/// Templates by name; `status/uses-order` uses a variable a status cannot offer.
struct FakeCatalog;

const KNOWN_TEMPLATES: [&str; 7] = [
    "status/site-down",
    "status/resolved",
    "status/uses-order",
    "drafts/site-down",
    "notify/opened",
    "webhook/statuspage",
    "autoreply/site-down",
];

impl TemplateCatalog for FakeCatalog {
    fn contains(&self, name: &str) -> bool {
        KNOWN_TEMPLATES.contains(&name)
    }

    fn failed_to_load(&self, _: &str) -> bool {
        false
    }

    fn names(&self) -> Vec<String> {
        KNOWN_TEMPLATES.map(str::to_owned).to_vec()
    }

    fn check(&self, name: &str, ctx: StepContext) -> Vec<TemplateProblem> {
        if name != "status/uses-order" || ctx != StepContext::Status {
            return Vec::new();
        }
        vec![TemplateProblem {
            file: PathBuf::from("templates/status/uses-order.en.hbs"),
            line: 3,
            column: 12,
            message: "variable `order_id` is not available in a status template".to_owned(),
            hint: Some(
                "status texts are public: they offer `brand`, `state` and `since`".to_owned(),
            ),
        }]
    }
}

fn validate(relative: &str) -> (Option<Playbook>, Vec<Diagnostic>) {
    let path = fixture(relative);
    playbook::parse(&read(&path), &path, &test_config(), &FakeCatalog)
}

/// The one diagnostic with `code`, checked for place and wording.
fn expect(
    diags: &[Diagnostic],
    code: &str,
    file: &str,
    line: usize,
    column: usize,
    message_part: &str,
) -> Diagnostic {
    let found: Vec<&Diagnostic> = diags.iter().filter(|d| d.code == code).collect();
    let [diag] = found.as_slice() else {
        panic!("expected one `{code}`, got: {diags:#?}")
    };
    assert!(
        diag.file.ends_with(file),
        "file {} is not {file}",
        diag.file.display()
    );
    assert_eq!(
        (diag.line, diag.column),
        (line, column),
        "place of {diag:#?}"
    );
    assert!(
        diag.message.contains(message_part),
        "message {:?} lacks {message_part:?}",
        diag.message
    );
    (*diag).clone()
}

/// Validates playbook text written in the test itself, as `inline.yaml`.
fn validate_text(src: &str) -> (Option<Playbook>, Vec<Diagnostic>) {
    playbook::parse(src, Path::new("inline.yaml"), &test_config(), &FakeCatalog)
}

fn hint(diag: &Diagnostic) -> &str {
    diag.hint.as_deref().unwrap_or_default()
}

#[test]
fn a_clean_playbook_yields_a_fully_populated_model_and_no_diagnostics() {
    let (playbook, diags) = validate("playbooks/clean.yaml");
    assert!(diags.is_empty(), "{diags:#?}");
    let playbook = playbook.unwrap_or_else(|| panic!("clean playbook rejected"));
    assert_eq!(playbook.name, "site-down");
    assert_eq!(playbook.title, "Site outage");
    assert_eq!(playbook.triggers.len(), 5);
    let Trigger::Surge(surge) = &playbook.triggers[0] else {
        panic!("first trigger is a surge")
    };
    assert_eq!(
        (surge.window, surge.hold, surge.sensitivity),
        (
            Duration::from_secs(300),
            Duration::from_secs(120),
            Sensitivity::High
        )
    );
    assert_eq!(surge.accounts, ["acme-main"]);
    let Trigger::Schedule(schedule) = &playbook.triggers[3] else {
        panic!("fourth trigger is a schedule")
    };
    assert_eq!(schedule.timezone, chrono_tz::Europe::Warsaw);
    assert!(matches!(playbook.triggers[4], Trigger::Manual));

    assert_eq!(
        playbook.incident.group_by,
        [GroupKey::Playbook, GroupKey::Label("service".to_owned())]
    );
    assert_eq!(playbook.incident.cooldown, Duration::from_secs(45 * 60));
    assert_eq!(playbook.incident.max_per_hour, 3, "default");
    assert_eq!(
        playbook.incident.auto_resolve_quiet,
        Some(Duration::from_secs(30 * 60))
    );

    let Action::PinStatus(open_pin) = &playbook.on_open[0].action else {
        panic!("on_open starts with pin_status")
    };
    let approval = open_pin
        .approval
        .as_ref()
        .unwrap_or_else(|| panic!("an absent approval means a human approves"));
    assert_eq!(
        (approval.by.as_str(), approval.timeout, approval.then),
        ("commander", Duration::from_secs(600), ApprovalTimeout::Hold)
    );

    let Action::PinStatus(change_pin) = &playbook.on_state_change[0].action else {
        panic!("pin_status")
    };
    assert!(
        change_pin.approval.is_none(),
        "`approval: none` is explicit"
    );
    assert_eq!(
        change_pin.accounts,
        ["acme-main", "acme-bsky"],
        "defaults to the on_open accounts"
    );
    let when = playbook.on_state_change[0]
        .when
        .as_ref()
        .unwrap_or_else(|| panic!("has a condition"));
    assert_eq!(when.states.len(), 2);

    let Action::ReplyDrafts(drafts) = &playbook.on_open[1].action else {
        panic!("reply_drafts")
    };
    assert!(drafts.match_language && !drafts.auto_send);
    let Action::PinStatus(resolve_pin) = &playbook.on_resolve[0].action else {
        panic!("pin_status")
    };
    assert!(resolve_pin.restore_previous);
    assert_eq!(resolve_pin.accounts, ["acme-main", "acme-bsky"]);
}

#[test]
fn a_yaml_syntax_error_is_one_diagnostic_at_the_break() {
    let (playbook, diags) = validate("bad/syntax.yaml");
    assert!(playbook.is_none());
    assert_eq!(diags.len(), 1, "{diags:#?}");
    expect(
        &diags,
        "playbook::syntax",
        "syntax.yaml",
        6,
        11,
        "did not find expected ',' or '}'",
    );
}

#[test]
fn an_unknown_key_is_reported_at_the_key_with_a_did_you_mean() {
    let (playbook, diags) = validate("bad/unknown_key.yaml");
    assert!(playbook.is_none());
    let diag = expect(
        &diags,
        "playbook::unknown-key",
        "unknown_key.yaml",
        3,
        35,
        "unknown key `windw`",
    );
    assert!(hint(&diag).contains("did you mean `window`?"), "{diag:#?}");
}

#[test]
fn a_wrong_type_says_what_was_expected_and_what_was_found() {
    let (_, diags) = validate("bad/wrong_type.yaml");
    expect(
        &diags,
        "playbook::wrong-type",
        "wrong_type.yaml",
        5,
        17,
        "`max_per_hour` must be a whole number",
    );
}

#[test]
fn a_bad_duration_quotes_the_text_and_gives_examples() {
    let (_, diags) = validate("bad/bad_duration.yaml");
    let diag = expect(
        &diags,
        "playbook::bad-duration",
        "bad_duration.yaml",
        3,
        47,
        "`soon` is not a duration",
    );
    assert!(
        hint(&diag).contains("`5m`") && hint(&diag).contains("`1h 30m`"),
        "{diag:#?}"
    );
}

#[test]
fn a_five_field_cron_expression_is_told_about_the_seconds_field() {
    let (_, diags) = validate("bad/bad_cron.yaml");
    let diag = expect(
        &diags,
        "playbook::bad-cron",
        "bad_cron.yaml",
        3,
        22,
        "is not a valid cron expression",
    );
    assert!(hint(&diag).contains("seconds field"), "{diag:#?}");
    assert!(hint(&diag).contains("`0 0 2 * * Sun`"), "{diag:#?}");
}

/// Unix cron counts 0 = Sunday, 1 = Monday; the `cron` crate 1 = Sunday.
/// Numbers would shift every day by one, so only names are read.
#[test]
fn a_schedule_trigger_with_numbered_days_of_the_week_is_refused_with_the_days_by_name() {
    for (cron, hint_part) in [
        (
            "0 0 12 * * 2",
            "`2` means TUE in Unix cron but MON here: write `TUE` (`0 0 12 * * TUE`)",
        ),
        (
            "0 0 9 * * 1-5",
            "`1-5` means MON-FRI in Unix cron but SUN-THU here: write `MON-FRI`",
        ),
        (
            "0 0 12 * * 0",
            "`0` means SUN in Unix cron but no day at all here: write `SUN`",
        ),
    ] {
        let src = format!("name: weekly\ntriggers:\n  - schedule: {{cron: \"{cron}\"}}\n");
        let (playbook, diags) = validate_text(&src);
        let diag = expect(
            &diags,
            "playbook::bad-cron",
            "inline.yaml",
            3,
            22,
            "written in numbers",
        );
        assert!(hint(&diag).contains(hint_part), "{cron}: {diag:#?}");
        assert!(playbook.is_none());
    }
    let (_, diags) =
        validate_text("name: weekly\ntriggers:\n  - schedule: {cron: \"0 9 * * 1-5\"}\n");
    let diag = expect(
        &diags,
        "playbook::bad-cron",
        "inline.yaml",
        3,
        22,
        "not a valid cron",
    );
    assert!(
        hint(&diag).contains("write `0 0 9 * * MON-FRI`"),
        "{diag:#?}"
    );
    for named in [
        "0 0 9 * * MON-FRI",
        "0 0 12 * * Tue",
        "0 0 9 * * */2",
        "0 0 9 * * SAT,SUN",
    ] {
        let src = format!("name: weekly\ntriggers:\n  - schedule: {{cron: \"{named}\"}}\n");
        let (playbook, diags) = validate_text(&src);
        assert!(
            playbook.is_some() && diags.is_empty(),
            "{named}: {diags:#?}"
        );
    }
}

#[test]
fn a_misspelt_time_zone_gets_close_matches() {
    let (_, diags) = validate("bad/bad_timezone.yaml");
    let diag = expect(
        &diags,
        "playbook::bad-timezone",
        "bad_timezone.yaml",
        5,
        17,
        "`Europe/Warsw` is not a known time zone",
    );
    assert!(hint(&diag).contains("Europe/Warsaw"), "{diag:#?}");
}

#[test]
fn an_unknown_account_is_reported_at_its_list_item() {
    let (_, diags) = validate("bad/unknown_account.yaml");
    let diag = expect(
        &diags,
        "playbook::unknown-account",
        "unknown_account.yaml",
        6,
        29,
        "no account named `acme-mian`",
    );
    assert!(
        hint(&diag).contains("did you mean `acme-main`?"),
        "{diag:#?}"
    );
}

#[test]
fn an_unknown_template_is_reported() {
    let (_, diags) = validate("bad/unknown_template.yaml");
    expect(
        &diags,
        "playbook::unknown-template",
        "unknown_template.yaml",
        5,
        48,
        "no template named `notify/opend`",
    );
}

#[test]
fn an_unknown_team_is_reported() {
    let (_, diags) = validate("bad/unknown_team.yaml");
    let diag = expect(
        &diags,
        "playbook::unknown-team",
        "unknown_team.yaml",
        7,
        18,
        "no team named `social-car`",
    );
    assert!(hint(&diag).contains("social-care"));
}

#[test]
fn an_unknown_role_is_reported() {
    let (_, diags) = validate("bad/unknown_role.yaml");
    let diag = expect(
        &diags,
        "playbook::unknown-role",
        "unknown_role.yaml",
        8,
        22,
        "no role named `comander`",
    );
    assert!(hint(&diag).contains("did you mean `commander`?"));
}

#[test]
fn an_unknown_schedule_is_reported() {
    let (_, diags) = validate("bad/unknown_schedule.yaml");
    expect(
        &diags,
        "playbook::unknown-schedule",
        "unknown_schedule.yaml",
        7,
        17,
        "no schedule named `support-hours`",
    );
}

#[test]
fn a_template_variable_missing_from_the_step_context_is_reported_in_the_template_naming_the_step() {
    let (playbook, diags) = validate("bad/template_variable.yaml");
    assert!(playbook.is_none());
    let diag = expect(
        &diags,
        "playbook::template",
        "templates/status/uses-order.en.hbs",
        3,
        12,
        "`order_id`",
    );
    assert!(
        diag.message.contains("pin_status") && diag.message.contains("`template-variable`"),
        "{diag:#?}"
    );
    assert!(
        diag.message.contains("template_variable.yaml:5:5"),
        "names the step's place: {diag:#?}"
    );
}

#[test]
fn pinning_on_an_account_that_cannot_pin_is_only_a_warning() {
    let (playbook, diags) = validate("bad/cannot_pin.yaml");
    let diag = expect(
        &diags,
        "playbook::cannot-pin",
        "cannot_pin.yaml",
        5,
        40,
        "account `acme-x` is on x",
    );
    assert_eq!(diag.severity, Severity::Warning);
    assert!(hint(&diag).contains("posted but not pinned"));
    assert!(!has_errors(&diags));
    assert!(playbook.is_some(), "warnings do not reject a playbook");
}

#[test]
fn a_step_with_two_actions_is_an_error_at_the_second_one() {
    let (playbook, diags) = validate("bad/two_actions.yaml");
    assert!(playbook.is_none());
    expect(
        &diags,
        "playbook::one-per-item",
        "two_actions.yaml",
        6,
        5,
        "two actions, `pin_status` and `notify`",
    );
}

#[test]
fn three_independent_problems_are_all_reported_at_once() {
    let (playbook, diags) = validate("bad/three_problems.yaml");
    assert!(playbook.is_none());
    let mut places: Vec<(usize, usize, &str)> =
        diags.iter().map(|d| (d.line, d.column, d.code)).collect();
    places.sort();
    assert_eq!(
        places,
        [
            (2, 1, "playbook::unknown-key"),
            (4, 38, "playbook::invalid-value"),
            (7, 69, "playbook::invalid-value")
        ],
        "{diags:#?}"
    );
}

#[test]
fn duplicate_playbook_names_across_a_directory_are_reported_on_the_second() {
    let (playbooks, diags) = playbook::load_dir(&[fixture("dupes")], &test_config(), &FakeCatalog);
    assert_eq!(playbooks.len(), 1);
    assert!(playbooks[0].source_file.ends_with("a.yaml"));
    let diag = expect(
        &diags,
        "playbook::duplicate-name",
        "b.yaml",
        2,
        7,
        "already named `site-down`",
    );
    assert!(diag.message.contains("a.yaml"));
}

#[test]
fn credentials_written_inline_are_an_error_that_never_shows_the_secret() {
    let path = fixture("bad/inline_credential.squall.yaml");
    let (_, diags) = config::parse(&read(&path), &path, &no_env);
    let diag = expect(
        &diags,
        "config::inline-credential",
        "inline_credential.squall.yaml",
        7,
        14,
        "credential `token` of account `acme-main`",
    );
    assert!(hint(&diag).contains("put the secret in an environment variable and give its name"));
    let human = render_human_with(
        &diags,
        &|p| std::fs::read_to_string(p).ok(),
        RenderOptions::PLAIN,
    );
    let json = render_json(&diags);
    for secret in ["sk-live-5up3r-s3cr3t", "5up3r"] {
        assert!(!human.contains(secret), "{human}");
        assert!(!json.contains(secret), "{json}");
    }
    assert!(
        human.contains("inline_credential.squall.yaml:7:14"),
        "{human}"
    );
}

#[test]
fn rendered_output_shows_file_line_column_snippet_hint_and_summary() {
    let (_, mut diags) = validate("bad/unknown_key.yaml");
    diags.extend(validate("bad/cannot_pin.yaml").1);
    let sources = |p: &Path| std::fs::read_to_string(p).ok();
    let plain = render_human_with(&diags, &sources, RenderOptions::PLAIN);
    assert!(plain.contains("unknown_key.yaml:3:35"), "{plain}");
    assert!(
        plain.contains("windw: 5m"),
        "the snippet shows the line: {plain}"
    );
    assert!(plain.contains("did you mean `window`?"), "{plain}");
    assert!(plain.contains("cannot_pin.yaml:5:40"), "{plain}");
    assert!(plain.trim_end().ends_with("1 error, 1 warning"), "{plain}");
    let detected = strip_ansi(&render_human(&diags, &sources));
    assert!(detected.contains("unknown_key.yaml:3:35"), "{detected}");
}

#[test]
fn json_output_is_one_array_with_every_field() {
    let (_, diags) = validate("bad/unknown_key.yaml");
    let json: serde_json::Value = serde_json::from_str(&render_json(&diags)).unwrap_or_default();
    let first = &json[0];
    assert_eq!(first["severity"], "error");
    assert_eq!(first["code"], "playbook::unknown-key");
    assert_eq!(
        (first["line"].as_u64(), first["column"].as_u64()),
        (Some(3), Some(35))
    );
    assert!(first["file"]
        .as_str()
        .is_some_and(|f| f.ends_with("unknown_key.yaml")));
    assert!(first["hint"].as_str().is_some_and(|h| h.contains("window")));
}

#[test]
fn the_config_is_read_with_defaults_and_environment_overrides() {
    let env: HashMap<&str, &str> = HashMap::from([
        ("SQUALL_STORE", "sqlite::memory:"),
        ("SQUALL_BRAND_NAME", "Acme Corp"),
    ]);
    let lookup = |name: &str| env.get(name).map(|v| (*v).to_owned());
    let path = fixture("squall.yaml");
    let (config, diags) = config::parse(&read(&path), &path, &lookup);
    assert!(diags.is_empty(), "{diags:#?}");
    let config = config.unwrap_or_else(|| panic!("config rejected"));
    assert_eq!(config.store_url, "sqlite::memory:");
    assert_eq!(config.brand.name, "Acme Corp");
    assert_eq!(config.playbooks_dir, fixture("playbooks"));
    assert_eq!(config.staff["ana"].capacity, 10);
    assert_eq!(config.staff["yuki"].capacity, 5);
    assert_eq!(config.staff["bo"].email, None);
    assert_eq!(config.teams["social-care"].members, ["ana", "yuki"]);
    assert_eq!(
        config.accounts["acme-main"].credentials["token"],
        "ACME_MASTODON_TOKEN"
    );
}

#[test]
fn without_a_config_file_squall_runs_on_the_embedded_default() {
    let (config, diags) = config::load(None, &no_env);
    assert!(diags.is_empty());
    let config = config.unwrap_or_else(|| panic!("embedded default"));
    assert_eq!(config.brand.name, "squall demo");
    assert!(config.accounts.is_empty());
    assert_eq!(config.store_url, "sqlite://squall.db?mode=rwc");
}

#[test]
fn config_references_to_unknown_staff_are_reported_with_their_place() {
    let src = "staff:\n  ana: {name: Ana}\nteams:\n  care: {members: [ana, anna]}\nroles:\n  commander: [bob]\n";
    let (config, diags) = config::parse(src, Path::new("squall.yaml"), &no_env);
    let mut places: Vec<(usize, usize, &str)> =
        diags.iter().map(|d| (d.line, d.column, d.code)).collect();
    places.sort();
    assert_eq!(
        places,
        [
            (4, 25, "config::unknown-staff"),
            (6, 15, "config::unknown-staff")
        ],
        "{diags:#?}"
    );
    let config = config.unwrap_or_else(|| panic!("partial config"));
    assert_eq!(
        config.teams["care"].members,
        ["ana"],
        "dangling references are dropped"
    );
}

/// Removes ANSI colour sequences, in case the test runs at a terminal.
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn a_surge_debounce_is_a_duration_checked_like_any_other() {
    let (_, diags) = validate("bad/bad_debounce.yaml");
    expect(
        &diags,
        "playbook::bad-duration",
        "bad_debounce.yaml",
        3,
        63,
        "`a while` is not a duration",
    );
}

#[test]
fn an_unknown_pin_limit_policy_is_reported_at_its_value() {
    let (_, diags) = validate("bad/at_pin_limit.yaml");
    let diag = expect(
        &diags,
        "playbook::invalid-value",
        "at_pin_limit.yaml",
        5,
        99,
        "sometimes",
    );
    assert!(
        hint(&diag).contains("unpin_oldest") && hint(&diag).contains("fail"),
        "{diag:#?}"
    );
}

#[test]
fn a_webhook_field_map_takes_json_pointers_and_only_for_webhooks() {
    let (_, diags) = validate("bad/bad_alert_map.yaml");
    let found: Vec<(usize, &str)> = diags.iter().map(|d| (d.line, d.message.as_str())).collect();
    assert_eq!(found.len(), 2, "{diags:#?}");
    assert_eq!(found[0].0, 3);
    assert!(
        found[0].1.contains("`state` is not a JSON Pointer"),
        "{found:?}"
    );
    assert!(hint(&diags[0]).contains("/rule/name"), "{diags:#?}");
    assert_eq!(found[1].0, 4);
    assert!(found[1].1.contains("only a `source: webhook`"), "{found:?}");
}

#[test]
fn an_account_api_root_language_and_status_page_url_are_checked_where_they_are_written() {
    let src = "accounts:\n  a: {platform: mastodon, handle: h, base_url: ftp://x, language: Polish}\n  s: {platform: statuspage, handle: s}\n";
    let (_, diags) = config::parse(src, Path::new("squall.yaml"), &no_env);
    let found: Vec<(usize, usize, &str)> =
        diags.iter().map(|d| (d.line, d.column, d.code)).collect();
    assert_eq!(
        found,
        [
            (2, 48, "config::invalid-value"),
            (2, 67, "config::invalid-value"),
            (3, 3, "config::missing-key")
        ],
        "{diags:#?}"
    );
    assert!(diags[2]
        .message
        .contains("statuspage account `s` has no `base_url`"));
}

#[test]
fn the_schemas_offer_the_adapter_settings() {
    let p = squall::schema::playbook_schema().to_string();
    let c = squall::schema::config_schema().to_string();
    assert!(p.contains("at_pin_limit") && p.contains("unpin_oldest"));
    assert!(c.contains("base_url") && c.contains("\"language\""));
}

#[test]
fn a_pin_limit_policy_outside_the_opening_step_is_a_warning_that_it_does_nothing() {
    let (playbook, diags) = validate("bad/at_pin_limit_on_resolve.yaml");
    let diag = expect(
        &diags,
        "playbook::ignored-setting",
        "at_pin_limit_on_resolve.yaml",
        7,
        56,
        "no effect here",
    );
    assert_eq!(diag.severity, Severity::Warning);
    assert!(playbook.is_some() && !has_errors(&diags), "{diags:#?}");
}

#[test]
fn unknown_off_hours_templates_are_reported_at_the_reply_and_at_the_note() {
    let src = "\
schedules:
  desk: {timezone: Europe/Warsaw, weekly: {mon-fri: [\"09:00-17:00\"]}}
accounts:
  help:
    platform: mastodon
    handle: \"@help@mastodon.social\"
    off_hours: {schedule: desk, template: autoreply/site-down, note: autoreply/nope}
  main:
    platform: mastodon
    handle: \"@main@mastodon.social\"
    off_hours: {schedule: desk, template: autoreply/missing, public_mentions: true}
";
    let file = Path::new("squall.yaml");
    let (config, diags) = config::parse(src, file, &no_env);
    assert!(diags.is_empty(), "{diags:#?}");
    let config = config.unwrap_or_else(|| panic!("config"));
    let help = config.accounts["help"].off_hours.clone();
    assert_eq!(
        help.map(|o| (o.note, o.public_mentions)),
        Some((Some("autoreply/nope".to_string()), false))
    );
    let diags = config::check_templates(&config, src, file, &FakeCatalog);
    let mut places: Vec<(usize, &str)> = diags.iter().map(|d| (d.line, d.code)).collect();
    places.sort();
    assert_eq!(
        places,
        [
            (7, "config::unknown-template"),
            (11, "config::unknown-template")
        ],
        "{diags:#?}"
    );
}

#[test]
fn a_second_opening_pin_status_is_an_error_asking_for_all_accounts_in_one() {
    let (playbook, diags) = validate_text(
        "\
name: site-down
triggers: [{manual: {}}]
on_open:
  - pin_status: {accounts: [acme-main], template: status/site-down}
  - notify: {to: [\"role:commander\"], template: notify/opened}
  - pin_status: {accounts: [acme-bsky], template: status/site-down}
on_state_change:
  - pin_status: {template: status/site-down}
    when: {states: [mitigated]}
",
    );
    let diag = expect(
        &diags,
        "playbook::second-status",
        "inline.yaml",
        6,
        5,
        "a second `pin_status` in `on_open`",
    );
    assert!(
        hint(&diag).contains("list every account in the first one (on_open #1)")
            && hint(&diag).contains("one text per incident, approved once"),
        "{diag:#?}"
    );
    assert!(playbook.is_none());
}

/// One case of a duration's bounds: the settings, then where the problem
/// is (line) and words of its message and hint; `None` when accepted.
struct Bounds {
    incident: &'static str,
    approval: &'static str,
    sla: &'static str,
    refused: Option<(usize, &'static str, &'static str)>,
}

#[test]
fn durations_are_at_most_a_year_and_timers_that_repeat_or_page_at_least_a_minute() {
    let shorter = "is shorter than a minute";
    let longer = "is longer than a year";
    let cases = [
        Bounds {
            incident: "{stale_after: 1ms}",
            approval: "none",
            sla: "15m",
            refused: Some((3, shorter, "write at least `1m`: the commander is reminded")),
        },
        Bounds {
            incident: "{}",
            approval: "{timeout: 1ms, then: hold}",
            sla: "15m",
            refused: Some((5, shorter, "approvers are reminded that often")),
        },
        Bounds {
            incident: "{}",
            approval: "{timeout: 1ms}",
            sla: "15m",
            refused: Some((5, shorter, "with `then: hold`")),
        },
        Bounds {
            incident: "{}",
            approval: "none",
            sla: "30s",
            refused: Some((6, shorter, "reassigned and `escalate_to` is told")),
        },
        Bounds {
            incident: "{}",
            approval: "none",
            sla: "300000y",
            refused: Some((6, longer, "write at most `1y`")),
        },
        Bounds {
            incident: "{stale_after: 300000y}",
            approval: "none",
            sla: "15m",
            refused: Some((3, longer, "write at most `1y`")),
        },
        Bounds {
            incident: "{}",
            approval: "{timeout: 300000y, then: post}",
            sla: "15m",
            refused: Some((5, longer, "write at most `1y`")),
        },
        Bounds {
            incident: "{auto_resolve: {quiet: 10s}}",
            approval: "none",
            sla: "15m",
            refused: Some((3, shorter, "one-minute buckets")),
        },
        Bounds {
            incident: "{cooldown: 0s}",
            approval: "none",
            sla: "15m",
            refused: Some((3, "is not longer than zero", "`5m`")),
        },
        // The edges, and a time-out that posts: it fires once.
        Bounds {
            incident: "{stale_after: 1m, cooldown: 1y, auto_resolve: {quiet: 1y}}",
            approval: "{timeout: 1s, then: post}",
            sla: "1y",
            refused: None,
        },
        Bounds {
            incident: "{}",
            approval: "{timeout: 1m, then: hold}",
            sla: "1m",
            refused: None,
        },
    ];
    for case in cases {
        let src = format!(
            "\
name: timers
triggers: [{{surge: {{window: 5m, for: 0s, debounce: 0s}}}}, {{manual: {{}}}}]
incident: {}
on_open:
  - pin_status: {{accounts: [acme-main], template: status/site-down, approval: {}}}
  - reply_drafts: {{template: drafts/site-down, to: {{team: social-care}}, sla: {}}}
",
            case.incident, case.approval, case.sla
        );
        let (playbook, diags) = validate_text(&src);
        let found: Vec<&Diagnostic> = diags
            .iter()
            .filter(|d| d.code == "playbook::bad-duration")
            .collect();
        match case.refused {
            None => assert!(playbook.is_some() && found.is_empty(), "{src}\n{diags:#?}"),
            Some((line, message, hint_part)) => {
                let [diag] = found.as_slice() else {
                    panic!("one bad-duration expected in\n{src}\n{diags:#?}")
                };
                assert_eq!(diag.line, line, "{src}\n{diag:#?}");
                assert!(diag.message.contains(message), "{src}\n{diag:#?}");
                assert!(hint(diag).contains(hint_part), "{src}\n{diag:#?}");
            }
        }
    }
}

#[test]
fn a_surge_window_is_at_least_a_minute_because_mentions_are_counted_by_the_minute() {
    let (_, diags) = validate_text("name: surge\ntriggers:\n  - surge: {window: 30s}\n");
    let diag = expect(
        &diags,
        "playbook::bad-duration",
        "inline.yaml",
        3,
        21,
        "`30s` is shorter than a minute",
    );
    assert!(hint(&diag).contains("one-minute buckets"), "{diag:#?}");
}

#[test]
fn every_problem_inside_one_step_is_reported_not_only_the_first() {
    let src = "\
name: many
triggers: [{manual: {}}]
on_open:
  - pin_status:
      acounts: [acme-main]
      approval: {by: commander, then: hld}
      template: [status/site-down]
  - notify: {to: {team: social-care}, templat: ops/x}
";
    let (playbook, diags) = validate_text(src);
    assert!(playbook.is_none());
    let found: Vec<(usize, usize, &str)> =
        diags.iter().map(|d| (d.line, d.column, d.code)).collect();
    assert_eq!(
        found,
        [
            (5, 7, "playbook::unknown-key"),
            (6, 39, "playbook::invalid-value"),
            (7, 17, "playbook::wrong-type"),
            (8, 18, "playbook::wrong-type"),
            (8, 39, "playbook::unknown-key"),
        ],
        "{diags:#?}"
    );
}

#[test]
fn a_surge_window_is_at_most_a_day_instead_of_being_cut_to_one_silently() {
    let (_, diags) = validate_text("name: surge\ntriggers:\n  - surge: {window: 36h}\n");
    let diag = expect(
        &diags,
        "playbook::bad-duration",
        "inline.yaml",
        3,
        21,
        "a surge window of 1day 12h is longer than a day",
    );
    assert!(hint(&diag).contains("at most `24h`"), "{diag:#?}");
    let (playbook, diags) = validate_text("name: surge\ntriggers:\n  - surge: {window: 24h}\n");
    assert!(playbook.is_some() && diags.is_empty(), "{diags:#?}");
}

#[test]
fn the_digest_period_in_the_config_is_bounded_like_a_playbook_timer() {
    for (period, message, hint_part) in [
        ("1s", "shorter than a minute", "digest e-mail"),
        ("300000y", "longer than a year", "at most `1y`"),
        ("soon", "is not a duration", "`5m`"),
    ] {
        let src = format!("notify: {{digest_every: {period}}}\n");
        let (_, diags) = config::parse(&src, Path::new("squall.yaml"), &no_env);
        let [diag] = diags.as_slice() else {
            panic!("{period}: {diags:#?}")
        };
        assert_eq!(diag.severity, Severity::Error);
        assert_eq!((diag.line, diag.column), (1, 24), "{diag:#?}");
        assert!(diag.message.contains(message), "{diag:#?}");
        assert!(hint(diag).contains(hint_part), "{diag:#?}");
    }
}

#[test]
fn a_condition_on_a_state_the_incident_is_never_in_there_is_a_warning() {
    let (playbook, diags) = validate_text(
        "\
name: states
triggers: [{manual: {}}]
on_open:
  - notify: {to: [\"role:commander\"], template: notify/opened}
    when: {states: [open, acknowledged]}
on_state_change:
  - notify: {to: [\"role:commander\"], template: notify/opened}
    when: {states: [resolved]}
  - notify: {to: [\"role:commander\"], template: notify/opened}
    when: {states: [open]}
  - notify: {to: [\"role:commander\"], template: notify/opened}
    when: {states: [acknowledged, mitigated]}
on_resolve:
  - notify: {to: [\"role:commander\"], template: notify/opened}
    when: {states: [mitigated]}
",
    );
    let found: Vec<(usize, usize, Severity)> = diags
        .iter()
        .map(|d| {
            assert_eq!(d.code, "playbook::never-runs", "{d:#?}");
            (d.line, d.column, d.severity)
        })
        .collect();
    assert_eq!(
        found,
        [
            (5, 27, Severity::Warning),
            (8, 21, Severity::Warning),
            (10, 21, Severity::Warning),
            (15, 21, Severity::Warning),
        ],
        "{diags:#?}"
    );
    assert!(diags[0]
        .message
        .contains("never `acknowledged` when its `on_open` steps run"));
    assert!(hint(&diags[0]).contains("belongs in `on_state_change`"));
    assert!(hint(&diags[1]).contains("belongs in `on_resolve`"));
    assert!(hint(&diags[2]).contains("belongs in `on_open`"));
    assert!(playbook.is_some());
}

#[test]
fn the_cannot_pin_warning_points_at_the_account_that_cannot_pin_even_after_an_unknown_one() {
    let (_, diags) = validate_text(
        "\
name: site-down
triggers: [{manual: {}}]
on_open:
  - pin_status: {accounts: [acme-mian, acme-x], template: status/site-down}
",
    );
    expect(
        &diags,
        "playbook::unknown-account",
        "inline.yaml",
        4,
        29,
        "`acme-mian`",
    );
    let diag = expect(
        &diags,
        "playbook::cannot-pin",
        "inline.yaml",
        4,
        40,
        "`acme-x`",
    );
    assert_eq!(diag.severity, Severity::Warning);
}

#[test]
fn infinite_thresholds_are_refused_as_not_finite() {
    let (_, diags) = validate_text(
        "\
name: surge
triggers:
  - surge: {thresholds: {sigmas: .inf, min_count: 5, min_ratio: .inf}}
",
    );
    let messages: Vec<&str> = diags.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "`sigmas` must be a finite number greater than 0, found inf",
            "`min_ratio` must be a finite number, at least 1.0, found inf",
        ],
        "{diags:#?}"
    );
}

/// A playbooks directory laid out by hand: `(path, name)` pairs.
fn playbook_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    for (path, name) in files {
        let file = dir.path().join(path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{path}: {e}"));
        }
        let src = format!("name: {name}\ntriggers: [{{manual: {{}}}}]\n");
        std::fs::write(&file, src).unwrap_or_else(|e| panic!("{path}: {e}"));
    }
    dir
}

fn names(playbooks: &[Playbook]) -> Vec<&str> {
    playbooks.iter().map(|p| p.name.as_str()).collect()
}

#[test]
fn playbooks_are_found_in_folders_below_and_by_any_case_of_yaml_or_yml() {
    let dir = playbook_dir(&[
        ("a.yaml", "a"),
        ("b.YAML", "b"),
        ("c.Yml", "c"),
        ("sub/d.yaml", "d"),
        ("sub/deeper/e.yml", "e"),
        ("notes.txt", "not-a-playbook"),
        (".github/workflows/ci.yml", "hidden"),
    ]);
    let (playbooks, diags) =
        playbook::load_dir(&[dir.path().to_path_buf()], &test_config(), &FakeCatalog);
    assert!(diags.is_empty(), "{diags:#?}");
    assert_eq!(names(&playbooks), ["a", "b", "c", "d", "e"]);
}

#[test]
fn a_file_named_twice_or_also_inside_a_named_folder_is_read_once() {
    let dir = playbook_dir(&[("t.yaml", "t"), ("sub/u.yaml", "u")]);
    let (playbooks, diags) = playbook::load_dir(
        &[
            dir.path().to_path_buf(),
            dir.path().join("t.yaml"),
            dir.path().join("sub/../t.yaml"),
            dir.path().join("sub"),
        ],
        &test_config(),
        &FakeCatalog,
    );
    assert!(diags.is_empty(), "no duplicate of itself: {diags:#?}");
    assert_eq!(names(&playbooks), ["u", "t"]);
}

#[test]
fn a_playbooks_folder_without_a_playbook_is_a_warning() {
    let dir = playbook_dir(&[("README.md", "x"), (".hidden/x.yaml", "x")]);
    let (playbooks, diags) =
        playbook::load_dir(&[dir.path().to_path_buf()], &test_config(), &FakeCatalog);
    assert!(playbooks.is_empty());
    let [diag] = diags.as_slice() else {
        panic!("{diags:#?}")
    };
    assert_eq!(
        (diag.code, diag.severity),
        ("playbook::none-found", Severity::Warning)
    );
    assert_eq!(diag.file, dir.path());
    assert!(hint(diag).contains("`.yaml` or `.yml` files in this directory or below it"));
    assert!(!has_errors(&diags));
}

// ---- Templates as `squall validate` meets them: the real template set,
// loaded from files, with the step that uses each template. ----

/// A project as `squall validate` sees it: the test config, `templates/`
/// holding `files` (path, text), and a playbook `t` whose only step is
/// `step`. Returns the directory and every diagnostic.
fn validate_project(files: &[(&str, &str)], step: &str) -> (tempfile::TempDir, Vec<Diagnostic>) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let write = |relative: &str, text: &str| {
        let path = dir.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap_or(dir.path()))
            .unwrap_or_else(|e| panic!("{relative}: {e}"));
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{relative}: {e}"));
    };
    write("squall.yaml", &read(&fixture("squall.yaml")));
    for (path, text) in files {
        write(&format!("templates/{path}"), text);
    }
    write(
        "playbooks/t.yaml",
        &format!("name: t\ntriggers: [{{manual: {{}}}}]\non_open:\n  - {step}\n"),
    );
    let loaded = squall::setup::load(Some(&dir.path().join("squall.yaml")), &[]);
    (dir, loaded.diagnostics)
}

#[test]
fn a_status_template_longer_than_a_post_on_one_of_its_accounts_is_a_warning_naming_it() {
    // 150 characters: fits Mastodon (500) and Bluesky (300), not X (280)
    // once X weighs each Japanese character as two.
    let ja = "障害が発生しています。".repeat(15);
    let (_dir, diags) = validate_project(
        &[("x/s.en.hbs", &ja)],
        "pin_status: {accounts: [acme-main, acme-bsky, acme-x], template: x/s}",
    );
    let too_long: Vec<&Diagnostic> = diags
        .iter()
        .filter(|d| d.code == "playbook::status-too-long")
        .collect();
    let [diag] = too_long.as_slice() else {
        panic!("one warning expected: {diags:#?}")
    };
    assert_eq!(diag.severity, squall::diagnostics::Severity::Warning);
    assert!(
        diag.message
            .ends_with("is longer than one post on acme-x (x, en: 330 of 280)"),
        "{diag:#?}"
    );
    assert_eq!((diag.line, diag.column), (4, 70), "at the template's name");
    let (_dir, diags) = validate_project(
        &[("x/s.en.hbs", "The site is down. {{brand.status_page}}")],
        "pin_status: {accounts: [acme-main, acme-bsky, acme-x], template: x/s}",
    );
    assert!(
        diags.iter().all(|d| d.code != "playbook::status-too-long"),
        "{diags:#?}"
    );
}

const STATUS_STEP: &str = "pin_status: {accounts: [acme-main], template: x/s, approval: none}";
const WEBHOOK_STEP: &str = "webhook: {url: \"https://status.example/api\", template: x/s}";

/// The one diagnostic `code` at `line:column` of template file `x/s.en.hbs`,
/// whose message and hint contain the given parts.
fn expect_in_template(
    diags: &[Diagnostic],
    code: &str,
    (line, column): (usize, usize),
    message_part: &str,
    hint_part: &str,
    case: &str,
) {
    let [diag] = diags else {
        panic!("{case}: expected one diagnostic, got {diags:#?}")
    };
    assert_eq!(diag.code, code, "{case}: {diag:#?}");
    assert!(
        diag.file.ends_with("templates/x/s.en.hbs"),
        "{case}: {diag:#?}"
    );
    assert_eq!(
        (diag.line, diag.column),
        (line, column),
        "{case}: {diag:#?}"
    );
    assert!(diag.message.contains(message_part), "{case}: {diag:#?}");
    assert!(hint(diag).contains(hint_part), "{case}: {diag:#?}");
}

#[test]
fn a_template_that_would_fail_when_its_step_renders_it_fails_validate_where_it_breaks() {
    // (template, line and column, message, hint)
    let cases = [
        ("{{truncate incident.title}}", (1, 3), "`truncate` takes 2 arguments, not 1", "`{{truncate text 80}}`"),
        ("ETA: {{default incident.eta}}", (1, 8), "`default` takes 2 arguments, not 1", "`{{default x \"fallback\"}}`"),
        ("{{upper}}", (1, 3), "`upper` takes 1 argument, not 0", "`{{upper x}}`"),
        ("{{shout incident.title}}", (1, 3), "`shout` is not a helper", "`upper`"),
        ("{{uper incident.title}}", (1, 3), "`uper` is not a helper", "did you mean `upper`?"),
        ("Hi.\n{{> footer}}", (2, 5), "`{{> footer}}` includes a partial", "write the text into this file"),
        ("{{#with incident}}{{titel}}{{/with}}", (1, 21), "`titel` is not available in a status template: inside `{{#with incident}}` it means `incident.titel`", "did you mean `title`?"),
        ("{{#with incident}}{{brand.name}}{{/with}}", (1, 21), "inside `{{#with incident}}` it means `incident.brand.name`", "`@root.brand.name`"),
        ("{{#each brand}}{{nmae}}{{/each}}", (1, 18), "`nmae` is not available in a status template: inside `{{#each brand}}`", "`{{this}}` is the item"),
        ("{{#incident}}{{title}}{{/incident}}", (1, 4), "`{{#incident}}` opens a section over a variable", "`{{#with incident}}…{{/with}}`"),
        ("{{#iff incident.eta}}soon{{/iff}}", (1, 4), "`{{#iff}}` is not a block helper", "did you mean `{{#if}}`?"),
        ("{{lookup brand \"nmae\"}}", (1, 17), "`brand.nmae` is not available in a status template", "did you mean `brand.name`?"),
        ("Status of {{brand}}", (1, 13), "`brand` is an object: printed, it comes out as `[object]`", "`brand.name`"),
        // Branches the sample data does not take are checked all the same.
        ("{{#unless incident.eta}}{{truncate incident.title}}{{/unless}}", (1, 27), "`truncate` takes 2 arguments", "`{{truncate text 80}}`"),
        // What only data shows: found by rendering with the sample data.
        ("{{truncate incident.title \"short\"}}", (1, 1), "truncate", "`{{truncate text 80}}`"),
    ];
    for (template, place, message, fix) in cases {
        let (_dir, diags) = validate_project(&[("x/s.en.hbs", template)], STATUS_STEP);
        expect_in_template(&diags, "playbook::template", place, message, fix, template);
        assert!(
            diags[0].message.contains("used by the `pin_status` step"),
            "{template}: {diags:#?}"
        );
    }
}

#[test]
fn templates_that_render_are_not_flagged() {
    let template = "{{#with incident}}{{title}} ({{@root.brand.name}}){{/with}} \
                    {{#each brand}}{{@key}}={{this}} {{/each}}{{lookup brand \"name\"}} \
                    {{#if (eq incident.phase \"resolved\")}}{{upper incident.title}}{{else}}\
                    {{truncate incident.update 40}} {{default incident.eta \"soon\"}}{{/if}}";
    let (_dir, diags) = validate_project(&[("x/s.en.hbs", template)], STATUS_STEP);
    assert!(diags.is_empty(), "{diags:#?}");
}

#[test]
fn a_webhook_body_that_is_not_json_fails_validate_at_the_place_that_breaks_it() {
    // (body template, line and column, hint)
    let cases = [
        (
            "{\"state\": {{incident.state}}}",
            (1, 11),
            "`{{incident.state}}` gives `acknowledged` with the sample data, which is not a JSON value here: put it inside quotes, `\"{{incident.state}}\"`",
        ),
        (
            "{\"state\": \"{{incident.state}}\"",
            (1, 31),
            "the body ends before its JSON does",
        ),
        (
            "{\"state\": \"{{incident.state}}\",\n \"final\": tru}",
            (2, 14),
            "`{\"state\": \"acknowledged\", \"final\": tru}`",
        ),
    ];
    for (body, place, fix) in cases {
        let (_dir, diags) = validate_project(&[("x/s.en.hbs", body)], WEBHOOK_STEP);
        expect_in_template(
            &diags,
            "playbook::template",
            place,
            "the webhook body is not JSON",
            fix,
            body,
        );
    }
    // Only a webhook body must be JSON; values are escaped for it.
    let (_dir, diags) = validate_project(
        &[("x/s.en.hbs", "{\"state\": {{incident.state}}")],
        STATUS_STEP,
    );
    assert!(diags.is_empty(), "a status text is text: {diags:#?}");
    let body = "{\"title\": \"{{incident.title}}\", \"update\": \"{{incident.update}}\", \"waiting\": {{#if incident.eta}}true{{else}}false{{/if}}}";
    let (_dir, diags) = validate_project(&[("x/s.en.hbs", body)], WEBHOOK_STEP);
    assert!(diags.is_empty(), "{diags:#?}");
}

#[test]
fn a_template_name_that_exists_nowhere_gets_a_hint_that_fixes_it() {
    // (what the step names, hint)
    let cases = [
        (
            "x/s.en.hbs",
            "write `x/s`: templates are named without their language and `.hbs`",
        ),
        ("x/s.hbs", "write `x/s`"),
        ("x/ss", "did you mean `x/s`?"),
        ("x/zz.en.hbs", "there is no `x/zz` either"),
        ("y/new", "create `"),
    ];
    for (named, fix) in cases {
        let step =
            format!("pin_status: {{accounts: [acme-main], template: {named}, approval: none}}");
        let (_dir, diags) =
            validate_project(&[("x/s.en.hbs", "fine"), ("x/s.pl.hbs", "dobrze")], &step);
        let [diag] = diags.as_slice() else {
            panic!("{named}: {diags:#?}")
        };
        assert_eq!(diag.code, "playbook::unknown-template", "{named}");
        assert!(diag.file.ends_with("playbooks/t.yaml"), "{diag:#?}");
        assert!(hint(diag).contains(fix), "{named}: {diag:#?}");
        assert!(!hint(diag).contains("<language>.hbs"), "{named}: {diag:#?}");
    }
    let (dir, diags) = validate_project(
        &[("x/s.en.hbs", "fine")],
        "pin_status: {accounts: [acme-main], template: y/new, approval: none}",
    );
    let expected = dir.path().join("templates/y/new.en.hbs");
    assert!(
        hint(&diags[0]).contains(&format!("create `{}`", expected.display())),
        "{diags:#?}"
    );
}

#[test]
fn a_template_that_does_not_compile_is_reported_once_at_its_file_and_not_again_where_it_is_used() {
    let broken = "Hi {{#if incident.eta}}soon";
    for files in [
        &[("x/s.en.hbs", broken)][..],
        &[("x/s.en.hbs", broken), ("x/s.pl.hbs", "Dzień dobry")],
    ] {
        let (_dir, diags) = validate_project(files, STATUS_STEP);
        let [diag] = diags.as_slice() else {
            panic!("{files:?}: {diags:#?}")
        };
        assert_eq!(diag.code, "template::invalid", "{diag:#?}");
        assert!(diag.file.ends_with("templates/x/s.en.hbs"), "{diag:#?}");
        assert_eq!((diag.line, diag.column), (1, 4), "{diag:#?}");
    }
}
