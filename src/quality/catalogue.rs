//! The organisation's customer principles and the KPIs quality serves. Both are short named
//! lists, organisation-wide or a program's own, that form sections and criteria refer to by key.

use serde::Deserialize;

use crate::audit::{self, Actor, Event};
use crate::domain::{InvalidValue, ProgramId, Timestamp, now};
use crate::store::{Db, Tx, is_unique_violation};
use crate::web::error::{AppError, AppResult};
use crate::{on_db, on_tx};

/// Which list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Catalogue {
    Principles,
    Kpis,
}

impl Catalogue {
    fn table(self) -> &'static str {
        match self {
            Catalogue::Principles => "principles",
            Catalogue::Kpis => "quality_kpis",
        }
    }

    /// The audit object and the start of its actions (`principle.created`).
    fn object(self) -> &'static str {
        match self {
            Catalogue::Principles => "principle",
            Catalogue::Kpis => "quality_kpi",
        }
    }

    fn action(self, created: bool) -> &'static str {
        match (self, created) {
            (Catalogue::Principles, true) => "principle.created",
            (Catalogue::Principles, false) => "principle.updated",
            (Catalogue::Kpis, true) => "quality_kpi.created",
            (Catalogue::Kpis, false) => "quality_kpi.updated",
        }
    }
}

/// A customer principle or a KPI.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Entry {
    pub id: i64,
    /// The program it belongs to; `null` for the whole organisation.
    pub program_id: Option<ProgramId>,
    /// What forms refer to it by: lower-case letters, digits and `-`.
    pub key: String,
    pub name: String,
    pub description: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntryInput {
    /// Omit for the whole organisation.
    #[serde(default)]
    pub program_id: Option<ProgramId>,
    pub key: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntryPatch {
    pub name: Option<String>,
    pub description: Option<String>,
}

const COLUMNS: &str = "id, program_id, key, name, description, created_at";

fn check_key(key: &str) -> Result<(), InvalidValue> {
    if super::form::is_key(key) {
        Ok(())
    } else {
        Err(InvalidValue::new(
            "key",
            "key",
            "use 1 to 64 lower-case letters, digits and '-'",
        ))
    }
}

fn check_name(name: &str) -> Result<(), InvalidValue> {
    let n = name.trim().chars().count();
    if n == 0 || n > 200 {
        return Err(InvalidValue::new(
            "name",
            "length",
            "give a name of 1 to 200 characters",
        ));
    }
    Ok(())
}

fn check_description(d: &str) -> Result<(), InvalidValue> {
    if d.chars().count() > 4000 {
        return Err(InvalidValue::new(
            "description",
            "length",
            "at most 4000 characters",
        ));
    }
    Ok(())
}

/// The organisation's entries and, with a program, that program's own; by name.
pub async fn list(
    db: &Db,
    which: Catalogue,
    program: Option<ProgramId>,
) -> Result<Vec<Entry>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM {} WHERE program_id IS NULL OR program_id = $1 ORDER BY name, id",
        which.table()
    );
    let p = program.map(|p| p.0).unwrap_or(0);
    on_db!(db, pool => sqlx::query_as(&sql).bind(p).fetch_all(pool).await)
}

pub async fn find(db: &Db, which: Catalogue, id: i64) -> Result<Option<Entry>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM {} WHERE id = $1", which.table());
    on_db!(db, pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)
}

/// The keys of `wanted` that neither the organisation nor the program has.
pub async fn missing_keys(
    tx: &mut Tx,
    which: Catalogue,
    program: ProgramId,
    wanted: impl IntoIterator<Item = &str>,
) -> Result<Vec<String>, sqlx::Error> {
    let sql = format!(
        "SELECT key FROM {} WHERE program_id IS NULL OR program_id = $1",
        which.table()
    );
    let known: Vec<String> =
        on_tx!(tx, t => sqlx::query_scalar(&sql).bind(program).fetch_all(t).await)?;
    Ok(wanted
        .into_iter()
        .filter(|k| !known.iter().any(|have| have == k))
        .map(str::to_owned)
        .collect())
}

/// Adds an entry inside a transaction; a key already taken in the same scope is a conflict.
pub async fn insert(
    tx: &mut Tx,
    actor: &Actor,
    which: Catalogue,
    input: &EntryInput,
) -> AppResult<Entry> {
    check_key(&input.key)?;
    check_name(&input.name)?;
    check_description(&input.description)?;
    let sql = format!(
        "INSERT INTO {} (program_id, key, name, description, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING {COLUMNS}",
        which.table()
    );
    let res: Result<Entry, sqlx::Error> = on_tx!(tx, t => sqlx::query_as(&sql)
        .bind(input.program_id).bind(&input.key).bind(input.name.trim())
        .bind(&input.description).bind(now())
        .fetch_one(t).await);
    let entry = match res {
        Ok(e) => e,
        Err(e) if is_unique_violation(&e) => {
            return Err(AppError::Conflict {
                field: Some("key"),
                message: format!("{:?} is already taken", input.key),
            });
        }
        Err(e) => return Err(e.into()),
    };
    let mut event = Event::new(which.action(true))
        .object(which.object(), entry.id)
        .detail(format!("{}: {}", entry.key, entry.name));
    if let Some(p) = entry.program_id {
        event = event.program(p);
    }
    audit::record(tx, actor, event).await?;
    Ok(entry)
}

pub async fn create(
    db: &Db,
    actor: &Actor,
    which: Catalogue,
    input: &EntryInput,
) -> AppResult<Entry> {
    if let Some(p) = input.program_id {
        crate::programs::find(db, p)
            .await?
            .ok_or_else(|| InvalidValue::new("program_id", "unknown", "no such program"))?;
    }
    let mut tx = db.begin().await?;
    let entry = insert(&mut tx, actor, which, input).await?;
    tx.commit().await?;
    Ok(entry)
}

/// Renames or redescribes an entry; its key stays, so forms keep pointing at it.
pub async fn update(
    db: &Db,
    actor: &Actor,
    which: Catalogue,
    id: i64,
    patch: &EntryPatch,
) -> AppResult<Entry> {
    let old = find(db, which, id).await?.ok_or(AppError::NotFound)?;
    let name = patch.name.as_deref().unwrap_or(&old.name);
    let description = patch.description.as_deref().unwrap_or(&old.description);
    check_name(name)?;
    check_description(description)?;
    let mut tx = db.begin().await?;
    let sql = format!(
        "UPDATE {} SET name = $1, description = $2 WHERE id = $3 RETURNING {COLUMNS}",
        which.table()
    );
    let entry: Entry = on_tx!(&mut tx, t => sqlx::query_as(&sql)
        .bind(name.trim()).bind(description).bind(id).fetch_one(t).await)?;
    let mut event = Event::new(which.action(false))
        .object(which.object(), id)
        .detail(format!("{}: {} → {}", entry.key, old.name, entry.name));
    if let Some(p) = entry.program_id {
        event = event.program(p);
    }
    audit::record(&mut tx, actor, event).await?;
    tx.commit().await?;
    Ok(entry)
}
