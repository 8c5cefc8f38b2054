//! The words a file of code mentions: what untested-change's reach index keeps of each file, so
//! that a question about a path reads only the files that could refer to it.
//!
//! A file refers to a path when one of its references (see `coverage::references`) is one of
//! the path's reference keys. Every reference is made of words the file's text holds whole,
//! lower-cased: a path (`bin/search.sh`) is a token of the text, so each of its runs of letters
//! and digits is a word of the text; each component of the module a line imports (`from pkg
//! import models`: `pkg.models`) is in the text whole; a Ruby constant (`ChatParser`, read as
//! `chat_parser`) is a run of letters, digits and underscores of the text, the same once
//! underscores are dropped; a path pattern (`lib/*.sh`) starts with the first directory of every
//! path it matches, and its line holds a `*`. So a file whose words lack what a key needs cannot
//! make that reference, and only the files that have them are read for what they refer to.
//! Words are kept as 32-bit hashes: a collision only makes a file read that did not need to be.

use crate::git;

/// The words of one file, as sorted hashes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mentions {
    pub words: Vec<u32>,
}

impl Mentions {
    /// What a file's content mentions. Binary content refers to nothing, so it mentions
    /// nothing.
    pub fn of_content(content: &[u8]) -> Mentions {
        if git::is_binary(content) {
            return Mentions::default();
        }
        let mut words = Words::default();
        if content.is_ascii() {
            scan(content, true, Idents::Joined, &mut words);
        } else {
            // References are read from the text lower-cased as Unicode lower-cases it, Ruby
            // constants from the text as it is; other than ASCII, characters separate words.
            scan(&lowered(content), true, Idents::None, &mut words);
            scan(content, false, Idents::All, &mut words);
        }
        Mentions { words: words.into_sorted() }
    }

    /// What a file mentions, from the references it makes: what each reference needs.
    pub fn of_refs(refs: &[String]) -> Mentions {
        let mut words = Words::default();
        for reference in refs {
            // A pattern's words are starred too: they are on a line with a `*`.
            Needle::of(reference).words.iter().for_each(|&w| words.push(w));
        }
        Mentions { words: words.into_sorted() }
    }

    /// Whether the file may make the reference `needle` stands for.
    pub fn may_make(&self, needle: &Needle) -> bool {
        let has = |words: &[u32]| words.iter().all(|w| self.words.binary_search(w).is_ok());
        has(&needle.words) || needle.pattern.as_deref().is_some_and(has)
    }
}

/// What a file must mention to make one reference: every hash of `words` (the words of the
/// reference, and each pair of words a `.`, `/` or `-` joins), or every hash of `pattern` (the
/// words of the reference's first directory, which a pattern that matches it starts with, on a
/// line with a `*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Needle {
    pub words: Vec<u32>,
    pub pattern: Option<Vec<u32>>,
}

impl Needle {
    /// What a file must mention to make the reference `key` (lower-case).
    pub fn of(key: &str) -> Needle {
        let mut words = Words::default();
        if let Some(module) = key.strip_prefix("mod:") {
            // Each component of a module is whole in the import that names it, but components
            // may be apart there (`from pkg import models`).
            for component in module.split('.') {
                scan(component.as_bytes(), true, Idents::None, &mut words);
            }
        } else if let Some(constant) = key.strip_prefix("const:") {
            words.push(joined_hash(constant.rsplit('/').next().unwrap_or(constant).as_bytes()));
        } else if let Some(route) = key.strip_prefix("route:") {
            scan(route.as_bytes(), true, Idents::None, &mut words);
        } else {
            scan(key.as_bytes(), true, Idents::None, &mut words);
        }
        let pattern = key.split_once('/').map(|(first, _)| {
            let mut starred_words = Words::default();
            starred_line(first.as_bytes(), &mut starred_words);
            starred_words.into_sorted()
        });
        Needle { words: words.into_sorted(), pattern }
    }
}

/// Which runs of letters, digits and underscores [`scan`] keeps, with their underscores
/// dropped: those that start with a capital letter, as a Ruby constant does.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Idents {
    None,
    /// Those with an underscore (the others are words already).
    Joined,
    All,
}

/// Hashes collected from a text, with the repeats of recent ones left out as they come.
struct Words {
    all: Vec<u32>,
    /// The last hash pushed of each value of the low byte (`u64::MAX`: none yet).
    recent: [u64; 256],
}

impl Default for Words {
    fn default() -> Words {
        Words { all: Vec::new(), recent: [u64::MAX; 256] }
    }
}

impl Words {
    fn push(&mut self, hash: u32) {
        let slot = &mut self.recent[(hash & 0xff) as usize];
        if *slot != u64::from(hash) {
            *slot = u64::from(hash);
            self.all.push(hash);
        }
    }

    fn into_sorted(mut self) -> Vec<u32> {
        self.all.sort_unstable();
        self.all.dedup();
        self.all
    }
}

/// Collects from `text`: when `words`, the hash of every run of ASCII letters and digits
/// (lower-cased), of each pair of runs one `.`, `/` or `-` joins, and of each run of a line with
/// a `*` as [`starred`] marks it; and the runs of letters, digits and underscores `idents`
/// says, their underscores dropped.
fn scan(text: &[u8], words: bool, idents: Idents, out: &mut Words) {
    // The last run's hash and end.
    let mut previous: Option<(u32, usize)> = None;
    runs(text, |start, end| {
        if words {
            let hash = hash_at(text, start, end);
            out.push(hash);
            if let Some((before, at)) = previous
                && at + 1 == start
                && matches!(text[at], b'.' | b'/' | b'-')
            {
                out.push(pair(before, text[at], hash));
            }
            previous = Some((hash, end));
        }
        // A constant starts with a capital letter after neither a letter, a digit nor `_`.
        if idents != Idents::None && text[start].is_ascii_uppercase() && (start == 0 || text[start - 1] != b'_') {
            let rest = &text[end..];
            let len = rest.iter().position(|&b| !(b.is_ascii_alphanumeric() || b == b'_')).unwrap_or(rest.len());
            if idents == Idents::All || rest[..len].contains(&b'_') {
                out.push(joined_hash(&text[start..end + len]));
            }
        }
    });
    if words {
        let mut from = 0;
        while let Some(star) = memchr::memchr(b'*', &text[from..]).map(|at| from + at) {
            let start = memchr::memrchr(b'\n', &text[..star]).map_or(0, |at| at + 1);
            let end = memchr::memchr(b'\n', &text[star..]).map_or(text.len(), |at| star + at);
            starred_line(&text[start..end], out);
            from = end;
        }
    }
}

/// Calls `each(start, end)` for every run of ASCII letters and digits of `text`, in order,
/// finding them eight bytes at a time.
fn runs(text: &[u8], mut each: impl FnMut(usize, usize)) {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let (mut start, mut carry) = (0, 0u64);
    let mut chunks = text.chunks_exact(8);
    let mut at = 0;
    let mut step = |word: u64, at: usize, start: &mut usize, carry: &mut u64| {
        let flags = alnum_bits(word);
        // A byte starts a run when it is a letter or digit and the byte before is not, and
        // ends one when the reverse.
        let before = flags << 8 | *carry;
        let (starts, ends) = (flags & !before & HIGH, !flags & before & HIGH);
        let mut edges = starts | ends;
        while edges != 0 {
            let bit = edges & edges.wrapping_neg();
            let offset = at + (bit.trailing_zeros() / 8) as usize;
            if starts & bit != 0 {
                *start = offset;
            } else {
                each(*start, offset);
            }
            edges ^= bit;
        }
        *carry = flags >> 56;
    };
    for chunk in &mut chunks {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(chunk);
        step(u64::from_le_bytes(bytes), at, &mut start, &mut carry);
        at += 8;
    }
    // The last bytes, then at least one byte that is not a letter: a run at the end ends there.
    let rest = chunks.remainder();
    let mut bytes = [0u8; 8];
    bytes[..rest.len()].copy_from_slice(rest);
    step(u64::from_le_bytes(bytes), at, &mut start, &mut carry);
}

/// The high bit of each byte of `x` that is an ASCII letter or digit.
fn alnum_bits(x: u64) -> u64 {
    let ascii = x & 0x7f7f_7f7f_7f7f_7f7f;
    let lower = ascii | 0x2020_2020_2020_2020;
    // No byte carries into the next: each is at most 0x7f before the additions.
    let letter = lower.wrapping_add(0x1f1f_1f1f_1f1f_1f1f) & !lower.wrapping_add(0x0505_0505_0505_0505);
    let digit = ascii.wrapping_add(0x5050_5050_5050_5050) & !ascii.wrapping_add(0x4646_4646_4646_4646);
    (letter | digit) & !x & 0x8080_8080_8080_8080
}

/// Every run of ASCII letters and digits of a line with a `*`, starred.
fn starred_line(line: &[u8], out: &mut Words) {
    for run in line.split(|b| !b.is_ascii_alphanumeric()).filter(|run| !run.is_empty()) {
        out.push(starred(run_hash(run)));
    }
}

/// The text as Unicode lower-cases it, for finding runs of ASCII letters and digits: the
/// characters other than ASCII whose lower case holds an ASCII letter are that letter (then a
/// byte that separates words), every other byte past ASCII separates words.
fn lowered(content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len());
    let (mut from, mut next) = (0, 0);
    while let Some(at) = memchr::memchr2(0xe2, 0xc4, &content[next..]).map(|at| next + at) {
        next = at + 1;
        let (letter, len): (&[u8], usize) = match content[at..] {
            // KELVIN SIGN: k.
            [0xe2, 0x84, 0xaa, ..] => (b"k", 3),
            // LATIN CAPITAL LETTER I WITH DOT ABOVE: i, then a combining dot.
            [0xc4, 0xb0, ..] => (b"i\x80", 2),
            _ => continue,
        };
        out.extend_from_slice(&content[from..at]);
        out.extend_from_slice(letter);
        (from, next) = (at + len, at + len);
    }
    out.extend_from_slice(&content[from..]);
    out
}

const SEED: u64 = 0x9e37_79b9_7f4a_7c15;

/// The hash of a run of ASCII letters and digits, lower-cased, eight bytes at a time. Every run
/// is hashed by this function (or by [`hash_at`], which gives the same), wherever it is read.
fn run_hash(run: &[u8]) -> u32 {
    let mut hash = SEED;
    let mut chunks = run.chunks_exact(8);
    for chunk in &mut chunks {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(chunk);
        hash = mix(hash ^ (u64::from_le_bytes(bytes) | 0x2020_2020_2020_2020));
    }
    let rest = chunks.remainder();
    let mut bytes = [0u8; 8];
    bytes[..rest.len()].copy_from_slice(rest);
    let lower = ((1u64 << (8 * rest.len())) - 1) & 0x2020_2020_2020_2020;
    fold(mix(hash ^ (u64::from_le_bytes(bytes) | lower) ^ ((run.len() as u64) << 56)))
}

/// [`run_hash`] of `text[start..end]`, read with one load when the run is short.
fn hash_at(text: &[u8], start: usize, end: usize) -> u32 {
    let len = end - start;
    match text.get(start..start + 8) {
        Some(chunk) if len < 8 => {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(chunk);
            let keep = (1u64 << (8 * len)) - 1;
            let lower = keep & 0x2020_2020_2020_2020;
            fold(mix(SEED ^ ((u64::from_le_bytes(bytes) & keep) | lower) ^ ((len as u64) << 56)))
        }
        _ => run_hash(&text[start..end]),
    }
}

/// The hash of a run of letters, digits and underscores, its underscores dropped, as
/// [`run_hash`] hashes the run without them.
fn joined_hash(text: &[u8]) -> u32 {
    let joined: Vec<u8> = text.iter().copied().filter(|&b| b != b'_').collect();
    run_hash(&joined)
}

/// The hash of two runs joined by `sep`.
fn pair(first: u32, sep: u8, second: u32) -> u32 {
    fold(mix((u64::from(first) << 32 | u64::from(second)) ^ u64::from(sep) << 24 ^ 0x5bd1_e995))
}

/// The hash of a run on a line with a `*`.
fn starred(word: u32) -> u32 {
    fold(mix(u64::from(word) ^ 0x2a2a_2a2a_0000_0000))
}

/// A 64-bit finalizer (SplitMix64's).
fn mix(x: u64) -> u64 {
    let x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    let x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn fold(hash: u64) -> u32 {
    (hash ^ (hash >> 32)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::coverage::references;

    /// Code in the languages reach follows, with the shapes of reference each makes: paths,
    /// imports, requires, sourced files, Ruby constants and namespaces, route helpers, patterns,
    /// comments, non-ASCII text.
    const SAMPLES: &[&str] = &[
        "from pkg.models import User, Group as G\nimport pkg.util, os.path\nfrom . import sibling\n",
        "from .client import (Client,\n    Server)\nimport a.b.c;\n",
        "#!/bin/sh\nset -eu\n. ./lib/common.sh\nsource \"$HOME/bin/setup.sh\"\nexec ../../tools/run-it.sh --fast\n",
        "for f in /usr/local/bin/setup.d/*.sh; do\n  source \"$f\"\ndone\nrun lib/**/*.bash\n",
        "const x = require('./util/format.js');\nimport y from \"../lib/Parse-Date\";\nimport('./lazy.mjs')\n",
        "require 'json'\nrequire_relative '../app/models/user'\nclass Transaction < ApplicationRecord\n  include Transferable\n  belongs_to :Account\nend\n",
        "module Provider::Openai\n  class ChatParser\n    HTTPClient.new(Chat_Parser::X)\n  end\nend\n",
        "visit submit_form_path(slug: s)\nget edit_template_url\n",
        "use crate::analysis::coverage;\nmod reach;\nfn main() { let p = \"scripts/release.sh\"; *x = 2; }\n",
        "// see deploy.sh\n/* block lib/x.sh\n */\nrun bin/search.sh # comment ./a.sh\n",
        "print('Straße/ÄÖÜ.py', 'café/release.sh')\nimport müll.daten\n\u{212A}elvin = Über::Größe\n",
        "x = \"C:\\\\tools\\\\a.ps1\"; y = 'https://example.com/a/b.json?q=1'\n",
        "package.json Cargo.TOML .env ./.hidden/run.sh ...\n",
    ];

    /// Guards against: a file left unread by reach that makes a reference to the path asked
    /// about, so that a covered script would be reported untested.
    #[test]
    fn a_file_mentions_every_word_of_every_reference_it_makes() {
        for sample in SAMPLES {
            let refs = references(sample.as_bytes());
            assert!(!refs.is_empty(), "{sample}");
            let (content, from_refs) = (Mentions::of_content(sample.as_bytes()), Mentions::of_refs(&refs));
            for reference in &refs {
                let needle = Needle::of(reference);
                assert!(content.may_make(&needle), "{reference:?} of {sample:?}");
                assert!(from_refs.may_make(&needle), "{reference:?} of {sample:?}");
                // A path a pattern matches (reach asks patterns about paths with a directory).
                if reference.contains('*') && reference.contains('/') {
                    let path = reference.replace("**/", "x/").replace('*', "x");
                    let needle = Needle::of(&path);
                    assert!(content.may_make(&needle), "{path:?} for {reference:?}");
                    assert!(from_refs.may_make(&needle), "{path:?} for {reference:?}");
                }
            }
        }
    }

    #[test]
    fn runs_are_found_and_hashed_alike_wherever_they_are_read() {
        let text = b"a bb-ccc.DDDD/eeeee_ffffff ggggggg hhhhhhhh iiiiiiiii jjjjjjjjjjjjjjjjjjjjjjjjj \xc3\xa9k9 Z";
        let mut found = Vec::new();
        runs(text, |start, end| found.push(&text[start..end]));
        let naive: Vec<&[u8]> = text.split(|b| !b.is_ascii_alphanumeric()).filter(|r| !r.is_empty()).collect();
        assert_eq!(found, naive);
        for (at, run) in naive.iter().enumerate() {
            let start = found[..at].iter().map(|r| r.len()).sum::<usize>();
            let start = start + text[start..].windows(run.len()).position(|w| w == *run).unwrap_or(0);
            assert_eq!(hash_at(text, start, start + run.len()), run_hash(run), "{run:?}");
            assert_eq!(run_hash(run), run_hash(&run.to_ascii_lowercase()), "{run:?}");
        }
        for len in 0..=24 {
            let exact = vec![b'x'; len];
            let mut padded = exact.clone();
            padded.extend_from_slice(b"        ");
            assert_eq!(hash_at(&exact, 0, len), hash_at(&padded, 0, len), "{len}");
        }
        assert_eq!(joined_hash(b"Chat_Parser"), run_hash(b"chatparser"));
    }

    /// Guards against: a character that lower-cases to an ASCII letter (as the Kelvin sign
    /// does to `k`) joining a word in references but not in what a file is found to mention.
    #[test]
    fn only_two_characters_past_ascii_lower_case_to_an_ascii_letter() {
        let to_ascii: Vec<char> =
            (0x80..=0x10_ffff).filter_map(char::from_u32).filter(|c| c.to_lowercase().any(|l| l.is_ascii())).collect();
        assert_eq!(to_ascii, ['\u{130}', '\u{212a}']);
        let text = "Stra\u{df}e \u{212a}elvin x\u{212a} \u{130}stanbul d\u{130}n caf\u{e9}";
        let mut words = Words::default();
        scan(&lowered(text.as_bytes()), true, Idents::None, &mut words);
        let mut expected = Words::default();
        scan(text.to_lowercase().as_bytes(), true, Idents::None, &mut expected);
        assert_eq!(words.into_sorted(), expected.into_sorted());
    }

    #[test]
    fn a_file_without_the_words_cannot_make_the_reference() {
        let mentions = Mentions::of_content(b"import os\nfrom pkg.models import User\n");
        assert!(mentions.may_make(&Needle::of("mod:pkg.models")));
        assert!(mentions.may_make(&Needle::of("mod:models")));
        assert!(!mentions.may_make(&Needle::of("mod:pkg.views")));
        assert!(!mentions.may_make(&Needle::of("bin/search.sh")));
        assert!(!mentions.may_make(&Needle::of("const:models/chat_parser")));
        assert_eq!(Mentions::of_content(b"\0binary import pkg.views"), Mentions::default());
    }
}
