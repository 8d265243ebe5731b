//! The open backlog of e-mail and social contacts: those an agent is still to answer.
//!
//! A contact is open from its arrival until its first response (or, without one, until it
//! ended). The `contact_backlog` table counts, per channel, queue and local day, how many such
//! contacts arrived and how many were closed; the backlog open at the end of a day is the sum
//! of arrivals minus closures up to that day. Every import adds its share, so reading the
//! backlog never touches the contacts.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::calendar::{Calendar, day_number, day_start_utc, next_month};
use crate::domain::ProgramId;
use crate::kpi::Bucket;
use crate::store::{Db, Tx};
use crate::{on_db, on_tx};

/// The channels whose contacts wait in a backlog rather than a queue.
pub const CHANNELS: [&str; 2] = ["email", "social"];

/// One contact's time in the backlog, as UTC milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stay {
    pub channel: String,
    pub queue: String,
    pub opened_ms: i64,
    /// `None` while it is still open.
    pub closed_ms: Option<i64>,
}

/// The stored fields of a contact the backlog needs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BacklogFacts {
    pub channel: String,
    pub queue: String,
    pub outcome: String,
    pub arrived_at: i64,
    pub first_response_s: Option<i64>,
    pub ended_at: Option<i64>,
}

impl BacklogFacts {
    /// The contact's stay in the backlog: e-mail and social contacts only, not those a bot
    /// resolved. It leaves at its first response, or when it ended without one; until then it
    /// is open, whatever its outcome says (an export without an outcome column records an
    /// unanswered e-mail as abandoned).
    pub fn stay(&self) -> Option<Stay> {
        if !CHANNELS.contains(&self.channel.as_str()) || self.outcome == "bot_resolved" {
            return None;
        }
        let closed = self
            .first_response_s
            .map(|s| self.arrived_at.saturating_add(s.saturating_mul(1_000)))
            .or(self.ended_at);
        Some(Stay {
            channel: self.channel.clone(),
            queue: self.queue.clone(),
            opened_ms: self.arrived_at,
            closed_ms: closed.map(|c| c.max(self.arrived_at)),
        })
    }
}

/// Changes to the stored counts: (channel, queue, local day) → (arrived, closed).
#[derive(Debug, Default)]
pub struct Deltas(BTreeMap<(String, String, i64), (i64, i64)>);

impl Deltas {
    /// Count a stay in (`sign` 1) or out (`sign` −1).
    pub fn count(&mut self, cal: &mut Calendar, stay: &Stay, sign: i64) {
        let mut at = |ms: i64, closed: bool| {
            let key = (
                stay.channel.clone(),
                stay.queue.clone(),
                cal.periods(ms).day,
            );
            let e = self.0.entry(key).or_default();
            if closed {
                e.1 += sign;
            } else {
                e.0 += sign;
            }
        };
        at(stay.opened_ms, false);
        if let Some(c) = stay.closed_ms {
            at(c, true);
        }
    }
}

/// The columns of [`BacklogFacts`].
const FACTS: &str =
    "SELECT channel, queue, outcome, arrived_at, first_response_s, ended_at FROM contacts";

/// A program's contacts of the channels with a backlog.
const IN_BACKLOG: &str = "WHERE program_id = $1 AND channel IN ('email', 'social')";

/// Add the deltas to the stored counts.
pub async fn add(tx: &mut Tx, program: ProgramId, deltas: &Deltas) -> Result<(), sqlx::Error> {
    const SQL: &str = "INSERT INTO contact_backlog (program_id, channel, queue, day, opened, closed) \
        VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (program_id, channel, queue, day) DO UPDATE \
        SET opened = contact_backlog.opened + excluded.opened, \
        closed = contact_backlog.closed + excluded.closed";
    for ((channel, queue, day), &(opened, closed)) in &deltas.0 {
        if (opened, closed) == (0, 0) {
            continue;
        }
        on_tx!(tx, t => sqlx::query(SQL).bind(program).bind(channel).bind(queue).bind(*day)
            .bind(opened).bind(closed).execute(t).await.map(|_| ()))?;
    }
    Ok(())
}

/// The backlog facts of a program's contacts that may be in the backlog.
pub async fn facts_in(tx: &mut Tx, program: ProgramId) -> Result<Vec<BacklogFacts>, sqlx::Error> {
    let sql = format!("{FACTS} {IN_BACKLOG}");
    on_tx!(tx, t => sqlx::query_as(&sql).bind(program).fetch_all(t).await)
}

/// The stay of a stored contact, before it changes.
pub async fn stored_stay(
    tx: &mut Tx,
    program: ProgramId,
    external_id: &str,
) -> Result<Option<Stay>, sqlx::Error> {
    let sql = format!("{FACTS} WHERE program_id = $1 AND external_id = $2");
    let f: Option<BacklogFacts> = on_tx!(tx, t => sqlx::query_as(&sql).bind(program)
        .bind(external_id).fetch_optional(t).await)?;
    Ok(f.and_then(|f| f.stay()))
}

/// The same, outside a transaction (for the reference computation).
pub async fn facts(db: &Db, program: ProgramId) -> Result<Vec<BacklogFacts>, sqlx::Error> {
    let sql = format!("{FACTS} {IN_BACKLOG}");
    on_db!(db, p => sqlx::query_as(&sql).bind(program).fetch_all(p).await)
}

/// Count a program's backlog again from its contacts (after a change of time zone, or once for
/// a database from before the backlog was kept).
pub async fn rebuild_in(
    tx: &mut Tx,
    program: ProgramId,
    cal: &mut Calendar,
) -> Result<(), sqlx::Error> {
    const CLEAR: &str = "DELETE FROM contact_backlog WHERE program_id = $1";
    const DONE: &str = "UPDATE programs SET backlog_counted = TRUE WHERE id = $1";
    on_tx!(tx, t => sqlx::query(CLEAR).bind(program).execute(t).await.map(|_| ()))?;
    let mut deltas = Deltas::default();
    for f in facts_in(tx, program).await? {
        if let Some(s) = f.stay() {
            deltas.count(cal, &s, 1);
        }
    }
    add(tx, program, &deltas).await?;
    on_tx!(tx, t => sqlx::query(DONE).bind(program).execute(t).await.map(|_| ()))
}

/// Count the backlog of programs that have not had it counted. Run at start-up.
pub async fn ensure(db: &Db) -> Result<(), sqlx::Error> {
    const MISSING: &str = "SELECT id FROM programs WHERE NOT backlog_counted";
    let missing: Vec<ProgramId> = on_db!(db, p => sqlx::query_scalar(MISSING).fetch_all(p).await)?;
    for program in missing {
        let mut tx = db.begin().await?;
        let mut cal = super::rollup::calendar(&mut tx, program).await?;
        rebuild_in(&mut tx, program, &mut cal).await?;
        tx.commit().await?;
    }
    Ok(())
}

/// A program's backlog counts up to a day, ready to answer "how many were open at the end of
/// day d in this channel and queue".
#[derive(Debug, Default)]
pub struct Open {
    /// Per (channel, queue): (day, open at its end), by day.
    runs: BTreeMap<(String, String), Vec<(i64, i64)>>,
}

impl Open {
    /// The stored counts of days up to `last`.
    pub async fn read(db: &Db, program: ProgramId, last: i64) -> Result<Open, sqlx::Error> {
        const SQL: &str = "SELECT channel, queue, day, opened, closed FROM contact_backlog \
            WHERE program_id = $1 AND day <= $2 ORDER BY channel, queue, day";
        let rows: Vec<(String, String, i64, i64, i64)> =
            on_db!(db, p => sqlx::query_as(SQL).bind(program).bind(last).fetch_all(p).await)?;
        Ok(Open::from_counts(rows))
    }

    /// From (channel, queue, day, arrived, closed) counts, in order of channel, queue and day.
    fn from_counts(counts: impl IntoIterator<Item = (String, String, i64, i64, i64)>) -> Open {
        let mut open = Open::default();
        for (channel, queue, day, opened, closed) in counts {
            let run = open.runs.entry((channel, queue)).or_default();
            let before = run.last().map_or(0, |&(_, n)| n);
            run.push((day, before + opened - closed));
        }
        open
    }

    /// Open at the end of local day `day`, in the channel and queue given (all when `None`).
    pub fn at(&self, day: i64, channel: Option<&str>, queue: Option<&str>) -> u64 {
        let wanted = |want: Option<&str>, have: &str| want.is_none_or(|w| w == have);
        self.runs
            .iter()
            .filter(|((c, q), _)| wanted(channel, c) && wanted(queue, q))
            .map(|(_, run)| {
                let upto = run.partition_point(|&(d, _)| d <= day);
                upto.checked_sub(1).map_or(0, |i| run[i].1)
            })
            .map(|n| u64::try_from(n).unwrap_or(0))
            .sum()
    }
}

/// The reference: stays open at the end of local day `day` (in `tz`), counted one by one.
pub fn open_at(
    stays: &[Stay],
    tz: chrono_tz::Tz,
    day: i64,
    channel: Option<&str>,
    queue: Option<&str>,
) -> u64 {
    let end = day_start_utc(tz, day + 1);
    stays
        .iter()
        .filter(|s| channel.is_none_or(|c| c == s.channel) && queue.is_none_or(|q| q == s.queue))
        .filter(|s| s.opened_ms < end && s.closed_ms.is_none_or(|c| c >= end))
        .count() as u64
}

/// The last local day of the period a report labels `label` in bucket `b` (`None` for
/// intervals within a day, whose backlog is not kept).
pub fn last_day_of(b: Bucket, label: &str) -> Option<i64> {
    let day = |s: &str| {
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()
            .map(day_number)
    };
    match b {
        Bucket::Day => day(label),
        Bucket::Week => day(label).map(|d| d + 6),
        Bucket::Month => day(&format!("{label}-01")).map(|d| next_month(d) - 1),
        Bucket::Min15 | Bucket::Min30 | Bucket::Min60 => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contacts::calendar::date_of;

    const HOUR: i64 = 3_600_000;

    fn facts(
        channel: &str,
        outcome: &str,
        arrived: i64,
        first: Option<i64>,
        ended: Option<i64>,
    ) -> BacklogFacts {
        BacklogFacts {
            channel: channel.into(),
            queue: "Mail".into(),
            outcome: outcome.into(),
            arrived_at: arrived,
            first_response_s: first,
            ended_at: ended,
        }
    }

    #[test]
    fn which_contacts_wait_and_until_when() {
        let t = 1_767_225_600_000; // 2026-01-01 00:00 UTC
        let answered = facts("email", "handled", t, Some(7_200), Some(t + 10 * HOUR))
            .stay()
            .unwrap();
        assert_eq!(
            answered.closed_ms,
            Some(t + 2 * HOUR),
            "first response, not the end"
        );
        let closed = facts("social", "handled", t, None, Some(t + 5 * HOUR))
            .stay()
            .unwrap();
        assert_eq!(closed.closed_ms, Some(t + 5 * HOUR));
        let open = facts("email", "handled", t, None, None).stay().unwrap();
        assert_eq!(open.closed_ms, None);
        let unanswered = facts("email", "abandoned", t, None, None).stay().unwrap();
        assert_eq!(unanswered.closed_ms, None);
        let withdrawn = facts("email", "abandoned", t, None, Some(t + HOUR))
            .stay()
            .unwrap();
        assert_eq!(withdrawn.closed_ms, Some(t + HOUR));
        assert!(facts("phone", "handled", t, None, None).stay().is_none());
        assert!(facts("chat", "handled", t, None, None).stay().is_none());
        assert!(
            facts("email", "bot_resolved", t, None, None)
                .stay()
                .is_none()
        );
    }

    /// Three e-mails in UTC: one arrives on day 0 and is answered on day 2, one arrives on
    /// day 1 and stays open, one arrives and is answered on day 1. Open at the ends of days
    /// 0, 1, 2, 3: 1, 2, 1, 1 — by hand, and by both ways of counting.
    #[test]
    fn stored_counts_give_what_counting_one_by_one_gives() {
        let tz = chrono_tz::UTC;
        let day0 = 20_454; // 2026-01-01
        let t = day_start_utc(tz, day0);
        let stays: Vec<Stay> = [
            facts("email", "handled", t + HOUR, Some(2 * 86_400), None),
            facts("email", "handled", t + 30 * HOUR, None, None),
            facts("email", "handled", t + 26 * HOUR, Some(3_600), None),
        ]
        .iter()
        .filter_map(BacklogFacts::stay)
        .collect();
        let mut cal = Calendar::new(tz);
        let mut deltas = Deltas::default();
        for s in &stays {
            deltas.count(&mut cal, s, 1);
        }
        let open = Open::from_counts(
            deltas
                .0
                .iter()
                .map(|((c, q, day), &(o, cl))| (c.clone(), q.clone(), *day, o, cl)),
        );
        for (offset, expected) in [(-1, 0), (0, 1), (1, 2), (2, 1), (3, 1)] {
            let d = day0 + offset;
            assert_eq!(open.at(d, None, None), expected, "day {offset}");
            assert_eq!(open_at(&stays, tz, d, None, None), expected, "day {offset}");
        }
        assert_eq!(open.at(day0 + 1, Some("social"), None), 0);
        assert_eq!(open.at(day0 + 1, Some("email"), Some("Mail")), 2);
        // Counting a stay out again takes it away.
        deltas.count(&mut cal, &stays[1], -1);
        deltas.count(&mut cal, &stays[0], -1);
        deltas.count(&mut cal, &stays[2], -1);
        assert!(deltas.0.values().all(|&v| v == (0, 0)));
    }

    #[test]
    fn the_last_day_of_a_labelled_period() {
        let d = |y, m, dd| day_number(NaiveDate::from_ymd_opt(y, m, dd).unwrap());
        assert_eq!(last_day_of(Bucket::Day, "2026-01-15"), Some(d(2026, 1, 15)));
        assert_eq!(
            last_day_of(Bucket::Week, "2026-01-12"),
            Some(d(2026, 1, 18))
        );
        assert_eq!(last_day_of(Bucket::Month, "2024-02"), Some(d(2024, 2, 29)));
        assert_eq!(last_day_of(Bucket::Min15, "2026-01-15 10:00"), None);
        assert_eq!(
            date_of(d(2026, 1, 1)),
            NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()
        );
    }
}
