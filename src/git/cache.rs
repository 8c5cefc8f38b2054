//! The on-disk cache of blob facts (size, kind, line hashes), test references and rule matches:
//! `GIT_DIR/gate/cache-v3.bin`.
//!
//! A compact binary file, written whole to a temporary file and renamed into place, so readers
//! see an old or a new cache, never a torn one, and concurrent runs cost at most a lost entry. A
//! checksum covers the body; a cache that does not verify is ignored (and rebuilt), never
//! trusted. The version in the name and header changes whenever what is stored changes meaning.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use git2::Oid;

use super::facts::{ContentKind, Facts, ScanHit};

const MAGIC: &[u8; 8] = b"GATECCH\x03";
const FILE_NAME: &str = "cache-v3.bin";

#[derive(Debug, Default)]
pub struct Contents {
    pub facts: HashMap<Oid, Arc<Facts>>,
    pub refs: HashMap<Oid, Arc<[String]>>,
    /// Rule matches in a blob, by blob and the fingerprint of the rule set.
    pub scans: Scans,
}

/// Rule matches by (blob, fingerprint of the rule set).
pub type Scans = HashMap<(Oid, u64), Arc<[ScanHit]>>;

#[derive(Debug, Clone)]
pub struct CacheFile {
    path: PathBuf,
}

impl CacheFile {
    pub fn in_git_dir(git_dir: &Path) -> CacheFile {
        CacheFile { path: git_dir.join("gate").join(FILE_NAME) }
    }

    /// The cache's contents, or nothing when it is missing, from another version, or damaged.
    pub fn load(&self) -> Contents {
        std::fs::read(&self.path).ok().and_then(|bytes| decode(&bytes)).unwrap_or_default()
    }

    pub fn save(&self, contents: &Contents) -> std::io::Result<()> {
        let bytes = encode(contents);
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let temp = dir.join(format!(".{FILE_NAME}.{}.tmp", std::process::id()));
        std::fs::write(&temp, &bytes)?;
        std::fs::rename(&temp, &self.path).inspect_err(|_| {
            let _ = std::fs::remove_file(&temp);
        })
    }
}

fn checksum(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

fn encode(contents: &Contents) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 << 20);
    out.extend_from_slice(MAGIC);
    let mut facts: Vec<(&Oid, &Arc<Facts>)> = contents.facts.iter().collect();
    facts.sort_by_key(|(id, _)| **id);
    put_u32(&mut out, facts.len() as u32);
    for (id, facts) in facts {
        put_oid(&mut out, id);
        out.extend_from_slice(&facts.size.to_le_bytes());
        out.push(match facts.kind {
            ContentKind::Text => 0,
            ContentKind::Binary => 1,
            ContentKind::Unread => 2,
        });
        put_u32(&mut out, facts.lines);
        put_u32(&mut out, facts.hashes.len() as u32);
        for (hash, count) in facts.hashes.iter() {
            put_u32(&mut out, *hash);
            put_u32(&mut out, *count);
        }
    }
    let mut refs: Vec<(&Oid, &Arc<[String]>)> = contents.refs.iter().collect();
    refs.sort_by_key(|(id, _)| **id);
    put_u32(&mut out, refs.len() as u32);
    for (id, names) in refs {
        put_oid(&mut out, id);
        put_u32(&mut out, names.len() as u32);
        for name in names.iter() {
            let bytes = &name.as_bytes()[..name.len().min(u16::MAX as usize)];
            out.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
            out.extend_from_slice(bytes);
        }
    }
    let mut scans: Vec<_> = contents.scans.iter().collect();
    scans.sort_by_key(|(key, _)| **key);
    put_u32(&mut out, scans.len() as u32);
    for ((id, fingerprint), hits) in scans {
        put_oid(&mut out, id);
        out.extend_from_slice(&fingerprint.to_le_bytes());
        put_u32(&mut out, hits.len() as u32);
        for hit in hits.iter() {
            out.extend_from_slice(&hit.rule.to_le_bytes());
            put_u32(&mut out, hit.line);
            put_u32(&mut out, hit.hash);
            let text = &hit.text.as_bytes()[..hit.text.len().min(u16::MAX as usize)];
            out.extend_from_slice(&(text.len() as u16).to_le_bytes());
            out.extend_from_slice(text);
        }
    }
    let sum = checksum(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    out
}

fn put_u32(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_le_bytes());
}

fn put_oid(out: &mut Vec<u8>, id: &Oid) {
    let bytes = id.as_bytes();
    out.push(bytes.len() as u8);
    out.extend_from_slice(bytes);
}

/// Reads a cache; `None` if anything about it is off.
fn decode(bytes: &[u8]) -> Option<Contents> {
    let (body, sum) = bytes.split_at_checked(bytes.len().checked_sub(8)?)?;
    if checksum(body) != u64::from_le_bytes(sum.try_into().ok()?) {
        return None;
    }
    let mut r = Reader { bytes: body.strip_prefix(MAGIC.as_slice())? };
    let mut contents = Contents::default();
    for _ in 0..r.u32()? {
        let id = r.oid()?;
        let size = u64::from_le_bytes(r.take(8)?.try_into().ok()?);
        let kind = match r.take(1)?[0] {
            0 => ContentKind::Text,
            1 => ContentKind::Binary,
            2 => ContentKind::Unread,
            _ => return None,
        };
        let lines = r.u32()?;
        let n = r.u32()? as usize;
        let mut hashes = Vec::with_capacity(n.min(1 << 20));
        for _ in 0..n {
            hashes.push((r.u32()?, r.u32()?));
        }
        contents.facts.insert(id, Arc::new(Facts { size, kind, lines, hashes: hashes.into_boxed_slice() }));
    }
    for _ in 0..r.u32()? {
        let id = r.oid()?;
        let n = r.u32()? as usize;
        let mut names = Vec::with_capacity(n.min(1 << 16));
        for _ in 0..n {
            let len = u16::from_le_bytes(r.take(2)?.try_into().ok()?) as usize;
            names.push(String::from_utf8(r.take(len)?.to_vec()).ok()?);
        }
        contents.refs.insert(id, Arc::from(names));
    }
    for _ in 0..r.u32()? {
        let id = r.oid()?;
        let fingerprint = u64::from_le_bytes(r.take(8)?.try_into().ok()?);
        let n = r.u32()? as usize;
        let mut hits = Vec::with_capacity(n.min(1 << 16));
        for _ in 0..n {
            let rule = u16::from_le_bytes(r.take(2)?.try_into().ok()?);
            let (line, hash) = (r.u32()?, r.u32()?);
            let len = u16::from_le_bytes(r.take(2)?.try_into().ok()?) as usize;
            let text = String::from_utf8(r.take(len)?.to_vec()).ok()?;
            hits.push(ScanHit { rule, line, hash, text });
        }
        contents.scans.insert((id, fingerprint), Arc::from(hits));
    }
    r.bytes.is_empty().then_some(contents)
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, tail) = self.bytes.split_at_checked(n)?;
        self.bytes = tail;
        Some(head)
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    fn oid(&mut self) -> Option<Oid> {
        let len = self.take(1)?[0] as usize;
        Oid::from_bytes(self.take(len)?).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_damage() {
        let id = Oid::from_bytes(&[7; 20]).unwrap();
        let mut contents = Contents::default();
        contents.facts.insert(id, Arc::new(Facts::of(b"x\ny\nx\n")));
        contents.refs.insert(id, Arc::from(vec!["search.sh".to_string()]));
        let hit = ScanHit { rule: 2, line: 14, hash: 99, text: "while true; do".into() };
        contents.scans.insert((id, 7), Arc::from(vec![hit.clone()]));
        let bytes = encode(&contents);
        let back = decode(&bytes).unwrap();
        assert_eq!(back.facts[&id], contents.facts[&id]);
        assert_eq!(&*back.refs[&id], &["search.sh".to_string()]);
        assert_eq!(&*back.scans[&(id, 7)], &[hit]);

        let mut damaged = bytes.clone();
        damaged[20] ^= 1;
        assert!(decode(&damaged).is_none());
        assert!(decode(&bytes[..bytes.len() - 3]).is_none());
    }
}
