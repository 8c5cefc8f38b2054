//! GitLab Code Quality: a JSON array of issues that GitLab shows in the merge request widget
//! and the pipeline's Code Quality tab (`artifacts: reports: codequality`).
//!
//! Each finding is one issue: `description` (the message, its body and help), `check_name`
//! (`gate/CHECK/CODE`), `fingerprint` (the finding's identity, as SARIF's, so an issue keeps its
//! identity across pipelines), `severity` (`blocker` for a finding that blocks, `minor` for a
//! warning, `info` for a waived one) and `location.path` + `location.lines.begin`. A finding about
//! the release as a whole sits on gate.toml line 1. GitLab has no field for a verdict: the job's
//! exit code carries it.

use std::io::{self, Write};

use serde::Serialize;

use super::{Report, text};
use crate::checks::Finding;
use crate::config::Severity;

#[derive(Serialize)]
struct Issue<'a> {
    description: String,
    check_name: String,
    fingerprint: String,
    severity: &'static str,
    location: Location<'a>,
}

#[derive(Serialize)]
struct Location<'a> {
    path: &'a str,
    lines: Lines,
}

#[derive(Serialize)]
struct Lines {
    begin: u32,
}

pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let findings = &report.results.findings;
    let issues: Vec<Issue<'_>> = findings
        .iter()
        .zip(text::fingerprints(findings))
        .map(|(finding, fingerprint)| issue(report, finding, fingerprint))
        .collect();
    serde_json::to_writer_pretty(&mut *out, &issues).map_err(io::Error::other)?;
    writeln!(out)
}

fn issue<'a>(report: &Report, finding: &'a Finding, fingerprint: String) -> Issue<'a> {
    let mut description = text::message(finding);
    for line in text::body(finding) {
        description.push_str(&format!("\n  {line}"));
    }
    let (word, rest) = text::closing(finding);
    description.push_str(&format!("\n{word} {rest}"));
    let severity = match (&finding.waived, finding.severity) {
        (Some(_), _) => "info",
        _ if finding.blocks(report.deny_warnings) => "blocker",
        (None, Severity::Deny) => "critical",
        (None, _) => "minor",
    };
    let (path, line) = match finding.path.as_deref() {
        Some(path) => (path, finding.line.unwrap_or(1)),
        None => ("gate.toml", 1),
    };
    Issue {
        description,
        check_name: format!("gate/{}/{}", finding.check, finding.code),
        fingerprint: fingerprint.replace(':', "-"),
        severity,
        location: Location { path, lines: Lines { begin: line.max(1) } },
    }
}
