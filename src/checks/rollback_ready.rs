//! `rollback-ready`: there is a deploy to roll back to, and the release builds on it.
//!
//! Incidents 002 and 003: both rollbacks failed when they were needed. gate cannot test a
//! rollback, but it can make sure there is something to roll back to (a recorded last deploy),
//! and that the release descends from it, so history was not rewritten underneath the
//! environment.

use serde::Deserialize;

use super::{Check, Context, Doc, Finding, Output, Waived};
use crate::Result;
use crate::config::Settings;
use crate::config::Severity;
use crate::git::short;

pub struct RollbackReady;

const ID: &str = "rollback-ready";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct RollbackSettings {
    /// The environments this check applies to; empty means every environment.
    environments: Vec<String>,
}

impl Settings for RollbackSettings {}

static DOC: Doc = Doc {
    codes: &["no-last-deploy", "not-descendant"],
    summary: "The environment has a recorded last deploy to roll back to, and the release descends from it. A \
              rollback itself (a tree the environment ran before) is exempt: what runs now is the deploy to return to.",
    why: "Incidents 002 and 003: in both, the rollback failed when it was needed. A rollback needs a known-good \
          deploy to return to; a release that does not descend from what runs now (a force-push, a release cut \
          from another branch) also drops whatever that deploy carried, so rolling forward and back stop being \
          symmetric.",
    example: "rollback-ready  deny\n  the release does not descend from the last deploy of production (3f2a9c1b7e): history was rewritten, or it comes from another branch\n    \
              help: release from a branch that contains 3f2a9c1b7e, or have this exception approved: gate evidence add approval --for rollback --detail \"...\"",
    config: "[checks.rollback-ready]\nseverity     = \"deny\"\nenvironments = [\"production\"]   # empty: every environment",
};

impl Check for RollbackReady {
    type Settings = RollbackSettings;

    fn id(&self) -> &'static str {
        ID
    }

    fn default_severity(&self) -> Severity {
        Severity::Deny
    }

    fn doc(&self) -> &'static Doc {
        &DOC
    }

    fn run(&self, cx: &Context<'_>, settings: &RollbackSettings, severity: Severity, out: &mut Output) -> Result<()> {
        let Some(env) = cx.target()? else { return Ok(()) };
        if !settings.environments.is_empty() && !settings.environments.contains(&env.name) {
            return Ok(());
        }
        // A rollback returns to a tree this environment ran; what runs now is there to return to.
        if cx.analysis.rollback()?.is_some() {
            return Ok(());
        }
        let finding = match cx.analysis.last_deploy(env)? {
            None => Some(Finding::new(
                ID,
                "no-last-deploy",
                severity,
                format!(
                    "no deploy of {} is recorded: there is nothing to roll back to if this release fails",
                    env.name
                ),
                format!(
                    "for a first deploy, have it approved (gate evidence add approval --for rollback --detail ...); afterwards record every deploy: gate record --env {}",
                    env.name
                ),
            )),
            Some(last) => {
                let what = format!("the last deploy of {}", env.name);
                if cx.analysis.release_descends_from(last.commit, &what)? {
                    None
                } else {
                    Some(Finding::new(
                        ID,
                        "not-descendant",
                        severity,
                        format!(
                            "the release does not descend from the last deploy of {} ({}): history was rewritten, or it comes from another branch",
                            env.name,
                            short(last.commit)
                        ),
                        format!(
                            "release from a branch that contains {}, or have this exception approved: gate evidence add approval --for rollback --detail \"...\"",
                            short(last.commit)
                        ),
                    ))
                }
            }
        };
        if let Some(mut finding) = finding {
            if let Some(approval) = cx.analysis.approval(crate::evidence::Purpose::Rollback) {
                finding.waived = Some(Waived::by_approval(approval));
            }
            out.findings.push(finding);
        }
        Ok(())
    }
}
