//! Styles named by meaning. Whether colour is used at all is decided once, in `main`.

use colored::{ColoredString, Colorize};

pub fn blocked(text: &str) -> ColoredString {
    text.red().bold()
}

pub fn passed(text: &str) -> ColoredString {
    text.green().bold()
}

pub fn deny(text: &str) -> ColoredString {
    text.red()
}

pub fn warn(text: &str) -> ColoredString {
    text.yellow()
}

pub fn waived(text: &str) -> ColoredString {
    text.cyan()
}

pub fn heading(text: &str) -> ColoredString {
    text.bold()
}

pub fn path(text: &str) -> ColoredString {
    text.bold()
}

pub fn quiet(text: &str) -> ColoredString {
    text.dimmed()
}
