//! The bulk steps of an import on SQLite, run as prepared statements straight on the connection
//! sqlx holds, inside its open transaction. Through sqlx every statement is a round trip to the
//! connection's worker thread; here a row costs one bind and one step.

use std::collections::HashMap;

use sqlx::sqlite::SqliteConnection;

use super::bulk::Existing;
use super::repeats::{Neighbour, Window};
use super::rollup::{Delta, Key, RollupRow, measures};
use super::store::Prepared;
use crate::domain::{ProgramId, Timestamp};

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

/// Insert contacts new to the database; returns their ids, in order.
pub async fn insert(
    conn: &mut SqliteConnection,
    program: ProgramId,
    job: i64,
    at: Timestamp,
    fresh: &[&Prepared],
    repeats: &[Option<bool>],
) -> Result<Vec<i64>, sqlx::Error> {
    const SQL: &str = "INSERT INTO contacts (program_id, import_id, imported_at, external_id, channel, queue, \
        agent, customer_ref, reason, direction, arrived_at, answered_at, ended_at, wait_s, talk_s, hold_s, acw_s, \
        first_response_s, outcome, resolved, recording_url, transcript, attributes, row_hash, fcr_repeat) \
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, \
        ?22, ?23, ?24, ?25)";
    with_connection(conn, |c| {
        let mut stmt = c.prepare_cached(SQL)?;
        let mut ids = Vec::with_capacity(fresh.len());
        for (p, repeat) in fresh.iter().zip(repeats) {
            let k = &p.contact;
            stmt.execute(rusqlite::params![
                program.0,
                job,
                at,
                k.external_id,
                k.channel.as_str(),
                k.queue,
                k.agent,
                p.customer_ref,
                k.reason,
                k.direction.as_str(),
                k.arrived_ms,
                k.answered_ms,
                k.ended_ms,
                k.wait_s,
                k.talk_s,
                k.hold_s,
                k.acw_s,
                k.first_response_s,
                k.outcome.as_str(),
                k.resolved,
                k.recording_url,
                p.transcript_json(),
                p.attributes_json(),
                p.hash,
                repeat,
            ])?;
            ids.push(c.last_insert_rowid());
        }
        Ok(ids)
    })
    .await
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
            each(Neighbour {
                id: r.get(0)?,
                customer_ref: r.get(1)?,
                arrived_at: r.get(2)?,
                reason: r.get(3)?,
                fcr_repeat: r.get(4)?,
                outcome: r.get(5)?,
                channel: r.get(6)?,
                queue: r.get(7)?,
                agent: r.get(8)?,
            });
        }
        Ok(())
    })
    .await
}

/// Write rollup rows with `sql`, which takes the program, the key and the measures.
pub async fn write_rollups(
    conn: &mut SqliteConnection,
    sql: &str,
    program: ProgramId,
    rows: &[(&Key, &Delta)],
) -> Result<(), sqlx::Error> {
    with_connection(conn, |c| {
        let mut stmt = c.prepare_cached(sql)?;
        for (k, d) in rows {
            let m = measures(d);
            let (side, grain) = (k.side.as_str(), k.grain.as_str());
            let mut values: Vec<&dyn rusqlite::ToSql> =
                vec![&program.0, &side, &grain, &k.period, &k.channel, &k.name];
            values.extend(m.iter().map(|v| v as &dyn rusqlite::ToSql));
            stmt.execute(values.as_slice())?;
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
    const SQL: &str = "SELECT id, arrived_at, reason, fcr_repeat, outcome, channel, queue, agent FROM contacts \
        WHERE program_id = ?1 AND arrived_at / 604800000 = ?2 AND customer_ref = ?3 \
        AND arrived_at >= ?4 AND arrived_at <= ?5";
    with_connection(conn, |c| {
        let mut stmt = c.prepare_cached(SQL)?;
        let mut out = Vec::new();
        for w in windows {
            for week in w.weeks() {
                let args = rusqlite::params![program.0, week, w.customer, w.from, w.to];
                let mut rows = stmt.query(args)?;
                while let Some(r) = rows.next()? {
                    out.push(Neighbour {
                        id: r.get(0)?,
                        customer_ref: w.customer.to_owned(),
                        arrived_at: r.get(1)?,
                        reason: r.get(2)?,
                        fcr_repeat: r.get(3)?,
                        outcome: r.get(4)?,
                        channel: r.get(5)?,
                        queue: r.get(6)?,
                        agent: r.get(7)?,
                    });
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

/// A statement prepared and stepped through SQLite's own interface, for reads of many rows of
/// integers and text.
mod raw {
    use std::ffi::{c_char, c_int};
    use std::ptr::NonNull;

    use rusqlite::ffi;

    pub struct Statement<'c> {
        stmt: NonNull<ffi::sqlite3_stmt>,
        db: *mut ffi::sqlite3,
        columns: usize,
        _conn: std::marker::PhantomData<&'c rusqlite::Connection>,
    }

    impl<'c> Statement<'c> {
        pub fn prepare(conn: &'c rusqlite::Connection, sql: &str) -> rusqlite::Result<Self> {
            let len = c_int::try_from(sql.len()).map_err(|_| rusqlite::Error::InvalidQuery)?;
            // SAFETY: the handle is open for as long as `conn` is borrowed, and SQLite reads
            // exactly `len` bytes of `sql`.
            unsafe {
                let db = conn.handle();
                let mut stmt = std::ptr::null_mut();
                let rc = ffi::sqlite3_prepare_v2(
                    db,
                    sql.as_ptr().cast::<c_char>(),
                    len,
                    &mut stmt,
                    std::ptr::null_mut(),
                );
                check(db, rc)?;
                let stmt = NonNull::new(stmt).ok_or(rusqlite::Error::InvalidQuery)?;
                let columns = ffi::sqlite3_column_count(stmt.as_ptr());
                Ok(Self {
                    stmt,
                    db,
                    columns: usize::try_from(columns).unwrap_or(0),
                    _conn: std::marker::PhantomData,
                })
            }
        }

        pub fn bind_i64(&mut self, i: c_int, v: i64) -> rusqlite::Result<()> {
            // SAFETY: a live statement; SQLite checks the index.
            let rc = unsafe { ffi::sqlite3_bind_int64(self.stmt.as_ptr(), i, v) };
            check(self.db, rc)
        }

        pub fn bind_text(&mut self, i: c_int, v: &str) -> rusqlite::Result<()> {
            let len = c_int::try_from(v.len()).map_err(|_| rusqlite::Error::InvalidQuery)?;
            // SAFETY: a live statement; SQLITE_TRANSIENT makes SQLite copy the text at once.
            let rc = unsafe {
                ffi::sqlite3_bind_text(
                    self.stmt.as_ptr(),
                    i,
                    v.as_ptr().cast::<c_char>(),
                    len,
                    ffi::SQLITE_TRANSIENT(),
                )
            };
            check(self.db, rc)
        }

        pub fn column_count(&self) -> usize {
            self.columns
        }

        /// Move to the next row: `false` when there is none.
        pub fn step(&mut self) -> rusqlite::Result<bool> {
            // SAFETY: a live statement.
            match unsafe { ffi::sqlite3_step(self.stmt.as_ptr()) } {
                ffi::SQLITE_ROW => Ok(true),
                ffi::SQLITE_DONE => Ok(false),
                rc => check(self.db, rc).map(|()| false),
            }
        }

        /// An integer column of the current row (SQLite converts other types; the
        /// rollups' columns are NOT NULL integers).
        pub fn i64(&self, i: usize) -> rusqlite::Result<i64> {
            let col = self.index(i)?;
            // SAFETY: a live statement on a row, the index within its columns.
            Ok(unsafe { ffi::sqlite3_column_int64(self.stmt.as_ptr(), col) })
        }

        /// A text column of the current row, valid until the next step (NULL reads as "").
        pub fn text(&self, i: usize) -> rusqlite::Result<&str> {
            let col = self.index(i)?;
            // SAFETY: a live statement on a row, the index within its columns; the text stays
            // valid until the statement steps or is finalized, which needs `&mut self`.
            let bytes = unsafe {
                let p = ffi::sqlite3_column_text(self.stmt.as_ptr(), col);
                let n = ffi::sqlite3_column_bytes(self.stmt.as_ptr(), col);
                match (p.is_null(), usize::try_from(n)) {
                    (false, Ok(n)) => std::slice::from_raw_parts(p, n),
                    _ => &[],
                }
            };
            std::str::from_utf8(bytes).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into())
            })
        }

        fn index(&self, i: usize) -> rusqlite::Result<c_int> {
            match c_int::try_from(i) {
                Ok(col) if i < self.columns => Ok(col),
                _ => Err(rusqlite::Error::InvalidColumnIndex(i)),
            }
        }
    }

    impl Drop for Statement<'_> {
        fn drop(&mut self) {
            // SAFETY: finalized once, here.
            unsafe { ffi::sqlite3_finalize(self.stmt.as_ptr()) };
        }
    }

    /// An error for a result code other than OK, with SQLite's message.
    fn check(db: *mut ffi::sqlite3, rc: c_int) -> rusqlite::Result<()> {
        if rc == ffi::SQLITE_OK {
            return Ok(());
        }
        // SAFETY: the connection is open; the message is copied before any other call.
        let msg = unsafe {
            let m = ffi::sqlite3_errmsg(db);
            (!m.is_null()).then(|| std::ffi::CStr::from_ptr(m).to_string_lossy().into_owned())
        };
        Err(rusqlite::Error::SqliteFailure(ffi::Error::new(rc), msg))
    }
}

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
    use super::raw::Statement;

    #[test]
    fn raw_statement_reads_rows_and_reports_errors() {
        let c = rusqlite::Connection::open_in_memory().unwrap();
        c.execute_batch(
            "CREATE TABLE t (n INTEGER, s TEXT); \
             INSERT INTO t VALUES (1, 'ä'), (2, CAST(x'ff' AS TEXT)), (3, NULL);",
        )
        .unwrap();
        let mut st = Statement::prepare(&c, "SELECT n, s FROM t WHERE n >= ?1 ORDER BY n").unwrap();
        st.bind_i64(1, 1).unwrap();
        assert_eq!(st.column_count(), 2);
        assert!(st.step().unwrap());
        assert_eq!((st.i64(0).unwrap(), st.text(1).unwrap()), (1, "ä"));
        assert!(matches!(
            st.i64(2),
            Err(rusqlite::Error::InvalidColumnIndex(2))
        ));
        assert!(st.step().unwrap());
        // Not UTF-8: an error naming the column, not a panic.
        assert!(matches!(
            st.text(1),
            Err(rusqlite::Error::FromSqlConversionFailure(1, _, _))
        ));
        assert!(st.step().unwrap());
        assert_eq!(st.text(1).unwrap(), "");
        assert!(!st.step().unwrap());

        let err = Statement::prepare(&c, "SELECT nope FROM t").err().unwrap();
        assert!(err.to_string().contains("no such column: nope"), "{err}");
        let mut st = Statement::prepare(&c, "SELECT ?1").unwrap();
        assert!(st.bind_text(2, "x").is_err());
    }
}
