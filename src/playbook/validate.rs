//! From playbook text to a validated [`Playbook`], with every problem at once.
//!
//! Order of work: YAML syntax (one diagnostic, nothing more can be said),
//! then the outline with triggers and steps left as plain YAML, then each
//! trigger and step on its own (so one broken step never hides the next),
//! then the meaning: durations, cron, time zones, references into the config
//! and the template catalog, and what each platform can actually do.
//!
//! A playbook with any error is not returned: the engine never runs on a
//! playbook that failed validation. Warnings do not stop it.

use super::model::*;
use super::raw::*;
use crate::config::{is_env_var_name, Config, PlatformKind};
use crate::detect::matcher::Matcher;
use crate::diagnostics::{has_errors, Diagnostic, Severity};
use crate::templates::{StepContext, TemplateProblem, TemplateSet};
use crate::yaml_pos::{
    closest, join, suggestion_hint, Locator, PathSeg, Pos, PositionIndex, SerdeCodes,
};
use serde_yaml::Value;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

/// The templates a playbook may name, as validation sees them. The real one
/// is [`TemplateSet`]; tests pass a fake.
pub trait TemplateCatalog {
    fn contains(&self, name: &str) -> bool;
    /// Whether `name` has files that did not load: their problems are
    /// already reported at the files, so a step naming it is not reported
    /// again as naming no template.
    fn failed_to_load(&self, name: &str) -> bool;
    /// Every template name, for suggestions.
    fn names(&self) -> Vec<String>;
    /// Problems of template `name` when rendered for a step of kind `ctx`
    /// (variables that context does not offer, helpers, a test render with
    /// the context's sample data, ...).
    fn check(&self, name: &str, ctx: StepContext) -> Vec<TemplateProblem>;
    /// Template `name` rendered for a post in `lang` with `ctx`'s sample
    /// data, each phrasing (none when it cannot be rendered).
    fn sample_texts(&self, _name: &str, _lang: &str, _ctx: StepContext) -> Vec<String> {
        Vec::new()
    }
}

impl TemplateCatalog for TemplateSet {
    fn contains(&self, name: &str) -> bool {
        TemplateSet::contains(self, name)
    }

    fn failed_to_load(&self, name: &str) -> bool {
        TemplateSet::failed_to_load(self, name)
    }

    fn names(&self) -> Vec<String> {
        TemplateSet::names(self)
    }

    fn check(&self, name: &str, ctx: StepContext) -> Vec<TemplateProblem> {
        TemplateSet::check(self, name, ctx)
    }

    fn sample_texts(&self, name: &str, lang: &str, ctx: StepContext) -> Vec<String> {
        TemplateSet::sample_texts(self, name, lang, ctx)
    }
}

/// How to fix a `template:` that names no template, for playbooks and the
/// config alike.
pub fn unknown_template_hint(
    name: &str,
    templates: &dyn TemplateCatalog,
    config: &Config,
) -> String {
    crate::templates::unknown_name_hint(
        name,
        &templates.names(),
        &config.templates_dir,
        &config.default_language,
    )
}

const CODES: SerdeCodes = SerdeCodes {
    unknown_key: "playbook::unknown-key",
    wrong_type: "playbook::wrong-type",
    missing_key: "playbook::missing-key",
    invalid_value: "playbook::invalid-value",
};

const DURATION_EXAMPLES: &str = "write a number and a unit, e.g. `5m`, `90s` or `1h 30m`";

/// How to write a duration that did not parse: a bare number gets the
/// units it could mean. Shared with the CLI's duration flags.
pub fn duration_help(text: &str) -> String {
    let text = text.trim();
    if !text.is_empty() && text.chars().all(|c| c.is_ascii_digit()) {
        format!("a duration needs a unit: `{text}s`, `{text}m` or `{text}h`; {DURATION_EXAMPLES}")
    } else {
        DURATION_EXAMPLES.to_owned()
    }
}

/// The longest any duration may be, in a playbook or the config: a year
/// (`1y`, which is 365.25 days to the duration parser). Nothing squall waits
/// for is further off, so a longer one is a typo; and a bound keeps every
/// deadline the engine computes far inside what its clock can represent.
pub const LONGEST_DURATION: Duration = Duration::from_secs(31_557_600);

/// The shortest a duration may be, by what it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Floor {
    /// Zero is allowed and means "none": a surge's `for` (fire at once) and
    /// `debounce` (no debounce).
    Zero,
    /// Anything longer than zero: spans that are only compared against, never
    /// timers that repeat or page anyone (a keyword's `within`, `cooldown`),
    /// and an approval `timeout` with `then: post`, which fires once.
    Positive,
    /// At least [`SHORTEST_TIMER`]: a timer that repeats or pages people, or a
    /// span the detector only sees in one-minute buckets. The text says why,
    /// in the hint.
    Minute(&'static str),
}

/// The floor of [`Floor::Minute`]. Surge detection counts in one-minute
/// buckets, and nobody can answer a page more often than once a minute: a
/// shorter timer only floods people (`stale_after: 1ms` re-armed itself
/// every time the clock moved).
pub const SHORTEST_TIMER: Duration = Duration::from_secs(60);

const WINDOW_FLOOR: &str =
    "mentions are counted in one-minute buckets, so a shorter window is still a minute";
const QUIET_FLOOR: &str =
    "quiet is judged in one-minute buckets, and resolving posts the final status and tells people";
const STALE_FLOOR: &str = "the commander is reminded that often, again and again";
const SLA_FLOOR: &str = "every draft waiting that long is reassigned and `escalate_to` is told";
const HOLD_FLOOR: &str = "with `then: hold` the approvers are reminded that often, again and again";
/// `notify.digest_every` in the config: one e-mail per staff member each period.
pub const DIGEST_FLOOR: &str = "each staff member gets a digest e-mail that often";

/// An approval time-out that holds repeats its reminder; one that posts fires once.
fn approval_floor(then: Option<ApprovalTimeout>) -> Floor {
    match then.unwrap_or(ApprovalTimeout::Hold) {
        ApprovalTimeout::Hold => Floor::Minute(HOLD_FLOOR),
        ApprovalTimeout::Post => Floor::Positive,
    }
}

/// The longest a surge window may be. The detector judges a window against
/// the same time of earlier days and keeps a day of buckets; a longer window
/// used to be cut to a day without a word.
pub const LONGEST_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// Whether `window` fits [`LONGEST_WINDOW`]; shared by playbooks and
/// `squall detect --window`.
///
/// # Errors
///
/// What is wrong, and what to write instead.
pub fn check_surge_window(window: Duration) -> Result<(), DurationRefusal> {
    if window <= LONGEST_WINDOW {
        return Ok(());
    }
    Err(DurationRefusal {
        message: format!(
            "a surge window of {} is longer than a day, the longest the detector counts over",
            humantime::format_duration(window)
        ),
        hint: "write at most `24h`; for a slow rise over days, a shorter window with `for:` \
               (how long it must last) says the same"
            .to_owned(),
    })
}

/// Why a duration is refused, and what to write instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationRefusal {
    pub message: String,
    pub hint: String,
}

/// The duration `text` says, if it is one and lies between `floor` and
/// [`LONGEST_DURATION`]. Shared by playbook and config validation.
///
/// # Errors
///
/// What is wrong with `text`, and a hint naming the bound it broke.
pub fn check_duration(text: &str, floor: Floor) -> Result<Duration, DurationRefusal> {
    let refuse = |message: String, hint: String| Err(DurationRefusal { message, hint });
    let duration = match humantime::parse_duration(text.trim()) {
        Ok(duration) => duration,
        Err(error) => {
            return refuse(
                format!("`{text}` is not a duration ({error})"),
                duration_help(text),
            )
        }
    };
    if duration > LONGEST_DURATION {
        return refuse(
            format!("`{text}` is longer than a year, the longest a duration may be"),
            "write at most `1y`: nothing squall waits for is further off".to_owned(),
        );
    }
    match floor {
        Floor::Minute(why) if duration < SHORTEST_TIMER => refuse(
            format!("`{text}` is shorter than a minute, the shortest this may be"),
            format!("write at least `1m`: {why}"),
        ),
        Floor::Positive if duration.is_zero() => refuse(
            format!("`{text}` is not longer than zero"),
            DURATION_EXAMPLES.to_owned(),
        ),
        _ => Ok(duration),
    }
}

/// Default `approval` of a pin_status: a human first (BRIEF).
const DEFAULT_APPROVER: &str = "commander";
const DEFAULT_APPROVAL_TIMEOUT: Duration = Duration::from_secs(10 * 60);
const DEFAULT_WINDOW: Duration = Duration::from_secs(5 * 60);
const DEFAULT_WITHIN: Duration = Duration::from_secs(10 * 60);
const DEFAULT_COOLDOWN: Duration = Duration::from_secs(30 * 60);
const DEFAULT_STALE_AFTER: Duration = Duration::from_secs(30 * 60);
const DEFAULT_SLA: Duration = Duration::from_secs(15 * 60);
const DEFAULT_MAX_PER_HOUR: u32 = 3;

/// A step item taken apart: its action (kind and value) when it has exactly
/// one, and its `when`.
type SplitStep = (Option<(String, Value)>, Option<Value>);

/// The outline of a playbook: triggers and steps still plain YAML.
type Outline = RawPlaybookOf<Value, Value>;

/// A template problem, placed in the template file, saying which playbook
/// step uses the template.
pub fn template_problem_diagnostic(
    problem: &TemplateProblem,
    template: &str,
    used_by: &str,
) -> Diagnostic {
    let pos = Pos {
        line: problem.line,
        column: problem.column,
        offset: 0,
        len: 0,
    };
    let message = format!(
        "{} (template `{template}`, used by {used_by})",
        problem.message
    );
    let diagnostic = Diagnostic::at(
        Severity::Error,
        "playbook::template",
        &problem.file,
        pos,
        message,
    );
    match &problem.hint {
        Some(hint) => diagnostic.with_hint(hint.clone()),
        None => diagnostic,
    }
}

/// Parses and validates one playbook file's text. The playbook is `None` if
/// there is any error; the diagnostics hold every problem found.
pub fn parse(
    src: &str,
    file: &Path,
    config: &Config,
    templates: &dyn TemplateCatalog,
) -> (Option<Playbook>, Vec<Diagnostic>) {
    let (root, index) = match crate::yaml_pos::parse_document(src, file, "playbook::syntax") {
        Ok(doc) => doc,
        Err(syntax) => return (None, vec![*syntax]),
    };
    let locator = Locator {
        file,
        index: &index,
        codes: CODES,
        redaction: None,
    };
    // Written but unreadable triggers get their own diagnostic, not "no triggers" too.
    let triggers_written = root
        .get("triggers")
        .is_some_and(|t| !t.is_null() && t.as_sequence().is_none_or(|s| !s.is_empty()));
    let (outline, mut diags) = locator.deserialize_pruning::<Outline>(root, &[], &|_| 1);
    let Some(outline) = outline else {
        return (None, diags);
    };
    let mut validator = Validator {
        locator: &locator,
        config,
        templates,
        diags: Vec::new(),
        name: outline.name.clone(),
        triggers_written,
        trigger_kinds: BTreeSet::new(),
        open_pin_accounts: Vec::new(),
        open_pin_step: None,
        checked_templates: HashSet::new(),
    };
    let playbook = validator.playbook(outline, file);
    diags.append(&mut validator.diags);
    diags.sort_by_key(|d| (d.file.clone(), d.line, d.column));
    let playbook = if has_errors(&diags) {
        None
    } else {
        Some(playbook)
    };
    (playbook, diags)
}

/// Loads every playbook: each path is a file, or a directory whose `.yaml`
/// and `.yml` files, all the way down, are read in path order (see
/// [`playbook_files`]). Returns the playbooks that validated, and every
/// diagnostic (including duplicate names across files).
pub fn load_dir(
    dir_or_files: &[PathBuf],
    config: &Config,
    templates: &dyn TemplateCatalog,
) -> (Vec<Playbook>, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let mut playbooks = Vec::new();
    let mut seen: BTreeMap<String, PathBuf> = BTreeMap::new();
    for file in playbook_files(dir_or_files, &mut diags) {
        let src = match std::fs::read_to_string(&file) {
            Ok(src) => src,
            Err(error) => {
                diags.push(Diagnostic::at(
                    Severity::Error,
                    "playbook::unreadable",
                    &file,
                    Pos::START,
                    format!("cannot read the playbook: {error}"),
                ));
                continue;
            }
        };
        let (playbook, mut found) = parse(&src, &file, config, templates);
        diags.append(&mut found);
        let name = written_name(&src);
        if let Some(first) = name.as_ref().and_then(|n| seen.get(n)) {
            let pos = PositionIndex::build(&src).value_or_ancestor(&[PathSeg::from("name")]);
            let message = format!(
                "another playbook is already named `{}`, in {}",
                name.as_deref().unwrap_or_default(),
                first.display()
            );
            diags.push(
                Diagnostic::at(
                    Severity::Error,
                    "playbook::duplicate-name",
                    &file,
                    pos,
                    message,
                )
                .with_hint("playbook names are unique across the directory: rename one of them"),
            );
            continue;
        }
        if let Some(name) = name {
            seen.insert(name, file.clone());
        }
        playbooks.extend(playbook);
    }
    (playbooks, diags)
}

/// The `name` a playbook file gives, valid or not.
fn written_name(src: &str) -> Option<String> {
    let root = serde_yaml::from_str::<Value>(src).ok()?;
    root.get("name")?.as_str().map(str::to_owned)
}

/// The files to read, each once (a file named twice, or named and inside a
/// named directory, is read once, in its first place). A directory is
/// searched all the way down, as templates are, for `.yaml` and `.yml`
/// files in any case (`x.YAML`), in path order; hidden entries (`.git`,
/// `.github`, an editor's `.#x.yaml` lock) are not playbooks. A directory
/// holding none gets a warning: squall would run with no playbook there.
fn playbook_files(dir_or_files: &[PathBuf], diags: &mut Vec<Diagnostic>) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut seen = HashSet::new();
    for path in dir_or_files {
        let found = if path.is_dir() {
            let mut found = Vec::new();
            if !find_playbooks(path, &mut found, &mut HashSet::new(), diags) {
                continue;
            }
            found.sort();
            if found.is_empty() {
                diags.push(
                    Diagnostic::at(
                        Severity::Warning,
                        "playbook::none-found",
                        path,
                        Pos::START,
                        "no playbooks here: squall would open no incidents from this directory",
                    )
                    .with_hint("playbooks are `.yaml` or `.yml` files in this directory or below it; check the path, or `playbooks` in the config"),
                );
            }
            found
        } else {
            vec![path.clone()]
        };
        for file in found {
            let identity = std::fs::canonicalize(&file).unwrap_or_else(|_| file.clone());
            if seen.insert(identity) {
                files.push(file);
            }
        }
    }
    files
}

/// Adds the playbook files under `dir` to `found`; false when `dir` itself
/// cannot be read (reported). `visited` holds the directories already
/// searched, so that a symbolic link back up the tree ends the search.
fn find_playbooks(
    dir: &Path,
    found: &mut Vec<PathBuf>,
    visited: &mut HashSet<PathBuf>,
    diags: &mut Vec<Diagnostic>,
) -> bool {
    if !visited.insert(std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf())) {
        return true;
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) => {
            diags.push(Diagnostic::at(
                Severity::Error,
                "playbook::unreadable",
                dir,
                Pos::START,
                format!("cannot read the playbook directory: {error}"),
            ));
            return false;
        }
    };
    for path in entries.filter_map(Result::ok).map(|entry| entry.path()) {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            find_playbooks(&path, found, visited, diags);
        } else if path.is_file() && is_yaml_name(name) {
            found.push(path);
        }
    }
    true
}

/// `x.yaml` or `x.yml`, in any case.
fn is_yaml_name(name: &str) -> bool {
    Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"))
}

/// Whether a platform can pin posts, from the one table of platform
/// capabilities (no adapter needs to be connected to know).
fn can_pin(platform: PlatformKind) -> bool {
    crate::adapters::capabilities_for(platform).can_pin()
}

fn is_playbook_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// The three lists of steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    Open,
    StateChange,
    Resolve,
}

impl Section {
    fn key(self) -> &'static str {
        match self {
            Section::Open => "on_open",
            Section::StateChange => "on_state_change",
            Section::Resolve => "on_resolve",
        }
    }

    /// The states an incident can be in when this section's steps run
    /// (the engine's `run_steps` callers): it opens `open`, states only move
    /// forward, and resolving is not a state change but its own section.
    fn states(self) -> &'static [IncidentState] {
        match self {
            Section::Open => &[IncidentState::Open],
            Section::StateChange => &[IncidentState::Acknowledged, IncidentState::Mitigated],
            Section::Resolve => &[IncidentState::Resolved],
        }
    }

    /// When this section's steps run, for hints.
    fn when(self) -> &'static str {
        match self {
            Section::Open => "`on_open` steps run as the incident opens, while it is `open`",
            Section::StateChange => {
                "`on_state_change` steps run on entering `acknowledged` or `mitigated`"
            }
            Section::Resolve => "`on_resolve` steps run once the incident is `resolved`",
        }
    }

    /// The section whose steps run in `state`.
    fn running_in(state: IncidentState) -> Section {
        match state {
            IncidentState::Open => Section::Open,
            IncidentState::Acknowledged | IncidentState::Mitigated => Section::StateChange,
            IncidentState::Resolved => Section::Resolve,
        }
    }
}

/// Things in the config a playbook refers to by name.
#[derive(Debug, Clone, Copy)]
enum Ref {
    Account,
    Team,
    Role,
    Schedule,
    Staff,
}

impl Ref {
    fn code(self) -> &'static str {
        match self {
            Ref::Account => "playbook::unknown-account",
            Ref::Team => "playbook::unknown-team",
            Ref::Role => "playbook::unknown-role",
            Ref::Schedule => "playbook::unknown-schedule",
            Ref::Staff => "playbook::unknown-staff",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Ref::Account => "account",
            Ref::Team => "team",
            Ref::Role => "role",
            Ref::Schedule => "schedule",
            Ref::Staff => "staff member",
        }
    }

    fn section(self) -> &'static str {
        match self {
            Ref::Account => "accounts",
            Ref::Team => "teams",
            Ref::Role => "roles",
            Ref::Schedule => "schedules",
            Ref::Staff => "staff",
        }
    }

    fn names(self, config: &Config) -> Vec<&str> {
        match self {
            Ref::Account => config.accounts.keys().map(String::as_str).collect(),
            Ref::Team => config.teams.keys().map(String::as_str).collect(),
            Ref::Role => config.roles.keys().map(String::as_str).collect(),
            Ref::Schedule => config.schedules.keys().map(String::as_str).collect(),
            Ref::Staff => config.staff.keys().map(String::as_str).collect(),
        }
    }
}

/// Validation state for one playbook file.
struct Validator<'l, 'a> {
    locator: &'l Locator<'a>,
    config: &'l Config,
    templates: &'l dyn TemplateCatalog,
    diags: Vec<Diagnostic>,
    name: String,
    /// Whether the file has a non-empty `triggers` (however broken).
    triggers_written: bool,
    /// Kinds of the playbook's triggers, for `when: {triggered_by: ...}`.
    trigger_kinds: BTreeSet<&'static str>,
    /// Accounts of the on_open pin_status, the default for later ones.
    open_pin_accounts: Vec<String>,
    /// Index of the `on_open` step that is a pin_status: an incident has one.
    open_pin_step: Option<usize>,
    /// (template, context) pairs already checked, to report each problem once.
    checked_templates: HashSet<(String, StepContext)>,
}

impl Validator<'_, '_> {
    fn error(
        &mut self,
        code: &'static str,
        path: &[PathSeg],
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        let d = self.locator.at_value(Severity::Error, code, path, message);
        self.diags.push(d.with_hint(hint));
    }

    fn error_at_key(
        &mut self,
        code: &'static str,
        path: &[PathSeg],
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        let d = self.locator.at_key(Severity::Error, code, path, message);
        self.diags.push(d.with_hint(hint));
    }

    fn warn(
        &mut self,
        code: &'static str,
        path: &[PathSeg],
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        let d = self
            .locator
            .at_value(Severity::Warning, code, path, message);
        self.diags.push(d.with_hint(hint));
    }

    fn playbook(&mut self, outline: Outline, file: &Path) -> Playbook {
        let name_path = [PathSeg::from("name")];
        if !outline.name.is_empty() && !is_playbook_name(&outline.name) {
            let message = format!("`{}` is not a valid playbook name", outline.name);
            self.error(CODES.invalid_value, &name_path, message, "use lowercase letters, digits and dashes, starting with a letter or digit, e.g. `site-down`");
        }
        let triggers = self.triggers(outline.triggers);
        let incident = self.incident(outline.incident.unwrap_or_default());
        let on_open = self.steps(outline.on_open, Section::Open);
        let on_state_change = self.steps(outline.on_state_change, Section::StateChange);
        let on_resolve = self.steps(outline.on_resolve, Section::Resolve);
        Playbook {
            title: outline.title.unwrap_or_else(|| outline.name.clone()),
            name: outline.name,
            description: outline.description,
            triggers,
            incident,
            on_open,
            on_state_change,
            on_resolve,
            source_file: file.to_path_buf(),
        }
    }

    // ---- triggers ----

    fn triggers(&mut self, items: Vec<Value>) -> Vec<Trigger> {
        if items.is_empty() && !self.triggers_written {
            let path = [PathSeg::from("triggers")];
            let at = if self.locator.index.key(&path).is_some() {
                path.to_vec()
            } else {
                vec![PathSeg::from("name")]
            };
            self.error_at_key(
                "playbook::no-triggers",
                &at,
                "this playbook has no triggers, so it can never open an incident",
                "add one, e.g. `triggers: [{manual: {}}]` to declare incidents by hand",
            );
        }
        items
            .into_iter()
            .enumerate()
            .filter_map(|(i, item)| {
                self.trigger(item, vec![PathSeg::from("triggers"), PathSeg::Index(i)])
            })
            .collect()
    }

    fn trigger(&mut self, item: Value, path: Vec<PathSeg>) -> Option<Trigger> {
        let (kind, inner) = self.single_kind(item, &path)?;
        let raw: RawTrigger = self
            .locator
            .deserialize_tagged_all(&kind, inner, &path)
            .map_err(|d| self.diags.extend(d))
            .ok()?;
        let at = join(&path, [PathSeg::from(kind.as_str())]);
        let trigger = match raw {
            RawTrigger::Surge(surge) => Trigger::Surge(self.surge(surge, &at)),
            RawTrigger::Keyword(keyword) => Trigger::Keyword(self.keyword(keyword, &at)),
            RawTrigger::Alert(alert) => {
                let map = alert.map.map(|m| self.alert_map(alert.source, m, &at));
                Trigger::Alert(AlertTrigger {
                    source: alert.source,
                    labels: alert.labels,
                    resolve: alert.resolve,
                    map,
                })
            }
            RawTrigger::Schedule(schedule) => {
                Trigger::Schedule(self.schedule_trigger(schedule, &at)?)
            }
            RawTrigger::Manual(_) => Trigger::Manual,
        };
        if let Some(known) = TRIGGER_KINDS.iter().find(|k| **k == kind) {
            self.trigger_kinds.insert(known);
        }
        Some(trigger)
    }

    /// The one key of a trigger item (`- surge: {...}`) and its value.
    fn single_kind(&mut self, item: Value, path: &[PathSeg]) -> Option<(String, Value)> {
        let Value::Mapping(map) = item else {
            self.error(
                CODES.wrong_type,
                path,
                "a trigger is a mapping with one key, its kind",
                "write e.g. `- surge: {window: 5m}` or `- manual: {}`",
            );
            return None;
        };
        let valid: Vec<String> = TRIGGER_KINDS.iter().map(|k| (*k).to_owned()).collect();
        let keys: Vec<String> = map.keys().map(key_text).collect();
        match keys.as_slice() {
            [] => {
                self.error(
                    CODES.missing_key,
                    path,
                    "this trigger is empty",
                    suggestion_hint("", &valid, "give one kind"),
                );
                None
            }
            [kind] if valid.contains(kind) => {
                map.into_iter().next().map(|(_, v)| (kind.clone(), v))
            }
            [unknown] => {
                let at = join(path, [PathSeg::from(unknown.as_str())]);
                self.error_at_key(
                    CODES.unknown_key,
                    &at,
                    format!("unknown trigger kind `{unknown}`"),
                    suggestion_hint(unknown, &valid, "trigger kinds"),
                );
                None
            }
            [first, second, ..] => {
                let at = join(path, [PathSeg::from(second.as_str())]);
                self.error_at_key(
                    "playbook::one-per-item",
                    &at,
                    format!("this trigger has two kinds, `{first}` and `{second}`"),
                    "give each trigger its own `- ` item",
                );
                None
            }
        }
    }

    fn surge(&mut self, raw: RawSurge, at: &[PathSeg]) -> SurgeTrigger {
        let accounts = self.references(
            Ref::Account,
            &raw.accounts,
            &join(at, [PathSeg::from("accounts")]),
        );
        let thresholds = raw
            .thresholds
            .map(|t| self.thresholds(t, &join(at, [PathSeg::from("thresholds")])));
        SurgeTrigger {
            matcher: Matcher::new(raw.matching.any, raw.matching.all, raw.matching.none),
            accounts,
            window: self.surge_window(raw.window.as_ref(), &join(at, [PathSeg::from("window")])),
            sensitivity: raw.sensitivity.unwrap_or(Sensitivity::Medium),
            thresholds,
            hold: self.duration(
                raw.hold.as_ref(),
                &join(at, [PathSeg::from("for")]),
                Duration::ZERO,
                Floor::Zero,
            ),
            debounce: raw.debounce.as_ref().map(|d| {
                self.duration(
                    Some(d),
                    &join(at, [PathSeg::from("debounce")]),
                    Duration::ZERO,
                    Floor::Zero,
                )
            }),
        }
    }

    /// A surge's counting window: a minute to a day.
    fn surge_window(&mut self, text: Option<&DurationText>, path: &[PathSeg]) -> Duration {
        let window = self.duration(text, path, DEFAULT_WINDOW, Floor::Minute(WINDOW_FLOOR));
        if let Err(refusal) = check_surge_window(window) {
            self.error(
                "playbook::bad-duration",
                path,
                refusal.message,
                refusal.hint,
            );
            return DEFAULT_WINDOW;
        }
        window
    }

    fn thresholds(&mut self, raw: RawThresholds, at: &[PathSeg]) -> Thresholds {
        for (key, refused) in [
            ("sigmas", Thresholds::check_sigmas(raw.sigmas).err()),
            (
                "min_count",
                Thresholds::check_min_count(raw.min_count).err(),
            ),
            (
                "min_ratio",
                Thresholds::check_min_ratio(raw.min_ratio).err(),
            ),
        ] {
            if let Some(refusal) = refused {
                self.error(
                    CODES.invalid_value,
                    &join(at, [PathSeg::from(key)]),
                    refusal.message,
                    refusal.hint,
                );
            }
        }
        Thresholds {
            sigmas: raw.sigmas,
            min_count: raw.min_count,
            min_ratio: raw.min_ratio,
        }
    }

    fn keyword(&mut self, raw: RawKeyword, at: &[PathSeg]) -> KeywordTrigger {
        if raw.matching.any.is_empty() && raw.matching.all.is_empty() {
            self.error_at_key(
                "playbook::empty-match",
                &join(at, [PathSeg::from("match")]),
                "a keyword trigger needs phrases to look for",
                "list them under `match: {any: [...]}` (or `all`)",
            );
        }
        let min_mentions = raw.min_mentions.unwrap_or(1);
        if min_mentions == 0 {
            self.error(
                CODES.invalid_value,
                &join(at, [PathSeg::from("min_mentions")]),
                "`min_mentions` must be at least 1",
                "1 fires on the first matching mention",
            );
        }
        KeywordTrigger {
            accounts: self.references(
                Ref::Account,
                &raw.accounts,
                &join(at, [PathSeg::from("accounts")]),
            ),
            matcher: Matcher::new(raw.matching.any, raw.matching.all, raw.matching.none),
            min_mentions,
            within: self.duration(
                raw.within.as_ref(),
                &join(at, [PathSeg::from("within")]),
                DEFAULT_WITHIN,
                Floor::Positive,
            ),
        }
    }

    /// Checks a webhook field map: only for `source: webhook`, every
    /// location a JSON Pointer.
    fn alert_map(&mut self, source: AlertSource, raw: RawAlertMap, at: &[PathSeg]) -> AlertMap {
        let map_at = join(at, [PathSeg::from("map")]);
        if source != AlertSource::Webhook {
            self.error_at_key(
                CODES.invalid_value,
                &map_at,
                "only a `source: webhook` alert reads its fields through a `map`",
                "Alertmanager and Grafana payloads have a known shape: remove `map`",
            );
        }
        let mut pointers: Vec<(Vec<PathSeg>, &String)> =
            vec![(join(&map_at, [PathSeg::from("status")]), &raw.status)];
        for (section, m) in [("labels", &raw.labels), ("annotations", &raw.annotations)] {
            for (name, ptr) in m {
                pointers.push((
                    join(
                        &map_at,
                        [PathSeg::from(section), PathSeg::from(name.as_str())],
                    ),
                    ptr,
                ));
            }
        }
        for (key, ptr) in [
            ("fingerprint", &raw.fingerprint),
            ("starts_at", &raw.starts_at),
        ] {
            if let Some(p) = ptr {
                pointers.push((join(&map_at, [PathSeg::from(key)]), p));
            }
        }
        for (path, ptr) in pointers {
            if !ptr.starts_with('/') {
                self.error(
                    CODES.invalid_value,
                    &path,
                    format!("`{ptr}` is not a JSON Pointer"),
                    "write where the value is in the body, from the root: `/rule/name`, `/tags/0`",
                );
            }
        }
        AlertMap {
            status: raw.status,
            firing: if raw.firing.is_empty() {
                vec!["firing".to_string()]
            } else {
                raw.firing
            },
            labels: raw.labels,
            annotations: raw.annotations,
            fingerprint: raw.fingerprint,
            starts_at: raw.starts_at,
        }
    }

    fn schedule_trigger(
        &mut self,
        raw: RawScheduleTrigger,
        at: &[PathSeg],
    ) -> Option<ScheduleTrigger> {
        let cron = self.cron(&raw.cron, &join(at, [PathSeg::from("cron")]));
        let timezone = self.timezone(
            raw.timezone.as_deref().unwrap_or("UTC"),
            &join(at, [PathSeg::from("timezone")]),
        );
        Some(ScheduleTrigger {
            cron: cron?,
            cron_source: raw.cron,
            timezone: timezone?,
        })
    }

    fn cron(&mut self, expression: &str, path: &[PathSeg]) -> Option<cron::Schedule> {
        if let Some(days) = crate::cron_text::numeric_day_of_week(expression) {
            self.error("playbook::bad-cron", path, days.message(), days.hint());
            return None;
        }
        match cron::Schedule::from_str(expression) {
            Ok(schedule) => Some(schedule),
            Err(error) => {
                let detail = error.to_string();
                let reason = detail
                    .lines()
                    .map(str::trim)
                    .rfind(|l| {
                        !l.is_empty() && *l != expression.trim() && !l.chars().all(|c| c == '^')
                    })
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default();
                let fields = expression.split_whitespace().count();
                let hint = if fields == 5 {
                    format!("squall's cron expressions start with a seconds field and you gave 5 fields: write `{}`", crate::cron_text::with_seconds(expression))
                } else {
                    "six fields: seconds minutes hours day-of-month month day-of-week (and an optional year), e.g. `0 0 2 * * Sun` for 02:00 every Sunday; days of the week by name (`MON-FRI`)".to_owned()
                };
                self.error(
                    "playbook::bad-cron",
                    path,
                    format!("`{expression}` is not a valid cron expression{reason}"),
                    hint,
                );
                None
            }
        }
    }

    fn timezone(&mut self, name: &str, path: &[PathSeg]) -> Option<chrono_tz::Tz> {
        match chrono_tz::Tz::from_str(name) {
            Ok(tz) => Some(tz),
            Err(_) => {
                let close = close_timezones(name);
                let hint = match close.as_slice() {
                    [] => "use an IANA time zone name, e.g. `Europe/Warsaw`, `America/New_York` or `UTC`".to_owned(),
                    names => format!("did you mean {}? time zones are IANA names", names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(" or ")),
                };
                self.error(
                    "playbook::bad-timezone",
                    path,
                    format!("`{name}` is not a known time zone"),
                    hint,
                );
                None
            }
        }
    }

    // ---- incident policy ----

    fn incident(&mut self, raw: RawIncident) -> IncidentPolicy {
        let at = [PathSeg::from("incident")];
        let group_by = match raw.group_by {
            Some(items) if !items.is_empty() => items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| {
                    self.group_key(
                        item,
                        &join(&at, [PathSeg::from("group_by"), PathSeg::Index(i)]),
                    )
                })
                .collect(),
            _ => vec![GroupKey::Playbook],
        };
        let max_per_hour = raw.max_per_hour.unwrap_or(DEFAULT_MAX_PER_HOUR);
        if max_per_hour == 0 {
            self.error(
                CODES.invalid_value,
                &join(&at, [PathSeg::from("max_per_hour")]),
                "`max_per_hour` must be at least 1",
                "to never open incidents automatically, use only a `manual` trigger",
            );
        }
        let report = raw
            .report
            .map(|report| self.report(report, &join(&at, [PathSeg::from("report")])));
        IncidentPolicy {
            group_by,
            cooldown: self.duration(
                raw.cooldown.as_ref(),
                &join(&at, [PathSeg::from("cooldown")]),
                DEFAULT_COOLDOWN,
                Floor::Positive,
            ),
            max_per_hour,
            auto_resolve_quiet: raw.auto_resolve.map(|a| {
                self.duration(
                    Some(&a.quiet),
                    &join(&at, [PathSeg::from("auto_resolve"), PathSeg::from("quiet")]),
                    DEFAULT_COOLDOWN,
                    Floor::Minute(QUIET_FLOOR),
                )
            }),
            stale_after: self.duration(
                raw.stale_after.as_ref(),
                &join(&at, [PathSeg::from("stale_after")]),
                DEFAULT_STALE_AFTER,
                Floor::Minute(STALE_FLOOR),
            ),
            report,
        }
    }

    fn group_key(&mut self, item: &str, path: &[PathSeg]) -> Option<GroupKey> {
        match item.split_once(':') {
            None if item == "playbook" => Some(GroupKey::Playbook),
            None if item == "account" => Some(GroupKey::Account),
            Some(("label", name)) if !name.trim().is_empty() => {
                Some(GroupKey::Label(name.trim().to_owned()))
            }
            _ => {
                self.error(CODES.invalid_value, path, format!("`{item}` is not something incidents can be grouped by"), "use `playbook`, `account` or `label:NAME` (an alert label, e.g. `label:service`)");
                None
            }
        }
    }

    fn report(&mut self, raw: RawReport, at: &[PathSeg]) -> ReportPolicy {
        if !(0.0..=1.0).contains(&raw.call_share) {
            self.error(
                CODES.invalid_value,
                &join(at, [PathSeg::from("call_share")]),
                format!(
                    "`call_share` must be between 0 and 1, found {}",
                    raw.call_share
                ),
                "it is a share: 0.2 means one in five would have called",
            );
        }
        if !(raw.cost_per_call.is_finite() && raw.cost_per_call >= 0.0) {
            self.error(
                CODES.invalid_value,
                &join(at, [PathSeg::from("cost_per_call")]),
                format!(
                    "`cost_per_call` must be {}0 or more, found {}",
                    if raw.cost_per_call.is_finite() {
                        ""
                    } else {
                        "a finite number, "
                    },
                    raw.cost_per_call
                ),
                "what one support call costs, e.g. 6.5",
            );
        }
        ReportPolicy {
            call_share: raw.call_share,
            cost_per_call: raw.cost_per_call,
        }
    }

    // ---- steps ----

    fn steps(&mut self, items: Vec<Value>, section: Section) -> Vec<Step> {
        items
            .into_iter()
            .enumerate()
            .filter_map(|(i, item)| self.step(item, section, i))
            .collect()
    }

    fn step(&mut self, item: Value, section: Section, i: usize) -> Option<Step> {
        let path = vec![PathSeg::from(section.key()), PathSeg::Index(i)];
        let (action, when) = self.split_step(item, &path)?;
        // The condition is checked even when the action is broken: every problem at once.
        let when =
            when.map(|when| self.condition(when, section, &join(&path, [PathSeg::from("when")])));
        let (kind, inner) = action?;
        let raw: RawAction = self
            .locator
            .deserialize_tagged_all(&kind, inner, &path)
            .map_err(|d| self.diags.extend(d))
            .ok()?;
        let at = join(&path, [PathSeg::from(kind.as_str())]);
        let used_by = self.used_by(&kind, section, i, &at);
        let action = match raw {
            RawAction::PinStatus(pin) => {
                if section == Section::Open {
                    self.one_status_post(i, &at);
                }
                Action::PinStatus(self.pin_status(pin, &at, section, &used_by))
            }
            RawAction::Autoresponder(auto) => {
                Action::Autoresponder(self.autoresponder(auto, &at, &used_by))
            }
            RawAction::ReplyDrafts(drafts) => {
                Action::ReplyDrafts(self.reply_drafts(drafts, &at, &used_by))
            }
            RawAction::Notify(notify) => Action::Notify(self.notify(notify, &at, &used_by)),
            RawAction::Webhook(webhook) => Action::Webhook(self.webhook(webhook, &at, &used_by)),
        };
        Some(Step {
            when: when.flatten(),
            action,
        })
    }

    /// A step's one action (key and value) if it has exactly one, and its `when`.
    fn split_step(&mut self, item: Value, path: &[PathSeg]) -> Option<SplitStep> {
        let Value::Mapping(map) = item else {
            self.error(
                CODES.wrong_type,
                path,
                "a step is a mapping with one action key",
                "write e.g. `- notify: {to: [\"role:commander\"], template: notify/opened}`",
            );
            return None;
        };
        let mut valid: Vec<String> = ACTION_KINDS.iter().map(|k| (*k).to_owned()).collect();
        valid.push("when".to_owned());
        let mut actions = Vec::new();
        let mut when = None;
        let mut clean = true;
        for (key, value) in map {
            let key = key_text(&key);
            if key == "when" {
                when = Some(value);
            } else if ACTION_KINDS.contains(&key.as_str()) {
                actions.push((key, value));
            } else {
                clean = false;
                let at = join(path, [PathSeg::from(key.as_str())]);
                self.error_at_key(
                    CODES.unknown_key,
                    &at,
                    format!("unknown key `{key}` in a step"),
                    suggestion_hint(&key, &valid, "a step takes one action and `when`"),
                );
            }
        }
        let action = match actions.len() {
            0 if clean => {
                self.error(
                    CODES.missing_key,
                    path,
                    "this step has no action",
                    suggestion_hint("", &valid[..ACTION_KINDS.len()], "give one of"),
                );
                None
            }
            1 if clean => actions.pop(),
            n if n > 1 => {
                let at = join(path, [PathSeg::from(actions[1].0.as_str())]);
                self.error_at_key(
                    "playbook::one-per-item",
                    &at,
                    format!(
                        "this step has two actions, `{}` and `{}`",
                        actions[0].0, actions[1].0
                    ),
                    "a step does exactly one thing: give each action its own `- ` item",
                );
                None
            }
            _ => None,
        };
        Some((action, when))
    }

    /// "the `pin_status` step on_open #1 of playbook `site-down` (pb.yaml:12:7)".
    fn used_by(&self, kind: &str, section: Section, i: usize, at: &[PathSeg]) -> String {
        let pos = self.locator.index.key_or_value(at);
        format!(
            "the `{kind}` step {} #{} of playbook `{}` ({}:{}:{})",
            section.key(),
            i + 1,
            self.name,
            self.locator.file.display(),
            pos.line,
            pos.column
        )
    }

    fn condition(&mut self, value: Value, section: Section, at: &[PathSeg]) -> Option<Condition> {
        let raw: RawCondition = self
            .locator
            .deserialize_all(value, at, &[], &|v| v)
            .map_err(|d| self.diags.extend(d))
            .ok()?;
        let valid: Vec<String> = TRIGGER_KINDS.iter().map(|k| (*k).to_owned()).collect();
        for (i, kind) in raw.triggered_by.iter().enumerate() {
            let path = join(at, [PathSeg::from("triggered_by"), PathSeg::Index(i)]);
            if !valid.contains(kind) {
                self.error(
                    CODES.invalid_value,
                    &path,
                    format!("`{kind}` is not a trigger kind"),
                    suggestion_hint(kind, &valid, "trigger kinds"),
                );
            } else if !self.trigger_kinds.contains(kind.as_str()) {
                self.warn("playbook::never-runs", &path, format!("this playbook has no `{kind}` trigger, so this condition never holds for it"), "add such a trigger, or remove the kind from `triggered_by`");
            }
        }
        for (i, state) in raw.states.iter().enumerate() {
            if section.states().contains(state) {
                continue;
            }
            let path = join(at, [PathSeg::from("states"), PathSeg::Index(i)]);
            let message = format!(
                "an incident is never `{}` when its `{}` steps run, so this condition never holds there",
                state.as_str(),
                section.key(),
            );
            let hint = format!(
                "{}; a step for `{}` belongs in `{}`",
                section.when(),
                state.as_str(),
                Section::running_in(*state).key()
            );
            self.warn("playbook::never-runs", &path, message, hint);
        }
        Some(Condition {
            states: raw.states,
            triggered_by: raw.triggered_by,
            labels: raw.labels,
        })
    }

    /// An incident has one status post: one text, approved once, pinned on
    /// the accounts of the opening pin_status. The engine keeps one status
    /// per incident, so a second opening pin_status would replace the
    /// first, and only its accounts would ever get a status.
    fn one_status_post(&mut self, i: usize, at: &[PathSeg]) {
        let Some(first) = self.open_pin_step else {
            self.open_pin_step = Some(i);
            return;
        };
        let hint = format!("list every account in the first one (on_open #{}): the status is one text per incident, approved once and pinned everywhere", first + 1);
        self.error_at_key(
            "playbook::second-status",
            at,
            "a second `pin_status` in `on_open`: an incident has one status post, so only one step's accounts would get it",
            hint,
        );
    }

    fn pin_status(
        &mut self,
        raw: RawPinStatus,
        at: &[PathSeg],
        section: Section,
        used_by: &str,
    ) -> PinStatus {
        let accounts = match &raw.accounts {
            Some(names) => {
                self.references(Ref::Account, names, &join(at, [PathSeg::from("accounts")]))
            }
            None if section != Section::Open && !self.open_pin_accounts.is_empty() => {
                self.open_pin_accounts.clone()
            }
            None => {
                let hint = format!(
                    "list the accounts to post on, e.g. `accounts: [{}]`",
                    self.config
                        .accounts
                        .keys()
                        .next()
                        .map_or("acme-main", String::as_str)
                );
                self.error_at_key(
                    CODES.missing_key,
                    at,
                    "this pin_status does not say which `accounts` to post on",
                    hint,
                );
                Vec::new()
            }
        };
        if section == Section::Open {
            self.open_pin_accounts.extend(
                accounts
                    .iter()
                    .filter(|a| !self.open_pin_accounts.contains(a))
                    .cloned()
                    .collect::<Vec<_>>(),
            );
            if raw.template.is_none() {
                self.error_at_key(
                    CODES.missing_key,
                    at,
                    "the opening pin_status needs a `template` for the status text",
                    "e.g. `template: status/site-down`",
                );
            }
        }
        if section != Section::Open
            && raw.template.is_none()
            && raw.final_template.is_none()
            && !raw.restore_previous
        {
            self.error_at_key(
                "playbook::empty-step",
                at,
                "this pin_status has nothing to do",
                "give a `template`, or on resolve `final_template` and/or `restore_previous: true`",
            );
        }
        for (key, template) in [
            ("template", &raw.template),
            ("final_template", &raw.final_template),
        ] {
            if let Some(template) = template {
                let path = join(at, [PathSeg::from(key)]);
                self.template(template, StepContext::Status, &path, used_by);
                self.warn_too_long(template, &accounts, &path);
            }
        }
        if raw.template.is_some() {
            // Written names keep their places in the file (unknown ones are skipped there).
            let listed = raw.accounts.as_deref().unwrap_or(&accounts);
            self.warn_unpinnable(listed, raw.accounts.is_some(), at);
        }
        if section != Section::Open && raw.at_pin_limit.is_some() {
            self.warn(
                "playbook::ignored-setting",
                &join(at, [PathSeg::from("at_pin_limit")]),
                "`at_pin_limit` has no effect here: the status is pinned by the opening pin_status",
                "move it to the pin_status in `on_open`",
            );
        }
        // Approval guards what is posted; a step that only restores pins posts nothing.
        let posts = raw.template.is_some() || raw.final_template.is_some();
        let approval = if posts || raw.approval.is_some() {
            self.approval(raw.approval, at)
        } else {
            None
        };
        PinStatus {
            accounts,
            template: raw.template,
            approval,
            restore_previous: raw.restore_previous,
            final_template: raw.final_template,
            at_pin_limit: raw.at_pin_limit.unwrap_or_default(),
        }
    }

    /// Warns for every account whose platform cannot pin. With `written`,
    /// `accounts` is the list as written, so that index `i` is its place.
    fn warn_unpinnable(&mut self, accounts: &[String], written: bool, at: &[PathSeg]) {
        for (i, name) in accounts.iter().enumerate() {
            let Some(account) = self.config.accounts.get(name) else {
                continue;
            };
            if can_pin(account.platform) {
                continue;
            }
            let path = if written {
                join(at, [PathSeg::from("accounts"), PathSeg::Index(i)])
            } else {
                at.to_vec()
            };
            let message = format!(
                "account `{name}` is on {}, which cannot pin posts",
                account.platform.as_str()
            );
            self.warn(
                "playbook::cannot-pin",
                &path,
                message,
                "the status will be posted but not pinned on that account",
            );
        }
    }

    fn approval(&mut self, raw: Option<RawApprovalSetting>, at: &[PathSeg]) -> Option<Approval> {
        let path = join(at, [PathSeg::from("approval")]);
        let (by, by_path, timeout, then) = match raw {
            Some(RawApprovalSetting::None(_)) => return None,
            None => (
                DEFAULT_APPROVER.to_owned(),
                None,
                DEFAULT_APPROVAL_TIMEOUT,
                ApprovalTimeout::Hold,
            ),
            Some(RawApprovalSetting::Rule(rule)) => {
                let timeout = self.duration(
                    rule.timeout.as_ref(),
                    &join(&path, [PathSeg::from("timeout")]),
                    DEFAULT_APPROVAL_TIMEOUT,
                    approval_floor(rule.then),
                );
                let by_path = rule.by.as_ref().map(|_| join(&path, [PathSeg::from("by")]));
                (
                    rule.by.unwrap_or_else(|| DEFAULT_APPROVER.to_owned()),
                    by_path,
                    timeout,
                    rule.then.unwrap_or(ApprovalTimeout::Hold),
                )
            }
        };
        match by_path {
            Some(by_path) => {
                self.reference(Ref::Role, &by, &by_path);
            }
            None if !self.config.roles.contains_key(&by) => {
                let message = format!("this status waits for approval by role `{by}` (the default), but no such role is configured");
                self.error_at_key(Ref::Role.code(), at, message, format!("add `roles: {{{by}: [...]}}` to the config, or write `approval: none` to post with no human"));
            }
            None => {}
        }
        Some(Approval { by, timeout, then })
    }

    fn autoresponder(
        &mut self,
        raw: RawAutoresponder,
        at: &[PathSeg],
        used_by: &str,
    ) -> Autoresponder {
        if raw.accounts.is_empty() {
            self.error(
                CODES.invalid_value,
                &join(at, [PathSeg::from("accounts")]),
                "this autoresponder has no accounts",
                "list the accounts that auto-reply, e.g. `accounts: [acme-help]`",
            );
        }
        let accounts = self.references(
            Ref::Account,
            &raw.accounts,
            &join(at, [PathSeg::from("accounts")]),
        );
        self.reference(
            Ref::Schedule,
            &raw.schedule,
            &join(at, [PathSeg::from("schedule")]),
        );
        self.template(
            &raw.template,
            StepContext::Autoreply,
            &join(at, [PathSeg::from("template")]),
            used_by,
        );
        if let Some(team) = &raw.on_call {
            self.reference(Ref::Team, team, &join(at, [PathSeg::from("on_call")]));
        }
        Autoresponder {
            accounts,
            schedule: raw.schedule,
            template: raw.template,
            on_call: raw.on_call,
            public_mentions: raw.public_mentions,
        }
    }

    fn reply_drafts(&mut self, raw: RawReplyDrafts, at: &[PathSeg], used_by: &str) -> ReplyDrafts {
        self.template(
            &raw.template,
            StepContext::Draft,
            &join(at, [PathSeg::from("template")]),
            used_by,
        );
        let team_path = join(at, [PathSeg::from("to"), PathSeg::from("team")]);
        if self.reference(Ref::Team, &raw.to.team, &team_path) && !raw.to.skills.is_empty() {
            self.warn_unskilled_team(
                &raw.to.team,
                &raw.to.skills,
                &join(at, [PathSeg::from("to"), PathSeg::from("skills")]),
            );
        }
        if let Some(role) = &raw.escalate_to {
            self.reference(Ref::Role, role, &join(at, [PathSeg::from("escalate_to")]));
        }
        if raw.auto_send {
            self.warn("playbook::no-human", &join(at, [PathSeg::from("auto_send")]), "drafts nobody approves will reach customers with no human in between", "that is what `auto_send: true` asks for; leave it out to have a person send every reply");
        }
        ReplyDrafts {
            sla: self.duration(
                raw.sla.as_ref(),
                &join(at, [PathSeg::from("sla")]),
                DEFAULT_SLA,
                Floor::Minute(SLA_FLOOR),
            ),
            template: raw.template,
            team: raw.to.team,
            match_language: raw.to.match_language.unwrap_or(true),
            skills: raw.to.skills,
            escalate_to: raw.escalate_to,
            auto_send: raw.auto_send,
        }
    }

    /// Warns when no member of `team` has every skill a draft requires.
    fn warn_unskilled_team(&mut self, team: &str, skills: &[String], path: &[PathSeg]) {
        let Some(members) = self.config.teams.get(team).map(|t| &t.members) else {
            return;
        };
        let skilled = members
            .iter()
            .filter_map(|id| self.config.staff.get(id))
            .any(|staff| skills.iter().all(|s| staff.skills.contains(s)));
        if !skilled {
            self.warn("playbook::no-skilled-staff", path, format!("nobody in team `{team}` has all of these skills"), "drafts would wait unassigned: add the skills to staff in the config, or ask for fewer");
        }
    }

    fn notify(&mut self, raw: RawNotify, at: &[PathSeg], used_by: &str) -> Notify {
        if raw.to.is_empty() {
            self.error(
                CODES.invalid_value,
                &join(at, [PathSeg::from("to")]),
                "this notify has nobody to tell",
                "e.g. `to: [\"role:commander\", \"team:social-care\"]`",
            );
        }
        let to = raw
            .to
            .iter()
            .enumerate()
            .filter_map(|(i, r)| {
                self.recipient(r, &join(at, [PathSeg::from("to"), PathSeg::Index(i)]))
            })
            .collect();
        self.template(
            &raw.template,
            StepContext::Notify,
            &join(at, [PathSeg::from("template")]),
            used_by,
        );
        let via = raw
            .via
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| vec![Channel::Email]);
        Notify {
            to,
            via,
            template: raw.template,
        }
    }

    fn recipient(&mut self, written: &str, path: &[PathSeg]) -> Option<Recipient> {
        let (kind, name) = written
            .split_once(':')
            .map(|(k, n)| (k.trim(), n.trim()))
            .unwrap_or(("", written));
        let (reference, recipient): (Ref, fn(String) -> Recipient) = match kind {
            "role" if !name.is_empty() => (Ref::Role, Recipient::Role),
            "team" if !name.is_empty() => (Ref::Team, Recipient::Team),
            "staff" if !name.is_empty() => (Ref::Staff, Recipient::Staff),
            _ => {
                self.error(
                    CODES.invalid_value,
                    path,
                    format!("`{written}` does not name a role, a team or a person"),
                    "write `role:NAME`, `team:NAME` or `staff:ID`",
                );
                return None;
            }
        };
        self.reference(reference, name, path)
            .then(|| recipient(name.to_owned()))
    }

    fn webhook(&mut self, raw: RawWebhook, at: &[PathSeg], used_by: &str) -> Webhook {
        if !(raw.url.starts_with("https://") || raw.url.starts_with("http://")) {
            self.error(
                CODES.invalid_value,
                &join(at, [PathSeg::from("url")]),
                format!("`{}` is not an http(s) address", raw.url),
                "write the full address, e.g. `https://status.example/api`",
            );
        }
        if let Some(template) = &raw.template {
            self.template(
                template,
                StepContext::Webhook,
                &join(at, [PathSeg::from("template")]),
                used_by,
            );
        }
        if raw
            .secret_env
            .as_deref()
            .is_some_and(|name| !is_env_var_name(name))
        {
            let hint = "secrets are never written inline: put the secret in an environment variable and give its name, e.g. `STATUSPAGE_HMAC`";
            self.error(CODES.invalid_value, &join(at, [PathSeg::from("secret_env")]), "`secret_env` must be the NAME of an environment variable (the value is not shown: it may be a secret)", hint);
        }
        Webhook {
            url: raw.url,
            template: raw.template,
            secret_env: raw.secret_env,
        }
    }

    // ---- shared checks ----

    /// A duration within its bounds (see [`check_duration`]), `default` when
    /// absent or invalid (an invalid one is reported).
    fn duration(
        &mut self,
        text: Option<&DurationText>,
        path: &[PathSeg],
        default: Duration,
        floor: Floor,
    ) -> Duration {
        let Some(DurationText(text)) = text else {
            return default;
        };
        check_duration(text, floor).unwrap_or_else(|refusal| {
            self.error(
                "playbook::bad-duration",
                path,
                refusal.message,
                refusal.hint,
            );
            default
        })
    }

    /// The names that exist in the config; each other one reported.
    fn references(&mut self, kind: Ref, names: &[String], path: &[PathSeg]) -> Vec<String> {
        names
            .iter()
            .enumerate()
            .filter(|(i, name)| self.reference(kind, name, &join(path, [PathSeg::Index(*i)])))
            .map(|(_, name)| name.clone())
            .collect()
    }

    /// Whether `name` exists in the config; reported at `path` if not.
    fn reference(&mut self, kind: Ref, name: &str, path: &[PathSeg]) -> bool {
        let names = kind.names(self.config);
        if names.contains(&name) {
            return true;
        }
        let hint = match closest(name, names.iter().copied()) {
            Some(best) => format!("did you mean `{best}`?"),
            None if names.is_empty() => format!(
                "no {} are configured: add `{name}` under `{}` in the config",
                kind.section(),
                kind.section()
            ),
            None => format!(
                "configured {}: {}",
                kind.section(),
                names
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        self.error(
            kind.code(),
            path,
            format!("no {} named `{name}` in the config", kind.noun()),
            hint,
        );
        false
    }

    /// Checks a template exists, and (once per context) everything about it
    /// that would fail when the step renders it.
    /// Warns when status template `name`, rendered with sample data in
    /// each account's language, is longer than one post on that account's
    /// platform: the approver would be told to shorten it under pressure,
    /// and a status posted without approval would be refused there.
    fn warn_too_long(&mut self, name: &str, accounts: &[String], path: &[PathSeg]) {
        let over: Vec<String> = accounts
            .iter()
            .filter_map(|a| {
                let account = self.config.accounts.get(a)?;
                let lang = account
                    .language
                    .as_deref()
                    .unwrap_or(&self.config.default_language);
                let max = crate::adapters::capabilities_for(account.platform).max_chars;
                let longest = self
                    .templates
                    .sample_texts(name, lang, StepContext::Status)
                    .iter()
                    .map(|text| crate::adapters::post_length(account.platform, text))
                    .max()?;
                (longest > max).then(|| {
                    format!(
                        "{a} ({}, {lang}: {longest} of {max})",
                        account.platform.as_str()
                    )
                })
            })
            .collect();
        if over.is_empty() {
            return;
        }
        self.warn(
            "playbook::status-too-long",
            path,
            format!(
                "`{name}` rendered with sample data is longer than one post on {}",
                over.join(", ")
            ),
            "shorten the template (X counts a Japanese or Chinese character as two): otherwise \
             the approver must cut it while the incident runs, and a status posted without \
             approval is refused there",
        );
    }

    fn template(&mut self, name: &str, ctx: StepContext, path: &[PathSeg], used_by: &str) {
        if self.templates.failed_to_load(name) {
            return;
        }
        if !self.templates.contains(name) {
            let hint = unknown_template_hint(name, self.templates, self.config);
            self.error(
                "playbook::unknown-template",
                path,
                format!("no template named `{name}`"),
                hint,
            );
            return;
        }
        if self.checked_templates.insert((name.to_owned(), ctx)) {
            for problem in self.templates.check(name, ctx) {
                self.diags
                    .push(template_problem_diagnostic(&problem, name, used_by));
            }
        }
    }
}

/// A mapping key as text (non-text keys shown as YAML).
fn key_text(key: &Value) -> String {
    match key {
        Value::String(s) => s.clone(),
        other => serde_yaml::to_string(other)
            .map(|s| s.trim().to_owned())
            .unwrap_or_default(),
    }
}

/// Up to three time zone names close to `given`, compared city to city
/// (`Europe/Warsw` → `Europe/Warsaw`, `warsaw` → `Europe/Warsaw`).
fn close_timezones(given: &str) -> Vec<&'static str> {
    let given = given.to_lowercase();
    let given_city = last_segment(&given);
    let mut scored: Vec<(f64, &'static str)> = chrono_tz::TZ_VARIANTS
        .iter()
        .map(|tz| tz.name())
        .map(|name| {
            let lower = name.to_lowercase();
            let score = if lower == given {
                1.0
            } else {
                strsim::jaro_winkler(given_city, last_segment(&lower))
            };
            (score, name)
        })
        .filter(|(score, _)| *score >= 0.9)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.into_iter().take(3).map(|(_, name)| name).collect()
}

fn last_segment(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn playbook_names_are_lowercase_words_joined_by_dashes() {
        for good in ["site-down", "a", "9-lives", "login-failure-2"] {
            assert!(is_playbook_name(good), "{good}");
        }
        for bad in ["", "-site", "Site-Down", "site_down", "site down", "żółw"] {
            assert!(!is_playbook_name(bad), "{bad}");
        }
    }

    #[test]
    fn only_x_and_status_pages_cannot_pin() {
        let cannot: Vec<PlatformKind> = [
            PlatformKind::Mastodon,
            PlatformKind::Bluesky,
            PlatformKind::X,
            PlatformKind::Telegram,
            PlatformKind::Discord,
            PlatformKind::Slack,
            PlatformKind::Statuspage,
            PlatformKind::Sim,
        ]
        .into_iter()
        .filter(|p| !can_pin(*p))
        .collect();
        assert_eq!(cannot, vec![PlatformKind::X, PlatformKind::Statuspage]);
    }

    #[test]
    fn close_time_zones_are_found_for_typos_and_bare_cities() {
        assert!(close_timezones("Europe/Warsw").contains(&"Europe/Warsaw"));
        assert!(close_timezones("warsaw").contains(&"Europe/Warsaw"));
        assert!(close_timezones("Qwertyuiop/Asdf").is_empty());
    }
}
