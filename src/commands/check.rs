//! `gate check`: the verdict on a release.

use std::path::Path;

use super::progress::TerminalProgress;
use super::{Io, Outcome, Session, write_atomically};
use crate::analysis::{Analysis, Inputs, Needs, Progress, coverage, wants_references};
use crate::checks::{self, Context, run_checks_except};
use crate::cli::{CheckArgs, Format, Stage};
use crate::config::Policy;
use crate::git::{self, BaseSource, BlobStore, Repo, ledger};
use crate::report::{self, Report, Verdict};
use crate::{Error, Result, evidence, time};

pub fn run(args: &CheckArgs, config: Option<&Path>, io: &mut Io<'_>) -> Result<Outcome> {
    let Session { repo, policy, range } = Session::open(&args.range, config)?;
    let progress = TerminalProgress::new(&mut *io.err, io.err_is_terminal && args.format == Format::Human);
    let stage = args.stage.unwrap_or(if args.range.env.is_some() { Stage::Deploy } else { Stage::Review });
    let mut report =
        report(&repo, &policy, range, config, args.deny_warnings, &progress, &[], Then::Exit)?.at_stage(stage);
    report.quiet = args.quiet;
    let mut bytes = Vec::new();
    report::write(&report, args.format, &mut bytes).map_err(|err| Error::io("cannot render the report", &err))?;
    match &args.output {
        Some(path) => write_atomically(path, &bytes)?,
        None => io.out.write_all(&bytes).map_err(|err| Error::io("cannot write the report", &err))?,
    }
    Ok(outcome(&report))
}

/// What the command does once the report is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Then {
    /// Writes it and exits: what the checks read is left for the process's end to free.
    /// Freeing the tree's index, the tests' references and the blob facts of a 100,000-file
    /// tree one allocation at a time was a seventh of a warm run.
    Exit,
    /// Goes on (to the next release, the next pushed ref, the deploy command): it is freed.
    Continue,
}

/// Runs every check on a resolved range and returns the report: the whole of `gate check` but
/// for choosing the range and writing the result, so the hooks judge a pushed ref exactly as
/// `gate check` would.
#[expect(clippy::too_many_arguments, reason = "the range and policy, how to report, and what the caller does after")]
pub(super) fn report(
    repo: &Repo,
    policy: &Policy,
    range: git::Range,
    config: Option<&Path>,
    deny_warnings: bool,
    progress: &dyn Progress,
    skip: &[&str],
    then: Then,
) -> Result<Report> {
    let now = time::now()?;
    let store = BlobStore::open(repo);
    let needs = checks::needs(policy);
    let planner = Planner { policy, store: &store, needs: &needs };
    let (mut changes, tree) = git::changes(repo, &range, &store, Some(&planner))?;
    // A symlinked script or config file is analysed through its target inside the tree.
    let paths = &policy.paths;
    let deployable =
        |path: &str| (paths.scripts.matches(path) || paths.config.matches(path)) && !paths.ignore.matches(path);
    let links = git::follow_links(repo, &store, range.release.tree, &mut changes, &deployable)?;
    let evidence = evidence::for_tree(repo, range.release.tree)?;
    let analysis = Analysis::new(Inputs {
        repo,
        store: &store,
        policy,
        catalog: &checks::Registry,
        range: &range,
        changes: &changes,
        evidence: &evidence,
        progress,
        needs,
        now,
        real_clock: !time::clock_overridden(),
        links: &links,
        tree,
    });
    // The checks see only the evidence that counts; `evidence-trust` reports the rest.
    let trusted = analysis.evidence()?;
    let cx = Context { policy, range: &range, changes: &changes, evidence: trusted, analysis: &analysis, now };
    let results = run_checks_except(&cx, skip)?;
    store.save();

    let mut notes = notes(repo, &range);
    notes.extend(super::uncommitted_policy_note(repo, config, range.release.tree)?);
    notes.extend(results.notes.iter().cloned());
    let config_changes = report::config_changes(policy, analysis.config_files()?);
    let rollback = analysis.rollback()?.cloned();
    if then == Then::Exit {
        std::mem::forget(analysis);
        std::mem::forget(store);
    }
    let report = Report {
        notes,
        files_changed: changes.len(),
        range,
        results,
        deny_warnings,
        quiet: false,
        stage: Stage::Deploy,
        still_needs: Vec::new(),
        config_changes,
        rollback,
    };
    Ok(report.masked())
}

/// What the checks will ask of the changed files' blobs, for the pass that reads them first.
struct Planner<'p> {
    policy: &'p Policy,
    store: &'p BlobStore<'p>,
    needs: &'p Needs,
}

impl git::Planner for Planner<'_> {
    fn plan(&self, changes: &git::ChangeSet) -> (git::RefsFn, Vec<bool>) {
        checks::plan(&checks::Plan { policy: self.policy, changes, store: self.store });
        // The references the tree's read will want of the release's changed files: with every
        // file of the tree when near-duplicate compares the paths the release adds.
        let everything = self.needs.all_files && changes.adds_paths();
        let wanted = changes
            .iter()
            .map(|c| c.new.is_some() && wants_references(&c.path, &self.policy.paths, self.needs, everything))
            .collect();
        (coverage::references, wanted)
    }
}

/// The exit a report's verdict calls for.
pub(super) fn outcome(report: &Report) -> Outcome {
    match report.verdict() {
        Verdict::Pass => Outcome::Pass,
        Verdict::Blocked => Outcome::Blocked,
    }
}

/// What the reader must know to trust the verdict.
fn notes(repo: &Repo, range: &git::Range) -> Vec<String> {
    let mut notes = Vec::new();
    if let BaseSource::FirstDeploy { reason } = &range.base.source {
        let mut note = format!("{reason}: the whole release tree is checked as a first deploy");
        if range.environment.is_some() {
            note.push_str(&format!(
                "; if deploys are recorded on the remote, fetch them first: git fetch {} '{}'",
                repo.default_remote(),
                ledger::REFSPEC
            ));
        }
        notes.push(note);
    }
    if let BaseSource::LastDeploy { deploy } = &range.base.source
        && let Some(reason) = &deploy.forced
    {
        notes.push(format!(
            "the last deploy of {} ({}) was recorded past a blocking check by {}: {reason}",
            deploy.environment,
            git::short(deploy.commit),
            deploy.by
        ));
    }
    if time::clock_overridden() {
        notes.push(format!("the clock is set by {}; times are not the real time", time::NOW_VAR));
    }
    notes
}
