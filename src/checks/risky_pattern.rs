//! `risky-pattern`: the release adds a line that matches a risky pattern.
//!
//! Incident 002: a "quick fix" carried an infinite loop into production. Some lines are worth a
//! second look whatever else a release does: a loop with no exit in sight, `set +e` in a deploy
//! script, debug mode switched on, `chmod 777`, `rm -rf` on a variable path, TLS verification
//! turned off. Rules are regular expressions over the code of the lines the release adds
//! (comments are not code), scoped by path globs and defined in rule packs; users add their own.
//! Every line is scanned, however long, and so is a file with a NUL byte; a script too large to
//! scan is a finding, since what it holds cannot be vouched for.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use globset::GlobSetBuilder;
use serde::Deserialize;
use toml::Spanned;

use super::{Check, Context, Doc, Finding, NotAnalysed, Output, Plan};
use crate::analysis::coverage;
use crate::audit::comments;
use crate::audit::patterns::{self, Rule, Scanner, added_hits, on_added_lines, secret_lines};
use crate::config::{Policy, Problem, Settings};
use crate::config::{Severity, compile_glob};
use crate::git::{Change, ChangeSet, ContentKind, Mode, READ_LIMIT, Side, Status, line_hash, normalized_lines};
use crate::{Error, Result};

pub struct RiskyPattern;

const ID: &str = "risky-pattern";

/// Files larger than this are not scanned: a script is then a finding, anything else is listed
/// as not analysed.
const MAX_BYTES: u64 = READ_LIMIT;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct PatternSettings {
    rules: BTreeMap<String, RuleSettings>,
    /// Path classes whose files are not scanned: tests exercise risky code on purpose.
    skip_classes: Vec<Spanned<String>>,
    /// Severity of a private key or access key committed in a deployable file; the check's
    /// severity when unset, `off` to stop looking.
    committed_secrets: Option<Severity>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RuleSettings {
    /// A regular expression (Rust `regex` syntax, ASCII classes) matched against each added line.
    pattern: Spanned<String>,
    /// Globs of the files the rule looks at; empty: every file.
    #[serde(default)]
    paths: Vec<Spanned<String>>,
    /// A regular expression that, found from the match through the next `window` lines,
    /// excuses it.
    #[serde(default)]
    unless: Option<Spanned<String>>,
    #[serde(default)]
    window: usize,
    /// A regular expression that, found after the match on its line or on any later line of the
    /// file, excuses it (`set -e` after `set +e`).
    #[serde(default)]
    unless_after: Option<Spanned<String>>,
    /// A regular expression that, found on one of the few lines of code before the match,
    /// excuses it: an explicit opt-in guarding it (`if (options.unsafeTls) {`).
    #[serde(default)]
    unless_guarded: Option<Spanned<String>>,
    /// A match inside a shell function or a subshell is excused.
    #[serde(default)]
    unless_scoped: bool,
    /// A match whose `var` capture group is assigned a literal earlier in the file is excused.
    #[serde(default)]
    unless_assigned: bool,
    /// Why the pattern is risky: the finding's message.
    reason: Spanned<String>,
    /// Severity of this rule's findings; the check's severity when unset. `off` disables it.
    #[serde(default)]
    severity: Option<Severity>,
    /// Snippets the rule must fire on, and snippets it must not: checked when the policy loads.
    #[serde(default)]
    fires: Vec<String>,
    #[serde(default)]
    passes: Vec<String>,
    /// The rule compiled and tried on its examples, once: when the policy is validated, and
    /// then for the run (a rule pack's examples cost more to try than most runs to scan).
    #[serde(skip)]
    compiled: OnceLock<std::result::Result<Rule, Vec<Problem>>>,
}

impl RuleSettings {
    fn compiled(&self, id: &str) -> &std::result::Result<Rule, Vec<Problem>> {
        self.compiled.get_or_init(|| self.compile(id))
    }

    fn compile(&self, id: &str) -> std::result::Result<Rule, Vec<Problem>> {
        let mut problems = Vec::new();
        let regex = |text: &Spanned<String>, problems: &mut Vec<Problem>| match patterns::compile(text.get_ref()) {
            Ok(regex) => Some(regex),
            Err(err) => {
                problems.push(Problem::at(text, format!("rule `{id}`: invalid regular expression: {err}")));
                None
            }
        };
        let pattern = regex(&self.pattern, &mut problems);
        // `None`: the `unless` expression does not compile; `Some(None)`: there is none.
        let unless = match &self.unless {
            Some(unless) => regex(unless, &mut problems).map(Some),
            None => Some(None),
        };
        let unless_after = match &self.unless_after {
            Some(after) => regex(after, &mut problems).map(Some),
            None => Some(None),
        };
        let unless_guarded = match &self.unless_guarded {
            Some(guard) => regex(guard, &mut problems).map(Some),
            None => Some(None),
        };
        if self.unless_assigned && pattern.as_ref().is_some_and(|p| !p.capture_names().any(|n| n == Some("var"))) {
            problems.push(Problem::at(
                &self.pattern,
                format!(
                    "rule `{id}` sets `unless-assigned`: its pattern needs a `(?P<var>...)` group for the variable"
                ),
            ));
        }
        let mut paths = GlobSetBuilder::new();
        for glob in &self.paths {
            match compile_glob(glob.get_ref()) {
                Ok(compiled) => {
                    paths.add(compiled);
                }
                Err(err) => problems.push(Problem::at(glob, format!("rule `{id}`: invalid glob: {}", err.kind()))),
            }
        }
        if self.reason.get_ref().trim().is_empty() {
            problems
                .push(Problem::at(&self.reason, format!("rule `{id}` needs a reason: say why the pattern is risky")));
        }
        let (Some(pattern), Some(unless), Some(unless_after), Some(unless_guarded), Ok(paths)) =
            (pattern, unless, unless_after, unless_guarded, paths.build())
        else {
            return Err(problems);
        };
        let rule = Rule {
            id: id.to_string(),
            pattern,
            paths,
            unless,
            window: self.window,
            unless_after,
            unless_guarded,
            unless_scoped: self.unless_scoped,
            unless_assigned: self.unless_assigned,
            reason: self.reason.get_ref().clone(),
        };
        if self.fires.is_empty() || self.passes.is_empty() {
            problems.push(Problem::at(
                &self.pattern,
                format!("rule `{id}` needs examples: at least one in `fires` and one in `passes`"),
            ));
        }
        for example in &self.fires {
            if !rule.fires_on(example) {
                problems.push(Problem::at(
                    &self.pattern,
                    format!("rule `{id}` does not fire on its `fires` example {example:?}"),
                ));
            }
        }
        for example in &self.passes {
            if rule.fires_on(example) {
                problems
                    .push(Problem::at(&self.pattern, format!("rule `{id}` fires on its `passes` example {example:?}")));
            }
        }
        if problems.is_empty() { Ok(rule) } else { Err(problems) }
    }
}

impl Settings for PatternSettings {
    fn problems(&self) -> Vec<Problem> {
        let mut problems: Vec<Problem> =
            self.rules.iter().filter_map(|(id, rule)| rule.compiled(id).as_ref().err()).flatten().cloned().collect();
        problems.extend(crate::config::class_problems(&self.skip_classes));
        problems
    }
}

static DOC: Doc = Doc {
    codes: &["too-large-to-scan", "committed-secret"],
    summary: "A line the release adds matches a risky pattern: an unbounded loop with no exit in sight, `set +e` in a \
              deploy script, debug mode on, `chmod 777`, `rm -rf` on a variable path, TLS verification off, or a rule \
              of your own.",
    why: "Incident 002: a quick fix meant to speed up transactions carried an infinite loop into production on a \
          Friday evening; the rollback then failed because the loop had used up the machine. Some lines deserve a \
          second look whatever else a release does, and a program can look every time.",
    example: "risky-pattern  deny\n  app/cache.sh:14: an unbounded loop with no exit in sight (rule `unbounded-loop`): `while true; do`\n    \
              help: give the loop an exit (a break, a timeout, a retry limit), or waive: gate waive risky-pattern --path app/cache.sh ...",
    config: "[checks.risky-pattern]\nseverity = \"deny\"\n# A private key or access key committed in a file that ships (\"off\" to stop looking)\n\
             committed-secrets = \"deny\"\n\n[checks.risky-pattern.rules.no-sudo-in-scripts]\npattern = '^\\s*sudo\\s'\n\
             paths   = [\"scripts/**\"]\nreason  = \"deploy scripts run unattended: sudo prompts hang them\"\nseverity = \"warn\"\n\
             fires   = [\"sudo systemctl restart app\"]\npasses  = [\"systemctl restart app\"]",
};

impl Check for RiskyPattern {
    type Settings = PatternSettings;

    fn id(&self) -> &'static str {
        ID
    }

    fn default_severity(&self) -> Severity {
        Severity::Deny
    }

    fn doc(&self) -> &'static Doc {
        &DOC
    }

    fn plan(&self, settings: &PatternSettings, severity: Severity, plan: &Plan<'_>) {
        // A rule that does not compile is reported when the check runs.
        let Ok((scanner, _)) = scanner(settings, severity) else { return };
        let scanner = std::sync::Arc::new(scanner);
        let store = plan.store;
        for (change, side, rules_apply, secrets) in scanned(plan.policy, plan.changes, settings, &scanner) {
            let syntax = comments::syntax_for(&change.path);
            if rules_apply {
                let fingerprint = scanner.fingerprint(syntax);
                let scanner = scanner.clone();
                let scan = move |content: &[u8], _: ContentKind| Some(scanner.scan_blob(content, syntax));
                store.plan_scan(side.id, fingerprint, std::sync::Arc::new(scan));
            }
            if secrets {
                let scan = move |content: &[u8], kind: ContentKind| {
                    (kind == ContentKind::Text).then(|| secret_lines(content, syntax))
                };
                store.plan_scan(side.id, patterns::secrets_fingerprint(syntax), std::sync::Arc::new(scan));
            }
        }
    }

    fn run(&self, cx: &Context<'_>, settings: &PatternSettings, severity: Severity, out: &mut Output) -> Result<()> {
        let (scanner, levels) = scanner(settings, severity)?;
        let paths = &cx.policy.paths;
        // The files to scan that no pass has read yet, read together.
        cx.analysis.store.scan_planned()?;
        for (change, side, rules_apply, secrets) in scanned(cx.policy, cx.changes, settings, &scanner) {
            let store = cx.analysis.store;
            let facts = store.facts(side.id)?;
            if (facts.kind == ContentKind::Unread || facts.size > MAX_BYTES) && !rules_apply {
                continue;
            }
            if facts.kind == ContentKind::Unread || facts.size > MAX_BYTES {
                let reason = format!("{} bytes, too large to scan", facts.size);
                if paths.scripts.matches(&change.path) && !paths.tests.matches(&change.path) {
                    out.findings.push(too_large(&change.path, facts.size, severity));
                } else {
                    out.not_analysed.push(NotAnalysed { check: ID, path: change.path.clone(), reason });
                }
                continue;
            }
            // Matches are cached per blob and comment syntax; the old side is needed only as line
            // counts (its facts), so a repeated run reads no content at all.
            let syntax = comments::syntax_for(&change.path);
            let hits = if rules_apply {
                store.scan(side.id, scanner.fingerprint(syntax), |content| scanner.scan_blob(content, syntax))?
            } else {
                std::sync::Arc::from(Vec::new())
            };
            let keys = if secrets && facts.kind == ContentKind::Text {
                store.scan(side.id, patterns::secrets_fingerprint(syntax), |content| secret_lines(content, syntax))?
            } else {
                std::sync::Arc::from(Vec::new())
            };
            if hits.is_empty() && keys.is_empty() {
                continue;
            }
            let old = match (&change.old, change.status) {
                (Some(old), Status::Modified | Status::Renamed | Status::TypeChanged) => Some(old.id),
                _ => None,
            };
            // A file with a NUL byte has no line counts in its facts: count its lines here.
            let (old_counts, new_counts) = if facts.kind == ContentKind::Binary {
                let counts = |id: Option<git2::Oid>| -> Result<Vec<(u32, u32)>> {
                    Ok(id.map(|id| store.content(id)).transpose()?.map(|c| line_counts(&c)).unwrap_or_default())
                };
                (counts(old)?, counts(Some(side.id))?)
            } else {
                let old = old.map(|id| store.facts(id)).transpose()?;
                (old.map(|f| f.hashes.to_vec()).unwrap_or_default(), facts.hashes.to_vec())
            };
            for (_, hit) in on_added_lines(&keys, &old_counts, &new_counts, &|_| true) {
                let level = settings.committed_secrets.unwrap_or(severity);
                out.findings.push(
                    Finding::new(
                        ID,
                        "committed-secret",
                        level,
                        format!("a private key or access key is committed in a file that ships: `{}`", hit.text),
                        "remove it, rotate the key (it is in the history now), and read it from a secret store or \
                         the environment at run time",
                    )
                    .at(&change.path)
                    .about(&hit.text)
                    .at_line(hit.line, 0),
                );
            }
            for (index, hit) in added_hits(&scanner, &change.path, &hits, &old_counts, &new_counts) {
                let rule = &scanner.rules()[index];
                out.findings.push(
                    Finding::new(
                        ID,
                        rule.id.clone(),
                        levels[index],
                        format!("{} (rule `{}`): `{}`", rule.reason, rule.id, hit.text),
                        format!(
                            "change it, or if it is deliberate, waive: gate waive {ID} --path {} --reason \"...\" --expires YYYY-MM-DD",
                            change.path
                        ),
                    )
                    .at(&change.path)
                    .about(&hit.text)
                    .at_line(hit.line, 0),
                );
            }
        }
        Ok(())
    }
}

/// The rules in force, compiled together, and the severity of each.
fn scanner(settings: &PatternSettings, severity: Severity) -> Result<(Scanner, Vec<Severity>)> {
    let mut rules = Vec::new();
    let mut levels = Vec::new();
    for (id, rule) in &settings.rules {
        let level = rule.severity.unwrap_or(severity);
        if level == Severity::Off {
            continue;
        }
        let compiled = rule.compiled(id).as_ref().map_err(|problems| {
            Error::new(format!("[checks.{ID}.rules.{id}]: {}", problems.first().map_or("", |p| p.message.as_str())))
        })?;
        rules.push(compiled.clone());
        levels.push(level);
    }
    let scanner = Scanner::new(rules).map_err(|e| Error::new(format!("[checks.{ID}]: {e}")))?;
    Ok((scanner, levels))
}

/// The changes whose new side the check scans, each with whether the rules look at it and
/// whether a committed key is looked for in it.
fn scanned<'c>(
    policy: &'c Policy,
    changes: &'c ChangeSet,
    settings: &'c PatternSettings,
    scanner: &'c Scanner,
) -> impl Iterator<Item = (&'c Change, &'c Side, bool, bool)> + 'c {
    changes.iter().filter_map(move |change| {
        let side = change.new.as_ref().filter(|s| matches!(s.mode, Mode::File | Mode::Executable))?;
        // One candidate for every class and rule asked about the path: each asks of thousands of
        // paths, twice a run (plan, then run).
        let path = crate::config::Candidate::new(&change.path);
        let skipped = policy.paths.ignore.matches_candidate(&path)
            || crate::config::in_classes_candidate(policy, &settings.skip_classes, &path);
        if skipped {
            return None;
        }
        let rules_apply = scanner.applies_to(&path);
        // A committed key is risky in any file that ships, whatever the rules look at.
        let secrets = settings.committed_secrets.is_none_or(|s| s != Severity::Off)
            && coverage::deployable_candidate(policy, &path);
        (rules_apply || secrets).then_some((change, side, rules_apply, secrets))
    })
}

/// Line hash -> copies, sorted by hash, as a blob's facts count them.
fn line_counts(content: &[u8]) -> Vec<(u32, u32)> {
    let mut counts: std::collections::HashMap<u32, u32> = std::collections::HashMap::new();
    for line in normalized_lines(content) {
        *counts.entry(line_hash(line)).or_default() += 1;
    }
    let mut counts: Vec<(u32, u32)> = counts.into_iter().collect();
    counts.sort_unstable();
    counts
}

/// A script too large to scan: what it holds cannot be vouched for.
fn too_large(path: &str, size: u64, severity: Severity) -> Finding {
    Finding::new(
        ID,
        "too-large-to-scan",
        severity,
        format!("a script of {size} bytes, too large to scan for risky patterns (over {MAX_BYTES} bytes)"),
        format!(
            "a script this large is usually generated or bundled: ship it as an artefact, or waive: gate waive {ID} \
             --path {path} --reason \"...\" --expires YYYY-MM-DD"
        ),
    )
    .at(path)
}

#[cfg(test)]
mod tests {
    use git2::Repository;

    use super::*;
    use crate::checks::{Registry, plan};
    use crate::config::{PolicyInput, load};
    use crate::git::{BlobStore, Repo, ScanHit, diff_trees};

    /// What the check plans is what it asks for: run on a release whose scans were planned and
    /// done by the pass that read its blobs, the check reads no blob again.
    #[test]
    fn what_the_check_plans_is_what_it_asks_for() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repo { git: Repository::init_bare(dir.path()).unwrap() };
        let key = format!("aws_key = \"AKIA{}\"\n", "ABCDEFGHIJKLMNOP");
        let files: [(&str, &[u8]); 3] = [
            ("deploy.sh", b"#!/bin/sh\nchmod 777 /srv/app\n"),
            ("app/settings.py", key.as_bytes()),
            ("README.md", b"# read me\n"),
        ];
        let mut builder = repo.git.treebuilder(None).unwrap();
        let mut app = repo.git.treebuilder(None).unwrap();
        for (path, content) in files {
            let id = repo.git.blob(content).unwrap();
            match path.strip_prefix("app/") {
                Some(name) => app.insert(name, id, 0o100644).unwrap(),
                None => builder.insert(path, id, 0o100755).unwrap(),
            };
        }
        builder.insert("app", app.write().unwrap(), 0o040000).unwrap();
        let release = repo.git.find_tree(builder.write().unwrap()).unwrap();
        let policy = load(&PolicyInput { file: None, read_pack: &|_| Ok(None), catalog: &Registry }).unwrap();
        let changes = diff_trees(&repo, None, &release, &|_| None).unwrap();
        let store = BlobStore::open(&repo);

        plan(&crate::checks::Plan { policy: &policy, changes: &changes, store: &store });
        let blobs: Vec<(git2::Oid, bool)> = changes.iter().map(|c| (c.current().id, false)).collect();
        store.prefetch(&blobs, |_| Vec::new(), u64::MAX, &|_, _| {}).unwrap();

        let checked = policy.check(ID).unwrap();
        let settings = checked.settings.get::<PatternSettings>().unwrap();
        let (scanner, _) = scanner(settings, checked.severity).unwrap();
        let paths: Vec<&str> =
            scanned(&policy, &changes, settings, &scanner).map(|(change, ..)| change.path.as_str()).collect();
        assert!(paths.contains(&"deploy.sh") && paths.contains(&"app/settings.py"), "{paths:?}");
        let never = |_: &[u8]| -> Vec<ScanHit> { panic!("the blob was read again: its scan was not planned") };
        for (change, side, rules_apply, secrets) in scanned(&policy, &changes, settings, &scanner) {
            let syntax = comments::syntax_for(&change.path);
            if rules_apply {
                let hits = store.scan(side.id, scanner.fingerprint(syntax), never).unwrap();
                if change.path == "deploy.sh" {
                    assert_eq!(hits.len(), 1, "chmod 777 is found");
                }
            }
            if secrets {
                let keys = store.scan(side.id, patterns::secrets_fingerprint(syntax), never).unwrap();
                assert_eq!(keys.len(), usize::from(change.path == "app/settings.py"), "{}", change.path);
            }
        }
    }
}
