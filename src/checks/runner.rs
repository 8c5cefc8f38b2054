//! Runs the checks and applies waivers.
//!
//! What the release's own policy loosens takes effect only once that policy is deployed: a
//! check runs at least at the severity the deployed policy gave it, and a waiver written in the
//! release's gate.toml applies only when the deployed policy has it too. Waivers recorded as
//! evidence for the release tree (`gate waive`) apply at once. Nothing waives `policy-change`.

use std::cell::Cell;

use globset::GlobMatcher;

use super::{CHECKS, Context, ExpiredWaiver, Finding, NotAnalysed, Output, Waived};
use crate::Result;
use crate::config::{Policy, Severity, Waiver, compile_glob, parse_date};
use crate::evidence::Record;

/// The check no waiver applies to: a release must not waive the check that watches the policy.
const UNWAIVABLE: &str = "policy-change";

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
    /// Set when `GATE_NOW` set the clock: the verdict is not about the real time.
    pub clock_overridden: bool,
}

/// Runs every check that is not off, then marks the findings that a valid waiver covers.
pub fn run_checks(cx: &Context<'_>) -> Result<CheckResults> {
    run_checks_except(cx, &[])
}

/// Runs the checks but those in `skip` (a backtest does not judge past evidence), whatever
/// severity any policy gives them.
pub fn run_checks_except(cx: &Context<'_>, skip: &[&str]) -> Result<CheckResults> {
    let mut out = Output::default();
    let mut ran = Vec::new();
    let deployed = cx.analysis.deployed_policy()?;
    let mut policy_notes = Vec::new();
    for check in CHECKS.iter().filter(|c| !skip.contains(&c.id())) {
        let Some(policy) = cx.policy.check(check.id()) else { continue };
        let configured = floor(check.id(), policy.severity, deployed, &mut policy_notes);
        let severity = check.effective_severity(cx, configured)?;
        if severity == Severity::Off {
            continue;
        }
        ran.push((check.id(), severity));
        check.run(cx, &policy.settings, severity, &mut out)?;
    }
    let Output { mut findings, mut not_analysed, notes } = out;
    not_analysed.sort();
    let today = cx.now.to_zoned(jiff::tz::TimeZone::UTC).date();
    let deployed_unreadable = cx.analysis.deployed_policy_error()?.is_some();
    let mut waivers = policy_waivers(cx.policy, deployed, deployed_unreadable, &mut policy_notes);
    waivers.extend(evidence_waivers(cx.analysis.evidence()?.of_kind("waiver"), &mut policy_notes));
    apply_waivers(&mut findings, &waivers, today);
    for waiver in waivers.iter().filter(|w| w.from_evidence && !w.used.get()) {
        policy_notes
            .push(format!("the {} is unused: no finding of {} matches {}", waiver.source, waiver.check, waiver.path));
    }
    findings.sort_by(|a, b| {
        (a.check, &a.path, a.line, &a.code, &a.subject, &a.message)
            .cmp(&(b.check, &b.path, b.line, &b.code, &b.subject, &b.message))
    });
    let mut all_notes = policy_notes;
    all_notes.extend(notes);
    let clock_overridden = !cx.analysis.clock().1;
    Ok(CheckResults { findings, ran, not_analysed, notes: all_notes, clock_overridden })
}

/// The severity a check runs at: the release's, but never below the deployed policy's.
fn floor(id: &str, configured: Severity, deployed: Option<&Policy>, notes: &mut Vec<String>) -> Severity {
    let Some(deployed) = deployed else { return configured };
    let floor = deployed.severity(id);
    if floor > configured {
        notes.push(format!(
            "the release lowers {id} from {floor} to {configured}; that is not in force until the release's policy is deployed"
        ));
        return floor;
    }
    configured
}

/// A waiver in force for this run.
#[derive(Debug)]
struct ActiveWaiver {
    check: String,
    path: String,
    matcher: GlobMatcher,
    reason: String,
    expires: jiff::civil::Date,
    /// Where it is recorded: `gate.toml:LINE`, or the waiver evidence.
    source: String,
    from_evidence: bool,
    used: Cell<bool>,
}

impl From<&Waiver> for ActiveWaiver {
    fn from(w: &Waiver) -> ActiveWaiver {
        ActiveWaiver {
            check: w.check.clone(),
            path: w.path.clone(),
            matcher: w.matcher.clone(),
            reason: w.reason.clone(),
            expires: w.expires,
            source: w.origin.to_string(),
            from_evidence: false,
            used: Cell::new(false),
        }
    }
}

/// The release policy's waivers that are in force: all of them when nothing is deployed (or
/// the policy is not in the repository), else those the deployed policy has too (same check,
/// path and reason), until the earlier of the two expiry dates.
fn policy_waivers(
    policy: &Policy,
    deployed: Option<&Policy>,
    deployed_unreadable: bool,
    notes: &mut Vec<String>,
) -> Vec<ActiveWaiver> {
    let mut active = Vec::new();
    for waiver in &policy.waivers {
        if waiver.check == UNWAIVABLE {
            notes.push(format!(
                "the waiver at {} for {UNWAIVABLE} is ignored: nothing waives {UNWAIVABLE}",
                waiver.origin
            ));
            continue;
        }
        let matching = match deployed {
            Some(deployed) => deployed
                .waivers
                .iter()
                .find(|d| d.check == waiver.check && d.path == waiver.path && d.reason == waiver.reason),
            None if !deployed_unreadable => Some(waiver),
            None => None,
        };
        match matching {
            Some(deployed) => {
                let mut active_waiver = ActiveWaiver::from(waiver);
                active_waiver.expires = waiver.expires.min(deployed.expires);
                active.push(active_waiver);
            }
            None => notes.push(format!(
                "the waiver at {} ({} on {}) is not in force until deployed: the deployed policy does not have it",
                waiver.origin, waiver.check, waiver.path
            )),
        }
    }
    active
}

/// Waivers recorded as evidence for the release tree (`gate waive`). A record for
/// policy-change, or one whose terms do not read, is ignored and said so.
fn evidence_waivers<'r>(records: impl Iterator<Item = &'r Record>, notes: &mut Vec<String>) -> Vec<ActiveWaiver> {
    let mut active = Vec::new();
    for record in records {
        let Some(terms) = &record.waiver else { continue };
        let source = format!("waiver evidence recorded {} by {}", crate::time::iso(record.at), record.who());
        if terms.check == UNWAIVABLE {
            notes.push(format!("the {source} for {UNWAIVABLE} is ignored: nothing waives {UNWAIVABLE}"));
            continue;
        }
        let matcher = compile_glob(&terms.path).map(|g| g.compile_matcher());
        let (Ok(matcher), Ok(expires)) = (matcher, parse_date(&terms.expires)) else {
            notes.push(format!(
                "the {source} is ignored: its path `{}` or date `{}` does not read",
                terms.path, terms.expires
            ));
            continue;
        };
        if super::find(&terms.check).is_none() {
            notes.push(format!("the {source} is ignored: `{}` is not a check", terms.check));
            continue;
        }
        active.push(ActiveWaiver {
            check: terms.check.clone(),
            path: terms.path.clone(),
            matcher,
            reason: record.detail.clone().unwrap_or_default(),
            expires,
            source,
            from_evidence: true,
            used: Cell::new(false),
        });
    }
    active
}

/// Marks each finding that a waiver for its check and path covers on `today` (the waiver's
/// last day included). A finding a check already let through (approval evidence) keeps its
/// reason. A finding whose only matching waivers have run out counts, and says which expired.
/// No waiver applies to policy-change.
fn apply_waivers(findings: &mut [Finding], waivers: &[ActiveWaiver], today: jiff::civil::Date) {
    for finding in findings.iter_mut().filter(|f| f.waived.is_none() && f.check != UNWAIVABLE) {
        let path = finding.path.as_deref().unwrap_or("");
        let mut expired = None;
        for waiver in waivers.iter().filter(|w| w.check == finding.check && w.matcher.is_match(path)) {
            if waiver.expires >= today {
                waiver.used.set(true);
                finding.waived = Some(Waived {
                    reason: waiver.reason.clone(),
                    expires: waiver.expires.to_string(),
                    source: waiver.source.clone(),
                });
                break;
            }
            expired = Some(waiver);
        }
        if finding.waived.is_none()
            && let Some(waiver) = expired
        {
            waiver.used.set(true);
            finding.expired_waiver =
                Some(ExpiredWaiver { source: waiver.source.clone(), expired: waiver.expires.to_string() });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Origin, compile_glob};

    fn waiver(check: &str, path: &str, expires: &str, line: usize) -> ActiveWaiver {
        ActiveWaiver::from(&Waiver {
            check: check.into(),
            path: path.into(),
            matcher: compile_glob(path).unwrap_or_else(|e| panic!("{e}")).compile_matcher(),
            reason: format!("reason {line}"),
            expires: expires.parse().unwrap_or_else(|e| panic!("{e}")),
            origin: Origin::Layer { name: "gate.toml".into(), line, pack: None },
        })
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
    fn no_waiver_applies_to_policy_change() {
        let mut findings = vec![finding("policy-change", "gate.toml")];
        apply_waivers(&mut findings, &[waiver("policy-change", "**", "2027-01-01", 5)], today());
        assert!(findings[0].waived.is_none() && findings[0].blocks(false));
    }

    #[test]
    fn a_release_cannot_lower_a_severity_the_deployed_policy_set() {
        let mut notes = Vec::new();
        assert_eq!(floor("variant-name", Severity::Off, None, &mut notes), Severity::Off);
        assert!(notes.is_empty());
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
