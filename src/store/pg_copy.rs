//! Rows for PostgreSQL's `COPY … FROM STDIN (FORMAT binary)`: the bulk path into a table, with
//! none of an `INSERT`'s per-row work of unpacking parameter arrays. Each value goes as its
//! length and its bytes in PostgreSQL's binary form: `BIGINT` as eight bytes in network order,
//! `BOOLEAN` as one byte, `TEXT` as its UTF-8 bytes, NULL as length −1.

use sqlx::PgConnection;

/// The signature, flags and header extension length every binary `COPY` stream starts with.
const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// Rows of a fixed number of columns, written in binary `COPY` form.
pub struct CopyRows {
    bytes: Vec<u8>,
    columns: i16,
    rows: usize,
    /// Values still due in the current row.
    due: i16,
}

impl CopyRows {
    /// Rows of `columns` values each, room for `capacity` bytes.
    pub fn new(columns: i16, capacity: usize) -> Self {
        let mut bytes = Vec::with_capacity(capacity + HEADER.len() + 2);
        bytes.extend_from_slice(HEADER);
        CopyRows {
            bytes,
            columns,
            rows: 0,
            due: 0,
        }
    }

    /// Start the next row; its values follow, one call each, in the order of the columns.
    pub fn row(&mut self) -> &mut Self {
        debug_assert_eq!(self.due, 0, "the row before is short of values");
        self.bytes.extend_from_slice(&self.columns.to_be_bytes());
        self.due = self.columns;
        self.rows += 1;
        self
    }

    fn value(&mut self, bytes: &[u8]) -> &mut Self {
        self.due -= 1;
        let len = i32::try_from(bytes.len()).unwrap_or(i32::MAX);
        self.bytes.extend_from_slice(&len.to_be_bytes());
        self.bytes.extend_from_slice(bytes);
        self
    }

    /// NULL.
    pub fn null(&mut self) -> &mut Self {
        self.due -= 1;
        self.bytes.extend_from_slice(&(-1i32).to_be_bytes());
        self
    }

    /// A `BIGINT`.
    pub fn int(&mut self, v: i64) -> &mut Self {
        self.value(&v.to_be_bytes())
    }

    /// A `BIGINT` or NULL.
    pub fn int_or_null(&mut self, v: Option<i64>) -> &mut Self {
        match v {
            Some(v) => self.int(v),
            None => self.null(),
        }
    }

    /// A `TEXT`.
    pub fn text(&mut self, v: &str) -> &mut Self {
        self.value(v.as_bytes())
    }

    /// A `TEXT` or NULL.
    pub fn text_or_null(&mut self, v: Option<&str>) -> &mut Self {
        match v {
            Some(v) => self.text(v),
            None => self.null(),
        }
    }

    /// A `BOOLEAN` or NULL.
    pub fn bool_or_null(&mut self, v: Option<bool>) -> &mut Self {
        match v {
            Some(v) => self.value(&[u8::from(v)]),
            None => self.null(),
        }
    }

    /// The whole stream, with its trailer.
    fn finish(mut self) -> Vec<u8> {
        debug_assert_eq!(self.due, 0, "the last row is short of values");
        self.bytes.extend_from_slice(&(-1i16).to_be_bytes());
        self.bytes
    }

    /// Copy the rows with `statement` (a `COPY … FROM STDIN (FORMAT binary)`); returns how
    /// many rows PostgreSQL stored.
    pub async fn copy(self, t: &mut PgConnection, statement: &str) -> Result<u64, sqlx::Error> {
        let rows = self.rows as u64;
        let mut copy = t.copy_in_raw(statement).await?;
        if let Err(e) = copy.send(self.finish()).await {
            // Leave the connection out of copy mode before reporting the error.
            let _ = copy.abort(e.to_string()).await;
            return Err(e);
        }
        let stored = copy.finish().await?;
        if stored != rows {
            return Err(sqlx::Error::Protocol(format!(
                "COPY stored {stored} rows of {rows}"
            )));
        }
        Ok(stored)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes of two rows, as PostgreSQL's documentation of the binary format lays them out.
    #[test]
    fn rows_are_laid_out_as_postgresql_reads_them() {
        let mut rows = CopyRows::new(3, 0);
        rows.row().int(1).text("é\t").bool_or_null(Some(true));
        rows.row()
            .int_or_null(None)
            .text_or_null(None)
            .bool_or_null(Some(false));
        let mut want = b"PGCOPY\n\xff\r\n\0".to_vec();
        want.extend([0, 0, 0, 0, 0, 0, 0, 0]); // flags, header extension length
        want.extend([0, 3]); // three columns
        want.extend([0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1]);
        want.extend([0, 0, 0, 3, 0xc3, 0xa9, b'\t']);
        want.extend([0, 0, 0, 1, 1]);
        want.extend([0, 3]);
        want.extend([0xff; 4]);
        want.extend([0xff; 4]);
        want.extend([0, 0, 0, 1, 0]);
        want.extend([0xff, 0xff]); // trailer
        assert_eq!(rows.rows, 2);
        assert_eq!(rows.finish(), want);
    }
}
