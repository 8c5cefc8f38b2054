//! One reader per format, each turning text into the flat list of entries with positions.

use toml::de::{DeTable, DeValue};

use super::yaml::read_yaml;
use super::{Entry, Format, MAX_DEPTH, SyntaxError, error, join, line_col, quoted};

// --- TOML ---

pub(super) fn read_toml(text: &str) -> Result<Vec<Entry>, SyntaxError> {
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

// --- JSON ---

pub(super) fn read_json(text: &str) -> Result<Vec<Entry>, SyntaxError> {
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

pub(super) fn read_ini(text: &str) -> Result<Vec<Entry>, SyntaxError> {
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

pub(super) fn read_env(text: &str) -> Result<Vec<Entry>, SyntaxError> {
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
pub(super) fn read_properties(text: &str) -> Vec<Entry> {
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
