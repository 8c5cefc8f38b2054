//! The deploy lease of an environment (`refs/gate-leases/ENV`): while `gate deploy` checks,
//! runs and records a deploy, it holds the lease, so two deploys to one environment never
//! interleave (the second one checks against a last deploy the first is replacing).
//!
//! The ref points at a parentless commit of the empty tree whose message says who holds it,
//! where (host and process), for which release, since when and until when. It is taken by
//! compare-and-swap from "no ref" (or from an expired lease, or one whose process is gone),
//! and given back by a compare-and-delete under the ref's lock, so a deploy never removes a
//! lease someone else took over. A lease left behind (the machine died, `kill -9`) lasts until
//! it expires; on Linux one whose process is gone from this host is taken over at once.
//!
//! Leases live outside `refs/gate/*` on purpose: they describe processes on this repository's
//! machine, and must not travel with the ledger's refspec (a lease fetched back after it was
//! given up would stop every deploy until it expired).

use git2::{ErrorCode, Oid};
use jiff::{SignedDuration, Timestamp};

use super::ledger::{backoff, compare_and_swap, is_conflict};
use super::repo::{Actor, Repo, short};
use crate::{Error, Result, time};

/// Lease refs live under this prefix, one per environment.
pub const PREFIX: &str = "refs/gate-leases/";

/// How many lost races before giving up on taking a lease.
const MAX_ATTEMPTS: u32 = 16;

pub fn ref_name(environment: &str) -> String {
    format!("{PREFIX}{environment}")
}

/// A lease on an environment, as read from its ref.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub environment: String,
    /// Who deploys (git's identity).
    pub by: String,
    pub host: String,
    pub pid: u32,
    /// What tells the holder's process apart from a later one with the same pid (Linux: boot
    /// id, pid namespace and start time), when it is known.
    pub process: Option<String>,
    /// The release being deployed.
    pub release: Oid,
    pub at: Timestamp,
    pub expires: Timestamp,
    /// The commit the ref points at: what a compare-and-swap expects.
    pub id: Oid,
}

impl Lease {
    /// `Dana <dana@example.com> on build-1 (pid 4242)`.
    pub fn holder(&self) -> String {
        format!("{} on {} (pid {})", self.by, self.host, self.pid)
    }
}

/// Why a lease could be taken from its holder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stale {
    /// Its time ran out.
    Expired,
    /// Its process no longer runs on this host.
    HolderGone,
}

/// What an attempt to take a lease found.
#[derive(Debug)]
pub enum Taken {
    /// The lease is ours; `from` is the stale lease it replaced, if any.
    Held { lease: Lease, from: Option<(Lease, Stale)> },
    /// Someone else holds it.
    Busy(Lease),
}

/// What giving a lease back found.
#[derive(Debug)]
pub enum Released {
    Done,
    /// The lease was no longer ours: taken over, or removed by hand.
    Lost,
}

/// The lease on `environment`, if one is held (expired or not).
pub fn read(repo: &Repo, environment: &str) -> Result<Option<Lease>> {
    let name = ref_name(environment);
    let id = match repo.git.refname_to_id(&name) {
        Ok(id) => id,
        Err(err) if err.code() == ErrorCode::NotFound => return Ok(None),
        Err(err) => return Err(Error::git(format!("cannot read {name}"), &err)),
    };
    parse(repo, environment, id).map(Some)
}

/// Takes the lease on `environment` for deploying `release`, until `now + timeout`. A lease
/// that expired, or whose process is gone from this host, is taken over from its holder.
pub fn acquire(
    repo: &Repo,
    environment: &str,
    actor: &Actor,
    release: Oid,
    now: Timestamp,
    timeout: SignedDuration,
) -> Result<Taken> {
    let name = ref_name(environment);
    let me = Process::current();
    let expires = now.checked_add(timeout).map_err(|_| {
        Error::with_fix(format!("a lease of {} is too long", time::duration(timeout)), "give a shorter --lease-timeout")
    })?;
    let message = format!(
        "gate: lease on {environment}\n\nGate-Lease: {environment}\nGate-By: {actor}\nGate-Host: {host}\nGate-Pid: {pid}\n{process}Gate-Release: {release}\nGate-At: {at}\nGate-Expires: {expires}\n",
        host = me.host,
        pid = me.pid,
        process = me.token.as_deref().map(|t| format!("Gate-Process: {t}\n")).unwrap_or_default(),
        at = time::iso(now),
        expires = time::iso(expires),
    );
    // Written once, when the lease is free to take: a deploy that waits writes nothing.
    let mut ours: Option<Lease> = None;
    for attempt in 0..MAX_ATTEMPTS {
        let current = read(repo, environment)?;
        let stale = match &current {
            None => None,
            Some(lease) if now >= lease.expires => Some(Stale::Expired),
            Some(lease) if me.sees_gone(lease) => Some(Stale::HolderGone),
            Some(lease) => return Ok(Taken::Busy(lease.clone())),
        };
        let lease = match ours.take() {
            Some(lease) => lease,
            None => {
                let signature = actor.signature(now)?;
                let written = repo
                    .git
                    .treebuilder(None)
                    .and_then(|b| b.write())
                    .and_then(|tree| repo.git.find_tree(tree))
                    .and_then(|tree| repo.git.commit(None, &signature, &signature, &message, &tree, &[]));
                let id = written.map_err(|err| Error::git("cannot write the lease", &err))?;
                parse(repo, environment, id)?
            }
        };
        let expected = current.as_ref().map_or(Oid::ZERO_SHA1, |lease| lease.id);
        let log = format!("gate deploy: lease on {environment}");
        match compare_and_swap(repo, &name, expected, lease.id, &log) {
            Ok(()) => return Ok(Taken::Held { lease, from: current.zip(stale) }),
            Err(err) if is_conflict(&err) => {
                ours = Some(lease);
                backoff(attempt);
            }
            Err(err) => return Err(Error::git(format!("cannot write {name}"), &err)),
        }
    }
    Err(Error::with_fix(
        format!("{name} kept changing under gate ({MAX_ATTEMPTS} attempts)"),
        "other deploys are taking the lease in a loop; try again when they stop",
    ))
}

/// Whether `lease` is still the lease on its environment.
pub fn is_held(repo: &Repo, lease: &Lease) -> Result<bool> {
    let name = ref_name(&lease.environment);
    match repo.git.refname_to_id(&name) {
        Ok(id) => Ok(id == lease.id),
        Err(err) if err.code() == ErrorCode::NotFound => Ok(false),
        Err(err) => Err(Error::git(format!("cannot read {name}"), &err)),
    }
}

/// Gives `lease` back: deletes the ref if it still is `lease`, under the ref's lock, so a
/// lease someone took over meanwhile stays theirs.
pub fn release(repo: &Repo, lease: &Lease) -> Result<Released> {
    let name = ref_name(&lease.environment);
    let fail = |err: git2::Error| Error::git(format!("cannot release {name}"), &err);
    let mut transaction = repo.git.transaction().map_err(fail)?;
    transaction.lock_ref(&name).map_err(fail)?;
    if !is_held(repo, lease)? {
        // Dropping the transaction unlocks the ref, unchanged.
        drop(transaction);
        return Ok(Released::Lost);
    }
    transaction.remove(&name).map_err(fail)?;
    transaction.commit().map_err(fail)?;
    Ok(Released::Done)
}

fn parse(repo: &Repo, environment: &str, id: Oid) -> Result<Lease> {
    let name = ref_name(environment);
    let commit = repo.git.find_commit(id).map_err(|_| repo.missing_object(id, &name))?;
    let message = commit.message().unwrap_or("");
    let field =
        |key: &str| message.lines().find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix(": "))).map(str::trim);
    let unreadable = || {
        Error::with_fix(
            format!("{name} is not a lease gate wrote"),
            format!("inspect it (git show {id}); if no deploy is running, delete it: git update-ref -d {name}"),
        )
    };
    if field("Gate-Lease") != Some(environment) {
        return Err(unreadable());
    }
    let when = |key: &str| field(key).and_then(|t| t.parse::<Timestamp>().ok()).ok_or_else(unreadable);
    Ok(Lease {
        environment: environment.to_string(),
        by: field("Gate-By").ok_or_else(unreadable)?.to_string(),
        host: field("Gate-Host").ok_or_else(unreadable)?.to_string(),
        pid: field("Gate-Pid").and_then(|p| p.parse().ok()).ok_or_else(unreadable)?,
        process: field("Gate-Process").map(str::to_string),
        release: field("Gate-Release").and_then(|r| Oid::from_str(r).ok()).ok_or_else(unreadable)?,
        at: when("Gate-At")?,
        expires: when("Gate-Expires")?,
        id,
    })
}

/// The process taking a lease: its host, pid and, on Linux, what makes it unique there.
struct Process {
    host: String,
    pid: u32,
    token: Option<String>,
}

impl Process {
    fn current() -> Process {
        let pid = std::process::id();
        Process { host: host_name(), pid, token: process_token(pid) }
    }

    /// Whether `lease` was taken by a process of this host (and boot, and pid namespace) that
    /// no longer runs. Anywhere this cannot be told, the answer is no: the lease then lasts
    /// until it expires.
    fn sees_gone(&self, lease: &Lease) -> bool {
        let Some(theirs) = &lease.process else { return false };
        if lease.host != self.host || self.token.is_none() {
            return false;
        }
        let now = process_token(lease.pid);
        let (theirs_scope, _) = theirs.rsplit_once('/').unwrap_or((theirs, ""));
        let ours_scope = self.token.as_deref().and_then(|t| t.rsplit_once('/')).map(|(scope, _)| scope);
        // Another boot or pid namespace: the pid means nothing here.
        if ours_scope != Some(theirs_scope) {
            return false;
        }
        now.as_deref() != Some(theirs.as_str())
    }
}

fn host_name() -> String {
    let from_file = |path: &str| std::fs::read_to_string(path).ok().map(|t| t.trim().to_string());
    from_file("/proc/sys/kernel/hostname")
        .or_else(|| from_file("/etc/hostname"))
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "an unknown host".to_string())
}

/// `BOOT-ID/PID-NAMESPACE/START-TIME` of process `pid` on Linux: the same text only for the same
/// process, since a pid is reused but not within one boot with the same start time.
fn process_token(pid: u32) -> Option<String> {
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    let namespace = std::fs::read_link("/proc/self/ns/pid").ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid ...`: the name may hold spaces and parentheses; the start time is
    // the 22nd field, the 20th after the name.
    let start = stat.rsplit_once(')')?.1.split_whitespace().nth(19)?;
    Some(format!("{}/{}/{start}", boot.trim(), namespace.to_string_lossy()))
}

/// A one-line description of `lease` for messages: holder, release and expiry.
pub fn describe(lease: &Lease, now: Timestamp) -> String {
    let until = if now >= lease.expires {
        format!("expired {}", time::human(lease.expires))
    } else {
        format!("expires {} ({})", time::human(lease.expires), time::ago(now, lease.expires))
    };
    format!(
        "held by {} since {}, deploying {}; it {until}",
        lease.holder(),
        time::human(lease.at),
        short(lease.release)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_not_gone_and_another_boot_is_not_judged() {
        let me = Process::current();
        let Some(token) = me.token.clone() else { return };
        let lease = |pid: u32, process: String| Lease {
            environment: "staging".into(),
            by: "Dana".into(),
            host: me.host.clone(),
            pid,
            process: Some(process),
            release: Oid::ZERO_SHA1,
            at: Timestamp::UNIX_EPOCH,
            expires: Timestamp::MAX,
            id: Oid::ZERO_SHA1,
        };
        assert!(!me.sees_gone(&lease(me.pid, token.clone())));
        let (scope, _) = token.rsplit_once('/').unwrap_or_default();
        assert!(me.sees_gone(&lease(me.pid, format!("{scope}/1"))), "same pid, another start time");
        assert!(!me.sees_gone(&lease(me.pid, "another-boot/pid:[1]/1".into())));
    }
}
