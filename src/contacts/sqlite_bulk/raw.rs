//! A statement prepared and stepped through SQLite's own interface, for reads of many rows of
//! integers and text, and for writes of many values that SQLite reads where they are instead
//! of copying each one.

use std::ffi::{c_char, c_int};
use std::ptr::NonNull;

use rusqlite::ffi;

/// A value to bind for one execution.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    Null,
    Int(i64),
    Text(&'a str),
}

impl<'a> Value<'a> {
    pub fn text(t: Option<&'a str>) -> Self {
        t.map_or(Value::Null, Value::Text)
    }

    pub fn int(n: Option<i64>) -> Self {
        n.map_or(Value::Null, Value::Int)
    }
}

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

    /// Bind `values` to `?1`, `?2`, … in order, run the statement (a write) to its end and
    /// reset it. Texts are bound where they lie, not copied; the bindings are cleared before
    /// this returns, so SQLite keeps no pointer into `values`.
    pub fn execute(&mut self, values: &[Value<'_>]) -> rusqlite::Result<()> {
        let result = self.bind_all(values).and_then(|()| self.step().map(|_| ()));
        // SAFETY: a live statement; after these two calls it refers to none of the values.
        unsafe {
            ffi::sqlite3_reset(self.stmt.as_ptr());
            ffi::sqlite3_clear_bindings(self.stmt.as_ptr());
        }
        result
    }

    fn bind_all(&mut self, values: &[Value<'_>]) -> rusqlite::Result<()> {
        for (i, v) in values.iter().enumerate() {
            let i = c_int::try_from(i + 1).map_err(|_| rusqlite::Error::InvalidQuery)?;
            let stmt = self.stmt.as_ptr();
            // SAFETY: a live statement; SQLite checks the index. SQLITE_STATIC text is read
            // where it lies until `execute` clears the bindings, while `values` is borrowed.
            let rc = unsafe {
                match *v {
                    Value::Null => ffi::sqlite3_bind_null(stmt, i),
                    Value::Int(n) => ffi::sqlite3_bind_int64(stmt, i, n),
                    Value::Text(t) => {
                        let len =
                            c_int::try_from(t.len()).map_err(|_| rusqlite::Error::InvalidQuery)?;
                        ffi::sqlite3_bind_text(
                            stmt,
                            i,
                            t.as_ptr().cast::<c_char>(),
                            len,
                            ffi::SQLITE_STATIC(),
                        )
                    }
                }
            };
            check(self.db, rc)?;
        }
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::{Statement, Value};

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

        // Borrowed values written, then a constraint's error with the statement still usable.
        c.execute_batch("CREATE TABLE w (n INTEGER NOT NULL, s TEXT)")
            .unwrap();
        let mut ins = Statement::prepare(&c, "INSERT INTO w VALUES (?1, ?2), (?3, ?4)").unwrap();
        let text = String::from("borrowed");
        ins.execute(&[
            Value::Int(7),
            Value::Text(&text),
            Value::Int(8),
            Value::Null,
        ])
        .unwrap();
        drop(text);
        let err = ins
            .execute(&[Value::Null, Value::Null, Value::Int(9), Value::Null])
            .unwrap_err();
        assert!(
            err.to_string().contains("NOT NULL constraint failed: w.n"),
            "{err}"
        );
        ins.execute(&[
            Value::Int(9),
            Value::text(Some("x")),
            Value::int(None),
            Value::Null,
        ])
        .unwrap_err();
        ins.execute(&[
            Value::Int(9),
            Value::text(Some("x")),
            Value::Int(10),
            Value::text(None),
        ])
        .unwrap();
        let rows: Vec<(i64, Option<String>)> = c
            .prepare("SELECT n, s FROM w ORDER BY n")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let want = [(7, Some("borrowed")), (8, None), (9, Some("x")), (10, None)];
        assert_eq!(rows, want.map(|(n, s)| (n, s.map(String::from))));

        let err = Statement::prepare(&c, "SELECT nope FROM t").err().unwrap();
        assert!(err.to_string().contains("no such column: nope"), "{err}");
        let mut st = Statement::prepare(&c, "SELECT ?1").unwrap();
        assert!(st.bind_text(2, "x").is_err());
    }
}
