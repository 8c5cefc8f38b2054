//! `freeze-window`: no deploys inside a freeze, nor outside the deploy hours.
//!
//! Incident 002: a quick fix went out just before a weekend, and the weekend made the outage
//! worse. `freeze = ["Fri 15:00 .. Mon 09:00", "2026-12-24 .. 2026-12-26"]` on an environment
//! blocks deploys inside those windows, and `deploy-hours = ["Mon-Thu 09:00 .. 16:00"]` blocks
//! them outside those hours, both read in its `timezone`, unless the release tree is approved
//! (`gate evidence add approval --for freeze`) or a waiver covers it.
//!
//! A freeze is the union of the windows that hold now and those they run into
//! (`config::Schedule`): one finding, naming them all and when the last of them ends.

use jiff::{Timestamp, Zoned};
use serde::Deserialize;

use super::{Check, Context, Doc, Finding, Output, Waived};
use crate::config::{Environment, Rollbacks, Settings, Severity};
use crate::evidence::Purpose;
use crate::{Result, time};

pub struct FreezeWindow;

const ID: &str = "freeze-window";

const HELP: &str =
    "have this release approved: gate evidence add approval --for freeze --detail \"who decided and why\"";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct FreezeSettings {}

impl Settings for FreezeSettings {}

static DOC: Doc = Doc {
    codes: &["frozen", "outside-deploy-hours"],
    summary: "A deploy inside one of the environment's freeze windows, or outside its deploy hours, is blocked unless the release tree is approved.",
    why: "Incident 002: a quick fix was committed untested just before a weekend; the infinite loop it carried \
          took the site down on a Friday evening, and the rollback failed. Freezes and deploy hours keep risky \
          deploys out of the hours when fewer people are there to fix them; an approval records that someone \
          decided otherwise.",
    example: "freeze-window  deny\n  production is frozen (Fri 15:00 .. Mon 09:00 and 2026-12-24 00:00 .. 2026-12-27 00:00, Europe/Berlin): it is Sat 2026-12-26 12:00 there, the freeze ends Mon 2026-12-28 09:00 (in 45h)\n    \
              help: wait for the freeze to end, or have this release approved: gate evidence add approval --for freeze --detail \"...\"\n\n\
              freeze-window  deny\n  production deploys Mon-Thu 09:00 .. 16:00 (Europe/Berlin): it is Thu 2026-11-05 17:10 there, the next window opens Mon 2026-11-09 09:00 (in 3d 15h)\n    \
              help: wait for the next window, or have this release approved: gate evidence add approval --for freeze --detail \"...\"",
    config: "[environments.production]\nfreeze       = [\"Fri 15:00 .. Mon 09:00\", \"2026-12-24 .. 2026-12-26\"]\n\
             deploy-hours = [\"Mon-Thu 09:00 .. 16:00\", \"Fri 09:00 .. 12:00\"]   # days (Mon-Thu, Fri, Mon,Wed), then hours; default any time\n\
             timezone     = \"Europe/Berlin\"   # default UTC\n\
             rollback     = \"allow\"           # a rollback goes through (default); \"approve\": it needs an approval --for rollback\n\n\
             [checks.freeze-window]\nseverity = \"deny\"",
};

impl Check for FreezeWindow {
    type Settings = FreezeSettings;

    fn id(&self) -> &'static str {
        ID
    }

    fn default_severity(&self) -> Severity {
        Severity::Deny
    }

    fn doc(&self) -> &'static Doc {
        &DOC
    }

    fn run(&self, cx: &Context<'_>, _settings: &Self::Settings, severity: Severity, out: &mut Output) -> Result<()> {
        let Some(env) = cx.target()? else { return Ok(()) };
        let Some(mut finding) = closed(env, cx.now, severity) else { return Ok(()) };
        finding.waived = exemption(cx, env)?;
        out.findings.push(finding);
        Ok(())
    }
}

/// What lets a release deploy while its environment is closed (frozen, or outside its deploy
/// hours): an approval of the release tree (`--for freeze`), or, for a rollback, the
/// environment's `rollback = "allow"` (the default) or an approval `--for rollback`. Every
/// exemption is decided here, and only here.
fn exemption(cx: &Context<'_>, env: &Environment) -> Result<Option<Waived>> {
    if let Some(approval) = cx.analysis.approval(Purpose::Freeze) {
        return Ok(Some(Waived::by_approval(approval)));
    }
    let Some(rollback) = cx.analysis.rollback()? else { return Ok(None) };
    Ok(match env.rollback {
        Rollbacks::Allow => Some(Waived {
            reason: format!(
                "a rollback to the deploy of {}: {} lets rollbacks through (rollback = \"allow\")",
                time::human(rollback.at),
                env.name
            ),
            expires: String::new(),
            source: format!("[environments.{}] rollback", env.name),
        }),
        Rollbacks::Approve => cx.analysis.approval(Purpose::Rollback).map(Waived::by_approval),
    })
}

/// The finding when deploys to `env` are closed at `now`: frozen (whatever the deploy hours
/// say), else outside the deploy hours. Its subject is the windows that close it, in policy
/// order, the same for every minute of one freeze.
fn closed(env: &Environment, now: Timestamp, severity: Severity) -> Option<Finding> {
    let schedule = env.schedule();
    let zone = &env.timezone;
    let here = when(&now.to_zoned(zone.zone.clone()));
    let hours: Vec<String> = env.deploy_hours.iter().map(ToString::to_string).collect();
    if let Some(freeze) = schedule.freeze_at(now) {
        let windows: Vec<String> = freeze.windows.iter().map(ToString::to_string).collect();
        let ends = match &freeze.until {
            None => "the freeze does not end: its windows leave no time between them".to_string(),
            Some(until) => {
                let mut ends = format!("the freeze ends {}", when_from(now, until));
                // Where the freeze ends outside the deploy hours, say when deploys open.
                match schedule.next_open(now) {
                    Some(opening) if opening.at != *until => {
                        let opens = when_from(now, &opening.at);
                        ends.push_str(&format!(", and the next deploy window ({}) opens {opens}", and(&hours)));
                    }
                    None => ends.push_str(", and no deploy hours open after it"),
                    Some(_) => {}
                }
                ends
            }
        };
        let message = format!("{} is frozen ({}, {}): it is {here} there, {ends}", env.name, and(&windows), zone.name);
        let finding = Finding::new(ID, "frozen", severity, message, format!("wait for the freeze to end, or {HELP}"));
        return Some(finding.about(windows.join(", ")));
    }
    if schedule.in_hours(now) {
        return None;
    }
    let opens = match schedule.next_open(now) {
        Some(opening) if opening.after.is_empty() => format!("the next window opens {}", when_from(now, &opening.at)),
        Some(opening) => {
            let frozen: Vec<String> = opening.after.iter().map(ToString::to_string).collect();
            format!("the next window opens {}, after the freeze ({})", when_from(now, &opening.at), and(&frozen))
        }
        None => "no window opens: the freeze windows take them all".to_string(),
    };
    let message = format!("{} deploys {} ({}): it is {here} there, {opens}", env.name, and(&hours), zone.name);
    let finding =
        Finding::new(ID, "outside-deploy-hours", severity, message, format!("wait for the next window, or {HELP}"));
    Some(finding.about(hours.join(", ")))
}

/// `Mon 2026-11-09 09:00`, in the environment's zone.
fn when(at: &Zoned) -> String {
    at.strftime("%a %Y-%m-%d %H:%M").to_string()
}

/// `Mon 2026-11-09 09:00 (in 3d 15h)`.
fn when_from(now: Timestamp, at: &Zoned) -> String {
    format!("{} (in {})", when(at), time::duration(at.timestamp().duration_since(now)))
}

/// `a`, `a and b`, `a, b and c`.
fn and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}
