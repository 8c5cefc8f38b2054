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
use crate::analysis::rollout;
use crate::config::{Environment, Severity, parse_duration};
use crate::config::{Problem, Settings};
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
    summary: "The release tree must have run in the environments this one requires (`requires`) for `soak`, \
              unbroken (its longest period as their current deploy); config and dependency changes can require it \
              everywhere. A rollback to a tree this environment ran before needs no new staged rollout.",
    why: "Incident 001: an upgrade went to production without passing the test environment first. Incident 003: a \
          config push with an invalid auth-server address had no staged rollout. Incidents 003 and 004 end with \
          the same corrective action: programmatically enforce staged rollouts. gate checks the ledger, so the \
          rule holds even when nobody remembers it.",
    example: "staged-rollout  deny\n  production requires 30m of soak in staging (from the default pack): the release tree has been in staging for 12m of 30m (since 11:48), 18m to go\n    \
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
        // A rollback returns to a tree this environment ran: it went through the rollout then.
        if cx.analysis.rollback()?.is_some() {
            return Ok(());
        }
        let default_soak =
            settings.soak.as_ref().map(|s| parse_duration(s.get_ref())).transpose().map_err(Error::new)?;
        for (required, why) in requirements(cx, env, settings)? {
            let required_env = cx.policy.environment(&required).map_err(|_| {
                Error::with_fix(
                    format!("[checks.{ID}] or {} requires `{required}`, which is not an environment", env.name),
                    format!("declare [environments.{required}] or remove it from the requirement"),
                )
            })?;
            let soak = match (&env.soak, default_soak) {
                (Some((length, origin)), _) => {
                    Soak { length: *length, origin: origin.pack().map(|p| format!("from the {p} pack")) }
                }
                (None, Some(length)) => Soak { length, origin: Some(format!("from [checks.{ID}] soak")) },
                (None, None) => Soak { length: SignedDuration::ZERO, origin: None },
            };
            if let Some(finding) = judge(cx, env, required_env, &why, &soak, severity)? {
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
    soak: &Soak,
    severity: Severity,
) -> Result<Option<Finding>> {
    let tree = cx.range.release.tree;
    let help_deploy =
        format!("deploy this release to {} first, then record it: gate record --env {}", required.name, required.name);
    let periods = cx.analysis.periods_in(required)?;
    let Some(longest) = rollout::longest(&periods, cx.now) else {
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
    let soaked = longest.length(cx.now);
    if soaked >= soak.length {
        return Ok(None);
    }
    let zone = &required.timezone.zone;
    let clock = |at: Timestamp| -> String {
        let (here, today) = (at.to_zoned(zone.clone()), cx.now.to_zoned(zone.clone()));
        if here.date() == today.date() {
            here.strftime("%H:%M").to_string()
        } else {
            here.strftime("%Y-%m-%d %H:%M").to_string()
        }
    };
    let (story, help) = match longest.until {
        None => (
            format!(
                "the release tree has been in {} for {} of {} (since {}), {} to go",
                required.name,
                time::duration(soaked),
                time::duration(soak.length),
                clock(longest.from),
                time::duration(soak.length - soaked)
            ),
            format!("wait until {} has soaked, then deploy again", required.name),
        ),
        Some((ended, replaced_by)) => (
            format!(
                "{} ran the release tree {}\u{2013}{} ({}), then it was replaced (by tree {}){}; a soak is one unbroken period",
                required.name,
                clock(longest.from),
                clock(ended),
                time::duration(soaked),
                short(replaced_by),
                if periods.len() > 1 {
                    format!(", its longest of {} periods there", periods.len())
                } else {
                    String::new()
                }
            ),
            format!(
                "deploy it to {} again and let it run {} without a rollback: gate record --env {}",
                required.name,
                time::duration(soak.length),
                required.name
            ),
        ),
    };
    Ok(Some(
        Finding::new(
            ID,
            "soak-incomplete",
            severity,
            format!(
                "{} requires {} of soak in {}{}: {story}",
                env.name,
                time::duration(soak.length),
                required.name,
                soak.origin.as_deref().map(|o| format!(" ({o})")).unwrap_or_default()
            ),
            help,
        )
        .about(&required.name),
    ))
}

/// How long a release must soak, and where that was set when it is worth saying.
struct Soak {
    length: SignedDuration,
    /// `from the default pack`: said when a pack, not the user's own file, sets it.
    origin: Option<String>,
}
