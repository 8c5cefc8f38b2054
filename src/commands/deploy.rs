//! `gate deploy --env ENV [--release REV] -- COMMAND...`: check, run, record, as one step.
//!
//! 1. The environment's lease is taken (`git::lease`), so that nothing else deploys to it until
//!    this deploy ends; a lease held by someone else refuses the deploy (exit 2) or, with
//!    `--wait`, waits for it.
//! 2. The deploy-stage check runs, as `gate check --env ENV --stage deploy` would, against the
//!    last deploy as it is under the lease. Its report goes to standard error, so standard
//!    output carries only what COMMAND writes. A blocked check (1) or an error (2) ends it:
//!    COMMAND never runs.
//! 3. COMMAND runs with gate's standard streams. When it fails, nothing is recorded and gate
//!    exits with its status.
//! 4. The deploy is recorded as `gate record` records it (`record::write`), for the commit that
//!    was checked, without checking it again; the lease is given back whatever happened.
//!
//! Ctrl-C reaches COMMAND and gate alike and ends both: nothing is recorded, and the lease left
//! behind is taken over by the next deploy on this host once it sees gate's process gone (on
//! Linux), or by anyone once it expires (`--lease-timeout`).

use std::path::Path;
use std::time::Duration;

use super::progress::TerminalProgress;
use super::{Io, Outcome, PolicyAt, check, child, load_policy, record};
use crate::cli::{DeployArgs, Format, Stage};
use crate::git::lease::{self, Lease, Released, Stale, Taken};
use crate::git::{self, Repo, ledger, short};
use crate::report::{self, Verdict};
use crate::{Error, Result, time};

/// How often a deploy that waits for the lease looks again.
const WAIT_POLL: Duration = Duration::from_millis(200);

pub fn run(args: &DeployArgs, config: Option<&Path>, io: &mut Io<'_>) -> Result<Outcome> {
    let timeout =
        crate::config::parse_duration(&args.lease_timeout).ok().filter(|d| !d.is_zero()).ok_or_else(|| {
            Error::with_fix(
                format!("--lease-timeout `{}` is not a duration", args.lease_timeout),
                "write it like 30m, 1h or 2h 30m: longer than the longest deploy",
            )
        })?;
    let repo = Repo::discover()?;
    let rev = args.release.as_deref().unwrap_or("HEAD");
    // Resolved once: a COMMAND that moves HEAD (a pull, a tag) does not change what is recorded.
    let commit = repo.commit(rev)?;
    let policy = load_policy(Some(&repo), config, PolicyAt::Tree(commit.tree_id()))?;
    let env = policy.environment(&args.env)?;
    let target = crate::analysis::rollout::target(env);
    // An environment that follows deploy tags cannot be recorded: say so before deploying.
    ledger::writable(target, commit.id())?;
    if args.release.is_none()
        && let Some(warning) = child::local_changes(&repo, commit.tree_id())?
    {
        writeln!(io.err, "gate: warning: {warning}").map_err(|err| Error::io("cannot write", &err))?;
    }

    let lease = take_lease(&repo, &env.name, commit.id(), timeout, args.wait, io)?;
    let outcome = under_lease(&repo, args, config, &policy, &lease, commit.id(), io);
    // A lease someone took over once it expired stays theirs; the outcome says what that means.
    let warning = match lease::release(&repo, &lease) {
        Ok(Released::Done | Released::Lost) => None,
        Err(err) => Some(format!(
            "the lease on {} was not given back ({err}); it expires {}, or remove it: git update-ref -d {}",
            env.name,
            time::human(lease.expires),
            lease::ref_name(&env.name)
        )),
    };
    if let Some(warning) = warning {
        writeln!(io.err, "gate: warning: {warning}").map_err(|err| Error::io("cannot write", &err))?;
    }
    outcome
}

/// Steps 2 to 4, while the lease is held.
fn under_lease(
    repo: &Repo,
    args: &DeployArgs,
    config: Option<&Path>,
    policy: &crate::config::Policy,
    lease: &Lease,
    release: git2::Oid,
    io: &mut Io<'_>,
) -> Result<Outcome> {
    let env = policy.environment(&args.env)?;
    let target = crate::analysis::rollout::target(env);
    let range = git::resolve_range(repo, Some(&release.to_string()), None, Some(target))?;
    let range = git::Range {
        release: git::Release { rev: args.release.clone().unwrap_or_else(|| "HEAD".to_string()), ..range.release },
        ..range
    };
    let adoption = range.base.is_first_deploy();
    let already = record::already_recorded(&range).cloned();
    let mut report = {
        let progress = TerminalProgress::new(&mut *io.err, io.err_is_terminal);
        check::report(repo, policy, range, config, args.deny_warnings, &progress, &[], check::Then::Continue)?
            .at_stage(Stage::Deploy)
    };
    report.quiet = args.quiet;
    let mut bytes = Vec::new();
    report::write(&report, Format::Human, &mut bytes).map_err(|err| Error::io("cannot render the report", &err))?;
    io.err.write_all(&bytes).map_err(|err| Error::io("cannot write the report", &err))?;
    let say =
        |io: &mut Io<'_>, text: String| writeln!(io.err, "gate: {text}").map_err(|err| Error::io("cannot write", &err));
    if report.verdict() == Verdict::Blocked {
        say(
            io,
            format!(
                "not deployed: the check for {} blocks {} ({}); the deploy command did not run",
                env.name,
                short(release),
                report.verdict_reason()
            ),
        )?;
        return Ok(Outcome::Blocked);
    }

    say(io, format!("deploying {} to {}: {}", short(release), env.name, child::shown(&args.command)))?;
    io.out.flush().map_err(|err| Error::io("cannot write", &err))?;
    let ended = child::run(&args.command)?;
    if !ended.succeeded() {
        say(
            io,
            format!(
                "the deploy command failed ({}); nothing was recorded, and {} may be partly deployed: the ledger \
                 still says it runs {}",
                ended.describe(),
                env.name,
                already_or_last(repo, target)?
            ),
        )?;
        return Ok(Outcome::Exit(ended.exit_code()));
    }

    // The check judged the release against the last deploy as it was under this lease; a
    // lease lost meanwhile (it expired and was taken over) means another deploy may have run
    // in between, and what the environment runs now is not known.
    if !lease::is_held(repo, lease)? {
        let holder = lease::read(repo, &env.name)?.map(|l| format!(" by {}", l.holder())).unwrap_or_default();
        return Err(Error::with_fix(
            format!(
                "the deploy command succeeded, but the lease on {} expired while it ran and was taken over{holder}; \
                 another deploy may have run meanwhile, so nothing was recorded",
                env.name
            ),
            format!(
                "find out what {} runs, then record it: gate record --env {} --release {release} (and give deploys a \
                 longer --lease-timeout)",
                env.name, env.name
            ),
        ));
    }
    if let Some(deploy) = &already {
        return record::say_already_recorded(deploy, io.err).map(|()| Outcome::Pass);
    }
    let commit = repo.git.find_commit(release).map_err(|err| Error::git("cannot read the release", &err))?;
    let entry =
        record::Entry { target, commit: &commit, forced: None, adoption, run: Some(ended.record(&args.command)) };
    record::write(repo, entry, &args.signing, io.err).map_err(|err| match err {
        Error::Message { what, fix } => Error::with_fix(
            format!("the deploy command succeeded, but the deploy was not recorded: {what}"),
            format!(
                "{}then record it: gate record --env {} --release {release}",
                fix.map(|f| format!("{f}; ")).unwrap_or_default(),
                env.name
            ),
        ),
        other => other,
    })?;
    Ok(Outcome::Pass)
}

/// What the ledger says the environment runs, for the message of a failed deploy.
fn already_or_last(repo: &Repo, target: ledger::Target<'_>) -> Result<String> {
    Ok(match ledger::last_deploy(repo, target)? {
        Some(deploy) => format!("{} (recorded {})", short(deploy.commit), time::human(deploy.at)),
        None => "nothing (no deploy is recorded)".to_string(),
    })
}

/// Takes the lease on `environment`, waiting for it with `wait`.
fn take_lease(
    repo: &Repo,
    environment: &str,
    release: git2::Oid,
    timeout: jiff::SignedDuration,
    wait: bool,
    io: &mut Io<'_>,
) -> Result<Lease> {
    let actor = repo.actor();
    let mut said_waiting = false;
    loop {
        let now = time::now()?;
        match lease::acquire(repo, environment, &actor, release, now, timeout)? {
            Taken::Held { lease, from } => {
                if let Some((old, why)) = from {
                    let why = match why {
                        Stale::Expired => format!("it expired {}", time::human(old.expires)),
                        Stale::HolderGone => format!("process {} is no longer running", old.pid),
                    };
                    writeln!(
                        io.err,
                        "gate: took over the lease on {environment} from {}, who was deploying {}: {why}; that \
                         deploy may not have finished: check what {environment} runs",
                        old.holder(),
                        short(old.release)
                    )
                    .map_err(|err| Error::io("cannot write", &err))?;
                }
                return Ok(lease);
            }
            Taken::Busy(other) if wait => {
                if !said_waiting {
                    writeln!(io.err, "gate: waiting for the lease on {environment}: {}", lease::describe(&other, now))
                        .map_err(|err| Error::io("cannot write", &err))?;
                    said_waiting = true;
                }
                std::thread::sleep(WAIT_POLL);
            }
            Taken::Busy(other) => {
                return Err(Error::with_fix(
                    format!(
                        "another deploy to {environment} is running: the lease is {}",
                        lease::describe(&other, now)
                    ),
                    format!(
                        "wait for it to end (or pass --wait); if it is dead, remove it: git update-ref -d {}",
                        lease::ref_name(environment)
                    ),
                ));
            }
        }
    }
}
