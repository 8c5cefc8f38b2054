//! `near-duplicate`: an added file is a copy, or nearly, of another file of the release.
//!
//! Incident 000's author asked for exactly this: mark similar scripts and show how they are alike
//! and how they differ, so an untested copy does not ship by accident. The search is indexed
//! (see `analysis::similarity`): it finds every pair at or above the threshold without
//! comparing every pair.
//!
//! An added file is compared with every text file of the release; one named like a copy is also
//! compared with the files this release removes, renames away or rewrites, as the last deploy
//! had them: `server_old.js` is a copy of the `server.js` that was deployed, whatever
//! `server.js` is now (an unmarked file that resembles one of those moved with edits). Binary files are never
//! near-duplicates (an identical PNG is not a forked script; exact copies are counted in a note),
//! and migrations are alike by design. When two added files resemble each other most, the pair
//! is reported once, on the copy: the one named like a copy, or else the one that sorts later.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Deserialize;

use super::{Check, Context, Doc, Finding, FindingData, NotAnalysed, Output, percent, round3};
use crate::Result;
use crate::analysis::names::{Markers, migration, variant_of};
use crate::analysis::similarity::{Docs, LineIndex, common_lines, compact_diff, similarity};
use crate::analysis::{Needs, coverage, memo};
use crate::audit::comments;
use crate::config::Severity;
use crate::config::{Problem, Settings};
use crate::git::bytes::{Reader, put_oid, put_text16, put_u32};
use crate::git::{Change, Codec, ContentKind, Facts, Known, Mode, Status, dir_name, file_name};

pub struct NearDuplicate;

const ID: &str = "near-duplicate";

/// How many other directories must have a file of the same name for a pair to be a layout's.
const LAYOUT_DIRS: usize = 3;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct DuplicateSettings {
    /// Content similarity (0 to 1) at or above which two files are near-duplicates.
    threshold: toml::Spanned<f64>,
    /// Severity of a near-duplicate that no test covers.
    when_untested: Severity,
    /// Files with fewer trimmed, non-blank lines are too small to compare.
    min_lines: u32,
    /// Files larger than this are not compared.
    max_bytes: u64,
    /// Most bytes of content read in one run; past it, files are reported as not analysed.
    max_read_bytes: u64,
    /// Most exact comparisons for one added file (candidates are tried best first).
    max_comparisons: u32,
    /// Most differing lines shown in a finding.
    diff_lines: usize,
    /// Path classes whose added files are not reported (they are still compared against).
    skip_classes: Vec<toml::Spanned<String>>,
}

impl Default for DuplicateSettings {
    fn default() -> Self {
        DuplicateSettings {
            threshold: toml::Spanned::new(0..0, 0.8),
            when_untested: Severity::Deny,
            min_lines: 3,
            max_bytes: 1024 * 1024,
            max_read_bytes: 1024 * 1024 * 1024,
            max_comparisons: 200,
            diff_lines: 12,
            skip_classes: Vec::new(),
        }
    }
}

impl Settings for DuplicateSettings {
    fn problems(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        let t = *self.threshold.get_ref();
        if !(t > 0.0 && t <= 1.0) {
            problems.push(Problem::at(&self.threshold, format!("threshold must be above 0 and at most 1, not {t}")));
        }
        problems.extend(crate::config::class_problems(&self.skip_classes));
        problems
    }
}

static DOC: Doc = Doc {
    codes: &["exact-copy", "near-copy"],
    summary: "An added or renamed file is at least `threshold` similar to another file of the release, whatever its \
              name; the finding shows the pair, both similarities and how they differ.",
    why: "Incident 000: an untested copy of a script, search_v2, shipped beside the original. Its author asked for \
          a tool that marks similar scripts and shows their similarities and differences, so nothing untested \
          ships. A near-copy is either a replacement that forgot to remove the original, or a fork that needs \
          its own tests. One that no test covers blocks, unless it is a file each package of a layout has \
          (`ports/*/portfile.cmake`), which warns.",
    example: "near-duplicate  deny\n  bin/search_v2.sh: 94% similar to bin/search.sh (file names 83% alike); differs in 2 lines, and no test covers it\n    \
              -    3: grep -r \"$1\" .\n    +    3: grep -rn \"$1\" . | sort",
    config: "[checks.near-duplicate]\nseverity        = \"warn\"   # a near-duplicate that is tested\nwhen-untested   = \"deny\"   # one no test covers\n\
             threshold       = 0.8      # similarity of trimmed, non-blank lines, 0 to 1\nmin-lines       = 3        # smaller files are not compared\n\
             max-bytes       = 1048576  # larger files are not compared\nmax-read-bytes  = 1073741824\nmax-comparisons = 200      # exact comparisons per added file\n\
             diff-lines      = 12",
};

impl Check for NearDuplicate {
    type Settings = DuplicateSettings;

    fn id(&self) -> &'static str {
        ID
    }

    fn default_severity(&self) -> Severity {
        Severity::Warn
    }

    fn doc(&self) -> &'static Doc {
        &DOC
    }

    fn needs(&self, settings: &DuplicateSettings, needs: &mut Needs) {
        needs.all_files = true;
        needs.test_references = true;
        needs.read_budget = settings.max_read_bytes;
    }

    fn run(&self, cx: &Context<'_>, settings: &DuplicateSettings, severity: Severity, out: &mut Output) -> Result<()> {
        let subjects: Vec<&Change> = cx
            .changes
            .iter()
            .filter(|c| matches!(c.status, Status::Added | Status::Renamed | Status::Copied))
            .filter(|c| c.new.as_ref().is_some_and(|s| matches!(s.mode, Mode::File | Mode::Executable)))
            .filter(|c| !cx.policy.paths.ignore.matches(&c.path))
            .filter(|c| !crate::config::in_classes(cx.policy, &settings.skip_classes, &c.path))
            .filter(|c| migration(&c.path).is_none())
            .collect();
        if subjects.is_empty() {
            return Ok(());
        }
        let unread = cx.analysis.prefetch()?;
        if unread > 0 {
            out.notes.push(format!(
                "{ID}: the read cap (max-read-bytes = {}) was reached; {unread} file{} of the release were not read, \
                 so they were not compared",
                settings.max_read_bytes,
                if unread == 1 { "" } else { "s" }
            ));
        }
        let markers = Markers::builtin();
        let marked = |path: &str| variant_of(file_name(path), &markers).is_some();
        let search = Search::new(cx, settings, &subjects, subjects.iter().any(|c| marked(&c.path)));
        // What the search finds depends on the two trees and the settings alone: kept for the
        // next run on this release, when every file could be read.
        let kept = kept_key(cx, settings);
        let found = match cx.analysis.store.kept(cx.range.release.tree, kept, &MATCHES) {
            Some(found) if found.len() == subjects.len() => found,
            _ => {
                // When two files added together resemble each other, one finding says it, on the
                // copy: the one named like a copy (an unmarked file is never compared with a
                // marked one added with it), or else the one on the path that sorts later (`x_2`
                // after `x`).
                let marked_added: std::collections::HashSet<&str> =
                    subjects.iter().map(|c| c.path.as_str()).filter(|p| marked(p)).collect();
                let mut found = Vec::with_capacity(subjects.len());
                for change in &subjects {
                    let skip = |other: &str| !marked(&change.path) && marked_added.contains(other);
                    found.push(search.best_match(change, marked(&change.path), &skip)?);
                }
                if unread == 0 {
                    cx.analysis.store.keep(cx.range.release.tree, kept, &MATCHES, &found);
                }
                found
            }
        };
        let matches: Vec<(&Change, Match)> = subjects.iter().copied().zip(found).collect();
        let best_of: HashMap<&str, &str> =
            matches.iter().filter_map(|(change, m)| m.other().map(|other| (change.path.as_str(), other))).collect();
        let is_original = |path: &str, other: &str| best_of.get(other) == Some(&path) && path < other;
        let mut binary_copies = 0;
        for (change, found) in &matches {
            match found {
                Match::None => {}
                Match::BinaryCopy => binary_copies += 1,
                Match::NotAnalysed(reason) => {
                    out.not_analysed.push(NotAnalysed { check: ID, path: change.path.clone(), reason: reason.clone() });
                }
                Match::Found { .. } | Match::Capped { .. }
                    if found.other().is_some_and(|other| is_original(&change.path, other)) => {}
                Match::Found { other, ratio, identical } => {
                    out.findings.push(search.finding(change, other, *ratio, *identical, severity)?);
                }
                Match::Capped { other, ratio } => {
                    out.notes.push(format!(
                        "{ID}: {} has more candidates than max-comparisons ({}); {}",
                        change.path,
                        settings.max_comparisons,
                        if other.is_none() {
                            "none of those compared was similar enough"
                        } else {
                            "the best match found is reported"
                        }
                    ));
                    if let Some(other) = other {
                        out.findings.push(search.finding(change, other, *ratio, false, severity)?);
                    }
                }
            }
        }
        if binary_copies > 0 {
            out.notes.push(format!(
                "{ID}: {binary_copies} added binary file{} exact cop{} of files already in the release (binary files are \
                 not compared: an identical image is not a forked script)",
                if binary_copies == 1 { " is an" } else { "s are" },
                if binary_copies == 1 { "y" } else { "ies" }
            ));
        }
        Ok(())
    }
}

/// What the search found for one added file.
#[derive(Debug)]
enum Match {
    None,
    /// A binary file identical to another of the release: counted, not reported.
    BinaryCopy,
    NotAnalysed(String),
    Found {
        other: Other,
        ratio: f64,
        identical: bool,
    },
    /// The comparison cap was reached; `other` is the best found, if any.
    Capped {
        other: Option<Other>,
        ratio: f64,
    },
}

/// The file a match is with: a file of the release, or one as the last deploy had it.
#[derive(Debug, Clone)]
struct Other {
    path: String,
    id: git2::Oid,
    /// Set for a file of the last deploy that this release removes, renames or rewrites: what
    /// the release does to it.
    deployed: Option<&'static str>,
}

impl Match {
    /// The file of the release the match is with (not one of the last deploy's).
    fn other(&self) -> Option<&str> {
        match self {
            Match::Found { other, .. } | Match::Capped { other: Some(other), .. } if other.deployed.is_none() => {
                Some(&other.path)
            }
            _ => None,
        }
    }
}

struct Search<'c, 'a> {
    cx: &'c Context<'a>,
    settings: &'c DuplicateSettings,
    subjects: Vec<&'c Change>,
    with_deployed: bool,
    /// Built when the first file is compared (a run that finds its matches kept needs none):
    /// the index, and the files of the last deploy that the release removes, renames or
    /// rewrites, indexed after the tree's files (document position `tree.len() + i`).
    index: std::cell::OnceCell<(LineIndex, Vec<Other>)>,
    threshold: f64,
    /// Contents read for exact comparison, by blob id.
    contents: std::cell::RefCell<HashMap<git2::Oid, Arc<Vec<u8>>>>,
}

impl<'c, 'a> Search<'c, 'a> {
    /// A search among the files of the release for files like the `subjects`, the files
    /// compared; `with_deployed` when one is named like a copy (see [`Search::index`]).
    fn new(cx: &'c Context<'a>, settings: &'c DuplicateSettings, subjects: &[&'c Change], with_deployed: bool) -> Self {
        Search {
            cx,
            settings,
            subjects: subjects.to_vec(),
            with_deployed,
            index: std::cell::OnceCell::new(),
            threshold: *settings.threshold.get_ref(),
            contents: std::cell::RefCell::default(),
        }
    }

    /// The index of every text file of the release that is neither ignored nor out of bounds,
    /// and, `with_deployed`, of the last deploy's versions of the files the release removes,
    /// renames away or rewrites (those files second), by the lines of the subjects; built on
    /// first use.
    fn index(&self) -> Result<&(LineIndex, Vec<Other>)> {
        if let Some(index) = self.index.get() {
            return Ok(index);
        }
        let index = self.build_index()?;
        Ok(self.index.get_or_init(|| index))
    }

    fn build_index(&self) -> Result<(LineIndex, Vec<Other>)> {
        let (cx, settings, with_deployed) = (self.cx, self.settings, self.with_deployed);
        let tree = cx.analysis.tree()?;
        let ignored = cx.analysis.ignored()?;
        let files: Vec<usize> = (0..tree.len())
            .filter(|&i| matches!(tree.files()[i].mode, Mode::File | Mode::Executable) && !ignored(i))
            .collect();
        let ids: Vec<git2::Oid> = files.iter().map(|&i| tree.files()[i].id).collect();
        let mut docs = Docs::default();
        cx.analysis.store.each_known_facts(&ids, |at, known| {
            if comparable(known.facts(), settings).is_ok() {
                match known {
                    Known::Held(facts) => docs.push_shared(files[at], facts.clone()),
                    Known::Decoded(facts) => docs.push(files[at], facts),
                }
            }
        });
        docs.sort();
        let mut deployed = Vec::new();
        for change in cx.changes.iter().filter(|_| with_deployed) {
            let fate = match change.status {
                Status::Deleted => FATES[0],
                Status::Renamed => FATES[1],
                Status::Modified => FATES[2],
                _ => continue,
            };
            let Some(old) = change.old.as_ref().filter(|s| matches!(s.mode, Mode::File | Mode::Executable)) else {
                continue;
            };
            let path = change.old_path.clone().unwrap_or_else(|| change.path.clone());
            if cx.policy.paths.ignore.matches(&path) || old.size > settings.max_bytes {
                continue;
            }
            let facts = cx.analysis.store.facts(old.id)?;
            if comparable(&facts, settings).is_ok() {
                docs.push_shared(tree.len() + deployed.len(), facts);
                deployed.push(Other { path, id: old.id, deployed: Some(fate) });
            }
        }
        // The index is asked about the added files only: it holds their lines.
        let mut probes = Vec::with_capacity(self.subjects.len());
        for side in self.subjects.iter().filter_map(|c| c.new.as_ref()) {
            probes.push(cx.analysis.store.facts(side.id)?);
        }
        Ok((LineIndex::build(docs, probes.iter().map(|f| &**f)), deployed))
    }

    fn content(&self, id: git2::Oid) -> Result<Arc<Vec<u8>>> {
        if let Some(content) = self.contents.borrow().get(&id) {
            return Ok(content.clone());
        }
        let content = Arc::new(self.cx.analysis.store.content(id)?);
        self.contents.borrow_mut().insert(id, content.clone());
        Ok(content)
    }

    /// Whether two files alike line by line share code too: at least `min-lines` lines of code
    /// in common once comments are taken out (a shared licence header is not a fork). Files
    /// without a comment syntax (JSON, Markdown) are taken as they are.
    fn code_alike(&self, path: &str, this: git2::Oid, other: git2::Oid) -> Result<bool> {
        let syntax = comments::syntax_for(path);
        if syntax == comments::Syntax::None {
            return Ok(true);
        }
        let (this, other) = (self.content(this)?, self.content(other)?);
        let (this, other) = (String::from_utf8_lossy(&this), String::from_utf8_lossy(&other));
        let code = |text| comments::code_only(text, syntax);
        Ok(common_lines(&code(&this), &code(&other)) >= self.settings.min_lines as usize)
    }

    /// The file behind an index document.
    fn other(&self, doc: usize) -> Result<Other> {
        let tree = self.cx.analysis.tree()?;
        let (index, deployed) = self.index()?;
        let position = index.doc(doc).file;
        Ok(match tree.files().get(position) {
            Some(file) => Other { path: file.path.clone(), id: file.id, deployed: None },
            None => deployed[position - tree.len()].clone(),
        })
    }

    /// The file `change` most resembles, at or above the threshold: one of the release, or one
    /// of the last deploy's when that is strictly closer.
    fn best_match(&self, change: &Change, marked: bool, skip: &dyn Fn(&str) -> bool) -> Result<Match> {
        let tree = self.cx.analysis.tree()?;
        let Some(side) = &change.new else { return Ok(Match::None) };
        let facts = self.cx.analysis.store.facts(side.id)?;
        let comparable = comparable(&facts, self.settings);
        // An exact copy needs no content comparison: the same blob id at another path. Copies
        // of tiny files (empty `__init__.py`) are not worth a finding, nor are binary ones.
        let tiny = facts.kind == ContentKind::Text && facts.lines < self.settings.min_lines;
        let mut copies: Vec<&str> =
            tree.with_blob(side.id).map(|f| f.path.as_str()).filter(|p| *p != change.path && !skip(p)).collect();
        copies.sort_by_key(|p| (std::cmp::Reverse((strsim::normalized_levenshtein(p, &change.path) * 1e6) as i64), *p));
        if let Some(original) = copies.first().filter(|_| !tiny) {
            if facts.kind == ContentKind::Binary {
                return Ok(Match::BinaryCopy);
            }
            if !self.code_alike(&change.path, side.id, side.id)? {
                return Ok(Match::None);
            }
            let other = Other { path: original.to_string(), id: side.id, deployed: None };
            return Ok(Match::Found { other, ratio: 1.0, identical: true });
        }
        match comparable {
            Err(_) if facts.kind == ContentKind::Binary => return Ok(Match::None),
            Err(reason) => return Ok(Match::NotAnalysed(reason)),
            Ok(()) => {}
        }
        let candidates = self.index()?.0.candidates(&facts, self.threshold, tree.position(&change.path));
        // The best, preferring the release's files at an equal ratio.
        let mut best: Option<(usize, f64, bool)> = None;
        let mut capped = false;
        for (compared, candidate) in candidates.into_iter().enumerate() {
            if best.is_some_and(|(_, ratio, _)| ratio >= candidate.bound) {
                break;
            }
            if compared >= self.settings.max_comparisons as usize {
                capped = true;
                break;
            }
            let other = self.other(candidate.doc)?;
            // A renamed file is not a copy of where it came from, and a file that moves with
            // edits is not a copy at all: only a file named like a copy (`server_old.js`) is
            // compared with what the release removes, renames away or rewrites. A copy of a file
            // the release rewrites (`backup_old.sh`, the old `backup101.sh`) is a copy of it.
            let renamed_from =
                change.status == Status::Renamed && change.old_path.as_deref() == Some(other.path.as_str());
            if (other.deployed.is_some() && (!marked || renamed_from))
                || (other.deployed.is_none() && skip(&other.path))
            {
                continue;
            }
            let ratio = similarity(&self.content(side.id)?, &self.content(other.id)?);
            if ratio >= self.threshold - 1e-9 && !self.code_alike(&change.path, side.id, other.id)? {
                continue;
            }
            let in_release = other.deployed.is_none();
            let better = best.is_none_or(|(_, b, b_in_release)| {
                ratio > b + 1e-9 || (ratio > b - 1e-9 && in_release && !b_in_release)
            });
            if ratio >= self.threshold - 1e-9 && better {
                best = Some((candidate.doc, ratio, in_release));
            }
        }
        Ok(match best {
            Some((doc, ratio, _)) => {
                let other = self.other(doc)?;
                if capped {
                    Match::Capped { other: Some(other), ratio }
                } else {
                    // The same blob as a file the release removes or rewrites is a copy of it.
                    let identical = other.id == side.id;
                    Match::Found { other, ratio, identical }
                }
            }
            None if capped => Match::Capped { other: None, ratio: 0.0 },
            None => Match::None,
        })
    }

    /// Whether `change` is a whole script's name with a marker after it (`deploy.sh~`,
    /// `deploy.sh.orig`, `run.py.bak`): a copy of a script, of the scripts class as its original
    /// is, though its own name matches no script pattern.
    fn marked_script(&self, change: &Change) -> bool {
        let name = file_name(&change.path);
        let Some(variant) = variant_of(name, &Markers::builtin()) else { return false };
        let whole = name.starts_with(&variant.original) && name.len() > variant.original.len();
        let dir = dir_name(&change.path);
        let original = if dir.is_empty() { variant.original.clone() } else { format!("{dir}/{}", variant.original) };
        whole
            && self.cx.policy.paths.scripts.matches(&original)
            && coverage::deployable(self.cx.policy, &change.path)
            && change.status != Status::Deleted
    }

    /// When the pair is one file name in two directories, and at least [`LAYOUT_DIRS`] other
    /// directories of the release have a file of that name too: the file each package of a layout
    /// has (vcpkg's `ports/*/portfile.cmake`, a `main.go` per command, a `Dockerfile` per
    /// service), alike by design. Returns how many other directories have it. A distinctive name
    /// in two places (`bin/search.sh` and `tools/search.sh`) is not a layout.
    fn layout(&self, change: &Change, other: &Other) -> Result<Option<usize>> {
        let name = file_name(&change.path);
        if name != file_name(&other.path) || dir_name(&change.path) == dir_name(&other.path) {
            return Ok(None);
        }
        // A directory named like a copy (`search-v2/run.sh`) is a copy, whatever the layout.
        let markers = Markers::builtin();
        if change.path.split('/').any(|part| variant_of(part, &markers).is_some()) {
            return Ok(None);
        }
        let others =
            self.cx.analysis.tree()?.named(name).filter(|f| f.path != change.path && f.path != other.path).count();
        Ok((others >= LAYOUT_DIRS).then_some(others))
    }

    fn finding(
        &self,
        change: &Change,
        other: &Other,
        ratio: f64,
        identical: bool,
        severity: Severity,
    ) -> Result<Finding> {
        let (diff, changed) = match (identical, &change.new) {
            (false, Some(side)) => {
                compact_diff(&self.content(other.id)?, &self.content(side.id)?, self.settings.diff_lines)
            }
            _ => (Vec::new(), 0),
        };
        // A copy of code blocks when nothing tests it; a copy of configuration or a template
        // (per-environment manifests, views) is alike by design and warns.
        let tested = self.cx.analysis.is_tested(&change.path)?;
        let untested = !tested && (coverage::in_scope(self.cx.policy, change) || self.marked_script(change));
        let names = strsim::normalized_levenshtein(file_name(&change.path), file_name(&other.path));
        let shown = match other.deployed {
            Some(fate) => format!("{} as the last deploy had it ({fate})", other.path),
            None => other.path.clone(),
        };
        let mut message = if identical {
            format!("an exact copy of {shown} (file names {}% alike)", percent(names))
        } else {
            let differs = match changed {
                0 => "differs only in blank lines and indentation".to_string(),
                1 => "differs in 1 line".to_string(),
                n => format!("differs in {n} lines"),
            };
            format!("{}% similar to {shown} (file names {}% alike); {differs}", percent(ratio), percent(names))
        };
        if untested {
            message.push_str(", and no test covers it");
        }
        let layout = self.layout(change, other)?;
        if let Some(others) = layout {
            message.push_str(&format!(
                "; {others} other directories have a {} too: a file each package of a layout has, so it warns",
                file_name(&change.path)
            ));
        }
        let help = match other.deployed {
            Some(_) => format!(
                "if it is the old {} kept for safety, keep it out of the release; if both must ship, test the new one \
                 and waive: gate waive {ID} --path {} --reason \"...\" --expires YYYY-MM-DD",
                file_name(&other.path),
                change.path
            ),
            None => format!(
                "if it replaces {}, remove the original in this release; if both must ship, test the new one and waive: \
                 gate waive {ID} --path {} --reason \"...\" --expires YYYY-MM-DD",
                file_name(&other.path),
                change.path
            ),
        };
        let severity = if untested && layout.is_none() { severity.max(self.settings.when_untested) } else { severity };
        let code = if identical { "exact-copy" } else { "near-copy" };
        let diff_more = changed.saturating_sub(diff.len());
        Ok(Finding::new(ID, code, severity, message, help).at(&change.path).about(&other.path).with_data(
            FindingData::Pair {
                other: other.path.clone(),
                similarity: round3(ratio),
                name_similarity: round3(names),
                identical,
                diff,
                diff_more,
                tested,
            },
        ))
    }
}

/// Whether a file can be compared, or why not.
fn comparable(facts: &Facts, settings: &DuplicateSettings) -> std::result::Result<(), String> {
    match facts.kind {
        ContentKind::Binary => Err("binary".to_string()),
        ContentKind::Unread => Err(format!("{} bytes, too large to read", facts.size)),
        ContentKind::Text if facts.size > settings.max_bytes => {
            Err(format!("{} bytes, over max-bytes ({})", facts.size, settings.max_bytes))
        }
        ContentKind::Text if facts.lines < settings.min_lines => Err(format!(
            "{} line{}, under min-lines ({})",
            facts.lines,
            if facts.lines == 1 { "" } else { "s" },
            settings.min_lines
        )),
        ContentKind::Text => Ok(()),
    }
}

/// What the release does to a file of the last deploy that an added file is compared with.
const FATES: [&str; 3] = ["this release removes it", "this release renames it", "this release rewrites it"];

/// The fingerprint of the matches kept under the release tree: the base tree (whose files the
/// release removes, renames or rewrites are compared), the settings and the path classes.
fn kept_key(cx: &Context<'_>, settings: &DuplicateSettings) -> u64 {
    let base = cx.range.base.tree.map(|t| t.as_bytes().to_vec()).unwrap_or_default();
    let settings = format!("{settings:?}");
    let mut parts: Vec<&[u8]> = vec![&base, settings.as_bytes()];
    parts.extend(memo::class_parts(&cx.policy.paths));
    memo::fingerprint(ID, &parts)
}

/// The matches of a run's added files, in their order.
const MATCHES: Codec<Vec<Match>> = Codec { encode: encode_matches, decode: decode_matches };

const MATCHES_TAG: u8 = 0xd1;

fn encode_matches(matches: &Vec<Match>) -> Vec<u8> {
    let mut out = vec![MATCHES_TAG];
    put_u32(&mut out, matches.len() as u32);
    let put_other = |out: &mut Vec<u8>, other: &Other| {
        put_text16(out, &other.path);
        put_oid(out, &other.id);
        out.push(other.deployed.and_then(|fate| FATES.iter().position(|f| *f == fate)).map_or(0, |i| i as u8 + 1));
    };
    for found in matches {
        match found {
            Match::None => out.push(0),
            Match::BinaryCopy => out.push(1),
            Match::NotAnalysed(reason) => {
                out.push(2);
                put_text16(&mut out, reason);
            }
            Match::Found { other, ratio, identical } => {
                out.push(3);
                put_other(&mut out, other);
                out.extend_from_slice(&ratio.to_bits().to_le_bytes());
                out.push(u8::from(*identical));
            }
            Match::Capped { other, ratio } => {
                out.push(4);
                out.push(u8::from(other.is_some()));
                if let Some(other) = other {
                    put_other(&mut out, other);
                }
                out.extend_from_slice(&ratio.to_bits().to_le_bytes());
            }
        }
    }
    out
}

fn decode_matches(bytes: &[u8]) -> Option<Vec<Match>> {
    let mut r = Reader::new(bytes.strip_prefix(&[MATCHES_TAG])?);
    let take_other = |r: &mut Reader<'_>| {
        let (path, id) = (r.text16()?, r.oid()?);
        let deployed = match r.take(1)?[0] {
            0 => None,
            i => Some(*FATES.get(i as usize - 1)?),
        };
        Some(Other { path, id, deployed })
    };
    let ratio = |r: &mut Reader<'_>| Some(f64::from_bits(u64::from_le_bytes(r.take(8)?.try_into().ok()?)));
    let mut matches = Vec::new();
    for _ in 0..r.u32()? {
        matches.push(match r.take(1)?[0] {
            0 => Match::None,
            1 => Match::BinaryCopy,
            2 => Match::NotAnalysed(r.text16()?),
            3 => Match::Found { other: take_other(&mut r)?, ratio: ratio(&mut r)?, identical: r.take(1)?[0] == 1 },
            4 => {
                let other = match r.take(1)?[0] {
                    0 => None,
                    _ => Some(take_other(&mut r)?),
                };
                Match::Capped { other, ratio: ratio(&mut r)? }
            }
            _ => return None,
        });
    }
    r.is_empty().then_some(matches)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_matches_decode_to_what_was_encoded() {
        let id = git2::Oid::from_bytes(&[7; 20]).unwrap();
        let other = |deployed| Other { path: "bin/search.sh".to_string(), id, deployed };
        let matches = vec![
            Match::None,
            Match::BinaryCopy,
            Match::NotAnalysed("binary".to_string()),
            Match::Found { other: other(None), ratio: 0.875, identical: false },
            Match::Found { other: other(Some(FATES[1])), ratio: 1.0, identical: true },
            Match::Capped { other: None, ratio: 0.0 },
            Match::Capped { other: Some(other(Some(FATES[2]))), ratio: 0.9 },
        ];
        let bytes = (MATCHES.encode)(&matches);
        let back = (MATCHES.decode)(&bytes).unwrap();
        assert_eq!(format!("{back:?}"), format!("{matches:?}"));
        assert!((MATCHES.decode)(&bytes[..bytes.len() - 1]).is_none());
        assert!((MATCHES.decode)(&[bytes.as_slice(), &[0]].concat()).is_none());
    }
}
