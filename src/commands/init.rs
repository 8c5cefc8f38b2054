//! `gate init`: write a commented gate.toml.

use std::path::Path;

use super::{Io, Outcome, POLICY_FILE, write_atomically};
use crate::cli::InitArgs;
use crate::git::Repo;
use crate::{Error, Result};

/// The file `gate init` writes. A test loads it to keep it valid.
pub const TEMPLATE: &str = include_str!("init_template.toml");

pub fn run(args: &InitArgs, config: Option<&Path>, io: &mut Io<'_>) -> Result<Outcome> {
    let path = match config {
        Some(path) => path.to_path_buf(),
        None => {
            let repo = Repo::discover()?;
            let root = repo.workdir().ok_or_else(|| {
                Error::with_fix(
                    "a bare repository has no working tree to write gate.toml into",
                    "run gate init in a checkout",
                )
            })?;
            root.join(POLICY_FILE)
        }
    };
    if path.exists() && !args.force {
        return Err(Error::with_fix(format!("{} already exists", path.display()), "pass --force to overwrite it"));
    }
    write_atomically(&path, TEMPLATE.as_bytes())?;
    writeln!(io.out, "wrote {}\nnext: review it, commit it, then run `gate check --env production`", path.display())
        .map_err(|err| Error::io("cannot write", &err))?;
    Ok(Outcome::Pass)
}
