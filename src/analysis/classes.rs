//! Which path classes each file of the release tree is in, as far as reading the tree goes:
//! ignored, a test, a test whose code counts, code that loads other files.
//!
//! Matching every path of a 100,000-file tree against the globs of the classes cost a warm run
//! more than everything else it did; the answers depend only on the path and the globs, so they
//! are kept in `GIT_DIR/gate/classes-v1.bin`, sealed like the blob cache, for the last tree and
//! globs they were computed for. A run on that tree reads them; a run on a tree whose listing
//! was updated from that one (see [`crate::git::Patch`]) keeps the classes of the paths the
//! trees share and matches only the paths the diff adds. A file that does not verify, or that is
//! of another tree or other globs, is not used: the paths are matched again. The version in the
//! name and header changes whenever what is stored changes meaning.

use git2::Oid;
use sha2::{Digest, Sha256};

use super::{Needs, coverage};
use crate::config::PathClasses;
use crate::git::{Patch, Repo, Sealed, TreeIndex};

const MAGIC: &[u8; 8] = b"GATECLS\x01";
const FILE_NAME: &str = "classes-v1.bin";

const IGNORED: u8 = 1;
const TEST: u8 = 2;
/// What the file names is worth reading as a reference (see [`coverage::refers`]). Asked only
/// of the test files whose references count: nothing reads it of other files.
const REFERS: u8 = 4;
/// Its language loads other files (see [`coverage::loads_code`]).
const LOADS_CODE: u8 = 8;

/// The classes of each file of a tree, by position in its [`TreeIndex`].
pub struct Classes {
    bits: Vec<u8>,
}

impl Classes {
    /// The classes of the files of `tree` (the tree `id`), from the kept file when it is of this
    /// tree and these globs, or of the tree the listing was updated from (with the diff applied);
    /// else every path is matched.
    pub fn of(repo: &Repo, id: Oid, tree: &TreeIndex, paths: &PathClasses) -> Classes {
        let kept = Sealed::in_git_dir(&repo.git_dir(), FILE_NAME);
        let key = key(id, paths);
        let body = kept.as_ref().and_then(Sealed::read);
        if let Some(bits) = body.as_deref().and_then(|body| decode(body, &key, tree.len())) {
            return Classes { bits: bits.to_vec() };
        }
        let patched = tree.patch().and_then(|patch| {
            let (added, deleted) = patch.changed.iter().fold((0, 0), |(a, d), c| match (c.before, c.after) {
                (false, true) => (a + 1, d),
                (true, false) => (a, d + 1),
                _ => (a, d),
            });
            let old_len = (tree.len() + deleted).checked_sub(added)?;
            Classes::patched(decode(body.as_deref()?, &self::key(patch.from, paths), old_len)?, patch, tree, paths)
        });
        let classes = patched.unwrap_or_else(|| Classes::matched(tree, paths));
        if let Some(kept) = kept {
            // Classes that cannot be kept only cost the next run the matching.
            let _ = kept.seal_and_write(&[MAGIC.as_slice(), &key, &classes.bits]);
        }
        classes
    }

    /// Every path matched against the globs.
    fn matched(tree: &TreeIndex, paths: &PathClasses) -> Classes {
        Classes { bits: tree.files().iter().map(|f| matched(&f.path, paths)).collect() }
    }

    /// The classes of `tree` from `old`, those of the tree its listing was updated from: a path
    /// both trees have keeps its classes, a path the diff adds is matched. Both listings are in
    /// path order, so the old tree's files are this tree's, less the added paths, with the
    /// deleted ones put back in order. `None` if they do not line up that way.
    fn patched(old: &[u8], patch: &Patch, tree: &TreeIndex, paths: &PathClasses) -> Option<Classes> {
        let mut deleted = patch.changed.iter().filter(|c| c.before && !c.after).map(|c| c.path.as_str()).peekable();
        let mut added = patch.changed.iter().filter(|c| !c.before && c.after).map(|c| c.path.as_str()).peekable();
        let mut old = old.iter();
        let mut bits = Vec::with_capacity(tree.len());
        for file in tree.files() {
            while deleted.next_if(|d| *d < file.path.as_str()).is_some() {
                old.next()?;
            }
            if added.next_if(|a| *a == file.path).is_some() {
                bits.push(matched(&file.path, paths));
            } else {
                bits.push(*old.next()?);
            }
        }
        for _ in deleted {
            old.next()?;
        }
        (old.next().is_none() && added.next().is_none()).then_some(Classes { bits })
    }

    /// Whether the file at `position` is ignored.
    pub fn ignored(&self, position: usize) -> bool {
        self.bits[position] & IGNORED != 0
    }

    /// Whether it is a test file whose references count: of the `tests` class, not ignored.
    pub fn reads_references(&self, position: usize) -> bool {
        reads_references(self.bits[position])
    }

    /// Whether what it names is worth reading as a reference; asked of a test file whose
    /// references count (for any other file the answer means nothing).
    pub fn refers(&self, position: usize) -> bool {
        refers(self.bits[position])
    }

    /// Whether what it loads is followed from covered code: code that is neither a test nor
    /// ignored.
    pub fn reaches_through(&self, position: usize) -> bool {
        reaches_through(self.bits[position])
    }

    /// Whether its references are read with the tree (see [`wants_references`]).
    pub fn wants_references(&self, position: usize, needs: &Needs, everything: bool) -> bool {
        wanted(self.bits[position], needs, everything)
    }
}

/// Whether the references of the file at `path` are read with the tree: a test's whose
/// references count, when the checks need them; and, when `everything` in the tree is read, the
/// references of the code that covered code reaches through (what it mentions comes from them).
pub fn wants_references(path: &str, paths: &PathClasses, needs: &Needs, everything: bool) -> bool {
    wanted(matched(path, paths), needs, everything)
}

fn wanted(bits: u8, needs: &Needs, everything: bool) -> bool {
    needs.test_references && ((reads_references(bits) && refers(bits)) || (everything && reaches_through(bits)))
}

fn reads_references(bits: u8) -> bool {
    bits & (TEST | IGNORED) == TEST
}

fn refers(bits: u8) -> bool {
    bits & REFERS != 0
}

fn reaches_through(bits: u8) -> bool {
    bits & (LOADS_CODE | TEST | IGNORED) == LOADS_CODE
}

/// The classes of one path.
fn matched(path: &str, paths: &PathClasses) -> u8 {
    let bit = |yes: bool, bit: u8| if yes { bit } else { 0 };
    let candidate = crate::config::Candidate::new(path);
    let classes =
        bit(paths.ignore.matches_candidate(&candidate), IGNORED) | bit(paths.tests.matches_candidate(&candidate), TEST);
    classes
        | bit(reads_references(classes) && coverage::refers(path), REFERS)
        | bit(coverage::loads_code(path), LOADS_CODE)
}

/// What the kept classes, and what is derived from them, must have been computed for: the tree
/// and the globs of the classes read here, with gate's version (which decides what the built-in
/// tests above mean) and the blob cache's (which decides what a file's references are).
pub(super) fn key(id: Oid, paths: &PathClasses) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(env!("CARGO_PKG_VERSION"));
    hash.update(crate::git::CACHE_FILE_NAME);
    hash.update(id.as_bytes());
    for class in [&paths.ignore, &paths.tests] {
        for glob in &class.globs {
            hash.update((glob.len() as u64).to_le_bytes());
            hash.update(glob);
        }
        hash.update(u64::MAX.to_le_bytes());
    }
    hash.finalize().into()
}

/// The kept bits, when they are of `key` and of a tree of `files` files.
fn decode<'b>(body: &'b [u8], key: &[u8; 32], files: usize) -> Option<&'b [u8]> {
    let bits = body.strip_prefix(MAGIC.as_slice())?.strip_prefix(key.as_slice())?;
    (bits.len() == files).then_some(bits)
}
