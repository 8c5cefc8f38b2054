//! An environment's calendar: its freeze windows and deploy hours together, in its time zone.
//!
//! Windows overlap: a dated freeze inside a weekly one, one that ends where the next begins, a
//! chain of them over the holidays. A freeze is their union around an instant, followed both
//! ways until a gap, so gate never says a freeze ends while another window still holds it, and
//! one freeze is made of the same windows (the finding's identity) from its first minute to its
//! last. Deploys open at the first instant inside the deploy hours that no freeze holds.

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, Zoned};

use super::{DeployHours, Window};

/// How many windows a freeze is followed through, and how many freezes and closed hours the
/// search for the next opening steps over, before gate gives up looking for an end. Windows
/// that join up for ever (weekly ones covering the whole week) stop here: a freeze without end.
const MAX_STEPS: usize = 1000;

/// An environment's freeze windows and deploy hours, read in its time zone.
#[derive(Debug, Clone, Copy)]
pub struct Schedule<'a> {
    pub freeze: &'a [Window],
    /// No deploy hours: deploys are allowed at any time no freeze holds.
    pub hours: &'a [DeployHours],
    pub zone: &'a TimeZone,
}

/// A freeze in effect.
#[derive(Debug, Clone, PartialEq)]
pub struct Freeze<'a> {
    /// The windows that make it up, in the order the policy lists them.
    pub windows: Vec<&'a Window>,
    pub since: Zoned,
    /// `None` when it never ends: its windows leave no gap.
    pub until: Option<Zoned>,
}

/// When deploys open next: inside the deploy hours and outside every freeze.
#[derive(Debug, Clone, PartialEq)]
pub struct Opening<'a> {
    pub at: Zoned,
    /// The windows of the freezes waited out on the way, in policy order.
    pub after: Vec<&'a Window>,
}

impl<'a> Schedule<'a> {
    /// The freeze that holds at `at`, if one does.
    pub fn freeze_at(&self, at: Timestamp) -> Option<Freeze<'a>> {
        let (mut since, mut until) = self.extent(at)?;
        let mut ends = false;
        for _ in 0..MAX_STEPS {
            // A window that holds where the others end (it overlaps them, or starts right
            // then) carries the freeze on to its own end.
            match self.extent(until.timestamp()) {
                Some((_, end)) => until = end,
                None => {
                    ends = true;
                    break;
                }
            }
        }
        for _ in 0..MAX_STEPS {
            let Ok(before) = since.timestamp().checked_sub(SignedDuration::from_nanos(1)) else { break };
            match self.extent(before) {
                Some((start, _)) if start < since => since = start,
                _ => break,
            }
        }
        let windows = self.freeze.iter().filter(|window| self.overlaps(window, &since, &until)).collect();
        Some(Freeze { windows, since, until: ends.then_some(until) })
    }

    /// Whether `at` is inside the deploy hours (always, when there are none).
    pub fn in_hours(&self, at: Timestamp) -> bool {
        self.hours.is_empty() || self.hours.iter().any(|hours| hours.contains(at, self.zone))
    }

    /// The first instant from `from` on that is inside the deploy hours and in no freeze;
    /// `None` when the freezes never leave one.
    pub fn next_open(&self, from: Timestamp) -> Option<Opening<'a>> {
        let mut at = from;
        let mut waited = vec![false; self.freeze.len()];
        for _ in 0..MAX_STEPS {
            if !self.in_hours(at) {
                at = self.hours.iter().filter_map(|hours| hours.next_start(at, self.zone)).min()?.timestamp();
            }
            let Some(freeze) = self.freeze_at(at) else {
                let after = self.freeze.iter().zip(&waited).filter(|(_, waited)| **waited).map(|(w, _)| w).collect();
                return Some(Opening { at: at.to_zoned(self.zone.clone()), after });
            };
            for (window, waited) in self.freeze.iter().zip(waited.iter_mut()) {
                *waited |= freeze.windows.contains(&window);
            }
            at = freeze.until?.timestamp();
        }
        None
    }

    /// Of the windows `at` is inside, the earliest start and the latest end.
    fn extent(&self, at: Timestamp) -> Option<(Zoned, Zoned)> {
        self.freeze.iter().filter_map(|window| window.around(at, self.zone)).fold(None, |extent, period| {
            Some(match extent {
                None => (period.start, period.end),
                Some((start, end)) => (start.min(period.start), end.max(period.end)),
            })
        })
    }

    /// Whether an occurrence of `window` falls within `since .. until`.
    fn overlaps(&self, window: &Window, since: &Zoned, until: &Zoned) -> bool {
        window.around(since.timestamp(), self.zone).is_some()
            || window.next_start(since.timestamp(), self.zone).is_some_and(|start| start < *until)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{parse_deploy_hours, parse_window};
    use super::*;

    fn windows(texts: &[&str]) -> Vec<Window> {
        texts.iter().map(|text| parse_window(text).unwrap()).collect()
    }

    fn hours(texts: &[&str]) -> Vec<DeployHours> {
        texts.iter().map(|text| parse_deploy_hours(text).unwrap()).collect()
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn berlin() -> TimeZone {
        TimeZone::get("Europe/Berlin").unwrap()
    }

    /// When the freeze holding at `now` ends, in UTC, and the windows it is made of.
    fn freeze(freeze: &[Window], zone: &TimeZone, now: &str) -> Option<(String, Vec<String>)> {
        let schedule = Schedule { freeze, hours: &[], zone };
        let found = schedule.freeze_at(at(now))?;
        let until = found.until.map_or_else(|| "never".to_string(), |until| until.timestamp().to_string());
        Some((until, found.windows.iter().map(ToString::to_string).collect()))
    }

    /// When deploys open next, in UTC, and the freeze windows waited out first.
    fn opens(freeze: &[Window], hours: &[DeployHours], zone: &TimeZone, now: &str) -> Option<(String, usize)> {
        let opening = Schedule { freeze, hours, zone }.next_open(at(now))?;
        Some((opening.at.timestamp().to_string(), opening.after.len()))
    }

    #[test]
    fn a_dated_freeze_inside_a_weekly_one_ends_when_the_weekly_one_does() {
        // Regression: on Saturday 2026-12-26 the dated window said the freeze ended at
        // midnight, while the weekend freeze held until Monday.
        let both = windows(&["Fri 15:00 .. Mon 09:00", "2026-12-24 .. 2026-12-26"]);
        let names = vec!["Fri 15:00 .. Mon 09:00".to_string(), "2026-12-24 00:00 .. 2026-12-27 00:00".to_string()];
        let utc = TimeZone::UTC;
        assert_eq!(freeze(&both, &utc, "2026-12-26T12:00:00Z"), Some(("2026-12-28T09:00:00Z".into(), names.clone())));
        // On Thursday only the dated window holds, and it runs into the weekend freeze.
        assert_eq!(freeze(&both, &utc, "2026-12-24T10:00:00Z"), Some(("2026-12-28T09:00:00Z".into(), names.clone())));
        // On Sunday only the weekend holds; it is still the same freeze, of the same windows.
        assert_eq!(freeze(&both, &utc, "2026-12-27T12:00:00Z"), Some(("2026-12-28T09:00:00Z".into(), names)));
        assert_eq!(freeze(&both, &utc, "2026-12-28T09:00:00Z"), None);
    }

    #[test]
    fn a_window_wholly_inside_another_is_part_of_the_freeze_from_its_first_minute() {
        let both = windows(&["Fri 15:00 .. Mon 09:00", "2026-12-26"]);
        let (until, names) = freeze(&both, &TimeZone::UTC, "2026-12-25T16:00:00Z").unwrap();
        assert_eq!(until, "2026-12-28T09:00:00Z");
        assert_eq!(names, ["Fri 15:00 .. Mon 09:00", "2026-12-26 00:00 .. 2026-12-27 00:00"]);
        // The weekend before has nothing dated in it.
        let (_, names) = freeze(&both, &TimeZone::UTC, "2026-12-18T16:00:00Z").unwrap();
        assert_eq!(names, ["Fri 15:00 .. Mon 09:00"]);
    }

    #[test]
    fn chains_of_windows_are_followed_to_their_end() {
        // Thursday's dated window ends inside the weekend, which ends inside Monday's window.
        let chain =
            windows(&["2026-12-24 .. 2026-12-26", "Fri 15:00 .. Mon 09:00", "2026-12-28 08:00 .. 2026-12-29 12:00"]);
        let (until, names) = freeze(&chain, &TimeZone::UTC, "2026-12-24T10:00:00Z").unwrap();
        assert_eq!((until.as_str(), names.len()), ("2026-12-29T12:00:00Z", 3));
        // A weekend, a week off, and the next weekend: the weekly window counts twice.
        let holidays = windows(&["Fri 15:00 .. Mon 09:00", "2026-12-28 .. 2027-01-02"]);
        let (until, names) = freeze(&holidays, &TimeZone::UTC, "2026-12-26T12:00:00Z").unwrap();
        assert_eq!((until.as_str(), names.len()), ("2027-01-04T09:00:00Z", 2));
    }

    #[test]
    fn windows_that_touch_are_one_freeze_and_a_minute_between_them_is_not() {
        let touching = windows(&["Mon 09:00 .. Mon 12:00", "Mon 12:00 .. Mon 17:00"]);
        assert_eq!(freeze(&touching, &TimeZone::UTC, "2026-11-02T10:00:00Z").unwrap().0, "2026-11-02T17:00:00Z");
        // From the second window, the first one is part of the same freeze.
        assert_eq!(freeze(&touching, &TimeZone::UTC, "2026-11-02T13:00:00Z").unwrap().1.len(), 2);
        let apart = windows(&["Mon 09:00 .. Mon 12:00", "Mon 12:01 .. Mon 17:00"]);
        assert_eq!(
            freeze(&apart, &TimeZone::UTC, "2026-11-02T10:00:00Z"),
            Some(("2026-11-02T12:00:00Z".into(), vec!["Mon 09:00 .. Mon 12:00".into()]))
        );
        let days = windows(&["2026-12-24", "2026-12-25"]);
        assert_eq!(freeze(&days, &TimeZone::UTC, "2026-12-24T12:00:00Z").unwrap().0, "2026-12-26T00:00:00Z");
    }

    #[test]
    fn freezes_are_merged_in_the_environments_time_zone() {
        let both = windows(&["Fri 15:00 .. Mon 09:00", "2026-12-24 .. 2026-12-26"]);
        // 12:00 in Berlin (CET, UTC+1); the weekend ends Monday 09:00 there.
        let (until, _) = freeze(&both, &berlin(), "2026-12-26T11:00:00Z").unwrap();
        assert_eq!(until, "2026-12-28T08:00:00Z");
        // 23:30 UTC on the 26th is already the 27th in Berlin: only the weekend holds.
        assert_eq!(freeze(&both, &berlin(), "2026-12-26T23:30:00Z").unwrap().0, "2026-12-28T08:00:00Z");
        assert!(freeze(&both, &berlin(), "2026-12-23T23:30:00Z").is_some(), "00:30 on the 24th in Berlin");
        assert!(freeze(&both, &TimeZone::UTC, "2026-12-23T23:30:00Z").is_none());
    }

    #[test]
    fn a_weekend_freeze_over_the_clock_change_ends_at_local_monday_morning() {
        // Berlin leaves summer time on Sunday 2026-10-25: Friday 16:00 is UTC+2, Monday 09:00 UTC+1.
        let weekend = windows(&["Fri 15:00 .. Mon 09:00"]);
        assert_eq!(freeze(&weekend, &berlin(), "2026-10-23T14:00:00Z").unwrap().0, "2026-10-26T08:00:00Z");
        let hours = hours(&["Mon-Thu 09:00 .. 16:00"]);
        assert_eq!(opens(&[], &hours, &berlin(), "2026-10-23T14:00:00Z").unwrap().0, "2026-10-26T08:00:00Z");
    }

    #[test]
    fn windows_that_leave_no_gap_make_a_freeze_without_end() {
        let always = windows(&["Mon 00:00 .. Thu 00:00", "Thu 00:00 .. Mon 00:00"]);
        assert_eq!(freeze(&always, &TimeZone::UTC, "2026-11-04T10:00:00Z").unwrap().0, "never");
        assert_eq!(opens(&always, &[], &TimeZone::UTC, "2026-11-04T10:00:00Z"), None);
    }

    #[test]
    fn outside_deploy_hours_the_next_window_is_the_next_start() {
        let office = hours(&["Mon-Thu 09:00 .. 16:00"]);
        let utc = TimeZone::UTC;
        // Thursday 17:10: the next window is Monday's.
        assert_eq!(opens(&[], &office, &utc, "2026-11-05T17:10:00Z"), Some(("2026-11-09T09:00:00Z".into(), 0)));
        assert_eq!(opens(&[], &office, &utc, "2026-11-04T08:00:00Z").unwrap().0, "2026-11-04T09:00:00Z");
        // Inside the hours it is open now; 16:00 is already outside.
        assert_eq!(opens(&[], &office, &utc, "2026-11-04T10:00:30Z").unwrap().0, "2026-11-04T10:00:30Z");
        let schedule = Schedule { freeze: &[], hours: &office, zone: &utc };
        assert!(!schedule.in_hours(at("2026-11-04T16:00:00Z")));
        // In Berlin, 15:30 UTC is 16:30: outside, though inside the hours in UTC.
        let schedule = Schedule { freeze: &[], hours: &office, zone: &berlin() };
        assert!(!schedule.in_hours(at("2026-11-04T15:30:00Z")));
        assert!(schedule.in_hours(at("2026-11-04T14:30:00Z")));
    }

    #[test]
    fn the_next_window_skips_what_a_freeze_holds() {
        let office = hours(&["Mon-Thu 09:00 .. 16:00"]);
        let utc = TimeZone::UTC;
        // A freeze over the holidays, joined to the weekends either side: nothing opens until
        // Monday 2027-01-04.
        let holidays = windows(&["Fri 15:00 .. Mon 09:00", "2026-12-21 .. 2027-01-01"]);
        assert_eq!(opens(&holidays, &office, &utc, "2026-12-17T17:00:00Z"), Some(("2027-01-04T09:00:00Z".into(), 2)));
        // A freeze that ends inside the hours opens them when it ends.
        let morning = windows(&["2026-11-09 00:00 .. 2026-11-09 11:30"]);
        assert_eq!(opens(&morning, &office, &utc, "2026-11-05T17:10:00Z"), Some(("2026-11-09T11:30:00Z".into(), 1)));
        // Without deploy hours, deploys open when the freeze ends.
        let new_year = windows(&["2027-01-01"]);
        assert_eq!(opens(&new_year, &[], &utc, "2027-01-01T12:00:00Z"), Some(("2027-01-02T00:00:00Z".into(), 1)));
    }

    #[test]
    fn hours_past_midnight_are_two_windows() {
        let nights = hours(&["Mon-Fri 22:00 .. 24:00", "Tue-Sat 00:00 .. 02:00"]);
        let schedule = Schedule { freeze: &[], hours: &nights, zone: &TimeZone::UTC };
        assert!(schedule.in_hours(at("2026-11-02T23:59:00Z")));
        assert!(schedule.in_hours(at("2026-11-03T01:00:00Z")));
        assert!(!schedule.in_hours(at("2026-11-02T02:00:00Z")), "Monday 00:00 .. 02:00 is not listed");
        assert_eq!(schedule.next_open(at("2026-11-07T03:00:00Z")).unwrap().at.timestamp(), at("2026-11-09T22:00:00Z"));
    }
}
