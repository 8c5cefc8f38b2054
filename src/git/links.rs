//! Symlinks that ship: a link is analysed through what it points at.
//!
//! `bin/deploy.sh -> ../data/payload.txt` deploys the payload under a script's name; checks that
//! read a script's content would otherwise see the link's text (`../data/payload.txt`) and
//! nothing else. A link whose target is a file inside the release tree stands for that file;
//! one that leaves the tree, or points at nothing gate can read, is reported.

use std::path::Path;

use git2::{ObjectType, Oid};

use super::{BlobStore, ChangeSet, ContentKind, Mode, Repo, Side, short};
use crate::{Error, Result};

/// How many links in a row gate follows before it calls the chain a loop.
const MAX_HOPS: usize = 8;

/// A changed symlink, and what it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub path: String,
    /// What the link says, as written.
    pub target: String,
    /// Where it resolves to in the tree: the file it stands for, or why there is none.
    pub resolved: std::result::Result<String, LinkProblem>,
}

/// Why a link stands for no file of the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkProblem {
    /// It is absolute, or climbs out of the repository with `..`.
    OutOfTree,
    /// It points at nothing, at a directory, at a submodule, or round in circles.
    Unreadable(String),
}

/// Follows the changed symlinks whose path `wanted` accepts: each one that resolves to a file
/// of the release tree takes that file's content (blob, mode, size, binary flag), so every
/// check analyses the target under the link's name. Returns every link followed or not.
pub fn follow_links(
    repo: &Repo,
    store: &BlobStore<'_>,
    release_tree: Oid,
    changes: &mut ChangeSet,
    wanted: &dyn Fn(&str) -> bool,
) -> Result<Vec<Link>> {
    let fail = |err: git2::Error| Error::git(format!("cannot read tree {}", short(release_tree)), &err);
    let tree = repo.git.find_tree(release_tree).map_err(fail)?;
    let mut links = Vec::new();
    for change in &mut changes.changes {
        let Some(side) = change.new.as_mut().filter(|s| s.mode == Mode::Symlink) else { continue };
        if !wanted(&change.path) {
            continue;
        }
        let text = link_text(repo, side.id)?;
        let resolved = resolve(repo, &tree, &change.path, &text)?;
        if let Ok((path, target)) = &resolved {
            *side = target.clone();
            change.binary = store.facts(target.id)?.kind != ContentKind::Text;
            links.push(Link { path: change.path.clone(), target: text, resolved: Ok(path.clone()) });
        } else if let Err(problem) = resolved {
            links.push(Link { path: change.path.clone(), target: text, resolved: Err(problem) });
        }
    }
    Ok(links)
}

fn link_text(repo: &Repo, id: Oid) -> Result<String> {
    let blob = repo.git.find_blob(id).map_err(|err| Error::git(format!("cannot read symlink {}", short(id)), &err))?;
    Ok(String::from_utf8_lossy(blob.content()).into_owned())
}

/// The file a link at `path` saying `text` stands for, following links up to [`MAX_HOPS`].
fn resolve(
    repo: &Repo,
    tree: &git2::Tree<'_>,
    path: &str,
    text: &str,
) -> Result<std::result::Result<(String, Side), LinkProblem>> {
    let (mut at, mut text) = (path.to_string(), text.to_string());
    for _ in 0..MAX_HOPS {
        let Some(target) = join(&at, &text) else { return Ok(Err(LinkProblem::OutOfTree)) };
        let entry = match tree.get_path(Path::new(&target)) {
            Ok(entry) => entry,
            Err(_) => return Ok(Err(LinkProblem::Unreadable(format!("{target} is not in the release tree")))),
        };
        match (entry.kind(), entry.filemode()) {
            (Some(ObjectType::Blob), 0o120000) => {
                text = link_text(repo, entry.id())?;
                at = target;
            }
            (Some(ObjectType::Blob), mode) => {
                let (size, _) = repo
                    .git
                    .odb()
                    .and_then(|odb| odb.read_header(entry.id()))
                    .map_err(|err| Error::git(format!("cannot read {target}"), &err))?;
                let mode = if mode == 0o100755 { Mode::Executable } else { Mode::File };
                return Ok(Ok((target, Side { id: entry.id(), mode, size: size as u64 })));
            }
            (Some(ObjectType::Tree), _) => {
                return Ok(Err(LinkProblem::Unreadable(format!("{target} is a directory"))));
            }
            _ => return Ok(Err(LinkProblem::Unreadable(format!("{target} is a submodule")))),
        }
    }
    Ok(Err(LinkProblem::Unreadable(format!("more than {MAX_HOPS} links in a row (a loop?)"))))
}

/// `text` read from the directory of `link`, lexically; `None` when it is absolute or climbs
/// out of the repository.
fn join(link: &str, text: &str) -> Option<String> {
    if text.starts_with('/') || text.is_empty() {
        return None;
    }
    let mut parts: Vec<&str> = link.split('/').collect();
    parts.pop();
    for part in text.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_resolve_lexically_inside_the_tree() {
        assert_eq!(join("bin/deploy.sh", "../scripts/deploy.sh").as_deref(), Some("scripts/deploy.sh"));
        assert_eq!(join("bin/deploy.sh", "./real.sh").as_deref(), Some("bin/real.sh"));
        assert_eq!(join("deploy.sh", "../../etc/passwd"), None);
        assert_eq!(join("bin/deploy.sh", "/etc/passwd"), None);
    }
}
