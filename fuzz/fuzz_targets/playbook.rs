//! Playbook text through the parser and validator `squall validate` runs
//! (`playbook::parse`, against the example config and templates).
//!
//! Invariants: no panic; a playbook comes back exactly when there is no
//! error; every diagnostic has a message and a real position; parsing is
//! deterministic.

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use squall::diagnostics::has_errors;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let ex = common::example();
    let file = Path::new("playbooks/fuzz.yaml");
    let (playbook, diags) = squall::playbook::parse(src, file, &ex.config, &ex.templates);
    assert_eq!(
        playbook.is_some(),
        !has_errors(&diags),
        "a playbook comes back iff there is no error: {diags:?}"
    );
    common::check_diagnostics(src, file, &diags);
    let (again, diags_again) = squall::playbook::parse(src, file, &ex.config, &ex.templates);
    assert_eq!(diags, diags_again, "validation is deterministic");
    assert_eq!(again.is_some(), playbook.is_some());
});
