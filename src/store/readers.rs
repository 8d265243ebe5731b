//! The connections that read a SQLite database, beside the writers' one. A pool of sqlx gives
//! a connection back on a task of its own after a ping, a round trip to the connection's
//! thread, after every statement run on the pool: a third of the round trips of a request that
//! reads a few rows. In one process a connection is alive as long as its thread, and a statement
//! left unfinished (its request dropped) ends on that thread before the next one starts, so
//! here a connection goes straight back to the idle ones when it is dropped.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use sqlx::sqlite::{SqliteConnectOptions, SqliteQueryResult, SqliteRow, SqliteStatement};
use sqlx::{
    ConnectOptions, Connection, Describe, Either, Execute, Executor, Sqlite, SqliteConnection,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a reader waits for a connection when all are in use, as long as sqlx's pools do.
const WAIT: Duration = Duration::from_secs(30);

/// Up to a given number of connections, opened when first needed and kept open.
#[derive(Clone)]
pub struct Readers(Arc<Shared>);

struct Shared {
    idle: Mutex<Vec<SqliteConnection>>,
    turns: Arc<Semaphore>,
    options: SqliteConnectOptions,
}

impl std::fmt::Debug for Readers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readers")
            .field("free", &self.0.turns.available_permits())
            .finish()
    }
}

/// A connection taken from the [`Readers`], given back when dropped.
pub struct Reader {
    conn: Option<SqliteConnection>,
    shared: Arc<Shared>,
    _turn: OwnedSemaphorePermit,
}

impl Readers {
    /// Up to `most` connections with `options`; one is opened now, so that a database that
    /// cannot be opened says so here.
    pub async fn open(options: SqliteConnectOptions, most: usize) -> Result<Readers, sqlx::Error> {
        let first = options.connect().await?;
        Ok(Readers(Arc::new(Shared {
            idle: Mutex::new(vec![first]),
            turns: Arc::new(Semaphore::new(most)),
            options,
        })))
    }

    /// An idle connection, or a new one while fewer than the most are open.
    pub async fn acquire(&self) -> Result<Reader, sqlx::Error> {
        let turn = tokio::time::timeout(WAIT, self.0.turns.clone().acquire_owned())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?
            .map_err(|_| sqlx::Error::PoolClosed)?;
        let idle = self.idle().pop();
        let conn = match idle {
            Some(c) => c,
            None => self.0.options.connect().await?,
        };
        Ok(Reader {
            conn: Some(conn),
            shared: self.0.clone(),
            _turn: turn,
        })
    }

    /// Closes the idle connections; no connection is taken afterwards, and those in use close
    /// as they are dropped.
    pub async fn close(&self) {
        self.0.turns.close();
        let idle = std::mem::take(&mut *self.idle());
        for c in idle {
            if let Err(e) = c.close().await {
                tracing::warn!(error = %e, "a readers' connection ended badly");
            }
        }
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<SqliteConnection>> {
        self.0.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Reader {
    fn conn(&mut self) -> &mut SqliteConnection {
        self.conn
            .as_mut()
            .expect("a reader's connection leaves it only when dropped")
    }

    /// Closes the connection instead of giving it back once an answer says its thread ended.
    fn keep_if_alive<T>(&mut self, answer: &Result<T, sqlx::Error>) {
        if matches!(answer, Err(sqlx::Error::WorkerCrashed)) {
            self.conn = None;
        }
    }
}

impl std::ops::Deref for Reader {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        self.conn
            .as_ref()
            .expect("a reader's connection leaves it only when dropped")
    }
}

impl std::ops::DerefMut for Reader {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        self.conn()
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        if let Some(c) = self.conn.take()
            && !self.shared.turns.is_closed()
        {
            self.shared
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(c);
        }
    }
}

/// A statement run on the readers takes a connection for itself, as on a pool.
impl<'r> Executor<'r> for &'_ Readers {
    type Database = Sqlite;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, Result<Either<SqliteQueryResult, SqliteRow>, sqlx::Error>>
    where
        E: 'q + Execute<'q, Sqlite>,
    {
        let readers = self.clone();
        Box::pin(async_stream::try_stream! {
            let mut reader = readers.acquire().await?;
            let mut ended = Ok(());
            {
                let rows = reader.conn().fetch_many(query);
                for await row in rows {
                    if matches!(row, Err(sqlx::Error::WorkerCrashed)) {
                        ended = Err(sqlx::Error::WorkerCrashed);
                        break;
                    }
                    yield row?;
                }
            }
            reader.keep_if_alive(&ended);
            ended?;
        })
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Option<SqliteRow>, sqlx::Error>>
    where
        E: 'q + Execute<'q, Sqlite>,
    {
        let readers = self.clone();
        Box::pin(async move {
            let mut reader = readers.acquire().await?;
            let row = reader.conn().fetch_optional(query).await;
            reader.keep_if_alive(&row);
            row
        })
    }

    fn prepare_with<'e, 'q: 'e>(
        self,
        sql: &'q str,
        parameters: &'e [sqlx::sqlite::SqliteTypeInfo],
    ) -> BoxFuture<'e, Result<SqliteStatement<'q>, sqlx::Error>> {
        let readers = self.clone();
        Box::pin(async move {
            readers
                .acquire()
                .await?
                .conn()
                .prepare_with(sql, parameters)
                .await
        })
    }

    fn describe<'e, 'q: 'e>(
        self,
        sql: &'q str,
    ) -> BoxFuture<'e, Result<Describe<Sqlite>, sqlx::Error>> {
        let readers = self.clone();
        Box::pin(async move { readers.acquire().await?.conn().describe(sql).await })
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;
    use std::time::Duration;

    use futures_util::StreamExt;

    use super::*;

    async fn readers(dir: &tempfile::TempDir, most: usize) -> Readers {
        let url = format!("sqlite:{}", dir.path().join("r.db").display());
        let options = SqliteConnectOptions::from_str(&url)
            .unwrap()
            .create_if_missing(true);
        Readers::open(options, most).await.unwrap()
    }

    /// No more connections than the most are opened; a reader beyond them waits for one to be
    /// given back, and gets that one.
    #[tokio::test]
    async fn connections_are_given_back_and_taken_again() {
        let dir = tempfile::tempdir().unwrap();
        let r = readers(&dir, 2).await;
        let (a, b) = (r.acquire().await.unwrap(), r.acquire().await.unwrap());
        let third = tokio::spawn({
            let r = r.clone();
            async move { r.acquire().await.map(|_| ()) }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!third.is_finished(), "a third connection waits");
        drop(a);
        third.await.unwrap().unwrap();
        drop(b);
        assert_eq!(r.idle().len(), 2, "two connections, both idle");
        r.close().await;
        assert!(matches!(r.acquire().await, Err(sqlx::Error::PoolClosed)));
    }

    /// Rows read in part, the stream dropped: the connection goes back, and its next statement
    /// runs after the dropped one has ended on its thread.
    #[tokio::test]
    async fn a_statement_dropped_midway_leaves_its_connection_usable() {
        let dir = tempfile::tempdir().unwrap();
        let r = readers(&dir, 1).await;
        sqlx::query(
            "CREATE TABLE n AS WITH RECURSIVE c(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM c \
             WHERE v < 5000) SELECT v FROM c",
        )
        .execute(&r)
        .await
        .unwrap();
        let mut rows = sqlx::query_scalar::<_, i64>("SELECT v FROM n ORDER BY v").fetch(&r);
        assert_eq!(rows.next().await.unwrap().unwrap(), 1);
        drop(rows);
        let (n, sum): (i64, i64) = sqlx::query_as("SELECT COUNT(*), SUM(v) FROM n")
            .fetch_one(&r)
            .await
            .unwrap();
        assert_eq!((n, sum), (5000, 5000 * 5001 / 2));
        assert_eq!(r.idle().len(), 1);
    }
}
