//! The documentation that is generated from code stays in step with it.

#[test]
fn the_template_variable_reference_matches_what_the_code_offers() {
    let committed =
        std::fs::read_to_string("docs/template-variables.md").expect("docs/template-variables.md");
    assert_eq!(
        committed,
        squall::templates::reference_markdown(),
        "run `squall reference > docs/template-variables.md`"
    );
}

#[test]
fn every_timeline_kind_the_readme_promises_exists() {
    let readme = std::fs::read_to_string("README.md").expect("README.md");
    for kind in [
        "surge_detected",
        "incident_opened",
        "status_posted",
        "pinned",
        "unpinned",
        "pin_restored",
        "autoresponder_enabled",
        "draft_created",
        "draft_assigned",
        "draft_sent",
        "incident_resolved",
    ] {
        assert!(readme.contains(kind), "README does not mention {kind}");
        let v = serde_json::Value::String(kind.to_string());
        let parsed: Result<squall::engine::events::EventKind, _> = serde_json::from_value(v);
        assert!(parsed.is_ok(), "{kind} is not an event kind");
    }
}

#[test]
fn the_json_schemas_describe_playbooks_and_config() {
    let p = squall::schema::playbook_schema();
    let c = squall::schema::config_schema();
    assert!(p.to_string().contains("pin_status") && p.to_string().contains("surge"));
    assert!(c.to_string().contains("accounts") && c.to_string().contains("timezone"));
}

/// Every action a rehearsal stream may hold, one of each. The `match` makes
/// a new kind of command a compile error here until it is listed (and
/// documented).
fn every_rehearsal_action() -> Vec<squall::engine::input::CommandKind> {
    use squall::engine::input::CommandKind::{self, *};
    let incident = || "site-down".to_owned();
    let all = vec![
        Declare {
            playbook: incident(),
            note: None,
        },
        Acknowledge {
            incident: incident(),
        },
        SetState {
            incident: incident(),
            state: squall::playbook::IncidentState::Mitigated,
        },
        Update {
            incident: incident(),
            note: None,
            eta: None,
        },
        EditStatus {
            incident: incident(),
            text: "text".into(),
        },
        ApproveStatus {
            incident: incident(),
            text: None,
        },
        ApproveDraft {
            draft: 1,
            text: None,
        },
        DiscardDraft {
            draft: 1,
            reason: "duplicate".into(),
        },
        ClaimDraft { draft: 1 },
        EditDraft {
            draft: 1,
            text: "text".into(),
        },
        Resolve {
            incident: incident(),
            note: None,
        },
    ];
    for kind in &all {
        match kind {
            Declare { .. }
            | Acknowledge { .. }
            | SetState { .. }
            | Update { .. }
            | EditStatus { .. }
            | ApproveStatus { .. }
            | ApproveDraft { .. }
            | DiscardDraft { .. }
            | ClaimDraft { .. }
            | EditDraft { .. }
            | Resolve { .. } => {}
        }
    }
    let _: &[CommandKind] = &all;
    all
}

#[test]
fn every_rehearsal_action_is_in_the_table_of_docs_mentions() {
    let doc = std::fs::read_to_string("docs/mentions.md").expect("docs/mentions.md");
    for kind in every_rehearsal_action() {
        let json = serde_json::to_value(&kind).expect("a command serialises");
        let action = json["action"].as_str().expect("tagged by `action`");
        assert!(
            doc.contains(&format!("| `{action}` |")),
            "docs/mentions.md has no row for `{action}`"
        );
    }
}

/// Every `squall ...` command that the schemas' descriptions (what editors
/// show) tell people to run exists on the command line. (`squall demo` is
/// the default brand name, not a command.)
#[test]
fn the_commands_the_schemas_mention_exist() {
    use clap::Parser;
    let text = format!(
        "{}{}",
        squall::schema::playbook_schema(),
        squall::schema::config_schema()
    );
    let mentioned: Vec<&str> = text
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|quoted| {
            *quoted != squall::config::DEFAULT_BRAND
                && quoted
                    .strip_prefix("squall ")
                    .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_lowercase()))
        })
        .collect();
    assert!(!mentioned.is_empty());
    for command in mentioned {
        let words = command.split_whitespace().chain(["--help"]);
        let kind = squall::cli::Cli::try_parse_from(words).map_err(|e| e.kind());
        assert_eq!(
            kind.err(),
            Some(clap::error::ErrorKind::DisplayHelp),
            "`{command}` is not a squall command"
        );
    }
}

#[test]
fn the_schema_says_auto_send_sends_each_draft_at_once() {
    let schema = squall::schema::playbook_schema().to_string();
    let start = schema.find("Approve and send every draft at once");
    assert!(
        start.is_some() && !schema.contains("once the SLA passes"),
        "auto_send approves and sends a draft as soon as it is drafted"
    );
}
