//! SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.
//!
//! One run. One rule per check that ran, described from its `gate explain` text, and one result
//! per finding, waived ones included as suppressed. GitHub's rules shape the output beyond what
//! the schema asks: every result has a file location with a line and a column (a finding about
//! the release as a whole points at the policy file), and every result carries a partial
//! fingerprint that survives lines moving, so an alert stays the same alert from one release to
//! the next. `versionControlProvenance` is left out: it requires a repository URI, which gate
//! does not know; the release and base commits are in the run's `properties`.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;

use super::text;
use super::{Report, Tally, Verdict};
use crate::checks::{self, Finding, FindingData};
use crate::config::Severity;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// The key of gate's fingerprint; the suffix changes if the scheme ever does, so old alerts are
/// not matched against fingerprints computed another way.
const FINGERPRINT_KEY: &str = "gateFindingHash/v2";

/// Where findings about the release as a whole (blast-radius, test-evidence, staged-rollout,
/// freeze-window, ...) are placed. GitHub drops a result without a file location, and the
/// policy file is where the requirement such a finding enforces is configured.
const POLICY_FILE: &str = "gate.toml";

const SRCROOT: &str = "%SRCROOT%";

#[derive(Serialize)]
struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: [Run<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    tool: Tool,
    invocations: [Invocation; 1],
    original_uri_base_ids: BTreeMap<&'static str, BaseId>,
    results: Vec<SarifResult<'a>>,
    properties: RunProperties<'a>,
}

#[derive(Serialize)]
struct Tool {
    driver: Driver,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver {
    name: &'static str,
    version: &'static str,
    semantic_version: &'static str,
    rules: Vec<Rule>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    id: &'static str,
    name: String,
    short_description: Text,
    full_description: Text,
    help: Help,
    default_configuration: Configuration,
}

#[derive(Serialize)]
struct Text {
    text: String,
}

#[derive(Serialize)]
struct Help {
    text: String,
    markdown: String,
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Invocation {
    execution_successful: bool,
    /// The report's notes and the files checks could not analyse: never a silent skip.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_execution_notifications: Vec<Notification>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Notification {
    level: &'static str,
    message: Text,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    locations: Vec<Location>,
    #[serde(skip_serializing_if = "Option::is_none")]
    associated_rule: Option<RuleRef>,
}

#[derive(Serialize)]
struct RuleRef {
    id: &'static str,
    index: usize,
}

#[derive(Serialize)]
struct BaseId {
    description: Text,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    rule_id: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule_index: Option<usize>,
    level: &'static str,
    message: Text,
    locations: [Location; 1],
    /// The other file of a near-duplicate pair, the original of a variant.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    related_locations: Vec<Location>,
    partial_fingerprints: BTreeMap<&'static str, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    suppressions: Vec<Suppression>,
    #[serde(skip_serializing_if = "Option::is_none")]
    properties: Option<ResultProperties<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<u32>,
    physical_location: PhysicalLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<Text>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    region: Region,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactLocation {
    uri: String,
    uri_base_id: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: u32,
    start_column: u32,
}

#[derive(Serialize)]
struct Suppression {
    kind: &'static str,
    status: &'static str,
    justification: String,
}

#[derive(Serialize)]
struct ResultProperties<'a> {
    data: &'a FindingData,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RunProperties<'a> {
    verdict: Verdict,
    environment: Option<&'a str>,
    /// The release commit id.
    release: String,
    release_tree: String,
    /// The base commit id; null when nothing is deployed yet.
    base: Option<String>,
    files_changed: usize,
    deny_warnings: bool,
    summary: Tally,
}

pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let range = &report.range;
    let rules: Vec<Rule> = report.results.ran.iter().map(|(id, severity)| rule(id, *severity)).collect();
    let rule_index = |check: &str| rules.iter().position(|rule| rule.id == check);
    let fingerprints = text::fingerprints(&report.results.findings);
    let results = report
        .results
        .findings
        .iter()
        .zip(fingerprints)
        .map(|(finding, fingerprint)| result(finding, rule_index(finding.check), fingerprint))
        .collect();

    let mut notifications: Vec<Notification> = report
        .notes
        .iter()
        .map(|note| Notification {
            level: "warning",
            message: Text { text: note.clone() },
            locations: Vec::new(),
            associated_rule: None,
        })
        .collect();
    notifications.extend(report.results.not_analysed.iter().map(|item| Notification {
        level: "warning",
        message: Text { text: format!("{}: {} could not be analysed ({})", item.check, item.path, item.reason) },
        locations: vec![location(Some(&item.path), None, None)],
        associated_rule: rule_index(item.check).map(|index| RuleRef { id: item.check, index }),
    }));

    let log = Log {
        schema: SCHEMA,
        version: "2.1.0",
        runs: [Run {
            tool: Tool {
                driver: Driver {
                    name: "gate",
                    version: env!("CARGO_PKG_VERSION"),
                    semantic_version: env!("CARGO_PKG_VERSION"),
                    rules,
                },
            },
            invocations: [Invocation { execution_successful: true, tool_execution_notifications: notifications }],
            original_uri_base_ids: BTreeMap::from([(
                SRCROOT,
                BaseId { description: Text { text: "The root of the repository gate checked.".to_string() } },
            )]),
            results,
            properties: RunProperties {
                verdict: report.verdict(),
                environment: range.environment.as_deref(),
                release: range.release.commit.to_string(),
                release_tree: range.release.tree.to_string(),
                base: range.base.commit.map(|id| id.to_string()),
                files_changed: report.files_changed,
                deny_warnings: report.deny_warnings,
                summary: report.tally(),
            },
        }],
    };
    serde_json::to_writer_pretty(&mut *out, &log).map_err(io::Error::other)?;
    writeln!(out)
}

/// A check as a SARIF rule: its `gate explain` text, at the severity it ran at.
fn rule(id: &'static str, severity: Severity) -> Rule {
    let (summary, why, example, config) = match checks::find(id) {
        Some(check) => {
            let doc = check.doc();
            (doc.summary, doc.why, doc.example, doc.config)
        }
        None => ("", "", "", ""),
    };
    Rule {
        id,
        name: camel_case(id),
        short_description: Text { text: summary.to_string() },
        full_description: Text { text: why.to_string() },
        help: Help {
            text: format!(
                "{summary}\n\nExample:\n{example}\n\nConfiguration (gate.toml):\n{config}\n\nMore: gate explain {id}"
            ),
            markdown: format!(
                "{summary}\n\n**Example**\n\n```text\n{example}\n```\n\n**Configuration** (gate.toml)\n\n\
                 ```toml\n{config}\n```\n\nMore: `gate explain {id}`"
            ),
        },
        default_configuration: Configuration { level: level(severity) },
    }
}

fn result(finding: &Finding, rule_index: Option<usize>, fingerprint: String) -> SarifResult<'_> {
    let mut message = text::message(finding);
    for line in text::body(finding) {
        message.push_str(&format!("\n  {line}"));
    }
    let (word, rest) = text::closing(finding);
    message.push_str(&format!("\n{word} {rest}"));
    let primary = match finding.path.as_deref() {
        Some(path) => location(Some(path), finding.line, finding.column),
        None => Location {
            message: Some(Text {
                text: format!("about the release as a whole; {POLICY_FILE} is where {} is configured", finding.check),
            }),
            ..location(None, None, None)
        },
    };
    let related = match &finding.data {
        Some(FindingData::Pair { other, .. }) => Some((other, "the file it resembles")),
        Some(FindingData::Variant { original: Some(original), .. }) => Some((original, "the original")),
        _ => None,
    };
    let related_locations = related
        .map(|(path, what)| Location {
            id: Some(1),
            message: Some(Text { text: what.to_string() }),
            ..location(Some(path), None, None)
        })
        .into_iter()
        .collect();
    let suppressions = finding
        .waived
        .iter()
        .map(|waived| Suppression { kind: "external", status: "accepted", justification: text::waiver(waived) })
        .collect();
    SarifResult {
        rule_id: finding.check,
        rule_index,
        level: level(finding.severity),
        message: Text { text: message },
        locations: [primary],
        related_locations,
        partial_fingerprints: BTreeMap::from([(FINGERPRINT_KEY, fingerprint)]),
        suppressions,
        properties: finding.data.as_ref().map(|data| ResultProperties { data }),
    }
}

/// A location in the repository; without a path, the policy file. Line and column default to 1:
/// GitHub rejects a result whose region does not start on a line and column of at least 1.
fn location(path: Option<&str>, line: Option<u32>, column: Option<u32>) -> Location {
    Location {
        id: None,
        physical_location: PhysicalLocation {
            artifact_location: ArtifactLocation { uri: uri(path.unwrap_or(POLICY_FILE)), uri_base_id: SRCROOT },
            region: Region { start_line: line.unwrap_or(1).max(1), start_column: column.unwrap_or(1).max(1) },
        },
        message: None,
    }
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Deny => "error",
        Severity::Warn => "warning",
        Severity::Off => "none",
    }
}

/// A repository-relative path as a relative URI reference. Everything but unreserved characters
/// and `/` is percent-encoded: a space is not allowed in a URI, and a colon in the first segment
/// would read as a scheme. A directory (`legacy/`, a variant-name finding) loses its trailing
/// slash, so the URI names the directory itself the way a file is named.
fn uri(path: &str) -> String {
    let path = path.strip_suffix('/').filter(|p| !p.is_empty()).unwrap_or(path);
    let mut uri = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'/') {
            uri.push(char::from(byte));
        } else {
            uri.push_str(&format!("%{byte:02X}"));
        }
    }
    uri
}

/// `risky-pattern` -> `RiskyPattern`, the rule's `name`.
fn camel_case(id: &str) -> String {
    id.split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map(|first| first.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_uri_references() {
        assert_eq!(uri("bin/sync.sh"), "bin/sync.sh");
        assert_eq!(uri("lib/report copy.sh"), "lib/report%20copy.sh");
        assert_eq!(uri("bin/a,b:c%.sh"), "bin/a%2Cb%3Ac%25.sh");
        assert_eq!(uri("legacy/"), "legacy");
        assert_eq!(uri("café.txt"), "caf%C3%A9.txt");
    }

    #[test]
    fn rule_names_are_camel_case() {
        assert_eq!(camel_case("risky-pattern"), "RiskyPattern");
        assert_eq!(camel_case("blast-radius"), "BlastRadius");
    }
}
