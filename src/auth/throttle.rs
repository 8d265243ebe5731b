//! Sign-in throttling per account and per address, kept in the database so that every app
//! server sees the same counts.

use crate::domain::{Timestamp, now};
use crate::on_db;
use crate::store::Db;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Failed attempts on one account since its last success, within the window.
    pub per_account: i64,
    /// Failed attempts from one address within the window.
    pub per_address: i64,
    pub window_ms: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            per_account: 5,
            per_address: 30,
            window_ms: 15 * 60_000,
        }
    }
}

pub async fn is_throttled(
    db: &Db,
    limits: Limits,
    email: &str,
    ip: &str,
) -> Result<bool, sqlx::Error> {
    let since: Timestamp = now() - limits.window_ms;
    const ACCOUNT: &str = "SELECT CAST(COUNT(*) AS BIGINT) FROM login_attempts \
        WHERE email = $1 AND success = FALSE AND at > $2 \
        AND at > COALESCE((SELECT MAX(at) FROM login_attempts WHERE email = $1 AND success = TRUE), 0)";
    const ADDRESS: &str = "SELECT CAST(COUNT(*) AS BIGINT) FROM login_attempts \
        WHERE ip = $1 AND success = FALSE AND at > $2";
    let by_account: i64 =
        on_db!(db, p => sqlx::query_scalar(ACCOUNT).bind(email).bind(since).fetch_one(p).await)?;
    if by_account >= limits.per_account {
        return Ok(true);
    }
    let by_address: i64 =
        on_db!(db, p => sqlx::query_scalar(ADDRESS).bind(ip).bind(since).fetch_one(p).await)?;
    Ok(by_address >= limits.per_address)
}

pub async fn record(db: &Db, email: &str, ip: &str, success: bool) -> Result<(), sqlx::Error> {
    const SQL: &str = "INSERT INTO login_attempts (at, email, ip, success) VALUES ($1, $2, $3, $4)";
    on_db!(db, p => sqlx::query(SQL).bind(now()).bind(email).bind(ip).bind(success).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Forget attempts older than a day.
pub async fn purge_old(db: &Db) -> Result<(), sqlx::Error> {
    const SQL: &str = "DELETE FROM login_attempts WHERE at < $1";
    on_db!(db, p => sqlx::query(SQL).bind(now() - 86_400_000).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}
