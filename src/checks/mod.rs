//! Checks: one kind of inspection each, one file each, all listed in [`CHECKS`].
//!
//! A check reads the [`Context`] (the release, its base, the changes between them, the policy,
//! the evidence and the shared analysis) and writes findings, and the files it could not
//! analyse, to an [`Output`]. It never prints and never decides the verdict: the runner applies
//! waivers and the report turns findings into a verdict and an exit code.

mod blast_radius;
mod config_address;
mod config_risk;
mod config_syntax;
mod dependency_change;
mod evidence_trust;
mod freeze_window;
mod near_duplicate;
mod not_analysed;
mod policy_change;
mod required_evidence;
mod risky_pattern;
mod rollback_ready;
mod runner;
mod staged_rollout;
mod stop_the_line;
mod submodule_change;
mod test_evidence;
mod untested_change;
mod variant_name;

use serde::Serialize;

use crate::Result;
use crate::analysis::{Analysis, Needs};
use crate::config::{Catalog, CheckSettings, Options, Policy, Problem, Settings, Severity};
use crate::evidence::EvidenceSet;
use crate::git::{BlobStore, ChangeSet, Range};

pub use crate::analysis::similarity::{DiffLine, DiffSide};
pub use config_risk::Masker;
pub use config_syntax::describe as describe_config;
pub use runner::{CheckResults, run_checks, run_checks_except};
pub use variant_name::{VariantPair, variant_pairs};

/// Rounds a ratio to three decimals, so reports are stable and readable.
pub fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

/// A ratio as a whole percentage, rounded down so that 79.9% never reads as 80%.
pub fn percent(value: f64) -> u32 {
    (value * 100.0 + 1e-9).floor() as u32
}

/// The checks that judge evidence about a deploy (its test run, its earlier stages, its time)
/// rather than the content of the release: at the review stage they say what the release will
/// still need, without blocking; a backtest skips them.
pub const EVIDENCE_CHECKS: &[&str] = &[
    "test-evidence",
    "staged-rollout",
    "evidence",
    "evidence-trust",
    "freeze-window",
    "rollback-ready",
    "environment-lock",
];

/// Every check gate has, in the order they are listed and run.
pub static CHECKS: &[&dyn Registered] = &[
    &policy_change::PolicyChange,
    &blast_radius::BlastRadius,
    &variant_name::VariantName,
    &near_duplicate::NearDuplicate,
    &untested_change::UntestedChange,
    &submodule_change::SubmoduleChange,
    &not_analysed::NotAnalysedCheck,
    &test_evidence::TestEvidence,
    &staged_rollout::StagedRollout,
    &required_evidence::RequiredEvidence,
    &evidence_trust::EvidenceTrust,
    &freeze_window::FreezeWindow,
    &rollback_ready::RollbackReady,
    &config_syntax::ConfigSyntax,
    &config_address::ConfigAddress,
    &config_risk::ConfigRisk,
    &risky_pattern::RiskyPattern,
    &dependency_change::DependencyChange,
    &stop_the_line::EnvironmentLock,
    &stop_the_line::RejectedRelease,
];

/// What the checks in force will need read from the release tree, each check saying what its
/// own settings call for.
pub fn needs(policy: &Policy) -> Needs {
    let mut needs = Needs::default();
    for check in CHECKS {
        if let Some(checked) = policy.check(check.id())
            && checked.severity != Severity::Off
        {
            check.needs(&checked.settings, &mut needs);
        }
    }
    needs
}

/// What a check plans its scans of the changed files with (see [`Check::plan`]).
pub struct Plan<'p> {
    pub policy: &'p Policy,
    pub changes: &'p ChangeSet,
    pub store: &'p BlobStore<'p>,
}

/// Has each check in force plan its scans of the changed files (see [`Check::plan`]), at the
/// severity the policy sets it to.
pub fn plan(plan: &Plan<'_>) {
    for check in CHECKS {
        if let Some(checked) = plan.policy.check(check.id())
            && checked.severity != Severity::Off
        {
            check.plan(&checked.settings, checked.severity, plan);
        }
    }
}

/// The check with this id, if there is one.
pub fn find(id: &str) -> Option<&'static dyn Registered> {
    CHECKS.iter().copied().find(|check| check.id() == id)
}

/// The ids of all checks, for suggestions.
pub fn ids() -> impl Iterator<Item = &'static str> {
    CHECKS.iter().map(|check| check.id())
}

/// The registry as policy loading sees it: ids, default severities, option validation.
#[derive(Debug, Clone, Copy)]
pub struct Registry;

impl Catalog for Registry {
    fn ids(&self) -> Vec<&'static str> {
        ids().collect()
    }

    fn default_severity(&self, id: &str) -> Option<Severity> {
        find(id).map(|check| check.default_severity())
    }

    fn configure(&self, id: &str, options: &Options) -> std::result::Result<CheckSettings, Vec<Problem>> {
        match find(id) {
            Some(check) => check.configure(options),
            None => Err(vec![Problem::new(None, format!("unknown check `{id}`"))]),
        }
    }
}

/// One check. Its settings are validated once, when the policy loads, into `Self::Settings`;
/// its run gets them typed.
pub trait Check: Sync {
    /// The check's options, as written under `[checks.ID]`.
    type Settings: Settings + Default;

    /// Stable kebab-case id, used in gate.toml, waivers and every report format.
    fn id(&self) -> &'static str;

    /// Severity when no policy layer sets one.
    fn default_severity(&self) -> Severity;

    /// What `gate explain` prints.
    fn doc(&self) -> &'static Doc;

    /// What this check, configured so, needs read from the release tree.
    fn needs(&self, _settings: &Self::Settings, _needs: &mut Needs) {}

    /// The severity to run at. Most checks take the configured one; a check may raise it (a
    /// release cannot lower the severity of the check that watches the policy itself).
    fn effective_severity(&self, _cx: &Context<'_>, configured: Severity) -> Result<Severity> {
        Ok(configured)
    }

    /// Plans, once the changes are known and before their blobs are read, the scans this check
    /// will ask of them (see [`BlobStore::plan_scan`]), so that the pass reading them all for
    /// their facts does those too. Only a saving: a scan not planned is done when asked for.
    fn plan(&self, _settings: &Self::Settings, _severity: Severity, _plan: &Plan<'_>) {}

    /// Inspects the release and writes what it found to `out`, at `severity` unless the check
    /// has a reason to report a finding at another level.
    fn run(&self, cx: &Context<'_>, settings: &Self::Settings, severity: Severity, out: &mut Output) -> Result<()>;
}

/// A check as the registry holds it, its settings type erased. Implemented for every
/// [`Check`]; nothing implements it by hand.
pub trait Registered: Sync {
    fn id(&self) -> &'static str;
    fn default_severity(&self) -> Severity;
    fn doc(&self) -> &'static Doc;
    /// Validates merged options into this check's settings.
    fn configure(&self, options: &Options) -> std::result::Result<CheckSettings, Vec<Problem>>;
    fn needs(&self, settings: &CheckSettings, needs: &mut Needs);
    fn effective_severity(&self, cx: &Context<'_>, configured: Severity) -> Result<Severity>;
    fn plan(&self, settings: &CheckSettings, severity: Severity, plan: &Plan<'_>);
    fn run(&self, cx: &Context<'_>, settings: &CheckSettings, severity: Severity, out: &mut Output) -> Result<()>;
}

impl<C: Check> Registered for C {
    fn id(&self) -> &'static str {
        Check::id(self)
    }

    fn default_severity(&self) -> Severity {
        Check::default_severity(self)
    }

    fn doc(&self) -> &'static Doc {
        Check::doc(self)
    }

    fn configure(&self, options: &Options) -> std::result::Result<CheckSettings, Vec<Problem>> {
        options.validate::<C::Settings>()
    }

    fn needs(&self, settings: &CheckSettings, needs: &mut Needs) {
        let default = C::Settings::default();
        Check::needs(self, settings.get::<C::Settings>().unwrap_or(&default), needs);
    }

    fn effective_severity(&self, cx: &Context<'_>, configured: Severity) -> Result<Severity> {
        Check::effective_severity(self, cx, configured)
    }

    fn plan(&self, settings: &CheckSettings, severity: Severity, plan: &Plan<'_>) {
        if let Some(settings) = settings.get::<C::Settings>() {
            Check::plan(self, settings, severity, plan);
        }
    }

    fn run(&self, cx: &Context<'_>, settings: &CheckSettings, severity: Severity, out: &mut Output) -> Result<()> {
        let settings = settings.get::<C::Settings>().ok_or_else(|| {
            crate::Error::new(format!("[checks.{}]: the policy holds no settings for this check", Check::id(self)))
        })?;
        Check::run(self, cx, settings, severity, out)
    }
}

/// What a check writes.
#[derive(Debug, Default)]
pub struct Output {
    pub findings: Vec<Finding>,
    /// Files the check should have looked at but could not (binary, too large, over a cap).
    pub not_analysed: Vec<NotAnalysed>,
    /// What the reader must know about this check's run (a cap was reached).
    pub notes: Vec<String>,
}

/// A file a check did not analyse, and why: never a silent skip.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct NotAnalysed {
    pub check: &'static str,
    pub path: String,
    pub reason: String,
}

/// The text of `gate explain CHECK`.
#[derive(Debug)]
pub struct Doc {
    /// The codes its findings carry (see [`Finding::code`]); empty where they are the names of
    /// user-defined rules.
    pub codes: &'static [&'static str],
    /// One line: what the check finds.
    pub summary: &'static str,
    /// Why it exists: the incident or failure it guards against.
    pub why: &'static str,
    /// A finding as the user would see it.
    pub example: &'static str,
    /// Its configuration, as TOML with comments.
    pub config: &'static str,
}

/// What a check inspects. It holds no repository: what a check needs from git, the analysis
/// reads once for every check.
pub struct Context<'a> {
    pub policy: &'a Policy,
    pub range: &'a Range,
    pub changes: &'a ChangeSet,
    pub evidence: &'a EvidenceSet,
    pub analysis: &'a Analysis<'a>,
    pub now: jiff::Timestamp,
}

/// One thing a check reports. Its identity is the check, its code and its subject (see
/// [`Finding::identity`]): what machine formats key alerts on, never the message text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub check: &'static str,
    /// A stable kebab-case sub-code within the check (`marked-file`, `missing-scheme`, a
    /// risky-pattern rule id), documented with the check.
    pub code: String,
    pub severity: Severity,
    /// The file the finding is about, relative to the repository root; none for findings about
    /// the release as a whole.
    pub path: Option<String>,
    /// What within `path` (or the release) the finding is about, when a path is not enough to
    /// tell two findings apart: a key, the other file of a pair, the matched line.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub subject: String,
    /// 1-based line in `path`, when the finding is about a line.
    pub line: Option<u32>,
    /// 1-based column on `line`, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    pub message: String,
    /// How to fix it or waive it.
    pub help: String,
    /// Supporting lines shown under the message (a diff, a list of files).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
    /// Structured facts behind the finding (the pair and its similarity, the original of a
    /// variant, where gate looked for tests), for machine formats.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<FindingData>,
    /// Set when a waiver silences this finding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waived: Option<Waived>,
    /// Set when a waiver matched but has run out: the finding counts, and the report says why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expired_waiver: Option<ExpiredWaiver>,
}

/// A waiver that would cover a finding but expired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExpiredWaiver {
    /// Where it is written: `gate.toml:LINE`.
    pub source: String,
    /// Its last day (YYYY-MM-DD).
    pub expired: String,
}

/// The facts behind a finding, by kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum FindingData {
    /// `path` resembles `other`.
    Pair {
        other: String,
        /// Content similarity, 0 to 1, rounded to three decimals.
        similarity: f64,
        /// File name similarity, 0 to 1, rounded to three decimals.
        name_similarity: f64,
        /// Whether the two files are the same blob.
        identical: bool,
        /// The first lines that differ.
        diff: Vec<DiffLine>,
        /// How many more differing lines there are than `diff` shows.
        diff_more: usize,
        tested: bool,
    },
    /// `path` is named like a copy or version of `original`.
    Variant { marker: String, original: Option<String>, tested: bool },
    /// Where gate looked for a test of `path`.
    Untested { test_files: Vec<String>, tests_searched: usize },
}

impl Finding {
    pub fn new(
        check: &'static str,
        code: impl Into<String>,
        severity: Severity,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> Self {
        Finding {
            check,
            code: code.into(),
            severity,
            path: None,
            subject: String::new(),
            line: None,
            column: None,
            message: message.into(),
            help: help.into(),
            details: Vec::new(),
            data: None,
            waived: None,
            expired_waiver: None,
        }
    }

    /// Names what within the path the finding is about (see [`Finding::subject`]).
    pub fn about(mut self, subject: impl Into<String>) -> Self {
        self.subject = subject.into();
        self
    }

    /// What identifies this finding across releases and reports: check, code, path and
    /// subject. Positions and wording are not part of it, so an alert keeps its identity when
    /// lines move or a message is reworded.
    pub fn identity(&self) -> [&str; 4] {
        [self.check, &self.code, self.path.as_deref().unwrap_or(""), &self.subject]
    }

    pub fn at(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// Places the finding at a line and column of its file.
    pub fn at_line(mut self, line: u32, column: u32) -> Self {
        self.line = (line > 0).then_some(line);
        self.column = (line > 0 && column > 0).then_some(column);
        self
    }

    pub fn with_details(mut self, details: Vec<String>) -> Self {
        self.details = details;
        self
    }

    pub fn with_data(mut self, data: FindingData) -> Self {
        self.data = Some(data);
        self
    }

    /// Whether this finding blocks the release.
    pub fn blocks(&self, deny_warnings: bool) -> bool {
        self.waived.is_none()
            && match self.severity {
                Severity::Deny => true,
                Severity::Warn => deny_warnings,
                Severity::Off => false,
            }
    }
}

impl<'a> Context<'a> {
    /// The environment the release is going to, when one was given.
    pub fn target(&self) -> Result<Option<&'a crate::config::Environment>> {
        self.analysis.target()
    }
}

/// Why a finding does not block: a waiver in the policy, or approval evidence for the tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Waived {
    pub reason: String,
    /// Last day a waiver applies (YYYY-MM-DD); empty for approval evidence.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub expires: String,
    /// Where the exception is recorded: `gate.toml:LINE`, or the approval record.
    pub source: String,
}

impl Waived {
    /// Approval evidence lets the finding through.
    pub fn by_approval(approval: &crate::evidence::Record) -> Waived {
        Waived {
            reason: format!(
                "approved by {}{}",
                approval.who(),
                approval.detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default()
            ),
            expires: String::new(),
            source: format!("approval evidence recorded {}", crate::time::iso(approval.at)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_ids_are_unique_kebab_case() {
        let mut seen = std::collections::BTreeSet::new();
        for check in CHECKS {
            let id = check.id();
            assert!(seen.insert(id), "duplicate check id {id}");
            assert!(
                !id.is_empty()
                    && id.split('-').all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_lowercase())),
                "check id {id} is not kebab-case"
            );
        }
    }
}
