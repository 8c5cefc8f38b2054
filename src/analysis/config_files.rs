//! The configuration files a release changes, read on both sides: the last deploy's version and
//! the release's, parsed and diffed key by key. `config-syntax`, `config-address`,
//! `config-risk`, the report's config changes and `gate diff` all read this one result.
//!
//! Each blob is read once per path, and each pair of readings diffed once: what both give is
//! kept in the blob cache, so a second run on a release of a thousand config files reads,
//! parses and diffs nothing, and decodes a file's keys only when a check asks for them.

use git2::Oid;
use sha2::{Digest, Sha256};

use crate::Result;
use crate::audit::document::{self, Document, KeyChange, Parsed, kept};
use crate::config::Policy;
use crate::git::bytes::Reader;
use crate::git::{BlobStore, Change, ChangeSet, Codec, Mode, Status};

/// One changed configuration file.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    pub path: String,
    pub status: Status,
    /// The release's version: none when the release deletes the file or it is too large.
    pub new: Option<Parsed>,
    /// The last deploy's version: none when the release adds the file.
    pub old: Option<Parsed>,
    /// Size of the release's version, when it is larger than the limit and was not read.
    pub too_large: Option<u64>,
    /// Key-level changes, when both sides (or the one that exists) parse.
    pub changes: Vec<KeyChange>,
    /// Set when the file describes configuration rather than being it (a JSON Schema, an
    /// OpenAPI document, a CRD, test results): what it is. Its syntax is still checked; its
    /// values are not judged as settings.
    pub describes: Option<&'static str>,
    /// The blob and path each version was read from, when it was: what its diff is kept under.
    read_from: [Option<(Oid, String)>; 2],
}

impl ConfigFile {
    /// The release's version, when the file parses.
    pub fn new_document(&self) -> Option<&Document> {
        match &self.new {
            Some(Parsed::Document(doc)) => Some(doc),
            _ => None,
        }
    }
}

/// Reads every changed file of the `config` class (not ignored, not a test fixture): both
/// versions, at most `max_bytes` each.
pub fn read(policy: &Policy, changes: &ChangeSet, store: &BlobStore<'_>, max_bytes: u64) -> Result<Vec<ConfigFile>> {
    let mut files = Vec::new();
    for change in changes.iter() {
        // Configuration under tests is a fixture (often broken on purpose), not what ships.
        let in_class = |path: &str| {
            let paths = &policy.paths;
            paths.config.matches(path) && !paths.ignore.matches(path) && !paths.tests.matches(path)
        };
        if !in_class(&change.path) && !change.old_path.as_deref().is_some_and(in_class) {
            continue;
        }
        files.push(read_one(change, store, max_bytes)?);
    }
    pair_moves(&mut files, store)?;
    Ok(files)
}

/// A config file the release deletes and one of the same name it adds, when there is just one
/// of each, are a move with edits (a renamed role directory): diffed as one file, so keys that
/// moved with their values are not read as every key removed and added again.
fn pair_moves(files: &mut Vec<ConfigFile>, store: &BlobStore<'_>) -> Result<()> {
    let name = |f: &ConfigFile| crate::git::file_name(&f.path).to_string();
    let mut moved = Vec::new();
    for (added, file) in files.iter().enumerate().filter(|(_, f)| f.status == Status::Added) {
        let same = |f: &&ConfigFile| name(f) == name(file);
        let deleted: Vec<usize> =
            files.iter().enumerate().filter(|(_, f)| f.status == Status::Deleted && same(f)).map(|(i, _)| i).collect();
        let added_like = files.iter().filter(|f| f.status == Status::Added && same(f)).count();
        if let ([from], 1) = (deleted.as_slice(), added_like) {
            moved.push((added, *from));
            continue;
        }
        // Renamed with edits (`docker-compose.yml` -> `compose.yaml`): the deleted file that
        // shares most of its keys and values, when it shares at least half of them.
        let shared = |a: &ConfigFile, b: &ConfigFile| {
            let (Some(Parsed::Document(x)), Some(Parsed::Document(y))) = (&a.new, &b.old) else { return 0.0 };
            let theirs: std::collections::BTreeSet<(&str, &str)> =
                y.entries().iter().map(|e| (e.key.as_str(), e.value.as_str())).collect();
            let same = x.entries().iter().filter(|e| theirs.contains(&(e.key.as_str(), e.value.as_str()))).count();
            same as f64 / x.len().max(y.len()).max(1) as f64
        };
        let mut best: Vec<(f64, usize)> = files
            .iter()
            .enumerate()
            .filter(|(_, f)| f.status == Status::Deleted)
            .map(|(i, f)| (shared(file, f), i))
            .filter(|(score, _)| *score >= 0.5)
            .collect();
        best.sort_by(|a, b| b.0.total_cmp(&a.0));
        if let Some(&(score, from)) = best.first()
            && best.get(1).is_none_or(|(second, _)| *second < score)
            && !moved.iter().any(|(_, f)| *f == from)
        {
            moved.push((added, from));
        }
    }
    let mut gone = Vec::new();
    for (added, from) in moved {
        let (old, old_from) = (files[from].old.clone(), files[from].read_from[0].clone());
        let file = &mut files[added];
        (file.old, file.read_from[0]) = (old, old_from);
        file.status = Status::Renamed;
        file.changes = diff(store, &file.read_from, &file.old, &file.new, file.too_large)?;
        gone.push(from);
    }
    let mut index = 0;
    files.retain(|_| {
        index += 1;
        !gone.contains(&(index - 1))
    });
    Ok(())
}

/// The key-level changes from `old` to `new`, when both sides read (a missing side has no keys):
/// diffed once per pair of readings, then kept in the blob cache under the release's blob (the
/// last deploy's, for a deleted file) and what both were read from.
fn diff(
    store: &BlobStore<'_>,
    read_from: &[Option<(Oid, String)>; 2],
    old: &Option<Parsed>,
    new: &Option<Parsed>,
    too_large: Option<u64>,
) -> Result<Vec<KeyChange>> {
    fn identified(parsed: &Option<Parsed>) -> Option<&[document::Entry]> {
        match parsed {
            Some(Parsed::Document(doc)) => Some(doc.identified()),
            None => Some(&[]),
            _ => None,
        }
    }
    let readable = |parsed: &Option<Parsed>| matches!(parsed, Some(Parsed::Document(_)) | None);
    let [before, after] = read_from;
    let (true, true, None, Some((id, _))) =
        (readable(old), readable(new), too_large, after.as_ref().or(before.as_ref()))
    else {
        return Ok(Vec::new());
    };
    let mut key = key("diff");
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
    store.derived(*id, fingerprint(key), &DIFF, |_| match (identified(old), identified(new)) {
        (Some(before), Some(after)) => document::diff_identified(before, after),
        _ => unreachable!("both sides read"),
    })
}

fn read_one(change: &Change, store: &BlobStore<'_>, max_bytes: u64) -> Result<ConfigFile> {
    fn text_side(side: Option<&crate::git::Side>) -> Option<&crate::git::Side> {
        side.filter(|s| matches!(s.mode, Mode::File | Mode::Executable))
    }
    let mut too_large = None;
    let new = match text_side(change.new.as_ref()) {
        Some(side) if side.size > max_bytes => {
            too_large = Some(side.size);
            None
        }
        Some(side) => Some((side.id, read_blob(store, &change.path, side.id)?)),
        None => None,
    };
    let old_path = change.old_path.as_deref().unwrap_or(&change.path);
    let old = match text_side(change.old.as_ref()) {
        Some(side) if side.size <= max_bytes && change.status != Status::Copied => {
            Some((side.id, read_blob(store, old_path, side.id)?))
        }
        _ => None,
    };
    // What the file is, as the release names it.
    let describes = match (&new, &old) {
        (Some((_, reading)), _) => reading.describes,
        (None, Some((_, reading))) if old_path == change.path => reading.describes,
        (None, Some((_, reading))) => describes(&change.path, &reading.parsed),
        (None, None) => None,
    };
    let read_from = [
        old.as_ref().map(|(id, _)| (*id, old_path.to_string())),
        new.as_ref().map(|(id, _)| (*id, change.path.clone())),
    ];
    let (new, old) = (new.map(|(_, r)| r.parsed), old.map(|(_, r)| r.parsed));
    let changes = diff(store, &read_from, &old, &new, too_large)?;
    Ok(ConfigFile {
        path: change.path.clone(),
        status: change.status,
        new,
        old,
        too_large,
        changes,
        describes,
        read_from,
    })
}

/// A blob read as the file at one path, and what it describes: what the blob cache keeps.
#[derive(Debug, Clone, PartialEq)]
struct Reading {
    parsed: Parsed,
    describes: Option<&'static str>,
}

/// A blob read as the file at `path`: once per blob and path, then kept in the blob cache.
fn read_blob(store: &BlobStore<'_>, path: &str, id: Oid) -> Result<Reading> {
    let mut key = key("reading");
    key.update(path);
    store.derived(id, fingerprint(key), &READING, |content| {
        let parsed = document::parse(path, content);
        Reading { describes: describes(path, &parsed), parsed }
    })
}

/// What a record is kept under, beside its blob: what it is, the encoding and gate's version
/// (which decide what reading a file gives), then what it was read or diffed from. A SHA-256,
/// so no path of a release can be made to share another path's records.
fn key(what: &str) -> Sha256 {
    let mut key = Sha256::new();
    for part in [env!("CARGO_PKG_VERSION"), kept::VERSION, what] {
        key.update(part);
        key.update([0]);
    }
    key
}

fn fingerprint(key: Sha256) -> u64 {
    let digest = key.finalize();
    u64::from_le_bytes(digest[..8].try_into().unwrap_or_else(|_| unreachable!("a SHA-256 has 32 bytes")))
}

const READING: Codec<Reading> = Codec { encode: encode_reading, decode: decode_reading };
const DIFF: Codec<Vec<KeyChange>> = Codec { encode: encode_diff, decode: decode_diff };

/// What [`describes`] can say, by the byte a reading keeps it as (its position; 0xff for none).
const DESCRIBED: [&str; 7] = [JSON_SCHEMA, OPENAPI, CRD, TEST_RESULTS, SPRING_METADATA, ICON_FONT, TRANSLATIONS];

fn encode_reading(reading: &Reading) -> Vec<u8> {
    let described = match reading.describes {
        None => 0xff,
        // A description missing from the list is kept as one no reading decodes: the file is
        // read again every run, never kept as describing nothing.
        Some(what) => DESCRIBED.iter().position(|d| *d == what).map_or(0xfe, |at| at as u8),
    };
    let mut out = vec![described];
    kept::put_parsed(&mut out, &reading.parsed);
    out
}

fn decode_reading(record: &[u8]) -> Option<Reading> {
    let mut r = Reader::new(record);
    let describes = match r.take(1)?[0] {
        0xff => None,
        at => Some(*DESCRIBED.get(at as usize)?),
    };
    let parsed = kept::parsed(&mut r)?;
    r.is_empty().then_some(Reading { parsed, describes })
}

#[allow(clippy::ptr_arg, reason = "a codec encodes the type it decodes")]
fn encode_diff(changes: &Vec<KeyChange>) -> Vec<u8> {
    let mut out = Vec::new();
    kept::put_changes(&mut out, changes);
    out
}

fn decode_diff(record: &[u8]) -> Option<Vec<KeyChange>> {
    let mut r = Reader::new(record);
    let changes = kept::changes(&mut r)?;
    r.is_empty().then_some(changes)
}

const JSON_SCHEMA: &str = "a JSON Schema";
const OPENAPI: &str = "an OpenAPI document";
const CRD: &str = "a Kubernetes CRD (a schema)";
const TEST_RESULTS: &str = "test results";
const SPRING_METADATA: &str = "Spring configuration metadata";
const ICON_FONT: &str = "an icon-font project file";
const TRANSLATIONS: &str = "translations";

/// What a document is when it describes configuration instead of being the configuration a
/// service reads: schemas, API descriptions, test results, icon-font projects.
fn describes(path: &str, parsed: &Parsed) -> Option<&'static str> {
    let Parsed::Document(doc) = parsed else { return None };
    let top = |key: &str| {
        let under = format!("{key}.");
        doc.entries().iter().any(|e| e.key == key || e.key.starts_with(&under))
    };
    let value = |key: &str| doc.entries().iter().find(|e| e.key == key).and_then(|e| e.text.as_deref());
    let lower = path.to_ascii_lowercase();
    if value("$schema").is_some_and(|s| s.contains("json-schema.org"))
        || (top("$defs") || top("definitions")) && doc.entries().iter().any(|e| e.key.ends_with(".type"))
    {
        return Some(JSON_SCHEMA);
    }
    if top("openapi") || top("swagger") {
        return Some(OPENAPI);
    }
    let kinds: Vec<&str> = doc
        .entries()
        .iter()
        .filter(|e| e.key == "kind" || (e.key.starts_with("[document ") && e.key.ends_with("].kind")))
        .filter_map(|e| e.text.as_deref())
        .collect();
    if !kinds.is_empty() && kinds.iter().all(|k| *k == "CustomResourceDefinition") {
        return Some(CRD);
    }
    if lower.contains("test-results") || lower.contains("test_results") || top("numFailedTests") || top("testResults") {
        return Some(TEST_RESULTS);
    }
    if lower.ends_with("configuration-metadata.json") {
        return Some(SPRING_METADATA);
    }
    if top("IcoMoonType") || lower.contains("icomoon") || (top("glyphs") && top("css_prefix_text")) {
        return Some(ICON_FONT);
    }
    // UI strings: keyed by their English text ("Push URL": "Push-URL"), or under a locale
    // directory. Their keys say url, host or password about words, not settings.
    let sentences = doc.entries().iter().filter(|e| e.key.contains(' ')).count();
    let in_locale_dir = ["locales", "locale", "i18n", "l10n", "lang", "langs", "translations"]
        .iter()
        .any(|dir| lower.split('/').rev().skip(1).any(|part| part == *dir));
    if in_locale_dir || (doc.len() >= 10 && sentences * 2 >= doc.len()) {
        return Some(TRANSLATIONS);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn what(path: &str, text: &str) -> Option<&'static str> {
        describes(path, &document::parse(path, text.as_bytes()))
    }

    #[test]
    fn documents_about_configuration_are_told_from_configuration() {
        assert_eq!(
            what("schema.json", r#"{"$schema": "http://json-schema.org/draft-07/schema#", "type": "object"}"#),
            Some("a JSON Schema")
        );
        assert_eq!(
            what(
                "api.yaml",
                "openapi: 3.0.0
info:
  title: x
"
            ),
            Some("an OpenAPI document")
        );
        assert_eq!(
            what(
                "crd.yaml",
                "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
"
            ),
            Some("a Kubernetes CRD (a schema)")
        );
        assert_eq!(
            what("web/selection.json", r#"{"IcoMoonType": "selection", "icons": []}"#),
            Some("an icon-font project file")
        );
        assert_eq!(
            what(
                "config/app.yaml",
                "auth:
  token_url: https://x
"
            ),
            None
        );
    }
}
