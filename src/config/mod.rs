//! CONTRACT STUB — configuration (`squall.yaml`). To be implemented.
pub mod model;
pub mod schedule;
pub use model::*;
pub fn process_env(k: &str) -> Option<String> { std::env::var(k).ok() }
pub fn load(_p: Option<&std::path::Path>, _env: &dyn Fn(&str) -> Option<String>) -> (Option<Config>, Vec<crate::diagnostics::Diagnostic>) { todo!() }
