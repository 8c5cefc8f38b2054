//! `policy-change`: the release changes the gate policy itself.
//!
//! A release that edits gate.toml or a rule pack could weaken the gate that judges it. Such a
//! change blocks unless the release tree carries `approval` evidence. The severity used is the
//! stricter of the release's policy and the policy that was deployed (the base tree's), so a
//! release cannot switch this check off for itself.

use serde::Deserialize;

use super::{Check, Context, Doc, Finding, Output, Waived};
use crate::config::{Problem, Settings};
use crate::config::{Severity, compile_glob};
use crate::{Result, git};

pub struct PolicyChange;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct PolicySettings {
    /// More files that are part of the policy (CODEOWNERS, the CI workflow that runs gate).
    paths: Vec<toml::Spanned<String>>,
}

impl Settings for PolicySettings {
    fn problems(&self) -> Vec<Problem> {
        self.paths
            .iter()
            .filter_map(|p| {
                compile_glob(p.get_ref()).err().map(|err| Problem::at(p, format!("invalid glob: {}", err.kind())))
            })
            .collect()
    }
}

static DOC: Doc = Doc {
    codes: &["policy-changed"],
    summary: "The release changes gate.toml or a rule pack: it blocks unless the release tree is approved.",
    why: "A release must not weaken the gate that judges it. Turning a check off, adding a waiver or \
          loosening a threshold in the same release that needs it is how a gate gets quietly bypassed. \
          The change is fine once someone accountable has approved this exact tree.",
    example: "policy-change  deny\n  gate.toml: the release changes the gate policy (modified)\n    \
              help: have it approved: gate evidence add approval --detail \"reviewed by ...\"",
    config: "[checks.policy-change]\nseverity = \"deny\"          # the base tree's setting wins if it is stricter\npaths = [\"CODEOWNERS\"]      # more files that count as policy (globs)",
};

impl Check for PolicyChange {
    type Settings = PolicySettings;

    fn id(&self) -> &'static str {
        "policy-change"
    }

    fn default_severity(&self) -> Severity {
        Severity::Deny
    }

    fn doc(&self) -> &'static Doc {
        &DOC
    }

    fn effective_severity(&self, cx: &Context<'_>, configured: Severity) -> Result<Severity> {
        if cx.range.base.tree.is_none() {
            return Ok(configured);
        }
        let deployed = cx.analysis.deployed_policy()?.map(|policy| policy.severity(Check::id(self)));
        Ok(floor(configured, deployed))
    }

    fn run(&self, cx: &Context<'_>, settings: &PolicySettings, severity: Severity, out: &mut Output) -> Result<()> {
        if cx.range.base.is_first_deploy() {
            return Ok(());
        }
        let mut extra = globset::GlobSetBuilder::new();
        for pattern in &settings.paths {
            if let Ok(glob) = compile_glob(pattern.get_ref()) {
                extra.add(glob);
            }
        }
        let extra = extra.build().unwrap_or_else(|_| globset::GlobSet::empty());
        let is_policy =
            |path: &str| path == "gate.toml" || cx.policy.files.iter().any(|f| f == path) || extra.is_match(path);
        let approval = cx.analysis.approval();

        for change in cx.changes.iter() {
            let old_is_policy = change.old_path.as_deref().is_some_and(is_policy);
            if !is_policy(&change.path) && !old_is_policy {
                continue;
            }
            let what = match change.status {
                git::Status::Renamed => {
                    format!("renamed from {}", change.old_path.as_deref().unwrap_or("?"))
                }
                other => format!("{other:?}").to_lowercase(),
            };
            let mut finding = Finding::new(
                self.id(),
                "policy-changed",
                severity,
                format!(
                    "the release changes the gate policy ({what}); a release must not change the rules that judge it"
                ),
                "have this release approved: gate evidence add approval --detail \"who reviewed the policy change\"",
            )
            .at(&change.path);
            if let Some(record) = approval {
                finding.waived = Some(Waived::by_approval(record));
            }
            out.findings.push(finding);
        }
        Ok(())
    }
}

/// The severity policy-change runs at: what the release configures, but never below what the
/// deployed policy set. A deployed policy gate cannot read any more gives no floor of its own;
/// the built-in `deny` does.
fn floor(configured: Severity, deployed: Option<Severity>) -> Severity {
    configured.max(deployed.unwrap_or(Severity::Deny))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_release_cannot_lower_the_severity_the_deployed_policy_set() {
        assert_eq!(floor(Severity::Off, Some(Severity::Deny)), Severity::Deny);
        assert_eq!(floor(Severity::Warn, Some(Severity::Deny)), Severity::Deny);
        // A deployed `warn` lets a release keep `warn` or raise it, not switch the check off.
        assert_eq!(floor(Severity::Off, Some(Severity::Warn)), Severity::Warn);
        assert_eq!(floor(Severity::Deny, Some(Severity::Warn)), Severity::Deny);
        // Unreadable deployed policy: the built-in deny.
        assert_eq!(floor(Severity::Off, None), Severity::Deny);
    }
}
