//! A check's options: the keys of `[checks.ID]` other than `severity`, and the typed settings
//! they become.
//!
//! Options stay in TOML form (with their spans) while the layers merge key by key: a later layer
//! replaces the keys it sets and keeps the others, nested tables merge the same way. Only the
//! merged options are validated, once, into the check's typed settings (so a user's
//! `[checks.risky-pattern.rules.unbounded-loop] severity = "off"` completes the pack's rule
//! rather than being judged alone). To keep every error at its file:line:col after merging, each
//! layer's spans are moved into a range of their own ([`LAYER_STRIDE`] apart) before they merge;
//! [`layer_of`] maps a span back to its layer.

use std::any::Any;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

/// Spans of layer `n` start at `n * LAYER_STRIDE`: no policy file is anywhere near 1 TiB.
pub const LAYER_STRIDE: usize = 1 << 40;

/// The layer a merged span came from, and the span within that layer's file.
pub fn layer_of(span: &Range<usize>) -> (usize, Range<usize>) {
    let layer = span.start / LAYER_STRIDE;
    let base = layer * LAYER_STRIDE;
    (layer, span.start - base..span.end.saturating_sub(base))
}

/// The settings struct a check reads its options into.
pub trait Settings: Deserialize<'static> + Send + Sync + 'static {
    /// Problems serde cannot see: ranges, patterns that do not compile.
    fn problems(&self) -> Vec<Problem> {
        Vec::new()
    }
}

fn shift_value(value: Spanned<DeValue<'static>>, by: usize) -> Spanned<DeValue<'static>> {
    let span = value.span();
    let inner = match value.into_inner() {
        DeValue::Table(table) => DeValue::Table(shift_table(table, by)),
        DeValue::Array(mut items) => {
            for item in items.iter_mut() {
                let taken = std::mem::replace(item, Spanned::new(0..0, DeValue::Boolean(false)));
                *item = shift_value(taken, by);
            }
            DeValue::Array(items)
        }
        other => other,
    };
    Spanned::new(span.start + by..span.end + by, inner)
}

fn shift_table(table: DeTable<'static>, by: usize) -> DeTable<'static> {
    let mut shifted = DeTable::new();
    for (key, value) in table {
        let span = key.span();
        shifted.insert(Spanned::new(span.start + by..span.end + by, key.into_inner()), shift_value(value, by));
    }
    shifted
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

    /// The span of the `[checks.ID]` table these options were last given by.
    pub fn span(&self) -> Range<usize> {
        self.span.clone()
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
        self.span = later.span.clone();
    }

    /// These options as layer `layer` of a merge: every span moved to that layer's range.
    pub fn in_layer(self, layer: usize) -> Options {
        let by = layer * LAYER_STRIDE;
        Options { table: shift_table(self.table, by), span: self.span.start + by..self.span.end + by }
    }

    /// Reads the options into the check's settings.
    fn parse<T: Deserialize<'static>>(&self) -> Result<T, toml::de::Error> {
        let value = Spanned::new(self.span.clone(), DeValue::Table(self.table.clone()));
        T::deserialize(ValueDeserializer::from(value))
    }

    /// Validates these (merged) options into typed settings: the first serde error, or else
    /// every problem the settings' own validation finds.
    pub fn validate<T: Settings>(&self) -> Result<CheckSettings, Vec<Problem>> {
        match self.parse::<T>() {
            Ok(settings) => {
                let problems = settings.problems();
                if problems.is_empty() { Ok(CheckSettings::new(settings)) } else { Err(problems) }
            }
            Err(err) => Err(vec![Problem::new(err.span().or(Some(self.span.clone())), err.message().trim_end())]),
        }
    }
}

/// A check's validated settings, typed by the check that owns them. The policy holds them
/// without knowing their type; the check's runner asks for its own type back.
#[derive(Clone)]
pub struct CheckSettings(Arc<dyn Any + Send + Sync>);

impl CheckSettings {
    pub fn new<T: Any + Send + Sync>(settings: T) -> CheckSettings {
        CheckSettings(Arc::new(settings))
    }

    /// The settings as `T`, when they are a `T`.
    pub fn get<T: Any>(&self) -> Option<&T> {
        self.0.downcast_ref()
    }
}

impl fmt::Debug for CheckSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CheckSettings(..)")
    }
}

/// What policy loading needs to know of the checks, handed in by the layer that owns them so
/// that the policy knows nothing of any check.
pub trait Catalog {
    /// Every check id, in registry order.
    fn ids(&self) -> Vec<&'static str>;
    /// The severity of `id` when no layer sets one; `None` for an unknown id.
    fn default_severity(&self, id: &str) -> Option<super::Severity>;
    /// Validates the merged options of check `id` into its typed settings.
    fn configure(&self, id: &str, options: &Options) -> Result<CheckSettings, Vec<Problem>>;
}

/// Whether `path` is in any of the path classes named in a check's `skip-classes`.
pub fn in_classes(policy: &super::Policy, classes: &[Spanned<String>], path: &str) -> bool {
    in_classes_candidate(policy, classes, &super::Candidate::new(path))
}

/// [`in_classes`] for a path already made a candidate.
pub fn in_classes_candidate(policy: &super::Policy, classes: &[Spanned<String>], path: &super::Candidate<'_>) -> bool {
    policy
        .paths
        .iter()
        .any(|(name, class)| classes.iter().any(|c| c.get_ref() == name) && class.matches_candidate(path))
}

/// Problems with a `skip-classes` list: names that are not path classes.
pub fn class_problems(classes: &[Spanned<String>]) -> Vec<Problem> {
    use super::{PATH_CLASSES, did_you_mean};
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
