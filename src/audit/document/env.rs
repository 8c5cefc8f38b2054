//! `.env` files, read as dotenvy, Compose and python-dotenv read them: `KEY=value` lines with
//! an optional `export `, `#` comment lines, a comment after a value (`KEY="x" # why`), and
//! quoted values: `'…'` literally, `"…"` with backslash escapes, both free to span lines
//! (a PEM key in double quotes). Quoted and unquoted pieces join, as in the shell
//! (`KEY=a"b c"` is `ab c`). `${VAR}` is kept as written: gate reads the file, not a process's
//! environment.
//!
//! A `.env` that is a shell script (`if`, `for`, functions) cannot be read as `KEY=value` lines
//! and is not a broken `.env` either: [`shell_code`] says so, and the file is not analysed.

use super::{Entry, Format, SyntaxError, error, quoted};

pub(super) fn read_env(text: &str) -> Result<Vec<Entry>, SyntaxError> {
    let mut entries = Vec::new();
    let mut reader = Reader { text, at: 0, line: 1, line_start: 0 };
    while let Some(statement) = reader.next_statement() {
        let (line, col) = (reader.line, reader.col());
        let rest = statement.strip_prefix("export").filter(|r| r.starts_with([' ', '\t']));
        if let Some(rest) = rest {
            reader.at += statement.len() - rest.trim_start_matches([' ', '\t']).len();
        }
        let key_len = reader.rest().find(['=', ' ', '\t', '\n', '\r']).unwrap_or(reader.rest().len());
        let key = &reader.rest()[..key_len];
        reader.at += key_len;
        reader.skip_blanks();
        if !reader.rest().starts_with('=') {
            let shown = statement.lines().next().unwrap_or("").trim_end();
            return Err(error(Format::Env, line as u32, col as u32, format!("expected `KEY=value`, found `{shown}`")));
        }
        let valid = key.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if !valid {
            return Err(error(Format::Env, line as u32, col as u32, format!("`{key}` is not a variable name")));
        }
        reader.at += 1;
        reader.skip_blanks();
        let value = reader.value()?;
        entries.push(Entry {
            key: key.to_string(),
            value: quoted(&value),
            text: Some(value),
            line: line as u32,
            col: col as u32,
        });
    }
    Ok(entries)
}

/// Why a `.env` that failed at `line` is shell code, if the line is a shell statement.
pub(super) fn shell_code(text: &str, line: u32) -> Option<String> {
    const WORDS: &[&str] = &[
        "if", "then", "elif", "else", "fi", "for", "while", "until", "do", "done", "case", "esac", "function",
        "source", ".", "set", "unset", "echo", "printf", "eval", "exec", "local", "return", "exit", "trap", "cd",
        "test", "[", "[[", "{", "}", "alias", "readonly", "declare", "typeset", "shift",
    ];
    let statement = text.lines().nth(line.checked_sub(1)? as usize)?.trim();
    let word = statement.split([' ', '\t', ';']).next().unwrap_or("");
    // `name() {` defines a function.
    let function = statement.split_once('(').is_some_and(|(name, rest)| {
        let name = name.trim().strip_prefix("function ").unwrap_or(name.trim());
        !name.is_empty() && !name.contains(['=', ' ', '\t', '"', '\'', '$']) && rest.trim_start().starts_with(')')
    });
    (WORDS.contains(&word) || function).then(|| {
        let shown = if function { "name() {" } else { word };
        format!("shell code, not KEY=value lines (`{shown}` at line {line})")
    })
}

/// A cursor over the text that knows its line, for statements and values that span lines.
struct Reader<'t> {
    text: &'t str,
    at: usize,
    /// 1-based line of `at`, and the offset where that line starts.
    line: usize,
    line_start: usize,
}

impl<'t> Reader<'t> {
    fn rest(&self) -> &'t str {
        &self.text[self.at..]
    }

    /// 1-based column of `at`, in characters.
    fn col(&self) -> usize {
        self.text[self.line_start..self.at].chars().count() + 1
    }

    /// Moves to the next statement, past blank and comment lines; returns the text from there.
    fn next_statement(&mut self) -> Option<&'t str> {
        loop {
            self.skip_blanks();
            let rest = self.rest();
            if rest.is_empty() {
                return None;
            }
            if rest.starts_with('#') || rest.starts_with(['\n', '\r']) {
                self.skip_line();
                continue;
            }
            return Some(rest);
        }
    }

    fn skip_blanks(&mut self) {
        let rest = self.rest();
        self.at += rest.len() - rest.trim_start_matches([' ', '\t']).len();
    }

    /// Moves past the end of the current line.
    fn skip_line(&mut self) {
        let rest = self.rest();
        match rest.find('\n') {
            Some(end) => self.advance(end + 1),
            None => self.at = self.text.len(),
        }
    }

    /// Moves `n` bytes on, counting the lines crossed.
    fn advance(&mut self, n: usize) {
        let crossed = &self.text[self.at..self.at + n];
        if let Some(last) = crossed.rfind('\n') {
            self.line += crossed.matches('\n').count();
            self.line_start = self.at + last + 1;
        }
        self.at += n;
    }

    /// The value from the cursor to the end of its statement (the line, or a closing quote's).
    fn value(&mut self) -> Result<String, SyntaxError> {
        let mut value = String::new();
        // Whitespace after unquoted text: kept if more text follows on the line.
        let mut pending = String::new();
        while let Some(c) = self.rest().chars().next() {
            match c {
                '\n' | '\r' => break,
                ' ' | '\t' => {
                    let rest = self.rest().split(['\n', '\r']).next().unwrap_or("");
                    let after = rest.trim_start_matches([' ', '\t']);
                    if after.is_empty() || after.starts_with('#') {
                        self.advance(rest.len());
                        break;
                    }
                    pending.push(c);
                    self.at += 1;
                }
                '"' | '\'' => {
                    value.push_str(&std::mem::take(&mut pending));
                    value.push_str(&self.quoted(c)?);
                }
                _ => {
                    value.push_str(&std::mem::take(&mut pending));
                    value.push(c);
                    self.at += c.len_utf8();
                }
            }
        }
        self.skip_line();
        Ok(value)
    }

    /// A quoted piece starting at the cursor's quote, which may span lines.
    fn quoted(&mut self, quote: char) -> Result<String, SyntaxError> {
        let (line, col) = (self.line as u32, self.col() as u32);
        let body = &self.rest()[1..];
        let mut piece = String::new();
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            if c == quote {
                self.advance(1 + i + 1);
                return Ok(piece);
            }
            if c == '\\' && quote == '"' {
                match chars.next() {
                    Some((_, 'n')) => piece.push('\n'),
                    Some((_, 't')) => piece.push('\t'),
                    Some((_, 'r')) => piece.push('\r'),
                    Some((_, escaped @ ('\\' | '"' | '\'' | '$' | ' '))) => piece.push(escaped),
                    // An unknown escape stays as written (Compose keeps it; a path on Windows).
                    Some((_, other)) => {
                        piece.push('\\');
                        piece.push(other);
                    }
                    None => break,
                }
                continue;
            }
            piece.push(c);
        }
        Err(error(Format::Env, line, col, format!("unclosed `{quote}`: the quoted value runs to the end of the file")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Vec<(String, String, u32)> {
        read_env(text)
            .unwrap_or_else(|e| panic!("{e:?}"))
            .into_iter()
            .map(|e| (e.key, e.text.unwrap(), e.line))
            .collect()
    }

    fn e(key: &str, value: &str, line: u32) -> (String, String, u32) {
        (key.to_string(), value.to_string(), line)
    }

    #[test]
    fn quoted_values_comments_and_export() {
        // Regression (issue 10): `KEY="x" # comment` kept the comment, and a multi-line double-
        // quoted value was a syntax error.
        let text = "export APP_ENV=production\nTITLE=\"Gate\" # shown in the header\nKEY=\"-----BEGIN KEY-----\nMIIB\n-----END KEY-----\"\nRAW='a \\n b' # literal\nURL=http://x#anchor\nEMPTY=\nPAD = spaced  # trailing\nMIXED=a\"b c\"d\n";
        assert_eq!(
            read(text),
            [
                e("APP_ENV", "production", 1),
                e("TITLE", "Gate", 2),
                e("KEY", "-----BEGIN KEY-----\nMIIB\n-----END KEY-----", 3),
                e("RAW", "a \\n b", 6),
                e("URL", "http://x#anchor", 7),
                e("EMPTY", "", 8),
                e("PAD", "spaced", 9),
                e("MIXED", "ab cd", 10),
            ]
        );
        assert_eq!(read("ESC=\"say \\\"hi\\\"\\nbye\"\n"), [e("ESC", "say \"hi\"\nbye", 1)]);
    }

    #[test]
    fn an_unclosed_quote_is_located_where_it_opens() {
        let err = read_env("A=1\nB=\"never closed\nC=3\n").unwrap_err();
        assert_eq!((err.line, err.col), (2, 3), "{err:?}");
    }

    #[test]
    fn shell_statements_are_told_apart_from_broken_lines() {
        let script = "A=1\nif [ -f .env.local ]; then\n  . ./.env.local\nfi\n";
        let err = read_env(script).unwrap_err();
        assert_eq!(shell_code(script, err.line).as_deref(), Some("shell code, not KEY=value lines (`if` at line 2)"));
        let function = "load_env() {\n  export A=1\n}\n";
        assert!(shell_code(function, read_env(function).unwrap_err().line).is_some());
        let yaml = "LDAP:\n  HOST: ldap.corp\n";
        assert_eq!(shell_code(yaml, read_env(yaml).unwrap_err().line), None);
    }
}
