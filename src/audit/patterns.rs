//! Risky patterns: regular expressions over the code of the lines a release adds, scoped by path
//! globs. Comments are not code: each line is matched without its comment, by the comment syntax
//! of the file's language (`audit::comments`), so a commented-out `curl -k` turns nothing off.
//!
//! A rule says what to look for (`pattern`), where (`paths`), what excuses a match (`unless`,
//! searched from the matching line through the next `window` lines of the new file: a
//! `while true` with a `break` in sight is fine; `unless-after`, searched from the match to the
//! end of the file: a `set +e` turned back by a later `set -e`; `unless-scoped`, the match sits
//! in a shell function or a subshell; `unless-assigned`, the variable the pattern captures as
//! `var` is assigned a literal earlier in the file), and why it matters (`reason`). Each rule
//! carries examples that must fire (`fires`) and must not (`passes`); they are checked when the
//! policy loads, so a rule that does not do what it says is a policy error, not a silent miss.
//!
//! Patterns are compiled with ASCII classes: `\w`, `\b`, `\d` and `(?i)` concern ASCII only
//! (write `(?u)` in a pattern for Unicode). Code and configuration are ASCII where these rules
//! look, and a Unicode `\b` would push the regex engine onto its slowest path on any line with
//! another character.

/// Compiles a rule's pattern the way every rule is compiled.
pub fn compile(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern).unicode(false).build()
}

use globset::GlobSet;
use regex::bytes::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};

use super::comments::{self, Syntax};
use crate::git::{ScanHit, line_hash};

/// Lines longer than this are not matched (minified code, data); the cap keeps matching linear.
pub const MAX_LINE: usize = 4096;

/// How many lines of code before a match `unless-guarded` looks at (blank lines not counted).
pub const GUARD_LINES: usize = 3;

/// The text of a hit is cut to about this many characters, around the match on a long line.
const SHOWN: usize = 160;

#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub pattern: Regex,
    /// Empty: every path.
    pub paths: GlobSet,
    pub unless: Option<Regex>,
    /// How many lines after the match `unless` may be found on (0: the same line).
    pub window: usize,
    /// Found after the match, on its line or any later one, excuses it.
    pub unless_after: Option<Regex>,
    /// Found on one of the [`GUARD_LINES`] lines of code before the match, excuses it.
    pub unless_guarded: Option<Regex>,
    /// A match inside a shell function or a subshell is excused.
    pub unless_scoped: bool,
    /// A match whose `var` capture is assigned a literal earlier in the file is excused.
    pub unless_assigned: bool,
    pub reason: String,
}

/// A match of a rule on an added line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// 1-based line in the new file.
    pub line: u32,
    /// The matching line, trimmed.
    pub text: String,
}

impl Rule {
    /// Whether the rule looks at `path`.
    pub fn applies_to(&self, path: &str) -> bool {
        self.applies_to_candidate(&globset::Candidate::new(path))
    }

    /// [`Rule::applies_to`] for a path split once for several rules.
    pub fn applies_to_candidate(&self, path: &globset::Candidate<'_>) -> bool {
        self.paths.is_empty() || self.paths.is_match_candidate(path)
    }

    /// Matches on the added lines of a file: `code` is the code of every line of the new file
    /// (comments taken out), `added[i]` whether line `i` is added by the release.
    pub fn scan(&self, code: &[&str], added: &[bool]) -> Vec<Hit> {
        (0..code.len())
            .filter(|&i| added.get(i).copied().unwrap_or(false) && self.pattern.is_match(code[i].as_bytes()))
            .filter_map(|i| self.judge(code, i))
            .collect()
    }

    /// The hit at line `i`, whose code matches the pattern, unless something excuses it.
    fn judge(&self, code: &[&str], i: usize) -> Option<Hit> {
        let line = code[i].as_bytes();
        let found = self.pattern.captures(line)?;
        let whole = found.get(0)?;
        // On the matching line, only what follows the match counts (`while true; do x || break`).
        let after = &line[whole.end()..];
        if let Some(unless) = &self.unless {
            let end = (i + self.window + 1).min(code.len());
            let later = code[i + 1..end].iter().any(|l| unless.is_match(l.as_bytes()));
            if unless.is_match(after) || later {
                return None;
            }
        }
        if let Some(restored) = &self.unless_after
            && (restored.is_match(after) || code[i + 1..].iter().any(|l| restored.is_match(l.as_bytes())))
        {
            return None;
        }
        if let Some(guard) = &self.unless_guarded
            && code[..i]
                .iter()
                .rev()
                .filter(|l| !l.trim().is_empty())
                .take(GUARD_LINES)
                .any(|l| guard.is_match(l.as_bytes()))
        {
            return None;
        }
        if self.unless_scoped && scoped(code, i, whole.start()) {
            return None;
        }
        if self.unless_assigned
            && let Some(var) = found.name("var")
            && assigned_literal(&code[..i], &String::from_utf8_lossy(var.as_bytes()))
        {
            return None;
        }
        Some(Hit { line: (i + 1) as u32, text: shown(code[i], whole.start(), whole.end()) })
    }

    /// Runs the rule on an example as if the whole example were added, comments taken out as in
    /// a file of unknown language.
    pub fn fires_on(&self, example: &str) -> bool {
        let code = comments::code_lines(example, Syntax::Generic);
        !self.scan(&code, &vec![true; code.len()]).is_empty()
    }
}

/// A line as a finding shows it: trimmed, and on a long line (minified code) the part around
/// the match, cut on character boundaries.
fn shown(line: &str, start: usize, end: usize) -> String {
    let trimmed = line.trim();
    if trimmed.chars().count() <= SHOWN {
        return trimmed.to_string();
    }
    let floor = |mut at: usize| {
        while !line.is_char_boundary(at) {
            at -= 1;
        }
        at
    };
    let from = floor(start.saturating_sub(SHOWN / 3));
    let to = floor((end + SHOWN / 3).min(line.len()).max(from));
    let mut text: String = line[from..to].trim().chars().take(SHOWN).collect();
    if from > 0 {
        text.insert(0, '…');
    }
    if to < line.len() {
        text.push('…');
    }
    text
}

/// Whether the match at byte `at` of line `i` sits in a subshell opened before it on its line
/// (`( set +e; probe )`), or in the body of a shell function (`name() {` or `function name {`
/// to its closing brace).
fn scoped(code: &[&str], i: usize, at: usize) -> bool {
    let before = &code[i][..at];
    if before.matches('(').count() > before.matches(')').count() {
        return true;
    }
    // Blocks still open at line i, each saying whether it is a function body.
    let mut open: Vec<bool> = Vec::new();
    let mut header = false;
    for line in &code[..i] {
        let trimmed = line.trim();
        let is_header = trimmed.starts_with("function ")
            || trimmed.split_once("()").is_some_and(|(name, _)| {
                !name.is_empty()
                    && name.trim().chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ':' | '.'))
            });
        header |= is_header;
        let mut previous = ' ';
        for c in line.chars() {
            match c {
                // `${VAR}` opens an expansion, closed by its own brace.
                '{' if previous == '$' => open.push(false),
                '{' => {
                    open.push(header);
                    header = false;
                }
                '}' => {
                    open.pop();
                }
                _ => {}
            }
            previous = c;
        }
        if !is_header {
            header = false;
        }
    }
    open.iter().any(|function| *function)
}

/// Whether one of `earlier` assigns `var` a value that starts with a literal, neither empty nor
/// `/` alone: `DIR=/srv/app`, `local RELEASE="swaks-${VERSION}"`, `X="/var/${X}"`.
fn assigned_literal(earlier: &[&str], var: &str) -> bool {
    let var = var.trim_start_matches(['$', '{', '"', '\'']);
    if var.is_empty() {
        return false;
    }
    earlier.iter().any(|line| {
        line.split(['&', ';', '|']).any(|statement| {
            let statement = statement.trim();
            let statement = ["export ", "local ", "readonly ", "declare ", "typeset "]
                .iter()
                .find_map(|keyword| statement.strip_prefix(keyword))
                .unwrap_or(statement)
                .trim_start();
            // `declare -r X=...`: flags before the name.
            let mut statement = statement;
            while let Some(rest) = statement.strip_prefix('-') {
                statement = rest.split_once(' ').map_or("", |(_, rest)| rest).trim_start();
            }
            let Some(value) = statement.strip_prefix(var).and_then(|rest| rest.strip_prefix('=')) else {
                return false;
            };
            let value = value.trim_start_matches(['"', '\'']);
            let literal: String = value.chars().take_while(|c| !matches!(c, '$' | '"' | '\'' | ' ' | '`')).collect();
            literal.chars().any(|c| c != '/')
        })
    })
}

/// Several rules run together: one pass of a `RegexSet` per added line finds the rules worth
/// a closer look, so the cost does not grow with the number of rules.
#[derive(Debug)]
pub struct Scanner {
    rules: Vec<Rule>,
    /// All the patterns at once: a line it flags is then judged by the flagged rules.
    set: RegexSet,
    /// The rules' part of [`Scanner::fingerprint`], hashed once (a run asks for every file).
    rules_fingerprint: u64,
}

impl Scanner {
    pub fn new(rules: Vec<Rule>) -> Result<Scanner, regex::Error> {
        let patterns: Vec<&str> = rules.iter().map(|r| r.pattern.as_str()).collect();
        let set = RegexSetBuilder::new(&patterns).unicode(false).build()?;
        let mut text = String::new();
        for rule in &rules {
            let unless = rule.unless.as_ref().map_or("", |u| u.as_str());
            let after = rule.unless_after.as_ref().map_or("", |u| u.as_str());
            let guard = rule.unless_guarded.as_ref().map_or("", |u| u.as_str());
            text.push_str(&format!(
                "{}\u{0}{}\u{0}{unless}\u{0}{}\u{0}{after}\u{0}{guard}\u{0}{}{}\u{1}",
                rule.id,
                rule.pattern.as_str(),
                rule.window,
                rule.unless_scoped,
                rule.unless_assigned
            ));
        }
        text.push('\u{2}');
        let rules_fingerprint = fnv(0xcbf2_9ce4_8422_2325, text.bytes());
        Ok(Scanner { rules, set, rules_fingerprint })
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Whether any rule looks at `path`.
    pub fn applies_to(&self, path: &crate::config::Candidate<'_>) -> bool {
        self.rules.iter().any(|r| r.applies_to_candidate(path.parts()))
    }

    /// A number that changes whenever what the rules match could change: their ids, patterns,
    /// what excuses a match, and the comment syntax lines are read with. Cached matches are keyed
    /// by it.
    pub fn fingerprint(&self, syntax: Syntax) -> u64 {
        fnv(self.rules_fingerprint, syntax.name().bytes())
    }

    /// Every match of every rule on any line of `content`, whatever the path, with comments
    /// read as `syntax` says: what the blob cache keeps, so a second run needs neither the
    /// content nor a diff. The hash is of the whole trimmed line, as the blob's facts count lines.
    pub fn scan_blob(&self, content: &[u8], syntax: Syntax) -> Vec<ScanHit> {
        let text = String::from_utf8_lossy(content);
        let lines: Vec<&str> = text.lines().collect();
        let code = comments::shipped_lines(&text, syntax);
        let everything = vec![true; lines.len()];
        let mut hits = Vec::new();
        for (rule, hit) in self.scan_lines(&code, &everything, &vec![true; self.rules.len()]) {
            let trimmed = lines[hit.line as usize - 1].as_bytes().trim_ascii();
            hits.push(ScanHit { rule: rule as u16, line: hit.line, hash: line_hash(trimmed), text: hit.text });
        }
        hits
    }

    /// Every hit in a file, as (rule index, hit), in line order; `code` is the code of each line.
    pub fn scan(&self, path: &str, code: &[&str], added: &[bool]) -> Vec<(usize, Hit)> {
        let path = globset::Candidate::new(path);
        let applicable: Vec<bool> = self.rules.iter().map(|r| r.applies_to_candidate(&path)).collect();
        self.scan_lines(code, added, &applicable)
    }

    fn scan_lines(&self, lines: &[&str], added: &[bool], applicable: &[bool]) -> Vec<(usize, Hit)> {
        let mut hits = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            if !added.get(i).copied().unwrap_or(false) || line.is_empty() {
                continue;
            }
            for index in self.set.matches(line.as_bytes()).iter().filter(|&index| applicable[index]) {
                if let Some(hit) = self.rules[index].judge(lines, i) {
                    hits.push((index, hit));
                }
            }
        }
        hits
    }
}

/// What the secret scan is cached under, beside rule sets' fingerprints; it changes when what
/// counts as a secret does.
pub const SECRETS_FINGERPRINT: u64 = 0x5ec2_e75c_0000_0004;

/// What cached secret scans of a file read with `syntax` are keyed by.
/// FNV-1a (64 bits) over `bytes`, from `hash`.
fn fnv(hash: u64, bytes: impl Iterator<Item = u8>) -> u64 {
    bytes.fold(hash, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3))
}

pub fn secrets_fingerprint(syntax: Syntax) -> u64 {
    SECRETS_FINGERPRINT ^ (u64::from(syntax == Syntax::Rust) << 16)
}

/// The lines of `content` that hold a committed private key or access key, masked (see
/// `audit::secrets`). A private-key header counts only with key material after it, on its line
/// or the next (a placeholder `-----BEGIN PRIVATE KEY-----\n...` in a form or a schema is not a
/// key). A password in a URL is left to the configuration checks: defaults such as
/// `postgres://app:app@db` are everywhere in compose files and examples.
pub fn secret_lines(content: &[u8], syntax: Syntax) -> Vec<ScanHit> {
    static USERINFO: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s/@]*@").expect("the userinfo pattern is valid")
    });
    static PEM: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(.*)").expect("the PEM pattern is valid")
    });
    static MATERIAL: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"[A-Za-z0-9+/]{40,}").expect("the key material pattern is valid")
    });
    let text = String::from_utf8_lossy(content);
    // Most files hold no key at all: one pass over the whole text says so. The userinfo pattern
    // never crosses a line, so stripping it from the text strips it from each line; a shape
    // that matches a line matches the text. So a text without a match has no line with one.
    if !super::secrets::holds_key(&USERINFO.replace_all(&text, "")) {
        return Vec::new();
    }
    let lines: Vec<&str> = text.lines().collect();
    let test = comments::test_code(&text, syntax);
    let mut hits = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if test.get(i).copied().unwrap_or(false) {
            continue;
        }
        let without_userinfo = USERINFO.replace_all(line, "");
        let keyed = match PEM.captures(&without_userinfo) {
            Some(pem) => {
                let rest = pem.get(1).map_or("", |m| m.as_str()).replace("\\n", " ");
                let next = lines.get(i + 1).map_or("", |l| l.trim());
                let other =
                    super::secrets::holds_key(&without_userinfo.replace(pem.get(0).map_or("", |m| m.as_str()), ""));
                other || MATERIAL.is_match(&rest) || MATERIAL.is_match(next)
            }
            // A password in a URL is left to the configuration checks, even one with a `/` in it
            // that the userinfo pattern does not strip (`postgres://app:pa/ss@db/app`).
            None => super::secrets::holds_key(&without_userinfo),
        };
        if keyed {
            let trimmed = line.trim();
            let masked: String = super::secrets::mask(trimmed).chars().take(SHOWN).collect();
            hits.push(ScanHit { rule: 0, line: (i + 1) as u32, hash: line_hash(trimmed.as_bytes()), text: masked });
        }
    }
    hits
}

/// The cached matches of a blob that fall on lines the release adds, for the rules that apply to
/// `path`. A line is added when the new blob has more copies of it than the old one
/// (`old_counts`/`new_counts`: line hash -> copies, from the blobs' facts); of several equal
/// matching lines, the last ones count as the added copies.
pub fn added_hits(
    scanner: &Scanner,
    path: &str,
    hits: &[ScanHit],
    old_counts: &[(u32, u32)],
    new_counts: &[(u32, u32)],
) -> Vec<(usize, Hit)> {
    let applies = |rule: usize| rule < scanner.rules.len() && scanner.rules[rule].applies_to(path);
    on_added_lines(hits, old_counts, new_counts, &applies)
}

/// The hits of `hits` whose rule `applies`, that fall on lines the release adds (see
/// [`added_hits`]).
pub fn on_added_lines(
    hits: &[ScanHit],
    old_counts: &[(u32, u32)],
    new_counts: &[(u32, u32)],
    applies: &dyn Fn(usize) -> bool,
) -> Vec<(usize, Hit)> {
    let count =
        |counts: &[(u32, u32)], hash: u32| counts.binary_search_by_key(&hash, |(h, _)| *h).map_or(0, |i| counts[i].1);
    let mut result = Vec::new();
    for (index, hit) in hits.iter().enumerate() {
        let rule = hit.rule as usize;
        if !applies(rule) {
            continue;
        }
        let added = count(new_counts, hit.hash).saturating_sub(count(old_counts, hit.hash)) as usize;
        // This hit is among the last `added` matches of its line (by this rule).
        let later = hits[index + 1..].iter().filter(|h| h.rule == hit.rule && h.hash == hit.hash).count();
        if later < added {
            result.push((rule, Hit { line: hit.line, text: hit.text.clone() }));
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(pattern: &str, unless: Option<&str>, window: usize) -> Rule {
        Rule {
            id: "t".into(),
            pattern: compile(pattern).unwrap(),
            paths: GlobSet::empty(),
            unless: unless.map(|u| compile(u).unwrap()),
            window,
            unless_after: None,
            unless_guarded: None,
            unless_scoped: false,
            unless_assigned: false,
            reason: "r".into(),
        }
    }

    #[test]
    fn comments_are_not_code() {
        let r = rule(r"\bcurl\b.*\s-k\b", None, 0);
        let scanner = Scanner::new(vec![r]).unwrap();
        let script = b"# curl -k https://x\ncurl -fsS https://x # not -k\ncurl -k https://y\n";
        let hits: Vec<u32> = scanner.scan_blob(script, Syntax::Hash).iter().map(|h| h.line).collect();
        assert_eq!(hits, [3]);
    }

    #[test]
    fn errexit_turned_back_on_or_scoped_is_excused() {
        let mut r = rule(r"^\s*set\s+\+e\b", None, 0);
        r.unless_after = Some(compile(r"\bset\s+-[a-z]*e").unwrap());
        r.unless_scoped = true;
        assert!(r.fires_on("set +e\nrun_everything"));
        assert!(!r.fires_on("set +e\nprobe || true\nset -e"));
        assert!(!r.fires_on("set +e; probe; set -euo pipefail"));
        assert!(!r.fires_on("check() {\n  set +e\n  probe\n}\ncheck"));
        assert!(!r.fires_on("function check {\n  echo ${x}\n  set +e\n}"));
        assert!(!r.fires_on("( set +e; probe )"));
        assert!(r.fires_on("check() {\n  probe\n}\nset +e\nrun"));
    }

    #[test]
    fn a_variable_assigned_a_literal_earlier_is_guarded() {
        let mut r = rule(r#"\brm\s+-rf\s+"?\$\{?(?P<var>[A-Za-z_][A-Za-z0-9_]*)"#, Some(r":\?"), 0);
        r.unless_assigned = true;
        assert!(!r.fires_on("DIR=/srv/app/cache\nrm -rf \"$DIR\""));
        assert!(!r.fires_on("local RELEASE=\"swaks-${VERSION}\"\nrm -rf \"${RELEASE}\""));
        assert!(!r.fires_on("X=\"/var/${X}\"\nrm -rf \"${X}\""));
        assert!(!r.fires_on("rm -rf \"${DIR:?}\""));
        assert!(r.fires_on("DIR=\"$1\"\nrm -rf \"$DIR\""));
        assert!(r.fires_on("DIR=/\nrm -rf \"$DIR\""));
        assert!(r.fires_on("DIR=\"\"\nrm -rf $DIR"));
        assert!(r.fires_on("rm -rf $DIR\nDIR=/srv"));
    }

    #[test]
    fn committed_keys_are_found_and_masked() {
        let content = b"aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n-----BEGIN RSA PRIVATE KEY-----\n\
                        MIIEowIBAAKCAQEA7xRq3jof2fhURHfBUH3dHPXLHig5V9Jw5gqeg0w2\n\
                        url: postgres://app:app@db/app\n-----BEGIN PUBLIC KEY-----\n\
                        \"key\": \"-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\"\n\
                        placeholder=\"-----BEGIN PRIVATE KEY-----\\n...\"\n\
                        // \"private-key\": \"-----BEGIN PRIVATE KEY-----\\n...\\n-----END PRIVATE KEY-----\\n\",\n";
        let hits = secret_lines(content, Syntax::Hash);
        let shown: Vec<(u32, &str)> = hits.iter().map(|h| (h.line, h.text.as_str())).collect();
        assert_eq!(shown.iter().map(|(l, _)| *l).collect::<Vec<_>>(), [1, 2, 6], "{shown:?}");
        assert!(!shown[0].1.contains("IOSFODNN7EXAMPLE"), "{}", shown[0].1);
        assert!(!shown[2].1.contains("MIIEvQ"), "{}", shown[2].1);
    }

    #[test]
    fn long_lines_are_matched_and_shown_around_the_match() {
        let r = rule(r"chmod\s+777", None, 0);
        let line = format!("{}chmod 777 /srv{}", "x".repeat(10_000), "y".repeat(10_000));
        let hits = r.scan(&[line.as_str()], &[true]);
        assert_eq!(hits.len(), 1);
        assert!(hits[0].text.contains("chmod 777 /srv") && hits[0].text.chars().count() <= 162, "{}", hits[0].text);
    }

    #[test]
    fn only_added_lines_are_matched() {
        let r = rule(r"chmod\s+777", None, 0);
        let lines = ["chmod 777 a", "chmod 777 b"];
        assert_eq!(r.scan(&lines, &[false, true]), [Hit { line: 2, text: "chmod 777 b".into() }]);
    }

    #[test]
    fn an_exit_in_sight_excuses_a_loop() {
        let r = rule(r"^\s*while\s+true\b", Some(r"\b(break|exit)\b"), 3);
        assert!(r.fires_on("while true; do\n  poll\ndone"));
        assert!(!r.fires_on("while true; do\n  poll || break\ndone"));
        // Out of the window, the break does not count.
        assert!(r.fires_on("while true; do\n a\n b\n c\n d\n break\ndone"));
    }

    #[test]
    fn a_scanner_finds_the_same_hits_as_each_rule() {
        let loops = rule(r"^\s*while\s+true\b", Some(r"\bbreak\b"), 2);
        let chmod = rule(r"chmod\s+777", None, 0);
        let scanner = Scanner::new(vec![loops, chmod]).unwrap();
        let lines = ["while true; do", "  chmod 777 x", "done"];
        let hits: Vec<(usize, u32)> =
            scanner.scan("x.sh", &lines, &[true; 3]).into_iter().map(|(i, h)| (i, h.line)).collect();
        assert_eq!(hits, [(0, 1), (1, 2)]);
    }

    #[test]
    fn the_unless_on_the_matching_line_only_counts_after_the_match() {
        let r = rule(r"rm\s+-rf\s+\$\{?\w+", Some(r":\?"), 0);
        assert!(!r.fires_on("rm -rf \"${DIR:?}\"/"));
        assert!(r.fires_on("rm -rf $DIR/"));
    }
}
