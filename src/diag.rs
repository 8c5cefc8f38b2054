//! Diagnostics for policy files: where the problem is (file:line:col), the offending text, what
//! is wrong, and a suggestion when one can be made.
//!
//! Serde's own messages are kept word for word (they name the expected keys and types); this
//! module adds the location, the source line and a "did you mean" for misspelt keys, check ids
//! and values.

use std::fmt;
use std::ops::Range;

/// One policy file's text, kept so that byte spans can be turned into lines and columns.
#[derive(Debug, Clone)]
pub struct SourceText {
    /// The name shown to the user: a path relative to the repository, or `pack NAME`.
    pub name: String,
    pub text: &'static str,
}

impl SourceText {
    /// The 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..floor_char_boundary(self.text, offset)];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = before[line_start..].chars().count() + 1;
        (line, col)
    }

    fn line_text(&self, line: usize) -> &str {
        self.text.lines().nth(line - 1).unwrap_or("")
    }

    /// A diagnostic pointing at `span` in this file.
    pub fn diagnostic(&self, span: Option<Range<usize>>, message: impl Into<String>) -> Diagnostic {
        let span = span.unwrap_or(0..0);
        let (line, col) = self.line_col(span.start);
        let source_line = self.line_text(line).trim_end_matches('\r').to_string();
        let end_on_line = {
            let (end_line, end_col) = self.line_col(span.end);
            if end_line == line { end_col.max(col + 1) } else { source_line.chars().count() + 1 }
        };
        Diagnostic {
            file: self.name.clone(),
            line,
            col,
            width: end_on_line.saturating_sub(col).max(1),
            source_line,
            message: message.into(),
            help: None,
        }
    }

    /// Converts a TOML parse or deserialization error, adding a suggestion where serde's
    /// message names what was expected.
    pub fn from_toml(&self, err: &toml::de::Error, context: &str) -> Diagnostic {
        let message = err.message().trim_end().to_string();
        let help = suggestion_for_serde_message(&message);
        let message = if context.is_empty() { message } else { format!("{message} in {context}") };
        let mut diagnostic = self.diagnostic(err.span(), message);
        diagnostic.help = help;
        diagnostic
    }
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// A problem in a policy file, rendered like a compiler error:
///
/// ```text
/// error: unknown field `treshold`, expected one of `threshold` in [checks.near-duplicate]
///   --> gate.toml:12:1
///    |
/// 12 | treshold = 0.8
///    | ^^^^^^^^
///    = help: did you mean `threshold`?
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: String,
    pub line: usize,
    pub col: usize,
    width: usize,
    source_line: String,
    pub message: String,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let number = self.line.to_string();
        let pad = " ".repeat(number.len());
        writeln!(f, "error: {}", self.message)?;
        writeln!(f, "{pad}--> {}:{}:{}", self.file, self.line, self.col)?;
        if !self.source_line.is_empty() {
            writeln!(f, "{pad} |")?;
            writeln!(f, "{number} | {}", self.source_line)?;
            let indent: String =
                self.source_line.chars().take(self.col - 1).map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
            write!(f, "{pad} | {indent}{}", "^".repeat(self.width))?;
        }
        if let Some(help) = &self.help {
            write!(f, "\n{pad} = help: {help}")?;
        }
        Ok(())
    }
}

/// The closest candidate to a misspelt word, if one is close enough to be a likely typo.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let word_lower = word.to_lowercase();
    candidates
        .into_iter()
        .map(|candidate| (strsim::damerau_levenshtein(&word_lower, &candidate.to_lowercase()), candidate))
        .filter(|(distance, candidate)| {
            let longest = word.chars().count().max(candidate.chars().count());
            *distance > 0 && *distance <= (longest / 3).max(1)
        })
        .min_by_key(|(distance, candidate)| (*distance, *candidate))
        .map(|(_, candidate)| candidate)
}

/// Serde reports unknown keys and enum values as
/// "unknown field `x`, expected one of `a`, `b`" (or "expected `a`"); this finds the closest
/// expected name so the user is told what they probably meant.
fn suggestion_for_serde_message(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `").or_else(|| message.strip_prefix("unknown variant `"))?;
    let (word, expected) = rest.split_once('`')?;
    let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    did_you_mean(word, candidates.iter().copied()).map(|c| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_closest_key() {
        assert_eq!(did_you_mean("treshold", ["threshold", "severity"]), Some("threshold"));
        assert_eq!(did_you_mean("near-duplicat", ["near-duplicate", "variant-name"]), Some("near-duplicate"));
        assert_eq!(did_you_mean("colour", ["severity", "threshold"]), None);
    }

    #[test]
    fn reads_serde_messages() {
        let m = "unknown variant `dny`, expected one of `deny`, `warn`, `off`";
        assert_eq!(suggestion_for_serde_message(m).as_deref(), Some("did you mean `deny`?"));
        assert_eq!(suggestion_for_serde_message("invalid type: string"), None);
    }

    #[test]
    fn renders_line_and_column() {
        let source = SourceText { name: "gate.toml".into(), text: "a = 1\n[x]\nbad = 2\n" };
        let d = source.diagnostic(Some(10..13), "unknown key `bad`");
        assert_eq!((d.line, d.col), (3, 1));
        let shown = d.to_string();
        assert!(shown.contains("--> gate.toml:3:1"), "{shown}");
        assert!(shown.contains("3 | bad = 2"), "{shown}");
        assert!(shown.contains("  | ^^^"), "{shown}");
    }
}
