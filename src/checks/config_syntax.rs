//! `config-syntax`: every changed configuration file still parses.
//!
//! Incident 003: a config push took production down. The first thing to know about a changed
//! config file is whether the service can read it at all: TOML, YAML, JSON, INI, `.env` and
//! `.properties` are parsed, and a parse error is reported with its file, line and column and the
//! parser's own message. A file whose name lies about its format is reported as such.

use serde::Deserialize;

use super::{Check, Context, Doc, Finding, NotAnalysed, Output};
use crate::Result;
use crate::analysis::Needs;
use crate::audit::document::{Format, MAX_ENTRIES, Parsed};
use crate::config::Settings;
use crate::config::Severity;

pub struct ConfigSyntax;

const ID: &str = "config-syntax";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct SyntaxSettings {
    /// Configuration files larger than this are not parsed (and are a finding).
    max_bytes: u64,
}

impl Default for SyntaxSettings {
    fn default() -> Self {
        SyntaxSettings { max_bytes: 8 * 1024 * 1024 }
    }
}

impl Settings for SyntaxSettings {}

static DOC: Doc = Doc {
    codes: &["too-large", "syntax-error"],
    summary: "A changed file of the `config` path class no longer parses as TOML, YAML, JSON, INI, .env or .properties.",
    why: "Incident 003: a config push took every serving thread down, and the rollback was then rejected. A \
          configuration file the service cannot read fails at start-up or, worse, at the first reload in \
          production. Parse errors are cheap to catch before the deploy.",
    example: "config-syntax  deny\n  config/auth.yaml:12:9: YAML: mapping values are not allowed in this context\n    \
              help: fix the syntax at line 12; check the file with the service's own config loader",
    config: "# Files of the `config` class (see `[paths]`); files that .gitattributes marks linguist-generated,\n# linguist-vendored or linguist-documentation are never analysed.\n[checks.config-syntax]\nseverity  = \"deny\"\nmax-bytes = 8388608   # larger config files are not parsed (and are a finding)",
};

impl Check for ConfigSyntax {
    type Settings = SyntaxSettings;

    fn id(&self) -> &'static str {
        ID
    }

    fn default_severity(&self) -> Severity {
        Severity::Deny
    }

    fn doc(&self) -> &'static Doc {
        &DOC
    }

    fn needs(&self, settings: &SyntaxSettings, needs: &mut Needs) {
        needs.config_max_bytes = settings.max_bytes;
    }

    fn run(&self, cx: &Context<'_>, settings: &SyntaxSettings, severity: Severity, out: &mut Output) -> Result<()> {
        for file in cx.analysis.config_files()? {
            if let Some(size) = file.too_large {
                out.findings.push(
                    Finding::new(
                        ID,
                        "too-large",
                        severity,
                        format!(
                            "{size} bytes, over max-bytes ({}): not parsed, so its syntax is unchecked",
                            settings.max_bytes
                        ),
                        format!(
                            "a config file this large is unusual; raise [checks.{ID}] max-bytes to check it, or waive"
                        ),
                    )
                    .at(&file.path),
                );
                continue;
            }
            match &file.new {
                // Broken at the last deploy too: the release did not break it. Said, not blocked,
                // or every release that touches the file would be stopped for an old line.
                Some(Parsed::Error(error)) if matches!(file.old, Some(Parsed::Error(_))) => {
                    let format = error.format.map_or_else(String::new, |f| format!("{f}: "));
                    out.notes.push(format!(
                        "{}:{}: {format}{} (it did not parse at the last deploy either: not a change of this release)",
                        file.path, error.line, error.message
                    ));
                }
                Some(Parsed::Error(error)) => {
                    let format = error.format.map_or_else(String::new, |f| format!("{f}: "));
                    out.findings.push(
                        Finding::new(
                            ID,
                            "syntax-error",
                            severity,
                            format!("{format}{}", error.message),
                            format!(
                                "fix the syntax at line {}; a service that cannot parse its configuration fails at start-up",
                                error.line
                            ),
                        )
                        .at(&file.path)
                        .at_line(error.line, error.col),
                    );
                }
                Some(Parsed::TooWide { format, keys }) => out.findings.push(
                    Finding::new(
                        ID,
                        "too-large",
                        severity,
                        format!(
                            "{format}, {keys} keys, over the {MAX_ENTRIES} gate analyses in one file: its values are \
                             unchecked"
                        ),
                        "a config file this wide is unusual; split it, or review it and waive",
                    )
                    .at(&file.path),
                ),
                Some(Parsed::Unknown(reason) | Parsed::Template(reason)) => {
                    out.not_analysed.push(NotAnalysed { check: ID, path: file.path.clone(), reason: reason.clone() })
                }
                Some(Parsed::Document(_)) | None => {}
            }
        }
        Ok(())
    }
}

/// How a config file was read, for reports: `YAML`, or `TOML (read as TOML)` when guessed.
pub fn describe(parsed: &Parsed) -> String {
    match parsed {
        Parsed::Document(doc) => match &doc.note {
            Some(note) => format!("{} ({note})", doc.format),
            None => doc.format.to_string(),
        },
        Parsed::Error(error) => {
            error.format.map_or_else(|| "unreadable".to_string(), |f: Format| format!("{f}, does not parse"))
        }
        Parsed::Unknown(reason) | Parsed::Template(reason) => reason.clone(),
        Parsed::TooWide { format, keys } => format!("{format}, {keys} keys, not analysed"),
    }
}
