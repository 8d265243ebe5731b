//! Writes whose outcome a transaction does not look at (a history entry, an audit record, the
//! rollup rows a change adds to). On SQLite each statement is a round trip to the connection's
//! thread while every other writer waits its turn; these wait instead for the transaction's
//! next statement or its commit, and go with it in one trip, in the order they were made. On
//! PostgreSQL they run at once. Either way the transaction sees them before its next statement,
//! and a failed one fails the commit.

use sqlx::Sqlite;
use sqlx::sqlite::SqliteArguments;

use crate::domain::{PersonId, ProgramId};

/// A value bound to a statement; a missing one keeps its type, which PostgreSQL needs.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Int(Option<i64>),
    Real(Option<f64>),
    Bool(Option<bool>),
    Text(Option<String>),
}

/// `From` a type and its `Option`, by a conversion of the value.
macro_rules! value_from {
    ($($variant:ident: $t:ty, |$v:ident| $conv:expr;)*) => {$(
        impl From<$t> for Value {
            fn from($v: $t) -> Self {
                Value::$variant(Some($conv))
            }
        }
        impl From<Option<$t>> for Value {
            fn from(v: Option<$t>) -> Self {
                Value::$variant(v.map(|$v| $conv))
            }
        }
    )*};
}

value_from! {
    Int: i64, |v| v;
    Real: f64, |v| v;
    Bool: bool, |v| v;
    Text: String, |v| v;
    Text: &str, |v| v.to_owned();
    Int: PersonId, |v| v.0;
    Int: ProgramId, |v| v.0;
}

/// Binds `values` in order to a query of either backend.
macro_rules! bind_all {
    ($query:expr, $values:expr) => {{
        let mut q = $query;
        for v in $values {
            q = match v {
                Value::Int(v) => q.bind(*v),
                Value::Real(v) => q.bind(*v),
                Value::Bool(v) => q.bind(*v),
                Value::Text(v) => q.bind(v.as_deref()),
            };
        }
        q
    }};
}
pub(crate) use bind_all;

/// Most values held before they are sent anyway, far within SQLite's limit of 32,766.
const MOST_VALUES: usize = 10_000;

/// Statements held on SQLite, their placeholders numbered on from those before them.
#[derive(Default)]
pub struct Held {
    sql: String,
    values: Vec<Value>,
}

impl Held {
    /// Holds `sql` with `values` for `$1`, `$2` …; `Err` when their numbers differ. `true` when
    /// so many values are held that they should go now.
    pub fn push(&mut self, sql: &str, values: Vec<Value>) -> Result<bool, sqlx::Error> {
        let (numbered, most) = number_on(sql, self.values.len());
        if most != values.len() {
            return Err(sqlx::Error::Protocol(format!(
                "{} values for a statement with placeholders up to ${most}: {sql}",
                values.len()
            )));
        }
        self.sql.push_str(&numbered);
        self.sql.push_str(";\n");
        self.values.extend(values);
        Ok(self.values.len() >= MOST_VALUES)
    }

    pub fn is_empty(&self) -> bool {
        self.sql.is_empty()
    }

    /// The held statements followed by `then` (say, `COMMIT`), as one query; nothing is held
    /// afterwards.
    pub fn take_with(&mut self, then: &str) -> (String, Vec<Value>) {
        let mut sql = std::mem::take(&mut self.sql);
        if then.is_empty() {
            sql.truncate(sql.trim_end_matches(";\n").len());
        }
        sql.push_str(then);
        (sql, std::mem::take(&mut self.values))
    }
}

/// The query of `sql` with `values`, on SQLite.
pub fn query<'q>(
    sql: &'q str,
    values: &'q [Value],
) -> sqlx::query::Query<'q, Sqlite, SqliteArguments<'q>> {
    bind_all!(sqlx::query(sql), values)
}

/// `sql` with each `$n` read as `$(n + before)`, and the largest `n` it names. Statements held
/// for later name no `$` but their placeholders (no `$` in a quoted text).
fn number_on(sql: &str, before: usize) -> (String, usize) {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut most = 0;
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..=at]);
        rest = &rest[at + 1..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if let Ok(n) = rest[..digits].parse::<usize>() {
            most = most.max(n);
            out.push_str(&(n + before).to_string());
        }
        rest = &rest[digits..];
    }
    out.push_str(rest);
    (out, most)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_on_from_those_held() {
        assert_eq!(
            number_on("INSERT INTO t (a, b) VALUES ($1, $2 + $1)", 3),
            ("INSERT INTO t (a, b) VALUES ($4, $5 + $4)".to_owned(), 2)
        );
        assert_eq!(
            number_on("DELETE FROM t", 7),
            ("DELETE FROM t".to_owned(), 0)
        );
        let mut held = Held::default();
        held.push("DELETE FROM t WHERE a = $1", vec![1.into()])
            .unwrap();
        held.push("INSERT INTO t VALUES ($1, $2)", vec![2.into(), "x".into()])
            .unwrap();
        let wrong = held.push("INSERT INTO t VALUES ($1, $2)", vec![3.into()]);
        assert!(wrong.is_err(), "one value for two placeholders");
        let (sql, values) = held.take_with("COMMIT");
        assert_eq!(
            sql,
            "DELETE FROM t WHERE a = $1;\nINSERT INTO t VALUES ($2, $3);\nCOMMIT"
        );
        assert_eq!(values, [1.into(), 2.into(), Value::from("x")]);
        assert!(held.is_empty());
    }

    /// Held statements of several kinds run in one query, in order, with their values.
    #[tokio::test]
    async fn held_statements_run_together_in_order() {
        use sqlx::{ConnectOptions, Connection};
        let mut c = sqlx::sqlite::SqliteConnectOptions::new()
            .in_memory(true)
            .connect()
            .await
            .unwrap();
        sqlx::query("CREATE TABLE t (i INTEGER, r REAL, b BOOLEAN, s TEXT)")
            .execute(&mut c)
            .await
            .unwrap();
        let mut held = Held::default();
        let row = |i: i64| -> Vec<Value> {
            vec![
                i.into(),
                Some(0.5 * i as f64).into(),
                (i % 2 == 0).into(),
                Value::Text(None),
            ]
        };
        held.push("INSERT INTO t VALUES ($1, $2, $3, $4)", row(1))
            .unwrap();
        held.push("INSERT INTO t VALUES ($1, $2, $3, $4)", row(2))
            .unwrap();
        held.push(
            "UPDATE t SET s = $1 WHERE i = $2",
            vec!["two".into(), 2.into()],
        )
        .unwrap();
        let (sql, values) = held.take_with("SELECT 1");
        query(&sql, &values).execute(&mut c).await.unwrap();
        let rows: Vec<(i64, f64, bool, Option<String>)> =
            sqlx::query_as("SELECT i, r, b, s FROM t ORDER BY i")
                .fetch_all(&mut c)
                .await
                .unwrap();
        assert_eq!(
            rows,
            [
                (1, 0.5, false, None),
                (2, 1.0, true, Some("two".to_owned()))
            ]
        );
        c.close().await.unwrap();
    }
}
