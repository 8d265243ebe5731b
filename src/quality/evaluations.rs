//! Evaluations of contacts, and self-evaluations by the agent whose contact it is: a draft is
//! saved as often as wanted, then submitted. Each keeps the form version it was made with, its
//! answers and comments, its score by docs/scoring.md, and its history.

use std::collections::BTreeSet;

use serde::Deserialize;

use super::forms::{self, FormVersion, VersionStatus};
use super::scale::AnswerValue;
use super::scoring::{self, Answer, AnswerError, Scored};
use super::workflow::HistoryEntry;
use crate::audit::{self, Actor, Event};
use crate::auth::Principal;
use crate::domain::{PersonId, ProgramId, Role, Timestamp, now};
use crate::kpi::Channel;
use crate::store::{Conn, Db, Tx, Value, is_unique_violation, marks};
use crate::web::error::{AppError, AppResult};
use crate::{on_conn, on_db, on_tx};

impl From<AnswerError> for AppError {
    fn from(e: AnswerError) -> Self {
        AppError::InvalidAt {
            field: e.path,
            message: e.message,
        }
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// By an evaluator or team lead.
    #[default]
    Evaluation,
    /// By the agent whose contact it is.
    #[serde(rename = "self")]
    SelfEvaluation,
}

impl Kind {
    /// The interface text's key for the kind.
    pub fn label_key(self) -> &'static str {
        match self {
            Kind::Evaluation => "quality.kind_evaluation",
            Kind::SelfEvaluation => "quality.kind_self",
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Kind::Evaluation => "evaluation",
            Kind::SelfEvaluation => "self",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Draft,
    Submitted,
    Acknowledged,
    Disputed,
    Resolved,
}

impl Status {
    /// The interface text's key for the status.
    pub fn label_key(self) -> &'static str {
        match self {
            Status::Draft => "quality.status_draft",
            Status::Submitted => "quality.status_submitted",
            Status::Acknowledged => "quality.status_acknowledged",
            Status::Disputed => "quality.status_disputed",
            Status::Resolved => "quality.status_resolved",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "draft" => Status::Draft,
            "submitted" => Status::Submitted,
            "acknowledged" => Status::Acknowledged,
            "disputed" => Status::Disputed,
            "resolved" => Status::Resolved,
            _ => return None,
        })
    }
}

/// A stored answer with what it earned.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct StoredAnswer {
    pub criterion: String,
    pub value: String,
    /// 0–100; `null` for "n/a".
    pub percent: Option<f64>,
    pub comment: String,
}

/// One evaluation as its readers see it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Evaluation {
    pub id: i64,
    pub program_id: ProgramId,
    pub contact_id: i64,
    pub form_version_id: i64,
    pub kind: Kind,
    pub evaluator_id: PersonId,
    pub evaluator_name: String,
    /// The person behind the contact's agent code, when the code is linked to one.
    pub agent_id: Option<PersonId>,
    pub agent_code: String,
    pub channel: String,
    pub status: Status,
    /// 0–100 by docs/scoring.md, unrounded; `null` while nothing counts.
    pub score: Option<f64>,
    pub earned: f64,
    pub possible: f64,
    pub failed: bool,
    pub passed: Option<bool>,
    /// The relationship question's answer.
    pub rq: Option<bool>,
    pub comment: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub submitted_at: Option<Timestamp>,
    pub answers: Vec<StoredAnswer>,
    /// Criteria that apply and have no answer yet.
    pub missing: Vec<String>,
    pub critical_failures: Vec<String>,
    pub acknowledged_at: Option<Timestamp>,
    pub disputed_at: Option<Timestamp>,
    /// When a dispute must be resolved by.
    pub resolve_by: Option<Timestamp>,
    pub resolved_at: Option<Timestamp>,
    /// `upheld`, `partly_upheld` or `rejected`.
    pub resolution: Option<String>,
    pub resolution_note: String,
    /// The disputed criteria with their outcomes.
    pub disputes: Vec<super::workflow::DisputedCriterion>,
    /// What happened to it, oldest first.
    pub history: Vec<super::workflow::HistoryEntry>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    program_id: ProgramId,
    contact_id: i64,
    form_version_id: i64,
    kind: String,
    evaluator_id: PersonId,
    evaluator_name: String,
    agent_id: Option<PersonId>,
    agent_code: String,
    channel: String,
    status: String,
    comment: String,
    created_at: Timestamp,
    updated_at: Timestamp,
    submitted_at: Option<Timestamp>,
    acknowledged_at: Option<Timestamp>,
    disputed_at: Option<Timestamp>,
    resolved_at: Option<Timestamp>,
    resolution: Option<String>,
    resolution_note: String,
}

const COLUMNS: &str = "e.id, e.program_id, e.contact_id, e.form_version_id, e.kind, e.evaluator_id, \
    p.name AS evaluator_name, e.agent_id, e.agent_code, e.channel, e.status, e.comment, e.created_at, \
    e.updated_at, e.submitted_at, e.acknowledged_at, e.disputed_at, e.resolved_at, e.resolution, \
    e.resolution_note";

/// How to start an evaluation of a contact.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartInput {
    #[serde(default)]
    pub kind: Kind,
    /// A published form version meant for the contact's channel; by default the program's most
    /// recently published one.
    #[serde(default)]
    pub form_version_id: Option<i64>,
}

/// A draft's answers and overall comment; replaces what was saved before.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaveInput {
    #[serde(default)]
    pub answers: Vec<Answer>,
    #[serde(default)]
    pub comment: String,
}

/// The contact facts an evaluation needs.
#[derive(sqlx::FromRow)]
struct ContactFacts {
    program_id: ProgramId,
    channel: String,
    agent: String,
}

/// A contact the person can see; anyone who cannot learns nothing about it (not found).
async fn visible_contact(db: &Db, user: &Principal, id: i64) -> AppResult<ContactFacts> {
    const SQL: &str = "SELECT program_id, channel, agent FROM contacts WHERE id = $1";
    let c: ContactFacts = on_db!(db, p => sqlx::query_as(SQL).bind(id).fetch_optional(p).await)?
        .ok_or(AppError::NotFound)?;
    let scope = crate::people::agent_codes::figure_scope(db, user, c.program_id).await?;
    if scope
        .as_ref()
        .is_some_and(|codes| !codes.contains(&c.agent))
    {
        return Err(AppError::NotFound);
    }
    Ok(c)
}

/// Whose evaluations of a program a person reads.
enum Reach {
    /// Administrators and the program's evaluators: all of them, drafts included.
    All,
    /// Team leads and agents: those about these agent codes, once submitted.
    Codes(BTreeSet<String>),
    Nothing,
}

pub(crate) fn has_program_grant(user: &Principal, program: ProgramId, role: Role) -> bool {
    user.grants
        .iter()
        .any(|g| g.role == role && g.scope_program_id == Some(program))
}

async fn reach(db: &Db, user: &Principal, program: ProgramId) -> AppResult<Reach> {
    if user.is_admin() || has_program_grant(user, program, Role::Evaluator) {
        return Ok(Reach::All);
    }
    if has_program_grant(user, program, Role::TeamLead)
        || has_program_grant(user, program, Role::Agent)
    {
        let codes = crate::people::agent_codes::figure_scope(db, user, program)
            .await?
            .unwrap_or_default();
        return Ok(Reach::Codes(codes));
    }
    Ok(Reach::Nothing)
}

/// The agent codes of the person's own contacts in a program.
pub(crate) async fn own_codes(
    db: &Db,
    person: PersonId,
    program: ProgramId,
) -> Result<Vec<String>, sqlx::Error> {
    const SQL: &str = "SELECT code FROM agent_codes WHERE program_id = $1 AND person_id = $2";
    on_db!(db, p => sqlx::query_scalar(SQL).bind(program).bind(person).fetch_all(p).await)
}

async fn agent_of(
    db: &Db,
    program: ProgramId,
    code: &str,
) -> Result<Option<PersonId>, sqlx::Error> {
    const SQL: &str = "SELECT person_id FROM agent_codes WHERE program_id = $1 AND code = $2";
    on_db!(db, p => sqlx::query_scalar(SQL).bind(program).bind(code).fetch_optional(p).await)
}

/// The form version to evaluate with: the one asked for, or the newest published for the channel.
async fn form_for(
    db: &Db,
    program: ProgramId,
    channel: Channel,
    asked: Option<i64>,
) -> AppResult<FormVersion> {
    let Some(id) = asked else {
        return forms::published_for(db, program, channel)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| AppError::Conflict {
                field: Some("form_version_id"),
                message: format!(
                    "the program has no published form for {} contacts: publish one first",
                    channel.as_str()
                ),
            });
    };
    let unusable = |message: String| AppError::InvalidAt {
        field: "form_version_id".into(),
        message,
    };
    let v = forms::version(db, id)
        .await?
        .filter(|v| v.program_id == program)
        .ok_or_else(|| unusable(format!("the program has no form version {id}")))?;
    if v.status != VersionStatus::Published {
        return Err(unusable(format!("version {} is not published", v.version)));
    }
    if !v.form.channels().contains(&channel) {
        return Err(unusable(format!(
            "{} is not meant for {} contacts",
            v.name,
            channel.as_str()
        )));
    }
    Ok(v)
}

/// Whether the person may start an evaluation of this kind of a contact they can see:
/// administrators, the program's evaluators and the agent's team lead evaluate; the agent
/// evaluates their own contact.
pub async fn may_start(
    db: &Db,
    user: &Principal,
    program: ProgramId,
    agent: &str,
    kind: Kind,
) -> AppResult<bool> {
    Ok(match kind {
        Kind::Evaluation => {
            user.is_admin()
                || has_program_grant(user, program, Role::Evaluator)
                || (has_program_grant(user, program, Role::TeamLead)
                    && crate::people::agent_codes::figure_scope(db, user, program)
                        .await?
                        .is_some_and(|codes| codes.contains(agent)))
        }
        Kind::SelfEvaluation => {
            !agent.is_empty()
                && own_codes(db, user.person_id, program)
                    .await?
                    .iter()
                    .any(|c| c == agent)
        }
    })
}

/// Starts an evaluation (or self-evaluation) of a contact, or returns the person's own one of
/// that kind when it exists. `true` when it was created now.
pub async fn start(
    db: &Db,
    user: &Principal,
    actor: &Actor,
    contact: i64,
    input: &StartInput,
) -> AppResult<(Evaluation, bool)> {
    let c = visible_contact(db, user, contact).await?;
    let allowed = may_start(db, user, c.program_id, &c.agent, input.kind).await?;
    if !allowed {
        return Err(AppError::Forbidden);
    }
    if let Some(existing) = own_one(db, contact, user.person_id, input.kind).await? {
        return Ok((read(db, existing).await?, false));
    }
    let channel = Channel::parse(&c.channel).map_err(|e| anyhow::anyhow!(e.to_string()))?;
    let version = form_for(db, c.program_id, channel, input.form_version_id).await?;
    let agent = agent_of(db, c.program_id, &c.agent).await?;
    let at = now();
    let mut tx = db.begin().await?;
    const SQL: &str = "INSERT INTO evaluations (program_id, contact_id, form_version_id, kind, evaluator_id, \
        agent_id, agent_code, channel, status, created_at, updated_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'draft', $9, $9) RETURNING id";
    let res: Result<i64, sqlx::Error> = on_tx!(&mut tx, t => sqlx::query_scalar(SQL)
        .bind(c.program_id).bind(contact).bind(version.id).bind(input.kind.as_str())
        .bind(user.person_id).bind(agent).bind(&c.agent).bind(channel.as_str()).bind(at)
        .fetch_one(t).await);
    let id = match res {
        Ok(id) => id,
        // Started at the same moment by another request of the same person.
        Err(e) if is_unique_violation(&e) => {
            drop(tx);
            let id = own_one(db, contact, user.person_id, input.kind)
                .await?
                .ok_or(AppError::NotFound)?;
            return Ok((read(db, id).await?, false));
        }
        Err(e) => return Err(e.into()),
    };
    let created = event(
        &mut tx,
        id,
        user,
        "created",
        &format!("{} v{}", version.name, version.version),
    )
    .await?;
    audit::record(
        &mut tx,
        actor,
        Event::new(match input.kind {
            Kind::Evaluation => "evaluation.started",
            Kind::SelfEvaluation => "self_evaluation.started",
        })
        .object("evaluation", id)
        .program(c.program_id)
        .detail(format!("contact {contact}")),
    )
    .await?;
    tx.commit().await?;
    // What a read would show now, without reading it again.
    let row = Row {
        id,
        program_id: c.program_id,
        contact_id: contact,
        form_version_id: version.id,
        kind: input.kind.as_str().to_owned(),
        evaluator_id: user.person_id,
        evaluator_name: user.name.clone(),
        agent_id: agent,
        agent_code: c.agent,
        channel: channel.as_str().to_owned(),
        status: "draft".to_owned(),
        comment: String::new(),
        created_at: at,
        updated_at: at,
        submitted_at: None,
        acknowledged_at: None,
        disputed_at: None,
        resolved_at: None,
        resolution: None,
        resolution_note: String::new(),
    };
    let e = assemble(row, Vec::new(), &version, Vec::new(), vec![created])?;
    Ok((e, true))
}

async fn own_one(
    db: &Db,
    contact: i64,
    person: PersonId,
    kind: Kind,
) -> Result<Option<i64>, sqlx::Error> {
    const SQL: &str =
        "SELECT id FROM evaluations WHERE contact_id = $1 AND evaluator_id = $2 AND kind = $3";
    on_db!(db, p => sqlx::query_scalar(SQL).bind(contact).bind(person).bind(kind.as_str()).fetch_optional(p).await)
}

/// Adds a step to the evaluation's history; returns it as the history shows it.
pub(crate) async fn event(
    tx: &mut Tx,
    evaluation: i64,
    actor: &Principal,
    action: &str,
    detail: &str,
) -> Result<HistoryEntry, sqlx::Error> {
    const SQL: &str = "INSERT INTO evaluation_events (evaluation_id, at, actor_id, action, detail) \
        VALUES ($1, $2, $3, $4, $5)";
    let at = now();
    let values = vec![
        evaluation.into(),
        at.into(),
        actor.person_id.into(),
        action.into(),
        detail.into(),
    ];
    tx.later(SQL, values).await?;
    Ok(HistoryEntry {
        at,
        actor_id: Some(actor.person_id),
        actor_name: Some(actor.name.clone()),
        action: action.to_owned(),
        detail: detail.to_owned(),
    })
}

/// Reads an evaluation whole, scoring its answers again with its form version.
pub(crate) async fn read(db: &Db, id: i64) -> AppResult<Evaluation> {
    Ok(read_with_form(db, id).await?.0)
}

/// An evaluation with the form version it was made with.
pub(crate) async fn read_with_form(db: &Db, id: i64) -> AppResult<(Evaluation, FormVersion)> {
    read_with_form_on(&mut db.acquire().await?.conn(), id).await
}

/// [`read_with_form`], its five reads on `c`.
pub(crate) async fn read_with_form_on(
    c: &mut Conn<'_>,
    id: i64,
) -> AppResult<(Evaluation, FormVersion)> {
    let sql = format!(
        "SELECT {COLUMNS} FROM evaluations e JOIN people p ON p.id = e.evaluator_id WHERE e.id = $1"
    );
    let row: Row = on_conn!(c, t => sqlx::query_as(&sql).bind(id).fetch_optional(t).await)?
        .ok_or(AppError::NotFound)?;
    const ANSWERS: &str = "SELECT criterion_key AS criterion, value, percent, comment \
        FROM evaluation_answers WHERE evaluation_id = $1";
    let answers: Vec<StoredAnswer> =
        on_conn!(c, t => sqlx::query_as(ANSWERS).bind(id).fetch_all(t).await)?;
    let version = forms::version_on(c, row.form_version_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let disputes = super::workflow::disputes_of(c, id).await?;
    let history = super::workflow::history_of(c, id).await?;
    let e = assemble(row, answers, &version, disputes, history)?;
    Ok((e, version))
}

/// An evaluation from its row and the rest, scored by its form version.
fn assemble(
    row: Row,
    answers: Vec<StoredAnswer>,
    version: &FormVersion,
    disputes: Vec<super::workflow::DisputedCriterion>,
    history: Vec<HistoryEntry>,
) -> AppResult<Evaluation> {
    let id = row.id;
    let bad = |what: &str| anyhow::anyhow!("evaluation {id} has an unknown {what}");
    let mut e = Evaluation {
        id: row.id,
        program_id: row.program_id,
        contact_id: row.contact_id,
        form_version_id: row.form_version_id,
        kind: match row.kind.as_str() {
            "evaluation" => Kind::Evaluation,
            "self" => Kind::SelfEvaluation,
            _ => return Err(bad("kind").into()),
        },
        evaluator_id: row.evaluator_id,
        evaluator_name: row.evaluator_name,
        agent_id: row.agent_id,
        agent_code: row.agent_code,
        channel: row.channel,
        status: Status::parse(&row.status).ok_or_else(|| bad("status"))?,
        comment: row.comment,
        created_at: row.created_at,
        updated_at: row.updated_at,
        submitted_at: row.submitted_at,
        answers,
        acknowledged_at: row.acknowledged_at,
        disputed_at: row.disputed_at,
        resolve_by: row.disputed_at.map(super::workflow::resolve_by),
        resolved_at: row.resolved_at,
        resolution: row.resolution,
        resolution_note: row.resolution_note,
        disputes,
        history,
        // Filled in by `rescore`.
        score: None,
        earned: 0.0,
        possible: 0.0,
        failed: false,
        passed: None,
        rq: None,
        missing: Vec::new(),
        critical_failures: Vec::new(),
    };
    rescore(&mut e, version)?;
    Ok(e)
}

/// Puts the answers in the form's order and scores them again by their version, as every read
/// shows them.
pub(crate) fn rescore(e: &mut Evaluation, version: &FormVersion) -> AppResult<()> {
    let order: Vec<&str> = version
        .form
        .criteria()
        .map(|c| c.spec.key.as_str())
        .collect();
    e.answers
        .sort_by_key(|a| order.iter().position(|k| *k == a.criterion));
    let channel = Channel::parse(&e.channel).map_err(|e| anyhow::anyhow!(e.to_string()))?;
    let scored = scoring::score(&version.form, channel, &as_answers(&e.answers))
        .map_err(|e| anyhow::anyhow!("stored answers no longer fit their form: {e}"))?;
    e.score = scored.score;
    e.earned = scored.earned;
    e.possible = scored.possible;
    e.failed = scored.failed;
    e.passed = scored.passed;
    e.rq = scored.rq;
    e.missing = scored.missing;
    e.critical_failures = scored.critical_failures;
    Ok(())
}

pub(crate) fn as_answers(stored: &[StoredAnswer]) -> Vec<Answer> {
    stored
        .iter()
        .map(|a| Answer {
            criterion: a.criterion.clone(),
            value: AnswerValue::from_stored(&a.value),
            comment: a.comment.clone(),
        })
        .collect()
}

/// Whether the person may read this evaluation.
async fn may_read(db: &Db, user: &Principal, e: &Evaluation) -> AppResult<bool> {
    if e.evaluator_id == user.person_id {
        return Ok(true);
    }
    // A self-evaluation is the agent's own until they submit it.
    if e.kind == Kind::SelfEvaluation && e.status == Status::Draft {
        return Ok(false);
    }
    Ok(match reach(db, user, e.program_id).await? {
        Reach::All => true,
        Reach::Codes(codes) => {
            e.status != Status::Draft
                && (e.agent_id == Some(user.person_id) || codes.contains(&e.agent_code))
        }
        Reach::Nothing => false,
    })
}

/// One evaluation, if the person may read it; anything else is "not found".
pub async fn get(db: &Db, user: &Principal, id: i64) -> AppResult<Evaluation> {
    Ok(get_with_form(db, user, id).await?.0)
}

/// [`get`], with the evaluation's form version.
pub async fn get_with_form(
    db: &Db,
    user: &Principal,
    id: i64,
) -> AppResult<(Evaluation, FormVersion)> {
    let (e, version) = read_with_form(db, id).await?;
    if may_read(db, user, &e).await? {
        Ok((e, version))
    } else {
        Err(AppError::NotFound)
    }
}

/// The evaluations of a contact the person may read, oldest first.
pub async fn of_contact(db: &Db, user: &Principal, contact: i64) -> AppResult<Vec<Evaluation>> {
    visible_contact(db, user, contact).await?;
    const SQL: &str = "SELECT id FROM evaluations WHERE contact_id = $1 ORDER BY id";
    let ids: Vec<i64> = on_db!(db, p => sqlx::query_scalar(SQL).bind(contact).fetch_all(p).await)?;
    let mut out = Vec::new();
    for id in ids {
        let e = read(db, id).await?;
        if may_read(db, user, &e).await? {
            out.push(e);
        }
    }
    Ok(out)
}

/// The person's own draft, for a change; others' evaluations are not found.
async fn own_draft(db: &Db, user: &Principal, id: i64) -> AppResult<(Evaluation, FormVersion)> {
    let (e, version) = get_with_form(db, user, id).await?;
    if e.evaluator_id != user.person_id {
        return Err(AppError::Forbidden);
    }
    if e.status != Status::Draft {
        return Err(AppError::Conflict {
            field: None,
            message: "the evaluation was submitted and can no longer be edited".into(),
        });
    }
    Ok((e, version))
}

/// Whose answers change: a draft's, with its comment, as its evaluator saves it; or any
/// evaluation's, as a dispute is resolved.
pub(crate) enum Change<'a> {
    Draft { comment: &'a str },
    Resolution,
}

/// Stores the figures; returns the time of the change, later than any before it (a submission
/// checks that nothing changed since it read the answers), or `None` when a draft is no more.
async fn store_scores(
    tx: &mut Tx,
    id: i64,
    s: &Scored,
    change: &Change<'_>,
) -> Result<Option<Timestamp>, sqlx::Error> {
    const SET: &str = "UPDATE evaluations SET score = $1, earned = $2, possible = $3, failed = $4, \
        passed = $5, rq = $6, updated_at = CASE WHEN updated_at < $7 THEN $7 ELSE updated_at + 1 END";
    let sql = match change {
        Change::Draft { .. } => {
            format!("{SET}, comment = $9 WHERE id = $8 AND status = 'draft' RETURNING updated_at")
        }
        Change::Resolution => format!("{SET} WHERE id = $8 RETURNING updated_at"),
    };
    on_tx!(tx, t => {
        let q = sqlx::query_scalar(&sql).bind(s.score).bind(s.earned).bind(s.possible)
            .bind(s.failed).bind(s.passed).bind(s.rq).bind(now()).bind(id);
        match change {
            Change::Draft { comment } => q.bind(*comment),
            Change::Resolution => q,
        }
        .fetch_optional(t)
        .await
    })
}

/// An answer as stored: `n/a`, a number, or the trimmed text.
pub(crate) fn stored_value(value: &AnswerValue) -> String {
    if value.is_not_applicable() {
        return super::scale::NOT_APPLICABLE.to_owned();
    }
    match value {
        AnswerValue::Text(t) => t.trim().to_owned(),
        n => n.to_string(),
    }
}

/// Replaces an evaluation's answers and its figures with checked ones; returns the answers as
/// stored and the time of the change, or `None` when a draft is no more (nothing changed).
pub(crate) async fn write_answers(
    tx: &mut Tx,
    id: i64,
    answers: &[Answer],
    scored: &Scored,
    change: &Change<'_>,
) -> Result<Option<(Vec<StoredAnswer>, Timestamp)>, sqlx::Error> {
    let Some(at) = store_scores(tx, id, scored, change).await? else {
        return Ok(None);
    };
    const CLEAR: &str = "DELETE FROM evaluation_answers WHERE evaluation_id = $1";
    tx.later(CLEAR, vec![id.into()]).await?;
    // A statement for up to 200 of them (a form has a dozen criteria or more; 1,000 values
    // stay far within both databases' limits on parameters, whatever the form's size).
    const ROWS: usize = 200;
    let stored: Vec<StoredAnswer> = scored
        .criteria
        .iter()
        .filter_map(|r| {
            let answer = answers.iter().find(|a| a.criterion == r.criterion)?;
            Some(StoredAnswer {
                criterion: answer.criterion.clone(),
                value: stored_value(&answer.value),
                percent: r.percent,
                comment: answer.comment.clone(),
            })
        })
        .collect();
    for chunk in stored.chunks(ROWS) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| format!("({})", marks(i * 5 + 1, 5).collect::<Vec<_>>().join(", ")))
            .collect();
        let sql = format!(
            "INSERT INTO evaluation_answers (evaluation_id, criterion_key, value, percent, comment) \
             VALUES {}",
            rows.join(", ")
        );
        let values = chunk.iter().flat_map(|a| -> [Value; 5] {
            [
                id.into(),
                a.criterion.as_str().into(),
                a.value.as_str().into(),
                a.percent.into(),
                a.comment.as_str().into(),
            ]
        });
        tx.later(&sql, values.collect()).await?;
    }
    Ok(Some((stored, at)))
}

/// Saves a draft's answers and comment; answers that do not fit the form are refused whole.
pub async fn save(db: &Db, user: &Principal, id: i64, input: &SaveInput) -> AppResult<Evaluation> {
    let (mut e, version) = own_draft(db, user, id).await?;
    if input.comment.chars().count() > 8000 {
        return Err(AppError::InvalidAt {
            field: "comment".into(),
            message: "is longer than 8000 characters".into(),
        });
    }
    let channel = Channel::parse(&e.channel).map_err(|e| anyhow::anyhow!(e.to_string()))?;
    let scored = scoring::score(&version.form, channel, &input.answers)?;
    let mut tx = db.begin().await?;
    // Another request may have submitted it meanwhile: only a draft is changed.
    let draft = Change::Draft {
        comment: &input.comment,
    };
    let Some((answers, at)) = write_answers(&mut tx, id, &input.answers, &scored, &draft).await?
    else {
        return Err(AppError::Conflict {
            field: None,
            message: "the evaluation was submitted and can no longer be edited".into(),
        });
    };
    tx.commit().await?;
    // What a read would show now, without reading it again.
    e.comment.clone_from(&input.comment);
    e.answers = answers;
    e.updated_at = at;
    rescore(&mut e, &version)?;
    Ok(e)
}

/// Submits a complete draft: every criterion that applies has an answer.
pub async fn submit(db: &Db, user: &Principal, actor: &Actor, id: i64) -> AppResult<Evaluation> {
    // A save between reading the draft and submitting it makes this read it again: the
    // submission counts the answers it stores.
    for _ in 0..SUBMIT_TRIES {
        if let Some(e) = try_submit(db, user, actor, id).await? {
            return Ok(e);
        }
    }
    Err(AppError::Conflict {
        field: None,
        message: "the evaluation kept changing while it was being submitted; try again".into(),
    })
}

/// How often a submission reads a draft changed under it again.
const SUBMIT_TRIES: usize = 3;

/// [`submit`]; `None` when the draft changed since it was read.
async fn try_submit(
    db: &Db,
    user: &Principal,
    actor: &Actor,
    id: i64,
) -> AppResult<Option<Evaluation>> {
    let (e, version) = own_draft(db, user, id).await?;
    if let Some(first) = e.missing.first() {
        return Err(AppError::InvalidAt {
            field: format!("answers.{first}"),
            message: format!(
                "{} criteria have no answer yet: {}",
                e.missing.len(),
                e.missing.join(", ")
            ),
        });
    }
    let at = now();
    let tz = crate::programs::zone(db, e.program_id).await?;
    let mut after = e.clone();
    after.status = Status::Submitted;
    after.submitted_at = Some(at);
    after.updated_at = at;
    let mut tx = db.begin().await?;
    const SQL: &str = "UPDATE evaluations SET status = 'submitted', submitted_at = $1, updated_at = $1 \
        WHERE id = $2 AND status = 'draft' AND updated_at = $3";
    let changed = on_tx!(&mut tx, t => sqlx::query(SQL).bind(at).bind(id).bind(e.updated_at).execute(t).await.map(|r| r.rows_affected()))?;
    if changed == 0 {
        // Submitted meanwhile (the next read says so), or saved.
        return Ok(None);
    }
    let share = super::rollup::share(&after, &version.form, tz);
    let score = e.score.map(scoring::display).unwrap_or_else(|| "–".into());
    if let (Kind::Evaluation, Some(agent)) = (e.kind, e.agent_id) {
        let link = format!("/evaluations/{id}");
        super::notify::send(
            &mut tx,
            agent,
            super::notify::Kind::EvaluationSubmitted,
            &score,
            &link,
        )
        .await?;
    }
    after
        .history
        .push(event(&mut tx, id, user, "submitted", &score).await?);
    audit::record(
        &mut tx,
        actor,
        Event::new(match e.kind {
            Kind::Evaluation => "evaluation.submitted",
            Kind::SelfEvaluation => "self_evaluation.submitted",
        })
        .object("evaluation", id)
        .program(e.program_id)
        .detail(format!("contact {} score {score}", e.contact_id)),
    )
    .await?;
    // Last, so the rows every submission of the program updates stay locked only until the commit.
    super::rollup::replace(&mut tx, None, share.as_ref()).await?;
    tx.commit().await?;
    Ok(Some(after))
}
