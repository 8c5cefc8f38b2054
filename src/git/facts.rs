//! What gate knows about a blob without keeping its content: its size and kind, and the hashes
//! of its lines. The blob store computes these facts and the cache stores them; both read this
//! module, neither reads the other's internals.

use std::collections::HashMap;

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
        let mut counts: HashMap<u32, u32> = HashMap::new();
        let mut lines = 0;
        for line in normalized_lines(content) {
            *counts.entry(line_hash(line)).or_default() += 1;
            lines += 1;
        }
        let mut hashes: Vec<(u32, u32)> = counts.into_iter().collect();
        hashes.sort_unstable();
        let longest = content.split(|&b| b == b'\n').map(<[u8]>::len).max().unwrap_or(0);
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
}
