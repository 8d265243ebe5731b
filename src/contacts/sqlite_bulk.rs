//! The bulk steps of an import on SQLite, run as prepared statements straight on the connection
//! sqlx holds, inside its open transaction. Through sqlx every statement is a round trip to the
//! connection's worker thread; here a row costs one bind and one step.

use std::collections::HashMap;

use sqlx::sqlite::SqliteConnection;

use super::bulk::Existing;
use super::repeats::{Neighbour, Window};
use super::rollup::{Delta, Key, RollupRow, measures};
use super::store::{self, Prepared};
use crate::domain::{ProgramId, Timestamp};
use raw::Value;

/// Run `work` on the transaction's own SQLite connection.
async fn with_connection<R>(
    conn: &mut SqliteConnection,
    work: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<R>,
) -> Result<R, sqlx::Error> {
    let mut handle = conn.lock_handle().await?;
    let raw = handle.as_raw_handle();
    // SAFETY: the handle is locked away from sqlx's worker until `handle` drops, after `work`
    // has returned and `direct` (which does not own the handle, so never closes it) has been
    // dropped. Both crates link the same libsqlite3-sys. `work` runs synchronously within this
    // poll, so a cancelled future cannot leave it running.
    let direct = unsafe { rusqlite::Connection::from_handle(raw.as_ptr()) }.map_err(to_sqlx)?;
    let run = || work(&direct);
    let result = match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(run),
        _ => run(),
    };
    drop(direct);
    drop(handle);
    result.map_err(to_sqlx)
}

fn to_sqlx(e: rusqlite::Error) -> sqlx::Error {
    sqlx::Error::Protocol(format!("sqlite: {e}"))
}

/// The stored versions of the contacts `ids`, by external id.
pub async fn existing(
    conn: &mut SqliteConnection,
    program: ProgramId,
    ids: &[&str],
) -> Result<HashMap<String, Existing>, sqlx::Error> {
    const SQL: &str = "SELECT row_hash, arrived_at, customer_ref FROM contacts \
                       WHERE program_id = ?1 AND external_id = ?2";
    with_connection(conn, |c| {
        let mut found = HashMap::new();
        let mut stmt = c.prepare_cached(SQL)?;
        for id in ids {
            let mut rows = stmt.query(rusqlite::params![program.0, id])?;
            if let Some(r) = rows.next()? {
                let e = Existing {
                    hash: r.get(0)?,
                    arrived_at: r.get(1)?,
                    customer_ref: r.get(2)?,
                };
                found.insert((*id).to_owned(), e);
            }
        }
        Ok(found)
    })
    .await
}

/// `VALUES (?1, …, ?width), (…), …`: `rows` rows of `width` parameters, numbered in order.
fn values_rows(width: usize, rows: usize) -> String {
    let row = |r: usize| {
        let params: Vec<String> = (1..=width).map(|c| format!("?{}", r * width + c)).collect();
        format!("({})", params.join(", "))
    };
    let all: Vec<String> = (0..rows).map(row).collect();
    format!("VALUES {}", all.join(", "))
}

/// Values bound for each contact: those of [`store::new_contact_columns`], in their order.
const CONTACT_WIDTH: usize = store::COLUMNS.len() + 1;

/// Contacts written by one statement. Each statement costs a reset, a bind of every value and
/// the start of a program run; fifty rows to a statement cost a fifth less per contact than one.
/// `OR FAIL` (and no foreign key on the table: migration 0021) lets SQLite write them without a
/// statement journal: a row that fails stops the statement and the batch's transaction is rolled
/// back whole.
const CONTACTS_PER_STATEMENT: usize = 50;

fn insert_contacts_sql(rows: usize) -> String {
    format!(
        "INSERT OR FAIL INTO contacts ({}) {}",
        store::new_contact_columns().collect::<Vec<_>>().join(", "),
        values_rows(CONTACT_WIDTH, rows)
    )
}

/// Insert contacts new to the database, and meanwhile run `beside` on a thread of its own (the
/// connection's thread writes while the other core counts); returns the new ids, in order, and
/// what `beside` returned.
pub async fn insert<R: Send>(
    conn: &mut SqliteConnection,
    program: ProgramId,
    (job, at): (i64, Timestamp),
    (fresh, repeats): (&[&Prepared], &[Option<bool>]),
    beside: impl FnOnce() -> R + Send,
) -> Result<(Vec<i64>, R), sqlx::Error> {
    with_connection(conn, |c| {
        std::thread::scope(|s| {
            let other = s.spawn(beside);
            let ids = insert_rows(c, program, (job, at), fresh, repeats);
            let beside = other
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            Ok((ids?, beside))
        })
    })
    .await
}

/// Insert `fresh` with their first-contact flags, fifty to a statement; returns their ids.
fn insert_rows(
    c: &rusqlite::Connection,
    program: ProgramId,
    (job, at): (i64, Timestamp),
    fresh: &[&Prepared],
    repeats: &[Option<bool>],
) -> rusqlite::Result<Vec<i64>> {
    let mut full = raw::Statement::prepare(c, &insert_contacts_sql(CONTACTS_PER_STATEMENT))?;
    let mut ids = Vec::with_capacity(fresh.len());
    for (rows, repeats) in fresh
        .chunks(CONTACTS_PER_STATEMENT)
        .zip(repeats.chunks(CONTACTS_PER_STATEMENT))
    {
        let texts: Vec<(Option<String>, Option<String>)> = rows
            .iter()
            .map(|p| (p.transcript_json(), p.attributes_json()))
            .collect();
        let mut values = Vec::with_capacity(CONTACT_WIDTH * rows.len());
        for ((p, repeat), (transcript, attributes)) in rows.iter().zip(repeats).zip(&texts) {
            let k = &p.contact;
            // As many as the statement has columns, or this does not compile.
            let row: [Value; CONTACT_WIDTH] = [
                Value::Int(program.0),
                Value::Text(&k.external_id),
                Value::Text(k.channel.as_str()),
                Value::Text(&k.queue),
                Value::Text(&k.agent),
                Value::Text(&p.customer_ref),
                Value::text(k.reason.as_deref()),
                Value::Text(k.direction.as_str()),
                Value::Int(k.arrived_ms),
                Value::int(k.answered_ms),
                Value::int(k.ended_ms),
                Value::Int(k.wait_s.into()),
                Value::Int(k.talk_s.into()),
                Value::Int(k.hold_s.into()),
                Value::Int(k.acw_s.into()),
                Value::int(k.first_response_s.map(i64::from)),
                Value::Text(k.outcome.as_str()),
                Value::int(k.resolved.map(i64::from)),
                Value::text(k.recording_url.as_deref()),
                Value::text(transcript.as_deref()),
                Value::text(attributes.as_deref()),
                Value::Text(&p.hash),
                Value::Int(job),
                Value::Int(at),
                Value::int(repeat.map(i64::from)),
            ];
            values.extend(row);
        }
        if rows.len() == CONTACTS_PER_STATEMENT {
            full.execute(&values)?;
        } else {
            raw::Statement::prepare(c, &insert_contacts_sql(rows.len()))?.execute(&values)?;
        }
        // One statement's rows take consecutive ids: each new row of a table with
        // AUTOINCREMENT gets one more than the largest id so far, and nothing else writes
        // to the table in between.
        let last = c.last_insert_rowid();
        let count = i64::try_from(rows.len()).unwrap_or(i64::MAX);
        ids.extend(last - count + 1..=last);
    }
    Ok(ids)
}

/// A contact read as `id, customer_ref, arrived_at, reason, fcr_repeat, outcome, channel, queue,
/// agent`.
fn neighbour(r: &rusqlite::Row) -> rusqlite::Result<Neighbour> {
    Ok(Neighbour {
        id: r.get(0)?,
        customer_ref: r.get(1)?,
        arrived_at: r.get(2)?,
        reason: r.get(3)?,
        fcr_repeat: r.get(4)?,
        outcome: r.get(5)?,
        channel: r.get(6)?,
        queue: r.get(7)?,
        agent: r.get(8)?,
    })
}

/// Hand the stored contacts with a customer that arrived within `[from, to]` to `each`, at
/// most `limit` of them, read along the arrival index.
pub async fn contacts_between(
    conn: &mut SqliteConnection,
    program: ProgramId,
    (from, to): (i64, i64),
    limit: i64,
    each: &mut (dyn FnMut(Neighbour) + Send),
) -> Result<(), sqlx::Error> {
    const SQL: &str = "SELECT id, customer_ref, arrived_at, reason, fcr_repeat, outcome, channel, queue, agent \
        FROM contacts INDEXED BY contacts_program_arrived \
        WHERE program_id = ?1 AND arrived_at >= ?2 AND arrived_at <= ?3 AND customer_ref <> '' LIMIT ?4";
    with_connection(conn, |c| {
        let mut stmt = c.prepare_cached(SQL)?;
        let mut rows = stmt.query(rusqlite::params![program.0, from, to, limit])?;
        while let Some(r) = rows.next()? {
            each(neighbour(r)?);
        }
        Ok(())
    })
    .await
}

/// Write rollup rows with `sql(values)`, the statement for a `VALUES` clause of rows of the
/// program, the key and the measures.
pub async fn write_rollups(
    conn: &mut SqliteConnection,
    sql: &(dyn Fn(&str) -> String + Sync),
    program: ProgramId,
    rows: &[(&Key, &Delta)],
) -> Result<(), sqlx::Error> {
    const WIDTH: usize = 6 + 26;
    with_connection(conn, |c| {
        let mut write = raw::Statement::prepare(c, &sql(&values_rows(WIDTH, 1)))?;
        let mut values = Vec::with_capacity(WIDTH);
        for (k, d) in rows {
            values.clear();
            values.extend([
                Value::Int(program.0),
                Value::Text(k.side.as_str()),
                Value::Text(k.grain.as_str()),
                Value::Int(k.period),
                Value::Text(&k.channel),
                Value::Text(&k.name),
            ]);
            values.extend(measures(d).map(Value::Int));
            write.execute(&values)?;
        }
        Ok(())
    })
    .await
}

/// The stored contacts of each window's customer that arrived within it, one index probe per
/// customer and week.
pub async fn neighbours(
    conn: &mut SqliteConnection,
    program: ProgramId,
    windows: &[Window<'_>],
) -> Result<Vec<Neighbour>, sqlx::Error> {
    const SQL: &str = "SELECT id, customer_ref, arrived_at, reason, fcr_repeat, outcome, channel, queue, agent \
        FROM contacts WHERE program_id = ?1 AND arrived_at / 604800000 = ?2 AND customer_ref = ?3 \
        AND arrived_at >= ?4 AND arrived_at <= ?5";
    with_connection(conn, |c| {
        let mut stmt = c.prepare_cached(SQL)?;
        let mut out = Vec::new();
        for w in windows {
            for week in w.weeks() {
                let args = rusqlite::params![program.0, week, w.customer, w.from, w.to];
                let mut rows = stmt.query(args)?;
                while let Some(r) = rows.next()? {
                    out.push(neighbour(r)?);
                }
            }
        }
        Ok(out)
    })
    .await
}

/// Flag the contacts `ids` as repeats or not.
pub async fn set_repeats(
    conn: &mut SqliteConnection,
    ids: &[i64],
    repeat: bool,
) -> Result<(), sqlx::Error> {
    with_connection(conn, |c| {
        let mut stmt = c.prepare_cached("UPDATE contacts SET fcr_repeat = ?1 WHERE id = ?2")?;
        for id in ids {
            stmt.execute(rusqlite::params![repeat, id])?;
        }
        Ok(())
    })
    .await
}

/// Read rollup rows with `sql`, which selects the period, channel, name and the measures, and
/// hand them to `each` one at a time (in one reused row).
///
/// A year by agent and week is about fifteen thousand rows of 29 columns. Through rusqlite's
/// rows each integer costs a type check, a bounds check and an error mapping around the one
/// call that reads it, more than SQLite's own work on the row; here each is that one call.
pub async fn read_rollups(
    conn: &mut SqliteConnection,
    sql: &str,
    args: (i64, &str, &str, i64, i64),
    each: &mut (dyn FnMut(&RollupRow) + Send),
) -> Result<(), sqlx::Error> {
    with_connection(conn, |c| {
        let mut stmt = raw::Statement::prepare(c, sql)?;
        stmt.bind_i64(1, args.0)?;
        stmt.bind_text(2, args.1)?;
        stmt.bind_text(3, args.2)?;
        stmt.bind_i64(4, args.3)?;
        stmt.bind_i64(5, args.4)?;
        if stmt.column_count() != 3 + 26 {
            return Err(rusqlite::Error::InvalidColumnIndex(3 + 26));
        }
        let mut row = RollupRow {
            period: 0,
            channel: String::new(),
            name: String::new(),
            measures: [0; 26],
        };
        while stmt.step()? {
            row.period = stmt.i64(0)?;
            for (i, field) in [(1, &mut row.channel), (2, &mut row.name)] {
                field.clear();
                field.push_str(stmt.text(i)?);
            }
            for (i, v) in row.measures.iter_mut().enumerate() {
                *v = stmt.i64(i + 3)?;
            }
            each(&row);
        }
        Ok(())
    })
    .await
}

mod raw;

/// Read many rows of a query with three integer parameters, each turned into a `T` by `map`:
/// straight from the connection, as sqlx hands SQLite rows over one by one between threads.
pub async fn read_rows<T>(
    conn: &mut SqliteConnection,
    sql: &str,
    args: [i64; 3],
    map: fn(&rusqlite::Row) -> rusqlite::Result<T>,
) -> Result<Vec<T>, sqlx::Error> {
    with_connection(conn, |c| {
        let mut stmt = c.prepare_cached(sql)?;
        let rows = stmt.query_map(args, map)?;
        rows.collect()
    })
    .await
}

/// Give the connection a page cache of `kib` KiB. A batch works with 64 MiB and hands its
/// connection back to the pool with SQLite's default 2 MiB, so the pool's other connections do
/// not each keep a large cache.
pub async fn page_cache(conn: &mut SqliteConnection, kib: u32) -> Result<(), sqlx::Error> {
    with_connection(conn, |c| {
        c.execute_batch(&format!("PRAGMA cache_size = -{kib}"))
    })
    .await
}

/// The page cache of a connection storing a batch, and of one in the pool.
pub const BATCH_CACHE_KIB: u32 = 65_536;
pub const IDLE_CACHE_KIB: u32 = 2_000;

#[cfg(test)]
mod tests {
    #[test]
    fn rows_of_parameters_are_numbered_in_order() {
        assert_eq!(super::values_rows(3, 1), "VALUES (?1, ?2, ?3)");
        assert_eq!(
            super::values_rows(2, 3),
            "VALUES (?1, ?2), (?3, ?4), (?5, ?6)"
        );
    }
}
