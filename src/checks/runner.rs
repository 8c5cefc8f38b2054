//! Runs the checks and applies waivers.

use super::{CHECKS, Context, ExpiredWaiver, Finding, NotAnalysed, Output, Waived};
use crate::Result;
use crate::config::{Severity, Waiver};

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
    apply_waivers(&mut findings, &cx.policy.waivers, today);
    findings.sort_by(|a, b| {
        (a.check, &a.path, a.line, &a.code, &a.subject, &a.message)
            .cmp(&(b.check, &b.path, b.line, &b.code, &b.subject, &b.message))
    });
    Ok(CheckResults { findings, ran, not_analysed, notes })
}

/// Marks each finding that a waiver for its check and path covers on `today` (the waiver's
/// last day included). A finding a check already let through (approval evidence) keeps its
/// reason. A finding whose only matching waivers have run out counts, and says which expired.
fn apply_waivers(findings: &mut [Finding], waivers: &[Waiver], today: jiff::civil::Date) {
    for finding in findings.iter_mut().filter(|f| f.waived.is_none()) {
        let path = finding.path.as_deref().unwrap_or("");
        let mut expired = None;
        for waiver in waivers.iter().filter(|w| w.check == finding.check && w.matcher.is_match(path)) {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Origin, compile_glob};

    fn waiver(check: &str, path: &str, expires: &str, line: usize) -> Waiver {
        Waiver {
            check: check.into(),
            path: path.into(),
            matcher: compile_glob(path).unwrap_or_else(|e| panic!("{e}")).compile_matcher(),
            reason: format!("reason {line}"),
            expires: expires.parse().unwrap_or_else(|e| panic!("{e}")),
            origin: Origin::Layer { name: "gate.toml".into(), line },
        }
    }

    fn finding(check: &'static str, path: &str) -> Finding {
        Finding::new(check, "code", Severity::Deny, "found", "fix it").at(path)
    }

    fn today() -> jiff::civil::Date {
        jiff::civil::date(2026, 12, 1)
    }

    #[test]
    fn a_live_waiver_for_the_check_and_path_waives_and_blocks_no_more() {
        let mut findings =
            vec![finding("variant-name", "bin/search_v2.sh"), finding("variant-name", "bin/other_v2.sh")];
        apply_waivers(&mut findings, &[waiver("variant-name", "bin/search_*.sh", "2026-12-01", 7)], today());
        let waived = findings[0].waived.as_ref().unwrap_or_else(|| panic!("not waived"));
        assert_eq!((waived.source.as_str(), waived.expires.as_str()), ("gate.toml:7", "2026-12-01"));
        assert!(!findings[0].blocks(false));
        assert!(findings[1].waived.is_none() && findings[1].blocks(false), "another path is not waived");
    }

    #[test]
    fn a_waiver_for_another_check_does_not_apply() {
        let mut findings = vec![finding("near-duplicate", "bin/search_v2.sh")];
        apply_waivers(&mut findings, &[waiver("variant-name", "**", "2027-01-31", 3)], today());
        assert!(findings[0].waived.is_none() && findings[0].expired_waiver.is_none());
    }

    #[test]
    fn an_expired_waiver_is_reported_and_the_finding_still_blocks() {
        let mut findings = vec![finding("variant-name", "bin/search_v2.sh")];
        apply_waivers(&mut findings, &[waiver("variant-name", "bin/*", "2026-11-30", 4)], today());
        assert!(findings[0].waived.is_none() && findings[0].blocks(false));
        let expired = findings[0].expired_waiver.as_ref().unwrap_or_else(|| panic!("no expiry noted"));
        assert_eq!((expired.source.as_str(), expired.expired.as_str()), ("gate.toml:4", "2026-11-30"));
    }

    #[test]
    fn a_live_waiver_wins_over_an_expired_one_for_the_same_finding() {
        let mut findings = vec![finding("variant-name", "bin/search_v2.sh")];
        let waivers =
            [waiver("variant-name", "bin/*", "2026-01-01", 2), waiver("variant-name", "bin/*", "2027-01-01", 9)];
        apply_waivers(&mut findings, &waivers, today());
        assert_eq!(findings[0].waived.as_ref().map(|w| w.source.as_str()), Some("gate.toml:9"));
        assert!(findings[0].expired_waiver.is_none());
    }

    #[test]
    fn an_approval_a_check_applied_is_kept() {
        let mut approved = finding("policy-change", "gate.toml");
        approved.waived =
            Some(Waived { reason: "approved by alice".into(), expires: String::new(), source: "approval".into() });
        let mut findings = vec![approved];
        apply_waivers(&mut findings, &[waiver("policy-change", "**", "2027-01-01", 5)], today());
        assert_eq!(findings[0].waived.as_ref().map(|w| w.reason.as_str()), Some("approved by alice"));
    }

    #[test]
    fn warnings_block_only_when_warnings_are_denied() {
        let warn = Finding::new("untested-change", "untested-script", Severity::Warn, "m", "h").at("a.sh");
        assert!(!warn.blocks(false));
        assert!(warn.blocks(true));
    }
}
