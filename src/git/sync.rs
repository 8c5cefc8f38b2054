//! Sharing the ledger and evidence with a remote: fetch, merge, push, and again when the remote
//! moved meanwhile.
//!
//! Both refs only ever grow, so a merge never drops anything:
//!
//! - **evidence notes** merge as a union of records: for each annotated object, the local
//!   note's lines, then the remote's lines the local note lacks (a line both have once counts
//!   once). The result is a notes commit with both tips as parents.
//! - **a ledger** that diverged keeps the remote's history as it is and re-applies on top the
//!   local entries the remote lacks, oldest first, each with its message, tree and deployed
//!   commit unchanged. The remote's refs then only fast-forward, so a plain `git fetch` of them
//!   keeps working everywhere.
//!
//! Fetch and push run `git` itself, so remotes, credentials and transports are git's own.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::process::Command;

use git2::{Commit, ObjectType, Oid, Tree, TreeWalkMode, TreeWalkResult};

use super::ledger::{self, backoff, compare_and_swap, is_conflict, is_root, parse_entry};
use super::{Repo, short};
use crate::{Error, Result};

/// How many fetch-merge-push rounds before giving up on a remote that keeps moving.
const MAX_ROUNDS: u32 = 16;

/// What one sync did to one ref.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Synced {
    pub refname: String,
    pub what: String,
}

/// Syncs `refs/gate/*` and `notes_ref` with `remote` (without pushing when `push` is false: a
/// read-only job). Returns what happened to each ref.
pub fn sync(repo: &Repo, remote: &str, notes_ref: &str, push_too: bool) -> Result<Vec<Synced>> {
    for round in 0..MAX_ROUNDS {
        let remote_tips = fetch(repo, remote, notes_ref)?;
        let mut report = Vec::new();
        let mut retry = false;
        for (refname, staged) in &remote_tips {
            let outcome = if refname == notes_ref {
                merge_notes(repo, refname, *staged, remote)
            } else if let Some(environment) = refname.strip_prefix(ledger::PREFIX) {
                merge_ledger(repo, refname, environment, *staged)
            } else {
                merge_fast_forward(repo, refname, *staged)
            };
            match outcome {
                Ok(what) => report.push(Synced { refname: refname.clone(), what }),
                // Another gate on this machine moved the ref meanwhile: start the round again.
                Err(Conflict::Local) => retry = true,
                Err(Conflict::Fatal(err)) => return Err(err),
            }
        }
        if retry {
            backoff(round);
            continue;
        }
        if !push_too {
            return Ok(report);
        }
        let local = local_refs(repo, notes_ref)?;
        match push(repo, remote, &local)? {
            Pushed::Done => {
                for refname in local.iter().filter(|r| !remote_tips.contains_key(*r)) {
                    report.push(Synced { refname: refname.clone(), what: format!("new on {remote}") });
                }
                report.sort_by(|a, b| a.refname.cmp(&b.refname));
                return Ok(report);
            }
            Pushed::Rejected => backoff(round),
        }
    }
    Err(Error::with_fix(
        format!("{remote} kept moving while gate synced with it ({MAX_ROUNDS} rounds)"),
        "another machine is writing in a loop; run gate sync again when it stops",
    ))
}

enum Conflict {
    Local,
    Fatal(Error),
}

impl From<Error> for Conflict {
    fn from(err: Error) -> Self {
        Conflict::Fatal(err)
    }
}

fn git(repo: &Repo, args: &[&str]) -> Result<std::process::Output> {
    Command::new("git").arg("--git-dir").arg(repo.git_dir()).args(args).output().map_err(|err| {
        Error::with_fix(format!("cannot run git: {err}"), "install git; gate sync runs it to fetch and push")
    })
}

/// Where a remote's refs are fetched to before they are merged.
fn staging_prefix(remote: &str) -> String {
    let name: String =
        remote.chars().map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' }).collect();
    format!("refs/gate-sync/{name}/")
}

/// Fetches the remote's `refs/gate/*` and notes ref; returns each remote ref and its tip.
fn fetch(repo: &Repo, remote: &str, notes_ref: &str) -> Result<BTreeMap<String, Oid>> {
    let listed = git(repo, &["ls-remote", remote, &format!("{}*", "refs/gate/"), notes_ref])?;
    if !listed.status.success() {
        return Err(Error::with_fix(
            format!("cannot reach {remote}: {}", String::from_utf8_lossy(&listed.stderr).trim()),
            "check the remote's name or URL (git remote -v) and your access to it",
        ));
    }
    let mut tips = BTreeMap::new();
    for line in String::from_utf8_lossy(&listed.stdout).lines() {
        let Some((id, name)) = line.split_once('\t') else { continue };
        let is_ours = name == notes_ref || (name.starts_with("refs/gate/") && !name.ends_with("^{}"));
        if let (true, Ok(id)) = (is_ours, Oid::from_str(id.trim())) {
            tips.insert(name.trim().to_string(), id);
        }
    }
    if tips.is_empty() {
        return Ok(tips);
    }
    let prefix = staging_prefix(remote);
    let refspecs: Vec<String> = tips.keys().map(|name| format!("+{name}:{prefix}{name}")).collect();
    let mut args = vec!["fetch", "--quiet", "--no-tags", "--no-write-fetch-head", remote];
    args.extend(refspecs.iter().map(String::as_str));
    let fetched = git(repo, &args)?;
    if !fetched.status.success() {
        return Err(Error::with_fix(
            format!("cannot fetch gate's refs from {remote}: {}", String::from_utf8_lossy(&fetched.stderr).trim()),
            format!("check your access to {remote}"),
        ));
    }
    // What was fetched, which is at least as new as what was listed.
    for (name, tip) in tips.iter_mut() {
        if let Ok(id) = repo.git.refname_to_id(&format!("{prefix}{name}")) {
            *tip = id;
        }
    }
    Ok(tips)
}

fn local_tip(repo: &Repo, refname: &str) -> Result<Option<Oid>, Conflict> {
    match repo.git.refname_to_id(refname) {
        Ok(id) => Ok(Some(id)),
        Err(err) if err.code() == git2::ErrorCode::NotFound => Ok(None),
        Err(err) => Err(Error::git(format!("cannot read {refname}"), &err).into()),
    }
}

fn descends(repo: &Repo, from: Oid, ancestor: Oid) -> Result<bool> {
    Ok(from == ancestor
        || repo.git.graph_descendant_of(from, ancestor).map_err(|e| Error::git("cannot compare histories", &e))?)
}

/// Moves `refname` from `expected` to `new`; a lost race is a local conflict.
fn swap(repo: &Repo, refname: &str, expected: Option<Oid>, new: Oid) -> Result<(), Conflict> {
    match compare_and_swap(repo, refname, expected.unwrap_or(Oid::ZERO_SHA1), new, "gate sync") {
        Ok(()) => Ok(()),
        Err(err) if is_conflict(&err) => Err(Conflict::Local),
        Err(err) => Err(Error::git(format!("cannot update {refname}"), &err).into()),
    }
}

/// The cases every ref has before any merging: nothing here, the same, one side ahead.
fn trivially(repo: &Repo, refname: &str, local: Option<Oid>, remote: Oid) -> Result<Option<String>, Conflict> {
    let Some(local) = local else {
        swap(repo, refname, None, remote)?;
        return Ok(Some("fetched".to_string()));
    };
    if local == remote || descends(repo, local, remote)? {
        return Ok(Some(if local == remote { "up to date" } else { "ahead" }.to_string()));
    }
    if descends(repo, remote, local)? {
        swap(repo, refname, Some(local), remote)?;
        return Ok(Some("fast-forwarded".to_string()));
    }
    Ok(None)
}

fn merge_fast_forward(repo: &Repo, refname: &str, remote: Oid) -> Result<String, Conflict> {
    let local = local_tip(repo, refname)?;
    match trivially(repo, refname, local, remote)? {
        Some(what) => Ok(what),
        None => Err(Error::with_fix(
            format!("{refname} differs here and on the remote, and gate does not know how to merge it"),
            format!("compare them (git log {refname} vs the remote's) and keep one"),
        )
        .into()),
    }
}

/// The first-parent chain of ledger entries from `tip`, newest first, and the root if reached.
fn chain<'r>(repo: &'r Repo, tip: Oid, environment: &str) -> Result<Vec<Commit<'r>>> {
    let mut entries = Vec::new();
    let mut next = Some(tip);
    while let Some(id) = next {
        let commit =
            repo.git.find_commit(id).map_err(|e| Error::git(format!("cannot read ledger entry {}", short(id)), &e))?;
        if is_root(&commit) {
            break;
        }
        parse_entry(repo, &commit, environment)?;
        next = commit.parent_id(0).ok();
        entries.push(commit);
    }
    Ok(entries)
}

/// What makes two entries the same deploy, whatever their commit ids: their message.
fn key(entry: &Commit<'_>) -> Vec<u8> {
    entry.message_bytes().to_vec()
}

fn merge_ledger(repo: &Repo, refname: &str, environment: &str, remote: Oid) -> Result<String, Conflict> {
    let local = local_tip(repo, refname)?;
    if let Some(what) = trivially(repo, refname, local, remote)? {
        return Ok(what);
    }
    let local = local.unwrap_or_else(|| unreachable!("handled above"));
    let theirs = chain(repo, remote, environment)?;
    let known: HashSet<Vec<u8>> = theirs.iter().map(key).collect();
    let ids: HashSet<Oid> = theirs.iter().map(Commit::id).collect();
    let mut ours = Vec::new();
    for entry in chain(repo, local, environment)? {
        if ids.contains(&entry.id()) {
            break;
        }
        if !known.contains(&key(&entry)) {
            ours.push(entry);
        }
    }
    let mut tip = repo.git.find_commit(remote).map_err(|e| Error::git("cannot read the remote's ledger", &e))?;
    let fail = |err: git2::Error| Conflict::Fatal(Error::git(format!("cannot rebuild {refname}"), &err));
    let count = ours.len();
    for entry in ours.iter().rev() {
        let deployed = entry.parent(1).map_err(fail)?;
        let tree = entry.tree().map_err(fail)?;
        let message = entry.message().unwrap_or_default();
        let id = repo
            .git
            .commit(None, &entry.author(), &entry.committer(), message, &tree, &[&tip, &deployed])
            .map_err(fail)?;
        tip = repo.git.find_commit(id).map_err(fail)?;
    }
    swap(repo, refname, Some(local), tip.id())?;
    Ok(format!("merged: {count} deploy{} recorded here added after the remote's", if count == 1 { "" } else { "s" }))
}

/// Every note of a notes tree: annotated object id (hex) to note blob.
fn notes_of(tree: &Tree<'_>) -> Result<HashMap<String, Oid>> {
    let mut notes = HashMap::new();
    tree.walk(TreeWalkMode::PreOrder, |dir, entry| {
        if entry.kind() == Some(ObjectType::Blob) {
            let hex = format!("{}{}", dir.replace('/', ""), entry.name().unwrap_or_default());
            notes.insert(hex, entry.id());
        }
        TreeWalkResult::Ok
    })
    .map_err(|e| Error::git("cannot read the evidence notes", &e))?;
    Ok(notes)
}

/// The union of two notes: `ours`' lines, then each line of `theirs` as many more times as it
/// occurs there beyond its count in `ours`.
fn union(ours: &str, theirs: &str) -> String {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for line in ours.lines().filter(|l| !l.trim().is_empty()) {
        *counts.entry(line).or_default() += 1;
    }
    let mut merged: String = ours.lines().filter(|l| !l.trim().is_empty()).map(|l| format!("{l}\n")).collect();
    for line in theirs.lines().filter(|l| !l.trim().is_empty()) {
        match counts.get_mut(line) {
            Some(n) if *n > 0 => *n -= 1,
            _ => merged.push_str(&format!("{line}\n")),
        }
    }
    merged
}

fn merge_notes(repo: &Repo, refname: &str, remote: Oid, remote_name: &str) -> Result<String, Conflict> {
    let local = local_tip(repo, refname)?;
    if let Some(what) = trivially(repo, refname, local, remote)? {
        return Ok(what);
    }
    let local = local.unwrap_or_else(|| unreachable!("handled above"));
    let fail = |err: git2::Error| Conflict::Fatal(Error::git(format!("cannot merge {refname}"), &err));
    let (ours_commit, theirs_commit) =
        (repo.git.find_commit(local).map_err(fail)?, repo.git.find_commit(remote).map_err(fail)?);
    let ours = notes_of(&ours_commit.tree().map_err(fail)?)?;
    let theirs = notes_of(&theirs_commit.tree().map_err(fail)?)?;
    let text = |id: Oid| -> Result<String, Conflict> {
        Ok(String::from_utf8_lossy(repo.git.find_blob(id).map_err(fail)?.content()).into_owned())
    };
    let mut merged: BTreeMap<String, Oid> = BTreeMap::new();
    let mut joined = 0;
    for (object, id) in ours.iter().chain(theirs.iter()) {
        if merged.contains_key(object) {
            continue;
        }
        let blob = match (ours.get(object), theirs.get(object)) {
            (Some(a), Some(b)) if a != b => {
                joined += 1;
                repo.git.blob(union(&text(*a)?, &text(*b)?).as_bytes()).map_err(fail)?
            }
            _ => *id,
        };
        merged.insert(object.clone(), blob);
    }
    // Written with the two-character fan-out git uses for large notes trees.
    let mut fanouts: BTreeMap<String, Vec<(String, Oid)>> = BTreeMap::new();
    for (object, blob) in merged {
        let (head, rest) = object.split_at(2.min(object.len()));
        fanouts.entry(head.to_string()).or_default().push((rest.to_string(), blob));
    }
    let mut root = repo.git.treebuilder(None).map_err(fail)?;
    for (head, entries) in fanouts {
        let mut sub = repo.git.treebuilder(None).map_err(fail)?;
        for (rest, blob) in entries {
            sub.insert(&rest, blob, 0o100644).map_err(fail)?;
        }
        let sub = sub.write().map_err(fail)?;
        root.insert(&head, sub, 0o040000).map_err(fail)?;
    }
    let tree = repo.git.find_tree(root.write().map_err(fail)?).map_err(fail)?;
    let signature = repo.actor().signature(crate::time::now()?)?;
    let message = format!("gate sync: evidence merged with {remote_name}");
    let commit = repo
        .git
        .commit(None, &signature, &signature, &message, &tree, &[&ours_commit, &theirs_commit])
        .map_err(fail)?;
    swap(repo, refname, Some(local), commit)?;
    Ok(format!("merged: {joined} note{} joined", if joined == 1 { "" } else { "s" }))
}

/// The local refs a sync pushes.
fn local_refs(repo: &Repo, notes_ref: &str) -> Result<Vec<String>> {
    let mut refs = Vec::new();
    let mut names = repo.git.references_glob("refs/gate/*").map_err(|e| Error::git("cannot list refs/gate", &e))?;
    for name in names.names() {
        refs.push(name.map_err(|e| Error::git("cannot list refs/gate", &e))?.to_string());
    }
    if repo.git.refname_to_id(notes_ref).is_ok() {
        refs.push(notes_ref.to_string());
    }
    Ok(refs)
}

enum Pushed {
    Done,
    /// The remote moved since the fetch: fetch, merge and push again.
    Rejected,
}

/// Pushes the refs without force: the remote takes them only as fast-forwards of what it has.
fn push(repo: &Repo, remote: &str, refs: &[String]) -> Result<Pushed> {
    if refs.is_empty() {
        return Ok(Pushed::Done);
    }
    let refspecs: Vec<String> = refs.iter().map(|r| format!("{r}:{r}")).collect();
    let mut args = vec!["push", "--porcelain", "--no-verify", remote];
    args.extend(refspecs.iter().map(String::as_str));
    let output = git(repo, &args)?;
    if output.status.success() {
        return Ok(Pushed::Done);
    }
    let said = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    let moved =
        ["[rejected]", "fetch first", "non-fast-forward", "stale info", "cannot lock ref", "failed to update ref"];
    if moved.iter().any(|m| said.contains(m)) {
        return Ok(Pushed::Rejected);
    }
    Err(Error::with_fix(
        format!("cannot push gate's refs to {remote}: {}", said.trim()),
        format!("check your access to {remote}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_merge_as_a_union_of_records() {
        assert_eq!(union("a\nb\n", "b\nc\n"), "a\nb\nc\n");
        assert_eq!(union("a\na\n", "a\n"), "a\na\n", "a line both have once counts once");
        assert_eq!(union("a\n", "a\na\n"), "a\na\n");
        assert_eq!(union("", "x\n"), "x\n");
    }
}
