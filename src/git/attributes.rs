//! `.gitattributes`: the files a repository itself marks as generated, vendored or
//! documentation (GitHub linguist's `linguist-generated`, `linguist-vendored`,
//! `linguist-documentation`). gate leaves those out of analysis, as GitHub leaves them out of
//! diffs and language statistics. Only the attribute lines are read; macros and the rest of
//! gitattributes are not gate's business.

use git2::Oid;

use super::Repo;
use crate::Result;

/// The attributes that take a file out of analysis.
pub const OUT_OF_ANALYSIS: &[&str] = &["linguist-generated", "linguist-vendored", "linguist-documentation"];

/// The path globs (gate's glob syntax, whole repository-relative paths) that the root
/// `.gitattributes` of `tree` marks with one of [`OUT_OF_ANALYSIS`]; a later line that unsets
/// the attribute for the same pattern (`-linguist-generated`, `=false`) takes it back.
pub fn out_of_analysis(repo: &Repo, tree: Oid) -> Result<Vec<String>> {
    Ok(super::read_file(repo, tree, ".gitattributes")?.map_or_else(Vec::new, |text| parse(&text)))
}

fn parse(text: &str) -> Vec<String> {
    let mut globs: Vec<String> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with("[attr]") {
            continue;
        }
        let mut words = line.split_whitespace();
        let Some(pattern) = words.next() else { continue };
        let mut setting = None;
        for word in words {
            let (name, on) = match word.split_once('=') {
                Some((name, value)) => (name, !matches!(value, "false" | "0" | "no")),
                None => match word.strip_prefix(['-', '!']) {
                    Some(name) => (name, false),
                    None => (word, true),
                },
            };
            if OUT_OF_ANALYSIS.contains(&name) {
                setting = Some(on);
            }
        }
        let Some(on) = setting else { continue };
        let glob = to_glob(pattern);
        globs.retain(|g| *g != glob);
        if on {
            globs.push(glob);
        }
    }
    globs
}

/// A gitattributes pattern as a glob over whole paths: without a `/` it matches the name at any
/// depth; with one it is anchored at the root; a directory pattern (`dist/`) covers its files.
fn to_glob(pattern: &str) -> String {
    let (pattern, dir) = match pattern.strip_suffix('/') {
        Some(p) => (p, true),
        None => (pattern, false),
    };
    let anchored = pattern.contains('/');
    let pattern = pattern.trim_start_matches('/');
    let mut glob = if anchored || pattern.starts_with("**") { pattern.to_string() } else { format!("**/{pattern}") };
    if dir {
        glob.push_str("/**");
    }
    glob
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linguist_attributes_become_globs_and_can_be_unset() {
        let text = "# generated code\n*.pb.go linguist-generated\n/dist/** linguist-generated=true\n\
                    docs/ linguist-documentation\nvendor/** linguist-vendored\n*.pb.go -linguist-generated\n\
                    api.pb.go linguist-generated\n*.sh text eol=lf\n";
        // `docs/` has no inner `/`: like git, gate matches it at any depth.
        assert_eq!(parse(text), ["dist/**", "**/docs/**", "vendor/**", "**/api.pb.go"]);
    }
}
