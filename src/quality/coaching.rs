//! Coaching: a session with an agent, linked to the evaluations it is about, with strengths,
//! improvement points and agreed actions with due dates; the agent acknowledges it, and actions
//! are followed up until done.

use serde::Deserialize;

use super::evaluations::{self, Kind, Status, has_program_grant};
use super::notify;
use crate::audit::{self, Actor, Event};
use crate::auth::Principal;
use crate::contacts::calendar::{date_of, day_number, today_in};
use crate::contacts::routes::date;
use crate::domain::{PersonId, ProgramId, Role, Timestamp, now};
use crate::store::Db;
use crate::web::error::{AppError, AppResult};
use crate::{on_db, on_tx};

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAction {
    pub description: String,
    /// `YYYY-MM-DD`, in the program's time zone.
    pub due: String,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSession {
    pub program_id: ProgramId,
    pub agent_id: PersonId,
    #[serde(default)]
    pub strengths: String,
    #[serde(default)]
    pub improvements: String,
    #[serde(default)]
    pub notes: String,
    /// Submitted evaluations of the agent the session is about.
    #[serde(default)]
    pub evaluation_ids: Vec<i64>,
    #[serde(default)]
    pub actions: Vec<NewAction>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Action {
    pub id: i64,
    pub description: String,
    /// The due date, `YYYY-MM-DD`.
    pub due: String,
    pub done_at: Option<Timestamp>,
    pub follow_up: String,
    /// Open and past its due date.
    pub overdue: bool,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Session {
    pub id: i64,
    pub program_id: ProgramId,
    pub agent_id: PersonId,
    pub agent_name: String,
    pub coach_id: PersonId,
    pub coach_name: String,
    pub held_at: Timestamp,
    pub strengths: String,
    pub improvements: String,
    pub notes: String,
    pub acknowledged_at: Option<Timestamp>,
    pub evaluation_ids: Vec<i64>,
    pub actions: Vec<Action>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    program_id: ProgramId,
    agent_id: PersonId,
    agent_name: String,
    coach_id: PersonId,
    coach_name: String,
    held_at: Timestamp,
    strengths: String,
    improvements: String,
    notes: String,
    acknowledged_at: Option<Timestamp>,
}

const SESSION: &str = "SELECT s.id, s.program_id, s.agent_id, a.name AS agent_name, s.coach_id, \
    c.name AS coach_name, s.held_at, s.strengths, s.improvements, s.notes, s.acknowledged_at \
    FROM coaching_sessions s JOIN people a ON a.id = s.agent_id JOIN people c ON c.id = s.coach_id";

fn invalid(field: impl Into<String>, message: impl Into<String>) -> AppError {
    AppError::InvalidAt {
        field: field.into(),
        message: message.into(),
    }
}

/// Whether the person may coach the agent in the program: administrators, the program's
/// evaluators, and the team lead of a team the agent works in.
pub async fn may_coach(
    db: &Db,
    user: &Principal,
    program: ProgramId,
    agent: PersonId,
) -> AppResult<bool> {
    if user.person_id == agent {
        return Ok(false);
    }
    if user.is_admin() || has_program_grant(user, program, Role::Evaluator) {
        return Ok(true);
    }
    let theirs = crate::auth::access::load_grants(db, agent).await?;
    Ok(user.grants.iter().any(|mine| {
        mine.role == Role::TeamLead
            && mine.scope_program_id == Some(program)
            && theirs
                .iter()
                .any(|g| g.role == Role::Agent && g.team_id.is_some() && g.team_id == mine.team_id)
    }))
}

/// Records a session; the agent is told.
pub async fn create(
    db: &Db,
    user: &Principal,
    actor: &Actor,
    input: &NewSession,
) -> AppResult<Session> {
    user.check(crate::auth::Capability::ViewProgram(input.program_id))?;
    let agent_grants = crate::auth::access::load_grants(db, input.agent_id).await?;
    if !agent_grants
        .iter()
        .any(|g| g.role == Role::Agent && g.scope_program_id == Some(input.program_id))
    {
        return Err(invalid("agent_id", "not an agent of this program"));
    }
    if !may_coach(db, user, input.program_id, input.agent_id).await? {
        return Err(AppError::Forbidden);
    }
    for (field, text, max) in [
        ("strengths", &input.strengths, 4000),
        ("improvements", &input.improvements, 4000),
        ("notes", &input.notes, 8000),
    ] {
        if text.chars().count() > max {
            return Err(invalid(field, format!("is longer than {max} characters")));
        }
    }
    for (i, id) in input.evaluation_ids.iter().enumerate() {
        let e = evaluations::get(db, user, *id)
            .await
            .map_err(|_| invalid(format!("evaluation_ids[{i}]"), "no such evaluation"))?;
        if e.agent_id != Some(input.agent_id)
            || e.kind != Kind::Evaluation
            || e.status == Status::Draft
        {
            return Err(invalid(
                format!("evaluation_ids[{i}]"),
                "not a submitted evaluation of this agent",
            ));
        }
    }
    let mut actions = Vec::new();
    for (i, a) in input.actions.iter().enumerate() {
        let description = a.description.trim();
        if description.is_empty() || description.chars().count() > 1000 {
            return Err(invalid(
                format!("actions[{i}].description"),
                "describe the action in 1 to 1000 characters",
            ));
        }
        let due = date("due", &a.due).map_err(|_| {
            invalid(
                format!("actions[{i}].due"),
                format!("expected a date as YYYY-MM-DD, got {:?}", a.due),
            )
        })?;
        actions.push((description.to_owned(), day_number(due)));
    }
    if actions.len() > 20 {
        return Err(invalid("actions", "at most 20 actions per session"));
    }
    let at = now();
    let mut tx = db.begin().await?;
    const INSERT: &str = "INSERT INTO coaching_sessions (program_id, agent_id, coach_id, held_at, \
        strengths, improvements, notes, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $4) RETURNING id";
    let id: i64 = on_tx!(&mut tx, t => sqlx::query_scalar(INSERT)
        .bind(input.program_id).bind(input.agent_id).bind(user.person_id).bind(at)
        .bind(input.strengths.trim()).bind(input.improvements.trim()).bind(input.notes.trim())
        .fetch_one(t).await)?;
    const LINK: &str =
        "INSERT INTO coaching_evaluations (session_id, evaluation_id) VALUES ($1, $2)";
    let mut linked = input.evaluation_ids.clone();
    linked.sort_unstable();
    linked.dedup();
    for e in &linked {
        on_tx!(&mut tx, t => sqlx::query(LINK).bind(id).bind(e).execute(t).await.map(|_| ()))?;
    }
    const ACTION: &str =
        "INSERT INTO coaching_actions (session_id, description, due_day) VALUES ($1, $2, $3)";
    for (description, due) in &actions {
        on_tx!(&mut tx, t => sqlx::query(ACTION).bind(id).bind(description).bind(due)
            .execute(t).await.map(|_| ()))?;
    }
    let link = format!("/coaching/{id}");
    let detail = format!("{} actions", actions.len());
    notify::send(
        &mut tx,
        input.agent_id,
        notify::Kind::CoachingSession,
        &detail,
        &link,
    )
    .await?;
    audit::record(
        &mut tx,
        actor,
        Event::new("coaching.created")
            .object("coaching_session", id)
            .program(input.program_id)
            .detail(format!("agent {} · {detail}", input.agent_id)),
    )
    .await?;
    tx.commit().await?;
    read(db, id).await
}

async fn read(db: &Db, id: i64) -> AppResult<Session> {
    let sql = format!("{SESSION} WHERE s.id = $1");
    let r: Row = on_db!(db, p => sqlx::query_as(&sql).bind(id).fetch_optional(p).await)?
        .ok_or(AppError::NotFound)?;
    const EVALUATIONS: &str = "SELECT evaluation_id FROM coaching_evaluations WHERE session_id = $1 ORDER BY evaluation_id";
    let evaluation_ids: Vec<i64> =
        on_db!(db, p => sqlx::query_scalar(EVALUATIONS).bind(id).fetch_all(p).await)?;
    const ACTIONS: &str = "SELECT id, description, due_day, done_at, follow_up FROM coaching_actions \
        WHERE session_id = $1 ORDER BY due_day, id";
    let rows: Vec<(i64, String, i64, Option<Timestamp>, String)> =
        on_db!(db, p => sqlx::query_as(ACTIONS).bind(id).fetch_all(p).await)?;
    let today = today_in(crate::programs::zone(db, r.program_id).await?);
    Ok(Session {
        id: r.id,
        program_id: r.program_id,
        agent_id: r.agent_id,
        agent_name: r.agent_name,
        coach_id: r.coach_id,
        coach_name: r.coach_name,
        held_at: r.held_at,
        strengths: r.strengths,
        improvements: r.improvements,
        notes: r.notes,
        acknowledged_at: r.acknowledged_at,
        evaluation_ids,
        actions: rows
            .into_iter()
            .map(|(id, description, due, done_at, follow_up)| Action {
                id,
                description,
                due: date_of(due).to_string(),
                overdue: done_at.is_none() && due < today,
                done_at,
                follow_up,
            })
            .collect(),
    })
}

/// Whether the person may read the session: its agent, its coach, and whoever may coach the agent.
async fn may_read(db: &Db, user: &Principal, s: &Session) -> AppResult<bool> {
    Ok(s.agent_id == user.person_id
        || s.coach_id == user.person_id
        || may_coach(db, user, s.program_id, s.agent_id).await?)
}

pub async fn get(db: &Db, user: &Principal, id: i64) -> AppResult<Session> {
    let s = read(db, id).await?;
    if may_read(db, user, &s).await? {
        Ok(s)
    } else {
        Err(AppError::NotFound)
    }
}

/// The sessions the person had as agent or coach, or of one agent they may see; newest first.
pub async fn list(db: &Db, user: &Principal, agent: Option<PersonId>) -> AppResult<Vec<Session>> {
    let ids: Vec<i64> = match agent {
        Some(a) => {
            const SQL: &str = "SELECT id FROM coaching_sessions WHERE agent_id = $1 ORDER BY held_at DESC, id DESC";
            on_db!(db, p => sqlx::query_scalar(SQL).bind(a).fetch_all(p).await)?
        }
        None => {
            const SQL: &str = "SELECT id FROM coaching_sessions WHERE agent_id = $1 OR coach_id = $1 \
                ORDER BY held_at DESC, id DESC";
            on_db!(db, p => sqlx::query_scalar(SQL).bind(user.person_id).fetch_all(p).await)?
        }
    };
    let mut out = Vec::new();
    for id in ids {
        let s = read(db, id).await?;
        if may_read(db, user, &s).await? {
            out.push(s);
        }
    }
    Ok(out)
}

/// The agent confirms the session and its actions.
pub async fn acknowledge(db: &Db, user: &Principal, actor: &Actor, id: i64) -> AppResult<Session> {
    let s = get(db, user, id).await?;
    if s.agent_id != user.person_id {
        return Err(AppError::Forbidden);
    }
    let mut tx = db.begin().await?;
    const SQL: &str = "UPDATE coaching_sessions SET acknowledged_at = $1 WHERE id = $2 AND acknowledged_at IS NULL";
    on_tx!(&mut tx, t => sqlx::query(SQL).bind(now()).bind(id).execute(t).await.map(|_| ()))?;
    audit::record(
        &mut tx,
        actor,
        Event::new("coaching.acknowledged")
            .object("coaching_session", id)
            .program(s.program_id),
    )
    .await?;
    tx.commit().await?;
    read(db, id).await
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Done {
    /// How it went, as followed up.
    #[serde(default)]
    pub follow_up: String,
}

/// An action is done: marked by the agent or the coach, with the follow-up.
pub async fn complete_action(
    db: &Db,
    user: &Principal,
    actor: &Actor,
    action: i64,
    done: &Done,
) -> AppResult<Session> {
    const SESSION_OF: &str = "SELECT session_id FROM coaching_actions WHERE id = $1";
    let session: i64 =
        on_db!(db, p => sqlx::query_scalar(SESSION_OF).bind(action).fetch_optional(p).await)?
            .ok_or(AppError::NotFound)?;
    let s = get(db, user, session).await?;
    if done.follow_up.chars().count() > 4000 {
        return Err(invalid("follow_up", "is longer than 4000 characters"));
    }
    let mut tx = db.begin().await?;
    const SQL: &str =
        "UPDATE coaching_actions SET done_at = COALESCE(done_at, $1), follow_up = $2 WHERE id = $3";
    on_tx!(&mut tx, t => sqlx::query(SQL).bind(now()).bind(done.follow_up.trim()).bind(action)
        .execute(t).await.map(|_| ()))?;
    audit::record(
        &mut tx,
        actor,
        Event::new("coaching.action_done")
            .object("coaching_action", action)
            .program(s.program_id),
    )
    .await?;
    tx.commit().await?;
    read(db, session).await
}
