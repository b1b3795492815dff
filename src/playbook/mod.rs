//! CONTRACT STUB — playbooks. To be implemented.
pub mod model;
pub use model::*;
pub fn load_dir(_p: &[std::path::PathBuf], _c: &crate::config::Config, _t: &crate::templates::TemplateSet) -> (Vec<Playbook>, Vec<crate::diagnostics::Diagnostic>) { todo!() }
