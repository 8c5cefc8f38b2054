//! Stopping the line, in refs: an emergency lock on an environment (`refs/gate/locks/ENV`) and
//! a rejected release tree (`refs/gate/rejected/TREE`). Neither lives in gate.toml, so stopping
//! the line needs no policy change and no commit, and both travel with the ledger's refspec
//! (`refs/gate/*`). Each ref points at a parentless commit of the empty tree whose message
//! says who, when and why.

use git2::{ErrorCode, Oid};
use jiff::Timestamp;
use serde::Serialize;

use super::ledger::compare_and_swap;
use super::repo::{Actor, Repo};
use crate::{Error, Result, time};

pub const LOCKS: &str = "refs/gate/locks/";
pub const REJECTED: &str = "refs/gate/rejected/";

/// Who stopped the line, when and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stop {
    pub by: String,
    #[serde(serialize_with = "crate::time::serialize_iso")]
    pub at: Timestamp,
    pub reason: String,
}

/// The lock on `environment`, if there is one.
pub fn lock_of(repo: &Repo, environment: &str) -> Result<Option<Stop>> {
    read(repo, &format!("{LOCKS}{environment}"))
}

/// Why the release tree `tree` was rejected, if it was.
pub fn rejection_of(repo: &Repo, tree: Oid) -> Result<Option<Stop>> {
    read(repo, &format!("{REJECTED}{tree}"))
}

/// Every rejected tree, for `gate status`.
pub fn rejections(repo: &Repo) -> Result<Vec<(Oid, Stop)>> {
    let mut found = Vec::new();
    let refs =
        repo.git.references_glob(&format!("{REJECTED}*")).map_err(|e| Error::git("cannot list rejections", &e))?;
    for reference in refs {
        let reference = reference.map_err(|e| Error::git("cannot list rejections", &e))?;
        let Ok(name) = reference.name() else { continue };
        let Ok(tree) = Oid::from_str(&name[REJECTED.len()..]) else { continue };
        if let Some(stop) = read(repo, name)? {
            found.push((tree, stop));
        }
    }
    Ok(found)
}

/// Locks `environment`. An environment already locked stays locked by whoever locked it first.
pub fn lock(repo: &Repo, environment: &str, actor: &Actor, at: Timestamp, reason: &str) -> Result<()> {
    let name = format!("{LOCKS}{environment}");
    if let Some(stop) = read(repo, &name)? {
        return Err(Error::with_fix(
            format!("{environment} is already locked by {} since {}: {}", stop.by, time::human(stop.at), stop.reason),
            format!("unlock it first if the reason changed: gate unlock --env {environment}"),
        ));
    }
    write(repo, &name, actor, at, &format!("gate: lock {environment}\n\nGate-Lock: {environment}"), reason)
}

/// Removes the lock on `environment`; an error when there is none.
pub fn unlock(repo: &Repo, environment: &str) -> Result<Stop> {
    let name = format!("{LOCKS}{environment}");
    let Some(stop) = read(repo, &name)? else {
        return Err(Error::with_fix(format!("{environment} is not locked"), "gate status shows the locks"));
    };
    let mut reference = repo.git.find_reference(&name).map_err(|e| Error::git(format!("cannot read {name}"), &e))?;
    reference.delete().map_err(|e| Error::git(format!("cannot delete {name}"), &e))?;
    Ok(stop)
}

/// Marks the release tree `tree` bad everywhere.
pub fn reject(repo: &Repo, tree: Oid, actor: &Actor, at: Timestamp, reason: &str) -> Result<()> {
    let name = format!("{REJECTED}{tree}");
    if reason.trim().is_empty() {
        return Err(Error::with_fix("a reason is required", "say why with --reason TEXT"));
    }
    // Rejected once is rejected: the first reason stands.
    if read(repo, &name)?.is_some() {
        return Ok(());
    }
    write(repo, &name, actor, at, &format!("gate: reject tree {tree}\n\nGate-Rejected: {tree}"), reason)
}

fn write(repo: &Repo, name: &str, actor: &Actor, at: Timestamp, head: &str, reason: &str) -> Result<()> {
    if reason.trim().is_empty() {
        return Err(Error::with_fix("a reason is required", "say why with --reason TEXT"));
    }
    let signature = actor.signature(at)?;
    let empty = repo.git.treebuilder(None).and_then(|b| b.write()).and_then(|id| repo.git.find_tree(id));
    let empty = empty.map_err(|err| Error::git("cannot write the stop", &err))?;
    // The reason is one trailer line: newlines in it would end the trailer.
    let reason = reason.replace(['\n', '\r'], " ");
    let message = format!("{head}\nGate-By: {actor}\nGate-At: {}\nGate-Reason: {reason}\n", time::iso(at));
    let commit = repo
        .git
        .commit(None, &signature, &signature, &message, &empty, &[])
        .map_err(|err| Error::git("cannot write the stop", &err))?;
    compare_and_swap(repo, name, Oid::ZERO_SHA1, commit, "gate: stop the line").map_err(|err| {
        if err.code() == ErrorCode::Modified || err.code() == ErrorCode::Exists {
            Error::with_fix(
                format!("{name} was written by someone else at the same moment"),
                "run gate status and try again",
            )
        } else {
            Error::git(format!("cannot write {name}"), &err)
        }
    })?;
    Ok(())
}

fn read(repo: &Repo, name: &str) -> Result<Option<Stop>> {
    let id = match repo.git.refname_to_id(name) {
        Ok(id) => id,
        Err(err) if err.code() == ErrorCode::NotFound => return Ok(None),
        Err(err) => return Err(Error::git(format!("cannot read {name}"), &err)),
    };
    let commit = repo.git.find_commit(id).map_err(|_| repo.missing_object(id, name))?;
    let message = commit.message().unwrap_or("");
    let trailer = |key: &str| message.lines().find_map(|l| l.strip_prefix(key)).map(str::trim).map(str::to_string);
    let unreadable =
        || Error::with_fix(format!("{name} is not a stop gate wrote"), format!("inspect it: git show {id}"));
    let at = trailer("Gate-At:").and_then(|t| t.parse::<Timestamp>().ok()).ok_or_else(unreadable)?;
    let by = trailer("Gate-By:").ok_or_else(unreadable)?;
    let reason = trailer("Gate-Reason:").ok_or_else(unreadable)?;
    Ok(Some(Stop { by, at, reason }))
}
