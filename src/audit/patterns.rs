//! Risky patterns: regular expressions over the lines a release adds, scoped by path globs.
//!
//! A rule says what to look for (`pattern`), where (`paths`), what excuses a match (`unless`,
//! searched from the matching line through the next `window` lines of the new file: a
//! `while true` with a `break` in sight is fine), and why it matters (`reason`). Each rule
//! carries examples that must fire (`fires`) and must not (`passes`); they are checked when the
//! policy loads, so a rule that does not do what it says is a policy error, not a silent miss.

use globset::GlobSet;
use regex::Regex;

/// Lines longer than this are not matched (minified code, data); the cap keeps matching linear.
const MAX_LINE: usize = 4096;

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
        let mut hits = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            if !added.get(i).copied().unwrap_or(false) || line.len() > MAX_LINE || !self.pattern.is_match(line) {
                continue;
            }
            if let Some(unless) = &self.unless {
                let end = (i + self.window + 1).min(lines.len());
                let excused = lines[i..end].iter().enumerate().any(|(offset, l)| {
                    // On the matching line, only what follows the match counts (`while true; do x || break`).
                    let searched = if offset == 0 { self.pattern.find(l).map_or(*l, |m| &l[m.end()..]) } else { l };
                    searched.len() <= MAX_LINE && unless.is_match(searched)
                });
                if excused {
                    continue;
                }
            }
            hits.push(Hit { line: (i + 1) as u32, text: line.trim().chars().take(160).collect() });
        }
        hits
    }

    /// Runs the rule on an example as if the whole example were added.
    pub fn fires_on(&self, example: &str) -> bool {
        let lines: Vec<&str> = example.lines().collect();
        !self.scan(&lines, &vec![true; lines.len()]).is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(pattern: &str, unless: Option<&str>, window: usize) -> Rule {
        Rule {
            id: "t".into(),
            pattern: Regex::new(pattern).unwrap(),
            paths: GlobSet::empty(),
            unless: unless.map(|u| Regex::new(u).unwrap()),
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
    fn the_unless_on_the_matching_line_only_counts_after_the_match() {
        let r = rule(r"rm\s+-rf\s+\$\{?\w+", Some(r":\?"), 0);
        assert!(!r.fires_on("rm -rf \"${DIR:?}\"/"));
        assert!(r.fires_on("rm -rf $DIR/"));
    }
}
