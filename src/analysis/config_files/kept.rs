//! What the blob cache keeps of config files, and under which keys: each blob's reading at a
//! path (what it parsed as, without its entries, and what it describes), its entries apart
//! (a run rarely reads them), and for each pair of readings their key-level diff and, for a
//! deleted and an added file, the share of keys and values they have in common.
//!
//! A record is kept under its blob and a fingerprint of what it is, the encoding and gate's
//! version (which decide what reading a file gives), and what it was read or diffed from. A
//! record that does not decode is derived again and replaced, never believed.

use git2::Oid;
use sha2::{Digest, Sha256};

use super::{DESCRIBED, Diff};
use crate::Result;
use crate::audit::document::{Entries, Parsed, kept};
use crate::git::bytes::Reader;
use crate::git::{BlobStore, Codec};

/// A blob read as the file at one path, and what it describes.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Reading {
    pub parsed: Parsed,
    pub describes: Option<&'static str>,
}

/// The reading of blob `id` as the file at `path`: what `read` makes of its content the first
/// time, then kept. A document's entries are kept apart, and come back without them.
pub(super) fn reading(
    store: &BlobStore<'_>,
    id: Oid,
    path: &str,
    read: impl FnOnce(&[u8]) -> Reading,
) -> Result<Reading> {
    store.derived(id, fingerprint(key("reading", path)), &READING, |content| {
        let reading = read(content);
        if let Parsed::Document(doc) = &reading.parsed {
            store.keep_apart(id, fingerprint(key("entries", path)), &ENTRIES, &doc.all_entries().cloned());
        }
        reading
    })
}

/// The entries of the document blob `id` is as the file at `path`: kept apart, or read again.
pub(super) fn entries(store: &BlobStore<'_>, id: Oid, path: &str) -> Result<Option<Entries>> {
    let read = |content: &[u8]| crate::audit::document::parse(path, content).into_entries();
    store.derived_apart(id, fingerprint(key("entries", path)), &ENTRIES, read)
}

/// The diff kept for the pair of readings `read_from` (the last deploy's, the release's).
pub(super) fn diff(store: &BlobStore<'_>, read_from: &[Option<(Oid, String)>; 2]) -> Option<Diff> {
    let (id, fingerprint) = diff_key(read_from)?;
    store.kept(id, fingerprint, &DIFF)
}

pub(super) fn keep_diff(store: &BlobStore<'_>, read_from: &[Option<(Oid, String)>; 2], diff: &Diff) {
    if let Some((id, fingerprint)) = diff_key(read_from) {
        store.keep(id, fingerprint, &DIFF, diff);
    }
}

/// The share of keys and values kept for a deleted file's reading and an added one's.
pub(super) fn shared(store: &BlobStore<'_>, pair: &[Option<(Oid, String)>; 2]) -> Option<f64> {
    let (id, fingerprint) = pair_key("shared", pair)?;
    store.kept(id, fingerprint, &SHARED)
}

pub(super) fn keep_shared(store: &BlobStore<'_>, pair: &[Option<(Oid, String)>; 2], score: f64) {
    if let Some((id, fingerprint)) = pair_key("shared", pair) {
        store.keep(id, fingerprint, &SHARED, &score);
    }
}

/// A diff is kept under the release's blob (the last deploy's, for a deleted file), and both
/// readings' blobs and paths.
fn diff_key(read_from: &[Option<(Oid, String)>; 2]) -> Option<(Oid, u64)> {
    pair_key("diff", read_from)
}

/// What is derived from a pair of readings (the last deploy's, the release's) is kept under
/// the release's blob, else the last deploy's, and both readings' blobs and paths.
fn pair_key(what: &str, read_from: &[Option<(Oid, String)>; 2]) -> Option<(Oid, u64)> {
    let [before, after] = read_from;
    let (id, _) = after.as_ref().or(before.as_ref())?;
    let mut key = key(what, "");
    for side in read_from {
        match side {
            Some((id, path)) => {
                key.update([1]);
                key.update(id.as_bytes());
                key.update((path.len() as u64).to_le_bytes());
                key.update(path);
            }
            None => key.update([0]),
        }
    }
    Some((*id, fingerprint(key)))
}

/// What a record is, the encoding and gate's version, then `path`. A SHA-256, so no path of a
/// release can be made to share another path's records.
fn key(what: &str, path: &str) -> Sha256 {
    let mut key = Sha256::new();
    for part in [env!("CARGO_PKG_VERSION"), kept::VERSION, what] {
        key.update(part);
        key.update([0]);
    }
    key.update(path);
    key
}

fn fingerprint(key: Sha256) -> u64 {
    let digest = key.finalize();
    u64::from_le_bytes(digest[..8].try_into().unwrap_or_else(|_| unreachable!("a SHA-256 has 32 bytes")))
}

const READING: Codec<Reading> = Codec { encode: encode_reading, decode: decode_reading };
const ENTRIES: Codec<Option<Entries>> = Codec { encode: encode_entries, decode: decode_entries };
const DIFF: Codec<Diff> = Codec { encode: encode_diff, decode: decode_diff };
const SHARED: Codec<f64> = Codec { encode: encode_score, decode: decode_score };

/// What a score record starts with: a record of bare bytes has no byte that is not a score.
const SCORE: u8 = 1;

fn encode_score(score: &f64) -> Vec<u8> {
    [&[SCORE][..], &score.to_bits().to_le_bytes()].concat()
}

fn decode_score(record: &[u8]) -> Option<f64> {
    let (&[SCORE], bits) = record.split_at_checked(1)? else { return None };
    Some(f64::from_bits(u64::from_le_bytes(bits.try_into().ok()?))).filter(|score| (0.0..=1.0).contains(score))
}

/// What a reading describes is kept as its position in [`DESCRIBED`], 0xff for nothing.
const NOTHING: u8 = 0xff;
/// A description missing from the list is kept as a byte no reading decodes: the file is read
/// again every run, never kept as describing nothing.
const UNLISTED: u8 = 0xfe;

fn encode_reading(reading: &Reading) -> Vec<u8> {
    let described = match reading.describes {
        None => NOTHING,
        Some(what) => DESCRIBED.iter().position(|d| *d == what).map_or(UNLISTED, |at| at as u8),
    };
    let mut out = vec![described];
    kept::put_parsed(&mut out, &reading.parsed);
    out
}

fn decode_reading(record: &[u8]) -> Option<Reading> {
    let mut r = Reader::new(record);
    let describes = match r.take(1)?[0] {
        NOTHING => None,
        at => Some(*DESCRIBED.get(at as usize)?),
    };
    let parsed = kept::parsed(&mut r)?;
    r.is_empty().then_some(Reading { parsed, describes })
}

/// The entries, or a mark that the blob read as no document (which a kept document's blob
/// never does: [`super::filled`] then refuses the cache).
fn encode_entries(entries: &Option<Entries>) -> Vec<u8> {
    match entries {
        Some(entries) => {
            let mut out = vec![1];
            kept::put_entries(&mut out, entries);
            out
        }
        None => vec![0],
    }
}

fn decode_entries(record: &[u8]) -> Option<Option<Entries>> {
    let mut r = Reader::new(record);
    let entries = match r.take(1)?[0] {
        0 => None,
        1 => Some(kept::entries(&mut r)?),
        _ => return None,
    };
    r.is_empty().then_some(entries)
}

fn encode_diff(diff: &Diff) -> Vec<u8> {
    let mut out = Vec::new();
    kept::put_changes(&mut out, &diff.changes);
    kept::put_entry_list(&mut out, &diff.changed);
    out
}

fn decode_diff(record: &[u8]) -> Option<Diff> {
    let mut r = Reader::new(record);
    let (changes, changed) = (kept::changes(&mut r)?, kept::entry_list(&mut r)?);
    r.is_empty().then_some(Diff { changes, changed })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::document::parse;

    #[test]
    fn a_reading_and_its_entries_decode_to_what_was_encoded_and_damaged_ones_to_nothing() {
        let text = "$schema: http://json-schema.org/draft-07/schema#\ntype: object\n";
        let parsed = parse("schema.yaml", text.as_bytes());
        let reading = Reading { parsed: parsed.clone(), describes: Some(super::super::JSON_SCHEMA) };
        let record = encode_reading(&reading);
        let Some(Reading { parsed: Parsed::Document(kept), describes }) = decode_reading(&record) else {
            panic!("{record:?}")
        };
        assert_eq!(describes, reading.describes);
        let entries = encode_entries(&parsed.clone().into_entries());
        assert!(kept.fill(decode_entries(&entries).unwrap().unwrap()));
        assert_eq!(Parsed::Document(kept), parsed);
        // Cut, with a byte too many, or saying what no reading says: refused.
        for len in 0..record.len() {
            assert_eq!(decode_reading(&record[..len]), None, "cut at {len}");
        }
        for len in 0..entries.len() {
            assert_eq!(decode_entries(&entries[..len]), None, "cut at {len}");
        }
        assert_eq!(decode_entries(&[entries.as_slice(), &[0]].concat()), None);
        assert_eq!(decode_reading(&[UNLISTED].iter().chain(&record[1..]).copied().collect::<Vec<u8>>()), None);
        assert_eq!(decode_entries(&[0]), Some(None));
    }

    #[test]
    fn a_score_decodes_to_what_was_encoded_and_a_damaged_one_to_nothing() {
        let record = encode_score(&0.75);
        assert_eq!(decode_score(&record), Some(0.75));
        assert_eq!(decode_score(&record[..8]), None);
        assert_eq!(decode_score(&[&[0xee][..], &record[1..]].concat()), None);
        assert_eq!(decode_score(&encode_score(&7.0)), None);
    }

    #[test]
    fn a_diff_is_kept_by_both_readings() {
        let (a, b) = (Oid::from_bytes(&[1; 20]).unwrap(), Oid::from_bytes(&[2; 20]).unwrap());
        let pair = |old: Option<(Oid, &str)>, new: Option<(Oid, &str)>| {
            diff_key(&[old.map(|(id, p)| (id, p.to_string())), new.map(|(id, p)| (id, p.to_string()))])
        };
        let modified = pair(Some((a, "app.yaml")), Some((b, "app.yaml")));
        assert_eq!(modified.map(|(id, _)| id), Some(b));
        assert_ne!(modified, pair(Some((b, "app.yaml")), Some((b, "app.yaml"))));
        assert_ne!(modified, pair(Some((a, "old.yaml")), Some((b, "app.yaml"))));
        assert_ne!(modified, pair(None, Some((b, "app.yaml"))));
        assert_eq!(pair(Some((a, "app.yaml")), None).map(|(id, _)| id), Some(a));
        assert_eq!(pair(None, None), None);
    }
}
