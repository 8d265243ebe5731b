//! Client programs (one per outsourcing client or line of business, with its time zone) and
//! their teams.

pub mod routes;

use serde::Deserialize;

use crate::audit::{self, Actor, Event};
use crate::auth::{Principal, ProgramScope};
use crate::domain::{
    InvalidValue, ProgramCode, ProgramId, ProgramName, TeamId, TeamName, TimeZoneName, Timestamp,
    now,
};
use crate::kpi::{KpiSettings, KpiSettingsPatch, SettingError, SlVariant};
use crate::store::{Db, Tx, is_unique_violation};
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
    /// Whether its client viewers see quality per agent and team, not only as a whole.
    pub client_agent_detail: bool,
    /// How the program's KPIs are counted (docs/kpis.md).
    #[sqlx(flatten)]
    pub kpi: KpiSettings,
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
    /// Whether client viewers see quality per agent and team.
    pub client_agent_detail: Option<bool>,
    /// KPI settings to change; absent ones stay as they are.
    pub kpi: Option<KpiSettingsPatch>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct TeamInput {
    pub name: String,
}

/// The columns of a program's [`KpiSettings`].
macro_rules! kpi_columns {
    () => {
        "answer_within_s, short_abandon_s, sl_target, sl_variant, response_sla_s, fcr_days"
    };
}

const COLUMNS: &str = concat!(
    "id, code, name, timezone, active, created_at, client_agent_detail, ",
    kpi_columns!()
);

/// Reads the settings columns, which the schema keeps within range.
impl<'r, R: sqlx::Row> sqlx::FromRow<'r, R> for KpiSettings
where
    &'r str: sqlx::ColumnIndex<R>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    f64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        let bad = |index: &str, message: String| sqlx::Error::ColumnDecode {
            index: index.to_owned(),
            source: message.into(),
        };
        let whole = |name: &'static str| -> Result<u32, sqlx::Error> {
            let v: i64 = row.try_get(name)?;
            u32::try_from(v).map_err(|e| bad(name, e.to_string()))
        };
        let variant: String = row.try_get("sl_variant")?;
        let variant = SlVariant::parse(&variant).map_err(|e| bad("sl_variant", e.to_string()))?;
        KpiSettings::new(
            whole("answer_within_s")?,
            whole("short_abandon_s")?,
            row.try_get("sl_target")?,
            variant,
            whole("response_sla_s")?,
            whole("fcr_days")?,
        )
        .map_err(|e| bad(e.field, e.message))
    }
}

impl From<SettingError> for AppError {
    fn from(e: SettingError) -> Self {
        AppError::Invalid(InvalidValue::new(e.field, "out_of_range", e.message))
    }
}

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

impl Program {
    /// The program's time zone (UTC when the stored name is unknown).
    pub fn zone(&self) -> chrono_tz::Tz {
        self.timezone.parse().unwrap_or(chrono_tz::UTC)
    }
}

/// A program's time zone, for work that has only its id.
pub async fn zone(db: &Db, id: ProgramId) -> AppResult<chrono_tz::Tz> {
    Ok(find(db, id).await?.ok_or(AppError::NotFound)?.zone())
}

/// A program's KPI settings, read in the transaction that counts with them.
pub async fn kpi_settings_in(tx: &mut Tx, id: ProgramId) -> Result<KpiSettings, sqlx::Error> {
    const SQL: &str = concat!("SELECT ", kpi_columns!(), " FROM programs WHERE id = $1");
    on_tx!(tx, t => sqlx::query_as(SQL).bind(id).fetch_one(t).await)
}

/// A program's KPI settings; the defaults for a program that does not exist.
pub async fn kpi_settings(db: &Db, id: ProgramId) -> Result<KpiSettings, sqlx::Error> {
    Ok(find(db, id).await?.map(|p| p.kpi).unwrap_or_default())
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
        "INSERT INTO programs (code, name, timezone, active, created_at, backlog_counted) \
         VALUES ($1, $2, $3, TRUE, $4, TRUE) RETURNING {COLUMNS}"
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
    let client_agent_detail = patch
        .client_agent_detail
        .unwrap_or(current.client_agent_detail);
    let kpi = match &patch.kpi {
        Some(p) => current.kpi.patched(p)?,
        None => current.kpi,
    };
    let mut tx = db.begin().await?;
    // Imports into the program wait, so that none counts with the settings being replaced.
    crate::contacts::bulk::lock_program(&mut tx, id).await?;
    let sql = format!(
        "UPDATE programs SET name = $1, timezone = $2, active = $3, answer_within_s = $4, \
         short_abandon_s = $5, sl_target = $6, sl_variant = $7, response_sla_s = $8, fcr_days = $9, \
         client_agent_detail = $10 WHERE id = $11 RETURNING {COLUMNS}"
    );
    let s = &kpi.service;
    let updated: Program = on_tx!(&mut tx, c => sqlx::query_as(&sql)
        .bind(&name).bind(&tz).bind(active)
        .bind(i64::from(s.answer_within_s)).bind(i64::from(s.short_abandon_s)).bind(s.target)
        .bind(s.variant.as_str()).bind(i64::from(s.response_sla_s)).bind(i64::from(kpi.fcr_days))
        .bind(client_agent_detail).bind(id).fetch_one(c).await)?;
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
    if current.client_agent_detail != updated.client_agent_detail {
        changes.push(format!(
            "client_agent_detail: {} → {}",
            current.client_agent_detail, updated.client_agent_detail
        ));
    }
    changes.extend(current.kpi.describe_changes(&updated.kpi));
    let moved = current.timezone != updated.timezone;
    if moved || current.kpi.changes_counts(&updated.kpi) {
        // Local days moved, or what each contact counts as changed: recount the rollups, in
        // the same transaction, so they never disagree with the settings.
        let also = crate::contacts::rollup::Recount {
            fcr: current.kpi.fcr_days != updated.kpi.fcr_days,
            backlog: moved,
        };
        crate::contacts::rollup::rebuild_in(&mut tx, id, &updated.kpi, also).await?;
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
