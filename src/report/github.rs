//! Placeholder: the github report, written by a helper.

use std::io::{self, Write};

use super::Report;

pub fn write(_report: &Report, _out: &mut dyn Write) -> io::Result<()> {
    Err(io::Error::other("the github format is not written yet"))
}
