//! `gate evidence add` and `gate evidence list`.

use std::path::Path;

use serde::Serialize;

use super::{Io, Outcome, child};
use crate::cli::{ApprovalFor, EvidenceAddArgs, EvidenceListArgs, ListFormat};
use crate::evidence::{self, Purpose, Record, junit};
use crate::git::{Repo, short};
use crate::{Error, Result, time};

pub fn add(args: &EvidenceAddArgs, io: &mut Io<'_>) -> Result<Outcome> {
    let from_command = !args.command.is_empty();
    // Read the reports before touching the repository: an unreadable report records nothing.
    // Reports a command writes are read once it has run.
    let mut tests = if args.junit.is_empty() {
        evidence::validate_kind(&args.kind)?;
        None
    } else if args.kind != "tests" {
        return Err(Error::with_fix(
            format!("--junit goes with evidence of kind `tests`, not `{}`", args.kind),
            "run: gate evidence add tests --junit FILE...",
        ));
    } else if from_command {
        None
    } else {
        Some(junit::read_all(&expand_reports(&args.junit)?)?)
    };
    let approves = approval_terms(args)?;
    let repo = Repo::discover()?;
    let commit = repo.commit(args.release.as_deref().unwrap_or("HEAD"))?;
    if let Some(warning) = unasked(&repo, &args.kind, commit.tree_id())? {
        writeln!(io.err, "gate: warning: {warning}").map_err(|err| Error::io("cannot write", &err))?;
    }
    let mut run = None;
    if from_command {
        if args.release.is_none()
            && let Some(warning) = child::local_changes(&repo, commit.tree_id())?
        {
            writeln!(io.err, "gate: warning: {warning}").map_err(|err| Error::io("cannot write", &err))?;
        }
        io.out.flush().map_err(|err| Error::io("cannot write", &err))?;
        let started = std::time::SystemTime::now();
        let ended = child::run(&args.command)?;
        if !ended.succeeded() {
            writeln!(
                io.err,
                "gate: `{}` failed ({}); no {} evidence was recorded",
                child::shown(&args.command),
                ended.describe(),
                args.kind
            )
            .map_err(|err| Error::io("cannot write", &err))?;
            return Ok(Outcome::Exit(ended.exit_code()));
        }
        if !args.junit.is_empty() {
            let files = expand_reports(&args.junit)?;
            written_since(&files, started, &args.command)?;
            tests = Some(junit::read_all(&files)?);
        }
        run = Some(ended.record(&args.command));
    }
    let now = time::now()?;
    let actor = repo.actor();
    let mut record = Record::new(&args.kind, commit.tree_id(), commit.id(), &actor, now);
    record.detail = args.detail.clone();
    record.tests = tests;
    record.approves = approves;
    record.run = run;
    super::signing::sign_if_asked(&repo, &args.signing, &mut record)?;
    evidence::add(&repo, &record, &actor, now)?;
    let purpose = record.approves.map(|p| format!(" for {p}")).unwrap_or_default();
    let signed = if record.signature.is_some() { " (signed)" } else { "" };
    let mut summary = match &record.tests {
        Some(tests) if tests.passed() => format!(": {}", tests.describe()),
        Some(tests) => format!(": {} — FAILING: {}", tests.describe(), tests.failing.join(", ")),
        None => String::new(),
    };
    if let Some(run) = &record.run {
        summary.push_str(&format!(" (ran {})", run.describe()));
    }
    // With a command, standard output is the command's: gate's own line goes to standard error.
    let out = if from_command { &mut *io.err } else { &mut *io.out };
    writeln!(
        out,
        "recorded {}{purpose} evidence for tree {} (commit {}) by {}{signed}{summary}\nshare it: gate sync (or: git push {} '{}')",
        record.kind,
        short(commit.tree_id()),
        short(commit.id()),
        record.by,
        repo.default_remote(),
        evidence::REFSPEC
    )
    .map_err(|err| Error::io("cannot write", &err))?;
    Ok(Outcome::Pass)
}

/// Reports that the command did not write are not its results: a test run that wrote its
/// report elsewhere must not record an old one found in its place.
fn written_since(files: &[String], started: std::time::SystemTime, command: &[String]) -> Result<()> {
    // File times may be coarser than the clock (a second, on some file systems).
    let since = started.checked_sub(std::time::Duration::from_secs(2)).unwrap_or(started);
    for file in files {
        let modified = std::fs::metadata(file).and_then(|m| m.modified());
        if modified.is_ok_and(|m| m < since) {
            return Err(Error::with_fix(
                format!("{file} is older than this run of `{}`: it holds earlier results", child::shown(command)),
                "point --junit at the reports the command writes; nothing was recorded",
            ));
        }
    }
    Ok(())
}

/// What to say about a kind that nothing reads: no environment of the release's policy asks
/// for it and no check takes it (a misspelt `aproval` would count for nothing). It is still
/// recorded: a team may record evidence before its policy asks for it.
fn unasked(repo: &Repo, kind: &str, tree: git2::Oid) -> Result<Option<String>> {
    const READ_BY_CHECKS: &[&str] = &["approval", "tests"];
    if READ_BY_CHECKS.contains(&kind) {
        return Ok(None);
    }
    let policy = super::load_policy(Some(repo), None, super::PolicyAt::Tree(tree))?;
    let mut asked: Vec<&str> =
        policy.environments.values().flat_map(|e| e.evidence.iter().map(String::as_str)).collect();
    if asked.contains(&kind) {
        return Ok(None);
    }
    asked.extend(READ_BY_CHECKS);
    let hint = match crate::config::did_you_mean(kind, asked.iter().copied()) {
        Some(close) => format!("did you mean `{close}`?"),
        None => "an environment asks for it with evidence = [\"...\"] in gate.toml".to_string(),
    };
    Ok(Some(format!("no environment asks for `{kind}` evidence and no check reads it; {hint}")))
}

/// What an approval approves: `--for` and a `--detail` are required for an approval, and
/// `--for` goes with nothing else.
fn approval_terms(args: &EvidenceAddArgs) -> Result<Option<Purpose>> {
    if args.kind != "approval" {
        return match args.approves {
            Some(_) => Err(Error::with_fix(
                format!("--for goes with approvals, not with evidence of kind `{}`", args.kind),
                "drop --for",
            )),
            None => Ok(None),
        };
    }
    let Some(approves) = args.approves else {
        return Err(Error::with_fix(
            "an approval must say what it approves",
            "add --for policy-change, freeze, config-risk, rollback or all",
        ));
    };
    if args.detail.as_deref().is_none_or(|d| d.trim().is_empty()) {
        return Err(Error::with_fix(
            "an approval needs a --detail: who approved what, and why",
            "add --detail \"reviewed the change in #123\"",
        ));
    }
    Ok(Some(match approves {
        ApprovalFor::PolicyChange => Purpose::PolicyChange,
        ApprovalFor::Freeze => Purpose::Freeze,
        ApprovalFor::ConfigRisk => Purpose::ConfigRisk,
        ApprovalFor::Rollback => Purpose::Rollback,
        ApprovalFor::All => Purpose::All,
    }))
}

/// The report files named by `--junit`: a plain path must exist; a pattern with `*`, `?`, `[`
/// or `{` is matched as a glob (`**` crosses directories) below its literal leading directories.
/// A pattern that matches nothing is an error: a missing report is not a passing one.
fn expand_reports(patterns: &[String]) -> Result<Vec<String>> {
    let mut files = Vec::new();
    for pattern in patterns {
        if !pattern.contains(['*', '?', '[', '{']) {
            if !Path::new(pattern).is_file() {
                return Err(Error::with_fix(
                    format!("no JUnit report at {pattern}"),
                    "check the path; nothing was recorded",
                ));
            }
            files.push(pattern.clone());
            continue;
        }
        let glob = crate::config::compile_glob(pattern)
            .map_err(|err| Error::with_fix(format!("invalid pattern `{pattern}`: {}", err.kind()), "fix --junit"))?
            .compile_matcher();
        let literal: Vec<&str> = pattern.split('/').take_while(|part| !part.contains(['*', '?', '[', '{'])).collect();
        let root = if literal.is_empty() { ".".to_string() } else { literal.join("/") };
        let mut matched = Vec::new();
        walk(Path::new(&root), &mut |path| {
            let shown = path.to_string_lossy();
            let shown = shown.strip_prefix("./").unwrap_or(&shown);
            if glob.is_match(shown) {
                matched.push(shown.to_string());
            }
        });
        if matched.is_empty() {
            return Err(Error::with_fix(
                format!("no file matches --junit {pattern}"),
                "check the pattern (quote it so the shell leaves it to gate); nothing was recorded",
            ));
        }
        matched.sort();
        files.extend(matched);
    }
    files.dedup();
    Ok(files)
}

/// Calls `visit` with every file below `dir`, skipping `.git`.
fn walk(dir: &Path, visit: &mut dyn FnMut(&Path)) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(kind) if kind.is_dir() && entry.file_name() != ".git" => walk(&path, visit),
            Ok(kind) if kind.is_file() => visit(&path),
            _ => {}
        }
    }
}

#[derive(Serialize)]
struct JsonEvidence<'a> {
    version: u32,
    tree: String,
    commit: String,
    records: &'a [Record],
}

pub fn list(args: &EvidenceListArgs, io: &mut Io<'_>) -> Result<Outcome> {
    let repo = Repo::discover()?;
    let commit = repo.commit(args.release.as_deref().unwrap_or("HEAD"))?;
    let set = evidence::for_tree(&repo, commit.tree_id())?;
    let out = &mut *io.out;
    let written = match args.format {
        ListFormat::Json => {
            let json = JsonEvidence {
                version: crate::report::JSON_VERSION,
                tree: commit.tree_id().to_string(),
                commit: commit.id().to_string(),
                records: &set.records,
            };
            serde_json::to_writer_pretty(&mut *out, &json).map_err(std::io::Error::other).and_then(|()| writeln!(out))
        }
        ListFormat::Human => (|| {
            writeln!(out, "evidence for tree {} (commit {})", short(commit.tree_id()), short(commit.id()))?;
            if set.records.is_empty() {
                return writeln!(out, "  none recorded; add some with: gate evidence add KIND --detail TEXT");
            }
            for record in &set.records {
                let at = time::human(record.at);
                let mut detail = record.approves.map(|p| format!(" for {p}")).unwrap_or_default();
                detail.push_str(&record.detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default());
                if let Some(env) = &record.environment {
                    detail.push_str(&format!(" to {env}"));
                }
                if let Some(terms) = &record.waiver {
                    detail = format!(": {} on {} until {}{detail}", terms.check, terms.path, terms.expires);
                }
                if let Some(reason) = &record.forced {
                    detail.push_str(&format!(" (forced: {reason})"));
                }
                if record.signature.is_some() {
                    detail.push_str(" (signed)");
                }
                if let Some(tests) = &record.tests {
                    let verdict = if tests.passed() { "passed" } else { "FAILED" };
                    detail.push_str(&format!(": {verdict}, {}", tests.describe()));
                }
                if let Some(run) = &record.run {
                    detail.push_str(&format!(" (ran {})", run.describe()));
                }
                let other_commit = if record.commit == commit.id() {
                    String::new()
                } else {
                    format!(" (from commit {})", short(record.commit))
                };
                writeln!(out, "  {:10} {at} by {}{detail}{other_commit}", record.kind, record.by)?;
            }
            Ok(())
        })(),
    };
    written.map_err(|err| Error::io("cannot write the evidence list", &err))?;
    Ok(Outcome::Pass)
}
