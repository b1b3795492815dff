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
