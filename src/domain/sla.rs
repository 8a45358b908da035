//! Business-time arithmetic of ITFlow's SLA clock (functions/sla.php:
//! `addBusinessMinutes`, `businessMinutesBetween`). Datetimes are the
//! company's wall-clock times; intervals are measured in real elapsed time
//! (so a DST-shortened business day holds less SLA time, as in PHP).

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp};

/// `settings.config_business_days` / `_hours_start` / `_hours_end`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessCalendar {
    /// ISO weekdays, 1 = Monday .. 7 = Sunday.
    pub days: Vec<i8>,
    pub start: Option<Time>,
    pub end: Option<Time>,
}

impl BusinessCalendar {
    /// Parse the settings row's text values as getSlaSettings() does:
    /// unknown day numbers are dropped.
    pub fn from_settings(days: &str, start: Option<&str>, end: Option<&str>) -> Self {
        let days = days
            .split(',')
            .filter_map(|d| d.trim().parse::<i8>().ok())
            .filter(|d| (1..=7).contains(d))
            .collect();
        let time = |t: Option<&str>| t.and_then(|t| t.trim().parse::<Time>().ok());
        BusinessCalendar {
            days,
            start: time(start),
            end: time(end),
        }
    }

    /// The business window, or None when the calendar is unusable and the
    /// clock runs 24x7.
    fn window(&self) -> Option<(Time, Time)> {
        match (self.start, self.end) {
            (Some(s), Some(e)) if !self.days.is_empty() && s < e => Some((s, e)),
            _ => None,
        }
    }

    fn is_business_day(&self, date: Date) -> bool {
        self.days.contains(&date.weekday().to_monday_one_offset())
    }
}

fn ts(tz: &TimeZone, dt: DateTime) -> Timestamp {
    tz.to_ambiguous_zoned(dt)
        .compatible()
        .map(|z| z.timestamp())
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

fn civil(tz: &TimeZone, t: Timestamp) -> DateTime {
    tz.to_datetime(t)
}

fn next_midnight(dt: DateTime) -> DateTime {
    dt.date()
        .tomorrow()
        .unwrap_or(dt.date())
        .to_datetime(Time::midnight())
}

/// `addBusinessMinutes($start, $minutes)`.
pub fn add_business_minutes(
    start: DateTime,
    minutes: i64,
    cal: &BusinessCalendar,
    tz: &TimeZone,
) -> DateTime {
    if minutes <= 0 {
        return start;
    }
    let Some((day_start, day_end)) = cal.window() else {
        return civil(tz, ts(tz, start) + Span::new().minutes(minutes));
    };
    let mut remaining = minutes * 60;
    let mut cursor = start;
    // Two years of calendar, as in PHP.
    for _ in 0..731 {
        if cal.is_business_day(cursor.date()) {
            let window_start = cursor.date().to_datetime(day_start);
            let window_end = cursor.date().to_datetime(day_end);
            if cursor < window_start {
                cursor = window_start;
            }
            if cursor < window_end {
                let available = ts(tz, window_end).as_second() - ts(tz, cursor).as_second();
                if remaining <= available {
                    return civil(tz, ts(tz, cursor) + Span::new().seconds(remaining));
                }
                remaining -= available;
            }
        }
        cursor = next_midnight(cursor);
    }
    civil(tz, ts(tz, cursor) + Span::new().seconds(remaining))
}

/// `businessMinutesBetween($start, $end)`: whole business minutes, floored.
pub fn business_minutes_between(
    start: DateTime,
    end: DateTime,
    cal: &BusinessCalendar,
    tz: &TimeZone,
) -> i64 {
    if end <= start {
        return 0;
    }
    let Some((day_start, day_end)) = cal.window() else {
        return (ts(tz, end).as_second() - ts(tz, start).as_second()).div_euclid(60);
    };
    let mut seconds = 0;
    let mut cursor = start;
    for _ in 0..731 {
        if cursor > end {
            break;
        }
        if cal.is_business_day(cursor.date()) {
            let window_start = cursor.date().to_datetime(day_start);
            let window_end = cursor.date().to_datetime(day_end);
            let from = cursor.max(window_start);
            let to = end.min(window_end);
            if to > from {
                seconds += ts(tz, to).as_second() - ts(tz, from).as_second();
            }
        }
        cursor = next_midnight(cursor);
    }
    seconds.div_euclid(60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(s: &str) -> DateTime {
        s.parse().unwrap()
    }

    fn office() -> BusinessCalendar {
        BusinessCalendar::from_settings("1,2,3,4,5", Some("09:00:00"), Some("17:00:00"))
    }

    #[test]
    fn adding_business_minutes_skips_nights_and_weekends() {
        let tz = TimeZone::UTC;
        let cal = office();
        // 2026-11-20 is a Friday.
        assert_eq!(
            add_business_minutes(dt("2026-11-20T16:00"), 30, &cal, &tz),
            dt("2026-11-20T16:30")
        );
        assert_eq!(
            add_business_minutes(dt("2026-11-20T16:00"), 120, &cal, &tz),
            dt("2026-11-23T10:00")
        );
        assert_eq!(
            add_business_minutes(dt("2026-11-21T12:00"), 60, &cal, &tz),
            dt("2026-11-23T10:00")
        );
        assert_eq!(
            add_business_minutes(dt("2026-11-20T07:00"), 60, &cal, &tz),
            dt("2026-11-20T10:00")
        );
        assert_eq!(
            add_business_minutes(dt("2026-11-20T07:00"), 0, &cal, &tz),
            dt("2026-11-20T07:00")
        );
    }

    #[test]
    fn minutes_between_counts_only_business_time() {
        let tz = TimeZone::UTC;
        let cal = office();
        assert_eq!(
            business_minutes_between(dt("2026-11-20T16:00"), dt("2026-11-23T10:00"), &cal, &tz),
            120
        );
        assert_eq!(
            business_minutes_between(dt("2026-11-21T10:00"), dt("2026-11-22T10:00"), &cal, &tz),
            0
        );
        assert_eq!(
            business_minutes_between(
                dt("2026-11-20T10:00:30"),
                dt("2026-11-20T10:02:00"),
                &cal,
                &tz
            ),
            1
        );
        assert_eq!(
            business_minutes_between(dt("2026-11-20T10:00"), dt("2026-11-20T09:00"), &cal, &tz),
            0
        );
    }

    #[test]
    fn an_unusable_calendar_runs_around_the_clock() {
        let tz = TimeZone::UTC;
        for cal in [
            BusinessCalendar::from_settings("", Some("09:00:00"), Some("17:00:00")),
            BusinessCalendar::from_settings("1,2", Some("17:00:00"), Some("09:00:00")),
            BusinessCalendar::from_settings("1,2", None, Some("09:00:00")),
        ] {
            assert_eq!(
                add_business_minutes(dt("2026-11-21T23:30"), 60, &cal, &tz),
                dt("2026-11-22T00:30")
            );
            assert_eq!(
                business_minutes_between(dt("2026-11-21T23:30"), dt("2026-11-22T00:30"), &cal, &tz),
                60
            );
        }
    }

    #[test]
    fn a_dst_short_day_holds_less_business_time() {
        // Europe/Berlin, 2026-03-29 (Sunday) loses an hour at 02:00.
        let tz = TimeZone::get("Europe/Berlin").unwrap();
        let cal = BusinessCalendar::from_settings("7", Some("00:00:00"), Some("23:59:00"));
        assert_eq!(
            business_minutes_between(dt("2026-03-29T00:00"), dt("2026-03-29T04:00"), &cal, &tz),
            180
        );
    }
}
