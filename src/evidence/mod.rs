//! Evidence: signed-off facts about a release tree (approved by X, backup taken at T), stored as
//! git notes on `refs/notes/gate` and keyed by the tree id.
//!
//! Binding to the tree, not the commit, means a squash or rebase that yields the identical tree
//! keeps its evidence, and any other tree has none. Each note holds one JSON record per line;
//! records are only ever appended.

pub mod junit;
pub mod signing;
pub mod trust;

pub use junit::TestSummary;
pub use trust::{Rejected, Vetted};

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
    ("waiver", "record waivers with `gate waive CHECK --path P --reason R --expires D`"),
];

/// What the signature of a record covers starts with this line, so a signature made for
/// anything else (a commit, another tool's file) never verifies as evidence.
pub const PAYLOAD_HEADER: &str = "gate-evidence-v1\n";

/// What an approval approves: one approval does not cover every exception at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Purpose {
    /// A change to the gate policy (`policy-change`).
    PolicyChange,
    /// A deploy inside a freeze window or outside the deploy hours (`freeze-window`).
    Freeze,
    /// A change to a high-risk setting (`config-risk`).
    ConfigRisk,
    /// A release with nothing to roll back to, or not descending from it (`rollback-ready`).
    Rollback,
    /// Everything above, said explicitly.
    All,
}

impl Purpose {
    pub const ALL: [Purpose; 5] =
        [Purpose::PolicyChange, Purpose::Freeze, Purpose::ConfigRisk, Purpose::Rollback, Purpose::All];

    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::PolicyChange => "policy-change",
            Purpose::Freeze => "freeze",
            Purpose::ConfigRisk => "config-risk",
            Purpose::Rollback => "rollback",
            Purpose::All => "all",
        }
    }

    pub fn parse(text: &str) -> Option<Purpose> {
        Purpose::ALL.into_iter().find(|p| p.as_str() == text)
    }

    /// Whether an approval for `self` approves `wanted`.
    pub fn covers(self, wanted: Purpose) -> bool {
        self == Purpose::All || self == wanted
    }
}

impl std::fmt::Display for Purpose {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The waiver a `waiver` record carries (its reason is the record's `detail`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaiverTerms {
    pub check: String,
    pub path: String,
    /// Last day it applies, `YYYY-MM-DD`.
    pub expires: String,
}

/// What a command that produced the evidence did (`gate evidence add KIND -- COMMAND`, the
/// deploy command of `gate deploy`). Only a command that succeeded leaves a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CommandRun {
    /// The program as given; its arguments are not kept, since they may hold secrets.
    pub program: String,
    /// Its exit status.
    pub exit: i32,
    /// How long it ran, in milliseconds.
    pub duration_ms: u64,
}

impl CommandRun {
    /// `./backup.sh, exit 0 after 1.2s`.
    pub fn describe(&self) -> String {
        let elapsed = if self.duration_ms < 60_000 {
            format!("{:.1}s", self.duration_ms as f64 / 1000.0)
        } else {
            time::duration(jiff::SignedDuration::from_millis(i64::try_from(self.duration_ms).unwrap_or(i64::MAX)))
        };
        format!("{}, exit {} after {elapsed}", self.program, self.exit)
    }
}

/// One piece of evidence, parsed: ids are object ids and the time is a timestamp, so every
/// comparison ("newest", "older than") is made on values, never on text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub kind: String,
    /// The tree the evidence is for.
    pub tree: Oid,
    /// The commit it was recorded from (informational: the tree is what binds it).
    pub commit: Oid,
    pub by: String,
    /// When it was recorded.
    pub at: Timestamp,
    pub detail: Option<String>,
    /// For `deploy` records: the environment the tree was deployed to.
    pub environment: Option<String>,
    /// For `tests` records: what the JUnit reports said.
    pub tests: Option<TestSummary>,
    /// For `approval` records: what is approved.
    pub approves: Option<Purpose>,
    /// For `waiver` records: the check and path waived, and until when.
    pub waiver: Option<WaiverTerms>,
    /// For `deploy` records: the reason given when the deploy was recorded past a blocking
    /// check (`gate record --force --reason`).
    pub forced: Option<String>,
    /// For evidence a command produced: what ran, its exit status and how long it took.
    pub run: Option<CommandRun>,
    /// Written while `GATE_NOW` set the clock: its time is not the real time.
    pub clock_overridden: bool,
    /// The SSHSIG signature (armored), when the record is signed.
    pub signature: Option<String>,
    /// What the signature covers: [`PAYLOAD_HEADER`] and the record's line without its
    /// signature, exactly as stored.
    pub payload: String,
    /// Set by [`trust::vet`]: the principal whose key signed the record, when it verified.
    pub signer: Option<String>,
}

/// A record as it is stored: one JSON object a line of the tree's note.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredRecord {
    kind: String,
    tree: String,
    commit: String,
    by: String,
    /// RFC 3339 in UTC.
    at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    environment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tests: Option<TestSummary>,
    #[serde(default, rename = "for", skip_serializing_if = "Option::is_none")]
    approves: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    waiver: Option<WaiverTerms>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    forced: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    run: Option<CommandRun>,
    /// `overridden` when `GATE_NOW` set the clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    clock: Option<String>,
    /// Last, so that the signed payload is the line with this field cut off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    signature: Option<String>,
}

impl Serialize for Record {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        StoredRecord::from(self).serialize(s)
    }
}

impl From<&Record> for StoredRecord {
    fn from(record: &Record) -> StoredRecord {
        StoredRecord {
            kind: record.kind.clone(),
            tree: record.tree.to_string(),
            commit: record.commit.to_string(),
            by: record.by.clone(),
            at: time::iso(record.at),
            detail: record.detail.clone(),
            environment: record.environment.clone(),
            tests: record.tests.clone(),
            approves: record.approves.map(|p| p.as_str().to_string()),
            waiver: record.waiver.clone(),
            forced: record.forced.clone(),
            run: record.run.clone(),
            clock: record.clock_overridden.then(|| CLOCK_OVERRIDDEN.to_string()),
            signature: record.signature.clone(),
        }
    }
}

/// The `clock` of a record written under `GATE_NOW`.
const CLOCK_OVERRIDDEN: &str = "overridden";

impl StoredRecord {
    /// What a signature of this record covers.
    fn payload(&self) -> String {
        let unsigned = StoredRecord { signature: None, ..self.clone() };
        let line = serde_json::to_string(&unsigned).unwrap_or_default();
        format!("{PAYLOAD_HEADER}{line}")
    }
}

impl StoredRecord {
    /// The record, or what is wrong with it.
    fn parse(self) -> std::result::Result<Record, String> {
        if !crate::config::is_evidence_kind(&self.kind) {
            return Err(format!("`{}` is not an evidence kind", self.kind));
        }
        let id = |what: &str, text: &str| {
            Oid::from_str(text)
                .ok()
                .filter(|id| text.len() >= 40 && !id.is_zero())
                .ok_or_else(|| format!("its {what} `{text}` is not an object id"))
        };
        let at = parse_time(&self.at)?;
        let approves = match &self.approves {
            None => None,
            Some(text) => {
                Some(Purpose::parse(text).ok_or_else(|| format!("it approves `{text}`, which is not a purpose"))?)
            }
        };
        let clock_overridden = match self.clock.as_deref() {
            None => false,
            Some(CLOCK_OVERRIDDEN) => true,
            Some(other) => return Err(format!("its clock `{other}` is not `{CLOCK_OVERRIDDEN}`")),
        };
        let payload = self.payload();
        Ok(Record {
            kind: self.kind,
            tree: id("tree", &self.tree)?,
            commit: id("commit", &self.commit)?,
            by: self.by,
            at,
            detail: self.detail,
            environment: self.environment,
            tests: self.tests,
            approves,
            waiver: self.waiver,
            forced: self.forced,
            run: self.run,
            clock_overridden,
            signature: self.signature,
            payload,
            signer: None,
        })
    }
}

/// A record's time: RFC 3339 with an offset, nothing looser. A time past the last instant a
/// timestamp holds (`9999-12-31T00:00:00Z`) reads as that instant: far in the future, which the
/// vetting rejects, rather than unreadable.
fn parse_time(text: &str) -> std::result::Result<Timestamp, String> {
    text.parse::<Timestamp>().or_else(|_| {
        let far = text.strip_suffix('Z').and_then(|t| t.parse::<jiff::civil::DateTime>().ok());
        match far {
            Some(datetime) if datetime.year() >= 9999 => Ok(Timestamp::MAX),
            _ => Err(format!("its time `{text}` is not an RFC 3339 timestamp")),
        }
    })
}

impl Record {
    /// A record of `kind` for `tree`, made by `actor` at `at`. A record made while `GATE_NOW`
    /// sets the clock says so.
    pub fn new(kind: &str, tree: Oid, commit: Oid, actor: &Actor, at: Timestamp) -> Record {
        Record {
            kind: kind.to_string(),
            tree,
            commit,
            by: actor.to_string(),
            at,
            detail: None,
            environment: None,
            tests: None,
            approves: None,
            waiver: None,
            forced: None,
            run: None,
            clock_overridden: time::clock_overridden(),
            signature: None,
            payload: String::new(),
            signer: None,
        }
    }

    /// What a signature of this record covers: [`PAYLOAD_HEADER`] and its line without the
    /// signature.
    pub fn signing_payload(&self) -> String {
        StoredRecord::from(self).payload()
    }

    /// The e-mail address of `by` (`Name <a@b>`), or `by` itself, lowercased: who an unsigned
    /// record says wrote it.
    pub fn claimed_email(&self) -> String {
        email_of(&self.by)
    }

    /// Who made the record, as the report names them: the verified signer, or who it claims.
    pub fn who(&self) -> String {
        match &self.signer {
            Some(signer) => format!("{signer} (signed)"),
            None => self.by.clone(),
        }
    }
}

/// The address in `Name <a@b>`, or the whole text, lowercased.
pub fn email_of(text: &str) -> String {
    let inner = text.rsplit_once('<').and_then(|(_, rest)| rest.split_once('>')).map_or(text, |(addr, _)| addr);
    inner.trim().to_lowercase()
}

/// The evidence recorded for one tree.
#[derive(Debug, Clone, Default)]
pub struct EvidenceSet {
    pub records: Vec<Record>,
}

impl EvidenceSet {
    /// Records of one kind, in the order they were appended.
    pub fn of_kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Record> + 'a {
        self.records.iter().filter(move |r| r.kind == kind)
    }

    /// The newest record of one kind by its parsed time; of records with the same time, the
    /// one appended last.
    pub fn newest(&self, kind: &str) -> Option<&Record> {
        self.newest_where(kind, |_| true)
    }

    /// The newest record of one kind that `keep` accepts.
    pub fn newest_where(&self, kind: &str, keep: impl Fn(&Record) -> bool) -> Option<&Record> {
        self.records.iter().filter(|r| r.kind == kind && keep(r)).fold(None, |best: Option<&Record>, r| match best {
            Some(b) if b.at > r.at => Some(b),
            _ => Some(r),
        })
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
        let unreadable = |why: String| {
            Error::with_fix(
                format!("evidence for tree {} is unreadable (line {} of its note: {why})", short(tree), index + 1),
                format!(
                    "inspect it with `git notes --ref gate show {tree}` and remove the line (`git notes --ref gate edit {tree}`)"
                ),
            )
        };
        let stored: StoredRecord = serde_json::from_str(line).map_err(|err| unreadable(err.to_string()))?;
        let record = stored.parse().map_err(unreadable)?;
        records.push(record);
    }
    Ok(EvidenceSet { records })
}

/// Checks that a kind is a kebab-case word that `gate evidence add` may write.
pub fn validate_kind(kind: &str) -> Result<()> {
    if let Some((_, how)) = RESERVED_KINDS.iter().find(|(k, _)| *k == kind) {
        return Err(Error::with_fix(format!("evidence of kind `{kind}` is not added by hand"), *how));
    }
    if !crate::config::is_evidence_kind(kind) {
        return Err(Error::with_fix(
            format!("`{kind}` is not an evidence kind"),
            "use a kebab-case word such as approval or backup",
        ));
    }
    Ok(())
}

/// Appends a record to the evidence of its tree.
pub fn add(repo: &Repo, record: &Record, actor: &Actor, at: Timestamp) -> Result<()> {
    let tree = record.tree;
    let line = serde_json::to_string(record).map_err(|err| Error::new(format!("cannot encode evidence: {err}")))?;
    let signature = actor.signature(at)?;
    let message = format!("gate: {} evidence for tree {}", record.kind, short(tree));
    notes::append(repo, NOTES_REF, tree, &format!("{line}\n"), &signature, &message)
}
