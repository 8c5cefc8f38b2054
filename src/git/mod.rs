//! Everything that touches git: the repository, the release range, the tree diff, the ledger,
//! notes, and the refs that stop the line or lease an environment to one deploy.

pub mod attributes;
mod blobs;
pub mod bytes;
mod cache;
mod diff;
mod facts;
pub mod lease;
pub mod ledger;
mod links;
mod listing;
pub mod notes;
pub mod pack;
pub mod push;
pub mod reads_log;
mod repo;
pub mod stops;
pub mod sync;
mod tree;

use git2::{ErrorCode, Oid};
use serde::Serialize;

use crate::{Error, Result};

pub use blobs::{BlobStore, Codec, Known, PlannedScan, READ_LIMIT, RefsFn};
pub use cache::{FILE_NAME as CACHE_FILE_NAME, Sealed};
pub use diff::{Change, ChangeSet, Mode, Side, Status, diff_trees};
pub use facts::{ContentKind, Facts, ScanHit, is_binary, line_hash, normalized_lines};
pub use ledger::{Deploy, DeploySource};
pub use links::{Link, LinkProblem, follow_links};
pub use repo::{Actor, Repo, short};
pub use tree::{ChangedPath, Patch, TreeFile, TreeIndex, dir_name, extension, file_name, stem};

/// The release and what it is compared with.
#[derive(Debug, Clone, Serialize)]
pub struct Range {
    pub environment: Option<String>,
    pub release: Release,
    pub base: Base,
}

#[derive(Debug, Clone, Serialize)]
pub struct Release {
    /// The revision as the user gave it (`HEAD` by default).
    pub rev: String,
    #[serde(serialize_with = "serialize_oid")]
    pub commit: Oid,
    #[serde(serialize_with = "serialize_oid")]
    pub tree: Oid,
    pub summary: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Base {
    /// The base commit; none when nothing is deployed yet and the whole release is new.
    #[serde(serialize_with = "serialize_opt_oid")]
    pub commit: Option<Oid>,
    #[serde(serialize_with = "serialize_opt_oid")]
    pub tree: Option<Oid>,
    pub source: BaseSource,
}

/// Why this base was chosen.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum BaseSource {
    /// `--base REV`.
    Argument { rev: String },
    /// The environment's last deploy.
    LastDeploy { deploy: Deploy },
    /// No deploy is recorded: the whole release tree is treated as new.
    FirstDeploy { reason: String },
}

impl Base {
    pub fn is_first_deploy(&self) -> bool {
        matches!(self.source, BaseSource::FirstDeploy { .. })
    }
}

pub(crate) fn serialize_oid<S: serde::Serializer>(id: &Oid, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&id.to_string())
}

fn serialize_opt_oid<S: serde::Serializer>(id: &Option<Oid>, s: S) -> Result<S::Ok, S::Error> {
    match id {
        Some(id) => s.serialize_str(&id.to_string()),
        None => s.serialize_none(),
    }
}

/// Resolves the release and its base.
///
/// The base is, in order: `--base REV`; the environment's last deploy; and when no deploy is
/// recorded (or no environment is given), nothing: the whole release tree is checked as a first
/// deploy, and the report says so. A recorded last deploy whose commit is missing from this
/// clone is an error with the `git fetch` that fixes it, never a silent fallback.
pub fn resolve_range(
    repo: &Repo,
    release: Option<&str>,
    base: Option<&str>,
    environment: Option<ledger::Target<'_>>,
) -> Result<Range> {
    let rev = release.unwrap_or("HEAD").to_string();
    let commit = repo.commit(&rev)?;
    let release = Release {
        rev,
        commit: commit.id(),
        tree: commit.tree_id(),
        summary: commit.summary().ok().flatten().unwrap_or_default().to_string(),
    };
    let base = if let Some(rev) = base {
        let commit = repo.commit(rev)?;
        Base {
            commit: Some(commit.id()),
            tree: Some(commit.tree_id()),
            source: BaseSource::Argument { rev: rev.to_string() },
        }
    } else if let Some(env) = environment {
        match ledger::last_deploy(repo, env)? {
            Some(deploy) => {
                let commit = repo.required_commit(deploy.commit, &format!("the last deploy of {}", env.name))?;
                Base {
                    commit: Some(commit.id()),
                    tree: Some(commit.tree_id()),
                    source: BaseSource::LastDeploy { deploy },
                }
            }
            None => {
                let reason = match env.tags {
                    Some(tags) => format!("no tag matches `{}`, the deploy tags of {}", tags.pattern, env.name),
                    None => {
                        format!("no deploy of {} is recorded in the ledger ({})", env.name, ledger::ref_name(env.name))
                    }
                };
                Base { commit: None, tree: None, source: BaseSource::FirstDeploy { reason } }
            }
        }
    } else {
        Base {
            commit: None,
            tree: None,
            source: BaseSource::FirstDeploy { reason: "no environment was given (--env) and no --base".to_string() },
        }
    };
    Ok(Range { environment: environment.map(|e| e.name.to_string()), release, base })
}

/// Diffs the base tree against the release tree, with each change's binary flag from the blob
/// store (read in parallel, or from the cache) and exact copies found. Returns the index of the
/// release tree too when finding copies built it (a release that adds files), for the checks.
/// A `planner` is shown the changes before their blobs are read, so that what the checks will
/// ask of them is found as they are read.
pub fn changes(
    repo: &Repo,
    range: &Range,
    store: &BlobStore<'_>,
    planner: Option<&dyn Planner>,
) -> Result<(ChangeSet, Option<TreeIndex>)> {
    let tree =
        |id: Oid| repo.git.find_tree(id).map_err(|err| Error::git(format!("cannot read tree {}", short(id)), &err));
    let release = tree(range.release.tree)?;
    let base = range.base.tree.map(tree).transpose()?;
    let mut changes = diff_trees(repo, base.as_ref(), &release, &|id| store.known_size(id))?;
    let mut index = None;
    if changes.has_added() && base.is_some() {
        let release = TreeIndex::build(repo, range.release.tree)?;
        diff::find_exact_copies(&release, &mut changes);
        index = Some(release);
    }
    let references = planner.map(|planner| planner.plan(&changes));
    let blobs: Vec<(Oid, bool)> = (changes.iter().enumerate())
        .filter(|(_, change)| change.current().mode != Mode::Submodule)
        .map(|(i, change)| (change.current().id, references.as_ref().is_some_and(|(_, wanted)| wanted[i])))
        .collect();
    let refs_fn = references.map_or(no_references as RefsFn, |(refs_fn, _)| refs_fn);
    store.prefetch(&blobs, refs_fn, u64::MAX, &|_, _| {})?;
    for change in &mut changes.changes {
        let side = change.current();
        change.binary = match side.mode {
            Mode::Submodule | Mode::Symlink => false,
            Mode::File | Mode::Executable => store.facts(side.id)?.kind != ContentKind::Text,
        };
    }
    Ok((changes, index))
}

/// What the checks will ask of the blobs of the changed files, told to the pass that reads them
/// for their facts so that it finds that too (see [`changes`]).
pub trait Planner {
    /// Plans the scans the checks will ask for (see [`BlobStore::plan_scan`]), and says which
    /// changes' references will be asked for (by position in `changes`), and how they are read.
    fn plan(&self, changes: &ChangeSet) -> (RefsFn, Vec<bool>);
}

fn no_references(_: &[u8]) -> Vec<String> {
    Vec::new()
}

/// A commit count that stops at a cap, so its cost stays bounded on long histories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CommitCount {
    pub count: usize,
    /// True when counting stopped at the cap: there are at least `count` commits.
    pub capped: bool,
}

/// Counts the commits in the release that are not in the base, up to `cap`.
pub fn count_commits(repo: &Repo, base: Option<Oid>, release: Oid, cap: usize) -> Result<CommitCount> {
    let fail = |err: git2::Error| Error::git("cannot walk the release history", &err);
    let mut walk = repo.git.revwalk().map_err(fail)?;
    walk.push(release).map_err(fail)?;
    if let Some(base) = base {
        walk.hide(base).map_err(fail)?;
    }
    let mut count = 0;
    for id in walk {
        match id {
            Ok(_) => count += 1,
            Err(err) if err.code() == ErrorCode::NotFound => {
                return Err(repo.missing_object(release, "part of the release history"));
            }
            Err(err) => return Err(fail(err)),
        }
        if count > cap {
            return Ok(CommitCount { count: cap, capped: true });
        }
    }
    Ok(CommitCount { count, capped: false })
}

/// The paths whose files differ between trees `old` and `new`, in path order; subtrees with
/// equal ids are not read.
pub fn changed_paths(repo: &Repo, old: Oid, new: Oid) -> Result<Vec<String>> {
    Ok(diff::changed_files(repo, old, new)?.into_iter().map(|(path, ..)| path).collect())
}

/// The text of the file at `path` in `tree`, if it exists and is a regular file.
pub fn read_file(repo: &Repo, tree: Oid, path: &str) -> Result<Option<String>> {
    let fail = |err: git2::Error| Error::git(format!("cannot read {path} from tree {}", short(tree)), &err);
    let tree = repo.git.find_tree(tree).map_err(fail)?;
    let entry = match tree.get_path(std::path::Path::new(path)) {
        Ok(entry) => entry,
        Err(err) if err.code() == ErrorCode::NotFound => return Ok(None),
        Err(err) => return Err(fail(err)),
    };
    if entry.kind() != Some(git2::ObjectType::Blob) {
        return Ok(None);
    }
    let blob = repo.git.find_blob(entry.id()).map_err(fail)?;
    Ok(Some(String::from_utf8_lossy(blob.content()).into_owned()))
}
