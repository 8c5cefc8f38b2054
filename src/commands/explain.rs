//! `gate explain CHECK` and `gate checks`.

use std::path::Path;

use super::{Io, Outcome, PolicyAt, load_policy};
use crate::cli::ExplainArgs;
use crate::config::did_you_mean;
use crate::git::Repo;
use crate::{Error, Result, checks};

pub fn explain(args: &ExplainArgs, io: &mut Io<'_>) -> Result<Outcome> {
    let check = checks::find(&args.check).ok_or_else(|| {
        let hint = did_you_mean(&args.check, checks::ids())
            .map_or_else(|| "`gate checks` lists every check".to_string(), |c| format!("did you mean `{c}`?"));
        Error::with_fix(format!("unknown check `{}`", args.check), hint)
    })?;
    let doc = check.doc();
    let indent = |text: &str| text.lines().map(|l| format!("  {l}")).collect::<Vec<_>>().join("\n");
    let text = format!(
        "{id} (default severity: {severity})\n\n{summary}\n\nWhy:\n{why}\n\nExample:\n{example}\n\nConfiguration:\n{config}\n\nWaive one finding:\n  gate waive {id} --path PATH --reason \"why\" --expires YYYY-MM-DD\n",
        id = check.id(),
        severity = check.default_severity(),
        summary = doc.summary,
        why = indent(&textwrap(doc.why, 96)),
        example = indent(doc.example),
        config = indent(doc.config),
    );
    io.out.write_all(text.as_bytes()).map_err(|err| Error::io("cannot write", &err))?;
    Ok(Outcome::Pass)
}

/// Lists every check with its severity and where that setting came from.
pub fn list(config: Option<&Path>, io: &mut Io<'_>) -> Result<Outcome> {
    let repo = Repo::discover().ok();
    let policy = load_policy(repo.as_ref(), config, PolicyAt::WorkingTree)?;
    let width = checks::ids().map(str::len).max().unwrap_or(0);
    let mut text = format!("policy: {}\n\n", policy.layers.join(" < "));
    text.push_str(&format!("{:width$}  {:8}  {}\n", "CHECK", "SEVERITY", "FROM"));
    for check in checks::CHECKS {
        let Some(setting) = policy.check(check.id()) else { continue };
        let options = if setting.options_origins.is_empty() {
            String::new()
        } else {
            let origins: Vec<String> = setting.options_origins.iter().map(ToString::to_string).collect();
            format!("; options from {}", origins.join(", "))
        };
        text.push_str(&format!(
            "{:width$}  {:8}  {}{options}\n",
            check.id(),
            setting.severity.as_str(),
            setting.severity_origin
        ));
    }
    io.out.write_all(text.as_bytes()).map_err(|err| Error::io("cannot write", &err))?;
    Ok(Outcome::Pass)
}

/// Wraps prose at `width` columns on word boundaries.
fn textwrap(text: &str, width: usize) -> String {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines.join("\n")
}
