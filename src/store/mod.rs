//! One [`Db`] type hides the backend. SQL is written once with `$n` placeholders and
//! compiled for each backend by the [`on_db!`] and [`on_tx!`] macros; handlers never see a pool.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, PgPool, Postgres};

use checkpoint::Checkpointer;
pub use later::Value;
pub use pg_copy::CopyRows;
pub use readers::{Reader, Readers};

mod checkpoint;
mod later;
mod pg_copy;
mod readers;

#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(Readers, WriteQueue),
    Pg(PgPool),
}

/// A write transaction on either backend.
pub enum Tx {
    Sqlite(Writing),
    Pg(sqlx::Transaction<'static, Postgres>),
}

/// The writers of one SQLite database in this process, in the order they asked. SQLite lets one
/// connection write at a time; one that finds the database locked sleeps 1, 2, 5, 10 … 100 ms
/// between tries, and the lock can sit free while every waiter sleeps. Queued here, the next
/// writer starts as soon as the last one ends, on a connection of its own: a writer whose turn
/// came never waits for the readers to give a connection back. The turn is the connection
/// itself, not one kept in a pool: a pool gives a connection back on a task of its own after a
/// round trip to the connection's thread, and a writer that blocked on taking it could wait for
/// a task queued behind itself.
#[derive(Clone, Debug)]
pub struct WriteQueue {
    writer: std::sync::Arc<tokio::sync::Mutex<Option<sqlx::SqliteConnection>>>,
    /// How to open the writers' connection again, should its thread end.
    writer_options: std::sync::Arc<SqliteConnectOptions>,
    checkpoints: std::sync::Arc<Checkpointer>,
}

/// A writer's open transaction on the writers' connection, held until it commits or is
/// dropped; dropped, it is rolled back there and then, before the next writer's turn. Its
/// commit wakes the checkpointer. Writes held for later (see [`Tx::later`]) go as soon as the
/// connection is used again, or with the commit.
pub struct Writing {
    conn:
        tokio::sync::OwnedMappedMutexGuard<Option<sqlx::SqliteConnection>, sqlx::SqliteConnection>,
    open: bool,
    held: later::Held,
    /// The error of writes held for later, which fails the commit.
    failed: Option<sqlx::Error>,
    checkpoints: std::sync::Arc<Checkpointer>,
}

impl Writing {
    /// Sends the writes held for later, if any; an error fails the commit.
    fn send_held(&mut self) {
        if self.held.is_empty() {
            return;
        }
        let (sql, values) = self.held.take_with("");
        let sent = to_its_end(later::query(&sql, &values).execute(&mut *self.conn));
        if let Err(e) = sent
            && self.failed.is_none()
        {
            self.failed = Some(e);
        }
    }
}

impl std::ops::Deref for Writing {
    type Target = sqlx::SqliteConnection;
    fn deref(&self) -> &Self::Target {
        &self.conn
    }
}

impl std::ops::DerefMut for Writing {
    /// The connection, once the writes held for later have gone.
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.send_held();
        &mut self.conn
    }
}

impl Drop for Writing {
    fn drop(&mut self) {
        if self.open
            && let Err(e) = to_its_end(sqlx::query("ROLLBACK").execute(&mut *self.conn))
        {
            tracing::warn!(error = %e, "a write left unfinished could not be rolled back");
        }
    }
}

/// Connections of a SQLite database for reading, beside the writers' one.
const SQLITE_READERS: usize = 8;

/// How long a writer waits for its turn, and then for a writer of another process to let go of
/// the database, each as long as SQLite's own busy timeout.
const WRITE_WAIT: Duration = Duration::from_secs(10);

/// How long a writer waits before it tries again to take a database another process writes.
const LOCKED_PAUSE: Duration = Duration::from_millis(2);

/// Run `$body` with `$pool` bound to the backend's pool (on SQLite, its [`Readers`]).
#[macro_export]
macro_rules! on_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::store::Db::Sqlite($pool, _) => $body,
            $crate::store::Db::Pg($pool) => $body,
        }
    };
}

/// Run `$body` with `$conn` bound to the transaction's connection.
#[macro_export]
macro_rules! on_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match $tx {
            $crate::store::Tx::Sqlite(t) => {
                let $conn = &mut **t;
                $crate::store::to_its_end(async { $body })
            }
            $crate::store::Tx::Pg(t) => {
                let $conn = &mut **t;
                $body
            }
        }
    };
}

/// Run `$body` with `$conn` bound to a [`Conn`]'s connection; `$c` is a `&mut Conn`.
#[macro_export]
macro_rules! on_conn {
    ($c:expr, $conn:ident => $body:expr) => {
        match $c {
            $crate::store::Conn::Sqlite(c) => {
                let $conn = &mut **c;
                $body
            }
            $crate::store::Conn::Pg(c) => {
                let $conn = &mut **c;
                $body
            }
        }
    };
}

/// One connection for several statements in a row, taken from the pool with [`Db::acquire`].
/// A statement run on the pool takes a connection and gives it back, each a round trip to the
/// connection's thread on SQLite; a few reads in a row on one connection pay that once.
pub enum Conn<'c> {
    Sqlite(&'c mut sqlx::SqliteConnection),
    Pg(&'c mut sqlx::PgConnection),
}

/// A connection taken from the pool, given back when dropped.
pub enum Pooled {
    Sqlite(Reader),
    Pg(sqlx::pool::PoolConnection<Postgres>),
}

impl Pooled {
    pub fn conn(&mut self) -> Conn<'_> {
        match self {
            Pooled::Sqlite(c) => Conn::Sqlite(c),
            Pooled::Pg(c) => Conn::Pg(c),
        }
    }
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static PG_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(
        "unsupported database URL {0:?}: use sqlite:PATH or postgres://USER@HOST:PORT/DATABASE"
    )]
    Scheme(String),
    #[error("cannot open the database at {url}: {source}")]
    Open {
        url: String,
        #[source]
        source: sqlx::Error,
    },
}

impl Db {
    /// Open `sqlite:PATH` (created when missing) or `postgres://…`.
    pub async fn connect(url: &str) -> Result<Db, ConnectError> {
        let open = |source| ConnectError::Open {
            url: redact(url),
            source,
        };
        if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)
                .map_err(open)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                .log_slow_statements(log::LevelFilter::Off, Duration::from_secs(60));
            let readers = Readers::open(opts.clone(), SQLITE_READERS)
                .await
                .map_err(open)?;
            // The writer leaves checkpoints to a connection of their own (see `checkpoint`).
            let writer = opts
                .clone()
                .busy_timeout(Duration::ZERO)
                .pragma("wal_autocheckpoint", checkpoint::WRITER_FRAMES.to_string());
            let queue = WriteQueue {
                writer: std::sync::Arc::new(tokio::sync::Mutex::new(Some(
                    writer.connect().await.map_err(open)?,
                ))),
                writer_options: std::sync::Arc::new(writer),
                checkpoints: checkpoint::spawn(&opts).await.map_err(open)?,
            };
            Ok(Db::Sqlite(readers, queue))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let opts = PgConnectOptions::from_str(url)
                .map_err(open)?
                .log_slow_statements(log::LevelFilter::Off, Duration::from_secs(60));
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(opts)
                .await
                .map_err(open)?;
            Ok(Db::Pg(pool))
        } else {
            Err(ConnectError::Scheme(redact(url)))
        }
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Db::Sqlite(..) => "sqlite",
            Db::Pg(_) => "postgres",
        }
    }

    /// Apply the embedded migrations of this backend.
    pub async fn migrate(&self) -> Result<(), sqlx::migrate::MigrateError> {
        match self {
            Db::Sqlite(readers, _) => SQLITE_MIGRATIONS.run(&mut *readers.acquire().await?).await,
            Db::Pg(p) => PG_MIGRATIONS.run(p).await,
        }
    }

    /// A write transaction. On SQLite it waits for its turn among this process's writers, then
    /// takes the write lock up front (`BEGIN IMMEDIATE`), so that a writer of another process
    /// makes it wait here instead of failing on lock upgrade.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Db::Sqlite(_, queue) => {
                // Waiting longer is what a pool's timeout means: no writer's turn came.
                let turn = tokio::time::timeout(WRITE_WAIT, queue.writer.clone().lock_owned())
                    .await
                    .map_err(|_| sqlx::Error::PoolTimedOut)?;
                let mut conn = tokio::sync::OwnedMutexGuard::try_map(turn, Option::as_mut)
                    .map_err(|_| sqlx::Error::PoolClosed)?;
                // A writer of another process may hold SQLite's lock: its busy wait would hold
                // this thread, so the writers' connection has none, and this one waits here.
                let waited = tokio::time::Instant::now();
                let mut reopened = false;
                loop {
                    // A statement of its own, one round trip to the connection's thread (sqlx's
                    // own begins asks the connection once more whether it is in a transaction).
                    match to_its_end(sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn)) {
                        Ok(_) => break,
                        Err(e) if is_busy(&e) && waited.elapsed() < WRITE_WAIT => {
                            tokio::time::sleep(LOCKED_PAUSE).await;
                        }
                        // Its thread ended (once; a second time is an error to report).
                        Err(sqlx::Error::WorkerCrashed) if !reopened => {
                            *conn = queue.writer_options.connect().await?;
                            reopened = true;
                        }
                        Err(e) => return Err(e),
                    }
                }
                Tx::Sqlite(Writing {
                    conn,
                    open: true,
                    held: later::Held::default(),
                    failed: None,
                    checkpoints: queue.checkpoints.clone(),
                })
            }
            Db::Pg(p) => Tx::Pg(p.begin().await?),
        })
    }

    /// A connection of the pool for several reads in a row (see [`Conn`]).
    pub async fn acquire(&self) -> Result<Pooled, sqlx::Error> {
        Ok(match self {
            Db::Sqlite(readers, _) => Pooled::Sqlite(readers.acquire().await?),
            Db::Pg(p) => Pooled::Pg(p.acquire().await?),
        })
    }

    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        on_db!(self, p => sqlx::query("SELECT 1").execute(p).await.map(|_| ()))
    }

    pub async fn close(&self) {
        if let Db::Sqlite(readers, queue) = self {
            queue.checkpoints.close().await;
            if let Some(writer) = queue.writer.lock().await.take()
                && let Err(e) = sqlx::Connection::close(writer).await
            {
                tracing::warn!(error = %e, "the writers' connection ended badly");
            }
            // The last connection to close copies the log into the database file and removes
            // it, but only if it finds no other connection open at that moment; this copies it
            // in any case, so that the file alone holds everything.
            let truncate = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)");
            if let Err(e) = truncate.execute(readers).await {
                tracing::warn!(error = %e, "could not copy the write-ahead log on closing");
            }
            readers.close().await;
        }
        if let Db::Pg(pool) = self {
            pool.close().await;
        }
    }
}

impl Tx {
    /// A write whose outcome the transaction does not look at: on SQLite it goes with the
    /// transaction's next statement or its commit, in one trip with them; on PostgreSQL it
    /// runs now. `sql` names its values `$1`, `$2` …, and no `$` in quoted text.
    pub async fn later(&mut self, sql: &str, values: Vec<Value>) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(t) => {
                if t.held.push(sql, values)? {
                    t.send_held();
                }
                // The error itself stays for the commit, which it fails in any case.
                match &t.failed {
                    Some(e) => Err(sqlx::Error::Protocol(format!("a held write failed: {e}"))),
                    None => Ok(()),
                }
            }
            Tx::Pg(t) => later::bind_all!(sqlx::query(sql), &values)
                .execute(&mut **t)
                .await
                .map(|_| ()),
        }
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(mut t) => {
                if let Some(e) = t.failed.take() {
                    return Err(e);
                }
                // The writes held for later and the commit, in one trip.
                let (sql, values) = t.held.take_with("COMMIT");
                to_its_end(later::query(&sql, &values).execute(&mut *t.conn))?;
                t.open = false;
                t.checkpoints.committed();
                Ok(())
            }
            Tx::Pg(t) => t.commit().await,
        }
    }
}

/// Run a statement of a SQLite write transaction to its end on this thread. Awaited, each
/// statement hands the task back to the scheduler while the connection's thread runs it, and
/// the task then waits its turn behind every other request before the next statement, while
/// every other writer waits for this one. SQLite answers in microseconds, and nothing in a
/// statement on the transaction's connection needs the async runtime to make progress.
pub fn to_its_end<F: std::future::Future>(statement: F) -> F::Output {
    futures_executor::block_on(statement)
}

/// The URL without its password, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..s + 3], user, &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Whether an error says the database was kept busy by others past the wait allowed: no
/// connection or write turn came in time, or SQLite found the database locked by another
/// process for longer than its busy timeout. Nothing was written; the same request can succeed
/// a moment later.
pub fn is_busy(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut => true,
        // SQLITE_BUSY and its extended codes (the primary code in the low byte).
        sqlx::Error::Database(d) => {
            d.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some()
                && d.code()
                    .and_then(|c| c.parse::<i32>().ok())
                    .is_some_and(|c| c & 0xff == 5)
        }
        _ => false,
    }
}

/// `$from`, `$from + 1`, … as SQL placeholders.
pub fn marks(from: usize, n: usize) -> impl Iterator<Item = String> {
    (from..from + n).map(|i| format!("${i}"))
}

/// Whether an error is a unique-constraint violation, on either backend.
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_password() {
        assert_eq!(
            super::redact("postgres://app:secret@db:5432/kalibra"),
            "postgres://app:***@db:5432/kalibra"
        );
        assert_eq!(super::redact("sqlite:kalibra.db"), "sqlite:kalibra.db");
    }

    /// A fresh SQLite file (in the directory returned) with one table `n (v INTEGER)`.
    async fn table_n() -> (tempfile::TempDir, super::Db) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("n.db").display());
        let db = super::Db::connect(&url).await.unwrap();
        crate::on_db!(&db, p => sqlx::query("CREATE TABLE n (v INTEGER)").execute(p).await.map(|_| ()))
            .unwrap();
        (dir, db)
    }

    /// Writers waiting for their turn hold no connection: while one writes, more writers than
    /// the pool has connections queue up, readers still read, and every writer gets its turn.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn waiting_writers_leave_the_connections_to_readers() {
        use std::time::Duration;
        let (_dir, db) = table_n().await;
        let first = db.begin().await.unwrap();
        let writers: Vec<_> = (0..12)
            .map(|i| {
                let db = db.clone();
                tokio::spawn(async move {
                    let mut tx = db.begin().await?;
                    crate::on_tx!(&mut tx, t => sqlx::query("INSERT INTO n VALUES ($1)").bind(i).execute(t).await.map(|_| ()))?;
                    tx.commit().await
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let read = async {
            crate::on_db!(&db, p => sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM n").fetch_one(p).await)
        };
        let seen = tokio::time::timeout(Duration::from_secs(5), read).await;
        assert_eq!(seen.expect("a reader got a connection").unwrap(), 0);
        first.commit().await.unwrap();
        for w in writers {
            w.await.unwrap().unwrap();
        }
        let n: i64 = crate::on_db!(&db, p => sqlx::query_scalar("SELECT COUNT(*) FROM n").fetch_one(p).await).unwrap();
        assert_eq!(n, 12);
    }

    /// A write transaction dropped without its commit is rolled back, and the next writer
    /// finds the writers' connection free and the table as it was.
    #[tokio::test]
    async fn a_dropped_write_is_rolled_back_before_the_next() {
        let (_dir, db) = table_n().await;
        let insert = "INSERT INTO n VALUES ($1)";
        let mut dropped = db.begin().await.unwrap();
        crate::on_tx!(&mut dropped, t => sqlx::query(insert).bind(1).execute(t).await.map(|_| ()))
            .unwrap();
        drop(dropped);
        let mut tx = db.begin().await.unwrap();
        crate::on_tx!(&mut tx, t => sqlx::query(insert).bind(2).execute(t).await.map(|_| ()))
            .unwrap();
        tx.commit().await.unwrap();
        let stored: Vec<i64> =
            crate::on_db!(&db, p => sqlx::query_scalar("SELECT v FROM n").fetch_all(p).await)
                .unwrap();
        assert_eq!(stored, [2]);
    }

    /// Writes held for later are seen by the transaction's next statement, in order; one that
    /// fails fails the commit, and nothing of the transaction lands.
    #[tokio::test]
    async fn held_writes_go_before_the_next_statement_and_fail_the_commit() {
        let (_dir, db) = table_n().await;
        let insert = "INSERT INTO n VALUES ($1)";
        let mut tx = db.begin().await.unwrap();
        tx.later(insert, vec![1.into()]).await.unwrap();
        tx.later("UPDATE n SET v = v + $1", vec![10.into()])
            .await
            .unwrap();
        let seen: Vec<i64> =
            crate::on_tx!(&mut tx, t => sqlx::query_scalar("SELECT v FROM n").fetch_all(t).await)
                .unwrap();
        assert_eq!(seen, [11]);
        tx.later(insert, vec![2.into()]).await.unwrap();
        tx.commit().await.unwrap();

        let mut tx = db.begin().await.unwrap();
        crate::on_tx!(&mut tx, t => sqlx::query(insert).bind(3).execute(t).await.map(|_| ()))
            .unwrap();
        tx.later("INSERT INTO nowhere VALUES ($1)", vec![4.into()])
            .await
            .unwrap();
        tx.later(insert, vec![5.into()]).await.unwrap();
        assert!(tx.commit().await.is_err(), "a table that is not there");
        let mut tx = db.begin().await.unwrap();
        let wrong = tx.later(insert, vec![6.into(), 7.into()]).await;
        assert!(wrong.is_err(), "two values for one placeholder");
        drop(tx);
        let stored: Vec<i64> =
            crate::on_db!(&db, p => sqlx::query_scalar("SELECT v FROM n ORDER BY v").fetch_all(p).await)
                .unwrap();
        assert_eq!(stored, [2, 11]);
    }

    /// While another process writes, a writer waits for the database without holding its
    /// thread (this test's runtime has one), and writes once the other is done.
    #[tokio::test]
    async fn a_writer_waits_for_another_process_without_its_thread() {
        use sqlx::{ConnectOptions, Connection};
        use std::str::FromStr;
        use std::time::Duration;
        let (dir, db) = table_n().await;
        let url = format!("sqlite:{}", dir.path().join("n.db").display());
        let mut other = super::SqliteConnectOptions::from_str(&url)
            .unwrap()
            .connect()
            .await
            .unwrap();
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut other)
            .await
            .unwrap();
        let writer = tokio::spawn(async move {
            let mut tx = db.begin().await?;
            crate::on_tx!(&mut tx, t => sqlx::query("INSERT INTO n VALUES (7)").execute(t).await.map(|_| ()))?;
            tx.commit().await?;
            crate::on_db!(&db, p => sqlx::query_scalar::<_, i64>("SELECT v FROM n").fetch_all(p).await)
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(
            !writer.is_finished(),
            "the writer wrote while the other held the lock"
        );
        sqlx::query("COMMIT").execute(&mut other).await.unwrap();
        other.close().await.unwrap();
        let stored = tokio::time::timeout(Duration::from_secs(5), writer)
            .await
            .expect("the writer wrote once the other was done");
        assert_eq!(stored.unwrap().unwrap(), [7]);
    }

    /// Write `pages` pages of 4 KiB into a new table `b` in one transaction.
    async fn write_pages(db: &super::Db, pages: i64) {
        let mut tx = db.begin().await.unwrap();
        const SQL: &str = "CREATE TABLE IF NOT EXISTS b (x BLOB); \
            WITH RECURSIVE k (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < $1) \
            INSERT INTO b SELECT randomblob(4000) FROM k";
        crate::on_tx!(&mut tx, t => sqlx::raw_sql(&SQL.replace("$1", &pages.to_string())).execute(t).await.map(|_| ()))
            .unwrap();
        tx.commit().await.unwrap();
    }

    /// A commit leaves copying the log into the database file to the checkpointer: the
    /// committing writer returns with the file as it was, and the pages arrive in it soon after.
    /// (This test's runtime runs one task at a time, so the checkpointer only starts once the
    /// test waits.)
    #[tokio::test]
    async fn a_commit_leaves_the_checkpoint_to_the_checkpointer() {
        use std::time::Duration;
        let (dir, db) = table_n().await;
        let file = dir.path().join("n.db");
        let size = || std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
        write_pages(&db, 2_000).await;
        assert!(
            size() < 1 << 20,
            "the writer checkpointed: {} bytes",
            size()
        );
        let copied = async {
            while size() < 2_000 * 4_096 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(10), copied)
            .await
            .expect("the checkpointer copied the log");
    }

    /// Closing the database copies what is left of the log into the database file, so that the
    /// file alone holds everything.
    #[tokio::test]
    async fn closing_the_database_leaves_everything_in_its_file() {
        let (dir, db) = table_n().await;
        write_pages(&db, 300).await;
        assert!(dir.path().join("n.db-wal").exists());
        db.close().await;
        let log = std::fs::metadata(dir.path().join("n.db-wal")).map_or(0, |m| m.len());
        assert_eq!(log, 0, "the log was left with pages in it");
        let db = super::Db::connect(&format!("sqlite:{}", dir.path().join("n.db").display()))
            .await
            .unwrap();
        let n: i64 = crate::on_db!(&db, p => sqlx::query_scalar("SELECT COUNT(*) FROM b").fetch_one(p).await).unwrap();
        assert_eq!(n, 300);
    }

    /// A writer has a connection of its own: with every reader's connection taken, a write
    /// still begins, commits, and is seen.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_writer_does_not_wait_for_readers_connections() {
        use std::time::Duration;
        let (_dir, db) = table_n().await;
        let mut readers = Vec::new();
        for _ in 0..super::SQLITE_READERS {
            readers.push(db.acquire().await.unwrap());
        }
        let write = async {
            let mut tx = db.begin().await?;
            crate::on_tx!(&mut tx, t => sqlx::query("INSERT INTO n VALUES (1)").execute(t).await.map(|_| ()))?;
            tx.commit().await
        };
        tokio::time::timeout(Duration::from_secs(5), write)
            .await
            .expect("the write began while the readers held every connection")
            .unwrap();
        let n: i64 = crate::on_conn!(&mut readers[0].conn(), c => sqlx::query_scalar("SELECT COUNT(*) FROM n").fetch_one(c).await).unwrap();
        assert_eq!(n, 1);
    }
}
