//! API tokens: bearer secrets for integrations. Shown once, stored as SHA-256, scoped to the
//! person's grants, with an expiry, revocable.

use super::access::{PERSON_COLUMNS, PersonRow};
use super::secret::{fingerprint, random_token};
use crate::domain::{PersonId, Timestamp, TokenId, format_utc, now};
use crate::store::{Conn, Db, Tx};
use crate::{on_conn, on_db, on_tx};

pub const PREFIX: &str = "kal_";
pub const MAX_DAYS: i64 = 730;

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct TokenInfo {
    pub id: TokenId,
    pub name: String,
    /// The first characters of the token, to recognise it.
    pub prefix: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

impl TokenInfo {
    pub fn created_utc(&self) -> String {
        format_utc(self.created_at)
    }
    pub fn expires_utc(&self) -> String {
        format_utc(self.expires_at)
    }
    pub fn last_used_utc(&self) -> String {
        self.last_used_at
            .map(format_utc)
            .unwrap_or_else(|| "–".into())
    }

    pub fn is_live(&self) -> bool {
        self.revoked_at.is_none() && self.expires_at > now()
    }
}

/// Create a token; returns its record and the secret, which is never stored.
pub async fn create(
    tx: &mut Tx,
    person: PersonId,
    name: &str,
    expires_days: i64,
) -> Result<(TokenInfo, String), sqlx::Error> {
    let secret = format!("{PREFIX}{}", random_token());
    let prefix: String = secret.chars().take(PREFIX.len() + 6).collect();
    let t = now();
    let expires_at = t + expires_days * 86_400_000;
    const SQL: &str = "INSERT INTO api_tokens (person_id, name, token_hash, prefix, created_at, expires_at) \
                       VALUES ($1, $2, $3, $4, $5, $6) \
                       RETURNING id, name, prefix, created_at, expires_at, last_used_at, revoked_at";
    let info: TokenInfo = on_tx!(tx, c => sqlx::query_as(SQL)
        .bind(person).bind(name).bind(fingerprint(&secret)).bind(&prefix).bind(t).bind(expires_at)
        .fetch_one(c).await)?;
    Ok((info, secret))
}

#[derive(sqlx::FromRow)]
pub struct ResolvedToken {
    pub id: TokenId,
    pub person_id: PersonId,
    pub last_used_at: Option<Timestamp>,
    /// Its person, active.
    #[sqlx(flatten)]
    pub person: PersonRow,
}

/// The live token of an active person for a bearer secret, read with the person. The flag
/// tells the caller to audit the use: uses are recorded at most once a minute per token.
pub async fn resolve(
    c: &mut Conn<'_>,
    secret: &str,
) -> Result<Option<(ResolvedToken, bool)>, sqlx::Error> {
    if !secret.starts_with(PREFIX) {
        return Ok(None);
    }
    let sql = format!(
        "SELECT t.id, t.person_id, t.last_used_at, {PERSON_COLUMNS} FROM api_tokens t \
         JOIN people p ON p.id = t.person_id AND p.active = TRUE \
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > $2"
    );
    let t = now();
    let row: Option<ResolvedToken> = on_conn!(c, p => sqlx::query_as(&sql)
        .bind(fingerprint(secret)).bind(t).fetch_optional(p).await)?;
    let Some(row) = row else { return Ok(None) };
    let stale = row.last_used_at.is_none_or(|u| t - u > 60_000);
    if stale {
        const TOUCH: &str = "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2";
        on_conn!(c, p => sqlx::query(TOUCH).bind(t).bind(row.id).execute(p).await.map(|r| r.rows_affected()))?;
    }
    Ok(Some((row, stale)))
}

pub async fn list(db: &Db, person: PersonId) -> Result<Vec<TokenInfo>, sqlx::Error> {
    const SQL: &str = "SELECT id, name, prefix, created_at, expires_at, last_used_at, revoked_at \
                       FROM api_tokens WHERE person_id = $1 ORDER BY id DESC";
    on_db!(db, p => sqlx::query_as(SQL).bind(person).fetch_all(p).await)
}

/// Revoke one of the person's own tokens; `false` when there is no such live token.
pub async fn revoke(tx: &mut Tx, person: PersonId, id: TokenId) -> Result<bool, sqlx::Error> {
    const SQL: &str = "UPDATE api_tokens SET revoked_at = $1 \
                       WHERE id = $2 AND person_id = $3 AND revoked_at IS NULL";
    let r = on_tx!(tx, c => sqlx::query(SQL).bind(now()).bind(id).bind(person).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(r == 1)
}

/// Revoke every token of a person (deactivation).
pub async fn revoke_all(tx: &mut Tx, person: PersonId) -> Result<(), sqlx::Error> {
    const SQL: &str =
        "UPDATE api_tokens SET revoked_at = $1 WHERE person_id = $2 AND revoked_at IS NULL";
    on_tx!(tx, c => sqlx::query(SQL).bind(now()).bind(person).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}
