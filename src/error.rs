//! Errors: everything that stops gate from reaching a verdict.
//!
//! Every error ends the run with exit code 2 (gate could not decide) and is shown as one line a
//! person can act on: what went wrong, then what to do about it. Configuration errors are the
//! one exception to "one line": they are collected and shown together, each with its location,
//! followed by a one-line summary.

use std::fmt;

use crate::diag::Diagnostic;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug)]
pub enum Error {
    /// What went wrong and, when there is one, the command or change that fixes it.
    Message { what: String, fix: Option<String> },
    /// Problems in the policy files, each with its file, line and column.
    Config(Vec<Diagnostic>),
}

impl Error {
    pub fn new(what: impl Into<String>) -> Self {
        Error::Message { what: what.into(), fix: None }
    }

    /// An error with the action that fixes it.
    pub fn with_fix(what: impl Into<String>, fix: impl Into<String>) -> Self {
        Error::Message { what: what.into(), fix: Some(fix.into()) }
    }

    /// Wraps a libgit2 error with what gate was doing, keeping libgit2's own words.
    pub fn git(doing: impl fmt::Display, err: &git2::Error) -> Self {
        Error::new(format!("{doing}: {}", err.message()))
    }

    /// Wraps an I/O error with the path it concerns.
    pub fn io(doing: impl fmt::Display, err: &std::io::Error) -> Self {
        Error::new(format!("{doing}: {err}"))
    }
}

impl Error {
    /// The located diagnostics shown above the one-line summary (configuration errors only).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            Error::Config(diagnostics) => diagnostics,
            Error::Message { .. } => &[],
        }
    }
}

/// The one line a person acts on. For configuration errors, the diagnostics come first (see
/// [`Error::diagnostics`]) and this line sums them up.
impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Message { what, fix: None } => write!(f, "{what}"),
            Error::Message { what, fix: Some(fix) } => write!(f, "{what}; {fix}"),
            Error::Config(diagnostics) => {
                let n = diagnostics.len();
                let files: std::collections::BTreeSet<&str> = diagnostics.iter().map(|d| d.file.as_str()).collect();
                let files: Vec<&str> = files.into_iter().collect();
                write!(
                    f,
                    "the policy has {n} error{}: fix {} and run gate again",
                    if n == 1 { "" } else { "s" },
                    files.join(", ")
                )
            }
        }
    }
}

impl std::error::Error for Error {}
