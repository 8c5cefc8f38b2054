//! `gate record`: record a successful deploy in the ledger.
//!
//! The check for the environment runs first, as `gate check --env ENV` would: a release it
//! blocks is refused (exit 1, nothing written), so the ledger never says an environment runs a
//! release that should not have gone there. `--force --reason TEXT` records it anyway; the
//! reason stays in the ledger entry and in the deploy record, and `gate status` and the next
//! check show it. The first deploy recorded for an environment is adoption (what it already
//! runs) and is recorded without a check: there is nothing before it to compare with.
//!
//! `gate deploy` records through [`write`] too, once its check passed and its command succeeded.

use std::io::Write;
use std::path::Path;

use git2::Commit;

use super::{Io, Outcome, PolicyAt, check, load_policy};
use crate::analysis::Silent;
use crate::cli::{Format, RecordArgs, SigningArgs};
use crate::evidence::{self, CommandRun, Record};
use crate::git::{self, Deploy, Repo, ledger, short};
use crate::report::{self, Verdict};
use crate::{Error, Result, time};

pub fn run(args: &RecordArgs, config: Option<&Path>, io: &mut Io<'_>) -> Result<Outcome> {
    let repo = Repo::discover()?;
    let rev = args.release.as_deref().unwrap_or("HEAD");
    let commit = repo.commit(rev)?;
    let policy = load_policy(Some(&repo), config, PolicyAt::Tree(commit.tree_id()))?;
    let env = policy.environment(&args.env)?;
    let target = crate::analysis::rollout::target(env);
    ledger::writable(target, commit.id())?;
    let forced = match &args.reason {
        Some(reason) if reason.trim().is_empty() => {
            return Err(Error::with_fix("--reason is empty", "say why the release is recorded past the check"));
        }
        reason => reason.as_deref(),
    };

    let range = git::resolve_range(&repo, Some(rev), None, Some(target))?;
    if let Some(deploy) = already_recorded(&range) {
        say_already_recorded(deploy, io.out)?;
        return Ok(Outcome::Pass);
    }
    // The first deploy recorded for an environment is adoption: it says what the environment
    // runs already, and every later deploy is checked against it. There is nothing to compare it
    // with, no staging soak or test run to ask of what is already running.
    let adoption = range.base.is_first_deploy();
    let report = check::report(&repo, &policy, range, config, false, &Silent, &[], check::Then::Exit)?;
    let blocked = report.verdict() == Verdict::Blocked && !adoption;
    if blocked && forced.is_none() {
        let mut bytes = Vec::new();
        report::write(&report, Format::Human, &mut bytes).map_err(|err| Error::io("cannot render the report", &err))?;
        io.out.write_all(&bytes).map_err(|err| Error::io("cannot write the report", &err))?;
        writeln!(
            io.err,
            "gate: refused: the check for {} blocks {} ({}); nothing was recorded. Fix the findings, or record it anyway \
             with --force --reason TEXT",
            env.name,
            short(commit.id()),
            report.verdict_reason()
        )
        .map_err(|err| Error::io("cannot write", &err))?;
        return Ok(Outcome::Blocked);
    }
    let forced = forced.filter(|_| blocked).map(|reason| (reason, report.verdict_reason()));
    let entry = Entry { target, commit: &commit, forced, adoption, run: None };
    write(&repo, entry, &args.signing, io.out)?;
    Ok(Outcome::Pass)
}

/// A deploy the check let through (or that was forced past it), about to be recorded.
pub(super) struct Entry<'a> {
    pub target: ledger::Target<'a>,
    pub commit: &'a Commit<'a>,
    /// Recorded past a blocking check: the reason given, and what blocked.
    pub forced: Option<(&'a str, String)>,
    /// The first deploy recorded for the environment: what it runs already.
    pub adoption: bool,
    /// The deploy command gate ran (`gate deploy`).
    pub run: Option<CommandRun>,
}

/// The last deploy of the range's environment, when it is the release itself: recording it
/// again would add nothing.
pub(super) fn already_recorded(range: &git::Range) -> Option<&Deploy> {
    match &range.base.source {
        git::BaseSource::LastDeploy { deploy } if deploy.commit == range.release.commit => Some(deploy),
        _ => None,
    }
}

pub(super) fn say_already_recorded(deploy: &Deploy, out: &mut dyn Write) -> Result<()> {
    writeln!(
        out,
        "already recorded: {} is the last deploy of {} ({} by {}); nothing written",
        short(deploy.commit),
        deploy.environment,
        time::human(deploy.at),
        deploy.by
    )
    .map_err(|err| Error::io("cannot write", &err))
}

/// Records the deploy: the ledger entry and the deploy record on the tree, then says so.
pub(super) fn write(repo: &Repo, entry: Entry<'_>, signing: &SigningArgs, out: &mut dyn Write) -> Result<()> {
    let Entry { target, commit, forced, adoption, run } = entry;
    let now = time::now()?;
    let actor = repo.actor();
    // The same fact as evidence on the tree, so `gate evidence list` shows where a tree ran; it
    // is signed first, so a key that cannot sign leaves the ledger untouched.
    let mut record = Record::new("deploy", commit.tree_id(), commit.id(), &actor, now);
    record.environment = Some(target.name.to_string());
    record.forced = forced.as_ref().map(|(reason, _)| reason.to_string());
    record.run = run;
    super::signing::sign_if_asked(repo, signing, &mut record)?;
    let deploy = ledger::record(repo, target, commit, &actor, now, forced.as_ref().map(|(reason, _)| *reason))?;
    evidence::add(repo, &record, &actor, now)?;
    let forced_note = match &forced {
        Some((reason, blocked)) => format!("\nforced past a blocking check ({blocked}): {reason}"),
        None if adoption => format!(
            "\nthe first deploy recorded for {}: what it runs now; every later deploy is checked against it",
            target.name
        ),
        None => String::new(),
    };
    writeln!(
        out,
        "recorded: {} deployed to {} by {} at {}{forced_note}\nshare it: gate sync (or: git push {remote} '{}' '{}')",
        short(deploy.commit),
        deploy.environment,
        deploy.by,
        time::human(deploy.at),
        ledger::REFSPEC,
        evidence::REFSPEC,
        remote = repo.default_remote(),
    )
    .map_err(|err| Error::io("cannot write", &err))
}
