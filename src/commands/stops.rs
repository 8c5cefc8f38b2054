//! `gate lock`, `gate unlock`, `gate reject`: stopping the line, in refs (see `git::stops`).

use std::path::Path;

use super::{Io, Outcome, PolicyAt, load_policy};
use crate::cli::{LockArgs, RejectArgs, UnlockArgs};
use crate::git::{Repo, short, stops};
use crate::{Error, Result, time};

pub fn lock(args: &LockArgs, config: Option<&Path>, io: &mut Io<'_>) -> Result<Outcome> {
    let repo = Repo::discover()?;
    let head = repo.commit("HEAD")?.tree_id();
    let policy = load_policy(Some(&repo), config, PolicyAt::Tree(head))?;
    let env = policy.environment(&args.env)?;
    stops::lock(&repo, &env.name, &repo.actor(), time::now()?, &args.reason)?;
    say(
        io,
        &format!(
            "locked {}: no deploy-stage check of it passes until `gate unlock --env {}`; share it: git push origin '{}*:{}*'",
            env.name,
            env.name,
            stops::LOCKS,
            stops::LOCKS
        ),
    )
}

pub fn unlock(args: &UnlockArgs, config: Option<&Path>, io: &mut Io<'_>) -> Result<Outcome> {
    let repo = Repo::discover()?;
    let head = repo.commit("HEAD")?.tree_id();
    let policy = load_policy(Some(&repo), config, PolicyAt::Tree(head))?;
    let env = policy.environment(&args.env)?;
    let stop = stops::unlock(&repo, &env.name)?;
    say(
        io,
        &format!(
            "unlocked {} (locked by {} since {}: {}); on the remote too: git push origin ':{}{}'",
            env.name,
            stop.by,
            time::human(stop.at),
            stop.reason,
            stops::LOCKS,
            env.name
        ),
    )
}

pub fn reject(args: &RejectArgs, io: &mut Io<'_>) -> Result<Outcome> {
    let repo = Repo::discover()?;
    let commit = repo.commit(args.release.as_deref().unwrap_or("HEAD"))?;
    stops::reject(&repo, commit.tree_id(), &repo.actor(), time::now()?, &args.reason)?;
    say(
        io,
        &format!(
            "rejected tree {} (commit {}): no environment accepts it; share it: git push origin '{}*:{}*'",
            short(commit.tree_id()),
            short(commit.id()),
            stops::REJECTED,
            stops::REJECTED
        ),
    )
}

fn say(io: &mut Io<'_>, text: &str) -> Result<Outcome> {
    writeln!(io.out, "{text}").map_err(|err| Error::io("cannot write", &err))?;
    Ok(Outcome::Pass)
}
