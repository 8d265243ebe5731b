//! Client programs (one per outsourcing client or line of business, with its time zone) and
//! their teams.

pub mod routes;

use serde::Deserialize;

use crate::audit::{self, Actor, Event};
use crate::auth::{Principal, ProgramScope};
use crate::domain::{
    ProgramCode, ProgramId, ProgramName, TeamId, TeamName, TimeZoneName, Timestamp, now,
};
use crate::store::{Db, is_unique_violation};
use crate::web::error::{AppError, AppResult};
use crate::{on_db, on_tx};

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Program {
    pub id: ProgramId,
    pub code: String,
    pub name: String,
    /// IANA time zone the program's intervals and days are reported in.
    pub timezone: String,
    pub active: bool,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Team {
    pub id: TeamId,
    pub program_id: ProgramId,
    pub name: String,
    pub created_at: Timestamp,
}

/// A program as submitted by a form, the API or the command line.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct ProgramInput {
    /// Short code, 2 to 32 letters, digits, `-` or `_`; stored upper-case.
    pub code: String,
    pub name: String,
    /// IANA time zone, e.g. `Europe/Berlin`.
    pub timezone: String,
}

/// A change to a program; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct ProgramPatch {
    pub name: Option<String>,
    pub timezone: Option<String>,
    pub active: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct TeamInput {
    pub name: String,
}

const COLUMNS: &str = "id, code, name, timezone, active, created_at";

pub async fn all(db: &Db) -> Result<Vec<Program>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM programs ORDER BY name, id");
    on_db!(db, p => sqlx::query_as(&sql).fetch_all(p).await)
}

/// The programs a scope reaches, by name.
pub async fn list_visible(db: &Db, scope: &ProgramScope) -> Result<Vec<Program>, sqlx::Error> {
    Ok(all(db)
        .await?
        .into_iter()
        .filter(|p| scope.contains(p.id))
        .collect())
}

pub async fn find(db: &Db, id: ProgramId) -> Result<Option<Program>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM programs WHERE id = $1");
    on_db!(db, p => sqlx::query_as(&sql).bind(id).fetch_optional(p).await)
}

/// A program the person may see; anything else is "not found".
pub async fn find_visible(db: &Db, user: &Principal, id: ProgramId) -> AppResult<Program> {
    user.check(crate::auth::Capability::ViewProgram(id))?;
    find(db, id).await?.ok_or(AppError::NotFound)
}

pub async fn find_by_code(db: &Db, code: &str) -> Result<Option<Program>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM programs WHERE code = $1");
    let code = code.trim().to_ascii_uppercase();
    on_db!(db, p => sqlx::query_as(&sql).bind(code).fetch_optional(p).await)
}

pub async fn create(db: &Db, actor: &Actor, input: &ProgramInput) -> AppResult<Program> {
    let code = ProgramCode::parse(&input.code)?;
    let name = ProgramName::parse(&input.name)?;
    let tz = TimeZoneName::parse(&input.timezone)?;
    let mut tx = db.begin().await?;
    let sql = format!(
        "INSERT INTO programs (code, name, timezone, active, created_at) VALUES ($1, $2, $3, TRUE, $4) RETURNING {COLUMNS}"
    );
    let res: Result<Program, sqlx::Error> = on_tx!(&mut tx, c => sqlx::query_as(&sql)
        .bind(code.as_str()).bind(name.as_str()).bind(tz.as_str()).bind(now())
        .fetch_one(c).await);
    let program = match res {
        Ok(p) => p,
        Err(e) if is_unique_violation(&e) => {
            return Err(AppError::Conflict {
                field: Some("code"),
                message: format!("a program with code {} already exists", code.as_str()),
            });
        }
        Err(e) => return Err(e.into()),
    };
    audit::record(
        &mut tx,
        actor,
        Event::new("program.created")
            .object("program", program.id)
            .program(program.id)
            .detail(format!(
                "{} {} ({})",
                program.code, program.name, program.timezone
            )),
    )
    .await?;
    tx.commit().await?;
    Ok(program)
}

pub async fn update(
    db: &Db,
    actor: &Actor,
    id: ProgramId,
    patch: &ProgramPatch,
) -> AppResult<Program> {
    let current = find(db, id).await?.ok_or(AppError::NotFound)?;
    let name = match &patch.name {
        Some(n) => ProgramName::parse(n)?.as_str().to_owned(),
        None => current.name.clone(),
    };
    let tz = match &patch.timezone {
        Some(t) => TimeZoneName::parse(t)?.as_str().to_owned(),
        None => current.timezone.clone(),
    };
    let active = patch.active.unwrap_or(current.active);
    let mut tx = db.begin().await?;
    let sql = format!(
        "UPDATE programs SET name = $1, timezone = $2, active = $3 WHERE id = $4 RETURNING {COLUMNS}"
    );
    let updated: Program = on_tx!(&mut tx, c => sqlx::query_as(&sql)
        .bind(&name).bind(&tz).bind(active).bind(id).fetch_one(c).await)?;
    let mut changes = Vec::new();
    if current.name != updated.name {
        changes.push(format!("name: {} → {}", current.name, updated.name));
    }
    if current.timezone != updated.timezone {
        changes.push(format!(
            "timezone: {} → {}",
            current.timezone, updated.timezone
        ));
    }
    if current.active != updated.active {
        changes.push(format!("active: {} → {}", current.active, updated.active));
    }
    audit::record(
        &mut tx,
        actor,
        Event::new("program.updated")
            .object("program", id)
            .program(id)
            .detail(changes.join("; ")),
    )
    .await?;
    tx.commit().await?;
    if current.timezone != updated.timezone {
        // Local days, weeks and months moved: recount the program's rollups.
        let settings = crate::contacts::report::KpiSettings::default();
        crate::contacts::rollup::rebuild(db, id, &settings).await?;
    }
    Ok(updated)
}

pub async fn teams_of(db: &Db, program: ProgramId) -> Result<Vec<Team>, sqlx::Error> {
    const SQL: &str = "SELECT id, program_id, name, created_at FROM teams WHERE program_id = $1 ORDER BY name, id";
    on_db!(db, p => sqlx::query_as(SQL).bind(program).fetch_all(p).await)
}

/// The teams of a program the person may see: all of them with a program-wide grant, else
/// only their own and those they lead.
pub async fn teams_visible(db: &Db, user: &Principal, program: ProgramId) -> AppResult<Vec<Team>> {
    user.check(crate::auth::Capability::ViewTeamsOf(program))?;
    let teams = teams_of(db, program).await?;
    Ok(match user.team_filter(program) {
        None => teams,
        Some(own) => teams.into_iter().filter(|t| own.contains(&t.id)).collect(),
    })
}

pub async fn find_team(db: &Db, id: TeamId) -> Result<Option<Team>, sqlx::Error> {
    const SQL: &str = "SELECT id, program_id, name, created_at FROM teams WHERE id = $1";
    on_db!(db, p => sqlx::query_as(SQL).bind(id).fetch_optional(p).await)
}

pub async fn find_team_by_name(
    db: &Db,
    program: ProgramId,
    name: &str,
) -> Result<Option<Team>, sqlx::Error> {
    const SQL: &str =
        "SELECT id, program_id, name, created_at FROM teams WHERE program_id = $1 AND name = $2";
    on_db!(db, p => sqlx::query_as(SQL).bind(program).bind(name.trim()).fetch_optional(p).await)
}

pub async fn create_team(
    db: &Db,
    actor: &Actor,
    program: ProgramId,
    input: &TeamInput,
) -> AppResult<Team> {
    let name = TeamName::parse(&input.name)?;
    find(db, program).await?.ok_or(AppError::NotFound)?;
    let mut tx = db.begin().await?;
    const SQL: &str = "INSERT INTO teams (program_id, name, created_at) VALUES ($1, $2, $3) \
                       RETURNING id, program_id, name, created_at";
    let res: Result<Team, sqlx::Error> = on_tx!(&mut tx, c => sqlx::query_as(SQL)
        .bind(program).bind(name.as_str()).bind(now()).fetch_one(c).await);
    let team = match res {
        Ok(t) => t,
        Err(e) if is_unique_violation(&e) => {
            return Err(AppError::Conflict {
                field: Some("name"),
                message: format!("the program already has a team called {}", name.as_str()),
            });
        }
        Err(e) => return Err(e.into()),
    };
    audit::record(
        &mut tx,
        actor,
        Event::new("team.created")
            .object("team", team.id)
            .program(program)
            .detail(team.name.clone()),
    )
    .await?;
    tx.commit().await?;
    Ok(team)
}
