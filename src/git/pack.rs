//! Reading many blobs at once straight from the repository's pack files, in the order they are
//! stored.
//!
//! A cold run reads every file of the release tree. Through libgit2 each read is a search of the
//! pack index and a walk down the blob's delta chain, behind one process-wide lock, decoding the
//! same bases again for every blob built on them: half of a cold run on 100,000 files, twice what
//! `git cat-file --batch` takes for the same blobs. Read in pack order, a delta's base was
//! usually decoded a moment before and is still at hand.
//!
//! Nothing read here is believed unchecked: every blob is hashed and compared with its id. A blob
//! this reader cannot find (a loose object), cannot read (a format it does not know, a damaged
//! pack) or reads wrong is left to libgit2, which reads it or reports why it cannot.

use std::collections::VecDeque;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use flate2::{Decompress, FlushDecompress, Status};
use git2::Oid;
use sha1::{Digest, Sha1};

use crate::fastmap::FastMap;

/// Bytes read from a pack at a time; a larger object is read in as many of these as it needs.
const CHUNK: usize = 32 * 1024;

/// Decoded objects a reader keeps for the deltas that follow them, in bytes. Objects larger than
/// [`LARGEST_KEPT`] are not kept.
const KEPT_BYTES: usize = 2 * 1024 * 1024;
const LARGEST_KEPT: usize = 256 * 1024;

/// Longer delta chains are left to libgit2 (git writes at most 50 by default, 250 aggressively).
const LONGEST_CHAIN: usize = 10_000;

/// Alternates of alternates are followed this deep.
const ALTERNATES_DEPTH: usize = 5;

/// The pack files of a repository and of its alternates, by their index (version 2, SHA-1).
#[derive(Default)]
pub struct Packs {
    packs: Vec<Pack>,
}

struct Pack {
    pack: PathBuf,
    idx: File,
    /// `fanout[b]`: how many objects have ids whose first byte is at most `b`.
    fanout: Box<[u32; 256]>,
}

/// Where an object is stored: which pack, at which byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    pub pack: u32,
    pub offset: u64,
}

const IDX_MAGIC: [u8; 4] = [0xff, b't', b'O', b'c'];
const FANOUT_AT: u64 = 8;
const IDS_AT: u64 = FANOUT_AT + 256 * 4;

impl Packs {
    /// The packs of the object directory of `git_dir` and of its alternates. A pack whose index
    /// cannot be read or is of another format is left out: its objects are read by libgit2.
    pub fn open(git_dir: &Path) -> Packs {
        let mut packs = Packs::default();
        let mut dirs = vec![(git_dir.join("objects"), 0)];
        let mut seen: Vec<PathBuf> = Vec::new();
        while let Some((dir, depth)) = dirs.pop() {
            let canonical = dir.canonicalize().unwrap_or_else(|_| dir.clone());
            if seen.contains(&canonical) {
                continue;
            }
            seen.push(canonical);
            packs.add_dir(&dir.join("pack"));
            if depth < ALTERNATES_DEPTH
                && let Ok(alternates) = std::fs::read_to_string(dir.join("info/alternates"))
            {
                for line in alternates.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
                    dirs.push((dir.join(line), depth + 1));
                }
            }
        }
        packs
    }

    fn add_dir(&mut self, dir: &Path) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        let mut names: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "idx"))
            .collect();
        names.sort();
        for idx in names {
            if let Some(pack) = Pack::open(&idx) {
                self.packs.push(pack);
            }
        }
    }

    /// Where each of `ids` is stored, when it is in one of the packs.
    pub fn locate(&self, ids: &[Oid]) -> Vec<Option<Location>> {
        let mut found: Vec<Option<Location>> = vec![None; ids.len()];
        let mut order: Vec<usize> = (0..ids.len()).collect();
        order.sort_unstable_by(|&a, &b| ids[a].as_bytes().cmp(ids[b].as_bytes()));
        for (number, pack) in self.packs.iter().enumerate() {
            // One read of a fan-out bucket's ids (and one of their offsets) for all the ids
            // asked for that fall in it, instead of a search of the index per id.
            let mut at = 0;
            while at < order.len() {
                let first = ids[order[at]].as_bytes()[0];
                let end = at + order[at..].partition_point(|&i| ids[i].as_bytes()[0] == first);
                let asked: Vec<usize> = order[at..end].iter().copied().filter(|&i| found[i].is_none()).collect();
                if !asked.is_empty() {
                    for (i, offset) in pack.find_in_bucket(first, asked.iter().map(|&i| ids[i])) {
                        found[asked[i]] = Some(Location { pack: number as u32, offset });
                    }
                }
                at = end;
            }
        }
        found
    }

    /// A reader for one thread.
    pub fn reader(&self) -> Reader<'_> {
        Reader {
            packs: self,
            files: (0..self.packs.len()).map(|_| None).collect(),
            window: Window::default(),
            kept: Kept::default(),
            inflater: Decompress::new(true),
        }
    }
}

impl Pack {
    fn open(idx_path: &Path) -> Option<Pack> {
        let idx = File::open(idx_path).ok()?;
        let mut header = vec![0u8; IDS_AT as usize];
        idx.read_exact_at(&mut header, 0).ok()?;
        if header[..4] != IDX_MAGIC || header[4..8] != 2u32.to_be_bytes() {
            return None;
        }
        let mut fanout = Box::new([0u32; 256]);
        for (b, slot) in fanout.iter_mut().enumerate() {
            let at = FANOUT_AT as usize + 4 * b;
            *slot = u32::from_be_bytes(header[at..at + 4].try_into().ok()?);
        }
        if fanout.windows(2).any(|w| w[0] > w[1]) {
            return None;
        }
        // The ids, their checksums and offsets, the 64-bit offsets, then two 20-byte hashes: an
        // index of another size is of another hash (SHA-256) or damaged.
        let count = u64::from(fanout[255]);
        let least = IDS_AT + count * 28 + 40;
        let len = idx.metadata().ok()?.len();
        if len < least || !(len - least).is_multiple_of(8) {
            return None;
        }
        Some(Pack { pack: idx_path.with_extension("pack"), idx, fanout })
    }

    fn count(&self) -> u64 {
        u64::from(self.fanout[255])
    }

    /// The offsets of those of `ids` (in id order, all with `first` as first byte) that this
    /// pack has, by their position in `ids`.
    fn find_in_bucket(&self, first: u8, ids: impl Iterator<Item = Oid>) -> Vec<(usize, u64)> {
        let lo = if first == 0 { 0 } else { self.fanout[first as usize - 1] } as u64;
        let hi = u64::from(self.fanout[first as usize]);
        if lo == hi {
            return Vec::new();
        }
        let mut stored = vec![0u8; ((hi - lo) * 20) as usize];
        let mut offsets = vec![0u8; ((hi - lo) * 4) as usize];
        let offsets_at = IDS_AT + self.count() * 24 + lo * 4;
        if self.idx.read_exact_at(&mut stored, IDS_AT + lo * 20).is_err()
            || self.idx.read_exact_at(&mut offsets, offsets_at).is_err()
        {
            return Vec::new();
        }
        let mut found = Vec::new();
        for (i, id) in ids.enumerate() {
            let (mut a, mut b) = (0, (hi - lo) as usize);
            while a < b {
                let mid = (a + b) / 2;
                match stored[mid * 20..mid * 20 + 20].cmp(id.as_bytes()) {
                    std::cmp::Ordering::Less => a = mid + 1,
                    std::cmp::Ordering::Greater => b = mid,
                    std::cmp::Ordering::Equal => {
                        if let Some(offset) = self.offset(&offsets[mid * 4..mid * 4 + 4]) {
                            found.push((i, offset));
                        }
                        break;
                    }
                }
            }
        }
        found
    }

    /// An offset from the 32-bit table, following it into the 64-bit table when its top bit
    /// says so.
    fn offset(&self, raw: &[u8]) -> Option<u64> {
        let small = u32::from_be_bytes(raw.try_into().ok()?);
        if small & 0x8000_0000 == 0 {
            return Some(u64::from(small));
        }
        let mut large = [0u8; 8];
        let at = IDS_AT + self.count() * 28 + u64::from(small & 0x7fff_ffff) * 8;
        self.idx.read_exact_at(&mut large, at).ok()?;
        Some(u64::from_be_bytes(large))
    }
}

/// Reads objects from the packs for one thread, keeping recently decoded ones for the deltas
/// built on them.
pub struct Reader<'p> {
    packs: &'p Packs,
    files: Vec<Option<File>>,
    window: Window,
    kept: Kept,
    inflater: Decompress,
}

const BLOB: u8 = 3;
const OFS_DELTA: u8 = 6;
const REF_DELTA: u8 = 7;

/// What heads an object in a pack.
struct Header {
    kind: u8,
    size: usize,
    /// Where its compressed data starts.
    data: u64,
    /// For a delta, its base.
    base: Option<Base>,
}

enum Base {
    At(u64),
    Id(Oid),
}

impl Reader<'_> {
    /// The content of blob `id` stored at `at`, when it is at most `limit` bytes long and reads
    /// back with that id. Otherwise none: the caller reads it through libgit2.
    pub fn blob(&mut self, id: Oid, at: Location, limit: u64) -> Option<Rc<[u8]>> {
        let (kind, content) = self.object(at, limit)?;
        let mut hash = Sha1::new();
        hash.update(format!("blob {}\0", content.len()).as_bytes());
        hash.update(&content);
        (kind == BLOB && hash.finalize().as_slice() == id.as_bytes()).then_some(content)
    }

    /// The kind and content of the object at `at`, each delta of its chain applied to its base.
    fn object(&mut self, at: Location, limit: u64) -> Option<Decoded> {
        let mut deltas: Vec<(u64, Vec<u8>)> = Vec::new();
        let mut offset = at.offset;
        let (kind, mut content) = loop {
            if let Some(known) = self.kept.get(at.pack, offset) {
                break known;
            }
            let header = self.header(at.pack, offset)?;
            if header.size as u64 > limit || deltas.len() > LONGEST_CHAIN {
                return None;
            }
            let data = self.inflate(at.pack, header.data, header.size)?;
            match header.base {
                None => {
                    let content: Rc<[u8]> = Rc::from(data);
                    self.kept.put(at.pack, offset, header.kind, &content);
                    break (header.kind, content);
                }
                Some(base) => {
                    deltas.push((offset, data));
                    offset = match base {
                        Base::At(offset) => offset,
                        Base::Id(id) => self.offset_in(at.pack, id)?,
                    };
                }
            }
        };
        for (offset, delta) in deltas.iter().rev() {
            content = Rc::from(apply(&content, delta, limit)?);
            self.kept.put(at.pack, *offset, kind, &content);
        }
        Some((kind, content))
    }

    fn offset_in(&self, pack: u32, id: Oid) -> Option<u64> {
        let found = self.packs.packs.get(pack as usize)?.find_in_bucket(id.as_bytes()[0], std::iter::once(id));
        found.first().map(|&(_, offset)| offset)
    }

    fn header(&mut self, pack: u32, offset: u64) -> Option<Header> {
        // A type and size take at most 10 bytes, a base 20: 32 covers both.
        let bytes = self.bytes(pack, offset, 32)?;
        let mut at = 0;
        let mut byte = *bytes.get(at)?;
        at += 1;
        let kind = (byte >> 4) & 7;
        let mut size = u64::from(byte & 15);
        let mut shift = 4;
        while byte & 0x80 != 0 {
            byte = *bytes.get(at)?;
            at += 1;
            if shift > 57 {
                return None;
            }
            size |= u64::from(byte & 0x7f) << shift;
            shift += 7;
        }
        let base = match kind {
            1..=4 => None,
            OFS_DELTA => {
                byte = *bytes.get(at)?;
                at += 1;
                let mut back = u64::from(byte & 0x7f);
                while byte & 0x80 != 0 {
                    byte = *bytes.get(at)?;
                    at += 1;
                    back = back.checked_add(1)?.checked_mul(128)? | u64::from(byte & 0x7f);
                }
                Some(Base::At(offset.checked_sub(back).filter(|_| back > 0)?))
            }
            REF_DELTA => {
                let id = Oid::from_bytes(bytes.get(at..at + 20)?).ok()?;
                at += 20;
                Some(Base::Id(id))
            }
            _ => return None,
        };
        Some(Header { kind, size: usize::try_from(size).ok()?, data: offset + at as u64, base })
    }

    /// The `size` bytes of the zlib stream that starts at `offset`.
    fn inflate(&mut self, pack: u32, mut offset: u64, size: usize) -> Option<Vec<u8>> {
        // One byte of room more than the header promises, so that a stream longer than that
        // shows as such instead of stalling on a full buffer.
        let mut out = Vec::with_capacity(size + 1);
        self.inflater.reset(true);
        let mut want = CHUNK.min(size + 64);
        loop {
            let start = self.read(pack, offset, want)?;
            let input = self.window.data.get(start..)?;
            let available = input.len();
            let (before_in, before_out) = (self.inflater.total_in(), self.inflater.total_out());
            let status = self.inflater.decompress_vec(input, &mut out, FlushDecompress::None).ok()?;
            offset += self.inflater.total_in() - before_in;
            if status == Status::StreamEnd || out.len() > size {
                return (status == Status::StreamEnd && out.len() == size).then_some(out);
            }
            let stalled = self.inflater.total_in() == before_in && self.inflater.total_out() == before_out;
            if stalled {
                // The stream needs more input than was at hand: read more, unless the pack
                // ended.
                if available < want {
                    return None;
                }
                want = want.checked_mul(2)?;
            }
        }
    }

    /// At least `want` bytes of pack `pack` from `offset` (fewer at its end), from the window.
    fn bytes(&mut self, pack: u32, offset: u64, want: usize) -> Option<&[u8]> {
        let start = self.read(pack, offset, want)?;
        self.window.data.get(start..)
    }

    /// Has the window hold at least `want` bytes of pack `pack` from `offset` (fewer at its end),
    /// and says where in the window they start.
    fn read(&mut self, pack: u32, offset: u64, want: usize) -> Option<usize> {
        let window = &self.window;
        let inside = !window.data.is_empty()
            && window.pack == pack
            && offset >= window.start
            && offset + want as u64 <= window.start + window.data.len() as u64;
        if !inside {
            let slot = self.files.get_mut(pack as usize)?;
            if slot.is_none() {
                *slot = Some(File::open(&self.packs.packs[pack as usize].pack).ok()?);
            }
            self.window.fill(slot.as_ref()?, pack, offset, want.max(CHUNK))?;
        }
        usize::try_from(offset - self.window.start).ok()
    }
}

/// The bytes of a pack last read.
#[derive(Default)]
struct Window {
    pack: u32,
    start: u64,
    data: Vec<u8>,
}

impl Window {
    fn fill(&mut self, file: &File, pack: u32, offset: u64, len: usize) -> Option<()> {
        if self.data.capacity() > 4 * CHUNK.max(len) {
            // A large object needed a large window; the next small one does not keep it.
            self.data = Vec::new();
        }
        self.data.resize(len, 0);
        let mut filled = 0;
        while filled < len {
            match file.read_at(&mut self.data[filled..], offset + filled as u64) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => {
                    self.data.clear();
                    return None;
                }
            }
        }
        self.data.truncate(filled);
        (self.pack, self.start) = (pack, offset);
        Some(())
    }
}

/// An object's kind and content.
type Decoded = (u8, Rc<[u8]>);

/// Objects decoded lately, by where they are stored, oldest first out.
#[derive(Default)]
struct Kept {
    objects: FastMap<(u32, u64), Decoded>,
    order: VecDeque<(u32, u64)>,
    bytes: usize,
}

impl Kept {
    fn get(&self, pack: u32, offset: u64) -> Option<Decoded> {
        self.objects.get(&(pack, offset)).cloned()
    }

    fn put(&mut self, pack: u32, offset: u64, kind: u8, content: &Rc<[u8]>) {
        if content.len() > LARGEST_KEPT || self.objects.contains_key(&(pack, offset)) {
            return;
        }
        while self.bytes + content.len() > KEPT_BYTES {
            let Some(oldest) = self.order.pop_front() else { break };
            if let Some((_, gone)) = self.objects.remove(&oldest) {
                self.bytes -= gone.len();
            }
        }
        self.objects.insert((pack, offset), (kind, content.clone()));
        self.order.push_back((pack, offset));
        self.bytes += content.len();
    }
}

/// `base` with git's delta `delta` applied, when the delta fits the base and the result is at
/// most `limit` bytes.
fn apply(base: &[u8], delta: &[u8], limit: u64) -> Option<Vec<u8>> {
    let mut at = 0;
    let base_size = varint(delta, &mut at)?;
    let size = varint(delta, &mut at)?;
    if base_size != base.len() as u64 || size > limit {
        return None;
    }
    let mut out = Vec::with_capacity(usize::try_from(size).ok()?);
    while at < delta.len() {
        let op = delta[at];
        at += 1;
        if op & 0x80 != 0 {
            // Copy from the base: which of four offset bytes and three size bytes follow is
            // in the op's low bits.
            let (mut from, mut len) = (0usize, 0usize);
            for i in 0..4 {
                if op & (1 << i) != 0 {
                    from |= usize::from(*delta.get(at)?) << (8 * i);
                    at += 1;
                }
            }
            for i in 0..3 {
                if op & (0x10 << i) != 0 {
                    len |= usize::from(*delta.get(at)?) << (8 * i);
                    at += 1;
                }
            }
            if len == 0 {
                len = 0x10000;
            }
            out.extend_from_slice(base.get(from..from.checked_add(len)?)?);
        } else if op != 0 {
            let len = usize::from(op);
            out.extend_from_slice(delta.get(at..at + len)?);
            at += len;
        } else {
            return None;
        }
        if out.len() as u64 > size {
            return None;
        }
    }
    (out.len() as u64 == size).then_some(out)
}

/// A size in a delta's header: seven bits a byte, least significant first.
fn varint(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let (mut value, mut shift) = (0u64, 0);
    loop {
        let byte = *bytes.get(*at)?;
        *at += 1;
        if shift > 63 {
            return None;
        }
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
        shift += 7;
    }
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use git2::{ObjectType, Repository};

    use super::*;

    fn git(dir: &Path, args: &[&str]) {
        let status = Command::new("git")
            .args(["-c", "user.name=T", "-c", "user.email=t@example.com", "-c", "gc.auto=0"])
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
            .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    }

    /// Bytes that do not compress.
    fn noise(seed: u64, len: usize) -> Vec<u8> {
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    /// A repository whose files change a little over six commits, so that its pack holds
    /// chains of deltas (against older versions and against each other), with a large file
    /// that compresses, one that does not, and an empty one.
    fn repository() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        git(dir.path(), &["init", "-q", "."]);
        for round in 0..6 {
            for i in 0..120 {
                let mut body = String::new();
                for line in 0..40 {
                    body.push_str(&format!("line {line} of a file shared by many, file {}\n", i % 9));
                }
                body.push_str(&format!("file {i}, round {}\n", round * (i % 3)));
                std::fs::create_dir_all(dir.path().join(format!("d{}", i % 7))).unwrap();
                std::fs::write(dir.path().join(format!("d{}/f{i}.py", i % 7)), body).unwrap();
            }
            let big: String = (0..40_000).map(|l| format!("row {l} {}\n", l % (round + 2))).collect();
            std::fs::write(dir.path().join("big.txt"), big).unwrap();
            std::fs::write(dir.path().join("noise.bin"), noise(round as u64 + 1, 150_000)).unwrap();
            std::fs::write(dir.path().join("empty"), "").unwrap();
            git(dir.path(), &["add", "-A"]);
            git(dir.path(), &["commit", "-q", "-m", &format!("round {round}")]);
        }
        dir
    }

    /// Every blob of every commit, with its content as libgit2 reads it.
    fn every_blob(git_dir: &Path) -> Vec<(Oid, Vec<u8>)> {
        let repo = Repository::open(git_dir).unwrap();
        let mut walk = repo.revwalk().unwrap();
        walk.push_head().unwrap();
        let mut ids = Vec::new();
        for commit in walk {
            let tree = repo.find_commit(commit.unwrap()).unwrap().tree().unwrap();
            tree.walk(git2::TreeWalkMode::PreOrder, |_, entry| {
                if entry.kind() == Some(ObjectType::Blob) {
                    ids.push(entry.id());
                }
                git2::TreeWalkResult::Ok
            })
            .unwrap();
        }
        ids.sort();
        ids.dedup();
        ids.into_iter().map(|id| (id, repo.find_blob(id).unwrap().content().to_vec())).collect()
    }

    /// What the pack reader gives for each blob, in pack order as gate reads them.
    fn read_all(git_dir: &Path, ids: &[Oid]) -> Vec<Option<Vec<u8>>> {
        let packs = Packs::open(git_dir);
        let mut order: Vec<(usize, Option<Location>)> = packs.locate(ids).into_iter().enumerate().collect();
        order.sort_by_key(|&(i, at)| (at, i));
        let mut reader = packs.reader();
        let mut out = vec![None; ids.len()];
        for (i, at) in order {
            out[i] = at.and_then(|at| reader.blob(ids[i], at, u64::MAX)).map(|c| c.to_vec());
        }
        out
    }

    #[test]
    fn every_blob_reads_back_as_libgit2_reads_it() {
        let dir = repository();
        let git_dir = dir.path().join(".git");
        let before = every_blob(&git_dir);
        let ids: Vec<Oid> = before.iter().map(|(id, _)| *id).collect();
        // Loose objects are not in any pack: left to libgit2.
        assert!(read_all(&git_dir, &ids).iter().all(Option::is_none));
        for repack in [
            &["repack", "-q", "-a", "-d", "-f", "--depth=30", "--window=50"][..],
            // Deltas that name their base by id instead of by offset.
            &["-c", "repack.useDeltaBaseOffset=false", "repack", "-q", "-a", "-d", "-f"][..],
            // Two packs: the newest objects in one, the rest in another.
            &["repack", "-q", "-a", "-d", "-f", "--max-pack-size=1m"][..],
        ] {
            git(dir.path(), repack);
            let read = read_all(&git_dir, &ids);
            for ((id, content), got) in before.iter().zip(&read) {
                assert_eq!(got.as_deref(), Some(content.as_slice()), "blob {id} after git {repack:?}");
            }
        }
        assert!(std::fs::read_dir(git_dir.join("objects/pack")).unwrap().count() > 2);
    }

    #[test]
    fn a_damaged_pack_is_never_believed() {
        let dir = repository();
        let git_dir = dir.path().join(".git");
        git(dir.path(), &["repack", "-q", "-a", "-d", "-f", "--depth=30"]);
        let before = every_blob(&git_dir);
        let ids: Vec<Oid> = before.iter().map(|(id, _)| *id).collect();
        let pack = std::fs::read_dir(git_dir.join("objects/pack"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|x| x == "pack"))
            .unwrap();
        let mut bytes = std::fs::read(&pack).unwrap();
        // A byte changed every 997 through the objects, past the pack's header.
        for at in (100..bytes.len() - 20).step_by(997) {
            bytes[at] ^= 0x5a;
        }
        let mut permissions = std::fs::metadata(&pack).unwrap().permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        permissions.set_readonly(false);
        std::fs::set_permissions(&pack, permissions).unwrap();
        std::fs::write(&pack, bytes).unwrap();
        let read = read_all(&git_dir, &ids);
        let mut refused = 0;
        for ((id, content), got) in before.iter().zip(&read) {
            match got {
                Some(got) => assert_eq!(got, content, "blob {id} read wrong from a damaged pack"),
                None => refused += 1,
            }
        }
        assert!(refused > ids.len() / 4, "only {refused} of {} refused", ids.len());
    }

    #[test]
    fn the_packs_of_alternates_are_read_and_a_blob_over_the_limit_is_not() {
        let dir = repository();
        git(dir.path(), &["repack", "-q", "-a", "-d"]);
        let borrower = tempfile::tempdir().unwrap();
        git(borrower.path(), &["init", "-q", "--bare", "."]);
        let objects = dir.path().join(".git/objects");
        std::fs::write(borrower.path().join("objects/info/alternates"), format!("{}\n", objects.display())).unwrap();
        let before = every_blob(&dir.path().join(".git"));
        let ids: Vec<Oid> = before.iter().map(|(id, _)| *id).collect();
        let read = read_all(borrower.path(), &ids);
        assert!(before.iter().zip(&read).all(|((_, content), got)| got.as_ref() == Some(content)));

        let packs = Packs::open(borrower.path());
        let (id, content) = before.iter().max_by_key(|(_, content)| content.len()).unwrap();
        let at = packs.locate(&[*id])[0].unwrap();
        let mut reader = packs.reader();
        assert!(reader.blob(*id, at, content.len() as u64 - 1).is_none());
        assert_eq!(reader.blob(*id, at, content.len() as u64).as_deref(), Some(content.as_slice()));
        // Asked for another id than the blob stored there: refused, not returned.
        let (other, _) = before.iter().find(|(other, _)| other != id).unwrap();
        assert!(reader.blob(*other, at, u64::MAX).is_none());
    }

    #[test]
    fn a_delta_that_does_not_fit_its_base_is_refused() {
        let base = b"0123456789";
        // Sizes 10 -> 4: copy 4 bytes from offset 2.
        assert_eq!(apply(base, &[10, 4, 0x91, 2, 4], u64::MAX).as_deref(), Some(&b"2345"[..]));
        // Insert 3 bytes.
        assert_eq!(apply(base, &[10, 3, 3, b'a', b'b', b'c'], u64::MAX).as_deref(), Some(&b"abc"[..]));
        // A base of another size, a copy past the base's end, an op of zero, a result of
        // another size than announced, an insert cut short, a result over the limit.
        assert!(apply(base, &[9, 4, 0x91, 2, 4], u64::MAX).is_none());
        assert!(apply(base, &[10, 4, 0x91, 8, 4], u64::MAX).is_none());
        assert!(apply(base, &[10, 1, 0], u64::MAX).is_none());
        assert!(apply(base, &[10, 5, 0x91, 2, 4], u64::MAX).is_none());
        assert!(apply(base, &[10, 3, 3, b'a'], u64::MAX).is_none());
        assert!(apply(base, &[10, 4, 0x91, 2, 4], 3).is_none());
    }
}
