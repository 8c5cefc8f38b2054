//! Times in the policy: durations (`soak = "30m"`, `max-age = "24h"`), freeze windows
//! (`"Fri 15:00 .. Mon 09:00"`, `"2026-12-24 .. 2026-12-26"`) and deploy hours
//! (`"Mon-Thu 09:00 .. 16:00"`), all read in an environment's time zone.
//!
//! This file reads them and says where one window falls around an instant; [`calendar`] puts an
//! environment's windows together (when a freeze ends, when deploys open next).

mod calendar;

use jiff::civil::{Date, DateTime, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Span, SpanRelativeTo, Timestamp, Zoned};

pub use calendar::{Freeze, Opening, Schedule};

/// Minutes in a week: weekly windows are read as minutes since Monday 00:00, local time.
const WEEK: i64 = 7 * 1440;

const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// `30m`, `1h 30m`, `24h`, `7d`, `2w`: a duration where a day is 24 hours.
pub fn parse_duration(text: &str) -> Result<SignedDuration, String> {
    let span: Span =
        text.trim().parse().map_err(|_| format!("`{text}` is not a duration; write it like 30m, 1h 30m, 24h or 7d"))?;
    let duration = span
        .to_duration(SpanRelativeTo::days_are_24_hours())
        .map_err(|_| format!("`{text}` is not a duration; write it like 30m, 1h 30m, 24h or 7d"))?;
    if duration.is_negative() {
        return Err(format!("`{text}` is negative"));
    }
    Ok(duration)
}

/// A period in which deploys are frozen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Window {
    /// Every week, from a day and time to a day and time; it may wrap past Sunday.
    Weekly { start: (Weekday, Time), end: (Weekday, Time) },
    /// From one civil date-time to another (an end date alone means up to the end of that day).
    Dates { start: DateTime, end: DateTime },
}

/// One occurrence of a window: from `start` (included) to `end` (not included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    pub start: Zoned,
    pub end: Zoned,
}

impl Period {
    fn contains(&self, at: Timestamp) -> bool {
        self.start.timestamp() <= at && at < self.end.timestamp()
    }
}

/// Parses `Fri 15:00 .. Mon 09:00`, `2026-12-24 .. 2026-12-26`, `2026-12-24 18:00 .. 2026-12-27 08:00`
/// or a single day `2026-12-25`.
pub fn parse_window(text: &str) -> Result<Window, String> {
    let bad = || {
        format!(
            "`{text}` is not a freeze window; write `Fri 15:00 .. Mon 09:00`, `2026-12-24 .. 2026-12-26` or `2026-12-25`"
        )
    };
    let Some((from, to)) = text.split_once("..") else {
        let day: Date = text.trim().parse().map_err(|_| bad())?;
        return Ok(Window::Dates {
            start: day.to_datetime(Time::midnight()),
            end: next_midnight(day).ok_or_else(bad)?,
        });
    };
    let (from, to) = (from.trim(), to.trim());
    if let (Some(start), Some(end)) = (weekly_point(from), weekly_point(to)) {
        if start == end {
            return Err(format!("`{text}` starts and ends at the same moment"));
        }
        return Ok(Window::Weekly { start, end });
    }
    let start = date_point(from, false).ok_or_else(bad)?;
    let end = date_point(to, true).ok_or_else(bad)?;
    if end <= start {
        return Err(format!("`{text}` ends before it starts"));
    }
    Ok(Window::Dates { start, end })
}

/// Hours in which deploys are allowed, on some days of every week: `Mon-Thu 09:00 .. 16:00`.
/// Each one lies within a day; `24:00` is the end of the day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployHours {
    /// Monday first.
    days: [bool; 7],
    /// Minutes since midnight: `from` included, `to` (at most 1440) not.
    from: i64,
    to: i64,
}

/// Parses `Mon-Thu 09:00 .. 16:00`, `Fri 09:00 .. 12:00`, `Mon,Wed 10:00 .. 12:00` or
/// `Mon-Wed,Fri 08:00 .. 24:00`: days (single days, ranges that may wrap past Sunday, separated
/// by commas), then a start and an end time on each of those days.
pub fn parse_deploy_hours(text: &str) -> Result<DeployHours, String> {
    let bad = || {
        format!(
            "`{text}` is not a deploy-hours window; write days and times like `Mon-Thu 09:00 .. 16:00`, `Fri 09:00 .. 12:00` or `Mon,Wed 10:00 .. 12:00`"
        )
    };
    let (from, to) = text.split_once("..").ok_or_else(bad)?;
    let (days, from) = from.trim().rsplit_once(char::is_whitespace).ok_or_else(bad)?;
    let days = parse_days(days).ok_or_else(bad)?;
    let from = parse_time(from.trim()).map(minute_of_day).ok_or_else(bad)?;
    let to = match to.trim() {
        "24:00" => 1440,
        to => parse_time(to).map(minute_of_day).ok_or_else(bad)?,
    };
    if to <= from {
        return Err(format!(
            "`{text}` ends before it starts; deploy hours lie within one day: for hours past midnight write two windows, like `Mon-Fri 22:00 .. 24:00` and `Tue-Sat 00:00 .. 02:00`"
        ));
    }
    Ok(DeployHours { days, from, to })
}

/// `Mon-Thu`, `Fri`, `Mon,Wed`, `Fri-Mon`, full names too.
fn parse_days(text: &str) -> Option<[bool; 7]> {
    let mut days = [false; 7];
    for part in text.split(',') {
        match part.split_once('-') {
            Some((first, last)) => {
                let (mut day, last) = (weekday(first.trim())?, weekday(last.trim())?);
                days[day] = true;
                while day != last {
                    day = (day + 1) % 7;
                    days[day] = true;
                }
            }
            None => days[weekday(part.trim())?] = true,
        }
    }
    Some(days)
}

fn next_midnight(day: Date) -> Option<DateTime> {
    day.tomorrow().ok().map(|d| d.to_datetime(Time::midnight()))
}

/// A day's name, Monday 0.
fn weekday(text: &str) -> Option<usize> {
    Some(match text.to_lowercase().as_str() {
        "mon" | "monday" => 0,
        "tue" | "tues" | "tuesday" => 1,
        "wed" | "wednesday" => 2,
        "thu" | "thur" | "thurs" | "thursday" => 3,
        "fri" | "friday" => 4,
        "sat" | "saturday" => 5,
        "sun" | "sunday" => 6,
        _ => return None,
    })
}

fn weekday_at(offset: usize) -> Weekday {
    Weekday::Monday.wrapping_add(offset as i64)
}

/// `Fri 15:00`, `friday 15:00`, `Mon 9:00`.
fn weekly_point(text: &str) -> Option<(Weekday, Time)> {
    let (day, time) = text.split_once(char::is_whitespace)?;
    Some((weekday_at(weekday(day)?), parse_time(time.trim())?))
}

fn parse_time(text: &str) -> Option<Time> {
    let (hour, minute) = text.split_once(':')?;
    Time::new(hour.parse().ok()?, minute.parse().ok()?, 0, 0).ok()
}

fn minute_of_day(time: Time) -> i64 {
    i64::from(time.hour()) * 60 + i64::from(time.minute())
}

fn minute_of_week((day, time): (Weekday, Time)) -> i64 {
    i64::from(day.to_monday_zero_offset()) * 1440 + minute_of_day(time)
}

/// `2026-12-24` (the start of that day, or with `end_of_day` the start of the next) or
/// `2026-12-24 18:00`.
fn date_point(text: &str, end_of_day: bool) -> Option<DateTime> {
    match text.split_once(char::is_whitespace) {
        Some((date, time)) => Some(date.parse::<Date>().ok()?.to_datetime(parse_time(time.trim())?)),
        None => {
            let date: Date = text.parse().ok()?;
            if end_of_day { next_midnight(date) } else { Some(date.to_datetime(Time::midnight())) }
        }
    }
}

/// `at` in `tz` as the local minute it falls in and that minute's place in the week.
fn local_minute(at: Timestamp, tz: &TimeZone) -> Option<(DateTime, i64)> {
    let here = at.to_zoned(tz.clone());
    let minute = here.datetime().with().second(0).subsec_nanosecond(0).build().ok()?;
    Some((minute, i64::from(here.weekday().to_monday_zero_offset()) * 1440 + minute_of_day(here.time())))
}

/// The instants `minutes` after the local `base` can name in `tz`, earlier and later: the same
/// one but where clocks change, where a local time happens twice (a fold) or not at all (a gap,
/// read as the instants either side of it).
fn local_instants(base: DateTime, minutes: i64, tz: &TimeZone) -> Option<(Zoned, Zoned)> {
    let civil = base.checked_add(SignedDuration::from_mins(minutes)).ok()?;
    Some((tz.to_ambiguous_zoned(civil).earlier().ok()?, tz.to_ambiguous_zoned(civil).later().ok()?))
}

impl Window {
    /// The occurrence of the window that `at` is inside, if it is inside one.
    pub fn around(&self, at: Timestamp, tz: &TimeZone) -> Option<Period> {
        match self {
            Window::Dates { start, end } => {
                let period = Period { start: start.to_zoned(tz.clone()).ok()?, end: end.to_zoned(tz.clone()).ok()? };
                period.contains(at).then_some(period)
            }
            Window::Weekly { start, end } => {
                let (base, now) = local_minute(at, tz)?;
                let (from, to) = (minute_of_week(*start), minute_of_week(*end));
                let inside = if from < to { from <= now && now < to } else { now >= from || now < to };
                if !inside {
                    return None;
                }
                // Of the instants a local start or end can name, the ones around `at`.
                let (early, late) = local_instants(base, -(now - from).rem_euclid(WEEK), tz)?;
                let start = [late, early].into_iter().find(|s| s.timestamp() <= at);
                let (early, late) = local_instants(base, (to - now).rem_euclid(WEEK), tz)?;
                let end = [early, late].into_iter().find(|e| e.timestamp() > at)?;
                Some(Period { start: start.unwrap_or_else(|| at.to_zoned(tz.clone())), end })
            }
        }
    }

    /// When the window next starts, at `at` or later.
    pub fn next_start(&self, at: Timestamp, tz: &TimeZone) -> Option<Zoned> {
        match self {
            Window::Dates { start, .. } => start.to_zoned(tz.clone()).ok().filter(|s| s.timestamp() >= at),
            Window::Weekly { start, .. } => {
                let (base, now) = local_minute(at, tz)?;
                let ahead = (minute_of_week(*start) - now).rem_euclid(WEEK);
                let (early, late) = local_instants(base, ahead, tz)?;
                let (again, _) = local_instants(base, ahead + WEEK, tz)?;
                [early, late, again].into_iter().find(|s| s.timestamp() >= at)
            }
        }
    }
}

impl DeployHours {
    /// The hours as weekly windows, one for each day.
    fn windows(&self) -> impl Iterator<Item = Window> + '_ {
        let time = |minute: i64| Time::new((minute / 60) as i8, (minute % 60) as i8, 0, 0).unwrap_or(Time::midnight());
        (0..7).filter(|day| self.days[*day]).map(move |day| Window::Weekly {
            start: (weekday_at(day), time(self.from)),
            end: (weekday_at(day + (self.to / 1440) as usize), time(self.to % 1440)),
        })
    }

    /// Whether `at` is inside these hours.
    pub fn contains(&self, at: Timestamp, tz: &TimeZone) -> bool {
        self.windows().any(|window| window.around(at, tz).is_some())
    }

    /// When these hours next begin, at `at` or later.
    pub fn next_start(&self, at: Timestamp, tz: &TimeZone) -> Option<Zoned> {
        self.windows().filter_map(|window| window.next_start(at, tz)).min()
    }
}

impl std::fmt::Display for Window {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let day = |d: Weekday| DAYS[d.to_monday_zero_offset() as usize];
        match self {
            Window::Weekly { start, end } => write!(
                f,
                "{} {} .. {} {}",
                day(start.0),
                start.1.strftime("%H:%M"),
                day(end.0),
                end.1.strftime("%H:%M")
            ),
            Window::Dates { start, end } => {
                write!(f, "{} .. {}", start.strftime("%Y-%m-%d %H:%M"), end.strftime("%Y-%m-%d %H:%M"))
            }
        }
    }
}

/// `Mon-Thu 09:00 .. 16:00`, days in runs from Monday: `Mon,Wed`, `Mon-Wed,Fri`.
impl std::fmt::Display for DeployHours {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut runs = Vec::new();
        let mut day = 0;
        while day < 7 {
            if !self.days[day] {
                day += 1;
                continue;
            }
            let first = day;
            while day + 1 < 7 && self.days[day + 1] {
                day += 1;
            }
            runs.push(if first == day { DAYS[day].to_string() } else { format!("{}-{}", DAYS[first], DAYS[day]) });
            day += 1;
        }
        let time = |minute: i64| format!("{:02}:{:02}", minute / 60, minute % 60);
        write!(f, "{} {} .. {}", runs.join(","), time(self.from), time(self.to))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn ends(window: &Window, now: &str, tz: &TimeZone) -> Option<Timestamp> {
        window.around(at(now), tz).map(|period| period.end.timestamp())
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30m").unwrap(), SignedDuration::from_mins(30));
        assert_eq!(parse_duration("1h 30m").unwrap(), SignedDuration::from_mins(90));
        assert_eq!(parse_duration("7d").unwrap(), SignedDuration::from_hours(168));
        assert_eq!(parse_duration("2w").unwrap(), SignedDuration::from_hours(336));
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn a_weekend_freeze_wraps_the_week() {
        let window = parse_window("Fri 15:00 .. Mon 09:00").unwrap();
        let utc = TimeZone::UTC;
        // 2026-11-06 is a Friday.
        assert!(ends(&window, "2026-11-06T14:59:00Z", &utc).is_none());
        assert_eq!(ends(&window, "2026-11-06T15:00:00Z", &utc), Some(at("2026-11-09T09:00:00Z")));
        let period = window.around(at("2026-11-08T23:00:30Z"), &utc).unwrap();
        assert_eq!(period.start.timestamp(), at("2026-11-06T15:00:00Z"));
        assert!(ends(&window, "2026-11-09T09:00:00Z", &utc).is_none());
        assert!(ends(&window, "2026-11-04T12:00:00Z", &utc).is_none());
    }

    #[test]
    fn windows_are_read_in_the_environments_time_zone() {
        let window = parse_window("Fri 15:00 .. Mon 09:00").unwrap();
        let berlin = TimeZone::get("Europe/Berlin").unwrap();
        // 14:30 UTC is 15:30 in Berlin (CET, UTC+1) on 2026-11-06.
        assert!(ends(&window, "2026-11-06T14:30:00Z", &berlin).is_some());
        assert!(ends(&window, "2026-11-06T14:30:00Z", &TimeZone::UTC).is_none());
    }

    #[test]
    fn date_windows_include_their_last_day() {
        let window = parse_window("2026-12-24 .. 2026-12-26").unwrap();
        let utc = TimeZone::UTC;
        assert!(ends(&window, "2026-12-26T23:59:00Z", &utc).is_some());
        assert!(ends(&window, "2026-12-27T00:00:00Z", &utc).is_none());
        assert!(ends(&parse_window("2026-12-25").unwrap(), "2026-12-25T12:00:00Z", &utc).is_some());
        assert!(parse_window("Fri 15:00 .. Fri 15:00").is_err());
        assert!(parse_window("2026-12-26 .. 2026-12-24").is_err());
        assert!(parse_window("whenever").is_err());
    }

    #[test]
    fn a_window_starts_next_at_or_after_an_instant() {
        let utc = TimeZone::UTC;
        let weekly = parse_window("Fri 15:00 .. Mon 09:00").unwrap();
        assert_eq!(
            weekly.next_start(at("2026-11-06T15:00:00Z"), &utc).unwrap().timestamp(),
            at("2026-11-06T15:00:00Z")
        );
        assert_eq!(
            weekly.next_start(at("2026-11-06T15:00:01Z"), &utc).unwrap().timestamp(),
            at("2026-11-13T15:00:00Z")
        );
        let dated = parse_window("2026-12-24").unwrap();
        assert!(dated.next_start(at("2026-12-24T00:00:01Z"), &utc).is_none());
    }

    #[test]
    fn an_occurrence_holds_the_instant_where_clocks_go_back() {
        // Berlin goes from 03:00 summer time back to 02:00 on 2026-10-25: 02:30 happens twice.
        let berlin = TimeZone::get("Europe/Berlin").unwrap();
        let window = parse_window("Sun 02:00 .. Sun 02:45").unwrap();
        for now in ["2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z"] {
            let period = window.around(at(now), &berlin).unwrap();
            assert!(period.start.timestamp() <= at(now) && at(now) < period.end.timestamp(), "{now}: {period:?}");
        }
    }

    #[test]
    fn windows_read_back_as_written() {
        assert_eq!(parse_window("fri 15:00 .. monday 9:00").unwrap().to_string(), "Fri 15:00 .. Mon 09:00");
    }

    #[test]
    fn deploy_hours_name_days_then_times() {
        let read = |text: &str| parse_deploy_hours(text).map(|hours| hours.to_string());
        assert_eq!(read("Mon-Thu 09:00 .. 16:00").unwrap(), "Mon-Thu 09:00 .. 16:00");
        assert_eq!(read("fri 9:00 .. 12:00").unwrap(), "Fri 09:00 .. 12:00");
        assert_eq!(read("Mon, Wed 10:00..12:00").unwrap(), "Mon,Wed 10:00 .. 12:00");
        assert_eq!(read("Fri-Mon 10:00 .. 24:00").unwrap(), "Mon,Fri-Sun 10:00 .. 24:00");
        assert_eq!(read("Monday-Sunday 00:00 .. 24:00").unwrap(), "Mon-Sun 00:00 .. 24:00");
        for bad in ["Mon-Thu", "Someday 09:00 .. 10:00", "Mon 09:00 .. Fri 17:00", "09:00 .. 16:00", "Mon 9 .. 16"] {
            assert!(read(bad).unwrap_err().contains("is not a deploy-hours window"), "{bad}");
        }
        assert!(read("Mon-Fri 22:00 .. 02:00").unwrap_err().contains("for hours past midnight write two windows"));
        assert!(read("Mon 10:00 .. 10:00").is_err());
    }

    #[test]
    fn deploy_hours_hold_on_their_days_only() {
        let utc = TimeZone::UTC;
        let hours = parse_deploy_hours("Mon,Wed 10:00 .. 12:00").unwrap();
        // 2026-11-02 is a Monday.
        assert!(hours.contains(at("2026-11-02T10:00:00Z"), &utc));
        assert!(!hours.contains(at("2026-11-02T12:00:00Z"), &utc));
        assert!(!hours.contains(at("2026-11-03T11:00:00Z"), &utc));
        assert_eq!(hours.next_start(at("2026-11-02T12:00:00Z"), &utc).unwrap().timestamp(), at("2026-11-04T10:00:00Z"));
    }
}
