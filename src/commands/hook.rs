//! `gate hook install` and `gate hook uninstall`: the pre-push hook file.
//!
//! The hook is a short POSIX sh script that runs this gate binary, by absolute path, as
//! `gate hook pre-push REMOTE URL` with git's standard input. It carries a marker line so that
//! gate only ever replaces or removes a hook it wrote. A hook gate did not write is kept: without
//! `--force` install refuses; with it, the hook is renamed `pre-push.gate-chained` and the script
//! runs it first, with the same arguments and input, and stops the push if it fails.

use std::path::{Path, PathBuf};

use super::{Io, Outcome, write_atomically};
use crate::cli::HookInstallArgs;
use crate::git::Repo;
use crate::{Error, Result};

/// The line that marks a hook as gate's.
const MARKER: &str = "# installed by gate";
/// What a replaced hook is renamed to.
const CHAINED: &str = "pre-push.gate-chained";

pub fn install(args: &HookInstallArgs, io: &mut Io<'_>) -> Result<Outcome> {
    let repo = Repo::discover()?;
    let dir = hooks_dir(&repo)?;
    let hook = dir.join("pre-push");
    let chained = dir.join(CHAINED);
    let gate = std::env::current_exe()
        .map_err(|err| Error::io("cannot tell where the gate binary is, to write its path into the hook", &err))?;

    let mut kept = false;
    match installed(&hook)? {
        None | Some(Installed::Gate) => {}
        Some(Installed::Other) if !args.force => {
            return Err(Error::with_fix(
                format!("{} already exists and gate did not write it", hook.display()),
                format!(
                    "run `gate hook install --force` to keep it (renamed {CHAINED}) and run it before gate's check"
                ),
            ));
        }
        Some(Installed::Other) => {
            if exists(&chained)? {
                return Err(Error::with_fix(
                    format!("both {} and {} exist, and gate wrote neither", hook.display(), chained.display()),
                    "move one of them out of the hooks directory, then run `gate hook install --force` again",
                ));
            }
            // A rename keeps the hook's mode, so it still runs (or still does not) as before.
            std::fs::rename(&hook, &chained)
                .map_err(|err| Error::io(format!("cannot rename {} to {CHAINED}", hook.display()), &err))?;
            kept = true;
        }
    }

    std::fs::create_dir_all(&dir).map_err(|err| Error::io(format!("cannot create {}", dir.display()), &err))?;
    write_atomically(&hook, script(&gate).as_bytes())?;
    make_executable(&hook)?;

    let out = &mut *io.out;
    let written = (|| {
        writeln!(out, "installed the pre-push hook: {}", hook.display())?;
        writeln!(out, "  every `git push` runs `{} hook pre-push`", gate.display())?;
        if kept {
            writeln!(out, "  the hook that was there is kept as {CHAINED} and runs first")?;
        } else if exists(&chained).unwrap_or(false) {
            writeln!(out, "  {CHAINED} (the hook gate replaced earlier) still runs first")?;
        }
        writeln!(out, "  remove it with `gate hook uninstall`")
    })();
    written.map_err(|err| Error::io("cannot write to standard output", &err))?;
    Ok(Outcome::Pass)
}

pub fn uninstall(io: &mut Io<'_>) -> Result<Outcome> {
    let repo = Repo::discover()?;
    let dir = hooks_dir(&repo)?;
    let hook = dir.join("pre-push");
    let chained = dir.join(CHAINED);
    let mut said = Vec::new();
    match installed(&hook)? {
        Some(Installed::Other) => {
            return Err(Error::with_fix(
                format!("{} was not installed by gate, so it is left as it is", hook.display()),
                "remove it by hand if you no longer want it",
            ));
        }
        Some(Installed::Gate) => {
            std::fs::remove_file(&hook).map_err(|err| Error::io(format!("cannot remove {}", hook.display()), &err))?;
            said.push(format!("removed gate's pre-push hook: {}", hook.display()));
        }
        None => said.push(format!("no pre-push hook in {}: nothing to remove", dir.display())),
    }
    if exists(&chained)? {
        std::fs::rename(&chained, &hook)
            .map_err(|err| Error::io(format!("cannot rename {} back to pre-push", chained.display()), &err))?;
        said.push(format!("restored the hook gate had kept: {CHAINED} is pre-push again"));
    }
    for line in said {
        writeln!(io.out, "{line}").map_err(|err| Error::io("cannot write to standard output", &err))?;
    }
    Ok(Outcome::Pass)
}

/// Where git looks for hooks: `core.hooksPath` (relative to the working tree root, as git
/// reads it, or to the git directory in a bare repository), else the `hooks` directory of the
/// common git directory, which every worktree of the repository shares.
fn hooks_dir(repo: &Repo) -> Result<PathBuf> {
    let config = repo.git.config().map_err(|err| Error::git("cannot read git's configuration", &err))?;
    match config.get_path("core.hooksPath") {
        Ok(path) if path.as_os_str().is_empty() => Ok(repo.git.commondir().join("hooks")),
        Ok(path) if path.is_absolute() => Ok(path),
        Ok(path) => Ok(repo.workdir().map_or_else(|| repo.git_dir(), Path::to_path_buf).join(path)),
        Err(err) if err.code() == git2::ErrorCode::NotFound => Ok(repo.git.commondir().join("hooks")),
        Err(err) => Err(Error::git("cannot read core.hooksPath", &err)),
    }
}

enum Installed {
    Gate,
    Other,
}

/// What is at the hook's path: nothing, gate's hook, or something else (including a link that
/// leads nowhere).
fn installed(hook: &Path) -> Result<Option<Installed>> {
    if !exists(hook)? {
        return Ok(None);
    }
    let text = std::fs::read(hook).unwrap_or_default();
    let ours = String::from_utf8_lossy(&text).lines().take(5).any(|line| line.starts_with(MARKER));
    Ok(Some(if ours { Installed::Gate } else { Installed::Other }))
}

fn exists(path: &Path) -> Result<bool> {
    match std::fs::symlink_metadata(path) {
        Ok(_) => Ok(true),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(err) => Err(Error::io(format!("cannot look at {}", path.display()), &err)),
    }
}

#[cfg(unix)]
fn make_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .map_err(|err| Error::io(format!("cannot make {} executable", path.display()), &err))
}

#[cfg(not(unix))]
fn make_executable(_path: &Path) -> Result<()> {
    // Git for Windows runs hooks through its sh whatever the file's mode.
    Ok(())
}

/// The hook script. git's standard input is read once into a variable and given whole to the
/// chained hook and to gate, so neither sees a half-read list, and git never writes into a pipe
/// nobody reads.
fn script(gate: &Path) -> String {
    let gate = sh_quote(&gate.to_string_lossy());
    format!(
        r#"#!/bin/sh
{MARKER}: every push is checked by `gate hook pre-push` (docs/hooks.md).
# `gate hook uninstall` removes this hook; `git push --no-verify` skips it, for emergencies.

gate={gate}

# The refs being pushed, as git wrote them; the `.` keeps trailing newlines.
input=$(cat; echo .)
input=${{input%.}}

# The hook that was here before gate's, kept by `gate hook install --force`: it runs first,
# and when it fails the push stops with its status.
chained="$(dirname -- "$0")/{CHAINED}"
if [ -x "$chained" ]; then
    printf '%s' "$input" | "$chained" "$@" || exit $?
fi

if [ ! -x "$gate" ]; then
    echo "gate: $gate is gone, so this push cannot be checked; reinstall the hook with \`gate hook install\`" >&2
    exit 2
fi
# git shows a hook's standard error beside its own messages: the report goes there.
printf '%s' "$input" | "$gate" hook pre-push "$@" 1>&2
"#
    )
}

/// `text` as one single-quoted sh word.
fn sh_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_paths_for_sh() {
        assert_eq!(sh_quote("/opt/gate/bin/gate"), "'/opt/gate/bin/gate'");
        assert_eq!(sh_quote("/home/o'neil/gate"), r"'/home/o'\''neil/gate'");
    }

    #[test]
    fn the_script_carries_the_marker_near_the_top() {
        let text = script(Path::new("/usr/bin/gate"));
        assert!(text.lines().take(5).any(|line| line.starts_with(MARKER)), "{text}");
        assert!(text.contains("gate='/usr/bin/gate'"), "{text}");
    }
}
