//! The report for people: what was compared, the findings grouped by check, one verdict line.

use std::io::{self, Write};

use super::style;
use super::{Report, Verdict};
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
    let location = match (&finding.path, finding.line, finding.column) {
        (Some(path), Some(line), Some(column)) => format!("{}: ", style::path(&format!("{path}:{line}:{column}"))),
        (Some(path), Some(line), None) => format!("{}: ", style::path(&format!("{path}:{line}"))),
        (Some(path), None, _) => format!("{}: ", style::path(path)),
        (None, _, _) => String::new(),
    };
    writeln!(out, "  {label} {location}{}", finding.message)?;
    for detail in &finding.details {
        writeln!(out, "           {detail}")?;
    }
    match &finding.waived {
        Some(waived) => {
            let until = if waived.expires.is_empty() { String::new() } else { format!(", until {}", waived.expires) };
            writeln!(out, "         {} {}{until} ({})", style::waived("waived:"), waived.reason, waived.source)
        }
        None => writeln!(out, "         {} {}", style::quiet("help:"), finding.help),
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
    const SHOWN: usize = 5;
    if items.is_empty() {
        return Ok(());
    }
    let n = items.len();
    writeln!(out, "  {} {n} added file{} could not be analysed:", style::quiet("note:"), plural(n))?;
    for item in items.iter().take(SHOWN) {
        writeln!(out, "           {} ({})", item.path, item.reason)?;
    }
    if n > SHOWN {
        writeln!(out, "           … and {} more (all are listed in --format json)", n - SHOWN)?;
    }
    Ok(())
}

fn verdict_line(report: &Report) -> String {
    let tally = report.tally();
    let mut parts = Vec::new();
    if tally.warn > 0 {
        parts.push(format!("{} warning{}", tally.warn, plural(tally.warn)));
    }
    if tally.waived > 0 {
        parts.push(format!("{} waived", tally.waived));
    }
    let rest = if parts.is_empty() { String::new() } else { format!(" ({})", parts.join(", ")) };
    match report.verdict() {
        Verdict::Blocked => {
            let blocking = tally.blocking;
            let noun = if report.deny_warnings { "blocking finding" } else { "deny finding" };
            let verb = if blocking == 1 { "stops" } else { "stop" };
            format!("{} {blocking} {noun}{} {verb} this release{rest}", style::blocked("BLOCKED:"), plural(blocking))
        }
        Verdict::Pass => format!("{} no blocking findings{rest}", style::passed("PASS:")),
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
