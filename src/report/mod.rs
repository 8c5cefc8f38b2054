//! Reports: the verdict of `gate check`, written in one of several formats.
//!
//! The library builds a [`Report`]; each format is a function that writes it to a `dyn Write`,
//! so tests can render into a buffer. Reports are deterministic: the same inputs give the same
//! bytes.

mod github;
mod gitlab;
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
    /// Human output shows only the verdict and the blocking findings (`--quiet`).
    pub quiet: bool,
    /// The stage the check ran at.
    pub stage: crate::cli::Stage,
    /// At the review stage: what the evidence checks found missing, which the release will need
    /// before its environment and which does not block here.
    pub still_needs: Vec<Finding>,
    /// Key-level changes of the configuration files the release changes (secrets masked).
    pub config_changes: Vec<ConfigChanges>,
    /// When the environment ran the release tree before: the deploy the release returns to.
    pub rollback: Option<crate::analysis::rollout::Rollback>,
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
        .filter(|file| !file.changes.is_empty() && file.describes.is_none())
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
    /// The report as the review stage reads it: findings of the evidence checks move to
    /// [`Report::still_needs`] and do not block.
    pub fn at_stage(mut self, stage: crate::cli::Stage) -> Report {
        self.stage = stage;
        if stage == crate::cli::Stage::Review {
            let (needs, findings): (Vec<Finding>, Vec<Finding>) = std::mem::take(&mut self.results.findings)
                .into_iter()
                .partition(|f| crate::checks::EVIDENCE_CHECKS.contains(&f.check) && f.waived.is_none());
            self.results.findings = findings;
            self.still_needs = needs;
        }
        self
    }

    /// The report with every secret of a known shape masked in everything it prints (messages,
    /// details, subjects, diffs, notes, config values), so no format can leak one. Keys the
    /// policy masks by name are hidden already, in [`config_changes`].
    pub fn masked(mut self) -> Report {
        let mask = |text: &mut String| {
            if let std::borrow::Cow::Owned(masked) = crate::audit::secrets::mask(text) {
                *text = masked;
            }
        };
        for finding in &mut self.results.findings {
            mask(&mut finding.message);
            mask(&mut finding.help);
            mask(&mut finding.subject);
            finding.details.iter_mut().for_each(mask);
            if let Some(crate::checks::FindingData::Pair { diff, .. }) = &mut finding.data {
                diff.iter_mut().for_each(|line| mask(&mut line.text));
            }
        }
        self.results.notes.iter_mut().for_each(mask);
        self.notes.iter_mut().for_each(mask);
        for file in &mut self.config_changes {
            for change in &mut file.changes {
                change.old.iter_mut().chain(change.new.iter_mut()).for_each(mask);
            }
        }
        self
    }

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
        let mut rest = if parts.is_empty() { String::new() } else { format!(" ({})", parts.join(", ")) };
        if self.results.clock_overridden {
            rest.push_str(&format!("; the clock is set by {}, not the real time", crate::time::NOW_VAR));
        }
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
        Format::Gitlab => gitlab::write(report, out),
    }
}

#[cfg(test)]
mod tests {
    //! One hand-built report, rendered by every reporter: each says the same things about the
    //! findings, in its own syntax.

    use super::*;
    use crate::checks::{DiffLine, DiffSide, ExpiredWaiver, FindingData, Waived};
    use crate::git::{Base, Release};

    fn oid(hex: char) -> git2::Oid {
        git2::Oid::from_str(&hex.to_string().repeat(40)).unwrap_or_else(|e| panic!("{e}"))
    }

    fn report() -> Report {
        let pair =
            Finding::new("near-duplicate", "near-copy", Severity::Deny, "91% similar to bin/search.sh", "test it")
                .at("bin/search_v2.sh")
                .about("bin/search.sh")
                .with_data(FindingData::Pair {
                    other: "bin/search.sh".into(),
                    similarity: 0.91,
                    name_similarity: 0.8,
                    identical: false,
                    diff: vec![DiffLine { side: DiffSide::This, line: 4, text: "curl -k $URL".into() }],
                    diff_more: 2,
                    tested: false,
                });
        let mut waived =
            Finding::new("untested-change", "untested-script", Severity::Warn, "no test covers this script", "add one")
                .at("bin/tool.sh");
        waived.waived =
            Some(Waived { reason: "manual tool".into(), expires: "2027-01-31".into(), source: "gate.toml:12".into() });
        let mut expired =
            Finding::new("risky-pattern", "unbounded-loop", Severity::Deny, "an unbounded loop", "add a break")
                .at("bin/sync.sh")
                .at_line(3, 0);
        expired.expired_waiver = Some(ExpiredWaiver { source: "gate.toml:20".into(), expired: "2026-11-30".into() });
        Report {
            range: Range {
                environment: Some("production".into()),
                release: Release { rev: "HEAD".into(), commit: oid('a'), tree: oid('b'), summary: "quick fix".into() },
                base: Base {
                    commit: Some(oid('c')),
                    tree: Some(oid('d')),
                    source: BaseSource::Argument { rev: "v1".into() },
                },
            },
            files_changed: 3,
            results: CheckResults {
                findings: vec![pair, expired, waived],
                ran: vec![
                    ("near-duplicate", Severity::Deny),
                    ("risky-pattern", Severity::Deny),
                    ("untested-change", Severity::Warn),
                ],
                not_analysed: vec![NotAnalysed {
                    check: "near-duplicate",
                    path: "logo.png".into(),
                    reason: "binary".into(),
                }],
                notes: Vec::new(),
                clock_overridden: false,
            },
            notes: Vec::new(),
            deny_warnings: false,
            quiet: false,
            stage: crate::cli::Stage::Deploy,
            still_needs: Vec::new(),
            config_changes: Vec::new(),
            rollback: None,
        }
    }

    fn render(format: Format) -> String {
        let mut bytes = Vec::new();
        write(&report(), format, &mut bytes).unwrap_or_else(|e| panic!("{e}"));
        String::from_utf8(bytes).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_verdict_counts_blocking_findings_only() {
        let report = report();
        assert_eq!(report.verdict(), Verdict::Blocked);
        assert_eq!(report.verdict_line(), "BLOCKED: 2 deny findings stop this release (1 waived)");
    }

    #[test]
    fn human_shows_the_diff_the_expired_waiver_and_the_waiver_reason() {
        let text = render(Format::Human);
        for expected in [
            "deny   bin/search_v2.sh: 91% similar to bin/search.sh",
            "+    4: curl -k $URL",
            "… and 2 more changed lines",
            "bin/sync.sh:3: an unbounded loop (the waiver at gate.toml:20 expired on 2026-11-30)",
            "waived bin/tool.sh: no test covers this script (untested-change) waived: manual tool, until 2027-01-31 (gate.toml:12)",
            "1 added file could not be analysed:",
            "logo.png (binary)",
            "BLOCKED: 2 deny findings stop this release (1 waived)",
        ] {
            assert!(text.contains(expected), "human lacks {expected:?}:\n{text}");
        }
        // The verdict and the blocking findings first, the waived one after them.
        let at = |needle: &str| text.find(needle).unwrap_or_else(|| panic!("no {needle:?}"));
        assert!(at("BLOCKED:") < at("deny   bin/search_v2.sh") && at("deny   bin/sync.sh") < at("waived bin/tool.sh"));
        assert!(text.trim_end().ends_with("BLOCKED: 2 deny findings stop this release (1 waived)"));
    }

    #[test]
    fn quiet_shows_the_verdict_and_the_blocking_findings_only() {
        let mut report = report();
        report.quiet = true;
        let mut bytes = Vec::new();
        write(&report, Format::Human, &mut bytes).unwrap_or_else(|e| panic!("{e}"));
        let text = String::from_utf8(bytes).unwrap_or_else(|e| panic!("{e}"));
        assert!(text.contains("BLOCKED: 2 deny findings") && text.contains("deny   bin/sync.sh:3"), "{text}");
        assert!(!text.contains("waived bin/tool.sh") && !text.contains("logo.png"), "{text}");
    }

    #[test]
    fn json_keeps_the_identity_and_the_typed_diff() {
        let json: serde_json::Value = serde_json::from_str(&render(Format::Json)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(json["version"], JSON_VERSION);
        let pair = &json["findings"][0];
        assert_eq!((pair["check"].as_str(), pair["code"].as_str()), (Some("near-duplicate"), Some("near-copy")));
        assert_eq!(pair["subject"], "bin/search.sh");
        assert_eq!(pair["data"]["diff"][0], serde_json::json!({"side": "this", "line": 4, "text": "curl -k $URL"}));
        assert_eq!(pair["data"]["diff_more"], 2);
        assert_eq!(json["findings"][1]["expired_waiver"]["source"], "gate.toml:20");
        assert_eq!(json["findings"][1]["message"], "an unbounded loop", "the message stays the check's own words");
    }

    #[test]
    fn sarif_github_junit_and_markdown_say_the_same_things_in_their_syntax() {
        let sarif = render(Format::Sarif);
        assert!(sarif.contains("+    4: curl -k $URL") && sarif.contains("\"gateFindingHash/v2\""), "{sarif}");
        assert!(sarif.contains("\"justification\": \"manual tool, until 2027-01-31 (gate.toml:12)\""), "{sarif}");
        let github = render(Format::Github);
        assert!(github.contains("::error file=bin/sync.sh,line=3,"), "{github}");
        assert!(github.contains("(the waiver at gate.toml:20 expired on 2026-11-30)"), "{github}");
        assert!(github.contains("%0A  +    4: curl -k $URL"), "{github}");
        let junit = render(Format::Junit);
        assert!(
            junit.contains("classname=\"gate\" name=\"near-duplicate\"") && junit.contains("+    4: curl -k $URL"),
            "{junit}"
        );
        let markdown = render(Format::Markdown);
        assert!(markdown.contains("| **deny** | <code>bin/sync.sh:3</code> |"), "{markdown}");
        assert!(markdown.contains("waived: manual tool, until 2027-01-31 (gate.toml:12)"), "{markdown}");
        assert!(markdown.contains("1 added file could not be analysed:"), "{markdown}");
    }
}
