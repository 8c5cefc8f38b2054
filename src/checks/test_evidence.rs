//! `test-evidence`: the release tree carries passing test results.
//!
//! Incidents 001 and 002: an upgrade and a "quick fix" went to production without their tests
//! having passed. An environment with `evidence = ["tests"]` requires a `tests` record for this
//! exact tree (from `gate evidence add tests --junit ...`) whose reports show no failure.

use serde::Deserialize;

use super::{Check, Context, Doc, Finding, Output};
use crate::config::Settings;
use crate::config::Severity;
use crate::git::short;
use crate::{Result, time};

pub struct TestEvidence;

const ID: &str = "test-evidence";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct TestSettings {
    /// Fewest tests that must have run (skipped ones do not count).
    min_tests: u64,
}

impl Default for TestSettings {
    fn default() -> Self {
        TestSettings { min_tests: 1 }
    }
}

impl Settings for TestSettings {}

static DOC: Doc = Doc {
    codes: &["no-results", "failed", "too-few-tests", "too-old", "counts-disagree"],
    summary: "An environment with `evidence = [\"tests\"]` requires passing test results for the release's exact tree.",
    why: "Incident 001: an upgrade went to production without passing the test environment. Incident 002: a quick \
          fix with an infinite loop was committed untested before a weekend. Both postmortems end with the same \
          lesson: nothing ships without passing its tests, enforced by a program, not by memory. Results are bound \
          to the tree, so a squash or rebase with the same content keeps them and any other change does not.",
    example: "test-evidence  deny\n  the tests of this release tree failed: 118 tests: 115 passed, 2 failed, 1 errored\n    \
              tests.test_search::test_ranking\n    help: fix the failing tests, run them again and record the new reports",
    config: "[environments.production]\nevidence = [\"tests\"]\nevidence-max-age = { tests = \"7d\" }   # optional\n\n\
             [checks.test-evidence]\nseverity  = \"deny\"\nmin-tests = 1        # fewest tests that must have run",
};

impl Check for TestEvidence {
    type Settings = TestSettings;

    fn id(&self) -> &'static str {
        ID
    }

    fn default_severity(&self) -> Severity {
        Severity::Deny
    }

    fn doc(&self) -> &'static Doc {
        &DOC
    }

    fn run(&self, cx: &Context<'_>, settings: &TestSettings, severity: Severity, out: &mut Output) -> Result<()> {
        let Some(env) = cx.target()? else { return Ok(()) };
        if !env.evidence.iter().any(|k| k == "tests") {
            return Ok(());
        }
        let tree = short(cx.range.release.tree);
        let record_help =
            "run the tests on this exact tree and record them: gate evidence add tests --junit 'reports/**/*.xml'";
        let newest = cx.evidence.newest_where("tests", |r| r.tests.is_some());
        let Some(record) = newest else {
            let message = match cx.analysis.tested_nearby()? {
                Some((record, behind)) => format!(
                    "{} requires passing tests for the release tree {tree}; tests were recorded for tree {} (commit {}, {behind} \
                     commit{} before the release), which is not the tree that would ship",
                    env.name,
                    short(record.tree),
                    short(record.commit),
                    if *behind == 1 { "" } else { "s" }
                ),
                None => {
                    format!("{} requires passing tests, and none are recorded for the release tree {tree}", env.name)
                }
            };
            out.findings.push(Finding::new(ID, "no-results", severity, message, record_help));
            return Ok(());
        };
        let tests = record.tests.as_ref().unwrap_or_else(|| unreachable!("filtered above"));
        let when = format!("recorded {} by {}", time::iso(record.at), record.by);
        if !tests.passed() {
            let mut details = tests.failing.clone();
            let listed = details.len() as u64;
            if tests.failed + tests.errored > listed {
                details.push(format!("… and {} more", tests.failed + tests.errored - listed));
            }
            let message = if tests.executed() == 0 {
                format!("no test of this release tree ran ({}; {when})", tests.describe())
            } else {
                format!("the tests of this release tree failed: {} ({when})", tests.describe())
            };
            out.findings.push(
                Finding::new(
                    ID,
                    "failed",
                    severity,
                    message,
                    "fix the failing tests, run them again and record the new reports",
                )
                .with_details(details),
            );
            return Ok(());
        }
        if tests.executed() < settings.min_tests {
            out.findings.push(Finding::new(
                ID,
                "too-few-tests",
                severity,
                format!(
                    "only {} test{} ran for this release tree; {} requires at least {}",
                    tests.executed(),
                    plural(tests.executed()),
                    env.name,
                    settings.min_tests
                ),
                "run the whole test suite and record all its reports",
            ));
        }
        if let Some(max_age) = env.evidence_max_age.get("tests") {
            let age = cx.now.duration_since(record.at);
            if age > *max_age {
                out.findings.push(Finding::new(
                    ID,
                    "too-old",
                    severity,
                    format!(
                        "the test results for this tree are {} old; {} accepts at most {}",
                        time::duration(age),
                        env.name,
                        time::duration(*max_age)
                    ),
                    record_help,
                ));
            }
        }
        if !tests.mismatches.is_empty() {
            out.findings.push(
                Finding::new(
                    ID,
                    "counts-disagree",
                    Severity::Warn,
                    "the test reports' own counts disagree with the test cases they list (a truncated or merged report?)",
                    "check that every report is complete; gate counted the test cases, not the attributes",
                )
                .with_details(tests.mismatches.clone()),
            );
        }
        Ok(())
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}
