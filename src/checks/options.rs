//! A check's options: the keys of `[checks.ID]` other than `severity`.
//!
//! Options stay in TOML form (with their spans) until the check reads them, so that each policy
//! layer can be validated on its own with exact locations, and layers merge key by key: a later
//! layer replaces the keys it sets and keeps the others.

use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

/// The settings struct a check reads its options into.
pub trait Settings: Deserialize<'static> {
    /// Problems serde cannot see: ranges, patterns that do not compile.
    fn problems(&self) -> Vec<Problem> {
        Vec::new()
    }
}

fn merge_tables(into: &mut DeTable<'static>, later: &DeTable<'static>) {
    for (key, value) in later.iter() {
        let existing = into.get_mut(key.get_ref().as_ref());
        match (existing.map(|v| v.get_mut()), value.get_ref()) {
            (Some(DeValue::Table(mine)), DeValue::Table(theirs)) => merge_tables(mine, theirs),
            _ => {
                into.insert(key.clone(), value.clone());
            }
        }
    }
}

/// A problem with one option, located by its byte span in the policy file it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub span: Option<Range<usize>>,
    pub message: String,
    pub help: Option<String>,
}

impl Problem {
    pub fn new(span: Option<Range<usize>>, message: impl Into<String>) -> Self {
        Problem { span, message: message.into(), help: None }
    }

    pub fn at<T>(value: &Spanned<T>, message: impl Into<String>) -> Self {
        Problem::new(Some(value.span()), message)
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    table: DeTable<'static>,
    span: Range<usize>,
}

impl Default for Options {
    fn default() -> Self {
        Options { table: DeTable::new(), span: 0..0 }
    }
}

impl Options {
    pub fn new(table: DeTable<'static>, span: Range<usize>) -> Self {
        Options { table, span }
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.table.keys().map(|key| key.get_ref().as_ref())
    }

    /// Layers this layer's options over `self`: keys it sets replace ours.
    /// Nested tables merge the same way (a pack's `rules.unbounded-loop` survives a user's
    /// `rules.my-rule`); any other value, arrays included, is replaced.
    pub fn merge(&mut self, later: &Options) {
        merge_tables(&mut self.table, &later.table);
    }

    /// Reads the options into the check's settings.
    pub fn parse<T: Deserialize<'static>>(&self) -> Result<T, toml::de::Error> {
        let value = Spanned::new(self.span.clone(), DeValue::Table(self.table.clone()));
        T::deserialize(ValueDeserializer::from(value))
    }

    /// Reads the options of check `id` at run time. They were validated when the policy
    /// loaded, so an error here is a bug; it still stops the run (exit 2), naming the check.
    pub fn settings<T: Deserialize<'static>>(&self, id: &str) -> crate::Result<T> {
        self.parse().map_err(|e| crate::Error::new(format!("[checks.{id}]: {}", e.message().trim_end())))
    }

    /// Every problem with these options: the first serde error, or else what the settings'
    /// own validation finds.
    pub fn validate<T: Settings>(&self) -> Vec<Problem> {
        match self.parse::<T>() {
            Ok(settings) => settings.problems(),
            Err(err) => vec![Problem::new(err.span(), err.message().trim_end())],
        }
    }
}

/// Whether `path` is in any of the path classes named in a check's `skip-classes`.
pub fn in_classes(policy: &crate::config::Policy, classes: &[Spanned<String>], path: &str) -> bool {
    policy.paths.iter().any(|(name, class)| classes.iter().any(|c| c.get_ref() == name) && class.matches(path))
}

/// Problems with a `skip-classes` list: names that are not path classes.
pub fn class_problems(classes: &[Spanned<String>]) -> Vec<Problem> {
    use crate::config::{PATH_CLASSES, did_you_mean};
    classes
        .iter()
        .filter(|class| !PATH_CLASSES.contains(&class.get_ref().as_str()))
        .map(|class| {
            let help = match did_you_mean(class.get_ref(), PATH_CLASSES.iter().copied()) {
                Some(close) => format!("did you mean `{close}`?"),
                None => format!("path classes are {}", PATH_CLASSES.join(", ")),
            };
            Problem::at(class, format!("unknown path class `{}`", class.get_ref())).with_help(help)
        })
        .collect()
}
