//! Time buckets that reports group contacts by, in the program's local time.

use chrono::{DateTime, Datelike, Days, NaiveDateTime, NaiveTime, TimeDelta, Timelike};
use chrono_tz::Tz;

use crate::kpi::KpiValueError;

/// Timestamps are clamped to ±10^15 ms (about ±31 000 years around 1970), well inside what
/// the calendar types can hold, so that no input can make bucketing fail.
const LIMIT_MS: i64 = 1_000_000_000_000_000;

/// The length of the time buckets a report groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Bucket {
    /// Quarter hours: :00, :15, :30, :45.
    #[serde(rename = "15min")]
    Min15,
    /// Half hours: :00, :30.
    #[serde(rename = "30min")]
    Min30,
    /// Whole hours.
    #[serde(rename = "60min")]
    Min60,
    /// Calendar days, from local midnight.
    #[serde(rename = "day")]
    Day,
    /// ISO weeks, from Monday local midnight.
    #[serde(rename = "week")]
    Week,
    /// Calendar months, from the 1st at local midnight.
    #[serde(rename = "month")]
    Month,
}

impl Bucket {
    /// Every bucket, shortest first.
    pub const ALL: [Bucket; 6] = [
        Bucket::Min15,
        Bucket::Min30,
        Bucket::Min60,
        Bucket::Day,
        Bucket::Week,
        Bucket::Month,
    ];

    /// The stored and serialised name: `15min`, `30min`, `60min`, `day`, `week` or `month`.
    pub fn as_str(self) -> &'static str {
        match self {
            Bucket::Min15 => "15min",
            Bucket::Min30 => "30min",
            Bucket::Min60 => "60min",
            Bucket::Day => "day",
            Bucket::Week => "week",
            Bucket::Month => "month",
        }
    }

    /// Reads a name written by [`Bucket::as_str`] (surrounding spaces and letter case ignored).
    pub fn parse(s: &str) -> Result<Self, KpiValueError> {
        let wanted = s.trim();
        Self::ALL
            .into_iter()
            .find(|b| b.as_str().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| KpiValueError::UnknownBucket(s.to_owned()))
    }

    /// The label of the bucket that starts at `start` (a value from [`bucket_start`]):
    /// `2026-03-29 01:45` for intra-day buckets, the date `2026-03-29` for days and for weeks
    /// (the week's Monday), `2026-03` for months. Labels of one bucket length sort in time order
    /// for years 0–9999.
    pub fn label(self, start: NaiveDateTime) -> String {
        let format = match self {
            Bucket::Min15 | Bucket::Min30 | Bucket::Min60 => "%Y-%m-%d %H:%M",
            Bucket::Day | Bucket::Week => "%Y-%m-%d",
            Bucket::Month => "%Y-%m",
        };
        start.format(format).to_string()
    }
}

impl std::fmt::Display for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Bucket {
    type Err = KpiValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// The local wall-clock time in `tz` of a UTC instant in milliseconds since 1970.
fn local_time(ts_ms: i64, tz: Tz) -> NaiveDateTime {
    let clamped = ts_ms.clamp(-LIMIT_MS, LIMIT_MS);
    // Within the clamp the conversion always succeeds; the default is never used.
    let utc = DateTime::from_timestamp_millis(clamped).unwrap_or_default();
    utc.with_timezone(&tz).naive_local()
}

/// The start of the bucket holding the instant `ts_ms` (milliseconds since 1970-01-01 UTC),
/// as a wall-clock time in the program's time zone `tz`.
///
/// Buckets follow the local clock: a day runs from local midnight to local midnight (23 or 25
/// hours on the days clocks change), weeks start on Monday (ISO 8601). When clocks go forward
/// the skipped local hour has no bucket; when they go back, both passes through the repeated
/// hour fall into the same local bucket (for example both 02:00–03:00 hours fall into the
/// 02:00 hour bucket).
pub fn bucket_start(ts_ms: i64, tz: Tz, b: Bucket) -> NaiveDateTime {
    let local = local_time(ts_ms, tz);
    let date = local.date();
    let midnight = date.and_time(NaiveTime::MIN);
    let minute_of_day = local.hour() * 60 + local.minute();
    let floor_to =
        |step: u32| midnight + TimeDelta::minutes(i64::from(minute_of_day / step * step));
    // The date lies within the clamp plus one day, so whole-day steps stay in the calendar.
    match b {
        Bucket::Min15 => floor_to(15),
        Bucket::Min30 => floor_to(30),
        Bucket::Min60 => floor_to(60),
        Bucket::Day => midnight,
        Bucket::Week => midnight - Days::new(u64::from(date.weekday().num_days_from_monday())),
        Bucket::Month => midnight - Days::new(u64::from(date.day0())),
    }
}

/// The label of the bucket holding the instant `ts_ms` in time zone `tz`
/// (see [`Bucket::label`]).
pub fn bucket_label(ts_ms: i64, tz: Tz, b: Bucket) -> String {
    b.label(bucket_start(ts_ms, tz, b))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::{NaiveDate, NaiveDateTime};
    use chrono_tz::Tz;

    use crate::kpi::{Bucket, KpiValueError, bucket_label, bucket_start};

    const BERLIN: Tz = chrono_tz::Europe::Berlin;
    const MINUTE: i64 = 60_000;

    /// Milliseconds since 1970 of a UTC wall-clock time.
    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> i64 {
        NaiveDate::from_ymd_opt(y, mo, d)
            .unwrap()
            .and_hms_opt(h, mi, s)
            .unwrap()
            .and_utc()
            .timestamp_millis()
    }

    fn local(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, mo, d)
            .unwrap()
            .and_hms_opt(h, mi, 0)
            .unwrap()
    }

    #[test]
    fn names_round_trip() {
        for b in Bucket::ALL {
            assert_eq!(Bucket::parse(b.as_str()), Ok(b));
            assert_eq!(
                serde_json::to_string(&b).unwrap(),
                format!("\"{}\"", b.as_str())
            );
            assert_eq!(
                serde_json::from_str::<Bucket>(&format!("\"{b}\"")).unwrap(),
                b
            );
        }
        for bad in ["15", "interval", "hour", ""] {
            assert_eq!(
                Bucket::parse(bad),
                Err(KpiValueError::UnknownBucket(bad.into()))
            );
        }
    }

    #[test]
    fn winter_day_in_berlin() {
        // 2026-01-15 10:37:12 UTC = 11:37:12 CET (UTC+1), a Thursday (2026-01-01 is a
        // Thursday), so its week starts on Monday 2026-01-12.
        let ts = utc(2026, 1, 15, 10, 37, 12) + 345;
        let cases = [
            (
                Bucket::Min15,
                local(2026, 1, 15, 11, 30),
                "2026-01-15 11:30",
            ),
            (
                Bucket::Min30,
                local(2026, 1, 15, 11, 30),
                "2026-01-15 11:30",
            ),
            (Bucket::Min60, local(2026, 1, 15, 11, 0), "2026-01-15 11:00"),
            (Bucket::Day, local(2026, 1, 15, 0, 0), "2026-01-15"),
            (Bucket::Week, local(2026, 1, 12, 0, 0), "2026-01-12"),
            (Bucket::Month, local(2026, 1, 1, 0, 0), "2026-01"),
        ];
        for (b, start, label) in cases {
            assert_eq!(bucket_start(ts, BERLIN, b), start, "{b}");
            assert_eq!(bucket_label(ts, BERLIN, b), label, "{b}");
        }
    }

    #[test]
    fn the_local_day_not_the_utc_day() {
        // 2026-01-31 23:30 UTC = 2026-02-01 00:30 in Berlin: February, a Sunday, so its week
        // started on Monday 2026-01-26. In New York (UTC−5) it is still 18:30 on January 31,
        // a Saturday of the same week.
        let ts = utc(2026, 1, 31, 23, 30, 0);
        assert_eq!(
            bucket_start(ts, BERLIN, Bucket::Day),
            local(2026, 2, 1, 0, 0)
        );
        assert_eq!(bucket_label(ts, BERLIN, Bucket::Month), "2026-02");
        assert_eq!(
            bucket_start(ts, BERLIN, Bucket::Week),
            local(2026, 1, 26, 0, 0)
        );
        let ny = chrono_tz::America::New_York;
        assert_eq!(bucket_label(ts, ny, Bucket::Min60), "2026-01-31 18:00");
        assert_eq!(bucket_label(ts, ny, Bucket::Month), "2026-01");
        assert_eq!(bucket_start(ts, ny, Bucket::Week), local(2026, 1, 26, 0, 0));
        assert_eq!(bucket_label(ts, chrono_tz::UTC, Bucket::Day), "2026-01-31");
    }

    #[test]
    fn half_hour_offsets() {
        // 2026-01-15 10:50 UTC = 16:20 in Kolkata (UTC+5:30).
        let ts = utc(2026, 1, 15, 10, 50, 0);
        let kolkata = chrono_tz::Asia::Kolkata;
        assert_eq!(bucket_label(ts, kolkata, Bucket::Min15), "2026-01-15 16:15");
        assert_eq!(bucket_label(ts, kolkata, Bucket::Min30), "2026-01-15 16:00");
        assert_eq!(bucket_label(ts, kolkata, Bucket::Min60), "2026-01-15 16:00");
    }

    #[test]
    fn weeks_cross_the_turn_of_the_year() {
        // Friday 2027-01-01 12:00 CET is in the week that started on Monday 2026-12-28
        // (ISO week 53 of 2026: weeks are not cut at the turn of the year).
        let ts = utc(2027, 1, 1, 11, 0, 0);
        assert_eq!(
            bucket_start(ts, BERLIN, Bucket::Week),
            local(2026, 12, 28, 0, 0)
        );
        assert_eq!(bucket_label(ts, BERLIN, Bucket::Week), "2026-12-28");
        assert_eq!(bucket_label(ts, BERLIN, Bucket::Month), "2027-01");
    }

    #[test]
    fn clocks_go_forward_in_berlin() {
        // 2026-03-29: at 01:00 UTC the clocks jump from 02:00 CET to 03:00 CEST.
        // 00:59:59 UTC = 01:59:59 CET → hour 01:00, quarter 01:45.
        // 01:00:00 UTC = 03:00:00 CEST → hour 03:00, quarter 03:00.
        let before = utc(2026, 3, 29, 0, 59, 59);
        let after = utc(2026, 3, 29, 1, 0, 0);
        assert_eq!(
            bucket_start(before, BERLIN, Bucket::Min60),
            local(2026, 3, 29, 1, 0)
        );
        assert_eq!(
            bucket_start(before, BERLIN, Bucket::Min15),
            local(2026, 3, 29, 1, 45)
        );
        assert_eq!(
            bucket_start(after, BERLIN, Bucket::Min60),
            local(2026, 3, 29, 3, 0)
        );
        assert_eq!(
            bucket_label(after, BERLIN, Bucket::Min15),
            "2026-03-29 03:00"
        );
        assert_eq!(bucket_label(after, BERLIN, Bucket::Day), "2026-03-29");
        // The local day 2026-03-29 runs from 23:00 UTC on the 28th to 22:00 UTC on the 29th:
        // 23 hours, 23 hour buckets, none of them 02:00.
        let mut hours: BTreeMap<String, i64> = BTreeMap::new();
        let day_start = utc(2026, 3, 28, 23, 0, 0);
        for m in 0..23 * 60 {
            let ts = day_start + m * MINUTE;
            assert_eq!(bucket_label(ts, BERLIN, Bucket::Day), "2026-03-29");
            *hours
                .entry(bucket_label(ts, BERLIN, Bucket::Min60))
                .or_default() += 1;
        }
        assert_eq!(
            bucket_label(day_start - 1, BERLIN, Bucket::Day),
            "2026-03-28"
        );
        assert_eq!(
            bucket_label(day_start + 23 * 60 * MINUTE, BERLIN, Bucket::Day),
            "2026-03-30"
        );
        assert_eq!(hours.len(), 23);
        assert!(!hours.contains_key("2026-03-29 02:00"));
        assert!(hours.values().all(|&minutes| minutes == 60));
    }

    #[test]
    fn clocks_go_back_in_berlin() {
        // 2026-10-25: at 01:00 UTC the clocks go back from 03:00 CEST to 02:00 CET, so local
        // 02:00–03:00 happens twice: 00:00–01:00 UTC (CEST) and 01:00–02:00 UTC (CET).
        // 00:30 UTC = 02:30 CEST and 01:30 UTC = 02:30 CET fall in the same buckets.
        let first = utc(2026, 10, 25, 0, 30, 0);
        let second = utc(2026, 10, 25, 1, 30, 0);
        for ts in [first, second] {
            assert_eq!(
                bucket_start(ts, BERLIN, Bucket::Min60),
                local(2026, 10, 25, 2, 0)
            );
            assert_eq!(bucket_label(ts, BERLIN, Bucket::Min60), "2026-10-25 02:00");
            assert_eq!(bucket_label(ts, BERLIN, Bucket::Min15), "2026-10-25 02:30");
        }
        // The local day runs from 22:00 UTC on the 24th to 23:00 UTC on the 25th: 25 hours in
        // 24 hour buckets, the 02:00 bucket holding 120 minutes.
        let mut hours: BTreeMap<String, i64> = BTreeMap::new();
        let day_start = utc(2026, 10, 24, 22, 0, 0);
        for m in 0..25 * 60 {
            let ts = day_start + m * MINUTE;
            assert_eq!(bucket_label(ts, BERLIN, Bucket::Day), "2026-10-25");
            *hours
                .entry(bucket_label(ts, BERLIN, Bucket::Min60))
                .or_default() += 1;
        }
        assert_eq!(
            bucket_label(day_start + 25 * 60 * MINUTE, BERLIN, Bucket::Day),
            "2026-10-26"
        );
        assert_eq!(hours.len(), 24);
        assert_eq!(hours["2026-10-25 02:00"], 120);
        assert_eq!(hours.values().sum::<i64>(), 25 * 60);
    }

    #[test]
    fn before_1970_and_extremes() {
        // 1 ms before 1970 is 1969-12-31 23:59:59.999 UTC: day 1969-12-31, quarter 23:45.
        assert_eq!(bucket_label(-1, chrono_tz::UTC, Bucket::Day), "1969-12-31");
        assert_eq!(
            bucket_label(-1, chrono_tz::UTC, Bucket::Min15),
            "1969-12-31 23:45"
        );
        // Out-of-range instants are clamped instead of failing.
        for ts in [i64::MIN, i64::MAX] {
            for b in Bucket::ALL {
                let start = bucket_start(ts, chrono_tz::Pacific::Kiritimati, b);
                assert!(!b.label(start).is_empty());
            }
        }
    }
}
