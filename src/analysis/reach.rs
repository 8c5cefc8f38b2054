//! The files reached from the tests through what covered code loads: a covered file that
//! imports, sources, requires or runs another covers it too (the test that runs the first runs
//! what it loads), up to [`REACH_DEPTH`] steps from a test. References resolve as a test's do:
//! by a path suffix, a module or package, or a Ruby constant (see `coverage::reference_keys`).
//!
//! A question about one path walks back from it through who loads it, at most [`REACH_DEPTH`]
//! steps, and asks whether a test covers only the files on that walk. Who loads a path is found
//! in an index of the words each file of code mentions (see [`super::mentions`]): only the files
//! that mention every word of one of the path's reference keys are asked what they refer to
//! (from the blob cache, or read), so a run reads the references of the few files that could
//! load what it asks about, not of every file of code.
//!
//! The index is one byte table, read by bisection where it lies, kept in
//! `GIT_DIR/gate/reach-v2.bin`, sealed, for the tree and path classes it was built for: a run on
//! the same tree builds nothing, and a run on a tree whose listing was updated from that one (see
//! [`crate::git::Patch`]) takes the kept table with the changed files of code taken out and put
//! back. The version in the name and header changes whenever what is stored changes meaning.

use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use globset::GlobSet;

use super::coverage::{reference_keys, suffixes};
use super::mentions::{Mentions, Needle};
use crate::Result;
use crate::git::Sealed;
use crate::git::bytes::{Reader, put_bytes32, put_u32};

/// How many steps from a test the files covered code loads are followed.
const REACH_DEPTH: usize = 3;

const MAGIC: &[u8; 8] = b"GATERCH\x02";
const FILE_NAME: &str = "reach-v2.bin";

/// What a file of code refers to, by its path: its references, as `coverage::references` gives
/// them.
pub type Refers<'f> = dyn Fn(&str) -> Result<Arc<[String]>> + 'f;

/// The table: the files of code in path order (`u32` count, then for each its path as `u32`
/// length and bytes, and its words: a `u32` count and the hashes in ascending order).
#[derive(Debug, Default)]
pub struct Reach {
    table: Vec<u8>,
    /// Where each file's entry starts.
    files: Vec<u32>,
    /// The files by word, built when the first question is asked.
    postings: OnceCell<Postings>,
    /// A file, lower-cased -> the paths a container image installs it at: code in the image
    /// loads it by those. Not kept: it comes from the release's Dockerfiles on every run.
    installed: HashMap<String, Vec<String>>,
    /// What the files asked about so far refer to, by position.
    asked: RefCell<HashMap<u32, Rc<Asked>>>,
    /// The files found to make each reference key asked about so far: the keys of a package
    /// are asked again for each of its files.
    makers: RefCell<HashMap<String, Rc<[u32]>>>,
}

/// What one file refers to, ready for the questions a run asks of it: each reference looked up
/// by bisection, the patterns compiled once.
#[derive(Debug)]
struct Asked {
    refs: Arc<[String]>,
    sorted: bool,
    patterns: OnceCell<GlobSet>,
}

impl Asked {
    fn makes(&self, key: &str) -> bool {
        let named = if self.sorted {
            self.refs.binary_search_by(|r| r.as_str().cmp(key)).is_ok()
        } else {
            self.refs.iter().any(|r| r == key)
        };
        named || (key.contains('/') && self.patterns.get_or_init(|| compile_patterns(&self.refs)).is_match(key))
    }
}

/// The files that mention a word of each bucket of hashes (the top 16 bits), in path order: a
/// lookup reads the bucket of a key's rarest word and checks each file's own words.
#[derive(Debug)]
struct Postings {
    starts: Vec<u32>,
    files: Vec<u32>,
}

/// One file of the table.
struct Entry<'t> {
    path: &'t [u8],
    /// The hashes, four little-endian bytes each.
    words: &'t [u8],
}

impl Entry<'_> {
    fn word(&self, at: usize) -> u32 {
        u32::from_le_bytes([self.words[4 * at], self.words[4 * at + 1], self.words[4 * at + 2], self.words[4 * at + 3]])
    }

    fn len(&self) -> usize {
        self.words.len() / 4
    }

    fn has(&self, word: u32) -> bool {
        let (mut low, mut high) = (0, self.len());
        while low < high {
            let mid = (low + high) / 2;
            match self.word(mid).cmp(&word) {
                std::cmp::Ordering::Less => low = mid + 1,
                std::cmp::Ordering::Greater => high = mid,
                std::cmp::Ordering::Equal => return true,
            }
        }
        false
    }
}

impl Reach {
    /// `files`: files of code with what each refers to.
    pub fn build(files: &[(&str, &[String])]) -> Reach {
        Reach::from_mentions(files.iter().map(|(path, refs)| (*path, Mentions::of_refs(refs))).collect())
    }

    /// `files`: every file of code with what it mentions.
    pub fn from_mentions(mut files: Vec<(&str, Mentions)>) -> Reach {
        files.sort_by(|a, b| a.0.cmp(b.0));
        files.dedup_by(|a, b| a.0 == b.0);
        let mut table = Vec::new();
        put_u32(&mut table, files.len() as u32);
        for (path, mentions) in &files {
            put_file(&mut table, path, mentions);
        }
        Reach::index(table).unwrap_or_default()
    }

    /// This index for a tree that differs from its own by files of code at `removed` (changed or
    /// deleted) and `added` (changed or added, with what they mention). The files in between are
    /// copied as they are, in runs. `None` if that does not make an index (a file added that
    /// it has and that is not removed).
    pub fn patched(&self, removed: &[&str], mut added: Vec<(&str, Mentions)>) -> Option<Reach> {
        added.sort_by(|a, b| a.0.cmp(b.0));
        added.dedup_by(|a, b| a.0 == b.0);
        let at = |path: &str| self.files.partition_point(|&f| self.entry_at(f).path < path.as_bytes());
        let is = |i: usize, path: &str| i < self.files.len() && self.entry(i).path == path.as_bytes();
        // What changes, by position in this table: a file taken out, or one put in before it.
        let mut edits: Vec<(usize, Option<(&str, &Mentions)>)> = removed
            .iter()
            .map(|path| (at(path), *path))
            .filter(|&(i, path)| is(i, path))
            .map(|(i, _)| (i, None))
            .collect();
        edits.extend(added.iter().map(|(path, mentions)| (at(path), Some((*path, mentions)))));
        // Removals before insertions at the same position: a changed file is taken out and put
        // back.
        edits.sort_by_key(|&(i, put)| (i, put.is_some()));
        let mut reach = Reach { table: Vec::with_capacity(self.table.len()), ..Reach::default() };
        put_u32(&mut reach.table, 0);
        let mut copied = 0;
        let copy = |reach: &mut Reach, to: usize, copied: &mut usize| {
            if to > *copied {
                let (from, at) = (self.files[*copied] as usize, reach.table.len());
                reach.files.extend(self.files[*copied..to].iter().map(|&f| (f as usize - from + at) as u32));
                reach.table.extend_from_slice(&self.table[from..self.start_of(to)]);
                *copied = to;
            }
        };
        for (i, put) in edits {
            copy(&mut reach, i, &mut copied);
            match put {
                None => copied = copied.max(i + 1),
                Some((path, mentions)) => {
                    reach.files.push(reach.table.len() as u32);
                    put_file(&mut reach.table, path, mentions);
                }
            }
        }
        copy(&mut reach, self.files.len(), &mut copied);
        let count = reach.files.len() as u32;
        reach.table[..4].copy_from_slice(&count.to_le_bytes());
        // The files copied were read whole when this index was; what is left to see is that the
        // paths are still in order where files went in.
        let ordered = (1..reach.files.len()).all(|i| reach.entry(i - 1).path < reach.entry(i).path);
        (u32::try_from(reach.table.len()).is_ok() && ordered).then_some(reach)
    }

    /// The index kept for `key` (the release tree and the classes that chose its files of code),
    /// if there is one that verifies.
    pub fn kept(file: &Sealed, key: &[u8; 32]) -> Option<Reach> {
        let mut body = file.read()?;
        if !body.strip_prefix(MAGIC.as_slice())?.starts_with(key) {
            return None;
        }
        body.drain(..MAGIC.len() + key.len());
        Reach::index(body)
    }

    /// Keeps the index for `key`. One that cannot be kept only costs the next run a build.
    pub fn keep(&self, file: &Sealed, key: &[u8; 32]) {
        let _ = file.seal_and_write(&[MAGIC.as_slice(), key, &self.table]);
    }

    /// The kept index file of a repository.
    pub fn file(git_dir: &std::path::Path) -> Option<Sealed> {
        Sealed::in_git_dir(git_dir, FILE_NAME)
    }

    /// Finds where each file starts; `None` unless the table reads whole, its paths are in
    /// order and each file's words are.
    fn index(table: Vec<u8>) -> Option<Reach> {
        // Offsets are 32-bit: a table past 4 GiB is refused, and its tree then has no kept
        // index (it is built on every run).
        u32::try_from(table.len()).ok()?;
        let mut r = Reader::new(&table);
        let count = r.u32()?;
        let mut files = Vec::with_capacity(count.min(1 << 22) as usize);
        let mut previous: Option<&[u8]> = None;
        for _ in 0..count {
            files.push(r.position(&table) as u32);
            let path = r.bytes32()?;
            std::str::from_utf8(path).ok()?;
            if previous.is_some_and(|p| p >= path) {
                return None;
            }
            previous = Some(path);
            let words = r.u32()? as usize;
            let words = r.take(words.checked_mul(4)?)?;
            let ascending = words.chunks_exact(4).map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
            if !ascending.clone().zip(ascending.skip(1)).all(|(a, b)| a < b) {
                return None;
            }
        }
        r.is_empty().then(|| Reach { table, files, ..Reach::default() })
    }

    /// Where container images install the files (see [`super::images::Images`]): code that
    /// refers to a file by its installed path loads it.
    pub fn with_installed(mut self, installed: &HashMap<String, Vec<String>>) -> Reach {
        self.installed = installed.clone();
        self
    }

    /// The covered file that loads `path`, if one does: of the files that load it, the one
    /// fewest steps from a test (`direct` says whether a test covers a file), the first in
    /// tree order among equals. `refers` gives what a file of code refers to.
    pub fn via(&self, path: &str, direct: &dyn Fn(&str) -> bool, refers: &Refers<'_>) -> Result<Option<&str>> {
        let first = self.loaders(path, refers)?;
        // Walk back level by level; `origin[f]` is the loader of `path` that the walk to `f`
        // started from.
        let mut origin: HashMap<u32, u32> = first.iter().map(|&f| (f, f)).collect();
        let mut level = first;
        for step in 1..=REACH_DEPTH {
            let covered = level.iter().filter(|&&f| direct(self.path(f))).map(|f| origin[f]).min();
            if let Some(loader) = covered {
                return Ok(Some(self.path(loader)));
            }
            if step == REACH_DEPTH {
                break;
            }
            let mut next = Vec::new();
            for &f in &level {
                let from = origin[&f];
                for g in self.loaders(self.path(f), refers)? {
                    if let std::collections::hash_map::Entry::Vacant(slot) = origin.entry(g) {
                        slot.insert(from);
                        next.push(g);
                    }
                }
            }
            next.sort_unstable();
            level = next;
        }
        Ok(None)
    }

    /// The files that load `path`, in path order: those that make one of its reference keys, or
    /// a pattern that matches one with a directory.
    fn loaders(&self, path: &str, refers: &Refers<'_>) -> Result<Vec<u32>> {
        let mut keys = reference_keys(path);
        for installed in self.installed.get(&path.to_lowercase()).into_iter().flatten() {
            keys.extend(suffixes(installed).map(str::to_string));
        }
        let mut found = Vec::new();
        for key in &keys {
            found.extend_from_slice(&self.makers(key, refers)?);
        }
        found.sort_unstable();
        found.dedup();
        Ok(found)
    }

    /// The files that make the reference `key`, or a pattern that matches it when it has a
    /// directory: of the files whose words say they may, those whose references say they do.
    fn makers(&self, key: &str, refers: &Refers<'_>) -> Result<Rc<[u32]>> {
        if let Some(found) = self.makers.borrow().get(key) {
            return Ok(found.clone());
        }
        let mut found = Vec::new();
        for file in self.candidates(&Needle::of(key)) {
            let asked = self.asked.borrow().get(&file).cloned();
            let asked = match asked {
                Some(asked) => asked,
                None => {
                    let refs = refers(self.path(file))?;
                    let sorted = refs.windows(2).all(|w| w[0] < w[1]);
                    let asked = Rc::new(Asked { refs, sorted, patterns: OnceCell::new() });
                    self.asked.borrow_mut().insert(file, asked.clone());
                    asked
                }
            };
            if asked.makes(key) {
                found.push(file);
            }
        }
        let found: Rc<[u32]> = found.into();
        self.makers.borrow_mut().insert(key.to_string(), found.clone());
        Ok(found)
    }

    /// The files whose words say they may make the reference `needle` stands for, in path order.
    fn candidates(&self, needle: &Needle) -> Vec<u32> {
        let postings = self.postings.get_or_init(|| self.postings());
        let mut found = Vec::new();
        for words in std::iter::once(&needle.words).chain(&needle.pattern) {
            let may = |file: u32| {
                let entry = self.entry(file as usize);
                words.iter().all(|&w| entry.has(w))
            };
            match words.iter().map(|&w| postings.bucket(w)).min_by_key(|bucket| bucket.len()) {
                Some(bucket) => found.extend(bucket.iter().copied().filter(|&f| may(f))),
                // A key with no word to look for: every file may make it.
                None => found.extend((0..self.files.len() as u32).filter(|&f| may(f))),
            }
        }
        found.sort_unstable();
        found.dedup();
        found
    }

    /// The files of each bucket of word hashes, in two passes over the words: count, then place.
    fn postings(&self) -> Postings {
        // A file's words are in order, so the words of one bucket are next to each other.
        fn buckets(entry: Entry<'_>) -> impl Iterator<Item = usize> + '_ {
            let mut last = None;
            (0..entry.len()).filter_map(move |at| {
                let bucket = entry.word(at) >> 16;
                (last.replace(bucket) != Some(bucket)).then_some(bucket as usize)
            })
        }
        let mut starts = vec![0u32; (1 << 16) + 1];
        for i in 0..self.files.len() {
            for bucket in buckets(self.entry(i)) {
                starts[bucket + 1] += 1;
            }
        }
        for bucket in 0..1 << 16 {
            starts[bucket + 1] += starts[bucket];
        }
        let mut next = starts.clone();
        let mut files = vec![0u32; starts[1 << 16] as usize];
        for i in 0..self.files.len() {
            for bucket in buckets(self.entry(i)) {
                files[next[bucket] as usize] = i as u32;
                next[bucket] += 1;
            }
        }
        Postings { starts, files }
    }

    /// File `i` of the table.
    fn entry(&self, i: usize) -> Entry<'_> {
        self.entry_at(self.files[i])
    }

    /// The file whose entry starts at `offset`.
    fn entry_at(&self, offset: u32) -> Entry<'_> {
        let mut r = Reader::at(&self.table, offset as usize);
        let path = r.bytes32().unwrap_or_default();
        let words = r.u32().and_then(|n| r.take(4 * n as usize)).unwrap_or_default();
        Entry { path, words }
    }

    /// Where the entry of file `i` starts: the end of the table past the last file.
    fn start_of(&self, i: usize) -> usize {
        self.files.get(i).map_or(self.table.len(), |&at| at as usize)
    }

    /// The path of file `i`.
    fn path(&self, i: u32) -> &str {
        std::str::from_utf8(self.entry(i as usize).path).unwrap_or_default()
    }
}

impl Postings {
    fn bucket(&self, word: u32) -> &[u32] {
        let bucket = (word >> 16) as usize;
        &self.files[self.starts[bucket] as usize..self.starts[bucket + 1] as usize]
    }
}

fn put_file(table: &mut Vec<u8>, path: &str, mentions: &Mentions) {
    put_bytes32(table, path.as_bytes());
    put_u32(table, mentions.words.len() as u32);
    for &word in &mentions.words {
        put_u32(table, word);
    }
}

/// The references that are patterns (`for f in /usr/local/bin/setup.d/*.sh; do source "$f"`);
/// one that is not a valid glob matches nothing.
fn compile_patterns(refs: &[String]) -> GlobSet {
    let mut set = globset::GlobSetBuilder::new();
    for text in refs.iter().filter(|r| r.contains('*')) {
        if let Ok(glob) = globset::GlobBuilder::new(text).literal_separator(true).build() {
            set.add(glob);
        }
    }
    set.build().unwrap_or_else(|_| GlobSet::empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refers<'a>(files: &'a [(&str, Vec<String>)]) -> impl Fn(&str) -> Result<Arc<[String]>> + 'a {
        move |path: &str| Ok(files.iter().find(|(p, _)| *p == path).map(|(_, r)| r.clone()).unwrap_or_default().into())
    }

    #[test]
    fn a_kept_index_answers_as_the_built_one_and_damage_is_not_believed() {
        let files = [("pkg/app.py", vec!["mod:pkg.models".to_string()]), ("pkg/models.py", vec![])];
        let built = Reach::build(&files.iter().map(|(p, r)| (*p, r.as_slice())).collect::<Vec<_>>());
        let kept = Reach::index(built.table.clone()).unwrap();
        let direct = |p: &str| p == "pkg/app.py";
        let refers = refers(&files);
        assert_eq!(kept.via("pkg/models.py", &direct, &refers).unwrap(), Some("pkg/app.py"));
        assert_eq!(built.via("pkg/models.py", &direct, &refers).unwrap(), Some("pkg/app.py"));
        let mut unordered = built.table.clone();
        let last = unordered.len() - 1;
        unordered[last] = 0xff;
        assert!(Reach::index(unordered).is_none());
        assert!(Reach::index(built.table[..built.table.len() - 1].to_vec()).is_none());
        let mut extra = built.table.clone();
        extra.push(0);
        assert!(Reach::index(extra).is_none());
    }

    #[test]
    fn lookups_answer_alike_before_and_after_the_postings() {
        let files: Vec<(String, Vec<String>)> = (0..40)
            .map(|i| (format!("pkg/m{i:02}.py"), vec![format!("mod:pkg.m{:02}", (i + 1) % 40), "lib/*.sh".to_string()]))
            .collect();
        let reach = Reach::build(&files.iter().map(|(p, r)| (p.as_str(), r.as_slice())).collect::<Vec<_>>());
        let refers =
            |path: &str| Ok(files.iter().find(|(p, _)| p == path).map(|(_, r)| r.clone()).unwrap_or_default().into());
        let asked: Vec<String> = (0..40).map(|i| format!("pkg/m{i:02}.py")).chain(["lib/x.sh".into()]).collect();
        let loaders = |reach: &Reach| asked.iter().map(|p| reach.loaders(p, &refers).unwrap()).collect::<Vec<_>>();
        let before = loaders(&reach);
        assert!(reach.postings.get().is_some());
        assert_eq!(loaders(&reach), before);
        assert_eq!(before[1], [0]);
        assert_eq!(before[40].len(), 40);
    }

    #[test]
    fn a_patched_index_is_the_index_of_the_new_files() {
        let old = [
            ("a/app.py", vec!["mod:a.models".to_string()]),
            ("a/gone.py", vec!["mod:a.models".to_string()]),
            ("a/models.py", vec![]),
            ("b/run.sh", vec!["lib/x.sh".to_string()]),
        ];
        let new = [
            ("a/app.py", vec!["mod:a.util".to_string()]),
            ("a/models.py", vec![]),
            ("a/new.py", vec!["mod:a.models".to_string()]),
            ("b/run.sh", vec!["lib/x.sh".to_string()]),
            ("c/last.sh", vec!["lib/*.sh".to_string()]),
        ];
        let table = |files: &[(&str, Vec<String>)]| {
            Reach::build(&files.iter().map(|(p, r)| (*p, r.as_slice())).collect::<Vec<_>>()).table
        };
        let mentions = |files: &[(&'static str, Vec<String>)], path: &str| {
            (
                files.iter().find(|f| f.0 == path).unwrap().0,
                Mentions::of_refs(&files.iter().find(|f| f.0 == path).unwrap().1),
            )
        };
        let old_reach = Reach::index(table(&old)).unwrap();
        let patched = old_reach.patched(
            &["a/app.py", "a/gone.py", "a/never.py"],
            vec![mentions(&new, "c/last.sh"), mentions(&new, "a/new.py"), mentions(&new, "a/app.py")],
        );
        let patched = patched.unwrap();
        assert_eq!(patched.table, table(&new));
        assert_eq!(patched.files, Reach::index(table(&new)).unwrap().files);
        // A file it has, added again without being taken out, makes no index.
        assert!(old_reach.patched(&[], vec![mentions(&new, "a/models.py")]).is_none());
    }
}
