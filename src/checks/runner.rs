//! Runs the checks and applies waivers.

use super::{CHECKS, Context, ExpiredWaiver, Finding, NotAnalysed, Output, Waived};
use crate::Result;
use crate::config::Severity;

/// What a run of the checks produced.
#[derive(Debug, Clone)]
pub struct CheckResults {
    /// Every finding, waived ones included, sorted by check, path, line and message.
    pub findings: Vec<Finding>,
    /// The checks that ran and at which severity, in registry order.
    pub ran: Vec<(&'static str, Severity)>,
    /// Files checks could not analyse, sorted.
    pub not_analysed: Vec<NotAnalysed>,
    /// What the checks said the reader must know (caps reached), in check order.
    pub notes: Vec<String>,
}

/// Runs every check that is not off, then marks the findings that a valid waiver covers.
pub fn run_checks(cx: &Context<'_>) -> Result<CheckResults> {
    let mut out = Output::default();
    let mut ran = Vec::new();
    for check in CHECKS {
        let Some(policy) = cx.policy.check(check.id()) else { continue };
        let severity = check.effective_severity(cx, policy.severity)?;
        if severity == Severity::Off {
            continue;
        }
        ran.push((check.id(), severity));
        check.run(cx, &policy.settings, severity, &mut out)?;
    }
    let Output { mut findings, mut not_analysed, notes } = out;
    not_analysed.sort();
    let today = cx.now.to_zoned(jiff::tz::TimeZone::UTC).date();
    for finding in &mut findings {
        if finding.waived.is_some() {
            continue;
        }
        let path = finding.path.as_deref().unwrap_or("");
        let matching = cx.policy.waivers.iter().filter(|w| w.check == finding.check && w.matcher.is_match(path));
        let mut expired = None;
        for waiver in matching {
            if waiver.expires >= today {
                finding.waived = Some(Waived {
                    reason: waiver.reason.clone(),
                    expires: waiver.expires.to_string(),
                    source: waiver.origin.to_string(),
                });
                break;
            }
            expired = Some(waiver);
        }
        if finding.waived.is_none()
            && let Some(waiver) = expired
        {
            finding.expired_waiver =
                Some(ExpiredWaiver { source: waiver.origin.to_string(), expired: waiver.expires.to_string() });
        }
    }
    findings.sort_by(|a, b| {
        (a.check, &a.path, a.line, &a.code, &a.subject, &a.message)
            .cmp(&(b.check, &b.path, b.line, &b.code, &b.subject, &b.message))
    });
    Ok(CheckResults { findings, ran, not_analysed, notes })
}
