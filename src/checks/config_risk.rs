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
                        && (off.iter().any(|s| s.covers(&c.key)) || c.new.as_deref().is_some_and(sets_nothing)))
                })
                .collect();
            let mut kept = Vec::with_capacity(risky.len());
            for change in risky {
                if !(change.old.is_none()
                    && is_on(change.new.as_deref())
                    && keeps_rendering(cx, &file.path, &change.key)?)
                {
                    kept.push(change);
                }
            }
            let risky = kept;
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
        (Some(old), Some(new)) => squeezed(old) != squeezed(new) && !(is_placeholder(old) && is_placeholder(new)),
    }
}

/// Whether a value is a placeholder for a person to fill in (`"<your-secure-token>"`): the
/// release sets nothing a service could run with, the person who copies the file does.
fn is_placeholder(value: &str) -> bool {
    let v = value.trim().trim_matches(['"', '\'']).trim();
    v.strip_prefix('<').and_then(|r| r.strip_suffix('>')).is_some_and(|inner| {
        !inner.starts_with(['%', '<', '!', '/'])
            && !inner.ends_with('/')
            && !inner.contains(['<', '>'])
            && inner.chars().any(char::is_alphabetic)
    })
}

fn is_on(value: Option<&str>) -> bool {
    value.is_some_and(|v| v.trim().trim_matches(['"', '\'']).eq_ignore_ascii_case("true"))
}

/// Whether a new switch, on, in a Helm chart's `values.yaml` keeps what the chart renders: every
/// template that reads it only wraps lines it already had in an `if` on it (external-secrets
/// v2.5.0 made the `serviceaccounts/token` rule optional with `rbac.serviceAccountTokenCreate:
/// true`). A template that reads it any other way, or reads it at all while the release leaves
/// the template as it was, changes what renders.
fn keeps_rendering(cx: &Context<'_>, values: &str, key: &str) -> Result<bool> {
    let name = crate::git::file_name(values);
    if name != "values.yaml" && name != "values.yml" {
        return Ok(false);
    }
    let chart = crate::git::dir_name(values);
    let tree = cx.analysis.tree()?;
    let prefix = if chart.is_empty() { String::new() } else { format!("{chart}/") };
    if !tree.contains(&format!("{prefix}Chart.yaml")) {
        return Ok(false);
    }
    let templates = format!("{prefix}templates/");
    let needle = format!(".Values.{key}");
    let files = tree.files();
    let start = files.partition_point(|f| f.path.as_str() < templates.as_str());
    let mut guards = 0;
    for file in files[start..].iter().take_while(|f| f.path.starts_with(&templates)) {
        let new = String::from_utf8_lossy(&cx.analysis.store.content(file.id)?).into_owned();
        if !new.contains(&needle) {
            continue;
        }
        let old = match cx.changes.touches(&file.path) {
            Some(change) if change.path == file.path => match &change.old {
                Some(side) => Some(String::from_utf8_lossy(&cx.analysis.store.content(side.id)?).into_owned()),
                None => None,
            },
            _ => Some(new.clone()),
        };
        match crate::audit::helm::guards_only(old.as_deref(), &new, key) {
            Some(n) => guards += n,
            None => return Ok(false),
        }
    }
    Ok(guards > 0)
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

/// Whether a new key's value sets nothing of its own: a placeholder for a person to fill in, or
/// a value that only passes on something set elsewhere. An environment variable with no
/// default (`<%= ENV["R2_SECRET"] %>`, `${R2_SECRET}`, `{{ env "R2_SECRET" }}`,
/// `lookup('env', 'R2_SECRET')`): the deployment's environment sets it. Another setting, or a
/// template file rendered, through filters that take no argument (`{{ .Values.auth.token }}`,
/// `{{ vault_token }}`, `{{ lookup('template', 'cloud-config.j2') | b64encode }}`): the
/// settings it reads are audited where they are set. A default (`${R2_SECRET:-x}`,
/// `| default('x')`) is a value the release sets.
fn sets_nothing(value: &str) -> bool {
    let v = value.trim().trim_matches(['"', '\'']).trim();
    let inner = |open: &str, close: &str| v.strip_prefix(open).and_then(|r| r.strip_suffix(close)).map(str::trim);
    if is_placeholder(v) {
        return true;
    }
    if let Some(var) = inner("${", "}") {
        return is_name(var);
    }
    if let Some(code) = inner("<%=", "%>") {
        return code
            .strip_prefix("ENV[")
            .and_then(|r| r.strip_suffix(']'))
            .or_else(|| code.strip_prefix("ENV.fetch(").and_then(|r| r.strip_suffix(')')))
            .is_some_and(is_name);
    }
    if let Some(code) = inner("{{", "}}") {
        let code = code.trim_start_matches('-').trim_end_matches('-').trim();
        let mut parts = code.split('|').map(str::trim);
        let head = parts.next().unwrap_or("");
        return parts.all(is_name) && passes_on(head);
    }
    false
}

/// The head of a template expression that reads a value set elsewhere: `env "X"`, a setting's
/// name or path (`vault_token`, `.Values.auth.token`), or `lookup('env'|'template'|'file', ...)`.
fn passes_on(head: &str) -> bool {
    if let Some(var) = head.strip_prefix("env ") {
        return is_name(var);
    }
    if let Some(args) = head.strip_prefix("lookup(").and_then(|r| r.strip_suffix(')')) {
        let Some((kind, arg)) = args.split_once(',') else { return false };
        let arg = arg.trim();
        let quoted = arg.len() >= 2 && arg.starts_with(['"', '\'']) && arg.ends_with(['"', '\'']);
        let path = arg.trim_matches(['"', '\'']);
        return match kind.trim().trim_matches(['"', '\'']) {
            "env" => is_name(arg),
            "template" | "file" => {
                quoted
                    && !path.is_empty()
                    && path.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'))
            }
            _ => false,
        };
    }
    let path = head.strip_prefix('.').unwrap_or(head);
    !path.is_empty()
        && !path.starts_with(|c: char| c.is_ascii_digit())
        && path.split('.').all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        && !matches!(path, "true" | "false" | "none" | "None" | "null" | "nil")
}

fn is_name(s: &str) -> bool {
    let s = s.trim().trim_matches(['"', '\'']);
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

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
    fn a_value_that_only_passes_on_what_is_set_elsewhere_or_a_placeholder_sets_nothing() {
        for value in [
            "<%= ENV['R2_SECRET'] %>",
            "<%= ENV.fetch(\"R2_SECRET\") %>",
            "${R2_SECRET}",
            "\"{{ env \"R2_SECRET\" }}\"",
            "{{ lookup('env', 'R2_SECRET') }}",
            "{{ r2_secret }}",
            "{{ .Values.auth.token | quote }}",
            "\"{{ lookup('template', 'external-oci-cloud-config.yml.j2') | b64encode }}\"",
            "\"<your-secure-token>\"",
        ] {
            assert!(sets_nothing(value), "{value}");
        }
        for value in [
            "${R2_SECRET:-hunter2}",
            "<%= ENV['A'] || 'x' %>",
            "{{ r2_secret | default('hunter2') }}",
            "{{ lookup('password', '/dev/null length=20') }}",
            "{{ lookup('template', x) }}",
            "{{ 600 }}",
            "{{ true }}",
            "hunter2",
            "${}",
            "<%= secret %>",
            "<>",
        ] {
            assert!(!sets_nothing(value), "{value}");
        }
        assert!(is_placeholder("<your-API-Key>") && !is_placeholder("<br/>") && !is_placeholder("<!-- x -->"));
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
