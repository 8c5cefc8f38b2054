//! What ships: the whole-tree difference from the base tree to the release tree.
//!
//! libgit2's rename detection (`find_similar`) is not used: on a large range it is an order of
//! magnitude slower than git's own. Exact renames and copies are found here by blob id, which
//! needs no file content; similar-but-not-identical files are the `near-duplicate` check's job.

use std::collections::{BTreeMap, HashMap};

use git2::{Delta, DiffOptions, FileMode, ObjectType, Oid, Tree, TreeWalkMode, TreeWalkResult};
use serde::Serialize;

use super::{Repo, file_name};
use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Added,
    Modified,
    Deleted,
    Renamed,
    Copied,
    /// A file became a symlink, a submodule, or the reverse.
    TypeChanged,
}

impl Status {
    /// The one-letter code `git diff --name-status` uses.
    pub fn letter(self) -> char {
        match self {
            Status::Added => 'A',
            Status::Modified => 'M',
            Status::Deleted => 'D',
            Status::Renamed => 'R',
            Status::Copied => 'C',
            Status::TypeChanged => 'T',
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    File,
    Executable,
    Symlink,
    Submodule,
}

impl Mode {
    fn from_git(mode: FileMode) -> Option<Mode> {
        match mode {
            FileMode::Blob | FileMode::BlobGroupWritable => Some(Mode::File),
            FileMode::BlobExecutable => Some(Mode::Executable),
            FileMode::Link => Some(Mode::Symlink),
            FileMode::Commit => Some(Mode::Submodule),
            FileMode::Tree | FileMode::Unreadable => None,
        }
    }
}

/// One side (before or after) of a changed file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Side {
    #[serde(serialize_with = "super::serialize_oid")]
    pub id: Oid,
    pub mode: Mode,
    /// Size in bytes (0 for a submodule).
    pub size: u64,
}

/// One file the release changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub status: Status,
    /// The path in the release (for a deletion, the path that is removed).
    pub path: String,
    /// Where a renamed or copied file came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<Side>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<Side>,
    /// The file's content (after the change; before it, for a deletion) has a NUL byte in its
    /// first 8000 bytes, or is larger than [`READ_LIMIT`](super::READ_LIMIT) and was not read.
    /// Filled in by [`changes`](super::changes).
    pub binary: bool,
}

impl Change {
    /// The side that ships (or, for a deletion, the side that goes away).
    pub fn current(&self) -> &Side {
        self.new.as_ref().or(self.old.as_ref()).unwrap_or_else(|| unreachable!("a change has at least one side"))
    }

    /// True for changes that bring content into the release: added, modified, renamed, copied,
    /// type-changed.
    pub fn ships_content(&self) -> bool {
        self.status != Status::Deleted
    }
}

/// Every change from base to release, sorted by path.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ChangeSet {
    pub changes: Vec<Change>,
}

impl ChangeSet {
    pub fn len(&self) -> usize {
        self.changes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Change> {
        self.changes.iter()
    }

    /// Whether `path` is added, modified, deleted, renamed from or to, or copied to.
    pub fn touches(&self, path: &str) -> Option<&Change> {
        self.changes.iter().find(|c| c.path == path || c.old_path.as_deref() == Some(path))
    }
}

/// Diffs two trees. `base` of `None` is the empty tree: everything in the release is added.
pub fn diff_trees(repo: &Repo, base: Option<&Tree<'_>>, release: &Tree<'_>) -> Result<ChangeSet> {
    let mut options = DiffOptions::new();
    options.include_typechange(true).skip_binary_check(true).ignore_submodules(false);
    let diff = repo
        .git
        .diff_tree_to_tree(base, Some(release), Some(&mut options))
        .map_err(|err| Error::git("cannot diff the base and release trees", &err))?;

    let odb = repo.git.odb().map_err(|err| Error::git("cannot open the object database", &err))?;
    let side = |file: git2::DiffFile<'_>| -> Result<Option<Side>> {
        let Some(mode) = Mode::from_git(file.mode()) else {
            return Ok(None);
        };
        if file.id().is_zero() {
            return Ok(None);
        }
        let size = if mode == Mode::Submodule {
            0
        } else {
            let (size, _) = odb.read_header(file.id()).map_err(|err| missing_or(repo, file.id(), &err))?;
            size as u64
        };
        Ok(Some(Side { id: file.id(), mode, size }))
    };
    let path_of = |file: git2::DiffFile<'_>| file.path().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();

    let mut changes = Vec::with_capacity(diff.deltas().len());
    for delta in diff.deltas() {
        let (old, new) = (side(delta.old_file())?, side(delta.new_file())?);
        let status = match delta.status() {
            Delta::Added => Status::Added,
            Delta::Deleted => Status::Deleted,
            Delta::Typechange => Status::TypeChanged,
            _ => Status::Modified,
        };
        let path = if status == Status::Deleted { path_of(delta.old_file()) } else { path_of(delta.new_file()) };
        changes.push(Change { status, path, old_path: None, old, new, binary: false });
    }

    pair_exact_renames(&mut changes);
    if changes.iter().any(|c| c.status == Status::Added)
        && let Some(base) = base
    {
        find_exact_copies(base, &mut changes)?;
    }
    changes.sort_by(|a, b| a.path.cmp(&b.path).then(a.status.cmp(&b.status)));
    Ok(ChangeSet { changes })
}

fn missing_or(repo: &Repo, id: Oid, err: &git2::Error) -> Error {
    if err.code() == git2::ErrorCode::NotFound {
        repo.missing_object(id, "a file of the release range")
    } else {
        Error::git(format!("cannot read object {id}"), err)
    }
}

/// A deleted file and an added file with the same blob id are one renamed file. Where several
/// deleted files share the blob, the one with the same file name is preferred.
fn pair_exact_renames(changes: &mut Vec<Change>) {
    let mut deleted: HashMap<Oid, Vec<usize>> = HashMap::new();
    for (index, change) in changes.iter().enumerate() {
        if change.status == Status::Deleted
            && let Some(old) = &change.old
            && old.mode != Mode::Submodule
        {
            deleted.entry(old.id).or_default().push(index);
        }
    }
    if deleted.is_empty() {
        return;
    }
    let mut consumed = vec![false; changes.len()];
    for index in 0..changes.len() {
        if changes[index].status != Status::Added {
            continue;
        }
        let Some(new) = changes[index].new.clone() else {
            continue;
        };
        let Some(candidates) = deleted.get_mut(&new.id) else {
            continue;
        };
        if candidates.is_empty() {
            continue;
        }
        let name = file_name(&changes[index].path);
        let pick = candidates.iter().position(|&d| file_name(&changes[d].path) == name).unwrap_or(0);
        let source = candidates.remove(pick);
        consumed[source] = true;
        let old_path = changes[source].path.clone();
        let old = changes[source].old.clone();
        let change = &mut changes[index];
        change.status = Status::Renamed;
        change.old_path = Some(old_path);
        change.old = old;
    }
    let mut index = 0;
    changes.retain(|_| {
        let keep = !consumed[index];
        index += 1;
        keep
    });
}

/// An added file whose blob already exists at another path of the base tree is a copy of it.
fn find_exact_copies(base: &Tree<'_>, changes: &mut [Change]) -> Result<()> {
    let wanted: HashMap<Oid, ()> = changes
        .iter()
        .filter(|c| c.status == Status::Added)
        .filter_map(|c| c.new.as_ref())
        .filter(|side| side.mode != Mode::Submodule)
        .map(|side| (side.id, ()))
        .collect();
    let mut sources: BTreeMap<Oid, String> = BTreeMap::new();
    base.walk(TreeWalkMode::PreOrder, |dir, entry| {
        if entry.kind() == Some(ObjectType::Blob) && wanted.contains_key(&entry.id()) {
            let path = format!("{dir}{}", entry.name().unwrap_or(""));
            sources.entry(entry.id()).or_insert(path);
        }
        TreeWalkResult::Ok
    })
    .map_err(|err| Error::git("cannot read the base tree", &err))?;
    for change in changes.iter_mut().filter(|c| c.status == Status::Added) {
        if let Some(source) = change.new.as_ref().and_then(|side| sources.get(&side.id)) {
            change.status = Status::Copied;
            change.old_path = Some(source.clone());
        }
    }
    Ok(())
}
