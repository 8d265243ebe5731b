//! Checkpoints of a SQLite database's write-ahead log, run beside the writers instead of by
//! them.
//!
//! A write transaction on SQLite appends its pages to the log; a checkpoint copies them into the
//! database file so that the log can start again. By default the connection whose commit takes
//! the log past 1,000 pages runs the checkpoint there and then, inside its commit, while every
//! other writer waits behind it: a contact import spent a tenth of its writing time on them, and a
//! submitted evaluation now and then took a checkpoint's time longer than the rest.
//!
//! Here a connection of its own copies the log after each commit (at most fifty times a second),
//! while the writers go on appending. A checkpoint makes the disk sync the log and the
//! database file, and a writer appending to the log meanwhile waits for that: the fewer pages
//! a checkpoint has to copy, the shorter the wait (every 100 ms, commits of evaluations
//! submitted under load now and then took 10–19 ms; every 20 ms, at most a few). The writer still checkpoints itself once the log holds
//! [`WRITER_FRAMES`] pages, should this fall behind: the log can only start again once every
//! page in it is copied at a moment no writer is adding more, and then the writer's own
//! checkpoint has only the last pages left to copy.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// Pages in the log at which a writer checkpoints itself (SQLite's `wal_autocheckpoint`).
pub const WRITER_FRAMES: u32 = 10_000;

/// The least time between two checkpoints.
const PAUSE: Duration = Duration::from_millis(20);

/// How often a checkpointer with no commits to follow looks whether its database was closed.
const IDLE_CHECK: Duration = Duration::from_secs(1);

/// The writers' side of a checkpointer: commits wake it, closing the database stops it.
#[derive(Debug, Default)]
pub struct Checkpointer {
    commits: Notify,
    closed: AtomicBool,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Checkpointer {
    /// A write transaction committed: its pages are in the log.
    pub fn committed(&self) {
        self.commits.notify_one();
    }

    /// Stop checkpointing and close the connection.
    pub async fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.commits.notify_one();
        let task = self.task.lock().map(|mut t| t.take()).unwrap_or_default();
        if let Some(task) = task {
            let _ = task.await;
        }
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }
}

/// Open a connection with `opts` and checkpoint on it after commits, until the returned
/// checkpointer is closed or dropped.
pub async fn spawn(opts: &SqliteConnectOptions) -> Result<Arc<Checkpointer>, sqlx::Error> {
    let mut conn = opts.connect().await?;
    let shared = Arc::new(Checkpointer::default());
    let weak = Arc::downgrade(&shared);
    let task = tokio::spawn(async move {
        while let Some(c) = weak.upgrade() {
            let woke = !c.is_closed()
                && tokio::time::timeout(IDLE_CHECK, c.commits.notified())
                    .await
                    .is_ok();
            if c.is_closed() {
                break;
            }
            drop(c);
            if woke {
                // PASSIVE: copy what the log holds without waiting for readers or writers.
                if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                    .execute(&mut conn)
                    .await
                {
                    tracing::warn!(error = %e, "checkpoint of the write-ahead log failed");
                }
                tokio::time::sleep(PAUSE).await;
            }
        }
        let _ = conn.close().await;
    });
    if let Ok(mut t) = shared.task.lock() {
        *t = Some(task);
    }
    Ok(shared)
}
