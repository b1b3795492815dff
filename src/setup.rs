//! Loading what people wrote, all together: config, then templates, then
//! playbooks (which refer to both). Never stops at the first problem.

use crate::config::Config;
use crate::diagnostics::{Diagnostic, Severity};
use crate::playbook::Playbook;
use crate::templates::{TemplateProblem, TemplateSet};
use std::path::{Path, PathBuf};

/// Everything loaded, and every problem found on the way.
pub struct Loaded {
    pub config: Option<Config>,
    pub config_file: Option<PathBuf>,
    pub templates: TemplateSet,
    pub playbooks: Vec<Playbook>,
    pub diagnostics: Vec<Diagnostic>,
}

/// The config file to use when none is named: `./squall.yaml`, else the
/// example one, else none (built-in defaults).
pub fn default_config_path() -> Option<PathBuf> {
    ["squall.yaml", "examples/squall.yaml"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

pub fn load_config(path: Option<&Path>) -> (Option<Config>, Vec<Diagnostic>) {
    let path = path.map(Path::to_path_buf).or_else(default_config_path);
    crate::config::load(path.as_deref(), &crate::config::process_env)
}

/// Loads config, templates and playbooks. `playbooks` empty means the
/// config's playbooks directory.
pub fn load(config_path: Option<&Path>, playbooks: &[PathBuf]) -> Loaded {
    let config_file = config_path
        .map(Path::to_path_buf)
        .or_else(default_config_path);
    let (config, mut diagnostics) =
        crate::config::load(config_file.as_deref(), &crate::config::process_env);
    let Some(cfg) = config else {
        return Loaded {
            config: None,
            config_file,
            templates: TemplateSet::default(),
            playbooks: Vec::new(),
            diagnostics,
        };
    };
    let (templates, problems) = TemplateSet::load_dir(&cfg.templates_dir, &cfg.default_language);
    diagnostics.extend(problems.into_iter().map(template_diagnostic));
    if let Some(file) = &config_file {
        if let Ok(src) = std::fs::read_to_string(file) {
            diagnostics.extend(crate::config::check_templates(&cfg, &src, file, &templates));
        }
    }
    let paths: Vec<PathBuf> = if playbooks.is_empty() {
        vec![cfg.playbooks_dir.clone()]
    } else {
        playbooks.to_vec()
    };
    let (pbs, pdiags) = crate::playbook::load_dir(&paths, &cfg, &templates);
    diagnostics.extend(pdiags);
    if config_file.is_none() {
        explain_missing_defaults(&mut diagnostics, &cfg);
    }
    Loaded {
        config: Some(cfg),
        config_file,
        templates,
        playbooks: pbs,
        diagnostics,
    }
}

/// Without a config file, squall looks for `templates/` and `playbooks/` in
/// the current directory. When they are not there either, "cannot read the
/// template directory" alone sends people to a `templates_dir` they never
/// wrote: say where squall looked and why.
fn explain_missing_defaults(diagnostics: &mut [Diagnostic], cfg: &crate::config::Config) {
    for d in diagnostics.iter_mut() {
        let dir = if d.code == "template::invalid" && d.file == cfg.templates_dir {
            "templates"
        } else if d.code == "playbook::unreadable" && d.file == cfg.playbooks_dir {
            "playbooks"
        } else {
            continue;
        };
        d.hint = Some(format!(
            "no squall.yaml here and no --config, so squall looked for its {dir} in `{}` \
             in this directory; run squall where your squall.yaml is, or pass --config FILE \
             (or set SQUALL_CONFIG)",
            d.file.display()
        ));
    }
}

/// A template problem as a diagnostic.
pub fn template_diagnostic(p: TemplateProblem) -> Diagnostic {
    Diagnostic {
        severity: Severity::Error,
        code: "template::invalid",
        file: p.file,
        line: p.line,
        column: p.column,
        offset: 0,
        len: 0,
        message: p.message,
        hint: p.hint,
    }
}
