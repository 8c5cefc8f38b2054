//! `near-duplicate`: an added file is a copy, or nearly, of another file of the release.
//!
//! Incident 000's author asked for exactly this: mark similar scripts and show how they are alike
//! and how they differ, so an untested copy does not ship by accident. The search is indexed
//! (see `analysis::similarity`): it finds every pair at or above the threshold without
//! comparing every pair.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Deserialize;

use super::{Check, Context, Doc, Finding, FindingData, NotAnalysed, Output, percent, round3};
use crate::Result;
use crate::analysis::Needs;
use crate::analysis::similarity::{Doc as IndexDoc, LineIndex, compact_diff, similarity};
use crate::config::Severity;
use crate::config::{Problem, Settings};
use crate::git::{Change, ContentKind, Facts, Mode, Status, file_name};

pub struct NearDuplicate;

const ID: &str = "near-duplicate";

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
          its own tests. One that no test covers blocks.",
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
        let search = Search::new(cx, settings)?;
        let mut matches: Vec<(&Change, Match)> = Vec::new();
        for change in subjects {
            matches.push((change, search.best_match(change)?));
        }
        // When two files added together resemble each other most, one finding says it: the one
        // on the path that sorts later, which is usually the copy (`x_2` after `x`).
        let best_of: HashMap<&str, &str> =
            matches.iter().filter_map(|(change, m)| m.other().map(|other| (change.path.as_str(), other))).collect();
        for (change, found) in &matches {
            match found {
                Match::None => {}
                Match::NotAnalysed(reason) => {
                    out.not_analysed.push(NotAnalysed { check: ID, path: change.path.clone(), reason: reason.clone() });
                }
                Match::Found { other, .. } | Match::Capped { other, .. }
                    if best_of.get(other.as_str()) == Some(&change.path.as_str()) && change.path < *other => {}
                Match::Found { other, ratio, identical } => {
                    out.findings.push(search.finding(change, other, *ratio, *identical, severity)?);
                }
                Match::Capped { other, ratio } => {
                    out.notes.push(format!(
                        "{ID}: {} has more candidates than max-comparisons ({}); {}",
                        change.path,
                        settings.max_comparisons,
                        if other.is_empty() {
                            "none of those compared was similar enough"
                        } else {
                            "the best match found is reported"
                        }
                    ));
                    if !other.is_empty() {
                        out.findings.push(search.finding(change, other, *ratio, false, severity)?);
                    }
                }
            }
        }
        Ok(())
    }
}

/// What the search found for one added file.
enum Match {
    None,
    NotAnalysed(String),
    Found {
        other: String,
        ratio: f64,
        identical: bool,
    },
    /// The comparison cap was reached; `other` is the best found, if any (empty if none).
    Capped {
        other: String,
        ratio: f64,
    },
}

impl Match {
    fn other(&self) -> Option<&str> {
        match self {
            Match::Found { other, .. } | Match::Capped { other, .. } if !other.is_empty() => Some(other),
            _ => None,
        }
    }
}

struct Search<'c, 'a> {
    cx: &'c Context<'a>,
    settings: &'c DuplicateSettings,
    index: LineIndex,
    threshold: f64,
    /// Contents read for exact comparison, by blob id.
    contents: std::cell::RefCell<HashMap<git2::Oid, Arc<Vec<u8>>>>,
}

impl<'c, 'a> Search<'c, 'a> {
    /// Indexes every text file of the release that is neither ignored nor out of bounds.
    fn new(cx: &'c Context<'a>, settings: &'c DuplicateSettings) -> Result<Self> {
        let tree = cx.analysis.tree()?;
        let mut docs = Vec::new();
        for (position, file) in tree.files().iter().enumerate() {
            if !matches!(file.mode, Mode::File | Mode::Executable) || cx.policy.paths.ignore.matches(&file.path) {
                continue;
            }
            let Some(facts) = cx.analysis.store.known_facts(file.id) else { continue };
            if comparable(&facts, settings).is_ok() {
                docs.push(IndexDoc { file: position, facts });
            }
        }
        Ok(Search {
            cx,
            settings,
            index: LineIndex::build(docs),
            threshold: *settings.threshold.get_ref(),
            contents: std::cell::RefCell::default(),
        })
    }

    fn content(&self, id: git2::Oid) -> Result<Arc<Vec<u8>>> {
        if let Some(content) = self.contents.borrow().get(&id) {
            return Ok(content.clone());
        }
        let content = Arc::new(self.cx.analysis.store.content(id)?);
        self.contents.borrow_mut().insert(id, content.clone());
        Ok(content)
    }

    /// The file of the release `change` most resembles, at or above the threshold.
    fn best_match(&self, change: &Change) -> Result<Match> {
        let tree = self.cx.analysis.tree()?;
        let Some(side) = &change.new else { return Ok(Match::None) };
        let facts = self.cx.analysis.store.facts(side.id)?;
        let comparable = comparable(&facts, self.settings);
        // An exact copy needs no content comparison: the same blob id at another path. Copies
        // of tiny files (empty `__init__.py`) are not worth a finding.
        let tiny = facts.kind == ContentKind::Text && facts.lines < self.settings.min_lines;
        let mut copies: Vec<&str> =
            tree.with_blob(side.id).map(|f| f.path.as_str()).filter(|p| *p != change.path).collect();
        copies.sort_by_key(|p| (std::cmp::Reverse((strsim::normalized_levenshtein(p, &change.path) * 1e6) as i64), *p));
        if let Some(original) = copies.first().filter(|_| !tiny) {
            return Ok(Match::Found { other: original.to_string(), ratio: 1.0, identical: true });
        }
        if let Err(reason) = comparable {
            return Ok(Match::NotAnalysed(reason));
        }
        let candidates = self.index.candidates(&facts, self.threshold, tree.position(&change.path));
        let mut best: Option<(usize, f64)> = None;
        let mut capped = false;
        for (compared, candidate) in candidates.into_iter().enumerate() {
            if best.is_some_and(|(_, ratio)| ratio >= candidate.bound) {
                break;
            }
            if compared >= self.settings.max_comparisons as usize {
                capped = true;
                break;
            }
            let other = &tree.files()[self.index.doc(candidate.doc).file];
            let ratio = similarity(&self.content(side.id)?, &self.content(other.id)?);
            if ratio >= self.threshold - 1e-9 && best.is_none_or(|(_, b)| ratio > b) {
                best = Some((candidate.doc, ratio));
            }
        }
        Ok(match best {
            Some((doc, ratio)) => {
                let other = tree.files()[self.index.doc(doc).file].path.clone();
                if capped { Match::Capped { other, ratio } } else { Match::Found { other, ratio, identical: false } }
            }
            None if capped => Match::Capped { other: String::new(), ratio: 0.0 },
            None => Match::None,
        })
    }

    fn finding(
        &self,
        change: &Change,
        other: &str,
        ratio: f64,
        identical: bool,
        severity: Severity,
    ) -> Result<Finding> {
        let (diff, changed) = match (identical, &change.new, self.cx.analysis.tree()?.get(other)) {
            (false, Some(side), Some(original)) => {
                compact_diff(&self.content(original.id)?, &self.content(side.id)?, self.settings.diff_lines)
            }
            _ => (Vec::new(), 0),
        };
        let untested = self.cx.analysis.is_untested(change)?;
        let names = strsim::normalized_levenshtein(file_name(&change.path), file_name(other));
        let mut message = if identical {
            format!("an exact copy of {other} (file names {}% alike)", percent(names))
        } else {
            let differs = match changed {
                0 => "differs only in blank lines and indentation".to_string(),
                1 => "differs in 1 line".to_string(),
                n => format!("differs in {n} lines"),
            };
            format!("{}% similar to {other} (file names {}% alike); {differs}", percent(ratio), percent(names))
        };
        if untested {
            message.push_str(", and no test covers it");
        }
        let help = format!(
            "if it replaces {}, remove the original in this release; if both must ship, test the new one and waive: \
             gate waive {ID} --path {} --reason \"...\" --expires YYYY-MM-DD",
            file_name(other),
            change.path
        );
        let severity = if untested { severity.max(self.settings.when_untested) } else { severity };
        let code = if identical { "exact-copy" } else { "near-copy" };
        let diff_more = changed.saturating_sub(diff.len());
        Ok(Finding::new(ID, code, severity, message, help).at(&change.path).about(other).with_data(FindingData::Pair {
            other: other.to_string(),
            similarity: round3(ratio),
            name_similarity: round3(names),
            identical,
            diff,
            diff_more,
            tested: !untested,
        }))
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
