//! What every format says about a finding, in one place: its label, its message, the lines
//! under it, its help or why it is waived, and the "first N of M" of long lists. Reporters keep
//! only their own syntax (escaping, markup, layout).

use std::collections::BTreeMap;

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

/// One fingerprint per finding, in report order: `HASH:N`.
///
/// HASH is a 64-bit FNV-1a of the finding's identity: check, code, path and subject (the key,
/// the other file of a pair, the matched line). Positions and wording are not part of it, so an
/// alert keeps its identity when lines are inserted above it, when a message is reworded, or
/// when a waiver runs out. N counts identical identities in the report (1, 2, ... in line
/// order), the way GitHub's own `primaryLocationLineHash` does: two identical `while true`
/// loops in one file stay two alerts. Inserting an identical finding above an existing one
/// shifts the numbering, which GitHub reads as the old alert moving and a new one appearing:
/// an acceptable cost of not hashing line numbers.
pub fn fingerprints(findings: &[Finding]) -> Vec<String> {
    let mut seen: BTreeMap<u64, usize> = BTreeMap::new();
    findings
        .iter()
        .map(|finding| {
            let hash = fnv1a(&finding.identity());
            let n = seen.entry(hash).or_default();
            *n += 1;
            format!("{hash:016x}:{n}")
        })
        .collect()
}

/// FNV-1a over the parts, a NUL between them so `ab`+`c` and `a`+`bc` differ. Written out rather
/// than taken from std: `DefaultHasher` may change between Rust releases, and fingerprints must
/// not.
fn fnv1a(parts: &[&str]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET;
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            // The NUL separator: xor with 0 leaves the hash as it is, the multiplication remains.
            hash = hash.wrapping_mul(PRIME);
        }
        for byte in part.bytes() {
            hash = (hash ^ u64::from(byte)).wrapping_mul(PRIME);
        }
    }
    hash
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
    #[test]
    fn fnv1a_matches_the_published_test_vectors() {
        assert_eq!(fnv1a(&[""]), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(&["a"]), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(&["foobar"]), 0x8594_4171_f739_67e8);
        assert_ne!(fnv1a(&["ab", "c"]), fnv1a(&["a", "bc"]));
    }

    #[test]
    fn fingerprints_follow_identity_not_wording_or_position() {
        use crate::config::Severity;
        let loop_at = |line: u32, message: &str| {
            Finding::new("risky-pattern", "unbounded-loop", Severity::Deny, message, "add a break")
                .at("bin/sync.sh")
                .about("while true; do")
                .at_line(line, 0)
        };
        let before = fingerprints(&[loop_at(3, "an unbounded loop")]);
        // Moved down, reworded, its waiver expired: the same alert.
        let mut moved = loop_at(40, "an unbounded loop with no exit in sight");
        moved.expired_waiver =
            Some(crate::checks::ExpiredWaiver { source: "gate.toml:3".into(), expired: "2026-01-31".into() });
        assert_eq!(fingerprints(&[moved]), before);
        // Another line matched, or another rule: another alert.
        let other_line = loop_at(3, "an unbounded loop").about("for (;;) {");
        assert_ne!(fingerprints(&[other_line]), before);
        // Two identical loops in one file stay two alerts.
        let two = fingerprints(&[loop_at(3, "x"), loop_at(9, "x")]);
        assert_eq!(two[0].split(':').next(), two[1].split(':').next());
        assert_eq!((two[0].ends_with(":1"), two[1].ends_with(":2")), (true, true));
    }
}
