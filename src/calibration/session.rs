//! Calibration sessions: who takes part, which contacts they score on which form version, their
//! scores (blind until they submit, and by setting until the facilitator reveals), and the
//! reference answers agreed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::results::{self, Rater, Results, Unit};
use crate::audit::{self, Actor, Event};
use crate::auth::Principal;
use crate::contacts::calendar::{date_of, day_number};
use crate::contacts::routes::date;
use crate::domain::{PersonId, ProgramId, Role, Timestamp, now};
use crate::kpi::Channel;
use crate::quality::evaluations::has_program_grant;
use crate::quality::forms::{self, FormVersion, VersionStatus};
use crate::quality::notify;
use crate::quality::scale::AnswerValue;
use crate::quality::scoring::{self, Answer};
use crate::store::Db;
use crate::web::error::{AppError, AppResult};
use crate::{on_db, on_tx};

/// What a participant is in the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ParticipantRole {
    Evaluator,
    TeamLead,
    /// The agent whose contact is scored.
    Agent,
    /// A scorer whose answers serve as the reference until the session agrees its own.
    Reference,
}

impl ParticipantRole {
    pub fn as_str(self) -> &'static str {
        match self {
            ParticipantRole::Evaluator => "evaluator",
            ParticipantRole::TeamLead => "team_lead",
            ParticipantRole::Agent => "agent",
            ParticipantRole::Reference => "reference",
        }
    }

    fn parse(raw: &str) -> Option<Self> {
        [
            ParticipantRole::Evaluator,
            ParticipantRole::TeamLead,
            ParticipantRole::Agent,
            ParticipantRole::Reference,
        ]
        .into_iter()
        .find(|r| r.as_str() == raw)
    }
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewParticipant {
    pub person_id: PersonId,
    pub role: ParticipantRole,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSession {
    pub program_id: ProgramId,
    pub title: String,
    /// The day the session is held, `YYYY-MM-DD`.
    pub held_on: String,
    /// The day scores are due, `YYYY-MM-DD`.
    pub due: String,
    /// A published version of one of the program's forms.
    pub form_version_id: i64,
    pub participants: Vec<NewParticipant>,
    /// The contacts to score, in the order shown.
    pub contact_ids: Vec<i64>,
    /// Criterion keys to discuss first.
    #[serde(default)]
    pub focus: Vec<String>,
    /// Scores stay hidden until the facilitator reveals them (default); otherwise each
    /// participant sees them once their own are in.
    #[serde(default = "yes")]
    pub reveal_required: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Participant {
    pub person_id: PersonId,
    pub name: String,
    pub role: ParticipantRole,
    /// Contacts this participant has submitted scores for.
    pub submitted: usize,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SessionContact {
    pub contact_id: i64,
    pub external_id: String,
    pub channel: String,
    pub agent: String,
}

/// The caller's own answers to one contact.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OwnScore {
    pub contact_id: i64,
    pub answers: Vec<Answer>,
    pub submitted_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Session {
    pub id: i64,
    pub program_id: ProgramId,
    pub title: String,
    /// `YYYY-MM-DD`.
    pub held_on: String,
    pub due: String,
    pub facilitator_id: PersonId,
    pub facilitator_name: String,
    pub form_version_id: i64,
    pub focus: Vec<String>,
    pub reveal_required: bool,
    pub revealed_at: Option<Timestamp>,
    pub participants: Vec<Participant>,
    pub contacts: Vec<SessionContact>,
    /// The caller's own scores.
    pub mine: Vec<OwnScore>,
    /// Whether the caller may see everybody's scores now.
    pub results_visible: bool,
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> AppError {
    AppError::InvalidAt {
        field: field.into(),
        message: message.into(),
    }
}

/// Whether the person runs calibration in the program: administrators and its evaluators.
pub fn may_facilitate(user: &Principal, program: ProgramId) -> bool {
    user.is_admin() || has_program_grant(user, program, Role::Evaluator)
}

/// Plans a session; the participants are invited.
pub async fn create(
    db: &Db,
    user: &Principal,
    actor: &Actor,
    input: &NewSession,
) -> AppResult<Session> {
    let program = input.program_id;
    user.check(crate::auth::Capability::ViewProgram(program))?;
    if !may_facilitate(user, program) {
        return Err(AppError::Forbidden);
    }
    let title = input.title.trim();
    if title.is_empty() || title.chars().count() > 200 {
        return Err(invalid("title", "name the session in 1 to 200 characters"));
    }
    let held_on = day_number(date("held_on", &input.held_on)?);
    let due = day_number(date("due", &input.due)?);
    let version = forms::version(db, input.form_version_id)
        .await?
        .filter(|v| v.program_id == program && v.status == VersionStatus::Published)
        .ok_or_else(|| invalid("form_version_id", "not a published form of this program"))?;
    for (i, key) in input.focus.iter().enumerate() {
        if version.form.criterion(key).is_none() {
            return Err(invalid(
                format!("focus[{i}]"),
                "not a criterion of the form",
            ));
        }
    }
    if !(2..=50).contains(&input.participants.len()) {
        return Err(invalid("participants", "2 to 50 participants"));
    }
    for (i, p) in input.participants.iter().enumerate() {
        if input.participants[..i]
            .iter()
            .any(|o| o.person_id == p.person_id)
        {
            return Err(invalid(
                format!("participants[{i}].person_id"),
                "listed twice",
            ));
        }
        let grants = crate::auth::access::load_grants(db, p.person_id).await?;
        if !grants
            .iter()
            .any(|g| g.role == Role::Admin || g.scope_program_id == Some(program))
        {
            return Err(invalid(
                format!("participants[{i}].person_id"),
                "nobody of this program",
            ));
        }
    }
    if !(1..=50).contains(&input.contact_ids.len()) {
        return Err(invalid("contact_ids", "1 to 50 contacts"));
    }
    for (i, id) in input.contact_ids.iter().enumerate() {
        let c = crate::contacts::store::find(db, *id).await?;
        if c.is_none_or(|c| c.program_id != program) || input.contact_ids[..i].contains(id) {
            return Err(invalid(
                format!("contact_ids[{i}]"),
                "not a contact of this program, or listed twice",
            ));
        }
    }
    let at = now();
    let mut tx = db.begin().await?;
    const INSERT: &str = "INSERT INTO calibration_sessions (program_id, title, held_on, due_day, \
        facilitator_id, form_version_id, focus, reveal_required, created_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id";
    let id: i64 = on_tx!(&mut tx, t => sqlx::query_scalar(INSERT)
        .bind(program).bind(title).bind(held_on).bind(due).bind(user.person_id)
        .bind(version.id).bind(input.focus.join(",")).bind(input.reveal_required).bind(at)
        .fetch_one(t).await)?;
    const PARTICIPANT: &str =
        "INSERT INTO calibration_participants (session_id, person_id, role) VALUES ($1, $2, $3)";
    for p in &input.participants {
        on_tx!(&mut tx, t => sqlx::query(PARTICIPANT).bind(id).bind(p.person_id).bind(p.role.as_str())
            .execute(t).await.map(|_| ()))?;
        let detail = format!("{title} · {}", date_of(due));
        notify::send(
            &mut tx,
            p.person_id,
            notify::Kind::CalibrationInvited,
            &detail,
            &format!("/calibration/{id}"),
        )
        .await?;
    }
    const CONTACT: &str =
        "INSERT INTO calibration_contacts (session_id, contact_id, position) VALUES ($1, $2, $3)";
    for (i, c) in input.contact_ids.iter().enumerate() {
        let position = i as i64;
        on_tx!(&mut tx, t => sqlx::query(CONTACT).bind(id).bind(c).bind(position)
            .execute(t).await.map(|_| ()))?;
    }
    audit::record(
        &mut tx,
        actor,
        Event::new("calibration.created")
            .object("calibration_session", id)
            .program(program)
            .detail(title),
    )
    .await?;
    tx.commit().await?;
    get(db, user, id).await
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    program_id: ProgramId,
    title: String,
    held_on: i64,
    due_day: i64,
    facilitator_id: PersonId,
    facilitator_name: String,
    form_version_id: i64,
    focus: String,
    reveal_required: bool,
    revealed_at: Option<Timestamp>,
}

/// A session as stored, with its form version, for whoever may read it.
pub struct Loaded {
    pub session: Session,
    pub version: FormVersion,
}

async fn load(db: &Db, user: &Principal, id: i64) -> AppResult<Loaded> {
    const SQL: &str = "SELECT s.id, s.program_id, s.title, s.held_on, s.due_day, s.facilitator_id, \
        p.name AS facilitator_name, s.form_version_id, s.focus, s.reveal_required, s.revealed_at \
        FROM calibration_sessions s JOIN people p ON p.id = s.facilitator_id WHERE s.id = $1";
    let r: Row = on_db!(db, p => sqlx::query_as(SQL).bind(id).fetch_optional(p).await)?
        .ok_or(AppError::NotFound)?;
    const PARTICIPANTS: &str = "SELECT cp.person_id, p.name, cp.role, \
        (SELECT COUNT(*) FROM calibration_scores s WHERE s.session_id = cp.session_id \
           AND s.person_id = cp.person_id AND s.submitted_at IS NOT NULL) AS submitted \
        FROM calibration_participants cp JOIN people p ON p.id = cp.person_id \
        WHERE cp.session_id = $1 ORDER BY p.name, cp.person_id";
    let rows: Vec<(PersonId, String, String, i64)> =
        on_db!(db, p => sqlx::query_as(PARTICIPANTS).bind(id).fetch_all(p).await)?;
    let participants: Vec<Participant> = rows
        .into_iter()
        .filter_map(|(person_id, name, role, submitted)| {
            Some(Participant {
                person_id,
                name,
                role: ParticipantRole::parse(&role)?,
                submitted: usize::try_from(submitted).unwrap_or(0),
            })
        })
        .collect();
    let is_participant = participants.iter().any(|p| p.person_id == user.person_id);
    if !(is_participant || r.facilitator_id == user.person_id || may_facilitate(user, r.program_id))
    {
        return Err(AppError::NotFound);
    }
    const CONTACTS: &str = "SELECT c.id, c.external_id, c.channel, c.agent FROM calibration_contacts cc \
        JOIN contacts c ON c.id = cc.contact_id WHERE cc.session_id = $1 ORDER BY cc.position";
    let contacts: Vec<SessionContact> =
        on_db!(db, p => sqlx::query_as::<_, (i64, String, String, String)>(CONTACTS)
        .bind(id).fetch_all(p).await)?
        .into_iter()
        .map(|(contact_id, external_id, channel, agent)| SessionContact {
            contact_id,
            external_id,
            channel,
            agent,
        })
        .collect();
    const MINE: &str = "SELECT contact_id, answers, submitted_at FROM calibration_scores \
        WHERE session_id = $1 AND person_id = $2";
    let mine: Vec<(i64, String, Option<Timestamp>)> = on_db!(db, p => sqlx::query_as(MINE)
        .bind(id).bind(user.person_id).fetch_all(p).await)?;
    let mine = mine
        .into_iter()
        .map(|(contact_id, answers, submitted_at)| OwnScore {
            contact_id,
            answers: serde_json::from_str(&answers).unwrap_or_default(),
            submitted_at,
        })
        .collect();
    let version = forms::version(db, r.form_version_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let own_done = participants
        .iter()
        .find(|p| p.person_id == user.person_id)
        .is_none_or(|p| p.submitted >= contacts.len());
    let results_visible = (!r.reveal_required || r.revealed_at.is_some()) && own_done;
    Ok(Loaded {
        session: Session {
            id: r.id,
            program_id: r.program_id,
            title: r.title,
            held_on: date_of(r.held_on).to_string(),
            due: date_of(r.due_day).to_string(),
            facilitator_id: r.facilitator_id,
            facilitator_name: r.facilitator_name,
            form_version_id: r.form_version_id,
            focus: r
                .focus
                .split(',')
                .filter(|k| !k.is_empty())
                .map(str::to_owned)
                .collect(),
            reveal_required: r.reveal_required,
            revealed_at: r.revealed_at,
            participants,
            contacts,
            mine,
            results_visible,
        },
        version,
    })
}

/// A session, for its facilitator, its participants and whoever runs the program's calibration.
pub async fn get(db: &Db, user: &Principal, id: i64) -> AppResult<Session> {
    Ok(load(db, user, id).await?.session)
}

/// A session with its form, for the pages.
pub async fn get_with_form(db: &Db, user: &Principal, id: i64) -> AppResult<Loaded> {
    load(db, user, id).await
}

/// The sessions the person facilitates or takes part in, and those of the programs whose
/// calibration they run; newest first.
pub async fn list(db: &Db, user: &Principal) -> AppResult<Vec<Session>> {
    const SQL: &str = "SELECT id, program_id FROM calibration_sessions s WHERE s.facilitator_id = $1 \
        OR EXISTS (SELECT 1 FROM calibration_participants p WHERE p.session_id = s.id AND p.person_id = $1) \
        OR $2 ORDER BY held_on DESC, id DESC";
    let rows: Vec<(i64, ProgramId)> = on_db!(db, p => sqlx::query_as(SQL)
        .bind(user.person_id).bind(user.is_admin() || user.has_role(Role::Evaluator))
        .fetch_all(p).await)?;
    let mut out = Vec::new();
    for (id, _) in rows {
        if let Ok(s) = get(db, user, id).await {
            out.push(s);
        }
    }
    Ok(out)
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScoreInput {
    pub contact_id: i64,
    pub answers: Vec<Answer>,
    /// Hand the scores in: every criterion that applies answered; they can no longer change.
    #[serde(default)]
    pub submit: bool,
}

/// A participant saves or submits their answers to one of the session's contacts.
pub async fn score(
    db: &Db,
    user: &Principal,
    actor: &Actor,
    id: i64,
    input: &ScoreInput,
) -> AppResult<Session> {
    let Loaded { session, version } = load(db, user, id).await?;
    if !session
        .participants
        .iter()
        .any(|p| p.person_id == user.person_id)
    {
        return Err(AppError::Forbidden);
    }
    let contact = session
        .contacts
        .iter()
        .find(|c| c.contact_id == input.contact_id)
        .ok_or_else(|| invalid("contact_id", "not a contact of this session"))?;
    if session.revealed_at.is_some()
        || session
            .mine
            .iter()
            .any(|m| m.contact_id == input.contact_id && m.submitted_at.is_some())
    {
        return Err(AppError::Conflict {
            field: None,
            message: "these scores are handed in already".into(),
        });
    }
    let channel = Channel::parse(&contact.channel).unwrap_or(Channel::Phone);
    let scored = scoring::score(&version.form, channel, &input.answers).map_err(|e| {
        AppError::InvalidAt {
            field: e.path,
            message: e.message,
        }
    })?;
    if input.submit && !scored.missing.is_empty() {
        return Err(invalid(
            "answers",
            format!(
                "answer every criterion first: {}",
                scored.missing.join(", ")
            ),
        ));
    }
    let at = now();
    let submitted = input.submit.then_some(at);
    let answers = serde_json::to_string(&input.answers).map_err(anyhow::Error::from)?;
    let mut tx = db.begin().await?;
    const SQL: &str = "INSERT INTO calibration_scores (session_id, contact_id, person_id, answers, \
        saved_at, submitted_at) VALUES ($1, $2, $3, $4, $5, $6) \
        ON CONFLICT (session_id, contact_id, person_id) DO UPDATE SET answers = excluded.answers, \
        saved_at = excluded.saved_at, submitted_at = excluded.submitted_at";
    on_tx!(&mut tx, t => sqlx::query(SQL).bind(id).bind(input.contact_id).bind(user.person_id)
        .bind(&answers).bind(at).bind(submitted).execute(t).await.map(|_| ()))?;
    if input.submit {
        audit::record(
            &mut tx,
            actor,
            Event::new("calibration.scored")
                .object("calibration_session", id)
                .program(session.program_id)
                .detail(format!("contact {}", input.contact_id)),
        )
        .await?;
    }
    tx.commit().await?;
    get(db, user, id).await
}

/// The facilitator shows everybody's scores; scoring closes.
pub async fn reveal(db: &Db, user: &Principal, actor: &Actor, id: i64) -> AppResult<Session> {
    let session = get(db, user, id).await?;
    if session.facilitator_id != user.person_id {
        return Err(AppError::Forbidden);
    }
    let mut tx = db.begin().await?;
    const SQL: &str =
        "UPDATE calibration_sessions SET revealed_at = COALESCE(revealed_at, $1) WHERE id = $2";
    on_tx!(&mut tx, t => sqlx::query(SQL).bind(now()).bind(id).execute(t).await.map(|_| ()))?;
    if session.revealed_at.is_none() {
        for p in &session.participants {
            notify::send(
                &mut tx,
                p.person_id,
                notify::Kind::CalibrationRevealed,
                &session.title,
                &format!("/calibration/{id}"),
            )
            .await?;
        }
    }
    audit::record(
        &mut tx,
        actor,
        Event::new("calibration.revealed")
            .object("calibration_session", id)
            .program(session.program_id),
    )
    .await?;
    tx.commit().await?;
    get(db, user, id).await
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReferenceInput {
    pub contact_id: i64,
    pub criterion: String,
    /// The answer agreed, as an evaluation's answer.
    #[schema(value_type = serde_json::Value)]
    pub value: AnswerValue,
    #[serde(default)]
    pub note: String,
}

/// The facilitator records the answer the session agreed for a contact's criterion, once the
/// scores are visible.
pub async fn set_reference(
    db: &Db,
    user: &Principal,
    actor: &Actor,
    id: i64,
    input: &ReferenceInput,
) -> AppResult<Results> {
    let Loaded { session, version } = load(db, user, id).await?;
    if session.facilitator_id != user.person_id {
        return Err(AppError::Forbidden);
    }
    if session.reveal_required && session.revealed_at.is_none() {
        return Err(AppError::Conflict {
            field: None,
            message: "reveal the scores before recording the reference".into(),
        });
    }
    let contact = session
        .contacts
        .iter()
        .find(|c| c.contact_id == input.contact_id)
        .ok_or_else(|| invalid("contact_id", "not a contact of this session"))?;
    let channel = Channel::parse(&contact.channel).unwrap_or(Channel::Phone);
    let answer = Answer {
        criterion: input.criterion.clone(),
        value: input.value.clone(),
        comment: String::new(),
    };
    scoring::score(&version.form, channel, std::slice::from_ref(&answer)).map_err(|e| {
        AppError::InvalidAt {
            field: e.path.replace("answers[0].", ""),
            message: e.message,
        }
    })?;
    if input.note.chars().count() > 4000 {
        return Err(invalid("note", "is longer than 4000 characters"));
    }
    let mut tx = db.begin().await?;
    const SQL: &str = "INSERT INTO calibration_references (session_id, contact_id, criterion_key, \
        value, note, agreed_by, agreed_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
        ON CONFLICT (session_id, contact_id, criterion_key) DO UPDATE SET value = excluded.value, \
        note = excluded.note, agreed_by = excluded.agreed_by, agreed_at = excluded.agreed_at";
    on_tx!(&mut tx, t => sqlx::query(SQL).bind(id).bind(input.contact_id).bind(&input.criterion)
        .bind(input.value.to_string()).bind(input.note.trim()).bind(user.person_id).bind(now())
        .execute(t).await.map(|_| ()))?;
    audit::record(
        &mut tx,
        actor,
        Event::new("calibration.reference")
            .object("calibration_session", id)
            .program(session.program_id)
            .detail(format!(
                "contact {} · {} = {}",
                input.contact_id, input.criterion, input.value
            )),
    )
    .await?;
    tx.commit().await?;
    super::gate::tell_facilitator(db, user, id).await?;
    results(db, user, id).await
}

/// The reference answers agreed, with their notes: `(contact, criterion)` → (value, note).
pub async fn references(
    db: &Db,
    id: i64,
) -> Result<BTreeMap<(i64, String), (String, String)>, sqlx::Error> {
    const SQL: &str = "SELECT contact_id, criterion_key, value, note FROM calibration_references \
        WHERE session_id = $1";
    let rows: Vec<(i64, String, String, String)> =
        on_db!(db, p => sqlx::query_as(SQL).bind(id).fetch_all(p).await)?;
    Ok(rows
        .into_iter()
        .map(|(c, k, v, n)| ((c, k), (v, n)))
        .collect())
}

/// The results when the caller may see them now, else `None`.
pub async fn visible_results(db: &Db, user: &Principal, id: i64) -> AppResult<Option<Results>> {
    match results(db, user, id).await {
        Ok(r) => Ok(Some(r)),
        Err(AppError::Conflict { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Everybody's scores side by side with the agreement figures, once the caller may see them.
pub async fn results(db: &Db, user: &Principal, id: i64) -> AppResult<Results> {
    let Loaded { session, version } = load(db, user, id).await?;
    if !session.results_visible {
        return Err(AppError::Conflict {
            field: None,
            message: if session.reveal_required && session.revealed_at.is_none() {
                "the scores stay hidden until the facilitator reveals them".into()
            } else {
                "hand in your own scores first".into()
            },
        });
    }
    const SQL: &str = "SELECT contact_id, person_id, answers FROM calibration_scores \
        WHERE session_id = $1 AND submitted_at IS NOT NULL";
    let rows: Vec<(i64, PersonId, String)> =
        on_db!(db, p => sqlx::query_as(SQL).bind(id).fetch_all(p).await)?;
    let scores: BTreeMap<(i64, PersonId), Vec<Answer>> = rows
        .into_iter()
        .map(|(c, p, a)| ((c, p), serde_json::from_str(&a).unwrap_or_default()))
        .collect();
    let mut refs: BTreeMap<(i64, String), String> = references(db, id)
        .await?
        .into_iter()
        .map(|(k, (v, _))| (k, v))
        .collect();
    // Until the session agrees its own, a reference scorer's answers are the reference.
    if refs.is_empty()
        && let Some(r) = session
            .participants
            .iter()
            .find(|p| p.role == ParticipantRole::Reference)
    {
        for ((contact, person), answers) in &scores {
            if *person == r.person_id {
                for a in answers {
                    refs.insert((*contact, a.criterion.clone()), a.value.to_string());
                }
            }
        }
    }
    let units: Vec<Unit> = session
        .contacts
        .iter()
        .map(|c| Unit {
            contact_id: c.contact_id,
            label: c.external_id.clone(),
            channel: Channel::parse(&c.channel).unwrap_or(Channel::Phone),
        })
        .collect();
    let raters: Vec<Rater> = session
        .participants
        .iter()
        .filter(|p| p.submitted > 0)
        .map(|p| Rater {
            person_id: p.person_id,
            name: p.name.clone(),
        })
        .collect();
    Ok(results::compute(
        &version.form,
        &units,
        &raters,
        &scores,
        &refs,
    ))
}

/// Who can take part in a program's session, by name, with the role they would have: the
/// program's evaluators and the administrators (evaluator), the leads and agents of its teams.
pub async fn candidates(
    db: &Db,
    program: ProgramId,
) -> Result<Vec<(PersonId, String, ParticipantRole)>, sqlx::Error> {
    const SQL: &str = "SELECT p.id, p.name, g.role FROM people p JOIN grants g ON g.person_id = p.id \
        LEFT JOIN teams t ON t.id = g.team_id \
        WHERE p.active = TRUE AND (g.role = 'admin' OR (g.role = 'evaluator' AND g.program_id = $1) \
          OR (g.role IN ('team_lead', 'agent') AND t.program_id = $1)) \
        ORDER BY p.name, p.id";
    let rows: Vec<(PersonId, String, String)> =
        on_db!(db, p => sqlx::query_as(SQL).bind(program).fetch_all(p).await)?;
    let mut out: Vec<(PersonId, String, ParticipantRole)> = Vec::new();
    for (id, name, role) in rows {
        let role = match role.as_str() {
            "team_lead" => ParticipantRole::TeamLead,
            "agent" => ParticipantRole::Agent,
            _ => ParticipantRole::Evaluator,
        };
        match out.iter_mut().find(|(p, ..)| *p == id) {
            // Someone with several grants takes part by the strongest.
            Some(existing) if role == ParticipantRole::Evaluator => existing.2 = role,
            Some(_) => {}
            None => out.push((id, name, role)),
        }
    }
    Ok(out)
}

/// The contacts of a program named by their external ids, in order; an unknown id is named.
pub async fn contacts_named(
    db: &Db,
    program: ProgramId,
    external_ids: &[String],
) -> AppResult<Vec<i64>> {
    const SQL: &str = "SELECT id FROM contacts WHERE program_id = $1 AND external_id = $2";
    let mut out = Vec::new();
    for (i, ext) in external_ids.iter().enumerate() {
        let id: Option<i64> = on_db!(db, p => sqlx::query_scalar(SQL).bind(program).bind(ext)
            .fetch_optional(p).await)?;
        out.push(id.ok_or_else(|| {
            invalid(
                format!("contacts[{i}]"),
                format!("{ext:?} is not a contact of this program"),
            )
        })?);
    }
    Ok(out)
}

/// `n` contacts an agent handled in the program in the last 30 days, at random.
pub async fn sample_contacts(db: &Db, program: ProgramId, n: i64) -> AppResult<Vec<i64>> {
    const SQL: &str = "SELECT id FROM contacts WHERE program_id = $1 AND arrived_at >= $2 \
        AND agent <> '' AND outcome IN ('handled', 'transferred') ORDER BY RANDOM() LIMIT $3";
    let since = now() - 30 * 86_400_000;
    Ok(
        on_db!(db, p => sqlx::query_scalar(SQL).bind(program).bind(since).bind(n.clamp(1, 50))
        .fetch_all(p).await)?,
    )
}

/// The programs among `programs` that held no session this month (by the day it is held).
pub async fn without_session_this_month(
    db: &Db,
    programs: &[crate::programs::Program],
) -> Result<Vec<String>, sqlx::Error> {
    let mut out = Vec::new();
    for p in programs {
        let today = crate::contacts::calendar::today_in(p.zone());
        let first = crate::contacts::calendar::month_of(today);
        const SQL: &str = "SELECT COUNT(*) FROM calibration_sessions WHERE program_id = $1 \
            AND held_on >= $2 AND held_on <= $3";
        let n: i64 = on_db!(db, d => sqlx::query_scalar(SQL).bind(p.id).bind(first)
            .bind(crate::contacts::calendar::next_month(first) - 1).fetch_one(d).await)?;
        if n == 0 {
            out.push(p.name.clone());
        }
    }
    Ok(out)
}
