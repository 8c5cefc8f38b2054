//! The command line, as clap derive types and nothing else. `gate --help` is generated from the
//! doc comments here, so they are written for the person at the terminal.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// `0.1.0 (3f2a9c1b7e)`: the version and the commit gate was built from (see build.rs).
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("GATE_COMMIT"), ")");

/// gate: a deployment safety gate.
///
/// Compares a release with the last deploy of an environment and blocks the deploy when the
/// release carries the kinds of change that caused real outages. Exit codes: 0 pass, 1 blocked,
/// 2 gate could not decide (bad arguments, bad config, a git error, missing history).
#[derive(Debug, Parser)]
#[command(name = "gate", version = VERSION, about, long_about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// Policy file to use instead of the gate.toml committed in the release.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// When to colour human output (NO_COLOR and CLICOLOR_FORCE are honoured with `auto`).
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a release against the last deploy of an environment and give a verdict.
    Check(CheckArgs),
    /// List what would ship: the files the release changes since the last deploy.
    Diff(DiffArgs),
    /// Show each environment's last deploy and what is pending.
    Status(StatusArgs),
    /// Replay past releases through the checks: what gate would have blocked, release by release.
    ///
    /// Each release is checked against the one before it, with its own committed policy, as
    /// `gate check --base PREVIOUS --release RELEASE` would. Evidence checks are skipped. Exits 0
    /// (a backtest reports, it does not block), or 2 when a release could not be checked
    /// (0 with --keep-going, where it is listed with the reason).
    Backtest(BacktestArgs),
    /// Record a successful deploy of a release to an environment in the ledger.
    ///
    /// Runs the check for the environment first, and refuses (exit 1, nothing written) a release
    /// it blocks, unless --force --reason TEXT.
    Record(RecordArgs),
    /// Check, deploy and record as one step: the deploy-stage check for ENV, then COMMAND, then
    /// the record.
    ///
    /// Holds the environment's lease meanwhile, so two deploys to one environment never
    /// interleave: a second one refuses (exit 2, naming the holder), or waits with --wait. A
    /// blocked check (exit 1) or one that cannot decide (exit 2) means COMMAND never runs.
    /// COMMAND gets gate's standard input, output and error; gate's report and messages go to
    /// standard error. When COMMAND succeeds the deploy is recorded as `gate record` would; when
    /// it fails nothing is recorded and gate exits with its status (128 + the signal when a
    /// signal killed it).
    Deploy(DeployArgs),
    /// Stop the line: lock an environment so that no deploy-stage check passes until unlocked.
    Lock(LockArgs),
    /// Lift the lock on an environment.
    Unlock(UnlockArgs),
    /// Mark a release tree bad everywhere: no environment accepts it, not even as a rollback.
    Reject(RejectArgs),
    /// Fetch, merge and push the ledger (refs/gate/*) and evidence (refs/notes/gate).
    ///
    /// Evidence merges as a union of records and each ledger without dropping an entry; the
    /// push is retried from the fetch when the remote moved meanwhile.
    Sync(SyncArgs),
    /// Add or list evidence (approval, backup, ...) bound to a release tree.
    #[command(subcommand)]
    Evidence(EvidenceCommand),
    /// Record a waiver for one finding of the release tree (as evidence, bound to the tree).
    Waive(WaiveArgs),
    /// Write a commented gate.toml for this repository.
    Init(InitArgs),
    /// Explain a check: what it does, why, an example and how to configure it.
    Explain(ExplainArgs),
    /// List every check with its id, severity and where that setting came from.
    Checks,
    /// Install or remove the git pre-push hook, or run it.
    #[command(subcommand)]
    Hook(HookCommand),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(CompletionsArgs),
    /// Print gate's man page (roff), generated from this command line.
    Man,
}

impl Cli {
    /// The file the report goes to instead of standard output, when one is named.
    pub fn output_file(&self) -> Option<&std::path::Path> {
        match &self.command {
            Command::Check(args) => args.output.as_deref(),
            _ => None,
        }
    }

    /// Whether the report goes to standard error: `gate deploy` leaves standard output to the
    /// deploy command.
    pub fn reports_on_stderr(&self) -> bool {
        matches!(self.command, Command::Deploy(_))
    }
}

#[derive(Debug, Subcommand)]
pub enum HookCommand {
    /// Write a pre-push hook that runs `gate hook pre-push` (respects core.hooksPath).
    Install(HookInstallArgs),
    /// Remove the pre-push hook gate installed (and restore a hook it chained).
    Uninstall,
    /// What the installed hook runs: checks each pushed ref that git passes on standard input.
    PrePush(PrePushArgs),
    /// For the pre-commit framework's pre-push stage: checks PRE_COMMIT_FROM_REF..PRE_COMMIT_TO_REF.
    PreCommit(PreCommitArgs),
}

#[derive(Debug, Args)]
pub struct HookInstallArgs {
    /// Replace a pre-push hook gate did not write; the old hook is kept and run first.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct PrePushArgs {
    /// The remote's name, as git passes it.
    #[arg(value_name = "REMOTE")]
    pub remote: Option<String>,
    /// The remote's URL, as git passes it.
    #[arg(value_name = "URL")]
    pub url: Option<String>,
}

#[derive(Debug, Args)]
pub struct PreCommitArgs {}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// The range a command works on: a release and what it is compared with.
#[derive(Debug, Args, Clone, Default)]
pub struct RangeArgs {
    /// Environment the release is going to (its last deploy is the base).
    #[arg(long, value_name = "ENV")]
    pub env: Option<String>,

    /// The release: any revision (commit, branch, tag). Default: HEAD.
    #[arg(long, value_name = "REV")]
    pub release: Option<String>,

    /// Compare with this revision instead of the environment's last deploy.
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub range: RangeArgs,

    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,

    /// Write the report to FILE (atomically) instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Treat warnings as blocking.
    #[arg(long)]
    pub deny_warnings: bool,

    /// Where this check runs: `review` (a pull request's required check, the pre-push hook):
    /// content checks block, and what the evidence checks still want before ENV is listed
    /// without blocking; `deploy` (right before rollout): everything blocks. Default: deploy
    /// with --env, review without.
    #[arg(long, value_enum)]
    pub stage: Option<Stage>,

    /// Show only the verdict and the blocking findings (human format).
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    #[command(flatten)]
    pub range: RangeArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Human)]
    pub format: ListFormat,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Show only this environment.
    #[arg(long, value_name = "ENV")]
    pub env: Option<String>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Human)]
    pub format: ListFormat,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("releases").required(true).multiple(true).args(["tags", "env"])))]
pub struct BacktestArgs {
    /// The release tags, replayed in version order (v1.2 before v1.10). A glob; repeat it to add
    /// more, and a leading `!` takes tags back out: --tags 'v*' --tags '!*-rc*'.
    #[arg(long, value_name = "PATTERN")]
    pub tags: Vec<String>,

    /// Without --tags: replay this environment's deploy history (its ledger). With --tags:
    /// check each release as a release to this environment.
    #[arg(long, value_name = "ENV")]
    pub env: Option<String>,

    /// How many releases to replay, the newest ones (the release before the first is its base).
    #[arg(long, value_name = "N", default_value_t = 15, value_parser = clap::value_parser!(u16).range(1..))]
    pub last: u16,

    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Human)]
    pub format: ListFormat,

    /// Show each release's blocking findings (check, path, message).
    #[arg(long)]
    pub details: bool,

    /// Go on past a release gate cannot check: list it with the reason and exit 0.
    #[arg(long)]
    pub keep_going: bool,
}

#[derive(Debug, Args)]
pub struct RecordArgs {
    /// Environment the release was deployed to.
    #[arg(long, value_name = "ENV")]
    pub env: String,

    /// The release that was deployed. Default: HEAD.
    #[arg(long, value_name = "REV")]
    pub release: Option<String>,

    /// Record it even though the check for ENV blocks it (needs --reason).
    #[arg(long, requires = "reason")]
    pub force: bool,

    /// Why a release the check blocks was deployed anyway; kept in the ledger entry and shown
    /// by `gate status` and the next check.
    #[arg(long, value_name = "TEXT", requires = "force")]
    pub reason: Option<String>,

    #[command(flatten)]
    pub signing: SigningArgs,
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    /// Environment to deploy to.
    #[arg(long, value_name = "ENV")]
    pub env: String,

    /// The release to deploy. Default: HEAD (resolved once: what is checked is what is recorded).
    #[arg(long, value_name = "REV")]
    pub release: Option<String>,

    /// Treat warnings as blocking.
    #[arg(long)]
    pub deny_warnings: bool,

    /// Show only the verdict and the blocking findings.
    #[arg(long, short = 'q')]
    pub quiet: bool,

    /// How long the lease on ENV lasts if this deploy never gives it back (the machine dies):
    /// longer than the longest deploy. A lease past it may be taken over.
    #[arg(long, value_name = "DURATION", default_value = "1h")]
    pub lease_timeout: String,

    /// When another deploy holds the lease, wait for it to end instead of refusing.
    #[arg(long)]
    pub wait: bool,

    #[command(flatten)]
    pub signing: SigningArgs,

    /// The deploy command and its arguments, after `--`: gate deploy --env staging -- ./deploy.sh staging
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct LockArgs {
    /// The environment to lock.
    #[arg(long, value_name = "ENV")]
    pub env: String,

    /// Why, for everyone whose deploy it stops.
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
}

#[derive(Debug, Args)]
pub struct UnlockArgs {
    /// The environment to unlock.
    #[arg(long, value_name = "ENV")]
    pub env: String,
}

#[derive(Debug, Args)]
pub struct RejectArgs {
    /// The release whose tree is bad. Default: HEAD.
    #[arg(long, value_name = "REV")]
    pub release: Option<String>,

    /// What is wrong with it.
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The remote (a name or URL). Default: origin, or the only remote.
    #[arg(value_name = "REMOTE")]
    pub remote: Option<String>,

    /// Fetch and merge only; push nothing (a read-only job, such as a pull-request check).
    #[arg(long)]
    pub no_push: bool,
}

#[derive(Debug, Subcommand)]
pub enum EvidenceCommand {
    /// Record evidence of KIND (approval, backup, ...) for the release tree.
    Add(EvidenceAddArgs),
    /// List the evidence recorded for the release tree.
    List(EvidenceListArgs),
}

#[derive(Debug, Args)]
pub struct EvidenceAddArgs {
    /// Kind of evidence: approval, backup, or any kebab-case word your policy asks for.
    #[arg(value_name = "KIND")]
    pub kind: String,

    /// The release the evidence is for. Default: HEAD.
    #[arg(long, value_name = "REV")]
    pub release: Option<String>,

    /// Free text kept with the record (ticket, reviewer, backup id); required for approvals.
    #[arg(long, value_name = "TEXT")]
    pub detail: Option<String>,

    /// For an approval: what it approves (required; one approval does not cover everything).
    #[arg(long = "for", value_enum, value_name = "WHAT")]
    pub approves: Option<ApprovalFor>,

    /// JUnit XML reports to read (KIND must be `tests`); quoted globs such as
    /// 'reports/**/*.xml' are expanded by gate.
    #[arg(long, value_name = "FILE", num_args = 1..)]
    pub junit: Vec<String>,

    #[command(flatten)]
    pub signing: SigningArgs,

    /// A command that produces the evidence, after `--`: gate runs it and records the evidence
    /// only when it exits 0, with its duration and exit status; when it fails nothing is
    /// recorded and gate exits with its status. With --junit, the reports are read after it ran
    /// and must have been written by it.
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct EvidenceListArgs {
    /// The release to list evidence for. Default: HEAD.
    #[arg(long, value_name = "REV")]
    pub release: Option<String>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Human)]
    pub format: ListFormat,
}

#[derive(Debug, Args)]
pub struct WaiveArgs {
    /// The check whose finding is waived.
    #[arg(value_name = "CHECK")]
    pub check: String,

    /// The path the finding is about (a glob is allowed).
    #[arg(long, value_name = "PATH")]
    pub path: String,

    /// Why this exception is acceptable; shown with every waived finding.
    #[arg(long, value_name = "TEXT")]
    pub reason: String,

    /// Last day the waiver applies (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    pub expires: String,

    /// The release whose tree the waiver is for. Default: HEAD.
    #[arg(long, value_name = "REV")]
    pub release: Option<String>,

    #[command(flatten)]
    pub signing: SigningArgs,
}

/// Signing a record with an SSH key, the way git signs commits (SSHSIG, namespace `gate`).
#[derive(Debug, Args, Clone, Default)]
pub struct SigningArgs {
    /// Sign the record (also on with git config gate.sign true).
    #[arg(long)]
    pub sign: bool,

    /// The SSH key to sign with (implies --sign). Default: git config gate.signingKey, then
    /// user.signingKey; a public key signs through ssh-agent.
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Overwrite an existing gate.toml.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The check id, for example `policy-change`.
    #[arg(value_name = "CHECK")]
    pub check: String,
}

/// What an approval approves (`gate evidence add approval --for WHAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ApprovalFor {
    /// A change to gate.toml or a rule pack (policy-change).
    PolicyChange,
    /// A deploy inside a freeze window or outside the deploy hours (freeze-window).
    Freeze,
    /// A change to a high-risk setting (config-risk).
    ConfigRisk,
    /// No deploy to roll back to, or a release that does not descend from it (rollback-ready).
    Rollback,
    /// All of the above.
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// Formats of the `gate check` report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
    /// SARIF 2.1.0, for GitHub code scanning and other static-analysis viewers.
    Sarif,
    /// JUnit XML: one test case per check.
    Junit,
    /// GitHub Actions workflow commands (`::error file=...::`), for annotations.
    Github,
    /// Markdown, for `$GITHUB_STEP_SUMMARY` or a pull-request comment.
    Markdown,
    /// GitLab Code Quality (JSON), for `artifacts: reports: codequality`.
    Gitlab,
}

/// Where a check runs, and so what blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// A pull request or a push: the content of the release is judged; evidence it will need
    /// before the environment is listed, not blocking.
    Review,
    /// Right before rollout: everything blocks.
    Deploy,
}

/// Formats of listings (`gate diff`, `gate status`, `gate evidence list`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Human,
    Json,
}
