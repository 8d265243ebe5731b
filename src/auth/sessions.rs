//! Server-side sessions, stored in the database so that several app servers share them.
//! The cookie holds a random id; the database holds only its SHA-256.

use super::access::{PERSON_COLUMNS, PersonRow};
use super::secret::{fingerprint, random_token};
use crate::domain::{PersonId, Timestamp, now};
use crate::store::{Conn, Db, Tx};
use crate::{on_conn, on_db, on_tx};

pub const COOKIE: &str = "kalibra_session";

/// A session just created: the cookie value is shown to the browser once.
pub struct NewSession {
    pub cookie_value: String,
    pub id_hash: String,
    pub csrf: String,
    pub expires_at: Timestamp,
}

#[derive(sqlx::FromRow)]
pub struct SessionRow {
    pub id_hash: String,
    pub person_id: PersonId,
    pub csrf_token: String,
    pub last_seen_at: Timestamp,
    /// Its person, active.
    #[sqlx(flatten)]
    pub person: PersonRow,
}

pub async fn create(
    tx: &mut Tx,
    person: PersonId,
    ttl_ms: i64,
    ip: Option<&str>,
    user_agent: Option<&str>,
) -> Result<NewSession, sqlx::Error> {
    let cookie_value = random_token();
    let id_hash = fingerprint(&cookie_value);
    let csrf = random_token();
    let t = now();
    let expires_at = t + ttl_ms;
    const SQL: &str = "INSERT INTO sessions (id_hash, person_id, csrf_token, created_at, last_seen_at, expires_at, ip, user_agent) \
                       VALUES ($1, $2, $3, $4, $4, $5, $6, $7)";
    let ua = user_agent.map(|u| u.chars().take(300).collect::<String>());
    on_tx!(tx, c => sqlx::query(SQL)
        .bind(&id_hash).bind(person).bind(&csrf).bind(t).bind(expires_at).bind(ip).bind(ua)
        .execute(c).await.map(|r| r.rows_affected()))?;
    Ok(NewSession {
        cookie_value,
        id_hash,
        csrf,
        expires_at,
    })
}

/// The live session of an active person for a cookie value, read with the person. Marks it
/// seen at most once a minute.
pub async fn resolve(
    c: &mut Conn<'_>,
    cookie_value: &str,
) -> Result<Option<SessionRow>, sqlx::Error> {
    let sql = format!(
        "SELECT s.id_hash, s.person_id, s.csrf_token, s.last_seen_at, {PERSON_COLUMNS} \
         FROM sessions s JOIN people p ON p.id = s.person_id AND p.active = TRUE \
         WHERE s.id_hash = $1 AND s.expires_at > $2"
    );
    let id_hash = fingerprint(cookie_value);
    let t = now();
    let row: Option<SessionRow> =
        on_conn!(c, p => sqlx::query_as(&sql).bind(&id_hash).bind(t).fetch_optional(p).await)?;
    if let Some(r) = row.as_ref().filter(|r| t - r.last_seen_at > 60_000) {
        {
            const TOUCH: &str = "UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2";
            on_conn!(c, p => sqlx::query(TOUCH).bind(t).bind(&r.id_hash).execute(p).await.map(|r| r.rows_affected()))?;
        }
    }
    Ok(row)
}

pub async fn delete(db: &Db, id_hash: &str) -> Result<(), sqlx::Error> {
    on_db!(db, p => sqlx::query("DELETE FROM sessions WHERE id_hash = $1").bind(id_hash).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// End every session of a person except `keep` (the one making the change, if any).
pub async fn delete_for_person(
    tx: &mut Tx,
    person: PersonId,
    keep: Option<&str>,
) -> Result<(), sqlx::Error> {
    const SQL: &str = "DELETE FROM sessions WHERE person_id = $1 AND id_hash <> $2";
    on_tx!(tx, c => sqlx::query(SQL).bind(person).bind(keep.unwrap_or("")).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Remove expired sessions; run at start-up and now and then.
pub async fn purge_expired(db: &Db) -> Result<u64, sqlx::Error> {
    const SQL: &str = "DELETE FROM sessions WHERE expires_at <= $1";
    Ok(on_db!(db, p => sqlx::query(SQL).bind(now()).execute(p).await.map(|r| r.rows_affected()))?)
}
