//! Comments, by each language's syntax: what of a line is code. A commented-out `curl -k` turns
//! nothing off, and a file name in a comment of a test is not a test of that file.
//!
//! A small lexer, line by line: quotes (`'`, `"`, `` ` ``) open strings that end on the same
//! line, so a comment marker inside a string is text; block comments (`/* */`) run across
//! lines. Where the language is not known ([`Syntax::Generic`], a test file read without its
//! path), only markers no language uses otherwise count: `#` at the start of a line or after a
//! space (not `#include`), `//` after a space or at the start, and `/*` opening a line.

/// How a language writes comments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// `#` to the end of the line, at the start or after a space: shell, Python, Ruby, Perl,
    /// YAML, TOML, Makefiles, Dockerfiles, R, .env and .properties files.
    Hash,
    /// `//` and `/* */`: C and its family, Java, Kotlin, Go, JavaScript, TypeScript, C#, Swift,
    /// Scala.
    Slash,
    /// Rust: `//` and `/* */`, and items under `#[cfg(test)]` are test code, not what ships
    /// (see [`shipped_lines`]).
    Rust,
    /// `#`, `//` and `/* */`: PHP.
    HashSlash,
    /// `--` and `/* */`: SQL, Lua, Haskell.
    Dash,
    /// `;` and `#` at the start of a line: INI files.
    Semicolon,
    /// A language not known: see the module documentation.
    Generic,
    /// No comments: JSON and other data.
    None,
}

impl Syntax {
    /// A short name, part of what cached scans are keyed by.
    pub fn name(self) -> &'static str {
        match self {
            Syntax::Hash => "hash",
            Syntax::Slash => "slash",
            Syntax::Rust => "rust",
            Syntax::HashSlash => "hash-slash",
            Syntax::Dash => "dash",
            Syntax::Semicolon => "semicolon",
            Syntax::Generic => "generic",
            Syntax::None => "none",
        }
    }
}

/// The comment syntax of the file at `path`, by its extension or name.
pub fn syntax_for(path: &str) -> Syntax {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    if name.starts_with("dockerfile")
        || name.ends_with(".dockerfile")
        || name.starts_with("containerfile")
        || matches!(name.as_str(), "makefile" | "gnumakefile" | "rakefile" | "gemfile" | "podfile" | "vagrantfile")
        || name.starts_with(".env")
    {
        return Syntax::Hash;
    }
    match ext {
        "sh" | "bash" | "zsh" | "ksh" | "bats" | "fish" | "py" | "pyw" | "pyi" | "rb" | "rake" | "gemspec" | "pl"
        | "pm" | "yaml" | "yml" | "toml" | "mk" | "r" | "env" | "properties" | "cfg" | "conf" | "tf" | "tfvars"
        | "hcl" | "ps1" | "psm1" | "nix" | "cmake" | "j2" | "jinja" | "jinja2" | "ex" | "exs" | "coffee" | "tcl"
        | "awk" | "sed" => Syntax::Hash,
        "c" | "h" | "cc" | "cpp" | "cxx" | "hpp" | "hh" | "m" | "mm" | "java" | "kt" | "kts" | "groovy" | "gradle"
        | "scala" | "go" | "js" | "mjs" | "cjs" | "jsx" | "ts" | "tsx" | "mts" | "cts" | "cs" | "swift" | "dart"
        | "proto" | "zig" | "v" | "sol" | "css" | "scss" | "less" | "jsonc" | "json5" => Syntax::Slash,
        "rs" => Syntax::Rust,
        "php" | "phtml" => Syntax::HashSlash,
        "sql" | "lua" | "hs" | "elm" | "ada" | "adb" | "ads" => Syntax::Dash,
        "ini" => Syntax::Semicolon,
        "json" | "csv" | "tsv" | "txt" | "md" | "xml" | "svg" | "html" | "lock" => Syntax::None,
        _ => Syntax::Generic,
    }
}

/// The code of every line of `text`: each line with its comments taken out (an all-comment line
/// becomes empty), one entry per line of `text.lines()`.
pub fn code_lines(text: &str, syntax: Syntax) -> Vec<&str> {
    let mut in_block = false;
    lines(text).map(|line| code_of(line, syntax, &mut in_block)).collect()
}

/// The lines of `text`, as `text.lines()` gives them (a `\r` before the newline left out, no
/// empty line after a last newline), found with one vectorised search for the newlines of the
/// whole text: most lines of code are short, and searching for each one's end alone costs more
/// than the search.
fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut start = 0;
    let mut ends = memchr::memchr_iter(b'\n', text.as_bytes());
    std::iter::from_fn(move || {
        let line = match ends.next() {
            Some(end) => {
                let line = &text[start..end];
                start = end + 1;
                line.strip_suffix('\r').unwrap_or(line)
            }
            // The last line, without a newline, keeps a `\r` it ends with.
            None if start < text.len() => {
                let line = &text[start..];
                start = text.len();
                line
            }
            None => return None,
        };
        Some(line)
    })
}

/// The lines of code of `text`, trimmed, comments and blank lines left out: what two versions of
/// a file must share to be the same code.
pub fn code_only(text: &str, syntax: Syntax) -> Vec<&str> {
    code_lines(text, syntax).into_iter().map(str::trim).filter(|line| !line.is_empty()).collect()
}

/// The code of every line of `text` that ships: [`code_lines`], with the lines of test code
/// inside a source file emptied (Rust's `#[cfg(test)]` items, a `mod tests { ... }` at the end
/// of most files). Line numbers are kept. A test's fixture strings (`"curl -k https://x"`, a fake
/// key) are not what the release runs.
pub fn shipped_lines(text: &str, syntax: Syntax) -> Vec<&str> {
    let mut code = code_lines(text, syntax);
    if syntax == Syntax::Rust {
        let mask = rust_test_items(&code);
        for (line, test) in code.iter_mut().zip(mask) {
            if test {
                *line = "";
            }
        }
    }
    code
}

/// Which lines of `text` are test code inside a source file (see [`shipped_lines`]).
pub fn test_code(text: &str, syntax: Syntax) -> Vec<bool> {
    if syntax != Syntax::Rust {
        return vec![false; text.lines().count()];
    }
    rust_test_items(&code_lines(text, syntax))
}

/// The lines of Rust code (comments taken out) that belong to `#[cfg(test)]` items.
fn rust_test_items(code: &[&str]) -> Vec<bool> {
    let mut test = vec![false; code.len()];
    let mut i = 0;
    while i < code.len() {
        if code[i].trim() != "#[cfg(test)]" {
            i += 1;
            continue;
        }
        // The item the attribute is on: to the `;` that ends it, or to the brace that closes
        // its first one. Braces are counted in code outside string and char literals.
        let start = i;
        let mut depth = 0usize;
        let mut opened = false;
        let mut end = code.len() - 1;
        'item: for (j, line) in code.iter().enumerate().skip(start + 1) {
            let mut quote: Option<char> = None;
            let mut escaped = false;
            let line = line.replace("'{'", "").replace("'}'", "").replace("'\"'", "");
            for c in line.chars() {
                match quote {
                    Some(q) => {
                        if escaped {
                            escaped = false;
                        } else if c == '\\' {
                            escaped = true;
                        } else if c == q {
                            quote = None;
                        }
                    }
                    None => match c {
                        '"' => quote = Some('"'),
                        '{' => {
                            depth += 1;
                            opened = true;
                        }
                        '}' => {
                            depth = depth.saturating_sub(1);
                            if opened && depth == 0 {
                                end = j;
                                break 'item;
                            }
                        }
                        ';' if !opened => {
                            end = j;
                            break 'item;
                        }
                        _ => {}
                    },
                }
            }
        }
        for line in &mut test[start..=end] {
            *line = true;
        }
        i = end + 1;
    }
    test
}

/// The code of one line; `in_block` carries a block comment from line to line. Code after a
/// block comment closes on the same line is dropped with it: a rare shape, and dropping text
/// can only hide a match, never invent one.
fn code_of<'a>(line: &'a str, syntax: Syntax, in_block: &mut bool) -> &'a str {
    let bytes = line.as_bytes();
    let mut start = 0;
    if *in_block {
        match line.find("*/") {
            Some(end) => {
                *in_block = false;
                start = end + 2;
                if line[start..].trim().is_empty() {
                    return "";
                }
            }
            None => return "",
        }
    }
    // Most lines hold no byte that can start a comment: their code is the whole line.
    let starts: &[u8] = match syntax {
        Syntax::Hash => b"#",
        Syntax::Slash | Syntax::Rust => b"/",
        Syntax::HashSlash | Syntax::Generic => b"#/",
        Syntax::Dash => b"-/",
        Syntax::Semicolon => b";#",
        Syntax::None => b"",
    };
    let rest = &bytes[start..];
    let may_start = match *starts {
        [] => false,
        [one] => memchr::memchr(one, rest).is_some(),
        [one, two] => memchr::memchr2(one, two, rest).is_some(),
        _ => rest.iter().any(|b| starts.contains(b)),
    };
    if !may_start {
        return &line[start..];
    }
    let blocks = matches!(syntax, Syntax::Slash | Syntax::Rust | Syntax::HashSlash | Syntax::Dash | Syntax::Generic);
    let mut quote: Option<u8> = None;
    let mut i = start;
    // Whether everything from `start` up to `i` is white space, kept as `i` moves (recounting it
    // at every byte made a long line quadratic).
    let mut at_start = true;
    while i < bytes.len() {
        let c = bytes[i];
        if let Some(q) = quote {
            if c == b'\\' {
                i += 2;
                continue;
            }
            if c == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        let spaced = i == 0 || bytes[i - 1].is_ascii_whitespace();
        if i > start && !bytes[i - 1].is_ascii_whitespace() {
            at_start = false;
        }
        let next = bytes.get(i + 1).copied();
        let comment = match c {
            b'#' => match syntax {
                Syntax::Hash | Syntax::HashSlash => spaced,
                // `#include`, `#!/bin/sh` and `#[derive]` are code or directives, not comments.
                Syntax::Generic => spaced && !next.is_some_and(|n| n.is_ascii_alphabetic() || n == b'!' || n == b'['),
                Syntax::Semicolon => at_start,
                _ => false,
            },
            b'/' if next == Some(b'/') => match syntax {
                Syntax::Slash | Syntax::Rust | Syntax::HashSlash => true,
                Syntax::Generic => spaced,
                _ => false,
            },
            b'/' if next == Some(b'*') && blocks && (syntax != Syntax::Generic || at_start) => {
                match line[i + 2..].find("*/") {
                    // A block comment closed on its line: the code before it is the line's code.
                    Some(_) => return line[start..i].trim_end(),
                    None => {
                        *in_block = true;
                        return line[start..i].trim_end();
                    }
                }
            }
            b'-' if next == Some(b'-') => syntax == Syntax::Dash,
            b';' => syntax == Syntax::Semicolon && at_start,
            b'\'' | b'"' | b'`' => {
                quote = Some(c);
                false
            }
            _ => false,
        };
        if comment {
            return line[start..i].trim_end();
        }
        i += 1;
    }
    &line[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lines are `str::lines`'s, line ends and the end of the text included.
    #[test]
    fn lines_are_the_lines_of_the_text() {
        for text in [
            "",
            "\n",
            "\n\n",
            "\r\n",
            "\r",
            "a",
            "a\n",
            "a\nb",
            "a\r\nb\r\n",
            "a\rb\n",
            "a\r",
            "a\n\r",
            "\n\na\n\r\n",
            "x\r\r\n",
            "d\u{e9}j\u{e0}\nvu\r\n",
        ] {
            assert_eq!(lines(text).collect::<Vec<_>>(), text.lines().collect::<Vec<_>>(), "{text:?}");
        }
    }

    #[test]
    fn a_long_line_is_read_in_one_pass() {
        // 200,000 bytes before a comment: whether the comment starts a line was recounted from
        // the line's start at every byte (4e10 steps); one pass is instant.
        let long = format!("{} ; not at the start # a comment", "x".repeat(200_000));
        assert_eq!(code_lines(&long, Syntax::Hash)[0].len(), 200_000 + " ; not at the start".len());
        assert_eq!(code_lines(&long, Syntax::Semicolon)[0], long.as_str());
        assert_eq!(code_lines("   ; all comment", Syntax::Semicolon), [""]);
        assert_eq!(code_lines("a = 1 ; not a comment", Syntax::Semicolon), ["a = 1 ; not a comment"]);
    }

    #[test]
    fn rust_test_items_are_test_code_to_their_closing_brace() {
        let text = "fn main() {\n    run(\"x\");\n}\n\n#[cfg(test)]\nuse std::fs;\n\n#[cfg(test)]\nmod tests {\n    \
                    const C: char = '{';\n    #[test]\n    fn t() {\n        let s = \"} { curl -k\";\n    }\n}\n\nfn after() {}\n";
        let test: Vec<usize> =
            test_code(text, Syntax::Rust).iter().enumerate().filter(|(_, t)| **t).map(|(i, _)| i + 1).collect();
        assert_eq!(test, [5, 6, 8, 9, 10, 11, 12, 13, 14, 15]);
        assert!(test_code(text, Syntax::Slash).iter().all(|t| !t), "only Rust has cfg(test) items");
        assert_eq!(syntax_for("src/lib.rs"), Syntax::Rust);
    }

    fn code(text: &str, path: &str) -> Vec<String> {
        code_lines(text, syntax_for(path)).into_iter().map(str::to_string).collect()
    }

    #[test]
    fn each_language_loses_its_comments_and_keeps_its_strings() {
        assert_eq!(
            code("# curl -k https://x\ncurl -fsS https://x # -k was here\n", "a.sh"),
            ["", "curl -fsS https://x"]
        );
        assert_eq!(
            code("echo \"a # not a comment\"\necho ${#list}\n", "a.sh"),
            ["echo \"a # not a comment\"", "echo ${#list}"]
        );
        assert_eq!(code("x = 1  # verify=False\n", "a.py"), ["x = 1"]);
        assert_eq!(
            code(
                "const u = \"http://x\"; // rejectUnauthorized: false\n/* a\n rejectUnauthorized: false\n*/ run()\n",
                "a.js"
            ),
            ["const u = \"http://x\";", "", "", " run()"]
        );
        assert_eq!(code("a: 1 # debug: true\nb: \"#x\"\n", "a.yaml"), ["a: 1", "b: \"#x\""]);
        assert_eq!(code("SELECT 1; -- DROP TABLE x\n", "a.sql"), ["SELECT 1;"]);
        assert_eq!(code("; debug = true\nx = 1\n", "a.ini"), ["", "x = 1"]);
        assert_eq!(code("{\"a\": \"# x\"}\n", "a.json"), ["{\"a\": \"# x\"}"]);
        // Text that is not ASCII is stepped over byte by byte, never cut inside a character.
        assert_eq!(code("glāžšķūņu rūķīši ; x\n; ā\n", "a.ini"), ["glāžšķūņu rūķīši ; x", ""]);
        assert_eq!(code("é # ā\n", "a.sh"), ["é"]);
    }

    #[test]
    fn no_text_makes_the_lexer_panic() {
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let alphabet: Vec<char> = "#/*-;'\"`\\ \nāž€😀ab".chars().collect();
        let mut text = String::new();
        for _ in 0..20_000 {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            text.push(alphabet[(state >> 33) as usize % alphabet.len()]);
        }
        for syntax in [
            Syntax::Hash,
            Syntax::Slash,
            Syntax::HashSlash,
            Syntax::Dash,
            Syntax::Semicolon,
            Syntax::Generic,
            Syntax::None,
        ] {
            assert_eq!(code_lines(&text, syntax).len(), text.lines().count());
        }
    }

    #[test]
    fn unknown_languages_drop_only_unambiguous_comments() {
        let generic = |t: &str| code_lines(t, Syntax::Generic).into_iter().map(str::to_string).collect::<Vec<_>>();
        assert_eq!(generic("# see bin/x.sh\nrun bin/x.sh\n"), ["", "run bin/x.sh"]);
        assert_eq!(generic("#include \"x.h\"\ncp dir/* out/\n"), ["#include \"x.h\"", "cp dir/* out/"]);
        assert_eq!(generic("fetch('http://x') // x.js\n"), ["fetch('http://x')"]);
    }
}
