//! `gate waive`: add a waiver to gate.toml.

use std::path::Path;

use super::{Io, Outcome, POLICY_FILE, write_atomically};
use crate::cli::WaiveArgs;
use crate::config::{self, PolicyInput, compile_glob, did_you_mean, parse_date};
use crate::git::Repo;
use crate::{Error, Result, checks, time};

pub fn run(args: &WaiveArgs, config: Option<&Path>, io: &mut Io<'_>) -> Result<Outcome> {
    if checks::find(&args.check).is_none() {
        let hint = did_you_mean(&args.check, checks::ids())
            .map_or_else(|| "`gate checks` lists every check".to_string(), |c| format!("did you mean `{c}`?"));
        return Err(Error::with_fix(format!("unknown check `{}`", args.check), hint));
    }
    if args.reason.trim().is_empty() {
        return Err(Error::with_fix("a waiver needs a reason", "say why this exception is acceptable with --reason"));
    }
    compile_glob(&args.path)
        .map_err(|err| Error::with_fix(format!("invalid path glob `{}`: {}", args.path, err.kind()), "fix --path"))?;
    let expires = parse_date(&args.expires).map_err(|message| Error::with_fix(message, "fix --expires"))?;
    let today = time::now()?.to_zoned(jiff::tz::TimeZone::UTC).date();
    if expires < today {
        return Err(Error::with_fix(
            format!("--expires {expires} is in the past"),
            "give the last day the waiver should apply",
        ));
    }

    let repo = Repo::discover()?;
    let root = repo.workdir().ok_or_else(|| {
        Error::with_fix("gate waive edits gate.toml, and a bare repository has no working tree", "run it in a checkout")
    })?;
    let path = config.map_or_else(|| root.join(POLICY_FILE), Path::to_path_buf);
    let existing = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(err) => return Err(Error::io(format!("cannot read {}", path.display()), &err)),
    };
    let quote = |s: &str| toml::Value::String(s.to_string()).to_string();
    let mut text = existing.clone();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    if !text.is_empty() {
        text.push('\n');
    }
    text.push_str(&format!(
        "[[waivers]]\ncheck   = {}\npath    = {}\nreason  = {}\nexpires = {}\n",
        quote(&args.check),
        quote(&args.path),
        quote(&args.reason),
        quote(&expires.to_string())
    ));

    // The file must still be a valid policy after the edit; if not, leave it untouched.
    let name = path.file_name().map_or_else(|| POLICY_FILE.to_string(), |n| n.to_string_lossy().into_owned());
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let read_pack = |pack: &str| Ok(std::fs::read_to_string(dir.join(pack)).ok());
    config::load(&PolicyInput {
        file: Some((name, text.clone())),
        read_pack: &read_pack,
        catalog: &crate::checks::Registry,
    })?;
    write_atomically(&path, text.as_bytes())?;

    writeln!(
        io.out,
        "added a waiver for {} on {} until {} to {}\nnote: this changes the policy, so the release that carries it needs approval (policy-change)",
        args.check,
        args.path,
        expires,
        path.display()
    )
    .map_err(|err| Error::io("cannot write", &err))?;
    Ok(Outcome::Pass)
}
