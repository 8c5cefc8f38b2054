//! The on-disk cache of blob facts (size, kind, line hashes), test references, rule matches and
//! what upper layers derive from a blob in their own encoding (a read configuration file):
//! `GIT_DIR/gate/cache-v7.bin`, and `cache-v7-apart.bin` for derived records a run rarely reads
//! (a config file's keys), in the same format, read only when one is asked for.
//!
//! A compact binary file, written whole to a temporary file and renamed into place, so readers
//! see an old or a new cache, never a torn one, and concurrent runs cost at most a lost entry.
//! It is read indexed, not decoded: loading finds where each entry starts, and an entry is
//! decoded when a run asks for its blob (a warm run on a 100,000-file tree asks for few). A save
//! copies the entries it did not decode as they are, so the cache only grows. What a run learns
//! goes to `cache-v7-newer.bin` (same format and seal, asked first) while that stays under an
//! eighth of the cache, so a run that learns a few blobs does not rewrite tens of megabytes; past
//! that, both are written as one cache and the newer file is removed.
//! The file is authenticated: an HMAC-SHA256 over the body with a key that is not in the cache
//! but in the user's state directory (`$XDG_STATE_HOME/gate/cache.key`, else
//! `~/.local/state/gate/cache.key`, mode 0600). A cache restored from somewhere else (a shared
//! CI cache, another user's clone) or edited by hand does not verify, and is ignored and rebuilt,
//! never trusted: what it says decides which lines of a script gate looks at. The version in the
//! name and header changes whenever what is stored changes meaning.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use git2::Oid;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::bytes::{Reader, put_bytes32, put_oid, put_text16, put_u32};
use super::facts::{ContentKind, Facts, ScanHit};
use crate::fastmap::FastMap;

const MAGIC: &[u8; 8] = b"GATECCH\x07";
/// The cache's file name, with the version of what it stores: what is derived from the cache
/// (the reach index) is kept under this version too.
pub const FILE_NAME: &str = "cache-v7.bin";
/// Derived records a run rarely reads (the entries of config files), kept apart in a file of
/// the same format, read only when one is asked for: the cache itself is read on every run.
pub const APART_FILE_NAME: &str = "cache-v7-apart.bin";
const TAG_LEN: usize = 32;
const KEY_LEN: usize = 32;

/// What a run computed that the cache may not have yet.
#[derive(Debug, Default)]
pub struct Contents {
    pub facts: FastMap<Oid, Arc<Facts>>,
    pub refs: FastMap<Oid, Arc<[String]>>,
    /// Rule matches in a blob, by blob and the fingerprint of the rule set.
    pub scans: Scans,
    /// Records derived from a blob, by blob and the fingerprint of what derived them.
    pub derived: Derived,
}

impl Contents {
    fn is_empty(&self) -> bool {
        self.facts.is_empty() && self.refs.is_empty() && self.scans.is_empty() && self.derived.is_empty()
    }

    /// What of this `old` does not have (any derived record: a run only derives what the cache
    /// did not give it).
    fn not_in(&self, old: &Loaded) -> Contents {
        Contents {
            facts: self.facts.iter().filter(|(id, _)| !old.has_facts(**id)).map(|(k, v)| (*k, v.clone())).collect(),
            refs: self.refs.iter().filter(|(id, _)| !old.has_refs(**id)).map(|(k, v)| (*k, v.clone())).collect(),
            scans: self
                .scans
                .iter()
                .filter(|((id, fp), _)| !old.has_scan(*id, *fp))
                .map(|(k, v)| (*k, v.clone()))
                .collect(),
            derived: self.derived.clone(),
        }
    }

    /// Adds `other`'s entries, which replace this one's under the same key.
    fn add(&mut self, other: Contents) {
        self.facts.extend(other.facts);
        self.refs.extend(other.refs);
        self.scans.extend(other.scans);
        self.derived.extend(other.derived);
    }
}

/// Rule matches by (blob, fingerprint of the rule set).
pub type Scans = FastMap<(Oid, u64), Arc<[ScanHit]>>;

/// Derived records, in their own encoding, by (blob, fingerprint of what derived them).
pub type Derived = FastMap<(Oid, u64), Arc<[u8]>>;

/// A verified cache, indexed: each section's entries by key, pointing into the body.
#[derive(Debug, Default)]
pub struct Loaded {
    /// What later runs added, kept apart from the body until it is worth rewriting the whole
    /// cache for (see [`CacheFile::save`]); asked first, since a derived record there replaces
    /// the body's.
    newer: Option<Box<Loaded>>,
    body: Vec<u8>,
    facts: Section,
    refs: Section,
    scans: Section,
    derived: Section,
}

/// The entries of one section, sorted by key: a blob id, then for scans a fingerprint.
#[derive(Debug, Default)]
struct Section {
    entries: Vec<Entry>,
    /// Where the entries whose key starts with each 16-bit value begin (as in git's pack
    /// index): blob ids are uniform, so a lookup bisects a handful of entries, not the section.
    fanout: Vec<u32>,
}

impl Section {
    fn with_fanout(entries: Vec<Entry>) -> Section {
        let mut fanout = Vec::with_capacity(FANOUT + 1);
        let mut at = 0;
        for bucket in 0..=FANOUT {
            while at < entries.len() && bucket_of(entries[at].prefix) < bucket {
                at += 1;
            }
            fanout.push(at as u32);
        }
        Section { entries, fanout }
    }

    /// The entries whose key starts as `prefix` does, in its first 16 bits.
    fn bucket(&self, prefix: u64) -> &[Entry] {
        let Some(&end) = self.fanout.get(bucket_of(prefix) + 1) else { return &[] };
        &self.entries[self.fanout[bucket_of(prefix)] as usize..end as usize]
    }
}

const FANOUT: usize = 1 << 16;

fn bucket_of(prefix: u64) -> usize {
    (prefix >> 48) as usize
}

/// Where one entry's key (the blob id's bytes) and record (what follows the key) lie in the body.
#[derive(Debug, Clone, Copy)]
struct Entry {
    /// The key's first 8 bytes, big-endian: bisection compares these, and only reads the body
    /// to tell apart ids that share them.
    prefix: u64,
    key: u32,
    key_len: u8,
    /// The rule set's fingerprint, for scans, or what derived the record; 0 otherwise.
    fingerprint: u64,
    record: u32,
    end: u32,
}

impl Loaded {
    fn newer(&self) -> Option<&Loaded> {
        self.newer.as_deref()
    }

    fn has_facts(&self, id: Oid) -> bool {
        self.newer().is_some_and(|n| n.has_facts(id)) || self.find(&self.facts, id, 0).is_some()
    }

    fn has_refs(&self, id: Oid) -> bool {
        self.newer().is_some_and(|n| n.has_refs(id)) || self.find(&self.refs, id, 0).is_some()
    }

    fn has_scan(&self, id: Oid, fingerprint: u64) -> bool {
        self.newer().is_some_and(|n| n.has_scan(id, fingerprint)) || self.find(&self.scans, id, fingerprint).is_some()
    }

    /// For each of `ids`, whether the cache has its facts and its references: one walk along
    /// the sections in key order, not a lookup each (a warm run on a large tree asks about
    /// every blob of it, and lookups at random cost it more than all the rest).
    pub fn have(&self, ids: &[Oid]) -> Vec<(bool, bool)> {
        let order = key_order(ids);
        let present = |section: &Section| {
            let mut found = vec![false; ids.len()];
            self.walk(section, ids, &order, |i, _| found[i] = true);
            found
        };
        let mut have: Vec<(bool, bool)> = present(&self.facts).into_iter().zip(present(&self.refs)).collect();
        if let Some(newer) = self.newer() {
            for (mine, its) in have.iter_mut().zip(newer.have(ids)) {
                *mine = (mine.0 || its.0, mine.1 || its.1);
            }
        }
        have
    }

    /// Calls `each` with the position in `ids` and the entry of `section` of every id it has,
    /// walking the section once, in key order; `order` lists the ids by key prefix.
    fn walk(&self, section: &Section, ids: &[Oid], order: &[(u64, u32)], mut each: impl FnMut(usize, &Entry)) {
        let entries = &section.entries;
        let mut at = 0;
        for &(prefix, i) in order {
            while entries.get(at).is_some_and(|e| e.prefix < prefix) {
                at += 1;
            }
            let mut same_prefix = entries[at..].iter().take_while(|e| e.prefix == prefix);
            if let Some(entry) = same_prefix.find(|e| self.key(e) == ids[i as usize].as_bytes()) {
                each(i as usize, entry);
            }
        }
    }

    /// A blob's size, as its facts say, without decoding them.
    pub fn size(&self, id: Oid) -> Option<u64> {
        if let Some(size) = self.newer().and_then(|n| n.size(id)) {
            return Some(size);
        }
        let entry = self.find(&self.facts, id, 0)?;
        Some(u64::from_le_bytes(self.record(entry).take(8)?.try_into().ok()?))
    }

    pub fn facts(&self, id: Oid) -> Option<Facts> {
        if let Some(facts) = self.newer().and_then(|n| n.facts(id)) {
            return Some(facts);
        }
        let entry = self.find(&self.facts, id, 0)?;
        facts_record(&mut self.record(entry))
    }

    /// Calls `each` with the position in `ids` and the facts of every id the cache has facts
    /// for: one walk along the section in key order, as [`Loaded::have`] does, not a lookup at
    /// random each (a warm run that adds a file asks for the facts of every file of the tree).
    pub fn each_facts(&self, ids: &[Oid], mut each: impl FnMut(usize, &Facts)) {
        self.each_facts_in(ids, &mut each);
    }

    fn each_facts_in(&self, ids: &[Oid], each: &mut dyn FnMut(usize, &Facts)) {
        let mut given = vec![false; ids.len()];
        if let Some(newer) = self.newer() {
            newer.each_facts_in(ids, &mut |i, facts| {
                given[i] = true;
                each(i, facts);
            });
        }
        self.walk(&self.facts, ids, &key_order(ids), |i, entry| {
            if !given[i]
                && let Some(facts) = facts_record(&mut self.record(entry))
            {
                each(i, &facts);
            }
        });
    }

    pub fn refs(&self, id: Oid) -> Option<Vec<String>> {
        if let Some(refs) = self.newer().and_then(|n| n.refs(id)) {
            return Some(refs);
        }
        let entry = self.find(&self.refs, id, 0)?;
        refs_record(&mut self.record(entry))
    }

    pub fn scan(&self, id: Oid, fingerprint: u64) -> Option<Vec<ScanHit>> {
        if let Some(hits) = self.newer().and_then(|n| n.scan(id, fingerprint)) {
            return Some(hits);
        }
        let entry = self.find(&self.scans, id, fingerprint)?;
        scan_record(&mut self.record(entry))
    }

    /// The record derived from a blob under `fingerprint`, as its deriver encoded it.
    pub fn derived(&self, id: Oid, fingerprint: u64) -> Option<&[u8]> {
        if let Some(record) = self.newer().and_then(|n| n.derived(id, fingerprint)) {
            return Some(record);
        }
        let entry = self.find(&self.derived, id, fingerprint)?;
        self.record(entry).bytes32()
    }

    /// Every entry of the body (not of its newer file), decoded: for the newer file, which is
    /// small, when it is folded into the cache.
    fn contents(&self) -> Contents {
        let mut contents = Contents::default();
        let id = |entry: &Entry| Oid::from_bytes(self.key(entry)).ok();
        for entry in &self.facts.entries {
            if let Some((id, facts)) = id(entry).zip(facts_record(&mut self.record(entry))) {
                contents.facts.insert(id, Arc::new(facts));
            }
        }
        for entry in &self.refs.entries {
            if let Some((id, refs)) = id(entry).zip(refs_record(&mut self.record(entry))) {
                contents.refs.insert(id, Arc::from(refs));
            }
        }
        for entry in &self.scans.entries {
            if let Some((id, hits)) = id(entry).zip(scan_record(&mut self.record(entry))) {
                contents.scans.insert((id, entry.fingerprint), Arc::from(hits));
            }
        }
        for entry in &self.derived.entries {
            if let Some((id, record)) = id(entry).zip(self.record(entry).bytes32()) {
                contents.derived.insert((id, entry.fingerprint), Arc::from(record));
            }
        }
        contents
    }

    fn key(&self, entry: &Entry) -> &[u8] {
        &self.body[entry.key as usize..entry.key as usize + entry.key_len as usize]
    }

    fn record(&self, entry: &Entry) -> Reader<'_> {
        Reader::new(&self.body[entry.record as usize..entry.end as usize])
    }

    fn find<'s>(&self, section: &'s Section, id: Oid, fingerprint: u64) -> Option<&'s Entry> {
        let wanted = (prefix(id.as_bytes()), id.as_bytes(), fingerprint);
        let bucket = section.bucket(wanted.0);
        let at = bucket.binary_search_by(|e| self.order(e).cmp(&wanted)).ok()?;
        Some(&bucket[at])
    }

    /// What entries are sorted by.
    fn order(&self, entry: &Entry) -> (u64, &[u8], u64) {
        (entry.prefix, self.key(entry), entry.fingerprint)
    }
}

#[derive(Clone, Debug)]
pub struct CacheFile {
    file: Sealed,
    /// What runs learnt since the file was last written whole (`cache-v7-newer.bin`, same
    /// format and seal), for the cache that has one.
    newer: Option<Sealed>,
}

/// The file of what runs learnt since the cache was last written whole.
pub const NEWER_FILE_NAME: &str = "cache-v7-newer.bin";

/// The cache is written whole again once what is kept apart in the newer file would be more
/// than this fraction of it: until then a run that learns a few blobs rewrites a small file,
/// not tens of megabytes.
const NEWER_SHARE: usize = 8;

impl CacheFile {
    /// The cache of a repository, with this user's key; none when there is no key to be had (no
    /// home directory, a state directory gate cannot write): gate then runs without a cache.
    pub fn in_git_dir(git_dir: &Path) -> Option<CacheFile> {
        let newer = Sealed::in_git_dir(git_dir, NEWER_FILE_NAME);
        Some(CacheFile { file: Sealed::in_git_dir(git_dir, FILE_NAME)?, newer })
    }

    /// The file of derived records kept apart ([`APART_FILE_NAME`]).
    pub fn apart_in_git_dir(git_dir: &Path) -> Option<CacheFile> {
        Some(CacheFile { file: Sealed::in_git_dir(git_dir, APART_FILE_NAME)?, newer: None })
    }

    /// The cache, indexed, or an empty one when it is missing, from another version, damaged, or
    /// not written with this user's key; the same for the newer file, each on its own.
    pub fn load(&self) -> Loaded {
        let mut loaded = self.file.read().and_then(index).unwrap_or_default();
        loaded.newer = self.newer.as_ref().and_then(Sealed::read).and_then(index).map(Box::new);
        loaded
    }

    /// Keeps the entries of `new` that `old` does not have; a derived record of `new` replaces
    /// the one `old` has (which its deriver refused). They go to the newer file while it stays
    /// small beside the cache; else the cache is written whole, with the newer file's entries,
    /// and the newer file removed.
    pub fn save(&self, old: &Loaded, new: &Contents) -> std::io::Result<()> {
        let Some(newer_file) = &self.newer else {
            return self.file.seal_and_write(&[&encode(old, new)]);
        };
        let fresh = new.not_in(old);
        if fresh.is_empty() {
            return Ok(());
        }
        let empty = Loaded::default();
        let newer = old.newer().unwrap_or(&empty);
        // A first run writes the cache itself, without encoding all it learnt twice.
        if !old.body.is_empty() {
            let body = encode(newer, &fresh);
            if body.len() <= old.body.len() / NEWER_SHARE {
                return newer_file.seal_and_write(&[&body]);
            }
        }
        let mut merged = newer.contents();
        merged.add(fresh);
        self.file.seal_and_write(&[&encode(old, &merged)])?;
        newer_file.remove()
    }
}

/// A file of `GIT_DIR/gate/` that ends with an HMAC of its body under this user's key: what
/// gate keeps between runs, which only this user's runs can have written.
#[derive(Clone)]
pub struct Sealed {
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
    pub fn in_git_dir(git_dir: &Path, name: &str) -> Option<Sealed> {
        let key = user_key()?;
        Some(Sealed { path: git_dir.join("gate").join(name), key })
    }

    /// The body, when the file is there and its tag verifies.
    pub fn read(&self) -> Option<Vec<u8>> {
        let mut bytes = std::fs::read(&self.path).ok()?;
        let body_len = bytes.len().checked_sub(TAG_LEN)?;
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key).ok()?;
        mac.update(&bytes[..body_len]);
        mac.verify_slice(&bytes[body_len..]).ok()?;
        bytes.truncate(body_len);
        Some(bytes)
    }

    /// Writes a body, the concatenation of `parts`, and its tag to a temporary file renamed
    /// into place, so readers see an old or a new file, never a torn one. The parts are written
    /// as they are: a large body is never copied to be joined or sealed.
    pub fn seal_and_write(&self, parts: &[&[u8]]) -> std::io::Result<()> {
        let tag = tag(&self.key, parts);
        self.write(parts.iter().copied().chain([tag.as_slice()]))
    }

    /// Removes the file; one that is not there is removed already.
    pub fn remove(&self) -> std::io::Result<()> {
        match std::fs::remove_file(&self.path) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(err),
            _ => Ok(()),
        }
    }

    fn write<'a>(&self, mut parts: impl Iterator<Item = &'a [u8]>) -> std::io::Result<()> {
        use std::io::Write as _;
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let name = self.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        let written = std::fs::File::create(&temp).and_then(|file| {
            // Small parts are gathered; a part larger than the buffer goes straight to the file.
            let mut out = std::io::BufWriter::with_capacity(1 << 16, file);
            parts.try_for_each(|part| out.write_all(part))?;
            out.into_inner().map_err(std::io::IntoInnerError::into_error).map(drop)
        });
        if let Err(err) = written {
            let _ = std::fs::remove_file(&temp);
            return Err(err);
        }
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

fn tag(key: &[u8; KEY_LEN], body: &[&[u8]]) -> [u8; TAG_LEN] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key"));
    body.iter().for_each(|part| mac.update(part));
    mac.finalize().into_bytes().into()
}

/// One entry of a section in the order of the file: one kept from the old cache, as it is, or
/// one this run computed.
enum Out<'a, T> {
    Kept(&'a Entry),
    New(Oid, u64, &'a T),
}

/// The body of `old` (not its newer file) with the entries of `new` it does not have.
fn encode(old: &Loaded, new: &Contents) -> Vec<u8> {
    let mut out = Vec::with_capacity(old.body.len() + (1 << 20));
    out.extend_from_slice(MAGIC);
    let facts = new.facts.iter().map(|(id, f)| (*id, 0, f)).filter(|(id, _, _)| old.find(&old.facts, *id, 0).is_none());
    write_section(&mut out, old, &old.facts, (facts.collect(), false), put_facts);
    let refs = new.refs.iter().map(|(id, r)| (*id, 0, r)).filter(|(id, _, _)| old.find(&old.refs, *id, 0).is_none());
    write_section(&mut out, old, &old.refs, (refs.collect(), false), put_refs);
    let scans = new.scans.iter().map(|((id, fp), h)| (*id, *fp, h));
    let scans = scans.filter(|(id, fp, _)| old.find(&old.scans, *id, *fp).is_none());
    write_section(&mut out, old, &old.scans, (scans.collect(), true), put_hits);
    let derived = new.derived.iter().map(|((id, fp), record)| (*id, *fp, record));
    write_section(&mut out, old, &old.derived, (derived.collect(), true), put_record);
    out
}

/// A section: its count, then its entries in key order, old and new merged; of two with one key,
/// the new one. `new` comes with whether its keys are followed by their fingerprint.
fn write_section<T>(
    out: &mut Vec<u8>,
    old: &Loaded,
    section: &Section,
    (mut new, fingerprinted): (Vec<(Oid, u64, &T)>, bool),
    put: fn(&mut Vec<u8>, &T),
) {
    new.sort_by(|a, b| (a.0.as_bytes(), a.1).cmp(&(b.0.as_bytes(), b.1)));
    let mut merged: Vec<Out<'_, T>> = Vec::with_capacity(section.entries.len() + new.len());
    let (mut kept, mut fresh) = (section.entries.iter().peekable(), new.into_iter().peekable());
    loop {
        let order = match (kept.peek(), fresh.peek()) {
            (Some(k), Some(n)) => (old.key(k), k.fingerprint).cmp(&(n.0.as_bytes(), n.1)),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => break,
        };
        if order == Ordering::Equal {
            kept.next();
        }
        match order {
            Ordering::Less => merged.extend(kept.next().map(Out::Kept)),
            _ => merged.extend(fresh.next().map(|(id, fp, value)| Out::New(id, fp, value))),
        }
    }
    put_u32(out, merged.len() as u32);
    for item in merged {
        match item {
            Out::Kept(entry) => {
                out.push(entry.key_len);
                out.extend_from_slice(&old.body[entry.key as usize..entry.end as usize]);
            }
            Out::New(id, fingerprint, value) => {
                put_oid(out, &id);
                if fingerprinted {
                    out.extend_from_slice(&fingerprint.to_le_bytes());
                }
                put(out, value);
            }
        }
    }
}

fn put_facts(out: &mut Vec<u8>, facts: &Arc<Facts>) {
    out.extend_from_slice(&facts.size.to_le_bytes());
    out.push(match facts.kind {
        ContentKind::Text => 0,
        ContentKind::Binary => 1,
        ContentKind::Unread => 2,
    });
    put_u32(out, facts.lines);
    put_u32(out, facts.longest_line);
    put_u32(out, facts.hashes.len() as u32);
    for (hash, count) in facts.hashes.iter() {
        put_u32(out, *hash);
        put_u32(out, *count);
    }
}

fn put_refs(out: &mut Vec<u8>, names: &Arc<[String]>) {
    put_u32(out, names.len() as u32);
    for name in names.iter() {
        put_text16(out, name);
    }
}

fn put_record(out: &mut Vec<u8>, record: &Arc<[u8]>) {
    put_bytes32(out, record);
}

fn put_hits(out: &mut Vec<u8>, hits: &Arc<[ScanHit]>) {
    put_u32(out, hits.len() as u32);
    for hit in hits.iter() {
        out.extend_from_slice(&hit.rule.to_le_bytes());
        put_u32(out, hit.line);
        put_u32(out, hit.hash);
        put_text16(out, &hit.text);
    }
}

/// Indexes a verified body; `None` if any entry does not read whole. Each record is walked over,
/// not decoded; a damaged record (bad UTF-8) is found when it is decoded, and then unknown.
fn index(body: Vec<u8>) -> Option<Loaded> {
    // Offsets are 32-bit; a larger cache is not used (and is replaced by the next save).
    u32::try_from(body.len()).ok()?;
    let mut r = Reader::new(body.strip_prefix(MAGIC.as_slice())?);
    let at = |r: &Reader<'_>| r.position(&body) as u32;
    let mut sections = [Section::default(), Section::default(), Section::default(), Section::default()];
    for (number, section) in sections.iter_mut().enumerate() {
        let count = r.u32()? as usize;
        section.entries.reserve(count.min(1 << 22));
        for _ in 0..count {
            let key_len = r.take(1)?[0];
            let key = at(&r);
            let prefix = prefix(r.take(key_len as usize)?);
            let fingerprint = if number >= 2 { u64::from_le_bytes(r.take(8)?.try_into().ok()?) } else { 0 };
            let record = at(&r);
            match number {
                0 => skip_facts(&mut r)?,
                1 => skip_texts(&mut r, 0)?,
                2 => skip_texts(&mut r, 10)?,
                _ => drop(r.bytes32()?),
            }
            section.entries.push(Entry { prefix, key, key_len, fingerprint, record, end: at(&r) });
        }
    }
    if !r.is_empty() {
        return None;
    }
    let [facts, refs, scans, derived] = sections.map(|s| Section::with_fanout(s.entries));
    let loaded = Loaded { newer: None, facts, refs, scans, derived, body };
    // Written in key order; checked, since the lookups bisect.
    let sorted = |s: &Section| s.entries.is_sorted_by(|a, b| loaded.order(a) < loaded.order(b));
    let all_sorted = [&loaded.facts, &loaded.refs, &loaded.scans, &loaded.derived].into_iter().all(sorted);
    all_sorted.then_some(loaded)
}

/// The positions of `ids` by key prefix: the order a walk along a section takes them in.
fn key_order(ids: &[Oid]) -> Vec<(u64, u32)> {
    let mut order: Vec<(u64, u32)> = ids.iter().enumerate().map(|(i, id)| (prefix(id.as_bytes()), i as u32)).collect();
    order.sort_unstable();
    order
}

/// The first 8 bytes of a key as a number that sorts as the bytes do.
fn prefix(key: &[u8]) -> u64 {
    let mut first = [0u8; 8];
    let n = key.len().min(8);
    first[..n].copy_from_slice(&key[..n]);
    u64::from_be_bytes(first)
}

fn skip_facts(r: &mut Reader<'_>) -> Option<()> {
    r.take(8 + 1 + 4 + 4)?;
    let n = r.u32()? as usize;
    r.take(n.checked_mul(8)?)?;
    Some(())
}

/// Skips a count and that many items of `fixed` bytes each followed by a string.
fn skip_texts(r: &mut Reader<'_>, fixed: usize) -> Option<()> {
    for _ in 0..r.u32()? {
        r.take(fixed)?;
        let len = u16::from_le_bytes(r.take(2)?.try_into().ok()?) as usize;
        r.take(len)?;
    }
    Some(())
}

fn facts_record(r: &mut Reader<'_>) -> Option<Facts> {
    let size = u64::from_le_bytes(r.take(8)?.try_into().ok()?);
    let kind = match r.take(1)?[0] {
        0 => ContentKind::Text,
        1 => ContentKind::Binary,
        2 => ContentKind::Unread,
        _ => return None,
    };
    let (lines, longest_line) = (r.u32()?, r.u32()?);
    let n = r.u32()? as usize;
    // Decoded in one pass over the pairs: a warm run decodes the facts of every file of a tree.
    let pair = |b: &[u8]| {
        let word = |at: usize| u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
        (word(0), word(4))
    };
    let hashes = r.take(n.checked_mul(8)?)?.chunks_exact(8).map(pair).collect();
    Some(Facts { size, kind, lines, longest_line, hashes })
}

fn refs_record(r: &mut Reader<'_>) -> Option<Vec<String>> {
    let n = r.u32()? as usize;
    let mut names = Vec::with_capacity(n.min(1 << 16));
    for _ in 0..n {
        names.push(r.text16()?);
    }
    Some(names)
}

fn scan_record(r: &mut Reader<'_>) -> Option<Vec<ScanHit>> {
    let n = r.u32()? as usize;
    let mut hits = Vec::with_capacity(n.min(1 << 16));
    for _ in 0..n {
        let rule = u16::from_le_bytes(r.take(2)?.try_into().ok()?);
        let (line, hash) = (r.u32()?, r.u32()?);
        hits.push(ScanHit { rule, line, hash, text: r.text16()? });
    }
    Some(hits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contents(id: Oid, text: &[u8], reference: &str, hit: &ScanHit) -> Contents {
        let mut contents = Contents::default();
        contents.facts.insert(id, Arc::new(Facts::of(text)));
        contents.refs.insert(id, Arc::from(vec![reference.to_string()]));
        contents.scans.insert((id, 7), Arc::from(vec![hit.clone()]));
        contents
    }

    #[test]
    fn round_trips_keeps_what_it_did_not_decode_and_rejects_damage() {
        let (a, b) = (Oid::from_bytes(&[7; 20]).unwrap(), Oid::from_bytes(&[3; 20]).unwrap());
        let hit = ScanHit { rule: 2, line: 14, hash: 99, text: "while true; do".into() };
        let first = index(encode(&Loaded::default(), &contents(a, b"x\ny\nx\n", "search.sh", &hit))).unwrap();
        // A second run adds a blob that sorts first; the first run's entries are kept as they are.
        let second = index(encode(&first, &contents(b, b"z\n", "lib.sh", &hit))).unwrap();
        assert_eq!(second.facts(a), Some(Facts::of(b"x\ny\nx\n")));
        assert_eq!(second.facts(b), Some(Facts::of(b"z\n")));
        assert_eq!(second.refs(a), Some(vec!["search.sh".to_string()]));
        assert_eq!(second.scan(a, 7), Some(vec![hit.clone()]));
        assert_eq!(second.scan(a, 8), None);
        assert_eq!((second.size(a), second.size(Oid::from_bytes(&[5; 20]).unwrap())), (Some(6), None));
        assert!(!second.has_facts(Oid::from_bytes(&[5; 20]).unwrap()));

        let body = encode(&second, &Contents::default());
        assert!(index(body[..body.len() - 3].to_vec()).is_none());
    }

    #[test]
    fn a_derived_record_is_kept_by_blob_and_fingerprint_and_a_new_one_replaces_it() {
        let (a, b) = (Oid::from_bytes(&[7; 20]).unwrap(), Oid::from_bytes(&[3; 20]).unwrap());
        let derived = |records: &[(Oid, u64, &[u8])]| Contents {
            derived: records.iter().map(|(id, fp, r)| ((*id, *fp), Arc::from(*r))).collect(),
            ..Contents::default()
        };
        let first = index(encode(&Loaded::default(), &derived(&[(a, 1, b"one"), (a, 2, b"two")]))).unwrap();
        assert_eq!(first.derived(a, 1), Some(b"one".as_slice()));
        assert_eq!(first.derived(a, 2), Some(b"two".as_slice()));
        assert_eq!(first.derived(a, 3), None);
        assert_eq!(first.derived(b, 1), None);
        // A record its deriver refused is derived again; the new one replaces it, the rest stay.
        let second = index(encode(&first, &derived(&[(a, 1, b"again"), (b, 1, b"")]))).unwrap();
        assert_eq!(second.derived(a, 1), Some(b"again".as_slice()));
        assert_eq!(second.derived(a, 2), Some(b"two".as_slice()));
        assert_eq!(second.derived(b, 1), Some(b"".as_slice()));
        assert_eq!(second.derived.entries.len(), 3);
        // The other sections are untouched by it.
        assert_eq!(second.facts(a), None);
    }

    #[test]
    fn a_sealed_file_is_read_only_with_the_key_that_wrote_it() {
        let dir = tempfile::tempdir().unwrap();
        let sealed = |key: u8| Sealed { path: dir.path().join("kept.bin"), key: [key; KEY_LEN] };
        sealed(9).seal_and_write(&[b"what gate kept"]).unwrap();
        assert_eq!(sealed(9).read().as_deref(), Some(b"what gate kept".as_slice()));
        let whole = std::fs::read(dir.path().join("kept.bin")).unwrap();
        // A body written in parts is the same file as the body written whole.
        sealed(9).seal_and_write(&[b"what ", b"", b"gate kept"]).unwrap();
        assert_eq!(std::fs::read(dir.path().join("kept.bin")).unwrap(), whole);
        assert_eq!(sealed(8).read(), None, "another user's key does not verify it");
        let mut damaged = std::fs::read(dir.path().join("kept.bin")).unwrap();
        damaged[3] ^= 1;
        std::fs::write(dir.path().join("kept.bin"), damaged).unwrap();
        assert_eq!(sealed(9).read(), None);
    }

    #[test]
    fn a_run_that_learns_little_writes_the_newer_file_and_a_larger_one_folds_it_in() {
        let dir = tempfile::tempdir().unwrap();
        let sealed = |name: &str| Sealed { path: dir.path().join(name), key: [4; KEY_LEN] };
        let file = CacheFile { file: sealed(FILE_NAME), newer: Some(sealed(NEWER_FILE_NAME)) };
        let id = |i: u32| Oid::from_bytes(&[&i.to_be_bytes()[..], &[9; 16]].concat()).unwrap();
        let learnt = |ids: std::ops::Range<u32>, derived: &[u8]| {
            let mut contents = Contents::default();
            for i in ids {
                contents.facts.insert(id(i), Arc::new(Facts::of(format!("line {i}\nline\n").as_bytes())));
                contents.derived.insert((id(i), 1), Arc::from(derived));
            }
            contents
        };
        file.save(&file.load(), &learnt(0..200, b"first")).unwrap();
        let whole = std::fs::read(dir.path().join(FILE_NAME)).unwrap();
        assert!(!dir.path().join(NEWER_FILE_NAME).exists(), "a first run writes the cache whole");

        // A run that learns two blobs and derives one record again (its first one was refused):
        // the cache stays as it was, the newer file has them, and a load sees both.
        let mut few = learnt(200..202, b"second");
        few.derived.insert((id(5), 1), Arc::from(&b"again"[..]));
        file.save(&file.load(), &few).unwrap();
        assert_eq!(std::fs::read(dir.path().join(FILE_NAME)).unwrap(), whole);
        assert!(dir.path().join(NEWER_FILE_NAME).exists());
        let loaded = file.load();
        assert_eq!(loaded.facts(id(201)), Some(Facts::of(b"line 201\nline\n")));
        assert_eq!(loaded.facts(id(3)), Some(Facts::of(b"line 3\nline\n")));
        assert_eq!(loaded.derived(id(5), 1), Some(b"again".as_slice()));
        assert_eq!(loaded.derived(id(6), 1), Some(b"first".as_slice()));
        assert_eq!(loaded.have(&[id(201), id(3), id(999)]), vec![(true, false), (true, false), (false, false)]);
        let mut seen = Vec::new();
        loaded.each_facts(&[id(201), id(3), id(999), id(200)], |i, _| seen.push(i));
        seen.sort();
        assert_eq!(seen, vec![0, 1, 3], "each blob once, from whichever file has it");

        // A run that learns as much as the cache holds: one file again, with everything.
        file.save(&file.load(), &learnt(300..500, b"third")).unwrap();
        assert!(!dir.path().join(NEWER_FILE_NAME).exists(), "the newer file is folded into the cache");
        let loaded = file.load();
        for i in [0, 201, 499] {
            assert!(loaded.facts(id(i)).is_some(), "blob {i}");
        }
        assert_eq!(loaded.derived(id(5), 1), Some(b"again".as_slice()));
        // A newer file that does not verify is ignored; the cache alone still answers.
        file.save(&file.load(), &learnt(600..602, b"fourth")).unwrap();
        std::fs::write(dir.path().join(NEWER_FILE_NAME), b"not sealed by this user").unwrap();
        let loaded = file.load();
        assert!(loaded.facts(id(601)).is_none() && loaded.facts(id(499)).is_some());
    }
}
