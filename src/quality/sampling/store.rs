//! Sampling plans stored and run: a run reads one finished week's contacts, draws the sample
//! and stores it with the run in one transaction, so a week is sampled once per plan however
//! often, and by however many servers, it is asked for.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::draw::{self, Candidate, Facts, Pick};
use super::plan::{Checked, Plan, PlanInput, Rule, RuleKind};
use crate::audit::{self, Actor, Event};
use crate::auth::Principal;
use crate::contacts::calendar::{date_of, day_start_utc, today_in, week_of};
use crate::domain::{PersonId, ProgramId, Role, Timestamp, now};
use crate::kpi::Channel;
use crate::quality::evaluations::has_program_grant;
use crate::quality::notify;
use crate::store::{Db, is_unique_violation};
use crate::web::error::{AppError, AppResult};
use crate::{on_db, on_tx};

/// Whether the person runs the program's sampling: administrators and the program's evaluators.
pub fn may_manage(user: &Principal, program: ProgramId) -> bool {
    user.is_admin() || has_program_grant(user, program, Role::Evaluator)
}

/// Refuses whoever does not run the program's sampling (not found outside their programs).
pub fn check_manage(user: &Principal, program: ProgramId) -> AppResult<()> {
    user.check(crate::auth::Capability::ViewProgram(program))?;
    if may_manage(user, program) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// Whether a person may take a program's assignments: an administrator or its evaluator.
pub async fn may_evaluate(db: &Db, person: PersonId, program: ProgramId) -> AppResult<bool> {
    let grants = crate::auth::access::load_grants(db, person).await?;
    Ok(grants.iter().any(|g| {
        g.role == Role::Admin || (g.role == Role::Evaluator && g.scope_program_id == Some(program))
    }))
}

/// Who may take a program's assignments, by name: its evaluators and the administrators.
pub async fn eligible_evaluators(
    db: &Db,
    program: ProgramId,
) -> Result<Vec<(PersonId, String)>, sqlx::Error> {
    const SQL: &str = "SELECT DISTINCT p.id, p.name FROM people p JOIN grants g ON g.person_id = p.id \
        WHERE p.active = TRUE AND (g.role = 'admin' OR (g.role = 'evaluator' AND g.program_id = $1)) \
        ORDER BY p.name, p.id";
    on_db!(db, p => sqlx::query_as(SQL).bind(program).fetch_all(p).await)
}

#[derive(sqlx::FromRow)]
struct PlanRow {
    id: i64,
    program_id: ProgramId,
    name: String,
    per_agent: i64,
    channels: String,
    rules: String,
    due_days: i64,
    active: bool,
    created_at: Timestamp,
    updated_at: Timestamp,
}

const PLAN: &str = "SELECT id, program_id, name, per_agent, channels, rules, due_days, active, \
    created_at, updated_at FROM sampling_plans";

async fn to_plan(db: &Db, r: PlanRow) -> AppResult<Plan> {
    const EVALUATORS: &str =
        "SELECT person_id FROM sampling_plan_evaluators WHERE plan_id = $1 ORDER BY position";
    let evaluator_ids: Vec<PersonId> =
        on_db!(db, p => sqlx::query_scalar(EVALUATORS).bind(r.id).fetch_all(p).await)?;
    let rules: Vec<Rule> = serde_json::from_str(&r.rules)
        .map_err(|e| anyhow::anyhow!("sampling plan {}: stored rules unreadable: {e}", r.id))?;
    Ok(Plan {
        id: r.id,
        program_id: r.program_id,
        name: r.name,
        per_agent: u32::try_from(r.per_agent).unwrap_or(0),
        channels: r
            .channels
            .split(',')
            .filter_map(|c| Channel::parse(c).ok())
            .collect(),
        evaluator_ids,
        due_days: u32::try_from(r.due_days).unwrap_or(7),
        rules,
        active: r.active,
        created_at: r.created_at,
        updated_at: r.updated_at,
    })
}

/// A plan, without checking who asks.
pub async fn read(db: &Db, id: i64) -> AppResult<Plan> {
    let sql = format!("{PLAN} WHERE id = $1");
    let row: PlanRow = on_db!(db, p => sqlx::query_as(&sql).bind(id).fetch_optional(p).await)?
        .ok_or(AppError::NotFound)?;
    to_plan(db, row).await
}

/// A plan, for those who run its program's sampling.
pub async fn get(db: &Db, user: &Principal, id: i64) -> AppResult<Plan> {
    let plan = read(db, id).await?;
    check_manage(user, plan.program_id).map_err(|_| AppError::NotFound)?;
    Ok(plan)
}

/// A program's plans, active first.
pub async fn list(db: &Db, user: &Principal, program: ProgramId) -> AppResult<Vec<Plan>> {
    check_manage(user, program)?;
    let sql = format!("{PLAN} WHERE program_id = $1 ORDER BY active DESC, name, id");
    let rows: Vec<PlanRow> =
        on_db!(db, p => sqlx::query_as(&sql).bind(program).fetch_all(p).await)?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(to_plan(db, r).await?);
    }
    Ok(out)
}

async fn check_evaluators(db: &Db, program: ProgramId, c: &Checked) -> AppResult<()> {
    for (i, id) in c.evaluator_ids.iter().enumerate() {
        if !may_evaluate(db, *id, program).await? {
            return Err(AppError::InvalidAt {
                field: format!("evaluator_ids[{i}]"),
                message: "not an evaluator of this program".into(),
            });
        }
    }
    Ok(())
}

fn channels_text(c: &Checked) -> String {
    c.channels
        .iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

async fn write_evaluators(tx: &mut crate::store::Tx, plan: i64, c: &Checked) -> AppResult<()> {
    const CLEAR: &str = "DELETE FROM sampling_plan_evaluators WHERE plan_id = $1";
    on_tx!(&mut *tx, t => sqlx::query(CLEAR).bind(plan).execute(t).await.map(|_| ()))?;
    const ADD: &str =
        "INSERT INTO sampling_plan_evaluators (plan_id, position, person_id) VALUES ($1, $2, $3)";
    for (i, who) in c.evaluator_ids.iter().enumerate() {
        let position = i as i64;
        on_tx!(&mut *tx, t => sqlx::query(ADD).bind(plan).bind(position).bind(who)
            .execute(t).await.map(|_| ()))?;
    }
    Ok(())
}

pub async fn create(
    db: &Db,
    user: &Principal,
    actor: &Actor,
    program: ProgramId,
    input: &PlanInput,
) -> AppResult<Plan> {
    check_manage(user, program)?;
    let c = input.check()?;
    check_evaluators(db, program, &c).await?;
    let at = now();
    let rules = serde_json::to_string(&c.rules).map_err(anyhow::Error::from)?;
    let mut tx = db.begin().await?;
    const INSERT: &str = "INSERT INTO sampling_plans (program_id, name, per_agent, channels, rules, \
        due_days, active, created_by, created_at, updated_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id";
    let id: i64 = on_tx!(&mut tx, t => sqlx::query_scalar(INSERT)
        .bind(program).bind(&c.name).bind(i64::from(c.per_agent)).bind(channels_text(&c))
        .bind(&rules).bind(i64::from(c.due_days)).bind(c.active).bind(user.person_id).bind(at)
        .fetch_one(t).await)?;
    write_evaluators(&mut tx, id, &c).await?;
    audit::record(
        &mut tx,
        actor,
        Event::new("sampling.plan_created")
            .object("sampling_plan", id)
            .program(program)
            .detail(&c.name),
    )
    .await?;
    tx.commit().await?;
    read(db, id).await
}

pub async fn update(
    db: &Db,
    user: &Principal,
    actor: &Actor,
    id: i64,
    input: &PlanInput,
) -> AppResult<Plan> {
    let plan = get(db, user, id).await?;
    let c = input.check()?;
    check_evaluators(db, plan.program_id, &c).await?;
    let rules = serde_json::to_string(&c.rules).map_err(anyhow::Error::from)?;
    let mut tx = db.begin().await?;
    const UPDATE: &str = "UPDATE sampling_plans SET name = $1, per_agent = $2, channels = $3, \
        rules = $4, due_days = $5, active = $6, updated_at = $7 WHERE id = $8";
    on_tx!(&mut tx, t => sqlx::query(UPDATE)
        .bind(&c.name).bind(i64::from(c.per_agent)).bind(channels_text(&c)).bind(&rules)
        .bind(i64::from(c.due_days)).bind(c.active).bind(now()).bind(id)
        .execute(t).await.map(|_| ()))?;
    write_evaluators(&mut tx, id, &c).await?;
    audit::record(
        &mut tx,
        actor,
        Event::new("sampling.plan_changed")
            .object("sampling_plan", id)
            .program(plan.program_id)
            .detail(&c.name),
    )
    .await?;
    tx.commit().await?;
    read(db, id).await
}

/// What a run did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RunOutcome {
    pub plan_id: i64,
    /// The week's Monday, `YYYY-MM-DD`.
    pub week: String,
    /// The week had been sampled by this plan before; nothing changed.
    pub already_sampled: bool,
    pub assigned: i64,
    /// Assignments by reason: `random` and the rules' kinds.
    pub by_reason: BTreeMap<String, i64>,
    /// Contacts that could be sampled: handled by an agent, not evaluated, not sampled before.
    pub candidates: i64,
    /// The due date of the week's assignments, `YYYY-MM-DD`.
    pub due: String,
}

#[derive(sqlx::FromRow)]
struct CandidateRow {
    id: i64,
    agent: String,
    channel: String,
    customer_ref: String,
    arrived_at: i64,
    wait_s: i64,
    handle_s: i64,
    fcr_repeat: Option<bool>,
    csat: Option<i16>,
    rq: Option<bool>,
}

/// How long before a contact a bot conversation counts as handing the customer over.
const HANDOVER_MS: i64 = 3_600_000;

async fn candidates(
    db: &Db,
    plan: &Plan,
    from: i64,
    to: i64,
) -> Result<Vec<Candidate>, sqlx::Error> {
    // The channels are the enum's own names, never user text.
    let channels = plan
        .channels
        .iter()
        .map(|c| format!("'{}'", c.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT c.id, c.agent, c.channel, c.customer_ref, c.arrived_at, c.wait_s, \
         c.talk_s + c.hold_s + c.acw_s AS handle_s, c.fcr_repeat, s.csat, s.rq \
         FROM contacts c LEFT JOIN surveys s \
           ON s.program_id = c.program_id AND s.contact_external_id = c.external_id \
         WHERE c.program_id = $1 AND c.arrived_at >= $2 AND c.arrived_at < $3 AND c.agent <> '' \
           AND c.outcome IN ('handled', 'transferred') AND c.channel IN ({channels}) \
           AND NOT EXISTS (SELECT 1 FROM evaluations e WHERE e.contact_id = c.id AND e.kind = 'evaluation') \
           AND NOT EXISTS (SELECT 1 FROM sample_assignments a WHERE a.contact_id = c.id) \
         ORDER BY c.id"
    );
    let rows: Vec<CandidateRow> = on_db!(db, p => sqlx::query_as(&sql)
        .bind(plan.program_id).bind(from).bind(to).fetch_all(p).await)?;
    let mut handovers: HashMap<String, Vec<i64>> = HashMap::new();
    if plan.rules.iter().any(|r| r.kind == RuleKind::BotHandover) {
        const BOT: &str = "SELECT customer_ref, arrived_at FROM contacts WHERE program_id = $1 \
            AND arrived_at >= $2 AND arrived_at < $3 AND channel = 'bot' \
            AND outcome <> 'bot_resolved' AND customer_ref <> ''";
        let bots: Vec<(String, i64)> = on_db!(db, p => sqlx::query_as(BOT)
            .bind(plan.program_id).bind(from - HANDOVER_MS).bind(to).fetch_all(p).await)?;
        for (customer, at) in bots {
            handovers.entry(customer).or_default().push(at);
        }
    }
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let channel = Channel::parse(&r.channel).ok()?;
            let bot_handover = handovers.get(&r.customer_ref).is_some_and(|times| {
                times
                    .iter()
                    .any(|b| *b <= r.arrived_at && r.arrived_at - b <= HANDOVER_MS)
            });
            Some(Candidate {
                contact_id: r.id,
                agent: r.agent,
                channel,
                facts: Facts {
                    csat: r.csat,
                    customer_rq: r.rq,
                    repeat: r.fcr_repeat == Some(true),
                    handle_s: r.handle_s,
                    wait_s: r.wait_s,
                    bot_handover,
                },
            })
        })
        .collect())
}

/// Each of the plan's evaluators with their open assignments in the program, in plan order.
async fn open_load(db: &Db, plan: &Plan) -> Result<Vec<(PersonId, usize)>, sqlx::Error> {
    const SQL: &str = "SELECT a.evaluator_id, COUNT(*) FROM sample_assignments a \
        WHERE a.program_id = $1 AND NOT EXISTS (SELECT 1 FROM evaluations e \
          WHERE e.contact_id = a.contact_id AND e.kind = 'evaluation' AND e.status <> 'draft') \
        GROUP BY a.evaluator_id";
    let rows: Vec<(PersonId, i64)> =
        on_db!(db, p => sqlx::query_as(SQL).bind(plan.program_id).fetch_all(p).await)?;
    let counts: HashMap<PersonId, i64> = rows.into_iter().collect();
    Ok(plan
        .evaluator_ids
        .iter()
        .map(|id| {
            let n = counts.get(id).copied().unwrap_or(0);
            (*id, usize::try_from(n).unwrap_or(0))
        })
        .collect())
}

async fn people_of_agents(
    db: &Db,
    program: ProgramId,
) -> Result<HashMap<String, PersonId>, sqlx::Error> {
    const SQL: &str = "SELECT code, person_id FROM agent_codes WHERE program_id = $1";
    let rows: Vec<(String, PersonId)> =
        on_db!(db, p => sqlx::query_as(SQL).bind(program).fetch_all(p).await)?;
    Ok(rows.into_iter().collect())
}

/// The Monday of the last week that has ended in the program's time zone.
pub fn last_finished_week(tz: chrono_tz::Tz) -> i64 {
    week_of(today_in(tz)) - 7
}

/// Samples the week starting on Monday `week` (a local day number) for the plan. A week that
/// has not ended is refused; a week sampled before is left as it is.
pub async fn run(
    db: &Db,
    actor: &Actor,
    plan: &Plan,
    week: i64,
    by: Option<PersonId>,
) -> AppResult<RunOutcome> {
    let tz = crate::programs::zone(db, plan.program_id).await?;
    let week = week_of(week);
    let due_day = week + 6 + i64::from(plan.due_days);
    let mut outcome = RunOutcome {
        plan_id: plan.id,
        week: date_of(week).to_string(),
        already_sampled: false,
        assigned: 0,
        by_reason: BTreeMap::new(),
        candidates: 0,
        due: date_of(due_day).to_string(),
    };
    if week > last_finished_week(tz) {
        return Err(AppError::InvalidAt {
            field: "week".into(),
            message: format!("the week of {} has not ended yet", outcome.week),
        });
    }
    const RAN: &str = "SELECT assigned FROM sampling_runs WHERE plan_id = $1 AND week_day = $2";
    let ran: Option<i64> =
        on_db!(db, p => sqlx::query_scalar(RAN).bind(plan.id).bind(week).fetch_optional(p).await)?;
    if let Some(assigned) = ran {
        return already(db, outcome, week, assigned).await;
    }
    let (from, to) = (day_start_utc(tz, week), day_start_utc(tz, week + 7));
    let candidates = candidates(db, plan, from, to).await?;
    outcome.candidates = candidates.len() as i64;
    let picks: Vec<Pick> = draw::draw(
        &candidates,
        plan.per_agent as usize,
        &plan.rules,
        draw::seed(plan.id, week),
    );
    let load = open_load(db, plan).await?;
    let agents = people_of_agents(db, plan.program_id).await?;
    let assigned = draw::assign(picks, &load, &agents);

    let at = now();
    let mut tx = db.begin().await?;
    const RUN: &str = "INSERT INTO sampling_runs (plan_id, week_day, ran_at, ran_by, assigned) \
        VALUES ($1, $2, $3, $4, 0)";
    let inserted = on_tx!(&mut tx, t => sqlx::query(RUN).bind(plan.id).bind(week).bind(at).bind(by)
        .execute(t).await.map(|_| ()));
    match inserted {
        Ok(()) => {}
        Err(e) if is_unique_violation(&e) => {
            drop(tx);
            let assigned: i64 = on_db!(db, p => sqlx::query_scalar(RAN).bind(plan.id).bind(week)
                .fetch_one(p).await)?;
            return already(db, outcome, week, assigned).await;
        }
        Err(e) => return Err(e.into()),
    }
    const ASSIGN: &str = "INSERT INTO sample_assignments (plan_id, program_id, week_day, contact_id, \
        agent_code, evaluator_id, reason, due_day, created_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (contact_id) DO NOTHING";
    let mut per_evaluator: BTreeMap<PersonId, i64> = BTreeMap::new();
    for (pick, who) in &assigned {
        let stored = on_tx!(&mut tx, t => sqlx::query(ASSIGN)
            .bind(plan.id).bind(plan.program_id).bind(week).bind(pick.contact_id).bind(&pick.agent)
            .bind(who).bind(pick.reason.as_str()).bind(due_day).bind(at)
            .execute(t).await.map(|r| r.rows_affected()))?;
        if stored == 1 {
            outcome.assigned += 1;
            *outcome
                .by_reason
                .entry(pick.reason.as_str().to_owned())
                .or_default() += 1;
            *per_evaluator.entry(*who).or_default() += 1;
        }
    }
    const COUNT: &str =
        "UPDATE sampling_runs SET assigned = $1 WHERE plan_id = $2 AND week_day = $3";
    on_tx!(&mut tx, t => sqlx::query(COUNT).bind(outcome.assigned).bind(plan.id).bind(week)
        .execute(t).await.map(|_| ()))?;
    for (who, n) in &per_evaluator {
        let detail = format!("{n} · {} · {}", plan.name, outcome.due);
        notify::send(
            &mut tx,
            *who,
            notify::Kind::SamplesAssigned,
            &detail,
            "/assignments",
        )
        .await?;
    }
    audit::record(
        &mut tx,
        actor,
        Event::new("sampling.run")
            .object("sampling_plan", plan.id)
            .program(plan.program_id)
            .detail(format!(
                "week {} · {} assigned",
                outcome.week, outcome.assigned
            )),
    )
    .await?;
    tx.commit().await?;
    Ok(outcome)
}

/// The outcome of a week sampled before: what that run assigned.
async fn already(
    db: &Db,
    mut outcome: RunOutcome,
    week: i64,
    assigned: i64,
) -> AppResult<RunOutcome> {
    const SQL: &str = "SELECT reason, COUNT(*) FROM sample_assignments \
        WHERE plan_id = $1 AND week_day = $2 GROUP BY reason";
    let rows: Vec<(String, i64)> = on_db!(db, p => sqlx::query_as(SQL)
        .bind(outcome.plan_id).bind(week).fetch_all(p).await)?;
    outcome.already_sampled = true;
    outcome.assigned = assigned;
    outcome.by_reason = rows.into_iter().collect();
    Ok(outcome)
}

/// Samples the last finished week of every active plan not sampled yet: the weekly schedule.
pub async fn run_due(db: &Db) -> AppResult<usize> {
    let sql = format!("{PLAN} WHERE active = TRUE ORDER BY id");
    let rows: Vec<PlanRow> = on_db!(db, p => sqlx::query_as(&sql).fetch_all(p).await)?;
    let actor = Actor {
        label: "schedule".into(),
        ..Actor::cli()
    };
    let mut sampled = 0;
    for r in rows {
        let plan = to_plan(db, r).await?;
        let week = last_finished_week(crate::programs::zone(db, plan.program_id).await?);
        let outcome = run(db, &actor, &plan, week, None).await?;
        if !outcome.already_sampled {
            sampled += 1;
        }
    }
    Ok(sampled)
}
