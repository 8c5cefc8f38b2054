//! Risky patterns: regular expressions over the lines a release adds, scoped by path globs.
//!
//! A rule says what to look for (`pattern`), where (`paths`), what excuses a match (`unless`,
//! searched from the matching line through the next `window` lines of the new file: a
//! `while true` with a `break` in sight is fine), and why it matters (`reason`). Each rule
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

use crate::git::{ScanHit, line_hash};

/// Lines longer than this are not matched (minified code, data); the cap keeps matching linear.
pub const MAX_LINE: usize = 4096;

#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub pattern: Regex,
    /// Empty: every path.
    pub paths: GlobSet,
    pub unless: Option<Regex>,
    /// How many lines after the match `unless` may be found on (0: the same line).
    pub window: usize,
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
        self.paths.is_empty() || self.paths.is_match(path)
    }

    /// Matches on the added lines of a file: `lines` is the whole new file, `added[i]` whether
    /// line `i` is added by the release.
    pub fn scan(&self, lines: &[&str], added: &[bool]) -> Vec<Hit> {
        (0..lines.len())
            .filter(|&i| {
                added.get(i).copied().unwrap_or(false)
                    && lines[i].len() <= MAX_LINE
                    && self.pattern.is_match(lines[i].as_bytes())
            })
            .filter_map(|i| self.judge(lines, i))
            .collect()
    }

    /// The hit at line `i`, whose text matches the pattern, unless `unless` excuses it.
    fn judge(&self, lines: &[&str], i: usize) -> Option<Hit> {
        if let Some(unless) = &self.unless {
            let end = (i + self.window + 1).min(lines.len());
            let excused = lines[i..end].iter().enumerate().any(|(offset, l)| {
                // On the matching line, only what follows the match counts (`while true; do x || break`).
                let line = l.as_bytes();
                let searched =
                    if offset == 0 { self.pattern.find(line).map_or(line, |m| &line[m.end()..]) } else { line };
                searched.len() <= MAX_LINE && unless.is_match(searched)
            });
            if excused {
                return None;
            }
        }
        Some(Hit { line: (i + 1) as u32, text: lines[i].trim().chars().take(160).collect() })
    }

    /// Runs the rule on an example as if the whole example were added.
    pub fn fires_on(&self, example: &str) -> bool {
        let lines: Vec<&str> = example.lines().collect();
        !self.scan(&lines, &vec![true; lines.len()]).is_empty()
    }
}

/// Several rules run together: one pass of a `RegexSet` per added line finds the rules worth
/// a closer look, so the cost does not grow with the number of rules.
#[derive(Debug)]
pub struct Scanner {
    rules: Vec<Rule>,
    /// All the patterns at once: a line it flags is then judged by the flagged rules.
    set: RegexSet,
}

impl Scanner {
    pub fn new(rules: Vec<Rule>) -> Result<Scanner, regex::Error> {
        let patterns: Vec<&str> = rules.iter().map(|r| r.pattern.as_str()).collect();
        let set = RegexSetBuilder::new(&patterns).unicode(false).build()?;
        Ok(Scanner { rules, set })
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Whether any rule looks at `path`.
    pub fn applies_to(&self, path: &str) -> bool {
        self.rules.iter().any(|r| r.applies_to(path))
    }

    /// A number that changes whenever what the rules match could change: their ids, patterns,
    /// `unless` and windows. Cached matches are keyed by it.
    pub fn fingerprint(&self) -> u64 {
        let mut text = String::new();
        for rule in &self.rules {
            let unless = rule.unless.as_ref().map_or("", |u| u.as_str());
            text.push_str(&format!("{}\u{0}{}\u{0}{unless}\u{0}{}\u{1}", rule.id, rule.pattern.as_str(), rule.window));
        }
        text.bytes()
            .fold(0xcbf2_9ce4_8422_2325u64, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3))
    }

    /// Every match of every rule on any line of `content`, whatever the path: what the blob cache
    /// keeps, so a second run needs neither the content nor a diff.
    pub fn scan_blob(&self, content: &[u8]) -> Vec<ScanHit> {
        let text = String::from_utf8_lossy(content);
        let lines: Vec<&str> = text.lines().collect();
        let everything = vec![true; lines.len()];
        let mut hits = Vec::new();
        for (rule, hit) in self.scan_lines(&lines, &everything, &vec![true; self.rules.len()]) {
            let trimmed = lines[hit.line as usize - 1].as_bytes().trim_ascii();
            hits.push(ScanHit { rule: rule as u16, line: hit.line, hash: line_hash(trimmed), text: hit.text });
        }
        hits
    }

    /// Every hit in a file, as (rule index, hit), in line order.
    pub fn scan(&self, path: &str, lines: &[&str], added: &[bool]) -> Vec<(usize, Hit)> {
        let applicable: Vec<bool> = self.rules.iter().map(|r| r.applies_to(path)).collect();
        self.scan_lines(lines, added, &applicable)
    }

    fn scan_lines(&self, lines: &[&str], added: &[bool], applicable: &[bool]) -> Vec<(usize, Hit)> {
        let mut hits = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            if !added.get(i).copied().unwrap_or(false) || line.len() > MAX_LINE {
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
    let count =
        |counts: &[(u32, u32)], hash: u32| counts.binary_search_by_key(&hash, |(h, _)| *h).map_or(0, |i| counts[i].1);
    let mut result = Vec::new();
    for (index, hit) in hits.iter().enumerate() {
        let rule = hit.rule as usize;
        if rule >= scanner.rules.len() || !scanner.rules[rule].applies_to(path) {
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
            reason: "r".into(),
        }
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
