//! `config-risk`: a change to a high-risk setting needs approval or a staged rollout.
//!
//! Incident 003's corrective actions: "improve the process for auditing all high-risk
//! configuration options" and "programmatically enforce staged rollouts of all configuration
//! changes". Keys matching the `keys` globs (auth, passwords, secrets, TLS, timeouts) that the
//! release changes block unless the release tree is approved, or went through one of the
//! environments in `satisfied-by` first.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use serde::Deserialize;

use super::{Check, Context, Doc, Finding, Output, Waived};
use crate::Result;
use crate::audit::document::KeyChange;
use crate::config::{Policy, Severity};
use crate::config::{Problem, Settings};

pub struct ConfigRisk;

const ID: &str = "config-risk";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct RiskSettings {
    /// Globs over whole key paths, case-insensitive, `*` crossing dots: `auth.*`, `*password*`.
    keys: Vec<String>,
    /// What lets a risky change through: `approval` evidence, or the name of an environment the
    /// release tree was deployed to first (a release going to that environment passes too).
    satisfied_by: Vec<String>,
    /// Keys whose values are never shown in reports (secrets): globs like `keys`.
    mask: Vec<String>,
}

impl Settings for RiskSettings {
    fn problems(&self) -> Vec<Problem> {
        self.keys
            .iter()
            .chain(&self.mask)
            .filter_map(|g| {
                key_glob(g).err().map(|e| Problem::new(None, format!("invalid key glob `{g}`: {}", e.kind())))
            })
            .collect()
    }
}

fn key_glob(pattern: &str) -> std::result::Result<globset::Glob, globset::Error> {
    GlobBuilder::new(pattern).case_insensitive(true).literal_separator(false).build()
}

fn set(patterns: &[String]) -> GlobSet {
    let mut builder = GlobSetBuilder::new();
    for glob in patterns.iter().filter_map(|p| key_glob(p).ok()) {
        builder.add(glob);
    }
    builder.build().unwrap_or_else(|_| GlobSet::empty())
}

/// Hides the values of secret keys, per the policy's `mask` globs (compiled once).
pub struct Masker {
    mask: GlobSet,
}

impl Masker {
    pub fn new(policy: &Policy) -> Masker {
        let mask = policy.settings::<RiskSettings>(ID).map(|s| set(&s.mask));
        Masker { mask: mask.unwrap_or_else(GlobSet::empty) }
    }

    pub fn apply(&self, change: &KeyChange) -> KeyChange {
        let hide = |v: &Option<String>| v.as_ref().map(|_| "(hidden)".to_string());
        if self.mask.is_match(change.key.trim_matches('"')) {
            KeyChange { old: hide(&change.old), new: hide(&change.new), ..change.clone() }
        } else {
            change.clone()
        }
    }
}

static DOC: Doc = Doc {
    codes: &["high-risk-keys"],
    summary: "The release changes a high-risk configuration key (auth, passwords, secrets, TLS, timeouts): it needs \
              approval evidence for the tree, or a deploy through staging first.",
    why: "Incident 003: a config push with an invalid auth-server address took production down and the rollback \
          was rejected. Its corrective actions: audit all high-risk configuration options, and programmatically \
          enforce staged rollouts of configuration changes.",
    example: "config-risk  deny\n  config/auth.yaml:3: changes 2 high-risk keys (auth.ldap.host, auth.ldap.bind_password)\n    \
              help: deploy it to staging first, or have it approved: gate evidence add approval --detail \"...\"",
    config: "[checks.config-risk]\nseverity = \"deny\"\nkeys = [\"auth.*\", \"*password*\", \"*secret*\", \"tls.*\", \"*.timeout\"]\n\
             satisfied-by = [\"approval\", \"staging\"]\nmask = [\"*password*\", \"*secret*\", \"*token*\"]   # values never shown",
};

impl Check for ConfigRisk {
    type Settings = RiskSettings;

    fn id(&self) -> &'static str {
        ID
    }

    fn default_severity(&self) -> Severity {
        Severity::Deny
    }

    fn doc(&self) -> &'static Doc {
        &DOC
    }

    fn run(&self, cx: &Context<'_>, settings: &RiskSettings, severity: Severity, out: &mut Output) -> Result<()> {
        let keys = set(&settings.keys);
        let mut satisfied: Option<Waived> = None;
        let masker = Masker::new(cx.policy);
        for file in cx.analysis.config_files()? {
            let risky: Vec<&KeyChange> =
                file.changes.iter().filter(|c| keys.is_match(c.key.trim_matches('"'))).collect();
            if risky.is_empty() {
                continue;
            }
            if satisfied.is_none() {
                satisfied = satisfaction(cx, settings)?;
            }
            let names: Vec<&str> = risky.iter().map(|c| c.key.as_str()).collect();
            let first_line = risky.iter().map(|c| c.line).filter(|l| *l > 0).min().unwrap_or(0);
            let alternatives = settings.satisfied_by.iter().filter(|s| *s != "approval").cloned().collect::<Vec<_>>();
            let help = if alternatives.is_empty() {
                "have it approved: gate evidence add approval --detail \"who reviewed the change\"".to_string()
            } else {
                format!(
                    "deploy it to {} first, or have it approved: gate evidence add approval --detail \"who reviewed the change\"",
                    alternatives.join(" or ")
                )
            };
            let mut finding = Finding::new(
                ID,
                "high-risk-keys",
                severity,
                format!(
                    "changes {} high-risk key{} ({})",
                    risky.len(),
                    if risky.len() == 1 { "" } else { "s" },
                    names.join(", ")
                ),
                help,
            )
            .at(&file.path)
            .at_line(first_line, 0)
            .with_details(risky.iter().map(|c| masker.apply(c).to_string()).collect());
            finding.waived = satisfied.clone();
            out.findings.push(finding);
        }
        Ok(())
    }
}

/// What, if anything, lets the risky change through: approval evidence, the release going to
/// one of the `satisfied-by` environments, or the tree having been deployed to one of them.
fn satisfaction(cx: &Context<'_>, settings: &RiskSettings) -> Result<Option<Waived>> {
    let waived = |reason: String, source: String| Some(Waived { reason, expires: String::new(), source });
    if settings.satisfied_by.iter().any(|s| s == "approval")
        && let Some(approval) = cx.evidence.of_kind("approval").max_by_key(|r| r.at)
    {
        let detail = approval.detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default();
        return Ok(waived(
            format!("approved by {}{detail}", approval.by),
            format!("approval evidence recorded {}", approval.at),
        ));
    }
    let target = cx.target()?.map(|env| env.name.clone());
    for name in settings.satisfied_by.iter().filter(|s| *s != "approval") {
        if target.as_deref() == Some(name.as_str()) {
            return Ok(waived(
                format!("the release is going to {name}, where risky changes are tried first"),
                name.clone(),
            ));
        }
        let Ok(env) = cx.policy.environment(name) else { continue };
        let deployed = cx.evidence.of_kind("deploy").any(|r| r.environment.as_deref() == Some(name.as_str()))
            || cx.analysis.history(env)?.iter().any(|d| d.tree == cx.range.release.tree);
        if deployed {
            return Ok(waived(
                format!("the release tree was deployed to {name} first"),
                format!("{name} deploy record"),
            ));
        }
    }
    Ok(None)
}
