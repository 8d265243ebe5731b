//! In-app notifications: a new evaluation of one's contact, a dispute raised or decided, a new
//! coaching session, and coaching actions that fall due (derived when read, never stored).

use serde::Serialize;

use crate::domain::{PersonId, Timestamp, now};
use crate::on_db;
use crate::store::{Db, Tx};

/// What a notification is about; its text is `notify.<kind>` in the reader's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    EvaluationSubmitted,
    EvaluationDisputed,
    DisputeResolved,
    CoachingSession,
    SamplesAssigned,
    CalibrationInvited,
    CalibrationRevealed,
    CalibrationGate,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::EvaluationSubmitted => "evaluation_submitted",
            Kind::EvaluationDisputed => "evaluation_disputed",
            Kind::DisputeResolved => "dispute_resolved",
            Kind::CoachingSession => "coaching_session",
            Kind::SamplesAssigned => "samples_assigned",
            Kind::CalibrationInvited => "calibration_invited",
            Kind::CalibrationRevealed => "calibration_revealed",
            Kind::CalibrationGate => "calibration_gate",
        }
    }
}

/// Tells a person, in the transaction of the change it is about.
pub async fn send(
    tx: &mut Tx,
    to: PersonId,
    kind: Kind,
    detail: &str,
    link: &str,
) -> Result<(), sqlx::Error> {
    const SQL: &str =
        "INSERT INTO notifications (person_id, at, kind, detail, link) VALUES ($1, $2, $3, $4, $5)";
    let values = vec![
        to.into(),
        now().into(),
        kind.as_str().into(),
        detail.into(),
        link.into(),
    ];
    tx.later(SQL, values).await
}

/// A notification as listed.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Notification {
    /// `null` for a coaching action that falls due (derived, not stored).
    pub id: Option<i64>,
    pub at: Timestamp,
    /// `evaluation_submitted`, `evaluation_disputed`, `dispute_resolved`, `coaching_session`,
    /// `samples_assigned`, `calibration_invited`, `calibration_revealed`,
    /// `calibration_gate`, `action_due`.
    pub kind: String,
    pub detail: String,
    pub link: String,
    pub read: bool,
}

/// Today's day number (UTC), against which coaching actions fall due.
pub fn today() -> i64 {
    crate::contacts::calendar::day_number(chrono::Utc::now().date_naive())
}

/// Days before its due day that an open coaching action is announced.
pub const ACTION_NOTICE_DAYS: i64 = 2;

/// A person's notifications, unread first, then the newest: the stored ones (the latest 100) and
/// their open coaching actions due within [`ACTION_NOTICE_DAYS`] days or overdue.
pub async fn list(db: &Db, person: PersonId, today: i64) -> Result<Vec<Notification>, sqlx::Error> {
    const STORED: &str = "SELECT id, at, kind, detail, link, read_at IS NOT NULL AS read \
        FROM notifications WHERE person_id = $1 ORDER BY read_at IS NOT NULL, at DESC, id DESC LIMIT 100";
    let mut out: Vec<Notification> =
        on_db!(db, p => sqlx::query_as(STORED).bind(person).fetch_all(p).await)?;
    const DUE: &str = "SELECT a.description, a.due_day, s.id, s.created_at FROM coaching_actions a \
        JOIN coaching_sessions s ON s.id = a.session_id \
        WHERE s.agent_id = $1 AND a.done_at IS NULL AND a.due_day <= $2 ORDER BY a.due_day, a.id";
    let due: Vec<(String, i64, i64, i64)> = on_db!(db, p => sqlx::query_as(DUE)
        .bind(person).bind(today + ACTION_NOTICE_DAYS).fetch_all(p).await)?;
    let derived = due
        .into_iter()
        .map(|(description, day, session, at)| Notification {
            id: None,
            at,
            kind: "action_due".into(),
            detail: format!(
                "{} · {}",
                crate::contacts::calendar::date_of(day),
                description
            ),
            link: format!("/coaching/{session}"),
            read: false,
        });
    let mut all: Vec<Notification> = derived.collect();
    all.append(&mut out);
    Ok(all)
}

/// How many a person has not read, due actions included.
pub async fn unread(db: &Db, person: PersonId, today: i64) -> Result<usize, sqlx::Error> {
    Ok(list(db, person, today)
        .await?
        .iter()
        .filter(|n| !n.read)
        .count())
}

/// Marks every stored notification of a person read.
pub async fn mark_read(db: &Db, person: PersonId) -> Result<(), sqlx::Error> {
    const SQL: &str =
        "UPDATE notifications SET read_at = $1 WHERE person_id = $2 AND read_at IS NULL";
    on_db!(db, p => sqlx::query(SQL).bind(now()).bind(person).execute(p).await.map(|_| ()))
}
