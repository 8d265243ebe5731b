//! Rollups: additive KPI totals per 15-minute interval × channel × queue × agent, refreshed for
//! the intervals an import touches, so reports and dashboards never scan raw contacts. Every
//! zone's offset is a whole number of quarter hours, so a UTC quarter hour is a local one too.

use std::collections::{BTreeMap, BTreeSet};

use super::report::KpiSettings;
use crate::domain::ProgramId;
use crate::kpi::{
    Channel, ContactFacts, Csat, FcrContact, FcrTotals, Nps, Outcome, ServiceTotals, SurveyTotals,
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
        self.fcr.contacts += o.fcr.contacts;
        self.fcr.resolved += o.fcr.resolved;
        self.survey.merge(&o.survey);
        self.surveys += o.surveys;
    }
}

/// The key of a rollup row within its program.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    pub bucket: i64,
    pub channel: String,
    pub queue: String,
    pub agent: String,
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

fn secs(v: i64) -> u32 {
    u32::try_from(v.max(0)).unwrap_or(u32::MAX)
}

/// Contiguous runs of buckets, as `[start, end)` times.
fn ranges(buckets: &BTreeSet<i64>) -> Vec<(i64, i64)> {
    let mut out: Vec<(i64, i64)> = Vec::new();
    for &b in buckets {
        match out.last_mut() {
            Some((_, end)) if *end == b => *end = b + BUCKET_MS,
            _ => out.push((b, b + BUCKET_MS)),
        }
    }
    out
}

/// Recompute the rollup rows of `buckets` from the stored contacts and their survey answers.
pub async fn refresh_buckets(
    tx: &mut Tx,
    program: ProgramId,
    buckets: &BTreeSet<i64>,
    settings: &KpiSettings,
) -> Result<(), sqlx::Error> {
    const READ: &str = "SELECT c.arrived_at, c.channel, c.queue, c.agent, c.outcome, c.wait_s, c.talk_s, c.hold_s, \
        c.acw_s, c.first_response_s, c.customer_ref, c.fcr_repeat, s.id IS NOT NULL AS has_survey, s.csat, s.nps, s.rq \
        FROM contacts c LEFT JOIN surveys s ON s.program_id = c.program_id AND s.contact_external_id = c.external_id \
        WHERE c.program_id = $1 AND c.arrived_at >= $2 AND c.arrived_at < $3";
    const DELETE: &str =
        "DELETE FROM contact_rollups WHERE program_id = $1 AND bucket >= $2 AND bucket < $3";
    for (from, to) in ranges(buckets) {
        let rows: Vec<ContactRow> = on_tx!(tx, t => sqlx::query_as(READ).bind(program).bind(from).bind(to).fetch_all(t).await)?;
        let mut groups: BTreeMap<Key, Totals> = BTreeMap::new();
        for r in rows {
            let (Ok(channel), Ok(outcome)) =
                (Channel::parse(&r.channel), Outcome::parse(&r.outcome))
            else {
                continue;
            };
            let facts = ContactFacts {
                channel,
                outcome,
                wait_s: secs(r.wait_s),
                first_response_s: r.first_response_s.map(secs),
                talk_s: secs(r.talk_s),
                hold_s: secs(r.hold_s),
                acw_s: secs(r.acw_s),
            };
            let key = Key {
                bucket: bucket_of(r.arrived_at),
                channel: r.channel,
                queue: r.queue,
                agent: r.agent,
            };
            let g = groups.entry(key).or_default();
            g.service.add(&facts, &settings.service);
            if outcome.is_answered() && !r.customer_ref.is_empty() {
                g.fcr.contacts += 1;
                g.fcr.resolved += u64::from(r.fcr_repeat == Some(false));
            }
            if r.has_survey {
                g.surveys += 1;
                g.survey.add(
                    r.csat.and_then(|v| Csat::parse(i64::from(v)).ok()),
                    r.nps.and_then(|v| Nps::parse(i64::from(v)).ok()),
                    r.rq,
                );
            }
        }
        on_tx!(tx, t => sqlx::query(DELETE).bind(program).bind(from).bind(to).execute(t).await.map(|_| ()))?;
        let rows: Vec<(&Key, &Totals)> = groups.iter().collect();
        // Small multi-row INSERTs: many parameters in one statement are slow on SQLite.
        for chunk in rows.chunks(25) {
            write_rows(tx, program, chunk).await?;
        }
    }
    Ok(())
}

const COLUMNS: [&str; 31] = [
    "program_id",
    "bucket",
    "channel",
    "queue",
    "agent",
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

fn n(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

async fn write_rows(
    tx: &mut Tx,
    program: ProgramId,
    rows: &[(&Key, &Totals)],
) -> Result<(), sqlx::Error> {
    let width = COLUMNS.len();
    let values: Vec<String> = (0..rows.len())
        .map(|r| {
            let cells: Vec<String> = (1..=width).map(|c| format!("${}", r * width + c)).collect();
            format!("({})", cells.join(", "))
        })
        .collect();
    let sql = format!(
        "INSERT INTO contact_rollups ({}) VALUES {}",
        COLUMNS.join(", "),
        values.join(", ")
    );
    on_tx!(tx, t => {
        let mut q = sqlx::query(&sql);
        for (k, g) in rows {
            let (s, f, v) = (&g.service, &g.fcr, &g.survey);
            q = q.bind(program).bind(k.bucket).bind(k.channel.clone()).bind(k.queue.clone()).bind(k.agent.clone())
                .bind(n(s.handled)).bind(n(s.transferred)).bind(n(s.abandoned)).bind(n(s.short_abandoned))
                .bind(n(s.bot_resolved)).bind(n(s.answered_within_t)).bind(n(s.abandoned_within_t))
                .bind(n(s.wait_answered_s)).bind(i64::from(s.longest_wait_s)).bind(n(s.talk_s)).bind(n(s.hold_s))
                .bind(n(s.acw_s)).bind(n(s.responded)).bind(n(s.responded_within_sla)).bind(n(s.first_response_s_sum))
                .bind(n(f.contacts)).bind(n(f.resolved)).bind(n(g.surveys)).bind(n(v.csat_answers)).bind(n(v.csat_top2))
                .bind(n(v.csat_sum)).bind(n(v.nps_answers)).bind(n(v.promoters)).bind(n(v.detractors))
                .bind(n(v.rq_answers)).bind(n(v.rq_yes));
        }
        q.execute(t).await.map(|_| ())
    })
}

#[derive(sqlx::FromRow)]
struct FcrRow {
    id: i64,
    customer_ref: String,
    arrived_at: i64,
    reason: Option<String>,
    fcr_repeat: Option<bool>,
}

/// Re-evaluate first-contact resolution for the contacts of `customers` that arrived up to
/// `until` and may have a repeat in `[since, until]` (+ the window), after contacts of these
/// customers arrived or changed in `[since, until]`. Returns the buckets whose flags changed.
pub async fn refresh_fcr(
    tx: &mut Tx,
    program: ProgramId,
    customers: &BTreeSet<String>,
    since: i64,
    until: i64,
    window_days: u32,
) -> Result<BTreeSet<i64>, sqlx::Error> {
    let mut changed = BTreeSet::new();
    let window = i64::from(window_days) * 86_400_000;
    let customers: Vec<&String> = customers.iter().filter(|c| !c.is_empty()).collect();
    for chunk in customers.chunks(100) {
        let list: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 4)).collect();
        let sql = format!(
            "SELECT id, customer_ref, arrived_at, reason, fcr_repeat FROM contacts \
             WHERE program_id = $1 AND arrived_at >= $2 AND arrived_at <= $3 AND customer_ref IN ({}) \
             ORDER BY arrived_at, id",
            list.join(", ")
        );
        let rows: Vec<FcrRow> = on_tx!(tx, t => {
            let mut q = sqlx::query_as(&sql).bind(program).bind(since - window).bind(until + window);
            for c in chunk {
                q = q.bind((*c).clone());
            }
            q.fetch_all(t).await
        })?;
        let input: Vec<FcrContact> = rows
            .iter()
            .map(|r| FcrContact {
                customer: r.customer_ref.clone(),
                arrived_ms: r.arrived_at,
                reason: r.reason.clone(),
            })
            .collect();
        let resolved = first_contact_resolution(&input, window_days);
        // The contacts whose flag changes, by their new value.
        let mut flips: [Vec<i64>; 2] = [Vec::new(), Vec::new()];
        for (r, first_time) in rows.iter().zip(resolved) {
            let repeat = !first_time;
            if r.arrived_at <= until && r.fcr_repeat != Some(repeat) {
                flips[usize::from(repeat)].push(r.id);
                changed.insert(bucket_of(r.arrived_at));
            }
        }
        for (value, ids) in flips.iter().enumerate() {
            for part in ids.chunks(100) {
                let list: Vec<String> = (0..part.len()).map(|i| format!("${}", i + 2)).collect();
                let sql = format!(
                    "UPDATE contacts SET fcr_repeat = $1 WHERE id IN ({})",
                    list.join(", ")
                );
                on_tx!(tx, t => {
                    let mut q = sqlx::query(&sql).bind(value == 1);
                    for id in part {
                        q = q.bind(*id);
                    }
                    q.execute(t).await.map(|_| ())
                })?;
            }
        }
    }
    Ok(changed)
}

/// One stored rollup row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RollupRow {
    pub bucket: i64,
    pub channel: String,
    pub queue: String,
    pub agent: String,
    pub handled: i64,
    pub transferred: i64,
    pub abandoned: i64,
    pub short_abandoned: i64,
    pub bot_resolved: i64,
    pub answered_within_t: i64,
    pub abandoned_within_t: i64,
    pub wait_answered_s: i64,
    pub longest_wait_s: i64,
    pub talk_s: i64,
    pub hold_s: i64,
    pub acw_s: i64,
    pub responded: i64,
    pub responded_within_sla: i64,
    pub first_response_s_sum: i64,
    pub fcr_contacts: i64,
    pub fcr_resolved: i64,
    pub surveys: i64,
    pub csat_answers: i64,
    pub csat_top2: i64,
    pub csat_sum: i64,
    pub nps_answers: i64,
    pub promoters: i64,
    pub detractors: i64,
    pub rq_answers: i64,
    pub rq_yes: i64,
}

impl RollupRow {
    pub fn totals(&self) -> Totals {
        let u = |v: i64| u64::try_from(v).unwrap_or(0);
        Totals {
            service: ServiceTotals {
                handled: u(self.handled),
                transferred: u(self.transferred),
                abandoned: u(self.abandoned),
                short_abandoned: u(self.short_abandoned),
                bot_resolved: u(self.bot_resolved),
                answered_within_t: u(self.answered_within_t),
                abandoned_within_t: u(self.abandoned_within_t),
                wait_answered_s: u(self.wait_answered_s),
                longest_wait_s: u32::try_from(self.longest_wait_s).unwrap_or(u32::MAX),
                talk_s: u(self.talk_s),
                hold_s: u(self.hold_s),
                acw_s: u(self.acw_s),
                responded: u(self.responded),
                responded_within_sla: u(self.responded_within_sla),
                first_response_s_sum: u(self.first_response_s_sum),
            },
            fcr: FcrTotals {
                contacts: u(self.fcr_contacts),
                resolved: u(self.fcr_resolved),
            },
            survey: SurveyTotals {
                csat_answers: u(self.csat_answers),
                csat_top2: u(self.csat_top2),
                csat_sum: u(self.csat_sum),
                nps_answers: u(self.nps_answers),
                promoters: u(self.promoters),
                detractors: u(self.detractors),
                rq_answers: u(self.rq_answers),
                rq_yes: u(self.rq_yes),
            },
            surveys: u(self.surveys),
        }
    }
}

/// The rollup rows of a program's intervals in `[from, to)`.
pub async fn read(
    db: &Db,
    program: ProgramId,
    from: i64,
    to: i64,
) -> Result<Vec<RollupRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {} FROM contact_rollups WHERE program_id = $1 AND bucket >= $2 AND bucket < $3 ORDER BY bucket",
        COLUMNS[1..].join(", ")
    );
    on_db!(db, p => sqlx::query_as(&sql).bind(program).bind(from).bind(to).fetch_all(p).await)
}

/// The start of the latest quarter hour with contacts, if any.
pub async fn latest_bucket(db: &Db, program: ProgramId) -> Result<Option<i64>, sqlx::Error> {
    const SQL: &str = "SELECT MAX(bucket) FROM contact_rollups WHERE program_id = $1";
    on_db!(db, p => sqlx::query_scalar::<_, Option<i64>>(SQL).bind(program).fetch_one(p).await)
}

/// Recompute first-contact resolution and every rollup row of a program from its contacts
/// (after an upgrade that adds rollups, or a change of KPI settings).
pub async fn rebuild(
    db: &Db,
    program: ProgramId,
    settings: &KpiSettings,
) -> Result<u64, sqlx::Error> {
    const CUSTOMERS: &str =
        "SELECT DISTINCT customer_ref FROM contacts WHERE program_id = $1 AND customer_ref <> ''";
    const ARRIVALS: &str = "SELECT arrived_at FROM contacts WHERE program_id = $1";
    const CLEAR: &str = "DELETE FROM contact_rollups WHERE program_id = $1";
    let mut tx = db.begin().await?;
    let customers: Vec<String> =
        on_tx!(&mut tx, t => sqlx::query_scalar(CUSTOMERS).bind(program).fetch_all(t).await)?;
    let arrivals: Vec<i64> =
        on_tx!(&mut tx, t => sqlx::query_scalar(ARRIVALS).bind(program).fetch_all(t).await)?;
    let buckets: BTreeSet<i64> = arrivals.iter().copied().map(bucket_of).collect();
    if let (Some(&since), Some(&until)) = (arrivals.iter().min(), arrivals.iter().max()) {
        let customers: BTreeSet<String> = customers.into_iter().collect();
        refresh_fcr(
            &mut tx,
            program,
            &customers,
            since,
            until,
            settings.fcr_days,
        )
        .await?;
    }
    on_tx!(&mut tx, t => sqlx::query(CLEAR).bind(program).execute(t).await.map(|_| ()))?;
    refresh_buckets(&mut tx, program, &buckets, settings).await?;
    tx.commit().await?;
    Ok(arrivals.len() as u64)
}

/// Build the rollups of programs that have contacts but none yet (a database from before
/// rollups existed). Run at start-up; does nothing on a current database.
pub async fn ensure(db: &Db) -> Result<(), sqlx::Error> {
    const MISSING: &str = "SELECT p.id FROM programs p WHERE EXISTS (SELECT 1 FROM contacts c WHERE c.program_id = p.id) \
                           AND NOT EXISTS (SELECT 1 FROM contact_rollups r WHERE r.program_id = p.id)";
    let missing: Vec<ProgramId> = on_db!(db, p => sqlx::query_scalar(MISSING).fetch_all(p).await)?;
    for program in missing {
        let n = rebuild(db, program, &KpiSettings::default()).await?;
        tracing::info!(%program, contacts = n, "rollups built");
    }
    Ok(())
}
