//! Version order for release tags: numbers compare as numbers, pre-releases come before their
//! release, and a name's prefix only breaks ties. Git's own `version:refname` sort puts
//! `v2.0.0-rc.1` after `v2.0.0` unless configured; a backtest must not replay a release
//! candidate as if it came after the release.

/// One part of a tag name as a version: the parts of two names compare in order, so a
/// pre-release comes before the end of a name, which comes before more numbers or words.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Part {
    /// `-rc.`, `-beta`, `~`, `a` before a number, `.dev`: what comes before its release, ranked
    /// dev < alpha < beta < the rest (rc, pre, unknown words), then by the word.
    Pre(u8, String),
    End,
    /// A number: its digit count without leading zeros, then its digits, so 9 < 10 at any size.
    Num(usize, String),
    /// Any other text: `.`, `+build`, a hotfix letter (`2024-07a`), `.post`.
    Text(String),
}

/// The sort key of a tag name as a version: v1.2 < v1.10, v2.0.0-rc.1 < v2.0.0 < v2.0.0.1,
/// 1.0a1 < 1.0 < 1.0.post1, 2024-07 < 2024-07a. What comes before the first digit is a prefix
/// and only breaks ties, so `1.9` < `v1.10` when a project changed its tag style, and a stray
/// `v.0.3.6` sorts as 0.3.6.
pub(super) fn version_key(name: &str) -> Vec<Part> {
    let name = &name[name.find(|c: char| c.is_ascii_digit()).unwrap_or(0)..];
    let mut runs: Vec<&str> = Vec::new();
    let mut start = 0;
    for (i, c) in name.char_indices().skip(1) {
        let previous = name[..i].chars().next_back().is_some_and(|p| p.is_ascii_digit());
        if c.is_ascii_digit() != previous {
            runs.push(&name[start..i]);
            start = i;
        }
    }
    if !name.is_empty() {
        runs.push(&name[start..]);
    }
    let mut key = Vec::with_capacity(runs.len() + 1);
    for (i, run) in runs.iter().enumerate() {
        if run.starts_with(|c: char| c.is_ascii_digit()) {
            let digits = run.trim_start_matches('0');
            key.push(Part::Num(digits.len(), digits.to_string()));
            continue;
        }
        let followed_by_number = runs.get(i + 1).is_some();
        let word = run.trim_start_matches(['.', '_', '-', '~']).to_ascii_lowercase();
        let marker = matches!(word.as_str(), "alpha" | "beta" | "rc" | "pre" | "preview" | "dev" | "snapshot")
            || (followed_by_number && matches!(word.as_str(), "a" | "b" | "c" | "m"));
        // Only after a number: a name with no digits at all is plain text.
        let after_number = i > 0;
        if after_number && (run.starts_with(['-', '~']) && run.len() > 1 || marker) {
            let rank = match word.trim_end_matches(['.', '_', '-']) {
                "dev" | "snapshot" => 0,
                "alpha" | "a" => 1,
                "beta" | "b" => 2,
                _ => 3,
            };
            key.push(Part::Pre(rank, word));
        } else {
            key.push(Part::Text(run.to_string()));
        }
    }
    key.push(Part::End);
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(names: &[&str]) -> Vec<String> {
        let mut names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        names.sort_by(|a, b| version_key(a).cmp(&version_key(b)).then_with(|| a.cmp(b)));
        names
    }

    #[test]
    fn numbers_compare_as_numbers() {
        assert_eq!(sorted(&["v1.10", "v1.2", "v1.9", "v10.0", "v2.0"]), ["v1.2", "v1.9", "v1.10", "v2.0", "v10.0"]);
    }

    #[test]
    fn pre_releases_come_before_their_release() {
        assert_eq!(
            sorted(&["v2.0.0", "v2.0.0-rc.1", "v2.0.0-beta.2", "v2.0.0-alpha", "v1.9.9", "v2.0.0.1", "v2.0.0+build.5"]),
            ["v1.9.9", "v2.0.0-alpha", "v2.0.0-beta.2", "v2.0.0-rc.1", "v2.0.0", "v2.0.0+build.5", "v2.0.0.1"]
        );
        assert_eq!(
            sorted(&["1.0", "1.0a1", "1.0rc2", "1.0.post1", "1.0.dev3"]),
            ["1.0.dev3", "1.0a1", "1.0rc2", "1.0", "1.0.post1"]
        );
    }

    #[test]
    fn a_hotfix_letter_comes_after_its_release() {
        assert_eq!(
            sorted(&["2024-07a", "2024-05c", "2024-07", "2024-10"]),
            ["2024-05c", "2024-07", "2024-07a", "2024-10"]
        );
    }

    #[test]
    fn a_name_prefix_is_not_a_pre_release_and_only_breaks_ties() {
        assert_eq!(sorted(&["release-1.10", "release-1.9"]), ["release-1.9", "release-1.10"]);
        assert_eq!(sorted(&["v2.9.0", "v.0.3.6", "1.10", "v1.9"]), ["v.0.3.6", "v1.9", "1.10", "v2.9.0"]);
    }
}
