//! Git notes on a dedicated ref, written by compare-and-swap.
//!
//! A notes ref points at a commit whose tree maps object ids to note blobs (`ab/cdef...` with a
//! two-character fan-out, as git writes them in large notes trees; flat and deeper fan-outs are
//! read too). `git notes --ref gate show <tree-id>` reads what gate writes. Appending builds a new
//! notes commit on the current tip and moves the ref only if nobody moved it meanwhile;
//! otherwise it starts again from the new tip, so concurrent writers never lose a note.

use git2::{ErrorCode, Oid, Signature, Tree};

use super::Repo;
use super::ledger::{backoff, compare_and_swap, is_conflict};
use crate::{Error, Result};

const MAX_ATTEMPTS: u32 = 64;

/// The note attached to `object` under `notes_ref`, if any.
pub fn read(repo: &Repo, notes_ref: &str, object: Oid) -> Result<Option<String>> {
    let Some(tip) = tip(repo, notes_ref)? else {
        return Ok(None);
    };
    let tree = repo
        .git
        .find_commit(tip)
        .and_then(|c| c.tree())
        .map_err(|err| Error::git(format!("cannot read {notes_ref}"), &err))?;
    let Some(blob) = find_note(&tree, object) else {
        return Ok(None);
    };
    let blob =
        repo.git.find_blob(blob).map_err(|err| Error::git(format!("cannot read a note in {notes_ref}"), &err))?;
    Ok(Some(String::from_utf8_lossy(blob.content()).into_owned()))
}

/// Appends `text` to the note on `object` (creating it), retrying on concurrent updates.
pub fn append(
    repo: &Repo,
    notes_ref: &str,
    object: Oid,
    text: &str,
    signature: &Signature<'_>,
    message: &str,
) -> Result<()> {
    let fail = |err: git2::Error| Error::git(format!("cannot update {notes_ref}"), &err);
    for attempt in 0..MAX_ATTEMPTS {
        let current = tip(repo, notes_ref)?;
        let parent = current.map(|id| repo.git.find_commit(id)).transpose().map_err(fail)?;
        let root = parent.as_ref().map(|c| c.tree()).transpose().map_err(fail)?;

        let hex = object.to_string();
        let (fanout, rest) = hex.split_at(2);
        let existing_flat = root.as_ref().and_then(|t| t.get_name(&hex)).map(|e| e.id());
        let fanout_tree = root
            .as_ref()
            .and_then(|t| t.get_name(fanout))
            .filter(|e| e.kind() == Some(git2::ObjectType::Tree))
            .map(|e| repo.git.find_tree(e.id()))
            .transpose()
            .map_err(fail)?;
        let existing_fanout = fanout_tree.as_ref().and_then(|t| t.get_name(rest)).map(|e| e.id());

        let old_text = match existing_flat.or(existing_fanout) {
            Some(id) => repo.git.find_blob(id).map_err(fail)?.content().to_vec(),
            None => Vec::new(),
        };
        let mut new_text = old_text;
        if !new_text.is_empty() && !new_text.ends_with(b"\n") {
            new_text.push(b'\n');
        }
        new_text.extend_from_slice(text.as_bytes());
        let blob = repo.git.blob(&new_text).map_err(fail)?;

        let mut root_builder = repo.git.treebuilder(root.as_ref()).map_err(fail)?;
        if existing_flat.is_some() {
            root_builder.insert(&hex, blob, 0o100644).map_err(fail)?;
        } else {
            let mut sub = repo.git.treebuilder(fanout_tree.as_ref()).map_err(fail)?;
            sub.insert(rest, blob, 0o100644).map_err(fail)?;
            let sub = sub.write().map_err(fail)?;
            root_builder.insert(fanout, sub, 0o040000).map_err(fail)?;
        }
        let root_id = root_builder.write().map_err(fail)?;
        let root_tree = repo.git.find_tree(root_id).map_err(fail)?;
        let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
        let commit = repo.git.commit(None, signature, signature, message, &root_tree, &parents).map_err(fail)?;
        let updated = compare_and_swap(repo, notes_ref, current.unwrap_or(Oid::ZERO_SHA1), commit, message);
        match updated {
            Ok(_) => return Ok(()),
            Err(err) if is_conflict(&err) => backoff(attempt),
            Err(err) => return Err(fail(err)),
        }
    }
    Err(Error::with_fix(
        format!("{notes_ref} kept changing under gate ({MAX_ATTEMPTS} attempts)"),
        "another process is writing evidence in a loop; try again when it stops",
    ))
}

fn tip(repo: &Repo, notes_ref: &str) -> Result<Option<Oid>> {
    match repo.git.refname_to_id(notes_ref) {
        Ok(id) => Ok(Some(id)),
        Err(err) if err.code() == ErrorCode::NotFound => Ok(None),
        Err(err) => Err(Error::git(format!("cannot read {notes_ref}"), &err)),
    }
}

/// Finds the note blob for `object` at any fan-out depth git may have used.
fn find_note(tree: &Tree<'_>, object: Oid) -> Option<Oid> {
    let hex = object.to_string();
    for depth in 0..=3 {
        let mut parts = Vec::new();
        let mut rest = hex.as_str();
        for _ in 0..depth {
            let (head, tail) = rest.split_at(2);
            parts.push(head);
            rest = tail;
        }
        parts.push(rest);
        let path = parts.join("/");
        if let Ok(entry) = tree.get_path(std::path::Path::new(&path))
            && entry.kind() == Some(git2::ObjectType::Blob)
        {
            return Some(entry.id());
        }
    }
    None
}
