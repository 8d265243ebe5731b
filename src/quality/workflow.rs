//! What happens after an evaluation is submitted: the agent acknowledges it, or disputes answers
//! criterion by criterion with a reason and the answer they propose; a team lead or QA resolves
//! the dispute, the upheld answers replace the disputed ones, and the score is computed again.
//! Every step is kept in the evaluation's history.

use serde::Deserialize;

use super::evaluations::{
    self, Change, Evaluation, Kind, Status, as_answers, event, has_program_grant, own_codes, read,
    stored_value, write_answers,
};
use super::forms::FormVersion;
use super::scale::AnswerValue;
use super::scoring::{self, Answer};
use super::{notify, rollup};
use crate::audit::{self, Actor, Event};
use crate::auth::Principal;
use crate::domain::{PersonId, ProgramId, Role, Timestamp, now};
use crate::kpi::Channel;
use crate::store::{Conn, Db};
use crate::web::error::{AppError, AppResult};
use crate::{on_conn, on_db, on_tx};

/// How long after submission the agent may dispute.
pub const DISPUTE_WINDOW_DAYS: i64 = 14;
/// How long a lead or QA has to resolve a dispute.
pub const RESOLVE_WITHIN_DAYS: i64 = 7;

const DAY_MS: i64 = 24 * 3600 * 1000;

/// When a dispute raised at `disputed_at` must be resolved.
pub fn resolve_by(disputed_at: Timestamp) -> Timestamp {
    disputed_at + RESOLVE_WITHIN_DAYS * DAY_MS
}

/// One disputed criterion.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct DisputedCriterion {
    pub criterion: String,
    pub original_value: String,
    pub proposed_value: String,
    pub reason: String,
    /// `upheld` or `rejected` once resolved.
    pub outcome: Option<String>,
}

/// One step of an evaluation's history.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct HistoryEntry {
    pub at: Timestamp,
    pub actor_id: Option<PersonId>,
    pub actor_name: Option<String>,
    /// `created`, `submitted`, `acknowledged`, `disputed`, `resolved`.
    pub action: String,
    pub detail: String,
}

pub(crate) async fn disputes_of(
    c: &mut Conn<'_>,
    id: i64,
) -> Result<Vec<DisputedCriterion>, sqlx::Error> {
    const SQL: &str = "SELECT criterion_key AS criterion, original_value, proposed_value, reason, outcome \
        FROM evaluation_disputes WHERE evaluation_id = $1 ORDER BY created_at, criterion_key";
    on_conn!(c, t => sqlx::query_as(SQL).bind(id).fetch_all(t).await)
}

pub(crate) async fn history_of(
    c: &mut Conn<'_>,
    id: i64,
) -> Result<Vec<HistoryEntry>, sqlx::Error> {
    const SQL: &str = "SELECT e.at, e.actor_id, p.name AS actor_name, e.action, e.detail \
        FROM evaluation_events e LEFT JOIN people p ON p.id = e.actor_id \
        WHERE e.evaluation_id = $1 ORDER BY e.id";
    on_conn!(c, t => sqlx::query_as(SQL).bind(id).fetch_all(t).await)
}

/// Whether the person is the agent the evaluation is about.
pub(crate) async fn is_its_agent(db: &Db, user: &Principal, e: &Evaluation) -> AppResult<bool> {
    if e.kind != Kind::Evaluation || e.agent_code.is_empty() {
        return Ok(false);
    }
    Ok(e.agent_id == Some(user.person_id)
        || own_codes(db, user.person_id, e.program_id)
            .await?
            .contains(&e.agent_code))
}

/// Whether the person may resolve disputes about this evaluation's agent: administrators, the
/// program's evaluators, and the agent's team lead; never the agent.
pub(crate) async fn may_resolve(db: &Db, user: &Principal, e: &Evaluation) -> AppResult<bool> {
    if is_its_agent(db, user, e).await? {
        return Ok(false);
    }
    if user.is_admin() || has_program_grant(user, e.program_id, Role::Evaluator) {
        return Ok(true);
    }
    if has_program_grant(user, e.program_id, Role::TeamLead) {
        let codes = crate::people::agent_codes::figure_scope(db, user, e.program_id)
            .await?
            .unwrap_or_default();
        return Ok(codes.contains(&e.agent_code));
    }
    Ok(false)
}

fn not_now(message: impl Into<String>) -> AppError {
    AppError::Conflict {
        field: None,
        message: message.into(),
    }
}

/// The submitted evaluation of the agent's own contact, for the agent to answer.
async fn for_its_agent(db: &Db, user: &Principal, id: i64) -> AppResult<(Evaluation, FormVersion)> {
    let (e, version) = evaluations::get_with_form(db, user, id).await?;
    if !is_its_agent(db, user, &e).await? {
        return Err(AppError::Forbidden);
    }
    if e.status != Status::Submitted {
        return Err(not_now(format!(
            "the evaluation is {}; only a submitted one is acknowledged or disputed",
            status_word(e.status)
        )));
    }
    Ok((e, version))
}

fn status_word(s: Status) -> &'static str {
    match s {
        Status::Draft => "a draft",
        Status::Submitted => "submitted",
        Status::Acknowledged => "acknowledged",
        Status::Disputed => "disputed",
        Status::Resolved => "resolved",
    }
}

/// The agent has read the evaluation and accepts it.
pub async fn acknowledge(
    db: &Db,
    user: &Principal,
    actor: &Actor,
    id: i64,
) -> AppResult<Evaluation> {
    let (e, _) = for_its_agent(db, user, id).await?;
    let mut tx = db.begin().await?;
    const SQL: &str = "UPDATE evaluations SET status = 'acknowledged', acknowledged_at = $1, updated_at = $1 \
        WHERE id = $2 AND status = 'submitted'";
    let changed = on_tx!(&mut tx, t => sqlx::query(SQL).bind(now()).bind(id).execute(t).await.map(|r| r.rows_affected()))?;
    if changed == 0 {
        return Err(not_now("the evaluation was answered meanwhile"));
    }
    event(&mut tx, id, user, "acknowledged", "").await?;
    audit::record(
        &mut tx,
        actor,
        Event::new("evaluation.acknowledged")
            .object("evaluation", id)
            .program(e.program_id),
    )
    .await?;
    tx.commit().await?;
    read(db, id).await
}

/// One criterion the agent disputes.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisputeItem {
    pub criterion: String,
    /// The answer the agent proposes, on the criterion's scale.
    #[schema(value_type = serde_json::Value)]
    pub proposed: AnswerValue,
    pub reason: String,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisputeInput {
    pub items: Vec<DisputeItem>,
}

fn bad(path: String, message: impl Into<String>) -> AppError {
    AppError::InvalidAt {
        field: path,
        message: message.into(),
    }
}

/// The agent disputes answers, each with a reason and the answer proposed.
pub async fn dispute(
    db: &Db,
    user: &Principal,
    actor: &Actor,
    id: i64,
    input: &DisputeInput,
) -> AppResult<Evaluation> {
    let (e, version) = for_its_agent(db, user, id).await?;
    let submitted = e.submitted_at.unwrap_or(0);
    if now() > submitted + DISPUTE_WINDOW_DAYS * DAY_MS {
        return Err(not_now(format!(
            "an evaluation can be disputed within {DISPUTE_WINDOW_DAYS} days of its submission"
        )));
    }
    if input.items.is_empty() {
        return Err(bad(
            "items".into(),
            "name at least one criterion to dispute",
        ));
    }
    let mut rows = Vec::new();
    for (i, item) in input.items.iter().enumerate() {
        let Some(answer) = e.answers.iter().find(|a| a.criterion == item.criterion) else {
            return Err(bad(
                format!("items[{i}].criterion"),
                format!("{:?} was not answered in this evaluation", item.criterion),
            ));
        };
        if rows
            .iter()
            .any(|(c, _, _, _): &(String, _, _, _)| *c == item.criterion)
        {
            return Err(bad(format!("items[{i}].criterion"), "disputed twice"));
        }
        let criterion = version
            .form
            .criterion(&item.criterion)
            .ok_or(AppError::NotFound)?;
        let proposed_ok = if item.proposed.is_not_applicable() {
            criterion.spec.na_allowed
        } else {
            criterion.scale.percent(&item.proposed).is_some()
        };
        if !proposed_ok {
            return Err(bad(
                format!("items[{i}].proposed"),
                format!(
                    "{} is not an answer to this criterion: answer {}",
                    item.proposed,
                    criterion.scale.describe()
                ),
            ));
        }
        let proposed = stored_value(&item.proposed);
        if proposed == answer.value {
            return Err(bad(
                format!("items[{i}].proposed"),
                "propose an answer other than the one given",
            ));
        }
        let reason = item.reason.trim();
        if reason.is_empty() || reason.chars().count() > 2000 {
            return Err(bad(
                format!("items[{i}].reason"),
                "give a reason of 1 to 2000 characters",
            ));
        }
        rows.push((
            item.criterion.clone(),
            answer.value.clone(),
            proposed,
            reason.to_owned(),
        ));
    }
    let at = now();
    let tz = crate::programs::zone(db, e.program_id).await?;
    let before = rollup::share(&e, &version.form, tz);
    let mut after = e.clone();
    after.status = Status::Disputed;
    after.disputed_at = Some(at);
    let after = rollup::share(&after, &version.form, tz);
    let mut tx = db.begin().await?;
    const SQL: &str = "UPDATE evaluations SET status = 'disputed', disputed_at = $1, updated_at = $1 \
        WHERE id = $2 AND status = 'submitted'";
    let changed = on_tx!(&mut tx, t => sqlx::query(SQL).bind(at).bind(id).execute(t).await.map(|r| r.rows_affected()))?;
    if changed == 0 {
        return Err(not_now("the evaluation was answered meanwhile"));
    }
    const ITEM: &str = "INSERT INTO evaluation_disputes (evaluation_id, criterion_key, original_value, \
        proposed_value, reason, created_at) VALUES ($1, $2, $3, $4, $5, $6)";
    for (criterion, original, proposed, reason) in &rows {
        on_tx!(&mut tx, t => sqlx::query(ITEM).bind(id).bind(criterion).bind(original)
            .bind(proposed).bind(reason).bind(at).execute(t).await.map(|_| ()))?;
    }
    let detail: Vec<String> = rows
        .iter()
        .map(|(c, o, p, _)| format!("{c}: {o} → {p}"))
        .collect();
    event(&mut tx, id, user, "disputed", &detail.join("; ")).await?;
    let link = format!("/evaluations/{id}");
    notify::send(
        &mut tx,
        e.evaluator_id,
        notify::Kind::EvaluationDisputed,
        &detail.join("; "),
        &link,
    )
    .await?;
    audit::record(
        &mut tx,
        actor,
        Event::new("evaluation.disputed")
            .object("evaluation", id)
            .program(e.program_id)
            .detail(detail.join("; ")),
    )
    .await?;
    // Last, so the rows every submission of the program updates stay locked only until the commit.
    rollup::replace(&mut tx, before.as_ref(), after.as_ref()).await?;
    tx.commit().await?;
    read(db, id).await
}

/// The decision on one disputed criterion.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    pub criterion: String,
    /// `true`: the proposed answer replaces the given one.
    pub upheld: bool,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveInput {
    /// One decision per disputed criterion.
    pub decisions: Vec<Decision>,
    #[serde(default)]
    pub note: String,
}

/// A lead or QA decides every disputed criterion; upheld answers replace the given ones and the
/// score is computed again.
pub async fn resolve(
    db: &Db,
    user: &Principal,
    actor: &Actor,
    id: i64,
    input: &ResolveInput,
) -> AppResult<Evaluation> {
    let (e, version) = evaluations::get_with_form(db, user, id).await?;
    if !may_resolve(db, user, &e).await? {
        return Err(AppError::Forbidden);
    }
    if e.status != Status::Disputed {
        return Err(not_now(format!(
            "the evaluation is {}; only a disputed one is resolved",
            status_word(e.status)
        )));
    }
    for (i, d) in input.decisions.iter().enumerate() {
        if !e.disputes.iter().any(|x| x.criterion == d.criterion) {
            return Err(bad(
                format!("decisions[{i}].criterion"),
                format!("{:?} is not disputed", d.criterion),
            ));
        }
        if input.decisions[..i]
            .iter()
            .any(|x| x.criterion == d.criterion)
        {
            return Err(bad(format!("decisions[{i}].criterion"), "decided twice"));
        }
    }
    if let Some(open) = e
        .disputes
        .iter()
        .find(|x| !input.decisions.iter().any(|d| d.criterion == x.criterion))
    {
        return Err(bad(
            "decisions".into(),
            format!(
                "decide every disputed criterion; {:?} has no decision",
                open.criterion
            ),
        ));
    }
    if input.note.chars().count() > 4000 {
        return Err(bad("note".into(), "is longer than 4000 characters"));
    }
    let upheld = |criterion: &str| {
        input
            .decisions
            .iter()
            .any(|d| d.criterion == criterion && d.upheld)
    };
    // The answers after the decision, scored again with the evaluation's form version.
    let mut answers: Vec<Answer> = as_answers(&e.answers);
    for d in &e.disputes {
        if upheld(&d.criterion)
            && let Some(a) = answers.iter_mut().find(|a| a.criterion == d.criterion)
        {
            a.value = AnswerValue::from_stored(&d.proposed_value);
        }
    }
    let tz = crate::programs::zone(db, e.program_id).await?;
    let channel = Channel::parse(&e.channel).map_err(|x| anyhow::anyhow!(x.to_string()))?;
    let scored = scoring::score(&version.form, channel, &answers)?;
    let count = e.disputes.iter().filter(|d| upheld(&d.criterion)).count();
    let resolution = match count {
        0 => "rejected",
        n if n == e.disputes.len() => "upheld",
        _ => "partly_upheld",
    };
    let at = now();
    let before = rollup::share(&e, &version.form, tz);
    let mut after = e.clone();
    after.status = Status::Resolved;
    after.resolution = Some(resolution.to_owned());
    after.score = scored.score;
    after.passed = scored.passed;
    after.failed = scored.failed;
    after.rq = scored.rq;
    for a in &mut after.answers {
        if let Some(c) = scored.criteria.iter().find(|c| c.criterion == a.criterion) {
            a.percent = c.percent;
        }
    }
    let after = rollup::share(&after, &version.form, tz);
    let mut tx = db.begin().await?;
    const SQL: &str = "UPDATE evaluations SET status = 'resolved', resolved_at = $1, updated_at = $1, \
        resolution = $2, resolution_note = $3 WHERE id = $4 AND status = 'disputed'";
    let changed = on_tx!(&mut tx, t => sqlx::query(SQL).bind(at).bind(resolution).bind(input.note.trim())
        .bind(id).execute(t).await.map(|r| r.rows_affected()))?;
    if changed == 0 {
        return Err(not_now("the dispute was resolved meanwhile"));
    }
    const OUTCOME: &str = "UPDATE evaluation_disputes SET outcome = $1 WHERE evaluation_id = $2 AND criterion_key = $3";
    for d in &e.disputes {
        let outcome = if upheld(&d.criterion) {
            "upheld"
        } else {
            "rejected"
        };
        on_tx!(&mut tx, t => sqlx::query(OUTCOME).bind(outcome).bind(id).bind(&d.criterion)
            .execute(t).await.map(|_| ()))?;
    }
    write_answers(&mut tx, id, &answers, &scored, &Change::Resolution)
        .await?
        .ok_or(AppError::NotFound)?;
    let show = |s: Option<f64>| s.map(scoring::display).unwrap_or_else(|| "–".into());
    let detail = format!(
        "{resolution}: {count} of {} upheld; score {} → {}",
        e.disputes.len(),
        show(e.score),
        show(scored.score)
    );
    event(&mut tx, id, user, "resolved", &detail).await?;
    if let Some(agent) = e.agent_id {
        let link = format!("/evaluations/{id}");
        notify::send(
            &mut tx,
            agent,
            notify::Kind::DisputeResolved,
            &detail,
            &link,
        )
        .await?;
    }
    audit::record(
        &mut tx,
        actor,
        Event::new("evaluation.resolved")
            .object("evaluation", id)
            .program(e.program_id)
            .detail(detail),
    )
    .await?;
    // Last, so the rows every submission of the program updates stay locked only until the commit.
    rollup::replace(&mut tx, before.as_ref(), after.as_ref()).await?;
    tx.commit().await?;
    read(db, id).await
}

/// An open dispute in a resolver's queue.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct OpenDispute {
    pub evaluation_id: i64,
    pub program_id: ProgramId,
    pub contact_id: i64,
    pub agent_code: String,
    pub evaluator_name: String,
    pub score: Option<f64>,
    pub disputed_at: Timestamp,
    pub resolve_by: Timestamp,
    pub overdue: bool,
    /// How many criteria are disputed.
    pub criteria: usize,
}

/// The open disputes the person may resolve, the oldest first.
pub async fn queue(
    db: &Db,
    user: &Principal,
    program: Option<ProgramId>,
) -> AppResult<Vec<OpenDispute>> {
    const SQL: &str = "SELECT id FROM evaluations WHERE status = 'disputed' \
        AND ($1 = 0 OR program_id = $1) ORDER BY disputed_at, id";
    let scope = user.program_scope();
    let ids: Vec<i64> = on_db!(db, p => sqlx::query_scalar(SQL)
        .bind(program.map(|p| p.0).unwrap_or(0)).fetch_all(p).await)?;
    let mut out = Vec::new();
    let at = now();
    for id in ids {
        let e = read(db, id).await?;
        if !scope.contains(e.program_id) || !may_resolve(db, user, &e).await? {
            continue;
        }
        let disputed_at = e.disputed_at.unwrap_or(e.updated_at);
        out.push(OpenDispute {
            evaluation_id: e.id,
            program_id: e.program_id,
            contact_id: e.contact_id,
            agent_code: e.agent_code,
            evaluator_name: e.evaluator_name,
            score: e.score,
            disputed_at,
            resolve_by: resolve_by(disputed_at),
            overdue: at > resolve_by(disputed_at),
            criteria: e.disputes.len(),
        });
    }
    Ok(out)
}
