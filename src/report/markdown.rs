//! Markdown, for a GitHub job summary (`$GITHUB_STEP_SUMMARY`) or a pull request comment.
//!
//! The verdict as the heading, what was compared, the notes, then one table per check with
//! findings (severity, location, finding), the supporting lines of a finding folded into a
//! `<details>` block, the files a check could not analyse, and the key-level config changes.
//! Text from findings is escaped so that nothing in a file name or a message becomes markup:
//! `<your host>` is not taken for HTML, `|` does not end a cell, `$HOME ... $PATH` is not maths.

use std::io::{self, Write};

use super::{CheckGroup, Report, Verdict, label, location, plural, text};
use crate::checks::Finding;
use crate::git::short;

/// Findings shown per check; a PR comment holds at most 65,536 characters.
const SHOWN_FINDINGS: usize = 100;
/// Keys shown per changed config file, as in the human report.
const SHOWN_KEYS: usize = 20;

/// What a pull-request comment holds, in characters.
pub const LIMIT: usize = 65_536;

/// The full report when it fits in [`LIMIT`]; else a compact one that still fits: the heading,
/// every blocking finding (as many as fit, then a count), and the rest as counts per check.
pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let mut full = Vec::new();
    write_full(report, &mut full)?;
    if String::from_utf8_lossy(&full).chars().count() <= LIMIT {
        return out.write_all(&full);
    }
    out.write_all(compact(report).as_bytes())
}

fn compact(report: &Report) -> String {
    let mut head = Vec::new();
    let _ = write_heading(report, &mut head);
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut rest = String::from(
        "\n### Everything else\n\n| Check | Warnings | Waived | Not analysed |\n| --- | --- | --- | --- |\n",
    );
    for group in report.by_check() {
        let warn = group.findings.iter().filter(|f| f.waived.is_none() && !f.blocks(report.deny_warnings)).count();
        let waived = group.findings.iter().filter(|f| f.waived.is_some()).count();
        rest.push_str(&format!("| {} | {warn} | {waived} | {} |\n", code(group.check), group.not_analysed.len()));
    }
    rest.push_str(
        "\nThis release has too many findings for one comment: every finding is in `--format json`, and the \
         human report lists them by check.\n",
    );
    let blocking: Vec<&Finding> = report.results.findings.iter().filter(|f| f.blocks(report.deny_warnings)).collect();
    let mut table = String::new();
    if !blocking.is_empty() {
        table.push_str(
            "\n### Blocking findings\n\n| Check | Severity | Location | Finding |\n| --- | --- | --- | --- |\n",
        );
    }
    // Room for the table: what the heading and the summary leave, less a line for a count.
    let room = LIMIT.saturating_sub(head.chars().count() + rest.chars().count() + 200);
    let mut used = table.chars().count();
    let mut shown = 0;
    for finding in &blocking {
        let line = format!("| {} {}\n", code(finding.check), row(finding).trim_start_matches('|'));
        let n = line.chars().count();
        if used + n > room {
            break;
        }
        used += n;
        shown += 1;
        table.push_str(&line);
    }
    if shown < blocking.len() {
        table.push_str(&format!(
            "\n… and {} more blocking findings (all are listed in `--format json`)\n",
            blocking.len() - shown
        ));
    }
    format!("{head}{table}{rest}")
}

fn write_full(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    write_heading(report, out)?;
    if !report.still_needs.is_empty() {
        let target = report.range.environment.as_deref().unwrap_or("its environment");
        writeln!(out)?;
        writeln!(out, "### Before {} this release still needs", inline(target))?;
        writeln!(out)?;
        for finding in &report.still_needs {
            writeln!(out, "- {}: {}", code(finding.check), inline(&text::message(finding)))?;
        }
    }
    for group in report.by_check() {
        write_group(report, &group, out)?;
    }
    write_config_changes(report, out)?;
    writeln!(out)?;
    let ran = report.results.ran.len();
    writeln!(
        out,
        "<sub>gate {}: {ran} check{} ran. <code>gate explain CHECK</code> tells what a check looks for and how to \
         configure it.</sub>",
        env!("CARGO_PKG_VERSION"),
        plural(ran)
    )
}

fn write_heading(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let word = match report.verdict() {
        Verdict::Blocked => "BLOCKED",
        Verdict::Pass => "PASS",
    };
    writeln!(out, "## gate: {word} — {}", inline(&report.verdict_reason()))?;
    writeln!(out)?;
    let range = &report.range;
    if let Some(env) = &range.environment {
        writeln!(out, "- **Environment:** {}", inline(env))?;
    }
    let summary =
        if range.release.summary.is_empty() { String::new() } else { format!(" {}", inline(&range.release.summary)) };
    writeln!(out, "- **Release:** {} ({}){summary}", code(&short(range.release.commit)), inline(&range.release.rev))?;
    writeln!(out, "- **Base:** {}", inline(&report.base_description()))?;
    writeln!(out, "- **Changes:** {} file{}", report.files_changed, plural(report.files_changed))?;
    if !report.notes.is_empty() {
        writeln!(out)?;
        writeln!(out, "**Notes**")?;
        writeln!(out)?;
        for note in &report.notes {
            writeln!(out, "- {}", inline(note))?;
        }
    }
    Ok(())
}

fn write_group(report: &Report, group: &CheckGroup<'_>, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out)?;
    let severity = report.ran_at(group.check).map_or("", |s| s.as_str());
    writeln!(out, "### {} ({severity})", code(group.check))?;
    if !group.findings.is_empty() {
        writeln!(out)?;
        writeln!(out, "| Severity | Location | Finding |")?;
        writeln!(out, "| --- | --- | --- |")?;
        for finding in group.findings.iter().take(SHOWN_FINDINGS) {
            writeln!(out, "{}", row(finding))?;
        }
        if group.findings.len() > SHOWN_FINDINGS {
            writeln!(out)?;
            writeln!(
                out,
                "… and {} more findings (all are listed in `--format json`)",
                group.findings.len() - SHOWN_FINDINGS
            )?;
        }
        for (finding, body) in group.findings.iter().take(SHOWN_FINDINGS).map(|f| (f, text::body(f))) {
            if body.is_empty() {
                continue;
            }
            let at = location(finding).unwrap_or_else(|| "the release".to_string());
            let n = body.len();
            writeln!(out)?;
            writeln!(out, "<details><summary>{}: {n} line{} of detail</summary>", html(&at), plural(n))?;
            writeln!(out)?;
            write_block(&body, out)?;
            writeln!(out)?;
            writeln!(out, "</details>")?;
        }
    }
    let items = &group.not_analysed;
    if !items.is_empty() {
        writeln!(out)?;
        let (heading, _, more) = text::not_analysed(items);
        writeln!(out, "{heading}")?;
        writeln!(out)?;
        for item in items.iter().take(text::NOT_ANALYSED_SHOWN) {
            writeln!(out, "- {}: {}", code(&item.path), inline(&item.reason))?;
        }
        if let Some(more) = more {
            writeln!(out, "- {}", inline(&more))?;
        }
    }
    Ok(())
}

/// `| **deny** | <code>bin/sync.sh:6</code> | message<br>help: ... |`
fn row(finding: &Finding) -> String {
    let severity = match (&finding.waived, finding.severity) {
        (None, crate::config::Severity::Deny) => format!("**{}**", label(finding)),
        _ => label(finding).to_string(),
    };
    let at = location(finding).map_or_else(|| "(the release)".to_string(), |at| code(&at));
    let (word, rest) = text::closing(finding);
    format!("| {severity} | {at} | {}<br>{} |", inline(&text::message(finding)), inline(&format!("{word} {rest}")))
}

fn write_config_changes(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    if report.config_changes.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(out, "### Config changes")?;
    for file in &report.config_changes {
        let n = file.changes.len();
        writeln!(out)?;
        let summary = file
            .whole_file()
            .unwrap_or_else(|| format!("{n} key{} change{}", plural(n), if n == 1 { "s" } else { "" }));
        writeln!(out, "<details><summary>{} ({}): {summary}</summary>", html(&file.path), html(&file.format))?;
        writeln!(out)?;
        let mut lines: Vec<String> = file.changes.iter().take(SHOWN_KEYS).map(|c| c.to_string()).collect();
        if n > SHOWN_KEYS {
            lines.push(format!("… and {} more keys", n - SHOWN_KEYS));
        }
        write_block(&lines, out)?;
        writeln!(out)?;
        writeln!(out, "</details>")?;
    }
    Ok(())
}

/// Lines in a fenced code block whose fence is longer than any run of backticks inside, so no
/// line can close it early.
fn write_block(lines: &[String], out: &mut dyn Write) -> io::Result<()> {
    let longest = lines.iter().map(|line| longest_run(line, '`')).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    writeln!(out, "{fence}text")?;
    for line in lines {
        writeln!(out, "{}", line.replace('\r', ""))?;
    }
    writeln!(out, "{fence}")
}

fn longest_run(text: &str, c: char) -> usize {
    text.split(|x| x != c).map(str::len).max().unwrap_or(0)
}

/// Text for a paragraph, a list item, a heading or a table cell.
///
/// The checks write code in backticks (`` `while true; do` ``); those spans stay code, written
/// as `<code>` with every character Markdown or a table could act on as an entity, because a
/// Markdown code span cannot hold a `\|` safely in a table. Outside them, every character that
/// could start markup is backslash-escaped. Line breaks become `<br>`.
fn inline(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 16);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '`' {
            let run = chars[i..].iter().take_while(|&&x| x == '`').count();
            if let Some(end) = closing_run(&chars, i + run, run) {
                let content: String = chars[i + run..end].iter().collect();
                out.push_str(&code(content.trim_matches(' ')));
                i = end + run;
                continue;
            }
            out.push_str(&"\\`".repeat(run));
            i += run;
            continue;
        }
        match c {
            '\n' => out.push_str("<br>"),
            '\r' => {}
            '\\' | '*' | '_' | '~' | '[' | ']' | '|' | '#' | '!' | '$' | '<' | '>' | '&' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
        i += 1;
    }
    out
}

/// Where a code span opened by `run` backticks closes: the next run of exactly that length.
fn closing_run(chars: &[char], from: usize, run: usize) -> Option<usize> {
    let mut i = from;
    while i < chars.len() {
        if chars[i] == '`' {
            let len = chars[i..].iter().take_while(|&&x| x == '`').count();
            if len == run {
                return Some(i);
            }
            i += len;
        } else {
            i += 1;
        }
    }
    None
}

/// Text as inline code: `<code>` with HTML's and Markdown's active characters as entities, so
/// it is safe in a table cell, a list item and a heading alike.
fn code(text: &str) -> String {
    let mut out = String::from("<code>");
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\n' | '\r' => out.push(' '),
            '\\' | '`' | '*' | '_' | '~' | '[' | ']' | '|' | '#' | '!' | '$' => {
                out.push_str(&format!("&#{};", u32::from(c)))
            }
            _ => out.push(c),
        }
    }
    out.push_str("</code>");
    out
}

/// Text inside an HTML element (a `<summary>`), where Markdown is not read.
fn html(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_stay_code_and_the_rest_is_escaped() {
        assert_eq!(
            inline("loop (rule `unbounded-loop`): `while true; do a | b`"),
            "loop (rule <code>unbounded-loop</code>): <code>while true; do a &#124; b</code>"
        );
        assert_eq!(inline("a | b <host> *x* $A $B"), r"a \| b \<host\> \*x\* \$A \$B");
        assert_eq!(inline("one\ntwo"), "one<br>two");
        assert_eq!(inline("a ` lone backtick"), r"a \` lone backtick");
        assert_eq!(inline("``a ` b``"), "<code>a &#96; b</code>");
    }

    #[test]
    fn code_blocks_are_fenced_longer_than_their_content() {
        let mut out = Vec::new();
        write_block(&["```".to_string(), "````x".to_string()], &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "`````text\n```\n````x\n`````\n");
    }
}
