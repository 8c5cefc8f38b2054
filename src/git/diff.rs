//! What ships: the whole-tree difference from the base tree to the release tree.
//!
//! libgit2's rename detection (`find_similar`) is not used: on a large range it is an order of
//! magnitude slower than git's own. Exact renames and copies are found here by blob id, which
//! needs no file content; similar-but-not-identical files are the `near-duplicate` check's job.

use std::collections::{HashMap, HashSet};

use git2::{FileMode, ObjectType, Oid, Tree};
use serde::Serialize;

use super::{Repo, TreeIndex, file_name};
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
///
/// Subtrees with the same id on both sides are skipped without being read, so a one-file change
/// costs the directories on its path, not the whole tree. (libgit2's tree-to-tree diff visits
/// every entry of both trees: `gate diff` of a one-file change on a 300,000-file tree took 2.9 s
/// of CPU with it, 0.7 s without.)
///
/// Each file's size is read from its object header, unless `known_size` knows it (the blob
/// cache does, without a look into the packs).
pub fn diff_trees(
    repo: &Repo,
    base: Option<&Tree<'_>>,
    release: &Tree<'_>,
    known_size: &dyn Fn(Oid) -> Option<u64>,
) -> Result<ChangeSet> {
    let mut deltas = Vec::new();
    walk_pair(repo, base, Some(release), "", &mut deltas)
        .map_err(|err| Error::git("cannot diff the base and release trees", &err))?;

    let odb = repo.git.odb().map_err(|err| Error::git("cannot open the object database", &err))?;
    let side = |entry: Option<Entry>| -> Result<Option<Side>> {
        let Some(entry) = entry else { return Ok(None) };
        let Some(mode) = Mode::from_git(entry.mode) else { return Ok(None) };
        let size = match mode {
            Mode::Submodule => 0,
            _ => match known_size(entry.id) {
                Some(size) => size,
                None => odb.read_header(entry.id).map_err(|err| missing_or(repo, entry.id, &err))?.0 as u64,
            },
        };
        Ok(Some(Side { id: entry.id, mode, size }))
    };

    let mut changes = Vec::with_capacity(deltas.len());
    for (path, old, new) in deltas {
        let status = match (&old, &new) {
            (None, _) => Status::Added,
            (_, None) => Status::Deleted,
            // A file that became a symlink or a submodule, or the reverse (not an executable bit).
            (Some(a), Some(b)) if u32::from(a.mode) & 0o170000 != u32::from(b.mode) & 0o170000 => Status::TypeChanged,
            _ => Status::Modified,
        };
        let (old, new) = (side(old)?, side(new)?);
        if old.is_none() && new.is_none() {
            continue;
        }
        changes.push(Change { status, path, old_path: None, old, new, binary: false });
    }

    pair_exact_renames(&mut changes);
    let mut changes = ChangeSet { changes };
    changes.sort();
    Ok(changes)
}

impl ChangeSet {
    /// Whether an added file may be a copy of a file of the base tree: see [`find_exact_copies`].
    pub fn has_added(&self) -> bool {
        self.changes.iter().any(|c| c.status == Status::Added)
    }

    /// Whether the release has a path the base did not: added, or the new path of a rename or
    /// copy (what near-duplicate and variant-name look at).
    pub fn adds_paths(&self) -> bool {
        self.changes.iter().any(|c| matches!(c.status, Status::Added | Status::Renamed | Status::Copied))
    }

    fn sort(&mut self) {
        self.changes.sort_by(|a, b| a.path.cmp(&b.path).then(a.status.cmp(&b.status)));
    }
}

/// A path that differs between two trees: whether the first tree has a file there, and the
/// blob id and raw mode the second tree has there (none when it has no file there).
pub(super) type Changed = (String, bool, Option<(Oid, i32)>);

/// The files that differ between trees `old` and `new`, in path order. Subtrees with equal ids
/// are not read.
pub(super) fn changed_files(repo: &Repo, old: Oid, new: Oid) -> Result<Vec<Changed>> {
    let fail = |err: git2::Error| Error::git("cannot diff two listings of the release tree", &err);
    let (old, new) = (repo.git.find_tree(old).map_err(fail)?, repo.git.find_tree(new).map_err(fail)?);
    let mut deltas = Vec::new();
    walk_pair(repo, Some(&old), Some(&new), "", &mut deltas).map_err(fail)?;
    let mut changed: Vec<Changed> = deltas
        .into_iter()
        .map(|(path, before, now)| (path, before.is_some(), now.map(|e| (e.id, i32::from(e.mode)))))
        .collect();
    // Trees sort a directory as if its name ended in `/`; listings sort paths bytewise.
    changed.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(changed)
}

/// A non-tree entry of a tree: a file, a symlink or a submodule.
#[derive(Debug, Clone, Copy)]
struct Entry {
    id: Oid,
    mode: FileMode,
}

/// One entry of a tree, file or subtree.
struct Item {
    name: Vec<u8>,
    is_tree: bool,
    id: Oid,
    mode: FileMode,
}

impl Item {
    /// What entries are sorted and matched by: a file and a directory of the same name are
    /// different entries.
    fn key(&self) -> (&[u8], bool) {
        (&self.name, self.is_tree)
    }
}

/// The entries of a tree, sorted by name and kind: both sides of a diff are sorted the same
/// way and walked together.
fn items(tree: Option<&Tree<'_>>) -> Vec<Item> {
    let Some(tree) = tree else { return Vec::new() };
    let mut items: Vec<Item> = tree
        .iter()
        .map(|entry| Item {
            name: entry.name_bytes().to_vec(),
            is_tree: entry.kind() == Some(ObjectType::Tree),
            id: entry.id(),
            mode: file_mode(entry.filemode()),
        })
        .collect();
    items.sort_by(|a, b| a.key().cmp(&b.key()));
    items
}

fn file_mode(raw: i32) -> FileMode {
    match raw {
        0o040000 => FileMode::Tree,
        0o100755 => FileMode::BlobExecutable,
        0o100664 => FileMode::BlobGroupWritable,
        0o120000 => FileMode::Link,
        0o160000 => FileMode::Commit,
        0o100644 => FileMode::Blob,
        _ => FileMode::Unreadable,
    }
}

/// Every file that differs between two trees (either may be absent), as (path, before, after).
/// A directory on one side and a file of the same name on the other are the
/// file deleted (or added) and the directory's files added (or deleted), as git diffs them.
fn walk_pair(
    repo: &Repo,
    base: Option<&Tree<'_>>,
    release: Option<&Tree<'_>>,
    prefix: &str,
    out: &mut Vec<(String, Option<Entry>, Option<Entry>)>,
) -> std::result::Result<(), git2::Error> {
    let (old, new) = (items(base), items(release));
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < new.len() {
        let order = match (old.get(i), new.get(j)) {
            (Some(a), Some(b)) => a.key().cmp(&b.key()),
            (Some(_), None) => std::cmp::Ordering::Less,
            _ => std::cmp::Ordering::Greater,
        };
        let (a, b) = match order {
            std::cmp::Ordering::Less => {
                i += 1;
                (Some(&old[i - 1]), None)
            }
            std::cmp::Ordering::Greater => {
                j += 1;
                (None, Some(&new[j - 1]))
            }
            std::cmp::Ordering::Equal => {
                i += 1;
                j += 1;
                (Some(&old[i - 1]), Some(&new[j - 1]))
            }
        };
        // The same id and mode: nothing below differs, and a subtree is not even read.
        if let (Some(a), Some(b)) = (a, b)
            && a.id == b.id
            && a.mode == b.mode
        {
            continue;
        }
        let item = a.or(b).unwrap_or_else(|| unreachable!("one side has the entry"));
        let path = format!("{prefix}{}", String::from_utf8_lossy(&item.name));
        if item.is_tree {
            let tree = |side: Option<&Item>| side.map(|e| repo.git.find_tree(e.id)).transpose();
            let (a, b) = (tree(a)?, tree(b)?);
            walk_pair(repo, a.as_ref(), b.as_ref(), &format!("{path}/"), out)?;
        } else {
            let entry = |side: Option<&Item>| side.map(|e| Entry { id: e.id, mode: e.mode });
            out.push((path, entry(a), entry(b)));
        }
    }
    Ok(())
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

/// An added file whose blob already exists at another path of the base tree is a copy of it: of
/// the first such path in tree order (which is the order of the paths' bytes).
///
/// The base tree's files are found without walking it: they are the release's files that no
/// change touches (`release`, its listing), and the old sides of the changes. A walk of the
/// whole base tree was the most costly part of a warm run's diff.
pub fn find_exact_copies(release: &TreeIndex, changes: &mut ChangeSet) {
    let changes = &mut changes.changes;
    let touched: HashSet<&str> = changes.iter().map(|c| c.path.as_str()).collect();
    let mut sources: HashMap<Oid, &str> = HashMap::new();
    fn offer<'p>(sources: &mut HashMap<Oid, &'p str>, id: Oid, path: &'p str) {
        let source = sources.entry(id).or_insert(path);
        if path < *source {
            *source = path;
        }
    }
    let wanted: HashSet<Oid> = changes
        .iter()
        .filter(|c| c.status == Status::Added)
        .filter_map(|c| c.new.as_ref())
        .filter(|side| side.mode != Mode::Submodule)
        .map(|side| side.id)
        .collect();
    for id in &wanted {
        let unchanged =
            release.with_blob(*id).filter(|f| f.mode != Mode::Submodule && !touched.contains(f.path.as_str()));
        unchanged.for_each(|f| offer(&mut sources, *id, &f.path));
    }
    for change in changes.iter() {
        if let Some(old) = change.old.as_ref().filter(|old| old.mode != Mode::Submodule && wanted.contains(&old.id)) {
            offer(&mut sources, old.id, change.old_path.as_deref().unwrap_or(&change.path));
        }
    }
    let sources: HashMap<Oid, String> = sources.into_iter().map(|(id, path)| (id, path.to_string())).collect();
    for change in changes.iter_mut().filter(|c| c.status == Status::Added) {
        if let Some(source) = change.new.as_ref().and_then(|side| sources.get(&side.id)) {
            change.status = Status::Copied;
            change.old_path = Some(source.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use git2::{Delta, DiffOptions, Repository};

    use super::*;

    /// A file to write: its path split at `/`, its content, its mode.
    type Spec<'a> = (Vec<&'a str>, &'a str, i32);

    /// Writes a tree of (path, content, mode); a submodule (0o160000) gets a made-up commit id.
    fn tree(git: &Repository, files: &[(&str, &str, i32)]) -> Oid {
        fn build(git: &Repository, files: &[Spec<'_>]) -> Oid {
            let mut builder = git.treebuilder(None).unwrap();
            let mut dirs: BTreeMap<&str, Vec<Spec<'_>>> = BTreeMap::new();
            for (parts, content, mode) in files {
                if let [name] = parts.as_slice() {
                    let id = match *mode {
                        0o160000 => Oid::from_bytes(&[7; 20]).unwrap(),
                        _ => git.blob(content.as_bytes()).unwrap(),
                    };
                    builder.insert(name, id, *mode).unwrap();
                } else {
                    dirs.entry(parts[0]).or_default().push((parts[1..].to_vec(), content, *mode));
                }
            }
            for (name, files) in dirs {
                builder.insert(name, build(git, &files), 0o040000).unwrap();
            }
            builder.write().unwrap()
        }
        let split: Vec<Spec<'_>> = files.iter().map(|(p, c, m)| (p.split('/').collect(), *c, *m)).collect();
        build(git, &split)
    }

    /// What libgit2's tree-to-tree diff says, as (status, path), sorted as gate sorts changes.
    fn libgit2(git: &Repository, base: Option<&Tree<'_>>, release: &Tree<'_>) -> Vec<(Status, String)> {
        let mut options = DiffOptions::new();
        options.include_typechange(true).skip_binary_check(true).ignore_submodules(false);
        let diff = git.diff_tree_to_tree(base, Some(release), Some(&mut options)).unwrap();
        let mut found: Vec<(Status, String)> = diff
            .deltas()
            .map(|d| {
                let status = match d.status() {
                    Delta::Added => Status::Added,
                    Delta::Deleted => Status::Deleted,
                    Delta::Typechange => Status::TypeChanged,
                    _ => Status::Modified,
                };
                let file = if status == Status::Deleted { d.old_file() } else { d.new_file() };
                (status, file.path().unwrap().to_string_lossy().into_owned())
            })
            .collect();
        found.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
        found
    }

    /// What copies a walk of the whole base tree finds: (copy, source), sorted.
    fn walked_copies(base: &Tree<'_>, changes: &ChangeSet) -> Vec<(String, String)> {
        let mut first: HashMap<Oid, String> = HashMap::new();
        base.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
            if entry.kind() == Some(ObjectType::Blob) {
                first.entry(entry.id()).or_insert_with(|| format!("{dir}{}", entry.name().unwrap()));
            }
            git2::TreeWalkResult::Ok
        })
        .unwrap();
        let added = changes.iter().filter(|c| c.status == Status::Added);
        let mut copies: Vec<(String, String)> = added
            .filter_map(|c| c.new.as_ref().filter(|s| s.mode != Mode::Submodule).map(|s| (c, s.id)))
            .filter_map(|(c, id)| first.get(&id).map(|source| (c.path.clone(), source.clone())))
            .collect();
        copies.sort();
        copies
    }

    /// The release tree's files, as its listing has them.
    fn listing(git: &Repository, tree: &Tree<'_>) -> TreeIndex {
        let mut files = Vec::new();
        tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
            let mode = Mode::from_git(file_mode(entry.filemode()));
            if let (Some(mode), false) = (mode, entry.kind() == Some(ObjectType::Tree)) {
                let path = format!("{dir}{}", entry.name().unwrap());
                files.push(super::super::TreeFile { path, id: entry.id(), mode });
            }
            git2::TreeWalkResult::Ok
        })
        .unwrap();
        let _ = git;
        TreeIndex::from_files(files)
    }

    #[test]
    fn copies_found_in_the_release_listing_are_those_a_walk_of_the_base_tree_finds() {
        // Copies of: a file the release leaves alone (at two base paths: the first in tree
        // order is the source, `a.b/x` before `a/x`), a file the release rewrites, one it
        // moves and copies (one new path is the rename, the other a copy), one it renames, a
        // symlink; and a new file that copies nothing.
        let dir = tempfile::tempdir().unwrap();
        let git = Repository::init_bare(dir.path()).unwrap();
        let base = tree(
            &git,
            &[
                ("a/x", "same\n", 0o100644),
                ("a.b/x", "same\n", 0o100644),
                ("z/kept", "kept\n", 0o100644),
                ("rewritten.sh", "old body\n", 0o100644),
                ("deleted.sh", "gone\n", 0o100644),
                ("renamed.sh", "moved\n", 0o100644),
                ("link", "target", 0o120000),
                ("sub", "", 0o160000),
            ],
        );
        let release = tree(
            &git,
            &[
                ("a/x", "same\n", 0o100644),
                ("a.b/x", "same\n", 0o100644),
                ("z/kept", "kept\n", 0o100644),
                ("rewritten.sh", "new body\n", 0o100644),
                ("moved/renamed.sh", "moved\n", 0o100644),
                ("copies/same", "same\n", 0o100644),
                ("copies/kept", "kept\n", 0o100644),
                ("copies/rewritten.sh", "old body\n", 0o100644),
                ("copies/deleted.sh", "gone\n", 0o100644),
                ("copies/deleted-again.sh", "gone\n", 0o100644),
                ("copies/renamed.sh", "moved\n", 0o100644),
                ("link", "target", 0o120000),
                ("copies/link", "target", 0o100644),
                ("copies/new", "new\n", 0o100644),
                ("sub", "", 0o160000),
            ],
        );
        let repo = Repo { git };
        let (base, release) = (repo.git.find_tree(base).unwrap(), repo.git.find_tree(release).unwrap());
        let mut changes = diff_trees(&repo, Some(&base), &release, &|_| None).unwrap();
        let expected = walked_copies(&base, &changes);
        assert_eq!(expected.len(), 6, "{expected:?}");
        find_exact_copies(&listing(&repo.git, &release), &mut changes);
        let mut found: Vec<(String, String)> = changes
            .iter()
            .filter(|c| c.status == Status::Copied)
            .map(|c| (c.path.clone(), c.old_path.clone().unwrap()))
            .collect();
        found.sort();
        assert_eq!(found, expected);
        assert!(found.contains(&("copies/same".to_string(), "a.b/x".to_string())), "{found:?}");
    }

    #[test]
    fn the_walk_finds_what_libgit2_finds() {
        // Regression guard for issue 15's own tree walk: the same changes as libgit2's diff, for
        // every kind of entry change, with identical subtrees skipped.
        let dir = tempfile::tempdir().unwrap();
        let git = Repository::init_bare(dir.path()).unwrap();
        let same: Vec<(String, String)> =
            (0..50).map(|i| (format!("big/d{}/f{i}.txt", i % 7), format!("{i}\n"))).collect();
        let mut base: Vec<(&str, &str, i32)> = same.iter().map(|(p, c)| (p.as_str(), c.as_str(), 0o100644)).collect();
        base.extend([
            ("a.sh", "echo a\n", 0o100644),
            ("exec.sh", "run\n", 0o100644),
            ("link", "target\n", 0o100644),
            ("foo", "a file\n", 0o100644),
            ("foo-bar", "x\n", 0o100644),
            ("gone/x.py", "x = 1\n", 0o100644),
            ("nested/deep/er/c.txt", "c\n", 0o100644),
            ("nested/deep/er/d.txt", "d\n", 0o100644),
            ("sub", "", 0o160000),
            ("was_dir/f.txt", "f\n", 0o100644),
        ]);
        let mut release: Vec<(&str, &str, i32)> =
            same.iter().map(|(p, c)| (p.as_str(), c.as_str(), 0o100644)).collect();
        release.extend([
            ("a.sh", "echo b\n", 0o100644),
            ("exec.sh", "run\n", 0o100755),
            ("link", "target", 0o120000),
            ("foo/inside.txt", "now a directory\n", 0o100644),
            ("foo-bar", "x\n", 0o100644),
            ("new/y.py", "y = 2\n", 0o100644),
            ("nested/deep/er/c.txt", "c changed\n", 0o100644),
            ("nested/deep/er/d.txt", "d\n", 0o100644),
            ("sub", "a file now\n", 0o100644),
            ("was_dir", "was a directory\n", 0o100644),
        ]);
        let repo = Repo { git };
        let (base, release) = (tree(&repo.git, &base), tree(&repo.git, &release));
        let (base, release) = (repo.git.find_tree(base).unwrap(), repo.git.find_tree(release).unwrap());
        for base in [Some(&base), None] {
            let ours: Vec<(Status, String)> = diff_trees(&repo, base, &release, &|_| None)
                .unwrap()
                .changes
                .into_iter()
                .map(|c| (c.status, c.path))
                .collect();
            assert_eq!(ours, libgit2(&repo.git, base, &release));
        }
    }
}
