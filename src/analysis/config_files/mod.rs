//! The configuration files a release changes, read on both sides: the last deploy's version and
//! the release's, parsed and diffed key by key. `config-syntax`, `config-address`,
//! `config-risk`, the report's config changes and `gate diff` all read this one result.
//!
//! Each blob is read once per path, and each pair of readings diffed once: what both give is
//! kept in the blob cache (see [`kept`]), so a second run on a release of a thousand config
//! files reads, parses and diffs nothing. A kept file's keys are read only when a check asks
//! for them, from where the cache keeps them apart.

mod kept;

use git2::Oid;

use self::kept::Reading;
use crate::audit::document::{self, Document, Entry, KeyChange, Parsed};
use crate::config::Policy;
use crate::git::{BlobStore, Change, ChangeSet, Mode, Status};
use crate::{Error, Result};

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
    /// The release's entries that `changes` gives a new value, keyed by identity, in the
    /// file's order: what checks judge values by, without the rest of the file.
    changed: Vec<Entry>,
    /// Set when the file describes configuration rather than being it (a JSON Schema, an
    /// OpenAPI document, a CRD, test results): what it is. Its syntax is still checked; its
    /// values are not judged as settings.
    pub describes: Option<&'static str>,
    /// The blob and path each version was read from, when it was: what its diff is kept under.
    read_from: [Option<(Oid, String)>; 2],
}

impl ConfigFile {
    /// The release's entries that [`ConfigFile::changes`] gives a new value (a changed or added
    /// key), keyed by identity as the changes are, in the order of the file.
    pub fn changed_entries(&self) -> &[Entry] {
        &self.changed
    }

    /// The last deploy's entries, when its version parses.
    pub fn deployed_entries(&self, store: &BlobStore<'_>) -> Result<Option<&[Entry]>> {
        Ok(filled(store, &self.old, &self.read_from[0])?.and_then(Document::entries))
    }
}

/// The document `parsed` is, with its entries at hand: a version kept in the blob cache is
/// given its entries from where the cache keeps them apart, or its blob read again. `from` is
/// the blob and path it was read from.
fn filled<'p>(
    store: &BlobStore<'_>,
    parsed: &'p Option<Parsed>,
    from: &Option<(Oid, String)>,
) -> Result<Option<&'p Document>> {
    let Some(Parsed::Document(doc)) = parsed else { return Ok(None) };
    if doc.entries().is_some() {
        return Ok(Some(doc));
    }
    let Some((id, path)) = from else { unreachable!("a version read has its blob and path") };
    match kept::entries(store, *id, path)?.is_some_and(|entries| doc.fill(entries)) {
        true => Ok(Some(doc)),
        // What the cache says the file is and what it reads as now disagree: nothing it
        // derived from the file can be believed.
        false => Err(Error::with_fix(
            format!("{path}: the blob cache's reading of blob {id} is not what the blob reads as"),
            "remove the cache (rm -r GIT_DIR/gate) and run gate again",
        )),
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
        let mut best: Vec<(f64, usize)> = Vec::new();
        for (i, deleted) in files.iter().enumerate().filter(|(_, f)| f.status == Status::Deleted) {
            let score = shared(store, file, deleted)?;
            if score >= 0.5 {
                best.push((score, i));
            }
        }
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
        Diff { changes: file.changes, changed: file.changed } =
            diff(store, &file.read_from, &file.old, &file.new, file.too_large)?;
        gone.push(from);
    }
    let mut index = 0;
    files.retain(|_| {
        index += 1;
        !gone.contains(&(index - 1))
    });
    Ok(())
}

/// The share of the keys and values of the larger of two files, `added`'s and what `deleted`
/// deployed, that both have: computed once per pair of readings, then kept in the blob cache.
fn shared(store: &BlobStore<'_>, added: &ConfigFile, deleted: &ConfigFile) -> Result<f64> {
    let (Some(Parsed::Document(_)), Some(Parsed::Document(_))) = (&added.new, &deleted.old) else { return Ok(0.0) };
    let pair = [deleted.read_from[0].clone(), added.read_from[1].clone()];
    if let Some(score) = kept::shared(store, &pair) {
        return Ok(score);
    }
    let (Some(x), Some(y)) =
        (filled(store, &added.new, &added.read_from[1])?, filled(store, &deleted.old, &deleted.read_from[0])?)
    else {
        unreachable!("both are documents")
    };
    let (ours, theirs) = (x.entries().unwrap_or_default(), y.entries().unwrap_or_default());
    let theirs: std::collections::BTreeSet<(&str, &str)> =
        theirs.iter().map(|e| (e.key.as_str(), e.value.as_str())).collect();
    let same = ours.iter().filter(|e| theirs.contains(&(e.key.as_str(), e.value.as_str()))).count();
    let score = same as f64 / x.len().max(y.len()).max(1) as f64;
    kept::keep_shared(store, &pair, score);
    Ok(score)
}

/// The key-level changes from `old` to `new`, and the entries of `new` they give a value.
#[derive(Debug, Clone, Default, PartialEq)]
struct Diff {
    changes: Vec<KeyChange>,
    changed: Vec<Entry>,
}

/// The key-level changes from `old` to `new`, when both sides read (a missing side has no keys):
/// diffed once per pair of readings, then kept in the blob cache.
fn diff(
    store: &BlobStore<'_>,
    read_from: &[Option<(Oid, String)>; 2],
    old: &Option<Parsed>,
    new: &Option<Parsed>,
    too_large: Option<u64>,
) -> Result<Diff> {
    let readable = |parsed: &Option<Parsed>| matches!(parsed, Some(Parsed::Document(_)) | None);
    if !(readable(old) && readable(new) && too_large.is_none()) || read_from.iter().all(Option::is_none) {
        return Ok(Diff::default());
    }
    if let Some(diff) = kept::diff(store, read_from) {
        return Ok(diff);
    }
    let identified = |parsed, from| -> Result<&[Entry]> {
        Ok(filled(store, parsed, from)?.and_then(Document::identified).unwrap_or_default())
    };
    let (before, after) = (identified(old, &read_from[0])?, identified(new, &read_from[1])?);
    let changes = document::diff_identified(before, after);
    let valued: std::collections::HashSet<&str> =
        changes.iter().filter(|c| c.new.is_some()).map(|c| c.key.as_str()).collect();
    let changed = after.iter().filter(|e| valued.contains(e.key.as_str())).cloned().collect();
    let diff = Diff { changes, changed };
    kept::keep_diff(store, read_from, &diff);
    Ok(diff)
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
    let read_from = [
        old.as_ref().map(|(id, _)| (*id, old_path.to_string())),
        new.as_ref().map(|(id, _)| (*id, change.path.clone())),
    ];
    // What the file is, as the release names it.
    let describes = match (&new, &old) {
        (Some((_, reading)), _) => reading.describes,
        (None, Some((_, reading))) if old_path == change.path => reading.describes,
        (None, Some((_, reading))) => {
            let old = Some(reading.parsed.clone());
            filled(store, &old, &read_from[0])?.and_then(|doc| describes(&change.path, doc))
        }
        (None, None) => None,
    };
    let (new, old) = (new.map(|(_, r)| r.parsed), old.map(|(_, r)| r.parsed));
    let Diff { changes, changed } = diff(store, &read_from, &old, &new, too_large)?;
    Ok(ConfigFile {
        path: change.path.clone(),
        status: change.status,
        new,
        old,
        too_large,
        changes,
        changed,
        describes,
        read_from,
    })
}

/// A blob read as the file at `path`: once per blob and path, then kept in the blob cache.
fn read_blob(store: &BlobStore<'_>, path: &str, id: Oid) -> Result<Reading> {
    kept::reading(store, id, path, |content| {
        let parsed = document::parse(path, content);
        let describes = match &parsed {
            Parsed::Document(doc) => describes(path, doc),
            _ => None,
        };
        Reading { parsed, describes }
    })
}

/// What [`describes`] can say.
const JSON_SCHEMA: &str = "a JSON Schema";
const OPENAPI: &str = "an OpenAPI document";
const CRD: &str = "a Kubernetes CRD (a schema)";
const TEST_RESULTS: &str = "test results";
const SPRING_METADATA: &str = "Spring configuration metadata";
const ICON_FONT: &str = "an icon-font project file";
const TRANSLATIONS: &str = "translations";
const DESCRIBED: [&str; 7] = [JSON_SCHEMA, OPENAPI, CRD, TEST_RESULTS, SPRING_METADATA, ICON_FONT, TRANSLATIONS];

/// What a document is when it describes configuration instead of being the configuration a
/// service reads: schemas, API descriptions, test results, icon-font projects.
fn describes(path: &str, doc: &Document) -> Option<&'static str> {
    let Some(entries) = doc.entries() else { unreachable!("a document read or filled has its entries") };
    let top = |key: &str| {
        let under = format!("{key}.");
        entries.iter().any(|e| e.key == key || e.key.starts_with(&under))
    };
    let value = |key: &str| entries.iter().find(|e| e.key == key).and_then(|e| e.text.as_deref());
    let lower = path.to_ascii_lowercase();
    if value("$schema").is_some_and(|s| s.contains("json-schema.org"))
        || (top("$defs") || top("definitions")) && entries.iter().any(|e| e.key.ends_with(".type"))
    {
        return Some(JSON_SCHEMA);
    }
    if top("openapi") || top("swagger") {
        return Some(OPENAPI);
    }
    let kinds: Vec<&str> = entries
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
    let sentences = entries.iter().filter(|e| e.key.contains(' ')).count();
    let in_locale_dir = ["locales", "locale", "i18n", "l10n", "lang", "langs", "translations"]
        .iter()
        .any(|dir| lower.split('/').rev().skip(1).any(|part| part == *dir));
    if in_locale_dir || (entries.len() >= 10 && sentences * 2 >= entries.len()) {
        return Some(TRANSLATIONS);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn what(path: &str, text: &str) -> Option<&'static str> {
        match document::parse(path, text.as_bytes()) {
            Parsed::Document(doc) => describes(path, &doc),
            _ => None,
        }
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
