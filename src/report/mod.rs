//! Reports: the verdict of `gate check`, written in one of several formats.
//!
//! The library builds a [`Report`]; each format is a function that writes it to a `dyn Write`,
//! so tests can render into a buffer. Reports are deterministic: the same inputs give the same
//! bytes.

mod github;
pub(crate) mod human;
mod json;
mod junit;
mod markdown;
mod sarif;
mod style;
pub mod text;

use std::io::{self, Write};

use serde::Serialize;

use crate::checks::{CheckResults, Finding, NotAnalysed};
use crate::cli::Format;
use crate::config::Severity;
use crate::git::{BaseSource, Range, short};

/// Version of the JSON report layout; bumped when a field changes meaning or goes away.
pub const JSON_VERSION: u32 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Pass,
    Blocked,
}

impl Verdict {
    /// `pass` or `blocked`, as the JSON report writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Blocked => "blocked",
        }
    }
}

/// Everything a report shows.
#[derive(Debug, Clone)]
pub struct Report {
    pub range: Range,
    pub files_changed: usize,
    pub results: CheckResults,
    /// Things the reader must know to trust the verdict (a first deploy, a clock override).
    pub notes: Vec<String>,
    pub deny_warnings: bool,
    /// Key-level changes of the configuration files the release changes (secrets masked).
    pub config_changes: Vec<ConfigChanges>,
}

/// How one configuration file changes, key by key.
#[derive(Debug, Clone, Serialize)]
pub struct ConfigChanges {
    pub path: String,
    /// How the file was read: `YAML`, `TOML (read as TOML)`, ...
    pub format: String,
    /// How the release changes the file: `added`, `modified`, `deleted`, `renamed`, ...
    pub status: crate::git::Status,
    pub changes: Vec<crate::audit::document::KeyChange>,
}

impl ConfigChanges {
    /// A short summary when the release adds or deletes the whole file: every key is then new
    /// (or gone), and listing them all would bury the changes a reviewer must read.
    pub fn whole_file(&self) -> Option<String> {
        use crate::git::Status;
        let n = self.changes.len();
        let keys = format!("{n} key{}", plural(n));
        match self.status {
            Status::Added | Status::Copied => Some(format!("new file, {keys}")),
            Status::Deleted => Some(format!("deleted, had {keys}")),
            _ => None,
        }
    }
}

/// The report's view of the changed configuration files: key changes with secret values masked.
pub fn config_changes(
    policy: &crate::config::Policy,
    files: &[crate::analysis::config_files::ConfigFile],
) -> Vec<ConfigChanges> {
    let masker = crate::checks::Masker::new(policy);
    files
        .iter()
        .filter(|file| !file.changes.is_empty())
        .map(|file| ConfigChanges {
            path: file.path.clone(),
            format: file.new.as_ref().or(file.old.as_ref()).map(crate::checks::describe_config).unwrap_or_default(),
            status: file.status,
            changes: file.changes.iter().map(|c| masker.apply(c)).collect(),
        })
        .collect()
}

/// What one check reported.
pub struct CheckGroup<'r> {
    pub check: &'static str,
    pub findings: Vec<&'r Finding>,
    pub not_analysed: Vec<&'r NotAnalysed>,
}

/// Counts of findings by how they weigh on the verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub blocking: usize,
    pub deny: usize,
    pub warn: usize,
    pub waived: usize,
}

impl Report {
    pub fn verdict(&self) -> Verdict {
        if self.results.findings.iter().any(|f| f.blocks(self.deny_warnings)) {
            Verdict::Blocked
        } else {
            Verdict::Pass
        }
    }

    pub fn tally(&self) -> Tally {
        let mut tally = Tally::default();
        for finding in &self.results.findings {
            if finding.waived.is_some() {
                tally.waived += 1;
                continue;
            }
            if finding.blocks(self.deny_warnings) {
                tally.blocking += 1;
            }
            match finding.severity {
                Severity::Deny => tally.deny += 1,
                Severity::Warn => tally.warn += 1,
                Severity::Off => {}
            }
        }
        tally
    }

    /// Findings and files not analysed, grouped by check, in the order the checks ran.
    pub fn by_check(&self) -> Vec<CheckGroup<'_>> {
        self.results
            .ran
            .iter()
            .map(|(id, _)| CheckGroup {
                check: id,
                findings: self.results.findings.iter().filter(|f| f.check == *id).collect(),
                not_analysed: self.results.not_analysed.iter().filter(|n| n.check == *id).collect(),
            })
            .filter(|group| !group.findings.is_empty() || !group.not_analysed.is_empty())
            .collect()
    }

    /// The verdict in words, uncoloured: `BLOCKED: 2 deny findings stop this release (1 warning)`.
    pub fn verdict_line(&self) -> String {
        let label = match self.verdict() {
            Verdict::Blocked => "BLOCKED:",
            Verdict::Pass => "PASS:",
        };
        format!("{label} {}", self.verdict_reason())
    }

    /// What the verdict rests on: `2 deny findings stop this release (1 warning)`, or
    /// `no blocking findings`.
    pub fn verdict_reason(&self) -> String {
        let tally = self.tally();
        let mut parts = Vec::new();
        if tally.warn > 0 {
            parts.push(format!("{} warning{}", tally.warn, plural(tally.warn)));
        }
        if tally.waived > 0 {
            parts.push(format!("{} waived", tally.waived));
        }
        let rest = if parts.is_empty() { String::new() } else { format!(" ({})", parts.join(", ")) };
        match self.verdict() {
            Verdict::Blocked => {
                let blocking = tally.blocking;
                let noun = if self.deny_warnings { "blocking finding" } else { "deny finding" };
                let verb = if blocking == 1 { "stops" } else { "stop" };
                format!("{blocking} {noun}{} {verb} this release{rest}", plural(blocking))
            }
            Verdict::Pass => format!("no blocking findings{rest}"),
        }
    }

    /// The severity a check ran at; none when it did not run.
    pub fn ran_at(&self, check: &str) -> Option<Severity> {
        self.results.ran.iter().find(|(id, _)| *id == check).map(|(_, severity)| *severity)
    }

    /// One line on what the release is compared with.
    pub fn base_description(&self) -> String {
        match &self.range.base.source {
            BaseSource::Argument { rev } => {
                format!("{} (--base {rev})", self.range.base.commit.map(short).unwrap_or_default())
            }
            BaseSource::LastDeploy { deploy } => format!(
                "{}  last deploy of {}, {} by {} ({})",
                short(deploy.commit),
                deploy.environment,
                crate::time::human(deploy.at),
                deploy.by,
                deploy.source
            ),
            BaseSource::FirstDeploy { .. } => "none: the whole release tree is checked as a first deploy".to_string(),
        }
    }
}

pub use text::{label, location, plural};

/// Writes the report in `format`.
pub fn write(report: &Report, format: Format, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Human => human::write(report, out),
        Format::Json => json::write(report, out),
        Format::Sarif => sarif::write(report, out),
        Format::Junit => junit::write(report, out),
        Format::Github => github::write(report, out),
        Format::Markdown => markdown::write(report, out),
    }
}
