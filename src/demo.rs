//! A demo organisation: three client programs, their teams, and a person in every role.
//! Every demo account signs in with the password `kalibra-demo`.

use crate::audit::Actor;
use crate::domain::{Email, Role};
use crate::people::{self, GrantInput, PersonInput};
use crate::programs::{self, ProgramInput, TeamInput};
use crate::store::Db;
use crate::web::error::AppError;

pub const PASSWORD: &str = "kalibra-demo";

/// (code, name, time zone, teams)
const PROGRAMS: &[(&str, &str, &str, &[&str])] = &[
    (
        "ACME-DE",
        "Acme Energie",
        "Europe/Berlin",
        &["Privatkunden", "Geschäftskunden"],
    ),
    (
        "BLUE-NL",
        "BlueFiber Nederland",
        "Europe/Amsterdam",
        &["Klantenservice", "Techniek"],
    ),
    (
        "NORD-UK",
        "Nordic Travel UK",
        "Europe/London",
        &["Bookings"],
    ),
];

/// (e-mail, name, role, program code, team name)
pub const PEOPLE: &[(&str, &str, Role, &str, &str)] = &[
    ("admin@example.com", "Alex Admin", Role::Admin, "", ""),
    (
        "qa@example.com",
        "Quinn de Vries",
        Role::Evaluator,
        "ACME-DE",
        "",
    ),
    (
        "qa@example.com",
        "Quinn de Vries",
        Role::Evaluator,
        "BLUE-NL",
        "",
    ),
    (
        "lead@example.com",
        "Lena Hoffmann",
        Role::TeamLead,
        "ACME-DE",
        "Privatkunden",
    ),
    (
        "agent@example.com",
        "Arjen Bakker",
        Role::Agent,
        "ACME-DE",
        "Privatkunden",
    ),
    (
        "agent2@example.com",
        "Sophie Jansen",
        Role::Agent,
        "BLUE-NL",
        "Klantenservice",
    ),
    (
        "planner@example.com",
        "Pieter Visser",
        Role::Planner,
        "ACME-DE",
        "",
    ),
    (
        "client@example.com",
        "Clara Becker",
        Role::ClientViewer,
        "ACME-DE",
        "",
    ),
    (
        "client-nl@example.com",
        "Noor de Boer",
        Role::ClientViewer,
        "BLUE-NL",
        "",
    ),
];

fn demo_actor() -> Actor {
    Actor {
        label: "demo".into(),
        ..Actor::cli()
    }
}

/// Fill an empty database with the demo organisation; leaves an existing one as it is.
/// Returns whether anything was added.
pub async fn seed(db: &Db) -> Result<bool, AppError> {
    let admin = Email::parse(PEOPLE[0].0)?;
    if people::find_by_email(db, &admin).await?.is_some() {
        return Ok(false);
    }
    let actor = demo_actor();
    for (code, name, tz, teams) in PROGRAMS {
        let p = match programs::find_by_code(db, code).await? {
            Some(p) => p,
            None => {
                let input = ProgramInput {
                    code: (*code).into(),
                    name: (*name).into(),
                    timezone: (*tz).into(),
                };
                programs::create(db, &actor, &input).await?
            }
        };
        for team in *teams {
            if programs::find_team_by_name(db, p.id, team).await?.is_none() {
                programs::create_team(
                    db,
                    &actor,
                    p.id,
                    &TeamInput {
                        name: (*team).into(),
                    },
                )
                .await?;
            }
        }
    }
    for (email, name, role, program, team) in PEOPLE {
        let person = match people::find_by_email(db, &Email::parse(email)?).await? {
            Some(p) => p,
            None => {
                let input = PersonInput {
                    email: (*email).into(),
                    name: (*name).into(),
                    password: Some(PASSWORD.into()),
                    locale: None,
                };
                people::create(db, &actor, &input).await?
            }
        };
        let mut grant = GrantInput {
            role: *role,
            program_id: None,
            team_id: None,
        };
        if !program.is_empty() {
            let p = programs::find_by_code(db, program)
                .await?
                .ok_or(AppError::NotFound)?;
            if team.is_empty() {
                grant.program_id = Some(p.id);
            } else {
                let t = programs::find_team_by_name(db, p.id, team)
                    .await?
                    .ok_or(AppError::NotFound)?;
                grant.team_id = Some(t.id);
            }
        }
        people::add_grant(db, &actor, person.id, &grant).await?;
    }
    Ok(true)
}
