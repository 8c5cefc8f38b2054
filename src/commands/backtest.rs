//! `gate backtest`: what gate would have done to past releases.
//!
//! Each past release is checked against the one before it, exactly as `gate check --base
//! PREVIOUS --release RELEASE` would check it today, with the release's own committed policy.
//! The releases are consecutive tags in version order (`--tags`) or consecutive entries of an
//! environment's ledger (`--env` alone). Evidence checks are switched off: history carries no
//! test runs, approvals or staging deploys to judge, so they are listed as skipped rather than
//! counted as passes. A backtest reports; it never blocks: it exits 0 unless a release could not
//! be checked (2, or 0 with `--keep-going`, where that release is listed with the reason).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use colored::{ColoredString, Colorize};
use git2::{ErrorCode, ObjectType, Oid};
use serde::Serialize;

mod version;

use super::progress::TerminalProgress;
use super::{Io, Outcome, PolicyAt, load_policy};
use crate::analysis::Progress;
use crate::cli::{BacktestArgs, ListFormat};
use crate::config::Severity;
use crate::git::{self, Repo, ledger, short};
use crate::report::Verdict;
use crate::{Error, Result};
use version::version_key;

/// Version of the backtest JSON layout (its own, apart from `gate check`'s).
const JSON_VERSION: u32 = 1;

/// The checks that judge evidence about a release rather than its content. A past release's
/// evidence (its test run, its staging soak, the clock at its deploy) is not there to judge, so
/// a backtest switches them off and says so.
pub const SKIPPED: &[&str] = crate::checks::EVIDENCE_CHECKS;

const SKIP_REASON: &str =
    "evidence checks: a past release's test runs, staging deploys and deploy time are not there to judge";

/// One past release: its name (a tag, or a ledger entry's commit) and its commit, or why gate
/// cannot read it.
#[derive(Debug, Clone)]
struct Point {
    name: String,
    /// The revision `gate check --release` would be given: the tag, or the commit id.
    rev: String,
    commit: std::result::Result<Oid, String>,
}

/// What the backtest found for one release.
#[derive(Debug)]
struct Replayed {
    base: Point,
    release: Point,
    outcome: std::result::Result<Judgement, String>,
    elapsed: Duration,
}

#[derive(Debug)]
struct Judgement {
    verdict: Verdict,
    files_changed: usize,
    deny: BTreeMap<&'static str, usize>,
    warn: BTreeMap<&'static str, usize>,
    waived: usize,
    blocking: Vec<Blocking>,
}

/// A finding that blocked a past release: what a person reads to judge whether it should have.
#[derive(Debug, Serialize)]
struct Blocking {
    check: &'static str,
    path: Option<String>,
    line: Option<u32>,
    message: String,
}

pub fn run(args: &BacktestArgs, config: Option<&Path>, io: &mut Io<'_>) -> Result<Outcome> {
    let repo = Repo::discover()?;
    let (source, points) = if args.tags.is_empty() {
        let env = args.env.as_deref().unwrap_or_default();
        (
            format!("deploys of {env} from the ledger, oldest first"),
            ledger_points(&repo, env, usize::from(args.last), config)?,
        )
    } else {
        let source = format!("tags matching {}, in version order", args.tags.join(" "));
        (source, tag_points(&repo, &args.tags, usize::from(args.last))?)
    };
    let human = args.format == ListFormat::Human;
    let progress = TerminalProgress::new(&mut *io.err, io.err_is_terminal && human);
    let steps: Vec<(Point, Point)> = points.windows(2).map(|pair| (pair[0].clone(), pair[1].clone())).collect();
    let width = steps.iter().map(|(base, release)| range_label(base, release).len()).max().unwrap_or(0);
    let write_err = |err: std::io::Error| Error::io("cannot write the backtest", &err);

    if human {
        write_heading(io.out, steps.len(), &source, args.env.as_deref()).map_err(write_err)?;
    }
    let mut replayed = Vec::new();
    let mut stopped = None;
    let total = steps.len();
    for (done, (base, release)) in steps.into_iter().enumerate() {
        let label = range_label(&base, &release);
        progress.update(&format!("backtest {label}"), done, total);
        let started = Instant::now();
        let step = Prefixed { inner: &progress, prefix: format!("backtest {label}") };
        let outcome = judge(&repo, &base, &release, args, config, &step).map_err(|err| reason(&err));
        progress.finish();
        let entry = Replayed { base, release, outcome, elapsed: started.elapsed() };
        if human {
            write_line(io.out, &entry, width, args.details).map_err(write_err)?;
        }
        let failed = entry.outcome.is_err();
        replayed.push(entry);
        if failed && !args.keep_going {
            stopped = Some(replayed.len() - 1);
            break;
        }
    }
    progress.finish();

    let summary = Summary::of(&replayed);
    if human {
        write_summary(io.out, &summary).map_err(write_err)?;
    } else {
        write_json(io.out, &replayed, &summary, &source, args.env.as_deref()).map_err(write_err)?;
    }
    match stopped {
        Some(index) => {
            let entry = &replayed[index];
            let why = entry.outcome.as_ref().err().cloned().unwrap_or_default();
            Err(Error::with_fix(
                format!("release {} could not be checked ({why})", entry.release.name),
                "fix that, or pass --keep-going to list it apart and go on",
            ))
        }
        None => Ok(Outcome::Pass),
    }
}

/// The last `last` releases among the tags the patterns select, with the tag before the first
/// of them as its base. A pattern with a leading `!` takes tags back out (`'!*-rc*'`). Tags that
/// name something other than a commit are not releases and are left out.
fn tag_points(repo: &Repo, patterns: &[String], last: usize) -> Result<Vec<Point>> {
    let compile = |pattern: &str| {
        globset::GlobBuilder::new(pattern).literal_separator(true).build().map(|g| g.compile_matcher()).map_err(|err| {
            Error::with_fix(format!("invalid tag pattern `{pattern}`: {}", err.kind()), "give a glob such as 'v*'")
        })
    };
    let mut include = Vec::new();
    let mut exclude = Vec::new();
    for pattern in patterns {
        match pattern.strip_prefix('!') {
            Some(rest) => exclude.push(compile(rest)?),
            None => include.push(compile(pattern)?),
        }
    }
    if include.is_empty() {
        return Err(Error::with_fix(
            "every --tags pattern excludes (`!`): nothing selects the releases",
            "add a pattern that selects them, such as --tags 'v*'",
        ));
    }
    let fail = |err: git2::Error| Error::git("cannot list tags", &err);
    let mut points = Vec::new();
    for reference in repo.git.references_glob("refs/tags/*").map_err(fail)? {
        let reference = reference.map_err(fail)?;
        let Some(name) = reference.name().ok().and_then(|n| n.strip_prefix("refs/tags/")) else {
            continue;
        };
        if !include.iter().any(|m| m.is_match(name)) || exclude.iter().any(|m| m.is_match(name)) {
            continue;
        }
        let target = reference.target().unwrap_or(Oid::ZERO_SHA1);
        let commit = match reference.peel(ObjectType::Any) {
            Ok(object) if object.kind() == Some(ObjectType::Commit) => Ok(object.id()),
            Ok(_) => continue,
            Err(err) if err.code() == ErrorCode::NotFound => {
                Err(reason(&repo.missing_object(target, &format!("the object tagged {name}"))))
            }
            Err(err) => Err(format!("cannot read tag {name}: {}", err.message())),
        };
        points.push(Point { name: name.to_string(), rev: name.to_string(), commit });
    }
    points.sort_by(|a, b| version_key(&a.name).cmp(&version_key(&b.name)).then_with(|| a.name.cmp(&b.name)));
    let selected = format!("tags matching {}", patterns.join(" "));
    keep_last(points, last, &selected)
}

/// The last `last` deploys of an environment, oldest first, with the deploy before them as the
/// base of the first. The environment is the one declared in the policy at HEAD (or --config).
fn ledger_points(repo: &Repo, name: &str, last: usize, config: Option<&Path>) -> Result<Vec<Point>> {
    let head = repo.commit("HEAD")?.tree_id();
    let policy = load_policy(Some(repo), config, PolicyAt::Tree(head))?;
    let env = policy.environment(name)?;
    let mut deploys = ledger::history(repo, crate::analysis::rollout::target(env), last.saturating_add(1))?;
    deploys.reverse();
    let points = deploys
        .iter()
        .map(|deploy| {
            let commit = match repo.git.find_commit(deploy.commit) {
                Ok(_) => Ok(deploy.commit),
                Err(_) => Err(reason(&repo.missing_object(deploy.commit, &format!("the commit deployed to {name}")))),
            };
            Point { name: short(deploy.commit), rev: deploy.commit.to_string(), commit }
        })
        .collect();
    keep_last(points, last, &format!("deploys of {name} in {}", ledger::ref_name(name)))
}

fn keep_last(mut points: Vec<Point>, last: usize, selected: &str) -> Result<Vec<Point>> {
    if points.len() < 2 {
        return Err(Error::with_fix(
            format!("{selected}: found {}; a backtest needs at least two", points.len()),
            "each release is checked against the one before it: select more releases",
        ));
    }
    let keep = last.saturating_add(1).min(points.len());
    Ok(points.split_off(points.len() - keep))
}

/// Checks one release against the one before it, as `gate check --base BASE --release RELEASE`
/// would, with the evidence checks switched off.
fn judge(
    repo: &Repo,
    base: &Point,
    release: &Point,
    args: &BacktestArgs,
    config: Option<&Path>,
    progress: &dyn Progress,
) -> Result<Judgement> {
    let base_commit = base.commit.clone().map_err(Error::new)?;
    let release_commit = release.commit.clone().map_err(Error::new)?;
    let tree = repo.required_commit(release_commit, &format!("the commit of {}", release.name))?.tree_id();
    let mut policy = load_policy(Some(repo), config, PolicyAt::Tree(tree))?;
    for id in SKIPPED {
        if let Some(check) = policy.checks.get_mut(id) {
            check.severity = Severity::Off;
        }
    }
    let env = args.env.as_deref().map(|name| policy.environment(name)).transpose()?;
    let base_rev = base_commit.to_string();
    let range =
        git::resolve_range(repo, Some(&release.rev), Some(&base_rev), env.map(crate::analysis::rollout::target))?;
    let report =
        super::check::report(repo, &policy, range, config, false, progress, SKIPPED, super::check::Then::Continue)?;

    let mut judgement = Judgement {
        verdict: report.verdict(),
        files_changed: report.files_changed,
        deny: BTreeMap::new(),
        warn: BTreeMap::new(),
        waived: 0,
        blocking: Vec::new(),
    };
    for finding in &report.results.findings {
        if finding.waived.is_some() {
            judgement.waived += 1;
            continue;
        }
        match finding.severity {
            Severity::Deny => *judgement.deny.entry(finding.check).or_default() += 1,
            Severity::Warn => *judgement.warn.entry(finding.check).or_default() += 1,
            Severity::Off => {}
        }
        if finding.blocks(false) {
            judgement.blocking.push(Blocking {
                check: finding.check,
                path: finding.path.clone(),
                line: finding.line,
                message: finding.message.clone(),
            });
        }
    }
    Ok(judgement)
}

/// Why a release could not be checked, in one line: a policy error names its first location.
fn reason(err: &Error) -> String {
    match err.diagnostics() {
        [] => err.to_string(),
        [first, rest @ ..] => {
            let more = if rest.is_empty() { String::new() } else { format!(" (and {} more)", rest.len()) };
            format!(
                "the release's policy is invalid: {}:{}:{}: {}{more}",
                first.file, first.line, first.col, first.message
            )
        }
    }
}

/// Inner progress (reading the release tree, comparing files) named after the release it is for.
struct Prefixed<'p> {
    inner: &'p dyn Progress,
    prefix: String,
}

impl Progress for Prefixed<'_> {
    fn update(&self, stage: &str, done: usize, total: usize) {
        self.inner.update(&format!("{}: {stage}", self.prefix), done, total);
    }

    fn finish(&self) {
        self.inner.finish();
    }
}

fn range_label(base: &Point, release: &Point) -> String {
    format!("{}..{}", base.name, release.name)
}

fn blocked(text: &str) -> ColoredString {
    text.red().bold()
}

fn passed(text: &str) -> ColoredString {
    text.green()
}

fn undecided(text: &str) -> ColoredString {
    text.yellow().bold()
}

fn write_heading(out: &mut dyn Write, releases: usize, source: &str, env: Option<&str>) -> std::io::Result<()> {
    let target = env.map(|env| format!(", each as a release to {env}")).unwrap_or_default();
    writeln!(
        out,
        "gate backtest: {releases} release{}: {source}{target}; each is checked against the one before it",
        plural(releases)
    )?;
    writeln!(out, "  skipped: {} ({SKIP_REASON})", SKIPPED.join(", "))?;
    writeln!(out)
}

fn write_line(out: &mut dyn Write, entry: &Replayed, width: usize, details: bool) -> std::io::Result<()> {
    let label = range_label(&entry.base, &entry.release);
    let time = format!("{:.1}s", entry.elapsed.as_secs_f64());
    let judgement = match &entry.outcome {
        Ok(judgement) => judgement,
        Err(why) => {
            return writeln!(out, "  {label:<width$}  {}  {time:>6}  could not check: {why}", undecided("undecided"));
        }
    };
    let verdict = match judgement.verdict {
        Verdict::Blocked => blocked(&format!("{:<9}", "BLOCKED")),
        Verdict::Pass => passed(&format!("{:<9}", "pass")),
    };
    let mut counts = Vec::new();
    if !judgement.deny.is_empty() {
        counts.push(format!("deny {}", by_check(&judgement.deny)));
    }
    if !judgement.warn.is_empty() {
        counts.push(format!("warn {}", by_check(&judgement.warn)));
    }
    if judgement.waived > 0 {
        counts.push(format!("{} waived", judgement.waived));
    }
    let files = format!("{} file{}", judgement.files_changed, plural(judgement.files_changed));
    let line = format!("  {label:<width$}  {verdict}  {time:>6}  {files:>10}  {}", counts.join("; "));
    writeln!(out, "{}", line.trim_end())?;
    if details {
        for finding in &judgement.blocking {
            let at = match (&finding.path, finding.line) {
                (Some(path), Some(line)) => format!("{path}:{line}: "),
                (Some(path), None) => format!("{path}: "),
                (None, _) => String::new(),
            };
            writeln!(out, "      {} {at}{}", finding.check, finding.message)?;
        }
    }
    Ok(())
}

fn by_check(counts: &BTreeMap<&'static str, usize>) -> String {
    counts.iter().map(|(check, n)| format!("{check} {n}")).collect::<Vec<_>>().join(", ")
}

/// Totals over the releases that were checked.
#[derive(Debug, Default, Serialize)]
struct Summary {
    /// Releases checked (pass or blocked).
    releases: usize,
    blocked: usize,
    /// Releases gate could not check, counted apart.
    undecided: usize,
    deny: BTreeMap<&'static str, usize>,
    warn: BTreeMap<&'static str, usize>,
    /// Releases each check blocked.
    blocked_by: BTreeMap<&'static str, usize>,
}

impl Summary {
    fn of(replayed: &[Replayed]) -> Summary {
        let mut summary = Summary::default();
        for entry in replayed {
            let Ok(judgement) = &entry.outcome else {
                summary.undecided += 1;
                continue;
            };
            summary.releases += 1;
            if judgement.verdict == Verdict::Blocked {
                summary.blocked += 1;
            }
            for (check, n) in &judgement.deny {
                *summary.deny.entry(check).or_default() += n;
            }
            for (check, n) in &judgement.warn {
                *summary.warn.entry(check).or_default() += n;
            }
            let mut blockers: Vec<&'static str> = judgement.blocking.iter().map(|b| b.check).collect();
            blockers.dedup();
            for check in blockers {
                *summary.blocked_by.entry(check).or_default() += 1;
            }
        }
        summary
    }
}

fn write_summary(out: &mut dyn Write, summary: &Summary) -> std::io::Result<()> {
    let share = (summary.blocked * 100).checked_div(summary.releases).unwrap_or(0);
    let undecided = match summary.undecided {
        0 => String::new(),
        n => format!(", {n} could not be checked"),
    };
    writeln!(out)?;
    writeln!(
        out,
        "summary: {} release{} checked, {} blocked ({share}%){undecided}",
        summary.releases,
        plural(summary.releases),
        summary.blocked
    )?;
    let checks: std::collections::BTreeSet<&str> = summary.deny.keys().chain(summary.warn.keys()).copied().collect();
    if checks.is_empty() {
        return writeln!(out, "  no findings");
    }
    let width = checks.iter().map(|c| c.len()).max().unwrap_or(0).max("check".len());
    writeln!(out, "  {:<width$}  {:>5}  {:>5}  blocked releases", "check", "deny", "warn")?;
    for check in checks {
        let count = |map: &BTreeMap<&'static str, usize>| map.get(check).copied().unwrap_or(0);
        writeln!(
            out,
            "  {check:<width$}  {:>5}  {:>5}  {:>16}",
            count(&summary.deny),
            count(&summary.warn),
            count(&summary.blocked_by)
        )?;
    }
    Ok(())
}

#[derive(Serialize)]
struct JsonBacktest<'a> {
    version: u32,
    source: &'a str,
    environment: Option<&'a str>,
    skipped: Vec<JsonSkipped>,
    releases: Vec<JsonRelease<'a>>,
    summary: &'a Summary,
}

#[derive(Serialize)]
struct JsonSkipped {
    check: &'static str,
    reason: &'static str,
}

#[derive(Serialize)]
struct JsonRelease<'a> {
    base: Option<String>,
    base_rev: &'a str,
    release: Option<String>,
    release_rev: &'a str,
    /// `pass`, `blocked`, or `undecided` (with `reason`) for a release gate could not check.
    verdict: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    files_changed: Option<usize>,
    deny: Option<&'a BTreeMap<&'static str, usize>>,
    warn: Option<&'a BTreeMap<&'static str, usize>>,
    blocking: &'a [Blocking],
}

fn write_json(
    out: &mut dyn Write,
    replayed: &[Replayed],
    summary: &Summary,
    source: &str,
    env: Option<&str>,
) -> std::io::Result<()> {
    let releases = replayed
        .iter()
        .map(|entry| {
            let judgement = entry.outcome.as_ref().ok();
            JsonRelease {
                base: entry.base.commit.as_ref().ok().map(Oid::to_string),
                base_rev: &entry.base.name,
                release: entry.release.commit.as_ref().ok().map(Oid::to_string),
                release_rev: &entry.release.name,
                verdict: judgement.map_or("undecided", |j| j.verdict.as_str()),
                reason: entry.outcome.as_ref().err().map(String::as_str),
                files_changed: judgement.map(|j| j.files_changed),
                deny: judgement.map(|j| &j.deny),
                warn: judgement.map(|j| &j.warn),
                blocking: judgement.map_or(&[], |j| j.blocking.as_slice()),
            }
        })
        .collect();
    let json = JsonBacktest {
        version: JSON_VERSION,
        source,
        environment: env,
        skipped: SKIPPED.iter().map(|check| JsonSkipped { check, reason: SKIP_REASON }).collect(),
        releases,
        summary,
    };
    serde_json::to_writer_pretty(&mut *out, &json).map_err(std::io::Error::other)?;
    writeln!(out)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
