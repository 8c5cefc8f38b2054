//! `gate diff`: what would ship.

use std::path::Path;

use serde::Serialize;

use super::{Io, Outcome, Session};
use crate::analysis::config_files;
use crate::checks::{self, VariantPair, variant_pairs};
use crate::cli::{DiffArgs, ListFormat};
use crate::git::{self, BaseSource, BlobStore, Change, Mode, Status, TreeIndex, short};
use crate::report::{self, ConfigChanges};
use crate::{Error, Result};

#[derive(Serialize)]
struct JsonDiff<'a> {
    version: u32,
    environment: Option<&'a str>,
    base: Option<String>,
    release: String,
    base_source: &'a BaseSource,
    changes: &'a [Change],
    /// Added files named like a copy or version of another.
    variants: &'a [VariantPair],
    /// Key-level changes of configuration files (secret values masked).
    config_changes: &'a [ConfigChanges],
}

pub fn run(args: &DiffArgs, config: Option<&Path>, io: &mut Io<'_>) -> Result<Outcome> {
    let Session { repo, policy, range } = Session::open(&args.range, config)?;
    let store = BlobStore::open(&repo);
    let (changes, tree) = git::changes(&repo, &range, &store, None)?;
    let variants = match (changes.adds_paths(), tree) {
        (true, Some(tree)) => variant_pairs(&policy, &tree, &changes)?,
        (true, None) => variant_pairs(&policy, &TreeIndex::build(&repo, range.release.tree)?, &changes)?,
        (false, _) => Vec::new(),
    };
    let config_files = config_files::read(&policy, &changes, &store, checks::needs(&policy).config_max_bytes)?;
    let config_changes = report::config_changes(&policy, &config_files);
    store.save();
    let out = &mut *io.out;
    let written = match args.format {
        ListFormat::Json => {
            let json = JsonDiff {
                version: crate::report::JSON_VERSION,
                environment: range.environment.as_deref(),
                base: range.base.commit.map(|c| c.to_string()),
                release: range.release.commit.to_string(),
                base_source: &range.base.source,
                changes: &changes.changes,
                variants: &variants,
                config_changes: &config_changes,
            };
            serde_json::to_writer_pretty(&mut *out, &json).map_err(std::io::Error::other).and_then(|()| writeln!(out))
        }
        ListFormat::Human => write_human(&range, &changes.changes, &variants, out)
            .and_then(|()| crate::report::human::write_key_changes(&config_changes, out)),
    };
    written.map_err(|err| Error::io("cannot write the diff", &err))?;
    Ok(Outcome::Pass)
}

fn write_human(
    range: &git::Range,
    changes: &[Change],
    variants: &[VariantPair],
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let base = match &range.base.source {
        BaseSource::Argument { rev } => format!("{} (--base {rev})", range.base.commit.map(short).unwrap_or_default()),
        BaseSource::LastDeploy { deploy } => format!("{}  last deploy of {}", short(deploy.commit), deploy.environment),
        BaseSource::FirstDeploy { reason } => {
            format!("none ({reason}): everything in the release is new")
        }
    };
    writeln!(out, "release  {}  {}", short(range.release.commit), range.release.rev)?;
    writeln!(out, "base     {base}")?;
    writeln!(out)?;
    for change in changes {
        let path = match &change.old_path {
            Some(old) => format!("{old} -> {}", change.path),
            None => change.path.clone(),
        };
        let variant = match variants.iter().find(|v| v.path == change.path) {
            Some(VariantPair { original: Some(original), marker, .. }) => {
                format!("  <- variant of {original} (marker `{marker}`)")
            }
            Some(VariantPair { marker, .. }) => format!("  <- named like a variant (marker `{marker}`), no original"),
            None => String::new(),
        };
        writeln!(out, "{}  {path}{}{variant}", change.status.letter(), annotations(change))?;
    }
    let count = |status: Status| changes.iter().filter(|c| c.status == status).count();
    writeln!(
        out,
        "\n{} file{} would ship: {} added, {} modified, {} deleted, {} renamed, {} copied, {} changed type",
        changes.len(),
        if changes.len() == 1 { "" } else { "s" },
        count(Status::Added),
        count(Status::Modified),
        count(Status::Deleted),
        count(Status::Renamed),
        count(Status::Copied),
        count(Status::TypeChanged),
    )
}

/// `(executable, binary, 12.0 KiB)`: what is notable about the shipped side of a change.
fn annotations(change: &Change) -> String {
    let side = change.current();
    let mut notes = Vec::new();
    if let (Some(old), Some(new)) = (&change.old, &change.new)
        && old.mode != new.mode
    {
        notes.push(format!("{} -> {}", mode_name(old.mode), mode_name(new.mode)));
    } else if side.mode != Mode::File {
        notes.push(mode_name(side.mode).to_string());
    }
    if change.binary {
        notes.push("binary".to_string());
    }
    if side.mode != Mode::Submodule {
        notes.push(size(side.size));
    }
    format!("  ({})", notes.join(", "))
}

fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::File => "file",
        Mode::Executable => "executable",
        Mode::Symlink => "symlink",
        Mode::Submodule => "submodule",
    }
}

fn size(bytes: u64) -> String {
    match bytes {
        0..1024 => format!("{bytes} B"),
        1024..1_048_576 => format!("{:.1} KiB", bytes as f64 / 1024.0),
        _ => format!("{:.1} MiB", bytes as f64 / 1_048_576.0),
    }
}
