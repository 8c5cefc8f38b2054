//! Java `.properties`, read as `java.util.Properties.load` reads them: `key=value`,
//! `key: value` or `key value`; `#` and `!` comment lines; a line ending in an odd number of
//! backslashes continues on the next (whose leading whitespace is dropped); `\=`, `\:`, `\ `
//! and `\#` keep a character in the key, `\t`, `\n`, `\r`, `\f` and `\uXXXX` are escapes, and any
//! other escaped character stands for itself. The value keeps its trailing whitespace, as Java
//! does. A malformed `\u` escape is the one error: Java refuses the file for it.

use super::{Entry, Format, SyntaxError, dotted_key, error, quoted};

const WHITESPACE: [char; 3] = [' ', '\t', '\x0c'];

pub(super) fn read_properties(text: &str) -> Result<Vec<Entry>, SyntaxError> {
    let mut entries = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((n, raw)) = lines.next() {
        let trimmed = raw.trim_start_matches(WHITESPACE);
        if trimmed.is_empty() || trimmed.starts_with(['#', '!']) {
            continue;
        }
        let (line, col) = ((n + 1) as u32, (raw[..raw.len() - trimmed.len()].chars().count() + 1) as u32);
        let mut logical = trimmed.to_string();
        while continues(&logical) {
            logical.pop();
            match lines.next() {
                Some((_, next)) => logical.push_str(next.trim_start_matches(WHITESPACE)),
                None => break,
            }
        }
        let (key, value) = split(&logical);
        let key = unescape(key).map_err(|bad| malformed(line, col, &bad))?;
        let value = unescape(value).map_err(|bad| malformed(line, col, &bad))?;
        entries.push(Entry { key: dotted_key(&key), value: quoted(&value), text: Some(value), line, col });
    }
    Ok(entries)
}

/// An odd number of trailing backslashes: the last one escapes the line break.
fn continues(line: &str) -> bool {
    line.chars().rev().take_while(|c| *c == '\\').count() % 2 == 1
}

/// The key as written (up to the first unescaped `=`, `:` or whitespace) and the value after
/// the separator.
fn split(logical: &str) -> (&str, &str) {
    let mut chars = logical.char_indices();
    let mut end = logical.len();
    while let Some((i, c)) = chars.next() {
        if c == '\\' {
            chars.next();
        } else if c == '=' || c == ':' || WHITESPACE.contains(&c) {
            end = i;
            break;
        }
    }
    let rest = logical[end..].trim_start_matches(WHITESPACE);
    let rest = rest.strip_prefix(['=', ':']).unwrap_or(rest);
    (&logical[..end], rest.trim_start_matches(WHITESPACE))
}

/// The text with its escapes resolved; the malformed `\u` escape when there is one.
fn unescape(text: &str) -> Result<String, String> {
    if !text.contains('\\') {
        return Ok(text.to_string());
    }
    let mut units: Vec<u16> = Vec::with_capacity(text.len());
    let mut chars = text.chars();
    let mut buffer = [0u16; 2];
    while let Some(c) = chars.next() {
        let c = match c {
            '\\' => match chars.next() {
                Some('t') => '\t',
                Some('n') => '\n',
                Some('r') => '\r',
                Some('f') => '\x0c',
                Some('u') => {
                    let hex: String = chars.clone().take(4).collect();
                    match u16::from_str_radix(&hex, 16) {
                        Ok(unit) if hex.len() == 4 && hex.chars().all(|h| h.is_ascii_hexdigit()) => {
                            // UTF-16 units: a surrogate pair is two escapes.
                            units.push(unit);
                            chars.nth(3);
                            continue;
                        }
                        _ => return Err(format!("\\u{hex}")),
                    }
                }
                Some(other) => other,
                // A backslash at the very end (a continuation with no next line) is dropped.
                None => break,
            },
            c => c,
        };
        units.extend_from_slice(c.encode_utf16(&mut buffer));
    }
    Ok(char::decode_utf16(units).map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER)).collect())
}

fn malformed(line: u32, col: u32, escape: &str) -> SyntaxError {
    error(Format::Properties, line, col, format!("malformed \\uxxxx escape `{escape}` (Java refuses the file)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Vec<(String, String, u32)> {
        read_properties(text)
            .unwrap_or_else(|e| panic!("{e:?}"))
            .into_iter()
            .map(|e| (e.key, e.text.unwrap(), e.line))
            .collect()
    }

    fn e(key: &str, value: &str, line: u32) -> (String, String, u32) {
        (key.to_string(), value.to_string(), line)
    }

    #[test]
    fn escapes_and_continuations_read_as_java_reads_them() {
        // Regression (issue 10): `a\=b` split the key at the escaped `=`, and `\u0041` stayed.
        let text = "a\\=b = c\nletter=\\u0041\\u00e9\nemoji=\\ud83d\\ude00\npath = C:\\\\tools\\\\bin\nlist = one, \\\n       two, \\\n  three\ntab\\ key:\\tvalue\nkey value with spaces  \nends = with\\\\\nnext = 1\n";
        assert_eq!(
            read(text),
            [
                e("a=b", "c", 1),
                e("letter", "Aé", 2),
                e("emoji", "😀", 3),
                e("path", "C:\\tools\\bin", 4),
                e("list", "one, two, three", 5),
                e("tab key", "\tvalue", 8),
                e("key", "value with spaces  ", 9),
                e("ends", "with\\", 10),
                e("next", "1", 11),
            ]
        );
        // A continued line that starts with `#` is value, not a comment.
        assert_eq!(read("a = 1\\\n# still a\n"), [e("a", "1# still a", 1)]);
    }

    #[test]
    fn a_malformed_unicode_escape_is_an_error() {
        let err = read_properties("ok=1\n  bad=\\u00zz\n").unwrap_err();
        assert_eq!((err.line, err.col), (2, 3));
        assert!(err.message.contains("`\\u00zz`"), "{err:?}");
    }
}
