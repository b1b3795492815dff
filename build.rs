//! Rebuild when the example brand compiled into the binary changes
//! (`src/embedded.rs` includes these directories).
fn main() {
    for dir in ["examples", "playbooks", "templates", "migrations"] {
        println!("cargo:rerun-if-changed={dir}");
    }
}
