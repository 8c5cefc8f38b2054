//! Every file of the release tree, indexed by path, blob id, file name and stem.
//!
//! Checks that relate a changed file to the rest of the release (the original of a `_v2`, the
//! test file for a script, an exact copy) look things up here instead of walking the tree again.

use std::collections::{HashMap, HashSet};

use git2::{ObjectType, Oid, TreeWalkMode, TreeWalkResult};

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

#[derive(Debug, Default)]
pub struct TreeIndex {
    /// Sorted by path.
    files: Vec<TreeFile>,
    by_path: HashMap<String, usize>,
    by_blob: HashMap<Oid, Vec<usize>>,
    by_name: HashMap<String, Vec<usize>>,
    by_stem: HashMap<String, Vec<usize>>,
    dirs: HashSet<String>,
}

impl TreeIndex {
    /// Lists the tree `id` recursively. Submodules are listed with their commit id.
    pub fn build(repo: &Repo, id: Oid) -> Result<TreeIndex> {
        let fail = |err: git2::Error| Error::git(format!("cannot read tree {}", short(id)), &err);
        let tree = repo.git.find_tree(id).map_err(fail)?;
        let mut files = Vec::new();
        tree.walk(TreeWalkMode::PreOrder, |dir, entry| {
            let mode = match (entry.kind(), entry.filemode()) {
                (Some(ObjectType::Tree), _) => return TreeWalkResult::Ok,
                (_, 0o100755) => Mode::Executable,
                (_, 0o120000) => Mode::Symlink,
                (_, 0o160000) => Mode::Submodule,
                _ => Mode::File,
            };
            let name = String::from_utf8_lossy(entry.name_bytes());
            files.push(TreeFile { path: format!("{dir}{name}"), id: entry.id(), mode });
            TreeWalkResult::Ok
        })
        .map_err(fail)?;
        files.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(TreeIndex::from_files(files))
    }

    pub fn from_files(files: Vec<TreeFile>) -> TreeIndex {
        let mut index = TreeIndex { files, ..TreeIndex::default() };
        for (i, file) in index.files.iter().enumerate() {
            index.by_path.insert(file.path.clone(), i);
            index.by_blob.entry(file.id).or_default().push(i);
            index.by_name.entry(file.name().to_lowercase()).or_default().push(i);
            index.by_stem.entry(stem(file.name()).to_lowercase()).or_default().push(i);
            let mut dir = file.path.as_str();
            while let Some((parent, _)) = dir.rsplit_once('/') {
                if !index.dirs.insert(parent.to_string()) {
                    break;
                }
                dir = parent;
            }
        }
        index
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
        self.by_path.get(path).copied()
    }

    pub fn get(&self, path: &str) -> Option<&TreeFile> {
        self.by_path.get(path).map(|&i| &self.files[i])
    }

    pub fn contains(&self, path: &str) -> bool {
        self.by_path.contains_key(path)
    }

    /// Whether `dir` (no trailing slash) is a directory of the tree.
    pub fn has_dir(&self, dir: &str) -> bool {
        self.dirs.contains(dir)
    }

    /// Files with this blob id.
    pub fn with_blob(&self, id: Oid) -> impl Iterator<Item = &TreeFile> {
        self.by_blob.get(&id).into_iter().flatten().map(|&i| &self.files[i])
    }

    /// Files with this name (case-insensitive), anywhere in the tree.
    pub fn named(&self, name: &str) -> impl Iterator<Item = &TreeFile> {
        self.by_name.get(&name.to_lowercase()).into_iter().flatten().map(|&i| &self.files[i])
    }

    /// Files whose stem (name without its last extension) is `stem`, case-insensitive.
    pub fn with_stem(&self, stem: &str) -> impl Iterator<Item = &TreeFile> {
        self.by_stem.get(&stem.to_lowercase()).into_iter().flatten().map(|&i| &self.files[i])
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
    use super::*;

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
