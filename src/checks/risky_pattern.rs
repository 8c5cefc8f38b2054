//! `risky-pattern`: the release adds a line that matches a risky pattern.
//!
//! Incident 002: a "quick fix" carried an infinite loop into production. Some lines are worth a
//! second look whatever else a release does: a loop with no exit in sight, `set +e` in a deploy
//! script, debug mode switched on, `chmod 777`, `rm -rf` on a variable path, TLS verification
//! turned off. Rules are regular expressions over the lines the release adds, scoped by path
//! globs and defined in rule packs; users add their own.

use std::collections::BTreeMap;

use globset::GlobSetBuilder;
use serde::Deserialize;
use toml::Spanned;

use super::{Check, Context, Doc, Finding, NotAnalysed, Output};
use crate::audit::patterns::{self, Rule, Scanner, added_hits};
use crate::config::{Problem, Settings};
use crate::config::{Severity, compile_glob};
use crate::git::{ContentKind, Mode, Status};
use crate::{Error, Result};

pub struct RiskyPattern;

const ID: &str = "risky-pattern";

/// Files larger than this are not scanned (and are listed as not analysed).
const MAX_BYTES: u64 = 4 * 1024 * 1024;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct PatternSettings {
    rules: BTreeMap<String, RuleSettings>,
    /// Path classes whose files are not scanned: tests exercise risky code on purpose.
    skip_classes: Vec<Spanned<String>>,
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
}

impl RuleSettings {
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
        let (Some(pattern), Some(unless), Ok(paths)) = (pattern, unless, paths.build()) else {
            return Err(problems);
        };
        let rule = Rule {
            id: id.to_string(),
            pattern,
            paths,
            unless,
            window: self.window,
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
            self.rules.iter().filter_map(|(id, rule)| rule.compile(id).err()).flatten().collect();
        problems.extend(crate::config::class_problems(&self.skip_classes));
        problems
    }
}

static DOC: Doc = Doc {
    codes: &[],
    summary: "A line the release adds matches a risky pattern: an unbounded loop with no exit in sight, `set +e` in a \
              deploy script, debug mode on, `chmod 777`, `rm -rf` on a variable path, TLS verification off, or a rule \
              of your own.",
    why: "Incident 002: a quick fix meant to speed up transactions carried an infinite loop into production on a \
          Friday evening; the rollback then failed because the loop had used up the machine. Some lines deserve a \
          second look whatever else a release does, and a program can look every time.",
    example: "risky-pattern  deny\n  app/cache.sh:14: an unbounded loop with no exit in sight (rule `unbounded-loop`): `while true; do`\n    \
              help: give the loop an exit (a break, a timeout, a retry limit), or waive: gate waive risky-pattern --path app/cache.sh ...",
    config: "[checks.risky-pattern]\nseverity = \"deny\"\n\n[checks.risky-pattern.rules.no-sudo-in-scripts]\npattern = '^\\s*sudo\\s'\n\
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

    fn run(&self, cx: &Context<'_>, settings: &PatternSettings, severity: Severity, out: &mut Output) -> Result<()> {
        let mut rules = Vec::new();
        let mut levels = Vec::new();
        for (id, rule) in &settings.rules {
            let level = rule.severity.unwrap_or(severity);
            if level == Severity::Off {
                continue;
            }
            let compiled = rule.compile(id).map_err(|problems| {
                Error::new(format!("[checks.{ID}.rules.{id}]: {}", problems.first().map_or("", |p| p.message.as_str())))
            })?;
            rules.push(compiled);
            levels.push(level);
        }
        let scanner = Scanner::new(rules).map_err(|e| Error::new(format!("[checks.{ID}]: {e}")))?;
        let fingerprint = scanner.fingerprint();
        let paths = &cx.policy.paths;
        for change in cx.changes.iter() {
            let Some(side) = change.new.as_ref().filter(|s| matches!(s.mode, Mode::File | Mode::Executable)) else {
                continue;
            };
            if paths.ignore.matches(&change.path)
                || crate::config::in_classes(cx.policy, &settings.skip_classes, &change.path)
                || !scanner.applies_to(&change.path)
            {
                continue;
            }
            let facts = cx.analysis.store.facts(side.id)?;
            if facts.kind != ContentKind::Text || facts.size > MAX_BYTES {
                if facts.kind == ContentKind::Text || facts.kind == ContentKind::Unread {
                    let reason = format!("{} bytes, too large to scan", facts.size);
                    out.not_analysed.push(NotAnalysed { check: ID, path: change.path.clone(), reason });
                }
                continue;
            }
            // Matches are cached per blob; the old side is needed only as line counts (its facts),
            // so a repeated run reads no content at all.
            let store = cx.analysis.store;
            let hits = store.scan(side.id, fingerprint, |content| scanner.scan_blob(content))?;
            if hits.is_empty() {
                continue;
            }
            let old_facts = match (&change.old, change.status) {
                (Some(old), Status::Modified | Status::Renamed | Status::TypeChanged) => Some(store.facts(old.id)?),
                _ => None,
            };
            let old_counts = old_facts.as_ref().map_or(&[][..], |f| &f.hashes[..]);
            for (index, hit) in added_hits(&scanner, &change.path, &hits, old_counts, &facts.hashes) {
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
