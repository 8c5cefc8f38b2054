//! Which evidence counts, computed once per run: the release tree's records weighed against the
//! deployed policy's `[trust]` (a release cannot name its own signers), and which approvals
//! count for which purpose.

use std::collections::BTreeSet;

use super::{Analysis, DeployedPolicy};
use crate::config::Trust;
use crate::evidence::signing::AllowedSigners;
use crate::evidence::{self, EvidenceSet, Purpose, Record, Vetted};
use crate::{Error, Result, git};

/// The approvals of one purpose, and whether they are enough.
#[derive(Debug, Clone)]
pub struct Approvals<'r> {
    /// Distinct approvers the target environment asks for (1 without `approvals`).
    pub needed: u32,
    /// Whether authors and committers of the release are excluded (`approvals` is set).
    pub independent: bool,
    /// The approvals that count, newest first, one per approver.
    pub counting: Vec<&'r Record>,
    /// Approvals that do not count towards the quorum: `self-approval` or `same-approver`,
    /// and why.
    pub excluded: Vec<(&'r Record, &'static str, String)>,
}

impl<'r> Approvals<'r> {
    /// The newest approval, when enough distinct approvers approved.
    pub fn granted(&self) -> Option<&'r Record> {
        (self.counting.len() as u32 >= self.needed).then(|| self.counting.first().copied()).flatten()
    }
}

/// Who an approval counts as: its verified signer, else the address it claims.
pub fn approver(record: &Record) -> String {
    record.signer.clone().unwrap_or_else(|| record.claimed_email())
}

impl Analysis<'_> {
    /// The `[trust]` in force: the deployed policy's. A first deploy (nothing is deployed) or a
    /// policy from outside the repository uses the policy at hand.
    pub fn trust(&self) -> Result<&Trust> {
        Ok(match self.deployed()? {
            DeployedPolicy::Loaded(policy) => &policy.trust,
            DeployedPolicy::None | DeployedPolicy::Unreadable(_) => &self.policy.trust,
        })
    }

    /// The time of the run, and whether it is the real time.
    pub fn clock(&self) -> (jiff::Timestamp, bool) {
        (self.now, self.real_clock)
    }

    /// The release tree's evidence that counts.
    pub fn evidence(&self) -> Result<&EvidenceSet> {
        Ok(&self.vetted()?.accepted)
    }

    /// The release tree's evidence, weighed: what counts and what was rejected, and why.
    pub fn vetted(&self) -> Result<&Vetted> {
        if let Some(vetted) = self.vetted.get() {
            return Ok(vetted);
        }
        let trust = self.trust()?;
        let allowed = self.allowed_signers(trust)?;
        let rules = evidence::trust::Rules { trust, allowed: &allowed, now: self.now, real_clock: self.real_clock };
        let vetted = evidence::trust::vet(self.evidence, self.range.release.tree, &rules);
        Ok(self.vetted.get_or_init(|| vetted))
    }

    /// The allowed signers file `[trust]` names, read from the tree whose policy is in force
    /// (the deployed tree; the release's own on a first deploy).
    fn allowed_signers(&self, trust: &Trust) -> Result<std::result::Result<Option<AllowedSigners>, String>> {
        let Some(path) = &trust.allowed_signers else { return Ok(Ok(None)) };
        let (tree, which) = match (self.deployed()?, self.range.base.tree) {
            (DeployedPolicy::Loaded(_), Some(base)) => (base, "the deployed tree"),
            _ => (self.range.release.tree, "the release tree"),
        };
        Ok(match git::read_file(self.repo, tree, path)? {
            None => Err(format!("the allowed signers file {path} is not in {which} ({})", git::short(tree))),
            Some(text) => AllowedSigners::parse(&text).map(Some).map_err(|why| format!("{path}: {why}")),
        })
    }

    /// Whether the deploy evidence of `deploy`'s tree holds a `deploy` record for its
    /// environment that counts under the `[trust]` in force (signed, where signatures are
    /// required): a ledger entry alone could have been written by anyone who can push refs/gate.
    pub fn deploy_is_attested(&self, deploy: &git::Deploy) -> Result<bool> {
        let trust = self.trust()?;
        let allowed = self.allowed_signers(trust)?;
        let rules = evidence::trust::Rules { trust, allowed: &allowed, now: self.now, real_clock: self.real_clock };
        let set = evidence::for_tree(self.repo, deploy.tree)?;
        let vetted = evidence::trust::vet(&set, deploy.tree, &rules);
        Ok(vetted
            .accepted
            .of_kind("deploy")
            .any(|r| r.environment.as_deref() == Some(deploy.environment.as_str()) && r.commit == deploy.commit))
    }

    /// The newest approval for `purpose` (or `all`) that counts: when the target environment
    /// sets `approvals = N`, only once N distinct approvers, none an author or committer of the
    /// release, approved.
    pub fn approval(&self, purpose: Purpose) -> Option<&Record> {
        self.approvals(purpose).ok().and_then(|a| a.granted())
    }

    /// The approvals for `purpose`, weighed.
    pub fn approvals(&self, purpose: Purpose) -> Result<Approvals<'_>> {
        // The stricter of the release's and the deployed policy's: a release cannot lower the
        // quorum that approves its own policy change.
        let deployed = match (self.target()?, self.deployed_policy()?) {
            (Some(env), Some(policy)) => policy.environments.get(&env.name).and_then(|e| e.approvals),
            _ => None,
        };
        let needed = self.target()?.and_then(|env| env.approvals).max(deployed);
        let independent = needed.is_some();
        let people = if independent { Some(self.release_people()?) } else { None };
        let mut records: Vec<&Record> =
            self.evidence()?.of_kind("approval").filter(|r| r.approves.is_some_and(|p| p.covers(purpose))).collect();
        // Newest first, by parsed time; of equal times, the one appended last.
        records.reverse();
        records.sort_by_key(|r| std::cmp::Reverse(r.at));
        let mut approvals =
            Approvals { needed: needed.unwrap_or(1), independent, counting: Vec::new(), excluded: Vec::new() };
        let mut seen = BTreeSet::new();
        for record in records {
            let who = approver(record);
            if people.is_some_and(|people| people.contains(&who)) {
                let why =
                    format!("{who} authored or committed a commit of the release; an approver must be someone else");
                approvals.excluded.push((record, "self-approval", why));
            } else if !seen.insert(who.clone()) {
                let why = format!("{who} approved already; each approver counts once");
                approvals.excluded.push((record, "same-approver", why));
            } else {
                approvals.counting.push(record);
            }
        }
        Ok(approvals)
    }

    /// The e-mail addresses (lowercased) of the authors and committers of the commits in the
    /// release that are not in the base.
    pub fn release_people(&self) -> Result<&BTreeSet<String>> {
        if let Some(people) = self.people.get() {
            return Ok(people);
        }
        let fail = |err: git2::Error| Error::git("cannot walk the release history", &err);
        let mut walk = self.repo.git.revwalk().map_err(fail)?;
        walk.push(self.range.release.commit).map_err(fail)?;
        if let Some(base) = self.range.base.commit {
            walk.hide(base).map_err(fail)?;
        }
        let mut people = BTreeSet::new();
        for id in walk {
            let id = id.map_err(fail)?;
            let commit = self.repo.required_commit(id, "a commit of the release")?;
            for signature in [commit.author(), commit.committer()] {
                people.insert(String::from_utf8_lossy(signature.email_bytes()).trim().to_lowercase());
            }
        }
        Ok(self.people.get_or_init(|| people))
    }
}
