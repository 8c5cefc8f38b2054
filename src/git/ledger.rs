//! The ledger: where deploys are recorded, in git itself.
//!
//! Each environment has one ref, `refs/gate/deploys/ENV`. It points at a ledger entry: a commit
//! whose tree is the deployed tree, whose first parent is the previous entry (or, for the first
//! deploy, a parentless "ledger begins" commit), whose second parent is the deployed commit,
//! and whose message records who deployed what and when. So:
//!
//! - `git diff refs/gate/deploys/production HEAD` shows what would ship,
//! - `git log refs/gate/deploys/production..HEAD` lists the pending commits,
//! - `refs/gate/deploys/production^2` is the deployed commit,
//! - `git log --first-parent refs/gate/deploys/production` is the deploy history,
//! - fetching the ref brings the deployed commit along, and it is never garbage collected.
//!
//! The ref only moves by compare-and-swap, retried on conflict, so two deploys recorded at the
//! same moment both land in the history. An entry is validated when read: it must name this
//! environment, carry the deployed commit's tree, and have the parents gate gives it; anything
//! else stops the run. Teams that already tag deploys can set `deploy-tags = "PATTERN"` on an
//! environment; the newest matching tag in commit order is then the last deploy.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use git2::{Commit, ErrorCode, ObjectType, Oid};
use jiff::Timestamp;
use serde::Serialize;

use super::repo::{Actor, Repo, short};
use crate::{Error, Result, time};

/// Ledger refs live under this prefix, one per environment.
pub const PREFIX: &str = "refs/gate/deploys/";

/// The refspec that fetches (and pushes) the ledger.
pub const REFSPEC: &str = "refs/gate/*:refs/gate/*";

/// How many times a conflicting concurrent update is retried before giving up.
const MAX_ATTEMPTS: u32 = 64;

/// Where an environment's deploys are read from: its ledger ref, or the tags that match its
/// `deploy-tags` pattern. The caller builds it from the policy; the ledger knows no policy.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub name: &'a str,
    pub tags: Option<Tags<'a>>,
}

/// A `deploy-tags` pattern: as written (for messages) and compiled.
#[derive(Debug, Clone, Copy)]
pub struct Tags<'a> {
    pub pattern: &'a str,
    pub matcher: &'a globset::GlobMatcher,
}

pub fn ref_name(environment: &str) -> String {
    format!("{PREFIX}{environment}")
}

/// A recorded deploy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deploy {
    pub environment: String,
    #[serde(serialize_with = "super::serialize_oid")]
    pub commit: Oid,
    #[serde(serialize_with = "super::serialize_oid")]
    pub tree: Oid,
    #[serde(serialize_with = "crate::time::serialize_iso")]
    pub at: Timestamp,
    pub by: String,
    pub source: DeploySource,
    /// Recorded past a check that blocked the release (`gate record --force --reason`): the
    /// reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forced: Option<String>,
    /// Recorded while `GATE_NOW` set the clock: its time is not the real time.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub clock_overridden: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum DeploySource {
    /// A ledger entry commit.
    Ledger {
        #[serde(serialize_with = "super::serialize_oid")]
        entry: Oid,
    },
    /// A tag matching the environment's `deploy-tags` pattern.
    Tag { name: String },
}

impl std::fmt::Display for DeploySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeploySource::Ledger { .. } => f.write_str("ledger"),
            DeploySource::Tag { name } => write!(f, "tag {name}"),
        }
    }
}

/// The last deploy of an environment, from its ledger ref or its deploy tags.
pub fn last_deploy(repo: &Repo, env: Target<'_>) -> Result<Option<Deploy>> {
    Ok(history(repo, env, 1)?.into_iter().next())
}

/// Up to `limit` deploys of an environment, newest first.
pub fn history(repo: &Repo, env: Target<'_>, limit: usize) -> Result<Vec<Deploy>> {
    if let Some(tags) = env.tags {
        let mut deploys = tag_deploys(repo, env.name, tags.matcher)?;
        deploys.truncate(limit);
        return Ok(deploys);
    }
    let name = ref_name(env.name);
    let mut next = match repo.git.refname_to_id(&name) {
        Ok(id) => Some(id),
        Err(err) if err.code() == ErrorCode::NotFound => None,
        Err(err) => return Err(Error::git(format!("cannot read {name}"), &err)),
    };
    let mut deploys = Vec::new();
    while let Some(id) = next {
        if deploys.len() >= limit {
            break;
        }
        let entry = match repo.git.find_commit(id) {
            Ok(entry) => entry,
            // Older entries may be cut off by a shallow fetch; the history shown simply ends.
            Err(err) if err.code() == ErrorCode::NotFound && !deploys.is_empty() => break,
            Err(err) if err.code() == ErrorCode::NotFound => {
                return Err(repo.missing_object(id, &format!("the ledger entry of {}", env.name)));
            }
            Err(err) => return Err(Error::git(format!("cannot read {name}"), &err)),
        };
        if is_root(&entry) {
            break;
        }
        deploys.push(parse_entry(repo, &entry, env.name)?);
        next = entry.parent_id(0).ok();
    }
    Ok(deploys)
}

/// The commit a ledger starts from; it records nothing.
pub(super) fn is_root(commit: &Commit<'_>) -> bool {
    commit.parent_count() == 0
        && commit.message().unwrap_or_default().lines().any(|l| l.starts_with("Gate-Ledger-Root: "))
}

/// Reads and validates a ledger entry: it names this environment, its tree is the deployed
/// commit's tree, its second parent is the deployed commit and its first parent the previous
/// entry (or the ledger's root). An entry gate cannot read, or one that is not as gate writes
/// it, stops the run rather than being guessed at.
pub(super) fn parse_entry(repo: &Repo, entry: &Commit<'_>, environment: &str) -> Result<Deploy> {
    let message = entry.message().unwrap_or_default();
    let refname = ref_name(environment);
    let corrupt = |why: String| {
        Error::with_fix(
            format!("{refname} points at {} which is not a gate ledger entry: {why}", short(entry.id())),
            format!(
                "restore the ref from its reflog (`git reflog {refname}`) or from the remote (`git fetch {} '+{refname}:{refname}'`), and find out who wrote it",
                repo.default_remote()
            ),
        )
    };
    let field = |key: &str| message_field(message, key);
    let named = field("Gate-Environment").ok_or_else(|| corrupt("it has no Gate-Environment".into()))?;
    if named != environment {
        return Err(corrupt(format!("it records a deploy to `{named}`, not to {environment}")));
    }
    let commit = field("Gate-Commit")
        .and_then(|v| Oid::from_str(v).ok())
        .ok_or_else(|| corrupt("its Gate-Commit is not a commit id".into()))?;
    // In a shallow clone an entry at the boundary shows no parents; the missing deployed commit
    // is then reported with the fetch that brings it.
    let cut_off = entry.parent_count() == 0 && is_shallow_boundary(repo, entry.id());
    if !cut_off && (entry.parent_count() != 2 || entry.parent_id(1).ok() != Some(commit)) {
        return Err(corrupt(format!(
            "it has {} parent{} where gate writes two (the previous entry, then the deployed commit {})",
            entry.parent_count(),
            if entry.parent_count() == 1 { "" } else { "s" },
            short(commit)
        )));
    }
    let tree = entry.tree_id();
    if field("Gate-Tree").is_some_and(|v| Oid::from_str(v).ok() != Some(tree)) {
        return Err(corrupt("its Gate-Tree is not its tree".into()));
    }
    // A shallow clone may lack the deployed commit; the range resolution says how to fetch it.
    if let Ok(deployed) = repo.git.find_commit(commit)
        && deployed.tree_id() != tree
    {
        return Err(corrupt(format!(
            "its tree {} is not the tree of the deployed commit {} ({})",
            short(tree),
            short(commit),
            short(deployed.tree_id())
        )));
    }
    if let Ok(previous) = entry.parent(0) {
        let previous_message = previous.message().unwrap_or_default();
        let chained = message_field(previous_message, "Gate-Environment") == Some(environment)
            || (previous.parent_count() == 0
                && message_field(previous_message, "Gate-Ledger-Root") == Some(environment));
        if !chained {
            return Err(corrupt(format!(
                "its first parent {} is neither an entry of {environment} nor the ledger's root",
                short(previous.id())
            )));
        }
    }
    let at = field("Gate-At").and_then(|v| v.parse::<Timestamp>().ok()).unwrap_or_else(|| time::from_git(entry.time()));
    let by = field("Gate-By").map_or_else(|| entry.author().to_string(), str::to_string);
    Ok(Deploy {
        environment: environment.to_string(),
        commit,
        tree,
        at,
        by,
        source: DeploySource::Ledger { entry: entry.id() },
        forced: field("Gate-Forced").map(str::to_string),
        clock_overridden: field("Gate-Clock") == Some("overridden"),
    })
}

/// Whether a shallow clone cut history off at `id` (git lists such commits in `GIT_DIR/shallow`).
fn is_shallow_boundary(repo: &Repo, id: Oid) -> bool {
    repo.is_shallow()
        && std::fs::read_to_string(repo.git_dir().join("shallow"))
            .is_ok_and(|text| text.lines().any(|line| line.trim() == id.to_string()))
}

/// The value of `KEY: value` in a ledger message.
fn message_field<'m>(message: &'m str, key: &str) -> Option<&'m str> {
    message.lines().find_map(|line| line.strip_prefix(key).and_then(|rest| rest.strip_prefix(": ")).map(str::trim))
}

/// Deploys read from tags that match the environment's pattern, newest first in commit order:
/// a tag on a descendant is newer than a tag on its ancestor, whatever their dates say (a
/// tagger date is whatever the tagger's clock said). Tags on one commit, or on commits neither
/// descends from, are ordered by date, then name. An annotated tag's tagger and date say who
/// deployed and when; a lightweight tag falls back to the commit.
fn tag_deploys(repo: &Repo, environment: &str, matcher: &globset::GlobMatcher) -> Result<Vec<Deploy>> {
    let references = repo.git.references().map_err(|err| Error::git("cannot list tags", &err))?;
    let mut deploys = Vec::new();
    for reference in references {
        let reference = reference.map_err(|err| Error::git("cannot list tags", &err))?;
        let Some(name) = reference.name().ok().and_then(|n| n.strip_prefix("refs/tags/")) else {
            continue;
        };
        if !matcher.is_match(name) {
            continue;
        }
        let name = name.to_string();
        let target = reference.target().unwrap_or(Oid::ZERO_SHA1);
        let commit = reference.peel_to_commit().map_err(|err| {
            if err.code() == ErrorCode::NotFound {
                repo.missing_object(target, &format!("the commit tagged {name}"))
            } else {
                Error::git(format!("cannot read tag {name}"), &err)
            }
        })?;
        let tagger = reference
            .peel(ObjectType::Tag)
            .ok()
            .and_then(|o| o.into_tag().ok())
            .and_then(|t| t.tagger().map(|s| s.to_owned()));
        let signature = tagger.unwrap_or_else(|| commit.committer().to_owned());
        deploys.push(Deploy {
            environment: environment.to_string(),
            commit: commit.id(),
            tree: commit.tree_id(),
            at: time::from_git(signature.when()),
            by: signature.to_string(),
            source: DeploySource::Tag { name },
            forced: None,
            clock_overridden: false,
        });
    }
    let order = topological_order(repo, &deploys)?;
    deploys.sort_by(|a, b| {
        order[&a.commit].cmp(&order[&b.commit]).then_with(|| b.at.cmp(&a.at)).then_with(|| natural_desc(a, b))
    });
    Ok(deploys)
}

/// The position of each tagged commit in a topological walk (descendants first, then newer
/// commit dates), stopping once every tagged commit is seen.
fn topological_order(repo: &Repo, deploys: &[Deploy]) -> Result<std::collections::HashMap<Oid, usize>> {
    let fail = |err: git2::Error| Error::git("cannot order the deploy tags", &err);
    let mut wanted: std::collections::HashSet<Oid> = deploys.iter().map(|d| d.commit).collect();
    let mut order = std::collections::HashMap::new();
    if wanted.is_empty() {
        return Ok(order);
    }
    let mut walk = repo.git.revwalk().map_err(fail)?;
    walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::TIME).map_err(fail)?;
    for id in &wanted {
        walk.push(*id).map_err(fail)?;
    }
    for (position, id) in walk.enumerate() {
        let id = id.map_err(fail)?;
        if wanted.remove(&id) {
            order.insert(id, position);
            if wanted.is_empty() {
                break;
            }
        }
    }
    // A commit the walk could not reach (a shallow clone) sorts last.
    for id in wanted {
        order.insert(id, usize::MAX);
    }
    Ok(order)
}

fn natural_desc(a: &Deploy, b: &Deploy) -> std::cmp::Ordering {
    let name = |d: &Deploy| match &d.source {
        DeploySource::Tag { name } => name.clone(),
        DeploySource::Ledger { .. } => String::new(),
    };
    name(b).cmp(&name(a))
}

/// Whether deploys of `env` are recorded in the ledger: an environment that follows deploy tags
/// is told to tag the release (`commit`) instead.
pub fn writable(env: Target<'_>, commit: Oid) -> Result<()> {
    match env.tags {
        Some(tags) => Err(Error::with_fix(
            format!("deploys of {} are read from tags matching `{}`, not from the ledger", env.name, tags.pattern),
            format!("tag the release instead: git tag -a <name matching {}> {}", tags.pattern, short(commit)),
        )),
        None => Ok(()),
    }
}

/// Records that `commit` was deployed to `environment`, by compare-and-swap on the ledger ref.
/// `forced` is the reason given for recording a release the check blocked.
pub fn record(
    repo: &Repo,
    env: Target<'_>,
    commit: &Commit<'_>,
    actor: &Actor,
    at: Timestamp,
    forced: Option<&str>,
) -> Result<Deploy> {
    writable(env, commit.id())?;
    let refname = ref_name(env.name);
    let signature = actor.signature(at)?;
    let tree = commit.tree().map_err(|err| Error::git("cannot read the release tree", &err))?;
    let clock_overridden = time::clock_overridden();
    let mut message = format!(
        "gate: deployed {short} to {env}\n\nGate-Environment: {env}\nGate-Commit: {commit}\nGate-Tree: {tree}\nGate-By: {actor}\nGate-At: {at}\n",
        short = short(commit.id()),
        env = env.name,
        commit = commit.id(),
        tree = tree.id(),
        at = time::iso(at),
    );
    if let Some(reason) = forced {
        message.push_str(&format!("Gate-Forced: {}\n", reason.replace('\n', " ")));
    }
    if clock_overridden {
        message.push_str("Gate-Clock: overridden\n");
    }
    for attempt in 0..MAX_ATTEMPTS {
        let current = match repo.git.refname_to_id(&refname) {
            Ok(id) => Some(repo.git.find_commit(id).map_err(|err| Error::git(format!("cannot read {refname}"), &err))?),
            Err(err) if err.code() == ErrorCode::NotFound => None,
            Err(err) => return Err(Error::git(format!("cannot read {refname}"), &err)),
        };
        if let Some(current) = &current
            && !is_root(current)
        {
            parse_entry(repo, current, env.name)?;
        }
        let previous = match current.clone() {
            Some(current) => current,
            None => {
                let empty = repo.git.treebuilder(None).and_then(|b| b.write()).and_then(|id| repo.git.find_tree(id));
                let empty = empty.map_err(|err| Error::git("cannot write the ledger root", &err))?;
                let message = format!("gate: ledger of {env} begins\n\nGate-Ledger-Root: {env}\n", env = env.name);
                let root = repo.git.commit(None, &signature, &signature, &message, &empty, &[]);
                root.and_then(|id| repo.git.find_commit(id))
                    .map_err(|err| Error::git("cannot write the ledger root", &err))?
            }
        };
        let parents = [&previous, commit];
        let entry = repo
            .git
            .commit(None, &signature, &signature, &message, &tree, &parents)
            .map_err(|err| Error::git("cannot write the ledger entry", &err))?;
        let log = format!("gate record: {} to {}", short(commit.id()), env.name);
        let expected = current.as_ref().map_or(Oid::ZERO_SHA1, Commit::id);
        let updated = compare_and_swap(repo, &refname, expected, entry, &log);
        match updated {
            Ok(_) => {
                return Ok(Deploy {
                    environment: env.name.to_string(),
                    commit: commit.id(),
                    tree: tree.id(),
                    at,
                    by: actor.to_string(),
                    source: DeploySource::Ledger { entry },
                    forced: forced.map(str::to_string),
                    clock_overridden,
                });
            }
            Err(err) if is_conflict(&err) => backoff(attempt),
            Err(err) => return Err(Error::git(format!("cannot update {refname}"), &err)),
        }
    }
    Err(Error::with_fix(
        format!("{refname} kept changing under gate ({MAX_ATTEMPTS} attempts)"),
        "another process is recording deploys in a loop; try again when it stops",
    ))
}

/// Points `refname` at `new` if it still points at `expected` (the zero id: if it does not
/// exist yet). libgit2 compares under the ref's lock. Creating with `force = false` instead is
/// racy: its existence check happens before the lock, so two creators can both "succeed".
pub fn compare_and_swap(repo: &Repo, refname: &str, expected: Oid, new: Oid, log: &str) -> Result<(), git2::Error> {
    repo.git.reference_matching(refname, new, true, expected, log).map(drop)
}

/// A lost compare-and-swap race: another writer moved or locked the ref first.
pub fn is_conflict(err: &git2::Error) -> bool {
    matches!(err.code(), ErrorCode::Modified | ErrorCode::Locked | ErrorCode::Exists)
}

/// Waits a short, random, growing time so that racing writers spread out.
pub fn backoff(attempt: u32) {
    let jitter = std::collections::hash_map::RandomState::new().build_hasher().finish() % 10;
    let millis = (u64::from(attempt.min(10)) * 5 + jitter).max(1);
    std::thread::sleep(Duration::from_millis(millis));
}
