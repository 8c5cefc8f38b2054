//! Evidence: signed-off facts about a release tree (approved by X, backup taken at T), stored as
//! git notes on `refs/notes/gate` and keyed by the tree id.
//!
//! Binding to the tree, not the commit, means a squash or rebase that yields the identical tree
//! keeps its evidence, and any other tree has none. Each note holds one JSON record per line;
//! records are only ever appended.

pub mod junit;

pub use junit::TestSummary;

use git2::Oid;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::git::{Actor, Repo, notes, short};
use crate::{Error, Result, time};

/// The notes ref evidence is written to. Fetch and push it with [`REFSPEC`].
pub const NOTES_REF: &str = "refs/notes/gate";
pub const REFSPEC: &str = "refs/notes/gate:refs/notes/gate";

/// Kinds that other commands write; `gate evidence add` refuses them.
const RESERVED_KINDS: &[(&str, &str)] = &[
    ("deploy", "record deploys with `gate record --env ENV`"),
    ("tests", "test evidence comes from JUnit reports: gate evidence add tests --junit FILE..."),
];

/// One piece of evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub kind: String,
    /// The tree the evidence is for.
    pub tree: String,
    /// The commit it was recorded from (informational: the tree is what binds it).
    pub commit: String,
    pub by: String,
    /// When it was recorded, RFC 3339 in UTC.
    pub at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// For `deploy` records: the environment the tree was deployed to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// For `tests` records: what the JUnit reports said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tests: Option<TestSummary>,
}

impl Record {
    /// A record of `kind` for `tree`, made by `actor` at `at`.
    pub fn new(kind: &str, tree: Oid, commit: Oid, actor: &Actor, at: Timestamp) -> Record {
        Record {
            kind: kind.to_string(),
            tree: tree.to_string(),
            commit: commit.to_string(),
            by: actor.to_string(),
            at: time::iso(at),
            detail: None,
            environment: None,
            tests: None,
        }
    }

    pub fn at(&self) -> Option<Timestamp> {
        self.at.parse().ok()
    }
}

/// The evidence recorded for one tree.
#[derive(Debug, Clone, Default)]
pub struct EvidenceSet {
    pub records: Vec<Record>,
}

impl EvidenceSet {
    /// Records of one kind, oldest first.
    pub fn of_kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Record> + 'a {
        self.records.iter().filter(move |r| r.kind == kind)
    }
}

/// Reads the evidence for `tree`. A note gate cannot read stops the run: evidence that cannot
/// be read is not evidence, and silently ignoring it could hide a failure record.
pub fn for_tree(repo: &Repo, tree: Oid) -> Result<EvidenceSet> {
    let Some(text) = notes::read(repo, NOTES_REF, tree)? else {
        return Ok(EvidenceSet::default());
    };
    let mut records = Vec::new();
    for (index, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let record: Record = serde_json::from_str(line).map_err(|err| {
            Error::with_fix(
                format!("evidence for tree {} is unreadable (line {} of its note: {err})", short(tree), index + 1),
                format!("inspect it with `git notes --ref gate show {tree}`"),
            )
        })?;
        records.push(record);
    }
    Ok(EvidenceSet { records })
}

/// Whether `kind` is a well-formed evidence kind: a kebab-case word.
pub fn is_kind(kind: &str) -> bool {
    kind.len() <= 40
        && kind
            .split('-')
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()))
}

/// Checks that a kind is a kebab-case word that `gate evidence add` may write.
pub fn validate_kind(kind: &str) -> Result<()> {
    if let Some((_, how)) = RESERVED_KINDS.iter().find(|(k, _)| *k == kind) {
        return Err(Error::with_fix(format!("evidence of kind `{kind}` is not added by hand"), *how));
    }
    if !is_kind(kind) {
        return Err(Error::with_fix(
            format!("`{kind}` is not an evidence kind"),
            "use a kebab-case word such as approval or backup",
        ));
    }
    Ok(())
}

/// Appends a record to the evidence of its tree.
pub fn add(repo: &Repo, record: &Record, actor: &Actor, at: Timestamp) -> Result<()> {
    let tree = Oid::from_str(&record.tree).map_err(|err| Error::git("bad tree id in an evidence record", &err))?;
    let line = serde_json::to_string(record).map_err(|err| Error::new(format!("cannot encode evidence: {err}")))?;
    let signature = actor.signature(at)?;
    let message = format!("gate: {} evidence for tree {}", record.kind, short(tree));
    notes::append(repo, NOTES_REF, tree, &format!("{line}\n"), &signature, &message)
}
