//! The files reached from the tests through what covered code loads: a covered file that
//! imports, sources, requires or runs another covers it too (the test that runs the first runs
//! what it loads), up to [`REACH_DEPTH`] steps from a test. References resolve as a test's do:
//! by a path suffix, a module or package, or a Ruby constant (see `coverage::reference_keys`).
//!
//! An index from each reference to the files that make it; a question about one path walks back
//! from it through who loads it, at most [`REACH_DEPTH`] steps, and asks whether a test covers
//! only the files on that walk. The cost of a question follows the files that load the path, not
//! the size of the tree.
//!
//! The index is one byte table, read by bisection where it lies: built from every file of code
//! of the release tree when the tree is new, and kept in `GIT_DIR/gate/reach-v1.bin`, sealed,
//! for the tree and path classes it was built for, so that a run on the same tree builds nothing.
//! The version in the name and header changes whenever what is stored changes meaning.

use std::collections::{BTreeMap, HashMap};

use globset::GlobSet;

use super::coverage::{reference_keys, suffixes};
use crate::git::Sealed;
use crate::git::bytes::{Reader, put_bytes32, put_u32};

/// How many steps from a test the files covered code loads are followed.
const REACH_DEPTH: usize = 3;

const MAGIC: &[u8; 8] = b"GATERCH\x01";
const FILE_NAME: &str = "reach-v1.bin";

/// The table: the files of code (`u32` count, then each path as `u32` length and bytes), then
/// the references in byte order, each with the positions of the files that make it (`u32`
/// length, bytes, `u32` count, `u32` positions in ascending order).
#[derive(Debug, Default)]
pub struct Reach {
    table: Vec<u8>,
    /// Where each file's path starts.
    paths: Vec<u32>,
    /// Where each reference starts, in byte order.
    refs: Vec<u32>,
    /// The references that are patterns (`for f in /usr/local/bin/setup.d/*.sh; do source "$f"`),
    /// compiled when the table is read, and the position in `refs` of each.
    patterns: GlobSet,
    pattern_refs: Vec<usize>,
    /// A file, lower-cased -> the paths a container image installs it at: code in the image
    /// loads it by those. Not kept: it comes from the release's Dockerfiles on every run.
    installed: HashMap<String, Vec<String>>,
}

impl Reach {
    /// `files`: every file of code with what it refers to.
    pub fn build(files: &[(&str, &[String])]) -> Reach {
        let mut referrers: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
        for (i, (_, refs)) in files.iter().enumerate() {
            for reference in refs.iter() {
                let slot = referrers.entry(reference.as_str()).or_default();
                if slot.last() != Some(&(i as u32)) {
                    slot.push(i as u32);
                }
            }
        }
        let mut table = Vec::new();
        put_u32(&mut table, files.len() as u32);
        for (path, _) in files {
            put_bytes32(&mut table, path.as_bytes());
        }
        put_u32(&mut table, referrers.len() as u32);
        for (reference, loaders) in &referrers {
            put_bytes32(&mut table, reference.as_bytes());
            put_u32(&mut table, loaders.len() as u32);
            for &loader in loaders {
                put_u32(&mut table, loader);
            }
        }
        Reach::index(table).unwrap_or_default()
    }

    /// The index kept for `key` (the release tree and the classes that chose its files of code),
    /// if there is one that verifies.
    pub fn kept(file: &Sealed, key: &[u8; 32]) -> Option<Reach> {
        let body = file.read()?;
        let table = body.strip_prefix(MAGIC.as_slice())?.strip_prefix(key.as_slice())?;
        Reach::index(table.to_vec())
    }

    /// Keeps the index for `key`. One that cannot be kept only costs the next run a build.
    pub fn keep(&self, file: &Sealed, key: &[u8; 32]) {
        let _ = file.seal_and_write([MAGIC.as_slice(), key, &self.table].concat());
    }

    /// The kept index file of a repository.
    pub fn file(git_dir: &std::path::Path) -> Option<Sealed> {
        Sealed::in_git_dir(git_dir, FILE_NAME)
    }

    /// Finds where each path and reference starts; `None` unless the table reads whole, its
    /// references are in order and every position names a file.
    fn index(table: Vec<u8>) -> Option<Reach> {
        // Offsets are 32-bit: a table past 4 GiB is refused, and its tree then has no reach
        // (more untested changes, never fewer).
        u32::try_from(table.len()).ok()?;
        let mut r = Reader::new(&table);
        let files = r.u32()?;
        let mut paths = Vec::with_capacity(files.min(1 << 22) as usize);
        for _ in 0..files {
            paths.push(r.position(&table) as u32);
            r.bytes32()?;
        }
        let count = r.u32()?;
        let mut refs = Vec::with_capacity(count.min(1 << 22) as usize);
        let mut previous: Option<&[u8]> = None;
        for _ in 0..count {
            refs.push(r.position(&table) as u32);
            let reference = r.bytes32()?;
            if previous.is_some_and(|p| p >= reference) {
                return None;
            }
            previous = Some(reference);
            for _ in 0..r.u32()? {
                if r.u32()? >= files {
                    return None;
                }
            }
        }
        if !r.is_empty() {
            return None;
        }
        let mut reach = Reach { table, paths, refs, ..Reach::default() };
        reach.compile_patterns();
        Some(reach)
    }

    /// Compiles the references that are patterns; one that is not a valid glob matches nothing.
    fn compile_patterns(&mut self) {
        let mut set = globset::GlobSetBuilder::new();
        for (at, &start) in self.refs.iter().enumerate() {
            let text = Reader::at(&self.table, start as usize).bytes32().unwrap_or_default();
            let Ok(text) = std::str::from_utf8(text) else { continue };
            if !text.contains('*') {
                continue;
            }
            if let Ok(glob) = globset::GlobBuilder::new(text).literal_separator(true).build() {
                set.add(glob);
                self.pattern_refs.push(at);
            }
        }
        self.patterns = set.build().unwrap_or_else(|_| GlobSet::empty());
    }

    /// Where container images install the files (see [`super::images::Images`]): code that
    /// refers to a file by its installed path loads it.
    pub fn with_installed(mut self, installed: &HashMap<String, Vec<String>>) -> Reach {
        self.installed = installed.clone();
        self
    }

    /// The covered file that loads `path`, if one does: of the files that load it, the one
    /// fewest steps from a test (`direct` says whether a test covers a file), the first in
    /// tree order among equals.
    pub fn via(&self, path: &str, direct: &dyn Fn(&str) -> bool) -> Option<&str> {
        let loaders = |p: &str| -> Vec<u32> {
            let mut keys = reference_keys(p);
            for installed in self.installed.get(&p.to_lowercase()).into_iter().flatten() {
                keys.extend(suffixes(installed).map(str::to_string));
            }
            let mut found: Vec<u32> = keys.iter().flat_map(|k| self.loaders(k)).collect();
            if !self.pattern_refs.is_empty() {
                for key in keys.iter().filter(|k| k.contains('/')) {
                    for at in self.patterns.matches(key) {
                        found.extend(self.loaders_at(self.pattern_refs[at]));
                    }
                }
            }
            found.sort_unstable();
            found.dedup();
            found
        };
        let first = loaders(path);
        // Walk back level by level; `origin[f]` is the loader of `path` that the walk to `f`
        // started from.
        let mut origin: HashMap<u32, u32> = first.iter().map(|&f| (f, f)).collect();
        let mut level = first;
        for step in 1..=REACH_DEPTH {
            let covered = level.iter().filter(|&&f| direct(self.path(f))).map(|f| origin[f]).min();
            if let Some(loader) = covered {
                return Some(self.path(loader));
            }
            if step == REACH_DEPTH {
                break;
            }
            let mut next = Vec::new();
            for &f in &level {
                let from = origin[&f];
                for g in loaders(self.path(f)) {
                    if let std::collections::hash_map::Entry::Vacant(slot) = origin.entry(g) {
                        slot.insert(from);
                        next.push(g);
                    }
                }
            }
            next.sort_unstable();
            level = next;
        }
        None
    }

    /// The path of file `i`.
    fn path(&self, i: u32) -> &str {
        let mut r = Reader::at(&self.table, self.paths[i as usize] as usize);
        r.bytes32().and_then(|bytes| std::str::from_utf8(bytes).ok()).unwrap_or_default()
    }

    /// The files that make `reference`.
    fn loaders(&self, reference: &str) -> Vec<u32> {
        let text_at = |at: u32| Reader::at(&self.table, at as usize).bytes32().unwrap_or_default();
        match self.refs.binary_search_by(|&at| text_at(at).cmp(reference.as_bytes())) {
            Ok(found) => self.loaders_at(found),
            Err(_) => Vec::new(),
        }
    }

    /// The files that make the reference at position `found` of `refs`.
    fn loaders_at(&self, found: usize) -> Vec<u32> {
        let mut r = Reader::at(&self.table, self.refs[found] as usize);
        r.bytes32();
        let count = r.u32().unwrap_or(0);
        (0..count).filter_map(|_| r.u32()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_index_answers_as_the_built_one_and_damage_is_not_believed() {
        let app = vec!["mod:pkg.models".to_string()];
        let built = Reach::build(&[("pkg/app.py", &app), ("pkg/models.py", &[])]);
        let kept = Reach::index(built.table.clone()).unwrap();
        let direct = |p: &str| p == "pkg/app.py";
        assert_eq!(kept.via("pkg/models.py", &direct), Some("pkg/app.py"));
        assert_eq!(built.via("pkg/models.py", &direct), Some("pkg/app.py"));
        let mut out_of_range = built.table.clone();
        let last = out_of_range.len() - 4;
        out_of_range[last..].copy_from_slice(&7u32.to_le_bytes());
        assert!(Reach::index(out_of_range).is_none());
        assert!(Reach::index(built.table[..built.table.len() - 1].to_vec()).is_none());
    }
}
