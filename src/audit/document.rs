//! Configuration files read into key paths: `auth.ldap.host = "ldap.corp:389"` at line 12.
//!
//! TOML, YAML, JSON, INI, `.env` and Java `.properties` are read into a flat list of leaf entries,
//! each with its dotted key path (`servers[0].host`) and position, so that two versions can be
//! diffed key by key and values checked where they are written. The format comes from the file
//! name; a name that does not say (`.cfg`, `.conf`) is sniffed; a file that fails its own format
//! but reads as another is reported as such ("an .env written as YAML"), never skipped.
//!
//! Hostile input stays bounded: YAML aliases are recorded, never expanded (no "billion laughs"),
//! nesting is capped, binary and invalid UTF-8 content are errors, and size is capped by the caller.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use toml::de::{DeTable, DeValue};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Deeper nesting than this is refused.
const MAX_DEPTH: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    Toml,
    Yaml,
    Json,
    Ini,
    Env,
    Properties,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Toml => "TOML",
            Format::Yaml => "YAML",
            Format::Json => "JSON",
            Format::Ini => "INI",
            Format::Env => ".env",
            Format::Properties => ".properties",
        })
    }
}

/// One leaf of a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// `auth.ldap.host`, `servers[0].url`; INI sections and YAML documents are the first parts.
    pub key: String,
    /// The value as written for a person: strings quoted, everything else as is.
    pub value: String,
    /// The value itself, unquoted, when it is a string (what address checks read).
    pub text: Option<String>,
    /// 1-based.
    pub line: u32,
    pub col: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub format: Format,
    pub entries: Vec<Entry>,
    /// Set when the format was not the one the file name suggests, or was guessed: what gate did.
    pub note: Option<String>,
}

/// A file that should parse and does not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// The format the file was read as (none for content that is not text at all).
    pub format: Option<Format>,
    pub line: u32,
    pub col: u32,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    Document(Document),
    Error(SyntaxError),
    /// The file name says nothing gate reads, and no format fits: not analysed.
    Unknown(String),
}

/// The format a file name promises, if it promises one.
pub fn format_of(path: &str) -> Option<Format> {
    let name = path.rsplit('/').next().unwrap_or(path).to_lowercase();
    let ext = name.rsplit_once('.').map(|(_, e)| e);
    match ext {
        Some("toml") => Some(Format::Toml),
        Some("yaml" | "yml") => Some(Format::Yaml),
        Some("json") => Some(Format::Json),
        Some("ini") => Some(Format::Ini),
        Some("properties") => Some(Format::Properties),
        Some("env") => Some(Format::Env),
        _ if name == ".env" || name.starts_with(".env.") => Some(Format::Env),
        _ => None,
    }
}

/// Reads a configuration file.
pub fn parse(path: &str, bytes: &[u8]) -> Parsed {
    if bytes[..bytes.len().min(8000)].contains(&0) {
        // A config extension promises text; any other file under a config path may be binary.
        if format_of(path).is_none() {
            return Parsed::Unknown("binary".to_string());
        }
        let message = "binary content where configuration is expected".to_string();
        return Parsed::Error(SyntaxError { format: None, line: 1, col: 1, message });
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text.strip_prefix('\u{feff}').unwrap_or(text),
        Err(err) => {
            let at = err.valid_up_to();
            let (line, col) = line_col(&String::from_utf8_lossy(&bytes[..at]), at);
            let message = format!("not valid UTF-8 (byte {at})");
            return Parsed::Error(SyntaxError { format: None, line, col, message });
        }
    };
    match format_of(path) {
        Some(format) => match read(format, text) {
            Ok(entries) => Parsed::Document(Document { format, entries, note: None }),
            Err(mut error) => {
                // The extension may lie: say what the file reads as, so the fix is obvious. Only
                // strict formats count as a signal: nearly any text is INI, and broken JSON is
                // often still YAML.
                if let Some((other, _)) = sniff(text, Some(format))
                    && other != Format::Ini
                    && !(format == Format::Json && other == Format::Yaml)
                {
                    error.message.push_str(&format!(" (it reads as {other}: is the file name wrong?)"));
                }
                Parsed::Error(error)
            }
        },
        None => match sniff(text, None) {
            Some((format, entries)) => {
                Parsed::Document(Document { format, entries, note: Some(format!("read as {format}")) })
            }
            None => Parsed::Unknown("the format is not understood (it is not TOML, INI, JSON or YAML)".to_string()),
        },
    }
}

/// The first format other than `except` the text reads as, with its entries. YAML only counts
/// when it yields a mapping: almost any text is a valid YAML scalar.
fn sniff(text: &str, except: Option<Format>) -> Option<(Format, Vec<Entry>)> {
    let candidates = [Format::Json, Format::Toml, Format::Yaml, Format::Ini];
    candidates.into_iter().filter(|f| Some(*f) != except).find_map(|format| {
        if format == Format::Json && !text.trim_start().starts_with(['{', '[']) {
            return None;
        }
        let entries = read(format, text).ok()?;
        let mapping = !entries.is_empty() && entries.iter().any(|e| !e.key.is_empty());
        (mapping || format != Format::Yaml).then_some((format, entries)).filter(|(_, e)| !e.is_empty())
    })
}

/// Reads `text` as `format`.
pub fn read(format: Format, text: &str) -> Result<Vec<Entry>, SyntaxError> {
    match format {
        Format::Toml => read_toml(text),
        Format::Yaml => read_yaml(text, Format::Yaml),
        Format::Json => read_json(text),
        Format::Ini => read_ini(text),
        Format::Env => read_env(text),
        Format::Properties => Ok(read_properties(text)),
    }
}

fn line_col(text: &str, offset: usize) -> (u32, u32) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line as u32, col as u32)
}

fn error(format: Format, line: u32, col: u32, message: impl Into<String>) -> SyntaxError {
    SyntaxError { format: Some(format), line, col, message: message.into() }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() { key.to_string() } else { format!("{prefix}.{key}") }
}

/// A string as a person reads it on one line: quoted, with quotes and line breaks escaped.
fn quoted(text: &str) -> String {
    let escaped =
        text.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n").replace('\r', "\\r").replace('\t', "\\t");
    format!("\"{escaped}\"")
}

/// A value cut after 200 characters for display (a YAML block of shell script is not a value
/// to read in a diff); comparisons always use the whole value.
fn shortened(value: &str) -> String {
    let mut shown: String = value.chars().take(200).collect();
    if shown.len() < value.len() {
        shown.push('…');
    }
    shown
}

// --- TOML ---

fn read_toml(text: &str) -> Result<Vec<Entry>, SyntaxError> {
    let table = DeTable::parse(text).map_err(|err| {
        let (line, col) = err.span().map_or((1, 1), |s| line_col(text, s.start));
        error(Format::Toml, line, col, err.message().trim_end())
    })?;
    let mut entries = Vec::new();
    let span = table.span();
    toml_value(text, "", &DeValue::Table(table.into_inner()), span, 0, &mut entries)?;
    Ok(entries)
}

fn toml_value(
    text: &str,
    key: &str,
    value: &DeValue<'_>,
    span: std::ops::Range<usize>,
    depth: usize,
    entries: &mut Vec<Entry>,
) -> Result<(), SyntaxError> {
    let (line, col) = line_col(text, span.start);
    if depth > MAX_DEPTH {
        return Err(error(Format::Toml, line, col, format!("nested deeper than {MAX_DEPTH} levels")));
    }
    let leaf = |entries: &mut Vec<Entry>, shown: String, text: Option<String>| {
        entries.push(Entry { key: key.to_string(), value: shown, text, line, col });
    };
    match value {
        DeValue::Table(table) if !table.is_empty() => {
            for (k, v) in table.iter() {
                let child = join(key, &dotted_key(k.get_ref()));
                toml_value(text, &child, v.get_ref(), v.span(), depth + 1, entries)?;
            }
        }
        DeValue::Array(items) if !items.is_empty() => {
            for (i, v) in items.iter().enumerate() {
                toml_value(text, &format!("{key}[{i}]"), v.get_ref(), v.span(), depth + 1, entries)?;
            }
        }
        DeValue::Table(_) => leaf(entries, "{}".to_string(), None),
        DeValue::Array(_) => leaf(entries, "[]".to_string(), None),
        DeValue::String(s) => leaf(entries, quoted(s), Some(s.to_string())),
        DeValue::Integer(i) => leaf(entries, i.as_str().to_string(), Some(i.as_str().to_string())),
        DeValue::Float(f) => leaf(entries, f.as_str().to_string(), None),
        DeValue::Boolean(b) => leaf(entries, b.to_string(), None),
        DeValue::Datetime(d) => leaf(entries, d.to_string(), None),
    }
    Ok(())
}

/// Keys with dots keep them visible: `"a.b"` stays one component.
fn dotted_key(key: &str) -> String {
    if key.contains('.') { quoted(key) } else { key.to_string() }
}

// --- YAML (and JSON's positions) ---

/// Builds entries from parser events. Aliases are recorded as `*anchor-of-KEY`, never expanded.
struct YamlSink {
    entries: Vec<Entry>,
    /// Containers being read: their key prefix, and for mappings the key awaiting its value.
    stack: Vec<Frame>,
    documents: usize,
    /// Where each anchor was defined, for showing aliases.
    anchors: HashMap<usize, String>,
    too_deep: Option<Marker>,
}

enum Frame {
    Mapping { prefix: String, key: Option<String> },
    Sequence { prefix: String, next: usize },
}

impl YamlSink {
    /// The key the next value is stored under; advances the sequence index or clears the
    /// mapping key. `None` when the value is itself a mapping key.
    fn take_key(&mut self) -> Option<String> {
        let document = if self.documents > 1 { format!("[document {}]", self.documents) } else { String::new() };
        match self.stack.last_mut() {
            None => Some(document),
            Some(Frame::Mapping { key: None, .. }) => None,
            Some(Frame::Mapping { prefix, key }) => {
                let key = key.take().unwrap_or_default();
                Some(join(prefix, &key))
            }
            Some(Frame::Sequence { prefix, next }) => {
                *next += 1;
                Some(format!("{prefix}[{}]", *next - 1))
            }
        }
    }

    fn push_leaf(&mut self, key: String, value: String, text: Option<String>, mark: Marker) {
        self.entries.push(Entry { key, value, text, line: mark.line() as u32, col: mark.col() as u32 + 1 });
    }
}

impl MarkedEventReceiver for YamlSink {
    fn on_event(&mut self, event: Event, mark: Marker) {
        if self.too_deep.is_some() {
            return;
        }
        match event {
            Event::DocumentStart => self.documents += 1,
            Event::Scalar(value, style, anchor, _) => {
                if let Some(Frame::Mapping { key: slot @ None, .. }) = self.stack.last_mut() {
                    *slot = Some(if value.contains('.') { quoted(&value) } else { value });
                    return;
                }
                let Some(key) = self.take_key() else { return };
                if anchor > 0 {
                    self.anchors.insert(anchor, key.clone());
                }
                let plain = style == TScalarStyle::Plain;
                let shown = if plain { value.clone() } else { quoted(&value) };
                let text = (!plain || !is_yaml_literal(&value)).then_some(value);
                self.push_leaf(key, shown, text, mark);
            }
            Event::Alias(anchor) => {
                if let Some(Frame::Mapping { key: slot @ None, .. }) = self.stack.last_mut() {
                    *slot = Some("*alias".to_string());
                    return;
                }
                let Some(key) = self.take_key() else { return };
                let target = self.anchors.get(&anchor).cloned().unwrap_or_default();
                self.push_leaf(key, format!("*{target}"), None, mark);
            }
            Event::MappingStart(anchor, _) | Event::SequenceStart(anchor, _) => {
                let mapping = matches!(event, Event::MappingStart(..));
                let prefix = match self.take_key() {
                    Some(key) => key,
                    // A mapping or sequence used as a key: keep its leaves apart.
                    None => {
                        if let Some(Frame::Mapping { key, .. }) = self.stack.last_mut() {
                            *key = Some("?".to_string());
                        }
                        "?".to_string()
                    }
                };
                if anchor > 0 {
                    self.anchors.insert(anchor, prefix.clone());
                }
                if self.stack.len() >= MAX_DEPTH {
                    self.too_deep = Some(mark);
                    return;
                }
                // Remember where the container starts, in case it stays empty.
                let placeholder = if mapping { "{}" } else { "[]" };
                self.push_leaf(prefix.clone(), placeholder.to_string(), None, mark);
                self.stack.push(if mapping {
                    Frame::Mapping { prefix, key: None }
                } else {
                    Frame::Sequence { prefix, next: 0 }
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let frame = self.stack.pop();
                let prefix = match &frame {
                    Some(Frame::Mapping { prefix, .. } | Frame::Sequence { prefix, .. }) => prefix.clone(),
                    None => String::new(),
                };
                // Drop the placeholder of a container that turned out not to be empty.
                if let Some(at) =
                    self.entries.iter().rposition(|e| e.key == prefix && (e.value == "{}" || e.value == "[]"))
                    && self.entries[at + 1..].iter().any(|e| e.key.starts_with(&prefix) && e.key != prefix)
                {
                    self.entries.remove(at);
                }
            }
            _ => {}
        }
    }
}

fn is_yaml_literal(value: &str) -> bool {
    matches!(value, "true" | "false" | "True" | "False" | "null" | "Null" | "~" | "") || value.parse::<f64>().is_ok()
}

fn read_yaml(text: &str, format: Format) -> Result<Vec<Entry>, SyntaxError> {
    let mut sink =
        YamlSink { entries: Vec::new(), stack: Vec::new(), documents: 0, anchors: HashMap::new(), too_deep: None };
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut sink, true).map_err(|err| {
        let mark = err.marker();
        error(format, mark.line() as u32, mark.col() as u32 + 1, err.info())
    })?;
    if let Some(mark) = sink.too_deep {
        return Err(error(
            format,
            mark.line() as u32,
            mark.col() as u32 + 1,
            format!("nested deeper than {MAX_DEPTH} levels"),
        ));
    }
    Ok(sink.entries)
}

fn read_json(text: &str) -> Result<Vec<Entry>, SyntaxError> {
    // serde_json is the judge of validity; the YAML reader (JSON is YAML 1.2) gives positions.
    serde_json::from_str::<serde::de::IgnoredAny>(text)
        .map_err(|err| error(Format::Json, err.line() as u32, err.column() as u32, err.to_string()))?;
    match read_yaml(text, Format::Json) {
        Ok(entries) => Ok(entries),
        Err(_) => {
            let value: serde_json::Value = serde_json::from_str(text)
                .map_err(|err| error(Format::Json, err.line() as u32, err.column() as u32, err.to_string()))?;
            let mut entries = Vec::new();
            json_value("", &value, &mut entries);
            Ok(entries)
        }
    }
}

/// Entries of a JSON value without positions (line 1), when the YAML reader cannot place them.
fn json_value(key: &str, value: &serde_json::Value, entries: &mut Vec<Entry>) {
    let mut leaf = |shown: String, text: Option<String>| {
        entries.push(Entry { key: key.to_string(), value: shown, text, line: 1, col: 1 })
    };
    match value {
        serde_json::Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                json_value(&join(key, &dotted_key(k)), v, entries);
            }
        }
        serde_json::Value::Array(items) if !items.is_empty() => {
            for (i, v) in items.iter().enumerate() {
                json_value(&format!("{key}[{i}]"), v, entries);
            }
        }
        serde_json::Value::String(s) => leaf(quoted(s), Some(s.clone())),
        other => leaf(other.to_string(), None),
    }
}

// --- INI, .env, .properties ---

fn read_ini(text: &str) -> Result<Vec<Entry>, SyntaxError> {
    let mut entries: Vec<Entry> = Vec::new();
    let mut section = String::new();
    for (n, raw) in text.lines().enumerate() {
        let line = (n + 1) as u32;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with([';', '#']) {
            continue;
        }
        if let Some(name) = trimmed.strip_prefix('[') {
            let Some(name) = name.strip_suffix(']') else {
                return Err(error(Format::Ini, line, 1, format!("unclosed section header `{trimmed}`")));
            };
            section = dotted_key(name.trim());
            continue;
        }
        // An indented line continues the previous value (Python's configparser).
        if raw.starts_with([' ', '\t'])
            && let Some(last) = entries.last_mut()
        {
            last.value = format!("{} {trimmed}", last.value.trim_end_matches('"'));
            continue;
        }
        let Some(at) = trimmed.find(['=', ':']) else {
            return Err(error(Format::Ini, line, 1, format!("expected `key = value`, found `{trimmed}`")));
        };
        let (key, value) = (trimmed[..at].trim(), trimmed[at + 1..].trim());
        if key.is_empty() {
            return Err(error(Format::Ini, line, 1, format!("a value without a key: `{trimmed}`")));
        }
        let value = unquote(value);
        let col = (raw.len() - raw.trim_start().len() + 1) as u32;
        entries.push(Entry {
            key: join(&section, &dotted_key(key)),
            value: quoted(&value),
            text: Some(value),
            line,
            col,
        });
    }
    Ok(entries)
}

fn unquote(value: &str) -> String {
    let v = value.trim();
    for quote in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(quote) && v.ends_with(quote) {
            return v[1..v.len() - 1].to_string();
        }
    }
    v.to_string()
}

fn read_env(text: &str) -> Result<Vec<Entry>, SyntaxError> {
    let mut entries = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = (n + 1) as u32;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let statement = trimmed.strip_prefix("export ").map_or(trimmed, str::trim_start);
        let Some((key, value)) = statement.split_once('=') else {
            return Err(error(Format::Env, line, 1, format!("expected `KEY=value`, found `{trimmed}`")));
        };
        let key = key.trim_end();
        let valid = key.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.'));
        if !valid {
            return Err(error(Format::Env, line, 1, format!("`{key}` is not a variable name")));
        }
        // An unquoted value ends at ` #` (a comment).
        let value = value.trim();
        let value = if value.starts_with(['"', '\'']) {
            unquote(value)
        } else {
            value.split(" #").next().unwrap_or("").trim().to_string()
        };
        let col = (raw.len() - raw.trim_start().len() + 1) as u32;
        entries.push(Entry { key: key.to_string(), value: quoted(&value), text: Some(value), line, col });
    }
    Ok(entries)
}

/// Java properties: `key=value`, `key: value` or `key value`; `#` and `!` comments; a trailing
/// backslash continues the line. Nearly any text is valid, so this never fails.
fn read_properties(text: &str) -> Vec<Entry> {
    let mut entries = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((n, raw)) = lines.next() {
        let trimmed = raw.trim_start();
        if trimmed.is_empty() || trimmed.starts_with(['#', '!']) {
            continue;
        }
        let mut logical = trimmed.to_string();
        while logical.ends_with('\\') && !logical.ends_with("\\\\") {
            logical.pop();
            match lines.next() {
                Some((_, next)) => logical.push_str(next.trim_start()),
                None => break,
            }
        }
        let at = logical.find(['=', ':', ' ', '\t']).unwrap_or(logical.len());
        let key = logical[..at].trim().to_string();
        let value = logical[at..].trim_start_matches([' ', '\t']).trim_start_matches(['=', ':']).trim().to_string();
        let col = (raw.len() - trimmed.len() + 1) as u32;
        entries.push(Entry {
            key: dotted_key(&key),
            value: quoted(&value),
            text: Some(value),
            line: (n + 1) as u32,
            col,
        });
    }
    entries
}

// --- Differences ---

/// How one key differs between two versions of a file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KeyChange {
    pub key: String,
    /// The value before, as written; none when the key is new.
    pub old: Option<String>,
    /// The value after; none when the key is gone.
    pub new: Option<String>,
    /// Where the new value is (or, for a removed key, 0).
    pub line: u32,
}

/// The key-level difference from `old` to `new`, in key order.
pub fn diff(old: &[Entry], new: &[Entry]) -> Vec<KeyChange> {
    let before: BTreeMap<&str, &Entry> = old.iter().map(|e| (e.key.as_str(), e)).collect();
    let after: BTreeMap<&str, &Entry> = new.iter().map(|e| (e.key.as_str(), e)).collect();
    let mut keys: Vec<&str> = before.keys().chain(after.keys()).copied().collect();
    keys.sort_unstable();
    keys.dedup();
    keys.into_iter()
        .filter_map(|key| {
            let (b, a) = (before.get(key), after.get(key));
            if b.map(|e| &e.value) == a.map(|e| &e.value) {
                return None;
            }
            Some(KeyChange {
                key: key.to_string(),
                old: b.map(|e| e.value.clone()),
                new: a.map(|e| e.value.clone()),
                line: a.map_or(0, |e| e.line),
            })
        })
        .collect()
}

impl fmt::Display for KeyChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.old.as_deref().map(shortened), self.new.as_deref().map(shortened)) {
            (Some(old), Some(new)) => write!(f, "{}: {old} -> {new}", self.key),
            (None, Some(new)) => write!(f, "{}: added {new}", self.key),
            (Some(old), None) => write!(f, "{}: removed (was {old})", self.key),
            (None, None) => write!(f, "{}", self.key),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(path: &str, text: &str) -> Vec<(String, String, u32)> {
        match parse(path, text.as_bytes()) {
            Parsed::Document(doc) => doc.entries.into_iter().map(|e| (e.key, e.value, e.line)).collect(),
            other => panic!("{path}: {other:?}"),
        }
    }

    fn failure(path: &str, text: &[u8]) -> SyntaxError {
        match parse(path, text) {
            Parsed::Error(error) => error,
            other => panic!("{path}: expected an error, got {other:?}"),
        }
    }

    fn e(key: &str, value: &str, line: u32) -> (String, String, u32) {
        (key.to_string(), value.to_string(), line)
    }

    #[test]
    fn toml_yaml_and_json_flatten_to_the_same_key_paths() {
        let toml = "[auth.ldap]\nhost = \"ldap.corp:389\"\nports = [389, 636]\n";
        let yaml = "auth:\n  ldap:\n    host: \"ldap.corp:389\"\n    ports: [389, 636]\n";
        let json = "{\"auth\": {\"ldap\": {\"host\": \"ldap.corp:389\",\n \"ports\": [389, 636]}}}";
        let expected = ["auth.ldap.host", "auth.ldap.ports[0]", "auth.ldap.ports[1]"];
        for (path, text) in [("a.toml", toml), ("a.yaml", yaml), ("a.json", json)] {
            let keys: Vec<String> = entries(path, text).into_iter().map(|(k, _, _)| k).collect();
            assert_eq!(keys, expected, "{path}");
        }
        assert_eq!(entries("a.yaml", yaml)[0], e("auth.ldap.host", "\"ldap.corp:389\"", 3));
        assert_eq!(entries("a.toml", toml)[0], e("auth.ldap.host", "\"ldap.corp:389\"", 2));
    }

    #[test]
    fn ini_env_and_properties() {
        assert_eq!(entries("app.ini", "; c\n[ldap]\nhost = ldap.corp\n"), [e("ldap.host", "\"ldap.corp\"", 3)]);
        assert_eq!(
            entries(".env", "# c\nexport LDAP_HOST=\"ldap.corp\"\nPORT=389 # comment\n"),
            [e("LDAP_HOST", "\"ldap.corp\"", 2), e("PORT", "\"389\"", 3)]
        );
        assert_eq!(
            entries("app.properties", "! c\nldap.host=ldap.corp\nmsg = a \\\n  b\n"),
            [e("\"ldap.host\"", "\"ldap.corp\"", 2), e("msg", "\"a b\"", 3)]
        );
    }

    #[test]
    fn syntax_errors_are_located() {
        let err = failure("a.toml", b"[auth\nhost = 1\n");
        assert_eq!((err.format, err.line), (Some(Format::Toml), 1));
        let err = failure("a.yaml", b"a: 1\n b: 2\n  - x\n");
        assert_eq!(err.format, Some(Format::Yaml));
        assert!(err.line >= 2, "{err:?}");
        let err = failure("a.json", b"{\"a\": 1,\n\"b\": }\n");
        assert_eq!((err.line, err.format), (2, Some(Format::Json)));
        let err = failure("a.ini", b"[s]\nnot a setting\n");
        assert_eq!(err.line, 2);
    }

    #[test]
    fn a_file_whose_name_lies_is_read_or_reported_as_what_it_is() {
        let err = failure(".env", b"ldap:\n  host: ldap.corp\n");
        assert!(err.message.contains("it reads as YAML"), "{err:?}");
        match parse("app.cfg", b"[server]\nport = 8080\n") {
            Parsed::Document(doc) => {
                assert_eq!((doc.format, doc.note.as_deref()), (Format::Toml, Some("read as TOML")))
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(parse("nginx.conf", b"server {\n  listen 80;\n}\n"), Parsed::Unknown(_)));
    }

    #[test]
    fn binary_and_invalid_utf8_are_errors() {
        assert!(failure("a.yaml", b"\x00\x01\x02").message.contains("binary"));
        assert_eq!(parse("config/logo.png", b"\x89PNG\x00\x00"), Parsed::Unknown("binary".to_string()));
        let err = failure("a.yaml", b"a: 1\nb: \xff\xfe\n");
        assert_eq!(err.line, 2);
        assert!(err.message.contains("not valid UTF-8"));
    }

    #[test]
    fn yaml_aliases_are_never_expanded() {
        // A "billion laughs": each level refers to the previous one nine times.
        let mut bomb = String::from("a: &a [\"lol\"]\n");
        let mut previous = 'a';
        for name in 'b'..='k' {
            bomb.push_str(&format!("{name}: &{name} [{}]\n", vec![format!("*{previous}"); 9].join(", ")));
            previous = name;
        }
        let started = std::time::Instant::now();
        let found = entries("bomb.yaml", &bomb);
        assert!(found.len() < 200, "{} entries", found.len());
        assert!(found.contains(&e("k[0]", "*j", 11)), "{found:?}");
        assert!(started.elapsed().as_secs() < 2);
    }

    #[test]
    fn deep_nesting_is_refused_not_a_crash() {
        let deep = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(matches!(parse("deep.yaml", deep.as_bytes()), Parsed::Error(_)));
        assert!(matches!(parse("deep.json", deep.as_bytes()), Parsed::Error(_)));
        let toml = format!("a = {}1{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(matches!(parse("deep.toml", toml.as_bytes()), Parsed::Error(_)));
    }

    #[test]
    fn diff_shows_each_changed_key() {
        let old =
            read(Format::Yaml, "auth:\n  ldap:\n    host: ldap.corp:389\n    timeout: 5\nlegacy: true\n").unwrap();
        let new =
            read(Format::Yaml, "auth:\n  ldap:\n    host: ldap.crop:389\n    timeout: 5\n    tls: true\n").unwrap();
        let shown: Vec<String> = diff(&old, &new).iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "auth.ldap.host: ldap.corp:389 -> ldap.crop:389",
                "auth.ldap.tls: added true",
                "legacy: removed (was true)"
            ]
        );
    }
}
