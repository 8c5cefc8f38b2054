//! `policy-change`: the release changes the gate policy itself.
//!
//! A release that edits gate.toml or a rule pack could weaken the gate that judges it. Such a
//! change blocks unless the release tree carries `approval` evidence for `policy-change`. The
//! severity used is the stricter of the release's policy and the policy that was deployed (the
//! base tree's), so a release cannot switch this check off for itself; the files watched are
//! those of both policies (a release cannot drop a file from the list to change it unseen); and
//! no waiver applies to this check (see the runner).

use serde::Deserialize;

use super::{Check, Context, Doc, Finding, Output, Waived};
use crate::config::{Problem, Settings};
use crate::config::{Severity, compile_glob};
use crate::{Result, git};

pub struct PolicyChange;

const ID: &str = "policy-change";

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
    summary: "The release changes gate.toml, a rule pack or the allowed signers: it blocks unless the release tree \
              is approved for policy-change. No waiver applies to it.",
    why: "A release must not weaken the gate that judges it. Turning a check off, adding a waiver or \
          loosening a threshold in the same release that needs it is how a gate gets quietly bypassed. \
          The change is fine once someone accountable has approved this exact tree. Until the new policy is \
          deployed, the deployed one still sets the floor: waivers and lower severities the release adds are not \
          in force.",
    example: "policy-change  deny\n  gate.toml: the release changes the gate policy (modified)\n    \
              help: have it approved: gate evidence add approval --for policy-change --detail \"reviewed by ...\"",
    config: "[checks.policy-change]\nseverity = \"deny\"          # the base tree's setting wins if it is stricter\npaths = [\"CODEOWNERS\"]      # more files that count as policy (globs)",
};

impl Check for PolicyChange {
    type Settings = PolicySettings;

    fn id(&self) -> &'static str {
        ID
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
        let deployed = cx.analysis.deployed_policy()?;
        let deployed_paths = deployed.and_then(|p| p.settings::<PolicySettings>(ID)).map_or(&[][..], |s| &s.paths[..]);
        let mut extra = globset::GlobSetBuilder::new();
        for pattern in settings.paths.iter().chain(deployed_paths) {
            if let Ok(glob) = compile_glob(pattern.get_ref()) {
                extra.add(glob);
            }
        }
        let extra = extra.build().unwrap_or_else(|_| globset::GlobSet::empty());
        // The policy files of the release and of the last deploy, and the allowed signers both
        // name: who may sign evidence is policy too.
        let mut files: Vec<&str> = cx.policy.files.iter().map(String::as_str).collect();
        for policy in std::iter::once(cx.policy).chain(deployed) {
            files.extend(policy.trust.allowed_signers.as_deref());
        }
        if let Some(deployed) = deployed {
            files.extend(deployed.files.iter().map(|f| f.strip_suffix(" (last deploy)").unwrap_or(f)));
        }
        let is_policy = |path: &str| path == "gate.toml" || files.contains(&path) || extra.is_match(path);
        let approval = cx.analysis.approval(crate::evidence::Purpose::PolicyChange);

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
                "have this release approved: gate evidence add approval --for policy-change --detail \"who reviewed the policy change\"",
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
