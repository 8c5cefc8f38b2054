//! `submodule-change`: the release moves a submodule's pointer.
//!
//! A submodule ships whatever commit it points at, and gate sees none of it: a one-line change
//! to the pointer can carry any amount of untested code, a `_v2` script or a broken config past
//! every other check. So the move itself is a finding, naming what the submodule pointed at
//! and what it points at now, for someone to review. A submodule of the `tests` path class (a
//! test framework such as bats under `test/`) does not ship: it is a warning.

use serde::Deserialize;

use super::{Check, Context, Doc, Finding, Output};
use crate::Result;
use crate::config::{Settings, Severity};
use crate::git::{Mode, short};

pub struct SubmoduleChange;

const ID: &str = "submodule-change";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct SubmoduleSettings {}

impl Settings for SubmoduleSettings {}

static DOC: Doc = Doc {
    codes: &["added", "moved", "removed"],
    summary: "The release adds, moves or removes a submodule: what it deploys is a commit gate does not look inside.",
    why: "A submodule pointer is one line in the diff and any amount of code in the deploy. Untested scripts, copies \
          and broken config in the submodule's new commit pass every check of the release, because gate only sees the \
          pointer. The move is a finding so that someone reviews what it brings.",
    example: "submodule-change  deny\n  vendor/auth: the submodule moves from 3f2a9c1b7e to 8d1c0f2a44: gate does not look inside it\n    \
              help: review what it brings (git -C vendor/auth log 3f2a9c1b7e..8d1c0f2a44), then waive it for this release: gate waive submodule-change --path vendor/auth --reason \"...\" --expires YYYY-MM-DD",
    config: "[checks.submodule-change]\nseverity = \"deny\"",
};

impl Check for SubmoduleChange {
    type Settings = SubmoduleSettings;

    fn id(&self) -> &'static str {
        ID
    }

    fn default_severity(&self) -> Severity {
        Severity::Deny
    }

    fn doc(&self) -> &'static Doc {
        &DOC
    }

    fn run(&self, cx: &Context<'_>, _settings: &SubmoduleSettings, severity: Severity, out: &mut Output) -> Result<()> {
        for change in cx.changes.iter() {
            let pointer = |side: Option<&crate::git::Side>| side.filter(|s| s.mode == Mode::Submodule).map(|s| s.id);
            let (old, new) = (pointer(change.old.as_ref()), pointer(change.new.as_ref()));
            let path = &change.path;
            let waive = format!(
                "then waive it for this release: gate waive {ID} --path {path} --reason \"...\" --expires YYYY-MM-DD"
            );
            let (code, level, message, help, subject) = match (old, new) {
                (None, None) => continue,
                (Some(old), Some(new)) => (
                    "moved",
                    severity,
                    format!(
                        "the submodule moves from {} to {}: gate does not look inside it, so nothing it carries is checked",
                        short(old),
                        short(new)
                    ),
                    format!("review what it brings (git -C {path} log {}..{}), {waive}", short(old), short(new)),
                    new,
                ),
                (None, Some(new)) => (
                    "added",
                    severity,
                    format!("the release adds a submodule at {}: gate does not look inside it", short(new)),
                    format!("review what it brings (git -C {path} log {}), {waive}", short(new)),
                    new,
                ),
                (Some(old), None) => (
                    "removed",
                    severity.min(Severity::Warn),
                    format!("the release removes the submodule (it pointed at {})", short(old)),
                    "make sure nothing deployed still needs it".to_string(),
                    old,
                ),
            };
            // A test harness (bats under test/) runs in CI, not where the release goes: it is
            // worth a line, not a block.
            let paths = &cx.policy.paths;
            let (level, message) = if paths.tests.matches(path) && !paths.scripts.matches(path) {
                (level.min(Severity::Warn), format!("{message} (a test submodule: it does not ship)"))
            } else {
                (level, message)
            };
            out.findings.push(Finding::new(ID, code, level, message, help).at(path).about(subject.to_string()));
        }
        Ok(())
    }
}
