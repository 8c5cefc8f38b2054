//! Facts about the release that several checks share, computed lazily and at most once per run:
//! the release tree's index, the facts of its blobs (read in one parallel pass, cached on disk),
//! and what the tests refer to.

pub mod config_files;
pub mod coverage;
pub mod names;
pub mod similarity;

use std::cell::OnceCell;

use crate::Result;
use crate::config::Policy;
use crate::git::{BlobStore, Range, Repo, TreeIndex};

/// Reports progress of long steps; the command decides whether and how to show it.
pub trait Progress {
    /// `done` of `total` items of `stage` are finished.
    fn update(&self, stage: &str, done: usize, total: usize);
    /// The step is over; clear whatever was shown.
    fn finish(&self);
}

/// Shows nothing.
pub struct Silent;

impl Progress for Silent {
    fn update(&self, _: &str, _: usize, _: usize) {}
    fn finish(&self) {}
}

/// Which tree files the checks in force need facts for.
#[derive(Debug, Clone, Copy, Default)]
pub struct Needs {
    /// Every text file of the tree (near-duplicate search).
    pub all_files: bool,
    /// The references of every file of the `tests` class (untested-change).
    pub test_references: bool,
    /// Most bytes of blob content to read in one run; blobs past it are not read.
    pub read_budget: u64,
    /// Configuration files larger than this are not parsed.
    pub config_max_bytes: u64,
}

pub struct Analysis<'a> {
    pub repo: &'a Repo,
    pub store: &'a BlobStore<'a>,
    policy: &'a Policy,
    range: &'a Range,
    progress: &'a dyn Progress,
    needs: Needs,
    tree: OnceCell<TreeIndex>,
    /// Set once the tree is read: how many blobs the read budget left unread.
    prefetched: OnceCell<usize>,
    references: OnceCell<coverage::References>,
    config_files: OnceCell<Vec<config_files::ConfigFile>>,
    changes: &'a crate::git::ChangeSet,
}

impl<'a> Analysis<'a> {
    pub fn new(
        repo: &'a Repo,
        store: &'a BlobStore<'a>,
        policy: &'a Policy,
        range: &'a Range,
        changes: &'a crate::git::ChangeSet,
        progress: &'a dyn Progress,
        needs: Needs,
    ) -> Analysis<'a> {
        Analysis {
            repo,
            store,
            policy,
            range,
            progress,
            needs,
            tree: OnceCell::new(),
            prefetched: OnceCell::new(),
            references: OnceCell::new(),
            config_files: OnceCell::new(),
            changes,
        }
    }

    /// The changed configuration files, read on both sides and diffed.
    pub fn config_files(&self) -> Result<&[config_files::ConfigFile]> {
        if let Some(files) = self.config_files.get() {
            return Ok(files);
        }
        let files = config_files::read(self.policy, self.changes, self.store, self.needs.config_max_bytes)?;
        Ok(self.config_files.get_or_init(|| files))
    }

    /// Every file of the release tree.
    pub fn tree(&self) -> Result<&TreeIndex> {
        if let Some(tree) = self.tree.get() {
            return Ok(tree);
        }
        let tree = TreeIndex::build(self.repo, self.range.release.tree)?;
        Ok(self.tree.get_or_init(|| tree))
    }

    /// Reads, in one parallel pass, every blob the checks in force will ask about, so that each
    /// is read at most once (and not at all when the cache knows it).
    /// Returns how many blobs were left unread because the read budget ran out.
    pub fn prefetch(&self) -> Result<usize> {
        if let Some(unread) = self.prefetched.get() {
            return Ok(*unread);
        }
        let tree = self.tree()?;
        let paths = &self.policy.paths;
        let wanted: Vec<(git2::Oid, bool)> = tree
            .files()
            .iter()
            .filter(|f| f.mode != crate::git::Mode::Submodule && !paths.ignore.matches(&f.path))
            .filter_map(|f| {
                let is_test = self.needs.test_references && paths.tests.matches(&f.path);
                (self.needs.all_files || is_test).then_some((f.id, is_test))
            })
            .collect();
        let progress = |done: usize, total: usize| self.progress.update("reading the release tree", done, total);
        let result = self.store.prefetch(&wanted, coverage::references, self.needs.read_budget, &progress);
        self.progress.finish();
        let unread = result?;
        Ok(*self.prefetched.get_or_init(|| unread))
    }

    /// What the files of the `tests` class refer to.
    pub fn references(&self) -> Result<&coverage::References> {
        if let Some(refs) = self.references.get() {
            return Ok(refs);
        }
        self.prefetch()?;
        let tree = self.tree()?;
        let mut refs = coverage::References::default();
        for file in tree.files() {
            let is_test = self.policy.paths.tests.matches(&file.path) && !self.policy.paths.ignore.matches(&file.path);
            if is_test && file.mode != crate::git::Mode::Submodule {
                match self.store.known_refs(file.id) {
                    Some(names) => refs.add(&file.path, &names),
                    None => refs.unread += 1,
                }
            }
        }
        Ok(self.references.get_or_init(|| refs))
    }
}
