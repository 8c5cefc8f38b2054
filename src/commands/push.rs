//! `gate hook pre-push` and `gate hook pre-commit`: judge every ref a push would update the way
//! `gate check` judges a release, and block the push when any of them is blocked.
//!
//! git aborts the whole push when the pre-push hook fails, so one blocked ref stops them all;
//! each ref is still judged and reported, so the user sees every problem at once. Which refs
//! are checked, and against which base, is `[hooks.pre-push]` in the release's policy.

use std::io::Read;
use std::path::Path;

use git2::Oid;

use super::progress::TerminalProgress;
use super::{Io, Outcome, PolicyAt, check, load_policy};
use crate::cli::{Format, PreCommitArgs, PrePushArgs, Stage};
use crate::config::{Policy, PushedRef};
use crate::git::push::{self, PushLine};
use crate::git::{self, Base, BaseSource, Range, Release, Repo};
use crate::report::{self, Verdict};
use crate::{Error, Result};

pub fn pre_push(args: &PrePushArgs, config: Option<&Path>, io: &mut Io<'_>) -> Result<Outcome> {
    // All of it, before anything can fail: git writes the whole list, and a hook that stops
    // reading early leaves git writing into a closed pipe.
    let mut input = Vec::new();
    std::io::stdin().read_to_end(&mut input).map_err(|err| Error::io("cannot read git's pre-push input", &err))?;
    let lines = push::parse_input(&String::from_utf8_lossy(&input))?;
    let Some(remote) = args.remote.as_deref() else {
        return Err(Error::with_fix(
            "gate hook pre-push needs the remote's name and URL, as git passes them to a pre-push hook",
            "install the hook with `gate hook install` and let `git push` run it",
        ));
    };
    if lines.is_empty() {
        return Ok(Outcome::Pass);
    }
    let repo = Repo::discover()?;
    let mut tally = Tally::default();
    for line in &lines {
        let target = Target { remote, remote_ref: Some(&line.remote_ref), local_ref: &line.local_ref };
        if line.is_deletion() {
            say(io, &format!("gate: deletes {remote}'s {}; nothing to check", line.remote_ref))?;
            continue;
        }
        let Some(release) = push::peel_to_commit(&repo, line.local.oid()?)? else {
            say(io, &format!("gate: {}: skipped, {} is not a commit", target.title(), line.local.as_str()))?;
            continue;
        };
        let verdict = judge(&repo, config, &target, release, &BaseRule::Push(line), io)?;
        tally.add(&line.remote_ref, verdict);
    }
    tally.finish(remote, lines.len(), io)
}

pub fn pre_commit(_args: &PreCommitArgs, config: Option<&Path>, io: &mut Io<'_>) -> Result<Outcome> {
    let var = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
    let remote = var("PRE_COMMIT_REMOTE_NAME");
    let remote_branch = var("PRE_COMMIT_REMOTE_BRANCH");
    let local_branch = var("PRE_COMMIT_LOCAL_BRANCH");
    let (from, to) = (var("PRE_COMMIT_FROM_REF"), var("PRE_COMMIT_TO_REF"));
    if (from.is_none() || to.is_none()) && (remote_branch.is_none() || local_branch.is_none()) {
        return Err(Error::with_fix(
            "PRE_COMMIT_FROM_REF and PRE_COMMIT_TO_REF are not set: gate hook pre-commit runs from the pre-commit \
             framework's pre-push stage",
            "give the gate hook `stages: [pre-push]` in .pre-commit-config.yaml and run \
             `pre-commit install --hook-type pre-push`",
        ));
    }
    let repo = Repo::discover()?;
    let remote = remote.unwrap_or_else(|| repo.default_remote());
    let (release, rule, local_ref) = match (&from, &to) {
        (Some(from), Some(to)) => {
            let base = repo.commit(from)?.id();
            let rev = match &remote_branch {
                Some(remote_ref) => push::base_name(&repo, &remote, remote_ref, base),
                None => from.clone(),
            };
            (repo.commit(to)?.id(), BaseRule::From { commit: base, rev }, local_branch.clone().unwrap_or(to.clone()))
        }
        // pre-commit found none of the pushed history on the remote: it passes no range, only
        // the refs, and the whole tree is new.
        _ => {
            let local = local_branch.clone().unwrap_or_default();
            let reason = format!("{remote} has none of this history (pre-commit passes no PRE_COMMIT_FROM_REF)");
            (repo.commit(&local)?.id(), BaseRule::FirstDeploy(reason), local)
        }
    };
    let target = Target { remote: &remote, remote_ref: remote_branch.as_deref(), local_ref: &local_ref };
    let mut tally = Tally::default();
    let verdict = judge(&repo, config, &target, release, &rule, io)?;
    tally.add(remote_branch.as_deref().unwrap_or(&local_ref), verdict);
    tally.finish(&remote, 1, io)
}

/// Which ref a verdict is about.
struct Target<'a> {
    remote: &'a str,
    /// The ref the push updates on the remote, when known.
    remote_ref: Option<&'a str>,
    /// The local side, as the user typed it.
    local_ref: &'a str,
}

impl Target<'_> {
    fn title(&self) -> String {
        match self.remote_ref {
            Some(remote_ref) => format!("{} -> {} {remote_ref}", self.local_ref, self.remote),
            // `pre-commit run --hook-stage pre-push --from-ref X --to-ref Y`: no push at all.
            None => self.local_ref.to_string(),
        }
    }
}

/// How the base is found when `[hooks.pre-push] environment` is not set.
enum BaseRule<'a> {
    /// From git's pre-push line: the remote's current commit, or what the remote already has.
    Push(&'a PushLine),
    /// pre-commit's PRE_COMMIT_FROM_REF.
    From { commit: Oid, rev: String },
    /// Nothing on the remote: the whole release tree is new.
    FirstDeploy(String),
}

impl BaseRule<'_> {
    fn base(&self, repo: &Repo, policy: &Policy, remote: &str, release: Oid) -> Result<Base> {
        match self {
            BaseRule::Push(line) => {
                let checked = |branch: &str| policy.hooks.pre_push.selects(PushedRef::Branch(branch)).is_ok();
                push::base(repo, remote, line, release, &checked)
            }
            BaseRule::From { commit, rev } => {
                let tree = repo.required_commit(*commit, "PRE_COMMIT_FROM_REF")?.tree_id();
                Ok(Base { commit: Some(*commit), tree: Some(tree), source: BaseSource::Argument { rev: rev.clone() } })
            }
            BaseRule::FirstDeploy(reason) => {
                Ok(Base { commit: None, tree: None, source: BaseSource::FirstDeploy { reason: reason.clone() } })
            }
        }
    }

    /// The commit the remote ref is at before the push, when this repository has it: the
    /// policy there decides too whether the ref is checked.
    fn before(&self, repo: &Repo) -> Option<Oid> {
        match self {
            BaseRule::Push(line) if !line.remote.is_none() => {
                let id = line.remote.oid().ok()?;
                repo.git.odb().ok()?.exists(id).then_some(())?;
                push::peel_to_commit(repo, id).ok().flatten()
            }
            BaseRule::From { commit, .. } => Some(*commit),
            _ => None,
        }
    }

    /// What the report should say about the base, beyond its commit id.
    fn note(&self, target: &Target<'_>, base: &Base) -> Option<String> {
        let (remote, remote_ref) = (target.remote, target.remote_ref.unwrap_or("the pushed ref"));
        match (self, &base.source) {
            (BaseRule::Push(line), BaseSource::Argument { rev }) if line.remote.is_none() => Some(format!(
                "{remote_ref} is new on {remote}: compared with {rev}, the newest of its commits {remote} already has"
            )),
            (BaseRule::Push(_), BaseSource::Argument { .. }) => {
                Some(format!("the base is {remote}'s {remote_ref} as it is now: what this push changes"))
            }
            (BaseRule::From { .. }, _) => Some("the base is PRE_COMMIT_FROM_REF, as pre-commit passes it".to_string()),
            _ => None,
        }
    }
}

/// Judges one pushed ref: its policy, whether `[hooks.pre-push]` selects it, the base, the
/// checks, the report. `None` when the ref is skipped.
fn judge(
    repo: &Repo,
    config: Option<&Path>,
    target: &Target<'_>,
    release: Oid,
    rule: &BaseRule<'_>,
    io: &mut Io<'_>,
) -> Result<Option<Verdict>> {
    // Notes, gate's own ledger, review refs: nothing there is a release, and their trees are
    // not worth reading a policy from.
    if target.remote_ref.is_some_and(|name| PushedRef::of(name) == PushedRef::Other) {
        say(io, &format!("gate: {}: skipped, not a branch or tag", target.title()))?;
        return Ok(None);
    }
    let commit = repo.required_commit(release, "the pushed commit")?;
    let release = Release {
        rev: target.local_ref.to_string(),
        commit: commit.id(),
        tree: commit.tree_id(),
        summary: commit.summary().ok().flatten().unwrap_or_default().to_string(),
    };
    // The policy that ships with the release judges it, as with `gate check`.
    let policy = load_policy(Some(repo), config, PolicyAt::Tree(release.tree))?;
    let mut notes = Vec::new();
    if let Some(remote_ref) = target.remote_ref
        && let Err(why) = policy.hooks.pre_push.selects(PushedRef::of(remote_ref))
    {
        // A release cannot take itself out of the gate: when the policy on the remote ref
        // before the push still selects it, it is checked.
        let before = rule.before(repo).filter(|&before| selected_at(repo, config, before, remote_ref));
        if before.is_none() {
            say(io, &format!("gate: {}: skipped, {why}", target.title()))?;
            return Ok(None);
        }
        notes.push(format!(
            "checked although this release's policy skips it ({why}): the policy on {}'s {remote_ref} before this \
             push selects it",
            target.remote
        ));
    }

    let range = match &policy.hooks.pre_push.environment {
        Some(env) => {
            let target = crate::analysis::rollout::target(policy.environment(env)?);
            let commit = release.commit.to_string();
            Range { release, ..git::resolve_range(repo, Some(&commit), None, Some(target))? }
        }
        None => {
            let base = rule.base(repo, &policy, target.remote, release.commit)?;
            notes.extend(rule.note(target, &base));
            Range { environment: None, release, base }
        }
    };

    say(io, &format!("gate: {}", target.title()))?;
    let progress = TerminalProgress::new(&mut *io.err, io.err_is_terminal);
    // A push is a review: what the release still needs before its environment is said, not
    // blocking; the deploy job's `gate check --env` enforces it.
    let mut report = check::report(repo, &policy, range, config, false, &progress, &[], check::Then::Continue)?
        .at_stage(Stage::Review);
    report.notes.splice(0..0, notes);
    let mut bytes = Vec::new();
    report::write(&report, Format::Human, &mut bytes).map_err(|err| Error::io("cannot render the report", &err))?;
    bytes.push(b'\n');
    io.out.write_all(&bytes).map_err(|err| Error::io("cannot write the report", &err))?;
    Ok(Some(report.verdict()))
}

/// Whether the policy committed at `commit` selects `remote_ref`. A policy that cannot be
/// read selects everything: when in doubt, check.
fn selected_at(repo: &Repo, config: Option<&Path>, commit: Oid, remote_ref: &str) -> bool {
    let Ok(commit) = repo.required_commit(commit, "the remote's commit") else { return true };
    match load_policy(Some(repo), config, PolicyAt::Tree(commit.tree_id())) {
        Ok(policy) => policy.hooks.pre_push.selects(PushedRef::of(remote_ref)).is_ok(),
        Err(_) => true,
    }
}

/// The verdicts so far.
#[derive(Default)]
struct Tally {
    checked: usize,
    blocked: Vec<String>,
}

impl Tally {
    fn add(&mut self, name: &str, verdict: Option<Verdict>) {
        match verdict {
            None => {}
            Some(Verdict::Pass) => self.checked += 1,
            Some(Verdict::Blocked) => {
                self.checked += 1;
                self.blocked.push(name.to_string());
            }
        }
    }

    /// The last line, naming the blocked refs, and the outcome.
    fn finish(self, remote: &str, lines: usize, io: &mut Io<'_>) -> Result<Outcome> {
        if !self.blocked.is_empty() {
            say(
                io,
                &format!("gate: push to {remote} blocked by {}: git pushes none of the refs", self.blocked.join(", ")),
            )?;
            return Ok(Outcome::Blocked);
        }
        if lines > 1 {
            let refs = if self.checked == 1 { "ref" } else { "refs" };
            say(io, &format!("gate: {} {refs} checked, none blocked", self.checked))?;
        }
        Ok(Outcome::Pass)
    }
}

fn say(io: &mut Io<'_>, line: &str) -> Result<()> {
    writeln!(io.out, "{line}").map_err(|err| Error::io("cannot write to standard output", &err))
}
