//! `gate waive`: record a waiver for the release tree, as evidence.
//!
//! The waiver is bound to the release tree like any evidence, so it applies to this release
//! (and any commit with the same tree) and to nothing else, and the tree does not change, so
//! its other evidence stays. Long-lived exceptions belong in gate.toml's `[[waivers]]`, which,
//! like any policy change, take effect once deployed. Nothing waives `policy-change`.

use std::path::Path;

use super::{Io, Outcome};
use crate::cli::WaiveArgs;
use crate::config::{compile_glob, did_you_mean, parse_date};
use crate::evidence::{self, Record, WaiverTerms};
use crate::git::{Repo, short};
use crate::{Error, Result, checks, time};

/// The check no waiver applies to.
const UNWAIVABLE: &str = "policy-change";

pub fn run(args: &WaiveArgs, _config: Option<&Path>, io: &mut Io<'_>) -> Result<Outcome> {
    if checks::find(&args.check).is_none() {
        let hint = did_you_mean(&args.check, checks::ids())
            .map_or_else(|| "`gate checks` lists every check".to_string(), |c| format!("did you mean `{c}`?"));
        return Err(Error::with_fix(format!("unknown check `{}`", args.check), hint));
    }
    if args.check == UNWAIVABLE {
        return Err(Error::with_fix(
            format!("{UNWAIVABLE} cannot be waived: a release must not waive the check that watches its own policy"),
            "have the policy change approved: gate evidence add approval --for policy-change --detail \"...\"",
        ));
    }
    if args.reason.trim().is_empty() {
        return Err(Error::with_fix("a waiver needs a reason", "say why this exception is acceptable with --reason"));
    }
    compile_glob(&args.path)
        .map_err(|err| Error::with_fix(format!("invalid path glob `{}`: {}", args.path, err.kind()), "fix --path"))?;
    let expires = parse_date(&args.expires).map_err(|message| Error::with_fix(message, "fix --expires"))?;
    let now = time::now()?;
    if expires < now.to_zoned(jiff::tz::TimeZone::UTC).date() {
        return Err(Error::with_fix(
            format!("--expires {expires} is in the past"),
            "give the last day the waiver should apply",
        ));
    }

    let repo = Repo::discover()?;
    let commit = repo.commit(args.release.as_deref().unwrap_or("HEAD"))?;
    let actor = repo.actor();
    let mut record = Record::new("waiver", commit.tree_id(), commit.id(), &actor, now);
    record.detail = Some(args.reason.clone());
    record.waiver =
        Some(WaiverTerms { check: args.check.clone(), path: args.path.clone(), expires: expires.to_string() });
    super::signing::sign_if_asked(&repo, &args.signing, &mut record)?;
    evidence::add(&repo, &record, &actor, now)?;
    writeln!(
        io.out,
        "recorded a waiver for {} on {} until {expires} for tree {} (commit {}) by {}{}\n\
         share it: gate sync (or: git push {} '{}')\n\
         note: it applies to this release tree only; a long-lived exception belongs in gate.toml's [[waivers]]",
        args.check,
        args.path,
        short(commit.tree_id()),
        short(commit.id()),
        record.by,
        if record.signature.is_some() { " (signed)" } else { "" },
        repo.default_remote(),
        evidence::REFSPEC
    )
    .map_err(|err| Error::io("cannot write", &err))?;
    Ok(Outcome::Pass)
}
