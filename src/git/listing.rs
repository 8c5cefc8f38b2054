//! The listing of the last release tree gate read, kept in `GIT_DIR/gate/listing-v1.bin`.
//!
//! Listing a tree of 100,000 files recursively costs about what `git ls-tree -r` does; a run on
//! the same tree reads this file instead, and a run on another tree applies the two trees' diff
//! to it, reading only the directories that changed. The file is sealed like the blob cache
//! (see [`super::cache`]): one that does not verify, or that lists another tree than it says, is
//! never believed; the tree is then walked again.

use std::path::Path;

use git2::Oid;

use super::Mode;
use super::bytes::{Reader, put_bytes32, put_oid, put_u32};
use super::cache::Sealed;
use super::tree::TreeFile;

const MAGIC: &[u8; 8] = b"GATELST\x01";
const FILE_NAME: &str = "listing-v1.bin";

pub struct Listing {
    file: Sealed,
}

impl Listing {
    /// The kept listing of a repository; none without a key to seal it with.
    pub fn in_git_dir(git_dir: &Path) -> Option<Listing> {
        Some(Listing { file: Sealed::in_git_dir(git_dir, FILE_NAME)? })
    }

    /// The tree the kept listing is of, and its files; nothing when there is none that verifies.
    pub fn load(&self) -> Option<(Oid, Vec<TreeFile>)> {
        decode(&self.file.read()?)
    }

    pub fn save(&self, tree: Oid, files: &[TreeFile]) -> std::io::Result<()> {
        self.file.seal_and_write(&[&encode(tree, files)])
    }
}

fn encode(tree: Oid, files: &[TreeFile]) -> Vec<u8> {
    let size: usize = files.iter().map(|f| f.path.len() + 26).sum();
    let mut out = Vec::with_capacity(size + 64);
    out.extend_from_slice(MAGIC);
    put_oid(&mut out, &tree);
    put_u32(&mut out, files.len() as u32);
    for file in files {
        out.push(mode_byte(file.mode));
        put_oid(&mut out, &file.id);
        put_bytes32(&mut out, file.path.as_bytes());
    }
    out
}

fn decode(body: &[u8]) -> Option<(Oid, Vec<TreeFile>)> {
    let mut r = Reader::new(body.strip_prefix(MAGIC.as_slice())?);
    let tree = r.oid()?;
    let count = r.u32()? as usize;
    let mut files = Vec::with_capacity(count.min(1 << 22));
    for _ in 0..count {
        let mode = match r.take(1)?[0] {
            0 => Mode::File,
            1 => Mode::Executable,
            2 => Mode::Symlink,
            3 => Mode::Submodule,
            _ => return None,
        };
        let id = r.oid()?;
        let path = String::from_utf8(r.bytes32()?.to_vec()).ok()?;
        files.push(TreeFile { path, id, mode });
    }
    r.is_empty().then_some((tree, files))
}

fn mode_byte(mode: Mode) -> u8 {
    match mode {
        Mode::File => 0,
        Mode::Executable => 1,
        Mode::Symlink => 2,
        Mode::Submodule => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_round_trips_and_damage_is_not_believed() {
        let id = |n: u8| Oid::from_bytes(&[n; 20]).unwrap();
        let files = vec![
            TreeFile { path: "bin/search.sh".into(), id: id(1), mode: Mode::Executable },
            TreeFile { path: "lib/vendor".into(), id: id(2), mode: Mode::Submodule },
        ];
        let bytes = encode(id(9), &files);
        assert_eq!(decode(&bytes), Some((id(9), files)));
        assert_eq!(decode(&bytes[..bytes.len() - 1]), None);
        let mut extra = bytes.clone();
        extra.push(0);
        assert_eq!(decode(&extra), None);
    }
}
