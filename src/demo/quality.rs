//! The demo's quality work: a month of evaluations by the programs' evaluators, each agent
//! scoring about as well as usual with some spread, acknowledged or disputed by the agents who
//! can sign in, and a coaching session for each of them. Made through the product's own start,
//! save, submit, acknowledge, dispute and coaching steps; the evaluations are then moved back in
//! time to the days after each contact, so the quality dashboard shows a trend.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::{PEOPLE, PROGRAMS, demo_actor, principal};
use crate::auth::access::Principal;
use crate::domain::{Locale, ProgramId, Role, Timestamp};
use crate::kpi::Channel;
use crate::programs;
use crate::quality::evaluations::{self, SaveInput, StartInput};
use crate::quality::form::CriterionRef;
use crate::quality::scale::{AnswerValue, Scale};
use crate::quality::scoring::Answer;
use crate::quality::workflow::{self, DisputeInput, DisputeItem};
use crate::quality::{forms, rollup};
use crate::store::Db;
use crate::web::error::AppError;
use crate::{on_db, on_tx};

/// Evaluations per agent over the demo's weeks.
pub const PER_AGENT: usize = 6;

const DAY_MS: i64 = 86_400_000;

/// Give every demo program with a published form and no evaluations [`PER_AGENT`] submitted
/// evaluations of each agent's answered contacts. Returns the evaluations added.
pub async fn seed_evaluations(db: &Db) -> Result<usize, AppError> {
    let mut added = 0;
    for (i, (code, ..)) in PROGRAMS.iter().enumerate() {
        let Some(program) = programs::find_by_code(db, code).await? else {
            continue;
        };
        if has_evaluations(db, program.id).await? || forms::list(db, program.id).await?.is_empty() {
            continue;
        }
        let evaluator = evaluator_of(db, code).await?;
        let mut rng = StdRng::seed_from_u64(7 + i as u64);
        let mut made = Vec::new();
        for (agent, contacts) in sample(db, program.id).await? {
            // How well this agent usually does: most well, one or two less so.
            let skill = rng.random_range(0.6..0.95);
            for (contact, arrived_at) in contacts {
                let id = evaluate(db, &evaluator, contact, skill, &mut rng).await?;
                made.push((id, agent.clone(), arrived_at));
            }
        }
        answer_as_agents(db, code, &made).await?;
        coach_agents(db, &program, &made).await?;
        // Each evaluation as if submitted a day or two after its contact, the last ones recent.
        let tz = program.zone();
        for (id, _, arrived_at) in &made {
            let at = arrived_at + rng.random_range(DAY_MS..3 * DAY_MS);
            backdate(db, *id, at.min(crate::domain::now()), tz).await?;
        }
        added += made.len();
    }
    Ok(added)
}

async fn has_evaluations(db: &Db, program: ProgramId) -> Result<bool, AppError> {
    const SQL: &str = "SELECT 1 FROM evaluations WHERE program_id = $1 LIMIT 1";
    let found: Option<i32> =
        on_db!(db, p => sqlx::query_scalar(SQL).bind(program).fetch_optional(p).await)?;
    Ok(found.is_some())
}

/// The demo people of a program in a role, by e-mail address.
fn people_of(code: &str, role: Role) -> impl Iterator<Item = &'static str> {
    PEOPLE
        .iter()
        .filter(move |(_, _, r, c, _)| *r == role && *c == code)
        .map(|p| p.0)
}

/// The program's demo evaluator, or the administrator where it has none.
async fn evaluator_of(db: &Db, code: &str) -> Result<Principal, AppError> {
    let email = people_of(code, Role::Evaluator)
        .next()
        .unwrap_or(PEOPLE[0].0);
    principal(db, email).await
}

/// The agents who can sign in acknowledge their evaluations, all but the latest, which they
/// dispute where it is not perfect: the disputes queue has work on day one.
async fn answer_as_agents(
    db: &Db,
    code: &str,
    made: &[(i64, String, i64)],
) -> Result<(), AppError> {
    let actor = demo_actor();
    for email in people_of(code, Role::Agent) {
        let agent = principal(db, email).await?;
        // The demo traffic names these agents by their e-mail address.
        let mut theirs: Vec<&(i64, String, i64)> =
            made.iter().filter(|(_, a, _)| a == email).collect();
        theirs.sort_by_key(|(_, _, arrived)| *arrived);
        let Some(((last, ..), earlier)) = theirs.split_last() else {
            continue;
        };
        for (id, ..) in earlier {
            workflow::acknowledge(db, &agent, &actor, *id).await?;
        }
        let (e, version) = evaluations::get_with_form(db, &agent, *last).await?;
        let weakest = e.answers.iter().find_map(|a| {
            let best = best_answer(version.form.criterion(&a.criterion)?.scale)?;
            (a.percent.is_some_and(|p| p < 100.0)).then(|| (a.criterion.clone(), best))
        });
        match weakest {
            Some((criterion, proposed)) => {
                let item = DisputeItem {
                    criterion,
                    proposed,
                    reason: dispute_reason(code).into(),
                };
                let input = DisputeInput { items: vec![item] };
                workflow::dispute(db, &agent, &actor, *last, &input).await?;
            }
            None => {
                workflow::acknowledge(db, &agent, &actor, *last).await?;
            }
        }
    }
    Ok(())
}

/// The agents who can sign in have had a coaching session about their two weakest
/// evaluations, with an agreed action due in a week, not yet acknowledged: their "my quality"
/// page has an open action. The coach is the agent's team lead, else the program's evaluator.
async fn coach_agents(
    db: &Db,
    program: &programs::Program,
    made: &[(i64, String, i64)],
) -> Result<(), AppError> {
    use crate::quality::coaching::{self, NewAction, NewSession};
    let code = program.code.as_str();
    let coach = match people_of(code, Role::TeamLead).next() {
        Some(lead) => principal(db, lead).await?,
        None => evaluator_of(db, code).await?,
    };
    let (strengths, improvements, action) = coaching_words(code);
    let due = chrono::Utc::now()
        .with_timezone(&program.zone())
        .date_naive()
        + chrono::Days::new(7);
    for email in people_of(code, Role::Agent) {
        let agent = principal(db, email).await?;
        let mut scored = Vec::new();
        for (id, ..) in made.iter().filter(|(_, a, _)| a == email) {
            let e = evaluations::get(db, &coach, *id).await?;
            scored.push((e.score.unwrap_or(0.0), *id));
        }
        scored.sort_by(|a, b| a.0.total_cmp(&b.0));
        let input = NewSession {
            program_id: program.id,
            agent_id: agent.person_id,
            strengths: strengths.into(),
            improvements: improvements.into(),
            notes: String::new(),
            evaluation_ids: scored.iter().take(2).map(|(_, id)| *id).collect(),
            actions: vec![NewAction {
                description: action.into(),
                due: due.format("%Y-%m-%d").to_string(),
            }],
        };
        coaching::create(db, &coach, &demo_actor(), &input).await?;
    }
    Ok(())
}

/// Strengths, improvement points and an agreed action, in the program's language.
fn coaching_words(code: &str) -> (&'static str, &'static str, &'static str) {
    match super::form_language(code) {
        Locale::De => (
            "Freundlicher Ton; hört aufmerksam zu und fasst das Anliegen gut zusammen.",
            "Lösungen früher anbieten und am Ende die nächsten Schritte klar vereinbaren.",
            "In den nächsten zehn Gesprächen am Ende die nächsten Schritte zusammenfassen.",
        ),
        Locale::Nl => (
            "Vriendelijke toon; luistert goed en vat de vraag helder samen.",
            "Eerder een oplossing aanbieden en aan het eind duidelijke vervolgstappen afspreken.",
            "In de volgende tien gesprekken aan het eind de vervolgstappen samenvatten.",
        ),
        Locale::En => (
            "Friendly tone; listens well and sums up the request clearly.",
            "Offer a solution sooner and agree clear next steps at the end.",
            "In the next ten calls, sum up the next steps at the end.",
        ),
    }
}

/// The answer that earns all of a criterion's points.
fn best_answer(scale: &Scale) -> Option<AnswerValue> {
    match scale {
        Scale::YesNo => Some(AnswerValue::Text("yes".into())),
        Scale::Range { max, .. } => Some(AnswerValue::Number(i64::from(*max))),
        Scale::Custom(points) => points
            .iter()
            .max_by_key(|p| p.percent)
            .map(|p| AnswerValue::Text(p.label.clone())),
    }
}

fn dispute_reason(code: &str) -> &'static str {
    match super::form_language(code) {
        Locale::De => {
            "Der Kunde hat sich am Ende ausdrücklich bedankt; das Anliegen war vollständig gelöst."
        }
        Locale::Nl => "De klant bedankte me aan het eind; de vraag was volledig opgelost.",
        Locale::En => "The customer thanked me at the end; the request was solved in full.",
    }
}

/// Move an evaluation and everything that happened to it by the same time, so that it was
/// submitted at `at`, and move its share of the quality rollups with it.
async fn backdate(db: &Db, id: i64, at: Timestamp, tz: chrono_tz::Tz) -> Result<(), AppError> {
    let (e, version) = evaluations::read_with_form(db, id).await?;
    let shift = at - e.submitted_at.unwrap_or(at);
    let moved = |t: Option<Timestamp>| t.map(|t| t + shift);
    let mut after = e.clone();
    after.created_at += shift;
    after.updated_at += shift;
    after.submitted_at = moved(e.submitted_at);
    after.acknowledged_at = moved(e.acknowledged_at);
    after.disputed_at = moved(e.disputed_at);
    after.resolved_at = moved(e.resolved_at);
    let before = rollup::share(&e, &version.form, tz);
    let after = rollup::share(&after, &version.form, tz);
    let mut tx = db.begin().await?;
    for sql in [
        "UPDATE evaluations SET created_at = created_at + $1, updated_at = updated_at + $1, \
         submitted_at = submitted_at + $1, acknowledged_at = acknowledged_at + $1, \
         disputed_at = disputed_at + $1, resolved_at = resolved_at + $1 WHERE id = $2",
        "UPDATE evaluation_events SET at = at + $1 WHERE evaluation_id = $2",
        "UPDATE evaluation_disputes SET created_at = created_at + $1 WHERE evaluation_id = $2",
    ] {
        on_tx!(&mut tx, t => sqlx::query(sql).bind(shift).bind(id).execute(t).await.map(|_| ()))?;
    }
    rollup::replace(&mut tx, before.as_ref(), after.as_ref()).await?;
    tx.commit().await?;
    Ok(())
}

/// Up to [`PER_AGENT`] answered contacts of each agent, spread evenly over the demo's weeks:
/// by agent code, (contact id, arrival).
async fn sample(db: &Db, program: ProgramId) -> Result<Vec<(String, Vec<(i64, i64)>)>, AppError> {
    const SQL: &str = "SELECT agent, id, arrived_at FROM contacts WHERE program_id = $1 \
        AND agent <> '' AND (outcome = 'handled' OR outcome = 'transferred') \
        ORDER BY agent, arrived_at, id";
    let rows: Vec<(String, i64, i64)> =
        on_db!(db, p => sqlx::query_as(SQL).bind(program).fetch_all(p).await)?;
    let mut by_agent: Vec<(String, Vec<(i64, i64)>)> = Vec::new();
    for (agent, id, at) in rows {
        match by_agent.last_mut() {
            Some((a, list)) if *a == agent => list.push((id, at)),
            _ => by_agent.push((agent, vec![(id, at)])),
        }
    }
    for (_, list) in &mut by_agent {
        let (n, k) = (list.len(), PER_AGENT.min(list.len()));
        let picked = (0..k).map(|i| list[i * n / k]).collect();
        *list = picked;
    }
    Ok(by_agent)
}

/// Start, answer and submit an evaluation of `contact` as `evaluator`.
async fn evaluate(
    db: &Db,
    evaluator: &Principal,
    contact: i64,
    skill: f64,
    rng: &mut StdRng,
) -> Result<i64, AppError> {
    let actor = demo_actor();
    let (e, _) = evaluations::start(db, evaluator, &actor, contact, &StartInput::default()).await?;
    let (_, version) = evaluations::get_with_form(db, evaluator, e.id).await?;
    let channel = Channel::parse(&e.channel).map_err(|e| anyhow::anyhow!(e.to_string()))?;
    let answers = version
        .form
        .criteria()
        .filter(|c| c.applies_to(channel))
        .map(|c| Answer {
            criterion: c.spec.key.clone(),
            value: answer(&c, skill, rng),
            comment: String::new(),
        })
        .collect();
    let input = SaveInput {
        answers,
        comment: String::new(),
    };
    evaluations::save(db, evaluator, e.id, &input).await?;
    evaluations::submit(db, evaluator, &actor, e.id).await?;
    Ok(e.id)
}

/// An answer of someone who earns about `skill` of a criterion's points; critical criteria
/// are failed rarely, and a criterion that allows it is now and then not applicable.
fn answer(c: &CriterionRef<'_>, skill: f64, rng: &mut StdRng) -> AnswerValue {
    if c.spec.na_allowed && rng.random_bool(0.06) {
        return AnswerValue::Text(crate::quality::scale::NOT_APPLICABLE.into());
    }
    let skill = if c.spec.critical {
        skill.max(0.97)
    } else {
        skill
    };
    let share = (skill + rng.random_range(-0.3..0.3)).clamp(0.0, 1.0);
    match c.scale {
        Scale::YesNo => AnswerValue::Text(if rng.random_bool(skill) { "yes" } else { "no" }.into()),
        Scale::Range { min, max } => {
            let span = f64::from(max - min);
            AnswerValue::Number(i64::from(*min) + (span * share).round() as i64)
        }
        Scale::Custom(points) => {
            let nearest = points.iter().min_by(|a, b| {
                let d = |p: u8| (f64::from(p) - share * 100.0).abs();
                d(a.percent).total_cmp(&d(b.percent))
            });
            AnswerValue::Text(nearest.map(|p| p.label.clone()).unwrap_or_default())
        }
    }
}
