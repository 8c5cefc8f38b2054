//! `config-risk`: a change to a high-risk setting needs approval or a staged rollout.
//!
//! Incident 003's corrective actions: "improve the process for auditing all high-risk
//! configuration options" and "programmatically enforce staged rollouts of all configuration
//! changes". Keys matching the `keys` globs (auth, passwords, secrets, TLS, timeouts) that the
//! release changes block unless the release tree is approved, or went through one of the
//! environments in `satisfied-by` first.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Check, Context, Doc, Finding, Output, Waived};
use crate::Result;
use crate::audit::document::KeyChange;
use crate::audit::keys::KeyPatterns;
use crate::audit::secrets;
use crate::config::{Policy, Severity};
use crate::config::{Problem, Settings};
use crate::git::Status;

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
        [&self.keys, &self.mask]
            .into_iter()
            .filter_map(|list| KeyPatterns::new(list).err())
            .map(|(g, e)| Problem::new(None, format!("invalid key glob `{g}`: {}", e.kind())))
            .collect()
    }
}

fn patterns(list: &[String]) -> KeyPatterns {
    KeyPatterns::new(list).unwrap_or_else(|_| KeyPatterns::empty())
}

/// Hides secret values: those of keys the policy's `mask` patterns name, and anything shaped
/// like a secret (a URL's password, a token with a known prefix, a private key) under any key.
pub struct Masker {
    mask: KeyPatterns,
}

impl Masker {
    pub fn new(policy: &Policy) -> Masker {
        Masker { mask: policy.settings::<RiskSettings>(ID).map_or_else(KeyPatterns::empty, |s| patterns(&s.mask)) }
    }

    pub fn apply(&self, change: &KeyChange) -> KeyChange {
        let hide = |v: &Option<String>| v.as_ref().map(|_| secrets::HIDDEN.to_string());
        if self.mask.is_match(&change.key) {
            KeyChange { old: hide(&change.old), new: hide(&change.new), ..change.clone() }
        } else {
            let shape = |v: &Option<String>| v.as_deref().map(|v| secrets::mask(v).into_owned());
            KeyChange { old: shape(&change.old), new: shape(&change.new), ..change.clone() }
        }
    }
}

static DOC: Doc = Doc {
    codes: &["high-risk-keys", "removed-file"],
    summary: "The release changes a high-risk configuration key (auth, passwords, secrets, TLS, timeouts): it needs \
              approval evidence for the tree, or a deploy through staging first.",
    why: "Incident 003: a config push with an invalid auth-server address took production down and the rollback \
          was rejected. Its corrective actions: audit all high-risk configuration options, and programmatically \
          enforce staged rollouts of configuration changes.",
    example: "config-risk  deny\n  config/auth.yaml:3: changes 2 high-risk keys (auth.ldap.host, auth.ldap.bind_password)\n    \
              help: deploy it to staging first, or have it approved: gate evidence add approval --for config-risk --detail \"...\"",
    config: "# Files of the `config` class (see `[paths]`); files that .gitattributes marks linguist-generated,\n# linguist-vendored or linguist-documentation are never analysed.\n[checks.config-risk]\nseverity = \"deny\"\nkeys = [\"auth.*\", \"*password*\", \"*secret*\", \"tls.*\", \"*.timeout\"]\n\
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
        let keys = patterns(&settings.keys);
        let mut satisfied: Option<Waived> = None;
        let masker = Masker::new(cx.policy);
        let mut removed: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
        let moved = removed_values(cx.analysis.config_files()?);
        for file in cx.analysis.config_files()?.iter().filter(|f| f.describes.is_none()) {
            if file.status == Status::Deleted {
                // A deleted file is one line, and a warning: removing settings is not a risky
                // change of a value. Files deleted together are one line for their directory.
                let high = file.changes.iter().filter(|c| keys.is_match(&c.key)).count();
                let slot = removed.entry(deleted_dir(cx, &file.path)).or_default();
                *slot = (slot.0 + 1, slot.1 + file.changes.len(), slot.2 + high);
                continue;
            }
            // Labels are metadata for other tools (`ofelia.job-exec.ldap_sync.schedule`), not settings.
            let off = switched_off(&file.changes);
            let risky: Vec<&KeyChange> = file
                .changes
                .iter()
                .filter(|c| changes_a_value(c, &moved) && keys.is_match(&c.key) && !c.key.contains(".labels."))
                .filter(|c| {
                    !(c.old.is_none()
                        && (off.iter().any(|s| s.covers(&c.key)) || c.new.as_deref().is_some_and(from_environment)))
                })
                .collect();
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
                "have it approved: gate evidence add approval --for config-risk --detail \"who reviewed the change\""
                    .to_string()
            } else {
                format!(
                    "deploy it to {} first, or have it approved: gate evidence add approval --for config-risk --detail \"who reviewed the change\"",
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
        for (path, (files, keys, high)) in removed.into_iter().filter(|(_, (_, _, high))| *high > 0) {
            let what = if files == 1 { String::new() } else { format!("{files} files, ") };
            out.findings.push(
                Finding::new(
                    ID,
                    "removed-file",
                    Severity::Warn,
                    format!("removed: {what}{keys} key{}, of which {high} high-risk", if keys == 1 { "" } else { "s" }),
                    "make sure nothing still reads these settings where the release goes",
                )
                .at(path),
            );
        }
        Ok(())
    }
}

/// The keys the release removes anywhere, by their last component and value: a key added
/// elsewhere with the same name and value moved (a role's defaults split into their own role).
fn removed_values(files: &[crate::analysis::config_files::ConfigFile]) -> std::collections::BTreeSet<(String, String)> {
    files
        .iter()
        .flat_map(|f| &f.changes)
        .filter_map(|c| match (&c.old, &c.new) {
            (Some(old), None) => Some((leaf(&c.key).to_string(), old.clone())),
            _ => None,
        })
        .collect()
}

fn leaf(key: &str) -> &str {
    key.rsplit('.').next().unwrap_or(key)
}

/// Whether a key change changes what the service runs with: not a removal (the setting goes
/// away with what read it), not a new key with an empty value (`privateKey: {}` sets nothing),
/// nor a new switch that is off, not a change of white space alone (`'env','X'` -> `'env', 'X'`), not a key that moved here
/// from another file with its value.
fn changes_a_value(change: &KeyChange, moved: &std::collections::BTreeSet<(String, String)>) -> bool {
    let squeezed = |v: &str| v.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    match (&change.old, &change.new) {
        (_, None) => false,
        // A new switch that is off keeps today's behaviour (`enableTokenCache: false`).
        (None, Some(new)) => {
            !matches!(
                new.trim().trim_matches(['"', '\'']).to_ascii_lowercase().as_str(),
                "{}" | "[]" | "" | "null" | "~" | "false" | "off" | "no" | "disabled"
            ) && !moved.contains(&(leaf(&change.key).to_string(), new.clone()))
        }
        (Some(old), Some(new)) => squeezed(old) != squeezed(new),
    }
}

/// A switch the release adds, off (`vault.enableTokenCache: false`, `metrics.enabled: false`):
/// the new settings of the feature it guards (`vault.tokenCacheSize`, `metrics.auth.token`) do
/// nothing until someone switches it on, and switching it on is a change of its own.
struct OffSwitch {
    /// The table the switch is in (`vault`), with a trailing dot, or empty at the top.
    table: String,
    /// What it switches, normalised (`tokencache`); empty for a bare `enabled`, which switches
    /// its whole table.
    feature: String,
}

impl OffSwitch {
    fn covers(&self, key: &str) -> bool {
        let Some(rest) = key.strip_prefix(self.table.as_str()) else { return false };
        if self.feature.is_empty() {
            return !self.table.is_empty();
        }
        // A sibling named for the feature (`tokenCacheSize`), or a key under one.
        let first = rest.split('.').next().unwrap_or(rest);
        let first = normalised(first);
        first != format!("enable{}", self.feature) && first.contains(&self.feature)
    }
}

fn normalised(word: &str) -> String {
    word.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect()
}

fn switched_off(changes: &[KeyChange]) -> Vec<OffSwitch> {
    let off =
        |v: &str| matches!(v.trim().trim_matches(['"', '\'']).to_ascii_lowercase().as_str(), "false" | "off" | "no");
    changes
        .iter()
        .filter(|c| c.old.is_none() && c.new.as_deref().is_some_and(off))
        .filter_map(|c| {
            let (table, leaf) = match c.key.rsplit_once('.') {
                Some((table, leaf)) => (format!("{table}."), leaf),
                None => (String::new(), c.key.as_str()),
            };
            let word = normalised(leaf);
            let feature = match word.as_str() {
                "enable" | "enabled" => String::new(),
                w => {
                    w.strip_prefix("enable").or_else(|| w.strip_suffix("enabled")).filter(|f| f.len() >= 3)?.to_string()
                }
            };
            Some(OffSwitch { table, feature })
        })
        .collect()
}

/// Whether a value only names an environment variable to read (`<%= ENV["R2_SECRET"] %>`,
/// `${R2_SECRET}`, `{{ env "R2_SECRET" }}`, `lookup('env', 'R2_SECRET')`), with no default: a new
/// key so written sets nothing the release controls; the deployment's environment does.
fn from_environment(value: &str) -> bool {
    let v = value.trim().trim_matches(['"', '\'']).trim();
    let name = |s: &str| {
        let s = s.trim().trim_matches(['"', '\'']);
        !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    let inner = |open: &str, close: &str| v.strip_prefix(open).and_then(|r| r.strip_suffix(close)).map(str::trim);
    if let Some(var) = inner("${", "}") {
        return name(var);
    }
    if let Some(code) = inner("<%=", "%>") {
        return code
            .strip_prefix("ENV[")
            .and_then(|r| r.strip_suffix(']'))
            .or_else(|| code.strip_prefix("ENV.fetch(").and_then(|r| r.strip_suffix(')')))
            .is_some_and(name);
    }
    if let Some(code) = inner("{{", "}}") {
        let code = code.trim_start_matches('-').trim_end_matches('-').trim();
        if let Some(var) = code.strip_prefix("env ") {
            return name(var);
        }
        return code
            .strip_prefix("lookup(")
            .and_then(|r| r.strip_suffix(')'))
            .and_then(|args| args.split_once(','))
            .is_some_and(|(kind, var)| kind.trim().trim_matches(['"', '\'']) == "env" && name(var));
    }
    false
}

/// Where a deleted config file is reported: its directory when the release deletes the whole
/// directory (no file of the release tree is left under it), else the file.
fn deleted_dir(cx: &Context<'_>, path: &str) -> String {
    let dir = crate::git::dir_name(path);
    let emptied = !dir.is_empty()
        && cx.changes.iter().filter(|c| c.path.starts_with(&format!("{dir}/"))).all(|c| c.status == Status::Deleted)
        && cx.analysis.tree().is_ok_and(|tree| !tree.has_dir(dir));
    if emptied { format!("{dir}/") } else { path.to_string() }
}

/// What, if anything, lets the risky change through: approval evidence, the release going to
/// one of the `satisfied-by` environments, or the tree having been deployed to one of them.
fn satisfaction(cx: &Context<'_>, settings: &RiskSettings) -> Result<Option<Waived>> {
    let waived = |reason: String, source: String| Some(Waived { reason, expires: String::new(), source });
    if settings.satisfied_by.iter().any(|s| s == "approval")
        && let Some(approval) = cx.analysis.approval(crate::evidence::Purpose::ConfigRisk)
    {
        let detail = approval.detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default();
        return Ok(waived(
            format!("approved by {}{detail}", approval.by),
            format!("approval evidence recorded {}", approval.at),
        ));
    }
    if let (Some(env), Some(rollback)) = (cx.target()?, cx.analysis.rollback()?) {
        return Ok(waived(
            format!("a rollback to the tree {} ran (deploy of {})", env.name, crate::time::human(rollback.at)),
            format!("{} {}", env.name, rollback.from),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_that_only_names_an_environment_variable_is_read_from_the_environment() {
        for value in [
            "<%= ENV['R2_SECRET'] %>",
            "<%= ENV.fetch(\"R2_SECRET\") %>",
            "${R2_SECRET}",
            "\"{{ env \"R2_SECRET\" }}\"",
            "{{ lookup('env', 'R2_SECRET') }}",
        ] {
            assert!(from_environment(value), "{value}");
        }
        for value in ["${R2_SECRET:-hunter2}", "<%= ENV['A'] || 'x' %>", "{{ r2_secret }}", "hunter2", "${}"] {
            assert!(!from_environment(value), "{value}");
        }
    }

    #[test]
    fn a_new_switch_that_is_off_covers_its_features_settings_only() {
        let change = |key: &str, new: &str| KeyChange { key: key.into(), old: None, new: Some(new.into()), line: 1 };
        let off = switched_off(&[change("vault.enableTokenCache", "false"), change("metrics.enabled", "false")]);
        let covered = |key: &str| off.iter().any(|s| s.covers(key));
        assert!(covered("vault.tokenCacheSize") && covered("metrics.auth.token"));
        assert!(!covered("vault.token") && !covered("vault.enableTokenCache") && !covered("auth.token"));
    }
}
