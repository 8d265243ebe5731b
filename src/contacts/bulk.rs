//! Storing one batch of contacts in its transaction. Contacts new to the database go in bulk:
//! one pass inserts them, two statements settle first-contact resolution for them and for the
//! earlier contacts of the same customers, and their shares are added to the rollups. Changed
//! contacts, rare, are updated one by one and what they touch is recounted from the raw rows.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::backlog;
use super::calendar::Calendar;
use super::import::ImportRow;
use super::recent::RecentContacts;
use super::repeats::{self, Settled};
use super::report::KpiSettings;
use super::rollup::{self, Delta, Deltas, Key, SurveyShare, days_of};
use super::sqlite_bulk;
use super::store::{self, Prepared};
use crate::domain::{ProgramId, Timestamp, now};
use crate::kpi::{ContactFacts, Outcome};
use crate::on_tx;
use crate::store::{CopyRows, Tx};

/// What storing a batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stored {
    pub accepted: u64,
    pub updated: u64,
    pub unchanged: u64,
}

/// What the database holds of a contact already: its fingerprint, arrival and customer.
pub struct Existing {
    pub hash: String,
    pub arrived_at: i64,
    pub customer_ref: String,
}

/// Store `batch` (each external id at most once) for `program` in `tx`.
pub async fn store_batch(
    tx: &mut Tx,
    program: ProgramId,
    job: i64,
    batch: &[Prepared],
    recent: &mut RecentContacts,
) -> Result<Stored, sqlx::Error> {
    let mut out = Stored::default();
    if batch.is_empty() {
        return Ok(out);
    }
    let at: Timestamp = now();
    lock_program(tx, program).await?;
    recent.begin_batch(tx, program).await?;
    let settings = &crate::programs::kpi_settings_in(tx, program).await?;
    if let Tx::Sqlite(t) = tx {
        sqlite_bulk::page_cache(t, sqlite_bulk::BATCH_CACHE_KIB).await?;
    }
    let existing = existing(tx, program, batch).await?;
    let (mut fresh, mut changed) = (Vec::new(), Vec::new());
    for p in batch {
        match existing.get(&p.contact.external_id) {
            None => fresh.push(p),
            Some(e) if e.hash == p.hash => out.unchanged += 1,
            Some(e) => changed.push((p, e)),
        }
    }
    out.accepted = fresh.len() as u64;
    out.updated = changed.len() as u64;
    if !fresh.is_empty() {
        add_fresh(tx, program, (job, at), &fresh, settings, recent).await?;
    }
    if !changed.is_empty() {
        update_changed(tx, program, job, at, &changed, settings).await?;
        // Changed arrivals, customers and reasons move flags this does not follow.
        recent.forget();
    }
    if let Tx::Sqlite(t) = tx {
        sqlite_bulk::page_cache(t, sqlite_bulk::IDLE_CACHE_KIB).await?;
    }
    Ok(out)
}

/// On PostgreSQL, imports into one program take turns, and every statement of the batch looks
/// rows up by index: while a table grows fast, the planner's statistics lag behind (a fresh
/// table looks empty) and it would scan the whole table instead.
pub async fn lock_program(tx: &mut Tx, program: ProgramId) -> Result<(), sqlx::Error> {
    if let Tx::Pg(t) = tx {
        sqlx::query("SELECT pg_advisory_xact_lock(7314, CAST($1 AS INTEGER))")
            .bind(program)
            .execute(&mut **t)
            .await?;
        sqlx::query("SET LOCAL enable_seqscan = off")
            .execute(&mut **t)
            .await?;
    }
    Ok(())
}

/// Whether the program holds any contact whose external id lies between the batch's least and
/// greatest: one index probe. A file in the order of its ids (as exports usually are) gives
/// batches of ids not stored yet, and then none is looked up one by one.
async fn any_in_range(
    tx: &mut Tx,
    program: ProgramId,
    batch: &[Prepared],
) -> Result<bool, sqlx::Error> {
    let found: Option<i32> = match tx {
        Tx::Sqlite(t) => {
            // Text compares byte by byte in SQLite (BINARY), as `str` does.
            let (Some(least), Some(greatest)) = (
                batch.iter().map(|p| p.key()).min(),
                batch.iter().map(|p| p.key()).max(),
            ) else {
                return Ok(false);
            };
            const SQL: &str = "SELECT 1 FROM contacts WHERE program_id = $1 \
                AND external_id >= $2 AND external_id <= $3 LIMIT 1";
            sqlx::query_scalar(SQL)
                .bind(program)
                .bind(least)
                .bind(greatest)
                .fetch_optional(&mut **t)
                .await?
        }
        Tx::Pg(t) => {
            // The bounds in the database's own collation, the one the comparison uses.
            const SQL: &str = "SELECT 1 FROM contacts WHERE program_id = $1 \
                AND external_id >= (SELECT min(k) FROM UNNEST($2::text[]) AS k) \
                AND external_id <= (SELECT max(k) FROM UNNEST($2::text[]) AS k) LIMIT 1";
            let ids: Vec<&str> = batch.iter().map(|p| p.key()).collect();
            sqlx::query_scalar(SQL)
                .bind(program)
                .bind(ids)
                .fetch_optional(&mut **t)
                .await?
        }
    };
    Ok(found.is_some())
}

/// The stored versions of the batch's contacts, by external id.
async fn existing(
    tx: &mut Tx,
    program: ProgramId,
    batch: &[Prepared],
) -> Result<HashMap<String, Existing>, sqlx::Error> {
    if !any_in_range(tx, program, batch).await? {
        return Ok(HashMap::new());
    }
    match tx {
        Tx::Sqlite(t) => {
            let ids: Vec<&str> = batch.iter().map(|p| p.key()).collect();
            super::sqlite_bulk::existing(t, program, &ids).await
        }
        Tx::Pg(t) => {
            const SQL: &str = "SELECT c.external_id, c.row_hash, c.arrived_at, c.customer_ref \
                FROM UNNEST($2::text[]) AS k (id) JOIN contacts c ON c.program_id = $1 AND c.external_id = k.id";
            let ids: Vec<String> = batch.iter().map(|p| p.key().to_owned()).collect();
            let rows: Vec<(String, String, i64, String)> = sqlx::query_as(SQL)
                .bind(program)
                .bind(ids)
                .fetch_all(&mut **t)
                .await?;
            Ok(rows
                .into_iter()
                .map(|(id, hash, arrived_at, customer_ref)| {
                    (
                        id,
                        Existing {
                            hash,
                            arrived_at,
                            customer_ref,
                        },
                    )
                })
                .collect())
        }
    }
}

impl Prepared {
    pub fn transcript_json(&self) -> Option<String> {
        self.contact
            .transcript
            .as_ref()
            .map(|t| serde_json::to_string(t).unwrap_or_default())
    }

    pub fn attributes_json(&self) -> Option<String> {
        let a = &self.contact.attributes;
        (!a.is_empty()).then(|| serde_json::to_string(a).unwrap_or_default())
    }
}

/// The largest contact id so far; the batch's new rows get larger ones.
async fn last_id(t: &mut sqlx::SqliteConnection) -> Result<i64, sqlx::Error> {
    const SQL: &str = "SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) FROM contacts";
    sqlx::query_scalar(SQL).fetch_one(t).await
}

/// The rows a batch added. On SQLite, the ids after the largest one before the batch. On
/// PostgreSQL, the ids the insert returned: while a table grows fast its planner's statistics
/// lag, and it would scan the table for an id range.
enum NewRows {
    After(i64),
    Ids(Vec<i64>),
}

impl NewRows {
    /// The condition that `column` is a new row's id, with the ids as `$2`.
    fn is_new(&self, column: &str) -> String {
        match self {
            NewRows::After(_) => format!("{column} > $2"),
            NewRows::Ids(_) => format!("{column} = ANY($2)"),
        }
    }
}

/// Run `$query` (a `sqlx::query…` with the program bound as `$1`) with the new rows bound as `$2`
/// and then `$rest`, on the transaction's connection.
macro_rules! with_new_rows {
    ($tx:expr, $new:expr, $query:expr, |$q:ident| $rest:expr) => {
        match ($tx, $new) {
            (Tx::Sqlite(t), NewRows::After(after)) => {
                let $q = $query.bind(*after);
                let t = &mut **t;
                $rest(t).await
            }
            (Tx::Pg(t), NewRows::Ids(ids)) => {
                let $q = $query.bind(ids.clone());
                let t = &mut **t;
                $rest(t).await
            }
            _ => Err(sqlx::Error::Protocol("new rows of another backend".into())),
        }
    };
}

/// Insert contacts new to the database and add their shares to the rollups.
async fn add_fresh(
    tx: &mut Tx,
    program: ProgramId,
    (job, at): (i64, Timestamp),
    fresh: &[&Prepared],
    settings: &KpiSettings,
    recent: &mut RecentContacts,
) -> Result<(), sqlx::Error> {
    let settled = repeats::settle(tx, program, fresh, settings.fcr_days, recent).await?;
    let mut cal = rollup::calendar(tx, program).await?;
    // On SQLite the shares are counted on a second thread while the contacts are inserted.
    let mut count = || count_fresh(&mut cal, fresh, &settled, settings);
    let (new, ids, (mut rows, backlog)) = match tx {
        Tx::Sqlite(t) => {
            let after = last_id(t).await?;
            let (ids, counted) =
                sqlite_bulk::insert(t, program, (job, at), (fresh, &settled.repeats), count)
                    .await?;
            (NewRows::After(after), ids, counted)
        }
        Tx::Pg(t) => {
            let counted = count();
            let ids = insert_pg(t, program, job, at, fresh, &settled.repeats).await?;
            (NewRows::Ids(ids.clone()), ids, counted)
        }
    };
    recent.add_new(fresh, &ids, &settled.repeats);
    recent.mark_repeats(&settled.lost);
    // Earlier contacts that now have a repeat lose their first-contact resolution.
    let lost: Vec<i64> = settled.lost.iter().map(|n| n.id).collect();
    repeats::set_repeats(tx, &lost, true).await?;
    let surveys = surveys_of_new(tx, program, &new).await?;
    for p in fresh {
        let c = &p.contact;
        if let Some(s) = surveys.get(&c.external_id) {
            let at = (
                c.arrived_ms,
                c.channel.as_str(),
                c.queue.as_str(),
                c.agent.as_str(),
            );
            rollup::add_answer(&mut rows, &mut cal, at, *s, None);
        }
    }
    backlog::add(tx, program, &backlog).await?;
    rollup::add(tx, program, &rows).await
}

/// What new contacts add to the rollups (survey answers stored before them aside) and to the
/// backlog, less the first-contact resolutions their customers' earlier contacts lose.
fn count_fresh(
    cal: &mut Calendar,
    fresh: &[&Prepared],
    settled: &Settled,
    settings: &KpiSettings,
) -> (BTreeMap<Key, Delta>, backlog::Deltas) {
    let mut deltas = Deltas::default();
    for n in &settled.lost {
        if Outcome::parse(&n.outcome).is_ok_and(Outcome::is_answered) {
            let at = (
                n.arrived_at,
                n.channel.as_str(),
                n.queue.as_str(),
                n.agent.as_str(),
            );
            deltas.each(cal, at, |d| d.removed.fcr.resolved += 1);
        }
    }
    let mut backlog = backlog::Deltas::default();
    for (p, repeat) in fresh.iter().zip(&settled.repeats) {
        if let Some(stay) = p.backlog_stay() {
            backlog.count(cal, &stay, 1);
        }
        let c = &p.contact;
        let facts = ContactFacts {
            channel: c.channel,
            outcome: c.outcome,
            wait_s: c.wait_s,
            first_response_s: c.first_response_s,
            talk_s: c.talk_s,
            hold_s: c.hold_s,
            acw_s: c.acw_s,
        };
        let repeat = *repeat;
        let at = (
            c.arrived_ms,
            c.channel.as_str(),
            c.queue.as_str(),
            c.agent.as_str(),
        );
        let customer = !p.customer_ref.is_empty();
        deltas.each(cal, at, |d| {
            d.totals
                .add_contact(&facts, customer, repeat, None, settings)
        });
    }
    (deltas.into_sorted(), backlog)
}

// `+column` keeps SQLite's planner from reading the program's rows through an index on the
// program: the new rows are found by their ids.

/// Survey answers that arrived before their contact, for the new rows, by external id.
async fn surveys_of_new(
    tx: &mut Tx,
    program: ProgramId,
    new: &NewRows,
) -> Result<HashMap<String, SurveyShare>, sqlx::Error> {
    const ANY: &str = "SELECT 1 FROM surveys WHERE program_id = $1 LIMIT 1";
    let sql = format!(
        "SELECT c.external_id, s.csat, s.nps, s.rq FROM contacts c \
        JOIN surveys s ON s.program_id = c.program_id AND s.contact_external_id = c.external_id \
        WHERE +c.program_id = $1 AND {}",
        new.is_new("c.id")
    );
    let any: Option<i32> =
        on_tx!(tx, t => sqlx::query_scalar(ANY).bind(program).fetch_optional(t).await)?;
    if any.is_none() {
        return Ok(HashMap::new());
    }
    let rows: Vec<SurveyOfNew> =
        with_new_rows!(tx, new, sqlx::query_as(&sql).bind(program), |q| |t| q
            .fetch_all(t))?;
    Ok(rows.into_iter().map(|r| (r.external_id, r.share)).collect())
}

#[derive(sqlx::FromRow)]
struct SurveyOfNew {
    external_id: String,
    #[sqlx(flatten)]
    share: SurveyShare,
}

/// The columns [`insert_pg`] copies a new contact's values into, in the order it writes them:
/// the id, then those of [`store::new_contact_columns`].
fn copied() -> Vec<&'static str> {
    std::iter::once("id")
        .chain(store::new_contact_columns())
        .collect()
}

/// Insert on PostgreSQL: ids drawn from the table's sequence in one statement, then the rows
/// with them in one binary `COPY`. Returns the new ids in the order of `fresh`.
async fn insert_pg(
    t: &mut sqlx::PgConnection,
    program: ProgramId,
    job: i64,
    at: Timestamp,
    fresh: &[&Prepared],
    repeats: &[Option<bool>],
) -> Result<Vec<i64>, sqlx::Error> {
    // The identity column's sequence by its name: looking it up by the column takes longer
    // for each id than drawing the id.
    const IDS: &str = "SELECT nextval('contacts_id_seq') FROM generate_series(1, $1)";
    let columns = copied();
    let copy = format!(
        "COPY contacts ({}) FROM STDIN (FORMAT binary)",
        columns.join(", ")
    );
    let ids: Vec<i64> = sqlx::query_scalar(IDS)
        .bind(fresh.len() as i64)
        .fetch_all(&mut *t)
        .await?;
    // About 300 bytes a contact without transcript, in binary form.
    let mut rows = CopyRows::new(columns.len() as i16, fresh.len() * 320);
    for ((p, id), repeat) in fresh.iter().zip(&ids).zip(repeats) {
        let k = &p.contact;
        rows.row()
            .int(*id)
            .int(program.0)
            .text(&k.external_id)
            .text(k.channel.as_str())
            .text(&k.queue)
            .text(&k.agent)
            .text(&p.customer_ref)
            .text_or_null(k.reason.as_deref())
            .text(k.direction.as_str())
            .int(k.arrived_ms)
            .int_or_null(k.answered_ms)
            .int_or_null(k.ended_ms)
            .int(k.wait_s.into())
            .int(k.talk_s.into())
            .int(k.hold_s.into())
            .int(k.acw_s.into())
            .int_or_null(k.first_response_s.map(i64::from))
            .text(k.outcome.as_str())
            .bool_or_null(k.resolved)
            .text_or_null(k.recording_url.as_deref())
            .text_or_null(p.transcript_json().as_deref())
            .text_or_null(p.attributes_json().as_deref())
            .text(&p.hash)
            .int(job)
            .int(at)
            .bool_or_null(*repeat);
    }
    rows.copy(t, &copy).await?;
    Ok(ids)
}

/// Update changed contacts, then recount first-contact resolution for their customers and the
/// rollup rows of their old and new intervals from the raw rows.
async fn update_changed(
    tx: &mut Tx,
    program: ProgramId,
    job: i64,
    at: Timestamp,
    changed: &[(&Prepared, &Existing)],
    settings: &KpiSettings,
) -> Result<(), sqlx::Error> {
    let mut arrivals = BTreeSet::new();
    let mut customers = BTreeSet::new();
    let (mut since, mut until) = (i64::MAX, i64::MIN);
    let mut cal = rollup::calendar(tx, program).await?;
    let mut backlog = backlog::Deltas::default();
    for (p, old) in changed {
        if let Some(stay) = backlog::stored_stay(tx, program, &p.contact.external_id).await? {
            backlog.count(&mut cal, &stay, -1);
        }
        if let Some(stay) = p.backlog_stay() {
            backlog.count(&mut cal, &stay, 1);
        }
        for (arrived, customer) in [
            (old.arrived_at, old.customer_ref.as_str()),
            (p.contact.arrived_ms, p.customer_ref.as_str()),
        ] {
            arrivals.insert(arrived);
            if !customer.is_empty() {
                customers.insert(customer.to_owned());
            }
            since = since.min(arrived);
            until = until.max(arrived);
        }
        store::update_contact(tx, program, job, at, p).await?;
    }
    let flipped =
        rollup::refresh_fcr(tx, program, &customers, since, until, settings.fcr_days).await?;
    arrivals.extend(flipped);
    backlog::add(tx, program, &backlog).await?;
    let days = days_of(&mut cal, arrivals);
    rollup::recount_days(tx, program, &mut cal, &days, settings).await
}
