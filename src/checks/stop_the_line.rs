//! `environment-lock` and `rejected-release`: the line is stopped. An on-call engineer who
//! locks an environment (`gate lock --env production --reason "incident 1234"`) or rejects a
//! release (`gate reject --release v2.3 --reason "corrupts sessions"`) must be obeyed by every
//! deploy at once, without a policy change, a commit or a review.

use serde::Deserialize;

use super::{Check, Context, Doc, Finding, Output};
use crate::config::{Settings, Severity};
use crate::{Result, time};

pub struct EnvironmentLock;
pub struct RejectedRelease;

const LOCK: &str = "environment-lock";
const REJECTED: &str = "rejected-release";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct StopSettings {}

impl Settings for StopSettings {}

static LOCK_DOC: Doc = Doc {
    codes: &["locked"],
    summary: "The target environment is locked (`gate lock --env ENV --reason TEXT`): no deploy goes out until \
              someone runs `gate unlock --env ENV`.",
    why: "Stop the line: during an incident the people fixing it must be able to stop every other deploy at once. \
          The lock lives in a ref (refs/gate/locks/ENV), not in gate.toml, so setting it needs no commit and no \
          review, and it travels with `git fetch origin 'refs/gate/*:refs/gate/*'`.",
    example: "environment-lock  deny\n  production is locked by Dana <dana@example.com> since 2026-11-20 14:02 UTC: incident 1234, database failover\n    \
              help: wait for the lock to be lifted (gate unlock --env production)",
    config: "[checks.environment-lock]\nseverity = \"deny\"",
};

static REJECTED_DOC: Doc = Doc {
    codes: &["rejected"],
    summary: "The release tree was rejected (`gate reject --release REV --reason TEXT`): no environment accepts it, \
              not even as a rollback target.",
    why: "A release found bad after it shipped somewhere must not be deployed anywhere else, or rolled back to, by \
          someone who did not hear about it. The rejection is bound to the tree and lives in a ref \
          (refs/gate/rejected/TREE).",
    example: "rejected-release  deny\n  this release tree was rejected by Sam <sam@example.com> on 2026-11-20 15:00 UTC: corrupts sessions\n    \
              help: release a fixed tree; a rejection is for good",
    config: "[checks.rejected-release]\nseverity = \"deny\"",
};

impl Check for EnvironmentLock {
    type Settings = StopSettings;

    fn id(&self) -> &'static str {
        LOCK
    }

    fn default_severity(&self) -> Severity {
        Severity::Deny
    }

    fn doc(&self) -> &'static Doc {
        &LOCK_DOC
    }

    fn run(&self, cx: &Context<'_>, _settings: &StopSettings, severity: Severity, out: &mut Output) -> Result<()> {
        let Some(env) = cx.target()? else { return Ok(()) };
        if let Some(stop) = cx.analysis.lock(env)? {
            out.findings.push(
                Finding::new(
                    LOCK,
                    "locked",
                    severity,
                    format!("{} is locked by {} since {}: {}", env.name, stop.by, time::human(stop.at), stop.reason),
                    format!("wait for the lock to be lifted (gate unlock --env {})", env.name),
                )
                .about(&env.name),
            );
        }
        Ok(())
    }
}

impl Check for RejectedRelease {
    type Settings = StopSettings;

    fn id(&self) -> &'static str {
        REJECTED
    }

    fn default_severity(&self) -> Severity {
        Severity::Deny
    }

    fn doc(&self) -> &'static Doc {
        &REJECTED_DOC
    }

    fn run(&self, cx: &Context<'_>, _settings: &StopSettings, severity: Severity, out: &mut Output) -> Result<()> {
        if let Some(stop) = cx.analysis.rejection()? {
            out.findings.push(Finding::new(
                REJECTED,
                "rejected",
                severity,
                format!("this release tree was rejected by {} on {}: {}", stop.by, time::human(stop.at), stop.reason),
                "release a fixed tree; a rejection is for good",
            ));
        }
        Ok(())
    }
}
