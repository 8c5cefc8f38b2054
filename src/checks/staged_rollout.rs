//! `staged-rollout`: the release tree went through the earlier environments first, and long
//! enough ago.
//!
//! Incidents 001, 003 and 004: an upgrade and a config push went straight to production; the
//! 003 and 004 postmortems both ask to "programmatically enforce staged rollouts". An environment
//! with `requires = ["staging"]` (and `soak = "30m"`) accepts only a tree that was recorded as
//! deployed to staging at least that long ago. Config and dependency changes can demand it even
//! where an environment does not.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;

use super::{Check, Context, Doc, Finding, Output};
use crate::config::{Environment, Severity, parse_duration};
use crate::config::{Problem, Settings};
use crate::evidence::trust::FUTURE_SLACK;
use crate::git::short;
use crate::{Error, Result, time};

pub struct StagedRollout;

const ID: &str = "staged-rollout";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct RolloutSettings {
    /// Environments a release that changes configuration must have been deployed to first.
    config_changes_require: Vec<String>,
    /// Environments a release that changes dependency manifests must have been deployed to first.
    dependency_changes_require: Vec<String>,
    /// Soak for those requirements when the environment sets none.
    soak: Option<toml::Spanned<String>>,
}

impl Settings for RolloutSettings {
    fn problems(&self) -> Vec<Problem> {
        self.soak
            .iter()
            .filter_map(|soak| parse_duration(soak.get_ref()).err().map(|message| Problem::at(soak, message)))
            .collect()
    }
}

static DOC: Doc = Doc {
    codes: &["not-deployed", "soak-incomplete"],
    summary: "The release tree must have been deployed to the environments this one requires (`requires`), at \
              least `soak` ago; config and dependency changes can require it everywhere.",
    why: "Incident 001: an upgrade went to production without passing the test environment first. Incident 003: a \
          config push with an invalid auth-server address had no staged rollout. Incidents 003 and 004 end with \
          the same corrective action: programmatically enforce staged rollouts. gate checks the ledger, so the \
          rule holds even when nobody remembers it.",
    example: "staged-rollout  deny\n  production requires 30m of soak in staging; the release tree was deployed there 12m ago (18m to go)\n    \
              help: wait, or deploy and soak in staging first: gate record --env staging",
    config: "[environments.production]\nrequires = [\"staging\"]\nsoak     = \"30m\"\n\n[checks.staged-rollout]\nseverity = \"deny\"\n\
             config-changes-require     = [\"staging\"]   # a config change must pass staging before any other environment\n\
             dependency-changes-require = [\"staging\"]\nsoak = \"30m\"                               # for those two, if the environment sets none",
};

impl Check for StagedRollout {
    type Settings = RolloutSettings;

    fn id(&self) -> &'static str {
        ID
    }

    fn default_severity(&self) -> Severity {
        Severity::Deny
    }

    fn doc(&self) -> &'static Doc {
        &DOC
    }

    fn run(&self, cx: &Context<'_>, settings: &RolloutSettings, severity: Severity, out: &mut Output) -> Result<()> {
        let Some(env) = cx.target()? else { return Ok(()) };
        let default_soak =
            settings.soak.as_ref().map(|s| parse_duration(s.get_ref())).transpose().map_err(Error::new)?;
        for (required, why) in requirements(cx, env, settings)? {
            let required_env = cx.policy.environment(&required).map_err(|_| {
                Error::with_fix(
                    format!("[checks.{ID}] or {} requires `{required}`, which is not an environment", env.name),
                    format!("declare [environments.{required}] or remove it from the requirement"),
                )
            })?;
            let soak = env.soak.or(default_soak).unwrap_or(SignedDuration::ZERO);
            if let Some(finding) = judge(cx, env, required_env, &why, soak, severity)? {
                out.findings.push(finding);
            }
        }
        Ok(())
    }
}

/// The environments the release must have gone through, each with the reason.
fn requirements(cx: &Context<'_>, env: &Environment, settings: &RolloutSettings) -> Result<BTreeMap<String, String>> {
    let mut required: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for name in &env.requires {
        required.entry(name.clone()).or_default().push(format!("{} requires it", env.name));
    }
    let paths = &cx.policy.paths;
    let changed = |class: &crate::config::PathClass| {
        cx.changes.iter().find(|c| class.matches(&c.path) && !paths.ignore.matches(&c.path)).map(|c| c.path.clone())
    };
    let triggers = [
        (&settings.config_changes_require, changed(&paths.config), "changes configuration"),
        // Development and test dependencies alone do not ship.
        (&settings.dependency_changes_require, cx.analysis.runtime_dependency_change()?, "changes dependencies"),
    ];
    for (names, path, what) in triggers {
        let Some(path) = path else { continue };
        for name in names.iter().filter(|n| **n != env.name) {
            required.entry(name.clone()).or_default().push(format!("the release {what} ({path})"));
        }
    }
    Ok(required.into_iter().map(|(name, reasons)| (name, reasons.join("; "))).collect())
}

fn judge(
    cx: &Context<'_>,
    env: &Environment,
    required: &Environment,
    why: &str,
    soak: SignedDuration,
    severity: Severity,
) -> Result<Option<Finding>> {
    let tree = cx.range.release.tree;
    let help_deploy =
        format!("deploy this release to {} first, then record it: gate record --env {}", required.name, required.name);
    let Some(first) = first_deploy_of_tree(cx, required)? else {
        let elsewhere = cx
            .analysis
            .last_deploy(required)?
            .map(|d| {
                format!(
                    "; {} last ran {} (commit {}), not this release's tree {}",
                    required.name,
                    short(d.tree),
                    short(d.commit),
                    short(tree)
                )
            })
            .unwrap_or_default();
        return Ok(Some(
            Finding::new(
                ID,
                "not-deployed",
                severity,
                format!("the release tree was never deployed to {} ({why}){elsewhere}", required.name),
                help_deploy,
            )
            .about(&required.name),
        ));
    };
    let soaked = cx.now.duration_since(first);
    if soaked < soak {
        return Ok(Some(
            Finding::new(
                ID,
                "soak-incomplete",
                severity,
                format!(
                    "{} requires {} of soak in {}; the release tree was deployed there {} ago ({} to go)",
                    env.name,
                    time::duration(soak),
                    required.name,
                    time::duration(soaked),
                    time::duration(soak - soaked)
                ),
                format!("wait until {} has soaked, then deploy again", required.name),
            )
            .about(&required.name),
        ));
    }
    Ok(None)
}

/// When the release tree was first deployed to `env`: from the deploy evidence of the tree that
/// counts, and from the environment's ledger or deploy tags. A ledger entry written while
/// `GATE_NOW` set the clock does not count on the real clock, nor does one dated in the future;
/// where the deployed policy requires signed `deploy` evidence, only that counts (anyone who can
/// push refs/gate can write a ledger entry).
fn first_deploy_of_tree(cx: &Context<'_>, env: &Environment) -> Result<Option<Timestamp>> {
    let tree = cx.range.release.tree;
    let from_evidence =
        cx.evidence.of_kind("deploy").filter(|r| r.environment.as_deref() == Some(env.name.as_str())).map(|r| r.at);
    if cx.analysis.trust()?.require_signed.iter().any(|k| k == "deploy") {
        return Ok(from_evidence.min());
    }
    let (now, real_clock) = cx.analysis.clock();
    let history = cx.analysis.history(env)?;
    let from_history = history
        .iter()
        .filter(|d| d.tree == tree && !(real_clock && d.clock_overridden) && d.at <= now + FUTURE_SLACK)
        .map(|d| d.at);
    Ok(from_evidence.chain(from_history).min())
}
