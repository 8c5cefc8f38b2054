//! Running the user's COMMAND (`gate deploy ... -- COMMAND`, `gate evidence add KIND --
//! COMMAND`): with gate's standard input, output and error, so it talks to the terminal or the
//! CI log as if run alone, and with its exit status kept for gate's own exit.

use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

use crate::evidence::CommandRun;
use crate::git::Repo;
use crate::{Error, Result};

/// How a command ended.
#[derive(Debug, Clone, Copy)]
pub struct Ended {
    pub status: ExitStatus,
    pub elapsed: Duration,
}

impl Ended {
    pub fn succeeded(&self) -> bool {
        self.status.success()
    }

    /// The exit code gate passes on for a command that failed: its own, or 128 + the signal
    /// that killed it (as shells report it), or 2 when neither is known.
    pub fn exit_code(&self) -> u8 {
        if let Some(code) = self.status.code() {
            // A code outside 1..=255 (Windows) would read as success or wrap around.
            return u8::try_from(code).ok().filter(|c| *c != 0).unwrap_or(2);
        }
        signal(&self.status).and_then(|s| u8::try_from(128 + s).ok()).unwrap_or(2)
    }

    /// `exit status 3` or `killed by signal 9`.
    pub fn describe(&self) -> String {
        match (self.status.code(), signal(&self.status)) {
            (Some(code), _) => format!("exit status {code}"),
            (None, Some(signal)) => format!("killed by signal {signal}"),
            (None, None) => "no exit status".to_string(),
        }
    }

    /// What the evidence record keeps of the run.
    pub fn record(&self, command: &[String]) -> CommandRun {
        CommandRun {
            program: command.first().cloned().unwrap_or_default(),
            exit: self.status.code().unwrap_or(-1),
            duration_ms: u64::try_from(self.elapsed.as_millis()).unwrap_or(u64::MAX),
        }
    }
}

#[cfg(unix)]
fn signal(status: &ExitStatus) -> Option<i32> {
    std::os::unix::process::ExitStatusExt::signal(status)
}

#[cfg(not(unix))]
fn signal(_: &ExitStatus) -> Option<i32> {
    None
}

/// Runs `command` (program and arguments, as given after `--`) and waits for it.
pub fn run(command: &[String]) -> Result<Ended> {
    let Some((program, args)) = command.split_first() else {
        return Err(Error::with_fix("no command was given after --", "name it: -- ./deploy.sh ARGS"));
    };
    let started = Instant::now();
    let mut child = Command::new(program).args(args).spawn().map_err(|err| {
        Error::with_fix(
            format!("cannot run `{program}`: {err}"),
            "check the command after -- (a script needs its path, like ./deploy.sh, and to be executable)",
        )
    })?;
    let status = child.wait().map_err(|err| Error::io(format!("cannot wait for `{program}`"), &err))?;
    Ok(Ended { status, elapsed: started.elapsed() })
}

/// A warning when tracked files of the working tree differ from `tree` (the release, HEAD's
/// tree): a command run here sees those changes, while gate checks and records the commit.
pub fn local_changes(repo: &Repo, tree: git2::Oid) -> Result<Option<String>> {
    let changed = repo.changed_in_worktree(tree)?;
    Ok((changed > 0).then(|| {
        let (s, verb) = if changed == 1 { ("", "differs") } else { ("s", "differ") };
        format!(
            "{changed} tracked file{s} {verb} from HEAD's commit; the command runs on the working tree, while gate \
             records HEAD's tree ({})",
            crate::git::short(tree)
        )
    }))
}

/// The command as a person would type it, for messages.
pub fn shown(command: &[String]) -> String {
    let word = |w: &String| {
        if !w.is_empty() && w.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c)) {
            w.clone()
        } else {
            format!("'{}'", w.replace('\'', r"'\''"))
        }
    };
    command.iter().map(word).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_signal_is_passed_on_as_a_shell_would() {
        use std::os::unix::process::ExitStatusExt;
        let ended = |raw| Ended { status: ExitStatus::from_raw(raw), elapsed: Duration::ZERO };
        assert_eq!(ended(9).exit_code(), 137);
        assert_eq!(ended(9).describe(), "killed by signal 9");
        assert_eq!(ended(3 << 8).exit_code(), 3);
        assert_eq!(ended(3 << 8).describe(), "exit status 3");
    }

    #[test]
    fn commands_are_shown_as_typed() {
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(shown(&words(&["./deploy.sh", "--env=prod"])), "./deploy.sh --env=prod");
        assert_eq!(shown(&words(&["sh", "-c", "echo it's done"])), r"sh -c 'echo it'\''s done'");
    }
}
