//! The JSON report: versioned, findings sorted, the same bytes for the same inputs.

use std::io::{self, Write};

use serde::Serialize;

use super::{JSON_VERSION, Report, Tally, Verdict};
use crate::checks::{Finding, NotAnalysed};
use crate::config::Severity;
use crate::git::BaseSource;

#[derive(Serialize)]
struct JsonReport<'a> {
    version: u32,
    verdict: Verdict,
    environment: Option<&'a str>,
    /// The base commit id; null when nothing is deployed yet.
    base: Option<String>,
    /// The release commit id.
    release: String,
    release_tree: String,
    release_rev: &'a str,
    base_source: &'a BaseSource,
    files_changed: usize,
    deny_warnings: bool,
    /// `review` or `deploy`.
    stage: crate::cli::Stage,
    summary: Tally,
    checks: Vec<JsonCheck>,
    notes: &'a [String],
    findings: &'a [Finding],
    /// At the review stage: what the evidence checks want before the environment (not blocking).
    still_needs: &'a [Finding],
    not_analysed: &'a [NotAnalysed],
    config_changes: &'a [super::ConfigChanges],
    /// The earlier deploy of the release tree this release returns to, or null.
    rollback: Option<&'a crate::analysis::rollout::Rollback>,
}

#[derive(Serialize)]
struct JsonCheck {
    id: &'static str,
    severity: Severity,
}

pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let range = &report.range;
    let json = JsonReport {
        version: JSON_VERSION,
        verdict: report.verdict(),
        environment: range.environment.as_deref(),
        base: range.base.commit.map(|id| id.to_string()),
        release: range.release.commit.to_string(),
        release_tree: range.release.tree.to_string(),
        release_rev: &range.release.rev,
        base_source: &range.base.source,
        files_changed: report.files_changed,
        deny_warnings: report.deny_warnings,
        stage: report.stage,
        summary: report.tally(),
        checks: report.results.ran.iter().map(|(id, severity)| JsonCheck { id, severity: *severity }).collect(),
        notes: &report.notes,
        findings: &report.results.findings,
        still_needs: &report.still_needs,
        not_analysed: &report.results.not_analysed,
        config_changes: &report.config_changes,
        rollback: report.rollback.as_ref(),
    };
    serde_json::to_writer_pretty(&mut *out, &json).map_err(io::Error::other)?;
    writeln!(out)
}
