//! The commands: each one loads what it needs (repository, policy, range), calls the library and
//! writes its output. Reports go to `out`; nothing here exits the process.

mod backtest;
mod check;
mod child;
mod deploy;
mod diff;
mod evidence;
mod explain;
mod hook;
mod init;
mod manual;
mod progress;
mod push;
mod record;
mod signing;
mod status;
mod stops;
mod sync;
mod waive;

pub use init::TEMPLATE as INIT_TEMPLATE;

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::cli::{Cli, Command, EvidenceCommand, HookCommand};
use crate::config::{self, Policy, PolicyInput};
use crate::git::Repo;
use crate::{Error, Result};

/// Where a command writes.
pub struct Io<'a> {
    /// Reports and listings.
    pub out: &'a mut dyn Write,
    /// Progress and advice that is not part of the report.
    pub err: &'a mut dyn Write,
    /// Whether `err` is a terminal a person watches, so progress may be shown there.
    pub err_is_terminal: bool,
}

/// How a command ended, when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit code 0.
    Pass,
    /// Exit code 1: at least one finding blocks the release.
    Blocked,
    /// The command gate ran for the user (`gate deploy`, `gate evidence add -- COMMAND`)
    /// failed: gate exits with its status, and recorded nothing.
    Exit(u8),
}

/// Runs the command the user asked for.
pub fn run(cli: &Cli, io: &mut Io<'_>) -> Result<Outcome> {
    let config = cli.config.as_deref();
    match &cli.command {
        Command::Check(args) => check::run(args, config, io),
        Command::Diff(args) => diff::run(args, config, io),
        Command::Status(args) => status::run(args, config, io),
        Command::Backtest(args) => backtest::run(args, config, io),
        Command::Record(args) => record::run(args, config, io),
        Command::Deploy(args) => deploy::run(args, config, io),
        Command::Lock(args) => stops::lock(args, config, io),
        Command::Unlock(args) => stops::unlock(args, config, io),
        Command::Reject(args) => stops::reject(args, io),
        Command::Sync(args) => sync::run(args, io),
        Command::Evidence(EvidenceCommand::Add(args)) => evidence::add(args, io),
        Command::Evidence(EvidenceCommand::List(args)) => evidence::list(args, io),
        Command::Waive(args) => waive::run(args, config, io),
        Command::Init(args) => init::run(args, config, io),
        Command::Explain(args) => explain::explain(args, io),
        Command::Checks => explain::list(config, io),
        Command::Hook(HookCommand::Install(args)) => hook::install(args, io),
        Command::Hook(HookCommand::Uninstall) => hook::uninstall(io),
        Command::Hook(HookCommand::PrePush(args)) => push::pre_push(args, config, io),
        Command::Hook(HookCommand::PreCommit(args)) => push::pre_commit(args, config, io),
        Command::Completions(args) => manual::completions(args, io),
        Command::Man => manual::man(io),
    }
}

/// The default name of the policy file, at the repository root.
pub const POLICY_FILE: &str = "gate.toml";

/// What a command about one release works on: the repository, the release's policy, and the
/// range from the base to the release.
pub struct Session {
    pub repo: Repo,
    pub policy: Policy,
    pub range: crate::git::Range,
}

impl Session {
    pub fn open(args: &crate::cli::RangeArgs, config: Option<&Path>) -> Result<Session> {
        let repo = Repo::discover()?;
        let release_tree = repo.commit(args.release.as_deref().unwrap_or("HEAD"))?.tree_id();
        let policy = load_policy(Some(&repo), config, PolicyAt::Tree(release_tree))?;
        let env = args.env.as_deref().map(|name| policy.environment(name)).transpose()?;
        let range = crate::git::resolve_range(
            &repo,
            args.release.as_deref(),
            args.base.as_deref(),
            env.map(crate::analysis::rollout::target),
        )?;
        Ok(Session { repo, policy, range })
    }
}

/// Which copy of the policy a command uses.
#[derive(Debug, Clone, Copy)]
pub enum PolicyAt {
    /// The policy committed in this tree: what `check`, `diff`, `status` and `record` use, so
    /// the policy that judges a release is the one that ships with it, and an uncommitted edit
    /// to gate.toml cannot change a verdict.
    Tree(git2::Oid),
    /// gate.toml in the working tree, as being edited: what `gate checks` shows.
    WorkingTree,
}

/// Loads the policy: `--config FILE` if given; else gate.toml as `at` says; else the built-in
/// defaults.
pub fn load_policy(repo: Option<&Repo>, config: Option<&Path>, at: PolicyAt) -> Result<Policy> {
    let mut policy = load_policy_file(repo, config, at)?;
    // Files the repository marks as generated, vendored or documentation are not analysed.
    if let (Some(repo), PolicyAt::Tree(tree)) = (repo, at) {
        let marked = crate::git::attributes::out_of_analysis(repo, tree)?;
        if !marked.is_empty() {
            policy.paths.ignore.add(&marked, ".gitattributes");
        }
    }
    Ok(policy)
}

fn load_policy_file(repo: Option<&Repo>, config: Option<&Path>, at: PolicyAt) -> Result<Policy> {
    let workdir = repo.and_then(Repo::workdir).map(Path::to_path_buf);
    let mut policy = match (config, at, repo) {
        (Some(path), _, _) => {
            let text = std::fs::read_to_string(path).map_err(|err| {
                Error::with_fix(
                    format!("cannot read the policy file {}: {err}", path.display()),
                    "check the --config path",
                )
            })?;
            // Pack paths come back joined to the file's name: repository-relative when the file
            // is in the working tree, else relative to the current directory like the path given.
            let relative = workdir.as_deref().and_then(|root| repo_relative(path, root));
            let name = relative.clone().unwrap_or_else(|| path.to_string_lossy().into_owned());
            let read_pack = |pack: &str| match (&relative, &workdir) {
                (Some(_), Some(root)) => read_optional(&root.join(pack)),
                _ => read_optional(Path::new(pack)),
            };
            let mut policy = config::load(&PolicyInput {
                file: Some((name, text)),
                read_pack: &read_pack,
                catalog: &crate::checks::Registry,
            })?;
            if relative.is_none() {
                // A policy file outside the repository is not something a release can change,
                // and there is no copy of it in the last deploy's tree to read.
                policy.files.clear();
            }
            return Ok(policy);
        }
        (None, PolicyAt::Tree(tree), Some(repo)) => {
            let text = crate::git::read_file(repo, tree, POLICY_FILE)?;
            let read_pack = |pack: &str| crate::git::read_file(repo, tree, pack);
            config::load(&PolicyInput {
                file: text.map(|t| (POLICY_FILE.to_string(), t)),
                read_pack: &read_pack,
                catalog: &crate::checks::Registry,
            })?
        }
        (None, PolicyAt::WorkingTree, _) if workdir.is_some() => {
            let root = workdir.clone().unwrap_or_default();
            let text = read_optional(&root.join(POLICY_FILE))?;
            let read_pack = |pack: &str| read_optional(&root.join(pack));
            config::load(&PolicyInput {
                file: text.map(|t| (POLICY_FILE.to_string(), t)),
                read_pack: &read_pack,
                catalog: &crate::checks::Registry,
            })?
        }
        _ => config::load(&PolicyInput { file: None, read_pack: &|_| Ok(None), catalog: &crate::checks::Registry })?,
    };
    if policy.files.is_empty() {
        // No gate.toml yet: adding one is still a change to the policy in force.
        policy.files.push(POLICY_FILE.to_string());
    }
    Ok(policy)
}

/// A note when gate.toml in the working tree differs from the copy in the release tree: the
/// edit is not used, and the user should know why their change seems to have no effect.
pub fn uncommitted_policy_note(repo: &Repo, config: Option<&Path>, tree: git2::Oid) -> Result<Option<String>> {
    let Some(root) = repo.workdir().filter(|_| config.is_none()) else {
        return Ok(None);
    };
    let on_disk = read_optional(&root.join(POLICY_FILE))?;
    let in_tree = crate::git::read_file(repo, tree, POLICY_FILE)?;
    Ok((on_disk != in_tree).then(|| {
        format!(
            "{POLICY_FILE} in the working tree differs from the release's; the release's committed policy is used \
             (commit the edit, or pass --config {POLICY_FILE} to try it)"
        )
    }))
}

fn read_optional(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(Error::io(format!("cannot read {}", path.display()), &err)),
    }
}

/// `path` relative to the working tree root, when it is inside it.
fn repo_relative(path: &Path, root: &Path) -> Option<String> {
    let absolute = std::fs::canonicalize(path).ok()?;
    let root = std::fs::canonicalize(root).ok()?;
    let relative = absolute.strip_prefix(&root).ok()?;
    Some(relative.to_string_lossy().replace('\\', "/"))
}

/// Writes `bytes` to `path` so that readers see the old file or the new one, never a part:
/// a temporary file in the same directory, renamed over the target.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "output".to_string());
    let temp = dir.join(format!(".{name}.gate-{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    result.map_err(|err| {
        let _ = std::fs::remove_file(&temp);
        Error::io(format!("cannot write {}", path.display()), &err)
    })
}
