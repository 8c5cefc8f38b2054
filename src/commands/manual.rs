//! `gate completions SHELL` and `gate man`: generated from the command line definition, so they
//! never drift from `gate --help`.

use clap::CommandFactory;

use super::{Io, Outcome};
use crate::cli::{Cli, CompletionsArgs};
use crate::{Error, Result};

pub fn completions(args: &CompletionsArgs, io: &mut Io<'_>) -> Result<Outcome> {
    let mut command = Cli::command();
    clap_complete::generate(args.shell, &mut command, "gate", &mut *io.out);
    Ok(Outcome::Pass)
}

pub fn man(io: &mut Io<'_>) -> Result<Outcome> {
    let page = clap_mangen::Man::new(Cli::command());
    page.render(&mut *io.out).map_err(|err| Error::io("cannot write the man page", &err))?;
    Ok(Outcome::Pass)
}
