//! The little-endian byte formats of the files gate keeps in `GIT_DIR/gate/` (the blob cache,
//! the tree listing, the reach index): one reader and the writers they share.

use git2::Oid;

/// Reads a byte string front to back; every read is `None` past the end, never a panic.
pub struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes }
    }

    /// A reader from `offset` of `table` (empty past its end).
    pub fn at(table: &'a [u8], offset: usize) -> Reader<'a> {
        Reader { bytes: table.get(offset..).unwrap_or_default() }
    }

    /// Where the reader is in `table`, the bytes it was made from.
    pub fn position(&self, table: &[u8]) -> usize {
        table.len() - self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// What is left to read, without reading it.
    pub fn rest(&self) -> &'a [u8] {
        self.bytes
    }

    /// How many bytes are left to read.
    pub fn remaining(&self) -> usize {
        self.bytes.len()
    }

    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, tail) = self.bytes.split_at_checked(n)?;
        self.bytes = tail;
        Some(head)
    }

    pub fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    /// An object id written by [`put_oid`].
    pub fn oid(&mut self) -> Option<Oid> {
        let len = self.take(1)?[0] as usize;
        Oid::from_bytes(self.take(len)?).ok()
    }

    /// A string written by [`put_text16`].
    pub fn text16(&mut self) -> Option<String> {
        let len = u16::from_le_bytes(self.take(2)?.try_into().ok()?) as usize;
        String::from_utf8(self.take(len)?.to_vec()).ok()
    }

    /// Bytes written by [`put_bytes32`].
    pub fn bytes32(&mut self) -> Option<&'a [u8]> {
        let len = self.u32()? as usize;
        self.take(len)
    }
}

pub fn put_u32(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_le_bytes());
}

/// An object id: its length in one byte, then its bytes.
pub fn put_oid(out: &mut Vec<u8>, id: &Oid) {
    let bytes = id.as_bytes();
    out.push(bytes.len() as u8);
    out.extend_from_slice(bytes);
}

/// A string of at most 64 KiB, cut there, after its length in two bytes.
pub fn put_text16(out: &mut Vec<u8>, text: &str) {
    let bytes = &text.as_bytes()[..text.len().min(u16::MAX as usize)];
    out.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// Bytes after their length in four bytes.
pub fn put_bytes32(out: &mut Vec<u8>, bytes: &[u8]) {
    put_u32(out, bytes.len() as u32);
    out.extend_from_slice(bytes);
}
