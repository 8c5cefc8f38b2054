//! `evidence-trust`: the release tree's evidence records that do not count, and why.
//!
//! Anyone who can push `refs/notes/gate` can write a record. The analysis weighs each one (the
//! tree it names, its time, its signature against the deployed policy's `[trust]`) and drops
//! those that fail; this check says which were dropped, so a forged "tests passed" or a
//! replayed approval is never silently ignored, and notes once when the evidence relied on is
//! unsigned and who could have written it.

use serde::Deserialize;

use super::{Check, Context, Doc, Finding, Output};
use crate::Result;
use crate::config::{Settings, Severity};
use crate::evidence::{NOTES_REF, Purpose};

pub struct EvidenceTrust;

const ID: &str = "evidence-trust";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct TrustSettings {}

impl Settings for TrustSettings {}

static DOC: Doc = Doc {
    codes: &[
        "wrong-tree",
        "future-dated",
        "bad-signature",
        "clock-overridden",
        "no-purpose",
        "no-terms",
        "unsigned",
        "unknown-signer",
        "not-permitted",
        "self-approval",
        "unsigned-deploy",
    ],
    summary: "Evidence records of the release tree that do not count: replayed from another tree, dated in the \
              future, with a signature that does not verify, or unsigned where the deployed policy requires a \
              signature; and approvals by the release's own authors where `approvals` is set.",
    why: "Evidence is only as good as who could write it. Anyone who can push refs/notes/gate can write \"tests \
          passed\", copy an approval from another tree with `git notes copy`, or date a record 9999-12-31 so it \
          stays the newest. gate drops such records before any check reads them, and this check says which and \
          why, so a forgery is a finding rather than a silent gap.",
    example: "evidence-trust  deny\n  tests evidence recorded 9999-12-31T00:00:00Z by mallory does not count: its time \
              9999-12-31T00:00:00Z is 2926430d ahead of the clock\n    \
              help: remove the line from the note: git notes --ref gate edit <tree>",
    config: "[checks.evidence-trust]\nseverity = \"deny\"   # forged or replayed records; untrusted ones are warnings\n\n\
             [trust]\nallowed-signers = \".gate/allowed_signers\"\nrequire-signed  = [\"approval\", \"tests\"]",
};

impl Check for EvidenceTrust {
    type Settings = TrustSettings;

    fn id(&self) -> &'static str {
        ID
    }

    fn default_severity(&self) -> Severity {
        Severity::Deny
    }

    fn doc(&self) -> &'static Doc {
        &DOC
    }

    fn run(&self, cx: &Context<'_>, _settings: &TrustSettings, severity: Severity, out: &mut Output) -> Result<()> {
        let tree = cx.range.release.tree;
        let vetted = cx.analysis.vetted()?;
        for rejected in &vetted.rejected {
            // A forgery blocks; a record that is merely not trusted enough only does not count.
            let level = if rejected.tampered() { severity } else { severity.min(Severity::Warn) };
            out.findings.push(
                Finding::new(
                    ID,
                    rejected.code,
                    level,
                    format!("{} does not count: {}", rejected.describe(), rejected.why),
                    format!(
                        "see who wrote it (git log -p {NOTES_REF}); remove the line: git notes --ref gate edit {tree}"
                    ),
                )
                .about(format!("{}@{}", rejected.record.kind, crate::time::iso(rejected.record.at))),
            );
        }
        for purpose in Purpose::ALL {
            let approvals = cx.analysis.approvals(purpose)?;
            for (record, code, why) in &approvals.excluded {
                // Reported once, under the purpose the approval names.
                if record.approves != Some(purpose) || *code != "self-approval" {
                    continue;
                }
                out.findings.push(
                    Finding::new(
                        ID,
                        "self-approval",
                        severity.min(Severity::Warn),
                        format!("the approval for {purpose} by {} does not count: {why}", record.who()),
                        "have someone who did not write or commit the release approve it",
                    )
                    .about(format!("approval@{}", crate::time::iso(record.at))),
                );
            }
        }
        if let crate::git::BaseSource::LastDeploy { deploy } = &cx.range.base.source
            && cx.analysis.trust()?.require_signed.iter().any(|k| k == "deploy")
            && !cx.analysis.deploy_is_attested(deploy)?
        {
            out.findings.push(
                Finding::new(
                    ID,
                    "unsigned-deploy",
                    severity,
                    format!(
                        "the last deploy of {} ({}) has no signed deploy record: its ledger entry could have been written by \
                         anyone who can push refs/gate, so it is no base to compare with",
                        deploy.environment,
                        crate::git::short(deploy.commit)
                    ),
                    format!(
                        "record deploys signed (gate record --env {} --sign) and share them (gate sync)",
                        deploy.environment
                    ),
                )
                .about(&deploy.environment),
            );
        }
        if let Some(why) = cx.analysis.deployed_policy_error()? {
            out.notes.push(format!(
                "the deployed policy does not load any more ({why}); the release's own [trust], waivers and severities \
                 are not checked against it"
            ));
        }
        if !vetted.unsigned.is_empty() {
            let kinds: Vec<String> = vetted.unsigned.iter().map(|k| format!("`{k}`")).collect();
            out.notes.push(format!(
                "evidence is not signed: the {} records of this tree could have been written by anyone who can push \
                 {NOTES_REF} (require signatures with [trust] require-signed; see docs/trust.md)",
                kinds.join(", ")
            ));
        }
        Ok(())
    }
}
