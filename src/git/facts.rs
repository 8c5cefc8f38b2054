//! What gate knows about a blob without keeping its content: its size and kind, and the hashes
//! of its lines. The blob store computes these facts and the cache stores them; both read this
//! module, neither reads the other's internals.

/// How git decides that content is binary: a NUL byte in the first 8000 bytes.
const BINARY_SNIFF: usize = 8000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentKind {
    Text,
    Binary,
    /// Larger than [`READ_LIMIT`](super::READ_LIMIT): not read.
    Unread,
}

/// What gate knows about one blob without keeping its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub size: u64,
    pub kind: ContentKind,
    /// Lines that are not blank once trimmed.
    pub lines: u32,
    /// The length in bytes of the longest line (pattern matching skips lines past a cap).
    pub longest_line: u32,
    /// Hash of each distinct trimmed, non-blank line and how often it occurs, sorted by hash.
    pub hashes: Box<[(u32, u32)]>,
}

impl Facts {
    pub fn of(content: &[u8]) -> Facts {
        let size = content.len() as u64;
        if is_binary(content) {
            return Facts { size, kind: ContentKind::Binary, lines: 0, longest_line: 0, hashes: Box::new([]) };
        }
        // One pass over the lines: each line's hash, then the hashes sorted and counted in
        // runs (cheaper than a map for the few hundred lines of a typical file).
        let mut all: Vec<u32> = Vec::new();
        let mut longest = 0;
        for line in content.split(|&b| b == b'\n') {
            longest = longest.max(line.len());
            let line = line.trim_ascii();
            if !line.is_empty() {
                all.push(line_hash(line));
            }
        }
        let lines = u32::try_from(all.len()).unwrap_or(u32::MAX);
        all.sort_unstable();
        let mut hashes: Vec<(u32, u32)> = Vec::new();
        for hash in all {
            match hashes.last_mut() {
                Some((last, count)) if *last == hash => *count += 1,
                _ => hashes.push((hash, 1)),
            }
        }
        let longest_line = u32::try_from(longest).unwrap_or(u32::MAX);
        Facts { size, kind: ContentKind::Text, lines, longest_line, hashes: hashes.into_boxed_slice() }
    }

    pub(super) fn unread(size: u64) -> Facts {
        Facts { size, kind: ContentKind::Unread, lines: 0, longest_line: 0, hashes: Box::new([]) }
    }
}

/// Whether content is binary, as git decides it: a NUL byte in its first 8000 bytes.
pub fn is_binary(content: &[u8]) -> bool {
    content[..content.len().min(BINARY_SNIFF)].contains(&0)
}

/// The lines similarity works on: trimmed, blank lines dropped.
pub fn normalized_lines(content: &[u8]) -> impl Iterator<Item = &[u8]> {
    content.split(|&b| b == b'\n').map(<[u8]>::trim_ascii).filter(|line| !line.is_empty())
}

/// FNV-1a over a line, folded to 32 bits. Collisions only add candidates that the exact
/// comparison then rejects; they never hide a match.
pub fn line_hash(line: &[u8]) -> u32 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in line {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (hash ^ (hash >> 32)) as u32
}

/// A line of a blob that a rule matched: the rule's position in its rule set, the 1-based line,
/// the hash of the trimmed line (as in [`Facts::hashes`]) and the line itself, trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanHit {
    pub rule: u16,
    pub line: u32,
    pub hash: u32,
    pub text: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_count_trimmed_non_blank_lines() {
        let facts = Facts::of(b"a\n  a  \n\n\tb\r\n");
        assert_eq!(facts.kind, ContentKind::Text);
        assert_eq!(facts.lines, 3);
        assert_eq!(facts.hashes.len(), 2);
        assert!(facts.hashes.contains(&(line_hash(b"a"), 2)));
        assert_eq!(Facts::of(b"PNG\0\0").kind, ContentKind::Binary);
    }

    /// The facts as their definition reads: each trimmed non-blank line counted in a map, the
    /// longest line measured apart. `Facts::of` must give exactly this, in one pass.
    fn by_definition(content: &[u8]) -> (u32, u32, Vec<(u32, u32)>) {
        let mut counts = std::collections::HashMap::<u32, u32>::new();
        for line in normalized_lines(content) {
            *counts.entry(line_hash(line)).or_default() += 1;
        }
        let lines = counts.values().sum();
        let mut hashes: Vec<(u32, u32)> = counts.into_iter().collect();
        hashes.sort_unstable();
        let longest = content.split(|&b| b == b'\n').map(<[u8]>::len).max().unwrap_or(0);
        (lines, u32::try_from(longest).unwrap(), hashes)
    }

    #[test]
    fn facts_are_their_definition_on_any_text() {
        let samples: [&[u8]; 7] = [
            b"",
            b"\n\n\n",
            b"no newline at the end",
            b"  x = 1\r\n\tx = 1\r\n\r\ny = 2\n   \n",
            b"a\nb\na\nc\nb\na",
            "d\u{e9}j\u{e0} vu\n  d\u{e9}j\u{e0} vu  \n\u{a0}nbsp\n".as_bytes(),
            b"trailing blank lines\n\n\n   ",
        ];
        let mut long = Vec::new();
        for i in 0..5000u32 {
            long.extend_from_slice(format!("{}line {}\n", " ".repeat((i % 7) as usize), i % 613).as_bytes());
        }
        long.extend_from_slice(&[b'x'; 70_000]);
        for content in samples.iter().copied().chain([long.as_slice()]) {
            let facts = Facts::of(content);
            assert_eq!((facts.lines, facts.longest_line, facts.hashes.to_vec()), by_definition(content));
        }
    }
}
