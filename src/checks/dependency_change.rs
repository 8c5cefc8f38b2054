//! `dependency-change`: the release changes dependencies; list what, exactly.
//!
//! Incident 001: an upgrade needed a third-party authentication dependency that the production
//! servers could not run. Every changed manifest and lockfile is read on both sides and the
//! packages added, removed and upgraded are listed, with major upgrades and downgrades marked;
//! container images named by Dockerfiles, compose files and Kubernetes manifests count too.
//! Development and test dependencies are listed apart: by default (`[checks.staged-rollout]
//! dependency-changes-require`) a release whose shipped dependencies change must go through
//! staging first, and test tools alone never require it. A file gate cannot read is said so,
//! never skipped. The reading is shared (`analysis::dependencies`).

use serde::Deserialize;

use super::{Check, Context, Doc, Finding, NotAnalysed, Output};
use crate::Result;
use crate::analysis::dependencies::Read;
use crate::audit::lockfiles::DependencyDiff;
use crate::config::Settings;
use crate::config::Severity;

pub struct DependencyChange;

const ID: &str = "dependency-change";

/// Changed packages listed under a finding; the rest are counted.
const SHOWN: usize = 40;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct DependencySettings {}

impl Settings for DependencySettings {}

static DOC: Doc = Doc {
    codes: &["unreadable", "packages-changed", "dev-packages-changed", "images-changed"],
    summary: "The release changes dependency manifests, lockfiles or container images: the packages and images added, \
              removed and upgraded are listed, major upgrades and downgrades marked, development and test dependencies \
              apart (staged-rollout then requires a deploy through staging first, unless only those changed).",
    why: "Incident 001: an upgrade went to every production server at once; it needed a third-party \
          authentication dependency that the servers' version could not run. Seeing exactly which packages move, \
          and trying them in staging first, is how such an upgrade is caught.",
    example: "dependency-change  warn\n  Cargo.lock: 3 packages change: 1 added, 2 changed (1 major upgrade)\n    + tokio 1.38.0\n    \
              serde 1.0.197 -> 1.0.203\n    hyper 0.14.28 -> 1.3.1 (major upgrade)\n    \
              help: make sure the upgrade went through staging: gate record --env staging",
    config: "[paths]\nmanifests = [\"**/Cargo.lock\", \"**/package-lock.json\", \"**/requirements*.txt\"]\n\n\
             [checks.dependency-change]\nseverity = \"warn\"\n\n[checks.staged-rollout]\ndependency-changes-require = [\"staging\"]",
};

impl Check for DependencyChange {
    type Settings = DependencySettings;

    fn id(&self) -> &'static str {
        ID
    }

    fn default_severity(&self) -> Severity {
        Severity::Warn
    }

    fn doc(&self) -> &'static Doc {
        &DOC
    }

    fn run(&self, cx: &Context<'_>, _settings: &Self::Settings, severity: Severity, out: &mut Output) -> Result<()> {
        for manifest in cx.analysis.dependency_changes()? {
            let path = &manifest.path;
            let diff = match &manifest.read {
                Read::NotUnderstood(why) => {
                    out.not_analysed.push(NotAnalysed { check: ID, path: path.clone(), reason: why.clone() });
                    continue;
                }
                Read::Unreadable(why) => {
                    out.findings.push(
                        Finding::new(
                            ID,
                            "unreadable",
                            severity,
                            format!("cannot be read as a dependency file: {why}"),
                            "fix the file; the build will not read it either",
                        )
                        .at(path),
                    );
                    continue;
                }
                Read::Diff(diff) => diff,
            };
            let (code, what, help) = if manifest.images {
                ("images-changed", ("image", "images"), RUNTIME_HELP)
            } else {
                ("packages-changed", ("package", "packages"), RUNTIME_HELP)
            };
            let runtime = diff.part(false);
            if !runtime.is_empty() {
                out.findings.push(finding(code, what, &runtime, help, severity).at(path));
            }
            let dev = diff.part(true);
            if !dev.is_empty() {
                let what = ("development or test package", "development or test packages");
                out.findings
                    .push(finding("dev-packages-changed", what, &dev, DEV_HELP, severity).at(path).about("dev"));
            }
        }
        Ok(())
    }
}

const RUNTIME_HELP: &str =
    "make sure the new versions run where they are going: deploy through staging first (staged-rollout requires it)";
const DEV_HELP: &str =
    "development and test dependencies do not ship: staged-rollout does not require staging for them";

/// `3 packages change: 1 added, 2 changed (1 major upgrade)`, with one line per change.
fn finding(code: &str, (one, many): (&str, &str), diff: &DependencyDiff, help: &str, severity: Severity) -> Finding {
    let mut counts = Vec::new();
    for (n, word) in [(diff.added.len(), "added"), (diff.removed.len(), "removed"), (diff.changed.len(), "changed")] {
        if n > 0 {
            counts.push(format!("{n} {word}"));
        }
    }
    let (majors, downgrades) = diff.bumps();
    let mut marks = Vec::new();
    if majors > 0 {
        marks.push(format!("{majors} major upgrade{}", if majors == 1 { "" } else { "s" }));
    }
    if downgrades > 0 {
        marks.push(format!("{downgrades} downgrade{}", if downgrades == 1 { "" } else { "s" }));
    }
    let marks = if marks.is_empty() { String::new() } else { format!(" ({})", marks.join(", ")) };
    let mut details = diff.lines();
    if details.len() > SHOWN {
        let more = details.len() - SHOWN;
        details.truncate(SHOWN);
        details.push(format!("… and {more} more"));
    }
    let total = diff.added.len() + diff.removed.len() + diff.changed.len();
    let (noun, verb) = if total == 1 { (one, "changes") } else { (many, "change") };
    Finding::new(ID, code, severity, format!("{total} {noun} {verb}: {}{marks}", counts.join(", ")), help)
        .with_details(details)
}
