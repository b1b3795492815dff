//! Rebuild when the example brand compiled into the binary changes
//! (`src/embedded.rs` includes these directories) or the dashboard does
//! (`src/server/web.rs` includes `web/`).
fn main() {
    for dir in ["examples", "playbooks", "templates", "migrations", "web"] {
        println!("cargo:rerun-if-changed={dir}");
    }
}
