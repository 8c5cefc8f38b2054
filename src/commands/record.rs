//! `gate record`: record a successful deploy in the ledger.

use std::path::Path;

use super::{Io, Outcome, PolicyAt, load_policy};
use crate::cli::RecordArgs;
use crate::evidence::{self, Record};
use crate::git::{Repo, ledger, short};
use crate::{Error, Result, time};

pub fn run(args: &RecordArgs, config: Option<&Path>, io: &mut Io<'_>) -> Result<Outcome> {
    let repo = Repo::discover()?;
    let now = time::now()?;
    let commit = repo.commit(args.release.as_deref().unwrap_or("HEAD"))?;
    let policy = load_policy(Some(&repo), config, PolicyAt::Tree(commit.tree_id()))?;
    let env = policy.environment(&args.env)?;
    let actor = repo.actor();
    // The same fact as evidence on the tree, so `gate evidence list` shows where a tree ran; it
    // is signed first, so a key that cannot sign leaves the ledger untouched.
    let mut record = Record::new("deploy", commit.tree_id(), commit.id(), &actor, now);
    record.environment = Some(env.name.clone());
    super::signing::sign_if_asked(&repo, &args.signing, &mut record)?;
    let deploy = ledger::record(&repo, crate::analysis::rollout::target(env), &commit, &actor, now, None)?;
    evidence::add(&repo, &record, &actor, now)?;
    writeln!(
        io.out,
        "recorded: {} deployed to {} by {} at {}\nshare it: git push {} '{}' '{}'",
        short(deploy.commit),
        deploy.environment,
        deploy.by,
        time::human(deploy.at),
        repo.default_remote(),
        ledger::REFSPEC,
        evidence::REFSPEC
    )
    .map_err(|err| Error::io("cannot write", &err))?;
    Ok(Outcome::Pass)
}
