//! Assignments: each evaluator's queue of sampled contacts, whether each is done (a submitted
//! evaluation of the contact exists), open or overdue, and per evaluator how the program keeps up.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::store::{check_manage, may_evaluate, may_manage};
use crate::audit::{self, Actor, Event};
use crate::auth::Principal;
use crate::contacts::calendar::{date_of, local_day, today_in};
use crate::domain::{PersonId, ProgramId, Timestamp};
use crate::quality::notify;
use crate::store::Db;
use crate::web::error::{AppError, AppResult};
use crate::{on_db, on_tx};

/// Where an assignment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Not evaluated yet, due date not passed.
    Open,
    /// Not evaluated and past its due date.
    Overdue,
    /// A submitted evaluation of the contact exists.
    Done,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Open => "open",
            State::Overdue => "overdue",
            State::Done => "done",
        }
    }

    pub fn label_key(self) -> &'static str {
        match self {
            State::Open => "sampling.state_open",
            State::Overdue => "sampling.state_overdue",
            State::Done => "sampling.state_done",
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Assignment {
    pub id: i64,
    pub plan_id: i64,
    pub plan_name: String,
    pub program_id: ProgramId,
    pub contact_id: i64,
    pub contact_external_id: String,
    pub channel: String,
    pub agent_code: String,
    /// The person behind the agent code, when linked.
    pub agent_name: Option<String>,
    pub evaluator_id: PersonId,
    pub evaluator_name: String,
    /// `random` or the targeted rule that drew it.
    pub reason: String,
    /// The sampled week's Monday, `YYYY-MM-DD`.
    pub week: String,
    /// `YYYY-MM-DD`, in the program's time zone.
    pub due: String,
    pub state: State,
    /// When the first evaluation of the contact was submitted.
    pub done_at: Option<Timestamp>,
    /// Done by the due date.
    pub on_time: Option<bool>,
    /// The assigned evaluator's own evaluation of the contact, draft or submitted.
    pub evaluation_id: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    plan_id: i64,
    plan_name: String,
    program_id: ProgramId,
    contact_id: i64,
    external_id: String,
    channel: String,
    agent_code: String,
    agent_name: Option<String>,
    evaluator_id: PersonId,
    evaluator_name: String,
    reason: String,
    week_day: i64,
    due_day: i64,
    done_at: Option<Timestamp>,
    evaluation_id: Option<i64>,
}

const ROWS: &str = "SELECT * FROM (SELECT a.id, a.plan_id, p.name AS plan_name, a.program_id, \
    a.contact_id, c.external_id, c.channel, a.agent_code, ag.name AS agent_name, a.evaluator_id, \
    ev.name AS evaluator_name, a.reason, a.week_day, a.due_day, \
    (SELECT MIN(e.submitted_at) FROM evaluations e WHERE e.contact_id = a.contact_id \
       AND e.kind = 'evaluation' AND e.status <> 'draft') AS done_at, \
    (SELECT MAX(e.id) FROM evaluations e WHERE e.contact_id = a.contact_id \
       AND e.evaluator_id = a.evaluator_id AND e.kind = 'evaluation') AS evaluation_id \
    FROM sample_assignments a \
    JOIN sampling_plans p ON p.id = a.plan_id \
    JOIN contacts c ON c.id = a.contact_id \
    JOIN people ev ON ev.id = a.evaluator_id \
    LEFT JOIN agent_codes k ON k.program_id = a.program_id AND k.code = a.agent_code \
    LEFT JOIN people ag ON ag.id = k.person_id";

/// Which assignments to list.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Filter {
    /// One program's (for those who run its sampling).
    pub program_id: Option<ProgramId>,
    /// One evaluator's; without a program, the caller's own.
    pub evaluator_id: Option<PersonId>,
    pub plan_id: Option<i64>,
    /// `open`, `overdue` or `done`; left out: all.
    pub state: Option<String>,
    /// Assignments done in the last this many days are listed too (default 28).
    pub done_days: Option<i64>,
}

fn to_assignment(r: Row, today: i64, tz: chrono_tz::Tz) -> Assignment {
    let state = match r.done_at {
        Some(_) => State::Done,
        None if today > r.due_day => State::Overdue,
        None => State::Open,
    };
    Assignment {
        id: r.id,
        plan_id: r.plan_id,
        plan_name: r.plan_name,
        program_id: r.program_id,
        contact_id: r.contact_id,
        contact_external_id: r.external_id,
        channel: r.channel,
        agent_code: r.agent_code,
        agent_name: r.agent_name,
        evaluator_id: r.evaluator_id,
        evaluator_name: r.evaluator_name,
        reason: r.reason,
        week: date_of(r.week_day).to_string(),
        due: date_of(r.due_day).to_string(),
        state,
        on_time: r.done_at.map(|at| local_day(tz, at) <= r.due_day),
        done_at: r.done_at,
        evaluation_id: r.evaluation_id,
    }
}

/// Assignments, open first by due date, then those done. Evaluators read their own queue;
/// those who run a program's sampling read all of its assignments.
pub async fn list(db: &Db, user: &Principal, f: &Filter) -> AppResult<Vec<Assignment>> {
    let state = match f.state.as_deref() {
        None | Some("") => None,
        Some(s @ ("open" | "overdue" | "done")) => Some(s),
        Some(other) => {
            return Err(AppError::InvalidAt {
                field: "state".into(),
                message: format!("expected open, overdue or done, got {other:?}"),
            });
        }
    };
    let evaluator = match (f.program_id, f.evaluator_id) {
        (Some(p), who) => {
            check_manage(user, p)?;
            who
        }
        (None, Some(who)) if who != user.person_id => return Err(AppError::Forbidden),
        (None, _) => Some(user.person_id),
    };
    let done_days = f.done_days.unwrap_or(28).clamp(0, 3660);
    let sql = format!(
        "{ROWS} WHERE ($1 IS NULL OR a.program_id = $1) AND ($2 IS NULL OR a.evaluator_id = $2) \
         AND ($3 IS NULL OR a.plan_id = $3)) x \
         WHERE x.done_at IS NULL OR x.done_at >= $4 ORDER BY x.done_at IS NOT NULL, x.due_day, x.id \
         LIMIT 2000"
    );
    let horizon = crate::domain::now() - done_days * 86_400_000;
    let rows: Vec<Row> = on_db!(db, p => sqlx::query_as(&sql)
        .bind(f.program_id.map(|p| p.0)).bind(evaluator.map(|e| e.0)).bind(f.plan_id)
        .bind(horizon).fetch_all(p).await)?;
    let mut zones: BTreeMap<ProgramId, chrono_tz::Tz> = BTreeMap::new();
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let tz = match zones.get(&r.program_id) {
            Some(tz) => *tz,
            None => {
                let tz = crate::programs::zone(db, r.program_id).await?;
                zones.insert(r.program_id, tz);
                tz
            }
        };
        let a = to_assignment(r, today_in(tz), tz);
        if state.is_none_or(|s| s == a.state.as_str()) {
            out.push(a);
        }
    }
    Ok(out)
}

/// How one evaluator keeps up with a program's assignments.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Tracking {
    pub evaluator_id: PersonId,
    pub evaluator_name: String,
    pub open: i64,
    pub overdue: i64,
    pub done: i64,
    /// Of those done, done by their due date.
    pub on_time: i64,
}

/// Per evaluator: open, overdue, and done assignments (those listed: done in the last 28 days).
pub fn tracking(assignments: &[Assignment]) -> Vec<Tracking> {
    let mut by: BTreeMap<(String, PersonId), Tracking> = BTreeMap::new();
    for a in assignments {
        let t = by
            .entry((a.evaluator_name.clone(), a.evaluator_id))
            .or_insert_with(|| Tracking {
                evaluator_id: a.evaluator_id,
                evaluator_name: a.evaluator_name.clone(),
                open: 0,
                overdue: 0,
                done: 0,
                on_time: 0,
            });
        match a.state {
            State::Open => t.open += 1,
            State::Overdue => t.overdue += 1,
            State::Done => {
                t.done += 1;
                t.on_time += i64::from(a.on_time == Some(true));
            }
        }
    }
    by.into_values().collect()
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reassign {
    pub evaluator_id: PersonId,
}

/// The program an assignment belongs to.
pub async fn program_of(db: &Db, id: i64) -> AppResult<ProgramId> {
    const SQL: &str = "SELECT program_id FROM sample_assignments WHERE id = $1";
    on_db!(db, p => sqlx::query_scalar(SQL).bind(id).fetch_optional(p).await)?
        .ok_or(AppError::NotFound)
}

/// Gives an assignment that is not done to another evaluator of the program, who is told.
pub async fn reassign(
    db: &Db,
    user: &Principal,
    actor: &Actor,
    id: i64,
    to: &Reassign,
) -> AppResult<Assignment> {
    let sql = format!("{ROWS} WHERE a.id = $1) x");
    let row: Row = on_db!(db, p => sqlx::query_as(&sql).bind(id).fetch_optional(p).await)?
        .ok_or(AppError::NotFound)?;
    if !may_manage(user, row.program_id) {
        return Err(AppError::NotFound);
    }
    if row.done_at.is_some() {
        return Err(AppError::Conflict {
            field: None,
            message: "the contact is evaluated already".into(),
        });
    }
    let agent: Option<PersonId> = {
        const SQL: &str = "SELECT person_id FROM agent_codes WHERE program_id = $1 AND code = $2";
        on_db!(db, p => sqlx::query_scalar(SQL).bind(row.program_id).bind(&row.agent_code)
            .fetch_optional(p).await)?
    };
    if !may_evaluate(db, to.evaluator_id, row.program_id).await? || agent == Some(to.evaluator_id) {
        return Err(AppError::InvalidAt {
            field: "evaluator_id".into(),
            message: "not an evaluator of this program who may evaluate this agent".into(),
        });
    }
    let program = row.program_id;
    let mut tx = db.begin().await?;
    const SQL: &str = "UPDATE sample_assignments SET evaluator_id = $1 WHERE id = $2";
    on_tx!(&mut tx, t => sqlx::query(SQL).bind(to.evaluator_id).bind(id)
        .execute(t).await.map(|_| ()))?;
    let due = date_of(row.due_day).to_string();
    notify::send(
        &mut tx,
        to.evaluator_id,
        notify::Kind::SamplesAssigned,
        &format!("1 · {} · {due}", row.plan_name),
        "/assignments",
    )
    .await?;
    audit::record(
        &mut tx,
        actor,
        Event::new("sampling.reassigned")
            .object("sample_assignment", id)
            .program(program)
            .detail(format!("to {}", to.evaluator_id)),
    )
    .await?;
    tx.commit().await?;
    let sql = format!("{ROWS} WHERE a.id = $1) x");
    let row: Row = on_db!(db, p => sqlx::query_as(&sql).bind(id).fetch_one(p).await)?;
    let tz = crate::programs::zone(db, program).await?;
    Ok(to_assignment(row, today_in(tz), tz))
}
