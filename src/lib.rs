//! gate: a deployment safety gate.
//!
//! The data flows one way: load the policy ([`config`]) -> resolve the release range and
//! gather the changes and evidence ([`git`], [`evidence`], [`analysis`]) -> run the checks ([`checks`]) ->
//! write a report ([`report`]) -> map the verdict to an exit code (`main`). [`run`] is the one
//! entry point; library code never prints to the terminal by itself.

pub mod analysis;
pub mod audit;
pub mod checks;
pub mod cli;
pub mod commands;
pub mod config;
pub mod diag;
pub mod error;
pub mod evidence;
pub mod fastmap;
pub mod git;
pub mod report;
pub mod time;

pub use commands::{Io, Outcome};
pub use error::{Error, Result};

/// Runs one command line.
pub fn run(cli: &cli::Cli, io: &mut Io<'_>) -> Result<Outcome> {
    commands::run(cli, io)
}
