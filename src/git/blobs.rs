//! Facts about blobs (size, text or binary, the hashes of their lines) and the references a test
//! file makes, computed once per blob id and kept in an on-disk cache.
//!
//! A blob id names its content forever, so nothing here ever goes stale: a second run on the same
//! range reads no blob it has seen before. Many blobs are read in parallel, straight from the
//! pack files in the order they are stored there (see [`super::pack`]), each thread taking blocks
//! of neighbours; what the pack reader cannot give is read through a libgit2 handle of the
//! thread's own (libgit2 handles are not shared between threads).

use std::cell::{Cell, OnceCell, RefCell};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;

use git2::{ErrorCode, Oid, Repository};

use super::Repo;
use super::cache::{self, CacheFile, Loaded};
use super::facts::{ContentKind, Facts, ScanHit};
use super::pack::{self, Location, Packs};
use crate::fastmap::FastMap;
use crate::{Error, Result};

/// Blobs larger than this are never read whole; their facts say `Unread`.
pub const READ_LIMIT: u64 = 8 * 1024 * 1024;

/// Blobs a reading thread reads before it reports them: a message per blob (and the wake-up of
/// the receiving thread it costs) was dearer than a small blob's read.
const BATCH: usize = 64;

/// Extracts what a test file refers to; see `analysis::coverage`.
pub type RefsFn = fn(&[u8]) -> Vec<String>;

/// A scan a check will ask for (see [`BlobStore::plan_scan`]): the matches in a blob's content,
/// or `None` when the scan does not apply to content of that kind.
pub type PlannedScan = Arc<dyn Fn(&[u8], ContentKind) -> Option<Vec<ScanHit>> + Send + Sync>;

/// The scans planned for one blob, each with its rule set's fingerprint.
type Planned = Vec<(u64, PlannedScan)>;

/// What a reading thread reports for one blob.
enum Message {
    Read(Read),
    /// Not read: the run's byte budget is spent.
    OverBudget,
    Failed(Oid, git2::Error),
}

/// What one blob read produced.
struct Read {
    id: Oid,
    facts: Facts,
    refs: Option<Vec<String>>,
    /// The planned scans' matches, by fingerprint.
    scans: Vec<(u64, Vec<ScanHit>)>,
}

pub struct BlobStore<'r> {
    repo: &'r Repo,
    git_dir: PathBuf,
    /// The cache as loaded: entries are decoded from it when asked for, into the maps below.
    disk: Loaded,
    facts: RefCell<FastMap<Oid, Arc<Facts>>>,
    refs: RefCell<FastMap<Oid, Arc<[String]>>>,
    scans: RefCell<cache::Scans>,
    /// Scans checks will ask for, done when the blob is read with others.
    planned: RefCell<FastMap<Oid, Planned>>,
    /// Records derived in this run (none of those the cache had).
    derived: RefCell<cache::Derived>,
    /// Derived records kept apart: read the first time one is asked for.
    apart: Apart,
    cache: Option<CacheFile>,
    /// Whether anything was computed that the cache does not have yet.
    dirty: Cell<bool>,
    bytes_read: Cell<u64>,
}

impl<'r> BlobStore<'r> {
    /// A store backed by the cache in the repository's git directory (`gate/cache-v7.bin`),
    /// authenticated with this user's key; without a key, a store with no cache.
    pub fn open(repo: &'r Repo) -> BlobStore<'r> {
        let cache = CacheFile::in_git_dir(&repo.git_dir());
        let disk = cache.as_ref().map(CacheFile::load).unwrap_or_default();
        BlobStore {
            repo,
            git_dir: repo.git_dir(),
            disk,
            facts: RefCell::default(),
            refs: RefCell::default(),
            scans: RefCell::default(),
            planned: RefCell::default(),
            derived: RefCell::default(),
            apart: Apart {
                file: CacheFile::apart_in_git_dir(&repo.git_dir()),
                disk: OnceCell::new(),
                new: RefCell::default(),
            },
            cache,
            dirty: Cell::new(false),
            bytes_read: Cell::new(0),
        }
    }

    /// Bytes of blob content read in this run (cache hits read nothing).
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read.get()
    }

    /// Facts about one blob, from memory, the cache, or by reading it.
    pub fn facts(&self, id: Oid) -> Result<Arc<Facts>> {
        if let Some(facts) = self.known_facts(id) {
            return Ok(facts);
        }
        let read =
            read_blob(&self.repo.git, id).map_err(|err| self.error(id, &err))?.read(id, None, &self.take_planned(id));
        self.bytes_read.set(self.bytes_read.get() + read_bytes(&read.facts));
        Ok(self.insert(read).0)
    }

    /// What a test file refers to, from memory, the cache, or by reading it.
    pub fn refs(&self, id: Oid, refs_fn: RefsFn) -> Result<Arc<[String]>> {
        if let Some(refs) = self.known_refs(id) {
            return Ok(refs);
        }
        // The facts known already are not computed again: only what it refers to is.
        if let Some(facts) = self.known_facts(id) {
            let refs: Arc<[String]> = match facts.kind {
                ContentKind::Text => Arc::from(refs_fn(&self.content(id)?)),
                ContentKind::Binary | ContentKind::Unread => Arc::from(Vec::new()),
            };
            self.refs.borrow_mut().insert(id, refs.clone());
            self.dirty.set(true);
            return Ok(refs);
        }
        let read = read_blob(&self.repo.git, id).map_err(|err| self.error(id, &err))?.read(
            id,
            Some(refs_fn),
            &self.take_planned(id),
        );
        self.bytes_read.set(self.bytes_read.get() + read_bytes(&read.facts));
        Ok(self.insert(read).1.unwrap_or_else(|| Arc::from(Vec::new())))
    }

    /// What a test file refers to, if it has been read (by [`BlobStore::prefetch`] or the cache).
    pub fn known_refs(&self, id: Oid) -> Option<Arc<[String]>> {
        known(&self.refs, id, || self.disk.refs(id).map(Arc::from))
    }

    /// A blob's size, when its facts are known, without reading anything.
    pub fn known_size(&self, id: Oid) -> Option<u64> {
        match self.facts.borrow().get(&id) {
            Some(facts) => Some(facts.size),
            None => self.disk.size(id),
        }
    }

    /// Calls `each` with the position in `ids` and the facts of every id whose facts are known
    /// already (this run's, else the cache's, found in one walk along it), without reading
    /// anything, in no particular order. Nothing is remembered: asked once per run, for every
    /// file of the tree.
    pub fn each_known_facts(&self, ids: &[Oid], mut each: impl FnMut(usize, Known<'_>)) {
        let memo = self.facts.borrow();
        let mut missing = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            match memo.get(id) {
                Some(facts) => each(i, Known::Held(facts)),
                None => missing.push(i),
            }
        }
        let missing_ids: Vec<Oid> = missing.iter().map(|&i| ids[i]).collect();
        self.disk.each_facts(&missing_ids, |at, facts| each(missing[at], Known::Decoded(facts)));
    }

    /// Facts already known, without reading anything.
    pub fn known_facts(&self, id: Oid) -> Option<Arc<Facts>> {
        known(&self.facts, id, || self.disk.facts(id).map(Arc::new))
    }

    /// The matches of a rule set (`fingerprint`) in a blob, from memory, the cache, or by
    /// reading the blob and running `scan` on its content.
    pub fn scan(&self, id: Oid, fingerprint: u64, scan: impl FnOnce(&[u8]) -> Vec<ScanHit>) -> Result<Arc<[ScanHit]>> {
        if let Some(hits) = known(&self.scans, (id, fingerprint), || self.disk.scan(id, fingerprint).map(Arc::from)) {
            return Ok(hits);
        }
        let hits: Arc<[ScanHit]> = Arc::from(scan(&self.content(id)?));
        self.scans.borrow_mut().insert((id, fingerprint), hits.clone());
        self.dirty.set(true);
        Ok(hits)
    }

    /// Plans the scan `fingerprint` of a blob that [`BlobStore::scan`] will be asked for, unless
    /// its matches are known: the pass that reads many blobs at once ([`BlobStore::prefetch`])
    /// finds them as it reads the blob for its facts, and [`BlobStore::scan_planned`] finds
    /// those of the blobs no such pass read. Either way the blob is read once, with others.
    pub fn plan_scan(&self, id: Oid, fingerprint: u64, scan: PlannedScan) {
        if known(&self.scans, (id, fingerprint), || self.disk.scan(id, fingerprint).map(Arc::from)).is_none() {
            self.planned.borrow_mut().entry(id).or_default().push((fingerprint, scan));
        }
    }

    /// The scans planned for a blob about to be read by itself: done with this read.
    fn take_planned(&self, id: Oid) -> Planned {
        self.planned.borrow_mut().remove(&id).unwrap_or_default()
    }

    /// Does the planned scans that no pass has done yet, reading their blobs in parallel.
    pub fn scan_planned(&self) -> Result<()> {
        let planned: Vec<(Oid, Planned)> = {
            let scans = self.scans.borrow();
            let mut planned: Vec<(Oid, Planned)> = std::mem::take(&mut *self.planned.borrow_mut())
                .into_iter()
                .map(|(id, list)| (id, list.into_iter().filter(|(fp, _)| !scans.contains_key(&(id, *fp))).collect()))
                .filter(|(_, list): &(Oid, Planned)| !list.is_empty())
                .collect();
            planned.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            planned
        };
        let ids: Vec<Oid> = planned.iter().map(|(id, _)| *id).collect();
        // The facts too, which the check asks for first.
        let scan = |at: usize, content: &[u8]| {
            let facts = Facts::of(content);
            let scans = planned_scans(&planned[at].1, content, facts.kind);
            (Some(facts), scans)
        };
        let found = self.each_content(&ids, &scan, u64::MAX, &|_, _| {})?;
        let (mut all_facts, mut scans) = (self.facts.borrow_mut(), self.scans.borrow_mut());
        for (id, (facts, found)) in ids.into_iter().zip(found.into_iter().flatten()) {
            if let Some(facts) = facts.filter(|_| !all_facts.contains_key(&id)) {
                all_facts.insert(id, Arc::new(facts));
                self.dirty.set(true);
            }
            for (fingerprint, hits) in found {
                scans.insert((id, fingerprint), Arc::from(hits));
                self.dirty.set(true);
            }
        }
        Ok(())
    }

    /// What `derive` makes of a blob's content, kept under `fingerprint` (what derives it, and
    /// how) in `codec`'s encoding: from memory, the cache, or by reading the blob. A record the
    /// codec cannot decode is never believed: the blob is read again and the record replaced.
    pub fn derived<T>(
        &self,
        id: Oid,
        fingerprint: u64,
        codec: &Codec<T>,
        derive: impl FnOnce(&[u8]) -> T,
    ) -> Result<T> {
        if let Some(value) = self.kept(id, fingerprint, codec) {
            return Ok(value);
        }
        let value = derive(&self.content(id)?);
        self.keep(id, fingerprint, codec, &value);
        Ok(value)
    }

    /// The record kept under `fingerprint` for a blob, when the codec decodes it: for what is
    /// derived from more than the blob (a diff of two), and [`BlobStore::keep`]s.
    pub fn kept<T>(&self, id: Oid, fingerprint: u64, codec: &Codec<T>) -> Option<T> {
        known_derived(&self.disk, &self.derived, (id, fingerprint), codec)
    }

    /// Keeps what this run derived under a blob and `fingerprint`.
    pub fn keep<T>(&self, id: Oid, fingerprint: u64, codec: &Codec<T>, value: &T) {
        self.derived.borrow_mut().insert((id, fingerprint), Arc::from((codec.encode)(value)));
        self.dirty.set(true);
    }

    /// As [`BlobStore::derived`], for a record kept apart: large, and read rarely.
    pub fn derived_apart<T>(
        &self,
        id: Oid,
        fingerprint: u64,
        codec: &Codec<T>,
        derive: impl FnOnce(&[u8]) -> T,
    ) -> Result<T> {
        if let Some(value) = known_derived(self.apart.disk(), &self.apart.new, (id, fingerprint), codec) {
            return Ok(value);
        }
        let value = derive(&self.content(id)?);
        self.keep_apart(id, fingerprint, codec, &value);
        Ok(value)
    }

    /// Keeps apart what this run derived from a blob already.
    pub fn keep_apart<T>(&self, id: Oid, fingerprint: u64, codec: &Codec<T>, value: &T) {
        if self.apart.file.is_some() {
            self.apart.new.borrow_mut().insert((id, fingerprint), Arc::from((codec.encode)(value)));
        }
    }

    /// The content of a blob.
    pub fn content(&self, id: Oid) -> Result<Vec<u8>> {
        let blob = self.repo.git.find_blob(id).map_err(|err| self.error(id, &err))?;
        super::reads_log::read(id);
        self.bytes_read.set(self.bytes_read.get() + blob.size() as u64);
        Ok(blob.content().to_vec())
    }

    /// Computes, in parallel, the facts of every blob in `wanted` that is not known yet (and the
    /// references of those marked `true`), reading at most `budget` bytes of content in all.
    /// Returns how many blobs were left unread because the budget ran out. `progress(done,
    /// total)` is called from this thread.
    pub fn prefetch(
        &self,
        wanted: &[(Oid, bool)],
        refs_fn: RefsFn,
        budget: u64,
        progress: &dyn Fn(usize, usize),
    ) -> Result<usize> {
        let missing: Vec<(Oid, bool)> = {
            let facts = self.facts.borrow();
            let refs = self.refs.borrow();
            // One read per blob, with its references when any path of it wants them: identical
            // files (empty `__init__.py` in a package and in tests) must give the same facts
            // whichever path comes first, cold or warm.
            let mut position: FastMap<Oid, usize> = FastMap::default();
            let mut missing: Vec<(Oid, bool)> = Vec::new();
            let ids: Vec<Oid> = wanted.iter().map(|(id, _)| *id).collect();
            let on_disk = self.disk.have(&ids);
            for (&(id, want_refs), (facts_on_disk, refs_on_disk)) in wanted.iter().zip(on_disk) {
                let has_facts = facts_on_disk || facts.contains_key(&id);
                if has_facts && (!want_refs || refs_on_disk || refs.contains_key(&id)) {
                    continue;
                }
                match position.get(&id) {
                    Some(&at) => missing[at].1 |= want_refs,
                    None => {
                        position.insert(id, missing.len());
                        missing.push((id, want_refs));
                    }
                }
            }
            missing
        };
        if missing.is_empty() {
            return Ok(0);
        }
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, 8).min(missing.len());
        let total = missing.len();
        let spent = AtomicU64::new(self.bytes_read.get());
        let (sender, receiver) = mpsc::channel::<Vec<Message>>();
        let git_dir = &self.git_dir;
        let packs = Packs::open(git_dir);
        let ids: Vec<Oid> = missing.iter().map(|(id, _)| *id).collect();
        let order = reading_order(&packs, &ids);
        let next = AtomicUsize::new(0);
        let planned_now = self.planned.borrow();
        let planned = &*planned_now;
        // The blobs read whose planned scans are done now.
        let mut scanned = Vec::new();
        let result = std::thread::scope(|scope| -> Result<usize> {
            for _ in 0..threads {
                let sender = sender.clone();
                let (spent, packs, order, next, missing) = (&spent, &packs, &order, &next, &missing);
                scope.spawn(move || {
                    let mut reader = Reader::new(git_dir, packs);
                    let mut batch = Vec::with_capacity(BATCH);
                    while let Some(block) = take_block(order, next) {
                        for &(i, at) in block {
                            let (id, want_refs) = missing[i];
                            let message = if spent.load(Ordering::Relaxed) >= budget {
                                Message::OverBudget
                            } else {
                                match reader.read(id, at) {
                                    Ok(blob) => {
                                        let planned = planned.get(&id).map_or(&[][..], Vec::as_slice);
                                        let read = blob.read(id, want_refs.then_some(refs_fn), planned);
                                        spent.fetch_add(read_bytes(&read.facts), Ordering::Relaxed);
                                        Message::Read(read)
                                    }
                                    Err(err) => Message::Failed(id, err),
                                }
                            };
                            let failed = matches!(message, Message::Failed(..));
                            batch.push(message);
                            if failed || batch.len() == BATCH {
                                // A failure is sent with the batch it ends, then the thread stops.
                                let gone = sender.send(std::mem::take(&mut batch)).is_err();
                                if gone || failed {
                                    return;
                                }
                            }
                        }
                    }
                    let _ = sender.send(batch);
                });
            }
            drop(sender);
            let (mut done, mut over_budget) = (0, 0);
            for batch in receiver {
                for message in batch {
                    match message {
                        Message::Read(read) => {
                            self.bytes_read.set(self.bytes_read.get() + read_bytes(&read.facts));
                            if planned.contains_key(&read.id) {
                                scanned.push(read.id);
                            }
                            self.insert(read);
                        }
                        Message::OverBudget => over_budget += 1,
                        Message::Failed(id, err) => return Err(self.error(id, &err)),
                    }
                    done += 1;
                }
                progress(done, total);
            }
            Ok(over_budget)
        });
        drop(planned_now);
        let mut planned = self.planned.borrow_mut();
        for id in scanned {
            planned.remove(&id);
        }
        result
    }

    /// Runs `f` on the content of each blob of `ids`, in parallel, and keeps nothing else: for
    /// what a run needs of many blobs once and the cache does not hold. A blob larger than
    /// [`READ_LIMIT`] is not given to `f` (nor counted); its value is `T::default()`. At most
    /// `budget` bytes are read, counting what this run read before; a blob left unread by the
    /// budget is `None`.
    /// `progress(done, total)` is called from this thread.
    pub fn each_content<T: Send + Default>(
        &self,
        ids: &[Oid],
        f: &(dyn Fn(usize, &[u8]) -> T + Sync),
        budget: u64,
        progress: &dyn Fn(usize, usize),
    ) -> Result<Vec<Option<T>>> {
        let mut out: Vec<Option<T>> = std::iter::repeat_with(|| None).take(ids.len()).collect();
        if ids.is_empty() {
            return Ok(out);
        }
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, 8).min(ids.len());
        let spent = AtomicU64::new(self.bytes_read.get());
        let (sender, receiver) = mpsc::channel::<std::result::Result<Vec<(usize, Option<T>)>, (Oid, git2::Error)>>();
        let git_dir = &self.git_dir;
        let packs = Packs::open(git_dir);
        let order = reading_order(&packs, ids);
        let next = AtomicUsize::new(0);
        std::thread::scope(|scope| -> Result<()> {
            for _ in 0..threads {
                let sender = sender.clone();
                let (spent, packs, order, next) = (&spent, &packs, &order, &next);
                scope.spawn(move || {
                    let mut reader = Reader::new(git_dir, packs);
                    let mut batch = Vec::with_capacity(BATCH);
                    while let Some(block) = take_block(order, next) {
                        for &(at, stored) in block {
                            let value = if spent.load(Ordering::Relaxed) >= budget {
                                None
                            } else {
                                match reader.read(ids[at], stored) {
                                    Ok(Blob::Content(content)) => {
                                        spent.fetch_add(content.len() as u64, Ordering::Relaxed);
                                        Some(f(at, &content))
                                    }
                                    Ok(Blob::TooLarge(_)) => Some(T::default()),
                                    Err(err) => {
                                        let _ = sender.send(Err((ids[at], err)));
                                        return;
                                    }
                                }
                            };
                            batch.push((at, value));
                            if batch.len() == BATCH && sender.send(Ok(std::mem::take(&mut batch))).is_err() {
                                return;
                            }
                        }
                    }
                    let _ = sender.send(Ok(batch));
                });
            }
            drop(sender);
            let mut done = 0;
            for message in receiver {
                let batch = message.map_err(|(id, err)| self.error(id, &err))?;
                done += batch.len();
                for (at, value) in batch {
                    out[at] = value;
                }
                progress(done, ids.len());
            }
            Ok(())
        })?;
        self.bytes_read.set(spent.load(Ordering::Relaxed));
        Ok(out)
    }

    fn insert(&self, read: Read) -> (Arc<Facts>, Option<Arc<[String]>>) {
        self.dirty.set(true);
        let facts = Arc::new(read.facts);
        self.facts.borrow_mut().insert(read.id, facts.clone());
        let refs = read.refs.map(|refs| {
            let refs: Arc<[String]> = Arc::from(refs);
            self.refs.borrow_mut().insert(read.id, refs.clone());
            refs
        });
        let mut scans = self.scans.borrow_mut();
        for (fingerprint, hits) in read.scans {
            scans.insert((read.id, fingerprint), Arc::from(hits));
        }
        (facts, refs)
    }

    fn error(&self, id: Oid, err: &git2::Error) -> Error {
        if err.code() == ErrorCode::NotFound {
            self.repo.missing_object(id, "a file of the release")
        } else {
            // Found but unreadable: a damaged pack or loose object, which git can check.
            Error::with_fix(
                format!("cannot read blob {id}: {}", err.message()),
                "run `git fsck` to find the damage, then fetch the object again (or re-clone)",
            )
        }
    }

    /// Writes what this run learnt to the cache, beside everything it had: a small run must not
    /// leave the next one cold. A cache that cannot be written only costs time on the next run,
    /// so failures are ignored.
    pub fn save(&self) {
        if let Some(apart) = &self.apart.file
            && !self.apart.new.borrow().is_empty()
        {
            let learnt = cache::Contents { derived: self.apart.new.take(), ..cache::Contents::default() };
            let _ = apart.save(self.apart.disk(), &learnt);
        }
        if !self.dirty.get() {
            return;
        }
        if let Some(cache) = &self.cache {
            let learnt = cache::Contents {
                facts: self.facts.take(),
                refs: self.refs.take(),
                scans: self.scans.take(),
                derived: self.derived.take(),
            };
            let _ = cache.save(&self.disk, &learnt);
            // Held again, so that they are freed with the store, or left for the process's end
            // to free when the command exits after the report: freeing them one entry at a time
            // was 1% of a cold run on a 300,000-file tree.
            let cache::Contents { facts, refs, scans, derived } = learnt;
            *self.facts.borrow_mut() = facts;
            *self.refs.borrow_mut() = refs;
            *self.scans.borrow_mut() = scans;
            *self.derived.borrow_mut() = derived;
            self.dirty.set(false);
        }
    }
}

/// Facts as [`BlobStore::each_known_facts`] gives them.
pub enum Known<'a> {
    /// Facts this run holds (it read the blob): shared.
    Held(&'a Arc<Facts>),
    /// Facts decoded from the cache for the call, and dropped after it.
    Decoded(&'a Facts),
}

impl Known<'_> {
    pub fn facts(&self) -> &Facts {
        match self {
            Known::Held(facts) => facts,
            Known::Decoded(facts) => facts,
        }
    }
}

/// How an upper layer writes what it derives from a blob, for the cache, and reads it back;
/// `decode` refuses (none) any record it did not write whole.
pub struct Codec<T> {
    pub encode: fn(&T) -> Vec<u8>,
    pub decode: fn(&[u8]) -> Option<T>,
}

/// The records kept apart.
struct Apart {
    file: Option<CacheFile>,
    disk: OnceCell<Loaded>,
    /// Records derived in this run.
    new: RefCell<cache::Derived>,
}

impl Apart {
    fn disk(&self) -> &Loaded {
        self.disk.get_or_init(|| self.file.as_ref().map(CacheFile::load).unwrap_or_default())
    }
}

/// What this run derived under `key`, else what the cache has, when the codec decodes it.
fn known_derived<T>(disk: &Loaded, memo: &RefCell<cache::Derived>, key: (Oid, u64), codec: &Codec<T>) -> Option<T> {
    let remembered = memo.borrow().get(&key).and_then(|record| (codec.decode)(record));
    remembered.or_else(|| disk.derived(key.0, key.1).and_then(codec.decode))
}

/// What `memo` has for `key`, else what `from_disk` decodes, remembered.
fn known<K: std::hash::Hash + Eq + Copy, V: ?Sized>(
    memo: &RefCell<FastMap<K, Arc<V>>>,
    key: K,
    from_disk: impl FnOnce() -> Option<Arc<V>>,
) -> Option<Arc<V>> {
    if let Some(value) = memo.borrow().get(&key) {
        return Some(value.clone());
    }
    let value = from_disk()?;
    memo.borrow_mut().insert(key, value.clone());
    Some(value)
}

fn read_bytes(facts: &Facts) -> u64 {
    if facts.kind == ContentKind::Unread { 0 } else { facts.size }
}

/// The blobs of `ids` in the order they are read: by pack and place in it, then those no pack
/// has. Each is a position in `ids` and where the blob is stored.
fn reading_order(packs: &Packs, ids: &[Oid]) -> Vec<(usize, Option<Location>)> {
    let mut order: Vec<(usize, Option<Location>)> = packs.locate(ids).into_iter().enumerate().collect();
    order.sort_unstable_by_key(|&(i, at)| (at.is_none(), at, i));
    order
}

/// The next block of `order` no thread has taken yet. Threads take blocks of neighbours in the
/// pack, so that each finds the bases of its deltas among what it just read, and take them one
/// at a time, so that none sits idle while another has a long way to go.
fn take_block<'o>(
    order: &'o [(usize, Option<Location>)],
    next: &AtomicUsize,
) -> Option<&'o [(usize, Option<Location>)]> {
    const BLOCK: usize = 256;
    let start = next.fetch_add(1, Ordering::Relaxed).checked_mul(BLOCK)?;
    order.get(start..order.len().min(start.saturating_add(BLOCK))).filter(|block| !block.is_empty())
}

/// One blob as a reading thread got it.
enum Blob {
    Content(Rc<[u8]>),
    /// Larger than [`READ_LIMIT`]: not read.
    TooLarge(u64),
}

impl Blob {
    fn read(self, id: Oid, refs_fn: Option<RefsFn>, planned: &[(u64, PlannedScan)]) -> Read {
        match self {
            Blob::TooLarge(size) => {
                Read { id, facts: Facts::unread(size), refs: refs_fn.map(|_| Vec::new()), scans: Vec::new() }
            }
            Blob::Content(content) => {
                let facts = Facts::of(&content);
                let refs = refs_fn.map(|f| if facts.kind == ContentKind::Text { f(&content) } else { Vec::new() });
                let scans = planned_scans(planned, &content, facts.kind);
                Read { id, facts, refs, scans }
            }
        }
    }
}

/// The matches of each planned scan that applies to `content`, of `kind`.
fn planned_scans(planned: &[(u64, PlannedScan)], content: &[u8], kind: ContentKind) -> Vec<(u64, Vec<ScanHit>)> {
    planned.iter().filter_map(|(fingerprint, scan)| Some((*fingerprint, scan(content, kind)?))).collect()
}

/// Reads blobs for one thread: from the packs where they are stored, else (a loose object, one
/// the pack reader could not read back with its id) through libgit2, which reads it or says why
/// it cannot.
struct Reader<'a> {
    git_dir: &'a Path,
    packs: pack::Reader<'a>,
    repo: Option<Repository>,
}

impl<'a> Reader<'a> {
    fn new(git_dir: &'a Path, packs: &'a Packs) -> Reader<'a> {
        Reader { git_dir, packs: packs.reader(), repo: None }
    }

    fn read(&mut self, id: Oid, stored: Option<Location>) -> std::result::Result<Blob, git2::Error> {
        if let Some(content) = stored.and_then(|at| self.packs.blob(id, at, READ_LIMIT)) {
            super::reads_log::read(id);
            return Ok(Blob::Content(content));
        }
        let repo = match &mut self.repo {
            Some(repo) => repo,
            empty => empty.insert(Repository::open(self.git_dir)?),
        };
        read_blob(repo, id)
    }
}

/// Blob `id` read through libgit2, its size asked first so that a large one is not read.
fn read_blob(repo: &Repository, id: Oid) -> std::result::Result<Blob, git2::Error> {
    let (size, _) = repo.odb()?.read_header(id)?;
    if size as u64 > READ_LIMIT {
        return Ok(Blob::TooLarge(size as u64));
    }
    let content = Rc::from(repo.find_blob(id)?.content());
    super::reads_log::read(id);
    Ok(Blob::Content(content))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use git2::Repository;

    use super::*;

    fn bare() -> (tempfile::TempDir, Repo) {
        let dir = tempfile::tempdir().unwrap();
        let git = Repository::init_bare(dir.path()).unwrap();
        (dir, Repo { git })
    }

    /// A scan that reports one hit, on the line as many as the content has bytes, and counts
    /// its calls; text only.
    fn counted(calls: &Arc<AtomicUsize>) -> PlannedScan {
        let calls = calls.clone();
        Arc::new(move |content: &[u8], kind: ContentKind| {
            calls.fetch_add(1, Ordering::Relaxed);
            (kind == ContentKind::Text)
                .then(|| vec![ScanHit { rule: 0, line: content.len() as u32, hash: 0, text: String::from("hit") }])
        })
    }

    #[test]
    fn a_planned_scan_is_done_by_the_pass_that_reads_the_blob() {
        let (_dir, repo) = bare();
        let prefetched = repo.git.blob(b"one\ntwo\n").unwrap();
        let left = repo.git.blob(b"three\n").unwrap();
        let binary = repo.git.blob(b"\0\x01\x02").unwrap();
        let store = BlobStore::open(&repo);
        let calls = Arc::new(AtomicUsize::new(0));
        for id in [prefetched, left, binary] {
            store.plan_scan(id, 7, counted(&calls));
        }
        let never = |_: &[u8]| -> Vec<ScanHit> { panic!("the blob was read again for a planned scan") };

        // The pass that reads blobs for their facts does the scans planned for them...
        store.prefetch(&[(prefetched, false), (binary, false)], |_| Vec::new(), u64::MAX, &|_, _| {}).unwrap();
        assert_eq!(store.bytes_read(), 8 + 3, "each blob is read once");
        assert_eq!(store.scan(prefetched, 7, never).unwrap()[0].line, 8);
        // ...and those of the blobs it did not read are done together, with their facts, once.
        store.scan_planned().unwrap();
        store.scan_planned().unwrap();
        assert_eq!(calls.load(Ordering::Relaxed), 3, "one call per blob: the prefetched two, then the one left");
        assert_eq!(store.scan(left, 7, never).unwrap()[0].line, 6);
        assert_eq!(store.known_facts(left).map(|f| f.lines), Some(1));

        // A scan that does not apply to the content (binary here) is not recorded: asked for,
        // it is done then.
        let asked = AtomicUsize::new(0);
        let hits = store
            .scan(binary, 7, |_| {
                asked.fetch_add(1, Ordering::Relaxed);
                Vec::new()
            })
            .unwrap();
        assert!(hits.is_empty());
        assert_eq!(asked.load(Ordering::Relaxed), 1);

        // A scan already known is not planned again.
        store.plan_scan(prefetched, 7, counted(&calls));
        store.scan_planned().unwrap();
        assert_eq!(calls.load(Ordering::Relaxed), 3);
    }
}
