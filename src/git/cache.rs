//! The on-disk cache of blob facts (size, kind, line hashes), test references and rule matches:
//! `GIT_DIR/gate/cache-v4.bin`.
//!
//! A compact binary file, written whole to a temporary file and renamed into place, so readers
//! see an old or a new cache, never a torn one, and concurrent runs cost at most a lost entry.
//! The file is authenticated: an HMAC-SHA256 over the body with a key that is not in the cache
//! but in the user's state directory (`$XDG_STATE_HOME/gate/cache.key`, else
//! `~/.local/state/gate/cache.key`, mode 0600). A cache restored from somewhere else (a shared
//! CI cache, another user's clone) or edited by hand does not verify, and is ignored and rebuilt,
//! never trusted: what it says decides which lines of a script gate looks at. The version in the
//! name and header changes whenever what is stored changes meaning.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use git2::Oid;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::facts::{ContentKind, Facts, ScanHit};

const MAGIC: &[u8; 8] = b"GATECCH\x04";
const FILE_NAME: &str = "cache-v4.bin";
const TAG_LEN: usize = 32;
const KEY_LEN: usize = 32;

#[derive(Debug, Default)]
pub struct Contents {
    pub facts: HashMap<Oid, Arc<Facts>>,
    pub refs: HashMap<Oid, Arc<[String]>>,
    /// Rule matches in a blob, by blob and the fingerprint of the rule set.
    pub scans: Scans,
}

/// Rule matches by (blob, fingerprint of the rule set).
pub type Scans = HashMap<(Oid, u64), Arc<[ScanHit]>>;

#[derive(Clone, Debug)]
pub struct CacheFile {
    file: Sealed,
}

impl CacheFile {
    /// The cache of a repository, with this user's key; none when there is no key to be had (no
    /// home directory, a state directory gate cannot write): gate then runs without a cache.
    pub fn in_git_dir(git_dir: &Path) -> Option<CacheFile> {
        Some(CacheFile { file: Sealed::in_git_dir(git_dir, FILE_NAME)? })
    }

    /// The cache's contents, or nothing when it is missing, from another version, damaged, or
    /// not written with this user's key.
    pub fn load(&self) -> Contents {
        std::fs::read(&self.file.path).ok().and_then(|bytes| decode(&bytes, &self.file.key)).unwrap_or_default()
    }

    pub fn save(&self, contents: &Contents) -> std::io::Result<()> {
        self.file.write(&encode(contents, &self.file.key))
    }
}

/// A file of `GIT_DIR/gate/` that ends with an HMAC of its body under this user's key: what
/// gate keeps between runs, which only this user's runs can have written.
#[derive(Clone)]
pub(super) struct Sealed {
    path: PathBuf,
    key: [u8; KEY_LEN],
}

impl std::fmt::Debug for Sealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealed").field("path", &self.path).finish_non_exhaustive()
    }
}

impl Sealed {
    /// `GIT_DIR/gate/NAME`, with this user's key; none without a key.
    pub(super) fn in_git_dir(git_dir: &Path, name: &str) -> Option<Sealed> {
        let key = user_key()?;
        Some(Sealed { path: git_dir.join("gate").join(name), key })
    }

    /// The body, when the file is there and its tag verifies.
    pub(super) fn read(&self) -> Option<Vec<u8>> {
        let mut bytes = std::fs::read(&self.path).ok()?;
        let body_len = bytes.len().checked_sub(TAG_LEN)?;
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key).ok()?;
        mac.update(&bytes[..body_len]);
        mac.verify_slice(&bytes[body_len..]).ok()?;
        bytes.truncate(body_len);
        Some(bytes)
    }

    /// Writes `body` and its tag to a temporary file renamed into place, so readers see an old
    /// or a new file, never a torn one.
    pub(super) fn seal_and_write(&self, mut body: Vec<u8>) -> std::io::Result<()> {
        let tag = tag(&self.key, &body);
        body.extend_from_slice(&tag);
        self.write(&body)
    }

    fn write(&self, bytes: &[u8]) -> std::io::Result<()> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let name = self.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        std::fs::write(&temp, bytes)?;
        std::fs::rename(&temp, &self.path).inspect_err(|_| {
            let _ = std::fs::remove_file(&temp);
        })
    }
}

/// Where this user's cache key lives: `$XDG_STATE_HOME/gate/cache.key`, else
/// `~/.local/state/gate/cache.key`.
pub fn key_path() -> Option<PathBuf> {
    let state = std::env::var_os("XDG_STATE_HOME").map(PathBuf::from).filter(|p| p.is_absolute());
    let state = state.or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".local/state")))?;
    Some(state.join("gate").join("cache.key"))
}

/// This user's cache key, made (0600, in a 0700 directory) on first use. A key file that others
/// could read or write is replaced.
fn user_key() -> Option<[u8; KEY_LEN]> {
    let path = key_path()?;
    if let Ok(bytes) = std::fs::read(&path)
        && let Ok(key) = <[u8; KEY_LEN]>::try_from(bytes.as_slice())
        && private(&path)
    {
        return Some(key);
    }
    let mut key = [0u8; KEY_LEN];
    getrandom::getrandom(&mut key).ok()?;
    let dir = path.parent()?;
    create_private_dir(dir).ok()?;
    let temp = dir.join(format!(".cache.key.{}.tmp", std::process::id()));
    write_private(&temp, &key).ok()?;
    std::fs::rename(&temp, &path).ok()?;
    // Two runs making a key at once: use whichever landed, so both agree.
    let landed = std::fs::read(&path).ok()?;
    <[u8; KEY_LEN]>::try_from(landed.as_slice()).ok()
}

#[cfg(unix)]
fn private(path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).is_ok_and(|m| m.mode() & 0o077 == 0)
}

#[cfg(not(unix))]
fn private(_: &Path) -> bool {
    true
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

fn tag(key: &[u8; KEY_LEN], body: &[u8]) -> [u8; TAG_LEN] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key"));
    mac.update(body);
    mac.finalize().into_bytes().into()
}

fn encode(contents: &Contents, key: &[u8; KEY_LEN]) -> Vec<u8> {
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
        put_u32(&mut out, facts.longest_line);
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
    let tag = tag(key, &out);
    out.extend_from_slice(&tag);
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

/// Reads a cache; `None` if anything about it is off, first of all its tag.
fn decode(bytes: &[u8], key: &[u8; KEY_LEN]) -> Option<Contents> {
    let (body, expected) = bytes.split_at_checked(bytes.len().checked_sub(TAG_LEN)?)?;
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).ok()?;
    mac.update(body);
    mac.verify_slice(expected).ok()?;
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
        let (lines, longest_line) = (r.u32()?, r.u32()?);
        let n = r.u32()? as usize;
        let mut hashes = Vec::with_capacity(n.min(1 << 20));
        for _ in 0..n {
            hashes.push((r.u32()?, r.u32()?));
        }
        let facts = Facts { size, kind, lines, longest_line, hashes: hashes.into_boxed_slice() };
        contents.facts.insert(id, Arc::new(facts));
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
        let key = [9u8; KEY_LEN];
        let bytes = encode(&contents, &key);
        let back = decode(&bytes, &key).unwrap();
        assert_eq!(back.facts[&id], contents.facts[&id]);
        assert_eq!(&*back.refs[&id], &["search.sh".to_string()]);
        assert_eq!(&*back.scans[&(id, 7)], &[hit]);

        let mut damaged = bytes.clone();
        damaged[20] ^= 1;
        assert!(decode(&damaged, &key).is_none());
        assert!(decode(&bytes[..bytes.len() - 3], &key).is_none());
        assert!(decode(&bytes, &[8u8; KEY_LEN]).is_none(), "another user's key does not verify it");
    }
}
