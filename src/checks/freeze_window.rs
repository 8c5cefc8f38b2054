//! `freeze-window`: no deploys inside a freeze.
//!
//! Incident 002: a quick fix went out just before a weekend, and the weekend made the outage
//! worse. `freeze = ["Fri 15:00 .. Mon 09:00", "2026-12-24 .. 2026-12-26"]` on an environment,
//! read in its `timezone`, blocks deploys inside those windows unless the release tree is approved
//! (`gate evidence add approval --for freeze`) or a waiver covers it.

use serde::Deserialize;

use super::{Check, Context, Doc, Finding, Output, Waived};
use crate::config::{Rollbacks, Settings, Severity};
use crate::evidence::Purpose;
use crate::{Result, time};

pub struct FreezeWindow;

const ID: &str = "freeze-window";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct FreezeSettings {}

impl Settings for FreezeSettings {}

static DOC: Doc = Doc {
    codes: &["frozen"],
    summary: "A deploy inside one of the environment's freeze windows is blocked unless the release tree is approved.",
    why: "Incident 002: a quick fix was committed untested just before a weekend; the infinite loop it carried \
          took the site down on a Friday evening, and the rollback failed. Freezes keep risky deploys out of the \
          hours when fewer people are there to fix them; an approval records that someone decided otherwise.",
    example: "freeze-window  deny\n  production is frozen (Fri 15:00 .. Mon 09:00, Europe/Berlin): it is Fri 16:20 there, the freeze ends Mon 09:00 (in 2d 16h)\n    \
              help: wait for the window to end, or have the release approved: gate evidence add approval --for freeze --detail \"...\"",
    config: "[environments.production]\nfreeze   = [\"Fri 15:00 .. Mon 09:00\", \"2026-12-24 .. 2026-12-26\"]\ntimezone = \"Europe/Berlin\"   # default UTC\n\n\
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
        let zone = &env.timezone;
        for window in &env.freeze {
            let Some(end) = window.ends_after(cx.now, &zone.zone) else { continue };
            let here = cx.now.to_zoned(zone.zone.clone());
            let mut finding = Finding::new(
                ID,
                "frozen",
                severity,
                format!(
                    "{} is frozen ({window}, {}): it is {} there, the freeze ends {} (in {})",
                    env.name,
                    zone.name,
                    here.strftime("%a %Y-%m-%d %H:%M"),
                    end.strftime("%a %Y-%m-%d %H:%M"),
                    time::duration(end.timestamp().duration_since(cx.now))
                ),
                "wait for the window to end, or have this release approved: gate evidence add approval --for freeze --detail \"who decided and why\"",
            );
            finding = finding.about(window.to_string());
            finding.waived = let_through(cx, env)?;
            out.findings.push(finding);
        }
        Ok(())
    }
}

/// What lets a deploy through the freeze: an approval for the freeze, or, for a rollback, the
/// environment's `rollback = "allow"` (the default) or an approval for the rollback.
fn let_through(cx: &Context<'_>, env: &crate::config::Environment) -> Result<Option<Waived>> {
    if let Some(approval) = cx.analysis.approval(Purpose::Freeze) {
        return Ok(Some(Waived::by_approval(approval)));
    }
    let Some(rollback) = cx.analysis.rollback()? else { return Ok(None) };
    Ok(match env.rollback {
        Rollbacks::Allow => Some(Waived {
            reason: format!(
                "a rollback to the deploy of {}: {} lets rollbacks through a freeze (rollback = \"allow\")",
                time::human(rollback.at),
                env.name
            ),
            expires: String::new(),
            source: format!("[environments.{}] rollback", env.name),
        }),
        Rollbacks::Approve => cx.analysis.approval(Purpose::Rollback).map(Waived::by_approval),
    })
}
