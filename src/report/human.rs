//! The report for people: what was compared and the verdict, then what blocks the release
//! (complete), then the warnings by check (long groups summarised), the waived findings one
//! line each, the config changes, and the verdict again as the last line. `--quiet` stops after
//! the blocking findings.

use std::io::{self, Write};

use super::{Report, Verdict, plural};
use super::{style, text};
use crate::checks::{Finding, NotAnalysed};
use crate::config::Severity;
use crate::git::short;

/// Lines of one check's warnings shown before the rest are summarised.
const WARNINGS_SHOWN: usize = 20;

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
    if let (Some(rollback), Some(env)) = (&report.rollback, &range.environment) {
        let by = if rollback.by.is_empty() { String::new() } else { format!(" by {}", rollback.by) };
        writeln!(
            out,
            "  {} to the deploy of {}{by} ({}): {env} ran this tree before; it needs no new staged rollout",
            style::heading("rollback"),
            crate::time::human(rollback.at),
            rollback.from
        )?;
        if let Some(reason) = &rollback.forced {
            writeln!(out, "  {} that deploy was recorded past a blocking check: {reason}", style::warn("note:"))?;
        }
    }
    writeln!(out, "  changes  {} file{}", report.files_changed, plural(report.files_changed))?;
    for note in &report.notes {
        writeln!(out, "  {} {note}", style::warn("note:"))?;
    }
    writeln!(out)?;
    writeln!(out, "{}", verdict_line(report))?;

    // What stops the release comes first, complete: the reader at 3 a.m. needs nothing else.
    let groups = report.by_check();
    for group in &groups {
        let blocking: Vec<&&Finding> = group.findings.iter().filter(|f| f.blocks(report.deny_warnings)).collect();
        if blocking.is_empty() {
            continue;
        }
        writeln!(out)?;
        writeln!(out, "{}", style::heading(group.check))?;
        for finding in blocking {
            write_finding(finding, out)?;
        }
    }
    write_still_needs(report, out)?;
    if report.quiet {
        return Ok(());
    }

    // Then the warnings, by check, long groups summarised.
    for group in &groups {
        let warnings: Vec<&&Finding> =
            group.findings.iter().filter(|f| f.waived.is_none() && !f.blocks(report.deny_warnings)).collect();
        if warnings.is_empty() && group.not_analysed.is_empty() {
            continue;
        }
        writeln!(out)?;
        writeln!(out, "{}", style::heading(group.check))?;
        let mut lines = 0;
        let mut shown = 0;
        for finding in &warnings {
            if lines >= WARNINGS_SHOWN {
                break;
            }
            lines += 2 + text::body(finding).len();
            shown += 1;
            write_finding(finding, out)?;
        }
        if warnings.len() > shown {
            let more = warnings.len() - shown;
            writeln!(
                out,
                "  {} {more} more {} warning{}: --format json lists all",
                style::quiet("…"),
                group.check,
                plural(more)
            )?;
        }
        write_not_analysed(&group.not_analysed, out)?;
    }

    // Waived findings last, one line each: they do not block, but nothing is hidden.
    let waived: Vec<&Finding> = report.results.findings.iter().filter(|f| f.waived.is_some()).collect();
    if !waived.is_empty() {
        writeln!(out)?;
        writeln!(out, "{}", style::heading("waived"))?;
        for finding in waived {
            let location = text::location(finding).map_or_else(String::new, |at| format!("{}: ", style::path(&at)));
            let why = finding.waived.as_ref().map(text::waiver).unwrap_or_default();
            writeln!(
                out,
                "  {} {location}{} ({}) {} {why}",
                style::waived("waived"),
                text::message(finding),
                finding.check,
                style::waived("waived:")
            )?;
        }
    }

    write_config_changes(report, out)?;
    writeln!(out)?;
    writeln!(out, "{}", verdict_line(report))
}

/// At the review stage: what the release will still need before its environment.
fn write_still_needs(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    if report.still_needs.is_empty() {
        return Ok(());
    }
    let target = report.range.environment.as_deref().unwrap_or("its environment");
    writeln!(out)?;
    writeln!(out, "{}", style::heading(&format!("before {target} this release still needs (not blocking at review)")))?;
    for finding in &report.still_needs {
        writeln!(out, "  {} {}", style::quiet(&format!("{:<14}", finding.check)), text::message(finding))?;
        writeln!(out, "                 {} {}", style::quiet("then:"), finding.help)?;
    }
    Ok(())
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
