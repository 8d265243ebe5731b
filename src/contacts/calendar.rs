//! A program's local calendar: which local day, week and month an instant falls in, as day
//! numbers (days since 1970-01-01), and where local days start in UTC.

use std::collections::HashMap;

use chrono::{Datelike, Days, NaiveDate, NaiveTime};
use chrono_tz::Tz;

use crate::kpi::{Bucket, bucket_start};

const EPOCH: NaiveDate = NaiveDate::from_ymd_opt(1970, 1, 1).expect("a valid date");

/// Days since 1970-01-01.
pub fn day_number(date: NaiveDate) -> i64 {
    (date - EPOCH).num_days()
}

/// The date of a day number (clamped to chrono's range).
pub fn date_of(day: i64) -> NaiveDate {
    let shifted = if day >= 0 {
        EPOCH.checked_add_days(Days::new(day.unsigned_abs()))
    } else {
        EPOCH.checked_sub_days(Days::new(day.unsigned_abs()))
    };
    shifted.unwrap_or(if day >= 0 {
        NaiveDate::MAX
    } else {
        NaiveDate::MIN
    })
}

/// The Monday that starts the ISO week of `day`.
pub fn week_of(day: i64) -> i64 {
    day - i64::from(date_of(day).weekday().num_days_from_monday())
}

/// The first day of the month of `day`.
pub fn month_of(day: i64) -> i64 {
    day - i64::from(date_of(day).day0())
}

/// The first day of the month after the one starting on `month`.
pub fn next_month(month: i64) -> i64 {
    let d = date_of(month);
    let next = d.checked_add_months(chrono::Months::new(1)).unwrap_or(d);
    day_number(next)
}

/// The local day an instant (UTC ms) falls on in `tz`.
pub fn local_day(tz: Tz, ms: i64) -> i64 {
    let at = chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default();
    day_number(at.with_timezone(&tz).date_naive())
}

/// Today in `tz`.
pub fn today_in(tz: Tz) -> i64 {
    local_day(tz, chrono::Utc::now().timestamp_millis())
}

/// When local day `day` starts in `tz`, UTC ms. On the rare zones where clocks skip midnight,
/// the day starts at the first local time that exists.
pub fn day_start_utc(tz: Tz, day: i64) -> i64 {
    let date = date_of(day);
    (0..=3)
        .find_map(|h| {
            let t = date.and_time(NaiveTime::from_hms_opt(h, 0, 0)?);
            super::mapping::local_to_utc(tz, t).ok()
        })
        .unwrap_or_else(|| date.and_time(NaiveTime::MIN).and_utc().timestamp_millis())
}

/// The local day, week and month of instants, remembered per quarter hour (every zone's offset
/// is a whole number of quarter hours, so a quarter hour lies within one local day).
pub struct Calendar {
    pub tz: Tz,
    seen: HashMap<i64, Periods>,
}

/// The local periods an instant falls in, as day numbers of their first days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Periods {
    pub day: i64,
    pub week: i64,
    pub month: i64,
}

impl Calendar {
    pub fn new(tz: Tz) -> Self {
        Self {
            tz,
            seen: HashMap::new(),
        }
    }

    pub fn periods(&mut self, ts_ms: i64) -> Periods {
        let tz = self.tz;
        *self
            .seen
            .entry(super::rollup::bucket_of(ts_ms))
            .or_insert_with(|| {
                let day = day_number(bucket_start(ts_ms, tz, Bucket::Day).date());
                Periods {
                    day,
                    week: week_of(day),
                    month: month_of(day),
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_numbers_weeks_and_months() {
        let d = |y, m, dd| day_number(NaiveDate::from_ymd_opt(y, m, dd).unwrap());
        assert_eq!(d(1970, 1, 1), 0);
        assert_eq!(d(1969, 12, 31), -1);
        assert_eq!(
            date_of(d(2025, 3, 9)),
            NaiveDate::from_ymd_opt(2025, 3, 9).unwrap()
        );
        // 2025-03-09 is a Sunday; its week starts on Monday 3 March.
        assert_eq!(week_of(d(2025, 3, 9)), d(2025, 3, 3));
        assert_eq!(week_of(d(2025, 3, 3)), d(2025, 3, 3));
        // 1970-01-01 was a Thursday.
        assert_eq!(week_of(0), d(1969, 12, 29));
        assert_eq!(month_of(d(2024, 2, 29)), d(2024, 2, 1));
        assert_eq!(next_month(d(2024, 12, 1)), d(2025, 1, 1));
        assert_eq!(next_month(d(2024, 1, 1)), d(2024, 2, 1));
    }

    #[test]
    fn local_days_follow_the_time_zone() {
        let berlin: Tz = chrono_tz::Europe::Berlin;
        let day = day_number(NaiveDate::from_ymd_opt(2026, 3, 29).unwrap());
        // Midnight in Berlin on 29 March 2026 (still winter time) is 23:00 UTC the day before.
        let start = day_start_utc(berlin, day);
        assert_eq!(
            start,
            NaiveDate::from_ymd_opt(2026, 3, 28)
                .unwrap()
                .and_hms_opt(23, 0, 0)
                .unwrap()
                .and_utc()
                .timestamp_millis()
        );
        let mut cal = Calendar::new(berlin);
        assert_eq!(cal.periods(start).day, day);
        assert_eq!(cal.periods(start - 1).day, day - 1);
        // That day has 23 hours.
        assert_eq!(day_start_utc(berlin, day + 1) - start, 23 * 3_600_000);
    }
}
