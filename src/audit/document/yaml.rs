//! YAML: parser events turned into entries with positions.
//!
//! saphyr-parser judges the syntax: it passes every case of the official yaml-test-suite
//! (`tests/config_precision/yaml_test_suite.rs` runs them). gate adds one leniency that libyaml,
//! PyYAML and Compose all have and the spec does not: a flow collection's closing `]` or `}` on
//! a line of its own may sit left of its items, as in a docker-compose healthcheck
//!
//! ```yaml
//! healthcheck:
//!   test: [
//!       "CMD", "curl", "-f", "http://localhost"
//!   ]
//! ```
//!
//! When the parser refuses such a bracket, the bracket is moved right to its opening bracket's
//! column (spaces before a flow indicator are not content) and the text is read again; positions
//! on that line are shifted back, so entries point at the file as written.

use std::borrow::Cow;
use std::collections::HashMap;

use saphyr_parser::{Event, Marker, Parser, ScalarStyle, ScanError, Span};

use super::{Entry, Format, MAX_DEPTH, SyntaxError, error, join, quoted};

/// Each moved bracket costs a new reading of the whole text: they stop when this many bytes
/// have been read again, so a hostile file stays cheap (a 20 kB compose file may move 800).
const REPAIR_BUDGET: usize = 16 << 20;

pub(super) fn read_yaml(text: &str, format: Format) -> Result<Vec<Entry>, SyntaxError> {
    let mut source = Cow::Borrowed(text);
    let mut moved: Vec<Moved> = Vec::new();
    let max_repairs = REPAIR_BUDGET / text.len().max(1);
    loop {
        match read_events(&source) {
            Ok(mut entries) => {
                for entry in &mut entries {
                    let (line, col) = original(&moved, entry.line as usize, entry.col as usize - 1);
                    (entry.line, entry.col) = (line as u32, col as u32 + 1);
                }
                return Ok(entries);
            }
            Err(mut stop) => {
                if let Some(fix) = closing_bracket_fix(&source, &stop) {
                    if moved.len() < max_repairs {
                        source = Cow::Owned(fix.apply(&source));
                        moved.push(fix.moved);
                        continue;
                    }
                    stop.message.push_str(&format!(
                        " (a closing bracket left of its items, which gate accepts, but not more than {max_repairs} in a file this large)"
                    ));
                }
                let (line, col) = original(&moved, stop.mark.line(), stop.mark.col());
                return Err(error(format, line as u32, col as u32 + 1, stop.message));
            }
        }
    }
}

/// Why reading stopped, and the column of the innermost flow collection still open there.
struct Stop {
    mark: Marker,
    message: String,
    open_flow: Option<usize>,
}

/// A closing bracket moved right by `spaces`, now at 0-based `col` of 1-based `line`.
#[derive(Debug, Clone, Copy)]
struct Moved {
    line: usize,
    col: usize,
    spaces: usize,
}

struct Fix {
    /// Byte offset in the text where the spaces go.
    at: usize,
    moved: Moved,
}

impl Fix {
    fn apply(&self, text: &str) -> String {
        let mut fixed = String::with_capacity(text.len() + self.moved.spaces);
        fixed.push_str(&text[..self.at]);
        fixed.extend(std::iter::repeat_n(' ', self.moved.spaces));
        fixed.push_str(&text[self.at..]);
        fixed
    }
}

/// Where a position in the repaired text was in the file, undoing the moves latest first.
fn original(moved: &[Moved], line: usize, mut col: usize) -> (usize, usize) {
    for m in moved.iter().rev() {
        if m.line == line && col >= m.col {
            col -= m.spaces;
        }
    }
    (line, col)
}

/// The repair for an "invalid indentation" at a `]` or `}` that opens its line, inside an open
/// flow collection whose bracket is further right.
fn closing_bracket_fix(text: &str, stop: &Stop) -> Option<Fix> {
    let target = stop.open_flow?;
    let col = stop.mark.col();
    if stop.message != "invalid indentation" || target <= col {
        return None;
    }
    let (at, c) = text.char_indices().nth(stop.mark.index())?;
    let line_start = text[..at].rfind(['\n', '\r']).map_or(0, |i| i + 1);
    let indented_only = text[line_start..at].chars().all(|c| c == ' ');
    (matches!(c, ']' | '}') && indented_only)
        .then_some(Fix { at, moved: Moved { line: stop.mark.line(), col: target, spaces: target - col } })
}

fn read_events(text: &str) -> Result<Vec<Entry>, Stop> {
    let mut sink = Sink { entries: Vec::new(), stack: Vec::new(), documents: 0, anchors: HashMap::new() };
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|err: ScanError| Stop {
            mark: *err.marker(),
            message: err.info().to_string(),
            open_flow: sink.stack.iter().rev().find_map(|frame| frame.flow),
        })?;
        sink.on_event(event, span).map_err(|mark| Stop {
            mark,
            message: format!("nested deeper than {MAX_DEPTH} levels"),
            open_flow: None,
        })?;
    }
    Ok(sink.entries)
}

/// Builds entries from parser events. Aliases are recorded as `*anchor-of-KEY`, never expanded.
struct Sink {
    entries: Vec<Entry>,
    /// Containers being read, innermost last.
    stack: Vec<Frame>,
    documents: usize,
    /// Where each anchor was defined, for showing aliases.
    anchors: HashMap<usize, String>,
}

struct Frame {
    prefix: String,
    kind: Kind,
    /// The index of the entry standing for the container while it has no leaves.
    placeholder: usize,
    /// The 0-based column of the opening bracket, for a flow collection.
    flow: Option<usize>,
}

enum Kind {
    /// The key awaiting its value; none while the next scalar is a key.
    Mapping(Option<String>),
    Sequence(usize),
}

impl Sink {
    /// The key the next value is stored under; advances the sequence index or clears the
    /// mapping key. `None` when the value is itself a mapping key.
    fn take_key(&mut self) -> Option<String> {
        let document = if self.documents > 1 { format!("[document {}]", self.documents) } else { String::new() };
        let Some(frame) = self.stack.last_mut() else { return Some(document) };
        match &mut frame.kind {
            Kind::Mapping(None) => None,
            Kind::Mapping(key) => Some(join(&frame.prefix, &key.take().unwrap_or_default())),
            Kind::Sequence(next) => {
                *next += 1;
                Some(format!("{}[{}]", frame.prefix, *next - 1))
            }
        }
    }

    /// Fills the mapping key slot, if the next node is a key; true when it was.
    fn set_key(&mut self, key: impl FnOnce() -> String) -> bool {
        match self.stack.last_mut() {
            Some(Frame { kind: Kind::Mapping(slot @ None), .. }) => {
                *slot = Some(key());
                true
            }
            _ => false,
        }
    }

    fn push_leaf(&mut self, key: String, value: String, text: Option<String>, mark: Marker) {
        self.entries.push(Entry { key, value, text, line: mark.line() as u32, col: mark.col() as u32 + 1 });
    }

    /// Takes one event; the position where nesting got too deep stops reading.
    fn on_event(&mut self, event: Event<'_>, span: Span) -> Result<(), Marker> {
        let mark = span.start;
        match event {
            Event::DocumentStart(_) => self.documents += 1,
            Event::Scalar(value, style, anchor, _) => {
                if self.set_key(|| if value.contains('.') { quoted(&value) } else { value.to_string() }) {
                    return Ok(());
                }
                let Some(key) = self.take_key() else { return Ok(()) };
                if anchor > 0 {
                    self.anchors.insert(anchor, key.clone());
                }
                let plain = style == ScalarStyle::Plain;
                let value = value.into_owned();
                let shown = if plain { value.clone() } else { quoted(&value) };
                let text = (!plain || !is_yaml_literal(&value)).then_some(value);
                self.push_leaf(key, shown, text, mark);
            }
            Event::Alias(anchor) => {
                if self.set_key(|| "*alias".to_string()) {
                    return Ok(());
                }
                let Some(key) = self.take_key() else { return Ok(()) };
                let target = self.anchors.get(&anchor).cloned().unwrap_or_default();
                self.push_leaf(key, format!("*{target}"), None, mark);
            }
            Event::MappingStart(anchor, _) | Event::SequenceStart(anchor, _) => {
                let mapping = matches!(event, Event::MappingStart(..));
                // A mapping or sequence used as a key: its leaves stay apart under `?`.
                let prefix = self.take_key().unwrap_or_else(|| {
                    self.set_key(|| "?".to_string());
                    "?".to_string()
                });
                if anchor > 0 {
                    self.anchors.insert(anchor, prefix.clone());
                }
                if self.stack.len() >= MAX_DEPTH {
                    return Err(mark);
                }
                // The container stands for itself until it has a leaf, in case it stays empty.
                let placeholder = if mapping { "{}" } else { "[]" };
                self.push_leaf(prefix.clone(), placeholder.to_string(), None, mark);
                // A flow collection's event spans its bracket; a block one's is empty.
                let flow = (span.end.index() > span.start.index()).then_some(mark.col());
                let kind = if mapping { Kind::Mapping(None) } else { Kind::Sequence(0) };
                self.stack.push(Frame { prefix, kind, placeholder: self.entries.len() - 1, flow });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                if let Some(frame) = self.stack.pop()
                    && self.entries.len() > frame.placeholder + 1
                {
                    self.entries.remove(frame.placeholder);
                }
            }
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => {}
        }
        Ok(())
    }
}

fn is_yaml_literal(value: &str) -> bool {
    matches!(value, "true" | "false" | "True" | "False" | "null" | "Null" | "~" | "") || value.parse::<f64>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(text: &str) -> Vec<(String, String, u32, u32)> {
        read_yaml(text, Format::Yaml)
            .unwrap_or_else(|e| panic!("{e:?}"))
            .into_iter()
            .map(|e| (e.key, e.value, e.line, e.col))
            .collect()
    }

    fn e(key: &str, value: &str, line: u32, col: u32) -> (String, String, u32, u32) {
        (key.to_string(), value.to_string(), line, col)
    }

    #[test]
    fn a_closing_bracket_left_of_its_items_is_read_where_it_is_written() {
        // Regression (issue 10): a docker-compose healthcheck that libyaml and Compose accept.
        let compose = "services:\n  web:\n    healthcheck:\n      test: [\n          \"CMD\", \"curl\", \"-f\", \"http://localhost\"\n      ]\n      interval: 30s\n";
        let found = keys(compose);
        assert_eq!(found[0], e("services.web.healthcheck.test[0]", "\"CMD\"", 5, 11));
        assert_eq!(found[4], e("services.web.healthcheck.interval", "30s", 7, 17));
        // Flow mappings too, nested, and with content after the bracket on its line.
        let nested = "a:\n  b: {\n      c: [\n        1\n   ], d: 2\n  }\n";
        assert_eq!(keys(nested), [e("a.b.c[0]", "1", 4, 9), e("a.b.d", "2", 5, 10)]);
    }

    #[test]
    fn items_left_of_their_collection_are_still_an_error() {
        // The spec and the yaml-test-suite (9C9N) refuse this; only closing brackets are let be.
        let err = read_yaml("flow: [a,\nb,\nc]\n", Format::Yaml).unwrap_err();
        assert_eq!(err.line, 2);
        // A bracket that opens no line is not moved: this is a real error.
        assert!(read_yaml("a:\n  - [1,\n  2]\n", Format::Yaml).is_err());
    }

    #[test]
    fn an_error_after_a_moved_bracket_points_at_the_file_as_written() {
        // The first bracket is moved right by four columns; the second is one too many.
        let err = read_yaml("a:\n  b: [\n      1\n  ] ]\n", Format::Yaml).unwrap_err();
        assert_eq!((err.line, err.col, err.message.as_str()), (4, 5, "misplaced bracket"), "{err:?}");
    }

    #[test]
    fn moving_brackets_stops_within_its_budget() {
        let one = "a:\n  b: [\n      \"1\"\n  ]\n";
        let many = one.repeat(REPAIR_BUDGET / one.len() / 100);
        let err = read_yaml(&many, Format::Yaml).unwrap_err();
        assert!(err.message.contains("not more than 100 in a file this large"), "{err:?}");
        assert_eq!(err.line, 4 * 101);
    }
}
