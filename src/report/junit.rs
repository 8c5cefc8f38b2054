//! JUnit XML, for CI systems that show test results: one test case per check.
//!
//! Every check in the registry is a test case, so the list is the same from run to run: a check
//! that is off is skipped, a check with blocking findings fails (one `<failure>` listing them),
//! and any other check passes, its warnings, waived findings and files it could not analyse in
//! `<system-out>`. "Blocking" follows the verdict: with `--deny-warnings` a warning fails its
//! case too, so the suite fails exactly when the release is blocked. No timestamps or durations
//! are written: the same inputs give the same bytes.

use std::io::{self, Write};

use super::{Report, plural, text};
use crate::checks::{CHECKS, Finding, NotAnalysed};
use crate::config::Severity;

/// What one test case says.
enum Outcome<'r> {
    Skipped,
    Passed,
    Failed { blocking: Vec<&'r Finding> },
}

struct Case<'r> {
    check: &'static str,
    outcome: Outcome<'r>,
    /// Findings that do not block, and files not analysed: shown, not failed.
    output: Vec<String>,
}

pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let cases: Vec<Case<'_>> = CHECKS.iter().map(|check| case(report, check.id())).collect();
    let tests = cases.len();
    let failures = cases.iter().filter(|c| matches!(c.outcome, Outcome::Failed { .. })).count();
    let skipped = cases.iter().filter(|c| matches!(c.outcome, Outcome::Skipped)).count();
    let counts = format!(r#"tests="{tests}" failures="{failures}" errors="0" skipped="{skipped}""#);

    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(out, r#"<testsuites name="gate" {counts}>"#)?;
    writeln!(out, r#"  <testsuite name="gate" {counts}>"#)?;
    writeln!(out, "    <properties>")?;
    let range = &report.range;
    let properties = [
        ("verdict", Some(report.verdict().as_str().to_string())),
        ("environment", range.environment.clone()),
        ("release", Some(range.release.commit.to_string())),
        ("base", range.base.commit.map(|id| id.to_string())),
    ];
    for (name, value) in properties {
        if let Some(value) = value {
            writeln!(out, r#"      <property name="{name}" value="{}"/>"#, escape(&value, true))?;
        }
    }
    writeln!(out, "    </properties>")?;
    for case in &cases {
        write_case(case, report.deny_warnings, out)?;
    }
    let mut summary: Vec<String> = report.notes.iter().map(|note| format!("note: {note}")).collect();
    summary.push(report.verdict_line());
    writeln!(out, "    <system-out>{}</system-out>", escape(&summary.join("\n"), false))?;
    writeln!(out, "  </testsuite>")?;
    writeln!(out, "</testsuites>")
}

fn case<'r>(report: &'r Report, check: &'static str) -> Case<'r> {
    if report.ran_at(check).is_none() {
        return Case { check, outcome: Outcome::Skipped, output: Vec::new() };
    }
    let (blocking, others): (Vec<&Finding>, Vec<&Finding>) =
        report.results.findings.iter().filter(|f| f.check == check).partition(|f| f.blocks(report.deny_warnings));
    let mut output: Vec<String> = others.into_iter().map(finding_text).collect();
    let not_analysed: Vec<&NotAnalysed> = report.results.not_analysed.iter().filter(|n| n.check == check).collect();
    output.extend(not_analysed.iter().map(|item| format!("not analysed  {} ({})", item.path, item.reason)));
    let outcome = if blocking.is_empty() { Outcome::Passed } else { Outcome::Failed { blocking } };
    Case { check, outcome, output }
}

fn write_case(case: &Case<'_>, deny_warnings: bool, out: &mut dyn Write) -> io::Result<()> {
    let open = format!(r#"    <testcase classname="gate" name="{}""#, escape(case.check, true));
    if matches!(case.outcome, Outcome::Passed) && case.output.is_empty() {
        return writeln!(out, "{open}/>");
    }
    writeln!(out, "{open}>")?;
    match &case.outcome {
        Outcome::Skipped => writeln!(out, r#"      <skipped message="off in the policy"/>"#)?,
        Outcome::Passed => {}
        Outcome::Failed { blocking } => {
            let deny = blocking.iter().filter(|f| f.severity == Severity::Deny).count();
            let warn = blocking.len() - deny;
            let mut parts = Vec::new();
            if deny > 0 {
                parts.push(format!("{deny} deny finding{}", plural(deny)));
            }
            if warn > 0 {
                let why = if deny_warnings { " (--deny-warnings)" } else { "" };
                parts.push(format!("{warn} warning{}{why}", plural(warn)));
            }
            let kind = if deny > 0 { "deny" } else { "warn" };
            let body: Vec<String> = blocking.iter().map(|f| finding_text(f)).collect();
            writeln!(
                out,
                r#"      <failure message="{}" type="{kind}">{}</failure>"#,
                escape(&parts.join(", "), true),
                escape(&body.join("\n"), false)
            )?;
        }
    }
    if !case.output.is_empty() {
        writeln!(out, "      <system-out>{}</system-out>", escape(&case.output.join("\n"), false))?;
    }
    writeln!(out, "    </testcase>")
}

/// A finding as plain text, the way the human report shows it.
fn finding_text(finding: &Finding) -> String {
    text::plain(finding, "        ")
}

/// Text for XML 1.0 content (or, with `attribute`, a double-quoted attribute value). The five
/// special characters become entities; a carriage return (and in an attribute, a line break or
/// tab) becomes a character reference, since parsers normalise them away otherwise; characters
/// XML 1.0 cannot carry at all (most controls, U+FFFE, U+FFFF) become U+FFFD, so the reader
/// sees that something was there.
fn escape(text: &str, attribute: bool) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            '\r' => escaped.push_str("&#13;"),
            '\n' if attribute => escaped.push_str("&#10;"),
            '\t' if attribute => escaped.push_str("&#9;"),
            '\n' | '\t' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}' => {
                escaped.push(c)
            }
            _ => escaped.push('\u{FFFD}'),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn xml_special_and_invalid_characters_are_escaped() {
        assert_eq!(escape(r#"a<b>&"c"'d'"#, false), "a&lt;b&gt;&amp;&quot;c&quot;&apos;d&apos;");
        assert_eq!(escape("line\nnext\tx\r", false), "line\nnext\tx&#13;");
        assert_eq!(escape("line\nnext\tx", true), "line&#10;next&#9;x");
        assert_eq!(escape("bell\u{7} nul\u{0} \u{FFFF}", false), "bell\u{FFFD} nul\u{FFFD} \u{FFFD}");
        assert_eq!(escape("café ✓ 𝄞", false), "café ✓ 𝄞");
    }
}
