//! `gate sync [REMOTE]`: share the ledger and evidence with a remote.
//!
//! Fetches `refs/gate/*` and `refs/notes/gate`, merges them with the local ones (evidence as a
//! union of records, each ledger without dropping an entry) and pushes the result, again from
//! the fetch when the remote moved meanwhile.

use super::{Io, Outcome};
use crate::cli::SyncArgs;
use crate::git::{Repo, sync};
use crate::{Error, Result, evidence};

pub fn run(args: &SyncArgs, io: &mut Io<'_>) -> Result<Outcome> {
    let repo = Repo::discover()?;
    let remote = args.remote.clone().unwrap_or_else(|| repo.default_remote());
    let synced = sync::sync(&repo, &remote, evidence::NOTES_REF, !args.no_push)?;
    let out = &mut *io.out;
    let written = (|| {
        if synced.is_empty() {
            return writeln!(out, "nothing to sync: no ledger or evidence here or on {remote}");
        }
        let how = if args.no_push { "fetched from" } else { "synced with" };
        writeln!(out, "{how} {remote}:")?;
        let width = synced.iter().map(|s| s.refname.len()).max().unwrap_or(0);
        for ref_synced in &synced {
            writeln!(out, "  {:width$}  {}", ref_synced.refname, ref_synced.what)?;
        }
        Ok(())
    })();
    written.map_err(|err| Error::io("cannot write", &err))?;
    Ok(Outcome::Pass)
}
