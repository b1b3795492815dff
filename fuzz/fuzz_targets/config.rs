//! `squall.yaml` text through `config::parse` (what `squall validate` and
//! `squall serve` load), then the config's template check.
//!
//! Invariants: no panic; text that is YAML yields a config, with every
//! problem as a diagnostic with a message and a real position; a possible
//! inline secret is never quoted back; parsing is deterministic.

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use squall::diagnostics::Diagnostic;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let file = Path::new("fuzz/squall.yaml");
    let (config, diags) = squall::config::parse(src, file, &common::env);
    match &config {
        None => assert!(
            diags.iter().any(Diagnostic::is_error),
            "no config but no error either"
        ),
        Some(config) => {
            let ex = common::example();
            let more = squall::config::check_templates(config, src, file, &ex.templates);
            common::check_diagnostics(src, file, &more);
        }
    }
    common::check_diagnostics(src, file, &diags);
    let (_, again) = squall::config::parse(src, file, &common::env);
    assert_eq!(diags, again, "validation is deterministic");
});
