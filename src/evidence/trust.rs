//! Which evidence records count. Anyone who can push `refs/notes/gate` can write a note, so a
//! record is weighed before any check reads it:
//!
//! - it must name the tree its note is attached to (`git notes copy` does not carry evidence
//!   from one tree to another);
//! - its time must not be more than five minutes ahead of the clock (a record dated 9999 would
//!   otherwise stay "newest" forever);
//! - on the real clock, a record written while `GATE_NOW` set the clock does not count;
//! - an approval must say what it approves (`--for`);
//! - a signature, when there is one, must verify; where the deployed policy's `[trust]` requires
//!   a kind to be signed, only records signed by an allowed signer (for that kind) count.
//!
//! Records that do not count are kept with the reason, so the report can say which record was
//! rejected and why.

use std::collections::BTreeSet;

use git2::Oid;
use jiff::{SignedDuration, Timestamp};

use super::signing::{self, AllowedSigners, Verified};
use super::{EvidenceSet, Record};
use crate::config::Trust;
use crate::git::short;
use crate::time;

/// How far ahead of the clock a record's time may be (clocks of CI machines drift).
pub const FUTURE_SLACK: SignedDuration = SignedDuration::from_mins(5);

/// What a record is weighed against.
pub struct Rules<'a> {
    /// The deployed policy's `[trust]`.
    pub trust: &'a Trust,
    /// Its allowed signers, read from the deployed tree: `Ok(None)` when `[trust]` names no
    /// file, `Err` (why) when it names one that cannot be read.
    pub allowed: &'a std::result::Result<Option<AllowedSigners>, String>,
    pub now: Timestamp,
    /// Whether `now` is the real time (no `GATE_NOW`).
    pub real_clock: bool,
}

/// A record that does not count, and why.
#[derive(Debug, Clone)]
pub struct Rejected {
    pub record: Record,
    /// A stable kebab-case code (`wrong-tree`, `future-dated`, `unsigned`, ...).
    pub code: &'static str,
    pub why: String,
}

impl Rejected {
    /// Whether the record looks forged or replayed, rather than merely not trusted enough.
    pub fn tampered(&self) -> bool {
        matches!(self.code, "wrong-tree" | "future-dated" | "bad-signature")
    }

    /// `approval evidence recorded 2026-11-20T13:55:00Z by Sam <sam@example.com>`.
    pub fn describe(&self) -> String {
        let r = &self.record;
        let purpose = r.approves.map(|p| format!(" for {p}")).unwrap_or_default();
        format!("{}{purpose} evidence recorded {} by {}", r.kind, shown_time(r), r.by)
    }
}

/// The evidence of one tree, weighed.
#[derive(Debug, Clone, Default)]
pub struct Vetted {
    /// The records that count, in the order they were appended.
    pub accepted: EvidenceSet,
    pub rejected: Vec<Rejected>,
    /// Kinds of accepted records that carry no verified signature.
    pub unsigned: BTreeSet<String>,
}

/// Weighs the records of the note attached to `attached_to`.
pub fn vet(set: &EvidenceSet, attached_to: Oid, rules: &Rules<'_>) -> Vetted {
    let mut vetted = Vetted::default();
    for record in &set.records {
        match judge(record, attached_to, rules) {
            Ok(signer) => {
                let mut record = record.clone();
                if signer.is_none() {
                    vetted.unsigned.insert(record.kind.clone());
                }
                record.signer = signer;
                vetted.accepted.records.push(record);
            }
            Err((code, why)) => vetted.rejected.push(Rejected { record: record.clone(), code, why }),
        }
    }
    vetted
}

/// The verified signer (none for an unsigned record that may be unsigned), or why the record
/// does not count.
fn judge(
    record: &Record,
    attached_to: Oid,
    rules: &Rules<'_>,
) -> std::result::Result<Option<String>, (&'static str, String)> {
    if record.tree != attached_to {
        return Err((
            "wrong-tree",
            format!(
                "it names tree {} but its note is attached to tree {}: evidence is not carried from one tree to another",
                short(record.tree),
                short(attached_to)
            ),
        ));
    }
    if record.at > rules.now.saturating_add(FUTURE_SLACK).unwrap_or(Timestamp::MAX) {
        return Err((
            "future-dated",
            format!(
                "its time {} is {} ahead of the clock ({}); a record cannot come from the future",
                shown_time(record),
                time::duration(record.at.duration_since(rules.now)),
                time::iso(rules.now)
            ),
        ));
    }
    if rules.real_clock && record.clock_overridden {
        return Err((
            "clock-overridden",
            format!("it was written while {} set the clock, so its time is not the real time", time::NOW_VAR),
        ));
    }
    if record.kind == "approval" && record.approves.is_none() {
        return Err((
            "no-purpose",
            "it does not say what it approves (recorded without --for); record it again with --for".to_string(),
        ));
    }
    if record.kind == "waiver" && record.waiver.is_none() {
        return Err(("no-terms", "it names no check, path and expiry".to_string()));
    }
    let trust = rules.trust;
    let required = trust.require_signed.contains(&record.kind);
    let Some(signature) = &record.signature else {
        return if required {
            Err((
                "unsigned",
                format!("it is not signed, and the deployed policy requires signed `{}` evidence", record.kind),
            ))
        } else {
            Ok(None)
        };
    };
    let allowed = match rules.allowed {
        Ok(allowed) => allowed.as_ref(),
        Err(why) if required => return Err(("unknown-signer", format!("its signature cannot be checked: {why}"))),
        Err(_) => None,
    };
    match signing::verify(signature, record.payload.as_bytes(), allowed, record.at) {
        Verified::Bad(why) => Err(("bad-signature", why)),
        Verified::UnknownKey { fingerprint } if required => {
            let file = match (&trust.allowed_signers, allowed) {
                (Some(path), Some(_)) => format!("no line of {path} allows that key to sign for gate"),
                _ => "no allowed-signers file is set in [trust]".to_string(),
            };
            Err(("unknown-signer", format!("it is signed with key {fingerprint}, and {file}")))
        }
        Verified::UnknownKey { .. } => Ok(None),
        Verified::Signer { principals, fingerprint } => match permitted(record, &principals, trust) {
            Some(identity) => Ok(Some(identity)),
            None if required => Err((
                "not-permitted",
                format!(
                    "it is signed by {} (key {fingerprint}), who may not sign `{}` evidence ([trust.signers] {} = [{}])",
                    principals.join(", "),
                    record.kind,
                    record.kind,
                    trust.signers.get(&record.kind).map(|l| l.join(", ")).unwrap_or_default()
                ),
            )),
            None => Ok(None),
        },
    }
}

/// A record's time as the report shows it (the last instant for times past it).
fn shown_time(record: &Record) -> String {
    if record.at == Timestamp::MAX { "9999-12-31T00:00:00Z or later".to_string() } else { time::iso(record.at) }
}

/// Who signed, when one of the key's principals may sign this kind: the name the signers list
/// gives, else the address the record claims when the key's principals match it, else the
/// key's first principal.
fn permitted(record: &Record, principals: &[String], trust: &Trust) -> Option<String> {
    match trust.signers.get(&record.kind) {
        Some(names) => names.iter().find(|name| principals.iter().any(|p| signing::wildcard(p, name))).cloned(),
        None => {
            let claimed = record.claimed_email();
            if principals.iter().any(|p| signing::wildcard(p, &claimed)) {
                Some(claimed)
            } else {
                principals.iter().find(|p| !p.contains(['*', '?'])).or(principals.first()).cloned()
            }
        }
    }
}
