//! Answers that depend on the commits or the trees of a release alone, kept in the blob cache
//! (sealed with this user's key, like every record there) for the next run on the same release:
//! the check before `gate deploy`, the deploy itself, a second environment of the same release,
//! a hook run again. A re-run of ruff 0.10.0..0.14.0 spent a quarter of its time finding again
//! how each changed file is tested and an eighth counting the range's commits.
//!
//! Each record is kept under the id of what it is about (the release commit, the release tree)
//! and a fingerprint of everything else it depends on: the base, the globs and templates of the
//! policy, the path asked about, gate's version and the records' format. The commit graph and
//! trees are immutable, so a record is never stale; one that does not decode is not believed.

use git2::Oid;
use sha2::{Digest, Sha256};

use super::coverage::{Looked, Tested};
use crate::config::PathClasses;
use crate::git::bytes::{Reader, put_text16, put_u32};
use crate::git::{Codec, CommitCount};

/// Changes whenever a record here changes meaning or encoding.
const VERSION: &str = "memo-1";

/// The fingerprint of a record about `what`, from `parts`: a SHA-256 cut to 64 bits, so no
/// path of a release can be made to share another path's records.
pub fn fingerprint(what: &str, parts: &[&[u8]]) -> u64 {
    let mut key = Sha256::new();
    for part in [env!("CARGO_PKG_VERSION").as_bytes(), VERSION.as_bytes(), what.as_bytes()].iter().chain(parts) {
        key.update((part.len() as u64).to_le_bytes());
        key.update(part);
    }
    let digest = key.finalize();
    u64::from_le_bytes(digest[..8].try_into().unwrap_or_else(|_| unreachable!("a SHA-256 has 32 bytes")))
}

/// The globs of every path class, as parts of a fingerprint.
pub fn class_parts(paths: &PathClasses) -> Vec<&[u8]> {
    let mut parts: Vec<&[u8]> = Vec::new();
    for (name, class) in paths.iter() {
        parts.push(name.as_bytes());
        parts.extend(class.globs.iter().map(|g| g.as_bytes()));
    }
    parts.push(b"\0end of classes");
    parts
}

/// The fingerprint of the commit count of a release commit from `base`, up to `cap`.
pub fn count_key(base: Option<Oid>, cap: usize) -> u64 {
    let base = base.map(|b| b.as_bytes().to_vec()).unwrap_or_default();
    fingerprint("commit-count", &[&base, &(cap as u64).to_le_bytes()])
}

/// The fingerprint of how `path` of a release tree is tested (`what`: "direct" for the tests
/// found for it, "through" for what covers it when none is), for these classes and templates.
pub fn coverage_key(what: &str, path: &str, paths: &PathClasses, templates: &[String]) -> u64 {
    let mut parts: Vec<&[u8]> = vec![path.as_bytes()];
    parts.extend(class_parts(paths));
    parts.extend(templates.iter().map(|t| t.as_bytes()));
    fingerprint(what, &parts)
}

pub const COUNT: Codec<CommitCount> = Codec { encode: encode_count, decode: decode_count };

fn encode_count(count: &CommitCount) -> Vec<u8> {
    let mut out = vec![COUNT_TAG, u8::from(count.capped)];
    out.extend_from_slice(&(count.count as u64).to_le_bytes());
    out
}

fn decode_count(bytes: &[u8]) -> Option<CommitCount> {
    let [COUNT_TAG, capped @ (0 | 1), count @ ..] = bytes else { return None };
    let count = u64::from_le_bytes(count.try_into().ok()?);
    Some(CommitCount { count: usize::try_from(count).ok()?, capped: *capped == 1 })
}

/// What a record starts with, so that a record of one kind never decodes as another.
const COUNT_TAG: u8 = 0xc1;
const DIRECT_TAG: u8 = 0xc2;
const THROUGH_TAG: u8 = 0xc3;

/// The tests found for a file (at a template path, by name, by reference), or where gate looked.
pub const DIRECT: Codec<Result<Tested, Looked>> = Codec { encode: encode_direct, decode: decode_direct };

/// What covers a file no test is found for: code that loads it, a view that renders it.
pub const THROUGH: Codec<Option<Tested>> = Codec { encode: encode_through, decode: decode_through };

fn encode_direct(direct: &Result<Tested, Looked>) -> Vec<u8> {
    let mut out = vec![DIRECT_TAG];
    match direct {
        Ok(tested) => {
            out.push(1);
            put_tested(&mut out, tested);
        }
        Err(looked) => {
            out.push(0);
            put_u32(&mut out, looked.tests_searched as u32);
            put_u32(&mut out, looked.test_files.len() as u32);
            looked.test_files.iter().for_each(|f| put_text16(&mut out, f));
        }
    }
    out
}

fn decode_direct(bytes: &[u8]) -> Option<Result<Tested, Looked>> {
    let mut r = Reader::new(bytes.strip_prefix(&[DIRECT_TAG])?);
    let found = match r.take(1)?[0] {
        1 => Ok(take_tested(&mut r)?),
        0 => {
            let tests_searched = r.u32()? as usize;
            let test_files = (0..r.u32()?).map(|_| r.text16()).collect::<Option<_>>()?;
            Err(Looked { test_files, tests_searched })
        }
        _ => return None,
    };
    r.is_empty().then_some(found)
}

fn encode_through(through: &Option<Tested>) -> Vec<u8> {
    let mut out = vec![THROUGH_TAG];
    match through {
        Some(tested) => {
            out.push(1);
            put_tested(&mut out, tested);
        }
        None => out.push(0),
    }
    out
}

fn decode_through(bytes: &[u8]) -> Option<Option<Tested>> {
    let mut r = Reader::new(bytes.strip_prefix(&[THROUGH_TAG])?);
    let found = match r.take(1)?[0] {
        1 => Some(take_tested(&mut r)?),
        0 => None,
        _ => return None,
    };
    r.is_empty().then_some(found)
}

/// A [`Tested`] as a tag and its strings. Test evidence is of the run, not of the tree, and is
/// never kept: it is written as a tag no reader accepts.
fn put_tested(out: &mut Vec<u8>, tested: &Tested) {
    let texts: Vec<&str> = match tested {
        Tested::TestFile(s)
        | Tested::Mirrored(s)
        | Tested::PackageTests(s)
        | Tested::LoadedByTests(s)
        | Tested::Reached(s)
        | Tested::ReferencedBy(s) => vec![s],
        Tested::RunByImage { dockerfile, test } => vec![dockerfile, test],
        Tested::Rendered { view, controller } => vec![view, controller],
        Tested::NamedByTestEvidence => vec![],
    };
    let tag = match tested {
        Tested::TestFile(_) => 1,
        Tested::Mirrored(_) => 2,
        Tested::PackageTests(_) => 3,
        Tested::LoadedByTests(_) => 4,
        Tested::Reached(_) => 5,
        Tested::ReferencedBy(_) => 6,
        Tested::RunByImage { .. } => 7,
        Tested::Rendered { .. } => 8,
        Tested::NamedByTestEvidence => u8::MAX,
    };
    out.push(tag);
    texts.into_iter().for_each(|t| put_text16(out, t));
}

fn take_tested(r: &mut Reader<'_>) -> Option<Tested> {
    let tag = r.take(1)?[0];
    let mut text = || r.text16();
    Some(match tag {
        1 => Tested::TestFile(text()?),
        2 => Tested::Mirrored(text()?),
        3 => Tested::PackageTests(text()?),
        4 => Tested::LoadedByTests(text()?),
        5 => Tested::Reached(text()?),
        6 => Tested::ReferencedBy(text()?),
        7 => Tested::RunByImage { dockerfile: text()?, test: text()? },
        8 => Tested::Rendered { view: text()?, controller: text()? },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_decode_to_what_was_encoded_and_never_as_another_kind() {
        let count = CommitCount { count: 201, capped: true };
        let back = (COUNT.decode)(&(COUNT.encode)(&count)).unwrap();
        assert_eq!((back.count, back.capped), (201, true));
        let cases: Vec<Result<Tested, Looked>> = vec![
            Ok(Tested::TestFile("tests/test_a.py".into())),
            Ok(Tested::RunByImage { dockerfile: "Dockerfile".into(), test: "tests/test_image.py".into() }),
            Ok(Tested::Rendered { view: "app/views/a/index.html.erb".into(), controller: "app/x.rb".into() }),
            Err(Looked { test_files: vec!["tests/test_b.py".into(), "b_test.py".into()], tests_searched: 7 }),
        ];
        for case in &cases {
            let bytes = (DIRECT.encode)(case);
            assert_eq!((DIRECT.decode)(&bytes).as_ref(), Some(case));
            assert!((THROUGH.decode)(&bytes).is_none() && (COUNT.decode)(&bytes).is_none());
            assert!((DIRECT.decode)(&bytes[..bytes.len() - 1]).is_none());
        }
        for case in [None, Some(Tested::Reached("app/main.py".into()))] {
            assert_eq!((THROUGH.decode)(&(THROUGH.encode)(&case)), Some(case));
        }
        // Test evidence is of the run: a record of it is not believed.
        assert_eq!((DIRECT.decode)(&(DIRECT.encode)(&Ok(Tested::NamedByTestEvidence))), None);
    }

    #[test]
    fn fingerprints_differ_by_every_part() {
        let a = Oid::from_bytes(&[1; 20]).unwrap();
        let b = Oid::from_bytes(&[2; 20]).unwrap();
        assert_ne!(count_key(Some(a), 200), count_key(Some(b), 200));
        assert_ne!(count_key(Some(a), 200), count_key(Some(a), 100));
        assert_ne!(count_key(None, 200), count_key(Some(a), 200));
        let class = crate::config::PathClass::empty;
        let paths =
            PathClasses { scripts: class(), tests: class(), config: class(), manifests: class(), ignore: class() };
        assert_ne!(coverage_key("direct", "a.py", &paths, &[]), coverage_key("through", "a.py", &paths, &[]));
        assert_ne!(coverage_key("direct", "a.py", &paths, &[]), coverage_key("direct", "b.py", &paths, &[]));
        let templates = ["tests/test_{stem}.py".to_string()];
        assert_ne!(coverage_key("direct", "a.py", &paths, &[]), coverage_key("direct", "a.py", &paths, &templates));
    }
}
