//! The calibration gate: a program can require that evaluators' answers match the reference at
//! least so often in their last session. Whoever falls short sees a warning on the evaluations
//! they work on, and the session's facilitator is told once the session's reference is complete.

use serde::{Deserialize, Serialize};

use super::session;
use crate::audit::{self, Actor, Event};
use crate::auth::Principal;
use crate::domain::{PersonId, ProgramId, now};
use crate::quality::notify;
use crate::store::Db;
use crate::web::error::{AppError, AppResult};
use crate::{on_db, on_tx};

/// The program's gate: the least share of answers equal to the reference, or none.
pub async fn setting(db: &Db, program: ProgramId) -> Result<Option<f64>, sqlx::Error> {
    const SQL: &str = "SELECT min_exact FROM calibration_gates WHERE program_id = $1";
    on_db!(db, p => sqlx::query_scalar(SQL).bind(program).fetch_optional(p).await)
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GateInput {
    /// The least share (0–1, above 0) of an evaluator's answers equal to the reference in their
    /// last session; `null` turns the gate off.
    pub min_exact: Option<f64>,
}

/// Sets or removes a program's gate (administrators and the program's evaluators).
pub async fn set(
    db: &Db,
    user: &Principal,
    actor: &Actor,
    program: ProgramId,
    input: &GateInput,
) -> AppResult<()> {
    user.check(crate::auth::Capability::ViewProgram(program))?;
    if !session::may_facilitate(user, program) {
        return Err(AppError::Forbidden);
    }
    if let Some(m) = input.min_exact
        && !(m > 0.0 && m <= 1.0)
    {
        return Err(AppError::InvalidAt {
            field: "min_exact".into(),
            message: "a share above 0 and at most 1".into(),
        });
    }
    let mut tx = db.begin().await?;
    match input.min_exact {
        Some(m) => {
            const SQL: &str = "INSERT INTO calibration_gates (program_id, min_exact, updated_at) \
                VALUES ($1, $2, $3) ON CONFLICT (program_id) DO UPDATE SET \
                min_exact = excluded.min_exact, updated_at = excluded.updated_at";
            on_tx!(&mut tx, t => sqlx::query(SQL).bind(program).bind(m).bind(now())
                .execute(t).await.map(|_| ()))?;
        }
        None => {
            const SQL: &str = "DELETE FROM calibration_gates WHERE program_id = $1";
            on_tx!(&mut tx, t => sqlx::query(SQL).bind(program).execute(t).await.map(|_| ()))?;
        }
    }
    let detail = input
        .min_exact
        .map(|m| format!("{:.0} %", m * 100.0))
        .unwrap_or_else(|| "off".into());
    audit::record(
        &mut tx,
        actor,
        Event::new("calibration.gate")
            .object("program", program.0)
            .program(program)
            .detail(detail),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// An evaluator under the gate after their last session.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Shortfall {
    pub person_id: PersonId,
    pub name: String,
    pub session_id: i64,
    pub session_title: String,
    /// Their answers equal to the reference ÷ answers compared.
    pub exact_share: f64,
    pub min_exact: f64,
}

/// The person's last session in the program with a reference, with its title.
async fn last_session(
    db: &Db,
    person: PersonId,
    program: ProgramId,
) -> Result<Option<(i64, String)>, sqlx::Error> {
    const SQL: &str = "SELECT s.id, s.title FROM calibration_sessions s \
        JOIN calibration_participants p ON p.session_id = s.id AND p.person_id = $1 \
        WHERE s.program_id = $2 AND (s.revealed_at IS NOT NULL OR s.reveal_required = FALSE) \
          AND EXISTS (SELECT 1 FROM calibration_references r WHERE r.session_id = s.id) \
        ORDER BY s.held_on DESC, s.id DESC LIMIT 1";
    on_db!(db, p => sqlx::query_as(SQL).bind(person).bind(program).fetch_optional(p).await)
}

/// Whether `person` fell under the program's gate in their last session, as `user` may see it
/// (the person themselves, or who runs the program's calibration).
pub async fn shortfall(
    db: &Db,
    user: &Principal,
    person: PersonId,
    program: ProgramId,
) -> AppResult<Option<Shortfall>> {
    let Some(min) = setting(db, program).await? else {
        return Ok(None);
    };
    let Some((id, title)) = last_session(db, person, program).await? else {
        return Ok(None);
    };
    let Some(results) = session::visible_results(db, user, id).await? else {
        return Ok(None);
    };
    Ok(results
        .participants
        .iter()
        .find(|p| p.person_id == person)
        .and_then(|p| Some((p.name.clone(), p.vs_reference.exact_share?)))
        .filter(|(_, share)| *share < min)
        .map(|(name, exact_share)| Shortfall {
            person_id: person,
            name,
            session_id: id,
            session_title: title,
            exact_share,
            min_exact: min,
        }))
}

/// Everybody who took part in the program's sessions and is under its gate now.
pub async fn shortfalls(
    db: &Db,
    user: &Principal,
    program: ProgramId,
) -> AppResult<Vec<Shortfall>> {
    user.check(crate::auth::Capability::ViewProgram(program))?;
    if !session::may_facilitate(user, program) {
        return Err(AppError::Forbidden);
    }
    const SQL: &str = "SELECT DISTINCT p.person_id FROM calibration_participants p \
        JOIN calibration_sessions s ON s.id = p.session_id WHERE s.program_id = $1";
    let people: Vec<PersonId> =
        on_db!(db, p => sqlx::query_scalar(SQL).bind(program).fetch_all(p).await)?;
    let mut out = Vec::new();
    for person in people {
        if let Some(s) = shortfall(db, user, person, program).await? {
            out.push(s);
        }
    }
    out.sort_by(|a, b| a.exact_share.total_cmp(&b.exact_share));
    Ok(out)
}

/// Once every contact of a session has its full reference, tells the facilitator of each
/// participant under the gate (once per session and participant).
pub async fn tell_facilitator(db: &Db, user: &Principal, id: i64) -> AppResult<()> {
    let s = session::get(db, user, id).await?;
    let Some(min) = setting(db, s.program_id).await? else {
        return Ok(());
    };
    let results = session::results(db, user, id).await?;
    if results.reference_scores.values().any(Option::is_none) {
        return Ok(());
    }
    for p in &results.participants {
        let Some(share) = p.vs_reference.exact_share.filter(|x| *x < min) else {
            continue;
        };
        let mut tx = db.begin().await?;
        const SQL: &str = "INSERT INTO calibration_gate_notices (session_id, person_id) \
            VALUES ($1, $2) ON CONFLICT (session_id, person_id) DO NOTHING";
        let fresh = on_tx!(&mut tx, t => sqlx::query(SQL).bind(id).bind(p.person_id)
            .execute(t).await.map(|r| r.rows_affected()))?;
        if fresh == 1 {
            let detail = format!(
                "{}: {:.0} % < {:.0} % · {}",
                p.name,
                share * 100.0,
                min * 100.0,
                s.title
            );
            notify::send(
                &mut tx,
                s.facilitator_id,
                notify::Kind::CalibrationGate,
                &detail,
                &format!("/calibration/{id}"),
            )
            .await?;
            let actor = Actor {
                label: "calibration gate".into(),
                ..Actor::cli()
            };
            audit::record(
                &mut tx,
                &actor,
                Event::new("calibration.gate_fell_short")
                    .object("calibration_session", id)
                    .program(s.program_id)
                    .detail(detail),
            )
            .await?;
        }
        tx.commit().await?;
    }
    Ok(())
}
