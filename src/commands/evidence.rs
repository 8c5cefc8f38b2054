//! `gate evidence add` and `gate evidence list`.

use serde::Serialize;

use super::{Io, Outcome};
use crate::cli::{EvidenceAddArgs, EvidenceListArgs, ListFormat};
use crate::evidence::{self, Record};
use crate::git::{Repo, short};
use crate::{Error, Result, time};

pub fn add(args: &EvidenceAddArgs, io: &mut Io<'_>) -> Result<Outcome> {
    evidence::validate_kind(&args.kind)?;
    let repo = Repo::discover()?;
    let now = time::now()?;
    let commit = repo.commit(args.release.as_deref().unwrap_or("HEAD"))?;
    let record =
        evidence::add(&repo, commit.tree_id(), commit.id(), &args.kind, args.detail.clone(), &repo.actor(), now)?;
    writeln!(
        io.out,
        "recorded {} evidence for tree {} (commit {}) by {}\nshare it: git push {} '{}'",
        record.kind,
        short(commit.tree_id()),
        short(commit.id()),
        record.by,
        repo.default_remote(),
        evidence::REFSPEC
    )
    .map_err(|err| Error::io("cannot write", &err))?;
    Ok(Outcome::Pass)
}

#[derive(Serialize)]
struct JsonEvidence<'a> {
    version: u32,
    tree: String,
    commit: String,
    records: &'a [Record],
}

pub fn list(args: &EvidenceListArgs, io: &mut Io<'_>) -> Result<Outcome> {
    let repo = Repo::discover()?;
    let commit = repo.commit(args.release.as_deref().unwrap_or("HEAD"))?;
    let set = evidence::for_tree(&repo, commit.tree_id())?;
    let out = &mut *io.out;
    let written = match args.format {
        ListFormat::Json => {
            let json = JsonEvidence {
                version: crate::report::JSON_VERSION,
                tree: commit.tree_id().to_string(),
                commit: commit.id().to_string(),
                records: &set.records,
            };
            serde_json::to_writer_pretty(&mut *out, &json).map_err(std::io::Error::other).and_then(|()| writeln!(out))
        }
        ListFormat::Human => (|| {
            writeln!(out, "evidence for tree {} (commit {})", short(commit.tree_id()), short(commit.id()))?;
            if set.records.is_empty() {
                return writeln!(out, "  none recorded; add some with: gate evidence add KIND --detail TEXT");
            }
            for record in &set.records {
                let at = record.at().map_or_else(|| record.at.clone(), time::human);
                let detail = record.detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default();
                let other_commit = if record.commit == commit.id().to_string() {
                    String::new()
                } else {
                    format!(" (from commit {})", &record.commit[..10.min(record.commit.len())])
                };
                writeln!(out, "  {:10} {at} by {}{detail}{other_commit}", record.kind, record.by)?;
            }
            Ok(())
        })(),
    };
    written.map_err(|err| Error::io("cannot write the evidence list", &err))?;
    Ok(Outcome::Pass)
}
