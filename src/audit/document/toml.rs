//! TOML, read by the `toml` crate with the spans of every key and value.

use toml::de::{DeTable, DeValue};

use super::{Entry, Format, Lines, MAX_DEPTH, SyntaxError, dotted_key, error, join, quoted};

pub(super) fn read_toml(text: &str) -> Result<Vec<Entry>, SyntaxError> {
    let lines = Lines::new(text);
    let table = DeTable::parse(text).map_err(|err| {
        let (line, col) = err.span().map_or((1, 1), |s| lines.position(s.start));
        error(Format::Toml, line, col, err.message().trim_end())
    })?;
    let mut entries = Vec::new();
    let span = table.span();
    toml_value(&lines, "", &DeValue::Table(table.into_inner()), span, 0, &mut entries)?;
    Ok(entries)
}

fn toml_value(
    lines: &Lines<'_>,
    key: &str,
    value: &DeValue<'_>,
    span: std::ops::Range<usize>,
    depth: usize,
    entries: &mut Vec<Entry>,
) -> Result<(), SyntaxError> {
    let (line, col) = lines.position(span.start);
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
                toml_value(lines, &child, v.get_ref(), v.span(), depth + 1, entries)?;
            }
        }
        DeValue::Array(items) if !items.is_empty() => {
            for (i, v) in items.iter().enumerate() {
                toml_value(lines, &format!("{key}[{i}]"), v.get_ref(), v.span(), depth + 1, entries)?;
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
