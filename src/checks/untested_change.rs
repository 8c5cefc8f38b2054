//! `untested-change`: a deployable script changes and no test covers it.
//!
//! Incident 000: an untested `search_v2` script went to production. Incident 002: an untested
//! quick fix with an infinite loop. A script counts as tested when a test file for it exists
//! where the templates say or in a test tree that mirrors its directory, or the code of a file
//! of the `tests` class refers to it by path, file name or module (see `analysis::coverage`). A
//! script whose code did not change (only comments, blank lines or indentation) is not an
//! untested change.

use serde::Deserialize;

use super::{Check, Context, Doc, Finding, FindingData, Output};
use crate::Result;
use crate::analysis::Needs;
use crate::analysis::coverage::{self, Looked};
use crate::config::Severity;
use crate::config::{Problem, Settings};
use crate::git::{extension, file_name};

pub struct UntestedChange;

pub const ID: &str = "untested-change";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct UntestedSettings {
    /// Where a script's own test may live: `{dir}`, `{name}`, `{stem}` and `{ext}` are filled in.
    pub test_files: Vec<toml::Spanned<String>>,
}

impl Settings for UntestedSettings {
    fn problems(&self) -> Vec<Problem> {
        self.test_files
            .iter()
            .filter(|t| !t.get_ref().contains("{stem}") && !t.get_ref().contains("{name}"))
            .map(|t| Problem::at(t, "a test-file template must contain {stem} or {name}"))
            .collect()
    }
}

static DOC: Doc = Doc {
    codes: &["untested-script"],
    summary: "A script in the `scripts` path class is added or its code changes, and no test covers it.",
    why: "Incident 000: an untested search_v2 script, sitting beside search, was deployed to production by \
          accident. Incident 002: a quick fix with an infinite loop was committed untested before a weekend. \
          A deployable script must have a test that exercises it.",
    example: "untested-change  warn\n  bin/search_v2.sh: no test covers this script\n    \
              looked for: test/search_v2.bats, tests/test_search_v2.sh, ...\n    \
              no file of the tests class (41 files) refers to search_v2.sh",
    config: "# A script is tested when one of these holds:\n\
             # - a test file exists where `test-files` says;\n\
             # - a test tree mirrors its directory: test/models/account_test.rb tests app/models/account.rb,\n\
             #   tests/api/test_host.py tests pkg/api/host.py, foo_test.go beside foo.go tests foo.go;\n\
             # - the code of a file of the `tests` class imports, sources, runs or opens it, by path, file\n\
             #   name or module (`from pkg.api import X` covers pkg/api.py and pkg/api/__init__.py). A name\n\
             #   in a comment, a README or notes under tests/, fixtures and snapshots do not count;\n\
             # - covered code loads it (a tested module imports it, a tested script sources it).\n\
             # Teach gate your own test layout: where the tests live, and how a test file is named.\n\
             [paths]\ntests = [\"tests/**\", \"qa/scenarios/**\"]\n\n\
             [checks.untested-change]\nseverity = \"warn\"\n# Where a script's own test may live ({dir}, {name}, {stem}, {ext} are filled in)\n\
             test-files = [\"tests/test_{stem}.py\", \"{dir}/{stem}_test.go\", \"test/{stem}.bats\", \"qa/scenarios/{stem}.scenario.sh\"]",
};

impl Check for UntestedChange {
    type Settings = UntestedSettings;

    fn id(&self) -> &'static str {
        ID
    }

    fn default_severity(&self) -> Severity {
        Severity::Warn
    }

    fn doc(&self) -> &'static Doc {
        &DOC
    }

    fn needs(&self, settings: &UntestedSettings, needs: &mut Needs) {
        needs.test_references = true;
        needs.test_files = Some(settings.test_files.iter().map(|t| t.get_ref().clone()).collect());
    }

    fn run(&self, cx: &Context<'_>, _settings: &UntestedSettings, severity: Severity, out: &mut Output) -> Result<()> {
        let mut comments_only = 0;
        let mut migrations: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
        let mut configuration: std::collections::BTreeMap<&str, Vec<&str>> = std::collections::BTreeMap::new();
        for change in cx.changes.iter().filter(|c| coverage::in_scope(cx.policy, c)) {
            // A schema migration is applied by its tool (`rails db:migrate`, `manage.py migrate`),
            // not run by a test of its own: one warning per migration is noise. One whose code
            // rewrites data is code, and is reported like any script.
            if let Some(tool) = crate::analysis::names::migration(&change.path)
                && let Some(side) = &change.new
                && !crate::analysis::names::changes_data(&String::from_utf8_lossy(&cx.analysis.store.content(side.id)?))
            {
                *migrations.entry(tool).or_default() += 1;
                continue;
            }
            let Err(looked) = cx.analysis.coverage(&change.path)? else { continue };
            if cx.analysis.changes_only_comments(change)? {
                comments_only += 1;
                continue;
            }
            if let Some(kind) = crate::analysis::names::configuration_code(&change.path) {
                configuration.entry(kind).or_default().push(&change.path);
                continue;
            }
            out.findings.push(finding(severity, &change.path, looked));
        }
        if !migrations.is_empty() {
            let n: usize = migrations.values().sum();
            let tools: Vec<&str> = migrations.keys().copied().collect();
            out.notes.push(format!(
                "{ID}: {n} schema migration{} ({}) not reported: the migration tool applies them, not a test; review them with the schema they change",
                if n == 1 { "" } else { "s" },
                tools.join(", ")
            ));
        }
        if !configuration.is_empty() {
            let paths: Vec<&str> = configuration.values().flatten().copied().collect();
            let kinds: Vec<&str> = configuration.keys().copied().collect();
            let shown = paths.iter().take(5).copied().collect::<Vec<_>>().join(", ");
            let more = if paths.len() > 5 { format!(" and {} more", paths.len() - 5) } else { String::new() };
            out.notes.push(format!(
                "{ID}: {n} file{s} of configuration written as code ({kinds}) not reported: {shown}{more}; \
                 no test runs the configuration of the environment it is for, so a staged rollout is what proves it",
                n = paths.len(),
                s = if paths.len() == 1 { "" } else { "s" },
                kinds = kinds.join(", "),
            ));
        }
        if comments_only > 0 {
            let plural = if comments_only == 1 { " changes" } else { "s change" };
            out.notes.push(format!(
                "{ID}: {comments_only} untested script{plural} only in comments, blank lines or indentation; not reported"
            ));
        }
        Ok(())
    }
}

/// Test-file templates for the script's own language first: a `.sh` script is tested by a
/// `.sh` or `.bats` file, not by `test_x.py`.
fn by_relevance(path: &str, mut test_files: Vec<String>) -> Vec<String> {
    let ext = extension(file_name(path)).unwrap_or("");
    fn family(e: &str) -> &str {
        match e {
            "sh" | "bash" | "bats" | "zsh" | "ksh" => "shell",
            "js" | "mjs" | "cjs" | "jsx" | "ts" | "tsx" => "js",
            other => other,
        }
    }
    test_files.sort_by_key(|t| family(extension(file_name(t)).unwrap_or("")) != family(ext));
    test_files
}

fn finding(severity: Severity, path: &str, mut looked: Looked) -> Finding {
    let name = file_name(path);
    looked.test_files = by_relevance(path, looked.test_files);
    let shown: Vec<&str> = looked.test_files.iter().take(4).map(String::as_str).collect();
    let more = looked.test_files.len().saturating_sub(shown.len());
    let mut details = Vec::new();
    if !shown.is_empty() {
        let more = if more > 0 { format!(" and {more} more") } else { String::new() };
        details.push(format!("looked for a test file at {}{more}", shown.join(", ")));
    }
    details.push(format!(
        "no file of the tests class ({} file{}) refers to {name}",
        looked.tests_searched,
        if looked.tests_searched == 1 { "" } else { "s" }
    ));
    let suggestion = looked.test_files.first().map_or_else(String::new, |t| format!(" (for example {t})"));
    Finding::new(
        ID,
        "untested-script",
        severity,
        "no test covers this script",
        format!(
            "add a test that runs it{suggestion}, or waive: gate waive {ID} --path {path} --reason \"...\" --expires YYYY-MM-DD; \
             if a test gate did not find covers it, `gate explain {ID}` says how to teach gate your test layout"
        ),
    )
    .at(path)
    .with_details(details)
    .with_data(FindingData::Untested { test_files: looked.test_files, tests_searched: looked.tests_searched })
}
