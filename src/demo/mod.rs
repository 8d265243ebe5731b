//! A demo organisation: three client programs, their teams, a person in every role, a month of
//! realistic contacts with survey answers, and a published evaluation form per program. Every
//! demo account signs in with the password `kalibra-demo`.

pub mod quality;
pub mod traffic;

pub use quality::seed_evaluations;

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
        // The demo traffic names these two agents by their e-mail address.
        if *role == Role::Agent {
            let p = programs::find_by_code(db, program)
                .await?
                .ok_or(AppError::NotFound)?;
            people::agent_codes::add(db, &actor, person.id, p.id, email).await?;
        }
    }
    Ok(true)
}

/// A demo person as they are when signed in.
async fn principal(db: &Db, email: &str) -> Result<crate::auth::access::Principal, AppError> {
    use crate::auth::access::{AuthVia, load_principal};
    let person = people::find_by_email(db, &Email::parse(email)?)
        .await?
        .ok_or(AppError::NotFound)?;
    let via = AuthVia::Session {
        id_hash: String::new(),
        csrf: String::new(),
    };
    load_principal(&mut db.acquire().await?.conn(), person.id, via)
        .await?
        .ok_or(AppError::NotFound)
}

/// The language each demo program's forms are written in.
fn form_language(code: &str) -> crate::domain::Locale {
    match code {
        "ACME-DE" => crate::domain::Locale::De,
        "BLUE-NL" => crate::domain::Locale::Nl,
        _ => crate::domain::Locale::En,
    }
}

/// Give every demo program without forms the "Quality monitoring 2.0" form in its language,
/// published, so its contacts can be evaluated at once. Returns the forms added.
pub async fn seed_forms(db: &Db) -> Result<usize, AppError> {
    use crate::quality::forms::{self, NewForm};
    let actor = demo_actor();
    let mut added = 0;
    for (code, ..) in PROGRAMS {
        let Some(program) = programs::find_by_code(db, code).await? else {
            continue;
        };
        if !forms::list(db, program.id).await?.is_empty() {
            continue;
        }
        let input = NewForm {
            template: Some("quality-monitoring-2".into()),
            language: Some(form_language(code)),
            definition: None,
        };
        let draft = forms::create(db, &actor, program.id, input).await?;
        forms::publish(db, &actor, draft.id).await?;
        added += 1;
    }
    Ok(added)
}

/// Give every demo program without a sampling plan a weekly plan for its evaluators, and sample
/// the two weeks of the demo's traffic that have ended: the QA lead's queue holds overdue and
/// open contacts on day one. Returns the plans added.
pub async fn seed_sampling(db: &Db) -> Result<usize, AppError> {
    use crate::quality::sampling::plan::{PlanInput, Rule, RuleKind};
    use crate::quality::sampling::store;

    let actor = demo_actor();
    let user = principal(db, PEOPLE[0].0).await?;
    let rule = |kind| Rule {
        kind,
        threshold: None,
        per_agent: 1,
    };
    let mut added = 0;
    for (code, ..) in PROGRAMS {
        let Some(program) = programs::find_by_code(db, code).await? else {
            continue;
        };
        if !store::list(db, &user, program.id).await?.is_empty() {
            continue;
        }
        let evaluators = store::eligible_evaluators(db, program.id).await?;
        let input = PlanInput {
            name: "Weekly sample".into(),
            per_agent: 2,
            channels: vec!["phone".into(), "email".into(), "chat".into()],
            evaluator_ids: evaluators.into_iter().map(|(id, _)| id).collect(),
            due_days: 7,
            rules: vec![
                rule(RuleKind::LowCsat),
                rule(RuleKind::CustomerRqNo),
                rule(RuleKind::RepeatContact),
            ],
            active: true,
        };
        let plan = store::create(db, &user, &actor, program.id, &input).await?;
        let last = store::last_finished_week(program.zone());
        for week in [last - 7, last] {
            store::run(db, &actor, &plan, week, None).await?;
        }
        added += 1;
    }
    Ok(added)
}

/// Contacts the demo makes unless told otherwise.
pub const DEFAULT_CONTACTS: u64 = 20_000;
/// Days of traffic, ending yesterday.
pub const DAYS: u32 = 28;

/// Give every demo program without contacts about its share of `total` contacts over the last
/// [`DAYS`] days, with survey answers, through the ordinary import. Returns the contacts added.
pub async fn seed_contacts(db: &Db, total: u64) -> Result<u64, AppError> {
    use crate::contacts::import::{ImportRequest, import_contacts};
    use crate::contacts::mapping::{Format, Mapping, SURVEYS};

    let mut added = 0;
    for (i, profile) in traffic::PROFILES.iter().enumerate() {
        let Some(program) = programs::find_by_code(db, profile.code).await? else {
            continue;
        };
        if crate::contacts::store::count(db, program.id).await? > 0 {
            continue;
        }
        let tz: chrono_tz::Tz = program.timezone.parse().unwrap_or(chrono_tz::UTC);
        let yesterday =
            chrono::Utc::now().with_timezone(&tz).date_naive() - chrono::Duration::days(1);
        let n = (total as f64 * profile.weight).round() as u64;
        let (rows, surveys) = traffic::Traffic::new(profile, n, yesterday, DAYS, 42 + i as u64);
        let request = |mapping: Mapping, name: &str| {
            ImportRequest::new(program.id, name.to_owned(), Format::Csv, mapping, "demo")
        };
        let s = import_contacts(
            db,
            request(Mapping::generic(tz), "demo contacts"),
            Box::new(rows),
            |_| {},
        )
        .await
        .map_err(|e| AppError::Unexpected(e.into()))?;
        if s.rejected > 0 {
            return Err(AppError::Unexpected(anyhow::anyhow!(
                "demo contacts of {} were refused: {:?}",
                profile.code,
                s.first_rejects
            )));
        }
        added += s.accepted;
        let text = surveys.lock().map(|s| s.join("\n")).unwrap_or_default();
        let answers = crate::contacts::surveys::import_surveys(
            db,
            request(Mapping::generic_for(SURVEYS, tz), "demo surveys"),
            Box::new(std::io::Cursor::new(text.into_bytes())),
            |_| {},
        )
        .await
        .map_err(|e| AppError::Unexpected(e.into()))?;
        if answers.rejected > 0 {
            return Err(AppError::Unexpected(anyhow::anyhow!(
                "demo survey answers of {} were refused: {:?}",
                profile.code,
                answers.first_rejects
            )));
        }
    }
    Ok(added)
}
