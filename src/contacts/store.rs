//! Contacts, import jobs and rejects in the database.

use super::NewContact;
use crate::auth::secret::random_token;
use crate::domain::{ProgramId, Timestamp, now};
use crate::store::{Db, Tx};
use crate::{on_db, on_tx};

/// The organisation's pseudonymisation key, made on first use.
pub async fn pseudonym_key(db: &Db) -> Result<Vec<u8>, sqlx::Error> {
    const INSERT: &str = "INSERT INTO organisation (id, name, created_at, pseudonym_key) VALUES (1, 'Kalibra', $1, $2) \
                          ON CONFLICT (id) DO NOTHING";
    const FILL: &str =
        "UPDATE organisation SET pseudonym_key = $1 WHERE id = 1 AND pseudonym_key IS NULL";
    const READ: &str = "SELECT pseudonym_key FROM organisation WHERE id = 1";
    let fresh = random_token();
    on_db!(db, p => sqlx::query(INSERT).bind(now()).bind(&fresh).execute(p).await.map(|_| ()))?;
    on_db!(db, p => sqlx::query(FILL).bind(&fresh).execute(p).await.map(|_| ()))?;
    let key: Option<String> = on_db!(db, p => sqlx::query_scalar(READ).fetch_one(p).await)?;
    Ok(key.unwrap_or(fresh).into_bytes())
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub rows_read: u64,
    pub accepted: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub skipped: u64,
    pub rejected: u64,
}

pub async fn start_job(
    db: &Db,
    program: ProgramId,
    kind: &str,
    source_name: &str,
    created_by: &str,
) -> Result<i64, sqlx::Error> {
    const SQL: &str = "INSERT INTO import_jobs (program_id, kind, source_name, status, started_at, created_by) \
                       VALUES ($1, $2, $3, 'running', $4, $5) RETURNING id";
    on_db!(db, p => sqlx::query_scalar(SQL).bind(program).bind(kind).bind(source_name).bind(now()).bind(created_by)
        .fetch_one(p).await)
}

/// Record a job's counts; inside the batch's transaction, so counts and data agree after a crash.
pub async fn update_job(tx: &mut Tx, job: i64, c: &Counts) -> Result<(), sqlx::Error> {
    const SQL: &str = "UPDATE import_jobs SET rows_read = $1, accepted = $2, updated = $3, unchanged = $4, \
                       skipped = $5, rejected = $6 WHERE id = $7";
    on_tx!(tx, t => sqlx::query(SQL)
        .bind(c.rows_read as i64).bind(c.accepted as i64).bind(c.updated as i64).bind(c.unchanged as i64)
        .bind(c.skipped as i64).bind(c.rejected as i64).bind(job)
        .execute(t).await.map(|_| ()))
}

pub async fn finish_job(
    db: &Db,
    job: i64,
    c: &Counts,
    rejects_file: Option<&str>,
    error: Option<&str>,
) -> Result<(), sqlx::Error> {
    const SQL: &str = "UPDATE import_jobs SET status = $1, finished_at = $2, rows_read = $3, accepted = $4, \
                       updated = $5, unchanged = $6, skipped = $7, rejected = $8, rejects_file = $9, error = $10 \
                       WHERE id = $11";
    let status = if error.is_some() { "failed" } else { "done" };
    on_db!(db, p => sqlx::query(SQL)
        .bind(status).bind(now()).bind(c.rows_read as i64).bind(c.accepted as i64).bind(c.updated as i64)
        .bind(c.unchanged as i64).bind(c.skipped as i64).bind(c.rejected as i64).bind(rejects_file).bind(error)
        .bind(job).execute(p).await.map(|_| ()))
}

/// Keep the first rejects of a job for the UI.
pub async fn store_rejects(
    tx: &mut Tx,
    job: i64,
    rejects: &[(u64, String, String)],
) -> Result<(), sqlx::Error> {
    const SQL: &str = "INSERT INTO import_rejects (job_id, row_no, field, reason) VALUES ($1, $2, $3, $4) \
                       ON CONFLICT DO NOTHING";
    for (row, field, reason) in rejects {
        on_tx!(tx, t => sqlx::query(SQL).bind(job).bind(*row as i64).bind(field).bind(reason)
            .execute(t).await.map(|_| ()))?;
    }
    Ok(())
}

/// A contact ready to store: read, pseudonymised and fingerprinted.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Prepared {
    pub contact: NewContact,
    pub customer_ref: String,
    pub hash: String,
}

impl Prepared {
    /// The contact's stay in the e-mail and social backlog, if it has one.
    pub fn backlog_stay(&self) -> Option<super::backlog::Stay> {
        let c = &self.contact;
        if !super::backlog::CHANNELS.contains(&c.channel.as_str()) {
            return None;
        }
        super::backlog::BacklogFacts {
            channel: c.channel.as_str().to_owned(),
            queue: c.queue.clone(),
            outcome: c.outcome.as_str().to_owned(),
            arrived_at: c.arrived_ms,
            first_response_s: c.first_response_s.map(i64::from),
            ended_at: c.ended_ms,
        }
        .stay()
    }
}

/// A contact's columns that an import writes, in the order [`bind_contact`] binds them.
pub(super) const COLUMNS: [&str; 24] = [
    "program_id",
    "external_id",
    "channel",
    "queue",
    "agent",
    "customer_ref",
    "reason",
    "direction",
    "arrived_at",
    "answered_at",
    "ended_at",
    "wait_s",
    "talk_s",
    "hold_s",
    "acw_s",
    "first_response_s",
    "outcome",
    "resolved",
    "recording_url",
    "transcript",
    "attributes",
    "row_hash",
    "import_id",
    "imported_at",
];

/// The columns the bulk inserts write of a new contact: [`COLUMNS`], then its first-contact flag.
pub(super) fn new_contact_columns() -> impl Iterator<Item = &'static str> {
    COLUMNS.into_iter().chain(["fcr_repeat"])
}

/// Bind one contact's values in the order of [`COLUMNS`].
macro_rules! bind_contact {
    ($q:expr, $program:expr, $job:expr, $at:expr, $p:expr) => {{
        let c = &$p.contact;
        let transcript = $p.transcript_json();
        let attributes = $p.attributes_json();
        $q.bind($program)
            .bind(c.external_id.clone())
            .bind(c.channel.as_str())
            .bind(c.queue.clone())
            .bind(c.agent.clone())
            .bind($p.customer_ref.clone())
            .bind(c.reason.clone())
            .bind(c.direction.as_str())
            .bind(c.arrived_ms)
            .bind(c.answered_ms)
            .bind(c.ended_ms)
            .bind(i64::from(c.wait_s))
            .bind(i64::from(c.talk_s))
            .bind(i64::from(c.hold_s))
            .bind(i64::from(c.acw_s))
            .bind(c.first_response_s.map(i64::from))
            .bind(c.outcome.as_str())
            .bind(c.resolved)
            .bind(c.recording_url.clone())
            .bind(transcript)
            .bind(attributes)
            .bind($p.hash.clone())
            .bind($job)
            .bind($at)
    }};
}

/// Update a stored contact to its changed version (first-contact resolution and rollups are
/// recounted by the caller).
pub async fn update_contact(
    tx: &mut Tx,
    program: ProgramId,
    job: i64,
    at: Timestamp,
    p: &Prepared,
) -> Result<(), sqlx::Error> {
    let sets: Vec<String> = COLUMNS
        .iter()
        .enumerate()
        .skip(2)
        .map(|(i, c)| format!("{c} = ${}", i + 1))
        .collect();
    let sql = format!(
        "UPDATE contacts SET {} WHERE program_id = $1 AND external_id = $2",
        sets.join(", ")
    );
    on_tx!(tx, t => {
        let q = sqlx::query(&sql);
        bind_contact!(q, program, job, at, p).execute(t).await.map(|_| ())
    })
}

/// The service facts of a stored contact, from its columns; `None` for a channel or outcome
/// Kalibra does not know. Negative or overlong durations are clamped to 0 or `u32::MAX`.
pub fn stored_facts(
    channel: &str,
    outcome: &str,
    [wait_s, talk_s, hold_s, acw_s]: [i64; 4],
    first_response_s: Option<i64>,
) -> Option<crate::kpi::ContactFacts> {
    let secs = |v: i64| u32::try_from(v.max(0)).unwrap_or(u32::MAX);
    Some(crate::kpi::ContactFacts {
        channel: crate::kpi::Channel::parse(channel).ok()?,
        outcome: crate::kpi::Outcome::parse(outcome).ok()?,
        wait_s: secs(wait_s),
        first_response_s: first_response_s.map(secs),
        talk_s: secs(talk_s),
        hold_s: secs(hold_s),
        acw_s: secs(acw_s),
    })
}

/// The service facts of a program's contacts that arrived in `[from, to)`, for the KPIs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FactRow {
    pub arrived_at: i64,
    pub channel: String,
    pub queue: String,
    pub agent: String,
    pub customer_ref: String,
    pub reason: Option<String>,
    pub outcome: String,
    pub wait_s: i64,
    pub talk_s: i64,
    pub hold_s: i64,
    pub acw_s: i64,
    pub first_response_s: Option<i64>,
}

pub async fn facts(
    db: &Db,
    program: ProgramId,
    from: i64,
    to: i64,
) -> Result<Vec<FactRow>, sqlx::Error> {
    const SQL: &str = "SELECT arrived_at, channel, queue, agent, customer_ref, reason, outcome, wait_s, talk_s, \
                       hold_s, acw_s, first_response_s FROM contacts \
                       WHERE program_id = $1 AND arrived_at >= $2 AND arrived_at < $3 ORDER BY arrived_at, id";
    on_db!(db, p => sqlx::query_as(SQL).bind(program).bind(from).bind(to).fetch_all(p).await)
}

pub async fn count(db: &Db, program: ProgramId) -> Result<i64, sqlx::Error> {
    const SQL: &str = "SELECT CAST(COUNT(*) AS BIGINT) FROM contacts WHERE program_id = $1";
    on_db!(db, p => sqlx::query_scalar(SQL).bind(program).fetch_one(p).await)
}

/// Which contacts a list shows; every field optional.
#[derive(Debug, Clone, Default)]
pub struct ContactFilter {
    /// Arrived at or after / before, UTC ms.
    pub start: i64,
    pub end: i64,
    pub channel: Option<String>,
    pub queue: Option<String>,
    pub agent: Option<String>,
    /// Only these agents, when given (an agent's or team lead's own scope).
    pub agents: Option<std::collections::BTreeSet<String>>,
}

impl ContactFilter {
    /// The condition on the agent scope, with its placeholders from `$first` on.
    fn agents_sql(&self, first: usize) -> String {
        match &self.agents {
            None => String::new(),
            Some(a) if a.is_empty() => " AND 1 = 0".into(),
            Some(a) => {
                let list: Vec<String> = (0..a.len()).map(|i| format!("${}", first + i)).collect();
                format!(" AND agent IN ({})", list.join(", "))
            }
        }
    }
}

/// A contact as lists show it.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ContactSummary {
    pub id: i64,
    pub external_id: String,
    pub channel: String,
    pub queue: String,
    pub agent: String,
    pub arrived_at: i64,
    pub wait_s: i64,
    pub talk_s: i64,
    pub outcome: String,
    pub reason: Option<String>,
    pub has_transcript: bool,
}

const LIST_WHERE: &str = "WHERE program_id = $1 AND arrived_at >= $2 AND arrived_at < $3 \
    AND ($4 IS NULL OR channel = $4) AND ($5 IS NULL OR queue = $5) AND ($6 IS NULL OR agent = $6)";

pub async fn list(
    db: &Db,
    program: ProgramId,
    f: &ContactFilter,
    limit: i64,
    offset: i64,
) -> Result<Vec<ContactSummary>, sqlx::Error> {
    let sql = format!(
        "SELECT id, external_id, channel, queue, agent, arrived_at, wait_s, talk_s, outcome, reason, \
         transcript IS NOT NULL AS has_transcript FROM contacts {LIST_WHERE}{} \
         ORDER BY arrived_at DESC, id DESC LIMIT $7 OFFSET $8",
        f.agents_sql(9)
    );
    let agents: Vec<String> = f.agents.iter().flatten().cloned().collect();
    on_db!(db, p => {
        let mut q = sqlx::query_as(&sql)
            .bind(program).bind(f.start).bind(f.end).bind(&f.channel).bind(&f.queue).bind(&f.agent)
            .bind(limit).bind(offset);
        for a in &agents {
            q = q.bind(a.clone());
        }
        q.fetch_all(p).await
    })
}

pub async fn count_matching(
    db: &Db,
    program: ProgramId,
    f: &ContactFilter,
) -> Result<i64, sqlx::Error> {
    let sql = format!(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM contacts {LIST_WHERE}{}",
        f.agents_sql(7)
    );
    let agents: Vec<String> = f.agents.iter().flatten().cloned().collect();
    on_db!(db, p => {
        let mut q = sqlx::query_scalar(&sql)
            .bind(program).bind(f.start).bind(f.end).bind(&f.channel).bind(&f.queue).bind(&f.agent);
        for a in &agents {
            q = q.bind(a.clone());
        }
        q.fetch_one(p).await
    })
}

/// Everything stored about one contact, with its survey answer.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ContactDetail {
    pub id: i64,
    pub program_id: ProgramId,
    pub external_id: String,
    pub channel: String,
    pub queue: String,
    pub agent: String,
    pub customer_ref: String,
    pub reason: Option<String>,
    pub direction: String,
    pub arrived_at: i64,
    pub answered_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub wait_s: i64,
    pub talk_s: i64,
    pub hold_s: i64,
    pub acw_s: i64,
    pub first_response_s: Option<i64>,
    pub outcome: String,
    pub resolved: Option<bool>,
    pub fcr_repeat: Option<bool>,
    pub recording_url: Option<String>,
    pub transcript: Option<String>,
    pub attributes: Option<String>,
    pub csat: Option<i16>,
    pub nps: Option<i16>,
    pub rq: Option<bool>,
    pub effort: Option<i16>,
    pub comment: Option<String>,
}

pub async fn find(db: &Db, id: i64) -> Result<Option<ContactDetail>, sqlx::Error> {
    const SQL: &str = "SELECT c.id, c.program_id, c.external_id, c.channel, c.queue, c.agent, c.customer_ref, c.reason, \
        c.direction, c.arrived_at, c.answered_at, c.ended_at, c.wait_s, c.talk_s, c.hold_s, c.acw_s, c.first_response_s, \
        c.outcome, c.resolved, c.fcr_repeat, c.recording_url, c.transcript, c.attributes, \
        s.csat, s.nps, s.rq, s.effort, s.comment \
        FROM contacts c LEFT JOIN surveys s ON s.program_id = c.program_id AND s.contact_external_id = c.external_id \
        WHERE c.id = $1";
    on_db!(db, p => sqlx::query_as(SQL).bind(id).fetch_optional(p).await)
}

/// An import job as the imports page lists it.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub source_name: String,
    pub status: String,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub rows_read: i64,
    pub accepted: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub skipped: i64,
    pub rejected: i64,
    pub error: Option<String>,
    pub created_by: String,
}

impl Job {
    pub fn started_utc(&self) -> String {
        crate::domain::format_utc(self.started_at)
    }
}

pub async fn jobs(db: &Db, program: ProgramId, limit: i64) -> Result<Vec<Job>, sqlx::Error> {
    const SQL: &str = "SELECT id, kind, source_name, status, started_at, finished_at, rows_read, accepted, updated, \
        unchanged, skipped, rejected, error, created_by FROM import_jobs WHERE program_id = $1 ORDER BY id DESC LIMIT $2";
    on_db!(db, p => sqlx::query_as(SQL).bind(program).bind(limit).fetch_all(p).await)
}

/// The rejects kept for a job (the first ones).
pub async fn rejects(db: &Db, job: i64) -> Result<Vec<(i64, String, String)>, sqlx::Error> {
    const SQL: &str = "SELECT row_no, field, reason FROM import_rejects WHERE job_id = $1 ORDER BY row_no LIMIT 200";
    on_db!(db, p => sqlx::query_as(SQL).bind(job).fetch_all(p).await)
}
