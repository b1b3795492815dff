//! Alert webhook bodies through the parsers the HTTP handlers use:
//! `server::alerts::parse_webhook` (Alertmanager, Grafana) and
//! `parse_generic` (squall's own form, and playbooks' alert `map`s).
//!
//! Invariants: no panic; a refused body is `malformed_body` with a message;
//! only a complete JSON document is accepted; every alert has a fingerprint,
//! and an end time only when resolved and after its start; a repeated
//! delivery parses to the same alerts (what makes repeats harmless).

#![no_main]

use libfuzzer_sys::fuzz_target;
use squall::engine::input::{Alert, AlertStatus};
use squall::playbook::{AlertMap, AlertSource};
use squall::server::alerts::{parse_generic, parse_webhook};
use squall::server::error::ApiError;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// Two alert `map`s as playbooks write them: the one in docs/playbooks.md
/// and one reading a Unix start time and a numeric fingerprint.
fn maps() -> &'static [AlertMap] {
    static MAPS: OnceLock<Vec<AlertMap>> = OnceLock::new();
    let pairs = |kv: &[(&str, &str)]| -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    MAPS.get_or_init(|| {
        vec![
            AlertMap {
                status: "/state".into(),
                firing: vec!["alerting".into()],
                labels: pairs(&[("alertname", "/rule"), ("service", "/tags/service")]),
                annotations: pairs(&[("summary", "/message")]),
                fingerprint: Some("/event_id".into()),
                starts_at: Some("/started".into()),
            },
            AlertMap {
                status: "/check/status".into(),
                firing: vec!["down".into(), "1".into(), "true".into()],
                labels: pairs(&[("check", "/check/name"), ("a~b", "/x~1y/~0z")]),
                annotations: BTreeMap::new(),
                fingerprint: Some("/id".into()),
                starts_at: Some("/check/since".into()),
            },
        ]
    })
}

fuzz_target!(|data: &[u8]| {
    let now = chrono::DateTime::from_timestamp(1_764_000_000, 0).expect("a time");
    let is_json = serde_json::from_slice::<serde_json::Value>(data).is_ok();
    for source in [AlertSource::Alertmanager, AlertSource::Grafana] {
        let got = parse_webhook(data, source);
        check(data, is_json, &got);
        if let Ok(alerts) = &got {
            assert!(alerts.iter().all(|a| a.source == source));
            let again = parse_webhook(data, source).expect("parses again");
            assert_eq!(alerts, &again, "a repeated delivery parses the same");
        }
    }
    for maps in [&[][..], maps()] {
        let got = parse_generic(data, maps, now);
        check(data, is_json, &got);
        if let Ok(alerts) = &got {
            assert!(!alerts.is_empty() || data_is_empty_array(data));
            let again = parse_generic(data, maps, now).expect("parses again");
            assert_eq!(alerts, &again, "a repeated delivery parses the same");
        }
    }
});

fn data_is_empty_array(data: &[u8]) -> bool {
    matches!(serde_json::from_slice::<serde_json::Value>(data),
        Ok(serde_json::Value::Array(a)) if a.is_empty())
}

fn check(data: &[u8], is_json: bool, got: &Result<Vec<Alert>, ApiError>) {
    match got {
        Err(e) => {
            assert!(
                matches!(e, ApiError::MalformedBody(m) if !m.trim().is_empty()),
                "a refused delivery is malformed_body with a message: {e:?}"
            );
        }
        Ok(alerts) => {
            assert!(
                is_json,
                "accepted a body that is not one JSON document: {:?}",
                String::from_utf8_lossy(data)
            );
            for a in alerts {
                assert!(!a.fingerprint.is_empty(), "every alert has a fingerprint");
                if let Some(end) = a.ends_at {
                    assert_eq!(a.status, AlertStatus::Resolved, "only resolved alerts end");
                    assert!(end > a.starts_at, "an alert ends after it starts");
                }
            }
        }
    }
}
