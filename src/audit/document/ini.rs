//! INI, as the services that use it read it: `[section]` headers, `key = value` or `key: value`,
//! `;` and `#` comment lines, a value continued on lines indented deeper than its key (Python's
//! configparser), and bare keys: a name alone on its line is a flag that is set (MySQL's
//! `skip-name-resolve`, uWSGI's `strict`, configparser's `allow_no_value`), as are MySQL's
//! `!include` and `!includedir` lines.

use super::{Entry, Format, SyntaxError, dotted_key, error, join, quoted};

/// What a bare key shows as its value: nothing is written, and `""` would read as an empty one.
pub(super) const NO_VALUE: &str = "(no value)";

pub(super) fn read_ini(text: &str) -> Result<Vec<Entry>, SyntaxError> {
    let mut entries: Vec<Entry> = Vec::new();
    let mut section = String::new();
    // The indentation of the last key with a value, which deeper lines continue.
    let mut continues: Option<usize> = None;
    for (n, raw) in text.lines().enumerate() {
        let line = (n + 1) as u32;
        let trimmed = raw.trim();
        let indent = raw.len() - raw.trim_start().len();
        if trimmed.is_empty() || trimmed.starts_with([';', '#']) {
            continue;
        }
        if let Some(key_indent) = continues
            && indent > key_indent
            && let Some(last) = entries.last_mut()
        {
            // Lines join with line breaks, as configparser joins them (an empty first line adds none).
            let text = last.text.get_or_insert_with(String::new);
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(trimmed);
            last.value = quoted(text);
            continue;
        }
        continues = None;
        let col = indent as u32 + 1;
        if let Some(name) = trimmed.strip_prefix('[') {
            let Some((name, after)) = name.split_once(']') else {
                return Err(error(Format::Ini, line, col, format!("unclosed section header `{trimmed}`")));
            };
            let after = after.trim_start();
            if !after.is_empty() && !after.starts_with([';', '#']) {
                return Err(error(Format::Ini, line, col, format!("text after the section header `{trimmed}`")));
            }
            section = dotted_key(name.trim());
            continue;
        }
        let Some(at) = trimmed.find(['=', ':']) else {
            // A bare key is one word (a sentence is a mistake, not a flag); MySQL's include
            // directives take a path.
            if !trimmed.contains(char::is_whitespace) || trimmed.starts_with("!include") {
                entries.push(Entry {
                    key: join(&section, &dotted_key(trimmed)),
                    value: NO_VALUE.to_string(),
                    text: None,
                    line,
                    col,
                });
                continue;
            }
            return Err(error(Format::Ini, line, col, format!("expected `key = value`, found `{trimmed}`")));
        };
        let (key, value) = (trimmed[..at].trim(), trimmed[at + 1..].trim());
        if key.is_empty() {
            return Err(error(Format::Ini, line, col, format!("a value without a key: `{trimmed}`")));
        }
        let value = unquote(value);
        entries.push(Entry {
            key: join(&section, &dotted_key(key)),
            value: quoted(&value),
            text: Some(value),
            line,
            col,
        });
        continues = Some(indent);
    }
    Ok(entries)
}

/// A value in one pair of matching quotes, without them.
fn unquote(value: &str) -> String {
    for quote in ['"', '\''] {
        if value.len() >= 2 && value.starts_with(quote) && value.ends_with(quote) {
            return value[1..value.len() - 1].to_string();
        }
    }
    value.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Vec<(String, String, u32)> {
        read_ini(text).unwrap_or_else(|e| panic!("{e:?}")).into_iter().map(|e| (e.key, e.value, e.line)).collect()
    }

    fn e(key: &str, value: &str, line: u32) -> (String, String, u32) {
        (key.to_string(), value.to_string(), line)
    }

    #[test]
    fn bare_keys_are_flags() {
        // Regression (issue 10): MySQL's my.cnf and uWSGI's ini were syntax errors.
        let my_cnf = "[mysqld]\nskip-name-resolve\nport = 3306\n!includedir /etc/mysql/conf.d/\n";
        assert_eq!(
            read(my_cnf),
            [
                e("mysqld.skip-name-resolve", NO_VALUE, 2),
                e("mysqld.port", "\"3306\"", 3),
                e("mysqld.\"!includedir /etc/mysql/conf.d/\"", NO_VALUE, 4)
            ]
        );
        assert_eq!(read("[uwsgi]\nstrict\nmaster = true\n")[0], e("uwsgi.strict", NO_VALUE, 2));
        assert!(read_ini("[s]\nnot a setting\n").is_err());
    }

    #[test]
    fn deeper_lines_continue_a_value_and_equally_indented_keys_do_not() {
        let text = "[loggers]\nkeys =\n    root,\n    app\n[handler]\n  level = INFO\n  stream = stderr\n";
        assert_eq!(
            read(text),
            [
                e("loggers.keys", "\"root,\\napp\"", 2),
                e("handler.level", "\"INFO\"", 6),
                e("handler.stream", "\"stderr\"", 7)
            ]
        );
    }

    #[test]
    fn a_section_header_may_carry_a_comment() {
        assert_eq!(read("[client] ; used by mysql\nuser = app\n"), [e("client.user", "\"app\"", 2)]);
        assert!(read_ini("[client] user = app\n").is_err());
    }
}
