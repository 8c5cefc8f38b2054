//! Content similarity without comparing every pair.
//!
//! Similarity is measured on the trimmed, non-blank lines of two files: `2 * M / (a + b)`, where
//! `M` is the length of their longest common subsequence of lines (Myers' diff, from the
//! `similar` crate) and `a`, `b` their line counts. It is 1.0 for files that differ only in
//! blank lines and indentation.
//!
//! Finding every pair at or above a threshold `t` uses three filters that can never drop such a
//! pair:
//!
//! 1. **Prefix filter.** If `sim(a, b) >= t` then `M >= t * a / (2 - t)`, so at most
//!    `a - M` of a's lines are unmatched. Probing a's rarest lines until they cover more than
//!    that many lines of `a` is certain to probe a line `b` shares. Only files in the postings of
//!    those few rare lines become candidates.
//! 2. **Size filter.** `sim <= 2 * min(a, b) / (a + b)`.
//! 3. **Overlap bound.** `M` cannot exceed the multiset intersection of the two files' lines.
//!
//! Survivors are compared exactly, best bound first, stopping once no remaining bound can beat
//! the best exact match.

use std::borrow::Cow;
use std::sync::Arc;

use similar::{Algorithm, DiffOp};

use crate::git::{Facts, normalized_lines};

/// A document in the index: a file of the release tree.
#[derive(Debug, Clone)]
pub struct Doc {
    /// Position of the file in the tree index.
    pub file: usize,
    lines: u32,
    hashes: DocHashes,
}

/// Where a document's (line hash, count) pairs are.
#[derive(Debug, Clone)]
enum DocHashes {
    /// In [`Docs::hashes`]: facts decoded from the cache for the index, not kept otherwise.
    Copied(std::ops::Range<usize>),
    /// In facts this run holds anyway (those it read): shared, not copied.
    Shared(Arc<Facts>),
}

/// The documents to index. The line hashes of facts decoded for the index alone go into one
/// vector: a warm run that adds a file gathers every file of the tree, and a vector of its own
/// for each (made, then freed) cost it a fifth of its time. Facts the run holds anyway are
/// shared, so a cold run does not hold every line hash twice.
#[derive(Debug, Default)]
pub struct Docs {
    docs: Vec<Doc>,
    hashes: Vec<(u32, u32)>,
}

impl Docs {
    /// Adds the file at tree position `file`, copying its facts' line hashes.
    pub fn push(&mut self, file: usize, facts: &Facts) {
        let start = self.hashes.len();
        self.hashes.extend_from_slice(&facts.hashes);
        self.docs.push(Doc { file, lines: facts.lines, hashes: DocHashes::Copied(start..self.hashes.len()) });
    }

    /// Adds the file at tree position `file`, sharing its facts.
    pub fn push_shared(&mut self, file: usize, facts: Arc<Facts>) {
        self.docs.push(Doc { file, lines: facts.lines, hashes: DocHashes::Shared(facts) });
    }

    /// Puts the documents in the order of their positions.
    pub fn sort(&mut self) {
        self.docs.sort_by_key(|d| d.file);
    }

    fn hashes<'d>(&'d self, doc: &'d Doc) -> &'d [(u32, u32)] {
        match &doc.hashes {
            DocHashes::Copied(range) => &self.hashes[range.clone()],
            DocHashes::Shared(facts) => &facts.hashes,
        }
    }
}

/// The inverted index from line hash to the documents that contain the line: of the lines the
/// files it will be asked about have, not of every line of the tree. A tree has hundreds of
/// thousands of distinct lines and a release asks about a few added files; indexing them all
/// (and sorting them) was most of the index's cost on every run that adds a file.
#[derive(Debug, Default)]
pub struct LineIndex {
    docs: Docs,
    /// Line hash and document, `hash << 32 | document`, sorted: a hash's documents are one run,
    /// found by bisection.
    postings: Vec<u64>,
    /// The hashes indexed, sorted: a hash of another file is looked up in every document.
    probed: Vec<u32>,
    /// Where the postings of each hash of `probed` start, and past the last one the end: a
    /// hash's run is found by one bisection of `probed`, not two of the larger `postings`.
    starts: Vec<u32>,
}

/// A candidate that passed the filters, with its upper bound.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    pub doc: usize,
    pub bound: f64,
}

impl LineIndex {
    /// Indexes the lines of `docs` that the files of `probes` have: the files [`candidates`]
    /// will be asked about.
    ///
    /// [`candidates`]: LineIndex::candidates
    pub fn build<'f>(docs: Docs, probes: impl IntoIterator<Item = &'f Facts>) -> LineIndex {
        let mut probed: Vec<u32> = probes.into_iter().flat_map(|f| f.hashes.iter().map(|(hash, _)| *hash)).collect();
        probed.sort_unstable();
        probed.dedup();
        // Most lines of the tree are in no probe: one bit of a filter tells, before a bisection.
        let mut filter = vec![0u64; FILTER_BITS / 64];
        for hash in &probed {
            let bit = *hash as usize % FILTER_BITS;
            filter[bit / 64] |= 1 << (bit % 64);
        }
        let wanted = |hash: u32| {
            let bit = hash as usize % FILTER_BITS;
            filter[bit / 64] & (1 << (bit % 64)) != 0 && probed.binary_search(&hash).is_ok()
        };
        let mut postings = Vec::new();
        for (i, doc) in docs.docs.iter().enumerate() {
            let lines = docs.hashes(doc).iter().filter(|(hash, _)| wanted(*hash));
            postings.extend(lines.map(|(hash, _)| u64::from(*hash) << 32 | i as u64));
        }
        postings.sort_unstable();
        let mut starts = Vec::with_capacity(probed.len() + 1);
        let mut at = 0;
        for &hash in &probed {
            starts.push(at as u32);
            at += postings[at..].iter().take_while(|p| (*p >> 32) == u64::from(hash)).count();
        }
        starts.push(at as u32);
        LineIndex { docs, postings, probed, starts }
    }

    pub fn doc(&self, i: usize) -> &Doc {
        &self.docs.docs[i]
    }

    pub fn len(&self) -> usize {
        self.docs.docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.docs.docs.is_empty()
    }

    /// The postings of the documents that have a line of `hash`, in document order (the
    /// document is a posting's low 32 bits).
    fn postings(&self, hash: u32) -> Cow<'_, [u64]> {
        let key = u64::from(hash);
        let Ok(at) = self.probed.binary_search(&hash) else {
            // Not a line of a probe: looked up in every document (slow, never wrong).
            let has = |doc: &Doc| self.docs.hashes(doc).binary_search_by_key(&hash, |(h, _)| *h).is_ok();
            let docs = (0..self.docs.docs.len() as u64).filter(|&i| has(&self.docs.docs[i as usize]));
            return Cow::Owned(docs.map(|i| key << 32 | i).collect());
        };
        Cow::Borrowed(&self.postings[self.starts[at] as usize..self.starts[at + 1] as usize])
    }

    /// The documents that may be at least `threshold` similar to `a`, best bound first.
    /// `exclude` is the tree position of `a` itself, when it is in the index.
    pub fn candidates(&self, a: &Facts, threshold: f64, exclude: Option<usize>) -> Vec<Candidate> {
        let n_a = a.lines as usize;
        if n_a == 0 {
            return Vec::new();
        }
        // Rarest lines first, until they cover more lines of `a` than can go unmatched.
        let min_matched = min_matched_lines(n_a, threshold);
        let must_cover = n_a - min_matched + 1;
        let mut by_rarity: Vec<(usize, u32, u32, Cow<'_, [u64]>)> = a
            .hashes
            .iter()
            .map(|(hash, count)| {
                let postings = self.postings(*hash);
                (postings.len(), *hash, *count, postings)
            })
            .collect();
        by_rarity.sort_unstable_by_key(|(len, hash, count, _)| (*len, *hash, *count));
        let mut covered = 0usize;
        let mut seen = vec![false; self.docs.docs.len()];
        let mut found = Vec::new();
        for (_, _, count, postings) in by_rarity {
            if covered >= must_cover {
                break;
            }
            covered += count as usize;
            for &posting in postings.iter() {
                let doc = posting as u32 as usize;
                if !seen[doc] && Some(self.docs.docs[doc].file) != exclude {
                    seen[doc] = true;
                    found.push(doc);
                }
            }
        }
        let mut candidates: Vec<Candidate> = found
            .into_iter()
            .filter_map(|doc| {
                let b = &self.docs.docs[doc];
                let n_b = b.lines as usize;
                let total = (n_a + n_b) as f64;
                if 2.0 * n_a.min(n_b) as f64 / total < threshold - 1e-9 {
                    return None;
                }
                let bound = 2.0 * overlap(&a.hashes, self.docs.hashes(b)) as f64 / total;
                (bound >= threshold - 1e-9).then_some(Candidate { doc, bound })
            })
            .collect();
        candidates.sort_by(|x, y| y.bound.total_cmp(&x.bound).then(x.doc.cmp(&y.doc)));
        candidates
    }
}

/// Bits of the filter of indexed hashes: 128 KiB.
const FILTER_BITS: usize = 1 << 20;

/// The fewest lines of `a` that a file at least `threshold` similar must match:
/// `M >= t * a / (2 - t)`, rounded down so the filter stays on the safe side.
fn min_matched_lines(n_a: usize, threshold: f64) -> usize {
    let t = threshold.clamp(0.0, 1.0);
    let exact = t * n_a as f64 / (2.0 - t);
    ((exact - 1e-9).floor().max(0.0) as usize).min(n_a)
}

/// The size of the multiset intersection of two sorted (hash, count) lists.
fn overlap(a: &[(u32, u32)], b: &[(u32, u32)]) -> usize {
    let (mut i, mut j, mut shared) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                shared += a[i].1.min(b[j].1) as usize;
                i += 1;
                j += 1;
            }
        }
    }
    shared
}

/// The exact similarity of two contents, as defined above.
pub fn similarity(a: &[u8], b: &[u8]) -> f64 {
    let a: Vec<&[u8]> = normalized_lines(a).collect();
    let b: Vec<&[u8]> = normalized_lines(b).collect();
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let ops = similar::capture_diff_slices(Algorithm::Myers, &a, &b);
    let matched: usize = ops
        .iter()
        .map(|op| match op {
            DiffOp::Equal { len, .. } => *len,
            _ => 0,
        })
        .sum();
    2.0 * matched as f64 / (a.len() + b.len()) as f64
}

/// How many lines two sequences have in common, in order (the length of their longest common
/// subsequence, by Myers' diff).
pub fn common_lines<T: PartialEq + std::hash::Hash + Eq + Ord>(a: &[T], b: &[T]) -> usize {
    similar::capture_diff_slices(Algorithm::Myers, a, b)
        .iter()
        .map(|op| match op {
            DiffOp::Equal { len, .. } => *len,
            _ => 0,
        })
        .sum()
}

/// One line of the diff between a pair of files: in the other file only, or in this one only.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DiffLine {
    pub side: DiffSide,
    /// 1-based line number in the file of its side.
    pub line: u32,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DiffSide {
    /// Only in the other file (`-`).
    Other,
    /// Only in this file (`+`).
    This,
}

/// The lines that differ between two files, blank ones left out: the first `limit` of them,
/// each cut to 120 characters, and how many differ in all.
pub fn compact_diff(original: &[u8], new: &[u8], limit: usize) -> (Vec<DiffLine>, usize) {
    let original = String::from_utf8_lossy(original);
    let new = String::from_utf8_lossy(new);
    let diff = similar::TextDiff::configure().algorithm(Algorithm::Myers).diff_lines(&*original, &*new);
    let mut lines = Vec::new();
    let mut changed = 0;
    for change in diff.iter_all_changes() {
        let (side, number) = match change.tag() {
            similar::ChangeTag::Equal => continue,
            similar::ChangeTag::Delete => (DiffSide::Other, change.old_index()),
            similar::ChangeTag::Insert => (DiffSide::This, change.new_index()),
        };
        let text = change.value().trim_end_matches(['\n', '\r']);
        if text.trim().is_empty() {
            continue;
        }
        changed += 1;
        if lines.len() < limit {
            let mut shown: String = text.chars().take(120).collect();
            if shown.len() < text.len() {
                shown.push('…');
            }
            lines.push(DiffLine { side, line: number.map_or(0, |n| n as u32 + 1), text: shown });
        }
    }
    (lines, changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(text: &str) -> Arc<Facts> {
        Arc::new(Facts::of(text.as_bytes()))
    }

    #[test]
    fn similarity_ignores_blank_lines_and_indentation() {
        assert_eq!(similarity(b"a\nb\nc\n", b"  a\n\nb\n\tc"), 1.0);
        assert!((similarity(b"a\nb\nc\nd\n", b"a\nb\nc\nx\n") - 0.75).abs() < 1e-9);
        assert_eq!(similarity(b"a\n", b"b\n"), 0.0);
    }

    #[test]
    fn the_prefix_filter_never_drops_a_pair_above_the_threshold() {
        // Deterministic pseudo-random files over a small vocabulary, so lines repeat across
        // files as they do in real code; every pair is compared by brute force.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        let mut texts: Vec<String> = Vec::new();
        for _ in 0..60 {
            let len = 3 + next(30) as usize;
            texts.push((0..len).map(|_| format!("line {}\n", next(40))).collect());
        }
        for i in 0..60 {
            // Mutated copies: some above any threshold, some below.
            let mut lines: Vec<String> = texts[i].lines().map(String::from).collect();
            for _ in 0..next(6) {
                let at = next(lines.len() as u64) as usize;
                lines[at] = format!("line {}", next(40));
            }
            texts.push(lines.join("\n"));
        }
        let all: Vec<Arc<Facts>> = texts.iter().map(|t| facts(t)).collect();
        let mut docs = Docs::default();
        // Half copied, half shared: both ways give the same index.
        all.iter()
            .enumerate()
            .for_each(|(i, f)| if i % 2 == 0 { docs.push(i, f) } else { docs.push_shared(i, f.clone()) });
        // Probed with the first half's lines only: the second half's are looked up the slow way.
        let index = LineIndex::build(docs, all[..60].iter().map(|f| &**f));
        for threshold in [0.5, 0.7, 0.8, 0.9, 1.0] {
            for (i, a) in texts.iter().enumerate() {
                let found: Vec<usize> = index.candidates(&all[i], threshold, Some(i)).iter().map(|c| c.doc).collect();
                for (j, b) in texts.iter().enumerate() {
                    if i != j && similarity(a.as_bytes(), b.as_bytes()) >= threshold {
                        assert!(found.contains(&j), "pair ({i}, {j}) at {threshold} was dropped");
                    }
                }
            }
        }
    }

    #[test]
    fn compact_diff_names_the_changed_lines() {
        let (lines, changed) = compact_diff(b"a\nb\nc\n", b"a\nB\nc\nd\n", 10);
        assert_eq!(changed, 3);
        let shown: Vec<(DiffSide, u32, &str)> = lines.iter().map(|l| (l.side, l.line, l.text.as_str())).collect();
        assert_eq!(shown, vec![(DiffSide::Other, 2, "b"), (DiffSide::This, 2, "B"), (DiffSide::This, 4, "d")]);
    }
}
