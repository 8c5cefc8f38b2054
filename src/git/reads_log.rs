//! `GATE_READS_LOG=FILE`: every blob a run reads, listed in FILE, one id a line, in the order
//! read (a blob read twice is listed twice). It is for benchmarks: `git cat-file --batch` over
//! the sorted, unique list is what reading those blobs, and doing nothing else with them, costs;
//! that is the floor a cold run is measured against (see `scripts/bench.sh`). Unset or empty,
//! nothing is listed and a read costs one look at a `OnceLock`.

use std::fs::File;
use std::io::Write;
use std::sync::{Mutex, OnceLock};

use git2::Oid;

use crate::{Error, Result};

pub const VAR: &str = "GATE_READS_LOG";

static LOG: OnceLock<Option<Mutex<File>>> = OnceLock::new();

/// Opens the file `GATE_READS_LOG` names, to append to, once per process. A file that cannot be
/// opened is an error: a benchmark reading an empty list would time a floor of nothing.
pub fn open() -> Result<()> {
    let Some(path) = std::env::var_os(VAR).filter(|p| !p.is_empty()) else {
        let _ = LOG.set(None);
        return Ok(());
    };
    let file = std::fs::OpenOptions::new().create(true).append(true).open(&path).map_err(|err| {
        Error::with_fix(
            format!("cannot open {} for {VAR}: {err}", std::path::Path::new(&path).display()),
            format!("name a file gate can write in {VAR}, or unset it"),
        )
    })?;
    let _ = LOG.set(Some(Mutex::new(file)));
    Ok(())
}

/// Lists blob `id` as read, when `GATE_READS_LOG` is set (see [`open`]). A write that fails is
/// not a verdict's concern: the list is only ever read by a benchmark, which checks it.
pub(super) fn read(id: Oid) {
    if let Some(Some(log)) = LOG.get()
        && let Ok(mut file) = log.lock()
    {
        let _ = file.write_all(format!("{id}\n").as_bytes());
    }
}
