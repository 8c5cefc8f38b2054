//! `blast-radius`: the release is large.
//!
//! Every commit and file since the last deploy ships at once. A release of hundreds of files is
//! hard to review, hard to test as a whole and hard to roll back; the postmortems behind gate
//! all involve changes that went out together with nobody looking at the whole.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Check, Context, Doc, Finding, Output};
use crate::config::Severity;
use crate::config::{Problem, Settings};
use crate::{Result, git};

pub struct BlastRadius;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct RadiusSettings {
    /// Most files a release may change before the check fires (0: no cap).
    max_files: toml::Spanned<u64>,
    /// Most commits a release may carry before the check fires (0: no cap).
    max_commits: toml::Spanned<u64>,
}

impl Default for RadiusSettings {
    fn default() -> Self {
        RadiusSettings { max_files: toml::Spanned::new(0..0, 0), max_commits: toml::Spanned::new(0..0, 0) }
    }
}

impl Settings for RadiusSettings {
    fn problems(&self) -> Vec<Problem> {
        Vec::new()
    }
}

static DOC: Doc = Doc {
    codes: &["too-many-files", "too-many-commits"],
    summary: "The release changes more files or carries more commits than the configured caps.",
    why: "Everything since the last deploy ships at once. A large release is hard to review, hard to \
          test as a whole and hard to roll back; outages hide in releases nobody could read end to end. \
          Deploy in smaller steps, or raise the caps if large releases are normal for this repository.",
    example: "blast-radius  warn\n  612 files change since the last deploy of production (cap 500)\n    \
              crates/ruff_linter: 301 files\n    help: deploy in smaller steps, or raise [checks.blast-radius] max-files",
    config: "[checks.blast-radius]\nseverity    = \"warn\"\nmax-files   = 500   # 0 turns the cap off\nmax-commits = 200",
};

impl Check for BlastRadius {
    type Settings = RadiusSettings;

    fn id(&self) -> &'static str {
        "blast-radius"
    }

    fn default_severity(&self) -> Severity {
        Severity::Warn
    }

    fn doc(&self) -> &'static Doc {
        &DOC
    }

    fn run(&self, cx: &Context<'_>, settings: &RadiusSettings, severity: Severity, out: &mut Output) -> Result<()> {
        let (max_files, max_commits) = (*settings.max_files.get_ref(), *settings.max_commits.get_ref());
        let since = match &cx.range.environment {
            _ if cx.range.base.is_first_deploy() => {
                "in the whole release (nothing is recorded as deployed)".to_string()
            }
            Some(env) => format!("since the last deploy of {env}"),
            None => "since the base".to_string(),
        };

        let files = cx.changes.len() as u64;
        if max_files > 0 && files > max_files {
            out.findings.push(
                Finding::new(
                    self.id(),
                    "too-many-files",
                    severity,
                    format!("{files} files change {since} (cap {max_files})"),
                    "deploy in smaller steps, or raise [checks.blast-radius] max-files",
                )
                .with_details(busiest_directories(cx.changes)),
            );
        }

        if max_commits > 0 {
            let cap = usize::try_from(max_commits).unwrap_or(usize::MAX);
            let count = cx.analysis.commit_count(cap)?;
            if count.capped {
                out.findings.push(Finding::new(
                    self.id(),
                    "too-many-commits",
                    severity,
                    format!(
                        "the release carries more than {max_commits} commit{} {since} (cap {max_commits})",
                        if max_commits == 1 { "" } else { "s" }
                    ),
                    "deploy in smaller steps, or raise [checks.blast-radius] max-commits",
                ));
            }
        }
        Ok(())
    }
}

/// The top-level directories with the most changed files, to show where the size comes from.
fn busiest_directories(changes: &git::ChangeSet) -> Vec<String> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for change in changes.iter() {
        let top = match change.path.split_once('/') {
            Some((dir, _)) => dir,
            None => ".",
        };
        *counts.entry(top).or_default() += 1;
    }
    let mut ranked: Vec<(&str, usize)> = counts.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    ranked
        .into_iter()
        .take(5)
        .map(|(dir, n)| if dir == "." { format!("(top level): {n} files") } else { format!("{dir}/: {n} files") })
        .collect()
}
