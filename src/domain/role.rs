use super::InvalidValue;

/// What a grant lets a person do. Every grant is scoped (see [`ScopeKind`]).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Quality manager / administrator: the whole organisation.
    Admin,
    /// QA specialist: evaluates any agent in their programs.
    Evaluator,
    /// Team lead / coach: the agents of their team.
    TeamLead,
    /// Staffing and service-level planning for their programs.
    Planner,
    /// An outsourcing client: read-only, one program.
    ClientViewer,
    /// Sees only their own contacts, evaluations and figures; member of one team.
    Agent,
}

/// The kind of scope a role's grant must name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeKind {
    Organisation,
    Program,
    Team,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Admin,
        Role::Evaluator,
        Role::TeamLead,
        Role::Planner,
        Role::ClientViewer,
        Role::Agent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Evaluator => "evaluator",
            Role::TeamLead => "team_lead",
            Role::Planner => "planner",
            Role::ClientViewer => "client_viewer",
            Role::Agent => "agent",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == raw.trim())
            .ok_or_else(|| {
                InvalidValue::new(
                    "role",
                    "role",
                    format!(
                        "unknown role {raw:?}; one of admin, evaluator, team_lead, planner, client_viewer, agent"
                    ),
                )
            })
    }

    /// The message key of the role's name in the interface.
    pub fn label_key(self) -> &'static str {
        match self {
            Role::Admin => "role.admin",
            Role::Evaluator => "role.evaluator",
            Role::TeamLead => "role.team_lead",
            Role::Planner => "role.planner",
            Role::ClientViewer => "role.client_viewer",
            Role::Agent => "role.agent",
        }
    }

    pub fn scope_kind(self) -> ScopeKind {
        match self {
            Role::Admin => ScopeKind::Organisation,
            Role::Evaluator | Role::Planner | Role::ClientViewer => ScopeKind::Program,
            Role::TeamLead | Role::Agent => ScopeKind::Team,
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()).unwrap(), r);
        }
        assert!(Role::parse("superuser").is_err());
    }
}
