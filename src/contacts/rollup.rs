//! Rollups: additive KPI totals, so reports and dashboards never scan raw contacts. Two sides:
//! per queue (by quarter hour, local day, week and month) and per agent (by local day, week
//! and month), each also by channel. Imports add the share of new contacts; changes recount
//! the local days they touch from the raw rows, and the weeks and months from those days.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::calendar::{Calendar, Periods, day_start_utc, month_of, next_month, week_of};
use super::repeats::{WEEK_MS, Window, contacts_of};
use super::report::KpiSettings;
use crate::domain::ProgramId;
use crate::kpi::{
    ContactFacts, Csat, FcrContact, FcrTotals, Nps, ServiceTotals, SurveyTotals,
    first_contact_resolution,
};
use crate::store::{Db, Tx};
use crate::{on_db, on_tx};

pub const BUCKET_MS: i64 = 15 * 60_000;

pub fn bucket_of(ts_ms: i64) -> i64 {
    ts_ms.div_euclid(BUCKET_MS) * BUCKET_MS
}

/// Everything a report adds up for one group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub service: ServiceTotals,
    pub fcr: FcrTotals,
    pub survey: SurveyTotals,
    pub surveys: u64,
}

impl Totals {
    pub fn merge(&mut self, o: &Totals) {
        self.service.merge(&o.service);
        self.fcr.merge(&o.fcr);
        self.survey.merge(&o.survey);
        self.surveys += o.surveys;
    }

    /// Count one survey answer.
    pub fn add_survey(&mut self, s: SurveyShare) {
        self.surveys += 1;
        self.survey.add(
            s.csat.and_then(|v| Csat::parse(i64::from(v)).ok()),
            s.nps.and_then(|v| Nps::parse(i64::from(v)).ok()),
            s.rq,
        );
    }

    /// Count one contact: its service facts, its first-contact resolution (answered contacts
    /// of a known customer; `repeat` says the customer came back) and its survey answer.
    pub fn add_contact(
        &mut self,
        facts: &ContactFacts,
        has_customer: bool,
        repeat: Option<bool>,
        survey: Option<SurveyShare>,
        settings: &KpiSettings,
    ) {
        self.service.add(facts, &settings.service);
        if facts.outcome.is_answered() && has_customer {
            self.fcr.contacts += 1;
            self.fcr.resolved += u64::from(repeat == Some(false));
        }
        if let Some(s) = survey {
            self.add_survey(s);
        }
    }
}

/// A contact's survey answer, as stored.
#[derive(Debug, Clone, Copy, Default, sqlx::FromRow)]
pub struct SurveyShare {
    pub csat: Option<i16>,
    pub nps: Option<i16>,
    pub rq: Option<bool>,
}

/// Which name a rollup row is kept under besides its channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Side {
    Queue,
    Agent,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Queue => "queue",
            Side::Agent => "agent",
        }
    }
}

/// The length of a rollup row's period. `Interval` periods are UTC quarter hours (ms); the
/// others are local periods, as the day number of their first day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Grain {
    Interval,
    Day,
    Week,
    Month,
}

impl Grain {
    pub fn as_str(self) -> &'static str {
        match self {
            Grain::Interval => "interval",
            Grain::Day => "day",
            Grain::Week => "week",
            Grain::Month => "month",
        }
    }
}

/// The key of a rollup row within its program.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    pub side: Side,
    pub grain: Grain,
    pub period: i64,
    pub channel: String,
    pub name: String,
}

/// A rollup key borrowing its names from the rows being counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct KeyRef<'a> {
    side: Side,
    grain: Grain,
    period: i64,
    channel: &'a str,
    name: &'a str,
}

impl KeyRef<'_> {
    fn to_key(self) -> Key {
        Key {
            side: self.side,
            grain: self.grain,
            period: self.period,
            channel: self.channel.to_owned(),
            name: self.name.to_owned(),
        }
    }
}

/// The rollup row of the queue's interval a contact counts in.
fn interval_key<'a>(arrived: i64, channel: &'a str, queue: &'a str) -> KeyRef<'a> {
    KeyRef {
        side: Side::Queue,
        grain: Grain::Interval,
        period: bucket_of(arrived),
        channel,
        name: queue,
    }
}

/// The rollup rows of days, weeks and months a contact of `day` counts in.
fn day_keys<'a>(day: &DayKey<'a>) -> [KeyRef<'a>; 6] {
    let key = |side: Side, grain: Grain, period: i64| KeyRef {
        side,
        grain,
        period,
        channel: day.channel,
        name: match side {
            Side::Queue => day.queue,
            Side::Agent => day.agent,
        },
    };
    let p = day.periods;
    [
        key(Side::Queue, Grain::Day, p.day),
        key(Side::Queue, Grain::Week, p.week),
        key(Side::Queue, Grain::Month, p.month),
        key(Side::Agent, Grain::Day, p.day),
        key(Side::Agent, Grain::Week, p.week),
        key(Side::Agent, Grain::Month, p.month),
    ]
}

/// The contacts of one local day, channel, queue and agent: they count in the same rollup rows
/// of days, weeks and months.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct DayKey<'a> {
    periods: Periods,
    channel: &'a str,
    queue: &'a str,
    agent: &'a str,
}

/// The rollup rows a contact counts in.
pub fn keys(cal: &mut Calendar, arrived: i64, channel: &str, queue: &str, agent: &str) -> [Key; 7] {
    let day = DayKey {
        periods: cal.periods(arrived),
        channel,
        queue,
        agent,
    };
    let [a, b, c, d, e, f] = day_keys(&day);
    [interval_key(arrived, channel, queue), a, b, c, d, e, f].map(KeyRef::to_key)
}

/// Count a survey answer in the rollup rows of its contact, arrived at `arrived` on `channel`
/// in `queue` with `agent`, taking out the answer it replaces.
pub fn add_answer(
    deltas: &mut BTreeMap<Key, Delta>,
    cal: &mut Calendar,
    (arrived, channel, queue, agent): (i64, &str, &str, &str),
    answer: SurveyShare,
    replaced: Option<SurveyShare>,
) {
    for key in keys(cal, arrived, channel, queue, agent) {
        let d = deltas.entry(key).or_default();
        d.totals.add_survey(answer);
        if let Some(b) = replaced {
            d.removed.add_survey(b);
        }
    }
}

/// A batch's changes to the rollups, gathered under keys borrowed from its rows. A contact costs
/// two hash lookups, its queue's interval and its day's group; each group of a day is added to
/// its six rows of days, weeks and months once, when the batch is done. A key is copied once
/// per rollup row, not once per contact.
#[derive(Default)]
pub struct Deltas<'a> {
    rows: HashMap<KeyRef<'a>, Delta, foldhash::fast::RandomState>,
    days: HashMap<DayKey<'a>, Delta, foldhash::fast::RandomState>,
}

impl<'a> Deltas<'a> {
    /// Apply `change` to the delta of each rollup row a contact counts in.
    pub fn each(
        &mut self,
        cal: &mut Calendar,
        (arrived, channel, queue, agent): (i64, &'a str, &'a str, &'a str),
        mut change: impl FnMut(&mut Delta),
    ) {
        let interval = interval_key(arrived, channel, queue);
        change(self.rows.entry(interval).or_default());
        let day = DayKey {
            periods: cal.periods(arrived),
            channel,
            queue,
            agent,
        };
        change(self.days.entry(day).or_default());
    }

    /// The deltas by owned key, in key order (the order rollup rows are written in).
    pub fn into_sorted(self) -> BTreeMap<Key, Delta> {
        let mut rows = self.rows;
        for (day, d) in &self.days {
            for key in day_keys(day) {
                rows.entry(key).or_default().merge(d);
            }
        }
        rows.into_iter().map(|(k, d)| (k.to_key(), d)).collect()
    }
}

/// What to change in a rollup row: the totals of what it gains, less those of what it loses
/// (first-contact resolutions its earlier contacts lost, survey answers that were replaced;
/// sums only, never a longest wait).
#[derive(Debug, Clone, Copy, Default)]
pub struct Delta {
    pub totals: Totals,
    pub removed: Totals,
}

impl Delta {
    pub fn merge(&mut self, o: &Delta) {
        self.totals.merge(&o.totals);
        self.removed.merge(&o.removed);
    }
}

#[derive(sqlx::FromRow)]
struct ContactRow {
    arrived_at: i64,
    channel: String,
    queue: String,
    agent: String,
    outcome: String,
    wait_s: i64,
    talk_s: i64,
    hold_s: i64,
    acw_s: i64,
    first_response_s: Option<i64>,
    customer_ref: String,
    fcr_repeat: Option<bool>,
    has_survey: bool,
    csat: Option<i16>,
    nps: Option<i16>,
    rq: Option<bool>,
}

/// Rows of a bulk read of the contacts, with three integer parameters: on SQLite through
/// `sqlite_map`, on PostgreSQL by name.
async fn fetch_rows<T>(
    tx: &mut Tx,
    sql: &str,
    args: [i64; 3],
    sqlite_map: fn(&rusqlite::Row) -> rusqlite::Result<T>,
) -> Result<Vec<T>, sqlx::Error>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
{
    match tx {
        Tx::Sqlite(t) => super::sqlite_bulk::read_rows(t, sql, args, sqlite_map).await,
        Tx::Pg(t) => {
            sqlx::query_as(sql)
                .bind(args[0])
                .bind(args[1])
                .bind(args[2])
                .fetch_all(&mut **t)
                .await
        }
    }
}

/// Consecutive days as runs `(first, last)` of at most a week, so that a recount holds at most a
/// week of contacts at a time.
fn runs(days: &BTreeSet<i64>) -> Vec<(i64, i64)> {
    let mut out: Vec<(i64, i64)> = Vec::new();
    for &d in days {
        match out.last_mut() {
            Some((first, last)) if *last + 1 == d && d - *first < 7 => *last = d,
            _ => out.push((d, d)),
        }
    }
    out
}

/// Recount the rollup rows of the local `days` from the stored contacts and their survey
/// answers: quarter hours and days from the raw rows, then their weeks and months from the days.
pub async fn recount_days(
    tx: &mut Tx,
    program: ProgramId,
    cal: &mut Calendar,
    days: &BTreeSet<i64>,
    settings: &KpiSettings,
) -> Result<(), sqlx::Error> {
    const READ: &str = "SELECT c.arrived_at, c.channel, c.queue, c.agent, c.outcome, c.wait_s, c.talk_s, c.hold_s, \
        c.acw_s, c.first_response_s, c.customer_ref, c.fcr_repeat, s.id IS NOT NULL AS has_survey, s.csat, s.nps, s.rq \
        FROM contacts c LEFT JOIN surveys s ON s.program_id = c.program_id AND s.contact_external_id = c.external_id \
        WHERE c.program_id = $1 AND c.arrived_at >= $2 AND c.arrived_at < $3";
    // Each by the key (program, side, grain, period, …), not by reading the program's rows.
    const DELETE_INTERVALS: &str = "DELETE FROM contact_rollups WHERE program_id = $1 AND side = 'queue' \
        AND grain = 'interval' AND period >= $2 AND period < $3";
    const DELETE_DAYS: &str = "DELETE FROM contact_rollups WHERE program_id = $1 \
        AND side IN ('queue', 'agent') AND grain = 'day' AND period >= $2 AND period <= $3";
    for (first, last) in runs(days) {
        let (from, to) = (
            day_start_utc(cal.tz, first),
            day_start_utc(cal.tz, last + 1),
        );
        let rows: Vec<ContactRow> = fetch_rows(tx, READ, [program.0, from, to], |r| {
            Ok(ContactRow {
                arrived_at: r.get(0)?,
                channel: r.get(1)?,
                queue: r.get(2)?,
                agent: r.get(3)?,
                outcome: r.get(4)?,
                wait_s: r.get(5)?,
                talk_s: r.get(6)?,
                hold_s: r.get(7)?,
                acw_s: r.get(8)?,
                first_response_s: r.get(9)?,
                customer_ref: r.get(10)?,
                fcr_repeat: r.get(11)?,
                has_survey: r.get(12)?,
                csat: r.get(13)?,
                nps: r.get(14)?,
                rq: r.get(15)?,
            })
        })
        .await?;
        let mut groups: BTreeMap<Key, Delta> = BTreeMap::new();
        for r in rows {
            let times = [r.wait_s, r.talk_s, r.hold_s, r.acw_s];
            let Some(facts) =
                super::store::stored_facts(&r.channel, &r.outcome, times, r.first_response_s)
            else {
                continue;
            };
            let survey = r.has_survey.then_some(SurveyShare {
                csat: r.csat,
                nps: r.nps,
                rq: r.rq,
            });
            for key in keys(cal, r.arrived_at, &r.channel, &r.queue, &r.agent) {
                if matches!(key.grain, Grain::Interval | Grain::Day) {
                    groups.entry(key).or_default().totals.add_contact(
                        &facts,
                        !r.customer_ref.is_empty(),
                        r.fcr_repeat,
                        survey,
                        settings,
                    );
                }
            }
        }
        on_tx!(tx, t => sqlx::query(DELETE_INTERVALS).bind(program).bind(from).bind(to)
            .execute(t).await.map(|_| ()))?;
        on_tx!(tx, t => sqlx::query(DELETE_DAYS).bind(program).bind(first).bind(last)
            .execute(t).await.map(|_| ()))?;
        add(tx, program, &groups).await?;
    }
    let weeks: BTreeSet<i64> = days.iter().map(|&d| week_of(d)).collect();
    let months: BTreeSet<i64> = days.iter().map(|&d| month_of(d)).collect();
    for w in weeks {
        sum_days(tx, program, Grain::Week, w, w + 7).await?;
    }
    for m in months {
        sum_days(tx, program, Grain::Month, m, next_month(m)).await?;
    }
    Ok(())
}

/// Rewrite the `grain` rows of the period starting on day `first` as the sum of its days
/// `[first, end)`.
async fn sum_days(
    tx: &mut Tx,
    program: ProgramId,
    grain: Grain,
    first: i64,
    end: i64,
) -> Result<(), sqlx::Error> {
    // `side IN (…)` lets both statements use the key (program, side, grain, period, …)
    // instead of reading every rollup row of the program.
    const DELETE: &str = "DELETE FROM contact_rollups WHERE program_id = $1 \
        AND side IN ('queue', 'agent') AND grain = $2 AND period = $3";
    let sums: Vec<String> = COLUMNS[6..]
        .iter()
        .map(|c| match *c {
            "longest_wait_s" => format!("MAX({c})"),
            _ => format!("SUM({c})"),
        })
        .collect();
    let sql = format!(
        "INSERT INTO contact_rollups ({}) SELECT program_id, side, $2, $3, channel, name, {} FROM contact_rollups \
         WHERE program_id = $1 AND side IN ('queue', 'agent') AND grain = 'day' AND period >= $3 AND period < $4 \
         GROUP BY program_id, side, channel, name",
        COLUMNS.join(", "),
        sums.join(", ")
    );
    on_tx!(tx, t => sqlx::query(DELETE).bind(program).bind(grain.as_str()).bind(first).execute(t).await.map(|_| ()))?;
    on_tx!(tx, t => sqlx::query(&sql).bind(program).bind(grain.as_str()).bind(first).bind(end).execute(t).await.map(|_| ()))
}

const COLUMNS: [&str; 32] = [
    "program_id",
    "side",
    "grain",
    "period",
    "channel",
    "name",
    "handled",
    "transferred",
    "abandoned",
    "short_abandoned",
    "bot_resolved",
    "answered_within_t",
    "abandoned_within_t",
    "wait_answered_s",
    "longest_wait_s",
    "talk_s",
    "hold_s",
    "acw_s",
    "responded",
    "responded_within_sla",
    "first_response_s_sum",
    "fcr_contacts",
    "fcr_resolved",
    "surveys",
    "csat_answers",
    "csat_top2",
    "csat_sum",
    "nps_answers",
    "promoters",
    "detractors",
    "rq_answers",
    "rq_yes",
];

/// Where `fcr_resolved` sits in [`measures`].
const FCR_RESOLVED: usize = 16;

fn n(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// A delta's measures in the order of `COLUMNS[6..]`.
pub fn measures(d: &Delta) -> [i64; 26] {
    let (mut m, removed) = (measures_of(&d.totals), measures_of(&d.removed));
    for (v, r) in m.iter_mut().zip(removed) {
        *v -= r;
    }
    m
}

fn measures_of(g: &Totals) -> [i64; 26] {
    let (s, f, v) = (&g.service, &g.fcr, &g.survey);
    [
        n(s.handled),
        n(s.transferred),
        n(s.abandoned),
        n(s.short_abandoned),
        n(s.bot_resolved),
        n(s.answered_within_t),
        n(s.abandoned_within_t),
        n(s.wait_answered_s),
        i64::from(s.longest_wait_s),
        n(s.talk_s),
        n(s.hold_s),
        n(s.acw_s),
        n(s.responded),
        n(s.responded_within_sla),
        n(s.first_response_s_sum),
        n(f.contacts),
        n(f.resolved),
        n(g.surveys),
        n(v.csat_answers),
        n(v.csat_top2),
        n(v.csat_sum),
        n(v.nps_answers),
        n(v.promoters),
        n(v.detractors),
        n(v.rq_answers),
        n(v.rq_yes),
    ]
}

/// The statement that adds one row's measures to the stored row (creating it when missing).
pub fn add_statement(placeholders: &str) -> String {
    let sets: Vec<String> = COLUMNS[6..]
        .iter()
        .map(|c| match *c {
            "longest_wait_s" => format!(
                "{c} = CASE WHEN excluded.{c} > contact_rollups.{c} THEN excluded.{c} ELSE contact_rollups.{c} END"
            ),
            _ => format!("{c} = contact_rollups.{c} + excluded.{c}"),
        })
        .collect();
    format!(
        "INSERT INTO contact_rollups ({}) {placeholders} ON CONFLICT (program_id, side, grain, period, channel, name) \
         DO UPDATE SET {}",
        COLUMNS.join(", "),
        sets.join(", ")
    )
}

/// Add `deltas` to the stored rollup rows, creating missing ones.
pub async fn add(
    tx: &mut Tx,
    program: ProgramId,
    deltas: &BTreeMap<Key, Delta>,
) -> Result<(), sqlx::Error> {
    if deltas.is_empty() {
        return Ok(());
    }
    let rows: Vec<(&Key, &Delta)> = deltas.iter().collect();
    match tx {
        Tx::Sqlite(t) => {
            // Prepared statements of many rows each: sqlx binds many parameters slowly.
            super::sqlite_bulk::write_rollups(t, &add_statement, program, &rows).await
        }
        Tx::Pg(t) => {
            // One statement, each column an array.
            let casts: Vec<String> = (7..=COLUMNS.len())
                .map(|i| format!("${i}::int8[]"))
                .collect();
            let sql = add_statement(&format!(
                "SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::int8[], $5::text[], $6::text[], {})",
                casts.join(", ")
            ));
            let all: Vec<[i64; 26]> = rows.iter().map(|(_, d)| measures(d)).collect();
            let mut q = sqlx::query(&sql)
                .bind(program)
                .bind(
                    rows.iter()
                        .map(|(k, _)| k.side.as_str())
                        .collect::<Vec<_>>(),
                )
                .bind(
                    rows.iter()
                        .map(|(k, _)| k.grain.as_str())
                        .collect::<Vec<_>>(),
                )
                .bind(rows.iter().map(|(k, _)| k.period).collect::<Vec<_>>())
                .bind(
                    rows.iter()
                        .map(|(k, _)| k.channel.as_str())
                        .collect::<Vec<_>>(),
                )
                .bind(
                    rows.iter()
                        .map(|(k, _)| k.name.as_str())
                        .collect::<Vec<_>>(),
                );
            for i in 0..26 {
                q = q.bind(all.iter().map(|m| m[i]).collect::<Vec<_>>());
            }
            q.execute(&mut **t).await.map(|_| ())
        }
    }
}

#[derive(sqlx::FromRow)]
struct FcrRow {
    id: i64,
    customer_ref: String,
    arrived_at: i64,
    reason: Option<String>,
    fcr_repeat: Option<bool>,
}

impl From<super::repeats::Neighbour> for FcrRow {
    fn from(n: super::repeats::Neighbour) -> Self {
        FcrRow {
            id: n.id,
            customer_ref: n.customer_ref,
            arrived_at: n.arrived_at,
            reason: n.reason,
            fcr_repeat: n.fcr_repeat,
        }
    }
}

/// Re-evaluate first-contact resolution for the contacts of `customers` that arrived up to
/// `until` and may have a repeat in `[since, until]` (+ the window), after contacts of these
/// customers arrived or changed in `[since, until]`. Returns the arrivals of the contacts whose
/// flags changed.
pub async fn refresh_fcr(
    tx: &mut Tx,
    program: ProgramId,
    customers: &BTreeSet<String>,
    since: i64,
    until: i64,
    window_days: u32,
) -> Result<BTreeSet<i64>, sqlx::Error> {
    let window = i64::from(window_days) * 86_400_000;
    let windows: Vec<Window> = customers
        .iter()
        .filter(|c| !c.is_empty())
        .map(|c| Window {
            customer: c,
            from: since - window,
            to: until + window,
        })
        .collect();
    let mut rows: Vec<FcrRow> = contacts_of(tx, program, &windows)
        .await?
        .into_iter()
        .map(FcrRow::from)
        .collect();
    rows.sort_by_key(|r| (r.arrived_at, r.id));
    store_flags(tx, &rows, window_days, |r| r.arrived_at <= until).await
}

/// Re-evaluate first-contact resolution for every contact of a program, a week at a time: each
/// week is read with the weeks after it that its contacts' repeats can fall in.
async fn refresh_all_fcr(
    tx: &mut Tx,
    program: ProgramId,
    (first, last): (i64, i64),
    window_days: u32,
) -> Result<(), sqlx::Error> {
    const WEEKS: &str = "SELECT id, customer_ref, arrived_at, reason, fcr_repeat FROM contacts \
        WHERE program_id = $1 AND arrived_at / 604800000 >= $2 AND arrived_at / 604800000 <= $3 \
        AND customer_ref <> '' ORDER BY arrived_at, id";
    let window = i64::from(window_days) * 86_400_000;
    let ahead = (window + WEEK_MS - 1) / WEEK_MS;
    for week in (first / WEEK_MS)..=(last / WEEK_MS) {
        let rows: Vec<FcrRow> = fetch_rows(tx, WEEKS, [program.0, week, week + ahead], |r| {
            Ok(FcrRow {
                id: r.get(0)?,
                customer_ref: r.get(1)?,
                arrived_at: r.get(2)?,
                reason: r.get(3)?,
                fcr_repeat: r.get(4)?,
            })
        })
        .await?;
        store_flags(tx, &rows, window_days, |r| r.arrived_at / WEEK_MS == week).await?;
    }
    Ok(())
}

/// Run [`first_contact_resolution`] over `rows` (in time order) and store the flags that
/// change, of the rows `settles` picks. Returns the arrivals of those whose flags changed.
async fn store_flags(
    tx: &mut Tx,
    rows: &[FcrRow],
    window_days: u32,
    settles: impl Fn(&FcrRow) -> bool,
) -> Result<BTreeSet<i64>, sqlx::Error> {
    let input: Vec<FcrContact> = rows
        .iter()
        .map(|r| FcrContact {
            customer: r.customer_ref.clone(),
            arrived_ms: r.arrived_at,
            reason: r.reason.clone(),
        })
        .collect();
    let resolved = first_contact_resolution(&input, window_days);
    let mut changed = BTreeSet::new();
    // The contacts whose flag changes, by their new value.
    let mut flips: [Vec<i64>; 2] = [Vec::new(), Vec::new()];
    for (r, first_time) in rows.iter().zip(resolved) {
        let repeat = !first_time;
        if settles(r) && r.fcr_repeat != Some(repeat) {
            flips[usize::from(repeat)].push(r.id);
            changed.insert(r.arrived_at);
        }
    }
    for (value, ids) in flips.iter().enumerate() {
        super::repeats::set_repeats(tx, ids, value == 1).await?;
    }
    Ok(changed)
}

/// One stored rollup row: its period, channel, name and measures (in the order of
/// `COLUMNS[6..]`, as [`measures`] writes them).
#[derive(Debug, Clone)]
pub struct RollupRow {
    pub period: i64,
    pub channel: String,
    pub name: String,
    pub measures: [i64; 26],
}

impl<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> for RollupRow {
    fn from_row(row: &'r sqlx::postgres::PgRow) -> Result<Self, sqlx::Error> {
        use sqlx::Row;
        let mut measures = [0_i64; 26];
        for (i, m) in measures.iter_mut().enumerate() {
            *m = row.try_get(i + 3)?;
        }
        Ok(RollupRow {
            period: row.try_get(0)?,
            channel: row.try_get(1)?,
            name: row.try_get(2)?,
            measures,
        })
    }
}

impl RollupRow {
    pub fn totals(&self) -> Totals {
        let u = |i: usize| u64::try_from(self.measures[i]).unwrap_or(0);
        Totals {
            service: ServiceTotals {
                handled: u(0),
                transferred: u(1),
                abandoned: u(2),
                short_abandoned: u(3),
                bot_resolved: u(4),
                answered_within_t: u(5),
                abandoned_within_t: u(6),
                wait_answered_s: u(7),
                longest_wait_s: u32::try_from(self.measures[8]).unwrap_or(u32::MAX),
                talk_s: u(9),
                hold_s: u(10),
                acw_s: u(11),
                responded: u(12),
                responded_within_sla: u(13),
                first_response_s_sum: u(14),
            },
            fcr: FcrTotals {
                contacts: u(15),
                resolved: u(FCR_RESOLVED),
            },
            surveys: u(17),
            survey: SurveyTotals {
                csat_answers: u(18),
                csat_top2: u(19),
                csat_sum: u(20),
                nps_answers: u(21),
                promoters: u(22),
                detractors: u(23),
                rq_answers: u(24),
                rq_yes: u(25),
            },
        }
    }
}

/// Hand `each` a program's rollup rows of one side and grain whose periods lie in `[from, to]`,
/// one at a time (a year by agent and week is thousands of rows, never held together).
pub async fn read(
    db: &Db,
    program: ProgramId,
    side: Side,
    grain: Grain,
    (from, to): (i64, i64),
    each: &mut (dyn FnMut(&RollupRow) + Send),
) -> Result<(), sqlx::Error> {
    let sql = format!(
        "SELECT {} FROM contact_rollups WHERE program_id = $1 AND side = $2 AND grain = $3 \
         AND period >= $4 AND period <= $5",
        COLUMNS[3..].join(", ")
    );
    match db {
        // Straight from the connection: sqlx hands SQLite rows over one by one between threads.
        Db::Sqlite(pool, _) => {
            let mut conn = pool.acquire().await?;
            let args = (program.0, side.as_str(), grain.as_str(), from, to);
            super::sqlite_bulk::read_rollups(&mut conn, &sql, args, each).await
        }
        Db::Pg(pool) => {
            let rows: Vec<RollupRow> = sqlx::query_as(&sql)
                .bind(program)
                .bind(side.as_str())
                .bind(grain.as_str())
                .bind(from)
                .bind(to)
                .fetch_all(pool)
                .await?;
            rows.iter().for_each(each);
            Ok(())
        }
    }
}

/// The start of the latest quarter hour with contacts, if any.
pub async fn latest_bucket(db: &Db, program: ProgramId) -> Result<Option<i64>, sqlx::Error> {
    const SQL: &str = "SELECT MAX(period) FROM contact_rollups WHERE program_id = $1 AND side = 'queue' \
                       AND grain = 'interval'";
    on_db!(db, p => sqlx::query_scalar::<_, Option<i64>>(SQL).bind(program).fetch_one(p).await)
}

/// A program's time zone, for its local calendar.
pub async fn calendar(tx: &mut Tx, program: ProgramId) -> Result<Calendar, sqlx::Error> {
    const SQL: &str = "SELECT timezone FROM programs WHERE id = $1";
    let tz: String = on_tx!(tx, t => sqlx::query_scalar(SQL).bind(program).fetch_one(t).await)?;
    Ok(Calendar::new(tz.parse().unwrap_or(chrono_tz::UTC)))
}

/// The local days of instants.
pub fn days_of(cal: &mut Calendar, instants: impl IntoIterator<Item = i64>) -> BTreeSet<i64> {
    instants.into_iter().map(|t| cal.periods(t).day).collect()
}

/// What a recount of a program redoes besides its rollup rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recount {
    /// Every contact's first-contact resolution (the FCR window changed, or was never applied).
    pub fcr: bool,
    /// The e-mail and social backlog (its local days moved).
    pub backlog: bool,
}

/// Recompute every rollup row of a program from its contacts, and what `also` names (after an
/// upgrade that changes rollups, or a change of KPI settings or time zone), inside a
/// transaction the caller commits. Returns the number of contacts.
pub async fn rebuild_in(
    tx: &mut Tx,
    program: ProgramId,
    settings: &KpiSettings,
    also: Recount,
) -> Result<u64, sqlx::Error> {
    const SPAN: &str =
        "SELECT MIN(arrived_at), MAX(arrived_at), COUNT(*) FROM contacts WHERE program_id = $1";
    const CLEAR: &str = "DELETE FROM contact_rollups WHERE program_id = $1";
    if let Tx::Sqlite(t) = tx {
        super::sqlite_bulk::page_cache(t, super::sqlite_bulk::BATCH_CACHE_KIB).await?;
    }
    let (first, last, count): (Option<i64>, Option<i64>, i64) =
        on_tx!(tx, t => sqlx::query_as(SPAN).bind(program).fetch_one(t).await)?;
    let mut cal = calendar(tx, program).await?;
    // Every day from the first contact's to the last's; days without contacts count nothing.
    let days: BTreeSet<i64> = match (first, last) {
        (Some(a), Some(b)) => (cal.periods(a).day..=cal.periods(b).day).collect(),
        _ => BTreeSet::new(),
    };
    if let (Some(first), Some(last), true) = (first, last, also.fcr) {
        refresh_all_fcr(tx, program, (first, last), settings.fcr_days).await?;
        super::recent::count_change(tx, program).await?;
    }
    on_tx!(tx, t => sqlx::query(CLEAR).bind(program).execute(t).await.map(|_| ()))?;
    recount_days(tx, program, &mut cal, &days, settings).await?;
    if also.backlog {
        super::backlog::rebuild_in(tx, program, &mut cal).await?;
    }
    if let Tx::Sqlite(t) = tx {
        super::sqlite_bulk::page_cache(t, super::sqlite_bulk::IDLE_CACHE_KIB).await?;
    }
    Ok(u64::try_from(count).unwrap_or(0))
}

/// Build the rollups of programs that have contacts but none yet (a database from before
/// these rollups existed). Run at start-up; does nothing on a current database.
pub async fn ensure(db: &Db) -> Result<(), sqlx::Error> {
    const MISSING: &str = "SELECT p.id FROM programs p WHERE EXISTS (SELECT 1 FROM contacts c WHERE c.program_id = p.id) \
                           AND NOT EXISTS (SELECT 1 FROM contact_rollups r WHERE r.program_id = p.id)";
    let missing: Vec<ProgramId> = on_db!(db, p => sqlx::query_scalar(MISSING).fetch_all(p).await)?;
    for program in missing {
        let settings = crate::programs::kpi_settings(db, program).await?;
        let mut tx = db.begin().await?;
        // The backlog has its own mark; `backlog::ensure` counts it below when missing.
        let also = Recount {
            fcr: true,
            backlog: false,
        };
        let n = rebuild_in(&mut tx, program, &settings, also).await?;
        tx.commit().await?;
        tracing::info!(%program, contacts = n, "rollups built");
    }
    super::backlog::ensure(db).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Consecutive days make runs of at most seven; gaps start new runs.
    #[test]
    fn days_are_recounted_in_runs_of_at_most_a_week() {
        let days: BTreeSet<i64> = (1..=16).chain([20, 21, 30]).collect();
        assert_eq!(runs(&days), [(1, 7), (8, 14), (15, 16), (20, 21), (30, 30)]);
        assert!(runs(&BTreeSet::new()).is_empty());
    }

    /// What is written as measures reads back as the same totals: every field in its place.
    #[test]
    fn measures_read_back_as_the_same_totals() {
        let mut m = [0_i64; 26];
        for (i, v) in m.iter_mut().enumerate() {
            *v = 100 + i as i64;
        }
        let row = RollupRow {
            period: 0,
            channel: "phone".into(),
            name: "Q".into(),
            measures: m,
        };
        let totals = row.totals();
        let back = measures(&Delta {
            totals,
            removed: Totals::default(),
        });
        assert_eq!(back, m);
        let mut removed = Totals::default();
        removed.fcr.resolved = 3;
        removed.add_survey(SurveyShare {
            csat: Some(5),
            nps: None,
            rq: Some(false),
        });
        let lost = measures(&Delta { totals, removed });
        assert_eq!(lost[FCR_RESOLVED], m[FCR_RESOLVED] - 3);
        // surveys, csat answers, top-2, sum; rq answers; nothing else.
        let changed: Vec<(usize, i64)> = (0..26)
            .filter(|&i| lost[i] != m[i])
            .map(|i| (i, m[i] - lost[i]))
            .collect();
        assert_eq!(
            changed,
            [(16, 3), (17, 1), (18, 1), (19, 1), (20, 5), (24, 1)]
        );
        assert_eq!(totals.fcr.resolved, 116);
        assert_eq!(totals.service.longest_wait_s, 108);
    }
}
