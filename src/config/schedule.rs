//! Times in the policy: durations (`soak = "30m"`, `max-age = "24h"`) and freeze windows
//! (`"Fri 15:00 .. Mon 09:00"`, `"2026-12-24 .. 2026-12-26"`), read in an environment's time zone.

use jiff::civil::{Date, DateTime, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Span, SpanRelativeTo, Timestamp, Zoned};

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

fn next_midnight(day: Date) -> Option<DateTime> {
    day.tomorrow().ok().map(|d| d.to_datetime(Time::midnight()))
}

/// `Fri 15:00`, `friday 15:00`, `Mon 9:00`.
fn weekly_point(text: &str) -> Option<(Weekday, Time)> {
    let (day, time) = text.split_once(char::is_whitespace)?;
    let day = match day.to_lowercase().as_str() {
        "mon" | "monday" => Weekday::Monday,
        "tue" | "tues" | "tuesday" => Weekday::Tuesday,
        "wed" | "wednesday" => Weekday::Wednesday,
        "thu" | "thur" | "thurs" | "thursday" => Weekday::Thursday,
        "fri" | "friday" => Weekday::Friday,
        "sat" | "saturday" => Weekday::Saturday,
        "sun" | "sunday" => Weekday::Sunday,
        _ => return None,
    };
    Some((day, parse_time(time.trim())?))
}

fn parse_time(text: &str) -> Option<Time> {
    let (hour, minute) = text.split_once(':')?;
    Time::new(hour.parse().ok()?, minute.parse().ok()?, 0, 0).ok()
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

impl Window {
    /// If `now` is inside the window, when the window ends.
    pub fn ends_after(&self, now: Timestamp, tz: &TimeZone) -> Option<Zoned> {
        let here = now.to_zoned(tz.clone());
        match self {
            Window::Dates { start, end } => {
                let start = start.to_zoned(tz.clone()).ok()?;
                let end = end.to_zoned(tz.clone()).ok()?;
                (start <= here && here < end).then_some(end)
            }
            Window::Weekly { start, end } => {
                let minute = |day: Weekday, time: Time| {
                    i64::from(day.to_monday_zero_offset()) * 1440
                        + i64::from(time.hour()) * 60
                        + i64::from(time.minute())
                };
                let now_minute = minute(here.weekday(), here.time());
                let (start_minute, end_minute) = (minute(start.0, start.1), minute(end.0, end.1));
                let inside = if start_minute < end_minute {
                    start_minute <= now_minute && now_minute < end_minute
                } else {
                    now_minute >= start_minute || now_minute < end_minute
                };
                if !inside {
                    return None;
                }
                let ahead = (end_minute - now_minute).rem_euclid(7 * 1440);
                let target = here.datetime().with().second(0).subsec_nanosecond(0).build().ok()?;
                let end = target.checked_add(SignedDuration::from_mins(ahead)).ok()?;
                end.to_zoned(tz.clone()).ok()
            }
        }
    }
}

impl std::fmt::Display for Window {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let day = |d: Weekday| ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][d.to_monday_zero_offset() as usize];
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

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
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
        assert!(window.ends_after(at("2026-11-06T14:59:00Z"), &utc).is_none());
        let end = window.ends_after(at("2026-11-06T15:00:00Z"), &utc).unwrap();
        assert_eq!(end.timestamp(), at("2026-11-09T09:00:00Z"));
        assert!(window.ends_after(at("2026-11-08T23:00:00Z"), &utc).is_some());
        assert!(window.ends_after(at("2026-11-09T09:00:00Z"), &utc).is_none());
        assert!(window.ends_after(at("2026-11-04T12:00:00Z"), &utc).is_none());
    }

    #[test]
    fn windows_are_read_in_the_environments_time_zone() {
        let window = parse_window("Fri 15:00 .. Mon 09:00").unwrap();
        let berlin = TimeZone::get("Europe/Berlin").unwrap();
        // 14:30 UTC is 15:30 in Berlin (CET, UTC+1) on 2026-11-06.
        assert!(window.ends_after(at("2026-11-06T14:30:00Z"), &berlin).is_some());
        assert!(window.ends_after(at("2026-11-06T14:30:00Z"), &TimeZone::UTC).is_none());
    }

    #[test]
    fn date_windows_include_their_last_day() {
        let window = parse_window("2026-12-24 .. 2026-12-26").unwrap();
        let utc = TimeZone::UTC;
        assert!(window.ends_after(at("2026-12-26T23:59:00Z"), &utc).is_some());
        assert!(window.ends_after(at("2026-12-27T00:00:00Z"), &utc).is_none());
        assert!(parse_window("2026-12-25").unwrap().ends_after(at("2026-12-25T12:00:00Z"), &utc).is_some());
        assert!(parse_window("Fri 15:00 .. Fri 15:00").is_err());
        assert!(parse_window("2026-12-26 .. 2026-12-24").is_err());
        assert!(parse_window("whenever").is_err());
    }

    #[test]
    fn windows_read_back_as_written() {
        assert_eq!(parse_window("fri 15:00 .. monday 9:00").unwrap().to_string(), "Fri 15:00 .. Mon 09:00");
    }
}
