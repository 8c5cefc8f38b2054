//! `gate status`: each environment's last deploy and what is pending.

use std::path::Path;

use serde::Serialize;

use super::{Io, Outcome, PolicyAt, load_policy};
use crate::cli::{ListFormat, StatusArgs};
use crate::git::{self, CommitCount, Deploy, Repo, ledger, short};
use crate::{Error, Result, time};

/// Counting pending commits stops here; beyond it the number is shown as "more than".
const PENDING_COMMITS_CAP: usize = 10_000;

#[derive(Serialize)]
struct EnvironmentStatus {
    name: String,
    /// Where deploys are read from: the ledger ref, or the tag pattern.
    source: String,
    last_deploy: Option<Deploy>,
    /// What HEAD would ship to this environment.
    pending: Option<Pending>,
    /// The emergency lock, when the line is stopped.
    lock: Option<crate::git::stops::Stop>,
    /// The lease of a deploy in progress (`gate deploy`), or one left behind.
    #[serde(skip_serializing_if = "Option::is_none")]
    lease: Option<LeaseStatus>,
}

#[derive(Serialize)]
struct LeaseStatus {
    by: String,
    host: String,
    pid: u32,
    release: String,
    at: String,
    expires: String,
    expired: bool,
    #[serde(skip)]
    described: String,
}

impl LeaseStatus {
    fn new(lease: &crate::git::lease::Lease, now: jiff::Timestamp) -> LeaseStatus {
        LeaseStatus {
            by: lease.by.clone(),
            host: lease.host.clone(),
            pid: lease.pid,
            release: lease.release.to_string(),
            at: time::iso(lease.at),
            expires: time::iso(lease.expires),
            expired: now >= lease.expires,
            described: crate::git::lease::describe(lease, now),
        }
    }
}

#[derive(Serialize)]
struct Rejected {
    tree: String,
    #[serde(flatten)]
    stop: crate::git::stops::Stop,
}

#[derive(Serialize)]
struct Pending {
    commits: CommitCount,
    files: usize,
    /// The clone is shallow: the commit count stops where the history does, so it is at least
    /// this many, not this many.
    incomplete: bool,
}

#[derive(Serialize)]
struct JsonStatus {
    version: u32,
    head: String,
    environments: Vec<EnvironmentStatus>,
    rejected: Vec<Rejected>,
}

pub fn run(args: &StatusArgs, config: Option<&Path>, io: &mut Io<'_>) -> Result<Outcome> {
    let repo = Repo::discover()?;
    let head = repo.commit("HEAD")?;
    let policy = load_policy(Some(&repo), config, PolicyAt::Tree(head.tree_id()))?;
    let names: Vec<String> = match &args.env {
        Some(name) => vec![policy.environment(name)?.name.clone()],
        None => policy.environments.keys().cloned().collect(),
    };
    let head_tree = head.tree().map_err(|err| Error::git("cannot read HEAD's tree", &err))?;
    let now = time::now()?;
    let mut statuses = Vec::new();
    for name in names {
        let env = policy.environment(&name)?;
        let last_deploy = ledger::last_deploy(&repo, crate::analysis::rollout::target(env))?;
        let pending = match &last_deploy {
            Some(deploy) => {
                let commit = repo.required_commit(deploy.commit, &format!("the last deploy of {name}"))?;
                let tree = commit.tree().map_err(|err| Error::git("cannot read the deployed tree", &err))?;
                let files = git::diff_trees(&repo, Some(&tree), &head_tree, &|_| None)?.len();
                let commits = git::count_commits(&repo, Some(deploy.commit), head.id(), PENDING_COMMITS_CAP)?;
                Some(Pending { commits, files, incomplete: repo.is_shallow() })
            }
            None => None,
        };
        let source = match &env.deploy_tags {
            Some(tags) => format!("tags matching {}", tags.pattern),
            None => ledger::ref_name(&name),
        };
        let lock = crate::git::stops::lock_of(&repo, &name)?;
        let lease = crate::git::lease::read(&repo, &name)?.map(|lease| LeaseStatus::new(&lease, now));
        statuses.push(EnvironmentStatus { name, source, last_deploy, pending, lock, lease });
    }

    let rejected = crate::git::stops::rejections(&repo)?;
    let out = &mut *io.out;
    let written = match args.format {
        ListFormat::Json => {
            let json = JsonStatus {
                version: crate::report::JSON_VERSION,
                head: head.id().to_string(),
                environments: statuses,
                rejected: rejected.into_iter().map(|(tree, stop)| Rejected { tree: tree.to_string(), stop }).collect(),
            };
            serde_json::to_writer_pretty(&mut *out, &json).map_err(std::io::Error::other).and_then(|()| writeln!(out))
        }
        ListFormat::Human => write_human(&repo, head.id(), &statuses, out).and_then(|()| {
            for (tree, stop) in &rejected {
                writeln!(
                    out,
                    "rejected tree {}: by {} on {}: {}",
                    short(*tree),
                    stop.by,
                    time::human(stop.at),
                    stop.reason
                )?;
            }
            Ok(())
        }),
    };
    written.map_err(|err| Error::io("cannot write the status", &err))?;
    Ok(Outcome::Pass)
}

fn write_human(
    repo: &Repo,
    head: git2::Oid,
    statuses: &[EnvironmentStatus],
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let now = time::now().unwrap_or_else(|_| jiff::Timestamp::now());
    if statuses.is_empty() {
        writeln!(out, "no environments are declared; add [environments.NAME] to gate.toml")?;
        return Ok(());
    }
    let width = statuses.iter().map(|s| s.name.len()).max().unwrap_or(0);
    for status in statuses {
        match (&status.last_deploy, &status.pending) {
            (Some(deploy), Some(pending)) => {
                writeln!(
                    out,
                    "{:width$}  {}  {} ({}) by {}, from {}",
                    status.name,
                    short(deploy.commit),
                    time::human(deploy.at),
                    time::ago(now, deploy.at),
                    deploy.by,
                    deploy.source
                )?;
                if let Some(reason) = &deploy.forced {
                    writeln!(out, "{:width$}  forced past a blocking check: {reason}", "")?;
                }
                let commits = if pending.incomplete {
                    format!(
                        "at least {} commit{} (the clone is shallow; for the full count: git fetch --unshallow {})",
                        pending.commits.count,
                        if pending.commits.count == 1 { "" } else { "s" },
                        repo.default_remote()
                    )
                } else if pending.commits.capped {
                    format!("more than {} commits", pending.commits.count)
                } else {
                    format!("{} commit{}", pending.commits.count, if pending.commits.count == 1 { "" } else { "s" })
                };
                writeln!(
                    out,
                    "{:width$}  pending at HEAD ({}): {commits}, {} file{}",
                    "",
                    short(head),
                    pending.files,
                    if pending.files == 1 { "" } else { "s" }
                )?;
            }
            _ => writeln!(out, "{:width$}  never deployed (nothing in {})", status.name, status.source)?,
        }
        if let Some(lock) = &status.lock {
            writeln!(out, "{:width$}  LOCKED by {} since {}: {}", "", lock.by, time::human(lock.at), lock.reason)?;
        }
        if let Some(lease) = &status.lease {
            let what = if lease.expired { "A LEASE LEFT BEHIND (the next deploy takes it over)" } else { "DEPLOYING" };
            writeln!(out, "{:width$}  {what}: the lease is {}", "", lease.described)?;
        }
    }
    if statuses.iter().all(|s| s.last_deploy.is_none()) {
        writeln!(
            out,
            "\nno deploys are recorded in this clone; if they are on the remote: git fetch {} '{}'",
            repo.default_remote(),
            ledger::REFSPEC
        )?;
    }
    Ok(())
}
