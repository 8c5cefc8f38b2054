//! `dependency-change`: the release changes dependencies; list what, exactly.
//!
//! Incident 001: an upgrade needed a third-party authentication dependency that the production
//! servers could not run. Every changed manifest and lockfile is read on both sides and the
//! packages added, removed and upgraded are listed; by default (`[checks.staged-rollout]
//! dependency-changes-require`) such a release must go through staging first. A file gate cannot
//! read is said so, never skipped.

use serde::Deserialize;

use super::{Check, Context, Doc, Finding, NotAnalysed, Output};
use crate::Result;
use crate::audit::lockfiles::{self, Packages, ReadError};
use crate::config::Settings;
use crate::config::Severity;
use crate::git::{Mode, Side};

pub struct DependencyChange;

const ID: &str = "dependency-change";

/// Manifests larger than this are not read.
const MAX_BYTES: u64 = 64 * 1024 * 1024;
/// Changed packages listed under a finding; the rest are counted.
const SHOWN: usize = 40;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct DependencySettings {}

impl Settings for DependencySettings {}

static DOC: Doc = Doc {
    codes: &["unreadable", "packages-changed"],
    summary: "The release changes dependency manifests or lockfiles: the packages added, removed and upgraded are \
              listed (staged-rollout then requires a deploy through staging first).",
    why: "Incident 001: an upgrade went to every production server at once; it needed a third-party \
          authentication dependency that the servers' version could not run. Seeing exactly which packages move, \
          and trying them in staging first, is how such an upgrade is caught.",
    example: "dependency-change  warn\n  Cargo.lock: 1 added, 2 upgraded\n    + tokio 1.38.0\n    serde 1.0.197 -> 1.0.203\n    \
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
        let paths = &cx.policy.paths;
        for change in cx.changes.iter() {
            if !paths.manifests.matches(&change.path) || paths.ignore.matches(&change.path) {
                continue;
            }
            let read = |side: Option<&Side>, path: &str| -> Result<Option<std::result::Result<Packages, ReadError>>> {
                let Some(side) = side.filter(|s| matches!(s.mode, Mode::File | Mode::Executable)) else {
                    return Ok(None);
                };
                if side.size > MAX_BYTES {
                    return Ok(Some(Err(ReadError::Invalid(format!("{} bytes, too large to read", side.size)))));
                }
                let content = cx.analysis.store.content(side.id)?;
                Ok(Some(lockfiles::read(path, &String::from_utf8_lossy(&content))))
            };
            let new = read(change.new.as_ref(), &change.path)?;
            let old = read(change.old.as_ref(), change.old_path.as_deref().unwrap_or(&change.path))?;
            let (old, new) = match (old, new) {
                (_, Some(Err(ReadError::NotUnderstood(why)))) | (Some(Err(ReadError::NotUnderstood(why))), None) => {
                    out.not_analysed.push(NotAnalysed { check: ID, path: change.path.clone(), reason: why });
                    continue;
                }
                (_, Some(Err(ReadError::Invalid(why)))) => {
                    out.findings.push(
                        Finding::new(
                            ID,
                            "unreadable",
                            severity,
                            format!("cannot be read as a dependency file: {why}"),
                            "fix the file; the build will not read it either",
                        )
                        .at(&change.path),
                    );
                    continue;
                }
                (Some(Err(_)), new) => (Packages::default(), new.and_then(|n| n.ok()).unwrap_or_default()),
                (old, new) => {
                    (old.and_then(|o| o.ok()).unwrap_or_default(), new.and_then(|n| n.ok()).unwrap_or_default())
                }
            };
            let diff = lockfiles::diff(&old, &new);
            if diff.is_empty() {
                continue;
            }
            let mut counts = Vec::new();
            for (n, word) in
                [(diff.added.len(), "added"), (diff.removed.len(), "removed"), (diff.changed.len(), "changed")]
            {
                if n > 0 {
                    counts.push(format!("{n} {word}"));
                }
            }
            let mut details = diff.lines();
            if details.len() > SHOWN {
                let more = details.len() - SHOWN;
                details.truncate(SHOWN);
                details.push(format!("… and {more} more"));
            }
            let total = diff.added.len() + diff.removed.len() + diff.changed.len();
            out.findings.push(
                Finding::new(
                    ID,
                    "packages-changed",
                    severity,
                    format!("{total} package{} change{}: {}", if total == 1 { "" } else { "s" }, if total == 1 { "s" } else { "" }, counts.join(", ")),
                    "make sure the new versions run where they are going: deploy through staging first (staged-rollout requires it)",
                )
                .at(&change.path)
                .with_details(details),
            );
        }
        Ok(())
    }
}
