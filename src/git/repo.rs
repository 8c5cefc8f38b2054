//! Opening the repository and resolving revisions.
//!
//! Discovery follows git's own rules (GIT_DIR, GIT_WORK_TREE, GIT_CEILING_DIRECTORIES), so gate
//! works from a hook (git sets GIT_DIR), from a subdirectory, and in a bare repository.

use std::path::{Path, PathBuf};

use git2::{Commit, ErrorCode, Oid, Repository};

use crate::{Error, Result};

/// The repository gate works on.
pub struct Repo {
    pub git: Repository,
}

/// Who is doing something (recording a deploy, adding evidence).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub name: String,
    pub email: String,
}

impl Actor {
    /// A git signature for commits gate writes on this actor's behalf (ledger entries, notes).
    pub fn signature(&self, at: jiff::Timestamp) -> Result<git2::Signature<'static>> {
        let when = git2::Time::new(at.as_second(), 0);
        git2::Signature::new(&self.name, &self.email, &when)
            .map_err(|err| Error::git(format!("cannot use `{self}` as the recorder's identity"), &err))
    }
}

impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.email.is_empty() { write!(f, "{}", self.name) } else { write!(f, "{} <{}>", self.name, self.email) }
    }
}

impl Repo {
    /// Finds the repository the way git does from the current directory and environment.
    pub fn discover() -> Result<Repo> {
        configure_libgit2();
        match Repository::open_from_env() {
            Ok(git) => Ok(Repo { git }),
            Err(err) if err.code() == ErrorCode::NotFound => Err(Error::with_fix(
                "not inside a git repository",
                "run gate from a repository's directory (or set GIT_DIR)",
            )),
            Err(err) => Err(Error::git("cannot open the repository", &err)),
        }
    }

    pub fn open(path: &Path) -> Result<Repo> {
        configure_libgit2();
        Repository::open(path)
            .map(|git| Repo { git })
            .map_err(|err| Error::git(format!("cannot open {}", path.display()), &err))
    }

    /// The working tree root, or `None` in a bare repository.
    pub fn workdir(&self) -> Option<&Path> {
        self.git.workdir()
    }

    /// The directory that holds the repository's own files (`.git`).
    pub fn git_dir(&self) -> PathBuf {
        self.git.path().to_path_buf()
    }

    pub fn is_shallow(&self) -> bool {
        self.git.is_shallow()
    }

    /// The remote to name in `git fetch` advice: `origin` if it exists, else the only remote,
    /// else `origin`.
    pub fn default_remote(&self) -> String {
        let names: Vec<String> = self
            .git
            .remotes()
            .map(|remotes| remotes.iter().filter_map(|name| name.ok().flatten().map(str::to_string)).collect())
            .unwrap_or_default();
        if names.iter().any(|n| n == "origin") || names.len() != 1 { "origin".to_string() } else { names[0].clone() }
    }

    /// Resolves any revision (commit id, branch, tag, `HEAD~2`) to a commit; annotated tags are
    /// peeled to the commit they tag.
    pub fn commit(&self, rev: &str) -> Result<Commit<'_>> {
        let object = self.git.revparse_single(rev).map_err(|err| self.unknown_revision(rev, &err))?;
        object.peel_to_commit().map_err(|_| {
            Error::with_fix(
                format!("`{rev}` is a {}, not a commit", object.kind().map_or("object", |k| k.str())),
                "name a commit, branch or tag",
            )
        })
    }

    fn unknown_revision(&self, rev: &str, err: &git2::Error) -> Error {
        if rev == "HEAD" && self.git.head().is_err_and(|e| e.code() == ErrorCode::UnbornBranch) {
            return Error::with_fix("the repository has no commits yet", "commit something, then run gate again");
        }
        if err.code() != ErrorCode::NotFound && err.code() != ErrorCode::Ambiguous {
            return Error::git(format!("cannot resolve `{rev}`"), err);
        }
        let remote = self.default_remote();
        if self.is_shallow() {
            Error::with_fix(
                format!(
                    "unknown revision `{rev}` (this clone is shallow, so it may be in history that was not fetched)"
                ),
                format!("run `git fetch --unshallow {remote}` and try again"),
            )
        } else {
            Error::with_fix(
                format!("unknown revision `{rev}`"),
                format!("check the name, or fetch it: `git fetch {remote} {rev}`"),
            )
        }
    }

    /// A commit that must be present (the last deploy); when it is not, say exactly how to
    /// fetch it.
    pub fn required_commit(&self, id: Oid, what: &str) -> Result<Commit<'_>> {
        match self.git.find_commit(id) {
            Ok(commit) => Ok(commit),
            Err(err) if err.code() == ErrorCode::NotFound => Err(self.missing_object(id, what)),
            Err(err) => Err(Error::git(format!("cannot read {what} ({})", short(id)), &err)),
        }
    }

    /// The error for an object gate needs but this clone lacks.
    pub fn missing_object(&self, id: Oid, what: &str) -> Error {
        let remote = self.default_remote();
        if self.is_shallow() {
            Error::with_fix(
                format!("{what} ({}) is not in this clone: the clone is shallow", short(id)),
                format!("run `git fetch --unshallow {remote}` (in CI, check out with fetch-depth: 0)"),
            )
        } else {
            Error::with_fix(
                format!("{what} ({}) is not in this repository", short(id)),
                format!("run `git fetch {remote} {id}`"),
            )
        }
    }

    /// How many tracked files of the working tree (or the index) differ from `tree`: what a
    /// command run here would see that the commit does not have. None in a bare repository.
    pub fn changed_in_worktree(&self, tree: Oid) -> Result<usize> {
        if self.workdir().is_none() {
            return Ok(0);
        }
        let fail = |err: git2::Error| Error::git("cannot compare the working tree with the release", &err);
        let tree = self.git.find_tree(tree).map_err(fail)?;
        let mut options = git2::DiffOptions::new();
        options.include_untracked(false).ignore_submodules(true);
        let diff = self.git.diff_tree_to_workdir_with_index(Some(&tree), Some(&mut options)).map_err(fail)?;
        Ok(diff.deltas().len())
    }

    /// Who is acting: git's committer identity (GIT_COMMITTER_NAME/EMAIL, then user.name and
    /// user.email), else the login name.
    pub fn actor(&self) -> Actor {
        let env = |key: &str| std::env::var(key).ok().filter(|v| !v.trim().is_empty());
        let config = self.git.config().ok();
        let config_value = |key: &str| config.as_ref().and_then(|c| c.get_string(key).ok()).filter(|v| !v.is_empty());
        let name = env("GIT_COMMITTER_NAME")
            .or_else(|| config_value("user.name"))
            .or_else(|| env("USER"))
            .or_else(|| env("USERNAME"))
            .unwrap_or_else(|| "unknown".to_string());
        let email = env("GIT_COMMITTER_EMAIL").or_else(|| config_value("user.email")).unwrap_or_default();
        Actor { name, email }
    }
}

/// libgit2 re-hashes every object it reads to verify it; git itself does not, and on a large
/// release that check is a quarter of gate's time. Objects are still verified by `git fsck`
/// and on transfer.
fn configure_libgit2() {
    git2::opts::strict_hash_verification(false);
}

/// The abbreviated commit id shown to people.
pub fn short(id: Oid) -> String {
    let mut text = id.to_string();
    text.truncate(10);
    text
}
