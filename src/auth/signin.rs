//! Signing in and changing one's password.

use super::{passwords, sessions, throttle};
use crate::audit::{self, Actor, Event};
use crate::domain::{NewPassword, PersonId};
use crate::on_db;
use crate::startup::AppState;
use crate::store::Tx;
use crate::web::error::AppError;
use crate::web::request::RequestMeta;

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// Unknown account, deactivated account or wrong password: deliberately one answer.
    #[error("the e-mail address or password is not right")]
    Rejected,
    #[error("too many sign-in attempts; wait a few minutes and try again")]
    Throttled,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<sqlx::Error> for SignInError {
    fn from(e: sqlx::Error) -> Self {
        SignInError::Unexpected(e.into())
    }
}

#[derive(sqlx::FromRow)]
struct Credentials {
    id: PersonId,
    password_hash: Option<String>,
    active: bool,
}

/// Check the credentials and open a new session. Unknown accounts take the same path as
/// wrong passwords (a dummy hash is verified), so neither the answer nor its timing tells
/// which it was.
pub async fn sign_in(
    app: &AppState,
    email: &str,
    password: &str,
    meta: &RequestMeta,
) -> Result<(PersonId, sessions::NewSession), SignInError> {
    let db = &app.db;
    let email = email.trim().to_lowercase();
    let actor = Actor {
        person: None,
        label: email.clone(),
        ip: Some(meta.ip.clone()),
        request_id: meta.request_id.clone(),
    };
    if throttle::is_throttled(db, app.limits, &email, &meta.ip).await? {
        audit::record_alone(db, &actor, Event::new("signin.throttled")).await?;
        return Err(SignInError::Throttled);
    }
    const SQL: &str = "SELECT id, password_hash, active FROM people WHERE email = $1";
    let row: Option<Credentials> =
        on_db!(db, p => sqlx::query_as(SQL).bind(&email).fetch_optional(p).await)?;
    let (person, hash) = match row {
        Some(c) if c.active => (Some(c.id), c.password_hash),
        _ => (None, None),
    };
    let ok = passwords::verify(password, hash).await? && person.is_some();
    throttle::record(db, &email, &meta.ip, ok).await?;
    let Some(person) = person.filter(|_| ok) else {
        audit::record_alone(db, &actor, Event::new("signin.failure")).await?;
        return Err(SignInError::Rejected);
    };
    let mut tx = db.begin().await?;
    let session = sessions::create(
        &mut tx,
        person,
        app.settings.session_ttl_ms(),
        Some(&meta.ip),
        meta.user_agent.as_deref(),
    )
    .await?;
    let actor = Actor {
        person: Some(person),
        ..actor
    };
    audit::record(
        &mut tx,
        &actor,
        Event::new("signin.success").object("person", person),
    )
    .await?;
    tx.commit().await?;
    Ok((person, session))
}

/// Store a new password hash; ends every other session of the person.
pub async fn set_password(
    tx: &mut Tx,
    actor: &Actor,
    person: PersonId,
    password: &NewPassword,
    keep_session: Option<&str>,
) -> Result<(), AppError> {
    let hash = passwords::hash(password).await?;
    const SQL: &str = "UPDATE people SET password_hash = $1 WHERE id = $2";
    let r = crate::on_tx!(tx, c => sqlx::query(SQL).bind(hash).bind(person).execute(c).await.map(|r| r.rows_affected()))?;
    if r != 1 {
        return Err(AppError::NotFound);
    }
    sessions::delete_for_person(tx, person, keep_session).await?;
    audit::record(
        tx,
        actor,
        Event::new("person.password_set").object("person", person),
    )
    .await?;
    Ok(())
}

/// Change one's own password, proving the current one first.
pub async fn change_own_password(
    app: &AppState,
    actor: &Actor,
    person: PersonId,
    current: &str,
    new: &str,
    keep_session: Option<&str>,
) -> Result<(), AppError> {
    const SQL: &str = "SELECT password_hash FROM people WHERE id = $1";
    let hash: Option<String> = on_db!(&app.db, p => sqlx::query_scalar::<_, Option<String>>(SQL).bind(person).fetch_optional(p).await)?.flatten();
    if !passwords::verify(current, hash).await? {
        return Err(AppError::Invalid(crate::domain::InvalidValue::new(
            "current_password",
            "current_password",
            "the current password is not right",
        )));
    }
    let new = NewPassword::parse(new)?;
    let mut tx = app.db.begin().await?;
    set_password(&mut tx, actor, person, &new, keep_session).await?;
    tx.commit().await?;
    Ok(())
}
