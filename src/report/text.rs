//! What every format says about a finding, in one place: its label, its message, the lines
//! under it, its help or why it is waived, and the "first N of M" of long lists. Reporters keep
//! only their own syntax (escaping, markup, layout).

use crate::checks::{DiffSide, Finding, FindingData, NotAnalysed, Waived};
use crate::config::Severity;

/// How a finding weighs: `deny`, `warn`, or `waived` when an exception silences it.
pub fn label(finding: &Finding) -> &'static str {
    match (&finding.waived, finding.severity) {
        (Some(_), _) => "waived",
        (None, severity) => severity_label(severity),
    }
}

/// A severity as reports write it.
pub fn severity_label(severity: Severity) -> &'static str {
    severity.as_str()
}

/// The finding's message, with what the reader must know about an expired waiver.
pub fn message(finding: &Finding) -> String {
    match &finding.expired_waiver {
        Some(expired) => {
            format!("{} (the waiver at {} expired on {})", finding.message, expired.source, expired.expired)
        }
        None => finding.message.clone(),
    }
}

/// The lines shown under the message: the finding's details, then the differing lines of a
/// pair of files as `- N: text` (only in the other file) and `+ N: text` (only in this one).
pub fn body(finding: &Finding) -> Vec<String> {
    let mut lines = finding.details.clone();
    if let Some(FindingData::Pair { diff, diff_more, .. }) = &finding.data {
        for line in diff {
            let sign = match line.side {
                DiffSide::Other => '-',
                DiffSide::This => '+',
            };
            lines.push(format!("{sign} {:>4}: {}", line.line, line.text));
        }
        if *diff_more > 0 {
            lines.push(format!("… and {diff_more} more changed lines"));
        }
    }
    lines
}

/// The last line: how to fix or waive it, or why it does not block.
pub fn closing(finding: &Finding) -> (&'static str, String) {
    match &finding.waived {
        Some(waived) => ("waived:", waiver(waived)),
        None => ("help:", finding.help.clone()),
    }
}

/// Why a waived finding does not block: `reason, until 2027-01-31 (gate.toml:12)`.
pub fn waiver(waived: &Waived) -> String {
    let until = if waived.expires.is_empty() { String::new() } else { format!(", until {}", waived.expires) };
    format!("{}{until} ({})", waived.reason, waived.source)
}

/// A finding as plain text lines: `LABEL  path:line: message`, the body indented, then help.
pub fn plain(finding: &Finding, indent: &str) -> String {
    let label = label(finding);
    let mut text = match location(finding) {
        Some(at) => format!("{label:<6}  {at}: {}", message(finding)),
        None => format!("{label:<6}  {}", message(finding)),
    };
    for line in body(finding) {
        text.push_str(&format!("\n{indent}  {line}"));
    }
    let (word, rest) = closing(finding);
    text.push_str(&format!("\n{indent}{word} {rest}"));
    text
}

/// Where a finding is: `path:line:col`, `path:line` or `path`; none for the release as a whole.
pub fn location(finding: &Finding) -> Option<String> {
    let path = finding.path.as_deref()?;
    Some(match (finding.line, finding.column) {
        (Some(line), Some(column)) => format!("{path}:{line}:{column}"),
        (Some(line), None) => format!("{path}:{line}"),
        (None, _) => path.to_string(),
    })
}

/// How many files not analysed a report lists by name before it summarises.
pub const NOT_ANALYSED_SHOWN: usize = 5;

/// Files a check could not analyse: a heading, the first few as `path (reason)`, and a last
/// line for the rest when there are more.
pub fn not_analysed(items: &[&NotAnalysed]) -> (String, Vec<String>, Option<String>) {
    let n = items.len();
    let heading = format!("{n} added file{} could not be analysed:", plural(n));
    let shown = items.iter().take(NOT_ANALYSED_SHOWN).map(|item| format!("{} ({})", item.path, item.reason)).collect();
    let more = (n > NOT_ANALYSED_SHOWN)
        .then(|| format!("… and {} more (all are listed in --format json)", n - NOT_ANALYSED_SHOWN));
    (heading, shown, more)
}

pub fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::{DiffLine, ExpiredWaiver};

    fn pair() -> Finding {
        Finding::new("near-duplicate", "near-copy", Severity::Deny, "90% similar to a.sh", "test it")
            .at("b.sh")
            .about("a.sh")
            .with_data(FindingData::Pair {
                other: "a.sh".into(),
                similarity: 0.9,
                name_similarity: 0.8,
                identical: false,
                diff: vec![
                    DiffLine { side: DiffSide::Other, line: 2, text: "old".into() },
                    DiffLine { side: DiffSide::This, line: 12, text: "new".into() },
                ],
                diff_more: 3,
                tested: false,
            })
    }

    #[test]
    fn a_pair_shows_its_typed_diff_and_the_count_of_the_rest() {
        assert_eq!(body(&pair()), vec!["-    2: old", "+   12: new", "… and 3 more changed lines"]);
        assert_eq!(
            plain(&pair(), "    "),
            "deny    b.sh: 90% similar to a.sh\n      -    2: old\n      +   12: new\n      … and 3 more changed lines\n    help: test it"
        );
    }

    #[test]
    fn an_expired_waiver_is_said_in_the_message_and_a_live_one_replaces_the_help() {
        let mut finding = pair();
        finding.expired_waiver = Some(ExpiredWaiver { source: "gate.toml:9".into(), expired: "2026-01-31".into() });
        assert_eq!(message(&finding), "90% similar to a.sh (the waiver at gate.toml:9 expired on 2026-01-31)");
        finding.waived =
            Some(Waived { reason: "kept".into(), expires: "2027-01-31".into(), source: "gate.toml:3".into() });
        assert_eq!(label(&finding), "waived");
        assert_eq!(closing(&finding), ("waived:", "kept, until 2027-01-31 (gate.toml:3)".to_string()));
    }
}
