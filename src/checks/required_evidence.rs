//! `evidence`: the release tree carries the other evidence its environment asks for.
//!
//! Incident 004: a host died and there was no backup. An environment with
//! `evidence = ["backup"]` and `evidence-max-age = { backup = "24h" }` accepts only a tree with a
//! recent `backup` record (`gate evidence add backup --detail "snapshot id"`). `tests` is
//! `test-evidence`'s job.

use serde::Deserialize;

use super::{Check, Context, Doc, Finding, Output};
use crate::config::Settings;
use crate::config::Severity;
use crate::{Result, time};

pub struct RequiredEvidence;

const ID: &str = "evidence";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct EvidenceSettings {}

impl Settings for EvidenceSettings {}

static DOC: Doc = Doc {
    codes: &["missing", "too-old"],
    summary: "An environment's `evidence = [...]` kinds other than tests (backup, approval, ...) must be recorded for \
              the release tree, and be recent enough (`evidence-max-age`).",
    why: "Incident 004: a host died with no backup, and recovery took four days. Facts like \"a backup was taken\" or \
          \"this was approved\" are easy to forget at 3 a.m.; recorded as evidence on the tree, they can be required.",
    example: "evidence  deny\n  production requires `backup` evidence no older than 24h; the newest is 30h old (recorded by ops-bot)\n    \
              help: take a backup and record it: gate evidence add backup --detail \"snapshot id\"",
    config: "[environments.production]\nevidence = [\"tests\", \"backup\"]\nevidence-max-age = { backup = \"24h\" }\n\n\
             [checks.evidence]\nseverity = \"deny\"",
};

impl Check for RequiredEvidence {
    type Settings = EvidenceSettings;

    fn id(&self) -> &'static str {
        ID
    }

    fn default_severity(&self) -> Severity {
        Severity::Deny
    }

    fn doc(&self) -> &'static Doc {
        &DOC
    }

    fn run(&self, cx: &Context<'_>, _settings: &Self::Settings, severity: Severity, out: &mut Output) -> Result<()> {
        let Some(env) = cx.target()? else { return Ok(()) };
        for kind in env.evidence.iter().filter(|k| *k != "tests") {
            let help = format!("record it for this tree: gate evidence add {kind} --detail \"...\"");
            let newest = cx.evidence.newest(kind);
            let max_age = env.evidence_max_age.get(kind);
            let Some(record) = newest else {
                let age = max_age.map(|a| format!(" no older than {}", time::duration(*a))).unwrap_or_default();
                out.findings.push(
                    Finding::new(
                        ID,
                        "missing",
                        severity,
                        format!(
                            "{} requires `{kind}` evidence{age}, and none is recorded for the release tree",
                            env.name
                        ),
                        help,
                    )
                    .about(kind),
                );
                continue;
            };
            if let Some(max_age) = max_age {
                let age = cx.now.duration_since(record.at);
                if age > *max_age {
                    out.findings.push(
                        Finding::new(
                            ID,
                            "too-old",
                            severity,
                            format!(
                                "{} requires `{kind}` evidence no older than {}; the newest is {} old (recorded by {})",
                                env.name,
                                time::duration(*max_age),
                                time::duration(age),
                                record.by
                            ),
                            help,
                        )
                        .about(kind),
                    );
                }
            }
        }
        Ok(())
    }
}
