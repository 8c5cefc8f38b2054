//! Where each environment's deploys come from, and what they say about the release: the bridge
//! between the policy's environments and the ledger, which knows nothing of the policy. A tree's
//! time in an environment is its periods as that environment's current deploy (a later deploy
//! of another tree ends a period), and a release whose tree the target environment ran before
//! is a rollback.

use git2::Oid;
use jiff::{SignedDuration, Timestamp};

use super::Analysis;
use crate::Result;
use crate::config::Environment;
use crate::evidence::trust::FUTURE_SLACK;
use crate::git::ledger::{Tags, Target};
use crate::git::{self, Deploy};

/// Where the deploys of `env` are read from: its ledger ref, or its deploy tags.
pub fn target(env: &Environment) -> Target<'_> {
    Target {
        name: &env.name,
        tags: env.deploy_tags.as_ref().map(|tags| Tags { pattern: &tags.pattern, matcher: &tags.matcher }),
    }
}

/// A stretch of time during which a tree was an environment's current deploy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    pub from: Timestamp,
    /// When a deploy of another tree replaced it, and that tree; `None` while it still runs.
    pub until: Option<(Timestamp, Oid)>,
}

impl Period {
    /// How long it ran, counting a period that still runs up to `now`.
    pub fn length(&self, now: Timestamp) -> SignedDuration {
        let end = self.until.map_or(now, |(at, _)| at);
        end.duration_since(self.from).max(SignedDuration::ZERO)
    }
}

/// The periods `tree` spent as the current deploy, oldest first, from a history (newest first)
/// and the times at which a deploy of `tree` counts as having started (`starts`): a deploy of the
/// tree starts a period only at a time in `starts`; a deploy of any other tree ends it. Entries
/// dated after `now` are not history yet.
pub fn periods(history: &[Deploy], tree: Oid, starts: &[Timestamp], now: Timestamp) -> Vec<Period> {
    let mut events: Vec<(Timestamp, Option<Oid>)> = history
        .iter()
        .filter(|d| d.at <= now)
        .filter_map(|d| if d.tree != tree { Some((d.at, Some(d.tree))) } else { None })
        .collect();
    events.extend(starts.iter().filter(|at| **at <= now).map(|at| (*at, None)));
    // Time order; at one instant the start of this tree's period comes last, so a deploy recorded
    // at the same second as a deploy of another tree is the one that runs.
    events.sort_by_key(|(at, other)| (*at, other.is_none()));
    let mut periods: Vec<Period> = Vec::new();
    let mut running = false;
    for (at, other) in events {
        match other {
            None if !running => {
                periods.push(Period { from: at, until: None });
                running = true;
            }
            None => {}
            Some(other) if running => {
                if let Some(last) = periods.last_mut() {
                    last.until = Some((at, other));
                }
                running = false;
            }
            Some(_) => {}
        }
    }
    periods
}

/// The longest of `periods` (the newest of equal ones).
pub fn longest(periods: &[Period], now: Timestamp) -> Option<&Period> {
    periods.iter().rev().max_by_key(|p| p.length(now))
}

/// An earlier deploy of the release tree to the target environment: what makes the release a
/// rollback.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Rollback {
    /// The newest earlier deploy of the tree.
    #[serde(serialize_with = "crate::git::serialize_oid")]
    pub tree: Oid,
    #[serde(serialize_with = "crate::time::serialize_iso")]
    pub at: Timestamp,
    /// Who recorded it and where it is recorded (`ledger`, `tag v1`, `deploy evidence`).
    pub by: String,
    pub from: String,
    /// That deploy was recorded past a blocking check: the reason given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forced: Option<String>,
}

impl Analysis<'_> {
    /// When a deploy of the release tree to `env` counts as having happened: the deploy evidence
    /// of the tree that counts, and the environment's ledger or deploy tags. A ledger entry
    /// written while `GATE_NOW` set the clock does not count on the real clock, nor does one
    /// dated in the future; where the deployed policy requires signed `deploy` evidence, only
    /// that counts (anyone who can push refs/gate can write a ledger entry).
    pub fn deploy_starts(&self, env: &Environment) -> Result<Vec<Timestamp>> {
        let tree = self.range.release.tree;
        let evidence = self.evidence()?;
        let mut starts: Vec<Timestamp> = evidence
            .of_kind("deploy")
            .filter(|r| r.environment.as_deref() == Some(env.name.as_str()))
            .map(|r| r.at)
            .collect();
        if !self.trust()?.require_signed.iter().any(|k| k == "deploy") {
            let (now, real_clock) = self.clock();
            let history = self.history(env)?;
            starts.extend(
                history
                    .iter()
                    .filter(|d| d.tree == tree && !(real_clock && d.clock_overridden) && d.at <= now + FUTURE_SLACK)
                    .map(|d| d.at),
            );
        }
        starts.sort();
        starts.dedup();
        Ok(starts)
    }

    /// The release tree's periods as `env`'s current deploy, oldest first.
    pub fn periods_in(&self, env: &Environment) -> Result<Vec<Period>> {
        let starts = self.deploy_starts(env)?;
        let history = self.history(env)?;
        Ok(periods(&history, self.range.release.tree, &starts, self.now + FUTURE_SLACK))
    }

    /// Whether the release is a rollback: the target environment ran its tree before (a
    /// deploy that counts, see [`Analysis::deploy_starts`]), another tree runs there now, and
    /// nobody rejected the tree. Computed once.
    pub fn rollback(&self) -> Result<Option<&Rollback>> {
        if let Some(known) = self.rollback.get() {
            return Ok(known.as_ref());
        }
        let found = self.find_rollback()?;
        Ok(self.rollback.get_or_init(|| found).as_ref())
    }

    fn find_rollback(&self) -> Result<Option<Rollback>> {
        let Some(env) = self.target()? else { return Ok(None) };
        // Only against what the environment runs now: a `--base` given by hand, or a backtest
        // replaying the past, compares two releases, not a return to one.
        let git::BaseSource::LastDeploy { deploy: current } = &self.range.base.source else { return Ok(None) };
        let tree = self.range.release.tree;
        if current.tree == tree || self.rejection()?.is_some() {
            return Ok(None);
        }
        let history = self.history(env)?;
        let starts: Vec<Timestamp> = self.deploy_starts(env)?.into_iter().filter(|at| *at <= current.at).collect();
        if starts.is_empty() {
            return Ok(None);
        }
        // The deploy to name: the newest that counts.
        let newest = starts.last().copied().unwrap_or(current.at);
        let entry = history.iter().find(|d| d.tree == tree && starts.contains(&d.at));
        Ok(Some(match entry {
            Some(d) => {
                Rollback { tree, at: d.at, by: d.by.clone(), from: d.source.to_string(), forced: d.forced.clone() }
            }
            None => Rollback { tree, at: newest, by: String::new(), from: "deploy evidence".to_string(), forced: None },
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oid(n: u8) -> Oid {
        Oid::from_bytes(&[n; 20]).unwrap()
    }

    fn at(minute: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + minute * 60).unwrap()
    }

    fn deploy(tree: u8, minute: i64) -> Deploy {
        Deploy {
            environment: "staging".into(),
            commit: oid(tree),
            tree: oid(tree),
            at: at(minute),
            by: "dana".into(),
            source: git::DeploySource::Tag { name: format!("t{tree}") },
            forced: None,
            clock_overridden: false,
        }
    }

    /// Newest first, as the ledger reads.
    fn history(deploys: &[(u8, i64)]) -> Vec<Deploy> {
        let mut h: Vec<Deploy> = deploys.iter().map(|(t, m)| deploy(*t, *m)).collect();
        h.reverse();
        h
    }

    #[test]
    fn a_later_deploy_of_another_tree_ends_the_period() {
        // v2 at 0, back to v1 at 5; at 60 v2 ran for 5 minutes.
        let h = history(&[(1, -100), (2, 0), (1, 5)]);
        let p = periods(&h, oid(2), &[at(0)], at(60));
        assert_eq!(p, vec![Period { from: at(0), until: Some((at(5), oid(1))) }]);
        assert_eq!(longest(&p, at(60)).unwrap().length(at(60)), SignedDuration::from_mins(5));
    }

    #[test]
    fn the_current_period_counts_up_to_now_and_the_longest_wins() {
        let h = history(&[(2, 0), (1, 5), (2, 20), (2, 25)]);
        let p = periods(&h, oid(2), &[at(0), at(20), at(25)], at(32));
        assert_eq!(p.len(), 2, "a redeploy of the running tree continues its period: {p:?}");
        assert_eq!(p[1], Period { from: at(20), until: None });
        assert_eq!(longest(&p, at(32)).unwrap().length(at(32)), SignedDuration::from_mins(12));
    }

    #[test]
    fn deploys_that_do_not_count_start_nothing_and_the_future_is_not_history() {
        let h = history(&[(2, 0), (1, 5), (2, 10)]);
        // Only the deploy at 10 counts (the one at 0 was, say, written under GATE_NOW).
        let p = periods(&h, oid(2), &[at(10)], at(30));
        assert_eq!(p, vec![Period { from: at(10), until: None }]);
        // A deploy of another tree dated after now does not end the period.
        let h = history(&[(2, 0), (1, 90)]);
        assert_eq!(periods(&h, oid(2), &[at(0)], at(30)), vec![Period { from: at(0), until: None }]);
    }
}
