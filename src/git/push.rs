//! What a push would change: git's pre-push input, and the base each pushed ref is judged
//! against.
//!
//! git writes one line per ref to the hook's standard input (`git help githooks`, pre-push):
//! `<local ref> SP <local object name> SP <remote ref> SP <remote object name>`. The local ref
//! is written as the user typed it and may contain spaces (`HEAD^{/fix bug}:refs/heads/x`), so
//! lines are read from the right, where the three fixed fields are. An object name of zeros
//! means "none": a deletion on the left, a ref the remote does not have yet on the right.

use git2::{ErrorCode, ObjectType, Oid};

use super::{Base, BaseSource, Repo, short};
use crate::{Error, Result};

/// One line of git's pre-push input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushLine {
    /// The local side as the user typed it (`refs/heads/main`, `HEAD`, `(delete)`).
    pub local_ref: String,
    pub local: ObjectName,
    /// The full name of the ref the push updates on the remote (`refs/heads/main`).
    pub remote_ref: String,
    pub remote: ObjectName,
}

impl PushLine {
    /// The push deletes the remote ref: there is no release.
    pub fn is_deletion(&self) -> bool {
        self.local.is_none()
    }
}

/// An object name as git writes it: 40 hex digits (SHA-1) or 64 (SHA-256); all zeros is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectName(String);

impl ObjectName {
    fn parse(text: &str) -> Option<ObjectName> {
        let hex = text.bytes().all(|b| b.is_ascii_hexdigit());
        (hex && (text.len() == 40 || text.len() == 64)).then(|| ObjectName(text.to_ascii_lowercase()))
    }

    pub fn is_none(&self) -> bool {
        self.0.bytes().all(|b| b == b'0')
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The object id for libgit2, which reads SHA-1 repositories only.
    pub fn oid(&self) -> Result<Oid> {
        if self.0.len() != 40 {
            return Err(Error::with_fix(
                format!("`{}` is a SHA-256 object name, and gate reads SHA-1 repositories only", self.0),
                "push with --no-verify and let CI's check judge the release",
            ));
        }
        Oid::from_str(&self.0).map_err(|err| Error::git(format!("cannot read object name `{}`", self.0), &err))
    }
}

/// Reads git's pre-push input. Blank lines are ignored; anything else that is not a well-formed
/// line is an error, since a line gate cannot read is a ref it cannot judge.
pub fn parse_input(input: &str) -> Result<Vec<PushLine>> {
    let mut lines = Vec::new();
    for (number, line) in input.lines().enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            continue;
        }
        let bad = || {
            Error::with_fix(
                format!(
                    "cannot read line {} of git's pre-push input, `{line}`: expected \
                     `<local ref> <local object> <remote ref> <remote object>`",
                    number + 1
                ),
                "`gate hook pre-push` reads what git writes to a pre-push hook; install it with `gate hook install`",
            )
        };
        let mut fields = line.rsplitn(4, ' ');
        let (Some(remote), Some(remote_ref), Some(local), Some(local_ref)) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(bad());
        };
        let (Some(local), Some(remote)) = (ObjectName::parse(local), ObjectName::parse(remote)) else {
            return Err(bad());
        };
        if local_ref.is_empty() || remote_ref.is_empty() || local.0.len() != remote.0.len() {
            return Err(bad());
        }
        lines.push(PushLine { local_ref: local_ref.to_string(), local, remote_ref: remote_ref.to_string(), remote });
    }
    Ok(lines)
}

/// The commit an object name stands for, peeling annotated tags. `Ok(None)` when the object
/// is not a commit and does not tag one (a tag of a tree or blob): there is nothing to deploy.
pub fn peel_to_commit(repo: &Repo, id: Oid) -> Result<Option<Oid>> {
    let object = repo.git.find_object(id, None).map_err(|err| match err.code() {
        ErrorCode::NotFound => repo.missing_object(id, "the pushed object"),
        _ => Error::git(format!("cannot read {}", short(id)), &err),
    })?;
    match object.peel(ObjectType::Commit) {
        Ok(commit) => Ok(Some(commit.id())),
        Err(err) if matches!(err.code(), ErrorCode::InvalidSpec | ErrorCode::Peel | ErrorCode::NotFound) => Ok(None),
        Err(err) => Err(Error::git(format!("cannot peel {} to a commit", short(id)), &err)),
    }
}

/// The base of a pushed ref when no environment is configured: what the push would change on
/// the remote.
///
/// - The remote has the ref: its current commit, which must be in this repository; when it is
///   not, someone pushed since the last fetch, and gate does not guess what they pushed.
/// - The ref is new on the remote: the newest commit of the release that the remote already
///   has, as far as the remote-tracking refs tell: the merge bases of the release with each
///   `refs/remotes/REMOTE/BRANCH`, the one that descends from the others (or the newest).
///   Only branches `checked` accepts count: a commit that reached the remote on a branch the
///   hook skips was never judged. With no shared history, the whole release tree is new: a
///   first deploy.
pub fn base(repo: &Repo, remote: &str, line: &PushLine, release: Oid, checked: &dyn Fn(&str) -> bool) -> Result<Base> {
    if !line.remote.is_none() {
        let id = line.remote.oid()?;
        let present = repo
            .git
            .odb()
            .map(|odb| odb.exists(id))
            .map_err(|err| Error::git("cannot open the object database", &err))?;
        if !present {
            return Err(Error::with_fix(
                format!(
                    "{remote}'s {} is at {}, which this repository does not have: someone pushed since you last \
                     fetched",
                    line.remote_ref,
                    short(id)
                ),
                format!("run `git fetch {remote}`, bring their commits into yours (merge or rebase), and push again"),
            ));
        }
        let Some(commit) = peel_to_commit(repo, id)? else {
            return Err(Error::with_fix(
                format!(
                    "{remote}'s {} points at {}, which is not a commit: gate cannot tell what the push changes",
                    line.remote_ref,
                    short(id)
                ),
                format!(
                    "see what it is with `git cat-file -p {id}`; to replace it anyway, push with --no-verify \
                     (CI's required check still runs)"
                ),
            ));
        };
        return argument_base(repo, commit, base_name(repo, remote, &line.remote_ref, commit));
    }
    match newest_shared(repo, remote, release, checked)? {
        Some((commit, tracking)) => {
            let rev =
                if repo.commit(&tracking).is_ok_and(|c| c.id() == commit) { tracking } else { commit.to_string() };
            argument_base(repo, commit, rev)
        }
        None => Ok(Base {
            commit: None,
            tree: None,
            source: BaseSource::FirstDeploy {
                reason: format!(
                    "{} is new on {remote} and shares no history with {remote}'s remote-tracking refs",
                    line.remote_ref
                ),
            },
        }),
    }
}

/// A base written the way `gate check --base REV` would take it, so the report's base line is
/// a command the user can repeat.
fn argument_base(repo: &Repo, commit: Oid, rev: String) -> Result<Base> {
    let tree = repo.required_commit(commit, "the base")?.tree_id();
    Ok(Base { commit: Some(commit), tree: Some(tree), source: BaseSource::Argument { rev } })
}

/// How to name the base `commit` of a push to `remote_ref`: `REMOTE/BRANCH` when that
/// remote-tracking ref is at the commit, else the commit id.
pub fn base_name(repo: &Repo, remote: &str, remote_ref: &str, commit: Oid) -> String {
    let tracking = remote_ref.strip_prefix("refs/heads/").map(|branch| format!("{remote}/{branch}"));
    let at_commit = |name: &String| {
        let reference = repo.git.find_reference(&format!("refs/remotes/{name}"));
        reference.and_then(|r| r.peel_to_commit()).is_ok_and(|c| c.id() == commit)
    };
    tracking.filter(at_commit).unwrap_or_else(|| commit.to_string())
}

/// The newest commit of `release`'s history that a remote-tracking ref of `remote` also
/// reaches, with the short name of that ref (`origin/main`).
fn newest_shared(
    repo: &Repo,
    remote: &str,
    release: Oid,
    checked: &dyn Fn(&str) -> bool,
) -> Result<Option<(Oid, String)>> {
    // A push to a URL rather than a named remote has no remote-tracking refs; and a URL is no
    // glob to match ref names with.
    let named = repo.git.remotes().is_ok_and(|names| names.iter().any(|name| name.ok().flatten() == Some(remote)));
    if !named {
        return Ok(None);
    }
    let fail = |err: git2::Error| Error::git(format!("cannot read the remote-tracking refs of {remote}"), &err);
    let mut best: Option<(Oid, String)> = None;
    let prefix = format!("refs/remotes/{remote}/");
    for reference in repo.git.references_glob(&format!("{prefix}*")).map_err(fail)? {
        let reference = reference.map_err(fail)?;
        // `origin/HEAD` names another tracking ref, which the loop reaches by itself.
        if reference.kind() == Some(git2::ReferenceType::Symbolic) {
            continue;
        }
        let branch = reference.name().ok().and_then(|name| name.strip_prefix(&prefix));
        if !branch.is_some_and(checked) {
            continue;
        }
        let Ok(tracked) = reference.peel_to_commit() else { continue };
        let shared = match repo.git.merge_base(release, tracked.id()) {
            Ok(shared) => shared,
            Err(err) if err.code() == ErrorCode::NotFound => continue,
            Err(err) => return Err(fail(err)),
        };
        let name = reference.shorthand().unwrap_or_default().to_string();
        best = match best {
            None => Some((shared, name)),
            Some((current, current_name)) => {
                if shared != current && newer(repo, shared, current)? {
                    Some((shared, name))
                } else {
                    Some((current, current_name))
                }
            }
        };
    }
    Ok(best)
}

/// Whether `a` is a better base than `b`: it descends from `b`; or, when neither descends from
/// the other, it was committed later.
fn newer(repo: &Repo, a: Oid, b: Oid) -> Result<bool> {
    let fail = |err: git2::Error| Error::git("cannot compare commits", &err);
    if repo.git.graph_descendant_of(a, b).map_err(fail)? {
        return Ok(true);
    }
    if repo.git.graph_descendant_of(b, a).map_err(fail)? {
        return Ok(false);
    }
    let time = |id: Oid| repo.git.find_commit(id).map(|c| c.time().seconds()).map_err(fail);
    Ok(time(a)? > time(b)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "1111111111111111111111111111111111111111";
    const B: &str = "2222222222222222222222222222222222222222";
    const ZERO: &str = "0000000000000000000000000000000000000000";

    #[test]
    fn reads_lines_from_the_right_so_the_local_ref_may_hold_spaces() {
        let input =
            format!("HEAD^{{/fix the bug}} {A} refs/heads/fix {B}\nrefs/heads/main {A} refs/heads/main {ZERO}\n");
        let lines = parse_input(&input).unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].local_ref, "HEAD^{/fix the bug}");
        assert_eq!(lines[0].local.as_str(), A);
        assert_eq!(lines[0].remote_ref, "refs/heads/fix");
        assert_eq!(lines[0].remote.as_str(), B);
        assert!(lines[1].remote.is_none());
        assert!(!lines[1].is_deletion());
    }

    #[test]
    fn takes_sha256_names_and_deletions() {
        let zero = "0".repeat(64);
        let remote = "ab".repeat(32);
        let lines = parse_input(&format!("(delete) {zero} refs/heads/old {remote}\n")).unwrap();
        assert!(lines[0].is_deletion());
        assert_eq!(lines[0].remote.as_str(), remote);
        assert!(lines[0].remote.oid().is_err(), "libgit2 reads SHA-1 only: say so rather than misread");
    }

    #[test]
    fn empty_input_is_nothing_to_push() {
        assert!(parse_input("").unwrap().is_empty());
        assert!(parse_input("\n\n").unwrap().is_empty());
    }

    #[test]
    fn malformed_lines_are_errors() {
        for bad in [
            format!("refs/heads/main {A} refs/heads/main"),
            format!("refs/heads/main {A} refs/heads/main 1234"),
            format!("refs/heads/main {A} refs/heads/main {}", "0".repeat(64)),
            format!("{A} refs/heads/main {B}"),
            "garbage".to_string(),
        ] {
            assert!(parse_input(&bad).is_err(), "{bad:?} was accepted");
        }
    }
}
