//! The report for people: what was compared, the findings grouped by check, one verdict line.

use std::io::{self, Write};

use super::{Report, Verdict, plural};
use super::{style, text};
use crate::checks::{Finding, NotAnalysed};
use crate::config::Severity;
use crate::git::short;

pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let range = &report.range;
    let title = match &range.environment {
        Some(env) => format!("gate check: release to {env}"),
        None => "gate check".to_string(),
    };
    writeln!(out, "{}", style::heading(&title))?;
    let summary = if range.release.summary.is_empty() { String::new() } else { format!("  {}", range.release.summary) };
    writeln!(out, "  release  {}  {}{}", short(range.release.commit), range.release.rev, summary)?;
    writeln!(out, "  base     {}", report.base_description())?;
    writeln!(out, "  changes  {} file{}", report.files_changed, plural(report.files_changed))?;
    for note in &report.notes {
        writeln!(out, "  {} {note}", style::warn("note:"))?;
    }

    for group in report.by_check() {
        writeln!(out)?;
        writeln!(out, "{}", style::heading(group.check))?;
        for finding in group.findings {
            write_finding(finding, out)?;
        }
        write_not_analysed(&group.not_analysed, out)?;
    }

    write_config_changes(report, out)?;
    writeln!(out)?;
    writeln!(out, "{}", verdict_line(report))
}

fn write_finding(finding: &Finding, out: &mut dyn Write) -> io::Result<()> {
    let label = match (&finding.waived, finding.severity) {
        (Some(_), _) => style::waived("waived"),
        (None, Severity::Deny) => style::deny("deny  "),
        (None, _) => style::warn("warn  "),
    };
    let location = text::location(finding).map_or_else(String::new, |at| format!("{}: ", style::path(&at)));
    writeln!(out, "  {label} {location}{}", text::message(finding))?;
    for line in text::body(finding) {
        writeln!(out, "           {line}")?;
    }
    match text::closing(finding) {
        (word, rest) if finding.waived.is_some() => writeln!(out, "         {} {rest}", style::waived(word)),
        (word, rest) => writeln!(out, "         {} {rest}", style::quiet(word)),
    }
}

/// How each changed configuration file changes, key by key: at most 20 keys a file.
pub fn write_config_changes(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    write_key_changes(&report.config_changes, out)
}

/// The key-level changes of configuration files, for `gate check` and `gate diff`.
pub fn write_key_changes(files: &[super::ConfigChanges], out: &mut dyn Write) -> io::Result<()> {
    const SHOWN: usize = 20;
    if files.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(out, "{}", style::heading("config changes"))?;
    for file in files {
        if let Some(summary) = file.whole_file() {
            writeln!(out, "  {} ({}): {summary}", style::path(&file.path), file.format)?;
            continue;
        }
        writeln!(out, "  {} ({})", style::path(&file.path), file.format)?;
        for change in file.changes.iter().take(SHOWN) {
            writeln!(out, "    {change}")?;
        }
        if file.changes.len() > SHOWN {
            writeln!(out, "    … and {} more keys", file.changes.len() - SHOWN)?;
        }
    }
    Ok(())
}

/// Files a check could not analyse: a count, then the first few with their reasons.
fn write_not_analysed(items: &[&NotAnalysed], out: &mut dyn Write) -> io::Result<()> {
    if items.is_empty() {
        return Ok(());
    }
    let (heading, shown, more) = text::not_analysed(items);
    writeln!(out, "  {} {heading}", style::quiet("note:"))?;
    for line in shown.iter().chain(&more) {
        writeln!(out, "           {line}")?;
    }
    Ok(())
}

fn verdict_line(report: &Report) -> String {
    let label = match report.verdict() {
        Verdict::Blocked => style::blocked("BLOCKED:"),
        Verdict::Pass => style::passed("PASS:"),
    };
    format!("{label} {}", report.verdict_reason())
}
