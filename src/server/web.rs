//! The command-centre dashboard (`GET /`): plain HTML, CSS and ES modules
//! from `web/`, compiled into the binary, so `squall serve` needs no other
//! web server and running it needs no build step.
//!
//! Every answer carries a strict Content-Security-Policy (scripts, styles
//! and connections from this origin only, no inline script or style, no
//! frames), `nosniff`, no referrer, and an ETag: files are revalidated
//! (`no-cache`) and answered 304 when unchanged, so a new squall never
//! serves a stale dashboard. The dashboard itself reads the `/v1` API with
//! the bearer token the person typed in (kept in `sessionStorage`, never in
//! a URL) and follows `/v1/events` for live changes.

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use include_dir::{include_dir, Dir};
use std::collections::HashMap;
use std::sync::LazyLock;

static WEB: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/web");

/// The policy: nothing but this origin's files and API.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; connect-src 'self'; font-src 'self'; manifest-src 'self'; \
base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Each file's entity tag: a hash of its bytes, computed once.
static ETAGS: LazyLock<HashMap<&'static str, String>> = LazyLock::new(|| {
    let mut tags = HashMap::new();
    collect(&WEB, &mut tags);
    tags
});

fn collect(dir: &'static Dir<'static>, tags: &mut HashMap<&'static str, String>) {
    for f in dir.files() {
        if let Some(path) = f.path().to_str() {
            let hash = super::auth::sha256(f.contents());
            tags.insert(path, format!("\"{}\"", hex::encode(&hash[..12])));
        }
    }
    for d in dir.dirs() {
        collect(d, tags);
    }
}

/// `GET /`: the dashboard page.
pub async fn index(headers: HeaderMap) -> Response {
    asset_at("index.html", &headers)
}

/// `GET /ui/{path}`: the dashboard's scripts and styles.
pub async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    asset_at(&path, &headers)
}

fn asset_at(path: &str, headers: &HeaderMap) -> Response {
    let (Some(file), Some(tag)) = (WEB.get_file(path), ETAGS.get(path)) else {
        return super::error::ApiError::not_found(format!("dashboard file {path}")).into_response();
    };
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag));
    let mut resp = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(header::CONTENT_TYPE, content_type(path))],
            file.contents(),
        )
            .into_response()
    };
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(tag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    secure(h);
    resp
}

/// The headers every dashboard answer carries.
fn secure(h: &mut HeaderMap) {
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("json" | "webmanifest") => "application/json",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_has_a_known_type_and_a_tag() {
        assert!(WEB.get_file("index.html").is_some(), "web/index.html");
        for path in ETAGS.keys() {
            assert_ne!(content_type(path), "application/octet-stream", "{path}");
        }
    }

    #[test]
    fn the_page_has_no_inline_script_or_style() {
        let html = WEB
            .get_file("index.html")
            .and_then(|f| f.contents_utf8())
            .unwrap_or_default();
        for bad in ["<script>", "style=", "onclick", "javascript:"] {
            assert!(!html.contains(bad), "index.html contains {bad}");
        }
    }
}
