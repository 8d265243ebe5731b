//! The access model, decided in one place. Default deny: a handler states the capability it
//! needs, and an object outside the person's scope is reported as not found.

use std::collections::BTreeSet;

use crate::domain::{Email, GrantId, Locale, PersonId, ProgramId, Role, TeamId, TokenId};
use crate::store::{Conn, Db};
use crate::{on_conn, on_db};

/// One role grant, with the program its team belongs to resolved.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct GrantView {
    pub id: GrantId,
    pub role: Role,
    pub program_id: Option<ProgramId>,
    pub team_id: Option<TeamId>,
    /// The program the grant reaches: its own for program grants, the team's for team grants.
    pub scope_program_id: Option<ProgramId>,
    /// Human-readable scope: the program or `program / team` name; empty for the organisation.
    pub scope_label: String,
}

#[derive(Debug, Clone)]
pub enum AuthVia {
    Session { id_hash: String, csrf: String },
    Token { id: TokenId },
}

/// The person behind a request, resolved once by the auth middleware.
#[derive(Debug, Clone)]
pub struct Principal {
    pub person_id: PersonId,
    pub email: Email,
    pub name: String,
    pub locale: Option<Locale>,
    pub grants: Vec<GrantView>,
    pub via: AuthVia,
}

/// Which programs a person may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProgramScope {
    All,
    Only(BTreeSet<ProgramId>),
}

impl ProgramScope {
    pub fn contains(&self, p: ProgramId) -> bool {
        match self {
            ProgramScope::All => true,
            ProgramScope::Only(set) => set.contains(&p),
        }
    }
}

/// What a handler asks for.
#[derive(Debug, Clone, Copy)]
pub enum Capability {
    /// Programs, teams, people, grants: quality managers / administrators.
    ManageOrganisation,
    /// The audit log.
    ReadAudit,
    /// Anything read-only about one program.
    ViewProgram(ProgramId),
    /// The team list of a program: everyone with program scope, and leads of one of its teams.
    ViewTeamsOf(ProgramId),
    /// A program's service and customer figures as a whole: administrators and the program-wide
    /// roles (evaluator, planner, client viewer). Team leads and agents see their own figures only.
    ViewProgramFigures(ProgramId),
}

pub enum Denied {
    /// The person may not do this kind of thing at all.
    Forbidden,
    /// The object is outside their scope: answered as if it did not exist.
    NotFound,
}

impl Principal {
    pub fn has_role(&self, role: Role) -> bool {
        self.grants.iter().any(|g| g.role == role)
    }

    pub fn is_admin(&self) -> bool {
        self.has_role(Role::Admin)
    }

    pub fn roles(&self) -> BTreeSet<Role> {
        self.grants.iter().map(|g| g.role).collect()
    }

    pub fn program_scope(&self) -> ProgramScope {
        if self.is_admin() {
            return ProgramScope::All;
        }
        ProgramScope::Only(
            self.grants
                .iter()
                .filter_map(|g| g.scope_program_id)
                .collect(),
        )
    }

    /// Teams the person sees: their own (agent) and those they lead, plus every team of a program
    /// they hold a program-wide grant on. `None` means every team of the visible programs.
    pub fn team_filter(&self, program: ProgramId) -> Option<BTreeSet<TeamId>> {
        let program_wide = self.is_admin()
            || self.grants.iter().any(|g| {
                g.program_id == Some(program)
                    && g.role.scope_kind() == crate::domain::ScopeKind::Program
            });
        if program_wide {
            None
        } else {
            Some(
                self.grants
                    .iter()
                    .filter(|g| g.scope_program_id == Some(program))
                    .filter_map(|g| g.team_id)
                    .collect(),
            )
        }
    }

    pub fn check(&self, cap: Capability) -> Result<(), Denied> {
        let allowed = |yes: bool| if yes { Ok(()) } else { Err(Denied::Forbidden) };
        match cap {
            Capability::ManageOrganisation | Capability::ReadAudit => allowed(self.is_admin()),
            Capability::ViewProgram(p) | Capability::ViewTeamsOf(p) => {
                if self.program_scope().contains(p) {
                    Ok(())
                } else {
                    Err(Denied::NotFound)
                }
            }
            Capability::ViewProgramFigures(p) => {
                if !self.program_scope().contains(p) {
                    return Err(Denied::NotFound);
                }
                allowed(self.is_admin() || self.team_filter(p).is_none())
            }
        }
    }

    pub fn csrf_token(&self) -> Option<&str> {
        match &self.via {
            AuthVia::Session { csrf, .. } => Some(csrf),
            AuthVia::Token { .. } => None,
        }
    }

    /// Audit label for the person: their e-mail address.
    pub fn label(&self) -> String {
        self.email.to_string()
    }
}

#[derive(sqlx::FromRow)]
pub struct PersonRow {
    email: String,
    name: String,
    locale: Option<String>,
}

/// The columns of [`PersonRow`] from `people` as `p`, for a query that joins them.
pub const PERSON_COLUMNS: &str = "p.email, p.name, p.locale";

#[derive(sqlx::FromRow)]
struct GrantRow {
    person_id: PersonId,
    id: GrantId,
    role: String,
    program_id: Option<ProgramId>,
    team_id: Option<TeamId>,
    scope_program_id: Option<ProgramId>,
    program_name: Option<String>,
    team_name: Option<String>,
}

const GRANTS_SQL: &str = "SELECT g.person_id, g.id, g.role, g.program_id, g.team_id, \
       COALESCE(g.program_id, t.program_id) AS scope_program_id, \
       p.name AS program_name, t.name AS team_name \
     FROM grants g \
     LEFT JOIN teams t ON t.id = g.team_id \
     LEFT JOIN programs p ON p.id = COALESCE(g.program_id, t.program_id)";

impl GrantRow {
    fn into_view(self) -> Option<(PersonId, GrantView)> {
        let role = Role::parse(&self.role).ok()?;
        let scope_label = match (self.program_name, self.team_name) {
            (Some(p), Some(t)) => format!("{p} / {t}"),
            (Some(p), None) => p,
            _ => String::new(),
        };
        Some((
            self.person_id,
            GrantView {
                id: self.id,
                role,
                program_id: self.program_id,
                team_id: self.team_id,
                scope_program_id: self.scope_program_id,
                scope_label,
            },
        ))
    }
}

/// The grants of a person with each scope's program and name resolved.
pub async fn load_grants(db: &Db, person: PersonId) -> Result<Vec<GrantView>, sqlx::Error> {
    grants_on(&mut db.acquire().await?.conn(), person).await
}

/// [`load_grants`], read on `c`.
async fn grants_on(c: &mut Conn<'_>, person: PersonId) -> Result<Vec<GrantView>, sqlx::Error> {
    let sql = format!("{GRANTS_SQL} WHERE g.person_id = $1 ORDER BY g.id");
    let rows: Vec<GrantRow> =
        on_conn!(c, p => sqlx::query_as(&sql).bind(person).fetch_all(p).await)?;
    Ok(rows
        .into_iter()
        .filter_map(|r| r.into_view().map(|(_, g)| g))
        .collect())
}

/// Every grant of everybody, by person (for the people list).
pub async fn all_grants(db: &Db) -> Result<Vec<(PersonId, GrantView)>, sqlx::Error> {
    let sql = format!("{GRANTS_SQL} ORDER BY g.person_id, g.id");
    let rows: Vec<GrantRow> = on_db!(db, p => sqlx::query_as(&sql).fetch_all(p).await)?;
    Ok(rows.into_iter().filter_map(GrantRow::into_view).collect())
}

/// Build the principal of an active person, or `None` when the person is gone or deactivated.
pub async fn load_principal(
    c: &mut Conn<'_>,
    person: PersonId,
    via: AuthVia,
) -> Result<Option<Principal>, sqlx::Error> {
    const SQL: &str = "SELECT email, name, locale FROM people WHERE id = $1 AND active = TRUE";
    let row: Option<PersonRow> =
        on_conn!(c, p => sqlx::query_as(SQL).bind(person).fetch_optional(p).await)?;
    let Some(row) = row else { return Ok(None) };
    principal_of(c, person, row, via).await
}

/// [`load_principal`] with the person's row read already (by a query that joined it, active
/// people only).
pub async fn principal_of(
    c: &mut Conn<'_>,
    person: PersonId,
    row: PersonRow,
    via: AuthVia,
) -> Result<Option<Principal>, sqlx::Error> {
    let Ok(email) = Email::parse(&row.email) else {
        return Ok(None);
    };
    Ok(Some(Principal {
        person_id: person,
        email,
        name: row.name,
        locale: row.locale.as_deref().and_then(Locale::parse),
        grants: grants_on(c, person).await?,
        via,
    }))
}
