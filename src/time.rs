//! The clock and how times are written.
//!
//! `GATE_NOW` (an RFC 3339 timestamp) replaces the system clock. Tests use it for stable commit
//! ids and reproducible soak and freeze decisions; reports say when it is in effect, so a clock
//! override is never invisible.

use jiff::{SignedDuration, Timestamp};

use crate::{Error, Result};

/// The environment variable that fixes the clock.
pub const NOW_VAR: &str = "GATE_NOW";

/// The current time, or `GATE_NOW` when set.
pub fn now() -> Result<Timestamp> {
    match std::env::var(NOW_VAR) {
        Ok(text) if !text.trim().is_empty() => text.trim().parse::<Timestamp>().map_err(|err| {
            Error::with_fix(
                format!("{NOW_VAR}=`{text}` is not a timestamp ({err})"),
                format!("write it as RFC 3339, like 2026-11-20T14:00:00Z, or unset {NOW_VAR}"),
            )
        }),
        _ => Ok(Timestamp::now()),
    }
}

/// Whether the clock is overridden by `GATE_NOW`.
pub fn clock_overridden() -> bool {
    std::env::var(NOW_VAR).is_ok_and(|v| !v.trim().is_empty())
}

/// `2026-11-20T14:02:00Z`: exact, sortable, for machine formats and records.
pub fn iso(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Serializes a time as [`iso`] (`#[serde(serialize_with = "crate::time::serialize_iso")]`).
pub fn serialize_iso<S: serde::Serializer>(at: &Timestamp, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&iso(*at))
}

/// `2026-11-20 14:02 UTC`: for people.
pub fn human(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

/// A duration in the largest sensible units: `45s`, `12m`, `3h 5m`, `24h`, `2d 4h` (days only
/// from two days on, so a day reads as `24h`, the way people write a max-age).
pub fn duration(d: SignedDuration) -> String {
    let secs = d.as_secs().unsigned_abs();
    let days = if secs >= 2 * 86_400 { secs / 86_400 } else { 0 };
    let (hours, minutes) = ((secs - days * 86_400) / 3_600, secs % 3_600 / 60);
    let text = if days > 0 {
        if hours > 0 { format!("{days}d {hours}h") } else { format!("{days}d") }
    } else if hours > 0 {
        if minutes > 0 { format!("{hours}h {minutes}m") } else { format!("{hours}h") }
    } else if minutes > 0 {
        format!("{minutes}m")
    } else {
        format!("{secs}s")
    };
    if d.is_negative() { format!("-{text}") } else { text }
}

/// `3h 5m ago`, or `in 2d` for a time in the future.
pub fn ago(now: Timestamp, then: Timestamp) -> String {
    let elapsed = now.duration_since(then);
    if elapsed.is_negative() { format!("in {}", duration(-elapsed)) } else { format!("{} ago", duration(elapsed)) }
}

/// A git time (seconds since the epoch) as a timestamp.
pub fn from_git(time: git2::Time) -> Timestamp {
    Timestamp::from_second(time.seconds()).unwrap_or(Timestamp::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(SignedDuration::from_secs(45)), "45s");
        assert_eq!(duration(SignedDuration::from_mins(12)), "12m");
        assert_eq!(duration(SignedDuration::from_mins(185)), "3h 5m");
        assert_eq!(duration(SignedDuration::from_hours(52)), "2d 4h");
        assert_eq!(duration(SignedDuration::from_hours(-2)), "-2h");
    }
}
