//! `rollback-ready`: there is a deploy to roll back to, and the release builds on it.
//!
//! Incidents 002 and 003: both rollbacks failed when they were needed. gate cannot test a
//! rollback, but it can make sure there is something to roll back to (a recorded last deploy),
//! and that the release descends from it, so history was not rewritten underneath the
//! environment.

use serde::Deserialize;

use super::test_evidence::target;
use super::{Check, Context, Doc, Finding, Options, Output, Problem, Settings, Waived};
use crate::config::Severity;
use crate::git::{ledger, short};
use crate::{Error, Result};

pub struct RollbackReady;

const ID: &str = "rollback-ready";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
struct RollbackSettings {
    /// The environments this check applies to; empty means every environment.
    environments: Vec<String>,
}

impl Settings for RollbackSettings {}

static DOC: Doc = Doc {
    summary: "The environment has a recorded last deploy to roll back to, and the release descends from it.",
    why: "Incidents 002 and 003: in both, the rollback failed when it was needed. A rollback needs a known-good \
          deploy to return to; a release that does not descend from what runs now (a force-push, a release cut \
          from another branch) also drops whatever that deploy carried, so rolling forward and back stop being \
          symmetric.",
    example: "rollback-ready  deny\n  the release does not descend from the last deploy of production (3f2a9c1b7e): history was rewritten, or it comes from another branch\n    \
              help: release from a branch that contains 3f2a9c1b7e, or have this exception approved: gate evidence add approval",
    config: "[checks.rollback-ready]\nseverity     = \"deny\"\nenvironments = [\"production\"]   # empty: every environment",
};

impl Check for RollbackReady {
    fn id(&self) -> &'static str {
        ID
    }

    fn default_severity(&self) -> Severity {
        Severity::Deny
    }

    fn doc(&self) -> &'static Doc {
        &DOC
    }

    fn validate(&self, options: &Options) -> Vec<Problem> {
        options.validate::<RollbackSettings>()
    }

    fn run(&self, cx: &Context<'_>, options: &Options, severity: Severity, out: &mut Output) -> Result<()> {
        let Some(env) = target(cx)? else { return Ok(()) };
        let settings: RollbackSettings = options.settings(ID)?;
        if !settings.environments.is_empty() && !settings.environments.contains(&env.name) {
            return Ok(());
        }
        let release = cx.range.release.commit;
        let finding = match ledger::last_deploy(cx.repo, env)? {
            None => Some(Finding::new(
                ID,
                severity,
                format!(
                    "no deploy of {} is recorded: there is nothing to roll back to if this release fails",
                    env.name
                ),
                format!(
                    "for a first deploy, have it approved (gate evidence add approval); afterwards record every deploy: gate record --env {}",
                    env.name
                ),
            )),
            Some(last) if last.commit == release => None,
            Some(last) => {
                let descends = cx
                    .repo
                    .git
                    .graph_descendant_of(release, last.commit)
                    .map_err(|e| Error::git("cannot compare histories", &e))?;
                if descends {
                    None
                } else if cx.repo.is_shallow() {
                    return Err(Error::with_fix(
                        format!(
                            "cannot tell whether the release descends from the last deploy of {} ({}): the clone is shallow",
                            env.name,
                            short(last.commit)
                        ),
                        format!("run `git fetch --unshallow {}`", cx.repo.default_remote()),
                    ));
                } else {
                    Some(Finding::new(
                        ID,
                        severity,
                        format!(
                            "the release does not descend from the last deploy of {} ({}): history was rewritten, or it comes from another branch",
                            env.name,
                            short(last.commit)
                        ),
                        format!(
                            "release from a branch that contains {}, or have this exception approved: gate evidence add approval --detail \"...\"",
                            short(last.commit)
                        ),
                    ))
                }
            }
        };
        if let Some(mut finding) = finding {
            if let Some(approval) = cx.evidence.of_kind("approval").max_by_key(|r| r.at.clone()) {
                finding.waived = Some(Waived {
                    reason: format!(
                        "approved by {}{}",
                        approval.by,
                        approval.detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default()
                    ),
                    expires: String::new(),
                    source: format!("approval evidence recorded {}", approval.at),
                });
            }
            out.findings.push(finding);
        }
        Ok(())
    }
}
