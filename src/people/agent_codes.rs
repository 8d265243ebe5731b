//! Agent codes: how a program's contact records name a person (a login, an extension, an e-mail
//! address). They let agents see their own figures and contacts, and team leads their team's.

use std::collections::BTreeSet;

use crate::audit::{self, Actor, Event};
use crate::auth::{Capability, Principal};
use crate::domain::{InvalidValue, PersonId, ProgramId, Role};
use crate::store::{Db, is_unique_violation};
use crate::web::error::{AppError, AppResult};
use crate::{on_db, on_tx};

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct AgentCode {
    pub program_id: ProgramId,
    pub program_name: String,
    pub code: String,
}

pub async fn of_person(db: &Db, person: PersonId) -> Result<Vec<AgentCode>, sqlx::Error> {
    const SQL: &str = "SELECT a.program_id, p.name AS program_name, a.code FROM agent_codes a \
                       JOIN programs p ON p.id = a.program_id WHERE a.person_id = $1 ORDER BY p.name, a.code";
    on_db!(db, p => sqlx::query_as(SQL).bind(person).fetch_all(p).await)
}

pub async fn add(
    db: &Db,
    actor: &Actor,
    person: PersonId,
    program: ProgramId,
    code: &str,
) -> AppResult<()> {
    let code = code.trim();
    if code.is_empty() || code.chars().count() > 200 {
        return Err(
            InvalidValue::new("code", "required", "an agent code has 1 to 200 characters").into(),
        );
    }
    crate::programs::find(db, program)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut tx = db.begin().await?;
    const SQL: &str = "INSERT INTO agent_codes (program_id, code, person_id) VALUES ($1, $2, $3)";
    let res = on_tx!(&mut tx, c => sqlx::query(SQL).bind(program).bind(code).bind(person).execute(c).await.map(|_| ()));
    match res {
        Err(e) if is_unique_violation(&e) => {
            return Err(AppError::Conflict {
                field: Some("code"),
                message: format!("the code {code:?} already belongs to someone in this program"),
            });
        }
        other => other?,
    }
    audit::record(
        &mut tx,
        actor,
        Event::new("agent_code.added")
            .object("person", person)
            .program(program)
            .detail(code.to_owned()),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn remove(
    db: &Db,
    actor: &Actor,
    person: PersonId,
    program: ProgramId,
    code: &str,
) -> AppResult<()> {
    let mut tx = db.begin().await?;
    const SQL: &str =
        "DELETE FROM agent_codes WHERE program_id = $1 AND code = $2 AND person_id = $3";
    let n = on_tx!(&mut tx, c => sqlx::query(SQL).bind(program).bind(code).bind(person).execute(c).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        return Err(AppError::NotFound);
    }
    audit::record(
        &mut tx,
        actor,
        Event::new("agent_code.removed")
            .object("person", person)
            .program(program)
            .detail(code.to_owned()),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Whose contacts and figures of a program a person may see: `None` for all of them (the
/// program-wide roles), else the agent codes of themselves (agent) and of their teams' agents
/// (team lead). Outside the program's scope: not found.
pub async fn figure_scope(
    db: &Db,
    user: &Principal,
    program: ProgramId,
) -> AppResult<Option<BTreeSet<String>>> {
    match user.check(Capability::ViewProgramFigures(program)) {
        Ok(()) => return Ok(None),
        Err(crate::auth::access::Denied::NotFound) => return Err(AppError::NotFound),
        Err(crate::auth::access::Denied::Forbidden) => {}
    }
    let agent_here = user
        .grants
        .iter()
        .any(|g| g.scope_program_id == Some(program) && g.role == Role::Agent);
    let led: Vec<crate::domain::TeamId> = user
        .grants
        .iter()
        .filter(|g| g.scope_program_id == Some(program) && g.role == Role::TeamLead)
        .filter_map(|g| g.team_id)
        .collect();
    // One query: the codes of oneself (as an agent) and of the agents of the teams one leads.
    let teams: Vec<String> = (0..led.len()).map(|i| format!("${}", i + 3)).collect();
    let members = if teams.is_empty() {
        String::new()
    } else {
        format!(
            " OR person_id IN (SELECT person_id FROM grants WHERE role = 'agent' AND team_id IN ({}))",
            teams.join(", ")
        )
    };
    let sql = format!(
        "SELECT code FROM agent_codes WHERE program_id = $1 AND ((person_id = $2 AND $2 <> 0){members})"
    );
    let me = if agent_here { user.person_id.0 } else { 0 };
    let codes: Vec<String> = on_db!(db, p => {
        let mut q = sqlx::query_scalar(&sql).bind(program).bind(me);
        for t in &led {
            q = q.bind(*t);
        }
        q.fetch_all(p).await
    })?;
    let codes: BTreeSet<String> = codes.into_iter().collect();
    Ok(Some(codes))
}

/// The agent codes of a team's agents in its program; `None` when the program has no such team.
pub async fn team_codes(
    db: &Db,
    program: ProgramId,
    team: crate::domain::TeamId,
) -> Result<Option<BTreeSet<String>>, sqlx::Error> {
    const TEAM: &str = "SELECT 1 FROM teams WHERE id = $1 AND program_id = $2";
    const CODES: &str = "SELECT code FROM agent_codes WHERE program_id = $1 AND person_id IN \
                         (SELECT person_id FROM grants WHERE role = 'agent' AND team_id = $2)";
    let known: Option<i32> =
        on_db!(db, p => sqlx::query_scalar(TEAM).bind(team).bind(program).fetch_optional(p).await)?;
    if known.is_none() {
        return Ok(None);
    }
    let codes: Vec<String> =
        on_db!(db, p => sqlx::query_scalar(CODES).bind(program).bind(team).fetch_all(p).await)?;
    Ok(Some(codes.into_iter().collect()))
}
