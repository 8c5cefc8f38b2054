//! Every file of the release tree, indexed by path, blob id, file name and stem.
//!
//! Checks that relate a changed file to the rest of the release (the original of a `_v2`, the
//! test file for a script, an exact copy) look things up here instead of walking the tree again.

use std::collections::HashSet;
use std::sync::OnceLock;

use git2::{ObjectType, Oid};

use super::listing::Listing;
use super::{Mode, Repo, short};
use crate::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeFile {
    pub path: String,
    pub id: Oid,
    pub mode: Mode,
}

impl TreeFile {
    /// The file name: the last component of the path.
    pub fn name(&self) -> &str {
        file_name(&self.path)
    }
}

/// The lookups by blob, name and stem are built on first use: most runs ask a path or two, and
/// building every map for a 100,000-file tree cost more than listing it.
#[derive(Debug, Default)]
pub struct TreeIndex {
    /// Sorted by path (bytewise), so a path or a directory is found by bisection.
    files: Vec<TreeFile>,
    /// When the listing is the kept listing of another tree with the two trees' diff applied:
    /// that tree and the diff, so that what is kept beside the listing can be updated the same
    /// way.
    patch: Option<Patch>,
    /// Set when the listing was walked or patched for this tree and is not kept yet.
    unkept: bool,
    by_blob: OnceLock<Lookup>,
    by_name: OnceLock<Lookup>,
    by_stem: OnceLock<Lookup>,
}

/// The tree a listing was updated from, and the paths that differ between it and this one.
#[derive(Debug)]
pub struct Patch {
    pub from: Oid,
    /// In path order.
    pub changed: Vec<ChangedPath>,
}

/// A path whose file differs between two trees.
#[derive(Debug)]
pub struct ChangedPath {
    pub path: String,
    /// Whether the older tree has a file there.
    pub before: bool,
    /// Whether this tree has one.
    pub after: bool,
}

/// The positions of the files, sorted by the hash of a key (then by position): one flat vector,
/// not a map of vectors, because it is built for the whole tree and a run asks it a few times.
/// A hash is only a candidate; each lookup compares the key itself.
type Lookup = Vec<(u64, u32)>;

impl TreeIndex {
    /// Lists the tree `id` recursively. Submodules are listed with their commit id. The listing
    /// of the last tree asked about is kept in the git directory (see [`super::listing`]): the
    /// same tree again is read from there, another one is that listing with the trees' diff
    /// applied, so only the directories that changed are read.
    pub fn build(repo: &Repo, id: Oid) -> Result<TreeIndex> {
        let kept = Listing::in_git_dir(&repo.git_dir());
        let cached = kept.as_ref().and_then(Listing::load);
        let (files, patch) = match cached {
            Some((tree, files)) if tree == id => return Ok(TreeIndex::from_files(files)),
            Some((tree, files)) => {
                let (files, patch) = patched(repo, tree, files, id)?;
                (files, Some(patch))
            }
            None => (walk(repo, id)?, None),
        };
        Ok(TreeIndex { patch, unkept: true, ..TreeIndex::from_files(files) })
    }

    /// Keeps the listing of tree `id` (this index's tree) for the next run, when it is not kept
    /// already. Called once what is kept beside the listing (the path classes) is kept for this
    /// tree too: a run that needs the listing alone (its answers were kept) leaves the kept
    /// listing, classes and reach index together at the tree they were all made for, so the
    /// next release's run updates them all by one diff.
    pub fn keep(&self, repo: &Repo, id: Oid) {
        if self.unkept
            && let Some(kept) = Listing::in_git_dir(&repo.git_dir())
        {
            // A listing that cannot be kept only costs the next run a walk.
            let _ = kept.save(id, &self.files);
        }
    }

    /// The tree this listing was updated from and the diff applied, when it was.
    pub fn patch(&self) -> Option<&Patch> {
        self.patch.as_ref()
    }

    pub fn from_files(mut files: Vec<TreeFile>) -> TreeIndex {
        if !files.is_sorted_by(|a, b| a.path <= b.path) {
            files.sort_by(|a, b| a.path.cmp(&b.path));
        }
        TreeIndex { files, ..TreeIndex::default() }
    }

    pub fn files(&self) -> &[TreeFile] {
        &self.files
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The position of `path` in [`TreeIndex::files`].
    pub fn position(&self, path: &str) -> Option<usize> {
        self.files.binary_search_by(|f| f.path.as_str().cmp(path)).ok()
    }

    pub fn get(&self, path: &str) -> Option<&TreeFile> {
        self.position(path).map(|i| &self.files[i])
    }

    pub fn contains(&self, path: &str) -> bool {
        self.position(path).is_some()
    }

    /// Whether `dir` (no trailing slash) is a directory of the tree: some path starts with
    /// `dir/`, and the paths that do are next to each other in sorted order.
    pub fn has_dir(&self, dir: &str) -> bool {
        let prefix = format!("{dir}/");
        let at = self.files.partition_point(|f| f.path.as_str() < prefix.as_str());
        !dir.is_empty() && self.files.get(at).is_some_and(|f| f.path.starts_with(&prefix))
    }

    /// Files with this blob id.
    pub fn with_blob(&self, id: Oid) -> impl Iterator<Item = &TreeFile> {
        let by_blob = self.by_blob.get_or_init(|| self.lookup(|f| hash(f.id.as_bytes())));
        self.matching(by_blob, hash(id.as_bytes())).filter(move |f| f.id == id)
    }

    /// Files with this name (case-insensitive), anywhere in the tree.
    pub fn named(&self, name: &str) -> impl Iterator<Item = &TreeFile> {
        let by_name = self.by_name.get_or_init(|| self.lookup(|f| lower_hash(f.name())));
        let name = name.to_lowercase();
        self.matching(by_name, hash(name.as_bytes())).filter(move |f| same_lowercase(f.name(), &name))
    }

    /// Files whose stem (name without its last extension) is `stem`, case-insensitive.
    pub fn with_stem(&self, stem: &str) -> impl Iterator<Item = &TreeFile> {
        let by_stem = self.by_stem.get_or_init(|| self.lookup(|f| lower_hash(self::stem(f.name()))));
        let stem = stem.to_lowercase();
        self.matching(by_stem, hash(stem.as_bytes())).filter(move |f| same_lowercase(self::stem(f.name()), &stem))
    }

    fn lookup(&self, key: impl Fn(&TreeFile) -> u64) -> Lookup {
        let mut lookup: Lookup = self.files.iter().enumerate().map(|(i, f)| (key(f), i as u32)).collect();
        lookup.sort_unstable();
        lookup
    }

    /// The files whose key hashes to `hash`, in tree order.
    fn matching<'s>(&'s self, lookup: &'s Lookup, hash: u64) -> impl Iterator<Item = &'s TreeFile> {
        let start = lookup.partition_point(|(h, _)| *h < hash);
        lookup[start..].iter().take_while(move |(h, _)| *h == hash).map(|&(_, i)| &self.files[i as usize])
    }
}

/// FNV-1a, 64 bits.
fn hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

/// The hash of `text` lower-cased, without making a lower-cased copy when it is ASCII.
fn lower_hash(text: &str) -> u64 {
    if text.is_ascii() {
        text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(b.to_ascii_lowercase())).wrapping_mul(0x0000_0100_0000_01b3)
        })
    } else {
        hash(text.to_lowercase().as_bytes())
    }
}

/// Whether `text` lower-cased is `lower`.
fn same_lowercase(text: &str, lower: &str) -> bool {
    if text.is_ascii() {
        text.len() == lower.len() && text.eq_ignore_ascii_case(lower)
    } else {
        text.to_lowercase() == lower
    }
}

/// Every file of the tree `id`, read from the object database, in the order libgit2's
/// pre-order walk gives them (each directory's entries in tree order, a subtree's files where the
/// subtree is).
///
/// Trees are parsed here rather than walked with `git_tree_walk`, which looks up, parses and
/// allocates a tree object for every directory: on a 100,000-file tree that cost as much as
/// `git ls-tree -r`. The parse follows libgit2's (`git_tree__parse_raw`), so the files, their
/// names and their modes are the ones that walk gave, and so is what it refused: a directory
/// that is not a tree, a malformed entry, a directory name that is not UTF-8.
fn walk(repo: &Repo, id: Oid) -> Result<Vec<TreeFile>> {
    let fail = |err: git2::Error| Error::git(format!("cannot read tree {}", short(id)), &err);
    let odb = repo.git.odb().map_err(fail)?;
    let read = |tree: Oid| match odb.read(tree) {
        Ok(object) if object.kind() == ObjectType::Tree => Ok(object),
        Ok(object) => Err(git2::Error::from_str(&format!("{tree} is a {}, not a tree", object.kind()))),
        Err(err) => Err(err),
    };
    let mut files = Vec::new();
    // The directories being read, outermost first: each one's object, how far into it the walk
    // is, and its path with a trailing slash.
    let mut open = vec![(read(id).map_err(fail)?, 0, String::new())];
    while let Some((object, at, dir)) = open.last_mut() {
        let Some(entry) = next_entry(object.data(), at).map_err(fail)? else {
            open.pop();
            continue;
        };
        if entry.mode & 0o170000 == 0o040000 {
            // libgit2 hands the walk a directory's path as a C string, which git2 turns into
            // `&str` or else stops the walk.
            let name = std::str::from_utf8(entry.name).map_err(|_| {
                let name = String::from_utf8_lossy(entry.name);
                fail(git2::Error::from_str(&format!("the directory name `{dir}{name}` is not UTF-8")))
            })?;
            let mut path = path_in(dir, name);
            path.push('/');
            let subtree = read(entry.id).map_err(fail)?;
            open.push((subtree, 0, path));
        } else {
            let path = path_in(dir, &String::from_utf8_lossy(entry.name));
            files.push(TreeFile { path, id: entry.id, mode: mode_of(normalized(entry.mode)) });
        }
    }
    Ok(files)
}

/// `dir` (empty or ending in `/`) followed by `name`, with room for a `/` after it. Built by hand
/// because `format!` cost more than the rest of the walk outside libgit2.
fn path_in(dir: &str, name: &str) -> String {
    let mut path = String::with_capacity(dir.len() + name.len() + 1);
    path.push_str(dir);
    path.push_str(name);
    path
}

/// One entry of a raw tree object.
struct RawEntry<'t> {
    mode: u16,
    name: &'t [u8],
    id: Oid,
}

/// The entry of the raw tree `data` at `*at` (`<octal mode> <name>\0<20-byte id>`), moving `*at`
/// past it; `None` at the end. The checks and messages are libgit2's.
fn next_entry<'t>(data: &'t [u8], at: &mut usize) -> std::result::Result<Option<RawEntry<'t>>, git2::Error> {
    let rest = &data[*at..];
    if rest.is_empty() {
        return Ok(None);
    }
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let mode = rest[..digits].iter().try_fold(0u32, |mode, &b| match b {
        b'0'..=b'7' if mode <= u32::from(u16::MAX) => Some(mode << 3 | u32::from(b - b'0')),
        _ => None,
    });
    let Some(mode) = mode.filter(|_| digits > 0).and_then(|mode| u16::try_from(mode).ok()) else {
        return Err(git2::Error::from_str("failed to parse tree: can't parse filemode"));
    };
    if rest.get(digits) != Some(&b' ') {
        return Err(git2::Error::from_str("failed to parse tree: missing space after filemode"));
    }
    let rest = &rest[digits + 1..];
    let Some(nul) = rest.iter().position(|&b| b == 0) else {
        return Err(git2::Error::from_str("failed to parse tree: object is corrupted"));
    };
    if nul == 0 || nul > usize::from(u16::MAX) {
        return Err(git2::Error::from_str("failed to parse tree: can't parse filename"));
    }
    let Some(raw_id) = rest.get(nul + 1..nul + 21) else {
        return Err(git2::Error::from_str("failed to parse tree: can't parse OID"));
    };
    let id = Oid::from_bytes(raw_id)?;
    *at += digits + 1 + nul + 21;
    Ok(Some(RawEntry { mode, name: &rest[..nul], id }))
}

/// A tree entry's mode as libgit2 reports it (`git_tree_entry_filemode`): the owner's executable
/// bit makes a blob executable, and a mode git does not write is a plain blob.
fn normalized(raw: u16) -> i32 {
    let kind = raw & !0o777;
    let mode = if kind == 0o040000 {
        0o040000
    } else if raw & 0o100 != 0 {
        0o100755
    } else if kind == 0o160000 || kind == 0o120000 {
        kind
    } else {
        0o100644
    };
    i32::from(mode)
}

/// The files of tree `id`, from the listing of tree `kept` and the diff between the two.
fn patched(repo: &Repo, kept: Oid, mut files: Vec<TreeFile>, id: Oid) -> Result<(Vec<TreeFile>, Patch)> {
    let changed = super::diff::changed_files(repo, kept, id)?;
    let gone: HashSet<&str> = changed.iter().map(|(path, ..)| path.as_str()).collect();
    files.retain(|f| !gone.contains(f.path.as_str()));
    for (path, _, now) in &changed {
        if let Some((id, raw_mode)) = now {
            files.push(TreeFile { path: path.clone(), id: *id, mode: mode_of(*raw_mode) });
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let changed =
        changed.into_iter().map(|(path, before, now)| ChangedPath { path, before, after: now.is_some() }).collect();
    Ok((files, Patch { from: kept, changed }))
}

/// A file's mode as git writes it in a tree.
pub(super) fn mode_of(raw: i32) -> Mode {
    match raw {
        0o100755 => Mode::Executable,
        0o120000 => Mode::Symlink,
        0o160000 => Mode::Submodule,
        _ => Mode::File,
    }
}

/// The last component of a path.
pub fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The directory of a path, empty at the top level.
pub fn dir_name(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// A file name without its last extension (`search_v2.sh` -> `search_v2`, `.env` -> `.env`).
pub fn stem(name: &str) -> &str {
    match name.rfind('.') {
        Some(0) | None => name,
        Some(i) => &name[..i],
    }
}

/// The last extension without its dot, if any (`a.tar.gz` -> `gz`).
pub fn extension(name: &str) -> Option<&str> {
    match name.rfind('.') {
        Some(0) | None => None,
        Some(i) => Some(&name[i + 1..]),
    }
}

#[cfg(test)]
mod tests {
    use git2::{Repository, TreeWalkMode, TreeWalkResult};

    use super::*;

    /// The listing as libgit2's own walk gave it, before trees were parsed here: the reference
    /// the walk is held to, files, order, errors and all.
    fn libgit2_walk(git: &Repository, id: Oid) -> std::result::Result<Vec<TreeFile>, git2::Error> {
        let mut files = Vec::new();
        git.find_tree(id)?.walk(TreeWalkMode::PreOrder, |dir, entry| {
            if entry.kind() != Some(ObjectType::Tree) {
                let name = String::from_utf8_lossy(entry.name_bytes());
                files.push(TreeFile { path: format!("{dir}{name}"), id: entry.id(), mode: mode_of(entry.filemode()) });
            }
            TreeWalkResult::Ok
        })?;
        Ok(files)
    }

    /// Writes a tree object byte for byte, so that entries git would not write (odd modes,
    /// names, order, a subtree that is missing or not a tree) can be walked.
    fn raw_tree(git: &Repository, entries: &[(&str, &[u8], Oid)]) -> Oid {
        let mut data = Vec::new();
        for (mode, name, id) in entries {
            data.extend_from_slice(format!("{mode} ").as_bytes());
            data.extend_from_slice(name);
            data.push(0);
            data.extend_from_slice(id.as_bytes());
        }
        git.odb().unwrap().write(ObjectType::Tree, &data).unwrap()
    }

    fn bare() -> (tempfile::TempDir, Repo) {
        let dir = tempfile::tempdir().unwrap();
        let git = Repository::init_bare(dir.path()).unwrap();
        (dir, Repo { git })
    }

    #[test]
    fn walk_lists_what_libgit2_walk_lists() {
        // Nested directories (one sorting after a file that shares its prefix, as trees sort a
        // directory as if its name ended in `/`), an executable, a symlink, a submodule, a name
        // that is not UTF-8, names with spaces and dots, an empty directory, modes git no longer
        // writes (group-writable, zero-padded, runnable by the owner only or by others only),
        // entries out of order.
        let (_dir, repo) = bare();
        let git = &repo.git;
        let blob = |text: &str| git.blob(text.as_bytes()).unwrap();
        let commit = Oid::from_bytes(&[7; 20]).unwrap();
        let empty = raw_tree(git, &[]);
        let deep = raw_tree(git, &[("100644", b"leaf.txt", blob("leaf")), ("40000", b"empty", empty)]);
        let mut builder = git.treebuilder(None).unwrap();
        builder.insert("run.sh", blob("#!/bin/sh\n"), 0o100755).unwrap();
        builder.insert("link", blob("../target"), 0o120000).unwrap();
        builder.insert("vendor lib", commit, 0o160000).unwrap();
        builder.insert(b"caf\xe9.txt".to_vec(), blob("latin-1"), 0o100644).unwrap();
        builder.insert("deep", deep, 0o040000).unwrap();
        let middle = builder.write().unwrap();
        let top = raw_tree(
            git,
            &[
                ("100644", b"a.b", blob("a.b")),
                ("40000", b"a", middle),
                ("100664", b"group-writable", blob("g")),
                ("040000", b"padded", deep),
                ("100601", b"others-run", blob("o")),
                ("100700", b"owner-runs", blob("o")),
                ("100644", b"same", blob("a.b")),
                ("100644", "r\u{e9}sum\u{e9} .md".as_bytes(), blob("utf-8")),
            ],
        );
        let walked = walk(&repo, top).unwrap();
        assert_eq!(walked, libgit2_walk(git, top).unwrap());
        let paths: Vec<&str> = walked.iter().map(|f| f.path.as_str()).collect();
        assert!(paths.contains(&"a/deep/leaf.txt") && paths.contains(&"padded/leaf.txt"), "{paths:?}");
        assert!(paths.contains(&"a/caf\u{fffd}.txt"), "{paths:?}");
        let mode = |path: &str| walked.iter().find(|f| f.path == path).map(|f| f.mode);
        assert_eq!(mode("a/run.sh"), Some(Mode::Executable));
        assert_eq!(mode("a/link"), Some(Mode::Symlink));
        assert_eq!(mode("a/vendor lib"), Some(Mode::Submodule));
        assert_eq!(mode("owner-runs"), Some(Mode::Executable));
        assert_eq!(mode("others-run"), Some(Mode::File));
        assert_eq!(mode("group-writable"), Some(Mode::File));
        assert_eq!(walked.len(), 12);
    }

    #[test]
    fn walk_fails_where_libgit2_walk_failed() {
        // Regression guard: a listing with a directory left out would let a release's files go
        // unchecked, so each of these is an error (exit 2), never a shorter listing.
        let (_dir, repo) = bare();
        let git = &repo.git;
        let blob = git.blob(b"text").unwrap();
        let missing = Oid::from_bytes(&[9; 20]).unwrap();
        let file = ("100644", b"file".as_slice(), blob);
        let garbage = |data: &[u8]| git.odb().unwrap().write(ObjectType::Tree, data).unwrap();
        let mut truncated = b"100644 file\0".to_vec();
        truncated.extend_from_slice(&blob.as_bytes()[..12]);
        let cases = [
            ("a missing subtree", raw_tree(git, &[file, ("40000", b"gone", missing)])),
            ("a subtree that is a blob", raw_tree(git, &[file, ("40000", b"blob", blob)])),
            ("a missing tree", missing),
            ("a tree that is a blob", blob),
            ("a directory name that is not UTF-8", raw_tree(git, &[("40000", b"caf\xe9", raw_tree(git, &[file]))])),
            ("a truncated id", garbage(&truncated)),
            ("a mode that is not octal", raw_tree(git, &[("100648", b"file", blob)])),
            ("a mode too large", raw_tree(git, &[("1000644", b"file", blob)])),
            ("an empty mode", raw_tree(git, &[("", b"file", blob)])),
            ("an empty name", raw_tree(git, &[file, ("100644", b"", blob)])),
            ("a name without its end", garbage(b"100644 file")),
            ("a mode without a space", garbage(b"100644")),
        ];
        for (what, id) in cases {
            let err = walk(&repo, id).expect_err(what).to_string();
            assert!(err.starts_with(&format!("cannot read tree {}: ", short(id))), "{what}: {err}");
            assert!(libgit2_walk(git, id).is_err(), "{what}: libgit2 read it");
        }
    }

    #[test]
    fn names_split_like_people_read_them() {
        assert_eq!(stem("search_v2.sh"), "search_v2");
        assert_eq!(stem(".env"), ".env");
        assert_eq!(stem("Makefile"), "Makefile");
        assert_eq!(extension("a.tar.gz"), Some("gz"));
        assert_eq!(extension(".bashrc"), None);
        assert_eq!(dir_name("a/b/c.sh"), "a/b");
        assert_eq!(dir_name("c.sh"), "");
    }

    #[test]
    fn index_answers_by_path_blob_name_stem_and_dir() {
        let id = |n: u8| Oid::from_bytes(&[n; 20]).unwrap();
        let index = TreeIndex::from_files(vec![
            TreeFile { path: "bin/search.sh".into(), id: id(1), mode: Mode::Executable },
            TreeFile { path: "lib/Search.py".into(), id: id(2), mode: Mode::File },
            TreeFile { path: "copy/search.sh".into(), id: id(1), mode: Mode::File },
        ]);
        assert!(index.contains("bin/search.sh"));
        assert_eq!(index.with_blob(id(1)).count(), 2);
        assert_eq!(index.named("SEARCH.SH").count(), 2);
        assert_eq!(index.with_stem("search").count(), 3);
        assert!(index.has_dir("bin") && !index.has_dir("bin/search.sh"));
    }
}
