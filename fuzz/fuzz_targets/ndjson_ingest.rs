//! A `POST /v1/mentions` body through `server::ingest::parse_batch`, the
//! parser the HTTP handler uses, and each NDJSON body also through
//! `mention::parse_ndjson`, the reader `squall simulate` uses.
//!
//! Invariants: no panic; a refused body or item says why; every accepted
//! mention passes `Mention::check` and survives a round trip through its
//! NDJSON line unchanged; HTTP ingest and `simulate` agree on every line.

#![no_main]

use libfuzzer_sys::fuzz_target;
use squall::mention::{parse_ndjson, parse_ndjson_line, Mention};
use squall::server::error::ApiError;
use squall::server::ingest::parse_batch;

/// The server's default `max_batch`.
const MAX_BATCH: usize = 5000;

fuzz_target!(|data: &[u8]| {
    let items = match parse_batch(data, MAX_BATCH) {
        Ok(items) => items,
        Err(e) => {
            assert!(
                matches!(e, ApiError::MalformedBody(_) | ApiError::BatchTooLarge(_)),
                "a body is refused only as malformed or too large: {e:?}"
            );
            assert!(!e.to_string().trim().is_empty());
            return;
        }
    };
    let text = std::str::from_utf8(data).expect("accepted bodies are UTF-8");
    let is_array = text
        .trim_start_matches('\u{feff}')
        .trim_start()
        .starts_with('[');
    // `[]` is an empty batch; NDJSON without a line is refused instead.
    assert!(
        is_array || !items.is_empty(),
        "an NDJSON body holds at least one line"
    );
    assert!(items.len() <= MAX_BATCH);
    for item in &items {
        match item {
            Ok(m) => round_trip(m),
            Err(reason) => assert!(!reason.trim().is_empty(), "a rejection says why"),
        }
    }
    if !is_array {
        let streamed: Vec<_> = parse_ndjson(text.as_bytes()).map(|(_, r)| r).collect();
        assert_eq!(
            streamed.len(),
            items.len(),
            "HTTP and simulate see the same lines"
        );
        for (s, h) in streamed.iter().zip(&items) {
            match (s, h) {
                (Ok(a), Ok(b)) => assert_eq!(a, b),
                (Err(a), Err(b)) => assert_eq!(&a.to_string(), b),
                _ => panic!("HTTP ingest and simulate disagree on a line: {s:?} vs {h:?}"),
            }
        }
    }
});

/// A stored mention is written back out as its NDJSON line (the journal,
/// exports): that line must read back as the very same mention.
fn round_trip(m: &Mention) {
    m.check().expect("an accepted mention passes its own check");
    let line = serde_json::to_string(m).expect("a mention serialises");
    assert!(!line.contains('\n'), "an NDJSON line has no newline");
    let back = parse_ndjson_line(&line).unwrap_or_else(|e| {
        panic!("the NDJSON line of an accepted mention is refused: {e}\n{line}")
    });
    assert_eq!(&back, m, "round trip through NDJSON changed the mention");
}
