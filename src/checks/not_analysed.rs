//! `not-analysed`: a deployable file gate could not look inside.
//!
//! A script or config file that the content checks skip is a file whose loop, address or
//! password nobody checked: too big to read, a NUL byte that makes it read as binary, a line
//! longer than pattern matching reads, or a symlink that leaves the tree. A note about it would
//! let it ship; so it is a finding, `deny` by default, until someone waives it for the release.

use serde::Deserialize;

use super::{Check, Context, Doc, Finding, Output};
use crate::Result;
use crate::config::{Settings, Severity};
use crate::git::{ContentKind, LinkProblem, Mode, READ_LIMIT};

pub struct NotAnalysedCheck;

const ID: &str = "not-analysed";

/// The largest script the pattern scan reads (risky-pattern's cap).
const SCRIPT_MAX_BYTES: u64 = 4 * 1024 * 1024;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct NotAnalysedSettings {}

impl Settings for NotAnalysedSettings {}

static DOC: Doc = Doc {
    codes: &["too-large", "binary", "link-out-of-tree", "broken-link"],
    summary: "A changed file of the scripts or config class that gate could not analyse: too large, a NUL byte, a line \
              longer than pattern matching reads, or a symlink that leaves the tree or points at nothing.",
    why: "Every content check skips what it cannot read, and a skipped file is an unchecked file. A NUL byte early in a \
          script, one 5,000-character line, or a link to ../../elsewhere is all it takes to carry an infinite loop or \
          a bad address past the checks. Such a file blocks until someone has looked and waived it.",
    example: "not-analysed  deny\n  bin/sync.sh: a NUL byte in its first 8000 bytes makes it read as binary: no check looked inside it\n    \
              help: remove the NUL byte, or review the file and waive it: gate waive not-analysed --path bin/sync.sh --reason \"...\" --expires YYYY-MM-DD",
    config: "[checks.not-analysed]\nseverity = \"deny\"",
};

impl Check for NotAnalysedCheck {
    type Settings = NotAnalysedSettings;

    fn id(&self) -> &'static str {
        ID
    }

    fn default_severity(&self) -> Severity {
        Severity::Deny
    }

    fn doc(&self) -> &'static Doc {
        &DOC
    }

    fn run(
        &self,
        cx: &Context<'_>,
        _settings: &NotAnalysedSettings,
        severity: Severity,
        out: &mut Output,
    ) -> Result<()> {
        let paths = &cx.policy.paths;
        let config_max = cx.analysis.config_max_bytes();
        for link in cx.analysis.links() {
            let (code, why) = match &link.resolved {
                Ok(_) => continue,
                Err(LinkProblem::OutOfTree) => {
                    ("link-out-of-tree", format!("a symlink to `{}`, outside the repository", link.target))
                }
                Err(LinkProblem::Unreadable(why)) => ("broken-link", format!("a symlink to `{}`: {why}", link.target)),
            };
            out.findings.push(finding(
                code,
                severity,
                &link.path,
                format!("{why}: what it deploys is not in the release, so no check looked at it"),
            ));
        }
        for change in cx.changes.iter() {
            let Some(side) = change.new.as_ref().filter(|s| matches!(s.mode, Mode::File | Mode::Executable)) else {
                continue;
            };
            let path = &change.path;
            let script = paths.scripts.matches(path);
            if (!script && !paths.config.matches(path)) || paths.ignore.matches(path) {
                continue;
            }
            let facts = cx.analysis.store.facts(side.id)?;
            let cap = if script { SCRIPT_MAX_BYTES } else { config_max };
            let problem = match facts.kind {
                ContentKind::Unread => {
                    Some(("too-large", format!("{} bytes, over the {} gate reads", facts.size, READ_LIMIT)))
                }
                ContentKind::Binary => {
                    Some(("binary", "a NUL byte in its first 8000 bytes makes it read as binary".to_string()))
                }
                ContentKind::Text if facts.size > cap => {
                    Some(("too-large", format!("{} bytes, over the {cap} the checks read", facts.size)))
                }
                // Over-long lines are matched too (risky-pattern reads them whole), so they are
                // analysed: no finding.
                ContentKind::Text => None,
            };
            if let Some((code, why)) = problem {
                out.findings.push(finding(code, severity, path, format!("{why}: no check looked inside it")));
            }
        }
        Ok(())
    }
}

fn finding(code: &str, severity: Severity, path: &str, message: String) -> Finding {
    Finding::new(
        ID,
        code,
        severity,
        message,
        format!("fix it, or review the file and waive it: gate waive {ID} --path {path} --reason \"...\" --expires YYYY-MM-DD"),
    )
    .at(path)
}
