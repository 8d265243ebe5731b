//! People and their role grants.

pub mod agent_codes;
pub mod routes;

use serde::Deserialize;

use crate::audit::{self, Actor, Event};
use crate::auth::access::{GrantView, load_grants};
use crate::auth::{passwords, sessions, tokens};
use crate::domain::{
    Email, GrantId, InvalidValue, Locale, NewPassword, PersonId, PersonName, ProgramId, Role,
    ScopeKind, TeamId, Timestamp, now,
};
use crate::store::{Db, Tx, is_unique_violation};
use crate::web::error::{AppError, AppResult};
use crate::{on_db, on_tx};

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Person {
    pub id: PersonId,
    pub email: String,
    pub name: String,
    pub locale: Option<String>,
    pub active: bool,
    /// Whether the person can sign in with a password.
    pub has_password: bool,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct PersonInput {
    pub email: String,
    pub name: String,
    /// Initial password (at least 12 characters); without one the person cannot sign in yet.
    pub password: Option<String>,
    /// `en`, `de` or `nl`; without one the browser's language is used.
    pub locale: Option<String>,
}

/// A change to a person; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct PersonPatch {
    pub name: Option<String>,
    /// Deactivating ends the person's sessions and revokes their API tokens.
    pub active: Option<bool>,
    pub locale: Option<String>,
    /// A new password, set by an administrator.
    pub password: Option<String>,
}

/// A role grant: `admin` names no scope; `evaluator`, `planner` and `client_viewer` a
/// program; `team_lead` and `agent` a team.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct GrantInput {
    pub role: Role,
    pub program_id: Option<ProgramId>,
    pub team_id: Option<TeamId>,
}

impl Person {
    pub fn locale_is(&self, code: &str) -> bool {
        self.locale.as_deref() == Some(code)
    }
}

const COLUMNS: &str =
    "id, email, name, locale, active, password_hash IS NOT NULL AS has_password, created_at";

pub async fn list(db: &Db) -> Result<Vec<Person>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM people ORDER BY name, id");
    on_db!(db, p => sqlx::query_as(&sql).fetch_all(p).await)
}

/// A person with their grants, for the people list.
pub struct PersonWithGrants {
    pub person: Person,
    pub grants: Vec<GrantView>,
}

/// People whose name or e-mail contains `query` (any case), with their grants.
pub async fn search(db: &Db, query: &str) -> Result<Vec<PersonWithGrants>, sqlx::Error> {
    let q = query.trim().to_lowercase();
    let mut by_person: std::collections::HashMap<PersonId, Vec<GrantView>> =
        std::collections::HashMap::new();
    for (person, grant) in crate::auth::access::all_grants(db).await? {
        by_person.entry(person).or_default().push(grant);
    }
    Ok(list(db)
        .await?
        .into_iter()
        .filter(|p| q.is_empty() || p.name.to_lowercase().contains(&q) || p.email.contains(&q))
        .map(|person| PersonWithGrants {
            grants: by_person.remove(&person.id).unwrap_or_default(),
            person,
        })
        .collect())
}

pub async fn find(db: &Db, id: PersonId) -> Result<Option<Person>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM people WHERE id = $1");
    on_db!(db, p => sqlx::query_as(&sql).bind(id).fetch_optional(p).await)
}

pub async fn find_by_email(db: &Db, email: &Email) -> Result<Option<Person>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM people WHERE email = $1");
    on_db!(db, p => sqlx::query_as(&sql).bind(email.as_str()).fetch_optional(p).await)
}

fn parse_locale(raw: Option<&str>) -> Result<Option<Locale>, InvalidValue> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => Locale::parse(s).map(Some).ok_or_else(|| {
            InvalidValue::new(
                "locale",
                "locale",
                format!("unknown language {s:?}; one of en, de, nl"),
            )
        }),
    }
}

pub async fn create(db: &Db, actor: &Actor, input: &PersonInput) -> AppResult<Person> {
    let email = Email::parse(&input.email)?;
    let name = PersonName::parse(&input.name)?;
    let locale = parse_locale(input.locale.as_deref())?;
    let password = match input.password.as_deref().filter(|p| !p.is_empty()) {
        Some(p) => Some(passwords::hash(&NewPassword::parse(p)?).await?),
        None => None,
    };
    let mut tx = db.begin().await?;
    let sql = format!(
        "INSERT INTO people (email, name, password_hash, locale, active, created_at) \
         VALUES ($1, $2, $3, $4, TRUE, $5) RETURNING {COLUMNS}"
    );
    let res: Result<Person, sqlx::Error> = on_tx!(&mut tx, c => sqlx::query_as(&sql)
        .bind(email.as_str()).bind(name.as_str()).bind(password).bind(locale.map(Locale::code)).bind(now())
        .fetch_one(c).await);
    let person = match res {
        Ok(p) => p,
        Err(e) if is_unique_violation(&e) => {
            return Err(AppError::Conflict {
                field: Some("email"),
                message: format!("{email} already has an account"),
            });
        }
        Err(e) => return Err(e.into()),
    };
    audit::record(
        &mut tx,
        actor,
        Event::new("person.created")
            .object("person", person.id)
            .detail(format!("{} <{}>", person.name, person.email)),
    )
    .await?;
    tx.commit().await?;
    Ok(person)
}

pub async fn update(
    db: &Db,
    actor: &Actor,
    id: PersonId,
    patch: &PersonPatch,
) -> AppResult<Person> {
    let current = find(db, id).await?.ok_or(AppError::NotFound)?;
    let name = match &patch.name {
        Some(n) => PersonName::parse(n)?.as_str().to_owned(),
        None => current.name.clone(),
    };
    let locale = match &patch.locale {
        Some(l) => parse_locale(Some(l))?.map(|l| l.code().to_owned()),
        None => current.locale.clone(),
    };
    let active = patch.active.unwrap_or(current.active);
    let password = match patch.password.as_deref() {
        Some(p) => Some(NewPassword::parse(p)?),
        None => None,
    };
    if current.active && !active {
        if actor.person == Some(id) {
            return Err(AppError::Conflict {
                field: Some("active"),
                message: "you cannot deactivate your own account".into(),
            });
        }
        ensure_not_last_admin(db, id, None).await?;
    }
    let mut tx = db.begin().await?;
    let sql = format!(
        "UPDATE people SET name = $1, locale = $2, active = $3 WHERE id = $4 RETURNING {COLUMNS}"
    );
    let mut updated: Person = on_tx!(&mut tx, c => sqlx::query_as(&sql)
        .bind(&name).bind(&locale).bind(active).bind(id).fetch_one(c).await)?;
    let mut changes = Vec::new();
    if current.name != updated.name {
        changes.push(format!("name: {} → {}", current.name, updated.name));
    }
    if current.locale != updated.locale {
        changes.push(format!(
            "locale: {:?} → {:?}",
            current.locale, updated.locale
        ));
    }
    if current.active != updated.active {
        changes.push(format!("active: {} → {}", current.active, updated.active));
        if !active {
            sessions::delete_for_person(&mut tx, id, None).await?;
            tokens::revoke_all(&mut tx, id).await?;
        }
    }
    if !changes.is_empty() {
        audit::record(
            &mut tx,
            actor,
            Event::new("person.updated")
                .object("person", id)
                .detail(changes.join("; ")),
        )
        .await?;
    }
    if let Some(p) = &password {
        crate::auth::signin::set_password(&mut tx, actor, id, p, None).await?;
        updated.has_password = true;
    }
    tx.commit().await?;
    Ok(updated)
}

/// Refuse a change that would leave the organisation without an active administrator.
async fn ensure_not_last_admin(db: &Db, person: PersonId, grant: Option<GrantId>) -> AppResult<()> {
    const SQL: &str = "SELECT CAST(COUNT(*) AS BIGINT) FROM grants g JOIN people p ON p.id = g.person_id \
                       WHERE g.role = 'admin' AND p.active = TRUE AND p.id <> $1";
    let others: i64 = on_db!(db, p => sqlx::query_scalar(SQL).bind(person).fetch_one(p).await)?;
    let is_admin = load_grants(db, person)
        .await?
        .iter()
        .any(|g| g.role == Role::Admin && grant.is_none_or(|id| g.id == id));
    if is_admin && others == 0 {
        return Err(AppError::Conflict {
            field: None,
            message: "this is the last active administrator; grant the role to someone else first"
                .into(),
        });
    }
    Ok(())
}

/// Check that a grant names the scope its role needs, and that the scope exists.
async fn validated_scope(
    db: &Db,
    g: &GrantInput,
) -> AppResult<(Option<ProgramId>, Option<TeamId>)> {
    let bad = |m: &str| AppError::Invalid(InvalidValue::new("scope", "scope", m.to_owned()));
    match g.role.scope_kind() {
        ScopeKind::Organisation => {
            if g.program_id.is_some() || g.team_id.is_some() {
                return Err(bad(
                    "the admin role covers the whole organisation; name no program or team",
                ));
            }
            Ok((None, None))
        }
        ScopeKind::Program => {
            let (Some(p), None) = (g.program_id, g.team_id) else {
                return Err(bad(
                    "this role is granted on a program: give program_id and no team_id",
                ));
            };
            crate::programs::find(db, p)
                .await?
                .ok_or_else(|| bad("no such program"))?;
            Ok((Some(p), None))
        }
        ScopeKind::Team => {
            let (None, Some(t)) = (g.program_id, g.team_id) else {
                return Err(bad(
                    "this role is granted on a team: give team_id and no program_id",
                ));
            };
            crate::programs::find_team(db, t)
                .await?
                .ok_or_else(|| bad("no such team"))?;
            Ok((None, Some(t)))
        }
    }
}

pub async fn add_grant(
    db: &Db,
    actor: &Actor,
    person: PersonId,
    g: &GrantInput,
) -> AppResult<GrantView> {
    find(db, person).await?.ok_or(AppError::NotFound)?;
    let (program, team) = validated_scope(db, g).await?;
    let mut tx: Tx = db.begin().await?;
    const SQL: &str = "INSERT INTO grants (person_id, role, program_id, team_id, created_at) \
                       VALUES ($1, $2, $3, $4, $5) RETURNING id";
    let res: Result<GrantId, sqlx::Error> = on_tx!(&mut tx, c => sqlx::query_scalar(SQL)
        .bind(person).bind(g.role.as_str()).bind(program).bind(team).bind(now()).fetch_one(c).await);
    let id = match res {
        Ok(id) => id,
        Err(e) if is_unique_violation(&e) => {
            return Err(AppError::Conflict {
                field: Some("role"),
                message: "the person already holds this grant".into(),
            });
        }
        Err(e) => return Err(e.into()),
    };
    let scope_program = match (program, team) {
        (Some(p), _) => Some(p),
        (None, Some(t)) => crate::programs::find_team(db, t)
            .await?
            .map(|t| t.program_id),
        _ => None,
    };
    let mut event = Event::new("grant.added")
        .object("person", person)
        .detail(format!(
            "{} grant {id}, program {program:?}, team {team:?}",
            g.role
        ));
    if let Some(p) = scope_program {
        event = event.program(p);
    }
    audit::record(&mut tx, actor, event).await?;
    tx.commit().await?;
    load_grants(db, person)
        .await?
        .into_iter()
        .find(|v| v.id == id)
        .ok_or(AppError::NotFound)
}

#[derive(sqlx::FromRow)]
struct GrantOwner {
    person_id: PersonId,
    role: String,
}

pub async fn remove_grant(db: &Db, actor: &Actor, id: GrantId) -> AppResult<PersonId> {
    const FIND: &str = "SELECT person_id, role FROM grants WHERE id = $1";
    let owner: GrantOwner = on_db!(db, p => sqlx::query_as(FIND).bind(id).fetch_optional(p).await)?
        .ok_or(AppError::NotFound)?;
    if owner.role == "admin" {
        ensure_not_last_admin(db, owner.person_id, Some(id)).await?;
    }
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, c => sqlx::query("DELETE FROM grants WHERE id = $1").bind(id).execute(c).await.map(|r| r.rows_affected()))?;
    audit::record(
        &mut tx,
        actor,
        Event::new("grant.removed")
            .object("person", owner.person_id)
            .detail(format!("{} grant {id}", owner.role)),
    )
    .await?;
    tx.commit().await?;
    Ok(owner.person_id)
}
