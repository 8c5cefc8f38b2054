//! JSON: serde_json judges the syntax; the YAML reader (JSON is YAML 1.2) gives positions.

use super::yaml::read_yaml;
use super::{Entry, Format, SyntaxError, dotted_key, error, join, quoted};

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
